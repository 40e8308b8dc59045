/* buddy.c: binary buddy allocator of 4 KiB pages over physical ranges. */
#include <stdbool.h>

#include "kernel/buddy.h"

static size_t buddy_index(const struct buddy *b, uintptr_t addr)
{
	return (addr - b->base) >> PAGE_SHIFT;
}

static uintptr_t buddy_addr(const struct buddy *b, size_t idx)
{
	return b->base + (idx << PAGE_SHIFT);
}

static struct buddy_node *buddy_node(const struct buddy *b, size_t idx)
{
	return (struct buddy_node *)buddy_addr(b, idx);
}

static void buddy_list_insert(struct buddy_node *head, struct buddy_node *n)
{
	n->next = head->next;
	n->prev = head;
	head->next->prev = n;
	head->next = n;
}

static void buddy_list_remove(struct buddy_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
}

size_t buddy_meta_size(uintptr_t lowest, uintptr_t end)
{
	uintptr_t base = lowest & ~(BUDDY_MAX_BLOCK - 1);

	return (end - base + PAGE_SIZE - 1) >> PAGE_SHIFT;
}

void buddy_init(struct buddy *b, uintptr_t lowest, uintptr_t end, uint8_t *meta,
		buddy_fail_fn fail)
{
	b->base = lowest & ~(BUDDY_MAX_BLOCK - 1);
	b->npages = buddy_meta_size(lowest, end);
	b->meta = meta;
	b->fail = fail;
	b->pages_free = 0;
	b->pages_total = 0;
	for (size_t i = 0; i < b->npages; i++)
		meta[i] = 0;
	for (int k = 0; k < BUDDY_ORDERS; k++)
		b->free[k].next = b->free[k].prev = &b->free[k];
}

/* Frees one naturally aligned block, merging with free buddies upwards. */
static void buddy_free_block(struct buddy *b, size_t idx, unsigned order)
{
	if (b->meta[idx] & BUDDY_META_FREE)
		b->fail("double free of pages", buddy_addr(b, idx));
	b->pages_free += (size_t)1 << order;
	while (order < BUDDY_ORDERS - 1) {
		size_t buddy = idx ^ ((size_t)1 << order);

		if (buddy >= b->npages || b->meta[buddy] != (BUDDY_META_FREE | order))
			break;
		buddy_list_remove(buddy_node(b, buddy));
		b->meta[buddy] = 0;
		idx &= ~((size_t)1 << order);
		order++;
	}
	b->meta[idx] = (uint8_t)(BUDDY_META_FREE | order);
	buddy_list_insert(&b->free[order], buddy_node(b, idx));
}

/* Frees [idx, idx + n) as the largest aligned blocks that fit. */
static void buddy_free_range(struct buddy *b, size_t idx, size_t n)
{
	while (n > 0) {
		unsigned order = 0;

		while (order < BUDDY_ORDERS - 1 &&
		       (idx & (((size_t)2 << order) - 1)) == 0 &&
		       ((size_t)2 << order) <= n)
			order++;
		buddy_free_block(b, idx, order);
		idx += (size_t)1 << order;
		n -= (size_t)1 << order;
	}
}

void buddy_add(struct buddy *b, uintptr_t addr, size_t npages)
{
	size_t idx;

	if (npages == 0)
		return;
	if (addr < b->base || (addr & (PAGE_SIZE - 1)) ||
	    buddy_index(b, addr) + npages > b->npages)
		b->fail("range outside the allocator's span", addr);
	idx = buddy_index(b, addr);
	b->pages_total += npages;
	buddy_free_range(b, idx, npages);
}

static unsigned buddy_order_for(size_t npages)
{
	unsigned order = 0;

	while (((size_t)1 << order) < npages)
		order++;
	return order;
}

uintptr_t buddy_alloc_pages(struct buddy *b, size_t npages)
{
	unsigned want, order;
	struct buddy_node *n;
	size_t idx;

	if (npages == 0)
		return 0;
	want = buddy_order_for(npages);
	if (want >= BUDDY_ORDERS)
		return 0;
	for (order = want; order < BUDDY_ORDERS; order++)
		if (b->free[order].next != &b->free[order])
			break;
	if (order == BUDDY_ORDERS)
		return 0;

	n = b->free[order].next;
	buddy_list_remove(n);
	idx = buddy_index(b, (uintptr_t)n);
	b->meta[idx] = 0;
	b->pages_free -= (size_t)1 << order;
	/* Split down: the upper halves go back on the lists. */
	while (order > want) {
		size_t upper;

		order--;
		upper = idx + ((size_t)1 << order);
		b->meta[upper] = (uint8_t)(BUDDY_META_FREE | order);
		buddy_list_insert(&b->free[order], buddy_node(b, upper));
		b->pages_free += (size_t)1 << order;
	}
	/* Return the unused tail of the block right away. */
	if (npages < ((size_t)1 << want))
		buddy_free_range(b, idx + npages, ((size_t)1 << want) - npages);
	b->meta[idx] = (uint8_t)(BUDDY_META_ALLOC | want);
	return buddy_addr(b, idx);
}

void buddy_free_pages(struct buddy *b, uintptr_t addr, size_t npages)
{
	size_t idx;

	if (addr < b->base || (addr & (PAGE_SIZE - 1)) ||
	    buddy_index(b, addr) >= b->npages)
		b->fail("free of pages the allocator does not own", addr);
	idx = buddy_index(b, addr);
	if (!(b->meta[idx] & BUDDY_META_ALLOC))
		b->fail("free of pages that are not allocated", addr);
	if ((b->meta[idx] & BUDDY_META_ORDER_MASK) != buddy_order_for(npages))
		b->fail("free of pages with a different count than allocated", addr);
	b->meta[idx] = 0;
	buddy_free_range(b, idx, npages);
}

int buddy_check(const struct buddy *b)
{
	size_t counted = 0;

	for (unsigned k = 0; k < BUDDY_ORDERS; k++) {
		for (const struct buddy_node *n = b->free[k].next; n != &b->free[k]; n = n->next) {
			size_t idx = buddy_index(b, (uintptr_t)n);

			if (n->next->prev != n)
				return -1;
			if (idx >= b->npages || b->meta[idx] != (BUDDY_META_FREE | k))
				return -1;
			if (idx & (((size_t)1 << k) - 1)) /* natural alignment */
				return -1;
			counted += (size_t)1 << k;
		}
	}
	return counted == b->pages_free ? 0 : -1;
}
