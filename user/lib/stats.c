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

int veer_flow_foreach(struct veer *v,
		      int (*fn)(const struct veer_flow_key *, const struct veer_flow *, void *),
		      void *ctx)
{
	struct bpf_map *m4 = v->skel->maps.veer_flows4, *m6 = v->skel->maps.veer_flows6;
	struct veer_flow4_key k4, cur4, *prev4 = NULL;
	struct veer_flow_key key, cur, *prev = NULL;
	struct veer_flow f;
	int err;

	while (!bpf_map__get_next_key(m4, prev4, &k4, sizeof(k4))) {
		if (!bpf_map__lookup_elem(m4, &k4, sizeof(k4), &f, sizeof(f), 0)) {
			memset(&key, 0, sizeof(key));
			key.saddr.v4 = k4.saddr;
			key.daddr.v4 = k4.daddr;
			key.sport = k4.sport;
			key.dport = k4.dport;
			key.proto = k4.proto;
			key.family = VEER_AF_INET;
			err = fn(&key, &f, ctx);
			if (err)
				return err;
		}
		cur4 = k4;
		prev4 = &cur4;
	}
	while (!bpf_map__get_next_key(m6, prev, &key, sizeof(key))) {
		if (!bpf_map__lookup_elem(m6, &key, sizeof(key), &f, sizeof(f), 0)) {
			err = fn(&key, &f, ctx);
			if (err)
				return err;
		}
		cur = key;
		prev = &cur;
	}
	return 0;
}
