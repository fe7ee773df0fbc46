/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NAT mode, veer as the backends' gateway: client->VIP packets get the backend as destination,
 * backend->client replies get the VIP back as source. Checksums are updated incrementally: in
 * place at XDP, through the kernel's helpers at tc so that an skb's checksum state (a partial
 * checksum from a local sender, a complete one from a NIC) stays true.
 */
#ifndef VEER_BPF_NAT_H
#define VEER_BPF_NAT_H

#include "csum.h"
#include "forward.h"
#include "icmp_send.h"

#define IP_DF 0x4000

/*
 * Larger than the cached egress MTU once overhead bytes of headers are put in front of it (an
 * encapsulation's; 0 for NAT). At tc the skb may be a GSO super-packet (a local TCP sender's
 * over a veth, or GRO's work): what goes on the wire are its segments, each the network and
 * transport headers plus gso_size bytes (plus overhead), the length the kernel's own
 * forwarding check (skb_gso_validate_network_len) compares with the MTU. Read from the skb
 * rather than through bpf_check_mtu, which needs the egress interface, unknown until a
 * neighbour is. An MTU of 0 is unknown (the entry was resolved without one) and never too big.
 */
static __always_inline bool too_big(void *ctx, const enum veer_hook hook, const struct packet *p,
				    const struct veer_hop *h, __u32 overhead)
{
	__u32 seg, gso;

	if (!h->mtu || p->l3_len + overhead <= h->mtu)
		return false;
	if (hook != HOOK_TC || !p->l4 || !(gso = CTX_SKB(ctx)->gso_size))
		return true;
	seg = (void *)p->l4 - p->l3 + gso;
	if (p->key.proto == IPPROTO_TCP)
		seg += ((struct tcphdr *)p->l4)->doff * 4;
	else
		seg += sizeof(struct udphdr);
	return seg + overhead > h->mtu;
}

static __always_inline bool may_fragment(const struct packet *p)
{
	return !p->v6 && !(((struct iphdr *)p->l3)->frag_off & bpf_htons(IP_DF));
}

/*
 * Rewrites the L4 checksum for an address change (covered by the pseudo-header only) and a port
 * change (covered by the header). What the field holds depends on the skb's checksum state:
 * - a full checksum (XDP, and at tc CHECKSUM_NONE/UNNECESSARY): updated in place for both;
 * - CHECKSUM_PARTIAL (a local sender's, over a veth): the pseudo-header's sum alone, not
 *   inverted, which the device completes over the header and payload: only the address
 *   change goes in, the port's is the device's to count;
 * - CHECKSUM_COMPLETE (a NIC's sum over the packet, in skb->csum): the kernel's helpers keep
 *   skb->csum true as well. They move packet data: nothing may read through a packet pointer
 *   after this. Direct writes cost far less (two helper calls are most of tc's cost per
 *   packet), so the helpers are kept for the state that needs them.
 */
static __always_inline void l4_csum_rewrite(void *ctx, const enum veer_hook hook,
					    const struct packet *p, __u64 addr_diff,
					    __be16 from_port, __be16 to_port)
{
	enum veer_csum_state state = ctx_csum_state(ctx, hook);

	if (state == VEER_CHECKSUM_PARTIAL) {
		*p->l4_csum = csum_fold64(*p->l4_csum + addr_diff);
		return;
	}
	if (state == VEER_CHECKSUM_COMPLETE) {
		__u32 off = (void *)p->l4_csum - (void *)p->eth;
		__u64 mangled0 = p->key.proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

		bpf_l4_csum_replace(ctx, off, 0, csum_fold64(addr_diff),
				    BPF_F_PSEUDO_HDR | mangled0);
		bpf_l4_csum_replace(ctx, off, from_port, to_port, sizeof(to_port) | mangled0);
		return;
	}
	addr_diff = csum_diff16(addr_diff, from_port, to_port);
	if (p->key.proto == IPPROTO_UDP)
		csum_apply_udp(p->l4_csum, addr_diff, p->v6);
	else
		csum_apply(p->l4_csum, addr_diff);
}

/*
 * Rewrites the packet as flow f says and sends it on: destination (forward) or source (reply)
 * address, with the IPv4 header checksum; with `ports`, the port too and the L4 checksum. A
 * later fragment has no L4 header and is rewritten without ports (bpf/lib/frag.h). `ports` is
 * a literal at each call site: the inlined copies carry no test of it.
 */
static __always_inline int nat_rewrite(void *ctx, const enum veer_hook hook, struct packet *p,
				       const struct flow_view *f, const bool ports)
{
	const struct veer_hop *h = &f->hop;
	bool reply = f->reply;
	bool redirect = h->ifindex && !p->vlan;
	__u64 ip_diff = 0, addr_diff;
	union veer_addr *addr;
	int pass = -VEER_PASS_STACK;

	/* Also on the stack's path: its error would quote the packet as rewritten. */
	if (!p->vlan && too_big(ctx, hook, p, h, 0)) {
		/*
		 * Answered from the packet as it arrived: before anything below rewrites it. A
		 * later fragment (no ports) gets no answer (icmp_send.h); the literal keeps the
		 * answer's code out of its inlined copy.
		 */
		if (!may_fragment(p))
			return ports ? icmp_send_too_big(ctx, hook, p, f, 0) : -VEER_DROP_MTU;
		/* The stack fragments it after the rewrite, and decrements the TTL itself. */
		redirect = false;
		pass = -VEER_PASS_MTU_STACK;
	}
	if (redirect && !hop_limit_dec(p, &ip_diff))
		return -VEER_PASS_TTL;

	addr = ip_addr_field(p->l3, p->v6, reply);
	if (!p->v6) {
		ip_diff = csum_diff32(ip_diff, addr->v4, f->addr.v4);
		csum_apply(&((struct iphdr *)p->l3)->check, ip_diff);
	}
	addr_diff = csum_diff_addr(0, addr, &f->addr, p->v6);
	ip_addr_write(addr, &f->addr, p->v6);
	if (redirect) {
		__builtin_memcpy(p->eth->h_dest, h->dmac, 6);
		__builtin_memcpy(p->eth->h_source, h->smac, 6);
	}
	if (ports) {
		__be16 *l4_ports = p->l4, *port = reply ? &l4_ports[0] : &l4_ports[1];
		__be16 old_port;

		/* Parsed already; said again for the verifier, which loses the range in bpf_loop.
		 */
		if ((void *)(port + 1) > ctx_data_end(ctx, hook))
			return -VEER_DROP_BAD_L4;
		old_port = *port;

		*port = f->port;
		l4_csum_rewrite(ctx, hook, p, addr_diff, old_port, f->port);
	}
	return redirect ? bpf_redirect(h->ifindex, 0) : pass;
}

static __always_inline int nat_forward(void *ctx, const enum veer_hook hook, struct packet *p,
				       const struct flow_view *f)
{
	return nat_rewrite(ctx, hook, p, f, true);
}

/* A later fragment: addresses only, the rest (next hop, TTL, MTU) as nat_forward. */
static __always_inline int nat_forward_addr(void *ctx, const enum veer_hook hook, struct packet *p,
					    const struct flow_view *f)
{
	return nat_rewrite(ctx, hook, p, f, false);
}

#endif
