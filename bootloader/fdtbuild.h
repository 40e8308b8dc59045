/* fdtbuild.h: builds the boot info FDT of unicycle/bootinfo.h from plain
 * values (libfdt sequential write; no firmware calls, no allocation). */
#ifndef BOOTLOADER_FDTBUILD_H
#define BOOTLOADER_FDTBUILD_H

#include <stddef.h>
#include <stdint.h>

#include <unicycle/bootinfo.h>   /* BOOTINFO_NET_DNS_MAX */

/* What a memory map range becomes in the tree. */
enum fdtbuild_mem {
	FDTBUILD_MEM_OTHER = 0,  /* not described (MMIO, unusable, reserved) */
	FDTBUILD_MEM_USABLE,     /* /memory reg */
	FDTBUILD_MEM_ACPI,       /* /reserved-memory/acpi@ (no-map) */
	FDTBUILD_MEM_RUNTIME,    /* /reserved-memory/runtime@ (no-map) */
};

struct fdtbuild_region {
	uint64_t base;
	uint64_t size;
	enum fdtbuild_mem kind;
};

struct fdtbuild_fb {
	uint64_t base, size;
	uint32_t width, height, stride;
	const char *format;      /* "a8r8g8b8" or "a8b8g8r8" */
};

/* Everything but the memory map. Strings that are NULL leave their property
 * out (boot_server, net_mode, net_address, net_gateway; net_dns[i] NULL
 * ends the list, none at all leaves /chosen/unicycle,net-dns out). */
struct fdtbuild_info {
	const char *bootargs;            /* never NULL; "" when none */
	const char *boot_source;         /* "disk" or "net" */
	const char *bootloader;          /* "unicycle-boot <version>" */
	const char *boot_server;
	const char *net_mode;
	const char *net_address;
	const char *net_gateway;
	const char *net_dns[BOOTINFO_NET_DNS_MAX];
	const uint8_t *image_sha256;     /* 32 bytes; NULL: no property (direct boot) */
	uint64_t image_base, image_size;
	uint64_t tsc_start;
	uint64_t acpi_rsdp;              /* 0: no property */
	const struct fdtbuild_fb *fb;    /* NULL: no /framebuffer node */
	uint64_t blob_base, blob_size;   /* the buffer the FDT is built in */
};

#define FDTBUILD_FIXED     (64 * 1024)  /* root, chosen, framebuffer, strings */
#define FDTBUILD_PER_RANGE 128          /* one reserved child or reg pair */

struct bootcfg;

/* Bytes enough for a tree with nregions memory map ranges. */
size_t fdtbuild_size(size_t nregions);

/*
 * Sort regions by base and merge touching ranges of the same kind (in
 * place); return the new count. Ranges that are not page aligned are
 * shrunk to whole pages (and dropped when nothing is left).
 */
size_t fdtbuild_merge(struct fdtbuild_region *regions, size_t n);

/*
 * Build the whole tree into buf (bufsize bytes, 8-byte aligned) from info
 * and the merged regions. unicycle,tsc-jump is written as 0 for
 * fdtbuild_set_tsc_jump(). Returns 0 or a negative libfdt error
 * (fdt_strerror()); -FDT_ERR_NOSPACE when buf is too small.
 */
int fdtbuild_build(void *buf, size_t bufsize, const struct fdtbuild_info *info,
                   const struct fdtbuild_region *regions, size_t n);

/* The network settings of boot.cfg (net_* fields of in): the same for
 * both entries, BOOTX64.EFI and the PVH entry (runtime/arch/x86_64/pvh). */
void fdtbuild_set_network(struct fdtbuild_info *in, const struct bootcfg *cfg);

/* Overwrite /chosen/unicycle,tsc-jump in a built tree (no resizing). */
int fdtbuild_set_tsc_jump(void *fdt, uint64_t tsc);

#endif
