/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Next-hop resolution and transmission. The FIB lookup is the most expensive step of the data
 * plane, so its answer (egress interface and both MACs) is cached in the flow entry and
 * refreshed every few seconds per flow, not done per packet.
 */
#ifndef VEER_BPF_FORWARD_H
#define VEER_BPF_FORWARD_H

#include "parse.h"
#include "csum.h"

#define AF_INET	 2
#define AF_INET6 10

static __always_inline void hop_resolve(struct xdp_md *ctx, const struct packet *p,
					struct veer_flow *f, const union veer_addr *src,
					const union veer_addr *dst)
{
	struct bpf_fib_lookup fib = {};

	fib.l4_protocol = p->key.proto;
	fib.tot_len = p->l3_len;
	fib.ifindex = ctx->ingress_ifindex;
	if (p->v6) {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_src, src, 16);
		__builtin_memcpy(fib.ipv6_dst, dst, 16);
	} else {
		fib.family = AF_INET;
		fib.ipv4_src = src->v4;
		fib.ipv4_dst = dst->v4;
	}
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS) {
		/* No neighbour entry yet, or not routable: the stack resolves it. */
		f->ifindex = 0;
		return;
	}
	f->ifindex = fib.ifindex;
	__builtin_memcpy(f->dmac, fib.dmac, 6);
	__builtin_memcpy(f->smac, fib.smac, 6);
}

/*
 * Decrements TTL/hop limit when veer forwards the packet itself. Returns false when it would
 * expire: the packet is then left to the stack, which sends the ICMP error.
 */
static __always_inline bool hop_limit_dec(struct packet *p, __u64 *ip_csum_diff)
{
	if (p->v6) {
		struct ipv6hdr *ip6h = p->l3;

		if (ip6h->hop_limit <= 1)
			return false;
		ip6h->hop_limit--;
		return true;
	} else {
		struct iphdr *iph = p->l3;
		__u16 *ttl_proto = (__u16 *)&iph->ttl;
		__u16 old = *ttl_proto;

		if (iph->ttl <= 1)
			return false;
		iph->ttl--;
		*ip_csum_diff = csum_diff16(*ip_csum_diff, old, *ttl_proto);
		return true;
	}
}

#endif
