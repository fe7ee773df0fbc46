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
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include "lb_harness.h"

static const char *const reason_names[VEER_REASON_MAX] = VEER_REASON_NAMES;

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

/* ---- the two small-MTU links ---- */

static bool run(const char *cmd)
{
	int rc = system(cmd);

	if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc))
		return veer_test_fail(__FILE__, __LINE__, "command failed (status %d): %s", rc,
				      cmd);
	return true;
}

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
	static int state; /* 0 not tried, 1 made, -1 failed */

	if (!state) {
		state = 1;
		for (size_t i = 0; state == 1 && i < ARRAY_LEN(cmds); i++)
			if (!run(cmds[i]))
				state = -1;
	}
	return ASSERT_EQ(state, 1, "small-MTU links");
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

/*
 * The answer to frame in: back to whoever sent it (MACs swapped), from `from` (the VIP) to
 * `to`, TTL 64, fragmentation-needed or packet-too-big with mtu, quoting as much of the
 * datagram as fits 576 bytes (IPv4, RFC 1812 4.3.2.3) or 1280 (IPv6, RFC 4443 2.4 (c)).
 */
static bool answer(struct pkt *out, struct pkt *in, const char *from, const char *to, __u32 mtu,
		   const char *what)
{
	struct pkt_spec s = {.saddr = from, .daddr = to, .ttl = 64};
	bool v6 = strchr(from, ':') != NULL;
	size_t dlen, max = v6 ? 1280 - 40 - 8 : 576 - 20 - 8;

	memcpy(s.dmac, in->data + 6, 6);
	memcpy(s.smac, in->data, 6);
	dlen = v6 ? 40 + ntohs(pkt_ip6(in)->payload_len) : ntohs(pkt_ip4(in)->tot_len);
	return ASSERT_OK(pkt_build_icmp_error(out, &s, v6 ? 2 : 3, v6 ? 0 : 4, mtu, in,
					      dlen < max ? dlen : max),
			 what);
}

/* ---- running ---- */

/* How a packet sent back out of its own interface comes back from BPF_PROG_RUN. */
static __u32 sent_back(void)
{
	return lb_env.hook == LB_TC ? XDP_REDIRECT : XDP_TX;
}

/*
 * A fixture whose output is an ICMP answer (reason frag_needed): lb_fixture_run checks TCP/UDP
 * checksums, this checks the ICMP ones. Anything else goes to lb_fixture_run.
 */
static bool mtu_run(const struct lb_fixture *fx)
{
	__u64 before[VEER_REASON_MAX], after[VEER_REASON_MAX];
	char what[160], why[128];
	struct pkt got;
	__u32 retval;
	bool ok;

	if (fx->reason != VEER_TX_FRAG_NEEDED)
		return lb_fixture_run(fx);
	lb_reasons_read(before);
	snprintf(what, sizeof(what), "%s: BPF_PROG_RUN", fx->name);
	if (!ASSERT_OK(lb_prog_run(fx->in, fx->from, &got, &retval), what))
		return false;
	lb_reasons_read(after);
	snprintf(what, sizeof(what), "%s: verdict", fx->name);
	ok = ASSERT_EQ(retval, fx->verdict, what);
	snprintf(what, sizeof(what), "%s: output bytes", fx->name);
	ok &= ASSERT_MEMEQ(got.data, got.len, fx->out->data, fx->out->len, what);
	if (!pkt_icmp_csums_ok(&got, why, sizeof(why)))
		ok = veer_test_fail(__FILE__, __LINE__, "%s: %s", fx->name, why);
	for (int r = 0; r < VEER_REASON_MAX; r++) {
		snprintf(what, sizeof(what), "%s: reason %s counted", fx->name, reason_names[r]);
		ok &= ASSERT_EQ(after[r] - before[r], r == (int)fx->reason, what);
	}
	return ok;
}

static bool mtu_runs(const struct lb_fixture *fx, size_t n)
{
	bool ok = true;

	for (size_t i = 0; i < n; i++)
		ok &= mtu_run(&fx[i]);
	return ok;
}

static bool forward_entry_mtu(const char *client, __u16 cport, const char *vip, __u16 vport,
			      __u8 proto, const char *dev, __u32 mtu, const char *what)
{
	struct veer_flow f;

	return ASSERT_TRUE(lb_flow_get(client, cport, vip, vport, proto, &f), what) &&
	       ASSERT_EQ(f.ifindex, if_nametoindex(dev), what) && ASSERT_EQ(f.mtu, mtu, what);
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

	if (!mtu_runs(fx, ARRAY_LEN(fx)))
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

	if (mtu_run(&fx))
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

	if (mtu_runs(fx, ARRAY_LEN(fx)))
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

	mtu_runs(fx, ARRAY_LEN(fx));
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

	mtu_runs(fx, ARRAY_LEN(fx));
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

	mtu_runs(fx, ARRAY_LEN(fx));
}

/* ---- MTU 0: the hop was resolved without one; nothing is too big for it ---- */

LB_TEST(lb_mtu_unknown)
{
	struct pkt small, small_out, big, big_out;
	struct veer_flow4_key k = {};
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

	if (!mtu_run(&fx[0]) || !lb_flow_get(CLIENT4, 41060, VIP4, 80, IPPROTO_TCP, &f))
		return;
	f.mtu = 0;
	inet_pton(AF_INET, CLIENT4, &k.saddr);
	inet_pton(AF_INET, VIP4, &k.daddr);
	k.sport = htons(41060);
	k.dport = htons(80);
	k.proto = IPPROTO_TCP;
	if (ASSERT_OK(bpf_map__update_elem(lb_env.skel->maps.veer_flows4, &k, sizeof(k), &f,
					   sizeof(f), BPF_EXIST),
		      "clear the flow's MTU"))
		mtu_run(&fx[1]);
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
	    !mtu_runs(fx, 2))
		return;
	if (ASSERT_OK(rl_set(CLIENT4, 0), "fill the bucket"))
		mtu_run(&fx[2]);
}
