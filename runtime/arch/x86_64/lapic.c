/* lapic.c: the local APIC (x2APIC MSRs when the CPU has them, else xAPIC MMIO): EOI, IPIs, one-shot timer. */
#include "kernel/kernel.h"
#include "kernel/acpi.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/lapic.h"

#define LAPIC_CALIBRATE_US 10000

static bool lapic_x2;
static volatile uint32_t *lapic_mmio;
static bool lapic_deadline;         /* TSC-deadline mode (CPUID.1:ECX[24]) */
static uint64_t lapic_ticks_per_ms; /* one-shot mode, divide by 16 */

static uint32_t lapic_read(unsigned reg)
{
	if (lapic_x2)
		return (uint32_t)rdmsr(MSR_X2APIC_BASE + reg / 16);
	return lapic_mmio[reg / 4];
}

static void lapic_write(unsigned reg, uint32_t v)
{
	if (lapic_x2)
		wrmsr(MSR_X2APIC_BASE + reg / 16, v);
	else
		lapic_mmio[reg / 4] = v;
}

bool lapic_is_x2apic(void)
{
	return lapic_x2;
}

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(LAPIC_ID);

	return lapic_x2 ? id : id >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

/* Sec 11.6.1: xAPIC writes the high half (destination) first; the write
 * to the low half sends. x2APIC: one 64-bit MSR write, dest in 63:32. */
void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low)
{
	if (lapic_x2) {
		wrmsr(MSR_X2APIC_BASE + LAPIC_ICR_LOW / 16, (uint64_t)apic_id << 32 | icr_low);
		return;
	}
	lapic_write(LAPIC_ICR_HIGH, apic_id << 24);
	lapic_write(LAPIC_ICR_LOW, icr_low);
	while (lapic_read(LAPIC_ICR_LOW) & LAPIC_ICR_PENDING)
		cpu_relax();
}

/* This CPU's APIC on, in the mode the BSP chose; the timer masked. */
void lapic_enable_cpu(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	if (lapic_x2)
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
	else
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, IRQ_VEC_ERROR);
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | IRQ_VEC_SPURIOUS);
	lapic_write(LAPIC_TIMER_DIV, LAPIC_TIMER_DIV16);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | IRQ_VEC_TIMER);
}

/* One-shot timer rate against the TSC (sec 11.5.4: the APIC timer runs at
 * the bus/core crystal clock, which CPUID may not tell us). */
static void lapic_calibrate(void)
{
	uint32_t left;

	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | LAPIC_TIMER_ONESHOT | IRQ_VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
	time_delay_us(LAPIC_CALIBRATE_US);
	left = lapic_read(LAPIC_TIMER_CUR);
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_ticks_per_ms = (0xffffffffu - left) / (LAPIC_CALIBRATE_US / 1000);
	if (lapic_ticks_per_ms == 0)
		panic("LAPIC timer does not count");
}

void lapic_init(void)
{
	uint32_t a, b, c, d;
	uint64_t phys;

	cpuid(1, 0, &a, &b, &c, &d);
	if (!(d & CPUID_1_EDX_APIC))
		panic("CPU without a local APIC");
	lapic_x2 = c & CPUID_1_ECX_X2APIC;
	lapic_deadline = c & CPUID_1_ECX_TSCDL;
	if (!lapic_x2) {
		phys = acpi_info.lapic_addr ? acpi_info.lapic_addr
					    : rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR_MASK;
		lapic_mmio = (volatile uint32_t *)mem_map_mmio(phys, LAPIC_MMIO_SIZE);
	}
	lapic_enable_cpu();
	if (!lapic_deadline)
		lapic_calibrate();
	console_printf("unicycle: local APIC %u (%s), timer %s", lapic_id(),
		       lapic_x2 ? "x2APIC" : "xAPIC MMIO",
		       lapic_deadline ? "TSC-deadline" : "one-shot");
	if (!lapic_deadline)
		console_printf(" %lu kHz", (unsigned long)lapic_ticks_per_ms * 16);
	console_printf("\n");
}

/* Arms this CPU's one-shot timer for `deadline_ns` on time_ns()'s clock;
 * 0 disarms. An earlier interrupt than asked is harmless: the loop checks
 * the clock and re-arms. */
void lapic_timer_arm(uint64_t deadline_ns)
{
	uint64_t now, ticks;

	if (deadline_ns == 0) {
		if (lapic_deadline)
			wrmsr(MSR_TSC_DEADLINE, 0);
		else
			lapic_write(LAPIC_TIMER_INIT, 0);
		return;
	}
	if (lapic_deadline) {
		lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_DEADLINE | IRQ_VEC_TIMER);
		/* Sec 11.5.4.1: a deadline already past fires at once. */
		wrmsr(MSR_TSC_DEADLINE, time_ns_to_tsc(deadline_ns));
		return;
	}
	now = time_ns();
	ticks = deadline_ns > now ? (deadline_ns - now) * lapic_ticks_per_ms / 1000000 : 0;
	if (ticks == 0)
		ticks = 1;
	if (ticks > 0xffffffffu)
		ticks = 0xffffffffu;
	lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_ONESHOT | IRQ_VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, (uint32_t)ticks);
}
