/* resp.c: RESP2 request parsing (incremental, zero-copy when a command is whole) and reply writing. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

/* Argument slots a parser starts with; more are added as commands need. */
#define RESP_ARGV_INITIAL 8
/* Smallest allocation of a reply or gather buffer: one TCP segment's worth
 * of replies, so that small pipelines never regrow it. */
#define RESP_BUF_MIN 4096
/* A gather buffer above this is given back between commands. */
#define RESP_GATHER_KEEP (16 * 1024)
/* Longest formatted error reply; Redis cuts quoted arguments to 128 bytes,
 * so its longest message fits with room to spare. */
#define RESP_ERROR_MAX 512

/* The protocol errors, in Redis 7.0's words where Redis has them. */
#define RESP_ERR_MBULK      "ERR Protocol error: invalid multibulk length"
#define RESP_ERR_BULK       "ERR Protocol error: invalid bulk length"
#define RESP_ERR_INLINE_BIG "ERR Protocol error: too big inline request"
#define RESP_ERR_QUOTES     "ERR Protocol error: unbalanced quotes in request"
/* Ours: Redis skips the two bytes after a bulk string unchecked. */
#define RESP_ERR_CRLF       "ERR Protocol error: expected CRLF after bulk string"
#define RESP_ERR_TOO_BIG    "ERR Protocol error: command too big"
#define RESP_ERR_INLINE_ARGS "ERR Protocol error: too many arguments in inline request"
#define RESP_ERR_NOMEM      "ERR Protocol error: out of memory for the request"

/* ---- budget ---- */

/* Takes `delta` bytes from the shared budget; false when it has not that
 * many left. */
static bool resp_budget_take(struct resp_budget *bg, size_t delta)
{
	if (!bg)
		return true;
	if (bg->max && bg->used + delta > bg->max)
		return false;
	bg->used += delta;
	return true;
}

static void resp_budget_give(struct resp_budget *bg, size_t delta)
{
	if (bg)
		bg->used -= delta;
}

/* ---- integers ---- */

size_t resp_format_int(char *dst, int64_t v)
{
	char tmp[RESP_INT64_MAX_DIGITS];
	/* Through unsigned arithmetic so that INT64_MIN negates cleanly. */
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		dst[len++] = '-';
	while (n)
		dst[len++] = tmp[--n];
	return len;
}

bool resp_parse_int(const char *s, size_t len, int64_t *out)
{
	uint64_t v;
	size_t i = 0;
	bool neg = false;

	if (len == 0 || len > RESP_INT64_MAX_DIGITS)
		return false;
	if (len == 1 && s[0] == '0') {
		*out = 0;
		return true;
	}
	if (s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == len || s[i] < '1' || s[i] > '9')
		return false;
	v = (uint64_t)(s[i++] - '0');
	for (; i < len; i++) {
		uint64_t d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return false;
		*out = (int64_t)(0 - v);
	} else {
		if (v > (uint64_t)INT64_MAX)
			return false;
		*out = (int64_t)v;
	}
	return true;
}

/* ---- parser ---- */

int resp_parser_init(struct resp_parser *p, const struct resp_limits *lim)
{
	memset(p, 0, sizeof(*p));
	p->lim = lim;
	p->state = RESP_ST_START;
	if (!resp_budget_take(lim->budget, RESP_ARGV_INITIAL * sizeof(*p->argv)))
		return -ENOMEM;
	p->argv = malloc(RESP_ARGV_INITIAL * sizeof(*p->argv));
	if (!p->argv) {
		resp_budget_give(lim->budget, RESP_ARGV_INITIAL * sizeof(*p->argv));
		return -ENOMEM;
	}
	p->argcap = RESP_ARGV_INITIAL;
	return 0;
}

void resp_parser_free(struct resp_parser *p)
{
	resp_budget_give(p->lim->budget, p->argcap * sizeof(*p->argv) + p->gather_cap);
	free(p->argv);
	free(p->gather);
	p->argv = NULL;
	p->gather = NULL;
	p->argcap = 0;
	p->gather_cap = 0;
}

size_t resp_parser_footprint(const struct resp_parser *p)
{
	return p->argcap * sizeof(*p->argv) + p->gather_cap;
}

void resp_parser_trim(struct resp_parser *p)
{
	/* Only between commands: a gathered command still needs its bytes. */
	if (p->state != RESP_ST_START || p->gather_cap <= RESP_GATHER_KEEP)
		return;
	resp_budget_give(p->lim->budget, p->gather_cap);
	free(p->gather);
	p->gather = NULL;
	p->gather_cap = 0;
	p->gather_len = 0;
}

static enum resp_result resp_fail(struct resp_parser *p, const char *msg)
{
	p->state = RESP_ST_ERROR;
	p->error = msg;
	return RESP_ERROR;
}

/* Makes room for `n` more gathered bytes. */
static bool resp_gather_reserve(struct resp_parser *p, size_t n)
{
	size_t need = p->gather_len + n, cap;
	char *g;

	if (need <= p->gather_cap)
		return true;
	cap = p->gather_cap ? p->gather_cap : RESP_BUF_MIN;
	while (cap < need)
		cap *= 2;
	if (!resp_budget_take(p->lim->budget, cap - p->gather_cap)) {
		cap = need;
		if (!resp_budget_take(p->lim->budget, cap - p->gather_cap))
			return false;
	}
	g = realloc(p->gather, cap);
	if (!g) {
		resp_budget_give(p->lim->budget, cap - p->gather_cap);
		return false;
	}
	p->gather = g;
	p->gather_cap = cap;
	return true;
}

static void resp_gather_put(struct resp_parser *p, const char *src, size_t n)
{
	if (n == 0)
		return;   /* the buffer may not exist yet */
	memcpy(p->gather + p->gather_len, src, n);
	p->gather_len += n;
}

/* The piece the command started in is about to go away: copy the
 * arguments that point into it into the gather buffer. */
static bool resp_gather_args(struct resp_parser *p)
{
	size_t total = 0;
	uint32_t i;

	for (i = 0; i < p->argc; i++)
		total += p->argv[i].len;
	if (!resp_gather_reserve(p, total))
		return false;
	for (i = 0; i < p->argc; i++) {
		p->argv[i].off = p->gather_len;
		resp_gather_put(p, p->argv[i].ptr, p->argv[i].len);
	}
	p->gathered = true;
	return true;
}

/* Room for one more argument. */
static bool resp_argv_grow(struct resp_parser *p, uint32_t want)
{
	uint32_t cap = p->argcap * 2;
	struct resp_arg *v;

	if (p->argc < p->argcap)
		return true;
	if (cap > want)
		cap = want;
	if (cap <= p->argcap)
		cap = p->argcap + 1;
	if (!resp_budget_take(p->lim->budget, (cap - p->argcap) * sizeof(*v)))
		return false;
	v = realloc(p->argv, cap * sizeof(*v));
	if (!v) {
		resp_budget_give(p->lim->budget, (cap - p->argcap) * sizeof(*v));
		return false;
	}
	p->argv = v;
	p->argcap = cap;
	return true;
}

static enum resp_result resp_complete(struct resp_parser *p)
{
	uint32_t i;

	if (p->gathered)
		for (i = 0; i < p->argc; i++)
			p->argv[i].ptr = p->gather + p->argv[i].off;
	p->state = RESP_ST_START;
	return RESP_COMMAND;
}

/*
 * Reads a "*<n>" / "$<len>" header line up to its CRLF, from `buf` or,
 * when it was split, from p->header. Returns 1 with the line (CRLF not
 * included) in *line and *llen, 0 when it needs more bytes (all taken), -1
 * when the line is longer than any valid header.
 */
static int resp_header_line(struct resp_parser *p, const char *buf, size_t len, size_t *pos,
			    const char **line, size_t *llen)
{
	size_t avail = len - *pos;
	const char *nl;

	if (p->header_len == 0) {
		size_t span = avail < RESP_HEADER_MAX + 2 ? avail : RESP_HEADER_MAX + 2;

		nl = memchr(buf + *pos, '\n', span);
		if (nl) {
			size_t n = (size_t)(nl - (buf + *pos));

			if (n == 0 || nl[-1] != '\r')
				return -1;
			*line = buf + *pos;
			*llen = n - 1;
			*pos += n + 1;
			return 1;
		}
		if (avail > RESP_HEADER_MAX + 1)
			return -1;
		memcpy(p->header, buf + *pos, avail);
		p->header_len = (uint32_t)avail;
		*pos = len;
		return 0;
	}
	/* Split header: a few bytes at a time, never more than the line and
	 * its '\r'. */
	while (*pos < len) {
		char c = buf[(*pos)++];

		if (c == '\n') {
			if (p->header[p->header_len - 1] != '\r')
				return -1;
			*line = p->header;
			*llen = p->header_len - 1;
			p->header_len = 0;
			return 1;
		}
		if (p->header_len == sizeof(p->header))
			return -1;
		p->header[p->header_len++] = c;
	}
	return 0;
}

/* A hex digit's value (the caller checked isxdigit). */
static int resp_hex(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* The character an escape "\\<e>" inside double quotes stands for. */
static char resp_unescape(char e)
{
	switch (e) {
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'b': return '\b';
	case 'a': return '\a';
	default: return e;
	}
}

/*
 * Splits the gathered inline line (p->gather[0..len)) into arguments in
 * place, with Redis's quoting rules: "..." with \n \r \t \b \a \xHH and
 * \<c> escapes, '...' with \' only, and a closing quote must be followed
 * by a space or the end. Unescaped text never outgrows its source, so
 * writing at w <= r is safe. Returns NULL or the error text.
 */
static const char *resp_split_inline(struct resp_parser *p, size_t len)
{
	char *s = p->gather;
	const char *nul;
	size_t r = 0, w = 0;

	if (len == 0)
		return NULL;   /* a blank line (and maybe no buffer yet) */
	/* Redis splits a C string: a NUL ends the line. */
	nul = memchr(s, '\0', len);
	if (nul)
		len = (size_t)(nul - s);
#define AT(i) ((i) < len ? s[i] : '\0')
	for (;;) {
		char quote = 0;   /* '"' or '\'' while inside quotes */
		bool done = false;
		size_t start;

		while (r < len && isspace((unsigned char)s[r]))
			r++;
		if (r == len)
			break;
		start = w;
		while (!done) {
			char c = AT(r);

			if (quote == '"' && c == '\\' && AT(r + 1) == 'x' &&
			    isxdigit((unsigned char)AT(r + 2)) && isxdigit((unsigned char)AT(r + 3))) {
				s[w++] = (char)(resp_hex(s[r + 2]) * 16 + resp_hex(s[r + 3]));
				r += 4;
			} else if (quote == '"' && c == '\\' && AT(r + 1)) {
				s[w++] = resp_unescape(s[r + 1]);
				r += 2;
			} else if (quote == '\'' && c == '\\' && AT(r + 1) == '\'') {
				s[w++] = '\'';
				r += 2;
			} else if (quote && c == quote) {
				/* a closing quote ends the argument: a space or the end next */
				if (AT(r + 1) && !isspace((unsigned char)AT(r + 1)))
					return RESP_ERR_QUOTES;
				done = true;
				r++;
			} else if (quote && c == '\0') {
				return RESP_ERR_QUOTES;
			} else if (!quote && (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\0')) {
				done = true;
				if (c)
					r++;
			} else if (!quote && (c == '"' || c == '\'')) {
				quote = c;
				r++;
			} else {
				s[w++] = c;
				r++;
			}
		}
#undef AT
		if (p->argc == p->lim->max_args)
			return RESP_ERR_INLINE_ARGS;
		if (!resp_argv_grow(p, p->lim->max_args))
			return RESP_ERR_NOMEM;
		p->argv[p->argc].off = start;
		p->argv[p->argc].len = w - start;
		p->argc++;
	}
	return NULL;
}

/* An inline line: gathered always (it is unescaped in place), up to its
 * '\n'. */
static enum resp_result resp_inline(struct resp_parser *p, const char *buf, size_t len,
				    size_t *pos)
{
	size_t avail = len - *pos;
	const char *nl = memchr(buf + *pos, '\n', avail);
	size_t n = nl ? (size_t)(nl - (buf + *pos)) : avail;
	size_t line;
	const char *err;

	if (p->gather_len + n > p->lim->max_inline)
		return resp_fail(p, RESP_ERR_INLINE_BIG);
	if (!resp_gather_reserve(p, n))
		return resp_fail(p, RESP_ERR_NOMEM);
	resp_gather_put(p, buf + *pos, n);
	p->gathered = true;
	*pos += n;
	if (!nl)
		return RESP_NEED_MORE;
	(*pos)++;
	line = p->gather_len;
	if (line && p->gather[line - 1] == '\r')
		line--;
	err = resp_split_inline(p, line);
	if (err)
		return resp_fail(p, err);
	if (p->argc == 0) {
		p->state = RESP_ST_START;       /* a blank line: nothing to run */
		return RESP_NEED_MORE;
	}
	return resp_complete(p);
}

enum resp_result resp_parse(struct resp_parser *p, const char *buf, size_t len, size_t *used)
{
	const struct resp_limits *lim = p->lim;
	size_t pos = 0;
	enum resp_result res = RESP_NEED_MORE;

	while (pos < len && res == RESP_NEED_MORE) {
		const char *line;
		size_t llen;
		int64_t n;
		int h;

		switch (p->state) {
		case RESP_ST_ERROR:
			*used = 0;
			return RESP_ERROR;

		case RESP_ST_START:
			p->argc = 0;
			p->gathered = false;
			p->gather_len = 0;
			p->header_len = 0;
			p->bulk_got = 0;
			p->bulk_len = 0;
			if (buf[pos] == '*') {
				pos++;
				p->state = RESP_ST_COUNT;
			} else {
				p->state = RESP_ST_INLINE;
			}
			break;

		case RESP_ST_COUNT:
			h = resp_header_line(p, buf, len, &pos, &line, &llen);
			if (h < 0)
				return *used = pos, resp_fail(p, RESP_ERR_MBULK);
			if (h == 0)
				break;
			if (!resp_parse_int(line, llen, &n) || n > (int64_t)lim->max_args)
				return *used = pos, resp_fail(p, RESP_ERR_MBULK);
			if (n <= 0) {
				p->state = RESP_ST_START;   /* "*0", "*-1": Redis skips them */
				break;
			}
			p->want_args = (uint32_t)n;
			p->cmd_bytes = 0;
			p->state = RESP_ST_BULK_LEN;
			break;

		case RESP_ST_BULK_LEN:
			/* Redis checks the '$' once the whole line is in; the answer is
			 * the same, and a non-RESP stream fails at once here. */
			if (p->header_len == 0 && buf[pos] != '$') {
				snprintf(p->error_buf, sizeof(p->error_buf),
					 "ERR Protocol error: expected '$', got '%c'", buf[pos]);
				return *used = pos, resp_fail(p, p->error_buf);
			}
			h = resp_header_line(p, buf, len, &pos, &line, &llen);
			if (h < 0)
				return *used = pos, resp_fail(p, RESP_ERR_BULK);
			if (h == 0)
				break;
			if (!resp_parse_int(line + 1, llen - 1, &n) || n < 0 ||
			    n > (int64_t)lim->max_bulk)
				return *used = pos, resp_fail(p, RESP_ERR_BULK);
			p->cmd_bytes += (uint64_t)n;
			if (p->cmd_bytes > lim->max_command)
				return *used = pos, resp_fail(p, RESP_ERR_TOO_BIG);
			if (!resp_argv_grow(p, p->want_args))
				return *used = pos, resp_fail(p, RESP_ERR_NOMEM);
			if (!p->gathered && len - pos >= (uint64_t)n + 2) {
				/* The whole argument is here: point at it. */
				if (buf[pos + n] != '\r' || buf[pos + n + 1] != '\n')
					return *used = pos + n, resp_fail(p, RESP_ERR_CRLF);
				p->argv[p->argc].ptr = buf + pos;
				p->argv[p->argc].len = (size_t)n;
				p->argc++;
				pos += (size_t)n + 2;
				if (p->argc == p->want_args)
					res = resp_complete(p);
				break;
			}
			if (!p->gathered && !resp_gather_args(p))
				return *used = pos, resp_fail(p, RESP_ERR_NOMEM);
			if (!resp_gather_reserve(p, (size_t)n))
				return *used = pos, resp_fail(p, RESP_ERR_NOMEM);
			p->argv[p->argc].off = p->gather_len;
			p->argv[p->argc].len = (size_t)n;
			p->bulk_len = (uint64_t)n;
			p->bulk_got = 0;
			p->state = RESP_ST_BULK_DATA;
			break;

		case RESP_ST_BULK_DATA: {
			size_t take = len - pos;

			if (take > p->bulk_len - p->bulk_got)
				take = (size_t)(p->bulk_len - p->bulk_got);
			resp_gather_put(p, buf + pos, take);
			pos += take;
			p->bulk_got += take;
			if (p->bulk_got == p->bulk_len)
				p->state = RESP_ST_BULK_CR;
			break;
		}

		case RESP_ST_BULK_CR:
			if (buf[pos++] != '\r')
				return *used = pos - 1, resp_fail(p, RESP_ERR_CRLF);
			p->state = RESP_ST_BULK_LF;
			break;

		case RESP_ST_BULK_LF:
			if (buf[pos++] != '\n')
				return *used = pos - 1, resp_fail(p, RESP_ERR_CRLF);
			p->argc++;
			p->state = RESP_ST_BULK_LEN;
			if (p->argc == p->want_args)
				res = resp_complete(p);
			break;

		case RESP_ST_INLINE:
			res = resp_inline(p, buf, len, &pos);
			if (res == RESP_ERROR)
				return *used = pos, res;
			break;
		}
	}
	if (p->state == RESP_ST_ERROR) {
		*used = pos;
		return RESP_ERROR;
	}
	/* Out of input inside a command that still points into `buf`. */
	if (res == RESP_NEED_MORE && p->state != RESP_ST_START && !p->gathered &&
	    !resp_gather_args(p)) {
		*used = pos;
		return resp_fail(p, RESP_ERR_NOMEM);
	}
	*used = pos;
	return res;
}

/* ---- reply buffer ---- */

void resp_buf_init(struct resp_buf *b, size_t hard_limit, struct resp_budget *budget)
{
	memset(b, 0, sizeof(*b));
	b->hard_limit = hard_limit;
	b->budget = budget;
}

void resp_buf_free(struct resp_buf *b)
{
	resp_budget_give(b->budget, b->cap);
	free(b->data);
	b->data = NULL;
	b->cap = b->len = b->head = 0;
}

void resp_buf_sent(struct resp_buf *b, size_t n, size_t keep)
{
	char *d;

	b->head += n;
	if (b->head < b->len)
		return;
	b->head = b->len = 0;
	if (b->cap <= keep)
		return;
	if (keep == 0) {
		resp_buf_free(b);
		return;
	}
	d = realloc(b->data, keep);
	if (!d)
		return;   /* keeping the larger block is fine */
	resp_budget_give(b->budget, b->cap - keep);
	b->data = d;
	b->cap = keep;
}

char *resp_buf_reserve(struct resp_buf *b, size_t n)
{
	size_t need, cap;
	char *d;

	if (b->failed)
		return NULL;
	if (b->len + n <= b->cap)
		return b->data + b->len;
	if (b->head) {
		memmove(b->data, b->data + b->head, b->len - b->head);
		b->len -= b->head;
		b->head = 0;
		if (b->len + n <= b->cap)
			return b->data + b->len;
	}
	need = b->len + n;
	if (b->hard_limit && need > b->hard_limit)
		goto fail;
	cap = b->cap ? b->cap : RESP_BUF_MIN;
	while (cap < need)
		cap *= 2;
	if (b->hard_limit && cap > b->hard_limit)
		cap = need;
	if (!resp_budget_take(b->budget, cap - b->cap)) {
		cap = need;
		if (!resp_budget_take(b->budget, cap - b->cap))
			goto fail;
	}
	d = realloc(b->data, cap);
	if (!d) {
		resp_budget_give(b->budget, cap - b->cap);
		goto fail;
	}
	b->data = d;
	b->cap = cap;
	return b->data + b->len;
fail:
	b->failed = true;
	return NULL;
}

void resp_add_raw(struct resp_buf *b, const void *p, size_t n)
{
	char *d = resp_buf_reserve(b, n);

	if (!d)
		return;
	memcpy(d, p, n);
	b->len += n;
}

/* "<type><text>\r\n"; CR and LF inside the text become spaces (as Redis
 * does for errors) so a reply can never break the framing. */
static void resp_add_line(struct resp_buf *b, char type, const char *s, size_t n)
{
	char *d = resp_buf_reserve(b, n + 3);
	size_t i;

	if (!d)
		return;
	d[0] = type;
	for (i = 0; i < n; i++)
		d[1 + i] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
	d[n + 1] = '\r';
	d[n + 2] = '\n';
	b->len += n + 3;
}

void resp_add_simple(struct resp_buf *b, const char *s)
{
	resp_add_line(b, '+', s, strlen(s));
}

void resp_add_error(struct resp_buf *b, const char *s)
{
	resp_add_line(b, '-', s, strlen(s));
}

void resp_add_errorf(struct resp_buf *b, const char *fmt, ...)
{
	char msg[RESP_ERROR_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	resp_add_line(b, '-', msg, (size_t)n);
}

/* "<type><v>\r\n" into hdr; returns its length. Reserving exactly this
 * (not the longest number) keeps the hard limit exact. */
static size_t resp_header(char *hdr, char type, int64_t v)
{
	size_t n;

	hdr[0] = type;
	n = 1 + resp_format_int(hdr + 1, v);
	hdr[n++] = '\r';
	hdr[n++] = '\n';
	return n;
}

/* Room for a header: type, digits, CRLF. */
#define RESP_HEADER_ROOM (1 + RESP_INT64_MAX_DIGITS + 2)

static void resp_add_number(struct resp_buf *b, char type, int64_t v)
{
	char hdr[RESP_HEADER_ROOM];

	resp_add_raw(b, hdr, resp_header(hdr, type, v));
}

void resp_add_int(struct resp_buf *b, int64_t v)
{
	resp_add_number(b, ':', v);
}

void resp_add_array(struct resp_buf *b, size_t n)
{
	resp_add_number(b, '*', (int64_t)n);
}

void resp_add_bulk(struct resp_buf *b, const void *p, size_t n)
{
	char hdr[RESP_HEADER_ROOM];
	size_t h = resp_header(hdr, '$', (int64_t)n);
	char *d = resp_buf_reserve(b, h + n + 2);

	if (!d)
		return;
	memcpy(d, hdr, h);
	memcpy(d + h, p, n);
	d[h + n] = '\r';
	d[h + n + 1] = '\n';
	b->len += h + n + 2;
}

void resp_add_bulk_str(struct resp_buf *b, const char *s)
{
	resp_add_bulk(b, s, strlen(s));
}

void resp_add_null(struct resp_buf *b)
{
	resp_add_raw(b, "$-1\r\n", 5);
}
