/* test_bootloader_fdtbuild.c: the boot info tree bootloader/fdtbuild.c
 * builds, read back with libfdt against unicycle/bootinfo.h. */
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicycle/bootinfo.h>

#include "fdtbuild.h"

#include "check.h"


static uint64_t be64_at(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static int prop_is(const void *fdt, const char *path, const char *name,
                   const char *want)
{
	int node = fdt_path_offset(fdt, path), len;
	const char *v;

	if (node < 0)
		return 0;
	v = fdt_getprop(fdt, node, name, &len);
	return v && len == (int)strlen(want) + 1 && strcmp(v, want) == 0;
}

static uint64_t prop_u64(const void *fdt, const char *path, const char *name)
{
	int node = fdt_path_offset(fdt, path), len;
	const void *v;

	if (node < 0)
		return ~0ULL;
	v = fdt_getprop(fdt, node, name, &len);
	return v && len == 8 ? be64_at(v) : ~0ULL;
}

static int has_prop(const void *fdt, const char *path, const char *name)
{
	int node = fdt_path_offset(fdt, path);

	return node >= 0 && fdt_getprop(fdt, node, name, NULL) != NULL;
}

/* reg of path equals the n (base, size) pairs in want. */
static int reg_is(const void *fdt, const char *path, const uint64_t *want, int n)
{
	int node = fdt_path_offset(fdt, path), len;
	const uint8_t *v;

	if (node < 0)
		return 0;
	v = fdt_getprop(fdt, node, "reg", &len);
	if (!v || len != n * 16)
		return 0;
	for (int i = 0; i < 2 * n; i++)
		if (be64_at(v + 8 * i) != want[i])
			return 0;
	return 1;
}

static void test_merge(void)
{
	struct fdtbuild_region r[] = {
		{ 0x100000, 0x700000, FDTBUILD_MEM_USABLE },
		{ 0x0, 0xa0000, FDTBUILD_MEM_USABLE },
		{ 0x800000, 0x8000, FDTBUILD_MEM_ACPI },
		{ 0x808000, 0x8000, FDTBUILD_MEM_USABLE },   /* not touching 0x100000+0x700000 */
		{ 0x900000, 0x1000, FDTBUILD_MEM_USABLE },
		{ 0x901000, 0x2000, FDTBUILD_MEM_USABLE },   /* touches the one before */
		{ 0x902000, 0x3000, FDTBUILD_MEM_USABLE },   /* overlaps it */
		{ 0xa00800, 0x1000, FDTBUILD_MEM_USABLE },   /* less than a whole page */
		{ 0xb00800, 0x2000, FDTBUILD_MEM_USABLE },   /* shrinks to one page */
		{ UINT64_MAX - 0xfff, 0x2000, FDTBUILD_MEM_USABLE },  /* wraps */
	};
	size_t n = fdtbuild_merge(r, sizeof(r) / sizeof(r[0]));

	/* The sub-page range and the wrapping one are dropped. */
	CHECK(n == 6);
	CHECK(r[0].base == 0 && r[0].size == 0xa0000);
	CHECK(r[1].base == 0x100000 && r[1].size == 0x700000);
	CHECK(r[2].base == 0x800000 && r[2].kind == FDTBUILD_MEM_ACPI);
	CHECK(r[3].base == 0x808000 && r[3].size == 0x8000);
	CHECK(r[4].base == 0x900000 && r[4].size == 0x5000);
	CHECK(r[5].base == 0xb01000 && r[5].size == 0x1000);
	CHECK(fdtbuild_merge(r, 0) == 0);
}

static const uint8_t digest[32] = {
	0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 0x42,
};

static void base_info(struct fdtbuild_info *in)
{
	memset(in, 0, sizeof(*in));
	in->bootargs = "console=ttyS0";
	in->boot_source = "disk";
	in->bootloader = "unicycle-boot 9.9";
	in->image_sha256 = digest;
	in->image_base = BOOTINFO_IMAGE_LINK_BASE;
	in->image_size = 0x15000;
	in->tsc_start = 0x123456789aULL;
	in->blob_base = 0x1dd25000;
	in->blob_size = 0x15000;
}

static void test_build(void)
{
	static uint8_t buf[1 << 16] __attribute__((aligned(8)));
	struct fdtbuild_region r[] = {
		{ 0x0, 0xa0000, FDTBUILD_MEM_USABLE },
		{ 0x100000, 0x700000, FDTBUILD_MEM_USABLE },
		{ 0x800000, 0x8000, FDTBUILD_MEM_ACPI },
		{ 0x1eabb000, 0xc1000, FDTBUILD_MEM_RUNTIME },
		{ 0x1f000000, 0x100000, FDTBUILD_MEM_USABLE },
	};
	static const uint64_t want_mem[] = {
		0x0, 0xa0000, 0x100000, 0x700000, 0x1f000000, 0x100000,
	};
	struct fdtbuild_fb fb = { 0x80000000, 0x3e8000, 1280, 800, 5120, "a8r8g8b8" };
	struct fdtbuild_info in;
	const void *sha;
	int len, node, count;

	base_info(&in);
	in.acpi_rsdp = 0x1f77e014;
	in.fb = &fb;
	in.net_mode = "static";
	in.net_address = "10.0.2.15/24";
	in.net_gateway = "10.0.2.2";
	in.net_dns[0] = "10.0.2.3";
	in.net_dns[1] = "192.168.100.200";
	CHECK(fdtbuild_build(buf, sizeof(buf), &in, r, 5) == 0);
	CHECK(fdt_check_header(buf) == 0);
	CHECK(fdt_totalsize(buf) <= sizeof(buf));

	CHECK(prop_is(buf, "/", "compatible", BOOTINFO_COMPATIBLE));
	CHECK(fdt_address_cells(buf, 0) == 2 && fdt_size_cells(buf, 0) == 2);
	CHECK(prop_u64(buf, "/", BOOTINFO_PROP_RSDP) == 0x1f77e014);

	CHECK(prop_is(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_BOOTARGS, "console=ttyS0"));
	CHECK(prop_is(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_SOURCE, "disk"));
	CHECK(prop_is(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_LOADER, "unicycle-boot 9.9"));
	node = fdt_path_offset(buf, BOOTINFO_CHOSEN);
	sha = fdt_getprop(buf, node, BOOTINFO_PROP_SHA256, &len);
	CHECK(sha && len == 32 && memcmp(sha, digest, 32) == 0);
	CHECK(prop_u64(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_IMAGE_BASE) == BOOTINFO_IMAGE_LINK_BASE);
	CHECK(prop_u64(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_IMAGE_SIZE) == 0x15000);
	CHECK(prop_u64(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_TSC_START) == 0x123456789aULL);
	CHECK(prop_u64(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_TSC_JUMP) == 0);
	CHECK(prop_is(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_NET_MODE, "static"));
	CHECK(prop_is(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_NET_ADDR, "10.0.2.15/24"));
	CHECK(prop_is(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_NET_GW, "10.0.2.2"));
	{
		const char *dns = fdt_getprop(buf, node, BOOTINFO_PROP_NET_DNS, &len);

		CHECK(dns && len == 25 && memcmp(dns, "10.0.2.3\0" "192.168.100.200", 25) == 0);
		CHECK(fdt_stringlist_count(buf, node, BOOTINFO_PROP_NET_DNS) == 2);
	}
	CHECK(!has_prop(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_SERVER));

	CHECK(prop_is(buf, "/memory@0", "device_type", "memory"));
	CHECK(reg_is(buf, "/memory@0", want_mem, 3));

	node = fdt_path_offset(buf, BOOTINFO_RESERVED);
	CHECK(node >= 0);
	CHECK(fdt_address_cells(buf, node) == 2 && fdt_size_cells(buf, node) == 2);
	CHECK(has_prop(buf, BOOTINFO_RESERVED, "ranges"));
	{
		uint64_t img[] = { BOOTINFO_IMAGE_LINK_BASE, 0x15000 };
		uint64_t blob[] = { 0x1dd25000, 0x15000 };
		uint64_t acpi[] = { 0x800000, 0x8000 };
		uint64_t rt[] = { 0x1eabb000, 0xc1000 };
		char path[64];

		snprintf(path, sizeof(path), "%s/image@%llx", BOOTINFO_RESERVED,
		         (unsigned long long)BOOTINFO_IMAGE_LINK_BASE);
		CHECK(reg_is(buf, path, img, 1) && !has_prop(buf, path, "no-map"));
		CHECK(reg_is(buf, "/reserved-memory/bootinfo@1dd25000", blob, 1));
		CHECK(!has_prop(buf, "/reserved-memory/bootinfo@1dd25000", "no-map"));
		CHECK(reg_is(buf, "/reserved-memory/acpi@800000", acpi, 1));
		CHECK(has_prop(buf, "/reserved-memory/acpi@800000", "no-map"));
		CHECK(reg_is(buf, "/reserved-memory/runtime@1eabb000", rt, 1));
		CHECK(has_prop(buf, "/reserved-memory/runtime@1eabb000", "no-map"));
	}
	count = 0;
	fdt_for_each_subnode(node, buf, fdt_path_offset(buf, BOOTINFO_RESERVED))
		count++;
	CHECK(count == 4);

	{
		uint64_t fbreg[] = { 0x80000000, 0x3e8000 };
		int fbn = fdt_path_offset(buf, "/framebuffer@80000000");
		const fdt32_t *w = fdt_getprop(buf, fbn, "stride", &len);

		CHECK(prop_is(buf, "/framebuffer@80000000", "compatible", "simple-framebuffer"));
		CHECK(reg_is(buf, "/framebuffer@80000000", fbreg, 1));
		CHECK(w && len == 4 && fdt32_to_cpu(*w) == 5120);
		CHECK(prop_is(buf, "/framebuffer@80000000", "format", "a8r8g8b8"));
	}

	CHECK(fdtbuild_set_tsc_jump(buf, 0xfeedface12ULL) == 0);
	CHECK(prop_u64(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_TSC_JUMP) == 0xfeedface12ULL);
}

static void test_optional_absent(void)
{
	static uint8_t buf[1 << 14] __attribute__((aligned(8)));
	struct fdtbuild_region r[] = { { 0x200000, 0x1000000, FDTBUILD_MEM_USABLE } };
	struct fdtbuild_info in;

	base_info(&in);
	in.bootargs = "";
	CHECK(fdtbuild_build(buf, sizeof(buf), &in, r, 1) == 0);
	CHECK(prop_is(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_BOOTARGS, ""));
	CHECK(!has_prop(buf, "/", BOOTINFO_PROP_RSDP));
	CHECK(!has_prop(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_NET_MODE));
	CHECK(!has_prop(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_NET_ADDR));
	CHECK(!has_prop(buf, BOOTINFO_CHOSEN, BOOTINFO_PROP_NET_GW));
	CHECK(fdt_path_offset(buf, "/memory@200000") >= 0);
	CHECK(fdt_subnode_offset(buf, 0, "framebuffer") < 0);
	CHECK(fdt_node_offset_by_compatible(buf, -1, "simple-framebuffer") < 0);

	/* No usable RAM is an error, not an empty /memory. */
	r[0].kind = FDTBUILD_MEM_ACPI;
	CHECK(fdtbuild_build(buf, sizeof(buf), &in, r, 1) < 0);
}

/* The size estimate holds a worst-case map, and a short buffer fails
 * cleanly with NOSPACE. */
static void test_size(void)
{
	enum { N = 400 };
	static struct fdtbuild_region r[N];
	size_t size = fdtbuild_size(N);
	uint8_t *buf = aligned_alloc(8, size);
	struct fdtbuild_fb fb = { 0x80000000, 0x3e8000, 1280, 800, 5120, "a8b8g8r8" };
	struct fdtbuild_info in;
	static char args[1024];

	/* Alternate kinds so nothing merges: every range its own entry. */
	for (int i = 0; i < N; i++) {
		r[i].base = 0x100000 + (uint64_t)i * 0x2000;
		r[i].size = 0x1000;
		r[i].kind = i % 3 == 0 ? FDTBUILD_MEM_USABLE :
		            i % 3 == 1 ? FDTBUILD_MEM_ACPI : FDTBUILD_MEM_RUNTIME;
	}
	memset(args, 'a', sizeof(args) - 1);
	base_info(&in);
	in.bootargs = args;
	in.fb = &fb;
	in.acpi_rsdp = 0xe0000;
	in.net_mode = "static";
	in.net_address = "255.255.255.255/32";
	in.net_gateway = "255.255.255.255";
	CHECK(fdtbuild_build(buf, size, &in, r, N) == 0);
	CHECK(fdt_totalsize(buf) <= size);
	CHECK(fdtbuild_build(buf, 512, &in, r, N) == -FDT_ERR_NOSPACE);
	free(buf);
}

int main(void)
{
	test_merge();
	test_build();
	test_optional_absent();
	test_size();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
