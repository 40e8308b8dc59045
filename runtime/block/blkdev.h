/* blkdev.h: the block device interface between disk drivers and the block layer (blkdev.c). */
#ifndef UNICYCLE_BLOCK_BLKDEV_H
#define UNICYCLE_BLOCK_BLKDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A disk driver fills one `const struct blkdev_ops` and one `struct blkdev`
 * per disk (a virtio-blk device, an AHCI port, an NVMe namespace), then
 * calls blkdev_register() from its PCI probe. The layer (blkdev.c) owns
 * everything between the app and the driver: the checks, the wait queue,
 * splitting large requests, flush ordering, and running callbacks.
 *
 * Requests reach the driver already checked: inside the device, a whole
 * number of blocks, at most dev->max_blocks long, the buffer aligned to
 * dev->dma_align and below dev->dma_limit, not a write to a read-only
 * disk, and never more than dev->queue_depth in flight. Each carries a
 * `tag` below queue_depth that no other request in flight has: drivers use
 * it as their slot (descriptor triple, command slot, command identifier).
 *
 * DMA rules: RAM is identity mapped, so a buffer's virtual address is its
 * physical (bus) address, and any buffer in RAM is physically contiguous
 * (the page allocator hands out contiguous ranges; the image is loaded at
 * its link address). Drivers put the address straight into their
 * descriptors. No bounce buffers, no IOMMU. x86 DMA is cache coherent: no
 * flushing, only ordering (io_wmb/io_rmb in arch/x86_64/io.h).
 *
 * Run-to-completion: ops are called from the event loop (or from a
 * driver's probe, for its own set-up), never from an interrupt handler,
 * and never re-entered: the layer does not call submit from inside poll.
 */

#define BLKDEV_NAME_LEN     8      /* "disk0" plus room */
#define BLKDEV_MODEL_LEN    41     /* ATA/NVMe model: 40 characters + NUL */
#define BLKDEV_SERIAL_LEN   21     /* ATA/NVMe/virtio serial: 20 + NUL */
#define BLKDEV_MAX          8
/* Every buffer is at least this aligned, whatever the driver declares: the
 * strictest of our drivers (NVMe PRP entries, sec 4.3: dword) so an app
 * that works on one disk works on all. */
#define BLKDEV_ALIGN_MIN    4

struct blkdev;

enum blkreq_op {
	BLKREQ_READ,
	BLKREQ_WRITE,
	BLKREQ_FLUSH,   /* only when the driver sets BLKDEV_F_FLUSH */
};

/* One request as the driver sees it. The layer owns the memory. */
struct blkreq {
	enum blkreq_op op;
	uint16_t tag;          /* < dev->queue_depth, unique among those in flight */
	uint64_t block;        /* first logical block (READ/WRITE) */
	uint32_t nblocks;      /* 1..dev->max_blocks (READ/WRITE) */
	void *buf;             /* nblocks * block_size bytes, also the bus address */
	/* The layer's: which app request this piece belongs to. */
	struct blkio *io;
};

/* Feature bits (struct blkdev.features): what the driver found or set up. */
#define BLKDEV_F_IRQ       (1u << 0) /* completions interrupt (blkdev_irq_alloc or the driver's own) */
#define BLKDEV_F_FLUSH     (1u << 1) /* the device has a flush command: submit takes BLKREQ_FLUSH */
#define BLKDEV_F_READONLY  (1u << 2) /* the device refuses writes: the layer returns -EROFS */

/* What the device says about its write cache (struct blkdev.cache); with
 * BLKDEV_F_FLUSH it is what <unicycle/block.h> reports as durability. */
enum blkdev_cache {
	BLKDEV_CACHE_UNKNOWN,   /* the device does not say (or has no flush for its cache) */
	BLKDEV_CACHE_NONE,      /* no volatile write cache: a completed write is stable */
	BLKDEV_CACHE_VOLATILE,  /* a volatile write cache: stable once a flush completes */
};

struct blkdev_ops {
	/* REQUIRED. Starts `req` on the device and returns 0; the driver
	 * later hands it back through blkdev_complete() from its poll. A
	 * negative errno means it was not started (the layer completes it
	 * with that status). Never completes the request from inside submit. */
	int (*submit)(struct blkdev *dev, struct blkreq *req);
	/* REQUIRED. Looks for finished requests and calls blkdev_complete()
	 * for each (the device's own status turned into 0 or a negative
	 * errno, see blkdev_fail). Cheap when nothing is in flight. */
	void (*poll)(struct blkdev *dev);
};

struct blkdev_stats {
	uint64_t reads, writes, flushes;      /* app requests completed */
	uint64_t bytes_read, bytes_written;
	uint64_t errors;                       /* app requests completed with an error */
	uint64_t submitted;                    /* driver requests (pieces, flushes) */
	unsigned inflight, inflight_max;       /* driver requests in flight: now, most ever */
};

struct blkdev {
	/* Filled by the driver before blkdev_register(). */
	const struct blkdev_ops *ops;   /* required */
	const char *driver;             /* "virtio-blk", "ahci", "nvme" */
	char model[BLKDEV_MODEL_LEN];   /* "" when the device does not say */
	char serial[BLKDEV_SERIAL_LEN]; /* "" when the device does not say */
	uint64_t blocks;                /* capacity in logical blocks, >= 1 */
	uint32_t block_size;            /* logical block: power of two, 512..65536 */
	uint32_t max_blocks;            /* longest READ/WRITE the driver takes */
	uint32_t dma_align;             /* buffer alignment (power of two; raised to BLKDEV_ALIGN_MIN) */
	uint64_t dma_limit;             /* buffers must end at or below it (0: no limit) */
	uint16_t queue_depth;           /* requests the driver takes at once, >= 1 */
	uint32_t features;              /* BLKDEV_F_* */
	enum blkdev_cache cache;
	void *priv;                     /* driver state */

	/* Filled by blkdev_register(). */
	char name[BLKDEV_NAME_LEN];     /* "disk0", "disk1", ... */
	unsigned index;

	/* The layer's (blkdev.c). */
	struct blkdev_queue *queue;
	struct blkdev_stats stats;
};

/* ---- what drivers call (blkdev.c) ---- */

/* Adds `dev` (which must stay allocated) to the disk list and names it.
 * Returns 0; -EINVAL (logged) when a required op or field is missing or
 * out of range (a disk smaller than one block, a block size that is not a
 * power of two); -ENOSPC when the table is full (BLKDEV_MAX); -ENOMEM. */
int blkdev_register(struct blkdev *dev);

/* Hands a finished request back, from ops->poll only. `status` is 0 or a
 * negative errno; for a device error use blkdev_fail, which says why. */
void blkdev_complete(struct blkdev *dev, struct blkreq *req, int status);

/* blkdev_complete with an error, logging once per app request which
 * request failed and the device's status (`fmt`: "status 0x1 (IOERR)"). */
void blkdev_fail(struct blkdev *dev, struct blkreq *req, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Runs ops->poll, refills the device from the wait queue and then the
 * callbacks of what finished. The layer calls it from its poller
 * (CONFIG_POLL) or its interrupt vector; a driver whose one interrupt
 * covers several disks (AHCI: one MSI per HBA) calls it for each from its
 * own handler, which must run from the loop (irq_alloc_vector does). */
void blkdev_poll(struct blkdev *dev);

/* Interrupt mode (CONFIG_POLL unset): a CPU vector whose interrupts run
 * blkdev_poll(dev) from the event loop. The driver points the device's
 * completion interrupt (MSI-X entry, MSI) at it and sets BLKDEV_F_IRQ.
 * Returns the vector or a negative errno (logged: the disk is then polled
 * every millisecond while requests are in flight). */
int blkdev_irq_alloc(struct blkdev *dev);

/* Copies an identification string a device gave (ATA, NVMe: space padded;
 * virtio: NUL padded) into `out` (`outlen` bytes, NUL included), keeping
 * printable ASCII and dropping trailing spaces. */
void blkdev_set_string(char *out, size_t outlen, const void *in, size_t inlen);

/* ---- what the layer's users call (blkdev.c) ---- */

unsigned blkdev_count(void);
struct blkdev *blkdev_at(unsigned index);  /* NULL past the end */

#endif
