/* openloop.c: an open-loop HTTP/1.1 load generator; latency counts from each request's due time. */
/*
 * openloop --url http://HOST:PORT/PATH --rate R --duration S --connections C
 *          [--warmup W] [--expect-body FILE] [--timeout-ms T]
 *
 * Request k (k = 0, 1, ...) is due at t0 + k/R, whatever the server does.
 * A due request goes to an idle keep-alive connection; if none is idle it
 * waits in a FIFO queue, and its clock is already running: its latency is
 * "response complete - due time", never "- send time".  So a server that
 * stalls charges the stall to every request scheduled behind it (no
 * coordinated omission).  One request in flight per connection (no
 * pipelining).  Requests due in the first W seconds are warm-up: sent,
 * checked, not counted.  The run ends when every measured request is done,
 * or at t0 + W + S + T at the latest.  One JSON object goes to stdout.
 *
 * Build: gcc -O2 -o openloop openloop.c  (Linux; no other dependencies)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL
#define HDR_MAX 8192                    /* a response header larger than this is a protocol error */
#define CONNECT_RETRY_NS (20 * 1000000LL) /* wait before reconnecting after a failed connect */
#define TICK_NS (5 * 1000000LL)         /* timeouts and retries are checked this often */
#define KEPT_UP_COMPLETED 0.99          /* kept_up: completed >= this share of scheduled ... */
#define KEPT_UP_MAX_LAG_NS (1 * NS)     /* ... and no due request waited longer than this to be sent */

/* ---- errors ---- */

static void usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("openloop: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (usage: openloop --url http://HOST:PORT/PATH --rate R --duration S"
          " --connections C [--warmup W] [--expect-body FILE] [--timeout-ms T])\n", stderr);
    exit(2);
}

static void fatal(const char *fmt, ...)
{
    va_list ap;
    fputs("openloop: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

/* ---- hist: log-linear latency histogram (HdrHistogram's layout) ----
 * Values are microseconds.  Values below 2*HIST_SUB have their own slot; above,
 * each power of two [HIST_SUB*2^b, 2*HIST_SUB*2^b) is cut into HIST_SUB equal slots
 * of width 2^b, so a slot is at most 1/HIST_SUB (0.8%) of its value wide. */
#define HIST_SUB 128
#define HIST_MAX_US (60LL * 1000000)    /* larger values are clamped here (and counted) */
#define HIST_BUCKETS 20                 /* 128 * 2^19 * 2 > 60 s in us */
#define HIST_SLOTS (2 * HIST_SUB + (HIST_BUCKETS - 1) * HIST_SUB)

struct hist {
    uint64_t slot[HIST_SLOTS];
    uint64_t count, clamped;
    double sum;
    int64_t min, max;
};

static int hist_index(int64_t v)
{
    if (v < 2 * HIST_SUB)
        return (int)v;
    int b = 63 - __builtin_clzll((uint64_t)v) - 7;   /* v >> b is in [HIST_SUB, 2*HIST_SUB) */
    return 2 * HIST_SUB + (b - 1) * HIST_SUB + (int)((v >> b) - HIST_SUB);
}

static int64_t hist_slot_top(int i)            /* the largest value slot i holds */
{
    if (i < 2 * HIST_SUB)
        return i;
    int b = (i - 2 * HIST_SUB) / HIST_SUB + 1;
    int64_t lo = (int64_t)(HIST_SUB + (i - 2 * HIST_SUB) % HIST_SUB) << b;
    return lo + ((int64_t)1 << b) - 1;
}

static void hist_record(struct hist *h, int64_t us)
{
    if (us < 0)
        us = 0;
    if (us > HIST_MAX_US) {
        us = HIST_MAX_US;
        h->clamped++;
    }
    h->slot[hist_index(us)]++;
    if (h->count == 0 || us < h->min)
        h->min = us;
    if (us > h->max)
        h->max = us;
    h->count++;
    h->sum += (double)us;
}

/* The value at percentile p (0..100): the top of the slot holding the
 * ceil(p% * count)-th value, but never above the true maximum. */
static int64_t hist_percentile(const struct hist *h, double p)
{
    if (h->count == 0)
        return 0;
    if (p <= 0)
        return h->min;
    uint64_t want = (uint64_t)ceil(p / 100.0 * (double)h->count);
    if (want < 1)
        want = 1;
    if (want >= h->count)
        return h->max;
    uint64_t seen = 0;
    for (int i = 0; i < HIST_SLOTS; i++) {
        seen += h->slot[i];
        if (seen >= want) {
            int64_t v = hist_slot_top(i);
            return v > h->max ? h->max : (v < h->min ? h->min : v);
        }
    }
    return h->max;
}

/* ---- url / args ---- */

struct args {
    char host[256], port[16], path[2048];
    double rate, duration, warmup;
    long connections, timeout_ms;
    const char *expect_file;
};

static void parse_url(struct args *a, const char *url)
{
    if (strncmp(url, "http://", 7) != 0)
        usage_error("--url must start with http:// (got '%s')", url);
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    const char *end = slash ? slash : h + strlen(h);
    const char *colon = memchr(h, ':', (size_t)(end - h));
    const char *hend = colon ? colon : end;
    if (hend == h || (size_t)(hend - h) >= sizeof a->host)
        usage_error("--url has no host or an overlong one: '%s'", url);
    memcpy(a->host, h, (size_t)(hend - h));
    a->host[hend - h] = 0;
    if (colon) {
        size_t n = (size_t)(end - colon - 1);
        if (n == 0 || n >= sizeof a->port || strspn(colon + 1, "0123456789") != n)
            usage_error("--url has a bad port: '%s'", url);
        memcpy(a->port, colon + 1, n);
        a->port[n] = 0;
        long p = strtol(a->port, NULL, 10);
        if (p < 1 || p > 65535)
            usage_error("--url port %ld is out of range 1..65535", p);
    } else {
        strcpy(a->port, "80");
    }
    const char *path = slash ? slash : "/";
    if (strlen(path) >= sizeof a->path)
        usage_error("--url path is too long");
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            usage_error("--url path contains a space or control character");
    strcpy(a->path, path);
}

static double parse_num(const char *opt, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        usage_error("%s wants a number, got '%s'", opt, s);
    if (v < lo || v > hi)
        usage_error("%s %s is out of range %g..%g", opt, s, lo, hi);
    return v;
}

static long parse_int(const char *opt, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        usage_error("%s wants a whole number, got '%s'", opt, s);
    if (v < lo || v > hi)
        usage_error("%s %s is out of range %ld..%ld", opt, s, lo, hi);
    return v;
}

static void parse_args(struct args *a, int argc, char **argv)
{
    const char *url = NULL;
    int have_rate = 0, have_dur = 0, have_conn = 0;
    memset(a, 0, sizeof *a);
    a->timeout_ms = 2000;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strncmp(o, "--", 2) != 0)
            usage_error("unexpected argument '%s'", o);
        if (i + 1 >= argc)
            usage_error("%s needs a value", o);
        const char *v = argv[++i];
        if (!strcmp(o, "--url"))
            url = v;
        else if (!strcmp(o, "--rate"))
            a->rate = parse_num(o, v, 0.001, 10000000), have_rate = 1;
        else if (!strcmp(o, "--duration"))
            a->duration = parse_num(o, v, 0.001, 86400), have_dur = 1;
        else if (!strcmp(o, "--connections"))
            a->connections = parse_int(o, v, 1, 100000), have_conn = 1;
        else if (!strcmp(o, "--warmup"))
            a->warmup = parse_num(o, v, 0, 86400);
        else if (!strcmp(o, "--expect-body"))
            a->expect_file = v;
        else if (!strcmp(o, "--timeout-ms"))
            a->timeout_ms = parse_int(o, v, 1, 600000);
        else
            usage_error("unknown option '%s'", o);
    }
    if (!url)
        usage_error("--url is required");
    if (!have_rate)
        usage_error("--rate is required");
    if (!have_dur)
        usage_error("--duration is required");
    if (!have_conn)
        usage_error("--connections is required");
    if ((a->warmup + a->duration) * a->rate > 1e9)
        usage_error("--rate x (--warmup + --duration) is over 1e9 requests");
    parse_url(a, url);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        usage_error("cannot read --expect-body %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    if (!buf || ferror(f))
        usage_error("cannot read --expect-body %s", path);
    fclose(f);
    *len = n;
    return buf;
}

/* ---- conn: one keep-alive connection and its response parser ---- */

enum cstate { C_DOWN, C_CONNECTING, C_IDLE, C_BUSY };
enum rstate { R_HEAD, R_BODY };

struct conn {
    int fd;
    enum cstate state;
    int64_t retry_at;                   /* C_DOWN: reconnect at */
    int64_t connect_at;                 /* C_CONNECTING: when connect() started */
    int64_t req;                        /* C_BUSY: the request number in flight */
    int64_t sent_at;                    /* C_BUSY: when its first byte was written */
    size_t wpos;                        /* bytes of the request written so far */
    enum rstate rs;
    char head[HDR_MAX];
    size_t hlen;
    int status, close_after, body_bad;
    int64_t body_len, body_got;
    struct conn *next_idle;
};

/* ---- the run ---- */

static struct args A;
static char request[4096];
static size_t request_len;
static char *expect;
static size_t expect_len;
static int have_expect;
static struct addrinfo *addr;
static int epfd;

static int64_t t0, k_warm, k_end;       /* requests [k_warm, k_end) are measured */
static int64_t hard_end;              /* t0 + W + S + T: the run stops here at the latest */
static long n_down;                     /* connections in C_DOWN, waiting to reconnect */
static int64_t next_send;               /* the next request to hand to a connection */
static struct conn *idle;               /* stack of idle connections */
static struct conn *conns;

static struct {
    int64_t sent, completed, ok, measured_done;     /* measured requests only */
    int64_t bad_status, bad_body, connect, timeout, closed, protocol;
    int64_t warmup_errors, reconnects;
    int64_t max_lag;                    /* most a due measured request waited to be sent (ns) */
} st;
static struct hist H;

static int64_t due(int64_t k)
{
    return t0 + (int64_t)((double)k * (double)NS / A.rate);
}

static void ep_set(struct conn *c, uint32_t ev, int op)
{
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(epfd, op, c->fd, &e) < 0)
        fatal("epoll_ctl: %s", strerror(errno));
}

static void push_idle(struct conn *c)
{
    c->state = C_IDLE;
    c->next_idle = idle;
    idle = c;
}

static void drop_idle(struct conn *c)     /* take c off the idle stack (rare: idle close) */
{
    for (struct conn **p = &idle; *p; p = &(*p)->next_idle)
        if (*p == c) {
            *p = c->next_idle;
            return;
        }
}

static void conn_open(struct conn *c, int64_t now)
{
    c->connect_at = now;
    c->fd = socket(addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        fatal("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->rs = R_HEAD;
    c->hlen = 0;
    if (connect(c->fd, addr->ai_addr, addr->ai_addrlen) == 0) {
        ep_set(c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
        push_idle(c);
        return;
    }
    if (errno != EINPROGRESS) {
        if (now >= due(k_warm))
            st.connect++;
        else
            st.warmup_errors++;
        close(c->fd);
        c->fd = -1;
        c->state = C_DOWN;
        c->retry_at = now + CONNECT_RETRY_NS;
        n_down++;
        return;
    }
    c->state = C_CONNECTING;
    ep_set(c, EPOLLOUT, EPOLL_CTL_ADD);
}

static int measured(int64_t k)
{
    return k >= k_warm && k < k_end;
}

/* Count an error against request k (or against the warm-up). */
static void count(int64_t k, int64_t *counter)
{
    if (measured(k)) {
        (*counter)++;
        st.measured_done++;
    } else {
        st.warmup_errors++;
    }
}

/* Close c; a request in flight is lost and charged to `why` (NULL: none in flight). */
static void conn_close(struct conn *c, int64_t now, int64_t *why, int64_t retry_after)
{
    if (c->state == C_IDLE)
        drop_idle(c);
    if (c->state == C_BUSY && why)
        count(c->req, why);
    if (c->fd >= 0)
        close(c->fd);             /* also removes it from epoll */
    c->fd = -1;
    c->state = C_DOWN;
    c->retry_at = now + retry_after;
    n_down++;
    st.reconnects++;
}

static void conn_write(struct conn *c, int64_t now)
{
    while (c->wpos < request_len) {
        ssize_t n = send(c->fd, request + c->wpos, request_len - c->wpos, MSG_NOSIGNAL);
        if (n > 0) {
            c->wpos += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            ep_set(c, EPOLLIN | EPOLLOUT | EPOLLRDHUP, EPOLL_CTL_MOD);
            return;
        }
        conn_close(c, now, &st.closed, 0);
        return;
    }
}

static void send_on(struct conn *c, int64_t k, int64_t now)
{
    c->state = C_BUSY;
    c->req = k;
    c->sent_at = now;
    c->wpos = 0;
    c->rs = R_HEAD;
    c->hlen = 0;
    if (measured(k)) {
        st.sent++;
        int64_t lag = now - due(k);
        if (lag > st.max_lag)
            st.max_lag = lag;
    }
    conn_write(c, now);
}

/* A response for c->req is complete. */
static void finish(struct conn *c, int64_t now)
{
    int64_t k = c->req;
    if (measured(k)) {
        st.completed++;
        st.measured_done++;
        hist_record(&H, (now - due(k)) / 1000);
        if (c->status != 200)
            st.bad_status++;
        else if (c->body_bad || (have_expect && c->body_len != (int64_t)expect_len))
            st.bad_body++;
        else
            st.ok++;
    } else if (c->status != 200 || c->body_bad ||
               (have_expect && c->body_len != (int64_t)expect_len)) {
        st.warmup_errors++;
    }
    c->rs = R_HEAD;
    c->hlen = 0;
    if (c->close_after) {
        conn_close(c, now, NULL, 0);
        return;
    }
    ep_set(c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
    push_idle(c);
}

/* Parse the header in c->head[0..hlen) (it ends with CRLF CRLF). 0 or -1 (protocol error). */
static int parse_head(struct conn *c)
{
    c->head[c->hlen - 1] = 0;
    if (strncmp(c->head, "HTTP/1.", 7) != 0 || c->hlen < 12 || c->head[8] != ' ')
        return -1;
    int s = 0;
    for (int i = 9; i < 12; i++) {
        if (c->head[i] < '0' || c->head[i] > '9')
            return -1;
        s = s * 10 + (c->head[i] - '0');
    }
    c->status = s;
    c->close_after = c->head[7] == '0';           /* HTTP/1.0: closes unless keep-alive */
    c->body_len = -1;
    c->body_got = 0;
    c->body_bad = 0;
    for (char *line = strstr(c->head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
        char *l = line + 2;
        if (!strncasecmp(l, "Content-Length:", 15)) {
            char *end;
            long long n = strtoll(l + 15, &end, 10);
            if (n < 0 || end == l + 15)
                return -1;
            c->body_len = n;
        } else if (!strncasecmp(l, "Transfer-Encoding:", 18)) {
            return -1;                              /* chunked bodies are not supported */
        } else if (!strncasecmp(l, "Connection:", 11)) {
            char *v = l + 11;
            while (*v == ' ')
                v++;
            if (!strncasecmp(v, "close", 5))
                c->close_after = 1;
            else if (!strncasecmp(v, "keep-alive", 10))
                c->close_after = 0;
        }
    }
    if ((s >= 100 && s < 200) || s == 204 || s == 304)
        c->body_len = 0;
    if (c->body_len < 0)
        return -1;                                  /* no length: cannot frame it */
    return 0;
}

static void conn_read(struct conn *c, int64_t now)
{
    static char buf[65536];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            /* the server closed (or reset): lost if a request was in flight */
            conn_close(c, now, c->state == C_BUSY ? &st.closed : NULL, 0);
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (c->state != C_BUSY) {                   /* bytes nobody asked for */
            conn_close(c, now, NULL, 0);
            st.protocol++;
            return;
        }
        size_t off = 0;
        while (off < (size_t)n) {
            if (c->state != C_BUSY) {
                conn_close(c, now, NULL, 0);
                st.protocol++;
                return;
            }
            if (c->rs == R_HEAD) {
                /* copy byte-wise until CRLF CRLF: headers are small */
                while (off < (size_t)n && c->rs == R_HEAD) {
                    if (c->hlen >= HDR_MAX - 1) {
                        conn_close(c, now, &st.protocol, 0);
                        return;
                    }
                    c->head[c->hlen++] = buf[off++];
                    if (c->hlen >= 4 && !memcmp(c->head + c->hlen - 4, "\r\n\r\n", 4)) {
                        if (parse_head(c) < 0) {
                            conn_close(c, now, &st.protocol, 0);
                            return;
                        }
                        c->rs = R_BODY;
                    }
                }
                if (c->rs == R_BODY && c->body_len == 0) {
                    finish(c, now);
                    if (c->state == C_DOWN)
                        return;
                }
                continue;
            }
            size_t take = (size_t)n - off;
            if ((int64_t)take > c->body_len - c->body_got)
                take = (size_t)(c->body_len - c->body_got);
            if (have_expect && !c->body_bad) {
                if (c->body_got + (int64_t)take > (int64_t)expect_len ||
                    memcmp(buf + off, expect + c->body_got, take) != 0)
                    c->body_bad = 1;
            }
            c->body_got += (int64_t)take;
            off += take;
            if (c->body_got == c->body_len) {
                finish(c, now);
                if (c->state == C_DOWN)
                    return;
            }
        }
    }
}

static void on_event(struct conn *c, uint32_t ev, int64_t now)
{
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (ev & (EPOLLERR | EPOLLHUP))) {
            if (now >= due(k_warm))
                st.connect++;
            else
                st.warmup_errors++;
            conn_close(c, now, NULL, CONNECT_RETRY_NS);
            st.reconnects--;                        /* a failed connect is not a reconnect */
            return;
        }
        ep_set(c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
        push_idle(c);
        return;
    }
    if (c->state == C_BUSY && (ev & EPOLLOUT) && c->wpos < request_len) {
        conn_write(c, now);
        if (c->state != C_BUSY)
            return;
        if (c->wpos == request_len)
            ep_set(c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
    }
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        conn_read(c, now);
}

/* Hand every due request to an idle connection, oldest first. */
static void dispatch(int64_t now)
{
    while (next_send < k_end && idle && due(next_send) <= now) {
        struct conn *c = idle;
        idle = c->next_idle;
        send_on(c, next_send++, now);
    }
}

/* Timeouts of requests in flight, reconnects of closed connections. */
static void tick(int64_t now)
{
    int64_t limit = A.timeout_ms * 1000000LL;
    for (long i = 0; i < A.connections; i++) {
        struct conn *c = &conns[i];
        if (c->state == C_BUSY && now - c->sent_at > limit)
            conn_close(c, now, &st.timeout, 0);
        else if (c->state == C_CONNECTING && now - c->connect_at > limit) {
            if (now >= due(k_warm))
                st.connect++;
            else
                st.warmup_errors++;
            conn_close(c, now, NULL, CONNECT_RETRY_NS);
            st.reconnects--;
        }
    }
}

/* Reopen the connections that are down and due for it. */
static void reopen(int64_t now)
{
    for (long i = 0; i < A.connections && n_down > 0; i++) {
        struct conn *c = &conns[i];
        if (c->state == C_DOWN && now >= c->retry_at) {
            n_down--;
            conn_open(c, now);
        }
    }
}

static int in_flight(void)
{
    for (long i = 0; i < A.connections; i++)
        if (conns[i].state == C_BUSY)
            return 1;
    return 0;
}

static void arm(int tfd, int64_t at)
{
    struct itimerspec it = {0};
    if (at <= 0)
        at = 1;
    it.it_value.tv_sec = at / NS;
    it.it_value.tv_nsec = at % NS;
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &it, NULL) < 0)
        fatal("timerfd_settime: %s", strerror(errno));
}

static void print_json(int64_t end_time)
{
    int64_t scheduled = k_end - k_warm;
    int64_t errors = st.bad_status + st.bad_body + st.connect + st.timeout + st.closed + st.protocol;
    int64_t unsent = k_end - (next_send > k_warm ? next_send : k_warm);
    /* a request never sent waited from its due time to the end: that is lag too */
    if (unsent > 0 && end_time - due(next_send > k_warm ? next_send : k_warm) > st.max_lag)
        st.max_lag = end_time - due(next_send > k_warm ? next_send : k_warm);
    int kept_up = (double)st.completed >= KEPT_UP_COMPLETED * (double)scheduled &&
                  st.max_lag <= KEPT_UP_MAX_LAG_NS;
    printf("{\"tool\": \"openloop\", \"url\": \"http://%s:%s%s\", \"rate\": %.6g, "
           "\"duration\": %.6g, \"warmup\": %.6g, \"connections\": %ld, \"timeout_ms\": %ld, ",
           A.host, A.port, A.path, A.rate, A.duration, A.warmup, A.connections, A.timeout_ms);
    printf("\"scheduled\": %lld, \"sent\": %lld, \"completed\": %lld, \"ok\": %lld, "
           "\"unsent\": %lld, \"achieved_rate\": %.1f, \"max_lag_ms\": %.3f, \"kept_up\": %s, "
           "\"reconnects\": %lld, \"warmup_errors\": %lld, ",
           (long long)scheduled, (long long)st.sent, (long long)st.completed, (long long)st.ok,
           (long long)(unsent > 0 ? unsent : 0), (double)st.completed / A.duration,
           (double)st.max_lag / 1e6, kept_up ? "true" : "false",
           (long long)st.reconnects, (long long)st.warmup_errors);
    printf("\"errors\": {\"bad_status\": %lld, \"bad_body\": %lld, \"connect\": %lld, "
           "\"timeout\": %lld, \"closed\": %lld, \"protocol\": %lld, \"total\": %lld}, ",
           (long long)st.bad_status, (long long)st.bad_body, (long long)st.connect,
           (long long)st.timeout, (long long)st.closed, (long long)st.protocol, (long long)errors);
    printf("\"latency_us\": {\"count\": %llu, \"min\": %lld, \"mean\": %.1f, \"p50\": %lld, "
           "\"p90\": %lld, \"p99\": %lld, \"p999\": %lld, \"max\": %lld, \"clamped\": %llu}, ",
           (unsigned long long)H.count, (long long)H.min, H.count ? H.sum / (double)H.count : 0.0,
           (long long)hist_percentile(&H, 50), (long long)hist_percentile(&H, 90),
           (long long)hist_percentile(&H, 99), (long long)hist_percentile(&H, 99.9),
           (long long)H.max, (unsigned long long)H.clamped);
    /* the curve: 0, 50, 75, 90, then 1 - p shrinking 2x/5x alternately (95, 99, 99.5, 99.9,
     * ...) while at least one value lies beyond it, then 100 */
    printf("\"percentiles\": [[0, %lld]", (long long)hist_percentile(&H, 0));
    double tail[] = {50, 25, 10};
    for (int i = 0; i < 3; i++)
        printf(", [%.6g, %lld]", 100 - tail[i], (long long)hist_percentile(&H, 100 - tail[i]));
    for (int j = 0; j < 16; j++) {
        double t = j % 2 == 0 ? 5 * pow(10, -j / 2) : pow(10, -(j - 1) / 2);
        if (t / 100 * (double)H.count < 1)
            break;
        printf(", [%.10g, %lld]", 100 - t, (long long)hist_percentile(&H, 100 - t));
    }
    printf(", [100, %lld]]}\n", (long long)H.max);
}

int main(int argc, char **argv)
{
    parse_args(&A, argc, argv);
    if (A.expect_file) {
        expect = read_file(A.expect_file, &expect_len);
        have_expect = 1;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)A.connections + 16 > rl.rlim_cur) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if ((rlim_t)A.connections + 16 > rl.rlim_cur)
            usage_error("--connections %ld is over the open-file limit (%llu)",
                        A.connections, (unsigned long long)rl.rlim_cur);
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int gai = getaddrinfo(A.host, A.port, &hints, &addr);
    if (gai)
        fatal("cannot resolve %s: %s", A.host, gai_strerror(gai));
    request_len = (size_t)snprintf(request, sizeof request,
                                   "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: openloop\r\n"
                                   "Accept: */*\r\n\r\n", A.path, A.host, A.port);
    signal(SIGPIPE, SIG_IGN);

    epfd = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epfd < 0 || tfd < 0)
        fatal("epoll/timerfd: %s", strerror(errno));
    struct epoll_event te = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &te);

    conns = calloc((size_t)A.connections, sizeof *conns);
    if (!conns)
        fatal("out of memory for %ld connections", A.connections);
    k_warm = (int64_t)ceil(A.warmup * A.rate - 1e-9);
    k_end = k_warm + (int64_t)llround(A.duration * A.rate);
    t0 = now_ns();
    hard_end = due(k_end) + A.timeout_ms * 1000000LL;
    for (long i = 0; i < A.connections; i++) {
        conns[i].fd = -1;
        conn_open(&conns[i], t0);
    }

    struct epoll_event evs[256];
    int64_t last_tick = t0, now = t0;
    for (;;) {
        now = now_ns();
        if (now >= hard_end)
            break;
        if (next_send >= k_end && !in_flight())
            break;
        int64_t wake = last_tick + TICK_NS;
        if (next_send < k_end && due(next_send) < wake && idle)
            wake = due(next_send);
        if (wake > hard_end)
            wake = hard_end;
        arm(tfd, wake);
        int n = epoll_wait(epfd, evs, 256, -1);
        if (n < 0 && errno != EINTR)
            fatal("epoll_wait: %s", strerror(errno));
        now = now_ns();
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                uint64_t x;
                while (read(tfd, &x, sizeof x) > 0) {}
                continue;
            }
            on_event(evs[i].data.ptr, evs[i].events, now);
        }
        now = now_ns();
        if (now - last_tick >= TICK_NS) {
            tick(now);
            last_tick = now;
        }
        if (n_down > 0)
            reopen(now);
        dispatch(now);
    }
    /* whatever is still in flight at the hard end has timed out */
    for (long i = 0; i < A.connections; i++)
        if (conns[i].state == C_BUSY)
            count(conns[i].req, &st.timeout);
    print_json(now);
    return 0;
}
