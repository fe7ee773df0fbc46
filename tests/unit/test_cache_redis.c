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
#include <veer/cache_hash.h>
#include <sys/socket.h>
#include "cache_harness.h"

#define R VEER_CACHE_REDIS

#define GET_K	 "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
#define GET_X	 "*2\r\n$3\r\nGET\r\n$1\r\nx\r\n"
#define SET_K	 "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
#define HELLO	 "$5\r\nhello\r\n"
#define NIL	 "$-1\r\n"
#define OK	 "+OK\r\n"
#define FLUSHALL "*1\r\n$8\r\nFLUSHALL\r\n"

/* ---- hits ---- */

VEER_TEST(cache_redis_hit)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	/* Twice: a hit leaves the connection as it found it, ready to serve again. */
	if (exchange_hit(&cc, LIT(GET_K), LIT(HELLO)) && exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		CACHE_STATS_EQ("two hits", {VEER_CACHE_HIT, 2});
	cache_owed_eq(&cc, 0, 0, "after hits");
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

/* Command names are matched without regard to case, as the server does. */
VEER_TEST(cache_redis_hit_lowercase)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (exchange_hit(&cc, LIT("*2\r\n$3\r\nget\r\n$1\r\nk\r\n"), LIT(HELLO)) &&
	    exchange_hit(&cc, LIT("gEt k\r\n"), LIT(HELLO)))
		CACHE_STATS_EQ("lower and mixed case", {VEER_CACHE_HIT, 2});
	cache_conn_close(&cc);
}

/* Every key length: the key is copied into the map key in power-of-two chunks. */
VEER_TEST(cache_redis_hit_key_lengths)
{
	char key[VEER_CACHE_KEY_MAX + 1], req[VEER_CACHE_KEY_MAX + 64], what[64];
	struct cache_conn cc;
	int n, served = 0;

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	for (int len = 1; len <= VEER_CACHE_KEY_MAX; len++) {
		for (int i = 0; i < len; i++)
			key[i] = 'A' + (i * 5 + len) % 58;
		key[len] = 0;
		n = snprintf(req, sizeof(req), "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", len, key);
		snprintf(what, sizeof(what), "key of %d bytes", len);
		if (!cache_put(R, key, "hello", 0) || !client_send(&cc, req, n) ||
		    !ASSERT_TRUE(client_expect(&cc, LIT(HELLO)), what))
			break;
		served++;
	}
	/* Checked once for all: nothing went to the server. */
	if (ASSERT_EQ(served, VEER_CACHE_KEY_MAX, "keys served") && server_expect_nothing(&cc))
		CACHE_STATS_EQ("every key length", {VEER_CACHE_HIT, VEER_CACHE_KEY_MAX});
	cache_conn_close(&cc);
}

/* Value lengths around every chunk size of the reply copy, and the empty value. */
VEER_TEST(cache_redis_hit_value_lengths)
{
	static const int extra[] = {127, 128, 129, 255, 256, 257, 511, 512, 513, 1000, 1023, 1024};
	static char value[VEER_CACHE_VALUE_MAX], reply[VEER_CACHE_VALUE_MAX + 32];
	struct cache_conn cc;
	int served = 0, total = 0;
	char what[64];

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	for (int i = 0; i < 72 + (int)(sizeof(extra) / sizeof(extra[0])); i++) {
		int len = i < 72 ? i : extra[i - 72], n;

		total++;
		for (int j = 0; j < len; j++)
			value[j] = '0' + (j * 3 + len) % 75;
		n = snprintf(reply, sizeof(reply), "$%d\r\n", len);
		memcpy(reply + n, value, len);
		memcpy(reply + n + len, "\r\n", 2);
		n += len + 2;
		snprintf(what, sizeof(what), "value of %d bytes", len);
		if (!ASSERT_OK(veer_cache_put(&cache_env.vc, R, "k", 1, value, len, 0, 60, NULL),
			       what) ||
		    !client_send(&cc, LIT(GET_K)) ||
		    !ASSERT_TRUE(client_expect(&cc, reply, n), what))
			break;
		served++;
	}
	if (ASSERT_EQ(served, total, "values served") && server_expect_nothing(&cc))
		CACHE_STATS_EQ("every value length", {VEER_CACHE_HIT, total});
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

static void redis_miss(int family)
{
	struct veer_cache_hot_key *hot = NULL;
	struct cache_conn cc;
	size_t n = 0;

	if (!cache_begin() || !cache_conn_open_af(&cc, R, family))
		return;
	if (!exchange_passed(&cc, LIT(GET_K), LIT(NIL)))
		goto out;
	CACHE_STATS_EQ("miss", {VEER_CACHE_MISS, 1}, {VEER_CACHE_REPLIES, 1});
	cache_owed_eq(&cc, 1, 1, "after the reply");
	/* The miss is what the manager promotes from, whatever the family. */
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

VEER_TEST(cache_redis_miss)
{
	redis_miss(AF_INET);
}

VEER_TEST(cache_ipv6_redis_miss)
{
	redis_miss(AF_INET6);
}

/*
 * What the manager's write/read rule learns from the programs: a write of a key that has been
 * read adds to its hot counter (a key never read gets no counter), and a hit to its entry.
 */
VEER_TEST(cache_redis_counts_writes_and_hits)
{
	struct veer_cache_hot_key *hot = NULL;
	struct veer_cache_item it;
	struct cache_conn cc;
	size_t n = 0, vlen;
	void *v = NULL;

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	/* x is written before it was ever read: no counter for it. */
	if (!exchange_passed(&cc, LIT("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\nv\r\n"), LIT(OK)) ||
	    !exchange_passed(&cc, LIT(GET_K), LIT(NIL)) || !exchange_passed(&cc, LIT(SET_K), LIT(OK)) ||
	    !exchange_passed(&cc, LIT(SET_K), LIT(OK)))
		goto out;
	if (ASSERT_OK(veer_cache_hot(&cache_env.vc, 10, false, &hot, &n), "veer_cache_hot") &&
	    ASSERT_EQ(n, 1, "hot keys: k only, x was never read")) {
		ASSERT_MEMEQ(hot[0].key.bytes, hot[0].key.len, "k", 1, "hot key");
		ASSERT_EQ(hot[0].misses, 1, "k: misses");
		ASSERT_EQ(hot[0].writes, 2, "k: writes");
	}
	if (!cache_put(R, "k", "hello", 0) || !exchange_hit(&cc, LIT(GET_K), LIT(HELLO)) ||
	    !exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		goto out;
	if (ASSERT_OK(veer_cache_get(&cache_env.vc, R, "k", 1, &v, &vlen, &it), "veer_cache_get"))
		ASSERT_EQ(it.hits, 2, "hits counted in the entry");
	CACHE_STATS_EQ("writes, misses and hits", {VEER_CACHE_MISS, 1}, {VEER_CACHE_HIT, 2},
		       {VEER_CACHE_INVALIDATE, 6}, {VEER_CACHE_REPLIES, 4},
		       {VEER_CACHE_PASS_OTHER, 3});
out:
	free(v);
	free(hot);
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

/* On either family: the order does not depend on how the socket is addressed. */
static void redis_owed(int family)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open_af(&cc, R, family))
		return;
	/* x is not cached: the server owes its reply when k, which is, is asked for. */
	if (!client_send(&cc, LIT(GET_X)) || !client_send(&cc, LIT(GET_K)) ||
	    !server_expect(&cc, LIT(GET_X GET_K)) || !client_expect_nothing(&cc))
		goto out;
	CACHE_STATS_EQ("GET while a reply is owed", {VEER_CACHE_MISS, 1},
		       {VEER_CACHE_PASS_OWED, 1});
	cache_owed_eq(&cc, 2, 0, "both passed");
	if (!server_send(&cc, LIT(NIL HELLO)) || !client_expect(&cc, LIT(NIL HELLO)))
		goto out;
	cache_owed_eq(&cc, 2, 2, "both answered");
	/* Nothing owed any more: served again. */
	if (exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		CACHE_STATS_EQ("then a hit", {VEER_CACHE_MISS, 1}, {VEER_CACHE_PASS_OWED, 1},
			       {VEER_CACHE_REPLIES, 2}, {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

VEER_TEST(cache_redis_owed)
{
	redis_owed(AF_INET);
}

VEER_TEST(cache_ipv6_redis_owed)
{
	redis_owed(AF_INET6);
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
	cache_owed_eq(&cc, 2, 2, "batch answered");
	if (exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		CACHE_STATS_EQ("then a hit", {VEER_CACHE_PASS_BATCH, 1}, {VEER_CACHE_REPLIES, 2},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* Many GETs in one message: the tokenizer reads it window by window and counts them all. */
VEER_TEST(cache_redis_pipelined_many)
{
	enum { N = 300 };
	static char req[N * sizeof(GET_K)], rep[N * sizeof(HELLO)];
	struct cache_conn cc;
	size_t rl = 0, pl = 0;

	for (int i = 0; i < N; i++) {
		memcpy(req + rl, GET_K, sizeof(GET_K) - 1);
		rl += sizeof(GET_K) - 1;
		memcpy(rep + pl, HELLO, sizeof(HELLO) - 1);
		pl += sizeof(HELLO) - 1;
	}
	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, req, rl, rep, pl) || !cache_wait_replies(&cc, N))
		goto out;
	cache_owed_eq(&cc, N, N, "batch answered");
	if (exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		CACHE_STATS_EQ("300 GETs in one message", {VEER_CACHE_PASS_BATCH, 1},
			       {VEER_CACHE_REPLIES, N}, {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/*
 * A hit while the client has not read the server's last reply yet: the reply is counted, so
 * the hit may be served, but it must reach the client behind that reply. Repeated, since a
 * wrong order would come from a race between the two paths into the client's receive queue.
 */
VEER_TEST(cache_redis_hit_behind_unread_reply)
{
	enum { ROUNDS = 20 };
	struct cache_conn cc;
	int rounds = 0;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	for (int i = 0; i < ROUNDS; i++) {
		if (!client_send(&cc, LIT(GET_X)) || !server_expect(&cc, LIT(GET_X)) ||
		    !server_send(&cc, LIT(NIL)) || !cache_wait_replies(&cc, i + 1) ||
		    !client_send(&cc, LIT(GET_K)) || !client_expect(&cc, LIT(NIL HELLO)))
			break;
		rounds++;
	}
	if (ASSERT_EQ(rounds, ROUNDS, "rounds in order") && server_expect_nothing(&cc))
		CACHE_STATS_EQ("hits behind unread replies", {VEER_CACHE_MISS, ROUNDS},
			       {VEER_CACHE_REPLIES, ROUNDS}, {VEER_CACHE_HIT, ROUNDS});
	cache_conn_close(&cc);
}

/* A GET in two messages is passed as it is; the stream is followed across them. */
VEER_TEST(cache_redis_split_request)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	/* Reading the first part on the server before sending the second: two messages. */
	if (!client_send(&cc, LIT("*2\r\n$3\r\nGE")) ||
	    !server_expect(&cc, LIT("*2\r\n$3\r\nGE")) ||
	    !client_send(&cc, LIT("T\r\n$1\r\nk\r\n")) ||
	    !server_expect(&cc, LIT("T\r\n$1\r\nk\r\n")) || !client_expect_nothing(&cc))
		goto out;
	CACHE_STATS_EQ("GET split in two", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_PASS_BATCH, 1});
	cache_owed_eq(&cc, 1, 0, "split GET passed");
	if (!server_send(&cc, LIT(HELLO)) || !client_expect(&cc, LIT(HELLO)))
		goto out;
	if (exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		CACHE_STATS_EQ("then a hit", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_PASS_BATCH, 1},
			       {VEER_CACHE_REPLIES, 1}, {VEER_CACHE_HIT, 1});
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
	cache_owed_eq(&cc, 1, 0, "half a reply");
	/* Half a reply is still owed: k must go to the server too. */
	if (!client_send(&cc, LIT(GET_K)) || !server_expect(&cc, LIT(GET_K)) ||
	    !client_expect_nothing(&cc))
		goto out;
	if (!server_send(&cc, LIT("lo\r\n")) || !client_expect(&cc, LIT("lo\r\n")))
		goto out;
	cache_owed_eq(&cc, 2, 1, "first reply whole");
	if (!server_send(&cc, LIT(HELLO)) || !client_expect(&cc, LIT(HELLO)))
		goto out;
	cache_owed_eq(&cc, 2, 2, "both answered");
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
	cache_owed_eq(&cc, 4, 4, "four replies");
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

/*
 * A write far larger than a window, whose value is made of GET commands: the value is skipped
 * by length, not read as requests, and only the key is invalidated. The message may reach the
 * program in more than one piece, so the pass counter is read, not predicted.
 */
VEER_TEST(cache_redis_large_write)
{
	enum { VLEN = 20 * 3000 }; /* 60000 bytes: 15 windows */
	static char req[VLEN + 64];
	__u64 sum[VEER_CACHE_STAT_MAX];
	struct cache_conn cc;
	int n;

	n = snprintf(req, sizeof(req), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n", VLEN);
	for (int i = 0; i < VLEN / 20; i++, n += 20)
		memcpy(req + n, "*2\r\n$3\r\nGET\r\n$1\r\nj\r\n", 20);
	memcpy(req + n, "\r\n", 2);
	n += 2;
	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_put(R, "j", "other", 0) ||
	    !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, req, n, LIT(OK)))
		goto out;
	cache_owed_eq(&cc, 1, 1, "one SET answered");
	ASSERT_FALSE(cache_current(R, "k"), "k current after SET k");
	ASSERT_TRUE(cache_current(R, "j"), "j, named only inside the value, current");
	if (!exchange_hit(&cc, LIT("*2\r\n$3\r\nGET\r\n$1\r\nj\r\n"), LIT("$5\r\nother\r\n")) ||
	    !cache_stats_read(sum))
		goto out;
	ASSERT_LE(1, sum[VEER_CACHE_PASS_OTHER], "the SET's messages passed");
	CACHE_STATS_EQ("large SET, then a hit", {VEER_CACHE_PASS_OTHER, sum[VEER_CACHE_PASS_OTHER]},
		       {VEER_CACHE_INVALIDATE, 2}, {VEER_CACHE_REPLIES, 1}, {VEER_CACHE_HIT, 1});
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
	/* Two bumps: when FLUSHALL is passed, and when its reply acknowledges it. */
	CACHE_STATS_EQ("FLUSHALL", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_FLUSH, 2},
		       {VEER_CACHE_REPLIES, 1});
	ASSERT_FALSE(cache_current(R, "k"), "k current after FLUSHALL");
	ASSERT_FALSE(cache_current(R, "k2"), "k2 current after FLUSHALL");
	ASSERT_FALSE(cache_current(VEER_CACHE_MEMCACHED, "m"),
		     "memcached m current after FLUSHALL");
	if (exchange_passed(&cc, LIT(GET_K), LIT(NIL)))
		CACHE_STATS_EQ("GET after FLUSHALL", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_FLUSH, 2}, {VEER_CACHE_REPLIES, 2},
			       {VEER_CACHE_MISS, 1});
out:
	cache_conn_close(&cc);
}

/*
 * The fill side of the races below: sends the write req on cc (already passed to the server
 * when this returns) and installs k = "hello" stamped either before the write was sent
 * (stamp_first) or while it is in flight. True when every step went through.
 */
static bool fill_across(struct cache_conn *cc, const char *req, size_t len, bool stamp_first,
			const char *what)
{
	struct veer_cache_stamp gen;

	if (stamp_first &&
	    !ASSERT_OK(veer_cache_stamp(&cache_env.vc, "k", 1, &gen), "veer_cache_stamp"))
		return false;
	if (!client_send(cc, req, len) || !server_expect(cc, req, len))
		return false;
	if (!stamp_first &&
	    !ASSERT_OK(veer_cache_stamp(&cache_env.vc, "k", 1, &gen), "veer_cache_stamp"))
		return false;
	return ASSERT_OK(veer_cache_put(&cache_env.vc, R, "k", 1, "hello", 5, 0, 60, &gen), what);
}

/*
 * The fill protocol: read the key's generation, read the value from the server, install it
 * with that generation. A write that passed in between leaves the entry installed but stale.
 */
VEER_TEST(cache_redis_fill_race)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	/* The value read before the SET reached the server. */
	if (!fill_across(&cc, LIT(SET_K), true, "put with the generation read before the SET"))
		goto out;
	ASSERT_FALSE(cache_current(R, "k"), "entry filled across a write is current");
	if (!server_send(&cc, LIT(OK)) || !client_expect(&cc, LIT(OK)))
		goto out;
	if (exchange_passed(&cc, LIT(GET_K), LIT("$1\r\nv\r\n")))
		CACHE_STATS_EQ("fill race", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_INVALIDATE, 2},
			       {VEER_CACHE_REPLIES, 2}, {VEER_CACHE_MISS, 1});
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

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	if (!fill_across(&cc, LIT(SET_K), false, "put while the SET is in flight"))
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

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	if (!fill_across(&cc, LIT(FLUSHALL), true, "put with the generation read before FLUSHALL"))
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

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	if (!fill_across(&cc, LIT(FLUSHALL), false, "put while FLUSHALL is in flight"))
		goto out;
	if (!server_send(&cc, LIT(OK)) || !client_expect(&cc, LIT(OK)))
		goto out;
	ASSERT_FALSE(cache_current(R, "k"), "entry filled while FLUSHALL was in flight is current");
	exchange_passed(&cc, LIT(GET_K), LIT(NIL));
out:
	cache_conn_close(&cc);
}

/*
 * A connection whose requests can no longer be read bumps the epoch for each message it
 * passes; a fill between such a message (here a SET) and its reply must not stay current
 * either.
 */
VEER_TEST(cache_redis_fill_during_blind_write)
{
	struct cache_conn cc, other;

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	if (!cache_conn_open(&other, R)) {
		cache_conn_close(&cc);
		return;
	}
	if (!client_send(&cc, LIT("*x\r\n")) || !server_expect(&cc, LIT("*x\r\n")) ||
	    !fill_across(&cc, LIT(SET_K), false, "put while the SET is in flight"))
		goto out;
	if (!server_send(&cc, LIT(OK)) || !client_expect(&cc, LIT(OK)))
		goto out;
	ASSERT_FALSE(cache_current(R, "k"),
		     "entry filled while a SET of a blind connection was in flight");
	exchange_passed(&other, LIT(GET_K), LIT("$1\r\nv\r\n"));
out:
	cache_conn_close(&other);
	cache_conn_close(&cc);
}

static __u32 slot_of(const char *key)
{
	__u64 h = VEER_CACHE_HASH_INIT;

	for (; *key; key++)
		h = veer_cache_hash_byte(h, *key);
	return veer_cache_gen_slot(h);
}

/*
 * More writes in flight than pend[] holds: the ones that do not fit are acknowledged by an
 * epoch bump at the last one's reply. Fills made while all of them were in flight, of a key
 * with a pend[] entry and of one without, are stale once the replies are in.
 */
VEER_TEST(cache_redis_pend_overflow)
{
	enum { N = VEER_CACHE_PEND + 4 };
	static char req[N * 40], rep[N * 5 + 1];
	struct cache_conn cc;
	char key[8];
	size_t rl = 0;
	struct veer_cache_stamp gen;

	for (int i = 0; i < N; i++) {
		rl += snprintf(req + rl, sizeof(req) - rl,
			       "*3\r\n$3\r\nSET\r\n$3\r\nk%02d\r\n$1\r\nv\r\n", i);
		memcpy(rep + 5 * i, OK, 5);
	}
	/* k19 must owe its staleness to the overflow, not to a pend[] key in its slot. */
	for (int i = 0; i < VEER_CACHE_PEND; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		if (!ASSERT_NEQ(slot_of(key), slot_of("k19"), "k19 shares a generation slot"))
			return;
	}
	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	if (!client_send(&cc, req, rl) || !server_expect(&cc, req, rl))
		goto out;
	/* k00 has a pend[] entry, k19 (the last) does not. */
	for (int i = 0; i < N; i += N - 1) {
		snprintf(key, sizeof(key), "k%02d", i);
		if (!ASSERT_OK(veer_cache_stamp(&cache_env.vc, key, 3, &gen), "veer_cache_stamp") ||
		    !ASSERT_OK(veer_cache_put(&cache_env.vc, R, key, 3, "old", 3, 0, 60, &gen),
			       "put while the SETs are in flight"))
			goto out;
	}
	if (!server_send(&cc, rep, 5 * N) || !client_expect(&cc, rep, 5 * N))
		goto out;
	cache_owed_eq(&cc, N, N, "all answered");
	ASSERT_FALSE(cache_current(R, "k00"), "k00 (acknowledged from pend[]) current");
	ASSERT_FALSE(cache_current(R, "k19"), "k19 (past pend[]) current");
	CACHE_STATS_EQ("writes past pend[]", {VEER_CACHE_PASS_OTHER, 1},
		       {VEER_CACHE_INVALIDATE, N + VEER_CACHE_PEND}, {VEER_CACHE_FLUSH, 1},
		       {VEER_CACHE_REPLIES, N});
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
	cache_owed_eq(&cc, 3, 3, "transaction answered");
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
	cache_owed_eq(&cc, 3, 3, "transaction answered");
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

/* A command that changes the stream (SUBSCRIBE: pushed messages) turns serving off. */
VEER_TEST(cache_redis_subscribe_off)
{
	static const char sub[] = "*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\nc\r\n";
	struct veer_cache_conn st;
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(sub), LIT("*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n")) ||
	    !exchange_passed(&cc, LIT(GET_K), LIT(NIL)))
		goto out;
	if (ASSERT_TRUE(cache_conn_state(&cc, &st), "the connection's entry")) {
		ASSERT_EQ(st.off, VEER_CACHE_OFF_COMMAND, "connection off");
		ASSERT_TRUE(st.rp_lost, "replies not counted");
	}
	CACHE_STATS_EQ("SUBSCRIBE, GET", {VEER_CACHE_OFF_COMMAND, 1}, {VEER_CACHE_PASS_OFF, 2});
out:
	cache_conn_close(&cc);
}

/*
 * A reply the parser cannot delimit (a RESP3 map, on a connection HELLO never switched to
 * RESP3) stops the count, and serving. With no write owed a reply, nothing else changes:
 * entries stay current.
 */
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
		       {VEER_CACHE_PASS_OFF, 1});
	ASSERT_TRUE(cache_current(R, "k"), "k current: no write was owed");
out:
	cache_conn_close(&cc);
}

/* The same with a write owed its reply: that acknowledgement will never be seen, so every
 * entry is made stale at once. */
VEER_TEST(cache_redis_reply_unparsed_write_owed)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_put(R, "j", "other", 0) ||
	    !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(SET_K), LIT("%0\r\n")))
		goto out;
	ASSERT_FALSE(cache_current(R, "j"), "j current after the count of replies was lost");
	CACHE_STATS_EQ("write owed, unparsed reply", {VEER_CACHE_PASS_OTHER, 1},
		       {VEER_CACHE_INVALIDATE, 1}, {VEER_CACHE_OFF_PROTOCOL, 1},
		       {VEER_CACHE_FLUSH, 1});
out:
	cache_conn_close(&cc);
}

/*
 * Once a connection's replies are no longer counted, its writes are no longer acknowledged:
 * the second bump, at the reply, never comes. A fill between such a write being passed and
 * the server applying it may read the old value, which must not stay current - for any
 * connection (a second one shows it).
 */
VEER_TEST(cache_redis_fill_during_write_replies_lost)
{
	struct cache_conn cc, other;

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	if (!cache_conn_open(&other, R)) {
		cache_conn_close(&cc);
		return;
	}
	if (!exchange_passed(&cc, LIT(GET_X), LIT("%0\r\n")) ||
	    !fill_across(&cc, LIT(SET_K), false, "put while the SET is in flight"))
		goto out;
	if (!server_send(&cc, LIT(OK)) || !client_expect(&cc, LIT(OK)))
		goto out;
	ASSERT_FALSE(cache_current(R, "k"),
		     "entry filled while a SET of a connection without reply count was in flight");
	exchange_passed(&other, LIT(GET_K), LIT("$1\r\nv\r\n"));
out:
	cache_conn_close(&other);
	cache_conn_close(&cc);
}
