/* ioapic.h: the I/O APICs the MADT lists, per ioapic.c (register map in apic.h). */
#ifndef UNICYCLE_ARCH_IOAPIC_H
#define UNICYCLE_ARCH_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

/* Maps every IOAPIC and masks all its pins: devices interrupt by MSI. */
void ioapic_init(void);
/* Global system interrupt `gsi` delivers an NMI to the CPU with APIC id
 * `apic_id` (edge, `active_low` polarity); 0, or -ENOENT when no IOAPIC has it. */
int ioapic_route_nmi(uint32_t gsi, uint32_t apic_id, bool active_low);

#endif
