/* test_kv_config.c: examples/kv's boot command line: Redis's size units, each setting, refusals. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "config.h"

static void test_sizes(void)
{
	static const struct { const char *s; int rc; size_t v; } cases[] = {
		{ "0", 0, 0 }, { "100", 0, 100 }, { "100b", 0, 100 },
		{ "1k", 0, 1000 }, { "1kb", 0, 1024 }, { "1KB", 0, 1024 },
		{ "16m", 0, 16000000 }, { "16mb", 0, 16u << 20 }, { "16Mb", 0, 16u << 20 },
		{ "2g", 0, 2000000000ull }, { "2gb", 0, 2ull << 30 },
		{ "", -EINVAL, 0 }, { "m", -EINVAL, 0 }, { "1x", -EINVAL, 0 }, { "1mbb", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 }, { "1.5m", -EINVAL, 0 }, { " 1", -EINVAL, 0 },
		{ "99999999999999999999", -EINVAL, 0 }, { "99999999999gb", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t v = 12345;
		int rc = config_parse_size(cases[i].s, strlen(cases[i].s), &v);

		CHECK(rc == cases[i].rc);
		if (rc != cases[i].rc)
			fprintf(stderr, "  size '%s': %d\n", cases[i].s, rc);
		if (rc == 0)
			CHECK(v == cases[i].v);
	}
}

static void test_cmdline(void)
{
	struct config c;
	char bad[16];

	config_defaults(&c);
	CHECK(c.port == 6379 && c.maxmemory == 64ull << 20 && c.timeout == 0 && c.maxclients == 200);
	CHECK(config_parse(&c, "", bad, sizeof(bad)) == 0);
	CHECK(config_parse(&c, "  maxmemory=16mb\tport=7000 maxclients=10 timeout=30 "
			   "client-memory=1m ", bad, sizeof(bad)) == 0);
	CHECK(c.maxmemory == 16u << 20 && c.port == 7000 && c.maxclients == 10 && c.timeout == 30 &&
	      c.client_memory == 1000000);
	CHECK(config_parse(&c, "maxmemory=0", bad, sizeof(bad)) == 0 && c.maxmemory == 0);

	/* persistence (persist.h) */
	config_defaults(&c);
	CHECK(c.appendonly && c.appendfsync == CONFIG_FSYNC_EVERYSEC && strcmp(c.disk, "kv") == 0 &&
	      c.aof_rewrite_min_size == 4u << 20 && c.aof_rewrite_percentage == 100);
	CHECK(config_parse(&c, "appendonly=no appendfsync=always disk=data01 "
			   "auto-aof-rewrite-min-size=64kb auto-aof-rewrite-percentage=50",
			   bad, sizeof(bad)) == 0);
	CHECK(!c.appendonly && c.appendfsync == CONFIG_FSYNC_ALWAYS && strcmp(c.disk, "data01") == 0 &&
	      c.aof_rewrite_min_size == 65536 && c.aof_rewrite_percentage == 50);
	CHECK(config_parse(&c, "appendfsync=no appendonly=YES", bad, sizeof(bad)) == 0 &&
	      c.appendfsync == CONFIG_FSYNC_NO && c.appendonly);
	CHECK(strcmp(config_fsync_name(CONFIG_FSYNC_EVERYSEC), "everysec") == 0);

	static const char *const refused[] = {
		"port=0", "port=65536", "port=", "maxclients=0", "timeout=-1", "maxmemory=lots",
		"nonsense", "colour=blue", "maxmemory", "=1", "timeout=99999999999",
		"appendfsync=sometimes", "appendonly=maybe", "disk=", "disk=a23456789012345678901",
		"auto-aof-rewrite-min-size=big", "auto-aof-rewrite-percentage=-5",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		config_defaults(&c);
		CHECK(config_parse(&c, refused[i], bad, sizeof(bad)) == -EINVAL);
		CHECK(strncmp(bad, refused[i], sizeof(bad) - 1) == 0);
	}
	/* the bad word is named, cut to fit; words before it took effect */
	config_defaults(&c);
	CHECK(config_parse(&c, "port=7001 maxmemory=averyveryverylongvalue", bad, sizeof(bad)) ==
	      -EINVAL);
	CHECK(strcmp(bad, "maxmemory=avery") == 0 && c.port == 7001);
}

int main(void)
{
	test_sizes();
	test_cmdline();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
