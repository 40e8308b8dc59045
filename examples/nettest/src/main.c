/* main.c: nettest, the app tests/integration/test_netapi.py drives: a command port plus TCP, UDP, DNS and HTTP services that exercise each network API. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicycle/dns.h>
#include <unicycle/http.h>
#include <unicycle/inet.h>
#include <unicycle/stats.h>
#include <unicycle/tcp.h>
#include <unicycle/timer.h>
#include <unicycle/udp.h>
#include <unicycle/unicycle.h>

/*
 * TCP 9000  commands, one per line, each answered with one line (possibly
 *           later, from another connection's or a timer's callback):
 *             connect ADDR:PORT TIMEOUT_MS  connect, send "hello from
 *                 nettest\n", half-close, read to the peer's FIN:
 *                 "ok local=A peer=A got=TEXT" or "error ERRNO MS"
 *             dns NAME 4|6|any   "dns NAME ADDR" or "dns NAME error ERRNO"
 *             dnsserver          "dnsserver ADDR" or "dnsserver none"
 *             mem                "mem BYTES_IN_USE"
 * TCP 9001  reads to the client's FIN, then answers
 *           "N bytes from PEER\n" and closes (half-close, peer address)
 * TCP 9002  resets the connection on the first byte (abort)
 * TCP 9003  idle timeout of 1 s; the console says "nettest: idle PEER ERR"
 * UDP 9007  answers each datagram with "PEER DATA" (sender's address)
 * HTTP 80   /defer?ms=N   answered from a timer after N ms
 *           /wait, /release   /wait is answered by /release's handler
 *           /stream?bytes=N   streamed, chunked (length unknown)
 *           /ref          1 MiB referenced body (Content-Length)
 *           /_unicycle/stats  (HTTP_STATS)
 */

#define NT_CMD_PORT    9000
#define NT_COUNT_PORT  9001
#define NT_ABORT_PORT  9002
#define NT_IDLE_PORT   9003
#define NT_UDP_PORT    9007
#define NT_HTTP_PORT   80
#define NT_IDLE_MS     1000
#define NT_LINE_MAX    512
#define NT_GOT_MAX     128
#define NT_REF_LEN     (1u << 20)
#define NT_CHUNK       4096
#define NT_NS_PER_MS   1000000ull

static char nt_ref_body[NT_REF_LEN];

/* Byte i of every generated body (the test computes the same). */
static char nt_pattern(size_t i)
{
	return (char)('a' + i * 7 % 26);
}

static void nt_format(const struct uc_sockaddr *a, char *buf)
{
	if (uc_sockaddr_format(a, buf, UC_SOCKADDR_STRLEN) < 0)
		memcpy(buf, "?", 2);
}

/* ---- the command port ---- */

struct nt_cmd {
	struct uc_tcp *tcp;
	size_t len;
	char line[NT_LINE_MAX];
};

/* A reply for the command connection; `c` may have gone in between
 * (then the reply is dropped). */
static struct nt_cmd *nt_cmd_conn;

static void nt_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void nt_reply(const char *fmt, ...)
{
	char buf[NT_LINE_MAX + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (nt_cmd_conn)
		uc_tcp_send(nt_cmd_conn->tcp, buf, (size_t)n, 0);
}

/* connect: one outgoing connection at a time. */
struct nt_out {
	uint64_t start;
	size_t got_len;
	char got[NT_GOT_MAX];
};

static void nt_out_connected(struct uc_tcp *c, int err, void *user)
{
	static const char hello[] = "hello from nettest\n";
	struct nt_out *o = user;

	if (err) {
		nt_reply("error %d %llu", err,
			 (unsigned long long)((uc_time_ns() - o->start) / NT_NS_PER_MS));
		free(o);
		return;
	}
	uc_tcp_send(c, hello, sizeof(hello) - 1, 0);
	uc_tcp_shutdown(c);
}

static void nt_out_recv(struct uc_tcp *c, void *user)
{
	struct nt_out *o = user;
	size_t n = uc_tcp_rx_len(c);

	if (n > NT_GOT_MAX - 1 - o->got_len)
		n = NT_GOT_MAX - 1 - o->got_len;
	o->got_len += uc_tcp_rx_copy(c, 0, o->got + o->got_len, n);
	uc_tcp_rx_consume(c, uc_tcp_rx_len(c));
}

/* After our shutdown, the peer's FIN ends the connection: `closed` 0. */
static void nt_out_closed(struct uc_tcp *c, int err, void *user)
{
	struct nt_out *o = user;

	(void)c;
	o->got[o->got_len] = '\0';
	while (o->got_len && o->got[o->got_len - 1] == '\n')
		o->got[--o->got_len] = '\0';
	if (err)
		nt_reply("error %d closed", err);
	free(o);
}

static void nt_out_peer_closed(struct uc_tcp *c, void *user)
{
	struct nt_out *o = user;
	struct uc_sockaddr local, peer;
	char l[UC_SOCKADDR_STRLEN], p[UC_SOCKADDR_STRLEN];

	nt_out_recv(c, o);
	o->got[o->got_len] = '\0';
	if (uc_tcp_local(c, &local) < 0 || uc_tcp_peer(c, &peer) < 0) {
		nt_reply("error -107 noaddr");
		return;
	}
	nt_format(&local, l);
	nt_format(&peer, p);
	while (o->got_len && o->got[o->got_len - 1] == '\n')
		o->got[--o->got_len] = '\0';
	nt_reply("ok local=%s peer=%s got=%s", l, p, o->got);
}

static const struct uc_tcp_ops nt_out_ops = {
	.connected = nt_out_connected,
	.recv = nt_out_recv,
	.peer_closed = nt_out_peer_closed,
	.closed = nt_out_closed,
};

static void nt_do_connect(const char *addr, unsigned timeout_ms)
{
	struct uc_sockaddr peer;
	struct uc_tcp *c;
	struct nt_out *o;
	int rc;

	if (uc_sockaddr_parse(addr, 0, &peer) < 0) {
		nt_reply("error -22 parse");
		return;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		nt_reply("error -12 mem");
		return;
	}
	o->start = uc_time_ns();
	rc = uc_tcp_connect(&peer, timeout_ms, &nt_out_ops, o, &c);
	if (rc < 0) {
		nt_reply("error %d 0", rc);
		free(o);
	}
}

static void nt_dns_done(const char *name, int err, const struct uc_sockaddr *addr, void *arg)
{
	char a[UC_SOCKADDR_STRLEN];

	(void)arg;
	if (err) {
		nt_reply("dns %s error %d", name, err);
		return;
	}
	nt_format(addr, a);
	nt_reply("dns %s %s", name, a);
}

/* The next blank-separated word of *p (NUL-terminated in place), NULL at the end. */
static char *nt_word(char **p)
{
	char *w = *p;

	while (*w == ' ')
		w++;
	if (!*w)
		return NULL;
	*p = w;
	while (**p && **p != ' ')
		(*p)++;
	if (**p)
		*(*p)++ = '\0';
	return w;
}

static void nt_command(char *line)
{
	char *verb = nt_word(&line), *a1 = nt_word(&line), *a2 = nt_word(&line);

	if (!verb)
		return;
	if (!strcmp(verb, "connect") && a1 && a2) {
		nt_do_connect(a1, (unsigned)strtoul(a2, NULL, 10));
	} else if (!strcmp(verb, "dns") && a1 && a2) {
		unsigned fam = !strcmp(a2, "4") ? UC_AF_INET : !strcmp(a2, "6") ? UC_AF_INET6 :
			       UC_AF_UNSPEC;
		int rc = uc_dns_lookup(a1, fam, nt_dns_done, NULL);

		if (rc < 0)
			nt_reply("dns %s error %d", a1, rc);
	} else if (!strcmp(verb, "dnsserver")) {
		struct uc_sockaddr s;
		char a[UC_SOCKADDR_STRLEN];

		if (uc_dns_server(0, &s) < 0) {
			nt_reply("dnsserver none");
		} else {
			nt_format(&s, a);
			nt_reply("dnsserver %s", a);
		}
	} else if (!strcmp(verb, "mem")) {
		struct uc_mem_stats m;

		uc_mem_stats(&m);
		nt_reply("mem %zu", m.bytes_in_use);
	} else {
		nt_reply("unknown %s", verb);
	}
}

static int nt_cmd_accept(struct uc_tcp *c, void *arg)
{
	struct nt_cmd *k;

	(void)arg;
	if (nt_cmd_conn)
		return -1;   /* one controller at a time */
	k = calloc(1, sizeof(*k));
	if (!k)
		return -1;
	k->tcp = c;
	nt_cmd_conn = k;
	uc_tcp_set_user(c, k);
	return 0;
}

static void nt_cmd_recv(struct uc_tcp *c, void *user)
{
	struct nt_cmd *k = user;
	char ch;

	while (uc_tcp_rx_copy(c, 0, &ch, 1) == 1) {
		uc_tcp_rx_consume(c, 1);
		if (ch == '\r')
			continue;
		if (ch != '\n') {
			if (k->len < NT_LINE_MAX - 1)
				k->line[k->len++] = ch;
			continue;
		}
		k->line[k->len] = '\0';
		k->len = 0;
		nt_command(k->line);
	}
}

static void nt_cmd_gone(struct uc_tcp *c, struct nt_cmd *k)
{
	if (nt_cmd_conn == k)
		nt_cmd_conn = NULL;
	free(k);
	if (c)
		uc_tcp_close(c);
}

static void nt_cmd_peer_closed(struct uc_tcp *c, void *user)
{
	nt_cmd_gone(c, user);
}

static void nt_cmd_closed(struct uc_tcp *c, int err, void *user)
{
	(void)c;
	(void)err;
	nt_cmd_gone(NULL, user);
}

static const struct uc_tcp_ops nt_cmd_ops = {
	.accept = nt_cmd_accept,
	.recv = nt_cmd_recv,
	.peer_closed = nt_cmd_peer_closed,
	.closed = nt_cmd_closed,
};

/* ---- 9001: count to the FIN, answer with the peer's address ---- */

static int nt_count_accept(struct uc_tcp *c, void *arg)
{
	(void)arg;
	uc_tcp_set_user(c, NULL);   /* the count lives in the user pointer */
	return 0;
}

static void nt_count_recv(struct uc_tcp *c, void *user)
{
	size_t n = uc_tcp_rx_len(c);

	uc_tcp_rx_consume(c, n);
	uc_tcp_set_user(c, (void *)((uintptr_t)user + n));
}

static void nt_count_peer_closed(struct uc_tcp *c, void *user)
{
	struct uc_sockaddr peer;
	char p[UC_SOCKADDR_STRLEN], line[NT_LINE_MAX];
	int n;

	uc_tcp_peer(c, &peer);
	nt_format(&peer, p);
	n = snprintf(line, sizeof(line), "%zu bytes from %s\n", (size_t)(uintptr_t)user, p);
	uc_tcp_send(c, line, (size_t)n, 0);
	uc_tcp_close(c);
}

static const struct uc_tcp_ops nt_count_ops = {
	.accept = nt_count_accept,
	.recv = nt_count_recv,
	.peer_closed = nt_count_peer_closed,
};

/* ---- 9002: reset on the first byte ---- */

static void nt_abort_recv(struct uc_tcp *c, void *user)
{
	(void)user;
	uc_tcp_abort(c);
}

static const struct uc_tcp_ops nt_abort_ops = { .recv = nt_abort_recv };

/* ---- 9003: idle timeout ---- */

static int nt_idle_accept(struct uc_tcp *c, void *arg)
{
	(void)arg;
	uc_tcp_set_idle_timeout(c, NT_IDLE_MS);
	return 0;
}

static void nt_idle_closed(struct uc_tcp *c, int err, void *user)
{
	struct uc_sockaddr peer;
	char p[UC_SOCKADDR_STRLEN] = "?";

	(void)user;
	if (uc_tcp_peer(c, &peer) == 0)
		nt_format(&peer, p);
	uc_printf("nettest: idle %s %d\n", p, err);
}

static const struct uc_tcp_ops nt_idle_ops = {
	.accept = nt_idle_accept,
	.closed = nt_idle_closed,
};

/* ---- UDP 9007 ---- */

static void nt_udp_recv(struct uc_udp *u, const struct uc_sockaddr *from, const void *data,
			size_t len, void *arg)
{
	char out[UC_SOCKADDR_STRLEN + 1 + 1024];
	int n;

	(void)arg;
	nt_format(from, out);
	n = (int)strlen(out);
	out[n++] = ' ';
	if (len > sizeof(out) - (size_t)n)
		len = sizeof(out) - (size_t)n;
	memcpy(out + n, data, len);
	uc_udp_sendto(u, from, out, (size_t)n + len);
}

/* ---- HTTP ---- */

static unsigned long nt_query_num(const struct uc_http_request *req, const char *key)
{
	size_t kl = strlen(key);

	for (const char *q = req->query; q && *q; q = strchr(q, '&') ? strchr(q, '&') + 1 : NULL)
		if (!strncmp(q, key, kl) && q[kl] == '=')
			return strtoul(q + kl + 1, NULL, 10);
	return 0;
}

struct nt_late {
	struct uc_http_response *res;
	unsigned long ms;
};

static void nt_defer_fire(void *arg)
{
	struct nt_late *l = arg;
	char body[64];
	int n = snprintf(body, sizeof(body), "deferred after %lu ms\n", l->ms);
	int rc = uc_http_respond(l->res, 200, "text/plain", body, (size_t)n);

	if (rc < 0)
		uc_printf("nettest: deferred answer failed (%d)\n", rc);
	free(l);
}

static void nt_http_defer(const struct uc_http_request *req, struct uc_http_response *res)
{
	struct nt_late *l = malloc(sizeof(*l));

	if (!l || uc_http_defer(res) < 0) {
		free(l);
		uc_http_respond(res, 500, "text/plain", "no\n", 3);
		return;
	}
	l->res = res;
	l->ms = nt_query_num(req, "ms");
	if (!uc_timer_add(l->ms * NT_NS_PER_MS, nt_defer_fire, l)) {
		free(l);
		uc_http_respond(res, 500, "text/plain", "no timer\n", 9);
	}
}

static struct uc_http_response *nt_waiting;

static void nt_http_wait(const struct uc_http_request *req, struct uc_http_response *res)
{
	(void)req;
	if (nt_waiting || uc_http_defer(res) < 0) {
		uc_http_respond(res, 409, "text/plain", "busy\n", 5);
		return;
	}
	nt_waiting = res;
}

static void nt_http_release(const struct uc_http_request *req, struct uc_http_response *res)
{
	static const char released[] = "released by another connection\n";
	int rc = -ENOENT;

	(void)req;
	if (nt_waiting)
		rc = uc_http_respond(nt_waiting, 200, "text/plain", released, sizeof(released) - 1);
	nt_waiting = NULL;
	uc_http_respond(res, rc == 0 ? 200 : 404, "text/plain", rc == 0 ? "ok\n" : "none\n",
			rc == 0 ? 3 : 5);
}

struct nt_stream {
	size_t off, total;
};

static void nt_stream_more(struct uc_http_response *res, void *arg)
{
	struct nt_stream *s = arg;
	char chunk[NT_CHUNK];

	while (s->off < s->total) {
		size_t n = s->total - s->off < sizeof(chunk) ? s->total - s->off : sizeof(chunk);
		long took;

		for (size_t i = 0; i < n; i++)
			chunk[i] = nt_pattern(s->off + i);
		took = uc_http_write(res, chunk, n);
		if (took < 0) {
			uc_http_end(res);
			free(s);
			return;
		}
		s->off += (size_t)took;
		if ((size_t)took < n)
			return;   /* nt_stream_more runs again with room */
	}
	uc_http_end(res);
	free(s);
}

static void nt_http_stream(const struct uc_http_request *req, struct uc_http_response *res)
{
	struct nt_stream *s = calloc(1, sizeof(*s));

	if (!s) {
		uc_http_respond(res, 500, "text/plain", "no\n", 3);
		return;
	}
	s->total = nt_query_num(req, "bytes");
	uc_http_set_writable(res, nt_stream_more, s);
	if (uc_http_begin(res, 200, "application/octet-stream", UC_HTTP_LENGTH_UNKNOWN) < 0) {
		free(s);
		return;
	}
	nt_stream_more(res, s);
}

static void nt_http_ref(const struct uc_http_request *req, struct uc_http_response *res)
{
	(void)req;
	uc_http_respond_ref(res, 200, "application/octet-stream", nt_ref_body, NT_REF_LEN);
}

static void nt_http_hello(const struct uc_http_request *req, struct uc_http_response *res)
{
	(void)req;
	uc_http_respond(res, 200, "text/plain", "nettest\n", 8);
}

/* ---- start ---- */

static int nt_listen(uint16_t port, const struct uc_tcp_ops *ops)
{
	struct uc_tcp_listener *l;
	int rc = uc_tcp_listen(NULL, port, ops, NULL, &l);

	if (rc < 0)
		uc_printf("nettest: cannot listen on %u (%d)\n", port, rc);
	return rc;
}

int app_main(void)
{
	struct uc_udp *u;

	for (size_t i = 0; i < NT_REF_LEN; i++)
		nt_ref_body[i] = nt_pattern(i);
	if (nt_listen(NT_CMD_PORT, &nt_cmd_ops) < 0 || nt_listen(NT_COUNT_PORT, &nt_count_ops) < 0 ||
	    nt_listen(NT_ABORT_PORT, &nt_abort_ops) < 0 || nt_listen(NT_IDLE_PORT, &nt_idle_ops) < 0)
		return 1;
	if (uc_udp_bind(NULL, NT_UDP_PORT, nt_udp_recv, NULL, &u) < 0) {
		uc_printf("nettest: cannot bind UDP %d\n", NT_UDP_PORT);
		return 1;
	}
	if (uc_http_route("/defer", nt_http_defer) < 0 || uc_http_route("/wait", nt_http_wait) < 0 ||
	    uc_http_route("/release", nt_http_release) < 0 ||
	    uc_http_route("/stream", nt_http_stream) < 0 || uc_http_route("/ref", nt_http_ref) < 0 ||
	    uc_http_route("/", nt_http_hello) < 0 || uc_http_listen(NT_HTTP_PORT) < 0)
		return 1;
	uc_printf("nettest: ready\n");
	uc_run();
}
