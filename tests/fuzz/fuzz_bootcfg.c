/* fuzz_bootcfg.c: libFuzzer target: arbitrary text through boot.cfg and payload.cfg parsing (bootloader/bootcfg.c, payload.c, kvfile.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootcfg.h"
#include "kvfile.h"
#include "payload.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);

	memcpy(text, data, size);
	check_kvfile(text, size);
	check_bootcfg(text, size);
	check_payload(text, size);
	free(text);
	return 0;
}
