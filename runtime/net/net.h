/* net.h: the network stack's internal interfaces that need no lwIP header, one section per file (ethif.c: net/ethif.h). */
#ifndef UNICYCLE_NET_NET_H
#define UNICYCLE_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/netdev.h"

/* net.c: bring-up at the INIT_STACK init level (after the bus level
 * registered the NICs), the DHCP/static configuration, the loop poller or
 * the receive-interrupt handler. Calls down into ethif.c (net/ethif.h),
 * never the other way. */
/* True once lwIP runs (at least one NIC was attached). */
bool net_is_running(void);
/* Called by the layers above (tcp.c) after they entered lwIP outside its
 * input path: lwIP may have started a timer (TCP, ARP) due before the one
 * armed. Re-arms it in interrupt mode; nothing to do when polling. */
void net_timeouts_changed(void);

/* inetip.c: uc_sockaddr <-> lwIP addresses: see net/inetip.h (it needs
 * lwIP's headers, which this header does not). */

/* netaddr.c: IPv4 text forms (pure functions, host-tested). Addresses are
 * host byte order: 10.0.2.15 is 0x0a00020f. */
#define NETADDR_IPV4_STRLEN 16  /* "255.255.255.255" + NUL */
#define NETADDR_IFADDR_STRLEN 32 /* "255.255.255.255/255.255.255.255" + NUL */
/* "a.b.c.d", each part decimal 0..255, no leading '+', nothing after.
 * Returns 0 or -EINVAL. */
int netaddr_parse_ipv4(const char *s, uint32_t *addr);
/* "a.b.c.d/len" with len 0..32; a missing "/len" is -EINVAL. */
int netaddr_parse_cidr(const char *s, uint32_t *addr, unsigned *prefix);
uint32_t netaddr_prefix_to_mask(unsigned prefix);    /* 24 -> 0xffffff00 */
int netaddr_mask_to_prefix(uint32_t mask);           /* -EINVAL if not contiguous */
/* Writes "a.b.c.d" (NUL-terminated) into buf[NETADDR_IPV4_STRLEN]. */
void netaddr_format_ipv4(char *buf, uint32_t addr);
/* An interface address with its netmask: "a.b.c.d/len", or, for a mask
 * that is not contiguous (a DHCP server may hand one out; it has no prefix
 * length), the mask itself: "a.b.c.d/m.m.m.m". Returns the length written
 * (NUL not counted) or -ENOSPC when `len` bytes cannot hold it
 * (NETADDR_IFADDR_STRLEN always can). */
int netaddr_format_ifaddr(char *buf, size_t len, uint32_t addr, uint32_t mask);

#endif
