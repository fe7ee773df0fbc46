// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet cost of veer's XDP program through BPF_PROG_RUN, one call per packet (repeat=1:
 * the data plane rewrites the packet, and repeat=N would run it over its own output), net of
 * an empty XDP program measured the same way in the same run.
 *
 * The load balancer is loaded from its skeleton with private maps (pinning turned off on every
 * map), so the live state under /sys/fs/bpf/veer is not touched. Run it inside a network
 * namespace where IN and OUT exist, IP forwarding is on and the backends and the client have
 * permanent neighbour entries: the FIB lookup of a new flow must succeed, or the program hands
 * the packet to the stack and this is not the forwarding path any more (checked per call).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* setns, CPU_SET, sched_setaffinity */
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
#include "bench.h"
#include "lb.skel.h"
#include "bench_empty.skel.h"
#include "maglev.h"

#define MAX_BACKENDS 16

enum pr_case {
	PR_EMPTY,
	PR_NONVIP,
	PR_NEW,
	PR_EST,
	PR_REPLY,
	/* Second phase, once the connection table is full: every insert evicts. */
	PR_EMPTY2,
	PR_NEW_FULL,
	/*
	 * First phase too, over a frame larger than OUT's MTU with DF: the established flow's
	 * packet answered with fragmentation-needed, and another source's refused over its rate;
	 * net of an empty program run over a frame of the same size.
	 */
	PR_EMPTY_BIG,
	PR_FRAG_NEEDED,
	PR_ICMP_LIMIT,
	PR_NCASES
};

/* Larger than a 1500-byte MTU: 1586 bytes of IP. */
#define PR_BIG_LEN 1600

static const char *const case_names[PR_NCASES] = {
	"empty",  "nonvip",   "new",	   "est",	  "reply",
	"empty2", "new_full", "empty_big", "frag_needed", "icmp_limit"};
static const char *const case_titles[PR_NCASES] = {
	"empty XDP program (XDP_PASS)",
	"non-VIP packet (passed)",
	"new flow (FIB lookup)",
	"established flow (forward NAT)",
	"reply (reverse NAT)",
	"empty XDP program, second phase",
	"new flow, connection table full",
	"empty XDP program, 1600-byte frame",
	"too big, DF: fragmentation-needed sent back (XDP_TX)",
	"too big, DF, over the ICMP rate: dropped",
};

struct pr_opts {
	const char *in, *out;
	__u32 vip, client, nonvip, backends[MAX_BACKENDS];
	__u16 vip_port, client_port;
	int nbackends, rounds, calls, cpu;
	__u32 ring_size;
};

struct pr_case_state {
	int prog_fd, ifindex;
	struct bench_frame frame;
	const void *data; /* what is run: &frame, or a larger frame */
	__u32 len;
	__u32 expect;
	double kern[64], wall[64];
};

static int populate(struct lb *skel, const struct pr_opts *o)
{
	LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = BPF_F_INNER_MAP);
	struct veer_maglev_backend mb[MAX_BACKENDS] = {};
	struct veer_vip_key vk = {};
	struct veer_vip vip = {};
	__u32 *ring, id0 = 0;
	int inner, err;

	vk.addr.v4 = htonl(o->vip);
	vk.port = htons(o->vip_port);
	vk.proto = IPPROTO_UDP;
	vk.family = VEER_AF_INET;
	vip.id = 0;
	vip.ring_size = o->ring_size;
	vip.mode = VEER_MODE_NAT;

	for (int i = 0; i < o->nbackends; i++) {
		struct veer_backend be = {};
		__u32 id = i;

		be.addr.v4 = htonl(o->backends[i]);
		be.port = htons(o->vip_port);
		be.family = VEER_AF_INET;
		be.flags = VEER_BACKEND_ACTIVE;
		be.vip_id = vip.id;
		be.weight = VEER_WEIGHT_DEFAULT;
		be.seq = i;
		strcpy(be.pool, "default");
		err = bpf_map__update_elem(skel->maps.veer_backends, &id, sizeof(id), &be,
					   sizeof(be), BPF_ANY);
		if (err)
			return err;
		mb[i].id = id;
		mb[i].weight = be.weight;
		mb[i].addr = be.addr;
		mb[i].port = be.port;
		mb[i].family = be.family;
	}
	ring = calloc(o->ring_size, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	err = veer_maglev_build(mb, o->nbackends, o->ring_size, ring);
	if (err) {
		free(ring);
		return err;
	}
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "veer_ring", sizeof(__u32), sizeof(__u32),
			       o->ring_size, &copts);
	if (inner < 0) {
		free(ring);
		return -errno;
	}
	for (__u32 i = 0; i < o->ring_size && !err; i++)
		err = bpf_map_update_elem(inner, &i, &ring[i], BPF_ANY);
	free(ring);
	if (!err)
		err = bpf_map__update_elem(skel->maps.veer_rings, &id0, sizeof(id0), &inner,
					   sizeof(inner), BPF_ANY);
	close(inner);
	if (!err)
		err = bpf_map__update_elem(skel->maps.veer_vips, &vk, sizeof(vk), &vip, sizeof(vip),
					   BPF_NOEXIST);
	return err;
}

static int run_once(int prog_fd, const void *data, __u32 len, int ifindex, __u32 *retval,
		    __u32 *duration)
{
	struct xdp_md md = {.data_end = len, .ingress_ifindex = ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = len, .ctx_in = &md,
		    .ctx_size_in = sizeof(md), .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err)
		return -errno;
	*retval = opts.retval;
	*duration = opts.duration;
	return 0;
}

static const char *xdp_action_name(__u32 a)
{
	static const char *const n[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					"XDP_REDIRECT"};

	return a < 5 ? n[a] : "?";
}

/* The backend the established flow was given, from the private connection table. */
static int flow_backend(struct lb *skel, const struct bench_frame *f, __u32 *addr)
{
	struct veer_flow4_key k = {};
	struct veer_flow v;

	k.saddr = f->ip.saddr;
	k.daddr = f->ip.daddr;
	k.sport = f->udp.source;
	k.dport = f->udp.dest;
	k.proto = IPPROTO_UDP;
	if (bpf_map__lookup_elem(skel->maps.veer_flows4, &k, sizeof(k), &v, sizeof(v), 0))
		return -ENOENT;
	if (!v.ifindex) {
		fprintf(stderr, "veer-bench: the flow has no cached next hop: the FIB lookup "
				"failed (forwarding off, no route or no neighbour entry?)\n");
		return -EHOSTUNREACH;
	}
	*addr = ntohl(v.addr.v4);
	return 0;
}

/* Fills the connection table to its capacity with TCP flows no packet here belongs to. */
static int flows_fill(struct lb *skel)
{
	__u32 max = bpf_map__max_entries(skel->maps.veer_flows4), chunk = 65536;
	struct veer_flow4_key *keys = calloc(chunk, sizeof(*keys));
	struct veer_flow *vals = calloc(chunk, sizeof(*vals));
	int fd = bpf_map__fd(skel->maps.veer_flows4), err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (__u32 done = 0; done < max && !err; done += chunk) {
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		__u32 count = chunk;

		for (__u32 i = 0; i < chunk; i++) {
			__u32 n = done + i;

			keys[i].saddr = htonl(0xc6120000 | (n & 0x1ffff));
			keys[i].daddr = htonl(0xc6126401);
			keys[i].sport = htons(1024 + (n >> 17));
			keys[i].dport = htons(80);
			keys[i].proto = IPPROTO_TCP;
		}
		if (bpf_map_update_batch(fd, keys, vals, &count, &bo))
			err = -errno;
	}
out:
	free(keys);
	free(vals);
	return err;
}

/*
 * Runs the listed cases, calls times each, one after the other, and records the round's mean
 * kernel-reported and wall time per call. A new-flow case gets a fresh source every call.
 */
static int measure_round(struct pr_case_state *cs, const int *list, int n, int calls, int slot,
			 __u32 *new_seq, __u32 *mismatches)
{
	for (int k = 0; k < n; k++) {
		int c = list[k];
		struct pr_case_state *s = &cs[c];
		bool fresh = c == PR_NEW || c == PR_NEW_FULL;
		__u32 retval, dur;
		__u64 ksum = 0;
		double t0, t1;
		int err;

		t0 = bench_now();
		for (int i = 0; i < calls; i++) {
			if (fresh) {
				(*new_seq)++;
				bench_frame_set_src(&s->frame, 0xc6130000 + (*new_seq & 0xffff),
						    1024 + (*new_seq >> 16));
			}
			err = run_once(s->prog_fd, s->data, s->len, s->ifindex, &retval, &dur);
			if (err) {
				fprintf(stderr, "veer-bench: BPF_PROG_RUN: %s\n", strerror(-err));
				return err;
			}
			ksum += dur;
			if (retval != s->expect && (*mismatches)++ < 5)
				fprintf(stderr, "veer-bench: %s returned %s, expected %s\n",
					case_names[c], xdp_action_name(retval),
					xdp_action_name(s->expect));
		}
		t1 = bench_now();
		if (slot >= 0) {
			s->kern[slot] = (double)ksum / calls;
			s->wall[slot] = (t1 - t0) * 1e9 / calls;
		}
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: veer-bench prog-run --in IFACE --out IFACE [--rounds N] [--calls N]\n"
		"       [--cpu N] [--vip ADDR:PORT] [--client ADDR:PORT] [--nonvip ADDR]\n"
		"       [--backend ADDR]... [--ring-size PRIME]\n"
		"Prints one line 'prog-run CASE kern_ns=.. wall_ns=.. net_ns=..' per case.\n");
}

int cmd_prog_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"in", required_argument, NULL, 'i'},
		{"out", required_argument, NULL, 'o'},
		{"rounds", required_argument, NULL, 'r'},
		{"calls", required_argument, NULL, 'c'},
		{"cpu", required_argument, NULL, 'C'},
		{"vip", required_argument, NULL, 'v'},
		{"client", required_argument, NULL, 'l'},
		{"nonvip", required_argument, NULL, 'n'},
		{"backend", required_argument, NULL, 'b'},
		{"ring-size", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct pr_opts o = {.rounds = 7,
			    .calls = 30000,
			    .cpu = -1,
			    .ring_size = VEER_RING_DEFAULT,
			    .vip_port = 80,
			    .client_port = 40000};
	static struct pr_case_state cs[PR_NCASES];
	static __u8 big[PR_BIG_LEN], big_other[PR_BIG_LEN];
	struct bench_empty *empty = NULL;
	struct lb *skel = NULL;
	struct bpf_map *map;
	__u8 in_mac[ETH_ALEN], out_mac[ETH_ALEN], peer_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x99};
	__u32 be_addr, retval, dur, new_seq = 0, mismatches = 0;
	int opt, err = 1, in_idx, out_idx;

	bench_parse_ipv4_port("198.18.100.10:80", &o.vip, &o.vip_port);
	bench_parse_ipv4_port("198.18.1.2:40000", &o.client, &o.client_port);
	bench_parse_ipv4("198.18.200.1", &o.nonvip);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			o.in = optarg;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'r':
			o.rounds = atoi(optarg);
			break;
		case 'c':
			o.calls = atoi(optarg);
			break;
		case 'C':
			o.cpu = atoi(optarg);
			break;
		case 'R':
			o.ring_size = strtoul(optarg, NULL, 10);
			break;
		case 'v':
			if (bench_parse_ipv4_port(optarg, &o.vip, &o.vip_port))
				goto bad;
			break;
		case 'l':
			if (bench_parse_ipv4_port(optarg, &o.client, &o.client_port))
				goto bad;
			break;
		case 'n':
			if (bench_parse_ipv4(optarg, &o.nonvip))
				goto bad;
			break;
		case 'b':
			if (o.nbackends == MAX_BACKENDS ||
			    bench_parse_ipv4(optarg, &o.backends[o.nbackends++]))
				goto bad;
			break;
		default:
			goto bad;
		}
	}
	if (!o.in || !o.out || o.rounds < 1 || o.rounds > 63 || o.calls < 1 ||
	    !veer_is_prime(o.ring_size))
		goto bad;
	if (!o.nbackends) {
		const char *def[] = {"198.18.11.2", "198.18.11.3", "198.18.11.4"};

		for (int i = 0; i < 3; i++)
			bench_parse_ipv4(def[i], &o.backends[o.nbackends++]);
	}
	if (o.cpu >= 0 && bench_pin_cpu(o.cpu))
		fprintf(stderr, "veer-bench: cannot pin to CPU %d, running unpinned\n", o.cpu);

	in_idx = bench_ifindex(o.in);
	out_idx = bench_ifindex(o.out);
	if (!in_idx || !out_idx || bench_ifmac(o.in, in_mac) || bench_ifmac(o.out, out_mac))
		return 1;

	skel = lb__open();
	if (!skel) {
		fprintf(stderr, "veer-bench: cannot open the lb skeleton: %s\n", strerror(errno));
		return 1;
	}
	/* Private maps: nothing pinned, nothing adopted. */
	bpf_object__for_each_map(map, skel->obj) bpf_map__set_pin_path(map, NULL);
	/* A token a nanosecond: the answered case never runs out of them. */
	skel->rodata->icmp_rate = 1000000000;
	skel->rodata->icmp_burst = 1000000000;
	err = lb__load(skel);
	if (err) {
		fprintf(stderr, "veer-bench: cannot load the lb program: %s\n", strerror(-err));
		goto out;
	}
	err = populate(skel, &o);
	if (err) {
		fprintf(stderr, "veer-bench: cannot populate the private maps: %s\n",
			strerror(-err));
		goto out;
	}
	empty = bench_empty__open_and_load();
	if (!empty) {
		fprintf(stderr, "veer-bench: cannot load bench_empty: %s\n", strerror(errno));
		err = -errno;
		goto out;
	}

	for (int c = 0; c < PR_NCASES; c++) {
		bool base = c == PR_EMPTY || c == PR_EMPTY_BIG;

		cs[c].prog_fd =
			bpf_program__fd(base ? empty->progs.bench_empty : skel->progs.veer_lb);
		cs[c].ifindex = in_idx;
		cs[c].expect = XDP_REDIRECT;
		cs[c].data = &cs[c].frame;
		cs[c].len = sizeof(cs[c].frame);
	}
	bench_frame_build(&cs[PR_EMPTY].frame, peer_mac, in_mac, o.client, o.vip, o.client_port,
			  o.vip_port);
	cs[PR_EMPTY].expect = XDP_PASS;
	cs[PR_EMPTY2] = cs[PR_EMPTY];
	bench_frame_build(&cs[PR_NONVIP].frame, peer_mac, in_mac, o.client, o.nonvip, o.client_port,
			  o.vip_port);
	cs[PR_NONVIP].expect = XDP_PASS;
	/* New flows come from 198.19.0.0/16 x ports 1024.., one distinct source per call. */
	bench_frame_build(&cs[PR_NEW].frame, peer_mac, in_mac, 0xc6130000, o.vip, 1024, o.vip_port);
	cs[PR_EST].frame = cs[PR_EMPTY].frame;

	/* Establish the flow, then find which backend it went to, to build its reply. */
	err = run_once(cs[PR_EST].prog_fd, cs[PR_EST].data, cs[PR_EST].len, in_idx, &retval, &dur);
	if (!err && retval != XDP_REDIRECT) {
		fprintf(stderr,
			"veer-bench: the first packet of a flow returned %s, not "
			"XDP_REDIRECT: the data plane did not forward it itself\n",
			xdp_action_name(retval));
		err = -EINVAL;
	}
	if (!err)
		err = flow_backend(skel, &cs[PR_EST].frame, &be_addr);
	if (err) {
		fprintf(stderr, "veer-bench: cannot establish the benchmark flow: %s\n",
			strerror(-err));
		goto out;
	}
	bench_frame_build(&cs[PR_REPLY].frame, peer_mac, out_mac, be_addr, o.client, o.vip_port,
			  o.client_port);
	cs[PR_REPLY].ifindex = out_idx;

	/*
	 * Too big for OUT: the established flow's 5-tuple, and a second client's whose bucket is
	 * empty for ever (its first packet makes its flow, in the warm-up round).
	 */
	bench_frame_grow(big, sizeof(big), &cs[PR_EST].frame, true);
	bench_frame_build(&cs[PR_ICMP_LIMIT].frame, peer_mac, in_mac, o.client + 1, o.vip,
			  o.client_port, o.vip_port);
	bench_frame_grow(big_other, sizeof(big_other), &cs[PR_ICMP_LIMIT].frame, true);
	cs[PR_EMPTY_BIG].data = cs[PR_FRAG_NEEDED].data = big;
	cs[PR_ICMP_LIMIT].data = big_other;
	cs[PR_EMPTY_BIG].len = cs[PR_FRAG_NEEDED].len = cs[PR_ICMP_LIMIT].len = PR_BIG_LEN;
	cs[PR_EMPTY_BIG].expect = XDP_PASS;
	cs[PR_FRAG_NEEDED].expect = XDP_TX;
	cs[PR_ICMP_LIMIT].expect = XDP_DROP;
	{
		struct veer_icmp_rl_key rk = {.family = VEER_AF_INET};
		struct veer_icmp_rl rv = {.tat = ~0ULL >> 1};

		rk.addr.v4 = htonl(o.client + 1);
		err = bpf_map__update_elem(skel->maps.veer_icmp_rl, &rk, sizeof(rk), &rv,
					   sizeof(rv), BPF_ANY);
		if (err) {
			fprintf(stderr, "veer-bench: cannot empty a rate-limit bucket: %s\n",
				strerror(-err));
			goto out;
		}
	}

	/* Round 0 warms caches up and is thrown away; the cases interleave within a round. */
	for (int r = 0; r <= o.rounds; r++) {
		static const int phase1[] = {PR_EMPTY, PR_NONVIP,    PR_NEW,	     PR_EST,
					     PR_REPLY, PR_EMPTY_BIG, PR_FRAG_NEEDED, PR_ICMP_LIMIT};

		err = measure_round(cs, phase1, 8, o.calls, r - 1, &new_seq, &mismatches);
		if (err)
			goto out;
	}
	err = flows_fill(skel);
	if (err) {
		fprintf(stderr, "veer-bench: cannot fill the connection table: %s\n",
			strerror(-err));
		goto out;
	}
	cs[PR_NEW_FULL].frame = cs[PR_NEW].frame;
	for (int r = 0; r <= o.rounds; r++) {
		static const int phase2[] = {PR_EMPTY2, PR_NEW_FULL};

		err = measure_round(cs, phase2, 2, o.calls, r - 1, &new_seq, &mismatches);
		if (err)
			goto out;
	}
	if (mismatches) {
		fprintf(stderr, "veer-bench: %u calls returned an unexpected action\n", mismatches);
		err = -EINVAL;
		goto out;
	}

	{
		double kmed[PR_NCASES], wmed[PR_NCASES];

		for (int c = 0; c < PR_NCASES; c++) {
			kmed[c] = bench_median(cs[c].kern, o.rounds);
			wmed[c] = bench_median(cs[c].wall, o.rounds);
		}
		for (int c = 0; c < PR_NCASES; c++) {
			int base = c >= PR_EMPTY_BIG ? PR_EMPTY_BIG
				   : c >= PR_EMPTY2  ? PR_EMPTY2
						     : PR_EMPTY;

			printf("prog-run %s kern_ns=%.1f wall_ns=%.1f net_ns=%.1f net_wall_ns=%.1f "
			       "title=\"%s\"\n",
			       case_names[c], kmed[c], wmed[c], kmed[c] - kmed[base],
			       wmed[c] - wmed[base], case_titles[c]);
		}
		printf("prog-run params rounds=%d calls=%d new_flows=%u ring_size=%u backends=%d\n",
		       o.rounds, o.calls, new_seq, o.ring_size, o.nbackends);
	}
	err = 0;
out:
	bench_empty__destroy(empty);
	lb__destroy(skel);
	return err ? 1 : 0;
bad:
	usage();
	return 2;
}
