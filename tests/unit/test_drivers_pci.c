/* test_drivers_pci.c: host unit test of pci_bar_holds() (drivers/pci.h), the check that an MSI-X table or a virtio structure a device names lies inside its BAR. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "drivers/pci.h"
#include "drivers/pci_regs.h"

#include "check.h"

/* What pci_msix_enable() asks: the whole table of `entries` entries
 * (Message Control's Table Size + 1) at `off` (the Table Offset/BIR
 * register without its BIR bits), PCIe Base sec 7.7.2. */
static bool table_fits(const struct pci_dev *d, unsigned bir, uint32_t off, unsigned entries)
{
	return pci_bar_holds(d, bir, off, (uint64_t)entries * PCI_MSIX_ENTRY_SIZE);
}

int main(void)
{
	struct pci_dev d;

	memset(&d, 0, sizeof(d));
	d.bar[0] = 0xfebf0000;          /* memory, 4 KiB; BAR 2 I/O; BAR 4 memory, 16 KiB */
	d.bar_size[0] = 0x1000;
	d.bar[2] = 0xc000;
	d.bar_size[2] = 0x20;
	d.bar_is_io[2] = true;
	d.bar[4] = 0xfe000000;
	d.bar_size[4] = 0x4000;

	/* An MSI-X table of 3 entries at 0 (48 bytes), one of 256 filling 4 KiB. */
	CHECK(table_fits(&d, 0, 0, 3));
	CHECK(table_fits(&d, 0, 0, 256));
	CHECK(table_fits(&d, 0, 0x1000 - 48, 3));              /* ends at the BAR's end */
	/* Past the end: by one entry, by its offset, by a huge Table Size. */
	CHECK(!table_fits(&d, 0, 0x1000 - 32, 3));
	CHECK(!table_fits(&d, 0, 0x1000, 1));
	CHECK(!table_fits(&d, 0, 0xfffffff8u, 1));
	CHECK(!table_fits(&d, 0, 0, PCI_MSIX_CTRL_SIZE + 1));   /* 2048 entries = 32 KiB */
	/* Not a memory BAR: I/O, empty, or no such BAR. */
	CHECK(!table_fits(&d, 2, 0, 1));
	CHECK(!table_fits(&d, 1, 0, 1));
	CHECK(!table_fits(&d, 6, 0, 1));
	CHECK(!table_fits(&d, 7, 0, 1));
	/* A 64-bit offset and length that would wrap around. */
	CHECK(pci_bar_holds(&d, 4, 0x3000, 0x1000));
	CHECK(!pci_bar_holds(&d, 4, 0x3000, 0x1001));
	CHECK(!pci_bar_holds(&d, 4, 0x10, UINT64_MAX));
	CHECK(!pci_bar_holds(&d, 4, UINT64_MAX, 2));

	printf("pci: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
