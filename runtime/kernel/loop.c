/* loop.c: the run-to-completion event loop, one per CPU: pollers every pass (CPU 0), deferred work in FIFO order. */
#include <errno.h>

#include "kernel/kernel.h"
#include <unicycle/atomic.h>
#include <unicycle/stats.h>
#include "arch/x86_64/io.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/lapic.h"

#define LOOP_MAX_POLLERS 16
#define LOOP_DEFER_SLOTS 256 /* power of two */

struct loop_work {
	loop_fn fn;
	void *arg;
};

struct loop_stats {
	uint64_t iterations; /* passes over pollers + deferred work */
	uint64_t events;     /* deferred items run + events pollers reported */
	uint64_t idle;       /* passes in which nothing happened */
	uint64_t idle_ns;    /* time spent halted (CONFIG_POLL off) */
};

static struct loop_work loop_pollers[LOOP_MAX_POLLERS];
static unsigned loop_npollers;

/*
 * Each CPU's loop: its deferred-work ring and counters. Producers (any
 * CPU, or this CPU with interrupts off) take `lock` and advance tail; only
 * the owning CPU advances head. Pollers, timers and interrupt handlers
 * belong to CPU 0's loop.
 */
struct loop_cpu {
	uc_spinlock_t lock;
	volatile unsigned head, tail;
	struct loop_work ring[LOOP_DEFER_SLOTS];
	struct loop_stats stats;
} __attribute__((aligned(64)));

static struct loop_cpu loop_cpus[CONFIG_NR_CPUS];

static struct loop_cpu *loop_self(void)
{
	return &loop_cpus[smp_cpu_id()];
}

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

int loop_defer_on(unsigned cpu, loop_fn fn, void *arg)
{
	struct loop_cpu *lc;
	uint64_t flags;
	unsigned tail;
	int rc = 0;

	if (!fn || cpu >= smp_cpu_count())
		return -EINVAL;
	lc = &loop_cpus[cpu];
	/* Interrupts off: a handler on this CPU must not interleave with
	 * us between the slot write and the tail update (nor spin on the
	 * lock we hold). */
	flags = irq_save();
	uc_spin_lock(&lc->lock);
	tail = lc->tail;
	if (tail - uc_atomic_load(&lc->head) == LOOP_DEFER_SLOTS) {
		rc = -ENOSPC;
	} else {
		lc->ring[tail % LOOP_DEFER_SLOTS].fn = fn;
		lc->ring[tail % LOOP_DEFER_SLOTS].arg = arg;
		uc_atomic_store(&lc->tail, tail + 1); /* publishes the slot */
	}
	uc_spin_unlock(&lc->lock);
	irq_restore(flags);
	if (rc == 0)
		smp_wake(cpu);
	return rc;
}

int loop_defer(loop_fn fn, void *arg)
{
	return loop_defer_on(smp_cpu_id(), fn, arg);
}

void loop_note_events(unsigned n)
{
	loop_self()->stats.events += n;
}

/* One pass: pending interrupts' handlers, due timers, every poller, then
 * the deferred work queued before this pass began (work deferred by that
 * work waits for the next pass, so a self-requeueing item cannot starve the
 * pollers). */
static void loop_pass(struct loop_cpu *lc, bool cpu0)
{
	unsigned end = uc_atomic_load(&lc->tail);
	unsigned n;

	if (cpu0) {
		uint64_t now;

		n = irq_run_pending();
		now = time_ns();
		watchdog_beat(now);
		n += timer_run(now);
		lc->stats.events += n;
		for (unsigned i = 0; i < loop_npollers; i++)
			loop_pollers[i].fn(loop_pollers[i].arg);
	}
	while (lc->head != end) {
		struct loop_work w = lc->ring[lc->head % LOOP_DEFER_SLOTS];

		uc_atomic_store(&lc->head, lc->head + 1); /* frees the slot */
		w.fn(w.arg);
		lc->stats.events++;
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
 * until an interrupt. The check runs with interrupts off and
 * irq_enable_and_halt() leaves no window before the HLT, so an interrupt
 * that became pending after the check wakes the HLT instead of being missed.
 */
static void loop_idle(struct loop_cpu *lc, bool cpu0)
{
	uint64_t t0, next = UINT64_MAX;

	irq_disable();
	if ((cpu0 && irq_any_pending()) || lc->head != uc_atomic_load(&lc->tail)) {
		irq_enable();
		return;
	}
	/* Other CPUs have no timers: only loop_defer_on's IPI wakes them. */
	if (cpu0)
		next = timer_next();
	t0 = time_ns();
	if (next <= t0) {
		irq_enable();
		return;
	}
	if (cpu0)
		lapic_timer_arm(watchdog_idle_deadline(next == UINT64_MAX ? 0 : next));
	irq_enable_and_halt();
	lc->stats.idle_ns += time_ns() - t0;
}
#endif

void loop_run(void)
{
	struct loop_cpu *lc = loop_self();
	bool cpu0 = smp_cpu_id() == 0;

	if (cpu0) {
		irq_set_handler(IRQ_VEC_TIMER, loop_timer_irq, NULL);
		watchdog_start();
	}
	irq_enable();
	for (;;) {
		uint64_t events_before = lc->stats.events;

		lc->stats.iterations++;
		loop_pass(lc, cpu0);
		if (lc->stats.events == events_before) {
			lc->stats.idle++;
#ifdef CONFIG_POLL
			cpu_relax();
#else
			loop_idle(lc, cpu0);
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
	const struct loop_stats *st = &loop_self()->stats;

	out->iterations = st->iterations;
	out->events = st->events;
	out->idle_passes = st->idle;
	out->idle_ns = st->idle_ns;
}
