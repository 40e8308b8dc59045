/* virtio_net.h: virtio network device definitions (VIRTIO 1.1 sec 5.1). */
#ifndef UNICYCLE_DRIVERS_VIRTIO_NET_H
#define UNICYCLE_DRIVERS_VIRTIO_NET_H

#include <stdint.h>

#define VIRTIO_ID_NET               1
#define VIRTIO_NET_PCI_MODERN       0x1041  /* 0x1040 + VIRTIO_ID_NET */
#define VIRTIO_NET_PCI_TRANSITIONAL 0x1000

/* 5.1.2 Virtqueues */
#define VIRTIO_NET_RXQ              0       /* receiveq1 */
#define VIRTIO_NET_TXQ              1       /* transmitq1 */

/* 5.1.3 Feature bits (bit numbers; use VIRTIO_BIT()) */
#define VIRTIO_NET_F_CSUM           0   /* device takes partial checksums */
#define VIRTIO_NET_F_GUEST_CSUM     1   /* driver takes partial checksums */
#define VIRTIO_NET_F_MTU            3
#define VIRTIO_NET_F_MAC            5
#define VIRTIO_NET_F_MRG_RXBUF      15
#define VIRTIO_NET_F_STATUS         16
#define VIRTIO_NET_F_CTRL_VQ        17

/* 5.1.4 Device configuration layout (offsets in the DEVICE_CFG region) */
#define VIRTIO_NET_CFG_MAC          0   /* u8[6] r, valid with F_MAC */
#define VIRTIO_NET_CFG_STATUS       6   /* le16 r, valid with F_STATUS */
#define VIRTIO_NET_CFG_MAX_PAIRS    8   /* le16 r */
#define VIRTIO_NET_CFG_MTU          10  /* le16 r, valid with F_MTU */
#define VIRTIO_NET_S_LINK_UP        1   /* status bit */

/* 5.1.6 Device Operation: the header in front of every packet. With
 * VIRTIO_F_VERSION_1 it always has num_buffers: 12 bytes. */
struct virtio_net_hdr {
	uint8_t flags;         /* VIRTIO_NET_HDR_F_* */
	uint8_t gso_type;      /* VIRTIO_NET_HDR_GSO_NONE */
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE     0

/* 5.1.6.3.1: without MRG_RXBUF or GUEST_TSO*, receive buffers hold at
 * least 1526 bytes (header + 1514-byte frame). */
#define VIRTIO_NET_RX_MIN           1526

#endif
