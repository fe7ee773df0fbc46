// SPDX-License-Identifier: GPL-2.0
/*
 * The hot-key cache on Redis connections: hits (multibulk and inline), misses, the order of
 * replies when the server still owes one, batches and split requests and replies, writes,
 * transactions, FLUSHALL, framing it cannot follow, and the races between a fill and a write.
 * Every test checks the exact bytes each side received and every counter. Harness:
 * cache_harness.h.
 */
#include <errno.h>
#include <stdlib.h>
#include "cache_harness.h"

#define R VEER_CACHE_REDIS

#define GET_K	 "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
#define GET_X	 "*2\r\n$3\r\nGET\r\n$1\r\nx\r\n"
#define SET_K	 "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
#define HELLO	 "$5\r\nhello\r\n"
#define NIL	 "$-1\r\n"
#define OK	 "+OK\r\n"
#define FLUSHALL "*1\r\n$8\r\nFLUSHALL\r\n"

/* The connection's counts of requests passed and replies seen. */
static bool owed_eq(struct cache_conn *cc, __u64 sent, __u64 replies, const char *what)
{
	struct veer_cache_conn st;
	char msg[128];

	if (!ASSERT_TRUE(cache_conn_state(cc, &st), "the connection's veer_cache_conns entry"))
		return false;
	snprintf(msg, sizeof(msg), "%s: requests passed", what);
	if (!ASSERT_EQ(st.sent, sent, msg))
		return false;
	snprintf(msg, sizeof(msg), "%s: replies seen", what);
	return ASSERT_EQ(st.replies, replies, msg);
}

/* ---- hits ---- */

VEER_TEST(cache_redis_hit)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	/* Twice: a hit leaves the connection as it found it, ready to serve again. */
	if (exchange_hit(&cc, LIT(GET_K), LIT(HELLO)) && exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		CACHE_STATS_EQ("two hits", {VEER_CACHE_HIT, 2});
	owed_eq(&cc, 0, 0, "after hits");
	cache_conn_close(&cc);
}

VEER_TEST(cache_redis_hit_inline)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (exchange_hit(&cc, LIT("GET k\r\n"), LIT(HELLO)))
		CACHE_STATS_EQ("inline hit", {VEER_CACHE_HIT, 1});
	cache_conn_close(&cc);
}

/* The longest key memcached allows, which the copy into the map key takes in six chunks. */
VEER_TEST(cache_redis_hit_long_key)
{
	char key[VEER_CACHE_KEY_MAX + 1], req[VEER_CACHE_KEY_MAX + 64];
	struct cache_conn cc;
	int n;

	for (int i = 0; i < VEER_CACHE_KEY_MAX; i++)
		key[i] = 'a' + i % 26;
	key[VEER_CACHE_KEY_MAX] = 0;
	n = snprintf(req, sizeof(req), "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", VEER_CACHE_KEY_MAX, key);
	if (!cache_begin() || !cache_put(R, key, "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (exchange_hit(&cc, req, n, LIT(HELLO)))
		CACHE_STATS_EQ("hit of a 250-byte key", {VEER_CACHE_HIT, 1});
	cache_conn_close(&cc);
}

/* A value of exactly VEER_CACHE_VALUE_MAX bytes comes back byte for byte. */
VEER_TEST(cache_redis_hit_value_max)
{
	static char value[VEER_CACHE_VALUE_MAX + 1], reply[VEER_CACHE_VALUE_MAX + 32];
	struct cache_conn cc;
	int n;

	for (int i = 0; i < VEER_CACHE_VALUE_MAX; i++)
		value[i] = ' ' + (i * 7) % 95; /* no run that a wrong offset would copy unseen */
	n = snprintf(reply, sizeof(reply), "$%d\r\n%s\r\n", VEER_CACHE_VALUE_MAX, value);
	if (!cache_begin() || !cache_put(R, "k", value, 0) || !cache_conn_open(&cc, R))
		return;
	if (exchange_hit(&cc, LIT(GET_K), reply, n))
		CACHE_STATS_EQ("hit of the largest value", {VEER_CACHE_HIT, 1});
	cache_conn_close(&cc);
}

/* The same name cached for memcached is another key: a Redis GET of it is a miss. */
VEER_TEST(cache_redis_other_protocol)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(VEER_CACHE_MEMCACHED, "k", "hello", 0) ||
	    !cache_conn_open(&cc, R))
		return;
	if (exchange_passed(&cc, LIT(GET_K), LIT(NIL)))
		CACHE_STATS_EQ("memcached entry, Redis GET", {VEER_CACHE_MISS, 1},
			       {VEER_CACHE_REPLIES, 1});
	cache_conn_close(&cc);
}

/* ---- misses ---- */

VEER_TEST(cache_redis_miss)
{
	struct veer_cache_hot_key *hot = NULL;
	struct cache_conn cc;
	size_t n = 0;

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(GET_K), LIT(NIL)))
		goto out;
	CACHE_STATS_EQ("miss", {VEER_CACHE_MISS, 1}, {VEER_CACHE_REPLIES, 1});
	owed_eq(&cc, 1, 1, "after the reply");
	/* The miss is what the manager promotes from. */
	if (ASSERT_OK(veer_cache_hot(&cache_env.vc, 10, false, &hot, &n), "veer_cache_hot") &&
	    ASSERT_EQ(n, 1, "hot keys")) {
		ASSERT_EQ(hot[0].key.proto, R, "hot key: protocol");
		ASSERT_MEMEQ(hot[0].key.bytes, hot[0].key.len, "k", 1, "hot key: bytes");
		ASSERT_EQ(hot[0].misses, 1, "hot key: misses");
	}
	free(hot);
out:
	cache_conn_close(&cc);
}

/* An entry past its TTL is a miss, and goes. */
VEER_TEST(cache_redis_expired)
{
	struct veer_cache_item it;
	struct cache_conn cc;
	size_t vlen;
	void *v;

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	if (!ASSERT_OK(veer_cache_put(&cache_env.vc, R, "k", 1, "hello", 5, 0, 0, NULL),
		       "put with a TTL of 0"))
		goto out;
	if (exchange_passed(&cc, LIT(GET_K), LIT(NIL)))
		CACHE_STATS_EQ("expired entry", {VEER_CACHE_EXPIRED, 1}, {VEER_CACHE_MISS, 1},
			       {VEER_CACHE_REPLIES, 1});
	ASSERT_EQ(veer_cache_get(&cache_env.vc, R, "k", 1, &v, &vlen, &it), -ENOENT,
		  "the expired entry was deleted");
out:
	cache_conn_close(&cc);
}

/* ---- order: a cached reply never overtakes one the server owes ---- */

VEER_TEST(cache_redis_owed)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	/* x is not cached: the server owes its reply when k, which is, is asked for. */
	if (!client_send(&cc, LIT(GET_X)) || !client_send(&cc, LIT(GET_K)) ||
	    !server_expect(&cc, LIT(GET_X GET_K)) || !client_expect_nothing(&cc))
		goto out;
	CACHE_STATS_EQ("GET while a reply is owed", {VEER_CACHE_MISS, 1},
		       {VEER_CACHE_PASS_OWED, 1});
	owed_eq(&cc, 2, 0, "both passed");
	if (!server_send(&cc, LIT(NIL HELLO)) || !client_expect(&cc, LIT(NIL HELLO)))
		goto out;
	owed_eq(&cc, 2, 2, "both answered");
	/* Nothing owed any more: served again. */
	if (exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		CACHE_STATS_EQ("then a hit", {VEER_CACHE_MISS, 1}, {VEER_CACHE_PASS_OWED, 1},
			       {VEER_CACHE_REPLIES, 2}, {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

VEER_TEST(cache_redis_pipelined)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(GET_K GET_K), LIT(HELLO HELLO)))
		goto out;
	CACHE_STATS_EQ("two GETs in one message", {VEER_CACHE_PASS_BATCH, 1},
		       {VEER_CACHE_REPLIES, 2});
	owed_eq(&cc, 2, 2, "batch answered");
	if (exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		CACHE_STATS_EQ("then a hit", {VEER_CACHE_PASS_BATCH, 1}, {VEER_CACHE_REPLIES, 2},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* A GET in two messages is passed as it is; the stream is followed across them. */
VEER_TEST(cache_redis_split_request)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	/* Reading the first part on the server before sending the second: two messages. */
	if (!client_send(&cc, LIT("*2\r\n$3\r\nGE")) || !server_expect(&cc, LIT("*2\r\n$3\r\nGE")) ||
	    !client_send(&cc, LIT("T\r\n$1\r\nk\r\n")) || !server_expect(&cc, LIT("T\r\n$1\r\nk\r\n")) ||
	    !client_expect_nothing(&cc))
		goto out;
	CACHE_STATS_EQ("GET split in two", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_PASS_BATCH, 1});
	owed_eq(&cc, 1, 0, "split GET passed");
	if (!server_send(&cc, LIT(HELLO)) || !client_expect(&cc, LIT(HELLO)))
		goto out;
	if (exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		CACHE_STATS_EQ("then a hit", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_PASS_BATCH, 1}, {VEER_CACHE_REPLIES, 1},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* A reply in two segments counts once, when it is whole; no hit is served before that. */
VEER_TEST(cache_redis_split_reply)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!client_send(&cc, LIT(GET_X)) || !server_expect(&cc, LIT(GET_X)) ||
	    !server_send(&cc, LIT("$5\r\nhel")) || !client_expect(&cc, LIT("$5\r\nhel")))
		goto out;
	owed_eq(&cc, 1, 0, "half a reply");
	/* Half a reply is still owed: k must go to the server too. */
	if (!client_send(&cc, LIT(GET_K)) || !server_expect(&cc, LIT(GET_K)) ||
	    !client_expect_nothing(&cc))
		goto out;
	if (!server_send(&cc, LIT("lo\r\n")) || !client_expect(&cc, LIT("lo\r\n")))
		goto out;
	owed_eq(&cc, 2, 1, "first reply whole");
	if (!server_send(&cc, LIT(HELLO)) || !client_expect(&cc, LIT(HELLO)))
		goto out;
	owed_eq(&cc, 2, 2, "both answered");
	if (exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		CACHE_STATS_EQ("split reply", {VEER_CACHE_MISS, 1}, {VEER_CACHE_PASS_OWED, 1},
			       {VEER_CACHE_REPLIES, 2}, {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* Nested arrays and every simple type, in one segment: one reply each. */
VEER_TEST(cache_redis_reply_types)
{
	static const char rep[] = "*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n-ERR x\r\n" /* 1 */
				  "*0\r\n" /* 2 */ "*-1\r\n" /* 3 */ "$0\r\n\r\n" /* 4 */;
	static const char req[] = "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n"
				  "*1\r\n$4\r\nPING\r\n";
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(req), LIT(rep)))
		goto out;
	owed_eq(&cc, 4, 4, "four replies");
	if (exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		CACHE_STATS_EQ("reply types", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_REPLIES, 4},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* ---- writes ---- */

VEER_TEST(cache_redis_write_invalidates)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(SET_K), LIT(OK)))
		goto out;
	/* Bumped when passed, and again when its reply came. */
	CACHE_STATS_EQ("SET", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_INVALIDATE, 2},
		       {VEER_CACHE_REPLIES, 1});
	ASSERT_FALSE(cache_current(R, "k"), "k current after SET k");
	if (!exchange_passed(&cc, LIT(GET_K), LIT("$1\r\nv\r\n")))
		goto out;
	/* Filled again, it is served again on the same connection. */
	if (cache_put(R, "k", "v", 0) && exchange_hit(&cc, LIT(GET_K), LIT("$1\r\nv\r\n")))
		CACHE_STATS_EQ("SET, GET, refill, hit", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_INVALIDATE, 2}, {VEER_CACHE_REPLIES, 2},
			       {VEER_CACHE_MISS, 1}, {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

VEER_TEST(cache_redis_flushall)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_put(R, "k2", "world", 0) ||
	    !cache_put(VEER_CACHE_MEMCACHED, "m", "mc", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(FLUSHALL), LIT(OK)))
		goto out;
	CACHE_STATS_EQ("FLUSHALL", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_FLUSH, 1},
		       {VEER_CACHE_REPLIES, 1});
	ASSERT_FALSE(cache_current(R, "k"), "k current after FLUSHALL");
	ASSERT_FALSE(cache_current(R, "k2"), "k2 current after FLUSHALL");
	ASSERT_FALSE(cache_current(VEER_CACHE_MEMCACHED, "m"), "memcached m current after FLUSHALL");
	if (exchange_passed(&cc, LIT(GET_K), LIT(NIL)))
		CACHE_STATS_EQ("GET after FLUSHALL", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_FLUSH, 1}, {VEER_CACHE_REPLIES, 2},
			       {VEER_CACHE_MISS, 1});
out:
	cache_conn_close(&cc);
}

/*
 * The fill protocol: read the key's generation, read the value from the server, install it
 * with that generation. A write that passed in between leaves the entry installed but stale.
 */
VEER_TEST(cache_redis_fill_race)
{
	struct cache_conn cc;
	__u64 gen;

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	if (!ASSERT_OK(veer_cache_gen(&cache_env.vc, "k", 1, &gen), "veer_cache_gen") ||
	    !client_send(&cc, LIT(SET_K)) || !server_expect(&cc, LIT(SET_K)))
		goto out;
	/* The value read before the SET reached the server. */
	if (!ASSERT_OK(veer_cache_put(&cache_env.vc, R, "k", 1, "hello", 5, 0, 60, &gen),
		       "put with the generation read before the SET"))
		goto out;
	ASSERT_FALSE(cache_current(R, "k"), "entry filled across a write is current");
	if (!server_send(&cc, LIT(OK)) || !client_expect(&cc, LIT(OK)))
		goto out;
	if (exchange_passed(&cc, LIT(GET_K), LIT("$1\r\nv\r\n")))
		CACHE_STATS_EQ("fill race", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_INVALIDATE, 2}, {VEER_CACHE_REPLIES, 2},
			       {VEER_CACHE_MISS, 1});
out:
	cache_conn_close(&cc);
}

/*
 * A fill that begins after the SET was passed but before the server applied it may read the
 * old value: the bump at the SET's reply makes that entry stale.
 */
VEER_TEST(cache_redis_fill_during_write)
{
	struct cache_conn cc;
	__u64 gen;

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	if (!client_send(&cc, LIT(SET_K)) || !server_expect(&cc, LIT(SET_K)) ||
	    !ASSERT_OK(veer_cache_gen(&cache_env.vc, "k", 1, &gen), "veer_cache_gen") ||
	    !ASSERT_OK(veer_cache_put(&cache_env.vc, R, "k", 1, "hello", 5, 0, 60, &gen),
		       "put while the SET is in flight"))
		goto out;
	if (!server_send(&cc, LIT(OK)) || !client_expect(&cc, LIT(OK)))
		goto out;
	ASSERT_FALSE(cache_current(R, "k"), "entry filled while the SET was in flight is current");
	if (exchange_passed(&cc, LIT(GET_K), LIT("$1\r\nv\r\n")))
		CACHE_STATS_EQ("fill during a write", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_INVALIDATE, 2}, {VEER_CACHE_REPLIES, 2},
			       {VEER_CACHE_MISS, 1});
out:
	cache_conn_close(&cc);
}

/*
 * The same race with FLUSHALL instead of SET: the generation read before the flush, the value
 * installed after it was passed. The flush must leave that entry stale, as a SET does.
 */
VEER_TEST(cache_redis_fill_race_flushall)
{
	struct cache_conn cc;
	__u64 gen;

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	if (!ASSERT_OK(veer_cache_gen(&cache_env.vc, "k", 1, &gen), "veer_cache_gen") ||
	    !client_send(&cc, LIT(FLUSHALL)) || !server_expect(&cc, LIT(FLUSHALL)))
		goto out;
	if (!ASSERT_OK(veer_cache_put(&cache_env.vc, R, "k", 1, "hello", 5, 0, 60, &gen),
		       "put with the generation read before FLUSHALL"))
		goto out;
	if (!server_send(&cc, LIT(OK)) || !client_expect(&cc, LIT(OK)))
		goto out;
	ASSERT_FALSE(cache_current(R, "k"), "entry filled across FLUSHALL is current");
	exchange_passed(&cc, LIT(GET_K), LIT(NIL));
out:
	cache_conn_close(&cc);
}

/* And with the fill between FLUSHALL being passed and its reply, as for a SET above. */
VEER_TEST(cache_redis_fill_during_flushall)
{
	struct cache_conn cc;
	__u64 gen;

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	if (!client_send(&cc, LIT(FLUSHALL)) || !server_expect(&cc, LIT(FLUSHALL)) ||
	    !ASSERT_OK(veer_cache_gen(&cache_env.vc, "k", 1, &gen), "veer_cache_gen") ||
	    !ASSERT_OK(veer_cache_put(&cache_env.vc, R, "k", 1, "hello", 5, 0, 60, &gen),
		       "put while FLUSHALL is in flight"))
		goto out;
	if (!server_send(&cc, LIT(OK)) || !client_expect(&cc, LIT(OK)))
		goto out;
	ASSERT_FALSE(cache_current(R, "k"), "entry filled while FLUSHALL was in flight is current");
	exchange_passed(&cc, LIT(GET_K), LIT(NIL));
out:
	cache_conn_close(&cc);
}

/* ---- transactions ---- */

#define MULTI  "*1\r\n$5\r\nMULTI\r\n"
#define EXEC   "*1\r\n$4\r\nEXEC\r\n"
#define QUEUED "+QUEUED\r\n"

VEER_TEST(cache_redis_multi_exec)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(MULTI), LIT(OK)) ||
	    !exchange_passed(&cc, LIT(SET_K), LIT(QUEUED)))
		goto out;
	/* Queued, not applied; bumped when passed all the same. */
	CACHE_STATS_EQ("MULTI, SET", {VEER_CACHE_PASS_OTHER, 2}, {VEER_CACHE_INVALIDATE, 1},
		       {VEER_CACHE_REPLIES, 2});
	ASSERT_FALSE(cache_current(R, "k"), "k current after a queued SET k");
	if (!exchange_passed(&cc, LIT(EXEC), LIT("*1\r\n" OK)))
		goto out;
	/* Applied with EXEC: its reply bumps the SET's key again. */
	CACHE_STATS_EQ("MULTI, SET, EXEC", {VEER_CACHE_PASS_OTHER, 3}, {VEER_CACHE_INVALIDATE, 2},
		       {VEER_CACHE_REPLIES, 3});
	owed_eq(&cc, 3, 3, "transaction answered");
	ASSERT_FALSE(cache_current(R, "k"), "k current after EXEC");
	if (!exchange_passed(&cc, LIT(GET_K), LIT("$1\r\nv\r\n")))
		goto out;
	if (cache_put(R, "k", "v", 0) && exchange_hit(&cc, LIT(GET_K), LIT("$1\r\nv\r\n")))
		CACHE_STATS_EQ("then a miss and a hit", {VEER_CACHE_PASS_OTHER, 3},
			       {VEER_CACHE_INVALIDATE, 2}, {VEER_CACHE_REPLIES, 4},
			       {VEER_CACHE_MISS, 1}, {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/*
 * Inside MULTI the server answers a GET with +QUEUED and the value comes in EXEC's array: a
 * GET there must reach the server, however current its key is.
 */
VEER_TEST(cache_redis_multi_get_queued)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(MULTI), LIT(OK)) ||
	    !exchange_passed(&cc, LIT(GET_K), LIT(QUEUED)) ||
	    !exchange_passed(&cc, LIT(EXEC), LIT("*1\r\n" HELLO)))
		goto out;
	owed_eq(&cc, 3, 3, "transaction answered");
	if (exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		CACHE_STATS_EQ("GET inside MULTI", {VEER_CACHE_PASS_OTHER, 3},
			       {VEER_CACHE_REPLIES, 3}, {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* ---- framing veer cannot follow ---- */

VEER_TEST(cache_redis_malformed)
{
	struct veer_cache_conn st;
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!client_send(&cc, LIT("*x\r\n")) || !server_expect(&cc, LIT("*x\r\n")) ||
	    !client_expect_nothing(&cc))
		goto out;
	/* Unknown keys may have been written: every entry made stale. */
	CACHE_STATS_EQ("malformed request", {VEER_CACHE_OFF_PROTOCOL, 1}, {VEER_CACHE_FLUSH, 1});
	if (ASSERT_TRUE(cache_conn_state(&cc, &st), "the connection's entry")) {
		ASSERT_TRUE(st.blind, "connection blind");
		ASSERT_EQ(st.off, VEER_CACHE_OFF_PROTOCOL, "connection off");
	}
	ASSERT_FALSE(cache_current(R, "k"), "k current after a request that could not be read");
	/* Even with k current again, this connection is never served. */
	if (!cache_put(R, "k", "hello", 0) || !client_send(&cc, LIT(GET_K)) ||
	    !server_expect(&cc, LIT(GET_K)) || !client_expect_nothing(&cc))
		goto out;
	CACHE_STATS_EQ("then a GET", {VEER_CACHE_OFF_PROTOCOL, 1}, {VEER_CACHE_FLUSH, 2},
		       {VEER_CACHE_BLIND, 1});
out:
	cache_conn_close(&cc);
}

/* A command that changes the stream (SELECT: another database) turns serving off. */
VEER_TEST(cache_redis_select_off)
{
	static const char select[] = "*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n";
	struct veer_cache_conn st;
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(select), LIT(OK)) ||
	    !exchange_passed(&cc, LIT(GET_K), LIT(NIL)))
		goto out;
	if (ASSERT_TRUE(cache_conn_state(&cc, &st), "the connection's entry"))
		ASSERT_EQ(st.off, VEER_CACHE_OFF_COMMAND, "connection off");
	CACHE_STATS_EQ("SELECT, GET", {VEER_CACHE_OFF_COMMAND, 1}, {VEER_CACHE_PASS_OFF, 2},
		       {VEER_CACHE_REPLIES, 2});
out:
	cache_conn_close(&cc);
}

/* A reply the parser cannot delimit (a RESP3 map) stops the count, and serving. */
VEER_TEST(cache_redis_reply_unparsed)
{
	struct veer_cache_conn st;
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(GET_X), LIT("%1\r\n+a\r\n+b\r\n")))
		goto out;
	if (ASSERT_TRUE(cache_conn_state(&cc, &st), "the connection's entry")) {
		ASSERT_TRUE(st.rp_lost, "replies lost");
		ASSERT_EQ(st.off, VEER_CACHE_OFF_PROTOCOL, "connection off");
	}
	if (!cache_put(R, "k", "hello", 0) || !client_send(&cc, LIT(GET_K)) ||
	    !server_expect(&cc, LIT(GET_K)) || !client_expect_nothing(&cc))
		goto out;
	CACHE_STATS_EQ("unparsed reply", {VEER_CACHE_MISS, 1}, {VEER_CACHE_OFF_PROTOCOL, 1},
		       {VEER_CACHE_FLUSH, 1}, {VEER_CACHE_PASS_OFF, 1});
out:
	cache_conn_close(&cc);
}
