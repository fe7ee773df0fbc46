/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fragmented datagrams: UDP larger than the MTU (DNS with EDNS0, QUIC, syslog), rarely TCP.
 * Only the first fragment carries the ports, so a datagram's later fragments find their flow
 * through it: the first fragment is balanced like any packet of its 5-tuple and records its
 * ports in veer_frags under the datagram's identity (addresses, protocol, IP id, as it
 * arrives); a later fragment looks them up, completes its 5-tuple with them and follows that
 * flow, its address rewritten as the first fragment's was. There is no L4 header to touch: the
 * L4 checksum covers the whole datagram and lies in the first fragment, whose incremental
 * update stays exact for the reassembled datagram. A backend's fragmented reply works alike,
 * keyed by the backend's addresses.
 *
 * Fragments are never held or reordered: a later fragment that arrives before its first one,
 * or of a datagram that is not veer's, is passed untouched (fragment_tail). A VIP datagram
 * then cannot be reassembled by its backend and is lost, as on a path that drops a fragment.
 */
#ifndef VEER_BPF_FRAG_H
#define VEER_BPF_FRAG_H

#include "conntrack.h"
#include "nat.h"
#include "encap.h"
#include "stats.h"
#include "hygiene.h"

static __always_inline void frag_key(const struct packet *p, struct veer_frag_key *k)
{
	k->saddr = p->key.saddr;
	k->daddr = p->key.daddr;
	k->id = p->frag_id;
	k->proto = p->frag_proto;
	k->family = p->key.family;
}

/*
 * The first fragment of a datagram of a flow: records its ports. A datagram that cannot be
 * recorded (the LRU found no entry to take) could not be delivered whole: -VEER_DROP_FRAGMENT.
 */
static __always_inline int frag_record(const struct packet *p, __u64 now)
{
	struct veer_frag_key k = {};
	struct veer_frag v = {};

	frag_key(p, &k);
	v.sport = p->key.sport;
	v.dport = p->key.dport;
	v.proto = p->key.proto;
	v.created = now;
	return bpf_map_update_elem(&veer_frags, &k, &v, BPF_ANY) ? -VEER_DROP_FRAGMENT : 0;
}

/*
 * A later fragment, as parse_packet left it (-VEER_PASS_FRAGMENT: addresses, protocol and IP
 * id, no ports). Forwarded with its flow, counted in the flow's VIP and backend counters and as
 * fragment_fwd, whether veer redirects it or the stack routes it; what nat_forward would do
 * otherwise (TTL expiring, too big) is done and counted as for any packet.
 */
static __always_inline int frag_forward(void *ctx, const enum veer_hook hook, struct packet *p)
{
	struct veer_frag_key k = {};
	struct veer_frag *r;
	struct flow_view *v = flow_view_scratch();
	struct veer_backend *be;
	struct veer_flow *f;
	bool fwd;
	int rc;

	frag_key(p, &k);
	r = bpf_map_lookup_elem(&veer_frags, &k);
	if (!r || bpf_ktime_get_coarse_ns() - r->created > VEER_FRAG_TIMEOUT_NS)
		return -VEER_PASS_FRAGMENT;
	/* Only TCP/UDP first fragments are recorded: r->proto is one of them. */
	p->key.proto = r->proto;
	p->key.sport = r->sport;
	p->key.dport = r->dport;
	/*
	 * The source is the flow's own client, which passed the martian check when the flow was
	 * made: the next hop may be resolved with it before the checks below.
	 */
	f = v ? flow_find(&p->key, v, &be) : NULL;
	if (!f || flow_found_view(ctx, hook, p, f, be, v))
		return -VEER_PASS_FRAGMENT;
	/* As for the first fragment: nothing counted or rewritten that the stack must see as is. */
	rc = hygiene_l3(p);
	if (rc)
		return rc;
	fwd = be != NULL;
	count_flow(&veer_vip_stats, v->vip_id, p->len, v->reply, false);
	count_flow(&veer_be_stats, v->backend_id, p->len, v->reply, false);
	/* A DSR flow's fragment goes whole, encapsulated or to the backend's MAC. */
	if (fwd && v->mode != VEER_MODE_NAT)
		rc = dsr_forward(ctx, hook, p, v, &p->key, false);
	else
		rc = nat_forward_addr(ctx, hook, p, v);
	if (rc == -VEER_PASS_STACK)
		return -VEER_FWD_FRAGMENT; /* not a drop: passed to the stack, rewritten */
	if (rc >= 0)
		count_reason(VEER_FWD_FRAGMENT);
	return rc;
}

#endif
