/* test_kv_resp.c: examples/kv's RESP2 parser (split at every byte, limits, malformed input) and reply writer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "resp.h"

#define MAX_CMDS 64
#define MAX_TEXT 8192

/* The commands a parse produced, flattened to "arg|arg|...;" text so that
 * two runs compare with one strcmp. */
struct seen {
	char text[MAX_TEXT];
	size_t len;
	int commands;
	enum resp_result last;
	const char *error;
};

static void seen_add(struct seen *s, const struct resp_parser *p)
{
	for (uint32_t i = 0; i < p->argc; i++) {
		memcpy(s->text + s->len, p->argv[i].ptr, p->argv[i].len);
		s->len += p->argv[i].len;
		s->text[s->len++] = i + 1 < p->argc ? '|' : ';';
	}
	s->text[s->len] = '\0';
	s->commands++;
}

/* Feeds `in` in pieces of the sizes in `cuts` (0-terminated; the rest in
 * one piece), each piece copied into its own buffer that is wiped after
 * use, as TCP segments are released: a parser that kept a pointer into
 * a piece would see garbage. */
static void feed(const struct resp_limits *lim, const char *in, size_t len, const size_t *cuts,
		 struct seen *s)
{
	struct resp_parser p;
	size_t pos = 0;

	memset(s, 0, sizeof(*s));
	CHECK(resp_parser_init(&p, lim) == 0);
	s->last = RESP_NEED_MORE;
	while (pos < len && s->last != RESP_ERROR) {
		size_t piece = (cuts && *cuts) ? *cuts++ : len - pos;
		char *buf;
		size_t off = 0;

		if (piece > len - pos)
			piece = len - pos;
		buf = malloc(piece);
		memcpy(buf, in + pos, piece);
		while (off < piece) {
			size_t used;

			s->last = resp_parse(&p, buf + off, piece - off, &used);
			CHECK(used <= piece - off);
			off += used;
			if (s->last == RESP_COMMAND) {
				seen_add(s, &p);
			} else if (s->last == RESP_ERROR) {
				s->error = p.error;
				break;
			} else {
				CHECK(off == piece);   /* NEED_MORE takes everything */
			}
		}
		memset(buf, 0xa5, piece);
		free(buf);
		pos += piece;
	}
	resp_parser_free(&p);
}

static struct resp_budget budget;
static const struct resp_limits limits = {
	.max_args = 16, .max_bulk = 64, .max_inline = 128, .max_command = 256, .budget = &budget,
};

static const char pipeline[] =
	"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n"   /* CRLF inside a bulk */
	"PING\r\n"
	"\r\n"                                               /* blank: skipped */
	"*0\r\n"                                             /* empty: skipped */
	"*-1\r\n"
	"set \"a b\" 'c\\'d' \"\\x41\\n\"\r\n"
	"  echo   x\n"                                       /* LF alone ends a line */
	"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
	"*1\r\n$4\r\nQUIT\r\n";

static const char pipeline_seen[] =
	"SET|key|va\r\nl;PING;set|a b|c'd|A\n;echo|x;ECHO|;QUIT;";

static void test_whole_and_every_split(void)
{
	size_t len = sizeof(pipeline) - 1;
	struct seen s;

	feed(&limits, pipeline, len, NULL, &s);
	CHECK(s.last != RESP_ERROR);
	CHECK(strcmp(s.text, pipeline_seen) == 0);
	CHECK(s.commands == 6);

	/* Two pieces, split at every byte. */
	for (size_t k = 1; k < len; k++) {
		size_t cuts[] = { k, 0 };

		feed(&limits, pipeline, len, cuts, &s);
		CHECK(strcmp(s.text, pipeline_seen) == 0);
		if (strcmp(s.text, pipeline_seen) != 0)
			fprintf(stderr, "  split at %zu: %s\n", k, s.text);
	}
	/* One byte at a time. */
	{
		size_t *ones = calloc(len + 1, sizeof(*ones));

		for (size_t i = 0; i < len; i++)
			ones[i] = 1;
		feed(&limits, pipeline, len, ones, &s);
		CHECK(strcmp(s.text, pipeline_seen) == 0);
		free(ones);
	}
	/* Pseudo-random pieces. */
	{
		uint32_t x = 12345;

		for (int round = 0; round < 200; round++) {
			size_t cuts[64], n = 0;

			for (size_t sum = 0; sum < len && n < 63; n++) {
				x = x * 1103515245u + 12345u;
				cuts[n] = 1 + (x >> 16) % 9;
				sum += cuts[n];
			}
			cuts[n] = 0;
			feed(&limits, pipeline, len, cuts, &s);
			CHECK(strcmp(s.text, pipeline_seen) == 0);
		}
	}
	CHECK(budget.used == 0);   /* every buffer went back */
}

/* A command whole inside one piece is not copied. */
static void test_zero_copy(void)
{
	static const char in[] = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
	struct resp_parser p;
	size_t used;

	CHECK(resp_parser_init(&p, &limits) == 0);
	CHECK(resp_parse(&p, in, sizeof(in) - 1, &used) == RESP_COMMAND);
	CHECK(used == sizeof(in) - 1);
	CHECK(p.argc == 2);
	CHECK(p.argv[0].ptr == in + 8 && p.argv[0].len == 3);
	CHECK(p.argv[1].ptr == in + 17 && p.argv[1].len == 3);
	CHECK(p.gather_cap == 0);
	resp_parser_free(&p);
}

/* Found by fuzz_kv: a bare "\n" (and empty pieces) before any buffer exists. */
static void test_empty_lines_first(void)
{
	static const char in[] = "\n\n\r\nPING\r\n";
	struct seen s;
	size_t cuts[] = { 1, 1, 2, 0 };

	feed(&limits, in, sizeof(in) - 1, NULL, &s);
	CHECK(s.commands == 1 && strcmp(s.text, "PING;") == 0);
	feed(&limits, in, sizeof(in) - 1, cuts, &s);
	CHECK(s.commands == 1 && strcmp(s.text, "PING;") == 0);
}

/* Feeds `in` whole and one byte at a time; both must fail with `msg`
 * after running the commands before the bad one (`before` of them). */
static void expect_error(const struct resp_limits *lim, const char *in, size_t len,
			 const char *msg, int before)
{
	struct seen whole, bytes;
	size_t *ones = calloc(len + 1, sizeof(*ones));

	for (size_t i = 0; i < len; i++)
		ones[i] = 1;
	feed(lim, in, len, NULL, &whole);
	feed(lim, in, len, ones, &bytes);
	free(ones);
	CHECK(whole.last == RESP_ERROR && bytes.last == RESP_ERROR);
	CHECK(whole.error && strcmp(whole.error, msg) == 0);
	CHECK(bytes.error && strcmp(bytes.error, msg) == 0);
	if (!whole.error || strcmp(whole.error, msg) != 0)
		fprintf(stderr, "  %.*s: got %s\n", (int)len, in, whole.error ? whole.error : "none");
	CHECK(whole.commands == before && bytes.commands == before);
}

#define EXPECT_ERROR(in, msg, before) expect_error(&limits, in, sizeof(in) - 1, msg, before)

static void test_malformed(void)
{
	EXPECT_ERROR("PING\r\n*abc\r\n", "ERR Protocol error: invalid multibulk length", 1);
	EXPECT_ERROR("*2\r\n$abc\r\n", "ERR Protocol error: invalid bulk length", 0);
	EXPECT_ERROR("*1\r\n+foo\r\n", "ERR Protocol error: expected '$', got '+'", 0);
	EXPECT_ERROR("*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length", 0);
	EXPECT_ERROR("*1\r\n$+4\r\nPING\r\n", "ERR Protocol error: invalid bulk length", 0);
	EXPECT_ERROR("*1\r\n$04\r\nPING\r\n", "ERR Protocol error: invalid bulk length", 0);
	EXPECT_ERROR("*01\r\n", "ERR Protocol error: invalid multibulk length", 0);
	EXPECT_ERROR("*1 \r\n", "ERR Protocol error: invalid multibulk length", 0);
	EXPECT_ERROR("*1\n", "ERR Protocol error: invalid multibulk length", 0);
	EXPECT_ERROR("*1\r\n$4\r\nPINGxx\r\n", "ERR Protocol error: expected CRLF after bulk string", 0);
	EXPECT_ERROR("*1\r\n$4\r\nPING\rx", "ERR Protocol error: expected CRLF after bulk string", 0);
	EXPECT_ERROR("set \"x\r\n", "ERR Protocol error: unbalanced quotes in request", 0);
	EXPECT_ERROR("set 'x\r\n", "ERR Protocol error: unbalanced quotes in request", 0);
	EXPECT_ERROR("set \"x\"y\r\n", "ERR Protocol error: unbalanced quotes in request", 0);
	/* A header line longer than any number: refused before its end. */
	EXPECT_ERROR("*11111111111111111111111111111111", "ERR Protocol error: invalid multibulk length", 0);
	EXPECT_ERROR("*1\r\n$1111111111111111111111111111111",
		     "ERR Protocol error: invalid bulk length", 0);
	/* 2^63 overflows */
	EXPECT_ERROR("*9223372036854775808\r\n", "ERR Protocol error: invalid multibulk length", 0);
}

static void test_limits(void)
{
	char big[512];
	int n;

	/* max_args = 16 */
	EXPECT_ERROR("*17\r\n", "ERR Protocol error: invalid multibulk length", 0);
	{
		struct seen s;
		static const char ok[] = "*16\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"
			"$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"
			"$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n";

		feed(&limits, ok, sizeof(ok) - 1, NULL, &s);
		CHECK(s.commands == 1 && s.last == RESP_COMMAND);
	}
	/* max_bulk = 64 */
	EXPECT_ERROR("*1\r\n$65\r\n", "ERR Protocol error: invalid bulk length", 0);
	/* max_command = 256: five 64-byte arguments */
	n = snprintf(big, sizeof(big), "*5\r\n");
	for (int i = 0; i < 5; i++)
		n += snprintf(big + n, sizeof(big) - n, "$64\r\n%064d\r\n", i);
	expect_error(&limits, big, (size_t)n, "ERR Protocol error: command too big", 0);
	/* max_inline = 128, with and without its newline arrived */
	memset(big, 'a', 200);
	expect_error(&limits, big, 200, "ERR Protocol error: too big inline request", 0);
	memcpy(big + 130, "\r\n", 2);
	expect_error(&limits, big, 132, "ERR Protocol error: too big inline request", 0);
	/* inline arguments beyond max_args */
	n = 0;
	for (int i = 0; i < 17; i++)
		n += snprintf(big + n, sizeof(big) - n, "a ");
	n += snprintf(big + n, sizeof(big) - n, "\r\n");
	expect_error(&limits, big, (size_t)n,
		     "ERR Protocol error: too many arguments in inline request", 0);
	CHECK(budget.used == 0);
}

/* A command that needs more than the client budget gets the memory error. */
static void test_budget(void)
{
	struct resp_budget tiny = { 0, 200 };   /* the argv and little more */
	struct resp_limits lim = limits;
	struct resp_parser p;
	size_t used;
	static const char in[] = "*2\r\n$3\r\nGET\r\n$60\r\n";

	lim.budget = &tiny;
	CHECK(resp_parser_init(&p, &lim) == 0);
	CHECK(tiny.used == 8 * sizeof(struct resp_arg));
	/* split: the second argument must be gathered, which the budget refuses */
	CHECK(resp_parse(&p, in, sizeof(in) - 1, &used) == RESP_ERROR);
	CHECK(strcmp(p.error, "ERR Protocol error: out of memory for the request") == 0);
	resp_parser_free(&p);
	CHECK(tiny.used == 0);
}

static void test_gather_trim(void)
{
	struct resp_limits lim = { 4, 64 * 1024, 128, 128 * 1024, &budget };
	struct resp_parser p;
	static char in[40 * 1024];
	size_t used, n;

	n = (size_t)snprintf(in, sizeof(in), "*2\r\n$3\r\nSET\r\n$%d\r\n", 32 * 1024);
	memset(in + n, 'v', 32 * 1024);
	memcpy(in + n + 32 * 1024, "\r\n", 2);
	n += 32 * 1024 + 2;
	CHECK(resp_parser_init(&p, &lim) == 0);
	CHECK(resp_parse(&p, in, 100, &used) == RESP_NEED_MORE && used == 100);
	CHECK(resp_parse(&p, in + 100, n - 100, &used) == RESP_COMMAND && used == n - 100);
	CHECK(p.argc == 2 && p.argv[1].len == 32 * 1024 && p.argv[1].ptr[0] == 'v');
	CHECK(p.gather_cap >= 32 * 1024);
	resp_parser_trim(&p);
	CHECK(p.gather_cap == 0);
	CHECK(budget.used == resp_parser_footprint(&p));
	resp_parser_free(&p);
	CHECK(budget.used == 0);
}

static void test_ints(void)
{
	static const struct { const char *s; bool ok; int64_t v; } cases[] = {
		{ "0", true, 0 }, { "1", true, 1 }, { "-1", true, -1 },
		{ "9223372036854775807", true, INT64_MAX },
		{ "-9223372036854775808", true, INT64_MIN },
		{ "9223372036854775808", false, 0 }, { "-9223372036854775809", false, 0 },
		{ "99999999999999999999", false, 0 }, { "", false, 0 }, { "-", false, 0 },
		{ "-0", false, 0 }, { "01", false, 0 }, { "+1", false, 0 }, { " 1", false, 0 },
		{ "1 ", false, 0 }, { "1a", false, 0 }, { "00", false, 0 },
		{ "123456789012345678901", false, 0 },
	};
	char buf[RESP_INT64_MAX_DIGITS + 1];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = 42;
		bool ok = resp_parse_int(cases[i].s, strlen(cases[i].s), &v);

		CHECK(ok == cases[i].ok);
		if (ok != cases[i].ok)
			fprintf(stderr, "  int '%s'\n", cases[i].s);
		if (ok)
			CHECK(v == cases[i].v);
	}
	buf[resp_format_int(buf, INT64_MIN)] = '\0';
	CHECK(strcmp(buf, "-9223372036854775808") == 0);
	buf[resp_format_int(buf, INT64_MAX)] = '\0';
	CHECK(strcmp(buf, "9223372036854775807") == 0);
	buf[resp_format_int(buf, 0)] = '\0';
	CHECK(strcmp(buf, "0") == 0);
}

static bool buf_is(const struct resp_buf *b, const char *want)
{
	size_t n = strlen(want);

	return resp_buf_pending(b) == n && memcmp(b->data + b->head, want, n) == 0;
}

static void test_writer(void)
{
	struct resp_budget bg = { 0, 0 };
	struct resp_buf b;

	resp_buf_init(&b, 0, &bg);
	resp_add_simple(&b, "OK");
	resp_add_error(&b, "ERR a\r\nb");        /* never breaks the framing */
	resp_add_int(&b, -7);
	resp_add_bulk(&b, "a\r\nb", 4);
	resp_add_bulk(&b, "", 0);
	resp_add_null(&b);
	resp_add_array(&b, 2);
	resp_add_errorf(&b, "ERR %s %d", "x", 5);
	CHECK(buf_is(&b, "+OK\r\n-ERR a  b\r\n:-7\r\n$4\r\na\r\nb\r\n$0\r\n\r\n$-1\r\n*2\r\n"
		      "-ERR x 5\r\n"));
	CHECK(bg.used == b.cap);
	resp_buf_sent(&b, 5, 0);               /* "+OK\r\n" handed on */
	CHECK(b.head == 5 && buf_is(&b, "-ERR a  b\r\n:-7\r\n$4\r\na\r\nb\r\n$0\r\n\r\n$-1\r\n"
				     "*2\r\n-ERR x 5\r\n"));
	resp_buf_sent(&b, resp_buf_pending(&b), 0);
	CHECK(b.len == 0 && b.head == 0 && b.cap == 0 && bg.used == 0);

	/* Hard limit: the buffer fails and drops everything after. */
	resp_buf_init(&b, 64, &bg);
	resp_add_bulk(&b, "0123456789012345678901234567890123456789", 40);
	CHECK(!b.failed);
	resp_add_bulk(&b, "0123456789012345678901234567890123456789", 40);
	CHECK(b.failed);
	resp_add_simple(&b, "OK");
	CHECK(resp_buf_pending(&b) == 47);
	resp_buf_free(&b);
	CHECK(bg.used == 0);

	/* Budget: shared by buffers; refused growth fails the buffer. */
	{
		struct resp_budget small = { 0, 5000 };
		struct resp_buf a, c;

		resp_buf_init(&a, 0, &small);
		resp_buf_init(&c, 0, &small);
		resp_add_simple(&a, "OK");          /* 4096 */
		CHECK(!a.failed && small.used == 4096);
		resp_add_simple(&c, "OK");          /* 4096 more would pass the budget: exactly 5 */
		CHECK(!c.failed && c.cap == 5 && small.used == 4101);
		resp_buf_reserve(&c, 1000);         /* and then nothing fits */
		CHECK(c.failed && small.used == 4101);
		resp_buf_free(&a);
		resp_buf_free(&c);
		CHECK(small.used == 0);
	}
}

int main(void)
{
	test_whole_and_every_split();
	test_zero_copy();
	test_empty_lines_first();
	test_malformed();
	test_limits();
	test_budget();
	test_gather_trim();
	test_ints();
	test_writer();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
