/* test_bootloader_sigcheck.c: bootloader/sigcheck.c (payload.sig) against the
 * RFC 6979 P-256/SHA-256 vectors of BearSSL's own test suite (ecdsa_vectors.h,
 * generated from the unpacked Debian source by gen_ecdsa_vectors.py). */
#include <stdio.h>
#include <string.h>

#include "sigcheck.h"
#include "ecdsa_vectors.h"

static int passed, failed;

#define CHECK(cond, ...) do { \
	if (cond) { passed++; } else { failed++; \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

#define NVEC (sizeof(P256_SHA256) / sizeof(P256_SHA256[0]))

static char key_id_hex[2 * SIG_KEY_ID_SIZE + 1];

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* A payload.sig naming the vector's key with signature `der_hex`. */
static int sigfile(char *out, size_t max, const char *id, const char *der_hex)
{
	return snprintf(out, max, "# unicycle payload signature\nversion = 1\n"
	                "scheme = ecdsa-p256-sha256\nkey-id = %s\nsignature = %s\n",
	                id, der_hex);
}

static enum sig_error check(const char *sig, const char *msg, unsigned *line)
{
	return sig_check(sig, strlen(sig), msg, strlen(msg), P256_PUB, line);
}

static void test_vectors(void)
{
	char sig[1024], der[200];
	unsigned line;

	CHECK(sizeof(P256_PUB) == SIG_KEY_SIZE && NVEC >= 2, "vectors: %zu", NVEC);
	for (size_t i = 0; i < NVEC; i++) {
		const char *msg = P256_SHA256[i].msg;

		sigfile(sig, sizeof(sig), key_id_hex, P256_SHA256[i].der_hex);
		CHECK(check(sig, msg, &line) == SIG_OK, "vector %zu (%s) verifies", i, msg);
		/* The message altered: "sample" -> "samplf". */
		{
			char other[64];

			snprintf(other, sizeof(other), "%s", msg);
			other[strlen(other) - 1] ^= 3;
			CHECK(check(sig, other, &line) == SIG_ERR_BAD, "vector %zu: altered "
			      "message refused", i);
		}
		/* One bit of s flipped (the last hex digit). */
		snprintf(der, sizeof(der), "%s", P256_SHA256[i].der_hex);
		der[strlen(der) - 1] = der[strlen(der) - 1] == '0' ? '1' : '0';
		sigfile(sig, sizeof(sig), key_id_hex, der);
		CHECK(check(sig, msg, &line) == SIG_ERR_BAD, "vector %zu: corrupted s", i);
		/* A broken DER length byte. */
		snprintf(der, sizeof(der), "%s", P256_SHA256[i].der_hex);
		der[2] = 'F';
		sigfile(sig, sizeof(sig), key_id_hex, der);
		CHECK(check(sig, msg, &line) == SIG_ERR_BAD, "vector %zu: bad DER", i);
	}
	/* Vector 0's signature over vector 1's message. */
	sigfile(sig, sizeof(sig), key_id_hex, P256_SHA256[0].der_hex);
	CHECK(check(sig, P256_SHA256[1].msg, &line) == SIG_ERR_BAD, "swapped message");
}

static void test_other_key(void)
{
	unsigned char key[SIG_KEY_SIZE];
	char sig[1024];
	unsigned line;

	/* The signature file names another key: refused before any math. */
	sigfile(sig, sizeof(sig), "0011223344556677", P256_SHA256[0].der_hex);
	CHECK(check(sig, P256_SHA256[0].msg, &line) == SIG_ERR_OTHER_KEY, "other key id");
	/* This loader trusts another point (same id written for it): does not verify. */
	memcpy(key, P256_PUB, sizeof(key));
	key[64] ^= 1;
	{
		unsigned char id[SIG_KEY_ID_SIZE];
		char idhex[2 * SIG_KEY_ID_SIZE + 1];

		sig_key_id(key, id);
		hex(id, sizeof(id), idhex);
		sigfile(sig, sizeof(sig), idhex, P256_SHA256[0].der_hex);
		CHECK(sig_check(sig, strlen(sig), P256_SHA256[0].msg,
		                strlen(P256_SHA256[0].msg), key, &line) == SIG_ERR_BAD,
		      "a point not on the curve / another key");
	}
}

static void test_format(void)
{
	static const struct {
		const char *text;
		enum sig_error err;
		unsigned line;
	} cases[] = {
		{ "version = 2\n", SIG_ERR_VERSION, 1 },
		{ "scheme = rsa-pkcs1-sha256\n", SIG_ERR_SCHEME, 1 },
		{ "\nkey-id = 00112233445566\n", SIG_ERR_KEY_ID_FORMAT, 2 },
		{ "key-id = 00112233445566778\n", SIG_ERR_KEY_ID_FORMAT, 1 },
		{ "key-id = 001122334455667g\n", SIG_ERR_KEY_ID_FORMAT, 1 },
		{ "signature = abc\n", SIG_ERR_SIG_FORMAT, 1 },
		{ "signature = \n", SIG_ERR_SIG_FORMAT, 1 },
		{ "signature = zz\n", SIG_ERR_SIG_FORMAT, 1 },
		/* 73 bytes: longer than any P-256 DER signature */
		{ "signature = 30470220000000000000000000000000000000000000000000000000000000"
		  "000000000000000000000000000000000000000000000000000000000000000000000000"
		  "00000000000000000000\n", SIG_ERR_SIG_FORMAT, 1 },
		{ "version = 1\nversion = 1\n", SIG_ERR_DUPLICATE, 2 },
		{ "version = 1\nscheme = ecdsa-p256-sha256\n", SIG_ERR_MISSING, 0 },
		{ "", SIG_ERR_MISSING, 0 },
		{ "name = x\n", SIG_ERR_UNKNOWN_KEY, 1 },
		{ "version\n", SIG_ERR_SYNTAX, 1 },
	};
	unsigned line;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum sig_error err = check(cases[i].text, "sample", &line);

		CHECK(err == cases[i].err && line == cases[i].line,
		      "case %zu: got %s line %u, want %s line %u", i, sig_strerror(err),
		      line, sig_strerror(cases[i].err), cases[i].line);
	}
	CHECK(sig_check("version = 1\0", 12, "x", 1, P256_PUB, &line) == SIG_ERR_NUL, "NUL");
	{
		static char big[SIG_FILE_MAX + 1];

		memset(big, '\n', sizeof(big));
		CHECK(sig_check(big, sizeof(big), "x", 1, P256_PUB, &line) == SIG_ERR_TOO_BIG,
		      "too big");
	}
	CHECK(strstr(sig_strerror(SIG_ERR_OTHER_KEY), "another key") != NULL, "message");
}

/* Random text must never crash the parser or verify (ASan/UBSan watch). */
static void test_random(void)
{
	static const char alphabet[] = "versionschemekey-idsignature=0123456789abcdef# \n";
	unsigned seed = 4242, line;
	char buf[300];
	int verified = 0;

	for (int n = 0; n < 3000; n++) {
		size_t len = (seed = seed * 1103515245 + 12345) % sizeof(buf);

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		verified += sig_check(buf, len, "sample", 6, P256_PUB, &line) == SIG_OK;
	}
	CHECK(verified == 0, "random text verified %d times", verified);
}

int main(void)
{
	unsigned char id[SIG_KEY_ID_SIZE];

	sig_key_id(P256_PUB, id);
	hex(id, sizeof(id), key_id_hex);
	test_vectors();
	test_other_key();
	test_format();
	test_random();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
