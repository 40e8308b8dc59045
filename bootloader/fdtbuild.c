/* fdtbuild.c: the boot info FDT, node by node as unicycle/bootinfo.h lists. */
#include <libfdt.h>
#include <string.h>
#include <unicycle/bootinfo.h>

#include "bootcfg.h"
#include "fdtbuild.h"

size_t fdtbuild_size(size_t nregions)
{
	return FDTBUILD_FIXED + nregions * FDTBUILD_PER_RANGE;
}

size_t fdtbuild_merge(struct fdtbuild_region *r, size_t n)
{
	size_t i, out = 0;

	/* Page-align each range inward. */
	for (i = 0; i < n; i++) {
		uint64_t lo = (r[i].base + BOOTINFO_PAGE - 1) & ~(BOOTINFO_PAGE - 1);
		uint64_t hi = r[i].base + r[i].size;

		if (hi < r[i].base)          /* wraps: clamp to the top */
			hi = UINT64_MAX;
		hi &= ~(BOOTINFO_PAGE - 1);
		if (lo < r[i].base || hi <= lo)   /* lo wrapped, or empty */
			continue;
		r[out].base = lo;
		r[out].size = hi - lo;
		r[out].kind = r[i].kind;
		out++;
	}
	n = out;

	/* Insertion sort: firmware maps are short and nearly sorted. */
	for (i = 1; i < n; i++) {
		struct fdtbuild_region key = r[i];
		size_t j = i;

		while (j > 0 && r[j - 1].base > key.base) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = key;
	}

	/* Merge ranges of one kind that touch or overlap. */
	out = 0;
	for (i = 0; i < n; i++) {
		if (out > 0 && r[out - 1].kind == r[i].kind &&
		    r[i].base <= r[out - 1].base + r[out - 1].size) {
			uint64_t end = r[i].base + r[i].size;

			if (end > r[out - 1].base + r[out - 1].size)
				r[out - 1].size = end - r[out - 1].base;
			continue;
		}
		r[out++] = r[i];
	}
	return out;
}

/* "prefix@hex" into buf (node names: DTSpec 2.2.1 unit address). */
static void unit_name(char *buf, size_t cap, const char *prefix, uint64_t addr)
{
	static const char hex[] = "0123456789abcdef";
	char digits[16];
	size_t len = strlen(prefix), nd = 0;

	/* Callers pass 64 bytes and a short prefix: '@', 16 digits and the
	 * NUL always fit. Keep the digits if a prefix ever does not. */
	if (len + 1 + 16 + 1 > cap)
		len = 0;
	memcpy(buf, prefix, len);
	buf[len++] = '@';
	do {
		digits[nd++] = hex[addr & 0xf];
		addr >>= 4;
	} while (addr);
	while (nd)
		buf[len++] = digits[--nd];
	buf[len] = '\0';
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* A property of (u64 base, u64 size) pairs for each region of kind. */
static int reg_of_kind(void *fdt, const struct fdtbuild_region *r, size_t n,
                       enum fdtbuild_mem kind)
{
	size_t i, count = 0;
	uint8_t *val;
	void *p;
	int err;

	for (i = 0; i < n; i++)
		if (r[i].kind == kind)
			count++;
	err = fdt_property_placeholder(fdt, "reg", (int)(count * 16), &p);
	if (err)
		return err;
	val = p;
	for (i = 0; i < n; i++) {
		if (r[i].kind != kind)
			continue;
		put_be64(val, r[i].base);
		put_be64(val + 8, r[i].size);
		val += 16;
	}
	return 0;
}

static int reg_one(void *fdt, uint64_t base, uint64_t size)
{
	uint8_t val[16];

	put_be64(val, base);
	put_be64(val + 8, size);
	return fdt_property(fdt, "reg", val, sizeof(val));
}

/* A property with no value (DTSpec 2.2.4 "<empty>"). Not a NULL value:
 * libfdt would memcpy from it. */
static int empty_prop(void *fdt, const char *name)
{
	return fdt_property(fdt, name, "", 0);
}

/* A /reserved-memory child with one range. */
static int reserved_child(void *fdt, const char *prefix, uint64_t base,
                          uint64_t size, int no_map)
{
	char name[64];
	int err;

	unit_name(name, sizeof(name), prefix, base);
	if ((err = fdt_begin_node(fdt, name)))
		return err;
	if ((err = reg_one(fdt, base, size)))
		return err;
	if (no_map && (err = empty_prop(fdt, "no-map")))
		return err;
	return fdt_end_node(fdt);
}

static int cells(void *fdt)
{
	int err = fdt_property_u32(fdt, "#address-cells", 2);

	return err ? err : fdt_property_u32(fdt, "#size-cells", 2);
}

/* /chosen/unicycle,net-dns: a string list (DTSpec sec 2.2.4), left out
 * when there is no server. */
static int build_dns(void *fdt, const struct fdtbuild_info *in)
{
	char list[BOOTINFO_NET_DNS_MAX * 16];   /* "255.255.255.255" + NUL each */
	size_t len = 0;

	for (int i = 0; i < BOOTINFO_NET_DNS_MAX && in->net_dns[i]; i++) {
		size_t n = strlen(in->net_dns[i]) + 1;

		if (len + n > sizeof(list))
			return -FDT_ERR_BADVALUE;
		memcpy(list + len, in->net_dns[i], n);
		len += n;
	}
	return len ? fdt_property(fdt, BOOTINFO_PROP_NET_DNS, list, (int)len) : 0;
}

static int build_chosen(void *fdt, const struct fdtbuild_info *in)
{
	int err;

	if ((err = fdt_begin_node(fdt, "chosen")))
		return err;
	if ((err = fdt_property_string(fdt, BOOTINFO_PROP_BOOTARGS, in->bootargs)) ||
	    (err = fdt_property_string(fdt, BOOTINFO_PROP_SOURCE, in->boot_source)) ||
	    (err = fdt_property_string(fdt, BOOTINFO_PROP_LOADER, in->bootloader)) ||
	    (err = fdt_property_u64(fdt, BOOTINFO_PROP_IMAGE_BASE, in->image_base)) ||
	    (err = fdt_property_u64(fdt, BOOTINFO_PROP_IMAGE_SIZE, in->image_size)) ||
	    (err = fdt_property_u64(fdt, BOOTINFO_PROP_TSC_START, in->tsc_start)) ||
	    (err = fdt_property_u64(fdt, BOOTINFO_PROP_TSC_JUMP, 0)))
		return err;
	if (in->image_sha256 &&
	    (err = fdt_property(fdt, BOOTINFO_PROP_SHA256, in->image_sha256, 32)))
		return err;
	if (in->boot_server &&
	    (err = fdt_property_string(fdt, BOOTINFO_PROP_SERVER, in->boot_server)))
		return err;
	if (in->net_mode &&
	    (err = fdt_property_string(fdt, BOOTINFO_PROP_NET_MODE, in->net_mode)))
		return err;
	if (in->net_address &&
	    (err = fdt_property_string(fdt, BOOTINFO_PROP_NET_ADDR, in->net_address)))
		return err;
	if (in->net_gateway &&
	    (err = fdt_property_string(fdt, BOOTINFO_PROP_NET_GW, in->net_gateway)))
		return err;
	if ((err = build_dns(fdt, in)))
		return err;
	return fdt_end_node(fdt);
}

static int build_memory(void *fdt, const struct fdtbuild_region *r, size_t n)
{
	char name[64];
	size_t i;
	int err;

	for (i = 0; i < n && r[i].kind != FDTBUILD_MEM_USABLE; i++)
		;
	if (i == n)
		return -FDT_ERR_BADVALUE;   /* no usable RAM at all */
	unit_name(name, sizeof(name), "memory", r[i].base);
	if ((err = fdt_begin_node(fdt, name)) ||
	    (err = fdt_property_string(fdt, "device_type", "memory")) ||
	    (err = reg_of_kind(fdt, r, n, FDTBUILD_MEM_USABLE)))
		return err;
	return fdt_end_node(fdt);
}

static int build_reserved(void *fdt, const struct fdtbuild_info *in,
                          const struct fdtbuild_region *r, size_t n)
{
	size_t i;
	int err;

	/* "reserved-memory" is BOOTINFO_RESERVED without its leading '/'. */
	if ((err = fdt_begin_node(fdt, BOOTINFO_RESERVED + 1)) ||
	    (err = cells(fdt)) ||
	    (err = empty_prop(fdt, "ranges")))
		return err;
	if ((err = reserved_child(fdt, "image", in->image_base,
	                          in->image_size, 0)) ||
	    (err = reserved_child(fdt, "bootinfo", in->blob_base,
	                          in->blob_size, 0)))
		return err;
	for (i = 0; i < n; i++) {
		if (r[i].kind == FDTBUILD_MEM_ACPI)
			err = reserved_child(fdt, "acpi", r[i].base, r[i].size, 1);
		else if (r[i].kind == FDTBUILD_MEM_RUNTIME)
			err = reserved_child(fdt, "runtime", r[i].base,
			                     r[i].size, 1);
		if (err)
			return err;
	}
	return fdt_end_node(fdt);
}

static int build_framebuffer(void *fdt, const struct fdtbuild_fb *fb)
{
	char name[64];
	int err;

	unit_name(name, sizeof(name), "framebuffer", fb->base);
	if ((err = fdt_begin_node(fdt, name)) ||
	    (err = fdt_property_string(fdt, "compatible", "simple-framebuffer")) ||
	    (err = reg_one(fdt, fb->base, fb->size)) ||
	    (err = fdt_property_u32(fdt, "width", fb->width)) ||
	    (err = fdt_property_u32(fdt, "height", fb->height)) ||
	    (err = fdt_property_u32(fdt, "stride", fb->stride)) ||
	    (err = fdt_property_string(fdt, "format", fb->format)))
		return err;
	return fdt_end_node(fdt);
}

int fdtbuild_build(void *buf, size_t bufsize, const struct fdtbuild_info *in,
                   const struct fdtbuild_region *r, size_t n)
{
	int err;

	if (bufsize > INT32_MAX)
		bufsize = INT32_MAX;
	/* DTSpec 5: header, empty memory reservation block, structure block
	 * (sequential write keeps strings at the end until fdt_finish). */
	if ((err = fdt_create(buf, (int)bufsize)) ||
	    (err = fdt_finish_reservemap(buf)) ||
	    (err = fdt_begin_node(buf, "")) ||
	    (err = fdt_property_string(buf, "compatible", BOOTINFO_COMPATIBLE)) ||
	    (err = cells(buf)))
		return err;
	if (in->acpi_rsdp &&
	    (err = fdt_property_u64(buf, BOOTINFO_PROP_RSDP, in->acpi_rsdp)))
		return err;
	if ((err = build_chosen(buf, in)) ||
	    (err = build_memory(buf, r, n)) ||
	    (err = build_reserved(buf, in, r, n)))
		return err;
	if (in->fb && (err = build_framebuffer(buf, in->fb)))
		return err;
	if ((err = fdt_end_node(buf)))
		return err;
	return fdt_finish(buf);
}

void fdtbuild_set_network(struct fdtbuild_info *in, const struct bootcfg *cfg)
{
	in->net_mode = cfg->net == BOOTCFG_NET_DHCP ? "dhcp" :
	               cfg->net == BOOTCFG_NET_STATIC ? "static" : NULL;
	in->net_address = cfg->address[0] ? cfg->address : NULL;
	in->net_gateway = cfg->gateway[0] ? cfg->gateway : NULL;
	for (int i = 0; i < BOOTINFO_NET_DNS_MAX; i++)
		in->net_dns[i] = cfg->dns[i][0] ? cfg->dns[i] : NULL;
}

int fdtbuild_set_tsc_jump(void *fdt, uint64_t tsc)
{
	int node = fdt_path_offset(fdt, BOOTINFO_CHOSEN);

	if (node < 0)
		return node;
	return fdt_setprop_inplace_u64(fdt, node, BOOTINFO_PROP_TSC_JUMP, tsc);
}
