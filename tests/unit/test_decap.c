// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_RUN fixtures for the decap program (bpf/decap.bpf.c), at both hooks: veer_decap
 * (XDP) and veer_decap_tc (tc). Every run checks the verdict (always "pass": the program drops
 * nothing), the EXACT output bytes (a decapsulated packet is the inner packet behind the
 * frame's own MACs; anything else comes out as it went in) and that exactly one reason counter
 * of veer_decap_stat moved.
 *
 * The skeleton is loaded with pinning switched off: its maps are private to this process. The
 * programs need no topology (no FIB lookup): they run on the loopback device.
 */
#include <errno.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <veer/abi.h>
#include "test.h"
#include "packet.h"
#include <veer/decap_hash.h>
#include "decap.skel.h"
#include "internal.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const reason_names[VEER_DECAP_REASON_SLOTS] = VEER_DECAP_REASON_NAMES;

/* The load balancer -> this backend, and a client -> a VIP inside. */
static const __u8 MAC_LB[6] = {0x02, 0, 0, 0, 0x11, 0x01};
static const __u8 MAC_HOST[6] = {0x02, 0, 0, 0, 0x11, 0x02};
#define LB4	"198.18.11.1"
#define HOST4	"198.18.11.2"
#define LB6	"2001:2:0:11::1"
#define HOST6	"2001:2:0:11::2"
#define CLIENT4 "198.18.1.2"
#define CLIENT6 "2001:2:0:1::2"
#define VIP4	"198.18.100.10"
#define VIP6	"2001:2:0:100::10"
#define OTHER4	"198.18.100.99" /* no decap VIP */
#define OTHER6	"2001:2:0:100::99"

enum dc_hook { DC_XDP, DC_TC };

static struct {
	bool tried, ok;
	char why[256];
	struct decap *skel;
	int prog_fd[2];
	int ncpus;
	enum dc_hook hook;
} env;

#define DECAP_TEST(name)                                                                           \
	static void dc_body_##name(void);                                                          \
	VEER_TEST(name##_xdp)                                                                      \
	{                                                                                          \
		env.hook = DC_XDP;                                                                 \
		dc_body_##name();                                                                  \
	}                                                                                          \
	VEER_TEST(name##_tc)                                                                       \
	{                                                                                          \
		env.hook = DC_TC;                                                                  \
		dc_body_##name();                                                                  \
	}                                                                                          \
	static void dc_body_##name(void)

static bool skeleton(void)
{
	struct bpf_map *map;
	int err;

	env.ncpus = libbpf_num_possible_cpus();
	env.skel = decap__open();
	if (env.ncpus <= 0 || !env.skel) {
		snprintf(env.why, sizeof(env.why), "decap__open: %s", strerror(errno));
		return false;
	}
	bpf_object__for_each_map(map, env.skel->obj) bpf_map__set_pin_path(map, NULL);
	err = decap__load(env.skel);
	if (err) {
		snprintf(env.why, sizeof(env.why), "decap__load: %s", strerror(-err));
		return false;
	}
	env.prog_fd[DC_XDP] = bpf_program__fd(env.skel->progs.veer_decap);
	env.prog_fd[DC_TC] = bpf_program__fd(env.skel->progs.veer_decap_tc);
	return true;
}

/* With libveer's own code: the slot placement is the one veer decap vip add makes. */
static bool vip_put(const char *addr, bool add)
{
	union veer_addr a = {};
	__u8 family;

	if (veer_decap_parse_vip(addr, &a, &family))
		return false;
	return !veer_decap_vip_put(env.skel->maps.veer_decap_vips, &a, family, add);
}

/* Every slot of veer_decap_vips empty, in one batch. */
static bool vips_clear(void)
{
	static __u32 keys[VEER_DECAP_SLOTS];
	static struct veer_decap_vip zeros[VEER_DECAP_SLOTS];
	__u32 count = VEER_DECAP_SLOTS;

	for (__u32 i = 0; i < count; i++)
		keys[i] = i;
	return !bpf_map_update_batch(bpf_map__fd(env.skel->maps.veer_decap_vips), keys, zeros,
				     &count, NULL);
}

/* Zeroed counters, and the two VIPs alone in the table. */
static bool env_reset(void)
{
	size_t sz = env.ncpus * sizeof(__u64);
	__u64 *zero = calloc(1, sz);
	bool ok = zero != NULL && vips_clear();

	for (__u32 r = 0; ok && r < VEER_DECAP_REASON_SLOTS; r++)
		ok = !bpf_map__update_elem(env.skel->maps.veer_decap_stat, &r, sizeof(r), zero, sz,
					   BPF_ANY);
	free(zero);
	return ASSERT_TRUE(ok && vip_put(VIP4, true) && vip_put(VIP6, true), "reset the maps");
}

static bool dc_begin(void)
{
	if (!env.tried) {
		env.tried = true;
		env.ok = skeleton();
	}
	if (!env.ok)
		return veer_test_fail(__FILE__, __LINE__, "decap test environment: %s", env.why);
	return env_reset();
}

static void reasons_read(__u64 sum[VEER_DECAP_REASON_SLOTS])
{
	__u64 *v = calloc(env.ncpus, sizeof(__u64));

	for (__u32 r = 0; r < VEER_DECAP_REASON_SLOTS; r++) {
		sum[r] = 0;
		if (v && !bpf_map__lookup_elem(env.skel->maps.veer_decap_stat, &r, sizeof(r), v,
					       env.ncpus * sizeof(__u64), 0))
			for (int c = 0; c < env.ncpus; c++)
				sum[r] += v[c];
	}
	free(v);
}

/*
 * One run on the current hook. gso_size, at tc, makes the test skb a GSO one (of no GSO type:
 * the kernel builds no other). Returns the kernel's error, or 0 with the verdict as XDP's.
 */
static int dc_run(const struct pkt *in, struct pkt *out, __u32 *retval, __u32 gso_size)
{
	struct __sk_buff skb = {.gso_size = gso_size, .gso_segs = gso_size ? 2 : 0};
	bool tc = env.hook == DC_TC;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data, .data_size_in = in->len,
		    .data_out = out->data, .data_size_out = sizeof(out->data), .repeat = 1,
		    .ctx_in = tc ? &skb : NULL, .ctx_size_in = tc ? sizeof(skb) : 0);
	int err;

	memset(out, 0, sizeof(*out));
	err = bpf_prog_test_run_opts(env.prog_fd[env.hook], &opts);
	out->len = opts.data_size_out;
	*retval = opts.retval;
	if (tc)
		*retval = opts.retval == TC_ACT_OK ? XDP_PASS : 0x100 + opts.retval;
	return err;
}

struct dc_fixture {
	const char *name;
	const struct pkt *in;
	const struct pkt *out; /* NULL: the frame must come out exactly as it went in */
	enum veer_decap_reason reason;
};

/* gso_size, at tc only: a GSO test skb. */
static bool fixture_run(const struct dc_fixture *fx, __u32 gso_size)
{
	__u64 before[VEER_DECAP_REASON_SLOTS], after[VEER_DECAP_REASON_SLOTS];
	const struct pkt *want = fx->out ? fx->out : fx->in;
	char what[160], why[128];
	struct pkt got;
	__u32 retval;
	bool ok;
	int err;

	reasons_read(before);
	snprintf(what, sizeof(what), "%s: BPF_PROG_RUN", fx->name);
	err = dc_run(fx->in, &got, &retval, gso_size);
	/*
	 * The kernel builds no test skb from a frame whose network header is cut short (EINVAL);
	 * at XDP the same frame runs, so the rule is still checked once.
	 */
	if (err == -EINVAL && env.hook == DC_TC && fx->in->len < ETH_HLEN + 40)
		return true;
	if (!ASSERT_OK(err, what))
		return false;
	reasons_read(after);
	snprintf(what, sizeof(what), "%s: verdict pass", fx->name);
	ok = ASSERT_EQ(retval, XDP_PASS, what);
	snprintf(what, sizeof(what), "%s: output bytes", fx->name);
	ok &= ASSERT_MEMEQ(got.data, got.len, want->data, want->len, what);
	if (fx->out && !pkt_csums_ok(&got, why, sizeof(why)))
		ok = veer_test_fail(__FILE__, __LINE__, "%s: %s", fx->name, why);
	for (int r = 0; r < VEER_DECAP_REASON_SLOTS; r++) {
		__u64 expect = r == (int)fx->reason;

		snprintf(what, sizeof(what), "%s: reason %s counted", fx->name,
			 reason_names[r] ? reason_names[r] : "(unnamed)");
		ok &= ASSERT_EQ(after[r] - before[r], expect, what);
	}
	return ok;
}

static bool fixtures_run(const struct dc_fixture *fx, size_t n, __u32 gso_size)
{
	bool ok = true;

	for (size_t i = 0; i < n; i++)
		ok &= fixture_run(&fx[i], gso_size);
	return ok;
}

/* ---- packets ---- */

/* A client's packet to daddr as the load balancer received it, with the backend's MACs. */
static bool inner(struct pkt *p, const char *daddr, __u8 proto)
{
	bool v6 = strchr(daddr, ':');
	struct pkt_spec s = {
		.saddr = v6 ? CLIENT6 : CLIENT4,
		.daddr = daddr,
		.proto = proto,
		.sport = 40000,
		.dport = 80,
		.payload = 32,
		.frag = v6 ? 0 : 0x4000,
	};

	memcpy(s.dmac, MAC_HOST, 6);
	memcpy(s.smac, MAC_LB, 6);
	return ASSERT_OK(pkt_build(p, &s), "build the inner packet");
}

/* inner inside an outer header from the load balancer to this host, of the family asked. */
static bool encap(struct pkt *p, const struct pkt *in, bool outer6, __u8 opts)
{
	return ASSERT_OK(pkt_build_encap(p, in, outer6 ? LB6 : LB4, outer6 ? HOST6 : HOST4, opts),
			 "build the encapsulated packet");
}

/* The outer IPv4 header of an encapsulated frame, edited, its checksum made right again. */
static void outer4_edit(struct pkt *p, void (*edit)(struct iphdr *))
{
	edit(pkt_ip4(p));
	pkt_ip4_fix_csum(p);
}

/* The inner header of a frame with a 20-byte outer IPv4 header. */
static __u8 *inner_hdr(struct pkt *p)
{
	return p->data + ETH_HLEN + sizeof(struct iphdr);
}

static void truncate_to(struct pkt *p, __u32 len)
{
	memset(p->data + len, 0, PKT_MAX - len);
	p->len = len;
}

/* ---- fixtures ---- */

/* Every encapsulation form: the output is the inner packet, MACs kept, ethertype its own. */
DECAP_TEST(decap_forms)
{
	static struct pkt t4, u4, t6, u6, frag4, ipip, ipip_udp, ip6ip6, ip6ip6_udp, in6_4, in4_6,
		ipip_opts, ipip_frag, padded_in, padded_out, unpadded;
	struct pkt_spec fs = {};

	if (!dc_begin() || !inner(&t4, VIP4, IPPROTO_TCP) || !inner(&u4, VIP4, IPPROTO_UDP) ||
	    !inner(&t6, VIP6, IPPROTO_TCP) || !inner(&u6, VIP6, IPPROTO_UDP) ||
	    !encap(&ipip, &t4, false, 0) || !encap(&ipip_udp, &u4, false, 0) ||
	    !encap(&ip6ip6, &t6, true, 0) || !encap(&ip6ip6_udp, &u6, true, 0) ||
	    !encap(&in6_4, &t4, true, 0) || !encap(&in4_6, &t6, false, 0) ||
	    !encap(&ipip_opts, &t4, false, 8))
		return;
	/* An inner first fragment: the stack reassembles it after the strip. */
	fs = (struct pkt_spec){.saddr = CLIENT4,
			       .daddr = VIP4,
			       .proto = IPPROTO_UDP,
			       .sport = 40000,
			       .dport = 53,
			       .payload = 64,
			       .frag = 0x2000};
	memcpy(fs.dmac, MAC_HOST, 6);
	memcpy(fs.smac, MAC_LB, 6);
	if (!ASSERT_OK(pkt_build(&frag4, &fs), "inner fragment") ||
	    !encap(&ipip_frag, &frag4, false, 0))
		return;
	/* Ethernet padding behind a short outer datagram stays behind the inner one. */
	fs = (struct pkt_spec){.saddr = CLIENT4,
			       .daddr = VIP4,
			       .proto = IPPROTO_UDP,
			       .sport = 40000,
			       .dport = 53,
			       .payload = 0,
			       .pad = 6};
	memcpy(fs.dmac, MAC_HOST, 6);
	memcpy(fs.smac, MAC_LB, 6);
	if (!ASSERT_OK(pkt_build(&padded_out, &fs), "padded inner"))
		return;
	unpadded = padded_out;
	truncate_to(&unpadded, padded_out.len - fs.pad);
	if (!encap(&padded_in, &unpadded, false, 0))
		return;
	padded_in.len += fs.pad; /* the builder zeroed the buffer: the padding is zeros */

	const struct dc_fixture fx[] = {
		{"IPv4 in IPv4, TCP", &ipip, &t4, VEER_DECAP_DONE},
		{"IPv4 in IPv4, UDP", &ipip_udp, &u4, VEER_DECAP_DONE},
		{"IPv6 in IPv6, TCP", &ip6ip6, &t6, VEER_DECAP_DONE},
		{"IPv6 in IPv6, UDP", &ip6ip6_udp, &u6, VEER_DECAP_DONE},
		{"IPv4 in IPv6", &in6_4, &t4, VEER_DECAP_DONE},
		{"IPv6 in IPv4", &in4_6, &t6, VEER_DECAP_DONE},
		{"IPv4 in IPv4 with 8 bytes of outer options", &ipip_opts, &t4, VEER_DECAP_DONE},
		{"IPv4 in IPv4, inner first fragment", &ipip_frag, &frag4, VEER_DECAP_DONE},
		{"IPv4 in IPv4, Ethernet padding", &padded_in, &padded_out, VEER_DECAP_DONE},
	};
	fixtures_run(fx, ARRAY_LEN(fx), 0);
}

/* What is not decapsulated comes out byte for byte as it went in. */
DECAP_TEST(decap_untouched)
{
	static struct pkt t4, t6, o4, o6, ipip_other, ip6ip6_other, in6_other, plain4, plain6,
		plain_vip4, arp, vlan_ipip, hbh6, frag6, t4_gone, ipip_gone;
	struct pkt_spec s = {.saddr = CLIENT6,
			     .daddr = OTHER6,
			     .proto = IPPROTO_UDP,
			     .sport = 40000,
			     .dport = 53,
			     .payload = 16};

	memcpy(s.dmac, MAC_HOST, 6);
	memcpy(s.smac, MAC_LB, 6);
	if (!dc_begin() || !inner(&t4, VIP4, IPPROTO_TCP) || !inner(&t6, VIP6, IPPROTO_TCP) ||
	    !inner(&o4, OTHER4, IPPROTO_TCP) || !inner(&o6, OTHER6, IPPROTO_UDP) ||
	    !encap(&ipip_other, &o4, false, 0) || !encap(&ip6ip6_other, &o6, true, 0) ||
	    !encap(&in6_other, &o4, true, 0) || !inner(&plain4, OTHER4, IPPROTO_UDP) ||
	    !inner(&plain_vip4, VIP4, IPPROTO_TCP) || !inner(&plain6, OTHER6, IPPROTO_TCP) ||
	    !ASSERT_OK(pkt_build_arp(&arp, MAC_LB, LB4, HOST4), "arp"))
		return;
	/* IPv6 with a hop-by-hop header, and with a fragment header: extension headers. */
	s.ext6_n = 1;
	s.ext6[0] = (struct pkt_ext6){.type = 0, .len = 0};
	if (!ASSERT_OK(pkt_build(&hbh6, &s), "hop-by-hop"))
		return;
	s.ext6_n = 0;
	s.v6_frag = true;
	s.frag = 0x0001;
	if (!ASSERT_OK(pkt_build(&frag6, &s), "IPv6 fragment"))
		return;
	/* IPIP behind an in-band 802.1Q tag. */
	if (!encap(&vlan_ipip, &t4, false, 0))
		return;
	memmove(vlan_ipip.data + 16, vlan_ipip.data + 12, vlan_ipip.len - 12);
	vlan_ipip.data[12] = 0x81;
	vlan_ipip.data[13] = 0x00;
	vlan_ipip.data[14] = 0x00;
	vlan_ipip.data[15] = 0x07;
	vlan_ipip.len += 4;
	/* A VIP deleted: its encapsulated packets are passed as they are. */
	if (!inner(&t4_gone, "198.18.100.11", IPPROTO_TCP) ||
	    !encap(&ipip_gone, &t4_gone, false, 0) ||
	    !ASSERT_TRUE(vip_put("198.18.100.11", true), "add a VIP") ||
	    !ASSERT_TRUE(vip_put("198.18.100.11", false), "delete it"))
		return;

	const struct dc_fixture fx[] = {
		{"IPv4 in IPv4 to no VIP", &ipip_other, NULL, VEER_DECAP_NOT_VIP},
		{"IPv6 in IPv6 to no VIP", &ip6ip6_other, NULL, VEER_DECAP_NOT_VIP},
		{"IPv4 in IPv6 to no VIP", &in6_other, NULL, VEER_DECAP_NOT_VIP},
		{"IPv4 in IPv4 to a deleted VIP", &ipip_gone, NULL, VEER_DECAP_NOT_VIP},
		{"plain UDP/IPv4", &plain4, NULL, VEER_DECAP_NOT_ENCAP},
		{"plain TCP/IPv4 to a VIP", &plain_vip4, NULL, VEER_DECAP_NOT_ENCAP},
		{"plain TCP/IPv6", &plain6, NULL, VEER_DECAP_NOT_ENCAP},
		{"plain TCP/IPv6 to a VIP", &t6, NULL, VEER_DECAP_NOT_ENCAP},
		{"ARP", &arp, NULL, VEER_DECAP_NOT_ENCAP},
		{"IPIP behind an 802.1Q tag", &vlan_ipip, NULL, VEER_DECAP_NOT_ENCAP},
		{"IPv6 with a hop-by-hop header", &hbh6, NULL, VEER_DECAP_OUTER_EXT},
		{"IPv6 with a fragment header", &frag6, NULL, VEER_DECAP_OUTER_EXT},
	};
	fixtures_run(fx, ARRAY_LEN(fx), 0);
}

static void set_mf(struct iphdr *h)
{
	h->frag_off = htons(0x2000);
}

static void set_offset(struct iphdr *h)
{
	h->frag_off = htons(0x0010);
}

static void set_ihl4(struct iphdr *h)
{
	h->ihl = 4;
}

static void set_version6(struct iphdr *h)
{
	h->version = 6;
}

static void set_tot_long(struct iphdr *h)
{
	h->tot_len = htons(ntohs(h->tot_len) + 1);
}

static void set_tot_short(struct iphdr *h)
{
	h->tot_len = htons(19);
}

static void set_tot_zero(struct iphdr *h)
{
	h->tot_len = 0;
}

/*
 * Malformed outer and inner headers, and outer fragments: passed untouched, each under its
 * reason, for the stack to judge as it would without veer.
 */
DECAP_TEST(decap_malformed)
{
	static struct pkt t4, t6, ipip, ip6ip6, in6_4, cut_outer, ihl4, ver6, tot_long, tot_short,
		tot_zero, bad_sum, mf, offset, v6_long, v6_ver, v6_zero, cut_inner, cut_inner6,
		wrong_in4, wrong_in6, in_ihl4, in_tot_long, in6_plen_long, in_tot_short;

	if (!dc_begin() || !inner(&t4, VIP4, IPPROTO_TCP) || !inner(&t6, VIP6, IPPROTO_TCP) ||
	    !encap(&ipip, &t4, false, 0) || !encap(&ip6ip6, &t6, true, 0) ||
	    !encap(&in6_4, &t4, true, 0))
		return;
	/* Outer IPv4. */
	cut_outer = ipip;
	truncate_to(&cut_outer, ETH_HLEN + 16);
	ihl4 = ipip;
	outer4_edit(&ihl4, set_ihl4);
	ver6 = ipip;
	outer4_edit(&ver6, set_version6);
	tot_long = ipip;
	outer4_edit(&tot_long, set_tot_long);
	tot_short = ipip;
	outer4_edit(&tot_short, set_tot_short);
	tot_zero = ipip;
	outer4_edit(&tot_zero, set_tot_zero);
	bad_sum = ipip;
	pkt_ip4(&bad_sum)->check ^= htons(0x0100);
	mf = ipip;
	outer4_edit(&mf, set_mf);
	offset = ipip;
	outer4_edit(&offset, set_offset);
	/* Outer IPv6. */
	v6_long = ip6ip6;
	pkt_ip6(&v6_long)->payload_len = htons(ntohs(pkt_ip6(&v6_long)->payload_len) + 1);
	v6_ver = ip6ip6;
	pkt_ip6(&v6_ver)->version = 4;
	v6_zero = ip6ip6;
	pkt_ip6(&v6_zero)->payload_len = 0;
	/* Inner. */
	cut_inner = ipip;
	truncate_to(&cut_inner, ETH_HLEN + 20 + 10);
	((struct iphdr *)pkt_ip4(&cut_inner))->tot_len = htons(30);
	pkt_ip4_fix_csum(&cut_inner);
	cut_inner6 = in6_4;
	truncate_to(&cut_inner6, ETH_HLEN + 40 + 12);
	pkt_ip6(&cut_inner6)->payload_len = htons(12);
	if (!encap(&wrong_in4, &t6, false, 0) || !encap(&wrong_in6, &t4, true, 0))
		return;
	pkt_ip4(&wrong_in4)->protocol = IPPROTO_IPIP; /* says IPv4, carries IPv6 */
	pkt_ip4_fix_csum(&wrong_in4);
	pkt_ip6(&wrong_in6)->nexthdr = IPPROTO_IPV6; /* says IPv6, carries IPv4 */
	in_ihl4 = ipip;
	((struct iphdr *)inner_hdr(&in_ihl4))->ihl = 4;
	in_tot_long = ipip;
	((struct iphdr *)inner_hdr(&in_tot_long))->tot_len =
		htons(ntohs(((struct iphdr *)inner_hdr(&in_tot_long))->tot_len) + 1);
	in_tot_short = ipip;
	((struct iphdr *)inner_hdr(&in_tot_short))->tot_len = htons(19);
	if (!encap(&in6_plen_long, &t6, false, 0))
		return;
	((struct ipv6hdr *)inner_hdr(&in6_plen_long))->payload_len =
		htons(ntohs(((struct ipv6hdr *)inner_hdr(&in6_plen_long))->payload_len) + 1);

	const struct dc_fixture fx[] = {
		{"outer IPv4 cut short", &cut_outer, NULL, VEER_DECAP_BAD_OUTER},
		{"outer IHL 4", &ihl4, NULL, VEER_DECAP_BAD_OUTER},
		{"outer version 6 behind the IPv4 ethertype", &ver6, NULL, VEER_DECAP_BAD_OUTER},
		{"outer total length past the frame", &tot_long, NULL, VEER_DECAP_BAD_OUTER},
		{"outer total length below the header", &tot_short, NULL, VEER_DECAP_BAD_OUTER},
		{"outer total length 0, no GSO", &tot_zero, NULL, VEER_DECAP_BAD_OUTER},
		{"outer header checksum wrong", &bad_sum, NULL, VEER_DECAP_BAD_OUTER},
		{"outer first fragment (MF)", &mf, NULL, VEER_DECAP_FRAGMENT},
		{"outer later fragment (offset)", &offset, NULL, VEER_DECAP_FRAGMENT},
		{"outer IPv6 payload past the frame", &v6_long, NULL, VEER_DECAP_BAD_OUTER},
		{"outer IPv6 version 4", &v6_ver, NULL, VEER_DECAP_BAD_OUTER},
		{"outer IPv6 payload length 0, no GSO", &v6_zero, NULL, VEER_DECAP_BAD_OUTER},
		{"inner IPv4 cut short", &cut_inner, NULL, VEER_DECAP_BAD_INNER},
		{"inner IPv4 cut short behind IPv6", &cut_inner6, NULL, VEER_DECAP_BAD_INNER},
		{"protocol 4 carrying IPv6", &wrong_in4, NULL, VEER_DECAP_BAD_INNER},
		{"next header 41 carrying IPv4", &wrong_in6, NULL, VEER_DECAP_BAD_INNER},
		{"inner IHL 4", &in_ihl4, NULL, VEER_DECAP_BAD_INNER},
		{"inner total length past the outer datagram", &in_tot_long, NULL,
		 VEER_DECAP_BAD_INNER},
		{"inner total length below its header", &in_tot_short, NULL, VEER_DECAP_BAD_INNER},
		{"inner IPv6 payload past the outer datagram", &in6_plen_long, NULL,
		 VEER_DECAP_BAD_INNER},
	};
	fixtures_run(fx, ARRAY_LEN(fx), 0);
}

/*
 * GSO skbs at tc. A total length of 0 on a GSO skb is "the rest of the skb", as the kernel
 * reads it (BIG TCP): the packet is decapsulated, or here refused by bpf_skb_adjust_room,
 * which strips only TCP GSO and UDP GSO skbs, and the test skb has no GSO type. Refused, the
 * packet is passed untouched under strip_failed.
 */
VEER_TEST(decap_gso_tc)
{
	static struct pkt t4, ipip, tot_zero;

	env.hook = DC_TC;
	if (!dc_begin() || !inner(&t4, VIP4, IPPROTO_TCP) || !encap(&ipip, &t4, false, 0))
		return;
	tot_zero = ipip;
	outer4_edit(&tot_zero, set_tot_zero);

	const struct dc_fixture fx[] = {
		{"GSO skb the kernel will not strip", &ipip, NULL, VEER_DECAP_STRIP_FAILED},
		{"outer total length 0 on a GSO skb", &tot_zero, NULL, VEER_DECAP_STRIP_FAILED},
	};
	fixtures_run(fx, ARRAY_LEN(fx), 1400);
}

/*
 * VIPs that share a home slot fill its window in order; a packet finds each of them, also
 * once one before it in the window is deleted, and the deleted one no more.
 */
DECAP_TEST(decap_window)
{
	static struct pkt in[VEER_DECAP_PROBES], out[VEER_DECAP_PROBES];
	char addr[VEER_DECAP_PROBES][INET_ADDRSTRLEN], name[VEER_DECAP_PROBES][96];
	struct dc_fixture fx[VEER_DECAP_PROBES];
	__u32 home = 0, n = 0;

	if (!dc_begin())
		return;
	for (__u32 i = 0; i < 131072 && n < VEER_DECAP_PROBES; i++) {
		union veer_addr x = {.v4 = htonl(0xc6120000 + i)}; /* 198.18.0.0/15 */

		if (!n)
			home = veer_decap_slot(&x, VEER_AF_INET);
		if (veer_decap_slot(&x, VEER_AF_INET) != home)
			continue;
		inet_ntop(AF_INET, &x.v4, addr[n], sizeof(addr[n]));
		if (!ASSERT_TRUE(vip_put(addr[n], true), "add a VIP of the window") ||
		    !inner(&out[n], addr[n], IPPROTO_UDP) || !encap(&in[n], &out[n], false, 0))
			return;
		n++;
	}
	if (!ASSERT_EQ(n, VEER_DECAP_PROBES, "a full window") ||
	    !ASSERT_TRUE(vip_put(addr[0], false), "delete the first"))
		return;
	for (__u32 i = 0; i < n; i++) {
		snprintf(name[i], sizeof(name[i]), "VIP %u of the window, %s", i, addr[i]);
		fx[i] = (struct dc_fixture){name[i], &in[i], i ? &out[i] : NULL,
					    i ? VEER_DECAP_DONE : VEER_DECAP_NOT_VIP};
	}
	fixtures_run(fx, n, 0);
}
