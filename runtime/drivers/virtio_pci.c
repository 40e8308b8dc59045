/* virtio_pci.c: the virtio 1.x modern PCI transport and split virtqueues (VIRTIO 1.1 sec 4.1, 2.6). */
#include <errno.h>
#include <string.h>

#include "arch/x86_64/io.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/memlayout.h"
#include "drivers/pci_regs.h"
#include "drivers/virtio_pci.h"
#include "kernel/kernel.h"

#define VIRTIO_RESET_TIMEOUT_US 100000

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

void virtio_pci_set_status(struct virtio_pci *vp, uint8_t bits)
{
	uint8_t s = vp_read8(vp->common, VIRTIO_PCI_COMMON_STATUS);

	vp_write8(vp->common, VIRTIO_PCI_COMMON_STATUS, (uint8_t)(s | bits));
}

void virtio_pci_fail(struct virtio_pci *vp)
{
	virtio_pci_set_status(vp, VIRTIO_STATUS_FAILED);
}

/* 3.1.1 steps 1-3: reset and wait, ACKNOWLEDGE, DRIVER. 0 or -ETIMEDOUT. */
static int virtio_pci_reset(struct virtio_pci *vp, const char *who)
{
	unsigned waited = 0;

	/* 3.1.1 step 1: reset the device. 4.1.4.3.2: writing 0 resets, and
	 * the driver waits for device_status to read back 0. This also undoes
	 * whatever the firmware's driver left running. */
	vp_write8(vp->common, VIRTIO_PCI_COMMON_STATUS, 0);
	while (vp_read8(vp->common, VIRTIO_PCI_COMMON_STATUS) != 0) {
		if (waited >= VIRTIO_RESET_TIMEOUT_US) {
			console_printf("%s: device did not finish reset\n", who);
			return -ETIMEDOUT;
		}
		time_delay_us(10);
		waited += 10;
	}
	/* 3.1.1 step 2: ACKNOWLEDGE: we noticed the device. */
	virtio_pci_set_status(vp, VIRTIO_STATUS_ACKNOWLEDGE);
	/* 3.1.1 step 3: DRIVER: we know how to drive it. */
	virtio_pci_set_status(vp, VIRTIO_STATUS_DRIVER);
	return 0;
}

/* 3.1.1 steps 4-6: offers `wanted` & device features; `required` must be
 * among them. Sets FEATURES_OK and checks it stuck. 0, -ENOTSUP, -EIO. */
static int virtio_pci_negotiate(struct virtio_pci *vp, uint64_t wanted,
				uint64_t required, const char *who)
{
	uint64_t offered;

	/* 3.1.1 step 4: read the device's feature bits, write the subset we
	 * understand (4.1.4.3: 32 bits at a time through the select regs). */
	vp_write32(vp->common, VIRTIO_PCI_COMMON_DFSELECT, 0);
	offered = vp_read32(vp->common, VIRTIO_PCI_COMMON_DF);
	vp_write32(vp->common, VIRTIO_PCI_COMMON_DFSELECT, 1);
	offered |= (uint64_t)vp_read32(vp->common, VIRTIO_PCI_COMMON_DF) << 32;
	if ((offered & required) != required) {
		console_printf("%s: device lacks required features 0x%lx "
			       "(offers 0x%lx)\n", who,
			       (unsigned long)(required & ~offered),
			       (unsigned long)offered);
		virtio_pci_fail(vp);
		return -ENOTSUP;
	}
	vp->features = offered & wanted;
	vp_write32(vp->common, VIRTIO_PCI_COMMON_GFSELECT, 0);
	vp_write32(vp->common, VIRTIO_PCI_COMMON_GF, (uint32_t)vp->features);
	vp_write32(vp->common, VIRTIO_PCI_COMMON_GFSELECT, 1);
	vp_write32(vp->common, VIRTIO_PCI_COMMON_GF, (uint32_t)(vp->features >> 32));
	/* 3.1.1 step 5: FEATURES_OK; no feature bits change after this. */
	virtio_pci_set_status(vp, VIRTIO_STATUS_FEATURES_OK);
	/* 3.1.1 step 6: re-read the status: FEATURES_OK still set means the
	 * device accepts this subset. */
	if (!(vp_read8(vp->common, VIRTIO_PCI_COMMON_STATUS) &
	      VIRTIO_STATUS_FEATURES_OK)) {
		console_printf("%s: device refused features 0x%lx\n", who,
			       (unsigned long)vp->features);
		virtio_pci_fail(vp);
		return -EIO;
	}
	/* No interrupts yet: configuration changes are polled. */
	vp_write16(vp->common, VIRTIO_PCI_COMMON_MSIX, VIRTIO_MSI_NO_VECTOR);
	return 0;
}

uint16_t virtio_pci_msix(struct virtio_pci *vp, uint16_t entry, int vector, const char *who)
{
	if (vector < 0)
		return VIRTIO_MSI_NO_VECTOR;
	if (pci_msix_enable(vp->pci, entry, vector) == 0)
		return entry;
	console_printf("%s: no MSI-X, polling\n", who);
	irq_free_vector(vector);
	return VIRTIO_MSI_NO_VECTOR;
}

int virtio_pci_setup_queue(struct virtio_pci *vp, struct virtq *vq,
			   uint16_t index, uint16_t max_size, uint16_t msix_entry,
			   const char *who)
{
	uint16_t size, noff;
	uint64_t notify_off;
	size_t desc_avail, npages_da, npages_used;
	uint8_t *mem, *used;

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
	if (notify_off + sizeof(*vq->notify) > vp->notify_len) {
		console_printf("%s: queue %u notify offset %#lx (%u * %u) + 2 lies outside "
			       "the %#x-byte notify region\n", who, index,
			       (unsigned long)notify_off, noff, vp->notify_mult, vp->notify_len);
		return -EIO;
	}
	/* The driver may pick a smaller size (4.1.4.3.2); split queue sizes
	 * are powers of two (2.6). */
	if (max_size && size > max_size)
		size = max_size;
	while (size & (size - 1))
		size &= (uint16_t)(size - 1);
	/* step 3: allocate and zero the three parts (2.6 alignment: desc 16,
	 * avail 2, used 4; page aligned here). */
	desc_avail = VIRTQ_DESC_BYTES(size) + VIRTQ_AVAIL_BYTES(size) + 2;
	npages_da = (desc_avail + PAGE_SIZE - 1) / PAGE_SIZE;
	npages_used = (VIRTQ_USED_BYTES(size) + 2 + PAGE_SIZE - 1) / PAGE_SIZE;
	mem = mem_alloc_pages(npages_da);
	used = mem_alloc_pages(npages_used);
	if (!mem || !used) {
		console_printf("%s: out of memory for queue %u (%u entries)\n",
			       who, index, size);
		if (mem)
			mem_free_pages(mem, npages_da);
		if (used)
			mem_free_pages(used, npages_used);
		return -ENOMEM;
	}
	memset(vq, 0, sizeof(*vq));
	vq->index = index;
	vq->size = size;
	vq->desc = (volatile struct virtq_desc *)mem;
	vq->avail = (volatile struct virtq_avail *)(mem + VIRTQ_DESC_BYTES(size));
	vq->used = (volatile struct virtq_used *)used;
	/* A polled queue asks the device not to interrupt (2.6.7). */
	if (msix_entry == VIRTIO_MSI_NO_VECTOR)
		vq->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	/* step 4: the MSI-X vector; 4.1.5.1.2: reading it back gives
	 * NO_VECTOR when the device could not take it. */
	vp_write16(vp->common, VIRTIO_PCI_COMMON_Q_SIZE, size);
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
	vq->notify = (volatile uint16_t *)(vp->notify_base + notify_off);
	/* step 5: enable the queue. */
	vp_write16(vp->common, VIRTIO_PCI_COMMON_Q_ENABLE, 1);
	return 0;
}

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
	/* 3.1.1 Driver Requirements: Device Initialization
	 * 1. Reset the device. 2. ACKNOWLEDGE. 3. DRIVER. */
	rc = virtio_pci_reset(vp, who);
	if (rc < 0)
		return rc;
	/* 4.-6. Negotiate features, FEATURES_OK, check it stuck. Version 1 is
	 * required: the legacy interface is not implemented. */
	return virtio_pci_negotiate(vp, wanted | VIRTIO_BIT(VIRTIO_F_VERSION_1),
				    VIRTIO_BIT(VIRTIO_F_VERSION_1), who);
}

void virtio_pci_read_config(struct virtio_pci *vp, unsigned off, void *buf,
			    unsigned len)
{
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

void virtq_publish(struct virtq *vq)
{
	/* 2.6.13.3: the ring entries are written before idx moves (x86 keeps
	 * stores in order; the compiler must too). */
	io_wmb();
	vq->avail->idx = vq->avail_idx;
	/* 2.6.13.4 / 2.6.10: read the device's NO_NOTIFY flag only after
	 * the idx store is visible (store->load ordering needs a fence). */
	io_mb();
	if (!(vq->used->flags & VIRTQ_USED_F_NO_NOTIFY))
		*vq->notify = vq->index;
}
