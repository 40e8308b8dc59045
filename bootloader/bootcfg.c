/* bootcfg.c: parser for /unicycle/boot.cfg. */
#include <string.h>

#include "bootcfg.h"
#include "kvfile.h"

void bootcfg_defaults(struct bootcfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->net = BOOTCFG_NET_UNSET;
}

/* Parse one decimal number 0..max from [*p, end); advance *p. */
static int parse_dec(const char **p, const char *end, unsigned max,
                     unsigned *out)
{
	unsigned v = 0;
	const char *s = *p;

	if (s == end || *s < '0' || *s > '9')
		return -1;
	/* No leading zeros ("010" is octal to some parsers). */
	if (*s == '0' && s + 1 < end && s[1] >= '0' && s[1] <= '9')
		return -1;
	while (s < end && *s >= '0' && *s <= '9') {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return -1;
		s++;
	}
	*p = s;
	*out = v;
	return 0;
}

/* a.b.c.d at [*p, end); advance *p past it. */
static int parse_ipv4(const char **p, const char *end)
{
	unsigned octet;

	for (int i = 0; i < 4; i++) {
		if (i > 0) {
			if (*p == end || **p != '.')
				return -1;
			(*p)++;
		}
		if (parse_dec(p, end, 255, &octet) < 0)
			return -1;
	}
	return 0;
}

static int valid_ipv4(const char *s, size_t n)
{
	const char *p = s;

	return parse_ipv4(&p, s + n) == 0 && p == s + n;
}

static int valid_cidr(const char *s, size_t n)
{
	const char *p = s, *end = s + n;
	unsigned prefix;

	if (parse_ipv4(&p, end) < 0 || p == end || *p != '/')
		return 0;
	p++;
	return parse_dec(&p, end, 32, &prefix) == 0 && p == end;
}

/* Copy n bytes of value into a field of size cap, NUL-terminated. */
static int set_field(char *field, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(field, v, n);
	field[n] = '\0';
	return 0;
}

enum bootcfg_key {
	KEY_CMDLINE,
	KEY_NET,
	KEY_ADDRESS,
	KEY_GATEWAY,
	KEY_SOURCE,
	KEY_FALLBACK,
	KEY_DNS,
	KEY_COUNT,
};

static const char *const bootcfg_keys[KEY_COUNT] = {
	[KEY_CMDLINE] = "cmdline",
	[KEY_NET]     = "net",
	[KEY_ADDRESS] = "address",
	[KEY_GATEWAY] = "gateway",
	[KEY_SOURCE]  = "source",
	[KEY_FALLBACK] = "fallback",
	[KEY_DNS]     = "dns",
};

static enum bootcfg_error fail(struct bootcfg *cfg, struct bootcfg_fault *f,
                               enum bootcfg_error err, unsigned line,
                               const char *key, size_t keylen)
{
	bootcfg_defaults(cfg);
	f->line = line;
	if (keylen >= sizeof(f->key))
		keylen = sizeof(f->key) - 1;
	if (keylen)
		memcpy(f->key, key, keylen);
	f->key[keylen] = '\0';
	return err;
}

/* "a.b.c.d" words separated by blanks into cfg->dns; -1 when there are
 * none, too many, or one is not an address. */
static int set_dns(struct bootcfg *cfg, const char *v, size_t vlen)
{
	const char *end = v + vlen;
	unsigned n = 0;

	for (;;) {
		const char *w;

		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		if (v == end)
			break;
		w = v;
		while (v < end && *v != ' ' && *v != '\t')
			v++;
		if (n == BOOTINFO_NET_DNS_MAX || !valid_ipv4(w, (size_t)(v - w)) ||
		    set_field(cfg->dns[n], sizeof(cfg->dns[n]), w, (size_t)(v - w)) < 0)
			return -1;
		n++;
	}
	return n ? 0 : -1;
}

/* One "key = value" pair of line `line`. */
static enum bootcfg_error apply_pair(struct bootcfg *cfg,
                                     struct bootcfg_fault *f, unsigned line,
                                     const struct kv *kv, unsigned *seen)
{
	const char *k = kv->key, *v = kv->value;
	size_t klen = kv->keylen, vlen = kv->valuelen;
	int key = kvfile_key(bootcfg_keys, KEY_COUNT, kv);

	if (key < 0)
		return fail(cfg, f, BOOTCFG_ERR_UNKNOWN_KEY, line, k, klen);
	if (*seen & (1u << key))
		return fail(cfg, f, BOOTCFG_ERR_DUPLICATE, line, k, klen);
	*seen |= 1u << key;

	switch (key) {
	case KEY_CMDLINE:
		if (set_field(cfg->cmdline, sizeof(cfg->cmdline), v, vlen) < 0)
			return fail(cfg, f, BOOTCFG_ERR_TOO_LONG, line, k, klen);
		break;
	case KEY_NET:
		if (vlen == 4 && memcmp(v, "dhcp", 4) == 0)
			cfg->net = BOOTCFG_NET_DHCP;
		else if (vlen == 6 && memcmp(v, "static", 6) == 0)
			cfg->net = BOOTCFG_NET_STATIC;
		else
			return fail(cfg, f, BOOTCFG_ERR_NET_MODE, line, k, klen);
		break;
	case KEY_ADDRESS:
		if (!valid_cidr(v, vlen) ||
		    set_field(cfg->address, sizeof(cfg->address), v, vlen) < 0)
			return fail(cfg, f, BOOTCFG_ERR_ADDRESS, line, k, klen);
		break;
	case KEY_GATEWAY:
		if (!valid_ipv4(v, vlen) ||
		    set_field(cfg->gateway, sizeof(cfg->gateway), v, vlen) < 0)
			return fail(cfg, f, BOOTCFG_ERR_GATEWAY, line, k, klen);
		break;
	case KEY_SOURCE:
		if (vlen == 4 && memcmp(v, "disk", 4) == 0)
			cfg->source = BOOTCFG_SOURCE_DISK;
		else if (vlen == 3 && memcmp(v, "net", 3) == 0)
			cfg->source = BOOTCFG_SOURCE_NET;
		else
			return fail(cfg, f, BOOTCFG_ERR_SOURCE, line, k, klen);
		break;
	case KEY_FALLBACK:
		if (vlen == 4 && memcmp(v, "none", 4) == 0)
			cfg->fallback = BOOTCFG_FALLBACK_NONE;
		else if (vlen == 4 && memcmp(v, "disk", 4) == 0)
			cfg->fallback = BOOTCFG_FALLBACK_DISK;
		else
			return fail(cfg, f, BOOTCFG_ERR_FALLBACK, line, k, klen);
		break;
	case KEY_DNS:
		if (set_dns(cfg, v, vlen) < 0)
			return fail(cfg, f, BOOTCFG_ERR_DNS, line, k, klen);
		break;
	}
	return BOOTCFG_OK;
}

enum bootcfg_error bootcfg_parse(const char *text, size_t len,
                                 struct bootcfg *cfg,
                                 struct bootcfg_fault *f)
{
	struct kvfile kf;
	struct kv kv;
	enum kvfile_status st;
	unsigned line = 0, seen = 0;
	unsigned line_of[KEY_COUNT] = { 0 };

	bootcfg_defaults(cfg);
	fail(cfg, f, BOOTCFG_OK, 0, "", 0);
	switch (kvfile_init(&kf, text, len, BOOTCFG_FILE_MAX)) {
	case KVFILE_TOO_BIG:
		return fail(cfg, f, BOOTCFG_ERR_TOO_BIG, 0, "", 0);
	case KVFILE_NUL:
		return fail(cfg, f, BOOTCFG_ERR_NUL, 0, "", 0);
	default:
		break;
	}
	while ((st = kvfile_next(&kf, &kv)) != KVFILE_END) {
		unsigned before = seen;
		enum bootcfg_error err;

		line = kf.line;
		if (st == KVFILE_NO_EQUALS)
			return fail(cfg, f, BOOTCFG_ERR_NO_EQUALS, line, kv.key, kv.keylen);
		if (st == KVFILE_EMPTY_KEY)
			return fail(cfg, f, BOOTCFG_ERR_EMPTY_KEY, line, "", 0);
		err = apply_pair(cfg, f, line, &kv, &seen);
		if (err != BOOTCFG_OK)
			return err;
		for (int k = 0; k < KEY_COUNT; k++)
			if ((seen & ~before) & (1u << k))
				line_of[k] = line;
	}

	/* Settings that only make sense together. */
	if (cfg->net != BOOTCFG_NET_STATIC) {
		if (seen & (1u << KEY_ADDRESS))
			return fail(cfg, f, BOOTCFG_ERR_NOT_STATIC,
			            line_of[KEY_ADDRESS], "address", 7);
		if (seen & (1u << KEY_GATEWAY))
			return fail(cfg, f, BOOTCFG_ERR_NOT_STATIC,
			            line_of[KEY_GATEWAY], "gateway", 7);
	} else if (!(seen & (1u << KEY_ADDRESS))) {
		return fail(cfg, f, BOOTCFG_ERR_NO_ADDRESS, line_of[KEY_NET],
		            "net", 3);
	}
	return BOOTCFG_OK;
}

const char *bootcfg_strerror(enum bootcfg_error err)
{
	switch (err) {
	case BOOTCFG_OK:             return "no error";
	case BOOTCFG_ERR_TOO_BIG:    return "file too big";
	case BOOTCFG_ERR_NUL:        return "NUL byte in file (not text)";
	case BOOTCFG_ERR_NO_EQUALS:  return "expected key = value";
	case BOOTCFG_ERR_EMPTY_KEY:  return "missing key before '='";
	case BOOTCFG_ERR_UNKNOWN_KEY:return "unknown key";
	case BOOTCFG_ERR_DUPLICATE:  return "key given twice";
	case BOOTCFG_ERR_TOO_LONG:   return "value too long";
	case BOOTCFG_ERR_NET_MODE:   return "net must be dhcp or static";
	case BOOTCFG_ERR_ADDRESS:    return "address must be a.b.c.d/prefix";
	case BOOTCFG_ERR_GATEWAY:    return "gateway must be a.b.c.d";
	case BOOTCFG_ERR_NOT_STATIC: return "only allowed with net = static";
	case BOOTCFG_ERR_NO_ADDRESS: return "net = static needs address";
	case BOOTCFG_ERR_SOURCE:     return "source must be disk or net";
	case BOOTCFG_ERR_FALLBACK:   return "fallback must be none or disk";
	case BOOTCFG_ERR_DNS:        return "dns must be one or two a.b.c.d separated by blanks";
	}
	return "unknown error";
}
