// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_RUN fixtures for every path of the XDP load balancer, in the manner of the kernel's
 * BPF selftests: packets built once and reused, each run checked for its verdict, its EXACT
 * output bytes and exactly which counters moved.
 *
 * Isolation: the skeleton is loaded with pinning switched off, so its maps are private to this
 * process and the live state under /sys/fs/bpf/veer is never touched. The runner moves itself
 * into a fresh network namespace (unshare) holding two veth pairs with fixed MACs, addresses,
 * routes and permanent neighbours, so the program's bpf_fib_lookup() answers deterministically:
 *
 *   client side  vc0 02:00:00:00:01:01  198.18.1.1/24   2001:2:0:1::1/64
 *                neighbours: 198.18.1.2, 2001:2:0:1::2 -> 02:00:00:00:01:02
 *   backend side vb0 02:00:00:00:11:01  198.18.11.1/24  198.18.12.1/24  198.18.13.1/24
 *                                       2001:2:0:11::1/64
 *                neighbours: 198.18.11.2, 2001:2:0:11::2 -> 02:00:00:00:11:02
 *                            198.18.12.2 -> 02:00:00:00:12:02, 198.18.13.2 -> 02:00:00:00:13:02
 *                198.18.11.9 has no neighbour entry: the FIB lookup fails for it.
 *
 * Every test starts from empty maps (flows, affinity, VIPs, rings, backends, counters).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "test.h"
#include "packet.h"
#include "maglev.h"
#include "lb.skel.h"

#define NIDS	  32 /* VIP and backend ids the tests use: reset between tests */
#define RING_SIZE 13 /* small prime: rings are filled by hand or by veer_maglev_build */

static const char *const reason_names[VEER_REASON_MAX] = VEER_REASON_NAMES;

/* Topology, see the top of the file. */
static const __u8 MAC_VC0[6] = {0x02, 0, 0, 0, 0x01, 0x01};
static const __u8 MAC_VC0_PEER[6] = {0x02, 0, 0, 0, 0x01, 0xfe};
static const __u8 MAC_CLIENT[6] = {0x02, 0, 0, 0, 0x01, 0x02};
static const __u8 MAC_VB0[6] = {0x02, 0, 0, 0, 0x11, 0x01};
static const __u8 MAC_VB0_PEER[6] = {0x02, 0, 0, 0, 0x11, 0xfe};
static const __u8 MAC_BE_A[6] = {0x02, 0, 0, 0, 0x11, 0x02};
static const __u8 MAC_BE_B[6] = {0x02, 0, 0, 0, 0x12, 0x02};
static const __u8 MAC_BE_C[6] = {0x02, 0, 0, 0, 0x13, 0x02};

#define CLIENT4	  "198.18.1.2"
#define CLIENT4_2 "198.18.1.3" /* second client: no neighbour needed, only forward traffic */
#define CLIENT6	  "2001:2:0:1::2"
#define VIP4	  "198.18.100.10"
#define VIP4_2	  "198.18.100.11" /* no-backend, unsupported-mode and no-neighbour VIPs */
#define VIP4_AFF  "198.18.100.12"
#define VIP6	  "2001:2:0:100::10"
#define OTHER4	  "198.18.100.99"
#define OTHER6	  "2001:2:0:100::99"

/* VIP ids (index of veer_rings and veer_vip_stats). */
enum {
	VIP_TCP4 = 1,	 /* 198.18.100.10:80/tcp */
	VIP_UDP4 = 2,	 /* 198.18.100.10:53/udp */
	VIP_TCP6 = 3,	 /* [2001:2:0:100::10]:80/tcp */
	VIP_UDP6 = 4,	 /* [2001:2:0:100::10]:53/udp */
	VIP_SPECIAL = 5, /* 198.18.100.11:80/tcp, set up by the test that needs it */
	VIP_AFF = 6,	 /* 198.18.100.12:80/tcp, affinity 60 s */
	VIP_AFF_OFF = 7, /* 198.18.100.12:81/tcp, same backends, no affinity */
};

/* Backends: ids unlike VIP ids, so that a mix-up of the two shows. */
struct be_def {
	__u32 id;
	const char *addr;
	__u16 port;
	const __u8 *mac; /* NULL: no neighbour entry */
};

static const struct be_def BE_TCP4 = {10, "198.18.11.2", 8080, MAC_BE_A};
static const struct be_def BE_UDP4 = {11, "198.18.11.2", 5353, MAC_BE_A};
static const struct be_def BE_TCP6 = {12, "2001:2:0:11::2", 8080, MAC_BE_A};
static const struct be_def BE_UDP6 = {13, "2001:2:0:11::2", 5353, MAC_BE_A};
static const struct be_def BE_B = {14, "198.18.12.2", 8080, MAC_BE_B};
static const struct be_def BE_NONEIGH = {15, "198.18.11.9", 8080, NULL};
/* Three backends of the affinity VIP, and the same three of its affinity-less twin. */
static const struct be_def BE_AFF[3] = {
	{20, "198.18.11.2", 8080, MAC_BE_A},
	{21, "198.18.12.2", 8080, MAC_BE_B},
	{22, "198.18.13.2", 8080, MAC_BE_C},
};
static const struct be_def BE_AFF_OFF[3] = {
	{23, "198.18.11.2", 8080, MAC_BE_A},
	{24, "198.18.12.2", 8080, MAC_BE_B},
	{25, "198.18.13.2", 8080, MAC_BE_C},
};

enum side { FROM_CLIENT, FROM_BACKEND };

static struct {
	bool tried, ok, skipped;
	char why[640];
	struct lb *skel;
	int prog_fd, ncpus;
	int ifindex[2]; /* enum side */
} env;

/* ---- packets: every fixture's input and expected output, built once ---- */

static struct {
	/* New flow, established flow, reply: TCP/IPv4. */
	struct pkt tcp4, tcp4_out, tcp4_reply, tcp4_reply_out;
	/* UDP/IPv4 with a checksum and without one (0 stays 0), and a reply. */
	struct pkt udp4, udp4_out, udp4_reply, udp4_reply_out, udp4_nocsum, udp4_nocsum_out;
	/* IPv6. */
	struct pkt tcp6, tcp6_out, tcp6_reply, tcp6_reply_out, udp6, udp6_out;
	/* 802.1Q: rewritten, tag kept, left to the stack. */
	struct pkt vlan4, vlan4_out, vlan6, vlan6_out;
	/* IPv4 options; a frame padded to the Ethernet minimum. */
	struct pkt opts4, opts4_out, pad4, pad4_out;
	/* TTL / hop limit. */
	struct pkt ttl1_4, ttl1_6, ttl2_4, ttl2_4_out;
	/* A VIP whose backend has no neighbour entry; the same VIP address for other tests. */
	struct pkt special4, special4_out;
	/* Checksum edges: an output TCP checksum of 0, an input one of 0, a UDP sum of 0 (sent as
	 * 0xffff) in the output and in the input, over IPv4 and IPv6. */
	struct pkt tcp4_c0_out_in, tcp4_c0_out, tcp4_c0_in, tcp4_c0_in_out, udp4_cf_out_in,
		udp4_cf_out, udp4_cf_in, udp4_cf_in_out, udp6_cf_out_in, udp6_cf_out,
		tcp6_c0_out_in, tcp6_c0_out;
	/* Not for a VIP. */
	struct pkt other4, port443, udp_port80, icmp4, other6, icmp6, arp;
	/* Malformed. */
	struct pkt runt, vlan_short14, vlan_short17, ip4_short, ip4_ihl4, ip4_ver6, ip4_long,
		ip4_tot_lt_ihl, tcp4_short, tcp4_outside, udp4_short, frag4_first,
		frag4_first_other, frag4_first_est, frag4_tail, ip6_short, ip6_long, ip6_ver4,
		tcp6_short, frag6_first, frag6_tail;
} P;

/* A client's packet to a VIP: 32 bytes of payload, TTL 64, client MAC -> vc0. */
static struct pkt_spec spec_c2v(const char *client, __u16 sport, const char *vip, __u16 vport,
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

/* What veer makes of client packet s for backend be: forwarded (redirect) or left to the stack. */
static struct pkt_spec spec_fwd(struct pkt_spec s, const struct be_def *be, bool redirect)
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

/* A backend's reply to the client. */
static struct pkt_spec spec_b2c(const struct be_def *be, const char *client, __u16 cport,
				__u8 proto)
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

/* What veer makes of reply s: source back to the VIP, out of vc0 to the client. */
static struct pkt_spec spec_rev(struct pkt_spec s, const char *vip, __u16 vport)
{
	s.saddr = vip;
	s.sport = vport;
	s.ttl = (s.ttl ? s.ttl : 64) - 1;
	memcpy(s.dmac, MAC_CLIENT, 6);
	memcpy(s.smac, MAC_VC0, 6);
	return s;
}

static bool build(struct pkt *p, struct pkt_spec s, const char *what)
{
	return ASSERT_OK(pkt_build(p, &s), what);
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
	return build(in, s, what) && build(out, spec_fwd(s, be, true), what) &&
	       steer_csum(in, out, on_output ? out : in, want, what);
}

static bool pkts_init(void)
{
	struct pkt_spec s;
	bool ok = true;

	/* 1-3: TCP/IPv4 new flow, established flow, reply. */
	s = spec_c2v(CLIENT4, 40000, VIP4, 80, IPPROTO_TCP);
	ok &= build(&P.tcp4, s, "tcp4");
	ok &= build(&P.tcp4_out, spec_fwd(s, &BE_TCP4, true), "tcp4_out");
	s = spec_b2c(&BE_TCP4, CLIENT4, 40000, IPPROTO_TCP);
	ok &= build(&P.tcp4_reply, s, "tcp4_reply");
	ok &= build(&P.tcp4_reply_out, spec_rev(s, VIP4, 80), "tcp4_reply_out");

	/* 4: UDP/IPv4. */
	s = spec_c2v(CLIENT4, 40001, VIP4, 53, IPPROTO_UDP);
	ok &= build(&P.udp4, s, "udp4");
	ok &= build(&P.udp4_out, spec_fwd(s, &BE_UDP4, true), "udp4_out");
	s = spec_b2c(&BE_UDP4, CLIENT4, 40001, IPPROTO_UDP);
	ok &= build(&P.udp4_reply, s, "udp4_reply");
	ok &= build(&P.udp4_reply_out, spec_rev(s, VIP4, 53), "udp4_reply_out");
	s = spec_c2v(CLIENT4, 40002, VIP4, 53, IPPROTO_UDP);
	s.udp_nocsum = true;
	ok &= build(&P.udp4_nocsum, s, "udp4_nocsum");
	ok &= build(&P.udp4_nocsum_out, spec_fwd(s, &BE_UDP4, true), "udp4_nocsum_out");

	/* 5: IPv6. */
	s = spec_c2v(CLIENT6, 40000, VIP6, 80, IPPROTO_TCP);
	ok &= build(&P.tcp6, s, "tcp6");
	ok &= build(&P.tcp6_out, spec_fwd(s, &BE_TCP6, true), "tcp6_out");
	s = spec_b2c(&BE_TCP6, CLIENT6, 40000, IPPROTO_TCP);
	ok &= build(&P.tcp6_reply, s, "tcp6_reply");
	ok &= build(&P.tcp6_reply_out, spec_rev(s, VIP6, 80), "tcp6_reply_out");
	s = spec_c2v(CLIENT6, 40001, VIP6, 53, IPPROTO_UDP);
	ok &= build(&P.udp6, s, "udp6");
	ok &= build(&P.udp6_out, spec_fwd(s, &BE_UDP6, true), "udp6_out");

	/* 6: 802.1Q. */
	s = spec_c2v(CLIENT4, 40010, VIP4, 80, IPPROTO_TCP);
	s.vlan = 100;
	ok &= build(&P.vlan4, s, "vlan4");
	ok &= build(&P.vlan4_out, spec_fwd(s, &BE_TCP4, false), "vlan4_out");
	s = spec_c2v(CLIENT6, 40010, VIP6, 80, IPPROTO_TCP);
	s.vlan = 100;
	ok &= build(&P.vlan6, s, "vlan6");
	ok &= build(&P.vlan6_out, spec_fwd(s, &BE_TCP6, false), "vlan6_out");

	/* IPv4 options (IHL 6) and a 60-byte frame with 6 bytes of Ethernet padding. */
	s = spec_c2v(CLIENT4, 40040, VIP4, 80, IPPROTO_TCP);
	s.ip_opts = 4;
	ok &= build(&P.opts4, s, "opts4");
	ok &= build(&P.opts4_out, spec_fwd(s, &BE_TCP4, true), "opts4_out");
	s = spec_c2v(CLIENT4, 40041, VIP4, 80, IPPROTO_TCP);
	s.payload = 0;
	s.pad = 6;
	ok &= build(&P.pad4, s, "pad4");
	ok &= build(&P.pad4_out, spec_fwd(s, &BE_TCP4, true), "pad4_out");

	/* 10: TTL. */
	s = spec_c2v(CLIENT4, 40070, VIP4, 80, IPPROTO_TCP);
	s.ttl = 1;
	ok &= build(&P.ttl1_4, s, "ttl1_4");
	s = spec_c2v(CLIENT6, 40070, VIP6, 80, IPPROTO_TCP);
	s.ttl = 1;
	ok &= build(&P.ttl1_6, s, "ttl1_6");
	s = spec_c2v(CLIENT4, 40071, VIP4, 80, IPPROTO_TCP);
	s.ttl = 2;
	ok &= build(&P.ttl2_4, s, "ttl2_4");
	ok &= build(&P.ttl2_4_out, spec_fwd(s, &BE_TCP4, true), "ttl2_4_out");

	/* The special VIP: no neighbour for its backend (rewritten, left to the stack). */
	s = spec_c2v(CLIENT4, 40020, VIP4_2, 80, IPPROTO_TCP);
	ok &= build(&P.special4, s, "special4");
	ok &= build(&P.special4_out, spec_fwd(s, &BE_NONEIGH, false), "special4_out");

	/* Checksum edges. */
	ok &= build_steered(&P.tcp4_c0_out_in, &P.tcp4_c0_out,
			    spec_c2v(CLIENT4, 40080, VIP4, 80, IPPROTO_TCP), &BE_TCP4, true, 0,
			    "TCP checksum 0 out");
	ok &= build_steered(&P.tcp4_c0_in, &P.tcp4_c0_in_out,
			    spec_c2v(CLIENT4, 40081, VIP4, 80, IPPROTO_TCP), &BE_TCP4, false, 0,
			    "TCP checksum 0 in");
	ok &= build_steered(&P.udp4_cf_out_in, &P.udp4_cf_out,
			    spec_c2v(CLIENT4, 40082, VIP4, 53, IPPROTO_UDP), &BE_UDP4, true, 0xffff,
			    "UDP sum 0 out");
	ok &= build_steered(&P.udp4_cf_in, &P.udp4_cf_in_out,
			    spec_c2v(CLIENT4, 40083, VIP4, 53, IPPROTO_UDP), &BE_UDP4, false,
			    0xffff, "UDP sum 0 in");
	ok &= build_steered(&P.udp6_cf_out_in, &P.udp6_cf_out,
			    spec_c2v(CLIENT6, 40082, VIP6, 53, IPPROTO_UDP), &BE_UDP6, true, 0xffff,
			    "UDP/IPv6 sum 0 out");
	ok &= build_steered(&P.tcp6_c0_out_in, &P.tcp6_c0_out,
			    spec_c2v(CLIENT6, 40080, VIP6, 80, IPPROTO_TCP), &BE_TCP6, true, 0,
			    "TCP/IPv6 checksum 0 out");

	/* 7: not for a VIP. */
	ok &= build(&P.other4, spec_c2v(CLIENT4, 40030, OTHER4, 80, IPPROTO_TCP), "other4");
	ok &= build(&P.port443, spec_c2v(CLIENT4, 40031, VIP4, 443, IPPROTO_TCP), "port443");
	ok &= build(&P.udp_port80, spec_c2v(CLIENT4, 40032, VIP4, 80, IPPROTO_UDP), "udp_port80");
	ok &= build(&P.icmp4, spec_c2v(CLIENT4, 0, VIP4, 0, IPPROTO_ICMP), "icmp4");
	ok &= build(&P.other6, spec_c2v(CLIENT6, 40030, OTHER6, 80, IPPROTO_TCP), "other6");
	ok &= build(&P.icmp6, spec_c2v(CLIENT6, 0, VIP6, 0, IPPROTO_ICMPV6), "icmp6");
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
	s = spec_c2v(CLIENT4, 40050, VIP4, 80, IPPROTO_TCP);
	s.payload = 0;
	ok &= build(&P.tcp4_outside, s, "tcp4_outside");
	truncated(&P.tcp4_short, &P.tcp4_outside, ETH_HLEN + 20 + 10);
	pkt_ip4(&P.tcp4_short)->tot_len = htons(20 + 10);
	pkt_ip4_fix_csum(&P.tcp4_short);
	/* The whole TCP header is in the frame, but the datagram ends 10 bytes into it. */
	pkt_ip4(&P.tcp4_outside)->tot_len = htons(20 + 10);
	pkt_ip4_fix_csum(&P.tcp4_outside);

	s = spec_c2v(CLIENT4, 40051, VIP4, 53, IPPROTO_UDP);
	s.payload = 0;
	ok &= build(&P.udp4_short, s, "udp4_short");
	truncated(&P.udp4_short, &P.udp4_short, ETH_HLEN + 20 + 6);
	pkt_ip4(&P.udp4_short)->tot_len = htons(20 + 6);
	pkt_ip4_fix_csum(&P.udp4_short);

	/* Fragments: first (MF, offset 0) to a VIP, to no VIP, of an established flow; a tail. */
	s = spec_c2v(CLIENT4, 40060, VIP4, 80, IPPROTO_TCP);
	s.frag = 0x2000;
	ok &= build(&P.frag4_first, s, "frag4_first");
	s = spec_c2v(CLIENT4, 40061, OTHER4, 80, IPPROTO_TCP);
	s.frag = 0x2000;
	ok &= build(&P.frag4_first_other, s, "frag4_first_other");
	s = spec_c2v(CLIENT4, 40000, VIP4, 80, IPPROTO_TCP); /* the 5-tuple of P.tcp4 */
	s.frag = 0x2000;
	ok &= build(&P.frag4_first_est, s, "frag4_first_est");
	s = spec_c2v(CLIENT4, 40062, VIP4, 80, IPPROTO_TCP);
	s.frag = 185; /* offset 1480, last fragment: no L4 header */
	ok &= build(&P.frag4_tail, s, "frag4_tail");

	/* IPv6. */
	truncated(&P.ip6_short, &P.tcp6, ETH_HLEN + 39);
	P.ip6_long = P.tcp6;
	pkt_ip6(&P.ip6_long)->payload_len = htons(P.tcp6.len - ETH_HLEN - 40 + 1);
	P.ip6_ver4 = P.tcp6;
	pkt_ip6(&P.ip6_ver4)->version = 4;
	s = spec_c2v(CLIENT6, 40050, VIP6, 80, IPPROTO_TCP);
	s.payload = 0;
	ok &= build(&P.tcp6_short, s, "tcp6_short");
	truncated(&P.tcp6_short, &P.tcp6_short, ETH_HLEN + 40 + 10);
	pkt_ip6(&P.tcp6_short)->payload_len = htons(10);
	s = spec_c2v(CLIENT6, 40060, VIP6, 80, IPPROTO_TCP);
	s.v6_frag = true;
	s.frag = 1; /* M flag, offset 0 */
	ok &= build(&P.frag6_first, s, "frag6_first");
	s = spec_c2v(CLIENT6, 40062, VIP6, 80, IPPROTO_TCP);
	s.v6_frag = true;
	s.frag = 185 << 3; /* offset 1480 */
	ok &= build(&P.frag6_tail, s, "frag6_tail");
	return ok;
}

/* ---- environment: namespace, topology, private skeleton ---- */

static bool sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc)) {
		snprintf(env.why, sizeof(env.why), "command failed (status %d): %s", rc, cmd);
		return false;
	}
	return true;
}

static const char *mac_str(const __u8 *m, char *buf)
{
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

static bool topology(void)
{
	static const struct {
		const char *addr, *dev;
		const __u8 *mac;
	} neigh[] = {
		{CLIENT4, "vc0", MAC_CLIENT},	  {CLIENT6, "vc0", MAC_CLIENT},
		{"198.18.11.2", "vb0", MAC_BE_A}, {"2001:2:0:11::2", "vb0", MAC_BE_A},
		{"198.18.12.2", "vb0", MAC_BE_B}, {"198.18.13.2", "vb0", MAC_BE_C},
	};
	char m1[18], m2[18];
	bool ok;

	if (unshare(CLONE_NEWNET)) {
		if (errno == EPERM) {
			env.skipped = true;
			snprintf(env.why, sizeof(env.why),
				 "cannot create a network namespace (needs CAP_SYS_ADMIN)");
		} else {
			snprintf(env.why, sizeof(env.why), "unshare(CLONE_NEWNET): %s",
				 strerror(errno));
		}
		return false;
	}
	ok = sh("ip link set dev lo up") &&
	     sh("ip link add vc0 address %s type veth peer name vc0p address %s",
		mac_str(MAC_VC0, m1), mac_str(MAC_VC0_PEER, m2)) &&
	     sh("ip link add vb0 address %s type veth peer name vb0p address %s",
		mac_str(MAC_VB0, m1), mac_str(MAC_VB0_PEER, m2)) &&
	     sh("ip link set dev vc0 up && ip link set dev vc0p up") &&
	     sh("ip link set dev vb0 up && ip link set dev vb0p up") &&
	     sh("ip addr add 198.18.1.1/24 dev vc0") && sh("ip addr add 198.18.11.1/24 dev vb0") &&
	     sh("ip addr add 198.18.12.1/24 dev vb0") && sh("ip addr add 198.18.13.1/24 dev vb0") &&
	     sh("ip -6 addr add 2001:2:0:1::1/64 dev vc0 nodad") &&
	     sh("ip -6 addr add 2001:2:0:11::1/64 dev vb0 nodad") &&
	     /* After the links exist: "all" is copied to every device already there. */
	     sh("sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
	for (size_t i = 0; ok && i < sizeof(neigh) / sizeof(neigh[0]); i++)
		ok = sh("ip neigh replace %s lladdr %s dev %s nud permanent", neigh[i].addr,
			mac_str(neigh[i].mac, m1), neigh[i].dev);
	if (!ok)
		return false;
	env.ifindex[FROM_CLIENT] = if_nametoindex("vc0");
	env.ifindex[FROM_BACKEND] = if_nametoindex("vb0");
	if (!env.ifindex[FROM_CLIENT] || !env.ifindex[FROM_BACKEND]) {
		snprintf(env.why, sizeof(env.why), "veth interfaces missing");
		return false;
	}
	return true;
}

static bool skeleton(void)
{
	struct bpf_map *map;
	int err;

	env.ncpus = libbpf_num_possible_cpus();
	if (env.ncpus <= 0) {
		snprintf(env.why, sizeof(env.why), "cannot count CPUs");
		return false;
	}
	/* No pin_root_path; and libbpf's default pin path is cleared map by map below. */
	env.skel = lb__open();
	if (!env.skel) {
		snprintf(env.why, sizeof(env.why), "lb__open: %s", strerror(errno));
		return false;
	}
	bpf_object__for_each_map(map, env.skel->obj)
	{
		err = bpf_map__set_pin_path(map, NULL);
		if (err) {
			snprintf(env.why, sizeof(env.why), "unpin %s: %s", bpf_map__name(map),
				 strerror(-err));
			return false;
		}
	}
	/* Smaller tables than production: they are created per run (same semantics). */
	bpf_map__set_max_entries(env.skel->maps.veer_flows, 4096);
	bpf_map__set_max_entries(env.skel->maps.veer_affinity, 4096);
	err = lb__load(env.skel);
	if (err) {
		snprintf(env.why, sizeof(env.why), "lb__load: %s", strerror(-err));
		return false;
	}
	bpf_object__for_each_map(map, env.skel->obj)
	{
		if (bpf_map__is_pinned(map)) {
			snprintf(env.why, sizeof(env.why), "map %s got pinned", bpf_map__name(map));
			return false;
		}
	}
	env.prog_fd = bpf_program__fd(env.skel->progs.veer_lb);
	return true;
}

static bool map_clear(struct bpf_map *map)
{
	__u8 key[64];
	size_t ksz = bpf_map__key_size(map);

	while (!bpf_map__get_next_key(map, NULL, key, ksz))
		if (bpf_map__delete_elem(map, key, ksz, 0))
			return false;
	return true;
}

static bool percpu_zero(struct bpf_map *map, __u32 idx)
{
	size_t sz = env.ncpus * ((bpf_map__value_size(map) + 7) & ~7UL);
	void *zero = calloc(1, sz);
	int err;

	if (!zero)
		return false;
	err = bpf_map__update_elem(map, &idx, sizeof(idx), zero, sz, BPF_ANY);
	free(zero);
	return !err;
}

static bool env_reset(void)
{
	struct lb *s = env.skel;
	struct veer_backend zero = {};
	bool ok;

	ok = map_clear(s->maps.veer_flows) && map_clear(s->maps.veer_affinity) &&
	     map_clear(s->maps.veer_vips);
	for (__u32 id = 0; ok && id < NIDS; id++) {
		__u32 inner_id;

		/* Only where a ring is: every map-in-map delete waits for an RCU grace period. */
		if (!bpf_map__lookup_elem(s->maps.veer_rings, &id, sizeof(id), &inner_id,
					  sizeof(inner_id), 0))
			bpf_map__delete_elem(s->maps.veer_rings, &id, sizeof(id), 0);
		ok = !bpf_map__update_elem(s->maps.veer_backends, &id, sizeof(id), &zero,
					   sizeof(zero), BPF_ANY) &&
		     percpu_zero(s->maps.veer_vip_stats, id) &&
		     percpu_zero(s->maps.veer_be_stats, id);
	}
	for (__u32 r = 0; ok && r < VEER_REASON_MAX; r++)
		ok = percpu_zero(s->maps.veer_reasons, r);
	return ASSERT_TRUE(ok, "reset the test maps");
}

/* Every test begins here: the environment is made on first use, then reset to empty maps. */
static bool lb_begin(void)
{
	if (!env.tried) {
		env.tried = true;
		env.ok = topology() && skeleton() && pkts_init();
	}
	if (!env.ok) {
		if (env.skipped)
			veer_test_skip("%s", env.why);
		else
			veer_test_fail(__FILE__, __LINE__, "BPF test environment: %s", env.why);
		return false;
	}
	return env_reset();
}

/* ---- map access ---- */

static __u8 addr_parse(const char *s, union veer_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (strchr(s, ':'))
		return inet_pton(AF_INET6, s, a->bytes) == 1 ? VEER_AF_INET6 : 0;
	return inet_pton(AF_INET, s, a->bytes) == 1 ? VEER_AF_INET : 0;
}

static bool add_vip(__u32 id, const char *addr, __u16 port, __u8 proto, __u32 affinity, __u8 mode)
{
	struct veer_vip_key k = {};
	struct veer_vip v = {.id = id, .ring_size = RING_SIZE, .affinity = affinity, .mode = mode};

	k.family = addr_parse(addr, &k.addr);
	k.port = htons(port);
	k.proto = proto;
	return ASSERT_TRUE(k.family, addr) &&
	       ASSERT_OK(bpf_map__update_elem(env.skel->maps.veer_vips, &k, sizeof(k), &v,
					      sizeof(v), BPF_ANY),
			 "add VIP");
}

static bool add_backend(const struct be_def *be, __u32 vip_id, __u32 weight)
{
	struct veer_backend b = {
		.port = htons(be->port),
		.flags = VEER_BACKEND_ACTIVE,
		.vip_id = vip_id,
		.weight = weight,
		.seq = be->id,
	};

	b.family = addr_parse(be->addr, &b.addr);
	strcpy(b.pool, "default");
	return ASSERT_TRUE(b.family, be->addr) &&
	       ASSERT_OK(bpf_map__update_elem(env.skel->maps.veer_backends, &be->id, sizeof(be->id),
					      &b, sizeof(b), BPF_ANY),
			 "add backend");
}

/* Builds a ring off to the side and swaps it in with one update, as libveer does. */
static bool set_ring(__u32 vip_id, const __u32 *slots)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "veer_ring_test", 4, 4, RING_SIZE, &opts);
	if (!ASSERT_TRUE(fd >= 0, "create ring"))
		return false;
	for (__u32 i = 0; !err && i < RING_SIZE; i++)
		err = bpf_map_update_elem(fd, &i, &slots[i], BPF_ANY);
	if (!err)
		err = bpf_map__update_elem(env.skel->maps.veer_rings, &vip_id, sizeof(vip_id), &fd,
					   sizeof(fd), BPF_ANY);
	close(fd);
	return ASSERT_OK(err, "publish ring");
}

static bool set_ring_all(__u32 vip_id, __u32 backend_id)
{
	__u32 slots[RING_SIZE];

	for (int i = 0; i < RING_SIZE; i++)
		slots[i] = backend_id;
	return set_ring(vip_id, slots);
}

/* A ring from the control plane's own Maglev builder over backends with these weights. */
static bool set_ring_maglev(__u32 vip_id, const struct be_def *const *be, const __u32 *weights,
			    size_t n)
{
	struct veer_maglev_backend mb[8] = {};
	__u32 slots[RING_SIZE];

	for (size_t i = 0; i < n; i++) {
		mb[i].id = be[i]->id;
		mb[i].weight = weights[i];
		mb[i].family = addr_parse(be[i]->addr, &mb[i].addr);
		mb[i].port = htons(be[i]->port);
	}
	return ASSERT_OK(veer_maglev_build(mb, n, RING_SIZE, slots), "maglev build") &&
	       set_ring(vip_id, slots);
}

/* One VIP with one backend that every slot of its ring points at. */
static bool vip_single(__u32 vip_id, const char *addr, __u16 port, __u8 proto,
		       const struct be_def *be)
{
	return add_vip(vip_id, addr, port, proto, 0, VEER_MODE_NAT) &&
	       add_backend(be, vip_id, VEER_WEIGHT_DEFAULT) && set_ring_all(vip_id, be->id);
}

/* The four VIPs most tests use. */
static bool vips_basic(void)
{
	return vip_single(VIP_TCP4, VIP4, 80, IPPROTO_TCP, &BE_TCP4) &&
	       vip_single(VIP_UDP4, VIP4, 53, IPPROTO_UDP, &BE_UDP4) &&
	       vip_single(VIP_TCP6, VIP6, 80, IPPROTO_TCP, &BE_TCP6) &&
	       vip_single(VIP_UDP6, VIP6, 53, IPPROTO_UDP, &BE_UDP6);
}

static struct veer_counters counters(struct bpf_map *map, __u32 id)
{
	struct veer_counters sum = {}, *v = calloc(env.ncpus, sizeof(*v));

	if (!v || bpf_map__lookup_elem(map, &id, sizeof(id), v, env.ncpus * sizeof(*v), 0)) {
		veer_test_fail(__FILE__, __LINE__, "read counters %u", id);
	} else {
		for (int c = 0; c < env.ncpus; c++) {
			sum.packets += v[c].packets;
			sum.bytes += v[c].bytes;
			sum.new_flows += v[c].new_flows;
			sum.reply_packets += v[c].reply_packets;
			sum.reply_bytes += v[c].reply_bytes;
		}
	}
	free(v);
	return sum;
}

static void reasons_read(__u64 sum[VEER_REASON_MAX])
{
	__u64 *v = calloc(env.ncpus, sizeof(*v));

	for (__u32 r = 0; r < VEER_REASON_MAX; r++) {
		sum[r] = 0;
		if (!v || bpf_map__lookup_elem(env.skel->maps.veer_reasons, &r, sizeof(r), v,
					       env.ncpus * sizeof(*v), 0)) {
			veer_test_fail(__FILE__, __LINE__, "read reason %u", r);
			continue;
		}
		for (int c = 0; c < env.ncpus; c++)
			sum[r] += v[c];
	}
	free(v);
}

static bool flow_get(const char *saddr, __u16 sport, const char *daddr, __u16 dport, __u8 proto,
		     struct veer_flow *f)
{
	struct veer_flow_key k = {};

	k.family = addr_parse(saddr, &k.saddr);
	addr_parse(daddr, &k.daddr);
	k.sport = htons(sport);
	k.dport = htons(dport);
	k.proto = proto;
	return !bpf_map__lookup_elem(env.skel->maps.veer_flows, &k, sizeof(k), f, sizeof(*f), 0);
}

static int map_count(struct bpf_map *map)
{
	__u8 key[64], next[64];
	size_t ksz = bpf_map__key_size(map);
	int n = 0;

	for (void *prev = NULL; !bpf_map__get_next_key(map, prev, next, ksz); prev = key) {
		memcpy(key, next, ksz);
		n++;
	}
	return n;
}

/* ---- running fixtures ---- */

static int prog_run(const struct pkt *in, enum side from, struct pkt *out, __u32 *retval)
{
	struct xdp_md md = {
		.data = 0,
		.data_end = in->len,
		.ingress_ifindex = env.ifindex[from],
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data, .data_size_in = in->len,
		    .data_out = out->data, .data_size_out = sizeof(out->data), .ctx_in = &md,
		    .ctx_size_in = sizeof(md), .repeat = 1);
	int err;

	memset(out, 0, sizeof(*out));
	err = bpf_prog_test_run_opts(env.prog_fd, &opts);
	out->len = opts.data_size_out;
	*retval = opts.retval;
	return err;
}

static const char *verdict_name(__u32 v)
{
	static const char *const names[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					    "XDP_REDIRECT"};

	return v < 5 ? names[v] : "?";
}

struct fixture {
	const char *name;
	const struct pkt *in;
	enum side from;
	__u32 verdict;
	const struct pkt *out;	 /* NULL: the frame must come out exactly as it went in */
	enum veer_reason reason; /* the one reason counter that moves, or VEER_REASON_NONE */
};

/*
 * Runs one fixture. Checks the verdict, the exact output bytes, the checksums of a rewritten
 * frame (from scratch) and that the reason counters moved by exactly the one expected.
 */
static bool fixture_run(const struct fixture *fx)
{
	__u64 before[VEER_REASON_MAX], after[VEER_REASON_MAX];
	const struct pkt *want = fx->out ? fx->out : fx->in;
	char what[160], why[128];
	struct pkt got;
	__u32 retval;
	bool ok;

	reasons_read(before);
	snprintf(what, sizeof(what), "%s: BPF_PROG_RUN", fx->name);
	if (!ASSERT_OK(prog_run(fx->in, fx->from, &got, &retval), what))
		return false;
	reasons_read(after);

	snprintf(what, sizeof(what), "%s: verdict %s (got %s)", fx->name, verdict_name(fx->verdict),
		 verdict_name(retval));
	ok = ASSERT_EQ(retval, fx->verdict, what);
	snprintf(what, sizeof(what), "%s: output bytes", fx->name);
	ok &= ASSERT_MEMEQ(got.data, got.len, want->data, want->len, what);
	if (fx->out && !pkt_csums_ok(&got, why, sizeof(why)))
		ok = veer_test_fail(__FILE__, __LINE__, "%s: %s", fx->name, why);
	for (int r = 0; r < VEER_REASON_MAX; r++) {
		__u64 delta = after[r] - before[r];
		__u64 expect = r == (int)fx->reason && fx->reason != VEER_REASON_NONE;

		snprintf(what, sizeof(what), "%s: reason %s counted", fx->name, reason_names[r]);
		ok &= ASSERT_EQ(delta, expect, what);
	}
	return ok;
}

static bool fixtures_run(const struct fixture *fx, size_t n)
{
	bool ok = true;

	for (size_t i = 0; i < n; i++)
		ok &= fixture_run(&fx[i]);
	return ok;
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static bool counters_eq(struct bpf_map *map, __u32 id, __u64 packets, __u64 bytes, __u64 new_flows,
			__u64 reply_packets, __u64 reply_bytes, const char *what)
{
	struct veer_counters c = counters(map, id);
	char w[128];
	bool ok;

	snprintf(w, sizeof(w), "%s: packets", what);
	ok = ASSERT_EQ(c.packets, packets, w);
	snprintf(w, sizeof(w), "%s: bytes", what);
	ok &= ASSERT_EQ(c.bytes, bytes, w);
	snprintf(w, sizeof(w), "%s: new_flows", what);
	ok &= ASSERT_EQ(c.new_flows, new_flows, w);
	snprintf(w, sizeof(w), "%s: reply_packets", what);
	ok &= ASSERT_EQ(c.reply_packets, reply_packets, w);
	snprintf(w, sizeof(w), "%s: reply_bytes", what);
	ok &= ASSERT_EQ(c.reply_bytes, reply_bytes, w);
	return ok;
}

static bool addr_eq(const union veer_addr *a, const char *s)
{
	union veer_addr b;

	addr_parse(s, &b);
	return !memcmp(a, &b, sizeof(b));
}

/* The forward entry of a flow to be, with the next hop cached (or none: ifindex 0). */
static bool check_forward_entry(const struct veer_flow *f, __u32 vip_id, const struct be_def *be,
				bool hop_cached, const char *what)
{
	char w[128];
	bool ok;

	snprintf(w, sizeof(w), "%s: forward entry", what);
	ok = ASSERT_EQ(f->dir, VEER_FLOW_FORWARD, w) &&
	     ASSERT_TRUE(addr_eq(&f->addr, be->addr), w) &&
	     ASSERT_EQ(ntohs(f->port), be->port, w) && ASSERT_EQ(f->vip_id, vip_id, w) &&
	     ASSERT_EQ(f->backend_id, be->id, w) && ASSERT_NEQ(f->last_seen, 0, w);
	if (hop_cached)
		ok = ok && ASSERT_EQ(f->ifindex, env.ifindex[FROM_BACKEND], w) &&
		     ASSERT_MEMEQ(f->dmac, 6, be->mac, 6, w) &&
		     ASSERT_MEMEQ(f->smac, 6, MAC_VB0, 6, w);
	else
		ok = ok && ASSERT_EQ(f->ifindex, 0, w);
	return ok;
}

static bool check_reply_entry(const struct veer_flow *f, __u32 vip_id, const char *vip, __u16 vport,
			      __u32 backend_id, const char *what)
{
	char w[128];

	snprintf(w, sizeof(w), "%s: reply entry", what);
	return ASSERT_EQ(f->dir, VEER_FLOW_REPLY, w) && ASSERT_TRUE(addr_eq(&f->addr, vip), w) &&
	       ASSERT_EQ(ntohs(f->port), vport, w) && ASSERT_EQ(f->vip_id, vip_id, w) &&
	       ASSERT_EQ(f->backend_id, backend_id, w);
}

/* ---- 1-3: TCP/IPv4 new flow, established flow, reply ---- */

VEER_TEST(lb_tcp4_new_flow)
{
	struct fixture fx = {"tcp4 new flow", &P.tcp4,	   FROM_CLIENT,
			     XDP_REDIRECT,    &P.tcp4_out, VEER_REASON_NONE};
	struct veer_flow f;

	if (!lb_begin() || !vips_basic() || !fixture_run(&fx))
		return;
	ASSERT_EQ(map_count(env.skel->maps.veer_flows), 2, "flow entries");
	if (ASSERT_TRUE(flow_get(CLIENT4, 40000, VIP4, 80, IPPROTO_TCP, &f), "forward entry"))
		check_forward_entry(&f, VIP_TCP4, &BE_TCP4, true, "tcp4");
	if (ASSERT_TRUE(flow_get(BE_TCP4.addr, 8080, CLIENT4, 40000, IPPROTO_TCP, &f),
			"reply entry")) {
		check_reply_entry(&f, VIP_TCP4, VIP4, 80, BE_TCP4.id, "tcp4");
		/* Resolved on the first reply. */
		ASSERT_EQ(f.ifindex, 0, "reply entry: no hop before the first reply");
	}
	counters_eq(env.skel->maps.veer_vip_stats, VIP_TCP4, 1, P.tcp4.len, 1, 0, 0, "VIP");
	counters_eq(env.skel->maps.veer_be_stats, BE_TCP4.id, 1, P.tcp4.len, 1, 0, 0, "backend");
}

VEER_TEST(lb_tcp4_established)
{
	struct fixture fx[] = {
		{"tcp4 first packet", &P.tcp4, FROM_CLIENT, XDP_REDIRECT, &P.tcp4_out,
		 VEER_REASON_NONE},
		{"tcp4 second packet", &P.tcp4, FROM_CLIENT, XDP_REDIRECT, &P.tcp4_out,
		 VEER_REASON_NONE},
		{"tcp4 third packet", &P.tcp4, FROM_CLIENT, XDP_REDIRECT, &P.tcp4_out,
		 VEER_REASON_NONE},
	};

	if (!lb_begin() || !vips_basic() || !fixtures_run(fx, 2))
		return;
	counters_eq(env.skel->maps.veer_vip_stats, VIP_TCP4, 2, 2 * P.tcp4.len, 1, 0, 0,
		    "VIP after two packets");
	/* The ring changes under the flow: the connection table keeps it where it was. */
	if (!add_backend(&BE_B, VIP_TCP4, VEER_WEIGHT_DEFAULT) ||
	    !set_ring_all(VIP_TCP4, BE_B.id) || !fixture_run(&fx[2]))
		return;
	ASSERT_EQ(map_count(env.skel->maps.veer_flows), 2, "flow entries");
	counters_eq(env.skel->maps.veer_vip_stats, VIP_TCP4, 3, 3 * P.tcp4.len, 1, 0, 0, "VIP");
	counters_eq(env.skel->maps.veer_be_stats, BE_TCP4.id, 3, 3 * P.tcp4.len, 1, 0, 0,
		    "backend");
	counters_eq(env.skel->maps.veer_be_stats, BE_B.id, 0, 0, 0, 0, 0, "other backend");
}

VEER_TEST(lb_tcp4_reply)
{
	struct fixture fx[] = {
		{"tcp4 forward", &P.tcp4, FROM_CLIENT, XDP_REDIRECT, &P.tcp4_out, VEER_REASON_NONE},
		{"tcp4 reply", &P.tcp4_reply, FROM_BACKEND, XDP_REDIRECT, &P.tcp4_reply_out,
		 VEER_REASON_NONE},
		{"tcp4 second reply", &P.tcp4_reply, FROM_BACKEND, XDP_REDIRECT, &P.tcp4_reply_out,
		 VEER_REASON_NONE},
	};
	struct veer_flow f;

	if (!lb_begin() || !vips_basic() || !fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	/* The first reply resolved the hop back to the client and cached it. */
	if (ASSERT_TRUE(flow_get(BE_TCP4.addr, 8080, CLIENT4, 40000, IPPROTO_TCP, &f),
			"reply entry")) {
		check_reply_entry(&f, VIP_TCP4, VIP4, 80, BE_TCP4.id, "tcp4");
		ASSERT_EQ(f.ifindex, env.ifindex[FROM_CLIENT], "reply entry: ifindex");
		ASSERT_MEMEQ(f.dmac, 6, MAC_CLIENT, 6, "reply entry: dmac");
		ASSERT_MEMEQ(f.smac, 6, MAC_VC0, 6, "reply entry: smac");
	}
	counters_eq(env.skel->maps.veer_vip_stats, VIP_TCP4, 1, P.tcp4.len, 1, 2,
		    2 * P.tcp4_reply.len, "VIP");
	counters_eq(env.skel->maps.veer_be_stats, BE_TCP4.id, 1, P.tcp4.len, 1, 2,
		    2 * P.tcp4_reply.len, "backend");
}

/* A backend's packet to a client it has no flow with is not veer's: passed untouched. */
VEER_TEST(lb_reply_without_flow)
{
	struct fixture fx = {"reply of no flow", &P.tcp4_reply, FROM_BACKEND,
			     XDP_PASS,		 NULL,		VEER_PASS_NOT_VIP};

	if (lb_begin() && vips_basic())
		fixture_run(&fx);
}

/* ---- 4: UDP ---- */

VEER_TEST(lb_udp4)
{
	struct fixture fx[] = {
		{"udp4", &P.udp4, FROM_CLIENT, XDP_REDIRECT, &P.udp4_out, VEER_REASON_NONE},
		{"udp4 reply", &P.udp4_reply, FROM_BACKEND, XDP_REDIRECT, &P.udp4_reply_out,
		 VEER_REASON_NONE},
		{"udp4 no checksum", &P.udp4_nocsum, FROM_CLIENT, XDP_REDIRECT, &P.udp4_nocsum_out,
		 VEER_REASON_NONE},
	};
	struct veer_flow f;

	if (!lb_begin() || !vips_basic() || !fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	ASSERT_NEQ(pkt_l4_csum(&P.udp4_out), 0, "udp4 carries a checksum");
	ASSERT_EQ(pkt_l4_csum(&P.udp4_nocsum_out), 0, "udp4 without a checksum stays without");
	if (ASSERT_TRUE(flow_get(CLIENT4, 40001, VIP4, 53, IPPROTO_UDP, &f), "forward entry"))
		check_forward_entry(&f, VIP_UDP4, &BE_UDP4, true, "udp4");
	ASSERT_EQ(map_count(env.skel->maps.veer_flows), 4, "flow entries");
	counters_eq(env.skel->maps.veer_vip_stats, VIP_UDP4, 2, P.udp4.len + P.udp4_nocsum.len, 2,
		    1, P.udp4_reply.len, "VIP");
	counters_eq(env.skel->maps.veer_vip_stats, VIP_TCP4, 0, 0, 0, 0, 0,
		    "TCP VIP, same address");
}

/* ---- 5: IPv6 ---- */

VEER_TEST(lb_tcp6)
{
	struct fixture fx[] = {
		{"tcp6 new flow", &P.tcp6, FROM_CLIENT, XDP_REDIRECT, &P.tcp6_out,
		 VEER_REASON_NONE},
		{"tcp6 established", &P.tcp6, FROM_CLIENT, XDP_REDIRECT, &P.tcp6_out,
		 VEER_REASON_NONE},
		{"tcp6 reply", &P.tcp6_reply, FROM_BACKEND, XDP_REDIRECT, &P.tcp6_reply_out,
		 VEER_REASON_NONE},
	};
	struct veer_flow f;

	if (!lb_begin() || !vips_basic() || !fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	ASSERT_EQ(pkt_ip6(&P.tcp6_out)->hop_limit, 63, "hop limit decremented");
	if (ASSERT_TRUE(flow_get(CLIENT6, 40000, VIP6, 80, IPPROTO_TCP, &f), "forward entry"))
		check_forward_entry(&f, VIP_TCP6, &BE_TCP6, true, "tcp6");
	if (ASSERT_TRUE(flow_get(BE_TCP6.addr, 8080, CLIENT6, 40000, IPPROTO_TCP, &f),
			"reply entry")) {
		check_reply_entry(&f, VIP_TCP6, VIP6, 80, BE_TCP6.id, "tcp6");
		ASSERT_EQ(f.ifindex, env.ifindex[FROM_CLIENT], "reply entry: ifindex");
	}
	counters_eq(env.skel->maps.veer_vip_stats, VIP_TCP6, 2, 2 * P.tcp6.len, 1, 1,
		    P.tcp6_reply.len, "VIP");
}

VEER_TEST(lb_udp6)
{
	struct fixture fx = {"udp6",	   &P.udp6,	FROM_CLIENT,
			     XDP_REDIRECT, &P.udp6_out, VEER_REASON_NONE};

	if (lb_begin() && vips_basic() && fixture_run(&fx))
		counters_eq(env.skel->maps.veer_vip_stats, VIP_UDP6, 1, P.udp6.len, 1, 0, 0, "VIP");
}

/* ---- 6: 802.1Q: rewritten, tag kept, routed by the stack (no TTL change, MACs kept) ---- */

VEER_TEST(lb_vlan)
{
	struct fixture fx[] = {
		{"vlan4", &P.vlan4, FROM_CLIENT, XDP_PASS, &P.vlan4_out, VEER_PASS_STACK},
		{"vlan4 established", &P.vlan4, FROM_CLIENT, XDP_PASS, &P.vlan4_out,
		 VEER_PASS_STACK},
		{"vlan6", &P.vlan6, FROM_CLIENT, XDP_PASS, &P.vlan6_out, VEER_PASS_STACK},
	};
	struct veer_flow f;

	if (!lb_begin() || !vips_basic() || !fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	if (ASSERT_TRUE(flow_get(CLIENT4, 40010, VIP4, 80, IPPROTO_TCP, &f), "forward entry"))
		check_forward_entry(&f, VIP_TCP4, &BE_TCP4, true, "vlan4");
	counters_eq(env.skel->maps.veer_vip_stats, VIP_TCP4, 2, 2 * P.vlan4.len, 1, 0, 0, "VIP");
}

/*
 * Checksum edges of the incremental update (RFC 1624): results and inputs of 0 for TCP, and
 * for UDP a sum of 0, which is sent as 0xffff (RFC 768; RFC 8200 8.1 for IPv6, where a UDP
 * checksum of 0 is invalid and the receiver drops the datagram).
 */
VEER_TEST(lb_csum_edges)
{
	static const struct fixture fx[] = {
		{"TCP checksum becomes 0", &P.tcp4_c0_out_in, FROM_CLIENT, XDP_REDIRECT,
		 &P.tcp4_c0_out, VEER_REASON_NONE},
		{"TCP checksum 0 in", &P.tcp4_c0_in, FROM_CLIENT, XDP_REDIRECT, &P.tcp4_c0_in_out,
		 VEER_REASON_NONE},
		{"UDP sum becomes 0", &P.udp4_cf_out_in, FROM_CLIENT, XDP_REDIRECT, &P.udp4_cf_out,
		 VEER_REASON_NONE},
		{"UDP sum 0 in", &P.udp4_cf_in, FROM_CLIENT, XDP_REDIRECT, &P.udp4_cf_in_out,
		 VEER_REASON_NONE},
		{"TCP/IPv6 checksum becomes 0", &P.tcp6_c0_out_in, FROM_CLIENT, XDP_REDIRECT,
		 &P.tcp6_c0_out, VEER_REASON_NONE},
	};

	if (!lb_begin() || !vips_basic())
		return;
	ASSERT_EQ(pkt_l4_csum(&P.tcp4_c0_out), 0, "fixture: TCP checksum 0 out");
	ASSERT_EQ(pkt_l4_csum(&P.tcp4_c0_in), 0, "fixture: TCP checksum 0 in");
	ASSERT_EQ(pkt_l4_csum(&P.udp4_cf_out), 0xffff, "fixture: UDP checksum 0xffff out");
	ASSERT_EQ(pkt_l4_csum(&P.udp4_cf_in), 0xffff, "fixture: UDP checksum 0xffff in");
	fixtures_run(fx, ARRAY_LEN(fx));
}

/*
 * UDP over IPv6 whose rewritten sum is 0 must leave with 0xffff: a 0 there means "no checksum",
 * which IPv6 forbids (the backend would drop it).
 */
VEER_TEST(lb_csum_udp6_zero)
{
	struct fixture fx = {"UDP/IPv6 sum becomes 0", &P.udp6_cf_out_in, FROM_CLIENT, XDP_REDIRECT,
			     &P.udp6_cf_out,	       VEER_REASON_NONE};

	if (!lb_begin() || !vips_basic() ||
	    !ASSERT_EQ(pkt_l4_csum(&P.udp6_cf_out), 0xffff, "fixture: UDP/IPv6 checksum 0xffff"))
		return;
	fixture_run(&fx);
}

/* ---- 7: not for a VIP: untouched ---- */

VEER_TEST(lb_not_vip)
{
	static const struct fixture fx[] = {
		{"other address", &P.other4, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_NOT_VIP},
		{"VIP address, other port", &P.port443, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"VIP address and port, other protocol", &P.udp_port80, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"ICMP to the VIP", &P.icmp4, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_NOT_VIP},
		{"other IPv6 address", &P.other6, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_NOT_VIP},
		{"ICMPv6 to the VIP", &P.icmp6, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_NOT_VIP},
		{"ARP", &P.arp, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_NOT_IP},
	};

	if (!lb_begin() || !vips_basic() || !fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	ASSERT_EQ(map_count(env.skel->maps.veer_flows), 0, "no flow entries");
	counters_eq(env.skel->maps.veer_vip_stats, VIP_TCP4, 0, 0, 0, 0, 0, "VIP");
}

/* ---- 8: malformed ---- */

VEER_TEST(lb_malformed)
{
	static const struct fixture fx[] = {
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
		{"first fragment to a VIP", &P.frag4_first, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_FRAGMENT},
		{"first fragment to no VIP", &P.frag4_first_other, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"later fragment", &P.frag4_tail, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_FRAGMENT},
		{"IPv6 header cut short", &P.ip6_short, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L3},
		{"IPv6 payload_len past the frame", &P.ip6_long, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L3},
		{"IPv6 version 4", &P.ip6_ver4, FROM_CLIENT, XDP_DROP, NULL, VEER_DROP_BAD_L3},
		{"TCP/IPv6 header cut short", &P.tcp6_short, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L4},
		{"IPv6 first fragment to a VIP", &P.frag6_first, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_FRAGMENT},
		{"IPv6 later fragment", &P.frag6_tail, FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_FRAGMENT},
	};

	if (!lb_begin() || !vips_basic() || !fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	ASSERT_EQ(map_count(env.skel->maps.veer_flows), 0, "no flow entries");
	counters_eq(env.skel->maps.veer_vip_stats, VIP_TCP4, 0, 0, 0, 0, 0, "VIP");
}

/*
 * A frame shorter than an Ethernet header: the kernel refuses to build one for BPF_PROG_RUN
 * (bpf_test_init: EINVAL below ETH_HLEN) and no XDP frame can be made that short (the
 * adjust_head/adjust_tail helpers keep ETH_HLEN). Either the kernel refuses it or veer drops
 * it as bad_l2: it never passes.
 */
VEER_TEST(lb_runt)
{
	struct fixture fx = {"13-byte frame", &P.runt, FROM_CLIENT,
			     XDP_DROP,	      NULL,    VEER_DROP_BAD_L2};
	struct pkt got;
	__u32 retval;
	int err;

	if (!lb_begin() || !vips_basic())
		return;
	err = prog_run(&P.runt, FROM_CLIENT, &got, &retval);
	if (err == -EINVAL)
		return;
	fixture_run(&fx);
}

/* A first fragment of an established flow is dropped too: its tail could not follow it. */
VEER_TEST(lb_fragment_established)
{
	struct fixture fx[] = {
		{"tcp4", &P.tcp4, FROM_CLIENT, XDP_REDIRECT, &P.tcp4_out, VEER_REASON_NONE},
		{"first fragment of the flow", &P.frag4_first_est, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_FRAGMENT},
	};

	if (lb_begin() && vips_basic() && fixtures_run(fx, ARRAY_LEN(fx)))
		counters_eq(env.skel->maps.veer_vip_stats, VIP_TCP4, 1, P.tcp4.len, 1, 0, 0, "VIP");
}

/* IPv4 options (IHL 6) are kept, the TCP header found behind them. */
VEER_TEST(lb_ip4_options)
{
	struct fixture fx = {"IPv4 with options", &P.opts4,	FROM_CLIENT,
			     XDP_REDIRECT,	  &P.opts4_out, VEER_REASON_NONE};

	if (lb_begin() && vips_basic() && fixture_run(&fx))
		ASSERT_EQ(pkt_ip4(&P.opts4_out)->ihl, 6, "IHL kept");
}

/* A minimum-size frame: Ethernet padding after the datagram is kept and not summed. */
VEER_TEST(lb_eth_padding)
{
	struct fixture fx = {"padded frame", &P.pad4,	  FROM_CLIENT,
			     XDP_REDIRECT,   &P.pad4_out, VEER_REASON_NONE};

	if (lb_begin() && vips_basic() && ASSERT_EQ(P.pad4.len, 60, "frame length"))
		fixture_run(&fx);
}

/* ---- 9: no backend, unsupported mode ---- */

VEER_TEST(lb_no_backend)
{
	struct fixture fx = {"VIP without backends", &P.special4, FROM_CLIENT, XDP_DROP, NULL,
			     VEER_DROP_NO_BACKEND};
	struct veer_backend off = {};

	if (!lb_begin() || !add_vip(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, 0, VEER_MODE_NAT))
		return;
	/* No ring published at all. */
	fixture_run(&fx);
	/* A ring with no backend of non-zero weight. */
	if (set_ring_all(VIP_SPECIAL, VEER_NO_BACKEND))
		fixture_run(&fx);
	/* A ring naming a backend slot that is not active (deleted). */
	off.vip_id = VIP_SPECIAL;
	if (ASSERT_OK(bpf_map__update_elem(env.skel->maps.veer_backends, &BE_B.id, sizeof(BE_B.id),
					   &off, sizeof(off), BPF_ANY),
		      "inactive backend") &&
	    set_ring_all(VIP_SPECIAL, BE_B.id))
		fixture_run(&fx);
	ASSERT_EQ(map_count(env.skel->maps.veer_flows), 0, "no flow entries");
	counters_eq(env.skel->maps.veer_vip_stats, VIP_SPECIAL, 0, 0, 0, 0, 0, "VIP");
}

VEER_TEST(lb_unsupported_mode)
{
	struct fixture fx = {"DSR VIP", &P.special4, FROM_CLIENT,
			     XDP_DROP,	NULL,	     VEER_DROP_UNSUPPORTED};

	if (lb_begin() && add_vip(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, 0, VEER_MODE_DSR_IPIP) &&
	    add_backend(&BE_B, VIP_SPECIAL, VEER_WEIGHT_DEFAULT) &&
	    set_ring_all(VIP_SPECIAL, BE_B.id) && fixture_run(&fx))
		ASSERT_EQ(map_count(env.skel->maps.veer_flows), 0, "no flow entries");
}

/* ---- FIB lookup fails (no neighbour): rewritten, handed to the stack ---- */

VEER_TEST(lb_fib_no_neigh)
{
	struct fixture fx[] = {
		{"backend without neighbour", &P.special4, FROM_CLIENT, XDP_PASS, &P.special4_out,
		 VEER_PASS_STACK},
		{"same flow again", &P.special4, FROM_CLIENT, XDP_PASS, &P.special4_out,
		 VEER_PASS_STACK},
	};
	struct veer_flow f;

	if (!lb_begin() || !vip_single(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, &BE_NONEIGH) ||
	    !fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	if (ASSERT_TRUE(flow_get(CLIENT4, 40020, VIP4_2, 80, IPPROTO_TCP, &f), "forward entry"))
		check_forward_entry(&f, VIP_SPECIAL, &BE_NONEIGH, false, "no neighbour");
	counters_eq(env.skel->maps.veer_vip_stats, VIP_SPECIAL, 2, 2 * P.special4.len, 1, 0, 0,
		    "VIP");
}

/* ---- 10: TTL ---- */

VEER_TEST(lb_ttl)
{
	static const struct fixture fx[] = {
		{"TTL 1", &P.ttl1_4, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_TTL},
		{"hop limit 1", &P.ttl1_6, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_TTL},
		{"TTL 2", &P.ttl2_4, FROM_CLIENT, XDP_REDIRECT, &P.ttl2_4_out, VEER_REASON_NONE},
	};

	if (lb_begin() && vips_basic() && fixtures_run(fx, ARRAY_LEN(fx)))
		ASSERT_EQ(pkt_ip4(&P.ttl2_4_out)->ttl, 1, "TTL 2 leaves with 1");
}

/* ---- 11: session affinity ---- */

static __u32 fwd_backend(const char *client, __u16 sport, const char *vip, __u16 vport)
{
	struct veer_flow f;

	if (!flow_get(client, sport, vip, vport, IPPROTO_TCP, &f))
		return VEER_NO_BACKEND;
	return f.backend_id;
}

static const struct be_def *be_by_id(const struct be_def *set, size_t n, __u32 id)
{
	for (size_t i = 0; i < n; i++)
		if (set[i].id == id)
			return &set[i];
	return NULL;
}

/*
 * Sends one packet from client:sport to vip:vport (new or established flow) and checks that it
 * left for a backend of set, with the exact bytes that backend should get. Returns the backend,
 * or NULL.
 */
static const struct be_def *send_flow(const char *client, __u16 sport, const char *vip, __u16 vport,
				      const struct be_def *set, size_t n)
{
	struct pkt_spec s = spec_c2v(client, sport, vip, vport, IPPROTO_TCP);
	const struct be_def *be;
	struct pkt in, want, got;
	char what[96];
	__u32 retval;

	snprintf(what, sizeof(what), "flow %s:%u -> %s:%u", client, sport, vip, vport);
	if (!build(&in, s, what) || !ASSERT_OK(prog_run(&in, FROM_CLIENT, &got, &retval), what) ||
	    !ASSERT_EQ(retval, XDP_REDIRECT, what))
		return NULL;
	be = be_by_id(set, n, fwd_backend(client, sport, vip, vport));
	if (!ASSERT_TRUE(be, what) || !build(&want, spec_fwd(s, be, true), what) ||
	    !ASSERT_MEMEQ(got.data, got.len, want.data, want.len, what))
		return NULL;
	return be;
}

VEER_TEST(lb_affinity)
{
	const struct be_def *const aff[3] = {&BE_AFF[0], &BE_AFF[1], &BE_AFF[2]};
	const struct be_def *const off[3] = {&BE_AFF_OFF[0], &BE_AFF_OFF[1], &BE_AFF_OFF[2]};
	static const __u32 weights[3] = {100, 100, 100};
	const struct be_def *be, *first = NULL, *other;
	struct veer_affinity_key ak = {};
	struct veer_affinity a;
	bool spread = false;

	if (!lb_begin() || !add_vip(VIP_AFF, VIP4_AFF, 80, IPPROTO_TCP, 60, VEER_MODE_NAT) ||
	    !add_vip(VIP_AFF_OFF, VIP4_AFF, 81, IPPROTO_TCP, 0, VEER_MODE_NAT))
		return;
	for (int i = 0; i < 3; i++)
		if (!add_backend(aff[i], VIP_AFF, 100) || !add_backend(off[i], VIP_AFF_OFF, 100))
			return;
	if (!set_ring_maglev(VIP_AFF, aff, weights, 3) ||
	    !set_ring_maglev(VIP_AFF_OFF, off, weights, 3))
		return;

	/* Without affinity, the same client's ports spread over the backends... */
	for (__u16 port = 41000; port < 41008; port++) {
		be = send_flow(CLIENT4, port, VIP4_AFF, 81, BE_AFF_OFF, 3);
		if (!be)
			return;
		if (!first)
			first = be;
		spread |= be != first;
	}
	if (!ASSERT_TRUE(spread, "ports of one client spread without affinity"))
		return;

	/* ...with affinity, every port of the client lands on one backend. */
	first = NULL;
	for (__u16 port = 41000; port < 41008; port++) {
		be = send_flow(CLIENT4, port, VIP4_AFF, 80, BE_AFF, 3);
		if (!be)
			return;
		if (!first)
			first = be;
		if (!ASSERT_EQ(be->id, first->id, "same backend for every port"))
			return;
	}
	addr_parse(CLIENT4, &ak.client);
	ak.vip_id = VIP_AFF;
	if (!ASSERT_OK(bpf_map__lookup_elem(env.skel->maps.veer_affinity, &ak, sizeof(ak), &a,
					    sizeof(a), 0),
		       "affinity entry") ||
	    !ASSERT_EQ(a.backend_id, first->id, "affinity entry: backend"))
		return;
	counters_eq(env.skel->maps.veer_be_stats, first->id, 8, 8 * P.tcp4.len, 8, 0, 0,
		    "affinity backend");

	/* The ring changes: the client stays, a new client follows the new ring. */
	other = &BE_AFF[(first - BE_AFF + 1) % 3];
	if (!set_ring_all(VIP_AFF, other->id))
		return;
	be = send_flow(CLIENT4, 41100, VIP4_AFF, 80, BE_AFF, 3);
	if (!be || !ASSERT_EQ(be->id, first->id, "client kept across a ring change"))
		return;
	be = send_flow(CLIENT4_2, 41100, VIP4_AFF, 80, BE_AFF, 3);
	if (!be || !ASSERT_EQ(be->id, other->id, "new client follows the new ring"))
		return;

	/* Its backend drained (weight 0): the client's next new flow moves, established stay. */
	if (!add_backend(first, VIP_AFF, 0))
		return;
	be = send_flow(CLIENT4, 41200, VIP4_AFF, 80, BE_AFF, 3);
	if (!be || !ASSERT_EQ(be->id, other->id, "new flow leaves a drained backend"))
		return;
	ASSERT_OK(bpf_map__lookup_elem(env.skel->maps.veer_affinity, &ak, sizeof(ak), &a, sizeof(a),
				       0),
		  "affinity entry");
	ASSERT_EQ(a.backend_id, other->id, "affinity entry follows");
	be = send_flow(CLIENT4, 41000, VIP4_AFF, 80, BE_AFF, 3);
	ASSERT_TRUE(be && be->id == first->id, "established flow stays on the drained backend");
}

/* ---- 12: drain at the map level ---- */

VEER_TEST(lb_drain)
{
	const struct be_def pair[2] = {BE_TCP4, BE_B};
	const struct be_def *const set[2] = {&pair[0], &pair[1]};
	static const __u32 both[2] = {100, 100}, drained[2] = {0, 100};
	struct veer_counters a_before, a_after;
	const struct be_def *be;
	__u16 port, kept = 0;

	if (!lb_begin() || !add_vip(VIP_TCP4, VIP4, 80, IPPROTO_TCP, 0, VEER_MODE_NAT) ||
	    !add_backend(&BE_TCP4, VIP_TCP4, 100) || !add_backend(&BE_B, VIP_TCP4, 100) ||
	    !set_ring_maglev(VIP_TCP4, set, both, 2))
		return;
	/* New flows until one lands on backend A (the hash is fixed: the same port every run). */
	for (port = 42000; port < 42032 && !kept; port++) {
		be = send_flow(CLIENT4, port, VIP4, 80, pair, 2);
		if (!be)
			return;
		if (be->id == BE_TCP4.id)
			kept = port;
	}
	if (!ASSERT_NEQ(kept, 0, "a flow on backend A"))
		return;

	/* Drain A: weight 0, and the ring the control plane builds for that swapped in. */
	if (!add_backend(&BE_TCP4, VIP_TCP4, 0) || !set_ring_maglev(VIP_TCP4, set, drained, 2))
		return;
	a_before = counters(env.skel->maps.veer_be_stats, BE_TCP4.id);
	be = send_flow(CLIENT4, kept, VIP4, 80, pair, 2);
	if (!ASSERT_TRUE(be && be->id == BE_TCP4.id,
			 "established flow stays on the drained backend"))
		return;
	for (port = 42100; port < 42108; port++) {
		be = send_flow(CLIENT4, port, VIP4, 80, pair, 2);
		if (!ASSERT_TRUE(be && be->id == BE_B.id, "new flow goes to the remaining backend"))
			return;
	}
	a_after = counters(env.skel->maps.veer_be_stats, BE_TCP4.id);
	ASSERT_EQ(a_after.packets - a_before.packets, 1, "drained backend: one more packet");
	ASSERT_EQ(a_after.new_flows - a_before.new_flows, 0, "drained backend: no new flow");
}
