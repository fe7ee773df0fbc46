/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What veer checks on a packet it would rewrite, one that matches a flow or a VIP, before it
 * creates or refreshes any state or touches any byte. Other traffic is not veer's business
 * and passes untouched (not_vip), whatever its headers say. In this order:
 *   - a martian source (no router forwards it): drop martian;
 *   - a TCP data offset below 5 or past the datagram, a UDP length other than the IP
 *     payload's (for a first fragment: below this fragment's L4 bytes): drop bad_l4_hdr;
 *   - a TTL / hop limit of 1 or 0: pass ttl, unchanged, and the stack answers time-exceeded.
 *     Before this check a TTL-1 packet of a new connection installed both flow entries and
 *     counted a new flow on its way to the stack.
 */
#ifndef VEER_BPF_HYGIENE_H
#define VEER_BPF_HYGIENE_H

#include "parse.h"

/* 0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4 (multicast), 240.0.0.0/4 (incl. broadcast). */
static __always_inline bool martian4(const union veer_addr *a)
{
	__u8 b0 = a->bytes[0];

	return b0 == 0 || b0 == 127 || b0 >= 224;
}

/* ::/128, ::1/128, ::ffff:0:0/96 (IPv4-mapped), fe80::/10 (link-local), ff00::/8. */
static __always_inline bool martian6(const union veer_addr *a)
{
	__u8 b0 = a->bytes[0];

	if (b0 == 0xff || (b0 == 0xfe && (a->bytes[1] & 0xc0) == 0x80))
		return true;
	if (a->v6[0] | a->v6[1])
		return false;
	if (a->v6[2] == bpf_htonl(0xffff))
		return true;
	return !a->v6[2] && (!a->v6[3] || a->v6[3] == bpf_htonl(1));
}

/*
 * The L4 header's own lengths against the IP datagram's. l4_len: bytes from the L4 header to
 * the end of the datagram (of this fragment, for a first fragment).
 */
static __always_inline bool l4_hdr_ok(const struct packet *p)
{
	__u32 l4_len = p->l3_len - (__u32)(p->l4 - p->l3);

	if (p->key.proto == IPPROTO_TCP) {
		const struct tcphdr *th = p->l4;
		__u32 doff = th->doff;

		return doff >= 5 && doff * 4 <= l4_len;
	} else {
		const struct udphdr *uh = p->l4;
		__u32 ulen = bpf_ntohs(uh->len);

		/* A first fragment carries only the start of the datagram the length covers. */
		return p->fragment ? ulen >= l4_len : ulen == l4_len;
	}
}

static __always_inline __u8 hop_limit(const struct packet *p)
{
	if (p->v6)
		return ((const struct ipv6hdr *)p->l3)->hop_limit;
	return ((const struct iphdr *)p->l3)->ttl;
}

static __always_inline bool martian(const struct packet *p)
{
	return p->v6 ? martian6(&p->key.saddr) : martian4(&p->key.saddr);
}

/*
 * The checks that need no TCP/UDP header, for what else veer forwards on a flow's behalf
 * (later fragments, ICMP errors): 0, or the negated reason.
 */
static __always_inline int hygiene_l3(const struct packet *p)
{
	if (martian(p))
		return -VEER_DROP_MARTIAN;
	if (hop_limit(p) <= 1)
		return -VEER_PASS_TTL;
	return 0;
}

/* 0, or the negated reason of a packet veer must not rewrite. */
static __always_inline int hygiene_check(const struct packet *p)
{
	if (martian(p))
		return -VEER_DROP_MARTIAN;
	if (!l4_hdr_ok(p))
		return -VEER_DROP_BAD_L4_HDR;
	if (hop_limit(p) <= 1)
		return -VEER_PASS_TTL;
	return 0;
}

#endif
