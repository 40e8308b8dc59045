/* dns.c: <unicycle/dns.h> over lwIP's resolver; servers from DHCP (lwIP) or the boot info (manifest [network] dns). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "net/inetip.h"
#include "net/net.h"
#include <unicycle/dns.h>

#include "lwip/dns.h"
#include "lwip/ip.h"

#define DNS_NAME_MAX 255   /* RFC 1035 sec 2.3.4, without the NUL */

struct dns_lookup {
	uc_dns_fn fn;
	void *arg;
	bool in_call;             /* uc_dns_lookup() has not returned yet */
	int err;                  /* result kept for a deferred answer */
	struct uc_sockaddr addr;
	char name[];
};

/* Servers from the boot info take the slots DHCP would fill; applied
 * before each use, since a DHCP lease (or its renewal) sets them again. */
static void dns_apply_boot_servers(void)
{
	ip_addr_t ip;
	uint32_t v4;

	if (!bootinfo.net_dns[0])
		return;
	for (u8_t i = 0; i < DNS_MAX_SERVERS; i++) {
		const char *s = i < BOOTINFO_NET_DNS_MAX ? bootinfo.net_dns[i] : NULL;

		ip_addr_set_zero_ip4(&ip);
		if (s && netaddr_parse_ipv4(s, &v4) == 0)
			ip_addr_set_ip4_u32_val(ip, lwip_htonl(v4));
		else if (s)
			console_printf("dns: boot info server \"%s\" is not a.b.c.d\n", s);
		dns_setserver(i, &ip);
	}
}

static bool dns_have_server(void)
{
	for (u8_t i = 0; i < DNS_MAX_SERVERS; i++)
		if (!ip_addr_isany(dns_getserver(i)))
			return true;
	return false;
}

static void dns_deliver(void *arg)
{
	struct dns_lookup *q = arg;

	q->fn(q->name, q->err, q->err ? NULL : &q->addr, q->arg);
	free(q);
}

static void dns_found(const char *name, const ip_addr_t *ip, void *arg)
{
	struct dns_lookup *q = arg;

	(void)name;
	if (ip) {
		inetip_to_sockaddr(ip, 0, &q->addr);
		q->err = 0;
	} else {
		/* lwIP reports "no such name" and "nobody answered" alike. An
		 * answer is delivered while lwIP processes a received packet
		 * (ip_current_netif() is set); its own retry timer gives up
		 * from the timeout handler, outside any packet. */
		q->err = ip_current_netif() ? -ENOENT : -ETIMEDOUT;
	}
	if (q->in_call) {
		if (loop_defer(dns_deliver, q) < 0) {
			console_printf("dns: deferred-work queue full, answer for %s lost\n", q->name);
			free(q);
		}
		return;
	}
	dns_deliver(q);
}

int uc_dns_lookup(const char *name, unsigned family, uc_dns_fn fn, void *arg)
{
	struct dns_lookup *q;
	size_t len;
	ip_addr_t ip;
	u8_t type;
	err_t err;

	if (!name || !fn)
		return -EINVAL;
	len = strlen(name);
	if (len == 0 || len > DNS_NAME_MAX)
		return -EINVAL;
	switch (family) {
	case UC_AF_INET:   type = LWIP_DNS_ADDRTYPE_IPV4; break;
#if LWIP_IPV6
	case UC_AF_INET6:  type = LWIP_DNS_ADDRTYPE_IPV6; break;
	case UC_AF_UNSPEC: type = LWIP_DNS_ADDRTYPE_IPV4_IPV6; break;
#else
	case UC_AF_INET6:  return -EAFNOSUPPORT;
	case UC_AF_UNSPEC: type = LWIP_DNS_ADDRTYPE_IPV4; break;
#endif
	default:           return -EINVAL;
	}
	if (!net_is_running())
		return -ENODEV;
	dns_apply_boot_servers();
	q = malloc(sizeof(*q) + len + 1);
	if (!q)
		return -ENOMEM;
	memcpy(q->name, name, len + 1);
	q->fn = fn;
	q->arg = arg;
	q->in_call = true;
	/* A numeric address needs no server. */
	if (ipaddr_aton(name, &ip)) {
		dns_found(name, &ip, q);
		return 0;
	}
	if (!dns_have_server()) {
		free(q);
		return -ENODEV;
	}
	err = dns_gethostbyname_addrtype(q->name, &ip, dns_found, q, type);
	switch (err) {
	case ERR_OK:           /* cached: answered through the loop */
		dns_found(name, &ip, q);
		return 0;
	case ERR_INPROGRESS:
		q->in_call = false;
		net_timeouts_changed();   /* the query started lwIP's DNS timer */
		return 0;
	default:
		free(q);
		return err == ERR_MEM ? -ENOMEM : -EINVAL;
	}
}

int uc_dns_server(unsigned index, struct uc_sockaddr *out)
{
	const ip_addr_t *ip;

	if (!out)
		return -EINVAL;
	if (!net_is_running())
		return -ENODEV;
	if (index >= DNS_MAX_SERVERS)
		return -ENOENT;
	dns_apply_boot_servers();
	ip = dns_getserver((u8_t)index);
	if (ip_addr_isany(ip))
		return -ENOENT;
	inetip_to_sockaddr(ip, 53, out);
	return 0;
}
