// SPDX-License-Identifier: GPL-2.0
/*
 * The baselines of the per-packet benchmark: the cost of BPF_PROG_RUN itself, one empty
 * program per hook veer runs at (an XDP frame and an skb cost the runner differently).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int bench_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int bench_empty_tc(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
