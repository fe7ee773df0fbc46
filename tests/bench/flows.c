// SPDX-License-Identifier: GPL-2.0
/*
 * A million flows through veer's data plane, per packet, through BPF_PROG_RUN (repeat=1: the
 * program rewrites the packet), next to the floors of one table access per packet.
 *
 * veer is what the CLI set up in the caller's pin directory: `veer attach` (the programs run
 * here are the ones attached, with the pinned maps) and one UDP VIP with its backends. Nothing
 * here writes veer's maps: the flows are made by packets, and what the run knows of the data
 * plane it reads from the packets' bytes and through libveer.
 *
 * Every flow has two frames, built once into memory of their own (as the kernel's selftests
 * do): client -> VIP, and backend -> client, the reply, built from the backend the flow's first
 * packet was rewritten to. A round runs every flow's frame once, in an order shuffled afresh
 * for every round, so neither the table nor the caches see the flows in the order they were
 * made. Round 1 of the forward frames creates the flows; the first round of the replies meets
 * reply entries that still have to resolve their next hop; the later rounds are the
 * established flows. Every call's verdict and output are checked: a forwarded packet must go
 * to its flow's backend, a reply must leave with the VIP as its source.
 *
 * The floors (tests/bpf/bench_table.bpf.c) run the same forward frames: an LRU hash, a
 * preallocated hash and a non-preallocated one (lookup, then write the value or insert), and
 * one random access into an array, every table 4M entries of 56 bytes.
 *
 * Figures: per case the median over its rounds of the mean kernel-reported duration per call,
 * net of the empty program of the same hook measured over the same frames in the same run, and
 * per-call percentiles (gross: an empty call costs the empty program's figure).
 *
 * Today's data plane re-resolves a flow's next hop (and, forward, checks its reply entry) at
 * the first packet more than VEER_FLOW_REFRESH_NS after it last did, in each direction. Which
 * packets those are depends on when each flow's packets come, so every case also reports the
 * share of its packets that fall due under that rule, computed from the times of the calls
 * (CLOCK_MONOTONIC, the clock of bpf_ktime_get_coarse_ns): a model of the rule, not a count
 * kept by the data plane.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* CPU_SET, sched_setaffinity */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include "bench.h"
#include "veer.h"
#include "bench_empty.skel.h"
#include "bench_table.skel.h"

#define FL_MAX_BACKENDS 16
#define FL_MAX_ROUNDS	32
#define FL_OUT_MAX	256

enum fl_kind {
	FK_EMPTY,   /* an empty program: XDP_PASS, TC_ACT_OK */
	FK_FWD_NEW, /* a flow's first packet: redirected to one of the backends, recorded */
	FK_FWD,	    /* client -> VIP: redirected to the flow's backend */
	FK_REPLY,   /* backend -> client: redirected with the VIP's address and port as source */
	FK_INSERT,  /* a floor's first round: every flow inserted (XDP_TX) */
	FK_FOUND,   /* a floor's later rounds: every flow found (XDP_PASS) */
};

struct fl_case {
	const char *name, *title;
	enum fl_kind kind;
	bool tc;    /* a tc program (skb), not XDP */
	bool reply; /* runs the reply frames, arriving on OUT */
	int fd;
	const char *base; /* the empty program it is net of; NULL for the baselines */
	int nr;
	double mean[FL_MAX_ROUNDS], wall[FL_MAX_ROUNDS];
	double round_mean[FL_MAX_ROUNDS], round_refresh[FL_MAX_ROUNDS]; /* in run order */
	double t_start, t_end; /* of its first and last round, seconds from the first round */
	struct bench_hist h;
	__u64 bad;
	__u64 refresh; /* calls due for the refresh under VEER_FLOW_REFRESH_NS (see above) */
};

struct fl {
	__u32 n, vip, backends[FL_MAX_BACKENDS], src;
	__u16 vip_port, sport;
	int nbackends, in_idx, out_idx;
	struct bench_frame *fwd, *rep;
	__u8 *be_of; /* the backend (index) each flow was given in round 1 */
	__u32 *order;
	__u64 rng;
	double t0;
	/* Per flow, when its forward and reply entries last resolved their next hop (the model). */
	double *fwd_seen, *rep_seen;
};

#ifdef VEER_FLOW_REFRESH_NS
#define FL_REFRESH_S ((double)VEER_FLOW_REFRESH_NS / 1e9)
#else
#define FL_REFRESH_S 0 /* no such rule in this data plane: nothing reported */
#endif

/* Whether the call at time t falls due for the refresh, and the model's clock moved on. */
static void refresh_model(struct fl *f, struct fl_case *c, __u32 i, double t)
{
	double *seen = c->reply ? f->rep_seen : f->fwd_seen;

	if (!FL_REFRESH_S)
		return;
	if (c->kind == FK_FWD_NEW) {
		/* A new flow's forward entry starts its clock; its reply entry has none yet. */
		f->fwd_seen[i] = t;
		f->rep_seen[i] = -1e9;
		return;
	}
	if (t - seen[i] > FL_REFRESH_S) {
		c->refresh++;
		seen[i] = t;
	}
}

static __u32 client_addr(const struct fl *f, __u32 i)
{
	return f->src + (i & 0xffff);
}

static __u16 client_port(const struct fl *f, __u32 i)
{
	return f->sport + (i >> 16);
}

static __u32 redirect_of(bool tc)
{
	return tc ? TC_ACT_REDIRECT : XDP_REDIRECT;
}

/* The IPv4 addresses and ports of an output frame (Ethernet, IPv4 without options, L4). */
struct fl_tuple {
	__u32 saddr, daddr;
	__u16 sport, dport;
};

static int out_tuple(const __u8 *out, __u32 len, struct fl_tuple *t)
{
	const struct iphdr *iph = (const void *)(out + sizeof(struct ethhdr));
	const struct udphdr *uh = (const void *)(iph + 1);

	if (len < sizeof(struct ethhdr) + sizeof(*iph) + sizeof(*uh) || iph->ihl != 5)
		return -EINVAL;
	t->saddr = ntohl(iph->saddr);
	t->daddr = ntohl(iph->daddr);
	t->sport = ntohs(uh->source);
	t->dport = ntohs(uh->dest);
	return 0;
}

static void report_bad(struct fl_case *c, __u32 i, const char *what)
{
	if (c->bad++ < 5)
		fprintf(stderr, "veer-bench: %s, flow %u: %s\n", c->name, i, what);
}

static void check(struct fl *f, struct fl_case *c, __u32 i, __u32 ret, const __u8 *out, __u32 olen)
{
	struct fl_tuple t;
	char why[160];
	int b;

	switch (c->kind) {
	case FK_EMPTY:
		if (ret != (c->tc ? TC_ACT_OK : XDP_PASS))
			report_bad(c, i, "the empty program did not pass");
		return;
	case FK_INSERT:
	case FK_FOUND:
		if (ret != (c->kind == FK_INSERT ? XDP_TX : XDP_PASS)) {
			snprintf(why, sizeof(why), "verdict %u, expected %s", ret,
				 c->kind == FK_INSERT ? "XDP_TX (inserted)" : "XDP_PASS (found)");
			report_bad(c, i, why);
		}
		return;
	default:
		break;
	}
	if (ret != redirect_of(c->tc)) {
		snprintf(why, sizeof(why), "verdict %u, expected %s", ret,
			 c->tc ? "TC_ACT_REDIRECT" : "XDP_REDIRECT");
		report_bad(c, i, why);
		return;
	}
	if (out_tuple(out, olen, &t)) {
		report_bad(c, i, "no IPv4/UDP frame came out");
		return;
	}
	switch (c->kind) {
	case FK_FWD_NEW:
		for (b = 0; b < f->nbackends; b++)
			if (t.daddr == f->backends[b] && t.dport == f->vip_port)
				break;
		if (b == f->nbackends || t.saddr != client_addr(f, i) ||
		    t.sport != client_port(f, i)) {
			report_bad(c, i, "not rewritten to one of the VIP's backends");
			return;
		}
		f->be_of[i] = b;
		return;
	case FK_FWD:
		if (t.daddr != f->backends[f->be_of[i]] || t.dport != f->vip_port)
			report_bad(c, i, "not rewritten to the flow's backend");
		return;
	case FK_REPLY:
		if (t.saddr != f->vip || t.sport != f->vip_port || t.daddr != client_addr(f, i) ||
		    t.dport != client_port(f, i))
			report_bad(c, i, "the reply's source is not the VIP");
		return;
	default:
		return;
	}
}

/* One round: every flow's frame once, in a fresh random order. */
static int fl_round(struct fl *f, struct fl_case *c)
{
	bool want_out = c->kind == FK_FWD_NEW || c->kind == FK_FWD || c->kind == FK_REPLY;
	int ifindex = c->reply ? f->out_idx : f->in_idx;
	__u8 out[FL_OUT_MAX];
	__u64 sum = 0, refresh0 = c->refresh;
	double t0, t1;

	if (c->nr == FL_MAX_ROUNDS)
		return -E2BIG;
	bench_shuffle(f->order, f->n, &f->rng);
	t0 = bench_now();
	for (__u32 k = 0; k < f->n; k++) {
		__u32 i = f->order[k], ret, dur, olen = 0;
		const struct bench_frame *fr = c->reply ? &f->rep[i] : &f->fwd[i];
		int err;

		if (want_out)
			refresh_model(f, c, i, bench_now());
		err = bench_run1(c->fd, c->tc, fr, sizeof(*fr), ifindex, want_out ? out : NULL,
				 sizeof(out), &olen, &ret, &dur);
		if (err) {
			fprintf(stderr, "veer-bench: %s: BPF_PROG_RUN: %s\n", c->name,
				strerror(-err));
			return err;
		}
		sum += dur;
		bench_hist_add(&c->h, dur);
		check(f, c, i, ret, out, olen);
	}
	t1 = bench_now();
	if (!c->nr)
		c->t_start = t0 - f->t0;
	c->t_end = t1 - f->t0;
	c->mean[c->nr] = (double)sum / f->n;
	c->round_mean[c->nr] = c->mean[c->nr];
	c->round_refresh[c->nr] = (double)(c->refresh - refresh0) / f->n;
	c->wall[c->nr] = (t1 - t0) * 1e9 / f->n;
	c->nr++;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: veer-bench flows --in IFACE --out IFACE --vip ADDR:PORT --backend ADDR...\n"
		"       [--xdp IFACE] [--tc IFACE] [--flows N] [--rounds N] [--src ADDR:PORT]\n"
		"       [--cpu N] [--seed N] [--no-floors]\n"
		"veer must be attached to --xdp (default --in) at XDP and, for the tc cases, to "
		"--tc\n"
		"at tc, with the UDP VIP and its backends, in VEER_PIN_DIR. Prints one line\n"
		"'flows CASE kern_ns=.. net_ns=..' per case.\n");
}

static struct fl_case *find_case(struct fl_case *cs, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(cs[i].name, name))
			return &cs[i];
	return NULL;
}

int cmd_flows(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"in", required_argument, NULL, 'i'},	 {"out", required_argument, NULL, 'o'},
		{"xdp", required_argument, NULL, 'x'},	 {"tc", required_argument, NULL, 't'},
		{"vip", required_argument, NULL, 'v'},	 {"backend", required_argument, NULL, 'b'},
		{"flows", required_argument, NULL, 'n'}, {"rounds", required_argument, NULL, 'r'},
		{"src", required_argument, NULL, 's'},	 {"cpu", required_argument, NULL, 'C'},
		{"seed", required_argument, NULL, 'S'},	 {"no-floors", no_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},	 {},
	};
#define FC(n, t, k, tc_, rep)                                                                      \
	{                                                                                          \
		.name = n, .title = t, .kind = k, .tc = tc_, .reply = rep                          \
	}
	/*
	 * Run order: see the schedule below. The names are what scripts/bench.sh reads; every
	 * veer case but the baselines is net of the empty program of its hook.
	 */
	struct fl_case cs[] = {
		FC("empty", "empty XDP program (XDP_PASS)", FK_EMPTY, false, false),
		FC("tc_empty", "empty tc program (TC_ACT_OK)", FK_EMPTY, true, false),
		FC("fwd_new", "forward, round 1: creation", FK_FWD_NEW, false, false),
		FC("reply_first", "reply, first of its flow", FK_REPLY, false, true),
		FC("fwd_est", "forward, established", FK_FWD, false, false),
		FC("reply_est", "reply, established", FK_REPLY, false, true),
		FC("tc_fwd_est", "tc: forward, established", FK_FWD, true, false),
		FC("tc_reply_est", "tc: reply, established", FK_REPLY, true, true),
		FC("lru_insert", "floor: LRU hash, insert", FK_INSERT, false, false),
		FC("lru_est", "floor: LRU hash, lookup and write", FK_FOUND, false, false),
		FC("hash_insert", "floor: preallocated hash, insert", FK_INSERT, false, false),
		FC("hash_est", "floor: preallocated hash, lookup and write", FK_FOUND, false,
		   false),
		FC("hash_np_insert", "floor: non-preallocated hash, insert", FK_INSERT, false,
		   false),
		FC("hash_np_est", "floor: non-preallocated hash, lookup and write", FK_FOUND, false,
		   false),
		FC("array", "floor: array, one random slot written", FK_FOUND, false, false),
		FC("fwd_idle", "forward, established, after the floors' rounds", FK_FWD, false,
		   false),
		FC("reply_idle", "reply, established, after the floors' rounds", FK_REPLY, false,
		   true),
	};
#undef FC
	const int ncs = sizeof(cs) / sizeof(cs[0]);
	const char *in = NULL, *out = NULL, *xdp_if = NULL, *tc_if = NULL, *pin;
	__u8 in_mac[ETH_ALEN], out_mac[ETH_ALEN];
	static const __u8 client_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0x01, 0x02};
	static const __u8 be_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0x11, 0x02};
	struct fl f = {.n = 1000000, .rng = 0x76656572};
	struct bench_empty *empty = NULL;
	struct bench_table *tbl = NULL;
	int opt, err = 1, rounds = 3, cpu = -1, xdp_fd = -1, tc_fd = -1;
	bool floors = true;
	double idle_s = 0;
	__u64 seed;

	bench_parse_ipv4_port("198.19.0.0:1024", &f.src, &f.sport);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			in = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'x':
			xdp_if = optarg;
			break;
		case 't':
			tc_if = optarg;
			break;
		case 'v':
			if (bench_parse_ipv4_port(optarg, &f.vip, &f.vip_port))
				goto bad;
			break;
		case 'b':
			if (f.nbackends == FL_MAX_BACKENDS ||
			    bench_parse_ipv4(optarg, &f.backends[f.nbackends++]))
				goto bad;
			break;
		case 'n':
			f.n = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 's':
			if (bench_parse_ipv4_port(optarg, &f.src, &f.sport))
				goto bad;
			break;
		case 'C':
			cpu = atoi(optarg);
			break;
		case 'S':
			f.rng = strtoull(optarg, NULL, 0);
			break;
		case 'F':
			floors = false;
			break;
		default:
			goto bad;
		}
	}
	/* Flow i: source address src + (i & 0xffff), port sport + (i >> 16). */
	if (!in || !out || !f.vip || !f.nbackends || rounds < 1 || rounds > 8 || f.n < 2 ||
	    (__u64)f.sport + ((f.n - 1) >> 16) > 65535)
		goto bad;
	/* The clients stay in 198.18.0.0/15, where the caller routes the replies. */
	if ((f.src & 0xfffe0000) != 0xc6120000 ||
	    ((f.src + (f.n > 65536 ? 65535 : f.n - 1)) & 0xfffe0000) != 0xc6120000) {
		fprintf(stderr, "veer-bench: the clients of --src must stay in 198.18.0.0/15\n");
		return 2;
	}
	if (!xdp_if)
		xdp_if = in;
	seed = f.rng;
	pin = getenv("VEER_PIN_DIR");
	if (pin && *pin && veer_set_pin_dir(pin))
		return 1;
	if (cpu >= 0 && bench_pin_cpu(cpu))
		fprintf(stderr, "veer-bench: cannot pin to CPU %d, running unpinned\n", cpu);
	f.in_idx = bench_ifindex(in);
	f.out_idx = bench_ifindex(out);
	if (!f.in_idx || !f.out_idx || bench_ifmac(in, in_mac) || bench_ifmac(out, out_mac))
		return 1;

	for (int c = 0; c < ncs; c++) {
		if (bench_hist_init(&cs[c].h))
			goto nomem;
		cs[c].fd = -1;
		if (cs[c].kind != FK_EMPTY)
			cs[c].base = cs[c].tc ? "tc_empty" : "empty";
	}
	f.fwd = calloc(f.n, sizeof(*f.fwd));
	f.rep = calloc(f.n, sizeof(*f.rep));
	f.be_of = calloc(f.n, sizeof(*f.be_of));
	f.order = calloc(f.n, sizeof(*f.order));
	f.fwd_seen = calloc(f.n, sizeof(*f.fwd_seen));
	f.rep_seen = calloc(f.n, sizeof(*f.rep_seen));
	if (!f.fwd || !f.rep || !f.be_of || !f.order || !f.fwd_seen || !f.rep_seen)
		goto nomem;

	xdp_fd = bench_veer_prog_fd(xdp_if, "xdp");
	if (xdp_fd < 0)
		goto out;
	if (tc_if) {
		tc_fd = bench_veer_prog_fd(tc_if, "tc");
		if (tc_fd < 0)
			goto out;
	}
	empty = bench_empty__open_and_load();
	if (!empty) {
		fprintf(stderr, "veer-bench: cannot load bench_empty: %s\n", strerror(errno));
		goto out;
	}
	if (floors) {
		tbl = bench_table__open_and_load();
		if (!tbl) {
			fprintf(stderr, "veer-bench: cannot load bench_table: %s\n",
				strerror(errno));
			goto out;
		}
	}
	for (int c = 0; c < ncs; c++) {
		const char *nm = cs[c].name;

		if (!strcmp(nm, "empty"))
			cs[c].fd = bpf_program__fd(empty->progs.bench_empty);
		else if (!strcmp(nm, "tc_empty"))
			cs[c].fd = bpf_program__fd(empty->progs.bench_empty_tc);
		else if (!strncmp(nm, "lru", 3) && tbl)
			cs[c].fd = bpf_program__fd(tbl->progs.bench_table_lru);
		else if (!strncmp(nm, "hash_np", 7) && tbl)
			cs[c].fd = bpf_program__fd(tbl->progs.bench_table_hash_np);
		else if (!strncmp(nm, "hash", 4) && tbl)
			cs[c].fd = bpf_program__fd(tbl->progs.bench_table_hash);
		else if (!strcmp(nm, "array") && tbl)
			cs[c].fd = bpf_program__fd(tbl->progs.bench_table_array);
		else if (cs[c].kind != FK_INSERT && cs[c].kind != FK_FOUND)
			cs[c].fd = cs[c].tc ? tc_fd : xdp_fd;
	}

	/* The forward frames, each in memory of its own; the replies once the backends are known.
	 */
	for (__u32 i = 0; i < f.n; i++)
		bench_frame_build(&f.fwd[i], client_mac, in_mac, client_addr(&f, i), f.vip,
				  client_port(&f, i), f.vip_port);

		/*
		 * The schedule. The empty programs run first, between the blocks and last. A
		 * direction's rounds follow each other (forward at XDP, then at tc; the first
		 * replies, then the replies at XDP and at tc), so that a flow's packets in one
		 * direction are about a round apart and fall due for the refresh as rarely as a
		 * million flows allow. The floors run after veer's established rounds, so that the
		 * last two veer cases meet flows idle for as long as the floors took: all of them
		 * due.
		 */
#define ROUND(name)                                                                                \
	do {                                                                                       \
		struct fl_case *c_ = find_case(cs, ncs, name);                                     \
		if (c_->fd >= 0 && fl_round(&f, c_))                                               \
			goto out;                                                                  \
	} while (0)
	f.t0 = bench_now();
	ROUND("empty");
	ROUND("tc_empty");
	ROUND("fwd_new");
	for (__u32 i = 0; i < f.n; i++)
		bench_frame_build(&f.rep[i], be_mac, out_mac, f.backends[f.be_of[i]],
				  client_addr(&f, i), f.vip_port, client_port(&f, i));
	for (int r = 0; r < rounds; r++)
		ROUND("fwd_est");
	for (int r = 0; r < rounds; r++)
		ROUND("tc_fwd_est");
	ROUND("empty");
	ROUND("tc_empty");
	ROUND("reply_first");
	for (int r = 0; r < rounds; r++)
		ROUND("reply_est");
	for (int r = 0; r < rounds; r++)
		ROUND("tc_reply_est");
	ROUND("empty");
	ROUND("tc_empty");
	if (floors) {
		double t_veer = bench_now();

		ROUND("lru_insert");
		ROUND("hash_insert");
		ROUND("hash_np_insert");
		ROUND("array");
		for (int r = 0; r < rounds; r++) {
			ROUND("lru_est");
			ROUND("hash_est");
			ROUND("hash_np_est");
			ROUND("array");
			ROUND("empty");
		}
		idle_s = bench_now() - t_veer;
		ROUND("fwd_idle");
		ROUND("reply_idle");
	}
	ROUND("empty");
	ROUND("tc_empty");
#undef ROUND

	{
		__u64 bad = 0;

		for (int c = 0; c < ncs; c++)
			bad += cs[c].bad;
		if (bad) {
			fprintf(stderr,
				"veer-bench: %llu calls returned an unexpected verdict or "
				"packet\n",
				(unsigned long long)bad);
			goto out;
		}
	}

	for (int c = 0; c < ncs; c++) {
		struct fl_case *k = &cs[c], *b = k->base ? find_case(cs, ncs, k->base) : k;
		double kmed, bmed, wmed, lo, hi;

		if (!k->nr || !b->nr)
			continue;
		kmed = bench_median(k->mean, k->nr); /* sorts: [0] and [nr - 1] are the extremes */
		lo = k->mean[0];
		hi = k->mean[k->nr - 1];
		wmed = bench_median(k->wall, k->nr);
		bmed = bench_median(b->mean, b->nr);
		printf("flows %s kern_ns=%.1f net_ns=%.1f p50_ns=%.0f p90_ns=%.0f p99_ns=%.0f "
		       "kern_range=%.1f-%.1f rounds=%d calls=%llu wall_ns=%.1f at_s=%.1f-%.1f "
		       "refresh=%.3f hook=%s title=\"%s\"\n",
		       k->name, kmed, kmed - bmed, bench_hist_quantile(&k->h, 0.5),
		       bench_hist_quantile(&k->h, 0.9), bench_hist_quantile(&k->h, 0.99), lo, hi,
		       k->nr, (unsigned long long)k->h.n, wmed, k->t_start, k->t_end,
		       (double)k->refresh / k->h.n, k->tc ? "tc" : "xdp", k->title);
		/* Every round in the order it ran: its mean and share of refreshes due. */
		printf("flows-rounds %s", k->name);
		for (int r = 0; r < k->nr; r++)
			printf(" %.1f/%.2f", k->round_mean[r], k->round_refresh[r]);
		printf("\n");
	}
	if (bench_print_table("flows"))
		goto out;
	printf("flows params flows=%u rounds=%d backends=%d idle_s=%.1f refresh_s=%.1f floors=%d "
	       "tc=%d seed=0x%llx\n",
	       f.n, rounds, f.nbackends, idle_s, FL_REFRESH_S, floors, tc_fd >= 0,
	       (unsigned long long)seed);
	err = 0;
out:
	bench_table__destroy(tbl);
	bench_empty__destroy(empty);
	if (xdp_fd >= 0)
		close(xdp_fd);
	if (tc_fd >= 0)
		close(tc_fd);
	for (int c = 0; c < ncs; c++)
		bench_hist_free(&cs[c].h);
	free(f.fwd);
	free(f.rep);
	free(f.be_of);
	free(f.order);
	free(f.fwd_seen);
	free(f.rep_seen);
	return err;
nomem:
	fprintf(stderr, "veer-bench: out of memory for %u flows\n", f.n);
	goto out;
bad:
	usage();
	return 2;
}
