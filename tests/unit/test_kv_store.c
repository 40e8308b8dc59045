/* test_kv_store.c: examples/kv's store: expiry (lazy and active), rehash under many keys, byte accounting, the maxmemory refusal. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store.h"

#define KEY_MAX 32

static struct store_op set_op(const char *k, const char *v)
{
	struct store_op op = { .kind = STORE_SET, .ttl = STORE_TTL_CLEAR, .key = k,
			       .klen = strlen(k), .val = v, .vlen = strlen(v) };
	return op;
}

static long set(struct store *s, const char *k, const char *v, int64_t now)
{
	struct store_op op = set_op(k, v);

	return store_apply(s, &op, 1, now);
}

static long set_at(struct store *s, const char *k, const char *v, int64_t at, int64_t now)
{
	struct store_op op = set_op(k, v);

	op.ttl = STORE_TTL_AT;
	op.expire_at = at;
	return store_apply(s, &op, 1, now);
}

static long key_op(struct store *s, enum store_op_kind kind, const char *k, int64_t at,
		   int64_t now)
{
	struct store_op op = { .kind = kind, .key = k, .klen = strlen(k), .expire_at = at };

	return store_apply(s, &op, 1, now);
}

static bool has(struct store *s, const char *k, const char *v, int64_t now)
{
	const struct store_entry *e = store_get(s, k, strlen(k), now);

	if (!v)
		return e == NULL;
	return e && e->vlen == strlen(v) && memcmp(store_value(e), v, e->vlen) == 0;
}

static bool consistent(const struct store *s)
{
	const char *why = store_check(s);

	if (why)
		fprintf(stderr, "  store_check: %s\n", why);
	return why == NULL;
}

static void test_basics_and_accounting(void)
{
	struct store s;
	size_t bucket_bytes = 16 * sizeof(void *);

	store_init(&s, 0, 1, 2);
	CHECK(store_used(&s) == 0 && store_keys(&s) == 0);
	CHECK(set(&s, "k", "v", 0) == 1);
	CHECK(has(&s, "k", "v", 0));
	CHECK(store_used(&s) == bucket_bytes + STORE_ENTRY_OVERHEAD + 2);
	CHECK(set(&s, "k", "w", 0) == 1);                   /* same length: in place */
	CHECK(has(&s, "k", "w", 0) && store_keys(&s) == 1);
	CHECK(set(&s, "k", "longer", 0) == 1);              /* new entry */
	CHECK(has(&s, "k", "longer", 0));
	CHECK(store_used(&s) == bucket_bytes + STORE_ENTRY_OVERHEAD + 1 + 6);
	CHECK(set(&s, "", "", 0) == 1);                     /* empty key and value */
	CHECK(has(&s, "", "", 0) && store_keys(&s) == 2);
	CHECK(key_op(&s, STORE_DEL, "k", 0, 0) == 1);
	CHECK(key_op(&s, STORE_DEL, "k", 0, 0) == 0);
	CHECK(has(&s, "k", NULL, 0));
	CHECK(consistent(&s));
	CHECK(key_op(&s, STORE_FLUSH, "", 0, 0) == 1);
	CHECK(store_used(&s) == 0 && store_keys(&s) == 0 && store_buckets(&s) == 0);
	CHECK(consistent(&s));
	store_free(&s);
}

static void test_expiry(void)
{
	struct store s;
	struct store_op op;

	store_init(&s, 0, 3, 4);
	/* lazy: live until the deadline, gone at it */
	CHECK(set_at(&s, "a", "1", 100, 0) == 1);
	CHECK(store_volatile_keys(&s) == 1 && store_next_deadline(&s) == 100);
	CHECK(has(&s, "a", "1", 99));
	CHECK(has(&s, "a", NULL, 100));
	CHECK(store_keys(&s) == 0 && store_volatile_keys(&s) == 0 && s.stats.expired == 1);

	/* KEEPTTL keeps the deadline, a plain SET clears it, PERSIST removes it */
	CHECK(set_at(&s, "a", "1", 500, 0) == 1);
	op = set_op("a", "22");
	op.ttl = STORE_TTL_KEEP;
	CHECK(store_apply(&s, &op, 1, 10) == 1);            /* new entry takes the heap slot */
	CHECK(store_volatile_keys(&s) == 1 && store_next_deadline(&s) == 500);
	op = set_op("a", "33");
	op.ttl = STORE_TTL_KEEP;
	CHECK(store_apply(&s, &op, 1, 10) == 1);            /* in place */
	CHECK(store_next_deadline(&s) == 500 && has(&s, "a", "33", 499));
	CHECK(set(&s, "a", "44", 10) == 1);
	CHECK(store_volatile_keys(&s) == 0 && has(&s, "a", "44", 1000));
	CHECK(key_op(&s, STORE_EXPIRE_AT, "a", 700, 10) == 1);
	CHECK(key_op(&s, STORE_PERSIST, "a", 0, 10) == 1);
	CHECK(key_op(&s, STORE_PERSIST, "a", 0, 10) == 0);
	CHECK(has(&s, "a", "44", 10000));
	CHECK(key_op(&s, STORE_EXPIRE_AT, "nope", 700, 10) == 0);
	/* a deadline in the past deletes at once */
	CHECK(key_op(&s, STORE_EXPIRE_AT, "a", 5, 10) == 1);
	CHECK(store_keys(&s) == 0);
	/* KEEPTTL over an expired key does not bring its deadline back */
	CHECK(set_at(&s, "b", "1", 50, 0) == 1);
	op = set_op("b", "2");
	op.ttl = STORE_TTL_KEEP;
	CHECK(store_apply(&s, &op, 1, 60) == 1);
	CHECK(store_volatile_keys(&s) == 0 && has(&s, "b", "2", 100000));
	/* DEL of an expired key removes it but does not count it */
	CHECK(set_at(&s, "c", "1", 50, 0) == 1);
	CHECK(key_op(&s, STORE_DEL, "c", 0, 60) == 0 && store_keys(&s) == 1);
	CHECK(consistent(&s));

	/* active: 5000 deadlines, removed in bounded steps in deadline order */
	key_op(&s, STORE_FLUSH, "", 0, 0);
	for (int i = 0; i < 5000; i++) {
		char k[KEY_MAX];

		snprintf(k, sizeof(k), "key:%d", i);
		CHECK(set_at(&s, k, "v", 1000 + (i * 7919) % 5000, 0) == 1);
	}
	CHECK(set(&s, "stays", "v", 0) == 1);
	CHECK(consistent(&s));
	CHECK(store_expire(&s, 999, 100000) == 0);
	CHECK(store_expire(&s, 1999, 300) == 300);          /* bounded */
	CHECK(store_expire(&s, 1999, 100000) == 700);       /* the rest of the first 1000 */
	CHECK(store_next_deadline(&s) == 2000);
	CHECK(consistent(&s));
	CHECK(store_expire(&s, 100000, 100000) == 4000);
	CHECK(store_keys(&s) == 1 && store_volatile_keys(&s) == 0 && has(&s, "stays", "v", 0));
	CHECK(consistent(&s));
	store_free(&s);
}

#define MANY 100000

static void test_rehash_many_keys(void)
{
	struct store s;
	char k[KEY_MAX], v[KEY_MAX];
	size_t grew = 0, buckets = 0;
	bool rehash_seen = false;

	store_init(&s, 0, 5, 6);
	for (int i = 0; i < MANY; i++) {
		snprintf(k, sizeof(k), "key:%d", i);
		snprintf(v, sizeof(v), "value-%d", i);
		CHECK(set(&s, k, v, 0) == 1);
		if (store_rehashing(&s) && !rehash_seen) {
			/* mid-rehash: every key so far is found in one table or the other */
			rehash_seen = true;
			for (int j = 0; j <= i; j++) {
				snprintf(k, sizeof(k), "key:%d", j);
				snprintf(v, sizeof(v), "value-%d", j);
				CHECK(has(&s, k, v, 0));
			}
			CHECK(consistent(&s));
		}
		if (store_buckets(&s) != buckets) {
			buckets = store_buckets(&s);
			grew++;
		}
	}
	CHECK(rehash_seen && grew > 10);
	while (store_rehash(&s, 1000))
		;
	CHECK(store_keys(&s) == MANY);
	/* load stays at or below 1 once rehashing is done */
	CHECK(store_buckets(&s) >= MANY && store_buckets(&s) <= 2 * 131072);
	CHECK(consistent(&s));
	for (int i = 0; i < MANY; i++) {
		snprintf(k, sizeof(k), "key:%d", i);
		snprintf(v, sizeof(v), "value-%d", i);
		if (!has(&s, k, v, 0)) {
			CHECK(!"key lost");
			break;
		}
	}
	/* delete all but 10: the table shrinks in the background */
	for (int i = 10; i < MANY; i++) {
		snprintf(k, sizeof(k), "key:%d", i);
		CHECK(key_op(&s, STORE_DEL, k, 0, 0) == 1);
	}
	store_maybe_shrink(&s);
	CHECK(store_rehashing(&s));
	while (store_rehash(&s, 1000))
		;
	CHECK(store_buckets(&s) == 16 && store_keys(&s) == 10);
	CHECK(consistent(&s));
	for (int i = 0; i < 10; i++) {
		snprintf(k, sizeof(k), "key:%d", i);
		CHECK(key_op(&s, STORE_DEL, k, 0, 0) == 1);
	}
	store_maybe_shrink(&s);
	CHECK(store_used(&s) == 0 && store_buckets(&s) == 0);
	store_free(&s);
}

/* Memory goes back to 0 after FLUSH, whatever was in the store. */
static void test_flush_returns_to_zero(void)
{
	struct store s;
	char k[KEY_MAX];

	store_init(&s, 0, 7, 8);
	for (int i = 0; i < 20000; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		if (i % 3)
			set(&s, k, "some value", 0);
		else
			set_at(&s, k, "volatile value", 1000 + i, 0);
	}
	CHECK(store_rehashing(&s) || store_buckets(&s) > 16);
	CHECK(store_used(&s) > 20000 * STORE_ENTRY_OVERHEAD);
	CHECK(key_op(&s, STORE_FLUSH, "", 0, 0) == 20000);
	CHECK(store_used(&s) == 0 && store_keys(&s) == 0 && store_volatile_keys(&s) == 0);
	CHECK(s.heap == NULL && store_buckets(&s) == 0);
	CHECK(consistent(&s));
	/* and the store works afterwards */
	CHECK(set(&s, "again", "1", 0) == 1 && has(&s, "again", "1", 0));
	store_free(&s);
}

/* A fingerprint of the whole store, to see that a refused write changed
 * nothing. */
static uint64_t fingerprint(const struct store *s)
{
	uint64_t h = store_used(s) * 31 + store_keys(s);

	for (int t = 0; t < 2; t++)
		for (size_t b = 0; s->t[t].buckets && b <= s->t[t].mask; b++)
			for (const struct store_entry *e = s->t[t].buckets[b]; e; e = e->next) {
				uint64_t x = e->hash;

				for (uint32_t i = 0; i < e->klen + e->vlen; i++)
					x = x * 131 + (unsigned char)e->data[i];
				x += store_volatile(e) ? (uint64_t)e->expire_at : 0;
				h += x * 0x9e3779b97f4a7c15ull;   /* order-free sum */
			}
	return h;
}

static void test_maxmemory(void)
{
	const size_t limit = 64 * 1024;
	struct store s;
	char k[KEY_MAX], v[200];
	int stored = 0;
	uint64_t before;
	size_t used;
	struct store_op ops[3];

	memset(v, 'x', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	store_init(&s, limit, 9, 10);
	/* fill until refused */
	for (;;) {
		snprintf(k, sizeof(k), "fill:%d", stored);
		used = store_used(&s);
		before = fingerprint(&s);
		if (set(&s, k, v, 0) == -ENOMEM)
			break;
		CHECK(store_used(&s) <= limit);
		stored++;
	}
	CHECK(stored > 100);
	CHECK(store_used(&s) == used && fingerprint(&s) == before);   /* nothing changed */
	CHECK(has(&s, k, NULL, 0));
	CHECK(store_used(&s) + STORE_ENTRY_OVERHEAD + strlen(k) + strlen(v) > limit);
	CHECK(consistent(&s));

	/* an overwrite that grows the value is refused too; one that shrinks passes */
	before = fingerprint(&s);
	snprintf(k, sizeof(k), "fill:%d", 0);
	{
		char bigger[2000];

		memset(bigger, 'y', sizeof(bigger) - 1);
		bigger[sizeof(bigger) - 1] = '\0';
		CHECK(set(&s, k, bigger, 0) == -ENOMEM && fingerprint(&s) == before);
	}
	CHECK(set(&s, k, "small", 0) == 1);

	/* a list (MSET) that would pass the limit with its last op applies none */
	while (set(&s, "pad", v, 0) == 1 && set(&s, "pad2", v, 0) == 1)
		;
	before = fingerprint(&s);
	ops[0] = set_op("m1", "1");
	ops[1] = set_op("m2", "2");
	ops[2] = set_op("m3", v);
	CHECK(store_apply(&s, ops, 3, 0) == -ENOMEM);
	CHECK(fingerprint(&s) == before && has(&s, "m1", NULL, 0) && has(&s, "m2", NULL, 0));

	/* EXPIRE and PERSIST never need memory, even at the limit */
	CHECK(key_op(&s, STORE_EXPIRE_AT, "fill:1", 1000, 0) == 1);
	CHECK(key_op(&s, STORE_PERSIST, "fill:1", 0, 0) == 1);

	/* DEL frees, and the same write passes again */
	snprintf(k, sizeof(k), "fill:%d", stored);
	CHECK(set(&s, k, v, 0) == -ENOMEM);
	CHECK(key_op(&s, STORE_DEL, "fill:2", 0, 0) == 1);
	CHECK(key_op(&s, STORE_DEL, "fill:3", 0, 0) == 1);
	CHECK(set(&s, k, v, 0) == 1 && has(&s, k, v, 0));
	CHECK(store_used(&s) <= limit && s.peak <= limit);
	CHECK(consistent(&s));
	store_free(&s);
}

/* Random ops against a plain array model, checking invariants on the way. */
#define MODEL_KEYS 64

static void test_random_against_model(void)
{
	struct { bool live; char val[8]; int64_t at; } model[MODEL_KEYS];
	struct store s;
	uint32_t x = 777;
	int64_t now = 0;

	memset(model, 0, sizeof(model));
	store_init(&s, 0, 11, 12);
	for (int step = 0; step < 200000; step++) {
		char k[KEY_MAX], v[8];
		int i, what;

		x = x * 1103515245u + 12345u;
		i = (int)((x >> 8) % MODEL_KEYS);
		what = (int)((x >> 20) % 8);
		snprintf(k, sizeof(k), "k%d", i);
		snprintf(v, sizeof(v), "%u", (x >> 4) % 1000);
		if (step % 97 == 0)
			now++;
		/* the model's own expiry */
		if (model[i].live && model[i].at && model[i].at <= now)
			model[i].live = false;
		switch (what) {
		case 0: case 1:
			CHECK(set(&s, k, v, now) == 1);
			model[i].live = true;
			model[i].at = 0;
			strcpy(model[i].val, v);
			break;
		case 2:
			CHECK(set_at(&s, k, v, now + 1 + (x % 5), now) == 1);
			model[i].live = true;
			model[i].at = now + 1 + (x % 5);
			strcpy(model[i].val, v);
			break;
		case 3:
			CHECK(key_op(&s, STORE_DEL, k, 0, now) == (model[i].live ? 1 : 0));
			model[i].live = false;
			break;
		case 4:
			CHECK(key_op(&s, STORE_EXPIRE_AT, k, now + 3, now) == (model[i].live ? 1 : 0));
			if (model[i].live)
				model[i].at = now + 3;
			break;
		case 5:
			CHECK(key_op(&s, STORE_PERSIST, k, 0, now) ==
			      (model[i].live && model[i].at ? 1 : 0));
			model[i].at = 0;
			break;
		case 6:
			store_expire(&s, now, 3);
			store_rehash(&s, 2);
			break;
		default:
			CHECK(has(&s, k, model[i].live ? model[i].val : NULL, now));
			break;
		}
		if (step % 10007 == 0) {
			CHECK(consistent(&s));
			store_maybe_shrink(&s);
		}
	}
	CHECK(consistent(&s));
	store_free(&s);
}

int main(void)
{
	test_basics_and_accounting();
	test_expiry();
	test_rehash_many_keys();
	test_flush_returns_to_zero();
	test_maxmemory();
	test_random_against_model();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
