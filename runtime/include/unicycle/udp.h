/* udp.h: UDP datagrams on the event loop: bind, send to, receive with the sender's address (CONFIG_NET). */
#ifndef UNICYCLE_UDP_H
#define UNICYCLE_UDP_H

#include <stddef.h>
#include <stdint.h>

#include <unicycle/inet.h>

struct uc_udp;   /* a bound UDP port */

/* Runs from the event loop for each datagram; `data` is valid only during
 * the call (no copy when the datagram arrived in one buffer, one copy when
 * it came in pieces, e.g. reassembled from IP fragments). `from` is the
 * sender's address and port: answer with uc_udp_sendto(u, from, ...). */
typedef void (*uc_udp_recv_fn)(struct uc_udp *u, const struct uc_sockaddr *from,
			       const void *data, size_t len, void *arg);

/* Binds `local` (NULL or UC_AF_UNSPEC: every address, IPv4 and IPv6; its
 * port field is ignored) at `port` (0: an ephemeral port; uc_udp_local()
 * tells which). Returns 0 and *out; -EADDRINUSE, -ENOMEM, -ENODEV (no
 * network), -EINVAL (NULL fn or out), -EAFNOSUPPORT (IPv6 address without
 * CONFIG_NET_IPV6). */
int uc_udp_bind(const struct uc_sockaddr *local, uint16_t port, uc_udp_recv_fn fn, void *arg,
		struct uc_udp **out);
/* Sends one datagram of `len` bytes (copied) to `to`, at once (a peer
 * whose link address is not known yet is queued behind ARP/ND). Returns 0;
 * -EINVAL (port 0, UC_AF_UNSPEC, NULL data with a length), -EMSGSIZE
 * (above 65507 bytes), -ENETUNREACH (no route, or no address yet),
 * -ENOMEM, -EAFNOSUPPORT (IPv6 peer on a socket bound to an IPv4 address,
 * or the reverse). */
int uc_udp_sendto(struct uc_udp *u, const struct uc_sockaddr *to, const void *data, size_t len);
/* The bound address and port: 0, or -EINVAL (NULL argument). */
int uc_udp_local(const struct uc_udp *u, struct uc_sockaddr *out);
/* Unbinds and frees `u`; no callback runs for it afterwards. May be
 * called from its own receive callback. */
void uc_udp_close(struct uc_udp *u);

#endif
