/* http_lwip.c: binds the HTTP engine (http_server.c) to lwIP's raw TCP API; uc_http_listen(). */
#include <errno.h>
#include <stdlib.h>

#include "kernel/kernel.h"
#include "net/http_server.h"
#include "net/http_stats.h"
#include "net/net.h"
#include <unicycle/http.h>

#include "lwip/tcp.h"

/*
 * Per connection: lwIP's pcb, the engine's http_conn, and the received
 * bytes the engine has not consumed yet (a pbuf chain). Flow control is
 * TCP's own: bytes are acknowledged to lwIP (tcp_recved) only once the
 * engine consumed them, and the engine stops consuming while an answer
 * waits for send-buffer room, so a pipelining client is paced by its own
 * reading. Answers are copied into lwIP (TCP_WRITE_FLAG_COPY) and pushed
 * with one tcp_output() per batch of input; Nagle is off.
 */

#define HL_POLL_INTERVAL   4   /* tcp_poll units of 500 ms: every 2 s */
#define HL_IDLE_POLLS      30  /* close after 60 s without traffic */

#ifndef CONFIG_HTTP_MAX_HEADER
#define CONFIG_HTTP_MAX_HEADER UC_HTTP_MAX_HEADER_DEFAULT
#endif
#ifndef CONFIG_HTTP_MAX_BODY
#define CONFIG_HTTP_MAX_BODY UC_HTTP_MAX_BODY_DEFAULT
#endif

struct hl_conn {
	struct tcp_pcb *pcb;
	struct http_conn *http;
	struct pbuf *rx;        /* received, not yet consumed */
	bool peer_closed;
	bool closing;           /* tcp_close failed, retried from hl_poll */
	uint8_t idle_polls;
	struct hl_conn *next_free;
};

static struct hl_conn *hl_free_list;
static bool hl_limits_set;

static long hl_write(void *ctx, const void *buf, size_t len)
{
	struct hl_conn *hc = ctx;
	size_t room = tcp_sndbuf(hc->pcb);
	err_t err;

	if (len > room)
		len = room;
	if (len > UINT16_MAX)
		len = UINT16_MAX;  /* tcp_write takes u16_t */
	if (len == 0 || tcp_sndqueuelen(hc->pcb) >= TCP_SND_QUEUELEN)
		return 0;
	err = tcp_write(hc->pcb, buf, (u16_t)len, TCP_WRITE_FLAG_COPY);
	if (err == ERR_MEM)
		return 0;      /* retried on the next sent/poll callback */
	if (err != ERR_OK)
		return -EIO;
	return (long)len;
}

static const struct http_transport hl_transport = { .write = hl_write };

static void hl_free(struct hl_conn *hc)
{
	if (hc->rx)
		pbuf_free(hc->rx);
	http_conn_free(hc->http);
	hc->rx = NULL;
	hc->http = NULL;
	hc->pcb = NULL;
	hc->next_free = hl_free_list;
	hl_free_list = hc;
}

static void hl_detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
}

/* Ends the connection gracefully (FIN after queued data). Returns ERR_OK
 * or ERR_ABRT when it had to abort instead. */
static err_t hl_close(struct hl_conn *hc)
{
	struct tcp_pcb *pcb = hc->pcb;

	/* Acknowledge what will never be read, so lwIP closes with FIN, not
	 * with RST (which could destroy the answer in the client's buffer). */
	if (hc->rx) {
		u32_t left = hc->rx->tot_len;

		pbuf_free(hc->rx);
		hc->rx = NULL;
		tcp_recved(pcb, (u16_t)left);
	}
	if (tcp_close(pcb) != ERR_OK) {
		hc->closing = true;   /* out of memory: hl_poll retries */
		return ERR_OK;
	}
	hl_detach(pcb);
	hl_free(hc);
	return ERR_OK;
}

static err_t hl_abort(struct hl_conn *hc)
{
	struct tcp_pcb *pcb = hc->pcb;

	hl_detach(pcb);
	hl_free(hc);
	tcp_abort(pcb);
	return ERR_ABRT;
}

/* Feeds held input to the engine, then closes or pushes output. Returns
 * ERR_ABRT when the pcb is gone (callbacks must pass that on). */
static err_t hl_process(struct hl_conn *hc)
{
	struct http_conn *h = hc->http;
	u32_t consumed = 0;

	while (hc->rx) {
		struct pbuf *p = hc->rx;
		u16_t len = p->len;
		size_t n;

		if (len == 0) {   /* drop an empty link of the chain */
			hc->rx = p->next;
			p->next = NULL;
			pbuf_free(p);
			continue;
		}
		n = http_conn_input(h, p->payload, len);
		if (n == 0)
			break;
		/* Frees the pbufs fully consumed, moves into the next. */
		hc->rx = pbuf_free_header(p, (u16_t)n);
		consumed += (u32_t)n;
		if (n < len)
			break;
	}
	while (consumed) {
		u16_t chunk = consumed > UINT16_MAX ? UINT16_MAX : (u16_t)consumed;

		tcp_recved(hc->pcb, chunk);
		consumed -= chunk;
	}
	if (http_conn_failed(h))
		return hl_abort(hc);
	if (!http_conn_pending(h)) {
		if (hc->peer_closed && !hc->rx && !http_conn_done(h))
			http_conn_eof(h);
		if (http_conn_done(h)) {
			tcp_output(hc->pcb);
			return hl_close(hc);
		}
	}
	tcp_output(hc->pcb);
	return ERR_OK;
}

static err_t hl_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct hl_conn *hc = arg;

	if (!hc || hc->closing) {
		if (p) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (!p) {
		hc->peer_closed = true;
		return hl_process(hc);
	}
	if (err != ERR_OK) {
		pbuf_free(p);
		return ERR_OK;
	}
	hc->idle_polls = 0;
	if (hc->rx)
		pbuf_cat(hc->rx, p);
	else
		hc->rx = p;
	return hl_process(hc);
}

static err_t hl_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct hl_conn *hc = arg;

	(void)pcb;
	(void)len;
	if (!hc || hc->closing)
		return ERR_OK;
	hc->idle_polls = 0;
	http_conn_flush(hc->http);
	return hl_process(hc);
}

static err_t hl_poll(void *arg, struct tcp_pcb *pcb)
{
	struct hl_conn *hc = arg;

	(void)pcb;
	if (!hc)
		return ERR_OK;
	if (hc->closing) {
		hc->closing = false;
		return hl_close(hc);
	}
	if (++hc->idle_polls >= HL_IDLE_POLLS)
		return hl_close(hc);
	/* A write that failed for memory is retried here. */
	http_conn_flush(hc->http);
	return hl_process(hc);
}

static void hl_err(void *arg, err_t err)
{
	struct hl_conn *hc = arg;

	(void)err;
	if (hc)
		hl_free(hc);  /* lwIP already freed the pcb */
}

static err_t hl_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct hl_conn *hc;

	(void)arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	hc = hl_free_list;
	if (hc)
		hl_free_list = hc->next_free;
	else
		hc = malloc(sizeof(*hc));
	if (!hc) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	hc->pcb = pcb;
	hc->rx = NULL;
	hc->peer_closed = false;
	hc->closing = false;
	hc->idle_polls = 0;
	hc->http = http_conn_new(&hl_transport, hc);
	if (!hc->http) {
		hc->next_free = hl_free_list;
		hl_free_list = hc;
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	tcp_nagle_disable(pcb);
	tcp_arg(pcb, hc);
	tcp_recv(pcb, hl_recv);
	tcp_sent(pcb, hl_sent);
	tcp_err(pcb, hl_err);
	tcp_poll(pcb, hl_poll, HL_POLL_INTERVAL);
	return ERR_OK;
}

int uc_http_listen(unsigned port)
{
	struct tcp_pcb *pcb, *lpcb;
	err_t err;

	if (!net_is_running()) {
		console_printf("http: no network: cannot listen on port %u\n", port);
		return -ENODEV;
	}
	if (port == 0 || port > UINT16_MAX)
		return -EINVAL;
	if (!hl_limits_set) {
		http_server_set_limits(CONFIG_HTTP_MAX_HEADER, CONFIG_HTTP_MAX_BODY);
		hl_limits_set = true;
#ifdef CONFIG_HTTP_STATS
		if (http_stats_register() < 0)
			console_printf("http: cannot add the stats route\n");
#endif
	}
	pcb = tcp_new_ip_type(IPADDR_TYPE_ANY);
	if (!pcb) {
		console_printf("http: out of TCP PCBs for port %u\n", port);
		return -ENOMEM;
	}
	err = tcp_bind(pcb, IP_ANY_TYPE, (u16_t)port);
	if (err != ERR_OK) {
		console_printf("http: cannot bind port %u (%d)\n", port, err);
		tcp_close(pcb);
		return err == ERR_USE ? -EADDRINUSE : -EIO;
	}
	lpcb = tcp_listen_with_backlog(pcb, TCP_DEFAULT_LISTEN_BACKLOG);
	if (!lpcb) {
		console_printf("http: cannot listen on port %u\n", port);
		tcp_close(pcb);
		return -ENOMEM;
	}
	tcp_accept(lpcb, hl_accept);
	console_printf("unicycle: http listening on port %u\n", port);
	return 0;
}
