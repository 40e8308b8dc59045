/* printf.h: the runtime's one printf formatter, writing through a sink. */
#ifndef UNICYCLE_LIB_PRINTF_H
#define UNICYCLE_LIB_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

/* Receives the formatted output in pieces; `len` bytes at `s`, not NUL-terminated. */
typedef void (*printf_sink)(void *ctx, const char *s, size_t len);

/*
 * Formats like C11 printf with: flags - 0 + space #; width and precision as
 * numbers or *; length hh h l ll z j t; conversions d i u o x X c s p %.
 * No floating point. %s of NULL prints "(null)"; %p prints 0x + hex.
 * An unknown conversion is copied out as is. Returns the number of bytes
 * produced.
 */
int printf_vformat(printf_sink sink, void *ctx, const char *fmt, va_list ap);

/* vsnprintf semantics: writes at most size-1 bytes plus a NUL (when
 * size > 0) and returns the length the whole output would have. */
int printf_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int printf_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
