/* http.h: the HTTP/1.1 server an application can run (CONFIG_HTTP). */
#ifndef UNICYCLE_HTTP_H
#define UNICYCLE_HTTP_H

#include <stddef.h>

/*
 * Usage (see examples/http-hello):
 *
 *   static void hello(const struct uc_http_request *req,
 *                     struct uc_http_response *res)
 *   {
 *           uc_http_respond(res, 200, "text/plain", "hi\n", 3);
 *   }
 *
 *   int app_main(void)
 *   {
 *           uc_http_route("/", hello);
 *           uc_http_listen(80);
 *           uc_run();           // serves forever (see unicycle.h)
 *   }
 *
 * app_main() registers routes and starts listening, then hands the CPU to
 * the event loop with uc_run(), which never returns; a handler may end the
 * app with uc_exit(). Handlers run to completion on the event loop: they
 * must not block.
 *
 * Protocol behaviour: HTTP/1.1 with keep-alive (1.0 clients get it when
 * they ask with "Connection: keep-alive"), pipelined requests answered in
 * order, "Connection: close" honoured (the server closes after that
 * answer). Every response carries Content-Length. HEAD gets the headers of
 * the GET answer. Errors the server produces itself, each ending the
 * connection: 400 malformed request, 413 body above UC_HTTP_MAX_BODY,
 * 431 request line + headers above UC_HTTP_MAX_HEADER, 408 when they are
 * not complete within CONFIG_HTTP_HEADER_TIMEOUT_MS (of the connection's
 * start, or of the first byte after the previous answer; bytes do not move
 * it), 500 when
 * a handler returns without responding or deferring (connection kept),
 * 404 for unknown paths. `headers` are the header block's only: trailer
 * fields after a chunked body are read and dropped. Request bodies are buffered whole for the handler (up to
 * UC_HTTP_MAX_BODY), in a buffer that grows as the bytes arrive. The
 * server closes gracefully: it never answers late client bytes with a
 * reset that would destroy the response in flight.
 */

/* Size limits (bytes); set through CONFIG_HTTP_MAX_HEADER_SIZE and
 * CONFIG_HTTP_MAX_BODY_SIZE. */
#define UC_HTTP_MAX_HEADER_DEFAULT 8192
#define UC_HTTP_MAX_BODY_DEFAULT   65536
#define UC_HTTP_MAX_HEADERS        32    /* header lines kept per request */

struct uc_http_header {
	const char *name;   /* as sent, NUL-terminated */
	const char *value;  /* leading/trailing blanks removed */
};

/* A parsed request; valid only during the handler call. */
struct uc_http_request {
	const char *method;   /* "GET", "POST", ... */
	const char *path;     /* "/hello.txt": URL before '?', as sent */
	const char *query;    /* after '?', "" when none */
	const char *body;     /* NULL when empty; not NUL-terminated */
	size_t body_len;
	unsigned version_major, version_minor;
	unsigned nheaders;
	const struct uc_http_header *headers;
};

struct uc_http_response;  /* opaque: owned by the server */

typedef void (*uc_http_handler)(const struct uc_http_request *req,
				struct uc_http_response *res);

/* Value of header `name` (case-insensitive), NULL when absent. */
const char *uc_http_request_header(const struct uc_http_request *req,
				   const char *name);

/* Routes requests whose path equals `path` exactly (any method) to
 * `handler`. A path ending in '*' matches every path with that prefix.
 * The first matching route wins, in registration order.
 * Returns 0, -EINVAL (path not starting with '/', NULL handler), -ENOSPC
 * when the table (CONFIG_HTTP_MAX_ROUTES) is full. */
int uc_http_route(const char *path, uc_http_handler handler);

/* Adds a response header ("Name", "value"); call before uc_http_respond().
 * Content-Length and Connection are the server's: -EINVAL for those, and
 * for names or values containing CR or LF. -ENOSPC past the header space. */
int uc_http_header(struct uc_http_response *res, const char *name,
		   const char *value);

/* Sends the response: status line, headers, Content-Type (omitted when
 * NULL), Content-Length, then `len` bytes of `body` (copied before the
 * call returns). Call once per request, from the handler or, after
 * uc_http_defer(), later. Returns 0, -EALREADY on a second call, -EINVAL
 * for a status outside 100..599 or a NULL body with a length, -ENOMEM
 * when the data cannot be queued (the connection is then closed),
 * -ECONNRESET when a deferred response's client went away (the response
 * is freed). */
int uc_http_respond(struct uc_http_response *res, int status,
		    const char *content_type, const void *body, size_t len);

/* Like uc_http_respond(), but `body` is not copied: it is handed to the
 * connection as its send buffer drains, so an answer larger than the send
 * buffer streams out with backpressure. `body` must stay valid and
 * unchanged until the connection ends or answers its next request, e.g.
 * static or long-lived data. Same return codes. */
int uc_http_respond_ref(struct uc_http_response *res, int status,
			const char *content_type, const void *body, size_t len);

/*
 * Answering later. A handler may call uc_http_defer(res) and return; `res`
 * (and the request: its path, query, headers and body) stay valid until
 * the app answers with uc_http_respond()/uc_http_respond_ref() or starts a
 * stream with uc_http_begin(), from any callback on the event loop (a
 * timer, another connection's handler, a TCP or UDP callback). Further
 * pipelined requests on that connection wait, so answers keep their order.
 * If the client went away meanwhile, that call returns -ECONNRESET and
 * frees the response (and `res` is invalid afterwards): every deferred
 * response must be answered once, or its memory stays held.
 */
/* 0, or -EALREADY when `res` was already answered or deferred. */
int uc_http_defer(struct uc_http_response *res);

/*
 * Streaming a response of any size with backpressure:
 *
 *   uc_http_set_writable(res, more, state);   // before the first write
 *   uc_http_begin(res, 200, "text/plain", UC_HTTP_LENGTH_UNKNOWN);
 *   more(res, state);    // writes until uc_http_write() takes less than
 *                        // offered, then returns; `more` runs again when
 *                        // there is room; uc_http_end(res) after the last
 *
 * With a known length the response carries Content-Length and exactly that
 * many bytes must be written; UC_HTTP_LENGTH_UNKNOWN sends HTTP/1.1
 * clients Transfer-Encoding: chunked (one chunk per write) and ends an
 * HTTP/1.0 client's response by closing. HEAD and 204/304 answers send
 * the headers only; writes are accepted and dropped. The engine holds at
 * most a few KiB beyond what TCP's send buffer took, so memory stays
 * bounded whatever the size. Like a deferred response, a stream may start
 * from the handler or later, and the response belongs to the app until
 * uc_http_end(). If the client goes away, a writable callback that waits
 * for room runs once more; uc_http_write() then returns -ECONNRESET and
 * uc_http_end() returns -ECONNRESET and frees the response.
 */
#define UC_HTTP_LENGTH_UNKNOWN ((size_t)-1)

typedef void (*uc_http_writable_fn)(struct uc_http_response *res, void *arg);

/* Sends the status line and headers (uc_http_header() lines included).
 * 0; -EALREADY (already answered or begun), -EINVAL (status outside
 * 100..599, bad content type), -ENOMEM (cannot queue: the connection
 * closes and the response is over: no uc_http_write()/uc_http_end()
 * follows), -ECONNRESET (deferred and the client went away: freed). */
int uc_http_begin(struct uc_http_response *res, int status, const char *content_type,
		  size_t length);
/* `fn(res, arg)` runs from the event loop when a short uc_http_write()
 * can go on. Set it before writing; NULL turns it off. */
void uc_http_set_writable(struct uc_http_response *res, uc_http_writable_fn fn, void *arg);
/* Queues up to `len` bytes of body (copied). Returns the count taken:
 * `len`, or less when the buffers are full (the writable callback
 * follows); -EINVAL (no stream begun, or more than the declared length),
 * -EIO (the connection failed), -ECONNRESET (the client went away). */
long uc_http_write(struct uc_http_response *res, const void *buf, size_t len);
/* Ends the stream (the last chunk when chunked); the connection goes on
 * with its next request. 0; -EINVAL when no stream was begun, or fewer
 * bytes than the declared length were written (the connection is then
 * closed after them, so the client sees a short body); -EIO; -ECONNRESET
 * (the client went away; the response is freed either way). */
int uc_http_end(struct uc_http_response *res);

/* Starts listening on TCP `port` on every address (IPv4 and IPv6).
 * Returns 0, -EADDRINUSE, -ENOMEM, -ENODEV when there is no network. */
int uc_http_listen(unsigned port);

#endif
