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
 * 431 request line + headers above UC_HTTP_MAX_HEADER, 500 when a handler
 * returns without responding (connection kept), 404 for unknown paths.
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
 * call returns). Call once per request. Returns 0, -EALREADY on a second
 * call, -EINVAL for a status outside 100..599, -ENOMEM when the data
 * cannot be queued (the connection is then closed). */
int uc_http_respond(struct uc_http_response *res, int status,
		    const char *content_type, const void *body, size_t len);

/* Starts listening on TCP `port` on every address (IPv4 and IPv6).
 * Returns 0, -EADDRINUSE, -ENOMEM, -ENODEV when there is no network. */
int uc_http_listen(unsigned port);

#endif
