/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bob Jenkins' lookup3 mix, as the kernel's jhash. The flow hash picks the Maglev slot, so it
 * must be the same on every node: no per-boot seed.
 */
#ifndef VEER_BPF_HASH_H
#define VEER_BPF_HASH_H

#include "common.h"

#define VEER_HASH_SEED 0x7665u /* "ve" */

static __always_inline __u32 rol32(__u32 w, unsigned int s)
{
	return (w << s) | (w >> (32 - s));
}

#define __jhash_final(a, b, c)                                                             \
	{                                                                                  \
		c ^= b;                                                                    \
		c -= rol32(b, 14);                                                         \
		a ^= c;                                                                    \
		a -= rol32(c, 11);                                                         \
		b ^= a;                                                                    \
		b -= rol32(a, 25);                                                         \
		c ^= b;                                                                    \
		c -= rol32(b, 16);                                                         \
		a ^= c;                                                                    \
		a -= rol32(c, 4);                                                          \
		b ^= a;                                                                    \
		b -= rol32(a, 14);                                                         \
		c ^= b;                                                                    \
		c -= rol32(b, 24);                                                         \
	}

static __always_inline __u32 jhash_3words(__u32 a, __u32 b, __u32 c, __u32 initval)
{
	a += 0xdeadbeef + initval + 12;
	b += 0xdeadbeef + initval + 12;
	c += 0xdeadbeef + initval + 12;
	__jhash_final(a, b, c);
	return c;
}

static __always_inline __u32 hash_addr(const union veer_addr *a, bool v6)
{
	if (!v6)
		return jhash_3words(a->v4, 0, 0, VEER_HASH_SEED);
	return jhash_3words(a->v6[0] ^ a->v6[3], a->v6[1], a->v6[2], VEER_HASH_SEED);
}

/* Client address and port, protocol: the VIP is implied by the ring being looked up. */
static __always_inline __u32 hash_flow(const struct veer_flow_key *k, bool v6)
{
	return jhash_3words(hash_addr(&k->saddr, v6), k->sport, k->proto, VEER_HASH_SEED);
}

#endif
