/* smp.c: CPUs: per-CPU areas behind GS base, application processors started with INIT-SIPI-SIPI onto their own event loops. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "kernel/kernel.h"
#include "arch/x86_64/cpu.h"
#include "kernel/acpi.h"
#include <unicycle/atomic.h>
#include <unicycle/cpu.h>
#include "arch/x86_64/apic.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/memlayout.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/trampoline.h"

/*
 * Every CPU's GS base points at its struct smp_cpu (the first field points
 * at itself), so smp_cpu_id() is one load. CPU 0 is the boot CPU; the APs
 * get 1.. in the order they come up (the MADT's order, skipping disabled
 * entries, which acpi.c leaves out).
 */
static struct smp_cpu smp_cpus[CONFIG_NR_CPUS] __attribute__((aligned(64)));
static unsigned smp_ncpus = 1;

extern char start_stack_bottom[], start_stack_top[]; /* start.S */

void smp_init_bsp(void)
{
	struct smp_cpu *c = &smp_cpus[0];

	c->self = c;
	c->id = 0;
	c->stack_lo = (uint64_t)(uintptr_t)start_stack_bottom;
	c->stack_hi = (uint64_t)(uintptr_t)start_stack_top;
	c->online = 1;
	write_gs_base((uint64_t)(uintptr_t)c);
}

unsigned smp_cpu_count(void)
{
	return uc_atomic_load(&smp_ncpus);
}

struct smp_cpu *smp_cpu(unsigned id)
{
	return id < smp_cpu_count() ? &smp_cpus[id] : NULL;
}

#if defined(CONFIG_SMP) && CONFIG_NR_CPUS > 1

#define SMP_INIT_DELAY_US    10000       /* SDM Vol. 3A sec 9.4.4.1: INIT, 10 ms, */
#define SMP_SIPI_DELAY_US    200         /* SIPI, 200 us, SIPI */
#define SMP_START_TIMEOUT_US 1000000     /* TCG may take a while to run a new vCPU */
#define SMP_STACK_SIZE       (CONFIG_STACK_SIZE_KIB * 1024)
#define SMP_CR4_PCIDE        (1u << 17)  /* may only be set in IA-32e mode (sec 4.10.1) */
#define SMP_CR4_CET          (1u << 23)  /* needs CR0.WP first */
#define SMP_EFER_LMA         (1u << 10)  /* read-only status */

/* AP stacks live in the image's .bss, so paging.c maps their guard pages
 * not-present the way it does the boot stack's (smp_is_stack_guard). */
struct smp_stack {
	uint8_t guard[PAGE_SIZE];
	uint8_t stack[SMP_STACK_SIZE];
} __attribute__((aligned(PAGE_SIZE)));
static struct smp_stack smp_stacks[CONFIG_NR_CPUS - 1];
_Static_assert(sizeof(smp_stacks) <= 8 * 1024 * 1024,
	       "AP stacks above 8 MiB: lower NR_CPUS or STACK_SIZE_KIB");

/* The block at ap_trampoline_data (trampoline.h gives the offsets). */
struct smp_trampoline_data {
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
_Static_assert(offsetof(struct smp_trampoline_data, far32_off) == TRAMP_FAR32, "layout");
_Static_assert(offsetof(struct smp_trampoline_data, far64_off) == TRAMP_FAR64, "layout");
_Static_assert(offsetof(struct smp_trampoline_data, cr0) == TRAMP_CR0, "layout");
_Static_assert(offsetof(struct smp_trampoline_data, efer) == TRAMP_EFER, "layout");
_Static_assert(offsetof(struct smp_trampoline_data, rsp) == TRAMP_RSP, "layout");
_Static_assert(offsetof(struct smp_trampoline_data, entry) == TRAMP_ENTRY, "layout");
_Static_assert(sizeof(struct smp_trampoline_data) == TRAMP_DATA_SIZE, "layout");

extern char ap_trampoline[], ap_trampoline_pm32[], ap_trampoline_lm64[];
extern char ap_trampoline_gdt[], ap_trampoline_gdt_end[];
extern char ap_trampoline_data[], ap_trampoline_end[];

static uint64_t smp_tramp_page; /* 0: none found */

bool smp_is_stack_guard(uint64_t a)
{
	uint64_t base = (uint64_t)(uintptr_t)smp_stacks;

	return a >= base && a < base + sizeof(smp_stacks) &&
	       (a - base) % sizeof(struct smp_stack) == 0;
}

void smp_reserve_low(void)
{
	smp_tramp_page = bootinfo_take_low_page(&bootinfo, MEMLAYOUT_LOW_LIMIT);
}

static uint64_t smp_tramp_addr(const char *sym)
{
	return smp_tramp_page + (uint64_t)(sym - ap_trampoline);
}

/* From the trampoline, on the AP's own stack: our GDT and TSS, the IDT,
 * GS base, the local APIC, then this CPU's event loop for good. */
__attribute__((noreturn, used)) static void smp_ap_entry(struct smp_cpu *c)
{
	gdt_init_ap(c->id);
	idt_load();
	cpu_enable_simd();
	write_gs_base((uint64_t)(uintptr_t)c);
	lapic_enable_cpu();
	uc_atomic_store(&c->online, 1);
	loop_run();
}

/* The copy below 1 MiB, made executable, with every field but the
 * per-AP ones (stack, argument) filled in. */
static struct smp_trampoline_data *smp_tramp_setup(void)
{
	struct smp_trampoline_data *d;
	uint64_t cr3 = read_cr3();

	kassert(ap_trampoline_end - ap_trampoline <= PAGE_SIZE);
	kassert(cr3 < (1ULL << 32)); /* loaded from 32-bit code */
	memcpy((void *)(uintptr_t)smp_tramp_page, ap_trampoline,
	       (size_t)(ap_trampoline_end - ap_trampoline));
	paging_allow_exec_low(smp_tramp_page);
	d = (struct smp_trampoline_data *)(uintptr_t)smp_tramp_addr(ap_trampoline_data);
	d->gdt_limit = (uint16_t)(ap_trampoline_gdt_end - ap_trampoline_gdt - 1);
	d->gdt_base = (uint32_t)smp_tramp_addr(ap_trampoline_gdt);
	d->far32_off = (uint32_t)smp_tramp_addr(ap_trampoline_pm32);
	d->far32_sel = TRAMP_SEL_CODE32;
	d->far64_off = (uint32_t)smp_tramp_addr(ap_trampoline_lm64);
	d->far64_sel = TRAMP_SEL_CODE64;
	d->cr0 = (uint32_t)read_cr0();
	d->cr4 = (uint32_t)read_cr4() & ~(SMP_CR4_PCIDE | SMP_CR4_CET);
	d->cr3 = (uint32_t)cr3;
	d->efer = (uint32_t)rdmsr(MSR_EFER) & ~SMP_EFER_LMA;
	d->entry = (uint64_t)(uintptr_t)smp_ap_entry;
	return d;
}

/* SDM Vol. 3A sec 9.4.4.1 (typical BSP initialization sequence) and sec
 * 11.6.1: INIT (level assert), 10 ms, STARTUP, 200 us, STARTUP; the vector
 * of a STARTUP IPI is the page number of the trampoline. */
static int smp_start_ap(struct smp_trampoline_data *d, unsigned id, uint32_t apic_id)
{
	struct smp_cpu *c = &smp_cpus[id];
	struct smp_stack *s = &smp_stacks[id - 1];
	uint32_t vector = (uint32_t)(smp_tramp_page >> PAGE_SHIFT);
	uint64_t start;

	c->self = c;
	c->id = id;
	c->apic_id = apic_id;
	c->stack_lo = (uint64_t)(uintptr_t)s->stack;
	c->stack_hi = c->stack_lo + SMP_STACK_SIZE;
	c->online = 0;
	d->rsp = c->stack_hi;
	d->arg = (uint64_t)(uintptr_t)c;
	/* The stores above before the IPI (x2APIC ICR writes are not
	 * serializing, sec 11.12.3). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	lapic_send_ipi(apic_id, LAPIC_ICR_INIT | LAPIC_ICR_LEVEL | LAPIC_ICR_ASSERT);
	time_delay_us(SMP_INIT_DELAY_US);
	lapic_send_ipi(apic_id, LAPIC_ICR_STARTUP | vector);
	time_delay_us(SMP_SIPI_DELAY_US);
	if (!uc_atomic_load(&c->online))
		lapic_send_ipi(apic_id, LAPIC_ICR_STARTUP | vector);
	start = time_ns();
	while (!uc_atomic_load(&c->online)) {
		if (time_ns() - start > SMP_START_TIMEOUT_US * 1000ULL) {
			console_printf("smp: CPU with APIC id %u did not come up in %u ms; "
				       "not starting more\n", apic_id, SMP_START_TIMEOUT_US / 1000);
			return -ETIMEDOUT;
		}
		cpu_relax();
	}
	return 0;
}

void smp_start(void)
{
	struct smp_trampoline_data *d;
	uint32_t self = lapic_id();

	smp_cpus[0].apic_id = self;
	if (acpi_info.ncpus > 1 && !smp_tramp_page)
		console_printf("smp: no free 4 KiB page of RAM below 1 MiB for the AP "
			       "trampoline; running on one CPU\n");
	if (acpi_info.ncpus > 1 && smp_tramp_page) {
		d = smp_tramp_setup();
		for (unsigned i = 0; i < acpi_info.ncpus && smp_ncpus < CONFIG_NR_CPUS; i++) {
			uint32_t apic_id = acpi_info.cpus[i].apic_id;

			if (apic_id == self)
				continue;
			if (!lapic_is_x2apic() && apic_id > 0xfe) {
				console_printf("smp: APIC id %u needs x2APIC; CPU skipped\n", apic_id);
				continue;
			}
			if (smp_start_ap(d, smp_ncpus, apic_id) < 0)
				break;
			uc_atomic_store(&smp_ncpus, smp_ncpus + 1);
		}
	}
	console_printf("unicycle: %u CPU%s online", smp_ncpus, smp_ncpus == 1 ? "" : "s");
	if (acpi_info.ncpus > CONFIG_NR_CPUS)
		console_printf(" (%u in the MADT, CONFIG_NR_CPUS %d)", acpi_info.ncpus,
			       CONFIG_NR_CPUS);
	console_printf("\n");
}

void smp_wake(unsigned cpu)
{
#ifndef CONFIG_POLL
	struct smp_cpu *c = smp_cpu(cpu);

	if (c && cpu != smp_cpu_id())
		irq_wake_cpu(c->apic_id);
#else
	(void)cpu; /* a polling loop notices by itself */
#endif
}

#else /* one CPU */

bool smp_is_stack_guard(uint64_t a)
{
	(void)a;
	return false;
}

void smp_reserve_low(void)
{
}

void smp_start(void)
{
#ifdef CONFIG_SMP
	console_printf("unicycle: 1 CPU online (CONFIG_NR_CPUS 1)\n");
#endif
}

void smp_wake(unsigned cpu)
{
	(void)cpu;
}

#endif

unsigned uc_cpu_id(void)
{
	return smp_cpu_id();
}

unsigned uc_cpu_count(void)
{
	return smp_cpu_count();
}

int uc_cpu_run(unsigned cpu, void (*fn)(void *arg), void *arg)
{
	if (cpu >= smp_cpu_count() || !fn)
		return -EINVAL;
	return loop_defer_on(cpu, fn, arg);
}
