// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_RUN fixtures of the load balancer's forwarding paths: new, established and reply
 * flows over TCP and UDP, IPv4 and IPv6; 802.1Q; IPv4 options; Ethernet padding; a backend the
 * FIB cannot resolve. Harness and topology: lb_harness.h.
 */
#include <netinet/in.h>
#include "lb_harness.h"

/* ---- 1-3: TCP/IPv4 new flow, established flow, reply ---- */

LB_TEST(lb_tcp4_new_flow)
{
	struct lb_fixture fx = {"tcp4 new flow", &P.tcp4,     FROM_CLIENT,
				XDP_REDIRECT,	 &P.tcp4_out, VEER_REASON_NONE};
	struct veer_flow f;

	if (!lb_begin() || !lb_vips_basic() || !lb_fixture_run(&fx))
		return;
	ASSERT_EQ(lb_flow_count(), 1, "flow entries");
	if (ASSERT_TRUE(lb_flow_get(CLIENT4, 40000, VIP4, 80, IPPROTO_TCP, &f), "forward entry"))
		lb_check_forward_entry(&f, VIP_TCP4, &BE_TCP4, true, "tcp4");
	if (ASSERT_TRUE(lb_flow_get(BE_TCP4.addr, 8080, CLIENT4, 40000, IPPROTO_TCP, &f),
			"reply entry")) {
		lb_check_reply_entry(&f, VIP_TCP4, VIP4, 80, BE_TCP4.id, "tcp4");
		/* Resolved on the first reply. */
		ASSERT_EQ(f.hop_resolved, 0, "reply entry: no hop before the first reply");
	}
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 1, P.tcp4.len, 1, 0, 0, "VIP");
	lb_counters_eq(lb_env.skel->maps.veer_be_stats, BE_TCP4.id, 1, P.tcp4.len, 1, 0, 0,
		       "backend");
}

LB_TEST(lb_tcp4_established)
{
	struct lb_fixture fx[] = {
		{"tcp4 first packet", &P.tcp4, FROM_CLIENT, XDP_REDIRECT, &P.tcp4_out,
		 VEER_REASON_NONE},
		{"tcp4 second packet", &P.tcp4, FROM_CLIENT, XDP_REDIRECT, &P.tcp4_out,
		 VEER_REASON_NONE},
		{"tcp4 third packet", &P.tcp4, FROM_CLIENT, XDP_REDIRECT, &P.tcp4_out,
		 VEER_REASON_NONE},
	};

	if (!lb_begin() || !lb_vips_basic() || !lb_fixtures_run(fx, 2))
		return;
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 2, 2 * P.tcp4.len, 1, 0, 0,
		       "VIP after two packets");
	/* The ring changes under the flow: the connection table keeps it where it was. */
	if (!lb_add_backend(&BE_B, VIP_TCP4, VEER_WEIGHT_DEFAULT) ||
	    !lb_set_ring_all(VIP_TCP4, BE_B.id) || !lb_fixture_run(&fx[2]))
		return;
	ASSERT_EQ(lb_flow_count(), 1, "flow entries");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 3, 3 * P.tcp4.len, 1, 0, 0,
		       "VIP");
	lb_counters_eq(lb_env.skel->maps.veer_be_stats, BE_TCP4.id, 3, 3 * P.tcp4.len, 1, 0, 0,
		       "backend");
	lb_counters_eq(lb_env.skel->maps.veer_be_stats, BE_B.id, 0, 0, 0, 0, 0, "other backend");
}

LB_TEST(lb_tcp4_reply)
{
	struct lb_fixture fx[] = {
		{"tcp4 forward", &P.tcp4, FROM_CLIENT, XDP_REDIRECT, &P.tcp4_out, VEER_REASON_NONE},
		{"tcp4 reply", &P.tcp4_reply, FROM_BACKEND, XDP_REDIRECT, &P.tcp4_reply_out,
		 VEER_REASON_NONE},
		{"tcp4 second reply", &P.tcp4_reply, FROM_BACKEND, XDP_REDIRECT, &P.tcp4_reply_out,
		 VEER_REASON_NONE},
	};
	struct veer_flow f;

	if (!lb_begin() || !lb_vips_basic() || !lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	/* The first reply resolved the hop back to the client and cached it. */
	if (ASSERT_TRUE(lb_flow_get(BE_TCP4.addr, 8080, CLIENT4, 40000, IPPROTO_TCP, &f),
			"reply entry")) {
		lb_check_reply_entry(&f, VIP_TCP4, VIP4, 80, BE_TCP4.id, "tcp4");
		ASSERT_EQ(f.reply_hop.ifindex, lb_env.ifindex[FROM_CLIENT], "reply entry: ifindex");
		ASSERT_MEMEQ(f.reply_hop.dmac, 6, MAC_CLIENT, 6, "reply entry: dmac");
		ASSERT_MEMEQ(f.reply_hop.smac, 6, MAC_VC0, 6, "reply entry: smac");
	}
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 1, P.tcp4.len, 1, 2,
		       2 * P.tcp4_reply.len, "VIP");
	lb_counters_eq(lb_env.skel->maps.veer_be_stats, BE_TCP4.id, 1, P.tcp4.len, 1, 2,
		       2 * P.tcp4_reply.len, "backend");
}

/* A backend's packet to a client it has no flow with is not veer's: passed untouched. */
LB_TEST(lb_reply_without_flow)
{
	struct lb_fixture fx = {"reply of no flow", &P.tcp4_reply, FROM_BACKEND,
				XDP_PASS,	    NULL,	   VEER_PASS_NOT_VIP};

	if (lb_begin() && lb_vips_basic())
		lb_fixture_run(&fx);
}

/* ---- 4: UDP ---- */

LB_TEST(lb_udp4)
{
	struct lb_fixture fx[] = {
		{"udp4", &P.udp4, FROM_CLIENT, XDP_REDIRECT, &P.udp4_out, VEER_REASON_NONE},
		{"udp4 reply", &P.udp4_reply, FROM_BACKEND, XDP_REDIRECT, &P.udp4_reply_out,
		 VEER_REASON_NONE},
		{"udp4 no checksum", &P.udp4_nocsum, FROM_CLIENT, XDP_REDIRECT, &P.udp4_nocsum_out,
		 VEER_REASON_NONE},
	};
	struct veer_flow f;

	if (!lb_begin() || !lb_vips_basic() || !lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	ASSERT_NEQ(pkt_l4_csum(&P.udp4_out), 0, "udp4 carries a checksum");
	ASSERT_EQ(pkt_l4_csum(&P.udp4_nocsum_out), 0, "udp4 without a checksum stays without");
	if (ASSERT_TRUE(lb_flow_get(CLIENT4, 40001, VIP4, 53, IPPROTO_UDP, &f), "forward entry"))
		lb_check_forward_entry(&f, VIP_UDP4, &BE_UDP4, true, "udp4");
	ASSERT_EQ(lb_flow_count(), 2, "flow entries");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_UDP4, 2,
		       P.udp4.len + P.udp4_nocsum.len, 2, 1, P.udp4_reply.len, "VIP");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 0, 0, 0, 0, 0,
		       "TCP VIP, same address");
}

/* ---- 5: IPv6 ---- */

LB_TEST(lb_tcp6)
{
	struct lb_fixture fx[] = {
		{"tcp6 new flow", &P.tcp6, FROM_CLIENT, XDP_REDIRECT, &P.tcp6_out,
		 VEER_REASON_NONE},
		{"tcp6 established", &P.tcp6, FROM_CLIENT, XDP_REDIRECT, &P.tcp6_out,
		 VEER_REASON_NONE},
		{"tcp6 reply", &P.tcp6_reply, FROM_BACKEND, XDP_REDIRECT, &P.tcp6_reply_out,
		 VEER_REASON_NONE},
	};
	struct veer_flow f;

	if (!lb_begin() || !lb_vips_basic() || !lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	ASSERT_EQ(pkt_ip6(&P.tcp6_out)->hop_limit, 63, "hop limit decremented");
	if (ASSERT_TRUE(lb_flow_get(CLIENT6, 40000, VIP6, 80, IPPROTO_TCP, &f), "forward entry"))
		lb_check_forward_entry(&f, VIP_TCP6, &BE_TCP6, true, "tcp6");
	if (ASSERT_TRUE(lb_flow_get(BE_TCP6.addr, 8080, CLIENT6, 40000, IPPROTO_TCP, &f),
			"reply entry")) {
		lb_check_reply_entry(&f, VIP_TCP6, VIP6, 80, BE_TCP6.id, "tcp6");
		ASSERT_EQ(f.reply_hop.ifindex, lb_env.ifindex[FROM_CLIENT], "reply entry: ifindex");
	}
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP6, 2, 2 * P.tcp6.len, 1, 1,
		       P.tcp6_reply.len, "VIP");
}

LB_TEST(lb_udp6)
{
	struct lb_fixture fx = {"udp6",	      &P.udp6,	   FROM_CLIENT,
				XDP_REDIRECT, &P.udp6_out, VEER_REASON_NONE};

	if (lb_begin() && lb_vips_basic() && lb_fixture_run(&fx))
		lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_UDP6, 1, P.udp6.len, 1, 0, 0,
			       "VIP");
}

/* ---- 6: 802.1Q: rewritten, tag kept, routed by the stack (no TTL change, MACs kept) ---- */

LB_TEST(lb_vlan)
{
	struct lb_fixture fx[] = {
		{"vlan4", &P.vlan4, FROM_CLIENT, XDP_PASS, &P.vlan4_out, VEER_PASS_STACK},
		{"vlan4 established", &P.vlan4, FROM_CLIENT, XDP_PASS, &P.vlan4_out,
		 VEER_PASS_STACK},
		{"vlan6", &P.vlan6, FROM_CLIENT, XDP_PASS, &P.vlan6_out, VEER_PASS_STACK},
	};
	struct veer_flow f;

	if (!lb_begin() || !lb_vips_basic() || !lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	if (ASSERT_TRUE(lb_flow_get(CLIENT4, 40010, VIP4, 80, IPPROTO_TCP, &f), "forward entry"))
		lb_check_forward_entry(&f, VIP_TCP4, &BE_TCP4, true, "vlan4");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 2, 2 * P.vlan4.len, 1, 0, 0,
		       "VIP");
}

/* IPv4 options (IHL 6) are kept, the TCP header found behind them. */
LB_TEST(lb_ip4_options)
{
	struct lb_fixture fx = {"IPv4 with options", &P.opts4,	   FROM_CLIENT,
				XDP_REDIRECT,	     &P.opts4_out, VEER_REASON_NONE};

	if (lb_begin() && lb_vips_basic() && lb_fixture_run(&fx))
		ASSERT_EQ(pkt_ip4(&P.opts4_out)->ihl, 6, "IHL kept");
}

/* A minimum-size frame: Ethernet padding after the datagram is kept and not summed. */
LB_TEST(lb_eth_padding)
{
	struct lb_fixture fx = {"padded frame", &P.pad4,     FROM_CLIENT,
				XDP_REDIRECT,	&P.pad4_out, VEER_REASON_NONE};

	if (lb_begin() && lb_vips_basic() && ASSERT_EQ(P.pad4.len, 60, "frame length"))
		lb_fixture_run(&fx);
}

/* ---- FIB lookup fails (no neighbour): rewritten, handed to the stack ---- */

LB_TEST(lb_fib_no_neigh)
{
	struct lb_fixture fx[] = {
		{"backend without neighbour", &P.special4, FROM_CLIENT, XDP_PASS, &P.special4_out,
		 VEER_PASS_STACK},
		{"same flow again", &P.special4, FROM_CLIENT, XDP_PASS, &P.special4_out,
		 VEER_PASS_STACK},
	};
	struct veer_flow f;

	if (!lb_begin() || !lb_vip_single(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, &BE_NONEIGH) ||
	    !lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	if (ASSERT_TRUE(lb_flow_get(CLIENT4, 40020, VIP4_2, 80, IPPROTO_TCP, &f), "forward entry"))
		lb_check_forward_entry(&f, VIP_SPECIAL, &BE_NONEIGH, false, "no neighbour");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_SPECIAL, 2, 2 * P.special4.len, 1, 0,
		       0, "VIP");
}
