/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The manager's rule for which keys may be served (cache_policy.c): a key whose writes are
 * frequent relative to its reads is neither promoted nor kept. Plain arithmetic, unit-tested
 * on its own (tests/unit/test_cache_policy.c).
 */
#ifndef VEER_CACHE_POLICY_H
#define VEER_CACHE_POLICY_H

#include <stdbool.h>
#include <linux/types.h>

/* The default of `veer cache manage --max-write-ratio`: one write per 100 reads. */
#define VEER_CACHE_MAX_WRITE_RATIO 0.01

/*
 * How much of the previous rates a round keeps. A half per round: a burst of writes keeps a
 * key out for a few rounds, and a key whose writes stopped comes back a few rounds later.
 */
#define VEER_CACHE_RATE_DECAY 0.5

/*
 * How much of a key's rank a round keeps. Places in a full table go by rank, and the keys at
 * the table's edge are read less than once a round: with rate's half-life of one round they
 * would be ranked by noise, and every round would swap thousands of them.
 */
#define VEER_CACHE_RANK_DECAY 0.9

/*
 * Decayed per-round counts of one key: reads (misses and hits) and writes (all seen), and
 * rank, its reads with a longer memory.
 */
struct veer_cache_rate {
	double reads;
	double writes;
	double rank;
};

/* Folds one round's counts into the rates. */
void veer_cache_rate_fold(struct veer_cache_rate *r, __u64 reads, __u64 writes);

/*
 * Whether the key's writes outpace its reads: more than max_ratio writes per read. A key
 * with writes and no reads is write-heavy; one with neither is not.
 */
bool veer_cache_write_heavy(const struct veer_cache_rate *r, double max_ratio);

/*
 * Whether a candidate for a full table takes the place of a cached key: only if it ranks
 * twice as high, a margin against swapping keys of about equal rank back and forth.
 */
bool veer_cache_outranks(const struct veer_cache_rate *candidate,
			 const struct veer_cache_rate *cached);

/* Whether the rates have decayed to nothing worth remembering. */
bool veer_cache_rate_idle(const struct veer_cache_rate *r);

/*
 * The change of a counter that only grows while its holder lives: now - last, or now when the
 * holder was replaced (now < last: a new map element or entry started again from zero).
 */
static inline __u64 veer_cache_delta(__u64 now, __u64 last)
{
	return now >= last ? now - last : now;
}

#endif
