/* paging.h: x86_64 4-level paging structures (Intel SDM Vol. 3A sec 4.5, Tables 4-14..4-20). */
#ifndef UNICYCLE_ARCH_PAGING_H
#define UNICYCLE_ARCH_PAGING_H

#include "arch/x86_64/memlayout.h"

/* Entry bits common to every level */
#define PTE_PRESENT   (1ULL << 0)
#define PTE_WRITE     (1ULL << 1)
#define PTE_PWT       (1ULL << 3)  /* write-through */
#define PTE_PCD       (1ULL << 4)  /* cache disable */
#define PTE_PS        (1ULL << 7)  /* 1 GiB page in a PDPTE, 2 MiB page in a PDE */
#define PTE_NX        (1ULL << 63) /* no execute; needs EFER.NXE (SDM sec 4.6) */
#define PTE_ADDR_MASK 0x000ffffffffff000ULL
#define PTE_ENTRIES   512

/* The 4 KiB page is PAGE_SIZE (memlayout.h); these are the larger mappings. */
#define PAGE_SIZE_2M  0x200000ULL
#define PAGE_SIZE_1G  0x40000000ULL
#define PAGE_SIZE_512G 0x8000000000ULL /* one PML4 entry */

/* With the default PAT, PCD|PWT selects entry 3: UC (SDM sec 11.12.3). */
#define PTE_CACHE_UC  (PTE_PCD | PTE_PWT)

#define CR4_LA57      (1ULL << 12)  /* 5-level paging active (SDM sec 2.5) */
#define CPUID_EXT_FEATURES 0x80000001 /* its EDX bits are in cpu.h (CPUID_X1_EDX_*) */
#define MSR_EFER      0xc0000080
#define EFER_NXE      (1ULL << 11)
#define CR0_WP        (1ULL << 16)  /* supervisor writes honour read-only pages */

#define PAGING_MAX_PHYS (1ULL << 47) /* what 4-level identity mapping can reach */
/* paging_init() maps [0, PAGING_IDENTITY_END) at once, RAM must lie below
 * it (and with it the firmware's tables); above it only the MMIO that
 * paging_map_mmio() adds is mapped. */
#define PAGING_IDENTITY_END PAGE_SIZE_512G

/*
 * Guard pages. Whoever owns a stack in the image (start.S the boot stack,
 * gdt.c the fault stacks, smp.c the AP stacks) lists the pages below it
 * with PAGING_GUARD, and paging_init() maps them not present: an overflow
 * faults (and is reported) instead of overwriting what lies below. One
 * entry is `count` pages, `stride` bytes apart, starting at `first`; each
 * page-aligned and inside the image (paging_init panics otherwise). The
 * entries gather in .paging_guards (linker.ld); no call, no order.
 */
#ifdef __ASSEMBLER__
/* The same entry from assembly: PAGING_GUARD first, stride, count */
.macro PAGING_GUARD first, stride, count
	.pushsection .paging_guards, "a"
	.balign 8
	.quad \first, \stride, \count
	.popsection
.endm
#else
#include <stdint.h>

struct paging_guard {
	const void *first;
	uint64_t stride;          /* bytes from one guard page to the next */
	uint64_t count;
};
/* PAGING_GUARD(my_guards, my_stacks, sizeof(my_stacks[0]), N); */
#define PAGING_GUARD(name, first_, stride_, count_)                             \
	static const struct paging_guard name                                   \
		__attribute__((used, section(".paging_guards"), aligned(8))) = { \
			(first_), (stride_), (count_)                           \
		}

/* Builds the runtime's identity map and switches CR3 to it. */
void paging_init(void);
/* Makes the 4 KiB page at `phys` (below 2 MiB) executable: the SMP
 * trampoline. */
void paging_allow_exec_low(uint64_t phys);
/* Adds an uncached identity mapping for device memory anywhere below
 * PAGING_MAX_PHYS (no-op where a mapping exists). */
void paging_map_mmio(uint64_t phys, uint64_t size);
#endif

#endif
