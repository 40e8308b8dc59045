/* nvme.h: NVMe controller registers, queue entries, admin and NVM commands, Identify data (NVM Express Base 1.4). */
#ifndef UNICYCLE_DRIVERS_NVME_H
#define UNICYCLE_DRIVERS_NVME_H

#include <stdint.h>

/*
 * Source: NVM Express Base Specification 1.4 (June 2019): sec 3.1
 * controller registers (BAR0, memory), 4.2-4.6 queue entries and PRPs,
 * 5 admin commands, 6 NVM commands, 7.6.1 initialization.
 */

#define NVME_BAR                0

/* ---- 3.1 Controller registers ---- */
#define NVME_REG_CAP      0x00   /* 64 r    controller capabilities */
#define   NVME_CAP_MQES_MASK        0xffffull   /* max queue entries - 1 */
#define   NVME_CAP_TO_SHIFT         24          /* ready timeout, 500 ms units, 8 bits */
#define   NVME_CAP_TO_MASK          0xffull
#define   NVME_CAP_DSTRD_SHIFT      32          /* doorbell stride 4 << DSTRD, 4 bits */
#define   NVME_CAP_DSTRD_MASK       0xfull
#define   NVME_CAP_CSS_NVM          (1ull << 37) /* NVM command set */
#define   NVME_CAP_MPSMIN_SHIFT     48          /* min page 2^(12+MPSMIN), 4 bits */
#define   NVME_CAP_MPSMAX_SHIFT     52
#define   NVME_CAP_MPS_MASK         0xfull
#define NVME_REG_VS       0x08   /* 32 r    version: major 31:16, minor 15:8 */
#define NVME_REG_INTMS    0x0c   /* 32 w    interrupt mask set (not with MSI-X) */
#define NVME_REG_CC       0x14   /* 32 r/w  controller configuration */
#define   NVME_CC_EN                (1u << 0)
#define   NVME_CC_CSS_NVM           (0u << 4)
#define   NVME_CC_MPS_SHIFT         7           /* page 2^(12+MPS) */
#define   NVME_CC_AMS_RR            (0u << 11)  /* round robin arbitration */
#define   NVME_CC_IOSQES_SHIFT      16          /* SQ entry 2^n bytes */
#define   NVME_CC_IOCQES_SHIFT      20          /* CQ entry 2^n bytes */
#define NVME_REG_CSTS     0x1c   /* 32 r    controller status */
#define   NVME_CSTS_RDY             (1u << 0)
#define   NVME_CSTS_CFS             (1u << 1)   /* controller fatal status */
#define NVME_REG_AQA      0x24   /* 32 r/w  admin queue sizes - 1: ACQS 27:16, ASQS 11:0 */
#define   NVME_AQA_ACQS_SHIFT       16
#define NVME_REG_ASQ      0x28   /* 64 r/w  admin SQ base, page aligned */
#define NVME_REG_ACQ      0x30   /* 64 r/w  admin CQ base, page aligned */
#define NVME_REG_DBS      0x1000 /* 32 w    doorbells: SQ y tail at 2y, CQ y head at 2y+1 strides */
#define NVME_REG_MIN_BYTES 0x2000 /* BAR0 must cover the registers and a few doorbells */

#define NVME_PAGE_SHIFT         12     /* the memory page size we configure (MPS 0) */
#define NVME_PAGE               (1u << NVME_PAGE_SHIFT)
#define NVME_SQE_SHIFT          6      /* 64-byte submission entries */
#define NVME_CQE_SHIFT          4      /* 16-byte completion entries */

/* 4.2 Submission queue entry (64 bytes). */
struct nvme_sqe {
	uint8_t opcode;
	uint8_t flags;         /* FUSE 1:0, PSDT 7:6 (0: PRPs) */
	uint16_t cid;          /* command identifier: our tag */
	uint32_t nsid;
	uint64_t reserved;
	uint64_t mptr;
	uint64_t prp1;
	uint64_t prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

/* 4.6 Completion queue entry (16 bytes). */
struct nvme_cqe {
	uint32_t dw0;          /* command specific */
	uint32_t reserved;
	uint16_t sq_head;
	uint16_t sq_id;
	uint16_t cid;
	uint16_t status;       /* P 0 (phase tag), SC 8:1, SCT 11:9, CRD, M, DNR 15 */
};
#define NVME_CQE_PHASE          (1u << 0)
#define NVME_CQE_SC_SHIFT       1
#define NVME_CQE_SC_MASK        0xffu
#define NVME_CQE_SCT_SHIFT      9
#define NVME_CQE_SCT_MASK       0x7u
#define NVME_CQE_DNR            (1u << 15)

/* 4.3 PRP: entries after the first are page aligned; a list page holds
 * NVME_PAGE / 8 of them (its last one would chain to the next page). */
#define NVME_PRPS_PER_PAGE      (NVME_PAGE / 8)

/* 5 Admin commands (opcodes) */
#define NVME_ADMIN_CREATE_SQ    0x01   /* 5.4 */
#define NVME_ADMIN_CREATE_CQ    0x05   /* 5.3 */
#define NVME_ADMIN_IDENTIFY     0x06   /* 5.15 */
#define NVME_ADMIN_SET_FEATURES 0x09   /* 5.21 */
#define   NVME_FEAT_NUM_QUEUES      0x07   /* 5.21.1.7: NCQR 31:16, NSQR 15:0, both - 1 */
#define   NVME_QUEUE_PHYS_CONTIG    (1u << 0)  /* create SQ/CQ cdw11 PC */
#define   NVME_CQ_IRQ_ENABLED       (1u << 1)  /* create CQ cdw11 IEN */
#define   NVME_CQ_IV_SHIFT          16         /* create CQ cdw11 interrupt vector */
#define   NVME_SQ_CQID_SHIFT        16         /* create SQ cdw11 CQID */
#define   NVME_QSIZE_SHIFT          16         /* create SQ/CQ cdw10 QSIZE - 1 */
#define NVME_CNS_NAMESPACE      0x00   /* 5.15.2 Identify Namespace */
#define NVME_CNS_CONTROLLER     0x01   /* Identify Controller */
#define NVME_CNS_ACTIVE_NS      0x02   /* active namespace ID list */

/* 6 NVM commands (opcodes) */
#define NVME_CMD_FLUSH          0x00   /* 6.8 */
#define NVME_CMD_WRITE          0x01   /* 6.15: cdw10-11 SLBA, cdw12 15:0 NLB - 1 */
#define NVME_CMD_READ           0x02   /* 6.9 */
#define NVME_NSID_ALL           0xffffffffu

/* 5.15.2.1 Identify Controller data structure (byte offsets) */
#define NVME_IDC_SN             4      /* 20 ASCII, space padded */
#define NVME_IDC_SN_LEN         20
#define NVME_IDC_MN             24     /* 40 ASCII */
#define NVME_IDC_MN_LEN         40
#define NVME_IDC_MDTS           77     /* max transfer 2^n min pages, 0 = no limit */
#define NVME_IDC_NN             516    /* le32 number of namespaces */
#define NVME_IDC_VWC            525    /* bit 0: volatile write cache present */
#define   NVME_IDC_VWC_PRESENT      (1u << 0)

/* 5.15.2.2 Identify Namespace data structure (byte offsets) */
#define NVME_IDNS_NSZE          0      /* le64 namespace size in logical blocks */
#define NVME_IDNS_FLBAS         26     /* 3:0: the LBA format in use */
#define   NVME_IDNS_FLBAS_MASK      0xfu
#define NVME_IDNS_LBAF          128    /* le32 per format: MS 15:0, LBADS 23:16, RP 25:24 */
#define   NVME_LBAF_LBADS_SHIFT     16
#define   NVME_LBAF_MS_MASK         0xffffu

/* Status codes (4.6.1.2): generic command status (SCT 0) */
#define NVME_SCT_GENERIC        0
#define NVME_SC_SUCCESS         0

#endif
