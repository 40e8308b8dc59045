/* ioapic.h: the I/O APICs the MADT lists, per ioapic.c (register map in apic.h). */
#ifndef UNICYCLE_ARCH_IOAPIC_H
#define UNICYCLE_ARCH_IOAPIC_H

/* Maps every IOAPIC and masks all its pins: devices interrupt by MSI. */
void ioapic_init(void);

#endif
