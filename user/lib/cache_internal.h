/* SPDX-License-Identifier: GPL-2.0 */
/* What libveer's cache files share with each other and with no one else. */
#ifndef VEER_CACHE_INTERNAL_H
#define VEER_CACHE_INTERNAL_H

#include <limits.h>
#include "internal.h"
#include "cache.skel.h"

struct veer_cache {
	struct cache *skel; /* maps, and the programs when attaching */
	int lock_fd;	    /* the cache writers' lock while held, else -1 */
	/*
	 * What the writers' lock is an flock on: the pinned veer_cache_glob, so that the
	 * cache's writers never wait for the balancer's nor make it wait. "" for maps that are
	 * not pinned (the unit tests' private ones): no other writer to wait for.
	 */
	char lock_path[PATH_MAX];
	int ncpus;
	struct veer_cache_glob *glob; /* veer_cache_glob mapped, on first use; NULL before */
	/*
	 * Called every few hundred elements by the scans of whole maps (list, hot keys, sweep),
	 * which take tens of milliseconds on full tables: the manager reads its keyspace
	 * notifications there, so that a round does not hold them up. NULL: none.
	 */
	void (*yield)(void *arg);
	void *yield_arg;
};

static inline void veer_cache_yield(struct veer_cache *c, size_t i)
{
	if (c->yield && !(i % 256))
		c->yield(c->yield_arg);
}

/* The zero-padded map key of (proto, key); -EINVAL when the key is empty or too long. */
int veer_cache_key_make(struct veer_cache_key *k, __u8 proto, const void *key, size_t klen);

/* The command tables (cache_cmds.c), written into veer_cache_cmds on attach. */
int veer_cache_cmds_load(struct veer_cache *c);

/* veer_cache_sweep, returning the entries left (all current), as veer_cache_list would. */
int veer_cache_sweep_list(struct veer_cache *c, struct veer_cache_item **out, size_t *n,
			  size_t *removed);

/* veer_cache_put with an absolute expiry (CLOCK_MONOTONIC ns) instead of a TTL. */
int veer_cache_put_until(struct veer_cache *c, __u8 proto, const void *key, size_t klen,
			 const void *value, size_t vlen, __u32 mc_flags, __u64 expires_ns,
			 const struct veer_cache_stamp *stamp);

/*
 * The cache writers' lock: a writing handle holds it from veer_cache_open on. A long-lived
 * handle (the manager's) holds it for one transaction at a time, never across network I/O:
 * drop it after veer_cache_open, and take it again around each use. 0 or -errno.
 */
int veer_cache_lock(struct veer_cache *c, bool held);

/* veer_cache_glob, mapped into this process (atomic access to its fields); NULL on error. */
struct veer_cache_glob *veer_cache_glob_map(struct veer_cache *c);

/*
 * Sets proto's lease: its entries are served until CLOCK_MONOTONIC until_ns; 0 lifts the
 * lease (no manager: entries are served until their TTL).
 */
int veer_cache_lease_set(struct veer_cache *c, __u8 proto, __u64 until_ns);

/* veer_cache_mgr_new on maps already open (the unit tests' private ones); c stays the caller's. */
int veer_cache_mgr_new_on(const struct veer_cache_manager_opts *o, struct veer_cache *c,
			  struct veer_cache_mgr **m);

/* Adds n to a per-CPU cache counter (CPU 0's copy): for events counted in userspace. */
void veer_cache_count(struct veer_cache *c, __u32 stat, __u64 n);

#endif
