/* inet.h: IPv4/IPv6 socket addresses for the TCP, UDP and DNS APIs (CONFIG_NET). */
#ifndef UNICYCLE_INET_H
#define UNICYCLE_INET_H

#include <stddef.h>
#include <stdint.h>

/*
 * One address type for every network API: an IPv4 or IPv6 address and a
 * port. Addresses are in network byte order (as on the wire), the port in
 * host order. No lwIP type appears here or in tcp.h/udp.h/dns.h.
 */

#define UC_AF_UNSPEC 0   /* "any address": listen/bind on IPv4 and IPv6 */
#define UC_AF_INET   4
#define UC_AF_INET6  6

struct uc_sockaddr {
	uint8_t family;      /* UC_AF_INET, UC_AF_INET6 (UC_AF_UNSPEC: any) */
	uint8_t zone;        /* IPv6 link-local: interface index + 1 (0: none) */
	uint16_t port;       /* host byte order */
	uint8_t addr[16];    /* IPv4: the first 4 bytes */
};

/* Longest text uc_sockaddr_format() writes, NUL included
 * ("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%net3]:65535"). */
#define UC_SOCKADDR_STRLEN 56

/* Parses "a.b.c.d", "a.b.c.d:port", "v6", "[v6]", "[v6]:port" (a %netN
 * zone is allowed on link-local IPv6 only), and "*" or "*:port" for any
 * address (UC_AF_UNSPEC). Numbers are decimal without leading zeros; IPv6
 * follows RFC 4291 sec 2.2 (one "::", an IPv4 tail allowed). `default_port`
 * applies when the text names none. Returns 0 or -EINVAL (NULL text or
 * anything else, `out` then unchanged). */
int uc_sockaddr_parse(const char *text, uint16_t default_port, struct uc_sockaddr *out);

/* Writes "a.b.c.d:port", "[v6]:port" or "*:port" (UC_AF_UNSPEC); with
 * port 0 just "a.b.c.d", "v6" or "*". IPv6 in RFC 5952 form (lower case,
 * longest zero run as "::"). Returns the length without the NUL; -ENOSPC
 * when `len` is too small (buf then holds ""); -EINVAL for an unknown
 * family. */
int uc_sockaddr_format(const struct uc_sockaddr *a, char *buf, size_t len);

/* 1 when the two name the same family, address and port (and zone for
 * IPv6), else 0. An IPv4-mapped IPv6 address differs from the IPv4 one. */
int uc_sockaddr_equal(const struct uc_sockaddr *a, const struct uc_sockaddr *b);

#endif
