/* netdev.h: the network device interface between NIC drivers and the stack. */
#ifndef UNICYCLE_NET_NETDEV_H
#define UNICYCLE_NET_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A NIC driver fills one `const struct netdev_ops` and one `struct netdev`
 * per device, then calls netdev_register() from its PCI probe. The stack
 * glue (ethif.c, the only user of lwIP here) finds devices with
 * netdev_count()/netdev_at(), installs its receive callback and polls.
 * Nothing in this header depends on lwIP: drivers move plain Ethernet
 * frames (destination MAC first, no FCS).
 *
 * Run-to-completion: every op is called from the event loop, never from an
 * interrupt handler, and never re-entered.
 */

#define NETDEV_ETH_ALEN     6
#define NETDEV_ETH_HLEN     14     /* destination, source, EtherType */
#define NETDEV_MTU_DEFAULT  1500
#define NETDEV_FRAME_MAX    (NETDEV_ETH_HLEN + NETDEV_MTU_DEFAULT)
#define NETDEV_NAME_LEN     8      /* "net0" plus room */

struct netdev;
struct ethif;

/* ---- shared types (netdev_core) ---- */

/* One piece of an outgoing frame; a frame is a gather list of these. */
struct netdev_frag {
	const void *data;
	size_t len;
};

/* Feature bits (struct netdev.features): what the driver set up. Link
 * state is an op (link_up), not a bit. Received frames carry no checksum
 * verdict: lwIP checks every frame in software. */
#define NETDEV_F_IRQ       (1u << 0)  /* receive interrupts set up (netdev_irq_alloc) */

/* Called by the driver for each received frame, from inside ops->poll.
 * `frame` is valid only during the call: the stack copies what it keeps.
 * A partial checksum the device left (virtio NEEDS_CSUM) must be completed
 * first (netframe_csum_complete). */
typedef void (*netdev_rx_fn)(struct netdev *dev, const void *frame, size_t len);

struct netdev_ops {
	/* REQUIRED. Queues one frame gathered from `frags` (total length
	 * <= NETDEV_FRAME_MAX). The driver copies or maps the data before
	 * returning; the caller may reuse the buffers at once. Returns 0,
	 * -EAGAIN when the transmit ring is full (the frame is dropped by the
	 * caller), -EINVAL for a bad length. */
	int (*transmit)(struct netdev *dev, const struct netdev_frag *frags,
			unsigned nfrags);
	/* REQUIRED. Hands up to `budget` received frames to dev->rx, refills
	 * the receive ring, reclaims finished transmissions. Returns the number
	 * of frames delivered (0 when idle). */
	unsigned (*poll)(struct netdev *dev, unsigned budget);
	/* OPTIONAL (NULL: link always up). Current link state. */
	bool (*link_up)(struct netdev *dev);
	/* OPTIONAL (NULL: not supported). Accept every multicast frame (needed
	 * by IPv6 neighbour discovery when the device filters multicast). */
	int (*set_allmulti)(struct netdev *dev, bool on);
};

struct netdev_stats {
	uint64_t rx_frames, rx_bytes, rx_dropped;
	uint64_t tx_frames, tx_bytes, tx_dropped;
};

struct netdev {
	/* Filled by the driver before netdev_register(). */
	const struct netdev_ops *ops;   /* required */
	const char *driver;             /* "virtio-net", "e1000e" */
	uint8_t mac[NETDEV_ETH_ALEN];
	uint16_t mtu;                   /* payload bytes, NETDEV_MTU_DEFAULT */
	uint32_t features;              /* NETDEV_F_* */
	void *priv;                     /* driver state */

	/* Filled by netdev_register(). */
	char name[NETDEV_NAME_LEN];     /* "net0", "net1", ... */
	unsigned index;

	/* Filled by the stack. */
	netdev_rx_fn rx;                /* ethif.c */
	void (*irq_handler)(struct netdev *dev); /* net.c; runs from the loop */
	struct ethif *ethif;            /* its lwIP glue (net/net.h), NULL until attached */

	/* Counters kept by drivers (tx_dropped by the glue as well). */
	struct netdev_stats stats;
};

/* ---- what drivers call (netdev.c) ---- */

/* Adds `dev` (which must stay allocated) to the device list and names it.
 * Returns 0, -EINVAL when a required op is missing, -ENOSPC when the table
 * is full (NETDEV_MAX). */
int netdev_register(struct netdev *dev);
#define NETDEV_MAX 4

/* Interrupt mode (CONFIG_POLL unset): a CPU vector whose interrupts run
 * dev->irq_handler from the event loop. The driver points its receive
 * interrupt (MSI-X entry, MSI) at it and sets NETDEV_F_IRQ; with
 * CONFIG_POLL drivers do not call this and the stack polls. Returns the
 * vector or a negative errno (logged). */
int netdev_irq_alloc(struct netdev *dev);

/* ---- frame helpers for drivers (netframe.c) ---- */

/* Completes a partial TCP/UDP checksum in place (virtio NEEDS_CSUM frames,
 * VIRTIO 1.1 sec 5.1.6.4): sums frame[start..len) and stores the folded
 * result at frame[start + offset]. Returns 0, -EINVAL when out of bounds. */
int netframe_csum_complete(void *frame, size_t len, size_t start, size_t offset);

/* The IP source address of an untagged Ethernet frame: sets *src to its
 * first byte and returns 4 (IPv4) or 16 (IPv6); 0 when the frame is not IP
 * or too short to hold the address. */
size_t netframe_ip_src(const void *frame, size_t len, const uint8_t **src);

/* ---- what the stack calls (netdev.c) ---- */

unsigned netdev_count(void);
struct netdev *netdev_at(unsigned index);  /* NULL past the end */

static inline bool netdev_link_up(struct netdev *dev)
{
	return dev->ops->link_up ? dev->ops->link_up(dev) : true;
}

#endif
