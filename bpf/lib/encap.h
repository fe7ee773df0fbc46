/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Direct server return. A DSR VIP's connections are scheduled and tracked exactly as NAT ones
 * (one entry per connection, keyed client -> VIP, handshakes apart); only the last step
 * differs. The backend has the VIP on its loopback and answers the client itself, from the
 * VIP's address: its replies never come back through veer, so the packet reaches it with
 * its addresses, ports and TTL as the client sent them.
 *
 *   dsr-ipip: the packet goes inside an outer IPv4 or IPv6 header to the backend: IPv4 in IPv4
 *   (protocol 4), IPv6 in IPv6 (next header 41), and IPv4 in IPv6 (next header 4) for IPv6
 *   backends of an IPv4 VIP. The outer source is the flow's own, as Katran's: a prefix set
 *   with `veer set encap-source4|encap-source6`, its host bits from a hash of the client's
 *   address and port (and over IPv6 the flow label too), so that a backend's receive-side
 *   scaling, which hashes the outer header, spreads flows over its queues while every packet
 *   of one flow lands on one. TTL / hop limit 64; TOS / traffic class copied from the inner
 *   header, and over IPv4 the identification and DF bit as well.
 *
 *   dsr-l2: backends on the segment of the egress interface. Only the MACs change: the
 *   backend's, from the neighbour table, and the egress interface's.
 *
 * At XDP the frame grows at its head (bpf_xdp_adjust_head); at tc the skb grows after its MAC
 * header through bpf_skb_adjust_room with the encapsulation flags, which records the inner
 * headers and the tunnel type in the skb, so that a GSO super-packet (a local TCP sender's
 * over a veth) is still segmented right, with a partial checksum still completed over the
 * inner TCP/UDP header (it does not move: the room is made by moving the MAC header). The
 * segments keep their size (BPF_F_ADJ_ROOM_FIXED_GSO): the MTU check counts the outer header
 * on top of each. For IPv4 in IPv6 the kernel sets skb->protocol to IPv6 with the room (and
 * drops any route the skb had), so a packet handed to the stack is routed by its outer header.
 */
#ifndef VEER_BPF_ENCAP_H
#define VEER_BPF_ENCAP_H

#include "nat.h"
#include "hash.h"
#include "stats.h"

#define ENCAP4_LEN  20 /* sizeof(struct iphdr) */
#define ENCAP6_LEN  40 /* sizeof(struct ipv6hdr) */
#define ENCAP_TTL   64
#define ENCAP_LABEL 0xfffff /* the IPv6 flow label's 20 bits */

/* What the outer header takes from the packet, read before the packet grows. */
struct encap_in {
	__u32 hash; /* of the flow's client address, port and protocol */
	__u16 len;  /* the inner datagram */
	__u8 tos;   /* TOS / traffic class */
	__u8 proto; /* IPPROTO_IPIP or IPPROTO_IPV6: what the outer header carries */
	__be16 id;  /* IPv4 inner: identification and DF, copied to an IPv4 outer header */
	__be16 df;
};

/*
 * The outer source for a flow whose hash is h: the set prefix (or the default), its host bits
 * from h. Over IPv6 only the last 32 bits take the hash; the bits between a shorter prefix and
 * them are the prefix's, zero. The masks come from shifting a 64-bit word, defined for a
 * length of 0 to 32 bits, which a 32-bit shift is not.
 */
static __always_inline void encap_source(bool outer6, __u32 h, union veer_addr *src)
{
	struct veer_settings *s;
	__u32 zero = 0, len, word, net;

	s = bpf_map_lookup_elem(&veer_settings, &zero);
	if (!outer6) {
		word = VEER_ENCAP_SRC4_DEFAULT;
		len = VEER_ENCAP_SRC4_LEN_DEFAULT;
		if (s && s->encap_src4.v4) {
			word = bpf_ntohl(s->encap_src4.v4);
			len = s->encap_src4_len;
		}
		net = (__u32)(0xffffffff00000000ULL >> (len & 63));
		src->v4 = bpf_htonl((word & net) | (h & ~net));
		return;
	}
	if (s && (s->encap_src6.v6[0] | s->encap_src6.v6[1] | s->encap_src6.v6[2] |
		  s->encap_src6.v6[3])) {
		*src = s->encap_src6;
		len = s->encap_src6_len;
	} else {
		src->v6[0] = bpf_htonl(VEER_ENCAP_SRC6_DEFAULT);
		src->v6[1] = 0;
		src->v6[2] = 0;
		src->v6[3] = 0;
		len = VEER_ENCAP_SRC6_LEN_DEFAULT;
	}
	net = (__u32)(0xffffffff00000000ULL >> (len > 96 ? (len - 96) & 63 : 0));
	src->v6[3] = bpf_htonl((bpf_ntohl(src->v6[3]) & net) | (h & ~net));
}

static __always_inline void encap_read(const struct packet *p, const struct veer_flow_key *k,
				       struct encap_in *in)
{
	in->hash = hash_flow(k, k->family == VEER_AF_INET6);
	in->len = p->l3_len;
	if (p->v6) {
		in->tos = bpf_ntohl(*(__be32 *)p->l3) >> 20;
		in->proto = IPPROTO_IPV6;
	} else {
		const struct iphdr *iph = p->l3;

		in->tos = iph->tos;
		in->proto = IPPROTO_IPIP;
		in->id = iph->id;
		in->df = iph->frag_off & bpf_htons(IP_DF);
	}
}

/*
 * Makes room for len bytes of outer header between the MAC header and the packet. The MACs
 * stay as they came; the ethertype becomes the outer header's. Every packet pointer is stale
 * afterwards. NULL if the kernel could not grow the packet.
 */
static __always_inline struct ethhdr *encap_push(void *ctx, const enum veer_hook hook,
						 const bool outer6)
{
	const __u32 len = outer6 ? ENCAP6_LEN : ENCAP4_LEN;
	struct ethhdr *eth;
	void *end;

	if (hook == HOOK_TC) {
		if (bpf_skb_adjust_room(ctx, len, BPF_ADJ_ROOM_MAC,
					BPF_F_ADJ_ROOM_FIXED_GSO |
						(outer6 ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV6
							: BPF_F_ADJ_ROOM_ENCAP_L3_IPV4)))
			return NULL;
	} else if (bpf_xdp_adjust_head(ctx, -(int)len)) {
		return NULL;
	}
	eth = ctx_data(ctx, hook);
	end = ctx_data_end(ctx, hook);
	if ((void *)eth + ETH_HLEN + len > end)
		return NULL;
	/* At XDP the old header is len bytes in: its MACs go to the front, before any write. */
	if (hook != HOOK_TC)
		__builtin_memcpy(eth, (void *)eth + len, 12);
	eth->h_proto = bpf_htons(outer6 ? ETH_P_IPV6 : ETH_P_IP);
	return eth;
}

/* The outer IPv4 header; its sum, checksum included, is zero: skb->csum needs nothing. */
static __always_inline void encap_ip4(struct iphdr *o, const struct encap_in *in,
				      const union veer_addr *src, const union veer_addr *dst)
{
	__u32 *w = (void *)o;

	*(__be16 *)o = bpf_htons(0x4500 | in->tos); /* version 4, IHL 5, TOS */
	o->tot_len = bpf_htons(in->len + ENCAP4_LEN);
	o->id = in->id;
	o->frag_off = in->df;
	o->ttl = ENCAP_TTL;
	o->protocol = IPPROTO_IPIP;
	o->check = 0;
	o->saddr = src->v4;
	o->daddr = dst->v4;
	o->check = ~csum_fold64((__u64)w[0] + w[1] + w[2] + w[3] + w[4]);
}

/*
 * The outer IPv6 header. At tc a complete skb->csum (a NIC's sum over the packet from its
 * network header on, which now starts here) gets the header's sum, which nothing else offsets.
 */
static __always_inline void encap_ip6(void *ctx, const enum veer_hook hook, struct ipv6hdr *o,
				      const struct encap_in *in, const union veer_addr *src,
				      const union veer_addr *dst)
{
	__u32 *w = (void *)o;

	w[0] = bpf_htonl(0x60000000 | (__u32)in->tos << 20 | (in->hash & ENCAP_LABEL));
	o->payload_len = bpf_htons(in->len);
	o->nexthdr = in->proto;
	o->hop_limit = ENCAP_TTL;
	__builtin_memcpy(&o->saddr, src, 16);
	__builtin_memcpy(&o->daddr, dst, 16);
	if (hook == HOOK_TC && ctx_csum_state(ctx, hook) == VEER_CHECKSUM_COMPLETE)
		bpf_csum_update(ctx, csum_fold64((__u64)w[0] + w[1] + w[2] + w[3] + w[4] + w[5] +
						 w[6] + w[7] + w[8] + w[9]));
}

/*
 * Sends the frame out of ifindex, counted as reason: XDP_TX at XDP when that is the interface
 * it came in on (one-armed DSR), else a redirect.
 */
static __always_inline int dsr_xmit(void *ctx, const enum veer_hook hook, __u32 ifindex,
				    __u32 reason)
{
	count_reason(reason);
	if (hook != HOOK_TC && ifindex == ctx_ifindex(ctx, hook))
		return XDP_TX;
	return bpf_redirect(ifindex, 0);
}

/* dsr-ipip: packet p of the flow keyed k, encapsulated toward the flow's backend. */
static __always_inline int dsr_ipip(void *ctx, const enum veer_hook hook, struct packet *p,
				    const struct flow_view *v, const struct veer_flow_key *k)
{
	const struct veer_hop *h = &v->hop;
	bool outer6 = p->v6 || v->family == VEER_AF_INET6;
	struct encap_in in = {};
	union veer_addr src = {};
	struct ethhdr *eth;

	encap_read(p, k, &in);
	encap_source(outer6, in.hash, &src);
	/* Every packet pointer is stale from here on. */
	if (outer6) {
		eth = encap_push(ctx, hook, true);
		if (!eth)
			return -VEER_DROP_ENCAP;
		encap_ip6(ctx, hook, (void *)(eth + 1), &in, &src, &v->addr);
	} else {
		eth = encap_push(ctx, hook, false);
		if (!eth)
			return -VEER_DROP_ENCAP;
		encap_ip4((void *)(eth + 1), &in, &src, &v->addr);
	}
	if (!h->ifindex) {
		/* No neighbour yet: the stack routes the outer header and resolves one. */
		count_reason(VEER_FWD_DSR_IPIP);
		return -VEER_PASS_STACK;
	}
	__builtin_memcpy(eth->h_dest, h->dmac, 6);
	__builtin_memcpy(eth->h_source, h->smac, 6);
	return dsr_xmit(ctx, hook, h->ifindex, VEER_FWD_DSR_IPIP);
}

/*
 * dsr-l2 with no neighbour entry for the backend. At tc the kernel resolves it and sends the
 * packet (bpf_redirect_neigh, the backend as next hop, out of the interface the FIB names).
 * XDP has no such helper, and the stack cannot be handed the packet, which it would route by
 * its destination, the VIP: dropped, `dsr_no_neigh`, until the backend has an entry.
 */
static __always_inline int dsr_l2_resolve(void *ctx, const enum veer_hook hook,
					  const struct packet *p, const struct flow_view *v)
{
	struct bpf_fib_lookup fib = {};
	struct bpf_redir_neigh nh = {};

	if (hook != HOOK_TC)
		return -VEER_DROP_DSR_NO_NEIGH;
	fib.l4_protocol = p->key.proto;
	fib.ifindex = ctx_ifindex(ctx, hook);
	if (p->v6) {
		fib.family = AF_INET6;
		nh.nh_family = AF_INET6;
		__builtin_memcpy(fib.ipv6_src, &p->key.saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, &v->addr, 16);
		__builtin_memcpy(nh.ipv6_nh, &v->addr, 16);
	} else {
		fib.family = AF_INET;
		nh.nh_family = AF_INET;
		fib.ipv4_src = p->key.saddr.v4;
		fib.ipv4_dst = v->addr.v4;
		nh.ipv4_nh = v->addr.v4;
	}
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_SKIP_NEIGH) !=
		    BPF_FIB_LKUP_RET_SUCCESS ||
	    !fib.ifindex)
		return -VEER_DROP_DSR_NO_NEIGH;
	count_reason(VEER_FWD_DSR_L2);
	return bpf_redirect_neigh(fib.ifindex, &nh, sizeof(nh), 0);
}

/* dsr-l2: the backend's MAC and the egress interface's. */
static __always_inline int dsr_l2(void *ctx, const enum veer_hook hook, struct packet *p,
				  const struct flow_view *v)
{
	const struct veer_hop *h = &v->hop;

	if (!h->ifindex)
		return dsr_l2_resolve(ctx, hook, p, v);
	__builtin_memcpy(p->eth->h_dest, h->dmac, 6);
	__builtin_memcpy(p->eth->h_source, h->smac, 6);
	return dsr_xmit(ctx, hook, h->ifindex, VEER_FWD_DSR_L2);
}

/*
 * Sends p, a packet of a DSR flow (v->mode not NAT), to the flow's backend, untouched but for
 * the encapsulation or the MACs: no TTL decrement either, as Katran. k: the flow's key,
 * client -> VIP, whose client address and port pick the outer source. Counts dsr_ipip or
 * dsr_l2 for every packet it sends or hands to the stack.
 *
 * Too big for the egress MTU once encapsulated (or at all, dsr-l2): answered with the MTU less
 * the outer header when answer says the path may answer (a literal at each call site: the
 * packet's own, not a later fragment's or an ICMP error's; icmp_send_too_big then decides),
 * else dropped `mtu`. Whatever IPv4's DF says: the stack cannot fragment the packet inside the
 * tunnel, and fragments of the outer packet would reach a backend that decapsulates before it
 * reassembles (veer's decap) as pieces it cannot open.
 *
 * A tagged frame (802.1Q in the frame or taken off by the driver) is dropped, `unsupported`:
 * the tag is the ingress segment's, and the stack, which NAT leaves such packets to, would
 * route the packet by its destination, the VIP. (A new flow's is refused before it is made.)
 */
static __always_inline int dsr_forward(void *ctx, const enum veer_hook hook, struct packet *p,
				       const struct flow_view *v, const struct veer_flow_key *k,
				       const bool answer)
{
	__u32 overhead = 0;

	if (p->vlan || v->mode > VEER_MODE_DSR_L2)
		return -VEER_DROP_UNSUPPORTED;
	if (v->mode == VEER_MODE_DSR_IPIP)
		overhead = p->v6 || v->family == VEER_AF_INET6 ? ENCAP6_LEN : ENCAP4_LEN;
	if (too_big(ctx, hook, p, &v->hop, overhead))
		return answer ? icmp_send_too_big(ctx, hook, p, v, overhead) : -VEER_DROP_MTU;
	if (v->mode == VEER_MODE_DSR_IPIP)
		return dsr_ipip(ctx, hook, p, v, k);
	return dsr_l2(ctx, hook, p, v);
}

#endif
