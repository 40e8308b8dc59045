/* netframe.c: Ethernet frame helpers for NIC drivers (pure functions, host-tested). */
#include <errno.h>

#include "net/netdev.h"

#define NETFRAME_ETHERTYPE_OFF 12
#define NETFRAME_ETH_IPV4      0x0800
#define NETFRAME_ETH_IPV6      0x86dd
#define NETFRAME_IPV4_SRC_OFF  12   /* RFC 791 3.1 */
#define NETFRAME_IPV6_SRC_OFF  8    /* RFC 8200 3 */

int netframe_csum_complete(void *frame, size_t len, size_t start, size_t offset)
{
	uint8_t *p = frame;
	uint32_t sum = 0;
	size_t i;

	if (start >= len || offset + 2 > len - start)
		return -EINVAL;
	/* RFC 1071 one's complement sum; the field already holds the
	 * pseudo-header sum the sender put there. */
	for (i = start; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	if (sum == 0)
		sum = 0xffff; /* same value in one's complement; UDP reads 0 as "none" */
	p[start + offset] = (uint8_t)(sum >> 8);
	p[start + offset + 1] = (uint8_t)sum;
	return 0;
}

size_t netframe_ip_src(const void *frame, size_t len, const uint8_t **src)
{
	const uint8_t *p = frame;
	size_t off, n;

	if (len < NETDEV_ETH_HLEN)
		return 0;
	switch (p[NETFRAME_ETHERTYPE_OFF] << 8 | p[NETFRAME_ETHERTYPE_OFF + 1]) {
	case NETFRAME_ETH_IPV4:
		off = NETFRAME_IPV4_SRC_OFF, n = 4;
		break;
	case NETFRAME_ETH_IPV6:
		off = NETFRAME_IPV6_SRC_OFF, n = 16;
		break;
	default:
		return 0;
	}
	if (len - NETDEV_ETH_HLEN < off + n)
		return 0;
	*src = p + NETDEV_ETH_HLEN + off;
	return n;
}
