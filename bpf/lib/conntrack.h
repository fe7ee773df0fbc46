/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The connection table keeps a flow on its backend while backends come, go and change weight.
 * One entry per connection, keyed client -> VIP as the client sends it (struct veer_flow in
 * abi.h): a forward packet finds it by its own tuple, a reply through veer_be_index, which
 * names the VIPs its source address:port serves. Either way one lookup in the big table, and
 * there is no half of a flow to lose: an entry holds both directions or neither.
 *
 * The entry holds what is the flow's own: its backend slot, its idle clock and the next hop
 * toward its client. The next hop toward a backend belongs to the backend (veer_be_hops), so a
 * new flow costs one insert and no FIB lookup.
 */
#ifndef VEER_BPF_CONNTRACK_H
#define VEER_BPF_CONNTRACK_H

#include "forward.h"
#include "maglev.h"

/* This CPU's scratch flow_view (maps.h); NULL only if the map were missing. */
static __always_inline struct flow_view *flow_view_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&veer_scratch, &zero);
}

static __always_inline void flow4_key(const struct veer_flow_key *k, struct veer_flow4_key *k4)
{
	k4->saddr = k->saddr.v4;
	k4->daddr = k->daddr.v4;
	k4->sport = k->sport;
	k4->dport = k->dport;
	k4->proto = k->proto;
}

/*
 * NAME_lookup, NAME_insert and NAME_delete over a pair of tables, IPv4 (16-byte key) and IPv6
 * (struct veer_flow_key): flow_* for the connection table, syn_* for the handshake table.
 * Separate branches per family, not a map pointer chosen at run time: the verifier inlines a
 * lookup only when each call site sees one map.
 */
#define CONNTRACK_TABLE(NAME, MAP4, MAP6)                                                          \
	static __always_inline struct veer_flow *NAME##_lookup(const struct veer_flow_key *k)      \
	{                                                                                          \
		struct veer_flow4_key k4 = {};                                                     \
                                                                                                   \
		if (k->family == VEER_AF_INET6)                                                    \
			return bpf_map_lookup_elem(&MAP6, k);                                      \
		flow4_key(k, &k4);                                                                 \
		return bpf_map_lookup_elem(&MAP4, &k4);                                            \
	}                                                                                          \
                                                                                                   \
	static __always_inline int NAME##_insert(const struct veer_flow_key *k,                    \
						 const struct veer_flow *f, __u64 flags)           \
	{                                                                                          \
		struct veer_flow4_key k4 = {};                                                     \
                                                                                                   \
		if (k->family == VEER_AF_INET6)                                                    \
			return bpf_map_update_elem(&MAP6, k, f, flags);                            \
		flow4_key(k, &k4);                                                                 \
		return bpf_map_update_elem(&MAP4, &k4, f, flags);                                  \
	}                                                                                          \
                                                                                                   \
	static __always_inline int NAME##_delete(const struct veer_flow_key *k)                    \
	{                                                                                          \
		struct veer_flow4_key k4 = {};                                                     \
                                                                                                   \
		if (k->family == VEER_AF_INET6)                                                    \
			return bpf_map_delete_elem(&MAP6, k);                                      \
		flow4_key(k, &k4);                                                                 \
		return bpf_map_delete_elem(&MAP4, &k4);                                            \
	}

CONNTRACK_TABLE(flow, veer_flows4, veer_flows6)
CONNTRACK_TABLE(syn, veer_syns4, veer_syns6)

/* What veer_svc says of an address:port: VEER_SVC_VIP and VEER_SVC_BACKEND, maybe. */
static __always_inline __u8 svc_flags(const union veer_addr *a, __be16 port, __u8 proto)
{
	__u32 slot = veer_svc_slot(a, port, proto);
	__u8 *f = bpf_map_lookup_elem(&veer_svc, &slot);

	return f ? *f : 0;
}

static __always_inline struct veer_vip *vip_lookup(const struct veer_flow_key *k)
{
	struct veer_vip_key vk = {};

	vk.addr = k->daddr;
	vk.port = k->dport;
	vk.proto = k->proto;
	vk.family = k->family;
	return bpf_map_lookup_elem(&veer_vips, &vk);
}

static __always_inline bool tcp_is_syn(const struct packet *p)
{
	const struct tcphdr *th = p->l4;

	return p->key.proto == IPPROTO_TCP && th->syn && !th->ack;
}

static __always_inline __u64 flow_timeout(__u8 proto)
{
	__u32 zero = 0;
	struct veer_settings *s = bpf_map_lookup_elem(&veer_settings, &zero);

	/* 0 is "not set": the defaults hold until `veer set` says otherwise. */
	if (proto == IPPROTO_TCP)
		return s && s->tcp_timeout_ns ? s->tcp_timeout_ns : VEER_TCP_TIMEOUT_NS;
	return s && s->udp_timeout_ns ? s->udp_timeout_ns : VEER_UDP_TIMEOUT_NS;
}

/*
 * Idle past its timeout: a closing connection's, a handshake's, or its protocol's. last_seen
 * is written once per refresh interval, not per packet, so a flow looks up to one interval
 * older than it is: a flow expires between its timeout and one interval later, never sooner.
 * Every timeout is longer than the interval, so a flow seen within one is live without a look
 * at the settings.
 */
static __always_inline bool flow_expired(const struct veer_flow *f, __u8 proto, bool handshake,
					 __u64 now)
{
	__u64 idle = now - f->last_seen, limit;

	if (idle <= VEER_FLOW_REFRESH_NS)
		return false;
	if (f->flags & VEER_FLOW_CLOSING)
		limit = VEER_TCP_CLOSE_TIMEOUT_NS;
	else if (handshake)
		limit = VEER_TCP_SYN_TIMEOUT_NS;
	else
		limit = flow_timeout(proto);
	return idle > limit + VEER_FLOW_REFRESH_NS;
}

static __always_inline bool tcp_fin_or_rst(const struct packet *p)
{
	const struct tcphdr *th = p->l4;

	return p->key.proto == IPPROTO_TCP && (th->fin || th->rst);
}

/* A FIN or RST either way: the connection closes (VEER_FLOW_CLOSING); one write, the first. */
static __always_inline void flow_mark_closing(const struct packet *p, struct veer_flow *f,
					      __u64 now)
{
	if (tcp_fin_or_rst(p) && !(f->flags & VEER_FLOW_CLOSING)) {
		f->flags |= VEER_FLOW_CLOSING;
		f->last_seen = now;
	}
}

/*
 * The flow's backend, if the slot still holds the backend the flow was made with: active, or
 * removed with its flows left to finish. NULL once the slot went to another backend.
 */
static __always_inline struct veer_backend *flow_backend(const struct veer_flow *f)
{
	__u32 id = f->backend_id;
	struct veer_backend *be = bpf_map_lookup_elem(&veer_backends, &id);

	if (!be || be->gen != f->backend_gen ||
	    !(be->flags & (VEER_BACKEND_ACTIVE | VEER_BACKEND_REMOVED)))
		return NULL;
	return be;
}

/* The next hop toward a backend, resolved by this CPU when stale or when the slot changed. */
static __always_inline const struct veer_hop *backend_hop(void *ctx, const enum veer_hook hook,
							  const struct packet *p, __u32 id,
							  const struct veer_backend *be, __u64 now)
{
	struct veer_be_hop *bh = bpf_map_lookup_elem(&veer_be_hops, &id);

	if (!bh)
		return NULL;
	if (bh->gen != be->gen || !bh->resolved || now - bh->resolved > VEER_FLOW_REFRESH_NS) {
		hop_resolve(ctx, hook, p, &bh->hop, &p->key.saddr, &be->addr,
			    be->family == VEER_AF_INET6);
		bh->gen = be->gen;
		bh->resolved = now;
	}
	return &bh->hop;
}

/* A forward packet's view of its flow: to the backend, over the backend's next hop. */
static __always_inline int view_forward(void *ctx, const enum veer_hook hook,
					const struct packet *p, const struct veer_flow *f,
					const struct veer_backend *be, __u64 now,
					struct flow_view *v)
{
	const struct veer_hop *hop = backend_hop(ctx, hook, p, f->backend_id, be, now);

	if (!hop)
		return -VEER_DROP_NO_BACKEND;
	v->hop = *hop;
	v->addr = be->addr;
	v->port = be->port;
	v->reply = false;
	v->mode = VEER_BACKEND_MODE(be->flags);
	v->family = be->family;
	v->vip_id = be->vip_id;
	v->backend_id = f->backend_id;
	return 0;
}

/* The client -> VIP key of the connection a backend's packet k replies to, for VIP e. */
static __always_inline void flow_key_of_reply(const struct veer_flow_key *k,
					      const struct veer_be_vip *e, struct veer_flow_key *fk)
{
	fk->saddr = k->daddr;
	fk->daddr = e->vip_addr;
	fk->sport = k->dport;
	fk->dport = e->vip_port;
	fk->proto = k->proto;
	fk->family = k->family;
}

/*
 * The flow a backend's packet k replies to if it is one of VIP e's: an entry of e's slot. Only
 * an entry whose backend is this one counts, so a client that also talks to the backend directly
 * keeps its replies as they are. Fills v (the hop: the flow's own, toward the client).
 */
static __always_inline struct veer_flow *reply_try(const struct veer_flow_key *k,
						   const struct veer_be_vip *e, struct flow_view *v)
{
	struct veer_flow_key fk = {};
	struct veer_backend *be;
	struct veer_flow *f;
	bool handshake = false;

	flow_key_of_reply(k, e, &fk);
	f = flow_lookup(&fk);
	if (!f && k->proto == IPPROTO_TCP) {
		f = syn_lookup(&fk);
		handshake = true;
	}
	if (!f || f->backend_id != e->backend_id ||
	    flow_expired(f, k->proto, handshake, bpf_ktime_get_coarse_ns()))
		return NULL;
	be = flow_backend(f);
	if (!be)
		return NULL;
	v->addr = e->vip_addr;
	v->port = e->vip_port;
	v->hop = f->reply_hop;
	v->reply = true;
	v->vip_id = be->vip_id;
	v->backend_id = f->backend_id;
	return f;
}

/*
 * bpf_loop's state over the VIPs of a shared backend: verified once, whatever their number. The
 * callbacks only look and leave scalars behind (the entry that matched): pointers written into
 * the caller's frame would keep the verifier from seeing the loop converge.
 */
struct be_vips_walk {
	const struct veer_flow_key *k; /* the reply's tuple, backend -> client */
	struct veer_be_vips *idx;
	__u32 skip_id; /* reply_clash: the new flow's own slot */
	__u32 hit;     /* the first entry with an established, not closing, connection */
	__u32 other;   /* the first with a handshake or a closing one; VEER_BE_VIPS_MAX: none */
};

enum reply_state {
	REPLY_NONE,
	REPLY_OTHER,	   /* a handshake, or a closing connection */
	REPLY_ESTABLISHED, /* past its handshake, not closing */
};

/* Which live flow of VIP e, if any, the backend's packet k replies to (in a bpf_loop callback). */
static __always_inline enum reply_state reply_flow_state(const struct veer_flow_key *k,
							 const struct veer_be_vip *e, __u64 now)
{
	/* One buffer for either key: the callback's stack adds to the program's. */
	union {
		struct veer_flow_key k6;
		struct veer_flow4_key k4;
	} key = {};
	struct veer_flow *f;
	bool handshake = false;

	if (k->family == VEER_AF_INET6) {
		flow_key_of_reply(k, e, &key.k6);
		f = bpf_map_lookup_elem(&veer_flows6, &key.k6);
		if (!f && k->proto == IPPROTO_TCP) {
			f = bpf_map_lookup_elem(&veer_syns6, &key.k6);
			handshake = true;
		}
	} else {
		key.k4.saddr = k->daddr.v4;
		key.k4.daddr = e->vip_addr.v4;
		key.k4.sport = k->dport;
		key.k4.dport = e->vip_port;
		key.k4.proto = k->proto;
		f = bpf_map_lookup_elem(&veer_flows4, &key.k4);
		if (!f && k->proto == IPPROTO_TCP) {
			f = bpf_map_lookup_elem(&veer_syns4, &key.k4);
			handshake = true;
		}
	}
	if (!f || f->backend_id != e->backend_id || !flow_backend(f) ||
	    flow_expired(f, k->proto, handshake, now))
		return REPLY_NONE;
	return handshake || (f->flags & VEER_FLOW_CLOSING) ? REPLY_OTHER : REPLY_ESTABLISHED;
}

static long reply_walk_step(__u32 i, void *arg)
{
	struct be_vips_walk *w = arg;

	if (i >= w->idx->count || i >= VEER_BE_VIPS_MAX)
		return 1;
	if (w->idx->vips[i].backend_id == w->skip_id)
		return 0;
	switch (reply_flow_state(w->k, &w->idx->vips[i], bpf_ktime_get_coarse_ns())) {
	case REPLY_ESTABLISHED:
		w->hit = i;
		return 1;
	case REPLY_OTHER:
		if (w->other == VEER_BE_VIPS_MAX)
			w->other = i;
		return 0;
	default:
		return 0;
	}
}

/*
 * The first entry of idx but skip_id's with an established connection k replies to, and in
 * *other the first with a handshake or a closing one; VEER_BE_VIPS_MAX where there is none.
 */
static __always_inline __u32 reply_walk(const struct veer_flow_key *k, struct veer_be_vips *idx,
					__u32 skip_id, __u32 *other)
{
	struct be_vips_walk w = {};

	w.k = k;
	w.idx = idx;
	w.skip_id = skip_id;
	w.hit = VEER_BE_VIPS_MAX;
	w.other = VEER_BE_VIPS_MAX;
	bpf_loop(VEER_BE_VIPS_MAX, reply_walk_step, &w, 0);
	*other = w.other;
	return w.hit;
}

/*
 * A backend's packet k (backend -> client): the flow it replies to, tried against each VIP its
 * address:port serves: at once when it serves one (the common case), else through bpf_loop. A flow
 * idle past its timeout is no flow, in either direction (a reply refreshes it, so traffic one way
 * only keeps it alive).
 */
static __always_inline struct veer_flow *reply_find(const struct veer_flow_key *k,
						    struct flow_view *v)
{
	struct veer_be_key bk = {};
	struct veer_be_vips *idx;
	__u32 hit, other;

	bk.addr = k->saddr;
	bk.port = k->sport;
	bk.proto = k->proto;
	bk.family = k->family;
	idx = bpf_map_lookup_elem(&veer_be_index, &bk);
	if (!idx || !idx->count)
		return NULL;
	if (idx->count == 1)
		return reply_try(k, &idx->vips[0], v);
	/*
	 * A shared backend: an established connection comes first, since the backend has one
	 * connection per address and port pair, the newest; a closing one is an old connection's
	 * leftover, a handshake not yet a connection.
	 */
	hit = reply_walk(k, idx, VEER_NO_BACKEND, &other);
	if (hit >= VEER_BE_VIPS_MAX)
		hit = other;
	return hit < VEER_BE_VIPS_MAX ? reply_try(k, &idx->vips[hit], v) : NULL;
}

/*
 * Any packet's flow, either direction, for the paths that only follow flows (ICMP errors, later
 * fragments): a packet to a VIP by its own tuple (*be: the flow's backend), else a backend's
 * reply (*be NULL, v filled). Creates and refreshes nothing: flow_found_view does, once the
 * packet's source is one a next-hop lookup may be made with.
 */
static __always_inline struct veer_flow *flow_find(const struct veer_flow_key *k,
						   struct flow_view *v, struct veer_backend **be)
{
	struct veer_flow *f;

	*be = NULL;
	if (!vip_lookup(k))
		return reply_find(k, v);
	f = flow_lookup(k);
	if (!f && k->proto == IPPROTO_TCP)
		f = syn_lookup(k);
	if (!f)
		return NULL;
	*be = flow_backend(f);
	return *be ? f : NULL;
}

/*
 * The view of a flow flow_find found: toward the backend, its next hop resolved by this CPU if
 * it has none or an old one. The lookup is made with the packet's source, and its answer serves
 * every flow of the backend until the next refresh: a martian source (an IPv6 link-local,
 * multicast or loopback one answers no lookup) must have been refused before. 0 or the negated
 * reason.
 */
static __always_inline int flow_found_view(void *ctx, const enum veer_hook hook,
					   const struct packet *p, const struct veer_flow *f,
					   const struct veer_backend *be, struct flow_view *v)
{
	if (!be)
		return 0;
	return view_forward(ctx, hook, p, f, be, bpf_ktime_get_coarse_ns(), v);
}

/*
 * A new flow's replies come from its backend's address:port to the client's. If that backend
 * serves other VIPs too, an established flow from the same client address and port to one of
 * them would have the very same replies (clients behind carrier-grade NAT reuse ports across
 * destinations), and the backend could not tell the two apart either: the new flow is refused
 * (reply_clash) and the first keeps its state. Only an established connection that is not
 * closing counts: a handshake may be a spoofed SYN, which would otherwise block the client's
 * port, and a closed connection is done with it.
 */
static __always_inline bool reply_clash(const struct packet *p, const struct veer_backend *be,
					__u32 id)
{
	struct veer_be_key bk = {};
	struct veer_flow_key rk = {};
	struct veer_be_vips *idx;
	__u32 other;

	bk.addr = be->addr;
	bk.port = be->port;
	bk.proto = p->key.proto;
	bk.family = p->key.family;
	idx = bpf_map_lookup_elem(&veer_be_index, &bk);
	if (!idx)
		return false;
	/* The reply's tuple: backend -> client. */
	rk.saddr = be->addr;
	rk.daddr = p->key.saddr;
	rk.sport = be->port;
	rk.dport = p->key.sport;
	rk.proto = p->key.proto;
	rk.family = p->key.family;
	return reply_walk(&rk, idx, id, &other) < VEER_BE_VIPS_MAX;
}

#define VEER_EEXIST 17

/*
 * Schedules a new flow: Maglev (or affinity) picks the backend, and the entry goes to the
 * handshake table for a SYN, to the connection table otherwise. Fills *f and *be; returns 1
 * for a new flow, 0 for a SYN sent again whose handshake keeps its backend, or -reason.
 *
 * A SYN's entry is inserted only if none is there: the insert looks the key up anyway, so a
 * flood of new SYNs pays nothing for it, and a retransmitted SYN finds its handshake.
 */
static __always_inline int flow_create(const struct packet *p, const struct veer_vip *vip,
				       __u64 now, struct veer_flow *f, struct veer_backend **bep)
{
	struct veer_backend *be, *sb;
	struct veer_flow *s;
	__u32 id;
	int err;

	id = pick_backend(p, vip, now);
	be = bpf_map_lookup_elem(&veer_backends, &id);
	if (!be || !(be->flags & VEER_BACKEND_ACTIVE))
		return -VEER_DROP_NO_BACKEND;
	if ((be->flags & VEER_BACKEND_SHARED) && reply_clash(p, be, id))
		return -VEER_DROP_REPLY_CLASH;
	f->backend_id = id;
	f->backend_gen = be->gen;
	f->last_seen = now;
	/* A stray FIN or RST makes no long-lived state: it lives as a closing connection. */
	f->flags = tcp_fin_or_rst(p) ? VEER_FLOW_CLOSING : 0;
	*bep = be;
	if (!tcp_is_syn(p))
		return flow_insert(&p->key, f, BPF_ANY) ? -VEER_DROP_FLOW_FULL : 1;
	err = syn_insert(&p->key, f, BPF_NOEXIST);
	if (err != -VEER_EEXIST)
		return err ? -VEER_DROP_FLOW_FULL : 1;
	/* The same SYN again: it stays where the first went while that backend takes flows. */
	s = syn_lookup(&p->key);
	sb = s ? flow_backend(s) : NULL;
	if (sb && backend_takes_new_flows(sb, vip->id) && !(s->flags & VEER_FLOW_CLOSING) &&
	    !flow_expired(s, IPPROTO_TCP, true, now)) {
		*f = *s;
		*bep = sb;
		return 0;
	}
	return syn_insert(&p->key, f, BPF_ANY) ? -VEER_DROP_FLOW_FULL : 1;
}

/*
 * The next hop toward the client, resolved by the flow's first reply and refreshed every
 * VEER_FLOW_REFRESH_NS: a write to the entry only then.
 */
static __always_inline void reply_refresh(void *ctx, const enum veer_hook hook,
					  const struct packet *p, struct veer_flow *f,
					  struct flow_view *v, __u64 now)
{
	if (!f->hop_resolved || now - f->hop_resolved > VEER_FLOW_REFRESH_NS) {
		hop_resolve(ctx, hook, p, &f->reply_hop, &v->addr, &p->key.daddr, p->v6);
		f->hop_resolved = now;
		v->hop = f->reply_hop;
	}
	if (now - f->last_seen > VEER_FLOW_REFRESH_NS)
		f->last_seen = now;
	flow_mark_closing(p, f, now);
}

#endif
