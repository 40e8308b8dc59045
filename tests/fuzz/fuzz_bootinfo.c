/* fuzz_bootinfo.c: libFuzzer target: arbitrary blobs through the runtime's boot info checks (runtime/kernel/bootinfo.c, libfdt). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include "arch/x86_64/memlayout.h"
#include "kernel/kernel.h"

/*
 * The blob is copied into a heap block of exactly its size, 8-byte aligned
 * as the bootloader places it. The runtime knows the blob only by its
 * address, so its header's totalsize is the bound: a totalsize beyond the
 * input is cut to the input (the bootloader never hands over more bytes
 * than it wrote). Checked on success: the strings lie inside the blob, the
 * usable ranges are page-aligned, sorted, apart, above 1 MiB and outside
 * every reserved range, the low ranges below 1 MiB; taking low pages for
 * trampolines keeps all of that true.
 */

#define FUZZ_PAGE 4096ull

void panic_at(const char *file, int line, const char *fmt, ...)
{
	(void)fmt;
	fprintf(stderr, "fuzz_bootinfo: panic at %s:%d\n", file, line);
	abort();
}

int console_printf(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

static void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_bootinfo: %s\n", what);
	abort();
}

/* bootinfo_parse's "" for an absent bootargs is not in the blob. */
static const char *uc_cmdline_default;

static void check_string(const char *s, const char *blob, size_t size)
{
	if (!s || (s == uc_cmdline_default && s[0] == '\0'))
		return;
	if (s < blob || s >= blob + size || !memchr(s, '\0', (size_t)(blob + size - s)))
		fuzz_fail("string outside the blob");
}

static bool overlaps(uint64_t b1, uint64_t s1, uint64_t b2, uint64_t s2)
{
	return b1 < b2 + s2 && b2 < b1 + s1;
}

static void check_ranges(const struct bootinfo *bi, const struct bootinfo_range *r, size_t n,
			 uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < n; i++) {
		if (r[i].size == 0 || r[i].base % FUZZ_PAGE || r[i].size % FUZZ_PAGE)
			fuzz_fail("usable range empty or not page-aligned");
		if (r[i].base < lo || r[i].base + r[i].size < r[i].base ||
		    (hi && r[i].base + r[i].size > hi))
			fuzz_fail("usable range outside its window");
		if (i && r[i].base < r[i - 1].base + r[i - 1].size)
			fuzz_fail("usable ranges unsorted or overlapping");
		for (size_t k = 0; k < bi->nreserved; k++) {
			uint64_t rb = bi->reserved[k].base & ~(FUZZ_PAGE - 1);
			uint64_t re = (bi->reserved[k].base + bi->reserved[k].size + FUZZ_PAGE - 1) &
				      ~(FUZZ_PAGE - 1);

			if (re > rb && overlaps(r[i].base, r[i].size, rb, re - rb))
				fuzz_fail("usable range overlaps a reserved one");
		}
	}
}

static void check(struct bootinfo *bi, const char *blob, size_t size)
{
	if (bi->cmdline && !bi->cmdline[0] &&
	    (bi->cmdline < blob || bi->cmdline >= blob + size))
		uc_cmdline_default = bi->cmdline;
	check_string(bi->cmdline, blob, size);
	check_string(bi->boot_source, blob, size);
	check_string(bi->boot_server, blob, size);
	check_string(bi->net_mode, blob, size);
	check_string(bi->net_address, blob, size);
	check_string(bi->net_gateway, blob, size);
	for (int i = 0; i < BOOTINFO_NET_DNS_MAX; i++)
		check_string(bi->net_dns[i], blob, size);
	if (!bi->cmdline || !bi->boot_source)
		fuzz_fail("cmdline or boot source missing");
	if (bi->nmem > BOOTINFO_MAX_RANGES || bi->nreserved > BOOTINFO_MAX_RANGES ||
	    bi->nlow > BOOTINFO_MAX_LOW)
		fuzz_fail("range count past its array");
	for (size_t i = 1; i < bi->nreserved; i++)
		if (bi->reserved[i].base < bi->reserved[i - 1].base)
			fuzz_fail("reserved ranges unsorted");
	check_ranges(bi, bi->mem, bi->nmem, MEMLAYOUT_LOW_LIMIT, 0);
	check_ranges(bi, bi->low, bi->nlow, FUZZ_PAGE, MEMLAYOUT_LOW_LIMIT);
	(void)bootinfo_usable_bytes(bi);
	for (int i = 0; i < 4; i++) {
		uint64_t limit = i & 1 ? 0x100000 : 0xa0000;
		uint64_t page = bootinfo_take_low_page(bi, limit);

		if (!page)
			break;
		if (page % FUZZ_PAGE || page + FUZZ_PAGE > limit || page < FUZZ_PAGE)
			fuzz_fail("low page misplaced");
		for (size_t k = 0; k < bi->nlow; k++)
			if (overlaps(bi->low[k].base, bi->low[k].size, page, FUZZ_PAGE))
				fuzz_fail("low page still usable");
		check_ranges(bi, bi->low, bi->nlow, FUZZ_PAGE, MEMLAYOUT_LOW_LIMIT);
		for (size_t k = 1; k < bi->nreserved; k++)
			if (bi->reserved[k].base < bi->reserved[k - 1].base)
				fuzz_fail("reserved ranges unsorted after taking a page");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bootinfo bi;
	char err[160];
	char *blob;

	if (size < sizeof(struct fdt_header))
		return 0;
	blob = aligned_alloc(8, (size + 7) & ~(size_t)7);
	memcpy(blob, data, size);
	if (fdt_totalsize(blob) > size)
		fdt_set_totalsize(blob, (uint32_t)size);
	err[0] = '\0';
	if (bootinfo_parse(blob, &bi, err, sizeof(err)) == 0)
		check(&bi, blob, size);
	else if (!memchr(err, '\0', sizeof(err)) || !err[0])
		fuzz_fail("refused without a message");
	free(blob);
	return 0;
}
