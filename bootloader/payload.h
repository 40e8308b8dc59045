/* payload.h: the payload manifest unicycle/payload.cfg (pure code, no
 * firmware calls, host unit-tested). Next to app.elf and boot.cfg on the
 * boot server and in the image; signed by the build when the project has a
 * key (unicycle/payload.sig, sigcheck.h).
 *
 * Same syntax as boot.cfg (key = value lines, '#' comments, LF or CRLF):
 *   version       = 2
 *   size          = <decimal bytes of app.elf>
 *   sha256        = <64 hex digits of app.elf>
 *   config-size   = <decimal bytes of boot.cfg>
 *   config-sha256 = <64 hex digits of boot.cfg>
 *   rollback      = <decimal: the build's time, seconds since 1970; a signed
 *                    payload older than the newest one booted is refused>
 * Every key is required; unknown keys are an error (a newer manifest format
 * gets a new version number; version 1 named app.elf only). */
#ifndef BOOTLOADER_PAYLOAD_H
#define BOOTLOADER_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#define PAYLOAD_VERSION  2
#define PAYLOAD_FILE_MAX 4096   /* larger files are refused */
#define PAYLOAD_SHA_SIZE 32

struct payload {
	unsigned version;
	uint64_t size;                       /* app.elf */
	uint8_t sha256[PAYLOAD_SHA_SIZE];
	uint64_t config_size;                /* boot.cfg */
	uint8_t config_sha256[PAYLOAD_SHA_SIZE];
	uint64_t rollback;
};

enum payload_error {
	PAYLOAD_OK = 0,
	PAYLOAD_ERR_TOO_BIG,        /* file over PAYLOAD_FILE_MAX */
	PAYLOAD_ERR_NUL,            /* NUL byte: not text */
	PAYLOAD_ERR_SYNTAX,         /* line without '=' or without key */
	PAYLOAD_ERR_UNKNOWN_KEY,
	PAYLOAD_ERR_DUPLICATE,
	PAYLOAD_ERR_VERSION,        /* not a version this loader knows */
	PAYLOAD_ERR_SIZE,           /* a size or rollback not a decimal number */
	PAYLOAD_ERR_SHA256,         /* a sha256 not 64 hex digits */
	PAYLOAD_ERR_MISSING,        /* a required key is absent */
	/* payload_check() results */
	PAYLOAD_ERR_SIZE_MISMATCH,  /* the file is not the announced size */
	PAYLOAD_ERR_SHA_MISMATCH,   /* the file's SHA-256 differs */
};

/* Parse len bytes of text into *p; *line is the 1-based line of an error
 * (0: about the whole file). */
enum payload_error payload_parse(const char *text, size_t len,
                                 struct payload *p, unsigned *line);

/* Does app.elf (size bytes, this digest) match the manifest? */
enum payload_error payload_check(const struct payload *p, uint64_t size,
                                 const uint8_t digest[PAYLOAD_SHA_SIZE]);
/* Does boot.cfg? */
enum payload_error payload_check_config(const struct payload *p, uint64_t size,
                                        const uint8_t digest[PAYLOAD_SHA_SIZE]);

/* One line of English for an error. */
const char *payload_strerror(enum payload_error err);

/* 65 bytes: lowercase hex of a digest, NUL-terminated. */
void payload_hex(const uint8_t digest[PAYLOAD_SHA_SIZE], char out[65]);

#endif
