// SPDX-License-Identifier: GPL-2.0
/*
 * Weighted Maglev: shares follow weights, removing a backend moves little else, and the table
 * depends only on the set of backends. Test addresses are 198.18.0.0/15 and 2001:2::/48
 * (benchmarking ranges, RFC 2544 and RFC 5180).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include "test.h"
#include "maglev.h"

#define RING	65537
#define ID_BASE 1000 /* ids unlike array indices, so a mix-up of the two shows */
/* A backend's slots may differ from its weighted share by this fraction of the share. */
#define SHARE_TOLERANCE 0.01

/* splitmix64: a fixed seed gives the same "random" data on every run and every host. */
static __u64 rng_state;

static void rng_seed(__u64 seed)
{
	rng_state = seed;
}

static __u64 rng_next(void)
{
	__u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u32 rng_range(__u32 lo, __u32 hi)
{
	return lo + (__u32)(rng_next() % ((__u64)hi - lo + 1));
}

static void shuffle(struct veer_maglev_backend *b, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rng_next() % i;
		struct veer_maglev_backend tmp = b[i - 1];

		b[i - 1] = b[j];
		b[j] = tmp;
	}
}

/* Backend i is 198.18.0.0/15 host i + 1, port 8080. */
static void make_v4(struct veer_maglev_backend *b, __u32 i, __u32 weight)
{
	__u32 host = i + 1;

	memset(b, 0, sizeof(*b));
	b->id = ID_BASE + i;
	b->weight = weight;
	b->family = VEER_AF_INET;
	b->addr.bytes[0] = 198;
	b->addr.bytes[1] = 18 + ((host >> 16) & 1);
	b->addr.bytes[2] = host >> 8;
	b->addr.bytes[3] = host;
	b->port = htons(8080);
}

/* Backend i is 2001:2::(i + 1), port 8080. */
static void make_v6(struct veer_maglev_backend *b, __u32 i, __u32 weight)
{
	__u32 host = i + 1;

	memset(b, 0, sizeof(*b));
	b->id = ID_BASE + i;
	b->weight = weight;
	b->family = VEER_AF_INET6;
	b->addr.bytes[0] = 0x20;
	b->addr.bytes[1] = 0x01;
	b->addr.bytes[3] = 0x02;
	b->addr.bytes[14] = host >> 8;
	b->addr.bytes[15] = host;
	b->port = htons(8080);
}

static void make_set(struct veer_maglev_backend *b, size_t n, bool v6, const __u32 *weights)
{
	for (size_t i = 0; i < n; i++) {
		if (v6)
			make_v6(&b[i], i, weights ? weights[i] : VEER_WEIGHT_DEFAULT);
		else
			make_v4(&b[i], i, weights ? weights[i] : VEER_WEIGHT_DEFAULT);
	}
}

/*
 * Every slot holds the id of a weighted backend, and each backend holds its weighted share of
 * the slots to within 1% of that share, or within one slot when 1% of it is less than a slot:
 * the tolerance is relative, so a light backend's share is checked as strictly as a heavy
 * one's (a backend of 100 equal ones with no slot at all is 100% off, not 1% of the ring).
 * Stride scheduling places every backend within about a slot of its share, so the slot floor
 * is all the slack the light ones need.
 */
static bool check_shares(const struct veer_maglev_backend *b, size_t n, const __u32 *ring, __u32 m,
			 const char *what)
{
	double sum = 0;
	size_t bad = 0;
	__u32 *count;
	bool ok = true;

	count = calloc(n, sizeof(*count));
	if (!ASSERT_TRUE(count, "calloc"))
		return false;
	for (size_t i = 0; i < n; i++)
		sum += b[i].weight;
	for (__u32 s = 0; s < m; s++) {
		__u32 i = ring[s] - ID_BASE;

		if (ring[s] < ID_BASE || i >= n || !b[i].weight) {
			ok = veer_test_fail(__FILE__, __LINE__, "%s: slot %u holds id %u", what, s,
					    ring[s]);
			break;
		}
		count[i]++;
	}
	/* The first few backends off their share are named: the one that lost slots, too. */
	for (size_t i = 0; ok && i < n; i++) {
		double want = b[i].weight / sum * m;
		double tol = fmax(SHARE_TOLERANCE * want, 1.0);

		if (fabs(count[i] - want) > tol && ++bad <= 3)
			veer_test_fail(__FILE__, __LINE__,
				       "%s: backend %zu (weight %u) has %u slots, want %.2f "
				       "(+-%.2f)",
				       what, i, b[i].weight, count[i], want, tol);
	}
	if (bad > 3)
		veer_test_fail(__FILE__, __LINE__, "%s: %zu backends in all off their share", what,
			       bad);
	ok = ok && !bad;
	free(count);
	return ok;
}

static bool build_and_check(const struct veer_maglev_backend *b, size_t n, __u32 m,
			    const char *what)
{
	__u32 *ring = malloc(m * sizeof(*ring));
	bool ok;

	if (!ASSERT_TRUE(ring, "malloc"))
		return false;
	ok = ASSERT_OK(veer_maglev_build(b, n, m, ring), what) && check_shares(b, n, ring, m, what);
	free(ring);
	return ok;
}

/*
 * Build with all n, then without b[gone]; count every slot that changed. Draining b[gone]
 * (weight 0) must give the very same table as leaving it out.
 */
static bool check_removal(struct veer_maglev_backend *b, size_t n, size_t gone, const char *what)
{
	struct veer_maglev_backend *rest = calloc(n, sizeof(*rest));
	struct veer_maglev_backend *drained = calloc(n, sizeof(*drained));
	__u32 *before = malloc(RING * sizeof(*before));
	__u32 *after = malloc(RING * sizeof(*after));
	__u32 *after_drained = malloc(RING * sizeof(*after_drained));
	size_t changed = 0, nrest = 0;
	double sum = 0;
	bool ok = false;

	if (!ASSERT_TRUE(rest && drained && before && after && after_drained, "alloc"))
		goto cleanup;
	memcpy(drained, b, n * sizeof(*b));
	drained[gone].weight = 0;
	for (size_t i = 0; i < n; i++) {
		if (i != gone)
			rest[nrest++] = b[i];
	}
	if (!ASSERT_OK(veer_maglev_build(b, n, RING, before), what) ||
	    !ASSERT_OK(veer_maglev_build(rest, nrest, RING, after), what) ||
	    !ASSERT_OK(veer_maglev_build(drained, n, RING, after_drained), what) ||
	    !ASSERT_MEMEQ(after_drained, RING * sizeof(*after), after, RING * sizeof(*after), what))
		goto cleanup;
	for (__u32 s = 0; s < RING; s++) {
		if (after[s] == b[gone].id) {
			veer_test_fail(__FILE__, __LINE__, "%s: removed backend still in slot %u",
				       what, s);
			goto cleanup;
		}
		changed += before[s] != after[s];
	}
	for (size_t i = 0; i < n; i++)
		sum += b[i].weight;
	/* 1/N + 2% with equal weights; its weight share + 2% in general. */
	ok = ASSERT_LE(changed, RING * (b[gone].weight / sum + 0.02), what) &&
	     check_shares(drained, n, after, RING, what);
cleanup:
	free(after_drained);
	free(after);
	free(before);
	free(drained);
	free(rest);
	return ok;
}

/* The same set in several shuffled orders gives byte-identical tables. */
static bool check_order_independent(struct veer_maglev_backend *b, size_t n, const char *what)
{
	__u32 *want = malloc(RING * sizeof(*want));
	__u32 *got = malloc(RING * sizeof(*got));
	bool ok = false;

	if (!ASSERT_TRUE(want && got, "malloc"))
		goto cleanup;
	if (!ASSERT_OK(veer_maglev_build(b, n, RING, want), what))
		goto cleanup;
	for (int round = 0; round < 5; round++) {
		shuffle(b, n);
		if (!ASSERT_OK(veer_maglev_build(b, n, RING, got), what) ||
		    !ASSERT_MEMEQ(got, RING * sizeof(*got), want, RING * sizeof(*want), what))
			goto cleanup;
	}
	ok = true;
cleanup:
	free(got);
	free(want);
	return ok;
}

VEER_TEST(maglev_share)
{
	static const size_t sizes[] = { 3, 10, 100 };
	struct veer_maglev_backend b[100];
	__u32 w[100];
	char what[64];

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		make_set(b, sizes[k], false, NULL);
		snprintf(what, sizeof(what), "%zu equal backends", sizes[k]);
		build_and_check(b, sizes[k], RING, what);
	}

	w[0] = 2;
	w[1] = 1;
	w[2] = 1;
	make_set(b, 3, false, w);
	build_and_check(b, 3, RING, "weights 2:1:1");

	rng_seed(1);
	for (size_t i = 0; i < 10; i++)
		w[i] = rng_range(1, 100);
	make_set(b, 10, false, w);
	build_and_check(b, 10, RING, "10 random weights 1..100");

	rng_seed(2);
	for (size_t i = 0; i < 100; i++)
		w[i] = rng_range(1, VEER_WEIGHT_MAX);
	make_set(b, 100, false, w);
	build_and_check(b, 100, RING, "100 random weights 1..VEER_WEIGHT_MAX");

	/*
	 * One heavy backend among light ones: the light ones still get their small share, about
	 * 6.5 slots each, and check_shares holds each to it within a slot.
	 */
	for (size_t i = 0; i < 100; i++)
		w[i] = i ? 1 : VEER_WEIGHT_MAX;
	make_set(b, 100, false, w);
	build_and_check(b, 100, RING, "one heavy, 99 light");

	make_set(b, 100, false, NULL);
	build_and_check(b, 100, VEER_RING_MAX, "100 equal backends, VEER_RING_MAX");
}

VEER_TEST(maglev_removal)
{
	static const size_t sizes[] = { 3, 10, 100 };
	struct veer_maglev_backend b[100];
	char what[64];
	__u32 w[100];

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		/* First, last and middle in the canonical order: each disturbs it differently. */
		size_t gone[] = { 0, n - 1, n / 2 };

		make_set(b, n, false, NULL);
		for (size_t g = 0; g < sizeof(gone) / sizeof(gone[0]); g++) {
			snprintf(what, sizeof(what), "remove %zu of %zu", gone[g], n);
			check_removal(b, n, gone[g], what);
		}
	}

	rng_seed(6);
	for (size_t i = 0; i < 100; i++)
		w[i] = rng_range(1, 100);
	make_set(b, 100, false, w);
	for (size_t g = 0; g < 100; g += 33) {
		snprintf(what, sizeof(what), "remove %zu (weight %u) of 100 weighted", g, w[g]);
		check_removal(b, 100, g, what);
	}
	make_set(b, 3, false, (const __u32[]){ 2, 1, 1 });
	check_removal(b, 3, 0, "remove the heavy one of 2:1:1");
	check_removal(b, 3, 2, "remove a light one of 2:1:1");
}

VEER_TEST(maglev_order_independent)
{
	struct veer_maglev_backend b[100];
	__u32 w[100];

	rng_seed(3);
	for (size_t i = 0; i < 100; i++)
		w[i] = rng_range(0, 100);
	make_set(b, 100, false, w);
	check_order_independent(b, 100, "100 IPv4 with random weights");

	/* Same ports, addresses differing only in family: the family must order them too. */
	make_set(b, 50, false, NULL);
	make_set(b + 50, 50, true, NULL);
	for (size_t i = 50; i < 100; i++)
		b[i].id = ID_BASE + i;
	check_order_independent(b, 100, "IPv4 and IPv6 mixed");

	/* Same address on several ports. */
	for (size_t i = 0; i < 10; i++) {
		make_v4(&b[i], 0, 1 + i);
		b[i].id = ID_BASE + i;
		b[i].port = htons(8000 + i);
	}
	check_order_independent(b, 10, "one address, ten ports");
}

VEER_TEST(maglev_zero_weight)
{
	struct veer_maglev_backend b[10];
	__u32 *ring = malloc(RING * sizeof(*ring));
	__u32 w[10] = { 0, 5, 0, 5, 0, 5, 0, 5, 0, 5 };
	size_t bad = 0;

	if (!ASSERT_TRUE(ring, "malloc"))
		return;

	make_set(b, 10, false, w);
	if (ASSERT_OK(veer_maglev_build(b, 10, RING, ring), "half the weights zero"))
		check_shares(b, 10, ring, RING, "half the weights zero");

	memset(w, 0, sizeof(w));
	make_set(b, 10, false, w);
	if (ASSERT_OK(veer_maglev_build(b, 10, RING, ring), "all weights zero")) {
		for (__u32 s = 0; s < RING; s++)
			bad += ring[s] != VEER_NO_BACKEND;
		ASSERT_EQ(bad, 0, "slots holding a backend with all weights zero");
	}

	/* No backends at all is the same as no weighted ones. */
	bad = 0;
	if (ASSERT_OK(veer_maglev_build(NULL, 0, 7, ring), "no backends")) {
		for (__u32 s = 0; s < 7; s++)
			bad += ring[s] != VEER_NO_BACKEND;
		ASSERT_EQ(bad, 0, "slots holding a backend with no backends");
	}

	/* Zero-weight backends do not count against the ring size. */
	w[0] = w[1] = 1;
	make_set(b, 10, false, w);
	if (ASSERT_OK(veer_maglev_build(b, 10, 2, ring), "2 weighted of 10 in 2 slots"))
		ASSERT_TRUE((ring[0] == ID_BASE && ring[1] == ID_BASE + 1) ||
				    (ring[0] == ID_BASE + 1 && ring[1] == ID_BASE),
			    "each of 2 backends in one of 2 slots");
	free(ring);
}

VEER_TEST(maglev_invalid)
{
	static const __u32 not_prime[] = { 0, 1, 4, 65535, 65536, 1048575 };
	struct veer_maglev_backend b[10];
	__u32 *ring = malloc(RING * sizeof(*ring));

	if (!ASSERT_TRUE(ring, "malloc"))
		return;
	make_set(b, 10, false, NULL);
	for (size_t i = 0; i < sizeof(not_prime) / sizeof(not_prime[0]); i++)
		ASSERT_EQ(veer_maglev_build(b, 10, not_prime[i], ring), -EINVAL, "ring not prime");
	/* Larger than the data plane's ring map; checked before anything is written. */
	ASSERT_EQ(veer_maglev_build(b, 10, 1048583, ring), -EINVAL, "prime above VEER_RING_MAX");
	ASSERT_EQ(veer_maglev_build(b, 10, 7, ring), -EINVAL, "ring smaller than backends");
	ASSERT_OK(veer_maglev_build(b, 10, 11, ring), "ring just larger than backends");
	ASSERT_EQ(veer_maglev_build(b, 0, 4, ring), -EINVAL, "no backends, ring not prime");
	ASSERT_EQ(veer_maglev_build(b, 10, RING, NULL), -EINVAL, "no ring");
	ASSERT_EQ(veer_maglev_build(NULL, 10, RING, ring), -EINVAL, "no backends array");
	free(ring);
}

VEER_TEST(maglev_is_prime)
{
	static const __u64 primes[] = { 2, 3, 5, 7, 11, 13, 65537, 1048573, 4294967291ULL };
	static const __u64 composites[] = { 0, 1, 4, 9, 25, 49, 65535, 65536, 1048575,
					    1048576, 4294967297ULL /* 641 * 6700417 */ };

	for (size_t i = 0; i < sizeof(primes) / sizeof(primes[0]); i++) {
		if (!veer_is_prime(primes[i]))
			veer_test_fail(__FILE__, __LINE__, "%llu: want prime",
				       (unsigned long long)primes[i]);
	}
	for (size_t i = 0; i < sizeof(composites) / sizeof(composites[0]); i++) {
		if (veer_is_prime(composites[i]))
			veer_test_fail(__FILE__, __LINE__, "%llu: want not prime",
				       (unsigned long long)composites[i]);
	}
}

VEER_TEST(maglev_ipv6)
{
	struct veer_maglev_backend b[100], v4[3];
	__u32 w[10], a[13], c[13];

	make_set(b, 3, true, NULL);
	build_and_check(b, 3, RING, "3 equal IPv6");
	make_set(b, 100, true, NULL);
	build_and_check(b, 100, RING, "100 equal IPv6");
	rng_seed(4);
	for (size_t i = 0; i < 10; i++)
		w[i] = rng_range(1, 100);
	make_set(b, 10, true, w);
	build_and_check(b, 10, RING, "10 IPv6 with random weights");

	make_set(b, 10, true, NULL);
	check_removal(b, 10, 4, "remove 1 of 10 IPv6");
	make_set(b, 100, true, NULL);
	check_removal(b, 100, 42, "remove 1 of 100 IPv6");

	rng_seed(5);
	check_order_independent(b, 100, "100 IPv6");

	/* Same bytes, different family: the family is hashed, so the tables differ. */
	make_set(v4, 3, false, NULL);
	memcpy(b, v4, sizeof(v4));
	for (size_t i = 0; i < 3; i++)
		b[i].family = VEER_AF_INET6;
	if (ASSERT_OK(veer_maglev_build(b, 3, 13, a), "IPv6 3 in 13") &&
	    ASSERT_OK(veer_maglev_build(v4, 3, 13, c), "IPv4 3 in 13"))
		ASSERT_TRUE(memcmp(a, c, sizeof(a)), "IPv4 and IPv6 tables differ");
}

/*
 * The table is shared state across a fleet: nodes running different veer versions must still
 * agree. Pin a few small tables so that any change to the hash, the seeds, the canonical order
 * or the turn order fails here rather than silently remapping every flow during an upgrade.
 */
VEER_TEST(maglev_golden)
{
	static const __u32 want_v4[13] = { 1002, 1000, 1001, 1001, 1000, 1000, 1002,
					   1000, 1002, 1000, 1000, 1001, 1000 };
	static const __u32 want_v6[13] = { 1000, 1000, 1000, 1002, 1000, 1000, 1000,
					   1001, 1002, 1002, 1000, 1001, 1001 };
	struct veer_maglev_backend b[3];
	__u32 w[3] = { 2, 1, 1 };
	__u32 got[13];

	make_set(b, 3, false, w);
	if (ASSERT_OK(veer_maglev_build(b, 3, 13, got), "golden IPv4")) {
		ASSERT_MEMEQ(got, sizeof(got), want_v4, sizeof(want_v4), "golden IPv4 table");
	}
	make_set(b, 3, true, w);
	if (ASSERT_OK(veer_maglev_build(b, 3, 13, got), "golden IPv6")) {
		ASSERT_MEMEQ(got, sizeof(got), want_v6, sizeof(want_v6), "golden IPv6 table");
	}
}

/* A full-size table too, pinned by a checksum of its values (not its host-order bytes). */
VEER_TEST(maglev_golden_full)
{
	struct veer_maglev_backend b[20];
	__u32 *ring = malloc(RING * sizeof(*ring));
	__u64 sum = 0;

	if (!ASSERT_TRUE(ring, "malloc"))
		return;
	make_set(b, 10, false, NULL);
	make_set(b + 10, 10, true, NULL);
	for (size_t i = 0; i < 20; i++) {
		b[i].id = ID_BASE + i;
		b[i].weight = 1 + i * 7;
	}
	if (ASSERT_OK(veer_maglev_build(b, 20, RING, ring), "golden full")) {
		for (__u32 s = 0; s < RING; s++)
			sum = sum * 31 + ring[s];
		ASSERT_EQ(sum, 0xabe678dcf843ae26ULL, "checksum of the 20-backend table");
	}
	free(ring);
}

/*
 * Equal weights take turns in the canonical order, round robin, without the heap: the same
 * tables as the heap's, pinned by checksums taken from it (full size, and a small prime).
 */
VEER_TEST(maglev_golden_equal)
{
	static const __u32 sizes[] = {RING, 251};
	static const __u64 want[] = {0xeee2b46a79bfd350ULL, 0x8c75c665151223fdULL};
	struct veer_maglev_backend b[20];
	__u32 *ring = malloc(RING * sizeof(*ring));

	if (!ASSERT_TRUE(ring, "malloc"))
		return;
	make_set(b, 10, false, NULL);
	make_set(b + 10, 10, true, NULL);
	for (size_t i = 0; i < 20; i++) {
		b[i].id = ID_BASE + i;
		b[i].weight = 100;
	}
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		__u64 sum = 0;

		if (!ASSERT_OK(veer_maglev_build(b, 20, sizes[k], ring), "equal weights"))
			break;
		for (__u32 s = 0; s < sizes[k]; s++)
			sum = sum * 31 + ring[s];
		ASSERT_EQ(sum, want[k], "checksum of the equal-weight table");
	}
	free(ring);
}
