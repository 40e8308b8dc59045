/* watchdog.c: the event-loop watchdog (CONFIG_WATCHDOG): the loop's heartbeat, a check from the timer interrupt, the hardware watchdog it feeds. */
#include "kernel/kernel.h"

#ifdef CONFIG_WATCHDOG
#include "arch/x86_64/io.h"
#include "arch/x86_64/lapic.h"

/*
 * CPU 0's loop stamps watchdog_beat_ns at the start of every pass. The
 * check cannot run in the loop (a stuck loop runs nothing), so it runs in
 * the LAPIC timer interrupt, which this file keeps coming every
 * WATCHDOG_PERIOD_NS whatever the loop does: re-armed by the interrupt
 * itself (a busy or stuck loop, POLL on or off) and by a halting loop
 * (loop_idle asks watchdog_idle_deadline), so a halted loop is woken for a
 * pass at least once a period and never looks stalled. A heartbeat older
 * than WATCHDOG_TIMEOUT_NS at a check is a stall: report the interrupted
 * RIP and its backtrace, then stop feeding.
 *
 * The hardware watchdog is fed from the loop (watchdog_beat), never from
 * the interrupt: a CPU stuck with interrupts off gets no check and no
 * report, but is still reset. Its limit, twice the stall limit, leaves the
 * check (at most a stall limit plus a period after the last feed, which is
 * at most a period before the stall began) time to come first; the check
 * feeds once more before printing, so the report gets a whole hardware
 * period to reach the console.
 */
#define WATCHDOG_NS_PER_MS     1000000ULL
#define WATCHDOG_TIMEOUT_NS    ((uint64_t)CONFIG_WATCHDOG_TIMEOUT_MS * WATCHDOG_NS_PER_MS)
#define WATCHDOG_PERIOD_NS     (WATCHDOG_TIMEOUT_NS / 4)
#define WATCHDOG_HW_TIMEOUT_MS (2u * CONFIG_WATCHDOG_TIMEOUT_MS)
#define WATCHDOG_EXIT_STATUS   255 /* no hardware watchdog: end like a panic */

static const struct watchdog_driver *watchdog_hw;
static bool watchdog_running;            /* the checks are on */
static volatile uint64_t watchdog_beat_ns; /* time_ns() at the loop's latest pass */
static uint64_t watchdog_fed_ns;         /* when the loop last fed the hardware */
static bool watchdog_caused_reset;

void watchdog_register(const struct watchdog_driver *drv, bool caused_reset)
{
	if (watchdog_hw) {
		console_printf("unicycle: watchdog: %s not used: %s is\n", drv->name,
			       watchdog_hw->name);
		return;
	}
	watchdog_hw = drv;
	watchdog_caused_reset = caused_reset;
}

void watchdog_start(void)
{
	uint64_t now = time_ns();

	if (watchdog_running)
		return;
	if (!watchdog_hw) {
		console_printf("unicycle: watchdog: no hardware watchdog: a stalled loop is "
			       "reported but the machine is not reset\n");
	} else if (watchdog_hw->start(watchdog_hw->state, WATCHDOG_HW_TIMEOUT_MS) < 0) {
		console_printf("unicycle: watchdog: %s did not start: a stalled loop is "
			       "reported but the machine is not reset\n", watchdog_hw->name);
		watchdog_hw = NULL;
	}
	watchdog_beat_ns = watchdog_fed_ns = now;
	watchdog_running = true;
	console_printf("unicycle: watchdog: loop stall limit %u ms", CONFIG_WATCHDOG_TIMEOUT_MS);
	if (watchdog_hw)
		console_printf(", %s resets after %u ms unfed", watchdog_hw->name,
			       WATCHDOG_HW_TIMEOUT_MS);
	console_printf("\n");
	lapic_timer_arm(now + WATCHDOG_PERIOD_NS);
}

void watchdog_beat(void)
{
	uint64_t now = time_ns();

	watchdog_beat_ns = now;
	if (watchdog_hw && now - watchdog_fed_ns >= WATCHDOG_PERIOD_NS) {
		watchdog_hw->feed(watchdog_hw->state);
		watchdog_fed_ns = now;
	}
}

uint64_t watchdog_idle_deadline(uint64_t next_ns)
{
	uint64_t check = time_ns() + WATCHDOG_PERIOD_NS;

	return next_ns == 0 || next_ns > check ? check : next_ns;
}

/* Interrupts are off and stay off: the loop never runs again. */
__attribute__((noreturn))
static void watchdog_stalled(uint64_t stalled_ns, uint64_t rip, uint64_t rbp, uint64_t rsp)
{
	watchdog_running = false;
	if (watchdog_hw)
		watchdog_hw->feed(watchdog_hw->state);
	console_printf("\nunicycle: PANIC: watchdog: the event loop stalled: no pass for %lu ms "
		       "(limit %u ms), CPU 0 at RIP %#lx\n",
		       (unsigned long)(stalled_ns / WATCHDOG_NS_PER_MS), CONFIG_WATCHDOG_TIMEOUT_MS,
		       (unsigned long)rip);
	panic_backtrace(rbp, rip, rsp);
	if (!watchdog_hw)
		exit_machine(WATCHDOG_EXIT_STATUS);
	console_printf("unicycle: watchdog: %s resets the machine within %u ms\n",
		       watchdog_hw->name, WATCHDOG_HW_TIMEOUT_MS);
	cpu_halt_forever();
}

void watchdog_tick(uint64_t rip, uint64_t rbp, uint64_t rsp)
{
	uint64_t now, beat;

	if (!watchdog_running || smp_cpu_id() != 0)
		return;
	now = time_ns();
	beat = watchdog_beat_ns;
	if (now > beat && now - beat > WATCHDOG_TIMEOUT_NS)
		watchdog_stalled(now - beat, rip, rbp, rsp);
	lapic_timer_arm(now + WATCHDOG_PERIOD_NS);
}
#endif

int uc_watchdog_caused_reset(void)
{
#ifdef CONFIG_WATCHDOG
	return watchdog_caused_reset;
#else
	return 0;
#endif
}
