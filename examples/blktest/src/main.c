/* main.c: blktest, the block layer's in-QEMU test (and with cmdline "bench", its benchmark): exits 0 only when every check passes. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <unicycle/block.h>
#include <unicycle/unicycle.h>

#include "blkbench.h"

/*
 * Works on every disk whose serial starts with "blktest" (`unicycle run
 * --disk blktest-a.img` sets the file's name as serial) and leaves the
 * others alone (the boot image is an AHCI disk too). All such disks run at
 * once. Per disk:
 *   1. refusals: out of range, straddling the end, zero length, lengths and
 *      offsets that are not whole blocks, misaligned and NULL buffers;
 *   2. a burst of one-block reads submitted together: more than one must be
 *      in flight on the device at some point (when its queue depth allows);
 *   3. block 0 tells whether an earlier boot left the pattern (magic, seed):
 *      - no: write the pattern over the whole disk (64 KiB requests, 8 at
 *        a time), flush, read it all back (1 MiB requests: larger than some
 *        drivers take, so split; buffers 4 bytes off a page) and compare;
 *      - yes: read it all back (256 KiB requests) and compare: the data
 *        survived a reboot.
 * Every block holds the magic, the seed, its own number, then a xorshift
 * sequence of both.
 *
 * Exit status (0 = all passed):
 *   2 no disk with a blktest serial     10 a bad request was not refused
 *  11 no concurrency on the device      12 a request failed (I/O error)
 *  13 data read back differs            14 a flush failed
 *  15 a good request was refused        16 out of memory
 */

#define BT_SERIAL_PREFIX  "blktest"
#define BT_MAGIC          0x5453544b4c424355ull   /* "UCBLKTST" */
#define BT_MAX_DISKS      8
#define BT_BURST          32       /* one-block reads submitted at once */
#define BT_WRITE_CHUNK    (64u * 1024)
#define BT_WRITE_DEPTH    8
#define BT_READ_CHUNK     (1024u * 1024)
#define BT_READ_DEPTH     2
#define BT_VERIFY_CHUNK   (256u * 1024)
#define BT_VERIFY_DEPTH   4
#define BT_MISALIGN       4        /* valid (>= align), not page aligned */
#define BT_PAGE           4096
#define BT_DEPTH_MAX      BT_BURST
#define BT_MIX            0x9e3779b97f4a7c15ull

enum {
	BT_OK = 0, BT_NO_DISK = 2, BT_FAIL_REFUSE = 10, BT_FAIL_CONCURRENCY = 11,
	BT_FAIL_IO = 12, BT_FAIL_VERIFY = 13, BT_FAIL_FLUSH = 14, BT_FAIL_SUBMIT = 15,
	BT_FAIL_NOMEM = 16,
};

struct bt_disk;
typedef void (*bt_next_fn)(struct bt_disk *d);

struct bt_slot {
	struct bt_disk *d;
	uint8_t *mem;            /* allocation */
	uint8_t *buf;            /* mem, or mem + BT_MISALIGN */
	uint64_t off;
	size_t len;
};

/* One disk's run; a "pass" covers the whole disk with `depth` requests. */
struct bt_disk {
	unsigned index;
	struct uc_block_info info;
	uint64_t seed;
	int status;
	bool fresh;              /* no pattern yet: this boot writes it */
	/* the pass in progress */
	bool write;
	bool check;              /* compare what is read */
	uint64_t next_off;
	size_t chunk;
	unsigned depth, inflight;
	uint64_t mismatches, first_bad;
	bt_next_fn after;
	struct bt_slot slots[BT_DEPTH_MAX];
};

static struct bt_disk bt_disks[BT_MAX_DISKS];
static unsigned bt_ndisks, bt_finished;
static int bt_status;

static void bt_fail(struct bt_disk *d, int status, const char *what, long detail)
{
	uc_printf("blktest: %s: FAIL %d: %s (%ld)\n", d->info.name, status, what, detail);
	if (!d->status)
		d->status = status;
}

static void bt_disk_done(struct bt_disk *d)
{
	struct uc_block_stats st;

	uc_block_stats(d->index, &st);
	uc_printf("blktest: %s: %s; %llu reads, %llu writes, %llu flushes, %llu errors\n",
		  d->info.name, d->status ? "FAILED" : "passed",
		  (unsigned long long)st.reads, (unsigned long long)st.writes,
		  (unsigned long long)st.flushes, (unsigned long long)st.errors);
	if (d->status && !bt_status)
		bt_status = d->status;
	if (++bt_finished == bt_ndisks) {
		if (!bt_status)
			uc_printf("blktest: all checks passed\n");
		uc_exit(bt_status);
	}
}

/* ---- the pattern ---- */

static uint64_t bt_xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Word i of a block buffer. Buffers may sit BT_MISALIGN bytes off alignment, so
 * through memcpy: a uint64_t load from there is undefined behaviour (UBSAN's
 * "misaligned access"), though x86 forgives it. */
static uint64_t bt_word(const uint8_t *buf, uint32_t i)
{
	uint64_t v;

	__builtin_memcpy(&v, buf + (size_t)i * 8, sizeof(v));
	return v;
}

static void bt_set_word(uint8_t *buf, uint32_t i, uint64_t v)
{
	__builtin_memcpy(buf + (size_t)i * 8, &v, sizeof(v));
}

static void bt_fill(uint8_t *buf, uint32_t bs, uint64_t seed, uint64_t lba)
{
	uint64_t s = (seed ^ (lba + 1) * BT_MIX) | 1;

	bt_set_word(buf, 0, BT_MAGIC);
	bt_set_word(buf, 1, seed);
	bt_set_word(buf, 2, lba);
	for (uint32_t i = 3; i < bs / 8; i++)
		bt_set_word(buf, i, bt_xorshift(&s));
}

static bool bt_matches(const uint8_t *buf, uint32_t bs, uint64_t seed, uint64_t lba)
{
	uint64_t s = (seed ^ (lba + 1) * BT_MIX) | 1;

	if (bt_word(buf, 0) != BT_MAGIC || bt_word(buf, 1) != seed || bt_word(buf, 2) != lba)
		return false;
	for (uint32_t i = 3; i < bs / 8; i++)
		if (bt_word(buf, i) != bt_xorshift(&s))
			return false;
	return true;
}

/* ---- passes over the whole disk ---- */

static void bt_issue(struct bt_slot *sl);

static void bt_slot_done(void *arg, int status)
{
	struct bt_slot *sl = arg;
	struct bt_disk *d = sl->d;
	uint32_t bs = d->info.block_size;

	d->inflight--;
	if (status < 0) {
		bt_fail(d, BT_FAIL_IO, d->write ? "write failed" : "read failed", status);
	} else if (d->check) {
		for (size_t o = 0; o < sl->len; o += bs) {
			uint64_t lba = (sl->off + o) / bs;

			if (!bt_matches(sl->buf + o, bs, d->seed, lba)) {
				if (d->mismatches++ == 0)
					d->first_bad = lba;
			}
		}
	}
	if (d->next_off < d->info.bytes && !d->status)
		bt_issue(sl);
	else if (d->inflight == 0)
		d->after(d);
}

static void bt_issue(struct bt_slot *sl)
{
	struct bt_disk *d = sl->d;
	uint64_t left = d->info.bytes - d->next_off;
	uint32_t bs = d->info.block_size;
	int rc;

	sl->off = d->next_off;
	sl->len = left < d->chunk ? (size_t)left : d->chunk;
	d->next_off += sl->len;
	if (d->write)
		for (size_t o = 0; o < sl->len; o += bs)
			bt_fill(sl->buf + o, bs, d->seed, (sl->off + o) / bs);
	d->inflight++;
	rc = d->write ? uc_block_write(d->index, sl->off, sl->buf, sl->len, bt_slot_done, sl)
		      : uc_block_read(d->index, sl->off, sl->buf, sl->len, bt_slot_done, sl);
	if (rc < 0) {
		d->inflight--;
		bt_fail(d, BT_FAIL_SUBMIT, "a good request was refused", rc);
		if (d->inflight == 0)
			d->after(d);
	}
}

static void bt_free_slots(struct bt_disk *d)
{
	for (unsigned i = 0; i < BT_DEPTH_MAX; i++) {
		free(d->slots[i].mem);
		d->slots[i].mem = d->slots[i].buf = NULL;
	}
}

static void bt_pass(struct bt_disk *d, bool write, bool check, size_t chunk, unsigned depth,
		    bool misalign, bt_next_fn after)
{
	d->write = write;
	d->check = check;
	d->chunk = chunk;
	d->depth = depth;
	d->next_off = 0;
	d->mismatches = 0;
	d->after = after;
	for (unsigned i = 0; i < depth; i++) {
		struct bt_slot *sl = &d->slots[i];

		sl->d = d;
		sl->mem = aligned_alloc(BT_PAGE, chunk + BT_PAGE);
		if (!sl->mem) {
			bt_fail(d, BT_FAIL_NOMEM, "no memory for the buffers", (long)chunk);
			bt_free_slots(d);
			bt_disk_done(d);
			return;
		}
		sl->buf = sl->mem + (misalign ? BT_MISALIGN : 0);
	}
	for (unsigned i = 0; i < depth && d->next_off < d->info.bytes; i++)
		bt_issue(&d->slots[i]);
}

static void bt_report_verify(struct bt_disk *d, const char *what)
{
	uint64_t blocks = d->info.blocks;

	bt_free_slots(d);
	if (d->mismatches) {
		uc_printf("blktest: %s: %llu of %llu blocks differ, the first is block %llu\n",
			  d->info.name, (unsigned long long)d->mismatches,
			  (unsigned long long)blocks, (unsigned long long)d->first_bad);
		bt_fail(d, BT_FAIL_VERIFY, "data read back differs", (long)d->mismatches);
	} else if (!d->status) {
		uc_printf("blktest: %s: %s %llu blocks (seed 0x%llx)\n", d->info.name, what,
			  (unsigned long long)blocks, (unsigned long long)d->seed);
	}
	bt_disk_done(d);
}

static void bt_after_readback(struct bt_disk *d)
{
	bt_report_verify(d, "wrote, flushed and read back");
}

static void bt_after_verify(struct bt_disk *d)
{
	bt_report_verify(d, "verified what an earlier boot wrote:");
}

static void bt_flushed(void *arg, int status)
{
	struct bt_disk *d = arg;

	if (status < 0) {
		bt_fail(d, BT_FAIL_FLUSH, "flush failed", status);
		bt_disk_done(d);
		return;
	}
	uc_printf("blktest: %s: flush completed\n", d->info.name);
	bt_pass(d, false, true, BT_READ_CHUNK, BT_READ_DEPTH, true, bt_after_readback);
}

static void bt_after_write(struct bt_disk *d)
{
	int rc;

	bt_free_slots(d);
	if (d->status) {
		bt_disk_done(d);
		return;
	}
	rc = uc_block_flush(d->index, bt_flushed, d);
	if (rc < 0) {
		bt_fail(d, BT_FAIL_SUBMIT, "flush refused", rc);
		bt_disk_done(d);
	}
}

/* ---- block 0, the burst, the refusals ---- */

static void bt_start_pattern(struct bt_disk *d)
{
	bt_free_slots(d);    /* the burst's */
	if (d->fresh) {
		d->seed = (uc_time_ns() * 6364136223846793005ull + d->index) | 1;
		uc_printf("blktest: %s: no pattern yet: writing the whole disk (seed 0x%llx)\n",
			  d->info.name, (unsigned long long)d->seed);
		bt_pass(d, true, false, BT_WRITE_CHUNK, BT_WRITE_DEPTH, false, bt_after_write);
	} else {
		uc_printf("blktest: %s: pattern found (seed 0x%llx): verifying the whole disk\n",
			  d->info.name, (unsigned long long)d->seed);
		bt_pass(d, false, true, BT_VERIFY_CHUNK, BT_VERIFY_DEPTH, false, bt_after_verify);
	}
}

static void bt_after_error_read(void *arg, int status)
{
	struct bt_slot *sl = arg;
	struct bt_disk *d = sl->d;

	if (status == 0)
		uc_printf("blktest: %s: the disk still works after the error\n", d->info.name);
	else
		uc_printf("blktest: %s: still failing after the error (%d)\n", d->info.name, status);
	bt_free_slots(d);
	bt_disk_done(d);
}

/* After an I/O error: one more read, to show whether the driver recovered. */
static void bt_read_after_error(struct bt_disk *d)
{
	struct bt_slot *sl = &d->slots[0];

	if (uc_block_read(d->index, 0, sl->buf, d->info.block_size, bt_after_error_read, sl) < 0) {
		bt_free_slots(d);
		bt_disk_done(d);
	}
}

static void bt_after_burst(struct bt_disk *d)
{
	struct uc_block_stats st;
	unsigned want = d->info.queue_depth < BT_BURST ? d->info.queue_depth : BT_BURST;

	uc_block_stats(d->index, &st);
	uc_printf("blktest: %s: %u requests in flight at most (queue depth %u)\n",
		  d->info.name, st.inflight_max, d->info.queue_depth);
	if (st.inflight_max < want || (want > 1 && st.inflight_max < 2))
		bt_fail(d, BT_FAIL_CONCURRENCY, "fewer requests in flight than submitted",
			(long)st.inflight_max);
	if (d->status == BT_FAIL_IO) {
		bt_read_after_error(d);
		return;
	}
	if (d->status) {
		bt_free_slots(d);
		bt_disk_done(d);
		return;
	}
	bt_start_pattern(d);
}

/* The burst: BT_BURST one-block reads at once, all over the disk. */
static void bt_burst(struct bt_disk *d)
{
	uint32_t bs = d->info.block_size;

	d->write = d->check = false;
	d->inflight = 0;
	d->next_off = d->info.bytes;   /* bt_slot_done: nothing more to issue */
	d->after = bt_after_burst;
	for (unsigned i = 0; i < BT_BURST; i++) {
		struct bt_slot *sl = &d->slots[i];
		int rc;

		sl->d = d;
		sl->mem = sl->buf = aligned_alloc(BT_PAGE, bs);
		if (!sl->mem) {
			bt_fail(d, BT_FAIL_NOMEM, "no memory for the burst", bs);
			break;
		}
		sl->off = (d->info.blocks * i / BT_BURST) * bs;
		sl->len = bs;
		d->inflight++;
		rc = uc_block_read(d->index, sl->off, sl->buf, bs, bt_slot_done, sl);
		if (rc < 0) {
			d->inflight--;
			bt_fail(d, BT_FAIL_SUBMIT, "a burst read was refused", rc);
			break;
		}
	}
	if (d->inflight == 0)
		bt_after_burst(d);
}

static void bt_block0(void *arg, int status)
{
	struct bt_slot *sl = arg;
	struct bt_disk *d = sl->d;
	const uint64_t *w = (const uint64_t *)sl->buf;

	if (status < 0) {
		bt_fail(d, BT_FAIL_IO, "reading block 0 failed", status);
		bt_free_slots(d);
		bt_disk_done(d);
		return;
	}
	d->fresh = w[0] != BT_MAGIC;
	d->seed = w[1];
	bt_free_slots(d);
	bt_burst(d);
}

/* A request that must be refused with -EINVAL. */
struct bt_refusal {
	const char *what;
	bool write;
	bool from_end;            /* off_blocks counts back from the end */
	uint64_t off_blocks;
	unsigned off_bytes;       /* added to the offset */
	uint64_t len_blocks;
	unsigned len_bytes;       /* added to the length */
	unsigned buf_offset;      /* bytes past an aligned buffer */
	bool null_buf;
};

static const struct bt_refusal bt_refusals[] = {
	{ "read past the end", false, true, 0, 0, 1, 0, 0, false },
	{ "write straddling the end", true, true, 1, 0, 2, 0, 0, false },
	{ "read far past the end", false, false, 1ull << 40, 0, 1, 0, 0, false },
	{ "zero length", false, false, 0, 0, 0, 0, 0, false },
	{ "length not a whole block", false, false, 0, 0, 0, 100, 0, false },
	{ "length a block and a bit", true, false, 0, 0, 1, 4, 0, false },
	{ "offset not a whole block", true, false, 0, 1, 1, 0, 0, false },
	{ "buffer 1 byte off alignment", false, false, 0, 0, 1, 0, 1, false },
	{ "buffer 2 bytes off alignment", true, false, 0, 0, 1, 0, 2, false },
	{ "NULL buffer", false, false, 0, 0, 1, 0, 0, true },
};

static void bt_refusals_check(struct bt_disk *d, uint8_t *buf)
{
	uint32_t bs = d->info.block_size;
	int rc;

	for (size_t i = 0; i < sizeof(bt_refusals) / sizeof(bt_refusals[0]); i++) {
		const struct bt_refusal *r = &bt_refusals[i];
		uint64_t off = (r->from_end ? d->info.blocks - r->off_blocks : r->off_blocks) * bs +
			       r->off_bytes;
		size_t len = (size_t)r->len_blocks * bs + r->len_bytes;
		uint8_t *b = r->null_buf ? NULL : buf + r->buf_offset;

		rc = r->write ? uc_block_write(d->index, off, b, len, NULL, NULL)
			      : uc_block_read(d->index, off, b, len, NULL, NULL);
		if (rc != -EINVAL)
			bt_fail(d, BT_FAIL_REFUSE, r->what, rc);
	}
	rc = uc_block_read(uc_block_count(), 0, buf, bs, NULL, NULL);
	if (rc != -ENODEV)
		bt_fail(d, BT_FAIL_REFUSE, "a disk that does not exist", rc);
	if (!d->status)
		uc_printf("blktest: %s: bad requests refused before reaching the device\n",
			  d->info.name);
}

static void bt_start(struct bt_disk *d)
{
	struct bt_slot *sl = &d->slots[0];
	int rc;

	static const char *const durability[] = {
		[UC_BLOCK_DURABLE_ON_FLUSH] = "on flush",
		[UC_BLOCK_DURABLE_ON_WRITE] = "on write",
		[UC_BLOCK_DURABLE_UNKNOWN] = "unknown",
	};

	uc_printf("blktest: %s: %s, model \"%s\", serial \"%s\", %llu blocks of %u bytes, align %u, "
		  "queue depth %u, durable %s\n", d->info.name, d->info.driver, d->info.model,
		  d->info.serial, (unsigned long long)d->info.blocks, d->info.block_size,
		  d->info.align, d->info.queue_depth, durability[d->info.durability]);
	sl->d = d;
	sl->mem = sl->buf = aligned_alloc(BT_PAGE, d->info.block_size + BT_PAGE);
	if (!sl->mem) {
		bt_fail(d, BT_FAIL_NOMEM, "no memory", 0);
		bt_disk_done(d);
		return;
	}
	bt_refusals_check(d, sl->buf);
	if (d->status) {
		bt_free_slots(d);
		bt_disk_done(d);
		return;
	}
	sl->off = 0;
	sl->len = d->info.block_size;
	rc = uc_block_read(d->index, 0, sl->buf, sl->len, bt_block0, sl);
	if (rc < 0) {
		bt_fail(d, BT_FAIL_SUBMIT, "reading block 0 was refused", rc);
		bt_free_slots(d);
		bt_disk_done(d);
	}
}

int app_main(void)
{
	unsigned n = uc_block_count();

	if (!strncmp(uc_cmdline(), BLKBENCH_CMDLINE, strlen(BLKBENCH_CMDLINE)))
		return blkbench_main(uc_cmdline());
	uc_printf("blktest: %u disks\n", n);
	for (unsigned i = 0; i < n && bt_ndisks < BT_MAX_DISKS; i++) {
		struct bt_disk *d = &bt_disks[bt_ndisks];

		if (uc_block_info(i, &d->info) < 0)
			continue;
		if (strncmp(d->info.serial, BT_SERIAL_PREFIX, strlen(BT_SERIAL_PREFIX))) {
			uc_printf("blktest: %s (%s, serial \"%s\"): not a test disk, left alone\n",
				  d->info.name, d->info.driver, d->info.serial);
			continue;
		}
		d->index = i;
		bt_ndisks++;
	}
	if (bt_ndisks == 0) {
		uc_printf("blktest: no disk with a serial starting \"" BT_SERIAL_PREFIX "\"\n");
		return BT_NO_DISK;
	}
	for (unsigned i = 0; i < bt_ndisks; i++)
		bt_start(&bt_disks[i]);
	uc_run();
}
