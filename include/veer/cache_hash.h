/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The hash of a cache key. BPF computes it a byte at a time while it tokenizes a request;
 * userspace computes it to key entries and to read a key's generation. Both must agree, so it
 * lives here and nowhere else. 64-bit FNV-1a: one multiply per byte, and wide enough to key
 * the maps (struct veer_cache_hkey) with the full key kept only for the final comparison.
 */
#ifndef VEER_CACHE_HASH_H
#define VEER_CACHE_HASH_H

#include <veer/abi.h>

#define VEER_CACHE_HASH_INIT 0xcbf29ce484222325ULL

static inline __u64 veer_cache_hash_byte(__u64 h, __u8 c)
{
	return (h ^ c) * 0x100000001b3ULL;
}

static inline __u32 veer_cache_gen_slot(__u64 h)
{
	return (__u32)(h ^ (h >> 32)) & (VEER_CACHE_GEN_SLOTS - 1);
}

#endif
