/* netframe.c: Ethernet frame helpers for NIC drivers (pure functions, host-tested). */
#include <errno.h>

#include "net/netdev.h"

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
