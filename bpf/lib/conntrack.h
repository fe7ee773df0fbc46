/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The connection table keeps a flow on its backend while backends come, go and change weight.
 * A new flow installs two entries, forward and reply, keyed by the 5-tuple each direction
 * arrives with, so an established packet costs one hash lookup whichever way it goes.
 */
#ifndef VEER_BPF_CONNTRACK_H
#define VEER_BPF_CONNTRACK_H

#include "forward.h"
#include "maglev.h"

/*
 * Separate branches per family, not a map pointer chosen at run time: the verifier inlines a
 * lookup only when each call site sees one map.
 */
static __always_inline void flow4_key(const struct veer_flow_key *k, struct veer_flow4_key *k4)
{
	k4->saddr = k->saddr.v4;
	k4->daddr = k->daddr.v4;
	k4->sport = k->sport;
	k4->dport = k->dport;
	k4->proto = k->proto;
}

static __always_inline struct veer_flow *flow_lookup(const struct veer_flow_key *k)
{
	struct veer_flow4_key k4 = {};

	if (k->family == VEER_AF_INET6)
		return bpf_map_lookup_elem(&veer_flows6, k);
	flow4_key(k, &k4);
	return bpf_map_lookup_elem(&veer_flows4, &k4);
}

static __always_inline int flow_update(const struct veer_flow_key *k, const struct veer_flow *f)
{
	struct veer_flow4_key k4 = {};

	if (k->family == VEER_AF_INET6)
		return bpf_map_update_elem(&veer_flows6, k, f, BPF_ANY);
	flow4_key(k, &k4);
	return bpf_map_update_elem(&veer_flows4, &k4, f, BPF_ANY);
}

static __always_inline int flow_delete(const struct veer_flow_key *k)
{
	struct veer_flow4_key k4 = {};

	if (k->family == VEER_AF_INET6)
		return bpf_map_delete_elem(&veer_flows6, k);
	flow4_key(k, &k4);
	return bpf_map_delete_elem(&veer_flows4, &k4);
}

/* The reply direction of a forward flow: backend -> client. */
static __always_inline void flow_reply_key(const struct packet *p, const struct veer_flow *fwd,
					   struct veer_flow_key *rk)
{
	rk->saddr = fwd->addr;
	rk->daddr = p->key.saddr;
	rk->sport = fwd->port;
	rk->dport = p->key.sport;
	rk->proto = p->key.proto;
	rk->family = p->key.family;
}

/* The reply entry resolves its own next hop on the first reply (last_seen 0 = stale). */
static __always_inline int flow_install_reply(const struct packet *p, const struct veer_flow *fwd,
					      const struct veer_flow_key *rk)
{
	struct veer_flow rf = {};

	rf.addr = p->key.daddr;
	rf.port = p->key.dport;
	rf.dir = VEER_FLOW_REPLY;
	rf.vip_id = fwd->vip_id;
	rf.backend_id = fwd->backend_id;
	return flow_update(rk, &rf);
}

static __always_inline void flow_forget_reply(const struct packet *p, const struct veer_flow *fwd)
{
	struct veer_flow_key rk = {};

	flow_reply_key(p, fwd, &rk);
	flow_delete(&rk);
}

static __always_inline int flow_create(void *ctx, const enum veer_hook hook, const struct packet *p,
				       const struct veer_vip *vip, __u64 now, struct veer_flow *f)
{
	struct veer_flow_key rk = {};
	struct veer_backend *be;
	__u32 id;

	id = pick_backend(p, vip, now);
	be = bpf_map_lookup_elem(&veer_backends, &id);
	if (!be || !(be->flags & VEER_BACKEND_ACTIVE))
		return -VEER_DROP_NO_BACKEND;
	f->addr = be->addr;
	f->port = be->port;
	f->dir = VEER_FLOW_FORWARD;
	f->vip_id = vip->id;
	f->backend_id = id;
	f->last_seen = now;
	hop_resolve(ctx, hook, p, f, &p->key.saddr, &be->addr);
	flow_reply_key(p, f, &rk);
	if (flow_update(&p->key, f) || flow_install_reply(p, f, &rk))
		return -VEER_DROP_FLOW_FULL;
	return 0;
}

/*
 * Every VEER_FLOW_REFRESH_NS an active flow re-resolves its next hop (neighbours change) and,
 * going forward, re-installs its reply entry if the LRU evicted it. Only if: an LRU insert
 * costs ten lookups, and with a million flows most of them refresh all the time.
 */
static __always_inline void flow_refresh(void *ctx, const enum veer_hook hook,
					 const struct packet *p, struct veer_flow *f, __u64 now)
{
	f->last_seen = now;
	if (f->dir == VEER_FLOW_FORWARD) {
		struct veer_flow_key rk = {};

		hop_resolve(ctx, hook, p, f, &p->key.saddr, &f->addr);
		flow_reply_key(p, f, &rk);
		if (!flow_lookup(&rk))
			flow_install_reply(p, f, &rk);
	} else {
		hop_resolve(ctx, hook, p, f, &f->addr, &p->key.daddr);
	}
}

#endif
