/* pci_regs.h: PCI configuration access (ECAM, mechanism #1 ports) and configuration-space registers (PCI Local Bus 3.0, PCIe Base). */
#ifndef UNICYCLE_DRIVERS_PCI_REGS_H
#define UNICYCLE_DRIVERS_PCI_REGS_H

/* Configuration mechanism #1, sec 3.2.2.3.2: CONFIG_ADDRESS / CONFIG_DATA. */
#define PCI_CONFIG_ADDRESS 0xcf8 /* 32-bit r/w */
#define PCI_CONFIG_DATA    0xcfc /* 8/16/32-bit r/w at 0xcfc + (offset & 3) */
#define PCI_ADDR_ENABLE    (1u << 31)
#define PCI_ADDR_BUS_SHIFT 16
#define PCI_ADDR_DEV_SHIFT 11
#define PCI_ADDR_FN_SHIFT  8
#define PCI_ADDR_REG_MASK  0xfc

/* ECAM, PCIe Base spec sec 7.2.2 Table 7-1: one 4 KiB page of
 * configuration space per function at base + (bus << 20 | dev << 15 |
 * fn << 12 | offset); the MCFG gives base (the address of bus 0 even when
 * the window starts at a later bus) per segment (PCI Firmware 3.2 sec 4.1.2). */
#define PCI_ECAM_BUS_SHIFT 20
#define PCI_ECAM_DEV_SHIFT 15
#define PCI_ECAM_FN_SHIFT  12
#define PCI_ECAM_BUS_SIZE  (1u << PCI_ECAM_BUS_SHIFT) /* 1 MiB per bus */

#define PCI_CFG_SIZE       0x100  /* conventional configuration space */
#define PCIE_CFG_SIZE      0x1000 /* with the extended space (ECAM only) */

#define PCI_MAX_BUS   256
#define PCI_MAX_SLOT  32
#define PCI_MAX_FUNC  8

/* Type 0/1 common header, sec 6.1 Figure 6-1 */
#define PCI_VENDOR_ID      0x00 /* 16-bit r */
#define PCI_DEVICE_ID      0x02 /* 16-bit r */
#define PCI_COMMAND        0x04 /* 16-bit r/w */
#define PCI_STATUS         0x06 /* 16-bit r/w1c */
#define PCI_REVISION_ID    0x08 /* 8-bit r */
#define PCI_PROG_IF        0x09 /* 8-bit r */
#define PCI_SUBCLASS       0x0a /* 8-bit r */
#define PCI_CLASS          0x0b /* 8-bit r */
#define PCI_HEADER_TYPE    0x0e /* 8-bit r */
#define PCI_BAR0           0x10 /* 32-bit r/w, six of them (type 0) */
#define PCI_CAP_PTR        0x34 /* 8-bit r (type 0 and 1) */
#define PCI_INTERRUPT_LINE 0x3c /* 8-bit r/w */

/* Type 1 (PCI-to-PCI bridge) header, PCI-to-PCI Bridge Arch. 1.2 sec 3.2 */
#define PCI_PRIMARY_BUS     0x18 /* 8-bit r/w */
#define PCI_SECONDARY_BUS   0x19 /* 8-bit r/w: the bus right behind the bridge */
#define PCI_SUBORDINATE_BUS 0x1a /* 8-bit r/w: the highest bus behind it */

#define PCI_VENDOR_NONE    0xffff /* no function at this address */

/* Command register bits, sec 6.2.2 */
#define PCI_COMMAND_IO          (1u << 0)
#define PCI_COMMAND_MEMORY      (1u << 1)
#define PCI_COMMAND_MASTER      (1u << 2)
#define PCI_COMMAND_INTX_DISABLE (1u << 10)

/* Status register bits, sec 6.2.3 */
#define PCI_STATUS_CAP_LIST (1u << 4)

/* Header type register, sec 6.2.1 */
#define PCI_HEADER_MULTIFUNC 0x80
#define PCI_HEADER_LAYOUT    0x7f
#define PCI_HEADER_NORMAL    0x00 /* 6 BARs */
#define PCI_HEADER_BRIDGE    0x01 /* 2 BARs */

#define PCI_BARS_NORMAL 6
#define PCI_BARS_BRIDGE 2

/* Base address register bits, sec 6.2.5.1 */
#define PCI_BAR_IO          (1u << 0)
#define PCI_BAR_IO_MASK     0xfffffffcu
#define PCI_BAR_MEM_TYPE    (3u << 1)
#define PCI_BAR_MEM_TYPE_64 (2u << 1)
#define PCI_BAR_MEM_PREFETCH (1u << 3)
#define PCI_BAR_MEM_MASK    0xfffffff0u

/* Capability list, sec 6.7: entries are (id 8-bit, next 8-bit, ...). */
#define PCI_CAP_ID      0
#define PCI_CAP_NEXT    1
#define PCI_CAP_PTR_MASK 0xfc
#define PCI_CAP_MAX     48 /* (256 - 64) / 4: more links means a loop */

/* MSI capability, PCI Local Bus 3.0 sec 6.8.1 (offsets from the capability) */
#define PCI_CAP_ID_MSI       0x05
#define PCI_MSI_CTRL         0x02 /* 16-bit r/w message control */
#define   PCI_MSI_CTRL_ENABLE  (1u << 0)
#define   PCI_MSI_CTRL_MME     (7u << 4) /* multiple message enable: 0 = one */
#define   PCI_MSI_CTRL_64BIT   (1u << 7)
#define PCI_MSI_ADDR_LO      0x04 /* 32-bit r/w */
#define PCI_MSI_ADDR_HI      0x08 /* 32-bit r/w, 64-bit capable only */
#define PCI_MSI_DATA_32      0x08 /* 16-bit r/w */
#define PCI_MSI_DATA_64      0x0c /* 16-bit r/w */

/* MSI-X capability, PCI Local Bus 3.0 sec 6.8.2 */
#define PCI_CAP_ID_MSIX      0x11
#define PCI_MSIX_CTRL        0x02 /* 16-bit r/w message control */
#define   PCI_MSIX_CTRL_SIZE   0x07ffu   /* table size - 1 */
#define   PCI_MSIX_CTRL_MASK   (1u << 14) /* function mask */
#define   PCI_MSIX_CTRL_ENABLE (1u << 15)
#define PCI_MSIX_TABLE       0x04 /* 32-bit r: BIR in bits 2:0, offset in 31:3 */
#define   PCI_MSIX_BIR_MASK    0x7u
#define PCI_MSIX_ENTRY_SIZE  16   /* table entry, sec 6.8.2.6 */
#define PCI_MSIX_ENTRY_ADDR_LO 0x0 /* 32-bit r/w */
#define PCI_MSIX_ENTRY_ADDR_HI 0x4 /* 32-bit r/w */
#define PCI_MSIX_ENTRY_DATA    0x8 /* 32-bit r/w */
#define PCI_MSIX_ENTRY_CTRL    0xc /* 32-bit r/w */
#define   PCI_MSIX_ENTRY_MASKED (1u << 0)

#endif
