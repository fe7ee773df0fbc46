/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The IPv6 extension header chain, walked to the upper-layer header: hop-by-hop (first only),
 * routing, destination options, fragment and AH, in any order, at most VEER_IPV6_EXT_MAX of
 * them, every one inside the datagram. A chain veer cannot walk is dropped (ext_hdrs): the
 * ports behind it are unknown, and a packet whose ports veer cannot read must not slip past
 * a VIP as "not for a VIP". ESP, no-next-header and every other value end the walk: that is
 * the upper layer, and parse_l4 passes what is not TCP or UDP.
 *
 * Only packets that carry extension headers pay for this: the first next-header value is
 * tested against a bit mask, and TCP/UDP right behind the IPv6 header go straight on.
 */
#ifndef VEER_BPF_IPV6_EXT_H
#define VEER_BPF_IPV6_EXT_H

#include "ctx.h"

#define NEXTHDR_HOP	 0
#define NEXTHDR_ROUTING	 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH	 51
#define NEXTHDR_DEST	 60

/*
 * At tc, bytes pulled past a header that runs beyond the skb's linear part: a window the
 * size of the parser's first pull (VEER_PULL_LEN).
 */
#define VEER_PULL_EXT_LEN 128

#define IP6_OFFSET 0xfff8 /* fragment offset, in bits 3..15 of frag_off after bpf_ntohs */
#define IP6_MF	   0x0001

#define IPV6_EXT_MASK                                                                              \
	((1ull << NEXTHDR_HOP) | (1ull << NEXTHDR_ROUTING) | (1ull << NEXTHDR_FRAGMENT) |          \
	 (1ull << NEXTHDR_AUTH) | (1ull << NEXTHDR_DEST))
#define IPV6_AH_MASK   (1ull << NEXTHDR_AUTH)
#define IPV6_FRAG_MASK (1ull << NEXTHDR_FRAGMENT)
/* Past the longest chain: 40 + VEER_IPV6_EXT_MAX * 2048, and a bound the verifier can use. */
#define VEER_IPV6_EXT_SPAN 0x7fff

struct frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

/* What the walk found. */
struct ipv6_chain {
	__u32 l4_off;	/* of the upper-layer header (a later fragment's data), from the IPv6 one */
	__u16 frag_off; /* a later fragment's offset in bytes */
	__u8 nexthdr;	/* the upper-layer protocol */
	bool fragment;	/* a fragment header with offset 0 and M set: a first fragment */
	__be32 frag_id; /* of a first or later fragment: its fragment header's identification */
	/*
	 * The fragment header's next header: what a later fragment names as its protocol, which
	 * is not the upper layer when more extension headers follow the fragment header.
	 */
	__u8 frag_nexthdr;
};

static __always_inline bool ipv6_ext_hdr(__u8 nexthdr)
{
	return nexthdr < 64 && ((IPV6_EXT_MASK >> nexthdr) & 1);
}

/*
 * Around ctx_pull, which may or may not call the helper: skb->data is read afresh after it.
 * Without the barrier clang may merge a value loaded before the pull with one loaded after,
 * and the 32-bit copy it makes of the merge is a scalar to the verifier, not a packet pointer.
 */
static __always_inline void ctx_reload_barrier(void)
{
	asm volatile("" ::: "memory");
}

/*
 * n readable bytes at offset at from the start of the frame, or NULL. At tc the headers may
 * run past the part of the skb that the parser pulled: another window is pulled then, so only
 * packets with long chains pay for it. Pulling invalidates every packet pointer.
 */
static __always_inline void *ipv6_ext_bytes(void *ctx, const enum veer_hook hook, __u32 at,
					    const __u32 n)
{
	void *data;

	/* Fresh loads on every call: the loop must not carry a copy across a pull. */
	ctx_reload_barrier();
	data = ctx_data(ctx, hook);
	if (data + at + n <= ctx_data_end(ctx, hook))
		return data + at;
	if (hook != HOOK_TC)
		return NULL;
	ctx_pull(ctx, hook, at + VEER_PULL_EXT_LEN);
	ctx_reload_barrier();
	data = ctx_data(ctx, hook);
	if (data + at + n > ctx_data_end(ctx, hook))
		return NULL;
	return data + at;
}

/*
 * Walks the chain of an IPv6 header at l3_off in the frame, whose datagram is dlen bytes long
 * (40 + payload length, already checked against the packet). c->nexthdr holds the IPv6
 * header's next header on entry and the upper-layer protocol on return. Returns 0,
 * -VEER_DROP_EXT_HDRS, or -VEER_PASS_FRAGMENT for a non-first fragment (what follows its
 * fragment header is data, not headers). At tc, packet pointers are invalid afterwards.
 *
 * The loop body has no branch but its exits. A branch per header type would give the
 * verifier a state per type per iteration, 4^8 paths through the chain and a copy of the rest
 * of the program behind each: over its limit. So the type selects by masks: is_ah and is_frag
 * are bits of constant masks, unknown to the verifier on every path alike, and each header's
 * length comes out of one formula:
 *   routing, hop-by-hop, destination options: (len + 1) * 8
 *   AH:                                       (len + 2) * 4  = ((len + 2) * 8) >> 1
 *   fragment:                                 8              = ((0 + 1) * 8)
 * The offset is then bounded by a constant (never reached: eight headers of at most 2056
 * bytes) so that it keeps one range the verifier can add to a packet pointer, whatever the
 * path.
 */
static __always_inline int ipv6_ext_walk(void *ctx, const enum veer_hook hook, __u32 l3_off,
					 __u32 dlen, struct ipv6_chain *c)
{
	__u32 off = sizeof(struct ipv6hdr), fragment = 0;
	__be32 frag_id = 0;
	__u64 nexthdr = c->nexthdr, frag_next = 0;

	for (int i = 0; i < VEER_IPV6_EXT_MAX; i++) {
		__u64 is_ah, frag_mask, len;
		__u16 frag;
		__u8 *h;

		if (!ipv6_ext_hdr(nexthdr))
			break;
		/* RFC 8200 4.1: hop-by-hop options only right after the IPv6 header. */
		if (nexthdr == NEXTHDR_HOP && i)
			return -VEER_DROP_EXT_HDRS;
		/* Every extension header is at least 8 bytes long. */
		if (off + 8 > dlen)
			return -VEER_DROP_EXT_HDRS;
		h = ipv6_ext_bytes(ctx, hook, l3_off + off, 8);
		if (!h)
			return -VEER_DROP_EXT_HDRS;
		is_ah = (IPV6_AH_MASK >> nexthdr) & 1;
		frag_mask = 0 - ((IPV6_FRAG_MASK >> nexthdr) & 1); /* all ones for a fragment */
		frag = bpf_ntohs(*(__be16 *)(h + 2)) & frag_mask;
		if (frag & IP6_OFFSET) {
			/* What follows a later fragment's header is data, not headers. */
			c->nexthdr = h[0];
			c->l4_off = off + sizeof(struct frag_hdr);
			c->frag_off = frag & IP6_OFFSET;
			c->frag_id = *(__be32 *)(h + 4);
			c->frag_nexthdr = h[0];
			return -VEER_PASS_FRAGMENT;
		}
		/* An atomic fragment (offset 0, M clear) is a whole datagram (RFC 6946). */
		fragment |= frag & IP6_MF;
		frag_id ^= (frag_id ^ *(__be32 *)(h + 4)) & frag_mask;
		frag_next ^= (frag_next ^ h[0]) & frag_mask;
		len = ((((__u64)h[1] & ~frag_mask) + 1 + is_ah) << 3) >> is_ah;
		nexthdr = h[0];
		off += len;
		if (off > dlen || off > VEER_IPV6_EXT_SPAN)
			return -VEER_DROP_EXT_HDRS;
	}
	if (ipv6_ext_hdr(nexthdr))
		return -VEER_DROP_EXT_HDRS;
	c->nexthdr = nexthdr;
	c->l4_off = off;
	c->fragment = fragment;
	c->frag_id = frag_id;
	c->frag_nexthdr = frag_next;
	return 0;
}

#endif
