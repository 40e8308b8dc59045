/* test_bootloader_payload.c: bootloader/payload.c (netboot manifest). */
#include <stdio.h>
#include <string.h>

#include "bootcfg.h"
#include "payload.h"
#include "sha256.h"

static int passed, failed;

#define CHECK(cond, ...) do { \
	if (cond) { passed++; } else { failed++; \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* SHA-256 of the empty string (FIPS 180-4 examples) */
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* The keys after size and sha256, for a boot.cfg of 0 bytes. */
#define REST "config-size = 0\nconfig-sha256 = " SHA_EMPTY "\nrollback = 1733000000\n"

static enum payload_error parse(const char *text, struct payload *p,
                                unsigned *line)
{
	return payload_parse(text, strlen(text), p, line);
}

static void test_good(void)
{
	struct payload p;
	unsigned line;
	uint8_t d[32];
	char hex[65];

	CHECK(parse("# made by unicycle\r\nversion = 2\r\nsize = 3\r\nsha256 = "
	            SHA_ABC "\r\nconfig-size = 3\r\nconfig-sha256 = " SHA_ABC
	            "\r\nrollback = 1733000000\r\n", &p, &line) == PAYLOAD_OK,
	      "CRLF manifest");
	CHECK(p.version == 2 && p.size == 3 && p.config_size == 3 &&
	      p.rollback == 1733000000, "values %u %llu", p.version,
	      (unsigned long long)p.size);
	sha256("abc", 3, d);
	CHECK(payload_check(&p, 3, d) == PAYLOAD_OK, "abc matches");
	payload_hex(p.sha256, hex);
	CHECK(strcmp(hex, SHA_ABC) == 0, "hex round trip %s", hex);
	CHECK(payload_check(&p, 4, d) == PAYLOAD_ERR_SIZE_MISMATCH, "size");
	d[31] ^= 1;
	CHECK(payload_check(&p, 3, d) == PAYLOAD_ERR_SHA_MISMATCH, "digest");
	CHECK(strstr(payload_strerror(PAYLOAD_ERR_SHA_MISMATCH), "SHA-256"),
	      "message names SHA-256");
	d[31] ^= 1;
	CHECK(payload_check_config(&p, 3, d) == PAYLOAD_OK, "boot.cfg abc matches");
	CHECK(payload_check_config(&p, 2, d) == PAYLOAD_ERR_SIZE_MISMATCH, "cfg size");
	d[0] ^= 1;
	CHECK(payload_check_config(&p, 3, d) == PAYLOAD_ERR_SHA_MISMATCH, "cfg digest");
	/* Upper-case hex, any key order, no final newline. */
	CHECK(parse("sha256=BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\n"
	            REST "size=18446744073709551615\nversion=2", &p, &line) == PAYLOAD_OK,
	      "upper hex, max size");
	CHECK(p.size == UINT64_MAX && p.sha256[0] == 0xba, "parsed");
}

static void test_bad(void)
{
	static const struct {
		const char *text;
		enum payload_error err;
		unsigned line;
	} cases[] = {
		{ "version = 1\nsize = 3\nsha256 = " SHA_ABC, PAYLOAD_ERR_VERSION, 1 },
		{ "version = 3\n", PAYLOAD_ERR_VERSION, 1 },
		{ "version = 02\n", PAYLOAD_ERR_VERSION, 1 },
		{ "version = 2\nsize = -3\n", PAYLOAD_ERR_SIZE, 2 },
		{ "version = 2\nsize = 18446744073709551616\n", PAYLOAD_ERR_SIZE, 2 },
		{ "version = 2\nconfig-size = 1.5\n", PAYLOAD_ERR_SIZE, 2 },
		{ "version = 2\nrollback = x\n", PAYLOAD_ERR_SIZE, 2 },
		{ "version = 2\nsize = 3\nsha256 = abc\n", PAYLOAD_ERR_SHA256, 3 },
		{ "version = 2\nsize = 3\nsha256 = " SHA_ABC "0\n", PAYLOAD_ERR_SHA256, 3 },
		{ "config-sha256 = " SHA_ABC "0\n", PAYLOAD_ERR_SHA256, 1 },
		{ "sha256 = zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n",
		  PAYLOAD_ERR_SHA256, 1 },
		{ "version = 2\nsize = 3\n", PAYLOAD_ERR_MISSING, 0 },
		/* version 1's keys alone: boot.cfg and rollback missing */
		{ "version = 2\nsize = 3\nsha256 = " SHA_ABC "\n", PAYLOAD_ERR_MISSING, 0 },
		{ "", PAYLOAD_ERR_MISSING, 0 },
		{ "version = 2\nversion = 2\n", PAYLOAD_ERR_DUPLICATE, 2 },
		{ "rollback = 1\nrollback = 1\n", PAYLOAD_ERR_DUPLICATE, 2 },
		{ "\n\nname = x\n", PAYLOAD_ERR_UNKNOWN_KEY, 3 },
		{ "version\n", PAYLOAD_ERR_SYNTAX, 1 },
		{ " = 1\n", PAYLOAD_ERR_SYNTAX, 1 },
	};
	struct payload p;
	unsigned line;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum payload_error err = parse(cases[i].text, &p, &line);

		CHECK(err == cases[i].err && line == cases[i].line,
		      "case %zu: got %s line %u, want %s line %u", i,
		      payload_strerror(err), line, payload_strerror(cases[i].err),
		      cases[i].line);
		CHECK(p.size == 0 && p.version == 0, "case %zu: cleared", i);
	}
	CHECK(payload_parse("version = 2\0", 12, &p, &line) == PAYLOAD_ERR_NUL, "NUL");
	{
		static char big[PAYLOAD_FILE_MAX + 1];

		memset(big, '\n', sizeof(big));
		CHECK(payload_parse(big, sizeof(big), &p, &line) == PAYLOAD_ERR_TOO_BIG,
		      "too big");
	}
}

/* Random bytes must never crash the parser (ASan/UBSan watch). */
static void test_random(void)
{
	static const char alphabet[] = "versionsizesha256config-rollback=0123456789abcdef# \r\n\t";
	unsigned seed = 12345;
	char buf[256];
	struct payload p;
	unsigned line;

	for (int n = 0; n < 20000; n++) {
		size_t len = (seed = seed * 1103515245 + 12345) % sizeof(buf);

		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		(void)payload_parse(buf, len, &p, &line);
	}
	passed++;
}

/* The boot.cfg keys that choose the payload source. */
static void test_bootcfg_source(void)
{
	struct bootcfg cfg;
	struct bootcfg_fault f;
	const char *t;

	t = "source = net\nfallback = disk\n";
	CHECK(bootcfg_parse(t, strlen(t), &cfg, &f) == BOOTCFG_OK &&
	      cfg.source == BOOTCFG_SOURCE_NET &&
	      cfg.fallback == BOOTCFG_FALLBACK_DISK, "source net, fallback disk");
	t = "cmdline = x\n";
	CHECK(bootcfg_parse(t, strlen(t), &cfg, &f) == BOOTCFG_OK &&
	      cfg.source == BOOTCFG_SOURCE_AUTO &&
	      cfg.fallback == BOOTCFG_FALLBACK_NONE, "defaults");
	t = "source = disk\nfallback = none\n";
	CHECK(bootcfg_parse(t, strlen(t), &cfg, &f) == BOOTCFG_OK &&
	      cfg.source == BOOTCFG_SOURCE_DISK, "source disk");
	t = "source = usb\n";
	CHECK(bootcfg_parse(t, strlen(t), &cfg, &f) == BOOTCFG_ERR_SOURCE &&
	      f.line == 1 && strcmp(f.key, "source") == 0, "bad source");
	t = "\nfallback = net\n";
	CHECK(bootcfg_parse(t, strlen(t), &cfg, &f) == BOOTCFG_ERR_FALLBACK &&
	      f.line == 2, "bad fallback");
	t = "source = net\nsource = net\n";
	CHECK(bootcfg_parse(t, strlen(t), &cfg, &f) == BOOTCFG_ERR_DUPLICATE,
	      "duplicate source");
}

int main(void)
{
	test_bootcfg_source();
	test_good();
	test_bad();
	test_random();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
