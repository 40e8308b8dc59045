/* pvh_boot.c: the runtime side of the PVH entry: a buffer in the image for the boot info, identity reads. */
#include <stdint.h>

#include "fdtbuild.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/pvh/pvh.h"

extern char __image_start[], __image_end[];

/* In .bss, so inside image@ of /reserved-memory: nothing else needs reserving. */
static uint8_t pvh_fdt[FDTBUILD_FIXED + PVH_MAX_MEMMAP * FDTBUILD_PER_RANGE]
	__attribute__((aligned(8)));

/* pvh_entry.S identity-maps the first 4 GiB, where PVH loaders put everything they hand over. */
static const void *pvh_identity(uint64_t phys, size_t len)
{
	if (phys == 0 || phys >= (1ULL << 32) || len > (1ULL << 32) - phys)
		return NULL;
	return (const void *)(uintptr_t)phys;
}

uint64_t pvh_bootinfo(uint32_t start_phys, uint64_t tsc_entry)
{
	uint64_t base = (uint64_t)(uintptr_t)__image_start;

	(void)pvh_build(pvh_identity, start_phys, tsc_entry, base,
			(uint64_t)(uintptr_t)__image_end - base, pvh_fdt, sizeof(pvh_fdt));
	fdtbuild_set_tsc_jump(pvh_fdt, rdtsc());
	return (uint64_t)(uintptr_t)pvh_fdt;
}
