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

/* A kernel without the batch commands (before 5.6), or a map type without them. */
static bool batch_unsupported(int err)
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
 * The slow walk, for kernels without batch lookups: one get_next_key and one lookup per entry.
 * Keys are collected first: deleting during a get_next_key walk would restart it at the table's
 * start.
 */
static void sweep_walk(struct bpf_map *map,
		       bool (*match)(const void *key, const void *value, const void *arg),
		       const void *arg, char **keys, size_t *n, size_t *cap)
{
	size_t ksz = bpf_map__key_size(map), vsz = bpf_map__value_size(map);
	char *cur = malloc(ksz), *next = malloc(ksz), *val = malloc(vsz);
	void *prev = NULL;

	if (!cur || !next || !val)
		goto cleanup;
	while (!bpf_map__get_next_key(map, prev, next, ksz)) {
		if (!bpf_map__lookup_elem(map, next, ksz, val, vsz, 0) && match(next, val, arg) &&
		    !keys_push(keys, n, cap, next, ksz))
			break;
		memcpy(cur, next, ksz);
		prev = cur;
	}
cleanup:
	free(val);
	free(next);
	free(cur);
}

/*
 * The fast walk: SWEEP_CHUNK entries per syscall. A hash map's batch token is a bucket index
 * and a call returns whole buckets only, so a bucket larger than the chunk fails with ENOSPC
 * and nothing copied: the chunk grows and the call is made again from the same bucket. ENOENT
 * ends the walk, still with the last entries copied. Returns 0, or a negative errno.
 */
static int sweep_batch(struct bpf_map *map,
		       bool (*match)(const void *key, const void *value, const void *arg),
		       const void *arg, char **keys, size_t *n, size_t *cap)
{
	size_t ksz = bpf_map__key_size(map), vsz = bpf_map__value_size(map);
	__u32 chunk = SWEEP_CHUNK, max = bpf_map__max_entries(map);
	char *bkeys = malloc(chunk * ksz), *bvals = malloc(chunk * vsz);
	__u64 token = 0; /* a __u32 for hash maps: a bigger buffer costs nothing */
	bool started = false;
	int fd = bpf_map__fd(map), err = -ENOMEM;

	while (bkeys && bvals) {
		__u32 count = chunk;

		err = bpf_map_lookup_batch(fd, started ? &token : NULL, &token, bkeys, bvals,
					   &count, NULL);
		if (err == -ENOSPC && chunk < max) {
			char *k, *v;

			chunk = chunk * 2 < max ? chunk * 2 : max;
			k = realloc(bkeys, chunk * ksz);
			if (k)
				bkeys = k;
			v = realloc(bvals, chunk * vsz);
			if (v)
				bvals = v;
			if (!k || !v) {
				err = -ENOMEM;
				break;
			}
			continue;
		}
		if (err && err != -ENOENT)
			break;
		started = true;
		for (__u32 i = 0; i < count; i++) {
			const char *key = bkeys + (size_t)i * ksz;

			if (match(key, bvals + (size_t)i * vsz, arg) &&
			    !keys_push(keys, n, cap, key, ksz)) {
				err = -ENOMEM;
				goto out;
			}
		}
		if (err == -ENOENT) {
			err = 0;
			break;
		}
	}
out:
	free(bvals);
	free(bkeys);
	return err;
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
		if (batch_unsupported(err)) {
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
	size_t n = 0, cap = 0;
	char *keys = NULL;
	int err;

	err = sweep_batch(map, match, arg, &keys, &n, &cap);
	if (err && batch_unsupported(err) && !n) {
		sweep_walk(map, match, arg, &keys, &n, &cap);
	} else if (err) {
		pr_warn("cannot walk %s: %s; deleting the %zu entries found so far\n",
			bpf_map__name(map), strerror(-err), n);
	}
	sweep_delete(map, keys, n);
	free(keys);
}
