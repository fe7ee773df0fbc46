// SPDX-License-Identifier: GPL-2.0
/* The baseline of the per-packet benchmark: the cost of BPF_PROG_RUN itself. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int bench_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
