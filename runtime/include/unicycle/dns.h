/* dns.h: asynchronous host name lookups (lwIP's resolver; servers from DHCP or the manifest) (CONFIG_NET_DNS). */
#ifndef UNICYCLE_DNS_H
#define UNICYCLE_DNS_H

#include <unicycle/inet.h>

/* Runs once from the event loop: err 0 and `addr` (port 0), or -ENOENT
 * (the server answered: no such name, or no address of that family),
 * -ETIMEDOUT (no server answered; lwIP tries each server 4 times over
 * about 7 s). `addr` is NULL on error; `name` is the looked-up name, valid
 * during the call. Never runs before uc_dns_lookup() returns. */
typedef void (*uc_dns_fn)(const char *name, int err, const struct uc_sockaddr *addr, void *arg);

/* Looks `name` up (A for UC_AF_INET, AAAA for UC_AF_INET6; UC_AF_UNSPEC:
 * A first, then AAAA). A numeric address, or a name still in lwIP's cache,
 * answers at once (still through the callback, from the loop). Returns 0;
 * -EINVAL (NULL fn, empty name or over 255 bytes, unknown family),
 * -EAFNOSUPPORT (UC_AF_INET6 without CONFIG_NET_IPV6), -ENODEV (no
 * network, or no DNS server yet: with DHCP the servers come with the
 * lease), -ENOMEM (out of memory or too many lookups in flight: 4). */
int uc_dns_lookup(const char *name, unsigned family, uc_dns_fn fn, void *arg);

/* The server in slot `index` (0 or 1), port 53: 0; -ENOENT when none is
 * set (or index > 1), -ENODEV without network, -EINVAL (NULL out). */
int uc_dns_server(unsigned index, struct uc_sockaddr *out);

#endif
