/* timer.c: one-shot timers: a binary min-heap of slot indices ordered by (deadline, sequence), handles with generations. */
#include <errno.h>
#include <stdlib.h>

#include "kernel/kernel.h"

/*
 * Slots hold the timers; the heap holds slot indices and each slot knows
 * its heap position, so cancel is a sift from the middle: O(log n). A
 * handle is (generation << 32 | slot); the generation changes whenever a
 * slot is freed, so a handle outlives its timer harmlessly. Free slots
 * chain through `next_free`. The sequence number breaks deadline ties in
 * the order timers were added.
 *
 * Called from the loop of the CPU that owns the timers (CPU 0); not from
 * interrupt handlers.
 */
#define TIMER_NONE       UINT32_MAX
#define TIMER_INITIAL    64

struct timer_slot {
	uint64_t deadline;
	uint64_t seq;
	uc_timer_fn fn;
	void *arg;
	uint32_t gen;
	uint32_t pos;        /* index in timer_heap, TIMER_NONE when free */
	uint32_t next_free;
};

static struct timer_slot *timer_slots;
static uint32_t *timer_heap;
static uint32_t timer_cap;      /* slots and heap entries allocated */
static uint32_t timer_n;        /* heap entries in use */
static uint32_t timer_free = TIMER_NONE;
static uint32_t timer_used;     /* slots ever handed out (high-water mark) */
static uint64_t timer_seq;

static bool timer_less(uint32_t a, uint32_t b)
{
	const struct timer_slot *x = &timer_slots[a], *y = &timer_slots[b];

	return x->deadline < y->deadline || (x->deadline == y->deadline && x->seq < y->seq);
}

static void timer_place(uint32_t i, uint32_t slot)
{
	timer_heap[i] = slot;
	timer_slots[slot].pos = i;
}

static void timer_sift_up(uint32_t i)
{
	uint32_t slot = timer_heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (!timer_less(slot, timer_heap[parent]))
			break;
		timer_place(i, timer_heap[parent]);
		i = parent;
	}
	timer_place(i, slot);
}

static void timer_sift_down(uint32_t i)
{
	uint32_t slot = timer_heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= timer_n)
			break;
		if (c + 1 < timer_n && timer_less(timer_heap[c + 1], timer_heap[c]))
			c++;
		if (!timer_less(timer_heap[c], slot))
			break;
		timer_place(i, timer_heap[c]);
		i = c;
	}
	timer_place(i, slot);
}

static void timer_remove_at(uint32_t i)
{
	uint32_t slot = timer_heap[i];

	timer_n--;
	if (i != timer_n) {
		timer_place(i, timer_heap[timer_n]);
		if (i > 0 && timer_less(timer_heap[i], timer_heap[(i - 1) / 2]))
			timer_sift_up(i);
		else
			timer_sift_down(i);
	}
	timer_slots[slot].pos = TIMER_NONE;
	timer_slots[slot].fn = NULL;
	timer_slots[slot].gen++;
	if (timer_slots[slot].gen == 0)
		timer_slots[slot].gen = 1; /* handle 0 stays invalid */
	timer_slots[slot].next_free = timer_free;
	timer_free = slot;
}

static int timer_grow(void)
{
	uint32_t cap = timer_cap ? timer_cap * 2 : TIMER_INITIAL;
	struct timer_slot *s;
	uint32_t *h;

	if (cap <= timer_cap || cap > UINT32_MAX / 2)
		return -ENOMEM;
	s = realloc(timer_slots, (size_t)cap * sizeof(*s));
	if (!s)
		return -ENOMEM;
	timer_slots = s;
	h = realloc(timer_heap, (size_t)cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	timer_heap = h;
	timer_cap = cap;
	return 0;
}

uc_timer_t uc_timer_at(uint64_t deadline_ns, uc_timer_fn fn, void *arg)
{
	uint32_t slot;
	struct timer_slot *t;

	if (!fn)
		return 0;
	if (timer_free != TIMER_NONE) {
		slot = timer_free;
		timer_free = timer_slots[slot].next_free;
	} else {
		if (timer_used == timer_cap && timer_grow() < 0)
			return 0;
		slot = timer_used++;
		timer_slots[slot].gen = 1;
	}
	t = &timer_slots[slot];
	t->deadline = deadline_ns;
	t->seq = timer_seq++;
	t->fn = fn;
	t->arg = arg;
	timer_heap[timer_n] = slot;
	t->pos = timer_n++;
	timer_sift_up(t->pos);
	return (uint64_t)t->gen << 32 | slot;
}

uc_timer_t uc_timer_add(uint64_t ns_from_now, uc_timer_fn fn, void *arg)
{
	uint64_t now = time_ns();

	return uc_timer_at(ns_from_now > UINT64_MAX - now ? UINT64_MAX : now + ns_from_now, fn,
			   arg);
}

int uc_timer_cancel(uc_timer_t timer)
{
	uint32_t slot = (uint32_t)timer;
	uint32_t gen = (uint32_t)(timer >> 32);

	if (timer == 0 || slot >= timer_used || timer_slots[slot].gen != gen ||
	    timer_slots[slot].pos == TIMER_NONE)
		return -ENOENT;
	timer_remove_at(timer_slots[slot].pos);
	return 0;
}

unsigned long uc_timer_pending(void)
{
	return timer_n;
}

size_t timer_count(void)
{
	return timer_n;
}

uint64_t timer_next(void)
{
	return timer_n ? timer_slots[timer_heap[0]].deadline : UINT64_MAX;
}

/* Timers added by the callbacks run here wait for the next pass, so a
 * callback that re-adds itself with a past deadline cannot starve the loop. */
unsigned timer_run(uint64_t now)
{
	uint64_t seq_limit = timer_seq;
	unsigned ran = 0;

	while (timer_n) {
		struct timer_slot *t = &timer_slots[timer_heap[0]];
		uc_timer_fn fn = t->fn;
		void *arg = t->arg;

		if (t->deadline > now || t->seq >= seq_limit)
			break;
		timer_remove_at(0);
		fn(arg);
		ran++;
	}
	return ran;
}
