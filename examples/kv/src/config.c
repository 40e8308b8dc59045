/* config.c: parses the kv server's boot command line ("maxmemory=16mb port=6379 ..."). */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "config.h"

_Static_assert(sizeof(KV_DEFAULT_DISK) <= KV_DISK_SERIAL_MAX + 1, "KV_DEFAULT_DISK: a serial has at most 20 bytes");

#define CONFIG_PORT_MAX 65535
/* Keeps the `timeout` in milliseconds within the TCP API's unsigned. */
#define CONFIG_TIMEOUT_MAX (365u * 24 * 3600)
/* auto-aof-rewrite-percentage: Redis takes any int; this keeps the
 * threshold arithmetic far from overflow. */
#define CONFIG_PERCENT_MAX 100000u
#define CONFIG_KILO 1000ull
#define CONFIG_KIBI 1024ull

void config_defaults(struct config *c)
{
	c->port = KV_DEFAULT_PORT;
	c->maxmemory = KV_DEFAULT_MAXMEMORY;
	c->maxclients = KV_DEFAULT_MAXCLIENTS;
	c->timeout = KV_DEFAULT_TIMEOUT;
	c->client_memory = KV_DEFAULT_CLIENT_MEMORY;
	c->appendonly = KV_DEFAULT_APPENDONLY;
	c->appendfsync = KV_DEFAULT_APPENDFSYNC;
	c->aof_rewrite_min_size = KV_DEFAULT_AOF_REWRITE_MIN_SIZE;
	c->aof_rewrite_percentage = KV_DEFAULT_AOF_REWRITE_PERCENTAGE;
	memcpy(c->disk, KV_DEFAULT_DISK, sizeof(KV_DEFAULT_DISK));
}

static const char *const config_fsync_names[] = {
	[CONFIG_FSYNC_ALWAYS] = "always", [CONFIG_FSYNC_EVERYSEC] = "everysec",
	[CONFIG_FSYNC_NO] = "no",
};

const char *config_fsync_name(enum config_fsync f)
{
	return config_fsync_names[f];
}

static bool config_unit_is(const char *s, size_t len, const char *unit)
{
	size_t i;

	if (strlen(unit) != len)
		return false;
	for (i = 0; i < len; i++)
		if (tolower((unsigned char)s[i]) != unit[i])
			return false;
	return true;
}

/* Decimal digits only, no overflow. */
static int config_parse_uint(const char *s, size_t len, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i;

	if (len == 0)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (~0ull - (unsigned)(s[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int config_parse_size(const char *s, size_t len, size_t *out)
{
	static const struct { const char *name; unsigned long long mul; } units[] = {
		{ "b", 1 },
		{ "k", CONFIG_KILO }, { "kb", CONFIG_KIBI },
		{ "m", CONFIG_KILO * CONFIG_KILO }, { "mb", CONFIG_KIBI * CONFIG_KIBI },
		{ "g", CONFIG_KILO * CONFIG_KILO * CONFIG_KILO },
		{ "gb", CONFIG_KIBI * CONFIG_KIBI * CONFIG_KIBI },
	};
	unsigned long long v, mul = 1;
	size_t digits = 0, i;

	while (digits < len && s[digits] >= '0' && s[digits] <= '9')
		digits++;
	if (digits < len) {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (config_unit_is(s + digits, len - digits, units[i].name))
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		mul = units[i].mul;
	}
	if (config_parse_uint(s, digits, &v) < 0 || (v && mul > ~0ull / v) ||
	    v * mul > (size_t)-1)
		return -EINVAL;
	*out = (size_t)(v * mul);
	return 0;
}

static int config_parse_yes_no(const char *s, size_t len, bool *out)
{
	if (config_unit_is(s, len, "yes"))
		*out = true;
	else if (config_unit_is(s, len, "no"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int config_parse_fsync(const char *s, size_t len, enum config_fsync *out)
{
	for (size_t i = 0; i < sizeof(config_fsync_names) / sizeof(config_fsync_names[0]); i++)
		if (config_unit_is(s, len, config_fsync_names[i])) {
			*out = (enum config_fsync)i;
			return 0;
		}
	return -EINVAL;
}

static bool config_key_is(const char *w, size_t klen, const char *name)
{
	return strlen(name) == klen && memcmp(w, name, klen) == 0;
}

/* One "key=value" word. */
static int config_word(struct config *c, const char *w, size_t len)
{
	const char *eq = memchr(w, '=', len);
	const char *val;
	size_t klen, vlen;
	unsigned long long n;

	if (!eq)
		return -EINVAL;
	klen = (size_t)(eq - w);
	val = eq + 1;
	vlen = len - klen - 1;
	if (config_key_is(w, klen, "maxmemory"))
		return config_parse_size(val, vlen, &c->maxmemory);
	if (config_key_is(w, klen, "client-memory"))
		return config_parse_size(val, vlen, &c->client_memory);
	if (config_key_is(w, klen, "auto-aof-rewrite-min-size"))
		return config_parse_size(val, vlen, &c->aof_rewrite_min_size);
	if (config_key_is(w, klen, "appendonly"))
		return config_parse_yes_no(val, vlen, &c->appendonly);
	if (config_key_is(w, klen, "appendfsync"))
		return config_parse_fsync(val, vlen, &c->appendfsync);
	if (config_key_is(w, klen, "disk")) {
		if (vlen == 0 || vlen > KV_DISK_SERIAL_MAX)
			return -EINVAL;
		memcpy(c->disk, val, vlen);
		c->disk[vlen] = '\0';
		return 0;
	}
	if (config_parse_uint(val, vlen, &n) < 0)
		return -EINVAL;
	if (config_key_is(w, klen, "port")) {
		if (n == 0 || n > CONFIG_PORT_MAX)
			return -EINVAL;
		c->port = (uint16_t)n;
		return 0;
	}
	if (config_key_is(w, klen, "maxclients")) {
		if (n == 0 || n > ~0u)
			return -EINVAL;
		c->maxclients = (unsigned)n;
		return 0;
	}
	if (config_key_is(w, klen, "auto-aof-rewrite-percentage")) {
		if (n > CONFIG_PERCENT_MAX)
			return -EINVAL;
		c->aof_rewrite_percentage = (unsigned)n;
		return 0;
	}
	if (config_key_is(w, klen, "timeout")) {
		if (n > CONFIG_TIMEOUT_MAX)
			return -EINVAL;
		c->timeout = (unsigned)n;
		return 0;
	}
	return -EINVAL;
}

int config_parse(struct config *c, const char *cmdline, char *bad, size_t badlen)
{
	const char *p = cmdline;

	while (*p) {
		const char *w;
		size_t len;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		w = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		len = (size_t)(p - w);
		if (config_word(c, w, len) < 0) {
			if (badlen) {
				size_t n = len < badlen - 1 ? len : badlen - 1;

				memcpy(bad, w, n);
				bad[n] = '\0';
			}
			return -EINVAL;
		}
	}
	return 0;
}
