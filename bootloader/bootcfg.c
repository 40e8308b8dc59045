/* bootcfg.c: parser for /unicycle/boot.cfg. */
#include <string.h>

#include "bootcfg.h"

void bootcfg_defaults(struct bootcfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->net = BOOTCFG_NET_UNSET;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
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
	KEY_COUNT,
};

static const char *const bootcfg_keys[KEY_COUNT] = {
	[KEY_CMDLINE] = "cmdline",
	[KEY_NET]     = "net",
	[KEY_ADDRESS] = "address",
	[KEY_GATEWAY] = "gateway",
	[KEY_SOURCE]  = "source",
	[KEY_FALLBACK] = "fallback",
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

/* One "key = value" line, comment and line end already cut off. */
static enum bootcfg_error parse_line(struct bootcfg *cfg,
                                     struct bootcfg_fault *f, unsigned line,
                                     const char *s, const char *end,
                                     unsigned *seen)
{
	const char *eq, *k, *kend, *v, *vend;
	size_t klen, vlen;
	int key;

	while (s < end && is_blank(*s))
		s++;
	while (end > s && is_blank(end[-1]))
		end--;
	if (s == end)
		return BOOTCFG_OK;

	eq = memchr(s, '=', (size_t)(end - s));
	if (!eq)
		return fail(cfg, f, BOOTCFG_ERR_NO_EQUALS, line, s,
		            (size_t)(end - s));
	k = s;
	kend = eq;
	while (kend > k && is_blank(kend[-1]))
		kend--;
	v = eq + 1;
	while (v < end && is_blank(*v))
		v++;
	vend = end;
	klen = (size_t)(kend - k);
	vlen = (size_t)(vend - v);
	if (klen == 0)
		return fail(cfg, f, BOOTCFG_ERR_EMPTY_KEY, line, "", 0);

	for (key = 0; key < KEY_COUNT; key++)
		if (strlen(bootcfg_keys[key]) == klen &&
		    memcmp(bootcfg_keys[key], k, klen) == 0)
			break;
	if (key == KEY_COUNT)
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
	}
	return BOOTCFG_OK;
}

enum bootcfg_error bootcfg_parse(const char *text, size_t len,
                                 struct bootcfg *cfg,
                                 struct bootcfg_fault *f)
{
	const char *p = text, *end = text + len;
	unsigned line = 0, seen = 0;
	unsigned line_of[KEY_COUNT] = { 0 };

	bootcfg_defaults(cfg);
	fail(cfg, f, BOOTCFG_OK, 0, "", 0);
	if (len > BOOTCFG_FILE_MAX)
		return fail(cfg, f, BOOTCFG_ERR_TOO_BIG, 0, "", 0);
	if (len && memchr(text, '\0', len))
		return fail(cfg, f, BOOTCFG_ERR_NUL, 0, "", 0);
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		p += 3;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *hash = memchr(p, '#', (size_t)(eol - p));
		unsigned before = seen;
		enum bootcfg_error err;

		line++;
		err = parse_line(cfg, f, line, p, hash ? hash : eol, &seen);
		if (err != BOOTCFG_OK)
			return err;
		for (int k = 0; k < KEY_COUNT; k++)
			if ((seen & ~before) & (1u << k))
				line_of[k] = line;
		p = nl ? nl + 1 : end;
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
	}
	return "unknown error";
}
