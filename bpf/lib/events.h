/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data plane's events: records in the veer_events ring buffer (include/veer/abi.h) for
 * veerd and `veer events`. Three kinds, each off the established path:
 *
 *   flow_new    a sampled new flow and its backend: looked at only when a flow is made, and
 *               then one compare while sampling is off (the default)
 *   drop_burst  a drop reason counted event_drop_burst times within a second: looked at only
 *               for a dropped packet, one compare while off (the default)
 *   table_full  a table refused a new entry: once a second per table and family
 *
 * A record that finds the ring full is counted as lost (veer_ev_stats) and the packet goes on
 * as it would have: an event never costs a packet.
 */
#ifndef VEER_BPF_EVENTS_H
#define VEER_BPF_EVENTS_H

#include "maps.h"
#include "parse.h"

#define VEER_NSEC_PER_SEC 1000000000ULL

static __always_inline const struct veer_settings *settings_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&veer_settings, &zero);
}

static __always_inline void event_count(__u32 type, bool lost)
{
	struct veer_event_count *c = bpf_map_lookup_elem(&veer_ev_stats, &type);

	if (!c)
		return;
	if (lost)
		c->lost++;
	else
		c->emitted++;
}

/* A record of size bytes with its header filled, or NULL (counted lost) when the ring is full. */
static __always_inline void *event_reserve(__u32 size, __u32 type)
{
	struct veer_event_hdr *h = bpf_ringbuf_reserve(&veer_events, size, 0);

	if (!h) {
		event_count(type, true);
		return NULL;
	}
	h->time_ns = bpf_ktime_get_ns();
	h->type = type;
	h->len = size;
	h->cpu = bpf_get_smp_processor_id();
	return h;
}

/*
 * A reader is woken when the records waiting cross VEER_EVENTS_WAKEUP_BYTES, and at once for
 * the rare kinds (urgent: drop bursts and full tables, a few a second at most), not for every
 * record: a reader that keeps up would otherwise be woken by each new flow, an interrupt and a
 * context switch (microseconds) on the packet's own path. Readers also look every
 * VEER_EVENTS_POLL_MS, which bounds how long a record of a quiet stream waits.
 */
static __always_inline void event_submit(void *rec, __u32 type, bool urgent)
{
	__u64 flags = BPF_RB_FORCE_WAKEUP;

	if (!urgent) {
		/* This record included: wake only the record that crosses the mark. */
		__u64 avail = bpf_ringbuf_query(&veer_events, BPF_RB_AVAIL_DATA);
		__u32 len = ((struct veer_event_hdr *)rec)->len + 8; /* the ring's own header */

		if (avail < VEER_EVENTS_WAKEUP_BYTES || avail - len >= VEER_EVENTS_WAKEUP_BYTES)
			flags = BPF_RB_NO_WAKEUP;
	}
	bpf_ringbuf_submit(rec, flags);
	event_count(type, false);
}

/*
 * A new flow (flow_create said so) sent to v's backend. Sampling is decided by
 * bpf_get_prandom_u32(), not by a hash of the tuple: a client cannot choose ports to be
 * reported or hidden.
 */
static __always_inline void event_flow_new(void *ctx, const enum veer_hook hook,
					   const struct packet *p, const struct flow_view *v)
{
	const struct veer_settings *s = settings_get();
	struct veer_event_flow *e;
	__u32 n;

	if (!s)
		return;
	n = s->event_sample;
	if (likely(!n))
		return;
	if (n > 1 && bpf_get_prandom_u32() % n)
		return;
	e = event_reserve(sizeof(*e), VEER_EVENT_FLOW_NEW);
	if (!e)
		return;
	e->key = p->key;
	e->backend = v->addr;
	e->backend_port = v->port;
	e->backend_family = v->family;
	e->mode = v->mode;
	e->vip_id = v->vip_id;
	e->backend_id = v->backend_id;
	e->ifindex = ctx_ifindex(ctx, hook);
	event_submit(e, VEER_EVENT_FLOW_NEW, false);
}

static __always_inline void event_drop_emit(void *ctx, const enum veer_hook hook,
					    const struct veer_flow_key *k, __u32 reason,
					    __u32 threshold, __u32 count)
{
	struct veer_event_drop *e = event_reserve(sizeof(*e), VEER_EVENT_DROP_BURST);

	if (!e)
		return;
	e->key = *k;
	e->reason = reason;
	e->threshold = threshold;
	e->count = count;
	e->ifindex = ctx_ifindex(ctx, hook);
	event_submit(e, VEER_EVENT_DROP_BURST, true);
}

/*
 * A dropped packet of reason: counted toward the reason's second, and reported by the one drop
 * that takes the second's count to the threshold. This CPU's drops go to the shared word in
 * batches (struct veer_event_drop in abi.h); the word's second and count change together, so
 * that one CPU starts a second (compare-and-swap) and every later batch adds to it, and the
 * count passes the threshold exactly once a second.
 */
static __always_inline void event_drop(void *ctx, const enum veer_hook hook,
				       const struct veer_flow_key *k, __u32 reason)
{
	const struct veer_settings *s = settings_get();
	struct veer_ev_pending *pc;
	__u32 t, sec, batch, n;
	__u64 *word, old, before, now;

	if (!s)
		return;
	t = s->event_drop_burst;
	if (likely(!t))
		return;
	pc = bpf_map_lookup_elem(&veer_ev_dropcpu, &reason);
	if (!pc)
		return;
	/* The second's number, divided out once a second per CPU, not per drop. */
	now = bpf_ktime_get_coarse_ns();
	if (now >= pc->end_ns) {
		pc->sec = now / VEER_NSEC_PER_SEC;
		pc->end_ns = ((__u64)pc->sec + 1) * VEER_NSEC_PER_SEC;
		pc->pending = 0;
	}
	sec = pc->sec;
	batch = t >> 6;
	if (batch > VEER_EVENT_DROP_BATCH_MAX)
		batch = VEER_EVENT_DROP_BATCH_MAX;
	n = ++pc->pending;
	if (n < batch)
		return;
	pc->pending = 0;
	word = bpf_map_lookup_elem(&veer_ev_drops, &reason);
	if (!word)
		return;
	old = *(volatile __u64 *)word;
	if ((__u32)(old >> 32) != sec &&
	    __sync_val_compare_and_swap(word, old, ((__u64)sec << 32) | n) == old) {
		before = 0;
	} else {
		before = __sync_fetch_and_add(word, n);
		/* The word still held an earlier second: these drops are lost with it. */
		if ((__u32)(before >> 32) != sec)
			return;
		before &= 0xffffffffULL;
	}
	if (before < t && before + n >= t)
		event_drop_emit(ctx, hook, k, reason, t, before + n);
}

/*
 * A table refused the new entry of flow k (of VIP vip_id): reported once a second per table
 * and family, by the CPU whose compare-and-swap moves the table's second.
 */
static __always_inline void event_table_full(void *ctx, const enum veer_hook hook,
					     const struct veer_flow_key *k, __u32 table,
					     __u32 vip_id)
{
	__u32 slot = table * 2 + (k->family == VEER_AF_INET6);
	struct veer_event_table_full *e;
	__u64 *last, sec, old;

	last = bpf_map_lookup_elem(&veer_ev_full, &slot);
	if (!last)
		return;
	sec = bpf_ktime_get_coarse_ns() / VEER_NSEC_PER_SEC;
	old = *(volatile __u64 *)last;
	/* sec + 1: a map's zero means never, which second 0 of the clock would look like. */
	if (old == sec + 1 || __sync_val_compare_and_swap(last, old, sec + 1) != old)
		return;
	e = event_reserve(sizeof(*e), VEER_EVENT_TABLE_FULL);
	if (!e)
		return;
	e->key = *k;
	e->table = table;
	e->vip_id = vip_id;
	e->ifindex = ctx_ifindex(ctx, hook);
	e->pad = 0;
	event_submit(e, VEER_EVENT_TABLE_FULL, true);
}

#endif
