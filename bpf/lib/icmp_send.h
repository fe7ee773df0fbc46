/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fragmentation-needed (ICMP 3/4) and packet-too-big (ICMPv6 2) sent by veer itself, for a packet
 * it would redirect that does not fit the egress MTU and may not be fragmented (IPv4 with DF,
 * every IPv6 packet). veer forwards such packets past the stack, so no router on their path
 * would tell the sender: without this answer path MTU discovery fails and the connection stalls.
 *
 * The packet itself becomes the answer, turned around in place: the headers go in front of it,
 * it is cut to what may be quoted, and it goes back out of the interface it came in on. The
 * answer comes from the VIP's address, the one the sender talks to, and quotes the packet as it
 * arrived (call this before any rewrite): the sender matches the quote against its own socket.
 *
 * Sizes: an ICMP error holds as much of the offending datagram as fits 576 bytes over IPv4
 * (RFC 1812 4.3.2.3) and the minimum IPv6 MTU, 1280 bytes, over IPv6 (RFC 4443 2.4 (c)). The
 * quote is never longer than the datagram (Ethernet padding or trailing bytes are not quoted).
 *
 * Checksum: bpf_csum_diff() sums at most 512 bytes per call, in multiples of 4, from a pointer
 * the verifier must see in bounds for the whole length. Header and quote are summed in
 * constant chunks over their longest size (8 + 548 and 8 + 1232 bytes, multiples of 4). A
 * datagram shorter than that (an egress MTU below 548 over IPv4) is quoted whole: the frame is
 * first grown to the longest size, the kernel zero-fills what it adds, and zeros add nothing to
 * the sum; then it is cut back.
 */
#ifndef VEER_BPF_ICMP_SEND_H
#define VEER_BPF_ICMP_SEND_H

#include "maps.h"
#include "stats.h"
#include "csum.h"
#include "parse.h"

#define ICMP4_ERR_MAX 576
#define ICMP6_ERR_MAX 1280
#define ICMP_ERR_TTL  64

/* linux/icmp.h pulls in libc headers a BPF build cannot take. */
#ifndef ICMP_DEST_UNREACH
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED  4
#endif
#ifndef ICMPV6_PKT_TOOBIG
#define ICMPV6_PKT_TOOBIG 2
#endif

/* ICMP and ICMPv6 errors share this header: the word after the checksum carries the MTU. */
struct icmp_err_hdr {
	__u8 type;
	__u8 code;
	__u16 csum;
	__be32 info; /* ICMP 3/4: 16 bits unused, then the next-hop MTU; ICMPv6 2: the MTU */
};

#define ICMP4_HDRS	(sizeof(struct iphdr) + sizeof(struct icmp_err_hdr))   /* 28 */
#define ICMP6_HDRS	(sizeof(struct ipv6hdr) + sizeof(struct icmp_err_hdr)) /* 48 */
#define ICMP4_QUOTE_MAX (ICMP4_ERR_MAX - ICMP4_HDRS)			       /* 548 */
#define ICMP6_QUOTE_MAX (ICMP6_ERR_MAX - ICMP6_HDRS)			       /* 1232 */

/* Load-time settings, defined in lb.bpf.c: messages per second and bucket depth per source. */
extern const volatile __u32 icmp_rate;
extern const volatile __u32 icmp_burst;

/*
 * One token of the sender's bucket (see struct veer_icmp_rl). CPUs update an entry without
 * a lock: two that race on one source may both send on one token, which is harmless for a
 * limit meant to bound the rate, not count messages exactly. The precise clock is read: this
 * path is rare, and a coarse clock's jiffy would be a sizeable part of a 10 ms token.
 */
static __always_inline bool icmp_rl_allow(const struct packet *p)
{
	struct veer_icmp_rl_key k = {};
	struct veer_icmp_rl *b, nb = {};
	__u64 now, tat, interval;

	if (!icmp_rate || !icmp_burst)
		return false;
	interval = 1000000000ULL / icmp_rate;
	k.addr = p->key.saddr;
	k.family = p->key.family;
	now = bpf_ktime_get_ns();
	b = bpf_map_lookup_elem(&veer_icmp_rl, &k);
	if (!b) {
		nb.tat = now + interval;
		bpf_map_update_elem(&veer_icmp_rl, &k, &nb, BPF_ANY);
		return true;
	}
	tat = b->tat > now ? b->tat : now;
	if (tat + interval - now > (__u64)icmp_burst * interval)
		return false;
	b->tat = tat + interval;
	return true;
}

struct icmp_answer {
	__u8 macs[12]; /* the packet's destination and source MACs, as they came */
	union veer_addr from, to;
	__u32 mtu;
	__u32 qlen; /* bytes of the datagram quoted */
};

/*
 * Turns the frame into [Ethernet][hdrs bytes of room][first qlen bytes of the datagram], and
 * then, if qlen is short of qmax, zero-fills it up to qmax bytes of quote for the checksum.
 * The datagram starts right after a 14-byte Ethernet header: redirected packets carry no
 * 802.1Q tag (nat_forward leaves tagged ones to the stack).
 *
 * At tc, bpf_skb_change_tail() linearises the skb and drops its GSO state (a GSO packet
 * becomes one packet: its first qlen bytes), and bpf_skb_adjust_room() inserts the room after
 * the MAC header. What becomes of the skb's checksum state is said at icmp_send_too_big().
 */
static __always_inline int icmp_make_room(void *ctx, const enum veer_hook hook, __u32 frame_len,
					  __u32 qlen, __u32 qmax, __u32 hdrs)
{
	if (hook == HOOK_TC) {
		if (bpf_skb_change_tail(ctx, ETH_HLEN + qlen, 0))
			return -1;
		if (qlen < qmax && bpf_skb_change_tail(ctx, ETH_HLEN + qmax, 0))
			return -1;
		return bpf_skb_adjust_room(ctx, hdrs, BPF_ADJ_ROOM_MAC, 0) ? -1 : 0;
	}
	if (bpf_xdp_adjust_tail(ctx, (int)(ETH_HLEN + qlen) - (int)frame_len))
		return -1;
	if (qlen < qmax && bpf_xdp_adjust_tail(ctx, qmax - qlen))
		return -1;
	return bpf_xdp_adjust_head(ctx, -(int)hdrs) ? -1 : 0;
}

/* Cuts the zero fill of a short quote off again, once the checksum is computed. */
static __always_inline int icmp_cut_fill(void *ctx, const enum veer_hook hook,
					 const struct icmp_answer *a, __u32 qmax, __u32 hdrs)
{
	if (a->qlen == qmax)
		return 0;
	if (hook == HOOK_TC)
		return bpf_skb_change_tail(ctx, ETH_HLEN + hdrs + a->qlen, 0) ? -1 : 0;
	return bpf_xdp_adjust_tail(ctx, -(int)(qmax - a->qlen)) ? -1 : 0;
}

static __always_inline void icmp_eth(struct ethhdr *eth, const struct icmp_answer *a, __u16 proto)
{
	__builtin_memcpy(eth->h_dest, &a->macs[6], 6);
	__builtin_memcpy(eth->h_source, &a->macs[0], 6);
	eth->h_proto = bpf_htons(proto);
}

/*
 * Writes the headers in front of the quote and their checksums; at tc, also gives the sum of
 * the header bytes written, for bpf_csum_update().
 */
static __always_inline int icmp4_fill(void *ctx, const enum veer_hook hook,
				      const struct icmp_answer *a, __u64 *hdr_sum)
{
	void *data = ctx_data(ctx, hook), *end = ctx_data_end(ctx, hook);
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct icmp_err_hdr *ic = (void *)(iph + 1);
	__u32 *w = (void *)iph;
	__s64 s;

	if ((void *)(ic + 1) + ICMP4_QUOTE_MAX > end)
		return -1;
	icmp_eth(eth, a, ETH_P_IP);
	*(__u8 *)iph = 0x45; /* version 4, IHL 5 */
	iph->tos = 0;
	iph->tot_len = bpf_htons(ICMP4_HDRS + a->qlen);
	/* Not fragmented on any IPv4 path (576 bytes), so neither DF nor a unique ID is needed. */
	iph->id = 0;
	iph->frag_off = 0;
	iph->ttl = ICMP_ERR_TTL;
	iph->protocol = IPPROTO_ICMP;
	iph->check = 0;
	iph->saddr = a->from.v4;
	iph->daddr = a->to.v4;
	iph->check = ~csum_fold64((__u64)w[0] + w[1] + w[2] + w[3] + w[4]);

	ic->type = ICMP_DEST_UNREACH;
	ic->code = ICMP_FRAG_NEEDED;
	ic->csum = 0;
	ic->info = bpf_htonl(a->mtu);
	s = bpf_csum_diff(NULL, 0, (void *)ic, 512, 0);
	if (s < 0)
		return -1;
	s = bpf_csum_diff(NULL, 0, (void *)ic + 512, sizeof(*ic) + ICMP4_QUOTE_MAX - 512, s);
	if (s < 0)
		return -1;
	ic->csum = ~csum_fold64(s);
	if (hook == HOOK_TC)
		*hdr_sum = bpf_csum_diff(NULL, 0, (void *)iph, ICMP4_HDRS, 0);
	return 0;
}

static __always_inline int icmp6_fill(void *ctx, const enum veer_hook hook,
				      const struct icmp_answer *a, __u64 *hdr_sum)
{
	void *data = ctx_data(ctx, hook), *end = ctx_data_end(ctx, hook);
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6h = (void *)(eth + 1);
	struct icmp_err_hdr *ic = (void *)(ip6h + 1);
	__u32 len = sizeof(*ic) + a->qlen;
	__u64 pseudo;
	__s64 s;

	if ((void *)(ic + 1) + ICMP6_QUOTE_MAX > end)
		return -1;
	icmp_eth(eth, a, ETH_P_IPV6);
	*(__be32 *)ip6h = bpf_htonl(0x60000000); /* version 6, traffic class 0, no flow label */
	ip6h->payload_len = bpf_htons(len);
	ip6h->nexthdr = IPPROTO_ICMPV6;
	ip6h->hop_limit = ICMP_ERR_TTL;
	__builtin_memcpy(&ip6h->saddr, &a->from, 16);
	__builtin_memcpy(&ip6h->daddr, &a->to, 16);

	ic->type = ICMPV6_PKT_TOOBIG;
	ic->code = 0;
	ic->csum = 0;
	ic->info = bpf_htonl(a->mtu);
	/* RFC 8200 8.1: source, destination, upper-layer length, next header. */
	pseudo = (__u64)a->from.v6[0] + a->from.v6[1] + a->from.v6[2] + a->from.v6[3] +
		 a->to.v6[0] + a->to.v6[1] + a->to.v6[2] + a->to.v6[3] + bpf_htonl(len) +
		 bpf_htonl(IPPROTO_ICMPV6);
	s = bpf_csum_diff(NULL, 0, (void *)ic, 512, 0);
	if (s < 0)
		return -1;
	s = bpf_csum_diff(NULL, 0, (void *)ic + 512, 512, s);
	if (s < 0)
		return -1;
	s = bpf_csum_diff(NULL, 0, (void *)ic + 1024, sizeof(*ic) + ICMP6_QUOTE_MAX - 1024, s);
	if (s < 0)
		return -1;
	ic->csum = ~csum_fold64(pseudo + (__u64)s);
	if (hook == HOOK_TC)
		*hdr_sum = bpf_csum_diff(NULL, 0, (void *)ip6h, ICMP6_HDRS, 0);
	return 0;
}

/* Out of the interface the packet came in on. */
static __always_inline int icmp_send_back(void *ctx, const enum veer_hook hook)
{
	return hook == HOOK_TC ? bpf_redirect(ctx_ifindex(ctx, hook), 0) : XDP_TX;
}

/*
 * Answers packet p, too big for the egress MTU of flow f once overhead bytes of headers are put
 * in front of it (an encapsulation's, 0 for NAT), with fragmentation-needed or packet-too-big
 * carrying that MTU less the overhead: counted `frag_needed`, or dropped `icmp_limit` over the
 * sender's rate, or dropped `mtu` if no answer may or can be made (about a packet that is not
 * TCP or UDP, such as an ICMP error; about a later fragment; or the frame could not be
 * resized).
 *
 * The skb's checksum state at tc, after the rewrite:
 * - CHECKSUM_NONE stays: the receiver verifies the checksums, which are complete.
 * - CHECKSUM_UNNECESSARY (a NIC verified the original) is reset to NONE by
 *   bpf_skb_adjust_room(), so the receiver verifies the answer instead of trusting it.
 * - CHECKSUM_COMPLETE: skb->csum covers the packet from the network header on. The cut is
 *   accounted for by bpf_skb_change_tail(), the zero room adds nothing, and the headers written
 *   into it are added with bpf_csum_update(), so a receiver behind a veth (which keeps the
 *   state through the redirect) finds it true. A grown frame (short quote) becomes NONE.
 * - CHECKSUM_PARTIAL: a local sender's TCP or UDP over a veth (ctx.h). No helper clears it,
 *   so the answer leaves with it, csum_start and csum_offset still pointing at the L4 checksum
 *   field of the original, now inside the quote, which holds the sender's pseudo-header sum
 *   rather than a final checksum. Our ICMP checksum is computed over the bytes as they are.
 *   Out of the veth the answer reaches the sender's namespace still CHECKSUM_PARTIAL, and the
 *   receiving stack counts that as verified (skb_csum_unnecessary()): icmp_rcv() takes it
 *   without summing. lb_mtu_live_tc (tests/unit/test_lb_mtu.c) runs a real TCP sender through
 *   this; made to send a wrong ICMP checksum, its offloaded run still passed and its run with
 *   transmit checksums off (CHECKSUM_NONE, verified) failed, which shows both halves. The one
 *   case that breaks: the sender's namespace forwarding the answer on, out of a device that
 *   completes partial checksums (in software or in a NIC). That rewrites the quoted L4
 *   checksum field, our ICMP checksum no longer holds, and the answer is dropped further on.
 */
static __always_inline int icmp_send_too_big(void *ctx, const enum veer_hook hook,
					     const struct packet *p, const struct flow_view *f,
					     __u32 overhead)
{
	struct icmp_answer a = {};
	__u32 qmax, hdrs;
	__u64 hdr_sum = 0;
	int rc;

	/*
	 * No answer about a later fragment (RFC 1812 4.3.2.7 forbids it over IPv4; Linux sends
	 * none there either). Over IPv6 a sender's later fragments are never larger than its
	 * first, which is answered.
	 */
	if ((p->key.proto != IPPROTO_TCP && p->key.proto != IPPROTO_UDP) || p->frag_off)
		return -VEER_DROP_MTU;
	if (!icmp_rl_allow(p))
		return -VEER_DROP_ICMP_LIMIT;
	__builtin_memcpy(a.macs, p->eth, 12);
	a.to = p->key.saddr;
	/* A forward packet was sent to the VIP; a reply is rewritten to come from it. */
	a.from = f->reply ? f->addr : p->key.daddr;
	a.mtu = f->hop.mtu - overhead;
	qmax = p->v6 ? ICMP6_QUOTE_MAX : ICMP4_QUOTE_MAX;
	hdrs = p->v6 ? ICMP6_HDRS : ICMP4_HDRS;
	a.qlen = p->l3_len < qmax ? p->l3_len : qmax;

	/* Every packet pointer is stale from here on. */
	if (icmp_make_room(ctx, hook, p->len, a.qlen, qmax, hdrs))
		return -VEER_DROP_MTU;
	rc = p->v6 ? icmp6_fill(ctx, hook, &a, &hdr_sum) : icmp4_fill(ctx, hook, &a, &hdr_sum);
	if (rc || icmp_cut_fill(ctx, hook, &a, qmax, hdrs))
		return -VEER_DROP_MTU;
	if (hook == HOOK_TC)
		bpf_csum_update(ctx, csum_fold64(hdr_sum));
	count_reason(VEER_TX_FRAG_NEEDED);
	return icmp_send_back(ctx, hook);
}

#endif
