/* gdt.h: the runtime's GDT layout, segment selectors and TSS (x86_64). */
#ifndef UNICYCLE_ARCH_GDT_H
#define UNICYCLE_ARCH_GDT_H

#include "arch/x86_64/memlayout.h"

/* Selectors = index * 8, table indicator 0 (GDT), RPL 0. Shared with start.S. */
#define GDT_SEL_NULL    0x00
#define GDT_SEL_CODE64  0x08
#define GDT_SEL_DATA    0x10
#define GDT_SEL_TSS     0x18 /* CPU 0's; a 64-bit TSS descriptor takes two slots */
#define GDT_SEL_TSS_CPU(cpu) (GDT_SEL_TSS + 16 * (cpu))

/* Interrupt stack table slots (SDM Vol. 3A sec 6.14.5); IST index 1..7. */
#define GDT_IST_DOUBLE_FAULT 1
#define GDT_IST_NMI          2
#define GDT_IST_MACHINE_CHECK 3
#define GDT_IST_STACK_SIZE   (16 * 1024)
#define GDT_GUARD_SIZE       PAGE_SIZE /* one unmapped page below each IST stack */

#ifndef __ASSEMBLER__
/* Loads the GDT and TSS, reloads every segment register: gdt_init on the
 * boot CPU (fills every CPU's TSS), gdt_init_ap on AP `cpu`. */
void gdt_init(void);
void gdt_init_ap(unsigned cpu);
#endif

#endif
