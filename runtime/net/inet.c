/* inet.c: uc_sockaddr text forms (IPv4 dotted quad, IPv6 RFC 4291 sec 2.2 / RFC 5952) and comparison; no lwIP, host-tested. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <unicycle/inet.h>

#define INET_V4_LEN      4
#define INET_V6_LEN      16
#define INET_V6_GROUPS   8
#define INET_ZONE_PREFIX "%net"
#define INET_ZONE_MAX    254   /* %net254 is zone 255 */
#define INET_PORT_MAX    65535u
#define INET_ANY_TEXT    "*"

static bool inet_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static int inet_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decimal in [s, end) without sign or leading zeros (a lone "0" is fine),
 * at most `max`. Returns 0 or -EINVAL. */
static int inet_parse_dec(const char *s, const char *end, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (s == end || (end - s > 1 && *s == '0'))
		return -EINVAL;
	for (; s < end; s++) {
		if (!inet_isdigit(*s))
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* "a.b.c.d" exactly filling [s, end). */
static int inet_parse_v4(const char *s, const char *end, uint8_t *addr)
{
	for (int i = 0; i < INET_V4_LEN; i++) {
		const char *dot = s;
		unsigned v;

		while (dot < end && *dot != '.')
			dot++;
		if ((i < INET_V4_LEN - 1) != (dot < end))
			return -EINVAL;
		if (inet_parse_dec(s, dot, 255, &v) < 0)
			return -EINVAL;
		addr[i] = (uint8_t)v;
		s = dot + 1;
	}
	return 0;
}

/* RFC 4291 sec 2.2: eight groups of 1-4 hex digits, one "::" for a run of
 * zero groups, the last 32 bits optionally as a dotted quad. */
static int inet_parse_v6(const char *s, const char *end, uint8_t *addr)
{
	uint16_t groups[INET_V6_GROUPS];
	int n = 0, gap = -1;

	if (end - s >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		s += 2;
	} else if (s < end && *s == ':') {
		return -EINVAL;
	}
	while (s < end) {
		const char *p = s;
		unsigned v = 0;
		int digits = 0;

		while (p < end && inet_hexval(*p) >= 0 && digits < 5) {
			v = v * 16 + (unsigned)inet_hexval(*p++);
			digits++;
		}
		if (p < end && *p == '.') {   /* embedded IPv4 ends the address */
			uint8_t v4[INET_V4_LEN];

			if (n > INET_V6_GROUPS - 2 || inet_parse_v4(s, end, v4) < 0)
				return -EINVAL;
			groups[n++] = (uint16_t)(v4[0] << 8 | v4[1]);
			groups[n++] = (uint16_t)(v4[2] << 8 | v4[3]);
			s = end;
			break;
		}
		if (digits == 0 || digits > 4 || n == INET_V6_GROUPS)
			return -EINVAL;
		groups[n++] = (uint16_t)v;
		s = p;
		if (s == end)
			break;
		if (*s != ':')
			return -EINVAL;
		s++;
		if (s < end && *s == ':') {
			if (gap >= 0)
				return -EINVAL;   /* a second "::" */
			gap = n;
			s++;
		} else if (s == end) {
			return -EINVAL;           /* trailing single ':' */
		}
	}
	if (gap < 0 ? n != INET_V6_GROUPS : n > INET_V6_GROUPS - 1)
		return -EINVAL;
	memset(addr, 0, INET_V6_LEN);
	for (int i = 0; i < n; i++) {
		int at = gap >= 0 && i >= gap ? i + (INET_V6_GROUPS - n) : i;

		addr[2 * at] = (uint8_t)(groups[i] >> 8);
		addr[2 * at + 1] = (uint8_t)groups[i];
	}
	return 0;
}

static bool inet_v6_linklocal(const uint8_t *addr)
{
	return addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80;   /* fe80::/10 */
}

/* The v6 text in [s, end), with an optional "%netN" zone. */
static int inet_parse_v6_zone(const char *s, const char *end, struct uc_sockaddr *out)
{
	const char *pct = memchr(s, '%', (size_t)(end - s));
	size_t plen = sizeof(INET_ZONE_PREFIX) - 1;
	unsigned zone;

	out->family = UC_AF_INET6;
	out->zone = 0;
	if (inet_parse_v6(s, pct ? pct : end, out->addr) < 0)
		return -EINVAL;
	if (!pct)
		return 0;
	if ((size_t)(end - pct) <= plen || memcmp(pct, INET_ZONE_PREFIX, plen) != 0 ||
	    inet_parse_dec(pct + plen, end, INET_ZONE_MAX, &zone) < 0 ||
	    !inet_v6_linklocal(out->addr))
		return -EINVAL;
	out->zone = (uint8_t)(zone + 1);
	return 0;
}

static int inet_parse_port(const char *s, const char *end, uint16_t *port)
{
	unsigned v;

	if (inet_parse_dec(s, end, INET_PORT_MAX, &v) < 0)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int uc_sockaddr_parse(const char *text, uint16_t default_port, struct uc_sockaddr *out)
{
	struct uc_sockaddr a;
	const char *end, *colon;
	int rc;

	if (!text || !out)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	a.port = default_port;
	end = text + strlen(text);
	if (text[0] == '[') {                 /* "[v6]" or "[v6]:port" */
		const char *close = memchr(text, ']', (size_t)(end - text));

		if (!close || inet_parse_v6_zone(text + 1, close, &a) < 0)
			return -EINVAL;
		if (close + 1 != end &&
		    (close[1] != ':' || inet_parse_port(close + 2, end, &a.port) < 0))
			return -EINVAL;
	} else if (text[0] == '*') {          /* "*" or "*:port": any address */
		a.family = UC_AF_UNSPEC;
		if (text + 1 != end &&
		    (text[1] != ':' || inet_parse_port(text + 2, end, &a.port) < 0))
			return -EINVAL;
	} else if ((colon = strchr(text, ':')) && !strchr(colon + 1, ':')) {
		a.family = UC_AF_INET;          /* "a.b.c.d:port" */
		if (inet_parse_v4(text, colon, a.addr) < 0 ||
		    inet_parse_port(colon + 1, end, &a.port) < 0)
			return -EINVAL;
	} else if (colon) {                     /* bare v6, no port */
		if (inet_parse_v6_zone(text, end, &a) < 0)
			return -EINVAL;
	} else {
		a.family = UC_AF_INET;
		rc = inet_parse_v4(text, end, a.addr);
		if (rc < 0)
			return rc;
	}
	*out = a;
	return 0;
}

/* ---- formatting ---- */

struct inet_buf {
	char *p, *end;
	bool overflow;
};

static void inet_putc(struct inet_buf *b, char c)
{
	if (b->p < b->end)
		*b->p++ = c;
	else
		b->overflow = true;
}

static void inet_puts(struct inet_buf *b, const char *s)
{
	while (*s)
		inet_putc(b, *s++);
}

static void inet_putu(struct inet_buf *b, unsigned v)
{
	char tmp[12];

	snprintf(tmp, sizeof(tmp), "%u", v);
	inet_puts(b, tmp);
}

static void inet_puthex(struct inet_buf *b, unsigned v)
{
	static const char hex[] = "0123456789abcdef";
	bool started = false;

	for (int shift = 12; shift >= 0; shift -= 4) {
		unsigned d = (v >> shift) & 0xf;

		if (d || started || shift == 0) {
			inet_putc(b, hex[d]);
			started = true;
		}
	}
}

static void inet_put_v4(struct inet_buf *b, const uint8_t *addr)
{
	for (int i = 0; i < INET_V4_LEN; i++) {
		if (i)
			inet_putc(b, '.');
		inet_putu(b, addr[i]);
	}
}

/* RFC 5952 sec 4: lower case, no leading zeros, the longest run of two or
 * more zero groups (the first of equal runs) as "::". */
static void inet_put_v6(struct inet_buf *b, const uint8_t *addr)
{
	unsigned g[INET_V6_GROUPS];
	int best = -1, best_len = 1;

	for (int i = 0; i < INET_V6_GROUPS; i++)
		g[i] = (unsigned)addr[2 * i] << 8 | addr[2 * i + 1];
	for (int i = 0; i < INET_V6_GROUPS;) {
		int j = i;

		while (j < INET_V6_GROUPS && g[j] == 0)
			j++;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
		i = j > i ? j : i + 1;
	}
	for (int i = 0; i < INET_V6_GROUPS; i++) {
		if (i == best) {
			inet_puts(b, "::");
			i += best_len - 1;
			continue;
		}
		if (i && i != best + best_len)
			inet_putc(b, ':');
		inet_puthex(b, g[i]);
	}
}

int uc_sockaddr_format(const struct uc_sockaddr *a, char *buf, size_t len)
{
	struct inet_buf b = { buf, buf + len, false };
	bool v6;

	if (!a || !buf)
		return -EINVAL;
	if (a->family != UC_AF_UNSPEC && a->family != UC_AF_INET && a->family != UC_AF_INET6)
		return -EINVAL;
	v6 = a->family == UC_AF_INET6;
	if (v6 && a->port)
		inet_putc(&b, '[');
	if (a->family == UC_AF_UNSPEC)
		inet_puts(&b, INET_ANY_TEXT);
	else if (v6)
		inet_put_v6(&b, a->addr);
	else
		inet_put_v4(&b, a->addr);
	if (v6 && a->zone) {
		inet_puts(&b, INET_ZONE_PREFIX);
		inet_putu(&b, a->zone - 1u);
	}
	if (a->port) {
		if (v6)
			inet_putc(&b, ']');
		inet_putc(&b, ':');
		inet_putu(&b, a->port);
	}
	inet_putc(&b, '\0');
	if (b.overflow) {
		if (len)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return (int)(b.p - buf - 1);
}

int uc_sockaddr_equal(const struct uc_sockaddr *a, const struct uc_sockaddr *b)
{
	size_t n;

	if (a->family != b->family || a->port != b->port)
		return 0;
	switch (a->family) {
	case UC_AF_INET:  n = INET_V4_LEN; break;
	case UC_AF_INET6: n = INET_V6_LEN; break;
	default:          return a->family == UC_AF_UNSPEC;
	}
	if (a->family == UC_AF_INET6 && a->zone != b->zone)
		return 0;
	return memcmp(a->addr, b->addr, n) == 0;
}
