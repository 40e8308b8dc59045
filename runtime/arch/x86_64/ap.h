/* ap.h: starting application processors (x86_64), per ap.c: the trampoline page below 1 MiB, INIT-SIPI-SIPI, each AP's CPU set-up. */
#ifndef UNICYCLE_ARCH_AP_H
#define UNICYCLE_ARCH_AP_H

#include "kernel/kernel.h"

/* Which CPUs start, their per-CPU areas and stacks are kernel/smp.c's;
 * these only know how to bring one x86 CPU from reset to C. */

/* Before mem_setup: takes the trampoline's page (below 1 MiB) out of the
 * boot info's RAM. */
void ap_reserve_low(void);
/* Copies the trampoline into that page and makes it executable. 0, or
 * -ENOMEM (logged) when ap_reserve_low found no free page. */
int ap_prepare(void);
/* Starts the CPU with APIC id c->apic_id on the stack ending at
 * c->stack_hi. It loads the GDT, TSS and IDT, enables SIMD state, points GS
 * at `c`, enables its local APIC and calls smp_ap_main(c). Returns 0 once
 * c->online is set; -ENOTSUP when this CPU cannot be started (skip it),
 * -ETIMEDOUT when it did not come up (start no more). Both are logged. */
int ap_start(struct smp_cpu *c);

#endif
