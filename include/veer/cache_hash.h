/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The hash that places a cache key in veer_cache_gens. BPF computes it a byte at a time while
 * it tokenizes a request; userspace computes it to read a key's generation before a fill. Both
 * must agree, so it lives here and nowhere else. 32-bit FNV-1a: one multiply per byte.
 */
#ifndef VEER_CACHE_HASH_H
#define VEER_CACHE_HASH_H

#include <veer/abi.h>

#define VEER_CACHE_HASH_INIT 2166136261u

static inline __u32 veer_cache_hash_byte(__u32 h, __u8 c)
{
	return (h ^ c) * 16777619u;
}

static inline __u32 veer_cache_gen_slot(__u32 h)
{
	return h & (VEER_CACHE_GEN_SLOTS - 1);
}

#endif
