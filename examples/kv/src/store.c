/* store.c: the key-value store: chained hash table, incremental rehash, expiry heap, byte accounting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* Buckets of a new table (a power of two). */
#define STORE_INITIAL_BUCKETS 16
/* Grow when keys reach the bucket count (load 1), to twice the buckets. */
#define STORE_GROW_FACTOR 2
/* Shrink when keys fill under 1/8 of the buckets. */
#define STORE_SHRINK_RATIO 8
/* A rehash step that finds empty buckets visits at most this many per
 * bucket it was asked to move, so one step stays bounded (as Redis does). */
#define STORE_EMPTY_VISITS 10
#define STORE_BUCKET_COST sizeof(struct store_entry *)

/* ---- SipHash-1-3 (Aumasson, Bernstein: "SipHash: a fast short-input PRF"),
 * keyed per boot so that clients cannot pick keys that share a bucket. ---- */

#define STORE_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define STORE_SIPROUND(v0, v1, v2, v3)                                         \
	do {                                                                   \
		v0 += v1; v1 = STORE_ROTL(v1, 13); v1 ^= v0; v0 = STORE_ROTL(v0, 32); \
		v2 += v3; v3 = STORE_ROTL(v3, 16); v3 ^= v2;                   \
		v0 += v3; v3 = STORE_ROTL(v3, 21); v3 ^= v0;                   \
		v2 += v1; v1 = STORE_ROTL(v1, 17); v1 ^= v2; v2 = STORE_ROTL(v2, 32); \
	} while (0)

static uint64_t store_siphash(const uint64_t key[2], const char *in, size_t len)
{
	/* The initialisation constants spell "somepseudorandomlygeneratedbytes". */
	uint64_t v0 = 0x736f6d6570736575ull ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dull ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ key[0];
	uint64_t v3 = 0x7465646279746573ull ^ key[1];
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, tail = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, in + i, sizeof(m));   /* little-endian words: x86-64 */
		v3 ^= m;
		STORE_SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (size_t k = 0; k < tail; k++)
		b |= (uint64_t)(unsigned char)in[i + k] << (8 * k);
	v3 ^= b;
	STORE_SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	STORE_SIPROUND(v0, v1, v2, v3);
	STORE_SIPROUND(v0, v1, v2, v3);
	STORE_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint32_t store_hash(const struct store *s, const char *key, size_t klen)
{
	return (uint32_t)store_siphash(s->seed, key, klen);
}

static size_t store_cost(size_t klen, size_t vlen)
{
	return STORE_ENTRY_OVERHEAD + klen + vlen;
}

static size_t store_entry_cost(const struct store_entry *e)
{
	return store_cost(e->klen, e->vlen);
}

static size_t store_table_size(const struct store_table *t)
{
	return t->buckets ? t->mask + 1 : 0;
}

size_t store_buckets(const struct store *s)
{
	return store_table_size(&s->t[0]) + store_table_size(&s->t[1]);
}

static bool store_expired(const struct store_entry *e, int64_t now)
{
	return store_volatile(e) && e->expire_at <= now;
}

void store_init(struct store *s, size_t maxmemory, uint64_t seed0, uint64_t seed1)
{
	memset(s, 0, sizeof(*s));
	s->maxmemory = maxmemory;
	s->seed[0] = seed0;
	s->seed[1] = seed1;
}

/* ---- expiry heap: a binary min-heap on expire_at; each entry knows its
 * slot so it can be moved or removed in O(log n). ---- */

static void store_heap_place(struct store *s, size_t i, struct store_entry *e)
{
	s->heap[i] = e;
	e->heap_index = (uint32_t)i;
}

static void store_heap_up(struct store *s, size_t i)
{
	struct store_entry *e = s->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (s->heap[parent]->expire_at <= e->expire_at)
			break;
		store_heap_place(s, i, s->heap[parent]);
		i = parent;
	}
	store_heap_place(s, i, e);
}

static void store_heap_down(struct store *s, size_t i)
{
	struct store_entry *e = s->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->heap_len)
			break;
		if (c + 1 < s->heap_len && s->heap[c + 1]->expire_at < s->heap[c]->expire_at)
			c++;
		if (e->expire_at <= s->heap[c]->expire_at)
			break;
		store_heap_place(s, i, s->heap[c]);
		i = c;
	}
	store_heap_place(s, i, e);
}

/* Room for `more` pushes; the only heap operation that allocates. */
static bool store_heap_reserve(struct store *s, size_t more)
{
	size_t cap = s->heap_cap ? s->heap_cap : STORE_INITIAL_BUCKETS;
	struct store_entry **h;

	if (s->heap_len + more <= s->heap_cap)
		return true;
	while (cap < s->heap_len + more)
		cap *= 2;
	h = realloc(s->heap, cap * sizeof(*h));
	if (!h)
		return false;
	s->heap = h;
	s->heap_cap = cap;
	return true;
}

/* Gives `e` the deadline `at` (reserve first if it had none). */
static void store_heap_set(struct store *s, struct store_entry *e, int64_t at)
{
	e->expire_at = at;
	if (!store_volatile(e)) {
		store_heap_place(s, s->heap_len++, e);
		store_heap_up(s, e->heap_index);
		return;
	}
	store_heap_up(s, e->heap_index);
	store_heap_down(s, e->heap_index);
}

static void store_heap_remove(struct store *s, struct store_entry *e)
{
	size_t i = e->heap_index;
	struct store_entry *last = s->heap[--s->heap_len];

	e->heap_index = STORE_NOT_VOLATILE;
	if (i == s->heap_len)
		return;
	store_heap_place(s, i, last);
	store_heap_up(s, i);
	store_heap_down(s, last->heap_index);
}

/* ---- table ---- */

/* The link that points at `key`'s entry (in t[0] or t[1]), or NULL. */
static struct store_entry **store_find(struct store *s, const char *key, size_t klen,
				       uint32_t h, struct store_table **tab)
{
	for (int i = 0; i < 2; i++) {
		struct store_table *t = &s->t[i];
		struct store_entry **link;

		if (!t->buckets)
			continue;
		for (link = &t->buckets[h & t->mask]; *link; link = &(*link)->next) {
			struct store_entry *e = *link;

			if (e->hash == h && e->klen == klen && memcmp(e->data, key, klen) == 0) {
				*tab = t;
				return link;
			}
		}
	}
	return NULL;
}

/* The link that points at `e` itself. */
static struct store_entry **store_find_entry(struct store *s, const struct store_entry *e,
					     struct store_table **tab)
{
	for (int i = 0; i < 2; i++) {
		struct store_table *t = &s->t[i];
		struct store_entry **link;

		if (!t->buckets)
			continue;
		for (link = &t->buckets[e->hash & t->mask]; *link; link = &(*link)->next)
			if (*link == e) {
				*tab = t;
				return link;
			}
	}
	return NULL;
}

static void store_unlink(struct store *s, struct store_entry **link, struct store_table *t)
{
	struct store_entry *e = *link;

	*link = e->next;
	t->used--;
	if (store_volatile(e))
		store_heap_remove(s, e);
	s->used -= store_entry_cost(e);
	free(e);
}

/* Lazy and active expiry (not an op: see store.h for on_expire). */
static void store_drop_expired(struct store *s, struct store_entry **link, struct store_table *t)
{
	if (s->on_expire)
		s->on_expire(s->on_expire_arg, *link);
	store_unlink(s, link, t);
	s->stats.expired++;
}

bool store_rehash(struct store *s, size_t buckets)
{
	struct store_table *from = &s->t[0], *to = &s->t[1];
	size_t visits = buckets * STORE_EMPTY_VISITS;

	if (!to->buckets)
		return false;
	while (buckets && s->rehash_pos <= from->mask) {
		struct store_entry *e = from->buckets[s->rehash_pos];

		if (!e) {
			s->rehash_pos++;
			if (--visits == 0)
				break;
			continue;
		}
		while (e) {
			struct store_entry *next = e->next;
			size_t idx = e->hash & to->mask;

			e->next = to->buckets[idx];
			to->buckets[idx] = e;
			from->used--;
			to->used++;
			e = next;
		}
		from->buckets[s->rehash_pos++] = NULL;
		buckets--;
	}
	if (s->rehash_pos <= from->mask)
		return true;
	s->used -= store_table_size(from) * STORE_BUCKET_COST;
	free(from->buckets);
	*from = *to;
	memset(to, 0, sizeof(*to));
	s->rehash_pos = 0;
	return false;
}

/* Starts moving everything into a table of `size` buckets, when the
 * limit leaves room for it; otherwise the table stays (and works) as is. */
static void store_resize(struct store *s, size_t size)
{
	size_t cost = size * STORE_BUCKET_COST;
	struct store_entry **b;

	if (store_rehashing(s))
		return;
	if (s->maxmemory && s->used + cost > s->maxmemory)
		return;
	b = calloc(size, sizeof(*b));
	if (!b)
		return;
	s->t[1].buckets = b;
	s->t[1].mask = size - 1;
	s->t[1].used = 0;
	s->rehash_pos = 0;
	s->used += cost;
	if (s->used > s->peak)
		s->peak = s->used;
}

static void store_maybe_grow(struct store *s)
{
	size_t size = store_table_size(&s->t[0]);

	if (!store_rehashing(s) && store_keys(s) >= size)
		store_resize(s, size * STORE_GROW_FACTOR);
}

void store_maybe_shrink(struct store *s)
{
	size_t size = store_table_size(&s->t[0]), keys = store_keys(s), target;

	if (store_rehashing(s) || !s->t[0].buckets)
		return;
	if (keys == 0) {
		/* Empty: give the table back; the next key makes a new one. */
		s->used -= size * STORE_BUCKET_COST;
		free(s->t[0].buckets);
		memset(&s->t[0], 0, sizeof(s->t[0]));
		free(s->heap);
		s->heap = NULL;
		s->heap_cap = 0;
		return;
	}
	if (size <= STORE_INITIAL_BUCKETS || keys * STORE_SHRINK_RATIO >= size)
		return;
	for (target = STORE_INITIAL_BUCKETS; target < keys; target *= 2)
		;
	store_resize(s, target);
}

static void store_insert(struct store *s, struct store_entry *e)
{
	struct store_table *t = store_rehashing(s) ? &s->t[1] : &s->t[0];
	size_t idx = e->hash & t->mask;

	e->next = t->buckets[idx];
	t->buckets[idx] = e;
	t->used++;
	s->used += store_entry_cost(e);
}

static void store_flush(struct store *s)
{
	for (int i = 0; i < 2; i++) {
		struct store_table *t = &s->t[i];

		for (size_t b = 0; b < store_table_size(t); b++) {
			struct store_entry *e = t->buckets[b];

			while (e) {
				struct store_entry *next = e->next;

				free(e);
				e = next;
			}
		}
		free(t->buckets);
		memset(t, 0, sizeof(*t));
	}
	free(s->heap);
	s->heap = NULL;
	s->heap_len = s->heap_cap = 0;
	s->rehash_pos = 0;
	s->used = 0;
}

void store_free(struct store *s)
{
	store_flush(s);
}

const struct store_entry *store_get(struct store *s, const char *key, size_t klen, int64_t now)
{
	uint32_t h = store_hash(s, key, klen);
	struct store_table *t;
	struct store_entry **link;

	store_rehash(s, 1);
	link = store_find(s, key, klen, h, &t);
	if (!link)
		return NULL;
	if (store_expired(*link, now)) {
		store_drop_expired(s, link, t);
		return NULL;
	}
	return *link;
}

/* ---- apply ---- */

/* A new entry for a SET op, key and value filled in. */
static struct store_entry *store_entry_new(const struct store *s, const struct store_op *op)
{
	struct store_entry *e = malloc(sizeof(*e) + op->klen + op->vlen);

	if (!e)
		return NULL;
	e->next = NULL;
	e->hash = store_hash(s, op->key, op->klen);
	e->heap_index = STORE_NOT_VOLATILE;
	e->expire_at = 0;
	e->klen = (uint32_t)op->klen;
	e->vlen = (uint32_t)op->vlen;
	memcpy(e->data, op->key, op->klen);
	memcpy(e->data + op->klen, op->val, op->vlen);
	return e;
}

/*
 * The deadline a SET leaves on its key: *at and true, or false for none.
 * `old` is the entry it replaces (NULL: none); an expired old entry's
 * deadline is not kept.
 */
static bool store_set_deadline(const struct store_op *op, const struct store_entry *old,
			       int64_t now, int64_t *at)
{
	switch (op->ttl) {
	case STORE_TTL_AT:
		*at = op->expire_at;
		return true;
	case STORE_TTL_KEEP:
		if (old && store_volatile(old) && !store_expired(old, now)) {
			*at = old->expire_at;
			return true;
		}
		return false;
	case STORE_TTL_CLEAR:
		break;
	}
	return false;
}

/* SET, in place: `e` has the same key and value length (no allocation). */
static void store_set_in_place(struct store *s, struct store_entry *e, const struct store_op *op,
			       int64_t now)
{
	int64_t at;
	bool has = store_set_deadline(op, e, now, &at);

	memcpy(e->data + e->klen, op->val, op->vlen);
	if (has)
		store_heap_set(s, e, at);
	else if (store_volatile(e))
		store_heap_remove(s, e);
}

/* SET with a new entry `ne`, replacing *link's entry or added. */
static void store_set_new(struct store *s, struct store_entry **link, struct store_entry *ne,
			  const struct store_op *op, int64_t now)
{
	struct store_entry *old = link ? *link : NULL;
	int64_t at;
	bool has = store_set_deadline(op, old, now, &at);

	if (!old) {
		store_insert(s, ne);
	} else {
		ne->next = old->next;
		*link = ne;
		s->used += store_entry_cost(ne);
		s->used -= store_entry_cost(old);
		if (store_volatile(old)) {
			/* The new entry takes over the old one's heap slot. */
			size_t slot = old->heap_index;

			store_heap_place(s, slot, ne);
			old->heap_index = STORE_NOT_VOLATILE;
			if (has) {
				store_heap_set(s, ne, at);
				has = false;
			} else {
				store_heap_remove(s, ne);
			}
		}
		free(old);
	}
	if (has)
		store_heap_set(s, ne, at);
}

long store_apply(struct store *s, const struct store_op *ops, size_t n, int64_t now)
{
	struct store_entry *prepared = NULL, **tail = &prepared;
	size_t grow = 0, shrink = 0, deadlines = 0, i;
	bool in_place = false, need_table = false;
	long changed = 0;

	store_rehash(s, 1);

	/* Phase 1: price the change and allocate everything it needs, so
	 * that phase 2 cannot fail halfway. */
	for (i = 0; i < n; i++) {
		const struct store_op *op = &ops[i];
		struct store_entry **link;
		struct store_table *t;

		if (op->kind == STORE_FLUSH && n != 1)
			return -EINVAL;   /* it frees what later ops would use */
		if (op->kind == STORE_EXPIRE_AT)
			deadlines++;
		if (op->kind != STORE_SET)
			continue;
		if (op->klen > UINT32_MAX || op->vlen > UINT32_MAX)
			goto nomem;
		if (op->ttl != STORE_TTL_CLEAR)
			deadlines++;
		link = store_find(s, op->key, op->klen, store_hash(s, op->key, op->klen), &t);
		grow += store_cost(op->klen, op->vlen);
		if (link)
			shrink += store_entry_cost(*link);
		need_table |= !s->t[0].buckets;
		/* Same value length, one op: overwrite where it lies. (In a list,
		 * an earlier op may replace the same key, so every SET gets its
		 * own entry.) */
		if (n == 1 && link && (*link)->vlen == op->vlen) {
			in_place = true;
			continue;
		}
		/* Duplicate keys in one list are priced twice: a refusal near the
		 * limit errs on the safe side. */
	}
	if (need_table)
		grow += STORE_INITIAL_BUCKETS * STORE_BUCKET_COST;
	if (s->maxmemory && grow > shrink && s->used + (grow - shrink) > s->maxmemory)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct store_entry *e;

		if (ops[i].kind != STORE_SET || in_place)
			continue;
		e = store_entry_new(s, &ops[i]);
		if (!e)
			goto nomem;
		*tail = e;
		tail = &e->next;
	}
	if (!store_heap_reserve(s, deadlines))
		goto nomem;
	if (need_table) {
		s->t[0].buckets = calloc(STORE_INITIAL_BUCKETS, sizeof(*s->t[0].buckets));
		if (!s->t[0].buckets)
			goto nomem;
		s->t[0].mask = STORE_INITIAL_BUCKETS - 1;
		s->t[0].used = 0;
		s->used += STORE_INITIAL_BUCKETS * STORE_BUCKET_COST;
	}

	/* Phase 2: commit. */
	for (i = 0; i < n; i++) {
		const struct store_op *op = &ops[i];
		struct store_table *t = NULL;
		struct store_entry **link = NULL, *e;

		if (op->kind == STORE_FLUSH) {
			changed += (long)store_keys(s);
			store_flush(s);
			continue;
		}
		if (s->t[0].buckets)
			link = store_find(s, op->key, op->klen,
					  store_hash(s, op->key, op->klen), &t);
		e = link ? *link : NULL;
		switch (op->kind) {
		case STORE_SET:
			if (in_place) {
				store_set_in_place(s, e, op, now);
			} else {
				struct store_entry *ne = prepared;

				prepared = ne->next;
				ne->next = NULL;
				store_set_new(s, link, ne, op, now);
			}
			changed++;
			break;
		case STORE_DEL:
			if (e) {
				changed += !store_expired(e, now);
				store_unlink(s, link, t);
			}
			break;
		case STORE_EXPIRE_AT:
			if (!e)
				break;
			if (store_expired(e, now)) {
				store_unlink(s, link, t);
				s->stats.expired++;
				break;
			}
			changed++;
			if (op->expire_at <= now)
				store_unlink(s, link, t);   /* a deadline in the past deletes */
			else
				store_heap_set(s, e, op->expire_at);
			break;
		case STORE_PERSIST:
			if (e && store_volatile(e) && !store_expired(e, now)) {
				store_heap_remove(s, e);
				changed++;
			}
			break;
		case STORE_FLUSH:
			break;
		}
	}
	if (s->t[0].buckets)
		store_maybe_grow(s);
	if (s->used > s->peak)
		s->peak = s->used;
	return changed;

nomem:
	while (prepared) {
		struct store_entry *next = prepared->next;

		free(prepared);
		prepared = next;
	}
	return -ENOMEM;
}

size_t store_expire(struct store *s, int64_t now, size_t budget)
{
	size_t done = 0;

	while (done < budget && s->heap_len && s->heap[0]->expire_at <= now) {
		struct store_table *t;
		struct store_entry **link = store_find_entry(s, s->heap[0], &t);

		if (!link)
			break;   /* cannot happen: store_check() says so */
		store_drop_expired(s, link, t);
		done++;
	}
	return done;
}

int store_scan(const struct store *s, int64_t now, store_scan_fn fn, void *arg)
{
	for (int i = 0; i < 2; i++) {
		const struct store_table *t = &s->t[i];

		if (!t->buckets)
			continue;
		for (size_t b = 0; b <= t->mask; b++)
			for (const struct store_entry *e = t->buckets[b]; e; e = e->next) {
				int rc;

				if (store_expired(e, now))
					continue;
				rc = fn(arg, e);
				if (rc)
					return rc;
			}
	}
	return 0;
}

int64_t store_next_deadline(const struct store *s)
{
	return s->heap_len ? s->heap[0]->expire_at : INT64_MAX;
}

const char *store_check(const struct store *s)
{
	size_t bytes = store_buckets(s) * STORE_BUCKET_COST, volatiles = 0;

	for (int i = 0; i < 2; i++) {
		const struct store_table *t = &s->t[i];
		size_t count = 0;

		for (size_t b = 0; b < store_table_size(t); b++) {
			for (const struct store_entry *e = t->buckets[b]; e; e = e->next) {
				struct store_table *ft;
				struct store_entry **link;

				if ((e->hash & t->mask) != b)
					return "entry in the wrong bucket";
				if (e->hash != store_hash(s, e->data, e->klen))
					return "stale hash";
				if (i == 0 && store_rehashing(s) && b < s->rehash_pos)
					return "entry left in a moved bucket";
				link = store_find((struct store *)s, e->data, e->klen, e->hash, &ft);
				if (!link || *link != e)
					return "duplicate key";
				if (store_volatile(e)) {
					if (e->heap_index >= s->heap_len || s->heap[e->heap_index] != e)
						return "heap index out of step";
					volatiles++;
				}
				bytes += store_entry_cost(e);
				count++;
			}
		}
		if (count != t->used)
			return "table count out of step";
	}
	if (volatiles != s->heap_len)
		return "heap holds entries that are not in the table";
	for (size_t i = 1; i < s->heap_len; i++)
		if (s->heap[(i - 1) / 2]->expire_at > s->heap[i]->expire_at)
			return "heap order broken";
	if (bytes != s->used)
		return "byte accounting out of step";
	if (s->heap_len > s->heap_cap)
		return "heap overflow";
	return NULL;
}
