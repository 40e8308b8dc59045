/* inetip.h: uc_sockaddr <-> lwIP ip_addr_t (inetip.c), for the code behind tcp.h, udp.h and dns.h. */
#ifndef UNICYCLE_NET_INETIP_H
#define UNICYCLE_NET_INETIP_H

#include <stdint.h>

#include <unicycle/inet.h>

#include "lwip/ip_addr.h"

/* Fills `out` from lwIP's address (an any-type address is UC_AF_UNSPEC). */
void inetip_to_sockaddr(const ip_addr_t *ip, uint16_t port, struct uc_sockaddr *out);
/* 0; -EAFNOSUPPORT (IPv6 without CONFIG_NET_IPV6), -EINVAL (bad family).
 * UC_AF_UNSPEC gives lwIP's any-type address. The port is not touched. */
int inetip_from_sockaddr(const struct uc_sockaddr *a, ip_addr_t *ip);
/* A local address to bind (NULL or UC_AF_UNSPEC: any, IPv4 and IPv6) and
 * the lwIP PCB type for it. 0; -ENODEV (no network), or as above. */
int inetip_local(const struct uc_sockaddr *local, ip_addr_t *ip, u8_t *type);

#endif
