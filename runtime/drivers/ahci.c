/* ahci.c: AHCI SATA driver (ICH9 8086:2922, Intel 100-series PCH, any AHCI 1.x by class): one disk per port, NCQ when both sides can. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/io.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/memlayout.h"
#include "block/blkdev.h"
#include "drivers/ahci.h"
#include "drivers/pci.h"
#include "kernel/kernel.h"

/*
 * Set-up follows AHCI 1.3.1 sec 10: take the HBA from the firmware (10.6
 * BIOS/OS handoff), reset it (10.4.3), enable AHCI mode, then per port with
 * a SATA disk behind it: command list, received-FIS area and one command
 * table per slot (10.1.2), FIS receive on, SError cleared, start (10.3.1),
 * and IDENTIFY DEVICE for the model, serial, capacity, sector size, NCQ and
 * write cache (ATA8-ACS 7.16).
 *
 * Each request in flight owns one command slot, its tag (blkdev.h); the
 * slot's table has one PRD entry, since RAM buffers are contiguous. With
 * NCQ (CAP.SNCQ and IDENTIFY word 76 bit 8) reads and writes are READ/WRITE
 * FPDMA QUEUED with the slot as NCQ tag and the queue depth is the smaller
 * of the slots and the device's depth; without it they are READ/WRITE DMA
 * EXT, several slots may still be issued and the HBA runs them one at a
 * time (5.3.2). A slot is finished when its bit is clear in both PxCI and
 * PxSACT. FLUSH CACHE (EXT) is not queued: the block layer sends a flush
 * only when nothing else is in flight.
 *
 * Errors (6.2.2): on a task file or fatal interface error the port stops
 * and is restarted. When one command was in flight, it is the one that
 * failed: -EIO, logged with PxIS, PxTFD and PxSERR. With several, the
 * device aborted the whole NCQ queue and only READ LOG EXT page 10h would
 * say which tag failed; instead the unfinished commands are issued again
 * one at a time ("solo" mode, new requests wait behind them), so only a
 * command that fails on its own gets -EIO and the innocent ones complete.
 *
 * Interrupts: polled with CONFIG_POLL; otherwise one MSI per HBA whose
 * handler (from the loop) clears PxIS and IS, then polls every port.
 */

#define AHCI_NAME               "ahci"
#define AHCI_HANDOFF_WAIT_US    25000     /* 10.6.3: BIOS sets BB within 25 ms */
#define AHCI_HANDOFF_BUSY_US    2000000   /* ... and may then take 2 s */
#define AHCI_RESET_TIMEOUT_US   1000000   /* 10.4.3: HR clears within 1 s */
#define AHCI_STOP_TIMEOUT_US    500000    /* 10.1.2: CR/FR clear within 500 ms */
#define AHCI_LINK_SETTLE_US     50000     /* an empty port has shown DET=0 this long */
#define AHCI_LINK_TIMEOUT_US    1000000   /* a present device's link is up by then */
#define AHCI_BSY_TIMEOUT_US     10000000  /* spin-up: BSY clears */
#define AHCI_CMD_TIMEOUT_US     5000000   /* IDENTIFY during set-up */
#define AHCI_COMRESET_HOLD_US   1000      /* SATA: COMRESET held >= 1 ms */
#define AHCI_POLL_US            10
#define AHCI_MAX_BYTES          AHCI_PRD_MAX_BYTES   /* one PRD entry per command */
#define AHCI_DMA32_LIMIT        0x100000000ull       /* without CAP.S64A */
#define AHCI_PAGES_CLB          1   /* command list (1 KiB) + received FIS (256 B) */
#define AHCI_RFIS_OFFSET        AHCI_CLB_ALIGN

struct ahci_model {
	const char *name;
	bool verified;        /* tested: under QEMU or on hardware */
};

struct ahci_hba;

struct ahci_port {
	struct blkdev blk;
	struct ahci_hba *hba;
	volatile uint8_t *regs;
	unsigned index;
	struct ahci_cmd_header *clb;
	struct ahci_cmd_table *tables;     /* one per slot */
	uint16_t *identify;                /* ATA_ID_WORDS, DMA buffer */
	struct blkreq *inflight[AHCI_MAX_SLOTS];
	uint32_t issued;                   /* slots issued, not yet completed */
	uint32_t waiting;                  /* solo mode: slots to issue, one at a time */
	bool solo;                         /* after an error with several in flight */
	uint32_t saved_is;                 /* PxIS bits the interrupt handler cleared */
	bool ncq;
	uint8_t flush_cmd;                 /* 0: none */
	uint32_t sectors_per_block;
};

struct ahci_hba {
	struct pci_dev *pci;
	volatile uint8_t *abar;
	const struct ahci_model *model;
	uint32_t cap;
	unsigned nslots;
	unsigned nports;                   /* registered */
	struct ahci_port *ports[AHCI_MAX_PORTS];
};

/* ---- MMIO ---- */

static inline uint32_t ahci_rd(struct ahci_hba *h, unsigned off)
{
	return *(volatile uint32_t *)(h->abar + off);
}

static inline void ahci_wr(struct ahci_hba *h, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(h->abar + off) = v;
}

static inline uint32_t ahci_prd(struct ahci_port *p, unsigned off)
{
	return *(volatile uint32_t *)(p->regs + off);
}

static inline void ahci_pwr(struct ahci_port *p, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(p->regs + off) = v;
}

/* Waits until (read() & mask) == want; 0 or -ETIMEDOUT. */
static int ahci_wait(volatile uint8_t *base, unsigned off, uint32_t mask, uint32_t want,
		     unsigned timeout_us)
{
	for (unsigned waited = 0; (*(volatile uint32_t *)(base + off) & mask) != want;
	     waited += AHCI_POLL_US) {
		if (waited >= timeout_us)
			return -ETIMEDOUT;
		time_delay_us(AHCI_POLL_US);
	}
	return 0;
}

/* ---- commands ---- */

static void ahci_fis_lba(struct sata_fis_h2d *f, uint64_t lba)
{
	f->lba0 = (uint8_t)lba;
	f->lba1 = (uint8_t)(lba >> 8);
	f->lba2 = (uint8_t)(lba >> 16);
	f->lba3 = (uint8_t)(lba >> 24);
	f->lba4 = (uint8_t)(lba >> 32);
	f->lba5 = (uint8_t)(lba >> 40);
}

/* Fills slot `slot`'s header and table: the command FIS and at most one PRD. */
static struct sata_fis_h2d *ahci_prepare(struct ahci_port *p, unsigned slot, void *buf,
					 uint32_t len, bool write)
{
	struct ahci_cmd_header *h = &p->clb[slot];
	struct ahci_cmd_table *t = &p->tables[slot];
	struct sata_fis_h2d *f = (struct sata_fis_h2d *)t->cfis;

	memset(f, 0, sizeof(*f));
	f->type = SATA_FIS_H2D;
	f->flags = SATA_FIS_H2D_C;
	if (len) {
		/* 4.2.3.3: DBA word aligned (the layer checked), DBC = bytes - 1. */
		t->prdt[0].dba = (uint32_t)(uintptr_t)buf;
		t->prdt[0].dbau = (uint32_t)((uint64_t)(uintptr_t)buf >> 32);
		t->prdt[0].reserved = 0;
		t->prdt[0].dbc = len - 1;
	}
	/* 4.2.2: CFL in dwords, W for host-to-device data, PRDTL entries. */
	h->flags = (uint16_t)(AHCI_CMD_CFL_H2D | (write ? AHCI_CMD_W : 0));
	h->prdtl = len ? 1 : 0;
	h->prdbc = 0;
	return f;
}

/* 5.3.2 / 3.3.13-14: NCQ commands set their PxSACT bit before PxCI. */
static void ahci_issue(struct ahci_port *p, unsigned slot, bool queued)
{
	io_wmb(); /* the header and table before the HBA fetches them */
	p->issued |= 1u << slot;
	if (queued)
		ahci_pwr(p, AHCI_PxSACT, 1u << slot);
	ahci_pwr(p, AHCI_PxCI, 1u << slot);
}

static int ahci_start_slot(struct ahci_port *p, unsigned slot);

static int ahci_submit(struct blkdev *dev, struct blkreq *req)
{
	struct ahci_port *p = dev->priv;
	unsigned slot = req->tag;

	p->inflight[slot] = req;
	if (p->solo) {
		p->waiting |= 1u << slot;  /* issued by ahci_poll after the retries */
		return 0;
	}
	return ahci_start_slot(p, slot);
}

/* Builds and issues the command of the request in `slot`. */
static int ahci_start_slot(struct ahci_port *p, unsigned slot)
{
	struct blkdev *dev = &p->blk;
	struct blkreq *req = p->inflight[slot];
	uint64_t lba = req->block * p->sectors_per_block;
	uint32_t sectors = req->nblocks * p->sectors_per_block;
	uint32_t len = req->nblocks * dev->block_size;
	struct sata_fis_h2d *f;
	bool write = req->op == BLKREQ_WRITE;

	if (req->op == BLKREQ_FLUSH) {
		f = ahci_prepare(p, slot, NULL, 0, false);
		f->command = p->flush_cmd;
		f->device = ATA_DEVICE_LBA;
		ahci_issue(p, slot, false);
		return 0;
	}
	f = ahci_prepare(p, slot, req->buf, len, write);
	ahci_fis_lba(f, lba);
	f->device = ATA_DEVICE_LBA;
	if (p->ncq) {
		/* ATA8-ACS 7.24/7.61: the sector count goes in FEATURE, the
		 * tag in COUNT 7:3 (AHCI: tag = command slot). */
		f->command = write ? ATA_CMD_WRITE_FPDMA_QUEUED : ATA_CMD_READ_FPDMA_QUEUED;
		f->feature_lo = (uint8_t)sectors;
		f->feature_hi = (uint8_t)(sectors >> 8);
		f->count_lo = (uint8_t)(slot << ATA_NCQ_TAG_SHIFT);
	} else {
		f->command = write ? ATA_CMD_WRITE_DMA_EXT : ATA_CMD_READ_DMA_EXT;
		f->count_lo = (uint8_t)sectors;
		f->count_hi = (uint8_t)(sectors >> 8);
	}
	ahci_issue(p, slot, p->ncq);
	return 0;
}

/* ---- port start, stop and error recovery ---- */

/* 10.1.2 step 2: stop command processing (and FIS receive). 0 or -ETIMEDOUT. */
static int ahci_port_stop(struct ahci_port *p, bool fis_too)
{
	uint32_t cmd = ahci_prd(p, AHCI_PxCMD);

	ahci_pwr(p, AHCI_PxCMD, cmd & ~AHCI_PxCMD_ST);
	if (ahci_wait(p->regs, AHCI_PxCMD, AHCI_PxCMD_CR, 0, AHCI_STOP_TIMEOUT_US) < 0)
		return -ETIMEDOUT;
	if (!fis_too)
		return 0;
	ahci_pwr(p, AHCI_PxCMD, ahci_prd(p, AHCI_PxCMD) & ~AHCI_PxCMD_FRE);
	return ahci_wait(p->regs, AHCI_PxCMD, AHCI_PxCMD_FR, 0, AHCI_STOP_TIMEOUT_US);
}

/* 10.3.1: ST only with FRE set, CR clear and the device not busy. */
static int ahci_port_start(struct ahci_port *p)
{
	if (ahci_wait(p->regs, AHCI_PxTFD, AHCI_PxTFD_BSY | AHCI_PxTFD_DRQ, 0,
		      AHCI_BSY_TIMEOUT_US) < 0)
		return -ETIMEDOUT;
	ahci_pwr(p, AHCI_PxCMD, ahci_prd(p, AHCI_PxCMD) | AHCI_PxCMD_FRE | AHCI_PxCMD_ST);
	return 0;
}

/* 6.2.2.2 Software error recovery: stop, clear SError and PxIS, get the
 * device out of BSY/DRQ (CLO, else COMRESET), start again. A device whose
 * status still has ERR after a failed NCQ command keeps aborting every
 * queued command until the host reads the NCQ error log (SATA 3.x sec
 * 13.6.3.2, READ LOG EXT page 10h) or resets it: COMRESET then too, else
 * the next command fails with the old error (seen with QEMU's AHCI). */
static void ahci_port_recover(struct ahci_port *p)
{
	uint32_t tfd;

	if (ahci_port_stop(p, false) < 0)
		console_printf("%s: " AHCI_NAME ": port %u does not stop\n", p->blk.name,
			       p->index);
	ahci_pwr(p, AHCI_PxSERR, ~0u);
	ahci_pwr(p, AHCI_PxIS, ~0u);
	p->saved_is = 0;
	tfd = ahci_prd(p, AHCI_PxTFD);
	if (tfd & (AHCI_PxTFD_BSY | AHCI_PxTFD_DRQ | AHCI_PxTFD_STS_ERR)) {
		if ((p->hba->cap & AHCI_CAP_SCLO) && !(tfd & AHCI_PxTFD_STS_ERR)) {
			ahci_pwr(p, AHCI_PxCMD, ahci_prd(p, AHCI_PxCMD) | AHCI_PxCMD_CLO);
			ahci_wait(p->regs, AHCI_PxCMD, AHCI_PxCMD_CLO, 0, AHCI_STOP_TIMEOUT_US);
		} else {
			uint32_t sctl = ahci_prd(p, AHCI_PxSCTL) & ~AHCI_PxSCTL_DET_MASK;

			ahci_pwr(p, AHCI_PxSCTL, sctl | AHCI_PxSCTL_DET_COMRESET);
			time_delay_us(AHCI_COMRESET_HOLD_US);
			ahci_pwr(p, AHCI_PxSCTL, sctl);
			ahci_wait(p->regs, AHCI_PxSSTS, AHCI_PxSSTS_DET_MASK, AHCI_PxSSTS_DET_PHY,
				  AHCI_LINK_TIMEOUT_US);
			ahci_pwr(p, AHCI_PxSERR, ~0u);
		}
	}
	if (ahci_port_start(p) < 0)
		console_printf("%s: " AHCI_NAME ": port %u stays busy after recovery\n",
			       p->blk.name, p->index);
}

/* Completes the requests of the slots in `done` successfully. */
static void ahci_complete(struct ahci_port *p, uint32_t done)
{
	while (done) {
		unsigned s = (unsigned)__builtin_ctz(done);
		struct blkreq *req = p->inflight[s];

		done &= done - 1;
		p->inflight[s] = NULL;
		if (req)
			blkdev_complete(&p->blk, req, 0);
	}
}

static void ahci_poll(struct blkdev *dev)
{
	struct ahci_port *p = dev->priv;
	uint32_t is = p->saved_is | ahci_prd(p, AHCI_PxIS);
	uint32_t busy = ahci_prd(p, AHCI_PxCI) | ahci_prd(p, AHCI_PxSACT);
	uint32_t done = p->issued & ~busy;

	if (is & AHCI_PxIS_ERRORS) {
		uint32_t tfd = ahci_prd(p, AHCI_PxTFD), serr = ahci_prd(p, AHCI_PxSERR);
		uint32_t failed = p->issued & busy;
		bool alone = __builtin_popcount(failed) == 1;

		/* What finished before the error did finish. A command that
		 * failed alone is the culprit; several: retry each alone. */
		ahci_complete(p, p->issued & ~busy);
		for (unsigned s = 0; s < AHCI_MAX_SLOTS; s++) {
			struct blkreq *req = p->inflight[s];

			if (!(failed & (1u << s)) || !req)
				continue;
			if (!alone) {
				p->waiting |= 1u << s;
				continue;
			}
			p->inflight[s] = NULL;
			blkdev_fail(dev, req, -EIO, "PxIS 0x%x, PxTFD 0x%x (status 0x%x, "
				    "error 0x%x), PxSERR 0x%x", is, tfd, tfd & 0xff,
				    tfd >> AHCI_PxTFD_ERR_SHIFT & 0xff, serr);
		}
		p->issued = 0;
		if (p->waiting && !p->solo)
			console_printf("%s: " AHCI_NAME ": error with %d commands in flight: "
				       "retrying them one at a time\n", dev->name,
				       __builtin_popcount(p->waiting));
		p->solo = p->waiting != 0;
		ahci_port_recover(p);
	} else {
		p->issued &= ~done;
		ahci_complete(p, done);
	}
	/* Solo mode: the next waiting command once nothing is on the device;
	 * done when none waits (new requests then go straight out again). */
	if (p->solo && !p->issued) {
		if (!p->waiting) {
			p->solo = false;
			return;
		}
		ahci_start_slot(p, (unsigned)__builtin_ctz(p->waiting));
		p->waiting &= p->waiting - 1;
	}
}

static const struct blkdev_ops ahci_ops = {
	.submit = ahci_submit,
	.poll = ahci_poll,
};

/* ---- interrupts ---- */

/* 10.7.2.1: clear each port's PxIS, then IS; only then read the state, so
 * a completion after the read raises a new message. */
static void ahci_irq(void *arg)
{
	struct ahci_hba *h = arg;
	uint32_t is = ahci_rd(h, AHCI_IS);

	for (unsigned i = 0; i < h->nports; i++) {
		struct ahci_port *p = h->ports[i];

		if (is & (1u << p->index)) {
			uint32_t pis = ahci_prd(p, AHCI_PxIS);

			p->saved_is |= pis & AHCI_PxIS_ERRORS;
			ahci_pwr(p, AHCI_PxIS, pis);
		}
	}
	ahci_wr(h, AHCI_IS, is);
	for (unsigned i = 0; i < h->nports; i++)
		blkdev_poll(&h->ports[i]->blk);
}

/* ---- set-up ---- */

/* IDENTIFY DEVICE through slot 0, polled (the port is not registered yet). */
static int ahci_identify(struct ahci_port *p)
{
	struct sata_fis_h2d *f = ahci_prepare(p, 0, p->identify, ATA_ID_WORDS * 2, false);
	uint32_t is;

	f->command = ATA_CMD_IDENTIFY;
	ahci_issue(p, 0, false);
	for (unsigned waited = 0; ahci_prd(p, AHCI_PxCI) & 1u; waited += AHCI_POLL_US) {
		is = ahci_prd(p, AHCI_PxIS);
		if ((is & AHCI_PxIS_ERRORS) || waited >= AHCI_CMD_TIMEOUT_US)
			break;
		time_delay_us(AHCI_POLL_US);
	}
	p->issued = 0;
	is = ahci_prd(p, AHCI_PxIS);
	if ((ahci_prd(p, AHCI_PxCI) & 1u) || (is & AHCI_PxIS_ERRORS)) {
		console_printf(AHCI_NAME ": port %u: IDENTIFY DEVICE failed (PxIS 0x%x, PxTFD "
			       "0x%x)\n", p->index, is, ahci_prd(p, AHCI_PxTFD));
		ahci_port_recover(p);
		return -EIO;
	}
	ahci_pwr(p, AHCI_PxIS, is);
	return 0;
}

/* ATA strings: two characters per word, the first in the high byte. */
static void ahci_id_string(char *out, size_t outlen, const uint16_t *id, unsigned word,
			   unsigned nwords)
{
	uint8_t raw[2 * ATA_ID_MODEL_WORDS];

	for (unsigned i = 0; i < nwords; i++) {
		raw[2 * i] = (uint8_t)(id[word + i] >> 8);
		raw[2 * i + 1] = (uint8_t)id[word + i];
	}
	blkdev_set_string(out, outlen, raw, 2 * nwords);
}

static bool ahci_id_valid(const uint16_t *id, unsigned word)
{
	return (id[word] & ATA_ID_VALID_MASK) == ATA_ID_VALID;
}

/* ATA8-ACS 7.16.7: what the disk is and can do. */
static int ahci_parse_identify(struct ahci_port *p, unsigned depth)
{
	const uint16_t *id = p->identify;
	uint32_t sector = ATA_SECTOR;
	uint64_t sectors;
	bool cmdset2 = ahci_id_valid(id, ATA_ID_CMDSET2);

	ahci_id_string(p->blk.model, sizeof(p->blk.model), id, ATA_ID_MODEL, ATA_ID_MODEL_WORDS);
	ahci_id_string(p->blk.serial, sizeof(p->blk.serial), id, ATA_ID_SERIAL,
		       ATA_ID_SERIAL_WORDS);
	if (!cmdset2 || !(id[ATA_ID_CMDSET2] & ATA_ID_CMDSET2_LBA48) ||
	    !(id[ATA_ID_CMDSET2_EN] & ATA_ID_CMDSET2_LBA48)) {
		console_printf(AHCI_NAME ": port %u: \"%s\" has no 48-bit addressing "
			       "(ATA8-ACS 4.3): not used\n", p->index, p->blk.model);
		return -ENOTSUP;
	}
	sectors = (uint64_t)id[ATA_ID_LBA48_CAPACITY] |
		  (uint64_t)id[ATA_ID_LBA48_CAPACITY + 1] << 16 |
		  (uint64_t)id[ATA_ID_LBA48_CAPACITY + 2] << 32 |
		  (uint64_t)id[ATA_ID_LBA48_CAPACITY + 3] << 48;
	/* 7.16.7.64: a logical sector longer than 256 words. */
	if (ahci_id_valid(id, ATA_ID_SECTOR_SIZE) &&
	    (id[ATA_ID_SECTOR_SIZE] & ATA_ID_SECTOR_LONG_LOGICAL))
		sector = 2 * ((uint32_t)id[ATA_ID_LOGICAL_WORDS] |
			      (uint32_t)id[ATA_ID_LOGICAL_WORDS + 1] << 16);
	p->blk.block_size = sector;
	p->blk.blocks = sectors;
	p->sectors_per_block = 1;      /* the LBA counts logical sectors */
	p->ncq = (p->hba->cap & AHCI_CAP_SNCQ) && (id[ATA_ID_SATA_CAP] & ATA_ID_SATA_CAP_NCQ);
	if (p->ncq) {
		unsigned dev_depth = (id[ATA_ID_QUEUE_DEPTH] & ATA_ID_QUEUE_DEPTH_MASK) + 1;

		if (dev_depth < depth)
			depth = dev_depth;
	}
	p->blk.queue_depth = (uint16_t)depth;
	p->blk.max_blocks = AHCI_MAX_BYTES / sector;
	if (p->blk.max_blocks > ATA_EXT_MAX_SECTORS - 1)
		p->blk.max_blocks = ATA_EXT_MAX_SECTORS - 1;
	p->flush_cmd = 0;
	if (cmdset2 && (id[ATA_ID_CMDSET2] & ATA_ID_CMDSET2_FLUSH_EXT))
		p->flush_cmd = ATA_CMD_FLUSH_CACHE_EXT;
	else if (cmdset2 && (id[ATA_ID_CMDSET2] & ATA_ID_CMDSET2_FLUSH))
		p->flush_cmd = ATA_CMD_FLUSH_CACHE;
	if (p->flush_cmd)
		p->blk.features |= BLKDEV_F_FLUSH;
	/* Words 82/85 bit 5: a volatile write cache, and whether it is on. */
	if (!cmdset2)
		p->blk.cache = BLKDEV_CACHE_UNKNOWN;
	else if ((id[ATA_ID_CMDSET1] & ATA_ID_CMDSET1_WCACHE) &&
		 (id[ATA_ID_CMDSET1_EN] & ATA_ID_CMDSET1_WCACHE))
		p->blk.cache = BLKDEV_CACHE_VOLATILE;
	else
		p->blk.cache = BLKDEV_CACHE_NONE;
	return 0;
}

static bool ahci_dma_ok(const struct ahci_hba *h, const void *p, size_t len)
{
	return (h->cap & AHCI_CAP_S64A) || (uint64_t)(uintptr_t)p + len <= AHCI_DMA32_LIMIT;
}

/* 10.1.2 steps 4-5 and 10.3.1 for one port whose link is up, then IDENTIFY.
 * On failure the port is stopped and its memory stays allocated (small,
 * once per boot): what the HBA was given is never handed out again. */
static int ahci_port_setup(struct ahci_hba *h, unsigned index)
{
	size_t table_pages = (h->nslots * sizeof(struct ahci_cmd_table) + PAGE_SIZE - 1) /
			     PAGE_SIZE;
	struct ahci_port *p;
	uint8_t *clb;
	int rc;

	p = calloc(1, sizeof(*p));
	clb = mem_alloc_pages(AHCI_PAGES_CLB);
	if (p) {
		p->tables = mem_alloc_pages(table_pages);
		p->identify = mem_alloc_pages(1);
	}
	if (!p || !clb || !p->tables || !p->identify) {
		console_printf(AHCI_NAME ": port %u: out of memory\n", index);
		return -ENOMEM;
	}
	if (!ahci_dma_ok(h, clb, PAGE_SIZE) ||
	    !ahci_dma_ok(h, p->tables, table_pages * PAGE_SIZE) ||
	    !ahci_dma_ok(h, p->identify, PAGE_SIZE)) {
		console_printf(AHCI_NAME ": port %u: no 64-bit DMA and no memory below 4 GiB\n",
			       index);
		return -ENOMEM;
	}
	p->hba = h;
	p->index = index;
	p->regs = h->abar + AHCI_PORT(index);
	p->clb = (struct ahci_cmd_header *)clb;
	for (unsigned s = 0; s < h->nslots; s++) {
		uint64_t t = (uint64_t)(uintptr_t)&p->tables[s];

		p->clb[s].ctba = (uint32_t)t;
		p->clb[s].ctbau = (uint32_t)(t >> 32);
	}
	/* 10.1.2 step 4: PxCLB/PxFB, then FRE. */
	ahci_pwr(p, AHCI_PxCLB, (uint32_t)(uintptr_t)clb);
	ahci_pwr(p, AHCI_PxCLBU, (uint32_t)((uint64_t)(uintptr_t)clb >> 32));
	ahci_pwr(p, AHCI_PxFB, (uint32_t)(uintptr_t)(clb + AHCI_RFIS_OFFSET));
	ahci_pwr(p, AHCI_PxFBU, (uint32_t)((uint64_t)(uintptr_t)(clb + AHCI_RFIS_OFFSET) >> 32));
	ahci_pwr(p, AHCI_PxCMD, ahci_prd(p, AHCI_PxCMD) | AHCI_PxCMD_FRE);
	/* Step 5: clear SError (write ones), and stale interrupt status. */
	ahci_pwr(p, AHCI_PxSERR, ~0u);
	ahci_pwr(p, AHCI_PxIS, ~0u);
	if (ahci_port_start(p) < 0) {
		console_printf(AHCI_NAME ": port %u: device stays busy (PxTFD 0x%x)\n", index,
			       ahci_prd(p, AHCI_PxTFD));
		return -ETIMEDOUT;
	}
	if (ahci_prd(p, AHCI_PxSIG) != AHCI_SIG_ATA) {
		console_printf(AHCI_NAME ": port %u: %s (signature 0x%08x): not used\n", index,
			       ahci_prd(p, AHCI_PxSIG) == AHCI_SIG_ATAPI ? "an ATAPI device (CD/DVD)"
			       : "not a SATA disk", ahci_prd(p, AHCI_PxSIG));
		ahci_port_stop(p, true);
		return -ENODEV;
	}
	rc = ahci_identify(p);
	if (rc == 0)
		rc = ahci_parse_identify(p, h->nslots);
	if (rc < 0) {
		ahci_port_stop(p, true);
		return rc;
	}
	p->blk.ops = &ahci_ops;
	p->blk.driver = AHCI_NAME;
	p->blk.dma_align = 2;               /* 4.2.3.3: DBA bit 0 is reserved */
	p->blk.dma_limit = (h->cap & AHCI_CAP_S64A) ? 0 : AHCI_DMA32_LIMIT;
	p->blk.priv = p;
	rc = blkdev_register(&p->blk);
	if (rc < 0) {
		ahci_port_stop(p, true);
		return rc;
	}
	h->ports[h->nports++] = p;
	console_printf(AHCI_NAME ": %s on port %u: %s, %s\n", p->blk.name, index,
		       p->ncq ? "NCQ" : "no NCQ", p->flush_cmd == ATA_CMD_FLUSH_CACHE_EXT ?
		       "FLUSH CACHE EXT" : p->flush_cmd ? "FLUSH CACHE" : "no flush command");
	return 0;
}

/* 10.6.3 BIOS/OS handoff, when the HBA offers it. */
static void ahci_handoff(struct ahci_hba *h)
{
	if (!(ahci_rd(h, AHCI_CAP2) & AHCI_CAP2_BOH))
		return;
	ahci_wr(h, AHCI_BOHC, ahci_rd(h, AHCI_BOHC) | AHCI_BOHC_OOS);
	if (ahci_wait(h->abar, AHCI_BOHC, AHCI_BOHC_BOS, 0, AHCI_HANDOFF_WAIT_US) == 0)
		return;
	if ((ahci_rd(h, AHCI_BOHC) & AHCI_BOHC_BB) &&
	    ahci_wait(h->abar, AHCI_BOHC, AHCI_BOHC_BOS, 0, AHCI_HANDOFF_BUSY_US) == 0)
		return;
	console_printf(AHCI_NAME ": firmware keeps the HBA (BOHC 0x%x); taking it anyway\n",
		       ahci_rd(h, AHCI_BOHC));
}

/* 10.4.3 HBA reset, then AHCI mode (GHC.AE) again. */
static int ahci_reset(struct ahci_hba *h)
{
	ahci_wr(h, AHCI_GHC, ahci_rd(h, AHCI_GHC) | AHCI_GHC_AE);
	ahci_wr(h, AHCI_GHC, ahci_rd(h, AHCI_GHC) | AHCI_GHC_HR);
	if (ahci_wait(h->abar, AHCI_GHC, AHCI_GHC_HR, 0, AHCI_RESET_TIMEOUT_US) < 0) {
		console_printf(AHCI_NAME ": HBA reset did not complete\n");
		return -ETIMEDOUT;
	}
	ahci_wr(h, AHCI_GHC, ahci_rd(h, AHCI_GHC) | AHCI_GHC_AE);
	return 0;
}

/* After reset each port with a device brings its link up (PxSSTS.DET = 3);
 * a port that has shown "no device" for AHCI_LINK_SETTLE_US is empty.
 * Returns the ports whose link is up. */
static uint32_t ahci_wait_links(struct ahci_hba *h, uint32_t pi)
{
	uint32_t up = 0, settled = 0;

	for (unsigned waited = 0; waited < AHCI_LINK_TIMEOUT_US; waited += AHCI_POLL_US) {
		settled = up;
		for (unsigned i = 0; i < AHCI_MAX_PORTS; i++) {
			uint32_t det;

			if (!(pi & (1u << i)))
				continue;
			det = ahci_rd(h, AHCI_PORT(i) + AHCI_PxSSTS) & AHCI_PxSSTS_DET_MASK;
			if (det == AHCI_PxSSTS_DET_PHY)
				up |= 1u << i;
			if (det == AHCI_PxSSTS_DET_PHY ||
			    (det == AHCI_PxSSTS_DET_NONE && waited >= AHCI_LINK_SETTLE_US))
				settled |= 1u << i;
		}
		if (settled == pi)
			break;
		time_delay_us(AHCI_POLL_US);
	}
	return up;
}

static int ahci_probe(struct pci_dev *pci, const struct pci_id *id)
{
	struct ahci_hba *h;
	uint32_t pi, up;
	unsigned nports;

	if (pci->bar_is_io[AHCI_ABAR] || pci->bar[AHCI_ABAR] == 0 ||
	    pci->bar_size[AHCI_ABAR] < AHCI_PORT(0)) {
		console_printf(AHCI_NAME ": %02x:%02x.%x has no ABAR (BAR5): not in AHCI mode?\n",
			       pci->bus, pci->slot, pci->func);
		return -ENODEV;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->pci = pci;
	h->model = id->data;
	pci_enable(pci);
	h->abar = mem_map_mmio(pci->bar[AHCI_ABAR], pci->bar_size[AHCI_ABAR]);
	ahci_handoff(h);
	if (ahci_reset(h) < 0)
		return -EIO;
	h->cap = ahci_rd(h, AHCI_CAP);
	h->nslots = ((h->cap >> AHCI_CAP_NCS_SHIFT) & AHCI_CAP_NCS_MASK) + 1;
	nports = (h->cap & AHCI_CAP_NP_MASK) + 1;
	pi = ahci_rd(h, AHCI_PI);
	/* Ports the ABAR does not cover cannot be used. */
	for (unsigned i = 0; i < AHCI_MAX_PORTS; i++)
		if (AHCI_PORT(i) + AHCI_PORT_BYTES > pci->bar_size[AHCI_ABAR])
			pi &= ~(1u << i);
	console_printf(AHCI_NAME ": %02x:%02x.%x %s%s: AHCI %x.%x, %u ports (implemented 0x%x), "
		       "%u slots%s\n", pci->bus, pci->slot, pci->func, h->model->name,
		       h->model->verified ? "" : " (not verified on hardware)",
		       ahci_rd(h, AHCI_VS) >> 16, ahci_rd(h, AHCI_VS) & 0xffff, nports, pi,
		       h->nslots, (h->cap & AHCI_CAP_SNCQ) ? ", NCQ" : "");
	/* Staggered spin-up (10.10.1): with CAP.SSS nothing spins up until SUD. */
	if (h->cap & AHCI_CAP_SSS)
		for (unsigned i = 0; i < AHCI_MAX_PORTS; i++)
			if (pi & (1u << i))
				ahci_wr(h, AHCI_PORT(i) + AHCI_PxCMD,
					ahci_rd(h, AHCI_PORT(i) + AHCI_PxCMD) | AHCI_PxCMD_SUD);
	up = ahci_wait_links(h, pi);
	for (unsigned i = 0; i < AHCI_MAX_PORTS; i++)
		if (up & (1u << i))
			ahci_port_setup(h, i);
	if (h->nports == 0) {
		console_printf(AHCI_NAME ": %02x:%02x.%x: no usable disk\n", pci->bus, pci->slot,
			       pci->func);
		return 0;   /* driven, just empty */
	}
#ifndef CONFIG_POLL
	{
		int vector = irq_alloc_vector(ahci_irq, h);

		if (vector >= 0 && pci_msi_enable(pci, vector) == 0) {
			for (unsigned i = 0; i < h->nports; i++) {
				struct ahci_port *p = h->ports[i];

				ahci_pwr(p, AHCI_PxIS, ~0u);
				ahci_pwr(p, AHCI_PxIE, AHCI_PxIS_COMPLETIONS | AHCI_PxIS_ERRORS);
				p->blk.features |= BLKDEV_F_IRQ;
			}
			ahci_wr(h, AHCI_IS, ~0u);
			ahci_wr(h, AHCI_GHC, ahci_rd(h, AHCI_GHC) | AHCI_GHC_IE);
		} else if (vector >= 0) {
			console_printf(AHCI_NAME ": no MSI, polling\n");
			irq_free_vector(vector);
		}
	}
#else
	(void)ahci_irq;
#endif
	pci->driver_state = h;
	return 0;
}

static const struct ahci_model ahci_ich9 = { "ICH9 (QEMU q35)", true };
/* Intel 100 Series / C230 Series PCH ("Sunrise Point"), SATA in AHCI mode:
 * a102 desktop (Q170, H170, Z170, B150, ...), a103 mobile (HM170, QM170);
 * IDs as in Linux drivers/ata/ahci.c and the PCI ID repository. */
static const struct ahci_model ahci_spt_h = { "Intel 100 Series PCH SATA (Q170)", false };
static const struct ahci_model ahci_spt_m = { "Intel 100 Series mobile PCH SATA", false };
static const struct ahci_model ahci_generic = { "AHCI controller", false };

#define AHCI_VENDOR_INTEL 0x8086

static const struct pci_id ahci_ids[] = {
	{ AHCI_VENDOR_INTEL, 0x2922, &ahci_ich9 },    /* 82801IR (ICH9R) 6-port SATA AHCI */
	{ AHCI_VENDOR_INTEL, 0xa102, &ahci_spt_h },
	{ AHCI_VENDOR_INTEL, 0xa103, &ahci_spt_m },
	{ 0 },
};

/* Class 01h mass storage, 06h SATA, 01h AHCI 1.0 (AHCI 2.1.5). */
static const struct pci_class_id ahci_classes[] = {
	{ PCI_CLASS_MATCH(0x01, 0x06, 0x01), { PCI_ANY_ID, PCI_ANY_ID, &ahci_generic } },
	{ 0 },
};

PCI_DRIVER(ahci_driver) = {
	.name = AHCI_NAME,
	.ids = ahci_ids,
	.classes = ahci_classes,
	.probe = ahci_probe,
};
