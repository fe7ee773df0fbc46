// SPDX-License-Identifier: GPL-2.0
/*
 * The cache manager: promotes hot keys and follows writes veer does not see.
 *
 * Each round first removes the entries that can no longer be served (expired or stale), then
 * takes the keys the sk_msg program counted most misses for, reads each one's
 * generation, then its value from the real server over the manager's own connection, and
 * installs the value as current for that generation: a write that reached the programs in
 * between has bumped the generation, so the possibly old value is never served.
 *
 * Redis: a second connection subscribes to keyspace notifications (__keyspace@0__:*), turned
 * on if the server has them off, and every key written by anyone - clients on other nodes
 * included - is invalidated as the notification arrives. memcached has no such feed: writes
 * from elsewhere are bounded by the entries' TTL.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>
#include <libmemcached/memcached.h>
#include "cache_internal.h"

#define KEYSPACE_PREFIX "__keyspace@0__:"

struct manager {
	const struct veer_cache_manager_opts *o;
	redisContext *redis; /* fills */
	redisContext *sub;   /* keyspace notifications */
	memcached_st *mc;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static redisContext *redis_connect(const struct veer_cache_manager_opts *o)
{
	struct timeval tv = {.tv_sec = 2};
	redisContext *r = redisConnectWithTimeout(o->host, o->port, tv);

	if (!r || r->err) {
		pr_warn("cannot connect to redis at %s:%u: %s\n", o->host, o->port,
			r ? r->errstr : "out of memory");
		if (r)
			redisFree(r);
		return NULL;
	}
	redisSetTimeout(r, tv);
	return r;
}

/* Makes sure the server publishes keyspace events for every key type ("K" and "A"). */
static int redis_notify_on(redisContext *r)
{
	redisReply *rep = redisCommand(r, "CONFIG GET notify-keyspace-events");
	char flags[64] = "";
	int err = 0;

	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[1]->type == REDIS_REPLY_STRING)
		snprintf(flags, sizeof(flags), "%s", rep->element[1]->str);
	freeReplyObject(rep);
	if (strchr(flags, 'K') && strchr(flags, 'A'))
		return 0;
	strncat(flags, strchr(flags, 'K') ? "A" : strchr(flags, 'A') ? "K" : "KA",
		sizeof(flags) - strlen(flags) - 1);
	rep = redisCommand(r, "CONFIG SET notify-keyspace-events %s", flags);
	if (!rep || rep->type == REDIS_REPLY_ERROR) {
		pr_warn("cannot turn on keyspace notifications: %s\n",
			rep ? rep->str : r->errstr);
		err = -EIO;
	} else {
		pr_info("keyspace notifications turned on (notify-keyspace-events %s)\n", flags);
	}
	freeReplyObject(rep);
	return err;
}

static int manager_connect(struct manager *m)
{
	const struct veer_cache_manager_opts *o = m->o;
	redisReply *rep;

	if (o->proto == VEER_CACHE_MEMCACHED) {
		m->mc = memcached_create(NULL);
		if (!m->mc || memcached_server_add(m->mc, o->host, o->port) != MEMCACHED_SUCCESS) {
			pr_warn("cannot use memcached at %s:%u\n", o->host, o->port);
			return -EIO;
		}
		memcached_behavior_set(m->mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 2000);
		return 0;
	}
	m->redis = redis_connect(o);
	if (!m->redis)
		return -ECONNREFUSED;
	if (!o->notify)
		return 0;
	if (redis_notify_on(m->redis))
		return -EIO;
	m->sub = redis_connect(o);
	if (!m->sub)
		return -ECONNREFUSED;
	rep = redisCommand(m->sub, "PSUBSCRIBE " KEYSPACE_PREFIX "*");
	if (!rep || rep->type != REDIS_REPLY_ARRAY) {
		pr_warn("cannot subscribe to keyspace notifications: %s\n", m->sub->errstr);
		freeReplyObject(rep);
		return -EIO;
	}
	freeReplyObject(rep);
	return 0;
}

static void manager_close(struct manager *m)
{
	if (m->redis)
		redisFree(m->redis);
	if (m->sub)
		redisFree(m->sub);
	if (m->mc)
		memcached_free(m->mc);
}

/* Reads one key's value from the server: 1 with *value malloc'd, 0 when absent, or -errno. */
static int server_get(struct manager *m, const struct veer_cache_key *k, char **value,
		      size_t *vlen, __u32 *flags)
{
	if (m->mc) {
		memcached_return_t rc;

		*value = memcached_get(m->mc, (const char *)k->bytes, k->len, vlen, flags, &rc);
		if (rc == MEMCACHED_NOTFOUND)
			return 0;
		return *value ? 1 : -EIO;
	}
	redisReply *rep = redisCommand(m->redis, "GET %b", k->bytes, (size_t)k->len);

	if (!rep)
		return -EIO;
	if (rep->type != REDIS_REPLY_STRING) {
		freeReplyObject(rep);
		return 0; /* absent, or not a string: nothing a GET hit could return */
	}
	*vlen = rep->len;
	*value = malloc(rep->len + 1);
	if (*value)
		memcpy(*value, rep->str, rep->len);
	freeReplyObject(rep);
	*flags = 0;
	return *value ? 1 : -ENOMEM;
}

/* One promotion round: the hottest keys of this protocol get fresh values. */
static int promote(struct manager *m)
{
	struct veer_cache_hot_key *hot = NULL;
	struct veer_cache *c;
	size_t n, installed = 0;
	int err;

	/*
	 * Opened per round, not once: the handle holds the writers' lock on the pin directory,
	 * and `veer cache put` or a VIP change must not wait for the manager to exit.
	 */
	err = veer_cache_open(&c, true);
	if (err)
		return err;
	/* Entries that can no longer be served only take room from the ones that can. */
	err = veer_cache_sweep(c, &n);
	if (!err)
		err = veer_cache_hot(c, VEER_CACHE_HOT_MAX, true, &hot, &n);
	for (size_t i = 0; !err && i < n && installed < m->o->top; i++) {
		const struct veer_cache_key *k = &hot[i].key;
		char *value = NULL;
		size_t vlen = 0;
		__u32 flags = 0;
		struct veer_cache_stamp stamp;
		int found;

		if (k->proto != m->o->proto)
			continue;
		/* The stamp first: a write or flush after this point makes the value stale. */
		if (veer_cache_stamp(c, k->bytes, k->len, &stamp))
			continue;
		found = server_get(m, k, &value, &vlen, &flags);
		if (found < 0) {
			err = found;
			pr_warn("cannot read key '%.*s' from the server\n", k->len,
				(const char *)k->bytes);
		} else if (found && vlen <= VEER_CACHE_VALUE_MAX &&
			   !veer_cache_put(c, k->proto, k->bytes, k->len, value, vlen, flags,
					   m->o->ttl_s, &stamp)) {
			installed++;
			pr_debug("promoted '%.*s' (%llu misses)\n", k->len, (const char *)k->bytes,
				 (unsigned long long)hot[i].misses);
		}
		free(value);
	}
	if (installed)
		pr_info("promoted %zu hot keys\n", installed);
	free(hot);
	veer_cache_close(c);
	return err;
}

/* Drains the notifications that arrived: each names a key someone wrote. */
static int follow_writes(struct manager *m)
{
	struct veer_cache *c = NULL;
	redisReply *rep;
	void *r;
	int err = 0;

	if (redisBufferRead(m->sub) != REDIS_OK) {
		pr_warn("keyspace notifications: %s\n", m->sub->errstr);
		return -EIO;
	}
	while (redisGetReplyFromReader(m->sub, &r) == REDIS_OK && r) {
		rep = r;
		/* pmessage PATTERN CHANNEL EVENT */
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4 &&
		    rep->element[2]->type == REDIS_REPLY_STRING &&
		    rep->element[2]->len > strlen(KEYSPACE_PREFIX)) {
			const char *key = rep->element[2]->str + strlen(KEYSPACE_PREFIX);
			size_t klen = rep->element[2]->len - strlen(KEYSPACE_PREFIX);

			if (!c)
				err = veer_cache_open(&c, true);
			if (!err && klen <= VEER_CACHE_KEY_MAX)
				veer_cache_invalidate(c, key, klen);
		}
		freeReplyObject(rep);
	}
	veer_cache_close(c);
	return err;
}

int veer_cache_manage(const struct veer_cache_manager_opts *o, volatile int *stop)
{
	struct manager m = {.o = o};
	long long next = now_ms();
	int err;

	err = manager_connect(&m);
	while (!err && !*stop) {
		long long wait = next - now_ms();
		struct pollfd pfd = {.fd = m.sub ? m.sub->fd : -1, .events = POLLIN};

		if (wait <= 0) {
			err = promote(&m);
			next = now_ms() + o->interval_ms;
			continue;
		}
		if (poll(&pfd, 1, wait) < 0) {
			if (errno != EINTR)
				err = -errno;
			continue;
		}
		if (pfd.revents)
			err = follow_writes(&m);
	}
	manager_close(&m);
	return err;
}
