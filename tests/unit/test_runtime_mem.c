/* test_runtime_mem.c: host unit test of the page allocator (kernel/buddy.c) and malloc's core (lib/heap.c) over a malloc'd arena. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/buddy.h"
#include "lib/heap.h"

#define ARENA_SIZE (64u << 20)
#define PAGE ((uintptr_t)PAGE_SIZE)
#define ROUNDS 200000
#define SLOTS 512

#include "check.h"


static jmp_buf fail_jmp;
static bool expect_fail;
static const char *fail_what;

static void on_fail(const char *what)
{
	fail_what = what;
	if (expect_fail)
		longjmp(fail_jmp, 1);
	printf("unexpected allocator failure: %s\n", what);
	exit(2);
}

static void buddy_fail(const char *what, uintptr_t addr)
{
	(void)addr;
	on_fail(what);
}

static void heap_fail(const char *what, const void *p)
{
	(void)p;
	on_fail(what);
}

/* xorshift64*: reproducible pseudo-random numbers. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint8_t *arena;
static uintptr_t arena_lo, arena_hi;
static struct buddy buddy;

static void setup_buddy(void)
{
	uint8_t *meta;

	arena = aligned_alloc(PAGE, ARENA_SIZE);
	arena_lo = (uintptr_t)arena;
	arena_hi = arena_lo + ARENA_SIZE;
	meta = malloc(buddy_meta_size(arena_lo, arena_hi));
	buddy_init(&buddy, arena_lo, arena_hi, meta, buddy_fail);
	/* Three ranges with holes, odd sizes and odd alignment. */
	buddy_add(&buddy, arena_lo + 3 * PAGE, 1000);
	buddy_add(&buddy, arena_lo + 1100 * PAGE, 4093);
	buddy_add(&buddy, arena_lo + 6000 * PAGE, ARENA_SIZE / PAGE - 6000 - 7);
}

static bool in_added_ranges(uintptr_t a, size_t n)
{
	uintptr_t e = a + n * PAGE;

	return (a >= arena_lo + 3 * PAGE && e <= arena_lo + 1003 * PAGE) ||
	       (a >= arena_lo + 1100 * PAGE && e <= arena_lo + 5193 * PAGE) ||
	       (a >= arena_lo + 6000 * PAGE && e <= arena_hi - 7 * PAGE);
}

static void test_buddy(void)
{
	struct { uintptr_t a; size_t n; uint8_t tag; } slot[SLOTS] = { { 0, 0, 0 } };
	size_t total = buddy.pages_free;
	int bad_range = 0, bad_content = 0, bad_align = 0;

	CHECK(buddy.pages_total == total);
	CHECK(buddy_check(&buddy) == 0);
	for (int r = 0; r < ROUNDS / 4; r++) {
		unsigned i = rng() % SLOTS;

		if (slot[i].a) {
			uint8_t *p = (uint8_t *)slot[i].a;

			for (size_t k = 0; k < slot[i].n * PAGE; k += PAGE / 2)
				if (p[k] != slot[i].tag)
					bad_content++;
			buddy_free_pages(&buddy, slot[i].a, slot[i].n);
			slot[i].a = 0;
		} else {
			size_t n = rng() % 8 ? 1 + rng() % 8 : 1 + rng() % 300;
			uintptr_t a = buddy_alloc_pages(&buddy, n);
			size_t pow = 1;

			if (!a)
				continue;
			while (pow * 2 <= n)
				pow *= 2;
			if ((a - buddy.base) % (pow * PAGE))
				bad_align++;
			if (!in_added_ranges(a, n))
				bad_range++;
			slot[i].a = a;
			slot[i].n = n;
			slot[i].tag = (uint8_t)(1 + i % 250);
			memset((void *)a, slot[i].tag, n * PAGE);
		}
		if (r % 5000 == 0 && buddy_check(&buddy) != 0) {
			CHECK(!"buddy_check mid-run");
			break;
		}
	}
	CHECK(bad_range == 0);
	CHECK(bad_content == 0);
	CHECK(bad_align == 0);
	for (unsigned i = 0; i < SLOTS; i++)
		if (slot[i].a)
			buddy_free_pages(&buddy, slot[i].a, slot[i].n);
	CHECK(buddy.pages_free == total);
	CHECK(buddy_check(&buddy) == 0);

	/* Everything coalesced again: a 1024-page block must be available. */
	{
		uintptr_t a = buddy_alloc_pages(&buddy, 1024);

		CHECK(a != 0);
		CHECK(a && (a - buddy.base) % (1024 * PAGE) == 0);
		if (a)
			buddy_free_pages(&buddy, a, 1024);
	}
	/* Too much: fails cleanly. */
	CHECK(buddy_alloc_pages(&buddy, total + 1) == 0);

	/* Misuse is caught. */
	{
		uintptr_t a = buddy_alloc_pages(&buddy, 3);

		buddy_free_pages(&buddy, a, 3);
		expect_fail = true;
		fail_what = NULL;
		if (setjmp(fail_jmp) == 0)
			buddy_free_pages(&buddy, a, 3);
		CHECK(fail_what != NULL);
		a = buddy_alloc_pages(&buddy, 5);
		fail_what = NULL;
		if (setjmp(fail_jmp) == 0)
			buddy_free_pages(&buddy, a, 9);
		CHECK(fail_what != NULL);
		expect_fail = false;
		buddy_free_pages(&buddy, a, 5);
	}
	CHECK(buddy.pages_free == total);
	CHECK(buddy_check(&buddy) == 0);
}

static void *pages_alloc(void *ctx, size_t n)
{
	return (void *)buddy_alloc_pages(ctx, n);
}

static void pages_free(void *ctx, void *p, size_t n)
{
	buddy_free_pages(ctx, (uintptr_t)p, n);
}

static struct heap heap;

struct obj {
	uint8_t *p;
	size_t size;
	uint8_t tag;
};

/* The checked heap (heap_pages.mark, as KASAN uses it): one state byte per
 * arena byte, as the heap last marked it. */
#define MARK_NONE 0xee /* never marked: pages the heap has not touched */
static uint8_t *marks;
static bool checked;
static int bad_marks;

static uint8_t *mark_at(const void *p)
{
	uintptr_t a = (uintptr_t)p;

	if (a < arena_lo || a >= arena_hi) {
		bad_marks++;
		return NULL;
	}
	return &marks[a - arena_lo];
}

static void record_mark(void *ctx, const void *p, size_t n, enum heap_mark how)
{
	uint8_t *m = mark_at(p);

	(void)ctx;
	if ((uintptr_t)p % HEAP_ALIGN || (how != HEAP_MARK_USABLE && n % 8) || !m ||
	    !mark_at((const char *)p + n - 1))
		bad_marks++;
	else
		memset(m, how, n);
}

/* Checked heap: the object's bytes are usable, and the redzone after it not. */
static bool obj_marked(const struct obj *o)
{
	size_t n = o->size ? o->size : 1;
	const uint8_t *m = mark_at(o->p);

	if (!checked)
		return true;
	if (!m)
		return false;
	for (size_t k = 0; k < n; k++)
		if (m[k] != HEAP_MARK_USABLE)
			return false;
	for (size_t k = n; k < n + HEAP_ALIGN; k++)
		if (m[k] != HEAP_MARK_REDZONE)
			return false;
	return true;
}

static bool obj_ok(const struct obj *o)
{
	if (!obj_marked(o))
		return false;
	for (size_t k = 0; k < o->size; k++)
		if (o->p[k] != o->tag)
			return false;
	return true;
}

static size_t random_size(void)
{
	switch (rng() % 10) {
	case 0: return rng() % 70000;          /* large blocks */
	case 1: return 2000 + rng() % 3000;    /* around the small/large edge */
	case 2: return 0;
	default: return 1 + rng() % 300;       /* typical small objects */
	}
}

static void test_heap(bool with_marks)
{
	static struct obj objs[SLOTS];
	struct heap_pages pages = { pages_alloc, pages_free, heap_fail, &buddy,
				    with_marks ? record_mark : NULL, 16 };
	size_t pages_before = buddy.pages_free;
	int bad_content = 0, bad_align = 0, bad_usable = 0, bad_freed = 0, ops = 0;

	checked = with_marks;
	heap_init(&heap, &pages);
	for (int r = 0; r < ROUNDS; r++) {
		struct obj *o = &objs[rng() % SLOTS];
		unsigned op = rng() % 4;

		if (o->p && !obj_ok(o))
			bad_content++;
		if (o->p && op == 0) {
			size_t n = random_size();
			uint8_t *q = heap_realloc(&heap, o->p, n);

			if (n == 0) {
				o->p = NULL;
				continue;
			}
			if (!q)
				continue;
			if (checked && q == o->p)
				bad_usable++; /* a checked realloc always moves */
			/* The common prefix survived the move. */
			for (size_t k = 0; k < (n < o->size ? n : o->size); k++)
				if (q[k] != o->tag)
					bad_content++;
			o->p = q;
			o->size = n;
			memset(o->p, o->tag, n);
		} else if (o->p) {
			heap_free(&heap, o->p);
			if (checked && *mark_at(o->p) != HEAP_MARK_FREED)
				bad_freed++;
			o->p = NULL;
		} else {
			size_t n = random_size();
			size_t align = op == 1 ? (size_t)1 << (rng() % 13) : HEAP_ALIGN;

			o->p = op == 1 ? heap_aligned_alloc(&heap, align, n) : heap_alloc(&heap, n);
			if (!o->p)
				continue;
			if ((uintptr_t)o->p % align)
				bad_align++;
			if (heap_usable_size(&heap, o->p) < n ||
			    (checked && heap_usable_size(&heap, o->p) != (n ? n : 1)))
				bad_usable++;
			o->size = n;
			o->tag = (uint8_t)(1 + rng() % 255);
			memset(o->p, o->tag, n);
		}
		ops++;
	}
	CHECK(ops > ROUNDS / 2);
	CHECK(bad_content == 0);
	CHECK(bad_align == 0);
	CHECK(bad_usable == 0);
	CHECK(bad_freed == 0);
	CHECK(bad_marks == 0);
	CHECK(heap.peak_bytes >= heap.bytes_in_use);
	CHECK(heap.peak_bytes > 0);
	for (unsigned i = 0; i < SLOTS; i++) {
		heap_free(&heap, objs[i].p);
		objs[i].p = NULL;
	}
	CHECK(heap.bytes_in_use == 0);
	CHECK(heap.large_blocks == 0);
	/* At most one cached empty slab per class stays. */
	CHECK(heap.slabs <= HEAP_NCLASSES);
	CHECK(buddy.pages_free + heap.slabs * HEAP_SLAB_PAGES == pages_before);
	CHECK(buddy_check(&buddy) == 0);

	/* Bad alignments are refused. */
	CHECK(heap_aligned_alloc(&heap, 3, 10) == NULL);
	CHECK(heap_aligned_alloc(&heap, 8192, 10) == NULL);
	/* Huge requests fail instead of wrapping. */
	CHECK(heap_alloc(&heap, SIZE_MAX - 10) == NULL);
	CHECK(heap_alloc(&heap, ARENA_SIZE * 2) == NULL);

	/* Double free and foreign pointers are caught. */
	{
		void *p = heap_alloc(&heap, 40), *q = heap_alloc(&heap, 40);
		void *big = heap_alloc(&heap, 50000);

		heap_free(&heap, p);
		expect_fail = true;
		fail_what = NULL;
		if (setjmp(fail_jmp) == 0)
			heap_free(&heap, p);
		CHECK(fail_what && strcmp(fail_what, "double free") == 0);
		fail_what = NULL;
		if (setjmp(fail_jmp) == 0)
			heap_free(&heap, (char *)q + 8);
		CHECK(fail_what != NULL);
		fail_what = NULL;
		if (setjmp(fail_jmp) == 0)
			heap_free(&heap, (char *)big + 16);
		CHECK(fail_what != NULL);
		expect_fail = false;
		heap_free(&heap, q);
		heap_free(&heap, big);
	}
	CHECK(heap.bytes_in_use == 0);
}

int main(void)
{
	setup_buddy();
	test_buddy();
	test_heap(false);
	marks = malloc(ARENA_SIZE);
	CHECK(marks != NULL);
	memset(marks, MARK_NONE, ARENA_SIZE);
	test_heap(true);
	free(marks);
	free(buddy.meta);
	free(arena);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
