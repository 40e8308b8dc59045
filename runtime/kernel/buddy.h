/* buddy.h: binary buddy allocator of 4 KiB pages (no kernel dependencies: also runs in host unit tests). */
#ifndef UNICYCLE_KERNEL_BUDDY_H
#define UNICYCLE_KERNEL_BUDDY_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86_64/memlayout.h"

/* Blocks of 2^0 .. 2^(BUDDY_ORDERS-1) pages (PAGE_SIZE): 4 KiB .. 1 GiB. */
#define BUDDY_ORDERS     19
#define BUDDY_MAX_BLOCK  ((uintptr_t)PAGE_SIZE << (BUDDY_ORDERS - 1))

/* Per-page metadata byte: flags in the high bits, order in the low bits.
 * Only the first page of a block carries flags; the rest are 0. */
#define BUDDY_META_ORDER_MASK 0x1f
#define BUDDY_META_ALLOC      0x40 /* head of a block handed out by buddy_alloc_pages */
#define BUDDY_META_FREE       0x80 /* head of a free block of that order */

struct buddy_node {
	struct buddy_node *next, *prev;
};

/* Reports a misuse (double free, foreign pointer); must not return. */
typedef void (*buddy_fail_fn)(const char *what, uintptr_t addr);

struct buddy {
	uintptr_t base;      /* address of page 0; aligned to BUDDY_MAX_BLOCK */
	size_t npages;       /* pages the metadata covers */
	uint8_t *meta;       /* npages bytes */
	buddy_fail_fn fail;
	struct buddy_node free[BUDDY_ORDERS]; /* circular lists, sentinel heads */
	size_t pages_free;
	size_t pages_total;  /* pages ever added */
};

/* Bytes of metadata needed to manage [base, end): one per page of the span
 * from base rounded down to BUDDY_MAX_BLOCK. */
size_t buddy_meta_size(uintptr_t lowest, uintptr_t end);
/* meta must hold buddy_meta_size(lowest, end) bytes; no memory is free yet. */
void buddy_init(struct buddy *b, uintptr_t lowest, uintptr_t end, uint8_t *meta,
		buddy_fail_fn fail);
/* Gives [addr, addr + npages pages) to the allocator; page aligned, inside the span. */
void buddy_add(struct buddy *b, uintptr_t addr, size_t npages);
/* Exactly npages pages (unused tail of the power-of-two block goes back),
 * aligned to the largest power of two <= npages pages. 0 when out of memory. */
uintptr_t buddy_alloc_pages(struct buddy *b, size_t npages);
/* Gives back what buddy_alloc_pages returned, with the same npages. */
void buddy_free_pages(struct buddy *b, uintptr_t addr, size_t npages);
/* Walks the free lists and checks them against the metadata and counters;
 * returns 0 when consistent, -1 otherwise (for tests). */
int buddy_check(const struct buddy *b);

#endif
