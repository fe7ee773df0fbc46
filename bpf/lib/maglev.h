/* SPDX-License-Identifier: GPL-2.0 */
/* Backend selection for a new flow: session affinity first, else the VIP's Maglev table. */
#ifndef VEER_BPF_MAGLEV_H
#define VEER_BPF_MAGLEV_H

#include "hash.h"
#include "maps.h"

#define NSEC_PER_SEC 1000000000ULL

static __always_inline __u32 ring_lookup(const struct veer_vip *vip, __u32 hash)
{
	__u32 slot, *id;
	void *ring;

	ring = bpf_map_lookup_elem(&veer_rings, &vip->id);
	if (!ring || !vip->ring_size)
		return VEER_NO_BACKEND;
	slot = hash % vip->ring_size;
	id = bpf_map_lookup_elem(ring, &slot);
	return id ? *id : VEER_NO_BACKEND;
}

static __always_inline bool backend_takes_new_flows(const struct veer_backend *be, __u32 vip_id)
{
	return be && (be->flags & (VEER_BACKEND_ACTIVE | VEER_BACKEND_DOWN)) == VEER_BACKEND_ACTIVE &&
	       be->weight && be->vip_id == vip_id;
}

/*
 * Affinity hashes the client address alone, so every node agrees on the backend; the table
 * keeps the client there for the timeout even when the ring changes under it.
 */
static __always_inline __u32 pick_backend(const struct packet *p, const struct veer_vip *vip,
					  __u64 now)
{
	struct veer_affinity_key ak = {};
	struct veer_affinity na = {}, *a;
	__u32 id;

	if (!vip->affinity)
		return ring_lookup(vip, hash_flow(&p->key, p->v6));

	ak.client = p->key.saddr;
	ak.vip_id = vip->id;
	a = bpf_map_lookup_elem(&veer_affinity, &ak);
	if (a && now - a->last_seen < vip->affinity * NSEC_PER_SEC) {
		id = a->backend_id;
		if (backend_takes_new_flows(bpf_map_lookup_elem(&veer_backends, &id), vip->id)) {
			a->last_seen = now;
			return id;
		}
	}
	id = ring_lookup(vip, hash_addr(&p->key.saddr, p->v6));
	if (id != VEER_NO_BACKEND) {
		na.backend_id = id;
		na.last_seen = now;
		bpf_map_update_elem(&veer_affinity, &ak, &na, BPF_ANY);
	}
	return id;
}

#endif
