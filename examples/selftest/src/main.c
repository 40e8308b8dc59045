/* main.c: selftest, the runtime's self-test: timers against the TSC; exits 0 only when every check passes. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <unicycle/atomic.h>
#include <unicycle/cpu.h>
#include <unicycle/stats.h>
#include <unicycle/timer.h>
#include <unicycle/unicycle.h>

#include "watchdog.h"

/*
 * Exit status names the failed check (0 = all passed):
 *  10 a timer could not be added       11 a timer fired before its deadline
 *  12 a cancelled timer fired          13 timers fired out of deadline order
 *  14 a timer fired too late           15 cancel of a stale handle succeeded
 *  16 not every timer fired            17 the loop never halted (POLL off)
 *  18 malloc not seen in uc_mem_stats   19 spinlock/atomic misbehaved
 *  22 uc_cpu_run failed                  23 a stress run saw a corrupt block
 *  24 a stress run ran on the wrong CPU  25 bytes_in_use did not return
 *  26 the stress runs did not finish in time
 *  27 fresh heap pages not zeroed once when first taken (mem.c)
 * Command line "wprotect" instead writes to .text, "nxexec" jumps into
 * .data: either run must end in a page-fault report (status 255).
 * "wd-..." runs a watchdog mode (watchdog.c).
 * Deliberate bugs for the sanitizers (runtime/sanitize/), each of which must
 * end in their report (status 127); without the sanitizer the run goes on,
 * says "<name>: not reported" and exits with the status after the name:
 *  "heap-overflow" 30  writes one byte past a 13-byte malloc (KASAN)
 *  "use-after-free" 31 reads an int of a freed block (KASAN)
 *  "global-overflow" 35 writes one byte past a 13-byte global array (KASAN)
 *  "signed-overflow" 32 INT_MAX + 1 (UBSAN)
 *  "misaligned" 33     stores a uint32_t at an odd address (UBSAN)
 *  "all-bugs" 34       each of them in this order, in one run
 */
#define ST_TIMERS        200
#define ST_SPREAD_NS     200000000ULL /* deadlines 0..200 ms ahead */
#define ST_LATE_NS       50000000ULL  /* TCG under load: generous */
#define ST_VERDICT_NS    400000000ULL

struct st_timer {
	uint64_t deadline;
	uint64_t fired_at;
	uc_timer_t handle;
	int cancelled;
	int fired;
};

static struct st_timer st_timers[ST_TIMERS];
static uint64_t st_last_deadline;
static uint64_t st_max_late;
static int st_status;
static uint32_t st_rand_state = 12345;

static uint32_t st_rand(void)
{
	st_rand_state = st_rand_state * 1103515245u + 12345u;
	return st_rand_state >> 8;
}

static void st_fail(int status, const char *what)
{
	uc_printf("selftest: FAIL %d: %s\n", status, what);
	if (!st_status)
		st_status = status;
}

static void st_timer_fired(void *arg)
{
	struct st_timer *t = arg;
	uint64_t now = uc_time_ns();

	t->fired++;
	t->fired_at = now;
	if (t->cancelled)
		st_fail(12, "a cancelled timer fired");
	if (now < t->deadline)
		st_fail(11, "a timer fired before its deadline");
	if (t->deadline < st_last_deadline)
		st_fail(13, "timers fired out of deadline order");
	st_last_deadline = t->deadline;
	if (now - t->deadline > st_max_late)
		st_max_late = now - t->deadline;
}

static void st_verdict(void *arg)
{
	int fired = 0, cancelled = 0;

	(void)arg;
	for (int i = 0; i < ST_TIMERS; i++) {
		cancelled += st_timers[i].cancelled;
		fired += st_timers[i].fired;
		if (!st_timers[i].cancelled && st_timers[i].fired != 1)
			st_fail(16, "a timer did not fire exactly once");
		if (st_timers[i].cancelled && uc_timer_cancel(st_timers[i].handle) != -ENOENT)
			st_fail(15, "cancelling a cancelled timer succeeded");
	}
	if (st_max_late > ST_LATE_NS)
		st_fail(14, "a timer fired too late");
	{
		struct uc_loop_stats ls;

		uc_loop_stats(&ls);
		uc_printf("selftest: loop: %lu passes, %lu events, %lu idle, %lu ms halted\n",
			  (unsigned long)ls.iterations, (unsigned long)ls.events,
			  (unsigned long)ls.idle_passes, (unsigned long)(ls.idle_ns / 1000000));
		if (ls.idle_ns == 0)
			st_fail(17, "the loop never halted");
	}
	uc_printf("selftest: timers: %d fired, %d cancelled, latest %lu us after its deadline\n",
		  fired, cancelled, (unsigned long)(st_max_late / 1000));
	uc_printf("selftest: %s\n", st_status ? "FAILED" : "all checks passed");
	uc_exit(st_status);
}

/*
 * Allocator stress on every CPU at once (CONFIG_SMP; with one CPU it runs
 * on CPU 0 alone): random malloc/free/realloc of 1 B .. 12 KiB, each block
 * filled with a pattern naming its CPU, slot and generation, checked
 * before every realloc and free. Each run counts itself done through an
 * atomic counter CPU 0 waits on.
 */
#define ST_STRESS_SLOTS  64
#define ST_STRESS_OPS    20000
#define ST_STRESS_WAIT_NS 60000000000ULL

struct st_stress {
	unsigned cpu;          /* where it should run */
	unsigned ran_on;
	uint32_t rand;
	unsigned long ops, corrupt, failed;
	uint8_t *block[ST_STRESS_SLOTS];
	size_t size[ST_STRESS_SLOTS];
	uint8_t tag[ST_STRESS_SLOTS];
};

static struct st_stress st_stress_runs[16];
static unsigned st_stress_done;

static uint32_t st_stress_rand(struct st_stress *w)
{
	w->rand ^= w->rand << 13;
	w->rand ^= w->rand >> 17;
	w->rand ^= w->rand << 5;
	return w->rand;
}

static size_t st_stress_size(struct st_stress *w)
{
	uint32_t r = st_stress_rand(w);

	if (r % 16 == 0)
		return 4097 + r % 8192;     /* large: own pages from the buddy */
	return 1 + (r >> 4) % 700;          /* slab classes */
}

static uint8_t st_stress_byte(const struct st_stress *w, unsigned slot, size_t i)
{
	return (uint8_t)(w->cpu * 31 + slot * 7 + w->tag[slot] + i);
}

static void st_stress_fill(struct st_stress *w, unsigned slot, size_t from)
{
	for (size_t i = from; i < w->size[slot]; i++)
		w->block[slot][i] = st_stress_byte(w, slot, i);
}

static void st_stress_check(struct st_stress *w, unsigned slot, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w->block[slot][i] != st_stress_byte(w, slot, i)) {
			w->corrupt++;
			return;
		}
}

static void st_stress_run(void *arg)
{
	struct st_stress *w = arg;

	w->ran_on = uc_cpu_id();
	for (unsigned long op = 0; op < ST_STRESS_OPS; op++) {
		unsigned slot = st_stress_rand(w) % ST_STRESS_SLOTS;
		uint32_t what = st_stress_rand(w) % 3;

		if (!w->block[slot]) {
			w->size[slot] = st_stress_size(w);
			w->block[slot] = malloc(w->size[slot]);
			if (!w->block[slot]) {
				w->failed++;
				continue;
			}
			w->tag[slot]++;
			st_stress_fill(w, slot, 0);
		} else if (what == 0) {
			size_t n = st_stress_size(w);
			uint8_t *q;

			st_stress_check(w, slot, w->size[slot]);
			q = realloc(w->block[slot], n);
			if (!q) {
				w->failed++;
				continue;
			}
			w->block[slot] = q;
			/* realloc kept the common prefix; the rest is new. */
			st_stress_check(w, slot, n < w->size[slot] ? n : w->size[slot]);
			if (n > w->size[slot]) {
				size_t old = w->size[slot];

				w->size[slot] = n;
				st_stress_fill(w, slot, old);
			}
			w->size[slot] = n;
		} else {
			st_stress_check(w, slot, w->size[slot]);
			free(w->block[slot]);
			w->block[slot] = NULL;
		}
		w->ops++;
	}
	for (unsigned slot = 0; slot < ST_STRESS_SLOTS; slot++) {
		if (w->block[slot]) {
			st_stress_check(w, slot, w->size[slot]);
			free(w->block[slot]);
			w->block[slot] = NULL;
		}
	}
	uc_atomic_add(&st_stress_done, 1);
}

static void st_smp_stress(void)
{
	unsigned n = uc_cpu_count();
	struct uc_mem_stats before, after;
	unsigned long ops = 0;
	uint64_t deadline;

	if (n > sizeof(st_stress_runs) / sizeof(st_stress_runs[0]))
		n = sizeof(st_stress_runs) / sizeof(st_stress_runs[0]);
	uc_mem_stats(&before);
	for (unsigned cpu = 0; cpu < n; cpu++) {
		st_stress_runs[cpu].cpu = cpu;
		st_stress_runs[cpu].rand = 2463534242u + cpu * 977u;
	}
	/* The others first, then CPU 0's share right here. */
	for (unsigned cpu = 1; cpu < n; cpu++)
		if (uc_cpu_run(cpu, st_stress_run, &st_stress_runs[cpu]) != 0) {
			st_fail(22, "uc_cpu_run failed");
			uc_atomic_add(&st_stress_done, 1);
		}
	if (uc_cpu_run(n, st_stress_run, NULL) != -EINVAL)
		st_fail(22, "uc_cpu_run to a CPU that is not there did not fail");
	st_stress_run(&st_stress_runs[0]);
	deadline = uc_time_ns() + ST_STRESS_WAIT_NS;
	while (uc_atomic_load(&st_stress_done) < n) {
		if (uc_time_ns() > deadline) {
			st_fail(26, "the stress runs did not finish");
			return;
		}
	}
	for (unsigned cpu = 0; cpu < n; cpu++) {
		const struct st_stress *w = &st_stress_runs[cpu];

		ops += w->ops;
		if (w->corrupt)
			st_fail(23, "a stress run saw a corrupt block");
		if (w->ran_on != cpu)
			st_fail(24, "a stress run ran on the wrong CPU");
		if (w->failed)
			st_fail(23, "an allocation failed");
	}
	uc_mem_stats(&after);
	if (after.bytes_in_use != before.bytes_in_use)
		st_fail(25, "bytes_in_use did not return to its start");
	uc_printf("selftest: smp: allocator stress on %u CPUs: %lu operations, peak %lu bytes, "
		  "%lu bytes in use before and %lu after: %s\n", n, ops,
		  (unsigned long)after.peak_bytes, (unsigned long)before.bytes_in_use,
		  (unsigned long)after.bytes_in_use, st_status ? "FAILED" : "passed");
}

static void st_write_text(void)
{
	/* .text is mapped read-only: this must end in a #PF report. */
	volatile uint8_t *code = (volatile uint8_t *)(uintptr_t)&st_write_text;

	uc_printf("selftest: writing to .text at %p\n", (void *)code);
	code[0] = 0xcc;
	uc_printf("selftest: FAIL: the write to .text did not fault\n");
	uc_exit(20);
}

static void st_exec_data(void)
{
	/* .data is no-execute: fetching this `ret` must fault. */
	static uint8_t ret_insn[16] = { 0xc3 };
	void (*fn)(void) = (void (*)(void))(uintptr_t)ret_insn;

	uc_printf("selftest: calling into .data at %p\n", (void *)ret_insn);
	fn();
	uc_printf("selftest: FAIL: executing .data did not fault\n");
	uc_exit(21);
}

/* Values the compiler cannot see through, so the bugs below happen at run time. */
static volatile int st_zero;
static void *volatile st_launder;

static void st_bug_heap_overflow(void)
{
	char *p = malloc(13);

	uc_printf("selftest: heap-overflow: writing byte 13 of a 13-byte block at %p\n", (void *)p);
	p[13 + st_zero] = 'x';
	uc_printf("selftest: heap-overflow: not reported\n");
	free(p);
}

static void st_bug_use_after_free(void)
{
	int *p = malloc(8 * sizeof(int)), v;

	p[2] = 42;
	st_launder = p;
	free(p);
	uc_printf("selftest: use-after-free: reading a freed block at %p\n", (void *)p);
	v = ((int *)st_launder)[2];
	uc_printf("selftest: use-after-free: not reported (read %d)\n", v);
}

static char st_global[13];

static void st_bug_global_overflow(void)
{
	uc_printf("selftest: global-overflow: writing byte 13 of a 13-byte array at %p\n",
		  (void *)st_global);
	st_global[13 + st_zero] = 'x';
	uc_printf("selftest: global-overflow: not reported\n");
}

static void st_bug_signed_overflow(void)
{
	int big = INT_MAX - st_zero;
	int sum;

	uc_printf("selftest: signed-overflow: computing INT_MAX + 1\n");
	sum = big + 1;
	uc_printf("selftest: signed-overflow: not reported (got %d)\n", sum);
}

static void st_bug_misaligned(void)
{
	static uint32_t words[4];
	uint32_t *q = (uint32_t *)((char *)words + 1 + st_zero);

	uc_printf("selftest: misaligned: storing a uint32_t at %p\n", (void *)q);
	*q = 0x12345678;
	uc_printf("selftest: misaligned: not reported\n");
}

#define ST_ALL_BUGS_STATUS 34

static const struct {
	const char *name;
	void (*run)(void);
	int status;
} st_bugs[] = {
	{ "heap-overflow", st_bug_heap_overflow, 30 },
	{ "use-after-free", st_bug_use_after_free, 31 },
	{ "global-overflow", st_bug_global_overflow, 35 },
	{ "signed-overflow", st_bug_signed_overflow, 32 },
	{ "misaligned", st_bug_misaligned, 33 },
};

/* Runs the bug `cmd` names ("all-bugs": every one) and exits; returns when it names none. */
static void st_run_bugs(const char *cmd)
{
	bool all = strcmp(cmd, "all-bugs") == 0;
	int status = ST_ALL_BUGS_STATUS;
	size_t ran = 0;

	for (size_t i = 0; i < sizeof(st_bugs) / sizeof(st_bugs[0]); i++) {
		if (all || strcmp(cmd, st_bugs[i].name) == 0) {
			st_bugs[i].run();
			status = st_bugs[i].status;
			ran++;
		}
	}
	if (ran)
		uc_exit(all ? ST_ALL_BUGS_STATUS : status);
}

/* 256 KiB is above the heap's classes: its own pages, fresh from the page
 * allocator this early, which mem.c zeroes at their first take (check 27). */
static void st_fresh_pages_zeroed(void)
{
	struct uc_mem_stats before, after;
	size_t n = 256 * 1024, nonzero = 0;
	unsigned char *b;

	uc_mem_stats(&before);
	b = malloc(n);
	uc_mem_stats(&after);
	if (!b) {
		st_fail(27, "malloc(256 KiB) failed");
		return;
	}
	for (size_t i = 0; i < n; i++)
		nonzero += b[i] != 0;
	uc_printf("selftest: mem: %lu pages zeroed at first take (%lu by a 256 KiB malloc), "
		  "%lu nonzero bytes in it\n", (unsigned long)after.pages_zeroed,
		  (unsigned long)(after.pages_zeroed - before.pages_zeroed), (unsigned long)nonzero);
	if (after.pages_zeroed < before.pages_zeroed + n / 4096 || after.pages_zeroed >
	    after.pages_total || nonzero)
		st_fail(27, "fresh pages of a 256 KiB malloc not zeroed at their first take");
	free(b);
}

static void st_stats_and_locks(void)
{
	struct uc_mem_stats before, after;
	void *p[100];
	unsigned cls = 0;
	uc_spinlock_t lock = UC_SPINLOCK_INIT;
	int v = 5, word = 5, want = 5;

	uc_mem_stats(&before);
	for (int i = 0; i < 100; i++)
		p[i] = malloc(64);
	uc_mem_stats(&after);
	while (cls < after.nclasses && after.classes[cls].size < 64)
		cls++;
	uc_printf("selftest: mem: %lu bytes in use, peak %lu, %lu of %lu pages free, "
		  "class %lu B: %lu objects\n", (unsigned long)after.bytes_in_use,
		  (unsigned long)after.peak_bytes, (unsigned long)after.pages_free,
		  (unsigned long)after.pages_total, (unsigned long)after.classes[cls].size,
		  (unsigned long)after.classes[cls].in_use);
	if (cls == after.nclasses ||
	    after.classes[cls].in_use != before.classes[cls].in_use + 100 ||
	    after.bytes_in_use < before.bytes_in_use + 6400 || after.peak_bytes < after.bytes_in_use)
		st_fail(18, "100 mallocs of 64 bytes not seen in uc_mem_stats");
	for (int i = 0; i < 100; i++)
		free(p[i]);
	st_fresh_pages_zeroed();
	uc_spin_lock(&lock);
	if (!uc_atomic_cas(&word, &want, 6) || word != 6 || uc_atomic_cas(&word, &want, 7) ||
	    want != 6 || uc_atomic_add(&v, 2) != 7)
		st_fail(19, "atomics");
	uc_spin_unlock(&lock);
}

int app_main(void)
{
	const char *cmd = uc_cmdline();
	uint64_t now;

	if (strcmp(cmd, "wprotect") == 0)
		st_write_text();
	if (strcmp(cmd, "nxexec") == 0)
		st_exec_data();
	st_watchdog(cmd);
	st_run_bugs(cmd);

	st_stats_and_locks();
	st_smp_stress();
	now = uc_time_ns();
	for (int i = 0; i < ST_TIMERS; i++) {
		struct st_timer *t = &st_timers[i];

		t->deadline = now + (uint64_t)st_rand() % ST_SPREAD_NS;
		t->handle = uc_timer_at(t->deadline, st_timer_fired, t);
		if (!t->handle) {
			st_fail(10, "uc_timer_at failed");
			uc_exit(st_status);
		}
		if (i % 5 == 0) {
			t->cancelled = 1;
			if (uc_timer_cancel(t->handle) != 0)
				st_fail(12, "cancelling a pending timer failed");
		}
	}
	if (!uc_timer_add(ST_VERDICT_NS, st_verdict, NULL)) {
		st_fail(10, "uc_timer_add failed");
		uc_exit(st_status);
	}
	uc_printf("selftest: %d timers armed, %lu pending\n", ST_TIMERS, uc_timer_pending());
	uc_run();
}
