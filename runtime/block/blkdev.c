/* blkdev.c: the block layer: registered disks, request checks, the wait queue, flush ordering, completions on the loop, <unicycle/block.h>. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/irq.h"
#include "block/blkdev.h"
#include "kernel/kernel.h"
#include <unicycle/block.h>

/*
 * An app request (struct blkio) waits in its disk's FIFO until the driver
 * has a free tag, then goes out in pieces of at most max_blocks (struct
 * blkreq, one per tag). It completes when its last piece is back; its
 * callback then runs from blkdev_poll, after the driver's poll returned,
 * so callbacks never run inside a driver and may submit freely. A flush
 * leaves the FIFO only when nothing is in flight, and nothing leaves after
 * it until it is back: every write before it is complete when the device
 * sees it (ATA FLUSH CACHE is not queued at all; NVMe and virtio flush
 * only what completed before, NVMe Base 1.4 sec 6.8, VIRTIO 1.1 5.2.6.2).
 */

#define BLKDEV_BLOCK_MIN     512
#define BLKDEV_BLOCK_MAX     65536
#define BLKDEV_FALLBACK_NS   1000000ull  /* interrupt mode, disks without one: poll every 1 ms */
#define BLKDEV_KIB           1024ull
#define BLKDEV_MIB           (1024ull * 1024)
#define BLKDEV_GIB           (1024ull * 1024 * 1024)

/* One app request. */
struct blkio {
	enum blkreq_op op;
	uint64_t next_block;     /* first block not handed out yet */
	uint64_t left;           /* blocks not handed out yet */
	uint8_t *next_buf;
	uint64_t bytes;          /* the whole request, for the counters */
	unsigned pending;        /* pieces on the device */
	int status;              /* first error, else 0 */
	bool logged;             /* its error is on the console */
	uc_block_cb cb;
	void *arg;
	struct blkio *next;      /* in the wait FIFO, then in the done list */
};

struct blkdev_list {
	struct blkio *head, *tail;
};

struct blkdev_queue {
	struct blkreq *reqs;        /* queue_depth pieces; reqs[t].tag == t */
	uint16_t *free_tags;        /* stack of free tags */
	unsigned nfree;
	struct blkdev_list wait;    /* not fully handed out, in submission order */
	struct blkdev_list done;    /* complete, callback not run yet */
	bool barrier;               /* a flush is on the device */
	bool write_failed;          /* a write failed since the last flush went out */
	bool polling;               /* inside blkdev_poll: it runs the done list */
	bool poll_deferred;         /* a loop_defer(blkdev_poll) is queued */
};

static struct blkdev *blkdev_table[BLKDEV_MAX];
static unsigned blkdev_n;
#ifndef CONFIG_POLL
static uc_timer_t blkdev_fallback_timer;
#endif

static void blkdev_kick_fallback(void);

static void blkdev_list_push(struct blkdev_list *l, struct blkio *io)
{
	io->next = NULL;
	if (l->tail)
		l->tail->next = io;
	else
		l->head = io;
	l->tail = io;
}

static struct blkio *blkdev_list_pop(struct blkdev_list *l)
{
	struct blkio *io = l->head;

	if (io) {
		l->head = io->next;
		if (!l->head)
			l->tail = NULL;
		io->next = NULL;
	}
	return io;
}

static const char *blkdev_op_name(enum blkreq_op op)
{
	return op == BLKREQ_READ ? "read" : op == BLKREQ_WRITE ? "write" : "flush";
}

/* ---- registration ---- */

static bool blkdev_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* "16 MiB", "1536 KiB", "100 B": whole units only, else the next smaller. */
static void blkdev_format_size(char *out, size_t len, uint64_t bytes)
{
	if (bytes >= BLKDEV_GIB && bytes % BLKDEV_GIB == 0)
		snprintf(out, len, "%llu GiB", (unsigned long long)(bytes / BLKDEV_GIB));
	else if (bytes >= BLKDEV_MIB && bytes % BLKDEV_MIB == 0)
		snprintf(out, len, "%llu MiB", (unsigned long long)(bytes / BLKDEV_MIB));
	else if (bytes >= BLKDEV_KIB && bytes % BLKDEV_KIB == 0)
		snprintf(out, len, "%llu KiB", (unsigned long long)(bytes / BLKDEV_KIB));
	else
		snprintf(out, len, "%llu B", (unsigned long long)bytes);
}

static enum uc_block_durability blkdev_durability(const struct blkdev *dev)
{
	if (dev->cache == BLKDEV_CACHE_NONE)
		return UC_BLOCK_DURABLE_ON_WRITE;
	if (dev->cache == BLKDEV_CACHE_VOLATILE && (dev->features & BLKDEV_F_FLUSH))
		return UC_BLOCK_DURABLE_ON_FLUSH;
	return UC_BLOCK_DURABLE_UNKNOWN;
}

static const char *const blkdev_durability_text[] = {
	[UC_BLOCK_DURABLE_ON_FLUSH] = "durable on flush",
	[UC_BLOCK_DURABLE_ON_WRITE] = "durable on write (no volatile cache)",
	[UC_BLOCK_DURABLE_UNKNOWN] = "durability unknown (no flush command)",
};

static int blkdev_check(const struct blkdev *dev)
{
	const char *who = dev->driver ? dev->driver : "?";

	if (!dev->ops || !dev->ops->submit || !dev->ops->poll) {
		console_printf("blkdev: %s: submit and poll ops are required\n", who);
		return -EINVAL;
	}
	if (dev->block_size < BLKDEV_BLOCK_MIN || dev->block_size > BLKDEV_BLOCK_MAX ||
	    !blkdev_pow2(dev->block_size)) {
		console_printf("blkdev: %s: block size %u is not a power of two in %u..%u\n",
			       who, dev->block_size, BLKDEV_BLOCK_MIN, BLKDEV_BLOCK_MAX);
		return -EINVAL;
	}
	if (dev->blocks == 0) {
		console_printf("blkdev: %s disk \"%s\": smaller than one %u-byte block: "
			       "not used\n", who, dev->serial, dev->block_size);
		return -EINVAL;
	}
	if (dev->queue_depth == 0 || dev->max_blocks == 0 ||
	    (dev->dma_align && !blkdev_pow2(dev->dma_align))) {
		console_printf("blkdev: %s: queue depth %u, max blocks %u, DMA alignment %u: "
			       "each must be >= 1 (alignment a power of two)\n", who,
			       dev->queue_depth, dev->max_blocks, dev->dma_align);
		return -EINVAL;
	}
	return 0;
}

int blkdev_register(struct blkdev *dev)
{
	struct blkdev_queue *q;
	char size[24];
	int rc = blkdev_check(dev);

	if (rc < 0)
		return rc;
	if (blkdev_n == BLKDEV_MAX) {
		console_printf("blkdev: %s: table full (%d disks), ignored\n", dev->driver,
			       BLKDEV_MAX);
		return -ENOSPC;
	}
	q = calloc(1, sizeof(*q));
	if (q) {
		q->reqs = calloc(dev->queue_depth, sizeof(*q->reqs));
		q->free_tags = calloc(dev->queue_depth, sizeof(*q->free_tags));
	}
	if (!q || !q->reqs || !q->free_tags) {
		console_printf("blkdev: %s: out of memory for %u requests\n", dev->driver,
			       dev->queue_depth);
		if (q) {
			free(q->reqs);
			free(q->free_tags);
		}
		free(q);
		return -ENOMEM;
	}
	for (unsigned t = 0; t < dev->queue_depth; t++) {
		q->reqs[t].tag = (uint16_t)t;
		q->free_tags[q->nfree++] = (uint16_t)(dev->queue_depth - 1 - t);
	}
	if (dev->dma_align < BLKDEV_ALIGN_MIN)
		dev->dma_align = BLKDEV_ALIGN_MIN;
	dev->queue = q;
	dev->index = blkdev_n;
	snprintf(dev->name, sizeof(dev->name), "disk%u", blkdev_n);
	blkdev_table[blkdev_n++] = dev;
	blkdev_format_size(size, sizeof(size), dev->blocks * dev->block_size);
	console_printf("unicycle: %s: %s, %s (%llu x %u B), model \"%s\", serial \"%s\", "
		       "queue depth %u, %s%s\n", dev->name, dev->driver, size,
		       (unsigned long long)dev->blocks, dev->block_size, dev->model,
		       dev->serial, dev->queue_depth,
		       blkdev_durability_text[blkdev_durability(dev)],
		       (dev->features & BLKDEV_F_READONLY) ? ", read-only" : "");
	return 0;
}

unsigned blkdev_count(void)
{
	return blkdev_n;
}

struct blkdev *blkdev_at(unsigned index)
{
	return index < blkdev_n ? blkdev_table[index] : NULL;
}

void blkdev_set_string(char *out, size_t outlen, const void *in, size_t inlen)
{
	const uint8_t *s = in;
	size_t n = 0;

	if (outlen == 0)
		return;
	for (size_t i = 0; i < inlen && n + 1 < outlen && s[i]; i++)
		out[n++] = (s[i] >= ' ' && s[i] <= '~') ? (char)s[i] : '?';
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

/* ---- completions ---- */

/* The loop runs the callbacks of requests that finished outside blkdev_poll. */
static void blkdev_poll_deferred(void *arg)
{
	struct blkdev *dev = arg;

	dev->queue->poll_deferred = false;
	blkdev_poll(dev);
}

static void blkdev_io_done(struct blkdev *dev, struct blkio *io)
{
	struct blkdev_queue *q = dev->queue;

	blkdev_list_push(&q->done, io);
	if (!q->polling && !q->poll_deferred) {
		q->poll_deferred = true;
		if (loop_defer(blkdev_poll_deferred, dev) < 0) {
			/* The deferred queue is full: the next poll runs it. */
			q->poll_deferred = false;
		}
	}
}

/* A piece is back (from the driver, or refused by it). */
static void blkdev_piece_done(struct blkdev *dev, struct blkreq *req, int status)
{
	struct blkdev_queue *q = dev->queue;
	struct blkio *io = req->io;

	req->io = NULL;
	q->free_tags[q->nfree++] = req->tag;
	dev->stats.inflight--;
	if (req->op == BLKREQ_FLUSH)
		q->barrier = false;
	if (status < 0) {
		if (io->status == 0)
			io->status = status;
		if (req->op == BLKREQ_WRITE)
			q->write_failed = true;
	}
	if (--io->pending == 0 && io->left == 0)
		blkdev_io_done(dev, io);
}

void blkdev_complete(struct blkdev *dev, struct blkreq *req, int status)
{
	if (!req->io) {
		console_printf("blkdev: %s: %s completed tag %u twice (ignored)\n",
			       dev->name, dev->driver, req->tag);
		return;
	}
	blkdev_piece_done(dev, req, status);
}

void blkdev_fail(struct blkdev *dev, struct blkreq *req, int err, const char *fmt, ...)
{
	struct blkio *io = req->io;
	char why[96];
	va_list ap;

	if (io && !io->logged) {
		io->logged = true;
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		if (req->op == BLKREQ_FLUSH)
			console_printf("%s: %s: flush failed (%d): %s\n", dev->name,
				       dev->driver, err, why);
		else
			console_printf("%s: %s: %s of %u block%s at block %llu failed (%d): %s\n",
				       dev->name, dev->driver, blkdev_op_name(req->op),
				       req->nblocks, req->nblocks == 1 ? "" : "s",
				       (unsigned long long)req->block, err, why);
	}
	blkdev_complete(dev, req, err);
}

/* ---- handing requests to the driver ---- */

static struct blkreq *blkdev_take(struct blkdev *dev, struct blkio *io, enum blkreq_op op)
{
	struct blkdev_queue *q = dev->queue;
	struct blkreq *req = &q->reqs[q->free_tags[--q->nfree]];

	req->op = op;
	req->io = io;
	req->block = 0;
	req->nblocks = 0;
	req->buf = NULL;
	io->pending++;
	if (++dev->stats.inflight > dev->stats.inflight_max)
		dev->stats.inflight_max = dev->stats.inflight;
	dev->stats.submitted++;
	return req;
}

/* Starts what the driver has room for, in FIFO order. Never from inside ops->poll. */
static void blkdev_dispatch(struct blkdev *dev)
{
	struct blkdev_queue *q = dev->queue;
	struct blkio *io;
	bool started = false;

	while (q->nfree && !q->barrier && (io = q->wait.head)) {
		struct blkreq *req;
		int rc;

		if (io->op == BLKREQ_FLUSH) {
			if (dev->stats.inflight)
				break;          /* the writes before it complete first */
			blkdev_list_pop(&q->wait);
			io->status = q->write_failed ? -EIO : 0;
			q->write_failed = false;
			if (!(dev->features & BLKDEV_F_FLUSH)) {
				blkdev_io_done(dev, io);   /* nothing to ask the device */
				continue;
			}
			req = blkdev_take(dev, io, BLKREQ_FLUSH);
			q->barrier = true;
		} else {
			uint32_t n = io->left < dev->max_blocks ? (uint32_t)io->left
								 : dev->max_blocks;

			req = blkdev_take(dev, io, io->op);
			req->block = io->next_block;
			req->nblocks = n;
			req->buf = io->next_buf;
			io->next_block += n;
			io->next_buf += (size_t)n * dev->block_size;
			io->left -= n;
			if (io->left == 0)
				blkdev_list_pop(&q->wait);
		}
		rc = dev->ops->submit(dev, req);
		if (rc < 0) {
			/* Not started: the rest of this request is not sent either. */
			if (io->left) {
				io->left = 0;
				blkdev_list_pop(&q->wait);
			}
			blkdev_fail(dev, req, rc, "the driver refused it");
			continue;
		}
		started = true;
	}
	if (started)
		blkdev_kick_fallback();
}

void blkdev_poll(struct blkdev *dev)
{
	struct blkdev_queue *q = dev->queue;
	struct blkio *io;

	if (!q || q->polling)
		return;         /* not registered (an early interrupt), or re-entered */
	q->polling = true;
	if (dev->stats.inflight)
		dev->ops->poll(dev);
	blkdev_dispatch(dev);
	while ((io = blkdev_list_pop(&q->done)) != NULL) {
		struct blkdev_stats *st = &dev->stats;

		if (io->status < 0)
			st->errors++;
		if (io->op == BLKREQ_READ) {
			st->reads++;
			st->bytes_read += io->status < 0 ? 0 : io->bytes;
		} else if (io->op == BLKREQ_WRITE) {
			st->writes++;
			st->bytes_written += io->status < 0 ? 0 : io->bytes;
		} else {
			st->flushes++;
		}
		if (io->cb)
			io->cb(io->arg, io->status);
		free(io);
	}
	q->polling = false;
}

/* ---- polling and interrupts ---- */

static void blkdev_irq(void *arg)
{
	blkdev_poll(arg);
}

int blkdev_irq_alloc(struct blkdev *dev)
{
	int vector = irq_alloc_vector(blkdev_irq, dev);

	if (vector < 0)
		console_printf("blkdev: %s: no interrupt vector (%d), polling\n", dev->driver,
			       vector);
	return vector;
}

#ifdef CONFIG_POLL
/* Every loop pass: each disk with something in flight or finished. */
static void blkdev_poller(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < blkdev_n; i++) {
		struct blkdev *dev = blkdev_table[i];

		if (dev->stats.inflight || dev->queue->done.head) {
			const struct blkdev_stats *st = &dev->stats;
			uint64_t before = st->reads + st->writes + st->flushes;

			blkdev_poll(dev);
			if (st->reads + st->writes + st->flushes != before)
				loop_note_events(1);
		}
	}
}

static void blkdev_kick_fallback(void)
{
}
#else
/* Interrupt mode: disks without an interrupt are polled from a timer while
 * they have requests in flight. */
static void blkdev_fallback(void *arg)
{
	bool again = false;

	(void)arg;
	blkdev_fallback_timer = 0;
	for (unsigned i = 0; i < blkdev_n; i++) {
		struct blkdev *dev = blkdev_table[i];

		if (dev->features & BLKDEV_F_IRQ)
			continue;
		blkdev_poll(dev);
		again |= dev->stats.inflight != 0;
	}
	if (again)
		blkdev_kick_fallback();
}

static void blkdev_kick_fallback(void)
{
	bool needed = false;

	for (unsigned i = 0; i < blkdev_n; i++)
		needed |= !(blkdev_table[i]->features & BLKDEV_F_IRQ) &&
			  blkdev_table[i]->stats.inflight;
	if (needed && !blkdev_fallback_timer)
		blkdev_fallback_timer = uc_timer_add(BLKDEV_FALLBACK_NS, blkdev_fallback, NULL);
}
#endif

/* INIT_STACK: every disk's driver has probed (INIT_BUS). */
static void blkdev_init(void)
{
	if (blkdev_n == 0) {
		console_printf("block: no disk found\n");
		return;
	}
#ifdef CONFIG_POLL
	if (loop_add_poller(blkdev_poller, NULL) < 0)
		console_printf("block: cannot add the loop poller: disks will not complete\n");
#else
	for (unsigned i = 0; i < blkdev_n; i++)
		if (!(blkdev_table[i]->features & BLKDEV_F_IRQ))
			console_printf("block: %s: no interrupt, polled every %llu ms while busy\n",
				       blkdev_table[i]->name,
				       (unsigned long long)(BLKDEV_FALLBACK_NS / 1000000ull));
#endif
}
INIT_CALL(INIT_STACK, blkdev_init);

/* ---- public API (unicycle/block.h) ---- */

unsigned uc_block_count(void)
{
	return blkdev_n;
}

int uc_block_info(unsigned disk, struct uc_block_info *out)
{
	struct blkdev *dev = blkdev_at(disk);

	if (!dev)
		return -ENODEV;
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", dev->name);
	snprintf(out->driver, sizeof(out->driver), "%s", dev->driver);
	snprintf(out->model, sizeof(out->model), "%s", dev->model);
	snprintf(out->serial, sizeof(out->serial), "%s", dev->serial);
	out->blocks = dev->blocks;
	out->block_size = dev->block_size;
	out->bytes = dev->blocks * dev->block_size;
	out->align = dev->dma_align;
	out->queue_depth = dev->queue_depth;
	out->durability = blkdev_durability(dev);
	out->read_only = !!(dev->features & BLKDEV_F_READONLY);
	return 0;
}

int uc_block_find(const char *serial)
{
	for (unsigned i = 0; i < blkdev_n; i++)
		if (serial && !strcmp(blkdev_table[i]->serial, serial))
			return (int)i;
	return -ENOENT;
}

int uc_block_stats(unsigned disk, struct uc_block_stats *out)
{
	struct blkdev *dev = blkdev_at(disk);

	if (!dev)
		return -ENODEV;
	out->reads = dev->stats.reads;
	out->writes = dev->stats.writes;
	out->flushes = dev->stats.flushes;
	out->bytes_read = dev->stats.bytes_read;
	out->bytes_written = dev->stats.bytes_written;
	out->errors = dev->stats.errors;
	out->inflight = dev->stats.inflight;
	out->inflight_max = dev->stats.inflight_max;
	return 0;
}

/* Also from callbacks (inside blkdev_poll, but never inside ops->poll). */
static int blkdev_enqueue(struct blkdev *dev, struct blkio *io)
{
	blkdev_list_push(&dev->queue->wait, io);
	blkdev_dispatch(dev);
	return 0;
}

/* The checks of <unicycle/block.h>, before anything reaches the driver. */
static int blkdev_rw(unsigned disk, enum blkreq_op op, uint64_t offset, void *buf,
		     size_t len, uc_block_cb cb, void *arg)
{
	struct blkdev *dev = blkdev_at(disk);
	uintptr_t addr = (uintptr_t)buf;
	uint64_t first, n;
	struct blkio *io;

	if (!dev)
		return -ENODEV;
	if (len == 0 || offset % dev->block_size || len % dev->block_size)
		return -EINVAL;
	first = offset / dev->block_size;
	n = len / dev->block_size;
	if (first >= dev->blocks || n > dev->blocks - first)
		return -EINVAL;
	if (!buf || (addr & (dev->dma_align - 1)) || addr + len < addr ||
	    (dev->dma_limit && addr + len > dev->dma_limit))
		return -EINVAL;
	if (op == BLKREQ_WRITE && (dev->features & BLKDEV_F_READONLY))
		return -EROFS;
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->op = op;
	io->next_block = first;
	io->left = n;
	io->next_buf = buf;
	io->bytes = len;
	io->cb = cb;
	io->arg = arg;
	return blkdev_enqueue(dev, io);
}

int uc_block_read(unsigned disk, uint64_t offset, void *buf, size_t len, uc_block_cb cb,
		  void *arg)
{
	return blkdev_rw(disk, BLKREQ_READ, offset, buf, len, cb, arg);
}

int uc_block_write(unsigned disk, uint64_t offset, const void *buf, size_t len,
		   uc_block_cb cb, void *arg)
{
	/* The device only reads the buffer. */
	return blkdev_rw(disk, BLKREQ_WRITE, offset, (void *)(uintptr_t)buf, len, cb, arg);
}

int uc_block_flush(unsigned disk, uc_block_cb cb, void *arg)
{
	struct blkdev *dev = blkdev_at(disk);
	struct blkio *io;

	if (!dev)
		return -ENODEV;
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->op = BLKREQ_FLUSH;
	io->cb = cb;
	io->arg = arg;
	return blkdev_enqueue(dev, io);
}
