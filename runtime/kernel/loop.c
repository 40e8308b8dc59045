/* loop.c: the run-to-completion event loop: pollers every pass, deferred work in FIFO order. */
#include <errno.h>

#include "kernel/kernel.h"
#include "arch/x86_64/io.h"

#define LOOP_MAX_POLLERS 16
#define LOOP_DEFER_SLOTS 256 /* power of two */

struct loop_work {
	loop_fn fn;
	void *arg;
};

static struct loop_work loop_pollers[LOOP_MAX_POLLERS];
static unsigned loop_npollers;
/* Ring: producers advance tail, the loop advances head. */
static struct loop_work loop_defer_ring[LOOP_DEFER_SLOTS];
static volatile unsigned loop_head, loop_tail;
static struct loop_stats loop_stats;

int loop_add_poller(loop_fn fn, void *arg)
{
	if (!fn)
		return -EINVAL;
	if (loop_npollers == LOOP_MAX_POLLERS) {
		console_printf("loop: no room for another poller (max %d)\n", LOOP_MAX_POLLERS);
		return -ENOSPC;
	}
	loop_pollers[loop_npollers].fn = fn;
	loop_pollers[loop_npollers].arg = arg;
	loop_npollers++;
	return 0;
}

static uint64_t loop_irq_save(void)
{
	uint64_t flags;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
	return flags;
}

static void loop_irq_restore(uint64_t flags)
{
	__asm__ volatile("pushq %0; popfq" : : "r"(flags) : "memory", "cc");
}

int loop_defer(loop_fn fn, void *arg)
{
	uint64_t flags;
	int rc = 0;

	if (!fn)
		return -EINVAL;
	/* Interrupts off: a handler on this CPU must not interleave with
	 * us between the slot write and the tail update. */
	flags = loop_irq_save();
	if (loop_tail - loop_head == LOOP_DEFER_SLOTS) {
		rc = -ENOSPC;
	} else {
		loop_defer_ring[loop_tail % LOOP_DEFER_SLOTS].fn = fn;
		loop_defer_ring[loop_tail % LOOP_DEFER_SLOTS].arg = arg;
		loop_tail++;
	}
	loop_irq_restore(flags);
	return rc;
}

void loop_note_events(unsigned n)
{
	loop_stats.events += n;
}

void loop_get_stats(struct loop_stats *out)
{
	*out = loop_stats;
}

/* One pass: every poller, then the deferred work queued before this pass
 * began (work deferred by that work waits for the next pass, so a
 * self-requeueing item cannot starve the pollers). */
static bool loop_pass(void)
{
	unsigned end = loop_tail;
	bool did = false;

	for (unsigned i = 0; i < loop_npollers; i++)
		loop_pollers[i].fn(loop_pollers[i].arg);
	while (loop_head != end) {
		struct loop_work w = loop_defer_ring[loop_head % LOOP_DEFER_SLOTS];

		loop_head++;
		w.fn(w.arg);
		loop_stats.events++;
		did = true;
	}
	return did;
}

/*
 * No interrupt sources are enabled yet, so there is nothing to halt for:
 * without CONFIG_POLL the loop still spins, with PAUSE between idle passes.
 * Once NIC interrupts exist, idle passes in non-polling mode will HLT.
 */
void loop_run(void)
{
	for (;;) {
		uint64_t events_before = loop_stats.events;

		loop_stats.iterations++;
		loop_pass();
		if (loop_stats.events == events_before) {
			loop_stats.idle++;
#ifndef CONFIG_POLL
			cpu_relax();
#endif
		}
	}
}

void uc_run(void)
{
	loop_run();
}
