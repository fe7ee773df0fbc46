/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small packet builder for BPF_PROG_RUN fixtures: Ethernet, an optional 802.1Q tag, IPv4 (with
 * options, fragments) or IPv6 (with a fragment header), then TCP, UDP or ICMP. Every checksum
 * is computed from scratch with a plain RFC 1071 sum, so an expected output is built the same
 * way as an input and never with the data plane's incremental arithmetic. The bytes depend
 * only on the spec: the same spec gives the same frame on every run and every host.
 */
#ifndef VEER_TEST_PACKET_H
#define VEER_TEST_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#define PKT_MAX 2048

struct pkt {
	__u32 len;
	__u8 data[PKT_MAX];
};

/* One IPv6 extension header of a spec, see pkt_spec.ext6. */
#define PKT_EXT6_MAX 12
struct pkt_ext6 {
	__u8 type; /* 0 hop-by-hop, 43 routing, 44 fragment, 51 AH, 60 destination options */
	__u8 len;  /* its length byte: (len + 1) * 8 bytes, AH (len + 2) * 4, a fragment 8 */
};

struct pkt_spec {
	__u8 dmac[6], smac[6];
	__u16 vlan;	   /* 0 = untagged, else the 802.1Q TCI */
	const char *saddr; /* "198.18.1.2" or "2001:2:0:1::2": the family follows */
	const char *daddr;
	__u8 proto;	    /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP or IPPROTO_ICMPV6 */
	__u16 sport, dport; /* host order */
	__u8 tcp_flags;	    /* TCP flags byte (0x02 SYN, 0x10 ACK, ...); 0 means ACK|PSH */
	__u8 ttl;	    /* TTL or hop limit; 0 means 64 */
	__u16 frag;	    /* IPv4 frag_off, or the IPv6 fragment header's, host order */
	bool v6_frag;	    /* IPv6: insert a fragment header */
	__u8 ip_opts;	    /* IPv4 option bytes, a multiple of 4: a Router Alert, then NOPs */
	__u16 payload;	    /* L4 payload bytes, a fixed pattern */
	bool udp_nocsum;    /* UDP over IPv4 sent without a checksum (0) */
	__u16 pad;	    /* Ethernet padding after the IP datagram */
	__u32 ip_id;	    /* IPv4 identification (16 bits) or IPv6 fragment id; 0 = default */
	/*
	 * IPv6 extension headers, in this order, between the IPv6 header and the fragment header
	 * of v6_frag (or the L4 header). Options are padding (PadN), a routing header has
	 * segments left 0, AH a fixed SPI, sequence and ICV, a fragment header frag and ip_id
	 * (a later fragment's frame then carries payload only, as on the wire).
	 */
	__u8 ext6_n;
	struct pkt_ext6 ext6[PKT_EXT6_MAX];
};

/*
 * Builds the frame; 0 or -EINVAL (bad address, too long). A non-first fragment carries payload
 * only, no L4 header, as on the wire.
 */
int pkt_build(struct pkt *p, const struct pkt_spec *s);
/* A 60-byte ARP request for tpa from spa, broadcast. */
int pkt_build_arp(struct pkt *p, const __u8 smac[6], const char *spa, const char *tpa);

/*
 * One fragment of a datagram larger than a frame. The datagram that s describes with
 * dgram_payload bytes of L4 payload (in place of s->payload; s->frag and s->v6_frag are
 * ignored) is built whole, its TCP/UDP checksum computed over all of it; the frame carries its
 * L4 bytes [off, off + len) (the first fragment's begin with the L4 header) behind an IPv4
 * header with fragment offset off / 8 and MF = more, or an IPv6 header and a fragment header
 * saying the same; identification s->ip_id (or the default). 0 or -EINVAL (off not a multiple
 * of 8, a slice past the datagram or the frame).
 */
int pkt_build_frag(struct pkt *p, const struct pkt_spec *s, __u32 dgram_payload, __u32 off,
		   __u32 len, bool more);

/* A real fragment (offset != 0 or more fragments; not an IPv6 atomic fragment, RFC 6946). */
struct pkt_frag_view {
	bool v6;
	__u32 id;	  /* identification, host order */
	__u32 off;	  /* bytes */
	bool more;	  /* MF / M */
	__u8 proto;	  /* upper-layer protocol */
	const __u8 *data; /* the fragment's part of the datagram's L4 bytes */
	size_t len;
	const __u8 *saddr, *daddr;
};

/* false if p is no fragment of an IPv4 datagram or of an IPv6 one (fragment header first). */
bool pkt_frag_view(const struct pkt *p, struct pkt_frag_view *v);

/* Offset of the IP header: 14, or 18 behind an 802.1Q tag. */
size_t pkt_l3_off(const struct pkt *p);
struct iphdr *pkt_ip4(struct pkt *p);
struct ipv6hdr *pkt_ip6(struct pkt *p);
/* Recomputes the IPv4 header checksum after a test has edited the header. */
void pkt_ip4_fix_csum(struct pkt *p);
/*
 * The L4 payload of an unfragmented TCP/UDP frame (behind the TCP or UDP header). An IPv6 atomic
 * fragment (fragment header with offset 0 and M clear, RFC 6946) counts as unfragmented here and
 * below: it carries the whole datagram.
 */
__u8 *pkt_payload(struct pkt *p);
/* The TCP/UDP checksum field, host order; and its recomputation after an edit of the payload. */
__u16 pkt_l4_csum(const struct pkt *p);
void pkt_l4_fix_csum(struct pkt *p);

/* RFC 1071: the one's complement of the one's complement sum of 16-bit big-endian words. */
__u32 csum_partial_rfc1071(const void *data, size_t len, __u32 sum);
__u16 csum_finish_rfc1071(__u32 sum); /* in host order: write it with htons() */

/*
 * Verifies from scratch the IPv4 header checksum and the TCP/UDP checksum over the pseudo
 * header (a UDP/IPv4 checksum of 0 means none). On failure, writes why into why. A fragment's
 * TCP/UDP checksum covers the whole datagram: only its IPv4 header checksum is checked here.
 * An ICMP/ICMPv6 frame: its checksum (ICMPv6's over the pseudo header), and in an error's quote
 * the inner IPv4 header checksum when the quote holds the header, the inner TCP/UDP checksum
 * when it holds the whole inner datagram. IP in IP (protocol 4 or 41): the inner datagram's,
 * all of these.
 */
bool pkt_csums_ok(const struct pkt *p, char *why, size_t why_len);

/*
 * An ICMP error (ICMPv6 if s's addresses are IPv6) from s->saddr to s->daddr, with s's MACs,
 * tag, TTL and fragment fields (s->proto, ports and payload are ignored): type, code, the four
 * bytes after the checksum (rest, host order: unused, next-hop MTU, MTU or pointer), then the
 * first `quote` bytes of inner's IP datagram, from its IP header on. 0 or -EINVAL.
 */
int pkt_build_icmp_error(struct pkt *p, const struct pkt_spec *s, __u8 type, __u8 code, __u32 rest,
			 const struct pkt *inner, __u32 quote);
/*
 * inner's IP datagram (its frame from the IP header on, untagged) inside an outer IPv4 or IPv6
 * header from saddr to daddr (the family follows the addresses), as a DSR load balancer sends
 * it: protocol / next header 4 for an IPv4 inner datagram and 41 for an IPv6 one, TTL 64,
 * IPv4 with DF and ip_opts option bytes (as pkt_spec's), behind inner's MACs and the outer
 * family's ethertype. IPIP, IP6IP6, IPv4-in-IPv6 or IPv6-in-IPv4. 0 or -EINVAL.
 */
int pkt_build_encap(struct pkt *p, const struct pkt *inner, const char *saddr, const char *daddr,
		    __u8 ip_opts);

/* The ICMP/ICMPv6 header of an unfragmented frame, or NULL; and its checksum recomputed. */
__u8 *pkt_icmp(struct pkt *p);
void pkt_icmp_fix_csum(struct pkt *p);

#endif /* VEER_TEST_PACKET_H */
