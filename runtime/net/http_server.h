/* http_server.h: the HTTP/1.1 protocol engine, apart from any TCP stack (host-testable). */
#ifndef UNICYCLE_NET_HTTP_SERVER_H
#define UNICYCLE_NET_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * http_server.c parses requests (http-parser), routes them to the handlers
 * of <unicycle/http.h> and formats the responses. It knows the connection
 * only through `struct http_transport`; http_tcp.c binds it to
 * <unicycle/tcp.h> and tests/unit/test_net_http.c to a memory buffer.
 *
 * Driving a connection (all calls from one thread):
 *   c = http_conn_new(&transport, ctx);
 *   on data:      n = http_conn_input(c, data, len);   keep data[n..len)
 *   on writable:  http_conn_flush(c);  then offer the kept data again
 *   after each:   http_conn_failed(c)  -> abort the connection;
 *                 http_conn_pending(c) -> wait for writable;
 *                 http_conn_done(c)    -> nothing pending: close it;
 *   on resume:    (a deferred or streamed answer finished outside these
 *                 calls) feed the kept data again, as after writable;
 *   when gone:    http_conn_free(c).
 * http_conn_input() consumes nothing while output is pending, while an
 * answer is under way (deferred, streamed, or a referenced body being
 * written) or after the connection is done, so answers stay in request
 * order and a pipelining client is paced by its own reading.
 * http_conn_free() of a connection whose response the app still holds
 * (uc_http_defer, uc_http_begin) keeps it until the app lets go.
 */

struct http_conn;

struct http_transport {
	/* Queues up to `len` bytes for sending, copying them. Returns the
	 * bytes taken (0 when the send buffer is full) or a negative errno
	 * when the connection is broken. */
	long (*write)(void *ctx, const void *buf, size_t len);
	/* OPTIONAL. The engine takes input again: an answer finished outside
	 * http_conn_input/http_conn_flush (from a timer, another connection).
	 * May run from any event-loop callback. */
	void (*resume)(void *ctx);
};

/* Limits for every connection (defaults: UC_HTTP_MAX_*_DEFAULT); set
 * before the first connection. */
void http_server_set_limits(size_t max_header, size_t max_body);

/* NULL when out of memory. */
struct http_conn *http_conn_new(const struct http_transport *t, void *ctx);
void http_conn_free(struct http_conn *c);

/* Feeds received bytes; returns how many were consumed. */
size_t http_conn_input(struct http_conn *c, const char *data, size_t len);
/* The peer finished sending (FIN): answer what is complete, then done. */
void http_conn_eof(struct http_conn *c);
/* Retries pending output after the transport made room. */
void http_conn_flush(struct http_conn *c);

/* True from the connection's start, and from a request's first byte,
 * until that request's header block is complete: the binding's header
 * deadline runs meanwhile. */
bool http_conn_in_header(const struct http_conn *c);
/* The binding's deadline passed: answers 408 Request Timeout when a
 * header block had begun (nothing when the client sent nothing), then
 * the connection is done. */
void http_conn_timeout(struct http_conn *c);

bool http_conn_pending(const struct http_conn *c);  /* output waiting or an answer under way */
bool http_conn_done(const struct http_conn *c);     /* close once nothing is pending */
bool http_conn_failed(const struct http_conn *c);   /* transport error or out of memory */

/* Drops every route (tests). */
void http_server_reset_routes(void);

#endif
