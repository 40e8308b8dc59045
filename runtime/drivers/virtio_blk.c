/* virtio_blk.c: virtio-blk driver (PCI 1af4:1042 and transitional 1af4:1001, virtio-mmio device 2) on the block layer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/io.h"
#include "arch/x86_64/memlayout.h"
#include "block/blkdev.h"
#include "drivers/virtio_blk.h"
#include "drivers/virtio_mmio.h"
#include "drivers/virtio_pci.h"
#include "kernel/kernel.h"

/*
 * One request queue, split ring, several requests in flight: request tag t
 * owns descriptors 3t (header), 3t+1 (data) and 3t+2 (status byte), linked
 * once at set-up; a flush skips the data descriptor. The used ring's id is
 * the head descriptor, so id / 3 is the tag. Headers and status bytes live
 * in one page-allocated array of slots; data goes straight to and from the
 * app's buffer (identity mapped RAM: blkdev.h).
 *
 * Durability (5.2.6.2): with VIRTIO_BLK_F_FLUSH negotiated a completed
 * write is "volatile" until a VIRTIO_BLK_T_FLUSH sent after it completes;
 * without the feature offered the device MAY write through but need not,
 * and there is nothing to send: the disk reports BLKDEV_CACHE_UNKNOWN.
 * F_CONFIG_WCE is not negotiated (the cache mode stays the device's).
 *
 * Interrupts: with CONFIG_POLL none (the queue carries NO_INTERRUPT);
 * without it, on PCI, the request queue signals MSI-X table entry 0.
 */

#define VBLK_NAME          "virtio-blk"
#define VBLK_QUEUE_MAX     256     /* ring entries asked for (device may offer fewer) */
#define VBLK_DESC_PER_REQ  3       /* header, data, status */
#define VBLK_DEPTH_MAX     128
#define VBLK_MAX_BYTES     (1u << 20)  /* per request, unless size_max is smaller */
#define VBLK_MSIX_REQ      0       /* interrupt (MSI-X table entry) of requestq1 */
#define VBLK_CFG_MIN       (VIRTIO_BLK_CFG_BLK_SIZE + 4) /* configuration read: through blk_size */
#define VBLK_STATUS_NONE   0xff    /* not a status: the device did not write one */
#define VBLK_GET_ID_TIMEOUT_US 1000000

/* Per tag, device-visible. */
struct vblk_slot {
	struct virtio_blk_req_hdr hdr;
	uint8_t status;
	uint8_t id[VIRTIO_BLK_ID_BYTES];   /* GET_ID answer (set-up only) */
} __attribute__((aligned(64)));

struct vblk {
	struct blkdev blk;
	struct virtio_dev *vd;
	struct virtq vq;
	struct vblk_slot *slots;       /* queue_depth of them */
	struct blkreq **inflight;      /* by tag */
	uint32_t sectors_per_block;
};

_Static_assert(sizeof(struct virtio_blk_req_hdr) == 16, "virtio_blk_req header layout");

static const char *vblk_status_name(uint8_t s)
{
	return s == VIRTIO_BLK_S_IOERR ? "IOERR" : s == VIRTIO_BLK_S_UNSUPP ? "UNSUPP" :
	       s == VIRTIO_BLK_S_OK ? "OK" : "not a virtio-blk status";
}

/* Queues tag `t` as request `type` over `buf`/`len` (len 0: no data). */
static void vblk_queue(struct vblk *v, uint16_t t, uint32_t type, uint64_t sector,
		       void *buf, uint32_t len, bool device_writes)
{
	struct virtq *q = &v->vq;
	uint16_t head = (uint16_t)(t * VBLK_DESC_PER_REQ);
	struct vblk_slot *s = &v->slots[t];

	s->hdr.type = type;
	s->hdr.reserved = 0;
	s->hdr.sector = sector;
	s->status = VBLK_STATUS_NONE;
	if (len) {
		q->desc[head].next = (uint16_t)(head + 1);
		q->desc[head + 1].addr = (uint64_t)(uintptr_t)buf;
		q->desc[head + 1].len = len;
		q->desc[head + 1].flags = (uint16_t)(VIRTQ_DESC_F_NEXT |
						     (device_writes ? VIRTQ_DESC_F_WRITE : 0));
	} else {
		q->desc[head].next = (uint16_t)(head + 2);
	}
	/* 2.6.13.1: the ring entry names the head of the chain. */
	q->avail->ring[q->avail_idx & (q->size - 1)] = head;
	q->avail_idx++;
	virtq_publish(q);
}

static int vblk_submit(struct blkdev *dev, struct blkreq *req)
{
	struct vblk *v = dev->priv;
	uint64_t sector = req->block * v->sectors_per_block;
	uint32_t len = req->nblocks * dev->block_size;

	v->inflight[req->tag] = req;
	/* 5.2.6.1: IN/OUT data is a multiple of 512 bytes and lies within
	 * capacity (the layer checked both); FLUSH carries no data and its
	 * sector is ignored (set to 0). */
	switch (req->op) {
	case BLKREQ_READ:
		vblk_queue(v, req->tag, VIRTIO_BLK_T_IN, sector, req->buf, len, true);
		break;
	case BLKREQ_WRITE:
		vblk_queue(v, req->tag, VIRTIO_BLK_T_OUT, sector, req->buf, len, false);
		break;
	case BLKREQ_FLUSH:
		vblk_queue(v, req->tag, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false);
		break;
	}
	return 0;
}

/* 2.6.14 Receiving Used Buffers From The Device. */
static void vblk_poll(struct blkdev *dev)
{
	struct vblk *v = dev->priv;
	struct virtq *q = &v->vq;
	uint16_t used_idx = q->used->idx;

	io_rmb(); /* the entries before idx (2.6.8) */
	while (q->used_seen != used_idx) {
		uint32_t id = q->used->ring[q->used_seen & (q->size - 1)].id;
		uint32_t t = id / VBLK_DESC_PER_REQ;
		struct blkreq *req;
		uint8_t status;

		q->used_seen++;
		if (id % VBLK_DESC_PER_REQ || t >= dev->queue_depth || !v->inflight[t]) {
			console_printf("%s: %s: used ring names descriptor %u, which no request "
				       "heads (ignored)\n", dev->name, VBLK_NAME, id);
			continue;
		}
		req = v->inflight[t];
		v->inflight[t] = NULL;
		status = v->slots[t].status;
		if (status == VIRTIO_BLK_S_OK)
			blkdev_complete(dev, req, 0);
		else
			blkdev_fail(dev, req, status == VIRTIO_BLK_S_UNSUPP ? -EOPNOTSUPP : -EIO,
				    "status %u (%s)", status, vblk_status_name(status));
	}
}

static const struct blkdev_ops vblk_ops = {
	.submit = vblk_submit,
	.poll = vblk_poll,
};

/* 1.2 sec 5.2.6 VIRTIO_BLK_T_GET_ID, during set-up (the loop is not
 * running): the serial, or "" when the device does not answer OK. */
static void vblk_get_id(struct vblk *v)
{
	struct virtq *q = &v->vq;
	struct vblk_slot *s = &v->slots[0];
	unsigned waited = 0;

	vblk_queue(v, 0, VIRTIO_BLK_T_GET_ID, 0, s->id, VIRTIO_BLK_ID_BYTES, true);
	while (q->used->idx == q->used_seen) {
		if (waited >= VBLK_GET_ID_TIMEOUT_US) {
			console_printf(VBLK_NAME ": no answer to GET_ID; the device may be "
				       "unusable\n");
			return;
		}
		time_delay_us(10);
		waited += 10;
	}
	io_rmb();
	q->used_seen++;
	if (s->status == VIRTIO_BLK_S_OK)
		blkdev_set_string(v->blk.serial, sizeof(v->blk.serial), s->id,
				  VIRTIO_BLK_ID_BYTES);
}

/* After 3.1.1 steps 1-6 (the transport's): steps 7-8 and the disk. */
static int vblk_attach(struct virtio_dev *vd)
{
	uint16_t irq = VIRTIO_NO_IRQ, depth;
	uint32_t blk_size = VIRTIO_BLK_SECTOR, size_max = VBLK_MAX_BYTES;
	uint64_t capacity;
	size_t slot_pages;
	struct vblk *v;
	int rc;

	v = calloc(1, sizeof(*v));
	if (!v) {
		console_printf(VBLK_NAME ": out of memory\n");
		rc = -ENOMEM;
		goto fail;
	}
	v->vd = vd;

	/* 7. Device-specific setup (5.2.5 Device Initialization): the
	 * configuration fields, then requestq1 (MSI-X on before the queue
	 * gets its entry, 4.1.5.1.2). */
	virtio_read_config(vd, VIRTIO_BLK_CFG_CAPACITY, &capacity, sizeof(capacity));
	if (vd->features & VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE))
		virtio_read_config(vd, VIRTIO_BLK_CFG_BLK_SIZE, &blk_size,
				       sizeof(blk_size));
	if (vd->features & VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX))
		virtio_read_config(vd, VIRTIO_BLK_CFG_SIZE_MAX, &size_max,
				       sizeof(size_max));
	if (blk_size < VIRTIO_BLK_SECTOR || (blk_size & (blk_size - 1))) {
		console_printf(VBLK_NAME ": blk_size %u is not a power of two >= 512\n",
			       blk_size);
		rc = -ENODEV;
		goto fail;
	}
	if (size_max < blk_size)
		size_max = blk_size;
	if (size_max > VBLK_MAX_BYTES)
		size_max = VBLK_MAX_BYTES;
#ifndef CONFIG_POLL
	irq = virtio_irq(vd, VBLK_MSIX_REQ, blkdev_irq_alloc(&v->blk), VBLK_NAME);
	if (irq != VIRTIO_NO_IRQ)
		v->blk.features |= BLKDEV_F_IRQ;
#endif
	rc = virtio_setup_queue(vd, &v->vq, VIRTIO_BLK_REQUESTQ, VBLK_QUEUE_MAX, irq, VBLK_NAME);
	if (rc < 0)
		goto fail;
	depth = v->vq.size / VBLK_DESC_PER_REQ;
	if (depth > VBLK_DEPTH_MAX)
		depth = VBLK_DEPTH_MAX;
	if (depth == 0) {
		console_printf(VBLK_NAME ": queue of %u entries cannot hold one request\n",
			       v->vq.size);
		rc = -ENODEV;
		goto fail;
	}
	slot_pages = (depth * sizeof(struct vblk_slot) + PAGE_SIZE - 1) / PAGE_SIZE;
	v->slots = mem_alloc_pages(slot_pages);
	v->inflight = calloc(depth, sizeof(*v->inflight));
	if (!v->slots || !v->inflight) {
		console_printf(VBLK_NAME ": out of memory for %u requests\n", depth);
		rc = -ENOMEM;
		goto fail;
	}
	for (uint16_t t = 0; t < depth; t++) {
		uint16_t head = (uint16_t)(t * VBLK_DESC_PER_REQ);

		v->vq.desc[head].addr = (uint64_t)(uintptr_t)&v->slots[t].hdr;
		v->vq.desc[head].len = sizeof(struct virtio_blk_req_hdr);
		v->vq.desc[head].flags = VIRTQ_DESC_F_NEXT;
		v->vq.desc[head + 1].next = (uint16_t)(head + 2);
		v->vq.desc[head + 2].addr = (uint64_t)(uintptr_t)&v->slots[t].status;
		v->vq.desc[head + 2].len = 1;
		v->vq.desc[head + 2].flags = VIRTQ_DESC_F_WRITE;
	}

	/* 8. DRIVER_OK: the device is live. */
	virtio_set_status(vd, VIRTIO_STATUS_DRIVER_OK);
	vblk_get_id(v);

	v->sectors_per_block = blk_size / VIRTIO_BLK_SECTOR;
	v->blk.ops = &vblk_ops;
	v->blk.driver = VBLK_NAME;
	v->blk.block_size = blk_size;
	v->blk.blocks = capacity / v->sectors_per_block;
	v->blk.max_blocks = size_max / blk_size;
	v->blk.queue_depth = depth;
	v->blk.dma_align = 1;           /* descriptors take any address */
	if (vd->features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)) {
		v->blk.features |= BLKDEV_F_FLUSH;
		v->blk.cache = BLKDEV_CACHE_VOLATILE;
	} else {
		v->blk.cache = BLKDEV_CACHE_UNKNOWN;
	}
	/* 5.2.6.1: with F_RO the driver MUST NOT write. */
	if (vd->features & VIRTIO_BIT(VIRTIO_BLK_F_RO))
		v->blk.features |= BLKDEV_F_READONLY;
	v->blk.priv = v;
	rc = blkdev_register(&v->blk);
	if (rc < 0)
		goto fail;
	vd->driver_state = v;
	return 0;

fail:
	/* Rings stay allocated: the device may point at them until reset. */
	virtio_fail(vd);
	return rc;
}

static const struct virtio_driver vblk_virtio = {
	.name = VBLK_NAME,
	.device_id = VIRTIO_ID_BLOCK,
	.device_cfg_min = VBLK_CFG_MIN,
	.features = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
		    VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) |
		    VIRTIO_BIT(VIRTIO_BLK_F_RO) |
		    VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		    VIRTIO_BIT(VIRTIO_BLK_F_FLUSH),
	.attach = vblk_attach,
};


static const struct pci_id vblk_ids[] = {
	{ VIRTIO_PCI_VENDOR, VIRTIO_BLK_PCI_MODERN, &vblk_virtio },
	{ VIRTIO_PCI_VENDOR, VIRTIO_BLK_PCI_TRANSITIONAL, &vblk_virtio },
	{ 0 },
};

PCI_DRIVER(vblk_driver) = {
	.name = VBLK_NAME,
	.ids = vblk_ids,
	.probe = virtio_pci_probe,
};

#ifdef CONFIG_VIRTIO_MMIO
VIRTIO_MMIO_DRIVER(vblk_virtio);
#endif
