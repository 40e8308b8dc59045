/* pci.h: what PCI drivers use, per pci.c: the device, ID tables with driver data, PCI_DRIVER, configuration space and MSI/MSI-X. */
#ifndef UNICYCLE_DRIVERS_PCI_H
#define UNICYCLE_DRIVERS_PCI_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A PCI driver is one file: a `struct pci_id` table (vendor, device and
 * whatever the driver wants to know about that device in `data`), maybe a
 * `struct pci_class_id` table (devices by class code), a probe function,
 * and PCI_DRIVER() to put them in the .pci_drivers table. At
 * the INIT_BUS init level pci.c enumerates every function, then binds each
 * to the first driver whose table lists it and whose probe returns 0.
 * Register offsets are in pci_regs.h.
 */

struct pci_dev {
	uint16_t segment;
	uint8_t bus, slot, func;
	uint16_t vendor, device;
	uint8_t class_code, subclass, prog_if, revision;
	uint8_t irq_line;
	uint64_t bar[6];      /* decoded base (64-bit BARs fill the lower index) */
	uint64_t bar_size[6];
	bool bar_is_io[6];
	void *driver_state;   /* set by the driver's probe */
};

/* One ID table entry; a table ends with { 0 } (vendor 0). */
struct pci_id {
	uint16_t vendor, device;
	const void *data;          /* the driver's own, handed back to probe in `matched` */
};

/* A class table entry: any function whose class, subclass and programming
 * interface are `class_match` (PCI_CLASS_MATCH), for devices a standard
 * interface defines whoever made them (NVMe, AHCI). A table ends with
 * { 0 }. Probe gets `id` as `matched` (vendor/device PCI_ANY_ID, the data). */
struct pci_class_id {
	uint32_t class_match;
	struct pci_id id;
};
#define PCI_ANY_ID 0xffff          /* no function has vendor 0xffff (PCI_VENDOR_NONE) */
#define PCI_CLASS_MATCH(class_code, subclass, prog_if) \
	((uint32_t)(class_code) << 16 | (uint32_t)(subclass) << 8 | (uint32_t)(prog_if))

struct pci_driver {
	const char *name;
	const struct pci_id *ids;
	const struct pci_class_id *classes; /* optional: tried after every `ids` entry */
	/* Returns 0 when the device is now driven, negative errno otherwise. */
	int (*probe)(struct pci_dev *dev, const struct pci_id *matched);
};

/* PCI_DRIVER(my_driver) = { .name = ..., .ids = ..., .probe = ... }; */
#define PCI_DRIVER(var)                                                   \
	static const struct pci_driver var;                               \
	static const struct pci_driver *const var##_entry                 \
		__attribute__((used, section(".pci_drivers"))) = &var;   \
	static const struct pci_driver var

/* Interrupts by message, to a vector from irq_alloc_vector() (irq.h),
 * delivered to the calling CPU; 0 or -ENOTSUP (no such capability) / -EINVAL.
 * pci_msix_enable() programs and unmasks table entry `index` and turns
 * MSI-X on for the function. */
int pci_msi_enable(struct pci_dev *d, int vector);
int pci_msix_enable(struct pci_dev *d, unsigned index, int vector);
/* Configuration space at `off` (aligned down to the width). Offsets 0x100-
 * 0xfff need ECAM: without it reads give all ones and writes are dropped. */
uint32_t pci_read32(const struct pci_dev *d, unsigned off);
uint16_t pci_read16(const struct pci_dev *d, unsigned off);
uint8_t pci_read8(const struct pci_dev *d, unsigned off);
void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v);
void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v);
void pci_write8(const struct pci_dev *d, unsigned off, uint8_t v);
/* Enables memory/I/O decoding and bus mastering. */
void pci_enable(struct pci_dev *d);
/* Offset of capability `id` (PCI 3.0 sec 6.7), 0 when absent; `start` 0 = first. */
unsigned pci_find_cap(const struct pci_dev *d, uint8_t id, unsigned start);

/* Does memory BAR `bar` hold [off, off + len)? What a device's config space
 * says lies in a BAR (an MSI-X table, a virtio structure) is checked with
 * this before it is mapped. Pure: host unit-tested. */
static inline bool pci_bar_holds(const struct pci_dev *d, unsigned bar, uint64_t off,
				 uint64_t len)
{
	if (bar >= 6 || d->bar_is_io[bar] || d->bar[bar] == 0)
		return false;
	return off <= d->bar_size[bar] && len <= d->bar_size[bar] - off;
}

#endif
