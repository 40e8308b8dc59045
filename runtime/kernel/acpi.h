/* acpi.h: what the runtime takes from the firmware's ACPI tables (MADT, MCFG, HPET, FADT). */
#ifndef UNICYCLE_KERNEL_ACPI_H
#define UNICYCLE_KERNEL_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#define ACPI_MAX_CPUS     256
#define ACPI_MAX_IOAPICS  8
#define ACPI_MAX_OVERRIDES 16
#define ACPI_MAX_MCFG     8

struct acpi_cpu {
	uint32_t apic_id;      /* xAPIC or x2APIC id */
	uint32_t uid;          /* ACPI processor UID */
	bool x2apic_entry;     /* came from a type 9 (x2APIC) entry */
};

struct acpi_ioapic {
	uint8_t id;
	uint32_t addr;         /* MMIO base of its register window */
	uint32_t gsi_base;     /* first global system interrupt it serves */
};

/* Interrupt source override: ISA IRQ `source` is GSI `gsi` (5.2.12.5). */
struct acpi_override {
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;        /* MPS INTI flags: polarity bits 1:0, trigger bits 3:2 */
};
#define ACPI_INTI_POLARITY_MASK 0x3
#define ACPI_INTI_POLARITY_HIGH 0x1
#define ACPI_INTI_POLARITY_LOW  0x3
#define ACPI_INTI_TRIGGER_MASK  0xc
#define ACPI_INTI_TRIGGER_EDGE  0x4
#define ACPI_INTI_TRIGGER_LEVEL 0xc

struct acpi_mcfg_seg {
	uint64_t base;         /* ECAM base of bus 0 of the segment */
	uint16_t segment;
	uint8_t bus_start, bus_end;
};

struct acpi_info {
	uint8_t revision;              /* RSDP revision: 0 = ACPI 1.0 (RSDT only) */
	bool from_xsdt;
	unsigned tables;               /* tables that passed their checks */
	unsigned bad_tables;           /* tables reported and skipped */

	bool have_madt;
	uint64_t lapic_addr;           /* xAPIC MMIO base (after any override) */
	bool pcat_compat;              /* dual 8259s present: mask them */
	unsigned ncpus;
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	unsigned nioapics;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	unsigned noverrides;
	struct acpi_override overrides[ACPI_MAX_OVERRIDES];

	unsigned nmcfg;
	struct acpi_mcfg_seg mcfg[ACPI_MAX_MCFG];

	bool have_hpet;
	uint64_t hpet_addr;
	uint16_t hpet_min_tick;

	bool have_fadt;
	uint32_t pm_timer_port;        /* 0 when absent */
	bool pm_timer_32bit;
	uint16_t iapc_boot_arch;
	uint32_t fadt_flags;
	uint8_t sci_irq;
};

/*
 * Walks RSDP -> XSDT (or RSDT) -> tables at identity-mapped physical
 * addresses, checking signatures, lengths and checksums before reading a
 * field. A bad table is reported through console_printf (name + what is
 * wrong) and skipped. Returns 0, or a negative errno when the RSDP or the
 * root table itself is unusable (then `out` holds no tables).
 */
int acpi_parse(uint64_t rsdp, struct acpi_info *out);

/* acpi_parse(bootinfo.rsdp) into acpi_info, with a summary on the console. */
void acpi_init(void);
extern struct acpi_info acpi_info;

#endif
