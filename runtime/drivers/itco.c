/* itco.c: Intel TCO watchdog (ICH9 as in QEMU q35; the Q170's 100-series PCH, not verified on hardware), a hardware behind CONFIG_WATCHDOG. */
#include <errno.h>

#include "arch/x86_64/io.h"
#include "drivers/itco.h"
#include "drivers/pci.h"
#include "kernel/kernel.h"

/*
 * Datasheets and register names as in itco.h. The TCO timer counts
 * TCO_TMR's ticks (about 0.6 s each) down from each write to TCO_RLD;
 * reaching zero sets TCO1_STS.TIMEOUT and counts TCO_TMR again; reaching
 * zero a second time sets TCO2_STS.SECOND_TO_STS (kept across the reset)
 * and resets the machine, unless NO_REBOOT is set. The watchdog core's
 * hardware limit is split over the two expiries, as the i6300esb splits it
 * over its two stages, each rounded up to whole ticks (at least 2: smaller
 * values are ignored), so the reset comes no sooner than the limit and up
 * to one tick per expiry later (the tick's own error is +-1 tick).
 *
 * Where the registers are and who owns NO_REBOOT differs by chipset:
 * - ICH9 (QEMU q35's ICH9-LPC): TCOBASE = PMBASE + 60h, decoded with
 *   ACPI_EN; NO_REBOOT is GCS bit 5 in the chipset configuration block at
 *   RCBA. Both set up by the firmware (SeaBIOS, OVMF). QEMU also keeps the
 *   reset off while its "noreboot" pin strap (ICH9-LPC.noreboot, default
 *   on) is set, which `unicycle run` turns off when this driver is built.
 * - 100-series PCH (the Q170): TCOBASE in the SMBus controller's
 *   configuration, decoded with TCOCTL.TCO_BASE_EN. NO_REBOOT is behind the
 *   primary-to-sideband bridge, which this driver does not touch: whether
 *   the second expiry resets depends on the firmware having cleared it.
 *
 * Unlike the i6300esb there is no lock over the timer (TCO_LOCK locks
 * only the SMI enable), so the timer stays writable after the start.
 */
#define ITCO_NAME "itco"

struct itco_chip {
	const char *name;
	/* The TCO I/O base, or 0 with a message when the firmware left it off. */
	uint16_t (*tco_base)(struct pci_dev *pci);
	/* Clears NO_REBOOT: 0, or negative errno with a message when it cannot. */
	int (*allow_reboot)(struct pci_dev *pci);
};

struct itco {
	struct pci_dev *pci;
	const struct itco_chip *chip;
	uint16_t base;
};

static struct itco itco_dev;

static uint16_t itco_ich9_tco_base(struct pci_dev *pci)
{
	uint16_t pmbase = pci_read32(pci, ITCO_ICH9_CFG_PMBASE) & ITCO_ICH9_PMBASE_MASK;

	if (pmbase == 0 || !(pci_read8(pci, ITCO_ICH9_CFG_ACPI_CNTL) & ITCO_ICH9_ACPI_EN)) {
		console_printf(ITCO_NAME ": ICH9 ACPI I/O block (PMBASE %#x) not enabled by the "
			       "firmware: no TCO\n", pmbase);
		return 0;
	}
	return pmbase + ITCO_ICH9_PM_TCO;
}

/* GCS.NO_REBOOT, in the chipset configuration block at RCBA. */
static int itco_ich9_allow_reboot(struct pci_dev *pci)
{
	uint32_t rcba = pci_read32(pci, ITCO_ICH9_CFG_RCBA);
	volatile uint32_t *gcs;

	if (!(rcba & ITCO_ICH9_RCBA_EN) || (rcba & ITCO_ICH9_RCBA_MASK) == 0) {
		console_printf(ITCO_NAME ": RCBA not enabled by the firmware: cannot clear "
			       "NO_REBOOT\n");
		return -ENODEV;
	}
	gcs = (volatile uint32_t *)((volatile uint8_t *)mem_map_mmio(rcba & ITCO_ICH9_RCBA_MASK,
								    ITCO_ICH9_RCBA_BYTES) +
				    ITCO_ICH9_GCS);
	*gcs &= ~ITCO_ICH9_GCS_NO_REBOOT;
	if (*gcs & ITCO_ICH9_GCS_NO_REBOOT) {
		console_printf(ITCO_NAME ": GCS.NO_REBOOT stays set: the timeout cannot reset\n");
		return -EIO;
	}
	return 0;
}

static uint16_t itco_spt_tco_base(struct pci_dev *pci)
{
	uint16_t base = pci_read16(pci, ITCO_SPT_CFG_TCOBASE) & ITCO_SPT_TCOBASE_MASK;

	if (base == 0 || !(pci_read32(pci, ITCO_SPT_CFG_TCOCTL) & ITCO_SPT_TCO_BASE_EN)) {
		console_printf(ITCO_NAME ": TCOBASE %#x not enabled by the firmware: no TCO\n",
			       base);
		return 0;
	}
	return base;
}

/* NO_REBOOT is behind the sideband bridge: read nothing, write nothing. */
static int itco_spt_allow_reboot(struct pci_dev *pci)
{
	(void)pci;
	console_printf(ITCO_NAME ": the reset depends on the firmware having cleared NO_REBOOT "
		       "(not verified on hardware)\n");
	return 0;
}

static const struct itco_chip itco_ich9 = {
	.name = "ICH9",
	.tco_base = itco_ich9_tco_base,
	.allow_reboot = itco_ich9_allow_reboot,
};

static const struct itco_chip itco_spt = {
	.name = "100-series PCH",
	.tco_base = itco_spt_tco_base,
	.allow_reboot = itco_spt_allow_reboot,
};

/* Milliseconds as ticks for one expiry, rounded up, within TCO_TMR's range. */
static uint16_t itco_ticks(uint32_t ms)
{
	uint32_t ticks = (ms + ITCO_TICK_MS - 1) / ITCO_TICK_MS;

	if (ticks < ITCO_TMR_MIN)
		ticks = ITCO_TMR_MIN;
	return ticks > ITCO_TMR_MASK ? ITCO_TMR_MASK : (uint16_t)ticks;
}

/* TCO1_CNT with TCO_TMR_HLT set or clear; NMI_NOW is never written as 1. */
static void itco_halt(struct itco *w, bool halt)
{
	uint16_t cnt = inw(w->base + ITCO_TCO1_CNT) & ~(ITCO_TCO1_NMI_NOW | ITCO_TCO1_TMR_HLT);

	outw(w->base + ITCO_TCO1_CNT, cnt | (halt ? ITCO_TCO1_TMR_HLT : 0));
}

static void itco_feed(void *state)
{
	struct itco *w = state;

	outw(w->base + ITCO_TCO_RLD, 1);
}

static int itco_start(void *state, uint32_t timeout_ms)
{
	struct itco *w = state;
	uint16_t ticks = itco_ticks((timeout_ms + ITCO_EXPIRIES - 1) / ITCO_EXPIRIES);
	uint16_t tmr;
	int err;

	err = w->chip->allow_reboot(w->pci);
	if (err < 0)
		return err;
	tmr = inw(w->base + ITCO_TCO_TMR) & ~ITCO_TMR_MASK; /* bits 15:10 reserved: kept */
	outw(w->base + ITCO_TCO_TMR, tmr | ticks);
	outw(w->base + ITCO_TCO1_STS, ITCO_TCO1_TIMEOUT); /* write 1 to clear */
	itco_feed(w);
	itco_halt(w, false);
	itco_feed(w); /* the count starts from TCO_TMR, whichever write started it */
	console_printf(ITCO_NAME ": %u ticks of 0.6 s, twice: resets after about %u ms unfed\n",
		       ticks, ticks * ITCO_TICK_MS * ITCO_EXPIRIES);
	return 0;
}

static const struct watchdog_driver itco_watchdog = {
	.name = ITCO_NAME,
	.state = &itco_dev,
	.start = itco_start,
	.feed = itco_feed,
};

static int itco_probe(struct pci_dev *pci, const struct pci_id *id)
{
	struct itco *w = &itco_dev;
	const struct itco_chip *chip = id->data;
	uint16_t base, cnt;
	bool fired;

	if (w->pci)
		return -EBUSY; /* one is enough */
	base = chip->tco_base(pci);
	if (base == 0)
		return -ENODEV;
	w->pci = pci;
	w->chip = chip;
	w->base = base;
	/* Halted until watchdog_start(): a timer the firmware left running
	 * must not reset the machine during a long boot. */
	cnt = inw(base + ITCO_TCO1_CNT);
	itco_halt(w, true);
	fired = inw(base + ITCO_TCO2_STS) & ITCO_TCO2_SECOND_TO;
	if (fired) {
		console_printf(ITCO_NAME ": the last reset was a TCO watchdog timeout\n");
		outw(base + ITCO_TCO2_STS, ITCO_TCO2_SECOND_TO); /* write 1 to clear */
	}
	console_printf(ITCO_NAME ": %s TCO at I/O %#x (%02x:%02x.%x)%s\n", chip->name, base,
		       pci->bus, pci->slot, pci->func,
		       cnt & ITCO_TCO1_TMR_HLT ? "" : " (not halted by the firmware)");
	pci->driver_state = w;
	watchdog_register(&itco_watchdog, fired);
	return 0;
}

static const struct pci_id itco_ids[] = {
	{ ITCO_VENDOR, ITCO_ICH9_LPC, &itco_ich9 },
	{ ITCO_VENDOR, ITCO_SPT_SMBUS, &itco_spt },
	{ 0 },
};

PCI_DRIVER(itco_driver) = {
	.name = ITCO_NAME,
	.ids = itco_ids,
	.probe = itco_probe,
};
