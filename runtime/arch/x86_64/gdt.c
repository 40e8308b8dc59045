/* gdt.c: the runtime's own Global Descriptor Table (flat 64-bit code + data) and TSS. */
#include <stdint.h>

#include "config.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/paging.h"

#ifndef CONFIG_NR_CPUS
#define CONFIG_NR_CPUS 1
#endif
/* Null, code, data, then one two-slot TSS descriptor per CPU. */
#define GDT_ENTRIES (GDT_SEL_TSS / 8 + 2 * CONFIG_NR_CPUS)

/*
 * Segment descriptor bits, Intel SDM Vol. 3A sec 3.4.5 "Segment Descriptors"
 * (Figure 3-8). In 64-bit mode base and limit are ignored for code and data
 * (sec 3.4.5 / 5.2.1) but we keep a flat 4 GiB limit as is customary.
 */
#define GDT_LIMIT_LOW      0x000000000000ffffULL /* limit bits 15:0 */
#define GDT_LIMIT_HIGH     0x000f000000000000ULL /* limit bits 19:16 */
#define GDT_TYPE_DATA_RW   (0x2ULL << 40)        /* data, read/write */
#define GDT_TYPE_CODE_RX   (0xaULL << 40)        /* code, execute/read */
#define GDT_TYPE_TSS_AVAIL (0x9ULL << 40)        /* 64-bit TSS, available (sec 3.5 Table 3-2) */
#define GDT_S              (1ULL << 44)          /* code/data (not system) */
#define GDT_DPL0           (0ULL << 45)
#define GDT_P              (1ULL << 47)          /* present */
#define GDT_L              (1ULL << 53)          /* 64-bit code segment */
#define GDT_DB             (1ULL << 54)          /* 32-bit default size (data) */
#define GDT_G              (1ULL << 55)          /* 4 KiB granularity */

#define GDT_FLAT (GDT_LIMIT_LOW | GDT_LIMIT_HIGH | GDT_S | GDT_DPL0 | GDT_P | GDT_G)

/* 64-bit TSS, SDM Vol. 3A sec 8.7 Figure 8-11. We use it only for the
 * interrupt stack table: faults that may hit with a broken RSP get a
 * known-good stack. */
struct gdt_tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];   /* ist[0] is IST1 */
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

/* One TSS per CPU: LTR marks its descriptor busy, so CPUs cannot share. */
static struct gdt_tss gdt_tss[CONFIG_NR_CPUS];
/* Fault stacks, each above a guard page that paging.c maps not present
 * (PAGING_GUARD below): a handler that overflows faults instead of
 * silently overwriting the next CPU's stack. */
struct gdt_ist_stack {
	uint8_t guard[GDT_GUARD_SIZE];
	uint8_t stack[GDT_IST_STACK_SIZE];
};
_Static_assert(GDT_IST_STACK_SIZE % GDT_GUARD_SIZE == 0, "IST stacks keep guards page-aligned");
static struct gdt_ist_stack gdt_ist_stacks[CONFIG_NR_CPUS][3]
	__attribute__((aligned(GDT_GUARD_SIZE)));

PAGING_GUARD(gdt_ist_guards, gdt_ist_stacks, sizeof(struct gdt_ist_stack),
	     sizeof(gdt_ist_stacks) / sizeof(struct gdt_ist_stack));

static uint64_t gdt_table[GDT_ENTRIES] __attribute__((aligned(16))) = {
	[GDT_SEL_NULL / 8] = 0,
	/* L=1 requires D=0 (SDM sec 5.2.1). */
	[GDT_SEL_CODE64 / 8] = GDT_FLAT | GDT_TYPE_CODE_RX | GDT_L,
	[GDT_SEL_DATA / 8] = GDT_FLAT | GDT_TYPE_DATA_RW | GDT_DB,
	/* TSS descriptor filled in by gdt_init (its base is only known at run time). */
};

struct gdt_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* System-segment descriptor for the TSS, SDM Vol. 3A sec 8.2.3 Figure 8-4:
 * 16 bytes, base split over bits 16..39 and 56..63 of the low quadword and
 * the high quadword's low 32 bits. */
static void gdt_set_tss(unsigned cpu)
{
	struct gdt_tss *tss = &gdt_tss[cpu];
	uint64_t base = (uint64_t)(uintptr_t)tss;
	uint64_t limit = sizeof(*tss) - 1;
	unsigned slot = GDT_SEL_TSS_CPU(cpu) / 8;

	tss->ist[GDT_IST_DOUBLE_FAULT - 1] =
		(uint64_t)(uintptr_t)(gdt_ist_stacks[cpu][0].stack + GDT_IST_STACK_SIZE);
	tss->ist[GDT_IST_NMI - 1] =
		(uint64_t)(uintptr_t)(gdt_ist_stacks[cpu][1].stack + GDT_IST_STACK_SIZE);
	tss->ist[GDT_IST_MACHINE_CHECK - 1] =
		(uint64_t)(uintptr_t)(gdt_ist_stacks[cpu][2].stack + GDT_IST_STACK_SIZE);
	tss->iomap_base = sizeof(*tss); /* no I/O permission bitmap */

	gdt_table[slot] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
			  GDT_TYPE_TSS_AVAIL | GDT_P | (((base >> 24) & 0xff) << 56);
	gdt_table[slot + 1] = base >> 32;
}

/* Loads the table, then reloads CS with a far return and every data
 * segment register, so nothing refers to the firmware's (or the SMP
 * trampoline's) GDT any more; then this CPU's TSS. */
static void gdt_load(unsigned cpu)
{
	struct gdt_pointer ptr = {
		.limit = sizeof(gdt_table) - 1,
		.base = (uint64_t)(uintptr_t)gdt_table,
	};

	__asm__ volatile(
		"lgdt %[ptr]\n\t"
		"pushq %[code]\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movw %[data], %%ax\n\t"
		"movw %%ax, %%ds\n\t"
		"movw %%ax, %%es\n\t"
		"movw %%ax, %%ss\n\t"
		"movw %%ax, %%fs\n\t"
		"movw %%ax, %%gs\n\t"
		"ltr %w[tss]\n\t"
		:
		: [ptr] "m"(ptr), [code] "i"(GDT_SEL_CODE64),
		  [data] "i"(GDT_SEL_DATA), [tss] "r"((uint16_t)GDT_SEL_TSS_CPU(cpu))
		: "rax", "memory");
}

/* The boot CPU, from start.S: every CPU's TSS descriptor goes in now, so
 * the APs only load. */
void gdt_init(void)
{
	for (unsigned cpu = 0; cpu < CONFIG_NR_CPUS; cpu++)
		gdt_set_tss(cpu);
	gdt_load(0);
}

void gdt_init_ap(unsigned cpu)
{
	gdt_load(cpu);
}
