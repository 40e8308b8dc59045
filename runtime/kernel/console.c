/* console.c: the console: every runtime message goes out through each console driver that answered (.console_drivers). */
#include "kernel/kernel.h"
#include "arch/x86_64/io.h"
#include "lib/printf.h"

#define CONSOLE_MAX 4 /* consoles written at once */

/* Linker-made bounds of the driver table (arch/x86_64/linker.ld). */
extern const struct console_driver *const __start_console_drivers[];
extern const struct console_driver *const __stop_console_drivers[];

static const struct console_driver *console_live[CONSOLE_MAX];
static unsigned console_nlive;

#ifdef CONFIG_SMP
/*
 * Whole messages, not interleaved characters, when CPUs print at once. The
 * lock is recursive per CPU: a CPU exception or panic while this CPU
 * prints must still get its report out.
 */
static volatile int console_owner = -1;
static unsigned console_depth;

static void console_lock(void)
{
	int me = (int)smp_cpu_id();
	int none = -1;

	if (__atomic_load_n(&console_owner, __ATOMIC_ACQUIRE) == me) {
		console_depth++;
		return;
	}
	while (!__atomic_compare_exchange_n(&console_owner, &none, me, false,
					    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		none = -1;
		cpu_relax();
	}
	console_depth = 1;
}

static void console_unlock(void)
{
	if (--console_depth == 0)
		__atomic_store_n(&console_owner, -1, __ATOMIC_RELEASE);
}
#else
static void console_lock(void)
{
}

static void console_unlock(void)
{
}
#endif

void console_init(void)
{
	/* A device that does not answer (no UART on some boards) is left out.
	 * Nothing is printed either way: this is the console. */
	for (const struct console_driver *const *p = __start_console_drivers;
	     p < __stop_console_drivers && console_nlive < CONSOLE_MAX; p++)
		if ((*p)->init((*p)->state) == 0)
			console_live[console_nlive++] = *p;
}

/* Terminals expect CR LF: add the CR here, once, for every writer. */
void console_write(const char *buf, size_t len)
{
	console_lock();
	for (unsigned d = 0; d < console_nlive; d++) {
		const struct console_driver *c = console_live[d];

		for (size_t i = 0; i < len; i++) {
			if (buf[i] == '\n')
				c->putc(c->state, '\r');
			c->putc(c->state, buf[i]);
		}
	}
	console_unlock();
}

static void console_sink(void *ctx, const char *s, size_t len)
{
	(void)ctx;
	console_write(s, len);
}

int uc_vprintf(const char *fmt, va_list ap)
{
	int n;

	console_lock();
	n = printf_vformat(console_sink, NULL, fmt, ap);
	console_unlock();
	return n;
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

/* The runtime's name for the same thing: one formatter, one lock. */
int console_printf(const char *fmt, ...) __attribute__((alias("uc_printf")));
