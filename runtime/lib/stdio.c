/* stdio.c: <stdio.h> over the printf formatter; printf, puts and putchar go to the console. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "kernel/kernel.h"
#include "lib/printf.h"

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return printf_vsnprintf(buf, size, fmt, ap);
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = printf_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int vsprintf(char *buf, const char *fmt, va_list ap)
{
	return printf_vsnprintf(buf, INT_MAX, fmt, ap);
}

int sprintf(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = printf_vsnprintf(buf, INT_MAX, fmt, ap);
	va_end(ap);
	return n;
}

int vprintf(const char *fmt, va_list ap)
{
	return uc_vprintf(fmt, ap);
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = uc_vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int puts(const char *s)
{
	size_t n = strlen(s);

	console_write(s, n);
	console_write("\n", 1);
	return (int)n + 1;
}

int putchar(int c)
{
	char ch = (char)c;

	console_write(&ch, 1);
	return (unsigned char)ch;
}
