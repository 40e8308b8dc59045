/* printf.c: the printf formatter (integers, strings, pointers; no floating point). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "lib/printf.h"

/* Room for the longest conversion: 64 bits in octal is 22 digits. */
#define PRINTF_NUMBUF 24

enum printf_len { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE,
		  LEN_INTMAX, LEN_PTRDIFF };

struct printf_spec {
	bool left;      /* '-' */
	bool zero;      /* '0' */
	bool plus;      /* '+' */
	bool space;     /* ' ' */
	bool alt;       /* '#' */
	int width;      /* -1: none */
	int precision;  /* -1: none */
	enum printf_len len;
};

struct printf_out {
	printf_sink sink;
	void *ctx;
	int count;
};

static void printf_emit(struct printf_out *o, const char *s, size_t n)
{
	if (n == 0)
		return;
	o->sink(o->ctx, s, n);
	o->count += (int)n;
}

static void printf_pad(struct printf_out *o, char c, int n)
{
	char chunk[16];

	if (n <= 0)
		return;
	memset(chunk, c, sizeof(chunk));
	while (n > 0) {
		int k = n < (int)sizeof(chunk) ? n : (int)sizeof(chunk);
		printf_emit(o, chunk, (size_t)k);
		n -= k;
	}
}

/* Writes `body` (len bytes) padded to the field width. */
static void printf_field(struct printf_out *o, const struct printf_spec *sp,
			 const char *body, int len)
{
	int pad = sp->width > len ? sp->width - len : 0;

	if (!sp->left)
		printf_pad(o, ' ', pad);
	printf_emit(o, body, (size_t)len);
	if (sp->left)
		printf_pad(o, ' ', pad);
}

static void printf_number(struct printf_out *o, const struct printf_spec *sp,
			  uint64_t v, bool negative, unsigned base, bool upper,
			  const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[PRINTF_NUMBUF];
	char sign[2] = { 0, 0 };
	int nd = 0, nsign = 0, nprefix = prefix ? (int)strlen(prefix) : 0;
	int zeros = 0, total;

	/* C11 7.21.6.1p8: precision 0 with value 0 prints no digits. */
	if (!(v == 0 && sp->precision == 0)) {
		do {
			buf[sizeof(buf) - 1 - nd++] = digits[v % base];
			v /= base;
		} while (v);
	}
	if (negative)
		sign[nsign++] = '-';
	else if (sp->plus)
		sign[nsign++] = '+';
	else if (sp->space)
		sign[nsign++] = ' ';

	if (sp->precision > nd)
		zeros = sp->precision - nd;
	total = nsign + nprefix + zeros + nd;
	/* '0' pads with zeros after sign/prefix; ignored with '-' or a precision. */
	if (sp->zero && !sp->left && sp->precision < 0 && sp->width > total) {
		zeros += sp->width - total;
		total = sp->width;
	}

	if (!sp->left)
		printf_pad(o, ' ', sp->width - total);
	printf_emit(o, sign, (size_t)nsign);
	printf_emit(o, prefix ? prefix : "", (size_t)nprefix);
	printf_pad(o, '0', zeros);
	printf_emit(o, buf + sizeof(buf) - nd, (size_t)nd);
	if (sp->left)
		printf_pad(o, ' ', sp->width - total);
}

static uint64_t printf_arg_unsigned(enum printf_len len, va_list *ap)
{
	switch (len) {
	case LEN_CHAR: return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_SHORT: return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_LONG: return va_arg(*ap, unsigned long);
	case LEN_LLONG: return va_arg(*ap, unsigned long long);
	case LEN_SIZE: return va_arg(*ap, size_t);
	case LEN_INTMAX: return va_arg(*ap, uintmax_t);
	case LEN_PTRDIFF: return (uint64_t)va_arg(*ap, ptrdiff_t);
	case LEN_INT: break;
	}
	return va_arg(*ap, unsigned int);
}

static int64_t printf_arg_signed(enum printf_len len, va_list *ap)
{
	switch (len) {
	case LEN_CHAR: return (signed char)va_arg(*ap, int);
	case LEN_SHORT: return (short)va_arg(*ap, int);
	case LEN_LONG: return va_arg(*ap, long);
	case LEN_LLONG: return va_arg(*ap, long long);
	case LEN_SIZE: return (int64_t)va_arg(*ap, size_t); /* %zd: ssize_t */
	case LEN_INTMAX: return va_arg(*ap, intmax_t);
	case LEN_PTRDIFF: return va_arg(*ap, ptrdiff_t);
	case LEN_INT: break;
	}
	return va_arg(*ap, int);
}

/* Parses a decimal number at *p; saturates instead of overflowing. */
static int printf_atoi(const char **p)
{
	int v = 0;

	while (**p >= '0' && **p <= '9') {
		if (v < 100000000)
			v = v * 10 + (**p - '0');
		(*p)++;
	}
	return v;
}

int printf_vformat(printf_sink sink, void *ctx, const char *fmt, va_list ap_in)
{
	struct printf_out o = { .sink = sink, .ctx = ctx, .count = 0 };
	va_list ap;

	/* Work on a copy so helpers can take &ap portably. */
	va_copy(ap, ap_in);
	while (*fmt) {
		const char *start = fmt;
		struct printf_spec sp = { .width = -1, .precision = -1, .len = LEN_INT };

		while (*fmt && *fmt != '%')
			fmt++;
		printf_emit(&o, start, (size_t)(fmt - start));
		if (!*fmt)
			break;
		start = fmt++; /* at '%' */

		for (;; fmt++) {
			if (*fmt == '-') sp.left = true;
			else if (*fmt == '0') sp.zero = true;
			else if (*fmt == '+') sp.plus = true;
			else if (*fmt == ' ') sp.space = true;
			else if (*fmt == '#') sp.alt = true;
			else break;
		}
		if (*fmt == '*') {
			sp.width = va_arg(ap, int);
			if (sp.width < 0) { /* C11 7.21.6.1p5: negative = '-' flag */
				sp.left = true;
				sp.width = sp.width == INT32_MIN ? INT32_MAX : -sp.width;
			}
			fmt++;
		} else if (*fmt >= '0' && *fmt <= '9') {
			sp.width = printf_atoi(&fmt);
		}
		if (*fmt == '.') {
			fmt++;
			if (*fmt == '*') {
				sp.precision = va_arg(ap, int);
				if (sp.precision < 0)
					sp.precision = -1; /* as if omitted */
				fmt++;
			} else {
				sp.precision = printf_atoi(&fmt);
			}
		}
		switch (*fmt) {
		case 'h':
			sp.len = LEN_SHORT;
			if (*++fmt == 'h') { sp.len = LEN_CHAR; fmt++; }
			break;
		case 'l':
			sp.len = LEN_LONG;
			if (*++fmt == 'l') { sp.len = LEN_LLONG; fmt++; }
			break;
		case 'z': sp.len = LEN_SIZE; fmt++; break;
		case 'j': sp.len = LEN_INTMAX; fmt++; break;
		case 't': sp.len = LEN_PTRDIFF; fmt++; break;
		default: break;
		}

		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = printf_arg_signed(sp.len, &ap);
			uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			printf_number(&o, &sp, mag, v < 0, 10, false, NULL);
			break;
		}
		case 'u':
			printf_number(&o, &sp, printf_arg_unsigned(sp.len, &ap), false,
				      10, false, NULL);
			break;
		case 'o': {
			uint64_t v = printf_arg_unsigned(sp.len, &ap);
			printf_number(&o, &sp, v, false, 8, false,
				      sp.alt && v ? "0" : NULL);
			break;
		}
		case 'x':
		case 'X': {
			bool upper = *fmt == 'X';
			uint64_t v = printf_arg_unsigned(sp.len, &ap);
			printf_number(&o, &sp, v, false, 16, upper,
				      sp.alt && v ? (upper ? "0X" : "0x") : NULL);
			break;
		}
		case 'p': {
			uintptr_t v = (uintptr_t)va_arg(ap, void *);
			sp.plus = sp.space = false;
			printf_number(&o, &sp, v, false, 16, false, "0x");
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			printf_field(&o, &sp, &c, 1);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			size_t n;

			if (!s)
				s = "(null)";
			n = sp.precision >= 0 ? strnlen(s, (size_t)sp.precision)
					      : strlen(s);
			printf_field(&o, &sp, s, (int)n);
			break;
		}
		case '%':
			printf_emit(&o, "%", 1);
			break;
		case '\0':
			/* A lone '%' at the end: print it. */
			printf_emit(&o, start, (size_t)(fmt - start));
			continue;
		default:
			/* Unknown conversion: show it rather than guess. */
			printf_emit(&o, start, (size_t)(fmt + 1 - start));
			break;
		}
		fmt++;
	}
	va_end(ap);
	return o.count;
}

struct printf_buf {
	char *buf;
	size_t size; /* capacity including the NUL */
	size_t used; /* bytes stored, excluding the NUL */
};

static void printf_buf_sink(void *ctx, const char *s, size_t len)
{
	struct printf_buf *b = ctx;
	size_t room;

	if (b->size == 0)
		return;
	room = b->size - 1 - b->used;
	if (len > room)
		len = room;
	memcpy(b->buf + b->used, s, len);
	b->used += len;
}

int printf_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct printf_buf b = { .buf = buf, .size = size, .used = 0 };
	int n = printf_vformat(printf_buf_sink, &b, fmt, ap);

	if (size > 0)
		buf[b.used] = '\0';
	return n;
}

int printf_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = printf_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
