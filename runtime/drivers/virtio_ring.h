/* virtio_ring.h: split virtqueue memory layout (VIRTIO 1.1 sec 2.6), little-endian fields. */
#ifndef UNICYCLE_DRIVERS_VIRTIO_RING_H
#define UNICYCLE_DRIVERS_VIRTIO_RING_H

#include <stdint.h>

/* 2.6.5 The Virtqueue Descriptor Table (16-byte aligned) */
struct virtq_desc {
	uint64_t addr;   /* guest physical */
	uint32_t len;
	uint16_t flags;  /* VIRTQ_DESC_F_* */
	uint16_t next;
};
#define VIRTQ_DESC_F_NEXT      1   /* continues via `next` */
#define VIRTQ_DESC_F_WRITE     2   /* device writes (receive buffers) */
#define VIRTQ_DESC_F_INDIRECT  4

/* 2.6.6 The Virtqueue Available Ring (2-byte aligned) */
struct virtq_avail {
	uint16_t flags;  /* VIRTQ_AVAIL_F_* */
	uint16_t idx;
	uint16_t ring[]; /* queue size entries, then le16 used_event */
};
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* 2.6.8 The Virtqueue Used Ring (4-byte aligned) */
struct virtq_used_elem {
	uint32_t id;     /* head descriptor index */
	uint32_t len;    /* bytes written into the buffer */
};
struct virtq_used {
	uint16_t flags;  /* VIRTQ_USED_F_* */
	uint16_t idx;
	struct virtq_used_elem ring[]; /* queue size entries, then le16 avail_event */
};
#define VIRTQ_USED_F_NO_NOTIFY 1

#define VIRTQ_DESC_BYTES(n)   (16u * (n))
#define VIRTQ_AVAIL_BYTES(n)  (6u + 2u * (n))
#define VIRTQ_USED_BYTES(n)   (6u + 8u * (n))
#define VIRTQ_MAX_SIZE        32768

#endif
