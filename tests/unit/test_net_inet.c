/* test_net_inet.c: host tests of uc_sockaddr parsing, formatting and comparison (runtime/net/inet.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <unicycle/inet.h>

#include "check.h"

/* Parses `in`, formats it back, compares with `out`. */
static int round_trip(const char *in, uint16_t def, const char *out)
{
	struct uc_sockaddr a;
	char buf[UC_SOCKADDR_STRLEN];
	int n;

	if (uc_sockaddr_parse(in, def, &a) != 0) {
		fprintf(stderr, "parse failed: %s\n", in);
		return 0;
	}
	n = uc_sockaddr_format(&a, buf, sizeof(buf));
	if (n != (int)strlen(out) || strcmp(buf, out) != 0) {
		fprintf(stderr, "%s -> %s (%d), want %s\n", in, buf, n, out);
		return 0;
	}
	return 1;
}

static void test_ipv4(void)
{
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "1..2.3",
		"01.2.3.4", "a.b.c.d", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1",
		"1.2.3.4:08", "1.2.3.4:8a", "*:", "*x", "1.2.3.4/24",
	};
	struct uc_sockaddr a;

	CHECK(uc_sockaddr_parse("10.0.2.15", 7, &a) == 0 && a.family == UC_AF_INET &&
	      a.port == 7 && memcmp(a.addr, "\x0a\x00\x02\x0f", 4) == 0 && a.zone == 0);
	CHECK(uc_sockaddr_parse("10.0.2.15:8080", 7, &a) == 0 && a.port == 8080);
	CHECK(round_trip("10.0.2.15:80", 0, "10.0.2.15:80"));
	CHECK(round_trip("255.255.255.255", 0, "255.255.255.255"));
	CHECK(round_trip("0.0.0.0:65535", 0, "0.0.0.0:65535"));
	CHECK(round_trip("1.2.3.4", 53, "1.2.3.4:53"));
	CHECK(round_trip("*", 0, "*"));
	CHECK(round_trip("*:7", 0, "*:7"));
	CHECK(uc_sockaddr_parse("*", 9, &a) == 0 && a.family == UC_AF_UNSPEC && a.port == 9);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = uc_sockaddr_parse(bad[i], 0, &a);

		if (rc != -EINVAL)
			fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
		CHECK(rc == -EINVAL);
	}
	CHECK(uc_sockaddr_parse(NULL, 0, &a) == -EINVAL);
}

static void test_ipv6(void)
{
	static const char *const bad[] = {
		":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::", "1:2:3:4:5:6:7",
		":1::", "1::2:", "[::1", "[::1]x", "[::1]:", "[::1]:70000", "::1%net0",
		"fe80::1%net", "fe80::1%eth0", "fe80::1%net255", "1:2:3:4:5:6:7:1.2.3.4",
		"::1.2.3", "[1.2.3.4]",
	};
	struct uc_sockaddr a;

	CHECK(uc_sockaddr_parse("::1", 0, &a) == 0 && a.family == UC_AF_INET6 &&
	      a.addr[15] == 1 && a.addr[0] == 0 && a.port == 0);
	CHECK(round_trip("::1", 0, "::1"));
	CHECK(round_trip("::", 0, "::"));
	CHECK(round_trip("[::1]:8080", 0, "[::1]:8080"));
	CHECK(round_trip("[::1]", 80, "[::1]:80"));
	CHECK(round_trip("2001:DB8:0:0:0:0:2:1", 0, "2001:db8::2:1"));
	/* RFC 5952 sec 4.2.2: one zero group is not compressed. */
	CHECK(round_trip("2001:db8:0:1:1:1:1:1", 0, "2001:db8:0:1:1:1:1:1"));
	/* sec 4.2.3: the longest run, the first of equal ones. */
	CHECK(round_trip("2001:0:0:1:0:0:0:1", 0, "2001:0:0:1::1"));
	CHECK(round_trip("2001:db8:0:0:1:0:0:1", 0, "2001:db8::1:0:0:1"));
	CHECK(round_trip("1:0:0:0:0:0:0:0", 0, "1::"));
	CHECK(round_trip("0:0:0:0:0:0:0:1", 0, "::1"));
	CHECK(round_trip("1:2:3:4:5:6:7:8", 0, "1:2:3:4:5:6:7:8"));
	CHECK(round_trip("::ffff:10.0.2.15", 0, "::ffff:a00:20f"));
	CHECK(round_trip("1:2:3:4:5:6:1.2.3.4", 0, "1:2:3:4:5:6:102:304"));
	CHECK(round_trip("fe80::5054:ff:fe12:3456%net0", 0, "fe80::5054:ff:fe12:3456%net0"));
	CHECK(round_trip("[fe80::1%net3]:7", 0, "[fe80::1%net3]:7"));
	CHECK(uc_sockaddr_parse("fe80::1%net3", 0, &a) == 0 && a.zone == 4);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = uc_sockaddr_parse(bad[i], 0, &a);

		if (rc != -EINVAL)
			fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
		CHECK(rc == -EINVAL);
	}
}

static void test_format_limits(void)
{
	struct uc_sockaddr a;
	char buf[UC_SOCKADDR_STRLEN];
	const char *longest = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%net254]:65535";

	CHECK(uc_sockaddr_parse(longest, 0, &a) == -EINVAL); /* not link-local */
	CHECK(uc_sockaddr_parse("[fe80:ffff:ffff:ffff:ffff:ffff:ffff:ffff%net254]:65535", 0, &a) == 0);
	CHECK(uc_sockaddr_format(&a, buf, sizeof(buf)) == (int)strlen(longest));
	CHECK(strlen(longest) + 1 <= UC_SOCKADDR_STRLEN);
	CHECK(uc_sockaddr_format(&a, buf, strlen(longest)) == -ENOSPC && buf[0] == '\0');
	CHECK(uc_sockaddr_format(&a, buf, strlen(longest) + 1) == (int)strlen(longest));
	a.family = 9;
	CHECK(uc_sockaddr_format(&a, buf, sizeof(buf)) == -EINVAL);
}

static void test_equal(void)
{
	struct uc_sockaddr a, b;

	uc_sockaddr_parse("10.0.0.1:80", 0, &a);
	uc_sockaddr_parse("10.0.0.1:80", 0, &b);
	CHECK(uc_sockaddr_equal(&a, &b));
	b.addr[8] = 0x55;   /* beyond the IPv4 bytes: ignored */
	CHECK(uc_sockaddr_equal(&a, &b));
	uc_sockaddr_parse("10.0.0.1:81", 0, &b);
	CHECK(!uc_sockaddr_equal(&a, &b));
	uc_sockaddr_parse("fe80::1%net0", 0, &a);
	uc_sockaddr_parse("fe80::1%net1", 0, &b);
	CHECK(!uc_sockaddr_equal(&a, &b));
	uc_sockaddr_parse("fe80::1%net1", 0, &a);
	CHECK(uc_sockaddr_equal(&a, &b));
	uc_sockaddr_parse("::ffff:10.0.0.1", 0, &a);
	uc_sockaddr_parse("10.0.0.1", 0, &b);
	CHECK(!uc_sockaddr_equal(&a, &b));
}

int main(void)
{
	test_ipv4();
	test_ipv6();
	test_format_limits();
	test_equal();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
