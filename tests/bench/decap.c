// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet cost of the decap program (bpf/decap.bpf.c) through BPF_PROG_RUN, at both hooks:
 * veer_decap (XDP) and veer_decap_tc (tc). One call per packet (repeat=1: the program strips
 * the packet, and repeat=N would run it over its own output), each case net of the empty
 * program of its hook run over the same frame in the same round.
 *
 * The skeleton is loaded with private maps (pinning off), holding the two VIPs the frames are
 * for. Before measuring, every case's frame is run once and checked: the verdict is "pass",
 * and a decapsulated frame comes out as its inner packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <veer/abi.h>
#include "bench.h"
#include "packet.h" /* tests/unit/packet.c: the unit fixtures' builder */
#include "bench_empty.skel.h"
#include "decap.skel.h"
#include "internal.h" /* libveer's own map upkeep: veer_decap_vip_put() */

#define DC_VIP4 "198.18.100.10"
#define DC_VIP6 "2001:2:0:100::10"

enum dc_frame {
	DF_IPIP,   /* UDP/IPv4 in IPv4 to a VIP */
	DF_IP6IP6, /* UDP/IPv6 in IPv6 to a VIP */
	DF_4IN6,   /* UDP/IPv4 in IPv6 */
	DF_6IN4,   /* UDP/IPv6 in IPv4 */
	DF_NOTVIP, /* UDP/IPv4 in IPv4 to an address that is no VIP */
	DF_PLAIN,  /* UDP/IPv4, not encapsulated */
	DF_COUNT
};

struct dc_case {
	const char *name, *title;
	bool tc;
	enum dc_frame frame;
	bool stripped; /* the output is the inner packet */
};

static const struct dc_case cases[] = {
	{"ipip", "IPv4 in IPv4, decapsulated", false, DF_IPIP, true},
	{"ip6ip6", "IPv6 in IPv6, decapsulated", false, DF_IP6IP6, true},
	{"4in6", "IPv4 in IPv6, decapsulated", false, DF_4IN6, true},
	{"6in4", "IPv6 in IPv4, decapsulated", false, DF_6IN4, true},
	{"notvip", "IPv4 in IPv4 to no VIP, passed", false, DF_NOTVIP, false},
	{"plain", "plain UDP/IPv4, passed", false, DF_PLAIN, false},
	{"tc_ipip", "tc: IPv4 in IPv4, decapsulated", true, DF_IPIP, true},
	{"tc_ip6ip6", "tc: IPv6 in IPv6, decapsulated", true, DF_IP6IP6, true},
	{"tc_4in6", "tc: IPv4 in IPv6, decapsulated", true, DF_4IN6, true},
	{"tc_6in4", "tc: IPv6 in IPv4, decapsulated", true, DF_6IN4, true},
	{"tc_notvip", "tc: IPv4 in IPv4 to no VIP, passed", true, DF_NOTVIP, false},
	{"tc_plain", "tc: plain UDP/IPv4, passed", true, DF_PLAIN, false},
};

#define DC_NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

static struct pkt frames[DF_COUNT], inners[DF_COUNT];

/* A client's 64-byte UDP datagram to daddr, with the backend's MACs. */
static int inner_build(struct pkt *p, const char *daddr)
{
	static const __u8 host[6] = {0x02, 0, 0, 0, 0x11, 0x02},
			  lb[6] = {0x02, 0, 0, 0, 0x11, 0x01};
	bool v6 = strchr(daddr, ':');
	struct pkt_spec s = {
		.saddr = v6 ? "2001:2:0:1::2" : "198.18.1.2",
		.daddr = daddr,
		.proto = IPPROTO_UDP,
		.sport = 40000,
		.dport = 53,
		.payload = 64,
	};

	memcpy(s.dmac, host, 6);
	memcpy(s.smac, lb, 6);
	return pkt_build(p, &s);
}

static int frames_build(void)
{
	static const struct {
		const char *inner, *outer_src, *outer_dst;
	} f[DF_COUNT] = {
		[DF_IPIP] = {DC_VIP4, "198.18.11.1", "198.18.11.2"},
		[DF_IP6IP6] = {DC_VIP6, "2001:2:0:11::1", "2001:2:0:11::2"},
		[DF_4IN6] = {DC_VIP4, "2001:2:0:11::1", "2001:2:0:11::2"},
		[DF_6IN4] = {DC_VIP6, "198.18.11.1", "198.18.11.2"},
		[DF_NOTVIP] = {"198.18.100.99", "198.18.11.1", "198.18.11.2"},
		[DF_PLAIN] = {"198.18.100.99", NULL, NULL},
	};
	int err = 0;

	for (int i = 0; !err && i < DF_COUNT; i++) {
		err = inner_build(&inners[i], f[i].inner);
		if (!err && f[i].outer_src)
			err = pkt_build_encap(&frames[i], &inners[i], f[i].outer_src,
					      f[i].outer_dst, 0);
		else if (!err)
			frames[i] = inners[i];
	}
	return err;
}

/* With libveer's own code: the slot placement is the one veer decap vip add makes. */
static int vip_add(struct decap *skel, const char *addr)
{
	union veer_addr a = {};
	__u8 family;

	if (veer_decap_parse_vip(addr, &a, &family))
		return -EINVAL;
	return veer_decap_vip_put(skel->maps.veer_decap_vips, &a, family, true);
}

/* One run of every case's frame, checked: "pass", and the inner packet when stripped. */
static int check_cases(const int *fd)
{
	static struct pkt out;

	for (int c = 0; c < DC_NCASES; c++) {
		const struct dc_case *k = &cases[c];
		const struct pkt *in = &frames[k->frame];
		const struct pkt *want = k->stripped ? &inners[k->frame] : in;
		__u32 ret, dur, len = 0;
		int err;

		err = bench_run1(fd[k->tc], k->tc, in->data, in->len, 0, out.data, sizeof(out.data),
				 &len, &ret, &dur);
		if (err) {
			fprintf(stderr, "veer-bench: BPF_PROG_RUN: %s\n", strerror(-err));
			return err;
		}
		if (ret != (k->tc ? TC_ACT_OK : XDP_PASS) || len != want->len ||
		    memcmp(out.data, want->data, len)) {
			fprintf(stderr,
				"veer-bench: decap %s: verdict %u, %u bytes: not what decap "
				"makes of it\n",
				k->name, ret, len);
			return -EINVAL;
		}
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: veer-bench decap [--rounds N] [--calls N] [--cpu N]\n"
			"Prints one line 'decap CASE kern_ns=.. wall_ns=.. net_ns=..' per case.\n");
}

int cmd_decap(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"rounds", required_argument, NULL, 'r'},
		{"calls", required_argument, NULL, 'c'},
		{"cpu", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	static double kern[DC_NCASES][2][64], wall[DC_NCASES][2][64];
	struct bench_empty *empty = NULL;
	struct decap *skel = NULL;
	int rounds = 7, calls = 30000, cpu = -1, opt, err = 1, fd[2], efd[2];
	struct bpf_map *map;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 'c')
			calls = atoi(optarg);
		else if (opt == 'C')
			cpu = atoi(optarg);
		else
			goto bad;
	}
	if (rounds < 1 || rounds > 63 || calls < 1)
		goto bad;
	if (cpu >= 0 && bench_pin_cpu(cpu))
		fprintf(stderr, "veer-bench: cannot pin to CPU %d, running unpinned\n", cpu);
	if (frames_build()) {
		fprintf(stderr, "veer-bench: cannot build the frames\n");
		return 1;
	}
	skel = decap__open();
	if (!skel) {
		fprintf(stderr, "veer-bench: cannot open the decap skeleton: %s\n",
			strerror(errno));
		return 1;
	}
	/* Private maps: nothing pinned, nothing adopted. */
	bpf_object__for_each_map(map, skel->obj) bpf_map__set_pin_path(map, NULL);
	err = decap__load(skel);
	if (!err)
		err = vip_add(skel, DC_VIP4);
	if (!err)
		err = vip_add(skel, DC_VIP6);
	empty = err ? NULL : bench_empty__open_and_load();
	if (err || !empty) {
		fprintf(stderr, "veer-bench: cannot load decap or bench_empty: %s\n",
			strerror(err ? -err : errno));
		err = 1;
		goto out;
	}
	fd[0] = bpf_program__fd(skel->progs.veer_decap);
	fd[1] = bpf_program__fd(skel->progs.veer_decap_tc);
	efd[0] = bpf_program__fd(empty->progs.bench_empty);
	efd[1] = bpf_program__fd(empty->progs.bench_empty_tc);
	err = check_cases(fd);
	if (err)
		goto out;

	/* Round 0 warms caches up and is thrown away; cases and their baselines interleave. */
	for (int r = 0; r <= rounds; r++) {
		for (int c = 0; c < DC_NCASES; c++) {
			const struct dc_case *k = &cases[c];
			const struct pkt *in = &frames[k->frame];

			for (int base = 0; base < 2; base++) {
				int prog = base ? efd[k->tc] : fd[k->tc];
				__u64 ksum = 0;
				__u32 ret, dur;
				double t0 = bench_now();

				for (int i = 0; i < calls; i++) {
					err = bench_run1(prog, k->tc, in->data, in->len, 0, NULL, 0,
							 NULL, &ret, &dur);
					if (err) {
						fprintf(stderr, "veer-bench: BPF_PROG_RUN: %s\n",
							strerror(-err));
						goto out;
					}
					ksum += dur;
				}
				if (r) {
					kern[c][base][r - 1] = (double)ksum / calls;
					wall[c][base][r - 1] = (bench_now() - t0) * 1e9 / calls;
				}
			}
		}
	}
	for (int c = 0; c < DC_NCASES; c++) {
		double k = bench_median(kern[c][0], rounds), b = bench_median(kern[c][1], rounds);
		double w = bench_median(wall[c][0], rounds), wb = bench_median(wall[c][1], rounds);

		/* bench_median sorts: kern[c][0][0] and [rounds - 1] are then the extremes. */
		printf("decap %s kern_ns=%.1f wall_ns=%.1f net_ns=%.1f net_wall_ns=%.1f "
		       "kern_range=%.1f-%.1f empty_ns=%.1f len=%u hook=%s title=\"%s\"\n",
		       cases[c].name, k, w, k - b, w - wb, kern[c][0][0], kern[c][0][rounds - 1], b,
		       frames[cases[c].frame].len, cases[c].tc ? "tc" : "xdp", cases[c].title);
	}
	printf("decap params rounds=%d calls=%d\n", rounds, calls);
	err = 0;
out:
	bench_empty__destroy(empty);
	decap__destroy(skel);
	return err ? 1 : 0;
bad:
	usage();
	return 2;
}
