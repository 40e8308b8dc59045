/* virtio_pci.h: the virtio 1.x PCI transport (VIRTIO 1.1 sec 4.1): capability and register layout, transport API. */
#ifndef UNICYCLE_DRIVERS_VIRTIO_PCI_H
#define UNICYCLE_DRIVERS_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/virtio_ring.h"
#include "drivers/pci.h"

#define VIRTIO_PCI_VENDOR           0x1af4
/* 4.1.2.1: modern devices are 0x1040 + device type; transitional ones
 * keep the legacy 0x1000..0x103f ids and carry the modern capabilities. */
#define VIRTIO_PCI_DEVICE_MODERN(type) (0x1040 + (type))

/* 4.1.4 Virtio Structure PCI Capabilities: vendor-specific capability
 * (PCI cap id 0x09); struct virtio_pci_cap, byte offsets in config space
 * relative to the capability. */
#define VIRTIO_PCI_CAP_ID           0x09
#define VIRTIO_PCI_CAP_CFG_TYPE     3   /* u8  r: VIRTIO_PCI_CAP_* below */
#define VIRTIO_PCI_CAP_BAR          4   /* u8  r: BAR index 0..5 */
#define VIRTIO_PCI_CAP_OFFSET       8   /* le32 r: offset within the BAR */
#define VIRTIO_PCI_CAP_LENGTH       12  /* le32 r: length of the structure */
#define VIRTIO_PCI_NOTIFY_CAP_MULT  16  /* le32 r: notify_off_multiplier (4.1.4.4) */

/* cfg_type values */
#define VIRTIO_PCI_CAP_COMMON_CFG   1
#define VIRTIO_PCI_CAP_NOTIFY_CFG   2
#define VIRTIO_PCI_CAP_ISR_CFG      3
#define VIRTIO_PCI_CAP_DEVICE_CFG   4
#define VIRTIO_PCI_CAP_PCI_CFG      5

/* 4.1.4.3 Common configuration structure layout (offsets in the
 * COMMON_CFG region). */
#define VIRTIO_PCI_COMMON_DFSELECT      0x00 /* le32 r/w device_feature_select */
#define VIRTIO_PCI_COMMON_DF            0x04 /* le32 r   device_feature */
#define VIRTIO_PCI_COMMON_GFSELECT      0x08 /* le32 r/w driver_feature_select */
#define VIRTIO_PCI_COMMON_GF            0x0c /* le32 r/w driver_feature */
#define VIRTIO_PCI_COMMON_MSIX          0x10 /* le16 r/w msix_config */
#define VIRTIO_PCI_COMMON_NUMQ          0x12 /* le16 r   num_queues */
#define VIRTIO_PCI_COMMON_STATUS        0x14 /* u8   r/w device_status */
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15 /* u8   r   config_generation */
#define VIRTIO_PCI_COMMON_Q_SELECT      0x16 /* le16 r/w queue_select */
#define VIRTIO_PCI_COMMON_Q_SIZE        0x18 /* le16 r/w queue_size */
#define VIRTIO_PCI_COMMON_Q_MSIX        0x1a /* le16 r/w queue_msix_vector */
#define VIRTIO_PCI_COMMON_Q_ENABLE      0x1c /* le16 r/w queue_enable */
#define VIRTIO_PCI_COMMON_Q_NOFF        0x1e /* le16 r   queue_notify_off */
#define VIRTIO_PCI_COMMON_Q_DESCLO      0x20 /* le32 r/w queue_desc, low half */
#define VIRTIO_PCI_COMMON_Q_DESCHI      0x24 /* le32 r/w queue_desc, high half */
#define VIRTIO_PCI_COMMON_Q_AVAILLO     0x28 /* le32 r/w queue_driver, low */
#define VIRTIO_PCI_COMMON_Q_AVAILHI     0x2c /* le32 r/w queue_driver, high */
#define VIRTIO_PCI_COMMON_Q_USEDLO      0x30 /* le32 r/w queue_device, low */
#define VIRTIO_PCI_COMMON_Q_USEDHI      0x34 /* le32 r/w queue_device, high */
#define VIRTIO_PCI_COMMON_CFG_MIN       0x38 /* bytes the region must have */

#define VIRTIO_MSI_NO_VECTOR            0xffff

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

/* One modern virtio PCI device: mapped regions and its queues. */
struct virtio_pci {
	struct pci_dev *pci;
	volatile uint8_t *common;
	volatile uint8_t *notify_base;
	uint32_t notify_len;          /* bytes of the notify region */
	uint32_t notify_mult;
	volatile uint8_t *isr;
	volatile uint8_t *device;     /* device-specific config */
	uint32_t device_len;
	uint64_t features;            /* negotiated */
};

/* A split virtqueue (2.6) as the driver sees it. Descriptor i always
 * points at buffer i of the owner's buffer array. */
struct virtq {
	uint16_t index;
	uint16_t size;                /* power of two */
	volatile struct virtq_desc *desc;
	volatile struct virtq_avail *avail;
	volatile struct virtq_used *used;
	volatile uint16_t *notify;
	uint16_t avail_idx;           /* free-running copy of avail->idx */
	uint16_t used_seen;           /* used entries consumed so far */
};

/* virtio_pci.c */
/* What every driver's probe starts with: PCI decoding and bus mastering,
 * the capabilities mapped (with at least `device_cfg_min` bytes of device
 * configuration), then 3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, and
 * the features negotiated (`wanted`, VERSION_1 required: no legacy).
 * 0 or the first step's negative errno (logged). */
int virtio_pci_start(struct virtio_pci *vp, struct pci_dev *pci, unsigned device_cfg_min,
		     uint64_t wanted, const char *who);
/* Interrupt mode: turns on MSI-X table entry `entry` for `vector` (from
 * netdev_irq_alloc/blkdev_irq_alloc; negative: none) and returns `entry`
 * for virtio_pci_setup_queue. Without MSI-X it frees the vector, says the
 * device will be polled and returns VIRTIO_MSI_NO_VECTOR. */
uint16_t virtio_pci_msix(struct virtio_pci *vp, uint16_t entry, int vector, const char *who);
/* Finds and maps the capabilities (4.1.4), the first step of
 * virtio_pci_start. Returns 0, -ENODEV when a required one is missing
 * (legacy-only device), -ENOMEM. */
int virtio_pci_map(struct virtio_pci *vp, struct pci_dev *pci, const char *who);
/* 4.1.5.1.3 Virtqueue Configuration: sets up queue `index` with at most
 * `max_size` entries (0 = device maximum). `msix_entry` is the MSI-X
 * table entry for its used-buffer notifications, VIRTIO_MSI_NO_VECTOR for
 * none (the queue then also asks the device not to interrupt).
 * 0, -ENOENT, -ENOMEM, -EIO (the device refused the MSI-X entry, or its
 * notify offset lies outside the notify region). */
int virtio_pci_setup_queue(struct virtio_pci *vp, struct virtq *vq,
			   uint16_t index, uint16_t max_size, uint16_t msix_entry,
			   const char *who);
void virtio_pci_set_status(struct virtio_pci *vp, uint8_t bits);  /* ORs bits in */
void virtio_pci_fail(struct virtio_pci *vp);                      /* FAILED */
/* Device config reads, consistent across config_generation (2.4.1). */
void virtio_pci_read_config(struct virtio_pci *vp, unsigned off, void *buf,
			    unsigned len);

/* Makes avail entries up to vq->avail_idx visible; notifies the device
 * unless it asked not to be (2.6.13 Supplying Buffers to The Device). */
void virtq_publish(struct virtq *vq);

#endif
