/* http_server.c: HTTP/1.1 request parsing (http-parser), routing and response formatting. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicycle/http.h>

#include "http_parser.h"
#include "kernel/profile.h"
#include "net/http_server.h"

#define HTTP_MAX_ROUTES       32
#define HTTP_EXTRA_HEADERS    512   /* bytes of uc_http_header() lines per response */
#define HTTP_INLINE_RESPONSE  2048  /* header + body up to this go out in one write */
#define HTTP_PENDING_MIN      4096  /* first allocation of the pending-output buffer */
#define HTTP_PENDING_KEEP     65536 /* pending buffers above this are freed once drained */
#define HTTP_BODY_MIN         1024  /* first allocation for a chunked body */
#define HTTP_MAX_CONTENT_TYPE 256
#define HTTP_STREAM_BUFFER    16384 /* streamed bytes the engine holds beyond what the transport took */
#define HTTP_CHUNK_FRAME      16    /* "<hex>\r\n" before and "\r\n" after a chunk's bytes */

struct http_route {
	const char *path;
	size_t len;          /* without the trailing '*' of a prefix route */
	bool prefix;
	uc_http_handler handler;
};

static struct http_route http_routes[HTTP_MAX_ROUTES];
static unsigned http_nroutes;
static size_t http_max_header = UC_HTTP_MAX_HEADER_DEFAULT;
static size_t http_max_body = UC_HTTP_MAX_BODY_DEFAULT;
/* Freed connections kept for reuse (same header size), at most
 * HTTP_FREE_CONNS_MAX: a burst of clients must not keep its memory for good. */
#define HTTP_FREE_CONNS_MAX 16
static struct http_conn *http_free_conns;
static unsigned http_nfree_conns;

struct uc_http_response {
	struct http_conn *conn;
	bool responded;      /* status line written (respond, respond_ref, begin) */
	bool head_only;      /* HEAD: headers as for GET, no body */
	bool keep_alive;
	bool deferred;       /* uc_http_defer(): the handler returned without answering */
	bool streaming;      /* uc_http_begin() ran, uc_http_end() not yet */
	bool chunked;        /* streaming with Transfer-Encoding: chunked */
	bool no_body;        /* streaming a HEAD answer or a status without body */
	bool sized;          /* streaming with a declared length */
	bool want_writable;  /* uc_http_write() took less than offered */
	size_t left;         /* streaming with a declared length: bytes still due */
	const void *ref;     /* uc_http_respond_ref(): body bytes not yet written */
	size_t ref_len;
	uc_http_writable_fn writable;
	void *writable_arg;
	size_t extra_len;
	char extra[HTTP_EXTRA_HEADERS];
};

/* Where the header bytes now arriving belong. */
enum http_part { HTTP_PART_URL, HTTP_PART_FIELD, HTTP_PART_VALUE, HTTP_PART_DONE };

struct http_conn {
	http_parser parser;
	const struct http_transport *t;
	void *ctx;

	/* the request being parsed: URL and header lines live in hdr[] */
	enum http_part part;
	size_t used;
	size_t value_start;
	unsigned nheaders;
	struct uc_http_header headers[UC_HTTP_MAX_HEADERS];
	char *body;
	size_t body_len, body_cap;
	int error_status;    /* 413/431 chosen by a callback, 0 otherwise */
	bool in_header;      /* the next bytes belong to a header block (a new connection too) */
	bool begun;          /* ...and some of that block has arrived */
	bool between;        /* a request ended: the next byte (even a bare CRLF) starts the clock */

	/* the connection */
	bool done, failed;
	bool open;           /* a response is under way: input waits for it */
	bool app_holds;      /* deferred or streaming: the app will call respond/end */
	bool busy;           /* inside http_conn_input/flush: no resume call needed */
	bool gone;           /* the transport ended while the app held the response */
	bool freeing;        /* http_conn_free is telling the app */
	struct uc_http_request req;  /* kept for a deferred answer */
	char *pending;
	size_t pending_off, pending_len, pending_cap;
	struct uc_http_response res;
	struct http_conn *next_free;
	size_t hdr_cap;
	char hdr[];          /* hdr_cap bytes */
};

/* ---- small string helpers (no locale, no libc beyond string.h) ---- */

static char http_lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static bool http_strcaseeq(const char *a, const char *b)
{
	while (*a && http_lower(*a) == http_lower(*b)) {
		a++;
		b++;
	}
	return *a == *b;
}

static bool http_has_any(const char *s, const char *set)
{
	for (; *s; s++)
		if (strchr(set, *s))
			return true;
	return false;
}

static char *http_put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

static char *http_puts(char *p, const char *s)
{
	return http_put(p, s, strlen(s));
}

static char *http_putu(char *p, size_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default:  return "Unknown";
	}
}

/* ---- output ---- */

static void http_send(struct http_conn *c, const char *buf, size_t len)
{
	long n;

	if (c->failed || c->gone || len == 0)
		return;
	if (c->pending_len == 0) {
		n = c->t->write(c->ctx, buf, len);
		if (n < 0) {
			c->failed = true;
			return;
		}
		buf += n;
		len -= (size_t)n;
		if (len == 0)
			return;
	}
	/* Keep the rest, in order, until the transport has room. */
	if (c->pending_off + c->pending_len + len > c->pending_cap) {
		size_t need = c->pending_len + len;
		size_t cap = c->pending_cap ? c->pending_cap : HTTP_PENDING_MIN;
		char *p;

		while (cap < need)
			cap *= 2;
		p = malloc(cap);
		if (!p) {
			c->failed = true;
			return;
		}
		if (c->pending_len)
			memcpy(p, c->pending + c->pending_off, c->pending_len);
		free(c->pending);
		c->pending = p;
		c->pending_cap = cap;
		c->pending_off = 0;
	}
	memcpy(c->pending + c->pending_off + c->pending_len, buf, len);
	c->pending_len += len;
}

/* The response is complete: input may go on (the binding is told when
 * this happened outside its calls into the engine). */
static void http_res_complete(struct http_conn *c)
{
	c->open = false;
	c->app_holds = false;
	if (!c->res.keep_alive)
		c->done = true;
	if (!c->busy && !c->gone && c->t->resume)
		c->t->resume(c->ctx);
}

/* Writes what the transport takes of a referenced body (no copy). */
static void http_send_ref(struct http_conn *c)
{
	struct uc_http_response *res = &c->res;

	while (res->ref_len && !c->failed && c->pending_len == 0) {
		long n = c->t->write(c->ctx, res->ref, res->ref_len);

		if (n < 0) {
			c->failed = true;
			return;
		}
		if (n == 0)
			return;
		res->ref = (const char *)res->ref + n;
		res->ref_len -= (size_t)n;
		if (res->ref_len == 0)
			http_res_complete(c);
	}
}

void http_conn_flush(struct http_conn *c)
{
	struct uc_http_response *res = &c->res;
	bool was_busy = c->busy;

	c->busy = true;
	while (c->pending_len && !c->failed) {
		long n = c->t->write(c->ctx, c->pending + c->pending_off,
				     c->pending_len);

		if (n < 0) {
			c->failed = true;
			break;
		}
		if (n == 0)
			break;
		c->pending_off += (size_t)n;
		c->pending_len -= (size_t)n;
	}
	if (c->pending_len == 0) {
		c->pending_off = 0;
		if (c->pending_cap > HTTP_PENDING_KEEP) {
			free(c->pending);
			c->pending = NULL;
			c->pending_cap = 0;
		}
		http_send_ref(c);
		/* A stream that was held back: the app may write again. */
		if (res->streaming && res->want_writable && c->pending_len == 0 && !c->failed) {
			res->want_writable = false;
			if (res->writable)
				res->writable(res, res->writable_arg);
		}
	}
	c->busy = was_busy;
}

static bool http_status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

/* How the body is delimited. */
enum http_framing { HTTP_FRAME_LENGTH, HTTP_FRAME_CHUNKED, HTTP_FRAME_CLOSE };

/* The status line and headers into buf (HTTP_INLINE_RESPONSE bytes);
 * returns their length. */
static size_t http_head(struct uc_http_response *res, int status, const char *content_type,
			enum http_framing framing, size_t len, char *buf)
{
	struct http_conn *c = res->conn;
	char *p = buf;

	p = http_puts(p, "HTTP/1.1 ");
	p = http_putu(p, (size_t)status);
	*p++ = ' ';
	p = http_puts(p, http_reason(status));
	p = http_put(p, "\r\n", 2);
	if (content_type)
		p = http_put(http_puts(http_puts(p, "Content-Type: "), content_type), "\r\n", 2);
	if (http_status_has_body(status)) {
		if (framing == HTTP_FRAME_LENGTH)
			p = http_put(http_putu(http_puts(p, "Content-Length: "), len), "\r\n", 2);
		else if (framing == HTTP_FRAME_CHUNKED)
			p = http_puts(p, "Transfer-Encoding: chunked\r\n");
	}
	p = http_put(p, res->extra, res->extra_len);
	if (!res->keep_alive)
		p = http_puts(p, "Connection: close\r\n");
	else if (c->parser.http_major == 1 && c->parser.http_minor == 0)
		p = http_puts(p, "Connection: keep-alive\r\n");
	p = http_put(p, "\r\n", 2);
	return (size_t)(p - buf);
}

/* The app is done with a response whose client went away: free it now,
 * or once http_conn_free() has finished telling the app. */
static int http_res_gone(struct http_conn *c)
{
	c->app_holds = false;
	if (!c->freeing)
		http_conn_free(c);
	return -ECONNRESET;
}

/* Checks shared by respond, respond_ref and begin (a gone client frees). */
static int http_check_start(struct uc_http_response *res, int status, const char *content_type)
{
	if (res->conn->gone)
		return http_res_gone(res->conn);
	if (res->responded)
		return -EALREADY;
	if (status < 100 || status > 599)
		return -EINVAL;
	if (content_type && (http_has_any(content_type, "\r\n") ||
			     strlen(content_type) > HTTP_MAX_CONTENT_TYPE))
		return -EINVAL;
	return 0;
}

static int http_respond_common(struct uc_http_response *res, int status,
			       const char *content_type, const void *body, size_t len, bool ref)
{
	struct http_conn *c = res->conn;
	char buf[HTTP_INLINE_RESPONSE];
	size_t hlen, blen;
	int rc;

	rc = http_check_start(res, status, content_type);
	if (rc < 0)
		return rc;
	if (!body && len)
		return -EINVAL;
	res->responded = true;
	res->deferred = false;
	/* The engine finishes the answer from here (a referenced body too):
	 * a deferred response is no longer the app's, so a client that goes
	 * away before the body is out frees the connection. */
	c->app_holds = false;
	hlen = http_head(res, status, content_type, HTTP_FRAME_LENGTH, len, buf);
	blen = res->head_only || !http_status_has_body(status) ? 0 : len;
	if (ref && blen) {
		http_send(c, buf, hlen);
		res->ref = body;
		res->ref_len = blen;
		http_send_ref(c);   /* completes once the transport took it all */
	} else {
		if (blen <= sizeof(buf) - hlen) {
			if (blen)
				memcpy(buf + hlen, body, blen);
			http_send(c, buf, hlen + blen);
		} else {
			http_send(c, buf, hlen);
			http_send(c, body, blen);
		}
		http_res_complete(c);
	}
	return c->failed ? -ENOMEM : 0;
}

int uc_http_respond(struct uc_http_response *res, int status,
		    const char *content_type, const void *body, size_t len)
{
	return http_respond_common(res, status, content_type, body, len, false);
}

int uc_http_respond_ref(struct uc_http_response *res, int status,
			const char *content_type, const void *body, size_t len)
{
	return http_respond_common(res, status, content_type, body, len, true);
}

int uc_http_defer(struct uc_http_response *res)
{
	struct http_conn *c = res->conn;

	if (res->responded || res->deferred || !c->open)
		return -EALREADY;
	res->deferred = true;
	c->app_holds = true;
	return 0;
}

int uc_http_begin(struct uc_http_response *res, int status, const char *content_type,
		  size_t length)
{
	struct http_conn *c = res->conn;
	char buf[HTTP_INLINE_RESPONSE];
	enum http_framing framing = HTTP_FRAME_LENGTH;
	int rc;

	rc = http_check_start(res, status, content_type);
	if (rc < 0)
		return rc;
	res->no_body = res->head_only || !http_status_has_body(status);
	if (length == UC_HTTP_LENGTH_UNKNOWN) {
		bool http11 = c->parser.http_major == 1 && c->parser.http_minor >= 1;

		framing = http11 ? HTTP_FRAME_CHUNKED : HTTP_FRAME_CLOSE;
		if (!http11)
			res->keep_alive = false;  /* RFC 9112 sec 6.3: the close ends the body */
		res->chunked = http11 && !res->no_body;
		res->left = 0;
	} else {
		res->sized = true;
		res->left = res->no_body ? 0 : length;
	}
	res->responded = true;
	res->deferred = false;
	res->streaming = true;
	res->want_writable = false;
	c->app_holds = true;
	http_send(c, buf, http_head(res, status, content_type, framing, length, buf));
	if (c->failed) {
		/* Nothing will be streamed and the app is told so: it lets go
		 * of the response without uc_http_end(), so the engine must. */
		res->streaming = false;
		c->app_holds = false;
		return -ENOMEM;
	}
	return 0;
}

void uc_http_set_writable(struct uc_http_response *res, uc_http_writable_fn fn, void *arg)
{
	res->writable = fn;
	res->writable_arg = arg;
}

long uc_http_write(struct uc_http_response *res, const void *buf, size_t len)
{
	struct http_conn *c = res->conn;
	char frame[HTTP_CHUNK_FRAME];
	size_t take, room;

	if (c->gone)
		return -ECONNRESET;
	if (!res->streaming || (!buf && len))
		return -EINVAL;
	if (c->failed)
		return -EIO;
	if (res->no_body)
		return (long)len;     /* HEAD: same code path, nothing sent */
	if (res->sized && len > res->left)
		return -EINVAL;       /* past the declared Content-Length */
	room = c->pending_len < HTTP_STREAM_BUFFER ? HTTP_STREAM_BUFFER - c->pending_len : 0;
	take = len < room ? len : room;
	if (take < len)
		res->want_writable = true;
	if (take == 0)
		return 0;
	if (res->chunked) {
		char *p = frame;
		static const char hex[] = "0123456789abcdef";
		int shift = 0;

		while ((take >> shift) >> 4)
			shift += 4;
		for (; shift >= 0; shift -= 4)
			*p++ = hex[(take >> shift) & 0xf];
		p = http_put(p, "\r\n", 2);
		http_send(c, frame, (size_t)(p - frame));
	}
	http_send(c, buf, take);
	if (res->chunked)
		http_send(c, "\r\n", 2);
	if (res->sized)
		res->left -= take;
	return c->failed ? -EIO : (long)take;
}

int uc_http_end(struct uc_http_response *res)
{
	struct http_conn *c = res->conn;
	static const char last_chunk[] = "0\r\n\r\n";
	int rc = 0;

	if (c->gone)
		return http_res_gone(c);
	if (!res->streaming)
		return -EINVAL;
	res->streaming = false;
	res->want_writable = false;
	if (res->chunked)
		http_send(c, last_chunk, sizeof(last_chunk) - 1);
	if (res->sized && res->left) {
		res->keep_alive = false;  /* fewer bytes than declared: the close tells */
		rc = -EINVAL;
	}
	http_res_complete(c);
	return c->failed ? -EIO : rc;
}

int uc_http_header(struct uc_http_response *res, const char *name,
		   const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	char *p;

	if (nl == 0 || http_has_any(name, "\r\n: \t") || http_has_any(value, "\r\n") ||
	    http_strcaseeq(name, "content-length") ||
	    http_strcaseeq(name, "connection") ||
	    http_strcaseeq(name, "transfer-encoding"))
		return -EINVAL;
	if (res->responded)
		return -EALREADY;
	if (res->extra_len + nl + vl + 4 > sizeof(res->extra))
		return -ENOSPC;
	p = res->extra + res->extra_len;
	p = http_put(p, name, nl);
	p = http_put(p, ": ", 2);
	p = http_put(p, value, vl);
	p = http_put(p, "\r\n", 2);
	res->extra_len = (size_t)(p - res->extra);
	return 0;
}

/* A fresh response for the request just parsed. */
static void http_res_reset(struct http_conn *c, bool head_only, bool keep_alive)
{
	struct uc_http_response *res = &c->res;

	memset(res, 0, offsetof(struct uc_http_response, extra));
	res->conn = c;
	res->head_only = head_only;
	res->keep_alive = keep_alive;
}

/* Answers an error the server detected itself and ends the connection. */
static void http_conn_error(struct http_conn *c, int status)
{
	const char *reason = http_reason(status);
	struct uc_http_response *res = &c->res;
	char body[64];
	size_t n = strlen(reason);

	memcpy(body, reason, n);
	body[n++] = '\n';
	http_res_reset(c, false, false);
	c->open = true;
	uc_http_respond(res, status, "text/plain", body, n);
	c->done = true;
}

/* ---- routing ---- */

int uc_http_route(const char *path, uc_http_handler handler)
{
	struct http_route *r;
	size_t len;

	if (!path || path[0] != '/' || !handler)
		return -EINVAL;
	if (http_nroutes == HTTP_MAX_ROUTES)
		return -ENOSPC;
	r = &http_routes[http_nroutes++];
	len = strlen(path);
	r->path = path;
	r->prefix = path[len - 1] == '*';
	r->len = r->prefix ? len - 1 : len;
	r->handler = handler;
	return 0;
}

void http_server_reset_routes(void)
{
	http_nroutes = 0;
}

static uc_http_handler http_route_find(const char *path)
{
	size_t len = strlen(path);
	unsigned i;

	for (i = 0; i < http_nroutes; i++) {
		const struct http_route *r = &http_routes[i];

		if (r->prefix ? len >= r->len && !memcmp(path, r->path, r->len)
			      : len == r->len && !memcmp(path, r->path, len))
			return r->handler;
	}
	return NULL;
}

const char *uc_http_request_header(const struct uc_http_request *req,
				   const char *name)
{
	unsigned i;

	for (i = 0; i < req->nheaders; i++)
		if (http_strcaseeq(req->headers[i].name, name))
			return req->headers[i].value;
	return NULL;
}

static void http_dispatch(struct http_conn *c)
{
	static const char not_found[] = "Not Found\n";
	static const char no_answer[] = "Internal Server Error\n";
	struct uc_http_request *req = &c->req;
	struct uc_http_response *res = &c->res;
	uc_http_handler handler;
	char *query;

	req->method = http_method_str((enum http_method)c->parser.method);
	req->path = c->hdr;
	query = strchr(c->hdr, '?');
	if (query)
		*query++ = '\0';
	req->query = query ? query : "";
	req->body = c->body_len ? c->body : NULL;
	req->body_len = c->body_len;
	req->version_major = c->parser.http_major;
	req->version_minor = c->parser.http_minor;
	req->nheaders = c->nheaders;
	req->headers = c->headers;

	http_res_reset(c, c->parser.method == HTTP_HEAD,
		       http_should_keep_alive(&c->parser) && !c->parser.upgrade);
	c->open = true;
	PROFILE_REQUEST();
	handler = http_route_find(req->path);
	PROFILE_ENTER(PROFILE_HTTP_HANDLER);
	if (handler)
		handler(req, res);
	else
		uc_http_respond(res, 404, "text/plain", not_found, sizeof(not_found) - 1);
	PROFILE_EXIT(PROFILE_HTTP_HANDLER);
	if (!res->responded && !res->deferred) {
		res->extra_len = 0;
		uc_http_respond(res, 500, "text/plain", no_answer, sizeof(no_answer) - 1);
	}
}

/* ---- http-parser callbacks ---- */

static int http_append(struct http_conn *c, const char *at, size_t len)
{
	/* hdr_cap is max_header + 2 and http-parser stops at max_header raw
	 * bytes, so this only trips on a broken invariant. */
	if (c->used + len + 1 > c->hdr_cap) {
		c->error_status = 431;
		return -1;
	}
	memcpy(c->hdr + c->used, at, len);
	c->used += len;
	return 0;
}

/* Ends the URL or the value in progress with a NUL. */
static void http_end_part(struct http_conn *c)
{
	if (c->part == HTTP_PART_VALUE) {
		while (c->used > c->value_start &&
		       (c->hdr[c->used - 1] == ' ' || c->hdr[c->used - 1] == '\t'))
			c->used--;
	}
	if (c->part != HTTP_PART_DONE)
		c->hdr[c->used++] = '\0';
}

static int http_on_message_begin(http_parser *p)
{
	struct http_conn *c = p->data;

	c->part = HTTP_PART_URL;
	c->in_header = true;
	c->begun = true;
	c->between = false;
	c->used = 0;
	c->nheaders = 0;
	c->body_len = 0;
	c->error_status = 0;
	return 0;
}

static int http_on_url(http_parser *p, const char *at, size_t len)
{
	return http_append(p->data, at, len);
}

/*
 * Chunked trailer fields (RFC 9112 sec 7.1.2) arrive through the same two
 * callbacks after the body, when the header block is DONE. They are
 * dropped: merged into the headers, a trailer could supply a field the
 * real header block lacked (Host, or one the handler trusts). RFC 9110
 * sec 6.5.1 lets a recipient discard trailers it does not process;
 * http-parser still counts their bytes against the header limit.
 */
static int http_on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (c->part == HTTP_PART_DONE)
		return 0;   /* a trailer: dropped */
	if (c->part != HTTP_PART_FIELD) {
		http_end_part(c);
		if (c->nheaders == UC_HTTP_MAX_HEADERS) {
			c->error_status = 431;
			return -1;
		}
		c->headers[c->nheaders].name = c->hdr + c->used;
		c->headers[c->nheaders].value = "";
		c->nheaders++;
		c->part = HTTP_PART_FIELD;
	}
	return http_append(c, at, len);
}

static int http_on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (c->part == HTTP_PART_DONE)
		return 0;   /* a trailer: dropped */
	if (c->part == HTTP_PART_FIELD) {
		http_end_part(c);
		c->value_start = c->used;
		c->headers[c->nheaders - 1].value = c->hdr + c->used;
		c->part = HTTP_PART_VALUE;
	}
	return http_append(c, at, len);
}

static int http_reserve_body(struct http_conn *c, size_t need)
{
	size_t cap;
	char *b;

	if (need <= c->body_cap)
		return 0;
	cap = c->body_cap ? c->body_cap : HTTP_BODY_MIN;
	while (cap < need)
		cap *= 2;
	if (cap > http_max_body)
		cap = http_max_body;
	/* A declared length is the most this body needs (http-parser has
	 * already counted the bytes being delivered out of content_length). */
	if (!(c->parser.flags & F_CHUNKED) && c->parser.content_length != ULLONG_MAX &&
	    cap - need > c->parser.content_length)
		cap = need + (size_t)c->parser.content_length;
	b = realloc(c->body, cap);
	if (!b)
		return -ENOMEM;
	c->body = b;
	c->body_cap = cap;
	return 0;
}

static int http_on_headers_complete(http_parser *p)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct http_conn *c = p->data;
	const char *expect = NULL;
	unsigned i;

	http_end_part(c);
	c->part = HTTP_PART_DONE;
	c->in_header = false;
	c->begun = false;
	/* Refused early when too large, but not reserved: the body buffer
	 * grows as bytes arrive (a header-only request costs no body). */
	if (p->content_length != ULLONG_MAX && p->content_length > http_max_body) {
		c->error_status = 413;
		return -1;
	}
	for (i = 0; i < c->nheaders; i++)
		if (http_strcaseeq(c->headers[i].name, "expect"))
			expect = c->headers[i].value;
	/* RFC 9110 sec 10.1.1: answer 100 before reading the body. */
	if (expect && http_strcaseeq(expect, "100-continue") &&
	    p->http_major == 1 && p->http_minor >= 1 &&
	    (p->content_length != ULLONG_MAX || (p->flags & F_CHUNKED)))
		http_send(c, cont, sizeof(cont) - 1);
	return 0;
}

static int http_on_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (len > http_max_body - c->body_len) {
		c->error_status = 413;
		return -1;
	}
	if (http_reserve_body(c, c->body_len + len) < 0) {
		c->failed = true;
		return -1;
	}
	memcpy(c->body + c->body_len, at, len);
	c->body_len += len;
	return 0;
}

static int http_on_message_complete(http_parser *p)
{
	struct http_conn *c = p->data;

	c->between = true;
	http_dispatch(c);
	/* Stop here when the answer did not fit or ends the connection; the
	 * transport offers the remaining bytes again later. */
	if (c->pending_len || c->open || c->done || c->failed || p->upgrade)
		http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings http_settings = {
	.on_message_begin = http_on_message_begin,
	.on_url = http_on_url,
	.on_header_field = http_on_header_field,
	.on_header_value = http_on_header_value,
	.on_headers_complete = http_on_headers_complete,
	.on_body = http_on_body,
	.on_message_complete = http_on_message_complete,
};

/* ---- connections ---- */

void http_server_set_limits(size_t max_header, size_t max_body)
{
	struct http_conn *c;

	http_max_header = max_header;
	http_max_body = max_body;
	/* http-parser counts the request line and headers against this. */
	http_parser_set_max_header_size((uint32_t)max_header);
	while ((c = http_free_conns)) {
		http_free_conns = c->next_free;
		free(c);
	}
	http_nfree_conns = 0;
}

struct http_conn *http_conn_new(const struct http_transport *t, void *ctx)
{
	struct http_conn *c = http_free_conns;
	size_t cap = http_max_header + 2;

	if (c) {
		http_free_conns = c->next_free;
		http_nfree_conns--;
	} else {
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->in_header = true;   /* the first request's header block is due */
	c->hdr_cap = cap;
	c->t = t;
	c->ctx = ctx;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	return c;
}

void http_conn_free(struct http_conn *c)
{
	struct uc_http_response *res;

	if (!c)
		return;
	res = &c->res;
	if (c->app_holds && !c->gone) {
		/* The app still holds the response: keep everything (its request
		 * too) until it calls uc_http_respond()/uc_http_end(), which then
		 * return -ECONNRESET. A stream waiting for room hears it now. */
		c->gone = true;
		if (res->streaming && res->want_writable && res->writable) {
			c->freeing = true;
			res->want_writable = false;
			res->writable(res, res->writable_arg);
			c->freeing = false;
		}
		if (c->app_holds)
			return;
	}
	free(c->body);
	free(c->pending);
	c->body = NULL;
	c->pending = NULL;
	if (http_nfree_conns >= HTTP_FREE_CONNS_MAX) {
		free(c);
		return;
	}
	c->next_free = http_free_conns;
	http_free_conns = c;
	http_nfree_conns++;
}

size_t http_conn_input(struct http_conn *c, const char *data, size_t len)
{
	size_t n;
	enum http_errno err;

	if (c->done || c->failed || http_conn_pending(c) || len == 0)
		return 0;
	/* http-parser skips CRLFs before a request without a callback: count
	 * them as the header block's start, or a client could hold the
	 * connection by sending one now and then. */
	if (c->between)
		c->in_header = true;
	c->busy = true;
	PROFILE_ENTER(PROFILE_HTTP_PARSE);
	n = http_parser_execute(&c->parser, &http_settings, data, len);
	PROFILE_EXIT(PROFILE_HTTP_PARSE);
	c->busy = false;
	err = HTTP_PARSER_ERRNO(&c->parser);
	if (err == HPE_PAUSED) {
		http_parser_pause(&c->parser, 0);
		if (c->parser.upgrade)
			c->done = true; /* no protocol switch: end here */
		return n;
	}
	if (err != HPE_OK) {
		if (c->failed)
			return len;
		http_conn_error(c, c->error_status ? c->error_status :
				   err == HPE_HEADER_OVERFLOW ? 431 : 400);
		return len; /* the rest is read and dropped: we close */
	}
	if (c->parser.upgrade)
		c->done = true;
	return n;
}

void http_conn_eof(struct http_conn *c)
{
	c->done = true;
}

bool http_conn_in_header(const struct http_conn *c)
{
	return c->in_header && !c->done && !c->failed;
}

void http_conn_timeout(struct http_conn *c)
{
	/* RFC 9110 sec 15.5.9: 408 when a request began but did not finish
	 * in time; a connection that sent nothing just closes. */
	if (http_conn_in_header(c) && c->begun && !http_conn_pending(c)) {
		c->busy = true;   /* the binding is ending the connection: no resume call */
		http_conn_error(c, 408);
		c->busy = false;
	}
	c->done = true;
}

bool http_conn_pending(const struct http_conn *c)
{
	return c->pending_len != 0 || c->open;
}

bool http_conn_done(const struct http_conn *c)
{
	return c->done;
}

bool http_conn_failed(const struct http_conn *c)
{
	return c->failed;
}
