/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NAT mode, veer as the backends' gateway: client->VIP packets get the backend as destination,
 * backend->client replies get the VIP back as source. Checksums are updated incrementally.
 */
#ifndef VEER_BPF_NAT_H
#define VEER_BPF_NAT_H

#include "csum.h"
#include "forward.h"

static __always_inline int nat_forward(struct xdp_md *ctx, struct packet *p,
				       const struct veer_flow *f)
{
	bool reply = f->dir == VEER_FLOW_REPLY;
	bool redirect = f->ifindex && !p->vlan;
	__be16 *ports = p->l4, *port = reply ? &ports[0] : &ports[1];
	__u64 ip_diff = 0, l4_diff;
	union veer_addr *addr;

	if (redirect && !hop_limit_dec(p, &ip_diff))
		return -VEER_PASS_TTL;

	if (p->v6) {
		struct ipv6hdr *ip6h = p->l3;

		addr = (union veer_addr *)(reply ? &ip6h->saddr : &ip6h->daddr);
	} else {
		struct iphdr *iph = p->l3;

		addr = (union veer_addr *)(reply ? &iph->saddr : &iph->daddr);
		ip_diff = csum_diff32(ip_diff, addr->v4, f->addr.v4);
		csum_apply(&iph->check, ip_diff);
	}
	l4_diff = csum_diff_addr(0, addr, &f->addr, p->v6);
	l4_diff = csum_diff16(l4_diff, *port, f->port);
	if (p->key.proto == IPPROTO_UDP)
		csum_apply_udp(p->l4_csum, l4_diff, p->v6);
	else
		csum_apply(p->l4_csum, l4_diff);
	if (p->v6)
		__builtin_memcpy(addr, &f->addr, 16);
	else
		addr->v4 = f->addr.v4;
	*port = f->port;

	if (!redirect)
		return -VEER_PASS_STACK;
	__builtin_memcpy(p->eth->h_dest, f->dmac, 6);
	__builtin_memcpy(p->eth->h_source, f->smac, 6);
	return bpf_redirect(f->ifindex, 0);
}

#endif
