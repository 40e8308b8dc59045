/* virtio_ring.c: which descriptor ids of a split virtqueue are free and which the device holds (VIRTIO 1.1 sec 2.6). */
#include <errno.h>

#include "drivers/virtio_ring.h"

void virtq_ids_init(struct virtq_ids *ids, uint16_t *free, uint8_t *held,
		    uint16_t size)
{
	ids->free = free;
	ids->held = held;
	ids->size = size;
	ids->nfree = 0;
	/* Pushed high to low so the first taken is 0. */
	for (uint16_t i = size; i > 0; i--) {
		held[i - 1] = 0;
		free[ids->nfree++] = (uint16_t)(i - 1);
	}
}

int virtq_ids_take(struct virtq_ids *ids)
{
	uint16_t id;

	if (ids->nfree == 0)
		return -EAGAIN;
	id = ids->free[--ids->nfree];
	ids->held[id] = 1;
	return id;
}

int virtq_ids_put(struct virtq_ids *ids, uint32_t id)
{
	if (id >= ids->size)
		return -ERANGE;
	if (!ids->held[id])
		return -EALREADY;
	ids->held[id] = 0;
	ids->free[ids->nfree++] = (uint16_t)id;
	return 0;
}
