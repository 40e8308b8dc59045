/* bootcfg.h: parser for /unicycle/boot.cfg (format in unicycle/bootinfo.h;
 * pure code, no firmware calls, host unit-tested). */
#ifndef BOOTLOADER_BOOTCFG_H
#define BOOTLOADER_BOOTCFG_H

#include <stddef.h>

#include <unicycle/bootinfo.h>   /* BOOTINFO_NET_DNS_MAX */

#define BOOTCFG_CMDLINE_MAX 1024  /* bytes including the NUL */
#define BOOTCFG_ADDR_MAX    19    /* "255.255.255.255/32" + NUL */
#define BOOTCFG_IP_MAX      16    /* "255.255.255.255" + NUL */
#define BOOTCFG_KEY_MAX     32    /* key copied into a fault, truncated */
#define BOOTCFG_FILE_MAX    65536 /* larger files are refused */

enum bootcfg_net {
	BOOTCFG_NET_UNSET = 0,   /* no net key: no /chosen/unicycle,net-mode */
	BOOTCFG_NET_DHCP,
	BOOTCFG_NET_STATIC,
};

enum bootcfg_source {
	BOOTCFG_SOURCE_AUTO = 0, /* net when the loader came over PXE, else disk */
	BOOTCFG_SOURCE_DISK,
	BOOTCFG_SOURCE_NET,      /* fetch the payload from the boot server */
};

enum bootcfg_fallback {
	BOOTCFG_FALLBACK_NONE = 0,
	BOOTCFG_FALLBACK_DISK,   /* net failed: boot the disk payload */
};

struct bootcfg {
	char cmdline[BOOTCFG_CMDLINE_MAX];   /* "" when not given */
	enum bootcfg_net net;
	char address[BOOTCFG_ADDR_MAX];      /* "a.b.c.d/len", static only */
	char gateway[BOOTCFG_IP_MAX];        /* "a.b.c.d" or "" */
	char dns[BOOTINFO_NET_DNS_MAX][BOOTCFG_IP_MAX]; /* "a.b.c.d" or "" each */
	enum bootcfg_source source;
	enum bootcfg_fallback fallback;
};

enum bootcfg_error {
	BOOTCFG_OK = 0,
	BOOTCFG_ERR_TOO_BIG,         /* file over BOOTCFG_FILE_MAX */
	BOOTCFG_ERR_NUL,             /* NUL byte: not a text file */
	BOOTCFG_ERR_NO_EQUALS,       /* line without '=' */
	BOOTCFG_ERR_EMPTY_KEY,       /* "= value" */
	BOOTCFG_ERR_UNKNOWN_KEY,     /* key not in the list */
	BOOTCFG_ERR_DUPLICATE,       /* key given twice */
	BOOTCFG_ERR_TOO_LONG,        /* value longer than its field */
	BOOTCFG_ERR_NET_MODE,        /* net not "dhcp" or "static" */
	BOOTCFG_ERR_ADDRESS,         /* address not a.b.c.d/len */
	BOOTCFG_ERR_GATEWAY,         /* gateway not a.b.c.d */
	BOOTCFG_ERR_NOT_STATIC,      /* address/gateway without net = static */
	BOOTCFG_ERR_NO_ADDRESS,      /* net = static without address */
	BOOTCFG_ERR_SOURCE,          /* source not "disk" or "net" */
	BOOTCFG_ERR_FALLBACK,        /* fallback not "none" or "disk" */
	BOOTCFG_ERR_DNS,             /* dns not 1..BOOTINFO_NET_DNS_MAX a.b.c.d */
};

struct bootcfg_fault {
	unsigned line;                /* 1-based; 0 when about the whole file */
	char key[BOOTCFG_KEY_MAX];    /* the key on that line, "" if none */
};

/* cfg with every setting at its default (no cmdline, no network). */
void bootcfg_defaults(struct bootcfg *cfg);

/*
 * Parse len bytes of text (not NUL-terminated) into *cfg. Lines are
 * "key = value"; blanks around key and value are dropped; '#' starts a
 * comment anywhere on a line (so values cannot contain '#'); LF or CRLF line
 * ends; a UTF-8 byte-order mark at the start is skipped. On error *cfg holds
 * the defaults and *fault says where.
 */
enum bootcfg_error bootcfg_parse(const char *text, size_t len,
                                 struct bootcfg *cfg,
                                 struct bootcfg_fault *fault);

/* One line of English for an error. */
const char *bootcfg_strerror(enum bootcfg_error err);

#endif
