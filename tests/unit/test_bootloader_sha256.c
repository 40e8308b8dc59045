/* test_bootloader_sha256.c: bootloader/sha256.c against FIPS 180-4 vectors. */
#include <stdio.h>
#include <string.h>

#include "sha256.h"

static int passed, failed;

static void hex(const uint8_t *d, char *out)
{
	for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void expect(const char *name, const uint8_t *d, const char *want)
{
	char got[2 * SHA256_DIGEST_SIZE + 1];

	hex(d, got);
	if (strcmp(got, want) == 0) {
		passed++;
	} else {
		failed++;
		fprintf(stderr, "FAIL %s:\n  got  %s\n  want %s\n", name, got, want);
	}
}

static void one_shot(const char *name, const char *msg, const char *want)
{
	uint8_t d[SHA256_DIGEST_SIZE];

	sha256(msg, strlen(msg), d);
	expect(name, d, want);
}

int main(void)
{
	static const char *const vec448 =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char *const want448 =
		"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
	uint8_t d[SHA256_DIGEST_SIZE];
	struct sha256 ctx;

	/* FIPS 180-4 examples (NIST CSRC "SHA256.pdf") and the empty string. */
	one_shot("abc", "abc",
	         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	one_shot("empty", "",
	         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	one_shot("448-bit", vec448, want448);
	one_shot("896-bit",
	         "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	         "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");

	/* The same 448-bit message fed one byte, then odd chunks, at a time. */
	sha256_init(&ctx);
	for (size_t i = 0; i < strlen(vec448); i++)
		sha256_update(&ctx, vec448 + i, 1);
	sha256_final(&ctx, d);
	expect("448-bit bytewise", d, want448);
	sha256_init(&ctx);
	sha256_update(&ctx, vec448, 3);
	sha256_update(&ctx, vec448 + 3, 50);
	sha256_update(&ctx, vec448 + 53, strlen(vec448) - 53);
	sha256_final(&ctx, d);
	expect("448-bit chunks", d, want448);

	/* One million 'a' (FIPS 180-2 appendix B.3), in 1000-byte pieces. */
	{
		char block[1000];

		memset(block, 'a', sizeof(block));
		sha256_init(&ctx);
		for (int i = 0; i < 1000; i++)
			sha256_update(&ctx, block, sizeof(block));
		sha256_final(&ctx, d);
		expect("million a", d,
		       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	}

	/* Lengths around the padding boundary (55, 56, 63, 64 bytes) must
	 * agree between one-shot and split feeding. */
	for (size_t len = 54; len <= 65; len++) {
		char msg[65];
		uint8_t a[SHA256_DIGEST_SIZE], b[SHA256_DIGEST_SIZE];

		memset(msg, 'x', len);
		sha256(msg, len, a);
		sha256_init(&ctx);
		sha256_update(&ctx, msg, len / 2);
		sha256_update(&ctx, msg + len / 2, len - len / 2);
		sha256_final(&ctx, b);
		if (memcmp(a, b, sizeof(a)) == 0)
			passed++;
		else {
			failed++;
			fprintf(stderr, "FAIL split at length %zu\n", len);
		}
	}
	/* 55 bytes is the longest message that pads into one block. */
	one_shot("55 x", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	         "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
