// SPDX-License-Identifier: GPL-2.0
/* The manager's write/read rule: see cache_policy.h. */
#include "cache_policy.h"

void veer_cache_rate_fold(struct veer_cache_rate *r, __u64 reads, __u64 writes)
{
	r->reads = r->reads * VEER_CACHE_RATE_DECAY + (double)reads;
	r->writes = r->writes * VEER_CACHE_RATE_DECAY + (double)writes;
	r->rank = r->rank * VEER_CACHE_RANK_DECAY + (double)reads;
}

bool veer_cache_outranks(const struct veer_cache_rate *candidate,
			 const struct veer_cache_rate *cached)
{
	return candidate->rank > 2 * cached->rank;
}

bool veer_cache_write_heavy(const struct veer_cache_rate *r, double max_ratio)
{
	/* Compared as a product: no division by zero reads, and max_ratio 0 means any write. */
	return r->writes > 0 && r->writes > max_ratio * r->reads;
}

bool veer_cache_rate_idle(const struct veer_cache_rate *r)
{
	/*
	 * A rank under a half is a single read some 7 rounds ago or less: a key of the long
	 * tail, which the manager would otherwise remember for many rounds, thousands of them.
	 */
	return r->reads < 0.01 && r->writes < 0.01 && r->rank < 0.5;
}
