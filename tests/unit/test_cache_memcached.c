// SPDX-License-Identifier: GPL-2.0
/*
 * The hot-key cache on memcached connections: hits with the entry's client flags, misses,
 * storage commands with and without a reply, deletes, multi-key gets. Exact bytes on both
 * sides and every counter, as in test_cache_redis.c. Harness: cache_harness.h.
 */
#include "cache_harness.h"

#define M VEER_CACHE_MEMCACHED

#define GET_K	"get k\r\n"
#define VALUE_K "VALUE k 7 5\r\nhello\r\nEND\r\n"
#define END	"END\r\n"

VEER_TEST(cache_mc_hit)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(M, "k", "hello", 7) || !cache_conn_open(&cc, M))
		return;
	if (exchange_hit(&cc, LIT(GET_K), LIT(VALUE_K)) &&
	    exchange_hit(&cc, LIT(GET_K), LIT(VALUE_K)))
		CACHE_STATS_EQ("two hits", {VEER_CACHE_HIT, 2});
	cache_conn_close(&cc);
}

VEER_TEST(cache_mc_hit_value_max)
{
	static char value[VEER_CACHE_VALUE_MAX + 1], reply[VEER_CACHE_VALUE_MAX + 64];
	struct cache_conn cc;
	int n;

	for (int i = 0; i < VEER_CACHE_VALUE_MAX; i++)
		value[i] = '!' + (i * 11) % 94;
	n = snprintf(reply, sizeof(reply), "VALUE k 0 %d\r\n%s\r\nEND\r\n", VEER_CACHE_VALUE_MAX,
		     value);
	if (!cache_begin() || !cache_put(M, "k", value, 0) || !cache_conn_open(&cc, M))
		return;
	if (exchange_hit(&cc, LIT(GET_K), reply, n))
		CACHE_STATS_EQ("hit of the largest value", {VEER_CACHE_HIT, 1});
	cache_conn_close(&cc);
}

VEER_TEST(cache_mc_miss)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_conn_open(&cc, M))
		return;
	if (exchange_passed(&cc, LIT(GET_K), LIT(END)))
		CACHE_STATS_EQ("miss", {VEER_CACHE_MISS, 1}, {VEER_CACHE_REPLIES, 1});
	cache_conn_close(&cc);
}

/* A reply with a value block is one reply, however many lines it has. */
VEER_TEST(cache_mc_miss_value_reply)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_conn_open(&cc, M))
		return;
	if (!exchange_passed(&cc, LIT(GET_K), LIT("VALUE k 0 7\r\nEND\r\nxx\r\nEND\r\n")))
		goto out;
	/* Counted whole: a value that looks like the end of the reply is skipped by length. */
	if (cache_put(M, "k", "hello", 7) && exchange_hit(&cc, LIT(GET_K), LIT(VALUE_K)))
		CACHE_STATS_EQ("miss, then hit", {VEER_CACHE_MISS, 1}, {VEER_CACHE_REPLIES, 1},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

VEER_TEST(cache_mc_set_invalidates)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(M, "k", "hello", 7) || !cache_conn_open(&cc, M))
		return;
	if (!exchange_passed(&cc, LIT("set k 0 0 1\r\nv\r\n"), LIT("STORED\r\n")))
		goto out;
	CACHE_STATS_EQ("set", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_INVALIDATE, 2},
		       {VEER_CACHE_REPLIES, 1});
	ASSERT_FALSE(cache_current(M, "k"), "k current after set k");
	if (exchange_passed(&cc, LIT(GET_K), LIT("VALUE k 0 1\r\nv\r\nEND\r\n")))
		CACHE_STATS_EQ("set, get", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_INVALIDATE, 2},
			       {VEER_CACHE_REPLIES, 2}, {VEER_CACHE_MISS, 1});
out:
	cache_conn_close(&cc);
}

/* noreply: no answer will come, so nothing is owed and the next GET can be served at once. */
VEER_TEST(cache_mc_set_noreply)
{
	static const char set[] = "set k 0 0 1 noreply\r\nv\r\n";
	struct veer_cache_conn st;
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(M, "k", "hello", 7) || !cache_conn_open(&cc, M))
		return;
	if (!client_send(&cc, LIT(set)) || !server_expect(&cc, LIT(set)) ||
	    !client_expect_nothing(&cc))
		goto out;
	CACHE_STATS_EQ("set noreply", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_INVALIDATE, 1});
	ASSERT_FALSE(cache_current(M, "k"), "k current after set k noreply");
	if (ASSERT_TRUE(cache_conn_state(&cc, &st), "the connection's entry"))
		ASSERT_EQ(st.sent, 0, "requests owed a reply");
	if (cache_put(M, "k", "v", 0) &&
	    exchange_hit(&cc, LIT(GET_K), LIT("VALUE k 0 1\r\nv\r\nEND\r\n")))
		CACHE_STATS_EQ("set noreply, hit", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_INVALIDATE, 1}, {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

VEER_TEST(cache_mc_delete_invalidates)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(M, "k", "hello", 7) || !cache_conn_open(&cc, M))
		return;
	if (!exchange_passed(&cc, LIT("delete k\r\n"), LIT("DELETED\r\n")))
		goto out;
	ASSERT_FALSE(cache_current(M, "k"), "k current after delete k");
	if (exchange_passed(&cc, LIT(GET_K), LIT(END)))
		CACHE_STATS_EQ("delete, get", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_INVALIDATE, 2}, {VEER_CACHE_REPLIES, 2},
			       {VEER_CACHE_MISS, 1});
out:
	cache_conn_close(&cc);
}

/* A get of two keys is one request but not a single GET: passed, the connection goes on. */
VEER_TEST(cache_mc_multi_key_get)
{
	static const char rep[] = "VALUE a 0 1\r\nx\r\nVALUE b 0 1\r\ny\r\nEND\r\n";
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(M, "a", "x", 0) || !cache_put(M, "b", "y", 0) ||
	    !cache_conn_open(&cc, M))
		return;
	if (!exchange_passed(&cc, LIT("get a b\r\n"), LIT(rep)))
		goto out;
	if (exchange_hit(&cc, LIT("get a\r\n"), LIT("VALUE a 0 1\r\nx\r\nEND\r\n")))
		CACHE_STATS_EQ("get a b, get a", {VEER_CACHE_PASS_BATCH, 1},
			       {VEER_CACHE_REPLIES, 1}, {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* flush_all makes every entry stale, of both protocols. */
VEER_TEST(cache_mc_flush_all)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(M, "k", "hello", 7) ||
	    !cache_put(VEER_CACHE_REDIS, "r", "hello", 0) || !cache_conn_open(&cc, M))
		return;
	if (!exchange_passed(&cc, LIT("flush_all\r\n"), LIT("OK\r\n")))
		goto out;
	ASSERT_FALSE(cache_current(M, "k"), "k current after flush_all");
	ASSERT_FALSE(cache_current(VEER_CACHE_REDIS, "r"), "Redis r current after flush_all");
	if (exchange_passed(&cc, LIT(GET_K), LIT(END)))
		CACHE_STATS_EQ("flush_all, get", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_FLUSH, 1},
			       {VEER_CACHE_REPLIES, 2}, {VEER_CACHE_MISS, 1});
out:
	cache_conn_close(&cc);
}
