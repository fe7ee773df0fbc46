// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_RUN fixtures of what the load balancer does not forward: traffic for no VIP,
 * malformed frames, later fragments of no known datagram, a VIP without backends or in an
 * unsupported mode, an expiring TTL. And the first fragments it forwards like any packet of
 * their flow, the IPv6 atomic fragment among them (the rest of fragment handling:
 * test_lb_frag.c). Harness and topology: lb_harness.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include "lb_harness.h"

/* ---- 7: not for a VIP: untouched ---- */

LB_TEST(lb_not_vip)
{
	static const struct lb_fixture fx[] = {
		{"other address", &P.other4, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_NOT_VIP},
		{"VIP address, other port", &P.port443, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"VIP address and port, other protocol", &P.udp_port80, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"ICMP echo to another address", &P.icmp4, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"other IPv6 address", &P.other6, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_NOT_VIP},
		{"ICMPv6 echo to another address", &P.icmp6, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"ARP", &P.arp, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_NOT_IP},
	};

	if (!lb_begin() || !lb_vips_basic() || !lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	ASSERT_EQ(lb_flow_count(), 0, "no flow entries");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 0, 0, 0, 0, 0, "VIP");
}

/* ---- 8: malformed ---- */

LB_TEST(lb_malformed)
{
	static const struct lb_fixture fx[] = {
		{"802.1Q type, no tag", &P.vlan_short14, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L2},
		{"802.1Q tag cut short", &P.vlan_short17, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L2},
		{"IPv4 header cut short", &P.ip4_short, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L3},
		{"IPv4 IHL 4", &P.ip4_ihl4, FROM_CLIENT, XDP_DROP, NULL, VEER_DROP_BAD_L3},
		{"IPv4 version 6", &P.ip4_ver6, FROM_CLIENT, XDP_DROP, NULL, VEER_DROP_BAD_L3},
		{"IPv4 tot_len past the frame", &P.ip4_long, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L3},
		{"IPv4 tot_len below IHL", &P.ip4_tot_lt_ihl, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L3},
		{"TCP header cut short", &P.tcp4_short, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L4},
		{"TCP header past the datagram", &P.tcp4_outside, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L4},
		{"UDP header cut short", &P.udp4_short, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L4},
		{"first fragment to no VIP", &P.frag4_first_other, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"later fragment of no known datagram", &P.frag4_tail, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_FRAGMENT},
		{"IPv6 header cut short", &P.ip6_short, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L3},
		{"IPv6 payload_len past the frame", &P.ip6_long, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L3},
		{"IPv6 version 4", &P.ip6_ver4, FROM_CLIENT, XDP_DROP, NULL, VEER_DROP_BAD_L3},
		{"TCP/IPv6 header cut short", &P.tcp6_short, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L4},
		{"IPv6 later fragment of no known datagram", &P.frag6_tail, FROM_CLIENT, XDP_PASS,
		 NULL, VEER_PASS_FRAGMENT},
	};

	if (!lb_begin() || !lb_vips_basic() || !lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	ASSERT_EQ(lb_flow_count(), 0, "no flow entries");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 0, 0, 0, 0, 0, "VIP");
}

/*
 * A frame shorter than an Ethernet header: the kernel refuses to lb_pkt_build one for BPF_PROG_RUN
 * (bpf_test_init: EINVAL below ETH_HLEN) and no XDP frame can be made that short (the
 * adjust_head/adjust_tail helpers keep ETH_HLEN). Either the kernel refuses it or veer drops
 * it as bad_l2: it never passes.
 */
LB_TEST(lb_runt)
{
	struct lb_fixture fx = {"13-byte frame", &P.runt, FROM_CLIENT,
				XDP_DROP,	 NULL,	  VEER_DROP_BAD_L2};
	struct pkt got;
	__u32 retval;
	int err;

	if (!lb_begin() || !lb_vips_basic())
		return;
	err = lb_prog_run(&P.runt, FROM_CLIENT, &got, &retval);
	if (err == -EINVAL)
		return;
	lb_fixture_run(&fx);
}

/*
 * What veer makes of a first fragment that lb_packets.c built (a fragment of the same spec,
 * forwarded to be). Its TCP checksum was computed over this fragment's bytes as if they were
 * the datagram, and the expected one is computed the same way over the rewritten bytes.
 */
static bool frag_first_out(struct pkt *out, struct pkt_spec s, const struct be_def *be)
{
	return lb_pkt_build(out, lb_spec_fwd(s, be, true), "first fragment's output");
}

/* A first fragment (MF, offset 0) to a VIP, of a new flow and of an established one. */
LB_TEST(lb_fragment_established)
{
	static struct pkt first_out, est_out;
	struct pkt_spec s = lb_spec_c2v(CLIENT4, 40060, VIP4, 80, IPPROTO_TCP);
	struct lb_fixture fx[] = {
		{"first fragment of a new flow", &P.frag4_first, FROM_CLIENT, XDP_REDIRECT,
		 &first_out, VEER_REASON_NONE},
		{"tcp4", &P.tcp4, FROM_CLIENT, XDP_REDIRECT, &P.tcp4_out, VEER_REASON_NONE},
		{"first fragment of the flow", &P.frag4_first_est, FROM_CLIENT, XDP_REDIRECT,
		 &est_out, VEER_REASON_NONE},
	};

	s.frag = 0x2000;
	if (!frag_first_out(&first_out, s, &BE_TCP4))
		return;
	s = lb_spec_c2v(CLIENT4, 40000, VIP4, 80, IPPROTO_TCP); /* the 5-tuple of P.tcp4 */
	s.frag = 0x2000;
	if (!frag_first_out(&est_out, s, &BE_TCP4))
		return;
	if (!lb_begin() || !lb_vips_basic() || !lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 3,
		       2 * P.frag4_first.len + P.tcp4.len, 2, 0, 0, "VIP");
	ASSERT_EQ(lb_flow_count(), 2, "flow entries");
	/* Both fragments name one datagram (addresses, protocol, IP id): the latest holds. */
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_frags), 1, "one datagram record");
}

/*
 * An IPv6 atomic fragment (fragment header with offset 0 and M clear, RFC 6946) is a whole
 * datagram: load balanced like one, new flow and established, the fragment header kept as it
 * came, and no datagram recorded. A real first fragment (M set) is forwarded too, of that
 * established flow as of a new one, and recorded for its later fragments.
 */
LB_TEST(lb_ip6_atomic_fragment)
{
	static struct pkt first_est_out, first_out;
	struct pkt_spec s = lb_spec_c2v(CLIENT6, 40063, VIP6, 80, IPPROTO_TCP);
	const struct lb_fixture fx[] = {
		{"TCP atomic fragment", &P.frag6_atomic, FROM_CLIENT, XDP_REDIRECT,
		 &P.frag6_atomic_out, VEER_REASON_NONE},
		{"TCP atomic fragment, established", &P.frag6_atomic, FROM_CLIENT, XDP_REDIRECT,
		 &P.frag6_atomic_out, VEER_REASON_NONE},
		{"first fragment of the atomic fragment's flow", &P.frag6_first_est, FROM_CLIENT,
		 XDP_REDIRECT, &first_est_out, VEER_REASON_NONE},
		{"UDP atomic fragment", &P.frag6_atomic_udp, FROM_CLIENT, XDP_REDIRECT,
		 &P.frag6_atomic_udp_out, VEER_REASON_NONE},
		{"first fragment of a new flow", &P.frag6_first, FROM_CLIENT, XDP_REDIRECT,
		 &first_out, VEER_REASON_NONE},
	};
	struct veer_flow f;

	s.v6_frag = true;
	s.frag = 1; /* as P.frag6_first_est */
	if (!frag_first_out(&first_est_out, s, &BE_TCP6))
		return;
	s = lb_spec_c2v(CLIENT6, 40060, VIP6, 80, IPPROTO_TCP);
	s.v6_frag = true;
	s.frag = 1; /* as P.frag6_first */
	if (!frag_first_out(&first_out, s, &BE_TCP6))
		return;
	if (!lb_begin() || !lb_vips_basic() ||
	    !ASSERT_EQ(pkt_ip6(&P.frag6_atomic_out)->nexthdr, 44,
		       "fixture: fragment header kept") ||
	    !ASSERT_EQ(P.frag6_atomic.len, P.tcp6.len + 8, "fixture: 8 bytes more than tcp6") ||
	    !lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	ASSERT_EQ(pkt_ip6(&P.frag6_atomic_out)->hop_limit, 63, "hop limit decremented");
	if (ASSERT_TRUE(lb_flow_get(CLIENT6, 40063, VIP6, 80, IPPROTO_TCP, &f), "forward entry"))
		lb_check_forward_entry(&f, VIP_TCP6, &BE_TCP6, true, "TCP atomic fragment");
	if (ASSERT_TRUE(lb_flow_get(BE_TCP6.addr, 8080, CLIENT6, 40063, IPPROTO_TCP, &f),
			"reply entry"))
		lb_check_reply_entry(&f, VIP_TCP6, VIP6, 80, BE_TCP6.id, "TCP atomic fragment");
	if (ASSERT_TRUE(lb_flow_get(CLIENT6, 40064, VIP6, 53, IPPROTO_UDP, &f), "forward entry"))
		lb_check_forward_entry(&f, VIP_UDP6, &BE_UDP6, true, "UDP atomic fragment");
	ASSERT_EQ(lb_flow_count(), 3, "flow entries");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_frags), 1,
		  "one datagram record: both first fragments have its addresses and id");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP6, 4,
		       3 * P.frag6_atomic.len + P.frag6_first.len, 2, 0, 0, "TCP VIP");
	lb_counters_eq(lb_env.skel->maps.veer_be_stats, BE_TCP6.id, 4,
		       3 * P.frag6_atomic.len + P.frag6_first.len, 2, 0, 0, "TCP backend");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_UDP6, 1, P.frag6_atomic_udp.len, 1, 0,
		       0, "UDP VIP");
}

/* ---- 9: no backend, unsupported mode ---- */

LB_TEST(lb_no_backend)
{
	struct lb_fixture fx = {"VIP without backends", &P.special4, FROM_CLIENT, XDP_DROP, NULL,
				VEER_DROP_NO_BACKEND};
	struct veer_backend off = {};

	if (!lb_begin() || !lb_add_vip(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, 0, VEER_MODE_NAT))
		return;
	/* No ring published at all. */
	lb_fixture_run(&fx);
	/* A ring with no backend of non-zero weight. */
	if (lb_set_ring_all(VIP_SPECIAL, VEER_NO_BACKEND))
		lb_fixture_run(&fx);
	/* A ring naming a backend slot that is not active (deleted). */
	off.vip_id = VIP_SPECIAL;
	if (ASSERT_OK(bpf_map__update_elem(lb_env.skel->maps.veer_backends, &BE_B.id,
					   sizeof(BE_B.id), &off, sizeof(off), BPF_ANY),
		      "inactive backend") &&
	    lb_set_ring_all(VIP_SPECIAL, BE_B.id))
		lb_fixture_run(&fx);
	ASSERT_EQ(lb_flow_count(), 0, "no flow entries");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_SPECIAL, 0, 0, 0, 0, 0, "VIP");
}

/* A mode past the last this data plane knows (a later veer's): nothing is made for it. */
LB_TEST(lb_unsupported_mode)
{
	struct lb_fixture fx = {"VIP of mode 3", &P.special4, FROM_CLIENT,
				XDP_DROP,	 NULL,	      VEER_DROP_UNSUPPORTED};

	if (lb_begin() &&
	    lb_add_vip(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, 0, VEER_MODE_DSR_L2 + 1) &&
	    lb_add_backend(&BE_B, VIP_SPECIAL, VEER_WEIGHT_DEFAULT) &&
	    lb_set_ring_all(VIP_SPECIAL, BE_B.id) && lb_fixture_run(&fx))
		ASSERT_EQ(lb_flow_count(), 0, "no flow entries");
}

/* ---- 10: TTL ---- */

/*
 * TTL / hop limit 1 is passed as it came before any state: the first packet of a connection
 * installs no flow entry and counts no new flow (more in test_lb_headers.c).
 */
LB_TEST(lb_ttl)
{
	static const struct lb_fixture fx[] = {
		{"TTL 1", &P.ttl1_4, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_TTL},
		{"hop limit 1", &P.ttl1_6, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_TTL},
		{"TTL 2", &P.ttl2_4, FROM_CLIENT, XDP_REDIRECT, &P.ttl2_4_out, VEER_REASON_NONE},
	};

	if (!lb_begin() || !lb_vips_basic() || !lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	ASSERT_EQ(pkt_ip4(&P.ttl2_4_out)->ttl, 1, "TTL 2 leaves with 1");
	ASSERT_EQ(lb_flow_count(), 1, "only TTL 2's flow");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 1, P.ttl2_4.len, 1, 0, 0,
		       "VIP: TTL 2 only");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP6, 0, 0, 0, 0, 0, "IPv6 VIP");
}
