/* bootinfo_stubs.h: what kernel/bootinfo.c links against besides its parser, for host tests that
 * only call bootinfo_parse (test_runtime_bootinfo.c, test_runtime_pvh.c): reaching panic_at is a
 * failure (exit 2); console lines go to stdout. Include once per test program. */
#ifndef UNICYCLE_TEST_BOOTINFO_STUBS_H
#define UNICYCLE_TEST_BOOTINFO_STUBS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("unexpected panic at %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(2);
}

int console_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

#endif
