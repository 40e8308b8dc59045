/* store.h: the key-value store: a hash table with incremental rehash, key expiry and a memory limit. */
#ifndef KV_STORE_H
#define KV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Keys and values are byte strings. Every change goes through
 * store_apply() as a list of store_op records that is applied whole or not
 * at all: the one place a write-ahead log can record (and a replay can
 * feed back) every mutation. Deadlines in ops are absolute, on the
 * store's millisecond clock, so a replayed op means what it meant.
 * Expiry itself is not an op: a replayed deadline expires by itself.
 *
 * Time is passed in (`now`, milliseconds) rather than read here, so the
 * store is the same code on the host (unit tests, fuzzing) and in the app.
 *
 * Memory: each key costs STORE_ENTRY_OVERHEAD + key + value bytes, plus
 * 8 bytes per hash bucket. store_used() is that sum; with a maxmemory
 * limit, an op list that would raise it above the limit is refused with
 * -ENOMEM and changes nothing. Ops that do not raise it (DEL, EXPIRE,
 * PERSIST, a shorter value) always pass. Allocator rounding is not
 * counted.
 */

struct store_entry {
	struct store_entry *next;   /* hash chain */
	int64_t expire_at;          /* deadline (ms), when heap_index != STORE_NOT_VOLATILE */
	uint32_t hash;
	uint32_t heap_index;        /* slot in the expiry heap */
	uint32_t klen;
	uint32_t vlen;
	char data[];                /* the key, then the value */
};

#define STORE_NOT_VOLATILE UINT32_MAX

/* What a key costs besides its bytes: the entry header and its slot in
 * the expiry heap (charged whether or not it has a deadline, so that
 * EXPIRE and PERSIST never change the count). */
#define STORE_ENTRY_OVERHEAD (sizeof(struct store_entry) + sizeof(struct store_entry *))

static inline const char *store_key(const struct store_entry *e) { return e->data; }
static inline const char *store_value(const struct store_entry *e) { return e->data + e->klen; }
static inline bool store_volatile(const struct store_entry *e)
{
	return e->heap_index != STORE_NOT_VOLATILE;
}

struct store_table {
	struct store_entry **buckets;
	size_t mask;                /* buckets - 1 (a power of two) */
	size_t used;                /* entries */
};

struct store_stats {
	uint64_t expired;           /* keys removed because their deadline passed */
};

struct store {
	struct store_table t[2];    /* t[1] exists while rehashing into it */
	size_t rehash_pos;          /* next bucket of t[0] to move */
	struct store_entry **heap;  /* volatile keys, soonest deadline first */
	size_t heap_len;
	size_t heap_cap;
	size_t used;                /* accounted bytes (see above) */
	size_t peak;
	size_t maxmemory;           /* 0: no limit */
	uint64_t seed[2];           /* SipHash key */
	struct store_stats stats;
	/* Called with each key that lazy or active expiry is about to remove
	 * (store_get(), store_expire()), e.g. to log a DEL for it as Redis
	 * does; NULL: nobody is told. */
	void (*on_expire)(void *arg, const struct store_entry *e);
	void *on_expire_arg;
};

enum store_op_kind {
	STORE_SET,                  /* key = value, deadline as `ttl` says */
	STORE_DEL,                  /* remove key */
	STORE_EXPIRE_AT,            /* set key's deadline (past: remove it) */
	STORE_PERSIST,              /* remove key's deadline */
	STORE_FLUSH,                /* remove every key (an op list of its own) */
};

enum store_ttl {
	STORE_TTL_CLEAR,            /* SET: no deadline */
	STORE_TTL_KEEP,             /* SET: keep the key's deadline (KEEPTTL, INCR) */
	STORE_TTL_AT,               /* SET: deadline `expire_at` */
};

struct store_op {
	enum store_op_kind kind;
	enum store_ttl ttl;
	const char *key;
	size_t klen;
	const char *val;
	size_t vlen;
	int64_t expire_at;
};

/* An empty store; nothing is allocated until the first key. */
void store_init(struct store *s, size_t maxmemory, uint64_t seed0, uint64_t seed1);
void store_free(struct store *s);

/*
 * Applies ops[0..n) as one change at time `now`. Returns how many ops
 * changed something (keys removed for DEL, deadlines set or removed for
 * EXPIRE_AT/PERSIST, 1 per SET), or -ENOMEM (over maxmemory, or out of
 * memory) with the store unchanged; -EINVAL for a FLUSH among other ops.
 */
long store_apply(struct store *s, const struct store_op *ops, size_t n, int64_t now);

/* The live entry of `key`, or NULL. An entry past its deadline is removed
 * here (lazy expiry). The pointer is valid until the next store_apply(). */
const struct store_entry *store_get(struct store *s, const char *key, size_t klen, int64_t now);

/* Removes up to `budget` keys whose deadline is <= now (active expiry);
 * returns how many. */
size_t store_expire(struct store *s, int64_t now, size_t budget);
/* Moves up to `buckets` buckets of a rehash in progress; returns true when
 * more remain. Lookups and writes also move one bucket each. */
bool store_rehash(struct store *s, size_t buckets);
/* Starts shrinking the table when keys are few for its size (after many
 * deletes). Called from a timer: never on the write path. */
void store_maybe_shrink(struct store *s);

static inline size_t store_keys(const struct store *s) { return s->t[0].used + s->t[1].used; }
static inline size_t store_volatile_keys(const struct store *s) { return s->heap_len; }
static inline size_t store_used(const struct store *s) { return s->used; }
static inline bool store_rehashing(const struct store *s) { return s->t[1].buckets != NULL; }
size_t store_buckets(const struct store *s);
/* Calls fn(arg, e) for every live key (not past its deadline at `now`),
 * in no particular order, without changing the store; a non-zero return
 * from fn stops the scan and is returned. */
typedef int (*store_scan_fn)(void *arg, const struct store_entry *e);
int store_scan(const struct store *s, int64_t now, store_scan_fn fn, void *arg);
/* The soonest deadline, or INT64_MAX when no key has one. */
int64_t store_next_deadline(const struct store *s);

/* Checks every invariant (accounting, chains, heap order and indices);
 * returns NULL or what is broken. For tests and fuzzing: O(n). */
const char *store_check(const struct store *s);

#endif
