/* test_net_frame.c: host tests of the frame helpers (runtime/net/netframe.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/netdev.h"

#include "check.h"


/* Reference: RFC 1071 sum over a byte range, not folded. */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Builds Ethernet + IPv4 + UDP with `plen` payload bytes; returns length.
 * The UDP checksum field holds the pseudo-header sum, as a sender using
 * checksum offload leaves it. */
static size_t build_udp(uint8_t *f, size_t plen, uint8_t fill)
{
	static const uint8_t src[4] = { 10, 0, 2, 2 }, dst[4] = { 10, 0, 2, 15 };
	size_t udp_len = 8 + plen, i;
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint32_t ph;

	memset(f, 0, 14 + 20 + udp_len);
	f[12] = 0x08;                       /* EtherType IPv4 */
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + udp_len) >> 8);
	ip[3] = (uint8_t)(20 + udp_len);
	ip[8] = 64;
	ip[9] = 17;                         /* UDP */
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	udp[0] = 0x12; udp[1] = 0x34;       /* ports */
	udp[2] = 0x00; udp[3] = 0x35;
	udp[4] = (uint8_t)(udp_len >> 8);
	udp[5] = (uint8_t)udp_len;
	for (i = 0; i < plen; i++)
		udp[8 + i] = (uint8_t)(fill + i * 7);
	ph = sum16(src, 4, 0);
	ph = sum16(dst, 4, ph);
	ph += 17 + (uint32_t)udp_len;
	ph = fold(ph);
	udp[6] = (uint8_t)(ph >> 8);
	udp[7] = (uint8_t)ph;
	return 14 + 20 + udp_len;
}

/* A correct UDP/IPv4 checksum makes the sum over pseudo header + UDP
 * (checksum included) fold to 0xffff. */
static int udp_ok(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14, *udp = ip + 20;
	size_t udp_len = len - 34;
	uint32_t s = sum16(ip + 12, 8, 0) + 17 + (uint32_t)udp_len;

	return fold(sum16(udp, udp_len, s)) == 0xffff;
}

/* netframe_ip_src: the address where RFC 791 / RFC 8200 put it, and
 * nothing from a frame too short to hold it or not IP. */
static void ip_src_checks(uint8_t *f)
{
	const uint8_t *src = NULL;
	size_t len = build_udp(f, 0, 0);

	CHECK(netframe_ip_src(f, len, &src) == 4 && src == f + 26 && src[0] == 10 && src[3] == 2);
	CHECK(netframe_ip_src(f, 30, &src) == 4);
	CHECK(netframe_ip_src(f, 29, &src) == 0);
	CHECK(netframe_ip_src(f, 13, &src) == 0);
	memset(f, 0, 80);
	f[12] = 0x86, f[13] = 0xdd;         /* EtherType IPv6 */
	f[14 + 8] = 0xfe, f[14 + 9] = 0x80;
	CHECK(netframe_ip_src(f, 54, &src) == 16 && src == f + 22 && src[0] == 0xfe);
	CHECK(netframe_ip_src(f, 37, &src) == 0);
	f[12] = 0x08, f[13] = 0x06;         /* ARP */
	CHECK(netframe_ip_src(f, 60, &src) == 0);
	f[12] = 0x81, f[13] = 0x00;         /* VLAN tag: lwIP drops these (no ETHARP_SUPPORT_VLAN) */
	CHECK(netframe_ip_src(f, 60, &src) == 0);
}

int main(void)
{
	uint8_t f[2048];
	size_t plen, len;

	for (plen = 0; plen < 300; plen++) {
		len = build_udp(f, plen, (uint8_t)plen);
		CHECK(netframe_csum_complete(f, len, 34, 6) == 0);
		CHECK(udp_ok(f, len));
		CHECK(f[40] != 0 || f[41] != 0); /* 0 means "no checksum" for UDP */
	}
	len = build_udp(f, 1400, 3);
	CHECK(netframe_csum_complete(f, len, 34, 6) == 0 && udp_ok(f, len));
	/* Out of bounds requests are refused and touch nothing. */
	CHECK(netframe_csum_complete(f, len, len, 0) == -EINVAL);
	CHECK(netframe_csum_complete(f, len, len - 1, 0) == -EINVAL);
	CHECK(netframe_csum_complete(f, len, 34, len - 34 - 1) == -EINVAL);
	CHECK(netframe_csum_complete(f, 10, 34, 6) == -EINVAL);
	ip_src_checks(f);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
