/* cpu.h: the CPUs an app runs on (CONFIG_SMP): which one am I, how many, run work on another. */
#ifndef UNICYCLE_CPU_H
#define UNICYCLE_CPU_H

/*
 * CPU 0 is the one app_main() runs on; with CONFIG_SMP the others (the
 * MADT's enabled CPUs, at most CONFIG_NR_CPUS) are numbered 1.. in the
 * order they came online, each running its own event loop. Timers, pollers
 * and device interrupts belong to CPU 0's loop; other CPUs run the work
 * uc_cpu_run() hands them. Without CONFIG_SMP there is one CPU, number 0.
 */

/* The number of the calling CPU, 0 .. uc_cpu_count() - 1. */
unsigned uc_cpu_id(void);

/* CPUs online. */
unsigned uc_cpu_count(void);

/* Queues fn(arg) to run once from CPU `cpu`'s event loop (FIFO per CPU;
 * the calling CPU may name itself) and wakes that CPU. Returns 0, -EINVAL
 * (no such CPU, or fn NULL) or -ENOSPC (that CPU's queue is full: retry
 * later). */
int uc_cpu_run(unsigned cpu, void (*fn)(void *arg), void *arg);

#endif
