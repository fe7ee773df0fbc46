/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * veer_svc: a filter in front of the VIP table and the backend index. Every packet asks
 * whether its destination may be a VIP and whether its source may be a backend; an array slot
 * answers in a couple of nanoseconds where a hash lookup costs tens, so traffic of neither
 * passes without one, and an established forward packet goes straight to its connection.
 * "May": a slot is shared by every address:port hashed to it, and a set bit only sends the
 * packet on to the exact tables. libveer writes the slots; BPF reads them; both hash alike.
 */
#ifndef VEER_SVC_HASH_H
#define VEER_SVC_HASH_H

#include <veer/abi.h>

#define VEER_SVC_BITS	 16
#define VEER_SVC_SLOTS	 (1u << VEER_SVC_BITS)
#define VEER_SVC_VIP	 0x01 /* some VIP's address:port/proto hashes to the slot */
#define VEER_SVC_BACKEND 0x02 /* some backend's address:port/proto (veer_be_index) does */
/*
 * Some VIP's address:port/tcp hashes to the slot, and a forward-proxy rule without --vip-exempt
 * steers its port: only there does a packet to a VIP look at the proxy's rules (proxy.c).
 */
#define VEER_SVC_PROXY 0x04

static inline __u32 veer_svc_slot(const union veer_addr *a, __be16 port, __u8 proto)
{
	__u32 h = a->v6[0] ^ a->v6[1] ^ a->v6[2] ^ a->v6[3];

	h ^= ((__u32)port << 8) ^ proto;
	h *= 0x9e3779b1u; /* Fibonacci hashing: the high bits mix every input bit */
	return h >> (32 - VEER_SVC_BITS);
}

#endif
