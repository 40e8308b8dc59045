/* virtio_blk.h: virtio block device definitions (VIRTIO 1.1 sec 5.2; GET_ID from 1.2 sec 5.2.6). */
#ifndef UNICYCLE_DRIVERS_VIRTIO_BLK_H
#define UNICYCLE_DRIVERS_VIRTIO_BLK_H

#include <stdint.h>

#define VIRTIO_ID_BLOCK             2
#define VIRTIO_BLK_PCI_MODERN       0x1042  /* 0x1040 + VIRTIO_ID_BLOCK (4.1.2.1) */
#define VIRTIO_BLK_PCI_TRANSITIONAL 0x1001

/* 5.2.2 Virtqueues: requestq1 (more only with F_MQ, not negotiated) */
#define VIRTIO_BLK_REQUESTQ         0

/* 5.2.3 Feature bits (bit numbers; use VIRTIO_BIT()) */
#define VIRTIO_BLK_F_SIZE_MAX       1   /* size_max: largest segment */
#define VIRTIO_BLK_F_SEG_MAX        2   /* seg_max: most segments per request */
#define VIRTIO_BLK_F_GEOMETRY       4
#define VIRTIO_BLK_F_RO             5   /* read-only */
#define VIRTIO_BLK_F_BLK_SIZE       6   /* blk_size is valid */
#define VIRTIO_BLK_F_FLUSH          9   /* VIRTIO_BLK_T_FLUSH */
#define VIRTIO_BLK_F_TOPOLOGY       10
#define VIRTIO_BLK_F_CONFIG_WCE     11  /* writeback is writable */
#define VIRTIO_BLK_F_MQ             12

/* 5.2.4 Device configuration layout (offsets in the DEVICE_CFG region) */
#define VIRTIO_BLK_CFG_CAPACITY     0   /* le64 r: in 512-byte sectors, always */
#define VIRTIO_BLK_CFG_SIZE_MAX     8   /* le32 r, valid with F_SIZE_MAX */
#define VIRTIO_BLK_CFG_SEG_MAX      12  /* le32 r, valid with F_SEG_MAX */
#define VIRTIO_BLK_CFG_BLK_SIZE     20  /* le32 r, valid with F_BLK_SIZE */
#define VIRTIO_BLK_CFG_WRITEBACK    32  /* u8 r(/w with F_CONFIG_WCE) */
#define VIRTIO_BLK_SECTOR           512 /* the unit of capacity and of `sector` */

/* 5.2.6 Device Operation: a request is this header (device-readable),
 * the data, then one status byte (device-writable). */
struct virtio_blk_req_hdr {
	uint32_t type;         /* VIRTIO_BLK_T_* */
	uint32_t reserved;
	uint64_t sector;       /* offset / 512, whatever blk_size is */
};
#define VIRTIO_BLK_T_IN             0   /* read */
#define VIRTIO_BLK_T_OUT            1   /* write */
#define VIRTIO_BLK_T_FLUSH          4
#define VIRTIO_BLK_T_GET_ID         8   /* 1.2: 20-byte serial, NUL padded */
#define VIRTIO_BLK_ID_BYTES         20

#define VIRTIO_BLK_S_OK             0
#define VIRTIO_BLK_S_IOERR          1
#define VIRTIO_BLK_S_UNSUPP         2

#endif
