// SPDX-License-Identifier: GPL-2.0
/*
 * The transparent forward proxy (bpf/lib/proxy.h): BPF_PROG_RUN fixtures at both ingress hooks
 * and at the tc egress program, with exact output bytes; then libveer's rules, gate and
 * veer_proxy_origdst() against real maps in a pin directory of the test's own. Harness and
 * topology: lb_harness.h.
 *
 * A proxy on this host is 198.18.1.1 / 2001:2:0:1::1 (vc0's own addresses: the FIB lookup says
 * local, and the packet goes to the stack); a proxy on another host is 198.18.12.2, behind vb0
 * (MAC_BE_B). The servers the clients ask for are addresses of no one: 198.18.100.99 / .98 and
 * 2001:2:0:100::99.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include "lb_harness.h"
#include "ctl_pins.h"
#include "internal.h"
#include <veer/svc_hash.h>

#define LOCAL4	 "198.18.1.1"
#define LOCAL6	 "2001:2:0:1::1"
#define REMOTE4	 "198.18.12.2"
#define SERVER4	 OTHER4
#define SERVER4B "198.18.100.98"
#define SERVER6	 OTHER6
#define CLIENT4B "198.18.2.7" /* in 198.18.0.0/16, not in 198.18.1.0/24 */

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* ---- rules and packets ---- */

/* A rule, written as libveer writes it, and the gate rewritten by libveer's own code. */
static bool rule_add(const char *cidr, __u16 dport, const char *to, __u16 to_port, bool exempt)
{
	struct lb *s = lb_env.skel;
	struct veer_proxy_key k = {};
	struct veer_proxy_rule r = {};
	struct veer_cidr c;

	if (!ASSERT_OK(veer_parse_cidr(cidr, &c), cidr))
		return false;
	k.prefixlen = VEER_PROXY_KEY_BITS + c.len;
	k.port = htons(dport);
	k.family = c.family;
	k.addr = c.addr;
	if (!ASSERT_EQ(lb_addr_parse(to, &r.addr), c.family, to))
		return false;
	r.port = htons(to_port);
	r.flags = exempt ? VEER_PROXY_VIP_EXEMPT : 0;
	return ASSERT_OK(bpf_map__update_elem(s->maps.veer_proxy_rule, &k, sizeof(k), &r, sizeof(r),
					      BPF_ANY),
			 "add rule") &&
	       ASSERT_OK(veer_proxy_gate_sync(s->maps.veer_proxy_rule, s->maps.veer_proxy_gate),
			 "gate") &&
	       ASSERT_OK(veer_proxy_svc_sync(s->maps.veer_vips, s->maps.veer_proxy_rule,
					     s->maps.veer_svc),
			 "VIP slots");
}

static bool conn_get(const char *client, __u16 port, struct veer_proxy_conn *c)
{
	struct veer_proxy_conn_key k = {};

	k.family = lb_addr_parse(client, &k.client);
	k.port = htons(port);
	k.proto = IPPROTO_TCP;
	return !bpf_map__lookup_elem(lb_env.skel->maps.veer_proxy_conn, &k, sizeof(k), c,
				     sizeof(*c), 0);
}

/* The connection from client:port is to orig:oport through proxy:pport, with these flags. */
static bool conn_is(const char *client, __u16 port, const char *orig, __u16 oport,
		    const char *proxy, __u16 pport, __u32 flags, const char *what)
{
	struct veer_proxy_conn c;

	if (!ASSERT_TRUE(conn_get(client, port, &c), what))
		return false;
	return ASSERT_TRUE(lb_addr_eq(&c.orig, orig), what) &&
	       ASSERT_EQ(ntohs(c.orig_port), oport, what) &&
	       ASSERT_TRUE(lb_addr_eq(&c.proxy, proxy), what) &&
	       ASSERT_EQ(ntohs(c.proxy_port), pport, what) && ASSERT_EQ(c.flow.flags, flags, what);
}

/* A client's TCP segment to server:dport with these flags (0: ACK|PSH). */
static struct pkt_spec c2s(const char *client, __u16 sport, const char *server, __u16 dport,
			   __u8 flags)
{
	struct pkt_spec s = lb_spec_c2v(client, sport, server, dport, IPPROTO_TCP);

	s.tcp_flags = flags;
	return s;
}

/* What reaches a proxy on this host: the destination rewritten, all else as it came. */
static struct pkt_spec to_local(struct pkt_spec s, const char *proxy, __u16 port)
{
	s.daddr = proxy;
	s.dport = port;
	return s;
}

/* What reaches the proxy behind vb0: rewritten, and forwarded (MACs, TTL). */
static struct pkt_spec to_remote(struct pkt_spec s, __u16 port)
{
	s.daddr = REMOTE4;
	s.dport = port;
	s.ttl = 63;
	memcpy(s.dmac, MAC_BE_B, 6);
	memcpy(s.smac, MAC_VB0, 6);
	return s;
}

/*
 * A proxy's segment to its client: from the proxy on this host as the stack sends it out of vc0
 * (smac vc0, dmac the client), or from the proxy behind vb0 as it arrives there.
 */
static struct pkt_spec p2c(const char *proxy, __u16 pport, const char *client, __u16 cport,
			   __u8 flags)
{
	struct pkt_spec s = {
		.saddr = proxy,
		.daddr = client,
		.proto = IPPROTO_TCP,
		.sport = pport,
		.dport = cport,
		.tcp_flags = flags,
		.payload = 48,
	};
	bool remote = !strcmp(proxy, REMOTE4);

	if (!strchr(client, ':'))
		s.frag = 0x4000;
	memcpy(s.dmac, remote ? MAC_VB0 : MAC_CLIENT, 6);
	memcpy(s.smac, remote ? MAC_BE_B : MAC_VC0, 6);
	return s;
}

/* The client sees its server: the source rewritten; forwarded by veer for a remote proxy. */
static struct pkt_spec from_server(struct pkt_spec s, const char *server, __u16 port)
{
	bool remote = !strcmp(s.saddr, REMOTE4);

	s.saddr = server;
	s.sport = port;
	if (remote) {
		s.ttl = 63;
		memcpy(s.dmac, MAC_CLIENT, 6);
		memcpy(s.smac, MAC_VC0, 6);
	}
	return s;
}

static bool build2(struct pkt *in, struct pkt *out, struct pkt_spec s, struct pkt_spec o,
		   const char *what)
{
	return lb_pkt_build(in, s, what) && lb_pkt_build(out, o, what);
}

/* Runs fixtures through veer_lb_egress: the tc egress program, over vc0. */
static bool egress_run(const struct lb_fixture *fx, size_t n)
{
	int saved = lb_env.prog_fd[LB_TC];
	enum lb_hook hook = lb_env.hook;
	bool ok;

	lb_env.prog_fd[LB_TC] = bpf_program__fd(lb_env.skel->progs.veer_lb_egress);
	lb_env.hook = LB_TC;
	ok = lb_fixtures_run(fx, n);
	lb_env.prog_fd[LB_TC] = saved;
	lb_env.hook = hook;
	return ok;
}

/* ---- a proxy on this host ---- */

/*
 * The connection's first packets: the SYN makes the connection and goes to the stack for the
 * proxy's socket, the next one finds it and marks it established, a packet of another port of
 * the same client is untouched. The proxy's answers leave through egress, from the server.
 */
LB_TEST(lb_proxy_local4)
{
	struct pkt syn, syn_out, ack, ack_out, other, synack, synack_out, data, data_out;
	struct pkt_spec s;
	bool ok;

	if (!lb_begin())
		return;
	s = c2s(CLIENT4, 40100, SERVER4, 80, TCP_SYN);
	ok = build2(&syn, &syn_out, s, to_local(s, LOCAL4, 3128), "SYN");
	s = c2s(CLIENT4, 40100, SERVER4, 80, 0);
	ok &= build2(&ack, &ack_out, s, to_local(s, LOCAL4, 3128), "ACK");
	ok &= lb_pkt_build(&other, c2s(CLIENT4, 40101, SERVER4, 80, 0), "no connection");
	s = p2c(LOCAL4, 3128, CLIENT4, 40100, TCP_SYN | TCP_ACK);
	ok &= build2(&synack, &synack_out, s, from_server(s, SERVER4, 80), "SYN-ACK");
	s = p2c(LOCAL4, 3128, CLIENT4, 40100, 0);
	ok &= build2(&data, &data_out, s, from_server(s, SERVER4, 80), "data");
	if (!ok || !rule_add("198.18.1.0/24", 80, LOCAL4, 3128, false))
		return;

	struct lb_fixture in[] = {
		{"SYN to the proxy", &syn, FROM_CLIENT, XDP_PASS, &syn_out, VEER_FWD_PROXY},
		{"SYN again", &syn, FROM_CLIENT, XDP_PASS, &syn_out, VEER_FWD_PROXY},
	};
	struct lb_fixture out[] = {
		{"SYN-ACK from the server", &synack, FROM_CLIENT, XDP_PASS, &synack_out,
		 VEER_FWD_PROXY_REPLY},
	};
	struct lb_fixture in2[] = {
		{"ACK to the proxy", &ack, FROM_CLIENT, XDP_PASS, &ack_out, VEER_FWD_PROXY},
		/* Past a SYN, a segment with no connection of its own is not the proxy's. */
		{"segment of no connection", &other, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
	};
	struct lb_fixture out2[] = {
		{"data from the server", &data, FROM_CLIENT, XDP_PASS, &data_out,
		 VEER_FWD_PROXY_REPLY},
	};
	if (!lb_fixtures_run(in, ARRAY_LEN(in)) ||
	    !conn_is(CLIENT4, 40100, SERVER4, 80, LOCAL4, 3128, 0, "after the SYN"))
		return;
	if (!egress_run(out, ARRAY_LEN(out)) || !lb_fixtures_run(in2, ARRAY_LEN(in2)) ||
	    !egress_run(out2, ARRAY_LEN(out2)))
		return;
	conn_is(CLIENT4, 40100, SERVER4, 80, LOCAL4, 3128, VEER_PROXY_ESTABLISHED, "established");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_proxy_conn), 1, "one connection");
	ASSERT_EQ(lb_flow_count(), 0, "nothing in the load balancer's tables");
}

/* The hop toward a proxy on this host is none: the stack delivers the packet. */
LB_TEST(lb_proxy_local_hop)
{
	struct pkt syn, syn_out;
	struct veer_proxy_conn c;
	struct pkt_spec s = c2s(CLIENT4, 40102, SERVER4, 80, TCP_SYN);
	struct lb_fixture fx = {"SYN", &syn, FROM_CLIENT, XDP_PASS, &syn_out, VEER_FWD_PROXY};

	if (!lb_begin() || !build2(&syn, &syn_out, s, to_local(s, LOCAL4, 3128), "SYN") ||
	    !rule_add("198.18.1.0/24", 80, LOCAL4, 3128, false) || !lb_fixture_run(&fx))
		return;
	if (ASSERT_TRUE(conn_get(CLIENT4, 40102, &c), "connection")) {
		ASSERT_EQ(c.proxy_hop.ifindex, 0, "no next hop: the stack");
		ASSERT_NEQ(c.proxy_hop_resolved, 0, "resolved");
		ASSERT_EQ(c.flow.hop_resolved, 0, "no hop toward the client yet");
	}
}

/* ---- a proxy behind another interface ---- */

LB_TEST(lb_proxy_remote4)
{
	struct pkt syn, syn_out, back, back_out, fin, fin_out;
	struct veer_proxy_conn c;
	struct pkt_spec s;
	bool ok;

	if (!lb_begin())
		return;
	s = c2s(CLIENT4, 40110, SERVER4, 80, TCP_SYN);
	ok = build2(&syn, &syn_out, s, to_remote(s, 3128), "SYN");
	s = p2c(REMOTE4, 3128, CLIENT4, 40110, TCP_SYN | TCP_ACK);
	ok &= build2(&back, &back_out, s, from_server(s, SERVER4, 80), "SYN-ACK");
	s = p2c(REMOTE4, 3128, CLIENT4, 40110, TCP_FIN | TCP_ACK);
	ok &= build2(&fin, &fin_out, s, from_server(s, SERVER4, 80), "FIN");
	if (!ok || !rule_add("198.18.1.0/24", 80, REMOTE4, 3128, false))
		return;

	struct lb_fixture fx[] = {
		{"SYN redirected to the proxy", &syn, FROM_CLIENT, XDP_REDIRECT, &syn_out,
		 VEER_FWD_PROXY},
		{"SYN-ACK back to the client", &back, FROM_BACKEND, XDP_REDIRECT, &back_out,
		 VEER_FWD_PROXY_REPLY},
		{"FIN back to the client", &fin, FROM_BACKEND, XDP_REDIRECT, &fin_out,
		 VEER_FWD_PROXY_REPLY},
	};
	if (!lb_fixtures_run(fx, ARRAY_LEN(fx)) ||
	    !ASSERT_TRUE(conn_get(CLIENT4, 40110, &c), "connection"))
		return;
	ASSERT_EQ(c.proxy_hop.ifindex, lb_env.ifindex[FROM_BACKEND], "hop toward the proxy");
	ASSERT_MEMEQ(c.proxy_hop.dmac, 6, MAC_BE_B, 6, "proxy's MAC");
	ASSERT_EQ(c.flow.reply_hop.ifindex, lb_env.ifindex[FROM_CLIENT], "hop toward the client");
	ASSERT_MEMEQ(c.flow.reply_hop.dmac, 6, MAC_CLIENT, 6, "client's MAC");
	ASSERT_EQ(c.flow.flags, VEER_FLOW_CLOSING, "the proxy's FIN: closing");
}

/*
 * Fragmentation-needed from the original destination, quoting the packet as the client sent
 * it (as test_lb_mtu.c's answers, which are built the same way).
 */
static bool too_big_answer(struct pkt *out, struct pkt *in, __u32 mtu)
{
	struct pkt_spec s = {.saddr = SERVER4, .daddr = CLIENT4, .ttl = 64};
	size_t dlen = ntohs(pkt_ip4(in)->tot_len);

	memcpy(s.dmac, in->data + 6, 6);
	memcpy(s.smac, in->data, 6);
	if (!ASSERT_OK(pkt_build_icmp_error(out, &s, 3, 4, mtu, in, dlen < 548 ? dlen : 548),
		       "answer"))
		return false;
	pkt_ip4(out)->id = 0;
	pkt_ip4_fix_csum(out);
	return true;
}

/* Too big for the path to a remote proxy: answered (DF) or left to the stack to fragment. */
LB_TEST(lb_proxy_remote_mtu)
{
	struct pkt syn, syn_out, big, big_out, nodf, nodf_out;
	struct veer_proxy_conn_key k = {
		.port = htons(40113), .proto = IPPROTO_TCP, .family = VEER_AF_INET};
	struct veer_proxy_conn c;
	struct pkt_spec s;
	bool ok;

	if (!lb_begin())
		return;
	k.client.v4 = inet_addr(CLIENT4);
	s = c2s(CLIENT4, 40113, SERVER4, 80, TCP_SYN);
	ok = build2(&syn, &syn_out, s, to_remote(s, 3128), "SYN");
	s = c2s(CLIENT4, 40113, SERVER4, 80, TCP_ACK);
	s.payload = 1400;
	ok &= lb_pkt_build(&big, s, "1440 bytes, DF") && too_big_answer(&big_out, &big, 1280);
	s.frag = 0;
	/* Left to the stack: rewritten, MACs and TTL as they came. */
	ok &= build2(&nodf, &nodf_out, s, to_local(s, REMOTE4, 3128), "1440 bytes, no DF");
	if (!ok || !rule_add("198.18.1.0/24", 80, REMOTE4, 3128, false))
		return;

	struct lb_fixture first = {"SYN",	 &syn,	   FROM_CLIENT,
				   XDP_REDIRECT, &syn_out, VEER_FWD_PROXY};
	struct lb_fixture fx[] = {
		{"too big, DF: answered", &big, FROM_CLIENT,
		 lb_env.hook == LB_TC ? XDP_REDIRECT : XDP_TX, &big_out, VEER_TX_FRAG_NEEDED},
		{"too big, no DF: the stack fragments", &nodf, FROM_CLIENT, XDP_PASS, &nodf_out,
		 VEER_PASS_MTU_STACK},
	};
	if (!lb_fixture_run(&first) || !ASSERT_TRUE(conn_get(CLIENT4, 40113, &c), "connection"))
		return;
	c.proxy_hop.mtu = 1280;
	if (ASSERT_OK(bpf_map__update_elem(lb_env.skel->maps.veer_proxy_conn, &k, sizeof(k), &c,
					   sizeof(c), BPF_EXIST),
		      "a 1280-byte path"))
		lb_fixtures_run(fx, ARRAY_LEN(fx));
}

/* Only the connection's own proxy is rewritten, and a proxy's own connections are its own. */
LB_TEST(lb_proxy_remote_strangers)
{
	struct pkt syn, syn_out, wrong_port, own;
	struct pkt_spec s;
	bool ok;

	if (!lb_begin())
		return;
	s = c2s(CLIENT4, 40111, SERVER4, 80, TCP_SYN);
	ok = build2(&syn, &syn_out, s, to_remote(s, 3128), "SYN");
	ok &= lb_pkt_build(&wrong_port, p2c(REMOTE4, 3129, CLIENT4, 40111, 0), "other port");
	s = c2s(REMOTE4, 40112, SERVER4, 80, TCP_SYN);
	memcpy(s.smac, MAC_BE_B, 6);
	memcpy(s.dmac, MAC_VB0, 6);
	ok &= lb_pkt_build(&own, s, "the proxy's own SYN");
	/* Both proxy ports in the gate: the other's packets reach the table, which refuses. */
	if (!ok || !rule_add("198.18.0.0/15", 80, REMOTE4, 3128, false) ||
	    !rule_add("198.18.0.0/15", 81, REMOTE4, 3129, false))
		return;

	struct lb_fixture fx[] = {
		{"SYN", &syn, FROM_CLIENT, XDP_REDIRECT, &syn_out, VEER_FWD_PROXY},
		{"another port of the proxy host", &wrong_port, FROM_BACKEND, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"the proxy's own connection", &own, FROM_BACKEND, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
	};
	if (lb_fixtures_run(fx, ARRAY_LEN(fx)))
		ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_proxy_conn), 1, "one connection");
}

/* ---- rules: longest prefix, ports, clients outside ---- */

LB_TEST(lb_proxy_longest_prefix)
{
	struct pkt a, a_out, b, b_out, c81, c81_out, a2, a2_out;
	struct pkt_spec s;
	bool ok;

	if (!lb_begin())
		return;
	s = c2s(CLIENT4, 40120, SERVER4, 80, TCP_SYN);
	ok = build2(&a, &a_out, s, to_local(s, LOCAL4, 3128), "/16 of port 80");
	s = c2s(CLIENT4B, 40121, SERVER4, 80, TCP_SYN);
	ok &= build2(&b, &b_out, s, to_local(s, LOCAL4, 3128), "outside the /24");
	s = c2s(CLIENT4, 40122, SERVER4, 81, TCP_SYN);
	ok &= build2(&c81, &c81_out, s, to_local(s, LOCAL4, 3130), "/24 of port 81");
	s = c2s(CLIENT4, 40123, SERVER4, 80, TCP_SYN);
	ok &= build2(&a2, &a2_out, s, to_local(s, LOCAL4, 3129), "/24 of port 80");
	/* A /24 of another port must not shadow the /16 of this one. */
	if (!ok || !rule_add("198.18.0.0/16", 80, LOCAL4, 3128, false) ||
	    !rule_add("198.18.1.0/24", 81, LOCAL4, 3130, false))
		return;

	struct lb_fixture fx[] = {
		{"port 80: the /16", &a, FROM_CLIENT, XDP_PASS, &a_out, VEER_FWD_PROXY},
		{"port 81: the /24", &c81, FROM_CLIENT, XDP_PASS, &c81_out, VEER_FWD_PROXY},
	};
	struct lb_fixture fx2[] = {
		{"port 80: the /24 now", &a2, FROM_CLIENT, XDP_PASS, &a2_out, VEER_FWD_PROXY},
		{"port 80 outside the /24: the /16", &b, FROM_CLIENT, XDP_PASS, &b_out,
		 VEER_FWD_PROXY},
	};
	if (lb_fixtures_run(fx, ARRAY_LEN(fx)) &&
	    rule_add("198.18.1.0/24", 80, LOCAL4, 3129, false))
		lb_fixtures_run(fx2, ARRAY_LEN(fx2));
}

/* What no rule takes leaves byte for byte as it came, and makes no state. */
LB_TEST(lb_proxy_untouched)
{
	struct pkt outside, port443, udp, noconn, runt;
	bool ok;

	if (!lb_begin())
		return;
	ok = lb_pkt_build(&outside, c2s("198.18.1.100", 40130, SERVER4, 80, TCP_SYN), "outside");
	ok &= lb_pkt_build(&port443, c2s(CLIENT4, 40131, SERVER4, 443, TCP_SYN), "port 443");
	ok &= lb_pkt_build(&udp, lb_spec_c2v(CLIENT4, 40132, SERVER4, 80, IPPROTO_UDP), "UDP");
	ok &= lb_pkt_build(&noconn, c2s(CLIENT4, 40133, SERVER4, 80, TCP_ACK), "no connection");
	if (!ok || !rule_add("198.18.1.0/28", 80, LOCAL4, 3128, false))
		return;
	runt = P.tcp4_short; /* a TCP header cut short, to a ruled port */
	pkt_ip4(&runt)->daddr = inet_addr(SERVER4);
	pkt_ip4_fix_csum(&runt);

	struct lb_fixture fx[] = {
		{"client outside the CIDR", &outside, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"port without a rule", &port443, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_NOT_VIP},
		{"UDP to the port", &udp, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_NOT_VIP},
		{"ACK of no connection", &noconn, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_NOT_VIP},
		{"TCP header cut short", &runt, FROM_CLIENT, XDP_DROP, NULL, VEER_DROP_BAD_L4},
	};
	if (lb_fixtures_run(fx, ARRAY_LEN(fx)))
		ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_proxy_conn), 0, "no connection");
}

/* ---- VIPs ---- */

/*
 * A rule wins over a VIP; with --vip-exempt the VIP's connections are load balanced, and other
 * destinations are still steered.
 */
LB_TEST(lb_proxy_vip_exempt)
{
	struct pkt vip, vip_proxied, vip_lb, other, other_out;
	struct veer_proxy_conn_key k = {
		.port = htons(40140), .proto = IPPROTO_TCP, .family = VEER_AF_INET};
	struct pkt_spec s;
	bool ok;

	if (!lb_begin() || !lb_vips_basic())
		return;
	k.client.v4 = inet_addr(CLIENT4);
	s = c2s(CLIENT4, 40140, VIP4, 80, TCP_SYN);
	ok = build2(&vip, &vip_proxied, s, to_local(s, LOCAL4, 3128), "to the VIP");
	ok &= lb_pkt_build(&vip_lb, lb_spec_fwd(s, &BE_TCP4, true), "load balanced");
	s = c2s(CLIENT4, 40141, SERVER4, 80, TCP_SYN);
	ok &= build2(&other, &other_out, s, to_local(s, LOCAL4, 3128), "elsewhere");
	if (!ok || !rule_add("198.18.1.0/24", 80, LOCAL4, 3128, false))
		return;

	struct lb_fixture rule_wins = {"the rule wins", &vip,	      FROM_CLIENT,
				       XDP_PASS,	&vip_proxied, VEER_FWD_PROXY};
	struct lb_fixture exempt[] = {
		{"exempt: load balanced", &vip, FROM_CLIENT, XDP_REDIRECT, &vip_lb,
		 VEER_REASON_NONE},
		{"exempt: elsewhere steered", &other, FROM_CLIENT, XDP_PASS, &other_out,
		 VEER_FWD_PROXY},
	};
	if (!lb_fixture_run(&rule_wins) || !ASSERT_EQ(lb_flow_count(), 0, "no load-balanced flow"))
		return;
	/* The same SYN again, once its connection is forgotten. */
	if (!ASSERT_OK(bpf_map__delete_elem(lb_env.skel->maps.veer_proxy_conn, &k, sizeof(k), 0),
		       "forget the connection") ||
	    !rule_add("198.18.1.0/24", 80, LOCAL4, 3128, true) ||
	    !lb_fixtures_run(exempt, ARRAY_LEN(exempt)))
		return;
	ASSERT_EQ(lb_flow_count(), 1, "the VIP's flow");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_proxy_conn), 1, "one proxied connection");
	/*
	 * A wider rule without --vip-exempt opens the VIP's port to the rules; the client's own,
	 * longest rule still says exempt. The VIP's established flow goes on as it is.
	 */
	if (!rule_add("198.18.0.0/16", 80, LOCAL4, 3129, false) ||
	    !lb_fixture_run(&(struct lb_fixture){"exempt under a wider rule", &vip, FROM_CLIENT,
						 XDP_REDIRECT, &vip_lb, VEER_REASON_NONE}))
		return;
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_proxy_conn), 1, "still one");
}

/* ---- IPv6 ---- */

LB_TEST(lb_proxy_ipv6)
{
	struct pkt syn, syn_out, back, back_out, v4;
	struct pkt_spec s;
	bool ok;

	if (!lb_begin())
		return;
	s = c2s(CLIENT6, 40150, SERVER6, 80, TCP_SYN);
	ok = build2(&syn, &syn_out, s, to_local(s, LOCAL6, 3128), "SYN");
	s = p2c(LOCAL6, 3128, CLIENT6, 40150, TCP_SYN | TCP_ACK);
	ok &= build2(&back, &back_out, s, from_server(s, SERVER6, 80), "SYN-ACK");
	ok &= lb_pkt_build(&v4, c2s(CLIENT4, 40150, SERVER4, 80, TCP_SYN), "IPv4 client");
	/* An IPv6 rule is no IPv4 client's, whatever the address bytes. */
	if (!ok || !rule_add("2001:2:0:1::/64", 80, LOCAL6, 3128, false) ||
	    !rule_add("::/0", 81, LOCAL6, 3128, false))
		return;

	struct lb_fixture in[] = {
		{"IPv6 SYN to the proxy", &syn, FROM_CLIENT, XDP_PASS, &syn_out, VEER_FWD_PROXY},
		{"IPv4 client, IPv6 rule", &v4, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_NOT_VIP},
	};
	struct lb_fixture out = {"IPv6 SYN-ACK from the server",
				 &back,
				 FROM_CLIENT,
				 XDP_PASS,
				 &back_out,
				 VEER_FWD_PROXY_REPLY};
	if (lb_fixtures_run(in, ARRAY_LEN(in)) &&
	    conn_is(CLIENT6, 40150, SERVER6, 80, LOCAL6, 3128, 0, "IPv6 connection"))
		egress_run(&out, 1);
}

/* ---- one client port, two destinations ---- */

LB_TEST(lb_proxy_clash)
{
	struct pkt syn1, syn1_out, syn2, syn2_out, ack2, ack2_out, fin2, fin2_out;
	struct pkt_spec s;
	bool ok;

	if (!lb_begin())
		return;
	s = c2s(CLIENT4, 40160, SERVER4, 80, TCP_SYN);
	ok = build2(&syn1, &syn1_out, s, to_local(s, LOCAL4, 3128), "SYN to 1");
	s = c2s(CLIENT4, 40160, SERVER4B, 80, TCP_SYN);
	ok &= build2(&syn2, &syn2_out, s, to_local(s, LOCAL4, 3128), "SYN to 2");
	s = c2s(CLIENT4, 40160, SERVER4B, 80, TCP_ACK);
	ok &= build2(&ack2, &ack2_out, s, to_local(s, LOCAL4, 3128), "ACK to 2");
	s = c2s(CLIENT4, 40160, SERVER4B, 80, TCP_FIN | TCP_ACK);
	ok &= build2(&fin2, &fin2_out, s, to_local(s, LOCAL4, 3128), "FIN to 2");
	if (!ok || !rule_add("198.18.1.0/24", 80, LOCAL4, 3128, false))
		return;

	struct lb_fixture fx[] = {
		{"SYN to 1", &syn1, FROM_CLIENT, XDP_PASS, &syn1_out, VEER_FWD_PROXY},
		/* A handshake holds no port: it may be a spoofed SYN's. */
		{"SYN to 2 replaces a handshake", &syn2, FROM_CLIENT, XDP_PASS, &syn2_out,
		 VEER_FWD_PROXY},
		{"ACK to 2", &ack2, FROM_CLIENT, XDP_PASS, &ack2_out, VEER_FWD_PROXY},
	};
	struct lb_fixture clash = {"SYN to 1 while 2 is established",
				   &syn1,
				   FROM_CLIENT,
				   XDP_DROP,
				   NULL,
				   VEER_DROP_PROXY_CLASH};
	struct lb_fixture fx2[] = {
		{"FIN to 2", &fin2, FROM_CLIENT, XDP_PASS, &fin2_out, VEER_FWD_PROXY},
		{"SYN to 1 once 2 closes", &syn1, FROM_CLIENT, XDP_PASS, &syn1_out, VEER_FWD_PROXY},
	};
	if (!lb_fixtures_run(fx, ARRAY_LEN(fx)) || !lb_fixture_run(&clash) ||
	    !conn_is(CLIENT4, 40160, SERVER4B, 80, LOCAL4, 3128, VEER_PROXY_ESTABLISHED,
		     "the first keeps its state"))
		return;
	if (lb_fixtures_run(fx2, ARRAY_LEN(fx2)))
		conn_is(CLIENT4, 40160, SERVER4, 80, LOCAL4, 3128, 0, "a new connection to 1");
}

/* An idle connection is gone: its packets are no longer the proxy's, either way. */
LB_TEST(lb_proxy_expired)
{
	struct pkt syn, syn_out, ack, back;
	struct veer_proxy_conn_key k = {
		.port = htons(40170), .proto = IPPROTO_TCP, .family = VEER_AF_INET};
	struct veer_proxy_conn c;
	struct pkt_spec s;
	bool ok;

	if (!lb_begin())
		return;
	k.client.v4 = inet_addr(CLIENT4);
	s = c2s(CLIENT4, 40170, SERVER4, 80, TCP_SYN);
	ok = build2(&syn, &syn_out, s, to_local(s, LOCAL4, 3128), "SYN");
	ok &= lb_pkt_build(&ack, c2s(CLIENT4, 40170, SERVER4, 80, TCP_ACK), "ACK");
	ok &= lb_pkt_build(&back, p2c(LOCAL4, 3128, CLIENT4, 40170, TCP_ACK), "from the proxy");
	if (!ok || !rule_add("198.18.1.0/24", 80, LOCAL4, 3128, false))
		return;

	struct lb_fixture first = {"SYN", &syn, FROM_CLIENT, XDP_PASS, &syn_out, VEER_FWD_PROXY};
	struct lb_fixture gone = {"ACK after the handshake expired",
				  &ack,
				  FROM_CLIENT,
				  XDP_PASS,
				  NULL,
				  VEER_PASS_NOT_VIP};
	struct lb_fixture gone_back = {"the proxy's", &back, FROM_CLIENT,
				       XDP_PASS,      NULL,  VEER_REASON_NONE};
	if (!lb_fixture_run(&first) || !conn_get(CLIENT4, 40170, &c))
		return;
	c.flow.last_seen -= VEER_TCP_SYN_TIMEOUT_NS + 2 * VEER_FLOW_REFRESH_NS;
	if (ASSERT_OK(bpf_map__update_elem(lb_env.skel->maps.veer_proxy_conn, &k, sizeof(k), &c,
					   sizeof(c), BPF_EXIST),
		      "age the handshake"))
		if (lb_fixture_run(&gone))
			egress_run(&gone_back, 1);
}

/* ---- what hygiene refuses ---- */

LB_TEST(lb_proxy_hygiene)
{
	struct pkt ttl1, martian, doff4;
	struct pkt_spec s;
	bool ok;

	if (!lb_begin())
		return;
	s = c2s(CLIENT4, 40180, SERVER4, 80, TCP_SYN);
	s.ttl = 1;
	ok = lb_pkt_build(&ttl1, s, "TTL 1");
	ok &= lb_pkt_build(&martian, c2s("127.0.0.2", 40181, SERVER4, 80, TCP_SYN), "martian");
	ok &= lb_pkt_build(&doff4, c2s(CLIENT4, 40182, SERVER4, 80, TCP_SYN), "doff 4");
	if (!ok || !rule_add("0.0.0.0/0", 80, LOCAL4, 3128, false))
		return;
	/* TCP data offset 4: the header claims less than its fixed part. */
	doff4.data[ETH_HLEN + 20 + 12] = 4 << 4;
	pkt_l4_fix_csum(&doff4);

	struct lb_fixture fx[] = {
		{"TTL 1: the stack answers", &ttl1, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_TTL},
		{"martian source", &martian, FROM_CLIENT, XDP_DROP, NULL, VEER_DROP_MARTIAN},
		{"data offset 4", &doff4, FROM_CLIENT, XDP_DROP, NULL, VEER_DROP_BAD_L4_HDR},
	};
	if (lb_fixtures_run(fx, ARRAY_LEN(fx)))
		ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_proxy_conn), 0, "no connection");
}

/* ---- the egress program leaves the host's other packets alone ---- */

VEER_TEST(lb_proxy_egress_untouched)
{
	struct pkt syn, syn_out, noconn, otherport, udp, toclient, v6;
	struct pkt_spec s;
	bool ok;

	lb_env.hook = LB_TC;
	if (!lb_begin())
		return;
	s = c2s(CLIENT4, 40190, SERVER4, 80, TCP_SYN);
	ok = build2(&syn, &syn_out, s, to_local(s, LOCAL4, 3128), "SYN");
	ok &= lb_pkt_build(&noconn, p2c(LOCAL4, 3128, CLIENT4, 40191, 0), "no connection");
	ok &= lb_pkt_build(&otherport, p2c(LOCAL4, 3129, CLIENT4, 40190, 0), "another port");
	s = p2c(LOCAL4, 3128, CLIENT4, 40190, 0);
	s.proto = IPPROTO_UDP;
	ok &= lb_pkt_build(&udp, s, "UDP");
	/* The load balancer's reply on its way out: from a VIP's port, not a proxy's. */
	toclient = P.tcp4_reply_out;
	ok &= lb_pkt_build(&v6, p2c(LOCAL6, 3128, CLIENT6, 40190, 0), "IPv6, no connection");
	if (!ok || !rule_add("198.18.1.0/24", 80, LOCAL4, 3128, false))
		return;

	struct lb_fixture in = {"SYN", &syn, FROM_CLIENT, XDP_PASS, &syn_out, VEER_FWD_PROXY};
	struct lb_fixture out[] = {
		{"proxy port, no connection", &noconn, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_REASON_NONE},
		{"another source port", &otherport, FROM_CLIENT, XDP_PASS, NULL, VEER_REASON_NONE},
		{"UDP from the proxy port", &udp, FROM_CLIENT, XDP_PASS, NULL, VEER_REASON_NONE},
		{"a load-balanced reply", &toclient, FROM_CLIENT, XDP_PASS, NULL, VEER_REASON_NONE},
		{"IPv6, no connection", &v6, FROM_CLIENT, XDP_PASS, NULL, VEER_REASON_NONE},
		{"ARP", &P.arp, FROM_CLIENT, XDP_PASS, NULL, VEER_REASON_NONE},
		{"runt", &P.runt, FROM_CLIENT, XDP_PASS, NULL, VEER_REASON_NONE},
	};
	if (lb_fixture_run(&in))
		egress_run(out, ARRAY_LEN(out));
}

/* ---- libveer: rules, gate, origdst, against real maps ---- */

static bool rule_info(struct veer_proxy_info *r, const char *from, __u16 dport, const char *to,
		      bool exempt)
{
	memset(r, 0, sizeof(*r));
	r->dport = htons(dport);
	r->vip_exempt = exempt;
	return ASSERT_OK(veer_parse_cidr(from, &r->from), from) &&
	       ASSERT_OK(veer_parse_endpoint(to, &r->to, true), to);
}

/* The rules as "CIDR:PORT>PROXY[!]" words, in list order. */
static const char *rules_text(struct ctl_veer *c, char *buf, size_t len)
{
	struct veer_proxy_info *l;
	size_t n, at = 0;

	buf[0] = '\0';
	if (veer_proxy_list(c->v, &l, &n))
		return "(error)";
	for (size_t i = 0; i < n; i++) {
		char a[VEER_ADDR_STRLEN], b[VEER_ADDR_STRLEN];

		at += snprintf(buf + at, len - at, "%s%s:%u>%s%s", i ? " " : "",
			       veer_fmt_cidr(&l[i].from, a, sizeof(a)), ntohs(l[i].dport),
			       veer_fmt_endpoint(&l[i].to.addr, l[i].to.port, l[i].to.family, b,
						 sizeof(b)),
			       l[i].vip_exempt ? "!" : "");
	}
	free(l);
	return buf;
}

static bool gate_bit(struct ctl_veer *c, bool proxy_port, __u16 port)
{
	struct veer_proxy_gate g;
	__u32 zero = 0;

	if (bpf_map__lookup_elem(c->v->skel->maps.veer_proxy_gate, &zero, sizeof(zero), &g,
				 sizeof(g), 0))
		return false;
	return ((proxy_port ? g.proxy_ports : g.dports)[port / 64] >> (port % 64)) & 1;
}

VEER_TEST(ctl_proxy_cidr_parse)
{
	struct veer_cidr c;
	char buf[VEER_ADDR_STRLEN];

	ASSERT_OK(veer_parse_cidr("198.18.1.0/24", &c), "IPv4");
	ASSERT_STREQ(veer_fmt_cidr(&c, buf, sizeof(buf)), "198.18.1.0/24", "IPv4 text");
	ASSERT_OK(veer_parse_cidr("2001:2::/48", &c), "IPv6");
	ASSERT_STREQ(veer_fmt_cidr(&c, buf, sizeof(buf)), "2001:2::/48", "IPv6 text");
	ASSERT_OK(veer_parse_cidr("0.0.0.0/0", &c), "everything");
	ASSERT_OK(veer_parse_cidr("198.18.1.2/32", &c), "one host");
	ASSERT_EQ(veer_parse_cidr("198.18.1.5/24", &c), -ERANGE, "host bits");
	ASSERT_STREQ(veer_fmt_cidr(&c, buf, sizeof(buf)), "198.18.1.0/24", "the network");
	ASSERT_EQ(veer_parse_cidr("2001:2::1/64", &c), -ERANGE, "IPv6 host bits");
	ASSERT_EQ(veer_parse_cidr("198.18.1.0/33", &c), -EINVAL, "/33");
	ASSERT_EQ(veer_parse_cidr("2001:2::/129", &c), -EINVAL, "/129");
	ASSERT_EQ(veer_parse_cidr("198.18.1.0", &c), -EINVAL, "no length");
	ASSERT_EQ(veer_parse_cidr("198.18.1.0/", &c), -EINVAL, "empty length");
	ASSERT_EQ(veer_parse_cidr("198.18.1.0/024", &c), -EINVAL, "leading zero");
	ASSERT_EQ(veer_parse_cidr("198.18.300.0/24", &c), -EINVAL, "bad address");
	ASSERT_EQ(veer_parse_cidr("/24", &c), -EINVAL, "no address");
}

VEER_TEST(ctl_proxy_rules)
{
	struct veer_proxy_info r;
	char before[512], after[512];
	struct ctl_veer c;

	if (!ctl_veer_up(&c))
		return;
	if (!rule_info(&r, "198.18.1.0/24", 80, "198.18.1.1:3128", false) ||
	    !ASSERT_OK(veer_proxy_add(c.v, &r), "add /24") ||
	    !rule_info(&r, "198.18.0.0/16", 80, "198.18.1.1:3129", true) ||
	    !ASSERT_OK(veer_proxy_add(c.v, &r), "add /16") ||
	    !rule_info(&r, "2001:2:0:1::/64", 443, "[2001:2:0:1::1]:3128", false) ||
	    !ASSERT_OK(veer_proxy_add(c.v, &r), "add IPv6"))
		goto out;
	ASSERT_STREQ(rules_text(&c, before, sizeof(before)),
		     "198.18.0.0/16:80>198.18.1.1:3129! 198.18.1.0/24:80>198.18.1.1:3128 "
		     "2001:2:0:1::/64:443>[2001:2:0:1::1]:3128",
		     "list");
	ASSERT_TRUE(gate_bit(&c, false, 80) && gate_bit(&c, false, 443), "gate: ports");
	ASSERT_TRUE(gate_bit(&c, true, 3128) && gate_bit(&c, true, 3129), "gate: proxy ports");
	ASSERT_FALSE(gate_bit(&c, false, 81) || gate_bit(&c, true, 80), "gate: nothing else");

	/* Refused, and nothing changes. */
	rule_info(&r, "198.18.1.0/24", 80, "198.18.1.1:4000", false);
	ASSERT_EQ(veer_proxy_add(c.v, &r), -EEXIST, "the same CIDR and port");
	rule_info(&r, "198.18.1.0/24", 81, "[2001:2::1]:3128", false);
	ASSERT_EQ(veer_proxy_add(c.v, &r), -EINVAL, "an IPv6 proxy for IPv4 clients");
	rule_info(&r, "198.18.1.0/24", 81, "127.0.0.1:3128", false);
	ASSERT_EQ(veer_proxy_add(c.v, &r), -EINVAL, "a loopback proxy");
	rule_info(&r, "198.18.2.0/24", 80, "198.18.1.1:3128", false);
	ASSERT_EQ(veer_proxy_del(c.v, &r.from, r.dport), -ENOENT, "del of a missing rule");
	rule_info(&r, "198.18.1.0/24", 81, "198.18.1.1:3128", false);
	ASSERT_EQ(veer_proxy_del(c.v, &r.from, r.dport), -ENOENT, "del of another port's");
	ASSERT_STREQ(rules_text(&c, after, sizeof(after)), before, "no change");
	ASSERT_FALSE(gate_bit(&c, false, 81), "gate unchanged");

	rule_info(&r, "2001:2:0:1::/64", 443, "[2001:2:0:1::1]:3128", false);
	ASSERT_OK(veer_proxy_del(c.v, &r.from, r.dport), "del IPv6");
	ASSERT_FALSE(gate_bit(&c, false, 443), "gate: 443 gone");
	ASSERT_TRUE(gate_bit(&c, true, 3128), "gate: 3128 still a proxy's");
out:
	ctl_veer_down(&c);
}

static bool conn_put(struct ctl_veer *c, const char *client, __u16 port, const char *orig, __u16 oport,
		     const char *proxy, __u16 pport, __u32 flags, __u64 age_ns)
{
	struct veer_proxy_conn_key k = {.port = htons(port), .proto = IPPROTO_TCP};
	struct veer_proxy_conn v = {};
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	k.family = lb_addr_parse(client, &k.client);
	lb_addr_parse(orig, &v.orig);
	lb_addr_parse(proxy, &v.proxy);
	v.orig_port = htons(oport);
	v.proxy_port = htons(pport);
	v.flow.flags = flags;
	v.flow.last_seen = ts.tv_sec * 1000000000ULL + ts.tv_nsec - age_ns;
	return ASSERT_OK(bpf_map__update_elem(c->v->skel->maps.veer_proxy_conn, &k, sizeof(k), &v,
					      sizeof(v), BPF_ANY),
			 "put a connection");
}

/* veer_proxy_origdst() over an accepted socket's peer address, as a proxy calls it. */
static int origdst(struct veer_origdst *h, int family, const char *client, __u16 port, char *out,
		   size_t len)
{
	struct sockaddr_storage peer = {}, orig;
	struct veer_endpoint ep = {};
	int err;

	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)&peer;

		in->sin_family = AF_INET;
		inet_pton(AF_INET, client, &in->sin_addr);
		in->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *in6 = (void *)&peer;
		char mapped[64];

		in6->sin6_family = AF_INET6;
		/* An IPv4 client of a dual-stack socket: ::ffff:a.b.c.d. */
		snprintf(mapped, sizeof(mapped), "%s%s",
			 strchr(client, ':') ? "" : "::ffff:", client);
		inet_pton(AF_INET6, mapped, &in6->sin6_addr);
		in6->sin6_port = htons(port);
	}
	err = veer_proxy_origdst(h, (struct sockaddr *)&peer, &orig);
	if (err)
		return err;
	if (orig.ss_family == AF_INET) {
		struct sockaddr_in *in = (void *)&orig;

		ep.family = VEER_AF_INET;
		ep.addr.v4 = in->sin_addr.s_addr;
		ep.port = in->sin_port;
	} else {
		struct sockaddr_in6 *in6 = (void *)&orig;

		ep.family = VEER_AF_INET6;
		memcpy(ep.addr.bytes, &in6->sin6_addr, 16);
		ep.port = in6->sin6_port;
	}
	veer_fmt_endpoint(&ep.addr, ep.port, ep.family, out, len);
	return 0;
}

VEER_TEST(ctl_proxy_origdst)
{
	struct veer_origdst *h = NULL;
	char got[VEER_ADDR_STRLEN];
	struct ctl_veer c;

	if (!ctl_veer_up(&c))
		return;
	if (!conn_put(&c, "198.18.1.2", 40000, "198.18.11.2", 80, "198.18.1.1", 3128,
		      VEER_PROXY_ESTABLISHED, 0) ||
	    !conn_put(&c, "2001:2:0:1::2", 40000, "2001:2:0:11::2", 443, "2001:2:0:1::1", 3128, 0,
		      0) ||
	    /* Idle past the TCP timeout, and a handshake past its own. */
	    !conn_put(&c, "198.18.1.2", 40001, "198.18.11.2", 80, "198.18.1.1", 3128,
		      VEER_PROXY_ESTABLISHED, VEER_TCP_TIMEOUT_NS + 2 * VEER_FLOW_REFRESH_NS) ||
	    !conn_put(&c, "198.18.1.2", 40002, "198.18.11.2", 80, "198.18.1.1", 3128, 0,
		      VEER_TCP_SYN_TIMEOUT_NS + 2 * VEER_FLOW_REFRESH_NS) ||
	    !ASSERT_OK(veer_origdst_open(&h), "open"))
		goto out;
	if (ASSERT_OK(origdst(h, AF_INET, "198.18.1.2", 40000, got, sizeof(got)), "IPv4"))
		ASSERT_STREQ(got, "198.18.11.2:80", "IPv4");
	if (ASSERT_OK(origdst(h, AF_INET6, "198.18.1.2", 40000, got, sizeof(got)), "IPv4-mapped"))
		ASSERT_STREQ(got, "198.18.11.2:80", "IPv4-mapped");
	if (ASSERT_OK(origdst(h, AF_INET6, "2001:2:0:1::2", 40000, got, sizeof(got)), "IPv6"))
		ASSERT_STREQ(got, "[2001:2:0:11::2]:443", "IPv6");
	ASSERT_EQ(origdst(h, AF_INET, "198.18.1.2", 40001, got, sizeof(got)), -ENOENT, "idle");
	ASSERT_EQ(origdst(h, AF_INET, "198.18.1.2", 40002, got, sizeof(got)), -ENOENT,
		  "old handshake");
	ASSERT_EQ(origdst(h, AF_INET, "198.18.1.2", 40003, got, sizeof(got)), -ENOENT, "none");
	ASSERT_EQ(origdst(h, AF_INET, "198.18.1.3", 40000, got, sizeof(got)), -ENOENT,
		  "another client");
out:
	veer_origdst_close(h);
	ctl_veer_down(&c);
}

/* A rule's connections go with it; those the next rule sends to the same proxy stay. */
VEER_TEST(ctl_proxy_del_connections)
{
	struct veer_origdst *h = NULL;
	struct veer_proxy_info r;
	char got[VEER_ADDR_STRLEN];
	struct ctl_veer c;

	if (!ctl_veer_up(&c))
		return;
	if (!rule_info(&r, "198.18.1.0/28", 80, "198.18.1.1:3129", false) ||
	    !ASSERT_OK(veer_proxy_add(c.v, &r), "add /28") ||
	    !rule_info(&r, "198.18.1.0/24", 80, "198.18.1.1:3129", false) ||
	    !ASSERT_OK(veer_proxy_add(c.v, &r), "add /24") ||
	    !rule_info(&r, "198.18.0.0/16", 80, "198.18.1.1:3128", false) ||
	    !ASSERT_OK(veer_proxy_add(c.v, &r), "add /16") ||
	    !conn_put(&c, "198.18.1.2", 40000, "198.18.11.2", 80, "198.18.1.1", 3129,
		      VEER_PROXY_ESTABLISHED, 0) ||
	    !conn_put(&c, "198.18.1.100", 40000, "198.18.11.2", 80, "198.18.1.1", 3129,
		      VEER_PROXY_ESTABLISHED, 0) ||
	    /* Another port's, of a rule that is not deleted. */
	    !conn_put(&c, "198.18.1.3", 40000, "198.18.11.2", 81, "198.18.1.1", 3129,
		      VEER_PROXY_ESTABLISHED, 0) ||
	    !ASSERT_OK(veer_origdst_open(&h), "open"))
		goto out;
	rule_info(&r, "198.18.1.0/28", 80, "198.18.1.1:3129", false);
	ASSERT_OK(veer_proxy_del(c.v, &r.from, r.dport), "del /28");
	ASSERT_OK(origdst(h, AF_INET, "198.18.1.2", 40000, got, sizeof(got)),
		  "the /24 sends .2 to the same proxy");
	ASSERT_OK(origdst(h, AF_INET, "198.18.1.100", 40000, got, sizeof(got)),
		  ".100 is not in the /28");
	rule_info(&r, "198.18.1.0/24", 80, "198.18.1.1:3129", false);
	ASSERT_OK(veer_proxy_del(c.v, &r.from, r.dport), "del /24");
	ASSERT_EQ(origdst(h, AF_INET, "198.18.1.2", 40000, got, sizeof(got)), -ENOENT,
		  "the /16 sends .2 elsewhere");
	ASSERT_EQ(origdst(h, AF_INET, "198.18.1.100", 40000, got, sizeof(got)), -ENOENT,
		  "the /24's");
	ASSERT_OK(origdst(h, AF_INET, "198.18.1.3", 40000, got, sizeof(got)), "port 81's");
out:
	veer_origdst_close(h);
	ctl_veer_down(&c);
}

static __u8 svc_of(struct ctl_veer *c, const char *vip)
{
	struct veer_vip_key k;
	__u32 slot;
	__u8 f = 0;

	if (!ASSERT_OK(veer_parse_vip(vip, &k), vip))
		return 0xff;
	slot = veer_svc_slot(&k.addr, k.port, k.proto);
	bpf_map__lookup_elem(c->v->skel->maps.veer_svc, &slot, sizeof(slot), &f, 1, 0);
	return f;
}

static bool vip_add(struct ctl_veer *c, const char *vip)
{
	struct veer_vip_opts o = {.mode = VEER_MODE_NAT, .ring_size = 251};
	struct veer_vip_key k;

	return ASSERT_OK(veer_parse_vip(vip, &k), vip) &&
	       ASSERT_OK(veer_vip_add(c->v, &k, &o), vip);
}

/*
 * VEER_SVC_PROXY marks the slots of the VIPs whose port a rule without --vip-exempt steers: set
 * and cleared as rules and VIPs come and go, by either command.
 */
VEER_TEST(ctl_proxy_vip_slots)
{
	struct veer_proxy_info r, wide;
	struct veer_vip_key k;
	struct ctl_veer c;

	if (!ctl_veer_up(&c))
		return;
	if (!vip_add(&c, "198.18.100.30:80/tcp") || !vip_add(&c, "198.18.100.32:81/tcp") ||
	    !rule_info(&r, "198.18.1.0/24", 80, "198.18.1.1:3128", true) ||
	    !rule_info(&wide, "198.18.0.0/16", 80, "198.18.1.1:3128", false))
		goto out;
	ASSERT_EQ(svc_of(&c, "198.18.100.30:80/tcp"), VEER_SVC_VIP, "no rule");
	ASSERT_OK(veer_proxy_add(c.v, &r), "exempt rule");
	ASSERT_EQ(svc_of(&c, "198.18.100.30:80/tcp"), VEER_SVC_VIP, "an exempt rule only");
	ASSERT_OK(veer_proxy_add(c.v, &wide), "rule");
	ASSERT_EQ(svc_of(&c, "198.18.100.30:80/tcp"), VEER_SVC_VIP | VEER_SVC_PROXY, "a rule");
	ASSERT_EQ(svc_of(&c, "198.18.100.32:81/tcp"), VEER_SVC_VIP, "another port");
	if (vip_add(&c, "198.18.100.31:80/tcp"))
		ASSERT_EQ(svc_of(&c, "198.18.100.31:80/tcp"), VEER_SVC_VIP | VEER_SVC_PROXY,
			  "a VIP added after the rule");
	ASSERT_OK(veer_parse_vip("198.18.100.31:80/tcp", &k), "parse");
	ASSERT_OK(veer_vip_del(c.v, &k), "vip del");
	ASSERT_EQ(svc_of(&c, "198.18.100.31:80/tcp"), 0, "a deleted VIP's slot");
	ASSERT_OK(veer_proxy_del(c.v, &wide.from, wide.dport), "rule del");
	ASSERT_EQ(svc_of(&c, "198.18.100.30:80/tcp"), VEER_SVC_VIP, "the rule deleted");
out:
	ctl_veer_down(&c);
}
