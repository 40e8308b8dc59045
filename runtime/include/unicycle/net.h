/* net.h: the network status an application can query (CONFIG_NET). */
#ifndef UNICYCLE_NET_H
#define UNICYCLE_NET_H

#include <stddef.h>

/*
 * The runtime brings the network up before app_main(): every supported NIC
 * becomes net0, net1, ... in PCI order; net0 takes the settings of
 * boot.cfg (`net = static`, `address = a.b.c.d/len`, `gateway = a.b.c.d`),
 * everything else uses DHCP. Each interface also has an IPv6 link-local
 * address. The console shows the address in use, e.g.
 *   unicycle: net0 10.0.2.15/24 via dhcp
 * DHCP finishes from the event loop, after app_main() has started: servers
 * listen on the wildcard address and need not wait for it.
 */

/* Longest text uc_net_ipv4() writes, NUL included
 * ("255.255.255.255/255.255.255.255", a netmask that is not contiguous). */
#define UC_NET_IPV4_STRLEN 32

/* Writes the IPv4 address of interface `index` as "a.b.c.d/len" into buf
 * ("a.b.c.d/m.m.m.m" when the netmask has no prefix length: not
 * contiguous). Returns 0; -ENODEV when there is no such interface (or no
 * network); -EAGAIN while it has no address yet (DHCP pending); -ENOSPC
 * when the text does not fit `len` bytes (UC_NET_IPV4_STRLEN always do). */
int uc_net_ipv4(unsigned index, char *buf, size_t len);

#endif
