/* paging.c: the runtime's own identity-mapped page tables (replacing the firmware's). */
#include "kernel/kernel.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/paging.h"

/*
 * Why our own tables this early: the firmware's map protects its own code
 * pages read-only (OVMF's DXE memory protection), and after
 * ExitBootServices those pages are RAM we own (bootinfo.h). Layout:
 *
 *   0 - 2 MiB      4 KiB pages, page 0 not present (NULL dereferences fault)
 *   2 MiB - 4 GiB  2 MiB pages
 *   4 GiB - 512 GiB  1 GiB pages (2 MiB pages up to the end of RAM when the
 *                  CPU lacks 1 GiB pages)
 *
 * Above 512 GiB (where firmware puts 64-bit BARs, e.g. OVMF on q35 at
 * 0xe0_0000_0000) paging_map_mmio() adds uncached identity mappings on
 * demand. Protections (SDM Vol. 3A sec 4.6): the image (64 MiB, linker.ld)
 * is mapped in 4 KiB pages: .text read-only and executable, .rodata
 * read-only and no-execute, .data/.bss read/write and no-execute, the
 * guard pages stack owners list (PAGING_GUARD, paging.h) not present.
 * Everything else is read/write and
 * no-execute (when the CPU has NX); CR0.WP makes ring 0 honour read-only.
 * A region that holds
 * no RAM listed in the boot info (usable or reserved) is mapped uncached
 * (PCD|PWT): that is where MMIO lives, so mem_map_mmio() can hand out the
 * physical address. RAM is write-back. The tables sit in .bss, inside the
 * image the bootloader reserved.
 */
#define PAGING_LOW_PDS  4  /* page directories covering 0 - 4 GiB */
#define PAGING_IMAGE_PTS 8 /* 4 KiB tables for up to 16 MiB of image */
#define PAGING_POOL     (2 + PAGING_LOW_PDS + 1 + PAGING_IMAGE_PTS + 32) /* PML4, PDPT, PDs, PTs, spare PDs */
#define PAGING_4G       (4 * PAGE_SIZE_1G)

static uint64_t paging_pool[PAGING_POOL][PTE_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static unsigned paging_used;
static uint64_t *paging_pml4;
static bool paging_has_1g;
static uint64_t paging_nx;      /* PTE_NX when EFER.NXE is on, else 0 */
static uint64_t *paging_low_pt; /* 4 KiB pages of 0 - 2 MiB */

/* Section bounds and the guard table from linker.ld. */
extern char __image_start[], __text_start[], __rodata_start[], __data_start[], __image_end[];
extern const struct paging_guard __start_paging_guards[], __stop_paging_guards[];
_Static_assert(sizeof(struct paging_guard) == 24, "the assembler's PAGING_GUARD emits 3 quads");

static uint64_t *paging_table(void)
{
	if (paging_used == PAGING_POOL)
		panic("page-table pool exhausted (%d pages)", PAGING_POOL);
	return paging_pool[paging_used++];
}

static bool paging_overlaps(const struct bootinfo_range *r, size_t n, uint64_t base, uint64_t size)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].base < base + size && base < r[i].base + r[i].size)
			return true;
	return false;
}

/* RAM (write-back) or not (uncached) for the region [base, base + size).
 * The first MiB counts as RAM: legacy areas stay cached as firmware has them. */
static uint64_t paging_cache_bits(uint64_t base, uint64_t size)
{
	if (base < PAGE_SIZE_2M)
		return 0;
	if (paging_overlaps(bootinfo.mem, bootinfo.nmem, base, size) ||
	    paging_overlaps(bootinfo.reserved, bootinfo.nreserved, base, size))
		return 0;
	return PTE_CACHE_UC;
}

static uint64_t paging_ram_end(void)
{
	uint64_t end = 0;

	for (size_t i = 0; i < bootinfo.nmem; i++)
		if (bootinfo.mem[i].base + bootinfo.mem[i].size > end)
			end = bootinfo.mem[i].base + bootinfo.mem[i].size;
	for (size_t i = 0; i < bootinfo.nreserved; i++)
		if (bootinfo.reserved[i].base + bootinfo.reserved[i].size > end)
			end = bootinfo.reserved[i].base + bootinfo.reserved[i].size;
	return end;
}

static void paging_fill_pd(uint64_t *pd, uint64_t base)
{
	for (int i = 0; i < PTE_ENTRIES; i++) {
		uint64_t a = base + (uint64_t)i * PAGE_SIZE_2M;

		pd[i] = a | PTE_PRESENT | PTE_WRITE | PTE_PS | paging_nx |
			paging_cache_bits(a, PAGE_SIZE_2M);
	}
}

static uint64_t paging_addr(const char *sym)
{
	return (uint64_t)(uintptr_t)sym;
}

static bool paging_is_guard(uint64_t a)
{
	for (const struct paging_guard *g = __start_paging_guards; g < __stop_paging_guards; g++) {
		uint64_t off = a - paging_addr(g->first);

		if (a >= paging_addr(g->first) && off % g->stride == 0 && off / g->stride < g->count)
			return true;
	}
	return false;
}

/* A guard entry the page tables cannot honour is a bug in its owner. */
static void paging_check_guards(void)
{
	for (const struct paging_guard *g = __start_paging_guards; g < __stop_paging_guards; g++) {
		uint64_t first = paging_addr(g->first);
		uint64_t last = first + (g->count ? g->count - 1 : 0) * g->stride;

		if ((first & (PAGE_SIZE - 1)) || g->stride == 0 || (g->stride & (PAGE_SIZE - 1)) ||
		    first < paging_addr(__image_start) || last >= paging_addr(__image_end))
			panic("guard pages at %#lx (stride %#lx, %lu of them) are not page-aligned "
			      "pages inside the image", (unsigned long)first,
			      (unsigned long)g->stride, (unsigned long)g->count);
	}
}

/* The protection of the image page at `a`. */
static uint64_t paging_image_bits(uint64_t a)
{
	if (paging_is_guard(a))
		return 0; /* not present */
	if (a >= paging_addr(__text_start) && a < paging_addr(__rodata_start))
		return PTE_PRESENT;
	if (a >= paging_addr(__rodata_start) && a < paging_addr(__data_start))
		return PTE_PRESENT | paging_nx;
	return PTE_PRESENT | PTE_WRITE | paging_nx;
}

/* Splits the 2 MiB pages holding the image (pdpt covers 0 - 512 GiB) into
 * 4 KiB pages carrying the section protections. */
static void paging_protect_image(uint64_t *pdpt)
{
	uint64_t lo = paging_addr(__image_start) & ~(PAGE_SIZE_2M - 1);
	uint64_t hi = paging_addr(__image_end);

	for (uint64_t base = lo; base < hi; base += PAGE_SIZE_2M) {
		uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[base / PAGE_SIZE_1G] & PTE_ADDR_MASK);
		uint64_t *pt = paging_table();

		for (int i = 0; i < PTE_ENTRIES; i++) {
			uint64_t a = base + (uint64_t)i * PAGE_SIZE;

			pt[i] = a | paging_image_bits(a);
		}
		pd[base / PAGE_SIZE_2M % PTE_ENTRIES] = (uint64_t)(uintptr_t)pt | PTE_PRESENT | PTE_WRITE;
	}
}

void paging_init(void)
{
	uint32_t a, b, c, d;
	bool has_1g = false;
	uint64_t *pml4, *pdpt, *pt;
	uint64_t ram_end = paging_ram_end();

	if (read_cr4() & CR4_LA57)
		panic("5-level paging is on; the runtime builds 4-level tables only");
	cpuid(CPUID_EXT_FEATURES & 0x80000000u, 0, &a, &b, &c, &d);
	if (a >= CPUID_EXT_FEATURES) {
		cpuid(CPUID_EXT_FEATURES, 0, &a, &b, &c, &d);
		has_1g = d & CPUID_X1_EDX_PAGE1GB;
	} else {
		d = 0;
	}
	if (ram_end > PAGING_IDENTITY_END)
		panic("RAM above 512 GiB is not mapped yet");
	if (d & CPUID_X1_EDX_NX) {
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
		paging_nx = PTE_NX;
	}
	if (paging_addr(__image_start) >= PAGING_4G)
		panic("image above 4 GiB: the runtime maps its sections below 4 GiB only");

	paging_check_guards();
	paging_has_1g = has_1g;
	pml4 = paging_pml4 = paging_table();
	pdpt = paging_table();
	pml4[0] = (uint64_t)(uintptr_t)pdpt | PTE_PRESENT | PTE_WRITE;

	for (uint64_t g = 0; g < PTE_ENTRIES; g++) {
		uint64_t base = g * PAGE_SIZE_1G;

		if (base < PAGING_4G || (!has_1g && base < ram_end)) {
			uint64_t *pd = paging_table();

			paging_fill_pd(pd, base);
			pdpt[g] = (uint64_t)(uintptr_t)pd | PTE_PRESENT | PTE_WRITE;
			if (g == 0) {
				/* First 2 MiB in 4 KiB pages, page 0 left out. */
				pt = paging_low_pt = paging_table();
				for (int i = 1; i < PTE_ENTRIES; i++)
					pt[i] = (uint64_t)i * PAGE_SIZE | PTE_PRESENT |
						PTE_WRITE | paging_nx;
				pd[0] = (uint64_t)(uintptr_t)pt | PTE_PRESENT | PTE_WRITE;
			}
		} else if (has_1g) {
			pdpt[g] = base | PTE_PRESENT | PTE_WRITE | PTE_PS | paging_nx |
				  paging_cache_bits(base, PAGE_SIZE_1G);
		}
	}
	paging_protect_image(pdpt);
	write_cr3((uint64_t)(uintptr_t)pml4);
	write_cr0(read_cr0() | CR0_WP);
	console_printf("unicycle: own page tables: %u pages, %s above 4 GiB, page 0 and stack "
		       "guard unmapped, text read-only, %s\n",
		       paging_used, has_1g ? "1 GiB pages" : "2 MiB pages up to RAM end",
		       paging_nx ? "data no-execute" : "no NX on this CPU");
}

void paging_allow_exec_low(uint64_t phys)
{
	kassert(phys < PAGE_SIZE_2M && phys >= PAGE_SIZE);
	paging_low_pt[phys / PAGE_SIZE] &= ~PTE_NX;
	invlpg(phys);
}

/* Identity-maps [phys, phys + size) uncached where nothing maps it yet:
 * 1 GiB pages when the CPU has them, else 2 MiB pages. */
void paging_map_mmio(uint64_t phys, uint64_t size)
{
	uint64_t end = phys + size;
	bool changed = false;

	if (end > PAGING_MAX_PHYS || end < phys)
		panic("MMIO %#lx+%#lx beyond 4-level paging's reach", (unsigned long)phys,
		      (unsigned long)size);
	for (uint64_t a = phys & ~(PAGE_SIZE_1G - 1); a < end; a += PAGE_SIZE_1G) {
		unsigned i4 = (unsigned)(a / PAGE_SIZE_512G);
		unsigned i3 = (unsigned)(a / PAGE_SIZE_1G % PTE_ENTRIES);
		uint64_t *pdpt, *pd;

		if (!(paging_pml4[i4] & PTE_PRESENT)) {
			pdpt = paging_table();
			paging_pml4[i4] = (uint64_t)(uintptr_t)pdpt | PTE_PRESENT | PTE_WRITE;
		}
		pdpt = (uint64_t *)(uintptr_t)(paging_pml4[i4] & PTE_ADDR_MASK);
		if (pdpt[i3] & PTE_PRESENT)
			continue; /* mapped already (low 512 GiB or an earlier call) */
		changed = true;
		if (paging_has_1g) {
			pdpt[i3] = a | PTE_PRESENT | PTE_WRITE | PTE_PS | PTE_CACHE_UC | paging_nx;
			continue;
		}
		pd = paging_table();
		for (int i = 0; i < PTE_ENTRIES; i++)
			pd[i] = (a + (uint64_t)i * PAGE_SIZE_2M) | PTE_PRESENT | PTE_WRITE |
				PTE_PS | PTE_CACHE_UC | paging_nx;
		pdpt[i3] = (uint64_t)(uintptr_t)pd | PTE_PRESENT | PTE_WRITE;
	}
	/* New entries replace not-present ones, which the TLB does not hold;
	 * reload CR3 anyway to drop any paging-structure cache entries. */
	if (changed)
		write_cr3(read_cr3());
}
