/* pvh.c: the PVH start info -> the boot info FDT the bootloader would build (pure code, host unit-tested). */
#include <string.h>

#include <libfdt.h>
#include <unicycle/bootinfo.h>

#include "bootcfg.h"
#include "fdtbuild.h"
#include "arch/x86_64/pvh/pvh.h"

#define PVH_LOADER   "unicycle-pvh 1"
#define PVH_ERR_MAX  160
/* ACPI 6.4 sec 5.2.5.1: the RSDP lies on a 16-byte boundary in the first KiB of the EBDA
 * (its segment at 0x40e) or in 0xe0000-0xfffff; sec 5.2.5.3: "RSD PTR ", checksum of 20 bytes. */
#define PVH_EBDA_PTR   0x40e
#define PVH_BIOS_LO    0xe0000
#define PVH_BIOS_HI    0x100000
#define PVH_RSDP_V1LEN 20

struct pvh_ctx {
	pvh_read_fn read;
	char err[PVH_ERR_MAX];
	struct fdtbuild_region regions[PVH_MAX_MEMMAP];
	size_t nregions;
	struct bootcfg cfg;
	char bootargs[BOOTCFG_CMDLINE_MAX + PVH_CMDLINE_MAX];
};

/* Small formatting without printf (the host test and the runtime share this file). */
static void pvh_cat(char *dst, size_t cap, const char *s)
{
	size_t len = strlen(dst), n = strlen(s);

	if (len + 1 >= cap)
		return;
	if (n > cap - 1 - len)
		n = cap - 1 - len;
	memcpy(dst + len, s, n);
	dst[len + n] = '\0';
}

static void pvh_cat_num(char *dst, size_t cap, uint64_t v, unsigned base)
{
	static const char digits[] = "0123456789abcdef";
	char buf[24];
	size_t n = sizeof(buf) - 1;

	buf[n] = '\0';
	do {
		buf[--n] = digits[v % base];
		v /= base;
	} while (v && n > 2);
	if (base == 16) {
		buf[--n] = 'x';
		buf[--n] = '0';
	}
	pvh_cat(dst, cap, buf + n);
}

static int pvh_fail(struct pvh_ctx *c, const char *what)
{
	c->err[0] = '\0';
	pvh_cat(c->err, sizeof(c->err), "PVH start info: ");
	pvh_cat(c->err, sizeof(c->err), what);
	return -1;
}

static enum fdtbuild_mem pvh_kind(uint32_t type)
{
	switch (type) {
	case PVH_MEM_RAM:  return FDTBUILD_MEM_USABLE;
	case PVH_MEM_ACPI:
	case PVH_MEM_NVS:  return FDTBUILD_MEM_ACPI;
	default:           return FDTBUILD_MEM_OTHER;  /* reserved, unusable, MMIO */
	}
}

/* The memory map: present, within PVH_MAX_MEMMAP, no entry wrapping, no two entries overlapping
 * (a VMM bug: we would not know which type wins). */
static int pvh_memmap(struct pvh_ctx *c, const struct pvh_start_info *si)
{
	const struct pvh_memmap *m;
	size_t n = si->memmap_entries;

	if (si->version < 1 || si->memmap_paddr == 0 || n == 0)
		return pvh_fail(c, "no memory map (version 1 with memmap_entries > 0 needed)");
	if (n > PVH_MAX_MEMMAP) {
		pvh_fail(c, "memory map has ");
		pvh_cat_num(c->err, sizeof(c->err), n, 10);
		pvh_cat(c->err, sizeof(c->err), " entries, more than the 64 supported");
		return -1;
	}
	m = c->read(si->memmap_paddr, n * sizeof(*m));
	if (!m)
		return pvh_fail(c, "memory map outside memory");
	for (size_t i = 0; i < n; i++) {
		uint64_t end = m[i].addr + m[i].size;

		if (end < m[i].addr) {
			pvh_fail(c, "memory map entry ");
			pvh_cat_num(c->err, sizeof(c->err), i, 10);
			pvh_cat(c->err, sizeof(c->err), " wraps around the address space");
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			if (m[i].size && m[j].size && m[i].addr < m[j].addr + m[j].size &&
			    m[j].addr < end) {
				pvh_fail(c, "memory map entries ");
				pvh_cat_num(c->err, sizeof(c->err), j, 10);
				pvh_cat(c->err, sizeof(c->err), " and ");
				pvh_cat_num(c->err, sizeof(c->err), i, 10);
				pvh_cat(c->err, sizeof(c->err), " overlap at ");
				pvh_cat_num(c->err, sizeof(c->err),
					    m[i].addr > m[j].addr ? m[i].addr : m[j].addr, 16);
				return -1;
			}
		}
		c->regions[i].base = m[i].addr;
		c->regions[i].size = m[i].size;
		c->regions[i].kind = pvh_kind(m[i].type);
	}
	c->nregions = fdtbuild_merge(c->regions, n);
	for (size_t i = 0; i < c->nregions; i++)
		if (c->regions[i].kind == FDTBUILD_MEM_USABLE)
			return 0;
	return pvh_fail(c, "the memory map lists no RAM");
}

/* A NUL-terminated string at phys of at most max bytes with its NUL, or NULL. Read in
 * pieces so a short string near the end of memory is fine. */
static const char *pvh_string(struct pvh_ctx *c, uint64_t phys, size_t max)
{
	const char *s = c->read(phys, 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < max; i++) {
		const char *p = c->read(phys + i, 1);

		if (!p)
			return NULL;
		if (*p == '\0')
			return s;
	}
	return NULL;
}

/* Module 0, when there is one, is boot.cfg (`unicycle run --direct` passes it with -initrd). */
static int pvh_bootcfg(struct pvh_ctx *c, const struct pvh_start_info *si)
{
	const struct pvh_module *mod;
	const char *text;
	struct bootcfg_fault fault;
	enum bootcfg_error e;

	bootcfg_defaults(&c->cfg);
	if (si->nr_modules == 0)
		return 0;
	mod = c->read(si->modlist_paddr, sizeof(*mod));
	if (!mod)
		return pvh_fail(c, "module list outside memory");
	if (mod->size > BOOTCFG_FILE_MAX)
		return pvh_fail(c, "module 0 (boot.cfg) is larger than 64 KiB");
	text = mod->size ? c->read(mod->paddr, mod->size) : "";
	if (!text)
		return pvh_fail(c, "module 0 (boot.cfg) outside memory");
	e = bootcfg_parse(text, mod->size, &c->cfg, &fault);
	if (e != BOOTCFG_OK) {
		c->err[0] = '\0';
		pvh_cat(c->err, sizeof(c->err), "boot.cfg (PVH module 0)");
		if (fault.line) {
			pvh_cat(c->err, sizeof(c->err), " line ");
			pvh_cat_num(c->err, sizeof(c->err), fault.line, 10);
		}
		if (fault.key[0]) {
			pvh_cat(c->err, sizeof(c->err), " key ");
			pvh_cat(c->err, sizeof(c->err), fault.key);
		}
		pvh_cat(c->err, sizeof(c->err), ": ");
		pvh_cat(c->err, sizeof(c->err), bootcfg_strerror(e));
		return -1;
	}
	return 0;
}

/* bootargs = boot.cfg's cmdline, then the VMM's command line (-append; on microvm QEMU adds
 * virtio_mmio.device= words there). */
static int pvh_cmdline(struct pvh_ctx *c, const struct pvh_start_info *si)
{
	const char *vmm = NULL;

	if (si->cmdline_paddr) {
		vmm = pvh_string(c, si->cmdline_paddr, PVH_CMDLINE_MAX);
		if (!vmm)
			return pvh_fail(c, "command line without a terminator within 4096 bytes");
	}
	c->bootargs[0] = '\0';
	pvh_cat(c->bootargs, sizeof(c->bootargs), c->cfg.cmdline);
	if (vmm && vmm[0]) {
		if (c->bootargs[0])
			pvh_cat(c->bootargs, sizeof(c->bootargs), " ");
		pvh_cat(c->bootargs, sizeof(c->bootargs), vmm);
	}
	return 0;
}

static int pvh_rsdp_ok(struct pvh_ctx *c, uint64_t phys)
{
	const uint8_t *p = c->read(phys, PVH_RSDP_V1LEN);
	uint8_t sum = 0;

	if (!p || memcmp(p, "RSD PTR ", 8) != 0)
		return 0;
	for (int i = 0; i < PVH_RSDP_V1LEN; i++)
		sum += p[i];
	return sum == 0;
}

/* The RSDP: the start info's, else searched where BIOS-style firmware leaves it (qboot, SeaBIOS). */
static uint64_t pvh_rsdp(struct pvh_ctx *c, const struct pvh_start_info *si)
{
	const uint16_t *seg;
	uint64_t ebda;

	if (si->rsdp_paddr)
		return si->rsdp_paddr;
	seg = c->read(PVH_EBDA_PTR, sizeof(*seg));
	if (seg && (ebda = (uint64_t)*seg << 4) != 0) {
		for (uint64_t a = ebda; a < ebda + 1024; a += 16)
			if (pvh_rsdp_ok(c, a))
				return a;
	}
	for (uint64_t a = PVH_BIOS_LO; a < PVH_BIOS_HI; a += 16)
		if (pvh_rsdp_ok(c, a))
			return a;
	return 0;
}

/* A tree that only says what went wrong: bootinfo_parse() reports it. */
static int pvh_error_tree(void *buf, size_t bufsize, const char *err)
{
	int e;

	if ((e = fdt_create(buf, (int)bufsize)) || (e = fdt_finish_reservemap(buf)) ||
	    (e = fdt_begin_node(buf, "")) ||
	    (e = fdt_property_string(buf, "compatible", BOOTINFO_COMPATIBLE)) ||
	    (e = fdt_property_u32(buf, "#address-cells", 2)) ||
	    (e = fdt_property_u32(buf, "#size-cells", 2)) ||
	    (e = fdt_begin_node(buf, "chosen")) ||
	    (e = fdt_property_string(buf, BOOTINFO_PROP_BOOT_ERROR, err)) ||
	    (e = fdt_end_node(buf)) || (e = fdt_end_node(buf)))
		return e;
	return fdt_finish(buf);
}

int pvh_build(pvh_read_fn read, uint64_t start_phys, uint64_t tsc_entry,
	      uint64_t image_base, uint64_t image_size, void *buf, size_t bufsize)
{
	static struct pvh_ctx ctx;   /* large: not on the entry stack */
	struct pvh_ctx *c = &ctx;
	const struct pvh_start_info *si;
	struct fdtbuild_info in;
	int e;

	memset(c, 0, sizeof(*c));
	c->read = read;
	/* Version 0 is shorter; read what every version has, then the rest. */
	si = read(start_phys, offsetof(struct pvh_start_info, memmap_paddr));
	if (!si)
		pvh_fail(c, "not in memory (EBX does not point at RAM)");
	else if (si->magic != PVH_START_MAGIC)
		pvh_fail(c, "bad magic (EBX does not point at a start info)");
	else if (si->version >= 1 && !(si = read(start_phys, sizeof(*si))))
		pvh_fail(c, "version 1 fields not in memory");
	if (c->err[0] || pvh_memmap(c, si) < 0 || pvh_bootcfg(c, si) < 0 || pvh_cmdline(c, si) < 0)
		return pvh_error_tree(buf, bufsize, c->err);

	memset(&in, 0, sizeof(in));
	in.bootargs = c->bootargs;
	in.boot_source = BOOTINFO_SOURCE_DIRECT;
	in.bootloader = PVH_LOADER;
	fdtbuild_set_network(&in, &c->cfg);
	in.image_sha256 = NULL;           /* no file was read: left out */
	in.image_base = image_base;
	in.image_size = image_size;
	in.tsc_start = tsc_entry;
	in.acpi_rsdp = pvh_rsdp(c, si);
	in.blob_base = (uint64_t)(uintptr_t)buf;
	in.blob_size = bufsize;
	e = fdtbuild_build(buf, bufsize, &in, c->regions, c->nregions);
	if (e < 0) {
		pvh_fail(c, "cannot build the boot info: ");
		pvh_cat(c->err, sizeof(c->err), fdt_strerror(e));
		return pvh_error_tree(buf, bufsize, c->err);
	}
	return 0;
}
