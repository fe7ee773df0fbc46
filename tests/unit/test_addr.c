// SPDX-License-Identifier: GPL-2.0
/* Parsing of the CLI's addresses, VIPs, numbers and durations: strict, no trailing junk. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include "test.h"
#include "veer.h"

VEER_TEST(parse_vip_forms)
{
	struct veer_vip_key k;
	char buf[VEER_ADDR_STRLEN];

	if (ASSERT_OK(veer_parse_vip("198.18.100.10:80/tcp", &k), "v4 tcp")) {
		ASSERT_EQ(k.family, VEER_AF_INET, "family");
		ASSERT_EQ(ntohs(k.port), 80, "port");
		ASSERT_EQ(k.proto, IPPROTO_TCP, "proto");
		ASSERT_STREQ(veer_fmt_vip(&k, buf, sizeof(buf)), "198.18.100.10:80/tcp", "round trip");
	}
	if (ASSERT_OK(veer_parse_vip("[2001:2::10]:53/udp", &k), "v6 udp")) {
		ASSERT_EQ(k.family, VEER_AF_INET6, "family");
		ASSERT_EQ(k.proto, IPPROTO_UDP, "proto");
		ASSERT_STREQ(veer_fmt_vip(&k, buf, sizeof(buf)), "[2001:2::10]:53/udp", "round trip");
	}
}

VEER_TEST(parse_vip_rejects)
{
	static const char *const bad[] = {
		"198.18.100.10:80",	  "198.18.100.10/tcp",	  "198.18.100.10:0/tcp",
		"198.18.100.10:65536/tcp", "198.18.100.10:80/icmp", "198.18.300.1:80/tcp",
		"198.18.100.10:-1/tcp",	  "198.18.100.10:8x/tcp", "2001:2::10:80/tcp",
		"[2001:2::10]/tcp",	  "[198.18.0.1]:80/tcp",  "[2001:2::10]x:80/tcp",
		"",			  ":80/tcp",		  "198.18.100.10:80/tcp/x",
		"0.0.0.0:80/tcp",	  "255.255.255.255:80/tcp", "224.0.0.1:80/udp",
		"[::]:80/tcp",		  "[ff02::1]:80/udp",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct veer_vip_key k;

		ASSERT_ERR(veer_parse_vip(bad[i], &k), bad[i]);
	}
}

VEER_TEST(parse_endpoint_port_optional)
{
	struct veer_endpoint ep;

	if (ASSERT_OK(veer_parse_endpoint("198.18.11.2", &ep, false), "bare v4"))
		ASSERT_EQ(ep.port, 0, "no port");
	if (ASSERT_OK(veer_parse_endpoint("198.18.11.2:8080", &ep, false), "v4 port"))
		ASSERT_EQ(ntohs(ep.port), 8080, "port");
	if (ASSERT_OK(veer_parse_endpoint("2001:2:0:11::2", &ep, false), "bare v6"))
		ASSERT_EQ(ep.family, VEER_AF_INET6, "family");
	if (ASSERT_OK(veer_parse_endpoint("[2001:2:0:11::2]:8080", &ep, false), "v6 port"))
		ASSERT_EQ(ntohs(ep.port), 8080, "port");
	ASSERT_ERR(veer_parse_endpoint("198.18.11.2", &ep, true), "port required");
	ASSERT_ERR(veer_parse_endpoint("198.18.11.2:", &ep, false), "empty port");
	ASSERT_ERR(veer_parse_endpoint("backend1", &ep, false), "name");
}

VEER_TEST(parse_numbers)
{
	__u32 v, ms;

	ASSERT_OK(veer_parse_u32("100", 0, 10000, &v), "100");
	ASSERT_EQ(v, 100, "value");
	ASSERT_ERR(veer_parse_u32("-1", 0, 10000, &v), "negative");
	ASSERT_ERR(veer_parse_u32("10001", 0, 10000, &v), "above max");
	ASSERT_ERR(veer_parse_u32("12abc", 0, 10000, &v), "junk");
	ASSERT_ERR(veer_parse_u32("", 0, 10000, &v), "empty");
	ASSERT_ERR(veer_parse_u32("99999999999999999999", 0, ~0u, &v), "overflow");
	ASSERT_OK(veer_parse_duration("500ms", &ms), "500ms");
	ASSERT_EQ(ms, 500, "ms");
	ASSERT_OK(veer_parse_duration("2s", &ms), "2s");
	ASSERT_EQ(ms, 2000, "s");
	ASSERT_OK(veer_parse_duration("1m", &ms), "1m");
	ASSERT_EQ(ms, 60000, "m");
	ASSERT_OK(veer_parse_duration("2h", &ms), "2h");
	ASSERT_EQ(ms, 7200000, "h");
	ASSERT_OK(veer_parse_duration("7d", &ms), "7d");
	ASSERT_EQ(ms, 604800000, "d");
	ASSERT_ERR(veer_parse_duration("1w", &ms), "unit");
	ASSERT_ERR(veer_parse_duration("50d", &ms), "past 2^32 ms");
	ASSERT_ERR(veer_parse_duration("-1s", &ms), "negative");
}

VEER_TEST(parse_modes)
{
	__u8 mode;

	ASSERT_OK(veer_parse_mode("nat", &mode), "nat");
	ASSERT_EQ(mode, VEER_MODE_NAT, "nat value");
	ASSERT_OK(veer_parse_mode("dsr-l2", &mode), "dsr-l2");
	ASSERT_EQ(mode, VEER_MODE_DSR_L2, "dsr-l2 value");
	ASSERT_ERR(veer_parse_mode("dsr", &mode), "unknown");
}
