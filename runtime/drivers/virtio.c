/* virtio.c: the transport-independent part of virtio 1.x: device initialization steps 1-6, split virtqueue memory and publishing (VIRTIO 1.1 sec 3.1, 2.6). */
#include <errno.h>
#include <string.h>

#include "arch/x86_64/io.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/memlayout.h"
#include "drivers/virtio.h"
#include "kernel/kernel.h"

#define VIRTIO_RESET_TIMEOUT_US 100000
#define VIRTIO_RESET_POLL_US    10

void virtio_set_status(struct virtio_dev *vd, uint8_t bits)
{
	uint8_t s = vd->ops->get_status(vd);

	vd->ops->set_status(vd, (uint8_t)(s | bits));
}

void virtio_fail(struct virtio_dev *vd)
{
	virtio_set_status(vd, VIRTIO_STATUS_FAILED);
}

/* 3.1.1 steps 1-3: reset and wait, ACKNOWLEDGE, DRIVER. 0 or -ETIMEDOUT. */
static int virtio_reset(struct virtio_dev *vd, const char *who)
{
	unsigned waited = 0;

	/* 3.1.1 step 1: reset the device. Writing 0 resets (PCI 4.1.4.3.2,
	 * MMIO 4.2.2.1); the driver waits for the status to read back 0.
	 * This also undoes whatever a firmware driver left running. */
	vd->ops->set_status(vd, 0);
	while (vd->ops->get_status(vd) != 0) {
		if (waited >= VIRTIO_RESET_TIMEOUT_US) {
			console_printf("%s: device did not finish reset\n", who);
			return -ETIMEDOUT;
		}
		time_delay_us(VIRTIO_RESET_POLL_US);
		waited += VIRTIO_RESET_POLL_US;
	}
	/* 3.1.1 step 2: ACKNOWLEDGE: we noticed the device. */
	virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE);
	/* 3.1.1 step 3: DRIVER: we know how to drive it. */
	virtio_set_status(vd, VIRTIO_STATUS_DRIVER);
	return 0;
}

/* 3.1.1 steps 4-6: offers `wanted` & device features; `required` must be
 * among them. Sets FEATURES_OK and checks it stuck. 0, -ENOTSUP, -EIO. */
static int virtio_negotiate(struct virtio_dev *vd, uint64_t wanted, uint64_t required,
			    const char *who)
{
	/* 3.1.1 step 4: read the device's feature bits, write the subset we
	 * understand. */
	uint64_t offered = vd->ops->get_features(vd);

	if ((offered & required) != required) {
		console_printf("%s: device lacks required features 0x%lx "
			       "(offers 0x%lx)\n", who,
			       (unsigned long)(required & ~offered),
			       (unsigned long)offered);
		virtio_fail(vd);
		return -ENOTSUP;
	}
	vd->features = offered & wanted;
	vd->ops->set_features(vd, vd->features);
	/* 3.1.1 step 5: FEATURES_OK; no feature bits change after this. */
	virtio_set_status(vd, VIRTIO_STATUS_FEATURES_OK);
	/* 3.1.1 step 6: re-read the status: FEATURES_OK still set means the
	 * device accepts this subset. */
	if (!(vd->ops->get_status(vd) & VIRTIO_STATUS_FEATURES_OK)) {
		console_printf("%s: device refused features 0x%lx\n", who,
			       (unsigned long)vd->features);
		virtio_fail(vd);
		return -EIO;
	}
	return 0;
}

int virtio_start(struct virtio_dev *vd, uint64_t wanted, const char *who)
{
	int rc = virtio_reset(vd, who);

	if (rc < 0)
		return rc;
	/* Version 1 is required: the legacy interface is not implemented. */
	return virtio_negotiate(vd, wanted | VIRTIO_BIT(VIRTIO_F_VERSION_1),
				VIRTIO_BIT(VIRTIO_F_VERSION_1), who);
}

uint16_t virtio_irq(struct virtio_dev *vd, uint16_t entry, int vector, const char *who)
{
	if (vector < 0)
		return VIRTIO_NO_IRQ;
	if (vd->ops->irq)
		return vd->ops->irq(vd, entry, vector, who);
	console_printf("%s: %s: no interrupts on this transport, polling\n", who, vd->where);
	irq_free_vector(vector);
	return VIRTIO_NO_IRQ;
}

int virtq_alloc(struct virtq *vq, struct virtio_dev *vd, uint16_t index, uint16_t device_max,
		uint16_t max_size, bool polled, const char *who)
{
	uint16_t size = device_max;
	size_t desc_avail, npages_da, npages_used;
	uint8_t *mem, *used;

	/* The driver may pick a smaller size (PCI 4.1.4.3.2, MMIO 4.2.2
	 * QueueNum); split queue sizes are powers of two (2.6). */
	if (max_size && size > max_size)
		size = max_size;
	while (size & (size - 1))
		size &= (uint16_t)(size - 1);
	/* Allocate and zero the three parts (2.6 alignment: desc 16, avail 2,
	 * used 4; page aligned here, which is physically contiguous). */
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
	vq->dev = vd;
	vq->index = index;
	vq->size = size;
	vq->desc = (volatile struct virtq_desc *)mem;
	vq->avail = (volatile struct virtq_avail *)(mem + VIRTQ_DESC_BYTES(size));
	vq->used = (volatile struct virtq_used *)used;
	/* A polled queue asks the device not to interrupt (2.6.7). */
	if (polled)
		vq->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	return 0;
}

bool virtq_publish_idx(struct virtq *vq)
{
	/* 2.6.13.3: the ring entries are written before idx moves (x86 keeps
	 * stores in order; the compiler must too). */
	io_wmb();
	vq->avail->idx = vq->avail_idx;
	/* 2.6.13.4 / 2.6.10: read the device's NO_NOTIFY flag only after
	 * the idx store is visible (store->load ordering needs a fence). */
	io_mb();
	return !(vq->used->flags & VIRTQ_USED_F_NO_NOTIFY);
}

void virtq_publish(struct virtq *vq)
{
	if (virtq_publish_idx(vq))
		virtq_notify(vq);
}
