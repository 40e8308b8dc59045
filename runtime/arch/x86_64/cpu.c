/* cpu.c: CPU features: required ones checked through CPUID, SIMD state enabled with XSAVE. */
#include <stdio.h>

#include "kernel/kernel.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/io.h"

struct cpu_feature {
	const char *name;
	uint32_t leaf;
	char reg;          /* 'c' or 'd' */
	uint32_t bit;
};

/* What the runtime's code and page tables rely on; the message names the
 * CPUID bit so a user can look the CPU up. */
static const struct cpu_feature cpu_required[] = {
	{ "FPU",  1, 'd', CPUID_1_EDX_FPU },
	{ "TSC",  1, 'd', CPUID_1_EDX_TSC },
	{ "MSR",  1, 'd', CPUID_1_EDX_MSR },
	{ "PAE",  1, 'd', CPUID_1_EDX_PAE },
	{ "CX8",  1, 'd', CPUID_1_EDX_CX8 },
	{ "APIC", 1, 'd', CPUID_1_EDX_APIC },
	{ "PGE",  1, 'd', CPUID_1_EDX_PGE },
	{ "CMOV", 1, 'd', CPUID_1_EDX_CMOV },
	{ "FXSR", 1, 'd', CPUID_1_EDX_FXSR },
	{ "SSE",  1, 'd', CPUID_1_EDX_SSE },
	{ "SSE2", 1, 'd', CPUID_1_EDX_SSE2 },
	{ "NX (no-execute pages)", 0x80000001u, 'd', CPUID_X1_EDX_NX },
	{ "LM (long mode)", 0x80000001u, 'd', CPUID_X1_EDX_LM },
};

static uint32_t cpu_reg(uint32_t leaf, char reg)
{
	uint32_t a, b, c, d, max;

	cpuid(leaf & 0x80000000u, 0, &max, &b, &c, &d);
	if (leaf > max)
		return 0;
	cpuid(leaf, 0, &a, &b, &c, &d);
	return reg == 'c' ? c : d;
}

/* XCR0 bits to turn on: x87 + SSE always, AVX and AVX-512 when both the
 * CPU (CPUID leaf 1 / 7) and XSAVE (leaf 0Dh EAX, SDM Vol. 1 sec 13.2)
 * support them. */
static uint64_t cpu_xcr0_wanted(void)
{
	uint32_t a, b, c, d, ecx1 = cpu_reg(1, 'c');
	uint64_t supported, want = XCR0_X87 | XCR0_SSE;

	cpuid(0xd, 0, &a, &b, &c, &d);
	supported = (uint64_t)d << 32 | a;
	if ((ecx1 & CPUID_1_ECX_AVX) && (supported & XCR0_AVX))
		want |= XCR0_AVX;
	cpuid(0, 0, &a, &b, &c, &d);
	if (a >= 7) {
		cpuid(7, 0, &a, &b, &c, &d);
		if ((b & CPUID_7_EBX_AVX512F) && (want & XCR0_AVX) &&
		    (supported & XCR0_AVX512) == XCR0_AVX512)
			want |= XCR0_AVX512;
	}
	return want & supported;
}

void cpu_enable_simd(void)
{
	if (!(cpu_reg(1, 'c') & CPUID_1_ECX_XSAVE))
		return; /* FXSAVE-only CPU: SSE was enabled by start.S */
	write_cr4(read_cr4() | CPU_CR4_OSXSAVE);
	xsetbv(0, cpu_xcr0_wanted());
}

void cpu_init(void)
{
	char missing[160];
	size_t used = 0;
	uint32_t a, b, c, d, ecx1, ebx7 = 0;
	uint64_t xcr0 = 0;

	missing[0] = '\0';
	for (size_t i = 0; i < sizeof(cpu_required) / sizeof(cpu_required[0]); i++) {
		const struct cpu_feature *f = &cpu_required[i];

		if (cpu_reg(f->leaf, f->reg) & f->bit)
			continue;
		used += (size_t)snprintf(missing + used, sizeof(missing) - used, "%s%s (CPUID %#x %s bit %u)",
					 used ? ", " : "", f->name, f->leaf,
					 f->reg == 'c' ? "ECX" : "EDX",
					 (unsigned)__builtin_ctz(f->bit));
		if (used >= sizeof(missing))
			break;
	}
	if (missing[0])
		panic("this CPU lacks what the runtime needs: %s", missing);

	cpu_enable_simd();
	ecx1 = cpu_reg(1, 'c');
	if (ecx1 & CPUID_1_ECX_XSAVE)
		xcr0 = xgetbv(0);
	cpuid(0, 0, &a, &b, &c, &d);
	if (a >= 7) {
		uint32_t a7, c7, d7;

		cpuid(7, 0, &a7, &ebx7, &c7, &d7);
	}
	console_printf("unicycle: CPU: SSE2%s%s%s%s%s%s%s\n",
		       (ecx1 & CPUID_1_ECX_SSE42) ? " SSE4.2" : "",
		       (xcr0 & XCR0_AVX) ? " AVX" : "",
		       ((xcr0 & XCR0_AVX) && (ebx7 & CPUID_7_EBX_AVX2)) ? " AVX2" : "",
		       (xcr0 & XCR0_AVX512) == XCR0_AVX512 ? " AVX-512" : "",
		       (ecx1 & CPUID_1_ECX_XSAVE) ? " (XSAVE)" : " (FXSAVE)",
		       (ecx1 & CPUID_1_ECX_TSCDL) ? ", TSC-deadline" : "",
		       (cpu_reg(0x80000007u, 'd') & CPUID_X7_EDX_INVTSC) ? ", invariant TSC" : "");
}
