/* udp.c: <unicycle/udp.h> over lwIP's raw UDP API: bind, send to, receive with the sender's address. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "net/inetip.h"
#include "net/net.h"
#include <unicycle/udp.h>

#include "lwip/pbuf.h"
#include "lwip/udp.h"

#define UDP_MAX_PAYLOAD 65507u   /* 65535 - 20 (IPv4) - 8 (UDP) */

struct uc_udp {
	struct udp_pcb *pcb;
	uc_udp_recv_fn fn;
	void *arg;
};

static void udp_lwip_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p,
			  const ip_addr_t *addr, u16_t port)
{
	struct uc_udp *u = arg;
	struct uc_sockaddr from;
	void *copy = NULL;
	const void *data = p->payload;

	(void)pcb;
	if (p->len != p->tot_len) {
		/* A chain (a fragmented or large datagram): one copy so the
		 * app sees contiguous bytes. */
		copy = malloc(p->tot_len ? p->tot_len : 1);
		if (!copy) {
			console_printf("udp: out of memory for a %u-byte datagram\n", p->tot_len);
			pbuf_free(p);
			return;
		}
		pbuf_copy_partial(p, copy, p->tot_len, 0);
		data = copy;
	}
	inetip_to_sockaddr(addr, port, &from);
	u->fn(u, &from, data, p->tot_len, u->arg);
	free(copy);
	pbuf_free(p);
}

int uc_udp_bind(const struct uc_sockaddr *local, uint16_t port, uc_udp_recv_fn fn, void *arg,
		struct uc_udp **out)
{
	struct uc_udp *u;
	ip_addr_t ip;
	u8_t type;
	err_t err;
	int rc;

	if (!fn || !out)
		return -EINVAL;
	rc = inetip_local(local, &ip, &type);
	if (rc < 0)
		return rc;
	u = malloc(sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->pcb = udp_new_ip_type(type);
	if (!u->pcb) {
		free(u);
		console_printf("udp: out of PCBs (port %u)\n", port);
		return -ENOMEM;
	}
	err = udp_bind(u->pcb, &ip, port);
	if (err != ERR_OK) {
		udp_remove(u->pcb);
		free(u);
		return err == ERR_USE ? -EADDRINUSE : -EINVAL;
	}
	u->fn = fn;
	u->arg = arg;
	udp_recv(u->pcb, udp_lwip_recv, u);
	*out = u;
	return 0;
}

int uc_udp_sendto(struct uc_udp *u, const struct uc_sockaddr *to, const void *data, size_t len)
{
	struct pbuf *p;
	ip_addr_t ip;
	err_t err;
	int rc;

	if (!u || !to || (!data && len) || to->port == 0 || to->family == UC_AF_UNSPEC)
		return -EINVAL;
	if (len > UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	rc = inetip_from_sockaddr(to, &ip);
	if (rc < 0)
		return rc;
	if (IP_GET_TYPE(&u->pcb->local_ip) != IPADDR_TYPE_ANY &&
	    IP_GET_TYPE(&u->pcb->local_ip) != IP_GET_TYPE(&ip))
		return -EAFNOSUPPORT;
	p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
	if (!p)
		return -ENOMEM;
	if (len)
		pbuf_take(p, data, (u16_t)len);
	err = udp_sendto(u->pcb, p, &ip, to->port);
	pbuf_free(p);
	net_timeouts_changed();   /* ARP/ND may have queued it behind a lwIP timer */
	switch (err) {
	case ERR_OK:  return 0;
	case ERR_RTE: return -ENETUNREACH;
	case ERR_MEM:
	case ERR_BUF: return -ENOMEM;
	case ERR_VAL: return -EAFNOSUPPORT;
	default:      return -EIO;
	}
}

int uc_udp_local(const struct uc_udp *u, struct uc_sockaddr *out)
{
	if (!u || !out)
		return -EINVAL;
	inetip_to_sockaddr(&u->pcb->local_ip, u->pcb->local_port, out);
	return 0;
}

void uc_udp_close(struct uc_udp *u)
{
	if (!u)
		return;
	udp_remove(u->pcb);
	free(u);
}
