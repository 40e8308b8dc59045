/* e1000e.c: Intel e1000e-family NIC driver (82574L as in QEMU; I219-LM/V of 100-series boards), polled, on the netdev interface. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/io.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/memlayout.h"
#include "drivers/e1000e.h"
#include "drivers/pci.h"
#include "kernel/kernel.h"
#include "kernel/profile.h"
#include "net/netdev.h"

/*
 * Legacy descriptors, one receive and one transmit ring, every descriptor
 * with its own 2 KiB buffer (frames are copied in and out). No interrupts:
 * the event loop polls descriptor-done bits. Section numbers are those of
 * the 82574 datasheet unless marked I219.
 *
 * The I219 (a MAC inside the PCH with its PHY on a separate chip, sharing
 * both with the Management Engine) differs in what this driver touches:
 *  - the NVM lives in the platform SPI flash, not an EEPROM: EERD does not
 *    work, the MAC is read from RAL0/RAH0 which hardware loads at reset;
 *  - before a reset, software takes the EXTCNF_CTRL.SWFLAG semaphore from
 *    the ME and waits for it to be granted;
 *  - the PHY is reset with the MAC unless FWSM says the ME blocks it;
 *  - after reset, STATUS.LAN_INIT_DONE replaces EECD.AUTO_RD.
 *  - with ME firmware running, the PHY may sit in Ultra Low Power mode
 *    (cable was out at power-up): the host asks the ME to leave it through
 *    H2ME and waits for FWSM.ULP_CFG_DONE to clear.
 * NOT VERIFIED ON HARDWARE, and not done: leaving ULP without ME firmware
 * (LANPHYPC toggling and PHY registers over MDIC), the SPT transmit-ring
 * flush workaround before reset, the K1/PLL tweaks of the PCH PHY, MSI-X.
 *
 * Interrupts: none with CONFIG_POLL (the default). Without it, receive
 * causes raise an MSI (the interrupt chapter; MSI-X would need IVAR set-up) whose
 * handler, run from the event loop, reads ICR to acknowledge and polls.
 *
 * Transmit tail writes: a frame sent while a receive poll runs is queued
 * and the tail (TDT) moves once, when the poll ends, or after
 * CONFIG_NET_TX_BATCH frames; under a hypervisor every TDT write is a VM exit.
 * Frames sent outside a poll move it at once.
 */

#define E1000E_NAME         "e1000e"
#define E1000E_RX_RING      256     /* descriptors; ring bytes multiple of 128 */
#define E1000E_TX_RING      256
#define E1000E_BUF_SIZE     2048    /* matches RCTL.BSIZE_2048 */
#define E1000E_RESET_WAIT_US      20000   /* I219 needs 20 ms; 82574 1 ms */
#define E1000E_MASTER_TIMEOUT_US  80000   /* GIO master disable to take effect */
#define E1000E_QUIESCE_US         10000   /* DMA drains after RCTL/TCTL.EN clear */
#define E1000E_INIT_TIMEOUT_US    100000  /* NVM auto-read / LAN init */
#define E1000E_SWFLAG_TIMEOUT_US  100000
#define E1000E_ULP_TIMEOUT_US     300000  /* ME leaving Ultra Low Power */
#define E1000E_POLL_STEP_US       100

_Static_assert(sizeof(struct e1000_rx_desc) == 16, "rx descriptor layout");
_Static_assert(sizeof(struct e1000_tx_desc) == 16, "tx descriptor layout");
_Static_assert((E1000E_RX_RING * 16) % E1000_RING_ALIGN == 0, "RDLEN granularity");
_Static_assert((E1000E_TX_RING * 16) % E1000_RING_ALIGN == 0, "TDLEN granularity");

enum e1000e_family {
	E1000E_82574,
	E1000E_I219,     /* PCH (100-series and later) LAN */
};

/* What the ID table says about each device (pci_id.data). */
struct e1000e_model {
	enum e1000e_family family;
	const char *name;
};

#define E1000E_VENDOR 0x8086
#define E1000E_ID(device, family, name) \
	{ E1000E_VENDOR, (device), &(const struct e1000e_model){ (family), (name) } }

/* Device ids: the 82574 datasheet's PCI Device ID list; I219 from the PCH
 * datasheets. The ASUS Q170M carries an I219-LM (15b7). */
static const struct pci_id e1000e_ids[] = {
	E1000E_ID(0x10d3, E1000E_82574, "82574L"),
	E1000E_ID(0x156f, E1000E_I219, "I219-LM (Skylake-U)"),
	E1000E_ID(0x1570, E1000E_I219, "I219-V (Skylake-U)"),
	E1000E_ID(0x15b7, E1000E_I219, "I219-LM (100-series)"),
	E1000E_ID(0x15b8, E1000E_I219, "I219-V (100-series)"),
	E1000E_ID(0x15b9, E1000E_I219, "I219-LM (C620)"),
	E1000E_ID(0x15d7, E1000E_I219, "I219-LM (200-series)"),
	E1000E_ID(0x15d8, E1000E_I219, "I219-V (200-series)"),
	E1000E_ID(0x15e3, E1000E_I219, "I219-LM (200-series)"),
	E1000E_ID(0x15d6, E1000E_I219, "I219-V (200-series)"),
	{ 0 },
};

struct e1000e {
	struct netdev netdev;
	const struct e1000e_model *model;
	volatile uint8_t *regs;
	volatile struct e1000_rx_desc *rx;
	volatile struct e1000_tx_desc *tx;
	uint8_t *rx_buf, *tx_buf;
	unsigned rx_next;        /* next descriptor to look at */
	unsigned tx_next;        /* next descriptor to fill */
	unsigned tx_clean;       /* oldest descriptor not yet reclaimed */
	bool irq_mode;           /* MSI set up: ICR needs reading */
	bool in_poll;            /* e1000e_poll runs: transmit defers the tail write */
	unsigned tx_unkicked;    /* descriptors filled past the tail the device has */
};

static inline uint32_t e1000e_rd(struct e1000e *e, unsigned reg)
{
	return *(volatile uint32_t *)(e->regs + reg);
}

static inline void e1000e_wr(struct e1000e *e, unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(e->regs + reg) = v;
}

static inline void e1000e_flush(struct e1000e *e)
{
	(void)e1000e_rd(e, E1000_STATUS);  /* posted writes reach the device */
}

/* Polls until (reg & mask) == want; 0 or -ETIMEDOUT. */
static int e1000e_wait(struct e1000e *e, unsigned reg, uint32_t mask,
		       uint32_t want, unsigned timeout_us)
{
	unsigned t;

	for (t = 0; t < timeout_us; t += E1000E_POLL_STEP_US) {
		if ((e1000e_rd(e, reg) & mask) == want)
			return 0;
		time_delay_us(E1000E_POLL_STEP_US);
	}
	return (e1000e_rd(e, reg) & mask) == want ? 0 : -ETIMEDOUT;
}

/* I219: take the software/firmware semaphore before a reset. */
static int e1000e_i219_swflag(struct e1000e *e)
{
	uint32_t v = e1000e_rd(e, E1000_EXTCNF_CTRL);

	e1000e_wr(e, E1000_EXTCNF_CTRL, v | E1000_EXTCNF_CTRL_SWFLAG);
	if (e1000e_wait(e, E1000_EXTCNF_CTRL, E1000_EXTCNF_CTRL_SWFLAG,
			E1000_EXTCNF_CTRL_SWFLAG, E1000E_SWFLAG_TIMEOUT_US) < 0) {
		console_printf(E1000E_NAME ": the ME did not grant SWFLAG\n");
		return -ETIMEDOUT;
	}
	return 0;
}

/* I219 with ME firmware: have the ME take the PHY out of Ultra Low Power
 * mode, or the MAC never sees a link. */
static void e1000e_i219_ulp_exit(struct e1000e *e)
{
	uint32_t h2me;

	if (!(e1000e_rd(e, E1000_FWSM) & E1000_FWSM_FW_VALID))
		return;
	h2me = e1000e_rd(e, E1000_H2ME);
	e1000e_wr(e, E1000_H2ME, (h2me & ~E1000_H2ME_ULP) | E1000_H2ME_ENFORCE_SETTINGS);
	if (e1000e_wait(e, E1000_FWSM, E1000_FWSM_ULP_CFG_DONE, 0,
			E1000E_ULP_TIMEOUT_US) < 0)
		console_printf(E1000E_NAME ": the ME kept the PHY in ULP mode\n");
	e1000e_wr(e, E1000_H2ME, e1000e_rd(e, E1000_H2ME) & ~E1000_H2ME_ENFORCE_SETTINGS);
}

/* 4.6.1 - 4.6.2: quiesce, reset, wait for the NVM load. The firmware
 * (OVMF's iPXE, the board's UEFI driver) may have left the rings running. */
static int e1000e_reset(struct e1000e *e)
{
	uint32_t ctrl;
	int rc;

	/* 4.6.1 Interrupts During Initialization: mask everything. */
	e1000e_wr(e, E1000_IMC, E1000_IMC_ALL);
	/* Stop receive and transmit DMA before pulling the reset. */
	e1000e_wr(e, E1000_RCTL, 0);
	e1000e_wr(e, E1000_TCTL, 0);
	e1000e_flush(e);
	time_delay_us(E1000E_QUIESCE_US);
	/* CTRL.GIO_MASTER_DISABLE, then STATUS.GIO_MASTER_ENABLE clear (both
	 * in the register chapter, 10): let outstanding PCIe requests
	 * finish so the reset cannot corrupt a DMA in flight. */
	e1000e_wr(e, E1000_CTRL, e1000e_rd(e, E1000_CTRL) | E1000_CTRL_GIO_MASTER_DISABLE);
	if (e1000e_wait(e, E1000_STATUS, E1000_STATUS_GIO_MASTER_ENABLE, 0,
			E1000E_MASTER_TIMEOUT_US) < 0)
		console_printf(E1000E_NAME ": master requests still pending, "
			       "resetting anyway\n");
	/* 4.6.2 Global Reset and General Configuration: CTRL.RST resets
	 * everything but the PCI configuration. */
	ctrl = e1000e_rd(e, E1000_CTRL) | E1000_CTRL_RST;
	if (e->model->family == E1000E_I219) {
		e1000e_i219_ulp_exit(e);
		rc = e1000e_i219_swflag(e);
		if (rc < 0)
			return rc;
		/* I219: reset the PHY along unless the ME blocks it. */
		if (e1000e_rd(e, E1000_FWSM) & E1000_FWSM_RSPCIPHY)
			ctrl |= E1000_CTRL_PHY_RST;
	}
	e1000e_wr(e, E1000_CTRL, ctrl);
	time_delay_us(E1000E_RESET_WAIT_US);
	if (e1000e_wait(e, E1000_CTRL, E1000_CTRL_RST, 0, E1000E_INIT_TIMEOUT_US) < 0) {
		console_printf(E1000E_NAME ": CTRL.RST did not clear\n");
		return -ETIMEDOUT;
	}
	if (e->model->family == E1000E_I219) {
		if (e1000e_wait(e, E1000_STATUS, E1000_STATUS_LAN_INIT_DONE,
				E1000_STATUS_LAN_INIT_DONE, E1000E_INIT_TIMEOUT_US) < 0)
			console_printf(E1000E_NAME ": LAN_INIT_DONE not set\n");
		e1000e_wr(e, E1000_STATUS, e1000e_rd(e, E1000_STATUS) &
			  ~E1000_STATUS_LAN_INIT_DONE);
	} else if (e1000e_wait(e, E1000_EECD, E1000_EECD_AUTO_RD,
			       E1000_EECD_AUTO_RD, E1000E_INIT_TIMEOUT_US) < 0) {
		console_printf(E1000E_NAME ": NVM auto-read not done\n");
	}
	/* 4.6.1 again: the reset re-enabled nothing, but clear what the old
	 * owner left pending. */
	e1000e_wr(e, E1000_IMC, E1000_IMC_ALL);
	(void)e1000e_rd(e, E1000_ICR);
	return 0;
}

static int e1000e_read_mac(struct e1000e *e)
{
	uint32_t lo = e1000e_rd(e, E1000_RAL0), hi = e1000e_rd(e, E1000_RAH0);
	uint8_t *mac = e->netdev.mac;

	/* Hardware loads receive address 0 from the NVM at reset (both
	 * families); AV says it is valid. */
	if (!(hi & E1000_RAH_AV) || (lo == 0 && (hi & 0xffff) == 0)) {
		console_printf(E1000E_NAME ": no MAC address in RAL0/RAH0\n");
		return -ENODEV;
	}
	mac[0] = (uint8_t)lo;
	mac[1] = (uint8_t)(lo >> 8);
	mac[2] = (uint8_t)(lo >> 16);
	mac[3] = (uint8_t)(lo >> 24);
	mac[4] = (uint8_t)hi;
	mac[5] = (uint8_t)(hi >> 8);
	return 0;
}

static void *e1000e_alloc(size_t bytes)
{
	return mem_alloc_pages((bytes + PAGE_SIZE - 1) / PAGE_SIZE);
}

/* 4.6.5 Receive Initialization (legacy descriptors). */
static void e1000e_rx_init(struct e1000e *e)
{
	unsigned i;

	for (i = 0; i < E1000E_RX_RING; i++) {
		e->rx[i].addr = (uint64_t)(uintptr_t)(e->rx_buf + (size_t)i * E1000E_BUF_SIZE);
		e->rx[i].status = 0;
	}
	e1000e_wr(e, E1000_RDBAL, (uint32_t)(uintptr_t)e->rx);
	e1000e_wr(e, E1000_RDBAH, (uint32_t)((uint64_t)(uintptr_t)e->rx >> 32));
	e1000e_wr(e, E1000_RDLEN, E1000E_RX_RING * sizeof(struct e1000_rx_desc));
	e1000e_wr(e, E1000_RDH, 0);
	e1000e_wr(e, E1000_RDT, 0);
	/* Polling: no receive interrupt delays. */
	e1000e_wr(e, E1000_RDTR, 0);
	e1000e_wr(e, E1000_RADV, 0);
	/* Legacy descriptors (RFCTL.EXTEN clear). The device checks IPv4 and
	 * TCP/UDP checksums into the status byte; lwIP checks every frame
	 * anyway, so those bits are not read. */
	e1000e_wr(e, E1000_RFCTL, e1000e_rd(e, E1000_RFCTL) & ~E1000_RFCTL_EXTEN);
	e1000e_wr(e, E1000_RXCSUM, E1000_RXCSUM_IPOFLD | E1000_RXCSUM_TUOFLD);
	e1000e_wr(e, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_SECRC |
		  E1000_RCTL_RDMTS_HALF | E1000_RCTL_DTYP_LEGACY | E1000_RCTL_BSIZE_2048);
	/* Hand every descriptor but one to the hardware (head == tail means
	 * empty, so one slot always stays with software). */
	e->rx_next = 0;
	e1000e_wr(e, E1000_RDT, E1000E_RX_RING - 1);
}

/* 4.6.6 Transmit Initialization. */
static void e1000e_tx_init(struct e1000e *e)
{
	unsigned i;

	for (i = 0; i < E1000E_TX_RING; i++) {
		e->tx[i].addr = (uint64_t)(uintptr_t)(e->tx_buf + (size_t)i * E1000E_BUF_SIZE);
		e->tx[i].cmd = 0;
		e->tx[i].status = E1000_TXD_STAT_DD;  /* free */
	}
	e1000e_wr(e, E1000_TDBAL, (uint32_t)(uintptr_t)e->tx);
	e1000e_wr(e, E1000_TDBAH, (uint32_t)((uint64_t)(uintptr_t)e->tx >> 32));
	e1000e_wr(e, E1000_TDLEN, E1000E_TX_RING * sizeof(struct e1000_tx_desc));
	e1000e_wr(e, E1000_TDH, 0);
	e1000e_wr(e, E1000_TDT, 0);
	e1000e_wr(e, E1000_TIDV, 0);
	e1000e_wr(e, E1000_TADV, 0);
	e1000e_wr(e, E1000_TIPG, E1000_TIPG_IPGT | E1000_TIPG_IPGR1 | E1000_TIPG_IPGR2);
	e1000e_wr(e, E1000_TCTL, E1000_TCTL_EN | E1000_TCTL_PSP |
		  E1000_TCTL_CT_DEFAULT << E1000_TCTL_CT_SHIFT |
		  E1000_TCTL_COLD_FD << E1000_TCTL_COLD_SHIFT | E1000_TCTL_RTLC);
	e->tx_next = 0;
	e->tx_clean = 0;
}

static void e1000e_tx_reclaim(struct e1000e *e)
{
	while (e->tx_clean != e->tx_next &&
	       (e->tx[e->tx_clean].status & E1000_TXD_STAT_DD))
		e->tx_clean = (e->tx_clean + 1) % E1000E_TX_RING;
}

/* Moves the transmit tail over the filled descriptors: the doorbell. */
static void e1000e_tx_kick(struct e1000e *e)
{
	e->tx_unkicked = 0;
	/* 7.2: descriptor and data writes before the tail moves (x86 keeps
	 * stores ordered; the uncached MMIO write follows them). */
	io_wmb();
	PROFILE_ENTER(PROFILE_TX_DOORBELL);
	e1000e_wr(e, E1000_TDT, e->tx_next);
	PROFILE_EXIT(PROFILE_TX_DOORBELL);
}

static int e1000e_transmit(struct netdev *dev, const struct netdev_frag *frags,
			   unsigned nfrags)
{
	struct e1000e *e = dev->priv;
	volatile struct e1000_tx_desc *d;
	unsigned next = (e->tx_next + 1) % E1000E_TX_RING;
	uint8_t *buf;
	size_t len = 0;
	unsigned i;

	for (i = 0; i < nfrags; i++)
		len += frags[i].len;
	if (len > E1000E_BUF_SIZE || len < NETDEV_ETH_HLEN)
		return -EINVAL;
	if (next == e->tx_clean) {
		if (e->tx_unkicked)
			e1000e_tx_kick(e);   /* the device cannot finish what it was not given */
		e1000e_tx_reclaim(e);
		if (next == e->tx_clean)
			return -EAGAIN;
	}
	buf = e->tx_buf + (size_t)e->tx_next * E1000E_BUF_SIZE;
	for (i = 0; i < nfrags; i++) {
		memcpy(buf, frags[i].data, frags[i].len);
		buf += frags[i].len;
	}
	d = &e->tx[e->tx_next];
	d->length = (uint16_t)len;
	d->cso = 0;
	d->css = 0;
	d->special = 0;
	d->status = 0;
	d->cmd = E1000_TXD_CMD_EOP | E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS;
	e->tx_next = next;
	if (!e->in_poll || ++e->tx_unkicked >= CONFIG_NET_TX_BATCH)
		e1000e_tx_kick(e);
	dev->stats.tx_frames++;
	dev->stats.tx_bytes += len;
	return 0;
}

static unsigned e1000e_poll(struct netdev *dev, unsigned budget)
{
	struct e1000e *e = dev->priv;
	unsigned n = 0, last = E1000E_RX_RING;
	bool work;

	/* ICR is read-to-clear: reading it acknowledges the causes, so the next
	 * received frame raises a new message. */
	if (e->irq_mode)
		(void)e1000e_rd(e, E1000_ICR);
	work = e->rx[e->rx_next].status & E1000_RXD_STAT_DD;
	if (work) {
		PROFILE_ENTER(PROFILE_DRIVER_RX);
		e->in_poll = true;
	}
	while (n < budget) {
		volatile struct e1000_rx_desc *d = &e->rx[e->rx_next];
		uint8_t status = d->status;

		if (!(status & E1000_RXD_STAT_DD))
			break;
		io_rmb(); /* fields after DD */
		/* Frames always fit one 2 KiB buffer (no LPE): a descriptor
		 * without EOP, with a frame error or with a length the buffer
		 * cannot hold is dropped. */
		if (!(status & E1000_RXD_STAT_EOP) || (d->errors & E1000_RXD_ERR_FRAME) ||
		    d->length < NETDEV_ETH_HLEN || d->length > E1000E_BUF_SIZE) {
			dev->stats.rx_dropped++;
		} else {
			dev->stats.rx_frames++;
			dev->stats.rx_bytes += d->length;
			if (dev->rx)
				dev->rx(dev, e->rx_buf + (size_t)e->rx_next * E1000E_BUF_SIZE,
					d->length);
			n++;
		}
		d->status = 0;
		last = e->rx_next;
		e->rx_next = (e->rx_next + 1) % E1000E_RX_RING;
	}
	/* 7.1: return the processed descriptors: the tail points at the last
	 * one, which the hardware may fill once the tail moves past it. */
	if (last != E1000E_RX_RING) {
		io_wmb();
		e1000e_wr(e, E1000_RDT, last);
	}
	if (work) {
		e->in_poll = false;
		if (e->tx_unkicked)
			e1000e_tx_kick(e);
		PROFILE_EXIT(PROFILE_DRIVER_RX);
	}
	e1000e_tx_reclaim(e);
	return n;
}

static bool e1000e_link_up(struct netdev *dev)
{
	struct e1000e *e = dev->priv;

	return e1000e_rd(e, E1000_STATUS) & E1000_STATUS_LU;
}

static int e1000e_set_allmulti(struct netdev *dev, bool on)
{
	struct e1000e *e = dev->priv;
	uint32_t rctl = e1000e_rd(e, E1000_RCTL);

	/* Multicast promiscuous: IPv6 neighbour discovery and MLD groups
	 * need no hash table programming. */
	e1000e_wr(e, E1000_RCTL, on ? rctl | E1000_RCTL_MPE : rctl & ~E1000_RCTL_MPE);
	return 0;
}

static const struct netdev_ops e1000e_ops = {
	.transmit = e1000e_transmit,
	.poll = e1000e_poll,
	.link_up = e1000e_link_up,
	.set_allmulti = e1000e_set_allmulti,
};

static int e1000e_probe(struct pci_dev *pci, const struct pci_id *id)
{
	struct e1000e *e;
	unsigned i;
	int rc;

	if (pci->bar_is_io[0] || pci->bar[0] == 0 || pci->bar_size[0] < E1000_RAH0 + 4) {
		console_printf(E1000E_NAME ": %02x:%02x.%x: BAR0 is not a usable "
			       "memory BAR\n", pci->bus, pci->slot, pci->func);
		return -ENODEV;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		console_printf(E1000E_NAME ": out of memory\n");
		return -ENOMEM;
	}
	e->model = id->data;
	pci_enable(pci);
	e->regs = (volatile uint8_t *)mem_map_mmio(pci->bar[0], pci->bar_size[0]);
	rc = e1000e_reset(e);
	if (rc < 0)
		goto fail;

	/* 4.6.2 General Configuration: link up through auto-negotiation (the
	 * PHY negotiates speed and duplex, CTRL.ASDE lets the MAC follow);
	 * no flow control; tell firmware a driver is loaded. */
	e1000e_wr(e, E1000_CTRL, (e1000e_rd(e, E1000_CTRL) | E1000_CTRL_SLU |
				  E1000_CTRL_ASDE) &
		  ~(E1000_CTRL_FRCSPD | E1000_CTRL_FRCDPLX | E1000_CTRL_PHY_RST |
		    E1000_CTRL_VME | E1000_CTRL_RFCE | E1000_CTRL_TFCE));
	e1000e_wr(e, E1000_CTRL_EXT, e1000e_rd(e, E1000_CTRL_EXT) | E1000_CTRL_EXT_DRV_LOAD);
	e1000e_wr(e, E1000_FCAL, 0);
	e1000e_wr(e, E1000_FCAH, 0);
	e1000e_wr(e, E1000_FCT, 0);
	e1000e_wr(e, E1000_FCTTV, 0);
	if (e->model->family == E1000E_I219)  /* give the semaphore back */
		e1000e_wr(e, E1000_EXTCNF_CTRL, e1000e_rd(e, E1000_EXTCNF_CTRL) &
			  ~E1000_EXTCNF_CTRL_SWFLAG);

	rc = e1000e_read_mac(e);
	if (rc < 0)
		goto fail;
	/* 4.6.5 (part of receive initialization): keep RA0, clear the MTA. */
	for (i = 0; i < E1000_MTA_ENTRIES; i++)
		e1000e_wr(e, E1000_MTA + 4 * i, 0);

	e->rx = e1000e_alloc(E1000E_RX_RING * sizeof(struct e1000_rx_desc));
	e->tx = e1000e_alloc(E1000E_TX_RING * sizeof(struct e1000_tx_desc));
	e->rx_buf = e1000e_alloc((size_t)E1000E_RX_RING * E1000E_BUF_SIZE);
	e->tx_buf = e1000e_alloc((size_t)E1000E_TX_RING * E1000E_BUF_SIZE);
	if (!e->rx || !e->tx || !e->rx_buf || !e->tx_buf) {
		console_printf(E1000E_NAME ": out of memory for the rings\n");
		rc = -ENOMEM;
		goto fail;
	}
	e1000e_rx_init(e);
	e1000e_tx_init(e);
#ifndef CONFIG_POLL
	{
		int vector = netdev_irq_alloc(&e->netdev);

		if (vector >= 0 && pci_msi_enable(pci, vector) == 0) {
			e->irq_mode = true;
			e->netdev.features |= NETDEV_F_IRQ;
			e1000e_wr(e, E1000_IMS, E1000_ICR_RXT0 | E1000_ICR_RXO |
				  E1000_ICR_RXDMT0 | E1000_ICR_LSC);
		} else if (vector >= 0) {
			console_printf(E1000E_NAME ": no MSI, polling\n");
			irq_free_vector(vector);
		}
	}
#endif

	e->netdev.ops = &e1000e_ops;
	e->netdev.driver = E1000E_NAME;
	e->netdev.mtu = NETDEV_MTU_DEFAULT;
	e->netdev.priv = e;
	rc = netdev_register(&e->netdev);
	if (rc < 0)
		goto fail;
	pci->driver_state = e;
	console_printf(E1000E_NAME ": %02x:%02x.%x %s%s\n", pci->bus, pci->slot,
		       pci->func, e->model->name,
		       e->model->family == E1000E_I219 ? " (not verified on hardware)" : "");
	return 0;

fail:
	/* Leave the device quiet; rings stay allocated (DMA may still point
	 * at them until the next reset). */
	e1000e_wr(e, E1000_RCTL, 0);
	e1000e_wr(e, E1000_TCTL, 0);
	console_printf(E1000E_NAME ": %02x:%02x.%x not used (%d)\n", pci->bus,
		       pci->slot, pci->func, rc);
	return rc;
}

PCI_DRIVER(e1000e_driver) = {
	.name = E1000E_NAME,
	.ids = e1000e_ids,
	.probe = e1000e_probe,
};
