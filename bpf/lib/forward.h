/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Next-hop resolution and transmission. The FIB lookup is the most expensive step of the data
 * plane, so its answer (egress interface and both MACs) is cached: toward a backend per backend
 * (veer_be_hops), toward a client in the flow's entry, and refreshed every few seconds.
 */
#ifndef VEER_BPF_FORWARD_H
#define VEER_BPF_FORWARD_H

#include "parse.h"
#include "csum.h"

#define AF_INET	 2
#define AF_INET6 10

/*
 * The lookup is made with no length (tot_len 0): the MTU is checked per packet against the
 * egress interface's MTU cached here, not once per flow against whichever packet happened to
 * resolve the hop. At tc a zero length makes the kernel check the skb itself (GSO aware) and
 * answer FRAG_NEEDED with every field filled, which is as good as success for caching.
 *
 * v6 is the family of dst, which is the packet's except toward a dsr-ipip backend with an
 * IPv6 address serving an IPv4 VIP: the packet then leaves inside an IPv6 header, and the
 * lookup has no source (an IPv4 client's address is none).
 */
static __always_inline void hop_resolve(void *ctx, const enum veer_hook hook,
					const struct packet *p, struct veer_hop *f,
					const union veer_addr *src, const union veer_addr *dst,
					bool v6)
{
	struct bpf_fib_lookup fib = {};
	__u32 mtu = 0;
	long rc;

	fib.l4_protocol = p->key.proto;
	fib.ifindex = ctx_ifindex(ctx, hook);
	if (v6) {
		fib.family = AF_INET6;
		if (p->v6)
			__builtin_memcpy(fib.ipv6_src, src, 16);
		__builtin_memcpy(fib.ipv6_dst, dst, 16);
	} else {
		fib.family = AF_INET;
		fib.ipv4_src = src->v4;
		fib.ipv4_dst = dst->v4;
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS &&
	    !(hook == HOOK_TC && rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)) {
		/*
		 * No neighbour entry yet, or not routable: the stack resolves it. Without a
		 * neighbour the egress interface is known all the same, and so its MTU: a packet
		 * too big for it is answered by veer (quoting what the client sent) rather than
		 * by the stack, whose error would quote the rewritten packet.
		 */
		f->ifindex = 0;
		f->mtu = 0;
		/* The check's verdict is about this packet; the MTU it reports is the device's. */
		if (rc == BPF_FIB_LKUP_RET_NO_NEIGH && fib.ifindex &&
		    bpf_check_mtu(ctx, fib.ifindex, &mtu, 0, 0) >= 0)
			f->mtu = mtu > 0xffff ? 0xffff : mtu;
		return;
	}
	bpf_check_mtu(ctx, fib.ifindex, &mtu, 0, 0);
	f->ifindex = fib.ifindex;
	f->mtu = mtu > 0xffff ? 0xffff : mtu;
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
