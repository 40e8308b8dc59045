/* watchdog.c: the event-loop watchdog (CONFIG_WATCHDOG): the loop's heartbeat, checks from the timer interrupt and an NMI, the hardware watchdog it feeds. */
#include "kernel/kernel.h"

#ifdef CONFIG_WATCHDOG
#include "arch/x86_64/io.h"
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/lapic.h"
#include "drivers/i8254.h"
#include "kernel/acpi.h"

/*
 * CPU 0's loop stamps watchdog_beat_ns in every pass (with the clock
 * reading its timers use, after the interrupt handlers ran). The
 * check cannot run in the loop (a stuck loop runs nothing), so it runs in
 * the LAPIC timer interrupt, which this file keeps coming every
 * WATCHDOG_PERIOD_NS whatever the loop does: re-armed by the interrupt
 * itself (a busy or stuck loop, POLL on or off) and by a halting loop
 * (loop_idle asks watchdog_idle_deadline), so a halted loop is woken for a
 * pass at least once a period and never looks stalled. A heartbeat older
 * than WATCHDOG_TIMEOUT_NS at a check is a stall: report the interrupted
 * RIP and its backtrace, then stop feeding.
 *
 * Code stuck with interrupts off takes no timer interrupt, so the same
 * check also runs from an NMI: 8254 counter 0 in rate-generator mode,
 * whose output (ISA IRQ 0) the IOAPIC delivers to CPU 0 as an NMI at most
 * every period or 54.9 ms (the 16-bit count), whichever is less
 * (CONFIG_WATCHDOG_NMI). Where that source is missing (no IOAPIC, e.g.
 * microvm; a PIT the firmware gates) such a stall is only reset, not
 * reported. After exit_machine() (an exit, a panic) nothing is checked.
 *
 * The hardware watchdog is fed from the loop (watchdog_beat), never from
 * an interrupt, so whatever stops the loop stops the feeding. The last
 * feed is at most a period before the stall began and the check at most a
 * stall limit plus a period after it: the hardware's limit, three stall
 * limits, leaves one and a half limits of slack for the check to come
 * first even when the CPU is late (an emulator's vCPU thread descheduled:
 * twice the limit was not enough on a loaded host). The check feeds once
 * more before printing, so the report gets a whole hardware period to
 * reach the console.
 */
#define WATCHDOG_NS_PER_MS     1000000ULL
#define WATCHDOG_NS_PER_SEC    1000000000ULL
#define WATCHDOG_TIMEOUT_NS    ((uint64_t)CONFIG_WATCHDOG_TIMEOUT_MS * WATCHDOG_NS_PER_MS)
#define WATCHDOG_PERIOD_NS     (WATCHDOG_TIMEOUT_NS / 4)
#define WATCHDOG_HW_TIMEOUT_MS (3u * CONFIG_WATCHDOG_TIMEOUT_MS)
#define WATCHDOG_EXIT_STATUS   255 /* no hardware watchdog: end like a panic */
#define WATCHDOG_PIT_IRQ       0   /* ISA IRQ of 8254 counter 0 */
#define WATCHDOG_PIT_MAX_COUNT 0xffffu /* 16-bit count: at most 54.9 ms a pulse */
#define WATCHDOG_RFLAGS_IF     (1u << 9) /* SDM Vol. 1 sec 3.4.3.3 */

static const struct watchdog_driver *watchdog_hw;
static bool watchdog_running;            /* the checks are on */
static bool watchdog_nmi_on;             /* the PIT's NMI is routed to CPU 0 */
static bool watchdog_reporting;          /* one report only: a tick and an NMI may race */
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

#ifdef CONFIG_WATCHDOG_NMI
/* ISA IRQ `irq`'s global system interrupt and polarity: the MADT's
 * interrupt source override (ACPI 6.x sec 5.2.12.5), else the same number,
 * active high (ISA). */
static uint32_t watchdog_isa_gsi(uint8_t irq, bool *active_low)
{
	for (unsigned i = 0; i < acpi_info.noverrides; i++) {
		const struct acpi_override *o = &acpi_info.overrides[i];

		if (o->source != irq)
			continue;
		*active_low = (o->flags & ACPI_INTI_POLARITY_MASK) == ACPI_INTI_POLARITY_LOW;
		return o->gsi;
	}
	*active_low = false;
	return irq;
}

/* 82C54 mode 2: OUT pulses low for one clock per count, a rising edge each
 * period; counter 0 is gated on in PCs. Then its IOAPIC pin becomes an NMI. */
static void watchdog_nmi_start(void)
{
	uint64_t count = WATCHDOG_PERIOD_NS * I8254_HZ / WATCHDOG_NS_PER_SEC;
	bool active_low;
	uint32_t gsi = watchdog_isa_gsi(WATCHDOG_PIT_IRQ, &active_low);

	if (count > WATCHDOG_PIT_MAX_COUNT)
		count = WATCHDOG_PIT_MAX_COUNT;
	outb(I8254_CONTROL, I8254_SEL_CH0 | I8254_RW_LSB_MSB | I8254_MODE2 | I8254_BINARY);
	outb(I8254_CH0_DATA, count & 0xff);
	outb(I8254_CH0_DATA, (count >> 8) & 0xff);
	watchdog_nmi_on = true; /* before the route: its first NMI may come at once */
	if (ioapic_route_nmi(gsi, lapic_id(), active_low) < 0) {
		watchdog_nmi_on = false;
		console_printf("unicycle: watchdog: no IOAPIC pin for the PIT (GSI %u), no NMI: a "
			       "stall with interrupts off goes unreported\n", gsi);
	}
}
#endif

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
#ifdef CONFIG_WATCHDOG_NMI
	watchdog_nmi_start();
#endif
	console_printf("unicycle: watchdog: loop stall limit %u ms", CONFIG_WATCHDOG_TIMEOUT_MS);
	if (watchdog_hw)
		console_printf(", %s resets after %u ms unfed", watchdog_hw->name,
			       WATCHDOG_HW_TIMEOUT_MS);
	console_printf("\n");
	lapic_timer_arm(now + WATCHDOG_PERIOD_NS);
}

void watchdog_stop(void)
{
	watchdog_running = false;
}

void watchdog_beat(uint64_t now)
{
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
static void watchdog_stalled(uint64_t stalled_ns, uint64_t rip, uint64_t rbp, uint64_t rsp,
			     bool irqs_off)
{
	watchdog_running = false;
	if (watchdog_hw)
		watchdog_hw->feed(watchdog_hw->state);
	console_printf("\nunicycle: PANIC: watchdog: the event loop stalled: no pass for %lu ms "
		       "(limit %u ms), CPU 0 at RIP %#lx%s\n",
		       (unsigned long)(stalled_ns / WATCHDOG_NS_PER_MS), CONFIG_WATCHDOG_TIMEOUT_MS,
		       (unsigned long)rip, irqs_off ? " with interrupts off (seen by NMI)" : "");
	panic_backtrace(rbp, rip, rsp);
	if (!watchdog_hw)
		exit_machine(WATCHDOG_EXIT_STATUS);
	console_printf("unicycle: watchdog: %s resets the machine within %u ms\n",
		       watchdog_hw->name, WATCHDOG_HW_TIMEOUT_MS);
	cpu_halt_forever();
}

/* Both checks, with interrupts off: a stale heartbeat is reported (once). */
static void watchdog_check(uint64_t rip, uint64_t rbp, uint64_t rsp, bool irqs_off)
{
	uint64_t now = time_ns(), beat = watchdog_beat_ns;

	if (now <= beat || now - beat <= WATCHDOG_TIMEOUT_NS)
		return;
	if (__atomic_exchange_n(&watchdog_reporting, true, __ATOMIC_ACQ_REL))
		return; /* the other check is printing its report */
	watchdog_stalled(now - beat, rip, rbp, rsp, irqs_off);
}

void watchdog_tick(uint64_t rip, uint64_t rbp, uint64_t rsp)
{
	if (!watchdog_running || smp_cpu_id() != 0)
		return;
	watchdog_check(rip, rbp, rsp, false);
	lapic_timer_arm(time_ns() + WATCHDOG_PERIOD_NS);
}

bool watchdog_nmi(uint64_t rip, uint64_t rbp, uint64_t rsp, uint64_t rflags)
{
	if (!watchdog_nmi_on || smp_cpu_id() != 0)
		return false;
	if (watchdog_running)
		watchdog_check(rip, rbp, rsp, !(rflags & WATCHDOG_RFLAGS_IF));
	return true;
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
