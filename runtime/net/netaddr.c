/* netaddr.c: parsing and printing IPv4 addresses for boot.cfg network settings and the console. */
#include <errno.h>
#include <string.h>

#include "net/net.h"

/* Parses one decimal part 0..255 at *sp; advances *sp past it. */
static int netaddr_part(const char **sp, uint32_t *out)
{
	const char *s = *sp;
	uint32_t v = 0;
	int digits = 0;

	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (uint32_t)(*s - '0');
		if (++digits > 3 || v > 255)
			return -EINVAL;
		s++;
	}
	if (digits == 0)
		return -EINVAL;
	*sp = s;
	*out = v;
	return 0;
}

static int netaddr_parse_prefix(const char **sp, uint32_t *addr)
{
	uint32_t a = 0, part;
	int i;

	for (i = 0; i < 4; i++) {
		if (i > 0) {
			if (**sp != '.')
				return -EINVAL;
			(*sp)++;
		}
		if (netaddr_part(sp, &part) < 0)
			return -EINVAL;
		a = a << 8 | part;
	}
	*addr = a;
	return 0;
}

int netaddr_parse_ipv4(const char *s, uint32_t *addr)
{
	uint32_t a;

	if (!s || netaddr_parse_prefix(&s, &a) < 0 || *s != '\0')
		return -EINVAL;
	*addr = a;
	return 0;
}

int netaddr_parse_cidr(const char *s, uint32_t *addr, unsigned *prefix)
{
	uint32_t a, len;

	if (!s || netaddr_parse_prefix(&s, &a) < 0 || *s != '/')
		return -EINVAL;
	s++;
	if (netaddr_part(&s, &len) < 0 || len > 32 || *s != '\0')
		return -EINVAL;
	*addr = a;
	*prefix = len;
	return 0;
}

uint32_t netaddr_prefix_to_mask(unsigned prefix)
{
	if (prefix == 0)
		return 0;
	if (prefix >= 32)
		return 0xffffffffu;
	return 0xffffffffu << (32 - prefix);
}

int netaddr_mask_to_prefix(uint32_t mask)
{
	int n = 0;

	while (n < 32 && (mask & (0x80000000u >> n)))
		n++;
	if (netaddr_prefix_to_mask((unsigned)n) != mask)
		return -EINVAL;
	return n;
}

void netaddr_format_ipv4(char *buf, uint32_t addr)
{
	char *p = buf;
	int i;

	for (i = 3; i >= 0; i--) {
		unsigned v = (addr >> (i * 8)) & 0xff;

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		if (i > 0)
			*p++ = '.';
	}
	*p = '\0';
}

int netaddr_format_ifaddr(char *buf, size_t len, uint32_t addr, uint32_t mask)
{
	char text[NETADDR_IFADDR_STRLEN];
	int prefix = netaddr_mask_to_prefix(mask);
	size_t n;

	netaddr_format_ipv4(text, addr);
	n = strlen(text);
	text[n++] = '/';
	if (prefix < 0) {
		netaddr_format_ipv4(text + n, mask);
		n += strlen(text + n);
	} else {
		if (prefix >= 10)
			text[n++] = (char)('0' + prefix / 10);
		text[n++] = (char)('0' + prefix % 10);
		text[n] = '\0';
	}
	if (n + 1 > len)
		return -ENOSPC;
	memcpy(buf, text, n + 1);
	return (int)n;
}
