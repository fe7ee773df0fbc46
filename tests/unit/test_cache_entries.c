// SPDX-License-Identifier: GPL-2.0
/*
 * libveer's cache entries without traffic: what veer_cache_put stores and refuses, what
 * veer_cache_get gives back (the value, framing stripped), deletes, invalidation, and the
 * generation a fill is installed with. Harness: cache_harness.h.
 */
#include <errno.h>
#include <stdlib.h>
#include "cache_harness.h"

#define R VEER_CACHE_REDIS
#define M VEER_CACHE_MEMCACHED

/* The length of the reply a GET of key would draw, framing included. */
static __u32 reply_len(__u8 proto, const char *key, __u32 mc_flags, size_t vlen)
{
	char line[320];

	if (proto == R)
		return snprintf(line, sizeof(line), "$%zu\r\n", vlen) + vlen + 2;
	return snprintf(line, sizeof(line), "VALUE %s %u %zu\r\n", key, mc_flags, vlen) + vlen + 7;
}

/* veer_cache_get of key: the value must be want, the entry current, its reply want_reply. */
static bool get_eq(__u8 proto, const char *key, const void *want, size_t want_len, __u32 want_reply,
		   const char *what)
{
	struct veer_cache_item it;
	char msg[128];
	size_t vlen = 0;
	void *v = NULL;
	bool ok;

	snprintf(msg, sizeof(msg), "%s: veer_cache_get", what);
	if (!ASSERT_OK(veer_cache_get(&cache_env.vc, proto, key, strlen(key), &v, &vlen, &it), msg))
		return false;
	snprintf(msg, sizeof(msg), "%s: value", what);
	ok = ASSERT_MEMEQ(v, vlen, want, want_len, msg);
	snprintf(msg, sizeof(msg), "%s: value NUL-terminated", what);
	ok &= ASSERT_EQ(((char *)v)[vlen], 0, msg);
	snprintf(msg, sizeof(msg), "%s: item value_len", what);
	ok &= ASSERT_EQ(it.value_len, want_len, msg);
	snprintf(msg, sizeof(msg), "%s: item reply_len", what);
	ok &= ASSERT_EQ(it.reply_len, want_reply, msg);
	snprintf(msg, sizeof(msg), "%s: item current", what);
	ok &= ASSERT_TRUE(it.current, msg);
	snprintf(msg, sizeof(msg), "%s: item TTL (ms)", what);
	ok &= ASSERT_LE(it.ttl_ms, 60000, msg) && ASSERT_LE(59000, it.ttl_ms, msg);
	snprintf(msg, sizeof(msg), "%s: item key", what);
	ok &= ASSERT_EQ(it.key.proto, proto, msg) &&
	      ASSERT_MEMEQ(it.key.bytes, it.key.len, key, strlen(key), msg);
	free(v);
	return ok;
}

VEER_TEST(cache_entries_get_redis)
{
	if (cache_begin() && cache_put(R, "k", "hello", 0))
		get_eq(R, "k", "hello", 5, sizeof("$5\r\nhello\r\n") - 1, "redis");
}

/* memcached's VALUE line and END are framing, not value. */
VEER_TEST(cache_entries_get_memcached)
{
	if (cache_begin() && cache_put(M, "k", "hello", 7))
		get_eq(M, "k", "hello", 5, sizeof("VALUE k 7 5\r\nhello\r\nEND\r\n") - 1,
		       "memcached");
}

/* Values that look like framing, and an empty one, come back as they went in. */
VEER_TEST(cache_entries_get_framing_values)
{
	if (!cache_begin())
		return;
	if (cache_put(R, "k", "$1\r\nx\r\n", 0))
		get_eq(R, "k", "$1\r\nx\r\n", 7, reply_len(R, "k", 0, 7),
		       "redis, RESP in the value");
	if (cache_put(M, "k", "END\r\nVALUE", 0))
		get_eq(M, "k", "END\r\nVALUE", 10, reply_len(M, "k", 0, 10),
		       "memcached, END in the value");
	if (cache_put(R, "e", "", 0))
		get_eq(R, "e", "", 0, reply_len(R, "e", 0, 0), "redis, empty value");
	if (cache_put(M, "e", "", 0))
		get_eq(M, "e", "", 0, reply_len(M, "e", 0, 0), "memcached, empty value");
}

/* The same name in two protocols: two entries, each with its own framing. */
VEER_TEST(cache_entries_protocols_apart)
{
	if (!cache_begin() || !cache_put(R, "k", "redis", 0) || !cache_put(M, "k", "memcache", 3))
		return;
	get_eq(R, "k", "redis", 5, reply_len(R, "k", 0, 5), "redis k");
	get_eq(M, "k", "memcache", 8, reply_len(M, "k", 3, 8), "memcached k");
}

VEER_TEST(cache_entries_limits)
{
	static char value[VEER_CACHE_VALUE_MAX + 2];
	char key[VEER_CACHE_KEY_MAX + 2];
	struct veer_cache *vc = &cache_env.vc;

	if (!cache_begin())
		return;
	memset(value, 'v', sizeof(value) - 1);
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = 0;
	ASSERT_OK(veer_cache_put(vc, R, "k", 1, value, VEER_CACHE_VALUE_MAX, 0, 60, NULL),
		  "redis value of VEER_CACHE_VALUE_MAX bytes");
	ASSERT_OK(veer_cache_put(vc, M, "k", 1, value, VEER_CACHE_VALUE_MAX, 0, 60, NULL),
		  "memcached value of VEER_CACHE_VALUE_MAX bytes");
	ASSERT_EQ(veer_cache_put(vc, R, "k2", 2, value, VEER_CACHE_VALUE_MAX + 1, 0, 60, NULL),
		  -E2BIG, "redis value of VEER_CACHE_VALUE_MAX + 1 bytes");
	ASSERT_EQ(veer_cache_put(vc, M, "k2", 2, value, VEER_CACHE_VALUE_MAX + 1, 0, 60, NULL),
		  -E2BIG, "memcached value of VEER_CACHE_VALUE_MAX + 1 bytes");
	/* The longest key with the longest value and flags still fits the reply. */
	ASSERT_OK(veer_cache_put(vc, M, key, VEER_CACHE_KEY_MAX, value, VEER_CACHE_VALUE_MAX,
				 0xffffffffu, 60, NULL),
		  "memcached key of 250 bytes, largest value and flags");
	ASSERT_OK(veer_cache_put(vc, R, key, VEER_CACHE_KEY_MAX, "v", 1, 0, 60, NULL),
		  "redis key of 250 bytes");
	ASSERT_EQ(veer_cache_put(vc, R, key, VEER_CACHE_KEY_MAX + 1, "v", 1, 0, 60, NULL), -EINVAL,
		  "redis key of 251 bytes");
	ASSERT_EQ(veer_cache_put(vc, M, key, VEER_CACHE_KEY_MAX + 1, "v", 1, 0, 60, NULL), -EINVAL,
		  "memcached key of 251 bytes");
	ASSERT_EQ(veer_cache_put(vc, R, "", 0, "v", 1, 0, 60, NULL), -EINVAL, "empty key");
	ASSERT_EQ(veer_cache_put(vc, M, "a b", 3, "v", 1, 0, 60, NULL), -EINVAL,
		  "memcached key with a space");
	ASSERT_EQ(veer_cache_put(vc, M, "a\nb", 3, "v", 1, 0, 60, NULL), -EINVAL,
		  "memcached key with a newline");
	/* Only what was accepted is there. */
	{
		struct veer_cache_item *items = NULL;
		size_t n = 0;

		if (ASSERT_OK(veer_cache_list(vc, &items, &n), "veer_cache_list"))
			ASSERT_EQ(n, 4, "entries");
		free(items);
	}
}

VEER_TEST(cache_entries_del)
{
	struct veer_cache_item it;
	size_t vlen;
	void *v;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_put(M, "k", "hello", 0))
		return;
	ASSERT_OK(veer_cache_del(&cache_env.vc, R, "k", 1), "delete redis k");
	ASSERT_EQ(veer_cache_get(&cache_env.vc, R, "k", 1, &v, &vlen, &it), -ENOENT,
		  "redis k after delete");
	/* The other protocol's entry of the same name stays. */
	get_eq(M, "k", "hello", 5, reply_len(M, "k", 0, 5), "memcached k after deleting redis k");
	ASSERT_EQ(veer_cache_del(&cache_env.vc, R, "k", 1), -ENOENT, "delete an absent entry");
}

/* A write seen outside the programs: both protocols' entries go, the generation moves on. */
VEER_TEST(cache_entries_invalidate)
{
	struct veer_cache_item it;
	struct veer_cache_stamp before, after;
	size_t vlen;
	void *v;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !cache_put(M, "k", "hello", 0) ||
	    !cache_put(R, "j", "other", 0))
		return;
	if (!ASSERT_OK(veer_cache_stamp(&cache_env.vc, "k", 1, &before), "generation before"))
		return;
	ASSERT_OK(veer_cache_invalidate(&cache_env.vc, "k", 1), "veer_cache_invalidate");
	ASSERT_EQ(veer_cache_get(&cache_env.vc, R, "k", 1, &v, &vlen, &it), -ENOENT, "redis k");
	ASSERT_EQ(veer_cache_get(&cache_env.vc, M, "k", 1, &v, &vlen, &it), -ENOENT, "memcached k");
	if (ASSERT_OK(veer_cache_stamp(&cache_env.vc, "k", 1, &after), "generation after")) {
		ASSERT_NEQ(after.gen, before.gen, "generation moved");
		ASSERT_TRUE(after.gen & VEER_CACHE_GEN_USER, "generation from the userspace half");
	}
	/* A fill that read the old generation is installed stale. */
	if (ASSERT_OK(veer_cache_put(&cache_env.vc, R, "k", 1, "hello", 5, 0, 60, &before),
		      "put with the old generation"))
		ASSERT_FALSE(cache_current(R, "k"), "k current with the old generation");
	get_eq(R, "j", "other", 5, reply_len(R, "j", 0, 5), "another key");
	CACHE_STATS_EQ("invalidate", {VEER_CACHE_INVALIDATE, 1});
}

/* The sweep removes what can no longer be served - expired or stale - and nothing else. */
VEER_TEST(cache_entries_sweep)
{
	struct veer_cache *vc = &cache_env.vc;
	struct veer_cache_item *items = NULL;
	struct veer_cache_stamp bogus = {.gen = 12345};
	size_t removed = 0, n = 0;

	if (!cache_begin() || !cache_put(R, "live", "hello", 0) ||
	    !cache_put(M, "live", "hello", 0))
		return;
	if (!ASSERT_OK(veer_cache_put(vc, R, "old", 3, "hello", 5, 0, 0, NULL), "put expired") ||
	    !ASSERT_OK(veer_cache_put(vc, M, "stale", 5, "hello", 5, 0, 60, &bogus), "put stale"))
		return;
	if (!ASSERT_OK(veer_cache_sweep(vc, &removed), "veer_cache_sweep"))
		return;
	ASSERT_EQ(removed, 2, "entries removed");
	if (ASSERT_OK(veer_cache_list(vc, &items, &n), "veer_cache_list") &&
	    ASSERT_EQ(n, 2, "entries left")) {
		ASSERT_MEMEQ(items[0].key.bytes, items[0].key.len, "live", 4, "first left");
		ASSERT_MEMEQ(items[1].key.bytes, items[1].key.len, "live", 4, "second left");
	}
	free(items);
	CACHE_STATS_EQ("sweep", {VEER_CACHE_EXPIRED, 1});
}
