/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016) with weights. The table is a pure
 * function of the set of backends: two nodes given the same backends in any order build
 * byte-identical tables, so a fleet behind ECMP picks the same backend for a flow.
 */
#ifndef VEER_MAGLEV_H
#define VEER_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <veer/abi.h>

struct veer_maglev_backend {
	__u32 id; /* what the ring slots hold */
	__u32 weight; /* 0 = not in the table */
	union veer_addr addr;
	__be16 port;
	__u8 family;
};

bool veer_is_prime(__u64 n);

/*
 * Fill ring[0..ring_size) with backend ids. ring_size must be prime, at most VEER_RING_MAX and
 * at least the number of backends with a non-zero weight. Slots are VEER_NO_BACKEND only when no
 * backend has a non-zero weight. Returns 0 or -errno (-EINVAL, -ENOMEM).
 */
int veer_maglev_build(const struct veer_maglev_backend *backends, size_t n, __u32 ring_size,
		      __u32 *ring);

#endif /* VEER_MAGLEV_H */
