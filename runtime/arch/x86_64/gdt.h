/* gdt.h: the runtime's GDT layout and segment selectors (x86_64). */
#ifndef UNICYCLE_ARCH_GDT_H
#define UNICYCLE_ARCH_GDT_H

/* Selectors = index * 8, table indicator 0 (GDT), RPL 0. Shared with start.S. */
#define GDT_SEL_NULL    0x00
#define GDT_SEL_CODE64  0x08
#define GDT_SEL_DATA    0x10
#define GDT_ENTRIES     3

#ifndef __ASSEMBLER__
void gdt_init(void);
#endif

#endif
