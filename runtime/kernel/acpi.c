/* acpi.c: the firmware's ACPI tables, checked before use: RSDP, XSDT/RSDT, MADT, MCFG, HPET, FADT. */
#include <errno.h>
#include <string.h>

#include "arch/x86_64/paging.h"
#include "kernel/kernel.h"
#include "kernel/acpi.h"

/*
 * Section numbers are those of the ACPI Specification 6.5. Every table
 * comes from firmware, so nothing is read before its signature, its length
 * (against the structure we read and a sanity bound) and its checksum (all
 * bytes sum to zero, 5.2.5.3 / 5.2.6) have been checked. Fields are read
 * byte-wise: firmware tables are not aligned. Tables are in RAM, read
 * through the identity map: one that does not lie wholly below
 * PAGING_IDENTITY_END (512 GiB; paging.h) is not mapped, and is refused
 * before a byte of it is read.
 */
#define ACPI_RSDP_SIG        "RSD PTR "
#define ACPI_RSDP_V1_LEN     20   /* 5.2.5.3: checksum covers bytes 0-19 */
#define ACPI_RSDP_V2_LEN     36   /* extended checksum covers `Length` bytes */
#define ACPI_RSDP_CHECKSUM   8
#define ACPI_RSDP_REVISION   15
#define ACPI_RSDP_RSDT       16   /* 4 bytes */
#define ACPI_RSDP_LENGTH     20   /* 4 bytes */
#define ACPI_RSDP_XSDT       24   /* 8 bytes */

/* 5.2.6 System Description Table Header */
#define ACPI_HDR_LEN         36
#define ACPI_HDR_LENGTH      4    /* 4 bytes, includes the header */
#define ACPI_MAX_TABLE_LEN   (1u << 20) /* larger is corruption, not a table */
#define ACPI_MAPPED_END      PAGING_IDENTITY_END
#define ACPI_GIB_SHIFT       30

/* 5.2.9 FADT (Table 5.9): byte offsets */
#define ACPI_FADT_SCI_INT        46  /* 2 bytes */
#define ACPI_FADT_PM_TMR_BLK     76  /* 4 bytes, I/O port */
#define ACPI_FADT_PM_TMR_LEN     91  /* 1 byte, 4 when supported */
#define ACPI_FADT_IAPC_BOOT_ARCH 109 /* 2 bytes, 5.2.9.3 */
#define ACPI_FADT_FLAGS          112 /* 4 bytes */
#define ACPI_FADT_X_PM_TMR_BLK   208 /* 12-byte GAS (5.2.3.2) */
#define ACPI_FADT_MIN_LEN        116 /* through Flags (ACPI 1.0 FADTs are this short) */
#define ACPI_FADT_TMR_VAL_EXT    (1u << 8)
#define ACPI_GAS_SPACE_IO        1
#define ACPI_GAS_ADDRESS         4   /* 8 bytes inside a GAS */

/* 5.2.12 MADT (Table 5.19) and its entries (Table 5.21) */
#define ACPI_MADT_LAPIC_ADDR     36  /* 4 bytes */
#define ACPI_MADT_FLAGS          40  /* 4 bytes */
#define ACPI_MADT_ENTRIES        44
#define ACPI_MADT_PCAT_COMPAT    (1u << 0)
#define ACPI_MADT_LAPIC          0   /* 5.2.12.2, 8 bytes */
#define ACPI_MADT_IOAPIC         1   /* 5.2.12.3, 12 bytes */
#define ACPI_MADT_ISO            2   /* 5.2.12.5, 10 bytes */
#define ACPI_MADT_LAPIC_OVERRIDE 5   /* 5.2.12.8, 12 bytes */
#define ACPI_MADT_X2APIC         9   /* 5.2.12.12, 16 bytes */
#define ACPI_MADT_CPU_ENABLED    (1u << 0)
#define ACPI_MADT_CPU_ONLINE_CAP (1u << 1)

/* MCFG: PCI Firmware Specification 3.2 sec 4.1.2, Table 4-3 */
#define ACPI_MCFG_ENTRIES        44
#define ACPI_MCFG_ENTRY_LEN      16

/* HPET: IA-PC HPET Specification 1.0a sec 3.2.4, Table 3 */
#define ACPI_HPET_BASE           40  /* 12-byte GAS */
#define ACPI_HPET_MIN_TICK       53  /* 2 bytes */
#define ACPI_HPET_LEN            56
#define ACPI_GAS_SPACE_MEMORY    0

struct acpi_info acpi_info;

static uint16_t acpi_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t acpi_u32(const uint8_t *p)
{
	return (uint32_t)acpi_u16(p) | (uint32_t)acpi_u16(p + 2) << 16;
}

static uint64_t acpi_u64(const uint8_t *p)
{
	return (uint64_t)acpi_u32(p) | (uint64_t)acpi_u32(p + 4) << 32;
}

static uint8_t acpi_sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

#ifdef UNICYCLE_HOST_TEST
/* The host test's tables live in a buffer of its own: physical address p
 * is acpi_host_ram + p there. */
extern uintptr_t acpi_host_ram;
#define ACPI_RAM_BASE acpi_host_ram
#else
#define ACPI_RAM_BASE 0 /* RAM is identity mapped */
#endif

static const uint8_t *acpi_ptr(uint64_t phys)
{
	return (const uint8_t *)(ACPI_RAM_BASE + (uintptr_t)phys);
}

/* Is [phys, phys + len) in mapped RAM (and not at address 0)? */
static bool acpi_mapped(uint64_t phys, uint64_t len)
{
	return phys != 0 && phys <= ACPI_MAPPED_END && len <= ACPI_MAPPED_END - phys;
}

/* The table at `phys` if its header, length and checksum hold; NULL (reported,
 * naming `where`, and root table entry `entry` when >= 0, while even its
 * signature cannot be read) otherwise. */
static const uint8_t *acpi_table(uint64_t phys, const char *where, int entry, uint32_t *len,
				 struct acpi_info *out)
{
	const uint8_t *t;
	uint32_t n;

	if (!acpi_mapped(phys, ACPI_HDR_LEN)) {
		if (entry >= 0)
			console_printf("acpi: %s entry %d: table address %#lx is not in RAM mapped "
				       "below %lu GiB, skipped\n", where, entry, (unsigned long)phys,
				       (unsigned long)(ACPI_MAPPED_END >> ACPI_GIB_SHIFT));
		else
			console_printf("acpi: %s: table address %#lx is not in RAM mapped below "
				       "%lu GiB, skipped\n", where, (unsigned long)phys,
				       (unsigned long)(ACPI_MAPPED_END >> ACPI_GIB_SHIFT));
		out->bad_tables++;
		return NULL;
	}
	t = acpi_ptr(phys);
	n = acpi_u32(t + ACPI_HDR_LENGTH);
	if (n < ACPI_HDR_LEN || n > ACPI_MAX_TABLE_LEN) {
		console_printf("acpi: %.4s at %#lx: length %u outside [%u, %u], skipped\n", t,
			       (unsigned long)phys, n, ACPI_HDR_LEN, ACPI_MAX_TABLE_LEN);
		out->bad_tables++;
		return NULL;
	}
	if (!acpi_mapped(phys, n)) {
		console_printf("acpi: %.4s at %#lx: its %u bytes run past the RAM mapped below "
			       "%lu GiB, skipped\n", t, (unsigned long)phys, n,
			       (unsigned long)(ACPI_MAPPED_END >> ACPI_GIB_SHIFT));
		out->bad_tables++;
		return NULL;
	}
	if (acpi_sum(t, n) != 0) {
		console_printf("acpi: %.4s at %#lx: checksum mismatch (bytes sum to %#x), skipped\n",
			       t, (unsigned long)phys, acpi_sum(t, n));
		out->bad_tables++;
		return NULL;
	}
	*len = n;
	return t;
}

static void acpi_bad(struct acpi_info *out, const char *sig, const char *what, unsigned v)
{
	console_printf("acpi: %s: %s (%u), table skipped\n", sig, what, v);
	out->bad_tables++;
}

/* 5.2.12: the entries are only committed to `out` once all of them parse. */
static void acpi_madt(const uint8_t *t, uint32_t len, struct acpi_info *out)
{
	struct acpi_info m;
	uint32_t off = ACPI_MADT_ENTRIES;

	if (len < ACPI_MADT_ENTRIES) {
		acpi_bad(out, "APIC", "shorter than its fixed fields", len);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.lapic_addr = acpi_u32(t + ACPI_MADT_LAPIC_ADDR);
	m.pcat_compat = acpi_u32(t + ACPI_MADT_FLAGS) & ACPI_MADT_PCAT_COMPAT;
	while (off < len) {
		uint8_t type, elen;
		const uint8_t *e = t + off;

		if (len - off < 2) {
			acpi_bad(out, "APIC", "entry header cut off at offset", off);
			return;
		}
		type = e[0];
		elen = e[1];
		if (elen < 2 || elen > len - off) {
			acpi_bad(out, "APIC", "entry length runs past the table at offset", off);
			return;
		}
#define ACPI_NEED(n)                                                                \
	do {                                                                        \
		if (elen < (n)) {                                                   \
			acpi_bad(out, "APIC", "entry too short for its type at offset", off); \
			return;                                                     \
		}                                                                   \
	} while (0)
		switch (type) {
		case ACPI_MADT_LAPIC: {
			uint32_t flags;

			ACPI_NEED(8);
			flags = acpi_u32(e + 4);
			if (!(flags & (ACPI_MADT_CPU_ENABLED | ACPI_MADT_CPU_ONLINE_CAP)))
				break;
			if (!(flags & ACPI_MADT_CPU_ENABLED))
				break; /* hot-pluggable later: not ours to start */
			if (m.ncpus < ACPI_MAX_CPUS) {
				m.cpus[m.ncpus].uid = e[2];
				m.cpus[m.ncpus].apic_id = e[3];
				m.cpus[m.ncpus].x2apic_entry = false;
				m.ncpus++;
			}
			break;
		}
		case ACPI_MADT_X2APIC: {
			ACPI_NEED(16);
			if (!(acpi_u32(e + 8) & ACPI_MADT_CPU_ENABLED))
				break;
			if (m.ncpus < ACPI_MAX_CPUS) {
				m.cpus[m.ncpus].apic_id = acpi_u32(e + 4);
				m.cpus[m.ncpus].uid = acpi_u32(e + 12);
				m.cpus[m.ncpus].x2apic_entry = true;
				m.ncpus++;
			}
			break;
		}
		case ACPI_MADT_IOAPIC:
			ACPI_NEED(12);
			if (m.nioapics < ACPI_MAX_IOAPICS) {
				m.ioapics[m.nioapics].id = e[2];
				m.ioapics[m.nioapics].addr = acpi_u32(e + 4);
				m.ioapics[m.nioapics].gsi_base = acpi_u32(e + 8);
				m.nioapics++;
			}
			break;
		case ACPI_MADT_ISO:
			ACPI_NEED(10);
			if (e[2] != 0) /* bus: 0 = ISA is the only one defined */
				break;
			if (m.noverrides < ACPI_MAX_OVERRIDES) {
				m.overrides[m.noverrides].source = e[3];
				m.overrides[m.noverrides].gsi = acpi_u32(e + 4);
				m.overrides[m.noverrides].flags = acpi_u16(e + 8);
				m.noverrides++;
			}
			break;
		case ACPI_MADT_LAPIC_OVERRIDE:
			ACPI_NEED(12);
			m.lapic_addr = acpi_u64(e + 4);
			break;
		default:
			break; /* NMI sources, GIC, ... : not used */
		}
#undef ACPI_NEED
		off += elen;
	}
	out->have_madt = true;
	out->lapic_addr = m.lapic_addr;
	out->pcat_compat = m.pcat_compat;
	out->ncpus = m.ncpus;
	memcpy(out->cpus, m.cpus, sizeof(m.cpus));
	out->nioapics = m.nioapics;
	memcpy(out->ioapics, m.ioapics, sizeof(m.ioapics));
	out->noverrides = m.noverrides;
	memcpy(out->overrides, m.overrides, sizeof(m.overrides));
	out->tables++;
}

static void acpi_mcfg(const uint8_t *t, uint32_t len, struct acpi_info *out)
{
	unsigned n = 0;

	if (len < ACPI_MCFG_ENTRIES || (len - ACPI_MCFG_ENTRIES) % ACPI_MCFG_ENTRY_LEN) {
		acpi_bad(out, "MCFG", "length is not 44 + 16 * n", len);
		return;
	}
	for (uint32_t off = ACPI_MCFG_ENTRIES; off < len && n < ACPI_MAX_MCFG;
	     off += ACPI_MCFG_ENTRY_LEN) {
		const uint8_t *e = t + off;

		if (e[11] < e[10]) {
			acpi_bad(out, "MCFG", "end bus below start bus at offset", off);
			return;
		}
		out->mcfg[n].base = acpi_u64(e);
		out->mcfg[n].segment = acpi_u16(e + 8);
		out->mcfg[n].bus_start = e[10];
		out->mcfg[n].bus_end = e[11];
		n++;
	}
	out->nmcfg = n;
	out->tables++;
}

static void acpi_hpet(const uint8_t *t, uint32_t len, struct acpi_info *out)
{
	if (len < ACPI_HPET_LEN) {
		acpi_bad(out, "HPET", "shorter than the 56 bytes of its fields", len);
		return;
	}
	if (t[ACPI_HPET_BASE] != ACPI_GAS_SPACE_MEMORY) {
		acpi_bad(out, "HPET", "base address not in memory space, space id", t[ACPI_HPET_BASE]);
		return;
	}
	out->have_hpet = true;
	out->hpet_addr = acpi_u64(t + ACPI_HPET_BASE + ACPI_GAS_ADDRESS);
	out->hpet_min_tick = acpi_u16(t + ACPI_HPET_MIN_TICK);
	out->tables++;
}

static void acpi_fadt(const uint8_t *t, uint32_t len, struct acpi_info *out)
{
	if (len < ACPI_FADT_MIN_LEN) {
		acpi_bad(out, "FACP", "shorter than the fields through Flags", len);
		return;
	}
	out->have_fadt = true;
	out->sci_irq = (uint8_t)acpi_u16(t + ACPI_FADT_SCI_INT);
	out->fadt_flags = acpi_u32(t + ACPI_FADT_FLAGS);
	out->iapc_boot_arch = acpi_u16(t + ACPI_FADT_IAPC_BOOT_ARCH);
	out->pm_timer_32bit = out->fadt_flags & ACPI_FADT_TMR_VAL_EXT;
	if (t[ACPI_FADT_PM_TMR_LEN] == 4)
		out->pm_timer_port = acpi_u32(t + ACPI_FADT_PM_TMR_BLK);
	/* 5.2.9: the X_ field, when set, supersedes the 32-bit one. */
	if (len >= ACPI_FADT_X_PM_TMR_BLK + 12 &&
	    t[ACPI_FADT_X_PM_TMR_BLK] == ACPI_GAS_SPACE_IO) {
		uint64_t x = acpi_u64(t + ACPI_FADT_X_PM_TMR_BLK + ACPI_GAS_ADDRESS);

		if (x && x <= 0xffff)
			out->pm_timer_port = (uint32_t)x;
	}
	out->tables++;
}

static void acpi_table_found(uint64_t phys, const char *root_sig, int entry,
			     struct acpi_info *out)
{
	uint32_t len;
	const uint8_t *t = acpi_table(phys, root_sig, entry, &len, out);

	if (!t)
		return;
	if (memcmp(t, "APIC", 4) == 0)
		acpi_madt(t, len, out);
	else if (memcmp(t, "MCFG", 4) == 0)
		acpi_mcfg(t, len, out);
	else if (memcmp(t, "HPET", 4) == 0)
		acpi_hpet(t, len, out);
	else if (memcmp(t, "FACP", 4) == 0)
		acpi_fadt(t, len, out);
	else
		out->tables++; /* sound, but not one we use */
}

int acpi_parse(uint64_t rsdp_phys, struct acpi_info *out)
{
	const uint8_t *rsdp;
	const uint8_t *root;
	uint64_t root_phys;
	uint32_t len, entry;
	const char *root_sig;

	memset(out, 0, sizeof(*out));
	if (rsdp_phys == 0) {
		console_printf("acpi: no RSDP from the bootloader\n");
		return -ENOENT;
	}
	/* 36 bytes: the fixed fields of either revision. */
	if (!acpi_mapped(rsdp_phys, ACPI_RSDP_V2_LEN)) {
		console_printf("acpi: RSDP at %#lx is not in RAM mapped below %lu GiB\n",
			       (unsigned long)rsdp_phys,
			       (unsigned long)(ACPI_MAPPED_END >> ACPI_GIB_SHIFT));
		return -ENOENT;
	}
	rsdp = acpi_ptr(rsdp_phys);
	/* 5.2.5.3 Root System Description Pointer Structure */
	if (memcmp(rsdp, ACPI_RSDP_SIG, 8) != 0) {
		console_printf("acpi: RSDP at %#lx: signature is not \"RSD PTR \"\n",
			       (unsigned long)rsdp_phys);
		return -EINVAL;
	}
	if (acpi_sum(rsdp, ACPI_RSDP_V1_LEN) != 0) {
		console_printf("acpi: RSDP at %#lx: checksum of the first 20 bytes is wrong\n",
			       (unsigned long)rsdp_phys);
		return -EINVAL;
	}
	out->revision = rsdp[ACPI_RSDP_REVISION];
	root_phys = acpi_u32(rsdp + ACPI_RSDP_RSDT);
	root_sig = "RSDT";
	entry = 4;
	if (out->revision >= 2) {
		uint32_t rlen = acpi_u32(rsdp + ACPI_RSDP_LENGTH);

		if (rlen < ACPI_RSDP_V2_LEN || rlen > ACPI_MAX_TABLE_LEN ||
		    !acpi_mapped(rsdp_phys, rlen) || acpi_sum(rsdp, rlen) != 0) {
			console_printf("acpi: RSDP at %#lx: extended length %u or checksum is wrong; "
				       "using the RSDT\n", (unsigned long)rsdp_phys, rlen);
		} else if (acpi_u64(rsdp + ACPI_RSDP_XSDT) != 0) {
			/* 5.2.8: an XSDT, when present, is used instead of the RSDT. */
			root_phys = acpi_u64(rsdp + ACPI_RSDP_XSDT);
			root_sig = "XSDT";
			entry = 8;
		}
	}
	root = acpi_table(root_phys, root_sig, -1, &len, out);
	if (root && memcmp(root, root_sig, 4) != 0) {
		console_printf("acpi: %s at %#lx has signature %.4s, skipped\n", root_sig,
			       (unsigned long)root_phys, root);
		out->bad_tables++;
		root = NULL;
	}
	if (!root && entry == 8 && acpi_u32(rsdp + ACPI_RSDP_RSDT) != 0) {
		/* The RSDT fallback (5.2.7): every ACPI 2.0+ RSDP still has one. */
		root_phys = acpi_u32(rsdp + ACPI_RSDP_RSDT);
		root_sig = "RSDT";
		entry = 4;
		root = acpi_table(root_phys, root_sig, -1, &len, out);
		if (root && memcmp(root, root_sig, 4) != 0) {
			out->bad_tables++;
			root = NULL;
		}
	}
	if (!root)
		return -EINVAL;
	out->from_xsdt = entry == 8;
	out->tables++;
	if ((len - ACPI_HDR_LEN) % entry)
		console_printf("acpi: %s: %u trailing bytes ignored\n", root_sig,
			       (len - ACPI_HDR_LEN) % entry);
	for (uint32_t off = ACPI_HDR_LEN; off + entry <= len; off += entry)
		acpi_table_found(entry == 8 ? acpi_u64(root + off) : acpi_u32(root + off),
				 root_sig, (int)((off - ACPI_HDR_LEN) / entry), out);
	return 0;
}

#ifndef UNICYCLE_HOST_TEST
void acpi_init(void)
{
	struct acpi_info *a = &acpi_info;

	if (acpi_parse(bootinfo.rsdp, a) < 0) {
		console_printf("acpi: no usable tables; one CPU, no IOAPIC, legacy defaults\n");
		return;
	}
	console_printf("unicycle: ACPI %s rev %u: %u tables (%u bad), %u CPUs, %u IOAPICs, "
		       "%u overrides, LAPIC %#lx%s%s%s\n",
		       a->from_xsdt ? "XSDT" : "RSDT", a->revision, a->tables, a->bad_tables,
		       a->ncpus, a->nioapics, a->noverrides, (unsigned long)a->lapic_addr,
		       a->nmcfg ? ", MCFG" : "", a->have_hpet ? ", HPET" : "",
		       a->have_fadt ? ", FADT" : "");
#ifdef CONFIG_DEBUG_VERBOSE
	for (unsigned i = 0; i < a->nioapics; i++)
		console_printf("acpi: IOAPIC %u at %#x, GSI %u+\n", a->ioapics[i].id,
			       a->ioapics[i].addr, a->ioapics[i].gsi_base);
	for (unsigned i = 0; i < a->noverrides; i++)
		console_printf("acpi: ISA IRQ %u -> GSI %u flags %#x\n", a->overrides[i].source,
			       a->overrides[i].gsi, a->overrides[i].flags);
	for (unsigned i = 0; i < a->nmcfg; i++)
		console_printf("acpi: ECAM segment %u buses %u-%u at %#lx\n", a->mcfg[i].segment,
			       a->mcfg[i].bus_start, a->mcfg[i].bus_end,
			       (unsigned long)a->mcfg[i].base);
#endif
}
#endif
