/* idt.h: the Interrupt Descriptor Table and the CPU exception reporter, per idt.c. */
#ifndef UNICYCLE_ARCH_IDT_H
#define UNICYCLE_ARCH_IDT_H

/* CPU exceptions report registers + backtrace and exit 255. */
void idt_init(void);              /* boot CPU: builds and loads the table */
void idt_load(void);              /* an AP: loads the table idt_init built */

#endif
