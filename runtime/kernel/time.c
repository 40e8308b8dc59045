/* time.c: the monotonic clock: TSC ticks scaled to nanoseconds, frequency from CPUID or the 8254 PIT. */
#include <string.h>

#include "kernel/kernel.h"
#include "arch/x86_64/io.h"
#include "drivers/i8254.h"
#include <unicycle/bootinfo.h>

/*
 * How the TSC frequency is found, first that works:
 *  1. CPUID leaf 15h with a crystal frequency (ECX != 0): exact,
 *     TSC Hz = ECX * EBX / EAX (SDM Vol. 3B sec 19.7.3, "Determining the
 *     Processor Base Frequency"; CPUID leaf 15h in Vol. 2A).
 *  2. Measured against 8254 PIT counter 2 in mode 0 (one-shot, gated by
 *     port 61h, polled on its output bit): works under QEMU TCG, where
 *     leaf 15h is empty, and on PCs whose PIT is clocked. Machines without
 *     port 61h (QEMU's microvm: its OUT bit reads high at once) count on
 *     counter 0 instead, read back with counter-latch commands.
 *  3. CPUID leaf 16h base frequency in MHz (EAX): on Skylake clients the
 *     TSC runs at the base frequency; used when the PIT does not tick
 *     (firmware may gate its clock).
 * The TSC is assumed invariant (CPUID 80000007h EDX bit 8); we say so
 * at boot when it is not.
 */
#define TIME_NS_PER_SEC        1000000000ULL
#define TIME_CALIBRATE_MS      5   /* 5966 PIT ticks: +-1 tick is 0.02% */
#define TIME_CALIBRATE_ROUNDS  3
#define TIME_PIT_SPIN_LIMIT    10000000 /* polls of port 61h before giving up (~10 s) */
#define TIME_LEAF_TSC          0x15
#define TIME_LEAF_FREQ         0x16
#define TIME_LEAF_EXT_POWER    0x80000007
#define TIME_INVARIANT_TSC     (1u << 8)
#define TIME_MHZ               1000000ULL
#define TIME_MULT_SHIFT        32

static uint64_t time_tsc_hz_value;
static uint64_t time_tsc_base;  /* TSC value that is time 0 */
static uint64_t time_mult;      /* ns = ticks * mult >> TIME_MULT_SHIFT */
static const char *time_source = "none";

static uint32_t time_max_leaf(uint32_t base)
{
	uint32_t a, b, c, d;

	cpuid(base, 0, &a, &b, &c, &d);
	return a;
}

static uint64_t time_from_leaf15(void)
{
	uint32_t a, b, c, d;

	if (time_max_leaf(0) < TIME_LEAF_TSC)
		return 0;
	cpuid(TIME_LEAF_TSC, 0, &a, &b, &c, &d);
	if (a == 0 || b == 0 || c == 0)
		return 0;
	return (uint64_t)c * b / a;
}

static uint64_t time_from_leaf16(void)
{
	uint32_t a, b, c, d;

	if (time_max_leaf(0) < TIME_LEAF_FREQ)
		return 0;
	cpuid(TIME_LEAF_FREQ, 0, &a, &b, &c, &d);
	return (uint64_t)(a & 0xffff) * TIME_MHZ;
}

/* One PIT measurement: TSC ticks over `ms` milliseconds, 0 if the PIT does
 * not count. 82C54 datasheet: write the control word, then the count LSB
 * and MSB; in mode 0 OUT goes low on the control word and high when the
 * count reaches zero; counting runs while GATE is high. */
static uint64_t time_pit_measure(unsigned ms)
{
	uint16_t count = (uint16_t)(I8254_HZ * ms / 1000);
	uint8_t p61 = inb(PORT61);
	uint64_t t0, t1;
	long spins = 0;

	/* Gate low and speaker off while programming. */
	outb(PORT61, p61 & ~(PORT61_TIM2_GATE | PORT61_SPKR_EN));
	outb(I8254_CONTROL, I8254_SEL_CH2 | I8254_RW_LSB_MSB | I8254_MODE0 | I8254_BINARY);
	outb(I8254_CH2_DATA, count & 0xff);
	outb(I8254_CH2_DATA, count >> 8);
	t0 = rdtsc();
	outb(PORT61, (p61 & ~PORT61_SPKR_EN) | PORT61_TIM2_GATE);
	while (!(inb(PORT61) & PORT61_TIM2_OUT)) {
		if (++spins > TIME_PIT_SPIN_LIMIT) {
			outb(PORT61, p61);
			return 0;
		}
	}
	t1 = rdtsc();
	outb(PORT61, p61);
	return t1 - t0;
}

/* Counter 0's current count (82C54 datasheet: the counter latch command
 * freezes it for two reads, LSB then MSB). */
static uint16_t time_pit_ch0_read(void)
{
	uint8_t lo, hi;

	outb(I8254_CONTROL, I8254_SEL_CH0 | I8254_RW_LATCH);
	lo = inb(I8254_CH0_DATA);
	hi = inb(I8254_CH0_DATA);
	return (uint16_t)(hi << 8 | lo);
}

/* The same measurement on counter 0 (its gate is tied high on PCs), for
 * machines without port 61h: mode 0 from 0xffff, polled until `ms` worth
 * of PIT ticks have counted down. Interrupts are off (IRQ 0 is not routed
 * yet); 0 if the counter does not move. */
static uint64_t time_pit_measure_ch0(unsigned ms)
{
	uint16_t ticks = (uint16_t)(I8254_HZ * ms / 1000), start, now;
	uint64_t t0;
	long spins = 0;

	outb(I8254_CONTROL, I8254_SEL_CH0 | I8254_RW_LSB_MSB | I8254_MODE0 | I8254_BINARY);
	outb(I8254_CH0_DATA, 0xff);
	outb(I8254_CH0_DATA, 0xff);
	start = time_pit_ch0_read();
	t0 = rdtsc();
	do {
		if (++spins > TIME_PIT_SPIN_LIMIT)
			return 0;
		now = time_pit_ch0_read();
	} while ((uint16_t)(start - now) < ticks && now <= start);
	return rdtsc() - t0;
}

static uint64_t time_from_pit(void)
{
	uint64_t best = 0;
	/* Mode 0 drives OUT low once the control word is written: a high OUT
	 * bit with the gate low means port 61h is not there. */
	bool ch0;

	outb(I8254_CONTROL, I8254_SEL_CH2 | I8254_RW_LSB_MSB | I8254_MODE0 | I8254_BINARY);
	ch0 = (inb(PORT61) & PORT61_TIM2_OUT) != 0;

	/* The smallest of a few rounds: interference (SMIs, the emulator's
	 * scheduling) only ever lengthens a measurement. */
	for (int i = 0; i < TIME_CALIBRATE_ROUNDS; i++) {
		uint64_t t = ch0 ? time_pit_measure_ch0(TIME_CALIBRATE_MS)
				 : time_pit_measure(TIME_CALIBRATE_MS);

		if (t == 0)
			return 0;
		if (best == 0 || t < best)
			best = t;
	}
	return best * 1000 / TIME_CALIBRATE_MS;
}

void time_init(void)
{
	uint32_t a, b, c, d;
	uint64_t hz;

	if ((hz = time_from_leaf15()) != 0)
		time_source = "CPUID 15h";
	else if ((hz = time_from_pit()) != 0)
		time_source = "PIT";
	else if ((hz = time_from_leaf16()) != 0)
		time_source = "CPUID 16h";
	else
		panic("cannot find the TSC frequency (no CPUID 15h/16h, PIT silent)");
	time_tsc_hz_value = hz;
	time_mult = (TIME_NS_PER_SEC << TIME_MULT_SHIFT) / hz;
	/* Time 0 is the bootloader's start when it told us, so boot time
	 * shows in time_ns(). */
	time_tsc_base = bootinfo.tsc_start && bootinfo.tsc_start < rdtsc() ? bootinfo.tsc_start
									    : rdtsc();
	console_printf("unicycle: TSC %lu.%03lu MHz (%s), %lu ms since the %s started\n",
		       (unsigned long)(hz / TIME_MHZ), (unsigned long)(hz % TIME_MHZ / 1000),
		       time_source, (unsigned long)(time_ns() / TIME_MHZ),
		       strcmp(bootinfo.boot_source, BOOTINFO_SOURCE_DIRECT) == 0 ? "PVH entry"
										: "bootloader");
	if (time_max_leaf(TIME_LEAF_EXT_POWER) >= TIME_LEAF_EXT_POWER) {
		cpuid(TIME_LEAF_EXT_POWER, 0, &a, &b, &c, &d);
		if (!(d & TIME_INVARIANT_TSC))
			console_printf("unicycle: warning: the TSC is not invariant\n");
	}
}

uint64_t time_ns(void)
{
	uint64_t ticks = rdtsc() - time_tsc_base;

	return (uint64_t)(((unsigned __int128)ticks * time_mult) >> TIME_MULT_SHIFT);
}

uint64_t time_entry_ns(void)
{
	uint64_t entry = bootinfo.tsc_jump;

	/* Direct boot: the PVH entry is the runtime's; via BOOTX64.EFI the jump is. */
	if (strcmp(bootinfo.boot_source, BOOTINFO_SOURCE_DIRECT) == 0 || entry < time_tsc_base)
		entry = time_tsc_base;
	return (uint64_t)(((unsigned __int128)(entry - time_tsc_base) * time_mult) >> TIME_MULT_SHIFT);
}

uint64_t time_ns_to_tsc(uint64_t ns)
{
	return time_tsc_base + (uint64_t)((unsigned __int128)ns * time_tsc_hz_value / TIME_NS_PER_SEC);
}

void time_delay_us(uint64_t us)
{
	uint64_t end = rdtsc() + us * time_tsc_hz_value / TIME_MHZ;

	while ((int64_t)(rdtsc() - end) < 0)
		cpu_relax();
}

uint64_t uc_time_ns(void)
{
	return time_ns();
}
