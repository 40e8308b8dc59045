/* inetip.c: uc_sockaddr <-> lwIP ip_addr_t, for tcp.c, udp.c and dns.c. */
#include <errno.h>
#include <string.h>

#include "net/inetip.h"
#include "net/net.h"

void inetip_to_sockaddr(const ip_addr_t *ip, uint16_t port, struct uc_sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	out->port = port;
#if LWIP_IPV6
	if (IP_IS_V6(ip)) {
		out->family = UC_AF_INET6;
		memcpy(out->addr, ip_2_ip6(ip)->addr, sizeof(ip_2_ip6(ip)->addr));
		out->zone = (uint8_t)ip6_addr_zone(ip_2_ip6(ip));
		return;
	}
	if (IP_IS_ANY_TYPE_VAL(*ip)) {
		out->family = UC_AF_UNSPEC;
		return;
	}
#endif
	out->family = UC_AF_INET;
	memcpy(out->addr, &ip_2_ip4(ip)->addr, sizeof(ip_2_ip4(ip)->addr));
}

int inetip_from_sockaddr(const struct uc_sockaddr *a, ip_addr_t *ip)
{
	switch (a->family) {
	case UC_AF_UNSPEC:
		ip_addr_copy(*ip, *IP_ANY_TYPE);
		return 0;
	case UC_AF_INET:
		ip_addr_set_zero_ip4(ip);
		memcpy(&ip_2_ip4(ip)->addr, a->addr, sizeof(ip_2_ip4(ip)->addr));
		return 0;
	case UC_AF_INET6:
#if LWIP_IPV6
		ip_addr_set_zero_ip6(ip);
		memcpy(ip_2_ip6(ip)->addr, a->addr, sizeof(ip_2_ip6(ip)->addr));
		ip6_addr_set_zone(ip_2_ip6(ip), a->zone);
		return 0;
#else
		return -EAFNOSUPPORT;
#endif
	default:
		return -EINVAL;
	}
}

int inetip_local(const struct uc_sockaddr *local, ip_addr_t *ip, u8_t *type)
{
	if (!net_is_running())
		return -ENODEV;
	*type = IPADDR_TYPE_ANY;
	ip_addr_copy(*ip, *IP_ANY_TYPE);
	if (!local || local->family == UC_AF_UNSPEC)
		return 0;
	*type = local->family == UC_AF_INET6 ? IPADDR_TYPE_V6 : IPADDR_TYPE_V4;
	return inetip_from_sockaddr(local, ip);
}
