// SPDX-License-Identifier: GPL-2.0
/*
 * The cache manager: promotes hot keys, keeps write-heavy keys out, and follows writes veer
 * does not see.
 *
 * Each round first removes the entries that can no longer be served (expired or stale), then
 * folds the round's counts into each key's decayed read and write rates: misses and local
 * writes from veer_cache_hot, hits from the entries, writes from keyspace notifications. A
 * cached key whose writes outpace its reads is deleted (demoted). The most-missed keys that
 * are not write-heavy are promoted: the manager reads each one's generation, then its value and
 * remaining TTL from the real server over its own connection, and installs the value as current
 * for that generation, expiring no later than the server's copy. A write that reached the
 * programs in between has bumped the generation, so the possibly old value is never served.
 *
 * Redis: a second connection subscribes to keyspace notifications (__keyspace@0__:*), turned
 * on if the server has them off. A thread of its own reads them as they arrive and invalidates
 * every key written by anyone - clients on other hosts included - so the window in which such
 * a write leaves the old value served is the server-to-manager latency, not a round. memcached
 * has no such feed: writes from elsewhere are bounded by the entries' TTL.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <hiredis/hiredis.h>
#include <veer/cache_hash.h>
#include "cache_internal.h"
#include "cache_policy.h"

#define KEYSPACE_PREFIX "__keyspace@0__:"
#define IO_TIMEOUT_S	2
/*
 * memcached's clock ticks once a second and lags real time by up to a second plus its timer's
 * delay, so a remaining TTL of t seconds may mean an expiry that close to t - 1 s from now; the
 * timer runs late on a busy host, hence a whole second more.
 */
#define MC_CLOCK_SLACK_MS 2000
/* Keys remembered only because notifications named them: bounded, they may be any keys. */
#define NOTIFIED_KEYS_MAX 16384
#define KEYTAB_BUCKETS	  65536

/* What the manager knows of one key of its protocol. */
struct kstat {
	struct kstat *next;
	struct veer_cache_key key;
	__u64 hot_misses, hot_writes; /* last seen in veer_cache_hot (cumulative) */
	__u64 hits, expires_ns;	      /* last seen in the key's entry */
	__u64 notified;		      /* writes notified since the last round */
	__u64 round_misses, round_reads, round_writes;
	struct veer_cache_rate rate;
	bool in_hot, cached;
};

struct manager {
	const struct veer_cache_manager_opts *o;
	struct veer_cache *c; /* maps, open for the manager's life; locked per round */
	redisContext *redis;  /* fills */
	redisContext *sub;    /* keyspace notifications, read by the notify thread */
	int mc;		      /* memcached fills: the manager's own socket */
	char *mc_buf;
	size_t mc_len, mc_cap;
	pthread_mutex_t mu; /* keys and notified_keys, shared with the notify thread */
	struct kstat **keys;
	size_t nkeys, notified_keys;
	volatile int *stop;
	volatile int notify_err;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- the key table ---- */

static size_t key_bucket(__u8 proto, const void *key, size_t klen)
{
	const __u8 *p = key;
	__u64 h = VEER_CACHE_HASH_INIT ^ proto;

	for (size_t i = 0; i < klen; i++)
		h = veer_cache_hash_byte(h, p[i]);
	return (h ^ h >> 32) & (KEYTAB_BUCKETS - 1);
}

/* The key's record, created when create is set; NULL when absent or out of memory. */
static struct kstat *key_find(struct manager *m, __u8 proto, const void *key, size_t klen,
			      bool create)
{
	struct kstat **b = &m->keys[key_bucket(proto, key, klen)], *k;

	for (k = *b; k; k = k->next)
		if (k->key.proto == proto && k->key.len == klen && !memcmp(k->key.bytes, key, klen))
			return k;
	if (!create)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (!k || veer_cache_key_make(&k->key, proto, key, klen)) {
		free(k);
		return NULL;
	}
	k->next = *b;
	*b = k;
	m->nkeys++;
	return k;
}

static void keys_free(struct manager *m)
{
	for (size_t i = 0; m->keys && i < KEYTAB_BUCKETS; i++)
		for (struct kstat *k = m->keys[i], *next; k; k = next) {
			next = k->next;
			free(k);
		}
	free(m->keys);
}

/* ---- Redis ---- */

static redisContext *redis_connect(const struct veer_cache_manager_opts *o)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
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

/*
 * Whether the server speaks Redis: PING draws +PONG, or an error such as -NOAUTH, which only a
 * Redis sends. Asked before anything that changes the server, so a --proto that does not match
 * the server fails with nothing done (memcached answers PING with a bare ERROR).
 */
static int redis_probe(redisContext *r, const struct veer_cache_manager_opts *o)
{
	redisReply *rep = redisCommand(r, "PING");
	bool redis = rep && (rep->type == REDIS_REPLY_STATUS || rep->type == REDIS_REPLY_ERROR) &&
		     strcmp(rep->str, "ERROR");

	freeReplyObject(rep);
	if (redis)
		return 0;
	pr_warn("%s:%u does not answer PING as Redis does (is it memcached? then --proto "
		"memcached)\n", o->host, o->port);
	return -EPROTO;
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

/*
 * The value and its remaining TTL in one transaction, so that the two belong together:
 * 1 found (*value malloc'd, *ttl_ms -1 without expiry), 0 absent or not a string, or -errno.
 */
static int redis_read(struct manager *m, const struct veer_cache_key *k, char **value, size_t *vlen,
		      long long *ttl_ms)
{
	redisContext *r = m->redis;
	redisReply *rep = NULL, *get, *ttl;
	void *p;
	int found = 0;

	redisAppendCommand(r, "MULTI");
	redisAppendCommand(r, "GET %b", k->bytes, (size_t)k->len);
	redisAppendCommand(r, "PTTL %b", k->bytes, (size_t)k->len);
	redisAppendCommand(r, "EXEC");
	for (int i = 0; i < 4; i++) {
		if (redisGetReply(r, &p) != REDIS_OK) {
			pr_warn("cannot read from redis: %s\n", r->errstr);
			freeReplyObject(rep);
			return -EIO;
		}
		freeReplyObject(rep);
		rep = p;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
		pr_warn("unexpected reply from redis to MULTI GET PTTL EXEC\n");
		freeReplyObject(rep);
		return -EIO;
	}
	get = rep->element[0];
	ttl = rep->element[1];
	/* Absent, or not a string: nothing a GET hit could return. */
	if (get->type == REDIS_REPLY_STRING && ttl->type == REDIS_REPLY_INTEGER &&
	    ttl->integer != -2) {
		*vlen = get->len;
		*value = malloc(get->len + 1);
		*ttl_ms = ttl->integer;
		found = *value ? 1 : -ENOMEM;
		if (*value)
			memcpy(*value, get->str, get->len);
	}
	freeReplyObject(rep);
	return found;
}

/* ---- memcached: `mg KEY v f t` on the manager's own socket ---- */

static int mc_connect(struct manager *m)
{
	const struct veer_cache_manager_opts *o = m->o;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST}, *ai;
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	char port[8];
	int one = 1, err;

	snprintf(port, sizeof(port), "%u", o->port);
	err = getaddrinfo(o->host, port, &hints, &ai);
	if (err) {
		pr_warn("cannot use memcached at %s:%u: %s\n", o->host, o->port, gai_strerror(err));
		return -EINVAL;
	}
	m->mc = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->mc < 0 || setsockopt(m->mc, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(m->mc, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(m->mc, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    connect(m->mc, ai->ai_addr, ai->ai_addrlen)) {
		err = -errno;
		pr_warn("cannot connect to memcached at %s:%u: %s\n", o->host, o->port,
			strerror(errno));
		freeaddrinfo(ai);
		return err;
	}
	freeaddrinfo(ai);
	return 0;
}

/* Reads until the buffer holds at least want bytes. */
static int mc_fill(struct manager *m, size_t want)
{
	while (m->mc_len < want) {
		ssize_t n;

		if (m->mc_cap < want + 4096) {
			char *b = realloc(m->mc_buf, want + 4096);

			if (!b)
				return -ENOMEM;
			m->mc_buf = b;
			m->mc_cap = want + 4096;
		}
		n = recv(m->mc, m->mc_buf + m->mc_len, m->mc_cap - m->mc_len, 0);
		if (n <= 0) {
			pr_warn("cannot read from memcached: %s\n",
				n ? strerror(errno) : "connection closed");
			return -EIO;
		}
		m->mc_len += n;
	}
	return 0;
}

/* The length of the first line in the buffer, CRLF included, reading as needed. */
static int mc_line(struct manager *m, size_t *len)
{
	for (;;) {
		char *lf = m->mc_len ? memchr(m->mc_buf, '\n', m->mc_len) : NULL;
		int err;

		if (lf) {
			*len = lf - m->mc_buf + 1;
			return 0;
		}
		if (m->mc_len > 4096) {
			pr_warn("memcached sent a line of over 4096 bytes\n");
			return -EIO;
		}
		err = mc_fill(m, m->mc_len + 1);
		if (err)
			return err;
	}
}

static void mc_consume(struct manager *m, size_t n)
{
	memmove(m->mc_buf, m->mc_buf + n, m->mc_len - n);
	m->mc_len -= n;
}

/* Parses a decimal token (optionally negative) filling the whole of [s, end). */
static bool mc_num(const char *s, const char *end, long long *out)
{
	bool neg = s < end && *s == '-';
	long long v = 0;

	s += neg;
	if (s == end)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9' || v > (1LL << 40))
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = neg ? -v : v;
	return true;
}

/*
 * `mg KEY v f t`: "VA <size> f<flags> t<ttl>\r\n<data>\r\n" or "EN\r\n". Like redis_read;
 * *ttl_ms is -1 without expiry, else the server's remaining seconds made safe for its clock.
 */
static int mc_read(struct manager *m, const struct veer_cache_key *k, char **value, size_t *vlen,
		   __u32 *flags, long long *ttl_ms)
{
	char req[VEER_CACHE_KEY_MAX + 16], *line, *p, *end, *tok;
	long long size = -1, num, ttl = -1, fl = 0;
	size_t len;
	int n, err;

	n = snprintf(req, sizeof(req), "mg %.*s v f t\r\n", k->len, (const char *)k->bytes);
	if (send(m->mc, req, n, MSG_NOSIGNAL) != n) {
		pr_warn("cannot write to memcached: %s\n", strerror(errno));
		return -EIO;
	}
	err = mc_line(m, &len);
	if (err)
		return err;
	line = m->mc_buf;
	end = line + len - 1;
	if (end > line && end[-1] == '\r')
		end--;
	if (end - line == 2 && !memcmp(line, "EN", 2)) {
		mc_consume(m, len);
		return 0;
	}
	if (end - line >= 12 && !memcmp(line, "CLIENT_ERROR", 12)) {
		/* A key memcached refuses: a client's doing, not a reason to stop managing. */
		pr_debug("memcached refused mg of '%.*s': %.*s\n", k->len, (const char *)k->bytes,
			 (int)(end - line), line);
		mc_consume(m, len);
		return 0;
	}
	if (end - line < 3 || memcmp(line, "VA ", 3)) {
		pr_warn("unexpected reply from memcached to mg: '%.*s'\n", (int)(end - line), line);
		return -EIO;
	}
	/* Tokens after VA: the size, then the flags asked for, each a letter and a value. */
	for (p = line + 3; p < end; p = tok + 1) {
		tok = memchr(p, ' ', end - p);
		if (!tok)
			tok = end;
		if (size < 0) {
			if (!mc_num(p, tok, &size) || size < 0)
				goto bad;
		} else if (*p == 'f' && mc_num(p + 1, tok, &num) && num >= 0 &&
			   num <= 0xffffffffLL) {
			fl = num;
		} else if (*p == 't' && mc_num(p + 1, tok, &num)) {
			ttl = num;
		} else if (tok > p) {
			goto bad;
		}
	}
	if (size < 0)
		goto bad;
	mc_consume(m, len);
	err = mc_fill(m, size + 2);
	if (err)
		return err;
	if (memcmp(m->mc_buf + size, "\r\n", 2)) {
		pr_warn("memcached's data block does not end in CRLF\n");
		return -EIO;
	}
	*value = malloc(size + 1);
	if (!*value)
		return -ENOMEM;
	memcpy(*value, m->mc_buf, size);
	mc_consume(m, size + 2);
	*vlen = size;
	*flags = fl;
	*ttl_ms = ttl < 0 ? -1 : ttl * 1000 - MC_CLOCK_SLACK_MS;
	if (ttl >= 0 && *ttl_ms <= 0)
		*ttl_ms = 0;
	return 1;
bad:
	pr_warn("unexpected reply from memcached to mg: '%.*s'\n", (int)(end - line), line);
	return -EIO;
}

/*
 * Whether the server speaks memcached's text protocol: `version` draws "VERSION ...". Redis
 * answers it with an error and changes nothing, so a --proto that does not match fails here.
 */
static int mc_probe(struct manager *m)
{
	static const char req[] = "version\r\n";
	size_t len;
	bool mc;

	if (send(m->mc, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1) {
		pr_warn("cannot write to memcached: %s\n", strerror(errno));
		return -EIO;
	}
	if (mc_line(m, &len))
		return -EIO;
	mc = len > 8 && !memcmp(m->mc_buf, "VERSION ", 8);
	mc_consume(m, len);
	if (mc)
		return 0;
	pr_warn("%s:%u does not answer 'version' as memcached does (is it Redis? then --proto "
		"redis)\n", m->o->host, m->o->port);
	return -EPROTO;
}

/* ---- connections ---- */

static int manager_connect(struct manager *m)
{
	const struct veer_cache_manager_opts *o = m->o;
	redisReply *rep;

	if (o->proto == VEER_CACHE_MEMCACHED) {
		int err = mc_connect(m);

		return err ? err : mc_probe(m);
	}
	m->redis = redis_connect(o);
	if (!m->redis)
		return -ECONNREFUSED;
	if (redis_probe(m->redis, o))
		return -EPROTO;
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
	if (m->mc >= 0)
		close(m->mc);
	free(m->mc_buf);
}

/* Reads one key's value from the server (see redis_read). */
static int server_read(struct manager *m, const struct veer_cache_key *k, char **value,
		       size_t *vlen, __u32 *flags, long long *ttl_ms)
{
	*flags = 0;
	if (m->o->proto == VEER_CACHE_MEMCACHED)
		return mc_read(m, k, value, vlen, flags, ttl_ms);
	return redis_read(m, k, value, vlen, ttl_ms);
}

/* ---- keyspace notifications, on a thread of their own ---- */

/* A write of key by anyone: invalidate it at once, and count it for the write/read rule. */
static void notified(struct manager *m, const char *key, size_t klen)
{
	struct kstat *k;

	if (!klen || klen > VEER_CACHE_KEY_MAX)
		return;
	veer_cache_invalidate(m->c, key, klen);
	pthread_mutex_lock(&m->mu);
	k = key_find(m, m->o->proto, key, klen, false);
	if (!k && m->notified_keys < NOTIFIED_KEYS_MAX) {
		k = key_find(m, m->o->proto, key, klen, true);
		m->notified_keys += !!k;
	}
	if (k)
		k->notified++;
	pthread_mutex_unlock(&m->mu);
}

static void *notify_thread(void *arg)
{
	struct manager *m = arg;
	redisReply *rep;
	void *r;

	while (!*m->stop && !m->notify_err) {
		struct pollfd pfd = {.fd = m->sub->fd, .events = POLLIN};
		int n = poll(&pfd, 1, 200);

		if (n < 0 && errno != EINTR) {
			m->notify_err = -errno;
			break;
		}
		if (n <= 0)
			continue;
		if (redisBufferRead(m->sub) != REDIS_OK) {
			pr_warn("keyspace notifications: %s\n", m->sub->errstr);
			m->notify_err = -EIO;
			break;
		}
		while (redisGetReplyFromReader(m->sub, &r) == REDIS_OK && r) {
			rep = r;
			/* pmessage PATTERN CHANNEL EVENT */
			if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4 &&
			    rep->element[2]->type == REDIS_REPLY_STRING &&
			    rep->element[2]->len > strlen(KEYSPACE_PREFIX))
				notified(m, rep->element[2]->str + strlen(KEYSPACE_PREFIX),
					 rep->element[2]->len - strlen(KEYSPACE_PREFIX));
			freeReplyObject(rep);
		}
	}
	return NULL;
}

/* ---- rounds ---- */

/* Candidates most-read first, by rank (their misses, as they are not cached). */
static int cand_cmp(const void *a, const void *b)
{
	double x = (*(struct kstat *const *)a)->rate.rank;
	double y = (*(struct kstat *const *)b)->rate.rank;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Cached keys least-read first: the first to give their place to a hotter candidate. */
static int victim_cmp(const void *a, const void *b)
{
	return -cand_cmp(a, b);
}

/*
 * Folds this round's counts into every key's rates (under m->mu). Returns the cached keys to
 * demote and the promotion candidates, most-missed first, in malloc'd arrays.
 */
static int fold_round(struct manager *m, const struct veer_cache_hot_key *hot, size_t nhot,
		      const struct veer_cache_item *items, size_t nitems, struct kstat ***demote,
		      size_t *ndemote, struct kstat ***cands, size_t *ncands, struct kstat ***victims,
		      size_t *nvictims)
{
	__u8 proto = m->o->proto;
	struct kstat *k, **prev;

	for (size_t i = 0; i < KEYTAB_BUCKETS; i++)
		for (k = m->keys[i]; k; k = k->next) {
			k->round_misses = 0;
			k->round_reads = 0;
			k->round_writes = k->notified;
			k->notified = 0;
			k->in_hot = k->cached = false;
		}
	for (size_t i = 0; i < nhot; i++) {
		if (hot[i].key.proto != proto)
			continue;
		k = key_find(m, proto, hot[i].key.bytes, hot[i].key.len, true);
		if (!k)
			return -ENOMEM;
		k->round_misses = veer_cache_delta(hot[i].misses, k->hot_misses);
		k->round_reads += k->round_misses;
		k->round_writes += veer_cache_delta(hot[i].writes, k->hot_writes);
		k->hot_misses = hot[i].misses;
		k->hot_writes = hot[i].writes;
		k->in_hot = true;
	}
	for (size_t i = 0; i < nitems; i++) {
		if (items[i].key.proto != proto || !items[i].current)
			continue;
		k = key_find(m, proto, items[i].key.bytes, items[i].key.len, true);
		if (!k)
			return -ENOMEM;
		/* Another expiry is another entry, whose count started again from zero. */
		k->round_reads += k->expires_ns == items[i].expires_ns
					  ? veer_cache_delta(items[i].hits, k->hits)
					  : items[i].hits;
		k->hits = items[i].hits;
		k->expires_ns = items[i].expires_ns;
		k->cached = true;
	}
	*demote = calloc(nitems + 1, sizeof(**demote));
	*victims = calloc(nitems + 1, sizeof(**victims));
	*cands = calloc(nhot + 1, sizeof(**cands));
	if (!*demote || !*victims || !*cands)
		return -ENOMEM;
	*ndemote = *ncands = *nvictims = 0;
	for (size_t i = 0; i < KEYTAB_BUCKETS; i++)
		for (prev = &m->keys[i]; (k = *prev);) {
			veer_cache_rate_fold(&k->rate, k->round_reads, k->round_writes);
			if (!k->in_hot && !k->cached && veer_cache_rate_idle(&k->rate)) {
				/* Forgotten: nothing left to learn from it. */
				*prev = k->next;
				m->nkeys--;
				if (!k->hot_misses && !k->hits)
					m->notified_keys -= m->notified_keys > 0;
				free(k);
				continue;
			}
			if (k->cached && veer_cache_write_heavy(&k->rate, m->o->max_write_ratio))
				(*demote)[(*ndemote)++] = k;
			else if (k->cached && *nvictims < nitems)
				(*victims)[(*nvictims)++] = k;
			else if (!k->cached && k->round_misses && *ncands < nhot)
				(*cands)[(*ncands)++] = k;
			prev = &k->next;
		}
	qsort(*cands, *ncands, sizeof(**cands), cand_cmp);
	qsort(*victims, *nvictims, sizeof(**victims), victim_cmp);
	return 0;
}

/* Promotes one key: stamp, then value and TTL, then install. 1 installed, 0 not, or -errno. */
static int fill(struct manager *m, const struct veer_cache_key *k)
{
	const struct veer_cache_manager_opts *o = m->o;
	struct veer_cache_stamp stamp;
	long long ttl_ms = -1, max_ms = o->ttl_s * 1000LL;
	char *value = NULL;
	size_t vlen = 0;
	__u32 flags = 0;
	__u64 sent;
	int found, err = 0;

	/* memcached keys have no spaces or control characters: such a key is never a hit. */
	for (size_t i = 0; o->proto == VEER_CACHE_MEMCACHED && i < k->len; i++)
		if (k->bytes[i] <= ' ' || k->bytes[i] == 0x7f)
			return 0;
	/* The stamp first: a write or flush after this point makes the value stale. */
	if (veer_cache_stamp(m->c, k->bytes, k->len, &stamp))
		return 0;
	/* The server's TTL counts from when it answers; counting from before asking is safe. */
	sent = now_ns();
	found = server_read(m, k, &value, &vlen, &flags, &ttl_ms);
	if (found < 0) {
		char text[VEER_CACHE_KEY_TEXT_MAX];

		pr_warn("cannot read key '%s' from the server\n",
			veer_cache_key_text(k->bytes, k->len, text, sizeof(text)));
		return found;
	}
	if (found && ttl_ms >= 0 && ttl_ms < max_ms)
		max_ms = ttl_ms;
	if (found && max_ms > 0 && vlen <= VEER_CACHE_VALUE_MAX)
		err = veer_cache_put_until(m->c, k->proto, k->bytes, k->len, value, vlen, flags,
					   sent + max_ms * 1000000ULL, &stamp);
	free(value);
	return found && max_ms > 0 && vlen <= VEER_CACHE_VALUE_MAX && !err;
}

/* One round: sweep, learn, demote, promote. */
static int round_run(struct manager *m)
{
	struct veer_cache_hot_key *hot = NULL;
	struct veer_cache_item *items = NULL;
	struct kstat **demote = NULL, **cands = NULL, **victims = NULL;
	size_t nhot = 0, nitems = 0, ndemote = 0, ncands = 0, nvictims = 0, vi = 0;
	size_t installed = 0, heavy = 0, replaced = 0, room, n;
	int err;

	/* The writers' lock for the round only: `veer cache put` must not wait for the manager. */
	err = veer_cache_lock(m->c, true);
	if (err)
		return err;
	/* Entries that can no longer be served only take room from the ones that can. */
	err = veer_cache_sweep(m->c, &n);
	if (!err)
		err = veer_cache_hot(m->c, VEER_CACHE_HOT_MAX, false, &hot, &nhot);
	if (!err)
		err = veer_cache_list(m->c, &items, &nitems);
	if (!err) {
		pthread_mutex_lock(&m->mu);
		err = fold_round(m, hot, nhot, items, nitems, &demote, &ndemote, &cands, &ncands,
				 &victims, &nvictims);
		pthread_mutex_unlock(&m->mu);
	}
	/*
	 * The arrays point into the table after unlock: only rounds remove records, and the
	 * notify thread changes nothing of a record but its notified count.
	 */
	/* Free places in the table, which both protocols' entries share. */
	room = nitems < VEER_CACHE_ENTRIES ? VEER_CACHE_ENTRIES - nitems : 0;
	for (size_t i = 0; !err && i < ndemote; i++) {
		if (!veer_cache_del(m->c, demote[i]->key.proto, demote[i]->key.bytes,
				    demote[i]->key.len)) {
			room++;
			veer_cache_count(m->c, VEER_CACHE_DEMOTE, 1);
			pr_debug("demoted '%.*s': %.1f writes, %.1f reads\n", demote[i]->key.len,
				 (const char *)demote[i]->key.bytes, demote[i]->rate.writes,
				 demote[i]->rate.reads);
		}
	}
	for (size_t i = 0; !err && i < ncands && installed < m->o->top; i++) {
		struct kstat *k = cands[i];
		int r;

		if (veer_cache_write_heavy(&k->rate, m->o->max_write_ratio)) {
			heavy++;
			continue;
		}
		/*
		 * A full table: the candidate takes the place of the lowest-ranked cached key, if
		 * it outranks it. Candidates come most-read first, so the first that is not ends
		 * the round's promotions. Evicting by expiry instead would drop the oldest
		 * entries, which under a stable skew are the hottest. With no entry of its own
		 * protocol left to give up (a table full of the other protocol's, whose ranks
		 * this manager does not know), the put makes room by expiry.
		 */
		if (!room && vi < nvictims) {
			struct kstat *v = victims[vi];

			if (!veer_cache_outranks(&k->rate, &v->rate))
				break;
			vi++;
			if (veer_cache_del(m->c, v->key.proto, v->key.bytes, v->key.len))
				continue;
			replaced++;
			room++;
		}
		r = fill(m, &k->key);
		if (r < 0)
			err = r;
		installed += r > 0;
		room -= r > 0;
		if (r > 0)
			pr_debug("promoted '%.*s' (%llu misses)\n", k->key.len,
				 (const char *)k->key.bytes, (unsigned long long)k->round_misses);
	}
	if (heavy)
		veer_cache_count(m->c, VEER_CACHE_WRITE_HEAVY, heavy);
	if (replaced)
		veer_cache_count(m->c, VEER_CACHE_EVICT, replaced);
	if (installed || ndemote)
		pr_info("promoted %zu hot keys (%zu in place of colder ones), demoted %zu, "
			"%zu write-heavy left out\n",
			installed, replaced, ndemote, heavy);
	free(demote);
	free(victims);
	free(cands);
	free(hot);
	free(items);
	veer_cache_lock(m->c, false);
	return err;
}

int veer_cache_manage(const struct veer_cache_manager_opts *o, volatile int *stop)
{
	struct manager m = {.o = o, .mc = -1, .stop = stop};
	long long next = now_ms();
	pthread_t notifier;
	bool threaded = false;
	int err;

	/* The maps first: nothing is asked of the server when the pins cannot be used. */
	err = veer_cache_open(&m.c, true);
	if (err)
		return err;
	veer_cache_lock(m.c, false);
	pthread_mutex_init(&m.mu, NULL);
	m.keys = calloc(KEYTAB_BUCKETS, sizeof(*m.keys));
	if (!m.keys)
		err = -ENOMEM;
	if (!err)
		err = manager_connect(&m);
	if (!err && m.sub) {
		err = -pthread_create(&notifier, NULL, notify_thread, &m);
		threaded = !err;
	}
	while (!err && !*stop) {
		long long wait = next - now_ms();

		if (m.notify_err) {
			err = m.notify_err;
			break;
		}
		if (wait <= 0) {
			err = round_run(&m);
			next = now_ms() + o->interval_ms;
			continue;
		}
		/* Sleeps in short steps: a signal may not reach this thread. */
		usleep((wait < 100 ? wait : 100) * 1000);
	}
	if (threaded) {
		m.notify_err = m.notify_err ? m.notify_err : 1; /* ends the thread's loop */
		pthread_join(notifier, NULL);
	}
	manager_close(&m);
	keys_free(&m);
	pthread_mutex_destroy(&m.mu);
	veer_cache_close(m.c);
	return err;
}
