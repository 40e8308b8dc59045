/* loop.c: the run-to-completion event loop: pollers every pass, deferred work in FIFO order. */
#include <errno.h>

#include "kernel/kernel.h"
#include <unicycle/stats.h>
#include "arch/x86_64/io.h"
#include "arch/x86_64/apic.h"

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

/* One pass: pending interrupts' handlers, due timers, every poller, then
 * the deferred work queued before this pass began (work deferred by that
 * work waits for the next pass, so a self-requeueing item cannot starve the
 * pollers). */
static void loop_pass(void)
{
	unsigned end = loop_tail;
	unsigned n;

	n = irq_run_pending();
	n += timer_run(time_ns());
	loop_stats.events += n;
	for (unsigned i = 0; i < loop_npollers; i++)
		loop_pollers[i].fn(loop_pollers[i].arg);
	while (loop_head != end) {
		struct loop_work w = loop_defer_ring[loop_head % LOOP_DEFER_SLOTS];

		loop_head++;
		w.fn(w.arg);
		loop_stats.events++;
	}
}

/* The timer interrupt's work is done by loop_pass (timer_run); the
 * interrupt only has to wake the CPU. */
static void loop_timer_irq(void *arg)
{
	(void)arg;
}

#ifndef CONFIG_POLL
/*
 * Nothing to do: arm the one-shot timer for the next deadline and halt
 * until an interrupt. The check runs with interrupts off and "sti; hlt"
 * are back to back: STI's interrupt shadow (SDM Vol. 2B, STI) holds any
 * interrupt until HLT has started, so one that became pending after the
 * check wakes the HLT instead of being missed.
 */
static void loop_idle(void)
{
	uint64_t t0, next;

	cpu_cli();
	if (irq_any_pending() || loop_head != loop_tail) {
		__asm__ volatile("sti" ::: "memory");
		return;
	}
	next = timer_next();
	t0 = time_ns();
	if (next <= t0) {
		__asm__ volatile("sti" ::: "memory");
		return;
	}
	lapic_timer_arm(next == UINT64_MAX ? 0 : next);
	__asm__ volatile("sti; hlt" ::: "memory");
	loop_stats.idle_ns += time_ns() - t0;
}
#endif

void loop_run(void)
{
	irq_set_handler(IRQ_VEC_TIMER, loop_timer_irq, NULL);
	__asm__ volatile("sti" ::: "memory");
	for (;;) {
		uint64_t events_before = loop_stats.events;

		loop_stats.iterations++;
		loop_pass();
		if (loop_stats.events == events_before) {
			loop_stats.idle++;
#ifdef CONFIG_POLL
			cpu_relax();
#else
			loop_idle();
#endif
		}
	}
}
void uc_run(void)
{
	loop_run();
}

void uc_loop_stats(struct uc_loop_stats *out)
{
	out->iterations = loop_stats.iterations;
	out->events = loop_stats.events;
	out->idle_passes = loop_stats.idle;
	out->idle_ns = loop_stats.idle_ns;
}
