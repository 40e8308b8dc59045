/* test_runtime_timer.c: host unit test of the timer heap (kernel/timer.c): 100k timers, random add/cancel, firing order, stale handles. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernel/kernel.h"

#define N 100000

#include "check.h"
static uint64_t fake_now;


uint64_t time_ns(void)
{
	return fake_now;
}

struct rec {
	uint64_t deadline;
	uint64_t order;     /* add order, for the tie rule */
	uc_timer_t h;
	bool cancelled;
	int fired;
};

static struct rec recs[N];
static uint64_t last_deadline, last_order;
static bool order_ok = true, early_ok = true;
static unsigned fired_total;

static void fire(void *arg)
{
	struct rec *r = arg;

	r->fired++;
	fired_total++;
	if (r->deadline < last_deadline ||
	    (r->deadline == last_deadline && r->order < last_order))
		order_ok = false;
	if (r->deadline > fake_now)
		early_ok = false;
	last_deadline = r->deadline;
	last_order = r->order;
}

static struct rec *self_rec;
static uc_timer_t self_handle;

static void readd(void *arg)
{
	(void)arg;
	/* A callback adding a due timer: must wait for the next pass. */
	self_handle = uc_timer_at(0, fire, self_rec);
}

int main(void)
{
	unsigned live = 0, ncancel = 0;

	srand(42);
	CHECK(uc_timer_cancel(0) == -ENOENT);
	CHECK(uc_timer_cancel(12345) == -ENOENT);
	CHECK(timer_next() == UINT64_MAX);
	CHECK(uc_timer_add(1, NULL, NULL) == 0);

	/* 100k timers, deadlines with many ties; a third cancelled at random
	 * as we go, some re-added. */
	for (unsigned i = 0; i < N; i++) {
		recs[i].deadline = (uint64_t)(rand() % 5000) * 1000;
		recs[i].order = i;
		recs[i].h = uc_timer_at(recs[i].deadline, fire, &recs[i]);
		CHECK(recs[i].h != 0);
		live++;
		if (i > 0 && rand() % 3 == 0) {
			unsigned j = (unsigned)rand() % i;

			if (!recs[j].cancelled) {
				CHECK(uc_timer_cancel(recs[j].h) == 0);
				CHECK(uc_timer_cancel(recs[j].h) == -ENOENT);
				recs[j].cancelled = true;
				ncancel++;
				live--;
			}
		}
	}
	CHECK(timer_count() == live);
	CHECK(uc_timer_pending() == live);

	/* Fire in steps; the heap top is always the earliest pending. */
	for (fake_now = 0; fake_now <= 5000 * 1000; fake_now += 7919) {
		timer_run(fake_now);
		CHECK(timer_next() > fake_now);
	}
	fake_now = 6000 * 1000;
	timer_run(fake_now);
	CHECK(order_ok);
	CHECK(early_ok);
	CHECK(fired_total == live);
	CHECK(timer_count() == 0);
	for (unsigned i = 0; i < N; i++) {
		if (recs[i].fired != (recs[i].cancelled ? 0 : 1)) {
			CHECK(!"fired exactly once unless cancelled");
			break;
		}
	}
	/* Handles of fired timers are stale now. */
	CHECK(uc_timer_cancel(recs[N - 1].h) == -ENOENT);

	/* Slots are reused, but an old handle never names the new timer. */
	{
		static struct rec a = { .deadline = 0 }, b = { .deadline = 0 };
		uc_timer_t ha, hb;

		order_ok = true;
		last_deadline = 0;
		last_order = 0;
		ha = uc_timer_at(fake_now + 10, fire, &a);
		CHECK(uc_timer_cancel(ha) == 0);
		hb = uc_timer_at(fake_now + 10, fire, &b);
		CHECK(hb != ha);
		CHECK(uc_timer_cancel(ha) == -ENOENT);
		CHECK(uc_timer_cancel(hb) == 0);
	}

	/* A callback that re-adds a due timer does not loop forever. */
	{
		static struct rec s = { .deadline = 0 };

		self_rec = &s;
		fired_total = 0;
		last_deadline = 0;
		uc_timer_at(0, readd, NULL);
		CHECK(timer_run(fake_now) == 1);
		CHECK(timer_count() == 1);
		CHECK(timer_run(fake_now) == 1);
		CHECK(s.fired == 1);
		CHECK(uc_timer_cancel(self_handle) == -ENOENT);
	}

	/* Random interleaving against a brute-force model. */
	{
		static uc_timer_t hs[2000];
		static uint64_t dl[2000];
		static bool on[2000];

		for (int round = 0; round < 200000; round++) {
			int k = rand() % 2000;

			if (on[k]) {
				CHECK(uc_timer_cancel(hs[k]) == 0);
				on[k] = false;
			} else {
				dl[k] = fake_now + 1 + (uint64_t)(rand() % 100000);
				hs[k] = uc_timer_at(dl[k], fire, &recs[0]);
				on[k] = true;
			}
			if (round % 1000 == 0) {
				uint64_t min = UINT64_MAX;

				for (int i = 0; i < 2000; i++)
					if (on[i] && dl[i] < min)
						min = dl[i];
				CHECK(timer_next() == min);
			}
		}
	}

	printf("timer: %d passed, %d failed (%u cancelled of %d)\n", passed, failed, ncancel, N);
	return failed ? 1 : 0;
}
