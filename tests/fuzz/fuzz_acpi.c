/* fuzz_acpi.c: libFuzzer target: arbitrary bytes as the firmware's memory, walked by the runtime's ACPI parser (runtime/kernel/acpi.c). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/x86_64/paging.h"
#include "kernel/acpi.h"

/*
 * acpi.c reads physical address p at acpi_host_ram + p. Here that is one
 * anonymous mapping as large as the RAM the runtime maps (512 GiB, never
 * backed: untouched pages read as zeros, like empty RAM) followed by an
 * inaccessible guard, so any address the tables name below 512 GiB can be
 * read and none above. The first input byte picks where the rest goes:
 *   even: at FUZZ_LOW_PHYS, the RSDP first (an RSDT entry of
 *         FUZZ_LOW_PHYS + k is byte k of it);
 *   odd:  ending exactly at 512 GiB, the RSDP first: a read past the
 *         input's end is a read past the mapped RAM, which the runtime
 *         must refuse before it touches it (the guard catches it).
 * The mapping is made anew every FUZZ_REMAP runs so that pages touched by
 * stray addresses go away. Checked on success: every count fits its
 * array, and a second parse of the same bytes gives the same result.
 */

#define FUZZ_RAM_SIZE   PAGING_IDENTITY_END
#define FUZZ_GUARD      (1ull << 21)
#define FUZZ_LOW_PHYS   0xe0000ull
#define FUZZ_REMAP      512u
#define FUZZ_INPUT_MAX  (64u << 10)

uintptr_t acpi_host_ram;
static uint8_t *ram;
static unsigned runs;

int console_printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	/* Formatted for real: the %.4s of a signature reads table bytes. */
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (getenv("FUZZ_DEBUG"))
		fputs(buf, stderr);
	return n;
}

static void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_acpi: %s\n", what);
	abort();
}

static void ram_map(void)
{
	if (ram)
		munmap(ram, FUZZ_RAM_SIZE + FUZZ_GUARD);
	ram = mmap(NULL, FUZZ_RAM_SIZE + FUZZ_GUARD, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED || mprotect(ram + FUZZ_RAM_SIZE, FUZZ_GUARD, PROT_NONE) != 0)
		fuzz_fail("cannot map the fake RAM");
	acpi_host_ram = (uintptr_t)ram;
}

static void check(const struct acpi_info *a)
{
	if (a->ncpus > ACPI_MAX_CPUS || a->nioapics > ACPI_MAX_IOAPICS ||
	    a->noverrides > ACPI_MAX_OVERRIDES || a->nmcfg > ACPI_MAX_MCFG)
		fuzz_fail("count past its array");
	for (unsigned i = 0; i < a->nmcfg; i++)
		if (a->mcfg[i].bus_end < a->mcfg[i].bus_start)
			fuzz_fail("MCFG segment with end bus below start");
	if (a->tables == 0)
		fuzz_fail("success without a root table");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct acpi_info a, b;
	uint64_t phys;
	int rc;

	if (size < 1 || size > FUZZ_INPUT_MAX)
		return 0;
	if (!ram || ++runs % FUZZ_REMAP == 0)
		ram_map();
	phys = data[0] & 1 ? FUZZ_RAM_SIZE - (size - 1) : FUZZ_LOW_PHYS;
	memcpy(ram + phys, data + 1, size - 1);
	rc = acpi_parse(phys, &a);
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "rc %d: %u tables (%u bad), %u cpus, %u ioapics, %u overrides, %u mcfg, "
			"hpet %d, fadt %d\n", rc, a.tables, a.bad_tables, a.ncpus, a.nioapics,
			a.noverrides, a.nmcfg, a.have_hpet, a.have_fadt);
	if (rc == 0) {
		check(&a);
		if (acpi_parse(phys, &b) != 0 || memcmp(&a, &b, sizeof(a)) != 0)
			fuzz_fail("second parse differs");
	}
	memset(ram + phys, 0, size - 1);
	return 0;
}
