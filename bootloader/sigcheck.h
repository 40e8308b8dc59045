/* sigcheck.h: the signature over payload.cfg, unicycle/payload.sig (pure
 * code, no firmware calls, host unit-tested with BearSSL's test vectors).
 *
 * Scheme: ECDSA over NIST P-256 with SHA-256 (FIPS 186-4 sec. 6; curve
 * secp256r1, SEC 2 sec. 2.4.2), verified by BearSSL's constant-time i31 code
 * (br_ecdsa_i31_vrfy_asn1 with br_ec_p256_m31). The signer is the host's
 * `openssl dgst -sha256 -sign`, which writes the ASN.1 DER form
 * (SEQUENCE { INTEGER r, INTEGER s }, SEC 1 sec. C.5).
 *
 * payload.sig has boot.cfg's key = value syntax:
 *   version   = 1
 *   scheme    = ecdsa-p256-sha256
 *   key-id    = <16 hex digits: the first 8 bytes of SHA-256 of the public key>
 *   signature = <hex of the DER signature over payload.cfg's exact bytes>
 * key-id lets the loader tell "signed with another key" from "corrupted". */
#ifndef BOOTLOADER_SIGCHECK_H
#define BOOTLOADER_SIGCHECK_H

#include <stddef.h>
#include <stdint.h>

#define SIG_VERSION      1
#define SIG_SCHEME       "ecdsa-p256-sha256"
#define SIG_FILE_MAX     1024    /* larger files are refused */
#define SIG_KEY_SIZE     65      /* SEC 1 uncompressed point: 0x04 || X || Y */
#define SIG_KEY_ID_SIZE  8
#define SIG_DER_MAX      72      /* 2 + 2 * (2 + 33) for P-256 */

enum sig_error {
	SIG_OK = 0,
	SIG_ERR_TOO_BIG,          /* file over SIG_FILE_MAX */
	SIG_ERR_NUL,              /* NUL byte: not text */
	SIG_ERR_SYNTAX,           /* a line without '=' or without key */
	SIG_ERR_UNKNOWN_KEY,
	SIG_ERR_DUPLICATE,
	SIG_ERR_VERSION,          /* not a version this loader knows */
	SIG_ERR_SCHEME,           /* not ecdsa-p256-sha256 */
	SIG_ERR_KEY_ID_FORMAT,    /* key-id not 16 hex digits */
	SIG_ERR_SIG_FORMAT,       /* signature not hex, or too long */
	SIG_ERR_MISSING,          /* a required key is absent */
	SIG_ERR_OTHER_KEY,        /* signed with a key this loader does not trust */
	SIG_ERR_BAD,              /* does not verify: corrupted, or payload.cfg altered */
};

/* The key id of a public key (SHA-256 of its 65 bytes, first 8 bytes). */
void sig_key_id(const uint8_t key[SIG_KEY_SIZE], uint8_t id[SIG_KEY_ID_SIZE]);

/* Check `sig` (the text of payload.sig) over msg[0..msglen) with `key`.
 * *line: the 1-based line of a format error (0: about the whole file). */
enum sig_error sig_check(const char *sig, size_t siglen, const void *msg,
                         size_t msglen, const uint8_t key[SIG_KEY_SIZE],
                         unsigned *line);

/* One line of English for an error. */
const char *sig_strerror(enum sig_error err);

#endif
