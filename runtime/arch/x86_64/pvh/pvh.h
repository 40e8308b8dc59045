/* pvh.h: the PVH boot ABI's start info (Xen public/arch-x86/hvm/start_info.h) and its converter. */
#ifndef UNICYCLE_ARCH_PVH_H
#define UNICYCLE_ARCH_PVH_H

/* Xen public/elfnote.h: the note carrying the 32-bit entry (pvh_entry.S). */
#define PVH_XEN_ELFNOTE_PHYS32_ENTRY 18

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

#define PVH_START_MAGIC 0x336ec578u   /* "xEn3" with bit 7 of the 'E' set */

/* Version 0 ends at rsdp_paddr; version 1 adds the memory map. All
 * addresses are physical; strings are NUL-terminated. */
struct pvh_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;       /* struct pvh_module[nr_modules] */
	uint64_t cmdline_paddr;       /* 0: none */
	uint64_t rsdp_paddr;          /* 0: none given */
	uint64_t memmap_paddr;        /* struct pvh_memmap[memmap_entries] */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct pvh_module {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

/* E820 types (ACPI 6.4 sec 15, table 15.312) as start_info.h numbers them. */
enum pvh_mem_type {
	PVH_MEM_RAM = 1,
	PVH_MEM_RESERVED = 2,
	PVH_MEM_ACPI = 3,
	PVH_MEM_NVS = 4,
	PVH_MEM_UNUSABLE = 5,
};

struct pvh_memmap {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

#define PVH_MAX_MEMMAP  64      /* entries; a VMM's map has a handful */
#define PVH_CMDLINE_MAX 4096    /* bytes including the NUL */

/*
 * Reads physical memory: the runtime passes an identity map; host unit
 * tests pass a fake memory. NULL when [phys, phys + len) is not readable.
 */
typedef const void *(*pvh_read_fn)(uint64_t phys, size_t len);

/*
 * Builds the boot info FDT (unicycle/bootinfo.h) from the start info at
 * start_phys into buf. Never fails outright: a start info that breaks the
 * ABI (bad magic, no memory map, overlapping ranges, an unterminated
 * command line, a bad boot.cfg module) gives a tree whose
 * /chosen/unicycle,boot-error names the problem, so bootinfo_init() panics
 * with that text once the console is up. Returns 0, or a negative libfdt
 * error when buf cannot hold even that (then the panic says "bad FDT header").
 */
int pvh_build(pvh_read_fn read, uint64_t start_phys, uint64_t tsc_entry,
	      uint64_t image_base, uint64_t image_size, void *buf, size_t bufsize);

/* The entry's C half (pvh_entry.S): pvh_build into a static buffer in the
 * image; returns its address for _start. */
uint64_t pvh_bootinfo(uint32_t start_phys, uint64_t tsc_entry);
#endif

#endif
