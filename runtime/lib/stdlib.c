/* stdlib.c: number parsing and process-ending parts of <stdlib.h> (malloc & co. live in kernel/mem.c). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>

#include "kernel/kernel.h"

int errno;

/*
 * C11 7.22.1.4: optional space, sign, "0x"/"0X" for base 16 or 0, leading
 * '0' means octal for base 0. On overflow the result saturates and errno is
 * ERANGE. Returns the magnitude; *neg tells the sign.
 */
static unsigned long long stdlib_parse(const char *s, char **end, int base,
				       bool *neg, unsigned long long limit_pos,
				       unsigned long long limit_neg)
{
	const char *p = s;
	unsigned long long v = 0;
	bool any = false, overflow = false;

	*neg = false;
	if (base < 0 || base == 1 || base > 36) {
		errno = EINVAL;
		if (end)
			*end = (char *)s;
		return 0;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '+' || *p == '-')
		*neg = *p++ == '-';
	if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
	    isxdigit((unsigned char)p[2])) {
		p += 2;
		base = 16;
	} else if (base == 0) {
		base = p[0] == '0' ? 8 : 10;
	}
	for (;; p++) {
		int d;
		unsigned long long limit = *neg ? limit_neg : limit_pos;

		if (isdigit((unsigned char)*p))
			d = *p - '0';
		else if (isalpha((unsigned char)*p))
			d = tolower((unsigned char)*p) - 'a' + 10;
		else
			break;
		if (d >= base)
			break;
		any = true;
		if (v > (limit - (unsigned)d) / (unsigned)base)
			overflow = true;
		else
			v = v * (unsigned)base + (unsigned)d;
	}
	if (end)
		*end = (char *)(any ? p : s);
	if (overflow) {
		errno = ERANGE;
		return *neg ? limit_neg : limit_pos;
	}
	return v;
}

long long strtoll(const char *s, char **end, int base)
{
	bool neg;
	unsigned long long v = stdlib_parse(s, end, base, &neg, LLONG_MAX,
					    (unsigned long long)LLONG_MAX + 1);

	return neg ? (long long)(0 - v) : (long long)v;
}

long strtol(const char *s, char **end, int base)
{
	return (long)strtoll(s, end, base); /* long is 64-bit on x86_64 */
}

unsigned long long strtoull(const char *s, char **end, int base)
{
	bool neg;
	unsigned long long v = stdlib_parse(s, end, base, &neg, ULLONG_MAX, ULLONG_MAX);

	/* C11: a '-' negates the converted value in the unsigned type. */
	return neg ? 0 - v : v;
}

unsigned long strtoul(const char *s, char **end, int base)
{
	return strtoull(s, end, base);
}

int atoi(const char *s)
{
	return (int)strtol(s, NULL, 10);
}

int abs(int x)
{
	return x < 0 ? -x : x;
}

long labs(long x)
{
	return x < 0 ? -x : x;
}

void exit(int status)
{
	uc_exit(status);
}

void abort(void)
{
	panic("abort() called from %p", __builtin_return_address(0));
}
