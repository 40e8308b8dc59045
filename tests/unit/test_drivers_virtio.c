/* test_drivers_virtio.c: host unit test of what virtio drivers take from the device: descriptor ids back from the used ring (drivers/virtio_ring.c), the capability walk, notify offsets and the 16-bit doorbell (drivers/virtio_pci.c) against a fake PCI function. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/pci_regs.h"
#include "drivers/virtio_pci.h"
#include "drivers/virtio_ring.h"

#include "check.h"
#include "console_log.h"

/* ---- what virtio_pci.c calls, over one fake function ---- */

/*
 * Its configuration space holds a chain of virtio vendor capabilities
 * (VIRTIO 1.1 sec 4.1.4) naming regions of BAR 0, which is host memory:
 * common config at 0, ISR at 0x1000, device config at 0x2000, notify at
 * 0x3000 (NOTIFY_LEN bytes, multiplier NOTIFY_MULT).
 */
#define BAR_SIZE     0x4000u
#define COMMON_OFF   0x0000u
#define ISR_OFF      0x1000u
#define DEVICE_OFF   0x2000u
#define NOTIFY_OFF   0x3000u
#define NOTIFY_LEN   0x1000u
#define NOTIFY_MULT  4u
#define QUEUE_SIZE   64u

static uint8_t cfg[PCI_CFG_SIZE];
static uint8_t *bar;

uint8_t pci_read8(const struct pci_dev *d, unsigned off)
{
	(void)d;
	return cfg[off % sizeof(cfg)];
}

uint32_t pci_read32(const struct pci_dev *d, unsigned off)
{
	return (uint32_t)pci_read8(d, off) | (uint32_t)pci_read8(d, off + 1) << 8 |
	       (uint32_t)pci_read8(d, off + 2) << 16 | (uint32_t)pci_read8(d, off + 3) << 24;
}

/* The capability after `start` (the first for 0) when it has `id`: the
 * fake's chains hold virtio capabilities only, so as drivers/pci.c's each
 * call ends, even on a looped chain. */
unsigned pci_find_cap(const struct pci_dev *d, uint8_t id, unsigned start)
{
	unsigned off = pci_read8(d, start ? start + PCI_CAP_NEXT : PCI_CAP_PTR);

	return off && pci_read8(d, off + PCI_CAP_ID) == id ? off : 0;
}

volatile void *mem_map_mmio(uint64_t phys, size_t size)
{
	(void)size;
	return (volatile void *)(uintptr_t)phys;
}

void *mem_alloc_pages(size_t npages)
{
	void *p = aligned_alloc(4096, npages * 4096);

	if (p)
		memset(p, 0, npages * 4096);
	return p;
}

void mem_free_pages(void *p, size_t npages)
{
	(void)npages;
	free(p);
}

void time_delay_us(uint64_t us)
{
	(void)us;
}

/* virtio_pci_start and virtio_pci_msix (not exercised here) need these to link. */
void pci_enable(struct pci_dev *d)
{
	(void)d;
}

int pci_msix_enable(struct pci_dev *d, unsigned index, int vector)
{
	(void)d, (void)index, (void)vector;
	return -ENOTSUP;
}

void irq_free_vector(int vector)
{
	(void)vector;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }

static void add_cap(unsigned at, unsigned next, uint8_t type, uint32_t off, uint32_t len)
{
	cfg[at + PCI_CAP_ID] = VIRTIO_PCI_CAP_ID;
	cfg[at + PCI_CAP_NEXT] = (uint8_t)next;
	cfg[at + VIRTIO_PCI_CAP_CFG_TYPE] = type;
	cfg[at + VIRTIO_PCI_CAP_BAR] = 0;
	put32(cfg + at + VIRTIO_PCI_CAP_OFFSET, off);
	put32(cfg + at + VIRTIO_PCI_CAP_LENGTH, len);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		put32(cfg + at + VIRTIO_PCI_NOTIFY_CAP_MULT, NOTIFY_MULT);
}

/* A sound device; `last_next` is where the chain's last capability points. */
static void fake_device(struct pci_dev *d, unsigned last_next)
{
	memset(cfg, 0, sizeof(cfg));
	memset(bar, 0, BAR_SIZE);
	memset(d, 0, sizeof(*d));
	put16(cfg + PCI_STATUS, PCI_STATUS_CAP_LIST);
	cfg[PCI_CAP_PTR] = 0x40;
	add_cap(0x40, 0x54, VIRTIO_PCI_CAP_COMMON_CFG, COMMON_OFF, VIRTIO_PCI_COMMON_CFG_MIN);
	add_cap(0x54, 0x68, VIRTIO_PCI_CAP_NOTIFY_CFG, NOTIFY_OFF, NOTIFY_LEN);
	add_cap(0x68, 0x7c, VIRTIO_PCI_CAP_ISR_CFG, ISR_OFF, 4);
	add_cap(0x7c, last_next, VIRTIO_PCI_CAP_DEVICE_CFG, DEVICE_OFF, 0x100);
	d->bar[0] = (uint64_t)(uintptr_t)bar;
	d->bar_size[0] = BAR_SIZE;
	put16(bar + COMMON_OFF + VIRTIO_PCI_COMMON_Q_SIZE, QUEUE_SIZE);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "test_drivers_virtio: timed out (a walk that never ends)\n";

	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

/* The rings setup_queue allocated (a driver keeps them: the device may
 * still point at them). */
static void free_queue(struct virtq *q)
{
	mem_free_pages((void *)q->desc, 0);
	mem_free_pages((void *)q->used, 0);
}

/* ---- tests ---- */

/* 4.1.4.4: notify address = notify region + queue_notify_off * multiplier,
 * and 4.1.4.4.1: cap.length >= that offset + 2. */
static void test_notify_offset_checked(void)
{
	struct pci_dev d;
	struct virtio_pci vp;
	struct virtq q;
	const uint16_t last_ok = (NOTIFY_LEN - 2) / NOTIFY_MULT;   /* 0x3ff */

	fake_device(&d, 0);
	CHECK(virtio_pci_map(&vp, &d, "vtest") == 0);

	put16(bar + COMMON_OFF + VIRTIO_PCI_COMMON_Q_NOFF, 1);
	CHECK(virtio_setup_queue(&vp.vd, &q, 0, 0, VIRTIO_MSI_NO_VECTOR, "vtest") == 0);
	CHECK((volatile uint8_t *)q.notify == bar + NOTIFY_OFF + NOTIFY_MULT);
	free_queue(&q);

	put16(bar + COMMON_OFF + VIRTIO_PCI_COMMON_Q_NOFF, last_ok);
	CHECK(virtio_setup_queue(&vp.vd, &q, 1, 0, VIRTIO_MSI_NO_VECTOR, "vtest") == 0);
	CHECK((volatile uint8_t *)q.notify == bar + NOTIFY_OFF + last_ok * NOTIFY_MULT);
	free_queue(&q);

	log_buf[0] = 0;
	memset(&q, 0, sizeof(q));
	put16(bar + COMMON_OFF + VIRTIO_PCI_COMMON_Q_NOFF, (uint16_t)(last_ok + 1));
	CHECK(virtio_setup_queue(&vp.vd, &q, 2, 0, VIRTIO_MSI_NO_VECTOR, "vtest") == -EIO);
	CHECK(logged("vtest: queue 2 notify offset 0x1000 (1024 * 4) + 2 lies outside the "
		     "0x1000-byte notify region"));
	CHECK(q.notify == NULL);

	put16(bar + COMMON_OFF + VIRTIO_PCI_COMMON_Q_NOFF, 0xffff);
	CHECK(virtio_setup_queue(&vp.vd, &q, 3, 0, VIRTIO_MSI_NO_VECTOR, "vtest") == -EIO);
}

/* 4.1.5.2: the PCI doorbell is the queue index, written 16 bits wide
 * (what the notify region's cap.length >= offset + 2 allows). */
static void test_notify_write_is_16_bits(void)
{
	struct pci_dev d;
	struct virtio_pci vp;
	struct virtq q;
	uint8_t *bell = bar + NOTIFY_OFF + 2 * NOTIFY_MULT;

	fake_device(&d, 0);
	CHECK(virtio_pci_map(&vp, &d, "vtest") == 0);
	put16(bar + COMMON_OFF + VIRTIO_PCI_COMMON_Q_NOFF, 2);
	CHECK(virtio_setup_queue(&vp.vd, &q, 0x0305, 0, VIRTIO_MSI_NO_VECTOR, "vtest") == 0);
	memset(bell, 0xee, 4);
	virtq_publish(&q);
	CHECK(bell[0] == 0x05 && bell[1] == 0x03 && bell[2] == 0xee && bell[3] == 0xee);
	free_queue(&q);
}

/* A capability list whose last entry points back at the first: every
 * pci_find_cap() call ends, the walk over them must too. */
static void test_looped_capability_list_ends(void)
{
	struct pci_dev d;
	struct virtio_pci vp;

	fake_device(&d, 0x40);
	log_buf[0] = 0;
	alarm(5);
	CHECK(virtio_pci_map(&vp, &d, "vtest") == 0);
	alarm(0);
	CHECK(logged("vtest: capability list does not end (a loop?); stopped after 48"));
	CHECK(vp.common == bar + COMMON_OFF && vp.isr == bar + ISR_OFF &&
	      vp.notify_base == bar + NOTIFY_OFF && vp.device == bar + DEVICE_OFF);
}

/* A capability naming a region past its BAR's end is not mapped. */
static void test_capability_outside_its_bar(void)
{
	struct pci_dev d;
	struct virtio_pci vp;

	fake_device(&d, 0);
	put32(cfg + 0x54 + VIRTIO_PCI_CAP_OFFSET, BAR_SIZE - 0x800);   /* notify: 0x1000 long */
	log_buf[0] = 0;
	CHECK(virtio_pci_map(&vp, &d, "vtest") == -ENODEV);
	CHECK(logged("vtest: capability at 0x54 (0x3800+0x1000) lies outside BAR 0"));
}

/* 2.6.8: the used ring is the device's word; an id comes back once. */
static void test_used_ids_checked(void)
{
	uint16_t stack[4];
	uint8_t held[4];
	struct virtq_ids ids;
	int a, b, c, d, again;

	virtq_ids_init(&ids, stack, held, 4);
	a = virtq_ids_take(&ids);
	b = virtq_ids_take(&ids);
	CHECK(a == 0 && b == 1 && ids.nfree == 2);
	CHECK(virtq_ids_put(&ids, (uint32_t)a) == 0 && ids.nfree == 3);
	/* The same completion again, an id never handed out, one out of range. */
	CHECK(virtq_ids_put(&ids, (uint32_t)a) == -EALREADY);
	CHECK(virtq_ids_put(&ids, 3) == -EALREADY);
	CHECK(virtq_ids_put(&ids, 4) == -ERANGE);
	CHECK(virtq_ids_put(&ids, 0xffffffffu) == -ERANGE);
	CHECK(ids.nfree == 3);
	/* So no id is handed out twice while the device holds it. */
	c = virtq_ids_take(&ids);
	d = virtq_ids_take(&ids);
	again = virtq_ids_take(&ids);
	CHECK(c >= 0 && d >= 0 && again >= 0);
	CHECK(c != b && d != b && again != b && c != d && c != again && d != again);
	CHECK(virtq_ids_take(&ids) == -EAGAIN);
	CHECK(virtq_ids_put(&ids, (uint32_t)b) == 0);
	CHECK(virtq_ids_take(&ids) == b);
}

int main(void)
{
	signal(SIGALRM, on_alarm);
	bar = aligned_alloc(4096, BAR_SIZE);
	test_notify_offset_checked();
	test_notify_write_is_16_bits();
	test_looped_capability_list_ends();
	test_capability_outside_its_bar();
	test_used_ids_checked();
	free(bar);
	printf("virtio: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
