/* sys_arch.c: what lwIP needs from the platform with NO_SYS=1: clock, randomness, diagnostics. */
#include <stdarg.h>

#include "arch/x86_64/io.h"
#include "kernel/kernel.h"
#include "lwip/sys.h"

/* lwIP's millisecond clock for its timeouts (wraps after 49 days, which
 * lwIP's timeout arithmetic allows). */
u32_t sys_now(void)
{
	return (u32_t)(time_ns() / 1000000u);
}

/*
 * TCP initial sequence numbers, DHCP transaction ids and IPv6 temporary
 * values. xorshift64* seeded from the TSC: not cryptographic, but not
 * predictable across boots either. RDRAND is not assumed (QEMU's default
 * CPU model lacks it).
 */
static uint64_t sys_arch_rand_state;

unsigned int sys_arch_rand(void)
{
	uint64_t x = sys_arch_rand_state;

	if (x == 0)
		x = rdtsc() | 1;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	sys_arch_rand_state = x;
	return (unsigned int)((x * 0x2545f4914f6cdd1dULL) >> 32);
}

void sys_arch_assert(const char *msg, const char *file, int line)
{
	panic_at(file, line, "lwIP assertion: %s", msg);
}
