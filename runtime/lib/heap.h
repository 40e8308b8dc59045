/* heap.h: the general-purpose allocator behind malloc: size-class slabs plus page-backed large blocks. */
#ifndef UNICYCLE_LIB_HEAP_H
#define UNICYCLE_LIB_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86_64/memlayout.h"

/* Slabs are HEAP_SLAB_PAGES pages, aligned to their size: the header of the
 * slab (or large block) holding any pointer is found by rounding it down. */
#define HEAP_SLAB_PAGES   4
#define HEAP_SLAB_SIZE    (PAGE_SIZE * HEAP_SLAB_PAGES)
#define HEAP_ALIGN        16   /* malloc's guarantee (alignof(max_align_t)) */
#define HEAP_MAX_SMALL    4096 /* larger requests get their own pages */
#define HEAP_MAX_ALIGN    PAGE_SIZE /* largest aligned_alloc alignment */
#define HEAP_NCLASSES     25
#define HEAP_SLAB_MAX_OBJS (HEAP_SLAB_SIZE / HEAP_ALIGN)

/* What heap_pages.mark says about [p, p + n). p is HEAP_ALIGN aligned; n is
 * a multiple of 8 except for HEAP_MARK_USABLE, whose last bytes may cover
 * part of an 8-byte granule. */
enum heap_mark {
	HEAP_MARK_USABLE,   /* an object's bytes, as asked for */
	HEAP_MARK_REDZONE,  /* headers, padding, unallocated slab slots */
	HEAP_MARK_FREED,    /* a freed object */
};

/* Where pages come from. alloc must return blocks aligned to their size
 * rounded up to a power of two (as a buddy allocator does), and at least
 * HEAP_SLAB_SIZE aligned for npages >= HEAP_SLAB_PAGES. */
struct heap_pages {
	void *(*alloc)(void *ctx, size_t npages);
	void (*free)(void *ctx, void *p, size_t npages);
	/* Misuse (double free, foreign pointer): must not return. */
	void (*fail)(const char *what, const void *p);
	void *ctx;
	/* Optional (NULL: none): told which bytes of the heap's pages user code
	 * may touch, for a checker such as KASAN (runtime/sanitize/kasan.c).
	 * With it, every object is followed by at least `redzone` bytes user
	 * code must not touch, realloc always moves, and the heap's own
	 * metadata lives in bytes marked HEAP_MARK_REDZONE. */
	void (*mark)(void *ctx, const void *p, size_t n, enum heap_mark how);
	size_t redzone;       /* multiple of HEAP_ALIGN; 0 without `mark` */
};

struct heap_slab;

struct heap {
	struct heap_pages pages;
	struct heap_slab *partial[HEAP_NCLASSES]; /* slabs with free objects */
	size_t bytes_in_use;  /* live allocations, rounded to their size class */
	size_t peak_bytes;
	size_t slabs, large_blocks;
	size_t class_objs[HEAP_NCLASSES]; /* objects in use per size class */
	uint8_t class_of[HEAP_MAX_SMALL / HEAP_ALIGN + 1]; /* (size+15)/16 -> class */
};

void heap_init(struct heap *h, const struct heap_pages *pages);
/* malloc semantics; size 0 gives a unique minimum-size block. NULL when out. */
void *heap_alloc(struct heap *h, size_t size);
/* alignment: power of two up to HEAP_MAX_ALIGN, else NULL. */
void *heap_aligned_alloc(struct heap *h, size_t alignment, size_t size);
void *heap_realloc(struct heap *h, void *p, size_t size);
void heap_free(struct heap *h, void *p);
/* Object size of size class `cls` (0 past the last class). */
size_t heap_class_bytes(unsigned cls);
/* Bytes usable at p (>= the size asked for; exactly it with a redzone). */
size_t heap_usable_size(struct heap *h, const void *p);

#endif
