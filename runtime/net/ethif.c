/* ethif.c: the one lwIP glue layer: every struct netdev becomes an lwIP netif. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "kernel/profile.h"
#include "net/ethif.h"

#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

/*
 * Shaped after lwIP's ethernetif skeleton: netif->state is the ethif,
 * ethif_output() is low_level_output, ethif_rx() is low_level_input +
 * ethernetif_input. Frames are copied both ways (into a pool pbuf on
 * receive, into the driver's DMA buffer on transmit): small frames dominate
 * HTTP traffic and a copy is cheaper than tracking buffer ownership.
 */

#define ETHIF_MAX_FRAGS        16          /* pbufs per frame before linearising */
#define ETHIF_LINK_CHECK_NS    (100ull * 1000 * 1000)

static struct ethif *ethif_table[NETDEV_MAX];
static unsigned ethif_n;
static uint64_t ethif_next_link_check;
/* Linear copy of a frame whose pbuf chain is longer than ETHIF_MAX_FRAGS. */
static uint8_t ethif_linear[NETDEV_FRAME_MAX];

static err_t ethif_output(struct netif *netif, struct pbuf *p)
{
	struct netdev *dev = ((struct ethif *)netif->state)->dev;
	struct netdev_frag frags[ETHIF_MAX_FRAGS];
	unsigned n = 0;
	struct pbuf *q;
	int rc;

	if (p->tot_len > NETDEV_ETH_HLEN + dev->mtu) {
		dev->stats.tx_dropped++;
		return ERR_BUF;
	}
	if (pbuf_clen(p) <= ETHIF_MAX_FRAGS) {
		for (q = p; q; q = q->next) {
			if (q->len == 0)
				continue;
			frags[n].data = q->payload;
			frags[n].len = q->len;
			n++;
		}
	} else {
		pbuf_copy_partial(p, ethif_linear, p->tot_len, 0);
		frags[0].data = ethif_linear;
		frags[0].len = p->tot_len;
		n = 1;
	}
	PROFILE_ENTER(PROFILE_OUTPUT);
	rc = dev->ops->transmit(dev, frags, n);
	PROFILE_EXIT(PROFILE_OUTPUT);
	if (rc < 0) {
		/* ERR_MEM keeps a TCP segment queued for the next tcp_output. */
		dev->stats.tx_dropped++;
		return rc == -EAGAIN ? ERR_MEM : ERR_IF;
	}
	return ERR_OK;
}

#define ETHIF_IPV4_LOOPBACK_NET 127

/* A frame from the wire whose IP source is a loopback address (RFC 1122
 * 3.2.1.3 (g), RFC 4291 2.5.3: never outside a host) or one of this
 * netif's own addresses (no other host sends from it: a "land" packet).
 * lwIP would answer either, to itself or into the void: a SYN from one
 * holds a half-open connection and its buffers for lwIP's 20 s SYN_RCVD
 * timeout. An IPv6 address still in DAD does not count as ours, so a
 * defender's advertisement from it still arrives. */
static bool ethif_martian(struct netif *netif, const void *frame, size_t len)
{
	const uint8_t *src;
	size_t n = netframe_ip_src(frame, len, &src);

#if LWIP_IPV4
	if (n == 4) {
		ip4_addr_t a;

		memcpy(&a.addr, src, 4);
		return src[0] == ETHIF_IPV4_LOOPBACK_NET ||
		       (!ip4_addr_isany_val(*netif_ip4_addr(netif)) &&
			ip4_addr_cmp(&a, netif_ip4_addr(netif)));
	}
#endif
#if LWIP_IPV6
	if (n == 16) {
		ip6_addr_t a;
		s8_t i;

		memcpy(a.addr, src, 16);
		ip6_addr_clear_zone(&a);
		if (ip6_addr_isloopback(&a))
			return true;
		for (i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++)
			if (ip6_addr_isvalid(netif_ip6_addr_state(netif, i)) &&
			    ip6_addr_cmp_zoneless(&a, netif_ip6_addr(netif, i)))
				return true;
	}
#endif
	(void)netif;
	(void)n;
	return false;
}

static void ethif_rx(struct netdev *dev, const void *frame, size_t len)
{
	struct netif *netif = &dev->ethif->netif;
	struct pbuf *p;

	if (len < NETDEV_ETH_HLEN || len > NETDEV_FRAME_MAX + 4 /* VLAN tag */ ||
	    ethif_martian(netif, frame, len)) {
		dev->stats.rx_dropped++;
		return;
	}
	p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
	if (!p) {
		/* The pool is empty, and out-of-order TCP segments are likely what
		 * fills it: one-byte segments with holes take a pool pbuf each,
		 * so one connection can hold all of them. The failed pbuf_alloc
		 * asked lwIP to drop one connection's out-of-order queue, which
		 * NO_SYS lwIP does at the next sys_check_timeouts(): too late for
		 * this frame, and a dropped SYN costs the sender a 1 s
		 * retransmission. Drop the queue now and try once more. */
		PBUF_CHECK_FREE_OOSEQ();
		p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
	}
	if (!p) {
		dev->stats.rx_dropped++;
		return;
	}
	pbuf_take(p, frame, (u16_t)len);
	PROFILE_ENTER(PROFILE_LWIP_IN);
	if (netif->input(p, netif) != ERR_OK) {
		pbuf_free(p);
		dev->stats.rx_dropped++;
	}
	PROFILE_EXIT(PROFILE_LWIP_IN);
}

#if LWIP_IPV6 && LWIP_IPV6_MLD
/* The NIC receives every multicast frame (set_allmulti at attach time, or
 * the device does so by default), so MLD joins need no filter changes. */
static err_t ethif_mld_filter(struct netif *netif, const ip6_addr_t *group,
			      enum netif_mac_filter_action action)
{
	(void)netif;
	(void)group;
	(void)action;
	return ERR_OK;
}
#endif

static err_t ethif_netif_init(struct netif *netif)
{
	struct netdev *dev = ((struct ethif *)netif->state)->dev;

	netif->name[0] = 'e';
	netif->name[1] = 'n';
	netif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(netif->hwaddr, dev->mac, ETH_HWADDR_LEN);
	netif->mtu = dev->mtu;
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP |
		       NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP;
#if LWIP_IPV4
	netif->output = etharp_output;
#endif
#if LWIP_IPV6
	netif->output_ip6 = ethip6_output;
	netif->mtu6 = dev->mtu;
#if LWIP_IPV6_MLD
	netif->flags |= NETIF_FLAG_MLD6;
	netif->mld_mac_filter = ethif_mld_filter;
#endif
#endif
	netif->linkoutput = ethif_output;
	return ERR_OK;
}

struct ethif *ethif_add(struct netdev *dev)
{
	struct ethif *e;
	int rc;

	if (ethif_n == NETDEV_MAX)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e) {
		console_printf("net: %s: out of memory for the netif\n", dev->name);
		return NULL;
	}
	e->dev = dev;
	dev->rx = ethif_rx;
	dev->ethif = e;
	if (dev->ops->set_allmulti) {
		rc = dev->ops->set_allmulti(dev, true);
		if (rc < 0)
			console_printf("net: %s: cannot receive all multicast "
				       "(%d), IPv6 may not work\n", dev->name, rc);
	}
	if (!netif_add(&e->netif, NULL, NULL, NULL, e, ethif_netif_init,
		       netif_input)) {
		console_printf("net: %s: netif_add failed\n", dev->name);
		dev->rx = NULL;
		dev->ethif = NULL;
		free(e);
		return NULL;
	}
	netif_set_up(&e->netif);
	e->link = netdev_link_up(dev);
	if (e->link)
		netif_set_link_up(&e->netif);
	else
		console_printf("net: %s: link down\n", dev->name);
#if LWIP_IPV6
	netif_create_ip6_linklocal_address(&e->netif, 1);
#if LWIP_IPV6_AUTOCONFIG
	netif_set_ip6_autoconfig_enabled(&e->netif, 1);
#endif
#endif
	ethif_table[ethif_n++] = e;
	return e;
}

struct ethif *ethif_of(struct netif *netif)
{
	return netif->linkoutput == ethif_output ? netif->state : NULL;
}

unsigned ethif_poll(struct ethif *e)
{
	return e->dev->ops->poll(e->dev, ETHIF_RX_BUDGET);
}

unsigned ethif_poll_all(void)
{
	unsigned i, n = 0;

	for (i = 0; i < ethif_n; i++)
		n += ethif_poll(ethif_table[i]);
	return n;
}

void ethif_check_links(void)
{
	uint64_t now = time_ns();
	unsigned i;

	/* Link state changes are rare: look every 100 ms. */
	if (now < ethif_next_link_check)
		return;
	ethif_next_link_check = now + ETHIF_LINK_CHECK_NS;
	for (i = 0; i < ethif_n; i++) {
		struct ethif *e = ethif_table[i];
		bool up;

		if (!e->dev->ops->link_up)
			continue;
		up = e->dev->ops->link_up(e->dev);
		if (up == e->link)
			continue;
		e->link = up;
		console_printf("net: %s: link %s\n", e->dev->name, up ? "up" : "down");
		if (up)
			netif_set_link_up(&e->netif);
		else
			netif_set_link_down(&e->netif);
	}
}
