/* irq.c: interrupt vectors: allocation for drivers, the tiny in-interrupt part (EOI + pending bit), and the loop-side dispatch. */
#include <errno.h>

#include "kernel/kernel.h"
#include "kernel/acpi.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/lapic.h"

/*
 * An interrupt does the minimum: EOI and one atomic OR into the pending
 * bitmap. The event loop swaps each bitmap word with zero and runs the
 * handlers of the set bits. An interrupt that arrives while its handler
 * runs (or before it ran) sets the bit again, so the handler runs once
 * more: interrupts coalesce but are never lost. Handlers therefore run in
 * loop context, with interrupts on, and may do anything.
 */
#define IRQ_WORDS (256 / 64)

struct irq_vector {
	loop_fn fn;
	void *arg;
};

static struct irq_vector irq_vectors[256];
static volatile uint64_t irq_pending[IRQ_WORDS];
static uint64_t irq_spurious;

/* Sec 8259A: ICW1-ICW4 move the PICs' vectors off the CPU exceptions
 * (0x08-0x0f on PC firmware), then OCW1 masks every line. A spurious IRQ 7
 * or 15 that still slips through lands in IRQ_VEC_PIC_BASE.. and is ignored. */
static void irq_mask_pic(void)
{
	outb(PIC1_CMD, PIC_ICW1_INIT_ICW4);
	outb(PIC2_CMD, PIC_ICW1_INIT_ICW4);
	outb(PIC1_DATA, IRQ_VEC_PIC_BASE);
	outb(PIC2_DATA, IRQ_VEC_PIC_BASE + 8);
	outb(PIC1_DATA, PIC_ICW3_MASTER);
	outb(PIC2_DATA, PIC_ICW3_SLAVE);
	outb(PIC1_DATA, PIC_ICW4_8086);
	outb(PIC2_DATA, PIC_ICW4_8086);
	outb(PIC1_DATA, PIC_MASK_ALL);
	outb(PIC2_DATA, PIC_MASK_ALL);
}

void irq_init(void)
{
	/* 5.2.12 MADT flags: PCAT_COMPAT says 8259s exist. Masking absent
	 * ones is harmless, so do it unless ACPI says otherwise. */
	if (acpi_info.pcat_compat || !acpi_info.have_madt)
		irq_mask_pic();
	lapic_init();
	ioapic_init();
}

int irq_alloc_vector(loop_fn fn, void *arg)
{
	if (!fn)
		return -EINVAL;
	for (int v = IRQ_VEC_DEV_FIRST; v <= IRQ_VEC_DEV_LAST; v++) {
		if (__atomic_load_n(&irq_vectors[v].fn, __ATOMIC_ACQUIRE))
			continue;
		loop_fn none = NULL;

		irq_vectors[v].arg = arg;
		if (__atomic_compare_exchange_n(&irq_vectors[v].fn, &none, fn, false,
						__ATOMIC_RELEASE, __ATOMIC_RELAXED))
			return v;
	}
	console_printf("irq: all %d device vectors in use\n",
		       IRQ_VEC_DEV_LAST - IRQ_VEC_DEV_FIRST + 1);
	return -ENOSPC;
}

void irq_free_vector(int v)
{
	if (v < IRQ_VEC_DEV_FIRST || v > IRQ_VEC_DEV_LAST)
		return;
	__atomic_store_n(&irq_vectors[v].fn, NULL, __ATOMIC_RELEASE);
}

/* Runtime-owned vectors (timer, IPI) get handlers the same way. */
void irq_set_handler(int v, loop_fn fn, void *arg)
{
	irq_vectors[v].arg = arg;
	__atomic_store_n(&irq_vectors[v].fn, fn, __ATOMIC_RELEASE);
}

/* Called from trap_handler with interrupts off, for vectors >= 32. */
__attribute__((target("general-regs-only")))
void irq_interrupt(unsigned v)
{
	if (v == IRQ_VEC_SPURIOUS || (v >= IRQ_VEC_PIC_BASE && v < IRQ_VEC_PIC_END)) {
		irq_spurious++; /* sec 11.9: no EOI for the spurious vector */
		return;
	}
	lapic_eoi();
	/* Other CPUs take only the wake-up IPI (loop_defer_on): waking
	 * from HLT was its whole job; the pending bits are CPU 0's. */
	if (smp_cpu_id() != 0)
		return;
	__atomic_fetch_or(&irq_pending[v / 64], 1ULL << (v % 64), __ATOMIC_RELEASE);
}

bool irq_any_pending(void)
{
	for (int w = 0; w < IRQ_WORDS; w++)
		if (irq_pending[w])
			return true;
	return false;
}

/* From the loop: runs the handler of every pending vector. Returns how many ran. */
unsigned irq_run_pending(void)
{
	unsigned ran = 0;

	for (int w = 0; w < IRQ_WORDS; w++) {
		uint64_t bits;

		if (!irq_pending[w])
			continue;
		bits = __atomic_exchange_n(&irq_pending[w], 0, __ATOMIC_ACQUIRE);
		while (bits) {
			int v = w * 64 + __builtin_ctzll(bits);
			loop_fn fn = __atomic_load_n(&irq_vectors[v].fn, __ATOMIC_ACQUIRE);

			bits &= bits - 1;
			if (fn) {
				fn(irq_vectors[v].arg);
				ran++;
			}
		}
	}
	return ran;
}

/* SDM sec 11.11.1/11.11.2: the MSI message that delivers `vector` to this
 * CPU, edge-triggered, fixed delivery, physical mode. */
void irq_msi_message(int vector, uint64_t *addr, uint32_t *data)
{
	*addr = MSI_ADDR_BASE | (uint64_t)(lapic_id() & 0xff) << MSI_ADDR_DEST_SHIFT;
	*data = MSI_DATA_EDGE_FIXED | (uint32_t)vector;
}

void irq_wake_cpu(uint32_t apic_id)
{
	lapic_send_ipi(apic_id, LAPIC_ICR_FIXED | IRQ_VEC_IPI);
}
