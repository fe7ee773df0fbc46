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
static bool echo_pair(const char *client, const char *dst, enum side from, __u16 vlan,
		      __u8 ip_opts, struct pkt *req, struct pkt *reply)
{
	struct pkt_spec s = lb_spec_c2v(client, 0, dst, 0, is6(client) ? IPPROTO_ICMPV6
								     : IPPROTO_ICMP);
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
		other6, reply4, frag4, v4in6;
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
		{"first fragment of an echo to the VIP address", &frag4, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"ICMP (not ICMPv6) echo over IPv6", &v4in6, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
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
	     echo_pair(CLIENT4, VIP4, FROM_CLIENT, 0, 0, &reply4, NULL);
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
	struct lb_fixture answered = {"echo, VIP address", &req, FROM_CLIENT, tx_verdict(),
				      &rep, VEER_TX_ICMP_ECHO};
	struct lb_fixture passed = {"echo, no VIP at the address", &req, FROM_CLIENT, XDP_PASS,
				    NULL, VEER_PASS_NOT_VIP};
	struct veer_vip_addr_key k = {};
	__u32 n = 0;

	if (!lb_begin() || !echo_pair(CLIENT4, VIP4, FROM_CLIENT, 0, 0, &req, &rep) ||
	    !lb_fixture_run(&passed))
		return;
	k.family = lb_addr_parse(VIP4, &k.addr);
	if (!lb_add_vip(VIP_TCP4, VIP4, 80, IPPROTO_TCP, 0, VEER_MODE_NAT) ||
	    !lb_add_vip(VIP_UDP4, VIP4, 53, IPPROTO_UDP, 0, VEER_MODE_NAT) ||
	    !lb_add_vip(VIP_TCP6, VIP6, 80, IPPROTO_TCP, 0, VEER_MODE_NAT) ||
	    !lb_fixture_run(&answered))
		return;
	ASSERT_OK(bpf_map__lookup_elem(lb_env.skel->maps.veer_vip_addrs, &k, sizeof(k), &n,
				       sizeof(n), 0),
		  "address entry");
	ASSERT_EQ(n, 2, "two VIPs at the address");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_vip_addrs), 2, "two addresses");
	if (!lb_del_vip(VIP4, 80, IPPROTO_TCP) || !lb_fixture_run(&answered))
		return;
	ASSERT_OK(bpf_map__lookup_elem(lb_env.skel->maps.veer_vip_addrs, &k, sizeof(k), &n,
				       sizeof(n), 0),
		  "address entry");
	ASSERT_EQ(n, 1, "one VIP left at the address");
	if (!lb_del_vip(VIP4, 53, IPPROTO_UDP) || !lb_fixture_run(&passed))
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
static bool quote_pair(const struct flow *fl, bool to_client, struct pkt *in, struct pkt *out)
{
	struct pkt_spec s = to_client ? flow_c2v(fl) : flow_b2c(fl);
	bool ok;

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
	bool to_client;	  /* quote client -> backend, error to the client; else quote VIP -> client */
	bool from_router; /* sent by a router on the way, not by the backend / the client */
	__u8 type, code;
	__u32 rest;	  /* the 4 bytes after the checksum: MTU, pointer */
	__u32 quote;	  /* bytes of the quoted datagram; 0 = all of it */
};

/*
 * The error as it reaches veer and as it must leave. Toward the client: from the backend (whose
 * address becomes the VIP's) or a router (kept). Toward the VIP: from the client or a router,
 * to the VIP, which becomes the backend. Forwarded (redirect): next hop's MACs, TTL 63; handed
 * to the stack: MACs and TTL as they came.
 */
static bool err_build(const struct err_def *e, bool redirect, struct pkt *in, struct pkt *out)
{
	const struct flow *fl = e->fl;
	bool v6 = is6(fl->client);
	struct pkt_spec si = {}, so;
	struct pkt qin, qout;
	__u32 qlen;

	if (!quote_pair(fl, e->to_client, &qin, &qout))
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
	if (redirect)
		so.ttl = 63;
	return ASSERT_OK(pkt_build_icmp_error(in, &si, e->type, e->code, e->rest, &qin, qlen),
			 e->name) &&
	       ASSERT_OK(pkt_build_icmp_error(out, &so, e->type, e->code, e->rest, &qout, qlen),
			 e->name);
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
	if (!ASSERT_TRUE(lb_flow_get(tcp->client, tcp->cport, tcp->vip, tcp->vport, tcp->proto,
				     &before),
			 "forward entry"))
		return;
	vip_before = lb_counters(vip_stats, tcp->be == &BE_TCP4 ? VIP_TCP4 : VIP_TCP6);
	be_before = lb_counters(be_stats, tcp->be->id);
	for (size_t i = 0; i < n; i++) {
		struct lb_fixture fx = {e[i].name,   &in, e[i].to_client ? FROM_BACKEND : FROM_CLIENT,
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
	if (ASSERT_TRUE(lb_flow_get(tcp->client, tcp->cport, tcp->vip, tcp->vport, tcp->proto,
				    &after),
			"forward entry"))
		ASSERT_EQ(after.last_seen, before.last_seen, "forward entry not refreshed");
	ASSERT_EQ(lb_flow_count(), 4, "flow entries");
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
