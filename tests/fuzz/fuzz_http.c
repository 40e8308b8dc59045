/* fuzz_http.c: libFuzzer target: arbitrary bytes, cut into TCP-like segments, through the HTTP/1.1 engine (runtime/net/http_server.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The engine is compiled into this file (it is one translation unit with
 * no platform calls) so that the checks below can see which response the
 * engine is writing: whether it answers a HEAD request decides whether the
 * bytes after its headers are a body.
 */
#include "../../runtime/net/http_server.c"

/*
 * Input: four control bytes, then the request stream.
 *   data[0]  how many bytes the transport takes per writable event
 *            (0: all; else 1..255 << (data[1] & 3) bytes)
 *   data[1]  bits 2-3: limits (small, default); bit 4: the transport
 *            breaks after some output; bits 5-7 unused
 *   data[2..3] seed of the segment sizes (1..FUZZ_MAX_PIECE bytes each)
 * Routes: "/" answers at once, "/echo" returns the body, "/later" defers
 * (answered after the next segment), "/stream" and "/chunk" stream through
 * the writable callback (declared length / chunked), "/ref" sends a
 * referenced body, "/silent" does not answer (500), anything else under
 * "/" goes to a handler that checks the request's strings. Checked after
 * every run: the output is a sequence of well-formed HTTP/1.1 responses
 * (status line, header lines, body framed as the headers say), nothing
 * follows a "Connection: close" answer, and every byte the engine
 * allocated is freed.
 */

#define FUZZ_MAX_PIECE  96
#define FUZZ_OUT_MAX    (1u << 20)
#define FUZZ_MAX_WRITES 8192
#define FUZZ_STREAM_LEN 20000
#define FUZZ_SPINS      100000

size_t __sanitizer_get_current_allocated_bytes(void);

/* ---- memory transport ---- */

static void fuzz_fail(const char *what);

struct fuzz_write {          /* where output for HEAD / other answers starts */
	size_t start;
	bool head_only;
};

static struct fuzz_sink {
	char out[FUZZ_OUT_MAX];
	size_t len;
	size_t room;              /* bytes per writable event, 0 = unlimited */
	size_t budget;
	size_t break_at;          /* 0: never; else fail writes past this many bytes */
	bool broken;
	struct http_conn *conn;
	struct fuzz_write writes[FUZZ_MAX_WRITES];
	unsigned nwrites;
} sink;

static long sink_write(void *ctx, const void *data, size_t len)
{
	struct fuzz_sink *s = ctx;
	size_t n = len;

	if (s->broken)
		return -ECONNRESET;
	if (s->break_at && s->len + len > s->break_at) {
		s->broken = true;
		return -ECONNRESET;
	}
	if (s->room && n > s->budget)
		n = s->budget;
	if (s->room)
		s->budget -= n;
	if (s->len + n > sizeof(s->out))
		n = sizeof(s->out) - s->len;  /* the checks stop at a full sink */
	/* A new record only where the answer's kind changes. */
	if (n && (s->nwrites == 0 ||
		  s->writes[s->nwrites - 1].head_only != s->conn->res.head_only)) {
		if (s->nwrites == FUZZ_MAX_WRITES)
			fuzz_fail("too many write records");
		s->writes[s->nwrites].start = s->len;
		s->writes[s->nwrites].head_only = s->conn->res.head_only;
		s->nwrites++;
	}
	memcpy(s->out + s->len, data, n);
	s->len += n;
	return (long)n;
}

static int resumed;

static void sink_resume(void *ctx)
{
	(void)ctx;
	resumed++;
}

static const struct http_transport fuzz_transport = { .write = sink_write, .resume = sink_resume };

/* ---- the app ---- */

static struct uc_http_response *deferred;   /* /later: answered after the next segment */
static char deferred_how;                   /* the query's first byte: r(ef), s(tream), c(hunked) */
static struct uc_http_response *streaming;
static size_t stream_off;
static char pattern[FUZZ_STREAM_LEN];

static void fuzz_fail(const char *what)
{
	if (getenv("FUZZ_DEBUG"))   /* the output so far */
		fwrite(sink.out, 1, sink.len, stderr);
	fprintf(stderr, "fuzz_http: %s\n", what);
	abort();
}

/* Strings handed to the app: NUL-terminated inside the header buffer and
 * free of line breaks (http-parser refuses them in names and values). */
static void check_request(const struct uc_http_request *req)
{
	struct http_conn *c = sink.conn;
	const char *lo = c->hdr, *hi = c->hdr + c->hdr_cap;

	if (req->path < lo || req->path >= hi ||
	    (*req->query && (req->query < lo || req->query >= hi)))
		fuzz_fail("path or query outside the header buffer");
	if (req->nheaders > UC_HTTP_MAX_HEADERS)
		fuzz_fail("too many headers");
	if (req->body_len > http_max_body || (req->body_len && !req->body))
		fuzz_fail("body over the limit");
	for (unsigned i = 0; i < req->nheaders; i++) {
		const char *n = req->headers[i].name, *v = req->headers[i].value;

		if (n < lo || n >= hi || (*v && (v < lo || v >= hi)))
			fuzz_fail("header outside the header buffer");
		if (strnlen(n, (size_t)(hi - n)) == (size_t)(hi - n) ||
		    strnlen(v, (size_t)(hi - v)) == (size_t)(hi - v))
			fuzz_fail("header not NUL-terminated");
		if (n[0] == '\0' || strpbrk(n, "\r\n:") || strpbrk(v, "\r\n"))
			fuzz_fail("header with an empty name or a line break");
	}
}

static void h_hello(const struct uc_http_request *req, struct uc_http_response *res)
{
	static const char body[] = "hello\n";

	check_request(req);
	uc_http_respond(res, 200, "text/plain", body, sizeof(body) - 1);
}

static void h_echo(const struct uc_http_request *req, struct uc_http_response *res)
{
	check_request(req);
	uc_http_header(res, "X-Query", req->query);
	uc_http_respond(res, 200, "application/octet-stream", req->body, req->body_len);
}

static void h_later(const struct uc_http_request *req, struct uc_http_response *res)
{
	check_request(req);
	if (uc_http_defer(res) != 0)
		fuzz_fail("defer refused");
	deferred = res;
	deferred_how = req->query[0];
}

static void stream_more(struct uc_http_response *res, void *arg)
{
	(void)arg;
	while (stream_off < FUZZ_STREAM_LEN) {
		size_t want = FUZZ_STREAM_LEN - stream_off < 3000 ? FUZZ_STREAM_LEN - stream_off : 3000;
		long n = uc_http_write(res, pattern + stream_off, want);

		if (n < 0)
			break;
		stream_off += (size_t)n;
		if ((size_t)n < want)
			return;     /* called again once the transport has room */
	}
	streaming = NULL;
	uc_http_end(res);
}

static void begin_stream(struct uc_http_response *res, size_t length)
{
	uc_http_set_writable(res, stream_more, NULL);
	if (uc_http_begin(res, 200, "application/octet-stream", length) != 0)
		return;
	stream_off = 0;
	streaming = res;
	stream_more(res, NULL);
}

static void h_stream(const struct uc_http_request *req, struct uc_http_response *res)
{
	check_request(req);
	begin_stream(res, FUZZ_STREAM_LEN);
}

static void h_chunk(const struct uc_http_request *req, struct uc_http_response *res)
{
	check_request(req);
	begin_stream(res, UC_HTTP_LENGTH_UNKNOWN);
}

static void h_ref(const struct uc_http_request *req, struct uc_http_response *res)
{
	check_request(req);
	uc_http_respond_ref(res, 200, NULL, pattern, FUZZ_STREAM_LEN);
}

static void h_silent(const struct uc_http_request *req, struct uc_http_response *res)
{
	(void)res;
	check_request(req);
}

static void h_any(const struct uc_http_request *req, struct uc_http_response *res)
{
	const char *h = uc_http_request_header(req, "x-status");
	int status = 200;

	check_request(req);
	if (h && h[0] >= '1' && h[0] <= '5' && h[1] >= '0' && h[1] <= '9' &&
	    h[2] >= '0' && h[2] <= '9')
		status = (h[0] - '0') * 100 + (h[1] - '0') * 10 + (h[2] - '0');
	if (status < 200)
		status = 200;   /* 1xx is the engine's own (100 Continue) */
	uc_http_respond(res, status, "text/plain", req->path, strlen(req->path));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (char)('a' + i % 26);
	uc_http_route("/", h_hello);
	uc_http_route("/echo", h_echo);
	uc_http_route("/later", h_later);
	uc_http_route("/stream", h_stream);
	uc_http_route("/chunk", h_chunk);
	uc_http_route("/ref", h_ref);
	uc_http_route("/silent", h_silent);
	uc_http_route("/*", h_any);
	return 0;
}

/* ---- checking the output ---- */

static bool head_only_at(size_t off)
{
	bool h = false;

	for (unsigned i = 0; i < sink.nwrites && sink.writes[i].start <= off; i++)
		h = sink.writes[i].head_only;
	return h;
}

/* One "\r\n"-terminated line at p[0..len): its length without CRLF, or -1. */
static long line_at(const char *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] == '\n')
			return -1;
		if (p[i] == '\r')
			return p[i + 1] == '\n' ? (long)i : -1;
	}
	return -2;  /* cut off */
}

static bool parse_size(const char *p, size_t n, int base, size_t *out)
{
	size_t v = 0;

	if (n == 0 || n > 12)
		return false;
	for (size_t i = 0; i < n; i++) {
		int d = p[i] >= '0' && p[i] <= '9' ? p[i] - '0' :
			base == 16 && p[i] >= 'a' && p[i] <= 'f' ? p[i] - 'a' + 10 : -1;

		if (d < 0)
			return false;
		v = v * (size_t)base + (size_t)d;
	}
	*out = v;
	return true;
}

/* Checks the response at out[at..); returns its length, 0 when the output
 * ends inside it (allowed only when `complete` is false). */
static size_t check_response(size_t at, bool complete, bool *closes)
{
	const char *p = sink.out + at;
	size_t len = sink.len - at, off, clen = 0;
	bool has_len = false, chunked = false, body;
	long n = line_at(p, len);
	int status;

#define NEED(cond, what) do { if (!(cond)) { if (n == -2 && !complete) return 0; fuzz_fail(what); } } while (0)
	NEED(n >= 0, "status line not CRLF-terminated");
	NEED(n >= 13 && !memcmp(p, "HTTP/1.1 ", 9) && p[12] == ' ', "bad status line");
	NEED(p[9] >= '1' && p[9] <= '5' && p[10] >= '0' && p[10] <= '9' &&
	     p[11] >= '0' && p[11] <= '9', "bad status code");
	status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	off = (size_t)n + 2;
	*closes = false;
	for (;;) {
		const char *l = p + off, *colon;

		n = line_at(l, len - off);
		NEED(n >= 0, "header line not CRLF-terminated");
		off += (size_t)n + 2;
		if (n == 0)
			break;
		colon = memchr(l, ':', (size_t)n);
		NEED(colon && colon > l && colon[1] == ' ', "bad header line");
		if (colon - l == 14 && !strncasecmp(l, "content-length", 14)) {
			NEED(!has_len && parse_size(colon + 2, (size_t)(l + n - colon - 2), 10, &clen),
			     "bad Content-Length");
			has_len = true;
		} else if (colon - l == 17 && !strncasecmp(l, "transfer-encoding", 17)) {
			NEED(!strncmp(colon + 2, "chunked", 7), "unknown Transfer-Encoding");
			chunked = true;
		} else if (colon - l == 10 && !strncasecmp(l, "connection", 10) &&
			   !strncmp(colon + 2, "close", 5)) {
			*closes = true;
		}
	}
	NEED(!(has_len && chunked), "both Content-Length and chunked");
	if (status < 200) {
		NEED(status == 100 && !has_len && !chunked, "1xx other than a bare 100 Continue");
		return off;
	}
	body = status != 204 && status != 304 && !head_only_at(at);
	if (!body)
		return off;
	if (has_len) {
		if (len - off < clen) {
			NEED(!complete, "body shorter than Content-Length");
			return 0;
		}
		return off + clen;
	}
	if (chunked) {
		for (;;) {
			size_t sz;

			n = line_at(p + off, len - off);
			if (n == -2 && !complete)
				return 0;
			NEED(n > 0 && parse_size(p + off, (size_t)n, 16, &sz), "bad chunk size line");
			off += (size_t)n + 2;
			if (sz == 0) {
				NEED(len - off >= 2 || !complete, "last chunk without its CRLF");
				if (len - off < 2)
					return 0;
				NEED(p[off] == '\r' && p[off + 1] == '\n', "trailers after the last chunk");
				return off + 2;
			}
			if (len - off < sz + 2) {
				NEED(!complete, "chunk cut off");
				return 0;
			}
			NEED(p[off + sz] == '\r' && p[off + sz + 1] == '\n', "chunk data without CRLF");
			off += sz + 2;
		}
	}
	/* Delimited by the close: the last thing on the connection. */
	NEED(*closes, "body without length that does not close");
	return len;
#undef NEED
}

static void check_output(bool complete)
{
	size_t at = 0;

	if (sink.len == sizeof(sink.out))
		return;
	while (at < sink.len) {
		bool closes;
		size_t k = check_response(at, complete, &closes);

		if (k == 0)
			return;
		at += k;
		if (closes && at != sink.len)
			fuzz_fail("bytes after a Connection: close answer");
	}
}

/* ---- driving the connection the way http_tcp.c does ---- */

/* The app's work outside the engine's calls: a deferred answer. */
static void app_step(void)
{
	if (deferred) {
		struct uc_http_response *res = deferred;

		deferred = NULL;
		if (deferred_how == 'r')
			uc_http_respond_ref(res, 200, NULL, pattern, FUZZ_STREAM_LEN);
		else if (deferred_how == 's')
			begin_stream(res, FUZZ_STREAM_LEN);
		else if (deferred_how == 'c')
			begin_stream(res, UC_HTTP_LENGTH_UNKNOWN);
		else
			uc_http_respond(res, 202, "text/plain", "later\n", 6);
	}
}

/* Flushes until nothing is pending (or the transport stops taking bytes). */
static void settle(struct http_conn *c)
{
	for (int spins = 0; http_conn_pending(c) && !http_conn_failed(c); spins++) {
		if (spins > FUZZ_SPINS)
			fuzz_fail("output never drains");
		sink.budget = sink.room;
		http_conn_flush(c);
		app_step();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[2][2] = { { 256, 1024 }, { 1024, 65536 } };
	size_t base, pos = 4;
	uint32_t seed;
	struct http_conn *c;

	if (size < 4)
		return 0;
	http_server_set_limits(limits[data[1] >> 2 & 1][0], limits[data[1] >> 2 & 1][1]);
	base = __sanitizer_get_current_allocated_bytes();
	sink.len = 0;
	sink.nwrites = 0;
	sink.room = data[0] ? (size_t)data[0] << (data[1] & 3) : 0;
	sink.budget = sink.room;
	sink.broken = false;
	sink.break_at = data[1] & 0x10 ? 1 + (size_t)data[0] * 37 : 0;
	seed = (uint32_t)data[2] << 8 | data[3];
	deferred = streaming = NULL;
	c = http_conn_new(&fuzz_transport, &sink);
	if (!c)
		fuzz_fail("http_conn_new");
	sink.conn = c;

	while (pos < size && !http_conn_done(c) && !http_conn_failed(c)) {
		size_t piece, off = 0;
		char *buf;

		seed = seed * 1103515245u + 12345u;
		piece = 1 + (seed >> 16) % FUZZ_MAX_PIECE;
		if (piece > size - pos)
			piece = size - pos;
		/* Its own heap block, freed after: a pointer kept into it is caught. */
		buf = malloc(piece);
		memcpy(buf, data + pos, piece);
		for (int spins = 0; off < piece && !http_conn_done(c) && !http_conn_failed(c);
		     spins++) {
			size_t n = http_conn_input(c, buf + off, piece - off);

			if (n > piece - off)
				fuzz_fail("consumed more than offered");
			off += n;
			settle(c);
			if (n == 0 && !http_conn_pending(c) && spins > 2)
				fuzz_fail("input refused with nothing pending");
			if (spins > FUZZ_SPINS)
				fuzz_fail("input never consumed");
		}
		free(buf);
		/* The engine may keep nothing of a segment it consumed. */
		pos += off;
		if (off < piece)
			break;
		app_step();
	}
	if (!http_conn_failed(c)) {
		http_conn_eof(c);
		settle(c);
	}
	check_output(!sink.broken && !http_conn_failed(c) && !sink.break_at);
	/* The client goes away; a response the app still holds is let go after. */
	http_conn_free(c);
	if (deferred) {
		struct uc_http_response *res = deferred;

		deferred = NULL;
		if (uc_http_respond(res, 200, NULL, "", 0) != -ECONNRESET)
			fuzz_fail("answer to a gone client not refused");
	}
	if (streaming) {
		struct uc_http_response *res = streaming;

		streaming = NULL;
		if (uc_http_end(res) != -ECONNRESET)
			fuzz_fail("stream to a gone client not refused");
	}
	http_server_set_limits(limits[1][0], limits[1][1]);   /* frees the recycled connection */
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "failed=%d done=%d gone=%d holds=%d streaming=%p deferred=%p out=%zu leak=%zd\n",
			c->failed, c->done, c->gone, c->app_holds, (void *)streaming, (void *)deferred, sink.len,
			(ssize_t)(__sanitizer_get_current_allocated_bytes() - base));
	if (__sanitizer_get_current_allocated_bytes() != base)
		fuzz_fail("bytes allocated by the engine were not freed");
	return 0;
}
