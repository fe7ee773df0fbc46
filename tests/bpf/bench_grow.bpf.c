// SPDX-License-Identifier: GPL-2.0
/*
 * What growing a packet at its head costs by itself, at each hook, for the per-packet benchmark
 * of direct server return (tests/bench/prog_run.c, part G): the helper calls dsr-ipip makes
 * (bpf/lib/encap.h, encap_push) for a 20-byte outer IPv4 header, in programs that do nothing
 * else, so that a DSR path's cost can be told from its helper's. A failed call is a verdict of
 * its own (drop), which the benchmark counts as a wrong one.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define GROW 20

SEC("xdp")
int bench_adjust_head(struct xdp_md *ctx)
{
	return bpf_xdp_adjust_head(ctx, -GROW) ? XDP_DROP : XDP_PASS;
}

/* encap_push's call at tc: room after the MAC header, recorded as an IPv4 tunnel's. */
SEC("tc")
int bench_adjust_room(struct __sk_buff *skb)
{
	return bpf_skb_adjust_room(skb, GROW, BPF_ADJ_ROOM_MAC,
				   BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L3_IPV4)
		       ? TC_ACT_SHOT
		       : TC_ACT_OK;
}

/* For comparison: room in front of the frame, with no tunnel recorded in the skb. */
SEC("tc")
int bench_change_head(struct __sk_buff *skb)
{
	return bpf_skb_change_head(skb, GROW, 0) ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
