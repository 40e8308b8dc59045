/* dns.h: asynchronous host name lookups (lwIP's resolver; servers from DHCP or the manifest) (CONFIG_NET_DNS). */
#ifndef UNICYCLE_DNS_H
#define UNICYCLE_DNS_H

#include <unicycle/inet.h>

/* Runs once from the event loop: err 0 and `addr` (port 0), or -ENOENT
 * (no such name), -ETIMEDOUT (no server answered), -ENOMEM. Never runs
 * before uc_dns_lookup() returns. */
typedef void (*uc_dns_fn)(const char *name, int err, const struct uc_sockaddr *addr, void *arg);

/* Looks `name` up (A, or AAAA when family is UC_AF_INET6; UC_AF_UNSPEC:
 * A first, then AAAA). A numeric address answers at once (still through
 * the callback). Returns 0; -EINVAL (empty or over 255 bytes), -ENODEV
 * (no network or no DNS server), -ENOMEM (too many lookups in flight). */
int uc_dns_lookup(const char *name, unsigned family, uc_dns_fn fn, void *arg);

/* The server in slot `index` (0 or 1): 0, or -ENOENT when none is set. */
int uc_dns_server(unsigned index, struct uc_sockaddr *out);

#endif
