/* kvfile.c: reading "key = value" text files (boot.cfg, payload.cfg) line by line. */
#include <string.h>

#include "kvfile.h"

static int kvfile_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

enum kvfile_status kvfile_init(struct kvfile *kf, const char *text, size_t len,
                               size_t max)
{
	kf->p = text;
	kf->end = text + len;
	kf->line = 0;
	if (len > max)
		return KVFILE_TOO_BIG;
	if (len && memchr(text, '\0', len))
		return KVFILE_NUL;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		kf->p += 3;
	return KVFILE_PAIR;
}

enum kvfile_status kvfile_next(struct kvfile *kf, struct kv *out)
{
	while (kf->p < kf->end) {
		const char *nl = memchr(kf->p, '\n', (size_t)(kf->end - kf->p));
		const char *eol = nl ? nl : kf->end;
		const char *hash = memchr(kf->p, '#', (size_t)(eol - kf->p));
		const char *s = kf->p, *end = hash ? hash : eol, *eq, *kend, *v;

		kf->p = nl ? nl + 1 : kf->end;
		kf->line++;
		while (s < end && kvfile_blank(*s))
			s++;
		while (end > s && kvfile_blank(end[-1]))
			end--;
		if (s == end)
			continue;
		eq = memchr(s, '=', (size_t)(end - s));
		if (!eq) {
			*out = (struct kv){ s, (size_t)(end - s), end, 0 };
			return KVFILE_NO_EQUALS;
		}
		kend = eq;
		while (kend > s && kvfile_blank(kend[-1]))
			kend--;
		v = eq + 1;
		while (v < end && kvfile_blank(*v))
			v++;
		*out = (struct kv){ s, (size_t)(kend - s), v, (size_t)(end - v) };
		return out->keylen ? KVFILE_PAIR : KVFILE_EMPTY_KEY;
	}
	return KVFILE_END;
}

int kvfile_key(const char *const *keys, int n, const struct kv *kv)
{
	for (int i = 0; i < n; i++)
		if (strlen(keys[i]) == kv->keylen && memcmp(keys[i], kv->key, kv->keylen) == 0)
			return i;
	return -1;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long kvfile_hex(const char *s, size_t n, unsigned char *out, size_t max)
{
	if (n == 0 || n % 2 || n / 2 > max)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return (long)(n / 2);
}
