// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_RUN fixtures of header hygiene (bpf/lib/parse.h, ipv6_ext.h, hygiene.h): the IPv4
 * header checksum, IPv6 payload length 0, the IPv6 extension header walk, and what a packet
 * that matches a flow or a VIP must satisfy before veer creates state or rewrites a byte
 * (martian source, TCP data offset, UDP length, TTL / hop limit). Every expected output is
 * built with the packet builder from a spec, never with the data plane's arithmetic; a frame
 * veer must not touch is checked to come out unchanged. Harness: lb_harness.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <linux/if_ether.h>
#include "lb_harness.h"

#define NEXT_HOP  0
#define NEXT_RT	  43
#define NEXT_FRAG 44
#define NEXT_ESP  50
#define NEXT_AH	  51
#define NEXT_NONE 59
#define NEXT_DST  60
#define NEXT_MOB  135

/* Frames built by a test, from a pool reset by each test (they are big: PKT_MAX each). */
#define POOL 96
static struct pkt pool[POOL];
static int npool;

static struct pkt *pkt_new(void)
{
	if (!ASSERT_TRUE(npool < POOL, "frame pool"))
		return NULL;
	memset(&pool[npool], 0, sizeof(pool[npool]));
	return &pool[npool++];
}

static struct pkt *mk(struct pkt_spec s, const char *what)
{
	struct pkt *p = pkt_new();

	return p && lb_pkt_build(p, s, what) ? p : NULL;
}

static struct pkt *copy(const struct pkt *src)
{
	struct pkt *p = src ? pkt_new() : NULL;

	if (p)
		*p = *src;
	return p;
}

/* Runs the fixtures, each of which must have been built (NULL frames fail, not crash). */
static bool run(const struct lb_fixture *fx, size_t n)
{
	bool ok = true;

	for (size_t i = 0; i < n; i++) {
		if (!fx[i].in || (fx[i].verdict == XDP_REDIRECT && !fx[i].out)) {
			ok = veer_test_fail(__FILE__, __LINE__, "%s: frame not built", fx[i].name);
			continue;
		}
		ok &= lb_fixture_run(&fx[i]);
	}
	return ok;
}

static bool begin(void)
{
	npool = 0;
	return lb_begin() && lb_vips_basic();
}

/* No flow state and no VIP counted: what every refused packet must leave behind. */
static void no_state(const char *what)
{
	char w[128];

	snprintf(w, sizeof(w), "%s: no flow entries", what);
	ASSERT_EQ(lb_flow_count(), 0, w);
	for (__u32 id = VIP_TCP4; id <= VIP_UDP6; id++)
		lb_counters_eq(lb_env.skel->maps.veer_vip_stats, id, 0, 0, 0, 0, 0, what);
}

/* The L4 header of an unfragmented frame the builder made. */
static __u8 *l4_of(struct pkt *p, __u8 proto)
{
	__u8 *pl = pkt_payload(p);

	return pl ? pl - (proto == IPPROTO_TCP ? 20 : 8) : NULL;
}

/* A client's packet to VIP6 behind extension headers. */
static struct pkt_spec c2v6(__u16 sport, __u8 proto, const struct pkt_ext6 *e, int n)
{
	struct pkt_spec s =
		lb_spec_c2v(CLIENT6, sport, VIP6, proto == IPPROTO_TCP ? 80 : 53, proto);

	s.ext6_n = n;
	memcpy(s.ext6, e, n * sizeof(*e));
	return s;
}

static const struct be_def *be6(__u8 proto)
{
	return proto == IPPROTO_TCP ? &BE_TCP6 : &BE_UDP6;
}

/* A forwarded fixture: the client's packet behind e, and what the backend should get. */
static struct lb_fixture fwd6(const char *name, __u16 sport, __u8 proto, const struct pkt_ext6 *e,
			      int n)
{
	struct pkt_spec s = c2v6(sport, proto, e, n);
	struct lb_fixture fx = {name,
				mk(s, name),
				FROM_CLIENT,
				XDP_REDIRECT,
				mk(lb_spec_fwd(s, be6(proto), true), name),
				VEER_REASON_NONE};

	return fx;
}

/* A fixture whose frame must come out unchanged. */
static struct lb_fixture same(const char *name, const struct pkt *in, __u32 verdict,
			      enum veer_reason reason)
{
	struct lb_fixture fx = {name, in, FROM_CLIENT, verdict, NULL, reason};

	return fx;
}

/* ---- rule 2: the IPv4 header checksum ---- */

static struct pkt *bad_ip_csum(const struct pkt *src)
{
	struct pkt *p = copy(src);

	if (p)
		pkt_ip4(p)->check ^= htons(0x0100);
	return p;
}

/* An option byte changed and the header checksum left as it was. */
static struct pkt *bad_option(const struct pkt *src)
{
	struct pkt *p = copy(src);

	if (p)
		((__u8 *)pkt_ip4(p))[sizeof(struct iphdr) + 3] ^= 0x40;
	return p;
}

LB_TEST(lb_hdr_ip4_csum)
{
	struct pkt_spec s15 = lb_spec_c2v(CLIENT4, 41000, VIP4, 80, IPPROTO_TCP);
	struct pkt_spec sx = lb_spec_c2v(CLIENT4, 41001, VIP4, 80, IPPROTO_TCP);
	struct pkt *ihl15, *ihl15_out, *o15, *x, *x_out;

	if (!begin())
		return;
	/*
	 * Its five words sum to 0xffffffff: folded to 17 bits that is 0x1fffe, not 0xffff, and
	 * the header is right all the same (the data plane stops folding there).
	 */
	sx.ip_id = 61139;
	x = mk(sx, "sum 0x1fffe");
	x_out = mk(lb_spec_fwd(sx, &BE_TCP4, true), "sum 0x1fffe out");
	s15.ip_opts = 40; /* IHL 15 */
	ihl15 = mk(s15, "IHL 15");
	ihl15_out = mk(lb_spec_fwd(s15, &BE_TCP4, true), "IHL 15 out");
	s15.daddr = OTHER4;
	o15 = mk(s15, "IHL 15 to no VIP");
	{
		const struct lb_fixture fx[] = {
			same("TCP to a VIP", bad_ip_csum(&P.tcp4), XDP_DROP, VEER_DROP_BAD_IP_CSUM),
			same("UDP to a VIP", bad_ip_csum(&P.udp4), XDP_DROP, VEER_DROP_BAD_IP_CSUM),
			same("TCP to no VIP", bad_ip_csum(&P.other4), XDP_DROP,
			     VEER_DROP_BAD_IP_CSUM),
			same("ICMP echo to no VIP", bad_ip_csum(&P.icmp4), XDP_DROP,
			     VEER_DROP_BAD_IP_CSUM),
			same("later fragment", bad_ip_csum(&P.frag4_tail), XDP_DROP,
			     VEER_DROP_BAD_IP_CSUM),
			same("IHL 6, an option byte changed", bad_option(&P.opts4), XDP_DROP,
			     VEER_DROP_BAD_IP_CSUM),
			same("IHL 15, an option byte changed", bad_option(ihl15), XDP_DROP,
			     VEER_DROP_BAD_IP_CSUM),
			same("IHL 15 to no VIP, bad checksum", bad_ip_csum(o15), XDP_DROP,
			     VEER_DROP_BAD_IP_CSUM),
			{"IHL 15, checksum right", ihl15, FROM_CLIENT, XDP_REDIRECT, ihl15_out,
			 VEER_REASON_NONE},
			{"IHL 6, checksum right", &P.opts4, FROM_CLIENT, XDP_REDIRECT, &P.opts4_out,
			 VEER_REASON_NONE},
			{"words summing to 0xffffffff, checksum right", x, FROM_CLIENT,
			 XDP_REDIRECT, x_out, VEER_REASON_NONE},
		};

		if (!run(fx, ARRAY_LEN(fx)))
			return;
	}
	ASSERT_EQ(lb_flow_count(), 3, "three flows: the good packets");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 3,
		       ihl15->len + P.opts4.len + x->len, 3, 0, 0, "VIP");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_UDP4, 0, 0, 0, 0, 0, "UDP VIP");
}

/* ---- rule 3: IPv6 payload length 0 ---- */

static struct pkt *plen0(const struct pkt *src)
{
	struct pkt *p = copy(src);

	if (p)
		pkt_ip6(p)->payload_len = 0;
	return p;
}

LB_TEST(lb_hdr_ip6_plen0)
{
	const struct pkt_ext6 hbh[] = {{NEXT_HOP, 0}};
	struct lb_fixture fx[3];

	if (!begin())
		return;
	fx[0] = same("TCP to a VIP", plen0(&P.tcp6), XDP_DROP, VEER_DROP_BAD_L3);
	fx[1] = same("TCP to no VIP", plen0(&P.other6), XDP_DROP, VEER_DROP_BAD_L3);
	/* A jumbogram would carry its length in a hop-by-hop option: not supported. */
	fx[2] = same("UDP behind hop-by-hop", plen0(mk(c2v6(41010, IPPROTO_UDP, hbh, 1), "hbh")),
		     XDP_DROP, VEER_DROP_BAD_L3);
	if (run(fx, ARRAY_LEN(fx)))
		no_state("payload length 0");
}

/* ---- rule 4: the extension header chain ---- */

/* Each extension header alone, with lengths that tell the formulas apart. */
LB_TEST(lb_hdr_ext_single)
{
	static const struct {
		const char *name;
		struct pkt_ext6 e;
	} one[] = {
		{"hop-by-hop, 8 bytes", {NEXT_HOP, 0}},
		{"hop-by-hop, 24 bytes", {NEXT_HOP, 2}},
		{"routing, 8 bytes", {NEXT_RT, 0}},
		{"routing, 40 bytes", {NEXT_RT, 4}},
		{"destination options, 16 bytes", {NEXT_DST, 1}},
		{"AH, 12 bytes (length 1)", {NEXT_AH, 1}},
		{"AH, 24 bytes (length 4)", {NEXT_AH, 4}},
		{"atomic fragment", {NEXT_FRAG, 0}},
	};
	struct lb_fixture fx[2 * ARRAY_LEN(one)];
	char names[2 * ARRAY_LEN(one)][96];
	int n = 0;

	if (!begin())
		return;
	for (size_t i = 0; i < ARRAY_LEN(one); i++) {
		for (int t = 0; t < 2; t++) {
			__u8 proto = t ? IPPROTO_UDP : IPPROTO_TCP;

			snprintf(names[n], sizeof(names[n]), "%s, %s", one[i].name,
				 t ? "UDP" : "TCP");
			fx[n] = fwd6(names[n], 41100 + n, proto, &one[i].e, 1);
			n++;
		}
	}
	if (!run(fx, n))
		return;
	ASSERT_EQ(lb_flow_count(), n, "a flow per packet");
	ASSERT_EQ(lb_counters(lb_env.skel->maps.veer_vip_stats, VIP_TCP6).new_flows, n / 2,
		  "TCP flows");
	ASSERT_EQ(lb_counters(lb_env.skel->maps.veer_vip_stats, VIP_UDP6).new_flows, n / 2,
		  "UDP flows");
}

/* Chains of every type in several orders, both directions. */
LB_TEST(lb_hdr_ext_chains)
{
	static const struct pkt_ext6 c1[] = {{NEXT_HOP, 0},  {NEXT_DST, 1}, {NEXT_RT, 2},
					     {NEXT_FRAG, 0}, {NEXT_AH, 4},  {NEXT_DST, 0}};
	static const struct pkt_ext6 c2[] = {
		{NEXT_HOP, 1}, {NEXT_AH, 1}, {NEXT_RT, 0}, {NEXT_DST, 0}};
	static const struct pkt_ext6 c3[] = {
		{NEXT_DST, 0}, {NEXT_RT, 0}, {NEXT_AH, 2}, {NEXT_DST, 3}};
	static const struct pkt_ext6 c4[] = {{NEXT_RT, 1}, {NEXT_FRAG, 0}, {NEXT_DST, 0}};
	static const struct pkt_ext6 c5[] = {{NEXT_AH, 1}, {NEXT_AH, 3}, {NEXT_DST, 0}};
	static const struct pkt_ext6 c6[] = {{NEXT_FRAG, 0}, {NEXT_DST, 0}};
	struct pkt_spec rs;
	struct lb_fixture fx[10];

	if (!begin())
		return;
	fx[0] = fwd6("hop-by-hop, dstopts, routing, fragment, AH, dstopts: TCP", 41200, IPPROTO_TCP,
		     c1, ARRAY_LEN(c1));
	fx[1] = fwd6("the same: UDP", 41201, IPPROTO_UDP, c1, ARRAY_LEN(c1));
	fx[2] = fwd6("hop-by-hop, AH, routing, dstopts: UDP", 41202, IPPROTO_UDP, c2,
		     ARRAY_LEN(c2));
	fx[3] = fwd6("dstopts, routing, AH, dstopts: TCP", 41203, IPPROTO_TCP, c3, ARRAY_LEN(c3));
	fx[4] = fwd6("routing, fragment, dstopts: UDP", 41204, IPPROTO_UDP, c4, ARRAY_LEN(c4));
	fx[5] = fwd6("AH, AH, dstopts: TCP", 41205, IPPROTO_TCP, c5, ARRAY_LEN(c5));
	fx[6] = fwd6("fragment, dstopts: TCP", 41206, IPPROTO_TCP, c6, ARRAY_LEN(c6));
	/* The established flow of fx[0], and its reply behind a chain of its own. */
	fx[7] = fx[0];
	fx[7].name = "the first chain again: established";
	rs = lb_spec_b2c(&BE_TCP6, CLIENT6, 41200, IPPROTO_TCP);
	rs.ext6_n = ARRAY_LEN(c3);
	memcpy(rs.ext6, c3, sizeof(c3));
	fx[8] = (struct lb_fixture){"reply behind dstopts, routing, AH, dstopts",
				    mk(rs, "reply"),
				    FROM_BACKEND,
				    XDP_REDIRECT,
				    mk(lb_spec_rev(rs, VIP6, 80), "reply out"),
				    VEER_REASON_NONE};
	fx[9] = fx[8];
	fx[9].name = "the reply again";
	if (!run(fx, ARRAY_LEN(fx)))
		return;
	ASSERT_EQ(lb_flow_count(), 7, "seven flows");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP6, 5,
		       2 * fx[0].in->len + fx[3].in->len + fx[5].in->len + fx[6].in->len, 4, 2,
		       2 * fx[8].in->len, "TCP VIP");
}

/* At most VEER_IPV6_EXT_MAX headers; one more is dropped, VIP or not. */
LB_TEST(lb_hdr_ext_bound)
{
	struct pkt_ext6 e[PKT_EXT6_MAX] = {{NEXT_HOP, 0}};
	struct pkt_spec s;
	struct lb_fixture fx[6];

	if (!ASSERT_EQ(VEER_IPV6_EXT_MAX, 8, "the bound the contract states") || !begin())
		return;
	for (int i = 1; i < PKT_EXT6_MAX; i++)
		e[i] = (struct pkt_ext6){i % 3 ? NEXT_DST : NEXT_RT, 0};
	fx[0] = fwd6("8 headers: TCP", 41300, IPPROTO_TCP, e, 8);
	fx[1] = fwd6("8 headers: UDP", 41301, IPPROTO_UDP, e, 8);
	fx[2] = same("9 headers: TCP", mk(c2v6(41302, IPPROTO_TCP, e, 9), "9"), XDP_DROP,
		     VEER_DROP_EXT_HDRS);
	fx[3] = same("12 headers: UDP", mk(c2v6(41303, IPPROTO_UDP, e, 12), "12"), XDP_DROP,
		     VEER_DROP_EXT_HDRS);
	s = c2v6(41304, IPPROTO_TCP, e, 9);
	s.daddr = OTHER6;
	fx[4] = same("9 headers to no VIP", mk(s, "9, no VIP"), XDP_DROP, VEER_DROP_EXT_HDRS);
	/* Eight headers and then ESP: ESP is the upper layer, not a ninth header. */
	s = c2v6(41305, NEXT_ESP, e, 8);
	fx[5] = same("8 headers, then ESP", mk(s, "esp"), XDP_PASS, VEER_PASS_NOT_VIP);
	if (run(fx, ARRAY_LEN(fx)))
		ASSERT_EQ(lb_flow_count(), 2, "the two 8-header flows");
}

LB_TEST(lb_hdr_ext_hbh_not_first)
{
	static const struct pkt_ext6 e1[] = {{NEXT_DST, 0}, {NEXT_HOP, 0}};
	static const struct pkt_ext6 e2[] = {{NEXT_HOP, 0}, {NEXT_HOP, 0}};
	static const struct pkt_ext6 e3[] = {{NEXT_RT, 0}, {NEXT_FRAG, 0}, {NEXT_HOP, 1}};
	struct pkt_spec s;
	struct lb_fixture fx[4];

	if (!begin())
		return;
	fx[0] = same("dstopts, hop-by-hop", mk(c2v6(41400, IPPROTO_TCP, e1, 2), "e1"), XDP_DROP,
		     VEER_DROP_EXT_HDRS);
	fx[1] = same("hop-by-hop twice", mk(c2v6(41401, IPPROTO_UDP, e2, 2), "e2"), XDP_DROP,
		     VEER_DROP_EXT_HDRS);
	fx[2] = same("routing, fragment, hop-by-hop", mk(c2v6(41402, IPPROTO_TCP, e3, 3), "e3"),
		     XDP_DROP, VEER_DROP_EXT_HDRS);
	s = c2v6(41403, IPPROTO_TCP, e1, 2);
	s.daddr = OTHER6;
	fx[3] = same("dstopts, hop-by-hop to no VIP", mk(s, "e1 other"), XDP_DROP,
		     VEER_DROP_EXT_HDRS);
	if (run(fx, ARRAY_LEN(fx)))
		no_state("hop-by-hop not first");
}

/* The n-th extension header of an IPv6 frame the builder made with a chain (0: the first). */
static __u8 *ext_at(const struct pkt *p, int n)
{
	__u8 *h = (__u8 *)p->data + pkt_l3_off(p) + sizeof(struct ipv6hdr);
	__u8 type = ((const struct ipv6hdr *)(p->data + pkt_l3_off(p)))->nexthdr;

	for (int i = 0; i < n; i++) {
		__u8 next = h[0];

		h += type == NEXT_FRAG ? 8 : type == NEXT_AH ? (h[1] + 2) * 4 : (h[1] + 1) * 8;
		type = next;
	}
	return h;
}

static void set_plen(struct pkt *p, __u16 plen)
{
	if (p)
		pkt_ip6(p)->payload_len = htons(plen);
}

/* An extension header running past the datagram (40 + payload length) or the packet. */
LB_TEST(lb_hdr_ext_past)
{
	static const struct pkt_ext6 dst[] = {{NEXT_DST, 0}};
	static const struct pkt_ext6 chain[] = {{NEXT_HOP, 0}, {NEXT_RT, 1}, {NEXT_AH, 1}};
	static const struct pkt_ext6 ah[] = {{NEXT_AH, 1}};
	struct pkt *p[8];
	struct pkt_spec s;

	if (!begin())
		return;
	/* Its length byte says 88 bytes; 8 + 20 + 32 are left in the datagram. */
	p[0] = mk(c2v6(41500, IPPROTO_TCP, dst, 1), "dst long");
	if (p[0])
		ext_at(p[0], 0)[1] = 10;
	/* The payload length ends inside the header's first 8 bytes: the frame goes on. */
	p[1] = mk(c2v6(41501, IPPROTO_TCP, dst, 1), "dst cut");
	set_plen(p[1], 4);
	/* The third header of a chain ends past the datagram by 4 bytes. */
	p[2] = mk(c2v6(41502, IPPROTO_UDP, chain, 3), "chain cut");
	set_plen(p[2], 8 + 16 + 12 - 4);
	/* AH: (len + 2) * 4, not (len + 1) * 8. Length 4 is 24 bytes, past the 12 + 8 there. */
	s = c2v6(41503, IPPROTO_UDP, ah, 1);
	s.payload = 0;
	p[3] = mk(s, "ah long");
	if (p[3])
		ext_at(p[3], 0)[1] = 4;
	/* Read as (len + 1) * 8, AH length 1 would be 16 bytes: the UDP header would be cut. */
	p[4] = mk(s, "ah exact");
	/* A chain that fills the datagram exactly leaves no room for the TCP header. */
	p[5] = mk(c2v6(41505, IPPROTO_TCP, dst, 1), "no l4");
	set_plen(p[5], 8);
	/* Past the frame as well: the packet is cut inside the header. */
	p[6] = mk(c2v6(41506, IPPROTO_TCP, chain, 3), "frame cut");
	if (p[6]) {
		p[6]->len = ETH_HLEN + 40 + 8 + 16 + 4;
		set_plen(p[6], 8 + 16 + 4);
	}
	/* To no VIP: dropped all the same. */
	s = c2v6(41507, IPPROTO_TCP, dst, 1);
	s.daddr = OTHER6;
	p[7] = mk(s, "dst long, no VIP");
	if (p[7])
		ext_at(p[7], 0)[1] = 10;
	{
		struct pkt_spec so = lb_spec_fwd(c2v6(41503, IPPROTO_UDP, ah, 1), &BE_UDP6, true);
		struct pkt *ah_out;
		const struct lb_fixture fx[] = {
			same("dstopts past the datagram", p[0], XDP_DROP, VEER_DROP_EXT_HDRS),
			same("dstopts cut by the payload length", p[1], XDP_DROP,
			     VEER_DROP_EXT_HDRS),
			same("AH of a chain past the datagram", p[2], XDP_DROP, VEER_DROP_EXT_HDRS),
			same("AH length 4 past the datagram", p[3], XDP_DROP, VEER_DROP_EXT_HDRS),
			same("chain up to the datagram's end, no TCP header", p[5], XDP_DROP,
			     VEER_DROP_BAD_L4),
			same("chain cut by the payload length and the frame", p[6], XDP_DROP,
			     VEER_DROP_EXT_HDRS),
			same("dstopts past the datagram, no VIP", p[7], XDP_DROP,
			     VEER_DROP_EXT_HDRS),
		};

		so.payload = 0;
		ah_out = mk(so, "ah exact out");
		if (!run(fx, ARRAY_LEN(fx)))
			return;
		no_state("headers past the datagram");
		{
			const struct lb_fixture ok = {"AH length 1 (12 bytes), then UDP",
						      p[4],
						      FROM_CLIENT,
						      XDP_REDIRECT,
						      ah_out,
						      VEER_REASON_NONE};

			run(&ok, 1);
		}
	}
}

/* What ends the walk without being TCP or UDP: passed untouched, as other protocols are. */
LB_TEST(lb_hdr_ext_upper)
{
	static const struct pkt_ext6 hbh[] = {{NEXT_HOP, 0}};
	static const struct pkt_ext6 chain[] = {{NEXT_HOP, 0}, {NEXT_DST, 1}, {NEXT_RT, 0}};
	struct pkt_spec s;
	struct lb_fixture fx[6];

	if (!begin())
		return;
	fx[0] = same("ESP behind hop-by-hop", mk(c2v6(41600, NEXT_ESP, hbh, 1), "esp"), XDP_PASS,
		     VEER_PASS_NOT_VIP);
	fx[1] = same("no next header behind a chain", mk(c2v6(41601, NEXT_NONE, chain, 3), "none"),
		     XDP_PASS, VEER_PASS_NOT_VIP);
	fx[2] = same("mobility header (not walked)", mk(c2v6(41602, NEXT_MOB, hbh, 1), "mob"),
		     XDP_PASS, VEER_PASS_NOT_VIP);
	s = c2v6(41603, IPPROTO_UDP, chain, 3);
	s.daddr = OTHER6;
	fx[3] = same("UDP behind a chain to no VIP", mk(s, "udp other"), XDP_PASS,
		     VEER_PASS_NOT_VIP);
	s = c2v6(41604, IPPROTO_TCP, chain, 3);
	s.dport = 443;
	fx[4] = same("TCP behind a chain, VIP address, other port", mk(s, "port"), XDP_PASS,
		     VEER_PASS_NOT_VIP);
	s = c2v6(0, IPPROTO_ICMPV6, hbh, 1);
	s.daddr = OTHER6;
	fx[5] = same("ICMPv6 echo behind hop-by-hop to no VIP", mk(s, "icmp6"), XDP_PASS,
		     VEER_PASS_NOT_VIP);
	if (run(fx, ARRAY_LEN(fx)))
		no_state("other upper layers");
}

/*
 * The fragment header anywhere in the chain: a first fragment behind other headers is balanced
 * and recorded, a later one behind them follows it (bpf/lib/frag.h), or passes when its
 * datagram is unknown.
 */
LB_TEST(lb_hdr_ext_fragments)
{
	static const struct pkt_ext6 hf[] = {{NEXT_HOP, 0}, {NEXT_DST, 0}, {NEXT_FRAG, 0}};
	static const struct pkt_ext6 df[] = {{NEXT_DST, 1}, {NEXT_FRAG, 0}};
	struct pkt_spec first = c2v6(41700, IPPROTO_UDP, hf, 3), later, orphan;
	struct pkt *cut;

	if (!begin())
		return;
	first.frag = 1; /* offset 0, M */
	first.ip_id = 0x5001;
	later = first;
	later.frag = 3 << 3; /* 24: the first fragment's UDP header and 16 bytes */
	later.payload = 24;
	orphan = c2v6(41701, IPPROTO_TCP, df, 2);
	orphan.frag = 185 << 3;
	orphan.ip_id = 0x5002;
	/* A fragment header cut by the payload length. */
	cut = mk(c2v6(41702, IPPROTO_UDP, df, 2), "frag cut");
	set_plen(cut, 16 + 4);
	{
		struct pkt_spec tcpf = c2v6(41703, IPPROTO_TCP, df, 2);
		struct lb_fixture fx[5];

		tcpf.frag = 1;
		tcpf.ip_id = 0x5003;
		fx[0] = (struct lb_fixture){"first fragment behind hop-by-hop, dstopts",
					    mk(first, "first"),
					    FROM_CLIENT,
					    XDP_REDIRECT,
					    mk(lb_spec_fwd(first, &BE_UDP6, true), "first out"),
					    VEER_REASON_NONE};
		fx[1] = (struct lb_fixture){"its later fragment behind hop-by-hop, dstopts",
					    mk(later, "later"),
					    FROM_CLIENT,
					    XDP_REDIRECT,
					    mk(lb_spec_fwd(later, &BE_UDP6, true), "later out"),
					    VEER_FWD_FRAGMENT};
		fx[2] = (struct lb_fixture){"TCP first fragment behind dstopts",
					    mk(tcpf, "tcp first"),
					    FROM_CLIENT,
					    XDP_REDIRECT,
					    mk(lb_spec_fwd(tcpf, &BE_TCP6, true), "tcp first out"),
					    VEER_REASON_NONE};
		fx[3] = same("later fragment of no known datagram behind dstopts",
			     mk(orphan, "orphan"), XDP_PASS, VEER_PASS_FRAGMENT);
		fx[4] = same("fragment header past the datagram", cut, XDP_DROP,
			     VEER_DROP_EXT_HDRS);
		if (!ASSERT_EQ(ext_at(fx[1].in, 2)[2] << 8 | ext_at(fx[1].in, 2)[3], 3 << 3,
			       "fixture: the later fragment's offset") ||
		    !run(fx, ARRAY_LEN(fx)))
			return;
	}
	ASSERT_EQ(lb_flow_count(), 2, "two flows");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_frags), 2, "two datagrams recorded");
}

/*
 * Headers after the fragment header (destination options, AH) belong to the first fragment
 * only: a later fragment names the first of them as its protocol. The datagram is recorded
 * under that name, so its later fragment still finds it.
 */
LB_TEST(lb_hdr_ext_after_fragment)
{
	static const struct pkt_ext6 fd[] = {{NEXT_FRAG, 0}, {NEXT_DST, 0}};
	static const struct pkt_ext6 fl[] = {{NEXT_FRAG, 0}};
	struct pkt_spec first = c2v6(41710, IPPROTO_UDP, fd, 2), later;
	struct pkt *in;

	if (!begin())
		return;
	first.frag = 1; /* offset 0, M */
	first.ip_id = 0x5011;
	later = c2v6(41710, IPPROTO_UDP, fl, 1);
	later.frag = 4 << 3; /* past the dstopts (8), UDP header (8) and 16 bytes */
	later.ip_id = 0x5011;
	later.payload = 24;
	in = mk(later, "later");
	/* The later fragment's header names destination options, as the first fragment's did. */
	ext_at(in, 0)[0] = NEXT_DST;
	{
		struct pkt *out = mk(lb_spec_fwd(later, &BE_UDP6, true), "later out");
		struct lb_fixture fx[] = {
			{"first fragment, dstopts after the fragment header", mk(first, "first"),
			 FROM_CLIENT, XDP_REDIRECT, mk(lb_spec_fwd(first, &BE_UDP6, true), "out"),
			 VEER_REASON_NONE},
			{"its later fragment, named for the dstopts", in, FROM_CLIENT, XDP_REDIRECT,
			 out, VEER_FWD_FRAGMENT},
		};

		ext_at(out, 0)[0] = NEXT_DST;
		if (!ASSERT_EQ(ext_at(fx[0].in, 0)[0], NEXT_DST, "fixture: first names dstopts"))
			return;
		run(fx, ARRAY_LEN(fx));
	}
}

/* ---- rule 5: packets veer would rewrite ---- */

static struct pkt *from(const char *saddr, __u16 sport, const char *daddr, __u16 dport, __u8 proto,
			__u8 ttl)
{
	struct pkt_spec s = lb_spec_c2v(saddr, sport, daddr, dport, proto);

	s.ttl = ttl;
	return mk(s, saddr);
}

/* A TCP and a UDP packet to the VIP from each source, each dropped as martian; how many. */
static int martians(struct lb_fixture *fx, char (*names)[64], const char *const *src, size_t n,
		    const char *vip, __u16 sport)
{
	int k = 0;

	for (size_t i = 0; i < n; i++) {
		snprintf(names[k], sizeof(names[k]), "TCP from %s", src[i]);
		fx[k] = same(names[k], from(src[i], sport + i, vip, 80, IPPROTO_TCP, 0), XDP_DROP,
			     VEER_DROP_MARTIAN);
		k++;
		snprintf(names[k], sizeof(names[k]), "UDP from %s", src[i]);
		fx[k] = same(names[k], from(src[i], sport + i, vip, 53, IPPROTO_UDP, 0), XDP_DROP,
			     VEER_DROP_MARTIAN);
		k++;
	}
	return k;
}

LB_TEST(lb_hdr_martian4)
{
	static const char *const src[] = {"0.0.0.0",	 "0.1.2.3",	   "127.0.0.1",
					  "127.255.0.9", "224.0.0.5",	   "239.255.255.250",
					  "240.0.0.1",	 "255.255.255.255"};
	struct lb_fixture fx[2 * ARRAY_LEN(src) + 3];
	char names[ARRAY_LEN(fx)][64];
	int n;

	if (!begin())
		return;
	n = martians(fx, names, src, ARRAY_LEN(src), VIP4, 42000);
	/* Checked first: a martian with TTL 1 is a martian. */
	fx[n++] = same("TTL 1 from 127.0.0.1", from("127.0.0.1", 42100, VIP4, 80, IPPROTO_TCP, 1),
		       XDP_DROP, VEER_DROP_MARTIAN);
	/* Not veer's business when no VIP matches. */
	fx[n++] = same("127.0.0.1 to no VIP", from("127.0.0.1", 42101, OTHER4, 80, IPPROTO_TCP, 0),
		       XDP_PASS, VEER_PASS_NOT_VIP);
	fx[n++] = same("224.0.0.5 to the VIP's other port",
		       from("224.0.0.5", 42102, VIP4, 443, IPPROTO_TCP, 0), XDP_PASS,
		       VEER_PASS_NOT_VIP);
	if (run(fx, n))
		no_state("martian sources");
}

LB_TEST(lb_hdr_martian6)
{
	static const char *const src[] = {"::",		"::1",	    "::ffff:198.18.1.2",
					  "::ffff:0:0", "fe80::1",  "febf:ffff::1",
					  "ff02::1",	"ff0e::1:3"};
	struct lb_fixture fx[2 * ARRAY_LEN(src) + 1];
	char names[ARRAY_LEN(fx)][64];
	int n;

	if (!begin())
		return;
	n = martians(fx, names, src, ARRAY_LEN(src), VIP6, 42200);
	fx[n++] = same("::1 to no VIP", from("::1", 42300, OTHER6, 80, IPPROTO_TCP, 0), XDP_PASS,
		       VEER_PASS_NOT_VIP);
	if (run(fx, n))
		no_state("martian sources");
}

/* The data offset byte of a TCP frame the builder made. */
static struct pkt *doff(const struct pkt *src, __u8 words)
{
	struct pkt *p = copy(src);
	__u8 *th = p ? l4_of(p, IPPROTO_TCP) : NULL;

	if (!th)
		return NULL;
	th[12] = (th[12] & 0x0f) | words << 4;
	pkt_l4_fix_csum(p);
	return p;
}

LB_TEST(lb_hdr_tcp_doff)
{
	struct pkt_spec s = lb_spec_c2v(CLIENT4, 42400, VIP4, 80, IPPROTO_TCP);
	struct pkt *opt_in, *opt_out;

	if (!begin())
		return;
	/* Data offset 6 with 4 bytes after the header: they are its options. */
	s.payload = 4;
	opt_in = doff(mk(s, "doff 6"), 6);
	opt_out = doff(mk(lb_spec_fwd(s, &BE_TCP4, true), "doff 6 out"), 6);
	{
		const struct lb_fixture fx[] = {
			same("data offset 4", doff(&P.tcp4, 4), XDP_DROP, VEER_DROP_BAD_L4_HDR),
			same("data offset 0", doff(&P.tcp4, 0), XDP_DROP, VEER_DROP_BAD_L4_HDR),
			same("data offset 15, 52 bytes in the datagram", doff(&P.tcp4, 15),
			     XDP_DROP, VEER_DROP_BAD_L4_HDR),
			same("data offset 14, 52 bytes in the datagram", doff(&P.tcp4, 14),
			     XDP_DROP, VEER_DROP_BAD_L4_HDR),
			same("IPv6, data offset 4", doff(&P.tcp6, 4), XDP_DROP,
			     VEER_DROP_BAD_L4_HDR),
			same("data offset 4 to no VIP", doff(&P.other4, 4), XDP_PASS,
			     VEER_PASS_NOT_VIP),
		};

		if (!run(fx, ARRAY_LEN(fx)))
			return;
		no_state("bad data offsets");
	}
	{
		const struct lb_fixture fx[] = {
			{"data offset 6, options present", opt_in, FROM_CLIENT, XDP_REDIRECT,
			 opt_out, VEER_REASON_NONE},
			/* Data offset 13: 52 bytes, exactly the datagram's. */
			{"data offset 13", doff(&P.tcp4, 13), FROM_CLIENT, XDP_REDIRECT,
			 doff(&P.tcp4_out, 13), VEER_REASON_NONE},
			{"tcp4", &P.tcp4, FROM_CLIENT, XDP_REDIRECT, &P.tcp4_out, VEER_REASON_NONE},
			same("data offset 4, established flow", doff(&P.tcp4, 4), XDP_DROP,
			     VEER_DROP_BAD_L4_HDR),
		};

		if (!run(fx, ARRAY_LEN(fx)))
			return;
	}
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 3, opt_in->len + 2 * P.tcp4.len,
		       2, 0, 0, "VIP: the bad packet of the established flow not counted");
}

/* The UDP length field of a UDP frame the builder made. */
static struct pkt *ulen(const struct pkt *src, int delta)
{
	struct pkt *p = copy(src);
	__u8 *uh = p ? l4_of(p, IPPROTO_UDP) : NULL;
	__u16 len;

	if (!uh)
		return NULL;
	len = (uh[4] << 8 | uh[5]) + delta;
	uh[4] = len >> 8;
	uh[5] = len;
	pkt_l4_fix_csum(p);
	return p;
}

LB_TEST(lb_hdr_udp_len)
{
	struct pkt_spec s = lb_spec_c2v(CLIENT4, 42500, VIP4, 53, IPPROTO_UDP), so;
	struct pkt *pad_in, *pad_out, *ff_in, *ff_out, *ff_short;

	if (!begin())
		return;
	/* Ethernet padding: the length is the IP payload's, not the frame's. */
	s.payload = 2;
	s.pad = 8;
	pad_in = mk(s, "padded");
	pad_out = mk(lb_spec_fwd(s, &BE_UDP4, true), "padded out");
	/* A first fragment: the length is the whole datagram's, more than it carries. */
	s = lb_spec_c2v(CLIENT4, 42501, VIP4, 53, IPPROTO_UDP);
	s.frag = 0;
	s.ip_id = 0x6001;
	so = lb_spec_fwd(s, &BE_UDP4, true);
	ff_in = pkt_new();
	ff_out = pkt_new();
	if (!ff_in || !ff_out ||
	    !ASSERT_OK(pkt_build_frag(ff_in, &s, 200, 0, 48, true), "first fragment") ||
	    !ASSERT_OK(pkt_build_frag(ff_out, &so, 200, 0, 48, true), "first fragment out"))
		return;
	/* ... and one whose length is less than the 48 bytes it carries. */
	ff_short = copy(ff_in);
	if (ff_short) {
		__u8 *uh = (__u8 *)pkt_ip4(ff_short) + 20;

		uh[4] = 0;
		uh[5] = 40;
	}
	{
		const struct lb_fixture fx[] = {
			same("length one more", ulen(&P.udp4, 1), XDP_DROP, VEER_DROP_BAD_L4_HDR),
			same("length one less", ulen(&P.udp4, -1), XDP_DROP, VEER_DROP_BAD_L4_HDR),
			same("length 7", ulen(&P.udp4, 7 - (8 + 32)), XDP_DROP,
			     VEER_DROP_BAD_L4_HDR),
			same("length 0", ulen(&P.udp4, -(8 + 32)), XDP_DROP, VEER_DROP_BAD_L4_HDR),
			same("IPv6, length one more", ulen(&P.udp6, 1), XDP_DROP,
			     VEER_DROP_BAD_L4_HDR),
			same("first fragment, length below its bytes", ff_short, XDP_DROP,
			     VEER_DROP_BAD_L4_HDR),
			same("length one more to no VIP", ulen(&P.udp_port80, 1), XDP_PASS,
			     VEER_PASS_NOT_VIP),
		};

		if (!run(fx, ARRAY_LEN(fx)))
			return;
		no_state("bad UDP lengths");
	}
	{
		const struct lb_fixture fx[] = {
			{"padded frame", pad_in, FROM_CLIENT, XDP_REDIRECT, pad_out,
			 VEER_REASON_NONE},
			{"first fragment, the datagram's length", ff_in, FROM_CLIENT, XDP_REDIRECT,
			 ff_out, VEER_REASON_NONE},
		};

		run(fx, ARRAY_LEN(fx));
	}
}

/* TTL / hop limit 1 (or 0) on a packet veer would forward: passed as it came, nothing kept. */
LB_TEST(lb_hdr_ttl)
{
	struct pkt_spec vs = lb_spec_c2v(CLIENT4, 42600, VIP4, 80, IPPROTO_TCP);
	struct pkt *est1, *ttl0;

	if (!begin())
		return;
	vs.vlan = 100;
	vs.ttl = 1;
	ttl0 = from(CLIENT4, 42601, VIP4, 80, IPPROTO_TCP, 1);
	if (ttl0) {
		pkt_ip4(ttl0)->ttl = 0;
		pkt_ip4_fix_csum(ttl0);
	}
	{
		const struct lb_fixture fx[] = {
			same("TTL 1, TCP", &P.ttl1_4, XDP_PASS, VEER_PASS_TTL),
			same("TTL 0, TCP", ttl0, XDP_PASS, VEER_PASS_TTL),
			same("TTL 1, UDP", from(CLIENT4, 42602, VIP4, 53, IPPROTO_UDP, 1), XDP_PASS,
			     VEER_PASS_TTL),
			same("hop limit 1, TCP", &P.ttl1_6, XDP_PASS, VEER_PASS_TTL),
			same("hop limit 1, UDP", from(CLIENT6, 42603, VIP6, 53, IPPROTO_UDP, 1),
			     XDP_PASS, VEER_PASS_TTL),
			same("TTL 1 behind 802.1Q (the stack's path)", mk(vs, "vlan ttl 1"),
			     XDP_PASS, VEER_PASS_TTL),
			same("TTL 1 to no VIP", from(CLIENT4, 42604, OTHER4, 80, IPPROTO_TCP, 1),
			     XDP_PASS, VEER_PASS_NOT_VIP),
		};

		if (!run(fx, ARRAY_LEN(fx)))
			return;
		no_state("TTL 1");
	}
	/* An established flow: the TTL-1 packet is passed, not counted, not refreshed. */
	est1 = copy(&P.tcp4);
	if (est1) {
		pkt_ip4(est1)->ttl = 1;
		pkt_ip4_fix_csum(est1);
	}
	{
		const struct lb_fixture fx[] = {
			{"tcp4", &P.tcp4, FROM_CLIENT, XDP_REDIRECT, &P.tcp4_out, VEER_REASON_NONE},
			same("its flow with TTL 1", est1, XDP_PASS, VEER_PASS_TTL),
			{"its reply", &P.tcp4_reply, FROM_BACKEND, XDP_REDIRECT, &P.tcp4_reply_out,
			 VEER_REASON_NONE},
		};

		if (!run(fx, ARRAY_LEN(fx)))
			return;
	}
	ASSERT_EQ(lb_flow_count(), 1, "one flow");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 1, P.tcp4.len, 1, 1,
		       P.tcp4_reply.len, "VIP");
}

/* ---- reproducers from the fuzz campaign ---- */

static bool from_hex(struct pkt *p, const char *hex)
{
	size_t n = strlen(hex) / 2;

	if (!p || !ASSERT_TRUE(n <= PKT_MAX && strlen(hex) % 2 == 0, "hex frame"))
		return false;
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return ASSERT_TRUE(false, "hex frame");
		p->data[i] = b;
	}
	p->len = n;
	return true;
}

/*
 * UDP to a VIP behind a hop-by-hop header (PadN): it was passed as not_vip, the VIP's traffic
 * slipping past it. It must be balanced. The frame is the fuzzer's, as it found it; the VIP is
 * set up at its destination, 2001:2:100::10 port 53.
 */
LB_TEST(lb_hdr_repro_hbh_udp)
{
	static const char hex[] = "02000000010102000000016286dd600000000010004020010002000100600000"
				  "0000000000052001000201000000000000000000001011000104000000009c"
				  "400035000821ed";
	static const struct be_def be = {16, "2001:2:0:11::2", 5353, MAC_BE_A};
	const __u8 smac[6] = {0x02, 0, 0, 0, 0x01, 0x62};
	struct pkt_spec s = {
		.saddr = "2001:2:1:60::5",
		.daddr = "2001:2:100::10",
		.proto = IPPROTO_UDP,
		.sport = 40000,
		.dport = 53,
		.ext6_n = 1,
		.ext6 = {{NEXT_HOP, 0}},
	};
	struct pkt *in, *built, *out;
	struct veer_flow f;

	npool = 0;
	if (!lb_begin() || !lb_vip_single(9, "2001:2:100::10", 53, IPPROTO_UDP, &be))
		return;
	memcpy(s.dmac, MAC_VC0, 6);
	memcpy(s.smac, smac, 6);
	in = pkt_new();
	built = mk(s, "the reproducer from its spec");
	out = mk(lb_spec_fwd(s, &be, true), "what the backend gets");
	if (!from_hex(in, hex) || !built || !out ||
	    !ASSERT_MEMEQ(in->data, in->len, built->data, built->len,
			  "the builder makes the fuzzer's frame (so its checksums are right)"))
		return;
	{
		const struct lb_fixture fx[] = {
			{"UDP behind hop-by-hop", in, FROM_CLIENT, XDP_REDIRECT, out,
			 VEER_REASON_NONE},
			{"again: established", in, FROM_CLIENT, XDP_REDIRECT, out,
			 VEER_REASON_NONE},
		};

		if (!run(fx, ARRAY_LEN(fx)))
			return;
	}
	if (ASSERT_TRUE(lb_flow_get("2001:2:1:60::5", 40000, "2001:2:100::10", 53, IPPROTO_UDP, &f),
			"forward entry"))
		lb_check_forward_entry(&f, 9, &be, true, "reproducer");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, 9, 2, 2 * in->len, 1, 0, 0, "VIP");
}

/* UDP with TTL 1 to a VIP: it installed both flow entries and counted a new flow. */
LB_TEST(lb_hdr_repro_ttl1_udp)
{
	static const char hex[] = "02000000010102000000010208004500001c1234400001113b68c6133c05c6"
				  "12640a9c42003500083731";
	struct pkt_spec s = lb_spec_c2v("198.19.60.5", 40002, VIP4, 53, IPPROTO_UDP);
	struct pkt *in, *built;

	if (!begin())
		return;
	s.ttl = 1;
	s.ip_id = 0x1234;
	s.payload = 0;
	in = pkt_new();
	built = mk(s, "the reproducer from its spec");
	if (!from_hex(in, hex) || !built ||
	    !ASSERT_MEMEQ(in->data, in->len, built->data, built->len,
			  "the builder makes the fuzzer's frame (so its checksums are right)"))
		return;
	{
		const struct lb_fixture fx[] = {
			same("TTL 1 UDP to a VIP", in, XDP_PASS, VEER_PASS_TTL),
			same("again", in, XDP_PASS, VEER_PASS_TTL),
		};

		if (run(fx, ARRAY_LEN(fx)))
			no_state("TTL 1 reproducer");
	}
}
