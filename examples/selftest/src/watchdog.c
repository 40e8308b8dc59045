/* watchdog.c: selftest's watchdog modes: stall the event loop (interrupts on or off), or keep it healthy for several limits. */
#include <string.h>

#include <unicycle/stats.h>
#include <unicycle/timer.h>
#include <unicycle/unicycle.h>

#include "watchdog.h"

/*
 * Built with CONFIG_WATCHDOG (tests/integration/test_watchdog.py sets a
 * 400 ms limit) and booted with QEMU's reboot action "reset":
 *  wd-stall         a timer callback spins in st_wd_spin() with interrupts
 *                   on: the timer interrupt must report the stall there,
 *                   then the i6300esb reset the machine;
 *  wd-stall-irqoff  the same with interrupts off: no report, only the reset;
 *  wd-healthy       100 ms of work in one callback, then an idle loop for
 *                   ST_WD_HEALTHY_NS: no report and no reset; exits 0;
 *  wd-exit          exits 0 from a callback at once: built without
 *                   isa-debug-exit the CPU halts, which is no stall to
 *                   report, but the unfed i6300esb resets the machine.
 * The boot after a watchdog reset exits at once: 0 in the stall and exit
 * modes (the reset is what they wait for), 42 in wd-healthy. A stall mode
 * that gets past its stall exits 40; 41: a timer could not be added or no
 * such mode.
 */
#define ST_WD_MS             1000000ULL
#define ST_WD_START_NS       (20 * ST_WD_MS)
#define ST_WD_WORK_NS        (100 * ST_WD_MS)   /* a quarter of the test's limit */
#define ST_WD_HEALTHY_NS     (3000 * ST_WD_MS)  /* 7.5 limits, 2.5 hardware limits */
#define ST_WD_EXIT_NO_STALL  40
#define ST_WD_EXIT_NO_TIMER  41
#define ST_WD_EXIT_WAS_RESET 42

static volatile unsigned long st_wd_spins;

/* Is the command line's first word `mode`? (microvm's QEMU appends words.) */
static int st_wd_is(const char *cmd, const char *mode)
{
	size_t n = strlen(mode);

	return strncmp(cmd, mode, n) == 0 && (cmd[n] == '\0' || cmd[n] == ' ');
}

/* Where the CPU is stuck: the report's backtrace must name it. */
__attribute__((noinline)) static void st_wd_spin(void)
{
	for (;;)
		st_wd_spins++;
}

static void st_wd_stall(void *arg)
{
	int irqoff = arg != NULL;

	uc_printf("selftest: stalling the loop in st_wd_spin, interrupts %s\n",
		  irqoff ? "off" : "on");
	if (irqoff)
		__asm__ volatile("cli" ::: "memory");
	st_wd_spin();
	uc_exit(ST_WD_EXIT_NO_STALL);
}

static void st_wd_work(void *arg)
{
	uint64_t end = uc_time_ns() + ST_WD_WORK_NS;

	(void)arg;
	while (uc_time_ns() < end)
		st_wd_spins++;
}

static void st_wd_exit(void *arg)
{
	(void)arg;
	uc_exit(0);
}

static void st_wd_done(void *arg)
{
	struct uc_loop_stats ls;

	(void)arg;
	uc_loop_stats(&ls);
	uc_printf("selftest: watchdog: healthy for %lu ms: %lu passes, %lu ms halted\n",
		  (unsigned long)(ST_WD_HEALTHY_NS / ST_WD_MS), (unsigned long)ls.iterations,
		  (unsigned long)(ls.idle_ns / ST_WD_MS));
	uc_exit(0);
}

void st_watchdog(const char *cmd)
{
	int stall = st_wd_is(cmd, "wd-stall"), stall_irqoff = st_wd_is(cmd, "wd-stall-irqoff");
	int exit_mode = st_wd_is(cmd, "wd-exit");
	int ok;

	if (strncmp(cmd, "wd-", 3) != 0)
		return;
	if (uc_watchdog_caused_reset()) {
		uc_printf("selftest: watchdog: this boot follows a watchdog reset\n");
		uc_exit(stall || stall_irqoff || exit_mode ? 0 : ST_WD_EXIT_WAS_RESET);
	}
	if (stall || stall_irqoff) {
		ok = uc_timer_add(ST_WD_START_NS, st_wd_stall, stall_irqoff ? (void *)1 : NULL) != 0;
	} else if (exit_mode) {
		ok = uc_timer_add(ST_WD_START_NS, st_wd_exit, NULL) != 0;
	} else if (st_wd_is(cmd, "wd-healthy")) {
		ok = uc_timer_add(ST_WD_START_NS, st_wd_work, NULL) != 0 &&
		     uc_timer_add(ST_WD_HEALTHY_NS, st_wd_done, NULL) != 0;
	} else {
		uc_printf("selftest: unknown watchdog mode %s\n", cmd);
		uc_exit(ST_WD_EXIT_NO_TIMER);
	}
	if (!ok)
		uc_exit(ST_WD_EXIT_NO_TIMER);
	uc_run();
}
