/* test_runtime_pvh.c: the PVH start info converter (arch/x86_64/pvh/pvh.c) on a fake physical
 * memory, its trees read back by the runtime's own parser (kernel/bootinfo.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "kernel/kernel.h"
#include "arch/x86_64/pvh/pvh.h"
#include "fdtbuild.h"
#include <unicycle/bootinfo.h>

#include "check.h"

#define MIB       (1024ULL * 1024)
#define FAKE_SIZE (1 * MIB)          /* physical 0 - 1 MiB is backed by `fake` */
#define SI_AT     0x6000             /* where QEMU's PVH loader puts the start info, roughly */
#define MAP_AT    0x7000
#define MODS_AT   0x8000
#define CMD_AT    0x9000
#define CFG_AT    0xa000
#define IMAGE     (64 * MIB)

static uint8_t *fake;
static uint8_t fdt[FDTBUILD_FIXED + PVH_MAX_MEMMAP * FDTBUILD_PER_RANGE];

#include "bootinfo_stubs.h"

static const void *fake_read(uint64_t phys, size_t len)
{
	if (phys == 0 || phys >= FAKE_SIZE || len > FAKE_SIZE - phys)
		return NULL;
	return fake + phys;
}

static struct pvh_start_info *si(void)
{
	return (struct pvh_start_info *)(fake + SI_AT);
}

static void put_map(size_t i, uint64_t addr, uint64_t size, uint32_t type)
{
	struct pvh_memmap *m = (struct pvh_memmap *)(fake + MAP_AT) + i;

	m->addr = addr;
	m->size = size;
	m->type = type;
	si()->memmap_entries = (uint32_t)(i + 1);
}

/* A start info as QEMU's PVH option ROM writes it for a 512 MiB q35 guest. */
static void good_start_info(void)
{
	memset(fake, 0, FAKE_SIZE);
	si()->magic = PVH_START_MAGIC;
	si()->version = 1;
	si()->memmap_paddr = MAP_AT;
	put_map(0, 0, 0x9fc00, PVH_MEM_RAM);
	put_map(1, 0x9fc00, 0x400, PVH_MEM_RESERVED);
	put_map(2, 0xf0000, 0x10000, PVH_MEM_RESERVED);
	put_map(3, 0x100000, 511 * MIB, PVH_MEM_RAM);
	put_map(4, 0xb0000000, 0x10000000, PVH_MEM_RESERVED);
	put_map(5, 0xfffc0000, 0x40000, PVH_MEM_RESERVED);
	si()->rsdp_paddr = 0xf5a10;
}

static void set_cmdline(const char *s)
{
	strcpy((char *)fake + CMD_AT, s);
	si()->cmdline_paddr = CMD_AT;
}

static void set_bootcfg(const char *text)
{
	struct pvh_module *m = (struct pvh_module *)(fake + MODS_AT);

	memcpy(fake + CFG_AT, text, strlen(text));
	m->paddr = CFG_AT;
	m->size = strlen(text);
	si()->nr_modules = 1;
	si()->modlist_paddr = MODS_AT;
}

/* Converts and parses; returns bootinfo_parse's result, its message in err. */
static int convert(struct bootinfo *bi, char *err, size_t errlen)
{
	int rc = pvh_build(fake_read, SI_AT, 12345, IMAGE, 2 * MIB, fdt, sizeof(fdt));

	CHECK(rc == 0);
	err[0] = '\0';
	return bootinfo_parse(fdt, bi, err, errlen);
}

static int fails_with(const char *want)
{
	static struct bootinfo bi;
	char err[200];

	if (convert(&bi, err, sizeof(err)) == 0)
		return 0;
	if (!strstr(err, want)) {
		fprintf(stderr, "error was: %s (wanted %s)\n", err, want);
		return 0;
	}
	return 1;
}

static void test_good(void)
{
	static struct bootinfo bi;
	char err[200];

	good_start_info();
	set_cmdline("virtio_mmio.device=512@0xfeb00e00:12");
	set_bootcfg("# made by unicycle build\ncmdline = quiet\nnet = static\n"
		    "address = 10.0.0.2/24\ngateway = 10.0.0.1\ndns = 10.0.0.53\n");
	CHECK(convert(&bi, err, sizeof(err)) == 0);
	if (err[0])
		fprintf(stderr, "%s\n", err);
	CHECK(strcmp(bi.boot_source, "direct") == 0);
	CHECK(strcmp(bi.cmdline, "quiet virtio_mmio.device=512@0xfeb00e00:12") == 0);
	CHECK(bi.net_mode && strcmp(bi.net_mode, "static") == 0);
	CHECK(bi.net_address && strcmp(bi.net_address, "10.0.0.2/24") == 0);
	CHECK(bi.net_gateway && strcmp(bi.net_gateway, "10.0.0.1") == 0);
	CHECK(bi.net_dns[0] && strcmp(bi.net_dns[0], "10.0.0.53") == 0 && !bi.net_dns[1]);
	CHECK(bi.rsdp == 0xf5a10);
	CHECK(bi.tsc_start == 12345 && bi.tsc_jump == 0);
	CHECK(bi.image_base == IMAGE && bi.image_size == 2 * MIB);
	/* 1 MiB - 512 MiB is usable, minus the image: two pieces around it. */
	CHECK(bi.nmem == 2);
	CHECK(bi.mem[0].base == MIB && bi.mem[0].size == IMAGE - MIB);
	CHECK(bi.mem[1].base == IMAGE + 2 * MIB && bi.mem[1].base + bi.mem[1].size == 512 * MIB);
	CHECK(bootinfo_usable_bytes(&bi) == 509 * MIB);
	/* Low memory (below the EBDA) is there for the SMP trampoline. */
	CHECK(bi.nlow == 1 && bi.low[0].base == 0x1000 && bi.low[0].size == 0x9f000 - 0x1000 + 0x0);
	CHECK(fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), BOOTINFO_PROP_SHA256, NULL) == NULL);
}

static void test_no_module_no_cmdline(void)
{
	static struct bootinfo bi;
	char err[200];

	good_start_info();
	CHECK(convert(&bi, err, sizeof(err)) == 0);
	CHECK(strcmp(bi.cmdline, "") == 0 && bi.net_mode == NULL);
	/* version 0 has no memory map field at all */
	good_start_info();
	si()->version = 0;
	CHECK(fails_with("PVH start info: no memory map"));
}

static void test_bad_start_infos(void)
{
	char *cmd;

	good_start_info();
	si()->magic = 0x12345678;
	CHECK(fails_with("bad magic"));

	good_start_info();
	si()->memmap_entries = 0;
	CHECK(fails_with("no memory map"));

	good_start_info();
	si()->memmap_paddr = 0;
	CHECK(fails_with("no memory map"));

	good_start_info();
	si()->memmap_paddr = 2 * MIB;           /* outside the fake memory */
	CHECK(fails_with("memory map outside memory"));

	good_start_info();
	si()->memmap_entries = PVH_MAX_MEMMAP + 1;
	CHECK(fails_with("65 entries"));

	good_start_info();
	put_map(6, 0x1000000, 2 * MIB, PVH_MEM_RESERVED);   /* inside RAM entry 3 */
	CHECK(fails_with("memory map entries 3 and 6 overlap at 0x1000000"));

	good_start_info();
	put_map(6, 0xffffffffff000000ULL, 32 * MIB, PVH_MEM_RAM);
	CHECK(fails_with("entry 6 wraps"));

	good_start_info();
	put_map(0, 0, 0x9fc00, PVH_MEM_RESERVED);
	put_map(1, 0x100000, 511 * MIB, PVH_MEM_UNUSABLE);
	CHECK(fails_with("no RAM"));

	/* a command line that runs on without a NUL for more than 4 KiB */
	good_start_info();
	si()->cmdline_paddr = CMD_AT;
	cmd = (char *)fake + CMD_AT;
	memset(cmd, 'x', PVH_CMDLINE_MAX + 16);
	CHECK(fails_with("command line without a terminator"));
	/* ... and one that stops at the end of memory */
	good_start_info();
	si()->cmdline_paddr = FAKE_SIZE - 8;
	memset(fake + FAKE_SIZE - 8, 'y', 8);
	CHECK(fails_with("command line without a terminator"));

	good_start_info();
	set_bootcfg("cmdline = a\nnet = carrier-pigeon\n");
	CHECK(fails_with("boot.cfg (PVH module 0) line 2 key net"));

	good_start_info();
	set_bootcfg("cmdline = a\n");
	((struct pvh_module *)(fake + MODS_AT))->size = 128 * 1024;
	CHECK(fails_with("larger than 64 KiB"));

	good_start_info();
	si()->nr_modules = 1;
	si()->modlist_paddr = 4 * MIB;
	CHECK(fails_with("module list outside memory"));
}

/* No RSDP in the start info (qboot): found in the BIOS area by signature and checksum. */
static void test_rsdp_search(void)
{
	static struct bootinfo bi;
	char err[200];
	uint8_t *r, sum = 0;

	good_start_info();
	si()->rsdp_paddr = 0;
	memcpy(fake + 0xe0000, "RSD PTR ", 8);      /* bad checksum: skipped */
	fake[0xe0008] = 1;
	r = fake + 0xf0020;
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "BOCHS ", 6);
	for (int i = 0; i < 20; i++)
		sum += r[i];
	r[8] = (uint8_t)-sum;
	CHECK(convert(&bi, err, sizeof(err)) == 0);
	CHECK(bi.rsdp == 0xf0020);

	good_start_info();
	si()->rsdp_paddr = 0;
	CHECK(convert(&bi, err, sizeof(err)) == 0);
	CHECK(bi.rsdp == 0);
}

int main(void)
{
	fake = calloc(1, FAKE_SIZE);
	if (!fake)
		return 1;
	test_good();
	test_no_module_no_cmdline();
	test_bad_start_infos();
	test_rsdp_search();
	printf("pvh: %d passed, %d failed\n", passed, failed);
	free(fake);
	return failed != 0;
}
