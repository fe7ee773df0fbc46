// SPDX-License-Identifier: GPL-2.0
/*
 * veer-bench ab: what a change to the data plane costs, two builds of lb.bpf.o measured in one
 * run with their cases interleaved, since the spread between runs on a shared host (10-20 ns
 * here) is larger than most changes. BPF_PROG_RUN, repeat=1: per case and round the mean of
 * CALLS calls, then the median over the rounds, net of an empty program of the same hook.
 *
 *   veer-bench ab BASE.o NEW.o [--empty EMPTY.o] [--rounds N] [--calls N] [--cpu N]
 *                  [--copies N]
 *
 * BASE.o is the build before the change (make build/lb.bpf.o in a worktree of it), NEW.o the
 * one after; EMPTY.o defaults to bench_empty.bpf.o next to NEW.o. Each is opened from its file
 * COPIES times (4 unless given) with private maps (nothing is pinned), each copy given the same
 * state: a TCP VIP 198.18.100.10:80 with one backend, 198.18.11.2:80, and one established
 * connection. The runner makes a network namespace of its own with the two sides' interfaces
 * and permanent neighbours, so that the FIB lookups of a new connection succeed and forwarding
 * is veer's. The cases run in a new random order every round.
 *
 * Cases, at XDP and at tc, for both builds: a TCP packet to no VIP (passed), the established
 * connection's packet (forward NAT) and its backend's reply (reverse NAT). A build with the
 * forward proxy (bpf/lib/proxy.h) is given a rule for port 8080 (198.18.1.0/24 -> a proxy on
 * this host), and measured further on it: a packet to the ruled port from a client outside the
 * rule, an established proxied connection's packet, and its tc egress program on another
 * packet and on the proxy's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* unshare */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>
#include "bench.h"
#include "packet.h"   /* tests/unit/packet.c */
#include "internal.h" /* libveer's own map upkeep */

#define AB_ROUNDS_MAX 64
#define AB_COPIES_MAX 8

static const __u8 MAC_IN[6] = {2, 0, 0, 0, 0x01, 0x01}, MAC_CLIENT[6] = {2, 0, 0, 0, 0x01, 2};
static const __u8 MAC_OUT[6] = {2, 0, 0, 0, 0x11, 0x01}, MAC_BE[6] = {2, 0, 0, 0, 0x11, 2};

/* An object file's programs, by what they are; -1 where it has none. */
struct ab_obj {
	struct bpf_object *obj;
	int xdp, tc, egress;
	bool proxy;	  /* the build has the forward proxy's maps */
	__u32 ring_flags; /* of the build's Maglev tables (its template, gone once loaded) */
};

enum ab_pkt { P_NONVIP, P_EST, P_REPLY, P_RULED, P_PROXIED, P_EGR_OTHER, P_EGR_PROXY, P_N };

enum ab_prog { PROG_XDP, PROG_TC, PROG_EGRESS };

struct ab_case {
	const char *name;
	struct ab_obj *objs; /* the build's copies */
	enum ab_prog prog;
	bool tc, from_out;
	enum ab_pkt pkt;
	int base;     /* index of the empty program's case it is net of, -1: a baseline */
	bool forward; /* redirected, else passed: checked on every call */
	double v[AB_ROUNDS_MAX];
};

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc) {
		fprintf(stderr, "veer-bench ab: failed (%d): %s\n", rc, cmd);
		return -1;
	}
	return 0;
}

/* The namespace: IN (client side) and OUT (backend side), as part A of make bench has them. */
static int topology(void)
{
	static const char *const cmds[] = {
		"ip link set lo up",
		"ip link add ab-in address 02:00:00:00:01:01 type veth peer name ab-inp",
		"ip link add ab-out address 02:00:00:00:11:01 type veth peer name ab-outp",
		"ip link set ab-in up && ip link set ab-inp up",
		"ip link set ab-out up && ip link set ab-outp up",
		"sysctl -qw net.ipv4.ip_forward=1",
		"ip addr add 198.18.1.1/24 dev ab-in",
		"ip addr add 198.18.11.1/24 dev ab-out",
		"ip route add 198.18.2.0/24 via 198.18.1.2",
		"ip neigh replace 198.18.1.2 lladdr 02:00:00:00:01:02 dev ab-in nud permanent",
		"ip neigh replace 198.18.11.2 lladdr 02:00:00:00:11:02 dev ab-out nud permanent",
	};

	if (unshare(CLONE_NEWNET)) {
		perror("veer-bench ab: unshare(CLONE_NEWNET)");
		return -1;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (sh(cmds[i]))
			return -1;
	return 0;
}

static struct bpf_map *map(struct ab_obj *o, const char *name)
{
	return bpf_object__find_map_by_name(o->obj, name);
}

static int ab_load(struct ab_obj *o, const char *path)
{
	struct bpf_map *m, *rings;
	struct bpf_program *p;

	memset(o, 0, sizeof(*o));
	o->xdp = o->tc = o->egress = -1;
	o->obj = bpf_object__open_file(path, NULL);
	if (!o->obj) {
		fprintf(stderr, "veer-bench ab: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	bpf_object__for_each_map(m, o->obj)
	{
		bpf_map__set_pin_path(m, NULL);
		if (bpf_map__type(m) == BPF_MAP_TYPE_LRU_HASH)
			bpf_map__set_max_entries(m, 65536);
	}
	rings = map(o, "veer_rings");
	if (rings && bpf_map__inner_map(rings))
		o->ring_flags = bpf_map__map_flags(bpf_map__inner_map(rings));
	if (bpf_object__load(o->obj)) {
		fprintf(stderr, "veer-bench ab: cannot load %s: %s\n", path, strerror(errno));
		return -1;
	}
	bpf_object__for_each_program(p, o->obj)
	{
		const char *n = bpf_program__name(p);

		if (!strcmp(n, "veer_lb") || !strcmp(n, "bench_empty"))
			o->xdp = bpf_program__fd(p);
		else if (!strcmp(n, "veer_lb_tc") || !strcmp(n, "bench_empty_tc"))
			o->tc = bpf_program__fd(p);
		else if (!strcmp(n, "veer_lb_egress"))
			o->egress = bpf_program__fd(p);
	}
	o->proxy = map(o, "veer_proxy_rule") && o->egress >= 0;
	return o->xdp >= 0 && o->tc >= 0 ? 0 : -1;
}

/* The VIP, its backend and ring, the filter and the backend index, as libveer writes them. */
static int populate(struct ab_obj *o)
{
	LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = o->ring_flags);
	static struct veer_backend table[VEER_MAX_BACKENDS];
	struct veer_vip_key vk = {.port = htons(80), .proto = IPPROTO_TCP, .family = VEER_AF_INET};
	struct veer_vip vip = {.ring_size = 13, .mode = VEER_MODE_NAT};
	struct veer_backend *be = &table[0];
	__u32 id = 0, slot = 0;
	int inner, err;

	vk.addr.v4 = inet_addr("198.18.100.10");
	be->addr.v4 = inet_addr("198.18.11.2");
	be->port = htons(80);
	be->family = VEER_AF_INET;
	be->flags = VEER_BACKEND_ACTIVE;
	be->weight = VEER_WEIGHT_DEFAULT;
	strcpy(be->pool, "default");
	err = bpf_map__update_elem(map(o, "veer_backends"), &id, sizeof(id), be, sizeof(*be),
				   BPF_ANY);
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "veer_ring", 4, 4, vip.ring_size, &copts);
	if (inner < 0)
		return -errno;
	for (__u32 i = 0; !err && i < vip.ring_size; i++)
		err = bpf_map_update_elem(inner, &i, &slot, BPF_ANY);
	err = err ?: bpf_map__update_elem(map(o, "veer_rings"), &vip.id, 4, &inner, 4, BPF_ANY);
	close(inner);
	err = err
		      ?: bpf_map__update_elem(map(o, "veer_vips"), &vk, sizeof(vk), &vip,
					      sizeof(vip), BPF_ANY);
	err = err
		      ?: veer_svc_sync(map(o, "veer_vips"), map(o, "veer_be_index"),
				       map(o, "veer_svc"), &vk.addr, vk.port, vk.proto, vk.family);
	err = err
		      ?: veer_be_index_sync(map(o, "veer_vips"), map(o, "veer_backends"),
					    map(o, "veer_be_index"), map(o, "veer_svc"), table,
					    &be->addr, be->port, be->family);
	if (err || !o->proxy)
		return err;
	/* 198.18.1.0/24 to port 8080 -> 198.18.1.1:3128, IN's own address: a local proxy. */
	struct veer_proxy_key k = {
		.prefixlen = VEER_PROXY_KEY_BITS + 24, .port = htons(8080), .family = VEER_AF_INET};
	struct veer_proxy_rule r = {.port = htons(3128)};

	k.addr.v4 = inet_addr("198.18.1.0");
	r.addr.v4 = inet_addr("198.18.1.1");
	return bpf_map__update_elem(map(o, "veer_proxy_rule"), &k, sizeof(k), &r, sizeof(r),
				    BPF_ANY)
		       ?: veer_proxy_gate_sync(map(o, "veer_proxy_rule"),
					       map(o, "veer_proxy_gate"));
}

static struct pkt_spec spec(const char *saddr, __u16 sport, const char *daddr, __u16 dport,
			    __u8 flags, const __u8 *smac, const __u8 *dmac)
{
	struct pkt_spec s = {.saddr = saddr,
			     .daddr = daddr,
			     .proto = IPPROTO_TCP,
			     .sport = sport,
			     .dport = dport,
			     .tcp_flags = flags,
			     .payload = 18,
			     .frag = 0x4000};

	memcpy(s.smac, smac, 6);
	memcpy(s.dmac, dmac, 6);
	return s;
}

static int build(struct pkt *p, struct pkt_spec s)
{
	return pkt_build(p, &s);
}

static int prog_fd(const struct ab_obj *o, enum ab_prog prog)
{
	return prog == PROG_XDP ? o->xdp : prog == PROG_TC ? o->tc : o->egress;
}

static int run(int fd, bool tc, const struct pkt *p, int ifindex, __u32 *retval, __u32 *dur)
{
	return bench_run1(fd, tc, p->data, p->len, ifindex, NULL, 0, NULL, retval, dur);
}

/* SYN, ACK and a reply through a build's XDP program: the connections its cases find. */
static int establish(struct ab_obj *o, struct pkt *syn, struct pkt *ack, struct pkt *reply,
		     struct pkt *psyn, struct pkt *pack, int in, int out)
{
	__u32 ret, dur;
	int err;

	err = run(o->xdp, false, syn, in, &ret, &dur) ?: run(o->xdp, false, ack, in, &ret, &dur);
	err = err ?: run(o->xdp, false, reply, out, &ret, &dur);
	if (!err && o->proxy)
		err = run(o->xdp, false, psyn, in, &ret, &dur)
			      ?: run(o->xdp, false, pack, in, &ret, &dur);
	return err;
}

int cmd_ab(int argc, char **argv)
{
	static const struct option opts[] = {{"empty", required_argument, NULL, 'e'},
					     {"rounds", required_argument, NULL, 'r'},
					     {"calls", required_argument, NULL, 'c'},
					     {"cpu", required_argument, NULL, 'p'},
					     {"copies", required_argument, NULL, 'n'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	static struct pkt pkts[P_N], syn, psyn;
	static struct ab_obj a[AB_COPIES_MAX], b[AB_COPIES_MAX], e[AB_COPIES_MAX];
	const char *empty = NULL;
	int rounds = 11, calls = 20000, cpu = -1, copies = 4, in, out, o, n = 0;
	char dir[4096], path[4200];
	struct ab_case c[32];
	__u32 order[32];
	__u64 seed = 0x7665657261622121ULL;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (o == 'e')
			empty = optarg;
		else if (o == 'r')
			rounds = atoi(optarg);
		else if (o == 'c')
			calls = atoi(optarg);
		else if (o == 'p')
			cpu = atoi(optarg);
		else if (o == 'n')
			copies = atoi(optarg);
		else {
			fprintf(o == 'h' ? stdout : stderr,
				"usage: veer-bench ab BASE.o NEW.o [--empty EMPTY.o] [--rounds N] "
				"[--calls N] [--cpu N] [--copies N]\n");
			return o == 'h' ? 0 : 2;
		}
	}
	if (argc - optind != 2 || rounds < 1 || rounds > AB_ROUNDS_MAX || copies < 1 ||
	    copies > AB_COPIES_MAX || calls < copies) {
		fprintf(stderr, "usage: veer-bench ab BASE.o NEW.o [--empty EMPTY.o] [--rounds "
				"1..64] [--calls N] [--cpu N] [--copies 1..8]\n");
		return 2;
	}
	if (!empty) {
		snprintf(dir, sizeof(dir), "%s", argv[optind + 1]);
		snprintf(path, sizeof(path), "%s/bench_empty.bpf.o", dirname(dir));
		empty = path;
	}
	if (topology() || (cpu >= 0 && bench_pin_cpu(cpu)))
		return 1;
	/*
	 * Where the kernel places a program and its maps moves its cost by up to 20 ns here, for
	 * the same object loaded twice too: each build is loaded several times and its calls
	 * spread over the copies, so that the placements average out.
	 */
	for (int i = 0; i < copies; i++) {
		if (ab_load(&a[i], argv[optind]) || ab_load(&b[i], argv[optind + 1]) ||
		    ab_load(&e[i], empty))
			return 1;
		if (populate(&a[i]) || populate(&b[i])) {
			fprintf(stderr, "veer-bench ab: cannot write the maps\n");
			return 1;
		}
	}
	in = if_nametoindex("ab-in");
	out = if_nametoindex("ab-out");
	if (build(&syn, spec("198.18.1.2", 40001, "198.18.100.10", 80, 0x02, MAC_CLIENT, MAC_IN)) ||
	    build(&pkts[P_NONVIP],
		  spec("198.18.1.2", 40000, "198.18.100.99", 80, 0x10, MAC_CLIENT, MAC_IN)) ||
	    build(&pkts[P_EST],
		  spec("198.18.1.2", 40001, "198.18.100.10", 80, 0x10, MAC_CLIENT, MAC_IN)) ||
	    build(&pkts[P_REPLY],
		  spec("198.18.11.2", 80, "198.18.1.2", 40001, 0x10, MAC_BE, MAC_OUT)) ||
	    build(&pkts[P_RULED],
		  spec("198.18.2.2", 40002, "198.18.100.99", 8080, 0x10, MAC_CLIENT, MAC_IN)) ||
	    build(&psyn,
		  spec("198.18.1.2", 40003, "198.18.100.99", 8080, 0x02, MAC_CLIENT, MAC_IN)) ||
	    build(&pkts[P_PROXIED],
		  spec("198.18.1.2", 40003, "198.18.100.99", 8080, 0x10, MAC_CLIENT, MAC_IN)) ||
	    build(&pkts[P_EGR_OTHER],
		  spec("198.18.1.1", 22, "198.18.1.2", 40004, 0x10, MAC_IN, MAC_CLIENT)) ||
	    build(&pkts[P_EGR_PROXY],
		  spec("198.18.1.1", 3128, "198.18.1.2", 40003, 0x10, MAC_IN, MAC_CLIENT))) {
		fprintf(stderr, "veer-bench ab: cannot build the packets\n");
		return 1;
	}
	for (int i = 0; i < copies; i++) {
		if (establish(&a[i], &syn, &pkts[P_EST], &pkts[P_REPLY], &psyn, &pkts[P_PROXIED],
			      in, out) ||
		    establish(&b[i], &syn, &pkts[P_EST], &pkts[P_REPLY], &psyn, &pkts[P_PROXIED],
			      in, out)) {
			fprintf(stderr, "veer-bench ab: cannot establish the connections\n");
			return 1;
		}
	}

#define CASE(nm, o, pg, o_ut, p, bs)                                                               \
	(c[n++] = (struct ab_case){.name = nm,                                                     \
				   .objs = o,                                                      \
				   .prog = pg,                                                     \
				   .tc = (pg) != PROG_XDP,                                         \
				   .from_out = o_ut,                                               \
				   .pkt = p,                                                       \
				   .base = bs,                                                     \
				   .forward = (p) == P_EST || (p) == P_REPLY})
	for (int tc = 0; tc < 2; tc++) {
		enum ab_prog pg = tc ? PROG_TC : PROG_XDP;
		int base = n;

		CASE(tc ? "tc: empty program" : "xdp: empty program", e, pg, false, P_NONVIP, -1);
		CASE("  base: TCP to no VIP (passed)", a, pg, false, P_NONVIP, base);
		CASE("  new:  TCP to no VIP (passed)", b, pg, false, P_NONVIP, base);
		CASE("  base: established (forward NAT)", a, pg, false, P_EST, base);
		CASE("  new:  established (forward NAT)", b, pg, false, P_EST, base);
		CASE("  base: reply (reverse NAT)", a, pg, true, P_REPLY, base);
		CASE("  new:  reply (reverse NAT)", b, pg, true, P_REPLY, base);
		if (!b[0].proxy)
			continue;
		CASE("  new:  ruled port, client outside (passed)", b, pg, false, P_RULED, base);
		CASE("  new:  proxied connection (to a local proxy)", b, pg, false, P_PROXIED,
		     base);
		if (tc) {
			CASE("  new:  egress, another packet (passed)", b, PROG_EGRESS, false,
			     P_EGR_OTHER, base);
			CASE("  new:  egress, the proxy's (rewritten)", b, PROG_EGRESS, false,
			     P_EGR_PROXY, base);
		}
	}
#undef CASE
	for (int r = 0; r < rounds; r++) {
		/* Whichever case runs first or after another pays for it: a new order each round.
		 */
		bench_shuffle(order, n, &seed);
		for (int oi = 0; oi < n; oi++) {
			int i = order[oi];
			__u64 sum = 0;
			__u32 ret, dur;

			for (int k = 0; k < calls; k++) {
				int fd = prog_fd(&c[i].objs[k * copies / calls], c[i].prog);

				if (run(fd, c[i].tc, &pkts[c[i].pkt], c[i].from_out ? out : in,
					&ret, &dur)) {
					fprintf(stderr, "veer-bench ab: %s: %s\n", c[i].name,
						strerror(errno));
					return 1;
				}
				/* Forwarded or passed, as the case says, or it measures another
				 * path. */
				if (ret != (c[i].forward
						    ? (c[i].tc ? TC_ACT_REDIRECT : XDP_REDIRECT)
						    : (c[i].tc ? TC_ACT_OK : XDP_PASS))) {
					fprintf(stderr, "veer-bench ab: %s: verdict %u\n",
						c[i].name, ret);
					return 1;
				}
				sum += dur;
			}
			c[i].v[r] = (double)sum / calls;
		}
	}
	printf("ab base=%s new=%s rounds=%d calls=%d copies=%d\n", argv[optind], argv[optind + 1],
	       rounds, calls, copies);
	for (int i = 0; i < n; i++) {
		double v[AB_ROUNDS_MAX], med, lo, hi, base = 0;

		memcpy(v, c[i].v, sizeof(v));
		med = bench_median(v, rounds);
		lo = v[0];
		hi = v[rounds - 1];
		if (c[i].base >= 0) {
			memcpy(v, c[c[i].base].v, sizeof(v));
			base = bench_median(v, rounds);
		}
		printf("%-48s %7.1f ns, net %6.1f ns (rounds %.1f-%.1f)\n", c[i].name, med,
		       med - base, lo, hi);
	}
	return 0;
}
