/* i8254.h: the PC's 8254 programmable interval timer and port 61h, as used for TSC calibration and the watchdog's NMI. */
#ifndef UNICYCLE_DRIVERS_I8254_H
#define UNICYCLE_DRIVERS_I8254_H

/* Intel 82C54 CHMOS Programmable Interval Timer datasheet (231244),
 * "Control Word Format", "Mode 0: Interrupt on Terminal Count" and "Mode 2:
 * Rate Generator" (the watchdog's NMI source, kernel/watchdog.c). */
#define I8254_HZ          1193182 /* input clock: 14.31818 MHz / 12 */
#define I8254_CH0_DATA    0x40    /* 8-bit r/w: counter 0 */
#define I8254_CH2_DATA    0x42    /* 8-bit r/w: counter 2 */
#define I8254_CONTROL     0x43    /* 8-bit w:   control word */

/* Control word bits */
#define I8254_SEL_CH0     (0u << 6) /* SC1:SC0 = counter 0 */
#define I8254_SEL_CH2     (2u << 6) /* SC1:SC0 = counter 2 */
#define I8254_RW_LATCH    (0u << 4) /* RW1:RW0 = 0: counter latch command */
#define I8254_RW_LSB_MSB  (3u << 4) /* RW1:RW0 = low byte then high byte */
#define I8254_MODE0       (0u << 1) /* M2:M0 = interrupt on terminal count */
#define I8254_MODE2       (2u << 1) /* M2:M0 = rate generator: OUT pulses low once per count */
#define I8254_BINARY      0u        /* BCD = 0 */

/* NMI Status and Control register, I/O 61h (Intel 100 Series PCH datasheet
 * vol. 2, "NMI_STS_CNT"; the PC/AT "port B"). 8-bit r/w. */
#define PORT61            0x61
#define PORT61_TIM2_GATE  (1u << 0) /* counter 2 gate input */
#define PORT61_SPKR_EN    (1u << 1) /* counter 2 output to the speaker */
#define PORT61_TIM2_OUT   (1u << 5) /* counter 2 output, read only */

#endif
