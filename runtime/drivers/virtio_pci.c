/* virtio_pci.c: the virtio 1.x modern PCI transport (VIRTIO 1.1 sec 4.1) behind struct virtio_dev. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/io.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/memlayout.h"
#include "drivers/pci_regs.h"
#include "drivers/virtio_pci.h"
#include "kernel/kernel.h"

/* ---- MMIO accessors (little-endian device, little-endian CPU) ---- */

static inline uint8_t vp_read8(volatile uint8_t *base, unsigned off)
{
	return *(volatile uint8_t *)(base + off);
}

static inline uint16_t vp_read16(volatile uint8_t *base, unsigned off)
{
	return *(volatile uint16_t *)(base + off);
}

static inline uint32_t vp_read32(volatile uint8_t *base, unsigned off)
{
	return *(volatile uint32_t *)(base + off);
}

static inline void vp_write8(volatile uint8_t *base, unsigned off, uint8_t v)
{
	*(volatile uint8_t *)(base + off) = v;
}

static inline void vp_write16(volatile uint8_t *base, unsigned off, uint16_t v)
{
	*(volatile uint16_t *)(base + off) = v;
}

static inline void vp_write32(volatile uint8_t *base, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(base + off) = v;
}

static inline void vp_write64(volatile uint8_t *base, unsigned lo, unsigned hi,
			      uint64_t v)
{
	/* 4.1.3.1: 64-bit fields may be written as two 32-bit halves. */
	vp_write32(base, lo, (uint32_t)v);
	vp_write32(base, hi, (uint32_t)(v >> 32));
}

static const struct virtio_ops virtio_pci_ops;

/* Maps [offset, offset+len) of the BAR named by the capability at `cap`. */
static volatile uint8_t *virtio_pci_map_cap(struct pci_dev *pci, unsigned cap,
					    uint32_t *len_out, const char *who)
{
	uint8_t bar = pci_read8(pci, cap + VIRTIO_PCI_CAP_BAR);
	uint32_t off = pci_read32(pci, cap + VIRTIO_PCI_CAP_OFFSET);
	uint32_t len = pci_read32(pci, cap + VIRTIO_PCI_CAP_LENGTH);

	if (bar > 5 || pci->bar_is_io[bar] || pci->bar[bar] == 0) {
		console_printf("%s: capability at 0x%x names BAR %u, which is "
			       "not a memory BAR\n", who, cap, bar);
		return NULL;
	}
	if (!pci_bar_holds(pci, bar, off, len)) {
		console_printf("%s: capability at 0x%x (0x%x+0x%x) lies outside "
			       "BAR %u (0x%lx bytes)\n", who, cap, off, len, bar,
			       (unsigned long)pci->bar_size[bar]);
		return NULL;
	}
	if (len_out)
		*len_out = len;
	return (volatile uint8_t *)mem_map_mmio(pci->bar[bar] + off, len);
}

int virtio_pci_map(struct virtio_pci *vp, struct pci_dev *pci, const char *who)
{
	unsigned cap = 0, n;
	uint32_t len;

	memset(vp, 0, sizeof(*vp));
	vp->vd.ops = &virtio_pci_ops;
	snprintf(vp->vd.where, sizeof(vp->vd.where), "%02x:%02x.%x", pci->bus, pci->slot,
		 pci->func);
	vp->pci = pci;
	/* 4.1.4: walk every vendor capability; the first of each type that we
	 * can use wins (4.1.4.1: the driver SHOULD use the first one). Each
	 * pci_find_cap() call is bounded, but a list that loops back would
	 * hand out the same capabilities forever: no more steps than config
	 * space has room for capabilities. */
	for (n = 0; n < PCI_CAP_MAX &&
		    (cap = pci_find_cap(pci, VIRTIO_PCI_CAP_ID, cap)) != 0; n++) {
		uint8_t type = pci_read8(pci, cap + VIRTIO_PCI_CAP_CFG_TYPE);

		switch (type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			if (vp->common)
				break;
			vp->common = virtio_pci_map_cap(pci, cap, &len, who);
			if (vp->common && len < VIRTIO_PCI_COMMON_CFG_MIN) {
				console_printf("%s: common config is %u bytes, "
					       "need %u\n", who, len,
					       VIRTIO_PCI_COMMON_CFG_MIN);
				return -ENODEV;
			}
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			if (vp->notify_base)
				break;
			vp->notify_base = virtio_pci_map_cap(pci, cap, &vp->notify_len, who);
			vp->notify_mult = pci_read32(pci, cap + VIRTIO_PCI_NOTIFY_CAP_MULT);
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			if (!vp->isr)
				vp->isr = virtio_pci_map_cap(pci, cap, NULL, who);
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			if (!vp->device)
				vp->device = virtio_pci_map_cap(pci, cap,
								&vp->device_len, who);
			break;
		default:
			break;
		}
	}
	if (n == PCI_CAP_MAX && cap)
		console_printf("%s: capability list does not end (a loop?); stopped after %u\n",
			       who, n);
	if (!vp->common || !vp->notify_base || !vp->isr) {
		console_printf("%s: %02x:%02x.%x has no usable virtio 1.x "
			       "capabilities (legacy-only devices are not "
			       "supported)\n", who, pci->bus, pci->slot, pci->func);
		return -ENODEV;
	}
	return 0;
}

static struct virtio_pci *virtio_pci_of(struct virtio_dev *vd)
{
	return (struct virtio_pci *)vd; /* vd is the first member */
}

static uint8_t virtio_pci_get_status(struct virtio_dev *vd)
{
	return vp_read8(virtio_pci_of(vd)->common, VIRTIO_PCI_COMMON_STATUS);
}

static void virtio_pci_set_status(struct virtio_dev *vd, uint8_t status)
{
	vp_write8(virtio_pci_of(vd)->common, VIRTIO_PCI_COMMON_STATUS, status);
}

/* 4.1.4.3: 32 feature bits at a time through the select registers. */
static uint64_t virtio_pci_get_features(struct virtio_dev *vd)
{
	struct virtio_pci *vp = virtio_pci_of(vd);
	uint64_t offered;

	vp_write32(vp->common, VIRTIO_PCI_COMMON_DFSELECT, 0);
	offered = vp_read32(vp->common, VIRTIO_PCI_COMMON_DF);
	vp_write32(vp->common, VIRTIO_PCI_COMMON_DFSELECT, 1);
	offered |= (uint64_t)vp_read32(vp->common, VIRTIO_PCI_COMMON_DF) << 32;
	return offered;
}

static void virtio_pci_set_features(struct virtio_dev *vd, uint64_t features)
{
	struct virtio_pci *vp = virtio_pci_of(vd);

	vp_write32(vp->common, VIRTIO_PCI_COMMON_GFSELECT, 0);
	vp_write32(vp->common, VIRTIO_PCI_COMMON_GF, (uint32_t)features);
	vp_write32(vp->common, VIRTIO_PCI_COMMON_GFSELECT, 1);
	vp_write32(vp->common, VIRTIO_PCI_COMMON_GF, (uint32_t)(features >> 32));
}

static uint16_t virtio_pci_msix(struct virtio_dev *vd, uint16_t entry, int vector,
				const char *who)
{
	if (pci_msix_enable(virtio_pci_of(vd)->pci, entry, vector) == 0)
		return entry;
	console_printf("%s: no MSI-X, polling\n", who);
	irq_free_vector(vector);
	return VIRTIO_MSI_NO_VECTOR;
}

/* 4.1.5.1.3 Virtqueue Configuration. `msix_entry` is the MSI-X table
 * entry for its used-buffer notifications, VIRTIO_MSI_NO_VECTOR for none
 * (the queue then also asks the device not to interrupt). -EIO: the
 * device refused the MSI-X entry, or its notify offset lies outside the
 * notify region. */
static int virtio_pci_setup_queue(struct virtio_dev *vd, struct virtq *vq, uint16_t index,
				  uint16_t max_size, uint16_t msix_entry, const char *who)
{
	struct virtio_pci *vp = virtio_pci_of(vd);
	uint16_t size, noff;
	uint64_t notify_off;
	int rc;

	/* 4.1.5.1.3 Virtqueue Configuration, step 1: select the queue. */
	vp_write16(vp->common, VIRTIO_PCI_COMMON_Q_SELECT, index);
	/* step 2: read its size; 0 means the queue does not exist. */
	size = vp_read16(vp->common, VIRTIO_PCI_COMMON_Q_SIZE);
	if (size == 0) {
		console_printf("%s: queue %u does not exist\n", who, index);
		return -ENOENT;
	}
	/* 4.1.4.4: the queue's notify address is the notify region +
	 * queue_notify_off * notify_off_multiplier; 4.1.4.4.1: the device
	 * MUST make cap.length >= that offset + 2. Checked before anything is
	 * allocated: a device that breaks it gets no queue. */
	noff = vp_read16(vp->common, VIRTIO_PCI_COMMON_Q_NOFF);
	notify_off = (uint64_t)noff * vp->notify_mult;
	if (notify_off + sizeof(uint16_t) > vp->notify_len) {
		console_printf("%s: queue %u notify offset %#lx (%u * %u) + 2 lies outside "
			       "the %#x-byte notify region\n", who, index,
			       (unsigned long)notify_off, noff, vp->notify_mult, vp->notify_len);
		return -EIO;
	}
	/* step 3: allocate and zero the three parts. */
	rc = virtq_alloc(vq, vd, index, size, max_size, msix_entry == VIRTIO_MSI_NO_VECTOR, who);
	if (rc < 0)
		return rc;
	/* step 4: the MSI-X vector; 4.1.5.1.2: reading it back gives
	 * NO_VECTOR when the device could not take it. */
	vp_write16(vp->common, VIRTIO_PCI_COMMON_Q_SIZE, vq->size);
	vp_write16(vp->common, VIRTIO_PCI_COMMON_Q_MSIX, msix_entry);
	if (vp_read16(vp->common, VIRTIO_PCI_COMMON_Q_MSIX) != msix_entry) {
		console_printf("%s: queue %u refused MSI-X entry %u\n", who,
			       index, msix_entry);
		return -EIO;
	}
	/* Physical == virtual: RAM is identity mapped. */
	vp_write64(vp->common, VIRTIO_PCI_COMMON_Q_DESCLO, VIRTIO_PCI_COMMON_Q_DESCHI,
		   (uint64_t)(uintptr_t)vq->desc);
	vp_write64(vp->common, VIRTIO_PCI_COMMON_Q_AVAILLO, VIRTIO_PCI_COMMON_Q_AVAILHI,
		   (uint64_t)(uintptr_t)vq->avail);
	vp_write64(vp->common, VIRTIO_PCI_COMMON_Q_USEDLO, VIRTIO_PCI_COMMON_Q_USEDHI,
		   (uint64_t)(uintptr_t)vq->used);
	vq->notify = vp->notify_base + notify_off;
	/* step 5: enable the queue. */
	vp_write16(vp->common, VIRTIO_PCI_COMMON_Q_ENABLE, 1);
	return 0;
}

/* 4.1.5.2 Available Buffer Notifications: the queue's index, 16 bits, at
 * its notify address. */
static void virtio_pci_notify(struct virtq *vq)
{
	*(volatile uint16_t *)vq->notify = vq->index;
}

/* Device config reads, consistent across config_generation (2.4.1). */
static void virtio_pci_read_config(struct virtio_dev *vd, unsigned off, void *buf,
				   unsigned len)
{
	struct virtio_pci *vp = virtio_pci_of(vd);
	uint8_t *out = buf;
	uint8_t gen;
	unsigned i;

	/* 2.4.1 / 4.1.4.3.1: retry until config_generation is unchanged
	 * around the read, so multi-byte fields are consistent. */
	do {
		gen = vp_read8(vp->common, VIRTIO_PCI_COMMON_CFGGENERATION);
		for (i = 0; i < len; i++)
			out[i] = off + i < vp->device_len ?
				 vp_read8(vp->device, off + i) : 0;
	} while (gen != vp_read8(vp->common, VIRTIO_PCI_COMMON_CFGGENERATION));
}

static const struct virtio_ops virtio_pci_ops = {
	.get_status = virtio_pci_get_status,
	.set_status = virtio_pci_set_status,
	.get_features = virtio_pci_get_features,
	.set_features = virtio_pci_set_features,
	.read_config = virtio_pci_read_config,
	.setup_queue = virtio_pci_setup_queue,
	.notify = virtio_pci_notify,
	.irq = virtio_pci_msix,
};

int virtio_pci_start(struct virtio_pci *vp, struct pci_dev *pci, unsigned device_cfg_min,
		     uint64_t wanted, const char *who)
{
	int rc;

	pci_enable(pci);
	rc = virtio_pci_map(vp, pci, who);
	if (rc < 0)
		return rc;
	if (!vp->device || vp->device_len < device_cfg_min) {
		console_printf("%s: no device configuration region (%u bytes, need %u)\n", who,
			       vp->device ? vp->device_len : 0, device_cfg_min);
		return -ENODEV;
	}
	/* 3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, features. */
	rc = virtio_start(&vp->vd, wanted, who);
	if (rc < 0)
		return rc;
	/* No interrupts yet: configuration changes are polled. */
	vp_write16(vp->common, VIRTIO_PCI_COMMON_MSIX, VIRTIO_MSI_NO_VECTOR);
	return 0;
}

int virtio_pci_probe(struct pci_dev *pci, const struct pci_id *matched)
{
	const struct virtio_driver *drv = matched->data;
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	int rc;

	if (!vp) {
		console_printf("%s: out of memory\n", drv->name);
		return -ENOMEM;
	}
	rc = virtio_pci_start(vp, pci, drv->device_cfg_min, drv->features, drv->name);
	if (rc == 0)
		rc = drv->attach(&vp->vd);
	if (rc < 0) {
		/* Left allocated: the device may still point at its rings
		 * until the next reset. */
		console_printf("%s: %02x:%02x.%x not used (%d)\n", drv->name,
			       pci->bus, pci->slot, pci->func, rc);
		return rc;
	}
	pci->driver_state = vp->vd.driver_state;
	return 0;
}
