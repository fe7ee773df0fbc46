// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_RUN fixtures of fragmented datagrams (bpf/lib/frag.h): a first fragment is balanced
 * like any packet of its 5-tuple and records its ports; a later fragment follows the flow
 * they name, its address rewritten, in both directions; a later fragment of no recorded
 * datagram, or whose flow is gone, passes untouched. Every fragment here is a real slice of
 * one datagram whose TCP/UDP checksum the packet builder computed over all of it, inputs with
 * the client's addresses and ports, expected outputs with the backend's. Harness: lb_harness.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include "lb_harness.h"

/* A VIP of lb_vips_basic and where it leads. */
struct fam {
	const char *name;
	const char *client, *vip;
	__u16 vport;
	__u8 proto;
	const struct be_def *be;
	__u32 vip_id;
	__u32 frag_max; /* L4 bytes a 1500-byte fragment carries: 1480 (IPv4), 1448 (IPv6) */
};

static const struct fam UDP4 = {"UDP/IPv4",  CLIENT4,  VIP4,	 53,
				IPPROTO_UDP, &BE_UDP4, VIP_UDP4, 1480};
static const struct fam TCP4 = {"TCP/IPv4",  CLIENT4,  VIP4,	 80,
				IPPROTO_TCP, &BE_TCP4, VIP_TCP4, 1480};
static const struct fam UDP6 = {"UDP/IPv6",  CLIENT6,  VIP6,	 53,
				IPPROTO_UDP, &BE_UDP6, VIP_UDP6, 1448};
static const struct fam TCP6 = {"TCP/IPv6",  CLIENT6,  VIP6,	 80,
				IPPROTO_TCP, &BE_TCP6, VIP_TCP6, 1448};

#define NFRAG 3

/* One datagram cut into fragments: as it arrives (in) and as it should leave (out). */
struct frag_set {
	struct pkt in[NFRAG], out[NFRAG];
};

static __u32 l4_hdr_len(__u8 proto)
{
	return proto == IPPROTO_TCP ? 20 : 8;
}

/*
 * Cuts the datagram of payload bytes that in describes (and out, its rewritten self) into
 * fragments of cut[0], cut[1], ... L4 bytes, the last taking the rest.
 */
static bool frags_build(struct frag_set *fs, struct pkt_spec in, struct pkt_spec out, __u32 payload,
			const __u32 *cut, int n, const char *what)
{
	__u32 total = l4_hdr_len(in.proto) + payload, off = 0;
	bool ok = true;

	for (int i = 0; i < n && ok; i++) {
		__u32 len = i == n - 1 ? total - off : cut[i];
		bool more = i < n - 1;

		ok = ASSERT_OK(pkt_build_frag(&fs->in[i], &in, payload, off, len, more), what) &&
		     ASSERT_OK(pkt_build_frag(&fs->out[i], &out, payload, off, len, more), what);
		off += len;
	}
	return ok;
}

/* The client's datagram to the VIP, and what the backend should receive. */
static bool frags_c2v(struct frag_set *fs, const struct fam *fm, __u16 sport, __u32 id,
		      __u32 payload, const __u32 *cut, int n)
{
	struct pkt_spec s = lb_spec_c2v(fm->client, sport, fm->vip, fm->vport, fm->proto);

	s.frag = 0; /* a datagram sent in fragments has DF clear */
	s.ip_id = id;
	return frags_build(fs, s, lb_spec_fwd(s, fm->be, true), payload, cut, n, fm->name);
}

/* The backend's datagram to the client, and what the client should receive from the VIP. */
static bool frags_b2c(struct frag_set *fs, const struct fam *fm, __u16 cport, __u32 id,
		      __u32 payload, const __u32 *cut, int n)
{
	struct pkt_spec s = lb_spec_b2c(fm->be, fm->client, cport, fm->proto);

	s.frag = 0;
	s.ip_id = id;
	return frags_build(fs, s, lb_spec_rev(s, fm->vip, fm->vport), payload, cut, n, fm->name);
}

static struct lb_fixture fx_fwd(const char *name, const struct frag_set *fs, int i, enum side from)
{
	struct lb_fixture fx = {name,	     &fs->in[i],
				from,	     XDP_REDIRECT,
				&fs->out[i], i ? VEER_FWD_FRAGMENT : VEER_REASON_NONE};

	return fx;
}

static struct lb_fixture fx_tail_pass(const char *name, const struct frag_set *fs, int i,
				      enum side from)
{
	struct lb_fixture fx = {name, &fs->in[i], from, XDP_PASS, NULL, VEER_PASS_FRAGMENT};

	return fx;
}

/* The veer_frags key of a datagram as it arrives: IPv4's 16-bit id zero-extended. */
static void frag_record_key(const char *saddr, const char *daddr, __u32 id, __u8 proto,
			    struct veer_frag_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = lb_addr_parse(saddr, &k->saddr);
	lb_addr_parse(daddr, &k->daddr);
	k->id = k->family == VEER_AF_INET ? (__u32)htons(id) : htonl(id);
	k->proto = proto;
}

/* The veer_frags record of a datagram; false if there is none. */
static bool frag_record_get(const char *saddr, const char *daddr, __u32 id, __u8 proto,
			    struct veer_frag *v)
{
	struct veer_frag_key k;

	frag_record_key(saddr, daddr, id, proto, &k);
	return !bpf_map__lookup_elem(lb_env.skel->maps.veer_frags, &k, sizeof(k), v, sizeof(*v), 0);
}

static __u64 lens(const struct pkt *p, int n)
{
	__u64 sum = 0;

	for (int i = 0; i < n; i++)
		sum += p[i].len;
	return sum;
}

/*
 * A datagram each way: the client's first fragment creates the flow and records its ports, its
 * later fragment follows to the backend; the backend's fragmented reply goes back to the client
 * from the VIP, its later fragment found through the reply's own record.
 */
static void frag_both_ways(const struct fam *fm, __u32 payload)
{
	static struct frag_set c2v, b2c;
	const __u32 cut[] = {fm->frag_max};
	struct lb_fixture fx[4];
	struct veer_frag v;
	struct veer_flow f;
	char w[4][96];

	if (!lb_begin() || !lb_vips_basic() ||
	    !frags_c2v(&c2v, fm, 41000, 0x1001, payload, cut, 2) ||
	    !frags_b2c(&b2c, fm, 41000, 0x2002, payload, cut, 2))
		return;
	snprintf(w[0], sizeof(w[0]), "%s first fragment", fm->name);
	snprintf(w[1], sizeof(w[1]), "%s later fragment", fm->name);
	snprintf(w[2], sizeof(w[2]), "%s reply, first fragment", fm->name);
	snprintf(w[3], sizeof(w[3]), "%s reply, later fragment", fm->name);
	fx[0] = fx_fwd(w[0], &c2v, 0, FROM_CLIENT);
	fx[1] = fx_fwd(w[1], &c2v, 1, FROM_CLIENT);
	fx[2] = fx_fwd(w[2], &b2c, 0, FROM_BACKEND);
	fx[3] = fx_fwd(w[3], &b2c, 1, FROM_BACKEND);
	if (!ASSERT_EQ(c2v.in[0].len, 14 + (strchr(fm->client, ':') ? 48 : 20) + fm->frag_max,
		       "fixture: a first fragment as large as a 1500-byte MTU allows") ||
	    !lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;

	if (ASSERT_TRUE(lb_flow_get(fm->client, 41000, fm->vip, fm->vport, fm->proto, &f),
			"forward entry"))
		lb_check_forward_entry(&f, fm->vip_id, fm->be, true, fm->name);
	ASSERT_EQ(lb_flow_count(), 1, "flow entries");
	if (ASSERT_TRUE(frag_record_get(fm->client, fm->vip, 0x1001, fm->proto, &v),
			"record of the client's datagram")) {
		ASSERT_EQ(ntohs(v.sport), 41000, "record: source port");
		ASSERT_EQ(ntohs(v.dport), fm->vport, "record: destination port");
		ASSERT_NEQ(v.created, 0, "record: time");
	}
	if (ASSERT_TRUE(frag_record_get(fm->be->addr, fm->client, 0x2002, fm->proto, &v),
			"record of the backend's datagram")) {
		ASSERT_EQ(ntohs(v.sport), fm->be->port, "record: source port");
		ASSERT_EQ(ntohs(v.dport), 41000, "record: destination port");
	}
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_frags), 2, "records");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, fm->vip_id, 2, lens(c2v.in, 2), 1, 2,
		       lens(b2c.in, 2), "VIP");
	lb_counters_eq(lb_env.skel->maps.veer_be_stats, fm->be->id, 2, lens(c2v.in, 2), 1, 2,
		       lens(b2c.in, 2), "backend");
}

LB_TEST(lb_frag_udp4)
{
	frag_both_ways(&UDP4, 2000);
}

LB_TEST(lb_frag_tcp4)
{
	frag_both_ways(&TCP4, 2000);
}

LB_TEST(lb_frag_udp6)
{
	frag_both_ways(&UDP6, 2000);
}

LB_TEST(lb_frag_tcp6)
{
	frag_both_ways(&TCP6, 2000);
}

/*
 * A later fragment that arrives before its first one is passed untouched, not held; once the
 * first has passed, the same datagram's fragments follow it.
 */
static void frag_tail_first(const struct fam *fm)
{
	static struct frag_set fs;
	const __u32 cut[] = {1000};
	struct lb_fixture fx[3];

	if (!lb_begin() || !lb_vips_basic() || !frags_c2v(&fs, fm, 41001, 0x3003, 1500, cut, 2))
		return;
	fx[0] = fx_tail_pass("later fragment before the first", &fs, 1, FROM_CLIENT);
	fx[1] = fx_fwd("first fragment", &fs, 0, FROM_CLIENT);
	fx[2] = fx_fwd("later fragment, again, after the first", &fs, 1, FROM_CLIENT);
	if (lb_fixtures_run(fx, ARRAY_LEN(fx)))
		lb_counters_eq(lb_env.skel->maps.veer_vip_stats, fm->vip_id, 2,
			       fs.in[0].len + fs.in[1].len, 1, 0, 0, "VIP");
}

LB_TEST(lb_frag_tail_before_first)
{
	frag_tail_first(&UDP4);
	frag_tail_first(&UDP6);
}

/* The fragments of a datagram for no VIP: none is veer's, none leaves a record. */
static void frag_not_vip(const char *client, const char *other)
{
	static struct frag_set fs;
	const __u32 cut[] = {1000};
	struct pkt_spec s = lb_spec_c2v(client, 41002, other, 53, IPPROTO_UDP);
	struct lb_fixture fx[] = {
		{"later fragment of no VIP", &fs.in[1], FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_FRAGMENT},
		{"first fragment of no VIP", &fs.in[0], FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_NOT_VIP},
		{"later fragment after it", &fs.in[1], FROM_CLIENT, XDP_PASS, NULL,
		 VEER_PASS_FRAGMENT},
	};

	s.frag = 0;
	s.ip_id = 0x4004;
	if (!lb_begin() || !lb_vips_basic() || !frags_build(&fs, s, s, 1500, cut, 2, other) ||
	    !lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	ASSERT_EQ(lb_flow_count(), 0, "no flow entries");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_frags), 0, "no records");
}

LB_TEST(lb_frag_not_vip)
{
	frag_not_vip(CLIENT4, OTHER4);
	frag_not_vip(CLIENT6, OTHER6);
}

/*
 * Every order of a 3-fragment datagram, each order a datagram of its own (its own IP id) on
 * one flow: fragments before the first pass untouched, the first and those after it follow
 * the flow.
 */
static void frag_orders(const struct fam *fm)
{
	static const int order[6][NFRAG] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
					    {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	static struct frag_set fs[6];
	const __u32 cut[] = {1000, 1000};
	__u64 packets = 0, bytes = 0;
	char what[6][NFRAG][64];

	if (!lb_begin() || !lb_vips_basic())
		return;
	for (int o = 0; o < 6; o++) {
		struct lb_fixture fx[NFRAG];
		bool first_seen = false;

		if (!frags_c2v(&fs[o], fm, 41003, 0x5000 + o, 2400, cut, NFRAG))
			return;
		for (int k = 0; k < NFRAG; k++) {
			int i = order[o][k];

			snprintf(what[o][k], sizeof(what[o][k]), "%s order %d%d%d: fragment %d",
				 fm->name, order[o][0], order[o][1], order[o][2], i);
			first_seen |= i == 0;
			if (first_seen) {
				fx[k] = fx_fwd(what[o][k], &fs[o], i, FROM_CLIENT);
				packets++;
				bytes += fs[o].in[i].len;
			} else {
				fx[k] = fx_tail_pass(what[o][k], &fs[o], i, FROM_CLIENT);
			}
		}
		lb_fixtures_run(fx, NFRAG);
	}
	ASSERT_EQ(packets, 3 + 3 + 2 + 1 + 2 + 1, "fixture: forwarded fragments");
	ASSERT_EQ(lb_flow_count(), 1, "one flow");
	ASSERT_EQ(lb_map_count(lb_env.skel->maps.veer_frags), 6, "a record per datagram");
	lb_counters_eq(lb_env.skel->maps.veer_vip_stats, fm->vip_id, packets, bytes, 1, 0, 0,
		       "VIP");
}

LB_TEST(lb_frag_orders)
{
	frag_orders(&UDP4);
	frag_orders(&UDP6);
}

/*
 * Reassembles a datagram's fragments (any order) into l4: its L4 bytes. Returns their length,
 * or 0 (and a failed assertion) if they do not make one datagram without holes.
 */
static size_t reassemble(const struct pkt *frags, int n, __u8 *l4, size_t cap,
			 struct pkt_frag_view *first)
{
	size_t end = 0, covered = 0;
	bool last = false;

	for (int i = 0; i < n; i++) {
		struct pkt_frag_view v;

		if (!ASSERT_TRUE(pkt_frag_view(&frags[i], &v), "reassembly: a fragment") ||
		    !ASSERT_LE(v.off + v.len, cap, "reassembly: fits"))
			return 0;
		if (i && !ASSERT_EQ(v.id, first->id, "reassembly: one datagram"))
			return 0;
		if (!i)
			*first = v;
		memcpy(l4 + v.off, v.data, v.len);
		covered += v.len;
		if (!v.more) {
			last = true;
			end = v.off + v.len;
		}
	}
	if (!ASSERT_TRUE(last, "reassembly: last fragment") ||
	    !ASSERT_EQ(covered, end, "reassembly: no holes"))
		return 0;
	return end;
}

/* The TCP/UDP checksum over a whole datagram and its pseudo header, from scratch. */
static __u16 dgram_csum(const struct pkt_frag_view *v, const __u8 *l4, size_t len)
{
	__u8 ph[40] = {};
	size_t alen = v->v6 ? 16 : 4, n = 2 * alen;

	memcpy(ph, v->saddr, alen);
	memcpy(ph + alen, v->daddr, alen);
	if (v->v6) {
		ph[n] = len >> 24;
		ph[n + 1] = len >> 16;
		ph[n + 2] = len >> 8;
		ph[n + 3] = len;
		ph[n + 7] = v->proto;
		n += 8;
	} else {
		ph[n + 1] = v->proto;
		ph[n + 2] = len >> 8;
		ph[n + 3] = len;
		n += 4;
	}
	return csum_finish_rfc1071(csum_partial_rfc1071(l4, len, csum_partial_rfc1071(ph, n, 0)));
}

/*
 * Checks a reassembled output datagram against the input one: a right UDP checksum over the
 * whole of it with the backend's address in the pseudo header, the backend's port, the rest
 * unchanged.
 */
static void big_out_ok(const struct fam *fm, const struct pkt *frags, const __u8 *in, size_t lin,
		       const char *what)
{
	static __u8 out[4096];
	struct pkt_frag_view v;
	union veer_addr a = {}, be;
	char w[8][128];
	size_t lout;

	for (int i = 0; i < 8; i++)
		snprintf(w[i], sizeof(w[i]), "%s %s", fm->name, what);
	memset(out, 0, sizeof(out));
	lout = reassemble(frags, NFRAG, out, sizeof(out), &v);
	if (!ASSERT_EQ(lout, 3000, strcat(w[0], ": 3,000 bytes")))
		return;
	ASSERT_NEQ(out[6] << 8 | out[7], 0, strcat(w[1], ": carries a checksum"));
	ASSERT_EQ(dgram_csum(&v, out, lout), 0, strcat(w[2], ": UDP checksum after NAT"));
	ASSERT_EQ(out[2] << 8 | out[3], fm->be->port, strcat(w[3], ": backend port"));
	ASSERT_EQ(out[4] << 8 | out[5], 3000, strcat(w[4], ": UDP length"));
	ASSERT_MEMEQ(out, 2, in, 2, strcat(w[5], ": source port kept"));
	ASSERT_MEMEQ(out + 8, lout - 8, in + 8, lin - 8, strcat(w[6], ": payload unchanged"));
	memcpy(&a, v.daddr, v.v6 ? 16 : 4);
	lb_addr_parse(fm->be->addr, &be);
	ASSERT_MEMEQ(&a, sizeof(a), &be, sizeof(be), strcat(w[7], ": to the backend"));
}

/*
 * A 3,000-byte UDP datagram in three fragments: the first fragment's checksum, updated
 * incrementally for the new address and port, is right for the whole reassembled datagram.
 * Reassembled from scratch: the expected outputs (which the fixtures compare byte for byte),
 * and what the data plane makes of the same fragments on a second pass, in another order.
 */
static void frag_big_csum(const struct fam *fm)
{
	static const char *const names[NFRAG] = {"fragment 0", "fragment 1", "fragment 2"};
	static struct frag_set fs;
	static struct pkt got[NFRAG];
	static __u8 in[4096];
	const __u32 cut[] = {fm->frag_max, fm->frag_max};
	const int order[NFRAG] = {0, 2, 1};
	struct pkt_frag_view vin;
	struct lb_fixture fx[NFRAG];
	__u32 retval;
	size_t lin;

	if (!lb_begin() || !lb_vips_basic() ||
	    !frags_c2v(&fs, fm, 41004, 0x6006, 3000 - 8, cut, NFRAG))
		return;
	for (int i = 0; i < NFRAG; i++)
		fx[i] = fx_fwd(names[i], &fs, i, FROM_CLIENT);
	if (!lb_fixtures_run(fx, NFRAG))
		return;
	memset(in, 0, sizeof(in));
	lin = reassemble(fs.in, NFRAG, in, sizeof(in), &vin);
	if (!ASSERT_EQ(lin, 3000, "input datagram: 3,000 bytes") ||
	    !ASSERT_EQ(dgram_csum(&vin, in, lin), 0, "input datagram: UDP checksum"))
		return;
	big_out_ok(fm, fs.out, in, lin, "expected output");
	for (int k = 0; k < NFRAG; k++) {
		int i = order[k];

		if (!ASSERT_OK(lb_prog_run(&fs.in[i], FROM_CLIENT, &got[i], &retval), names[i]) ||
		    !ASSERT_EQ(retval, XDP_REDIRECT, names[i]))
			return;
	}
	big_out_ok(fm, got, in, lin, "second pass");
}

LB_TEST(lb_frag_reassembled_csum)
{
	frag_big_csum(&UDP4);
	frag_big_csum(&UDP6);
}

/*
 * The flow of a recorded datagram is gone (evicted by the connection table's LRU, or forgotten):
 * its later fragments pass untouched. And a record older than a receiver would wait for the
 * datagram's fragments (VEER_FRAG_TIMEOUT_NS) is not trusted.
 */
static void frag_gone(const struct fam *fm)
{
	static struct frag_set fs, old;
	const __u32 cut[] = {1000};
	struct lb_fixture fx[] = {
		fx_fwd("first fragment", &fs, 0, FROM_CLIENT),
		fx_tail_pass("later fragment, flow evicted", &fs, 1, FROM_CLIENT),
		fx_fwd("first fragment of another datagram", &old, 0, FROM_CLIENT),
		fx_tail_pass("later fragment, record too old", &old, 1, FROM_CLIENT),
	};
	struct veer_flow_key k = {};
	struct veer_frag_key fk;
	struct veer_frag v;
	struct timespec now;
	int err;

	if (!lb_begin() || !lb_vips_basic() || !frags_c2v(&fs, fm, 41005, 0x7007, 1500, cut, 2) ||
	    !frags_c2v(&old, fm, 41006, 0x7008, 1500, cut, 2) || !lb_fixture_run(&fx[0]))
		return;
	/* Both entries of the flow, as the LRU would evict them. */
	k.family = lb_addr_parse(fm->client, &k.saddr);
	lb_addr_parse(fm->vip, &k.daddr);
	k.sport = htons(41005);
	k.dport = htons(fm->vport);
	k.proto = fm->proto;
	if (k.family == VEER_AF_INET) {
		struct veer_flow4_key k4 = {k.saddr.v4, k.daddr.v4, k.sport, k.dport, k.proto, {0}};

		err = bpf_map__delete_elem(lb_env.skel->maps.veer_flows4, &k4, sizeof(k4), 0);
	} else {
		err = bpf_map__delete_elem(lb_env.skel->maps.veer_flows6, &k, sizeof(k), 0);
	}
	if (!ASSERT_OK(err, "evict the forward entry") ||
	    !ASSERT_TRUE(frag_record_get(fm->client, fm->vip, 0x7007, fm->proto, &v),
			 "the datagram's record stays") ||
	    !lb_fixture_run(&fx[1]) || !lb_fixture_run(&fx[2]))
		return;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!ASSERT_TRUE(now.tv_sec > 61, "fixture: the clock is past the record timeout") ||
	    !ASSERT_TRUE(frag_record_get(fm->client, fm->vip, 0x7008, fm->proto, &v), "record"))
		return;
	frag_record_key(fm->client, fm->vip, 0x7008, fm->proto, &fk);
	v.created = 1;
	if (ASSERT_OK(bpf_map__update_elem(lb_env.skel->maps.veer_frags, &fk, sizeof(fk), &v,
					   sizeof(v), BPF_EXIST),
		      "age the record"))
		lb_fixture_run(&fx[3]);
}

LB_TEST(lb_frag_flow_gone)
{
	frag_gone(&UDP4);
	frag_gone(&TCP6);
}

/*
 * A later fragment is forwarded the way nat_forward forwards any packet: behind an 802.1Q tag
 * it is rewritten and left to the stack (counted fragment_fwd all the same), and one whose TTL
 * would expire is passed unchanged for the stack's time-exceeded.
 */
LB_TEST(lb_frag_stack_ttl)
{
	static struct frag_set vlan, ttl;
	const __u32 cut[] = {1000};
	struct pkt_spec s = lb_spec_c2v(CLIENT4, 41007, VIP4, 53, IPPROTO_UDP);
	struct lb_fixture fx[] = {
		{"802.1Q first fragment", &vlan.in[0], FROM_CLIENT, XDP_PASS, &vlan.out[0],
		 VEER_PASS_STACK},
		{"802.1Q later fragment", &vlan.in[1], FROM_CLIENT, XDP_PASS, &vlan.out[1],
		 VEER_FWD_FRAGMENT},
		{"first fragment, TTL 2", &ttl.in[0], FROM_CLIENT, XDP_REDIRECT, &ttl.out[0],
		 VEER_REASON_NONE},
		{"later fragment, TTL 1", &ttl.in[1], FROM_CLIENT, XDP_PASS, NULL, VEER_PASS_TTL},
	};
	struct pkt_spec t;

	s.frag = 0;
	s.vlan = 100;
	s.ip_id = 0x8008;
	if (!lb_begin() || !lb_vips_basic() ||
	    !frags_build(&vlan, s, lb_spec_fwd(s, &BE_UDP4, false), 1500, cut, 2, "vlan"))
		return;
	s = lb_spec_c2v(CLIENT4, 41008, VIP4, 53, IPPROTO_UDP);
	s.frag = 0;
	s.ip_id = 0x8009;
	s.ttl = 2;
	if (!frags_build(&ttl, s, lb_spec_fwd(s, &BE_UDP4, true), 1500, cut, 2, "ttl"))
		return;
	/* The later fragment alone comes with TTL 1 (another path): rebuilt with it. */
	t = s;
	t.ttl = 1;
	if (!ASSERT_OK(pkt_build_frag(&ttl.in[1], &t, 1500, 1000, 8 + 1500 - 1000, false), "ttl"))
		return;
	if (!lb_fixtures_run(fx, ARRAY_LEN(fx)))
		return;
	/* Passed for the stack's time-exceeded, the last one is no packet of the VIP's. */
	ASSERT_EQ(lb_counters(lb_env.skel->maps.veer_vip_stats, VIP_UDP4).packets, 3,
		  "VIP packets: both 802.1Q fragments and the TTL 2 first fragment");
}
