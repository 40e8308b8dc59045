/* stats.h: runtime statistics for apps: memory and event loop. */
#ifndef UNICYCLE_STATS_H
#define UNICYCLE_STATS_H

#include <stddef.h>
#include <stdint.h>

#define UC_MEM_CLASSES 25

struct uc_mem_stats {
	size_t bytes_in_use;      /* malloc'd, rounded to size classes, not yet freed */
	size_t peak_bytes;        /* highest bytes_in_use so far */
	size_t pages_free;        /* 4 KiB pages left in the page allocator */
	size_t pages_total;
	size_t pages_zeroed;      /* pages zeroed once, when first handed out since boot */
	size_t large_blocks;      /* allocations above 4 KiB (own pages) */
	unsigned nclasses;
	struct {
		size_t size;          /* object size of the class */
		size_t in_use;        /* objects allocated */
	} classes[UC_MEM_CLASSES];
};

struct uc_loop_stats {
	uint64_t iterations;      /* passes of the event loop */
	uint64_t events;          /* deferred work, timers, interrupts and poller events handled */
	uint64_t idle_passes;     /* passes in which nothing happened */
	uint64_t idle_ns;         /* time halted waiting for interrupts (0 with CONFIG_POLL) */
};

void uc_mem_stats(struct uc_mem_stats *out);
void uc_loop_stats(struct uc_loop_stats *out);

#endif
