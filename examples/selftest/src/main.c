/* main.c: selftest, the runtime's self-test: timers against the TSC; exits 0 only when every check passes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <unicycle/atomic.h>
#include <unicycle/stats.h>
#include <unicycle/timer.h>
#include <unicycle/unicycle.h>

/*
 * Exit status names the failed check (0 = all passed):
 *  10 a timer could not be added       11 a timer fired before its deadline
 *  12 a cancelled timer fired          13 timers fired out of deadline order
 *  14 a timer fired too late           15 cancel of a stale handle succeeded
 *  16 not every timer fired            17 the loop never halted (POLL off)
 *  18 malloc not seen in uc_mem_stats   19 spinlock/atomic misbehaved
 * Command line "wprotect" instead writes to .text, "nxexec" jumps into
 * .data: either run must end in a page-fault report (status 255).
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

	st_stats_and_locks();
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
