/* uart16550.c: polled 16550 UART driver (TI PC16550D datasheet, SNLS378C) and the console on it. */
#include <errno.h>
#include <stdbool.h>

#include "kernel/kernel.h"
#include "arch/x86_64/io.h"
#include "drivers/uart16550.h"

/* Bound on the transmit wait: a stuck or absent UART must not hang the
 * console. At 115200 baud one byte takes ~87 us; each poll is one port read
 * (~1 us on real hardware), so this allows several byte times. */
#define UART_TX_SPINS 100000

/* Scratch register probe value: a missing device reads back 0xff. */
#define UART_SCR_PROBE 0x5a

int uart16550_init(struct uart16550 *u, uint16_t port, uint32_t baud)
{
	uint16_t divisor = (uint16_t)(UART_BASE_BAUD / (baud ? baud : UART_BASE_BAUD));

	u->port = port;
	u->present = false;

	/* The scratch register (sec 8.9) has no function besides holding a byte:
	 * use it to see whether a UART is there at all. */
	outb(port + UART_SCR, UART_SCR_PROBE);
	if (inb(port + UART_SCR) != UART_SCR_PROBE)
		return -ENODEV;

	/* Sec 8.6: interrupts off while we reprogram; we poll. */
	outb(port + UART_IER, 0);
	/* Sec 8.4 + 8.10: set DLAB to reach the divisor latches, write the
	 * divisor LSB/MSB, then clear DLAB with the frame format 8N1. */
	outb(port + UART_LCR, UART_LCR_DLAB);
	outb(port + UART_DLL, divisor & 0xff);
	outb(port + UART_DLM, divisor >> 8);
	outb(port + UART_LCR, UART_LCR_WLEN8 | UART_LCR_STOP1 | UART_LCR_NOPAR);
	/* Sec 8.3: enable and reset both FIFOs. */
	outb(port + UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX |
				      UART_FCR_CLEAR_TX | UART_FCR_TRIGGER_14);
	/* Sec 8.7: assert DTR and RTS so a terminal with flow control talks. */
	outb(port + UART_MCR, UART_MCR_DTR | UART_MCR_RTS);
	u->present = true;
	return 0;
}

void uart16550_putc(struct uart16550 *u, char c)
{
	if (!u->present)
		return;
	/* Sec 8.5: wait until THR is empty, then write the byte. */
	for (int i = 0; i < UART_TX_SPINS; i++) {
		if (inb(u->port + UART_LSR) & UART_LSR_THRE)
			break;
		cpu_relax();
	}
	outb(u->port + UART_THR, (uint8_t)c);
}

/* The console: the UART at CONFIG_UART_BASE (COM1 on PCs). */
static struct uart16550 uart16550_console;

static int uart16550_console_init(void *state)
{
	return uart16550_init(state, CONFIG_UART_BASE, CONFIG_UART_BAUD);
}

static void uart16550_console_putc(void *state, char c)
{
	uart16550_putc(state, c);
}

CONSOLE_DRIVER(uart16550_console_driver) = {
	.state = &uart16550_console,
	.init = uart16550_console_init,
	.putc = uart16550_console_putc,
};
