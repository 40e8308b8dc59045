/* bootinfo.c: reading and checking the FDT the bootloader passed (contract: unicycle/bootinfo.h). */
#include <string.h>

#include <libfdt.h>

#include "kernel/kernel.h"
#include "lib/printf.h"
#include "arch/x86_64/memlayout.h"
#include <unicycle/bootinfo.h>

/* Ranges are cut to the runtime's pages, which the contract's divide. */
_Static_assert(BOOTINFO_PAGE % PAGE_SIZE == 0, "boot info ranges must hold whole pages");
#define BOOTINFO_CELLS 2
#define BOOTINFO_REG_ENTRY (2 * sizeof(fdt64_t)) /* (u64 base, u64 size) */
#define BOOTINFO_MIB (1024 * 1024)

struct bootinfo bootinfo;

/* FDT properties are only 4-byte aligned: load cells through memcpy. */
static uint64_t bootinfo_ld64(const void *p)
{
	fdt64_t v;

	memcpy(&v, p, sizeof(v));
	return fdt64_to_cpu(v);
}

static uint32_t bootinfo_ld32(const void *p)
{
	fdt32_t v;

	memcpy(&v, p, sizeof(v));
	return fdt32_to_cpu(v);
}

/* Returns the property as a checked NUL-terminated string, or NULL when
 * absent. A present property that is not a proper string is an error. */
static int bootinfo_string(const void *fdt, int node, const char *name,
			   const char **out, char *err, size_t errlen)
{
	int len;
	const char *s = fdt_getprop(fdt, node, name, &len);

	*out = NULL;
	if (!s)
		return 0;
	if (len < 1 || s[len - 1] != '\0' || strnlen(s, (size_t)len) != (size_t)len - 1) {
		printf_snprintf(err, errlen, "property %s is not one NUL-terminated string", name);
		return -1;
	}
	*out = s;
	return 0;
}

/* A string list (DTSpec sec 2.2.4) of at most `max` non-empty strings;
 * out[] ends with NULL. Absent: an empty list. */
static int bootinfo_strings(const void *fdt, int node, const char *name, const char **out,
			    size_t max, char *err, size_t errlen)
{
	int len;
	const char *s = fdt_getprop(fdt, node, name, &len);
	size_t n = 0, off = 0;

	for (size_t i = 0; i < max; i++)
		out[i] = NULL;
	if (!s)
		return 0;
	if (len < 1 || s[len - 1] != '\0') {
		printf_snprintf(err, errlen, "property %s is not a NUL-terminated string list", name);
		return -1;
	}
	while (off < (size_t)len) {
		size_t l = strlen(s + off);

		if (l == 0 || n == max) {
			printf_snprintf(err, errlen, "property %s: %s", name,
					l == 0 ? "empty string" : "too many strings");
			return -1;
		}
		out[n++] = s + off;
		off += l + 1;
	}
	return 0;
}

static int bootinfo_u64(const void *fdt, int node, const char *name,
			uint64_t *out, bool required, char *err, size_t errlen)
{
	int len;
	const fdt64_t *p = fdt_getprop(fdt, node, name, &len);

	*out = 0;
	if (!p) {
		if (required) {
			printf_snprintf(err, errlen, "property %s is missing", name);
			return -1;
		}
		return 0;
	}
	if (len != (int)sizeof(fdt64_t)) {
		printf_snprintf(err, errlen, "property %s has %d bytes, want 8", name, len);
		return -1;
	}
	*out = bootinfo_ld64(p);
	return 0;
}

static int bootinfo_u32(const void *fdt, int node, const char *name, uint32_t *out)
{
	int len;
	const fdt32_t *p = fdt_getprop(fdt, node, name, &len);

	if (!p || len != (int)sizeof(fdt32_t))
		return -1;
	*out = bootinfo_ld32(p);
	return 0;
}

static int bootinfo_cells_ok(const void *fdt, int node, const char *what,
			     char *err, size_t errlen)
{
	uint32_t ac, sc;

	if (bootinfo_u32(fdt, node, "#address-cells", &ac) < 0 ||
	    bootinfo_u32(fdt, node, "#size-cells", &sc) < 0 ||
	    ac != BOOTINFO_CELLS || sc != BOOTINFO_CELLS) {
		printf_snprintf(err, errlen, "%s: #address-cells and #size-cells must be <2>", what);
		return -1;
	}
	return 0;
}

/* Appends the (base, size) pairs of node's "reg" to ranges. */
static int bootinfo_reg(const void *fdt, int node, struct bootinfo_range *ranges,
			size_t *n, char *err, size_t errlen)
{
	int len;
	const char *name = fdt_get_name(fdt, node, NULL);
	const fdt64_t *p = fdt_getprop(fdt, node, "reg", &len);

	if (!p || len <= 0 || len % BOOTINFO_REG_ENTRY != 0) {
		printf_snprintf(err, errlen, "%s: reg missing or not (u64 base, u64 size) pairs",
				name ? name : "?");
		return -1;
	}
	for (size_t i = 0; i < (size_t)len / sizeof(fdt64_t); i += 2) {
		uint64_t base = bootinfo_ld64(p + i), size = bootinfo_ld64(p + i + 1);

		if (size == 0)
			continue;
		if (base + size < base) {
			printf_snprintf(err, errlen, "%s: range %#lx+%#lx wraps around",
					name ? name : "?", (unsigned long)base,
					(unsigned long)size);
			return -1;
		}
		if (*n >= BOOTINFO_MAX_RANGES) {
			printf_snprintf(err, errlen, "%s: more than %d ranges",
					name ? name : "?", BOOTINFO_MAX_RANGES);
			return -1;
		}
		ranges[*n].base = base;
		ranges[*n].size = size;
		(*n)++;
	}
	return 0;
}

/* Insertion sort by base: at most BOOTINFO_MAX_RANGES entries. */
static void bootinfo_sort(struct bootinfo_range *r, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct bootinfo_range x = r[i];
		size_t j = i;

		while (j > 0 && r[j - 1].base > x.base) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = x;
	}
}

/* Sorted ranges that overlap or touch become one (RAM is their union): a
 * page named by two /memory ranges must not be handed out twice. */
static void bootinfo_merge(struct bootinfo_range *r, size_t *n)
{
	size_t out = 0;

	for (size_t i = 0; i < *n; i++) {
		if (out && r[i].base <= r[out - 1].base + r[out - 1].size) {
			uint64_t end = r[i].base + r[i].size;

			if (end > r[out - 1].base + r[out - 1].size)
				r[out - 1].size = end - r[out - 1].base;
			continue;
		}
		r[out++] = r[i];
	}
	*n = out;
}

/* Appends a reserved range (deduplication is not needed: subtraction is idempotent). */
static int bootinfo_reserve(struct bootinfo *bi, uint64_t base, uint64_t size,
			    char *err, size_t errlen)
{
	if (size == 0)
		return 0;
	if (base + size < base) {
		printf_snprintf(err, errlen, "reserved range %#lx+%#lx wraps around",
				(unsigned long)base, (unsigned long)size);
		return -1;
	}
	if (bi->nreserved >= BOOTINFO_MAX_RANGES) {
		printf_snprintf(err, errlen, "more than %d reserved ranges", BOOTINFO_MAX_RANGES);
		return -1;
	}
	bi->reserved[bi->nreserved].base = base;
	bi->reserved[bi->nreserved].size = size;
	bi->nreserved++;
	return 0;
}

/*
 * Usable RAM inside [lo, hi) minus every reserved range, each reserved range
 * widened to whole pages, into out[] (at most max pieces; *n counts them).
 * Both lists are sorted first, so one pass per usable range suffices.
 * Returns -1 when the pieces do not fit.
 */
static int bootinfo_cut(const struct bootinfo *bi, const struct bootinfo_range *ram, size_t nram,
			uint64_t lo, uint64_t hi, struct bootinfo_range *out, size_t *n, size_t max)
{
	*n = 0;
	for (size_t i = 0; i < nram; i++) {
		uint64_t cur = ram[i].base;
		uint64_t end = ram[i].base + ram[i].size;   /* no wrap: bootinfo_reg */

		/* Page-align inwards: a partial page is not usable. A range
		 * starting inside the last page of the address space has no
		 * whole page (rounding its base up would wrap to 0). */
		if (cur > UINT64_MAX - (PAGE_SIZE - 1))
			continue;
		cur = (cur + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		end &= ~(PAGE_SIZE - 1);
		if (cur < lo)
			cur = lo;
		if (end > hi)
			end = hi;
		for (size_t k = 0; k <= bi->nreserved && cur < end; k++) {
			uint64_t rb, re;

			if (k < bi->nreserved) {
				uint64_t rend = bi->reserved[k].base + bi->reserved[k].size;

				rb = bi->reserved[k].base & ~(PAGE_SIZE - 1);
				/* Widen outwards; one reaching into the last page
				 * covers everything above rb (rounding up would wrap). */
				re = rend > UINT64_MAX - (PAGE_SIZE - 1) ? UINT64_MAX :
				     (rend + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
			} else {
				rb = re = end; /* sentinel: flush the tail */
			}
			if (re <= cur)
				continue;
			if (rb > cur) {
				uint64_t piece_end = rb < end ? rb : end;

				if (*n >= max)
					return -1;
				out[*n].base = cur;
				out[*n].size = piece_end - cur;
				(*n)++;
			}
			if (re > cur)
				cur = re;
		}
	}
	return 0;
}

/* mem = usable RAM above the first MiB minus the reserved ranges; low =
 * the same below it (page 0 excluded), for the SMP trampoline only. */
static int bootinfo_subtract(struct bootinfo *bi, const struct bootinfo_range *ram,
			     size_t nram, char *err, size_t errlen)
{
	if (bootinfo_cut(bi, ram, nram, MEMLAYOUT_LOW_LIMIT, UINT64_MAX, bi->mem, &bi->nmem,
			 BOOTINFO_MAX_RANGES) < 0) {
		printf_snprintf(err, errlen, "more than %d usable ranges", BOOTINFO_MAX_RANGES);
		return -1;
	}
	/* More low pieces than fit are not an error: the rest stays unused. */
	(void)bootinfo_cut(bi, ram, nram, PAGE_SIZE, MEMLAYOUT_LOW_LIMIT, bi->low,
			   &bi->nlow, BOOTINFO_MAX_LOW);
	return 0;
}

/* Walks every tag of the structure block once, in our own 64-bit arithmetic,
 * before libfdt sees it (DTSpec 0.4 sec 5.4). libfdt's fdt_next_tag() adds a
 * property's length in int arithmetic: a length near 2^31 overflows there
 * (undefined behaviour; found by fuzz_bootinfo), and one near 2^32 brings the
 * walk back to the same tag, so every later lookup loops forever. Every
 * length is held against what is left of the block here. */
static int bootinfo_check_structure(const void *fdt, char *err, size_t errlen)
{
	const uint8_t *base = (const uint8_t *)fdt + fdt_off_dt_struct(fdt);
	/* fdt_check_header() put the block inside totalsize (<= INT_MAX). */
	uint64_t size = fdt_version(fdt) >= 17 ? fdt_size_dt_struct(fdt)
					       : fdt_totalsize(fdt) - fdt_off_dt_struct(fdt);
	uint64_t off = 0;

	for (;;) {
		uint64_t at = off;
		uint32_t tag, len;
		const uint8_t *nul;

		if (off > size || size - off < FDT_TAGSIZE)
			goto truncated;
		tag = fdt32_to_cpu(*(const fdt32_t *)(base + off));
		off += FDT_TAGSIZE;
		switch (tag) {
		case FDT_BEGIN_NODE:
			nul = memchr(base + off, '\0', size - off);
			if (!nul)
				goto truncated;
			off = (uint64_t)(nul - base) + 1;
			break;
		case FDT_PROP:
			/* sec 5.4.1: len, nameoff, then len bytes of value */
			if (size - off < 2 * sizeof(fdt32_t))
				goto truncated;
			len = fdt32_to_cpu(*(const fdt32_t *)(base + off));
			off += 2 * sizeof(fdt32_t);
			if (len > size - off) {
				printf_snprintf(err, errlen, "bad FDT structure block: property at "
						"offset %lu is %u bytes, past the block's end",
						(unsigned long)at, len);
				return -1;
			}
			off += len;
			if (fdt_version(fdt) < 0x10 && len >= 8 && (off - len) % 8)
				off += 4;   /* old blobs 8-byte aligned large values */
			break;
		case FDT_END_NODE:
		case FDT_NOP:
			break;
		case FDT_END:
			return 0;
		default:
			printf_snprintf(err, errlen, "bad FDT structure block: unknown tag %#x at "
					"offset %lu", tag, (unsigned long)at);
			return -1;
		}
		off = (off + FDT_TAGSIZE - 1) & ~(uint64_t)(FDT_TAGSIZE - 1);
	}
truncated:
	printf_snprintf(err, errlen, "bad FDT structure block: it ends before its FDT_END tag");
	return -1;
}

/*
 * Fills *bi from the blob at fdt. Returns 0, or -1 with a message naming the
 * node or property in err. Strings in *bi point into the blob, which stays
 * reserved for the life of the app.
 */
int bootinfo_parse(const void *fdt, struct bootinfo *bi, char *err, size_t errlen)
{
	static struct bootinfo_range ram[BOOTINFO_MAX_RANGES];
	size_t nram = 0;
	int rc, chosen, node;
	uint64_t fdt_size;

	memset(bi, 0, sizeof(*bi));
	bi->fdt = fdt;
	if ((rc = fdt_check_header(fdt)) != 0) {
		printf_snprintf(err, errlen, "bad FDT header: %s", fdt_strerror(rc));
		return -1;
	}
	/* DTSpec 0.4 sec 5.3-5.4: the memory reservation block is 8-byte and
	 * the structure block 4-byte aligned; libfdt loads cells in place. */
	if (fdt_off_mem_rsvmap(fdt) % sizeof(fdt64_t) || fdt_off_dt_struct(fdt) % sizeof(fdt32_t)) {
		printf_snprintf(err, errlen, "bad FDT header: blocks not aligned");
		return -1;
	}
	if (bootinfo_check_structure(fdt, err, errlen) < 0)
		return -1;
	fdt_size = fdt_totalsize(fdt);
	if (fdt_node_check_compatible(fdt, 0, BOOTINFO_COMPATIBLE) != 0) {
		printf_snprintf(err, errlen, "/: compatible is not \"%s\"", BOOTINFO_COMPATIBLE);
		return -1;
	}
	if (bootinfo_cells_ok(fdt, 0, "/", err, errlen) < 0)
		return -1;
	if (bootinfo_u64(fdt, 0, BOOTINFO_PROP_RSDP, &bi->rsdp, false, err, errlen) < 0)
		return -1;

	chosen = fdt_path_offset(fdt, BOOTINFO_CHOSEN);
	if (chosen < 0) {
		printf_snprintf(err, errlen, "/chosen is missing");
		return -1;
	}
	{
		const char *why;

		if (bootinfo_string(fdt, chosen, BOOTINFO_PROP_BOOT_ERROR, &why, err, errlen) < 0)
			return -1;
		if (why) {
			printf_snprintf(err, errlen, "%s", why);
			return -1;
		}
	}
	if (bootinfo_string(fdt, chosen, BOOTINFO_PROP_BOOTARGS, &bi->cmdline, err, errlen) < 0 ||
	    bootinfo_string(fdt, chosen, BOOTINFO_PROP_SOURCE, &bi->boot_source, err, errlen) < 0 ||
	    bootinfo_string(fdt, chosen, BOOTINFO_PROP_SERVER, &bi->boot_server, err, errlen) < 0 ||
	    bootinfo_string(fdt, chosen, BOOTINFO_PROP_NET_MODE, &bi->net_mode, err, errlen) < 0 ||
	    bootinfo_string(fdt, chosen, BOOTINFO_PROP_NET_ADDR, &bi->net_address, err, errlen) < 0 ||
	    bootinfo_string(fdt, chosen, BOOTINFO_PROP_NET_GW, &bi->net_gateway, err, errlen) < 0 ||
	    bootinfo_strings(fdt, chosen, BOOTINFO_PROP_NET_DNS, bi->net_dns, BOOTINFO_NET_DNS_MAX,
			     err, errlen) < 0)
		return -1;
	if (!bi->cmdline)
		bi->cmdline = "";
	if (!bi->boot_source || (strcmp(bi->boot_source, "disk") != 0 &&
				 strcmp(bi->boot_source, "net") != 0 &&
				 strcmp(bi->boot_source, BOOTINFO_SOURCE_DIRECT) != 0)) {
		printf_snprintf(err, errlen, "/chosen/%s must be \"disk\", \"net\" or \"direct\"",
				BOOTINFO_PROP_SOURCE);
		return -1;
	}
	if (bi->net_mode && strcmp(bi->net_mode, "dhcp") != 0 &&
	    strcmp(bi->net_mode, "static") != 0) {
		printf_snprintf(err, errlen, "/chosen/%s must be \"dhcp\" or \"static\"",
				BOOTINFO_PROP_NET_MODE);
		return -1;
	}
	if (bi->net_mode && strcmp(bi->net_mode, "static") == 0 && !bi->net_address) {
		printf_snprintf(err, errlen, "/chosen: static network without %s",
				BOOTINFO_PROP_NET_ADDR);
		return -1;
	}
	if (bootinfo_u64(fdt, chosen, BOOTINFO_PROP_IMAGE_BASE, &bi->image_base, true, err, errlen) < 0 ||
	    bootinfo_u64(fdt, chosen, BOOTINFO_PROP_IMAGE_SIZE, &bi->image_size, true, err, errlen) < 0 ||
	    bootinfo_u64(fdt, chosen, BOOTINFO_PROP_TSC_START, &bi->tsc_start, false, err, errlen) < 0 ||
	    bootinfo_u64(fdt, chosen, BOOTINFO_PROP_TSC_JUMP, &bi->tsc_jump, false, err, errlen) < 0)
		return -1;

	/* Every node with device_type = "memory" (DTSpec sec 3.4). */
	for (node = fdt_node_offset_by_prop_value(fdt, -1, "device_type", "memory",
						  sizeof("memory"));
	     node >= 0;
	     node = fdt_node_offset_by_prop_value(fdt, node, "device_type", "memory",
						  sizeof("memory")))
		if (bootinfo_reg(fdt, node, ram, &nram, err, errlen) < 0)
			return -1;
	if (nram == 0) {
		printf_snprintf(err, errlen, "no /memory node with a reg");
		return -1;
	}

	node = fdt_path_offset(fdt, BOOTINFO_RESERVED);
	if (node >= 0) {
		int child;

		if (bootinfo_cells_ok(fdt, node, BOOTINFO_RESERVED, err, errlen) < 0)
			return -1;
		fdt_for_each_subnode(child, fdt, node)
			if (bootinfo_reg(fdt, child, bi->reserved, &bi->nreserved, err, errlen) < 0)
				return -1;
	}
	/* Belt and braces: the image and this blob are in /reserved-memory by
	 * contract; adding them again costs nothing if the bootloader slips. */
	if (bootinfo_reserve(bi, bi->image_base, bi->image_size, err, errlen) < 0 ||
	    bootinfo_reserve(bi, (uint64_t)(uintptr_t)fdt, fdt_size, err, errlen) < 0)
		return -1;

	bootinfo_sort(ram, nram);
	bootinfo_merge(ram, &nram);
	bootinfo_sort(bi->reserved, bi->nreserved);
	return bootinfo_subtract(bi, ram, nram, err, errlen);
}

uint64_t bootinfo_usable_bytes(const struct bootinfo *bi)
{
	uint64_t total = 0;

	for (size_t i = 0; i < bi->nmem; i++)
		total += bi->mem[i].size;
	return total;
}

uint64_t bootinfo_take_low_page(struct bootinfo *bi, uint64_t limit)
{
	for (size_t i = bi->nlow; i-- > 0;) {
		struct bootinfo_range *r = &bi->low[i];
		uint64_t end = r->base + r->size;
		uint64_t page;
		size_t j;

		if (end > limit)
			end = limit & ~(PAGE_SIZE - 1);
		if (end < r->base + PAGE_SIZE || end < 2 * PAGE_SIZE)
			continue;
		if (bi->nreserved >= BOOTINFO_MAX_RANGES)
			return 0;
		/* The top page of the range: cut it off the end or split. */
		page = end - PAGE_SIZE;
		if (end == r->base + r->size) {
			r->size -= PAGE_SIZE;
		} else {
			if (bi->nlow >= BOOTINFO_MAX_LOW)
				continue;
			memmove(&bi->low[i + 2], &bi->low[i + 1],
				(bi->nlow - i - 1) * sizeof(bi->low[0]));
			bi->low[i + 1].base = end;
			bi->low[i + 1].size = r->base + r->size - end;
			r->size = page - r->base;
			bi->nlow++;
		}
		if (r->size == 0) {   /* the page was all of it: no empty range stays */
			memmove(&bi->low[i], &bi->low[i + 1], (bi->nlow - i - 1) * sizeof(bi->low[0]));
			bi->nlow--;
		}
		for (j = bi->nreserved; j > 0 && bi->reserved[j - 1].base > page; j--)
			bi->reserved[j] = bi->reserved[j - 1];
		bi->reserved[j].base = page;
		bi->reserved[j].size = PAGE_SIZE;
		bi->nreserved++;
		return page;
	}
	return 0;
}

void bootinfo_init(uint64_t fdt_phys)
{
	char err[160];

	if (bootinfo_parse((const void *)(uintptr_t)fdt_phys, &bootinfo, err, sizeof(err)) < 0)
		panic("boot info at %#lx: %s", (unsigned long)fdt_phys, err);
	console_printf("unicycle: %lu MiB usable RAM in %zu ranges, boot from %s, cmdline '%s'\n",
		       (unsigned long)(bootinfo_usable_bytes(&bootinfo) / BOOTINFO_MIB),
		       bootinfo.nmem, bootinfo.boot_source, bootinfo.cmdline);
#ifdef CONFIG_DEBUG_VERBOSE
	for (size_t i = 0; i < bootinfo.nmem; i++)
		console_printf("    usable   %#012lx-%#012lx\n", (unsigned long)bootinfo.mem[i].base,
			       (unsigned long)(bootinfo.mem[i].base + bootinfo.mem[i].size));
	for (size_t i = 0; i < bootinfo.nreserved; i++)
		console_printf("    reserved %#012lx-%#012lx\n",
			       (unsigned long)bootinfo.reserved[i].base,
			       (unsigned long)(bootinfo.reserved[i].base + bootinfo.reserved[i].size));
#endif
}

const char *uc_cmdline(void)
{
	return bootinfo.cmdline ? bootinfo.cmdline : "";
}
