/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VEER_BPF_COMMON_H
#define VEER_BPF_COMMON_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <veer/abi.h>

/*
 * What rewriting and sending a packet of a flow takes, gathered from where it lives: the
 * backend's slot or the VIP index (the address and port written), the per-backend next hop or
 * the flow's own (toward the client). Copied, not pointed to: every path then reaches the
 * rewrite in the same shape, and the verifier walks the rewrite once instead of once per map
 * the pieces came from.
 */
struct flow_view {
	union veer_addr addr; /* new destination (forward: backend) or source (reply: VIP) */
	struct veer_hop hop;
	__be16 port;
	bool reply;
	/* A forward view's only (a reply's is NAT's; the paths test the direction first): */
	__u8 mode;   /* enum veer_vip_mode of the flow's VIP */
	__u8 family; /* of addr: a dsr-ipip backend may be IPv6 for an IPv4 client */
	__u8 pad[3];
	__u32 vip_id;
	__u32 backend_id;
};

#ifndef likely
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

static __always_inline bool addr_equal(const union veer_addr *a, const union veer_addr *b)
{
	return ((a->v6[0] ^ b->v6[0]) | (a->v6[1] ^ b->v6[1]) | (a->v6[2] ^ b->v6[2]) |
		(a->v6[3] ^ b->v6[3])) == 0;
}

/* The source or destination address field of the IPv4 or IPv6 header at l3. */
static __always_inline union veer_addr *ip_addr_field(void *l3, bool v6, bool source)
{
	if (v6)
		return (union veer_addr *)(source ? &((struct ipv6hdr *)l3)->saddr
						  : &((struct ipv6hdr *)l3)->daddr);
	return (union veer_addr *)(source ? &((struct iphdr *)l3)->saddr
					  : &((struct iphdr *)l3)->daddr);
}

/* Writes an address over such a field: 4 bytes of IPv4 (the rest is the next field), or 16. */
static __always_inline void ip_addr_write(union veer_addr *field, const union veer_addr *to,
					  bool v6)
{
	if (v6)
		__builtin_memcpy(field, to, 16);
	else
		field->v4 = to->v4;
}

#endif
