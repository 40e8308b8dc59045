/* test_runtime_printf.c: host unit test of the runtime's printf formatter against expected strings and the host libc. */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/printf.h"

static int passed, failed;

/* Checks printf_snprintf against a literal expectation. */
#define EXPECT(want, ...) expect_str(__LINE__, want, __VA_ARGS__)
/* Checks printf_snprintf against the host's snprintf for the same call. */
#define SAME(...) expect_same(__LINE__, __VA_ARGS__)

/* No format attribute: the odd formats below are deliberate. */
static void expect_str(int line, const char *want, const char *fmt, ...)
{
	char got[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = printf_vsnprintf(got, sizeof(got), fmt, ap);
	va_end(ap);
	if (strcmp(got, want) != 0 || n != (int)strlen(want)) {
		printf("FAIL line %d: fmt \"%s\": got \"%s\" (%d), want \"%s\" (%zu)\n",
		       line, fmt, got, n, want, strlen(want));
		failed++;
	} else {
		passed++;
	}
}

__attribute__((format(printf, 2, 3)))
static void expect_same(int line, const char *fmt, ...)
{
	char got[256], want[256];
	va_list ap, ap2;
	int n, m;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = printf_vsnprintf(got, sizeof(got), fmt, ap);
	m = vsnprintf(want, sizeof(want), fmt, ap2);
	va_end(ap2);
	va_end(ap);
	if (strcmp(got, want) != 0 || n != m) {
		printf("FAIL line %d: fmt \"%s\": got \"%s\" (%d), libc \"%s\" (%d)\n",
		       line, fmt, got, n, want, m);
		failed++;
	} else {
		passed++;
	}
}

static void test_truncation(void)
{
	char buf[8];
	int n;

	memset(buf, 'X', sizeof(buf));
	n = printf_snprintf(buf, sizeof(buf), "%s", "hello world");
	if (n != 11 || strcmp(buf, "hello w") != 0) {
		printf("FAIL truncation: %d \"%s\"\n", n, buf);
		failed++;
	} else {
		passed++;
	}
	/* size 0: nothing written, length still returned. */
	memset(buf, 'X', sizeof(buf));
	n = printf_snprintf(buf, 0, "%d", 12345);
	if (n != 5 || buf[0] != 'X') {
		printf("FAIL size 0: %d\n", n);
		failed++;
	} else {
		passed++;
	}
	n = printf_snprintf(buf, 1, "abc");
	if (n != 3 || buf[0] != '\0') {
		printf("FAIL size 1: %d\n", n);
		failed++;
	} else {
		passed++;
	}
}

struct count_ctx {
	size_t bytes, calls;
};

static void count_sink(void *ctx, const char *s, size_t len)
{
	struct count_ctx *c = ctx;

	(void)s;
	c->bytes += len;
	c->calls++;
}

static int count_format(struct count_ctx *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = printf_vformat(count_sink, c, fmt, ap);
	va_end(ap);
	return n;
}

static void test_sink(void)
{
	struct count_ctx c = { 0, 0 };
	int n = count_format(&c, "%300s|", "x");

	if (n != 301 || c.bytes != 301) {
		printf("FAIL sink: n=%d bytes=%zu\n", n, c.bytes);
		failed++;
	} else {
		passed++;
	}
}

int main(void)
{
	int x = 0;

	EXPECT("plain", "plain");
	EXPECT("100%", "100%%");
	EXPECT("42 -42 0", "%d %i %d", 42, -42, 0);
	EXPECT("4294967295", "%u", 4294967295u);
	EXPECT("ff FF", "%x %X", 255, 255);
	EXPECT("0x1000", "%p", (void *)0x1000);
	EXPECT("(null)", "%s", (char *)NULL);
	EXPECT("a", "%c", 'a');
	EXPECT("ab", "%.*s", 2, "abcdef");
	EXPECT("[  abc]", "[%5s]", "abc");
	EXPECT("[abc  ]", "[%-5s]", "abc");
	EXPECT("[00042]", "[%05d]", 42);
	EXPECT("[-0042]", "[%05d]", -42);
	EXPECT("[42   ]", "[%-5d]", 42);
	EXPECT("%y", "%y");
	SAME("%d %d", INT_MAX, INT_MIN);
	SAME("%ld %ld", LONG_MAX, LONG_MIN);
	SAME("%lu %lx %lX", ULONG_MAX, ULONG_MAX, 0xdeadbeefUL);
	SAME("%llu %llx %lld", ULLONG_MAX, 0x123456789abcdefULL, LLONG_MIN);
	SAME("%zu %zd %zx", (size_t)123456, (ssize_t)-5, (size_t)0xabc);
	SAME("%hhu %hhd %hu %hd", 300, 200, 70000, 40000);
	SAME("%jd %td", (intmax_t)-9, (ptrdiff_t)-77);
	SAME("[%8x] [%-8x] [%08x] [%#x] [%#08x] [%#X]", 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f);
	SAME("[%o] [%#o] [%#o]", 8, 8, 0);
	SAME("[%+d] [% d] [%+d] [% 5d] [%+05d]", 5, 5, -5, 5, 5);
	SAME("[%.3d] [%.0d] [%5.3d] [%-6.2d]", 7, 0, 7, 7);
	EXPECT("[  007]", "[%05.3d]", 7); /* C11: 0 ignored with a precision */
	SAME("[%.0x] [%#.0x]", 0, 0);
	SAME("[%*d] [%-*d] [%*d]", 6, 12, 6, 12, -6, 12);
	SAME("[%.*s] [%.*s] [%10.2s]", 3, "abcdef", -1, "abc", "xyz");
	SAME("[%5c] [%-5c]", 'q', 'q');
	SAME("[%20p] [%-20p]", (void *)&x, (void *)&x);
	SAME("%s=%d, %s=%#lx", "a", 1, "b", 0x10UL);
	SAME("[%-10s|%10s]", "", "");
	test_truncation();
	test_sink();

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
