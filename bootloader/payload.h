/* payload.h: the netboot payload manifest unicycle/payload.cfg (pure code,
 * no firmware calls, host unit-tested).
 *
 * Same syntax as boot.cfg (key = value lines, '#' comments, LF or CRLF):
 *   version = 1
 *   size    = <decimal bytes of app.elf>
 *   sha256  = <64 hex digits of app.elf>
 * Every key is required; unknown keys are an error (a newer manifest format
 * gets a new version number). */
#ifndef BOOTLOADER_PAYLOAD_H
#define BOOTLOADER_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#define PAYLOAD_VERSION  1
#define PAYLOAD_FILE_MAX 4096   /* larger files are refused */
#define PAYLOAD_SHA_SIZE 32

struct payload {
	unsigned version;
	uint64_t size;
	uint8_t sha256[PAYLOAD_SHA_SIZE];
};

enum payload_error {
	PAYLOAD_OK = 0,
	PAYLOAD_ERR_TOO_BIG,        /* file over PAYLOAD_FILE_MAX */
	PAYLOAD_ERR_NUL,            /* NUL byte: not text */
	PAYLOAD_ERR_SYNTAX,         /* line without '=' or without key */
	PAYLOAD_ERR_UNKNOWN_KEY,
	PAYLOAD_ERR_DUPLICATE,
	PAYLOAD_ERR_VERSION,        /* not a version this loader knows */
	PAYLOAD_ERR_SIZE,           /* size not a decimal number */
	PAYLOAD_ERR_SHA256,         /* sha256 not 64 hex digits */
	PAYLOAD_ERR_MISSING,        /* a required key is absent */
	/* payload_check() results */
	PAYLOAD_ERR_SIZE_MISMATCH,  /* app.elf is not the announced size */
	PAYLOAD_ERR_SHA_MISMATCH,   /* app.elf's SHA-256 differs */
};

/* Parse len bytes of text into *p; *line is the 1-based line of an error
 * (0: about the whole file). */
enum payload_error payload_parse(const char *text, size_t len,
                                 struct payload *p, unsigned *line);

/* Does a file of size bytes with this digest match the manifest? */
enum payload_error payload_check(const struct payload *p, uint64_t size,
                                 const uint8_t digest[PAYLOAD_SHA_SIZE]);

/* One line of English for an error. */
const char *payload_strerror(enum payload_error err);

/* 65 bytes: lowercase hex of a digest, NUL-terminated. */
void payload_hex(const uint8_t digest[PAYLOAD_SHA_SIZE], char out[65]);

#endif
