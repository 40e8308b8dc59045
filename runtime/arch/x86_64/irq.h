/* irq.h: interrupt vectors, the interrupt flag and the loop-side dispatch (x86_64), per irq.c. */
#ifndef UNICYCLE_ARCH_IRQ_H
#define UNICYCLE_ARCH_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/kernel.h"

/* Vectors the runtime owns (device vectors are allocated between these). */
#define IRQ_VEC_PIC_BASE   0x20 /* 8259s remapped here, all masked: only spurious */
#define IRQ_VEC_PIC_END    0x30
#define IRQ_VEC_DEV_FIRST  0x30
#define IRQ_VEC_DEV_LAST   0xef
#define IRQ_VEC_TIMER      0xf0
#define IRQ_VEC_IPI        0xf1
#define IRQ_VEC_ERROR      0xfe
#define IRQ_VEC_SPURIOUS   0xff

/*
 * Handlers run from the event loop, not in interrupt context: an
 * interrupt only sets a pending bit (irq.c).
 */
void irq_init(void);              /* 8259s masked, LAPIC, IOAPICs */
/* A free device vector whose interrupts run fn(arg) from the loop; the
 * vector (IRQ_VEC_DEV_FIRST..IRQ_VEC_DEV_LAST), or -ENOSPC. */
int irq_alloc_vector(loop_fn fn, void *arg);
void irq_free_vector(int vector);
void irq_set_handler(int vector, loop_fn fn, void *arg); /* runtime-owned vectors */
void irq_interrupt(unsigned vector);  /* from trap_handler */
bool irq_any_pending(void);
unsigned irq_run_pending(void);
/* The MSI address/data pair that delivers `vector` to this CPU. */
void irq_msi_message(int vector, uint64_t *addr, uint32_t *data);
/* An IPI on IRQ_VEC_IPI: ends the HLT of the CPU with APIC id `apic_id`. */
void irq_wake_cpu(uint32_t apic_id);

/* The interrupt flag, RFLAGS.IF (SDM Vol. 1 sec 3.4.3.3). */
static inline void irq_enable(void)
{
	__asm__ volatile("sti" ::: "memory");
}

static inline void irq_disable(void)
{
	__asm__ volatile("cli" ::: "memory");
}

/* Interrupts off; returns the previous state for irq_restore(). */
static inline uint64_t irq_save(void)
{
	uint64_t flags;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
	return flags;
}

static inline void irq_restore(uint64_t flags)
{
	__asm__ volatile("pushq %0; popfq" : : "r"(flags) : "memory", "cc");
}

/* Interrupts on, then halt until one arrives. "sti; hlt" back to back:
 * STI's interrupt shadow (SDM Vol. 2B, STI) holds an interrupt until HLT
 * has started, so one that became pending with interrupts off wakes the
 * HLT instead of being missed. */
static inline void irq_enable_and_halt(void)
{
	__asm__ volatile("sti; hlt" ::: "memory");
}

#endif
