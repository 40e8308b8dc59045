/* netdev.c: the list of registered network devices and frame helpers. */
#include <errno.h>
#include <string.h>

#include "kernel/kernel.h"
#include "net/netdev.h"

static struct netdev *netdev_table[NETDEV_MAX];
static unsigned netdev_n;

int netdev_register(struct netdev *dev)
{
	if (!dev->ops || !dev->ops->transmit || !dev->ops->poll) {
		console_printf("netdev: %s: transmit and poll ops are required\n",
			       dev->driver ? dev->driver : "?");
		return -EINVAL;
	}
	if (netdev_n == NETDEV_MAX) {
		console_printf("netdev: %s: table full (%d devices), ignored\n",
			       dev->driver, NETDEV_MAX);
		return -ENOSPC;
	}
	if (dev->mtu == 0)
		dev->mtu = NETDEV_MTU_DEFAULT;
	dev->index = netdev_n;
	memcpy(dev->name, "net", 3);
	dev->name[3] = (char)('0' + netdev_n);
	dev->name[4] = '\0';
	netdev_table[netdev_n++] = dev;
	console_printf("netdev: %s: %s %02x:%02x:%02x:%02x:%02x:%02x\n",
		       dev->name, dev->driver, dev->mac[0], dev->mac[1],
		       dev->mac[2], dev->mac[3], dev->mac[4], dev->mac[5]);
	return 0;
}

unsigned netdev_count(void)
{
	return netdev_n;
}

struct netdev *netdev_at(unsigned index)
{
	return index < netdev_n ? netdev_table[index] : NULL;
}

int netdev_csum_complete(void *frame, size_t len, size_t start, size_t offset)
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
