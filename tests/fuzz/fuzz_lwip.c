/* fuzz_lwip.c: libFuzzer target: raw Ethernet frames into lwIP through the runtime's netif glue (runtime/net/ethif.c, netdev.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "net/ethif.h"
#include "net/netdev.h"

#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/ip4_frag.h"
#include "lwip/memp.h"
#include "lwip/nd6.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"
#include "lwip/priv/tcp_priv.h"

/*
 * Two fake NICs registered like a driver would (netdev_register, then
 * ethif_add): net0 has 10.0.0.2/24 and an IPv6 link-local address, serves a
 * TCP echo on port 80 and a UDP echo on port 7; net1 runs the DHCP client.
 * Their transmit op captures every frame lwIP sends and checks it (length,
 * our source MAC). lwIP is configured by templates/lwipopts.h.j2, rendered
 * for the runtime's options (gen_lwipopts.py), and its assertions abort.
 *
 * Input: records of
 *   flags (1 byte)  bit 0: net1 instead of net0
 *                   bit 1: the harness fixes the IPv4 header and TCP/UDP/
 *                          ICMP(v6) checksums (the fuzzer rarely finds them)
 *                   bit 2: the harness sets a TCP segment's ACK number to
 *                          what our side sent last (so handshakes complete)
 *                   bits 4-7: clock advance before the frame, x 250 ms
 *   length (2 bytes, little-endian), frame bytes (destination MAC first).
 * After the last record every connection is aborted, the ARP/ND caches are
 * flushed and the clock runs on past every reassembly timeout, so nothing carries over to the
 * next input; then every pool pbuf must be back (a leak in the glue or in
 * lwIP's input path shows there).
 */

#define FUZZ_TICK_NS      (250ull * 1000 * 1000)
#define FUZZ_SETTLE_S     75    /* seconds: past IPV6_REASS_MAXAGE (60) and IP_REASS_MAXAGE (15) */
#define FUZZ_ETH_IPV4     0x0800
#define FUZZ_ETH_IPV6     0x86dd
#define FUZZ_ETH_VLAN     0x8100
#define FUZZ_PROTO_ICMP   1
#define FUZZ_PROTO_TCP    6
#define FUZZ_PROTO_UDP    17
#define FUZZ_PROTO_ICMP6  58
#define FUZZ_TCP_SYN      0x02
#define FUZZ_TCP_FIN      0x01

/* ---- what the runtime's kernel provides to ethif.c, netdev.c and lwIP ---- */

static uint64_t fake_ns = 1000000000ull;
static uint64_t rand_state = 0x9e3779b97f4a7c15ull;

uint64_t time_ns(void)
{
	return fake_ns;
}

u32_t sys_now(void)
{
	return (u32_t)(fake_ns / 1000000u);
}

unsigned int sys_arch_rand(void)
{
	rand_state = rand_state * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned int)(rand_state >> 33);
}

void sys_arch_assert(const char *msg, const char *file, int line)
{
	fprintf(stderr, "fuzz_lwip: lwIP assertion at %s:%d: %s\n", file, line, msg);
	abort();
}

void panic_at(const char *file, int line, const char *fmt, ...)
{
	(void)fmt;
	fprintf(stderr, "fuzz_lwip: panic at %s:%d\n", file, line);
	abort();
}

static int fuzz_vprint(const char *fmt, va_list ap)
{
	char buf[256];

	return vsnprintf(buf, sizeof(buf), fmt, ap);
}

int console_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fuzz_vprint(fmt, ap);
	va_end(ap);
	return n;
}

int uc_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fuzz_vprint(fmt, ap);
	va_end(ap);
	return n;
}

int irq_alloc_vector(loop_fn fn, void *arg)
{
	(void)fn;
	(void)arg;
	return -ENODEV;   /* polling, as with CONFIG_POLL */
}

static void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_lwip: %s\n", what);
	abort();
}

/* The admission hook lwipopts.h wires into tcp_input (runtime/net/tcp.c's per-peer cap
 * and eviction priorities; it needs the tcp.h layer, which this harness does not link).
 * Admitting every segment keeps lwIP's own input path what is fuzzed. */
err_t tcp_lwip_syn(struct tcp_pcb *pcb, struct tcp_hdr *hdr, struct pbuf *p)
{
	(void)pcb;
	(void)hdr;
	(void)p;
	return ERR_OK;
}

/* ---- the fake NICs ---- */

static struct netdev devs[2];
static uint32_t our_snd_nxt;      /* sequence number after our last TCP segment */
static uint8_t frame_buf[NETDEV_FRAME_MAX];

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Where the IP header starts and its EtherType (one VLAN tag skipped). */
static size_t l3_of(const uint8_t *f, size_t len, uint16_t *type)
{
	size_t off = 12;

	if (len < 14)
		return 0;
	*type = get16(f + off);
	if (*type == FUZZ_ETH_VLAN && len >= 18) {
		off += 4;
		*type = get16(f + off);
	}
	return off + 2;
}

/* TCP header offset and payload length of an unfragmented IPv4/IPv6 TCP
 * segment, 0 otherwise. */
static size_t tcp_of(const uint8_t *f, size_t len, size_t *payload)
{
	uint16_t type;
	size_t l3 = l3_of(f, len, &type), l4, end, hl;

	if (!l3)
		return 0;
	if (type == FUZZ_ETH_IPV4 && len >= l3 + 20 && f[l3 + 9] == FUZZ_PROTO_TCP &&
	    (get16(f + l3 + 6) & 0x3fff) == 0) {
		l4 = l3 + (size_t)(f[l3] & 0xf) * 4;
		end = l3 + get16(f + l3 + 2);
	} else if (type == FUZZ_ETH_IPV6 && len >= l3 + 40 && f[l3 + 6] == FUZZ_PROTO_TCP) {
		l4 = l3 + 40;
		end = l4 + get16(f + l3 + 4);
	} else {
		return 0;
	}
	if (end > len || l4 + 20 > end)
		return 0;
	hl = (size_t)(f[l4 + 12] >> 4) * 4;
	if (hl < 20 || l4 + hl > end)
		return 0;
	*payload = end - l4 - hl;
	return l4;
}

static int fake_transmit(struct netdev *dev, const struct netdev_frag *frags, unsigned n)
{
	size_t len = 0, tcp, payload;

	for (unsigned i = 0; i < n; i++) {
		if (frags[i].len > sizeof(frame_buf) - len)
			fuzz_fail("frame longer than NETDEV_FRAME_MAX handed to the driver");
		memcpy(frame_buf + len, frags[i].data, frags[i].len);
		len += frags[i].len;
	}
	if (len < NETDEV_ETH_HLEN)
		fuzz_fail("frame shorter than an Ethernet header");
	if (memcmp(frame_buf + 6, dev->mac, NETDEV_ETH_ALEN) != 0)
		fuzz_fail("frame not from our MAC");
	tcp = tcp_of(frame_buf, len, &payload);
	if (tcp) {
		uint8_t fl = frame_buf[tcp + 13];

		our_snd_nxt = get32(frame_buf + tcp + 4) + (uint32_t)payload +
			      !!(fl & FUZZ_TCP_SYN) + !!(fl & FUZZ_TCP_FIN);
	}
	dev->stats.tx_frames++;
	return 0;
}

static unsigned fake_poll(struct netdev *dev, unsigned budget)
{
	(void)dev;
	(void)budget;
	return 0;   /* frames come from the fuzzer, through dev->rx */
}

static const struct netdev_ops fake_ops = { .transmit = fake_transmit, .poll = fake_poll };

/* ---- the apps: TCP echo on 80, UDP echo on 7 ---- */

static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	(void)err;
	if (!p) {   /* the peer's FIN */
		tcp_recv(pcb, NULL);
		if (tcp_close(pcb) != ERR_OK) {
			tcp_abort(pcb);
			return ERR_ABRT;
		}
		return ERR_OK;
	}
	for (struct pbuf *q = p; q; q = q->next)
		if (q->len && tcp_write(pcb, q->payload, q->len, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	tcp_output(pcb);
	return ERR_OK;
}

static err_t echo_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	tcp_recv(pcb, echo_recv);
	return ERR_OK;
}

static void udp_echo(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
		     u16_t port)
{
	(void)arg;
	udp_sendto(pcb, p, addr, port);
	pbuf_free(p);
}

/* ---- checksums the harness fixes on request (RFC 1071 sums) ---- */

static uint32_t sum_bytes(uint32_t s, const uint8_t *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		s += get16(p);
	if (n)
		s += (uint32_t)p[0] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The checksum field's offset inside the L4 header, or -1. */
static int csum_at(uint8_t proto)
{
	switch (proto) {
	case FUZZ_PROTO_TCP: return 16;
	case FUZZ_PROTO_UDP: return 6;
	case FUZZ_PROTO_ICMP:
	case FUZZ_PROTO_ICMP6: return 2;
	default: return -1;
	}
}

static void fix_frame(uint8_t *f, size_t len, bool fix_ack)
{
	uint16_t type;
	size_t l3 = l3_of(f, len, &type), l4, end;
	uint32_t pseudo = 0;
	uint8_t proto;
	int at;

	if (!l3)
		return;
	if (type == FUZZ_ETH_IPV4 && len >= l3 + 20) {
		size_t ihl = (size_t)(f[l3] & 0xf) * 4;

		if (ihl < 20 || l3 + ihl > len)
			return;
		put16(f + l3 + 10, 0);
		put16(f + l3 + 10, fold(sum_bytes(0, f + l3, ihl)));
		if (get16(f + l3 + 6) & 0x3fff)
			return;   /* a fragment: its L4 checksum covers the whole datagram */
		proto = f[l3 + 9];
		l4 = l3 + ihl;
		end = l3 + get16(f + l3 + 2);
		if (proto != FUZZ_PROTO_ICMP) {
			pseudo = sum_bytes(0, f + l3 + 12, 8) + proto;
			pseudo += (uint32_t)(end > l4 ? end - l4 : 0);
		}
	} else if (type == FUZZ_ETH_IPV6 && len >= l3 + 40) {
		proto = f[l3 + 6];
		l4 = l3 + 40;
		end = l4 + get16(f + l3 + 4);
		pseudo = sum_bytes(0, f + l3 + 8, 32) + proto + (uint32_t)(end - l4);
	} else {
		return;
	}
	at = csum_at(proto);
	if (at < 0 || end > len || end < l4 + (size_t)at + 2)
		return;
	if (fix_ack && proto == FUZZ_PROTO_TCP && end >= l4 + 20)
		put32(f + l4 + 8, our_snd_nxt);
	put16(f + l4 + at, 0);
	put16(f + l4 + at, fold(sum_bytes(pseudo, f + l4, end - l4)));
	if (proto == FUZZ_PROTO_UDP && get16(f + l4 + at) == 0)
		put16(f + l4 + at, 0xffff);
}

/* ---- setup and each input ---- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ip4_addr_t addr, mask, gw;
	struct tcp_pcb *l;
	struct udp_pcb *u;

	(void)argc;
	(void)argv;
	lwip_init();
	for (int i = 0; i < 2; i++) {
		static const uint8_t mac[2][6] = { { 0x52, 0x54, 0, 0x12, 0x34, 0x56 },
						   { 0x52, 0x54, 0, 0x12, 0x34, 0x57 } };

		devs[i].ops = &fake_ops;
		devs[i].driver = "fuzz";
		memcpy(devs[i].mac, mac[i], 6);
		if (netdev_register(&devs[i]) != 0 || !ethif_add(&devs[i]))
			fuzz_fail("cannot attach the fake NIC");
	}
	IP4_ADDR(&addr, 10, 0, 0, 2);
	IP4_ADDR(&mask, 255, 255, 255, 0);
	IP4_ADDR(&gw, 10, 0, 0, 1);
	netif_set_addr(&devs[0].ethif->netif, &addr, &mask, &gw);
	netif_set_default(&devs[0].ethif->netif);
	if (dhcp_start(&devs[1].ethif->netif) != ERR_OK)
		fuzz_fail("dhcp_start");
	l = tcp_new_ip_type(IPADDR_TYPE_ANY);
	if (!l || tcp_bind(l, IP_ANY_TYPE, 80) != ERR_OK || !(l = tcp_listen(l)))
		fuzz_fail("tcp listen");
	tcp_accept(l, echo_accept);
	u = udp_new_ip_type(IPADDR_TYPE_ANY);
	if (!u || udp_bind(u, IP_ANY_TYPE, 7) != ERR_OK)
		fuzz_fail("udp bind");
	udp_recv(u, udp_echo, NULL);
	return 0;
}

static void advance(uint64_t ns)
{
	fake_ns += ns;
	sys_check_timeouts();
}

/* Nothing of this input may reach the next one. */
static void forget(void)
{
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "sent %llu + %llu frames, tcp in %u out %u, udp in %u\n",
			(unsigned long long)devs[0].stats.tx_frames,
			(unsigned long long)devs[1].stats.tx_frames, lwip_stats.tcp.recv,
			lwip_stats.tcp.xmit, lwip_stats.udp.recv);
	while (tcp_active_pcbs)
		tcp_abort(tcp_active_pcbs);
	while (tcp_tw_pcbs)
		tcp_abort(tcp_tw_pcbs);
	for (int i = 0; i < 2; i++) {
		etharp_cleanup_netif(&devs[i].ethif->netif);
		nd6_cleanup_netif(&devs[i].ethif->netif);
	}
	for (int s = 0; s < FUZZ_SETTLE_S; s++)
		advance(1000ull * 1000 * 1000);
	if (lwip_stats.memp[MEMP_PBUF_POOL]->used != 0)
		fuzz_fail("pool pbufs still held after everything was let go");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;

	our_snd_nxt = 0;
	while (size - pos >= 3) {
		uint8_t flags = data[pos];
		size_t len = data[pos + 1] | (size_t)data[pos + 2] << 8;
		struct netdev *dev = &devs[flags & 1];
		uint8_t *frame;

		pos += 3;
		if (len > size - pos)
			len = size - pos;
		if (flags >> 4)
			advance((flags >> 4) * FUZZ_TICK_NS);
		/* Its own heap block, freed at once: the stack must copy what it
		 * keeps (netdev.h), and a read past the frame is caught. Frames
		 * longer than any NIC delivers are offered too: the glue drops them. */
		frame = malloc(len ? len : 1);
		memcpy(frame, data + pos, len);
		if (flags & 6)
			fix_frame(frame, len, flags & 4);
		dev->rx(dev, frame, len);   /* what a driver does from its poll op */
		free(frame);
		pos += len;
	}
	forget();
	return 0;
}
