/* virtio_net.c: virtio-net driver (PCI 1af4:1041 and transitional 1af4:1000, virtio-mmio device 1), polled, on the netdev interface. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/io.h"
#include "arch/x86_64/memlayout.h"
#include "drivers/virtio_mmio.h"
#include "drivers/virtio_net.h"
#include "drivers/virtio_pci.h"
#include "kernel/kernel.h"
#include "kernel/profile.h"
#include "net/netdev.h"

/*
 * One receive and one transmit queue, split rings, no interrupts: the event
 * loop polls (net/ethif.c). Every descriptor owns one fixed 2 KiB buffer
 * that holds the 12-byte virtio_net_hdr followed by the frame, so
 * descriptor ids and buffer indexes are the same number. The receive ring
 * is kept full; transmit descriptors come back to a free stack as the
 * device reports them used (virtq_ids: an id it reports twice, or never
 * had, is counted and ignored).
 *
 * Interrupts: with CONFIG_POLL (the default) none at all, both queues
 * carry VIRTQ_AVAIL_F_NO_INTERRUPT. Without it, on PCI, receiveq1 signals
 * MSI-X table entry 0, routed to a vector that runs the stack's handler from the
 * event loop; transmit completions are still reclaimed lazily. Not done
 * yet: the control queue, multiqueue, transmit checksum offload (F_CSUM is
 * negotiated but every frame goes out fully checksummed, which 5.1.6.2
 * allows).
 *
 * Transmit doorbells: a frame sent while a receive poll runs (the stack
 * answering what the poll delivered) is queued in the ring and the device
 * is notified once, when the poll ends, or after CONFIG_NET_TX_BATCH frames.
 * Under a hypervisor each notify is a VM exit, the most expensive step of
 * a small request. Frames sent outside a poll are notified at once.
 */

#define VNET_NAME        "virtio-net"
#define VNET_QUEUE_MAX   256     /* entries per queue (device may offer more) */
#define VNET_BUF_SIZE    2048    /* >= VIRTIO_NET_RX_MIN */
#define VNET_HDR_LEN     sizeof(struct virtio_net_hdr)
#define VNET_MSIX_RX     0       /* interrupt (MSI-X table entry) of receiveq1 */
/* Device configuration read: up to and including the status field. */
#define VNET_CFG_MIN     (VIRTIO_NET_CFG_STATUS + 2)
#define VNET_MAC_MIX     0x9e3779b97f4a7c15ull /* 2^64 / golden ratio: spreads TSC bits */

_Static_assert(VNET_BUF_SIZE >= VIRTIO_NET_RX_MIN, "receive buffer too small");
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio_net_hdr layout");

struct vnet {
	struct netdev netdev;
	struct virtio_dev *vd;
	struct virtq rxq, txq;
	uint8_t *rx_buf;          /* rxq.size * VNET_BUF_SIZE */
	uint8_t *tx_buf;          /* txq.size * VNET_BUF_SIZE */
	struct virtq_ids tx_ids;  /* free transmit descriptors */
	uint64_t tx_bad_ids;      /* used entries naming an id the device did not hold */
	bool in_poll;             /* vnet_poll runs: transmit defers the doorbell */
	unsigned tx_unkicked;     /* frames in the avail ring the device was not told of */
};

static uint8_t *vnet_alloc_bufs(uint16_t n)
{
	size_t bytes = (size_t)n * VNET_BUF_SIZE;

	return mem_alloc_pages((bytes + PAGE_SIZE - 1) / PAGE_SIZE);
}

/* Puts receive descriptor `id` back in the available ring. */
static void vnet_rx_give(struct vnet *v, uint16_t id)
{
	struct virtq *q = &v->rxq;

	q->avail->ring[q->avail_idx & (q->size - 1)] = id;
	q->avail_idx++;
}

static void vnet_tx_reclaim(struct vnet *v)
{
	struct virtq *q = &v->txq;
	uint16_t used_idx = q->used->idx;

	io_rmb(); /* entries after idx (2.6.8) */
	while (q->used_seen != used_idx) {
		uint32_t id = q->used->ring[q->used_seen & (q->size - 1)].id;

		if (virtq_ids_put(&v->tx_ids, id) < 0) {
			/* Out of range or already free: freeing it again would
			 * hand one buffer to two frames. */
			if (v->tx_bad_ids == 0)
				console_printf(VNET_NAME ": device returned transmit id %u, "
					       "which it does not hold; ignored (counted, "
					       "reported once)\n", id);
			v->tx_bad_ids++;
		}
		q->used_seen++;
	}
}

/* Publishes the queued transmit frames and rings the doorbell if the
 * device wants it. */
static void vnet_tx_kick(struct vnet *v)
{
	v->tx_unkicked = 0;
	if (virtq_publish_idx(&v->txq)) {
		PROFILE_ENTER(PROFILE_TX_DOORBELL);
		virtq_notify(&v->txq);
		PROFILE_EXIT(PROFILE_TX_DOORBELL);
	}
}

static int vnet_transmit(struct netdev *dev, const struct netdev_frag *frags,
			 unsigned nfrags)
{
	struct vnet *v = dev->priv;
	struct virtq *q = &v->txq;
	struct virtio_net_hdr *hdr;
	uint8_t *buf;
	size_t len = 0;
	int id;
	unsigned i;

	for (i = 0; i < nfrags; i++)
		len += frags[i].len;
	if (len > VNET_BUF_SIZE - VNET_HDR_LEN || len < NETDEV_ETH_HLEN)
		return -EINVAL;
	if (v->tx_ids.nfree == 0) {
		if (v->tx_unkicked)
			vnet_tx_kick(v);   /* the device cannot finish what it was not given */
		vnet_tx_reclaim(v);
	}
	id = virtq_ids_take(&v->tx_ids);
	if (id < 0)
		return id;
	buf = v->tx_buf + (size_t)id * VNET_BUF_SIZE;
	/* 5.1.6.2 Packet Transmission: flags 0 and GSO_NONE: a complete,
	 * checksummed frame. */
	hdr = (struct virtio_net_hdr *)buf;
	memset(hdr, 0, VNET_HDR_LEN);
	buf += VNET_HDR_LEN;
	for (i = 0; i < nfrags; i++) {
		memcpy(buf, frags[i].data, frags[i].len);
		buf += frags[i].len;
	}
	q->desc[id].len = (uint32_t)(VNET_HDR_LEN + len);
	q->desc[id].flags = 0;
	q->avail->ring[q->avail_idx & (q->size - 1)] = (uint16_t)id;
	q->avail_idx++;
	if (!v->in_poll || ++v->tx_unkicked >= CONFIG_NET_TX_BATCH)
		vnet_tx_kick(v);
	dev->stats.tx_frames++;
	dev->stats.tx_bytes += len;
	return 0;
}

static unsigned vnet_poll(struct netdev *dev, unsigned budget)
{
	struct vnet *v = dev->priv;
	struct virtq *q = &v->rxq;
	uint16_t used_idx = q->used->idx;
	unsigned n = 0;
	bool work = q->used_seen != used_idx;

	if (work) {
		PROFILE_ENTER(PROFILE_DRIVER_RX);
		v->in_poll = true;
	}
	io_rmb();
	while (q->used_seen != used_idx && n < budget) {
		volatile struct virtq_used_elem *e =
			&q->used->ring[q->used_seen & (q->size - 1)];
		uint32_t id = e->id, len = e->len;
		struct virtio_net_hdr *hdr;
		uint8_t *frame;
		size_t flen;

		q->used_seen++;
		if (id >= q->size) {
			dev->stats.rx_dropped++;
			continue; /* a device bug; the buffer id is lost */
		}
		hdr = (struct virtio_net_hdr *)(v->rx_buf + (size_t)id * VNET_BUF_SIZE);
		frame = (uint8_t *)hdr + VNET_HDR_LEN;
		if (len < VNET_HDR_LEN + NETDEV_ETH_HLEN || len > VNET_BUF_SIZE) {
			dev->stats.rx_dropped++;
			vnet_rx_give(v, (uint16_t)id);
			continue;
		}
		flen = len - VNET_HDR_LEN;
		/* 5.1.6.4 Processing of Incoming Packets: with GUEST_CSUM the
		 * device may hand over a partial checksum (NEEDS_CSUM); finish
		 * it here so the stack can verify as usual. DATA_VALID is not
		 * used: the stack verifies every frame. */
		if ((hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
		    netframe_csum_complete(frame, flen, hdr->csum_start, hdr->csum_offset) < 0) {
			dev->stats.rx_dropped++;
			vnet_rx_give(v, (uint16_t)id);
			continue;
		}
		dev->stats.rx_frames++;
		dev->stats.rx_bytes += flen;
		if (dev->rx)
			dev->rx(dev, frame, flen);
		vnet_rx_give(v, (uint16_t)id);
		n++;
	}
	if (n || q->avail->idx != q->avail_idx)
		virtq_publish(q);
	if (work) {
		v->in_poll = false;
		if (v->tx_unkicked)
			vnet_tx_kick(v);
		PROFILE_EXIT(PROFILE_DRIVER_RX);
	}
	vnet_tx_reclaim(v);
	return n;
}

static bool vnet_link_up(struct netdev *dev)
{
	struct vnet *v = dev->priv;
	uint16_t status;

	virtio_read_config(v->vd, VIRTIO_NET_CFG_STATUS, &status, sizeof(status));
	return status & VIRTIO_NET_S_LINK_UP;
}

static const struct netdev_ops vnet_ops = {
	.transmit = vnet_transmit,
	.poll = vnet_poll,
	.link_up = vnet_link_up,
	/* set_allmulti: without VIRTIO_NET_F_CTRL_RX the device stays in its
	 * reset state, which is promiscuous (5.1.6.5): nothing to do. */
};

/* Without VIRTIO_NET_F_STATUS there is no link state to read (5.1.5 step 6). */
static const struct netdev_ops vnet_ops_nostatus = {
	.transmit = vnet_transmit,
	.poll = vnet_poll,
};

static void vnet_random_mac(uint8_t mac[NETDEV_ETH_ALEN])
{
	uint64_t r = rdtsc() * VNET_MAC_MIX;
	unsigned i;

	for (i = 0; i < NETDEV_ETH_ALEN; i++)
		mac[i] = (uint8_t)(r >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & ~1u) | 2u); /* unicast, locally administered */
}

/* After 3.1.1 steps 1-6 (the transport's): steps 7-8 and the netdev. */
static int vnet_attach(struct virtio_dev *vd)
{
	struct vnet *v;
	uint16_t i, rx_irq = VIRTIO_NO_IRQ;
	uint16_t *tx_free = NULL;
	uint8_t *tx_held = NULL;
	int rc;

	v = calloc(1, sizeof(*v));
	if (!v) {
		console_printf(VNET_NAME ": out of memory\n");
		rc = -ENOMEM;
		goto fail;
	}
	v->vd = vd;

	/* 7. Device-specific setup (5.1.5 Device Initialization):
	 * 5.1.5 step 1: identify and initialise receiveq1 and transmitq1
	 * (receive interrupts first, 4.1.5.1.2: MSI-X on before the vector
	 * is given to the queue). */
#ifndef CONFIG_POLL
	rx_irq = virtio_irq(vd, VNET_MSIX_RX, netdev_irq_alloc(&v->netdev), VNET_NAME);
	if (rx_irq != VIRTIO_NO_IRQ)
		v->netdev.features |= NETDEV_F_IRQ;
#endif
	rc = virtio_setup_queue(vd, &v->rxq, VIRTIO_NET_RXQ, VNET_QUEUE_MAX, rx_irq, VNET_NAME);
	if (rc < 0)
		goto fail;
	rc = virtio_setup_queue(vd, &v->txq, VIRTIO_NET_TXQ, VNET_QUEUE_MAX, VIRTIO_NO_IRQ,
				VNET_NAME);
	if (rc < 0)
		goto fail;
	v->rx_buf = vnet_alloc_bufs(v->rxq.size);
	v->tx_buf = vnet_alloc_bufs(v->txq.size);
	tx_free = calloc(v->txq.size, sizeof(*tx_free));
	tx_held = calloc(v->txq.size, sizeof(*tx_held));
	if (!v->rx_buf || !v->tx_buf || !tx_free || !tx_held) {
		console_printf(VNET_NAME ": out of memory for %u+%u buffers\n",
			       v->rxq.size, v->txq.size);
		rc = -ENOMEM;
		goto fail;
	}
	virtq_ids_init(&v->tx_ids, tx_free, tx_held, v->txq.size);
	for (i = 0; i < v->txq.size; i++)
		v->txq.desc[i].addr = (uint64_t)(uintptr_t)(v->tx_buf + (size_t)i * VNET_BUF_SIZE);
	/* 5.1.5 step 3 / 5.1.6.3 Setting Up Receive Buffers: fill the
	 * receive queue, each buffer device-writable. */
	for (i = 0; i < v->rxq.size; i++) {
		v->rxq.desc[i].addr = (uint64_t)(uintptr_t)(v->rx_buf + (size_t)i * VNET_BUF_SIZE);
		v->rxq.desc[i].len = VNET_BUF_SIZE;
		v->rxq.desc[i].flags = VIRTQ_DESC_F_WRITE;
		vnet_rx_give(v, i);
	}
	/* 5.1.5 step 5: the MAC from the config space with F_MAC, else a
	 * random locally administered one. */
	if (vd->features & VIRTIO_BIT(VIRTIO_NET_F_MAC))
		virtio_read_config(vd, VIRTIO_NET_CFG_MAC, v->netdev.mac, NETDEV_ETH_ALEN);
	else
		vnet_random_mac(v->netdev.mac);

	/* 8. DRIVER_OK: the device is live. Then tell it about the buffers. */
	virtio_set_status(vd, VIRTIO_STATUS_DRIVER_OK);
	virtq_publish(&v->rxq);

	v->netdev.ops = &vnet_ops;
	v->netdev.driver = VNET_NAME;
	v->netdev.mtu = NETDEV_MTU_DEFAULT;
	v->netdev.priv = v;
	/* 5.1.5 step 6: without F_STATUS the link is assumed up. */
	if (!(vd->features & VIRTIO_BIT(VIRTIO_NET_F_STATUS)))
		v->netdev.ops = &vnet_ops_nostatus;
	rc = netdev_register(&v->netdev);
	if (rc < 0)
		goto fail;
	vd->driver_state = v;
	return 0;

fail:
	/* Rings and buffers stay allocated: the device may still point at
	 * them until the next reset. */
	virtio_fail(vd);
	return rc;
}

static const struct virtio_driver vnet_virtio = {
	.name = VNET_NAME,
	.device_id = VIRTIO_ID_NET,
	.device_cfg_min = VNET_CFG_MIN,
	.features = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
		    VIRTIO_BIT(VIRTIO_NET_F_MAC) |
		    VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
		    VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
		    VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM),
	.attach = vnet_attach,
};

static const struct pci_id vnet_ids[] = {
	{ VIRTIO_PCI_VENDOR, VIRTIO_NET_PCI_MODERN, &vnet_virtio },
	{ VIRTIO_PCI_VENDOR, VIRTIO_NET_PCI_TRANSITIONAL, &vnet_virtio },
	{ 0 },
};

PCI_DRIVER(vnet_driver) = {
	.name = VNET_NAME,
	.ids = vnet_ids,
	.probe = virtio_pci_probe,
};

#ifdef CONFIG_VIRTIO_MMIO
VIRTIO_MMIO_DRIVER(vnet_virtio);
#endif
