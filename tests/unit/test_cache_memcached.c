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

/* A request gathered from pieces by one sendmsg() is still one message and a hit. */
VEER_TEST(cache_mc_hit_sendmsg_pieces)
{
	static const char *const parts[] = {"get", " ", "k", "\r\n"};
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(M, "k", "hello", 7) || !cache_conn_open(&cc, M))
		return;
	if (client_sendv(&cc, parts, 4) && client_expect(&cc, LIT(VALUE_K)) &&
	    server_expect_nothing(&cc))
		CACHE_STATS_EQ("hit from pieces", {VEER_CACHE_HIT, 1});
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
		CACHE_STATS_EQ("flush_all, get", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_FLUSH, 2},
			       {VEER_CACHE_REPLIES, 2}, {VEER_CACHE_MISS, 1});
out:
	cache_conn_close(&cc);
}

/* gets is answered with a CAS unique the cache does not have: passed, its reply counted. */
VEER_TEST(cache_mc_gets_passed)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(M, "k", "hello", 7) || !cache_conn_open(&cc, M))
		return;
	if (!exchange_passed(&cc, LIT("gets k\r\n"), LIT("VALUE k 7 5 42\r\nhello\r\nEND\r\n")))
		goto out;
	if (exchange_hit(&cc, LIT(GET_K), LIT(VALUE_K)))
		CACHE_STATS_EQ("gets, get", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_REPLIES, 1},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* A get in two messages: passed, the stream followed across them. */
VEER_TEST(cache_mc_split_request)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(M, "k", "hello", 7) || !cache_conn_open(&cc, M))
		return;
	if (!client_send(&cc, LIT("get ")) || !server_expect(&cc, LIT("get ")) ||
	    !client_send(&cc, LIT("k\r\n")) || !server_expect(&cc, LIT("k\r\n")) ||
	    !client_expect_nothing(&cc) || !server_send(&cc, LIT(VALUE_K)) ||
	    !client_expect(&cc, LIT(VALUE_K)))
		goto out;
	if (exchange_hit(&cc, LIT(GET_K), LIT(VALUE_K)))
		CACHE_STATS_EQ("split get, then a hit", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_PASS_BATCH, 1}, {VEER_CACHE_REPLIES, 1},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* A data block split across messages, made of what looks like a command: skipped by length. */
VEER_TEST(cache_mc_split_data_block)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(M, "k", "hello", 7) || !cache_put(M, "j", "other", 0) ||
	    !cache_conn_open(&cc, M))
		return;
	if (!client_send(&cc, LIT("set k 0 0 10\r\nget ")) ||
	    !server_expect(&cc, LIT("set k 0 0 10\r\nget ")) ||
	    !client_send(&cc, LIT("j\r\nEND\r\n")) || !server_expect(&cc, LIT("j\r\nEND\r\n")) ||
	    !server_send(&cc, LIT("STORED\r\n")) || !client_expect(&cc, LIT("STORED\r\n")))
		goto out;
	ASSERT_FALSE(cache_current(M, "k"), "k current after set k");
	ASSERT_TRUE(cache_current(M, "j"), "j, named only inside the data block, current");
	if (exchange_hit(&cc, LIT("get j\r\n"), LIT("VALUE j 0 5\r\nother\r\nEND\r\n")))
		CACHE_STATS_EQ("split set, then a hit", {VEER_CACHE_PASS_OTHER, 2},
			       {VEER_CACHE_INVALIDATE, 2}, {VEER_CACHE_REPLIES, 1},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/*
 * "noreply" is an option of storage, delete, incr/decr, touch and flush_all; a get has no such
 * option and is always answered, so "get noreply" reads the key "noreply". Served from the
 * cache, nothing stays owed; the next miss and its reply keep the count right.
 */
VEER_TEST(cache_mc_get_key_noreply_hit)
{
	static const char value[] = "VALUE noreply 0 5\r\nhello\r\nEND\r\n";
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(M, "noreply", "hello", 0) ||
	    !cache_put(M, "k", "hello", 7) || !cache_conn_open(&cc, M))
		return;
	if (!exchange_hit(&cc, LIT("get noreply\r\n"), LIT(value)))
		goto out;
	cache_owed_eq(&cc, 0, 0, "after a hit of the key noreply");
	if (!exchange_passed(&cc, LIT("get x\r\n"), LIT(END)))
		goto out;
	if (exchange_hit(&cc, LIT(GET_K), LIT(VALUE_K)))
		CACHE_STATS_EQ("get noreply (hit), get x, get k", {VEER_CACHE_HIT, 2},
			       {VEER_CACHE_MISS, 1}, {VEER_CACHE_REPLIES, 1});
out:
	cache_conn_close(&cc);
}

/* The same key not cached: passed, and its reply must be counted as the reply it is. */
VEER_TEST(cache_mc_get_key_noreply_miss)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(M, "k", "hello", 7) || !cache_conn_open(&cc, M))
		return;
	if (!exchange_passed(&cc, LIT("get noreply\r\n"), LIT(END)))
		goto out;
	cache_owed_eq(&cc, 1, 1, "after get noreply and its reply");
	if (exchange_hit(&cc, LIT(GET_K), LIT(VALUE_K)))
		CACHE_STATS_EQ("get noreply (miss), get k", {VEER_CACHE_MISS, 1},
			       {VEER_CACHE_REPLIES, 1}, {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/*
 * memcached's command names are case-sensitive: "GET k" draws ERROR from the server. The cache
 * must not answer it with a value the server never would.
 */
VEER_TEST(cache_mc_uppercase_get_passed)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(M, "k", "hello", 7) || !cache_conn_open(&cc, M))
		return;
	if (!exchange_passed(&cc, LIT("GET k\r\n"), LIT("ERROR\r\n")))
		goto out;
	cache_owed_eq(&cc, 1, 1, "after GET k and its ERROR");
out:
	cache_conn_close(&cc);
}
