// SPDX-License-Identifier: GPL-2.0
/*
 * The manager's write/read rule (user/lib/cache_policy.c), as plain arithmetic: which keys are
 * write-heavy for a ratio, how rates decay across rounds, and the deltas of counters that
 * start again from zero when their holder is replaced.
 */
#include "test.h"
#include "cache_policy.h"

#define RATIO VEER_CACHE_MAX_WRITE_RATIO

/* Folds rounds rounds of (reads, writes) into a fresh rate. */
static struct veer_cache_rate rounds_of(int rounds, __u64 reads, __u64 writes)
{
	struct veer_cache_rate r = {};

	for (int i = 0; i < rounds; i++)
		veer_cache_rate_fold(&r, reads, writes);
	return r;
}

VEER_TEST(cache_policy_write_heavy_rule)
{
	struct veer_cache_rate r;

	r = rounds_of(5, 0, 0);
	ASSERT_FALSE(veer_cache_write_heavy(&r, RATIO), "no reads, no writes");
	r = rounds_of(5, 1000, 0);
	ASSERT_FALSE(veer_cache_write_heavy(&r, RATIO), "reads only");
	r = rounds_of(5, 0, 1);
	ASSERT_TRUE(veer_cache_write_heavy(&r, RATIO), "writes only");
	/* The writer of the consistency test: a write for every few reads. */
	r = rounds_of(5, 300, 100);
	ASSERT_TRUE(veer_cache_write_heavy(&r, RATIO), "1 write per 3 reads");
	/* The default is 1 write per 100 reads: at it the key is served, above it not. */
	r = rounds_of(5, 1000, 10);
	ASSERT_FALSE(veer_cache_write_heavy(&r, RATIO), "1 write per 100 reads");
	r = rounds_of(5, 1000, 11);
	ASSERT_TRUE(veer_cache_write_heavy(&r, RATIO), "11 writes per 1000 reads");
	r = rounds_of(5, 1000, 1);
	ASSERT_FALSE(veer_cache_write_heavy(&r, RATIO), "read-mostly");
	/* Ratio 0: any write keeps the key out; a large ratio lets nearly anything in. */
	ASSERT_TRUE(veer_cache_write_heavy(&r, 0), "ratio 0, one write");
	r = rounds_of(5, 10, 50);
	ASSERT_FALSE(veer_cache_write_heavy(&r, 10), "ratio 10, 5 writes per read");
	ASSERT_TRUE(veer_cache_write_heavy(&r, 4), "ratio 4, 5 writes per read");
}

VEER_TEST(cache_policy_rates_decay)
{
	struct veer_cache_rate r = {};

	veer_cache_rate_fold(&r, 100, 0);
	ASSERT_EQ(r.reads, 100, "first round: its count");
	veer_cache_rate_fold(&r, 100, 0);
	ASSERT_EQ(r.reads, 150, "second round: half the past plus the round");
	/* A burst of writes keeps a read key out, then decays until the key is served again. */
	r = rounds_of(10, 1000, 0);
	veer_cache_rate_fold(&r, 1000, 500);
	ASSERT_TRUE(veer_cache_write_heavy(&r, RATIO), "right after a burst of writes");
	for (int i = 0; i < 3; i++)
		veer_cache_rate_fold(&r, 1000, 0);
	ASSERT_TRUE(veer_cache_write_heavy(&r, RATIO), "3 quiet rounds later");
	for (int i = 0; i < 10; i++)
		veer_cache_rate_fold(&r, 1000, 0);
	ASSERT_FALSE(veer_cache_write_heavy(&r, RATIO), "13 quiet rounds later");
	/* A key that went quiet is forgotten. */
	ASSERT_FALSE(veer_cache_rate_idle(&r), "busy key");
	for (int i = 0; i < 30; i++)
		veer_cache_rate_fold(&r, 0, 0);
	ASSERT_FALSE(veer_cache_rate_idle(&r), "30 quiet rounds: its rank remains");
	for (int i = 0; i < 70; i++)
		veer_cache_rate_fold(&r, 0, 0);
	ASSERT_TRUE(veer_cache_rate_idle(&r), "after 100 quiet rounds");
}

VEER_TEST(cache_policy_rank)
{
	struct veer_cache_rate hot = rounds_of(20, 10, 0), edge = {}, tail = {}, once = {};

	/* A key read once every 4 rounds keeps a rank; its read rate mostly looks idle. */
	for (int i = 0; i < 40; i++)
		veer_cache_rate_fold(&edge, i % 4 == 0, 0);
	ASSERT_TRUE(edge.reads < 0.2, "the edge key's read rate, 3 rounds after its read");
	ASSERT_TRUE(edge.rank > 2, "the edge key's rank");
	/* A tail key seen once does not take its place; one read every round does. */
	veer_cache_rate_fold(&once, 1, 0);
	ASSERT_FALSE(veer_cache_outranks(&once, &edge), "one read against the edge key");
	for (int i = 0; i < 40; i++)
		veer_cache_rate_fold(&tail, 1, 0);
	ASSERT_TRUE(veer_cache_outranks(&tail, &edge), "a read every round against the edge key");
	ASSERT_FALSE(veer_cache_outranks(&edge, &hot), "the edge key against a hot key");
	/* About equal ranks never swap, either way. */
	ASSERT_FALSE(veer_cache_outranks(&hot, &hot), "equal ranks");
	/* Forgotten only once its rank has decayed too. */
	for (int i = 0; i < 5; i++)
		veer_cache_rate_fold(&edge, 0, 0);
	ASSERT_FALSE(veer_cache_rate_idle(&edge), "5 quiet rounds: rank left");
	for (int i = 0; i < 20; i++)
		veer_cache_rate_fold(&edge, 0, 0);
	ASSERT_TRUE(veer_cache_rate_idle(&edge), "25 quiet rounds");
	/* A key of the long tail, read once, is forgotten about as soon as before ranks. */
	for (int i = 0; i < 7; i++)
		veer_cache_rate_fold(&once, 0, 0);
	ASSERT_TRUE(veer_cache_rate_idle(&once), "a single read, 7 rounds ago");
}

VEER_TEST(cache_policy_delta)
{
	ASSERT_EQ(veer_cache_delta(10, 4), 6, "a growing counter");
	ASSERT_EQ(veer_cache_delta(4, 4), 0, "unchanged");
	ASSERT_EQ(veer_cache_delta(3, 10), 3, "replaced: counted again from zero");
	ASSERT_EQ(veer_cache_delta(7, 0), 7, "first sight");
}
