// SPDX-License-Identifier: GPL-2.0
/*
 * Deleting the entries of a large hash map that a predicate selects, in batches: a million
 * flows of a deleted VIP go in about a second instead of a syscall pair per entry.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"

/* Entries per batch syscall in veer_map_sweep(): 8192 IPv6 flows are 768 KiB of buffers. */
#define SWEEP_CHUNK 8192
/* The kernel's internal ENOTSUPP, which a map without batch operations returns as it is. */
#define SWEEP_ENOTSUPP 524

bool veer_batch_unsupported(int err)
{
	return err == -EINVAL || err == -EOPNOTSUPP || err == -SWEEP_ENOTSUPP;
}

/* Appends a key to a growing array of them; false when out of memory. */
static bool keys_push(char **keys, size_t *n, size_t *cap, const void *key, size_t ksz)
{
	if (*n == *cap) {
		size_t want = *cap ? *cap * 2 : 1024;
		char *grown = realloc(*keys, want * ksz);

		if (!grown)
			return false;
		*keys = grown;
		*cap = want;
	}
	memcpy(*keys + (*n)++ * ksz, key, ksz);
	return true;
}

/*
 * SWEEP_CHUNK entries per syscall. A hash map's batch token is a bucket index and a call
 * returns whole buckets only, so a bucket larger than the chunk fails with ENOSPC and nothing
 * copied: the chunk grows and the call is made again from the same bucket. ENOENT ends the
 * walk, still with the last entries copied. Without batch operations (before 5.6, or a map
 * type without them): one get_next_key and one lookup per entry.
 */
int veer_map_walk(struct bpf_map *map, int (*fn)(const void *key, const void *val, void *arg),
		  void *arg)
{
	size_t ksz = bpf_map__key_size(map), vsz = bpf_map__value_size(map);
	__u32 chunk = SWEEP_CHUNK, max = bpf_map__max_entries(map);
	char *keys = malloc(chunk * ksz), *vals = malloc(chunk * vsz), *cur, *next;
	__u64 token = 0; /* a __u32 for hash maps: a bigger buffer costs nothing */
	int fd = bpf_map__fd(map), err = -ENOMEM;
	bool started = false;
	void *prev = NULL;

	while (keys && vals) {
		__u32 count = chunk;

		err = bpf_map_lookup_batch(fd, started ? &token : NULL, &token, keys, vals, &count,
					   NULL);
		if (err == -ENOSPC && chunk < max) {
			char *k, *nv;

			chunk = chunk * 2 < max ? chunk * 2 : max;
			k = realloc(keys, chunk * ksz);
			if (k)
				keys = k;
			nv = realloc(vals, chunk * vsz);
			if (nv)
				vals = nv;
			if (!k || !nv) {
				err = -ENOMEM;
				break;
			}
			continue;
		}
		if (err && err != -ENOENT)
			break;
		started = true;
		for (__u32 i = 0; i < count; i++) {
			int rc = fn(keys + (size_t)i * ksz, vals + (size_t)i * vsz, arg);

			if (rc) {
				err = rc;
				goto cleanup;
			}
		}
		if (err == -ENOENT) {
			err = 0;
			break;
		}
	}
	if (!err || started || !veer_batch_unsupported(err) || !keys || !vals)
		goto cleanup;

	err = 0;
	cur = keys;
	next = keys + ksz; /* the buffer has room for chunk >= 2 keys */
	while (!err && !bpf_map__get_next_key(map, prev, next, ksz)) {
		if (!bpf_map__lookup_elem(map, next, ksz, vals, vsz, 0))
			err = fn(next, vals, arg);
		memcpy(cur, next, ksz);
		prev = cur;
	}
cleanup:
	free(vals);
	free(keys);
	return err;
}

/* The keys match() selects, collected: deleting during a walk would restart it. */
struct sweep {
	bool (*match)(const void *key, const void *value, const void *arg);
	const void *arg;
	size_t ksz, n, cap;
	char *keys;
};

static int sweep_collect(const void *key, const void *val, void *arg)
{
	struct sweep *s = arg;

	if (s->match(key, val, s->arg) && !keys_push(&s->keys, &s->n, &s->cap, key, s->ksz))
		return -ENOMEM;
	return 0;
}

/*
 * Deletes the collected keys, SWEEP_CHUNK per syscall. The kernel stops a batch at the first
 * key it cannot delete and says how many went before it; a key gone meanwhile (evicted, or
 * deleted by the data plane) is skipped and the rest still go.
 */
static void sweep_delete(struct bpf_map *map, const char *keys, size_t n)
{
	size_t ksz = bpf_map__key_size(map);
	int fd = bpf_map__fd(map), err;
	bool batch = true;

	for (size_t i = 0; i < n;) {
		__u32 want = n - i < SWEEP_CHUNK ? n - i : SWEEP_CHUNK, count = want;

		if (!batch) {
			veer_map_delete(map, keys + i++ * ksz, ksz);
			continue;
		}
		err = veer_map_delete_batch(fd, keys + i * ksz, &count);
		if (!err) {
			i += want;
			continue;
		}
		if (veer_batch_unsupported(err)) {
			/* Left count as it was, or deleted some: deleting those again is harmless.
			 */
			batch = false;
			continue;
		}
		if (err != -ENOENT)
			pr_warn("cannot delete an entry of %s: %s\n", bpf_map__name(map),
				strerror(-err));
		i += (count < want ? count : want) + 1; /* past the key that failed */
	}
}

/*
 * Deletes every entry of a hash map that match() selects. Only the matching keys are kept, in
 * memory; the walk reads the map in batches if the kernel can, one entry at a time if not.
 */
void veer_map_sweep(struct bpf_map *map,
		    bool (*match)(const void *key, const void *value, const void *arg),
		    const void *arg)
{
	struct sweep s = {.match = match, .arg = arg, .ksz = bpf_map__key_size(map)};
	int err;

	err = veer_map_walk(map, sweep_collect, &s);
	if (err)
		pr_warn("cannot walk %s: %s; deleting the %zu entries found so far\n",
			bpf_map__name(map), strerror(-err), s.n);
	sweep_delete(map, s.keys, s.n);
	free(s.keys);
}
