/* virtio_pci.h: the virtio 1.x PCI transport (VIRTIO 1.1 sec 4.1): capability and register layout, the transport behind struct virtio_dev. */
#ifndef UNICYCLE_DRIVERS_VIRTIO_PCI_H
#define UNICYCLE_DRIVERS_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/pci.h"
#include "drivers/virtio.h"

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

#define VIRTIO_MSI_NO_VECTOR            VIRTIO_NO_IRQ

/* One modern virtio PCI device: mapped regions. */
struct virtio_pci {
	struct virtio_dev vd;         /* first: the transport ops reach it from vd */
	struct pci_dev *pci;
	volatile uint8_t *common;
	volatile uint8_t *notify_base;
	uint32_t notify_len;          /* bytes of the notify region */
	uint32_t notify_mult;
	volatile uint8_t *isr;
	volatile uint8_t *device;     /* device-specific config */
	uint32_t device_len;
};

/* virtio_pci.c */
/* The probe of every virtio PCI driver: PCI_DRIVER's .probe, with the
 * driver's struct virtio_driver as each ID table entry's data. Starts the
 * device (virtio_pci_start) and hands it to the driver's attach; logs
 * "<driver>: <bus:slot.func> not used (<errno>)" when either fails. */
int virtio_pci_probe(struct pci_dev *pci, const struct pci_id *matched);
/* PCI decoding and bus mastering, the capabilities mapped (with at least
 * `device_cfg_min` bytes of device configuration), then virtio_start()
 * (3.1.1 steps 1-6). 0 or the first step's negative errno (logged). */
int virtio_pci_start(struct virtio_pci *vp, struct pci_dev *pci, unsigned device_cfg_min,
		     uint64_t wanted, const char *who);
/* Finds and maps the capabilities (4.1.4), the first step of
 * virtio_pci_start; sets up vp->vd's ops. Returns 0, -ENODEV when a
 * required one is missing (legacy-only device), -ENOMEM. */
int virtio_pci_map(struct virtio_pci *vp, struct pci_dev *pci, const char *who);

#endif
