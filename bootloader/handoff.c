/* handoff.c: final memory map, boot info, ExitBootServices and the jump. */
#include <libfdt.h>

#include "boot.h"

/* Descriptors of room beyond today's map: our own allocations below and
 * whatever the firmware does before ExitBootServices add entries. */
#define HANDOFF_MAP_SLACK     32
#define HANDOFF_EXIT_ATTEMPTS 4
/* Keep the FDT below 4 GiB so the runtime's first page tables reach it. */
#define HANDOFF_FDT_MAX_ADDR  0xffffffffULL

EFI_STATUS handoff_prepare(struct handoff *h)
{
	UINTN size = 0, key, desc_size = 0, fdt_bytes;
	UINT32 desc_version;
	EFI_STATUS status;

	/* UEFI 2.10 sec 7.2.3 GetMemoryMap with a zero-sized buffer returns
	 * EFI_BUFFER_TOO_SMALL and the size it needs. */
	status = BS->GetMemoryMap(&size, NULL, &key, &desc_size, &desc_version);
	if (status != EFI_BUFFER_TOO_SMALL || desc_size == 0) {
		boot_log(L"GetMemoryMap gives no size: %r", status);
		return EFI_ERROR(status) ? status : EFI_DEVICE_ERROR;
	}
	h->region_cap = size / desc_size + HANDOFF_MAP_SLACK;
	h->map_cap = h->region_cap * desc_size;

	/* sec 7.2.4 AllocatePool for the map and its converted form. */
	status = BS->AllocatePool(EfiLoaderData, h->map_cap, &h->map);
	if (EFI_ERROR(status)) {
		boot_log(L"no memory for the memory map (%ld bytes): %r",
		         (UINT64)h->map_cap, status);
		h->map = NULL;
		return status;
	}
	status = BS->AllocatePool(EfiLoaderData,
	                          h->region_cap * sizeof(*h->regions),
	                          (void **)&h->regions);
	if (EFI_ERROR(status)) {
		boot_log(L"no memory for %ld memory regions: %r",
		         (UINT64)h->region_cap, status);
		h->regions = NULL;
		return status;
	}

	/* sec 7.2.1 AllocatePages(AllocateMaxAddress): the FDT goes in its own
	 * pages, listed in /reserved-memory as bootinfo@. */
	fdt_bytes = fdtbuild_size(h->region_cap);
	h->fdt_pages = EFI_SIZE_TO_PAGES(fdt_bytes);
	h->fdt = HANDOFF_FDT_MAX_ADDR;
	status = BS->AllocatePages(AllocateMaxAddress, EfiLoaderData,
	                           h->fdt_pages, &h->fdt);
	if (EFI_ERROR(status)) {
		boot_log(L"no memory below 4 GiB for the boot info (%ld pages): %r",
		         (UINT64)h->fdt_pages, status);
		h->fdt = 0;
		h->fdt_pages = 0;
		return status;
	}
	h->info.blob_base = h->fdt;
	h->info.blob_size = BOOT_PAGES_TO_SIZE(h->fdt_pages);
	return EFI_SUCCESS;
}

void handoff_free(struct handoff *h)
{
	if (h->fdt_pages)
		BS->FreePages(h->fdt, h->fdt_pages);
	if (h->regions)
		BS->FreePool(h->regions);
	if (h->map)
		BS->FreePool(h->map);
	h->fdt_pages = 0;
	h->regions = NULL;
	h->map = NULL;
}

/* Turn the firmware map into merged boot info regions. */
static UINTN regions_from_map(struct handoff *h, UINTN map_size,
                              UINTN desc_size)
{
	UINTN n = 0;

	for (UINTN off = 0; off + desc_size <= map_size && n < h->region_cap;
	     off += desc_size) {
		/* Descriptors are desc_size apart, which may be larger than
		 * the struct (sec 7.2.3): never index them as an array. */
		EFI_MEMORY_DESCRIPTOR *d = (void *)((UINT8 *)h->map + off);

		h->regions[n].base = d->PhysicalStart;
		h->regions[n].size = BOOT_PAGES_TO_SIZE(d->NumberOfPages);
		h->regions[n].kind = firmware_mem_kind(d->Type);
		if (h->regions[n].kind != FDTBUILD_MEM_OTHER)
			n++;
	}
	return fdtbuild_merge(h->regions, n);
}

/* System V AMD64 ABI 3.2.2: at entry the stack is 16-byte aligned minus the
 * return address, DF is clear. RDI carries the FDT (unicycle/bootinfo.h). */
static void __attribute__((noreturn)) handoff_jump(UINT64 entry, UINT64 fdt)
{
	__asm__ volatile(
		"cli\n\t"
		"cld\n\t"
		"andq $-16, %%rsp\n\t"
		"callq *%%rax\n\t"
		"1: hlt\n\t"
		"jmp 1b\n\t"
		: : "a"(entry), "D"(fdt) : "memory");
	__builtin_unreachable();
}

EFI_STATUS handoff_boot(struct handoff *h)
{
	EFI_STATUS status = EFI_ABORTED;
	void *fdt = (void *)(UINTN)h->fdt;
	int attempt, err;

	/* No Print() from here on: it may allocate and change the map. */
	for (attempt = 0; attempt < HANDOFF_EXIT_ATTEMPTS; attempt++) {
		UINTN size = h->map_cap, key, desc_size, n;
		UINT32 desc_version;

		/* sec 7.2.3 GetMemoryMap into the buffer sized in prepare. */
		status = BS->GetMemoryMap(&size, h->map, &key, &desc_size,
		                          &desc_version);
		if (EFI_ERROR(status))
			break;
		n = regions_from_map(h, size, desc_size);
		/* Rebuilt in place each attempt: no allocation. */
		err = fdtbuild_build(fdt, h->info.blob_size, &h->info,
		                     h->regions, n);
		if (err) {
			status = EFI_BUFFER_TOO_SMALL;
			if (!h->exit_attempted)
				boot_log(L"cannot build the boot info: %a",
				         fdt_strerror(err));
			return status;
		}
		/* sec 7.4.6 ExitBootServices: EFI_INVALID_PARAMETER means the
		 * map changed since GetMemoryMap; get it again and retry. */
		h->exit_attempted = TRUE;
		status = BS->ExitBootServices(h->image, key);
		if (status == EFI_SUCCESS)
			break;
		if (status != EFI_INVALID_PARAMETER)
			return status;
	}
	if (EFI_ERROR(status)) {
		if (!h->exit_attempted)
			boot_log(L"GetMemoryMap failed: %r", status);
		return status;
	}

	/* Boot services are gone: interrupts off before anything else. */
	__asm__ volatile("cli" ::: "memory");
	fdtbuild_set_tsc_jump(fdt, boot_rdtsc());
	handoff_jump(h->entry, h->fdt);
}
