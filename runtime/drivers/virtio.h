/* virtio.h: what virtio drivers use whatever the transport (VIRTIO 1.1 sec 2, 3.1): status and feature bits, split virtqueues, the transport ops table, per virtio.c. */
#ifndef UNICYCLE_DRIVERS_VIRTIO_H
#define UNICYCLE_DRIVERS_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/virtio_ring.h"

/*
 * A virtio driver (virtio_net.c, virtio_blk.c) is written once against
 * struct virtio_dev: a transport (virtio_pci.c, virtio_mmio.c) finds the
 * device, runs 3.1.1 steps 1-6 through virtio_start() and hands the
 * driver's attach() a started device. The driver then sets up its queues
 * (virtio_setup_queue), reads its configuration (virtio_read_config) and
 * sets DRIVER_OK. Nothing in a driver names a transport but the ID
 * tables that bind it.
 */

/* 5 Device Types: the virtio device ID (virtio-mmio DeviceID; PCI device
 * id 0x1040 + this). */
#define VIRTIO_ID_NET                   1
#define VIRTIO_ID_BLOCK                 2

/* 2.1 Device Status Field (device_status bits) */
#define VIRTIO_STATUS_ACKNOWLEDGE       1
#define VIRTIO_STATUS_DRIVER            2
#define VIRTIO_STATUS_DRIVER_OK         4
#define VIRTIO_STATUS_FEATURES_OK       8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED            128

/* 6 Reserved Feature Bits (bit numbers; use VIRTIO_BIT()) */
#define VIRTIO_F_RING_INDIRECT_DESC     28
#define VIRTIO_F_RING_EVENT_IDX         29
#define VIRTIO_F_VERSION_1              32
#define VIRTIO_F_ACCESS_PLATFORM        33
#define VIRTIO_BIT(n)                   (1ull << (n))

/* No interrupt for a queue (PCI: VIRTIO_MSI_NO_VECTOR, 4.1.4.3). */
#define VIRTIO_NO_IRQ                   0xffff

struct virtio_dev;

/* A split virtqueue (2.6) as the driver sees it. Descriptor i always
 * points at buffer i of the owner's buffer array. */
struct virtq {
	struct virtio_dev *dev;       /* whose ops->notify rings the doorbell */
	uint16_t index;
	uint16_t size;                /* power of two */
	volatile struct virtq_desc *desc;
	volatile struct virtq_avail *avail;
	volatile struct virtq_used *used;
	volatile void *notify;        /* the transport's doorbell for this queue */
	uint16_t avail_idx;           /* free-running copy of avail->idx */
	uint16_t used_seen;           /* used entries consumed so far */
};

/* What a transport does; every op is REQUIRED unless marked optional. */
struct virtio_ops {
	uint8_t (*get_status)(struct virtio_dev *vd);
	void (*set_status)(struct virtio_dev *vd, uint8_t status); /* the whole byte; 0 resets */
	uint64_t (*get_features)(struct virtio_dev *vd);          /* device features, 64 bits */
	void (*set_features)(struct virtio_dev *vd, uint64_t features);
	/* Device configuration at `off`, consistent across the
	 * configuration generation (2.4.1); bytes past its end read 0. */
	void (*read_config)(struct virtio_dev *vd, unsigned off, void *buf, unsigned len);
	/* Queue `index`: at most `max_size` entries (0 = device maximum),
	 * `irq` from ops->irq or VIRTIO_NO_IRQ. 0, -ENOENT (no such queue),
	 * -EBUSY, -ENOMEM, -EIO (logged). */
	int (*setup_queue)(struct virtio_dev *vd, struct virtq *vq, uint16_t index,
			   uint16_t max_size, uint16_t irq, const char *who);
	/* 2.6.13.4: tells the device queue `vq` has new buffers. */
	void (*notify)(struct virtq *vq);
	/* Optional: routes the queue interrupt `entry` to `vector` and
	 * returns what setup_queue takes, VIRTIO_NO_IRQ when it cannot (then
	 * it has freed the vector). Without it the device is polled. */
	uint16_t (*irq)(struct virtio_dev *vd, uint16_t entry, int vector, const char *who);
};

/* One device on some transport, embedded first in the transport's own
 * struct (virtio_pci, virtio_mmio). */
struct virtio_dev {
	const struct virtio_ops *ops;
	uint64_t features;            /* negotiated */
	char where[32];               /* for messages: "00:03.0", "mmio 0xfeb00e00" */
	void *driver_state;           /* set by the driver's attach */
};

/* What a transport needs to know of a driver: the ID it drives, what it
 * negotiates, and attach(), which takes over a started device (3.1.1
 * steps 1-6 done) and returns 0 or a negative errno (then it has set
 * FAILED). Bound by ID tables: PCI (pci_id.data, virtio_pci_probe) and
 * virtio-mmio (VIRTIO_MMIO_DRIVER). */
struct virtio_driver {
	const char *name;
	uint32_t device_id;           /* VIRTIO_ID_* */
	unsigned device_cfg_min;      /* bytes of device configuration it reads */
	uint64_t features;            /* wanted; VERSION_1 is always required */
	int (*attach)(struct virtio_dev *vd);
};

/* virtio.c */
/* 3.1.1 Driver Requirements: Device Initialization, steps 1-6: reset and
 * wait for it, ACKNOWLEDGE, DRIVER, the features negotiated (`wanted` &
 * offered; VERSION_1 required: no legacy interface), FEATURES_OK set and
 * read back. 0, -ETIMEDOUT, -ENOTSUP, -EIO (logged as `who`). */
int virtio_start(struct virtio_dev *vd, uint64_t wanted, const char *who);
void virtio_set_status(struct virtio_dev *vd, uint8_t bits);      /* ORs bits in */
void virtio_fail(struct virtio_dev *vd);                          /* FAILED */
/* The split ring memory of a queue the transport has selected: `device_max`
 * entries offered, `max_size` wanted (0: any), rounded down to a power of
 * two; zeroed pages, `polled` sets VIRTQ_AVAIL_F_NO_INTERRUPT (2.6.7).
 * 0 or -ENOMEM (logged). */
int virtq_alloc(struct virtq *vq, struct virtio_dev *vd, uint16_t index, uint16_t device_max,
		uint16_t max_size, bool polled, const char *who);
/* Makes avail entries up to vq->avail_idx visible; notifies the device
 * unless it asked not to be (2.6.13 Supplying Buffers to The Device). */
void virtq_publish(struct virtq *vq);
/* The same in two steps: idx made visible, then true when the device wants
 * the doorbell (virtq_notify), which under a hypervisor is a VM exit. */
bool virtq_publish_idx(struct virtq *vq);

static inline void virtq_notify(struct virtq *vq)
{
	vq->dev->ops->notify(vq);
}

static inline void virtio_read_config(struct virtio_dev *vd, unsigned off, void *buf,
				      unsigned len)
{
	vd->ops->read_config(vd, off, buf, len);
}

static inline int virtio_setup_queue(struct virtio_dev *vd, struct virtq *vq, uint16_t index,
				     uint16_t max_size, uint16_t irq, const char *who)
{
	return vd->ops->setup_queue(vd, vq, index, max_size, irq, who);
}

/* Interrupt mode: queue interrupt `entry` to `vector` (from
 * netdev_irq_alloc/blkdev_irq_alloc; negative: none); what
 * virtio_setup_queue takes. */
uint16_t virtio_irq(struct virtio_dev *vd, uint16_t entry, int vector, const char *who);

#endif
