/* string.c: freestanding memory and string functions (runtime and bootloader). */
#include <stdint.h>
#include <string.h>

#ifdef __SANITIZE_ADDRESS__
#include "sanitize/kasan.h"
/* KASAN (runtime/sanitize/kasan.c) sees no access inside `rep movsb`/`stosb`:
 * check the ranges here, blaming the caller. */
#define STRING_CHECK(p, n, write)                                                 \
	kasan_check_range((p), (n), (write),                                      \
			  (uintptr_t)__builtin_extract_return_addr(__builtin_return_address(0)), \
			  __builtin_frame_address(0))
#else
#define STRING_CHECK(p, n, write) ((void)0)
#endif

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	STRING_CHECK(src, n, false);
	STRING_CHECK(dst, n, true);
	/* rep movsb is fast on every CPU with ERMSB (Ivy Bridge and later). */
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d == s || n == 0)
		return dst;
	STRING_CHECK(src, n, false);
	STRING_CHECK(dst, n, true);
	if (d < s || d >= s + n)
		return memcpy(dst, src, n);
	/* Overlapping with dst above src: copy backwards. */
	d += n - 1;
	s += n - 1;
	__asm__ volatile("std; rep movsb; cld"
			 : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	STRING_CHECK(dst, n, true);
	/* The bulk 8 bytes a store: QEMU's TCG emulates `rep stosb` a byte at a
	 * time (mem.c zeroes whole pages with this); the tail with stosb. */
	if (n >= 64) {
		uint64_t v = (uint64_t)(unsigned char)c * 0x0101010101010101ULL;
		size_t words = n / 8;

		__asm__ volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(v) : "memory");
		n %= 8;
	}
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;

	for (size_t i = 0; i < n; i++)
		if (p[i] == (unsigned char)c)
			return (void *)(p + i);
	return NULL;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (*a == '\0')
			return 0;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (*s == '\0')
			return NULL;
	}
}

char *strrchr(const char *s, int c)
{
	const char *last = NULL;

	for (;; s++) {
		if (*s == (char)c)
			last = s;
		if (*s == '\0')
			return (char *)last;
	}
}

char *strstr(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0)
		return (char *)haystack;
	for (; *haystack; haystack++)
		if (*haystack == *needle && strncmp(haystack, needle, n) == 0)
			return (char *)haystack;
	return NULL;
}
