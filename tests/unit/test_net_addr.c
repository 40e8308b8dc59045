/* test_net_addr.c: host tests of IPv4 text parsing/printing (runtime/net/netaddr.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/net.h"

#include "check.h"


int main(void)
{
	static const char *const bad_ip[] = {
		"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4",
		"1..2.3", "1.2.3.-4", "01234.1.1.1", "a.b.c.d", "1.2.3.4/24",
	};
	static const char *const bad_cidr[] = {
		"10.0.2.15", "10.0.2.15/", "10.0.2.15/33", "10.0.2.15/2a",
		"10.0.2.15/24/1", "10.0.2/24", "10.0.2.15/-1", "10.0.2.15/1000",
	};
	char buf[NETADDR_IPV4_STRLEN];
	uint32_t a;
	unsigned prefix, i;

	CHECK(netaddr_parse_ipv4("10.0.2.15", &a) == 0 && a == 0x0a00020f);
	CHECK(netaddr_parse_ipv4("255.255.255.255", &a) == 0 && a == 0xffffffff);
	CHECK(netaddr_parse_ipv4("0.0.0.0", &a) == 0 && a == 0);
	CHECK(netaddr_parse_ipv4(NULL, &a) == -EINVAL);
	for (i = 0; i < sizeof(bad_ip) / sizeof(bad_ip[0]); i++) {
		int rc = netaddr_parse_ipv4(bad_ip[i], &a);

		CHECK(rc == -EINVAL);
		if (rc != -EINVAL)
			fprintf(stderr, "  accepted \"%s\"\n", bad_ip[i]);
	}
	CHECK(netaddr_parse_cidr("192.168.1.20/24", &a, &prefix) == 0 &&
	      a == 0xc0a80114 && prefix == 24);
	CHECK(netaddr_parse_cidr("10.1.2.3/0", &a, &prefix) == 0 && prefix == 0);
	CHECK(netaddr_parse_cidr("10.1.2.3/32", &a, &prefix) == 0 && prefix == 32);
	for (i = 0; i < sizeof(bad_cidr) / sizeof(bad_cidr[0]); i++) {
		int rc = netaddr_parse_cidr(bad_cidr[i], &a, &prefix);

		CHECK(rc == -EINVAL);
		if (rc != -EINVAL)
			fprintf(stderr, "  accepted \"%s\"\n", bad_cidr[i]);
	}
	CHECK(netaddr_prefix_to_mask(0) == 0);
	CHECK(netaddr_prefix_to_mask(24) == 0xffffff00);
	CHECK(netaddr_prefix_to_mask(32) == 0xffffffff);
	CHECK(netaddr_prefix_to_mask(1) == 0x80000000);
	for (i = 0; i <= 32; i++)
		CHECK(netaddr_mask_to_prefix(netaddr_prefix_to_mask(i)) == (int)i);
	CHECK(netaddr_mask_to_prefix(0xff00ff00) == -EINVAL);
	CHECK(netaddr_mask_to_prefix(0x00ffffff) == -EINVAL);
	netaddr_format_ipv4(buf, 0x0a00020f);
	CHECK(strcmp(buf, "10.0.2.15") == 0);
	netaddr_format_ipv4(buf, 0xffffffff);
	CHECK(strcmp(buf, "255.255.255.255") == 0);
	netaddr_format_ipv4(buf, 0x00640a09);
	CHECK(strcmp(buf, "0.100.10.9") == 0);

	/* The console's "unicycle: net0 <addr> via dhcp" and uc_net_ipv4(). */
	{
		char ifa[NETADDR_IFADDR_STRLEN];

		CHECK(netaddr_format_ifaddr(ifa, sizeof(ifa), 0x0a00020f, 0xffffff00) == 12 &&
		      strcmp(ifa, "10.0.2.15/24") == 0);
		CHECK(netaddr_format_ifaddr(ifa, sizeof(ifa), 0x0a00020f, 0) == 11 &&
		      strcmp(ifa, "10.0.2.15/0") == 0);
		CHECK(netaddr_format_ifaddr(ifa, sizeof(ifa), 0x0a00020f, 0xffffffff) == 12 &&
		      strcmp(ifa, "10.0.2.15/32") == 0);
		/* A DHCP server's non-contiguous mask has no prefix length: the
		 * mask itself, not a made-up number. */
		CHECK(netaddr_format_ifaddr(ifa, sizeof(ifa), 0x0a00020f, 0xff00ff00) == 21 &&
		      strcmp(ifa, "10.0.2.15/255.0.255.0") == 0);
		CHECK(netaddr_format_ifaddr(ifa, sizeof(ifa), 0xffffffff, 0x00ffffff) == 29 &&
		      strcmp(ifa, "255.255.255.255/0.255.255.255") == 0);
		/* Too small: nothing written, -ENOSPC. */
		memset(ifa, 'x', sizeof(ifa));
		CHECK(netaddr_format_ifaddr(ifa, 12, 0x0a00020f, 0xffffff00) == -ENOSPC &&
		      ifa[0] == 'x');
		CHECK(netaddr_format_ifaddr(ifa, 13, 0x0a00020f, 0xffffff00) == 12);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
