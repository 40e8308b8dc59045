/* mem.c: physical memory: the buddy page allocator over the boot info's RAM, malloc & co., MMIO mappings. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include <unicycle/atomic.h>
#include <unicycle/stats.h>
#include "kernel/buddy.h"
#include "lib/heap.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/paging.h"
#include "sanitize/kasan.h"

/* One lock over the heap and the buddy under it (the heap's page
 * callbacks run with it held). Nothing allocates in interrupt context, so
 * interrupts stay on. With CONFIG_SMP off it compiles to nothing. */
static uc_spinlock_t mem_lock = UC_SPINLOCK_INIT;
static struct buddy mem_buddy;
static struct heap mem_heap;

/*
 * Every page is zeroed once, the first time the buddy hands it out (to the
 * heap or to mem_alloc_pages), and never again: bit i of mem_unzeroed is set
 * while page i of the buddy's span has not been zeroed since boot.
 *
 * Why: the RAM we get held the firmware's code until ExitBootServices (OVMF's
 * boot-services code and the drivers and loaders it ran). QEMU's TCG keeps
 * the blocks it translated from such a page and marks the page as holding
 * code, so every later store into it takes the slow path that looks for
 * translations to throw away (self-modifying code); the page becomes a
 * plain page again only once stores have covered every translated block on
 * it. A heap slab on such a page that is written only in part (a calloc'd
 * connection, byte by byte under `rep stosb`) stays slow for good: measured
 * with QEMU 7.2's memory_notdirty_write_access trace, 1,634 slow stores per
 * HTTP request on one slab page, and whether the per-connection objects land
 * on such a page differs from boot to boot (ab -c 1: 331 to 2,621 req/s).
 * Zeroing the whole page once drops those translations at the first take.
 * On hardware it also means a fresh page never shows what the firmware left.
 * Zeroing pages when first taken rather than all RAM at boot keeps the boot
 * cheap: http-hello takes a few hundred pages, not the 500 MiB it manages.
 */
static uint64_t *mem_unzeroed;
static size_t mem_pages_zeroed;

/* Clears the unzeroed bits of [p, p + npages pages); zeroes those pages
 * unless the caller zeroes them all itself. Caller holds mem_lock. */
static void mem_take_pages(void *p, size_t npages, bool caller_zeroes)
{
	size_t first = ((uintptr_t)p - mem_buddy.base) >> PAGE_SHIFT;

	for (size_t i = first; i < first + npages; i++) {
		uint64_t bit = 1ULL << (i % 64);

		if (!(mem_unzeroed[i / 64] & bit))
			continue;
		mem_unzeroed[i / 64] &= ~bit;
		mem_pages_zeroed++;
		if (!caller_zeroes)
			memset((uint8_t *)mem_buddy.base + i * PAGE_SIZE, 0, PAGE_SIZE);
	}
}

/* Free pages are marked so for KASAN (a no-op without it) while they are the buddy's. */
static void mem_give(uint64_t base, size_t npages)
{
	buddy_add(&mem_buddy, base, npages);
	kasan_poison((void *)(uintptr_t)base, npages * PAGE_SIZE, KASAN_PAGE_FREE);
}

/* Adds [base, end) to the buddy, minus the metadata block [hole_lo, hole_hi). */
static void mem_add_range(uint64_t base, uint64_t end, uint64_t hole_lo, uint64_t hole_hi)
{
	if (hole_lo >= end || hole_hi <= base) {
		mem_give(base, (end - base) / PAGE_SIZE);
		return;
	}
	if (hole_lo > base)
		mem_give(base, (hole_lo - base) / PAGE_SIZE);
	if (hole_hi < end)
		mem_give(hole_hi, (end - hole_hi) / PAGE_SIZE);
}

static void mem_buddy_fail(const char *what, uintptr_t addr)
{
	panic("page allocator: %s at %#lx", what, (unsigned long)addr);
}

static void *mem_heap_pages(void *ctx, size_t npages)
{
	void *p;

	(void)ctx;
	p = (void *)buddy_alloc_pages(&mem_buddy, npages);
	/* Usable until the heap marks them: it memsets its headers first. */
	if (p) {
		kasan_unpoison(p, npages * PAGE_SIZE);
		mem_take_pages(p, npages, false);
	}
	return p;
}

static void mem_heap_free_pages(void *ctx, void *p, size_t npages)
{
	(void)ctx;
	kasan_poison(p, npages * PAGE_SIZE, KASAN_PAGE_FREE);
	buddy_free_pages(&mem_buddy, (uintptr_t)p, npages);
}

#ifdef CONFIG_KASAN
/* The heap's view of its pages, as KASAN's shadow. */
static void mem_heap_mark(void *ctx, const void *p, size_t n, enum heap_mark how)
{
	(void)ctx;
	if (how == HEAP_MARK_USABLE)
		kasan_unpoison(p, n);
	else
		kasan_poison(p, n, how == HEAP_MARK_FREED ? KASAN_HEAP_FREED : KASAN_HEAP_REDZONE);
}

/* KASAN's shadow covers RAM and the image, from address 0 (see sanitize/kasan.c). */
static uint64_t mem_shadow_end(uint64_t ram_end)
{
	uint64_t image_end = bootinfo.image_base + bootinfo.image_size;

	return image_end > ram_end ? image_end : ram_end;
}
#endif

static void mem_heap_fail(const char *what, const void *p)
{
	panic("malloc: %s at %p", what, p);
}

void mem_setup(void)
{
	uint64_t lowest, end, meta_size, meta_base, shadow_size = 0, bitmap_size;
	struct heap_pages pages = {
		.alloc = mem_heap_pages,
		.free = mem_heap_free_pages,
		.fail = mem_heap_fail,
		.ctx = NULL,
#ifdef CONFIG_KASAN
		.mark = mem_heap_mark,
		.redzone = KASAN_HEAP_REDZONE_BYTES,
#endif
	};

	if (bootinfo.nmem == 0)
		panic("no usable RAM in the boot info");
	/* Off the firmware's page tables first: they write-protect pages
	 * that are ours now, and they live in RAM we are about to hand out. */
	paging_init();

	lowest = bootinfo.mem[0].base;
	end = bootinfo.mem[bootinfo.nmem - 1].base + bootinfo.mem[bootinfo.nmem - 1].size;
	meta_size = (buddy_meta_size(lowest, end) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	/* The unzeroed bitmap after the buddy's bytes: one bit per page of its span. */
	bitmap_size = ((buddy_meta_size(lowest, end) + 63) / 64 * 8 + PAGE_SIZE - 1) &
		      ~(PAGE_SIZE - 1);
	meta_size += bitmap_size;
#ifdef CONFIG_KASAN
	/* KASAN's shadow right after the metadata, in the same hole. */
	shadow_size = (kasan_shadow_bytes(mem_shadow_end(end)) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
#endif
	/* The metadata goes at the top of the first range big enough. */
	meta_base = 0;
	for (size_t i = 0; i < bootinfo.nmem && !meta_base; i++)
		if (bootinfo.mem[i].size >= meta_size + shadow_size)
			meta_base = bootinfo.mem[i].base + bootinfo.mem[i].size - meta_size -
				    shadow_size;
	if (!meta_base)
		panic("no room for %lu bytes of page metadata", (unsigned long)(meta_size + shadow_size));

	buddy_init(&mem_buddy, lowest, end, (uint8_t *)(uintptr_t)meta_base, mem_buddy_fail);
	mem_unzeroed = (uint64_t *)(uintptr_t)(meta_base + meta_size - bitmap_size);
	for (size_t i = 0; i < bitmap_size / 8; i++)
		mem_unzeroed[i] = ~0ULL;
#ifdef CONFIG_KASAN
	kasan_init((void *)(uintptr_t)(meta_base + meta_size), mem_shadow_end(end));
#endif
	for (size_t i = 0; i < bootinfo.nmem; i++)
		mem_add_range(bootinfo.mem[i].base, bootinfo.mem[i].base + bootinfo.mem[i].size,
			      meta_base, meta_base + meta_size + shadow_size);
	heap_init(&mem_heap, &pages);
	console_printf("unicycle: memory: %lu MiB in the page allocator, %lu KiB page metadata\n",
		       (unsigned long)(mem_buddy.pages_free * PAGE_SIZE >> 20),
		       (unsigned long)(meta_size >> 10));
}

void *mem_alloc_pages(size_t npages)
{
	void *p;

	uc_spin_lock(&mem_lock);
	p = (void *)buddy_alloc_pages(&mem_buddy, npages);
	if (p) {
		kasan_unpoison(p, npages * PAGE_SIZE);
		mem_take_pages(p, npages, true);
	}
	uc_spin_unlock(&mem_lock);

	if (p)
		memset(p, 0, npages * PAGE_SIZE);
	return p;
}

void mem_free_pages(void *p, size_t npages)
{
	if (!p)
		return;
	uc_spin_lock(&mem_lock);
	kasan_poison(p, npages * PAGE_SIZE, KASAN_PAGE_FREE);
	buddy_free_pages(&mem_buddy, (uintptr_t)p, npages);
	uc_spin_unlock(&mem_lock);
}

/*
 * Device memory is reached through the identity map paging_init() built:
 * every 2 MiB / 1 GiB region below 512 GiB that holds no RAM is mapped
 * uncached, so the physical address is usable as is; above 512 GiB the
 * region is mapped (uncached) on first use. A BAR sharing a
 * 2 MiB region with RAM would be cached: none does on PC layouts, where
 * MMIO windows are at least 2 MiB aligned.
 */
volatile void *mem_map_mmio(uint64_t phys, size_t size)
{
	if (size == 0)
		size = 1;
	if (phys + size < phys)
		panic("MMIO %#lx+%#lx wraps around", (unsigned long)phys, (unsigned long)size);
	if (phys + size > PAGE_SIZE_512G)
		paging_map_mmio(phys, size);
	return (volatile void *)(uintptr_t)phys;
}

void mem_get_stats(struct mem_stats *out)
{
	uc_spin_lock(&mem_lock);
	out->bytes_in_use = mem_heap.bytes_in_use;
	out->peak_bytes = mem_heap.peak_bytes;
	out->pages_free = mem_buddy.pages_free;
	out->pages_total = mem_buddy.pages_total;
	out->pages_zeroed = mem_pages_zeroed;
	uc_spin_unlock(&mem_lock);
}

/* <stdlib.h> allocation functions (C11 7.22.3). */

void *malloc(size_t size)
{
	void *p;

	uc_spin_lock(&mem_lock);
	p = heap_alloc(&mem_heap, size);
	uc_spin_unlock(&mem_lock);

	if (!p)
		errno = ENOMEM;
	return p;
}

void *calloc(size_t nmemb, size_t size)
{
	size_t total;
	void *p;

	if (__builtin_mul_overflow(nmemb, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	p = malloc(total);
	if (p)
		memset(p, 0, total);
	return p;
}

void *realloc(void *ptr, size_t size)
{
	void *p;

	uc_spin_lock(&mem_lock);
	p = heap_realloc(&mem_heap, ptr, size);
	uc_spin_unlock(&mem_lock);

	if (!p && size)
		errno = ENOMEM;
	return p;
}

void free(void *ptr)
{
	uc_spin_lock(&mem_lock);
	heap_free(&mem_heap, ptr);
	uc_spin_unlock(&mem_lock);
}

void *aligned_alloc(size_t alignment, size_t size)
{
	void *p;

	uc_spin_lock(&mem_lock);
	p = heap_aligned_alloc(&mem_heap, alignment, size);
	uc_spin_unlock(&mem_lock);
	if (!p)
		errno = alignment > HEAP_MAX_ALIGN ? EINVAL : ENOMEM;
	return p;
}

void uc_mem_stats(struct uc_mem_stats *out)
{
	struct mem_stats m;

	_Static_assert(UC_MEM_CLASSES == HEAP_NCLASSES, "stats.h and heap.h disagree");
	mem_get_stats(&m);
	memset(out, 0, sizeof(*out));
	out->bytes_in_use = m.bytes_in_use;
	out->peak_bytes = m.peak_bytes;
	out->pages_free = m.pages_free;
	out->pages_total = m.pages_total;
	out->pages_zeroed = m.pages_zeroed;
	out->nclasses = HEAP_NCLASSES;
	uc_spin_lock(&mem_lock);
	out->large_blocks = mem_heap.large_blocks;
	for (unsigned i = 0; i < HEAP_NCLASSES; i++) {
		out->classes[i].size = heap_class_bytes(i);
		out->classes[i].in_use = mem_heap.class_objs[i];
	}
	uc_spin_unlock(&mem_lock);
}
