/* console.c: the console: every runtime message goes out through the 16550 UART. */
#include "kernel/kernel.h"
#include "drivers/uart16550.h"
#include "lib/printf.h"

static struct uart16550 console_uart;

void console_init(void)
{
	/* No UART (some boards): output is dropped, the app still runs. */
	(void)uart16550_init(&console_uart, CONFIG_UART_BASE, CONFIG_UART_BAUD);
}

/* Terminals expect CR LF: add the CR here, once, for every writer. */
void console_write(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n')
			uart16550_putc(&console_uart, '\r');
		uart16550_putc(&console_uart, buf[i]);
	}
}

static void console_sink(void *ctx, const char *s, size_t len)
{
	(void)ctx;
	console_write(s, len);
}

int uc_vprintf(const char *fmt, va_list ap)
{
	return printf_vformat(console_sink, NULL, fmt, ap);
}

int uc_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = uc_vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int console_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = uc_vprintf(fmt, ap);
	va_end(ap);
	return n;
}
