// SPDX-License-Identifier: GPL-2.0
/* Reading the per-CPU counters and the connection table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "internal.h"

const char *const veer_reason_names[VEER_REASON_MAX] = VEER_REASON_NAMES;

/* Sums every CPU's copy of a per-CPU array slot made of __u64 counters. */
static int percpu_sum(struct veer *v, struct bpf_map *map, __u32 idx, __u64 *sum, size_t words)
{
	size_t stride = (bpf_map__value_size(map) + 7) & ~7UL;
	__u64 *vals;
	int err;

	vals = calloc(v->ncpus, stride);
	if (!vals)
		return -ENOMEM;
	err = bpf_map__lookup_elem(map, &idx, sizeof(idx), vals, v->ncpus * stride, 0);
	memset(sum, 0, words * sizeof(*sum));
	for (int cpu = 0; !err && cpu < v->ncpus; cpu++)
		for (size_t w = 0; w < words; w++)
			sum[w] += vals[cpu * stride / sizeof(__u64) + w];
	free(vals);
	return err;
}

int veer_vip_counters(struct veer *v, __u32 vip_id, struct veer_counters *sum)
{
	return percpu_sum(v, v->skel->maps.veer_vip_stats, vip_id, (__u64 *)sum,
			  sizeof(*sum) / sizeof(__u64));
}

int veer_backend_counters(struct veer *v, __u32 backend_id, struct veer_counters *sum)
{
	return percpu_sum(v, v->skel->maps.veer_be_stats, backend_id, (__u64 *)sum,
			  sizeof(*sum) / sizeof(__u64));
}

int veer_reason_counters(struct veer *v, __u64 sum[VEER_REASON_MAX])
{
	for (__u32 r = 0; r < VEER_REASON_MAX; r++) {
		int err = percpu_sum(v, v->skel->maps.veer_reasons, r, &sum[r], 1);

		if (err)
			return err;
	}
	return 0;
}

/* One connection table (flows or handshakes, one family): fn for each entry. */
static int flow_table_foreach(struct veer *v, struct bpf_map *map, bool handshake,
			      int (*fn)(const struct veer_flow_info *, void *), void *ctx)
{
	bool v4 = bpf_map__key_size(map) == sizeof(struct veer_flow4_key);
	size_t ksz = bpf_map__key_size(map);
	struct veer_flow_key key, cur;
	struct veer_flow4_key *k4 = (struct veer_flow4_key *)&key;
	void *prev = NULL;
	int err;

	while (!bpf_map__get_next_key(map, prev, &key, ksz)) {
		struct veer_flow_info fi = {.handshake = handshake};

		cur = key;
		prev = &cur;
		if (bpf_map__lookup_elem(map, &key, ksz, &fi.flow, sizeof(fi.flow), 0))
			continue;
		if (v4) {
			fi.key.saddr.v4 = k4->saddr;
			fi.key.daddr.v4 = k4->daddr;
			fi.key.sport = k4->sport;
			fi.key.dport = k4->dport;
			fi.key.proto = k4->proto;
			fi.key.family = VEER_AF_INET;
		} else {
			fi.key = key;
		}
		if (fi.flow.backend_id < VEER_MAX_BACKENDS && v->backends) {
			const struct veer_backend *be = &v->backends[fi.flow.backend_id];

			if (be->gen == fi.flow.backend_gen &&
			    (be->flags & (VEER_BACKEND_ACTIVE | VEER_BACKEND_REMOVED)))
				fi.backend = be;
		}
		err = fn(&fi, ctx);
		if (err)
			return err;
	}
	return 0;
}

int veer_flow_foreach(struct veer *v, int (*fn)(const struct veer_flow_info *, void *), void *ctx)
{
	struct bpf_map *maps[] = {v->skel->maps.veer_flows4, v->skel->maps.veer_flows6,
				  v->skel->maps.veer_syns4, v->skel->maps.veer_syns6};
	int err = 0;

	veer_backends_get(v);
	for (size_t i = 0; !err && i < sizeof(maps) / sizeof(maps[0]); i++)
		err = flow_table_foreach(v, maps[i], i >= 2, fn, ctx);
	return err;
}

/* Stand-ins until the batched snapshot lands. */
int veer_stats_snapshot(struct veer *v, bool count_flows, struct veer_stats_snapshot *s)
{
	(void)v, (void)count_flows;
	memset(s, 0, sizeof(*s));
	return -ENOSYS;
}

void veer_stats_free(struct veer_stats_snapshot *s)
{
	free(s->vips);
	free(s->backends);
	memset(s, 0, sizeof(*s));
}
