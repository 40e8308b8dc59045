/* pci.c: PCI configuration access (ECAM, else port I/O), enumeration across bridges, BAR decoding and the .pci_drivers table. */
#include <errno.h>
#include <string.h>
#include <unicycle/atomic.h>

#include "kernel/kernel.h"
#include "kernel/acpi.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/paging.h"
#include "drivers/pci.h"
#include "drivers/pci_regs.h"

/*
 * Configuration space is reached through the ECAM windows the ACPI MCFG
 * lists (PCIe Base sec 7.2.2), one per segment and bus range, mapped
 * uncached for just the buses they cover. Segment 0 falls back to
 * configuration mechanism #1 (port I/O, PCI Local Bus 3.0 sec 3.2.2.3.2)
 * when there is no MCFG, when its entry fails the checks in
 * pci_ecam_check(), or for a bus outside its window; other segments exist
 * only through ECAM. Offsets 0x100-0xfff (the PCIe extended configuration
 * space) work only through ECAM: over port I/O, and for any address that
 * nothing reaches, reads return all ones and writes are dropped.
 *
 * Enumeration follows the hierarchy as firmware numbered it (nothing is
 * renumbered): from each segment's first bus, every slot, functions 1-7
 * when function 0's header type says multi-function (sec 6.2.1), and down
 * each PCI-to-PCI bridge to its secondary bus. All functions are found
 * first, then drivers are bound in the order found.
 */

#define PCI_MAX_DEVICES 128

#define PCI_FMT "pci %04x:%02x:%02x.%x"
#define PCI_ARGS(d) (d)->segment, (d)->bus, (d)->slot, (d)->func

/* Linker-made bounds of the driver table (arch/x86_64/linker.ld). */
extern const struct pci_driver *const __start_pci_drivers[];
extern const struct pci_driver *const __stop_pci_drivers[];

/* One usable MCFG allocation. */
struct pci_ecam {
	volatile uint8_t *bus0;  /* where bus 0 would be: the MCFG base */
	uint16_t segment;
	uint8_t bus_start, bus_end;
};

static struct pci_ecam pci_ecam[ACPI_MAX_MCFG];
static unsigned pci_necam;
/* Mechanism #1 is an address/data pair: no other CPU may come between. */
static uc_spinlock_t pci_port_lock = UC_SPINLOCK_INIT;

static struct pci_dev pci_devices[PCI_MAX_DEVICES];
static size_t pci_ndevices;
static bool pci_full_reported;

/* The ECAM address of (segment, bus, slot, func, off), or NULL when no
 * window covers the bus. */
static volatile uint8_t *pci_ecam_addr(uint16_t seg, uint8_t bus, uint8_t slot, uint8_t func,
				       unsigned off)
{
	for (unsigned i = 0; i < pci_necam; i++) {
		const struct pci_ecam *e = &pci_ecam[i];

		if (e->segment != seg || bus < e->bus_start || bus > e->bus_end)
			continue;
		return e->bus0 + ((uint64_t)bus << PCI_ECAM_BUS_SHIFT |
				  (uint64_t)slot << PCI_ECAM_DEV_SHIFT |
				  (uint64_t)func << PCI_ECAM_FN_SHIFT | off);
	}
	return NULL;
}

static uint32_t pci_port_address(uint8_t bus, uint8_t slot, uint8_t func, unsigned off)
{
	return PCI_ADDR_ENABLE | ((uint32_t)bus << PCI_ADDR_BUS_SHIFT) |
	       ((uint32_t)slot << PCI_ADDR_DEV_SHIFT) |
	       ((uint32_t)func << PCI_ADDR_FN_SHIFT) | (off & PCI_ADDR_REG_MASK);
}

/* Sec 3.2.2.3.2: write CONFIG_ADDRESS, then access CONFIG_DATA, whose low
 * address bits select the bytes. `off` is below 0x100 and width-aligned. */
static uint32_t pci_port_read(uint8_t bus, uint8_t slot, uint8_t func, unsigned off,
			      unsigned width)
{
	uint32_t v;

	uc_spin_lock(&pci_port_lock);
	outl(PCI_CONFIG_ADDRESS, pci_port_address(bus, slot, func, off));
	if (width == 1)
		v = inb(PCI_CONFIG_DATA + (off & 3));
	else if (width == 2)
		v = inw(PCI_CONFIG_DATA + (off & 2));
	else
		v = inl(PCI_CONFIG_DATA);
	uc_spin_unlock(&pci_port_lock);
	return v;
}

/* A `width`-byte (1, 2 or 4) read; `off` is aligned down to the width as
 * the hardware would. */
static uint32_t pci_cfg_read(uint16_t seg, uint8_t bus, uint8_t slot, uint8_t func,
			     unsigned off, unsigned width)
{
	volatile uint8_t *p;

	off &= (PCIE_CFG_SIZE - 1) & ~(width - 1);
	p = pci_ecam_addr(seg, bus, slot, func, off);
	if (p) {
		if (width == 1)
			return *p;
		if (width == 2)
			return *(volatile uint16_t *)p;
		return *(volatile uint32_t *)p;
	}
	if (seg != 0 || off >= PCI_CFG_SIZE)
		return 0xffffffffu >> (32 - 8 * width);
	return pci_port_read(bus, slot, func, off, width);
}

static void pci_cfg_write(uint16_t seg, uint8_t bus, uint8_t slot, uint8_t func,
			  unsigned off, unsigned width, uint32_t v)
{
	volatile uint8_t *p;

	off &= (PCIE_CFG_SIZE - 1) & ~(width - 1);
	p = pci_ecam_addr(seg, bus, slot, func, off);
	if (p) {
		if (width == 1)
			*p = (uint8_t)v;
		else if (width == 2)
			*(volatile uint16_t *)p = (uint16_t)v;
		else
			*(volatile uint32_t *)p = v;
		return;
	}
	if (seg != 0 || off >= PCI_CFG_SIZE)
		return;
	uc_spin_lock(&pci_port_lock);
	outl(PCI_CONFIG_ADDRESS, pci_port_address(bus, slot, func, off));
	if (width == 1)
		outb(PCI_CONFIG_DATA + (off & 3), (uint8_t)v);
	else if (width == 2)
		outw(PCI_CONFIG_DATA + (off & 2), (uint16_t)v);
	else
		outl(PCI_CONFIG_DATA, v);
	uc_spin_unlock(&pci_port_lock);
}

uint32_t pci_read32(const struct pci_dev *d, unsigned off)
{
	return pci_cfg_read(d->segment, d->bus, d->slot, d->func, off, 4);
}

uint16_t pci_read16(const struct pci_dev *d, unsigned off)
{
	return (uint16_t)pci_cfg_read(d->segment, d->bus, d->slot, d->func, off, 2);
}

uint8_t pci_read8(const struct pci_dev *d, unsigned off)
{
	return (uint8_t)pci_cfg_read(d->segment, d->bus, d->slot, d->func, off, 1);
}

void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v)
{
	pci_cfg_write(d->segment, d->bus, d->slot, d->func, off, 4, v);
}

void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v)
{
	pci_cfg_write(d->segment, d->bus, d->slot, d->func, off, 2, v);
}

void pci_write8(const struct pci_dev *d, unsigned off, uint8_t v)
{
	pci_cfg_write(d->segment, d->bus, d->slot, d->func, off, 1, v);
}

/*
 * What is wrong with MCFG allocation `m`, or NULL when it can be used.
 * The window is [base + bus_start MiB, base + (bus_end + 1) MiB).
 */
static const char *pci_ecam_check(const struct acpi_mcfg_seg *m)
{
	uint64_t lo = m->base + ((uint64_t)m->bus_start << PCI_ECAM_BUS_SHIFT);
	uint64_t hi = m->base + ((uint64_t)(m->bus_end + 1) << PCI_ECAM_BUS_SHIFT);

	if (m->base == 0)
		return "base address is 0";
	if (m->base & (PCI_ECAM_BUS_SIZE - 1))
		return "base is not 1 MiB aligned";
	if (m->bus_end < m->bus_start)
		return "end bus below start bus";
	if (hi < lo || hi > PAGING_MAX_PHYS)
		return "window beyond the reach of 4-level paging";
	for (size_t i = 0; i < bootinfo.nmem; i++)
		if (bootinfo.mem[i].base < hi && lo < bootinfo.mem[i].base + bootinfo.mem[i].size)
			return "window overlaps RAM";
	for (size_t i = 0; i < bootinfo.nreserved; i++)
		if (bootinfo.reserved[i].base < hi &&
		    lo < bootinfo.reserved[i].base + bootinfo.reserved[i].size)
			return "window overlaps reserved RAM";
	for (unsigned i = 0; i < pci_necam; i++)
		if (pci_ecam[i].segment == m->segment && m->bus_start <= pci_ecam[i].bus_end &&
		    pci_ecam[i].bus_start <= m->bus_end)
			return "bus range overlaps an earlier entry of the segment";
	return NULL;
}

/*
 * Segment 0 is reachable both ways: the window must show the same
 * vendor/device at its first bus's 00.0 as port I/O does, or it does not
 * decode what the MCFG claims (a wrong base, say).
 */
static const char *pci_ecam_crosscheck(const struct pci_ecam *e)
{
	uint32_t port, ecam;

	if (e->segment != 0)
		return NULL;
	ecam = *(volatile uint32_t *)pci_ecam_addr(0, e->bus_start, 0, 0, PCI_VENDOR_ID);
	port = pci_port_read(e->bus_start, 0, 0, PCI_VENDOR_ID, 4);
	if ((uint16_t)port != PCI_VENDOR_NONE && ecam != port)
		return "reads differ from port I/O";
	return NULL;
}

/* The usable MCFG allocations into pci_ecam[], each bad one reported. */
static void pci_ecam_init(void)
{
	for (unsigned i = 0; i < acpi_info.nmcfg; i++) {
		const struct acpi_mcfg_seg *m = &acpi_info.mcfg[i];
		uint64_t lo = m->base + ((uint64_t)m->bus_start << PCI_ECAM_BUS_SHIFT);
		size_t size = (size_t)(m->bus_end - m->bus_start + 1) << PCI_ECAM_BUS_SHIFT;
		const char *why = pci_ecam_check(m);
		struct pci_ecam *e = &pci_ecam[pci_necam];

		if (!why) {
			mem_map_mmio(lo, size);
			/* Identity mapped: bus 0's address stands in for the
			 * unmapped part below bus_start, never dereferenced. */
			e->bus0 = (volatile uint8_t *)(uintptr_t)m->base;
			e->segment = m->segment;
			e->bus_start = m->bus_start;
			e->bus_end = m->bus_end;
			pci_necam++;
			why = pci_ecam_crosscheck(e);
			if (why)
				pci_necam--;
		}
		if (why)
			console_printf("unicycle: PCI: MCFG segment %u buses %02x-%02x at %#lx: %s, %s\n",
				       m->segment, m->bus_start, m->bus_end,
				       (unsigned long)m->base, why,
				       m->segment == 0 ? "using port I/O" : "segment skipped");
	}
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
	irq_msi_message(vector, &addr, &data);
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
	uint32_t table, table_off;
	unsigned bir, entries;
	volatile uint32_t *e;
	uint64_t addr;
	uint32_t data;

	if (!cap)
		return -ENOTSUP;
	ctrl = pci_read16(d, cap + PCI_MSIX_CTRL);
	entries = (ctrl & PCI_MSIX_CTRL_SIZE) + 1u;
	if (index >= entries)
		return -EINVAL;
	table = pci_read32(d, cap + PCI_MSIX_TABLE);
	bir = table & PCI_MSIX_BIR_MASK;
	table_off = table & ~PCI_MSIX_BIR_MASK;
	if (bir >= 6 || !d->bar_size[bir] || d->bar_is_io[bir]) {
		console_printf(PCI_FMT ": MSI-X table in BAR %u, which is not memory\n",
			       PCI_ARGS(d), bir);
		return -EINVAL;
	}
	/* The whole table, not just the entry used, must be where the device
	 * says: a table past the BAR's end would be some other device's. */
	if (!pci_bar_holds(d, bir, table_off, (uint64_t)entries * PCI_MSIX_ENTRY_SIZE)) {
		console_printf(PCI_FMT ": MSI-X table (%u entries at %#x) lies outside BAR %u "
			       "(%#lx bytes)\n", PCI_ARGS(d), entries, table_off, bir,
			       (unsigned long)d->bar_size[bir]);
		return -EINVAL;
	}
	e = (volatile uint32_t *)mem_map_mmio(d->bar[bir] + table_off +
						      (uint64_t)index * PCI_MSIX_ENTRY_SIZE,
					      PCI_MSIX_ENTRY_SIZE);
	irq_msi_message(vector, &addr, &data);
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
	uint32_t class_triple = PCI_CLASS_MATCH(d->class_code, d->subclass, d->prog_if);

	for (const struct pci_id *id = drv->ids; id && id->vendor; id++)
		if (id->vendor == d->vendor && id->device == d->device)
			return id;
	for (const struct pci_class_id *c = drv->classes; c && c->class_match; c++)
		if (c->class_match == class_triple)
			return &c->id;
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
		console_printf(PCI_FMT ": %s probe failed (%d)\n", PCI_ARGS(d), drv->name, rc);
	}
	return NULL;
}

static struct pci_dev *pci_add(uint16_t seg, uint8_t bus, uint8_t slot, uint8_t func)
{
	struct pci_dev *d;
	uint8_t layout;

	if (pci_ndevices == PCI_MAX_DEVICES) {
		if (!pci_full_reported)
			console_printf("pci %04x:%02x:%02x.%x: more than %d functions, "
				       "this and later ones ignored\n",
				       seg, bus, slot, func, PCI_MAX_DEVICES);
		pci_full_reported = true;
		return NULL;
	}
	d = &pci_devices[pci_ndevices++];
	memset(d, 0, sizeof(*d));
	d->segment = seg;
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
	return d;
}

/* Per segment: the buses already scanned, so a bridge that names a bus
 * twice (or its own) cannot make the descent loop. */
struct pci_scan {
	uint16_t segment;
	uint8_t seen[PCI_MAX_BUS / 8];
};

static void pci_scan_bus(struct pci_scan *s, uint8_t bus);

/* Sec 3.2 of the PCI-to-PCI Bridge Architecture: the secondary bus is the
 * one right behind the bridge, the subordinate bus the highest below it.
 * Firmware assigned both; a bridge it left unnumbered is not descended. */
static void pci_scan_bridge(struct pci_scan *s, uint8_t bus, uint8_t slot, uint8_t func)
{
	uint8_t sec = (uint8_t)pci_cfg_read(s->segment, bus, slot, func, PCI_SECONDARY_BUS, 1);
	uint8_t sub = (uint8_t)pci_cfg_read(s->segment, bus, slot, func, PCI_SUBORDINATE_BUS, 1);
	const char *why = NULL;

	if (sec == 0)
		why = "has no secondary bus number (firmware left it unconfigured)";
	else if (sec <= bus || sub < sec)
		why = "has secondary/subordinate buses out of order";
	else if (s->seen[sec / 8] & (1u << (sec % 8)))
		why = "names a bus already scanned";
	if (why) {
		console_printf("pci %04x:%02x:%02x.%x: bridge %s (%02x-%02x), not descended\n",
			       s->segment, bus, slot, func, why, sec, sub);
		return;
	}
	pci_scan_bus(s, sec);
}

static void pci_scan_func(struct pci_scan *s, uint8_t bus, uint8_t slot, uint8_t func)
{
	uint8_t layout = (uint8_t)pci_cfg_read(s->segment, bus, slot, func, PCI_HEADER_TYPE, 1) &
			 PCI_HEADER_LAYOUT;

	pci_add(s->segment, bus, slot, func);
	if (layout == PCI_HEADER_BRIDGE)
		pci_scan_bridge(s, bus, slot, func);
}

/* Function 0 must exist for a slot to be populated; functions 1-7 are
 * looked at only when function 0's header says multi-function (sec 6.2.1). */
static void pci_scan_bus(struct pci_scan *s, uint8_t bus)
{
	s->seen[bus / 8] |= (uint8_t)(1u << (bus % 8));
	for (uint8_t slot = 0; slot < PCI_MAX_SLOT; slot++) {
		uint8_t nfunc = 1;

		if ((uint16_t)pci_cfg_read(s->segment, bus, slot, 0, PCI_VENDOR_ID, 2) ==
		    PCI_VENDOR_NONE)
			continue;
		if (pci_cfg_read(s->segment, bus, slot, 0, PCI_HEADER_TYPE, 1) & PCI_HEADER_MULTIFUNC)
			nfunc = PCI_MAX_FUNC;
		for (uint8_t func = 0; func < nfunc; func++)
			if ((uint16_t)pci_cfg_read(s->segment, bus, slot, func, PCI_VENDOR_ID, 2) !=
			    PCI_VENDOR_NONE)
				pci_scan_func(s, bus, slot, func);
	}
}

/* The segment's root bus: the lowest first bus of its ECAM windows (0 for
 * segment 0 over port I/O). */
static uint8_t pci_root_bus(uint16_t seg)
{
	uint8_t root = 0xff;
	bool any = false;

	for (unsigned i = 0; i < pci_necam; i++)
		if (pci_ecam[i].segment == seg && (!any || pci_ecam[i].bus_start < root)) {
			root = pci_ecam[i].bus_start;
			any = true;
		}
	return any ? root : 0;
}

static bool pci_segment_listed(uint16_t seg, unsigned upto)
{
	for (unsigned i = 0; i < upto; i++)
		if (pci_ecam[i].segment == seg)
			return true;
	return false;
}

static void pci_scan_segment(uint16_t seg)
{
	struct pci_scan scan = { .segment = seg };

	pci_scan_bus(&scan, pci_root_bus(seg));
}

/* INIT_BUS: every segment from its root bus down through bridges, then
 * drivers bound in the order found; one console line per function and a
 * summary. */
static void pci_init(void)
{
	unsigned nsegs = 0;
	bool port_io;

	pci_ecam_init();
	port_io = !pci_segment_listed(0, pci_necam);
	if (port_io) {
		pci_scan_segment(0);
		nsegs++;
	}
	for (unsigned i = 0; i < pci_necam; i++) {
		if (pci_segment_listed(pci_ecam[i].segment, i))
			continue; /* scanned with its first window */
		pci_scan_segment(pci_ecam[i].segment);
		nsegs++;
	}

	for (size_t i = 0; i < pci_ndevices; i++) {
		struct pci_dev *d = &pci_devices[i];
		const char *driver = pci_bind(d);

		console_printf(PCI_FMT " %04x:%04x class %02x.%02x.%02x%s%s\n", PCI_ARGS(d),
			       d->vendor, d->device, d->class_code, d->subclass, d->prog_if,
			       driver ? " -> " : "", driver ? driver : "");
#ifdef CONFIG_DEBUG_VERBOSE
		for (int b = 0; b < 6; b++)
			if (d->bar_size[b])
				console_printf("    BAR%d %s %#lx size %#lx\n", b,
					       d->bar_is_io[b] ? "io " : "mem",
					       (unsigned long)d->bar[b], (unsigned long)d->bar_size[b]);
#endif
	}
	console_printf("unicycle: PCI: %zu device%s on %u segment%s via %s\n", pci_ndevices,
		       pci_ndevices == 1 ? "" : "s", nsegs, nsegs == 1 ? "" : "s",
		       !port_io ? "ECAM" : pci_necam ? "ECAM and port I/O" : "port I/O");
}
INIT_CALL(INIT_BUS, pci_init);
