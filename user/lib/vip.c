// SPDX-License-Identifier: GPL-2.0
/* VIPs and their Maglev tables. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "maglev.h"

int veer_vip_get(struct veer *v, const struct veer_vip_key *key, struct veer_vip *vip)
{
	return bpf_map__lookup_elem(v->skel->maps.veer_vips, key, sizeof(*key), vip, sizeof(*vip),
				    0)
		       ? -ENOENT
		       : 0;
}

/*
 * Recounted from veer_vips rather than incremented and decremented: the count cannot drift, and
 * a command that died between its two updates is repaired by the next add or del at the
 * address. Writers hold the pin lock, so the walk sees a table no one else changes.
 */
int veer_vip_addr_sync(struct bpf_map *vips, struct bpf_map *addrs, const union veer_addr *addr,
		       __u8 family)
{
	struct veer_vip_key key, cur, *prev = NULL;
	struct veer_vip_addr_key ak = {};
	__u32 n = 0;
	int err;

	while (!bpf_map__get_next_key(vips, prev, &key, sizeof(key))) {
		if (key.family == family && !memcmp(&key.addr, addr, sizeof(*addr)))
			n++;
		cur = key;
		prev = &cur;
	}
	ak.addr = *addr;
	ak.family = family;
	if (n)
		return bpf_map__update_elem(addrs, &ak, sizeof(ak), &n, sizeof(n), BPF_ANY);
	err = bpf_map__delete_elem(addrs, &ak, sizeof(ak), 0);
	return err == -ENOENT ? 0 : err;
}

int veer_vip_addrs_adopt(struct veer *v)
{
	struct bpf_map *vips = v->skel->maps.veer_vips, *addrs = v->skel->maps.veer_vip_addrs;
	struct veer_vip_addr_key ak;
	struct veer_vip_key vk;
	struct veer_vip_info *list;
	size_t n;
	int err;

	if (!bpf_map__get_next_key(addrs, NULL, &ak, sizeof(ak)) ||
	    bpf_map__get_next_key(vips, NULL, &vk, sizeof(vk)))
		return 0;
	err = veer_vip_list(v, &list, &n);
	if (err)
		goto out;
	/* Sorted by family and address: one sync per address. */
	for (size_t i = 0; !err && i < n; i++)
		if (!i || list[i].key.family != list[i - 1].key.family ||
		    memcmp(&list[i].key.addr, &list[i - 1].key.addr, sizeof(list[i].key.addr)))
			err = veer_vip_addr_sync(vips, addrs, &list[i].key.addr,
						 list[i].key.family);
	free(list);
out:
	if (err)
		pr_warn("cannot fill the VIP address table: %s\n", strerror(-err));
	return err;
}

static int vip_cmp(const void *a, const void *b)
{
	const struct veer_vip_info *x = a, *y = b;

	if (x->key.family != y->key.family)
		return x->key.family - y->key.family;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

int veer_vip_list(struct veer *v, struct veer_vip_info **out, size_t *n)
{
	struct bpf_map *map = v->skel->maps.veer_vips;
	struct veer_vip_key key, cur, *prev = NULL;
	struct veer_vip_info *list;
	size_t cnt = 0;

	list = calloc(VEER_MAX_VIPS, sizeof(*list));
	if (!list)
		return -ENOMEM;
	while (cnt < VEER_MAX_VIPS && !bpf_map__get_next_key(map, prev, &key, sizeof(key))) {
		if (!bpf_map__lookup_elem(map, &key, sizeof(key), &list[cnt].vip,
					  sizeof(list[cnt].vip), 0)) {
			list[cnt].key = key;
			cnt++;
		}
		cur = key;
		prev = &cur;
	}
	qsort(list, cnt, sizeof(*list), vip_cmp);
	/* One pass over the backend table counts every VIP's backends. */
	if (veer_backends_get(v)) {
		__u32 per_vip[VEER_MAX_VIPS] = {};

		for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++)
			if ((v->backends[id].flags & VEER_BACKEND_ACTIVE) &&
			    v->backends[id].vip_id < VEER_MAX_VIPS)
				per_vip[v->backends[id].vip_id]++;
		for (size_t i = 0; i < cnt; i++)
			list[i].backends =
				list[i].vip.id < VEER_MAX_VIPS ? per_vip[list[i].vip.id] : 0;
	}
	*out = list;
	*n = cnt;
	return 0;
}

static int vip_alloc_id(struct veer *v, __u32 *id)
{
	bool used[VEER_MAX_VIPS] = {};
	struct veer_vip_info *list;
	size_t n;
	int err;

	err = veer_vip_list(v, &list, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (list[i].vip.id < VEER_MAX_VIPS)
			used[list[i].vip.id] = true;
	free(list);
	for (__u32 i = 0; i < VEER_MAX_VIPS; i++) {
		if (!used[i]) {
			*id = i;
			return 0;
		}
	}
	return -ENOSPC;
}

int veer_ring_publish(struct veer *v, const struct veer_vip *vip)
{
	LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = BPF_F_INNER_MAP);
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	struct veer_maglev_backend *mb = NULL;
	const struct veer_backend *table;
	struct veer_backend be;
	__u32 *ring = NULL, *keys = NULL, count, nb = 0;
	int inner = -1, err;

	mb = calloc(VEER_MAX_BACKENDS, sizeof(*mb));
	ring = calloc(vip->ring_size, sizeof(*ring));
	keys = calloc(vip->ring_size, sizeof(*keys));
	if (!mb || !ring || !keys) {
		err = -ENOMEM;
		goto cleanup;
	}
	table = veer_backends_get(v);
	if (!table) {
		err = -EIO;
		goto cleanup;
	}
	for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++) {
		be = table[id];
		if (!(be.flags & VEER_BACKEND_ACTIVE) || be.vip_id != vip->id)
			continue;
		/* Pools other than the default serve only client-prefix steering. */
		if (strcmp(be.pool, "default"))
			continue;
		mb[nb].id = id;
		mb[nb].weight = be.weight;
		mb[nb].addr = be.addr;
		mb[nb].port = be.port;
		mb[nb].family = be.family;
		nb++;
	}
	err = veer_maglev_build(mb, nb, vip->ring_size, ring);
	if (err)
		goto cleanup;
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "veer_ring", sizeof(__u32), sizeof(__u32),
			       vip->ring_size, &copts);
	if (inner < 0) {
		err = -errno;
		goto cleanup;
	}
	for (__u32 i = 0; i < vip->ring_size; i++)
		keys[i] = i;
	count = vip->ring_size;
	err = bpf_map_update_batch(inner, keys, ring, &count, &bopts);
	if (err)
		goto cleanup;
	/* The swap: packets see the old table or this one, never a partly written one. */
	err = bpf_map__update_elem(v->skel->maps.veer_rings, &vip->id, sizeof(vip->id), &inner,
				   sizeof(inner), BPF_ANY);
cleanup:
	if (inner >= 0)
		close(inner);
	free(keys);
	free(ring);
	free(mb);
	return err;
}

int veer_vip_check(const struct veer_vip_key *key, const struct veer_vip_opts *opts)
{
	char name[VEER_ADDR_STRLEN];

	if (opts->mode <= VEER_MODE_DSR_L2)
		return 0;
	veer_fmt_vip(key, name, sizeof(name));
	pr_warn("cannot add VIP %s: unknown mode %u (want nat, dsr-ipip or dsr-l2)\n", name,
		opts->mode);
	return -EINVAL;
}

int veer_vip_add(struct veer *v, const struct veer_vip_key *key, const struct veer_vip_opts *opts)
{
	char name[VEER_ADDR_STRLEN];
	struct veer_vip vip = {};
	int err;

	veer_fmt_vip(key, name, sizeof(name));
	if (!veer_vip_get(v, key, &vip)) {
		pr_warn("cannot add VIP %s: it exists\n", name);
		return -EEXIST;
	}
	err = veer_vip_check(key, opts);
	if (err)
		return err;
	memset(&vip, 0, sizeof(vip));
	vip.ring_size = opts->ring_size ? opts->ring_size : VEER_RING_DEFAULT;
	vip.affinity = opts->affinity;
	vip.mode = opts->mode;
	err = vip_alloc_id(v, &vip.id);
	if (err) {
		pr_warn("cannot add VIP %s: table full (%d VIPs)\n", name, VEER_MAX_VIPS);
		return err;
	}
	/* Table and counters first, then the VIP itself: the first packet finds all in place. */
	err = veer_ring_publish(v, &vip);
	if (!err)
		err = veer_counters_reset(v, v->skel->maps.veer_vip_stats, vip.id);
	if (!err)
		err = bpf_map__update_elem(v->skel->maps.veer_vips, key, sizeof(*key), &vip,
					   sizeof(vip), BPF_NOEXIST);
	/* The data plane's filter lets the VIP's packets through to the table. */
	if (!err)
		err = veer_svc_sync(v->skel->maps.veer_vips, v->skel->maps.veer_be_index,
				    v->skel->maps.veer_svc, &key->addr, key->port, key->proto,
				    key->family);
	/* Its address answers pings from now on. */
	if (!err)
		err = veer_vip_addr_sync(v->skel->maps.veer_vips, v->skel->maps.veer_vip_addrs,
					 &key->addr, key->family);
	/* Forward-proxy rules of its port see its packets (svc_hash.h, VEER_SVC_PROXY). */
	if (!err)
		err = veer_proxy_svc_sync(v->skel->maps.veer_vips, v->skel->maps.veer_proxy_rule,
					  v->skel->maps.veer_svc);
	if (err) {
		pr_warn("cannot add VIP %s: %s\n", name, strerror(-err));
		/* Back out in reverse; each sync recounts, so it mends what it finds. */
		bpf_map__delete_elem(v->skel->maps.veer_vips, key, sizeof(*key), 0);
		veer_svc_sync(v->skel->maps.veer_vips, v->skel->maps.veer_be_index,
			      v->skel->maps.veer_svc, &key->addr, key->port, key->proto,
			      key->family);
		bpf_map__delete_elem(v->skel->maps.veer_rings, &vip.id, sizeof(vip.id), 0);
	}
	return err;
}

/* Flows name their backend's slot: the VIP's slots, as a bitmap over slot ids. */
static bool flow_of_vip(const void *key, const void *value, const void *slots)
{
	__u32 id = ((const struct veer_flow *)value)->backend_id;

	(void)key;
	return id < VEER_MAX_BACKENDS && (((const __u8 *)slots)[id / 8] >> (id % 8) & 1);
}

static bool affinity_of_vip(const void *key, const void *value, const void *vip_id)
{
	(void)value;
	return ((const struct veer_affinity_key *)key)->vip_id == *(const __u32 *)vip_id;
}

int veer_vip_del(struct veer *v, const struct veer_vip_key *key)
{
	__u8 slots[VEER_MAX_BACKENDS / 8];
	char name[VEER_ADDR_STRLEN];
	struct veer_backend be;
	struct veer_vip vip;
	int err;

	veer_fmt_vip(key, name, sizeof(name));
	if (veer_vip_get(v, key, &vip)) {
		pr_warn("cannot delete VIP %s: no such VIP\n", name);
		return -ENOENT;
	}
	/* Stop new flows first; then nothing can pick the table or backends torn down next. */
	err = bpf_map__delete_elem(v->skel->maps.veer_vips, key, sizeof(*key), 0);
	if (err) {
		pr_warn("cannot delete VIP %s: %s\n", name, strerror(-err));
		return err;
	}
	/* The address stops answering pings when its last VIP goes. */
	err = veer_vip_addr_sync(v->skel->maps.veer_vips, v->skel->maps.veer_vip_addrs, &key->addr,
				 key->family);
	if (err)
		pr_warn("VIP %s deleted, but its address still answers pings: %s\n", name,
			strerror(-err));
	veer_svc_sync(v->skel->maps.veer_vips, v->skel->maps.veer_be_index, v->skel->maps.veer_svc,
		      &key->addr, key->port, key->proto, key->family);
	veer_proxy_svc_sync(v->skel->maps.veer_vips, v->skel->maps.veer_proxy_rule,
			    v->skel->maps.veer_svc);
	bpf_map__delete_elem(v->skel->maps.veer_rings, &vip.id, sizeof(vip.id), 0);
	memset(slots, 0, sizeof(slots));
	for (__u32 id = 0; veer_backends_get(v) && id < VEER_MAX_BACKENDS; id++) {
		be = v->backends[id];
		if (!(be.flags & (VEER_BACKEND_ACTIVE | VEER_BACKEND_REMOVED)) ||
		    be.vip_id != vip.id)
			continue;
		slots[id / 8] |= 1 << (id % 8);
		be.flags &= ~(VEER_BACKEND_ACTIVE | VEER_BACKEND_REMOVED);
		veer_backend_put(v, id, &be);
		/* The VIP is gone from veer_vips: the sync leaves it out of the index. */
		veer_be_index_sync(v->skel->maps.veer_vips, v->skel->maps.veer_backends,
				   v->skel->maps.veer_be_index, v->skel->maps.veer_svc, v->backends,
				   &be.addr, be.port, be.family);
	}
	/* A deleted VIP takes its established flows with it, unlike a deleted backend. */
	veer_map_sweep(v->skel->maps.veer_flows4, flow_of_vip, slots);
	veer_map_sweep(v->skel->maps.veer_flows6, flow_of_vip, slots);
	veer_map_sweep(v->skel->maps.veer_syns4, flow_of_vip, slots);
	veer_map_sweep(v->skel->maps.veer_syns6, flow_of_vip, slots);
	veer_map_sweep(v->skel->maps.veer_affinity, affinity_of_vip, &vip.id);
	return err;
}
