// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz test of the data plane: seeds of every shape (lb_fuzz_gen.c), mutated, run through
 * BPF_PROG_RUN on XDP and on tc, each result checked against the model of the documented rules
 * (lb_fuzz_model.c): the verdict, the one reason counter that moved, the output bytes (a pass
 * untouched; a forwarded frame rewritten to the flow's addresses and ports with every checksum
 * right), and the connection-table entries the packet created.
 *
 * A case is one mutated packet, run on each hook in turn, after its seed's `pre` packet (the
 * first fragment of a datagram whose tail is fuzzed) when it has one. The flows the cases use
 * are established once (lb_begin is too slow to run per case); between hooks and cases the
 * state the packets left is removed again: the flows they created (by key as the model knows
 * them, then any entry not of the established flows), and every other hash map that was empty
 * at the start (affinity, fragment records, and what rules to come add: the ICMP rate limit).
 * The backends' next hops are put back as establishing resolved them, and made due for refresh
 * before the cases the seed picks (see hops_put), never by the clock.
 *
 *   ./build/veer-unit lb_fuzz                           the short run, fixed seed
 *   VEER_FUZZ_PACKETS=10000000 VEER_FUZZ_SEED=random     a long run (make fuzz)
 *   VEER_FUZZ_SEED=0x.. VEER_FUZZ_START=N VEER_FUZZ_PACKETS=1   replays case N
 *   VEER_FUZZ_GROUPS=+ext,-ttl                           switch rule groups (lb_fuzz_model.c)
 *   VEER_FUZZ_SHOW=ext                                  print mismatches of a disabled group
 *   VEER_FUZZ_MAX_FAIL=5                                 stop after this many mismatches
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include "lb_fuzz.h"

#define FZ_DEFAULT_PACKETS 200000
#define FZ_DEFAULT_SEED	   0x7665657266757a7aULL /* "veerfuzz" */

static const char *const reason_names[VEER_REASON_MAX] = VEER_REASON_NAMES;

static const char *rname(int r)
{
	static char buf[16];

	if (r >= 0 && r < VEER_REASON_MAX)
		return reason_names[r];
	snprintf(buf, sizeof(buf), "reason#%d", r);
	return buf;
}

static const char *cls_name(enum fz_cls c)
{
	static const char *const n[] = {"drop", "pass", "redirect", "tx"};

	return n[c];
}

static const char *verdict_name(__u32 v)
{
	static const char *const names[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					    "XDP_REDIRECT"};
	static char buf[24];

	if (v < 5)
		return names[v];
	snprintf(buf, sizeof(buf), "0x%x", v);
	return buf;
}

/* ---- parameters and statistics ---- */

static struct {
	__u64 seed, start, packets;
	int max_fail;
	__u32 show; /* groups whose gated mismatches are printed */
} prm;

static struct {
	__u64 runs[2], checked[2], refused[2], gated[2], unspec[2];
	__u64 pending[FZ_G_MAX];       /* gated expectations that did not hold, by group */
	__u64 outcome[4];	       /* checked runs by class */
	__u64 reason[VEER_REASON_MAX]; /* checked runs by reason */
	__u64 pruned;		       /* flow entries the model did not know of, deleted */
	__u64 resets;		       /* flow tables cleared and the flows established again */
	int fails;
	int shown;
} stats;

static __u64 env_u64(const char *name, __u64 def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

static __u64 random_seed(void)
{
	__u64 s = 0;
	int fd = open("/dev/urandom", O_RDONLY);

	if (fd < 0 || read(fd, &s, sizeof(s)) != sizeof(s))
		s = (__u64)time(NULL) * 0x9e3779b97f4a7c15ULL ^ (__u64)getpid();
	if (fd >= 0)
		close(fd);
	return s;
}

static bool params(void)
{
	const char *seed = getenv("VEER_FUZZ_SEED"), *show = getenv("VEER_FUZZ_SHOW");

	prm.seed = !seed || !*seed	     ? FZ_DEFAULT_SEED
		   : !strcmp(seed, "random") ? random_seed()
					     : strtoull(seed, NULL, 0);
	prm.start = env_u64("VEER_FUZZ_START", 0);
	prm.packets = env_u64("VEER_FUZZ_PACKETS", FZ_DEFAULT_PACKETS);
	prm.max_fail = (int)env_u64("VEER_FUZZ_MAX_FAIL", 5);
	prm.show = 0;
	for (int g = 0; show && g < FZ_G_MAX; g++)
		if (strstr(show, fz_groups[g].name) || !strcmp(show, "all"))
			prm.show |= 1u << g;
	return fz_groups_from_env();
}

/* ---- reading the maps quickly: one batch lookup per map ---- */

static __u64 reasons_last[VEER_REASON_SLOTS];

static bool reasons_read(__u64 sum[VEER_REASON_SLOTS])
{
	static __u32 keys[VEER_REASON_SLOTS];
	static __u64 *vals;
	int fd = bpf_map__fd(lb_env.skel->maps.veer_reasons), err;
	__u32 count = VEER_REASON_SLOTS, batch;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	if (!vals)
		vals = calloc(VEER_REASON_SLOTS * lb_env.ncpus, sizeof(*vals));
	err = bpf_map_lookup_batch(fd, NULL, &batch, keys, vals, &count, &opts);
	if (err && errno != ENOENT)
		return veer_test_fail(__FILE__, __LINE__, "read veer_reasons: %s", strerror(errno));
	memset(sum, 0, VEER_REASON_SLOTS * sizeof(*sum));
	for (__u32 i = 0; i < count; i++)
		for (int c = 0; c < lb_env.ncpus; c++)
			if (keys[i] < VEER_REASON_SLOTS)
				sum[keys[i]] += vals[i * lb_env.ncpus + c];
	return true;
}

static int map_count(struct bpf_map *map)
{
	static __u8 *keys, *vals;
	static size_t cap;
	size_t ksz = bpf_map__key_size(map), vsz = bpf_map__value_size(map);
	__u32 max = bpf_map__max_entries(map), count = max, batch;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int err;

	if (cap < max * (ksz + vsz) * 2) {
		cap = max * (ksz + vsz) * 2;
		free(keys);
		free(vals);
		keys = malloc(cap);
		vals = malloc(cap);
	}
	err = bpf_map_lookup_batch(bpf_map__fd(map), NULL, &batch, keys, vals, &count, &opts);
	if (err && errno != ENOENT)
		return lb_map_count(map); /* the slow way */
	return count;
}

/* The data plane's entries for the model's flows: one per connection, the model has two. */
static int conns(const struct fz_state *st)
{
	return st->nflows / 2;
}

static int flows_count(void)
{
	return map_count(lb_env.skel->maps.veer_flows4) + map_count(lb_env.skel->maps.veer_flows6) +
	       map_count(lb_env.skel->maps.veer_syns4) + map_count(lb_env.skel->maps.veer_syns6);
}

static bool map_clear(struct bpf_map *map)
{
	__u8 key[256];
	size_t ksz = bpf_map__key_size(map);

	while (!bpf_map__get_next_key(map, NULL, key, ksz))
		if (bpf_map__delete_elem(map, key, ksz, 0))
			return false;
	return true;
}

/* ---- state ---- */

static struct {
	struct fz_state base;	   /* the model's state after establishing */
	int flows_cur;		   /* entries in the tables now */
	struct bpf_map *other[16]; /* state maps empty at the start */
	int nother;
	time_t established;
} G;

struct fz_run {
	int err;
	__u32 verdict;
	int moved[4];
	int nmoved;
	int flows_delta;
	bool refused;
	struct pkt out; /* last: not cleared before a run */
};

static void run_packet(const struct pkt *in, enum side from, struct fz_run *r)
{
	__u64 now[VEER_REASON_SLOTS];
	int n;

	memset(r, 0, offsetof(struct fz_run, out));
	r->err = lb_prog_run(in, from, &r->out, &r->verdict);
	if (r->err) {
		__u16 et = in->len >= 14 ? fz_get16(in->data + 12) : 0;

		/*
		 * The kernel builds no test frame shorter than Ethernet, and at tc no skb typed
		 * IPv4/IPv6 whose IP header is cut short (measured: 20 and 40 bytes, whatever the
		 * header says; a tagged frame is never refused): its refusal, the program never
		 * ran.
		 */
		r->refused = r->err == -EINVAL &&
			     (in->len < 14 ||
			      (lb_env.hook == LB_TC && ((et == 0x0800 && in->len < 14 + 20) ||
							(et == 0x86dd && in->len < 14 + 40))));
		return;
	}
	reasons_read(now);
	for (int i = 0; i < VEER_REASON_SLOTS; i++) {
		if (now[i] != reasons_last[i] && r->nmoved < 4)
			r->moved[r->nmoved++] = i;
		if (now[i] - reasons_last[i] > 1)
			r->moved[r->nmoved < 4 ? r->nmoved++ : 3] = i; /* counted twice: wrong */
	}
	memcpy(reasons_last, now, sizeof(now));
	n = flows_count();
	r->flows_delta = n - G.flows_cur;
	G.flows_cur = n;
}

/* ---- the next hops toward the backends ---- */

/*
 * Each backend's next hop is cached per CPU and resolved again by the first packet that finds it
 * older than VEER_FLOW_REFRESH_NS (5 s). Left to the clock, which case does so depends on the
 * run's speed: a case that resolved it wrongly made the cases after it fail, in a run no replay
 * repeated. So the age is an input of the case: the hops are put back fresh, as establishing
 * resolved them, on every CPU before they could age; a case's rng makes them old before it
 * (one case in FZ_HOPS_OLD); and after every run each CPU's hop must still be that one.
 */
#define FZ_HOPS_OLD   4
#define FZ_HOPS_FRESH 2000000000ULL /* put back this often: well within the refresh interval */

static struct {
	__u32 id;
	__u32 gen;
	struct veer_hop hop; /* as establishing resolved it */
} hops[8];
static int nhops;
static __u64 hops_put_at;

static __u64 now_coarse(void)
{
	struct timespec ts;

	/* bpf_ktime_get_coarse_ns() reads this clock. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool hop_eq(const struct veer_hop *a, const struct veer_hop *b)
{
	return a->ifindex == b->ifindex && a->mtu == b->mtu && !memcmp(a->dmac, b->dmac, 6) &&
	       !memcmp(a->smac, b->smac, 6);
}

/* Every backend's hop on every CPU, as established, resolved at `resolved` (0: never). */
static bool hops_put(__u64 resolved)
{
	struct veer_be_hop *v = calloc(lb_env.ncpus, sizeof(*v));
	int err = v ? 0 : -ENOMEM;

	for (int i = 0; !err && i < nhops; i++) {
		for (int c = 0; c < lb_env.ncpus; c++) {
			memset(&v[c], 0, sizeof(v[c]));
			v[c].hop = hops[i].hop;
			v[c].gen = hops[i].gen;
			v[c].resolved = resolved;
		}
		err = bpf_map__update_elem(lb_env.skel->maps.veer_be_hops, &hops[i].id,
					   sizeof(hops[i].id), v, lb_env.ncpus * sizeof(*v),
					   BPF_ANY);
	}
	free(v);
	if (err)
		return veer_test_fail(__FILE__, __LINE__, "write the backends' next hops: %d", err);
	hops_put_at = now_coarse();
	return true;
}

/* After establishing: each backend's hop as its flows' packets resolved it, on every CPU. */
static bool hops_snapshot(void)
{
	nhops = 0;
	for (int i = 0; i < fz_nvips && nhops < (int)ARRAY_LEN(hops); i++) {
		__u32 id = fz_vips[i].be->id;
		struct veer_backend b = {};
		struct veer_hop h;

		if (!lb_backend_hop(id, &h))
			continue; /* no flow of its: nothing to compare with */
		if (!ASSERT_OK(bpf_map__lookup_elem(lb_env.skel->maps.veer_backends, &id,
						    sizeof(id), &b, sizeof(b), 0),
			       "backend slot"))
			return false;
		hops[nhops].id = id;
		hops[nhops].gen = b.gen;
		hops[nhops].hop = h;
		nhops++;
	}
	return ASSERT_TRUE(nhops > 0, "next hops resolved by establishing") &&
	       hops_put(now_coarse());
}

/* Whether every CPU's hop is still the established one (a hop not resolved yet aside). */
static bool hops_ok(char *why, size_t why_len)
{
	struct veer_be_hop *v = calloc(lb_env.ncpus, sizeof(*v));
	bool ok = v != NULL;

	for (int i = 0; ok && i < nhops; i++) {
		if (bpf_map__lookup_elem(lb_env.skel->maps.veer_be_hops, &hops[i].id,
					 sizeof(hops[i].id), v, lb_env.ncpus * sizeof(*v), 0)) {
			ok = false;
			snprintf(why, why_len, "cannot read backend %u's next hop", hops[i].id);
			break;
		}
		for (int c = 0; ok && c < lb_env.ncpus; c++) {
			const struct veer_hop *h = &v[c].hop, *want = &hops[i].hop;

			if (!v[c].resolved || hop_eq(h, want))
				continue;
			ok = false;
			snprintf(why, why_len,
				 "backend %u's next hop on CPU %d left as ifindex %u mtu %u "
				 "(established: ifindex %u mtu %u)",
				 hops[i].id, c, h->ifindex, h->mtu, want->ifindex, want->mtu);
		}
	}
	free(v);
	return ok;
}

/* ---- checks ---- */

static __u32 want_verdict(enum fz_cls c)
{
	switch (c) {
	case FZ_DROP:
		return XDP_DROP;
	case FZ_PASS:
		return XDP_PASS;
	case FZ_REDIRECT:
		return XDP_REDIRECT;
	default:
		return lb_env.hook == LB_XDP ? XDP_TX : XDP_REDIRECT;
	}
}

#define FAILF(...) (snprintf(why, why_len, __VA_ARGS__), false)

static __u32 seg_sum(const __u8 *b, __u32 off, __u32 len, int at, __u32 pseudo)
{
	__u32 sum = pseudo;

	if (at < 0)
		return csum_partial_rfc1071(b + off, len, sum);
	/* The field sits at an even offset of the segment: the halves keep their pairing. */
	sum = csum_partial_rfc1071(b + off, at, sum);
	return csum_partial_rfc1071(b + off + at + 2, len - at - 2, sum);
}

struct seg {
	__u32 off, len; /* the segment the checksum covers (what of it is in the frame) */
	int at;		/* the field, relative to off */
	__u32 pseudo_in, pseudo_out;
	bool whole; /* the whole segment is present: the field can be recomputed */
	bool udp, v4udp;
};

/*
 * A checksum field after a rewrite. When the input's was right over a whole segment, the
 * output's must be what a computation from scratch gives; otherwise (a quote, a first fragment,
 * a checksum that was already wrong) the rewrite must have kept the sum's residue, as an
 * incremental update does.
 */
static bool csum_field_ok(const struct pkt *in, const struct pkt *out, const struct seg *s,
			  const char *what, char *why, size_t why_len)
{
	__u16 fi = fz_get16(in->data + s->off + s->at), fo = fz_get16(out->data + s->off + s->at);
	__u16 res_in = fz_fold(seg_sum(in->data, s->off, s->len, -1, s->pseudo_in));
	__u16 res_out = fz_fold(seg_sum(out->data, s->off, s->len, -1, s->pseudo_out));

	if (s->v4udp && !fi)
		return fo ? FAILF("%s: UDP checksum 0 (none) became 0x%04x", what, fo) : true;
	/* UDP/IPv6 without a checksum is not valid (RFC 8200): left 0, or updated, either. */
	if (s->udp && !fi && !fo)
		return true;
	if (s->udp && !fo)
		return FAILF("%s: UDP checksum 0 on output", what);
	if (s->whole && !res_in) {
		__u16 want = csum_finish_rfc1071(
			seg_sum(out->data, s->off, s->len, s->at, s->pseudo_out));

		if (s->udp && !want)
			want = 0xffff;
		return fo == want
			       ? true
			       : FAILF("%s checksum 0x%04x, from scratch 0x%04x", what, fo, want);
	}
	return res_in == res_out ? true
				 : FAILF("%s checksum 0x%04x does not carry the input's residue "
					 "(0x%04x -> 0x%04x)",
					 what, fo, res_in, res_out);
}

static void put_rw_addrs(__u8 *ip, __u8 family, const struct fz_rw *rw)
{
	__u32 alen = family == 4 ? 4 : 16;
	__u8 *s = ip + (family == 4 ? 12 : 8);

	if (rw->saddr)
		memcpy(s, rw->new_saddr.bytes, alen);
	if (rw->daddr)
		memcpy(s + alen, rw->new_daddr.bytes, alen);
}

static void put_rw_ports(__u8 *l4, const struct fz_rw *rw)
{
	if (rw->sport)
		fz_put16(l4, rw->new_sport);
	if (rw->dport)
		fz_put16(l4 + 2, rw->new_dport);
}

static void put_hop(struct pkt *w, const struct fz_view *v, const struct fz_outcome *o)
{
	if (!o->hop)
		return;
	memcpy(w->data, o->dmac, 6);
	memcpy(w->data + 6, o->smac, 6);
	w->data[v->l3 + (v->family == 4 ? 8 : 7)]--;
}

/* want and got equal but in the listed fields (offset, 2 bytes each). */
static bool bytes_eq(const struct pkt *want, const struct pkt *got, const __u32 *skip, int nskip,
		     char *why, size_t why_len)
{
	if (want->len != got->len)
		return FAILF("output %u bytes, want %u", got->len, want->len);
	for (__u32 i = 0; i < got->len; i++) {
		bool skipped = false;

		for (int k = 0; k < nskip; k++)
			if (i == skip[k] || i == skip[k] + 1)
				skipped = true;
		if (!skipped && want->data[i] != got->data[i])
			return FAILF("output byte %u is 0x%02x, want 0x%02x", i, got->data[i],
				     want->data[i]);
	}
	return true;
}

static __u32 pseudo_of(const struct pkt *p, const struct fz_view *v, __u8 proto, __u32 len)
{
	union veer_addr s = {}, d = {};
	__u32 alen = v->family == 4 ? 4 : 16, o = v->l3 + (v->family == 4 ? 12 : 8);

	memcpy(s.bytes, p->data + o, alen);
	memcpy(d.bytes, p->data + o + alen, alen);
	return fz_pseudo_sum(v->family, &s, &d, proto, len);
}

static bool check_nat(const struct pkt *in, const struct fz_outcome *o, const struct pkt *out,
		      char *why, size_t why_len)
{
	struct fz_view v;
	struct pkt want = *in;
	struct seg s = {};
	__u32 skip[1];
	bool l4 = false;

	if (!fz_parse(in->data, in->len, &v))
		return FAILF("model: no IP header to rewrite");
	put_rw_addrs(want.data + v.l3, v.family, &o->rw);
	put_hop(&want, &v, o);
	if (!v.tail && (v.proto == IPPROTO_TCP || v.proto == IPPROTO_UDP)) {
		l4 = true;
		put_rw_ports(want.data + v.l4, &o->rw);
		s.off = v.l4;
		s.len = v.end - v.l4;
		s.at = v.proto == IPPROTO_TCP ? 16 : 6;
		s.udp = v.proto == IPPROTO_UDP;
		s.v4udp = s.udp && v.family == 4;
		s.whole = !v.frag;
		skip[0] = v.l4 + s.at;
	}
	if (v.family == 4)
		fz_ip4_fix(want.data + v.l3, v.ihl);
	if (!bytes_eq(&want, out, skip, l4, why, why_len))
		return false;
	if (!l4)
		return true;
	s.pseudo_in = pseudo_of(in, &v, v.proto, s.len);
	s.pseudo_out = pseudo_of(out, &v, v.proto, s.len);
	return csum_field_ok(in, out, &s, v.proto == IPPROTO_TCP ? "TCP" : "UDP", why, why_len);
}

/* The ICMP (or ICMPv6, over its pseudo-header) checksum of the message at v.l4, from scratch. */
static bool icmp_csum_ok(const struct pkt *in, const struct pkt *out, const struct fz_view *v,
			 char *why, size_t why_len)
{
	struct seg s = {.off = v->l4, .len = v->end - v->l4, .at = 2, .whole = true};

	if (v->family == 6) {
		s.pseudo_in = pseudo_of(in, v, IPPROTO_ICMPV6, s.len);
		s.pseudo_out = pseudo_of(out, v, IPPROTO_ICMPV6, s.len);
	}
	return csum_field_ok(in, out, &s, "ICMP", why, why_len);
}
static bool check_echo(const struct pkt *in, const struct pkt *out, char *why, size_t why_len)
{
	struct fz_view v;
	struct pkt want = *in;
	__u32 alen, a, skip;
	__u8 tmp[16];

	if (!fz_parse(in->data, in->len, &v))
		return FAILF("model: no IP header");
	memcpy(want.data, in->data + 6, 6);
	memcpy(want.data + 6, in->data, 6);
	alen = v.family == 4 ? 4 : 16;
	a = v.l3 + (v.family == 4 ? 12 : 8);
	memcpy(tmp, want.data + a, alen);
	memcpy(want.data + a, want.data + a + alen, alen);
	memcpy(want.data + a + alen, tmp, alen);
	want.data[v.l3 + (v.family == 4 ? 8 : 7)] = 64;
	want.data[v.l4] = v.family == 4 ? 0 : 129;
	if (v.family == 4)
		fz_ip4_fix(want.data + v.l3, v.ihl);
	skip = v.l4 + 2;
	if (!bytes_eq(&want, out, &skip, 1, why, why_len))
		return false;
	return icmp_csum_ok(in, out, &v, why, why_len);
}

static bool check_icmp_err(const struct pkt *in, const struct fz_outcome *o, const struct pkt *out,
			   char *why, size_t why_len)
{
	struct fz_view v, iv = {};
	struct pkt want = *in;
	__u32 q, ihl, il4, skip[2];
	struct seg is = {};
	int nskip = 1;
	__u8 proto;
	bool inside;

	if (!fz_parse(in->data, in->len, &v))
		return FAILF("model: no IP header");
	q = v.l4 + 8;
	ihl = v.family == 4 ? (in->data[q] & 15) * 4u : 40;
	proto = in->data[q + (v.family == 4 ? 9 : 6)];
	il4 = q + ihl;
	put_rw_addrs(want.data + v.l3, v.family, &o->rw);
	put_hop(&want, &v, o);
	put_rw_addrs(want.data + q, v.family, &o->irw);
	put_rw_ports(want.data + il4, &o->irw);
	if (v.family == 4) {
		fz_ip4_fix(want.data + v.l3, v.ihl);
		fz_ip4_fix(want.data + q, ihl);
	}
	skip[0] = v.l4 + 2;
	is.at = proto == IPPROTO_TCP ? 16 : 6;
	inside = il4 + is.at + 2 <= v.end;
	if (inside)
		skip[nskip++] = il4 + is.at;
	if (!bytes_eq(&want, out, skip, nskip, why, why_len))
		return false;
	if (!icmp_csum_ok(in, out, &v, why, why_len))
		return false;
	if (!inside)
		return true;
	/* The quoted segment is partial: its pseudo header's length cancels out. */
	iv.family = v.family;
	iv.l3 = q;
	is.off = il4;
	is.len = v.end - il4;
	is.udp = proto == IPPROTO_UDP;
	is.v4udp = is.udp && v.family == 4;
	is.pseudo_in = pseudo_of(in, &iv, proto, 0);
	is.pseudo_out = pseudo_of(out, &iv, proto, 0);
	return csum_field_ok(in, out, &is, "inner L4", why, why_len);
}

static bool check_too_big(const struct pkt *in, const struct fz_outcome *o, const struct pkt *out,
			  char *why, size_t why_len)
{
	struct fz_view v, ov;
	__u32 limit, qlen, alen;
	const __u8 *ip, *ic;
	struct seg s = {};
	struct pkt zero = {};

	if (!fz_parse(in->data, in->len, &v))
		return FAILF("model: no IP header");
	if (memcmp(out->data, in->data + 6, 6) || memcmp(out->data + 6, in->data, 6))
		return FAILF("MACs not swapped");
	if (!fz_parse(out->data, out->len, &ov) || ov.family != v.family || ov.vlan)
		return FAILF("output does not parse as IPv%u", v.family);
	limit = v.family == 4 ? 576 : 1280;
	alen = v.family == 4 ? 4 : 16;
	qlen = v.end - v.l3;
	if (qlen > limit - (v.family == 4 ? 28 : 48))
		qlen = limit - (v.family == 4 ? 28 : 48);
	ip = out->data + ov.l3;
	ic = out->data + ov.l4;
	if (ov.end != out->len || ov.l4 + 8 + qlen != ov.end)
		return FAILF("ICMP of %u bytes (frame %u), want a quote of %u", ov.end - ov.l3,
			     out->len, qlen);
	if (memcmp(ip + (v.family == 4 ? 12 : 8), o->vip.bytes, alen) ||
	    memcmp(ip + (v.family == 4 ? 16 : 24), in->data + v.l3 + (v.family == 4 ? 12 : 8),
		   alen))
		return FAILF("ICMP not from the VIP to the sender");
	if (v.family == 4 && (ov.proto != IPPROTO_ICMP || ic[0] != 3 || ic[1] != 4 ||
			      fz_get16(ic + 4) || fz_get16(ic + 6) != o->mtu))
		return FAILF("not a frag-needed with MTU %u", o->mtu);
	if (v.family == 6 && (ov.proto != IPPROTO_ICMPV6 || ov.next || ic[0] != 2 || ic[1] ||
			      fz_get32(ic + 4) != o->mtu))
		return FAILF("not a packet-too-big with MTU %u", o->mtu);
	if (!ov.ttl)
		return FAILF("TTL 0");
	if (memcmp(ic + 8, in->data + v.l3, qlen))
		return FAILF("the quote is not the packet as it arrived");
	s.off = ov.l4;
	s.len = ov.end - ov.l4;
	s.at = 2;
	s.whole = true;
	if (v.family == 6)
		s.pseudo_out = pseudo_of(out, &ov, IPPROTO_ICMPV6, s.len);
	/* Measured against a zeroed input: the output's field must be right from scratch. */
	zero.len = out->len;
	return csum_field_ok(&zero, out, &s, "ICMP", why, why_len);
}

static bool check_outcome(const struct pkt *in, const struct fz_outcome *o, const struct fz_run *r,
			  char *why, size_t why_len)
{
	if (r->refused)
		return true;
	if (r->err)
		return FAILF("BPF_PROG_RUN: %s", strerror(-r->err));
	if (r->verdict != want_verdict(o->cls))
		return FAILF("verdict %s, want %s", verdict_name(r->verdict),
			     verdict_name(want_verdict(o->cls)));
	if (o->reason == VEER_REASON_NONE && r->nmoved)
		return FAILF("reason %s counted, want none", rname(r->moved[0]));
	if (o->reason != VEER_REASON_NONE && (r->nmoved != 1 || r->moved[0] != (int)o->reason))
		return FAILF("reason %s counted (%d moved), want %s",
			     r->nmoved ? rname(r->moved[0]) : "none", r->nmoved, rname(o->reason));
	if (o->new_flows >= 0 && r->flows_delta != o->new_flows)
		return FAILF("%+d flow entries, want %+d", r->flows_delta, o->new_flows);
	if (o->new_flows < 0 && r->flows_delta != 0 && r->flows_delta != 1)
		return FAILF("%+d flow entries, want 0 or 2", r->flows_delta);
	switch (o->out) {
	case FZ_OUT_ANY:
		return true;
	case FZ_OUT_SAME:
		return bytes_eq(in, &r->out, NULL, 0, why, why_len);
	case FZ_OUT_NAT:
		return check_nat(in, o, &r->out, why, why_len);
	case FZ_OUT_ECHO:
		return check_echo(in, &r->out, why, why_len);
	case FZ_OUT_ICMP_ERR:
		return check_icmp_err(in, o, &r->out, why, why_len);
	default:
		return check_too_big(in, o, &r->out, why, why_len);
	}
}

/* What holds whatever the rules: checked on every run, gated or not. */
static bool invariants(const struct pkt *in, const struct fz_run *r, char *why, size_t why_len)
{
	bool rewritten_pass = false;
	struct fz_view v;
	char diff[128];

	if (r->refused)
		return true;
	if (r->err)
		return FAILF("BPF_PROG_RUN: %s", strerror(-r->err));
	if (r->verdict != XDP_DROP && r->verdict != XDP_PASS && r->verdict != XDP_REDIRECT &&
	    !(r->verdict == XDP_TX && lb_env.hook == LB_XDP))
		return FAILF("verdict %s", verdict_name(r->verdict));
	if (r->nmoved > 1)
		return FAILF("%d reason counters moved (%s, %s)", r->nmoved, rname(r->moved[0]),
			     rname(r->moved[1]));
	if (r->verdict != XDP_REDIRECT && !r->nmoved)
		return FAILF("verdict %s and no reason counted", verdict_name(r->verdict));
	if (r->nmoved && (r->verdict == XDP_DROP) != VEER_REASON_IS_DROP(r->moved[0]))
		return FAILF("verdict %s with reason %s", verdict_name(r->verdict),
			     rname(r->moved[0]));
	if (r->verdict == XDP_PASS)
		rewritten_pass =
			r->moved[0] == VEER_PASS_STACK || r->moved[0] == VEER_PASS_MTU_STACK ||
			r->moved[0] == VEER_FWD_ICMP_ERROR || r->moved[0] == VEER_FWD_FRAGMENT;
	if (r->verdict == XDP_PASS && !rewritten_pass &&
	    !bytes_eq(in, &r->out, NULL, 0, diff, sizeof(diff)))
		return FAILF("passed (%s) but changed: %s", rname(r->moved[0]), diff);
	/*
	 * Nothing dropped or passed untouched leaves a flow behind; but under the old rules a TTL
	 * pass and an MTU drop did, after the flow was made (rules 5 and 8 now say otherwise).
	 */
	if ((r->verdict == XDP_DROP || (r->verdict == XDP_PASS && !rewritten_pass)) &&
	    r->flows_delta && r->moved[0] != VEER_PASS_TTL && r->moved[0] != VEER_DROP_MTU &&
	    r->moved[0] != VEER_DROP_ICMP_LIMIT)
		return FAILF("%s (%s) and %+d flow entries", verdict_name(r->verdict),
			     rname(r->moved[0]), r->flows_delta);
	if ((r->verdict != XDP_DROP && (r->verdict != XDP_PASS || rewritten_pass)) &&
	    fz_parse(in->data, in->len, &v) && v.family == 4 &&
	    fz_ip4_csum_ok(in->data + v.l3, v.ihl) && fz_parse(r->out.data, r->out.len, &v) &&
	    v.family == 4 && !fz_ip4_csum_ok(r->out.data + v.l3, v.ihl))
		return FAILF("rewritten, IPv4 header checksum wrong (it was right)");
	return true;
}

/* ---- reporting ---- */

static void hex(const char *label, const struct pkt *p)
{
	fprintf(stderr, "      %s (%u bytes):", label, p->len);
	for (__u32 i = 0; i < p->len; i++)
		fprintf(stderr, "%s%02x", i % 32 ? "" : "\n        ", p->data[i]);
	fputc('\n', stderr);
}

static void print_expect(const struct fz_expect *e)
{
	static const char *const outs[] = {
		"", "unchanged", "rewritten", "echo reply", "ICMP error rewritten", "frag-needed"};

	fprintf(stderr, "      expected:");
	if (e->unspec)
		fprintf(stderr, " (unspecified)");
	for (int i = 0; i < e->n; i++)
		fprintf(stderr, "%s %s/%s %s%s", i ? " or" : "", cls_name(e->c[i].cls),
			rname(e->c[i].reason), outs[e->c[i].out],
			e->c[i].new_flows > 0 ? " +1 flow entry" : "");
	fprintf(stderr, "\n      rules:");
	for (int g = 0; g < FZ_G_MAX; g++)
		if (e->uses & 1u << g)
			fprintf(stderr, " %s%s", fz_groups[g].name,
				fz_groups[g].enabled ? "" : "(off)");
	fprintf(stderr, "; %s\n", e->why);
}

static void report(const char *what, __u64 idx, const struct fz_seed *sd, const char *desc,
		   const struct pkt *in, const struct fz_expect *e, const struct fz_run *r,
		   const char *why)
{
	fprintf(stderr,
		"    lb_fuzz %s: seed 0x%llx case %llu hook %s, seed packet \"%s\" from %s\n", what,
		(unsigned long long)prm.seed, (unsigned long long)idx,
		lb_env.hook == LB_XDP ? "xdp" : "tc", sd->name,
		sd->from == FROM_CLIENT ? "client" : "backend");
	fprintf(stderr, "      mutations: %s\n", desc);
	print_expect(e);
	if (r->err)
		fprintf(stderr, "      got: BPF_PROG_RUN error %d\n", r->err);
	else
		fprintf(stderr, "      got: %s, reason %s%s, %+d flow entries\n",
			verdict_name(r->verdict), r->nmoved ? rname(r->moved[0]) : "none",
			r->nmoved > 1 ? " (and more)" : "", r->flows_delta);
	fprintf(stderr, "      why: %s\n", why);
	hex("in", in);
	if (!r->err && (r->out.len != in->len || memcmp(r->out.data, in->data, in->len)))
		hex("out", &r->out);
	fprintf(stderr,
		"      replay: VEER_FUZZ_SEED=0x%llx VEER_FUZZ_START=%llu VEER_FUZZ_PACKETS=1 "
		"./build/veer-unit lb_fuzz\n",
		(unsigned long long)prm.seed, (unsigned long long)idx);
}

/* Runs one packet and checks it; false on a failure that counts. */
static bool run_check(__u64 idx, const struct fz_seed *sd, const char *desc, const struct pkt *in,
		      struct fz_state *st)
{
	__u32 gate = ~fz_groups_enabled();
	char why[256] = "", w[256];
	struct fz_expect e;
	struct fz_run r;
	int h = lb_env.hook;
	bool ok = false;

	fz_model(st, in, sd->from, &e);
	run_packet(in, sd->from, &r);
	stats.runs[h]++;
	if (r.refused) {
		stats.refused[h]++;
		return true;
	}
	if (!invariants(in, &r, why, sizeof(why))) {
		stats.fails++;
		report("INVARIANT", idx, sd, desc, in, &e, &r, why);
		return false;
	}
	if (nhops && !hops_ok(why, sizeof(why))) {
		stats.fails++;
		report("INVARIANT", idx, sd, desc, in, &e, &r, why);
		hops_put(now_coarse()); /* the cases after it start right again */
		return false;
	}
	for (int i = 0; i < e.n && !ok; i++) {
		ok = check_outcome(in, &e.c[i], &r, w, sizeof(w));
		if (!ok && strlen(why) + strlen(w) + 4 < sizeof(why)) {
			if (i)
				strcat(why, " | ");
			strcat(why, w);
		}
	}
	if (e.unspec) {
		stats.unspec[h]++;
		return true;
	}
	if (e.uses & gate) {
		stats.gated[h]++;
		if (!ok) {
			for (int g = 0; g < FZ_G_MAX; g++)
				if (e.uses & gate & 1u << g)
					stats.pending[g]++;
			if ((e.uses & prm.show) && stats.shown++ < prm.max_fail)
				report("mismatch of a disabled group", idx, sd, desc, in, &e, &r,
				       why);
		}
		if (ok)
			fz_model_apply(st, in, &e);
		return true;
	}
	stats.checked[h]++;
	if (!ok) {
		stats.fails++;
		report("MISMATCH", idx, sd, desc, in, &e, &r, why);
		return false;
	}
	stats.outcome[e.c[0].cls]++;
	if (r.nmoved && r.moved[0] < VEER_REASON_MAX)
		stats.reason[r.moved[0]]++;
	fz_model_apply(st, in, &e);
	return true;
}

/* ---- establishing the flows every case starts from ---- */

/* Runs the flows' packets: from empty tables (the model's base state too), or again. */
static bool establish(bool again)
{
	static const char *const desc = "(establishing the flows)";
	struct fz_state st;
	bool ok = true;

	lb_env.hook = LB_XDP;
	if (!again)
		memset(&G.base, 0, sizeof(G.base));
	memcpy(&st, &G.base, sizeof(st));
	G.flows_cur = flows_count();
	for (int i = 0; i < fz_nestab && ok; i++) {
		const struct fz_seed *f = &fz_seeds[fz_estab[i].fwd_seed];
		const struct fz_seed *r = &fz_seeds[fz_estab[i].reply_seed];

		ok &= run_check(0, f, desc, &f->pkt, &st) && run_check(0, r, desc, &r->pkt, &st);
	}
	if (!again)
		memcpy(&G.base, &st, sizeof(st));
	G.established = time(NULL);
	return ASSERT_TRUE(ok, "establish the flows") &&
	       ASSERT_EQ(G.flows_cur, conns(&G.base), "flow entries after establishing");
}

/* The model's key as the tables key it: IPv4 (16 bytes) or IPv6 (struct veer_flow_key). */
static void flow_keys(const struct fz_key *k, struct veer_flow4_key *k4, struct veer_flow_key *k6)
{
	memset(k4, 0, sizeof(*k4));
	memset(k6, 0, sizeof(*k6));
	k4->saddr = k->saddr.v4;
	k4->daddr = k->daddr.v4;
	k4->sport = htons(k->sport);
	k4->dport = htons(k->dport);
	k4->proto = k->proto;
	k6->saddr = k->saddr;
	k6->daddr = k->daddr;
	k6->sport = htons(k->sport);
	k6->dport = htons(k->dport);
	k6->proto = k->proto;
	k6->family = VEER_AF_INET6;
}

static void flow_delete(const struct fz_key *k)
{
	struct veer_flow4_key k4;
	struct veer_flow_key k6;

	flow_keys(k, &k4, &k6);
	if (k->family == 4) {
		bpf_map__delete_elem(lb_env.skel->maps.veer_flows4, &k4, sizeof(k4), 0);
		bpf_map__delete_elem(lb_env.skel->maps.veer_syns4, &k4, sizeof(k4), 0);
	} else {
		bpf_map__delete_elem(lb_env.skel->maps.veer_flows6, &k6, sizeof(k6), 0);
		bpf_map__delete_elem(lb_env.skel->maps.veer_syns6, &k6, sizeof(k6), 0);
	}
}

static bool key_in_base(bool v6, const void *key)
{
	for (int i = 0; i < G.base.nflows; i++) {
		const struct fz_key *k = &G.base.flows[i].key;
		struct veer_flow4_key k4;
		struct veer_flow_key k6;

		if (v6 != (k->family == 6))
			continue;
		flow_keys(k, &k4, &k6);
		if (v6 ? !memcmp(&k6, key, sizeof(k6)) : !memcmp(&k4, key, sizeof(k4)))
			return true;
	}
	return false;
}

/* Deletes every entry that is not one of the established flows'. */
static void flows_prune(struct bpf_map *map, bool v6)
{
	__u8 key[64], next[64];
	size_t ksz = bpf_map__key_size(map);
	void *prev = NULL;

	while (!bpf_map__get_next_key(map, prev, next, ksz)) {
		memcpy(key, next, ksz);
		if (!key_in_base(v6, key)) {
			bpf_map__delete_elem(map, key, ksz, 0);
			prev = NULL; /* the walk starts again: the deleted key cannot lead it */
		} else {
			prev = key;
		}
	}
}

/* One established connection's entry, in whichever table holds it, reopened if closing. */
static void reopen(struct bpf_map *map, const void *key)
{
	struct veer_flow f;

	if (!bpf_map__lookup_elem(map, key, bpf_map__key_size(map), &f, sizeof(f), 0) &&
	    (f.flags & VEER_FLOW_CLOSING)) {
		f.flags &= ~VEER_FLOW_CLOSING;
		bpf_map__update_elem(map, key, bpf_map__key_size(map), &f, sizeof(f), BPF_EXIST);
	}
}

/*
 * A case's FIN or RST closes its connection (VEER_FLOW_CLOSING: gone 10 s later), which the
 * model does not follow: the established TCP connections are reopened after every case.
 */
static void reopen_closing(void)
{
	struct lb *sk = lb_env.skel;

	for (int i = 0; i < G.base.nflows; i++) {
		const struct fz_flow *fl = &G.base.flows[i];
		struct veer_flow4_key k4;
		struct veer_flow_key k6;

		if (fl->dir != FZ_DIR_FORWARD || fl->key.proto != IPPROTO_TCP)
			continue;
		flow_keys(&fl->key, &k4, &k6);
		if (fl->key.family == 4) {
			reopen(sk->maps.veer_flows4, &k4);
			reopen(sk->maps.veer_syns4, &k4);
		} else {
			reopen(sk->maps.veer_flows6, &k6);
			reopen(sk->maps.veer_syns6, &k6);
		}
	}
}

/* Back to the established state: the case's flows, then every other state map. */
static bool restore(const struct fz_state *st)
{
	reopen_closing();
	if (G.flows_cur != conns(&G.base)) {
		for (int i = G.base.nflows; i < st->nflows; i++)
			flow_delete(&st->flows[i].key);
		G.flows_cur = flows_count();
	}
	if (G.flows_cur != conns(&G.base)) {
		/* Entries the model does not know of (reported if checked). */
		stats.pruned++;
		flows_prune(lb_env.skel->maps.veer_flows4, false);
		flows_prune(lb_env.skel->maps.veer_flows6, true);
		flows_prune(lb_env.skel->maps.veer_syns4, false);
		flows_prune(lb_env.skel->maps.veer_syns6, true);
		G.flows_cur = flows_count();
		if (G.flows_cur != conns(&G.base)) {
			/* An established flow went missing: start again. */
			stats.resets++;
			if (!map_clear(lb_env.skel->maps.veer_flows4) ||
			    !map_clear(lb_env.skel->maps.veer_flows6) ||
			    !map_clear(lb_env.skel->maps.veer_syns4) ||
			    !map_clear(lb_env.skel->maps.veer_syns6))
				return veer_test_fail(__FILE__, __LINE__, "clear the flow tables");
			for (int i = 0; i < G.nother; i++)
				map_clear(G.other[i]);
			return establish(false);
		}
	}
	for (int i = 0; i < G.nother; i++) {
		__u8 key[256];

		if (!bpf_map__get_next_key(G.other[i], NULL, key, bpf_map__key_size(G.other[i])))
			map_clear(G.other[i]);
	}
	return true;
}

static void find_state_maps(void)
{
	struct bpf_map *m;

	G.nother = 0;
	bpf_object__for_each_map(m, lb_env.skel->obj)
	{
		enum bpf_map_type t = bpf_map__type(m);
		__u8 key[256];

		if (t != BPF_MAP_TYPE_HASH && t != BPF_MAP_TYPE_LRU_HASH &&
		    t != BPF_MAP_TYPE_PERCPU_HASH && t != BPF_MAP_TYPE_LRU_PERCPU_HASH)
			continue;
		if (m == lb_env.skel->maps.veer_flows4 || m == lb_env.skel->maps.veer_flows6 ||
		    m == lb_env.skel->maps.veer_syns4 || m == lb_env.skel->maps.veer_syns6 ||
		    bpf_map__key_size(m) > sizeof(key) || G.nother == ARRAY_LEN(G.other))
			continue;
		/* Configuration (VIPs, VIP addresses) is not empty; state starts empty. */
		if (bpf_map__get_next_key(m, NULL, key, bpf_map__key_size(m)))
			G.other[G.nother++] = m;
	}
}

/*
 * The outputs of rules no implementation on main gives yet, built from scratch: the checks
 * must take each, and refuse it with any one byte changed.
 */
static bool selfcheck_pairs(void)
{
	static struct fz_pair pairs[8];
	int n = fz_pairs(pairs, ARRAY_LEN(pairs));
	bool ok = ASSERT_TRUE(n > 0, "selfcheck: pairs");

	lb_env.hook = LB_XDP;
	for (int i = 0; i < n; i++) {
		const struct fz_pair *pr = &pairs[i];
		const struct fz_outcome *o;
		struct fz_expect e;
		struct fz_state st;
		struct fz_run r = {};
		char why[256], what[256];

		memcpy(&st, &G.base, sizeof(st));
		if (pr->has_frag)
			st.frags[st.nfrags++] = pr->frag;
		fz_model(&st, &pr->in, pr->from, &e);
		snprintf(what, sizeof(what), "selfcheck %s: model (%s)", pr->name, e.why);
		if (!ASSERT_TRUE(e.n >= 1 && !e.unspec, what)) {
			ok = false;
			continue;
		}
		o = &e.c[0];
		r.verdict = want_verdict(o->cls);
		r.nmoved = o->reason != VEER_REASON_NONE;
		r.moved[0] = o->reason;
		r.out = pr->want;
		ok &= ASSERT_TRUE(check_outcome(&pr->in, o, &r, why, sizeof(why)), why);
		for (__u32 at = 0; at < r.out.len; at++) {
			struct fz_run c = r;

			c.out.data[at] ^= 0x01;
			snprintf(what, sizeof(what), "selfcheck %s: byte %u changed", pr->name, at);
			if (check_outcome(&pr->in, o, &c, why, sizeof(why)))
				ok = veer_test_fail(__FILE__, __LINE__, "%s: accepted", what);
		}
	}
	return ok;
}

/*
 * The checks must be able to fail: a forwarded frame with one byte wrong anywhere that matters
 * (a MAC, the TTL, a checksum, the payload), another reason counted, a flow too many.
 */
static bool selfcheck(void)
{
	const struct fz_seed *sd = &fz_seeds[fz_estab[0].fwd_seed];
	struct fz_state st;
	struct fz_expect e;
	struct fz_view v;
	struct fz_run r;
	char why[256];
	bool ok;

	memcpy(&st, &G.base, sizeof(st));
	lb_env.hook = LB_XDP;
	fz_model(&st, &sd->pkt, sd->from, &e);
	run_packet(&sd->pkt, sd->from, &r);
	ok = ASSERT_TRUE(e.n == 1 && e.c[0].out == FZ_OUT_NAT && e.c[0].hop, "selfcheck: model") &&
	     ASSERT_TRUE(check_outcome(&sd->pkt, &e.c[0], &r, why, sizeof(why)), why) &&
	     ASSERT_TRUE(fz_parse(r.out.data, r.out.len, &v), "selfcheck: output parses");
	if (!ok)
		return false;
	static const struct {
		const char *what;
		int at; /* -1: the last byte */
	} bad[] = {{"dmac", 0},
		   {"smac", 6},
		   {"ttl", 14 + 8},
		   {"ip csum", 14 + 10},
		   {"daddr", 14 + 19},
		   {"dport", 14 + 20 + 3},
		   {"tcp csum", 14 + 20 + 16},
		   {"payload", -1}};

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct fz_run c = r;
		int at = bad[i].at < 0 ? (int)c.out.len - 1 : bad[i].at;

		c.out.data[at] ^= 0x10;
		ok &= ASSERT_FALSE(check_outcome(&sd->pkt, &e.c[0], &c, why, sizeof(why)),
				   bad[i].what);
	}
	r.nmoved = 1;
	r.moved[0] = VEER_PASS_NOT_VIP;
	ok &= ASSERT_FALSE(check_outcome(&sd->pkt, &e.c[0], &r, why, sizeof(why)), "reason");
	r.nmoved = 0;
	r.flows_delta = 1;
	ok &= ASSERT_FALSE(check_outcome(&sd->pkt, &e.c[0], &r, why, sizeof(why)), "flows");
	return ok && selfcheck_pairs();
}

/* The hop check must be able to fail: a backend's hop resolved to no neighbour. */
static bool selfcheck_hops(void)
{
	struct veer_hop good = hops[0].hop;
	char why[256];
	bool caught;

	hops[0].hop.ifindex = 0;
	caught = hops_put(now_coarse());
	hops[0].hop = good;
	caught = caught && !hops_ok(why, sizeof(why));
	return ASSERT_TRUE(caught, "selfcheck: a next hop changed is caught") &&
	       ASSERT_TRUE(hops_put(now_coarse()) && hops_ok(why, sizeof(why)),
			   "selfcheck: the next hops put back");
}

/*
 * The fuzz test runs on a skeleton of its own, swapped into lb_env for the run: its state
 * tables small. Every state map is checked empty after every case, and an empty hash map takes
 * time in proportion to its size to say so (get_next_key walks the buckets): 27 us for the 64k
 * entries of the ICMP rate limit, 7 us for the 16k of the fragment records, which doubled the
 * run. The flow tables keep the harness's 4096: an LRU sets free entries aside per CPU and
 * evicts early when small.
 */
#define FZ_STATE_MAX 1024

static struct lb *saved_skel;
static int saved_fd[2];

static bool skel_swap_in(void)
{
	struct lb *own = lb__open();
	struct bpf_map *m;
	int err;

	if (!ASSERT_TRUE(own, "lb__open"))
		return false;
	bpf_object__for_each_map(m, own->obj)
	{
		enum bpf_map_type t = bpf_map__type(m);

		bpf_map__set_pin_path(m, NULL);
		if (m == own->maps.veer_flows4 || m == own->maps.veer_flows6 ||
		    m == own->maps.veer_syns4 || m == own->maps.veer_syns6)
			bpf_map__set_max_entries(m, 4096);
		else if ((t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_LRU_HASH ||
			  t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH) &&
			 bpf_map__max_entries(m) > FZ_STATE_MAX)
			bpf_map__set_max_entries(m, FZ_STATE_MAX);
	}
	err = lb__load(own);
	if (!ASSERT_OK(err, "lb__load (the fuzz test's own)")) {
		lb__destroy(own);
		return false;
	}
	saved_skel = lb_env.skel;
	memcpy(saved_fd, lb_env.prog_fd, sizeof(saved_fd));
	lb_env.skel = own;
	lb_env.prog_fd[LB_XDP] = bpf_program__fd(own->progs.veer_lb);
	lb_env.prog_fd[LB_TC] = bpf_program__fd(own->progs.veer_lb_tc);
	return true;
}

static void skel_swap_out(void)
{
	if (!saved_skel)
		return;
	lb__destroy(lb_env.skel);
	lb_env.skel = saved_skel;
	memcpy(lb_env.prog_fd, saved_fd, sizeof(saved_fd));
	saved_skel = NULL;
}

static bool setup(void)
{
	if (!lb_begin() || !skel_swap_in() || !lb_vips_basic() ||
	    !lb_vip_single(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, &BE_NONEIGH) ||
	    !ASSERT_TRUE(fz_seeds_init(), "fuzz seeds"))
		return false;
	find_state_maps();
	return reasons_read(reasons_last) && establish(false) && selfcheck() && hops_snapshot() &&
	       selfcheck_hops();
}

static void fuzz(void);

VEER_TEST(lb_fuzz)
{
	fuzz();
	skel_swap_out();
}

static void fuzz(void)
{
	bool old, hops_old = false;
	struct timespec t0, t1;
	struct fz_state st;
	struct pkt p;
	char desc[256];
	double secs;

	if (!ASSERT_TRUE(params(), "VEER_FUZZ_GROUPS") || !setup())
		return;
	printf("     lb_fuzz: seed 0x%llx, cases %llu..%llu, %d seeds, groups on:",
	       (unsigned long long)prm.seed, (unsigned long long)prm.start,
	       (unsigned long long)(prm.start + prm.packets), fz_nseeds);
	for (int g = 0; g < FZ_G_MAX; g++)
		if (fz_groups[g].enabled)
			printf(" %s", fz_groups[g].name);
	printf("\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (__u64 i = prm.start; i < prm.start + prm.packets && stats.fails < prm.max_fail; i++) {
		__u64 rng = prm.seed ^ (i * 0xd1342543de82ef95ULL);
		const struct fz_seed *sd;

		fz_rand(&rng);
		sd = &fz_seeds[fz_below(&rng, fz_nseeds)];
		p = sd->pkt;
		fz_mutate(&p, &rng, desc, sizeof(desc));
		/* Drawn after the mutations: a seed's cases stay the packets they were. */
		old = fz_below(&rng, FZ_HOPS_OLD) == 0;
		if (old && strlen(desc) + 32 < sizeof(desc))
			strcat(desc, "; next hops due for refresh");
		for (int h = LB_XDP; h <= LB_TC; h++) {
			__u64 now = now_coarse();

			lb_env.hook = h;
			/* Both hooks start from the same hops: the case's age, else fresh. */
			if (old || hops_old || now - hops_put_at > FZ_HOPS_FRESH) {
				if (!hops_put(old ? now - VEER_FLOW_REFRESH_NS - 1000000000ULL
						  : now))
					return;
				hops_old = old;
			}
			memcpy(&st, &G.base, sizeof(st));
			if (sd->pre >= 0)
				run_check(i, &fz_seeds[sd->pre], "(pre packet, unmutated)",
					  &fz_seeds[sd->pre].pkt, &st);
			run_check(i, sd, desc, &p, &st);
			if (!restore(&st))
				return;
		}
		/* Packets on every flow now and then: an idle flow expires (300 s). */
		if (time(NULL) - G.established > 30 && !establish(true))
			return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("     lb_fuzz: %llu/%llu runs (xdp/tc) in %.1f s; checked %llu/%llu, gated by "
	       "disabled groups %llu/%llu, unspecified %llu/%llu, refused by the kernel "
	       "%llu/%llu\n",
	       (unsigned long long)stats.runs[0], (unsigned long long)stats.runs[1], secs,
	       (unsigned long long)stats.checked[0], (unsigned long long)stats.checked[1],
	       (unsigned long long)stats.gated[0], (unsigned long long)stats.gated[1],
	       (unsigned long long)stats.unspec[0], (unsigned long long)stats.unspec[1],
	       (unsigned long long)stats.refused[0], (unsigned long long)stats.refused[1]);
	printf("     lb_fuzz: checked outcomes: %llu drop, %llu pass, %llu redirect, %llu tx; "
	       "unknown flow entries pruned %llu times, flows established again %llu times\n",
	       (unsigned long long)stats.outcome[0], (unsigned long long)stats.outcome[1],
	       (unsigned long long)stats.outcome[2], (unsigned long long)stats.outcome[3],
	       (unsigned long long)stats.pruned, (unsigned long long)stats.resets);
	printf("     lb_fuzz: checked by reason:");
	for (int i = 1; i < VEER_REASON_MAX; i++)
		if (stats.reason[i])
			printf(" %s %llu", rname(i), (unsigned long long)stats.reason[i]);
	printf("\n     lb_fuzz: mismatches pending in disabled groups:");
	for (int g = 0; g < FZ_G_MAX; g++)
		if (!fz_groups[g].enabled)
			printf(" %s %llu", fz_groups[g].name, (unsigned long long)stats.pending[g]);
	printf("\n");
	if (stats.fails)
		veer_test_fail(__FILE__, __LINE__, "%d mismatches (seed 0x%llx)", stats.fails,
			       (unsigned long long)prm.seed);
}
