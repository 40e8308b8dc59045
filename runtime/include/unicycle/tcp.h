/* tcp.h: TCP connections on the event loop: listen, accept, connect, zero-copy receive, send with backpressure (CONFIG_NET). */
#ifndef UNICYCLE_TCP_H
#define UNICYCLE_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <unicycle/inet.h>

/*
 * Every callback runs on the event loop (uc_run), to completion, never in
 * an interrupt and never re-entered for the same connection. Any function
 * here may be called from any callback (TCP, UDP, timer, HTTP handler) or
 * from app_main(); none blocks. With CONFIG_SMP, networking belongs to
 * CPU 0's loop: call these only there. A connection's callbacks run in the
 * order its events happened.
 *
 * Lifetime: a `struct uc_tcp *` is valid from accept (or connect) until
 * the app calls uc_tcp_close()/uc_tcp_abort(), until the `closed`
 * callback returns, or until a failed `connected` callback returns,
 * whichever comes first. After uc_tcp_close() or uc_tcp_abort() no
 * callback runs for it any more. Calling uc_tcp_close()/uc_tcp_abort()
 * from its own `closed` or failed `connected` callback is harmless.
 *
 * Receiving (no copy): received bytes queue up in the stack's own buffers.
 * `recv` says that the queue grew; the app looks at the queued bytes with
 * uc_tcp_rx_iov()/uc_tcp_rx_copy() and drops what it has used with
 * uc_tcp_rx_consume(). Bytes not consumed stay queued (and are offered
 * again, with the new ones, on the next `recv`) and count against the
 * receive window: a peer is slowed down by an app that does not consume.
 *
 * Sending: uc_tcp_send() copies what fits into the send buffer and says
 * how much that was. When it took less than offered, `writable` runs once
 * room is back. Queued bytes are pushed to the network once per batch:
 * sends made in one of the connection's own callbacks go out when that
 * callback returns; sends made anywhere else (a timer, another
 * connection's callback, app_main) go out from one deferred item on the
 * same loop pass. UC_TCP_MORE skips that deferred push (lwIP still sends
 * full segments, and everything once the peer acknowledges).
 *
 * Closing never destroys data with a reset: uc_tcp_close() sends FIN after
 * the queued bytes, then reads and drops whatever the peer still sends
 * until its FIN or for 5 s without progress (linger); a request that
 * arrived together with the peer's FIN still gets its whole answer. A
 * peer that acknowledges nothing for those 5 s while our FIN is still
 * unacknowledged is reset; closing states past that are bounded by the
 * stack (about 20 s each).
 *
 * Limits against clients that hold connections (CONFIG_NET_TCP_PCBS in
 * all, TIME_WAIT included):
 * - Per peer: a SYN from an address that already holds
 *   CONFIG_NET_TCP_PER_PEER accepted connections (half-open and closing
 *   ones included, on any listener) is answered with a reset; 0: no cap.
 * - Eviction: when every slot is taken, a new SYN takes the slot of the
 *   connection silent longest (no segment received) among the half-open
 *   ones, the lingering ones and the accepted ones marked evictable
 *   (uc_tcp_set_evictable; accepted connections start evictable). That
 *   connection is reset and its `closed` runs with -ETIMEDOUT. Connections
 *   made with uc_tcp_connect() are never evicted, and uc_tcp_connect()
 *   itself evicts nothing (it fails with -ENOMEM when the pool is full).
 *   Half-open connections also expire after 20 s (the stack's SYN_RCVD
 *   timeout).
 * - Time: uc_tcp_set_idle_timeout() ends a silent connection; the clock
 *   restarts on every byte. uc_tcp_set_deadline() ends one at a fixed
 *   time whatever it receives (a peer dribbling bytes cannot push it
 *   back): the HTTP server uses it for a request's header block.
 */

struct uc_tcp;            /* a connection */
struct uc_tcp_listener;   /* a listening port */

struct uc_iovec {
	const void *base;
	size_t len;
};

struct uc_tcp_ops {
	/* OPTIONAL. A listener accepted `c`; set per-connection state with
	 * uc_tcp_set_user(). Return 0 to keep it, a negative errno to refuse
	 * it (the connection is reset). Unused for connect. */
	int (*accept)(struct uc_tcp *c, void *listener_arg);
	/* OPTIONAL. uc_tcp_connect() finished: err 0 (connected) or
	 * -ECONNREFUSED (the peer reset: nothing listens) / -ETIMEDOUT (no
	 * answer within the timeout, or lwIP's SYN retries gave up); on
	 * error the `closed` callback does not follow and `c` is gone once
	 * this returns. */
	void (*connected)(struct uc_tcp *c, int err, void *user);
	/* OPTIONAL (NULL: received bytes are consumed and dropped). New bytes
	 * are queued; uc_tcp_rx_len(c) says how many in all. */
	void (*recv)(struct uc_tcp *c, void *user);
	/* OPTIONAL. The peer sent FIN: it sends nothing more (queued bytes
	 * can still be read). The app may still send, then close. After
	 * uc_tcp_shutdown() both directions are done: `closed` (err 0)
	 * follows this callback unless it closed `c`. NULL: the runtime
	 * closes the connection (as uc_tcp_close) and `closed` runs with 0. */
	void (*peer_closed)(struct uc_tcp *c, void *user);
	/* OPTIONAL. Room in the send buffer after a short uc_tcp_send(). */
	void (*writable)(struct uc_tcp *c, void *user);
	/* OPTIONAL. The connection ended without uc_tcp_close()/abort() by
	 * the app: err is 0 (both sides finished after uc_tcp_shutdown(), or
	 * the FIN with no peer_closed callback), -ECONNRESET (peer reset),
	 * -ETIMEDOUT (idle timeout or deadline: the runtime then closes
	 * gracefully, and what the callback still sends with uc_tcp_send()
	 * goes out before the FIN; or retransmissions gave up, or the
	 * connection was evicted) or -ENOMEM. `c` is invalid afterwards. */
	void (*closed)(struct uc_tcp *c, int err, void *user);
};

/* Listens on `local` (NULL, or family UC_AF_UNSPEC: every IPv4 and IPv6
 * address; its port field is ignored) at `port`. Accepted connections use
 * `ops`, with `arg` passed to ops->accept and as their initial user
 * pointer. Returns 0 and *out; -EINVAL (port 0, NULL ops or out, address
 * not local), -EADDRINUSE, -ENOMEM, -ENODEV (no network), -EAFNOSUPPORT
 * (IPv6 address without CONFIG_NET_IPV6). */
int uc_tcp_listen(const struct uc_sockaddr *local, uint16_t port,
		  const struct uc_tcp_ops *ops, void *arg, struct uc_tcp_listener **out);
/* Stops listening and frees `l`; connections already accepted stay. */
void uc_tcp_unlisten(struct uc_tcp_listener *l);

/* Connects to `peer` (its port must not be 0); ops->connected reports the
 * outcome within `timeout_ms` (0: the stack's own SYN retransmission
 * limit). Returns 0 and *out (usable at once: sends are queued until
 * connected); -EINVAL (NULL argument, port 0, UC_AF_UNSPEC), -ENOMEM,
 * -ENODEV (no network), -ENETUNREACH (no route, or no local address yet,
 * e.g. DHCP pending), -EAFNOSUPPORT (IPv6 without CONFIG_NET_IPV6). */
int uc_tcp_connect(const struct uc_sockaddr *peer, unsigned timeout_ms,
		   const struct uc_tcp_ops *ops, void *user, struct uc_tcp **out);

void uc_tcp_set_user(struct uc_tcp *c, void *user);
void *uc_tcp_user(const struct uc_tcp *c);

/* Closes `c` with -ETIMEDOUT (`closed` callback, then a graceful close)
 * when nothing was received, sent or acknowledged for `ms` milliseconds,
 * counting from this call; 0 turns the timeout off (the default). */
void uc_tcp_set_idle_timeout(struct uc_tcp *c, unsigned ms);

/* Closes `c` as the idle timeout does (`closed` with -ETIMEDOUT, then a
 * graceful close) `ms` milliseconds from this call, whatever it receives
 * or sends meanwhile; 0 cancels. Independent of the idle timeout. */
void uc_tcp_set_deadline(struct uc_tcp *c, unsigned ms);

/* Whether a new SYN may take this connection's slot when the pool is full
 * (see "Limits" above). Accepted connections start evictable; mark one
 * false while it does work worth keeping (e.g. an answer under way).
 * Connections from uc_tcp_connect() are never evicted. */
void uc_tcp_set_evictable(struct uc_tcp *c, bool evictable);

/* Peer and local address of `c`: 0, or -ENOTCONN before it connected
 * (or once the stack let go of it, e.g. in `closed` after a reset). */
int uc_tcp_peer(const struct uc_tcp *c, struct uc_sockaddr *out);
int uc_tcp_local(const struct uc_tcp *c, struct uc_sockaddr *out);

/* ---- receiving ---- */

/* Bytes queued for the app. */
size_t uc_tcp_rx_len(const struct uc_tcp *c);
/* Fills up to `max` views of the queued bytes, in order, without copying;
 * returns how many it filled. The views stay valid until those bytes are
 * consumed or the connection ends. */
unsigned uc_tcp_rx_iov(const struct uc_tcp *c, struct uc_iovec *iov, unsigned max);
/* Copies up to `len` queued bytes starting `off` bytes in; returns the
 * count copied (less when fewer are queued). Consumes nothing. */
size_t uc_tcp_rx_copy(const struct uc_tcp *c, size_t off, void *dst, size_t len);
/* Drops the first `n` queued bytes (more than uc_tcp_rx_len counts as
 * all), freeing their buffers and opening the receive window by as much. */
void uc_tcp_rx_consume(struct uc_tcp *c, size_t n);

/* ---- sending ---- */

#define UC_TCP_MORE (1u << 0)   /* more follows: do not push yet */

/* Copies up to `len` bytes into the send buffer. Returns the count taken
 * (0..len; less than len means the buffer is full: `writable` follows),
 * -EINVAL (NULL buf with a length), -EPIPE after uc_tcp_shutdown() or
 * when the stack refuses more (closing), -ENOTCONN once the connection is
 * gone (in `closed`, or in `connected` with an error). */
long uc_tcp_send(struct uc_tcp *c, const void *buf, size_t len, unsigned flags);
/* Free bytes in the send buffer now (0 once shut down or gone). */
size_t uc_tcp_sendbuf(const struct uc_tcp *c);

/* ---- ending ---- */

/* Half-close: FIN after the queued bytes; receiving goes on. 0 (also
 * when already shut down), or -ENOTCONN (not connected yet, or gone). */
int uc_tcp_shutdown(struct uc_tcp *c);
/* Graceful close: queued bytes are sent, then FIN; bytes still arriving
 * are read and dropped (never answered with a reset) until the peer's FIN
 * or a short linger time. `c` is invalid once this returns. */
void uc_tcp_close(struct uc_tcp *c);
/* Reset now: queued bytes are dropped. `c` is invalid once this returns. */
void uc_tcp_abort(struct uc_tcp *c);

#endif
