// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet cost of veer's data plane through BPF_PROG_RUN, at both hooks it runs at: the XDP
 * program veer_lb (ctx struct xdp_md) and the tc program veer_lb_tc (ctx struct __sk_buff with
 * the ingress ifindex). One call per packet (repeat=1: the data plane rewrites the packet, and
 * repeat=N would run it over its own output), net of an empty program of the same hook
 * measured the same way in the same run.
 *
 * The load balancer is loaded from its skeleton with private maps (pinning turned off on every
 * map), so the live state under /sys/fs/bpf/veer is not touched; both programs share those
 * maps as they do when attached. Run it inside a network namespace where IN and OUT exist, IPv4
 * and IPv6 forwarding are on, both have addresses of both families and the backends and the
 * clients (IPv4 and IPv6) have permanent neighbour entries: the FIB lookup of a new flow must
 * succeed, or the program hands the packet to the stack and this is not the forwarding path
 * any more (every call's verdict is checked).
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
#include <linux/pkt_cls.h>
#include "bench.h"
#include "packet.h"   /* tests/unit/packet.c: the unit fixtures' builder, RFC 1071 sums */
#include "internal.h" /* libveer's own map upkeep: veer_be_index_sync() */
#include "bench_empty.skel.h"
#include "maglev.h"

#define MAX_BACKENDS 16

enum pr_hook { PR_XDP, PR_TC };

/* The packets the cases send; each is built once, after the benchmark flow exists. */
enum pr_frame {
	FR_CLIENT,    /* client -> VIP, the established flow's packet */
	FR_NONVIP,    /* client -> an address that is no VIP */
	FR_NEW,	      /* client -> VIP from a source of its own every call */
	FR_REPLY,     /* backend -> client, arriving on OUT */
	FR_BIG,	      /* the established flow's packet, PR_BIG_LEN bytes with DF: too big */
	FR_BIG_LIMIT, /* the same from a second client whose ICMP rate bucket is empty */
	/* Built with tests/unit/packet.h (struct pkt), each into pkts[frame]: */
	FR_ECHO,	/* client -> the VIP's address, ICMP echo request: answered */
	FR_ICMP_ERR,	/* router -> client, frag-needed quoting client -> backend: forwarded */
	FR_FRAG_TAIL,	/* client -> VIP, last fragment of a datagram whose first one was sent */
	FR_CLIENT_OPT,	/* FR_CLIENT with 4 bytes of IPv4 options (Router Alert) */
	FR_CLIENT6,	/* client6 -> VIP6, the established IPv6 flow's packet */
	FR_CLIENT6_HBH, /* the same behind one 8-byte hop-by-hop options header */
	FR_COUNT
};

/* Larger than a 1500-byte MTU: 1586 bytes of IP. */
#define PR_BIG_LEN 1600

/* What a case's calls must return, in the hook's terms. */
enum pr_expect {
	EX_PASS,     /* XDP_PASS, TC_ACT_OK */
	EX_REDIRECT, /* XDP_REDIRECT, TC_ACT_REDIRECT: forwarded */
	EX_BACK,     /* XDP_TX, TC_ACT_REDIRECT (to the ingress device): answered */
	EX_DROP,     /* XDP_DROP, TC_ACT_SHOT */
};

struct pr_case {
	const char *name, *title;
	enum pr_hook hook;
	enum pr_frame frame;
	enum pr_expect expect;
	int phase;	  /* 1: table with room; 2: after the connection table was filled */
	const char *base; /* the empty program it is net of ("" for the baselines) */
};

/*
 * The cases, in the order they run within a round (cases interleave, so drift hits all
 * alike). A baseline has base "". To measure another path, add its packet to enum pr_frame
 * (built in cmd_prog_run or build_pkts), add a row here, and add the name to PR_CASES in
 * scripts/bench.sh.
 *
 * BPF_PROG_RUN copies data_in into a fresh buffer on every call and nothing here asks for
 * data_out: every call starts from the case's original bytes, also where the program rewrites
 * the packet in place (an echo request turned into its reply, a NAT rewrite).
 */
static const struct pr_case cases[] = {
	{"empty", "empty XDP program (XDP_PASS)", PR_XDP, FR_CLIENT, EX_PASS, 1, ""},
	{"nonvip", "non-VIP packet (passed)", PR_XDP, FR_NONVIP, EX_PASS, 1, "empty"},
	{"new", "new flow (FIB lookup)", PR_XDP, FR_NEW, EX_REDIRECT, 1, "empty"},
	{"est", "established flow (forward NAT)", PR_XDP, FR_CLIENT, EX_REDIRECT, 1, "empty"},
	{"reply", "reply (reverse NAT)", PR_XDP, FR_REPLY, EX_REDIRECT, 1, "empty"},
	{"tc_empty", "empty tc program (TC_ACT_OK)", PR_TC, FR_CLIENT, EX_PASS, 1, ""},
	{"tc_nonvip", "tc: non-VIP packet (passed)", PR_TC, FR_NONVIP, EX_PASS, 1, "tc_empty"},
	{"tc_est", "tc: established flow (forward NAT)", PR_TC, FR_CLIENT, EX_REDIRECT, 1,
	 "tc_empty"},
	{"tc_reply", "tc: reply (reverse NAT)", PR_TC, FR_REPLY, EX_REDIRECT, 1, "tc_empty"},
	/* ICMP (rules 6, 7) and fragments (rule 9); frames of 60 to 88 bytes. */
	{"icmp_echo", "echo request to the VIP's address, answered (XDP_TX)", PR_XDP, FR_ECHO,
	 EX_BACK, 1, "empty"},
	{"icmp_error", "ICMP error quoting client->backend: rewritten, forwarded", PR_XDP,
	 FR_ICMP_ERR, EX_REDIRECT, 1, "empty"},
	{"frag_tail", "non-first fragment of a balanced datagram: forwarded", PR_XDP, FR_FRAG_TAIL,
	 EX_REDIRECT, 1, "empty"},
	{"tc_icmp_echo", "tc: echo request to the VIP's address, answered (redirect to IN)", PR_TC,
	 FR_ECHO, EX_BACK, 1, "tc_empty"},
	{"tc_icmp_error", "tc: ICMP error quoting client->backend: rewritten, forwarded", PR_TC,
	 FR_ICMP_ERR, EX_REDIRECT, 1, "tc_empty"},
	{"tc_frag_tail", "tc: non-first fragment of a balanced datagram: forwarded", PR_TC,
	 FR_FRAG_TAIL, EX_REDIRECT, 1, "tc_empty"},
	/*
	 * Header checks (rules 2-4): the established flow's packet with IPv4 options next to the
	 * plain one (est), and an established IPv6 flow's packet with and without one hop-by-hop
	 * header in front of UDP.
	 */
	{"est_ipopt", "established flow, 4 bytes of IPv4 options", PR_XDP, FR_CLIENT_OPT,
	 EX_REDIRECT, 1, "empty"},
	{"est6", "established IPv6 flow (forward NAT)", PR_XDP, FR_CLIENT6, EX_REDIRECT, 1,
	 "empty"},
	{"est6_hbh", "established IPv6 flow behind a hop-by-hop header", PR_XDP, FR_CLIENT6_HBH,
	 EX_REDIRECT, 1, "empty"},
	{"tc_est_ipopt", "tc: established flow, 4 bytes of IPv4 options", PR_TC, FR_CLIENT_OPT,
	 EX_REDIRECT, 1, "tc_empty"},
	{"tc_est6", "tc: established IPv6 flow (forward NAT)", PR_TC, FR_CLIENT6, EX_REDIRECT, 1,
	 "tc_empty"},
	{"tc_est6_hbh", "tc: established IPv6 flow behind a hop-by-hop header", PR_TC,
	 FR_CLIENT6_HBH, EX_REDIRECT, 1, "tc_empty"},
	/*
	 * Over a frame larger than OUT's MTU with DF: the established flow's packet answered with
	 * fragmentation-needed, and another source's refused over its rate; net of an empty
	 * program run over a frame of the same size.
	 */
	{"empty_big", "empty XDP program, 1600-byte frame", PR_XDP, FR_BIG, EX_PASS, 1, ""},
	{"frag_needed", "too big, DF: fragmentation-needed sent back (XDP_TX)", PR_XDP, FR_BIG,
	 EX_BACK, 1, "empty_big"},
	{"icmp_limit", "too big, DF, over the ICMP rate: dropped", PR_XDP, FR_BIG_LIMIT, EX_DROP, 1,
	 "empty_big"},
	{"tc_empty_big", "empty tc program, 1600-byte frame", PR_TC, FR_BIG, EX_PASS, 1, ""},
	{"tc_frag_needed", "tc: too big, DF: fragmentation-needed sent back (redirect to IN)",
	 PR_TC, FR_BIG, EX_BACK, 1, "tc_empty_big"},
	{"tc_icmp_limit", "tc: too big, DF, over the ICMP rate: dropped", PR_TC, FR_BIG_LIMIT,
	 EX_DROP, 1, "tc_empty_big"},
	/* Second phase, once the connection table is full: every insert evicts. */
	{"empty2", "empty XDP program, second phase", PR_XDP, FR_CLIENT, EX_PASS, 2, ""},
	{"new_full", "new flow, connection table full", PR_XDP, FR_NEW, EX_REDIRECT, 2, "empty2"},
};

#define PR_NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

struct pr_opts {
	const char *in, *out;
	__u32 vip, client, nonvip, backends[MAX_BACKENDS];
	__u16 vip_port, client_port;
	int nbackends, rounds, calls, cpu;
	__u32 ring_size;
	/* The IPv6 VIP (port and protocol: the IPv4 VIP's), its client and backends. */
	union veer_addr vip6, client6, backends6[MAX_BACKENDS];
	int nbackends6;
};

struct pr_case_state {
	int prog_fd, ifindex, base;
	struct bench_frame frame;
	const void *data; /* what is run: &frame, or a larger frame */
	__u32 len;
	__u32 expect;
	/* Sent once before every round's calls, untimed (a fragment's first one): or NULL. */
	const void *prime;
	__u32 prime_len;
	double kern[64], wall[64];
};

static int be_index_sync(struct lb *skel, const union veer_addr *addr, __be16 port, __u8 family)
{
	static struct veer_backend table[VEER_MAX_BACKENDS];
	int fd = bpf_map__fd(skel->maps.veer_backends);

	for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++)
		if (bpf_map_lookup_elem(fd, &id, &table[id]))
			return -errno;
	return veer_be_index_sync(skel->maps.veer_vips, skel->maps.veer_backends,
				  skel->maps.veer_be_index, skel->maps.veer_svc, table, addr, port,
				  family);
}

/*
 * One NAT VIP (UDP, vip_port) with backends ids id0.., its Maglev table, and its address in
 * veer_vip_addrs (the addresses veer answers echo requests for), as libveer would write them.
 */
static int populate_vip(struct lb *skel, __u32 vip_id, __u8 family, const union veer_addr *addr,
			__u16 vip_port, const union veer_addr *backends, int n, __u32 id0,
			__u32 ring_size)
{
	LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = BPF_F_INNER_MAP);
	struct veer_maglev_backend mb[MAX_BACKENDS] = {};
	struct veer_vip_addr_key ak = {};
	struct veer_vip_key vk = {};
	struct veer_vip vip = {};
	__u32 *ring, one = 1;
	int inner, err;

	vk.addr = *addr;
	vk.port = htons(vip_port);
	vk.proto = IPPROTO_UDP;
	vk.family = family;
	vip.id = vip_id;
	vip.ring_size = ring_size;
	vip.mode = VEER_MODE_NAT;

	for (int i = 0; i < n; i++) {
		struct veer_backend be = {};
		__u32 id = id0 + i;

		be.addr = backends[i];
		be.port = htons(vip_port);
		be.family = family;
		be.flags = VEER_BACKEND_ACTIVE;
		be.vip_id = vip.id;
		be.weight = VEER_WEIGHT_DEFAULT;
		be.seq = id;
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
	ring = calloc(ring_size, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	err = veer_maglev_build(mb, n, ring_size, ring);
	if (err) {
		free(ring);
		return err;
	}
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "veer_ring", sizeof(__u32), sizeof(__u32),
			       ring_size, &copts);
	if (inner < 0) {
		free(ring);
		return -errno;
	}
	for (__u32 i = 0; i < ring_size && !err; i++)
		err = bpf_map_update_elem(inner, &i, &ring[i], BPF_ANY);
	free(ring);
	if (!err)
		err = bpf_map__update_elem(skel->maps.veer_rings, &vip_id, sizeof(vip_id), &inner,
					   sizeof(inner), BPF_ANY);
	close(inner);
	if (!err)
		err = bpf_map__update_elem(skel->maps.veer_vips, &vk, sizeof(vk), &vip, sizeof(vip),
					   BPF_NOEXIST);
	ak.addr = *addr;
	ak.family = family;
	if (!err)
		err = bpf_map__update_elem(skel->maps.veer_vip_addrs, &ak, sizeof(ak), &one,
					   sizeof(one), BPF_ANY);
	/* The filter and the backend index, by libveer's own code. */
	if (!err)
		err = veer_svc_sync(skel->maps.veer_vips, skel->maps.veer_be_index,
				    skel->maps.veer_svc, &vk.addr, vk.port, vk.proto, vk.family);
	for (int i = 0; !err && i < n; i++)
		err = be_index_sync(skel, &backends[i], htons(vip_port), family);
	return err;
}

/* The IPv4 VIP (id 0, backends 0..) and the IPv6 one (id 1, the backends after those). */
static int populate(struct lb *skel, const struct pr_opts *o)
{
	union veer_addr vip = {}, be[MAX_BACKENDS] = {};
	int err;

	vip.v4 = htonl(o->vip);
	for (int i = 0; i < o->nbackends; i++)
		be[i].v4 = htonl(o->backends[i]);
	err = populate_vip(skel, 0, VEER_AF_INET, &vip, o->vip_port, be, o->nbackends, 0,
			   o->ring_size);
	if (!err)
		err = populate_vip(skel, 1, VEER_AF_INET6, &o->vip6, o->vip_port, o->backends6,
				   o->nbackends6, o->nbackends, o->ring_size);
	return err;
}

static int run_once(int prog_fd, enum pr_hook hook, const void *data, __u32 len, int ifindex,
		    __u32 *retval, __u32 *duration)
{
	struct xdp_md md = {.data_end = len, .ingress_ifindex = ifindex};
	/* At tc the runner builds an skb on ifindex's device: what veer_lb_tc sees at ingress. */
	struct __sk_buff skb = {.ifindex = ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = len, .repeat = 1);
	int err;

	if (hook == PR_TC) {
		opts.ctx_in = &skb;
		opts.ctx_size_in = sizeof(skb);
	} else {
		opts.ctx_in = &md;
		opts.ctx_size_in = sizeof(md);
	}
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err)
		return -errno;
	*retval = opts.retval;
	*duration = opts.duration;
	return 0;
}

static const char *action_name(enum pr_hook hook, __u32 a)
{
	static const char *const x[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					"XDP_REDIRECT"};

	if (hook == PR_XDP)
		return a < 5 ? x[a] : "?";
	switch (a) {
	case TC_ACT_OK:
		return "TC_ACT_OK";
	case TC_ACT_SHOT:
		return "TC_ACT_SHOT";
	case TC_ACT_REDIRECT:
		return "TC_ACT_REDIRECT";
	default:
		return "?";
	}
}

static int case_index(const char *name)
{
	for (int c = 0; c < PR_NCASES; c++)
		if (!strcmp(cases[c].name, name))
			return c;
	return -1;
}

/* The next hop toward a backend as some CPU resolved it. */
static bool backend_hop_any(struct lb *skel, __u32 id, struct veer_hop *hop)
{
	int ncpus = libbpf_num_possible_cpus();
	struct veer_be_hop *hops = calloc(ncpus > 0 ? ncpus : 1, sizeof(*hops));
	bool found = false;

	if (hops && ncpus > 0 &&
	    !bpf_map__lookup_elem(skel->maps.veer_be_hops, &id, sizeof(id), hops,
				  ncpus * sizeof(*hops), 0))
		for (int c = 0; !found && c < ncpus; c++)
			if (hops[c].resolved) {
				*hop = hops[c].hop;
				found = true;
			}
	free(hops);
	return found;
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
	struct veer_backend be;
	struct veer_hop hop;

	if (bpf_map__lookup_elem(skel->maps.veer_flows4, &k, sizeof(k), &v, sizeof(v), 0) ||
	    bpf_map__lookup_elem(skel->maps.veer_backends, &v.backend_id, sizeof(v.backend_id), &be,
				 sizeof(be), 0))
		return -ENOENT;
	if (!backend_hop_any(skel, v.backend_id, &hop) || !hop.ifindex) {
		fprintf(stderr, "veer-bench: the flow has no cached next hop: the FIB lookup "
				"failed (forwarding off, no route or no neighbour entry?)\n");
		return -EHOSTUNREACH;
	}
	*addr = ntohl(be.addr.v4);
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
 * Runs the cases of one phase, calls times each, one after the other, and records the round's
 * mean kernel-reported and wall time per call. A new-flow case gets a fresh source every call.
 */
static int measure_round(struct pr_case_state *cs, int phase, int calls, int slot, __u32 *new_seq,
			 __u32 *mismatches)
{
	for (int c = 0; c < PR_NCASES; c++) {
		struct pr_case_state *s = &cs[c];
		bool fresh = cases[c].frame == FR_NEW;
		__u32 retval, dur;
		__u64 ksum = 0;
		double t0, t1;
		int err;

		if (cases[c].phase != phase)
			continue;
		if (s->prime) {
			err = run_once(s->prog_fd, cases[c].hook, s->prime, s->prime_len,
				       s->ifindex, &retval, &dur);
			if (err) {
				fprintf(stderr, "veer-bench: BPF_PROG_RUN: %s\n", strerror(-err));
				return err;
			}
			if (retval != s->expect && (*mismatches)++ < 5)
				fprintf(stderr, "veer-bench: %s's priming packet returned %s\n",
					cases[c].name, action_name(cases[c].hook, retval));
		}
		t0 = bench_now();
		for (int i = 0; i < calls; i++) {
			if (fresh) {
				(*new_seq)++;
				bench_frame_set_src(&s->frame, 0xc6130000 + (*new_seq & 0xffff),
						    1024 + (*new_seq >> 16));
			}
			err = run_once(s->prog_fd, cases[c].hook, s->data, s->len, s->ifindex,
				       &retval, &dur);
			if (err) {
				fprintf(stderr, "veer-bench: BPF_PROG_RUN: %s\n", strerror(-err));
				return err;
			}
			ksum += dur;
			if (retval != s->expect && (*mismatches)++ < 5)
				fprintf(stderr, "veer-bench: %s returned %s, expected %s\n",
					cases[c].name, action_name(cases[c].hook, retval),
					action_name(cases[c].hook, s->expect));
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
		"       [--backend ADDR]... [--ring-size PRIME] [--vip6 ADDR] [--client6 ADDR]\n"
		"       [--backend6 ADDR]...\n"
		"Prints one line 'prog-run CASE kern_ns=.. wall_ns=.. net_ns=..' per case.\n");
}

/* The first packet of a flow, or a packet that resolves a flow's next hop: forwarded at XDP. */
static int send_first(struct lb *skel, const void *data, __u32 len, int ifindex, const char *what)
{
	__u32 retval, dur;
	int err;

	err = run_once(bpf_program__fd(skel->progs.veer_lb), PR_XDP, data, len, ifindex, &retval,
		       &dur);
	if (err)
		return err;
	if (retval != XDP_REDIRECT) {
		fprintf(stderr,
			"veer-bench: %s returned %s, not XDP_REDIRECT: the data plane did not "
			"forward it itself (forwarding off, no route or no neighbour entry?)\n",
			what, action_name(PR_XDP, retval));
		return -EINVAL;
	}
	return 0;
}

static const char *ip4_str(__u32 host, char *buf)
{
	struct in_addr a = {.s_addr = htonl(host)};

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/*
 * The frames tests/unit/packet.h builds (pkts[frame]; *first: the fragment's first one), once
 * the IPv4 flow exists and its backend is known (be_addr, host order).
 */
static int build_pkts(const struct pr_opts *o, const __u8 *peer_mac, const __u8 *in_mac,
		      const __u8 *out_mac, __u32 be_addr, struct pkt *pkts, struct pkt *first)
{
	static const __u8 router_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0x11, 0xfe};
	char client[INET_ADDRSTRLEN], vip[INET_ADDRSTRLEN], be[INET_ADDRSTRLEN];
	char client6[INET6_ADDRSTRLEN], vip6[INET6_ADDRSTRLEN];
	struct pkt_spec s = {}, in = {}, err_s = {};
	struct pkt inner;
	int err;

	ip4_str(o->client, client);
	ip4_str(o->vip, vip);
	ip4_str(be_addr, be);
	inet_ntop(AF_INET6, &o->client6, client6, sizeof(client6));
	inet_ntop(AF_INET6, &o->vip6, vip6, sizeof(vip6));

	/* Client -> VIP: 60-byte frames like the established flow's. */
	memcpy(s.dmac, in_mac, ETH_ALEN);
	memcpy(s.smac, peer_mac, ETH_ALEN);
	s.saddr = client;
	s.daddr = vip;
	s.proto = IPPROTO_ICMP;
	s.payload = 18;
	err = pkt_build(&pkts[FR_ECHO], &s);

	s.proto = IPPROTO_UDP;
	s.sport = o->client_port;
	s.dport = o->vip_port;
	s.ip_opts = 4;
	s.payload = 14;
	if (!err)
		err = pkt_build(&pkts[FR_CLIENT_OPT], &s);

	/* A 48-byte UDP datagram in two fragments of 24 (the first holds the UDP header). */
	s.ip_opts = 0;
	s.ip_id = 0x1234;
	s.pad = 2;
	if (!err)
		err = pkt_build_frag(first, &s, 40, 0, 24, true);
	if (!err)
		err = pkt_build_frag(&pkts[FR_FRAG_TAIL], &s, 40, 24, 24, false);

	/*
	 * A router between veer and the backend refuses the flow's packet as veer forwarded it
	 * (client -> backend, TTL one less) and quotes all of it: frag-needed, next-hop MTU 1400.
	 */
	in = s;
	in.daddr = be;
	in.ttl = 63;
	in.ip_id = 0;
	in.pad = 0;
	in.payload = 18;
	if (!err)
		err = pkt_build(&inner, &in);
	memcpy(err_s.dmac, out_mac, ETH_ALEN);
	memcpy(err_s.smac, router_mac, ETH_ALEN);
	err_s.saddr = "198.18.11.254";
	err_s.daddr = client;
	if (!err)
		err = pkt_build_icmp_error(&pkts[FR_ICMP_ERR], &err_s, 3, 4, 1400, &inner,
					   inner.len - ETH_HLEN);

	/* IPv6: client6 -> VIP6, plain and behind an 8-byte hop-by-hop header (PadN). */
	s = (struct pkt_spec){};
	memcpy(s.dmac, in_mac, ETH_ALEN);
	memcpy(s.smac, peer_mac, ETH_ALEN);
	s.saddr = client6;
	s.daddr = vip6;
	s.proto = IPPROTO_UDP;
	s.sport = o->client_port;
	s.dport = o->vip_port;
	s.payload = 10;
	if (!err)
		err = pkt_build(&pkts[FR_CLIENT6], &s);
	s.ext6_n = 1;
	s.ext6[0].type = 0; /* hop-by-hop */
	s.ext6[0].len = 0;
	if (!err)
		err = pkt_build(&pkts[FR_CLIENT6_HBH], &s);
	if (err)
		fprintf(stderr, "veer-bench: cannot build the ICMP, fragment and IPv6 frames: %s\n",
			strerror(-err));
	return err;
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
		{"vip6", required_argument, NULL, '6'},
		{"client6", required_argument, NULL, 'L'},
		{"backend6", required_argument, NULL, 'B'},
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
	static struct bench_frame frames[FR_COUNT];
	static __u8 big[PR_BIG_LEN], big_limit[PR_BIG_LEN];
	static struct pkt pkts[FR_COUNT], frag_first;
	struct bench_empty *empty = NULL;
	struct lb *skel = NULL;
	struct bpf_map *map;
	__u8 in_mac[ETH_ALEN], out_mac[ETH_ALEN], peer_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x99};
	__u32 be_addr, new_seq = 0, mismatches = 0;
	int opt, err = 1, in_idx, out_idx;

	bench_parse_ipv4_port("198.18.100.10:80", &o.vip, &o.vip_port);
	bench_parse_ipv4_port("198.18.1.2:40000", &o.client, &o.client_port);
	bench_parse_ipv4("198.18.200.1", &o.nonvip);
	inet_pton(AF_INET6, "2001:2:0:100::10", &o.vip6);
	inet_pton(AF_INET6, "2001:2:0:1::2", &o.client6);
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
		case '6':
			if (inet_pton(AF_INET6, optarg, &o.vip6) != 1)
				goto bad;
			break;
		case 'L':
			if (inet_pton(AF_INET6, optarg, &o.client6) != 1)
				goto bad;
			break;
		case 'B':
			if (o.nbackends6 == MAX_BACKENDS ||
			    inet_pton(AF_INET6, optarg, &o.backends6[o.nbackends6++]) != 1)
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
	if (!o.nbackends6) {
		const char *def[] = {"2001:2:0:11::2", "2001:2:0:11::3", "2001:2:0:11::4"};

		for (int i = 0; i < 3; i++)
			inet_pton(AF_INET6, def[i], &o.backends6[o.nbackends6++]);
	}
	if (o.nbackends + o.nbackends6 > MAX_BACKENDS)
		goto bad;
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

	/* Establish the flow at XDP, then find which backend it went to, to build its reply. */
	bench_frame_build(&frames[FR_CLIENT], peer_mac, in_mac, o.client, o.vip, o.client_port,
			  o.vip_port);
	bench_frame_build(&frames[FR_NONVIP], peer_mac, in_mac, o.client, o.nonvip, o.client_port,
			  o.vip_port);
	/* New flows come from 198.19.0.0/16 x ports 1024.., one distinct source per call. */
	bench_frame_build(&frames[FR_NEW], peer_mac, in_mac, 0xc6130000, o.vip, 1024, o.vip_port);
	err = send_first(skel, &frames[FR_CLIENT], sizeof(frames[FR_CLIENT]), in_idx,
			 "the first packet of the flow");
	if (!err)
		err = flow_backend(skel, &frames[FR_CLIENT], &be_addr);
	if (err) {
		fprintf(stderr, "veer-bench: cannot establish the benchmark flow: %s\n",
			strerror(-err));
		goto out;
	}
	bench_frame_build(&frames[FR_REPLY], peer_mac, out_mac, be_addr, o.client, o.vip_port,
			  o.client_port);
	err = build_pkts(&o, peer_mac, in_mac, out_mac, be_addr, pkts, &frag_first);
	if (err)
		goto out;
	/*
	 * A reply entry resolves its next hop on the flow's first reply: one now, so that the
	 * ICMP error, which follows the reply entry without refreshing it, is forwarded from its
	 * first call. And the IPv6 flow.
	 */
	err = send_first(skel, &frames[FR_REPLY], sizeof(frames[FR_REPLY]), out_idx,
			 "the flow's first reply");
	if (!err)
		err = send_first(skel, pkts[FR_CLIENT6].data, pkts[FR_CLIENT6].len, in_idx,
				 "the first packet of the IPv6 flow");
	if (err) {
		fprintf(stderr, "veer-bench: cannot establish the benchmark flows: %s\n",
			strerror(-err));
		goto out;
	}
	/*
	 * Too big for OUT: the established flow's 5-tuple, and a second client's whose bucket is
	 * empty for ever (its first packet makes its flow, in the warm-up round).
	 */
	bench_frame_grow(big, sizeof(big), &frames[FR_CLIENT], true);
	bench_frame_build(&frames[FR_BIG_LIMIT], peer_mac, in_mac, o.client + 1, o.vip,
			  o.client_port, o.vip_port);
	bench_frame_grow(big_limit, sizeof(big_limit), &frames[FR_BIG_LIMIT], true);
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

	for (int c = 0; c < PR_NCASES; c++) {
		const struct pr_case *pc = &cases[c];
		bool tc = pc->hook == PR_TC, in_out;

		if (!pc->base[0])
			cs[c].prog_fd = bpf_program__fd(tc ? empty->progs.bench_empty_tc
							   : empty->progs.bench_empty);
		else
			cs[c].prog_fd =
				bpf_program__fd(tc ? skel->progs.veer_lb_tc : skel->progs.veer_lb);
		cs[c].base = pc->base[0] ? case_index(pc->base) : c;
		cs[c].frame = frames[pc->frame];
		cs[c].data = &cs[c].frame;
		cs[c].len = sizeof(cs[c].frame);
		if (pc->frame == FR_BIG || pc->frame == FR_BIG_LIMIT) {
			cs[c].data = pc->frame == FR_BIG ? big : big_limit;
			cs[c].len = PR_BIG_LEN;
		}
		if (pc->frame >= FR_ECHO) {
			cs[c].data = pkts[pc->frame].data;
			cs[c].len = pkts[pc->frame].len;
		}
		/* The fragment's first one makes (and keeps younger than 60 s) its record. */
		if (pc->frame == FR_FRAG_TAIL && pc->base[0]) {
			cs[c].prime = frag_first.data;
			cs[c].prime_len = frag_first.len;
		}
		/* What arrives from the backends' side arrives on OUT. */
		in_out = pc->frame == FR_REPLY || pc->frame == FR_ICMP_ERR;
		cs[c].ifindex = in_out ? out_idx : in_idx;
		switch (pc->expect) {
		case EX_PASS:
			cs[c].expect = tc ? TC_ACT_OK : XDP_PASS;
			break;
		case EX_REDIRECT:
			cs[c].expect = tc ? TC_ACT_REDIRECT : XDP_REDIRECT;
			break;
		case EX_BACK:
			cs[c].expect = tc ? TC_ACT_REDIRECT : XDP_TX;
			break;
		case EX_DROP:
			cs[c].expect = tc ? TC_ACT_SHOT : XDP_DROP;
			break;
		}
	}

	/* Round 0 warms caches up and is thrown away; the cases interleave within a round. */
	for (int r = 0; r <= o.rounds; r++) {
		err = measure_round(cs, 1, o.calls, r - 1, &new_seq, &mismatches);
		if (err)
			goto out;
	}
	err = flows_fill(skel);
	if (err) {
		fprintf(stderr, "veer-bench: cannot fill the connection table: %s\n",
			strerror(-err));
		goto out;
	}
	for (int r = 0; r <= o.rounds; r++) {
		err = measure_round(cs, 2, o.calls, r - 1, &new_seq, &mismatches);
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

		/* bench_median sorts: kern[0] and kern[rounds - 1] are then the extremes. */
		for (int c = 0; c < PR_NCASES; c++) {
			kmed[c] = bench_median(cs[c].kern, o.rounds);
			wmed[c] = bench_median(cs[c].wall, o.rounds);
		}
		for (int c = 0; c < PR_NCASES; c++) {
			int base = cs[c].base;

			printf("prog-run %s kern_ns=%.1f wall_ns=%.1f net_ns=%.1f net_wall_ns=%.1f "
			       "kern_range=%.1f-%.1f len=%u hook=%s title=\"%s\"\n",
			       cases[c].name, kmed[c], wmed[c], kmed[c] - kmed[base],
			       wmed[c] - wmed[base], cs[c].kern[0], cs[c].kern[o.rounds - 1],
			       cs[c].len, cases[c].hook == PR_TC ? "tc" : "xdp", cases[c].title);
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
