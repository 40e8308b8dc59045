/* tcp.c: <unicycle/tcp.h> over lwIP's raw TCP API: listeners, connect with a timeout, zero-copy receive queue, send with backpressure, graceful close. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "kernel/profile.h"
#include "net/inetip.h"
#include "net/net.h"
#include <unicycle/tcp.h>
#include <unicycle/timer.h>

#include "lwip/ip.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

/*
 * lwIP's rules this file lives by (lwIP 2.1.3, NO_SYS, callback API):
 * - A callback that called tcp_abort() on its own pcb must return ERR_ABRT,
 *   and nothing else may. `in_lwip` marks "inside a lwIP callback of this
 *   pcb"; uc_tcp_abort() there sets `aborted`, and tcp_leave() turns that
 *   into ERR_ABRT.
 * - The err callback runs after lwIP freed the pcb: only forget it.
 * - tcp_abort() calls the err callback, so callbacks are detached first.
 * - tcp_close() on ESTABLISHED/CLOSE_WAIT resets the connection when
 *   received bytes were not acknowledged with tcp_recved(), and lwIP counts
 *   a FIN that arrived in the segment now being delivered as unread until
 *   the FIN's own callback. Hence closing is tcp_shutdown(TX) (never a
 *   reset) and tcp_close() only after the peer's FIN or in a state past
 *   FIN (FIN_WAIT_*, CLOSING, LAST_ACK, TIME_WAIT), where it cannot reset.
 * - TIME_WAIT pcbs are freed without a callback: once both FINs are done
 *   the pcb is handed to lwIP (tcp_close) and forgotten here.
 * - tcp_input() and the slow timer call tcp_output() after a connection's
 *   callbacks, so sends made inside them need no push of their own; sends
 *   from anywhere else are pushed by one deferred loop item per pass.
 *
 * A full pcb pool (MEMP_NUM_TCP_PCB = CONFIG_NET_TCP_PCBS). A SYN reaching
 * a listener allocates with tcp_alloc(listener's prio); when the pool is
 * empty lwIP frees the oldest TIME_WAIT, then LAST_ACK, then CLOSING pcb,
 * then calls tcp_kill_prio(prio), which aborts the pcb silent longest
 * (since its last received segment) among those with a priority strictly
 * below `prio`. lwIP gives every pcb TCP_PRIO_NORMAL, so that kills
 * nothing and the SYN is dropped: whoever holds the pool keeps it. The
 * priorities here make that step evict:
 * - listeners run at TCP_PRIO_LISTEN (TCP_PRIO_MAX): a SYN may evict any
 *   pcb below it;
 * - accepted connections the app marks evictable (the default; HTTP while
 *   no answer is under way) and lingering ones run at TCP_PRIO_EVICT, the
 *   rest (an answer under way, outgoing connections) at TCP_PRIO_KEEP,
 *   equal to the listener's, so never evicted;
 * - a new pcb inherits its listener's priority while in SYN_RCVD, so
 *   tcp_lwip_syn (lwIP's LWIP_HOOK_TCP_INPACKET_PCB, run just before a
 *   segment reaches a listener) lowers the half-open pcbs to
 *   TCP_PRIO_EVICT first: the next SYN may take the slot of the oldest of
 *   them or of the oldest idle connection, whichever was silent longer.
 *   The hook only changes priorities (no pcb state or list, as lwIP asks)
 *   and answers a SYN beyond CONFIG_NET_TCP_PER_PEER with a reset.
 * - tcp_new() (uc_tcp_connect, uc_tcp_listen) allocates at TCP_PRIO_NORMAL,
 *   below all of these: the app's own calls never evict; only a SYN does,
 *   from tcp_input(), where no callback of this file is on the stack.
 * An evicted connection ends like a timed-out one (`closed`, -ETIMEDOUT).
 *
 * Reopening from TIME_WAIT (RFC 9293 sec 3.6.1, MAY-2; RFC 1122 sec
 * 4.2.2.13): when the app closed first, lwIP keeps the pcb in TIME_WAIT
 * for 2 * TCP_MSL, answers a SYN for the same address and port pair with
 * an ACK, which the client resets, and ignores the reset (RFC 1337): the
 * client retries once a second until TIME_WAIT ends. Clients reuse ports
 * every few thousand connections, so under load new connections stalled
 * for seconds. A SYN above the sequence numbers the old connection
 * received may reopen it: tcp_lwip_syn drops such a SYN and keeps a copy,
 * and one deferred item frees the TIME_WAIT pcb (lwIP frees those without
 * a segment or callback) and feeds the copy to ip_input(), which hands it
 * to the listener. The hook may not touch pcb lists, hence the detour.
 * Not enforced: the RFC's condition (1), an ISN above the old connection's
 * last sequence number; the ISN is lwIP's (tcp_next_iss: a counter that
 * grows by the slow-timer ticks since boot at every connection), above it
 * unless the old connection sent more bytes than that grew by. Nor (2),
 * back to TIME_WAIT when the SYN was an old duplicate: such a SYN costs the
 * TIME_WAIT pcb, as lwIP's own pool-full eviction of TIME_WAIT pcbs does.
 *
 * Unacknowledged closes: a lingering connection whose peer acknowledges
 * nothing for TCP_LINGER_MS, or that is still lingering TCP_CLOSE_MAX_MS
 * after the close (a slow reader taking a byte now and then), is reset
 * when its FIN is still unacknowledged (FIN_WAIT_1), else handed to lwIP;
 * past that lwIP bounds the rest (FIN_WAIT_2: 20 s, LAST_ACK:
 * 2 * TCP_MSL, TIME_WAIT: 2 * TCP_MSL, CLOSING: the retransmission limit)
 * and frees those first when the pool is full.
 */

#define TCP_NS_PER_MS      1000000ull
#define TCP_LINGER_MS      5000u /* after uc_tcp_close: give up waiting for the peer's FIN after this long without progress */
#define TCP_CLOSE_MAX_MS   CONFIG_NET_TCP_CLOSE_MAX_MS /* ...and after this long in all, progress or not */
#define TCP_POLL_INTERVAL  2     /* tcp_poll units of 500 ms: a short send stuck on memory is retried every second */
#define TCP_U16_MAX        0xffffu

/* lwIP pcb priorities (see above): SYNs evict below TCP_PRIO_LISTEN. */
#define TCP_PRIO_LISTEN    TCP_PRIO_MAX
#define TCP_PRIO_KEEP      TCP_PRIO_MAX
#define TCP_PRIO_EVICT     (TCP_PRIO_MAX - 1)

#define TCP_PER_PEER       CONFIG_NET_TCP_PER_PEER   /* 0: no cap */

enum tcp_phase {
	TCP_CONNECTING,  /* uc_tcp_connect() issued, no answer yet */
	TCP_OPEN,        /* established: the app uses it */
	TCP_LINGER,      /* closed by the app: FIN queued, reading and dropping until the peer's FIN */
	TCP_GONE,        /* no pcb any more; the struct waits for the callbacks on the stack */
};

struct uc_tcp {
	struct tcp_pcb *pcb;
	const struct uc_tcp_ops *ops;
	void *user;
	struct pbuf *rx;          /* received, not consumed by the app */
	size_t rx_len;
	uint8_t state;            /* enum tcp_phase */
	uint8_t depth;            /* calls into the app on the stack for this connection */
	bool in_lwip;             /* inside a lwIP callback of this pcb */
	bool aborted;             /* tcp_abort() ran inside that callback */
	bool app_done;            /* closed/aborted by the app, or told it ended: no more callbacks */
	bool peer_fin;
	bool shut_tx;
	bool want_writable;
	bool push_queued;
	bool evictable;           /* app's choice (accepted: true until it says otherwise) */
	unsigned idle_ms;
	uint64_t deadline;        /* uc_tcp_set_deadline(): time_ns(), 0 = none */
	uint64_t last_activity;   /* time_ns() of the last byte in or out (or ack) */
	uint64_t connect_deadline;
	uint64_t closed_at;       /* time_ns() of uc_tcp_close (TCP_LINGER) */
	uc_timer_t timer;
	uint64_t timer_deadline;
	struct uc_tcp *push_next;
};

struct uc_tcp_listener {
	struct tcp_pcb *pcb;
	const struct uc_tcp_ops *ops;
	void *arg;
};

static struct uc_tcp *tcp_push_head;   /* sends made outside their connection's callbacks */
static bool tcp_push_scheduled;

static void tcp_timer_fire(void *arg);

/* ---- bookkeeping ---- */

static void tcp_recved_n(struct tcp_pcb *pcb, size_t n)
{
	while (n) {
		u16_t chunk = n > TCP_U16_MAX ? (u16_t)TCP_U16_MAX : (u16_t)n;

		tcp_recved(pcb, chunk);
		n -= chunk;
	}
}

/* The pcb's lwIP priority from what the app said and the phase. */
static void tcp_prio_update(struct uc_tcp *c)
{
	bool evict = c->state == TCP_LINGER || (c->state == TCP_OPEN && c->evictable);

	if (c->pcb)
		tcp_setprio(c->pcb, evict ? TCP_PRIO_EVICT : TCP_PRIO_KEEP);
}

static void tcp_detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
}

/* Forgets the pcb (lwIP freed it, or owns it from now on). */
static void tcp_release(struct uc_tcp *c)
{
	if (c->pcb)
		tcp_detach(c->pcb);
	c->pcb = NULL;
	c->state = TCP_GONE;
	c->want_writable = false;
}

static void tcp_push_unlink(struct uc_tcp *c)
{
	struct uc_tcp **pp;

	if (!c->push_queued)
		return;
	for (pp = &tcp_push_head; *pp; pp = &(*pp)->push_next) {
		if (*pp == c) {
			*pp = c->push_next;
			break;
		}
	}
	c->push_queued = false;
}

/* Frees `c` once the app is done with it, the pcb is gone and no callback
 * of it is on the stack. */
static void tcp_maybe_free(struct uc_tcp *c)
{
	if (c->depth || c->state != TCP_GONE || !c->app_done)
		return;
	if (c->timer)
		uc_timer_cancel(c->timer);
	tcp_push_unlink(c);
	if (c->rx)
		pbuf_free(c->rx);
	free(c);
}

static void tcp_enter(struct uc_tcp *c, bool lwip)
{
	c->depth++;
	if (lwip)
		c->in_lwip = true;
}

/* What the lwIP callback returns: ERR_ABRT when the pcb was aborted in it. */
static err_t tcp_leave(struct uc_tcp *c, bool lwip)
{
	err_t ret = ERR_OK;

	if (lwip) {
		ret = c->aborted ? ERR_ABRT : ERR_OK;
		c->in_lwip = false;
		c->aborted = false;
	}
	c->depth--;
	tcp_maybe_free(c);
	return ret;
}

/* Resets the connection now. */
static void tcp_kill(struct uc_tcp *c)
{
	struct tcp_pcb *pcb = c->pcb;

	if (!pcb)
		return;
	tcp_release(c);
	tcp_abort(pcb);
	if (c->in_lwip)
		c->aborted = true;
}

/* Both directions are finished (or the linger time is over): lwIP keeps
 * the pcb for its last ACKs and TIME_WAIT. */
static void tcp_finish(struct uc_tcp *c)
{
	struct tcp_pcb *pcb = c->pcb;

	if (!pcb)
		return;
	tcp_release(c);
	/* Past our FIN, tcp_close() only marks RX closed; it cannot fail. */
	if (tcp_close(pcb) != ERR_OK) {
		tcp_abort(pcb);
		if (c->in_lwip)
			c->aborted = true;
	}
}

static uint64_t tcp_deadline(const struct uc_tcp *c)
{
	switch (c->state) {
	case TCP_CONNECTING:
		return c->connect_deadline ? c->connect_deadline : UINT64_MAX;
	case TCP_OPEN: {
		uint64_t idle = c->idle_ms ? c->last_activity + c->idle_ms * TCP_NS_PER_MS : UINT64_MAX;

		return c->deadline && c->deadline < idle ? c->deadline : idle;
	}
	case TCP_LINGER: {
		uint64_t quiet = c->last_activity + TCP_LINGER_MS * TCP_NS_PER_MS;
		uint64_t most = c->closed_at + TCP_CLOSE_MAX_MS * TCP_NS_PER_MS;

		return quiet < most ? quiet : most;
	}
	default:
		return UINT64_MAX;
	}
}

/* Keeps one runtime timer armed no later than the connection's deadline.
 * Deadlines that move later (activity) leave the timer alone: it re-checks
 * when it fires. */
static void tcp_timer_update(struct uc_tcp *c)
{
	uint64_t d = tcp_deadline(c);

	if (d == UINT64_MAX || (c->timer && c->timer_deadline <= d))
		return;
	if (c->timer)
		uc_timer_cancel(c->timer);
	c->timer = uc_timer_at(d, tcp_timer_fire, c);
	c->timer_deadline = d;
	if (!c->timer)
		console_printf("tcp: out of memory for a connection timer\n");
}

static void tcp_activity(struct uc_tcp *c)
{
	c->last_activity = time_ns();
}

static void tcp_push_run(void *arg)
{
	struct uc_tcp *c;

	(void)arg;
	tcp_push_scheduled = false;
	while ((c = tcp_push_head)) {
		tcp_push_head = c->push_next;
		c->push_queued = false;
		if (c->pcb) {
			PROFILE_ENTER(PROFILE_LWIP_OUT);
			tcp_output(c->pcb);
			PROFILE_EXIT(PROFILE_LWIP_OUT);
		}
	}
	net_timeouts_changed();
}

/* Sends queued outside this connection's lwIP callbacks go out from one
 * deferred item per loop pass. */
static void tcp_push_later(struct uc_tcp *c)
{
	if (c->in_lwip)
		return;   /* lwIP pushes when the callback returns */
	if (!c->push_queued) {
		c->push_queued = true;
		c->push_next = tcp_push_head;
		tcp_push_head = c;
	}
	if (tcp_push_scheduled)
		return;
	if (loop_defer(tcp_push_run, NULL) == 0)
		tcp_push_scheduled = true;
	else
		tcp_push_run(NULL);   /* queue full: push now */
}

/* Room for uc_tcp_send(): the send buffer, bounded by the segments lwIP
 * still lets us queue, each at most the peer's MSS: a peer announcing a
 * tiny one (RFC 9293 3.7.1 sets no floor; lwIP takes 1) gets 1-byte
 * segments, and counting TCP_MSS per segment would offer room tcp_write
 * can never fill: ERR_MEM on every retry, the answer stuck for good. */
static size_t tcp_room(const struct uc_tcp *c)
{
	size_t room, segs, mss;

	if (!c->pcb || c->shut_tx || c->state == TCP_LINGER)
		return 0;
	if (tcp_sndqueuelen(c->pcb) >= TCP_SND_QUEUELEN)
		return 0;
	room = tcp_sndbuf(c->pcb);
	segs = (size_t)(TCP_SND_QUEUELEN - tcp_sndqueuelen(c->pcb));
	mss = c->pcb->mss ? c->pcb->mss : 1;
	return room < segs * mss ? room : segs * mss;
}

static int tcp_errno(err_t err, bool connecting)
{
	switch (err) {
	case ERR_RST:  return connecting ? -ECONNREFUSED : -ECONNRESET;
	case ERR_CLSD: return 0;
	case ERR_ABRT: return -ETIMEDOUT;  /* retransmissions gave up (or evicted) */
	case ERR_MEM:  return -ENOMEM;
	default:       return -ECONNRESET;
	}
}

/* The app closed it, or the runtime does on its behalf: drop what is
 * queued, FIN after the queued sends, then read and drop until the peer's
 * FIN or the linger time. */
static void tcp_close_gracefully(struct uc_tcp *c)
{
	struct tcp_pcb *pcb = c->pcb;

	c->app_done = true;
	c->want_writable = false;
	if (c->rx) {
		pbuf_free(c->rx);
		c->rx = NULL;
		if (pcb)
			tcp_recved_n(pcb, c->rx_len);
		c->rx_len = 0;
	}
	if (!pcb) {
		tcp_maybe_free(c);
		return;
	}
	if (c->state == TCP_CONNECTING) {
		tcp_release(c);
		tcp_close(pcb);       /* SYN_SENT: freed at once, no reset */
		tcp_maybe_free(c);
		return;
	}
	if (!c->shut_tx) {
		c->shut_tx = true;
		tcp_shutdown(pcb, 0, 1);  /* FIN (retried by lwIP when out of memory) */
	}
	if (c->peer_fin) {
		tcp_finish(c);
		tcp_maybe_free(c);
		return;
	}
	c->state = TCP_LINGER;
	tcp_prio_update(c);
	tcp_activity(c);
	c->closed_at = c->last_activity;
	tcp_timer_update(c);
	tcp_push_later(c);
}

/* The connection ends without the app asking: tell it (err 0: both sides
 * finished), then let go. */
static void tcp_ended(struct uc_tcp *c, int err)
{
	tcp_enter(c, false);
	c->app_done = true;
	if (c->ops->closed)
		c->ops->closed(c, err, c->user);
	tcp_leave(c, false);
}

/* ---- lwIP callbacks ---- */

static err_t tcp_lwip_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct uc_tcp *c = arg;

	if (!c || err != ERR_OK || c->state == TCP_LINGER) {
		if (p) {   /* nobody reads it: acknowledge and drop */
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		if (c && c->state == TCP_LINGER) {
			tcp_activity(c);
			if (!p)
				tcp_finish(c);   /* the peer's FIN: done */
			tcp_maybe_free(c);
		}
		return ERR_OK;
	}
	tcp_activity(c);
	if (p) {
		if (c->rx)
			pbuf_cat(c->rx, p);
		else
			c->rx = p;
		c->rx_len += p->tot_len;
		tcp_enter(c, true);
		if (c->ops->recv)
			c->ops->recv(c, c->user);
		else
			uc_tcp_rx_consume(c, c->rx_len);
		return tcp_leave(c, true);
	}
	c->peer_fin = true;
	tcp_enter(c, true);
	if (!c->ops->peer_closed) {
		/* Nobody to tell: close, as the app would. */
		tcp_close_gracefully(c);
		if (c->ops->closed)
			c->ops->closed(c, 0, c->user);
	} else {
		c->ops->peer_closed(c, c->user);
		/* Both directions done: lwIP frees TIME_WAIT pcbs silently, so
		 * hand the pcb over now and say that it ended. */
		if (!c->app_done && c->shut_tx) {
			tcp_finish(c);
			c->app_done = true;
			if (c->ops->closed)
				c->ops->closed(c, 0, c->user);
		}
	}
	return tcp_leave(c, true);
}

/* Runs `writable` when a short send waits and room is back. */
static err_t tcp_lwip_room(struct uc_tcp *c)
{
	if (c->state != TCP_OPEN || !c->want_writable || tcp_room(c) == 0)
		return ERR_OK;
	c->want_writable = false;
	if (!c->ops->writable)
		return ERR_OK;
	tcp_enter(c, true);
	c->ops->writable(c, c->user);
	return tcp_leave(c, true);
}

static err_t tcp_lwip_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct uc_tcp *c = arg;

	(void)pcb;
	(void)len;
	if (!c)
		return ERR_OK;
	tcp_activity(c);
	return tcp_lwip_room(c);
}

static err_t tcp_lwip_poll(void *arg, struct tcp_pcb *pcb)
{
	struct uc_tcp *c = arg;

	(void)pcb;
	return c ? tcp_lwip_room(c) : ERR_OK;
}

static void tcp_lwip_err(void *arg, err_t err)
{
	struct uc_tcp *c = arg;
	bool connecting;

	if (!c)
		return;
	connecting = c->state == TCP_CONNECTING;
	c->pcb = NULL;   /* already freed by lwIP */
	tcp_release(c);
	if (c->app_done) {
		tcp_maybe_free(c);
		return;
	}
	if (connecting) {
		tcp_enter(c, false);
		c->app_done = true;
		if (c->ops->connected)
			c->ops->connected(c, tcp_errno(err, true), c->user);
		tcp_leave(c, false);
		return;
	}
	tcp_ended(c, tcp_errno(err, false));
}

static void tcp_attach(struct uc_tcp *c)
{
	tcp_arg(c->pcb, c);
	tcp_recv(c->pcb, tcp_lwip_recv);
	tcp_sent(c->pcb, tcp_lwip_sent);
	tcp_err(c->pcb, tcp_lwip_err);
	tcp_poll(c->pcb, tcp_lwip_poll, TCP_POLL_INTERVAL);
	tcp_nagle_disable(c->pcb);   /* one push per batch already coalesces */
}

static struct uc_tcp *tcp_conn_new(struct tcp_pcb *pcb, const struct uc_tcp_ops *ops, void *user)
{
	struct uc_tcp *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->pcb = pcb;
	c->ops = ops;
	c->user = user;
	tcp_activity(c);
	return c;
}

static err_t tcp_lwip_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct uc_tcp_listener *l = arg;
	struct uc_tcp *c;
	int rc;

	if (err != ERR_OK || !pcb || !l)
		return ERR_VAL;   /* lwIP aborts the new pcb */
	c = tcp_conn_new(pcb, l->ops, l->arg);
	if (!c) {
		console_printf("tcp: out of memory accepting a connection\n");
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	c->state = TCP_OPEN;
	c->evictable = true;
	tcp_prio_update(c);
	tcp_attach(c);
	if (!l->ops->accept)
		return ERR_OK;
	tcp_enter(c, true);
	rc = l->ops->accept(c, l->arg);
	if (rc < 0 && !c->app_done)
		uc_tcp_abort(c);
	return tcp_leave(c, true);
}

static err_t tcp_lwip_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct uc_tcp *c = arg;

	(void)pcb;
	(void)err;   /* always ERR_OK in lwIP 2.1; failures come through tcp_err */
	if (!c)
		return ERR_OK;
	c->state = TCP_OPEN;
	tcp_prio_update(c);
	tcp_activity(c);
	tcp_timer_update(c);
	if (!c->ops->connected)
		return ERR_OK;
	tcp_enter(c, true);
	c->ops->connected(c, 0, c->user);
	return tcp_leave(c, true);
}

static void tcp_timer_fire(void *arg)
{
	struct uc_tcp *c = arg;
	uint64_t now = time_ns();

	c->timer = 0;
	if (tcp_deadline(c) > now) {
		tcp_timer_update(c);
		return;
	}
	switch (c->state) {
	case TCP_CONNECTING:
		tcp_kill(c);
		tcp_enter(c, false);
		c->app_done = true;
		if (c->ops->connected)
			c->ops->connected(c, -ETIMEDOUT, c->user);
		tcp_leave(c, false);
		break;
	case TCP_OPEN:   /* idle timeout: say so, then close gracefully */
		tcp_enter(c, false);
		if (c->ops->closed)
			c->ops->closed(c, -ETIMEDOUT, c->user);
		if (!c->app_done)
			tcp_close_gracefully(c);
		tcp_leave(c, false);
		break;
	case TCP_LINGER:
		/* Nothing acknowledged for TCP_LINGER_MS, or still closing after
		 * TCP_CLOSE_MAX_MS (a peer taking a byte now and then): with our
		 * FIN unacknowledged lwIP would go on for minutes; reclaim it. */
		if (c->pcb && c->pcb->state == FIN_WAIT_1)
			tcp_kill(c);
		else
			tcp_finish(c);
		tcp_maybe_free(c);
		break;
	default:
		break;
	}
}

/* ---- public API (unicycle/tcp.h) ---- */

int uc_tcp_listen(const struct uc_sockaddr *local, uint16_t port,
		  const struct uc_tcp_ops *ops, void *arg, struct uc_tcp_listener **out)
{
	struct uc_tcp_listener *l;
	struct tcp_pcb *pcb, *lpcb;
	ip_addr_t ip;
	u8_t type;
	err_t err;
	int rc;

	if (port == 0 || !ops || !out)
		return -EINVAL;
	rc = inetip_local(local, &ip, &type);
	if (rc < 0)
		return rc;
	l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	pcb = tcp_new_ip_type(type);
	if (!pcb) {
		free(l);
		console_printf("tcp: out of PCBs for a listener on port %u\n", port);
		return -ENOMEM;
	}
	tcp_setprio(pcb, TCP_PRIO_LISTEN);   /* copied to the listening pcb */
	err = tcp_bind(pcb, &ip, port);
	if (err != ERR_OK) {
		tcp_close(pcb);
		free(l);
		return err == ERR_USE ? -EADDRINUSE : -EINVAL;
	}
	lpcb = tcp_listen_with_backlog_and_err(pcb, TCP_DEFAULT_LISTEN_BACKLOG, &err);
	if (!lpcb) {
		tcp_close(pcb);
		free(l);
		return -ENOMEM;
	}
	l->pcb = lpcb;
	l->ops = ops;
	l->arg = arg;
	tcp_arg(lpcb, l);
	tcp_accept(lpcb, tcp_lwip_accept);
	*out = l;
	return 0;
}

void uc_tcp_unlisten(struct uc_tcp_listener *l)
{
	if (!l)
		return;
	tcp_arg(l->pcb, NULL);
	tcp_accept(l->pcb, NULL);
	tcp_close(l->pcb);   /* a LISTEN pcb: always freed */
	free(l);
}

int uc_tcp_connect(const struct uc_sockaddr *peer, unsigned timeout_ms,
		   const struct uc_tcp_ops *ops, void *user, struct uc_tcp **out)
{
	struct tcp_pcb *pcb;
	struct uc_tcp *c;
	ip_addr_t ip;
	err_t err;
	int rc;

	if (!peer || !ops || !out || peer->port == 0 || peer->family == UC_AF_UNSPEC)
		return -EINVAL;
	if (!net_is_running())
		return -ENODEV;
	rc = inetip_from_sockaddr(peer, &ip);
	if (rc < 0)
		return rc;
	pcb = tcp_new_ip_type(IP_GET_TYPE(&ip));
	if (!pcb)
		return -ENOMEM;
	c = tcp_conn_new(pcb, ops, user);
	if (!c) {
		tcp_close(pcb);
		return -ENOMEM;
	}
	c->state = TCP_CONNECTING;
	tcp_setprio(pcb, TCP_PRIO_KEEP);
	tcp_attach(c);
	err = tcp_connect(pcb, &ip, peer->port, tcp_lwip_connected);
	if (err != ERR_OK) {
		tcp_detach(pcb);
		tcp_close(pcb);     /* still CLOSED: freed, nothing sent */
		free(c);
		switch (err) {
		case ERR_RTE: return -ENETUNREACH;
		case ERR_MEM:
		case ERR_BUF: return -ENOMEM;
		case ERR_USE: return -EADDRINUSE;
		default:      return -EINVAL;
		}
	}
	if (timeout_ms) {
		c->connect_deadline = time_ns() + timeout_ms * TCP_NS_PER_MS;
		tcp_timer_update(c);
	}
	net_timeouts_changed();
	*out = c;
	return 0;
}

void uc_tcp_set_user(struct uc_tcp *c, void *user)
{
	c->user = user;
}

void *uc_tcp_user(const struct uc_tcp *c)
{
	return c->user;
}

void uc_tcp_set_idle_timeout(struct uc_tcp *c, unsigned ms)
{
	c->idle_ms = ms;
	tcp_activity(c);
	tcp_timer_update(c);
}

void uc_tcp_set_deadline(struct uc_tcp *c, unsigned ms)
{
	c->deadline = ms ? time_ns() + ms * TCP_NS_PER_MS : 0;
	tcp_timer_update(c);
}

void uc_tcp_set_evictable(struct uc_tcp *c, bool evictable)
{
	if (c->evictable == evictable)
		return;
	c->evictable = evictable;
	tcp_prio_update(c);
}

int uc_tcp_peer(const struct uc_tcp *c, struct uc_sockaddr *out)
{
	if (!c->pcb || c->state == TCP_CONNECTING)
		return -ENOTCONN;
	inetip_to_sockaddr(&c->pcb->remote_ip, c->pcb->remote_port, out);
	return 0;
}

int uc_tcp_local(const struct uc_tcp *c, struct uc_sockaddr *out)
{
	if (!c->pcb || c->state == TCP_CONNECTING)
		return -ENOTCONN;
	inetip_to_sockaddr(&c->pcb->local_ip, c->pcb->local_port, out);
	return 0;
}

size_t uc_tcp_rx_len(const struct uc_tcp *c)
{
	return c->rx_len;
}

unsigned uc_tcp_rx_iov(const struct uc_tcp *c, struct uc_iovec *iov, unsigned max)
{
	unsigned n = 0;

	for (const struct pbuf *p = c->rx; p && n < max; p = p->next) {
		if (p->len == 0)
			continue;
		iov[n].base = p->payload;
		iov[n].len = p->len;
		n++;
	}
	return n;
}

size_t uc_tcp_rx_copy(const struct uc_tcp *c, size_t off, void *dst, size_t len)
{
	size_t done = 0;

	for (const struct pbuf *p = c->rx; p && done < len; p = p->next) {
		size_t take;

		if (off >= p->len) {
			off -= p->len;
			continue;
		}
		take = p->len - off;
		if (take > len - done)
			take = len - done;
		memcpy((char *)dst + done, (const char *)p->payload + off, take);
		done += take;
		off = 0;
	}
	return done;
}

void uc_tcp_rx_consume(struct uc_tcp *c, size_t n)
{
	size_t left;

	if (n > c->rx_len)
		n = c->rx_len;
	for (left = n; left;) {
		u16_t chunk = left > TCP_U16_MAX ? (u16_t)TCP_U16_MAX : (u16_t)left;

		c->rx = pbuf_free_header(c->rx, chunk);
		left -= chunk;
	}
	c->rx_len -= n;
	if (c->rx_len == 0 && c->rx) {   /* empty links left over */
		pbuf_free(c->rx);
		c->rx = NULL;
	}
	if (c->pcb && n)
		tcp_recved_n(c->pcb, n);   /* opens the window: the peer may send more */
}

long uc_tcp_send(struct uc_tcp *c, const void *buf, size_t len, unsigned flags)
{
	size_t done = 0;

	if (!buf && len)
		return -EINVAL;
	if (c->app_done && c->pcb)
		return -EPIPE;
	if (!c->pcb)
		return -ENOTCONN;
	if (c->shut_tx)
		return -EPIPE;
	while (done < len) {
		size_t n = tcp_room(c);
		u8_t wflags = TCP_WRITE_FLAG_COPY;
		err_t err;

		if (n == 0)
			break;
		if (n > len - done)
			n = len - done;
		if (n > TCP_U16_MAX)
			n = TCP_U16_MAX;
		if ((flags & UC_TCP_MORE) || done + n < len)
			wflags |= TCP_WRITE_FLAG_MORE;
		PROFILE_ENTER(PROFILE_LWIP_WRITE);
		err = tcp_write(c->pcb, (const char *)buf + done, (u16_t)n, wflags);
		PROFILE_EXIT(PROFILE_LWIP_WRITE);
		if (err == ERR_MEM)
			break;     /* segments or pbufs out: writable follows */
		if (err != ERR_OK) {
			if (done)
				break;
			return -EPIPE;
		}
		done += n;
	}
	if (done < len)
		c->want_writable = true;
	if (done) {
		tcp_activity(c);
		if (!(flags & UC_TCP_MORE))
			tcp_push_later(c);
	}
	return (long)done;
}

size_t uc_tcp_sendbuf(const struct uc_tcp *c)
{
	return c->app_done ? 0 : tcp_room(c);
}

int uc_tcp_shutdown(struct uc_tcp *c)
{
	if (!c->pcb || c->state != TCP_OPEN)
		return -ENOTCONN;
	if (c->shut_tx)
		return 0;
	if (tcp_shutdown(c->pcb, 0, 1) != ERR_OK)
		return -ENOTCONN;
	c->shut_tx = true;
	c->want_writable = false;
	tcp_push_later(c);
	return 0;
}

void uc_tcp_close(struct uc_tcp *c)
{
	if (c->app_done)
		return;   /* from its own `closed`/failed `connected` callback */
	tcp_close_gracefully(c);
}

void uc_tcp_abort(struct uc_tcp *c)
{
	if (c->app_done)
		return;
	c->app_done = true;
	tcp_kill(c);
	tcp_release(c);
	tcp_maybe_free(c);
}

/* ---- admission (lwIP's LWIP_HOOK_TCP_INPACKET_PCB, see lwipopts.h) ---- */

/* Connections accepted from `peer` that still hold a pcb (half-open,
 * open, closing; not TIME_WAIT); lowers half-open ones to TCP_PRIO_EVICT
 * on the way (why: the file's header comment). */
static unsigned tcp_syn_scan(const ip_addr_t *peer)
{
	unsigned n = 0;

	for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next) {
		if (pcb->state == SYN_RCVD)
			tcp_setprio(pcb, TCP_PRIO_EVICT);
		if (pcb->listener && ip_addr_cmp(&pcb->remote_ip, peer))
			n++;
	}
	return n;
}

/* ---- reopening from TIME_WAIT (why: the file's header comment) ---- */

#define TCP_REOPEN_MAX 16   /* SYNs waiting for their TIME_WAIT pcb to go, per loop pass */

struct tcp_reopen {
	struct pbuf *syn;        /* a copy of the IP datagram, header in network order */
	struct netif *inp;
	ip_addr_t local, remote;
	u16_t local_port, remote_port;
};

static struct tcp_reopen tcp_reopens[TCP_REOPEN_MAX];
static unsigned tcp_reopen_count;

static struct tcp_pcb *tcp_timewait_find(const struct tcp_reopen *r)
{
	for (struct tcp_pcb *pcb = tcp_tw_pcbs; pcb; pcb = pcb->next) {
		if (pcb->local_port == r->local_port && pcb->remote_port == r->remote_port &&
		    ip_addr_cmp(&pcb->local_ip, &r->local) && ip_addr_cmp(&pcb->remote_ip, &r->remote))
			return pcb;
	}
	return NULL;
}

static void tcp_reopen_run(void *arg)
{
	struct tcp_reopen batch[TCP_REOPEN_MAX];
	unsigned n = tcp_reopen_count;
	struct tcp_pcb *pcb;

	(void)arg;
	memcpy(batch, tcp_reopens, n * sizeof(batch[0]));
	tcp_reopen_count = 0;
	for (unsigned i = 0; i < n; i++) {
		pcb = tcp_timewait_find(&batch[i]);
		if (pcb)
			tcp_abort(pcb);   /* TIME_WAIT: freed, nothing sent, no callback */
		ip_input(batch[i].syn, batch[i].inp);   /* consumes the pbuf */
	}
	net_timeouts_changed();
}

/* A SYN for `pcb` in TIME_WAIT: ERR_ABRT when it was taken to reopen the
 * connection, ERR_OK to leave it to lwIP (not above the old connection's
 * sequence numbers, carrying data, headers not in one piece, no room). */
static err_t tcp_reopen_syn(struct tcp_pcb *pcb, struct tcp_hdr *hdr, struct pbuf *p)
{
	u16_t iplen = ip_current_header_tot_len();
	const u8_t *iph = (const u8_t *)ip_next_header_ptr() - iplen;
	u16_t len = (u16_t)(iplen + TCPH_HDRLEN_BYTES(hdr));
	struct tcp_reopen *r = &tcp_reopens[tcp_reopen_count];
	struct tcp_hdr *th;

	if (!TCP_SEQ_GT(hdr->seqno, pcb->rcv_nxt) || p->tot_len != 0 ||
	    iph + iplen != (const u8_t *)hdr || tcp_reopen_count == TCP_REOPEN_MAX)
		return ERR_OK;
	r->syn = pbuf_alloc(PBUF_RAW, len, PBUF_RAM);
	if (!r->syn)
		return ERR_OK;
	if (tcp_reopen_count == 0 && loop_defer(tcp_reopen_run, NULL) != 0) {
		pbuf_free(r->syn);
		return ERR_OK;
	}
	memcpy(r->syn->payload, iph, len);
	/* tcp_input() turned these to host order in place; the copy goes in again. */
	th = (struct tcp_hdr *)((u8_t *)r->syn->payload + iplen);
	th->src = lwip_htons(th->src);
	th->dest = lwip_htons(th->dest);
	th->seqno = lwip_htonl(th->seqno);
	th->ackno = lwip_htonl(th->ackno);
	th->wnd = lwip_htons(th->wnd);
	r->inp = ip_current_input_netif();
	ip_addr_copy(r->local, *ip_current_dest_addr());
	ip_addr_copy(r->remote, *ip_current_src_addr());
	r->local_port = hdr->dest;
	r->remote_port = hdr->src;
	tcp_reopen_count++;
	return ERR_ABRT;
}

/* Runs for every segment before lwIP hands it to `pcb`; a SYN reaching a
 * listener is admitted (ERR_OK) or refused with a reset (RFC 9293 sec
 * 3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>) when its address
 * holds CONFIG_NET_TCP_PER_PEER connections; a SYN reaching a TIME_WAIT
 * pcb may reopen the connection. lwIP has already turned the header's
 * ports and sequence number to host order. */
err_t tcp_lwip_syn(struct tcp_pcb *pcb, struct tcp_hdr *hdr, struct pbuf *p)
{
	const ip_addr_t *peer = ip_current_src_addr();
	unsigned n;

	if ((TCPH_FLAGS(hdr) & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN)
		return ERR_OK;
	if (pcb->state == TIME_WAIT)
		return tcp_reopen_syn(pcb, hdr, p);
	if (pcb->state != LISTEN)
		return ERR_OK;
	n = tcp_syn_scan(peer);
	if (TCP_PER_PEER == 0 || n < TCP_PER_PEER)
		return ERR_OK;
	tcp_rst(pcb, 0, hdr->seqno + p->tot_len + 1, ip_current_dest_addr(), peer,
		hdr->dest, hdr->src);
	return ERR_ABRT;
}
