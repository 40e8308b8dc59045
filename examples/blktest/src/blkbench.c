/* blkbench.c: 4 KiB random reads and writes at queue depth 1 and 32 on one disk, IOPS and latency percentiles on the console (bench/blk.py reads them). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <unicycle/block.h>
#include <unicycle/unicycle.h>

#include "blkbench.h"

/*
 * Command line: "bench [seconds=S] [serial=NAME]". The disk is the one
 * whose serial is NAME (default "blkbench"). For each of randread and
 * randwrite at queue depth 1 and 32 it keeps that many 4 KiB requests at
 * random 4 KiB-aligned offsets in flight for S seconds (after S/5 s of
 * unrecorded warm-up) and prints one line:
 *   blkbench: nvme randread qd32: 5123 IOPS, mean 6210 us, p50 6000 us, p99 9800 us, 51230 requests
 * Latency is from submission to callback, in 1 us buckets up to 1 s.
 */

#define BB_IO_BYTES      4096
#define BB_MAX_DEPTH     32
#define BB_DEFAULT_S     5
#define BB_HIST_US       1000000     /* buckets: 1 us each, the last holds the rest */
#define BB_NS_PER_US     1000ull
#define BB_NS_PER_S      1000000000ull
#define BB_WARMUP_DIV    5

struct bb_job {
	const char *name;
	bool write;
	unsigned depth;
};

static const struct bb_job bb_jobs[] = {
	{ "randread qd1", false, 1 }, { "randread qd32", false, 32 },
	{ "randwrite qd1", true, 1 }, { "randwrite qd32", true, 32 },
};

struct bb_slot {
	uint8_t *buf;
	uint64_t start_ns;
};

static struct {
	int disk;
	struct uc_block_info info;
	uint64_t seconds;
	unsigned job;
	uint64_t t_record, t_end;     /* recording starts / submissions stop */
	unsigned inflight;
	uint64_t count, sum_us;
	uint32_t *hist;
	uint64_t rng;
	struct bb_slot slots[BB_MAX_DEPTH];
} bb;

static uint64_t bb_rand(void)
{
	bb.rng ^= bb.rng << 13;
	bb.rng ^= bb.rng >> 7;
	bb.rng ^= bb.rng << 17;
	return bb.rng;
}

static uint64_t bb_percentile(unsigned pct)
{
	uint64_t want = (bb.count * pct + 99) / 100, seen = 0;

	for (uint64_t us = 0; us < BB_HIST_US; us++) {
		seen += bb.hist[us];
		if (seen >= want && want)
			return us;
	}
	return BB_HIST_US;
}

static void bb_next_job(void);
static void bb_submit(struct bb_slot *s);

static void bb_done(void *arg, int status)
{
	struct bb_slot *s = arg;
	uint64_t now = uc_time_ns();

	bb.inflight--;
	if (status < 0) {
		uc_printf("blkbench: request failed (%d)\n", status);
		uc_exit(1);
	}
	if (s->start_ns >= bb.t_record) {
		uint64_t us = (now - s->start_ns) / BB_NS_PER_US;

		bb.hist[us < BB_HIST_US ? us : BB_HIST_US - 1]++;
		bb.count++;
		bb.sum_us += us;
	}
	if (now < bb.t_end)
		bb_submit(s);
	else if (bb.inflight == 0)
		bb_next_job();
}

static void bb_submit(struct bb_slot *s)
{
	const struct bb_job *j = &bb_jobs[bb.job];
	uint64_t slots = bb.info.bytes / BB_IO_BYTES;
	uint64_t off = (bb_rand() % slots) * BB_IO_BYTES;
	int rc;

	s->start_ns = uc_time_ns();
	bb.inflight++;
	rc = j->write ? uc_block_write(bb.disk, off, s->buf, BB_IO_BYTES, bb_done, s)
		      : uc_block_read(bb.disk, off, s->buf, BB_IO_BYTES, bb_done, s);
	if (rc < 0) {
		uc_printf("blkbench: request refused (%d)\n", rc);
		uc_exit(1);
	}
}

static void bb_report(void)
{
	const struct bb_job *j = &bb_jobs[bb.job];
	uint64_t secs = bb.seconds ? bb.seconds : 1;

	uc_printf("blkbench: %s %s: %llu IOPS, mean %llu us, p50 %llu us, p99 %llu us, "
		  "%llu requests\n", bb.info.driver, j->name,
		  (unsigned long long)(bb.count / secs),
		  (unsigned long long)(bb.count ? bb.sum_us / bb.count : 0),
		  (unsigned long long)bb_percentile(50), (unsigned long long)bb_percentile(99),
		  (unsigned long long)bb.count);
}

static void bb_start_job(void)
{
	const struct bb_job *j = &bb_jobs[bb.job];
	uint64_t now = uc_time_ns();

	memset(bb.hist, 0, BB_HIST_US * sizeof(*bb.hist));
	bb.count = bb.sum_us = 0;
	bb.t_record = now + bb.seconds * BB_NS_PER_S / BB_WARMUP_DIV;
	bb.t_end = bb.t_record + bb.seconds * BB_NS_PER_S;
	for (unsigned i = 0; i < j->depth; i++)
		bb_submit(&bb.slots[i]);
}

static void bb_next_job(void)
{
	bb_report();
	if (++bb.job == sizeof(bb_jobs) / sizeof(bb_jobs[0])) {
		uc_printf("blkbench: done\n");
		uc_exit(0);
	}
	bb_start_job();
}

/* "key=value" from the command line, or NULL. */
static const char *bb_arg(const char *cmdline, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);

	for (const char *p = cmdline; *p; p++) {
		if ((p == cmdline || p[-1] == ' ') && !strncmp(p, key, klen) && p[klen] == '=') {
			size_t n = 0;

			for (p += klen + 1; *p && *p != ' ' && n + 1 < len; p++)
				out[n++] = *p;
			out[n] = '\0';
			return out;
		}
	}
	return NULL;
}

int blkbench_main(const char *cmdline)
{
	char serial[UC_BLOCK_SERIAL_LEN] = "blkbench", secs[16];

	bb_arg(cmdline, "serial", serial, sizeof(serial));
	bb.seconds = bb_arg(cmdline, "seconds", secs, sizeof(secs)) ? strtoull(secs, NULL, 10)
								    : BB_DEFAULT_S;
	bb.disk = uc_block_find(serial);
	if (bb.disk < 0 || uc_block_info((unsigned)bb.disk, &bb.info) < 0 ||
	    bb.info.bytes < BB_IO_BYTES || BB_IO_BYTES % bb.info.block_size) {
		uc_printf("blkbench: no usable disk with serial \"%s\"\n", serial);
		uc_exit(2);
	}
	bb.hist = calloc(BB_HIST_US, sizeof(*bb.hist));
	for (unsigned i = 0; i < BB_MAX_DEPTH; i++) {
		bb.slots[i].buf = aligned_alloc(BB_IO_BYTES, BB_IO_BYTES);
		if (bb.slots[i].buf)
			memset(bb.slots[i].buf, 0x5a, BB_IO_BYTES);
		if (!bb.slots[i].buf || !bb.hist) {
			uc_printf("blkbench: out of memory\n");
			uc_exit(16);
		}
	}
	bb.rng = uc_time_ns() | 1;
	uc_printf("blkbench: %s (%s, serial \"%s\", %llu MiB), %llu s per job\n", bb.info.name,
		  bb.info.driver, bb.info.serial, (unsigned long long)(bb.info.bytes >> 20),
		  (unsigned long long)bb.seconds);
	bb_start_job();
	uc_run();
}
