/* persist.c: kv's append-only log on a disk: boot (format or replay), group-committed appends, compaction with an atomic switch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <unicycle/block.h>
#include <unicycle/timer.h>
#include <unicycle/unicycle.h>

#include "logrec.h"
#include "persist.h"

/*
 * Two writers, one per area (index = area number). The current one
 * takes every record. During a compaction the other one holds the
 * snapshot and also takes every record appended meanwhile, written but
 * not flushed; once it has caught up (nothing pending, nothing on the
 * disk) it is frozen: appends go to it alone (and wait), the old writer
 * submits nothing more, a flush makes the new area durable, the header of
 * the next generation is written and flushed, and the new writer becomes
 * the current one. A record appended before the freeze is in both areas,
 * so acknowledging it on either area's flush is right.
 *
 * A writer keeps the block holding its tail in memory (`blk`) and each
 * write covers that block, the pending records and at least one zero
 * record header after them, so the log on disk always ends in a zero
 * header (logrec.h). Single blocks are assumed to be written whole (the
 * tail block is rewritten in place; block.h).
 */

#define PERSIST_READ_CHUNK   (256u * 1024)
#define PERSIST_PAGE         4096
/* A snapshot record holds up to this many keys or this many payload
 * bytes (a larger single key gets a record of its own). */
#define PERSIST_SNAP_OPS     256
#define PERSIST_SNAP_BYTES   (64u * 1024)
/* Smallest area: room for the largest record, so any command fits. */
#define PERSIST_AREA_MIN     (2ull * LOGREC_SIZE_MAX)
/* Compact as well when the area is this full (percent), whatever the
 * thresholds say, so it never fills up while compaction could help. */
#define PERSIST_FULL_PCT     75
#define PERSIST_PCT          100
#define PERSIST_NS_PER_MS    1000000ull
#define PERSIST_EVERYSEC_NS  1000000000ull

struct persist_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

struct persist_writer {
	unsigned area;
	uint64_t gen;
	uint64_t seq;            /* the last record's */
	uint64_t tail;           /* area bytes up to the end of the records submitted */
	uint8_t *blk;            /* the tail block's bytes [0, tail % block size) */
	struct persist_buf pend; /* records not submitted yet */
	uint64_t pend_lsn;       /* the last record in pend */
	uint8_t *wbuf;           /* the write on the disk (aligned) */
	size_t wcap;
	uint64_t w_lsn;          /* the last record in that write */
	bool busy;               /* a write (+ flush) is on the disk */
	bool with_flush;         /* ... with a flush behind it */
	bool fresh;              /* a new area: write its clean end even with no records */
	bool held;               /* submits nothing (frozen, or retired) */
};

static struct {
	bool on;
	unsigned disk;
	struct uc_block_info info;
	const struct config *cfg;
	struct store *store;
	void (*ready)(void);
	void (*notify)(void);
	struct loghdr hdr;       /* the current one */
	struct persist_writer w[LOGHDR_SLOTS];
	unsigned cur;            /* index of the current writer */
	uint64_t lsn;            /* records appended since boot */
	uint64_t durable_lsn;
	uint64_t written_lsn;    /* everysec: writes completed */
	uint64_t flush_lsn;      /* everysec: covered by a flush submitted */
	bool flushing;           /* everysec: that flush is on the disk */
	int64_t clock_offset;    /* added to the boot-relative clock */
	/* compaction */
	bool rewriting;
	bool frozen;
	bool boot_rewrite;       /* after a bad tail: clients wait for it */
	uint64_t freeze_lsn;
	uint64_t base_size;
	uint64_t rewrites;
	uint64_t next_try;       /* no new attempt before the log reaches this */
	uint8_t *hdrblk;         /* aligned: header slots, the tail block read */
	/* replay */
	uint8_t *rd;             /* aligned read chunk */
	struct persist_buf pb;   /* bytes read, not parsed yet */
	uint64_t rd_off;         /* next area byte to read */
	uint64_t parse_off;      /* area offset of pb.data[0] */
	uint64_t records;
	int64_t last_stamp;
	uint64_t replay_start_ns;
	struct store_op *ops;
} P;

static const char *persist_bad_tail_fmt =
	"kv: log: %s at byte %llu of area %u (generation %llu): the log ends there and the rest "
	"of the area is ignored; compacting\n";

static uint64_t persist_round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

static int64_t persist_uptime_ms(void)
{
	return (int64_t)(uc_time_ns() / PERSIST_NS_PER_MS);
}

__attribute__((noreturn)) static void persist_fatal(const char *what, int status)
{
	uc_printf("kv: log: %s: %s failed (%d); stopping so that nothing unlogged is acknowledged\n",
		  P.info.name, what, status);
	uc_exit(1);
}

__attribute__((noreturn)) static void persist_oom(const char *what)
{
	uc_printf("kv: log: out of memory for %s; stopping so that nothing unlogged is "
		  "acknowledged\n", what);
	uc_exit(1);
}

static void *persist_aligned(size_t len)
{
	void *p = aligned_alloc(PERSIST_PAGE, persist_round_up(len, PERSIST_PAGE));

	if (p)
		memset(p, 0, len);
	return p;
}

static bool persist_buf_reserve(struct persist_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : PERSIST_PAGE;
	uint8_t *d;

	if (b->len + more <= b->cap)
		return true;
	while (cap < b->len + more)
		cap *= 2;
	d = realloc(b->data, cap);
	if (!d)
		return false;
	b->data = d;
	b->cap = cap;
	return true;
}

static void persist_buf_free(struct persist_buf *b)
{
	free(b->data);
	*b = (struct persist_buf){ 0 };
}

/* Bytes of the area in use once everything pending is written. */
static uint64_t persist_used(const struct persist_writer *w)
{
	return w->tail + w->pend.len;
}

static void persist_notify(void)
{
	if (P.notify)
		P.notify();
}

/* ---- writing ---- */

static void persist_submit(struct persist_writer *w);
static void persist_rewrite_step(void);

static void persist_wrote(void *arg, int status)
{
	struct persist_writer *w = arg;

	if (status < 0)
		persist_fatal("write", status);
	if (w->with_flush)
		return;   /* the flush behind it completes the batch */
	if (w == &P.w[P.cur] && w->w_lsn > P.written_lsn)
		P.written_lsn = w->w_lsn;
	w->busy = false;
	persist_submit(w);
	if (w != &P.w[P.cur])
		persist_rewrite_step();
}

static void persist_flushed(void *arg, int status)
{
	struct persist_writer *w = arg;

	if (status < 0)
		persist_fatal("flush", status);
	/* Before the freeze's switch this area is the log; after it, these
	 * records are in the new area too, flushed before its header. */
	if (w->w_lsn > P.durable_lsn)
		P.durable_lsn = w->w_lsn;
	if (w->w_lsn > P.written_lsn)
		P.written_lsn = w->w_lsn;
	w->busy = false;
	persist_submit(w);
	persist_notify();
}

/* Puts the pending records on the disk when nothing else of this writer
 * is: one write of the tail block, the records and a zero header; in
 * appendfsync always (current writer) a flush right behind it. */
static void persist_submit(struct persist_writer *w)
{
	uint32_t bs = P.info.block_size;
	uint64_t start, end, wlen, head;
	size_t total;
	int rc;

	if (w->busy || w->held || (w->pend.len == 0 && !w->fresh))
		return;
	w->fresh = false;
	start = w->tail - w->tail % bs;
	head = w->tail % bs;
	total = (size_t)head + w->pend.len;
	wlen = persist_round_up(total + LOGREC_HDR_SIZE, bs);
	if (start + wlen > P.hdr.area_len)
		wlen = P.hdr.area_len - start;   /* the area's end is the end */
	if (wlen > w->wcap) {
		free(w->wbuf);
		w->wcap = (size_t)persist_round_up(wlen * 2, PERSIST_PAGE);
		w->wbuf = persist_aligned(w->wcap);
		if (!w->wbuf)
			persist_oom("a write buffer");
	}
	memcpy(w->wbuf, w->blk, (size_t)head);
	memcpy(w->wbuf + head, w->pend.data, w->pend.len);
	memset(w->wbuf + total, 0, (size_t)(wlen - total));
	w->tail += w->pend.len;
	end = w->tail - w->tail % bs;
	memcpy(w->blk, w->wbuf + (end - start), bs);
	w->w_lsn = w->pend_lsn;
	w->pend.len = 0;
	w->busy = true;
	rc = uc_block_write(P.disk, P.hdr.area_off[w->area] + start, w->wbuf, (size_t)wlen,
			    persist_wrote, w);
	if (rc < 0)
		persist_fatal("write", rc);
	w->with_flush = w == &P.w[P.cur] && !P.frozen && P.cfg->appendfsync == CONFIG_FSYNC_ALWAYS;
	if (w->with_flush) {
		rc = uc_block_flush(P.disk, persist_flushed, w);
		if (rc < 0)
			persist_fatal("flush", rc);
	}
}

/* Adds one record to w's pending bytes. */
static void persist_add(struct persist_writer *w, const struct store_op *ops, size_t n,
			int64_t stamp, uint64_t lsn)
{
	size_t size = logrec_size(ops, n);

	if (!persist_buf_reserve(&w->pend, size))
		persist_oom("a record");
	logrec_encode(w->pend.data + w->pend.len, w->gen, ++w->seq, stamp, ops, n);
	w->pend.len += size;
	w->pend_lsn = lsn;
}

/* ---- compaction ---- */

struct persist_snap {
	struct persist_writer *w;
	struct store_op ops[PERSIST_SNAP_OPS];
	size_t n;
	size_t bytes;
	int64_t now;
};

static void persist_snap_out(struct persist_snap *s)
{
	if (s->n)
		persist_add(s->w, s->ops, s->n, s->now, P.lsn);
	s->n = 0;
	s->bytes = 0;
}

static int persist_snap_key(void *arg, const struct store_entry *e)
{
	struct persist_snap *s = arg;
	struct store_op *op;

	if (s->n == PERSIST_SNAP_OPS || s->bytes + e->klen + e->vlen > PERSIST_SNAP_BYTES)
		persist_snap_out(s);
	op = &s->ops[s->n++];
	memset(op, 0, sizeof(*op));
	op->kind = STORE_SET;
	op->key = store_key(e);
	op->klen = e->klen;
	op->val = store_value(e);
	op->vlen = e->vlen;
	op->ttl = store_volatile(e) ? STORE_TTL_AT : STORE_TTL_CLEAR;
	op->expire_at = e->expire_at;
	s->bytes += e->klen + e->vlen;
	/* Stop early once the snapshot cannot fit the area anyway. */
	return s->w->pend.len > P.hdr.area_len ? -ENOSPC : 0;
}

static void persist_rewrite_start(void)
{
	struct persist_writer *old = &P.w[P.cur], *w = &P.w[1 - P.cur];
	static struct persist_snap snap;
	int rc;

	if (w->busy)
		return;   /* a retired writer still finishing: next append */
	w->gen = old->gen + 1;
	w->seq = 0;
	w->tail = 0;
	w->pend.len = 0;
	w->held = false;
	w->fresh = true;
	memset(w->blk, 0, P.info.block_size);
	snap = (struct persist_snap){ .w = w, .now = persist_now_ms() };
	rc = store_scan(P.store, snap.now, persist_snap_key, &snap);
	persist_snap_out(&snap);
	if (rc < 0 || persist_used(w) + LOGREC_HDR_SIZE > P.hdr.area_len) {
		uc_printf("kv: log: the live keys take more than half the disk's log space; "
			  "not compacting (writes fail once the log is full)\n");
		P.next_try = persist_used(old) + P.cfg->aof_rewrite_min_size;
		w->pend.len = 0;
		return;
	}
	P.base_size = persist_used(w);
	P.rewriting = true;
	persist_submit(w);
}

static void persist_switched(void *arg, int status)
{
	struct persist_writer *old = &P.w[P.cur], *w = &P.w[1 - P.cur];

	(void)arg;
	if (status < 0)
		persist_fatal("flush of the new header", status);
	P.hdr.gen = w->gen;
	P.hdr.area = w->area;
	P.cur = w->area;
	P.rewriting = P.frozen = false;
	P.rewrites++;
	old->held = true;
	old->pend.len = 0;
	w->held = false;
	if (P.freeze_lsn > P.durable_lsn)
		P.durable_lsn = P.freeze_lsn;
	if (P.freeze_lsn > P.written_lsn)
		P.written_lsn = P.freeze_lsn;
	P.next_try = 0;
	uc_printf("kv: log: compacted into area %u (generation %llu, %llu bytes)\n", w->area,
		  (unsigned long long)w->gen, (unsigned long long)P.base_size);
	persist_submit(w);
	persist_notify();
	if (P.boot_rewrite) {
		P.boot_rewrite = false;
		P.ready();
	}
}

static void persist_new_area_flushed(void *arg, int status)
{
	struct persist_writer *w = &P.w[1 - P.cur];
	uint32_t bs = P.info.block_size;
	struct loghdr h = P.hdr;
	unsigned slot;
	int rc;

	(void)arg;
	if (status < 0)
		persist_fatal("flush of the compacted log", status);
	h.gen = w->gen;
	h.area = w->area;
	slot = (unsigned)(h.gen % LOGHDR_SLOTS);
	loghdr_encode(P.hdrblk, bs, &h);
	rc = uc_block_write(P.disk, (uint64_t)slot * bs, P.hdrblk, bs, NULL, NULL);
	if (rc < 0)
		persist_fatal("header write", rc);
	rc = uc_block_flush(P.disk, persist_switched, NULL);
	if (rc < 0)
		persist_fatal("flush", rc);
}

/* After each write of the new area. The first (the snapshot) freezes:
 * what was appended meanwhile goes out in one last write, later appends
 * wait in the new writer, then flush, header, flush (persist_switched). */
static void persist_rewrite_step(void)
{
	struct persist_writer *old = &P.w[P.cur], *w = &P.w[1 - P.cur];
	int rc;

	if (!P.rewriting || w->busy)
		return;
	if (!P.frozen) {
		P.frozen = true;
		P.freeze_lsn = P.lsn;
		old->held = true;    /* what it has pending is in the new area */
		old->pend.len = 0;
		if (w->pend.len) {
			persist_submit(w);
			w->held = true;
			return;
		}
	}
	w->held = true;
	rc = uc_block_flush(P.disk, persist_new_area_flushed, NULL);
	if (rc < 0)
		persist_fatal("flush", rc);
}

static void persist_maybe_rewrite(void)
{
	uint64_t used = persist_used(&P.w[P.cur]);
	uint64_t grown = P.base_size + P.base_size / PERSIST_PCT * P.cfg->aof_rewrite_percentage;

	if (P.rewriting || used < P.next_try)
		return;
	if ((used >= P.cfg->aof_rewrite_min_size && used >= grown) ||
	    used >= P.hdr.area_len / PERSIST_PCT * PERSIST_FULL_PCT)
		persist_rewrite_start();
}

/* ---- the hooks commands call ---- */

static bool persist_room(const struct store_op *ops, size_t n)
{
	uint64_t need = logrec_size(ops, n) + LOGREC_HDR_SIZE;
	const struct persist_writer *w = &P.w[P.cur], *nw = &P.w[1 - P.cur];

	if (P.frozen)
		return persist_used(nw) + need <= P.hdr.area_len;
	if (persist_used(w) + need > P.hdr.area_len) {
		persist_maybe_rewrite();
		return false;
	}
	return !P.rewriting || persist_used(nw) + need <= P.hdr.area_len;
}

static void persist_append(const struct store_op *ops, size_t n, int64_t now)
{
	struct persist_writer *w = &P.w[P.cur], *nw = &P.w[1 - P.cur];

	P.lsn++;
	if (P.rewriting) {
		persist_add(nw, ops, n, now, P.lsn);
		persist_submit(nw);
	}
	if (!P.frozen) {
		persist_add(w, ops, n, now, P.lsn);
		persist_submit(w);
		persist_maybe_rewrite();
	}
}

/* A key lazy or active expiry removes gets a DEL, as Redis logs one:
 * otherwise a reboot, whose clock resumes at the last record (no wall
 * clock), could bring back a key that had already expired. When the log
 * is full the DEL is left out (the deadline is still in the log). */
static void persist_expired(void *arg, const struct store_entry *e)
{
	struct store_op op = { .kind = STORE_DEL, .key = store_key(e), .klen = e->klen };

	(void)arg;
	if (persist_room(&op, 1))
		persist_append(&op, 1, persist_now_ms());
}

static void persist_info(struct commands_log_info *out)
{
	out->generation = P.hdr.gen;
	out->current_size = persist_used(&P.w[P.cur]);
	out->base_size = P.base_size;
	out->rewrites = P.rewrites;
	out->rewriting = P.rewriting;
}

static const struct commands_log persist_log = {
	.room = persist_room, .append = persist_append, .info = persist_info,
};

/* everysec: one flush a second when something was written since. */
static void persist_everysec_flushed(void *arg, int status)
{
	(void)arg;
	if (status < 0)
		persist_fatal("flush", status);
	P.flushing = false;
	if (P.flush_lsn > P.durable_lsn)
		P.durable_lsn = P.flush_lsn;
}

static void persist_everysec(void *arg)
{
	(void)arg;
	if (!P.flushing && P.written_lsn > P.flush_lsn) {
		int rc = uc_block_flush(P.disk, persist_everysec_flushed, NULL);

		if (rc < 0)
			persist_fatal("flush", rc);
		P.flushing = true;
		P.flush_lsn = P.written_lsn;
	}
	if (!uc_timer_add(PERSIST_EVERYSEC_NS, persist_everysec, NULL))
		persist_oom("the everysec timer");
}

/* ---- boot: replay ---- */

static void persist_writers_init(void)
{
	for (unsigned i = 0; i < LOGHDR_SLOTS; i++) {
		struct persist_writer *w = &P.w[i];

		w->area = i;
		w->held = i != P.hdr.area;
		w->blk = persist_aligned(P.info.block_size);
		if (!w->blk)
			persist_oom("the tail block");
	}
	P.cur = P.hdr.area;
	P.w[P.cur].gen = P.hdr.gen;
}

/* Clients may come: the log is loaded (and compacted, after a bad tail). */
static void persist_go(void)
{
	const char *mode = config_fsync_name(P.cfg->appendfsync);

	P.on = true;
	P.store->on_expire = persist_expired;
	if (P.cfg->appendfsync == CONFIG_FSYNC_EVERYSEC &&
	    !uc_timer_add(PERSIST_EVERYSEC_NS, persist_everysec, NULL))
		persist_oom("the everysec timer");
	uc_printf("kv: log: %s (%s, serial \"%s\"), area %u, generation %llu, %llu bytes, "
		  "appendfsync %s\n", P.info.name, P.info.driver, P.info.serial, P.hdr.area,
		  (unsigned long long)P.hdr.gen, (unsigned long long)persist_used(&P.w[P.cur]), mode);
	if (P.boot_rewrite) {
		persist_rewrite_start();
		if (!P.rewriting) {
			P.boot_rewrite = false;
			P.ready();
		}
		return;
	}
	P.ready();
}

static void persist_tail_read(void *arg, int status)
{
	(void)arg;
	if (status < 0)
		persist_fatal("read", status);
	/* Past the tail: zeros or the bad bytes; neither is kept. */
	memset(P.w[P.cur].blk + P.w[P.cur].tail % P.info.block_size, 0,
	       P.info.block_size - P.w[P.cur].tail % P.info.block_size);
	persist_go();
}

static void persist_replay_done(uint64_t end, const char *bad)
{
	struct persist_writer *w = &P.w[P.cur];
	uint32_t bs = P.info.block_size;
	uint64_t ms = (uc_time_ns() - P.replay_start_ns) / PERSIST_NS_PER_MS;
	int rc;

	if (bad) {
		uc_printf(persist_bad_tail_fmt, bad, (unsigned long long)end, P.hdr.area,
			  (unsigned long long)P.hdr.gen);
		P.boot_rewrite = true;
	}
	w->tail = end;
	P.base_size = end;
	P.store->maxmemory = P.cfg->maxmemory;
	if (P.last_stamp > persist_uptime_ms())
		P.clock_offset = P.last_stamp - persist_uptime_ms();
	uc_printf("kv: log: replayed %llu records (%zu keys) in %llu ms\n",
		  (unsigned long long)P.records, store_keys(P.store), (unsigned long long)ms);
	if (P.cfg->maxmemory && store_used(P.store) > P.cfg->maxmemory)
		uc_printf("kv: log: the keys take %zu bytes, more than maxmemory; writes that add "
			  "memory fail until some are deleted\n", store_used(P.store));
	free(P.rd);
	P.rd = NULL;
	persist_buf_free(&P.pb);
	rc = uc_block_read(P.disk, P.hdr.area_off[P.cur] + (end - end % bs), w->blk, bs,
			   persist_tail_read, NULL);
	if (rc < 0)
		persist_fatal("read", rc);
}

static void persist_read_more(void);

/* Applies every whole record in pb; true when the log ended there. */
static bool persist_parse(void)
{
	size_t pos = 0;
	bool area_done = P.rd_off >= P.hdr.area_len;

	for (;;) {
		struct logrec r;
		enum logrec_result res = logrec_parse(P.pb.data + pos, P.pb.len - pos, &r);
		uint64_t at = P.parse_off + pos;
		long n;

		if (res == LOGREC_MORE && !area_done)
			break;
		if (res == LOGREC_MORE) {
			/* The area's end: clean when no room for a header is left. */
			persist_replay_done(at, P.hdr.area_len - at < LOGREC_HDR_SIZE ? NULL :
					    "a record cut short");
			return true;
		}
		if (res == LOGREC_END) {
			persist_replay_done(at, NULL);
			return true;
		}
		if (res == LOGREC_BAD) {
			persist_replay_done(at, "a record that fails its checksum");
			return true;
		}
		if (r.gen != P.hdr.gen || r.seq != P.w[P.cur].seq + 1) {
			persist_replay_done(at, "a record of another generation or out of sequence");
			return true;
		}
		n = logrec_ops(&r, P.ops, LOGREC_OPS_MAX);
		if (n < 0) {
			persist_replay_done(at, "a malformed record");
			return true;
		}
		if (store_apply(P.store, P.ops, (size_t)n, r.stamp) < 0) {
			uc_printf("kv: log: out of memory replaying record %llu; stopping\n",
				  (unsigned long long)r.seq);
			uc_exit(1);
		}
		if (r.stamp > P.last_stamp)
			P.last_stamp = r.stamp;
		P.w[P.cur].seq = r.seq;
		P.records++;
		pos += r.size;
	}
	memmove(P.pb.data, P.pb.data + pos, P.pb.len - pos);
	P.pb.len -= pos;
	P.parse_off += pos;
	return false;
}

static void persist_chunk_read(void *arg, int status)
{
	size_t len = (size_t)(uintptr_t)arg;

	if (status < 0)
		persist_fatal("read", status);
	if (!persist_buf_reserve(&P.pb, len))
		persist_oom("replay");
	memcpy(P.pb.data + P.pb.len, P.rd, len);
	P.pb.len += len;
	P.rd_off += len;
	if (!persist_parse())
		persist_read_more();
}

static void persist_read_more(void)
{
	uint64_t left = P.hdr.area_len - P.rd_off;
	size_t len = left < PERSIST_READ_CHUNK ? (size_t)left : PERSIST_READ_CHUNK;
	int rc = uc_block_read(P.disk, P.hdr.area_off[P.cur] + P.rd_off, P.rd, len,
			       persist_chunk_read, (void *)(uintptr_t)len);

	if (rc < 0)
		persist_fatal("read", rc);
}

static void persist_replay(void)
{
	P.rd = persist_aligned(PERSIST_READ_CHUNK);
	P.ops = malloc(LOGREC_OPS_MAX * sizeof(*P.ops));
	if (!P.rd || !P.ops)
		persist_oom("replay");
	P.replay_start_ns = uc_time_ns();
	P.store->maxmemory = 0;   /* accepted once: loaded again */
	persist_read_more();
}

/* ---- boot: the header ---- */

static bool persist_hdr_fits(const struct loghdr *h)
{
	uint64_t bs = P.info.block_size, first = LOGHDR_SLOTS * bs;

	return h->block_size == bs && h->area_len >= PERSIST_AREA_MIN && h->area_len % bs == 0 &&
	       h->area_off[0] % bs == 0 && h->area_off[1] % bs == 0 &&
	       h->area_off[0] >= first && h->area_off[1] >= h->area_off[0] + h->area_len &&
	       h->area_off[1] + h->area_len <= P.info.bytes;
}

static void persist_formatted(void *arg, int status)
{
	(void)arg;
	if (status < 0)
		persist_fatal("flush of the new log", status);
	uc_printf("kv: log: %s: new log, two areas of %llu KiB\n", P.info.name,
		  (unsigned long long)(P.hdr.area_len / 1024));
	persist_writers_init();
	persist_go();
}

/* A blank disk: the first area's start zeroed (its clean end), then the
 * generation 1 header, then a flush. */
static void persist_format(void)
{
	uint64_t bs = P.info.block_size, first = LOGHDR_SLOTS * bs;
	uint64_t half = (P.info.bytes - first) / 2 / bs * bs;
	int rc;

	P.hdr = (struct loghdr){ .gen = 1, .area = 0, .block_size = (uint32_t)bs,
				 .area_off = { first, first + half }, .area_len = half };
	memset(P.hdrblk, 0, LOGHDR_SLOTS * bs);
	rc = uc_block_write(P.disk, P.hdr.area_off[0], P.hdrblk + bs, bs, NULL, NULL);
	if (rc == 0) {
		loghdr_encode(P.hdrblk, bs, &P.hdr);
		rc = uc_block_write(P.disk, (P.hdr.gen % LOGHDR_SLOTS) * bs, P.hdrblk, bs, NULL,
				    NULL);
	}
	if (rc == 0)
		rc = uc_block_flush(P.disk, persist_formatted, NULL);
	if (rc < 0)
		persist_fatal("format", rc);
}

static void persist_in_memory(const char *why)
{
	uc_printf("kv: %s: data in memory only\n", why);
	P.ready();
}

static void persist_hdr_read(void *arg, int status)
{
	uint32_t bs = P.info.block_size;
	struct loghdr h[LOGHDR_SLOTS];
	int rc[LOGHDR_SLOTS], best = -1;

	(void)arg;
	if (status < 0)
		persist_fatal("read of the header", status);
	for (int i = 0; i < LOGHDR_SLOTS; i++) {
		rc[i] = loghdr_parse(P.hdrblk + (size_t)i * bs, bs, &h[i]);
		if (rc[i] == 0 && (h[i].gen % LOGHDR_SLOTS != (uint64_t)i || !persist_hdr_fits(&h[i])))
			rc[i] = -EINVAL;
		if (rc[i] == 0 && (best < 0 || h[i].gen > h[best].gen))
			best = i;
	}
	if (best < 0 && rc[0] == -ENOENT && rc[1] == -ENOENT) {
		if (P.info.bytes < LOGHDR_SLOTS * (bs + PERSIST_AREA_MIN)) {
			persist_in_memory("the log disk is too small (it needs two areas for the "
					  "largest record)");
			return;
		}
		persist_format();
		return;
	}
	if (best < 0) {
		uc_printf("kv: log: %s (serial \"%s\") holds no kv log and is not blank; "
			  "not touching it\n", P.info.name, P.info.serial);
		persist_in_memory("no usable log disk");
		return;
	}
	P.hdr = h[best];
	persist_writers_init();
	persist_replay();
}

void persist_start(const struct config *cfg, struct store *store, void (*ready)(void))
{
	int disk;
	int rc;

	P.cfg = cfg;
	P.store = store;
	P.ready = ready;
	if (!cfg->appendonly) {
		persist_in_memory("appendonly=no");
		return;
	}
	disk = uc_block_find(cfg->disk);
	if (disk < 0) {
		uc_printf("kv: no disk with serial \"%s\" (unicycle run --disk %s.img,size=64M)\n",
			  cfg->disk, cfg->disk);
		persist_in_memory("no log");
		return;
	}
	P.disk = (unsigned)disk;
	if (uc_block_info(P.disk, &P.info) < 0 || P.info.read_only) {
		persist_in_memory("the log disk is read-only");
		return;
	}
	P.hdrblk = persist_aligned(LOGHDR_SLOTS * (size_t)P.info.block_size);
	if (!P.hdrblk)
		persist_oom("the header");
	rc = uc_block_read(P.disk, 0, P.hdrblk, LOGHDR_SLOTS * (size_t)P.info.block_size,
			   persist_hdr_read, NULL);
	if (rc < 0)
		persist_fatal("read of the header", rc);
}

bool persist_enabled(void)
{
	return P.on;
}

int64_t persist_now_ms(void)
{
	return persist_uptime_ms() + P.clock_offset;
}

const struct commands_log *persist_hooks(void)
{
	return P.on ? &persist_log : NULL;
}

uint64_t persist_lsn(void)
{
	return P.lsn;
}

bool persist_durable(uint64_t lsn)
{
	return !P.on || P.cfg->appendfsync != CONFIG_FSYNC_ALWAYS || lsn <= P.durable_lsn;
}

void persist_on_durable(void (*fn)(void))
{
	P.notify = fn;
}
