/* ahci.h: AHCI host bus adapter registers and structures (Serial ATA AHCI 1.3.1), ATA commands and IDENTIFY words (ATA8-ACS). */
#ifndef UNICYCLE_DRIVERS_AHCI_H
#define UNICYCLE_DRIVERS_AHCI_H

#include <stdint.h>

/*
 * Sources: Serial ATA Advanced Host Controller Interface (AHCI) 1.3.1
 * (Intel, 2011): sec 3 registers, sec 4 system memory structures, sec 5
 * operation, sec 6 error recovery, sec 10 software requirements; ATA/ATAPI
 * Command Set (ATA8-ACS) for the commands and the IDENTIFY DEVICE data;
 * Serial ATA 2.6 for the FIS layouts. Registers are in ABAR (BAR5,
 * memory), 32 bits wide.
 */

#define AHCI_ABAR              5       /* PCI BAR index (AHCI 2.1.11 ABAR) */

/* ---- 3.1 Generic host control ---- */
#define AHCI_CAP          0x00   /* 32 r    host capabilities */
#define   AHCI_CAP_NP_MASK          0x1fu       /* ports - 1 */
#define   AHCI_CAP_NCS_SHIFT        8           /* command slots - 1, 5 bits */
#define   AHCI_CAP_NCS_MASK         0x1fu
#define   AHCI_CAP_SCLO             (1u << 24)  /* PxCMD.CLO supported */
#define   AHCI_CAP_SAM              (1u << 18)  /* AHCI mode only (GHC.AE read-only 1) */
#define   AHCI_CAP_SSS              (1u << 27)  /* staggered spin-up: software sets PxCMD.SUD */
#define   AHCI_CAP_SNCQ             (1u << 30)  /* native command queuing */
#define   AHCI_CAP_S64A             (1u << 31)  /* 64-bit addressing */
#define AHCI_GHC          0x04   /* 32 r/w  global host control */
#define   AHCI_GHC_HR               (1u << 0)   /* HBA reset, self-clearing */
#define   AHCI_GHC_IE               (1u << 1)   /* interrupt enable */
#define   AHCI_GHC_AE               (1u << 31)  /* AHCI enable */
#define AHCI_IS           0x08   /* 32 r/wc interrupt status: bit n = port n */
#define AHCI_PI           0x0c   /* 32 r    ports implemented (bit mask) */
#define AHCI_VS           0x10   /* 32 r    version: major 31:16, minor 15:0 */
#define AHCI_CAP2         0x24   /* 32 r    capabilities extended */
#define   AHCI_CAP2_BOH             (1u << 0)   /* BIOS/OS handoff */
#define AHCI_BOHC         0x28   /* 32 r/w  BIOS/OS handoff control and status */
#define   AHCI_BOHC_BOS             (1u << 0)   /* BIOS owned semaphore */
#define   AHCI_BOHC_OOS             (1u << 1)   /* OS owned semaphore */
#define   AHCI_BOHC_BB              (1u << 4)   /* BIOS busy */

#define AHCI_MAX_PORTS         32
#define AHCI_MAX_SLOTS         32

/* ---- 3.3 Port registers: AHCI_PORT(n) + offset ---- */
#define AHCI_PORT(n)      (0x100u + 0x80u * (n))
#define AHCI_PORT_BYTES   0x80
#define AHCI_PxCLB        0x00   /* 32 r/w  command list base, 1 KiB aligned */
#define AHCI_PxCLBU       0x04   /* 32 r/w  upper 32 bits (CAP.S64A) */
#define AHCI_PxFB         0x08   /* 32 r/w  received FIS base, 256-byte aligned */
#define AHCI_PxFBU        0x0c   /* 32 r/w  upper 32 bits */
#define AHCI_PxIS         0x10   /* 32 r/wc interrupt status */
#define   AHCI_PxIS_DHRS            (1u << 0)   /* D2H register FIS received */
#define   AHCI_PxIS_PSS             (1u << 1)   /* PIO setup FIS */
#define   AHCI_PxIS_DSS             (1u << 2)   /* DMA setup FIS */
#define   AHCI_PxIS_SDBS            (1u << 3)   /* set device bits FIS (NCQ done) */
#define   AHCI_PxIS_UFS             (1u << 4)   /* unknown FIS */
#define   AHCI_PxIS_DPS             (1u << 5)   /* descriptor processed */
#define   AHCI_PxIS_OFS             (1u << 24)  /* overflow */
#define   AHCI_PxIS_INFS            (1u << 26)  /* interface non-fatal error */
#define   AHCI_PxIS_IFS             (1u << 27)  /* interface fatal error */
#define   AHCI_PxIS_HBDS            (1u << 28)  /* host bus data error */
#define   AHCI_PxIS_HBFS            (1u << 29)  /* host bus fatal error */
#define   AHCI_PxIS_TFES            (1u << 30)  /* task file error (device ERR) */
#define   AHCI_PxIS_ERRORS          (AHCI_PxIS_OFS | AHCI_PxIS_IFS | AHCI_PxIS_HBDS | \
				     AHCI_PxIS_HBFS | AHCI_PxIS_TFES)
#define   AHCI_PxIS_COMPLETIONS     (AHCI_PxIS_DHRS | AHCI_PxIS_PSS | AHCI_PxIS_DSS | \
				     AHCI_PxIS_SDBS | AHCI_PxIS_DPS)
#define AHCI_PxIE         0x14   /* 32 r/w  interrupt enable (PxIS bits) */
#define AHCI_PxCMD        0x18   /* 32 r/w  command and status */
#define   AHCI_PxCMD_ST             (1u << 0)   /* start: process the command list */
#define   AHCI_PxCMD_SUD            (1u << 1)   /* spin-up device */
#define   AHCI_PxCMD_CLO            (1u << 3)   /* command list override (clears BSY/DRQ) */
#define   AHCI_PxCMD_FRE            (1u << 4)   /* FIS receive enable */
#define   AHCI_PxCMD_CCS_SHIFT      8           /* current command slot, 5 bits */
#define   AHCI_PxCMD_FR             (1u << 14)  /* FIS receive running */
#define   AHCI_PxCMD_CR             (1u << 15)  /* command list running */
#define AHCI_PxTFD        0x20   /* 32 r    task file data: STS 7:0, ERR 15:8 */
#define   AHCI_PxTFD_ERR            (1u << 0)
#define   AHCI_PxTFD_STS_ERR        (1u << 0)  /* ATA status ERR: the last command failed */
#define   AHCI_PxTFD_DRQ            (1u << 3)
#define   AHCI_PxTFD_BSY            (1u << 7)
#define   AHCI_PxTFD_ERR_SHIFT      8
#define AHCI_PxSIG        0x24   /* 32 r    signature from the device's first D2H FIS */
#define   AHCI_SIG_ATA              0x00000101u /* SATA disk */
#define   AHCI_SIG_ATAPI            0xeb140101u /* packet device: CD/DVD */
#define AHCI_PxSSTS       0x28   /* 32 r    SStatus (SATA 2.6 sec 14.1.1) */
#define   AHCI_PxSSTS_DET_MASK      0xfu
#define   AHCI_PxSSTS_DET_NONE      0x0u        /* no device detected */
#define   AHCI_PxSSTS_DET_PHY       0x3u        /* device present, phy communication up */
#define AHCI_PxSCTL       0x2c   /* 32 r/w  SControl */
#define   AHCI_PxSCTL_DET_MASK      0xfu
#define   AHCI_PxSCTL_DET_COMRESET  0x1u        /* hold: interface reset */
#define AHCI_PxSERR       0x30   /* 32 r/wc SError */
#define AHCI_PxSACT       0x34   /* 32 r/w1 SActive: NCQ tags outstanding */
#define AHCI_PxCI         0x38   /* 32 r/w1 command issue: slots outstanding */

/* ---- 4.2 System memory structures ---- */
#define AHCI_CLB_ALIGN         1024
#define AHCI_FIS_ALIGN         256
#define AHCI_CTBA_ALIGN        128

/* 4.2.2 Command list entry (command header), 32 bytes. */
struct ahci_cmd_header {
	uint16_t flags;      /* CFL 4:0 (FIS dwords), A 5, W 6 (host to device), P 7, ... */
	uint16_t prdtl;      /* PRD entries */
	uint32_t prdbc;      /* bytes transferred (written by the HBA) */
	uint32_t ctba;       /* command table base, 128-byte aligned */
	uint32_t ctbau;
	uint32_t reserved[4];
};
#define AHCI_CMD_CFL_H2D       5           /* 20-byte register FIS */
#define AHCI_CMD_W             (1u << 6)   /* data goes to the device */

/* 4.2.3.3 Physical region descriptor, 16 bytes. */
struct ahci_prd {
	uint32_t dba;        /* data base address, bit 0 must be 0 (word aligned) */
	uint32_t dbau;
	uint32_t reserved;
	uint32_t dbc;        /* byte count - 1 (bit 0 set: counts are even), 21:0; I 31 */
};
#define AHCI_PRD_MAX_BYTES     (1u << 22)  /* 4 MiB per entry */

/* 4.2.3 Command table: command FIS at 0x00, ATAPI command at 0x40,
 * PRD table at 0x80. One PRD entry here: RAM buffers are contiguous. */
struct ahci_cmd_table {
	uint8_t cfis[64];
	uint8_t acmd[16];
	uint8_t reserved[48];
	struct ahci_prd prdt[1];
} __attribute__((aligned(AHCI_CTBA_ALIGN)));

/* 4.2.1 Received FIS structure: the D2H register FIS at 0x40. */
#define AHCI_RFIS_BYTES        256
#define AHCI_RFIS_D2H          0x40

/* ---- SATA 2.6 sec 10.3.4 Register - Host to Device FIS (20 bytes) ---- */
#define SATA_FIS_H2D           0x27
#define SATA_FIS_H2D_C         0x80        /* byte 1: this is a command */
struct sata_fis_h2d {
	uint8_t type;        /* SATA_FIS_H2D */
	uint8_t flags;       /* PM port 3:0, C 7 */
	uint8_t command;
	uint8_t feature_lo;
	uint8_t lba0, lba1, lba2;
	uint8_t device;
	uint8_t lba3, lba4, lba5;
	uint8_t feature_hi;
	uint8_t count_lo, count_hi;
	uint8_t icc, control;
	uint8_t reserved[4];
};

/* ---- ATA8-ACS commands ---- */
#define ATA_CMD_IDENTIFY           0xec   /* 7.16 IDENTIFY DEVICE: 512 bytes PIO in */
#define ATA_CMD_READ_DMA_EXT       0x25   /* 7.25 */
#define ATA_CMD_WRITE_DMA_EXT      0x35   /* 7.62 */
#define ATA_CMD_READ_FPDMA_QUEUED  0x60   /* 7.24 (NCQ) */
#define ATA_CMD_WRITE_FPDMA_QUEUED 0x61   /* 7.61 (NCQ) */
#define ATA_CMD_FLUSH_CACHE        0xe7   /* 7.14 */
#define ATA_CMD_FLUSH_CACHE_EXT    0xea   /* 7.15 */
#define ATA_DEVICE_LBA             0x40   /* device register: LBA addressing */
#define ATA_NCQ_TAG_SHIFT          3      /* FPDMA: tag in count bits 7:3 */
#define ATA_EXT_MAX_SECTORS        65536  /* 48-bit commands: a count of 0 means 65536 */

/* ---- ATA8-ACS 7.16.7 IDENTIFY DEVICE data (16-bit words) ---- */
#define ATA_ID_WORDS               256
#define ATA_ID_SERIAL              10     /* words 10-19: 20 ASCII, swapped per word */
#define ATA_ID_SERIAL_WORDS        10
#define ATA_ID_MODEL               27     /* words 27-46: 40 ASCII */
#define ATA_ID_MODEL_WORDS         20
#define ATA_ID_LBA28_CAPACITY      60     /* words 60-61 */
#define ATA_ID_QUEUE_DEPTH         75     /* 4:0: depth - 1 */
#define   ATA_ID_QUEUE_DEPTH_MASK    0x1fu
#define ATA_ID_SATA_CAP            76
#define   ATA_ID_SATA_CAP_NCQ        (1u << 8)
#define ATA_ID_CMDSET1             82     /* supported */
#define   ATA_ID_CMDSET1_WCACHE      (1u << 5)
#define ATA_ID_CMDSET2             83     /* supported; 15:14 = 01b when valid */
#define   ATA_ID_CMDSET2_LBA48       (1u << 10)
#define   ATA_ID_CMDSET2_FLUSH       (1u << 12)
#define   ATA_ID_CMDSET2_FLUSH_EXT   (1u << 13)
#define ATA_ID_CMDSET1_EN          85     /* enabled */
#define ATA_ID_CMDSET2_EN          86
#define ATA_ID_VALID_MASK          0xc000u /* words 83, 84, 87, 106: bits 15:14 */
#define ATA_ID_VALID               0x4000u /* ... = 01b: the word is valid */
#define ATA_ID_LBA48_CAPACITY      100    /* words 100-103 */
#define ATA_ID_SECTOR_SIZE         106
#define   ATA_ID_SECTOR_LONG_LOGICAL (1u << 12) /* words 117-118 give the size */
#define ATA_ID_LOGICAL_WORDS       117    /* words 117-118: words per logical sector */
#define ATA_SECTOR                 512

#endif
