/* sigcheck.c: parse unicycle/payload.sig and verify it over payload.cfg. */
#include <string.h>

#include <bearssl_ec.h>

#include "kvfile.h"
#include "sha256.h"
#include "sigcheck.h"

enum { KEY_VERSION, KEY_SCHEME, KEY_KEY_ID, KEY_SIGNATURE, KEY_COUNT };

static const char *const sig_keys[KEY_COUNT] = {
	[KEY_VERSION]   = "version",
	[KEY_SCHEME]    = "scheme",
	[KEY_KEY_ID]    = "key-id",
	[KEY_SIGNATURE] = "signature",
};

struct sigfile {
	uint8_t key_id[SIG_KEY_ID_SIZE];
	uint8_t der[SIG_DER_MAX];
	size_t der_len;
};

static int value_is(const struct kv *kv, const char *want)
{
	return kv->valuelen == strlen(want) &&
	       memcmp(kv->value, want, kv->valuelen) == 0;
}

static enum sig_error apply_pair(struct sigfile *f, const struct kv *kv,
                                 unsigned *seen)
{
	int key = kvfile_key(sig_keys, KEY_COUNT, kv);
	long n;

	if (key < 0)
		return SIG_ERR_UNKNOWN_KEY;
	if (*seen & (1u << key))
		return SIG_ERR_DUPLICATE;
	*seen |= 1u << key;

	switch (key) {
	case KEY_VERSION:
		if (!value_is(kv, "1"))
			return SIG_ERR_VERSION;
		break;
	case KEY_SCHEME:
		if (!value_is(kv, SIG_SCHEME))
			return SIG_ERR_SCHEME;
		break;
	case KEY_KEY_ID:
		n = kvfile_hex(kv->value, kv->valuelen, f->key_id, SIG_KEY_ID_SIZE);
		if (n != SIG_KEY_ID_SIZE)
			return SIG_ERR_KEY_ID_FORMAT;
		break;
	case KEY_SIGNATURE:
		n = kvfile_hex(kv->value, kv->valuelen, f->der, SIG_DER_MAX);
		if (n < 0)
			return SIG_ERR_SIG_FORMAT;
		f->der_len = (size_t)n;
		break;
	}
	return SIG_OK;
}

static enum sig_error parse(const char *text, size_t len, struct sigfile *f,
                            unsigned *line)
{
	struct kvfile kf;
	struct kv kv;
	enum kvfile_status st;
	unsigned seen = 0;

	memset(f, 0, sizeof(*f));
	*line = 0;
	switch (kvfile_init(&kf, text, len, SIG_FILE_MAX)) {
	case KVFILE_TOO_BIG:
		return SIG_ERR_TOO_BIG;
	case KVFILE_NUL:
		return SIG_ERR_NUL;
	default:
		break;
	}
	while ((st = kvfile_next(&kf, &kv)) != KVFILE_END) {
		enum sig_error err = st == KVFILE_PAIR ? apply_pair(f, &kv, &seen)
		                                       : SIG_ERR_SYNTAX;

		*line = kf.line;
		if (err != SIG_OK)
			return err;
	}
	*line = 0;
	return seen == (1u << KEY_COUNT) - 1 ? SIG_OK : SIG_ERR_MISSING;
}

void sig_key_id(const uint8_t key[SIG_KEY_SIZE], uint8_t id[SIG_KEY_ID_SIZE])
{
	uint8_t digest[SHA256_DIGEST_SIZE];

	sha256(key, SIG_KEY_SIZE, digest);
	memcpy(id, digest, SIG_KEY_ID_SIZE);
}

enum sig_error sig_check(const char *sig, size_t siglen, const void *msg,
                         size_t msglen, const uint8_t key[SIG_KEY_SIZE],
                         unsigned *line)
{
	uint8_t id[SIG_KEY_ID_SIZE], hash[SHA256_DIGEST_SIZE];
	br_ec_public_key pk;
	struct sigfile f;
	enum sig_error err;

	err = parse(sig, siglen, &f, line);
	if (err != SIG_OK)
		return err;
	sig_key_id(key, id);
	if (memcmp(id, f.key_id, SIG_KEY_ID_SIZE) != 0)
		return SIG_ERR_OTHER_KEY;
	sha256(msg, msglen, hash);
	pk.curve = BR_EC_secp256r1;
	pk.q = (unsigned char *)key;
	pk.qlen = SIG_KEY_SIZE;
	/* 1 when valid; 0 for a bad signature or a malformed DER encoding. */
	if (br_ecdsa_i31_vrfy_asn1(&br_ec_p256_m31, hash, sizeof(hash), &pk,
	                           f.der, f.der_len) != 1)
		return SIG_ERR_BAD;
	return SIG_OK;
}

const char *sig_strerror(enum sig_error err)
{
	switch (err) {
	case SIG_OK:                 return "signature valid";
	case SIG_ERR_TOO_BIG:        return "file too big";
	case SIG_ERR_NUL:            return "NUL byte in file (not text)";
	case SIG_ERR_SYNTAX:         return "expected key = value";
	case SIG_ERR_UNKNOWN_KEY:    return "unknown key";
	case SIG_ERR_DUPLICATE:      return "key given twice";
	case SIG_ERR_VERSION:        return "unsupported signature version (want 1)";
	case SIG_ERR_SCHEME:         return "unsupported scheme (want " SIG_SCHEME ")";
	case SIG_ERR_KEY_ID_FORMAT:  return "key-id must be 16 hex digits";
	case SIG_ERR_SIG_FORMAT:     return "signature must be hex, at most 72 bytes";
	case SIG_ERR_MISSING:        return "version, scheme, key-id and signature are all required";
	case SIG_ERR_OTHER_KEY:      return "signed with another key than the one this loader trusts";
	case SIG_ERR_BAD:            return "signature does not verify (corrupted, or payload.cfg altered)";
	}
	return "unknown error";
}
