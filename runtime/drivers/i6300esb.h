/* i6300esb.h: Intel 6300ESB watchdog timer registers (D29:F4; QEMU's i6300esb, PCI 8086:25ab). */
#ifndef UNICYCLE_DRIVERS_I6300ESB_H
#define UNICYCLE_DRIVERS_I6300ESB_H

/*
 * Source: Intel 6300ESB I/O Controller Hub datasheet, order no. 300641-004US,
 * chapter 16 "Watchdog Timer": 16.2 for the two stages and the register
 * unlocking sequence, then the register descriptions named below: two
 * registers in configuration space, four in the memory BAR.
 */

#define I6300ESB_VENDOR         0x8086
#define I6300ESB_DEVICE         0x25ab
#define I6300ESB_BAR            0       /* memory, 16 bytes */
#define I6300ESB_BAR_MIN_BYTES  0x10

/* ---- Configuration space ---- */
#define I6300ESB_CFG_WDTCONFIG  0x60    /* 16 r/w  WDT Configuration Register */
#define   I6300ESB_CONFIG_INT_MASK     0x0003u     /* bits 1:0 WDT_INT_TYPE: stage-1 interrupt */
#define   I6300ESB_CONFIG_INT_IRQ      0x0000u     /*   00: IRQ (APIC 1, INT 10) */
#define   I6300ESB_CONFIG_INT_SMI      0x0002u     /*   10: SMI (01: reserved) */
#define   I6300ESB_CONFIG_INT_NONE     0x0003u     /*   11: disabled */
#define   I6300ESB_CONFIG_PRE_1MHZ     (1u << 2)   /* WDT_PRE_SEL: 1 = preload in counter bits 24:5,
						    * 0 = bits 34:15 (the ~1 kHz scale) */
#define   I6300ESB_CONFIG_OUT_DISABLE  (1u << 5)   /* WDT_OUTPUT_EN, active low: 0 = WDT_TOUT#
						    * (the reset) driven, 1 = not */
#define I6300ESB_CFG_WDTLR      0x68    /* 8 r/w   WDT Lock Register */
#define   I6300ESB_LOCK_LOCK           (1u << 0)   /* WDT_LOCK: this register read-only until reset */
#define   I6300ESB_LOCK_ENABLE         (1u << 1)   /* WDT_ENABLE: the counter runs */
#define   I6300ESB_LOCK_FREE_RUN       (1u << 2)   /* WDT_TOUT_CNF: 1 = free-running, 0 = two-stage
						    * watchdog mode */

/* ---- Memory BAR ---- */
#define I6300ESB_PRELOAD1       0x00    /* 32 w    Preload Value 1 (bits 19:0): the first stage */
#define I6300ESB_PRELOAD2       0x04    /* 32 w    Preload Value 2 (bits 19:0): the second stage */
#define   I6300ESB_PRELOAD_MAX         0xfffffu
#define I6300ESB_GINTSR         0x08    /* 32 r    General Interrupt Status (bit 0 WDT_INTR_ACT:
					 * stage-1 interrupt); unused, the interrupt is off */
#define I6300ESB_RELOAD         0x0c    /* 16 r/w  Reload Register; also takes the unlock writes */
#define   I6300ESB_RELOAD_RELOAD       (1u << 8)   /* WDT_RELOAD: 1 = back to the first stage */
#define   I6300ESB_RELOAD_TIMEOUT      (1u << 9)   /* WDT_TIMEOUT: the second stage ran out (the
						    * last reset was ours); write 1 to clear */
#define   I6300ESB_UNLOCK1             0x80        /* write 1 of the unlocking sequence (byte) */
#define   I6300ESB_UNLOCK2             0x86        /* write 2; opens one write to 00h, 04h or 0Ch */

/* Counter clock: the 33 MHz PCI clock; at the 1 kHz scale a preload unit
 * is 2^15 clocks (bits 34:15), 0.993 ms. */
#define I6300ESB_CLOCK_HZ       33000000ull
#define I6300ESB_SCALE_SHIFT    15

#endif
