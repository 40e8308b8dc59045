/* udp.h: UDP datagrams on the event loop: bind, send to, receive with the sender's address (CONFIG_NET). */
#ifndef UNICYCLE_UDP_H
#define UNICYCLE_UDP_H

#include <stddef.h>
#include <stdint.h>

#include <unicycle/inet.h>

struct uc_udp;   /* a bound UDP port */

/* Runs from the event loop for each datagram; `data` is valid only during
 * the call (no copy when the datagram arrived in one buffer). */
typedef void (*uc_udp_recv_fn)(struct uc_udp *u, const struct uc_sockaddr *from,
			       const void *data, size_t len, void *arg);

/* Binds `local` (NULL: every address, IPv4 and IPv6) at `port` (0: an
 * ephemeral port; uc_udp_local() tells which). Returns 0 and *out;
 * -EADDRINUSE, -ENOMEM, -ENODEV, -EINVAL. */
int uc_udp_bind(const struct uc_sockaddr *local, uint16_t port, uc_udp_recv_fn fn, void *arg,
		struct uc_udp **out);
/* Sends one datagram of `len` bytes (copied) to `to`. Returns 0; -EMSGSIZE
 * (above 65507 bytes), -ENETUNREACH, -ENOMEM, -EAFNOSUPPORT (IPv6 peer on
 * a socket bound to an IPv4 address, or the reverse). */
int uc_udp_sendto(struct uc_udp *u, const struct uc_sockaddr *to, const void *data, size_t len);
int uc_udp_local(const struct uc_udp *u, struct uc_sockaddr *out);
void uc_udp_close(struct uc_udp *u);

#endif
