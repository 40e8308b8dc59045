/* test_drivers_virtio_mmio.c: host unit test of the virtio-mmio transport (drivers/virtio_mmio.c): the virtio_mmio.device= words of the command line, and the device checks, feature negotiation, queue setup, notification and configuration reads against a fake version 2 device. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/virtio.h"
#include "drivers/virtio_mmio.h"

#include "check.h"
#include "console_log.h"

/* ---- a fake device behind virtio_mmio.c's register accessors ---- */

#define FAKE_QUEUES 4
#define FAKE_CFG    64

/*
 * It keeps the selector registers' state as a device does (4.2.2), so a
 * feature or queue register means what the last selector write chose, and
 * counts every control register access that is not 32 bits wide
 * (4.2.2.2), which QEMU would drop.
 */
static struct fake {
	uint32_t magic, version, device_id, vendor_id;
	uint64_t device_features, driver_features;
	uint32_t dfsel, gfsel, qsel;
	uint32_t status;
	unsigned status_writes;
	uint8_t status_log[16];      /* every status written, in order */
	unsigned reset_reads;        /* status reads that still show the old value after a reset */
	bool refuse_features;        /* FEATURES_OK does not stick */
	struct {
		uint32_t num_max, num, ready;
		uint64_t desc, driver, device;
	} q[FAKE_QUEUES];
	unsigned nnotify;
	uint32_t notified[8];
	uint32_t gen;
	unsigned gen_bumps;          /* the config changes during this many reads */
	uint8_t cfg[FAKE_CFG];
	unsigned cfg_reads[5];       /* config reads by width */
	unsigned bad_width;          /* control register accesses not 32 bits wide */
	unsigned bad_offset;         /* accesses to no register */
} fake;

static volatile uint8_t fake_regs[4]; /* the address the transport holds; never touched */

static void set32(uint64_t *v, unsigned half, uint32_t x)
{
	*v = half ? (*v & 0xffffffffull) | (uint64_t)x << 32 : (*v & ~0xffffffffull) | x;
}

uint32_t virtio_mmio_test_read(volatile uint8_t *regs, unsigned off, unsigned width)
{
	(void)regs;
	if (off >= VIRTIO_MMIO_CONFIG) {
		unsigned at = off - VIRTIO_MMIO_CONFIG;
		uint32_t v = 0;

		fake.cfg_reads[width]++;
		for (unsigned i = 0; i < width && at + i < FAKE_CFG; i++)
			v |= (uint32_t)fake.cfg[at + i] << (8 * i);
		if (fake.gen_bumps) {
			/* Bytes 0 and 4 change right after this read: a 64-bit
			 * field read as two halves across it is torn. */
			fake.gen_bumps--;
			fake.gen++;
			fake.cfg[0]++;
			fake.cfg[4]++;
		}
		return v;
	}
	if (width != 4)
		fake.bad_width++;
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return fake.magic;
	case VIRTIO_MMIO_VERSION: return fake.version;
	case VIRTIO_MMIO_DEVICE_ID: return fake.device_id;
	case VIRTIO_MMIO_VENDOR_ID: return fake.vendor_id;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return fake.dfsel == 0 ? (uint32_t)fake.device_features :
		       fake.dfsel == 1 ? (uint32_t)(fake.device_features >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return fake.qsel < FAKE_QUEUES ? fake.q[fake.qsel].num_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return fake.qsel < FAKE_QUEUES ? fake.q[fake.qsel].ready : 0;
	case VIRTIO_MMIO_STATUS:
		if (fake.reset_reads) {
			fake.reset_reads--;
			return VIRTIO_STATUS_DRIVER_OK;
		}
		return fake.status;
	case VIRTIO_MMIO_CONFIG_GENERATION: return fake.gen;
	default:
		fake.bad_offset++;
		return 0;
	}
}

void virtio_mmio_test_write(volatile uint8_t *regs, unsigned off, unsigned width, uint32_t v)
{
	unsigned s = fake.qsel < FAKE_QUEUES ? fake.qsel : 0;

	(void)regs;
	if (width != 4)
		fake.bad_width++;
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: fake.dfsel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: fake.gfsel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (fake.gfsel < 2)
			set32(&fake.driver_features, fake.gfsel, v);
		break;
	case VIRTIO_MMIO_QUEUE_SEL: fake.qsel = v; break;
	case VIRTIO_MMIO_QUEUE_NUM: fake.q[s].num = v; break;
	case VIRTIO_MMIO_QUEUE_READY: fake.q[s].ready = v; break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: set32(&fake.q[s].desc, 0, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: set32(&fake.q[s].desc, 1, v); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: set32(&fake.q[s].driver, 0, v); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: set32(&fake.q[s].driver, 1, v); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: set32(&fake.q[s].device, 0, v); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: set32(&fake.q[s].device, 1, v); break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (fake.nnotify < 8)
			fake.notified[fake.nnotify] = v;
		fake.nnotify++;
		break;
	case VIRTIO_MMIO_STATUS:
		if (fake.status_writes < sizeof(fake.status_log))
			fake.status_log[fake.status_writes] = (uint8_t)v;
		fake.status_writes++;
		if (fake.refuse_features)
			v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
		fake.status = v;
		if (v == 0)
			for (unsigned i = 0; i < FAKE_QUEUES; i++)
				fake.q[i].ready = 0;   /* 4.2.2.1: reset clears QueueReady */
		break;
	default:
		fake.bad_offset++;
		break;
	}
}

/* A sound virtio-net device: VERSION_1, MAC (5), bit 40 that we do not want. */
static void fake_net(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.magic = VIRTIO_MMIO_MAGIC;
	fake.version = VIRTIO_MMIO_VERSION_MODERN;
	fake.device_id = VIRTIO_ID_NET;
	fake.vendor_id = 0x554d4551;   /* "QEMU" */
	fake.device_features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(5) | VIRTIO_BIT(40);
	fake.q[0].num_max = 1024;
	fake.q[1].num_max = 100;
	fake.q[2].num_max = 0;
	fake.q[3].num_max = 65536;
}

static const struct virtio_mmio_window net_window = { 0xfeb00e00, 0x200, 12 };

/* ---- what virtio.c calls ---- */

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

void irq_free_vector(int vector)
{
	(void)vector;
}

static void free_queue(struct virtq *q)
{
	free((void *)q->desc);
	free((void *)q->used);
}

/* ---- the command line ---- */

static bool parses(const char *word, uint64_t size, uint64_t base, uint32_t irq)
{
	struct virtio_mmio_window w = { 0, 0, 0 };
	const char *why = NULL;

	return virtio_mmio_parse(word, strlen(word), &w, &why) == 0 && why == NULL &&
	       w.size == size && w.base == base && w.irq == irq;
}

static bool refused(const char *word, const char *reason)
{
	struct virtio_mmio_window w = { 1, 2, 3 };
	const char *why = NULL;
	bool ok = virtio_mmio_parse(word, strlen(word), &w, &why) == -EINVAL && why &&
		  strstr(why, reason) && w.base == 1 && w.size == 2 && w.irq == 3;

	if (!ok)
		fprintf(stderr, "'%s': %s\n", word, why ? why : "(accepted)");
	return ok;
}

/* What QEMU's microvm appends, and what Linux's parser takes besides. */
static void test_good_words(void)
{
	CHECK(parses("512@0xfeb00e00:12", 512, 0xfeb00e00, 12));
	CHECK(parses("4K@0xd0000000:5", 4096, 0xd0000000, 5));
	CHECK(parses("4k@0xd0000000:5", 4096, 0xd0000000, 5));
	CHECK(parses("1M@0x10000000:7:3", 1 << 20, 0x10000000, 7));
	CHECK(parses("2G@0x100000000:0", 2ull << 30, 0x100000000ull, 0));
	CHECK(parses("0x200@4273999360:1", 0x200, 4273999360ull, 1));
	CHECK(parses("01000@0X1000:1", 512, 0x1000, 1));                 /* octal size */
	CHECK(parses("256@0xFEB00E00:4294967295", 256, 0xfeb00e00, 0xffffffffu));
}

static void test_malformed_words(void)
{
	CHECK(refused("", "size is not a number"));
	CHECK(refused("@0x1000:1", "size is not a number"));
	CHECK(refused("512", "expected '@'"));
	CHECK(refused("512x@0x1000:1", "expected '@'"));
	CHECK(refused("512KB@0x1000:1", "expected '@'"));
	CHECK(refused("08@0x1000:1", "size is not a number"));           /* 8 is no octal digit */
	CHECK(refused("99999999999999999999@0x1000:1", "size is not a number (or too large)"));
	CHECK(refused("17179869184G@0x1000:1", "too large"));             /* 2^34 << 30 */
	CHECK(refused("512@", "base address is not a number"));
	CHECK(refused("512@0xfeb00e0g:12", "expected ':'"));
	CHECK(refused("512@0xfeb00e00", "expected ':'"));
	CHECK(refused("512@0xfeb00e00:", "irq is not a 32-bit number"));
	CHECK(refused("512@0xfeb00e00:4294967296", "irq is not a 32-bit number"));
	CHECK(refused("512@0xfeb00e00:12x", "unexpected characters"));
	CHECK(refused("512@0xfeb00e00:12:", "device id after the irq"));
	CHECK(refused("512@0xfeb00e00:12:3:4", "unexpected characters"));
	CHECK(refused("0xff@0xfeb00e00:12", "smaller than the 0x100 bytes"));
	CHECK(refused("0@0xfeb00e00:12", "smaller than the 0x100 bytes"));
	CHECK(refused("1M@0xfffffffffff80000:1", "wraps"));
	CHECK(refused("512@0xfeb00e02:12", "not 4-byte aligned"));
}

/* Only virtio_mmio.device= words; bad and overlapping ones logged and skipped. */
static void test_scan(void)
{
	struct virtio_mmio_window w[4];
	unsigned n;

	log_buf[0] = 0;
	n = virtio_mmio_scan("console=ttyS0  virtio_mmio.device=512@0xfeb00e00:12\t"
			     "virtio_mmio.device=512@0xfeb00e00 virtio_mmio.devices=1K@0x1000:1 "
			     "virtio_mmio.device=1K@0xfeb00c00:11 virtio_mmio.device=512@0xfeb01000:13 "
			     "xvirtio_mmio.device=512@0x2000:1 virtio_mmio.device=",
			     w, 4);
	CHECK(n == 2);
	CHECK(w[0].base == 0xfeb00e00 && w[0].size == 512 && w[0].irq == 12);
	CHECK(w[1].base == 0xfeb01000 && w[1].size == 512 && w[1].irq == 13);
	CHECK(logged("virtio-mmio: ignored 'virtio_mmio.device=512@0xfeb00e00': expected ':' "
		     "and the irq after the base address\n"));
	CHECK(logged("virtio-mmio: ignored 'virtio_mmio.device=1K@0xfeb00c00:11': it overlaps "
		     "an earlier window\n"));
	CHECK(logged("virtio-mmio: ignored 'virtio_mmio.device=': the size is not a number"));
	CHECK(!logged("devices=") && !logged("xvirtio"));

	log_buf[0] = 0;
	n = virtio_mmio_scan("virtio_mmio.device=512@0x1000:1 virtio_mmio.device=512@0x2000:2 "
			     "virtio_mmio.device=512@0x3000:3", w, 2);
	CHECK(n == 2 && w[1].base == 0x2000);
	CHECK(logged("ignored 'virtio_mmio.device=512@0x3000:3': too many devices"));
	CHECK(virtio_mmio_scan("", w, 4) == 0 && virtio_mmio_scan("   ", w, 4) == 0);
}

/* ---- the transport ---- */

/* 4.2.2.1 / 4.2.3.1.1: magic, version 2 only, DeviceID 0 is an empty slot. */
static void test_open_checks_the_device(void)
{
	struct virtio_mmio m;

	fake_net();
	fake.magic = 0x12345678;
	log_buf[0] = 0;
	CHECK(virtio_mmio_open(&m, &net_window, fake_regs) == -ENODEV);
	CHECK(logged("virtio-mmio 0xfeb00e00: no virtio device (magic 0x12345678); skipped"));

	fake_net();
	fake.version = VIRTIO_MMIO_VERSION_LEGACY;
	log_buf[0] = 0;
	CHECK(virtio_mmio_open(&m, &net_window, fake_regs) == -ENODEV);
	CHECK(logged("virtio-mmio 0xfeb00e00: legacy device (version 1), not supported; skipped"));

	fake_net();
	fake.version = 3;
	CHECK(virtio_mmio_open(&m, &net_window, fake_regs) == -ENODEV);

	fake_net();
	fake.device_id = 0;
	CHECK(virtio_mmio_open(&m, &net_window, fake_regs) == 0);

	fake_net();
	CHECK(virtio_mmio_open(&m, &net_window, fake_regs) == 1);
	CHECK(m.device_id == VIRTIO_ID_NET && m.vendor_id == 0x554d4551);
	CHECK(strcmp(m.vd.where, "mmio 0xfeb00e00") == 0);
	CHECK(fake.bad_width == 0 && fake.bad_offset == 0);
}

/* 3.1.1 steps 1-6 through DeviceFeaturesSel/DriverFeaturesSel and Status. */
static void test_start_negotiates(void)
{
	static const uint8_t want_log[] = {
		0, VIRTIO_STATUS_ACKNOWLEDGE, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER,
		VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK,
	};
	struct virtio_mmio m;

	fake_net();
	fake.status = VIRTIO_STATUS_DRIVER_OK;  /* left running by someone else */
	fake.reset_reads = 3;                   /* takes a moment to reset */
	CHECK(virtio_mmio_open(&m, &net_window, fake_regs) == 1);
	CHECK(virtio_mmio_start(&m, 8, VIRTIO_BIT(5) | VIRTIO_BIT(16), "vtest") == 0);
	CHECK(m.vd.features == (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(5)));
	CHECK(fake.driver_features == m.vd.features);
	CHECK(fake.status_writes == sizeof(want_log));
	CHECK(memcmp(fake.status_log, want_log, sizeof(want_log)) == 0);
	CHECK(fake.reset_reads == 0);
	CHECK(fake.bad_width == 0 && fake.bad_offset == 0);

	/* No VERSION_1: a legacy interface in disguise; FAILED. */
	fake_net();
	fake.device_features = VIRTIO_BIT(5);
	log_buf[0] = 0;
	CHECK(virtio_mmio_open(&m, &net_window, fake_regs) == 1);
	CHECK(virtio_mmio_start(&m, 8, VIRTIO_BIT(5), "vtest") == -ENOTSUP);
	CHECK(logged("vtest: device lacks required features 0x100000000"));
	CHECK(fake.status & VIRTIO_STATUS_FAILED);

	/* FEATURES_OK does not stick: the device refuses the subset. */
	fake_net();
	fake.refuse_features = true;
	CHECK(virtio_mmio_open(&m, &net_window, fake_regs) == 1);
	CHECK(virtio_mmio_start(&m, 8, VIRTIO_BIT(5), "vtest") == -EIO);
	CHECK(fake.status & VIRTIO_STATUS_FAILED);

	/* A device that never finishes its reset. */
	fake_net();
	fake.reset_reads = 1000000;
	log_buf[0] = 0;
	CHECK(virtio_mmio_open(&m, &net_window, fake_regs) == 1);
	CHECK(virtio_mmio_start(&m, 8, 0, "vtest") == -ETIMEDOUT);
	CHECK(logged("vtest: device did not finish reset"));

	/* A window too small for the configuration the driver reads. */
	fake_net();
	CHECK(virtio_mmio_open(&m, &net_window, fake_regs) == 1);
	log_buf[0] = 0;
	CHECK(virtio_mmio_start(&m, 0x101, 0, "vtest") == -ENODEV);
	CHECK(logged("vtest: mmio 0xfeb00e00: the window holds 256 bytes of configuration, "
		     "need 257"));
	CHECK(fake.status_writes == 0);
}

/* 4.2.3.2 Virtqueue Configuration, and 4.2.3.3 notifications: 32 bits. */
static void test_queues(void)
{
	struct virtio_mmio m;
	struct virtq q, q1, q3;

	fake_net();
	CHECK(virtio_mmio_open(&m, &net_window, fake_regs) == 1);
	CHECK(virtio_mmio_start(&m, 8, 0, "vtest") == 0);

	CHECK(virtio_setup_queue(&m.vd, &q, 0, 256, VIRTIO_NO_IRQ, "vtest") == 0);
	CHECK(q.size == 256 && fake.q[0].num == 256 && fake.q[0].ready == 1);
	CHECK(fake.q[0].desc == (uint64_t)(uintptr_t)q.desc);
	CHECK(fake.q[0].driver == (uint64_t)(uintptr_t)q.avail);
	CHECK(fake.q[0].device == (uint64_t)(uintptr_t)q.used);
	CHECK(q.avail->flags == VIRTQ_AVAIL_F_NO_INTERRUPT);  /* polled */

	/* QueueNumMax 100: the largest power of two below it. */
	CHECK(virtio_setup_queue(&m.vd, &q1, 1, 0, VIRTIO_NO_IRQ, "vtest") == 0);
	CHECK(q1.size == 64 && fake.q[1].num == 64);
	/* QueueNumMax 65536: no split queue is larger than 32768 (2.6). */
	CHECK(virtio_setup_queue(&m.vd, &q3, 3, 0, VIRTIO_NO_IRQ, "vtest") == 0);
	CHECK(q3.size == VIRTQ_MAX_SIZE && fake.q[3].num == VIRTQ_MAX_SIZE);

	log_buf[0] = 0;
	CHECK(virtio_setup_queue(&m.vd, &q1, 2, 0, VIRTIO_NO_IRQ, "vtest") == -ENOENT);
	CHECK(logged("vtest: queue 2 does not exist"));
	CHECK(virtio_setup_queue(&m.vd, &q1, 0, 0, VIRTIO_NO_IRQ, "vtest") == -EBUSY);
	CHECK(logged("vtest: mmio 0xfeb00e00: queue 0 is already in use"));
	CHECK(virtio_setup_queue(&m.vd, &q1, 1, 0, 0, "vtest") == -EINVAL);

	/* Publishing rings QueueNotify with the queue's index... */
	q.avail->ring[0] = 5;
	q.avail_idx = 1;
	virtq_publish(&q3);
	virtq_publish(&q);
	CHECK(q.avail->idx == 1);
	CHECK(fake.nnotify == 2 && fake.notified[0] == 3 && fake.notified[1] == 0);
	/* ...unless the device asked not to be (2.6.10). */
	q.used->flags = VIRTQ_USED_F_NO_NOTIFY;
	virtq_publish(&q);
	CHECK(fake.nnotify == 2);
	CHECK(fake.bad_width == 0 && fake.bad_offset == 0);

	/* The interrupt request of a driver built for interrupts: polled. */
	log_buf[0] = 0;
	CHECK(virtio_irq(&m.vd, 0, 42, "vtest") == VIRTIO_NO_IRQ);
	CHECK(logged("vtest: mmio 0xfeb00e00: no interrupts on this transport, polling"));
	CHECK(virtio_irq(&m.vd, 0, -1, "vtest") == VIRTIO_NO_IRQ);
	free_queue(&q);
	free_queue(&q1);
	free_queue(&q3);
}

/* 2.4.1 with ConfigGeneration; 4.2.2.2 access widths as the field. */
static void test_config_reads(void)
{
	const struct virtio_mmio_window small = { 0xfeb00e00, 0x108, 12 };
	struct virtio_mmio m;
	uint8_t mac[6];
	uint16_t status;
	uint64_t capacity;
	uint32_t blk_size;

	fake_net();
	for (unsigned i = 0; i < FAKE_CFG; i++)
		fake.cfg[i] = (uint8_t)(0x10 + i);
	CHECK(virtio_mmio_open(&m, &net_window, fake_regs) == 1);

	virtio_read_config(&m.vd, 0, mac, sizeof(mac));           /* a byte array */
	CHECK(mac[0] == 0x10 && mac[5] == 0x15 && fake.cfg_reads[1] == 6);
	virtio_read_config(&m.vd, 6, &status, sizeof(status));    /* le16 */
	CHECK(status == 0x1716 && fake.cfg_reads[2] == 1);
	virtio_read_config(&m.vd, 20, &blk_size, sizeof(blk_size));
	CHECK(blk_size == 0x27262524 && fake.cfg_reads[4] == 1);
	virtio_read_config(&m.vd, 0, &capacity, sizeof(capacity)); /* le64: two halves */
	CHECK(capacity == 0x1716151413121110ull && fake.cfg_reads[4] == 3);

	/* The configuration changes during the read: read again, so the
	 * value is one the device had, not half of each. */
	memset(fake.cfg_reads, 0, sizeof(fake.cfg_reads));
	fake.gen_bumps = 1;
	virtio_read_config(&m.vd, 0, &capacity, sizeof(capacity));
	CHECK(fake.cfg_reads[4] == 4);
	CHECK(capacity == 0x1716151513121111ull);
	CHECK(fake.bad_width == 0 && fake.bad_offset == 0);

	/* Past the window's end: zeros, not the next device's registers. */
	CHECK(virtio_mmio_open(&m, &small, fake_regs) == 1);
	capacity = ~0ull;
	virtio_read_config(&m.vd, 4, &capacity, sizeof(capacity));
	CHECK(capacity == 0x17161515ull);   /* bytes 4-7, byte 4 bumped above */
	capacity = ~0ull;
	virtio_read_config(&m.vd, 8, &capacity, sizeof(capacity));
	CHECK(capacity == 0);
}

int main(void)
{
	test_good_words();
	test_malformed_words();
	test_scan();
	test_open_checks_the_device();
	test_start_negotiates();
	test_queues();
	test_config_reads();
	printf("virtio_mmio: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
