// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_RUN fixtures of rule 8, the egress MTU: a packet veer would redirect that is larger
 * than its flow's cached MTU is answered with fragmentation-needed (IPv4 with DF) or
 * packet-too-big (IPv6), from the VIP, quoting the packet as it arrived, out of the interface
 * it came in on; IPv4 without DF is rewritten and left to the stack to fragment. Harness and
 * topology: lb_harness.h. This file adds two links of smaller MTUs to the namespace:
 *
 *   vm0  MTU 1280  02:00:00:00:21:01  198.18.21.1/24  2001:2:0:21::1/64
 *                  neighbours: 198.18.21.2, 2001:2:0:21::2 -> 02:00:00:00:21:02
 *   vs0  MTU 500   02:00:00:00:22:01  198.18.22.1/24
 *                  neighbour:  198.18.22.2 -> 02:00:00:00:22:02
 *
 * Expected answers are built by the packet builder (pkt_build_icmp_error) from the input frame
 * and the RFC sizes, checksums from scratch.
 *
 * GSO: at tc, a local sender's TCP reaches veer as one GSO skb of many segments, and the MTU
 * check is on the segments (bpf_check_mtu with BPF_MTU_CHK_SEGS). BPF_PROG_RUN builds a plain
 * linear skb from the bytes it is given and has no way to mark it GSO, so no fixture here can
 * hold one. What the code relies on instead: bpf_skb_change_tail() linearises the skb and
 * resets its GSO state (skb_gso_reset) whatever the new length, so the answer is one ordinary
 * packet: the first 548/1232 bytes of the super-packet behind new headers. Its quoted IP
 * header carries the super-packet's total length and its first segment's TCP sequence
 * number, which is what the sender matches (tcp_v4_err / tcp_v6_err check the sequence is in
 * flight). lb_mtu_live_tc below sends such a GSO skb for real, from a TCP socket over a veth.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include "lb_harness.h"
#include "bench_empty.skel.h"

static const __u8 MAC_VM0[6] = {0x02, 0, 0, 0, 0x21, 0x01};
static const __u8 MAC_BE_M[6] = {0x02, 0, 0, 0, 0x21, 0x02};
static const __u8 MAC_VS0[6] = {0x02, 0, 0, 0, 0x22, 0x01};
static const __u8 MAC_BE_S[6] = {0x02, 0, 0, 0, 0x22, 0x02};

#define MTU_M 1280
#define MTU_S 500

/* Backend ids below LB_NIDS, so that the harness resets them; unused by the harness. */
static const struct be_def BE_M4 = {28, "198.18.21.2", 8080, MAC_BE_M};
static const struct be_def BE_M4U = {29, "198.18.21.2", 5353, MAC_BE_M};
static const struct be_def BE_M6 = {30, "2001:2:0:21::2", 8080, MAC_BE_M};
static const struct be_def BE_S4 = {31, "198.18.22.2", 8080, MAC_BE_S};
/* Behind vm0 with no neighbour entry: the FIB knows the interface, not the next hop's MAC. */
static const struct be_def BE_M4_NONEIGH = {27, "198.18.21.9", 8080, NULL};

/* ---- the two small-MTU links ---- */

/* Made once, in the harness's namespace, after lb_begin() has made it. */
static bool mtu_links(void)
{
	static const char *const cmds[] = {
		"ip link add vm0 address 02:00:00:00:21:01 mtu 1280 type veth peer name vm0p "
		"address 02:00:00:00:21:fe mtu 1280",
		"ip link set dev vm0 up && ip link set dev vm0p up",
		"ip addr add 198.18.21.1/24 dev vm0",
		"ip -6 addr add 2001:2:0:21::1/64 dev vm0 nodad",
		"ip neigh replace 198.18.21.2 lladdr 02:00:00:00:21:02 dev vm0 nud permanent",
		"ip -6 neigh replace 2001:2:0:21::2 lladdr 02:00:00:00:21:02 dev vm0 nud permanent",
		"ip link add vs0 address 02:00:00:00:22:01 mtu 500 type veth peer name vs0p "
		"address 02:00:00:00:22:fe mtu 500",
		"ip link set dev vs0 up && ip link set dev vs0p up",
		"ip addr add 198.18.22.1/24 dev vs0",
		"ip neigh replace 198.18.22.2 lladdr 02:00:00:00:22:02 dev vs0 nud permanent",
		"sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1",
	};
	static int state;

	return lb_shell_once(cmds, ARRAY_LEN(cmds), &state, "small-MTU links");
}

/* ---- packets ---- */

static __u32 l4_hdr(__u8 proto)
{
	return proto == IPPROTO_TCP ? 20 : 8;
}

/* A client's packet to a VIP whose IP datagram is ip_len bytes long (DF set over IPv4). */
static struct pkt_spec c2v(const char *client, __u16 sport, const char *vip, __u16 vport,
			   __u8 proto, __u32 ip_len)
{
	struct pkt_spec s = lb_spec_c2v(client, sport, vip, vport, proto);

	s.payload = ip_len - (strchr(client, ':') ? 40 : 20) - l4_hdr(proto);
	return s;
}

/* A backend's reply to a client, ip_len bytes of datagram, DF set over IPv4. */
static struct pkt_spec b2c(const struct be_def *be, const char *client, __u16 cport, __u8 proto,
			   __u32 ip_len)
{
	struct pkt_spec s = lb_spec_b2c(be, client, cport, proto);

	s.payload = ip_len - (strchr(client, ':') ? 40 : 20) - l4_hdr(proto);
	return s;
}

/* What veer forwards of s to be, out of the link whose MAC is smac. */
static struct pkt_spec fwd_via(struct pkt_spec s, const struct be_def *be, const __u8 *smac)
{
	s = lb_spec_fwd(s, be, true);
	memcpy(s.smac, smac, 6);
	return s;
}

static bool build(struct pkt *p, struct pkt_spec s, const char *what)
{
	return lb_pkt_build(p, s, what);
}

/* The answer to frame in, from `from` (the VIP) to `to`: lb_pkt_too_big. */
static bool answer(struct pkt *out, struct pkt *in, const char *from, const char *to, __u32 mtu,
		   const char *what)
{
	return lb_pkt_too_big(out, in, from, to, mtu, what);
}

/* ---- running ---- */

/* How a packet sent back out of its own interface comes back from BPF_PROG_RUN. */
static __u32 sent_back(void)
{
	return lb_env.hook == LB_TC ? XDP_REDIRECT : XDP_TX;
}

static bool forward_entry_mtu(const char *client, __u16 cport, const char *vip, __u16 vport,
			      __u8 proto, const char *dev, __u32 mtu, const char *what)
{
	struct veer_flow f;
	struct veer_hop h;

	/* The next hop toward a backend is the backend's. */
	return ASSERT_TRUE(lb_flow_get(client, cport, vip, vport, proto, &f), what) &&
	       ASSERT_TRUE(lb_backend_hop(f.backend_id, &h), what) &&
	       ASSERT_EQ(h.ifindex, if_nametoindex(dev), what) && ASSERT_EQ(h.mtu, mtu, what);
}

/* ---- IPv4 with DF ---- */

LB_TEST(lb_mtu_frag_needed4)
{
	struct pkt big, big_out, small, small_out, udp, udp_out;
	struct pkt_spec s;
	bool ok;

	if (!lb_begin() || !mtu_links() ||
	    !lb_vip_single(VIP_TCP4, VIP4, 80, IPPROTO_TCP, &BE_M4) ||
	    !lb_vip_single(VIP_UDP4, VIP4, 53, IPPROTO_UDP, &BE_M4U))
		return;
	s = c2v(CLIENT4, 41000, VIP4, 80, IPPROTO_TCP, 1440);
	ok = build(&big, s, "tcp4 1440") && answer(&big_out, &big, VIP4, CLIENT4, MTU_M, "answer");
	s.payload = 32;
	ok &= build(&small, s, "tcp4 small") &&
	      build(&small_out, fwd_via(s, &BE_M4, MAC_VM0), "tcp4 small out");
	s = c2v(CLIENT4, 41001, VIP4, 53, IPPROTO_UDP, 1500);
	ok &= build(&udp, s, "udp4 1500") && answer(&udp_out, &udp, VIP4, CLIENT4, MTU_M, "answer");
	if (!ok)
		return;
	/* The whole answer is 576 bytes: 20 + 8 + the first 548 of the 1440. */
	ASSERT_EQ(big_out.len, ETH_HLEN + 576, "answer length");

	struct lb_fixture fx[] = {
		{"new flow, first packet too big", &big, FROM_CLIENT, sent_back(), &big_out,
		 VEER_TX_FRAG_NEEDED},
		{"a small packet of the flow", &small, FROM_CLIENT, XDP_REDIRECT, &small_out,
		 VEER_REASON_NONE},
		{"too big again", &big, FROM_CLIENT, sent_back(), &big_out, VEER_TX_FRAG_NEEDED},
		{"UDP, 1500 bytes", &udp, FROM_CLIENT, sent_back(), &udp_out, VEER_TX_FRAG_NEEDED},
	};

	if (!lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	/* The first packet made its flow, with the MTU of the link to the backend. */
	forward_entry_mtu(CLIENT4, 41000, VIP4, 80, IPPROTO_TCP, "vm0", MTU_M, "tcp4 flow");
	forward_entry_mtu(CLIENT4, 41001, VIP4, 53, IPPROTO_UDP, "vm0", MTU_M, "udp4 flow");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_icmp_rl), 1, "one source in the limiter");
}

/* ---- IPv4 without DF: the stack fragments ---- */

LB_TEST(lb_mtu_no_df4)
{
	struct pkt in, out;
	struct pkt_spec s = c2v(CLIENT4, 41010, VIP4, 80, IPPROTO_TCP, 1440);

	s.frag = 0;
	if (!lb_begin() || !mtu_links() ||
	    !lb_vip_single(VIP_TCP4, VIP4, 80, IPPROTO_TCP, &BE_M4) || !build(&in, s, "no DF") ||
	    !build(&out, lb_spec_fwd(s, &BE_M4, false), "no DF out"))
		return;

	struct lb_fixture fx = {"too big, no DF", &in,	FROM_CLIENT,
				XDP_PASS,	  &out, VEER_PASS_MTU_STACK};

	if (lb_fixture_run(&fx))
		ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_icmp_rl), 0, "no ICMP, no token");
}

/* ---- IPv6 ---- */

LB_TEST(lb_mtu_ptb6)
{
	struct pkt big, big_out, small, small_out;
	struct pkt_spec s = c2v(CLIENT6, 41020, VIP6, 80, IPPROTO_TCP, 1460);

	if (!lb_begin() || !mtu_links() ||
	    !lb_vip_single(VIP_TCP6, VIP6, 80, IPPROTO_TCP, &BE_M6) ||
	    !build(&big, s, "tcp6 1460") || !answer(&big_out, &big, VIP6, CLIENT6, MTU_M, "answer"))
		return;
	s.payload = 32;
	if (!build(&small, s, "tcp6 small") ||
	    !build(&small_out, fwd_via(s, &BE_M6, MAC_VM0), "tcp6 small out"))
		return;
	/* 40 + 8 + the first 1232 bytes of the 1460: the IPv6 minimum MTU exactly. */
	ASSERT_EQ(big_out.len, ETH_HLEN + 1280, "answer length");

	struct lb_fixture fx[] = {
		{"tcp6 too big", &big, FROM_CLIENT, sent_back(), &big_out, VEER_TX_FRAG_NEEDED},
		{"tcp6 small", &small, FROM_CLIENT, XDP_REDIRECT, &small_out, VEER_REASON_NONE},
	};

	if (lb_fixtures_run(fx, ARRAY_LEN(fx)))
		forward_entry_mtu(CLIENT6, 41020, VIP6, 80, IPPROTO_TCP, "vm0", MTU_M, "tcp6 flow");
}

/* ---- the edge: exactly the MTU is forwarded, one byte more is answered ---- */

LB_TEST(lb_mtu_exact)
{
	struct pkt in4, out4, over4, over4_out, in6, out6, over6, over6_out;
	struct pkt_spec s;
	bool ok;

	if (!lb_begin() || !mtu_links() ||
	    !lb_vip_single(VIP_TCP4, VIP4, 80, IPPROTO_TCP, &BE_M4) ||
	    !lb_vip_single(VIP_TCP6, VIP6, 80, IPPROTO_TCP, &BE_M6))
		return;
	s = c2v(CLIENT4, 41040, VIP4, 80, IPPROTO_TCP, MTU_M);
	ok = build(&in4, s, "1280") && build(&out4, fwd_via(s, &BE_M4, MAC_VM0), "1280 out");
	s = c2v(CLIENT4, 41040, VIP4, 80, IPPROTO_TCP, MTU_M + 1);
	ok &= build(&over4, s, "1281") && answer(&over4_out, &over4, VIP4, CLIENT4, MTU_M, "1281");
	s = c2v(CLIENT6, 41040, VIP6, 80, IPPROTO_TCP, MTU_M);
	ok &= build(&in6, s, "v6 1280") && build(&out6, fwd_via(s, &BE_M6, MAC_VM0), "v6 out");
	s = c2v(CLIENT6, 41040, VIP6, 80, IPPROTO_TCP, MTU_M + 1);
	ok &= build(&over6, s, "v6 1281") &&
	      answer(&over6_out, &over6, VIP6, CLIENT6, MTU_M, "v6 1281");
	if (!ok)
		return;

	struct lb_fixture fx[] = {
		{"IPv4, exactly the MTU", &in4, FROM_CLIENT, XDP_REDIRECT, &out4, VEER_REASON_NONE},
		{"IPv4, one byte more", &over4, FROM_CLIENT, sent_back(), &over4_out,
		 VEER_TX_FRAG_NEEDED},
		{"IPv6, exactly the MTU", &in6, FROM_CLIENT, XDP_REDIRECT, &out6, VEER_REASON_NONE},
		{"IPv6, one byte more", &over6, FROM_CLIENT, sent_back(), &over6_out,
		 VEER_TX_FRAG_NEEDED},
	};

	lb_fixtures_run(fx, ARRAY_LEN(fx));
}

/* ---- a datagram shorter than the longest quote is quoted whole, and only it ---- */

LB_TEST(lb_mtu_short_quote)
{
	struct pkt fits, fits_out, big, big_out;
	struct pkt_spec s;

	if (!lb_begin() || !mtu_links() ||
	    !lb_vip_single(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, &BE_S4))
		return;
	s = c2v(CLIENT4, 41050, VIP4_2, 80, IPPROTO_TCP, MTU_S);
	if (!build(&fits, s, "500") || !build(&fits_out, fwd_via(s, &BE_S4, MAC_VS0), "500 out"))
		return;
	/* 540 bytes of datagram, then 10 bytes of trailer in the frame that are not part of it. */
	s = c2v(CLIENT4, 41050, VIP4_2, 80, IPPROTO_TCP, 540);
	s.pad = 10;
	if (!build(&big, s, "540") || !answer(&big_out, &big, VIP4_2, CLIENT4, MTU_S, "answer"))
		return;
	ASSERT_EQ(big_out.len, ETH_HLEN + 20 + 8 + 540, "answer length");

	struct lb_fixture fx[] = {
		{"exactly the 500-byte MTU", &fits, FROM_CLIENT, XDP_REDIRECT, &fits_out,
		 VEER_REASON_NONE},
		{"540 bytes, quoted whole", &big, FROM_CLIENT, sent_back(), &big_out,
		 VEER_TX_FRAG_NEEDED},
	};

	lb_fixtures_run(fx, ARRAY_LEN(fx));
}

/* ---- reply direction: the backend's packet is too big for the way to the client ---- */

LB_TEST(lb_mtu_reply)
{
	struct pkt r4, r4_out, r6, r6_out;
	bool ok;

	/* Backends behind vb0 (1500): a 1600-byte reply does not fit vc0 (1500) to the client. */
	ok = lb_begin() && lb_vips_basic() &&
	     build(&r4, b2c(&BE_TCP4, CLIENT4, 40000, IPPROTO_TCP, 1600), "reply4") &&
	     answer(&r4_out, &r4, VIP4, BE_TCP4.addr, 1500, "reply4 answer") &&
	     build(&r6, b2c(&BE_TCP6, CLIENT6, 40000, IPPROTO_TCP, 1600), "reply6") &&
	     answer(&r6_out, &r6, VIP6, BE_TCP6.addr, 1500, "reply6 answer");
	if (!ok)
		return;

	struct lb_fixture fx[] = {
		{"tcp4 forward", &P.tcp4, FROM_CLIENT, XDP_REDIRECT, &P.tcp4_out, VEER_REASON_NONE},
		{"tcp4 reply too big", &r4, FROM_BACKEND, sent_back(), &r4_out,
		 VEER_TX_FRAG_NEEDED},
		{"tcp4 reply that fits", &P.tcp4_reply, FROM_BACKEND, XDP_REDIRECT,
		 &P.tcp4_reply_out, VEER_REASON_NONE},
		{"tcp6 forward", &P.tcp6, FROM_CLIENT, XDP_REDIRECT, &P.tcp6_out, VEER_REASON_NONE},
		{"tcp6 reply too big", &r6, FROM_BACKEND, sent_back(), &r6_out,
		 VEER_TX_FRAG_NEEDED},
		{"tcp6 reply that fits", &P.tcp6_reply, FROM_BACKEND, XDP_REDIRECT,
		 &P.tcp6_reply_out, VEER_REASON_NONE},
	};

	lb_fixtures_run(fx, ARRAY_LEN(fx));
}

/* ---- MTU 0: the hop was resolved without one; nothing is too big for it ---- */

LB_TEST(lb_mtu_unknown)
{
	struct pkt small, small_out, big, big_out;
	struct veer_flow f;
	struct pkt_spec s = c2v(CLIENT4, 41060, VIP4, 80, IPPROTO_TCP, 1440);

	if (!lb_begin() || !mtu_links() ||
	    !lb_vip_single(VIP_TCP4, VIP4, 80, IPPROTO_TCP, &BE_M4) || !build(&big, s, "1440") ||
	    !build(&big_out, fwd_via(s, &BE_M4, MAC_VM0), "1440 out"))
		return;
	s.payload = 32;
	if (!build(&small, s, "small") || !build(&small_out, fwd_via(s, &BE_M4, MAC_VM0), "out"))
		return;

	struct lb_fixture fx[] = {
		{"small packet, the flow is made", &small, FROM_CLIENT, XDP_REDIRECT, &small_out,
		 VEER_REASON_NONE},
		{"1440 bytes, no MTU known", &big, FROM_CLIENT, XDP_REDIRECT, &big_out,
		 VEER_REASON_NONE},
	};

	if (!lb_fixture_run(&fx[0]) || !lb_flow_get(CLIENT4, 41060, VIP4, 80, IPPROTO_TCP, &f))
		return;
	if (ASSERT_TRUE(lb_backend_hop_set_mtu(f.backend_id, 0), "clear the backend hop's MTU"))
		lb_fixture_run(&fx[1]);
}

/*
 * No neighbour yet: the packet is rewritten and left to the stack, but the egress interface's
 * MTU is known; too big with DF, veer answers from the packet as the client sent it (the
 * stack's own error would quote the backend's address, which the client cannot match).
 */
LB_TEST(lb_mtu_no_neigh)
{
	struct pkt small, small_out, big, big_out, nodf, nodf_out;
	struct veer_flow f;
	struct veer_hop h;
	struct pkt_spec s = c2v(CLIENT4, 41070, VIP4, 80, IPPROTO_TCP, 1440);
	bool ok;

	if (!lb_begin() || !mtu_links() ||
	    !lb_vip_single(VIP_TCP4, VIP4, 80, IPPROTO_TCP, &BE_M4_NONEIGH))
		return;
	ok = build(&big, s, "1440") && answer(&big_out, &big, VIP4, CLIENT4, MTU_M, "answer");
	s.payload = 32;
	ok &= build(&small, s, "small") &&
	      build(&small_out, lb_spec_fwd(s, &BE_M4_NONEIGH, false), "small out");
	s.payload = 1440;
	s.frag = 0; /* no DF */
	s.sport = 41071;
	ok &= build(&nodf, s, "1440 without DF") &&
	      build(&nodf_out, lb_spec_fwd(s, &BE_M4_NONEIGH, false), "1440 without DF out");
	if (!ok)
		return;

	struct lb_fixture fx[] = {
		{"small packet: rewritten, to the stack", &small, FROM_CLIENT, XDP_PASS, &small_out,
		 VEER_PASS_STACK},
		{"too big with DF: answered", &big, FROM_CLIENT, sent_back(), &big_out,
		 VEER_TX_FRAG_NEEDED},
		{"too big without DF: rewritten, the stack fragments", &nodf, FROM_CLIENT, XDP_PASS,
		 &nodf_out, VEER_PASS_MTU_STACK},
	};

	if (!lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	if (ASSERT_TRUE(lb_flow_get(CLIENT4, 41071, VIP4, 80, IPPROTO_TCP, &f), "flow") &&
	    ASSERT_TRUE(lb_backend_hop(f.backend_id, &h), "backend hop") &&
	    ASSERT_EQ(h.ifindex, 0, "no next hop cached"))
		ASSERT_EQ(h.mtu, MTU_M, "the MTU of the interface is known");
}

/* ---- rate limit per source ---- */

static int rl_set(const char *addr, __u64 tat)
{
	struct veer_icmp_rl_key k = {};
	struct veer_icmp_rl v = {.tat = tat};

	k.family = lb_addr_parse(addr, &k.addr);
	return bpf_map__update_elem(lb_env.skel->maps.veer_icmp_rl, &k, sizeof(k), &v, sizeof(v),
				    BPF_ANY);
}

static void rl_del(const char *addr)
{
	struct veer_icmp_rl_key k = {};

	k.family = lb_addr_parse(addr, &k.addr);
	bpf_map__delete_elem(lb_env.skel->maps.veer_icmp_rl, &k, sizeof(k), 0);
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * One source's burst: icmp_burst answers back to back, then the next is refused. Timed: the
 * bucket earns a token every 1/icmp_rate s, so the run counts only if it took less than half
 * of that (tried again otherwise, a loaded machine can stall a run).
 */
static bool burst_run(struct pkt *big, struct pkt *answer_frame)
{
	__u32 rate = lb_env.skel->rodata->icmp_rate, burst = lb_env.skel->rodata->icmp_burst;
	__u64 interval = 1000000000ULL / rate, t0, t1;
	__u64 before[VEER_REASON_MAX], after[VEER_REASON_MAX];
	__u32 answered = 0, limited = 0, retval;
	struct pkt got;

	for (int attempt = 0; attempt < 5; attempt++) {
		bool last_untouched;

		rl_del(CLIENT4);
		answered = limited = 0;
		lb_reasons_read(before);
		t0 = mono_ns();
		for (__u32 i = 0; i <= burst; i++) {
			if (lb_prog_run(big, FROM_CLIENT, &got, &retval))
				return veer_test_fail(__FILE__, __LINE__, "BPF_PROG_RUN failed");
			if (retval == sent_back() && got.len == answer_frame->len &&
			    !memcmp(got.data, answer_frame->data, got.len))
				answered++;
			else if (retval == XDP_DROP)
				limited++;
		}
		t1 = mono_ns();
		lb_reasons_read(after);
		last_untouched = got.len == big->len && !memcmp(got.data, big->data, big->len);
		if (t1 - t0 >= interval / 2)
			continue;
		return ASSERT_EQ(answered, burst, "answers in one burst") &&
		       ASSERT_EQ(limited, 1, "refused after the burst") &&
		       ASSERT_TRUE(last_untouched, "the refused packet is dropped untouched") &&
		       ASSERT_EQ(after[VEER_TX_FRAG_NEEDED] - before[VEER_TX_FRAG_NEEDED], burst,
				 "frag_needed counted") &&
		       ASSERT_EQ(after[VEER_DROP_ICMP_LIMIT] - before[VEER_DROP_ICMP_LIMIT], 1,
				 "icmp_limit counted");
	}
	return veer_test_fail(__FILE__, __LINE__, "no burst ran within %llu ns",
			      (unsigned long long)interval / 2);
}

LB_TEST(lb_mtu_rate_limit)
{
	struct pkt big, big_out, other, other_out;

	if (!lb_begin() || !mtu_links() ||
	    !lb_vip_single(VIP_TCP4, VIP4, 80, IPPROTO_TCP, &BE_M4) ||
	    !build(&big, c2v(CLIENT4, 41070, VIP4, 80, IPPROTO_TCP, 1440), "1440") ||
	    !answer(&big_out, &big, VIP4, CLIENT4, MTU_M, "answer") ||
	    !build(&other, c2v(CLIENT4_2, 41070, VIP4, 80, IPPROTO_TCP, 1440), "other source") ||
	    !answer(&other_out, &other, VIP4, CLIENT4_2, MTU_M, "other answer"))
		return;
	/* The defaults, as loaded: the test runs against what ships. */
	ASSERT_EQ(lb_env.skel->rodata->icmp_rate, 100, "icmp_rate");
	ASSERT_EQ(lb_env.skel->rodata->icmp_burst, 100, "icmp_burst");

	struct lb_fixture fx[] = {
		{"bucket empty: refused", &big, FROM_CLIENT, XDP_DROP, NULL, VEER_DROP_ICMP_LIMIT},
		{"another source is answered", &other, FROM_CLIENT, sent_back(), &other_out,
		 VEER_TX_FRAG_NEEDED},
		{"bucket full again: answered", &big, FROM_CLIENT, sent_back(), &big_out,
		 VEER_TX_FRAG_NEEDED},
	};

	if (!burst_run(&big, &big_out))
		return;
	/* Deterministic: a bucket that will be empty for an hour, then one idle long enough. */
	if (!ASSERT_OK(rl_set(CLIENT4, mono_ns() + 3600ULL * 1000000000ULL), "empty the bucket") ||
	    !lb_fixtures_run(fx, 2))
		return;
	if (ASSERT_OK(rl_set(CLIENT4, 0), "fill the bucket"))
		lb_fixture_run(&fx[2]);
}

/*
 * ---- live: a real TCP sender, through the program attached to interfaces ----
 *
 * BPF_PROG_RUN shows the bytes; this shows that a kernel takes them. A client namespace sends
 * a TCP stream to the VIP over a veth (lc1 -> lc0); the backend's namespace sits behind lb0,
 * whose MTU is 1280 while the backend's own end, lb1, has 1500, so that the backend offers an
 * MSS of 1460 and the client sends segments of 1500 bytes, which veer cannot forward. The
 * client's TCP must learn the path MTU from veer's answer (IP_MTU reads 1280 afterwards) and
 * the whole stream must arrive. Each side is a forked child that made its own namespace.
 *
 * At tc it runs twice. With the veth's offloads on (the default, and every container's), the
 * client's segments reach veer as GSO skbs with CHECKSUM_PARTIAL: the MTU check must look at
 * the segments, and the answer leaves as a CHECKSUM_PARTIAL skb, which the client's stack
 * takes as verified. With transmit checksumming off, the packets carry full checksums and
 * the answer is CHECKSUM_NONE: the client's stack verifies our checksum. At XDP the client
 * and backend send full checksums (a partial one would not survive XDP_REDIRECT, ctx.h) and
 * the answer is an XDP frame, CHECKSUM_NONE on arrival, verified likewise.
 */
static const __u8 MAC_LC0[6] = {0x02, 0, 0, 0, 0x31, 0x01};
static const __u8 MAC_LC1[6] = {0x02, 0, 0, 0, 0x31, 0x02};
static const __u8 MAC_LB0[6] = {0x02, 0, 0, 0, 0x32, 0x01};
static const __u8 MAC_LB1[6] = {0x02, 0, 0, 0, 0x32, 0x02};
static const struct be_def BE_LIVE = {27, "198.18.32.2", 8080, MAC_LB1};

#define LIVE_CLIENT "198.18.31.2"
#define LIVE_BYTES  (256 * 1024)
#define LIVE_MS	    10000

struct live_child {
	pid_t pid;
	int in, out; /* the parent's ends: to the child, from the child */
};

struct live_result {
	int err; /* errno of the step that failed, or 0 */
	__u32 mtu;
	__u32 bytes;
};

static bool fd_wait(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1;
}

static bool read_full(int fd, void *buf, size_t len, int ms)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n;

		if (!fd_wait(fd, ms))
			return false;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return false;
		got += n;
	}
	return true;
}

static int tcp_socket(void)
{
	struct timeval tv = {.tv_sec = LIVE_MS / 1000};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

/* The backend: takes one connection, counts what arrives until EOF, says how much. */
static struct live_result live_server(int out)
{
	struct live_result r = {};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(BE_LIVE.port)};
	int one = 1, lfd = tcp_socket(), fd;
	char buf[16384];
	ssize_t n;

	inet_pton(AF_INET, BE_LIVE.addr, &a.sin_addr);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1)) {
		r.err = errno;
		return r;
	}
	if (write(out, "l", 1) != 1 || !fd_wait(lfd, LIVE_MS) ||
	    (fd = accept(lfd, NULL, NULL)) < 0) {
		r.err = errno ? errno : ETIMEDOUT;
		return r;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		r.bytes += n;
	if (n < 0 || write(fd, &r.bytes, sizeof(r.bytes)) != sizeof(r.bytes))
		r.err = errno ? errno : EIO;
	close(fd);
	return r;
}

/* The client: sends the stream to the VIP, reads the backend's count and its path MTU. */
static struct live_result live_client(int out)
{
	static char buf[LIVE_BYTES];
	struct live_result r = {};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
	socklen_t len = sizeof(r.mtu);
	int fd = tcp_socket();
	size_t sent = 0;

	(void)out;
	memset(buf, 0x5a, sizeof(buf));
	inet_pton(AF_INET, VIP4, &a.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		r.err = errno;
		return r;
	}
	while (sent < sizeof(buf)) {
		ssize_t n = write(fd, buf + sent, sizeof(buf) - sent);

		if (n <= 0) {
			r.err = errno ? errno : EIO;
			return r;
		}
		sent += n;
	}
	shutdown(fd, SHUT_WR);
	if (read(fd, &r.bytes, sizeof(r.bytes)) != sizeof(r.bytes))
		r.err = errno ? errno : EIO;
	if (getsockopt(fd, IPPROTO_IP, IP_MTU, &r.mtu, &len))
		r.err = errno;
	close(fd);
	return r;
}

/*
 * A child in a network namespace of its own: says 'r' once there, waits for 'g' (its side is
 * configured), runs body and writes its result. Exits with the parent's pipe closed.
 */
static bool live_fork(struct live_child *c, struct live_result (*body)(int out))
{
	int to[2], from[2];
	char ch;

	if (pipe(to) || pipe(from))
		return veer_test_fail(__FILE__, __LINE__, "pipe: %s", strerror(errno));
	c->pid = fork();
	if (c->pid < 0)
		return veer_test_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
	if (!c->pid) {
		struct live_result r;

		close(to[1]);
		close(from[0]);
		alarm(3 * LIVE_MS / 1000);
		signal(SIGPIPE, SIG_IGN);
		if (unshare(CLONE_NEWNET) || write(from[1], "r", 1) != 1 ||
		    !read_full(to[0], &ch, 1, 2 * LIVE_MS))
			_exit(1);
		r = body(from[1]);
		_exit(write(from[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(to[0]);
	close(from[1]);
	c->in = to[1];
	c->out = from[0];
	return ASSERT_TRUE(read_full(c->out, &ch, 1, LIVE_MS) && ch == 'r', "child namespace");
}

static void live_reap(struct live_child *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->in);
	close(c->out);
	c->pid = 0;
}

static bool live_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool live_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return lb_shell(cmd);
}

static const char *mac_s(const __u8 *m, char *b)
{
	sprintf(b, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return b;
}

/* One side: veth DEV (here, address LOCAL) to PEER in the namespace of child pid. */
static bool live_link(const char *dev, const __u8 *dmac, int dmtu, const char *peer,
		      const __u8 *pmac, pid_t pid, const char *local, const char *remote,
		      const char *peer_ethtool)
{
	char m1[18], m2[18];

	return live_sh("ip link add %s address %s mtu %d type veth peer name %s address %s", dev,
		       mac_s(dmac, m1), dmtu, peer, mac_s(pmac, m2)) &&
	       live_sh("ip link set dev %s netns %d && ip link set dev %s up", peer, pid, dev) &&
	       live_sh("ip addr add %s/24 dev %s", local, dev) &&
	       live_sh("ip neigh replace %s lladdr %s dev %s nud permanent", remote, m2, dev) &&
	       live_sh("nsenter -t %d -n sh -c 'ip link set lo up && ip link set %s up && "
		       "ip addr add %s/24 dev %s && ip route add default via %s && "
		       "ip neigh replace %s lladdr %s dev %s nud permanent'",
		       pid, peer, remote, peer, local, local, m1, peer) &&
	       (!peer_ethtool ||
		live_sh("nsenter -t %d -n ethtool -K %s %s >/dev/null", pid, peer, peer_ethtool));
}

static bool live_attach(const char *dev)
{
	int idx = if_nametoindex(dev), err;

	if (lb_env.hook == LB_XDP) {
		err = bpf_xdp_attach(idx, lb_env.prog_fd[LB_XDP], XDP_FLAGS_DRV_MODE, NULL);
	} else {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = idx, .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = lb_env.prog_fd[LB_TC]);

		err = bpf_tc_hook_create(&hook);
		if (!err || err == -EEXIST)
			err = bpf_tc_attach(&hook, &opts);
	}
	return ASSERT_OK(err, dev);
}

/*
 * An XDP program that passes everything, on dev in the namespace of child pid. A veth sends
 * its XDP_TX frames into its peer's ring but wakes the peer up only if the peer runs an XDP
 * program itself (veth_xdp_flush()): without one, an answer waits there for the next frame.
 */
static bool live_xdp_pass(pid_t pid, const char *dev)
{
	static struct bench_empty *pass;
	int self = open("/proc/self/ns/net", O_RDONLY), ns, idx, err = -ENOENT;
	char path[64];

	if (!pass)
		pass = bench_empty__open_and_load();
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	ns = open(path, O_RDONLY);
	if (pass && self >= 0 && ns >= 0 && !setns(ns, CLONE_NEWNET)) {
		idx = if_nametoindex(dev);
		err = idx ? bpf_xdp_attach(idx, bpf_program__fd(pass->progs.bench_empty),
					   XDP_FLAGS_DRV_MODE, NULL)
			  : -ENODEV;
		if (setns(self, CLONE_NEWNET))
			err = -errno;
	}
	if (self >= 0)
		close(self);
	if (ns >= 0)
		close(ns);
	return ASSERT_OK(err, "XDP_PASS program on the peer");
}

/*
 * One run; client_ethtool and backend_ethtool are `ethtool -K` settings for the veth ends in
 * the client's and backend's namespaces (NULL: the defaults).
 */
static void live_run(const char *what, const char *client_ethtool, const char *backend_ethtool)
{
	__u64 before[VEER_REASON_MAX], after[VEER_REASON_MAX];
	struct live_child srv = {}, cli = {};
	struct live_result rs = {}, rc = {};
	char w[160], ch;
	bool ok;

	rl_del(LIVE_CLIENT);
	lb_reasons_read(before);
	ok = live_fork(&srv, live_server) && live_fork(&cli, live_client) &&
	     live_link("lb0", MAC_LB0, MTU_M, "lb1", MAC_LB1, srv.pid, "198.18.32.1", BE_LIVE.addr,
		       backend_ethtool) &&
	     live_link("lc0", MAC_LC0, 1500, "lc1", MAC_LC1, cli.pid, "198.18.31.1", LIVE_CLIENT,
		       client_ethtool) &&
	     live_sh("nsenter -t %d -n ip link set lb1 mtu 1500", srv.pid) && live_attach("lc0") &&
	     live_attach("lb0") &&
	     (lb_env.hook == LB_TC ||
	      (live_xdp_pass(cli.pid, "lc1") && live_xdp_pass(srv.pid, "lb1")));
	/* The server binds once its address exists, the client connects once the server listens. */
	ok = ok && ASSERT_TRUE(write(srv.in, "g", 1) == 1, "start the server") &&
	     ASSERT_TRUE(read_full(srv.out, &ch, 1, LIVE_MS) && ch == 'l', "server listening") &&
	     ASSERT_TRUE(write(cli.in, "g", 1) == 1, "start the client");
	if (ok) {
		snprintf(w, sizeof(w), "%s: client result", what);
		if (ASSERT_TRUE(read_full(cli.out, &rc, sizeof(rc), 2 * LIVE_MS), w)) {
			snprintf(w, sizeof(w), "%s: client error", what);
			ASSERT_OK(rc.err, w);
			snprintf(w, sizeof(w), "%s: the backend got the whole stream", what);
			ASSERT_EQ(rc.bytes, LIVE_BYTES, w);
			snprintf(w, sizeof(w), "%s: the client's path MTU", what);
			ASSERT_EQ(rc.mtu, MTU_M, w);
		}
		snprintf(w, sizeof(w), "%s: server result", what);
		if (ASSERT_TRUE(read_full(srv.out, &rs, sizeof(rs), LIVE_MS), w)) {
			snprintf(w, sizeof(w), "%s: server error", what);
			ASSERT_OK(rs.err, w);
		}
		lb_reasons_read(after);
		snprintf(w, sizeof(w), "%s: frag_needed sent", what);
		ASSERT_TRUE(after[VEER_TX_FRAG_NEEDED] > before[VEER_TX_FRAG_NEEDED], w);
		snprintf(w, sizeof(w), "%s: nothing dropped for the MTU", what);
		ASSERT_EQ(after[VEER_DROP_MTU] + after[VEER_DROP_ICMP_LIMIT],
			  before[VEER_DROP_MTU] + before[VEER_DROP_ICMP_LIMIT], w);
	}
	live_reap(&cli);
	live_reap(&srv);
	/* Deleting one end deletes the pair, and the programs attached to it. */
	system("ip link del lc0 2>/dev/null; ip link del lb0 2>/dev/null");
}

LB_TEST(lb_mtu_live)
{
	if (!lb_begin() || !lb_vip_single(VIP_TCP4, VIP4, 80, IPPROTO_TCP, &BE_LIVE))
		return;
	if (lb_env.hook == LB_TC) {
		live_run("tc, offloads on (GSO, CHECKSUM_PARTIAL)", NULL, NULL);
		live_run("tc, transmit checksums off", "tx off", "tx off");
	} else {
		live_run("xdp", "tx off", "tx off");
	}
}

/* ---- fragments: a first fragment is a packet like any other, a later one gets no answer ---- */

LB_TEST(lb_mtu_later_fragment)
{
	struct pkt f4[2], f4_out[2], f4_df, f6[2], f6_out;
	struct pkt_spec s4 = lb_spec_c2v(CLIENT4, 41080, VIP4, 53, IPPROTO_UDP);
	struct pkt_spec s6 = lb_spec_c2v(CLIENT6, 41080, VIP6, 80, IPPROTO_TCP);
	/* First fragments of 1276 and 1280 bytes fit; later ones of 1284 and 1288 do not. */
	__u32 p4 = 1256 + 1264 - 8, p6 = 1232 + 1240 - 20;
	bool ok;

	s4.frag = s6.frag = 0; /* datagrams sent in fragments have DF clear */
	s4.ip_id = 0x1234;
	s6.ip_id = 0x12345678;
	ok = lb_begin() && mtu_links() && lb_vip_single(VIP_UDP4, VIP4, 53, IPPROTO_UDP, &BE_M4U) &&
	     lb_vip_single(VIP_TCP6, VIP6, 80, IPPROTO_TCP, &BE_M6) &&
	     ASSERT_OK(pkt_build_frag(&f4[0], &s4, p4, 0, 1256, true), "v4 first") &&
	     ASSERT_OK(pkt_build_frag(&f4_out[0],
				      (struct pkt_spec[]){fwd_via(s4, &BE_M4U, MAC_VM0)}, p4, 0,
				      1256, true),
		       "v4 first out") &&
	     ASSERT_OK(pkt_build_frag(&f4[1], &s4, p4, 1256, 1264, false), "v4 later") &&
	     ASSERT_OK(pkt_build_frag(&f4_out[1],
				      (struct pkt_spec[]){lb_spec_fwd(s4, &BE_M4U, false)}, p4,
				      1256, 1264, false),
		       "v4 later out") &&
	     ASSERT_OK(pkt_build_frag(&f6[0], &s6, p6, 0, 1232, true), "v6 first") &&
	     ASSERT_OK(pkt_build_frag(&f6_out, (struct pkt_spec[]){fwd_via(s6, &BE_M6, MAC_VM0)},
				      p6, 0, 1232, true),
		       "v6 first out") &&
	     ASSERT_OK(pkt_build_frag(&f6[1], &s6, p6, 1232, 1240, false), "v6 later");
	if (!ok)
		return;
	/* The same later fragment with DF set: it may not be fragmented, and gets no answer. */
	f4_df = f4[1];
	pkt_ip4(&f4_df)->frag_off |= htons(0x4000);
	pkt_ip4_fix_csum(&f4_df);

	struct lb_fixture fx[] = {
		{"IPv4 first fragment, fits", &f4[0], FROM_CLIENT, XDP_REDIRECT, &f4_out[0],
		 VEER_REASON_NONE},
		{"IPv4 later fragment, too big, no DF", &f4[1], FROM_CLIENT, XDP_PASS, &f4_out[1],
		 VEER_PASS_MTU_STACK},
		{"IPv4 later fragment, too big, DF", &f4_df, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_MTU},
		{"IPv6 first fragment, fits", &f6[0], FROM_CLIENT, XDP_REDIRECT, &f6_out,
		 VEER_REASON_NONE},
		{"IPv6 later fragment, too big", &f6[1], FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_MTU},
	};

	if (lb_fixtures_run(fx, ARRAY_LEN(fx)))
		ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_icmp_rl), 0, "no answer, no token");
}
