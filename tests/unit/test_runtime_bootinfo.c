/* test_runtime_bootinfo.c: host unit test of boot info parsing (kernel/bootinfo.c) on FDTs built with libfdt's fdt_sw. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfdt.h>

#include "kernel/kernel.h"
#include <unicycle/bootinfo.h>

#define FDT_BUF 8192
#define MIB (1024ULL * 1024)

#include "check.h"


#include "bootinfo_stubs.h"

/* What to put into (or break in) the test tree. */
struct tree {
	const char *compatible;
	int cells;                 /* root #address-cells/#size-cells */
	const char *source;        /* NULL: property left out */
	const char *cmdline;       /* NULL: property left out */
	bool bad_string;           /* bootargs without its NUL */
	bool bad_reg;              /* memory reg of 12 bytes */
	bool no_memory;
	bool static_net;
	const char *dns;           /* string list bytes, NULL: left out */
	int dns_len;
	uint64_t ram[4][2];        /* base, size; size 0 ends */
	uint64_t reserved[4][2];
};

static void must(int rc)
{
	if (rc != 0) {
		printf("fdt_sw failed: %s\n", fdt_strerror(rc));
		exit(2);
	}
}

static void prop_u64(void *fdt, const char *name, uint64_t v)
{
	must(fdt_property_u64(fdt, name, v));
}

static void prop_reg(void *fdt, uint64_t base, uint64_t size)
{
	fdt64_t cells[2] = { cpu_to_fdt64(base), cpu_to_fdt64(size) };

	must(fdt_property(fdt, "reg", cells, sizeof(cells)));
}

static void build(void *fdt, const struct tree *t)
{
	char name[64];

	must(fdt_create(fdt, FDT_BUF));
	must(fdt_finish_reservemap(fdt));
	must(fdt_begin_node(fdt, ""));
	must(fdt_property_string(fdt, "compatible", t->compatible));
	must(fdt_property_u32(fdt, "#address-cells", t->cells));
	must(fdt_property_u32(fdt, "#size-cells", t->cells));
	prop_u64(fdt, BOOTINFO_PROP_RSDP, 0xe0000);

	must(fdt_begin_node(fdt, "chosen"));
	if (t->cmdline && !t->bad_string)
		must(fdt_property_string(fdt, BOOTINFO_PROP_BOOTARGS, t->cmdline));
	if (t->cmdline && t->bad_string)
		must(fdt_property(fdt, BOOTINFO_PROP_BOOTARGS, t->cmdline, strlen(t->cmdline)));
	if (t->source)
		must(fdt_property_string(fdt, BOOTINFO_PROP_SOURCE, t->source));
	must(fdt_property_string(fdt, BOOTINFO_PROP_LOADER, "unicycle-boot 0.1"));
	prop_u64(fdt, BOOTINFO_PROP_IMAGE_BASE, BOOTINFO_IMAGE_LINK_BASE);
	prop_u64(fdt, BOOTINFO_PROP_IMAGE_SIZE, 0x20000);
	prop_u64(fdt, BOOTINFO_PROP_TSC_START, 1000);
	prop_u64(fdt, BOOTINFO_PROP_TSC_JUMP, 2000);
	if (t->static_net) {
		must(fdt_property_string(fdt, BOOTINFO_PROP_NET_MODE, "static"));
		must(fdt_property_string(fdt, BOOTINFO_PROP_NET_ADDR, "10.0.2.15/24"));
	}
	if (t->dns)
		must(fdt_property(fdt, BOOTINFO_PROP_NET_DNS, t->dns, t->dns_len));
	must(fdt_end_node(fdt));

	if (!t->no_memory) {
		snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)t->ram[0][0]);
		must(fdt_begin_node(fdt, name));
		must(fdt_property_string(fdt, "device_type", "memory"));
		if (t->bad_reg) {
			must(fdt_property(fdt, "reg", "0123456789ab", 12));
		} else {
			fdt64_t cells[8];
			int n = 0;

			for (int i = 0; i < 4 && t->ram[i][1]; i++) {
				cells[n++] = cpu_to_fdt64(t->ram[i][0]);
				cells[n++] = cpu_to_fdt64(t->ram[i][1]);
			}
			must(fdt_property(fdt, "reg", cells, n * sizeof(fdt64_t)));
		}
		must(fdt_end_node(fdt));
	}

	must(fdt_begin_node(fdt, "reserved-memory"));
	must(fdt_property_u32(fdt, "#address-cells", 2));
	must(fdt_property_u32(fdt, "#size-cells", 2));
	must(fdt_property(fdt, "ranges", "", 0));
	for (int i = 0; i < 4 && t->reserved[i][1]; i++) {
		snprintf(name, sizeof(name), "r@%llx", (unsigned long long)t->reserved[i][0]);
		must(fdt_begin_node(fdt, name));
		prop_reg(fdt, t->reserved[i][0], t->reserved[i][1]);
		must(fdt_end_node(fdt));
	}
	must(fdt_end_node(fdt));

	must(fdt_end_node(fdt));
	must(fdt_finish(fdt));
}

static struct tree good_tree(void)
{
	struct tree t = {
		.compatible = BOOTINFO_COMPATIBLE,
		.cells = 2,
		.source = "disk",
		.cmdline = "quiet x=1",
		/* Unsorted on purpose; the low range lies below 1 MiB. */
		.ram = { { 0x100000, 511 * MIB }, { 0, 0xa0000 } },
		.reserved = {
			{ BOOTINFO_IMAGE_LINK_BASE, 0x20000 },   /* image */
			{ 0x1ff00000, 0x100 },                   /* unaligned: whole page */
			{ 0x20000000 - 0x1000, 0x1000 },         /* last page */
		},
	};
	return t;
}

static struct bootinfo bi;
static char err[160];

/* On the heap: a static buffer of a non-PIE test binary could sit inside
 * the fake RAM ranges, and bootinfo_parse() reserves the blob itself. */
static char *parse_buffer(void)
{
	static char *fdt;

	if (!fdt)
		fdt = aligned_alloc(8, FDT_BUF);
	return fdt;
}

static int parse(const struct tree *t)
{
	char *fdt = parse_buffer();

	build(fdt, t);
	err[0] = '\0';
	return bootinfo_parse(fdt, &bi, err, sizeof(err));
}

static void test_good(void)
{
	struct tree t = good_tree();

	CHECK(parse(&t) == 0);
	CHECK(strcmp(bi.cmdline, "quiet x=1") == 0);
	CHECK(strcmp(bi.boot_source, "disk") == 0);
	CHECK(bi.boot_server == NULL && bi.net_mode == NULL);
	CHECK(bi.rsdp == 0xe0000);
	CHECK(bi.image_base == BOOTINFO_IMAGE_LINK_BASE && bi.image_size == 0x20000);
	CHECK(bi.tsc_start == 1000 && bi.tsc_jump == 2000);
	/* [1M, image) [image + 128K, 0x1ff00000) [0x1ff01000, 0x1ffff000) */
	CHECK(bi.nmem == 3);
	CHECK(bi.mem[0].base == 0x100000 &&
	      bi.mem[0].size == BOOTINFO_IMAGE_LINK_BASE - 0x100000);
	CHECK(bi.mem[1].base == BOOTINFO_IMAGE_LINK_BASE + 0x20000 &&
	      bi.mem[1].size == 0x1ff00000 - BOOTINFO_IMAGE_LINK_BASE - 0x20000);
	CHECK(bi.mem[2].base == 0x1ff01000 && bi.mem[2].size == 0x1ffff000 - 0x1ff01000);
	CHECK(bootinfo_usable_bytes(&bi) == 511 * MIB - 0x20000 - 0x2000);
	if (err[0])
		printf("  (unexpected error: %s)\n", err);
}

static void test_optional(void)
{
	struct tree t = good_tree();

	t.cmdline = NULL;
	t.source = "net";
	t.static_net = true;
	CHECK(parse(&t) == 0);
	CHECK(strcmp(bi.cmdline, "") == 0);
	CHECK(strcmp(bi.net_mode, "static") == 0);
	CHECK(strcmp(bi.net_address, "10.0.2.15/24") == 0);
	CHECK(bi.net_gateway == NULL);
	CHECK(bi.net_dns[0] == NULL);
	t.dns = "10.0.0.53\0" "192.168.1.1";
	t.dns_len = 22;
	CHECK(parse(&t) == 0);
	CHECK(bi.net_dns[0] && strcmp(bi.net_dns[0], "10.0.0.53") == 0);
	CHECK(bi.net_dns[1] && strcmp(bi.net_dns[1], "192.168.1.1") == 0);
	t.dns = "10.0.0.53";
	t.dns_len = 10;
	CHECK(parse(&t) == 0 && strcmp(bi.net_dns[0], "10.0.0.53") == 0 && !bi.net_dns[1]);
}

static void expect_error(struct tree *t, const char *needle)
{
	int rc = parse(t);

	CHECK(rc == -1);
	CHECK(strstr(err, needle) != NULL);
	if (!strstr(err, needle))
		printf("  error was \"%s\", want it to mention \"%s\"\n", err, needle);
}

static void test_errors(void)
{
	struct tree t;

	t = good_tree(); t.compatible = "linux,dummy-virt";
	expect_error(&t, "compatible");
	t = good_tree(); t.cells = 1;
	expect_error(&t, "#address-cells");
	t = good_tree(); t.source = NULL;
	expect_error(&t, BOOTINFO_PROP_SOURCE);
	t = good_tree(); t.source = "floppy";
	expect_error(&t, BOOTINFO_PROP_SOURCE);
	t = good_tree(); t.bad_string = true;
	expect_error(&t, BOOTINFO_PROP_BOOTARGS);
	t = good_tree(); t.bad_reg = true;
	expect_error(&t, "reg");
	t = good_tree(); t.no_memory = true;
	expect_error(&t, "memory");
	t = good_tree(); t.dns = "1.1.1.1\0" "2.2.2.2\0" "3.3.3.3"; t.dns_len = 24;
	expect_error(&t, "too many strings");
	t = good_tree(); t.dns = "1.1.1.1"; t.dns_len = 7;   /* no NUL */
	expect_error(&t, BOOTINFO_PROP_NET_DNS);
	t = good_tree(); t.dns = "1.1.1.1\0\0"; t.dns_len = 9;
	expect_error(&t, "empty string");
}

static void test_bad_header(void)
{
	static char junk[64] __attribute__((aligned(8)));

	memset(junk, 0x5a, sizeof(junk));
	CHECK(bootinfo_parse(junk, &bi, err, sizeof(err)) == -1);
	CHECK(strstr(err, "FDT header") != NULL);
}

/* The SMP trampoline's page: the top usable page below the limit, moved
 * from low to reserved (sorted). */
static void test_take_low_page(void)
{
	struct tree t = good_tree();
	size_t nres;

	CHECK(parse(&t) == 0);
	CHECK(bi.nlow == 1 && bi.low[0].base == 0x1000 && bi.low[0].size == 0x9f000);
	nres = bi.nreserved;
	CHECK(bootinfo_take_low_page(&bi, 0x100000) == 0x9f000);
	CHECK(bi.nlow == 1 && bi.low[0].size == 0x9e000);
	CHECK(bi.nreserved == nres + 1);
	for (size_t i = 1; i < bi.nreserved; i++)
		CHECK(bi.reserved[i - 1].base <= bi.reserved[i].base);
	/* Below a limit inside the range: split around the page. */
	CHECK(bootinfo_take_low_page(&bi, 0x50800) == 0x4f000);
	CHECK(bi.nlow == 2 && bi.low[0].base == 0x1000 && bi.low[0].size == 0x4e000 &&
	      bi.low[1].base == 0x50000 && bi.low[1].size == 0x4f000);
	CHECK(bootinfo_take_low_page(&bi, 0x2000) == 0x1000);
	/* Found by tests/fuzz/fuzz_bootinfo.c: the range [0x1000, 0x1000) stayed. */
	CHECK(bi.nlow == 2 && bi.low[0].base == 0x2000 && bi.low[0].size == 0x4d000);
	for (size_t i = 0; i < bi.nlow; i++)
		CHECK(bi.low[i].size != 0);
	CHECK(bootinfo_take_low_page(&bi, 0x2000) == 0);
	/* No RAM below 1 MiB at all. */
	t.ram[1][1] = 0;
	CHECK(parse(&t) == 0);
	CHECK(bi.nlow == 0 && bootinfo_take_low_page(&bi, 0x100000) == 0);
}

/* Found by tests/fuzz/fuzz_bootinfo.c: /memory ranges that overlap gave
 * overlapping usable ranges, so the allocator got the same pages twice. */
static void test_overlapping_ram(void)
{
	struct tree t = good_tree();

	t.ram[0][0] = 0x100000;    /* [1 MiB, 64 MiB) inside the next one */
	t.ram[0][1] = 0x3f00000;
	t.ram[1][0] = 0;           /* [0, 512 MiB) */
	t.ram[1][1] = 0x20000000;
	t.ram[2][0] = 0x1fff0000;  /* [512 MiB - 64 KiB, 512 MiB + 1 MiB): sticks out */
	t.ram[2][1] = 0x110000;
	t.ram[3][1] = 0;
	CHECK(parse(&t) == 0);
	for (size_t i = 1; i < bi.nmem; i++)
		CHECK(bi.mem[i].base >= bi.mem[i - 1].base + bi.mem[i - 1].size);
	CHECK(bi.nmem >= 1 && bi.mem[bi.nmem - 1].base + bi.mem[bi.nmem - 1].size ==
	      0x20100000);
}

/* Found by tests/fuzz/fuzz_bootinfo.c (corpus/bootinfo/crash-overlap-top-page):
 * rounding a range's base up to a page wrapped to 0 for a range starting in
 * the last page of the address space, which then became usable from 1 MiB
 * up, over every other range; and a reserved range reaching into that page
 * was widened to an end that wrapped, so it reserved nothing. */
static void test_last_page_of_the_address_space(void)
{
	struct tree t = good_tree();

	t.ram[2][0] = UINT64_MAX - 0xffe;      /* [2^64 - 4095, 2^64 - 1): no whole page */
	t.ram[2][1] = 0xffe;
	CHECK(parse(&t) == 0);
	CHECK(bi.nmem >= 1 && bi.mem[bi.nmem - 1].base + bi.mem[bi.nmem - 1].size <= 0x20000000);
	for (size_t i = 1; i < bi.nmem; i++)
		CHECK(bi.mem[i].base >= bi.mem[i - 1].base + bi.mem[i - 1].size);

	t = good_tree();
	t.ram[2][0] = 0x100000000ULL;          /* RAM above 4 GiB up to the last page */
	t.ram[2][1] = UINT64_MAX - 0x100000000ULL - 0xfff;
	t.reserved[3][0] = 0x200000000ULL;     /* reserved from 8 GiB into the last page */
	t.reserved[3][1] = UINT64_MAX - 0x200000000ULL - 0x10;
	CHECK(parse(&t) == 0);
	for (size_t i = 0; i < bi.nmem; i++)
		CHECK(bi.mem[i].base + bi.mem[i].size <= 0x200000000ULL);
}

/* Found by tests/fuzz/fuzz_bootinfo.c: a structure block at an offset
 * that is not a multiple of 4 made libfdt load cells misaligned (undefined
 * behaviour, caught by UBSan). Refused now, naming the header. */
static void test_misaligned_blocks(void)
{
	struct tree t = good_tree();
	char *fdt = parse_buffer();
	uint32_t st, total;

	build(fdt, &t);
	st = fdt_off_dt_struct(fdt);
	total = fdt_totalsize(fdt);
	memmove(fdt + st + 2, fdt + st, total - st);
	fdt_set_off_dt_struct(fdt, st + 2);
	fdt_set_off_dt_strings(fdt, fdt_off_dt_strings(fdt) + 2);
	fdt_set_totalsize(fdt, total + 2);
	err[0] = '\0';
	CHECK(bootinfo_parse(fdt, &bi, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not aligned") != NULL);
}

/* Found by tests/fuzz/fuzz_bootinfo.c: a property length of 2^32 - 12
 * made libfdt's walk return to the same tag, so looking up a property
 * looped forever. Refused now; the alarm fails the test if it hangs. */
static void test_wrapping_prop_len(void)
{
	struct tree t = good_tree();
	char *fdt = parse_buffer();
	int chosen, prop;

	build(fdt, &t);
	chosen = fdt_path_offset(fdt, "/chosen");
	prop = fdt_first_property_offset(fdt, chosen);
	CHECK(prop >= 0);
	((struct fdt_property *)(fdt + fdt_off_dt_struct(fdt) + prop))->len =
		cpu_to_fdt32(0xfffffff4u);
	alarm(10);
	err[0] = '\0';
	CHECK(bootinfo_parse(fdt, &bi, err, sizeof(err)) == -1);
	alarm(0);
	CHECK(strstr(err, "structure block") != NULL);
}

int main(void)
{
	test_good();
	test_take_low_page();
	test_overlapping_ram();
	test_last_page_of_the_address_space();
	test_misaligned_blocks();
	test_wrapping_prop_len();
	test_optional();
	test_errors();
	test_bad_header();
	free(parse_buffer());
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
