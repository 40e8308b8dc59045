/* ap.c: application processors from reset to C: the trampoline copied below 1 MiB, INIT-SIPI-SIPI through the local APIC. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "kernel/kernel.h"
#include <unicycle/atomic.h>
#include "arch/x86_64/ap.h"
#include "arch/x86_64/ap_trampoline.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/memlayout.h"
#include "arch/x86_64/paging.h"

#if defined(CONFIG_SMP) && CONFIG_NR_CPUS > 1

#define AP_INIT_DELAY_US    10000       /* SDM Vol. 3A sec 9.4.4.1: INIT, 10 ms, */
#define AP_SIPI_DELAY_US    200         /* SIPI, 200 us, SIPI */
#define AP_START_TIMEOUT_US 1000000     /* TCG may take a while to run a new vCPU */
#define AP_XAPIC_MAX_ID     0xfe        /* 8-bit xAPIC ids; 0xff is broadcast */
#define AP_CR4_PCIDE        (1u << 17)  /* may only be set in IA-32e mode (sec 4.10.1) */
#define AP_CR4_CET          (1u << 23)  /* needs CR0.WP first */
#define AP_EFER_LMA         (1u << 10)  /* read-only status */

/* The block at ap_trampoline_data (ap_trampoline.h gives the offsets). */
struct ap_trampoline_data {
	uint16_t gdt_limit;
	uint32_t gdt_base;
	uint16_t pad0;
	uint32_t far32_off;
	uint16_t far32_sel;
	uint16_t pad1;
	uint32_t far64_off;
	uint16_t far64_sel;
	uint16_t pad2;
	uint32_t cr0, cr4, cr3, efer;
	uint64_t rsp, arg, entry;
} __attribute__((packed));
_Static_assert(offsetof(struct ap_trampoline_data, far32_off) == TRAMP_FAR32, "layout");
_Static_assert(offsetof(struct ap_trampoline_data, far64_off) == TRAMP_FAR64, "layout");
_Static_assert(offsetof(struct ap_trampoline_data, cr0) == TRAMP_CR0, "layout");
_Static_assert(offsetof(struct ap_trampoline_data, efer) == TRAMP_EFER, "layout");
_Static_assert(offsetof(struct ap_trampoline_data, rsp) == TRAMP_RSP, "layout");
_Static_assert(offsetof(struct ap_trampoline_data, entry) == TRAMP_ENTRY, "layout");
_Static_assert(sizeof(struct ap_trampoline_data) == TRAMP_DATA_SIZE, "layout");

extern char ap_trampoline[], ap_trampoline_pm32[], ap_trampoline_lm64[];
extern char ap_trampoline_gdt[], ap_trampoline_gdt_end[];
extern char ap_trampoline_data[], ap_trampoline_end[];

static uint64_t ap_tramp_page; /* 0: none found */
static struct ap_trampoline_data *ap_tramp_data;

void ap_reserve_low(void)
{
	ap_tramp_page = bootinfo_take_low_page(&bootinfo, MEMLAYOUT_LOW_LIMIT);
}

static uint64_t ap_tramp_addr(const char *sym)
{
	return ap_tramp_page + (uint64_t)(sym - ap_trampoline);
}

/* From the trampoline, on the AP's own stack: our GDT and TSS, the IDT,
 * SIMD state, GS base, the local APIC; then the kernel takes over. */
__attribute__((noreturn, used)) static void ap_entry(struct smp_cpu *c)
{
	gdt_init_ap(c->id);
	idt_load();
	cpu_enable_simd();
	write_gs_base((uint64_t)(uintptr_t)c);
	lapic_enable_cpu();
	smp_ap_main(c);
}

/* The copy below 1 MiB, made executable, with every field but the
 * per-AP ones (stack, argument) filled in. */
int ap_prepare(void)
{
	struct ap_trampoline_data *d;
	uint64_t cr3 = read_cr3();

	if (!ap_tramp_page) {
		console_printf("smp: no free 4 KiB page of RAM below 1 MiB for the AP "
			       "trampoline; running on one CPU\n");
		return -ENOMEM;
	}
	kassert(ap_trampoline_end - ap_trampoline <= PAGE_SIZE);
	kassert(cr3 < (1ULL << 32)); /* loaded from 32-bit code */
	memcpy((void *)(uintptr_t)ap_tramp_page, ap_trampoline,
	       (size_t)(ap_trampoline_end - ap_trampoline));
	paging_allow_exec_low(ap_tramp_page);
	d = (struct ap_trampoline_data *)(uintptr_t)ap_tramp_addr(ap_trampoline_data);
	d->gdt_limit = (uint16_t)(ap_trampoline_gdt_end - ap_trampoline_gdt - 1);
	d->gdt_base = (uint32_t)ap_tramp_addr(ap_trampoline_gdt);
	d->far32_off = (uint32_t)ap_tramp_addr(ap_trampoline_pm32);
	d->far32_sel = TRAMP_SEL_CODE32;
	d->far64_off = (uint32_t)ap_tramp_addr(ap_trampoline_lm64);
	d->far64_sel = TRAMP_SEL_CODE64;
	d->cr0 = (uint32_t)read_cr0();
	d->cr4 = (uint32_t)read_cr4() & ~(AP_CR4_PCIDE | AP_CR4_CET);
	d->cr3 = (uint32_t)cr3;
	d->efer = (uint32_t)rdmsr(MSR_EFER) & ~AP_EFER_LMA;
	d->entry = (uint64_t)(uintptr_t)ap_entry;
	ap_tramp_data = d;
	return 0;
}

/* SDM Vol. 3A sec 9.4.4.1 (typical BSP initialization sequence) and sec
 * 11.6.1: INIT (level assert), 10 ms, STARTUP, 200 us, STARTUP; the vector
 * of a STARTUP IPI is the page number of the trampoline. */
int ap_start(struct smp_cpu *c)
{
	struct ap_trampoline_data *d = ap_tramp_data;
	uint32_t apic_id = c->apic_id;
	uint32_t vector = (uint32_t)(ap_tramp_page >> PAGE_SHIFT);
	uint64_t start;

	kassert(d);
	if (!lapic_is_x2apic() && apic_id > AP_XAPIC_MAX_ID) {
		console_printf("smp: APIC id %u needs x2APIC; CPU skipped\n", apic_id);
		return -ENOTSUP;
	}
	d->rsp = c->stack_hi;
	d->arg = (uint64_t)(uintptr_t)c;
	/* The stores above before the IPI (x2APIC ICR writes are not
	 * serializing, sec 11.12.3). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	lapic_send_ipi(apic_id, LAPIC_ICR_INIT | LAPIC_ICR_LEVEL | LAPIC_ICR_ASSERT);
	time_delay_us(AP_INIT_DELAY_US);
	lapic_send_ipi(apic_id, LAPIC_ICR_STARTUP | vector);
	time_delay_us(AP_SIPI_DELAY_US);
	if (!uc_atomic_load(&c->online))
		lapic_send_ipi(apic_id, LAPIC_ICR_STARTUP | vector);
	start = time_ns();
	while (!uc_atomic_load(&c->online)) {
		if (time_ns() - start > AP_START_TIMEOUT_US * 1000ULL) {
			console_printf("smp: CPU with APIC id %u did not come up in %u ms; "
				       "not starting more\n", apic_id, AP_START_TIMEOUT_US / 1000);
			return -ETIMEDOUT;
		}
		cpu_relax();
	}
	return 0;
}

#endif
