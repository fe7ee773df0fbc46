// SPDX-License-Identifier: GPL-2.0
/* The fixture packet builder; see packet.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include "packet.h"

#define ETH_P_8021Q_ 0x8100
#define IP_OFFSET_   0x1fff
#define IP6_OFFSET_  0xfff8
#define NEXTHDR_FRAG 44

struct frag6 {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 id;
};

__u32 csum_partial_rfc1071(const void *data, size_t len, __u32 sum)
{
	const __u8 *b = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	if (i < len)
		sum += (__u32)b[i] << 8;
	return sum;
}

__u16 csum_finish_rfc1071(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* The TCP/UDP pseudo header's sum (RFC 793, RFC 768, RFC 8200 section 8.1). */
static __u32 pseudo_sum(bool v6, const void *saddr, const void *daddr, __u8 proto, __u32 l4len)
{
	__u8 tail[8] = {};
	__u32 sum = 0;

	sum = csum_partial_rfc1071(saddr, v6 ? 16 : 4, sum);
	sum = csum_partial_rfc1071(daddr, v6 ? 16 : 4, sum);
	if (v6) {
		tail[0] = l4len >> 24;
		tail[1] = l4len >> 16;
		tail[2] = l4len >> 8;
		tail[3] = l4len;
		tail[7] = proto;
		return csum_partial_rfc1071(tail, 8, sum);
	}
	tail[1] = proto;
	tail[2] = l4len >> 8;
	tail[3] = l4len;
	return csum_partial_rfc1071(tail, 4, sum);
}

/* Length of extension header e, in bytes. */
static size_t ext6_len(const struct pkt_ext6 *e)
{
	if (e->type == NEXTHDR_FRAG)
		return 8;
	if (e->type == 51)
		return (e->len + 2) * 4;
	return (e->len + 1) * 8;
}

/* Bytes of s's extension headers. */
static size_t ext6_total(const struct pkt_spec *s)
{
	size_t n = 0;

	for (int i = 0; i < s->ext6_n && i < PKT_EXT6_MAX; i++)
		n += ext6_len(&s->ext6[i]);
	return n;
}

/* Writes s's extension headers at h, the last one's next header being next; their length. */
static size_t build_ext6(__u8 *h, const struct pkt_spec *s, __u8 next)
{
	size_t off = 0;

	for (int i = 0; i < s->ext6_n; i++) {
		const struct pkt_ext6 *e = &s->ext6[i];
		size_t n = ext6_len(e);
		__u8 *x = h + off;

		x[0] = i + 1 < s->ext6_n ? s->ext6[i + 1].type : next;
		x[1] = e->len;
		if (e->type == NEXTHDR_FRAG) {
			x[1] = 0;
			x[2] = s->frag >> 8;
			x[3] = s->frag;
			x[4] = (s->ip_id ? s->ip_id : 0x76656572) >> 24;
			x[5] = (s->ip_id ? s->ip_id : 0x76656572) >> 16;
			x[6] = (s->ip_id ? s->ip_id : 0x76656572) >> 8;
			x[7] = s->ip_id ? s->ip_id : 0x76656572;
		} else if (e->type == 51) {
			x[7] = 1;  /* SPI 0x00000001 */
			x[11] = 7; /* sequence 7 */
			for (size_t j = 12; j < n; j++)
				x[j] = (__u8)(0xa0 + j); /* ICV */
		} else if (e->type == 43) {
			x[2] = 253; /* routing type for experiments (RFC 4727), segments left 0 */
		} else {
			x[2] = 1; /* PadN over the rest (RFC 8200 4.2) */
			x[3] = n - 4;
		}
		off += n;
	}
	return off;
}

/* A later fragment of s: its frame carries payload, no L4 header. */
static bool ext6_tail(const struct pkt_spec *s)
{
	for (int i = 0; i < s->ext6_n; i++)
		if (s->ext6[i].type == NEXTHDR_FRAG && (s->frag & IP6_OFFSET_))
			return true;
	return false;
}

static bool is_v6(const char *addr)
{
	return strchr(addr, ':') != NULL;
}

/* L4 header and payload at l4; returns its length. */
static size_t build_l4(__u8 *l4, const struct pkt_spec *s, bool tail_fragment)
{
	size_t hl = 0;

	if (!tail_fragment) {
		if (s->proto == IPPROTO_TCP) {
			struct tcphdr *th = (struct tcphdr *)l4;

			th->source = htons(s->sport);
			th->dest = htons(s->dport);
			th->seq = htonl(0x11223344);
			th->ack_seq = htonl(0x55667788);
			th->doff = sizeof(*th) / 4;
			if (s->tcp_flags) {
				l4[13] = s->tcp_flags; /* CWR ECE URG ACK PSH RST SYN FIN */
			} else {
				th->ack = 1;
				th->psh = 1;
			}
			th->window = htons(65535);
			hl = sizeof(*th);
		} else if (s->proto == IPPROTO_UDP) {
			struct udphdr *uh = (struct udphdr *)l4;

			uh->source = htons(s->sport);
			uh->dest = htons(s->dport);
			uh->len = htons(sizeof(*uh) + s->payload);
			hl = sizeof(*uh);
		} else {
			/* ICMP or ICMPv6 echo request: type, code, checksum, id, sequence. */
			l4[0] = s->proto == IPPROTO_ICMP ? 8 : 128;
			l4[5] = 1;
			l4[7] = 1;
			hl = 8;
		}
	}
	for (size_t i = 0; i < s->payload; i++)
		l4[hl + i] = (__u8)(0x21 + i * 7);
	return hl + s->payload;
}

static void fill_l4_csum(__u8 *l4, size_t l4len, const struct pkt_spec *s, bool v6,
			 const void *saddr, const void *daddr)
{
	__u32 sum = 0;
	__u16 c, *field;

	if (s->proto == IPPROTO_TCP) {
		field = &((struct tcphdr *)l4)->check;
	} else if (s->proto == IPPROTO_UDP) {
		field = &((struct udphdr *)l4)->check;
		if (!v6 && s->udp_nocsum)
			return;
	} else {
		field = (__u16 *)(l4 + 2);
	}
	if (s->proto != IPPROTO_ICMP)
		sum = pseudo_sum(v6, saddr, daddr, s->proto, l4len);
	c = csum_finish_rfc1071(csum_partial_rfc1071(l4, l4len, sum));
	if (s->proto == IPPROTO_UDP && !c)
		c = 0xffff;
	*field = htons(c);
}

int pkt_build(struct pkt *p, const struct pkt_spec *s)
{
	bool v6 = is_v6(s->saddr), tail;
	__u8 *b = p->data, *l3, *l4;
	struct ethhdr *eth;
	size_t off, l4len;

	memset(p, 0, sizeof(*p));
	/*
	 * Headers take at most 14 + 4 + 60 + 20 bytes besides IPv6 extension headers: neither the
	 * payload nor the extension headers can overrun the buffer.
	 */
	if (v6 != is_v6(s->daddr) || s->ip_opts % 4 || s->ip_opts > 40 ||
	    s->ext6_n > PKT_EXT6_MAX || s->payload + ext6_total(s) > PKT_MAX - 128)
		return -EINVAL;
	eth = (struct ethhdr *)b;
	memcpy(eth->h_dest, s->dmac, 6);
	memcpy(eth->h_source, s->smac, 6);
	off = sizeof(*eth);
	if (s->vlan) {
		eth->h_proto = htons(ETH_P_8021Q_);
		b[off] = s->vlan >> 8;
		b[off + 1] = s->vlan;
		b[off + 2] = (v6 ? ETH_P_IPV6 : ETH_P_IP) >> 8;
		b[off + 3] = (v6 ? ETH_P_IPV6 : ETH_P_IP) & 0xff;
		off += 4;
	} else {
		eth->h_proto = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
	}
	l3 = b + off;

	if (!v6) {
		struct iphdr *iph = (struct iphdr *)l3;
		size_t ihl = sizeof(*iph) + s->ip_opts;

		tail = s->frag & IP_OFFSET_;
		l4 = l3 + ihl;
		l4len = build_l4(l4, s, tail);
		iph->version = 4;
		iph->ihl = ihl / 4;
		iph->tot_len = htons(ihl + l4len);
		iph->id = htons(s->ip_id ? s->ip_id : 0x4d2e);
		iph->frag_off = htons(s->frag);
		iph->ttl = s->ttl ? s->ttl : 64;
		iph->protocol = s->proto;
		if (inet_pton(AF_INET, s->saddr, &iph->saddr) != 1 ||
		    inet_pton(AF_INET, s->daddr, &iph->daddr) != 1)
			return -EINVAL;
		if (s->ip_opts) {
			__u8 *o = l3 + sizeof(*iph);

			o[0] = 0x94; /* Router Alert, RFC 2113 */
			o[1] = 4;
			memset(o + 4, 1, s->ip_opts - 4); /* NOP */
		}
		if (!tail)
			fill_l4_csum(l4, l4len, s, false, &iph->saddr, &iph->daddr);
		iph->check = htons(csum_finish_rfc1071(csum_partial_rfc1071(iph, ihl, 0)));
		off += ihl + l4len;
	} else {
		struct ipv6hdr *ip6h = (struct ipv6hdr *)l3;
		size_t hdrs = sizeof(*ip6h);

		tail = (s->v6_frag && (s->frag & IP6_OFFSET_)) || ext6_tail(s);
		ip6h->version = 6;
		ip6h->hop_limit = s->ttl ? s->ttl : 64;
		ip6h->nexthdr = s->v6_frag ? NEXTHDR_FRAG : s->proto;
		if (s->ext6_n) {
			ip6h->nexthdr = s->ext6[0].type;
			hdrs += build_ext6((__u8 *)(ip6h + 1), s,
					   s->v6_frag ? NEXTHDR_FRAG : s->proto);
		}
		if (s->v6_frag) {
			struct frag6 *fh = (struct frag6 *)((__u8 *)ip6h + hdrs);

			fh->nexthdr = s->proto;
			fh->frag_off = htons(s->frag);
			fh->id = htonl(s->ip_id ? s->ip_id : 0x76656572);
			hdrs += sizeof(*fh);
		}
		if (inet_pton(AF_INET6, s->saddr, &ip6h->saddr) != 1 ||
		    inet_pton(AF_INET6, s->daddr, &ip6h->daddr) != 1)
			return -EINVAL;
		l4 = l3 + hdrs;
		l4len = build_l4(l4, s, tail);
		ip6h->payload_len = htons(hdrs - sizeof(*ip6h) + l4len);
		if (!tail)
			fill_l4_csum(l4, l4len, s, true, &ip6h->saddr, &ip6h->daddr);
		off += hdrs + l4len;
	}
	off += s->pad;
	if (off > PKT_MAX)
		return -EINVAL;
	p->len = off;
	return 0;
}

int pkt_build_frag(struct pkt *p, const struct pkt_spec *s, __u32 dgram_payload, __u32 off,
		   __u32 len, bool more)
{
	struct pkt_spec hdr = *s, whole = *s;
	bool v6 = is_v6(s->saddr);
	__u8 saddr[16], daddr[16];
	size_t l4len, at;
	__u8 *l4;
	int err;

	if (off % 8 || off > 0xfff8 || dgram_payload > 0xffff - 60 ||
	    inet_pton(v6 ? AF_INET6 : AF_INET, s->saddr, saddr) != 1 ||
	    inet_pton(v6 ? AF_INET6 : AF_INET, s->daddr, daddr) != 1)
		return -EINVAL;
	l4 = calloc(1, dgram_payload + 64);
	if (!l4)
		return -ENOMEM;
	whole.payload = dgram_payload;
	l4len = build_l4(l4, &whole, false);
	fill_l4_csum(l4, l4len, &whole, v6, saddr, daddr);

	/* The headers as pkt_build makes them for a later fragment (no L4 header), then the
	 * slice behind them and the lengths and fragment fields made true. */
	hdr.payload = 0;
	hdr.pad = 0;
	hdr.v6_frag = v6;
	hdr.frag = v6 ? 8 : 1;
	err = pkt_build(p, &hdr);
	at = p->len;
	if (!err && (off + len > l4len || at + len + s->pad > PKT_MAX))
		err = -EINVAL;
	if (err) {
		free(l4);
		return err;
	}
	memcpy(p->data + at, l4 + off, len);
	free(l4);
	p->len = at + len + s->pad;
	if (v6) {
		struct ipv6hdr *ip6h = pkt_ip6(p);
		struct frag6 *fh = (struct frag6 *)(ip6h + 1);

		ip6h->payload_len = htons(sizeof(*fh) + len);
		fh->frag_off = htons(off | more);
	} else {
		struct iphdr *iph = pkt_ip4(p);

		iph->tot_len = htons(iph->ihl * 4 + len);
		iph->frag_off = htons((more ? 0x2000 : 0) | off / 8);
		pkt_ip4_fix_csum(p);
	}
	return 0;
}

bool pkt_frag_view(const struct pkt *p, struct pkt_frag_view *v)
{
	size_t off = pkt_l3_off(p);
	const __u8 *l3 = p->data + off;

	memset(v, 0, sizeof(*v));
	if (off + sizeof(struct iphdr) > p->len)
		return false;
	v->v6 = (l3[0] >> 4) == 6;
	if (!v->v6) {
		const struct iphdr *iph = (const struct iphdr *)l3;
		size_t ihl = iph->ihl * 4, tot = ntohs(iph->tot_len);
		__u16 frag = ntohs(iph->frag_off);

		if (!(frag & (0x2000 | IP_OFFSET_)) || ihl < sizeof(*iph) || tot < ihl ||
		    off + tot > p->len)
			return false;
		v->id = ntohs(iph->id);
		v->off = (frag & IP_OFFSET_) * 8;
		v->more = frag & 0x2000;
		v->proto = iph->protocol;
		v->data = l3 + ihl;
		v->len = tot - ihl;
		v->saddr = (const __u8 *)&iph->saddr;
		v->daddr = (const __u8 *)&iph->daddr;
	} else {
		const struct ipv6hdr *ip6h = (const struct ipv6hdr *)l3;
		const struct frag6 *fh = (const struct frag6 *)(ip6h + 1);
		size_t plen = ntohs(ip6h->payload_len);

		if (off + sizeof(*ip6h) + plen > p->len || ip6h->nexthdr != NEXTHDR_FRAG ||
		    plen < sizeof(*fh) || !(ntohs(fh->frag_off) & (IP6_OFFSET_ | 1)))
			return false;
		v->id = ntohl(fh->id);
		v->off = ntohs(fh->frag_off) & IP6_OFFSET_;
		v->more = ntohs(fh->frag_off) & 1;
		v->proto = fh->nexthdr;
		v->data = (const __u8 *)(fh + 1);
		v->len = plen - sizeof(*fh);
		v->saddr = ip6h->saddr.s6_addr;
		v->daddr = ip6h->daddr.s6_addr;
	}
	return true;
}

int pkt_build_arp(struct pkt *p, const __u8 smac[6], const char *spa, const char *tpa)
{
	struct ethhdr *eth = (struct ethhdr *)p->data;
	__u8 *a = p->data + sizeof(*eth);

	memset(p, 0, sizeof(*p));
	memset(eth->h_dest, 0xff, 6);
	memcpy(eth->h_source, smac, 6);
	eth->h_proto = htons(ETH_P_ARP);
	a[1] = 1;    /* hardware type Ethernet */
	a[2] = 0x08; /* protocol IPv4 */
	a[4] = 6;
	a[5] = 4;
	a[7] = 1; /* request */
	memcpy(a + 8, smac, 6);
	if (inet_pton(AF_INET, spa, a + 14) != 1 || inet_pton(AF_INET, tpa, a + 24) != 1)
		return -EINVAL;
	p->len = 60;
	return 0;
}

size_t pkt_l3_off(const struct pkt *p)
{
	const struct ethhdr *eth = (const struct ethhdr *)p->data;

	return eth->h_proto == htons(ETH_P_8021Q_) ? sizeof(*eth) + 4 : sizeof(*eth);
}

struct iphdr *pkt_ip4(struct pkt *p)
{
	return (struct iphdr *)(p->data + pkt_l3_off(p));
}

struct ipv6hdr *pkt_ip6(struct pkt *p)
{
	return (struct ipv6hdr *)(p->data + pkt_l3_off(p));
}

void pkt_ip4_fix_csum(struct pkt *p)
{
	struct iphdr *iph = pkt_ip4(p);

	iph->check = 0;
	iph->check = htons(csum_finish_rfc1071(csum_partial_rfc1071(iph, iph->ihl * 4, 0)));
}

/* The L4 header of an unfragmented IPv4/IPv6 frame, its length, protocol and addresses. */
struct l4_view {
	__u8 *l4;
	size_t len;
	__u8 proto;
	bool v6;
	bool fragment; /* false returned at a fragment header behind extension headers */
	const __u8 *saddr, *daddr;
};

/* The upper-layer header of an unfragmented frame, whatever its protocol. */
static bool ul_view(const struct pkt *p, struct l4_view *v)
{
	size_t off = pkt_l3_off(p);
	__u8 *l3 = (__u8 *)p->data + off;

	v->fragment = false;
	if (off + sizeof(struct iphdr) > p->len)
		return false;
	v->v6 = (l3[0] >> 4) == 6;
	if (!v->v6) {
		struct iphdr *iph = (struct iphdr *)l3;
		size_t ihl = iph->ihl * 4, tot = ntohs(iph->tot_len);

		if (ihl < sizeof(*iph) || tot < ihl || off + tot > p->len)
			return false;
		v->proto = iph->protocol;
		v->l4 = l3 + ihl;
		v->len = tot - ihl;
		v->saddr = (const __u8 *)&iph->saddr;
		v->daddr = (const __u8 *)&iph->daddr;
	} else {
		struct ipv6hdr *ip6h = (struct ipv6hdr *)l3;

		if (off + sizeof(*ip6h) + ntohs(ip6h->payload_len) > p->len)
			return false;
		v->proto = ip6h->nexthdr;
		v->l4 = l3 + sizeof(*ip6h);
		v->len = ntohs(ip6h->payload_len);
		/* Extension headers, walked to the upper layer. */
		for (int i = 0; i < PKT_EXT6_MAX; i++) {
			struct pkt_ext6 e = {v->proto, v->len >= 2 ? v->l4[1] : 0};
			size_t n = ext6_len(&e);

			if (e.type != 0 && e.type != 43 && e.type != NEXTHDR_FRAG && e.type != 51 &&
			    e.type != 60)
				break;
			if (v->len < 8 || v->len < n)
				return false;
			/* Only an atomic fragment holds the whole datagram (offset 0, M clear). */
			if (e.type == NEXTHDR_FRAG &&
			    ntohs(((const struct frag6 *)v->l4)->frag_off) & (IP6_OFFSET_ | 1)) {
				v->fragment = true;
				return false;
			}
			v->proto = v->l4[0];
			v->l4 += n;
			v->len -= n;
		}
		v->saddr = ip6h->saddr.s6_addr;
		v->daddr = ip6h->daddr.s6_addr;
	}
	return true;
}

static bool l4_view(const struct pkt *p, struct l4_view *v)
{
	if (!ul_view(p, v))
		return false;
	if (v->proto == IPPROTO_TCP)
		return v->len >= sizeof(struct tcphdr);
	if (v->proto == IPPROTO_UDP)
		return v->len >= sizeof(struct udphdr);
	return false;
}

static size_t csum_at(__u8 proto)
{
	return proto == IPPROTO_TCP ? offsetof(struct tcphdr, check)
				    : offsetof(struct udphdr, check);
}

/* The checksum the L4 header should carry, computed over a copy with the field zeroed. */
static __u16 l4_csum_compute(const struct l4_view *v)
{
	__u8 copy[PKT_MAX];
	size_t at = csum_at(v->proto);
	__u16 c;

	memcpy(copy, v->l4, v->len);
	copy[at] = copy[at + 1] = 0;
	c = csum_finish_rfc1071(csum_partial_rfc1071(
		copy, v->len, pseudo_sum(v->v6, v->saddr, v->daddr, v->proto, v->len)));
	/* RFC 768, RFC 8200 8.1: a UDP checksum that computes to 0 is sent as all ones. */
	if (v->proto == IPPROTO_UDP && !c)
		c = 0xffff;
	return c;
}

__u8 *pkt_payload(struct pkt *p)
{
	struct l4_view v;

	if (!l4_view(p, &v))
		return NULL;
	return v.l4 + (v.proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr));
}

__u16 pkt_l4_csum(const struct pkt *p)
{
	struct l4_view v;

	if (!l4_view(p, &v))
		return 0;
	return v.l4[csum_at(v.proto)] << 8 | v.l4[csum_at(v.proto) + 1];
}

void pkt_l4_fix_csum(struct pkt *p)
{
	struct l4_view v;
	__u16 c;

	if (!l4_view(p, &v))
		return;
	if (v.proto == IPPROTO_UDP && !v.v6 && !pkt_l4_csum(p))
		return; /* sent without a checksum */
	c = l4_csum_compute(&v);
	v.l4[csum_at(v.proto)] = c >> 8;
	v.l4[csum_at(v.proto) + 1] = c;
}

/* ---- ICMP ---- */

static __u32 icmp_sum(const struct l4_view *v)
{
	__u32 sum = 0;

	if (v->proto == IPPROTO_ICMPV6)
		sum = pseudo_sum(true, v->saddr, v->daddr, IPPROTO_ICMPV6, v->len);
	return csum_partial_rfc1071(v->l4, v->len, sum);
}

static bool icmp_is_error(const struct l4_view *v)
{
	__u8 t = v->l4[0];

	if (v->proto == IPPROTO_ICMPV6)
		return t >= 1 && t <= 4;
	return t == 3 || t == 11 || t == 12;
}

bool pkt_csums_ok(const struct pkt *p, char *why, size_t why_len);

/* An IP datagram inside a packet, checked as a frame of its own; what says where it was. */
static bool pkt_inner_csums_ok(const __u8 *dgram, size_t len, char *why, size_t why_len,
			       const char *what)
{
	struct pkt inner = {};
	bool v6 = len && (dgram[0] >> 4) == 6;

	if (len > PKT_MAX - ETH_HLEN) {
		snprintf(why, why_len, "inner datagram of %zu bytes", len);
		return false;
	}
	inner.data[12] = v6 ? ETH_P_IPV6 >> 8 : ETH_P_IP >> 8;
	inner.data[13] = v6 ? ETH_P_IPV6 & 0xff : ETH_P_IP & 0xff;
	memcpy(inner.data + ETH_HLEN, dgram, len);
	inner.len = ETH_HLEN + len;
	if (pkt_csums_ok(&inner, why, why_len))
		return true;
	snprintf(why + strlen(why), why_len - strlen(why), "%s", what);
	return false;
}

/* The message's checksum, then an error's quote, checked as far as it goes. */
static bool icmp_csums_ok(const struct l4_view *v, char *why, size_t why_len)
{
	struct pkt inner = {};
	struct l4_view iv;
	const __u8 *q;
	size_t qlen;

	if (v->len < 8) {
		snprintf(why, why_len, "ICMP message of %zu bytes", v->len);
		return false;
	}
	if (csum_finish_rfc1071(icmp_sum(v))) {
		snprintf(why, why_len, "ICMP checksum 0x%04x is wrong", v->l4[2] << 8 | v->l4[3]);
		return false;
	}
	if (!icmp_is_error(v))
		return true;
	q = v->l4 + 8;
	qlen = v->len - 8;
	if (qlen < 20 || (q[0] >> 4) != (v->proto == IPPROTO_ICMPV6 ? 6 : 4))
		return true;
	if ((q[0] >> 4) == 4 && (q[0] & 15) >= 5 && (size_t)(q[0] & 15) * 4 <= qlen &&
	    csum_finish_rfc1071(csum_partial_rfc1071(q, (q[0] & 15) * 4, 0))) {
		snprintf(why, why_len, "quoted IPv4 header checksum 0x%04x is wrong",
			 q[10] << 8 | q[11]);
		return false;
	}
	/* A whole quoted datagram: its own TCP/UDP checksum too, as a frame of its own. */
	inner.data[12] = (q[0] >> 4) == 6 ? ETH_P_IPV6 >> 8 : ETH_P_IP >> 8;
	inner.data[13] = (q[0] >> 4) == 6 ? ETH_P_IPV6 & 0xff : ETH_P_IP & 0xff;
	memcpy(inner.data + ETH_HLEN, q, qlen);
	inner.len = ETH_HLEN + qlen;
	if (!l4_view(&inner, &iv))
		return true;
	return pkt_inner_csums_ok(q, qlen, why, why_len, " (in the quote)");
}

__u8 *pkt_icmp(struct pkt *p)
{
	struct l4_view v;

	if (!ul_view(p, &v) || (v.proto != IPPROTO_ICMP && v.proto != IPPROTO_ICMPV6) || v.len < 8)
		return NULL;
	return v.l4;
}

void pkt_icmp_fix_csum(struct pkt *p)
{
	struct l4_view v;
	__u16 c;

	if (!pkt_icmp(p) || !ul_view(p, &v))
		return;
	v.l4[2] = v.l4[3] = 0;
	c = csum_finish_rfc1071(icmp_sum(&v));
	v.l4[2] = c >> 8;
	v.l4[3] = c;
}

int pkt_build_icmp_error(struct pkt *p, const struct pkt_spec *s, __u8 type, __u8 code, __u32 rest,
			 const struct pkt *inner, __u32 quote)
{
	size_t in_off = pkt_l3_off(inner);
	struct pkt_spec o = *s;
	__u8 *icmp;
	int err;

	if (in_off + quote > inner->len || quote > PKT_MAX - 128)
		return -EINVAL;
	o.proto = is_v6(s->saddr) ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	o.payload = quote;
	err = pkt_build(p, &o);
	if (err)
		return err;
	icmp = pkt_icmp(p);
	if (!icmp)
		return -EINVAL;
	icmp[0] = type;
	icmp[1] = code;
	icmp[4] = rest >> 24;
	icmp[5] = rest >> 16;
	icmp[6] = rest >> 8;
	icmp[7] = rest;
	memcpy(icmp + 8, inner->data + in_off, quote);
	pkt_icmp_fix_csum(p);
	return 0;
}

bool pkt_csums_ok(const struct pkt *p, char *why, size_t why_len)
{
	size_t off = pkt_l3_off(p);
	const __u8 *l3 = p->data + off;
	struct pkt_frag_view fv;
	struct l4_view v;
	__u16 got, want;

	if (off + sizeof(struct iphdr) <= p->len && (l3[0] >> 4) == 4) {
		const struct iphdr *iph = (const struct iphdr *)l3;

		/* Summing a header that holds a correct checksum gives 0xffff, i.e. ~0. */
		if (iph->ihl >= 5 && off + iph->ihl * 4 <= p->len &&
		    csum_finish_rfc1071(csum_partial_rfc1071(iph, iph->ihl * 4, 0))) {
			snprintf(why, why_len, "IPv4 header checksum 0x%04x is wrong",
				 ntohs(iph->check));
			return false;
		}
	}
	if (pkt_frag_view(p, &fv))
		return true;
	/* IP in IP (dsr-ipip): the outer IPv4 header above, then the inner datagram in full. */
	if (ul_view(p, &v) && (v.proto == IPPROTO_IPIP || v.proto == IPPROTO_IPV6))
		return pkt_inner_csums_ok(v.l4, v.len, why, why_len, " (inside IP in IP)");
	/* A fragment behind IPv6 extension headers: likewise. */
	if (!ul_view(p, &v) && v.fragment)
		return true;
	if (ul_view(p, &v) && (v.proto == IPPROTO_ICMP || v.proto == IPPROTO_ICMPV6))
		return icmp_csums_ok(&v, why, why_len);
	if (!l4_view(p, &v)) {
		snprintf(why, why_len, "no TCP/UDP header to check");
		return false;
	}
	got = pkt_l4_csum(p);
	if (v.proto == IPPROTO_UDP && !v.v6 && !got)
		return true; /* sent without a checksum */
	want = l4_csum_compute(&v);
	if (got != want) {
		snprintf(why, why_len, "%s checksum 0x%04x, computed 0x%04x",
			 v.proto == IPPROTO_TCP ? "TCP" : "UDP", got, want);
		return false;
	}
	return true;
}

int pkt_build_encap(struct pkt *p, const struct pkt *inner, const char *saddr, const char *daddr,
		    __u8 ip_opts)
{
	const struct ethhdr *ieth = (const struct ethhdr *)inner->data;
	size_t dlen = inner->len - sizeof(*ieth), hlen;
	bool v6 = is_v6(saddr), in6;
	struct ethhdr *eth;
	__u8 *l3;

	memset(p, 0, sizeof(*p));
	if (inner->len < sizeof(*ieth) + 1 || v6 != is_v6(daddr) || ip_opts % 4 || ip_opts > 40 ||
	    (v6 && ip_opts) ||
	    (ieth->h_proto != htons(ETH_P_IP) && ieth->h_proto != htons(ETH_P_IPV6)))
		return -EINVAL;
	in6 = ieth->h_proto == htons(ETH_P_IPV6);
	hlen = v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr) + ip_opts;
	if (sizeof(*eth) + hlen + dlen > PKT_MAX)
		return -EINVAL;
	eth = (struct ethhdr *)p->data;
	memcpy(eth, ieth, 12);
	eth->h_proto = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
	l3 = p->data + sizeof(*eth);
	if (v6) {
		struct ipv6hdr *ip6h = (struct ipv6hdr *)l3;

		ip6h->version = 6;
		ip6h->payload_len = htons(dlen);
		ip6h->nexthdr = in6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
		ip6h->hop_limit = 64;
		if (inet_pton(AF_INET6, saddr, &ip6h->saddr) != 1 ||
		    inet_pton(AF_INET6, daddr, &ip6h->daddr) != 1)
			return -EINVAL;
	} else {
		struct iphdr *iph = (struct iphdr *)l3;

		iph->version = 4;
		iph->ihl = hlen / 4;
		iph->tot_len = htons(hlen + dlen);
		iph->id = htons(0x7665);
		iph->frag_off = htons(0x4000); /* DF */
		iph->ttl = 64;
		iph->protocol = in6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
		if (inet_pton(AF_INET, saddr, &iph->saddr) != 1 ||
		    inet_pton(AF_INET, daddr, &iph->daddr) != 1)
			return -EINVAL;
		if (ip_opts) {
			__u8 *o = l3 + sizeof(*iph);

			o[0] = 0x94; /* Router Alert, RFC 2113 */
			o[1] = 4;
			memset(o + 4, 1, ip_opts - 4); /* NOP */
		}
		iph->check = htons(csum_finish_rfc1071(csum_partial_rfc1071(iph, hlen, 0)));
	}
	memcpy(l3 + hlen, inner->data + sizeof(*ieth), dlen);
	p->len = sizeof(*eth) + hlen + dlen;
	return 0;
}
