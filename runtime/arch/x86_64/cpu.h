/* cpu.h: CPU features (CPUID) and SIMD state set-up, per cpu.c. */
#ifndef UNICYCLE_ARCH_CPU_H
#define UNICYCLE_ARCH_CPU_H

#include <stdint.h>

/* CPUID leaf 1, EDX (SDM Vol. 2A, CPUID, table 3-11) */
#define CPUID_1_EDX_FPU      (1u << 0)
#define CPUID_1_EDX_TSC      (1u << 4)
#define CPUID_1_EDX_MSR      (1u << 5)
#define CPUID_1_EDX_PAE      (1u << 6)
#define CPUID_1_EDX_CX8      (1u << 8)
#define CPUID_1_EDX_APIC     (1u << 9)
#define CPUID_1_EDX_PGE      (1u << 13)
#define CPUID_1_EDX_CMOV     (1u << 15)
#define CPUID_1_EDX_FXSR     (1u << 24)
#define CPUID_1_EDX_SSE      (1u << 25)
#define CPUID_1_EDX_SSE2     (1u << 26)
/* CPUID leaf 1, ECX (table 3-10) */
#define CPUID_1_ECX_SSE3     (1u << 0)
#define CPUID_1_ECX_SSE42    (1u << 20)
#define CPUID_1_ECX_X2APIC   (1u << 21)
#define CPUID_1_ECX_TSCDL    (1u << 24)
#define CPUID_1_ECX_XSAVE    (1u << 26)
#define CPUID_1_ECX_AVX      (1u << 28)
/* CPUID leaf 7 subleaf 0, EBX */
#define CPUID_7_EBX_AVX2     (1u << 5)
#define CPUID_7_EBX_AVX512F  (1u << 16)
/* CPUID leaf 80000001h, EDX */
#define CPUID_X1_EDX_NX      (1u << 20)
#define CPUID_X1_EDX_PAGE1GB (1u << 26)
#define CPUID_X1_EDX_LM      (1u << 29)
/* CPUID leaf 80000007h, EDX */
#define CPUID_X7_EDX_INVTSC  (1u << 8)

/* CR4 (SDM Vol. 3A sec 2.5) */
#define CPU_CR4_OSXSAVE      (1ull << 18)

/* XCR0 state components (SDM Vol. 1 sec 13.1) */
#define XCR0_X87             (1ull << 0)
#define XCR0_SSE             (1ull << 1)
#define XCR0_AVX             (1ull << 2)
#define XCR0_OPMASK          (1ull << 5)
#define XCR0_ZMM_HI256       (1ull << 6)
#define XCR0_HI16_ZMM        (1ull << 7)
#define XCR0_AVX512          (XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM)

/* Boot CPU: panics naming each required feature the CPU lacks, enables
 * XSAVE-managed SIMD state (AVX, AVX-512 when present) and prints one line. */
void cpu_init(void);
/* Every CPU (boot CPU from cpu_init, APs on entry): CR4.OSXSAVE + XCR0. */
void cpu_enable_simd(void);

#endif
