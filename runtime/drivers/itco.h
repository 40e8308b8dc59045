/* itco.h: Intel TCO watchdog registers (ICH9's LPC 8086:2918, QEMU q35; the 100-series PCH's SMBus 8086:a123, the Q170). */
#ifndef UNICYCLE_DRIVERS_ITCO_H
#define UNICYCLE_DRIVERS_ITCO_H

/*
 * Sources (register names as the datasheets spell them):
 * - Intel I/O Controller Hub 9 (ICH9) Family Datasheet (316972): the LPC
 *   interface's configuration registers (D31:F0: PMBASE, ACPI_CNTL, RCBA),
 *   the Chipset Configuration Registers (GCS at RCBA + 3410h) and the TCO
 *   I/O registers at PMBASE + 60h.
 * - Intel 100 Series Chipset Family PCH Datasheet, Volume 2 (332691): the
 *   SMBus controller's configuration (D31:F4: TCOBASE, TCOCTL) and the same
 *   TCO I/O registers at TCOBASE.
 * Checked against coreboot (src/soc/intel/skylake/include/soc/smbus.h for
 * the TCO bits; the common block's SMBus TCO code for TCOBASE 50h, TCOCTL
 * 54h, TCO_BASE_EN) and QEMU 7.2 (hw/acpi/tco.c, hw/isa/lpc_ich9.c,
 * include/hw/southbridge/ich9.h).
 */

#define ITCO_VENDOR             0x8086
#define ITCO_ICH9_LPC           0x2918  /* ICH9 LPC interface, D31:F0 (QEMU's ICH9-LPC) */
#define ITCO_SPT_SMBUS          0xa123  /* 100-series (Sunrise Point-H) SMBus, D31:F4 */

/* ---- ICH9 LPC interface configuration (D31:F0) ---- */
#define ITCO_ICH9_CFG_PMBASE    0x40    /* 32 r/w  ACPI Base Address (I/O) */
#define   ITCO_ICH9_PMBASE_MASK        0xff80u     /* bits 15:7: the 128-byte ACPI I/O block */
#define ITCO_ICH9_CFG_ACPI_CNTL 0x44    /* 8 r/w   ACPI Control */
#define   ITCO_ICH9_ACPI_EN            (1u << 7)   /* decode of the PMBASE block (TCO included) */
#define ITCO_ICH9_CFG_RCBA      0xf0    /* 32 r/w  Root Complex Base Address */
#define   ITCO_ICH9_RCBA_EN            (1u << 0)   /* the 16 KiB block is decoded */
#define   ITCO_ICH9_RCBA_MASK          0xffffc000u /* bits 31:14 */
#define ITCO_ICH9_RCBA_BYTES    0x4000
#define ITCO_ICH9_PM_TCO        0x60    /* the TCO registers within the PMBASE block */
/* Chipset Configuration Registers (memory, at RCBA) */
#define ITCO_ICH9_GCS           0x3410  /* 32 r/w  General Control and Status */
#define   ITCO_ICH9_GCS_NO_REBOOT      (1u << 5)   /* 1: the second timeout does not reset */

/* ---- 100-series SMBus configuration (D31:F4) ---- */
#define ITCO_SPT_CFG_TCOBASE    0x50    /* 16 r/w  TCO Base Address (I/O) */
#define   ITCO_SPT_TCOBASE_MASK        0xffe0u     /* bits 15:5: the 32-byte TCO block */
#define ITCO_SPT_CFG_TCOCTL     0x54    /* 32 r/w  TCO Control */
#define   ITCO_SPT_TCO_BASE_EN         (1u << 8)   /* TCOBASE is decoded */

/* ---- TCO I/O registers (at TCOBASE; the same on both) ---- */
#define ITCO_TCO_RLD            0x00    /* 16 r/w  TCO Timer Reload: any write reloads
					 * TCO_TMR's value and restarts the count */
#define ITCO_TCO1_STS           0x04    /* 16 r/wc TCO1 Status */
#define   ITCO_TCO1_TIMEOUT            (1u << 3)   /* the counter reached zero (once or more) */
#define ITCO_TCO2_STS           0x06    /* 16 r/wc TCO2 Status (resume well: survives a reset) */
#define   ITCO_TCO2_SECOND_TO          (1u << 1)   /* SECOND_TO_STS: it reached zero twice,
						    * which is the TCO's reset */
#define ITCO_TCO1_CNT           0x08    /* 16 r/w  TCO1 Control */
#define   ITCO_TCO1_NMI_NOW            (1u << 8)   /* writing 1 raises an NMI: never write it */
#define   ITCO_TCO1_TMR_HLT            (1u << 11)  /* TCO_TMR_HLT: 1 = the counter is halted */
#define   ITCO_TCO1_LOCK               (1u << 12)  /* TCO_LOCK: locks TCO_EN (in SMI_EN) only */
#define ITCO_TCO_TMR            0x12    /* 16 r/w  TCO Timer Initial Value */
#define   ITCO_TMR_MASK                0x03ffu     /* bits 9:0, in ticks */
#define   ITCO_TMR_MIN                 2           /* 0 and 1 are ignored by the hardware */

/* One tick is about 0.6 s (+-1 tick); the count runs down twice, the
 * first zero sets TIMEOUT (and an SMI if the firmware enabled TCO_EN), the
 * second resets the machine unless NO_REBOOT is set. */
#define ITCO_TICK_MS            600u
#define ITCO_EXPIRIES           2u

#endif
