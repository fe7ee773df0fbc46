// SPDX-License-Identifier: GPL-2.0
/*
 * Weighted Maglev table population.
 *
 * As in the paper, each backend walks its own permutation of the slots (offset, offset + skip,
 * ... mod M; every slot is visited because M is prime and 0 < skip < M) and claims the first
 * free slot it meets. The paper hands out turns round robin; here the weights decide whose turn
 * it is: the next turn goes to the backend with the smallest (placed + 1/2) / weight, which is
 * stride scheduling, or Sainte-Laguë apportionment. Every turn claims exactly one slot, so at
 * any point each backend holds its weighted share of the slots filled so far to within about a
 * slot, and with equal weights the order is the paper's round robin. A binary heap keyed on that
 * ratio makes a turn O(log N) whatever the weights: a per-round credit scheme would visit every
 * backend once per slot of the heaviest one, O(M * N) when one backend dominates.
 *
 * The table must come out identical on every node that is given the same set of backends, or
 * ECMP spreading one flow over two nodes breaks it. So the backends are sorted into a canonical
 * order first, and the permutations come from a hash of the stored network-order bytes only,
 * computed with the fixed hash below. Changing the hash, its seeds, the sort order or the
 * turn order changes every table in a fleet: treat them as part of the wire format.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "maglev.h"

#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME  0x00000100000001b3ULL
#define SEED_OFFSET  0x9e3779b97f4a7c15ULL
#define SEED_SKIP    0xc2b2ae3d27d4eb4fULL

struct maglev_turn {
	__u64 placed; /* slots claimed so far */
	__u32 weight;
	__u32 id;
	__u32 next; /* next slot of this backend's permutation to try */
	__u32 skip;
};

bool veer_is_prime(__u64 n)
{
	if (n < 4)
		return n >= 2;
	if (n % 2 == 0 || n % 3 == 0)
		return false;
	/* Every prime above 3 is 6k +- 1; i <= n / i cannot overflow where i * i could. */
	for (__u64 i = 5; i <= n / i; i += 6) {
		if (n % i == 0 || n % (i + 2) == 0)
			return false;
	}
	return true;
}

/* The murmur3 64-bit finalizer: FNV-1a alone mixes its last bytes (the port) poorly. */
static __u64 fmix64(__u64 h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/*
 * FNV-1a over family, the 16 address bytes and the port as stored (network order), so the
 * result does not depend on host byte order. The family is hashed so that an IPv4 backend and
 * an IPv6 backend whose leading bytes match still get unrelated permutations.
 */
static __u64 backend_hash(const struct veer_maglev_backend *b, __u64 seed)
{
	__u8 key[1 + sizeof(b->addr.bytes) + sizeof(b->port)];
	__u64 h = FNV64_OFFSET ^ seed;

	key[0] = b->family;
	memcpy(&key[1], b->addr.bytes, sizeof(b->addr.bytes));
	memcpy(&key[1 + sizeof(b->addr.bytes)], &b->port, sizeof(b->port));
	for (size_t i = 0; i < sizeof(key); i++) {
		h ^= key[i];
		h *= FNV64_PRIME;
	}
	return fmix64(h);
}

/*
 * Canonical order: by identity, then by id and weight, so that even duplicate identities are
 * totally ordered and the caller's order can never leak into the table.
 */
static int backend_cmp(const void *pa, const void *pb)
{
	const struct veer_maglev_backend *a = pa, *b = pb;
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));
	if (r)
		return r;
	/* Network-order bytes compare in numeric order on any host. */
	r = memcmp(&a->port, &b->port, sizeof(a->port));
	if (r)
		return r;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	if (a->weight != b->weight)
		return a->weight < b->weight ? -1 : 1;
	return 0;
}

/*
 * Does backend a get its next turn before backend b? Compares (2 * placed + 1) / weight
 * exactly by cross-multiplying: placed <= VEER_RING_MAX < 2^20, so each product is below
 * 2^21 * 2^32 and fits. Ties go to the backend that sorts first, which keeps the order a
 * function of the set and makes equal weights plain round robin.
 */
static bool turn_before(const struct maglev_turn *turns, __u32 a, __u32 b)
{
	__u64 ka = (2 * turns[a].placed + 1) * turns[b].weight;
	__u64 kb = (2 * turns[b].placed + 1) * turns[a].weight;

	if (ka != kb)
		return ka < kb;
	return a < b;
}

static void heap_sift_down(__u32 *heap, __u32 n, __u32 i, const struct maglev_turn *turns)
{
	for (;;) {
		__u32 l = 2 * i + 1, r = l + 1, m = i, tmp;

		if (l < n && turn_before(turns, heap[l], heap[m]))
			m = l;
		if (r < n && turn_before(turns, heap[r], heap[m]))
			m = r;
		if (m == i)
			return;
		tmp = heap[i];
		heap[i] = heap[m];
		heap[m] = tmp;
		i = m;
	}
}

/* (pos + skip) % m without the division: both are below m, and m <= VEER_RING_MAX. */
static inline __u32 perm_step(__u32 pos, __u32 skip, __u32 m)
{
	pos += skip;
	return pos >= m ? pos - m : pos;
}

/* A turn: the backend's next slot in its permutation not taken yet becomes its own. */
static inline void turn_claim(struct maglev_turn *t, __u64 *taken, __u32 *ring, __u32 m)
{
	__u32 s = t->next;

	while (taken[s / 64] & (1ULL << (s % 64)))
		s = perm_step(s, t->skip, m);
	taken[s / 64] |= 1ULL << (s % 64);
	ring[s] = t->id;
	t->next = perm_step(s, t->skip, m);
}

int veer_maglev_build(const struct veer_maglev_backend *backends, size_t n, __u32 ring_size,
		      __u32 *ring)
{
	struct veer_maglev_backend *sorted = NULL;
	struct maglev_turn *turns = NULL;
	__u64 *taken = NULL;
	__u32 *heap = NULL;
	__u32 m = ring_size, nw = 0;
	bool equal;
	int err = 0;

	if ((n && !backends) || !ring)
		return -EINVAL;
	/* Larger tables do not fit the data plane's map, and turn_before() relies on the bound. */
	if (!veer_is_prime(m) || m > VEER_RING_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		nw += backends[i].weight ? 1 : 0;
	if (nw > m)
		return -EINVAL;
	if (!nw) {
		for (__u32 s = 0; s < m; s++)
			ring[s] = VEER_NO_BACKEND;
		return 0;
	}

	sorted = calloc(nw, sizeof(*sorted));
	turns = calloc(nw, sizeof(*turns));
	heap = calloc(nw, sizeof(*heap));
	taken = calloc(((size_t)m + 63) / 64, sizeof(*taken));
	if (!sorted || !turns || !heap || !taken) {
		err = -ENOMEM;
		goto cleanup;
	}

	nw = 0;
	for (size_t i = 0; i < n; i++) {
		struct veer_maglev_backend *b;

		if (!backends[i].weight)
			continue;
		b = &sorted[nw++];
		*b = backends[i];
		/*
		 * The ABI says IPv4 leaves bytes 4..15 zero; make sure, or stray bytes from one
		 * caller would hand its node a different table from the rest of the fleet.
		 */
		if (b->family == VEER_AF_INET)
			memset(&b->addr.bytes[4], 0, sizeof(b->addr.bytes) - 4);
	}
	qsort(sorted, nw, sizeof(*sorted), backend_cmp);

	equal = true;
	for (__u32 i = 0; i < nw; i++) {
		turns[i].weight = sorted[i].weight;
		turns[i].id = sorted[i].id;
		turns[i].next = backend_hash(&sorted[i], SEED_OFFSET) % m;
		turns[i].skip = backend_hash(&sorted[i], SEED_SKIP) % (m - 1) + 1;
		heap[i] = i;
		equal &= turns[i].weight == turns[0].weight;
	}
	/*
	 * Equal weights: the heap would hand out turns in the canonical order, round after round
	 * (equal ratios tie, and ties go to the backend that sorts first). Taken in that order
	 * directly, the table is the same and the heap's cost, most of the build, is gone.
	 */
	if (equal) {
		for (__u32 filled = 0, i = 0; filled < m; filled++, i = i + 1 == nw ? 0 : i + 1)
			turn_claim(&turns[i], taken, ring, m);
		goto cleanup;
	}
	for (__u32 i = nw / 2; i-- > 0;)
		heap_sift_down(heap, nw, i, turns);

	/*
	 * Every turn claims one slot, and a backend's walk always ends because its permutation
	 * covers the whole table, so this runs exactly M turns. Expected total walk is M ln M as
	 * in the paper: weights change who walks, not how full the table is when they do.
	 */
	for (__u32 filled = 0; filled < m; filled++) {
		struct maglev_turn *t = &turns[heap[0]];

		turn_claim(t, taken, ring, m);
		t->placed++;
		heap_sift_down(heap, nw, 0, turns);
	}

cleanup:
	free(taken);
	free(heap);
	free(turns);
	free(sorted);
	return err;
}
