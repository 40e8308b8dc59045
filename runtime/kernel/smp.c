/* smp.c: CPUs: per-CPU areas behind GS base, the APs' stacks, which CPUs start (arch/x86_64/ap.c starts them) onto their own event loops. */
#include <errno.h>

#include "kernel/kernel.h"
#include "kernel/acpi.h"
#include <unicycle/atomic.h>
#include <unicycle/cpu.h>
#include "arch/x86_64/ap.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/memlayout.h"
#include "arch/x86_64/paging.h"

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

#define SMP_STACK_SIZE       (CONFIG_STACK_SIZE_KIB * 1024)

/* AP stacks live in the image's .bss, each above a guard page that
 * paging.c maps not present (PAGING_GUARD below). */
struct smp_stack {
	uint8_t guard[PAGE_SIZE];
	uint8_t stack[SMP_STACK_SIZE];
} __attribute__((aligned(PAGE_SIZE)));
static struct smp_stack smp_stacks[CONFIG_NR_CPUS - 1];
_Static_assert(sizeof(smp_stacks) <= 8 * 1024 * 1024,
	       "AP stacks above 8 MiB: lower NR_CPUS or STACK_SIZE_KIB");
_Static_assert(SMP_STACK_SIZE % PAGE_SIZE == 0, "AP stacks keep guards page-aligned");
PAGING_GUARD(smp_stack_guards, smp_stacks, sizeof(struct smp_stack), CONFIG_NR_CPUS - 1);

void smp_reserve_low(void)
{
	ap_reserve_low();
}

void smp_ap_main(struct smp_cpu *c)
{
	uc_atomic_store(&c->online, 1);
	loop_run();
}

void smp_start(void)
{
	uint32_t self = lapic_id();

	smp_cpus[0].apic_id = self;
	if (acpi_info.ncpus > 1 && ap_prepare() == 0) {
		for (unsigned i = 0; i < acpi_info.ncpus && smp_ncpus < CONFIG_NR_CPUS; i++) {
			struct smp_cpu *c = &smp_cpus[smp_ncpus];
			struct smp_stack *s = &smp_stacks[smp_ncpus - 1];
			int rc;

			if (acpi_info.cpus[i].apic_id == self)
				continue;
			c->self = c;
			c->id = smp_ncpus;
			c->apic_id = acpi_info.cpus[i].apic_id;
			c->stack_lo = (uint64_t)(uintptr_t)s->stack;
			c->stack_hi = c->stack_lo + SMP_STACK_SIZE;
			c->online = 0;
			rc = ap_start(c);
			if (rc == -ETIMEDOUT)
				break;
			if (rc < 0)
				continue;
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
