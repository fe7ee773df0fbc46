// SPDX-License-Identifier: GPL-2.0
/* Reading the per-CPU counters and the connection table. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
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

/* ---- the snapshot: every counter in a few batched syscalls ---- */

/* Slots per batch call: 256 backends' counters are 10 KiB per CPU. */
#define STATS_CHUNK 256
/*
 * Every slot of a per-CPU array of records of words __u64 counters, summed over CPUs into
 * out[slot * words ...], STATS_CHUNK slots per syscall. -errno, to be taken as "no batch
 * operations" when veer_batch_unsupported().
 */
static int percpu_batch_sum(struct veer *v, struct bpf_map *map, __u64 *out, size_t words)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t stride = (bpf_map__value_size(map) + 7) & ~7UL, per_slot = v->ncpus * stride;
	__u32 max = bpf_map__max_entries(map), done = 0, token = 0, *keys;
	int fd = bpf_map__fd(map), err = 0;
	char *vals;

	keys = calloc(STATS_CHUNK, sizeof(*keys));
	vals = calloc(STATS_CHUNK, per_slot);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto cleanup;
	}
	memset(out, 0, (size_t)max * words * sizeof(*out));
	while (done < max) {
		__u32 count = STATS_CHUNK;

		err = bpf_map_lookup_batch(fd, done ? &token : NULL, &token, keys, vals, &count,
					   &opts);
		if (err && err != -ENOENT)
			break;
		for (__u32 i = 0; i < count; i++) {
			const __u64 *cpu0 = (const __u64 *)(vals + (size_t)i * per_slot);

			if (keys[i] >= max)
				continue;
			for (int cpu = 0; cpu < v->ncpus; cpu++)
				for (size_t w = 0; w < words; w++)
					out[(size_t)keys[i] * words + w] +=
						cpu0[cpu * stride / sizeof(__u64) + w];
		}
		done += count;
		if (err == -ENOENT || !count) {
			err = 0;
			break;
		}
	}
cleanup:
	free(vals);
	free(keys);
	return err;
}

/*
 * The counters of the slots ids[0..n) of a per-CPU counter array: one batched read of the
 * whole array, or one lookup per slot wanted when the kernel has no batch operations.
 */
static int counters_read(struct veer *v, struct bpf_map *map, const __u32 *ids, size_t n,
			 __u64 *out, size_t words)
{
	__u32 max = bpf_map__max_entries(map);
	__u64 *all;
	int err;

	all = calloc(max, words * sizeof(*all));
	if (!all)
		return -ENOMEM;
	err = percpu_batch_sum(v, map, all, words);
	if (!err) {
		for (size_t i = 0; i < n; i++)
			if (ids[i] < max)
				memcpy(out + i * words, all + (size_t)ids[i] * words,
				       words * sizeof(*out));
	} else if (veer_batch_unsupported(err)) {
		err = 0;
		for (size_t i = 0; !err && i < n; i++)
			err = percpu_sum(v, map, ids[i], out + i * words, words);
	}
	free(all);
	return err;
}

struct flow_count {
	const struct veer_backend *table;
	struct veer_settings settings;
	__u64 now;
	bool v4, handshake;
	__s32 *vip_of;	   /* VIP id -> index in the snapshot's vips, -1 for none */
	__s32 *backend_of; /* backend slot -> index in the snapshot's backends, -1 for none */
	struct veer_stats_snapshot *s;
};

/* A connection counts for its VIP and backend while the data plane would still use it. */
static int flow_counted(const void *key, const void *val, void *arg)
{
	struct flow_count *fc = arg;
	struct veer_flow_info fi = {.handshake = fc->handshake};
	const struct veer_backend *be;
	__s32 vi, bi;

	memcpy(&fi.flow, val, sizeof(fi.flow));
	if (fi.flow.backend_id >= VEER_MAX_BACKENDS)
		return 0;
	be = &fc->table[fi.flow.backend_id];
	/* Its backend's slot went to another backend: the flow is dead. */
	if (be->gen != fi.flow.backend_gen ||
	    !(be->flags & (VEER_BACKEND_ACTIVE | VEER_BACKEND_REMOVED)))
		return 0;
	fi.key.proto = fc->v4 ? ((const struct veer_flow4_key *)key)->proto
			      : ((const struct veer_flow_key *)key)->proto;
	if (veer_flow_expired(&fc->settings, &fi, fc->now))
		return 0;
	vi = be->vip_id < VEER_MAX_VIPS ? fc->vip_of[be->vip_id] : -1;
	if (vi >= 0)
		fc->s->vips[vi].active_flows++;
	bi = fc->backend_of[fi.flow.backend_id];
	if (bi >= 0)
		fc->s->backends[bi].active_flows++;
	return 0;
}

static int flows_count(struct veer *v, struct veer_stats_snapshot *s)
{
	struct bpf_map *maps[] = {v->skel->maps.veer_flows4, v->skel->maps.veer_flows6,
				  v->skel->maps.veer_syns4, v->skel->maps.veer_syns6};
	struct flow_count fc = {.table = v->backends, .s = s};
	struct timespec ts;
	int err = -ENOMEM;

	fc.vip_of = malloc(VEER_MAX_VIPS * sizeof(*fc.vip_of));
	fc.backend_of = malloc(VEER_MAX_BACKENDS * sizeof(*fc.backend_of));
	if (!fc.vip_of || !fc.backend_of)
		goto cleanup;
	memset(fc.vip_of, 0xff, VEER_MAX_VIPS * sizeof(*fc.vip_of));
	memset(fc.backend_of, 0xff, VEER_MAX_BACKENDS * sizeof(*fc.backend_of));
	for (size_t i = 0; i < s->nvips; i++)
		if (s->vips[i].vip.id < VEER_MAX_VIPS)
			fc.vip_of[s->vips[i].vip.id] = i;
	for (size_t i = 0; i < s->nbackends; i++)
		fc.backend_of[s->backends[i].id] = i;
	/* Unreadable settings leave the defaults, as `veer flows` does. */
	veer_settings_get(v, &fc.settings);
	/* The data plane stamps flows with bpf_ktime_get_coarse_ns(). */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	fc.now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	err = 0;
	for (size_t i = 0; !err && i < sizeof(maps) / sizeof(maps[0]); i++) {
		fc.v4 = bpf_map__key_size(maps[i]) == sizeof(struct veer_flow4_key);
		fc.handshake = i >= 2;
		err = veer_map_walk(maps[i], flow_counted, &fc);
	}
cleanup:
	free(fc.backend_of);
	free(fc.vip_of);
	return err;
}

static int snap_backend_cmp(const void *a, const void *b)
{
	const struct veer_stats_backend *x = a, *y = b;
	int d = memcmp(&x->be.addr, &y->be.addr, sizeof(x->be.addr));

	return d ? d : (int)ntohs(x->be.port) - (int)ntohs(y->be.port);
}

int veer_stats_snapshot(struct veer *v, bool count_flows, struct veer_stats_snapshot *s)
{
	const struct veer_backend *table;
	const size_t words = sizeof(struct veer_counters) / sizeof(__u64);
	__s32 pos[VEER_MAX_VIPS]; /* VIP id -> its index in s->vips, -1 for none */
	struct veer_vip_info *vips = NULL;
	__u32 *ids = NULL;
	__u64 *sums = NULL;
	size_t n = 0, nb = 0;
	int err;

	memset(s, 0, sizeof(*s));
	err = veer_vip_list(v, &vips, &n);
	if (err)
		goto cleanup;
	table = veer_backends_get(v);
	if (!table) {
		err = -EIO;
		goto cleanup;
	}
	s->vips = calloc(n ? n : 1, sizeof(*s->vips));
	s->backends = calloc(VEER_MAX_BACKENDS, sizeof(*s->backends));
	ids = calloc(n > VEER_MAX_BACKENDS ? n : VEER_MAX_BACKENDS, sizeof(*ids));
	sums = calloc(n > VEER_MAX_BACKENDS ? n : VEER_MAX_BACKENDS, sizeof(struct veer_counters));
	if (!s->vips || !s->backends || !ids || !sums) {
		err = -ENOMEM;
		goto cleanup;
	}
	/*
	 * Each VIP's active backends, as veer_backend_list orders them: counted per VIP in one
	 * pass over the table, placed in a second.
	 */
	for (__u32 id = 0; id < VEER_MAX_VIPS; id++)
		pos[id] = -1;
	for (size_t i = 0; i < n; i++) {
		s->vips[i].key = vips[i].key;
		s->vips[i].vip = vips[i].vip;
		if (vips[i].vip.id < VEER_MAX_VIPS)
			pos[vips[i].vip.id] = i;
	}
	for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++)
		if ((table[id].flags & VEER_BACKEND_ACTIVE) && table[id].vip_id < VEER_MAX_VIPS &&
		    pos[table[id].vip_id] >= 0)
			s->vips[pos[table[id].vip_id]].nbackends++;
	for (size_t i = 0; i < n; i++) {
		s->vips[i].first_backend = nb;
		nb += s->vips[i].nbackends;
		s->vips[i].nbackends = 0;
	}
	for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++) {
		struct veer_stats_vip *sv;
		struct veer_stats_backend *sb;

		if (!(table[id].flags & VEER_BACKEND_ACTIVE) || table[id].vip_id >= VEER_MAX_VIPS ||
		    pos[table[id].vip_id] < 0)
			continue;
		sv = &s->vips[pos[table[id].vip_id]];
		sb = &s->backends[sv->first_backend + sv->nbackends++];
		sb->id = id;
		sb->gen = table[id].gen;
		sb->be = table[id];
	}
	for (size_t i = 0; i < n; i++)
		qsort(s->backends + s->vips[i].first_backend, s->vips[i].nbackends,
		      sizeof(*s->backends), snap_backend_cmp);
	s->nvips = n;
	s->nbackends = nb;

	for (size_t i = 0; i < n; i++)
		ids[i] = s->vips[i].vip.id;
	err = counters_read(v, v->skel->maps.veer_vip_stats, ids, n, sums, words);
	if (err)
		goto cleanup;
	for (size_t i = 0; i < n; i++)
		memcpy(&s->vips[i].c, sums + i * words, sizeof(s->vips[i].c));

	for (size_t i = 0; i < nb; i++)
		ids[i] = s->backends[i].id;
	err = counters_read(v, v->skel->maps.veer_be_stats, ids, nb, sums, words);
	if (err)
		goto cleanup;
	for (size_t i = 0; i < nb; i++)
		memcpy(&s->backends[i].c, sums + i * words, sizeof(s->backends[i].c));

	for (__u32 r = 0; r < VEER_REASON_MAX; r++)
		ids[r] = r;
	err = counters_read(v, v->skel->maps.veer_reasons, ids, VEER_REASON_MAX, s->reasons, 1);
	if (!err && count_flows)
		err = flows_count(v, s);
cleanup:
	free(sums);
	free(ids);
	free(vips);
	if (err) {
		pr_warn("cannot read the statistics in %s: %s\n", veer_pin_dir(), strerror(-err));
		veer_stats_free(s);
	}
	return err;
}

void veer_stats_free(struct veer_stats_snapshot *s)
{
	free(s->vips);
	free(s->backends);
	memset(s, 0, sizeof(*s));
}
