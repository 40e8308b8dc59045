/* virtio_mmio.h: the virtio-mmio transport (VIRTIO 1.1 sec 4.2, version 2 only): register layout, devices from the command line, VIRTIO_MMIO_DRIVER. */
#ifndef UNICYCLE_DRIVERS_VIRTIO_MMIO_H
#define UNICYCLE_DRIVERS_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/virtio.h"

/*
 * Machines without PCI (QEMU microvm) place virtio devices in MMIO windows
 * and, like Linux, name them on the kernel command line, one word each:
 * virtio_mmio.device=<size>@<base>:<irq>[:<id>]. At the INIT_BUS init
 * level virtio_mmio.c checks each window and hands its device to the
 * driver registered for its DeviceID with VIRTIO_MMIO_DRIVER(). Devices
 * are polled: no interrupt is wired up.
 */

/* 4.2.2 MMIO Device Register Layout: offsets from the window's base.
 * 4.2.2.2: control registers are read and written 32 bits wide only. */
#define VIRTIO_MMIO_MAGIC_VALUE         0x000 /* r   0x74726976, "virt" */
#define VIRTIO_MMIO_VERSION             0x004 /* r   2 (1: legacy, not supported) */
#define VIRTIO_MMIO_DEVICE_ID           0x008 /* r   5 Device Types; 0: empty slot */
#define VIRTIO_MMIO_VENDOR_ID           0x00c /* r */
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010 /* r   32 bits, as DEVICE_FEATURES_SEL picks */
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014 /* w   0: bits 0-31, 1: bits 32-63 */
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020 /* w */
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024 /* w */
#define VIRTIO_MMIO_QUEUE_SEL           0x030 /* w */
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034 /* r   0: no such queue */
#define VIRTIO_MMIO_QUEUE_NUM           0x038 /* w */
#define VIRTIO_MMIO_QUEUE_READY         0x044 /* rw */
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050 /* w   queue index */
#define VIRTIO_MMIO_INTERRUPT_STATUS    0x060 /* r */
#define VIRTIO_MMIO_INTERRUPT_ACK       0x064 /* w */
#define VIRTIO_MMIO_STATUS              0x070 /* rw  2.1 device status */
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080 /* w   Descriptor Area */
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084 /* w */
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090 /* w   Driver Area (avail ring) */
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094 /* w */
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0 /* w   Device Area (used ring) */
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4 /* w */
#define VIRTIO_MMIO_CONFIG_GENERATION   0x0fc /* r */
#define VIRTIO_MMIO_CONFIG              0x100 /* device-specific configuration */

#define VIRTIO_MMIO_MAGIC               0x74726976u
#define VIRTIO_MMIO_VERSION_LEGACY      1
#define VIRTIO_MMIO_VERSION_MODERN      2

#define VIRTIO_MMIO_PARAM               "virtio_mmio.device="
#define VIRTIO_MMIO_MAX_DEVICES         32

/* One window from the command line. */
struct virtio_mmio_window {
	uint64_t base, size;
	uint32_t irq;                 /* as given; unused (polled) */
};

/* One version 2 device, its window mapped. */
struct virtio_mmio {
	struct virtio_dev vd;         /* first: the transport ops reach it from vd */
	struct virtio_mmio_window win;
	volatile uint8_t *regs;
	uint32_t device_id, vendor_id;
};

/* VIRTIO_MMIO_DRIVER(vnet_virtio); after `static const struct virtio_driver
 * vnet_virtio = {...}`: puts it in the .virtio_mmio_drivers table, which
 * binds by device_id. */
#define VIRTIO_MMIO_DRIVER(drv_var)                                            \
	static const struct virtio_driver *const drv_var##_mmio_entry            \
		__attribute__((used, section(".virtio_mmio_drivers"))) = &drv_var

/* virtio_mmio.c */
/* The value of one virtio_mmio.device= word (`len` bytes at `s`, the
 * prefix stripped): <size>[K|M|G]@<base>:<irq>[:<id>], numbers as C
 * literals (0x hex, leading 0 octal, else decimal). 0, or -EINVAL with
 * `*why` saying what is wrong. Pure: host unit-tested. */
int virtio_mmio_parse(const char *s, size_t len, struct virtio_mmio_window *w,
		      const char **why);
/* Every virtio_mmio.device= word of `cmdline`, in order, into `out`
 * (room for `max`); malformed or repeated ones are logged and skipped.
 * Returns how many. */
unsigned virtio_mmio_scan(const char *cmdline, struct virtio_mmio_window *out, unsigned max);
/* Checks the window (MagicValue, Version 2) and reads its IDs into `m`.
 * 1 when it holds a device, 0 for an empty slot (DeviceID 0), or
 * -ENODEV (logged: not virtio, or a legacy device). */
int virtio_mmio_open(struct virtio_mmio *m, const struct virtio_mmio_window *w,
		     volatile uint8_t *regs);
/* 3.1.1 steps 1-6 on an opened device: virtio_start() after checking
 * the window holds `device_cfg_min` bytes of configuration. */
int virtio_mmio_start(struct virtio_mmio *m, unsigned device_cfg_min, uint64_t wanted,
		      const char *who);

#endif
