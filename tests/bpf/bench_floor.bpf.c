// SPDX-License-Identifier: GPL-2.0
/*
 * The forwarding floor: the least an XDP forwarder can do. Rewrites both MACs and redirects
 * to the egress device, nothing else. Set by userspace before load (mutable globals: clang
 * folds reads of a const volatile array through __builtin_memcpy to zeros).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

__u32 out_ifindex;
__u8 dmac[ETH_ALEN];
__u8 smac[ETH_ALEN];

SEC("xdp")
int bench_floor(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	return bpf_redirect(out_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
