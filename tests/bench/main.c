// SPDX-License-Identifier: GPL-2.0
/*
 * veer-bench: the measuring half of `make bench` (scripts/bench.sh builds the namespaces,
 * drives the forwarders and writes docs/BENCHMARKS.md).
 *
 *   veer-bench prog-run ...   per-packet cost of veer_lb through BPF_PROG_RUN (repeat=1)
 *   veer-bench flows ...      a million flows through veer's attached programs, and the floors
 *   veer-bench synflood ...   a SYN flood against established connections (BPF_PROG_RUN)
 *   veer-bench live ...       forwarded pps through generator -> forwarder -> sink namespaces
 *   veer-bench kv ...         GET rate and latency of a redis or memcached server, cached or not
 *   veer-bench decap ...      per-packet cost of the decap program through BPF_PROG_RUN
 *   veer-bench ab BASE.o NEW.o  per-packet cost of two builds of the data plane, in one run
 *   veer-bench edit ...       veerd: config file saved -> a new backend's first new flow
 *   veer-bench apply ...      a declarative apply of 1000 VIPs x 10 backends, and again
 *   veer-bench health ...     veerd's health checker: 10,000 backends probed, CPU and lateness
 *   veer-bench etcd ...       veerd: a key written to etcd -> a new backend's first new flow
 *   veer-bench k8s ...        veerd: a Kubernetes watch event -> the new endpoint's first new flow
 *   veer-bench events ...     the event stream: per-packet cost on and off, records a second
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* setns, CPU_SET, sched_setaffinity */
#endif
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "bench.h"

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	libbpf_set_print(libbpf_quiet);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "prog-run"))
		return cmd_prog_run(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "live"))
		return cmd_live(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "flows"))
		return cmd_flows(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "synflood"))
		return cmd_synflood(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "kv"))
		return cmd_kv(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "decap"))
		return cmd_decap(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "ab"))
		return cmd_ab(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "edit"))
		return cmd_edit(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "apply"))
		return cmd_apply(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "health"))
		return cmd_health(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "etcd"))
		return cmd_etcd(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "k8s"))
		return cmd_k8s(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "events"))
		return cmd_events(argc - 1, argv + 1);
	fprintf(stderr, "usage: veer-bench "
			"prog-run|flows|synflood|live|kv|decap|ab|apply|edit|health|etcd|k8s|events "
			"[--help]\n");
	return 2;
}
