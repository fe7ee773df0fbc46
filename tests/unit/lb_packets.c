// SPDX-License-Identifier: GPL-2.0
/* The packets of the BPF_PROG_RUN fixtures: specs, and the set P built once. */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include "lb_harness.h"

struct lb_pkts P;

struct pkt_spec lb_spec_c2v(const char *client, __u16 sport, const char *vip, __u16 vport,
			    __u8 proto)
{
	struct pkt_spec s = {
		.saddr = client,
		.daddr = vip,
		.proto = proto,
		.sport = sport,
		.dport = vport,
		.payload = 32,
	};

	if (!strchr(client, ':'))
		s.frag = 0x4000; /* DF, as TCP/IPv4 stacks send */
	memcpy(s.dmac, MAC_VC0, 6);
	memcpy(s.smac, MAC_CLIENT, 6);
	return s;
}

struct pkt_spec lb_spec_fwd(struct pkt_spec s, const struct be_def *be, bool redirect)
{
	s.daddr = be->addr;
	s.dport = be->port;
	if (redirect) {
		s.ttl = (s.ttl ? s.ttl : 64) - 1;
		memcpy(s.dmac, be->mac, 6);
		memcpy(s.smac, MAC_VB0, 6);
	}
	return s;
}

struct pkt_spec lb_spec_b2c(const struct be_def *be, const char *client, __u16 cport, __u8 proto)
{
	struct pkt_spec s = {
		.saddr = be->addr,
		.daddr = client,
		.proto = proto,
		.sport = be->port,
		.dport = cport,
		.payload = 48,
	};

	if (!strchr(client, ':'))
		s.frag = 0x4000;
	memcpy(s.dmac, MAC_VB0, 6);
	memcpy(s.smac, be->mac, 6);
	return s;
}

struct pkt_spec lb_spec_rev(struct pkt_spec s, const char *vip, __u16 vport)
{
	s.saddr = vip;
	s.sport = vport;
	s.ttl = (s.ttl ? s.ttl : 64) - 1;
	memcpy(s.dmac, MAC_CLIENT, 6);
	memcpy(s.smac, MAC_VC0, 6);
	return s;
}

bool lb_pkt_build(struct pkt *p, struct pkt_spec s, const char *what)
{
	return ASSERT_OK(pkt_build(p, &s), what);
}

bool lb_pkt_too_big(struct pkt *out, struct pkt *in, const char *from, const char *to, __u32 mtu,
		    const char *what)
{
	struct pkt_spec s = {.saddr = from, .daddr = to, .ttl = 64};
	bool v6 = strchr(from, ':') != NULL;
	size_t dlen, max = v6 ? 1280 - 40 - 8 : 576 - 20 - 8;

	memcpy(s.dmac, in->data + 6, 6);
	memcpy(s.smac, in->data, 6);
	dlen = v6 ? 40 + ntohs(pkt_ip6(in)->payload_len) : ntohs(pkt_ip4(in)->tot_len);
	if (!ASSERT_OK(pkt_build_icmp_error(out, &s, v6 ? 2 : 3, v6 ? 0 : 4, mtu, in,
					    dlen < max ? dlen : max),
		       what))
		return false;
	/* IPv4: TOS 0, no flags, and ID 0 (the builder's default ID is another). */
	if (!v6) {
		pkt_ip4(out)->id = 0;
		pkt_ip4_fix_csum(out);
	}
	return true;
}

/* A copy of src cut to len bytes. */
static void truncated(struct pkt *p, const struct pkt *src, __u32 len)
{
	*p = *src;
	memset(p->data + len, 0, PKT_MAX - len);
	p->len = len;
}

/*
 * Sets the first payload word of a and b alike (an input and its expected output) so that the
 * L4 checksum field of `target` (a or b) becomes want, then fixes both checksums. Brute force
 * over the 65536 values: done once, and always the same value.
 */
static bool steer_csum(struct pkt *a, struct pkt *b, const struct pkt *target, __u16 want,
		       const char *what)
{
	__u8 *wa = pkt_payload(a), *wb = pkt_payload(b);

	if (!ASSERT_TRUE(wa && wb, what))
		return false;
	for (__u32 v = 0; v <= 0xffff; v++) {
		wa[0] = wb[0] = v >> 8;
		wa[1] = wb[1] = v;
		pkt_l4_fix_csum(a);
		pkt_l4_fix_csum(b);
		if (pkt_l4_csum(target) == want)
			return true;
	}
	return veer_test_fail(__FILE__, __LINE__, "%s: no payload gives checksum 0x%04x", what,
			      want);
}

/* A client packet and what backend be should receive, built and steered to a checksum. */
static bool build_steered(struct pkt *in, struct pkt *out, struct pkt_spec s,
			  const struct be_def *be, bool on_output, __u16 want, const char *what)
{
	return lb_pkt_build(in, s, what) && lb_pkt_build(out, lb_spec_fwd(s, be, true), what) &&
	       steer_csum(in, out, on_output ? out : in, want, what);
}

bool lb_pkts_init(void)
{
	struct pkt_spec s;
	bool ok = true;

	/* 1-3: TCP/IPv4 new flow, established flow, reply. */
	s = lb_spec_c2v(CLIENT4, 40000, VIP4, 80, IPPROTO_TCP);
	ok &= lb_pkt_build(&P.tcp4, s, "tcp4");
	ok &= lb_pkt_build(&P.tcp4_out, lb_spec_fwd(s, &BE_TCP4, true), "tcp4_out");
	s = lb_spec_b2c(&BE_TCP4, CLIENT4, 40000, IPPROTO_TCP);
	ok &= lb_pkt_build(&P.tcp4_reply, s, "tcp4_reply");
	ok &= lb_pkt_build(&P.tcp4_reply_out, lb_spec_rev(s, VIP4, 80), "tcp4_reply_out");

	/* 4: UDP/IPv4. */
	s = lb_spec_c2v(CLIENT4, 40001, VIP4, 53, IPPROTO_UDP);
	ok &= lb_pkt_build(&P.udp4, s, "udp4");
	ok &= lb_pkt_build(&P.udp4_out, lb_spec_fwd(s, &BE_UDP4, true), "udp4_out");
	s = lb_spec_b2c(&BE_UDP4, CLIENT4, 40001, IPPROTO_UDP);
	ok &= lb_pkt_build(&P.udp4_reply, s, "udp4_reply");
	ok &= lb_pkt_build(&P.udp4_reply_out, lb_spec_rev(s, VIP4, 53), "udp4_reply_out");
	s = lb_spec_c2v(CLIENT4, 40002, VIP4, 53, IPPROTO_UDP);
	s.udp_nocsum = true;
	ok &= lb_pkt_build(&P.udp4_nocsum, s, "udp4_nocsum");
	ok &= lb_pkt_build(&P.udp4_nocsum_out, lb_spec_fwd(s, &BE_UDP4, true), "udp4_nocsum_out");

	/* 5: IPv6. */
	s = lb_spec_c2v(CLIENT6, 40000, VIP6, 80, IPPROTO_TCP);
	ok &= lb_pkt_build(&P.tcp6, s, "tcp6");
	ok &= lb_pkt_build(&P.tcp6_out, lb_spec_fwd(s, &BE_TCP6, true), "tcp6_out");
	s = lb_spec_b2c(&BE_TCP6, CLIENT6, 40000, IPPROTO_TCP);
	ok &= lb_pkt_build(&P.tcp6_reply, s, "tcp6_reply");
	ok &= lb_pkt_build(&P.tcp6_reply_out, lb_spec_rev(s, VIP6, 80), "tcp6_reply_out");
	s = lb_spec_c2v(CLIENT6, 40001, VIP6, 53, IPPROTO_UDP);
	ok &= lb_pkt_build(&P.udp6, s, "udp6");
	ok &= lb_pkt_build(&P.udp6_out, lb_spec_fwd(s, &BE_UDP6, true), "udp6_out");

	/* 6: 802.1Q. */
	s = lb_spec_c2v(CLIENT4, 40010, VIP4, 80, IPPROTO_TCP);
	s.vlan = 100;
	ok &= lb_pkt_build(&P.vlan4, s, "vlan4");
	ok &= lb_pkt_build(&P.vlan4_out, lb_spec_fwd(s, &BE_TCP4, false), "vlan4_out");
	s = lb_spec_c2v(CLIENT6, 40010, VIP6, 80, IPPROTO_TCP);
	s.vlan = 100;
	ok &= lb_pkt_build(&P.vlan6, s, "vlan6");
	ok &= lb_pkt_build(&P.vlan6_out, lb_spec_fwd(s, &BE_TCP6, false), "vlan6_out");

	/* IPv4 options (IHL 6) and a 60-byte frame with 6 bytes of Ethernet padding. */
	s = lb_spec_c2v(CLIENT4, 40040, VIP4, 80, IPPROTO_TCP);
	s.ip_opts = 4;
	ok &= lb_pkt_build(&P.opts4, s, "opts4");
	ok &= lb_pkt_build(&P.opts4_out, lb_spec_fwd(s, &BE_TCP4, true), "opts4_out");
	s = lb_spec_c2v(CLIENT4, 40041, VIP4, 80, IPPROTO_TCP);
	s.payload = 0;
	s.pad = 6;
	ok &= lb_pkt_build(&P.pad4, s, "pad4");
	ok &= lb_pkt_build(&P.pad4_out, lb_spec_fwd(s, &BE_TCP4, true), "pad4_out");

	/* 10: TTL. */
	s = lb_spec_c2v(CLIENT4, 40070, VIP4, 80, IPPROTO_TCP);
	s.ttl = 1;
	ok &= lb_pkt_build(&P.ttl1_4, s, "ttl1_4");
	s = lb_spec_c2v(CLIENT6, 40070, VIP6, 80, IPPROTO_TCP);
	s.ttl = 1;
	ok &= lb_pkt_build(&P.ttl1_6, s, "ttl1_6");
	s = lb_spec_c2v(CLIENT4, 40071, VIP4, 80, IPPROTO_TCP);
	s.ttl = 2;
	ok &= lb_pkt_build(&P.ttl2_4, s, "ttl2_4");
	ok &= lb_pkt_build(&P.ttl2_4_out, lb_spec_fwd(s, &BE_TCP4, true), "ttl2_4_out");

	/* The special VIP: no neighbour for its backend (rewritten, left to the stack). */
	s = lb_spec_c2v(CLIENT4, 40020, VIP4_2, 80, IPPROTO_TCP);
	ok &= lb_pkt_build(&P.special4, s, "special4");
	ok &= lb_pkt_build(&P.special4_out, lb_spec_fwd(s, &BE_NONEIGH, false), "special4_out");

	/* Checksum edges. */
	ok &= build_steered(&P.tcp4_c0_out_in, &P.tcp4_c0_out,
			    lb_spec_c2v(CLIENT4, 40080, VIP4, 80, IPPROTO_TCP), &BE_TCP4, true, 0,
			    "TCP checksum 0 out");
	ok &= build_steered(&P.tcp4_c0_in, &P.tcp4_c0_in_out,
			    lb_spec_c2v(CLIENT4, 40081, VIP4, 80, IPPROTO_TCP), &BE_TCP4, false, 0,
			    "TCP checksum 0 in");
	ok &= build_steered(&P.udp4_cf_out_in, &P.udp4_cf_out,
			    lb_spec_c2v(CLIENT4, 40082, VIP4, 53, IPPROTO_UDP), &BE_UDP4, true,
			    0xffff, "UDP sum 0 out");
	ok &= build_steered(&P.udp4_cf_in, &P.udp4_cf_in_out,
			    lb_spec_c2v(CLIENT4, 40083, VIP4, 53, IPPROTO_UDP), &BE_UDP4, false,
			    0xffff, "UDP sum 0 in");
	ok &= build_steered(&P.udp6_cf_out_in, &P.udp6_cf_out,
			    lb_spec_c2v(CLIENT6, 40082, VIP6, 53, IPPROTO_UDP), &BE_UDP6, true,
			    0xffff, "UDP/IPv6 sum 0 out");
	ok &= build_steered(&P.tcp6_c0_out_in, &P.tcp6_c0_out,
			    lb_spec_c2v(CLIENT6, 40080, VIP6, 80, IPPROTO_TCP), &BE_TCP6, true, 0,
			    "TCP/IPv6 checksum 0 out");

	/* 7: not for a VIP. */
	ok &= lb_pkt_build(&P.other4, lb_spec_c2v(CLIENT4, 40030, OTHER4, 80, IPPROTO_TCP),
			   "other4");
	ok &= lb_pkt_build(&P.port443, lb_spec_c2v(CLIENT4, 40031, VIP4, 443, IPPROTO_TCP),
			   "port443");
	ok &= lb_pkt_build(&P.udp_port80, lb_spec_c2v(CLIENT4, 40032, VIP4, 80, IPPROTO_UDP),
			   "udp_port80");
	/* Echo requests to an address no VIP has (a VIP's own are answered: test_lb_icmp.c). */
	ok &= lb_pkt_build(&P.icmp4, lb_spec_c2v(CLIENT4, 0, OTHER4, 0, IPPROTO_ICMP), "icmp4");
	ok &= lb_pkt_build(&P.other6, lb_spec_c2v(CLIENT6, 40030, OTHER6, 80, IPPROTO_TCP),
			   "other6");
	ok &= lb_pkt_build(&P.icmp6, lb_spec_c2v(CLIENT6, 0, OTHER6, 0, IPPROTO_ICMPV6), "icmp6");
	ok &= ASSERT_OK(pkt_build_arp(&P.arp, MAC_CLIENT, CLIENT4, "198.18.1.1"), "arp");

	/* 8: malformed. */
	truncated(&P.runt, &P.tcp4, ETH_HLEN - 1);
	truncated(&P.vlan_short14, &P.vlan4, ETH_HLEN);	    /* 802.1Q type, no tag */
	truncated(&P.vlan_short17, &P.vlan4, ETH_HLEN + 3); /* tag cut short */
	truncated(&P.ip4_short, &P.tcp4, ETH_HLEN + 19);

	P.ip4_ihl4 = P.tcp4;
	pkt_ip4(&P.ip4_ihl4)->ihl = 4;
	pkt_ip4_fix_csum(&P.ip4_ihl4);

	P.ip4_ver6 = P.tcp4; /* version 6 in a frame typed IPv4 */
	pkt_ip4(&P.ip4_ver6)->version = 6;
	pkt_ip4_fix_csum(&P.ip4_ver6);

	P.ip4_long = P.tcp4; /* tot_len one byte past the frame */
	pkt_ip4(&P.ip4_long)->tot_len = htons(P.tcp4.len - ETH_HLEN + 1);
	pkt_ip4_fix_csum(&P.ip4_long);

	P.ip4_tot_lt_ihl = P.tcp4; /* tot_len shorter than the header */
	pkt_ip4(&P.ip4_tot_lt_ihl)->tot_len = htons(19);
	pkt_ip4_fix_csum(&P.ip4_tot_lt_ihl);

	/* TCP header cut after 10 bytes: frame and datagram end there. */
	s = lb_spec_c2v(CLIENT4, 40050, VIP4, 80, IPPROTO_TCP);
	s.payload = 0;
	ok &= lb_pkt_build(&P.tcp4_outside, s, "tcp4_outside");
	truncated(&P.tcp4_short, &P.tcp4_outside, ETH_HLEN + 20 + 10);
	pkt_ip4(&P.tcp4_short)->tot_len = htons(20 + 10);
	pkt_ip4_fix_csum(&P.tcp4_short);
	/* The whole TCP header is in the frame, but the datagram ends 10 bytes into it. */
	pkt_ip4(&P.tcp4_outside)->tot_len = htons(20 + 10);
	pkt_ip4_fix_csum(&P.tcp4_outside);

	s = lb_spec_c2v(CLIENT4, 40051, VIP4, 53, IPPROTO_UDP);
	s.payload = 0;
	ok &= lb_pkt_build(&P.udp4_short, s, "udp4_short");
	truncated(&P.udp4_short, &P.udp4_short, ETH_HLEN + 20 + 6);
	pkt_ip4(&P.udp4_short)->tot_len = htons(20 + 6);
	pkt_ip4_fix_csum(&P.udp4_short);

	/* Fragments: first (MF, offset 0) to a VIP, to no VIP, of an established flow; a tail. */
	s = lb_spec_c2v(CLIENT4, 40060, VIP4, 80, IPPROTO_TCP);
	s.frag = 0x2000;
	ok &= lb_pkt_build(&P.frag4_first, s, "frag4_first");
	s = lb_spec_c2v(CLIENT4, 40061, OTHER4, 80, IPPROTO_TCP);
	s.frag = 0x2000;
	ok &= lb_pkt_build(&P.frag4_first_other, s, "frag4_first_other");
	s = lb_spec_c2v(CLIENT4, 40000, VIP4, 80, IPPROTO_TCP); /* the 5-tuple of P.tcp4 */
	s.frag = 0x2000;
	ok &= lb_pkt_build(&P.frag4_first_est, s, "frag4_first_est");
	s = lb_spec_c2v(CLIENT4, 40062, VIP4, 80, IPPROTO_TCP);
	s.frag = 185; /* offset 1480, last fragment: no L4 header */
	ok &= lb_pkt_build(&P.frag4_tail, s, "frag4_tail");

	/* IPv6. */
	truncated(&P.ip6_short, &P.tcp6, ETH_HLEN + 39);
	P.ip6_long = P.tcp6;
	pkt_ip6(&P.ip6_long)->payload_len = htons(P.tcp6.len - ETH_HLEN - 40 + 1);
	P.ip6_ver4 = P.tcp6;
	pkt_ip6(&P.ip6_ver4)->version = 4;
	s = lb_spec_c2v(CLIENT6, 40050, VIP6, 80, IPPROTO_TCP);
	s.payload = 0;
	ok &= lb_pkt_build(&P.tcp6_short, s, "tcp6_short");
	truncated(&P.tcp6_short, &P.tcp6_short, ETH_HLEN + 40 + 10);
	pkt_ip6(&P.tcp6_short)->payload_len = htons(10);
	s = lb_spec_c2v(CLIENT6, 40060, VIP6, 80, IPPROTO_TCP);
	s.v6_frag = true;
	s.frag = 1; /* M flag, offset 0 */
	ok &= lb_pkt_build(&P.frag6_first, s, "frag6_first");
	s = lb_spec_c2v(CLIENT6, 40062, VIP6, 80, IPPROTO_TCP);
	s.v6_frag = true;
	s.frag = 185 << 3; /* offset 1480 */
	ok &= lb_pkt_build(&P.frag6_tail, s, "frag6_tail");

	/* IPv6 atomic fragments: load balanced whole, fragment header kept. */
	s = lb_spec_c2v(CLIENT6, 40063, VIP6, 80, IPPROTO_TCP);
	s.v6_frag = true;
	s.frag = 0; /* offset 0, M clear */
	ok &= lb_pkt_build(&P.frag6_atomic, s, "frag6_atomic");
	ok &= lb_pkt_build(&P.frag6_atomic_out, lb_spec_fwd(s, &BE_TCP6, true), "frag6_atomic_out");
	s.frag = 1; /* the same 5-tuple, now a first fragment */
	ok &= lb_pkt_build(&P.frag6_first_est, s, "frag6_first_est");
	s = lb_spec_c2v(CLIENT6, 40064, VIP6, 53, IPPROTO_UDP);
	s.v6_frag = true;
	ok &= lb_pkt_build(&P.frag6_atomic_udp, s, "frag6_atomic_udp");
	ok &= lb_pkt_build(&P.frag6_atomic_udp_out, lb_spec_fwd(s, &BE_UDP6, true),
			   "frag6_atomic_udp_out");
	return ok;
}
