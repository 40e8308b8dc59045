/* pci.c: PCI enumeration over configuration mechanism #1, BAR decoding and the .pci_drivers table. */
#include <errno.h>
#include <string.h>

#include "kernel/kernel.h"
#include "arch/x86_64/io.h"
#include "drivers/pci_regs.h"

#define PCI_MAX_DEVICES 64

/* Linker-made bounds of the driver table (arch/x86_64/linker.ld). */
extern const struct pci_driver *const __start_pci_drivers[];
extern const struct pci_driver *const __stop_pci_drivers[];

static struct pci_dev pci_devices[PCI_MAX_DEVICES];
static size_t pci_ndevices;

static uint32_t pci_address(uint8_t bus, uint8_t slot, uint8_t func, unsigned off)
{
	return PCI_ADDR_ENABLE | ((uint32_t)bus << PCI_ADDR_BUS_SHIFT) |
	       ((uint32_t)slot << PCI_ADDR_DEV_SHIFT) |
	       ((uint32_t)func << PCI_ADDR_FN_SHIFT) | (off & PCI_ADDR_REG_MASK);
}

/* Sec 3.2.2.3.2: write CONFIG_ADDRESS, then access CONFIG_DATA; byte
 * enables follow from the low address bits of the data port access.
 * With interrupts off and one CPU the pair cannot be interleaved. */
static uint32_t pci_cfg_read32(uint8_t bus, uint8_t slot, uint8_t func, unsigned off)
{
	outl(PCI_CONFIG_ADDRESS, pci_address(bus, slot, func, off));
	return inl(PCI_CONFIG_DATA);
}

static uint16_t pci_cfg_read16(uint8_t bus, uint8_t slot, uint8_t func, unsigned off)
{
	outl(PCI_CONFIG_ADDRESS, pci_address(bus, slot, func, off));
	return inw(PCI_CONFIG_DATA + (off & 2));
}

static uint8_t pci_cfg_read8(uint8_t bus, uint8_t slot, uint8_t func, unsigned off)
{
	outl(PCI_CONFIG_ADDRESS, pci_address(bus, slot, func, off));
	return inb(PCI_CONFIG_DATA + (off & 3));
}

uint32_t pci_read32(const struct pci_dev *d, unsigned off)
{
	return pci_cfg_read32(d->bus, d->slot, d->func, off);
}

uint16_t pci_read16(const struct pci_dev *d, unsigned off)
{
	return pci_cfg_read16(d->bus, d->slot, d->func, off);
}

uint8_t pci_read8(const struct pci_dev *d, unsigned off)
{
	return pci_cfg_read8(d->bus, d->slot, d->func, off);
}

void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v)
{
	outl(PCI_CONFIG_ADDRESS, pci_address(d->bus, d->slot, d->func, off));
	outl(PCI_CONFIG_DATA, v);
}

void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v)
{
	outl(PCI_CONFIG_ADDRESS, pci_address(d->bus, d->slot, d->func, off));
	outw(PCI_CONFIG_DATA + (off & 2), v);
}

void pci_write8(const struct pci_dev *d, unsigned off, uint8_t v)
{
	outl(PCI_CONFIG_ADDRESS, pci_address(d->bus, d->slot, d->func, off));
	outb(PCI_CONFIG_DATA + (off & 3), v);
}

void pci_enable(struct pci_dev *d)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND);

	cmd |= PCI_COMMAND_MASTER;
	for (int i = 0; i < 6; i++) {
		if (!d->bar_size[i])
			continue;
		cmd |= d->bar_is_io[i] ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	}
	pci_write16(d, PCI_COMMAND, cmd);
}

unsigned pci_find_cap(const struct pci_dev *d, uint8_t id, unsigned start)
{
	unsigned off;

	if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	off = start ? pci_read8(d, start + PCI_CAP_NEXT) : pci_read8(d, PCI_CAP_PTR);
	for (int n = 0; n < PCI_CAP_MAX; n++) {
		off &= PCI_CAP_PTR_MASK;
		if (off == 0)
			return 0;
		if (pci_read8(d, off + PCI_CAP_ID) == id)
			return off;
		off = pci_read8(d, off + PCI_CAP_NEXT);
	}
	return 0; /* a looped list: treat as absent */
}

/*
 * Sec 6.8.1: one MSI message (MME = 0) to `vector` (from irq_alloc_vector)
 * on this CPU; INTx is disabled since the function now signals by MSI.
 */
int pci_msi_enable(struct pci_dev *d, int vector)
{
	unsigned cap = pci_find_cap(d, PCI_CAP_ID_MSI, 0);
	uint16_t ctrl;
	uint64_t addr;
	uint32_t data;

	if (!cap)
		return -ENOTSUP;
	irq_msi_message(vector, lapic_id(), &addr, &data);
	ctrl = pci_read16(d, cap + PCI_MSI_CTRL);
	pci_write32(d, cap + PCI_MSI_ADDR_LO, (uint32_t)addr);
	if (ctrl & PCI_MSI_CTRL_64BIT) {
		pci_write32(d, cap + PCI_MSI_ADDR_HI, (uint32_t)(addr >> 32));
		pci_write16(d, cap + PCI_MSI_DATA_64, (uint16_t)data);
	} else {
		pci_write16(d, cap + PCI_MSI_DATA_32, (uint16_t)data);
	}
	ctrl = (uint16_t)((ctrl & ~PCI_MSI_CTRL_MME) | PCI_MSI_CTRL_ENABLE);
	pci_write16(d, cap + PCI_MSI_CTRL, ctrl);
	pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) | PCI_COMMAND_INTX_DISABLE);
	return 0;
}

int pci_msix_count(struct pci_dev *d)
{
	unsigned cap = pci_find_cap(d, PCI_CAP_ID_MSIX, 0);

	if (!cap)
		return -ENOTSUP;
	return (pci_read16(d, cap + PCI_MSIX_CTRL) & PCI_MSIX_CTRL_SIZE) + 1;
}

/*
 * Sec 6.8.2: table entry `index` sends `vector` to this CPU. The table
 * lives in the BAR the capability names (BIR) at its offset; entries are
 * written while masked, then unmasked. The first call enables MSI-X for
 * the function (and clears its function mask); INTx is disabled.
 */
int pci_msix_enable(struct pci_dev *d, unsigned index, int vector)
{
	unsigned cap = pci_find_cap(d, PCI_CAP_ID_MSIX, 0);
	uint16_t ctrl;
	uint32_t table;
	unsigned bir;
	volatile uint32_t *e;
	uint64_t addr;
	uint32_t data;

	if (!cap)
		return -ENOTSUP;
	ctrl = pci_read16(d, cap + PCI_MSIX_CTRL);
	if (index > (ctrl & PCI_MSIX_CTRL_SIZE))
		return -EINVAL;
	table = pci_read32(d, cap + PCI_MSIX_TABLE);
	bir = table & PCI_MSIX_BIR_MASK;
	if (bir >= 6 || !d->bar_size[bir] || d->bar_is_io[bir]) {
		console_printf("pci %02x:%02x.%x: MSI-X table in BAR %u, which is not memory\n",
			       d->bus, d->slot, d->func, bir);
		return -EINVAL;
	}
	e = (volatile uint32_t *)mem_map_mmio(d->bar[bir] + (table & ~PCI_MSIX_BIR_MASK) +
						      (uint64_t)index * PCI_MSIX_ENTRY_SIZE,
					      PCI_MSIX_ENTRY_SIZE);
	irq_msi_message(vector, lapic_id(), &addr, &data);
	e[PCI_MSIX_ENTRY_CTRL / 4] = PCI_MSIX_ENTRY_MASKED;
	e[PCI_MSIX_ENTRY_ADDR_LO / 4] = (uint32_t)addr;
	e[PCI_MSIX_ENTRY_ADDR_HI / 4] = (uint32_t)(addr >> 32);
	e[PCI_MSIX_ENTRY_DATA / 4] = data;
	e[PCI_MSIX_ENTRY_CTRL / 4] = 0;
	if (!(ctrl & PCI_MSIX_CTRL_ENABLE) || (ctrl & PCI_MSIX_CTRL_MASK)) {
		pci_write16(d, cap + PCI_MSIX_CTRL,
			    (uint16_t)((ctrl | PCI_MSIX_CTRL_ENABLE) & ~PCI_MSIX_CTRL_MASK));
		pci_write16(d, PCI_COMMAND,
			    pci_read16(d, PCI_COMMAND) | PCI_COMMAND_INTX_DISABLE);
	}
	return 0;
}

/*
 * Sec 6.2.5.1: a BAR's size is found by writing all ones and reading back
 * which address bits stick. Decoding is turned off meanwhile so the
 * temporary address cannot claim cycles (Implementation Note in 6.2.5.1).
 */
static void pci_decode_bars(struct pci_dev *d, int nbars)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND);

	pci_write16(d, PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	for (int i = 0; i < nbars; i++) {
		unsigned off = PCI_BAR0 + 4 * i;
		uint32_t lo = pci_read32(d, off), mask_lo;

		pci_write32(d, off, 0xffffffffu);
		mask_lo = pci_read32(d, off);
		pci_write32(d, off, lo);
		if (lo & PCI_BAR_IO) {
			uint32_t m = mask_lo & PCI_BAR_IO_MASK;

			d->bar_is_io[i] = true;
			d->bar[i] = lo & PCI_BAR_IO_MASK;
			/* I/O BARs may implement only the low 16 bits. */
			d->bar_size[i] = m ? (uint32_t)(~(m | 0xffff0000u) + 1) & 0xffff : 0;
			continue;
		}
		if ((lo & PCI_BAR_MEM_TYPE) == PCI_BAR_MEM_TYPE_64 && i + 1 < nbars) {
			uint32_t hi = pci_read32(d, off + 4), mask_hi;
			uint64_t mask;

			pci_write32(d, off + 4, 0xffffffffu);
			mask_hi = pci_read32(d, off + 4);
			pci_write32(d, off + 4, hi);
			mask = ((uint64_t)mask_hi << 32) | (mask_lo & PCI_BAR_MEM_MASK);
			d->bar[i] = ((uint64_t)hi << 32) | (lo & PCI_BAR_MEM_MASK);
			d->bar_size[i] = mask ? ~mask + 1 : 0;
			i++; /* the upper half is not a BAR of its own */
			continue;
		}
		d->bar[i] = lo & PCI_BAR_MEM_MASK;
		d->bar_size[i] = (mask_lo & PCI_BAR_MEM_MASK)
					 ? (uint32_t)(~(mask_lo & PCI_BAR_MEM_MASK) + 1)
					 : 0;
	}
	pci_write16(d, PCI_COMMAND, cmd);
}

static const struct pci_id *pci_match(const struct pci_driver *drv, const struct pci_dev *d)
{
	for (const struct pci_id *id = drv->ids; id && id->vendor; id++)
		if (id->vendor == d->vendor && id->device == d->device)
			return id;
	return NULL;
}

/* First driver whose table lists the device and whose probe accepts it. */
static const char *pci_bind(struct pci_dev *d)
{
	for (const struct pci_driver *const *p = __start_pci_drivers; p < __stop_pci_drivers; p++) {
		const struct pci_driver *drv = *p;
		const struct pci_id *id = pci_match(drv, d);
		int rc;

		if (!id)
			continue;
		rc = drv->probe(d, id);
		if (rc == 0)
			return drv->name;
		console_printf("pci %02x:%02x.%x: %s probe failed (%d)\n",
			       d->bus, d->slot, d->func, drv->name, rc);
	}
	return NULL;
}

static void pci_add(uint8_t bus, uint8_t slot, uint8_t func)
{
	struct pci_dev *d;
	uint8_t layout;
	const char *driver;

	if (pci_ndevices == PCI_MAX_DEVICES) {
		console_printf("pci %02x:%02x.%x: more than %d functions, ignored\n",
			       bus, slot, func, PCI_MAX_DEVICES);
		return;
	}
	d = &pci_devices[pci_ndevices++];
	memset(d, 0, sizeof(*d));
	d->bus = bus;
	d->slot = slot;
	d->func = func;
	d->vendor = pci_read16(d, PCI_VENDOR_ID);
	d->device = pci_read16(d, PCI_DEVICE_ID);
	d->revision = pci_read8(d, PCI_REVISION_ID);
	d->prog_if = pci_read8(d, PCI_PROG_IF);
	d->subclass = pci_read8(d, PCI_SUBCLASS);
	d->class_code = pci_read8(d, PCI_CLASS);
	d->irq_line = pci_read8(d, PCI_INTERRUPT_LINE);
	layout = pci_read8(d, PCI_HEADER_TYPE) & PCI_HEADER_LAYOUT;
	if (layout == PCI_HEADER_NORMAL)
		pci_decode_bars(d, PCI_BARS_NORMAL);
	else if (layout == PCI_HEADER_BRIDGE)
		pci_decode_bars(d, PCI_BARS_BRIDGE);

	driver = pci_bind(d);
	console_printf("pci %02x:%02x.%x %04x:%04x class %02x.%02x.%02x%s%s\n",
		       bus, slot, func, d->vendor, d->device, d->class_code,
		       d->subclass, d->prog_if, driver ? " -> " : "", driver ? driver : "");
#ifdef CONFIG_DEBUG_VERBOSE
	for (int i = 0; i < 6; i++)
		if (d->bar_size[i])
			console_printf("    BAR%d %s %#lx size %#lx\n", i,
				       d->bar_is_io[i] ? "io " : "mem", (unsigned long)d->bar[i],
				       (unsigned long)d->bar_size[i]);
#endif
}

/*
 * Every bus number, every slot: simpler than following bridges and it
 * cannot miss a bus the firmware numbered oddly. Function 0 must exist
 * for a slot to be populated; functions 1-7 are looked at only when
 * function 0's header says multi-function (sec 6.2.1).
 */
void pci_init(void)
{
	for (unsigned bus = 0; bus < PCI_MAX_BUS; bus++) {
		for (unsigned slot = 0; slot < PCI_MAX_SLOT; slot++) {
			unsigned nfunc = 1;

			if (pci_cfg_read16(bus, slot, 0, PCI_VENDOR_ID) == PCI_VENDOR_NONE)
				continue;
			if (pci_cfg_read8(bus, slot, 0, PCI_HEADER_TYPE) & PCI_HEADER_MULTIFUNC)
				nfunc = PCI_MAX_FUNC;
			for (unsigned func = 0; func < nfunc; func++)
				if (pci_cfg_read16(bus, slot, func, PCI_VENDOR_ID) != PCI_VENDOR_NONE)
					pci_add(bus, slot, func);
		}
	}
}
