// SPDX-License-Identifier: GPL-2.0
/*
 * Backends of a VIP. Each is one slot of veer_backends; a removed backend's slot is reused
 * last, so flows still counted against it keep their stats meaningful for as long as possible.
 *
 * A slot carries its VIP's mode (VEER_BACKEND_MODE_FLAGS). A DSR backend (dsr-ipip, dsr-l2)
 * receives the packet as the client sent it, so it listens on the VIP's port; it answers the
 * client itself, so it is never in veer_be_index: an address:port that also serves NAT VIPs
 * has its replies to those found as if it served them alone.
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
	/* dsr-ipip carries IPv4 in IPv6 too: an IPv4 VIP may have IPv6 backends. */
	if (ep->family != vip->family &&
	    !(c->vip.mode == VEER_MODE_DSR_IPIP && ep->family == VEER_AF_INET6)) {
		pr_warn("cannot %s backend %s %s %s: address family differs from the VIP's%s\n",
			verb, c->be_name, prep, c->vip_name,
			c->vip.mode == VEER_MODE_DSR_IPIP ? " (dsr-ipip carries IPv4 in IPv4 or "
							    "IPv6, IPv6 in IPv6 only)"
							  : "");
		return -EINVAL;
	}
	return 0;
}

/* A DSR VIP's backends, reached by the packet as the client sent it, listen on its port. */
static int backend_port_check(const struct backend_ctx *c, const struct veer_endpoint *ep)
{
	if (c->vip.mode == VEER_MODE_NAT || ep->port == c->key.port)
		return 0;
	pr_warn("cannot add backend %s to %s: a %s VIP cannot rewrite ports (the backend must "
		"listen on %u)\n",
		c->be_name, c->vip_name, veer_mode_name(c->vip.mode), ntohs(c->key.port));
	return -EINVAL;
}

static bool backend_is_dsr(const struct veer_backend *be)
{
	return VEER_BACKEND_MODE(be->flags) != VEER_MODE_NAT;
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

/* The slot serves flows: active, or removed with its established flows finishing on it. */
static bool backend_serves(const struct veer_backend *be)
{
	return be->flags & (VEER_BACKEND_ACTIVE | VEER_BACKEND_REMOVED);
}

static bool backend_at(const struct veer_backend *be, const union veer_addr *addr, __be16 port,
		       __u8 family)
{
	return backend_serves(be) && be->family == family && be->port == port &&
	       !memcmp(&be->addr, addr, sizeof(*addr));
}

/*
 * VEER_MAX_VIPS ids -> their keys (family 0: no VIP with that id), read from veer_vips: the
 * index names VIPs by address and port, which is what a reply's flow is keyed by.
 */
static int vip_keys_by_id(struct bpf_map *vips, struct veer_vip_key *keys)
{
	struct veer_vip_key key, cur, *prev = NULL;
	struct veer_vip vip;

	memset(keys, 0, VEER_MAX_VIPS * sizeof(*keys));
	while (!bpf_map__get_next_key(vips, prev, &key, sizeof(key))) {
		if (!bpf_map__lookup_elem(vips, &key, sizeof(key), &vip, sizeof(vip), 0) &&
		    vip.id < VEER_MAX_VIPS)
			keys[vip.id] = key;
		cur = key;
		prev = &cur;
	}
	return 0;
}

/*
 * Rewrites veer_be_index for one backend address:port (both protocols) from the backend table,
 * and marks its slots SHARED when they serve more than one VIP of a protocol, for the data
 * plane's clash check. table is the whole veer_backends, kept equal to the map. Recounted rather
 * than patched, like veer_vip_addr_sync: a command that died half-way is repaired by the next.
 * Takes maps, not a handle, so that the unit tests' private maps are kept by this same code.
 */
int veer_be_index_sync(struct bpf_map *vips, struct bpf_map *backends, struct bpf_map *index,
		       struct bpf_map *svc, struct veer_backend *table, const union veer_addr *addr,
		       __be16 port, __u8 family)
{
	static const __u8 protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	struct veer_vip_key *keys = calloc(VEER_MAX_VIPS, sizeof(*keys));
	int err = 0;

	if (!keys)
		return -ENOMEM;
	vip_keys_by_id(vips, keys);
	for (size_t p = 0; !err && p < sizeof(protos); p++) {
		struct veer_be_key bk = {
			.addr = *addr, .port = port, .proto = protos[p], .family = family};
		struct veer_be_vips val = {};
		bool overflow = false;

		for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++) {
			const struct veer_backend *be = &table[id];
			const struct veer_vip_key *vk;

			if (!backend_at(be, addr, port, family) || be->vip_id >= VEER_MAX_VIPS ||
			    backend_is_dsr(be))
				continue;
			vk = &keys[be->vip_id];
			if (!vk->family || vk->proto != protos[p])
				continue;
			if (val.count == VEER_BE_VIPS_MAX) {
				overflow = true;
				break;
			}
			val.vips[val.count].vip_addr = vk->addr;
			val.vips[val.count].vip_port = vk->port;
			val.vips[val.count].backend_id = id;
			val.count++;
		}
		if (overflow) {
			err = -E2BIG;
			break;
		}
		for (__u32 i = 0; !err && i < val.count; i++) {
			__u32 id = val.vips[i].backend_id;
			struct veer_backend be = table[id];

			be.flags &= ~VEER_BACKEND_SHARED;
			if (val.count > 1)
				be.flags |= VEER_BACKEND_SHARED;
			if (be.flags == table[id].flags)
				continue;
			err = bpf_map__update_elem(backends, &id, sizeof(id), &be, sizeof(be),
						   BPF_ANY);
			if (!err)
				table[id] = be;
		}
		if (err)
			break;
		if (val.count)
			err = bpf_map__update_elem(index, &bk, sizeof(bk), &val, sizeof(val),
						   BPF_ANY);
		else if ((err = bpf_map__delete_elem(index, &bk, sizeof(bk), 0)) == -ENOENT)
			err = 0;
		/* After the index: a reply's filter bit never names a backend the index lacks. */
		if (!err)
			err = veer_svc_sync(vips, index, svc, addr, port, protos[p], family);
	}
	free(keys);
	return err;
}

static int backend_index_sync(struct veer *v, const struct veer_backend *be)
{
	return veer_be_index_sync(v->skel->maps.veer_vips, v->skel->maps.veer_backends,
				  v->skel->maps.veer_be_index, v->skel->maps.veer_svc, v->backends,
				  &be->addr, be->port, be->family);
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

int veer_backend_add(struct veer *v, const struct veer_vip_key *vip,
		     const struct veer_endpoint *ep_in, __u32 weight, const char *pool)
{
	struct veer_endpoint ep = *ep_in;
	struct veer_backend be, old, fresh = {};
	__u32 id, slot = VEER_NO_BACKEND, oldest = ~0u, members = 0;
	struct backend_ctx c;
	bool revive = false;
	int err;

	err = backend_prepare(v, "add", "to", vip, &ep, &c);
	if (err)
		return err;
	if (!veer_backends_get(v))
		return -EIO;
	if (!pool || !*pool)
		pool = "default";
	if (strlen(pool) >= VEER_POOL_NAME_LEN) {
		pr_warn("cannot add backend %s to %s: pool name longer than %d characters\n",
			c.be_name, c.vip_name, VEER_POOL_NAME_LEN - 1);
		return -EINVAL;
	}
	err = backend_port_check(&c, &ep);
	if (err)
		return err;
	if (!backend_find(v, c.vip.id, &ep, &id, &be)) {
		pr_warn("cannot add backend %s to %s: it exists\n", c.be_name, c.vip_name);
		return -EEXIST;
	}
	/*
	 * Protocols apart, the index has room for VEER_BE_VIPS_MAX VIPs per address:port; a
	 * rough count across both is enough to refuse before anything changes.
	 */
	if (c.vip.mode == VEER_MODE_NAT && backend_vips_at(v, &ep, c.vip.id) >= VEER_BE_VIPS_MAX) {
		pr_warn("cannot add backend %s to %s: it serves %d VIPs already\n", c.be_name,
			c.vip_name, VEER_BE_VIPS_MAX);
		return -E2BIG;
	}
	/*
	 * The free slot that changed longest ago; never-used slots have seq 0. A slot this
	 * backend was removed from and whose flows still finish on it is taken back as it is:
	 * those flows stay its own.
	 */
	for (__u32 i = 0; i < VEER_MAX_BACKENDS; i++) {
		if (backend_get(v, i, &be))
			continue;
		if (be.flags & VEER_BACKEND_ACTIVE) {
			members += be.vip_id == c.vip.id;
			continue;
		}
		if ((be.flags & VEER_BACKEND_REMOVED) && be.vip_id == c.vip.id &&
		    backend_at(&be, &ep.addr, ep.port, ep.family)) {
			oldest = 0;
			slot = i;
			revive = true;
			continue;
		}
		if (!revive && be.seq < oldest) {
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
	backend_get(v, slot, &old);
	fresh.addr = ep.addr;
	fresh.port = ep.port;
	fresh.family = ep.family;
	fresh.flags = VEER_BACKEND_ACTIVE | VEER_BACKEND_MODE_FLAGS(c.vip.mode);
	fresh.vip_id = c.vip.id;
	fresh.weight = weight;
	fresh.seq = backend_next_seq(v);
	/* A new gen sends flows of the slot's previous backend elsewhere, never to this one. */
	fresh.gen = revive ? old.gen : old.gen + 1;
	strcpy(fresh.pool, pool);
	/*
	 * Slot, counters and reply index first, then the ring that sends flows to it: the first
	 * reply finds its flow. Counters restart only with a new backend.
	 */
	err = revive ? 0 : veer_counters_reset(v, v->skel->maps.veer_be_stats, slot);
	if (!err)
		err = veer_backend_put(v, slot, &fresh);
	if (!err)
		err = backend_index_sync(v, &fresh);
	if (!err && backend_serves(&old) && !revive)
		err = backend_index_sync(v, &old);
	if (!err)
		err = veer_ring_publish(v, &c.vip);
	if (err) {
		veer_backend_put(v, slot, &old);
		backend_index_sync(v, &fresh);
		if (backend_serves(&old))
			backend_index_sync(v, &old);
		pr_warn("cannot add backend %s to %s: %s\n", c.be_name, c.vip_name, strerror(-err));
	}
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
	 * Out of the table first (weight 0 drains), then out of every choice. Established
	 * flows name the slot, which keeps the backend's address (REMOVED) until it is reused
	 * for another (the free slot that changed longest ago goes first): they finish where
	 * they started.
	 */
	be.weight = 0;
	err = veer_backend_put(v, id, &be);
	if (!err)
		err = veer_ring_publish(v, &c.vip);
	if (!err) {
		be.flags = (be.flags & ~VEER_BACKEND_ACTIVE) | VEER_BACKEND_REMOVED;
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
