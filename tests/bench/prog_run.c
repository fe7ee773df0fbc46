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
 *
 * --part dsr runs the cases of `make bench` part G instead: the established flows of dsr-ipip
 * VIPs (IPv4 in IPv4, IPv6 in IPv6, IPv4 in IPv6; UDP, and TCP for IPv4 in IPv4) and of a dsr-l2
 * VIP, each next to the NAT flow of its family and protocol, on VIPs of their own (struct
 * pr_vip) with the same backends.
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
#include "bench_grow.skel.h"
#include "maglev.h"

#define MAX_BACKENDS 16

/* dsr-ipip's outer sources (`veer set encap-source4|6`): in the test ranges. */
#define PR_ENCAP_SRC4 "198.18.250.0/24"
#define PR_ENCAP_SRC6 "2001:2:0:250::/64"

enum pr_hook { PR_XDP, PR_TC };

/* The packets the cases send; each is built once, after the benchmark flow exists. */
enum pr_frame {
	FR_CLIENT,    /* client -> VIP, the established flow's packet */
	FR_NONVIP,    /* client -> an address that is no VIP */
	FR_NEW,	      /* client -> VIP from a source of its own every call */
	FR_REPLY,     /* backend -> client, arriving on OUT */
	FR_BIG,	      /* the established flow's packet, PR_BIG_LEN bytes with DF: too big */
	FR_BIG_LIMIT, /* the same from a second client whose ICMP rate bucket is empty */
	/* FR_CLIENT's packet to the DSR VIPs (struct pr_vip): established flows of theirs. */
	FR_DSR4,    /* dsr-ipip, IPv4 backends: IPv4 in IPv4 */
	FR_DSR4IN6, /* dsr-ipip, IPv6 backends: IPv4 in IPv6 */
	FR_DSR_L2,  /* dsr-l2 */
	/* Built with tests/unit/packet.h (struct pkt), each into pkts[frame]: */
	FR_ECHO,	/* client -> the VIP's address, ICMP echo request: answered */
	FR_ICMP_ERR,	/* router -> client, frag-needed quoting client -> backend: forwarded */
	FR_FRAG_TAIL,	/* client -> VIP, last fragment of a datagram whose first one was sent */
	FR_CLIENT_OPT,	/* FR_CLIENT with 4 bytes of IPv4 options (Router Alert) */
	FR_CLIENT6,	/* client6 -> VIP6, the established IPv6 flow's packet */
	FR_CLIENT6_HBH, /* the same behind one 8-byte hop-by-hop options header */
	FR_TCP,		/* client -> the TCP VIP, a data segment of an established connection */
	FR_DSR_TCP,	/* the same to the TCP dsr-ipip VIP: IPv4 in IPv4 */
	FR_DSR6,	/* FR_CLIENT6's packet to the IPv6 dsr-ipip VIP: IPv6 in IPv6 */
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

/*
 * Which runs a case is part of (--part): `make bench` part A (prog-run) and part G (dsr, the
 * DSR paths next to their NAT peers). The baselines and the NAT peers are in both.
 */
enum pr_part {
	PR_PART_A,    /* part A only */
	PR_PART_BOTH, /* parts A and G */
	PR_PART_DSR,  /* part G only */
};

/* The program a case runs (a baseline runs the empty program of its hook). */
enum pr_prog {
	PR_LB,		/* veer's: veer_lb or veer_lb_tc */
	PR_ADJUST_HEAD, /* tests/bpf/bench_grow.bpf.c: one helper call and nothing else */
	PR_ADJUST_ROOM,
	PR_CHANGE_HEAD,
};

struct pr_case {
	const char *name, *title;
	enum pr_hook hook;
	enum pr_frame frame;
	enum pr_expect expect;
	int phase;	  /* 1: table with room; 2: after the connection table was filled */
	const char *base; /* the empty program it is net of ("" for the baselines) */
	enum pr_part part;
	enum pr_prog prog;
};

/*
 * The cases, in the order they run within a round (cases interleave, so drift hits all
 * alike). A baseline has base "". To measure another path, add its packet to enum pr_frame
 * (built in cmd_prog_run or build_pkts), add a row here with the part it belongs to, and add
 * the name to that part's list in scripts/bench.sh (PR_CASES, G_CASES).
 *
 * BPF_PROG_RUN copies data_in into a fresh buffer on every call and nothing here asks for
 * data_out: every call starts from the case's original bytes, also where the program rewrites
 * the packet in place (an echo request turned into its reply, a NAT rewrite).
 */
static const struct pr_case cases[] = {
	{"empty", "empty XDP program (XDP_PASS)", PR_XDP, FR_CLIENT, EX_PASS, 1, "", PR_PART_BOTH,
	 PR_LB},
	{"nonvip", "non-VIP packet (passed)", PR_XDP, FR_NONVIP, EX_PASS, 1, "empty", PR_PART_A,
	 PR_LB},
	{"new", "new flow (FIB lookup)", PR_XDP, FR_NEW, EX_REDIRECT, 1, "empty", PR_PART_A, PR_LB},
	{"est", "established flow (forward NAT)", PR_XDP, FR_CLIENT, EX_REDIRECT, 1, "empty",
	 PR_PART_BOTH, PR_LB},
	{"reply", "reply (reverse NAT)", PR_XDP, FR_REPLY, EX_REDIRECT, 1, "empty", PR_PART_A,
	 PR_LB},
	{"tc_empty", "empty tc program (TC_ACT_OK)", PR_TC, FR_CLIENT, EX_PASS, 1, "", PR_PART_BOTH,
	 PR_LB},
	{"tc_nonvip", "tc: non-VIP packet (passed)", PR_TC, FR_NONVIP, EX_PASS, 1, "tc_empty",
	 PR_PART_A, PR_LB},
	{"tc_est", "tc: established flow (forward NAT)", PR_TC, FR_CLIENT, EX_REDIRECT, 1,
	 "tc_empty", PR_PART_BOTH, PR_LB},
	{"tc_reply", "tc: reply (reverse NAT)", PR_TC, FR_REPLY, EX_REDIRECT, 1, "tc_empty",
	 PR_PART_A, PR_LB},
	/* ICMP (rules 6, 7) and fragments (rule 9); frames of 60 to 88 bytes. */
	{"icmp_echo", "echo request to the VIP's address, answered (XDP_TX)", PR_XDP, FR_ECHO,
	 EX_BACK, 1, "empty", PR_PART_A, PR_LB},
	{"icmp_error", "ICMP error quoting client->backend: rewritten, forwarded", PR_XDP,
	 FR_ICMP_ERR, EX_REDIRECT, 1, "empty", PR_PART_A, PR_LB},
	{"frag_tail", "non-first fragment of a balanced datagram: forwarded", PR_XDP, FR_FRAG_TAIL,
	 EX_REDIRECT, 1, "empty", PR_PART_A, PR_LB},
	{"tc_icmp_echo", "tc: echo request to the VIP's address, answered (redirect to IN)", PR_TC,
	 FR_ECHO, EX_BACK, 1, "tc_empty", PR_PART_A, PR_LB},
	{"tc_icmp_error", "tc: ICMP error quoting client->backend: rewritten, forwarded", PR_TC,
	 FR_ICMP_ERR, EX_REDIRECT, 1, "tc_empty", PR_PART_A, PR_LB},
	{"tc_frag_tail", "tc: non-first fragment of a balanced datagram: forwarded", PR_TC,
	 FR_FRAG_TAIL, EX_REDIRECT, 1, "tc_empty", PR_PART_A, PR_LB},
	/*
	 * Header checks (rules 2-4): the established flow's packet with IPv4 options next to the
	 * plain one (est), and an established IPv6 flow's packet with and without one hop-by-hop
	 * header in front of UDP.
	 */
	{"est_ipopt", "established flow, 4 bytes of IPv4 options", PR_XDP, FR_CLIENT_OPT,
	 EX_REDIRECT, 1, "empty", PR_PART_A, PR_LB},
	{"est6", "established IPv6 flow (forward NAT)", PR_XDP, FR_CLIENT6, EX_REDIRECT, 1, "empty",
	 PR_PART_BOTH, PR_LB},
	{"est6_hbh", "established IPv6 flow behind a hop-by-hop header", PR_XDP, FR_CLIENT6_HBH,
	 EX_REDIRECT, 1, "empty", PR_PART_A, PR_LB},
	{"tc_est_ipopt", "tc: established flow, 4 bytes of IPv4 options", PR_TC, FR_CLIENT_OPT,
	 EX_REDIRECT, 1, "tc_empty", PR_PART_A, PR_LB},
	{"tc_est6", "tc: established IPv6 flow (forward NAT)", PR_TC, FR_CLIENT6, EX_REDIRECT, 1,
	 "tc_empty", PR_PART_BOTH, PR_LB},
	{"tc_est6_hbh", "tc: established IPv6 flow behind a hop-by-hop header", PR_TC,
	 FR_CLIENT6_HBH, EX_REDIRECT, 1, "tc_empty", PR_PART_A, PR_LB},
	/*
	 * Direct server return (part G): the established flows of the DSR VIPs, each next to the
	 * NAT flow of its family and protocol (est, est6, est_tcp). Same frames as those but for
	 * the VIP's address; the DSR ones leave encapsulated (20 or 40 bytes longer) or with
	 * their MACs changed, checked once before the rounds (dsr_check).
	 */
	{"est_tcp", "established TCP connection (forward NAT)", PR_XDP, FR_TCP, EX_REDIRECT, 1,
	 "empty", PR_PART_DSR, PR_LB},
	{"dsr_ipip4", "dsr-ipip, IPv4 in IPv4", PR_XDP, FR_DSR4, EX_REDIRECT, 1, "empty",
	 PR_PART_DSR, PR_LB},
	{"dsr_ipip4_tcp", "dsr-ipip, IPv4 in IPv4, TCP connection", PR_XDP, FR_DSR_TCP, EX_REDIRECT,
	 1, "empty", PR_PART_DSR, PR_LB},
	{"dsr_ipip6", "dsr-ipip, IPv6 in IPv6", PR_XDP, FR_DSR6, EX_REDIRECT, 1, "empty",
	 PR_PART_DSR, PR_LB},
	{"dsr_ipip4in6", "dsr-ipip, IPv4 in IPv6", PR_XDP, FR_DSR4IN6, EX_REDIRECT, 1, "empty",
	 PR_PART_DSR, PR_LB},
	{"dsr_l2", "dsr-l2, backend's MAC", PR_XDP, FR_DSR_L2, EX_REDIRECT, 1, "empty", PR_PART_DSR,
	 PR_LB},
	{"tc_est_tcp", "tc: established TCP connection (forward NAT)", PR_TC, FR_TCP, EX_REDIRECT,
	 1, "tc_empty", PR_PART_DSR, PR_LB},
	{"tc_dsr_ipip4", "tc: dsr-ipip, IPv4 in IPv4", PR_TC, FR_DSR4, EX_REDIRECT, 1, "tc_empty",
	 PR_PART_DSR, PR_LB},
	{"tc_dsr_ipip4_tcp", "tc: dsr-ipip, IPv4 in IPv4, TCP connection", PR_TC, FR_DSR_TCP,
	 EX_REDIRECT, 1, "tc_empty", PR_PART_DSR, PR_LB},
	{"tc_dsr_ipip6", "tc: dsr-ipip, IPv6 in IPv6", PR_TC, FR_DSR6, EX_REDIRECT, 1, "tc_empty",
	 PR_PART_DSR, PR_LB},
	{"tc_dsr_ipip4in6", "tc: dsr-ipip, IPv4 in IPv6", PR_TC, FR_DSR4IN6, EX_REDIRECT, 1,
	 "tc_empty", PR_PART_DSR, PR_LB},
	{"tc_dsr_l2", "tc: dsr-l2, backend's MAC", PR_TC, FR_DSR_L2, EX_REDIRECT, 1, "tc_empty",
	 PR_PART_DSR, PR_LB},
	/* What dsr-ipip's helper costs alone: the frame grown by 20 bytes and nothing else. */
	{"adjust_head", "bpf_xdp_adjust_head, 20 bytes", PR_XDP, FR_CLIENT, EX_PASS, 1, "empty",
	 PR_PART_DSR, PR_ADJUST_HEAD},
	{"tc_adjust_room", "tc: bpf_skb_adjust_room, 20 bytes after the MAC header, IPv4 tunnel",
	 PR_TC, FR_CLIENT, EX_PASS, 1, "tc_empty", PR_PART_DSR, PR_ADJUST_ROOM},
	{"tc_change_head", "tc: bpf_skb_change_head, 20 bytes", PR_TC, FR_CLIENT, EX_PASS, 1,
	 "tc_empty", PR_PART_DSR, PR_CHANGE_HEAD},
	/*
	 * Over a frame larger than OUT's MTU with DF: the established flow's packet answered with
	 * fragmentation-needed, and another source's refused over its rate; net of an empty
	 * program run over a frame of the same size.
	 */
	{"empty_big", "empty XDP program, 1600-byte frame", PR_XDP, FR_BIG, EX_PASS, 1, "",
	 PR_PART_A, PR_LB},
	{"frag_needed", "too big, DF: fragmentation-needed sent back (XDP_TX)", PR_XDP, FR_BIG,
	 EX_BACK, 1, "empty_big", PR_PART_A, PR_LB},
	{"icmp_limit", "too big, DF, over the ICMP rate: dropped", PR_XDP, FR_BIG_LIMIT, EX_DROP, 1,
	 "empty_big", PR_PART_A, PR_LB},
	{"tc_empty_big", "empty tc program, 1600-byte frame", PR_TC, FR_BIG, EX_PASS, 1, "",
	 PR_PART_A, PR_LB},
	{"tc_frag_needed", "tc: too big, DF: fragmentation-needed sent back (redirect to IN)",
	 PR_TC, FR_BIG, EX_BACK, 1, "tc_empty_big", PR_PART_A, PR_LB},
	{"tc_icmp_limit", "tc: too big, DF, over the ICMP rate: dropped", PR_TC, FR_BIG_LIMIT,
	 EX_DROP, 1, "tc_empty_big", PR_PART_A, PR_LB},
	/* Second phase, once the connection table is full: every insert evicts. */
	{"empty2", "empty XDP program, second phase", PR_XDP, FR_CLIENT, EX_PASS, 2, "", PR_PART_A,
	 PR_LB},
	{"new_full", "new flow, connection table full", PR_XDP, FR_NEW, EX_REDIRECT, 2, "empty2",
	 PR_PART_A, PR_LB},
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
	enum pr_part part; /* PR_PART_A or PR_PART_DSR: the cases of that part */
};

/*
 * The VIPs, all on the IPv4 VIP's port, each with every backend of its backends' family (a DSR
 * VIP's backends take its port: DSR cannot rewrite ports). A DSR VIP's address is the NAT VIP's
 * of its family plus off (in the last byte); the TCP VIPs share the UDP ones' addresses. Ids in
 * this order, backend slots in this order after one another.
 */
struct pr_vip {
	bool v6, be6; /* the VIP's family, its backends' */
	__u8 off, proto, mode;
	enum pr_part part; /* made for these runs */
};

enum pr_vip_idx { PV_NAT4, PV_NAT6, PV_TCP, PV_DSR4, PV_DSR_TCP, PV_DSR6, PV_DSR4IN6, PV_DSR_L2 };

static const struct pr_vip vips[] = {
	[PV_NAT4] = {false, false, 0, IPPROTO_UDP, VEER_MODE_NAT, PR_PART_BOTH},
	[PV_NAT6] = {true, true, 0, IPPROTO_UDP, VEER_MODE_NAT, PR_PART_BOTH},
	[PV_TCP] = {false, false, 0, IPPROTO_TCP, VEER_MODE_NAT, PR_PART_DSR},
	[PV_DSR4] = {false, false, 1, IPPROTO_UDP, VEER_MODE_DSR_IPIP, PR_PART_DSR},
	[PV_DSR_TCP] = {false, false, 1, IPPROTO_TCP, VEER_MODE_DSR_IPIP, PR_PART_DSR},
	[PV_DSR6] = {true, true, 1, IPPROTO_UDP, VEER_MODE_DSR_IPIP, PR_PART_DSR},
	[PV_DSR4IN6] = {false, true, 2, IPPROTO_UDP, VEER_MODE_DSR_IPIP, PR_PART_DSR},
	[PV_DSR_L2] = {false, false, 3, IPPROTO_UDP, VEER_MODE_DSR_L2, PR_PART_DSR},
};

#define PR_NVIPS ((int)(sizeof(vips) / sizeof(vips[0])))

/* Whether a case or VIP of part p is in a run of part run. */
static bool in_part(enum pr_part p, enum pr_part run)
{
	return p == PR_PART_BOTH || p == run;
}

/* VIP i's address. */
static void vip_addr(const struct pr_opts *o, int i, union veer_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (vips[i].v6) {
		*a = o->vip6;
		a->bytes[15] += vips[i].off;
	} else {
		a->v4 = htonl(o->vip + vips[i].off);
	}
}

/* Host order, for the IPv4 frames. */
static __u32 vip4_of(const struct pr_opts *o, int i)
{
	return o->vip + vips[i].off;
}

struct pr_case_state {
	bool on; /* in this run's part */
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
 * VIP i with backends ids id0.., its Maglev table, and its address in veer_vip_addrs (the
 * addresses veer answers echo requests for), as libveer would write them.
 */
static int populate_vip(struct lb *skel, const struct pr_opts *o, int i, __u32 id0)
{
	LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = VEER_RING_MAP_FLAGS);
	struct veer_maglev_backend mb[MAX_BACKENDS] = {};
	union veer_addr backends[MAX_BACKENDS] = {};
	struct veer_vip_key vk = {};
	struct veer_vip vip = {};
	__u32 *ring, vip_id = i, ring_size = o->ring_size;
	__u8 be_family = vips[i].be6 ? VEER_AF_INET6 : VEER_AF_INET;
	int inner, err, n = vips[i].be6 ? o->nbackends6 : o->nbackends;

	for (int b = 0; b < n; b++) {
		if (vips[i].be6)
			backends[b] = o->backends6[b];
		else
			backends[b].v4 = htonl(o->backends[b]);
	}
	vip_addr(o, i, &vk.addr);
	vk.port = htons(o->vip_port);
	vk.proto = vips[i].proto;
	vk.family = vips[i].v6 ? VEER_AF_INET6 : VEER_AF_INET;
	vip.id = vip_id;
	vip.ring_size = ring_size;
	vip.mode = vips[i].mode;

	for (int b = 0; b < n; b++) {
		struct veer_backend be = {};
		__u32 id = id0 + b;

		be.addr = backends[b];
		be.port = htons(o->vip_port);
		be.family = be_family;
		/* The VIP's mode in the slot, as libveer writes it (abi.h). */
		be.flags = VEER_BACKEND_ACTIVE | VEER_BACKEND_MODE_FLAGS(vip.mode);
		be.vip_id = vip.id;
		be.weight = VEER_WEIGHT_DEFAULT;
		be.seq = id;
		strcpy(be.pool, "default");
		err = bpf_map__update_elem(skel->maps.veer_backends, &id, sizeof(id), &be,
					   sizeof(be), BPF_ANY);
		if (err)
			return err;
		mb[b].id = id;
		mb[b].weight = be.weight;
		mb[b].addr = be.addr;
		mb[b].port = be.port;
		mb[b].family = be.family;
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
	for (__u32 r = 0; r < ring_size && !err; r++)
		err = bpf_map_update_elem(inner, &r, &ring[r], BPF_ANY);
	free(ring);
	if (!err)
		err = bpf_map__update_elem(skel->maps.veer_rings, &vip_id, sizeof(vip_id), &inner,
					   sizeof(inner), BPF_ANY);
	close(inner);
	if (!err)
		err = bpf_map__update_elem(skel->maps.veer_vips, &vk, sizeof(vk), &vip, sizeof(vip),
					   BPF_NOEXIST);
	/* The filter, the backend index and the echo addresses, by libveer's own code. */
	if (!err)
		err = veer_svc_sync(skel->maps.veer_vips, skel->maps.veer_be_index,
				    skel->maps.veer_svc, &vk.addr, vk.port, vk.proto, vk.family);
	if (!err)
		err = veer_vip_addr_sync(skel->maps.veer_vips, skel->maps.veer_vip_addrs, &vk.addr,
					 vk.family);
	for (int b = 0; !err && b < n; b++)
		err = be_index_sync(skel, &backends[b], htons(o->vip_port), be_family);
	return err;
}

/*
 * The VIPs of this run's part, ids by their place in vips[], backend slots one after the other.
 * The outer sources of dsr-ipip in the test ranges, set as `veer set` sets them.
 */
static int populate(struct lb *skel, const struct pr_opts *o)
{
	struct veer_settings st = {};
	__u32 id0 = 0, zero = 0;
	int err = 0;

	for (int i = 0; i < PR_NVIPS && !err; i++) {
		if (in_part(vips[i].part, o->part))
			err = populate_vip(skel, o, i, id0);
		id0 += vips[i].be6 ? o->nbackends6 : o->nbackends;
	}
	if (!err)
		err = veer_setting_parse(&st, "encap-source4", PR_ENCAP_SRC4);
	if (!err)
		err = veer_setting_parse(&st, "encap-source6", PR_ENCAP_SRC6);
	if (!err)
		err = bpf_map__update_elem(skel->maps.veer_settings, &zero, sizeof(zero), &st,
					   sizeof(st), BPF_ANY);
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

		if (cases[c].phase != phase || !s->on)
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
		"       [--backend6 ADDR]... [--part a|dsr]\n"
		"Prints one line 'prog-run CASE kern_ns=.. wall_ns=.. net_ns=..' per case of the\n"
		"part: a (default) the cases of make bench part A, dsr those of part G (direct\n"
		"server return next to NAT).\n");
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
 * A 60-byte TCP frame, client -> TCP VIP v: flags 0 a 6-byte data segment (ACK|PSH), else a
 * segment with those flags and no data (padded).
 */
static int tcp_build(const struct pr_opts *o, const __u8 *peer_mac, const __u8 *in_mac,
		     enum pr_vip_idx v, __u8 flags, struct pkt *p)
{
	char client[INET_ADDRSTRLEN], vip[INET_ADDRSTRLEN];
	struct pkt_spec s = {};

	memcpy(s.dmac, in_mac, ETH_ALEN);
	memcpy(s.smac, peer_mac, ETH_ALEN);
	s.saddr = ip4_str(o->client, client);
	s.daddr = ip4_str(vip4_of(o, v), vip);
	s.proto = IPPROTO_TCP;
	s.sport = o->client_port;
	s.dport = o->vip_port;
	s.tcp_flags = flags;
	if (flags)
		s.pad = 6;
	else
		s.payload = 6;
	return pkt_build(p, &s);
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
	union veer_addr dsr6;
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
	/* The same packet as FR_CLIENT6 to the IPv6 dsr-ipip VIP. */
	vip_addr(o, PV_DSR6, &dsr6);
	inet_ntop(AF_INET6, &dsr6, vip6, sizeof(vip6));
	s.ext6_n = 0;
	if (!err)
		err = pkt_build(&pkts[FR_DSR6], &s);
	if (!err)
		err = tcp_build(o, peer_mac, in_mac, PV_TCP, 0, &pkts[FR_TCP]);
	if (!err)
		err = tcp_build(o, peer_mac, in_mac, PV_DSR_TCP, 0, &pkts[FR_DSR_TCP]);
	if (err)
		fprintf(stderr,
			"veer-bench: cannot build the ICMP, fragment, IPv6 and TCP frames: %s\n",
			strerror(-err));
	return err;
}

/* The VIP of a DSR case's frame; -1 for the others. */
static int dsr_vip_of(enum pr_frame f)
{
	switch (f) {
	case FR_DSR4:
		return PV_DSR4;
	case FR_DSR_TCP:
		return PV_DSR_TCP;
	case FR_DSR6:
		return PV_DSR6;
	case FR_DSR4IN6:
		return PV_DSR4IN6;
	case FR_DSR_L2:
		return PV_DSR_L2;
	default:
		return -1;
	}
}

/* The first backend slot of VIP v (populate's numbering). */
static __u32 vip_id0(const struct pr_opts *o, int v)
{
	__u32 id0 = 0;

	for (int i = 0; i < v; i++)
		id0 += vips[i].be6 ? o->nbackends6 : o->nbackends;
	return id0;
}

/*
 * The flows of the DSR VIPs and the NAT TCP connection, made at XDP by their first packets. A
 * TCP connection by its client's SYN, then a segment past the handshake: the backend's SYN-ACK
 * never passes veer in DSR, and a NAT connection is confirmed by the client's segment alone.
 */
static int dsr_establish(struct lb *skel, const struct pr_opts *o, struct bench_frame *frames,
			 const struct pkt *pkts, const __u8 *peer_mac, const __u8 *in_mac,
			 int in_idx)
{
	static const struct {
		enum pr_frame frame;
		enum pr_vip_idx vip;
	} udp4[] = {{FR_DSR4, PV_DSR4}, {FR_DSR4IN6, PV_DSR4IN6}, {FR_DSR_L2, PV_DSR_L2}};
	static struct pkt syn;
	int err = 0;

	for (size_t i = 0; !err && i < sizeof(udp4) / sizeof(udp4[0]); i++) {
		bench_frame_build(&frames[udp4[i].frame], peer_mac, in_mac, o->client,
				  vip4_of(o, udp4[i].vip), o->client_port, o->vip_port);
		err = send_first(skel, &frames[udp4[i].frame], sizeof(frames[0]), in_idx,
				 "the first packet of a DSR flow");
	}
	if (!err)
		err = send_first(skel, pkts[FR_DSR6].data, pkts[FR_DSR6].len, in_idx,
				 "the first packet of the IPv6 DSR flow");
	for (int t = 0; !err && t < 2; t++) {
		enum pr_vip_idx v = t ? PV_DSR_TCP : PV_TCP;
		const struct pkt *seg = &pkts[t ? FR_DSR_TCP : FR_TCP];

		err = tcp_build(o, peer_mac, in_mac, v, 0x02, &syn);
		if (!err)
			err = send_first(skel, syn.data, syn.len, in_idx, "a SYN");
		if (!err)
			err = send_first(skel, seg->data, seg->len, in_idx,
					 "the first segment past a handshake");
	}
	return err;
}

/*
 * A DSR case's output, once: its verdict, and the packet as the backend must get it. dsr-ipip:
 * the input's IP datagram whole behind an outer header of the right kind (its IPv4 header
 * checksum valid) addressed to one of the VIP's backends; dsr-l2: the input with other MACs.
 * Either way the frame goes to that backend's next hop from OUT's MAC. The outer source and
 * the rest of the outer header are the unit tests' (tests/unit/test_lb_dsr.c).
 */
static int dsr_check(struct lb *skel, const struct pr_opts *o, const struct pr_case *pc,
		     const struct pr_case_state *s, const __u8 *out_mac)
{
	static __u8 out[PKT_MAX];
	int v = dsr_vip_of(pc->frame);
	bool ipip = vips[v].mode == VEER_MODE_DSR_IPIP, outer6 = vips[v].v6 || vips[v].be6;
	__u32 hlen = !ipip ? 0 : outer6 ? 40 : 20, olen = 0, ret, dur, id0 = vip_id0(o, v);
	int n = vips[v].be6 ? o->nbackends6 : o->nbackends, err, b;
	const __u8 *in = s->data, *l3 = out + ETH_HLEN;
	union veer_addr dst = {};
	const char *why = NULL;
	struct veer_hop hop;

	err = bench_run1(s->prog_fd, pc->hook == PR_TC, s->data, s->len, s->ifindex, out,
			 sizeof(out), &olen, &ret, &dur);
	if (err)
		return err;
	if (ret != s->expect)
		why = action_name(pc->hook, ret);
	else if (olen != s->len + hlen)
		why = "a frame of another length";
	else if (memcmp(out + ETH_HLEN + hlen, in + ETH_HLEN, s->len - ETH_HLEN))
		why = "the datagram changed";
	else if (memcmp(out + ETH_ALEN, out_mac, ETH_ALEN))
		why = "a source MAC not OUT's";
	if (!why && ipip && !outer6) {
		__u32 sum = 0;

		for (int i = 0; i < 20; i += 2)
			sum += l3[i] << 8 | l3[i + 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		memcpy(&dst.v4, l3 + 16, 4);
		if (out[12] != 0x08 || out[13] != 0x00 || l3[0] != 0x45 || l3[9] != IPPROTO_IPIP ||
		    sum != 0xffff)
			why = "no IPv4 header for IPv4 in IPv4 (or a bad checksum)";
	} else if (!why && ipip) {
		memcpy(dst.bytes, l3 + 24, 16);
		if (out[12] != 0x86 || out[13] != 0xdd || l3[0] >> 4 != 6 ||
		    l3[6] != (vips[v].v6 ? IPPROTO_IPV6 : IPPROTO_IPIP))
			why = "no IPv6 header of the right next header";
	} else if (!why && memcmp(out + 12, in + 12, ETH_HLEN - 12)) {
		why = "another ethertype";
	}
	/* The backend: the outer destination's (dsr-ipip) or any of the VIP's (dsr-l2). */
	for (b = 0; !why && b < n; b++) {
		union veer_addr a = {};

		if (vips[v].be6)
			a = o->backends6[b];
		else
			a.v4 = htonl(o->backends[b]);
		if ((!ipip || !memcmp(&a, &dst, sizeof(a))) &&
		    backend_hop_any(skel, id0 + b, &hop) && !memcmp(out, hop.dmac, ETH_ALEN))
			break;
	}
	if (!why && b == n)
		why = ipip ? "not to a backend of the VIP, or not to its MAC"
			   : "not to a backend's MAC";
	if (why) {
		fprintf(stderr, "veer-bench: %s: the packet did not leave as DSR sends it: %s\n",
			pc->name, why);
		return -EINVAL;
	}
	return 0;
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
		{"part", required_argument, NULL, 'P'},
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
	struct bench_grow *grow = NULL;
	struct lb *skel = NULL;
	struct bpf_map *map;
	__u8 in_mac[ETH_ALEN], out_mac[ETH_ALEN], peer_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x99};
	__u32 be_addr, new_seq = 0, mismatches = 0;
	int opt, err = 1, in_idx, out_idx;
	bool phase2 = false;

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
		case 'P':
			if (!strcmp(optarg, "a"))
				o.part = PR_PART_A;
			else if (!strcmp(optarg, "dsr"))
				o.part = PR_PART_DSR;
			else
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
	grow = empty ? bench_grow__open_and_load() : NULL;
	if (!grow) {
		err = -errno;
		fprintf(stderr, "veer-bench: cannot load bench_empty or bench_grow: %s\n",
			strerror(-err));
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
	if (!err && o.part == PR_PART_DSR)
		err = dsr_establish(skel, &o, frames, pkts, peer_mac, in_mac, in_idx);
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

		cs[c].on = in_part(pc->part, o.part);
		phase2 |= cs[c].on && pc->phase == 2;
		if (!pc->base[0])
			cs[c].prog_fd = bpf_program__fd(tc ? empty->progs.bench_empty_tc
							   : empty->progs.bench_empty);
		else if (pc->prog == PR_ADJUST_HEAD)
			cs[c].prog_fd = bpf_program__fd(grow->progs.bench_adjust_head);
		else if (pc->prog == PR_ADJUST_ROOM)
			cs[c].prog_fd = bpf_program__fd(grow->progs.bench_adjust_room);
		else if (pc->prog == PR_CHANGE_HEAD)
			cs[c].prog_fd = bpf_program__fd(grow->progs.bench_change_head);
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
		if (cs[c].on && dsr_vip_of(pc->frame) >= 0) {
			err = dsr_check(skel, &o, pc, &cs[c], out_mac);
			if (err)
				goto out;
		}
	}

	/* Round 0 warms caches up and is thrown away; the cases interleave within a round. */
	for (int r = 0; r <= o.rounds; r++) {
		err = measure_round(cs, 1, o.calls, r - 1, &new_seq, &mismatches);
		if (err)
			goto out;
	}
	/* The second phase only where this run has cases of it: filling takes seconds. */
	err = phase2 ? flows_fill(skel) : 0;
	if (err) {
		fprintf(stderr, "veer-bench: cannot fill the connection table: %s\n",
			strerror(-err));
		goto out;
	}
	for (int r = 0; phase2 && r <= o.rounds; r++) {
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

			if (!cs[c].on)
				continue;
			printf("prog-run %s kern_ns=%.1f wall_ns=%.1f net_ns=%.1f net_wall_ns=%.1f "
			       "kern_range=%.1f-%.1f len=%u hook=%s title=\"%s\"\n",
			       cases[c].name, kmed[c], wmed[c], kmed[c] - kmed[base],
			       wmed[c] - wmed[base], cs[c].kern[0], cs[c].kern[o.rounds - 1],
			       cs[c].len, cases[c].hook == PR_TC ? "tc" : "xdp", cases[c].title);
		}
		printf("prog-run params rounds=%d calls=%d new_flows=%u ring_size=%u backends=%d "
		       "part=%s\n",
		       o.rounds, o.calls, new_seq, o.ring_size, o.nbackends,
		       o.part == PR_PART_DSR ? "dsr" : "a");
		if (o.part == PR_PART_DSR) {
			static const char *const names[] = {
				[PV_NAT4] = "nat4",
				[PV_NAT6] = "nat6",
				[PV_TCP] = "nat4_tcp",
				[PV_DSR4] = "dsr_ipip4",
				[PV_DSR_TCP] = "dsr_ipip4_tcp",
				[PV_DSR6] = "dsr_ipip6",
				[PV_DSR4IN6] = "dsr_ipip4in6",
				[PV_DSR_L2] = "dsr_l2",
			};
			char a[INET6_ADDRSTRLEN];

			printf("prog-run vips");
			for (int i = 0; i < PR_NVIPS; i++) {
				union veer_addr va;

				vip_addr(&o, i, &va);
				inet_ntop(vips[i].v6 ? AF_INET6 : AF_INET, &va, a, sizeof(a));
				printf(" %s=%s", names[i], a);
			}
			printf("\n");
		}
	}
	err = 0;
out:
	bench_grow__destroy(grow);
	bench_empty__destroy(empty);
	lb__destroy(skel);
	return err ? 1 : 0;
bad:
	usage();
	return 2;
}
