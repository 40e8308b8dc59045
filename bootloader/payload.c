/* payload.c: parser and check for the netboot payload manifest. */
#include <string.h>

#include "kvfile.h"
#include "payload.h"

enum {
	KEY_VERSION, KEY_SIZE, KEY_SHA256, KEY_CONFIG_SIZE, KEY_CONFIG_SHA256,
	KEY_ROLLBACK, KEY_COUNT
};

static const char *const payload_keys[KEY_COUNT] = {
	[KEY_VERSION]       = "version",
	[KEY_SIZE]          = "size",
	[KEY_SHA256]        = "sha256",
	[KEY_CONFIG_SIZE]   = "config-size",
	[KEY_CONFIG_SHA256] = "config-sha256",
	[KEY_ROLLBACK]      = "rollback",
};

/* Decimal without sign or leading zeros, no overflow. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_sha256(const char *v, size_t vlen, uint8_t out[PAYLOAD_SHA_SIZE])
{
	return kvfile_hex(v, vlen, out, PAYLOAD_SHA_SIZE) == PAYLOAD_SHA_SIZE ? 0 : -1;
}

static enum payload_error apply_pair(struct payload *p, const struct kv *kv,
                                     unsigned *seen)
{
	const char *v = kv->value;
	size_t vlen = kv->valuelen;
	uint64_t num;
	int key = kvfile_key(payload_keys, KEY_COUNT, kv);

	if (key < 0)
		return PAYLOAD_ERR_UNKNOWN_KEY;
	if (*seen & (1u << key))
		return PAYLOAD_ERR_DUPLICATE;
	*seen |= 1u << key;

	switch (key) {
	case KEY_VERSION:
		if (parse_u64(v, vlen, &num) < 0 || num != PAYLOAD_VERSION)
			return PAYLOAD_ERR_VERSION;
		p->version = (unsigned)num;
		break;
	case KEY_SIZE:
		if (parse_u64(v, vlen, &p->size) < 0)
			return PAYLOAD_ERR_SIZE;
		break;
	case KEY_CONFIG_SIZE:
		if (parse_u64(v, vlen, &p->config_size) < 0)
			return PAYLOAD_ERR_SIZE;
		break;
	case KEY_ROLLBACK:
		if (parse_u64(v, vlen, &p->rollback) < 0)
			return PAYLOAD_ERR_SIZE;
		break;
	case KEY_SHA256:
		if (parse_sha256(v, vlen, p->sha256) < 0)
			return PAYLOAD_ERR_SHA256;
		break;
	case KEY_CONFIG_SHA256:
		if (parse_sha256(v, vlen, p->config_sha256) < 0)
			return PAYLOAD_ERR_SHA256;
		break;
	}
	return PAYLOAD_OK;
}

enum payload_error payload_parse(const char *text, size_t len,
                                 struct payload *p, unsigned *line)
{
	struct kvfile kf;
	struct kv kv;
	enum kvfile_status st;
	unsigned seen = 0;

	memset(p, 0, sizeof(*p));
	*line = 0;
	switch (kvfile_init(&kf, text, len, PAYLOAD_FILE_MAX)) {
	case KVFILE_TOO_BIG:
		return PAYLOAD_ERR_TOO_BIG;
	case KVFILE_NUL:
		return PAYLOAD_ERR_NUL;
	default:
		break;
	}
	while ((st = kvfile_next(&kf, &kv)) != KVFILE_END) {
		enum payload_error err = st == KVFILE_PAIR ? apply_pair(p, &kv, &seen)
		                                           : PAYLOAD_ERR_SYNTAX;

		*line = kf.line;
		if (err != PAYLOAD_OK) {
			memset(p, 0, sizeof(*p));
			return err;
		}
	}
	*line = 0;
	if (seen != (1u << KEY_COUNT) - 1) {
		memset(p, 0, sizeof(*p));
		return PAYLOAD_ERR_MISSING;
	}
	return PAYLOAD_OK;
}

enum payload_error payload_check(const struct payload *p, uint64_t size,
                                 const uint8_t digest[PAYLOAD_SHA_SIZE])
{
	if (size != p->size)
		return PAYLOAD_ERR_SIZE_MISMATCH;
	if (memcmp(digest, p->sha256, PAYLOAD_SHA_SIZE) != 0)
		return PAYLOAD_ERR_SHA_MISMATCH;
	return PAYLOAD_OK;
}

enum payload_error payload_check_config(const struct payload *p, uint64_t size,
                                        const uint8_t digest[PAYLOAD_SHA_SIZE])
{
	if (size != p->config_size)
		return PAYLOAD_ERR_SIZE_MISMATCH;
	if (memcmp(digest, p->config_sha256, PAYLOAD_SHA_SIZE) != 0)
		return PAYLOAD_ERR_SHA_MISMATCH;
	return PAYLOAD_OK;
}

void payload_hex(const uint8_t digest[PAYLOAD_SHA_SIZE], char out[65])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < PAYLOAD_SHA_SIZE; i++) {
		out[2 * i] = digits[digest[i] >> 4];
		out[2 * i + 1] = digits[digest[i] & 15];
	}
	out[64] = '\0';
}

const char *payload_strerror(enum payload_error err)
{
	switch (err) {
	case PAYLOAD_OK:                 return "no error";
	case PAYLOAD_ERR_TOO_BIG:        return "file too big";
	case PAYLOAD_ERR_NUL:            return "NUL byte in file (not text)";
	case PAYLOAD_ERR_SYNTAX:         return "expected key = value";
	case PAYLOAD_ERR_UNKNOWN_KEY:    return "unknown key";
	case PAYLOAD_ERR_DUPLICATE:      return "key given twice";
	case PAYLOAD_ERR_VERSION:        return "unsupported manifest version (want 2)";
	case PAYLOAD_ERR_SIZE:           return "size, config-size and rollback must be decimal numbers";
	case PAYLOAD_ERR_SHA256:         return "sha256 and config-sha256 must be 64 hex digits";
	case PAYLOAD_ERR_MISSING:        return "version, size, sha256, config-size, config-sha256 and rollback are all required";
	case PAYLOAD_ERR_SIZE_MISMATCH:  return "size mismatch";
	case PAYLOAD_ERR_SHA_MISMATCH:   return "SHA-256 mismatch";
	}
	return "unknown error";
}
