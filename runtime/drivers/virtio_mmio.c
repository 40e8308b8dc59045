/* virtio_mmio.c: the virtio-mmio transport (VIRTIO 1.1 sec 4.2, version 2 register layout) behind struct virtio_dev, its devices from the virtio_mmio.device= words of the command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/io.h"
#include "drivers/virtio_mmio.h"
#include "kernel/kernel.h"

#define VIRTIO_MMIO_NAME "virtio-mmio"

extern const struct virtio_driver *const __start_virtio_mmio_drivers[];
extern const struct virtio_driver *const __stop_virtio_mmio_drivers[];

/* ---- register access ----
 * 4.2.2.2: control registers 32 bits wide and aligned; device
 * configuration as wide as the field. Host unit tests define
 * VIRTIO_MMIO_TEST_REGS and supply a fake device behind these. */
#ifdef VIRTIO_MMIO_TEST_REGS
uint32_t virtio_mmio_test_read(volatile uint8_t *regs, unsigned off, unsigned width);
void virtio_mmio_test_write(volatile uint8_t *regs, unsigned off, unsigned width, uint32_t v);
#define vm_read(regs, off, width)     virtio_mmio_test_read(regs, off, width)
#define vm_write(regs, off, width, v) virtio_mmio_test_write(regs, off, width, v)
#else
static inline uint32_t vm_read(volatile uint8_t *regs, unsigned off, unsigned width)
{
	switch (width) {
	case 1:
		return *(volatile uint8_t *)(regs + off);
	case 2:
		return *(volatile uint16_t *)(regs + off);
	default:
		return *(volatile uint32_t *)(regs + off);
	}
}

static inline void vm_write(volatile uint8_t *regs, unsigned off, unsigned width, uint32_t v)
{
	(void)width; /* every write is to a control register: 32 bits */
	*(volatile uint32_t *)(regs + off) = v;
}
#endif

static uint32_t vm_read32(struct virtio_mmio *m, unsigned off)
{
	return vm_read(m->regs, off, 4);
}

static void vm_write32(struct virtio_mmio *m, unsigned off, uint32_t v)
{
	vm_write(m->regs, off, 4, v);
}

/* ---- the command line ---- */

/* A C integer literal in [*p, end): 0x hex, leading 0 octal, else
 * decimal (what Linux's %lli takes). 0, or -EINVAL (no digits, a digit
 * the base lacks right after them, or more than 64 bits). */
static int vm_parse_u64(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	unsigned base = 10, ndigits = 0;
	uint64_t v = 0;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	} else if (end - s > 1 && s[0] == '0') {
		base = 8;
		s++;
	}
	for (; s < end; s++, ndigits++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		if (d >= base)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -EINVAL;
		v = v * base + d;
	}
	if (ndigits == 0 && base != 8)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

/* K, M or G after the size (either case, as Linux's memparse). */
static int vm_parse_suffix(const char **p, const char *end, uint64_t *size)
{
	unsigned shift;

	if (*p == end)
		return 0;
	switch (**p) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	default: return 0;
	}
	if (*size > UINT64_MAX >> shift)
		return -EINVAL;
	*size <<= shift;
	(*p)++;
	return 0;
}

int virtio_mmio_parse(const char *s, size_t len, struct virtio_mmio_window *w,
		      const char **why)
{
	const char *p = s, *end = s + len;
	uint64_t size, base, irq, id;

	if (vm_parse_u64(&p, end, &size) < 0 || vm_parse_suffix(&p, end, &size) < 0) {
		*why = "the size is not a number (or too large)";
		return -EINVAL;
	}
	if (p == end || *p++ != '@') {
		*why = "expected '@' after the size";
		return -EINVAL;
	}
	if (vm_parse_u64(&p, end, &base) < 0) {
		*why = "the base address is not a number (or too large)";
		return -EINVAL;
	}
	if (p == end || *p++ != ':') {
		*why = "expected ':' and the irq after the base address";
		return -EINVAL;
	}
	if (vm_parse_u64(&p, end, &irq) < 0 || irq > UINT32_MAX) {
		*why = "the irq is not a 32-bit number";
		return -EINVAL;
	}
	/* Linux takes an optional platform device id; it names nothing here. */
	if (p != end && *p == ':') {
		p++;
		if (vm_parse_u64(&p, end, &id) < 0) {
			*why = "the device id after the irq is not a number";
			return -EINVAL;
		}
	}
	if (p != end) {
		*why = "unexpected characters after the irq";
		return -EINVAL;
	}
	/* 4.2.2: the registers take 0x100 bytes before the configuration. */
	if (size < VIRTIO_MMIO_CONFIG) {
		*why = "the window is smaller than the 0x100 bytes of registers";
		return -EINVAL;
	}
	if (base + size < base) {
		*why = "the window wraps past the end of the address space";
		return -EINVAL;
	}
	/* 4.2.2.2: 32-bit registers, aligned. */
	if (base % 4) {
		*why = "the base address is not 4-byte aligned";
		return -EINVAL;
	}
	w->base = base;
	w->size = size;
	w->irq = (uint32_t)irq;
	return 0;
}

static bool vm_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

unsigned virtio_mmio_scan(const char *cmdline, struct virtio_mmio_window *out, unsigned max)
{
	const size_t plen = sizeof(VIRTIO_MMIO_PARAM) - 1;
	const char *p = cmdline;
	unsigned n = 0;

	while (*p) {
		const char *word, *why = NULL;
		struct virtio_mmio_window w;
		size_t len;

		while (vm_is_space(*p))
			p++;
		word = p;
		while (*p && !vm_is_space(*p))
			p++;
		len = (size_t)(p - word);
		if (len < plen || memcmp(word, VIRTIO_MMIO_PARAM, plen) != 0)
			continue;
		if (virtio_mmio_parse(word + plen, len - plen, &w, &why) < 0) {
			console_printf(VIRTIO_MMIO_NAME ": ignored '%.*s': %s\n", (int)len, word, why);
			continue;
		}
		for (unsigned i = 0; i < n && !why; i++)
			if (w.base < out[i].base + out[i].size && out[i].base < w.base + w.size)
				why = "it overlaps an earlier window";
		if (!why && n == max)
			why = "too many devices";
		if (why) {
			console_printf(VIRTIO_MMIO_NAME ": ignored '%.*s': %s\n", (int)len, word, why);
			continue;
		}
		out[n++] = w;
	}
	return n;
}

/* ---- the transport ---- */

static struct virtio_mmio *virtio_mmio_of(struct virtio_dev *vd)
{
	return (struct virtio_mmio *)vd; /* vd is the first member */
}

/* 4.2.2 Status: the 2.1 status byte in a 32-bit register. */
static uint8_t virtio_mmio_get_status(struct virtio_dev *vd)
{
	return (uint8_t)vm_read32(virtio_mmio_of(vd), VIRTIO_MMIO_STATUS);
}

static void virtio_mmio_set_status(struct virtio_dev *vd, uint8_t status)
{
	vm_write32(virtio_mmio_of(vd), VIRTIO_MMIO_STATUS, status);
}

/* 4.2.2 DeviceFeatures/DeviceFeaturesSel: 32 bits per selector value. */
static uint64_t virtio_mmio_get_features(struct virtio_dev *vd)
{
	struct virtio_mmio *m = virtio_mmio_of(vd);
	uint64_t offered;

	vm_write32(m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered = vm_read32(m, VIRTIO_MMIO_DEVICE_FEATURES);
	vm_write32(m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)vm_read32(m, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	return offered;
}

/* 4.2.2 DriverFeatures/DriverFeaturesSel. */
static void virtio_mmio_set_features(struct virtio_dev *vd, uint64_t features)
{
	struct virtio_mmio *m = virtio_mmio_of(vd);

	vm_write32(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vm_write32(m, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	vm_write32(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vm_write32(m, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
}

/* One configuration field at `off` (relative to 0x100) of `len` bytes,
 * accessed as 4.2.2.2 asks: 8/16/32 bits as wide as the field, 64-bit
 * fields as two 32-bit halves; anything else (a byte array such as a MAC)
 * byte by byte. */
static void virtio_mmio_copy_config(struct virtio_mmio *m, unsigned off, uint8_t *out,
				    unsigned len)
{
	unsigned at = VIRTIO_MMIO_CONFIG + off;
	uint32_t v[2];

	if (len == 2 && off % 2 == 0) {
		uint16_t h = (uint16_t)vm_read(m->regs, at, 2);

		memcpy(out, &h, 2);
	} else if ((len == 4 || len == 8) && off % 4 == 0) {
		v[0] = vm_read(m->regs, at, 4);
		if (len == 8)
			v[1] = vm_read(m->regs, at + 4, 4);
		memcpy(out, v, len);
	} else {
		for (unsigned i = 0; i < len; i++)
			out[i] = (uint8_t)vm_read(m->regs, at + i, 1);
	}
}

/* 4.2.2 ConfigGeneration: 2.4.1, read again until it is unchanged around
 * the read. Bytes past the window read 0. */
static void virtio_mmio_read_config(struct virtio_dev *vd, unsigned off, void *buf,
				    unsigned len)
{
	struct virtio_mmio *m = virtio_mmio_of(vd);
	uint64_t cfg_len = m->win.size - VIRTIO_MMIO_CONFIG;
	uint8_t *out = buf;
	uint32_t gen;

	memset(out, 0, len);
	if (off >= cfg_len)
		return;
	if (len > cfg_len - off)
		len = (unsigned)(cfg_len - off);
	do {
		gen = vm_read32(m, VIRTIO_MMIO_CONFIG_GENERATION);
		virtio_mmio_copy_config(m, off, out, len);
	} while (gen != vm_read32(m, VIRTIO_MMIO_CONFIG_GENERATION));
}

static void vm_write64(struct virtio_mmio *m, unsigned lo, unsigned hi, uint64_t v)
{
	vm_write32(m, lo, (uint32_t)v);
	vm_write32(m, hi, (uint32_t)(v >> 32));
}

/* 4.2.3.2 Virtqueue Configuration. Polled only: `irq` must be
 * VIRTIO_NO_IRQ, and every queue asks the device not to interrupt. */
static int virtio_mmio_setup_queue(struct virtio_dev *vd, struct virtq *vq, uint16_t index,
				   uint16_t max_size, uint16_t irq, const char *who)
{
	struct virtio_mmio *m = virtio_mmio_of(vd);
	uint32_t num_max;
	int rc;

	if (irq != VIRTIO_NO_IRQ) {
		console_printf("%s: %s: queue %u: no interrupts on virtio-mmio\n", who,
			       vd->where, index);
		return -EINVAL;
	}
	/* step 1: select the queue. */
	vm_write32(m, VIRTIO_MMIO_QUEUE_SEL, index);
	/* step 2: it must not be in use already. */
	if (vm_read32(m, VIRTIO_MMIO_QUEUE_READY) != 0) {
		console_printf("%s: %s: queue %u is already in use\n", who, vd->where, index);
		return -EBUSY;
	}
	/* step 3: its maximum size; 0 means the queue is not available. */
	num_max = vm_read32(m, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (num_max == 0) {
		console_printf("%s: queue %u does not exist\n", who, index);
		return -ENOENT;
	}
	if (num_max > VIRTQ_MAX_SIZE)
		num_max = VIRTQ_MAX_SIZE; /* 2.6: split queues hold at most 32768 */
	/* step 4: allocate and zero the queue memory, physically contiguous. */
	rc = virtq_alloc(vq, vd, index, (uint16_t)num_max, max_size, true, who);
	if (rc < 0)
		return rc;
	/* step 5: the size we chose. */
	vm_write32(m, VIRTIO_MMIO_QUEUE_NUM, vq->size);
	/* step 6: the three areas (physical == virtual: identity mapped). */
	vm_write64(m, VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH,
		   (uint64_t)(uintptr_t)vq->desc);
	vm_write64(m, VIRTIO_MMIO_QUEUE_DRIVER_LOW, VIRTIO_MMIO_QUEUE_DRIVER_HIGH,
		   (uint64_t)(uintptr_t)vq->avail);
	vm_write64(m, VIRTIO_MMIO_QUEUE_DEVICE_LOW, VIRTIO_MMIO_QUEUE_DEVICE_HIGH,
		   (uint64_t)(uintptr_t)vq->used);
	vq->notify = m->regs + VIRTIO_MMIO_QUEUE_NOTIFY;
	/* step 7: ready. */
	vm_write32(m, VIRTIO_MMIO_QUEUE_READY, 1);
	return 0;
}

/* 4.2.3.3 Available Buffer Notifications: the queue index to QueueNotify,
 * a 32-bit write like every control register (QEMU drops other widths). */
static void virtio_mmio_notify(struct virtq *vq)
{
	vm_write32(virtio_mmio_of(vq->dev), VIRTIO_MMIO_QUEUE_NOTIFY, vq->index);
}

static const struct virtio_ops virtio_mmio_ops = {
	.get_status = virtio_mmio_get_status,
	.set_status = virtio_mmio_set_status,
	.get_features = virtio_mmio_get_features,
	.set_features = virtio_mmio_set_features,
	.read_config = virtio_mmio_read_config,
	.setup_queue = virtio_mmio_setup_queue,
	.notify = virtio_mmio_notify,
	/* no .irq: polled */
};

int virtio_mmio_open(struct virtio_mmio *m, const struct virtio_mmio_window *w,
		     volatile uint8_t *regs)
{
	uint32_t magic, version;

	memset(m, 0, sizeof(*m));
	m->vd.ops = &virtio_mmio_ops;
	m->win = *w;
	m->regs = regs;
	snprintf(m->vd.where, sizeof(m->vd.where), "mmio %#lx", (unsigned long)w->base);
	/* 4.2.2.1: the driver MUST ignore a device whose MagicValue is not
	 * 0x74726976 or whose Version it does not know. */
	magic = vm_read32(m, VIRTIO_MMIO_MAGIC_VALUE);
	if (magic != VIRTIO_MMIO_MAGIC) {
		console_printf(VIRTIO_MMIO_NAME " %#lx: no virtio device (magic %#x); skipped\n",
			       (unsigned long)w->base, magic);
		return -ENODEV;
	}
	version = vm_read32(m, VIRTIO_MMIO_VERSION);
	if (version == VIRTIO_MMIO_VERSION_LEGACY) {
		console_printf(VIRTIO_MMIO_NAME " %#lx: legacy device (version 1), not "
			       "supported; skipped\n", (unsigned long)w->base);
		return -ENODEV;
	}
	if (version != VIRTIO_MMIO_VERSION_MODERN) {
		console_printf(VIRTIO_MMIO_NAME " %#lx: unknown version %u; skipped\n",
			       (unsigned long)w->base, version);
		return -ENODEV;
	}
	/* 4.2.3.1.1: DeviceID 0 is a placeholder, no device: no further access. */
	m->device_id = vm_read32(m, VIRTIO_MMIO_DEVICE_ID);
	if (m->device_id == 0)
		return 0;
	m->vendor_id = vm_read32(m, VIRTIO_MMIO_VENDOR_ID);
	return 1;
}

int virtio_mmio_start(struct virtio_mmio *m, unsigned device_cfg_min, uint64_t wanted,
		      const char *who)
{
	uint64_t cfg_len = m->win.size - VIRTIO_MMIO_CONFIG;

	if (cfg_len < device_cfg_min) {
		console_printf("%s: %s: the window holds %lu bytes of configuration, need %u\n",
			       who, m->vd.where, (unsigned long)cfg_len, device_cfg_min);
		return -ENODEV;
	}
	/* 4.2.3.1 Device Initialization: the generic 3.1 sequence. */
	return virtio_start(&m->vd, wanted, who);
}

#ifndef VIRTIO_MMIO_TEST_REGS
static const struct virtio_driver *virtio_mmio_driver_for(uint32_t device_id)
{
	for (const struct virtio_driver *const *p = __start_virtio_mmio_drivers;
	     p < __stop_virtio_mmio_drivers; p++)
		if ((*p)->device_id == device_id)
			return *p;
	return NULL;
}

/* The device in one window, bound to its driver; false when none drives it. */
static bool virtio_mmio_bind(const struct virtio_mmio_window *w)
{
	struct virtio_mmio *m = calloc(1, sizeof(*m));
	const struct virtio_driver *drv;
	int rc;

	if (!m) {
		console_printf(VIRTIO_MMIO_NAME ": out of memory\n");
		return false;
	}
	rc = virtio_mmio_open(m, w, mem_map_mmio(w->base, w->size));
	if (rc <= 0) {
		free(m);
		return false;
	}
	drv = virtio_mmio_driver_for(m->device_id);
	console_printf(VIRTIO_MMIO_NAME " %#lx irq %u: device %u vendor %#x%s%s\n",
		       (unsigned long)w->base, w->irq, m->device_id, m->vendor_id,
		       drv ? " -> " : "", drv ? drv->name : "");
	if (!drv) {
		free(m);
		return false;
	}
	rc = virtio_mmio_start(m, drv->device_cfg_min, drv->features, drv->name);
	if (rc == 0)
		rc = drv->attach(&m->vd);
	if (rc < 0) {
		/* Left allocated: the device may point at its rings until reset. */
		console_printf("%s: %s not used (%d)\n", drv->name, m->vd.where, rc);
		return false;
	}
	return true;
}

static void virtio_mmio_init(void)
{
	static struct virtio_mmio_window wins[VIRTIO_MMIO_MAX_DEVICES];
	unsigned n = virtio_mmio_scan(bootinfo.cmdline, wins, VIRTIO_MMIO_MAX_DEVICES);
	unsigned bound = 0;

	if (n == 0)
		return; /* no windows named: a machine with PCI */
	for (unsigned i = 0; i < n; i++)
		bound += virtio_mmio_bind(&wins[i]);
	console_printf("unicycle: virtio-mmio: %u window%s, %u device%s driven\n", n,
		       n == 1 ? "" : "s", bound, bound == 1 ? "" : "s");
}
INIT_CALL(INIT_BUS, virtio_mmio_init);
#endif
