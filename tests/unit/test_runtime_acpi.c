/* test_runtime_acpi.c: host unit test of the ACPI table walk (kernel/acpi.c) over synthetic tables: good, bad checksum, truncated. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/acpi.h"

#include "check.h"
static char log_buf[8192];


/* acpi.c reports through the console; capture it. */
int console_printf(const char *fmt, ...)
{
	size_t used = strlen(log_buf);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(log_buf + used, sizeof(log_buf) - used, fmt, ap);
	va_end(ap);
	return n;
}

static bool logged(const char *s)
{
	return strstr(log_buf, s) != NULL;
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
	uint8_t *t = calloc(1, len);

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
		put64(t + 36 + 8 * i, (uint64_t)(uintptr_t)tables[i]);
	seal(t);
	return t;
}

static uint8_t *make_rsdt(uint8_t **tables, int n)
{
	uint8_t *t = table("RSDT", 36 + 4 * n);

	/* The RSDT holds 32-bit pointers: the host heap is above 4 GiB, so
	 * the test's RSDT points at nothing; it only has to be found. */
	(void)tables;
	for (int i = 0; i < n; i++)
		put32(t + 36 + 4 * i, 0);
	seal(t);
	return t;
}

static uint8_t *make_rsdp(uint8_t *xsdt, uint8_t *rsdt)
{
	uint8_t *r = calloc(1, 36);

	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "UCTEST", 6);
	r[15] = 2;
	put32(r + 16, (uint32_t)(uintptr_t)rsdt);
	put32(r + 20, 36);
	put64(r + 24, (uint64_t)(uintptr_t)xsdt);
	fix_sum(r, 20, 8);
	fix_sum(r, 36, 32);
	return r;
}

static uint64_t addr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void test_good(void)
{
	uint8_t *t[4] = { make_madt(false), make_mcfg(), make_hpet(), make_fadt() };
	uint8_t *x = make_xsdt(t, 4);
	uint8_t *r = make_rsdp(x, NULL);
	struct acpi_info *a = calloc(1, sizeof(*a));

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
	for (int i = 0; i < 4; i++)
		free(t[i]);
	free(x);
	free(r);
	free(a);
}

static void test_bad_checksum_and_truncated(void)
{
	uint8_t *t[4] = { make_madt(true), make_mcfg(), make_hpet(), make_fadt() };
	uint8_t *x, *r;
	struct acpi_info *a = calloc(1, sizeof(*a));

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
	for (int i = 0; i < 4; i++)
		free(t[i]);
	free(x);
	free(r);
	free(a);
}

static void test_bad_roots(void)
{
	uint8_t *t[1] = { make_fadt() };
	uint8_t *x = make_xsdt(t, 1);
	uint8_t *r = make_rsdp(x, NULL);
	uint8_t *rsdt = make_rsdt(t, 1);
	struct acpi_info *a = calloc(1, sizeof(*a));

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

	/* XSDT corrupt: reported; no RSDT fallback is possible here (host
	 * pointers do not fit 32 bits), so the walk fails cleanly. */
	x[40] ^= 0xff;
	log_buf[0] = 0;
	if ((uint64_t)(uintptr_t)rsdt >> 32 == 0) {
		free(r);
		r = make_rsdp(x, rsdt);
		CHECK(acpi_parse(addr(r), a) == 0);
		CHECK(!a->from_xsdt);
	} else {
		CHECK(acpi_parse(addr(r), a) < 0);
	}
	CHECK(logged("XSDT at") && logged("checksum mismatch"));

	/* XSDT with a wild length */
	x[40] ^= 0xff;
	put32(x + 4, 0x7fffffff);
	log_buf[0] = 0;
	CHECK(acpi_parse(addr(r), a) < 0);
	CHECK(logged("length 2147483647 outside"));

	free(t[0]);
	free(x);
	free(r);
	free(rsdt);
	free(a);
}

int main(void)
{
	test_good();
	test_bad_checksum_and_truncated();
	test_bad_roots();
	printf("acpi: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
