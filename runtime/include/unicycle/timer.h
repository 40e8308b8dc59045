/* timer.h: one-shot timers that fire from the event loop. */
#ifndef UNICYCLE_TIMER_H
#define UNICYCLE_TIMER_H

#include <stdint.h>

/* A timer's handle; 0 is never a valid handle. Handles are not reused
 * while their timer is pending, and a stale handle is harmless. */
typedef uint64_t uc_timer_t;
typedef void (*uc_timer_fn)(void *arg);

/* Runs fn(arg) once from the event loop (uc_run) when `ns_from_now`
 * nanoseconds have passed. Returns the handle, or 0 when fn is NULL or
 * memory is out. Adding and cancelling are O(log n) in pending timers;
 * timers with equal deadlines fire in the order they were added. */
uc_timer_t uc_timer_add(uint64_t ns_from_now, uc_timer_fn fn, void *arg);

/* The same, at an absolute deadline on the uc_time_ns() clock (a deadline
 * already past fires on the next loop pass). */
uc_timer_t uc_timer_at(uint64_t deadline_ns, uc_timer_fn fn, void *arg);

/* Stops a pending timer: 0, or -ENOENT when it already fired, was
 * cancelled or never existed. Callable from a timer callback. */
int uc_timer_cancel(uc_timer_t timer);

/* Timers pending now. */
unsigned long uc_timer_pending(void);

#endif
