/* console_log.h: console_printf for host unit tests whose code under test reports through the console: the text collects in log_buf (clear it with log_buf[0] = 0), logged() looks for a line in it. Include once per test program. */
#ifndef UNICYCLE_TEST_CONSOLE_LOG_H
#define UNICYCLE_TEST_CONSOLE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static char log_buf[8192];

int console_printf(const char *fmt, ...)
{
	size_t used = strlen(log_buf);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(log_buf + used, sizeof(log_buf) - used, fmt, ap);
	va_end(ap);
	return n;
}

static inline bool logged(const char *s)
{
	return strstr(log_buf, s) != NULL;
}

#endif
