/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ICMP for VIPs.
 *
 * Echo: no host owns a VIP's address, so nobody would answer a ping to it; veer does, for every
 * address some VIP has (veer_vip_addrs, kept by libveer), and sends the reply back out of the
 * interface the request came in on.
 *
 * Errors: an ICMP error about a NAT flow quotes the packet as veer rewrote it. Left alone, the
 * client would get an error about a backend it never talked to and the backend one about a VIP
 * it does not have; neither stack could match it to a socket, and path MTU discovery through
 * veer would break first. So the quote is rewritten back (the inverse of what veer did to the
 * quoted packet), the outer header with it, and the error forwarded like a packet of the flow.
 *
 * Checksums are updated by direct writes on both hooks. At tc that is safe for everything in
 * an ICMP message: its checksum is never left partial for the NIC (the kernel computes ICMP
 * checksums in full when it builds a message), and a quote's TCP/UDP checksum is plain data.
 * Every write is matched by the checksum update that compensates it (outer IPv4 header, inner
 * IPv4 header, inner TCP/UDP, the ICMP message and the ICMPv6 pseudo-header), so a complete
 * skb->csum, the one's complement sum of all the bytes, stays true. The one write nothing
 * compensates, the IPv6 hop limit, is added to skb->csum with bpf_csum_update().
 *
 * Counters: an answered echo counts icmp_echo, a rewritten error icmp_error, whether veer sends
 * it out itself or hands it to the stack. Neither counts as a packet of a VIP or backend, and an
 * error does not refresh its flow: it is not traffic of the connection and must not keep it
 * alive.
 */
#ifndef VEER_BPF_ICMP_H
#define VEER_BPF_ICMP_H

#include "conntrack.h"
#include "nat.h"
#include "encap.h"
#include "stats.h"
#include "hygiene.h"

#define VEER_ICMP_ECHOREPLY	0
#define VEER_ICMP_DEST_UNREACH	3
#define VEER_ICMP_ECHO		8
#define VEER_ICMP_TIME_EXCEEDED 11
#define VEER_ICMP_PARAMETERPROB 12
#define VEER_ICMP6_DEST_UNREACH 1
#define VEER_ICMP6_PKT_TOOBIG	2
#define VEER_ICMP6_TIME_EXCEED	3
#define VEER_ICMP6_PARAMPROB	4
#define VEER_ICMP6_ECHO_REQUEST 128
#define VEER_ICMP6_ECHO_REPLY	129

/* TTL / hop limit of an echo reply: Linux's default. */
#define VEER_ICMP_ECHO_TTL 64

/* The bytes of a quote veer reads: the inner header, then ports (and UDP's checksum). */
#define ICMP_QUOTE_L4 8
/* TCP's checksum ends 18 bytes into its header: rewritten when the quote holds it. */
#define ICMP_QUOTE_TCP_CSUM_END 18
/* What an error's rewrite touches from the ICMP header on: made linear at tc. */
#define ICMP_ERR_SPAN (8 + 60 + ICMP_QUOTE_TCP_CSUM_END)
/* Keeps offsets re-derived after a pull inside the verifier's packet range. */
#define ICMP_L4_OFF_MAX 16384

struct icmp_hdr {
	__u8 type;
	__u8 code;
	__sum16 csum;
	__be32 rest; /* identifier and sequence, next-hop MTU, pointer, unused */
};

static __always_inline bool icmp_is_error(__u8 type, bool v6)
{
	if (v6)
		return type == VEER_ICMP6_DEST_UNREACH || type == VEER_ICMP6_PKT_TOOBIG ||
		       type == VEER_ICMP6_TIME_EXCEED || type == VEER_ICMP6_PARAMPROB;
	return type == VEER_ICMP_DEST_UNREACH || type == VEER_ICMP_TIME_EXCEEDED ||
	       type == VEER_ICMP_PARAMETERPROB;
}

/*
 * Counts reason and sends the frame out of ifindex. lb_main counts only what it is returned as
 * a reason; a redirect is returned as the verdict itself.
 */
static __always_inline int icmp_redirect(__u32 reason, __u32 ifindex)
{
	count_reason(reason);
	return bpf_redirect(ifindex, 0);
}

/*
 * At tc the uncompensated change of the IPv6 hop limit (old and new hop-limit words) goes into
 * a complete skb->csum; the helper refuses any other checksum state, which needs nothing.
 */
static __always_inline void icmp_hop_csum(void *ctx, const enum veer_hook hook, __u16 from,
					  __u16 to)
{
	if (hook == HOOK_TC)
		bpf_csum_update(ctx, csum_fold64(csum_diff16(0, from, to)));
}

/* ---- echo ---- */

static __always_inline bool icmp_to_vip_addr(const struct packet *p)
{
	struct veer_vip_addr_key k = {};

	k.addr = p->key.daddr;
	k.family = p->key.family;
	return bpf_map_lookup_elem(&veer_vip_addrs, &k) != NULL;
}

/*
 * The request becomes its reply in place: type, addresses, MACs, TTL. The payload (identifier,
 * sequence, data) is the peer's to compare and stays as it came.
 */
static __always_inline int icmp_echo_reply(void *ctx, const enum veer_hook hook, struct packet *p)
{
	struct icmp_hdr *ih = p->l4;
	__u16 *type_code = p->l4;
	__u16 old = *type_code;
	__u8 mac[6];

	ih->type = p->v6 ? VEER_ICMP6_ECHO_REPLY : VEER_ICMP_ECHOREPLY;
	/* Swapping the addresses leaves the pseudo-header's sum as it was: only the type counts. */
	csum_apply(&ih->csum, csum_diff16(0, old, *type_code));
	/*
	 * An incremental update yields 0x0000 where the sum is all zeros (an empty echo with id
	 * and sequence 0), which the receiver rejects; 0xffff is the same sum and always valid.
	 */
	if (!ih->csum)
		ih->csum = 0xffff;
	__builtin_memcpy(mac, p->eth->h_dest, 6);
	__builtin_memcpy(p->eth->h_dest, p->eth->h_source, 6);
	__builtin_memcpy(p->eth->h_source, mac, 6);
	if (p->v6) {
		struct ipv6hdr *ip6h = p->l3;
		__u16 *nexthdr_hop = (__u16 *)&ip6h->nexthdr;

		old = *nexthdr_hop;
		__builtin_memcpy(&ip6h->saddr, &p->key.daddr, 16);
		__builtin_memcpy(&ip6h->daddr, &p->key.saddr, 16);
		ip6h->hop_limit = VEER_ICMP_ECHO_TTL;
		icmp_hop_csum(ctx, hook, old, *nexthdr_hop);
	} else {
		struct iphdr *iph = p->l3;
		__u16 *ttl_proto = (__u16 *)&iph->ttl;

		old = *ttl_proto;
		iph->saddr = p->key.daddr.v4;
		iph->daddr = p->key.saddr.v4;
		iph->ttl = VEER_ICMP_ECHO_TTL;
		csum_apply(&iph->check, csum_diff16(0, old, *ttl_proto));
	}
	if (hook == HOOK_TC)
		return icmp_redirect(VEER_TX_ICMP_ECHO, ctx_ifindex(ctx, hook));
	count_reason(VEER_TX_ICMP_ECHO);
	return XDP_TX;
}

/* ---- errors ---- */

/*
 * Makes the error's quote directly readable at tc (the skb's headers may sit in fragments past
 * what parse_packet pulled) and re-derives the packet pointers the pull invalidated.
 */
static __always_inline int icmp_pull(void *ctx, const enum veer_hook hook, struct packet *p)
{
	__u32 l3_off, l4_off;
	void *data, *end;

	if (hook != HOOK_TC)
		return 0;
	l3_off = p->l3 - (void *)p->eth;
	l4_off = p->l4 - (void *)p->eth;
	if (l4_off > ICMP_L4_OFF_MAX || l3_off > l4_off)
		return -VEER_PASS_NOT_VIP; /* not a frame parse_packet made */
	ctx_pull(ctx, hook, l4_off + ICMP_ERR_SPAN);
	data = ctx_data(ctx, hook);
	end = ctx_data_end(ctx, hook);
	p->eth = data;
	p->l3 = data + l3_off;
	p->l4 = data + l4_off;
	p->l4_csum = p->l4 + 2;
	/* Bytes parse_packet read: only the verifier needs telling. */
	if ((void *)(p->eth + 1) > end || p->l4 + sizeof(struct icmp_hdr) > end)
		return -VEER_DROP_BAD_ICMP;
	if (p->v6 ? p->l3 + sizeof(struct ipv6hdr) > end : p->l3 + sizeof(struct iphdr) > end)
		return -VEER_DROP_BAD_ICMP;
	return 0;
}

/* The quoted IPv4 header's checksum, over its IHL words (bounds checked word by word). */
static __always_inline bool icmp_inner_ip4_csum_ok(struct iphdr *iph, void *end)
{
	__u32 *w = (__u32 *)iph, words = iph->ihl;
	__u64 sum = 0;

	/*
	 * A bounded loop: IHL is at most 15 words. The empty asm hides w's progression from
	 * clang, which would otherwise fold the bounds checks into arithmetic on the packet's
	 * end pointer that the verifier refuses.
	 */
	for (__u32 i = 0; i < 15 && i < words; i++, w++) {
		asm volatile("" : "+r"(w));
		if ((void *)(w + 1) > end)
			return false;
		sum += *w;
	}
	return csum_fold64(sum) == 0xffff;
}

/* Where the quote lies, once checked. */
struct icmp_quote {
	void *l3;	/* inner IPv4/IPv6 header */
	__be16 *ports;	/* inner source and destination port */
	__u16 *l4_csum; /* inner TCP/UDP checksum, NULL when the quote does not hold it */
	__u8 proto;
};

/*
 * Rewrites the quote back to what veer's peer sent or expects, and the outer header with it.
 * The quoted tuple, reversed, is a packet of the flow going one way or the other:
 *   a reply (backend -> client): the quote is client -> backend, a packet veer forwarded; the
 *   error goes to the client. Inner destination := VIP:vport (f->addr/port), outer source :=
 *   VIP if it was the backend (an intermediate router keeps its address).
 *   forward (client -> VIP): the quote is VIP -> client, a reply veer rewrote; the error goes
 *   to the VIP. Inner source := backend:bport, outer destination := backend.
 */
static __always_inline int icmp_error_rewrite(void *ctx, const enum veer_hook hook,
					      struct packet *p, const struct flow_view *f,
					      const struct icmp_quote *q,
					      const union veer_addr *backend)
{
	bool to_client = f->reply;
	bool redirect = f->hop.ifindex && !p->vlan;
	__be16 *port = to_client ? &q->ports[1] : &q->ports[0];
	struct icmp_hdr *ih = p->l4;
	union veer_addr *in_addr, *out_addr = NULL;
	__u64 ip_diff = 0, addr_diff, l4_diff, icmp_diff;
	__u16 old, hop_old = 0;

	/* The stack routes (and fragments or refuses) what the cached egress cannot take. */
	if (redirect && too_big(ctx, hook, p, &f->hop, 0))
		redirect = false;
	if (p->v6)
		hop_old = *(__u16 *)&((struct ipv6hdr *)p->l3)->nexthdr;
	if (redirect && !hop_limit_dec(p, &ip_diff))
		return -VEER_PASS_TTL;

	/* Inner header and ports. The inner TCP/UDP checksum covers the inner addresses through
	 * its pseudo-header; the ICMP checksum covers every byte written here. */
	in_addr = ip_addr_field(q->l3, p->v6, !to_client);
	addr_diff = csum_diff_addr(0, in_addr, &f->addr, p->v6);
	l4_diff = csum_diff16(addr_diff, *port, f->port);
	icmp_diff = l4_diff;
	if (q->l4_csum) {
		old = *q->l4_csum;
		if (q->proto == IPPROTO_UDP)
			csum_apply_udp(q->l4_csum, l4_diff, p->v6);
		else
			csum_apply(q->l4_csum, l4_diff);
		icmp_diff = csum_diff16(icmp_diff, old, *q->l4_csum);
	}
	if (!p->v6) {
		struct iphdr *in4 = q->l3;

		old = in4->check;
		csum_apply(&in4->check, addr_diff);
		icmp_diff = csum_diff16(icmp_diff, old, in4->check);
	}
	ip_addr_write(in_addr, &f->addr, p->v6);
	*port = f->port;

	/* Outer header: IPv4's header checksum, or ICMPv6's pseudo-header. */
	/* Toward the VIP the destination becomes the backend; toward the client, the source
	 * becomes the VIP where it was the backend (a router's address stays). */
	if (!to_client || addr_equal(&p->key.saddr, backend))
		out_addr = ip_addr_field(p->l3, p->v6, to_client);
	if (out_addr) {
		addr_diff = csum_diff_addr(0, out_addr, &f->addr, p->v6);
		if (p->v6)
			icmp_diff += addr_diff;
		else
			ip_diff += addr_diff;
		ip_addr_write(out_addr, &f->addr, p->v6);
	}
	if (!p->v6)
		csum_apply(&((struct iphdr *)p->l3)->check, ip_diff);
	csum_apply(&ih->csum, icmp_diff);

	if (!redirect)
		return -VEER_FWD_ICMP_ERROR; /* counted, and passed to the stack */
	if (p->v6)
		icmp_hop_csum(ctx, hook, hop_old, *(__u16 *)&((struct ipv6hdr *)p->l3)->nexthdr);
	__builtin_memcpy(p->eth->h_dest, f->hop.dmac, 6);
	__builtin_memcpy(p->eth->h_source, f->hop.smac, 6);
	return icmp_redirect(VEER_FWD_ICMP_ERROR, f->hop.ifindex);
}

/*
 * An error about a DSR flow: the backend's reply (VIP -> client, sent by the backend itself)
 * quoted by a router on the client's side, addressed to the VIP. Nothing in it is veer's to
 * rewrite: it goes whole to the flow's backend, encapsulated or to its MAC, and its stack,
 * which has the VIP, matches the quote to its socket (path MTU discovery of the replies).
 * Counted icmp_error, and dsr_ipip or dsr_l2 by dsr_forward.
 */
static __always_inline int icmp_error_dsr(void *ctx, const enum veer_hook hook, struct packet *p,
					  const struct flow_view *v, const struct veer_flow_key *k)
{
	int rc = dsr_forward(ctx, hook, p, v, k, false);

	if (rc == -VEER_PASS_STACK)
		return -VEER_FWD_ICMP_ERROR; /* counted, and passed to the stack */
	if (rc >= 0)
		count_reason(VEER_FWD_ICMP_ERROR);
	return rc;
}

/*
 * An error message: check the quote, look its tuple up, rewrite. The quote must hold the inner
 * IP header and 8 bytes of what follows it, within the datagram and the frame.
 */
static __always_inline int icmp_error(void *ctx, const enum veer_hook hook, struct packet *p)
{
	struct veer_flow_key k = {};
	struct icmp_quote q = {};
	struct flow_view *v = flow_view_scratch();
	struct veer_backend *be;
	struct veer_flow *f;
	void *end, *dend, *l4;
	bool fwd;
	int rc;

	rc = icmp_pull(ctx, hook, p);
	if (rc)
		return rc;
	end = ctx_data_end(ctx, hook);
	/* The quote ends with the datagram: a frame's padding is no part of it. */
	dend = p->l3 + p->l3_len;
	q.l3 = p->l4 + sizeof(struct icmp_hdr);
	if (p->v6) {
		struct ipv6hdr *in6 = q.l3;

		if ((void *)(in6 + 1) > end || (void *)(in6 + 1) > dend)
			return -VEER_DROP_BAD_ICMP;
		if (in6->version != 6)
			return -VEER_DROP_BAD_ICMP;
		l4 = in6 + 1;
		if (l4 + ICMP_QUOTE_L4 > end || l4 + ICMP_QUOTE_L4 > dend)
			return -VEER_DROP_BAD_ICMP;
		/* Extension headers in a quote are not walked: no flow of veer's quoted. */
		q.proto = in6->nexthdr;
		if (q.proto != IPPROTO_TCP && q.proto != IPPROTO_UDP)
			return -VEER_PASS_NOT_VIP;
		__builtin_memcpy(&k.saddr, &in6->daddr, 16);
		__builtin_memcpy(&k.daddr, &in6->saddr, 16);
	} else {
		struct iphdr *in4 = q.l3;
		__u32 ihl;

		if ((void *)(in4 + 1) > end || (void *)(in4 + 1) > dend)
			return -VEER_DROP_BAD_ICMP;
		ihl = in4->ihl * 4;
		if (in4->version != 4 || ihl < sizeof(*in4) || bpf_ntohs(in4->tot_len) < ihl)
			return -VEER_DROP_BAD_ICMP;
		l4 = q.l3 + ihl;
		if (l4 + ICMP_QUOTE_L4 > end || l4 + ICMP_QUOTE_L4 > dend)
			return -VEER_DROP_BAD_ICMP;
		/* A later fragment's first bytes are data, not ports. */
		q.proto = in4->protocol;
		if ((q.proto != IPPROTO_TCP && q.proto != IPPROTO_UDP) ||
		    (in4->frag_off & bpf_htons(IP_OFFSET)))
			return -VEER_PASS_NOT_VIP;
		k.saddr.v4 = in4->daddr;
		k.daddr.v4 = in4->saddr;
	}
	q.ports = l4;
	/* The entry of the other direction: the quoted packet's tuple reversed. */
	k.sport = q.ports[1];
	k.dport = q.ports[0];
	k.proto = q.proto;
	k.family = p->key.family;
	f = v ? flow_find(&k, v, &be) : NULL;
	if (!f)
		return -VEER_PASS_NOT_VIP;
	if (!p->v6 && !icmp_inner_ip4_csum_ok(q.l3, end))
		return -VEER_DROP_BAD_ICMP;
	if (martian(p))
		return -VEER_DROP_MARTIAN;
	/*
	 * Only now the backend's next hop: the error's source is anybody's, and the hop resolved
	 * with it serves every flow of the backend until its next refresh (flow_found_view).
	 */
	if (flow_found_view(ctx, hook, p, f, be, v))
		return -VEER_PASS_NOT_VIP;
	fwd = be != NULL;
	if (q.proto == IPPROTO_UDP)
		q.l4_csum = l4 + 6;
	else if (l4 + ICMP_QUOTE_TCP_CSUM_END <= end && l4 + ICMP_QUOTE_TCP_CSUM_END <= dend)
		q.l4_csum = l4 + 16;
	if (fwd && v->mode != VEER_MODE_NAT)
		return icmp_error_dsr(ctx, hook, p, v, &k);
	/* k.saddr: the quoted destination, which is the backend when the quote is client -> it. */
	return icmp_error_rewrite(ctx, hook, p, v, &q, &k.saddr);
}

/*
 * Every ICMP packet parse_packet found comes here instead of the TCP/UDP path. A fragment is
 * not handled: an echo's reply or an error's checksum needs all of the message.
 */
static __always_inline int icmp_process(void *ctx, const enum veer_hook hook, struct packet *p)
{
	struct icmp_hdr *ih = p->l4;

	/* ICMP inside IPv6 or ICMPv6 inside IPv4 is no protocol veer knows. */
	if (p->key.proto != (p->v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP) || p->fragment)
		return -VEER_PASS_NOT_VIP;
	if (ih->type == (p->v6 ? VEER_ICMP6_ECHO_REQUEST : VEER_ICMP_ECHO)) {
		if (!icmp_to_vip_addr(p))
			return -VEER_PASS_NOT_VIP;
		/* A reply to a multicast or loopback source would go where no reply may. */
		return martian(p) ? -VEER_DROP_MARTIAN : icmp_echo_reply(ctx, hook, p);
	}
	if (icmp_is_error(ih->type, p->v6))
		return icmp_error(ctx, hook, p);
	return -VEER_PASS_NOT_VIP;
}

#endif
