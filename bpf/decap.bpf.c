// SPDX-License-Identifier: GPL-2.0
/*
 * veer's backend decapsulation: the backend half of direct server return (bpf/lib/decap.h).
 * Attached by `veer decap attach` on the interfaces where a DSR load balancer's encapsulated
 * packets arrive; it has maps of its own only (veer_decap_vips, veer_decap_stat), so a backend
 * host holds no connection tables.
 *
 * One body, two entry points (bpf/lib/ctx.h), as the load balancer: veer_decap at XDP and
 * veer_decap_tc at the tc ingress hook, where a GSO skb (a veth's) keeps its segmentation and
 * checksum state through the strip.
 */
#include "lib/decap.h"

SEC("xdp")
int veer_decap(struct xdp_md *ctx)
{
	return decap_main(ctx, HOOK_XDP);
}

SEC("tc")
int veer_decap_tc(struct __sk_buff *skb)
{
	return decap_main(skb, HOOK_TC);
}

char LICENSE[] SEC("license") = "GPL";
