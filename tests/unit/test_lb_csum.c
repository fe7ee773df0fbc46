// SPDX-License-Identifier: GPL-2.0
/* BPF_PROG_RUN fixtures of the incremental checksum updates' edges. Harness: lb_harness.h. */
#include <netinet/in.h>
#include "lb_harness.h"

/*
 * Checksum edges of the incremental update (RFC 1624): results and inputs of 0 for TCP, and
 * for UDP a sum of 0, which is sent as 0xffff (RFC 768; RFC 8200 8.1 for IPv6, where a UDP
 * checksum of 0 is invalid and the receiver drops the datagram).
 */
LB_TEST(lb_csum_edges)
{
	static const struct lb_fixture fx[] = {
		{"TCP checksum becomes 0", &P.tcp4_c0_out_in, FROM_CLIENT, XDP_REDIRECT,
		 &P.tcp4_c0_out, VEER_REASON_NONE},
		{"TCP checksum 0 in", &P.tcp4_c0_in, FROM_CLIENT, XDP_REDIRECT, &P.tcp4_c0_in_out,
		 VEER_REASON_NONE},
		{"UDP sum becomes 0", &P.udp4_cf_out_in, FROM_CLIENT, XDP_REDIRECT, &P.udp4_cf_out,
		 VEER_REASON_NONE},
		{"UDP sum 0 in", &P.udp4_cf_in, FROM_CLIENT, XDP_REDIRECT, &P.udp4_cf_in_out,
		 VEER_REASON_NONE},
		{"TCP/IPv6 checksum becomes 0", &P.tcp6_c0_out_in, FROM_CLIENT, XDP_REDIRECT,
		 &P.tcp6_c0_out, VEER_REASON_NONE},
	};

	if (!lb_begin() || !lb_vips_basic())
		return;
	ASSERT_EQ(pkt_l4_csum(&P.tcp4_c0_out), 0, "fixture: TCP checksum 0 out");
	ASSERT_EQ(pkt_l4_csum(&P.tcp4_c0_in), 0, "fixture: TCP checksum 0 in");
	ASSERT_EQ(pkt_l4_csum(&P.udp4_cf_out), 0xffff, "fixture: UDP checksum 0xffff out");
	ASSERT_EQ(pkt_l4_csum(&P.udp4_cf_in), 0xffff, "fixture: UDP checksum 0xffff in");
	lb_fixtures_run(fx, ARRAY_LEN(fx));
}

/*
 * UDP over IPv6 whose rewritten sum is 0 must leave with 0xffff: a 0 there means "no checksum",
 * which IPv6 forbids (the backend would drop it).
 */
LB_TEST(lb_csum_udp6_zero)
{
	struct lb_fixture fx = {
		"UDP/IPv6 sum becomes 0", &P.udp6_cf_out_in, FROM_CLIENT, XDP_REDIRECT,
		&P.udp6_cf_out,		  VEER_REASON_NONE};

	if (!lb_begin() || !lb_vips_basic() ||
	    !ASSERT_EQ(pkt_l4_csum(&P.udp6_cf_out), 0xffff, "fixture: UDP/IPv6 checksum 0xffff"))
		return;
	lb_fixture_run(&fx);
}
