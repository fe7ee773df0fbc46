/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Backend decapsulation, the backend half of direct server return (bpf/decap.bpf.c). A load
 * balancer in dsr-ipip mode sends the client's packet inside an outer IP header addressed to
 * the backend; the kernel here may have no ipip module to take it off. This does, for packets
 * whose inner destination is one of the host's VIPs (veer_decap_vips): IPv4 in IPv4 (protocol
 * 4), IPv6 in IPv6 (next header 41), IPv4 in IPv6 and IPv6 in IPv4. The inner packet goes to
 * the stack as if it had arrived so, on the same interface, with the frame's MACs.
 *
 * Nothing is dropped: a packet this does not fully understand is passed untouched, and the
 * stack, which checks every header it receives, judges it as it would without veer. A reason
 * counter says what happened (enum veer_decap_reason, veer_decap_stat).
 *
 * Cost: traffic that is not IP-in-IP pays one protocol test; IP-in-IP pays the header checks,
 * the look-up of the inner destination (a few array reads, no hash map) and the strip.
 */
#ifndef VEER_BPF_DECAP_H
#define VEER_BPF_DECAP_H

#include "ctx.h"
#include "parse.h"
#include <veer/decap_hash.h>

/* The skb's new protocol after a strip that changes the family (Linux 6.3; uapi names). */
#define VEER_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define VEER_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)

/*
 * Pinned by name beside the load balancer's maps, which the decap program never creates. The
 * VIPs: an array read by slot (struct veer_decap_vip in abi.h says why and how).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VEER_DECAP_SLOTS);
	__type(key, __u32);
	__type(value, struct veer_decap_vip);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_decap_vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VEER_DECAP_REASON_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_decap_stat SEC(".maps");

/* What the outer header said: how many bytes to strip, and what is behind them. */
struct decap_outer {
	__u32 hlen;  /* outer IP header, options included */
	__u32 avail; /* bytes of the outer datagram behind it */
	bool v6;     /* outer family */
	bool in6;    /* inner family: next header 41 */
};

/*
 * An IP length as the kernel reads it (iph_totlen, ipv6_rcv): 0 on a GSO skb means "the rest
 * of the skb" (BIG TCP). rest: the bytes from the header to the end of the packet.
 */
static __always_inline __u32 decap_ip_len(void *ctx, const enum veer_hook hook, __be16 field,
					  __u32 rest)
{
	__u32 len = bpf_ntohs(field);

	if (hook == HOOK_TC && !len && CTX_SKB(ctx)->gso_size)
		return rest;
	return len;
}

/*
 * The outer header, read from the frame at ETH_HLEN; 0 with o filled for IP-in-IP whose outer
 * header is sound, else the reason the packet is passed. Traffic of any other protocol is
 * told apart by one byte before anything else is checked.
 */
static __always_inline int decap_outer_parse(void *ctx, const enum veer_hook hook,
					     struct decap_outer *o)
{
	__u32 len = ctx_len(ctx, hook), rest = len - ETH_HLEN;
	void *data = ctx_data(ctx, hook), *end = ctx_data_end(ctx, hook);
	__be16 h_proto;
	__u8 proto;

	if (data + ETH_HLEN > end)
		return VEER_DECAP_NOT_ENCAP;
	/* As a word: struct ethhdr is packed, and clang would read it byte by byte. */
	h_proto = ((__be16 *)data)[6];
	if (h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = data + ETH_HLEN;
		__u32 ihl, tot;

		if ((void *)(iph + 1) > end)
			return VEER_DECAP_BAD_OUTER;
		proto = iph->protocol;
		if (proto != IPPROTO_IPIP && proto != IPPROTO_IPV6)
			return VEER_DECAP_NOT_ENCAP;
		ihl = iph->ihl * 4;
		tot = decap_ip_len(ctx, hook, iph->tot_len, rest);
		if (iph->version != 4 || ihl < sizeof(*iph) || tot < ihl || tot > rest)
			return VEER_DECAP_BAD_OUTER;
		/* The stack would refuse a wrong sum before any tunnel saw the packet. */
		if (!ip4_csum_ok(ctx, hook, iph, ETH_HLEN, ihl))
			return VEER_DECAP_BAD_OUTER;
		/* Only the reassembled datagram has an inner packet: the stack's to rebuild. */
		if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
			return VEER_DECAP_FRAGMENT;
		o->hlen = ihl;
		o->avail = tot - ihl;
		o->v6 = false;
	} else if (h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = data + ETH_HLEN;
		__u32 plen;

		if ((void *)(ip6h + 1) > end)
			return VEER_DECAP_BAD_OUTER;
		proto = ip6h->nexthdr;
		if (proto != IPPROTO_IPIP && proto != IPPROTO_IPV6)
			return ipv6_ext_hdr(proto) ? VEER_DECAP_OUTER_EXT : VEER_DECAP_NOT_ENCAP;
		plen = decap_ip_len(ctx, hook, ip6h->payload_len, rest - sizeof(*ip6h));
		if (ip6h->version != 6 || !plen || sizeof(*ip6h) + plen > rest)
			return VEER_DECAP_BAD_OUTER;
		o->hlen = sizeof(*ip6h);
		o->avail = plen;
		o->v6 = true;
	} else {
		return VEER_DECAP_NOT_ENCAP;
	}
	o->in6 = proto == IPPROTO_IPV6;
	return 0;
}

/*
 * The inner header behind the outer one: of the family the outer header names, whole, with
 * lengths that fit the outer datagram. Fills key with its destination.
 */
static __always_inline int decap_inner_parse(void *ctx, const enum veer_hook hook,
					     const struct decap_outer *o,
					     struct veer_decap_vip *key)
{
	__u32 off = ETH_HLEN + o->hlen;
	void *data, *end, *inner;

	/* At tc the inner header may lie past the skb's linear part. */
	ctx_pull(ctx, hook, off + (o->in6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr)));
	ctx_reload_barrier();
	data = ctx_data(ctx, hook);
	end = ctx_data_end(ctx, hook);
	inner = data + off;
	if (!o->in6) {
		struct iphdr *iph = inner;
		__u32 ihl, tot;

		if ((void *)(iph + 1) > end)
			return VEER_DECAP_BAD_INNER;
		ihl = iph->ihl * 4;
		tot = decap_ip_len(ctx, hook, iph->tot_len, o->avail);
		if (iph->version != 4 || ihl < sizeof(*iph) || tot < ihl || tot > o->avail)
			return VEER_DECAP_BAD_INNER;
		key->addr.v4 = iph->daddr;
		key->family = VEER_AF_INET;
	} else {
		struct ipv6hdr *ip6h = inner;
		__u32 len;

		if ((void *)(ip6h + 1) > end || o->avail < sizeof(*ip6h))
			return VEER_DECAP_BAD_INNER;
		len = sizeof(*ip6h) +
		      decap_ip_len(ctx, hook, ip6h->payload_len, o->avail - sizeof(*ip6h));
		if (ip6h->version != 6 || len > o->avail)
			return VEER_DECAP_BAD_INNER;
		__builtin_memcpy(&key->addr, &ip6h->daddr, sizeof(key->addr));
		key->family = VEER_AF_INET6;
	}
	return 0;
}

/*
 * Takes the outer header off. At XDP the Ethernet header moves forward over it and the frame
 * starts there (bpf_xdp_adjust_head); at tc the kernel removes the bytes behind the MAC
 * header (bpf_skb_adjust_room), which keeps a GSO skb's segmentation and a partial checksum
 * valid: the inner headers do not move relative to the skb's head, so csum_start still points
 * at the inner L4 header, and a complete checksum is reduced by the bytes removed.
 *  - gso_size is kept as it is (FIXED_GSO): it was the sender's segment size, and a segment the
 *    stack may cut again (forwarding to a container) must not grow past it. A UDP GSO skb
 *    cannot be stripped without the flag at all.
 *  - CHECKSUM_UNNECESSARY is kept (NO_CSUM_RESET), as the kernel's own ipip receive path keeps
 *    it: an outer IP header has no L4 checksum, so what a NIC verified was the inner one.
 *  - The helper leaves the GSO type's tunnel bit (SKB_GSO_IPXIP4/6) set, which the kernel's
 *    ipip path clears and no helper can: measured harmless, docs/DATAPLANE.md says how.
 */
static __always_inline int decap_strip(void *ctx, const enum veer_hook hook,
				       const struct decap_outer *o)
{
	__be16 proto = o->in6 ? bpf_htons(ETH_P_IPV6) : bpf_htons(ETH_P_IP);
	void *data, *end;

	if (hook == HOOK_TC) {
		__u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_NO_CSUM_RESET;

		/* Also sets skb->protocol to the inner family. */
		if (o->in6 != o->v6)
			flags |= o->in6 ? VEER_ADJ_ROOM_DECAP_L3_IPV6 : VEER_ADJ_ROOM_DECAP_L3_IPV4;
		if (bpf_skb_adjust_room(ctx, -(__s32)o->hlen, BPF_ADJ_ROOM_MAC, flags))
			return VEER_DECAP_STRIP_FAILED;
		if (o->in6 == o->v6)
			return VEER_DECAP_DONE;
		data = ctx_data(ctx, hook);
		end = ctx_data_end(ctx, hook);
		if (data + ETH_HLEN <= end)
			((__be16 *)data)[6] = proto;
		return VEER_DECAP_DONE;
	} else {
		__u32 *w, m0, m1, m2;

		data = ctx_data(ctx, hook);
		end = ctx_data_end(ctx, hook);
		if (data + ETH_HLEN > end)
			return VEER_DECAP_STRIP_FAILED;
		/*
		 * The MACs, as three words (struct ethhdr is packed: clang would copy it byte by
		 * byte), kept in registers across the call, which fails before changing anything.
		 */
		w = data;
		m0 = w[0];
		m1 = w[1];
		m2 = w[2];
		if (bpf_xdp_adjust_head(ctx, o->hlen))
			return VEER_DECAP_STRIP_FAILED;
		data = ctx_data(ctx, hook);
		end = ctx_data_end(ctx, hook);
		if (data + ETH_HLEN > end)
			return VEER_DECAP_STRIP_FAILED;
		w = data;
		w[0] = m0;
		w[1] = m1;
		w[2] = m2;
		((__be16 *)data)[6] = proto;
		return VEER_DECAP_DONE;
	}
}

/*
 * Whether the inner destination is a VIP: the VEER_DECAP_PROBES slots from its home slot, each
 * an inlined array read and a compare. Every slot is read, empty or not: a VIP deleted from
 * before another of its window never hides the other.
 */
static __always_inline bool decap_vip(const struct veer_decap_vip *key)
{
	__u32 home = veer_decap_slot(&key->addr, key->family);

#pragma unroll
	for (__u32 i = 0; i < VEER_DECAP_PROBES; i++) {
		__u32 slot = (home + i) & (VEER_DECAP_SLOTS - 1);
		struct veer_decap_vip *v = bpf_map_lookup_elem(&veer_decap_vips, &slot);

		if (v && v->family == key->family && addr_equal(&v->addr, &key->addr))
			return true;
	}
	return false;
}

static __always_inline int decap_process(void *ctx, const enum veer_hook hook)
{
	struct veer_decap_vip key = {};
	struct decap_outer o;
	int rc;

	/* The outer Ethernet and IP headers (IPv4's first 20 bytes, or IPv6's 40), at tc. */
	ctx_pull(ctx, hook, ETH_HLEN + sizeof(struct ipv6hdr));
	ctx_reload_barrier();
	rc = decap_outer_parse(ctx, hook, &o);
	if (rc)
		return rc;
	rc = decap_inner_parse(ctx, hook, &o, &key);
	if (rc)
		return rc;
	if (!decap_vip(&key))
		return VEER_DECAP_NOT_VIP;
	return decap_strip(ctx, hook, &o);
}

/* Per-CPU counters: plain adds, no atomics; userspace sums the CPUs. */
static __always_inline int decap_main(void *ctx, const enum veer_hook hook)
{
	__u32 reason = decap_process(ctx, hook);
	__u64 *n = bpf_map_lookup_elem(&veer_decap_stat, &reason);

	if (n)
		*n += 1;
	return ctx_pass(hook);
}

#endif
