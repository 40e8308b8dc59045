/* config.h: the kv server's settings: compile-time defaults, overridden by the boot command line. */
#ifndef KV_CONFIG_H
#define KV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Defaults are compile-time values that unicycle.toml's cflags may change
 * (-DKV_DEFAULT_MAXMEMORY=...); the boot command line ([boot] cmdline in
 * unicycle.toml, read with uc_cmdline()) overrides them per image:
 *
 *   maxmemory=64mb port=6379 maxclients=200 timeout=0
 *   appendonly=yes appendfsync=everysec disk=kv
 *   auto-aof-rewrite-min-size=4mb auto-aof-rewrite-percentage=100
 *
 * Sizes take Redis's units: b, k (1000), kb (1024), m, mb, g, gb.
 */

#ifndef KV_DEFAULT_PORT
#define KV_DEFAULT_PORT 6379
#endif
#ifndef KV_DEFAULT_MAXMEMORY
#define KV_DEFAULT_MAXMEMORY (64ull * 1024 * 1024)
#endif
/* Below the runtime's TCP connection table (NET_TCP_PCBS, 256 by default),
 * which TIME_WAIT connections share. */
#ifndef KV_DEFAULT_MAXCLIENTS
#define KV_DEFAULT_MAXCLIENTS 200
#endif
/* Seconds a client may stay idle (Redis's `timeout`); 0: forever. */
#ifndef KV_DEFAULT_TIMEOUT
#define KV_DEFAULT_TIMEOUT 0
#endif
/* All clients' request and reply buffers together. */
#ifndef KV_DEFAULT_CLIENT_MEMORY
#define KV_DEFAULT_CLIENT_MEMORY (64ull * 1024 * 1024)
#endif

/* Persistence (persist.h): the log lives on the disk whose serial is
 * KV_DEFAULT_DISK (`unicycle run --disk kv.img` names it "kv"); without
 * that disk, or with appendonly=no, the data lives in memory only. */
#ifndef KV_DEFAULT_APPENDONLY
#define KV_DEFAULT_APPENDONLY 1
#endif
#ifndef KV_DEFAULT_DISK
#define KV_DEFAULT_DISK "kv"
#endif
/* Redis's appendfsync: CONFIG_FSYNC_ALWAYS, _EVERYSEC or _NO. */
#ifndef KV_DEFAULT_APPENDFSYNC
#define KV_DEFAULT_APPENDFSYNC CONFIG_FSYNC_EVERYSEC
#endif
/* Compaction (Redis's auto-aof-rewrite-*): when the log passes this size
 * and has grown by the percentage over what the last compaction wrote. */
#ifndef KV_DEFAULT_AOF_REWRITE_MIN_SIZE
#define KV_DEFAULT_AOF_REWRITE_MIN_SIZE (4ull * 1024 * 1024)
#endif
#ifndef KV_DEFAULT_AOF_REWRITE_PERCENTAGE
#define KV_DEFAULT_AOF_REWRITE_PERCENTAGE 100
#endif
/* A disk serial's longest form (ATA, NVMe, virtio-blk: 20 bytes). */
#define KV_DISK_SERIAL_MAX 20

/* Active expiry and rehash steps per second (Redis's `hz`). */
#define KV_HZ 10

/* Protocol limits (Redis allows far more; these fit a small machine). */
#define KV_MAX_ARGS      1024          /* elements of one command */
#define KV_MAX_BULK      (512 * 1024)  /* one argument (proto-max-bulk-len) */
#define KV_MAX_INLINE    (64 * 1024)   /* one inline command, as Redis */
#define KV_MAX_COMMAND   (1024 * 1024) /* all arguments of one command */

/* When a write command's log record reaches stable storage (persist.h). */
enum config_fsync {
	CONFIG_FSYNC_ALWAYS,     /* before its reply is sent */
	CONFIG_FSYNC_EVERYSEC,   /* within about a second */
	CONFIG_FSYNC_NO,         /* when the disk decides (no flush is sent) */
};

struct config {
	uint16_t port;
	size_t maxmemory;        /* store bytes (0: no limit) */
	unsigned maxclients;
	unsigned timeout;        /* seconds (0: none) */
	size_t client_memory;    /* client buffers, all together (0: no limit) */
	bool appendonly;         /* keep a log when the disk is there */
	enum config_fsync appendfsync;
	size_t aof_rewrite_min_size;
	unsigned aof_rewrite_percentage;
	char disk[KV_DISK_SERIAL_MAX + 1];
};

/* "always", "everysec", "no". */
const char *config_fsync_name(enum config_fsync f);

void config_defaults(struct config *c);

/* Applies "key=value" words from `cmdline` (unknown words are errors).
 * Returns 0, or -EINVAL with the offending word (NUL-terminated, cut to
 * fit) in bad[0..badlen). */
int config_parse(struct config *c, const char *cmdline, char *bad, size_t badlen);

/* Parses a size with Redis's units; 0 or -EINVAL. */
int config_parse_size(const char *s, size_t len, size_t *out);

#endif
