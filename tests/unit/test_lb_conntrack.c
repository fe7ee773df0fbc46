// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_RUN fixtures of the connection table: one entry per connection that both directions
 * find, reply clashes between VIPs sharing a backend, handshakes kept apart from established
 * connections, idle timeouts set at run time, next hops refreshed. Harness: lb_harness.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <bpf/libbpf.h>
#include <veer/svc_hash.h>
#include "lb_harness.h"

#define TH_SYN	   0x02
#define TH_RST	   0x04
#define TH_ACK_PSH 0x18
#define TH_FIN_ACK 0x11

/* BE_TCP4's address and port in a second slot, serving VIP_SPECIAL (198.18.100.11:80). */
static const struct be_def BE_SHARED = {16, "198.18.11.2", 8080, MAC_BE_A};

static __u64 now_coarse(void)
{
	struct timespec ts;

	/* bpf_ktime_get_coarse_ns() reads this clock. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* One packet, its exact output, its reason: a fixture built from specs. */
static bool run(const char *what, struct pkt_spec in_spec, enum side from, __u32 verdict,
		const struct pkt_spec *out_spec, enum veer_reason reason)
{
	struct pkt in, out;
	struct lb_fixture fx = {what, &in, from, verdict, out_spec ? &out : &in, reason};

	return lb_pkt_build(&in, in_spec, what) &&
	       (!out_spec || lb_pkt_build(&out, *out_spec, what)) && lb_fixture_run(&fx);
}

static bool client_to(const char *what, const char *vip, __u16 cport, __u8 flags,
		      const struct be_def *be)
{
	struct pkt_spec s = lb_spec_c2v(CLIENT4, cport, vip, 80, IPPROTO_TCP);
	struct pkt_spec o;

	s.tcp_flags = flags;
	o = lb_spec_fwd(s, be, true);
	return run(what, s, FROM_CLIENT, XDP_REDIRECT, &o, VEER_REASON_NONE);
}

/* The backend's reply to cport, rewritten to come from vip:80. */
static bool reply_from(const char *what, const struct be_def *be, __u16 cport, const char *vip)
{
	struct pkt_spec s = lb_spec_b2c(be, CLIENT4, cport, IPPROTO_TCP);
	struct pkt_spec o = lb_spec_rev(s, vip, 80);

	return run(what, s, FROM_BACKEND, XDP_REDIRECT, &o, VEER_REASON_NONE);
}

/* Two VIPs whose backends share one address:port (BE_TCP4 and BE_SHARED). */
static bool shared_backend(void)
{
	return lb_begin() && lb_vip_single(VIP_TCP4, VIP4, 80, IPPROTO_TCP, &BE_TCP4) &&
	       lb_vip_single(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, &BE_SHARED);
}

/*
 * The reproducer, on this harness's addresses: a client reuses one source port toward
 * two VIPs that share a backend address:port. The second connection's replies would be the
 * first's: once the first is established, the second is refused (reply_clash) and the first
 * keeps its state; its replies still come from the first VIP. Handshakes do not clash (a SYN
 * may be spoofed): the second is refused when its handshake would complete.
 */
LB_TEST(lb_reply_clash)
{
	struct pkt_spec data_b = lb_spec_c2v(CLIENT4, 46000, VIP4_2, 80, IPPROTO_TCP);
	struct veer_flow f;
	__u64 reasons[VEER_REASON_MAX];

	if (!shared_backend() || !client_to("SYN to VIP A", VIP4, 46000, TH_SYN, &BE_TCP4) ||
	    !client_to("SYN to VIP B, same port: a handshake, no clash yet", VIP4_2, 46000, TH_SYN,
		       &BE_SHARED) ||
	    !client_to("ACK to VIP A: established", VIP4, 46000, TH_ACK_PSH, &BE_TCP4) ||
	    !run("ACK to VIP B, same client port, same backend: refused", data_b, FROM_CLIENT,
		 XDP_DROP, NULL, VEER_DROP_REPLY_CLASH))
		return;
	if (ASSERT_TRUE(lb_flow_get(CLIENT4, 46000, VIP4, 80, IPPROTO_TCP, &f), "first flow"))
		lb_check_forward_entry(&f, VIP_TCP4, &BE_TCP4, true, "first flow");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_flows4), 1, "one connection");
	if (!reply_from("backend reply: from VIP A, not B", &BE_TCP4, 46000, VIP4) ||
	    !run("data to VIP B again: refused", data_b, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_REPLY_CLASH) ||
	    !reply_from("backend reply after: still from VIP A", &BE_TCP4, 46000, VIP4))
		return;
	/* Another port to VIP B shares the backend without a clash; each reply finds its VIP. */
	if (!client_to("VIP B, another port", VIP4_2, 46001, TH_SYN, &BE_SHARED) ||
	    !reply_from("its reply: from VIP B", &BE_SHARED, 46001, VIP4_2) ||
	    !reply_from("VIP A's reply unchanged", &BE_TCP4, 46000, VIP4))
		return;
	lb_reasons_read(reasons);
	ASSERT_EQ(reasons[VEER_DROP_REPLY_CLASH], 2, "reply_clash counted");
}

/*
 * What does not hold a port: a handshake the client reset (its kernel answering a SYN-ACK to a
 * spoofed SYN), and a connection closed by a FIN. Both are closing: the same client port to
 * the sibling VIP connects.
 */
LB_TEST(lb_reply_clash_not_after_close)
{
	if (!shared_backend() || !client_to("SYN to VIP A", VIP4, 46020, TH_SYN, &BE_TCP4) ||
	    !client_to("the client's RST: to A's backend", VIP4, 46020, TH_RST, &BE_TCP4) ||
	    !client_to("SYN to VIP B, same port", VIP4_2, 46020, TH_SYN, &BE_SHARED) ||
	    !client_to("ACK to VIP B: established", VIP4_2, 46020, TH_ACK_PSH, &BE_SHARED) ||
	    !reply_from("its reply: from VIP B", &BE_SHARED, 46020, VIP4_2))
		return;
	if (!client_to("SYN to VIP A, port 46021", VIP4, 46021, TH_SYN, &BE_TCP4) ||
	    !client_to("ACK", VIP4, 46021, TH_ACK_PSH, &BE_TCP4) ||
	    !client_to("FIN", VIP4, 46021, TH_FIN_ACK, &BE_TCP4) ||
	    !client_to("SYN to VIP B, same port", VIP4_2, 46021, TH_SYN, &BE_SHARED) ||
	    !client_to("ACK to VIP B: established", VIP4_2, 46021, TH_ACK_PSH, &BE_SHARED))
		return;
	reply_from("its reply: from VIP B", &BE_SHARED, 46021, VIP4_2);
}

/* A clash needs a live flow: once the first is idle past its timeout, the port is free. */
LB_TEST(lb_reply_clash_idle_first)
{
	struct veer_flow f;

	if (!shared_backend() || !client_to("data to VIP A", VIP4, 46010, TH_ACK_PSH, &BE_TCP4) ||
	    !lb_flow_get(CLIENT4, 46010, VIP4, 80, IPPROTO_TCP, &f))
		return;
	/* Past the timeout and the refresh interval's slack (bpf/lib/conntrack.h). */
	f.last_seen = now_coarse() - VEER_TCP_TIMEOUT_NS - VEER_FLOW_REFRESH_NS - 1000000000ULL;
	if (!lb_flow_put(CLIENT4, 46010, VIP4, 80, IPPROTO_TCP, &f))
		return;
	if (client_to("VIP B, same port, the first flow idle: accepted", VIP4_2, 46010, TH_SYN,
		      &BE_SHARED))
		reply_from("its reply: from VIP B", &BE_SHARED, 46010, VIP4_2);
}

/*
 * Both directions live in one entry: a reply finds the connection without an entry of its own,
 * and a connection without its entry is gone both ways at once (its reply is not rewritten,
 * never half-NATed); the next client packet makes it again and replies follow.
 */
LB_TEST(lb_one_entry_both_directions)
{
	struct pkt_spec r = lb_spec_b2c(&BE_TCP4, CLIENT4, 40000, IPPROTO_TCP);
	struct veer_flow4_key k = {};
	struct veer_flow f;

	if (!lb_begin() || !lb_vips_basic() ||
	    !client_to("data", VIP4, 40000, TH_ACK_PSH, &BE_TCP4) ||
	    !reply_from("reply", &BE_TCP4, 40000, VIP4))
		return;
	ASSERT_EQ(lb_flow_count(), 1, "one entry for both directions");
	/* The cached hop toward the client lost: the next reply resolves it again. */
	if (!ASSERT_TRUE(lb_flow_get(CLIENT4, 40000, VIP4, 80, IPPROTO_TCP, &f), "entry"))
		return;
	memset(&f.reply_hop, 0, sizeof(f.reply_hop));
	f.hop_resolved = 0;
	k.saddr = inet_addr(CLIENT4);
	k.daddr = inet_addr(VIP4);
	k.sport = htons(40000);
	k.dport = htons(80);
	k.proto = IPPROTO_TCP;
	if (!lb_flow_put(CLIENT4, 40000, VIP4, 80, IPPROTO_TCP, &f) ||
	    !reply_from("reply after the hop was lost: still the VIP's", &BE_TCP4, 40000, VIP4))
		return;
	/* The entry evicted: neither direction is rewritten until the client sends again. */
	if (!ASSERT_OK(bpf_map__delete_elem(lb_env.skel->maps.veer_flows4, &k, sizeof(k), 0),
		       "evict the entry") ||
	    !run("reply of an evicted connection: untouched", r, FROM_BACKEND, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP) ||
	    !client_to("the client's next packet: scheduled again", VIP4, 40000, TH_ACK_PSH,
		       &BE_TCP4))
		return;
	reply_from("replies follow again", &BE_TCP4, 40000, VIP4);
}

/*
 * A handshake lives in the handshake table; the client's first packet past it moves it to the
 * connection table. A flood of SYNs filling the (small, in this harness) handshake table evicts
 * handshakes only: established connections keep working both ways.
 */
LB_TEST(lb_syn_flood_spares_established)
{
	const int flood = 5000; /* past the harness's 4096-entry tables */
	struct pkt_spec s = lb_spec_c2v(CLIENT4_2, 1, VIP4, 80, IPPROTO_TCP);
	struct pkt in, out;
	__u32 retval;
	int ok = 0;

	if (!lb_begin() || !lb_vips_basic() || !client_to("SYN", VIP4, 40100, TH_SYN, &BE_TCP4))
		return;
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_syns4), 1, "handshake entry");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_flows4), 0, "no connection yet");
	if (!reply_from("SYN-ACK found through the handshake entry", &BE_TCP4, 40100, VIP4) ||
	    !client_to("ACK: the connection is established", VIP4, 40100, TH_ACK_PSH, &BE_TCP4))
		return;
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_syns4), 0, "handshake entry moved");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_flows4), 1, "connection entry");

	s.tcp_flags = TH_SYN;
	for (int i = 0; i < flood; i++) {
		s.sport = 1 + i % 60000;
		s.saddr = i < flood / 2 ? CLIENT4_2 : OTHER4;
		if (pkt_build(&in, &s) || lb_prog_run(&in, FROM_CLIENT, &out, &retval))
			break;
		ok += retval == XDP_REDIRECT || retval == XDP_PASS;
	}
	ASSERT_EQ(ok, flood, "every flood SYN forwarded");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_flows4), 1, "the connection table untouched");
	if (client_to("established after the flood: forward", VIP4, 40100, TH_ACK_PSH, &BE_TCP4))
		reply_from("established after the flood: reply", &BE_TCP4, 40100, VIP4);
}

/* ---- idle timeouts and refresh ---- */

static bool settings_put(__u64 tcp_ns, __u64 udp_ns)
{
	struct veer_settings s = {.tcp_timeout_ns = tcp_ns, .udp_timeout_ns = udp_ns};
	__u32 zero = 0;

	return ASSERT_OK(bpf_map__update_elem(lb_env.skel->maps.veer_settings, &zero, sizeof(zero),
					      &s, sizeof(s), BPF_ANY),
			 "settings");
}

/* The UDP flow CLIENT4:cport -> VIP4:53, its fields changed by fn. */
static bool udp_flow_edit(__u16 cport, void (*fn)(struct veer_flow *f, __u64 now))
{
	struct veer_flow f;

	if (!ASSERT_TRUE(lb_flow_get(CLIENT4, cport, VIP4, 53, IPPROTO_UDP, &f), "UDP flow"))
		return false;
	fn(&f, now_coarse());
	return lb_flow_put(CLIENT4, cport, VIP4, 53, IPPROTO_UDP, &f);
}

static void idle_6s(struct veer_flow *f, __u64 now)
{
	f->last_seen = now - 6000000000ULL;
}

static void idle_20s(struct veer_flow *f, __u64 now)
{
	f->last_seen = now - 20000000000ULL;
}

static bool udp_to(const char *what, __u16 cport, const struct be_def *be)
{
	struct pkt_spec s = lb_spec_c2v(CLIENT4, cport, VIP4, 53, IPPROTO_UDP);
	struct pkt_spec o = lb_spec_fwd(s, be, true);

	return run(what, s, FROM_CLIENT, XDP_REDIRECT, &o, VEER_REASON_NONE);
}

static bool udp_reply(const char *what, __u16 cport)
{
	struct pkt_spec s = lb_spec_b2c(&BE_UDP4, CLIENT4, cport, IPPROTO_UDP);
	struct pkt_spec o = lb_spec_rev(s, VIP4, 53);

	return run(what, s, FROM_BACKEND, XDP_REDIRECT, &o, VEER_REASON_NONE);
}

/*
 * The UDP timeout set at run time: a flow idle 20 s is kept under the default (120 s) and
 * scheduled again (to whatever the ring says now) under 10 s, without reloading anything.
 */
LB_TEST(lb_timeout_runtime)
{
	struct veer_counters v;

	if (!lb_begin() || !lb_vips_basic() || !lb_add_backend(&BE_B, VIP_UDP4, 100) ||
	    !udp_to("new UDP flow", 41000, &BE_UDP4) || !lb_set_ring_all(VIP_UDP4, BE_B.id) ||
	    !udp_flow_edit(41000, idle_20s) ||
	    !udp_to("idle 20 s, default timeout: kept", 41000, &BE_UDP4))
		return;
	if (!settings_put(0, 10000000000ULL) || !udp_flow_edit(41000, idle_20s) ||
	    !udp_to("idle 20 s, timeout 10 s: scheduled again", 41000, &BE_B))
		return;
	v = lb_counters(lb_env.skel->maps.veer_vip_stats, VIP_UDP4);
	ASSERT_EQ(v.new_flows, 2, "a new flow");
	ASSERT_EQ(lb_flow_count(), 1, "still one entry");
}

/*
 * Server push: a UDP flow whose traffic is replies only stays alive, replies refresh it. With a
 * 10 s timeout, the client silent for 12 s (two replies 6 s apart) keeps its backend.
 */
LB_TEST(lb_udp_replies_keep_flow)
{
	struct veer_flow f;

	if (!lb_begin() || !lb_vips_basic() || !settings_put(0, 10000000000ULL) ||
	    !udp_to("one request", 41010, &BE_UDP4) || !udp_flow_edit(41010, idle_6s) ||
	    !udp_reply("a reply 6 s after the request", 41010) ||
	    !ASSERT_TRUE(lb_flow_get(CLIENT4, 41010, VIP4, 53, IPPROTO_UDP, &f), "flow") ||
	    !ASSERT_TRUE(now_coarse() - f.last_seen < 2000000000ULL, "the reply refreshed it") ||
	    !udp_flow_edit(41010, idle_6s) || !udp_reply("another, 6 s later", 41010))
		return;
	if (!lb_add_backend(&BE_B, VIP_UDP4, 100) || !lb_set_ring_all(VIP_UDP4, BE_B.id))
		return;
	udp_to("the client again: still its backend", 41010, &BE_UDP4);
}

static void stale_hops(struct veer_flow *f, __u64 now)
{
	/* Wrong MACs, resolved long ago: a refresh must replace them. */
	memset(f->reply_hop.dmac, 0xee, 6);
	f->hop_resolved = now - 6000000000ULL;
}

/*
 * Next hops are refreshed every VEER_FLOW_REFRESH_NS: the client's in the flow entry, the
 * backend's per backend and CPU. Stale and wrong, both are resolved again by the next packet.
 */
LB_TEST(lb_hop_refresh)
{
	struct veer_be_hop *hops = NULL;
	__u32 id = BE_UDP4.id;
	__u64 now;

	if (!lb_begin() || !ASSERT_TRUE(hops = calloc(lb_env.ncpus, sizeof(*hops)), "memory") ||
	    !lb_vips_basic() || !udp_to("new UDP flow", 41020, &BE_UDP4) ||
	    !udp_reply("first reply", 41020) || !udp_flow_edit(41020, stale_hops) ||
	    !udp_reply("reply, client hop refreshed", 41020))
		goto out;
	now = now_coarse();
	if (!ASSERT_OK(bpf_map__lookup_elem(lb_env.skel->maps.veer_be_hops, &id, sizeof(id), hops,
					    lb_env.ncpus * sizeof(*hops), 0),
		       "backend hops"))
		goto out;
	for (int c = 0; c < lb_env.ncpus; c++) {
		memset(hops[c].hop.dmac, 0xee, 6);
		hops[c].resolved = now - 6000000000ULL;
	}
	if (ASSERT_OK(bpf_map__update_elem(lb_env.skel->maps.veer_be_hops, &id, sizeof(id), hops,
					   lb_env.ncpus * sizeof(*hops), BPF_ANY),
		      "stale backend hops"))
		udp_to("forward, backend hop refreshed", 41020, &BE_UDP4);
out:
	free(hops);
}

/* ---- veer_svc, the filter in front of the VIP table and the backend index ---- */

/* An address in 198.18.200.0/24 and a port whose veer_svc slot is that of addr:port/proto. */
static bool svc_collision(const char *addr, __u16 port, __u8 proto, char *out, __u16 *out_port)
{
	union veer_addr a, b;
	__u32 want;

	lb_addr_parse(addr, &a);
	want = veer_svc_slot(&a, htons(port), proto);
	for (__u32 host = 1; host < 255; host++) {
		for (__u32 p = 1024; p < 65536; p++) {
			memset(&b, 0, sizeof(b));
			b.v4 = htonl(0xc612c800 | host); /* 198.18.200.host */
			if (veer_svc_slot(&b, htons(p), proto) != want)
				continue;
			inet_ntop(AF_INET, &b.v4, out, INET_ADDRSTRLEN);
			*out_port = p;
			return true;
		}
	}
	return false;
}

/*
 * The filter only says "maybe": a destination sharing a VIP's slot, or a source sharing a
 * backend's, is treated exactly as traffic of neither, martian sources included (rule 5
 * applies to VIP traffic only). A filter bit cleared wrongly would lose a VIP instead: the
 * VIP's and the backend's own packets are checked too.
 */
LB_TEST(lb_svc_filter_is_exact)
{
	struct pkt_spec s;
	char addr[INET_ADDRSTRLEN];
	__u16 port;

	if (!lb_begin() || !lb_vips_basic() ||
	    !ASSERT_TRUE(svc_collision(VIP4, 80, IPPROTO_TCP, addr, &port), "VIP slot collision"))
		return;
	s = lb_spec_c2v(CLIENT4, 40200, addr, port, IPPROTO_TCP);
	if (!run("to an address sharing the VIP's slot: untouched", s, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP))
		return;
	s.saddr = "127.0.0.1";
	if (!run("the same from a martian source: untouched, not a VIP's", s, FROM_CLIENT, XDP_PASS,
		 NULL, VEER_PASS_NOT_VIP))
		return;
	ASSERT_EQ(lb_flow_count(), 0, "no state");
	if (!ASSERT_TRUE(svc_collision(BE_TCP4.addr, BE_TCP4.port, IPPROTO_TCP, addr, &port),
			 "backend slot collision"))
		return;
	s = lb_spec_c2v(addr, port, CLIENT4, 40201, IPPROTO_TCP);
	if (!run("from an address sharing a backend's slot: untouched", s, FROM_BACKEND, XDP_PASS,
		 NULL, VEER_PASS_NOT_VIP))
		return;
	if (client_to("the VIP still takes its traffic", VIP4, 40202, TH_ACK_PSH, &BE_TCP4))
		reply_from("and its backend's replies", &BE_TCP4, 40202, VIP4);
}
