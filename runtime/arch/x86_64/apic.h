/* apic.h: local APIC, IOAPIC and 8259 register maps (Intel SDM Vol. 3A ch. 11, 82093AA datasheet, 8259A datasheet). */
#ifndef UNICYCLE_ARCH_APIC_H
#define UNICYCLE_ARCH_APIC_H

/* IA32_APIC_BASE MSR, SDM sec 11.4.4 Figure 11-5 */
#define MSR_APIC_BASE          0x1b
#define   APIC_BASE_BSP        (1ULL << 8)
#define   APIC_BASE_EXTD       (1ULL << 10) /* x2APIC mode, sec 11.12.1 */
#define   APIC_BASE_EN         (1ULL << 11)
#define   APIC_BASE_ADDR_MASK  0x000ffffffffff000ULL
#define MSR_TSC_DEADLINE       0x6e0        /* sec 11.5.4.1 */
#define MSR_X2APIC_BASE        0x800        /* register at xAPIC offset o is MSR 0x800 + o/16 */

/* Local APIC registers: xAPIC MMIO offsets, SDM sec 11.4.1 Table 11-1 (all 32-bit) */
#define LAPIC_ID        0x020 /* r; xAPIC: id in bits 31:24, x2APIC: full 32 bits */
#define LAPIC_VERSION   0x030 /* r */
#define LAPIC_TPR       0x080 /* r/w task priority */
#define LAPIC_EOI       0x0b0 /* w; write 0 */
#define LAPIC_SVR       0x0f0 /* r/w spurious interrupt vector, sec 11.9 */
#define   LAPIC_SVR_ENABLE     (1u << 8)
#define LAPIC_ESR       0x280 /* r/w error status */
#define LAPIC_ICR_LOW   0x300 /* r/w interrupt command, sec 11.6.1 (x2APIC: one 64-bit MSR) */
#define LAPIC_ICR_HIGH  0x310 /* r/w xAPIC only: destination in bits 31:24 */
#define   LAPIC_ICR_FIXED      (0u << 8)
#define   LAPIC_ICR_INIT       (5u << 8)
#define   LAPIC_ICR_STARTUP    (6u << 8)
#define   LAPIC_ICR_PENDING    (1u << 12) /* xAPIC delivery status */
#define   LAPIC_ICR_ASSERT     (1u << 14)
#define   LAPIC_ICR_LEVEL      (1u << 15)
#define LAPIC_LVT_TIMER 0x320 /* r/w, sec 11.5.1 Figure 11-8 */
#define   LAPIC_TIMER_ONESHOT  (0u << 17)
#define   LAPIC_TIMER_DEADLINE (2u << 17)
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define   LAPIC_LVT_MASKED     (1u << 16)
#define LAPIC_TIMER_INIT  0x380 /* r/w initial count */
#define LAPIC_TIMER_CUR   0x390 /* r current count */
#define LAPIC_TIMER_DIV   0x3e0 /* r/w divide configuration, Figure 11-10 */
#define   LAPIC_TIMER_DIV16    0x3
#define LAPIC_MMIO_SIZE   0x1000

/* IOAPIC, 82093AA datasheet sec 3.0: index/data window */
#define IOAPIC_REGSEL     0x00 /* 32-bit w */
#define IOAPIC_WIN        0x10 /* 32-bit r/w */
#define IOAPIC_REG_VER    0x01 /* bits 23:16: highest redirection entry */
#define IOAPIC_REG_REDTBL 0x10 /* entry n: 0x10 + 2n (low), 0x11 + 2n (high) */
#define   IOAPIC_RED_MASKED     (1u << 16)
#define   IOAPIC_RED_LEVEL      (1u << 15)
#define   IOAPIC_RED_ACTIVE_LOW (1u << 13)
#define   IOAPIC_RED_NMI        (4u << 8) /* delivery mode 100b: NMI (vector ignored, edge) */
#define   IOAPIC_RED_DEST_SHIFT 56      /* physical destination APIC id (high dword 31:24) */

/* 8259A PICs: ports and initialization words (8259A datasheet, "Initialization Command Words") */
#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xa0
#define PIC2_DATA 0xa1
#define PIC_ICW1_INIT_ICW4 0x11 /* edge, cascade, ICW4 follows */
#define PIC_ICW3_MASTER    0x04 /* slave on IR2 */
#define PIC_ICW3_SLAVE     0x02 /* cascade identity */
#define PIC_ICW4_8086      0x01
#define PIC_MASK_ALL       0xff

/* MSI address/data, SDM sec 11.11 Figures 11-24/11-25 */
#define MSI_ADDR_BASE       0xfee00000u
#define MSI_ADDR_DEST_SHIFT 12
#define MSI_DATA_EDGE_FIXED 0x0000

#endif
