/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Header parsing: Ethernet, one optional 802.1Q tag, IPv4 (options allowed, header checksum
 * verified) or IPv6 (extension headers walked: ipv6_ext.h), TCP, UDP or ICMP. Produces the flow
 * key the rest of the data plane works on, and applies the malformed-packet rule stated in
 * abi.h. A later fragment (no L4 header) comes back as -VEER_PASS_FRAGMENT with its addresses,
 * protocol and IP id for bpf/lib/frag.h.
 */
#ifndef VEER_BPF_PARSE_H
#define VEER_BPF_PARSE_H

#include "ctx.h"
#include "csum.h"
#include "ipv6_ext.h"

/* Bytes of headers made directly readable at the tc hook before parsing. */
#define VEER_PULL_LEN 128

#define VLAN_HLEN 4
#define IP_MF	  0x2000
#define IP_OFFSET 0x1fff

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/*
 * The layout keeps two bytes the verifier must know as constants (v6, key.proto: which path a
 * packet can take) exactly known. A byte stored at the start of an 8-byte stack slot is kept as
 * the value stored; a byte stored anywhere else, or any later store into the same slot, leaves
 * only unknown bytes, and the verifier then walks IPv6 packets down IPv4 paths and UDP packets
 * down TCP ones. So v6 has a slot of its own and key.proto starts one, after family, which is
 * stored first; nothing follows key. New fields go before v6.
 */
struct packet {
	struct ethhdr *eth;
	void *l3;	/* struct iphdr or struct ipv6hdr */
	void *l4;	/* struct tcphdr or struct udphdr, at least its first 8 bytes */
	__u16 *l4_csum; /* NULL when the packet is too short to hold it */
	__u32 len;	/* packet length (the whole skb at tc), for bounds and byte counters */
	__u16 l3_len;	/* IP total length, for the FIB lookup */
	/*
	 * Of a fragment (first or later): the offset in bytes and the IP identification (IPv4's
	 * 16 bits zero-extended, network order). A later fragment (offset != 0) is returned as
	 * -VEER_PASS_FRAGMENT with l3, l3_len, v6 and the key's family, addresses and protocol
	 * set, and no L4 header (l4 NULL, ports 0): bpf/lib/frag.h finds its flow.
	 */
	__u16 frag_off;
	bool vlan;
	bool fragment; /* first fragment of a fragmented datagram */
	/*
	 * The protocol every fragment of the datagram names (IPv4's protocol, the IPv6 fragment
	 * header's next header): the key its fragments share in veer_frags.
	 */
	__u8 frag_proto;
	bool v6 __attribute__((aligned(8)));
	__u32 frag_id __attribute__((aligned(8)));
	struct veer_flow_key key;
};
_Static_assert(__builtin_offsetof(struct packet, v6) % 8 == 0, "v6 starts a stack slot");
_Static_assert(__builtin_offsetof(struct packet, key.proto) % 8 == 0,
	       "key.proto starts a stack slot");


/*
 * avail: bytes from l4 to the end of the datagram, which may end before the frame does.
 * key.proto is stored as a constant per branch, not as proto: the verifier must know it to
 * tell a TCP header's range from a UDP or ICMP one's, and proto may be a copy it cannot link
 * to the comparison (behind IPv6 extension headers).
 */
static __always_inline int parse_l4(struct packet *p, void *l4, void *end, __u32 avail, __u8 proto)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > end || avail < sizeof(*th))
			return -VEER_DROP_BAD_L4;
		p->key.sport = th->source;
		p->key.dport = th->dest;
		p->key.proto = IPPROTO_TCP;
		p->l4_csum = &th->check;
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > end || avail < sizeof(*uh))
			return -VEER_DROP_BAD_L4;
		p->key.sport = uh->source;
		p->key.dport = uh->dest;
		p->key.proto = IPPROTO_UDP;
		p->l4_csum = &uh->check;
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		/* Echo and errors are bpf/lib/icmp.h's; a header shorter than 8 is neither. */
		if (l4 + 8 > end || avail < 8)
			return -VEER_PASS_NOT_VIP;
		p->key.proto = proto == IPPROTO_ICMP ? IPPROTO_ICMP : IPPROTO_ICMPV6;
		p->l4_csum = l4 + 2;
	} else {
		return -VEER_PASS_NOT_VIP;
	}
	p->l4 = l4;
	return 0;
}

/*
 * The header checksum, verified as a router does (RFC 1812 5.2.2): a header whose sum is not
 * all ones is dropped, VIP or not. The 20 fixed bytes are summed in place, as five words.
 * Options (rare) are copied out with the load-bytes helper and summed from the copy: read in
 * place, each of the ten option lengths would leave the verifier a different known packet
 * range, and it would verify the rest of the program once per IHL.
 */
static __always_inline bool ip4_csum_ok(void *ctx, const enum veer_hook hook,
					const struct iphdr *iph, __u32 l3_off, __u32 ihl)
{
	const __u32 *w = (const __u32 *)iph;
	__u64 sum = (__u64)w[0] + w[1] + w[2] + w[3] + w[4];

	if (unlikely(ihl > sizeof(*iph))) {
		__u32 opt[10] = {}, off = l3_off + sizeof(*iph), len = ihl - sizeof(*iph);
		long err;

		/* len: 4 to 40 (IHL 6 to 15), inside the packet (tot_len >= ihl is checked). */
		if (hook == HOOK_TC)
			err = bpf_skb_load_bytes(ctx, off, opt, len);
		else
			err = bpf_xdp_load_bytes(ctx, off, opt, len);
		if (err)
			return false;
#pragma unroll
		for (int i = 0; i < 10; i++)
			sum += opt[i];
	}
	/*
	 * Two folds instead of csum_fold64's five, on the established path: sum < 15 * 2^32, so
	 * it is below 2^32 + 15 after the first and below 0x20000 after the second. A right
	 * header's sum is then 0xffff, or 0x1fffe, which a last fold would make 0xffff.
	 */
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff || sum == 0x1fffe;
}

/* l3_off: where the IP header starts in the frame (14 or 18), a constant on each path. */
static __always_inline int parse_ipv4(void *ctx, const enum veer_hook hook, struct packet *p,
				      struct iphdr *iph, __u32 l3_off, void *end)
{
	__u32 ihl, tot_len;
	__u16 frag;

	if ((void *)(iph + 1) > end)
		return -VEER_DROP_BAD_L3;
	ihl = iph->ihl * 4;
	tot_len = bpf_ntohs(iph->tot_len);
	if (iph->version != 4 || ihl < sizeof(*iph) || tot_len < ihl || l3_off + tot_len > p->len)
		return -VEER_DROP_BAD_L3;
	if (!ip4_csum_ok(ctx, hook, iph, l3_off, ihl))
		return -VEER_DROP_BAD_IP_CSUM;
	p->v6 = false;
	p->l3 = iph;
	p->l3_len = tot_len;
	p->key.family = VEER_AF_INET;
	p->key.saddr.v4 = iph->saddr;
	p->key.daddr.v4 = iph->daddr;
	frag = bpf_ntohs(iph->frag_off);
	if (frag & (IP_MF | IP_OFFSET)) {
		p->frag_id = iph->id;
		p->frag_proto = iph->protocol;
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

static __always_inline int parse_ipv6(void *ctx, const enum veer_hook hook, struct packet *p,
				      struct ipv6hdr *ip6h, __u32 l3_off, void *end)
{
	struct ipv6_chain c = {};
	__u32 plen, len;
	int rc;

	if ((void *)(ip6h + 1) > end)
		return -VEER_DROP_BAD_L3;
	plen = bpf_ntohs(ip6h->payload_len);
	len = sizeof(*ip6h) + plen;
	/* Payload length 0 is a jumbogram's (RFC 2675), which veer does not support. */
	if (ip6h->version != 6 || !plen || l3_off + len > p->len)
		return -VEER_DROP_BAD_L3;
	p->v6 = true;
	p->l3 = ip6h;
	p->l3_len = len;
	p->key.family = VEER_AF_INET6;
	__builtin_memcpy(&p->key.saddr, &ip6h->saddr, sizeof(p->key.saddr));
	__builtin_memcpy(&p->key.daddr, &ip6h->daddr, sizeof(p->key.daddr));
	c.nexthdr = ip6h->nexthdr;
	if (likely(!ipv6_ext_hdr(c.nexthdr)))
		return parse_l4(p, ip6h + 1, end, plen, c.nexthdr);

	rc = ipv6_ext_walk(ctx, hook, l3_off, len, &c);
	if (rc == -VEER_DROP_EXT_HDRS)
		return rc;
	if (hook == HOOK_TC) {
		/*
		 * The walk may have pulled, and what follows the chain may lie past the pulled
		 * bytes too: pull for it, and derive every packet pointer again. A failed check
		 * sets rc rather than returning, so that clang does not test the pointers twice.
		 */
		ctx_reload_barrier();
		ctx_pull(ctx, hook, l3_off + c.l4_off + VEER_PULL_EXT_LEN);
		ctx_reload_barrier();
		p->eth = ctx_data(ctx, hook);
		end = ctx_data_end(ctx, hook);
		p->l3 = (void *)p->eth + l3_off;
		if (p->l3 + sizeof(*ip6h) > end)
			rc = -VEER_DROP_BAD_L3;
	}
	if (rc == -VEER_PASS_FRAGMENT) {
		/* A later fragment: bpf/lib/frag.h looks its datagram up. */
		p->frag_id = c.frag_id;
		p->frag_off = c.frag_off;
		p->frag_proto = c.frag_nexthdr;
		p->key.proto = c.nexthdr;
	}
	if (rc)
		return rc;
	if (c.fragment) {
		p->fragment = true;
		p->frag_id = c.frag_id;
		p->frag_proto = c.frag_nexthdr;
	}
	return parse_l4(p, p->l3 + c.l4_off, end, len - c.l4_off, c.nexthdr);
}

static __always_inline int parse_packet(void *ctx, const enum veer_hook hook, struct packet *p)
{
	struct ethhdr *eth;
	__u32 l3_off = sizeof(*eth);
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
		l3_off += sizeof(*vh);
		p->vlan = true;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(ctx, hook, p, l3, l3_off, end);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(ctx, hook, p, l3, l3_off, end);
	return -VEER_PASS_NOT_IP;
}

#endif
