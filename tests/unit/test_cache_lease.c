// SPDX-License-Identifier: GPL-2.0
/*
 * The manager's lease in the hit path (cache_find in bpf/lib/cache_serve.h): a protocol's
 * entries are served only before its lease (veer_cache_glob.lease_ns), so that the entries of
 * a manager killed outright stop being served once it no longer renews it; 0 is no lease.
 * Run through the programs on real connections (harness: cache_harness.h), exact bytes and
 * every counter checked.
 */
#include <stdlib.h>
#include <time.h>
#include "cache_harness.h"

#define R VEER_CACHE_REDIS
#define M VEER_CACHE_MEMCACHED

#define GET_K	"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
#define HELLO	"$5\r\nhello\r\n"
#define FROMSRV "$6\r\nserver\r\n"
#define MC_GET	"get k\r\n"
#define MC_HIT	"VALUE k 0 5\r\nhello\r\nEND\r\n"
#define MC_MISS "END\r\n"

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool lease(__u8 proto, __u64 until)
{
	return ASSERT_OK(veer_cache_lease_set(&cache_env.vc, proto, until), "veer_cache_lease_set");
}

/* The entry is still there, only not served: a late renewal serves it again. */
static bool entry_kept(__u8 proto, bool current, const char *what)
{
	struct veer_cache_item it;
	size_t vlen;
	void *v;

	if (!ASSERT_OK(veer_cache_get(&cache_env.vc, proto, "k", 1, &v, &vlen, &it), what))
		return false;
	free(v);
	return ASSERT_EQ(it.current, current, what);
}

/* No lease (no manager ever ran, or it stopped): entries put by hand serve until their TTL. */
VEER_TEST(cache_lease_none_serves)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		CACHE_STATS_EQ("no lease", {VEER_CACHE_HIT, 1});
	cache_conn_close(&cc);
}

/* A lease ahead of now serves; one behind passes the GET to the server, and it is a miss. */
VEER_TEST(cache_lease_lapsed_passes)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!lease(R, mono_ns() + 10000000000ULL) || !exchange_hit(&cc, LIT(GET_K), LIT(HELLO)) ||
	    !entry_kept(R, true, "current under a live lease"))
		goto out;
	/* 1 ns after boot: long past, and not 0 (which would be no lease). */
	if (!lease(R, 1) || !exchange_passed(&cc, LIT(GET_K), LIT(FROMSRV)) ||
	    !entry_kept(R, false, "not current once the lease ran out"))
		goto out;
	CACHE_STATS_EQ("lapsed", {VEER_CACHE_HIT, 1}, {VEER_CACHE_MISS, 1}, {VEER_CACHE_LAPSED, 1},
		       {VEER_CACHE_REPLIES, 1});
	/* Renewed: the same entry serves again (its manager read every notification first). */
	if (lease(R, mono_ns() + 10000000000ULL) && exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		CACHE_STATS_EQ("renewed", {VEER_CACHE_HIT, 2}, {VEER_CACHE_MISS, 1},
			       {VEER_CACHE_LAPSED, 1}, {VEER_CACHE_REPLIES, 1});
out:
	cache_conn_close(&cc);
}

/* Each protocol has its own lease: a memcached manager's does not vouch for Redis entries. */
VEER_TEST(cache_lease_per_protocol)
{
	struct cache_conn r, m;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_put(M, "k", "hello", 0))
		return;
	if (!cache_conn_open(&r, R))
		return;
	if (!cache_conn_open(&m, M)) {
		cache_conn_close(&r);
		return;
	}
	if (lease(M, 1) && lease(R, mono_ns() + 10000000000ULL) &&
	    exchange_hit(&r, LIT(GET_K), LIT(HELLO)) &&
	    exchange_passed(&m, LIT(MC_GET), LIT(MC_MISS)))
		CACHE_STATS_EQ("memcached lapsed, redis live", {VEER_CACHE_HIT, 1},
			       {VEER_CACHE_MISS, 1}, {VEER_CACHE_LAPSED, 1},
			       {VEER_CACHE_REPLIES, 1});
	if (lease(M, mono_ns() + 10000000000ULL) && lease(R, 1) &&
	    exchange_hit(&m, LIT(MC_GET), LIT(MC_HIT)) &&
	    exchange_passed(&r, LIT(GET_K), LIT(FROMSRV)))
		CACHE_STATS_EQ("redis lapsed, memcached live", {VEER_CACHE_HIT, 2},
			       {VEER_CACHE_MISS, 2}, {VEER_CACHE_LAPSED, 2},
			       {VEER_CACHE_REPLIES, 2});
	cache_conn_close(&r);
	cache_conn_close(&m);
}

/* The epoch bump a manager makes when it starts, stops or loses its feed: all stale at once. */
VEER_TEST(cache_lease_epoch_bump)
{
	struct veer_cache_glob *g;
	struct cache_conn cc;
	__u64 epoch;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_put(M, "k", "hello", 0) ||
	    !cache_conn_open(&cc, R))
		return;
	g = veer_cache_glob_map(&cache_env.vc);
	if (!ASSERT_TRUE(g, "veer_cache_glob mapped"))
		goto out;
	epoch = g->epoch;
	if (!ASSERT_OK(veer_cache_epoch_bump(&cache_env.vc), "veer_cache_epoch_bump"))
		goto out;
	ASSERT_EQ(g->epoch, epoch + 1, "the epoch, read through the mapping");
	ASSERT_FALSE(cache_current(R, "k"), "the redis entry is stale");
	ASSERT_FALSE(cache_current(M, "k"), "the memcached entry is stale");
	if (exchange_passed(&cc, LIT(GET_K), LIT(FROMSRV)))
		CACHE_STATS_EQ("stale after the bump", {VEER_CACHE_FLUSH, 1}, {VEER_CACHE_MISS, 1},
			       {VEER_CACHE_REPLIES, 1});
out:
	cache_conn_close(&cc);
}
