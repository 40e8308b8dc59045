/* fuzz_bootcfg.c: libFuzzer target: arbitrary text through boot.cfg, payload.cfg and payload.sig parsing (bootloader/bootcfg.c, payload.c, sigcheck.c, kvfile.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootcfg.h"
#include "kvfile.h"
#include "payload.h"
#include "sigcheck.h"
#include "sha256.h"

/*
 * The same bytes go to all three parsers, each from a heap block of exactly
 * the file's size (the files are not NUL-terminated in the bootloader).
 * Checked: every pair kvfile hands out lies inside the text with no line
 * break or '#' in it; an accepted boot.cfg has NUL-terminated fields and
 * consistent settings; a refused one leaves the defaults and a terminated
 * key in the fault; an accepted payload.cfg round-trips its digest.
 */

static void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_bootcfg: %s\n", what);
	abort();
}

static void check_kvfile(const char *text, size_t len)
{
	struct kvfile kf;
	struct kv kv;
	enum kvfile_status st;
	unsigned last = 0;

	if (kvfile_init(&kf, text, len, BOOTCFG_FILE_MAX) != KVFILE_PAIR)
		return;
	while ((st = kvfile_next(&kf, &kv)) != KVFILE_END) {
		if (kv.key < text || kv.key + kv.keylen > text + len ||
		    kv.value < text || kv.value + kv.valuelen > text + len)
			fuzz_fail("pair outside the text");
		if (memchr(kv.key, '\n', kv.keylen) || memchr(kv.value, '\n', kv.valuelen) ||
		    memchr(kv.key, '#', kv.keylen) || memchr(kv.value, '#', kv.valuelen))
			fuzz_fail("pair crosses a line or a comment");
		if (st == KVFILE_PAIR && (kv.keylen == 0 || memchr(kv.key, '=', kv.keylen)))
			fuzz_fail("bad key");
		if (kf.line <= last)
			fuzz_fail("line numbers do not advance");
		last = kf.line;
	}
}

static void check_str(const char *s, size_t cap)
{
	if (strnlen(s, cap) == cap)
		fuzz_fail("field not NUL-terminated");
}

static void check_bootcfg(const char *text, size_t len)
{
	struct bootcfg cfg, def;
	struct bootcfg_fault fault;
	enum bootcfg_error err;

	memset(&cfg, 0x5a, sizeof(cfg));
	memset(&fault, 0x5a, sizeof(fault));
	bootcfg_defaults(&def);
	err = bootcfg_parse(text, len, &cfg, &fault);
	if (!bootcfg_strerror(err))
		fuzz_fail("error without a message");
	if (err != BOOTCFG_OK) {
		check_str(fault.key, sizeof(fault.key));
		if (memcmp(&cfg, &def, sizeof(cfg)) != 0)
			fuzz_fail("refused file left settings behind");
		return;
	}
	check_str(cfg.cmdline, sizeof(cfg.cmdline));
	check_str(cfg.address, sizeof(cfg.address));
	check_str(cfg.gateway, sizeof(cfg.gateway));
	for (int i = 0; i < BOOTINFO_NET_DNS_MAX; i++)
		check_str(cfg.dns[i], sizeof(cfg.dns[i]));
	if (cfg.net == BOOTCFG_NET_STATIC && !cfg.address[0])
		fuzz_fail("static without an address");
	if (cfg.net != BOOTCFG_NET_STATIC && (cfg.address[0] || cfg.gateway[0]))
		fuzz_fail("address without net = static");
}

static void check_payload(const char *text, size_t len)
{
	struct payload p;
	unsigned line;
	enum payload_error err = payload_parse(text, len, &p, &line);
	char hex[65];
	uint8_t digest[PAYLOAD_SHA_SIZE];

	if (!payload_strerror(err))
		fuzz_fail("error without a message");
	if (err != PAYLOAD_OK)
		return;
	if (p.version != PAYLOAD_VERSION)
		fuzz_fail("unknown version accepted");
	payload_hex(p.sha256, hex);
	if (strlen(hex) != 64)
		fuzz_fail("hex digest length");
	memcpy(digest, p.sha256, sizeof(digest));
	if (payload_check(&p, p.size, digest) != PAYLOAD_OK)
		fuzz_fail("its own digest does not match");
	digest[0] ^= 1;
	if (payload_check(&p, p.size, digest) != PAYLOAD_ERR_SHA_MISMATCH ||
	    payload_check(&p, p.size + 1, p.sha256) != PAYLOAD_ERR_SIZE_MISMATCH)
		fuzz_fail("a mismatch passed");
}

/* The P-256 public key of RFC 6979 sec. A.2.5 (whose private key is public: the
 * fuzzer cannot forge with it in practice, but a parser bug could skip the math). */
static const uint8_t fuzz_key[SIG_KEY_SIZE] = {
	0x04, 0x60, 0xfe, 0xd4, 0xba, 0x25, 0x5a, 0x9d, 0x31, 0xc9, 0x61, 0xeb, 0x74, 0xc6,
	0x35, 0x6d, 0x68, 0xc0, 0x49, 0xb8, 0x92, 0x3b, 0x61, 0xfa, 0x6c, 0xe6, 0x69, 0x62,
	0x2e, 0x60, 0xf2, 0x9f, 0xb6, 0x79, 0x03, 0xfe, 0x10, 0x08, 0xb8, 0xbc, 0x99, 0xa4,
	0x1a, 0xe9, 0xe9, 0x56, 0x28, 0xbc, 0x64, 0xf2, 0xf1, 0xb2, 0x0c, 0x2d, 0x7e, 0x9f,
	0x51, 0x77, 0xa3, 0xc2, 0x94, 0xd4, 0x46, 0x22, 0x99,
};

/* Any text as payload.sig over a fixed payload: never valid, always a message,
 * and a format error names a line inside the file. */
static void check_signature(const char *text, size_t len)
{
	static const char msg[] = "version = 2\n";
	unsigned line;
	enum sig_error err = sig_check(text, len, msg, sizeof(msg) - 1, fuzz_key, &line);

	if (err == SIG_OK)
		fuzz_fail("a signature over a payload nobody signed verified");
	if (!sig_strerror(err))
		fuzz_fail("error without a message");
	if (line > len + 1)
		fuzz_fail("error line past the end of the file");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);

	memcpy(text, data, size);
	check_kvfile(text, size);
	check_bootcfg(text, size);
	check_payload(text, size);
	check_signature(text, size);
	free(text);
	return 0;
}
