/* net.c: network bring-up: lwIP, one netif per NIC, DHCP or static addresses, the loop poller. */
#include <errno.h>
#include <string.h>

#include "kernel/kernel.h"
#include "net/ethif.h"
#include "net/net.h"
#include <unicycle/net.h>
#include <unicycle/timer.h>

#include "lwip/dhcp.h"
#include "lwip/init.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/timeouts.h"

#define NET_NS_PER_MS        1000000ull
#define NET_MS_PER_S         1000u
#define NET_TIMEOUT_CHECK_NS NET_NS_PER_MS /* lwIP timers have 1 ms resolution */
#define NET_DHCP_WARN_MS     10000  /* say so when DHCP has no answer by then */

#ifdef CONFIG_APP_NAME
#define NET_HOSTNAME CONFIG_APP_NAME   /* DHCP option 12 */
#else
#define NET_HOSTNAME "unicycle"
#endif

static bool net_running;
#ifdef CONFIG_POLL
static uint64_t net_next_timeouts;
#endif

#ifdef CONFIG_POLL
/* Polling mode: every loop pass. */
static void net_poll(void *arg)
{
	uint64_t now;
	unsigned n;

	(void)arg;
	n = ethif_poll_all();
	if (n)
		loop_note_events(n);
	ethif_check_links();
	now = time_ns();
	if (now >= net_next_timeouts) {
		net_next_timeouts = now + NET_TIMEOUT_CHECK_NS;
		sys_check_timeouts();
	}
}

void net_timeouts_changed(void)
{
	/* The poller looks at lwIP's timeouts every millisecond anyway. */
}
#else
/*
 * Interrupt mode: the CPU halts between events, so lwIP's timeouts run
 * from a runtime timer armed for the earliest one (at most 100 ms away,
 * which is also the link-check period). Devices without an interrupt are
 * polled from the same timer every millisecond.
 */
#define NET_TIMER_MAX_MS      100
#define NET_FALLBACK_POLL_MS  1
static uc_timer_t net_timer;
static uint64_t net_timer_deadline;
static bool net_poll_fallback;

static void net_timer_arm(void);

static void net_timer_fire(void *arg)
{
	(void)arg;
	net_timer = 0;
	if (net_poll_fallback)
		ethif_poll_all();
	sys_check_timeouts();
	ethif_check_links();
	net_timer_arm();
}

static void net_timer_arm(void)
{
	u32_t ms = sys_timeouts_sleeptime();
	uint64_t deadline;

	if (ms > NET_TIMER_MAX_MS)
		ms = NET_TIMER_MAX_MS;
	if (net_poll_fallback && ms > NET_FALLBACK_POLL_MS)
		ms = NET_FALLBACK_POLL_MS;
	deadline = time_ns() + (uint64_t)ms * NET_NS_PER_MS;
	if (net_timer && deadline >= net_timer_deadline)
		return;   /* the armed timer comes first anyway */
	if (net_timer)
		uc_timer_cancel(net_timer);
	net_timer = uc_timer_add((uint64_t)ms * NET_NS_PER_MS, net_timer_fire, NULL);
	net_timer_deadline = deadline;
	if (!net_timer)
		console_printf("net: cannot arm the lwIP timer\n");
}

static void net_irq_again(void *arg);

/* The device raised its receive interrupt (netdev_irq_alloc's vector). */
static void net_irq(struct netdev *dev)
{
	/* A full budget may leave frames behind and an edge-triggered
	 * message will not repeat: come back on the next loop pass. */
	if (ethif_poll(dev->ethif) == ETHIF_RX_BUDGET)
		loop_defer(net_irq_again, dev);
	/* lwIP may have started a timer (TCP, ARP) that is due before ours. */
	net_timer_arm();
}

static void net_irq_again(void *arg)
{
	net_irq(arg);
}

void net_timeouts_changed(void)
{
	net_timer_arm();
}
#endif

/* "a.b.c.d/len" of the interface (its mask itself when not contiguous). */
static int net_format_ipv4(struct netif *netif, char *buf, size_t len)
{
	return netaddr_format_ifaddr(buf, len, lwip_ntohl(ip4_addr_get_u32(netif_ip4_addr(netif))),
				     lwip_ntohl(ip4_addr_get_u32(netif_ip4_netmask(netif))));
}

static void net_print_ipv4(struct ethif *e)
{
	char addr[NETADDR_IFADDR_STRLEN];

	net_format_ipv4(&e->netif, addr, sizeof(addr));
	console_printf("unicycle: %s %s via %s\n", e->dev->name, addr,
		       e->method ? e->method : "?");
}

static void net_ext_status(struct netif *netif, netif_nsc_reason_t reason,
			   const netif_ext_callback_args_t *args)
{
	struct ethif *e = ethif_of(netif);

	if (!e)
		return;
#if LWIP_IPV4
	if ((reason & LWIP_NSC_IPV4_ADDRESS_CHANGED) &&
	    !ip4_addr_isany_val(*netif_ip4_addr(netif)))
		net_print_ipv4(e);
#endif
#if LWIP_IPV6
	if (reason & LWIP_NSC_IPV6_ADDR_STATE_CHANGED) {
		s8_t i = args->ipv6_addr_state_changed.addr_index;

		if (ip6_addr_ispreferred(netif_ip6_addr_state(netif, i)) &&
		    !ip6_addr_ispreferred(args->ipv6_addr_state_changed.old_state)) {
			char text[IP6ADDR_STRLEN_MAX];
			char *c;

			ip6addr_ntoa_r(netif_ip6_addr(netif, i), text, sizeof(text));
			for (c = text; *c; c++)  /* RFC 5952 sec 4.3: lower case */
				if (*c >= 'A' && *c <= 'F')
					*c = (char)(*c - 'A' + 'a');
			console_printf("unicycle: %s %s/64 %s\n", e->dev->name, text,
				       i == 0 ? "link-local" : "via slaac");
		}
	}
#else
	(void)args;
#endif
}
static netif_ext_callback_t net_ext_cb;

/* Applies boot.cfg's static settings; returns 0 or -EINVAL (logged). */
static int net_config_static(struct ethif *e)
{
	uint32_t addr, gw = 0;
	unsigned prefix;
	ip4_addr_t ip, mask, gateway;

	if (netaddr_parse_cidr(bootinfo.net_address, &addr, &prefix) < 0) {
		console_printf("net: static address \"%s\" is not a.b.c.d/len\n",
			       bootinfo.net_address ? bootinfo.net_address : "");
		return -EINVAL;
	}
	if (bootinfo.net_gateway &&
	    netaddr_parse_ipv4(bootinfo.net_gateway, &gw) < 0) {
		console_printf("net: static gateway \"%s\" is not a.b.c.d\n",
			       bootinfo.net_gateway);
		return -EINVAL;
	}
	ip4_addr_set_u32(&ip, lwip_htonl(addr));
	ip4_addr_set_u32(&mask, lwip_htonl(netaddr_prefix_to_mask(prefix)));
	ip4_addr_set_u32(&gateway, lwip_htonl(gw));
	e->method = "static";
	netif_set_addr(&e->netif, &ip, &mask, &gateway);
	return 0;
}

#if LWIP_DHCP
/* One note on the console when DHCP is slow; lwIP keeps trying. */
static void net_dhcp_check(void *arg)
{
	struct ethif *e = arg;

	if (!dhcp_supplied_address(&e->netif))
		console_printf("net: %s: no DHCP answer after %u s, still "
			       "trying (link %s)\n", e->dev->name,
			       NET_DHCP_WARN_MS / NET_MS_PER_S,
			       netif_is_link_up(&e->netif) ? "up" : "down");
}
#endif

static void net_config_dhcp(struct ethif *e)
{
#if LWIP_DHCP
	err_t err;

	e->method = "dhcp";
	err = dhcp_start(&e->netif);
	if (err != ERR_OK) {
		console_printf("net: %s: dhcp_start failed (%d)\n", e->dev->name, err);
		return;
	}
	sys_timeout(NET_DHCP_WARN_MS, net_dhcp_check, e);
#else
	console_printf("net: %s: no address (DHCP is disabled, boot.cfg "
		       "gives no static address)\n", e->dev->name);
#endif
}

/* INIT_STACK: starts lwIP, attaches every registered netdev, applies the
 * boot info network settings to net0 (DHCP unless boot.cfg says static)
 * and the others (DHCP), and adds the loop poller. Logs and returns when
 * there is no NIC: the app still runs. */
static void net_init(void)
{
	unsigned i, n = netdev_count();
	bool want_static = bootinfo.net_mode && !strcmp(bootinfo.net_mode, "static");

	if (n == 0) {
		console_printf("net: no network device found\n");
		return;
	}
	lwip_init();
	netif_add_ext_callback(&net_ext_cb, net_ext_status);
	for (i = 0; i < n; i++) {
		struct netdev *dev = netdev_at(i);
		struct ethif *e = ethif_add(dev);

		if (!e)
			continue;
		if (i == 0)
			netif_set_default(&e->netif);
#ifndef CONFIG_POLL
		if (dev->features & NETDEV_F_IRQ) {
			dev->irq_handler = net_irq;
		} else {
			console_printf("net: %s: no interrupt, polled every %d ms\n",
				       dev->name, NET_FALLBACK_POLL_MS);
			net_poll_fallback = true;
		}
#endif
		e->netif.hostname = NET_HOSTNAME;
		/* boot.cfg holds one setting: it applies to net0. */
		if (i == 0 && want_static && net_config_static(e) == 0)
			continue;
		net_config_dhcp(e);
	}
#ifdef CONFIG_POLL
	if (loop_add_poller(net_poll, NULL) < 0) {
		console_printf("net: cannot add the loop poller\n");
		return;
	}
#else
	net_timer_arm();
#endif
	net_running = true;
}
INIT_CALL(INIT_STACK, net_init);

bool net_is_running(void)
{
	return net_running;
}

/* ---- public API (unicycle/net.h) ---- */

int uc_net_ipv4(unsigned index, char *buf, size_t len)
{
	struct netdev *dev = netdev_at(index);
	struct netif *netif;
	int n;

	if (!net_running || !dev || !dev->ethif)
		return -ENODEV;
	netif = &dev->ethif->netif;
	if (ip4_addr_isany_val(*netif_ip4_addr(netif)))
		return -EAGAIN;
	n = net_format_ipv4(netif, buf, len);
	return n < 0 ? n : 0;
}
