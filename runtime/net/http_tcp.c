/* http_tcp.c: binds the HTTP engine (http_server.c) to <unicycle/tcp.h>; uc_http_listen(). */
#include <errno.h>
#include <stdlib.h>

#include "kernel/kernel.h"
#include "kernel/profile.h"
#include "net/http_server.h"
#include "net/http_profile.h"
#include "net/http_stats.h"
#include "net/net.h"
#include <unicycle/http.h>
#include <unicycle/tcp.h>

/*
 * Per connection: the TCP connection and the engine's http_conn. The
 * engine reads straight from the connection's receive queue (no copy);
 * bytes are consumed only as the engine takes them, and it takes none
 * while an answer waits for send-buffer room or for the app (deferred,
 * streamed), so TCP's window paces a pipelining client. Closing is
 * uc_tcp_close(): FIN after the answer, late client bytes read and dropped,
 * never a reset over the answer.
 *
 * Holding connections: a request's header block must be complete within
 * CONFIG_HTTP_HEADER_TIMEOUT_MS of the connection's start (first request)
 * or of the first byte after the previous answer, a deadline bytes do not move
 * (uc_tcp_set_deadline); past it the client gets 408 and a close. Between
 * requests the idle timeout applies. A connection is evictable (a new
 * client may take its slot when the pool is full) except while an answer
 * is under way; tcp.c caps connections per peer.
 */

#define HT_IDLE_MS 60000u  /* a connection without traffic closes after 60 s */
#define HT_IOV_MAX 8       /* receive-queue views per pass */
#define HT_HEADER_MS CONFIG_HTTP_HEADER_TIMEOUT_MS

#ifndef CONFIG_HTTP_MAX_HEADER
#define CONFIG_HTTP_MAX_HEADER UC_HTTP_MAX_HEADER_DEFAULT
#endif
#ifndef CONFIG_HTTP_MAX_BODY
#define CONFIG_HTTP_MAX_BODY UC_HTTP_MAX_BODY_DEFAULT
#endif

struct ht_conn {
	struct uc_tcp *tcp;
	struct http_conn *http;
	bool peer_closed;
	bool processing;   /* ht_process on the stack */
	bool again;        /* ...and asked to run once more */
	bool header_due;   /* the header deadline is set */
	bool busy;         /* an answer is under way: not evictable */
};

static bool ht_limits_set;

static long ht_write(void *ctx, const void *buf, size_t len)
{
	struct ht_conn *hc = ctx;
	long n = uc_tcp_send(hc->tcp, buf, len, 0);

	return n < 0 ? -EIO : n;
}

static void ht_process(struct ht_conn *hc);

static void ht_resume(void *ctx)
{
	ht_process(ctx);
}

static const struct http_transport ht_transport = { .write = ht_write, .resume = ht_resume };

/* Header deadline and evictability follow the engine's state. */
static void ht_watch(struct ht_conn *hc)
{
	bool due = http_conn_in_header(hc->http);
	bool busy = http_conn_pending(hc->http);

	if (due != hc->header_due) {
		hc->header_due = due;
		uc_tcp_set_deadline(hc->tcp, due ? HT_HEADER_MS : 0);
	}
	if (busy != hc->busy) {
		hc->busy = busy;
		uc_tcp_set_evictable(hc->tcp, !busy);
	}
}

static void ht_free(struct ht_conn *hc)
{
	http_conn_free(hc->http);   /* kept by the engine while the app holds a response */
	free(hc);
}

/* Feeds queued bytes to the engine while it takes them. */
static void ht_feed(struct ht_conn *hc)
{
	struct http_conn *h = hc->http;

	while (!http_conn_pending(h) && !http_conn_done(h) && !http_conn_failed(h)) {
		struct uc_iovec iov[HT_IOV_MAX];
		unsigned n = uc_tcp_rx_iov(hc->tcp, iov, HT_IOV_MAX);
		size_t used = 0;
		bool short_take = false;

		for (unsigned i = 0; i < n && !short_take; i++) {
			size_t k = http_conn_input(h, iov[i].base, iov[i].len);

			used += k;
			short_take = k < iov[i].len;
		}
		uc_tcp_rx_consume(hc->tcp, used);
		if (used == 0)
			break;
	}
}

static void ht_process_run(struct ht_conn *hc);

/* Runs the engine over what is queued, then closes, aborts or waits. */
static void ht_process(struct ht_conn *hc)
{
	if (hc->processing) {
		hc->again = true;
		return;
	}
	hc->processing = true;
	PROFILE_ENTER(PROFILE_HTTP);
	ht_process_run(hc);
	PROFILE_EXIT(PROFILE_HTTP);
}

static void ht_process_run(struct ht_conn *hc)
{
	struct http_conn *h = hc->http;

	do {
		hc->again = false;
		http_conn_flush(h);
		ht_feed(hc);
		if (http_conn_failed(h)) {
			uc_tcp_abort(hc->tcp);
			ht_free(hc);
			return;
		}
		if (!http_conn_pending(h)) {
			if (hc->peer_closed && uc_tcp_rx_len(hc->tcp) == 0 && !http_conn_done(h))
				http_conn_eof(h);
			if (http_conn_done(h)) {
				uc_tcp_close(hc->tcp);
				ht_free(hc);
				return;
			}
		}
	} while (hc->again);
	hc->processing = false;
	ht_watch(hc);
}

static int ht_accept(struct uc_tcp *c, void *arg)
{
	struct ht_conn *hc = malloc(sizeof(*hc));

	(void)arg;
	if (!hc)
		return -ENOMEM;
	hc->tcp = c;
	hc->peer_closed = false;
	hc->processing = false;
	hc->again = false;
	hc->header_due = false;
	hc->busy = false;
	hc->http = http_conn_new(&ht_transport, hc);
	if (!hc->http) {
		free(hc);
		return -ENOMEM;
	}
	uc_tcp_set_user(c, hc);
	uc_tcp_set_idle_timeout(c, HT_IDLE_MS);
	ht_watch(hc);
	return 0;
}

static void ht_recv(struct uc_tcp *c, void *user)
{
	(void)c;
	ht_process(user);
}

static void ht_peer_closed(struct uc_tcp *c, void *user)
{
	struct ht_conn *hc = user;

	(void)c;
	hc->peer_closed = true;
	ht_process(hc);
}

static void ht_closed(struct uc_tcp *c, int err, void *user)
{
	struct ht_conn *hc = user;

	(void)c;
	/* Idle timeout or header deadline: a begun header block gets its 408
	 * before the runtime's FIN (nothing for an evicted connection: gone). */
	if (err == -ETIMEDOUT)
		http_conn_timeout(hc->http);
	ht_free(hc);
}

static const struct uc_tcp_ops ht_ops = {
	.accept = ht_accept,
	.recv = ht_recv,
	.peer_closed = ht_peer_closed,
	.writable = ht_recv,
	.closed = ht_closed,
};

int uc_http_listen(unsigned port)
{
	struct uc_tcp_listener *l;
	int rc;

	if (!net_is_running()) {
		console_printf("http: no network: cannot listen on port %u\n", port);
		return -ENODEV;
	}
	if (port == 0 || port > UINT16_MAX)
		return -EINVAL;
	if (!ht_limits_set) {
		http_server_set_limits(CONFIG_HTTP_MAX_HEADER, CONFIG_HTTP_MAX_BODY);
		ht_limits_set = true;
#ifdef CONFIG_HTTP_STATS
		if (http_stats_register() < 0)
			console_printf("http: cannot add the stats route\n");
#endif
#ifdef CONFIG_PROFILE
		if (http_profile_register() < 0)
			console_printf("http: cannot add the profile route\n");
#endif
	}
	rc = uc_tcp_listen(NULL, (uint16_t)port, &ht_ops, NULL, &l);
	if (rc < 0) {
		console_printf("http: cannot listen on port %u (%d)\n", port, rc);
		return rc;
	}
	{
		/* The runtime's own boot time: from its entry to the first listener (README). */
		uint64_t us = (time_ns() - time_entry_ns()) / 1000;

		console_printf("unicycle: http listening on port %u, ready %lu.%lu ms after entry\n",
			       port, (unsigned long)(us / 1000), (unsigned long)(us % 1000 / 100));
	}
	return 0;
}
