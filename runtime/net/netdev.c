/* netdev.c: the list of registered network devices and frame helpers. */
#include <errno.h>
#include <string.h>

#include "arch/x86_64/irq.h"
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

static void netdev_irq_dispatch(void *arg)
{
	struct netdev *dev = arg;

	if (dev->irq_handler)
		dev->irq_handler(dev);
}

int netdev_irq_alloc(struct netdev *dev)
{
	int vector = irq_alloc_vector(netdev_irq_dispatch, dev);

	if (vector < 0)
		console_printf("netdev: %s: no interrupt vector (%d), polling\n",
			       dev->driver, vector);
	return vector;
}
