// SPDX-License-Identifier: GPL-2.0
/*
 * From a config edit to the data plane: how long after veerd's file is saved (a new file
 * renamed over it, as editors do) a new backend receives its first new flow.
 *
 * veerd runs on FILE, attached to IFACE (at tc) in this network namespace, where every backend
 * address is a permanent neighbour so that a forwarded packet leaves with its backend as its
 * destination. Each edit replaces the previous edit's extra backend with a fresh address; from
 * the rename on, new flows (a new source port per packet) run through veer's attached program
 * by BPF_PROG_RUN until one is rewritten to the new backend. The time is that packet's, so it
 * counts inotify, the parse, the reconcile and the ring swap, and the chance of a flow landing
 * on the new backend (1 in BASE + 1 per flow, a probe every 50 us: well under a millisecond).
 * The probe (bench_probe_*) also times `veer-bench etcd`, the same change written to etcd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"
#include "veer.h"

#define EDIT_TIMEOUT_S 5.0

struct edit_opts {
	const char *config, *ifname;
	__u32 vip;
	__u16 port;
	int base, edits;
};

/* The config with BASE backends 198.18.30.(1..BASE) and, unless 0, extra. */
static int config_write(const struct edit_opts *o, __u32 extra)
{
	char tmp[4096], a[INET_ADDRSTRLEN];
	struct in_addr in = {.s_addr = htonl(o->vip)};
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", o->config);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "interfaces: [{name: %s}]\nmetrics: {listen: off}\nvips:\n", o->ifname);
	fprintf(f, "  - address: %s\n    port: %u\n    protocol: udp\n    backends:\n",
		inet_ntop(AF_INET, &in, a, sizeof(a)), o->port);
	for (int i = 1; i <= o->base; i++)
		fprintf(f, "      - {address: 198.18.30.%d}\n", i);
	if (extra) {
		in.s_addr = htonl(extra);
		fprintf(f, "      - {address: %s}\n", inet_ntop(AF_INET, &in, a, sizeof(a)));
	}
	if (fclose(f))
		return -errno;
	return rename(tmp, o->config) ? -errno : 0;
}

int bench_probe_init(struct bench_probe *p, const char *ifname, __u32 vip, __u16 port)
{
	__u8 smac[ETH_ALEN] = {2, 0, 0, 0, 0, 1}, dmac[ETH_ALEN];

	memset(p, 0, sizeof(*p));
	p->ifindex = bench_ifindex(ifname);
	if (p->ifindex <= 0 || bench_ifmac(ifname, dmac))
		return -ENODEV;
	p->fd = bench_veer_prog_fd(ifname, "tc");
	if (p->fd < 0)
		return p->fd;
	p->sport = 1024;
	bench_frame_build(&p->fr, smac, dmac, 0xc6120102 /* 198.18.1.2 */, vip, 1024, port);
	return 0;
}

int bench_probe_wait(struct bench_probe *p, __u32 backend, __u32 src, double t0, double timeout_s,
		     double *hit_at)
{
	for (double now = bench_now(); now - t0 < timeout_s; now = bench_now()) {
		__u8 out[256];
		__u32 out_len = 0, retval = 0, dur = 0;
		struct iphdr *ip = (struct iphdr *)(out + sizeof(struct ethhdr));

		p->sport = p->sport + 1 ? p->sport + 1 : 1;
		bench_frame_set_src(&p->fr, src, p->sport);
		if (bench_run1(p->fd, true, &p->fr, sizeof(p->fr), p->ifindex, out, sizeof(out),
			       &out_len, &retval, &dur))
			return -EIO;
		if (out_len >= sizeof(struct ethhdr) + sizeof(*ip) && ntohl(ip->daddr) == backend) {
			*hit_at = now;
			return 0;
		}
		/*
		 * A probe every 50 us, not a busy loop: on a small host a spinning probe would
		 * take the CPU from the veerd it times.
		 */
		usleep(50);
	}
	return -ETIMEDOUT;
}

void bench_latency_print(const char *label, double *lat_ms, int n, const char *extra)
{
	qsort(lat_ms, n, sizeof(*lat_ms), bench_cmp_double);
	printf("%s %sp50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", label, extra, lat_ms[n / 2],
	       lat_ms[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], lat_ms[n - 1]);
}

int cmd_edit(int argc, char **argv)
{
	static const struct option lopts[] = {{"config", required_argument, NULL, 'c'},
					      {"iface", required_argument, NULL, 'i'},
					      {"vip", required_argument, NULL, 'V'},
					      {"base", required_argument, NULL, 'b'},
					      {"edits", required_argument, NULL, 'n'},
					      {0}};
	struct edit_opts o = {.base = 9, .edits = 100};
	struct bench_probe probe;
	char extra_opts[64];
	double *lat;
	int c, done = 0;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		if (c == 'c')
			o.config = optarg;
		else if (c == 'i')
			o.ifname = optarg;
		else if (c == 'V' && bench_parse_ipv4_port(optarg, &o.vip, &o.port))
			return 2;
		else if (c == 'b')
			o.base = atoi(optarg);
		else if (c == 'n')
			o.edits = atoi(optarg);
		else if (c != 'V')
			goto usage;
	}
	if (!o.config || !o.ifname || !o.vip || o.base < 1 || o.base > 200 || o.edits < 1 ||
	    o.edits > 1000)
		goto usage;
	if (bench_probe_init(&probe, o.ifname, o.vip, o.port))
		return 1;
	lat = calloc(o.edits, sizeof(*lat));
	if (!lat)
		return 1;
	for (int e = 0; e < o.edits; e++) {
		__u32 extra = 0xc6121f00 + 1 + e % 250; /* 198.18.31.x */
		double t0, hit;

		if (config_write(&o, extra)) {
			fprintf(stderr, "veer-bench: cannot write %s: %s\n", o.config,
				strerror(errno));
			return 1;
		}
		t0 = bench_now();
		c = bench_probe_wait(&probe, extra, 0xc6120102 + (e & 0xff), t0, EDIT_TIMEOUT_S,
				     &hit);
		if (c == -ETIMEDOUT) {
			fprintf(stderr, "veer-bench: edit %d: backend not used after %.0f s\n", e,
				EDIT_TIMEOUT_S);
			return 1;
		}
		if (c)
			return 1;
		lat[done++] = (hit - t0) * 1e3;
	}
	snprintf(extra_opts, sizeof(extra_opts), "edits=%d base=%d ", done, o.base);
	bench_latency_print("edit", lat, done, extra_opts);
	free(lat);
	return 0;
usage:
	fprintf(stderr, "usage: veer-bench edit --config FILE --iface IFACE --vip ADDR:PORT "
			"[--base N] [--edits N]\n");
	return 2;
}
