/* sha256.h: SHA-256 (FIPS 180-4 sec 6.2) for the app.elf digest. */
#ifndef BOOTLOADER_SHA256_H
#define BOOTLOADER_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32
#define SHA256_BLOCK_SIZE  64

struct sha256 {
	uint32_t h[8];        /* H(i), sec 6.2.2 */
	uint64_t length;      /* message bytes so far */
	uint8_t block[SHA256_BLOCK_SIZE];
	size_t used;          /* bytes waiting in block[] */
};

void sha256_init(struct sha256 *ctx);
void sha256_update(struct sha256 *ctx, const void *data, size_t len);
void sha256_final(struct sha256 *ctx, uint8_t digest[SHA256_DIGEST_SIZE]);

/* One-shot digest of len bytes at data. */
void sha256(const void *data, size_t len, uint8_t digest[SHA256_DIGEST_SIZE]);

#endif
