/* http_server.c: HTTP/1.1 request parsing (http-parser), routing and response formatting. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicycle/http.h>

#include "http_parser.h"
#include "net/http_server.h"

#define HTTP_MAX_ROUTES       32
#define HTTP_EXTRA_HEADERS    512   /* bytes of uc_http_header() lines per response */
#define HTTP_INLINE_RESPONSE  2048  /* header + body up to this go out in one write */
#define HTTP_PENDING_MIN      4096  /* first allocation of the pending-output buffer */
#define HTTP_PENDING_KEEP     65536 /* pending buffers above this are freed once drained */
#define HTTP_BODY_MIN         1024  /* first allocation for a chunked body */
#define HTTP_MAX_CONTENT_TYPE 256

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
static struct http_conn *http_free_conns;  /* recycled, same header size */

struct uc_http_response {
	struct http_conn *conn;
	bool responded;
	bool head_only;      /* HEAD: headers as for GET, no body */
	bool keep_alive;
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

	/* the connection */
	bool done, failed;
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

	if (c->failed || len == 0)
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

void http_conn_flush(struct http_conn *c)
{
	while (c->pending_len && !c->failed) {
		long n = c->t->write(c->ctx, c->pending + c->pending_off,
				     c->pending_len);

		if (n < 0) {
			c->failed = true;
			return;
		}
		if (n == 0)
			return;
		c->pending_off += (size_t)n;
		c->pending_len -= (size_t)n;
	}
	c->pending_off = 0;
	if (c->pending_cap > HTTP_PENDING_KEEP) {
		free(c->pending);
		c->pending = NULL;
		c->pending_cap = 0;
	}
}

static bool http_status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

int uc_http_respond(struct uc_http_response *res, int status,
		    const char *content_type, const void *body, size_t len)
{
	struct http_conn *c = res->conn;
	char buf[HTTP_INLINE_RESPONSE];
	char *p = buf;
	size_t hlen, blen;
	const char *reason;

	if (res->responded)
		return -EALREADY;
	if (status < 100 || status > 599)
		return -EINVAL;
	if (content_type && (http_has_any(content_type, "\r\n") ||
			     strlen(content_type) > HTTP_MAX_CONTENT_TYPE))
		return -EINVAL;
	res->responded = true;
	reason = http_reason(status);
	p = http_puts(p, "HTTP/1.1 ");
	p = http_putu(p, (size_t)status);
	*p++ = ' ';
	p = http_puts(p, reason);
	p = http_put(p, "\r\n", 2);
	if (content_type)
		p = http_put(http_puts(http_puts(p, "Content-Type: "), content_type), "\r\n", 2);
	if (http_status_has_body(status)) {
		p = http_puts(p, "Content-Length: ");
		p = http_put(http_putu(p, len), "\r\n", 2);
	}
	p = http_put(p, res->extra, res->extra_len);
	if (!res->keep_alive)
		p = http_puts(p, "Connection: close\r\n");
	else if (c->parser.http_major == 1 && c->parser.http_minor == 0)
		p = http_puts(p, "Connection: keep-alive\r\n");
	p = http_put(p, "\r\n", 2);
	hlen = (size_t)(p - buf);

	blen = res->head_only || !http_status_has_body(status) ? 0 : len;
	if (blen <= sizeof(buf) - hlen) {
		if (blen)
			memcpy(p, body, blen);
		http_send(c, buf, hlen + blen);
	} else {
		http_send(c, buf, hlen);
		http_send(c, body, blen);
	}
	if (!res->keep_alive)
		c->done = true;
	return c->failed ? -ENOMEM : 0;
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

/* Answers an error the server detected itself and ends the connection. */
static void http_conn_error(struct http_conn *c, int status)
{
	const char *reason = http_reason(status);
	struct uc_http_response *res = &c->res;
	char body[64];
	size_t n = strlen(reason);

	memcpy(body, reason, n);
	body[n++] = '\n';
	res->conn = c;
	res->responded = false;
	res->head_only = false;
	res->keep_alive = false;
	res->extra_len = 0;
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
	struct uc_http_request req;
	struct uc_http_response *res = &c->res;
	uc_http_handler handler;
	char *query;

	req.method = http_method_str((enum http_method)c->parser.method);
	req.path = c->hdr;
	query = strchr(c->hdr, '?');
	if (query)
		*query++ = '\0';
	req.query = query ? query : "";
	req.body = c->body_len ? c->body : NULL;
	req.body_len = c->body_len;
	req.version_major = c->parser.http_major;
	req.version_minor = c->parser.http_minor;
	req.nheaders = c->nheaders;
	req.headers = c->headers;

	res->conn = c;
	res->responded = false;
	res->head_only = c->parser.method == HTTP_HEAD;
	res->keep_alive = http_should_keep_alive(&c->parser) && !c->parser.upgrade;
	res->extra_len = 0;

	handler = http_route_find(req.path);
	if (handler)
		handler(&req, res);
	else
		uc_http_respond(res, 404, "text/plain", not_found, sizeof(not_found) - 1);
	if (!res->responded) {
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

static int http_on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

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
	if (p->content_length != ULLONG_MAX && p->content_length > 0) {
		if (p->content_length > http_max_body) {
			c->error_status = 413;
			return -1;
		}
		if (http_reserve_body(c, (size_t)p->content_length) < 0) {
			c->failed = true;
			return -1;
		}
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

	if (c->part != HTTP_PART_DONE) { /* chunked trailers came after the body */
		http_end_part(c);
		c->part = HTTP_PART_DONE;
	}
	http_dispatch(c);
	/* Stop here when the answer did not fit or ends the connection; the
	 * transport offers the remaining bytes again later. */
	if (c->pending_len || c->done || c->failed || p->upgrade)
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
}

struct http_conn *http_conn_new(const struct http_transport *t, void *ctx)
{
	struct http_conn *c = http_free_conns;
	size_t cap = http_max_header + 2;

	if (c) {
		http_free_conns = c->next_free;
	} else {
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->hdr_cap = cap;
	c->t = t;
	c->ctx = ctx;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	return c;
}

void http_conn_free(struct http_conn *c)
{
	if (!c)
		return;
	free(c->body);
	free(c->pending);
	c->body = NULL;
	c->pending = NULL;
	c->next_free = http_free_conns;
	http_free_conns = c;
}

size_t http_conn_input(struct http_conn *c, const char *data, size_t len)
{
	size_t n;
	enum http_errno err;

	if (c->done || c->failed || c->pending_len || len == 0)
		return 0;
	n = http_parser_execute(&c->parser, &http_settings, data, len);
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

bool http_conn_pending(const struct http_conn *c)
{
	return c->pending_len != 0;
}

bool http_conn_done(const struct http_conn *c)
{
	return c->done;
}

bool http_conn_failed(const struct http_conn *c)
{
	return c->failed;
}
