/* server.c: kv's connections over <unicycle/tcp.h>: pipelined commands, batched replies, output backpressure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <unicycle/stats.h>
#include <unicycle/tcp.h>
#include <unicycle/timer.h>
#include <unicycle/unicycle.h>

#include "commands.h"
#include "persist.h"
#include "resp.h"
#include "server.h"
#include "store.h"

/*
 * One pass over a client's received bytes runs every complete command in
 * them, appending the replies to the client's reply buffer, and then hands
 * the batch to TCP in one send. Backpressure: once a client's replies not
 * yet taken by TCP pass SERVER_OUT_PAUSE (it does not read them), the
 * server stops parsing its input and leaves the bytes in TCP's receive
 * queue, which closes the TCP window: the client's sends stall, and
 * memory stays at about the pause mark plus one reply plus the window.
 * Parsing resumes when TCP has taken the replies down to SERVER_OUT_RESUME.
 */

#define SERVER_OUT_PAUSE  (64 * 1024)
#define SERVER_OUT_RESUME (16 * 1024)
/* Replies one batch may pile up at most (one MGET of many large values):
 * past this the client is disconnected rather than served in part. */
#define SERVER_OUT_HARD   (8 * 1024 * 1024)
/* Reply buffer an idle client keeps: a full TCP window of small replies. */
#define SERVER_OUT_KEEP   (16 * 1024)
/* Views of the receive queue taken per pass. */
#define SERVER_IOV_MAX    16
/* Keys the expiry timer removes per tick; when it had more to do it runs
 * again at once, so a burst of deadlines never stalls clients for long. */
#define SERVER_EXPIRE_BUDGET 1000
#define SERVER_REHASH_BUCKETS 1000
#define SERVER_NS_PER_MS  1000000ull
#define SERVER_MS_PER_S   1000u
#define SERVER_TICK_NS    (1000000000ull / KV_HZ)
#define SERVER_TICK_SOON_NS SERVER_NS_PER_MS

#define SERVER_ERR_MAXCLIENTS "-ERR max number of clients reached\r\n"

struct server_conn {
	struct uc_tcp *tcp;
	struct resp_parser parser;
	struct resp_buf out;
	struct commands_client client;
	bool paused;             /* replies piled up: input waits in TCP's queue */
	bool closing;            /* QUIT or a protocol error: close once replies are out */
	bool peer_done;          /* the client sent FIN */
	/* appendfsync always: replies wait until the log record of the
	 * latest write command among them is durable. */
	uint64_t wait_lsn;
	struct server_conn *wait_prev, *wait_next;
	bool waiting;            /* on server.waiting */
};

static struct {
	struct config cfg;
	struct store store;
	struct commands_stats stats;
	struct commands_env env;
	struct resp_budget budget;
	struct resp_limits limits;
	struct uc_tcp_listener *listener;
	uint64_t next_id;
	struct server_conn *waiting;   /* connections whose replies wait for the log */
	void (*started)(int rc);
} server;

static int64_t server_now_ms(void)
{
	return persist_now_ms();
}

static void server_wait_remove(struct server_conn *conn)
{
	if (!conn->waiting)
		return;
	if (conn->wait_prev)
		conn->wait_prev->wait_next = conn->wait_next;
	else
		server.waiting = conn->wait_next;
	if (conn->wait_next)
		conn->wait_next->wait_prev = conn->wait_prev;
	conn->waiting = false;
	conn->wait_prev = conn->wait_next = NULL;
}

static void server_wait_add(struct server_conn *conn, uint64_t lsn)
{
	conn->wait_lsn = lsn;
	if (conn->waiting)
		return;
	conn->wait_prev = NULL;
	conn->wait_next = server.waiting;
	if (server.waiting)
		server.waiting->wait_prev = conn;
	server.waiting = conn;
	conn->waiting = true;
}

static size_t server_heap_in_use(void)
{
	struct uc_mem_stats st;

	uc_mem_stats(&st);
	return st.bytes_in_use;
}

static void server_free(struct server_conn *conn)
{
	server_wait_remove(conn);
	resp_parser_free(&conn->parser);
	resp_buf_free(&conn->out);
	free(conn);
	server.stats.clients--;
}

/* Graceful: replies already handed to TCP still go out, then FIN. */
static void server_close(struct server_conn *conn)
{
	uc_tcp_close(conn->tcp);
	server_free(conn);
}

/*
 * Hands pending replies to TCP. Returns false when the connection is gone
 * (closed here: QUIT or a protocol error done, the client finished, or a
 * failure); the caller must not touch `conn` then.
 */
static bool server_flush(struct server_conn *conn)
{
	struct resp_buf *out = &conn->out;

	if (out->failed) {
		uc_printf("kv: client %llu: replies past %u bytes or out of memory; closing it\n",
			  (unsigned long long)conn->client.id, (unsigned)SERVER_OUT_HARD);
		uc_tcp_abort(conn->tcp);
		server_free(conn);
		return false;
	}
	if (conn->waiting)
		return true;   /* server_durable() sends them */
	while (resp_buf_pending(out)) {
		size_t want = resp_buf_pending(out);
		long n = uc_tcp_send(conn->tcp, out->data + out->head, want, 0);

		if (n < 0) {
			uc_tcp_abort(conn->tcp);
			server_free(conn);
			return false;
		}
		server.stats.net_out += (uint64_t)n;
		resp_buf_sent(out, (size_t)n, SERVER_OUT_KEEP);
		if ((size_t)n < want)
			return true;   /* `writable` follows */
	}
	if (conn->closing || (conn->peer_done && uc_tcp_rx_len(conn->tcp) == 0)) {
		server_close(conn);
		return false;
	}
	return true;
}

/* Runs the commands in the received bytes, then flushes. Same contract
 * as server_flush(). */
static bool server_process(struct server_conn *conn)
{
	struct uc_iovec iov[SERVER_IOV_MAX];
	bool stop = conn->paused || conn->closing;
	uint64_t lsn = persist_lsn();

	server.env.now_ms = server_now_ms();
	while (!stop) {
		unsigned n = uc_tcp_rx_iov(conn->tcp, iov, SERVER_IOV_MAX);
		size_t used_all = 0;

		if (n == 0)
			break;
		for (unsigned i = 0; i < n && !stop; i++) {
			const char *base = iov[i].base;
			size_t off = 0;

			while (off < iov[i].len && !stop) {
				size_t used;
				enum resp_result r = resp_parse(&conn->parser, base + off,
								iov[i].len - off, &used);

				off += used;
				if (r == RESP_ERROR) {
					resp_add_error(&conn->out, conn->parser.error);
					conn->closing = true;
					stop = true;
				} else if (r == RESP_COMMAND) {
					commands_exec(&server.env, &conn->client, conn->parser.argv,
						      conn->parser.argc, &conn->out);
					if (conn->client.close_after_reply) {
						conn->closing = true;
						stop = true;
					} else if (conn->out.failed) {
						stop = true;
					} else if (resp_buf_pending(&conn->out) > SERVER_OUT_PAUSE) {
						conn->paused = true;
						stop = true;
					}
				}
			}
			used_all += off;
		}
		/* The arguments pointed into these bytes: release them only now. */
		uc_tcp_rx_consume(conn->tcp, used_all);
		server.stats.net_in += used_all;
	}
	resp_parser_trim(&conn->parser);
	if (persist_lsn() != lsn && !persist_durable(persist_lsn()))
		server_wait_add(conn, persist_lsn());
	return server_flush(conn);
}

static int server_accept(struct uc_tcp *c, void *arg)
{
	struct server_conn *conn;

	(void)arg;
	if (server.stats.clients >= server.cfg.maxclients) {
		/* Redis's answer, then a graceful close. */
		server.stats.rejected++;
		uc_tcp_send(c, SERVER_ERR_MAXCLIENTS, sizeof(SERVER_ERR_MAXCLIENTS) - 1, 0);
		uc_tcp_close(c);
		return 0;
	}
	conn = calloc(1, sizeof(*conn));
	if (!conn)
		return -ENOMEM;
	if (resp_parser_init(&conn->parser, &server.limits) < 0) {
		free(conn);
		return -ENOMEM;
	}
	resp_buf_init(&conn->out, SERVER_OUT_HARD, &server.budget);
	conn->tcp = c;
	conn->client.id = ++server.next_id;
	server.stats.clients++;
	server.stats.connections++;
	uc_tcp_set_user(c, conn);
	if (server.cfg.timeout)
		uc_tcp_set_idle_timeout(c, server.cfg.timeout * SERVER_MS_PER_S);
	return 0;
}

static void server_recv(struct uc_tcp *c, void *user)
{
	(void)c;
	server_process(user);
}

/* Sends what TCP takes; resumes reading once the replies drained. */
static void server_drain(struct server_conn *conn)
{
	if (!server_flush(conn))
		return;
	if (conn->paused && resp_buf_pending(&conn->out) <= SERVER_OUT_RESUME) {
		conn->paused = false;
		server_process(conn);
	}
}

static void server_writable(struct uc_tcp *c, void *user)
{
	(void)c;
	server_drain(user);
}

/* More log records are durable: replies waiting for them go out. */
static void server_durable(void)
{
	struct server_conn *conn = server.waiting, *next;

	for (; conn; conn = next) {
		next = conn->wait_next;
		if (!persist_durable(conn->wait_lsn))
			continue;
		server_wait_remove(conn);
		server_drain(conn);
	}
}

/* The client will send nothing more: answer what it sent, then close
 * (server_flush() does once nothing is left). */
static void server_peer_closed(struct uc_tcp *c, void *user)
{
	struct server_conn *conn = user;

	(void)c;
	conn->peer_done = true;
	server_process(conn);
}

static void server_closed(struct uc_tcp *c, int err, void *user)
{
	(void)c;
	(void)err;
	server_free(user);
}

static const struct uc_tcp_ops server_ops = {
	.accept = server_accept,
	.recv = server_recv,
	.peer_closed = server_peer_closed,
	.writable = server_writable,
	.closed = server_closed,
};

/* Active expiry and background rehash, KV_HZ times a second. */
static void server_tick(void *arg)
{
	int64_t now = server_now_ms();
	size_t expired = store_expire(&server.store, now, SERVER_EXPIRE_BUDGET);

	(void)arg;
	store_rehash(&server.store, SERVER_REHASH_BUCKETS);
	store_maybe_shrink(&server.store);
	if (!uc_timer_add(expired == SERVER_EXPIRE_BUDGET ? SERVER_TICK_SOON_NS : SERVER_TICK_NS,
			  server_tick, NULL))
		uc_printf("kv: out of memory for the expiry timer; keys now expire on access only\n");
}

/* The log is loaded (or there is none): clients may come. */
static void server_listen(void)
{
	const struct config *cfg = &server.cfg;
	int rc;

	server.env.log = persist_hooks();
	server.env.start_ms = server_now_ms();
	persist_on_durable(server_durable);
	rc = uc_tcp_listen(NULL, cfg->port, &server_ops, NULL, &server.listener);
	if (rc == 0) {
		if (!uc_timer_add(SERVER_TICK_NS, server_tick, NULL))
			uc_printf("kv: out of memory for the expiry timer; keys now expire on "
				  "access only\n");
		uc_printf("kv: listening on port %u, maxmemory %zu bytes, maxclients %u\n",
			  (unsigned)cfg->port, cfg->maxmemory, cfg->maxclients);
	}
	server.started(rc);
}

void server_start(const struct config *cfg, void (*started)(int rc))
{
	uint64_t t = uc_time_ns();

	server.cfg = *cfg;
	server.started = started;
	/* The hash key only has to be unknown to clients ahead of time: the
	 * boot-relative TSC reading differs from boot to boot. */
	store_init(&server.store, cfg->maxmemory, t * 0x9e3779b97f4a7c15ull,
		   (t ^ (uint64_t)(uintptr_t)&server) * 0xc2b2ae3d27d4eb4full);
	server.budget.max = cfg->client_memory;
	server.limits = (struct resp_limits){
		.max_args = KV_MAX_ARGS, .max_bulk = KV_MAX_BULK, .max_inline = KV_MAX_INLINE,
		.max_command = KV_MAX_COMMAND, .budget = &server.budget,
	};
	commands_env_init(&server.env, &server.store, &server.cfg, &server.stats, &server.budget);
	server.env.heap_in_use = server_heap_in_use;
	persist_start(&server.cfg, &server.store, server_listen);
}
