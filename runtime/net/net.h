/* net.h: the network stack's internal interfaces, one section per file. */
#ifndef UNICYCLE_NET_NET_H
#define UNICYCLE_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/netdev.h"

/* net.c: bring-up (called by kernel_main after pci_init) */
/* Starts lwIP, attaches every registered netdev, applies the boot info
 * network settings to net0 (DHCP unless boot.cfg says static) and the
 * others (DHCP), and adds the loop poller. Logs and returns when there is
 * no NIC: the app still runs. */
void net_init(void);
/* True once lwIP runs (at least one NIC was attached). */
bool net_is_running(void);
/* Interrupt mode: frames were handed to lwIP; re-arms its timer. */
void net_input_done(void);

/* ethif.c: the one lwIP glue layer over struct netdev */
struct netif;
/* Creates the lwIP netif for `dev`; returns it, NULL (logged) on failure. */
struct netif *ethif_add(struct netdev *dev);
/* One poll pass over every netdev (receive, reclaim); returns frames. */
unsigned ethif_poll_all(void);
/* Follows link state changes (at most every 100 ms). */
void ethif_check_links(void);
/* Interrupt mode: true (and the handler installed) when `dev` interrupts
 * on receive; false when it must be polled. Always false with CONFIG_POLL. */
bool ethif_use_irq(struct netdev *dev);

/* inetip.c: uc_sockaddr <-> lwIP addresses: see net/inetip.h (it needs
 * lwIP's headers, which this header does not). */

/* netaddr.c: IPv4 text forms (pure functions, host-tested). Addresses are
 * host byte order: 10.0.2.15 is 0x0a00020f. */
#define NETADDR_IPV4_STRLEN 16  /* "255.255.255.255" + NUL */
#define NETADDR_CIDR_STRLEN 19  /* + "/32" */
/* "a.b.c.d", each part decimal 0..255, no leading '+', nothing after.
 * Returns 0 or -EINVAL. */
int netaddr_parse_ipv4(const char *s, uint32_t *addr);
/* "a.b.c.d/len" with len 0..32; a missing "/len" is -EINVAL. */
int netaddr_parse_cidr(const char *s, uint32_t *addr, unsigned *prefix);
uint32_t netaddr_prefix_to_mask(unsigned prefix);    /* 24 -> 0xffffff00 */
int netaddr_mask_to_prefix(uint32_t mask);           /* -EINVAL if not contiguous */
/* Writes "a.b.c.d" (NUL-terminated) into buf[NETADDR_IPV4_STRLEN]. */
void netaddr_format_ipv4(char *buf, uint32_t addr);

#endif
