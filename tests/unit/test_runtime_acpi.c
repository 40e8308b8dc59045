/* test_runtime_acpi.c: host unit test of the ACPI table walk (kernel/acpi.c) over synthetic tables: good, bad checksum, truncated, beyond the mapped RAM. */
#include <errno.h>
#include <sanitizer/asan_interface.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/paging.h"
#include "kernel/acpi.h"

#include "check.h"
#include "console_log.h"           /* acpi.c reports through the console */

/*
 * The tables live in `ram`, which stands in for physical memory: acpi.c
 * reads physical address p at acpi_host_ram + p. Each test places `ram`
 * where it wants (at 1 MiB, or ending at the top of the mapped 512 GiB);
 * the bytes between tables stay poisoned, so AddressSanitizer still catches
 * a read past a table's end.
 */
#define RAM_SIZE     (256u << 10)
#define RAM_LOW_PHYS 0x100000u    /* ram[0] for the ordinary tests: 1 MiB */
#define RAM_GAP      64u          /* poisoned bytes after each table */
uintptr_t acpi_host_ram;
static uint8_t *ram;
static size_t ram_used;

/* ram[0] is physical address `phys`; every table is gone. */
static void ram_at(uint64_t phys)
{
	if (!ram)
		ram = aligned_alloc(4096, RAM_SIZE);
	ASAN_POISON_MEMORY_REGION(ram, RAM_SIZE);
	ram_used = 0;
	acpi_host_ram = (uintptr_t)ram - (uintptr_t)phys;
}

static uint8_t *ram_place(size_t at, size_t len)
{
	uint8_t *p = ram + at;

	ASAN_UNPOISON_MEMORY_REGION(p, len);
	memset(p, 0, len);
	return p;
}

static uint8_t *ram_alloc(size_t len)
{
	uint8_t *p = ram_place(ram_used, len);

	ram_used += (len + RAM_GAP + 15) & ~(size_t)15;
	return p;
}

static uint64_t addr(const void *p)
{
	return (uint64_t)((uintptr_t)p - acpi_host_ram);
}


static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static void put64(uint8_t *p, uint64_t v) { put32(p, v); put32(p + 4, v >> 32); }

static void fix_sum(uint8_t *p, size_t len, size_t at)
{
	uint8_t s = 0;

	p[at] = 0;
	for (size_t i = 0; i < len; i++)
		s += p[i];
	p[at] = (uint8_t)-s;
}

/* A table with header: signature, length, checksum made right. */
static uint8_t *table(const char *sig, uint32_t len)
{
	uint8_t *t = ram_alloc(len);

	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = 1;
	memcpy(t + 10, "UCTEST", 6);
	return t;
}

static void seal(uint8_t *t)
{
	uint32_t len = t[4] | t[5] << 8 | t[6] << 16 | (uint32_t)t[7] << 24;

	fix_sum(t, len, 9);
}

static uint8_t *make_madt(bool truncate_entry)
{
	uint32_t len = 44 + 8 + 8 + 12 + 10 + 16;
	uint8_t *t = table("APIC", len), *e = t + 44;

	put32(t + 36, 0xfee00000);
	put32(t + 40, 1); /* PCAT_COMPAT */
	e[0] = 0; e[1] = 8; e[2] = 0; e[3] = 0; put32(e + 4, 1); e += 8;    /* CPU 0 */
	e[0] = 0; e[1] = 8; e[2] = 1; e[3] = 2; put32(e + 4, 1); e += 8;    /* CPU apic 2 */
	e[0] = 1; e[1] = 12; e[2] = 5; put32(e + 4, 0xfec00000); put32(e + 8, 0); e += 12;
	e[0] = 2; e[1] = 10; e[2] = 0; e[3] = 0; put32(e + 4, 2); put16(e + 8, 0); e += 10;
	e[0] = 9; e[1] = truncate_entry ? 40 : 16; put32(e + 4, 300); put32(e + 8, 1); put32(e + 12, 7);
	seal(t);
	return t;
}

static uint8_t *make_mcfg(void)
{
	uint8_t *t = table("MCFG", 44 + 16);

	put64(t + 44, 0xb0000000);
	t[44 + 10] = 0;
	t[44 + 11] = 255;
	seal(t);
	return t;
}

static uint8_t *make_hpet(void)
{
	uint8_t *t = table("HPET", 56);

	t[40] = 0; /* memory space */
	put64(t + 44, 0xfed00000);
	put16(t + 53, 128);
	seal(t);
	return t;
}

static uint8_t *make_fadt(void)
{
	uint8_t *t = table("FACP", 244);

	put16(t + 46, 9);
	put32(t + 76, 0x608);
	t[91] = 4;
	put32(t + 112, 1u << 8);
	seal(t);
	return t;
}

static uint8_t *make_xsdt(uint8_t **tables, int n)
{
	uint8_t *t = table("XSDT", 36 + 8 * n);

	for (int i = 0; i < n; i++)
		put64(t + 36 + 8 * i, addr(tables[i]));
	seal(t);
	return t;
}

static uint8_t *make_rsdt(uint8_t **tables, int n)
{
	uint8_t *t = table("RSDT", 36 + 4 * n);

	/* 32-bit pointers: the tests that use it keep `ram` at 1 MiB. */
	for (int i = 0; i < n; i++)
		put32(t + 36 + 4 * i, (uint32_t)addr(tables[i]));
	seal(t);
	return t;
}

static uint8_t *make_rsdp(uint8_t *xsdt, uint8_t *rsdt)
{
	uint8_t *r = ram_alloc(36);

	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "UCTEST", 6);
	r[15] = 2;
	put32(r + 16, rsdt ? (uint32_t)addr(rsdt) : 0);
	put32(r + 20, 36);
	put64(r + 24, xsdt ? addr(xsdt) : 0);
	fix_sum(r, 20, 8);
	fix_sum(r, 36, 32);
	return r;
}

static void test_good(void)
{
	uint8_t *t[4], *x, *r;
	struct acpi_info *a = calloc(1, sizeof(*a));

	ram_at(RAM_LOW_PHYS);
	t[0] = make_madt(false);
	t[1] = make_mcfg();
	t[2] = make_hpet();
	t[3] = make_fadt();
	x = make_xsdt(t, 4);
	r = make_rsdp(x, NULL);
	log_buf[0] = 0;
	CHECK(acpi_parse(addr(r), a) == 0);
	CHECK(a->from_xsdt);
	CHECK(a->tables == 5 && a->bad_tables == 0);
	CHECK(a->have_madt && a->lapic_addr == 0xfee00000 && a->pcat_compat);
	CHECK(a->ncpus == 3);
	CHECK(a->cpus[1].apic_id == 2 && !a->cpus[1].x2apic_entry);
	CHECK(a->cpus[2].apic_id == 300 && a->cpus[2].uid == 7 && a->cpus[2].x2apic_entry);
	CHECK(a->nioapics == 1 && a->ioapics[0].addr == 0xfec00000 && a->ioapics[0].id == 5);
	CHECK(a->noverrides == 1 && a->overrides[0].source == 0 && a->overrides[0].gsi == 2);
	CHECK(a->nmcfg == 1 && a->mcfg[0].base == 0xb0000000 && a->mcfg[0].bus_end == 255);
	CHECK(a->have_hpet && a->hpet_addr == 0xfed00000 && a->hpet_min_tick == 128);
	CHECK(a->have_fadt && a->pm_timer_port == 0x608 && a->pm_timer_32bit && a->sci_irq == 9);
	CHECK(log_buf[0] == 0);
	free(a);
}

static void test_bad_checksum_and_truncated(void)
{
	uint8_t *t[4], *x, *r;
	struct acpi_info *a = calloc(1, sizeof(*a));

	ram_at(RAM_LOW_PHYS);
	t[0] = make_madt(true);
	t[1] = make_mcfg();
	t[2] = make_hpet();
	t[3] = make_fadt();
	t[2][60 - 10] ^= 0x55;  /* HPET: a byte changed after sealing */
	t[1][4] = 40;           /* MCFG: length below 44 + 16n */
	seal(t[1]);
	x = make_xsdt(t, 4);
	r = make_rsdp(x, NULL);
	log_buf[0] = 0;
	CHECK(acpi_parse(addr(r), a) == 0);
	CHECK(!a->have_madt);   /* an entry ran past the table: whole MADT skipped */
	CHECK(a->ncpus == 0 && a->nioapics == 0);
	CHECK(logged("APIC: entry length runs past the table"));
	CHECK(!a->have_hpet);
	CHECK(logged("HPET at") && logged("checksum mismatch"));
	CHECK(a->nmcfg == 0 && logged("MCFG: length is not 44 + 16 * n"));
	CHECK(a->have_fadt);
	CHECK(a->bad_tables == 3);
	CHECK(a->tables == 2);  /* XSDT + FADT */
	free(a);
}

static void test_bad_roots(void)
{
	uint8_t *t[1], *x, *r, *rsdt, *both;
	struct acpi_info *a = calloc(1, sizeof(*a));

	ram_at(RAM_LOW_PHYS);
	t[0] = make_fadt();
	x = make_xsdt(t, 1);
	r = make_rsdp(x, NULL);
	rsdt = make_rsdt(t, 1);
	both = make_rsdp(x, rsdt);

	/* RSDP checksum */
	r[8] ^= 1;
	log_buf[0] = 0;
	CHECK(acpi_parse(addr(r), a) < 0);
	CHECK(logged("checksum of the first 20 bytes"));
	r[8] ^= 1;

	/* RSDP signature */
	r[0] = 'X';
	log_buf[0] = 0;
	CHECK(acpi_parse(addr(r), a) < 0);
	CHECK(logged("signature"));
	r[0] = 'R';

	/* No RSDP at all */
	CHECK(acpi_parse(0, a) < 0);

	/* XSDT corrupt: reported; without an RSDT the walk fails cleanly, with
	 * one it falls back to it (5.2.7). */
	x[40] ^= 0xff;
	log_buf[0] = 0;
	CHECK(acpi_parse(addr(r), a) < 0);
	CHECK(logged("XSDT at") && logged("checksum mismatch"));
	CHECK(acpi_parse(addr(both), a) == 0);
	CHECK(!a->from_xsdt && a->have_fadt);

	/* XSDT with a wild length */
	x[40] ^= 0xff;
	put32(x + 4, 0x7fffffff);
	log_buf[0] = 0;
	CHECK(acpi_parse(addr(r), a) < 0);
	CHECK(logged("length 2147483647 outside"));
	free(a);
}

/*
 * Only RAM below 512 GiB is mapped (paging.h PAGING_IDENTITY_END): a table
 * above it, or one that runs across it, is refused by name or entry before
 * a byte of it is read. `ram` ends exactly at 512 GiB here, so a read past
 * the boundary is a read past `ram` (AddressSanitizer), and an address far
 * above it is no memory of this process at all.
 */
static void test_tables_beyond_the_mapped_ram(void)
{
	const uint64_t top = PAGING_IDENTITY_END;
	uint8_t *t[5], *x, *r, *straddling;
	struct acpi_info *a = calloc(1, sizeof(*a));
	char want[160];

	ram_at(top - RAM_SIZE);
	t[0] = make_fadt();
	/* HPET whose 56 bytes start 40 bytes below the top: header readable,
	 * the rest not mapped. */
	straddling = ram_place(RAM_SIZE - 40, 40);
	memcpy(straddling, "HPET", 4);
	put32(straddling + 4, 56);
	t[1] = straddling;
	t[2] = (uint8_t *)(acpi_host_ram + (uintptr_t)(600ull << 30));     /* 600 GiB */
	t[3] = (uint8_t *)(acpi_host_ram + (uintptr_t)((1ull << 47) - 4096)); /* below 128 TiB */
	t[4] = (uint8_t *)(acpi_host_ram + (uintptr_t)(top - 16));  /* header across the top */
	x = make_xsdt(t, 5);
	r = make_rsdp(x, NULL);
	log_buf[0] = 0;
	CHECK(acpi_parse(addr(r), a) == 0);
	CHECK(a->have_fadt && !a->have_hpet);
	CHECK(a->tables == 2 && a->bad_tables == 4);   /* XSDT + FADT; the other four */
	snprintf(want, sizeof(want), "acpi: HPET at %#lx: its 56 bytes run past the RAM mapped "
		 "below 512 GiB, skipped", (unsigned long)(top - 40));
	CHECK(logged(want));
	CHECK(logged("acpi: XSDT entry 2: table address 0x9600000000 is not in RAM mapped below "
		     "512 GiB, skipped"));
	CHECK(logged("acpi: XSDT entry 3: table address 0x7ffffffff000 is not in RAM"));
	snprintf(want, sizeof(want), "acpi: XSDT entry 4: table address %#lx is not in RAM",
		 (unsigned long)(top - 16));
	CHECK(logged(want));

	/* The RSDP itself above the mapped RAM: refused, never read. */
	log_buf[0] = 0;
	CHECK(acpi_parse(600ull << 30, a) == -ENOENT);
	CHECK(logged("RSDP at 0x9600000000 is not in RAM mapped below 512 GiB"));
	free(a);
}

int main(void)
{
	test_good();
	test_bad_checksum_and_truncated();
	test_bad_roots();
	test_tables_beyond_the_mapped_ram();
	free(ram);
	printf("acpi: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
