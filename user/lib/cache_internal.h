/* SPDX-License-Identifier: GPL-2.0 */
/* What libveer's cache files share with each other and with no one else. */
#ifndef VEER_CACHE_INTERNAL_H
#define VEER_CACHE_INTERNAL_H

#include "internal.h"
#include "cache.skel.h"

struct veer_cache {
	struct cache *skel; /* maps, and the programs when attaching */
	int lock_fd;
	int ncpus;
};

/* The zero-padded map key of (proto, key); -EINVAL when the key is empty or too long. */
int veer_cache_key_make(struct veer_cache_key *k, __u8 proto, const void *key, size_t klen);

/* The command tables (cache_cmds.c), written into veer_cache_cmds on attach. */
int veer_cache_cmds_load(struct veer_cache *c);

/* veer_cache_put with an absolute expiry (CLOCK_MONOTONIC ns) instead of a TTL. */
int veer_cache_put_until(struct veer_cache *c, __u8 proto, const void *key, size_t klen,
			 const void *value, size_t vlen, __u32 mc_flags, __u64 expires_ns,
			 const struct veer_cache_stamp *stamp);

/*
 * A long-lived handle (the manager's) holds no lock between uses: drop the pin directory's
 * writers' lock after veer_cache_open, and take it again around each use. 0 or -errno.
 */
int veer_cache_lock(struct veer_cache *c, bool held);

/* Adds n to a per-CPU cache counter (CPU 0's copy): for events counted in userspace. */
void veer_cache_count(struct veer_cache *c, __u32 stat, __u64 n);

#endif
