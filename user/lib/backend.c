// SPDX-License-Identifier: GPL-2.0
/*
 * Backends of a VIP. Each is one slot of veer_backends; a removed backend's slot is reused
 * last, so flows still counted against it keep their stats meaningful for as long as possible.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "internal.h"

struct backend_ctx {
	struct veer_vip_key key;
	struct veer_vip vip;
	char vip_name[VEER_ADDR_STRLEN];
	char be_name[VEER_ADDR_STRLEN];
};

static int backend_get(struct veer *v, __u32 id, struct veer_backend *be)
{
	const struct veer_backend *table = veer_backends_get(v);

	if (!table || id >= VEER_MAX_BACKENDS)
		return -ENOENT;
	*be = table[id];
	return 0;
}

/* Slots are stamped with a counter when they change; the next stamp is one past the largest. */
static __u32 backend_next_seq(struct veer *v)
{
	struct veer_backend be;
	__u32 seq = 0;

	for (__u32 i = 0; i < VEER_MAX_BACKENDS; i++)
		if (!backend_get(v, i, &be) && be.seq > seq)
			seq = be.seq;
	return seq + 1;
}

static bool backend_is(const struct veer_backend *be, __u32 vip_id, const struct veer_endpoint *ep)
{
	return (be->flags & VEER_BACKEND_ACTIVE) && be->vip_id == vip_id &&
	       be->family == ep->family && be->port == ep->port &&
	       !memcmp(&be->addr, &ep->addr, sizeof(be->addr));
}

/* Resolves the VIP and the backend's default port; logs "cannot VERB backend B to V: why". */
static int backend_prepare(struct veer *v, const char *verb, const char *prep,
			   const struct veer_vip_key *vip, struct veer_endpoint *ep,
			   struct backend_ctx *c)
{
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
	if (ep->family != vip->family) {
		pr_warn("cannot %s backend %s %s %s: address family differs from the VIP's\n", verb,
			c->be_name, prep, c->vip_name);
		return -EINVAL;
	}
	return 0;
}

static int backend_find(struct veer *v, __u32 vip_id, const struct veer_endpoint *ep, __u32 *id,
			struct veer_backend *be)
{
	for (__u32 i = 0; i < VEER_MAX_BACKENDS; i++) {
		if (!backend_get(v, i, be) && backend_is(be, vip_id, ep)) {
			*id = i;
			return 0;
		}
	}
	return -ENOENT;
}

int veer_backend_add(struct veer *v, const struct veer_vip_key *vip,
		     const struct veer_endpoint *ep_in, __u32 weight, const char *pool)
{
	struct veer_endpoint ep = *ep_in;
	struct veer_backend be, fresh = {};
	__u32 id, slot = VEER_NO_BACKEND, oldest = ~0u, members = 0;
	struct backend_ctx c;
	int err;

	err = backend_prepare(v, "add", "to", vip, &ep, &c);
	if (err)
		return err;
	if (!pool || !*pool)
		pool = "default";
	if (strlen(pool) >= VEER_POOL_NAME_LEN) {
		pr_warn("cannot add backend %s to %s: pool name longer than %d characters\n",
			c.be_name, c.vip_name, VEER_POOL_NAME_LEN - 1);
		return -EINVAL;
	}
	if (!backend_find(v, c.vip.id, &ep, &id, &be)) {
		pr_warn("cannot add backend %s to %s: it exists\n", c.be_name, c.vip_name);
		return -EEXIST;
	}
	/* The free slot that changed longest ago; never-used slots have seq 0. */
	for (__u32 i = 0; i < VEER_MAX_BACKENDS; i++) {
		if (backend_get(v, i, &be))
			continue;
		if (be.flags & VEER_BACKEND_ACTIVE) {
			members += be.vip_id == c.vip.id;
			continue;
		}
		if (be.seq < oldest) {
			oldest = be.seq;
			slot = i;
		}
	}
	if (slot == VEER_NO_BACKEND) {
		pr_warn("cannot add backend %s to %s: table full (%d backends)\n", c.be_name,
			c.vip_name, VEER_MAX_BACKENDS);
		return -ENOSPC;
	}
	if (members + 1 > c.vip.ring_size) {
		pr_warn("cannot add backend %s to %s: more backends than ring slots (%u)\n",
			c.be_name, c.vip_name, c.vip.ring_size);
		return -ENOSPC;
	}
	fresh.addr = ep.addr;
	fresh.port = ep.port;
	fresh.family = ep.family;
	fresh.flags = VEER_BACKEND_ACTIVE;
	fresh.vip_id = c.vip.id;
	fresh.weight = weight;
	fresh.seq = backend_next_seq(v);
	strcpy(fresh.pool, pool);
	/* Slot and counters first, then the table that points at them. */
	err = veer_counters_reset(v, v->skel->maps.veer_be_stats, slot);
	if (!err)
		err = veer_backend_put(v, slot, &fresh);
	if (!err) {
		err = veer_ring_publish(v, &c.vip);
		if (err) {
			fresh.flags = 0;
			veer_backend_put(v, slot, &fresh);
		}
	}
	if (err)
		pr_warn("cannot add backend %s to %s: %s\n", c.be_name, c.vip_name, strerror(-err));
	return err;
}

int veer_backend_set_weight(struct veer *v, const struct veer_vip_key *vip,
			    const struct veer_endpoint *ep_in, __u32 weight)
{
	struct veer_endpoint ep = *ep_in;
	struct veer_backend be;
	struct backend_ctx c;
	__u32 id, old;
	int err;

	err = backend_prepare(v, "set", "of", vip, &ep, &c);
	if (err)
		return err;
	if (backend_find(v, c.vip.id, &ep, &id, &be)) {
		pr_warn("cannot set backend %s of %s: no such backend\n", c.be_name, c.vip_name);
		return -ENOENT;
	}
	old = be.weight;
	be.weight = weight;
	err = veer_backend_put(v, id, &be);
	if (!err) {
		err = veer_ring_publish(v, &c.vip);
		if (err) {
			be.weight = old;
			veer_backend_put(v, id, &be);
		}
	}
	if (err)
		pr_warn("cannot set backend %s of %s: %s\n", c.be_name, c.vip_name, strerror(-err));
	return err;
}

int veer_backend_del(struct veer *v, const struct veer_vip_key *vip,
		     const struct veer_endpoint *ep_in)
{
	struct veer_endpoint ep = *ep_in;
	struct veer_backend be;
	struct backend_ctx c;
	__u32 id;
	int err;

	err = backend_prepare(v, "delete", "of", vip, &ep, &c);
	if (err)
		return err;
	if (backend_find(v, c.vip.id, &ep, &id, &be)) {
		pr_warn("cannot delete backend %s of %s: no such backend\n", c.be_name, c.vip_name);
		return -ENOENT;
	}
	/*
	 * Out of the table first (weight 0 drains), then out of the slot. Established flows
	 * carry the backend's address in their entry and finish where they started.
	 */
	be.weight = 0;
	err = veer_backend_put(v, id, &be);
	if (!err)
		err = veer_ring_publish(v, &c.vip);
	if (!err) {
		be.flags &= ~VEER_BACKEND_ACTIVE;
		be.seq = backend_next_seq(v);
		err = veer_backend_put(v, id, &be);
	}
	if (err)
		pr_warn("cannot delete backend %s of %s: %s\n", c.be_name, c.vip_name,
			strerror(-err));
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
	struct veer_backend_info *list;
	struct veer_vip info;
	struct veer_backend be;
	size_t cnt = 0;

	if (veer_vip_get(v, vip, &info))
		return -ENOENT;
	list = calloc(VEER_MAX_BACKENDS, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (__u32 i = 0; i < VEER_MAX_BACKENDS; i++) {
		if (backend_get(v, i, &be) || !(be.flags & VEER_BACKEND_ACTIVE) ||
		    be.vip_id != info.id)
			continue;
		list[cnt].id = i;
		list[cnt].be = be;
		cnt++;
	}
	qsort(list, cnt, sizeof(*list), backend_cmp);
	*out = list;
	*n = cnt;
	return 0;
}
