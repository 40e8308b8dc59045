/* i6300esb.c: Intel 6300ESB watchdog timer (QEMU's i6300esb, 8086:25ab), the hardware behind CONFIG_WATCHDOG. */
#include <errno.h>

#include "arch/x86_64/io.h"
#include "arch/x86_64/irq.h"
#include "drivers/i6300esb.h"
#include "drivers/pci.h"
#include "kernel/kernel.h"

/*
 * Datasheet 300641-004US chapter 16 (register names as in i6300esb.h).
 * 16.2: a 35-bit down-counter loaded from Preload Value 1 runs the first
 * stage; when it reaches zero the WDT raises its stage-1 interrupt (off
 * here: WDT_INT_TYPE = 11b) and counts Preload Value 2, the second stage;
 * when that runs out it drives WDT_TOUT#, which resets the machine, and
 * sets WDT_TIMEOUT. Writing WDT_RELOAD starts the first stage again. Each
 * write to a preload or the reload register must follow the unlocking
 * sequence, 80h then 86h written to BAR + 0Ch, and a preload takes effect
 * the next time its stage begins. The limit asked for is split evenly over
 * the two stages.
 *
 * QEMU (hw/watchdog/wdt_i6300esb.c) takes the configuration register only
 * as a 16-bit access and the lock register only as an 8-bit one, which are
 * their widths; -action watchdog=... picks what "reset" means there.
 */
#define I6300ESB_NAME "i6300esb"

struct i6300esb {
	struct pci_dev *pci;
	volatile uint8_t *regs;
};

static struct i6300esb i6300esb_dev;

/* 16.2 Register unlocking sequence; the next write to 00h, 04h or 0Ch is taken. */
static void i6300esb_unlock(struct i6300esb *w)
{
	*(volatile uint8_t *)(w->regs + I6300ESB_RELOAD) = I6300ESB_UNLOCK1;
	*(volatile uint8_t *)(w->regs + I6300ESB_RELOAD) = I6300ESB_UNLOCK2;
}

static void i6300esb_write_reload(struct i6300esb *w, uint16_t v)
{
	uint64_t flags = irq_save(); /* the sequence and its write, uninterrupted */

	i6300esb_unlock(w);
	*(volatile uint16_t *)(w->regs + I6300ESB_RELOAD) = v;
	irq_restore(flags);
}

static void i6300esb_write_preload(struct i6300esb *w, unsigned reg, uint32_t v)
{
	uint64_t flags = irq_save();

	i6300esb_unlock(w);
	*(volatile uint32_t *)(w->regs + reg) = v;
	irq_restore(flags);
}

/* Milliseconds as preload units at the 1 kHz scale (2^15 PCI clocks),
 * rounded up, within the 20 bits a preload has. */
static uint32_t i6300esb_units(uint32_t ms)
{
	uint64_t clocks = (uint64_t)ms * (I6300ESB_CLOCK_HZ / 1000);
	uint64_t units = (clocks + (1u << I6300ESB_SCALE_SHIFT) - 1) >> I6300ESB_SCALE_SHIFT;

	if (units == 0)
		units = 1;
	return units > I6300ESB_PRELOAD_MAX ? I6300ESB_PRELOAD_MAX : (uint32_t)units;
}

static void i6300esb_feed(void *state)
{
	i6300esb_write_reload(state, I6300ESB_RELOAD_RELOAD);
}

/* Both stages, then WDT_ENABLE with WDT_LOCK, so that no stray write can
 * stop it before the next reset. */
static int i6300esb_start(void *state, uint32_t timeout_ms)
{
	struct i6300esb *w = state;
	uint32_t stage = i6300esb_units((timeout_ms + 1) / 2);

	if (pci_read8(w->pci, I6300ESB_CFG_WDTLR) & I6300ESB_LOCK_LOCK) {
		console_printf(I6300ESB_NAME ": locked by the firmware: cannot set its timeout\n");
		return -EBUSY;
	}
	i6300esb_write_preload(w, I6300ESB_PRELOAD1, stage);
	i6300esb_write_preload(w, I6300ESB_PRELOAD2, stage);
	i6300esb_write_reload(w, I6300ESB_RELOAD_RELOAD);
	pci_write8(w->pci, I6300ESB_CFG_WDTLR, I6300ESB_LOCK_ENABLE | I6300ESB_LOCK_LOCK);
	return 0;
}

static const struct watchdog_driver i6300esb_watchdog = {
	.name = I6300ESB_NAME,
	.state = &i6300esb_dev,
	.start = i6300esb_start,
	.feed = i6300esb_feed,
};

static int i6300esb_probe(struct pci_dev *pci, const struct pci_id *id)
{
	struct i6300esb *w = &i6300esb_dev;
	uint8_t lock;
	bool fired;

	(void)id;
	if (w->pci)
		return -EBUSY; /* one is enough */
	if (pci->bar_is_io[I6300ESB_BAR] || pci->bar[I6300ESB_BAR] == 0 ||
	    pci->bar_size[I6300ESB_BAR] < I6300ESB_BAR_MIN_BYTES) {
		console_printf(I6300ESB_NAME ": %02x:%02x.%x has no memory BAR 0\n", pci->bus,
			       pci->slot, pci->func);
		return -ENODEV;
	}
	pci_enable(pci);
	w->pci = pci;
	w->regs = (volatile uint8_t *)mem_map_mmio(pci->bar[I6300ESB_BAR],
						   pci->bar_size[I6300ESB_BAR]);
	/* Stopped, two-stage watchdog mode (unless the firmware locked it),
	 * no stage-1 interrupt, the 1 kHz scale, WDT_TOUT# resetting. */
	lock = pci_read8(pci, I6300ESB_CFG_WDTLR);
	if (!(lock & I6300ESB_LOCK_LOCK))
		pci_write8(pci, I6300ESB_CFG_WDTLR, 0);
	pci_write16(pci, I6300ESB_CFG_WDTCONFIG, I6300ESB_CONFIG_INT_NONE);
	fired = *(volatile uint16_t *)(w->regs + I6300ESB_RELOAD) & I6300ESB_RELOAD_TIMEOUT;
	if (fired) {
		console_printf(I6300ESB_NAME ": the last reset was a watchdog timeout\n");
		i6300esb_write_reload(w, I6300ESB_RELOAD_TIMEOUT);
	}
	console_printf(I6300ESB_NAME ": %02x:%02x.%x watchdog timer%s\n", pci->bus, pci->slot,
		       pci->func, lock & I6300ESB_LOCK_ENABLE ? " (left running by the firmware)" : "");
	pci->driver_state = w;
	watchdog_register(&i6300esb_watchdog, fired);
	return 0;
}

static const struct pci_id i6300esb_ids[] = {
	{ I6300ESB_VENDOR, I6300ESB_DEVICE, NULL },
	{ 0 },
};

PCI_DRIVER(i6300esb_driver) = {
	.name = I6300ESB_NAME,
	.ids = i6300esb_ids,
	.probe = i6300esb_probe,
};
