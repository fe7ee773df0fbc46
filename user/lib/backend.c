// SPDX-License-Identifier: GPL-2.0
/*
 * Backends of a VIP. Each is one slot of veer_backends; a removed backend's slot is reused
 * last, so flows still counted against it keep their stats meaningful for as long as possible.
 *
 * A slot carries its VIP's mode (VEER_BACKEND_MODE_FLAGS). A DSR backend (dsr-ipip, dsr-l2)
 * receives the packet as the client sent it, so it listens on the VIP's port; it answers the
 * client itself, so it is never in veer_be_index: an address:port that also serves NAT VIPs
 * has its replies to those found as if it served them alone.
 *
 * Every change goes through a struct veer_slots, which holds what a change needs to know of the
 * whole table (the free slots by age, each VIP's slots, the addresses:ports to re-index) so that
 * one command and an apply of ten thousand backends share the same slot logic, and an apply
 * publishes each VIP's table once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "internal.h"

/* An address:port of backends: what veer_be_index is keyed by, protocols apart. */
struct veer_slot_ep {
	union veer_addr addr;
	__be16 port;
	__u8 family;
	__u8 pad;
};

struct backend_ctx {
	struct veer_vip_key key;
	struct veer_vip vip;
	char vip_name[VEER_ADDR_STRLEN];
	char be_name[VEER_ADDR_STRLEN];
};

static struct veer_slot_ep slot_ep(const struct veer_backend *be)
{
	struct veer_slot_ep e = {.addr = be->addr, .port = be->port, .family = be->family};

	return e;
}

static bool backend_is_dsr(const struct veer_backend *be)
{
	return VEER_BACKEND_MODE(be->flags) != VEER_MODE_NAT;
}

static bool backend_at(const struct veer_backend *be, const union veer_addr *addr, __be16 port,
		       __u8 family)
{
	return veer_backend_serves(be) && be->family == family && be->port == port &&
	       !memcmp(&be->addr, addr, sizeof(*addr));
}

static bool backend_is(const struct veer_backend *be, __u32 vip_id, const struct veer_endpoint *ep)
{
	return (be->flags & VEER_BACKEND_ACTIVE) && be->vip_id == vip_id &&
	       backend_at(be, &ep->addr, ep->port, ep->family);
}

/* ---- the reply index ---- */

/*
 * Writes veer_be_index for one address:port, both protocols, from the slots in ids (those
 * serving there; others are skipped), and marks the slots SHARED when they serve more than one
 * VIP of a protocol, for the data plane's clash check. vips names the VIPs by id. Entries are
 * in slot order and written only when they differ, so that a rewrite of an unchanged address
 * writes nothing.
 */
static int index_write(struct bpf_map *vips_map, struct bpf_map *backends, struct bpf_map *index,
		       struct bpf_map *svc, struct veer_backend *table,
		       const struct veer_vip_ent *vips, const __u32 *ids, size_t n,
		       const struct veer_slot_ep *ep)
{
	static const __u8 protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	int err = 0;

	for (size_t p = 0; !err && p < sizeof(protos); p++) {
		struct veer_be_key bk = {.addr = ep->addr,
					 .port = ep->port,
					 .proto = protos[p],
					 .family = ep->family};
		struct veer_be_vips val = {}, cur = {};
		bool have;

		for (size_t i = 0; i < n; i++) {
			const struct veer_backend *be = &table[ids[i]];
			const struct veer_vip_ent *ve;

			if (!backend_at(be, &ep->addr, ep->port, ep->family) ||
			    be->vip_id >= VEER_MAX_VIPS || backend_is_dsr(be))
				continue;
			ve = &vips[be->vip_id];
			if (!ve->used || ve->key.proto != protos[p])
				continue;
			if (val.count == VEER_BE_VIPS_MAX)
				return -E2BIG;
			val.vips[val.count].vip_addr = ve->key.addr;
			val.vips[val.count].vip_port = ve->key.port;
			val.vips[val.count].backend_id = ids[i];
			val.count++;
		}
		for (__u32 i = 0; !err && i < val.count; i++) {
			__u32 id = val.vips[i].backend_id;
			struct veer_backend be = table[id];

			be.flags &= ~VEER_BACKEND_SHARED;
			if (val.count > 1)
				be.flags |= VEER_BACKEND_SHARED;
			if (be.flags == table[id].flags)
				continue;
			err = veer_map_update(backends, &id, sizeof(id), &be, sizeof(be), BPF_ANY);
			if (!err)
				table[id] = be;
		}
		if (err)
			break;
		have = !bpf_map__lookup_elem(index, &bk, sizeof(bk), &cur, sizeof(cur), 0);
		if (val.count && (!have || memcmp(&cur, &val, sizeof(val))))
			err = veer_map_update(index, &bk, sizeof(bk), &val, sizeof(val), BPF_ANY);
		else if (!val.count && have &&
			 (err = veer_map_delete(index, &bk, sizeof(bk))) == -ENOENT)
			err = 0;
		/* After the index: a reply's filter bit never names a backend the index lacks. */
		if (!err)
			err = veer_svc_sync(vips_map, index, svc, &ep->addr, ep->port, protos[p],
					    ep->family);
	}
	return err;
}

/*
 * Rewrites veer_be_index for one backend address:port from the whole table. Recounted rather
 * than patched, like veer_vip_addr_sync: a command that died half-way is repaired by the next.
 * Takes maps, not a handle, so that the unit tests' private maps are kept by this same code.
 */
int veer_be_index_sync(struct bpf_map *vips, struct bpf_map *backends, struct bpf_map *index,
		       struct bpf_map *svc, struct veer_backend *table, const union veer_addr *addr,
		       __be16 port, __u8 family)
{
	struct veer_vip_ent *ents = calloc(VEER_MAX_VIPS, sizeof(*ents));
	__u32 *ids = calloc(VEER_MAX_BACKENDS, sizeof(*ids));
	struct veer_slot_ep ep = {.addr = *addr, .port = port, .family = family};
	struct veer_vip_key key, cur, *prev = NULL;
	struct veer_vip vip;
	size_t n = 0;
	int err = -ENOMEM;

	if (!ents || !ids)
		goto cleanup;
	/* The index names VIPs by address and port, which is what a reply's flow is keyed by. */
	while (!bpf_map__get_next_key(vips, prev, &key, sizeof(key))) {
		if (!bpf_map__lookup_elem(vips, &key, sizeof(key), &vip, sizeof(vip), 0) &&
		    vip.id < VEER_MAX_VIPS) {
			ents[vip.id].key = key;
			ents[vip.id].used = true;
		}
		cur = key;
		prev = &cur;
	}
	for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++)
		if (backend_at(&table[id], addr, port, family))
			ids[n++] = id;
	err = index_write(vips, backends, index, svc, table, ents, ids, n, &ep);
cleanup:
	free(ids);
	free(ents);
	return err;
}

/* ---- struct veer_slots ---- */

static bool heap_less(__u64 a, __u64 b)
{
	return a < b;
}

static int heap_push(struct veer_slots *s, __u32 seq, __u32 id)
{
	size_t i;

	if (s->nheap == s->capheap) {
		size_t cap = s->capheap ? 2 * s->capheap : 1024;
		__u64 *h = realloc(s->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		s->heap = h;
		s->capheap = cap;
	}
	i = s->nheap++;
	s->heap[i] = (__u64)seq << 32 | id;
	while (i && heap_less(s->heap[i], s->heap[(i - 1) / 2])) {
		__u64 t = s->heap[i];

		s->heap[i] = s->heap[(i - 1) / 2];
		s->heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
	return 0;
}

static __u64 heap_pop(struct veer_slots *s)
{
	__u64 top = s->heap[0];
	size_t i = 0;

	s->heap[0] = s->heap[--s->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		__u64 t;

		if (l < s->nheap && heap_less(s->heap[l], s->heap[m]))
			m = l;
		if (r < s->nheap && heap_less(s->heap[r], s->heap[m]))
			m = r;
		if (m == i)
			break;
		t = s->heap[i];
		s->heap[i] = s->heap[m];
		s->heap[m] = t;
		i = m;
	}
	return top;
}

/*
 * A slot another backend may take: not active, or active for a VIP that no longer exists (left
 * by a change that died half-way; veer_vip_alloc_id never hands out such a VIP's id).
 */
static bool slot_free(const struct veer_slots *s, __u32 id)
{
	const struct veer_backend *be = &s->table[id];

	return !(be->flags & VEER_BACKEND_ACTIVE) || be->vip_id >= VEER_MAX_VIPS ||
	       !s->v->vips[be->vip_id].used;
}

int veer_slots_begin(struct veer *v, struct veer_slots *s)
{
	__u32 *count = NULL;
	int err = -ENOMEM;

	memset(s, 0, sizeof(*s));
	s->v = v;
	if (!veer_backends_get(v) || !veer_vips_get(v))
		return -EIO;
	s->table = v->backends;
	s->by_vip = calloc(VEER_MAX_BACKENDS, sizeof(*s->by_vip));
	s->by_vip_start = calloc(VEER_MAX_VIPS + 1, sizeof(*s->by_vip_start));
	s->named = calloc(VEER_MAX_VIPS, sizeof(*s->named));
	count = calloc(VEER_MAX_VIPS, sizeof(*count));
	if (!s->by_vip || !s->by_vip_start || !s->named || !count)
		goto fail;
	/* Each VIP's serving slots, grouped by a counting sort; the free ones into the heap. */
	for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++) {
		const struct veer_backend *be = &s->table[id];

		if (be->seq >= s->next_seq)
			s->next_seq = be->seq + 1;
		if (veer_backend_serves(be) && be->vip_id < VEER_MAX_VIPS)
			s->named[be->vip_id] = true;
		if (veer_backend_serves(be) && be->vip_id < VEER_MAX_VIPS &&
		    v->vips[be->vip_id].used)
			count[be->vip_id]++;
	}
	for (__u32 i = 0; i < VEER_MAX_VIPS; i++)
		s->by_vip_start[i + 1] = s->by_vip_start[i] + count[i];
	memset(count, 0, VEER_MAX_VIPS * sizeof(*count));
	for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++) {
		const struct veer_backend *be = &s->table[id];

		if (veer_backend_serves(be) && be->vip_id < VEER_MAX_VIPS &&
		    v->vips[be->vip_id].used)
			s->by_vip[s->by_vip_start[be->vip_id] + count[be->vip_id]++] = id;
		if (slot_free(s, id) && heap_push(s, be->seq, id))
			goto fail;
	}
	free(count);
	return 0;
fail:
	free(count);
	veer_slots_end(s);
	return err;
}

void veer_slots_end(struct veer_slots *s)
{
	free(s->heap);
	free(s->by_vip);
	free(s->by_vip_start);
	free(s->named);
	free(s->touched);
	memset(s, 0, sizeof(*s));
}

size_t veer_slots_of(struct veer_slots *s, __u32 vip_id, __u32 *out)
{
	size_t n = 0;

	if (vip_id >= VEER_MAX_VIPS)
		return 0;
	for (__u32 i = s->by_vip_start[vip_id]; i < s->by_vip_start[vip_id + 1]; i++) {
		const struct veer_backend *be = &s->table[s->by_vip[i]];

		if (veer_backend_serves(be) && be->vip_id == vip_id)
			out[n++] = s->by_vip[i];
	}
	return n;
}

size_t veer_slots_count(const struct veer_slots *s, __u32 vip_id)
{
	return vip_id < VEER_MAX_VIPS ? s->by_vip_start[vip_id + 1] - s->by_vip_start[vip_id] : 0;
}

int veer_slots_find(struct veer_slots *s, __u32 vip_id, const struct veer_endpoint *ep, __u32 *id)
{
	if (vip_id >= VEER_MAX_VIPS)
		return -ENOENT;
	for (__u32 i = s->by_vip_start[vip_id]; i < s->by_vip_start[vip_id + 1]; i++) {
		if (backend_is(&s->table[s->by_vip[i]], vip_id, ep)) {
			*id = s->by_vip[i];
			return 0;
		}
	}
	return -ENOENT;
}

int veer_slots_pick(struct veer_slots *s, __u32 vip_id, const struct veer_endpoint *ep, __u32 *id,
		    bool *revive)
{
	/*
	 * A slot this backend was removed from and whose flows still finish on it is taken back
	 * as it is: those flows stay its own.
	 */
	for (__u32 i = vip_id < VEER_MAX_VIPS ? s->by_vip_start[vip_id] : 0;
	     vip_id < VEER_MAX_VIPS && i < s->by_vip_start[vip_id + 1]; i++) {
		const struct veer_backend *be = &s->table[s->by_vip[i]];

		if ((be->flags & VEER_BACKEND_REMOVED) && !(be->flags & VEER_BACKEND_ACTIVE) &&
		    be->vip_id == vip_id && backend_at(be, &ep->addr, ep->port, ep->family)) {
			*id = s->by_vip[i];
			*revive = true;
			return 0;
		}
	}
	/* The free slot that changed longest ago; never-used slots have seq 0. */
	while (s->nheap) {
		__u64 top = heap_pop(s);
		__u32 slot = (__u32)top, seq = top >> 32;

		/* Entries go stale when their slot is taken or changes after they were pushed. */
		if (slot_free(s, slot) && s->table[slot].seq == seq) {
			*id = slot;
			*revive = false;
			return 0;
		}
	}
	return -ENOSPC;
}

__u32 veer_slots_seq(struct veer_slots *s)
{
	return s->next_seq++;
}

static int touch(struct veer_slots *s, const struct veer_backend *be)
{
	if (s->ntouched == s->captouched) {
		size_t cap = s->captouched ? 2 * s->captouched : 64;
		struct veer_slot_ep *t = realloc(s->touched, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		s->touched = t;
		s->captouched = cap;
	}
	s->touched[s->ntouched++] = slot_ep(be);
	return 0;
}

/* What the reply index reads of a slot: serving, where, for which VIP, in which mode. */
static bool index_differs(const struct veer_backend *a, const struct veer_backend *b)
{
	struct veer_slot_ep ea = slot_ep(a), eb = slot_ep(b);

	return veer_backend_serves(a) != veer_backend_serves(b) || a->vip_id != b->vip_id ||
	       backend_is_dsr(a) != backend_is_dsr(b) || memcmp(&ea, &eb, sizeof(ea));
}

int veer_slots_put(struct veer_slots *s, __u32 id, const struct veer_backend *be)
{
	struct veer_backend old = s->table[id];
	int err;

	err = veer_backend_put(s->v, id, be);
	if (err)
		return err;
	if (index_differs(&old, be)) {
		if (veer_backend_serves(&old))
			err = touch(s, &old);
		if (!err && veer_backend_serves(be))
			err = touch(s, be);
	}
	if (!err && slot_free(s, id))
		err = heap_push(s, be->seq, id);
	return err;
}

static int ep_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct veer_slot_ep));
}

struct ep_slot {
	struct veer_slot_ep ep;
	__u32 id;
};

static int ep_slot_cmp(const void *a, const void *b)
{
	const struct ep_slot *x = a, *y = b;
	int d = ep_cmp(&x->ep, &y->ep);

	return d ? d : (x->id > y->id) - (x->id < y->id);
}

int veer_slots_index(struct veer_slots *s)
{
	struct lb *skel = s->v->skel;
	struct ep_slot *all = NULL;
	__u32 *ids = NULL;
	size_t n = 0, nt = 0;
	int err = 0;

	if (!s->ntouched)
		return 0;
	/* Each address:port once, then every serving slot sorted by address:port and id. */
	qsort(s->touched, s->ntouched, sizeof(*s->touched), ep_cmp);
	for (size_t i = 0; i < s->ntouched; i++)
		if (!nt || ep_cmp(&s->touched[i], &s->touched[nt - 1]))
			s->touched[nt++] = s->touched[i];
	all = calloc(VEER_MAX_BACKENDS, sizeof(*all));
	ids = calloc(VEER_MAX_BACKENDS, sizeof(*ids));
	if (!all || !ids) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++) {
		if (!veer_backend_serves(&s->table[id]))
			continue;
		all[n].ep = slot_ep(&s->table[id]);
		all[n++].id = id;
	}
	qsort(all, n, sizeof(*all), ep_slot_cmp);
	for (size_t t = 0, lo = 0; t < nt; t++) {
		size_t m = 0, hi;
		int e;

		/* Both lists are sorted: one merge walk finds every address's run. */
		while (lo < n && ep_cmp(&all[lo].ep, &s->touched[t]) < 0)
			lo++;
		for (hi = lo; hi < n && !ep_cmp(&all[hi].ep, &s->touched[t]); hi++)
			ids[m++] = all[hi].id;
		e = index_write(skel->maps.veer_vips, skel->maps.veer_backends,
				skel->maps.veer_be_index, skel->maps.veer_svc, s->table, s->v->vips,
				ids, m, &s->touched[t]);
		if (e && !err)
			err = e;
		lo = hi;
	}
cleanup:
	s->ntouched = 0;
	free(ids);
	free(all);
	return err;
}

/* ---- the commands ---- */

/* Resolves the VIP and the backend's default port; logs "cannot VERB backend B to V: why". */
static int backend_prepare(struct veer *v, const char *verb, const char *prep,
			   const struct veer_vip_key *vip, struct veer_endpoint *ep,
			   struct backend_ctx *c)
{
	char why[160];

	c->key = *vip;
	veer_fmt_vip(vip, c->vip_name, sizeof(c->vip_name));
	if (!ep->port)
		ep->port = vip->port;
	veer_fmt_endpoint(&ep->addr, ep->port, ep->family, c->be_name, sizeof(c->be_name));
	if (veer_vip_get(v, vip, &c->vip)) {
		pr_warn("cannot %s backend %s %s %s: no such VIP\n", verb, c->be_name, prep,
			c->vip_name);
		return -ENOENT;
	}
	if (veer_backend_family_fits(vip, c->vip.mode, ep->family, why, sizeof(why))) {
		pr_warn("cannot %s backend %s %s %s: %s\n", verb, c->be_name, prep, c->vip_name,
			why);
		return -EINVAL;
	}
	return 0;
}

/* NAT VIPs (in veer_be_index) the address:port serves already, not counting vip_id. */
static __u32 backend_vips_at(struct veer *v, const struct veer_endpoint *ep, __u32 vip_id)
{
	__u32 n = 0;

	for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++)
		n += backend_at(&v->backends[id], &ep->addr, ep->port, ep->family) &&
		     v->backends[id].vip_id != vip_id && !backend_is_dsr(&v->backends[id]);
	return n;
}

/* Checks of veer_backend_add on the backend alone: its address, weight and pool. */
static int backend_add_check(const struct backend_ctx *c, const struct veer_endpoint *ep,
			     __u32 weight, const char *pool)
{
	char why[160];
	const char *what;

	if (veer_addr_check(&ep->addr, ep->family, &what)) {
		pr_warn("cannot add backend %s to %s: it is %s\n", c->be_name, c->vip_name, what);
		return -EINVAL;
	}
	if (veer_weight_check(weight)) {
		pr_warn("cannot add backend %s to %s: weight %u is out of range (want %s)\n",
			c->be_name, c->vip_name, weight, veer_weight_want);
		return -EINVAL;
	}
	if (strlen(pool) >= VEER_POOL_NAME_LEN) {
		pr_warn("cannot add backend %s to %s: pool name longer than %d characters\n",
			c->be_name, c->vip_name, VEER_POOL_NAME_LEN - 1);
		return -EINVAL;
	}
	if (veer_backend_fits(&c->key, c->vip.mode, ep, why, sizeof(why))) {
		pr_warn("cannot add backend %s to %s: %s\n", c->be_name, c->vip_name, why);
		return -EINVAL;
	}
	return 0;
}

int veer_backend_add(struct veer *v, const struct veer_vip_key *vip,
		     const struct veer_endpoint *ep_in, __u32 weight, const char *pool)
{
	struct veer_endpoint ep = *ep_in;
	struct veer_backend old, fresh = {};
	struct veer_slots s;
	struct backend_ctx c;
	__u32 *ids = NULL, slot, members = 0;
	size_t n;
	bool revive;
	int err;

	err = backend_prepare(v, "add", "to", vip, &ep, &c);
	if (err)
		return err;
	if (!pool || !*pool)
		pool = "default";
	err = backend_add_check(&c, &ep, weight, pool);
	if (err)
		return err;
	err = veer_slots_begin(v, &s);
	if (err)
		return err;
	ids = calloc(VEER_MAX_BACKENDS, sizeof(*ids));
	if (!ids) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (!veer_slots_find(&s, c.vip.id, &ep, &slot)) {
		pr_warn("cannot add backend %s to %s: it exists\n", c.be_name, c.vip_name);
		err = -EEXIST;
		goto cleanup;
	}
	/*
	 * Protocols apart, the index has room for VEER_BE_VIPS_MAX VIPs per address:port; a
	 * rough count across both is enough to refuse before anything changes.
	 */
	if (c.vip.mode == VEER_MODE_NAT && backend_vips_at(v, &ep, c.vip.id) >= VEER_BE_VIPS_MAX) {
		pr_warn("cannot add backend %s to %s: it serves %d VIPs already\n", c.be_name,
			c.vip_name, VEER_BE_VIPS_MAX);
		err = -E2BIG;
		goto cleanup;
	}
	n = veer_slots_of(&s, c.vip.id, ids);
	for (size_t i = 0; i < n; i++)
		members += !!(s.table[ids[i]].flags & VEER_BACKEND_ACTIVE);
	if (members + 1 > c.vip.ring_size) {
		pr_warn("cannot add backend %s to %s: more backends than ring slots (%u)\n",
			c.be_name, c.vip_name, c.vip.ring_size);
		err = -ENOSPC;
		goto cleanup;
	}
	if (veer_slots_pick(&s, c.vip.id, &ep, &slot, &revive)) {
		pr_warn("cannot add backend %s to %s: table full (%d backends)\n", c.be_name,
			c.vip_name, VEER_MAX_BACKENDS);
		err = -ENOSPC;
		goto cleanup;
	}
	old = s.table[slot];
	fresh.addr = ep.addr;
	fresh.port = ep.port;
	fresh.family = ep.family;
	fresh.flags = VEER_BACKEND_ACTIVE | VEER_BACKEND_MODE_FLAGS(c.vip.mode);
	fresh.vip_id = c.vip.id;
	fresh.weight = weight;
	fresh.seq = veer_slots_seq(&s);
	/* A new gen sends flows of the slot's previous backend elsewhere, never to this one. */
	fresh.gen = revive ? old.gen : old.gen + 1;
	strcpy(fresh.pool, pool);
	/*
	 * Slot, counters and reply index first, then the ring that sends flows to it: the first
	 * reply finds its flow. Counters restart only with a new backend.
	 */
	err = revive ? 0 : veer_counters_reset(v, v->skel->maps.veer_be_stats, slot);
	if (!err)
		err = veer_slots_put(&s, slot, &fresh);
	if (!err)
		err = veer_slots_index(&s);
	if (!err) {
		if (!revive)
			ids[n++] = slot;
		err = veer_ring_publish_ids(v, &c.vip, ids, n);
	}
	if (err) {
		veer_slots_put(&s, slot, &old);
		veer_slots_index(&s);
		pr_warn("cannot add backend %s to %s: %s\n", c.be_name, c.vip_name, strerror(-err));
	}
cleanup:
	free(ids);
	veer_slots_end(&s);
	return err;
}

/*
 * Finds the backend for a command that changes it and the VIP's slots for its ring; logs
 * "cannot VERB backend B of V: no such backend".
 */
static int backend_locate(struct veer *v, const char *verb, const struct veer_vip_key *vip,
			  struct veer_endpoint *ep, struct backend_ctx *c, struct veer_slots *s,
			  __u32 **ids, size_t *n, __u32 *id)
{
	int err = backend_prepare(v, verb, "of", vip, ep, c);

	if (err)
		return err;
	err = veer_slots_begin(v, s);
	if (err)
		return err;
	*ids = calloc(VEER_MAX_BACKENDS, sizeof(**ids));
	if (!*ids) {
		veer_slots_end(s);
		return -ENOMEM;
	}
	if (veer_slots_find(s, c->vip.id, ep, id)) {
		pr_warn("cannot %s backend %s of %s: no such backend\n", verb, c->be_name,
			c->vip_name);
		free(*ids);
		veer_slots_end(s);
		return -ENOENT;
	}
	*n = veer_slots_of(s, c->vip.id, *ids);
	return 0;
}

int veer_backend_set_weight(struct veer *v, const struct veer_vip_key *vip,
			    const struct veer_endpoint *ep_in, __u32 weight)
{
	struct veer_endpoint ep = *ep_in;
	struct veer_backend be;
	struct veer_slots s;
	struct backend_ctx c;
	__u32 id, old, *ids;
	size_t n;
	int err;

	err = backend_locate(v, "set", vip, &ep, &c, &s, &ids, &n, &id);
	if (err)
		return err;
	if (veer_weight_check(weight)) {
		pr_warn("cannot set backend %s of %s: weight %u is out of range (want %s)\n",
			c.be_name, c.vip_name, weight, veer_weight_want);
		err = -EINVAL;
		goto cleanup;
	}
	be = s.table[id];
	old = be.weight;
	be.weight = weight;
	err = veer_slots_put(&s, id, &be);
	if (!err) {
		err = veer_ring_publish_ids(v, &c.vip, ids, n);
		if (err) {
			be.weight = old;
			veer_slots_put(&s, id, &be);
		}
	}
	if (err)
		pr_warn("cannot set backend %s of %s: %s\n", c.be_name, c.vip_name, strerror(-err));
cleanup:
	free(ids);
	veer_slots_end(&s);
	return err;
}

int veer_backend_del(struct veer *v, const struct veer_vip_key *vip,
		     const struct veer_endpoint *ep_in)
{
	struct veer_endpoint ep = *ep_in;
	struct veer_backend be;
	struct veer_slots s;
	struct backend_ctx c;
	__u32 id, *ids;
	size_t n;
	int err;

	err = backend_locate(v, "delete", vip, &ep, &c, &s, &ids, &n, &id);
	if (err)
		return err;
	/*
	 * Out of the table first (weight 0 drains), then out of every choice. Established
	 * flows name the slot, which keeps the backend's address (REMOVED) until it is reused
	 * for another (the free slot that changed longest ago goes first): they finish where
	 * they started.
	 */
	be = s.table[id];
	be.weight = 0;
	err = veer_slots_put(&s, id, &be);
	if (!err)
		err = veer_ring_publish_ids(v, &c.vip, ids, n);
	if (!err) {
		be.flags = (be.flags & ~VEER_BACKEND_ACTIVE) | VEER_BACKEND_REMOVED;
		be.seq = veer_slots_seq(&s);
		err = veer_slots_put(&s, id, &be);
	}
	if (err)
		pr_warn("cannot delete backend %s of %s: %s\n", c.be_name, c.vip_name,
			strerror(-err));
	free(ids);
	veer_slots_end(&s);
	return err;
}

/* Flows name their backend's slot: the slots, as a bitmap over slot ids. */
static bool flow_of_slots(const void *key, const void *value, const void *slots)
{
	__u32 id = ((const struct veer_flow *)value)->backend_id;

	(void)key;
	return id < VEER_MAX_BACKENDS && (((const __u8 *)slots)[id / 8] >> (id % 8) & 1);
}

void veer_flows_sweep(struct veer *v, const __u8 *slots)
{
	veer_map_sweep(v->skel->maps.veer_flows4, flow_of_slots, slots);
	veer_map_sweep(v->skel->maps.veer_flows6, flow_of_slots, slots);
	veer_map_sweep(v->skel->maps.veer_syns4, flow_of_slots, slots);
	veer_map_sweep(v->skel->maps.veer_syns6, flow_of_slots, slots);
}

int veer_backend_set_health(struct veer *v, const struct veer_vip_key *vip,
			    const struct veer_endpoint *ep_in, bool up, bool reset)
{
	struct veer_endpoint ep = *ep_in;
	__u8 slots[VEER_MAX_BACKENDS / 8] = {};
	struct veer_backend be, old;
	struct veer_slots s;
	struct backend_ctx c;
	__u32 id, *ids;
	size_t n;
	int err;

	err = backend_locate(v, "mark", vip, &ep, &c, &s, &ids, &n, &id);
	if (err)
		return err;
	old = be = s.table[id];
	if (!(be.flags & VEER_BACKEND_DOWN) == up)
		goto cleanup; /* nothing changes: nothing is written */
	be.flags ^= VEER_BACKEND_DOWN;
	/*
	 * Going down: the flag first, which the data plane reads before any new flow, then the
	 * table without it. Coming back: the table is built from the flags, so the flag first
	 * too.
	 */
	err = veer_slots_put(&s, id, &be);
	if (!err) {
		err = veer_ring_publish_ids(v, &c.vip, ids, n);
		if (err)
			veer_slots_put(&s, id, &old);
	}
	if (err) {
		pr_warn("cannot mark backend %s of %s %s: %s\n", c.be_name, c.vip_name,
			up ? "up" : "down", strerror(-err));
		goto cleanup;
	}
	/* on_down: reset: its connections go now, the clients reconnect to another backend. */
	if (reset && !up) {
		slots[id / 8] |= 1 << (id % 8);
		veer_flows_sweep(v, slots);
	}
cleanup:
	free(ids);
	veer_slots_end(&s);
	return err;
}

static int backend_cmp(const void *a, const void *b)
{
	const struct veer_backend_info *x = a, *y = b;
	int d = memcmp(&x->be.addr, &y->be.addr, sizeof(x->be.addr));

	return d ? d : (int)ntohs(x->be.port) - (int)ntohs(y->be.port);
}

int veer_backend_list(struct veer *v, const struct veer_vip_key *vip,
		      struct veer_backend_info **out, size_t *n)
{
	const struct veer_backend *table;
	struct veer_backend_info *list;
	struct veer_vip info;
	size_t cnt = 0;

	if (veer_vip_get(v, vip, &info))
		return -ENOENT;
	table = veer_backends_get(v);
	if (!table)
		return -EIO;
	list = calloc(VEER_MAX_BACKENDS, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (__u32 i = 0; i < VEER_MAX_BACKENDS; i++) {
		if (!(table[i].flags & VEER_BACKEND_ACTIVE) || table[i].vip_id != info.id)
			continue;
		list[cnt].id = i;
		list[cnt].be = table[i];
		cnt++;
	}
	qsort(list, cnt, sizeof(*list), backend_cmp);
	*out = list;
	*n = cnt;
	return 0;
}
