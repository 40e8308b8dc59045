/* uart16550.h: 16550 UART registers (TI PC16550D datasheet, SNLS378C, sec 8 "Registers"). */
#ifndef UNICYCLE_DRIVERS_UART16550_H
#define UNICYCLE_DRIVERS_UART16550_H

#include <stdbool.h>
#include <stdint.h>

/* Register offsets from the I/O base, all 8-bit (datasheet Table 2). */
#define UART_RBR 0 /* 8-bit r:  receiver buffer (DLAB=0) */
#define UART_THR 0 /* 8-bit w:  transmitter holding (DLAB=0) */
#define UART_DLL 0 /* 8-bit rw: divisor latch LSB (DLAB=1) */
#define UART_IER 1 /* 8-bit rw: interrupt enable (DLAB=0) */
#define UART_DLM 1 /* 8-bit rw: divisor latch MSB (DLAB=1) */
#define UART_IIR 2 /* 8-bit r:  interrupt identification */
#define UART_FCR 2 /* 8-bit w:  FIFO control */
#define UART_LCR 3 /* 8-bit rw: line control */
#define UART_MCR 4 /* 8-bit rw: modem control */
#define UART_LSR 5 /* 8-bit r:  line status */
#define UART_MSR 6 /* 8-bit r:  modem status */
#define UART_SCR 7 /* 8-bit rw: scratch */

/* FCR bits (sec 8.3) */
#define UART_FCR_ENABLE     0x01 /* enable both FIFOs */
#define UART_FCR_CLEAR_RX   0x02 /* reset the receiver FIFO */
#define UART_FCR_CLEAR_TX   0x04 /* reset the transmitter FIFO */
#define UART_FCR_TRIGGER_14 0xc0 /* RX interrupt trigger level 14 bytes */

/* LCR bits (sec 8.4) */
#define UART_LCR_WLEN8 0x03 /* 8 data bits */
#define UART_LCR_STOP1 0x00 /* 1 stop bit */
#define UART_LCR_NOPAR 0x00 /* no parity */
#define UART_LCR_DLAB  0x80 /* divisor latch access */

/* MCR bits (sec 8.7) */
#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT2 0x08 /* gates the interrupt line on PCs */
#define UART_MCR_LOOP 0x10 /* local loopback */

/* LSR bits (sec 8.5) */
#define UART_LSR_DR   0x01 /* data ready */
#define UART_LSR_THRE 0x20 /* transmitter holding register empty */

/* The divisor latch divides the 1.8432 MHz reference clock by 16 x divisor
 * (sec 8.10, Table 9): divisor = 115200 / baud. */
#define UART_BASE_BAUD 115200

struct uart16550 {
	uint16_t port; /* I/O port base */
	bool present;  /* the scratch register test passed */
};

/* Programs 8N1 at `baud`, FIFOs on, interrupts off. Returns 0, or -ENODEV
 * when no UART answers at `port`. */
int uart16550_init(struct uart16550 *u, uint16_t port, uint32_t baud);
void uart16550_putc(struct uart16550 *u, char c);

#endif
