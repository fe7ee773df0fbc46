// SPDX-License-Identifier: GPL-2.0
/*
 * Direct server return (bpf/lib/encap.h): BPF_PROG_RUN fixtures of dsr-ipip and dsr-l2 at both
 * hooks, and libveer's rules for DSR VIPs (ctl_dsr_*). Harness and topology: lb_harness.h.
 *
 * An encapsulated frame is checked whole: the outer header built here from scratch around the
 * input datagram, byte for byte. Its source is the data plane's choice (the prefix's host bits
 * come from a hash of the client's address and port): expect_encap() checks that it lies in
 * the prefix, that the IPv6 flow label is the same hash's, and builds the frame wanted with it;
 * the tests then compare sources across packets: one flow, one source; two flows, two.
 *
 * This file adds to the namespace a one-armed backend on the client side and a link of a
 * smaller MTU:
 *
 *   vc0: neighbour 198.18.1.50 -> 02:00:00:00:01:50 (a backend on the clients' segment)
 *   vd0  MTU 1400  02:00:00:00:23:01  198.18.23.1/24  2001:2:0:23::1/64
 *                  neighbours: 198.18.23.2, 2001:2:0:23::2 -> 02:00:00:00:23:02
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include "lb_harness.h"
#include "ctl_pins.h"
#include "internal.h"

#define ENCAP4 "198.19.0.0/16"
#define ENCAP6 "2001:2:0:200::/64"

static const __u8 MAC_ARM[6] = {0x02, 0, 0, 0, 0x01, 0x50};
static const __u8 MAC_VD0[6] = {0x02, 0, 0, 0, 0x23, 0x01};
static const __u8 MAC_BE_D[6] = {0x02, 0, 0, 0, 0x23, 0x02};

/* DSR backends listen on the VIP's port. Ids below LB_NIDS, so that the harness resets them. */
static const struct be_def BE_D4 = {16, "198.18.11.2", 80, MAC_BE_A};
static const struct be_def BE_D4B = {17, "198.18.12.2", 80, MAC_BE_B};
static const struct be_def BE_D4C = {18, "198.18.13.2", 80, MAC_BE_C};
static const struct be_def BE_D6 = {19, "2001:2:0:11::2", 80, MAC_BE_A};
static const struct be_def BE_D4IN6 = {26, "2001:2:0:11::2", 80, MAC_BE_A}; /* of an IPv4 VIP */
static const struct be_def BE_DU4 = {27, "198.18.11.2", 53, MAC_BE_A};
static const struct be_def BE_DNONEIGH = {28, "198.18.11.9", 80, NULL};
static const struct be_def BE_DARM = {29, "198.18.1.50", 80, MAC_ARM};
static const struct be_def BE_DM4 = {30, "198.18.23.2", 80, MAC_BE_D};
static const struct be_def BE_DM6 = {31, "2001:2:0:23::2", 80, MAC_BE_D};
static const struct be_def BE_DM4IN6 = {25, "2001:2:0:23::2", 80, MAC_BE_D};

#define MTU_D 1400

/* ---- setup ---- */

/* Made once, in the harness's namespace, after lb_begin() has made it. */
static bool dsr_links(void)
{
	static const char *const cmds[] = {
		"ip neigh replace 198.18.1.50 lladdr 02:00:00:00:01:50 dev vc0 nud permanent",
		"ip link add vd0 address 02:00:00:00:23:01 mtu 1400 type veth peer name vd0p "
		"address 02:00:00:00:23:fe mtu 1400",
		"ip link set dev vd0 up && ip link set dev vd0p up",
		"ip addr add 198.18.23.1/24 dev vd0",
		"ip -6 addr add 2001:2:0:23::1/64 dev vd0 nodad",
		"ip neigh replace 198.18.23.2 lladdr 02:00:00:00:23:02 dev vd0 nud permanent",
		"ip -6 neigh replace 2001:2:0:23::2 lladdr 02:00:00:00:23:02 dev vd0 nud permanent",
		"sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1",
	};
	static int state;

	return lb_shell_once(cmds, ARRAY_LEN(cmds), &state, "DSR test links");
}

/* The outer source prefixes, set as `veer set` sets them (libveer's parser). */
static bool encap_set(const char *src4, const char *src6)
{
	struct veer_settings s = {};
	__u32 zero = 0;

	return ASSERT_OK(veer_setting_parse(&s, "encap-source4", src4), src4) &&
	       ASSERT_OK(veer_setting_parse(&s, "encap-source6", src6), src6) &&
	       ASSERT_OK(bpf_map__update_elem(lb_env.skel->maps.veer_settings, &zero, sizeof(zero),
					      &s, sizeof(s), BPF_ANY),
			 "write the settings");
}

/* A VIP of mode with one backend in every slot of its ring. */
static bool dsr_vip(__u32 id, const char *addr, __u16 port, __u8 proto, __u8 mode,
		    const struct be_def *be)
{
	return lb_add_vip(id, addr, port, proto, 0, mode) &&
	       lb_add_backend(be, id, VEER_WEIGHT_DEFAULT) && lb_set_ring_all(id, be->id);
}

static bool is6(const char *a)
{
	return strchr(a, ':') != NULL;
}

/* ---- the encapsulated frame ---- */

/* What the backend must receive: the input's datagram inside an outer header. */
struct encap {
	bool outer6;
	const char *prefix; /* the outer source's, "198.19.0.0/16" */
	const char *dst;    /* the backend */
	const __u8 *dmac;   /* NULL: the frame's own MACs (the stack routes the result) */
	const __u8 *smac;
	const struct pkt *in;
	union veer_addr src; /* out: the outer source the data plane chose */
};

/* Whether a lies in prefix "ADDR/LEN" (a test's own arithmetic, not libveer's). */
static bool in_prefix(const union veer_addr *a, const char *prefix)
{
	char buf[64];
	union veer_addr p;
	char *slash;
	int len;

	snprintf(buf, sizeof(buf), "%s", prefix);
	slash = strchr(buf, '/');
	*slash = '\0';
	len = atoi(slash + 1);
	lb_addr_parse(buf, &p);
	for (int bit = 0; bit < len; bit++)
		if ((a->bytes[bit / 8] ^ p.bytes[bit / 8]) & (0x80 >> (bit % 8)))
			return false;
	return true;
}

/* The outer header around in's datagram, as RFC 2003 / RFC 2473 and encap.h say. */
static void encap_build(struct pkt *want, const struct encap *e)
{
	const __u8 *d = e->in->data + ETH_HLEN;
	size_t dlen = e->in->len - ETH_HLEN, hl = e->outer6 ? 40 : 20;
	bool in6 = (d[0] >> 4) == 6;
	__u8 tos = in6 ? (d[0] & 0xf) << 4 | d[1] >> 4 : d[1];
	__u16 len = in6 ? 40 + (d[4] << 8 | d[5]) : (d[2] << 8 | d[3]);
	__u8 *o = want->data + ETH_HLEN;

	memcpy(want->data, e->dmac ? e->dmac : e->in->data, 6);
	memcpy(want->data + 6, e->smac ? e->smac : e->in->data + 6, 6);
	want->data[12] = e->outer6 ? 0x86 : 0x08;
	want->data[13] = e->outer6 ? 0xdd : 0x00;
	if (!e->outer6) {
		struct iphdr *o4 = (struct iphdr *)o;

		o4->version = 4;
		o4->ihl = 5;
		o4->tos = tos;
		o4->tot_len = htons(len + 20);
		memcpy(&o4->id, d + 4, 2);			   /* the inner identification */
		o4->frag_off = *(__be16 *)(d + 6) & htons(0x4000); /* and its DF */
		o4->ttl = 64;
		o4->protocol = IPPROTO_IPIP;
		o4->saddr = e->src.v4;
		inet_pton(AF_INET, e->dst, &o4->daddr);
		o4->check = htons(csum_finish_rfc1071(csum_partial_rfc1071(o4, 20, 0)));
	} else {
		struct ipv6hdr *o6 = (struct ipv6hdr *)o;
		__u32 label = ntohl(e->src.v6[3]) & 0xfffff;

		*(__be32 *)o6 = htonl(0x60000000 | (__u32)tos << 20 | label);
		o6->payload_len = htons(len);
		o6->nexthdr = in6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
		o6->hop_limit = 64;
		memcpy(&o6->saddr, &e->src, 16);
		inet_pton(AF_INET6, e->dst, &o6->daddr);
	}
	memcpy(o + hl, d, dlen);
	want->len = ETH_HLEN + hl + dlen;
}

/* lb_expect_fn: the outer source lies in the prefix; the frame is built around it. */
static bool expect_encap(struct pkt *want, const struct pkt *got, void *arg)
{
	struct encap *e = arg;
	size_t at = ETH_HLEN + (e->outer6 ? 8 : 12);

	memset(&e->src, 0, sizeof(e->src));
	if (got->len < at + (e->outer6 ? 16 : 4))
		return veer_test_fail(__FILE__, __LINE__, "no outer header: %u bytes", got->len);
	memcpy(&e->src, got->data + at, e->outer6 ? 16 : 4);
	encap_build(want, e);
	return ASSERT_TRUE(in_prefix(&e->src, e->prefix), "outer source in the prefix");
}

/* Runs fx, whose output must be e->in encapsulated as e says; also: a second reason. */
static bool encap_run(const struct lb_fixture *fx, struct encap *e, enum veer_reason also)
{
	e->in = fx->in;
	return lb_fixture_run_fn(fx, also, expect_encap, e);
}

/* How a frame sent out of its own interface comes back from BPF_PROG_RUN. */
static __u32 sent_back(void)
{
	return lb_env.hook == LB_TC ? XDP_REDIRECT : XDP_TX;
}

/* A copy of p with its IPv4 TOS or IPv6 traffic class set, checksums made true again. */
static void set_tos(struct pkt *p, __u8 tos)
{
	__u8 *l3 = p->data + pkt_l3_off(p);

	if ((l3[0] >> 4) == 6) {
		l3[0] = 0x60 | tos >> 4;
		l3[1] = (l3[1] & 0x0f) | (tos & 0xf) << 4;
	} else {
		pkt_ip4(p)->tos = tos;
		pkt_ip4_fix_csum(p);
	}
}

static bool build(struct pkt *p, struct pkt_spec s, const char *what)
{
	return lb_pkt_build(p, s, what);
}

/* ---- dsr-ipip: the three encapsulations ---- */

/*
 * IPv4 in IPv4: protocol 4, TTL 64, TOS, identification and DF copied; the inner packet as the
 * client sent it (TTL too). One flow, one source; another port or client, another source.
 */
LB_TEST(lb_dsr_ipip4)
{
	struct pkt syn, ack, other_port, other_client, udp;
	struct encap e = {.outer6 = false,
			  .prefix = ENCAP4,
			  .dst = BE_D4.addr,
			  .dmac = MAC_BE_A,
			  .smac = MAC_VB0};
	union veer_addr first;
	struct pkt_spec s;
	struct veer_flow f;

	if (!lb_begin() || !encap_set(ENCAP4, ENCAP6) ||
	    !dsr_vip(VIP_TCP4, VIP4, 80, IPPROTO_TCP, VEER_MODE_DSR_IPIP, &BE_D4) ||
	    !dsr_vip(VIP_UDP4, VIP4, 53, IPPROTO_UDP, VEER_MODE_DSR_IPIP, &BE_DU4))
		return;
	s = lb_spec_c2v(CLIENT4, 40000, VIP4, 80, IPPROTO_TCP);
	s.tcp_flags = 0x02;
	if (!build(&syn, s, "SYN"))
		return;
	s.tcp_flags = 0;
	if (!build(&ack, s, "ACK"))
		return;
	set_tos(&ack, 0xb8);
	s.sport = 40001;
	if (!build(&other_port, s, "another port"))
		return;
	s = lb_spec_c2v(CLIENT4_2, 40000, VIP4, 80, IPPROTO_TCP);
	if (!build(&other_client, s, "another client"))
		return;
	/* UDP without DF and an identification of its own. */
	s = lb_spec_c2v(CLIENT4, 40002, VIP4, 53, IPPROTO_UDP);
	s.frag = 0;
	s.ip_id = 0x1234;
	if (!build(&udp, s, "udp"))
		return;

	struct lb_fixture fx[] = {
		{"SYN", &syn, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
		{"ACK, TOS 0xb8", &ack, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
		{"another port", &other_port, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
		{"another client", &other_client, FROM_CLIENT, XDP_REDIRECT, NULL,
		 VEER_FWD_DSR_IPIP},
		{"UDP without DF", &udp, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
	};

	if (!encap_run(&fx[0], &e, 0))
		return;
	first = e.src;
	if (!encap_run(&fx[1], &e, 0))
		return;
	ASSERT_TRUE(!memcmp(&first, &e.src, 4), "one flow, one outer source");
	if (!encap_run(&fx[2], &e, 0))
		return;
	ASSERT_FALSE(!memcmp(&first, &e.src, 4), "another port, another outer source");
	if (!encap_run(&fx[3], &e, 0))
		return;
	ASSERT_FALSE(!memcmp(&first, &e.src, 4), "another client, another outer source");
	if (!encap_run(&fx[4], &e, 0))
		return;
	ASSERT_EQ(pkt_ip4(&udp)->frag_off, 0, "the UDP datagram has no DF, nor its outer header");

	/* Tracked as a NAT flow: one entry per connection, the handshake moved by the ACK. */
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_syns4), 0, "no handshake left");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_flows4), 4, "one entry per connection");
	if (ASSERT_TRUE(lb_flow_get(CLIENT4, 40000, VIP4, 80, IPPROTO_TCP, &f), "the flow"))
		lb_check_forward_entry(&f, VIP_TCP4, &BE_D4, true, "dsr-ipip flow");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 4,
		       syn.len + ack.len + other_port.len + other_client.len, 3, 0, 0, "VIP");
	lb_counters_eq(lb_env.skel->maps.veer_be_stats, BE_D4.id, 4,
		       syn.len + ack.len + other_port.len + other_client.len, 3, 0, 0, "backend");
	/* Nothing of a DSR backend goes into the reply index. */
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_be_index), 0, "no reply index entry");
}

/* IPv6 in IPv6: next header 41, hop limit 64, traffic class copied, flow label from the hash. */
LB_TEST(lb_dsr_ipip6)
{
	struct pkt a, b, other, udp;
	struct encap e = {.outer6 = true,
			  .prefix = ENCAP6,
			  .dst = BE_D6.addr,
			  .dmac = MAC_BE_A,
			  .smac = MAC_VB0};
	static const struct be_def BE_DU6 = {24, "2001:2:0:11::2", 53, MAC_BE_A};
	union veer_addr first;
	struct pkt_spec s;

	if (!lb_begin() || !encap_set(ENCAP4, ENCAP6) ||
	    !dsr_vip(VIP_TCP6, VIP6, 80, IPPROTO_TCP, VEER_MODE_DSR_IPIP, &BE_D6) ||
	    !dsr_vip(VIP_UDP6, VIP6, 53, IPPROTO_UDP, VEER_MODE_DSR_IPIP, &BE_DU6))
		return;
	s = lb_spec_c2v(CLIENT6, 40000, VIP6, 80, IPPROTO_TCP);
	if (!build(&a, s, "tcp6") || !build(&b, s, "tcp6 again"))
		return;
	set_tos(&b, 0x2e);
	s.sport = 40001;
	if (!build(&other, s, "another port") ||
	    !build(&udp, lb_spec_c2v(CLIENT6, 40000, VIP6, 53, IPPROTO_UDP), "udp6"))
		return;

	struct lb_fixture fx[] = {
		{"tcp6", &a, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
		{"tcp6, traffic class 0x2e", &b, FROM_CLIENT, XDP_REDIRECT, NULL,
		 VEER_FWD_DSR_IPIP},
		{"another port", &other, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
		{"udp6", &udp, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
	};

	if (!encap_run(&fx[0], &e, 0))
		return;
	first = e.src;
	if (!encap_run(&fx[1], &e, 0))
		return;
	ASSERT_TRUE(!memcmp(&first, &e.src, 16), "one flow, one outer source");
	if (!encap_run(&fx[2], &e, 0))
		return;
	ASSERT_FALSE(!memcmp(&first, &e.src, 16), "another port, another outer source");
	e.dst = BE_DU6.addr;
	if (encap_run(&fx[3], &e, 0))
		lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP6, 3,
			       a.len + b.len + other.len, 2, 0, 0, "VIP");
}

/* IPv4 in IPv6: an IPv4 VIP's IPv6 backend; next header 4, the TOS as traffic class. */
LB_TEST(lb_dsr_ipip4in6)
{
	struct pkt a, b, other;
	struct encap e = {.outer6 = true,
			  .prefix = ENCAP6,
			  .dst = BE_D4IN6.addr,
			  .dmac = MAC_BE_A,
			  .smac = MAC_VB0};
	union veer_addr first;
	struct pkt_spec s = lb_spec_c2v(CLIENT4, 40000, VIP4, 80, IPPROTO_TCP);
	struct veer_hop h;

	if (!lb_begin() || !encap_set(ENCAP4, ENCAP6) ||
	    !dsr_vip(VIP_TCP4, VIP4, 80, IPPROTO_TCP, VEER_MODE_DSR_IPIP, &BE_D4IN6) ||
	    !build(&a, s, "tcp4") || !build(&b, s, "tcp4 again"))
		return;
	set_tos(&b, 0x48);
	s.sport = 40001;
	if (!build(&other, s, "another port"))
		return;

	struct lb_fixture fx[] = {
		{"tcp4 to an IPv6 backend", &a, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
		{"again, TOS 0x48", &b, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
		{"another port", &other, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
	};

	if (!encap_run(&fx[0], &e, 0))
		return;
	first = e.src;
	if (!encap_run(&fx[1], &e, 0))
		return;
	ASSERT_TRUE(!memcmp(&first, &e.src, 16), "one flow, one outer source");
	if (!encap_run(&fx[2], &e, 0))
		return;
	ASSERT_FALSE(!memcmp(&first, &e.src, 16), "another port, another outer source");
	/* The next hop was looked up for the backend's own family. */
	if (ASSERT_TRUE(lb_backend_hop(BE_D4IN6.id, &h), "backend hop"))
		ASSERT_EQ(h.ifindex, lb_env.ifindex[FROM_BACKEND], "toward vb0");
}

/* Settings never written: Katran's 172.16.0.0/16, and 100::/64. */
LB_TEST(lb_dsr_encap_defaults)
{
	struct encap e4 = {.outer6 = false,
			   .prefix = "172.16.0.0/16",
			   .dst = BE_D4.addr,
			   .dmac = MAC_BE_A,
			   .smac = MAC_VB0};
	struct encap e6 = {.outer6 = true,
			   .prefix = "100::/64",
			   .dst = BE_D6.addr,
			   .dmac = MAC_BE_A,
			   .smac = MAC_VB0};
	struct lb_fixture fx[] = {
		{"tcp4", &P.tcp4, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
		{"tcp6", &P.tcp6, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
	};

	if (!lb_begin() || !dsr_vip(VIP_TCP4, VIP4, 80, IPPROTO_TCP, VEER_MODE_DSR_IPIP, &BE_D4) ||
	    !dsr_vip(VIP_TCP6, VIP6, 80, IPPROTO_TCP, VEER_MODE_DSR_IPIP, &BE_D6))
		return;
	encap_run(&fx[0], &e4, 0);
	encap_run(&fx[1], &e6, 0);
}

/*
 * No neighbour for the backend yet: encapsulated all the same, MACs as they came, and handed to
 * the stack, which routes the outer header (dsr_ipip and stack counted).
 */
LB_TEST(lb_dsr_ipip_no_neigh)
{
	struct pkt in;
	struct encap e = {.outer6 = false,
			  .prefix = ENCAP4,
			  .dst = BE_DNONEIGH.addr,
			  .dmac = NULL,
			  .smac = NULL};
	struct lb_fixture fx = {"no neighbour", &in, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_STACK};

	if (lb_begin() && encap_set(ENCAP4, ENCAP6) &&
	    dsr_vip(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, VEER_MODE_DSR_IPIP, &BE_DNONEIGH) &&
	    build(&in, lb_spec_c2v(CLIENT4, 40020, VIP4_2, 80, IPPROTO_TCP), "tcp4"))
		encap_run(&fx, &e, VEER_FWD_DSR_IPIP);
}

/* ---- dsr-l2 ---- */

/* A copy of in with the MACs a dsr-l2 backend gets: nothing else differs. */
static void l2_frame(struct pkt *out, const struct pkt *in, const __u8 *dmac, const __u8 *smac)
{
	*out = *in;
	memcpy(out->data, dmac, 6);
	memcpy(out->data + 6, smac, 6);
}

LB_TEST(lb_dsr_l2)
{
	struct pkt t4, t4_out, t6, t6_out, u4, u4_out, arm, arm_out, ttl, ttl_out;
	struct pkt_spec s;

	if (!lb_begin() || !dsr_links() ||
	    !dsr_vip(VIP_TCP4, VIP4, 80, IPPROTO_TCP, VEER_MODE_DSR_L2, &BE_D4) ||
	    !dsr_vip(VIP_UDP4, VIP4, 53, IPPROTO_UDP, VEER_MODE_DSR_L2, &BE_DU4) ||
	    !dsr_vip(VIP_TCP6, VIP6, 80, IPPROTO_TCP, VEER_MODE_DSR_L2, &BE_D6) ||
	    !dsr_vip(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, VEER_MODE_DSR_L2, &BE_DARM))
		return;
	s = lb_spec_c2v(CLIENT4, 40000, VIP4, 80, IPPROTO_TCP);
	s.ttl = 2; /* left as it is: no router hop */
	if (!build(&ttl, s, "TTL 2") ||
	    !build(&u4, lb_spec_c2v(CLIENT4, 40001, VIP4, 53, IPPROTO_UDP), "udp4") ||
	    !build(&arm, lb_spec_c2v(CLIENT4, 40002, VIP4_2, 80, IPPROTO_TCP), "one-armed"))
		return;
	l2_frame(&t4_out, &P.tcp4, MAC_BE_A, MAC_VB0);
	l2_frame(&t6_out, &P.tcp6, MAC_BE_A, MAC_VB0);
	l2_frame(&u4_out, &u4, MAC_BE_A, MAC_VB0);
	l2_frame(&ttl_out, &ttl, MAC_BE_A, MAC_VB0);
	/* Back out of vc0, to the backend beside the client. */
	l2_frame(&arm_out, &arm, MAC_ARM, MAC_VC0);
	t4 = P.tcp4;
	t6 = P.tcp6;

	struct lb_fixture fx[] = {
		{"tcp4", &t4, FROM_CLIENT, XDP_REDIRECT, &t4_out, VEER_FWD_DSR_L2},
		{"tcp4 again, TTL 2", &ttl, FROM_CLIENT, XDP_REDIRECT, &ttl_out, VEER_FWD_DSR_L2},
		{"udp4", &u4, FROM_CLIENT, XDP_REDIRECT, &u4_out, VEER_FWD_DSR_L2},
		{"tcp6", &t6, FROM_CLIENT, XDP_REDIRECT, &t6_out, VEER_FWD_DSR_L2},
		{"one-armed: out of the ingress interface", &arm, FROM_CLIENT, sent_back(),
		 &arm_out, VEER_FWD_DSR_L2},
	};

	if (!lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	ASSERT_EQ(lb_flow_count(), 4, "one entry per connection");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 2, t4.len + ttl.len, 1, 0, 0,
		       "VIP");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_be_index), 0, "no reply index entry");
}

/*
 * dsr-l2 with no neighbour entry for the backend. At tc the kernel resolves it
 * (bpf_redirect_neigh: the frame leaves BPF_PROG_RUN as it came); at XDP it cannot be sent.
 */
LB_TEST(lb_dsr_l2_no_neigh)
{
	struct pkt in;
	struct lb_fixture tc = {"no neighbour, tc", &in,  FROM_CLIENT,
				XDP_REDIRECT,	    NULL, VEER_FWD_DSR_L2};
	struct lb_fixture xdp = {"no neighbour, XDP",	&in, FROM_CLIENT, XDP_DROP, NULL,
				 VEER_DROP_DSR_NO_NEIGH};

	if (lb_begin() &&
	    dsr_vip(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, VEER_MODE_DSR_L2, &BE_DNONEIGH) &&
	    build(&in, lb_spec_c2v(CLIENT4, 40020, VIP4_2, 80, IPPROTO_TCP), "tcp4"))
		lb_fixture_run(lb_env.hook == LB_TC ? &tc : &xdp);
}

/* ---- MTU: the outer header counts ---- */

/* A client's packet to vip whose IP datagram is ip_len bytes long (DF set over IPv4). */
static struct pkt_spec c2v_len(const char *client, __u16 sport, const char *vip, __u32 ip_len)
{
	struct pkt_spec s = lb_spec_c2v(client, sport, vip, 80, IPPROTO_TCP);

	s.payload = ip_len - (is6(client) ? 40 : 20) - 20;
	return s;
}

/*
 * Behind vd0 (MTU 1400): the largest datagram that fits is the MTU less the outer header; one
 * byte more is answered with that MTU, from the VIP, whatever IPv4's DF says; dsr-l2 has no
 * header to add.
 */
LB_TEST(lb_dsr_mtu)
{
	struct pkt fit4, over4, over4_out, nodf4, nodf4_out, fit6, over6, over6_out, fit46, over46,
		over46_out, l2fit, l2fit_out, l2over, l2over_out;
	struct encap e4 = {.outer6 = false,
			   .prefix = ENCAP4,
			   .dst = BE_DM4.addr,
			   .dmac = MAC_BE_D,
			   .smac = MAC_VD0};
	struct encap e6 = {.outer6 = true,
			   .prefix = ENCAP6,
			   .dst = BE_DM6.addr,
			   .dmac = MAC_BE_D,
			   .smac = MAC_VD0};
	struct encap e46 = {.outer6 = true,
			    .prefix = ENCAP6,
			    .dst = BE_DM4IN6.addr,
			    .dmac = MAC_BE_D,
			    .smac = MAC_VD0};
	static const struct be_def BE_DML2 = {24, "198.18.23.2", 80, MAC_BE_D};
	struct pkt_spec s;
	bool ok;

	if (!lb_begin() || !dsr_links() || !encap_set(ENCAP4, ENCAP6) ||
	    !dsr_vip(VIP_TCP4, VIP4, 80, IPPROTO_TCP, VEER_MODE_DSR_IPIP, &BE_DM4) ||
	    !dsr_vip(VIP_TCP6, VIP6, 80, IPPROTO_TCP, VEER_MODE_DSR_IPIP, &BE_DM6) ||
	    !dsr_vip(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, VEER_MODE_DSR_IPIP, &BE_DM4IN6) ||
	    !dsr_vip(VIP_AFF, VIP4_AFF, 80, IPPROTO_TCP, VEER_MODE_DSR_L2, &BE_DML2))
		return;
	ok = build(&fit4, c2v_len(CLIENT4, 41000, VIP4, MTU_D - 20), "v4 fits") &&
	     build(&over4, c2v_len(CLIENT4, 41000, VIP4, MTU_D - 19), "v4 over") &&
	     lb_pkt_too_big(&over4_out, &over4, VIP4, CLIENT4, MTU_D - 20, "v4 answer");
	s = c2v_len(CLIENT4, 41001, VIP4, MTU_D - 19);
	s.frag = 0;
	ok &= build(&nodf4, s, "v4 over, no DF") &&
	      lb_pkt_too_big(&nodf4_out, &nodf4, VIP4, CLIENT4, MTU_D - 20, "no DF answer");
	ok &= build(&fit6, c2v_len(CLIENT6, 41000, VIP6, MTU_D - 40), "v6 fits") &&
	      build(&over6, c2v_len(CLIENT6, 41000, VIP6, MTU_D - 39), "v6 over") &&
	      lb_pkt_too_big(&over6_out, &over6, VIP6, CLIENT6, MTU_D - 40, "v6 answer");
	ok &= build(&fit46, c2v_len(CLIENT4, 41000, VIP4_2, MTU_D - 40), "4in6 fits") &&
	      build(&over46, c2v_len(CLIENT4, 41000, VIP4_2, MTU_D - 39), "4in6 over") &&
	      lb_pkt_too_big(&over46_out, &over46, VIP4_2, CLIENT4, MTU_D - 40, "4in6 answer");
	ok &= build(&l2fit, c2v_len(CLIENT4, 41000, VIP4_AFF, MTU_D), "l2 fits") &&
	      build(&l2over, c2v_len(CLIENT4, 41000, VIP4_AFF, MTU_D + 1), "l2 over") &&
	      lb_pkt_too_big(&l2over_out, &l2over, VIP4_AFF, CLIENT4, MTU_D, "l2 answer");
	if (!ok)
		return;
	l2_frame(&l2fit_out, &l2fit, MAC_BE_D, MAC_VD0);

	struct lb_fixture fx[] = {
		{"IPv4 in IPv4, MTU - 20", &fit4, FROM_CLIENT, XDP_REDIRECT, NULL,
		 VEER_FWD_DSR_IPIP},
		{"IPv4 in IPv4, one byte more", &over4, FROM_CLIENT, sent_back(), &over4_out,
		 VEER_TX_FRAG_NEEDED},
		{"the same without DF", &nodf4, FROM_CLIENT, sent_back(), &nodf4_out,
		 VEER_TX_FRAG_NEEDED},
		{"IPv6 in IPv6, MTU - 40", &fit6, FROM_CLIENT, XDP_REDIRECT, NULL,
		 VEER_FWD_DSR_IPIP},
		{"IPv6 in IPv6, one byte more", &over6, FROM_CLIENT, sent_back(), &over6_out,
		 VEER_TX_FRAG_NEEDED},
		{"IPv4 in IPv6, MTU - 40", &fit46, FROM_CLIENT, XDP_REDIRECT, NULL,
		 VEER_FWD_DSR_IPIP},
		{"IPv4 in IPv6, one byte more", &over46, FROM_CLIENT, sent_back(), &over46_out,
		 VEER_TX_FRAG_NEEDED},
		{"dsr-l2, the MTU", &l2fit, FROM_CLIENT, XDP_REDIRECT, &l2fit_out, VEER_FWD_DSR_L2},
		{"dsr-l2, one byte more", &l2over, FROM_CLIENT, sent_back(), &l2over_out,
		 VEER_TX_FRAG_NEEDED},
	};

	ASSERT_EQ(over4_out.len, ETH_HLEN + 576, "IPv4 answer length");
	ASSERT_EQ(over6_out.len, ETH_HLEN + 1280, "IPv6 answer length");
	if (!encap_run(&fx[0], &e4, 0) || !lb_fixture_run(&fx[1]) || !lb_fixture_run(&fx[2]) ||
	    !encap_run(&fx[3], &e6, 0) || !lb_fixture_run(&fx[4]) || !encap_run(&fx[5], &e46, 0) ||
	    !lb_fixture_run(&fx[6]))
		return;
	lb_fixtures_run(&fx[7], 2);
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_icmp_rl), 2, "two sources in the limiter");
}

/* ---- ICMP errors about a DSR flow: whole, to the flow's backend ---- */

#define ROUTER_C4 "198.18.1.254"
#define ROUTER_C6 "2001:2:0:1::fe"
static const __u8 MAC_ROUTER_C[6] = {0x02, 0, 0, 0, 0x01, 0xfd};

/*
 * What a router on the client's side sends when the backend's reply (VIP:vport -> client:cport,
 * sent by the backend itself) does not fit its next link: an error to the VIP quoting it.
 */
static bool reply_error(struct pkt *err, const char *client, __u16 cport, const char *vip)
{
	struct pkt_spec q = lb_spec_c2v(vip, 80, client, cport, IPPROTO_TCP);
	struct pkt_spec s = {.saddr = is6(client) ? ROUTER_C6 : ROUTER_C4, .daddr = vip};
	struct pkt reply;

	q.payload = 200;
	memcpy(s.dmac, MAC_VC0, 6);
	memcpy(s.smac, MAC_ROUTER_C, 6);
	return build(&reply, q, "the backend's reply") &&
	       ASSERT_OK(pkt_build_icmp_error(err, &s, is6(client) ? 2 : 3, is6(client) ? 0 : 4,
					      1280, &reply, is6(client) ? 240 : 64),
			 "ICMP error");
}

LB_TEST(lb_dsr_icmp_error)
{
	struct pkt err4, err6, err_l2, err_l2_out, unknown;
	struct encap e4 = {.outer6 = false,
			   .prefix = ENCAP4,
			   .dst = BE_D4.addr,
			   .dmac = MAC_BE_A,
			   .smac = MAC_VB0};
	struct encap e6 = {.outer6 = true,
			   .prefix = ENCAP6,
			   .dst = BE_D6.addr,
			   .dmac = MAC_BE_A,
			   .smac = MAC_VB0};
	union veer_addr flow4, flow6;
	struct lb_fixture fwd4 = {"tcp4",	&P.tcp4, FROM_CLIENT,
				  XDP_REDIRECT, NULL,	 VEER_FWD_DSR_IPIP};
	struct lb_fixture fwd6 = {"tcp6",	&P.tcp6, FROM_CLIENT,
				  XDP_REDIRECT, NULL,	 VEER_FWD_DSR_IPIP};
	struct lb_fixture fx[] = {
		{"error about the IPv4 flow", &err4, FROM_CLIENT, XDP_REDIRECT, NULL,
		 VEER_FWD_ICMP_ERROR},
		{"error about the IPv6 flow", &err6, FROM_CLIENT, XDP_REDIRECT, NULL,
		 VEER_FWD_ICMP_ERROR},
		{"error about a dsr-l2 flow", &err_l2, FROM_CLIENT, XDP_REDIRECT, &err_l2_out,
		 VEER_FWD_ICMP_ERROR},
		{"error about no flow", &unknown, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_NOT_VIP},
	};
	struct pkt l2in, l2_out;

	if (!lb_begin() || !encap_set(ENCAP4, ENCAP6) ||
	    !dsr_vip(VIP_TCP4, VIP4, 80, IPPROTO_TCP, VEER_MODE_DSR_IPIP, &BE_D4) ||
	    !dsr_vip(VIP_TCP6, VIP6, 80, IPPROTO_TCP, VEER_MODE_DSR_IPIP, &BE_D6) ||
	    !dsr_vip(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, VEER_MODE_DSR_L2, &BE_D4B) ||
	    !reply_error(&err4, CLIENT4, 40000, VIP4) ||
	    !reply_error(&err6, CLIENT6, 40000, VIP6) ||
	    !reply_error(&err_l2, CLIENT4, 40005, VIP4_2) ||
	    !reply_error(&unknown, CLIENT4, 40099, VIP4) ||
	    !build(&l2in, lb_spec_c2v(CLIENT4, 40005, VIP4_2, 80, IPPROTO_TCP), "dsr-l2 flow"))
		return;
	l2_frame(&err_l2_out, &err_l2, MAC_BE_B, MAC_VB0);
	l2_frame(&l2_out, &l2in, MAC_BE_B, MAC_VB0);

	struct lb_fixture l2fwd = {"dsr-l2 flow", &l2in,   FROM_CLIENT,
				   XDP_REDIRECT,  &l2_out, VEER_FWD_DSR_L2};
	__u64 before, after;

	/* The flows first; then their errors, sent from the same outer source. */
	if (!encap_run(&fwd4, &e4, 0))
		return;
	flow4 = e4.src;
	if (!encap_run(&fwd6, &e6, 0))
		return;
	flow6 = e6.src;
	if (!lb_fixture_run(&l2fwd))
		return;
	before = lb_counters(lb_env.skel->maps.veer_vip_stats, VIP_TCP4).packets;
	if (!encap_run(&fx[0], &e4, VEER_FWD_DSR_IPIP))
		return;
	ASSERT_TRUE(!memcmp(&flow4, &e4.src, 4), "the IPv4 flow's outer source");
	if (!encap_run(&fx[1], &e6, VEER_FWD_DSR_IPIP))
		return;
	ASSERT_TRUE(!memcmp(&flow6, &e6.src, 16), "the IPv6 flow's outer source");
	if (!lb_fixture_run_also(&fx[2], VEER_FWD_DSR_L2) || !lb_fixture_run(&fx[3]))
		return;
	/* Not traffic of the connection: neither counted for the VIP nor refreshing it. */
	after = lb_counters(lb_env.skel->maps.veer_vip_stats, VIP_TCP4).packets;
	ASSERT_EQ(after, before, "errors are no VIP packets");
}

/* ---- the handshake and the connection table ---- */

static bool tcp_pkt(struct pkt *p, __u16 sport, __u8 flags)
{
	struct pkt_spec s = lb_spec_c2v(CLIENT4, sport, VIP4, 80, IPPROTO_TCP);

	s.tcp_flags = flags;
	return build(p, s, "tcp");
}

/*
 * A SYN enters the handshake table and the client's ACK moves it to the connection table: the
 * connection keeps the SYN's backend though the ring changed in between, and a new connection
 * takes the new ring's.
 */
LB_TEST(lb_dsr_handshake)
{
	struct pkt syn, syn2, ack, other;
	struct encap a = {.outer6 = false,
			  .prefix = ENCAP4,
			  .dst = BE_D4.addr,
			  .dmac = MAC_BE_A,
			  .smac = MAC_VB0};
	struct encap b = {.outer6 = false,
			  .prefix = ENCAP4,
			  .dst = BE_D4B.addr,
			  .dmac = MAC_BE_B,
			  .smac = MAC_VB0};
	struct lb_fixture fx[] = {
		{"SYN", &syn, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
		{"SYN again", &syn2, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
		{"ACK", &ack, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
		{"another connection", &other, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
	};
	struct veer_flow f;

	if (!lb_begin() || !encap_set(ENCAP4, ENCAP6) ||
	    !lb_add_vip(VIP_TCP4, VIP4, 80, IPPROTO_TCP, 0, VEER_MODE_DSR_IPIP) ||
	    !lb_add_backend(&BE_D4, VIP_TCP4, VEER_WEIGHT_DEFAULT) ||
	    !lb_add_backend(&BE_D4B, VIP_TCP4, VEER_WEIGHT_DEFAULT) ||
	    !lb_add_backend(&BE_D4C, VIP_TCP4, VEER_WEIGHT_DEFAULT) ||
	    !lb_set_ring_all(VIP_TCP4, BE_D4.id) || !tcp_pkt(&syn, 42000, 0x02) ||
	    !tcp_pkt(&syn2, 42000, 0x02) || !tcp_pkt(&ack, 42000, 0x10) ||
	    !tcp_pkt(&other, 42001, 0x02))
		return;
	if (!encap_run(&fx[0], &a, 0))
		return;
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_syns4), 1, "SYN: a handshake");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_flows4), 0, "SYN: no connection yet");
	if (!lb_set_ring_all(VIP_TCP4, BE_D4B.id) || !encap_run(&fx[1], &a, 0) ||
	    !encap_run(&fx[2], &a, 0))
		return;
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_syns4), 0, "ACK: no handshake left");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_flows4), 1, "ACK: one connection");
	if (ASSERT_TRUE(lb_flow_get(CLIENT4, 42000, VIP4, 80, IPPROTO_TCP, &f), "connection"))
		ASSERT_EQ(f.backend_id, BE_D4.id, "on the SYN's backend");
	if (encap_run(&fx[3], &b, 0))
		lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 4,
			       syn.len + syn2.len + ack.len + other.len, 2, 0, 0, "VIP");
}

/* A later fragment follows its datagram's flow: encapsulated, from the flow's source. */
LB_TEST(lb_dsr_fragment)
{
	struct pkt first, later;
	struct encap e = {.outer6 = false,
			  .prefix = ENCAP4,
			  .dst = BE_DU4.addr,
			  .dmac = MAC_BE_A,
			  .smac = MAC_VB0};
	struct pkt_spec s = lb_spec_c2v(CLIENT4, 40100, VIP4, 53, IPPROTO_UDP);
	struct lb_fixture fx[] = {
		{"first fragment", &first, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
		{"later fragment", &later, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_FRAGMENT},
	};
	union veer_addr src;

	s.frag = 0;
	s.ip_id = 0x4242;
	if (!lb_begin() || !encap_set(ENCAP4, ENCAP6) ||
	    !dsr_vip(VIP_UDP4, VIP4, 53, IPPROTO_UDP, VEER_MODE_DSR_IPIP, &BE_DU4) ||
	    !ASSERT_OK(pkt_build_frag(&first, &s, 1200, 0, 608, true), "first") ||
	    !ASSERT_OK(pkt_build_frag(&later, &s, 1200, 608, 600, false), "later") ||
	    !encap_run(&fx[0], &e, 0))
		return;
	src = e.src;
	if (encap_run(&fx[1], &e, VEER_FWD_DSR_IPIP))
		ASSERT_TRUE(!memcmp(&src, &e.src, 4), "the flow's outer source");
}

/* ---- malformed packets to a DSR VIP: the rules of NAT ones ---- */

LB_TEST(lb_dsr_malformed)
{
	struct pkt martian, doff4, vlan;
	struct pkt_spec s = lb_spec_c2v("127.0.0.2", 40200, VIP4, 80, IPPROTO_TCP);
	static const struct lb_fixture common[] = {
		{"TTL 1", &P.ttl1_4, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_TTL},
		{"hop limit 1", &P.ttl1_6, FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_TTL},
		{"TCP header cut short", &P.tcp4_short, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L4},
		{"TCP header past the datagram", &P.tcp4_outside, FROM_CLIENT, XDP_DROP, NULL,
		 VEER_DROP_BAD_L4},
		{"IHL 4", &P.ip4_ihl4, FROM_CLIENT, XDP_DROP, NULL, VEER_DROP_BAD_L3},
		{"802.1Q tag", &P.vlan4, FROM_CLIENT, XDP_DROP, NULL, VEER_DROP_UNSUPPORTED},
	};

	if (!lb_begin() || !dsr_vip(VIP_TCP4, VIP4, 80, IPPROTO_TCP, VEER_MODE_DSR_IPIP, &BE_D4) ||
	    !dsr_vip(VIP_TCP6, VIP6, 80, IPPROTO_TCP, VEER_MODE_DSR_L2, &BE_D6) ||
	    !build(&martian, s, "martian"))
		return;
	doff4 = P.tcp4;
	doff4.data[ETH_HLEN + 20 + 12] = 0x40; /* data offset 4 */
	pkt_l4_fix_csum(&doff4);
	vlan = P.vlan6;

	struct lb_fixture fx[] = {
		{"loopback source", &martian, FROM_CLIENT, XDP_DROP, NULL, VEER_DROP_MARTIAN},
		{"TCP data offset 4", &doff4, FROM_CLIENT, XDP_DROP, NULL, VEER_DROP_BAD_L4_HDR},
		{"802.1Q tag, dsr-l2", &vlan, FROM_CLIENT, XDP_DROP, NULL, VEER_DROP_UNSUPPORTED},
	};

	if (lb_fixtures_run(common, ARRAY_LEN(common)) && lb_fixtures_run(fx, ARRAY_LEN(fx)))
		ASSERT_EQ(lb_flow_count(), 0, "no flow entries");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, VIP_TCP4, 0, 0, 0, 0, 0, "VIP");
}

/* ---- a backend address:port that serves a NAT VIP and a DSR VIP ---- */

/*
 * The DSR VIP's slot stays out of the reply index: the NAT VIP's replies are found as if the
 * backend served it alone (no clash check, not shared), and both VIPs forward their way.
 */
LB_TEST(lb_dsr_shared_backend)
{
	static const struct be_def NAT = {16, "198.18.11.2", 80, MAC_BE_A};
	static const struct be_def DSR = {17, "198.18.11.2", 80, MAC_BE_A};
	struct pkt nat_in, nat_out, rep, rep_out, dsr_in;
	struct encap e = {.outer6 = false,
			  .prefix = ENCAP4,
			  .dst = DSR.addr,
			  .dmac = MAC_BE_A,
			  .smac = MAC_VB0};
	struct veer_be_key bk = {};
	struct veer_be_vips idx = {};
	struct veer_backend be = {};
	struct pkt_spec s;

	if (!lb_begin() || !encap_set(ENCAP4, ENCAP6) ||
	    !dsr_vip(VIP_TCP4, VIP4, 80, IPPROTO_TCP, VEER_MODE_NAT, &NAT) ||
	    !dsr_vip(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, VEER_MODE_DSR_IPIP, &DSR))
		return;
	s = lb_spec_c2v(CLIENT4, 40300, VIP4, 80, IPPROTO_TCP);
	if (!build(&nat_in, s, "to the NAT VIP") ||
	    !build(&nat_out, lb_spec_fwd(s, &NAT, true), "NAT out"))
		return;
	s = lb_spec_b2c(&NAT, CLIENT4, 40300, IPPROTO_TCP);
	if (!build(&rep, s, "reply") || !build(&rep_out, lb_spec_rev(s, VIP4, 80), "reply out") ||
	    !build(&dsr_in, lb_spec_c2v(CLIENT4, 40301, VIP4_2, 80, IPPROTO_TCP), "to the DSR VIP"))
		return;

	struct lb_fixture fx[] = {
		{"to the NAT VIP", &nat_in, FROM_CLIENT, XDP_REDIRECT, &nat_out, VEER_REASON_NONE},
		{"its reply", &rep, FROM_BACKEND, XDP_REDIRECT, &rep_out, VEER_REASON_NONE},
		{"to the DSR VIP", &dsr_in, FROM_CLIENT, XDP_REDIRECT, NULL, VEER_FWD_DSR_IPIP},
	};

	bk.family = lb_addr_parse(NAT.addr, &bk.addr);
	bk.port = htons(80);
	bk.proto = IPPROTO_TCP;
	if (ASSERT_OK(bpf_map__lookup_elem(lb_env.skel->maps.veer_be_index, &bk, sizeof(bk), &idx,
					   sizeof(idx), 0),
		      "index entry")) {
		ASSERT_EQ(idx.count, 1, "the NAT VIP only");
		ASSERT_EQ(idx.vips[0].backend_id, NAT.id, "the NAT slot");
	}
	for (__u32 i = 0; i < 2; i++) {
		__u32 id = i ? DSR.id : NAT.id;

		bpf_map__lookup_elem(lb_env.skel->maps.veer_backends, &id, sizeof(id), &be,
				     sizeof(be), 0);
		ASSERT_EQ(be.flags & VEER_BACKEND_SHARED, 0, "not shared");
		ASSERT_EQ(VEER_BACKEND_MODE(be.flags), i ? VEER_MODE_DSR_IPIP : VEER_MODE_NAT,
			  "the slot's mode");
	}
	if (lb_fixtures_run(fx, 2))
		encap_run(&fx[2], &e, 0);
}

/* ---- libveer ---- */

static bool vip_add(struct ctl_veer *c, const char *vip, __u8 mode, struct veer_vip_key *k)
{
	struct veer_vip_opts o = {.mode = mode, .ring_size = 251};

	return ASSERT_OK(veer_parse_vip(vip, k), vip) &&
	       ASSERT_OK(veer_vip_check(k, &o), "vip check") &&
	       ASSERT_OK(veer_vip_add(c->v, k, &o), "vip add");
}

static int be_add(struct ctl_veer *c, const struct veer_vip_key *k, const char *be)
{
	struct veer_endpoint ep;

	if (!ASSERT_OK(veer_parse_endpoint(be, &ep, false), be))
		return -EINVAL;
	return veer_backend_add(c->v, k, &ep, 100, NULL);
}

/* Every slot of veer_backends, from the map: what a refused command must leave as it was. */
static bool backends_read(struct ctl_veer *c, struct veer_backend *t)
{
	for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++)
		if (bpf_map__lookup_elem(c->v->skel->maps.veer_backends, &id, sizeof(id), &t[id],
					 sizeof(t[id]), 0))
			return veer_test_fail(__FILE__, __LINE__, "read backend %u", id);
	return true;
}

/*
 * Refused, with nothing changed: a backend port other than a DSR VIP's, an IPv6 backend of an
 * IPv4 dsr-l2 VIP, an IPv4 backend of an IPv6 dsr-ipip VIP, an unknown mode. Accepted: no
 * port (the VIP's), an IPv6 backend of an IPv4 dsr-ipip VIP.
 */
VEER_TEST(ctl_dsr_backends)
{
	static struct veer_backend before[VEER_MAX_BACKENDS], after[VEER_MAX_BACKENDS];
	struct veer_vip_key ipip, l2, ipip6, bad;
	struct veer_vip_opts o = {.mode = VEER_MODE_DSR_L2 + 1};
	struct veer_backend_info *list = NULL;
	struct veer_vip_info *vips = NULL;
	struct ctl_veer c;
	size_t n = 0;
	__u8 mode;

	ASSERT_ERR(veer_parse_mode("dsr", &mode), "mode name dsr");
	ASSERT_ERR(veer_parse_mode("DSR-IPIP", &mode), "mode names are lower case");
	ASSERT_OK(veer_parse_mode("dsr-ipip", &mode), "dsr-ipip");
	ASSERT_EQ(mode, VEER_MODE_DSR_IPIP, "dsr-ipip value");
	if (!ctl_veer_up(&c))
		goto out;
	if (!vip_add(&c, "198.18.100.40:80/tcp", VEER_MODE_DSR_IPIP, &ipip) ||
	    !vip_add(&c, "198.18.100.41:80/tcp", VEER_MODE_DSR_L2, &l2) ||
	    !vip_add(&c, "[2001:2:0:100::40]:80/tcp", VEER_MODE_DSR_IPIP, &ipip6) ||
	    !backends_read(&c, before))
		goto out;
	ASSERT_ERR(be_add(&c, &ipip, "198.18.11.2:8080"), "dsr-ipip, another port");
	ASSERT_ERR(be_add(&c, &l2, "198.18.11.2:8080"), "dsr-l2, another port");
	ASSERT_ERR(be_add(&c, &l2, "[2001:2:0:11::2]:80"), "dsr-l2, IPv6 backend of IPv4 VIP");
	ASSERT_ERR(be_add(&c, &ipip6, "198.18.11.2:80"), "IPv4 backend of an IPv6 VIP");
	ASSERT_EQ(veer_vip_check(&ipip, &o), -EINVAL, "an unknown mode");
	ASSERT_OK(veer_parse_vip("198.18.100.42:80/tcp", &bad), "VIP");
	ASSERT_EQ(veer_vip_add(c.v, &bad, &o), -EINVAL, "an unknown mode, added");
	if (!backends_read(&c, after))
		goto out;
	ASSERT_TRUE(!memcmp(before, after, sizeof(before)), "no backend slot changed");
	if (ASSERT_OK(veer_vip_list(c.v, &vips, &n), "vip list"))
		ASSERT_EQ(n, 3, "no VIP added");
	ASSERT_EQ(lb_map_count(c.v->skel->maps.veer_be_index), 0, "nothing in the reply index");

	ASSERT_OK(be_add(&c, &ipip, "198.18.11.2"), "dsr-ipip, no port: the VIP's");
	ASSERT_OK(be_add(&c, &ipip, "[2001:2:0:11::2]:80"), "dsr-ipip, an IPv6 backend");
	ASSERT_OK(be_add(&c, &l2, "198.18.11.2:80"), "dsr-l2, the VIP's port");
	if (ASSERT_OK(veer_backend_list(c.v, &ipip, &list, &n), "backend list") &&
	    ASSERT_EQ(n, 2, "two backends")) {
		for (size_t i = 0; i < n; i++) {
			ASSERT_EQ(list[i].be.port, htons(80), "the VIP's port");
			ASSERT_EQ(VEER_BACKEND_MODE(list[i].be.flags), VEER_MODE_DSR_IPIP,
				  "slot mode");
		}
		ASSERT_NEQ(list[0].be.family, list[1].be.family, "an IPv4 and an IPv6 backend");
	}
	/* DSR backends answer their clients themselves: no reply index, no filter bit. */
	ASSERT_EQ(lb_map_count(c.v->skel->maps.veer_be_index), 0, "nothing in the reply index");
out:
	free(list);
	free(vips);
	ctl_veer_down(&c);
}

/* A NAT VIP's backend that a DSR VIP shares: only the NAT VIP in the index, never SHARED. */
VEER_TEST(ctl_dsr_shared_backend)
{
	struct veer_vip_key nat, dsr;
	struct veer_be_key bk = {.port = htons(80), .proto = IPPROTO_TCP};
	struct veer_be_vips idx = {};
	struct veer_backend_info *list = NULL;
	struct ctl_veer c;
	size_t n;

	if (!ctl_veer_up(&c))
		goto out;
	if (!vip_add(&c, "198.18.100.43:80/tcp", VEER_MODE_NAT, &nat) ||
	    !vip_add(&c, "198.18.100.44:80/tcp", VEER_MODE_DSR_IPIP, &dsr) ||
	    !ASSERT_OK(be_add(&c, &dsr, "198.18.11.7"), "DSR first") ||
	    !ASSERT_OK(be_add(&c, &nat, "198.18.11.7:80"), "then NAT"))
		goto out;
	bk.family = lb_addr_parse("198.18.11.7", &bk.addr);
	if (ASSERT_OK(bpf_map__lookup_elem(c.v->skel->maps.veer_be_index, &bk, sizeof(bk), &idx,
					   sizeof(idx), 0),
		      "index entry"))
		ASSERT_EQ(idx.count, 1, "the NAT VIP only");
	if (ASSERT_OK(veer_backend_list(c.v, &nat, &list, &n), "list") && ASSERT_EQ(n, 1, "one"))
		ASSERT_EQ(list[0].be.flags & VEER_BACKEND_SHARED, 0, "not shared");
	free(list);
	list = NULL;
	/* The NAT VIP goes: the DSR VIP's backend stays out of the index. */
	if (ASSERT_OK(veer_vip_del(c.v, &nat), "del NAT VIP"))
		ASSERT_TRUE(bpf_map__lookup_elem(c.v->skel->maps.veer_be_index, &bk, sizeof(bk),
						 &idx, sizeof(idx), 0),
			    "no index entry left");
out:
	free(list);
	ctl_veer_down(&c);
}

/* `veer set encap-source4|6`: a prefix of the right family, host bits zero, a sender's. */
VEER_TEST(ctl_dsr_encap_settings)
{
	static const struct {
		const char *name, *value;
		int err;
	} cases[] = {
		{"encap-source4", "169.255.0.0/16", 0}, /* next to link-local */
		{"encap-source6", "fec0::/16", 0},
		{"encap-source4", "198.19.0.0/16", 0},
		{"encap-source4", "198.19.5.0/24", 0},
		{"encap-source4", "198.19.5.1/32", 0},
		{"encap-source6", "2001:2:0:200::/64", 0},
		{"encap-source6", "2001:2:0:200::1/128", 0},
		{"encap-source4", "198.19.0.1/16", -EINVAL}, /* host bits */
		{"encap-source4", "198.19.0.0", -EINVAL},
		{"encap-source4", "198.19.0.0/33", -EINVAL},
		{"encap-source4", "2001:2::/64", -EINVAL},
		{"encap-source6", "198.19.0.0/16", -EINVAL},
		{"encap-source4", "0.0.0.0/8", -EINVAL}, /* "unset" */
		{"encap-source4", "10.0.0.0/7", -ERANGE},
		{"encap-source4", "127.0.0.0/8", -ERANGE},
		{"encap-source4", "224.0.0.0/8", -ERANGE},
		{"encap-source6", "ff00::/8", -ERANGE},
		{"encap-source6", "fe80::/64", -ERANGE},
		{"encap-source6", "2000::/15", -ERANGE},
		/* Any address of the prefix may be a source: none may be one no router forwards. */
		{"encap-source4", "0.1.0.0/16", -ERANGE},
		{"encap-source4", "169.254.0.0/16", -ERANGE},
		{"encap-source4", "169.0.0.0/8", -ERANGE},
		{"encap-source4", "169.254.7.0/24", -ERANGE},
		{"encap-source4", "240.0.0.0/8", -ERANGE},
		{"encap-source6", "::1/128", -ERANGE},
		{"encap-source6", "::ffff:0:0/96", -ERANGE},
		{"encap-source6", "::ffff:c613:0/112", -ERANGE},
		{"encap-source6", "fe80::/16", -ERANGE},
		{"encap-source6", "2001:2::/64 ", -EINVAL},
		{"encap-source5", "198.19.0.0/16", -ENOENT},
	};
	struct veer_settings s = {}, was;
	struct veer_setting_value sv;
	char what[96];
	size_t i;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		was = s;
		snprintf(what, sizeof(what), "%s %s", cases[i].name, cases[i].value);
		ASSERT_EQ(veer_setting_parse(&s, cases[i].name, cases[i].value), cases[i].err,
			  what);
		if (cases[i].err)
			ASSERT_TRUE(!memcmp(&was, &s, sizeof(s)), what);
	}
	/* What was set last, and the defaults of an unset one, as `veer set` shows them. */
	for (i = 0; !veer_setting_at(&s, i, &sv); i++) {
		if (!strcmp(sv.name, "encap-source4"))
			ASSERT_STREQ(sv.text, "198.19.5.1/32", "encap-source4 shown");
		if (!strcmp(sv.name, "encap-source6"))
			ASSERT_STREQ(sv.text, "2001:2:0:200::1/128", "encap-source6 shown");
	}
	ASSERT_EQ(i, 6, "six settings: four of the data plane, two of the events");
	memset(&s, 0, sizeof(s));
	for (i = 0; !veer_setting_at(&s, i, &sv); i++) {
		if (!strcmp(sv.name, "encap-source4"))
			ASSERT_STREQ(sv.text, "172.16.0.0/16", "encap-source4 default");
		if (!strcmp(sv.name, "encap-source6"))
			ASSERT_STREQ(sv.text, "100::/64", "encap-source6 default");
		if (!strcmp(sv.name, "tcp-timeout"))
			ASSERT_STREQ(sv.text, "300s", "tcp-timeout default");
	}
}
