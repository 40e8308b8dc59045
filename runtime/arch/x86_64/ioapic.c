/* ioapic.c: I/O APICs from the MADT: every pin masked (devices interrupt by MSI). */
#include <errno.h>

#include "kernel/kernel.h"
#include "kernel/acpi.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/ioapic.h"

#define IOAPIC_MMIO_SIZE 0x20

struct ioapic {
	volatile uint32_t *regs;
	uint32_t gsi_base;
	unsigned pins;
};

static struct ioapic ioapics[ACPI_MAX_IOAPICS];
static unsigned ioapic_count;

static uint32_t ioapic_read(struct ioapic *io, uint32_t reg)
{
	io->regs[IOAPIC_REGSEL / 4] = reg;
	return io->regs[IOAPIC_WIN / 4];
}

static void ioapic_write(struct ioapic *io, uint32_t reg, uint32_t v)
{
	io->regs[IOAPIC_REGSEL / 4] = reg;
	io->regs[IOAPIC_WIN / 4] = v;
}

void ioapic_init(void)
{
	for (unsigned i = 0; i < acpi_info.nioapics; i++) {
		struct ioapic *io = &ioapics[ioapic_count];

		io->regs = (volatile uint32_t *)mem_map_mmio(acpi_info.ioapics[i].addr,
							     IOAPIC_MMIO_SIZE);
		io->gsi_base = acpi_info.ioapics[i].gsi_base;
		io->pins = ((ioapic_read(io, IOAPIC_REG_VER) >> 16) & 0xff) + 1;
		for (unsigned p = 0; p < io->pins; p++) {
			ioapic_write(io, IOAPIC_REG_REDTBL + 2 * p, IOAPIC_RED_MASKED);
			ioapic_write(io, IOAPIC_REG_REDTBL + 2 * p + 1, 0);
		}
		ioapic_count++;
	}
}

/* 82093AA sec 3.2.4, I/O Redirection Table: destination in the high dword
 * (physical mode), delivery mode NMI in the low one, unmasked. */
int ioapic_route_nmi(uint32_t gsi, uint32_t apic_id, bool active_low)
{
	for (unsigned i = 0; i < ioapic_count; i++) {
		struct ioapic *io = &ioapics[i];
		unsigned pin = gsi - io->gsi_base;

		if (gsi < io->gsi_base || pin >= io->pins)
			continue;
		ioapic_write(io, IOAPIC_REG_REDTBL + 2 * pin + 1,
			     (uint32_t)((uint64_t)apic_id << IOAPIC_RED_DEST_SHIFT >> 32));
		ioapic_write(io, IOAPIC_REG_REDTBL + 2 * pin,
			     IOAPIC_RED_NMI | (active_low ? IOAPIC_RED_ACTIVE_LOW : 0));
		return 0;
	}
	return -ENOENT;
}
