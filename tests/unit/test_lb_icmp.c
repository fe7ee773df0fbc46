// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_RUN fixtures of ICMP (bpf/lib/icmp.h): echo requests to VIP addresses answered, ICMP
 * errors about NAT flows rewritten in both directions, and the ICMP veer leaves alone.
 * Harness and topology: lb_harness.h. Every expected frame is built from scratch by the packet
 * builder: a quote as veer's peer knows the packet, wrapped in the error it should receive.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include "lb_harness.h"

/* Routers on the way: between veer and the backends, and between veer and the clients. */
#define ROUTER_B4 "198.18.11.254"
#define ROUTER_C4 "198.18.1.254"
#define ROUTER_B6 "2001:2:0:11::fe"
#define ROUTER_C6 "2001:2:0:1::fe"
static const __u8 MAC_ROUTER_B[6] = {0x02, 0, 0, 0, 0x11, 0xfd};
static const __u8 MAC_ROUTER_C[6] = {0x02, 0, 0, 0, 0x01, 0xfd};

/* An echo reply leaves the way the request came: XDP_TX, or at tc a redirect to ingress. */
static __u32 tx_verdict(void)
{
	return lb_env.hook == LB_TC ? XDP_REDIRECT : XDP_TX;
}

static bool is6(const char *addr)
{
	return strchr(addr, ':') != NULL;
}

/* ---- 6: echo ---- */

/* A client's echo request (TTL 57, so that the reply's 64 shows) and, if asked, its reply. */
static bool echo_pair(const char *client, const char *dst, enum side from, __u16 vlan, __u8 ip_opts,
		      struct pkt *req, struct pkt *reply)
{
	struct pkt_spec s =
		lb_spec_c2v(client, 0, dst, 0, is6(client) ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	__u8 *icmp;

	s.ttl = 57;
	s.vlan = vlan;
	s.ip_opts = ip_opts;
	if (from == FROM_BACKEND) {
		memcpy(s.dmac, MAC_VB0, 6);
		memcpy(s.smac, MAC_BE_A, 6);
	}
	if (!lb_pkt_build(req, s, "echo request"))
		return false;
	if (!reply)
		return true;
	s.saddr = dst;
	s.daddr = client;
	s.ttl = 64;
	memcpy(s.dmac, req->data + 6, 6);
	memcpy(s.smac, req->data, 6);
	if (!lb_pkt_build(reply, s, "echo reply"))
		return false;
	icmp = pkt_icmp(reply);
	icmp[0] = is6(client) ? 129 : 0;
	pkt_icmp_fix_csum(reply);
	return true;
}

LB_TEST(lb_icmp_echo)
{
	struct pkt req4, rep4, req6, rep6, reqb, repb, vlan4, vlan4_rep, opts4, opts4_rep, other4,
		other6, reply4, frag4, v4in6, mcast4, mcast6;
	struct pkt_spec s;
	__u32 tx = tx_verdict();
	struct lb_fixture fx[] = {
		{"echo to the IPv4 VIP address", &req4, FROM_CLIENT, tx, &rep4, VEER_TX_ICMP_ECHO},
		{"echo to the IPv6 VIP address", &req6, FROM_CLIENT, tx, &rep6, VEER_TX_ICMP_ECHO},
		{"echo to the VIP address from the backend side", &reqb, FROM_BACKEND, tx, &repb,
		 VEER_TX_ICMP_ECHO},
		{"echo over 802.1Q: tag kept", &vlan4, FROM_CLIENT, tx, &vlan4_rep,
		 VEER_TX_ICMP_ECHO},
		{"echo with IPv4 options: kept", &opts4, FROM_CLIENT, tx, &opts4_rep,
		 VEER_TX_ICMP_ECHO},
		{"echo to another IPv4 address", &other4, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"echo to another IPv6 address", &other6, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"echo reply to the VIP address", &reply4, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"first fragment of an echo to the VIP address", &frag4, FROM_CLIENT, XDP_PASS,
		 NULL, VEER_PASS_NOT_VIP},
		{"ICMP (not ICMPv6) echo over IPv6", &v4in6, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"echo from a multicast source: no reply", &mcast4, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_MARTIAN},
		{"echo from ff02::1: no reply", &mcast6, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_MARTIAN},
	};
	bool ok;

	if (!lb_begin() || !lb_vips_basic())
		return;
	ok = echo_pair(CLIENT4, VIP4, FROM_CLIENT, 0, 0, &req4, &rep4) &&
	     echo_pair(CLIENT6, VIP6, FROM_CLIENT, 0, 0, &req6, &rep6) &&
	     echo_pair(BE_TCP4.addr, VIP4, FROM_BACKEND, 0, 0, &reqb, &repb) &&
	     echo_pair(CLIENT4, VIP4, FROM_CLIENT, 100, 0, &vlan4, &vlan4_rep) &&
	     echo_pair(CLIENT4, VIP4, FROM_CLIENT, 0, 8, &opts4, &opts4_rep) &&
	     echo_pair(CLIENT4, OTHER4, FROM_CLIENT, 0, 0, &other4, NULL) &&
	     echo_pair(CLIENT6, OTHER6, FROM_CLIENT, 0, 0, &other6, NULL) &&
	     echo_pair(CLIENT4, VIP4, FROM_CLIENT, 0, 0, &reply4, NULL) &&
	     echo_pair("224.0.0.1", VIP4, FROM_CLIENT, 0, 0, &mcast4, NULL) &&
	     echo_pair("ff02::1", VIP6, FROM_CLIENT, 0, 0, &mcast6, NULL);
	if (!ok)
		return;
	pkt_icmp(&reply4)[0] = 0;
	pkt_icmp_fix_csum(&reply4);
	s = lb_spec_c2v(CLIENT4, 0, VIP4, 0, IPPROTO_ICMP);
	s.frag = 0x2000; /* MF: the rest of the message is in later fragments */
	if (!lb_pkt_build(&frag4, s, "fragment"))
		return;
	s = lb_spec_c2v(CLIENT6, 0, VIP6, 0, IPPROTO_ICMP);
	if (!lb_pkt_build(&v4in6, s, "ICMP over IPv6") || !lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	ASSERT_EQ(lb_flow_count(), 0, "no flow entries");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 0, 0, 0, 0, 0, "VIP");
}

/*
 * veer_vip_addrs counts the VIPs at an address: two VIPs on one address, one deleted, the
 * address still answers; both deleted, it does not. The harness keeps the map with libveer's
 * own veer_vip_addr_sync, which veer vip add/del run.
 */
LB_TEST(lb_icmp_echo_vip_refcount)
{
	struct pkt req, rep;
	struct lb_fixture fx[] = {
		{"echo, VIP address", &req, FROM_CLIENT, XDP_TX, &rep, VEER_TX_ICMP_ECHO},
		{"echo, no VIP at the address", &req, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
	};
	const struct lb_fixture *answered = &fx[0], *passed = &fx[1];
	struct veer_vip_addr_key k = {};
	__u32 n = 0;

	fx[0].verdict = tx_verdict();
	if (!lb_begin() || !echo_pair(CLIENT4, VIP4, FROM_CLIENT, 0, 0, &req, &rep) ||
	    !lb_fixture_run(passed))
		return;
	k.family = lb_addr_parse(VIP4, &k.addr);
	if (!lb_add_vip(VIP_TCP4, VIP4, 80, IPPROTO_TCP, 0, VEER_MODE_NAT) ||
	    !lb_add_vip(VIP_UDP4, VIP4, 53, IPPROTO_UDP, 0, VEER_MODE_NAT) ||
	    !lb_add_vip(VIP_TCP6, VIP6, 80, IPPROTO_TCP, 0, VEER_MODE_NAT) ||
	    !lb_fixture_run(answered))
		return;
	ASSERT_OK(bpf_map__lookup_elem(lb_env.skel->maps.veer_vip_addrs, &k, sizeof(k), &n,
				       sizeof(n), 0),
		  "address entry");
	ASSERT_EQ(n, 2, "two VIPs at the address");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_vip_addrs), 2, "two addresses");
	if (!lb_del_vip(VIP4, 80, IPPROTO_TCP) || !lb_fixture_run(answered))
		return;
	ASSERT_OK(bpf_map__lookup_elem(lb_env.skel->maps.veer_vip_addrs, &k, sizeof(k), &n,
				       sizeof(n), 0),
		  "address entry");
	ASSERT_EQ(n, 1, "one VIP left at the address");
	if (!lb_del_vip(VIP4, 53, IPPROTO_UDP) || !lb_fixture_run(passed))
		return;
	ASSERT_ERR(bpf_map__lookup_elem(lb_env.skel->maps.veer_vip_addrs, &k, sizeof(k), &n,
					sizeof(n), 0),
		   "address entry gone");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_vip_addrs), 1, "the IPv6 address stays");
}

/* ---- 7: errors about flows ---- */

struct flow {
	const char *client, *vip;
	__u16 cport, vport;
	__u8 proto;
	const struct be_def *be;
};

/* The four flows lb_vips_basic's VIPs make. */
static const struct flow TCP4 = {CLIENT4, VIP4, 40100, 80, IPPROTO_TCP, &BE_TCP4};
static const struct flow UDP4 = {CLIENT4, VIP4, 40101, 53, IPPROTO_UDP, &BE_UDP4};
static const struct flow TCP6 = {CLIENT6, VIP6, 40100, 80, IPPROTO_TCP, &BE_TCP6};
static const struct flow UDP6 = {CLIENT6, VIP6, 40101, 53, IPPROTO_UDP, &BE_UDP6};

static struct pkt_spec flow_c2v(const struct flow *fl)
{
	return lb_spec_c2v(fl->client, fl->cport, fl->vip, fl->vport, fl->proto);
}

static struct pkt_spec flow_b2c(const struct flow *fl)
{
	return lb_spec_b2c(fl->be, fl->client, fl->cport, fl->proto);
}

/*
 * The flow's first packet and, if asked, the backend's first reply: the forward entry with its
 * next hop, and the reply entry with its own (resolved on the first reply).
 */
static bool flow_open(const struct flow *fl, bool reply)
{
	struct pkt in, out, rin, rout;
	struct lb_fixture fx[] = {
		{"flow: client packet", &in, FROM_CLIENT, XDP_REDIRECT, &out, VEER_REASON_NONE},
		{"flow: backend reply", &rin, FROM_BACKEND, XDP_REDIRECT, &rout, VEER_REASON_NONE},
	};

	return lb_pkt_build(&in, flow_c2v(fl), "flow") &&
	       lb_pkt_build(&out, lb_spec_fwd(flow_c2v(fl), fl->be, true), "flow") &&
	       lb_pkt_build(&rin, flow_b2c(fl), "flow") &&
	       lb_pkt_build(&rout, lb_spec_rev(flow_b2c(fl), fl->vip, fl->vport), "flow") &&
	       lb_fixtures_run(fx, reply ? 2 : 1);
}

/*
 * What an error quotes (in: the packet as veer sent it, past veer; TTL 63 from veer's
 * decrement) and what it must quote once rewritten (out: the same packet as veer's peer knows
 * it, the TTL still 63).
 *   to_client: the client's packet to the backend; back: the client's to the VIP.
 *   else:      the backend's reply from the VIP; back: the backend's own reply.
 */
static bool quote_pair(const struct flow *fl, bool to_client, void (*shape)(struct pkt_spec *),
		       struct pkt *in, struct pkt *out)
{
	struct pkt_spec s = to_client ? flow_c2v(fl) : flow_b2c(fl);
	bool ok;

	if (shape)
		shape(&s);
	if (to_client)
		ok = lb_pkt_build(in, lb_spec_fwd(s, fl->be, true), "quote");
	else
		ok = lb_pkt_build(in, lb_spec_rev(s, fl->vip, fl->vport), "quote");
	s.ttl = 63;
	return ok && lb_pkt_build(out, s, "quote");
}

struct err_def {
	const char *name;
	const struct flow *fl;
	bool to_client; /* quote client -> backend, error to the client; else quote VIP -> client */
	bool from_router; /* sent by a router on the way, not by the backend / the client */
	__u8 type, code;
	__u32 rest;  /* the 4 bytes after the checksum: MTU, pointer */
	__u32 quote; /* bytes of the quoted datagram; 0 = all of it */
};

/* The error's frame and quote, where a test wants other than untagged, TTL 64, plain. */
struct err_frame {
	__u16 vlan; /* 802.1Q TCI */
	__u8 ttl;
	void (*shape)(struct pkt_spec *s); /* applied to the quoted packet's spec */
};

/*
 * The error as it reaches veer and as it must leave. Toward the client: from the backend (whose
 * address becomes the VIP's) or a router (kept). Toward the VIP: from the client or a router,
 * to the VIP, which becomes the backend. Forwarded (redirect): next hop's MACs, TTL 63; handed
 * to the stack: MACs and TTL as they came.
 */
static bool err_build_frame(const struct err_def *e, const struct err_frame *fr, bool redirect,
			    struct pkt *in, struct pkt *out)
{
	const struct flow *fl = e->fl;
	bool v6 = is6(fl->client);
	struct pkt_spec si = {}, so;
	struct pkt qin, qout;
	__u32 qlen;

	if (!quote_pair(fl, e->to_client, fr->shape, &qin, &qout))
		return false;
	qlen = e->quote ? e->quote : qin.len - ETH_HLEN;
	if (e->to_client) {
		si.saddr = e->from_router ? (v6 ? ROUTER_B6 : ROUTER_B4) : fl->be->addr;
		si.daddr = fl->client;
		memcpy(si.smac, e->from_router ? MAC_ROUTER_B : fl->be->mac, 6);
		memcpy(si.dmac, MAC_VB0, 6);
		so = si;
		if (!e->from_router)
			so.saddr = fl->vip;
		if (redirect) {
			memcpy(so.dmac, MAC_CLIENT, 6);
			memcpy(so.smac, MAC_VC0, 6);
		}
	} else {
		si.saddr = e->from_router ? (v6 ? ROUTER_C6 : ROUTER_C4) : fl->client;
		si.daddr = fl->vip;
		memcpy(si.smac, e->from_router ? MAC_ROUTER_C : MAC_CLIENT, 6);
		memcpy(si.dmac, MAC_VC0, 6);
		so = si;
		so.daddr = fl->be->addr;
		if (redirect) {
			memcpy(so.dmac, fl->be->mac, 6);
			memcpy(so.smac, MAC_VB0, 6);
		}
	}
	si.vlan = so.vlan = fr->vlan;
	si.ttl = fr->ttl;
	so.ttl = redirect ? (fr->ttl ? fr->ttl : 64) - 1 : fr->ttl;
	return ASSERT_OK(pkt_build_icmp_error(in, &si, e->type, e->code, e->rest, &qin, qlen),
			 e->name) &&
	       ASSERT_OK(pkt_build_icmp_error(out, &so, e->type, e->code, e->rest, &qout, qlen),
			 e->name);
}

static bool err_build(const struct err_def *e, bool redirect, struct pkt *in, struct pkt *out)
{
	static const struct err_frame plain = {0, 0, NULL};

	return err_build_frame(e, &plain, redirect, in, out);
}

/* Runs each error against the flows of the family (opened with their replies). */
static void err_run(const struct err_def *e, size_t n, const struct flow *tcp,
		    const struct flow *udp)
{
	struct bpf_map *vip_stats = lb_env.skel->maps.veer_vip_stats;
	struct bpf_map *be_stats = lb_env.skel->maps.veer_be_stats;
	struct veer_counters vip_before, be_before, vip_after, be_after;
	struct veer_flow before, after;
	struct pkt in, out;

	if (!lb_begin() || !lb_vips_basic() || !flow_open(tcp, true) || !flow_open(udp, true))
		return;
	if (!ASSERT_TRUE(
		    lb_flow_get(tcp->client, tcp->cport, tcp->vip, tcp->vport, tcp->proto, &before),
		    "forward entry"))
		return;
	vip_before = lb_counters(vip_stats, tcp->be == &BE_TCP4 ? VIP_TCP4 : VIP_TCP6);
	be_before = lb_counters(be_stats, tcp->be->id);
	for (size_t i = 0; i < n; i++) {
		struct lb_fixture fx = {
			e[i].name,    &in,  e[i].to_client ? FROM_BACKEND : FROM_CLIENT,
			XDP_REDIRECT, &out, VEER_FWD_ICMP_ERROR};

		if (err_build(&e[i], true, &in, &out))
			lb_fixture_run(&fx);
	}
	/* Errors are no traffic of the flow: no counter of its VIP or backend, no refresh. */
	vip_after = lb_counters(vip_stats, tcp->be == &BE_TCP4 ? VIP_TCP4 : VIP_TCP6);
	be_after = lb_counters(be_stats, tcp->be->id);
	ASSERT_MEMEQ(&vip_after, sizeof(vip_after), &vip_before, sizeof(vip_before),
		     "VIP counters unchanged");
	ASSERT_MEMEQ(&be_after, sizeof(be_after), &be_before, sizeof(be_before),
		     "backend counters unchanged");
	ASSERT_EQ(vip_after.packets, 1, "VIP: the flow's packet");
	ASSERT_EQ(vip_after.reply_packets, 1, "VIP: the flow's reply");
	if (ASSERT_TRUE(
		    lb_flow_get(tcp->client, tcp->cport, tcp->vip, tcp->vport, tcp->proto, &after),
		    "forward entry"))
		ASSERT_EQ(after.last_seen, before.last_seen, "forward entry not refreshed");
	ASSERT_EQ(lb_flow_count(), 2, "flow entries");
}

LB_TEST(lb_icmp_err4_to_client)
{
	static const struct err_def e[] = {
		{"frag-needed from a router, whole quote", &TCP4, true, true, 3, 4, 1400, 0},
		{"port unreachable from the backend, 8 bytes of UDP", &UDP4, true, false, 3, 3, 0,
		 28},
		{"host unreachable from a router, TCP to its checksum", &TCP4, true, true, 3, 1, 0,
		 38},
		{"time exceeded from a router, 8 bytes of TCP", &TCP4, true, true, 11, 0, 0, 28},
		{"parameter problem from the backend", &TCP4, true, false, 12, 0, 20u << 24, 0},
	};

	err_run(e, ARRAY_LEN(e), &TCP4, &UDP4);
}

LB_TEST(lb_icmp_err4_to_vip)
{
	static const struct err_def e[] = {
		{"frag-needed from a router, whole quote", &TCP4, false, true, 3, 4, 1400, 0},
		{"port unreachable from the client, 8 bytes of UDP", &UDP4, false, false, 3, 3, 0,
		 28},
		{"time exceeded from a router, 8 bytes of TCP", &TCP4, false, true, 11, 0, 0, 28},
		{"parameter problem from the client", &TCP4, false, false, 12, 0, 20u << 24, 0},
		{"host unreachable from a router, UDP whole", &UDP4, false, true, 3, 1, 0, 0},
	};

	err_run(e, ARRAY_LEN(e), &TCP4, &UDP4);
}

LB_TEST(lb_icmp_err6_to_client)
{
	static const struct err_def e[] = {
		{"packet too big from a router, whole quote", &TCP6, true, true, 2, 0, 1280, 0},
		{"port unreachable from the backend, 8 bytes of UDP", &UDP6, true, false, 1, 4, 0,
		 48},
		{"time exceeded from a router, 8 bytes of TCP", &TCP6, true, true, 3, 0, 0, 48},
		{"parameter problem from the backend", &TCP6, true, false, 4, 0, 40, 0},
		{"address unreachable from a router, UDP whole", &UDP6, true, true, 1, 3, 0, 0},
	};

	err_run(e, ARRAY_LEN(e), &TCP6, &UDP6);
}

LB_TEST(lb_icmp_err6_to_vip)
{
	static const struct err_def e[] = {
		{"packet too big from a router, whole quote", &TCP6, false, true, 2, 0, 1280, 0},
		{"port unreachable from the client, 8 bytes of UDP", &UDP6, false, false, 1, 4, 0,
		 48},
		{"time exceeded from a router, TCP to its checksum", &TCP6, false, true, 3, 0, 0,
		 58},
		{"parameter problem from the client", &TCP6, false, false, 4, 0, 6, 0},
	};

	err_run(e, ARRAY_LEN(e), &TCP6, &UDP6);
}

/*
 * Rewritten but handed to the stack: the reply entry has no next hop before the backend's first
 * reply, and a frame with an 802.1Q tag is never redirected (as in nat_forward). Counted
 * icmp_error all the same. A TTL that would expire at veer: passed untouched (ttl).
 */
LB_TEST(lb_icmp_err_stack)
{
	static const struct err_def no_hop4 = {
		"IPv4, reply entry without a hop", &TCP4, true, false, 3, 4, 1400, 0};
	static const struct err_def no_hop6 = {
		"IPv6, reply entry without a hop", &TCP6, true, false, 2, 0, 1280, 0};
	static const struct err_def vlan4 = {
		"802.1Q, to the VIP", &UDP4, false, false, 3, 3, 0, 28};
	static const struct err_def ttl1 = {"TTL 1, to the client", &UDP4, true, true, 3, 3, 0, 28};
	static const struct err_def ttl1_6 = {
		"hop limit 1, to the VIP", &UDP6, false, true, 1, 4, 0, 48};
	static const struct err_frame tagged = {100, 0, NULL}, expiring = {0, 1, NULL};
	struct pkt in[5], out[5];
	struct lb_fixture fx[] = {
		{no_hop4.name, &in[0], FROM_BACKEND, XDP_PASS, &out[0], VEER_FWD_ICMP_ERROR},
		{no_hop6.name, &in[1], FROM_BACKEND, XDP_PASS, &out[1], VEER_FWD_ICMP_ERROR},
		{vlan4.name, &in[2], FROM_CLIENT, XDP_PASS, &out[2], VEER_FWD_ICMP_ERROR},
		{ttl1.name, &in[3], FROM_BACKEND, XDP_PASS, NULL, VEER_PASS_TTL},
		{ttl1_6.name, &in[4], FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_TTL},
	};
	struct veer_flow f;

	if (!lb_begin() || !lb_vips_basic() || !flow_open(&TCP4, false) ||
	    !flow_open(&TCP6, false) || !flow_open(&UDP4, true) || !flow_open(&UDP6, true))
		return;
	if (!err_build(&no_hop4, false, &in[0], &out[0]) ||
	    !err_build(&no_hop6, false, &in[1], &out[1]) ||
	    !err_build_frame(&vlan4, &tagged, false, &in[2], &out[2]) ||
	    !err_build_frame(&ttl1, &expiring, true, &in[3], &out[3]) ||
	    !err_build_frame(&ttl1_6, &expiring, true, &in[4], &out[4]) ||
	    !lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	/* The error resolved no hop: the first reply still does. */
	if (ASSERT_TRUE(lb_flow_get(BE_TCP4.addr, 8080, CLIENT4, TCP4.cport, IPPROTO_TCP, &f),
			"reply entry"))
		ASSERT_EQ(f.hop_resolved, 0, "reply entry: still no hop");
}

/* The quote of an error (a copy to edit), and the inner IPv4 header's checksum recomputed. */
static __u8 *quote_of(struct pkt *p)
{
	return pkt_icmp(p) + 8;
}

static void quote_fix_ip4(struct pkt *p)
{
	__u8 *q = quote_of(p);
	__u16 c;

	q[10] = q[11] = 0;
	c = csum_finish_rfc1071(csum_partial_rfc1071(q, 20, 0));
	q[10] = c >> 8;
	q[11] = c;
}

static void with_ip_opts(struct pkt_spec *s)
{
	s->ip_opts = 8;
}

static void without_udp_csum(struct pkt_spec *s)
{
	s->udp_nocsum = true;
}

/*
 * Quotes of other shapes: an inner IPv4 header with options (the ports behind it), and a
 * UDP/IPv4 datagram sent without a checksum, whose 0 stays 0.
 */
LB_TEST(lb_icmp_err_quote_shapes)
{
	static const struct err_def opts = {"inner IPv4 options", &TCP4, true, true, 3, 4, 1400, 0};
	static const struct err_def nocsum = {
		"inner UDP without checksum", &UDP4, false, false, 3, 3, 0, 28};
	static const struct err_frame with_opts = {0, 0, with_ip_opts};
	static const struct err_frame no_csum = {0, 0, without_udp_csum};
	struct pkt in[2], out[2];
	struct lb_fixture fx[] = {
		{opts.name, &in[0], FROM_BACKEND, XDP_REDIRECT, &out[0], VEER_FWD_ICMP_ERROR},
		{nocsum.name, &in[1], FROM_CLIENT, XDP_REDIRECT, &out[1], VEER_FWD_ICMP_ERROR},
	};

	if (!lb_begin() || !lb_vips_basic() || !flow_open(&TCP4, true) || !flow_open(&UDP4, true) ||
	    !err_build_frame(&opts, &with_opts, true, &in[0], &out[0]) ||
	    !err_build_frame(&nocsum, &no_csum, true, &in[1], &out[1]))
		return;
	ASSERT_EQ(quote_of(&in[0])[0], 0x47, "fixture: IHL 7");
	ASSERT_EQ(quote_of(&out[1])[26] << 8 | quote_of(&out[1])[27], 0,
		  "fixture: no UDP checksum");
	lb_fixtures_run(fx, ARRAY_LEN(fx));
}

/*
 * Quotes veer cannot read or that contradict themselves, about a flow or possibly one: dropped
 * (bad_icmp), never rewritten. An inner IPv4 header checksum is checked only for a quote that
 * matches a flow: elsewhere it is not veer's business.
 */
LB_TEST(lb_icmp_err_bad_quote)
{
	static const struct err_def base4 = {"IPv4", &TCP4, true, false, 3, 4, 1400, 0};
	static const struct err_def base6 = {"IPv6", &TCP6, true, false, 2, 0, 1280, 0};
	static const struct flow other = {CLIENT4, OTHER4, 40100, 80, IPPROTO_TCP, &BE_TCP4};
	static const struct err_def other4 = {"no flow", &other, false, true, 3, 3, 0, 0};
	enum { Q27, Q20, Q10, QPAD, VER6, IHL4, IHL15, TOT19, CSUM, Q6_47, Q6_30, VER4, NOFLOW, N };
	struct pkt in[N], out;
	struct lb_fixture fx[] = {
		{"IPv4 quote: 7 bytes of TCP", &in[Q27], FROM_BACKEND, XDP_DROP, NULL,
		 VEER_DROP_BAD_ICMP},
		{"IPv4 quote: header only", &in[Q20], FROM_BACKEND, XDP_DROP, NULL,
		 VEER_DROP_BAD_ICMP},
		{"IPv4 quote: header cut", &in[Q10], FROM_BACKEND, XDP_DROP, NULL,
		 VEER_DROP_BAD_ICMP},
		{"IPv4 quote: 7 bytes of TCP, then Ethernet padding", &in[QPAD], FROM_BACKEND,
		 XDP_DROP, NULL, VEER_DROP_BAD_ICMP},
		{"IPv4 quote: version 6", &in[VER6], FROM_BACKEND, XDP_DROP, NULL,
		 VEER_DROP_BAD_ICMP},
		{"IPv4 quote: IHL 4", &in[IHL4], FROM_BACKEND, XDP_DROP, NULL, VEER_DROP_BAD_ICMP},
		{"IPv4 quote: IHL 15 in 28 bytes", &in[IHL15], FROM_BACKEND, XDP_DROP, NULL,
		 VEER_DROP_BAD_ICMP},
		{"IPv4 quote: total length 19", &in[TOT19], FROM_BACKEND, XDP_DROP, NULL,
		 VEER_DROP_BAD_ICMP},
		{"IPv4 quote of a flow: header checksum wrong", &in[CSUM], FROM_BACKEND, XDP_DROP,
		 NULL, VEER_DROP_BAD_ICMP},
		{"IPv6 quote: 7 bytes of TCP", &in[Q6_47], FROM_BACKEND, XDP_DROP, NULL,
		 VEER_DROP_BAD_ICMP},
		{"IPv6 quote: header cut", &in[Q6_30], FROM_BACKEND, XDP_DROP, NULL,
		 VEER_DROP_BAD_ICMP},
		{"IPv6 quote: version 4", &in[VER4], FROM_BACKEND, XDP_DROP, NULL,
		 VEER_DROP_BAD_ICMP},
		{"IPv4 quote of no flow: header checksum wrong", &in[NOFLOW], FROM_CLIENT, XDP_PASS,
		 NULL, VEER_PASS_NOT_VIP},
	};
	struct err_def e;
	bool ok = true;

	if (!lb_begin() || !lb_vips_basic() || !flow_open(&TCP4, true) || !flow_open(&TCP6, true))
		return;
	e = base4;
	for (int i = Q27; i <= CSUM; i++) {
		e.quote = i == Q27 || i == QPAD ? 27 : i == Q20 ? 20 : i == Q10 ? 10 : 28;
		ok &= err_build(&e, true, &in[i], &out);
	}
	e = base6;
	e.quote = 47;
	ok &= err_build(&e, true, &in[Q6_47], &out);
	e.quote = 30;
	ok &= err_build(&e, true, &in[Q6_30], &out);
	e.quote = 0;
	ok &= err_build(&e, true, &in[VER4], &out);
	ok &= err_build(&other4, true, &in[NOFLOW], &out);
	if (!ok)
		return;
	in[QPAD].len += 20; /* zeroes past the datagram */
	quote_of(&in[VER6])[0] = 0x65;
	quote_of(&in[IHL4])[0] = 0x44;
	quote_of(&in[IHL15])[0] = 0x4f;
	quote_of(&in[TOT19])[2] = 0;
	quote_of(&in[TOT19])[3] = 19;
	quote_fix_ip4(&in[TOT19]);
	quote_of(&in[CSUM])[10] ^= 0x5a;
	quote_of(&in[VER4])[0] = 0x45;
	quote_of(&in[NOFLOW])[10] ^= 0x5a;
	for (int i = 0; i < N; i++)
		pkt_icmp_fix_csum(&in[i]);
	ASSERT_EQ(in[QPAD].len, in[Q27].len + 20, "fixture: padded");
	lb_fixtures_run(fx, ARRAY_LEN(fx));
}

/*
 * Errors veer has no business with, passed untouched: a quote of a packet of no VIP, a forged
 * quote of a flow that does not exist (either direction), quotes of what veer never tracks (an
 * ICMP packet, a later fragment, an IPv6 packet behind an extension header), and ICMP types
 * veer does not rewrite (an IPv4 redirect about a flow).
 */
LB_TEST(lb_icmp_err_not_vip)
{
	static const struct flow no_vip = {CLIENT4, OTHER4, 40100, 80, IPPROTO_TCP, &BE_TCP4};
	static const struct flow forged = {CLIENT4, VIP4, 40999, 80, IPPROTO_TCP, &BE_TCP4};
	static const struct flow forged6 = {CLIENT6, VIP6, 40999, 53, IPPROTO_UDP, &BE_UDP6};
	static const struct err_def e[] = {
		{"quote of a packet to no VIP", &no_vip, false, true, 3, 1, 0, 0},
		{"forged quote client -> backend", &forged, true, false, 3, 4, 1400, 0},
		{"forged quote VIP -> client", &forged, false, true, 11, 0, 0, 28},
		{"forged IPv6 quote VIP -> client", &forged6, false, false, 1, 4, 0, 48},
		{"redirect about a flow", &TCP4, true, true, 5, 1, 0xc612fe01, 0},
	};
	enum { ICMPQ = ARRAY_LEN(e), FRAGQ, EXTQ, N };
	struct pkt in[N], out, inner;
	struct lb_fixture fx[N];
	struct pkt_spec s, o = {};
	bool ok = true;

	if (!lb_begin() || !lb_vips_basic() || !flow_open(&TCP4, true) || !flow_open(&UDP6, true))
		return;
	for (size_t i = 0; i < ARRAY_LEN(e); i++) {
		ok &= err_build(&e[i], true, &in[i], &out);
		fx[i] = (struct lb_fixture){
			e[i].name, &in[i], e[i].to_client ? FROM_BACKEND : FROM_CLIENT,
			XDP_PASS,  NULL,   VEER_PASS_NOT_VIP};
	}
	/* Errors from a router to the client about its ICMP, its later fragment, its IPv6. */
	o.saddr = ROUTER_B4;
	o.daddr = CLIENT4;
	memcpy(o.smac, MAC_ROUTER_B, 6);
	memcpy(o.dmac, MAC_VB0, 6);
	s = lb_spec_fwd(lb_spec_c2v(CLIENT4, 0, VIP4, 0, IPPROTO_ICMP), &BE_TCP4, true);
	ok &= lb_pkt_build(&inner, s, "ICMP quote") &&
	      ASSERT_OK(pkt_build_icmp_error(&in[ICMPQ], &o, 11, 0, 0, &inner, 28), "ICMP quote");
	s = lb_spec_fwd(flow_c2v(&TCP4), &BE_TCP4, true);
	s.frag = 185; /* offset 1480: no TCP header, its first bytes are data */
	ok &= lb_pkt_build(&inner, s, "fragment quote") &&
	      ASSERT_OK(pkt_build_icmp_error(&in[FRAGQ], &o, 3, 4, 1400, &inner, 28),
			"fragment quote");
	o.saddr = ROUTER_B6;
	o.daddr = CLIENT6;
	s = lb_spec_fwd(flow_c2v(&UDP6), &BE_UDP6, true);
	s.v6_frag = true; /* an atomic fragment: the UDP header behind a fragment header */
	ok &= lb_pkt_build(&inner, s, "extension header quote") &&
	      ASSERT_OK(
		      pkt_build_icmp_error(&in[EXTQ], &o, 2, 0, 1280, &inner, inner.len - ETH_HLEN),
		      "extension header quote");
	fx[ICMPQ] = (struct lb_fixture){
		"quote of an ICMP echo", &in[ICMPQ], FROM_BACKEND, XDP_PASS, NULL,
		VEER_PASS_NOT_VIP};
	fx[FRAGQ] = (struct lb_fixture){"quote of a later fragment",
					&in[FRAGQ],
					FROM_BACKEND,
					XDP_PASS,
					NULL,
					VEER_PASS_NOT_VIP};
	fx[EXTQ] = (struct lb_fixture){"IPv6 quote behind a fragment header",
				       &in[EXTQ],
				       FROM_BACKEND,
				       XDP_PASS,
				       NULL,
				       VEER_PASS_NOT_VIP};
	if (ok)
		lb_fixtures_run(fx, N);
}

/* The VIP of one of lb_vips_basic's flows. */
static __u32 flow_vip_id(const struct flow *fl)
{
	if (is6(fl->client))
		return fl->proto == IPPROTO_TCP ? VIP_TCP6 : VIP_UDP6;
	return fl->proto == IPPROTO_TCP ? VIP_TCP4 : VIP_UDP4;
}

/*
 * Errors about a flow from a martian source are dropped before they refresh anything, the
 * backend's next hop included: every flow of the backend shares it, and IPv6 answers no lookup
 * from a link-local, multicast or loopback source, so a hop resolved for such an error would
 * send the backend's traffic to the stack until the next refresh, 5 s later. The hops are made
 * due for that refresh first: the errors are the first packets to find them old.
 */
static void err_martian(const struct flow *tcp, const struct flow *udp, const char *const *src,
			size_t n)
{
	const struct flow *fl[2] = {tcp, udp};
	struct veer_be_hop *before[2] = {}, *after;
	struct pkt in, qin, qout;
	char w[128];
	struct lb_fixture fx = {w, &in, FROM_CLIENT, XDP_DROP, NULL, VEER_DROP_MARTIAN};
	struct veer_flow f;

	if (!lb_begin() || !lb_vips_basic() || !flow_open(tcp, true) || !flow_open(udp, true))
		return;
	for (int i = 0; i < 2; i++) {
		if (!lb_backend_hop_age(fl[i]->be->id, VEER_FLOW_REFRESH_NS + 1000000000ULL))
			goto cleanup;
		before[i] = lb_backend_hops(fl[i]->be->id);
		if (!ASSERT_TRUE(before[i], "read the backend's next hop"))
			goto cleanup;
	}
	for (size_t s = 0; s < n; s++) {
		for (int i = 0; i < 2; i++) {
			bool v6 = is6(fl[i]->client);
			struct pkt_spec si = {.saddr = src[s], .daddr = fl[i]->vip, .ttl = 64};

			snprintf(w, sizeof(w), "error from %s about the %s flow", src[s],
				 fl[i]->proto == IPPROTO_TCP ? "TCP" : "UDP");
			memcpy(si.smac, MAC_ROUTER_C, 6);
			memcpy(si.dmac, MAC_VC0, 6);
			if (!quote_pair(fl[i], false, NULL, &qin, &qout) ||
			    !ASSERT_OK(pkt_build_icmp_error(&in, &si, v6 ? 2 : 3, v6 ? 0 : 4,
							    v6 ? 1280 : 1400, &qin,
							    qin.len - ETH_HLEN),
				       w) ||
			    !lb_fixture_run(&fx))
				goto cleanup;
		}
	}
	for (int i = 0; i < 2; i++) {
		snprintf(w, sizeof(w), "%s: next hop untouched by the martians", fl[i]->be->addr);
		after = lb_backend_hops(fl[i]->be->id);
		if (!ASSERT_TRUE(after, w) ||
		    !ASSERT_MEMEQ(after, lb_env.ncpus * sizeof(*after), before[i],
				  lb_env.ncpus * sizeof(*after), w)) {
			free(after);
			goto cleanup;
		}
		free(after);
		/* The flow's next packet refreshes the hop, and finds the backend. */
		if (!flow_open(fl[i], false) ||
		    !ASSERT_TRUE(lb_flow_get(fl[i]->client, fl[i]->cport, fl[i]->vip, fl[i]->vport,
					     fl[i]->proto, &f),
				 "forward entry"))
			goto cleanup;
		snprintf(w, sizeof(w), "after errors from martians, %s", fl[i]->be->addr);
		lb_check_forward_entry(&f, flow_vip_id(fl[i]), fl[i]->be, true, w);
	}
cleanup:
	free(before[0]);
	free(before[1]);
}

LB_TEST(lb_icmp_err_martian6)
{
	static const char *const src[] = {"fe80::1", "ff02::1", "::1", "::ffff:198.18.1.9", "::"};

	err_martian(&TCP6, &UDP6, src, ARRAY_LEN(src));
}

LB_TEST(lb_icmp_err_martian4)
{
	static const char *const src[] = {"127.0.0.1", "0.0.0.1", "224.0.0.1", "255.255.255.255"};

	err_martian(&TCP4, &UDP4, src, ARRAY_LEN(src));
}
