// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_RUN fixtures of the data plane's event stream (bpf/lib/events.h): the records in
 * veer_events, read back with libbpf's ring_buffer as veerd reads them. Sampling off makes no
 * record; sampling every flow makes one per new flow (with its tuple, VIP and backend) and
 * none for an established flow's packets or a reply; a drop reason reported once when its
 * count in a second reaches the threshold; a full table reported once a second; a full ring
 * costs the record, never the packet. Then the settings' text forms and libveer's decoding.
 * Harness and topology: lb_harness.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <linux/pkt_cls.h>
#include "lb_harness.h"
#include "veer.h"

/* ---- the ring, the counts, the settings ---- */

#define REC_MAX 512

static struct rec {
	__u8 data[128];
	size_t len;
} recs[REC_MAX];
static size_t nrecs;

static int on_rec(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (nrecs < REC_MAX) {
		recs[nrecs].len = len < sizeof(recs[0].data) ? len : sizeof(recs[0].data);
		memcpy(recs[nrecs].data, data, recs[nrecs].len);
	}
	nrecs++;
	return 0;
}

/* Everything the ring of the skeleton in use holds, into recs; how many records, or -1. */
static int ring_read(void)
{
	struct ring_buffer *rb;
	int n;

	nrecs = 0;
	rb = ring_buffer__new(bpf_map__fd(lb_env.skel->maps.veer_events), on_rec, NULL, NULL);
	if (!ASSERT_TRUE(rb, "map the event ring"))
		return -1;
	n = ring_buffer__consume(rb);
	ring_buffer__free(rb);
	if (!ASSERT_TRUE(n >= 0, "read the event ring"))
		return -1;
	return ASSERT_EQ(n, nrecs, "records read") ? n : -1;
}

static bool zero_map(struct bpf_map *map, bool percpu)
{
	size_t sz = (bpf_map__value_size(map) + 7) & ~7UL;
	void *zero = calloc(percpu ? lb_env.ncpus : 1, sz);
	bool ok = zero != NULL;

	for (__u32 i = 0; ok && i < bpf_map__max_entries(map); i++)
		ok = !bpf_map__update_elem(map, &i, sizeof(i), zero,
					   percpu ? lb_env.ncpus * sz : sz, BPF_ANY);
	free(zero);
	return ok;
}

static bool settings_set(__u32 sample, __u32 drop_burst)
{
	struct veer_settings s = {.event_sample = sample, .event_drop_burst = drop_burst};
	__u32 zero = 0;

	return ASSERT_OK(bpf_map__update_elem(lb_env.skel->maps.veer_settings, &zero, sizeof(zero),
					      &s, sizeof(s), BPF_ANY),
			 "event settings");
}

/*
 * lb_begin, then an empty ring and zero event state: other tests may fill a table (events of
 * their own), and the harness's reset knows nothing of these maps.
 */
static bool events_begin(__u32 sample, __u32 drop_burst)
{
	struct lb *s = lb_env.skel;

	if (!lb_begin())
		return false;
	s = lb_env.skel;
	return ring_read() >= 0 &&
	       ASSERT_TRUE(zero_map(s->maps.veer_ev_stats, true) &&
				   zero_map(s->maps.veer_ev_dropcpu, true) &&
				   zero_map(s->maps.veer_ev_drops, false) &&
				   zero_map(s->maps.veer_ev_full, false),
			   "reset the event state") &&
	       settings_set(sample, drop_burst);
}

/* veer_ev_stats[type] over every CPU. */
static struct veer_event_count ev_count(__u32 type)
{
	struct veer_event_count sum = {}, *v = calloc(lb_env.ncpus, sizeof(*v));

	if (v && !bpf_map__lookup_elem(lb_env.skel->maps.veer_ev_stats, &type, sizeof(type), v,
				       lb_env.ncpus * sizeof(*v), 0)) {
		for (int c = 0; c < lb_env.ncpus; c++) {
			sum.emitted += v[c].emitted;
			sum.lost += v[c].lost;
		}
	} else {
		veer_test_fail(__FILE__, __LINE__, "read veer_ev_stats[%u]", type);
	}
	free(v);
	return sum;
}

/* One run of in, checked for its verdict only (the other fixtures check the bytes). */
static bool run_verdict(const struct pkt *in, enum side from, __u32 want, const char *what)
{
	struct pkt out;
	__u32 retval;

	return ASSERT_OK(lb_prog_run(in, from, &out, &retval), what) &&
	       ASSERT_EQ(retval, want, what);
}

/* repeat runs of in in one BPF_PROG_RUN call (a packet that is dropped, never rewritten). */
static bool run_repeat(const struct pkt *in, __u32 repeat, const char *what)
{
	struct xdp_md md = {.data_end = in->len, .ingress_ifindex = lb_env.ifindex[FROM_CLIENT]};
	struct __sk_buff skb = {.ifindex = lb_env.ifindex[FROM_CLIENT],
				.ingress_ifindex = lb_env.ifindex[FROM_CLIENT]};
	bool tc = lb_env.hook == LB_TC;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data, .data_size_in = in->len,
		    .ctx_in = tc ? (void *)&skb : (void *)&md,
		    .ctx_size_in = tc ? sizeof(skb) : sizeof(md), .repeat = repeat);

	return ASSERT_OK(bpf_prog_test_run_opts(lb_env.prog_fd[lb_env.hook], &opts), what) &&
	       ASSERT_EQ(opts.retval, tc ? TC_ACT_SHOT : XDP_DROP, what);
}

/* The data plane's second (bpf_ktime_get_coarse_ns() / 1e9). */
static __u32 dp_second(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

static bool key_is(const struct veer_flow_key *k, const char *saddr, __u16 sport, const char *daddr,
		   __u16 dport, __u8 proto, const char *what)
{
	char w[128];
	bool ok;

	snprintf(w, sizeof(w), "%s: source", what);
	ok = ASSERT_TRUE(lb_addr_eq(&k->saddr, saddr), w);
	snprintf(w, sizeof(w), "%s: destination", what);
	ok &= ASSERT_TRUE(lb_addr_eq(&k->daddr, daddr), w);
	snprintf(w, sizeof(w), "%s: ports", what);
	ok &= ASSERT_EQ(ntohs(k->sport), sport, w) & ASSERT_EQ(ntohs(k->dport), dport, w);
	snprintf(w, sizeof(w), "%s: protocol", what);
	ok &= ASSERT_EQ(k->proto, proto, w);
	snprintf(w, sizeof(w), "%s: family", what);
	return ok & ASSERT_EQ(k->family, strchr(saddr, ':') ? VEER_AF_INET6 : VEER_AF_INET, w);
}

static const struct veer_event_hdr *rec_hdr(size_t i, __u16 type, size_t size, const char *what)
{
	const struct veer_event_hdr *h = (const void *)recs[i].data;

	if (!ASSERT_TRUE(i < nrecs && recs[i].len >= size, what) ||
	    !ASSERT_EQ(h->type, type, what) || !ASSERT_EQ(h->len, size, what))
		return NULL;
	ASSERT_TRUE(h->time_ns > 0, "record time");
	ASSERT_TRUE(h->cpu < (__u32)lb_env.ncpus, "record cpu");
	return h;
}

/* Record i is the flow_new of client:sport -> vip:vport sent to be (of vip_id). */
static bool flow_rec_is(size_t i, const char *client, __u16 sport, const char *vip, __u16 vport,
			__u8 proto, __u32 vip_id, const struct be_def *be, const char *what)
{
	const struct veer_event_flow *e = (const void *)recs[i].data;
	char w[128];
	bool ok;

	if (!rec_hdr(i, VEER_EVENT_FLOW_NEW, sizeof(*e), what))
		return false;
	ok = key_is(&e->key, client, sport, vip, vport, proto, what);
	snprintf(w, sizeof(w), "%s: backend", what);
	ok &= ASSERT_TRUE(lb_addr_eq(&e->backend, be->addr), w);
	ok &= ASSERT_EQ(ntohs(e->backend_port), be->port, w);
	ok &= ASSERT_EQ(e->backend_family, strchr(be->addr, ':') ? VEER_AF_INET6 : VEER_AF_INET, w);
	ok &= ASSERT_EQ(e->backend_id, be->id, w);
	snprintf(w, sizeof(w), "%s: VIP, mode, interface", what);
	ok &= ASSERT_EQ(e->vip_id, vip_id, w) & ASSERT_EQ(e->mode, VEER_MODE_NAT, w);
	return ok & ASSERT_EQ(e->ifindex, lb_env.ifindex[FROM_CLIENT], w);
}

static bool build(struct pkt *p, const char *client, __u16 sport, const char *vip, __u16 vport,
		  __u8 proto, __u8 tcp_flags, const char *what)
{
	struct pkt_spec s = lb_spec_c2v(client, sport, vip, vport, proto);

	s.tcp_flags = tcp_flags;
	return lb_pkt_build(p, s, what);
}

/* ---- flow_new ---- */

LB_TEST(lb_events_sampling_off)
{
	if (!events_begin(0, 0) || !lb_vips_basic() ||
	    !run_verdict(&P.tcp4, FROM_CLIENT, XDP_REDIRECT, "tcp4 new flow") ||
	    !run_verdict(&P.udp4, FROM_CLIENT, XDP_REDIRECT, "udp4 new flow") ||
	    !run_verdict(&P.udp6, FROM_CLIENT, XDP_REDIRECT, "udp6 new flow"))
		return;
	ASSERT_EQ(lb_flow_count(), 3, "flows made");
	ASSERT_EQ(ring_read(), 0, "records with sampling off");
	ASSERT_EQ(ev_count(VEER_EVENT_FLOW_NEW).emitted, 0, "flow_new counted");
}

LB_TEST(lb_events_flow_new)
{
	static struct pkt syn, ack;

	if (!events_begin(1, 0) || !lb_vips_basic() ||
	    !build(&syn, CLIENT4, 41000, VIP4, 80, IPPROTO_TCP, 0x02, "syn") ||
	    !build(&ack, CLIENT4, 41000, VIP4, 80, IPPROTO_TCP, 0x10, "ack"))
		return;
	/* A connection: its SYN is the new flow; the SYN again, the handshake's end, data. */
	if (!run_verdict(&syn, FROM_CLIENT, XDP_REDIRECT, "syn") || ring_read() != 1 ||
	    !flow_rec_is(0, CLIENT4, 41000, VIP4, 80, IPPROTO_TCP, VIP_TCP4, &BE_TCP4, "syn"))
		return;
	if (!run_verdict(&syn, FROM_CLIENT, XDP_REDIRECT, "syn again") ||
	    !run_verdict(&ack, FROM_CLIENT, XDP_REDIRECT, "ack") ||
	    !run_verdict(&ack, FROM_CLIENT, XDP_REDIRECT, "data"))
		return;
	ASSERT_EQ(ring_read(), 0, "records of a known connection's packets");
	/* A flow made by a packet past the SYN (P.tcp4: ACK|PSH), its packets and its reply. */
	if (!run_verdict(&P.tcp4, FROM_CLIENT, XDP_REDIRECT, "tcp4") || ring_read() != 1 ||
	    !flow_rec_is(0, CLIENT4, 40000, VIP4, 80, IPPROTO_TCP, VIP_TCP4, &BE_TCP4, "tcp4"))
		return;
	if (!run_verdict(&P.tcp4, FROM_CLIENT, XDP_REDIRECT, "tcp4 established") ||
	    !run_verdict(&P.tcp4_reply, FROM_BACKEND, XDP_REDIRECT, "tcp4 reply"))
		return;
	ASSERT_EQ(ring_read(), 0, "records of established packets and replies");
	/* UDP over IPv6. */
	if (!run_verdict(&P.udp6, FROM_CLIENT, XDP_REDIRECT, "udp6") || ring_read() != 1)
		return;
	flow_rec_is(0, CLIENT6, 40001, VIP6, 53, IPPROTO_UDP, VIP_UDP6, &BE_UDP6, "udp6");
	ASSERT_EQ(ev_count(VEER_EVENT_FLOW_NEW).emitted, 3, "flow_new counted");
	ASSERT_EQ(ev_count(VEER_EVENT_FLOW_NEW).lost, 0, "flow_new lost");
}

/* One in four: of 400 new flows, about 100 reported (binomial: 50 to 150 is 11 sigma wide). */
LB_TEST(lb_events_sample_rate)
{
	static struct pkt p;
	int n;

	if (!events_begin(4, 0) || !lb_vips_basic())
		return;
	for (__u16 port = 20000; port < 20400; port++) {
		if (!build(&p, CLIENT4, port, VIP4, 53, IPPROTO_UDP, 0, "udp flow") ||
		    !run_verdict(&p, FROM_CLIENT, XDP_REDIRECT, "udp flow"))
			return;
	}
	n = ring_read();
	ASSERT_TRUE(n >= 50 && n <= 150, "one flow in four reported");
	ASSERT_EQ(ev_count(VEER_EVENT_FLOW_NEW).emitted, n, "flow_new counted");
	for (int i = 0; i < n && i < REC_MAX; i++)
		if (!rec_hdr(i, VEER_EVENT_FLOW_NEW, sizeof(struct veer_event_flow), "sampled"))
			break;
}

/* ---- drop_burst ---- */

static bool no_backend_vip(void)
{
	return lb_add_vip(VIP_SPECIAL, VIP4_2, 80, IPPROTO_TCP, 0, VEER_MODE_NAT);
}

static bool drop_rec_is(size_t i, __u32 threshold, __u32 count, const char *what)
{
	const struct veer_event_drop *e = (const void *)recs[i].data;

	if (!rec_hdr(i, VEER_EVENT_DROP_BURST, sizeof(*e), what))
		return false;
	return ASSERT_EQ(e->reason, VEER_DROP_NO_BACKEND, what) &
	       ASSERT_EQ(e->threshold, threshold, what) & ASSERT_EQ(e->count, count, what) &
	       ASSERT_EQ(e->ifindex, lb_env.ifindex[FROM_CLIENT], what) &
	       key_is(&e->key, CLIENT4, 40020, VIP4_2, 80, IPPROTO_TCP, what);
}

/*
 * A threshold of 3: the third drop of a second reports, no other of that second does; a new
 * second counts from 0 again. Redone if the clock's second turns during a round.
 */
LB_TEST(lb_events_drop_burst)
{
	__u32 reason = VEER_DROP_NO_BACKEND, sec;
	__u64 word;
	int tries = 0;
	bool ok;

	if (!events_begin(0, 3) || !no_backend_vip())
		return;
	do {
		ok = events_begin(0, 3) && no_backend_vip();
		sec = dp_second();
		for (int i = 0; ok && i < 2; i++)
			ok = run_verdict(&P.special4, FROM_CLIENT, XDP_DROP, "drop");
		if (!ok || !ASSERT_EQ(ring_read(), 0, "records under the threshold"))
			return;
		for (int i = 0; ok && i < 4; i++)
			ok = run_verdict(&P.special4, FROM_CLIENT, XDP_DROP, "drop");
	} while (ok && dp_second() != sec && ++tries < 5);
	if (!ok || !ASSERT_EQ(ring_read(), 1, "records of a burst") ||
	    !drop_rec_is(0, 3, 3, "drop burst"))
		return;
	/* The second past: the word is of an earlier one, and counting starts again. */
	if (!ASSERT_OK(bpf_map__lookup_elem(lb_env.skel->maps.veer_ev_drops, &reason,
					    sizeof(reason), &word, sizeof(word), 0),
		       "read the count") ||
	    !ASSERT_EQ(word >> 32, sec, "the count's second") ||
	    !ASSERT_EQ(word & 0xffffffff, 6, "drops counted"))
		return;
	word = ((word >> 32) - 1) << 32 | 1000;
	if (!ASSERT_OK(bpf_map__update_elem(lb_env.skel->maps.veer_ev_drops, &reason,
					    sizeof(reason), &word, sizeof(word), BPF_ANY),
		       "age the count"))
		return;
	for (int i = 0; ok && i < 3; i++)
		ok = run_verdict(&P.special4, FROM_CLIENT, XDP_DROP, "drop, next second");
	if (ok && ASSERT_EQ(ring_read(), 1, "records of the next second's burst"))
		drop_rec_is(0, 3, 3, "next second");
	ASSERT_EQ(ev_count(VEER_EVENT_DROP_BURST).emitted, 2, "drop_burst counted");
	/* Off: nothing. */
	if (settings_set(0, 0) && run_repeat(&P.special4, 100, "drops while off"))
		ASSERT_EQ(ring_read(), 0, "records while off");
}

/*
 * A threshold of 640 counts per CPU in batches of 10: 639 drops on one CPU reach the shared
 * count as 630, and the 640th completes the batch that crosses. Pinned to one CPU, as a flood
 * spread over CPUs is not.
 */
LB_TEST(lb_events_drop_batches)
{
	cpu_set_t was, one;
	int tries = 0;
	__u32 sec;
	bool ok;

	if (!ASSERT_OK(sched_getaffinity(0, sizeof(was), &was), "affinity"))
		return;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	if (!ASSERT_OK(sched_setaffinity(0, sizeof(one), &one), "pin to one CPU"))
		return;
	do {
		ok = events_begin(0, 640) && no_backend_vip();
		sec = dp_second();
		ok = ok && run_repeat(&P.special4, 639, "639 drops") &&
		     ASSERT_EQ(ring_read(), 0, "records at 639 drops") &&
		     run_repeat(&P.special4, 1, "the 640th drop");
	} while (ok && dp_second() != sec && ++tries < 5);
	if (ok && ASSERT_EQ(ring_read(), 1, "records at 640 drops"))
		drop_rec_is(0, 640, 640, "batched burst");
	/* Once a second: a thousand more drops of the same second say nothing. */
	if (ok && run_repeat(&P.special4, 1000, "more drops") && dp_second() == sec)
		ASSERT_EQ(ring_read(), 0, "records after the burst");
	sched_setaffinity(0, sizeof(was), &was);
}

/* ---- table_full and a full ring: a skeleton of tiny tables ---- */

/*
 * The harness's program with one-entry IPv4 connection and handshake tables (plain hashes: an
 * LRU evicts instead of refusing) and a one-page ring. Loaded once; a test swaps it into
 * lb_env for its run.
 */
static struct lb *tiny;

static bool tiny_load(void)
{
	struct bpf_map *map;

	if (tiny)
		return true;
	tiny = lb__open();
	if (!ASSERT_TRUE(tiny, "open the tiny skeleton"))
		return false;
	bpf_object__for_each_map(map, tiny->obj) bpf_map__set_pin_path(map, NULL);
	bpf_map__set_type(tiny->maps.veer_flows4, BPF_MAP_TYPE_HASH);
	bpf_map__set_type(tiny->maps.veer_syns4, BPF_MAP_TYPE_HASH);
	bpf_map__set_max_entries(tiny->maps.veer_flows4, 1);
	bpf_map__set_max_entries(tiny->maps.veer_syns4, 1);
	bpf_map__set_max_entries(tiny->maps.veer_flows6, 4096);
	bpf_map__set_max_entries(tiny->maps.veer_syns6, 4096);
	bpf_map__set_max_entries(tiny->maps.veer_affinity, 4096);
	bpf_map__set_max_entries(tiny->maps.veer_proxy_conn, 4096);
	bpf_map__set_max_entries(tiny->maps.veer_events, getpagesize());
	if (!ASSERT_OK(lb__load(tiny), "load the tiny skeleton")) {
		lb__destroy(tiny);
		tiny = NULL;
		return false;
	}
	return true;
}

struct env_saved {
	struct lb *skel;
	int prog_fd[2];
};

/* The environment made (lb_begin), then the tiny skeleton in its place. */
static bool tiny_enter(struct env_saved *s)
{
	if (!lb_begin() || !tiny_load())
		return false;
	s->skel = lb_env.skel;
	memcpy(s->prog_fd, lb_env.prog_fd, sizeof(s->prog_fd));
	lb_env.skel = tiny;
	lb_env.prog_fd[LB_XDP] = bpf_program__fd(tiny->progs.veer_lb);
	lb_env.prog_fd[LB_TC] = bpf_program__fd(tiny->progs.veer_lb_tc);
	return true;
}

static void tiny_leave(const struct env_saved *s)
{
	lb_env.skel = s->skel;
	memcpy(lb_env.prog_fd, s->prog_fd, sizeof(s->prog_fd));
}

static bool full_rec_is(size_t i, __u32 table, const char *client, __u16 sport, const char *vip,
			__u16 vport, __u8 proto, __u32 vip_id, const char *what)
{
	const struct veer_event_table_full *e = (const void *)recs[i].data;

	if (!rec_hdr(i, VEER_EVENT_TABLE_FULL, sizeof(*e), what))
		return false;
	return ASSERT_EQ(e->table, table, what) & ASSERT_EQ(e->vip_id, vip_id, what) &
	       ASSERT_EQ(e->ifindex, lb_env.ifindex[FROM_CLIENT], what) &
	       key_is(&e->key, client, sport, vip, vport, proto, what);
}

static void table_full_body(void)
{
	static struct pkt syn[3], udp[3];
	struct lb_fixture refused = {"refused", NULL, FROM_CLIENT,
				     XDP_DROP,	NULL, VEER_DROP_FLOW_FULL};
	__u32 slot = VEER_EVENT_TABLE_FLOWS * 2;
	__u64 zero = 0;
	int tries = 0;
	__u32 sec;
	bool ok;

	for (int i = 0; i < 3; i++)
		if (!build(&syn[i], CLIENT4, 42000 + i, VIP4, 80, IPPROTO_TCP, 0x02, "syn") ||
		    !build(&udp[i], CLIENT4, 43000 + i, VIP4, 53, IPPROTO_UDP, 0, "udp"))
			return;
	do {
		ok = events_begin(0, 0) && lb_vips_basic();
		sec = dp_second();
		/* The first handshake fills its table: the next two are refused, one said. */
		ok = ok && run_verdict(&syn[0], FROM_CLIENT, XDP_REDIRECT, "first syn");
		refused.in = &syn[1];
		ok = ok && lb_fixture_run(&refused);
		refused.in = &syn[2];
		ok = ok && lb_fixture_run(&refused);
		/* Likewise the connection table, by UDP flows. */
		ok = ok && run_verdict(&udp[0], FROM_CLIENT, XDP_REDIRECT, "first udp");
		refused.in = &udp[1];
		ok = ok && lb_fixture_run(&refused);
		refused.in = &udp[2];
		ok = ok && lb_fixture_run(&refused);
	} while (ok && dp_second() != sec && ++tries < 5);
	if (!ok || !ASSERT_EQ(ring_read(), 2, "records of two full tables"))
		return;
	full_rec_is(0, VEER_EVENT_TABLE_SYNS, CLIENT4, 42001, VIP4, 80, IPPROTO_TCP, VIP_TCP4,
		    "handshakes full");
	full_rec_is(1, VEER_EVENT_TABLE_FLOWS, CLIENT4, 43001, VIP4, 53, IPPROTO_UDP, VIP_UDP4,
		    "connections full");
	/* A second later the table says so again. */
	if (ASSERT_OK(bpf_map__update_elem(lb_env.skel->maps.veer_ev_full, &slot, sizeof(slot),
					   &zero, sizeof(zero), BPF_ANY),
		      "age the report") &&
	    lb_fixture_run(&refused) && ASSERT_EQ(ring_read(), 1, "records a second later"))
		full_rec_is(0, VEER_EVENT_TABLE_FLOWS, CLIENT4, 43002, VIP4, 53, IPPROTO_UDP,
			    VIP_UDP4, "connections full again");
	ASSERT_EQ(ev_count(VEER_EVENT_TABLE_FULL).emitted, 3, "table_full counted");
}

LB_TEST(lb_events_table_full)
{
	struct env_saved saved;

	if (!tiny_enter(&saved))
		return;
	table_full_body();
	tiny_leave(&saved);
}

/* A one-page ring and sixty new flows: the records that do not fit are lost, the packets not. */
static void ring_full_body(void)
{
	static struct pkt p;
	struct veer_event_count c;
	int n;

	if (!events_begin(1, 0) || !lb_vips_basic())
		return;
	for (__u16 port = 30000; port < 30060; port++)
		if (!build(&p, CLIENT6, port, VIP6, 53, IPPROTO_UDP, 0, "udp6 flow") ||
		    !run_verdict(&p, FROM_CLIENT, XDP_REDIRECT, "udp6 flow, ring full or not"))
			return;
	c = ev_count(VEER_EVENT_FLOW_NEW);
	ASSERT_EQ(c.emitted + c.lost, 60, "flows reported or lost");
	ASSERT_TRUE(c.lost > 0, "records lost to a full ring");
	n = ring_read();
	ASSERT_EQ(n, c.emitted, "records read");
	for (int i = 0; i < n && i < REC_MAX; i++)
		if (!flow_rec_is(i, CLIENT6, 30000 + i, VIP6, 53, IPPROTO_UDP, VIP_UDP6, &BE_UDP6,
				 "in order"))
			break;
	/* Read, the ring takes records again. */
	if (build(&p, CLIENT6, 30100, VIP6, 53, IPPROTO_UDP, 0, "udp6 flow") &&
	    run_verdict(&p, FROM_CLIENT, XDP_REDIRECT, "udp6 flow after the read"))
		ASSERT_EQ(ring_read(), 1, "records after the read");
}

LB_TEST(lb_events_ring_full)
{
	struct env_saved saved;

	if (!tiny_enter(&saved))
		return;
	ring_full_body();
	tiny_leave(&saved);
}

/* ---- userspace: the settings' text, the records' decoding ---- */

VEER_TEST(events_settings_parse)
{
	static const struct {
		const char *name, *value;
		int err;
		__u32 sample, burst;
	} cases[] = {
		{"event-sample", "off", 0, 0, 0},
		{"event-sample", "0", 0, 0, 0},
		{"event-sample", "1/1", 0, 1, 0},
		{"event-sample", "1/100", 0, 100, 0},
		{"event-sample", "1/1000000000", 0, 1000000000, 0},
		{"event-sample", "1/0", -ERANGE, 0, 0},
		{"event-sample", "1/1000000001", -ERANGE, 0, 0},
		{"event-sample", "100%", -EINVAL, 0, 0},
		{"event-sample", "100", -EINVAL, 0, 0},
		{"event-sample", "2/3", -EINVAL, 0, 0},
		{"event-sample", "1/-5", -EINVAL, 0, 0},
		{"event-sample", "", -EINVAL, 0, 0},
		{"event-drop-burst", "off", 0, 0, 0},
		{"event-drop-burst", "1", 0, 0, 1},
		{"event-drop-burst", "5000", 0, 0, 5000},
		{"event-drop-burst", "1000000001", -ERANGE, 0, 0},
		{"event-drop-burst", "1/2", -EINVAL, 0, 0},
		{"event-drop-burst", "05", -EINVAL, 0, 0},
		{"event-drop-burst", "x", -EINVAL, 0, 0},
	};
	struct veer_setting_value sv;
	char what[96];
	bool seen[2] = {};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct veer_settings s = {.event_sample = 7, .event_drop_burst = 7};
		int err = veer_setting_parse(&s, cases[i].name, cases[i].value);

		snprintf(what, sizeof(what), "%s '%s'", cases[i].name, cases[i].value);
		if (!ASSERT_EQ(err, cases[i].err, what) || err)
			continue;
		if (!strcmp(cases[i].name, "event-sample"))
			ASSERT_EQ(s.event_sample, cases[i].sample, what);
		else
			ASSERT_EQ(s.event_drop_burst, cases[i].burst, what);
	}
	ASSERT_TRUE(veer_setting_want("event-sample") != NULL, "event-sample is a setting");
	ASSERT_TRUE(strstr(veer_setting_names(), "event-drop-burst") != NULL, "names list it");
	/* Shown as veer set takes them. */
	{
		struct veer_settings s = {.event_sample = 100, .event_drop_burst = 0};

		for (size_t i = 0; !veer_setting_at(&s, i, &sv); i++) {
			if (!strcmp(sv.name, "event-sample")) {
				ASSERT_STREQ(sv.text, "1/100", "event-sample shown");
				seen[0] = true;
			} else if (!strcmp(sv.name, "event-drop-burst")) {
				ASSERT_STREQ(sv.text, "off", "event-drop-burst shown");
				ASSERT_TRUE(sv.number, "event-drop-burst is a number in JSON");
				seen[1] = true;
			}
		}
	}
	ASSERT_TRUE(seen[0] && seen[1], "both settings listed");
}

static const char *jget(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

VEER_TEST(events_decode)
{
	struct veer_event_flow f = {
		.hdr = {.time_ns = 5000000000ULL,
			.type = VEER_EVENT_FLOW_NEW,
			.len = sizeof(f),
			.cpu = 1},
		.backend_port = htons(8080),
		.backend_family = VEER_AF_INET,
		.mode = VEER_MODE_DSR_IPIP,
		.vip_id = 3,
		.backend_id = 12,
	};
	struct veer_event_drop d = {
		.hdr = {.time_ns = 1, .type = VEER_EVENT_DROP_BURST, .len = sizeof(d)},
		.reason = VEER_DROP_BAD_L3,
		.threshold = 100,
		.count = 104,
	};
	struct veer_event_table_full t = {
		.hdr = {.time_ns = 1, .type = VEER_EVENT_TABLE_FULL, .len = sizeof(t)},
		.table = VEER_EVENT_TABLE_SYNS,
		.vip_id = 2,
	};
	struct veer_event_hdr unknown = {.type = 99, .len = sizeof(unknown)};
	struct json_object *o;
	struct veer_event e;

	f.key.family = VEER_AF_INET;
	f.key.proto = IPPROTO_TCP;
	lb_addr_parse("198.18.1.2", &f.key.saddr);
	lb_addr_parse("198.18.100.10", &f.key.daddr);
	f.key.sport = htons(40000);
	f.key.dport = htons(80);
	lb_addr_parse("198.18.11.2", &f.backend);
	if (!ASSERT_OK(veer_event_decode(&f, sizeof(f), &e), "decode flow_new"))
		return;
	ASSERT_EQ(e.type, VEER_EVENT_FLOW_NEW, "type");
	ASSERT_EQ(e.mono_ns, 5000000000ULL, "time");
	ASSERT_EQ(e.backend_id, 12, "backend id");
	o = veer_event_json(&e, "0000000000000001-7");
	if (ASSERT_TRUE(o, "flow_new as JSON")) {
		ASSERT_STREQ(jget(o, "id"), "0000000000000001-7", "id");
		ASSERT_STREQ(jget(o, "type"), "flow_new", "type");
		ASSERT_TRUE(jget(o, "time") && strlen(jget(o, "time")) == 27, "RFC 3339 time");
		ASSERT_STREQ(jget(o, "protocol"), "tcp", "protocol");
		ASSERT_STREQ(jget(o, "client"), "198.18.1.2:40000", "client");
		ASSERT_STREQ(jget(o, "vip"), "198.18.100.10:80", "vip");
		ASSERT_STREQ(jget(o, "backend"), "198.18.11.2:8080", "backend");
		ASSERT_STREQ(jget(o, "mode"), "dsr-ipip", "mode");
		ASSERT_STREQ(jget(o, "cpu"), "1", "cpu");
		json_object_put(o);
	}
	/* A drop of a packet whose IP header was never read: no tuple. */
	if (ASSERT_OK(veer_event_decode(&d, sizeof(d), &e), "decode drop_burst")) {
		o = veer_event_json(&e, "x");
		ASSERT_STREQ(jget(o, "reason"), "bad_l3", "reason");
		ASSERT_STREQ(jget(o, "threshold"), "100", "threshold");
		ASSERT_STREQ(jget(o, "count"), "104", "count");
		ASSERT_TRUE(!jget(o, "source"), "no source for an unparsed packet");
		json_object_put(o);
	}
	/*
	 * Its IP header read, its transport header not (proto 0): the addresses without ports,
	 * the protocol null, not "?"; ICMP by name, another protocol by number.
	 */
	d.reason = VEER_DROP_BAD_L4;
	d.key.family = VEER_AF_INET;
	lb_addr_parse("198.18.1.2", &d.key.saddr);
	lb_addr_parse("198.18.100.71", &d.key.daddr);
	if (ASSERT_OK(veer_event_decode(&d, sizeof(d), &e), "decode drop_burst, bad_l4")) {
		struct json_object *v = (void *)1;

		o = veer_event_json(&e, "x");
		ASSERT_TRUE(json_object_object_get_ex(o, "protocol", &v) && !v, "protocol null");
		ASSERT_STREQ(jget(o, "source"), "198.18.1.2", "source, no port");
		ASSERT_STREQ(jget(o, "destination"), "198.18.100.71", "destination, no port");
		json_object_put(o);
		e.key.proto = IPPROTO_ICMP;
		o = veer_event_json(&e, "x");
		ASSERT_STREQ(jget(o, "protocol"), "icmp", "icmp by name");
		json_object_put(o);
		e.key.proto = IPPROTO_GRE;
		e.reason = VEER_REASON_MAX + 1;
		o = veer_event_json(&e, "x");
		ASSERT_STREQ(jget(o, "protocol"), "47", "another protocol by number");
		ASSERT_TRUE(json_object_object_get_ex(o, "reason", &v) && !v,
			    "a reason this veer cannot name is null");
		json_object_put(o);
	}
	if (ASSERT_OK(veer_event_decode(&t, sizeof(t), &e), "decode table_full")) {
		o = veer_event_json(&e, "x");
		ASSERT_STREQ(jget(o, "table"), "handshakes", "table");
		ASSERT_STREQ(jget(o, "vip_id"), "2", "vip id");
		json_object_put(o);
	}
	/* Short, or of a type no data plane writes: skipped, never read past. */
	ASSERT_EQ(veer_event_decode(&f, sizeof(f) - 1, &e), -EINVAL, "record cut short");
	f.hdr.len = sizeof(f.hdr);
	ASSERT_EQ(veer_event_decode(&f, sizeof(f), &e), -EINVAL, "length too short for its type");
	ASSERT_EQ(veer_event_decode(&unknown, sizeof(unknown), &e), -EINVAL, "unknown type");
	ASSERT_EQ(veer_event_decode(&unknown, 4, &e), -EINVAL, "header cut short");
}

VEER_TEST(events_socket_path)
{
	char path[VEER_EVENTS_SOCKET_MAX + 64], lock[4200], saved[4096];
	char longdir[200];

	snprintf(saved, sizeof(saved), "%s", veer_pin_dir());
	if (!ASSERT_OK(veer_set_pin_dir("/sys/fs/bpf/veer"), "pin dir"))
		return;
	ASSERT_STREQ(veer_events_socket_path(path, sizeof(path)),
		     "/run/veer/veerd_sys_fs_bpf_veer.events", "next to the lock");
	ASSERT_STREQ(veer_daemon_lock_path(lock, sizeof(lock)),
		     "/run/veer/veerd_sys_fs_bpf_veer.lock", "the lock");
	memset(longdir, 'x', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	if (ASSERT_OK(veer_set_pin_dir(longdir), "long pin dir")) {
		veer_events_socket_path(path, sizeof(path));
		ASSERT_TRUE(strlen(path) < VEER_EVENTS_SOCKET_MAX, "fits a unix socket's path");
		ASSERT_TRUE(!strncmp(path, "/run/veer/veerd-", 16), "named by a hash");
	}
	veer_set_pin_dir(saved);
}
