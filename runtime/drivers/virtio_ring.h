/* virtio_ring.h: split virtqueue memory layout (VIRTIO 1.1 sec 2.6), little-endian fields, and descriptor id bookkeeping. */
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

/*
 * virtio_ring.c: the driver's side of descriptor ids (pure code, host
 * unit-tested). Which ids are free, which the device holds: the used ring
 * is the device's word (2.6.8) and is checked like any input, so an id it
 * returns twice, or one it never had, is not freed twice.
 */
struct virtq_ids {
	uint16_t *free;          /* stack of free ids, `nfree` deep */
	uint8_t *held;           /* held[id] != 0 while the device has id */
	uint16_t size, nfree;
};
/* All `size` ids free; `free` and `held` have `size` entries each, from
 * the caller. virtq_ids_take() then hands out 0, 1, 2, ... */
void virtq_ids_init(struct virtq_ids *ids, uint16_t *free, uint8_t *held,
		    uint16_t size);
/* A free id, now held by the device; -EAGAIN when every id is out. */
int virtq_ids_take(struct virtq_ids *ids);
/* The device is done with `id` (a used-ring entry): 0; -ERANGE when there
 * is no such id, -EALREADY when the device does not hold it (a duplicate
 * completion). Nothing changes on an error. */
int virtq_ids_put(struct virtq_ids *ids, uint32_t id);

#endif
