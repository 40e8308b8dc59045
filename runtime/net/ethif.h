/* ethif.h: the one lwIP glue layer over struct netdev, per ethif.c (needs lwIP's headers, which net.h does not). */
#ifndef UNICYCLE_NET_ETHIF_H
#define UNICYCLE_NET_ETHIF_H

#include <stdbool.h>

#include "lwip/netif.h"
#include "net/netdev.h"

/*
 * One per attached netdev, and the typed way between the three views of a
 * NIC: netdev->ethif, ethif->dev, and ethif_of(netif) for the netif lwIP
 * hands to callbacks. What the stack keeps per device lives here.
 */
struct ethif {
	struct netif netif;      /* netif.state points back here */
	struct netdev *dev;
	bool link;               /* last link state seen (ethif_check_links) */
	const char *method;      /* "dhcp" or "static" once net.c configured it */
};

#define ETHIF_RX_BUDGET 64       /* frames per device per poll */

/* Creates the lwIP netif for `dev` (dev->ethif is set); returns the
 * ethif, NULL (logged) on failure. */
struct ethif *ethif_add(struct netdev *dev);
/* The ethif behind an lwIP netif; NULL for a netif this glue did not make. */
struct ethif *ethif_of(struct netif *netif);
/* One poll of one device (receive, reclaim): frames delivered, at most
 * ETHIF_RX_BUDGET. */
unsigned ethif_poll(struct ethif *e);
/* ethif_poll over every attached device; returns frames. */
unsigned ethif_poll_all(void);
/* Follows link state changes (at most every 100 ms). */
void ethif_check_links(void);

#endif
