/* heap.c: size-class slab allocator with page-backed large blocks (malloc's core; host-testable). */
#include <stdbool.h>
#include <string.h>

#include "lib/heap.h"

#define HEAP_MAGIC_SLAB  0x534c4142u /* "SLAB" */
#define HEAP_MAGIC_LARGE 0x4c415247u /* "LARG" */
#define HEAP_BITMAP_WORDS (HEAP_SLAB_MAX_OBJS / 64)
#define HEAP_LARGE_HDR   64 /* user data of a large block starts here (or later, aligned) */

/* Object sizes, multiples of HEAP_ALIGN; about 25% apart. */
static const uint16_t heap_class_size[HEAP_NCLASSES] = {
	16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
	448, 512, 640, 768, 1024, 1280, 1536, 2048, 2720, 3264, 4096,
};

/* Free objects link through their first word (objects are HEAP_ALIGN
 * aligned, so the pointer store is aligned). Plain stores, not memcpy:
 * with -ffreestanding every memcpy is a real call. */
struct heap_slab {
	uint32_t magic;
	uint16_t cls;
	uint16_t nfree;
	uint16_t capacity;
	uint16_t first;      /* offset of object 0 */
	uint32_t stride;
	void *freelist;      /* singly linked through the first word of free objects */
	struct heap_slab *next, *prev; /* on partial[cls] when nfree > 0 */
	uint64_t used[HEAP_BITMAP_WORDS];
};

struct heap_large {
	uint32_t magic;
	uint32_t offset;     /* user pointer - block start */
	size_t npages;
	size_t size;         /* bytes asked for */
};

_Static_assert(sizeof(struct heap_large) <= HEAP_LARGE_HDR, "large header too big");
_Static_assert(HEAP_NCLASSES == sizeof(heap_class_size) / sizeof(heap_class_size[0]),
	       "class table size");

static size_t heap_align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static void heap_mark(struct heap *h, const void *p, size_t n, enum heap_mark how)
{
	if (h->pages.mark)
		h->pages.mark(h->pages.ctx, p, n, how);
}

/* With a redzone, a small object's slot is class size + redzone bytes, and
 * the size asked for is kept in the slot's last word, inside the redzone. */
static size_t *heap_small_size(const struct heap_slab *s, void *p)
{
	return (size_t *)((char *)p + s->stride - sizeof(size_t));
}

void heap_init(struct heap *h, const struct heap_pages *pages)
{
	unsigned cls = 0;

	memset(h, 0, sizeof(*h));
	h->pages = *pages;
	if (!h->pages.mark)
		h->pages.redzone = 0;
	else if (h->pages.redzone < HEAP_ALIGN)
		h->pages.redzone = HEAP_ALIGN; /* room for the size word */
	else
		h->pages.redzone = heap_align_up(h->pages.redzone, HEAP_ALIGN);
	for (size_t i = 0; i < sizeof(h->class_of); i++) {
		while (heap_class_size[cls] < i * HEAP_ALIGN)
			cls++;
		h->class_of[i] = (uint8_t)cls;
	}
}

size_t heap_class_bytes(unsigned cls)
{
	return cls < HEAP_NCLASSES ? heap_class_size[cls] : 0;
}

static void heap_account(struct heap *h, size_t add, size_t sub)
{
	h->bytes_in_use = h->bytes_in_use + add - sub;
	if (h->bytes_in_use > h->peak_bytes)
		h->peak_bytes = h->bytes_in_use;
}

static void heap_partial_push(struct heap *h, struct heap_slab *s)
{
	s->prev = NULL;
	s->next = h->partial[s->cls];
	if (s->next)
		s->next->prev = s;
	h->partial[s->cls] = s;
}

static void heap_partial_remove(struct heap *h, struct heap_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->partial[s->cls] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static struct heap_slab *heap_slab_new(struct heap *h, unsigned cls)
{
	struct heap_slab *s = h->pages.alloc(h->pages.ctx, HEAP_SLAB_PAGES);
	char *obj;

	if (!s)
		return NULL;
	if ((uintptr_t)s & (HEAP_SLAB_SIZE - 1))
		h->pages.fail("page provider returned a misaligned slab", s);
	memset(s, 0, sizeof(*s));
	s->magic = HEAP_MAGIC_SLAB;
	s->cls = (uint16_t)cls;
	s->stride = (uint32_t)(heap_class_size[cls] + h->pages.redzone);
	s->first = (uint16_t)heap_align_up(sizeof(*s), HEAP_ALIGN);
	s->capacity = (uint16_t)((HEAP_SLAB_SIZE - s->first) / s->stride);
	s->nfree = s->capacity;
	/* Thread the free list in address order. */
	obj = (char *)s + s->first;
	for (unsigned i = 0; i < s->capacity; i++) {
		void *next = i + 1 < s->capacity ? obj + s->stride : NULL;

		*(void **)obj = next;
		obj += s->stride;
	}
	s->freelist = (char *)s + s->first;
	heap_mark(h, s, HEAP_SLAB_SIZE, HEAP_MARK_REDZONE);
	h->slabs++;
	heap_partial_push(h, s);
	return s;
}

static void *heap_alloc_small(struct heap *h, size_t size)
{
	unsigned cls = h->class_of[(size + HEAP_ALIGN - 1) / HEAP_ALIGN];
	struct heap_slab *s = h->partial[cls];
	void *p;
	unsigned idx;

	if (!s && !(s = heap_slab_new(h, cls)))
		return NULL;
	p = s->freelist;
	s->freelist = *(void **)p;
	idx = (unsigned)(((char *)p - (char *)s - s->first) / s->stride);
	s->used[idx / 64] |= (uint64_t)1 << (idx % 64);
	if (--s->nfree == 0)
		heap_partial_remove(h, s);
	heap_account(h, s->stride, 0);
	h->class_objs[s->cls]++;
	if (h->pages.mark) {
		heap_mark(h, p, s->stride, HEAP_MARK_REDZONE);
		*heap_small_size(s, p) = size;
		heap_mark(h, p, size, HEAP_MARK_USABLE);
	}
	return p;
}

static void *heap_alloc_large(struct heap *h, size_t size, size_t alignment)
{
	size_t offset = heap_align_up(HEAP_LARGE_HDR, alignment);
	size_t npages;
	struct heap_large *l;

	if (size > SIZE_MAX - offset - HEAP_SLAB_SIZE)
		return NULL;
	npages = heap_align_up(offset + size + h->pages.redzone, PAGE_SIZE) / PAGE_SIZE;
	if (npages < HEAP_SLAB_PAGES)
		npages = HEAP_SLAB_PAGES; /* keeps the block HEAP_SLAB_SIZE aligned */
	l = h->pages.alloc(h->pages.ctx, npages);
	if (!l)
		return NULL;
	if ((uintptr_t)l & (HEAP_SLAB_SIZE - 1))
		h->pages.fail("page provider returned a misaligned block", l);
	l->magic = HEAP_MAGIC_LARGE;
	l->offset = (uint32_t)offset;
	l->npages = npages;
	l->size = size;
	h->large_blocks++;
	heap_account(h, size, 0);
	heap_mark(h, l, npages * PAGE_SIZE, HEAP_MARK_REDZONE);
	heap_mark(h, (char *)l + offset, size, HEAP_MARK_USABLE);
	return (char *)l + offset;
}

void *heap_alloc(struct heap *h, size_t size)
{
	if (size == 0)
		size = 1;
	if (size <= HEAP_MAX_SMALL)
		return heap_alloc_small(h, size);
	return heap_alloc_large(h, size, HEAP_ALIGN);
}

void *heap_aligned_alloc(struct heap *h, size_t alignment, size_t size)
{
	if (alignment == 0 || (alignment & (alignment - 1)) || alignment > HEAP_MAX_ALIGN)
		return NULL;
	if (alignment <= HEAP_ALIGN)
		return heap_alloc(h, size);
	if (size == 0)
		size = 1; /* as heap_alloc: a unique block with one usable byte */
	/* A power-of-two class that is a multiple of the alignment keeps its
	 * objects aligned only if the slab's first object is: it is not in
	 * general, so aligned requests take their own pages. */
	return heap_alloc_large(h, size, alignment);
}

/* Finds and validates the header of the block holding p. */
static void *heap_header(struct heap *h, const void *p)
{
	void *hdr = (void *)((uintptr_t)p & ~(uintptr_t)(HEAP_SLAB_SIZE - 1));
	uint32_t magic = *(const uint32_t *)hdr;

	if (magic != HEAP_MAGIC_SLAB && magic != HEAP_MAGIC_LARGE)
		h->pages.fail("pointer not from the heap", p);
	return hdr;
}

static unsigned heap_slab_index(struct heap *h, struct heap_slab *s, const void *p)
{
	size_t off = (size_t)((const char *)p - (const char *)s);

	if (off < s->first || (off - s->first) % s->stride ||
	    (off - s->first) / s->stride >= s->capacity)
		h->pages.fail("pointer into the middle of a heap object", p);
	return (unsigned)((off - s->first) / s->stride);
}

void heap_free(struct heap *h, void *p)
{
	void *hdr;

	if (!p)
		return;
	hdr = heap_header(h, p);
	if (*(uint32_t *)hdr == HEAP_MAGIC_SLAB) {
		struct heap_slab *s = hdr;
		unsigned idx = heap_slab_index(h, s, p);
		uint64_t bit = (uint64_t)1 << (idx % 64);

		if (!(s->used[idx / 64] & bit))
			h->pages.fail("double free", p);
		s->used[idx / 64] &= ~bit;
		heap_mark(h, p, s->stride, HEAP_MARK_FREED);
		*(void **)p = s->freelist;
		s->freelist = p;
		heap_account(h, 0, s->stride);
		h->class_objs[s->cls]--;
		if (s->nfree++ == 0)
			heap_partial_push(h, s);
		/* An empty slab goes back unless it is the class's only one
		 * (keeps a steady alloc/free pair from churning pages). */
		if (s->nfree == s->capacity &&
		    (h->partial[s->cls] != s || s->next != NULL)) {
			heap_partial_remove(h, s);
			s->magic = 0;
			h->slabs--;
			h->pages.free(h->pages.ctx, s, HEAP_SLAB_PAGES);
		}
	} else {
		struct heap_large *l = hdr;

		if ((const char *)p != (const char *)l + l->offset)
			h->pages.fail("pointer into the middle of a large block", p);
		heap_account(h, 0, l->size);
		heap_mark(h, l, l->npages * PAGE_SIZE, HEAP_MARK_FREED);
		l->magic = 0;
		h->large_blocks--;
		h->pages.free(h->pages.ctx, l, l->npages);
	}
}

size_t heap_usable_size(struct heap *h, const void *p)
{
	void *hdr;

	if (!p)
		return 0;
	hdr = heap_header(h, p);
	if (*(uint32_t *)hdr == HEAP_MAGIC_SLAB) {
		struct heap_slab *s = hdr;

		(void)heap_slab_index(h, s, p);
		return h->pages.mark ? *heap_small_size(s, (void *)p) : s->stride;
	}
	return ((struct heap_large *)hdr)->size;
}

void *heap_realloc(struct heap *h, void *p, size_t size)
{
	size_t have;
	void *q;

	if (!p)
		return heap_alloc(h, size);
	if (size == 0) {
		heap_free(h, p);
		return NULL;
	}
	have = heap_usable_size(h, p);
	/* Shrinking within a slab object, or within a large block's
	 * request: keep it in place (not when checked: moving every time
	 * lets a stale pointer to the old block be caught). */
	if (!h->pages.mark && size <= have && (size > HEAP_MAX_SMALL || have <= HEAP_MAX_SMALL) &&
	    size >= have / 2)
		return p;
	q = heap_alloc(h, size);
	if (!q)
		return NULL;
	memcpy(q, p, size < have ? size : have);
	heap_free(h, p);
	return q;
}
