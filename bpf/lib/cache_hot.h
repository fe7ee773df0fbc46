/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the manager needs to keep write-heavy keys out of the cache: writes per key, and hits
 * per entry. A key written about as often as it is read gains little from an entry, and under
 * writers veer does not see, each of its writes leaves the old value served until the manager
 * hears of the write (see docs/CACHE.md, Hot keys and the manager).
 */
#ifndef VEER_BPF_CACHE_HOT_H
#define VEER_BPF_CACHE_HOT_H

#include "cache_maps.h"

/*
 * A write of the key (hash and len as the tokenizer read it): counted only when the key is
 * already in veer_cache_hot, that is, when it has been read. A lookup, never an insert: keys
 * that are only written must not push read keys out of the LRU.
 */
static __always_inline void cache_hot_write(__u64 hash, __u32 len, __u8 proto)
{
	struct veer_cache_hkey hk = {.hash = hash, .len = len, .proto = proto};
	struct veer_cache_hot *h = bpf_map_lookup_elem(&veer_cache_hot, &hk);

	if (h)
		__sync_fetch_and_add(&h->writes, 1);
}

/* A hit of the entry: counted in the entry itself, so the hit path makes no extra lookup. */
static __always_inline void cache_hot_hit(struct veer_cache_entry *e)
{
	__sync_fetch_and_add(&e->hits, 1);
}

#endif
