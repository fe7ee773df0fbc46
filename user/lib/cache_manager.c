// SPDX-License-Identifier: GPL-2.0
/*
 * The cache manager: promotes hot keys, keeps write-heavy keys out, and follows writes veer
 * does not see.
 *
 * One implementation for every front end: a handle an event loop drives (veerd's, through
 * veer_cache_mgr_fd, veer_cache_mgr_next_deadline and veer_cache_mgr_run), and
 * veer_cache_manage(), a blocking loop over the same calls for `veer cache manage`. Nothing in
 * it blocks and it has no thread: its connections are non-blocking sockets in an epoll set of
 * its own, whose one fd is what the caller watches. Redis replies are read with hiredis's
 * reader, memcached's with the line parser below.
 *
 * Each round first removes the entries that can no longer be served (expired or stale), then
 * folds the round's counts into each key's decayed read and write rates: misses and local
 * writes from veer_cache_hot, hits from the entries, writes from keyspace notifications. A
 * cached key whose writes outpace its reads is deleted (demoted). The most-missed keys that
 * are not write-heavy are promoted: the manager reads each one's stamp (its generation and the
 * epoch), asks the server for all their values and remaining TTLs in one pipelined batch, and
 * installs each value as current for its stamp, expiring no later than the server's copy. A
 * write that reached the programs or a notification in between has bumped the generation, so
 * a possibly old value is never served.
 *
 * The cache writers' lock is taken for the round's bookkeeping and again for the installs,
 * never while the server is asked: `veer cache put` waits for a few map updates at most, and
 * the balancer's commands never wait for the cache (their lock is another).
 *
 * Redis: a second connection subscribes to keyspace notifications (__keyspace@0__:*), turned
 * on if the server has them off and checked again every round, and every key written by
 * anyone - clients on other hosts included - is invalidated as its notification is read.
 * Cached data is never served without that feed. When the manager starts, stops or loses the
 * subscription, it bumps the flush epoch: every entry is stale at once. While the subscription
 * is down nothing is promoted, and it is made again with capped backoff. A manager killed
 * outright bumps nothing: its lease does that work. The programs serve a protocol's entries
 * only until its lease (veer_cache_glob.lease_ns), which the manager renews each time the
 * subscription answers a PING: every notification published before that PING has been read by
 * then. memcached has no such feed: writes from elsewhere are bounded by the entries' TTL, and
 * its lease only says that its manager lives.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <hiredis/hiredis.h>
#include <veer/cache_hash.h>
#include "cache_internal.h"
#include "cache_policy.h"

#define KEYSPACE_PREFIX "__keyspace@0__:"
#define NS_PER_MS	1000000ULL
/* A connection that is connecting, or owes a reply, and receives nothing for this long is lost. */
#define IO_TIMEOUT_MS 2000
/*
 * How long an answered PING vouches for the feed: the longest a killed manager's entries are
 * served. Pinged four times as often, so that one late answer does not let it run out.
 */
#define LEASE_MS 2000
#define PING_MS	 (LEASE_MS / 4)
/* Reconnection delays: doubled after each failure up to the cap, reset by a success. */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/*
 * memcached's clock ticks once a second and lags real time by up to a second plus its timer's
 * delay, so a remaining TTL of t seconds may mean an expiry that close to t - 1 s from now; the
 * timer runs late on a busy host, hence a whole second more.
 */
#define MC_CLOCK_SLACK_MS 2000
#define MC_LINE_MAX	  4096
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

/* One connection to the server: non-blocking, its output queued, its input read as it comes. */
struct conn {
	const char *what; /* in messages */
	int fd;		  /* -1 while closed */
	bool connecting;
	__u32 events; /* what the manager's epoll watches on fd */
	char *out;
	size_t out_len, out_off, out_cap;
	redisReader *reader; /* Redis replies */
	char *in;	     /* memcached replies */
	size_t in_len, in_cap;
	__u64 progress;	  /* when it connected, or last received: timeouts count from here */
	__u64 retry_at;	  /* while closed: when to connect again */
	__u32 backoff_ms; /* the delay after the next failure */
	bool failing;	  /* a failure was logged: the next ones quietly, until it works again */
	int err;	  /* a failure seen inside a callback, handled once it has returned */
	char why[160];	  /* what the failure was */
};

/* The fill connection's steps. */
enum fill_step {
	FILL_DOWN,	 /* closed: connect again at retry_at */
	FILL_PROBE,	 /* PING (Redis) or version (memcached) sent: does it speak the protocol? */
	FILL_CONFIG,	 /* CONFIG GET notify-keyspace-events sent */
	FILL_CONFIG_SET, /* CONFIG SET notify-keyspace-events sent */
	FILL_READY,	 /* nothing owed */
	FILL_FETCH,	 /* a round's values owed */
};

enum sub_step {
	SUB_DOWN, /* closed, or connecting */
	SUB_WAIT, /* PSUBSCRIBE sent */
	SUB_LIVE, /* subscribed: the feed is live */
};

/* One key asked for in a round. */
struct fetch {
	struct kstat *k;
	struct veer_cache_stamp stamp;
	char *value;
	size_t vlen;
	__u32 flags;
	long long ttl_ms; /* -1: no expiry */
	bool found;
};

/* A round between its plan and its installs. */
struct round {
	struct fetch *f; /* NULL: no round in flight */
	size_t n, got;	 /* keys asked, keys answered */
	unsigned part;	 /* Redis: replies of the current key's MULTI GET PTTL EXEC read */
	struct kstat **victims;
	size_t nvictims, room;
	size_t heavy, demoted;
	__u64 sent;   /* before the batch was sent: expiries count from here */
	bool spoiled; /* the feed was lost meanwhile: its stamps are stale, install nothing */
};

struct veer_cache_mgr {
	struct veer_cache_manager_opts o;
	char host[256];
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct veer_cache *c;
	bool own_cache;
	int epfd;
	struct conn fill, sub;
	enum fill_step step;
	enum sub_step sub_step;
	bool config_ok;	   /* notifications seen on since the last round or loss */
	bool round_wanted; /* a round is due and waits for the fill connection (and the feed) */
	bool ping_owed;
	bool in_sub;		  /* reading the subscription: a yield must not read it again */
	__u64 ping_sent, ping_at; /* the PING owed, or the subscription; the next PING */
	__u64 lease_at;		  /* no feed: when to renew the lease */
	__u64 round_at;
	struct round r;
	char flags[64]; /* notify-keyspace-events to set */
	struct kstat **keys;
	size_t nkeys, notified_keys;
	int fatal; /* -errno once the manager cannot go on */
	struct veer_cache_mgr_status st;
};

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool redis(const struct veer_cache_mgr *m)
{
	return m->o.proto == VEER_CACHE_REDIS;
}

/* Whether its entries depend on a feed of notifications (else only on their TTL). */
static bool fed(const struct veer_cache_mgr *m)
{
	return redis(m) && m->o.notify;
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
static struct kstat *key_find(struct veer_cache_mgr *m, __u8 proto, const void *key, size_t klen,
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

static void keys_free(struct veer_cache_mgr *m)
{
	for (size_t i = 0; m->keys && i < KEYTAB_BUCKETS; i++)
		for (struct kstat *k = m->keys[i], *next; k; k = next) {
			next = k->next;
			free(k);
		}
	free(m->keys);
}

/* ---- connections ---- */

static void conn_init(struct conn *cn, const char *what)
{
	memset(cn, 0, sizeof(*cn));
	cn->what = what;
	cn->fd = -1;
	cn->backoff_ms = BACKOFF_MIN_MS;
}

/* Records a failure, handled by conn_reap once the callback that saw it has returned. */
static void conn_fail(struct conn *cn, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void conn_fail(struct conn *cn, int err, const char *fmt, ...)
{
	va_list ap;

	if (cn->err)
		return;
	cn->err = err;
	va_start(ap, fmt);
	vsnprintf(cn->why, sizeof(cn->why), fmt, ap);
	va_end(ap);
}

static void conn_watch(struct veer_cache_mgr *m, struct conn *cn)
{
	__u32 ev = EPOLLIN | (cn->connecting || cn->out_off < cn->out_len ? EPOLLOUT : 0);
	struct epoll_event e = {.events = ev, .data.ptr = cn};

	if (cn->fd < 0 || ev == cn->events)
		return;
	if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, cn->fd, &e))
		conn_fail(cn, -errno, "epoll: %s", strerror(errno));
	else
		cn->events = ev;
}

static void conn_close(struct veer_cache_mgr *m, struct conn *cn)
{
	if (cn->fd >= 0) {
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, cn->fd, NULL);
		close(cn->fd);
	}
	if (cn->reader)
		redisReaderFree(cn->reader);
	cn->reader = NULL;
	cn->fd = -1;
	cn->connecting = false;
	cn->events = 0;
	cn->out_len = cn->out_off = cn->in_len = 0;
	cn->err = 0;
}

/* A failure: closed, to be made again after the backoff. Logged once until it works again. */
static void conn_down(struct veer_cache_mgr *m, struct conn *cn)
{
	if (!cn->failing)
		pr_warn("%s at %s:%u: %s; trying again\n", cn->what, m->host, m->o.port, cn->why);
	else
		pr_debug("%s at %s:%u: %s\n", cn->what, m->host, m->o.port, cn->why);
	cn->failing = true;
	conn_close(m, cn);
	cn->retry_at = now_ns() + cn->backoff_ms * NS_PER_MS;
	cn->backoff_ms = cn->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : cn->backoff_ms * 2;
}

/* The connection does what it is for: the next failure starts its backoff afresh. */
static void conn_works(struct veer_cache_mgr *m, struct conn *cn)
{
	if (cn->failing)
		pr_info("%s at %s:%u: working again\n", cn->what, m->host, m->o.port);
	cn->failing = false;
	cn->backoff_ms = BACKOFF_MIN_MS;
}

static void conn_flush(struct veer_cache_mgr *m, struct conn *cn)
{
	while (!cn->connecting && !cn->err && cn->out_off < cn->out_len) {
		ssize_t n = send(cn->fd, cn->out + cn->out_off, cn->out_len - cn->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0) {
			conn_fail(cn, -errno, "cannot write: %s", strerror(errno));
			return;
		}
		cn->out_off += n;
	}
	if (cn->out_off == cn->out_len)
		cn->out_off = cn->out_len = 0;
	conn_watch(m, cn);
}

/* Queues bytes to send; sent as far as the socket takes them now, the rest when it can. */
static void conn_send(struct veer_cache_mgr *m, struct conn *cn, const void *buf, size_t len)
{
	if (cn->fd < 0 || cn->err)
		return;
	if (cn->out_len + len > cn->out_cap) {
		size_t cap = (cn->out_len + len) * 2;
		char *p = realloc(cn->out, cap);

		if (!p) {
			conn_fail(cn, -ENOMEM, "out of memory");
			return;
		}
		cn->out = p;
		cn->out_cap = cap;
	}
	memcpy(cn->out + cn->out_len, buf, len);
	cn->out_len += len;
	conn_flush(m, cn);
}

/* A Redis command, formatted by hiredis (%b for binary-safe bytes). */
static void conn_command(struct veer_cache_mgr *m, struct conn *cn, const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (n < 0) {
		conn_fail(cn, -ENOMEM, "out of memory");
		return;
	}
	conn_send(m, cn, cmd, n);
	free(cmd);
}

/* Reads what has arrived: into the Redis reader, or the memcached buffer. */
static void conn_read(struct conn *cn)
{
	char buf[65536];

	while (!cn->err) {
		ssize_t n = recv(cn->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_fail(cn, n ? -errno : -ECONNRESET, "%s",
				  n ? strerror(errno) : "connection closed by the server");
			return;
		}
		cn->progress = now_ns();
		if (cn->reader) {
			if (redisReaderFeed(cn->reader, buf, n) != REDIS_OK)
				conn_fail(cn, -ENOMEM, "out of memory");
			continue;
		}
		if (cn->in_len + n > cn->in_cap) {
			size_t cap = (cn->in_len + n) * 2;
			char *p = realloc(cn->in, cap);

			if (!p) {
				conn_fail(cn, -ENOMEM, "out of memory");
				return;
			}
			cn->in = p;
			cn->in_cap = cap;
		}
		memcpy(cn->in + cn->in_len, buf, n);
		cn->in_len += n;
	}
}

/* The next Redis reply: 1 with *rep set, 0 when none is complete yet (or a failure). */
static int conn_reply(struct conn *cn, redisReply **rep)
{
	void *r = NULL;

	if (cn->err)
		return 0;
	if (redisReaderGetReply(cn->reader, &r) != REDIS_OK) {
		conn_fail(cn, -EPROTO, "protocol error: %s", cn->reader->errstr);
		return 0;
	}
	*rep = r;
	return r != NULL;
}

static void conn_consume(struct conn *cn, size_t n)
{
	memmove(cn->in, cn->in + n, cn->in_len - n);
	cn->in_len -= n;
}

/* The first line of the input, LF included: its length, 0 if it is not all there yet. */
static long conn_line(struct conn *cn)
{
	char *lf = cn->in_len ? memchr(cn->in, '\n', cn->in_len) : NULL;

	if (lf)
		return lf - cn->in + 1;
	if (cn->in_len > MC_LINE_MAX)
		conn_fail(cn, -EPROTO, "a line of over %d bytes", MC_LINE_MAX);
	return 0;
}

static int conn_open(struct veer_cache_mgr *m, struct conn *cn)
{
	struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.ptr = cn};
	int one = 1, fd;

	conn_close(m, cn);
	fd = socket(m->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		conn_fail(cn, -errno, "cannot make a socket: %s", strerror(errno));
		return -errno;
	}
	cn->fd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	cn->progress = now_ns();
	if (redis(m)) {
		cn->reader = redisReaderCreate();
		if (!cn->reader) {
			conn_fail(cn, -ENOMEM, "out of memory");
			return -ENOMEM;
		}
	}
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &e)) {
		conn_fail(cn, -errno, "epoll: %s", strerror(errno));
		return -errno;
	}
	cn->events = e.events;
	if (connect(fd, (struct sockaddr *)&m->addr, m->addrlen) && errno != EINPROGRESS) {
		conn_fail(cn, -errno, "cannot connect: %s", strerror(errno));
		return -errno;
	}
	cn->connecting = true; /* done when it turns writable, even if it already is */
	return 0;
}

/* Whether a pending connect has completed: true once, with a failure recorded if it failed. */
static bool conn_connected(struct conn *cn)
{
	socklen_t len = sizeof(int);
	int soerr = 0;

	if (!cn->connecting)
		return false;
	if (getsockopt(cn->fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
		soerr = errno;
	if (soerr) {
		conn_fail(cn, -soerr, "cannot connect: %s", strerror(soerr));
		return false;
	}
	cn->connecting = false;
	cn->progress = now_ns();
	return true;
}

/* ---- the fill connection: probe, notifications on, rounds ---- */

static void round_start(struct veer_cache_mgr *m);
static void round_reply(struct veer_cache_mgr *m, redisReply *rep);
static bool round_reply_mc(struct veer_cache_mgr *m);

/*
 * The fill connection owes nothing: check notifications if that is due, then run the round
 * that is due if the feed is live.
 */
static void fill_idle(struct veer_cache_mgr *m)
{
	m->step = FILL_READY;
	if (m->fill.err || m->fill.fd < 0)
		return;
	if (fed(m) && !m->config_ok) {
		conn_command(m, &m->fill, "CONFIG GET notify-keyspace-events");
		m->step = FILL_CONFIG;
		return;
	}
	if (m->round_wanted && (!fed(m) || m->sub_step == SUB_LIVE))
		round_start(m);
}

/*
 * Whether the server speaks Redis: PING draws +PONG, or an error such as -NOAUTH, which only a
 * Redis sends. Asked before anything that changes the server, so a --proto that does not match
 * the server fails with nothing done (memcached answers PING with a bare ERROR).
 */
static void probe_reply(struct veer_cache_mgr *m, redisReply *rep)
{
	if (rep && (rep->type == REDIS_REPLY_STATUS || rep->type == REDIS_REPLY_ERROR) &&
	    strcmp(rep->str, "ERROR")) {
		conn_works(m, &m->fill);
		if (!fed(m))
			pr_info("managing redis at %s:%u (no keyspace notifications)\n", m->host,
				m->o.port);
		fill_idle(m);
		return;
	}
	pr_warn("%s:%u does not answer PING as Redis does (is it memcached? then --proto "
		"memcached)\n",
		m->host, m->o.port);
	m->fatal = -EPROTO;
}

/* The feed is lost: every entry stale at once, nothing of this protocol served until it is back. */
static void feed_lost(struct veer_cache_mgr *m, const char *why)
{
	bool live = m->sub_step == SUB_LIVE;

	if (why)
		snprintf(m->sub.why, sizeof(m->sub.why), "%s", why);
	if (live) {
		pr_warn("keyspace notifications of %s:%u lost (%s): every cached entry is stale, "
			"nothing is promoted until they are followed again\n",
			m->host, m->o.port, m->sub.why);
		m->sub.failing = true; /* said: conn_down need not say it again */
	}
	conn_down(m, &m->sub);
	m->sub_step = SUB_DOWN;
	m->ping_owed = false;
	m->config_ok = false; /* checked again before the next subscription */
	if (m->step == FILL_READY)
		fill_idle(m);
	if (!live)
		return;
	veer_cache_lease_set(m->c, m->o.proto, 1);
	if (veer_cache_epoch_bump(m->c))
		pr_warn("cannot make the cached entries stale: they stay current until their "
			"TTL\n");
	m->st.feed_losses++;
	m->r.spoiled = m->r.f != NULL;
}

static void config_reply(struct veer_cache_mgr *m, redisReply *rep)
{
	char flags[64] = "";

	if (m->step == FILL_CONFIG_SET) {
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			pr_warn("cannot turn on keyspace notifications: %s\n",
				rep ? rep->str : "no reply");
			m->fatal = -EIO;
			return;
		}
		pr_info("keyspace notifications turned on (notify-keyspace-events %s)\n", m->flags);
		m->config_ok = true;
		fill_idle(m);
		return;
	}
	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[1]->type == REDIS_REPLY_STRING)
		snprintf(flags, sizeof(flags), "%s", rep->element[1]->str);
	if (strchr(flags, 'K') && strchr(flags, 'A')) {
		m->config_ok = true;
		fill_idle(m);
		return;
	}
	/* Turned off under a live subscription: writes since went unnoticed. */
	if (m->sub_step == SUB_LIVE)
		feed_lost(m, "notify-keyspace-events was changed on the server");
	snprintf(m->flags, sizeof(m->flags), "%s%s", flags,
		 strchr(flags, 'K')   ? "A"
		 : strchr(flags, 'A') ? "K"
				      : "KA");
	conn_command(m, &m->fill, "CONFIG SET notify-keyspace-events %s", m->flags);
	m->step = FILL_CONFIG_SET;
}

static void fill_replies_redis(struct veer_cache_mgr *m)
{
	redisReply *rep;

	while (!m->fatal && conn_reply(&m->fill, &rep)) {
		switch (m->step) {
		case FILL_PROBE:
			probe_reply(m, rep);
			break;
		case FILL_CONFIG:
		case FILL_CONFIG_SET:
			config_reply(m, rep);
			break;
		case FILL_FETCH:
			round_reply(m, rep);
			break;
		default:
			conn_fail(&m->fill, -EPROTO, "a reply nothing was asked for");
		}
		freeReplyObject(rep);
	}
	/* What memcached answers to PING cannot be read as RESP. */
	if (m->step == FILL_PROBE && m->fill.err == -EPROTO)
		probe_reply(m, NULL);
}

/*
 * Whether the server speaks memcached's text protocol: `version` draws "VERSION ...". Redis
 * answers it with an error and changes nothing, so a --proto that does not match fails here.
 */
static void fill_replies_mc(struct veer_cache_mgr *m)
{
	struct conn *cn = &m->fill;
	long len;

	while (!m->fatal && !cn->err) {
		if (m->step == FILL_FETCH) {
			if (!round_reply_mc(m))
				return;
			continue;
		}
		len = conn_line(cn);
		if (len <= 0)
			return;
		if (m->step != FILL_PROBE) {
			conn_fail(cn, -EPROTO, "a reply nothing was asked for");
			return;
		}
		if (len > 8 && !memcmp(cn->in, "VERSION ", 8)) {
			conn_consume(cn, len);
			conn_works(m, cn);
			pr_info("managing memcached at %s:%u\n", m->host, m->o.port);
			fill_idle(m);
			continue;
		}
		pr_warn("%s:%u does not answer 'version' as memcached does (is it Redis? then "
			"--proto redis)\n",
			m->host, m->o.port);
		m->fatal = -EPROTO;
	}
}

static void fill_event(struct veer_cache_mgr *m, __u32 events)
{
	struct conn *cn = &m->fill;

	if (conn_connected(cn)) {
		m->step = FILL_PROBE;
		if (redis(m))
			conn_command(m, cn, "PING");
		else
			conn_send(m, cn, "version\r\n", 9);
	}
	if (events & EPOLLOUT)
		conn_flush(m, cn);
	if (cn->connecting || cn->err || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	conn_read(cn);
	/* Replies that arrived before a failure are still read. */
	if (redis(m))
		fill_replies_redis(m);
	else
		fill_replies_mc(m);
}

/* ---- keyspace notifications ---- */

/* A write of key by anyone: invalidate it at once, and count it for the write/read rule. */
static void notified(struct veer_cache_mgr *m, const char *key, size_t klen)
{
	struct kstat *k;

	if (!klen || klen > VEER_CACHE_KEY_MAX)
		return;
	veer_cache_invalidate(m->c, key, klen);
	m->st.notifications++;
	k = key_find(m, m->o.proto, key, klen, false);
	if (!k && m->notified_keys < NOTIFIED_KEYS_MAX) {
		k = key_find(m, m->o.proto, key, klen, true);
		m->notified_keys += !!k;
	}
	if (k)
		k->notified++;
}

static bool reply_is(const redisReply *rep, size_t n, const char *kind)
{
	return rep->type == REDIS_REPLY_ARRAY && rep->elements == n &&
	       rep->element[0]->type == REDIS_REPLY_STRING && !strcmp(rep->element[0]->str, kind);
}

/* The feed vouches for every write the server applied before since: renew the lease on it. */
static void lease_renew(struct veer_cache_mgr *m, __u64 since)
{
	if (veer_cache_lease_set(m->c, m->o.proto, since + LEASE_MS * NS_PER_MS))
		pr_warn("cannot renew the cache's lease: nothing will be served\n");
}

static void sub_reply(struct veer_cache_mgr *m, redisReply *rep)
{
	const size_t plen = strlen(KEYSPACE_PREFIX);

	/* pmessage PATTERN CHANNEL EVENT */
	if (reply_is(rep, 4, "pmessage")) {
		if (rep->element[2]->type == REDIS_REPLY_STRING && rep->element[2]->len > plen)
			notified(m, rep->element[2]->str + plen, rep->element[2]->len - plen);
		return;
	}
	if (reply_is(rep, 2, "pong") && m->ping_owed) {
		m->ping_owed = false;
		lease_renew(m, m->ping_sent);
		return;
	}
	if (reply_is(rep, 3, "psubscribe") && m->sub_step == SUB_WAIT) {
		m->sub_step = SUB_LIVE;
		conn_works(m, &m->sub);
		lease_renew(m, m->ping_sent);
		m->ping_at = now_ns() + PING_MS * NS_PER_MS;
		pr_info("managing redis at %s:%u: following its keyspace notifications\n", m->host,
			m->o.port);
		if (m->step == FILL_READY)
			fill_idle(m);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR && m->sub_step == SUB_WAIT) {
		pr_warn("cannot subscribe to keyspace notifications: %s\n", rep->str);
		m->fatal = -EIO;
		return;
	}
	conn_fail(&m->sub, -EPROTO, "unexpected reply on the subscription");
}

static void sub_event(struct veer_cache_mgr *m, __u32 events)
{
	struct conn *cn = &m->sub;
	redisReply *rep;

	m->in_sub = true;
	if (conn_connected(cn)) {
		conn_command(m, cn, "PSUBSCRIBE " KEYSPACE_PREFIX "*");
		m->sub_step = SUB_WAIT;
		m->ping_sent = now_ns();
	}
	if (events & EPOLLOUT)
		conn_flush(m, cn);
	if (!cn->connecting && !cn->err && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		conn_read(cn);
		/* Notifications that arrived before the connection closed still invalidate. */
		while (!m->fatal && conn_reply(cn, &rep)) {
			sub_reply(m, rep);
			freeReplyObject(rep);
		}
	}
	m->in_sub = false;
}

/*
 * Reads the notifications that have arrived, from inside a long piece of a round (a scan of
 * a full table takes tens of milliseconds): invalidations are not held up by rounds. Its
 * failures are handled once the round's step has returned.
 */
static void feed_drain(void *arg)
{
	struct veer_cache_mgr *m = arg;

	if (!m->in_sub && m->sub_step == SUB_LIVE && !m->sub.err)
		sub_event(m, EPOLLIN);
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
 * Folds this round's counts into every key's rates. Returns the cached keys to demote and the
 * promotion candidates, most-missed first, in malloc'd arrays.
 */
static int fold_round(struct veer_cache_mgr *m, const struct veer_cache_hot_key *hot, size_t nhot,
		      const struct veer_cache_item *items, size_t nitems, struct kstat ***demote,
		      size_t *ndemote, struct kstat ***cands, size_t *ncands,
		      struct kstat ***victims, size_t *nvictims)
{
	__u8 proto = m->o.proto;
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
			if (k->cached && veer_cache_write_heavy(&k->rate, m->o.max_write_ratio))
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

/* memcached keys have no spaces or control characters: such a key is never a hit. */
static bool key_fits(const struct veer_cache_mgr *m, const struct veer_cache_key *k)
{
	for (size_t i = 0; !redis(m) && i < k->len; i++)
		if (k->bytes[i] <= ' ' || k->bytes[i] == 0x7f)
			return false;
	return true;
}

static void round_free(struct round *r)
{
	for (size_t i = 0; r->f && i < r->n; i++)
		free(r->f[i].value);
	free(r->f);
	free(r->victims);
	memset(r, 0, sizeof(*r));
}

/* The round is over: the next one an interval from now. */
static void round_done(struct veer_cache_mgr *m)
{
	round_free(&m->r);
	m->st.rounds++;
	m->round_at = now_ns() + m->o.interval_ms * NS_PER_MS;
	fill_idle(m);
}

/*
 * Sweep, learn, demote and choose whom to promote, under the writers' lock; then, with the
 * lock released, stamp each chosen key and ask the server for all their values in one batch.
 */
static void round_start(struct veer_cache_mgr *m)
{
	struct veer_cache_hot_key *hot = NULL;
	struct veer_cache_item *items = NULL;
	struct kstat **demote = NULL, **cands = NULL;
	size_t nhot = 0, nitems = 0, ndemote = 0, ncands = 0, n, room, vi = 0;
	struct round *r = &m->r;
	int err;

	m->round_wanted = false;
	err = veer_cache_lock(m->c, true);
	if (err)
		goto out;
	/* Entries that can no longer be served only take room from the ones that can. */
	err = veer_cache_sweep_list(m->c, &items, &nitems, &n);
	if (!err)
		err = veer_cache_hot(m->c, VEER_CACHE_HOT_MAX, false, &hot, &nhot);
	if (!err)
		err = fold_round(m, hot, nhot, items, nitems, &demote, &ndemote, &cands, &ncands,
				 &r->victims, &r->nvictims);
	/* Free places in the table, which both protocols' entries share. */
	r->room = nitems < VEER_CACHE_ENTRIES ? VEER_CACHE_ENTRIES - nitems : 0;
	for (size_t i = 0; !err && i < ndemote; i++) {
		if (veer_cache_del(m->c, demote[i]->key.proto, demote[i]->key.bytes,
				   demote[i]->key.len))
			continue;
		r->room++;
		r->demoted++;
		pr_debug("demoted '%.*s': %.1f writes, %.1f reads\n", demote[i]->key.len,
			 (const char *)demote[i]->key.bytes, demote[i]->rate.writes,
			 demote[i]->rate.reads);
	}
	if (r->demoted)
		veer_cache_count(m->c, VEER_CACHE_DEMOTE, r->demoted);
	r->f = calloc(ncands + 1, sizeof(*r->f));
	if (!err && !r->f)
		err = -ENOMEM;
	/*
	 * Whom to ask for: candidates that would be installed if the server has their values.
	 * In a full table a candidate takes the place of the lowest-ranked cached key, if it
	 * outranks it; candidates come most-read first, so the first that does not ends the
	 * round's promotions (see round_install, which decides again with the real values). With
	 * no entry of its own protocol left to give up (a table full of the other protocol's,
	 * whose ranks this manager does not know), the put makes room by expiry.
	 */
	room = r->room;
	for (size_t i = 0; !err && i < ncands && r->n < m->o.top; i++) {
		struct kstat *k = cands[i];

		if (veer_cache_write_heavy(&k->rate, m->o.max_write_ratio)) {
			r->heavy++;
			continue;
		}
		if (!key_fits(m, &k->key))
			continue;
		if (!room && vi < r->nvictims &&
		    !veer_cache_outranks(&k->rate, &r->victims[vi++]->rate))
			break;
		room -= room > 0;
		r->f[r->n++].k = k;
	}
	if (r->heavy)
		veer_cache_count(m->c, VEER_CACHE_WRITE_HEAVY, r->heavy);
	veer_cache_lock(m->c, false);
out:
	free(demote);
	free(cands);
	free(hot);
	free(items);
	if (err) {
		pr_warn("cannot run a round of the cache manager: %s\n", strerror(-err));
		round_done(m);
		return;
	}
	if (!r->n) {
		if (r->demoted || r->heavy)
			pr_info("demoted %zu, %zu write-heavy left out\n", r->demoted, r->heavy);
		round_done(m);
		return;
	}
	/* The stamps first: a write or flush after this point makes the value stale. */
	for (size_t i = 0; i < r->n; i++) {
		const struct veer_cache_key *k = &r->f[i].k->key;

		veer_cache_yield(m->c, i);
		if (veer_cache_stamp(m->c, k->bytes, k->len, &r->f[i].stamp))
			r->f[i].stamp.epoch = ~0ULL; /* never current */
	}
	/* The server's TTL counts from when it answers; counting from before asking is safe. */
	r->sent = now_ns();
	for (size_t i = 0; i < r->n; i++) {
		const struct veer_cache_key *k = &r->f[i].k->key;
		char req[VEER_CACHE_KEY_MAX + 16];
		int len;

		if (redis(m)) {
			/* The value and its remaining TTL in one transaction: they go together. */
			conn_command(m, &m->fill, "MULTI");
			conn_command(m, &m->fill, "GET %b", k->bytes, (size_t)k->len);
			conn_command(m, &m->fill, "PTTL %b", k->bytes, (size_t)k->len);
			conn_command(m, &m->fill, "EXEC");
		} else {
			len = snprintf(req, sizeof(req), "mg %.*s v f t\r\n", k->len,
				       (const char *)k->bytes);
			conn_send(m, &m->fill, req, len);
		}
	}
	m->step = FILL_FETCH;
}

/*
 * Installs the values the server had, under the writers' lock, each current for its own
 * stamp and expiring at min(ttl, the key's remaining TTL) from before it was asked.
 */
static void round_install(struct veer_cache_mgr *m)
{
	struct round *r = &m->r;
	size_t installed = 0, replaced = 0, vi = 0;

	if (r->spoiled || veer_cache_lock(m->c, true)) {
		round_done(m);
		return;
	}
	for (size_t i = 0; i < r->n; i++) {
		struct fetch *f = &r->f[i];
		long long max_ms = m->o.ttl_s * 1000LL;

		veer_cache_yield(m->c, i);
		if (!f->found)
			continue;
		if (f->ttl_ms >= 0 && f->ttl_ms < max_ms)
			max_ms = f->ttl_ms;
		if (max_ms <= 0)
			continue;
		if (!r->room && vi < r->nvictims) {
			struct kstat *v = r->victims[vi];

			if (!veer_cache_outranks(&f->k->rate, &v->rate))
				break;
			vi++;
			/* Gone already (a notification, a sweep): its place is free anyway. */
			replaced += !veer_cache_del(m->c, v->key.proto, v->key.bytes, v->key.len);
			r->room++;
		}
		if (veer_cache_put_until(m->c, f->k->key.proto, f->k->key.bytes, f->k->key.len,
					 f->value, f->vlen, f->flags, r->sent + max_ms * NS_PER_MS,
					 &f->stamp))
			continue;
		installed++;
		r->room -= r->room > 0;
		pr_debug("promoted '%.*s' (%llu misses)\n", f->k->key.len,
			 (const char *)f->k->key.bytes, (unsigned long long)f->k->round_misses);
	}
	if (replaced)
		veer_cache_count(m->c, VEER_CACHE_EVICT, replaced);
	veer_cache_lock(m->c, false);
	m->st.promoted += installed;
	if (installed || r->demoted)
		pr_info("promoted %zu hot keys (%zu in place of colder ones), demoted %zu, "
			"%zu write-heavy left out\n",
			installed, replaced, r->demoted, r->heavy);
	round_done(m);
}

/* One Redis reply of the round's batch: four per key, MULTI GET PTTL EXEC. */
static void round_reply(struct veer_cache_mgr *m, redisReply *rep)
{
	struct round *r = &m->r;
	redisReply *get, *ttl;
	struct fetch *f;

	if (r->got >= r->n) {
		conn_fail(&m->fill, -EPROTO, "a reply nothing was asked for");
		return;
	}
	f = &r->f[r->got];
	if (++r->part < 4)
		return; /* +OK and +QUEUED, or an error that EXEC's reply repeats */
	r->part = 0;
	r->got++;
	/* Absent, not a string, or an aborted transaction: nothing a GET hit could return. */
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
		get = rep->element[0];
		ttl = rep->element[1];
		if (get->type == REDIS_REPLY_STRING && ttl->type == REDIS_REPLY_INTEGER &&
		    ttl->integer != -2 && get->len <= VEER_CACHE_VALUE_MAX) {
			f->value = malloc(get->len + 1);
			if (f->value) {
				memcpy(f->value, get->str, get->len);
				f->vlen = get->len;
				f->ttl_ms = ttl->integer;
				f->found = true;
			}
		}
	} else if (rep->type != REDIS_REPLY_ARRAY) {
		char text[VEER_CACHE_KEY_TEXT_MAX];

		pr_debug("cannot read key '%s' from redis: %s\n",
			 veer_cache_key_text(f->k->key.bytes, f->k->key.len, text, sizeof(text)),
			 rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
	}
	if (r->got == r->n)
		round_install(m);
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
 * One memcached reply of the round's batch to `mg KEY v f t`: "VA <size> f<flags> t<ttl>\r\n
 * <data>\r\n", "EN\r\n", or a CLIENT_ERROR for a key memcached refuses. The TTL is made safe
 * for memcached's clock. False when it is not all there yet (or is malformed: a failure).
 */
static bool round_reply_mc(struct veer_cache_mgr *m)
{
	struct conn *cn = &m->fill;
	struct round *r = &m->r;
	struct fetch *f = &r->f[r->got];
	long long size = -1, num, ttl = -1, fl = 0;
	char *line = cn->in, *p, *end, *tok;
	long len = conn_line(cn);

	if (len <= 0)
		return false;
	end = line + len - 1;
	if (end > line && end[-1] == '\r')
		end--;
	if (end - line == 2 && !memcmp(line, "EN", 2))
		goto answered;
	if (end - line >= 12 && !memcmp(line, "CLIENT_ERROR", 12)) {
		/* A key memcached refuses: a client's doing, not a reason to stop managing. */
		pr_debug("memcached refused mg of '%.*s': %.*s\n", f->k->key.len,
			 (const char *)f->k->key.bytes, (int)(end - line), line);
		goto answered;
	}
	if (end - line < 3 || memcmp(line, "VA ", 3))
		goto bad;
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
	if (cn->in_len < (size_t)len + size + 2)
		return false;
	if (memcmp(cn->in + len + size, "\r\n", 2)) {
		conn_fail(cn, -EPROTO, "memcached's data block does not end in CRLF");
		return false;
	}
	if (size <= VEER_CACHE_VALUE_MAX) {
		f->value = malloc(size + 1);
		if (f->value) {
			memcpy(f->value, cn->in + len, size);
			f->vlen = size;
			f->flags = fl;
			f->ttl_ms = ttl < 0 ? -1 : ttl * 1000 - MC_CLOCK_SLACK_MS;
			if (ttl >= 0 && f->ttl_ms <= 0)
				f->ttl_ms = 0;
			f->found = true;
		}
	}
	len += size + 2;
answered:
	conn_consume(cn, len);
	if (++r->got == r->n)
		round_install(m);
	return true;
bad:
	conn_fail(cn, -EPROTO, "unexpected reply to mg: '%.*s'", (int)(end - line), line);
	return false;
}

/* ---- failures, timers, the handle ---- */

static void fill_lost(struct veer_cache_mgr *m)
{
	conn_down(m, &m->fill);
	m->step = FILL_DOWN;
	m->config_ok = false;
	if (m->r.f) {
		round_free(&m->r);
		m->round_at = now_ns() + m->o.interval_ms * NS_PER_MS;
	}
}

/* Failures recorded in callbacks, handled now that they have returned. */
static void conn_reap(struct veer_cache_mgr *m)
{
	while (!m->fatal && (m->fill.err || m->sub.err)) {
		if (m->fill.err)
			fill_lost(m);
		if (m->sub.err)
			feed_lost(m, NULL);
	}
}

static bool fill_owes(const struct veer_cache_mgr *m)
{
	return m->fill.connecting || (m->step != FILL_DOWN && m->step != FILL_READY);
}

static bool sub_owes(const struct veer_cache_mgr *m)
{
	return m->sub.connecting || m->sub_step == SUB_WAIT || m->ping_owed;
}

static __u64 min_at(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

__u64 veer_cache_mgr_next_deadline(const struct veer_cache_mgr *m)
{
	/* At least once a second: a state this missed would wait a second, not forever. */
	__u64 t = now_ns() + 1000 * NS_PER_MS, io = IO_TIMEOUT_MS * NS_PER_MS;

	if (m->fatal)
		return 0;
	if (m->fill.fd < 0)
		t = min_at(t, m->fill.retry_at);
	else if (fill_owes(m))
		t = min_at(t, m->fill.progress + io);
	if (fed(m) && m->sub.fd < 0 && m->config_ok)
		t = min_at(t, m->sub.retry_at);
	else if (m->sub.fd >= 0 && sub_owes(m))
		t = min_at(t, m->sub.progress + io);
	if (m->sub_step == SUB_LIVE && !m->ping_owed)
		t = min_at(t, m->ping_at);
	if (!fed(m))
		t = min_at(t, m->lease_at);
	if (!m->r.f && !m->round_wanted)
		t = min_at(t, m->round_at);
	return t;
}

static void timers_run(struct veer_cache_mgr *m)
{
	__u64 now = now_ns(), io = IO_TIMEOUT_MS * NS_PER_MS;

	if (m->fill.fd >= 0 && fill_owes(m) && now >= m->fill.progress + io)
		conn_fail(&m->fill, -ETIMEDOUT, "no answer for %d ms", IO_TIMEOUT_MS);
	if (m->sub.fd >= 0 && sub_owes(m) && now >= m->sub.progress + io)
		conn_fail(&m->sub, -ETIMEDOUT, "no answer for %d ms", IO_TIMEOUT_MS);
	conn_reap(m);
	if (m->fill.fd < 0 && now >= m->fill.retry_at && !conn_open(m, &m->fill))
		m->step = FILL_DOWN; /* FILL_PROBE once connected */
	/* Each subscription follows a check of the server's settings on the fill connection. */
	if (fed(m) && m->sub.fd < 0 && m->config_ok && now >= m->sub.retry_at)
		conn_open(m, &m->sub);
	if (m->sub_step == SUB_LIVE && !m->ping_owed && now >= m->ping_at) {
		conn_command(m, &m->sub, "PING");
		m->ping_owed = true;
		m->ping_sent = now;
		m->ping_at = now + PING_MS * NS_PER_MS;
		m->sub.progress = now;
	}
	if (!fed(m) && now >= m->lease_at) {
		lease_renew(m, now);
		m->lease_at = now + PING_MS * NS_PER_MS;
	}
	if (!m->r.f && !m->round_wanted && now >= m->round_at) {
		m->round_wanted = true;
		/* Notifications could have been turned off under the subscription: see again. */
		if (fed(m) && m->sub_step == SUB_LIVE)
			m->config_ok = false;
		if (m->step == FILL_READY)
			fill_idle(m);
	}
	conn_reap(m);
}

int veer_cache_mgr_fd(const struct veer_cache_mgr *m)
{
	return m->epfd;
}

int veer_cache_mgr_run(struct veer_cache_mgr *m)
{
	struct epoll_event ev[4];
	int n;

	if (m->fatal)
		return m->fatal;
	n = epoll_wait(m->epfd, ev, 4, 0);
	for (int i = 0; i < n && !m->fatal; i++) {
		struct conn *cn = ev[i].data.ptr;

		if (cn->fd < 0 || cn->err)
			continue; /* closed by an earlier event of this batch */
		if (cn == &m->fill)
			fill_event(m, ev[i].events);
		else
			sub_event(m, ev[i].events);
		conn_reap(m);
	}
	if (!m->fatal)
		timers_run(m);
	if (m->fatal) {
		conn_close(m, &m->fill);
		conn_close(m, &m->sub);
		m->sub_step = SUB_DOWN;
		m->step = FILL_DOWN;
	}
	return m->fatal;
}

void veer_cache_mgr_status(const struct veer_cache_mgr *m, struct veer_cache_mgr_status *s)
{
	*s = m->st;
	s->server_up = m->step >= FILL_READY;
	s->feed_live = m->sub_step == SUB_LIVE;
}

int veer_cache_mgr_new_on(const struct veer_cache_manager_opts *o, struct veer_cache *c,
			  struct veer_cache_mgr **out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct veer_cache_mgr *m;
	struct addrinfo *ai;
	char port[8];
	int err;

	if ((o->proto != VEER_CACHE_REDIS && o->proto != VEER_CACHE_MEMCACHED) || !o->host ||
	    !o->top || !o->ttl_s || !o->interval_ms) {
		pr_warn("cannot manage the cache: invalid settings\n");
		return -EINVAL;
	}
	snprintf(port, sizeof(port), "%u", o->port);
	err = getaddrinfo(o->host, port, &hints, &ai);
	if (err == EAI_NONAME) {
		/* A name: resolved once, here, and not again (an address never waits on DNS). */
		hints.ai_flags = AI_NUMERICSERV;
		err = getaddrinfo(o->host, port, &hints, &ai);
	}
	if (err) {
		pr_warn("cannot use %s at %s:%u: %s\n", veer_cache_proto_name(o->proto), o->host,
			o->port, gai_strerror(err));
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	m->o = *o;
	snprintf(m->host, sizeof(m->host), "%s", o->host);
	m->o.host = m->host;
	m->o.notify = o->notify && o->proto == VEER_CACHE_REDIS;
	memcpy(&m->addr, ai->ai_addr, ai->ai_addrlen);
	m->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	m->c = c;
	c->yield = feed_drain;
	c->yield_arg = m;
	conn_init(&m->fill, veer_cache_proto_name(o->proto));
	conn_init(&m->sub, "keyspace notifications");
	m->keys = calloc(KEYTAB_BUCKETS, sizeof(*m->keys));
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!m->keys || m->epfd < 0) {
		err = m->epfd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	/*
	 * Entries of a manager before this one may have missed writes since it went: stale, all
	 * at once. Nothing of this protocol is served again before the feed is live.
	 */
	err = veer_cache_epoch_bump(c);
	if (!err)
		err = veer_cache_lease_set(c, o->proto,
					   fed(m) ? 1 : now_ns() + LEASE_MS * NS_PER_MS);
	if (err)
		goto fail;
	m->lease_at = m->round_at = now_ns();
	*out = m;
	return 0;
fail:
	c->yield = NULL;
	keys_free(m);
	if (m->epfd >= 0)
		close(m->epfd);
	free(m);
	return err;
}

int veer_cache_mgr_new(const struct veer_cache_manager_opts *o, struct veer_cache_mgr **out)
{
	struct veer_cache *c;
	int err;

	/* The maps first: nothing is asked of the server when the pins cannot be used. */
	err = veer_cache_open(&c, true);
	if (err)
		return err;
	/* Taken again for each transaction. */
	veer_cache_lock(c, false);
	err = veer_cache_mgr_new_on(o, c, out);
	if (err) {
		veer_cache_close(c);
		return err;
	}
	(*out)->own_cache = true;
	return 0;
}

void veer_cache_mgr_free(struct veer_cache_mgr *m)
{
	if (!m)
		return;
	/* No manager, no feed: what it promoted is stale; entries put by hand are served again. */
	if (veer_cache_epoch_bump(m->c))
		pr_warn("cannot make the cached entries stale: they stay current until their "
			"TTL\n");
	veer_cache_lease_set(m->c, m->o.proto, 0);
	conn_close(m, &m->fill);
	conn_close(m, &m->sub);
	free(m->fill.out);
	free(m->fill.in);
	free(m->sub.out);
	free(m->sub.in);
	round_free(&m->r);
	keys_free(m);
	close(m->epfd);
	m->c->yield = NULL;
	if (m->own_cache)
		veer_cache_close(m->c);
	free(m);
}

int veer_cache_manage(const struct veer_cache_manager_opts *o, volatile int *stop)
{
	struct veer_cache_mgr *m = NULL;
	int err = veer_cache_mgr_new(o, &m);

	while (!err && !*stop) {
		struct pollfd p = {.fd = veer_cache_mgr_fd(m), .events = POLLIN};
		__u64 now = now_ns(), when = veer_cache_mgr_next_deadline(m);
		__u64 ms = when > now ? (when - now + NS_PER_MS - 1) / NS_PER_MS : 0;

		/* In short steps: a signal that sets *stop may not interrupt this thread. */
		if (poll(&p, 1, ms < 100 ? (int)ms : 100) < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		err = veer_cache_mgr_run(m);
	}
	veer_cache_mgr_free(m);
	return err;
}
