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
	double *lat, p50, p99, max;
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
	if (bench_probe_open(&probe, o.ifname, o.vip, o.port))
		return 1;
	lat = calloc(o.edits, sizeof(*lat));
	if (!lat)
		return 1;
	for (int e = 0; e < o.edits; e++) {
		__u32 extra = 0xc6121f00 + 1 + e % 250; /* 198.18.31.x */
		double t0, hit;
		int rc;

		if (config_write(&o, extra)) {
			fprintf(stderr, "veer-bench: cannot write %s: %s\n", o.config,
				strerror(errno));
			return 1;
		}
		t0 = bench_now();
		rc = bench_probe_until(&probe, 0xc6120102 + (e & 0xff), extra, EDIT_TIMEOUT_S,
				       &hit);
		if (rc < 0)
			return 1;
		if (!rc) {
			fprintf(stderr, "veer-bench: edit %d: backend not used after %.0f s\n", e,
				EDIT_TIMEOUT_S);
			return 1;
		}
		lat[done++] = (hit - t0) * 1e3;
	}
	bench_percentiles(lat, done, &p50, &p99, &max);
	printf("edit edits=%d base=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", done, o.base, p50,
	       p99, max);
	free(lat);
	return 0;
usage:
	fprintf(stderr, "usage: veer-bench edit --config FILE --iface IFACE --vip ADDR:PORT "
			"[--base N] [--edits N]\n");
	return 2;
}
