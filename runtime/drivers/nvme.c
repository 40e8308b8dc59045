/* nvme.c: NVMe driver (NVM Express Base 1.4, any controller by class code; QEMU's nvme verified): the first active namespace over one I/O queue pair. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/io.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/memlayout.h"
#include "block/blkdev.h"
#include "drivers/nvme.h"
#include "drivers/pci.h"
#include "kernel/kernel.h"

/*
 * Set-up is sec 7.6.1: reset (CC.EN = 0, wait CSTS.RDY = 0), the admin
 * queue (AQA/ASQ/ACQ), CC with 4 KiB pages and 64/16-byte entries, enable
 * and wait CSTS.RDY = 1; then, polled on the admin queue, Identify
 * Controller (model, serial, MDTS, VWC), the active namespace list and
 * Identify Namespace of the first (size, LBA format), Set Features Number
 * of Queues (one pair), Create I/O Completion Queue and Create I/O
 * Submission Queue. More namespaces are listed and left alone.
 *
 * I/O: the request's tag is its command identifier, so the submission
 * queue (queue depth = entries - 1) never overflows. Data goes by PRP
 * (4.3): PRP1 is the buffer, PRP2 the second page or, beyond two pages, a
 * PRP list in the tag's own page; transfers are capped at what one list
 * page describes and at MDTS. Completions are found by their phase tag
 * (4.6); the completion queue head doorbell is written once per poll.
 *
 * Durability: Flush (6.8) commits what completed before it; with no
 * volatile write cache (Identify Controller VWC bit 0 clear) a completed
 * write is already non-volatile and Flush has no effect.
 *
 * Interrupts: polled with CONFIG_POLL; otherwise the I/O completion queue
 * signals interrupt vector 0 (MSI-X entry 0, else MSI).
 */

#define NVME_NAME             "nvme"
#define NVME_ADMIN_ENTRIES    16
#define NVME_IO_ENTRIES       64     /* asked for; CAP.MQES may allow fewer */
#define NVME_ADMIN_TIMEOUT_US 5000000
#define NVME_POLL_US          10
#define NVME_TO_UNIT_US       500000 /* CAP.TO counts 500 ms */
#define NVME_IO_QID           1
#define NVME_IRQ_VECTOR       0      /* CQ interrupt vector (MSI-X entry 0 / MSI) */
#define NVME_ID_BYTES         4096   /* every Identify data structure */
#define NVME_NS_LIST_MAX      (NVME_ID_BYTES / 4)

struct nvme_queue {
	volatile struct nvme_sqe *sq;
	volatile struct nvme_cqe *cq;
	volatile uint32_t *sq_db, *cq_db;
	uint16_t size;
	uint16_t sq_tail, cq_head;
	uint16_t phase;         /* NVME_CQE_PHASE value of fresh entries */
	uint16_t id;
};

struct nvme {
	struct blkdev blk;
	struct pci_dev *pci;
	volatile uint8_t *regs;
	uint64_t cap;
	uint32_t db_stride;     /* bytes between doorbells */
	struct nvme_queue admin, io;
	uint32_t nsid;
	uint8_t *id;            /* NVME_ID_BYTES, DMA buffer */
	uint64_t *prp_lists;    /* one page per tag */
	struct blkreq **inflight;
};

static inline uint32_t nvme_rd(struct nvme *n, unsigned off)
{
	return *(volatile uint32_t *)(n->regs + off);
}

static inline void nvme_wr(struct nvme *n, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(n->regs + off) = v;
}

/* 3.1: 64-bit registers as two 32-bit accesses, low half first. */
static uint64_t nvme_rd64(struct nvme *n, unsigned off)
{
	uint32_t lo = nvme_rd(n, off);

	return (uint64_t)nvme_rd(n, off + 4) << 32 | lo;
}

static void nvme_wr64(struct nvme *n, unsigned off, uint64_t v)
{
	nvme_wr(n, off, (uint32_t)v);
	nvme_wr(n, off + 4, (uint32_t)(v >> 32));
}

static uint32_t nvme_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t nvme_le64(const uint8_t *p)
{
	return (uint64_t)nvme_le32(p) | (uint64_t)nvme_le32(p + 4) << 32;
}

/* ---- queues ---- */

/* Allocates a queue pair's memory (page aligned, zeroed: phase 0 is stale)
 * and finds its doorbells (3.1.24/3.1.25). */
static int nvme_queue_init(struct nvme *n, struct nvme_queue *q, uint16_t id, uint16_t size)
{
	size_t sq_pages = (((size_t)size << NVME_SQE_SHIFT) + PAGE_SIZE - 1) / PAGE_SIZE;
	size_t cq_pages = (((size_t)size << NVME_CQE_SHIFT) + PAGE_SIZE - 1) / PAGE_SIZE;

	q->sq = mem_alloc_pages(sq_pages);
	q->cq = mem_alloc_pages(cq_pages);
	if (!q->sq || !q->cq)
		return -ENOMEM;
	q->id = id;
	q->size = size;
	q->sq_tail = q->cq_head = 0;
	q->phase = NVME_CQE_PHASE;
	q->sq_db = (volatile uint32_t *)(n->regs + NVME_REG_DBS + (2u * id) * n->db_stride);
	q->cq_db = (volatile uint32_t *)(n->regs + NVME_REG_DBS + (2u * id + 1) * n->db_stride);
	return 0;
}

static void nvme_queue_push(struct nvme_queue *q, const struct nvme_sqe *e)
{
	volatile struct nvme_sqe *slot = &q->sq[q->sq_tail];

	memcpy((void *)slot, e, sizeof(*e));
	q->sq_tail = (uint16_t)((q->sq_tail + 1) % q->size);
	io_wmb(); /* the entry before the doorbell that hands it over (4.1) */
	*q->sq_db = q->sq_tail;
}

/* The next completion entry when its phase tag says it is new, else NULL. */
static volatile struct nvme_cqe *nvme_queue_peek(struct nvme_queue *q)
{
	volatile struct nvme_cqe *e = &q->cq[q->cq_head];

	if ((e->status & NVME_CQE_PHASE) != q->phase)
		return NULL;
	io_rmb(); /* the rest of the entry after its phase tag */
	return e;
}

static void nvme_queue_pop(struct nvme_queue *q)
{
	if (++q->cq_head == q->size) {
		q->cq_head = 0;
		q->phase ^= NVME_CQE_PHASE;  /* 4.6: the tag inverts each pass */
	}
}

static uint16_t nvme_status_code(uint16_t status)
{
	return (uint16_t)(status >> NVME_CQE_SC_SHIFT & 0x7fff);
}

static unsigned nvme_sct(uint16_t status)
{
	return status >> NVME_CQE_SCT_SHIFT & NVME_CQE_SCT_MASK;
}

static unsigned nvme_sc(uint16_t status)
{
	return status >> NVME_CQE_SC_SHIFT & NVME_CQE_SC_MASK;
}

/* One admin command, polled (set-up only). 0, -EIO (status logged) or -ETIMEDOUT. */
static int nvme_admin(struct nvme *n, struct nvme_sqe *e, const char *what)
{
	volatile struct nvme_cqe *c;
	unsigned waited = 0;
	uint16_t status;

	e->cid = n->admin.sq_tail;
	nvme_queue_push(&n->admin, e);
	while (!(c = nvme_queue_peek(&n->admin))) {
		if (waited >= NVME_ADMIN_TIMEOUT_US) {
			console_printf(NVME_NAME ": %s: no completion in %u s\n", what,
				       NVME_ADMIN_TIMEOUT_US / 1000000);
			return -ETIMEDOUT;
		}
		time_delay_us(NVME_POLL_US);
		waited += NVME_POLL_US;
	}
	status = c->status;
	nvme_queue_pop(&n->admin);
	*n->admin.cq_db = n->admin.cq_head;
	if (nvme_status_code(status)) {
		console_printf(NVME_NAME ": %s failed: status type %u code 0x%02x%s\n", what,
			       nvme_sct(status), nvme_sc(status),
			       (status & NVME_CQE_DNR) ? " (do not retry)" : "");
		return -EIO;
	}
	return 0;
}

static int nvme_identify(struct nvme *n, uint8_t cns, uint32_t nsid, const char *what)
{
	struct nvme_sqe e = { .opcode = NVME_ADMIN_IDENTIFY, .nsid = nsid,
			      .prp1 = (uint64_t)(uintptr_t)n->id, .cdw10 = cns };

	memset(n->id, 0, NVME_ID_BYTES);
	return nvme_admin(n, &e, what);
}

/* ---- I/O ---- */

/* 4.3 Physical Region Page entries for `len` bytes at `buf`. */
static void nvme_set_prps(struct nvme *n, struct nvme_sqe *e, uint16_t tag, uint8_t *buf,
			  uint32_t len)
{
	uint64_t addr = (uint64_t)(uintptr_t)buf;
	uint32_t first = NVME_PAGE - (uint32_t)(addr & (NVME_PAGE - 1));
	uint64_t *list;
	uint32_t rest, pages;

	e->prp1 = addr;
	e->prp2 = 0;
	if (len <= first)
		return;
	rest = len - first;
	addr += first;                   /* page aligned from here on */
	if (rest <= NVME_PAGE) {
		e->prp2 = addr;
		return;
	}
	pages = (rest + NVME_PAGE - 1) / NVME_PAGE;   /* <= NVME_PRPS_PER_PAGE: max_blocks */
	list = n->prp_lists + (size_t)tag * NVME_PRPS_PER_PAGE;
	for (uint32_t i = 0; i < pages; i++)
		list[i] = addr + (uint64_t)i * NVME_PAGE;
	e->prp2 = (uint64_t)(uintptr_t)list;
}

static int nvme_submit(struct blkdev *dev, struct blkreq *req)
{
	struct nvme *n = dev->priv;
	struct nvme_sqe e;

	memset(&e, 0, sizeof(e));
	e.cid = req->tag;
	e.nsid = n->nsid;
	switch (req->op) {
	case BLKREQ_FLUSH:
		e.opcode = NVME_CMD_FLUSH;
		break;
	case BLKREQ_READ:
	case BLKREQ_WRITE:
		/* 6.9 / 6.15: SLBA in CDW10-11, NLB (0's based) in CDW12 15:0. */
		e.opcode = req->op == BLKREQ_READ ? NVME_CMD_READ : NVME_CMD_WRITE;
		e.cdw10 = (uint32_t)req->block;
		e.cdw11 = (uint32_t)(req->block >> 32);
		e.cdw12 = req->nblocks - 1;
		nvme_set_prps(n, &e, req->tag, req->buf, req->nblocks * dev->block_size);
		break;
	}
	n->inflight[req->tag] = req;
	nvme_queue_push(&n->io, &e);
	return 0;
}

static void nvme_poll(struct blkdev *dev)
{
	struct nvme *n = dev->priv;
	volatile struct nvme_cqe *c;
	bool any = false;

	while ((c = nvme_queue_peek(&n->io)) != NULL) {
		uint16_t cid = c->cid, status = c->status;
		struct blkreq *req = cid < dev->queue_depth ? n->inflight[cid] : NULL;

		nvme_queue_pop(&n->io);
		any = true;
		if (!req) {
			console_printf("%s: " NVME_NAME ": completion for command %u, which is "
				       "not in flight (ignored)\n", dev->name, cid);
			continue;
		}
		n->inflight[cid] = NULL;
		if (nvme_status_code(status) == 0)
			blkdev_complete(dev, req, 0);
		else
			blkdev_fail(dev, req, -EIO, "status type %u code 0x%02x%s",
				    nvme_sct(status), nvme_sc(status),
				    (status & NVME_CQE_DNR) ? " (do not retry)" : "");
	}
	if (any)
		*n->io.cq_db = n->io.cq_head;   /* 4.6: entries up to head are free again */
}

static const struct blkdev_ops nvme_ops = {
	.submit = nvme_submit,
	.poll = nvme_poll,
};

/* ---- set-up ---- */

static int nvme_wait_ready(struct nvme *n, bool ready)
{
	unsigned timeout = (unsigned)((n->cap >> NVME_CAP_TO_SHIFT) & NVME_CAP_TO_MASK) *
			   NVME_TO_UNIT_US;

	if (timeout == 0)
		timeout = NVME_TO_UNIT_US;
	for (unsigned waited = 0; (nvme_rd(n, NVME_REG_CSTS) & NVME_CSTS_RDY) != ready;
	     waited += NVME_POLL_US) {
		if (nvme_rd(n, NVME_REG_CSTS) & NVME_CSTS_CFS) {
			console_printf(NVME_NAME ": controller fatal status (CSTS 0x%x)\n",
				       nvme_rd(n, NVME_REG_CSTS));
			return -EIO;
		}
		if (waited >= timeout) {
			console_printf(NVME_NAME ": CSTS.RDY did not become %d in %u ms\n", ready,
				       timeout / 1000);
			return -ETIMEDOUT;
		}
		time_delay_us(NVME_POLL_US);
	}
	return 0;
}

/* 7.6.1 steps 2-6: reset, admin queue, CC, enable. */
static int nvme_enable(struct nvme *n)
{
	unsigned mpsmin = (unsigned)(n->cap >> NVME_CAP_MPSMIN_SHIFT & NVME_CAP_MPS_MASK);
	uint16_t admin_entries = NVME_ADMIN_ENTRIES;
	int rc;

	if ((n->cap & NVME_CAP_MQES_MASK) + 1 < admin_entries)
		admin_entries = (uint16_t)((n->cap & NVME_CAP_MQES_MASK) + 1);
	if (!(n->cap & NVME_CAP_CSS_NVM) || mpsmin > 0) {
		console_printf(NVME_NAME ": controller lacks the NVM command set or 4 KiB pages "
			       "(CAP 0x%lx)\n", (unsigned long)n->cap);
		return -ENOTSUP;
	}
	/* Also stops whatever the firmware's driver left running. */
	nvme_wr(n, NVME_REG_CC, nvme_rd(n, NVME_REG_CC) & ~NVME_CC_EN);
	rc = nvme_wait_ready(n, false);
	if (rc < 0)
		return rc;
	rc = nvme_queue_init(n, &n->admin, 0, admin_entries);
	if (rc < 0)
		return rc;
	nvme_wr(n, NVME_REG_AQA, (uint32_t)(admin_entries - 1) << NVME_AQA_ACQS_SHIFT |
				 (uint32_t)(admin_entries - 1));
	nvme_wr64(n, NVME_REG_ASQ, (uint64_t)(uintptr_t)n->admin.sq);
	nvme_wr64(n, NVME_REG_ACQ, (uint64_t)(uintptr_t)n->admin.cq);
	nvme_wr(n, NVME_REG_CC, NVME_CC_CSS_NVM | (0u << NVME_CC_MPS_SHIFT) | NVME_CC_AMS_RR |
				(NVME_SQE_SHIFT << NVME_CC_IOSQES_SHIFT) |
				(NVME_CQE_SHIFT << NVME_CC_IOCQES_SHIFT));
	nvme_wr(n, NVME_REG_CC, nvme_rd(n, NVME_REG_CC) | NVME_CC_EN);
	return nvme_wait_ready(n, true);
}

/* The first active namespace (5.15.2.3), or 1 when the list is refused
 * (before NVMe 1.1 every namespace 1..NN is active). */
static uint32_t nvme_pick_namespace(struct nvme *n, uint32_t nn)
{
	uint32_t first = 0, count = 0;

	if (nvme_identify(n, NVME_CNS_ACTIVE_NS, 0, "Identify (active namespaces)") < 0)
		return nn ? 1 : 0;
	for (unsigned i = 0; i < NVME_NS_LIST_MAX; i++) {
		uint32_t id = nvme_le32(n->id + 4 * i);

		if (!id)
			break;
		if (!first)
			first = id;
		count++;
	}
	if (count > 1)
		console_printf(NVME_NAME ": %u namespaces; using %u only\n", count, first);
	return first;
}

static int nvme_setup(struct nvme *n)
{
	uint32_t nn, lbaf, max_bytes = NVME_PRPS_PER_PAGE * NVME_PAGE;
	uint16_t io_entries, cq_flags = NVME_QUEUE_PHYS_CONTIG;
	struct nvme_sqe e;
	uint8_t mdts, lbads;
	bool vwc;
	int rc;

	/* 7.6.1 step 7: Identify Controller. */
	rc = nvme_identify(n, NVME_CNS_CONTROLLER, 0, "Identify Controller");
	if (rc < 0)
		return rc;
	blkdev_set_string(n->blk.model, sizeof(n->blk.model), n->id + NVME_IDC_MN, NVME_IDC_MN_LEN);
	blkdev_set_string(n->blk.serial, sizeof(n->blk.serial), n->id + NVME_IDC_SN,
			  NVME_IDC_SN_LEN);
	mdts = n->id[NVME_IDC_MDTS];
	nn = nvme_le32(n->id + NVME_IDC_NN);
	vwc = n->id[NVME_IDC_VWC] & NVME_IDC_VWC_PRESENT;
	/* MDTS counts CAP.MPSMIN pages: 4 KiB, checked in nvme_enable. */
	if (mdts && mdts < 32 && (NVME_PAGE << mdts) < max_bytes)
		max_bytes = NVME_PAGE << mdts;

	n->nsid = nvme_pick_namespace(n, nn);
	if (!n->nsid) {
		console_printf(NVME_NAME ": \"%s\" has no active namespace\n", n->blk.model);
		return -ENODEV;
	}
	rc = nvme_identify(n, NVME_CNS_NAMESPACE, n->nsid, "Identify Namespace");
	if (rc < 0)
		return rc;
	lbaf = nvme_le32(n->id + NVME_IDNS_LBAF +
			 4 * (n->id[NVME_IDNS_FLBAS] & NVME_IDNS_FLBAS_MASK));
	lbads = (uint8_t)(lbaf >> NVME_LBAF_LBADS_SHIFT);
	if (lbaf & NVME_LBAF_MS_MASK) {
		console_printf(NVME_NAME ": namespace %u carries %u metadata bytes per block: "
			       "not supported\n", n->nsid, lbaf & NVME_LBAF_MS_MASK);
		return -ENOTSUP;
	}
	if (lbads < 9 || lbads > 16) {
		console_printf(NVME_NAME ": namespace %u: block size 2^%u is not supported\n",
			       n->nsid, lbads);
		return -ENOTSUP;
	}
	n->blk.blocks = nvme_le64(n->id + NVME_IDNS_NSZE);
	n->blk.block_size = 1u << lbads;
	if (max_bytes < n->blk.block_size)
		max_bytes = n->blk.block_size;
	n->blk.max_blocks = max_bytes / n->blk.block_size;

	/* Step 8: one I/O queue pair (NSQR = NCQR = 0: one each, 0's based). */
	memset(&e, 0, sizeof(e));
	e.opcode = NVME_ADMIN_SET_FEATURES;
	e.cdw10 = NVME_FEAT_NUM_QUEUES;
	e.cdw11 = 0;
	rc = nvme_admin(n, &e, "Set Features (Number of Queues)");
	if (rc < 0)
		return rc;
#ifndef CONFIG_POLL
	{
		int vector = blkdev_irq_alloc(&n->blk);

		if (vector >= 0 && (pci_msix_enable(n->pci, NVME_IRQ_VECTOR, vector) == 0 ||
				    pci_msi_enable(n->pci, vector) == 0)) {
			cq_flags |= NVME_CQ_IRQ_ENABLED;
			n->blk.features |= BLKDEV_F_IRQ;
		} else if (vector >= 0) {
			console_printf(NVME_NAME ": no MSI-X or MSI, polling\n");
			irq_free_vector(vector);
		}
	}
#endif
	/* Steps 9-10: the completion queue first, then its submission queue. */
	io_entries = NVME_IO_ENTRIES;
	if ((n->cap & NVME_CAP_MQES_MASK) + 1 < io_entries)
		io_entries = (uint16_t)((n->cap & NVME_CAP_MQES_MASK) + 1);
	rc = nvme_queue_init(n, &n->io, NVME_IO_QID, io_entries);
	if (rc < 0)
		return rc;
	memset(&e, 0, sizeof(e));
	e.opcode = NVME_ADMIN_CREATE_CQ;
	e.prp1 = (uint64_t)(uintptr_t)n->io.cq;
	e.cdw10 = (uint32_t)(io_entries - 1) << NVME_QSIZE_SHIFT | NVME_IO_QID;
	e.cdw11 = (uint32_t)NVME_IRQ_VECTOR << NVME_CQ_IV_SHIFT | cq_flags;
	rc = nvme_admin(n, &e, "Create I/O Completion Queue");
	if (rc < 0)
		return rc;
	memset(&e, 0, sizeof(e));
	e.opcode = NVME_ADMIN_CREATE_SQ;
	e.prp1 = (uint64_t)(uintptr_t)n->io.sq;
	e.cdw10 = (uint32_t)(io_entries - 1) << NVME_QSIZE_SHIFT | NVME_IO_QID;
	e.cdw11 = (uint32_t)NVME_IO_QID << NVME_SQ_CQID_SHIFT | NVME_QUEUE_PHYS_CONTIG;
	rc = nvme_admin(n, &e, "Create I/O Submission Queue");
	if (rc < 0)
		return rc;

	n->blk.queue_depth = (uint16_t)(io_entries - 1);   /* a full queue holds size - 1 */
	n->prp_lists = mem_alloc_pages(n->blk.queue_depth);
	n->inflight = calloc(n->blk.queue_depth, sizeof(*n->inflight));
	if (!n->prp_lists || !n->inflight)
		return -ENOMEM;
	n->blk.features |= BLKDEV_F_FLUSH;    /* 6.8: Flush is mandatory */
	n->blk.cache = vwc ? BLKDEV_CACHE_VOLATILE : BLKDEV_CACHE_NONE;
	return 0;
}

static int nvme_probe(struct pci_dev *pci, const struct pci_id *id)
{
	struct nvme *n;
	int rc;

	(void)id;
	if (pci->bar_is_io[NVME_BAR] || pci->bar[NVME_BAR] == 0 ||
	    pci->bar_size[NVME_BAR] < NVME_REG_MIN_BYTES) {
		console_printf(NVME_NAME ": %02x:%02x.%x: BAR0 is not a register window\n",
			       pci->bus, pci->slot, pci->func);
		return -ENODEV;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->pci = pci;
	/* 7.6.1 step 1: memory space and bus mastering. */
	pci_enable(pci);
	n->regs = mem_map_mmio(pci->bar[NVME_BAR], pci->bar_size[NVME_BAR]);
	n->cap = nvme_rd64(n, NVME_REG_CAP);
	n->db_stride = 4u << (unsigned)(n->cap >> NVME_CAP_DSTRD_SHIFT & NVME_CAP_DSTRD_MASK);
	if (NVME_REG_DBS + (2u * NVME_IO_QID + 2) * n->db_stride > pci->bar_size[NVME_BAR]) {
		console_printf(NVME_NAME ": doorbell stride %u does not fit BAR0\n", n->db_stride);
		rc = -ENODEV;
		goto fail;
	}
	n->id = mem_alloc_pages(NVME_ID_BYTES / PAGE_SIZE);
	if (!n->id) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = nvme_enable(n);
	if (rc == 0)
		rc = nvme_setup(n);
	if (rc < 0)
		goto fail_disable;
	n->blk.ops = &nvme_ops;
	n->blk.driver = NVME_NAME;
	n->blk.dma_align = 4;               /* 4.3: PRP offsets are dword aligned */
	n->blk.priv = n;
	rc = blkdev_register(&n->blk);
	if (rc < 0)
		goto fail_disable;
	pci->driver_state = n;
	console_printf(NVME_NAME ": %s: %02x:%02x.%x NVMe %u.%u, namespace %u, up to %u KiB per "
		       "request, %s\n", n->blk.name, pci->bus, pci->slot, pci->func,
		       nvme_rd(n, NVME_REG_VS) >> 16, nvme_rd(n, NVME_REG_VS) >> 8 & 0xff, n->nsid,
		       n->blk.max_blocks * n->blk.block_size / 1024,
		       n->blk.cache == BLKDEV_CACHE_VOLATILE ? "volatile write cache" :
		       "no volatile write cache");
	return 0;

fail_disable:
	/* Queues stay allocated: a disabled controller no longer uses them. */
	nvme_wr(n, NVME_REG_CC, nvme_rd(n, NVME_REG_CC) & ~NVME_CC_EN);
fail:
	console_printf(NVME_NAME ": %02x:%02x.%x not used (%d)\n", pci->bus, pci->slot,
		       pci->func, rc);
	return rc;
}

/* Class 01h mass storage, 08h non-volatile memory, 02h NVM Express (sec 2.1.5). */
static const struct pci_class_id nvme_classes[] = {
	{ PCI_CLASS_MATCH(0x01, 0x08, 0x02), { PCI_ANY_ID, PCI_ANY_ID, NULL } },
	{ 0 },
};

PCI_DRIVER(nvme_driver) = {
	.name = NVME_NAME,
	.classes = nvme_classes,
	.probe = nvme_probe,
};
