/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Header parsing: Ethernet, one optional 802.1Q tag, IPv4 (options allowed) or IPv6 (a fragment
 * header allowed), TCP or UDP. Produces the flow key the rest of the data plane works on, and
 * applies the malformed-packet rule stated in abi.h. A later fragment (no L4 header) comes back
 * as -VEER_PASS_FRAGMENT with its addresses, protocol and IP id for bpf/lib/frag.h.
 */
#ifndef VEER_BPF_PARSE_H
#define VEER_BPF_PARSE_H

#include "ctx.h"

/* Bytes of headers made directly readable at the tc hook before parsing. */
#define VEER_PULL_LEN 128

#define VLAN_HLEN  4
#define IP_MF	   0x2000
#define IP_OFFSET  0x1fff
#define IP6_OFFSET 0xfff8 /* in network order after bpf_ntohs: offset in bits 3..15 */
#define NEXTHDR_FRAGMENT 44

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

struct packet {
	struct ethhdr *eth;
	void *l3;     /* struct iphdr or struct ipv6hdr */
	void *l4;     /* struct tcphdr or struct udphdr, at least its first 8 bytes */
	__u16 *l4_csum; /* NULL when the packet is too short to hold it */
	__u32 len;    /* packet length (the whole skb at tc), for bounds and byte counters */
	__u16 l3_len; /* IP total length, for the FIB lookup */
	bool v6;
	bool vlan;
	bool fragment; /* first fragment of a fragmented datagram */
	/*
	 * Of a fragment (first or later): the IP identification (IPv4's 16 bits zero-extended,
	 * network order) and the offset in bytes. A later fragment (offset != 0) is returned as
	 * -VEER_PASS_FRAGMENT with l3, l3_len, v6 and the key's family, addresses and protocol
	 * set, and no L4 header (l4 NULL, ports 0): bpf/lib/frag.h finds its flow.
	 */
	__u32 frag_id;
	__u16 frag_off;
	struct veer_flow_key key;
};

/* avail: bytes from l4 to the end of the datagram, which may end before the frame does. */
static __always_inline int parse_l4(struct packet *p, void *l4, void *end, __u32 avail, __u8 proto)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > end || avail < sizeof(*th))
			return -VEER_DROP_BAD_L4;
		p->key.sport = th->source;
		p->key.dport = th->dest;
		p->l4_csum = &th->check;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > end || avail < sizeof(*uh))
			return -VEER_DROP_BAD_L4;
		p->key.sport = uh->source;
		p->key.dport = uh->dest;
		p->l4_csum = &uh->check;
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		/* Echo and errors are bpf/lib/icmp.h's; a header shorter than 8 is neither. */
		if (l4 + 8 > end || avail < 8)
			return -VEER_PASS_NOT_VIP;
		p->l4_csum = l4 + 2;
	} else {
		return -VEER_PASS_NOT_VIP;
	}
	p->l4 = l4;
	p->key.proto = proto;
	return 0;
}

static __always_inline int parse_ipv4(struct packet *p, struct iphdr *iph, void *end)
{
	__u32 ihl, tot_len;
	__u16 frag;

	if ((void *)(iph + 1) > end)
		return -VEER_DROP_BAD_L3;
	ihl = iph->ihl * 4;
	tot_len = bpf_ntohs(iph->tot_len);
	if (iph->version != 4 || ihl < sizeof(*iph) || tot_len < ihl ||
	    (void *)iph - (void *)p->eth + tot_len > p->len)
		return -VEER_DROP_BAD_L3;
	p->v6 = false;
	p->l3 = iph;
	p->l3_len = tot_len;
	p->key.family = VEER_AF_INET;
	p->key.saddr.v4 = iph->saddr;
	p->key.daddr.v4 = iph->daddr;
	frag = bpf_ntohs(iph->frag_off);
	if (frag & (IP_MF | IP_OFFSET)) {
		p->frag_id = iph->id;
		p->frag_off = (frag & IP_OFFSET) * 8;
		if (p->frag_off) {
			p->key.proto = iph->protocol;
			return -VEER_PASS_FRAGMENT;
		}
		p->fragment = true;
	}
	/* The L4 header must lie inside the datagram, not merely inside the (padded) frame. */
	return parse_l4(p, (void *)iph + ihl, end, tot_len - ihl, iph->protocol);
}

static __always_inline int parse_ipv6(struct packet *p, struct ipv6hdr *ip6h, void *end)
{
	void *l4 = ip6h + 1;
	__u32 len, hdrs = sizeof(*ip6h);
	__u8 nexthdr;

	if ((void *)(ip6h + 1) > end)
		return -VEER_DROP_BAD_L3;
	len = sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
	if (ip6h->version != 6 || (void *)ip6h - (void *)p->eth + len > p->len)
		return -VEER_DROP_BAD_L3;
	p->v6 = true;
	p->l3 = ip6h;
	p->l3_len = len;
	p->key.family = VEER_AF_INET6;
	__builtin_memcpy(&p->key.saddr, &ip6h->saddr, sizeof(p->key.saddr));
	__builtin_memcpy(&p->key.daddr, &ip6h->daddr, sizeof(p->key.daddr));
	nexthdr = ip6h->nexthdr;
	if (nexthdr == NEXTHDR_FRAGMENT) {
		struct frag_hdr *fh = l4;

		/* The fragment header must lie inside the datagram too. */
		if ((void *)(fh + 1) > end || len < hdrs + sizeof(*fh))
			return -VEER_DROP_BAD_L3;
		p->frag_id = fh->identification;
		p->frag_off = bpf_ntohs(fh->frag_off) & IP6_OFFSET;
		nexthdr = fh->nexthdr;
		if (p->frag_off) {
			p->key.proto = nexthdr;
			return -VEER_PASS_FRAGMENT;
		}
		/* An atomic fragment (offset 0, no more) is a whole datagram (RFC 6946). */
		p->fragment = bpf_ntohs(fh->frag_off) & 1;
		l4 = fh + 1;
		hdrs += sizeof(*fh);
	}
	return parse_l4(p, l4, end, len - hdrs, nexthdr);
}

static __always_inline int parse_packet(void *ctx, const enum veer_hook hook, struct packet *p)
{
	struct ethhdr *eth;
	void *l3, *end;
	__be16 proto;

	ctx_pull(ctx, hook, VEER_PULL_LEN);
	eth = ctx_data(ctx, hook);
	end = ctx_data_end(ctx, hook);
	l3 = eth + 1;
	p->len = ctx_len(ctx, hook);
	if (l3 > end)
		return -VEER_DROP_BAD_L2;
	p->eth = eth;
	p->vlan = ctx_vlan_accel(ctx, hook);
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_hdr *vh = l3;

		if ((void *)(vh + 1) > end)
			return -VEER_DROP_BAD_L2;
		proto = vh->proto;
		l3 = vh + 1;
		p->vlan = true;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(p, l3, end);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(p, l3, end);
	return -VEER_PASS_NOT_IP;
}

#endif
