/* block.h: disks for applications (CONFIG_BLOCK): list them, read, write and flush with callbacks on the event loop. */
#ifndef UNICYCLE_BLOCK_H
#define UNICYCLE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

/*
 * Before app_main() the runtime finds every supported disk (virtio-blk,
 * AHCI SATA ports, NVMe namespaces) and names them disk0, disk1, ... in
 * PCI order; the console shows each:
 *   unicycle: disk0: nvme, 16 MiB (32768 x 512 B), model "QEMU NVMe Ctrl",
 *             serial "data", queue depth 63, durable on flush
 * A disk is addressed by its index (0..uc_block_count()-1). On the QEMU
 * board the boot image itself is an AHCI disk when booted from disk: pick
 * yours by serial (`unicycle run --disk FILE` sets the file's name as the
 * serial) with uc_block_find().
 *
 * Requests. Offsets and lengths are in bytes and must be multiples of the
 * disk's block_size; the buffer must be aligned to `align` (at least 4;
 * page-aligned buffers from aligned_alloc(4096, n) always are) and stay
 * untouched until the callback runs. Each call either returns 0 and later
 * runs `cb(arg, status)` exactly once, from the event loop (never from
 * inside the call), or returns a negative errno and never runs it:
 *   -ENODEV  no such disk
 *   -EINVAL  zero length; offset or length not a multiple of block_size;
 *            any part outside the disk; buffer NULL or not aligned
 *   -EROFS   a write to a read-only disk
 *   -ENOMEM  no memory for the request
 * `status` is 0 or a negative errno (-EIO for a device error; the console
 * gets one line with the device's own status). Any number of requests may
 * be outstanding: up to queue_depth are on the device at once, the rest
 * wait in order. Requests run concurrently and may complete in any order;
 * two overlapping writes in flight at the same time leave either's data.
 * The callback may submit more requests; `cb` may be NULL. Nothing is
 * cached in memory: a read always goes to the device.
 *
 * Durability (what survives a crash or power cut):
 * - A completed write is visible to every later read. Whether it is on
 *   stable storage depends on `durability`:
 *   UC_BLOCK_DURABLE_ON_WRITE   yes: the device has no volatile write cache
 *                               (NVMe without VWC, ATA with its write cache
 *                               off);
 *   UC_BLOCK_DURABLE_ON_FLUSH   not until a flush submitted after it
 *                               completes (NVMe with VWC, ATA with its write
 *                               cache on, virtio-blk with VIRTIO_BLK_F_FLUSH:
 *                               QEMU's default for all three);
 *   UC_BLOCK_DURABLE_UNKNOWN    the device promises nothing and has no flush
 *                               (virtio-blk without VIRTIO_BLK_F_FLUSH: VIRTIO
 *                               1.1 sec 5.2.6.2 lets it write through but does
 *                               not make it); a flush completes at once.
 * - A completed flush: every write submitted before uc_block_flush() was
 *   called has completed and is on stable storage. A flush is a barrier:
 *   it goes to the device only once everything before it has completed,
 *   and requests submitted after it wait for it. Its status is -EIO when
 *   any write submitted since the previous flush failed, even if the
 *   device's flush itself succeeded; so a program that acknowledges on the
 *   flush's callback never acknowledges a lost write.
 * - Power cuts tear writes: only a single logical block is written all or
 *   nothing (and not even that on every device); a multi-block write may
 *   leave any subset of its blocks. Checksum what you must trust.
 *
 * An append-only log with "acknowledge only when durable" on this API:
 * keep the log's tail block in a block-sized, aligned buffer; to append,
 * copy the record (with a checksum and its length) into the buffer
 * (spilling into further blocks as needed), uc_block_write() the blocks
 * that changed at their offsets, then at once uc_block_flush(), and
 * acknowledge the client in the flush's callback when its status is 0.
 * No need to wait for the write's callback in between: the flush waits
 * for it, and its status reports the write's failure. Records appended
 * while a flush is in flight go out with the next write + flush (group
 * commit). At boot, read the log from the start and stop at the first
 * record whose checksum does not match: that is the torn tail.
 *
 * Example (checks omitted for brevity):
 *
 *   static uint8_t *blk;
 *   static void flushed(void *arg, int status) { uc_exit(status ? 1 : 0); }
 *   static void written(void *arg, int status) { uc_printf("write: %d\n", status); }
 *
 *   int app_main(void)
 *   {
 *       struct uc_block_info d;
 *       int disk = uc_block_find("data");          // --disk data.img,size=16M
 *       if (disk < 0 || uc_block_info(disk, &d) < 0)
 *           return 2;
 *       blk = aligned_alloc(4096, d.block_size);
 *       memcpy(blk, "hello", 6);
 *       uc_block_write(disk, 0, blk, d.block_size, written, NULL);
 *       uc_block_flush(disk, flushed, NULL);     // runs after `written`
 *       uc_run();
 *   }
 */

#define UC_BLOCK_NAME_LEN    8
#define UC_BLOCK_DRIVER_LEN  16
#define UC_BLOCK_MODEL_LEN   41
#define UC_BLOCK_SERIAL_LEN  21

enum uc_block_durability {
	UC_BLOCK_DURABLE_ON_FLUSH,
	UC_BLOCK_DURABLE_ON_WRITE,
	UC_BLOCK_DURABLE_UNKNOWN,
};

struct uc_block_info {
	char name[UC_BLOCK_NAME_LEN];      /* "disk0" */
	char driver[UC_BLOCK_DRIVER_LEN];  /* "virtio-blk", "ahci", "nvme" */
	char model[UC_BLOCK_MODEL_LEN];    /* "" when the device does not say */
	char serial[UC_BLOCK_SERIAL_LEN];  /* "" when the device does not say */
	uint64_t blocks;                   /* capacity in logical blocks */
	uint64_t bytes;                    /* blocks * block_size */
	uint32_t block_size;               /* logical block: 512, 4096, ... */
	uint32_t align;                    /* buffer alignment needed */
	uint32_t queue_depth;              /* requests on the device at once */
	enum uc_block_durability durability;
	int read_only;                     /* writes are refused with -EROFS */
};

struct uc_block_stats {
	uint64_t reads, writes, flushes;   /* requests completed */
	uint64_t bytes_read, bytes_written;
	uint64_t errors;                   /* requests completed with an error */
	unsigned inflight;                 /* device requests in flight now */
	unsigned inflight_max;             /* most ever at once (queue depth used) */
};

/* status: 0 or a negative errno. */
typedef void (*uc_block_cb)(void *arg, int status);

/* Number of disks found at boot. */
unsigned uc_block_count(void);
/* Fills `out` for disk `disk`: 0, or -ENODEV. */
int uc_block_info(unsigned disk, struct uc_block_info *out);
/* The index of the first disk whose serial is `serial`, or -ENOENT. */
int uc_block_find(const char *serial);
/* Counters since boot: 0, or -ENODEV. */
int uc_block_stats(unsigned disk, struct uc_block_stats *out);

/* Reads `len` bytes at byte `offset` into `buf`. See above for the rules. */
int uc_block_read(unsigned disk, uint64_t offset, void *buf, size_t len,
		  uc_block_cb cb, void *arg);
/* Writes `len` bytes from `buf` at byte `offset`. */
int uc_block_write(unsigned disk, uint64_t offset, const void *buf, size_t len,
		   uc_block_cb cb, void *arg);
/* Commits every write submitted before it to stable storage (see Durability). */
int uc_block_flush(unsigned disk, uc_block_cb cb, void *arg);

#endif
