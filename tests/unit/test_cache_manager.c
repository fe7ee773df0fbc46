// SPDX-License-Identifier: GPL-2.0
/*
 * The cache manager (user/lib/cache_manager.c) driven as an event loop drives it, against a
 * real redis-server the test starts in the cache tests' network namespace, and against fake
 * servers the test answers by hand:
 *   - starting and stopping bump the epoch; the lease is renewed only while the keyspace
 *     notifications are followed; a server that is not there yet is waited for;
 *   - hot keys are promoted and served, and a write from outside is invalidated;
 *   - a killed subscription (CLIENT KILL TYPE pubsub) makes every entry stale at once, the
 *     next GET reaches the server, and the subscription is made again;
 *   - a manager that stops running (as if killed) stops being served once its lease runs out;
 *   - a server of the other protocol is refused;
 *   - mid-fetch, with the server not answering, neither the balancer's writers nor the cache's
 *     own wait for the manager: no lock is held across network I/O.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include <hiredis/hiredis.h>
#include <veer/cache_hash.h>
#include "cache_harness.h"
#include "ctl_pins.h"

#define R VEER_CACHE_REDIS

/* In the cache tests' namespace, on CACHE_ADDR: ports of their own. */
#define REDIS_PORT 16390
#define FAKE_PORT  16391

static __u64 mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- a real redis-server ---- */

static redisContext *redis_client(void)
{
	struct timeval tv = {.tv_sec = 1};
	redisContext *r = redisConnectWithTimeout(CACHE_ADDR, REDIS_PORT, tv);

	if (r && !r->err) {
		redisSetTimeout(r, tv);
		return r;
	}
	if (r)
		redisFree(r);
	return NULL;
}

/* One command on a connection of its own; the reply's string or integer as text. */
static bool rcmd(char *out, size_t len, const char *fmt, ...)
{
	redisContext *r = redis_client();
	redisReply *rep = NULL;
	va_list ap;
	bool ok;

	if (!r)
		return false;
	va_start(ap, fmt);
	rep = redisvCommand(r, fmt, ap);
	va_end(ap);
	ok = rep && rep->type != REDIS_REPLY_ERROR;
	if (ok && out) {
		if (rep->type == REDIS_REPLY_INTEGER)
			snprintf(out, len, "%lld", rep->integer);
		else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
			 rep->element[1]->type == REDIS_REPLY_STRING)
			snprintf(out, len, "%s", rep->element[1]->str);
		else
			snprintf(out, len, "%s", rep->str ? rep->str : "");
	}
	freeReplyObject(rep);
	redisFree(r);
	return ok;
}

static pid_t redis_pid = -1;

/* redis-server on CACHE_ADDR:REDIS_PORT in the namespace; the test is in it already. */
static bool redis_start(void)
{
	char port[8], out[16];
	__u64 end = mono_ms() + 5000;

	snprintf(port, sizeof(port), "%d", REDIS_PORT);
	redis_pid = fork();
	if (redis_pid < 0)
		return ASSERT_OK(-errno, "fork");
	if (!redis_pid) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execlp("redis-server", "redis-server", "--bind", CACHE_ADDR, "--port", port,
		       "--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize",
		       "no", (char *)NULL);
		_exit(127);
	}
	while (mono_ms() < end) {
		if (rcmd(out, sizeof(out), "PING"))
			return true;
		usleep(10000);
	}
	return veer_test_fail(__FILE__, __LINE__,
			      "redis-server did not answer within 5 s "
			      "(installed? scripts/deps.sh)");
}

static void redis_stop(void)
{
	if (redis_pid <= 0)
		return;
	kill(redis_pid, SIGTERM);
	waitpid(redis_pid, NULL, 0);
	redis_pid = -1;
}

/* ---- a fake server, answered by hand from the drive loop ---- */

struct fake {
	int lfd, fd;
	char in[65536];
	size_t in_len;
	const char *greeting; /* the answer to the first PING */
	bool greeted;
};

static bool fake_up(struct fake *f, const char *greeting)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(FAKE_PORT)};
	int one = 1;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->greeting = greeting;
	inet_pton(AF_INET, CACHE_ADDR, &a.sin_addr);
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return ASSERT_OK(f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) ||
					 listen(f->lfd, 4)
				 ? -errno
				 : 0,
			 "fake server listens");
}

static void fake_down(struct fake *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->lfd >= 0)
		close(f->lfd);
}

/* Accepts, reads what came, and answers the first PING with the greeting. */
static void fake_step(struct fake *f)
{
	ssize_t n;

	if (f->fd < 0)
		f->fd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (f->fd < 0)
		return;
	n = recv(f->fd, f->in + f->in_len, sizeof(f->in) - 1 - f->in_len, 0);
	if (n > 0)
		f->in_len += n;
	f->in[f->in_len] = 0;
	if (!f->greeted && strstr(f->in, "PING\r\n")) {
		f->greeted = true;
		send(f->fd, f->greeting, strlen(f->greeting), MSG_NOSIGNAL);
	}
}

/* ---- driving the manager ---- */

struct drive {
	struct veer_cache_mgr *m;
	struct fake *fake; /* stepped too, if set */
	int err;	   /* what veer_cache_mgr_run returned last */
};

/*
 * Runs the manager as an event loop would (its fd, its deadline) until done(arg) holds or
 * ms have passed; false if it did not hold. Stops early on an error from the manager.
 */
static bool drive(struct drive *d, bool (*done)(struct drive *d, void *arg), void *arg, int ms)
{
	__u64 end = mono_ms() + ms;

	d->err = 0;
	for (;;) {
		struct pollfd p = {.fd = veer_cache_mgr_fd(d->m), .events = POLLIN};
		__u64 now = mono_ns(), when = veer_cache_mgr_next_deadline(d->m);
		__u64 wait = when > now ? (when - now) / 1000000 + 1 : 0;

		if (d->fake)
			fake_step(d->fake);
		if (done && done(d, arg))
			return true;
		if (mono_ms() >= end)
			return !done;
		poll(&p, 1, wait < 5 ? (int)wait : 5);
		d->err = veer_cache_mgr_run(d->m);
		if (d->err)
			return false;
	}
}

static bool feed_live(struct drive *d, void *arg)
{
	struct veer_cache_mgr_status s;

	(void)arg;
	veer_cache_mgr_status(d->m, &s);
	return s.feed_live;
}

static bool server_up(struct drive *d, void *arg)
{
	struct veer_cache_mgr_status s;

	(void)arg;
	veer_cache_mgr_status(d->m, &s);
	return s.server_up;
}

static bool feed_lost(struct drive *d, void *arg)
{
	struct veer_cache_mgr_status s;

	veer_cache_mgr_status(d->m, &s);
	return s.feed_losses >= *(__u64 *)arg;
}

static bool promoted(struct drive *d, void *arg)
{
	struct veer_cache_mgr_status s;

	veer_cache_mgr_status(d->m, &s);
	return s.promoted >= *(__u64 *)arg;
}

static bool key_stale(struct drive *d, void *arg)
{
	(void)d;
	return !cache_current(R, arg);
}

static const struct veer_cache_manager_opts redis_opts = {
	.proto = R,
	.host = CACHE_ADDR,
	.port = REDIS_PORT,
	.top = 10,
	.ttl_s = 60,
	.interval_ms = 50,
	.notify = true,
	.max_write_ratio = 0.01,
};

static __u64 glob_epoch(void)
{
	return veer_cache_glob_map(&cache_env.vc)->epoch;
}

static __u64 glob_lease(void)
{
	return veer_cache_glob_map(&cache_env.vc)->lease_ns[R];
}

static __u64 stat_of(enum veer_cache_stat s)
{
	__u64 sum[VEER_CACHE_STAT_MAX] = {};

	cache_stats_read(sum);
	return sum[s];
}

/* A client of the real redis-server whose socket the programs see. */
static bool client_open(struct cache_conn *cc)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(REDIS_PORT)};
	int one = 1;

	memset(cc, 0, sizeof(*cc));
	cc->server = -1;
	cc->proto = R;
	cc->family = AF_INET;
	inet_pton(AF_INET, CACHE_ADDR, &a.sin_addr);
	cc->client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!ASSERT_TRUE(cc->client >= 0, "client socket"))
		return false;
	setsockopt(cc->client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!ASSERT_OK(connect(cc->client, (struct sockaddr *)&a, sizeof(a)) ? -errno : 0,
		       "connect to redis-server") ||
	    !ASSERT_OK(fcntl(cc->client, F_SETFL, O_NONBLOCK) ? -errno : 0, "non-blocking") ||
	    !cache_sock_key(cc->client, &cc->key) || !cache_conn_track(cc)) {
		cache_conn_close(cc);
		return false;
	}
	return true;
}

/* A GET of key on the client: the reply must be want's value; whether it was a hit. */
static bool client_get(struct cache_conn *cc, const char *key, const char *want, bool hit,
		       const char *what)
{
	char req[128], rep[128];
	__u64 hits = stat_of(VEER_CACHE_HIT);
	int n = snprintf(req, sizeof(req), "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", strlen(key), key);
	int m = snprintf(rep, sizeof(rep), "$%zu\r\n%s\r\n", strlen(want), want);

	return client_send(cc, req, n) && ASSERT_TRUE(client_expect(cc, rep, m), what) &&
	       ASSERT_EQ(stat_of(VEER_CACHE_HIT) - hits, hit, what);
}

/* The cache environment, the test in its namespace, a redis-server there. */
static bool mgr_begin(int *prev, bool with_redis)
{
	*prev = -1;
	if (!cache_begin())
		return false;
	*prev = cache_ns_enter();
	return !with_redis || redis_start();
}

static void mgr_end(int prev, struct veer_cache_mgr *m)
{
	veer_cache_mgr_free(m);
	redis_stop();
	cache_ns_leave(prev);
}

/* ---- the tests ---- */

/*
 * Start: the epoch is bumped, nothing of Redis is served until the feed is live. A server not
 * there yet is waited for. Live: notifications are on, the lease is ahead. Stop: bumped again,
 * the lease lifted.
 */
VEER_TEST(cache_mgr_start_and_stop)
{
	struct drive d = {};
	char flags[64] = "";
	__u64 epoch;
	int prev;

	if (!mgr_begin(&prev, false) || !cache_put(R, "k", "v", 0))
		goto out;
	epoch = glob_epoch();
	if (!ASSERT_OK(veer_cache_mgr_new_on(&redis_opts, &cache_env.vc, &d.m), "manager"))
		goto out;
	ASSERT_EQ(glob_epoch(), epoch + 1, "the epoch, bumped at start");
	ASSERT_FALSE(cache_current(R, "k"), "an entry from before the start");
	ASSERT_EQ(glob_lease(), 1, "no lease before the feed is live");
	/* No server yet: it keeps trying, and that is no error. */
	ASSERT_TRUE(drive(&d, NULL, NULL, 300), "the manager runs with no server");
	ASSERT_FALSE(server_up(&d, NULL), "no server, not up");
	if (!redis_start())
		goto out;
	rcmd(NULL, 0, "CONFIG SET notify-keyspace-events %s", "");
	if (!ASSERT_TRUE(drive(&d, feed_live, NULL, 6000), "the feed is live"))
		goto out;
	ASSERT_TRUE(rcmd(flags, sizeof(flags), "CONFIG GET notify-keyspace-events") &&
			    strchr(flags, 'K') && strchr(flags, 'A'),
		    "keyspace notifications turned on");
	ASSERT_TRUE(glob_lease() > mono_ns() + 1000000000ULL, "the lease is over 1 s ahead");
	ASSERT_EQ(glob_epoch(), epoch + 1, "no bump while it started");
	veer_cache_mgr_free(d.m);
	d.m = NULL;
	ASSERT_EQ(glob_epoch(), epoch + 2, "the epoch, bumped at stop");
	ASSERT_EQ(glob_lease(), 0, "the lease, lifted at stop");
	ASSERT_EQ(stat_of(VEER_CACHE_FLUSH), 2, "counted under flush");
out:
	mgr_end(prev, d.m);
}

/* A hot key is promoted and served; a write by a client veer does not see invalidates it. */
VEER_TEST(cache_mgr_promotes_and_follows_writes)
{
	struct cache_conn cc = {.client = -1, .server = -1};
	struct drive d = {};
	__u64 one = 1;
	int prev;

	if (!mgr_begin(&prev, true) || !rcmd(NULL, 0, "SET hot server") ||
	    !ASSERT_OK(veer_cache_mgr_new_on(&redis_opts, &cache_env.vc, &d.m), "manager") ||
	    !ASSERT_TRUE(drive(&d, feed_live, NULL, 3000), "the feed is live") || !client_open(&cc))
		goto out;
	if (!client_get(&cc, "hot", "server", false, "a miss, counted as hot") ||
	    !ASSERT_TRUE(drive(&d, promoted, &one, 3000), "promoted") ||
	    !ASSERT_TRUE(cache_current(R, "hot"), "current once promoted") ||
	    !client_get(&cc, "hot", "server", true, "served once promoted"))
		goto out;
	/* From outside the cache: only the notification tells. */
	if (!rcmd(NULL, 0, "SET hot changed") ||
	    !ASSERT_TRUE(drive(&d, key_stale, "hot", 2000), "stale after the notification"))
		goto out;
	client_get(&cc, "hot", "changed", false, "the new value, from the server");
out:
	cache_conn_close(&cc);
	mgr_end(prev, d.m);
}

/*
 * The subscription killed on the server: every entry stale at once (no TTL, no round), the
 * next GET reaches the server, nothing is served until the subscription is made again.
 */
VEER_TEST(cache_mgr_feed_lost)
{
	struct cache_conn cc = {.client = -1, .server = -1};
	struct drive d = {};
	__u64 one = 1, epoch, t0;
	char killed[16];
	int prev;

	if (!mgr_begin(&prev, true) || !rcmd(NULL, 0, "SET k server") ||
	    !ASSERT_OK(veer_cache_mgr_new_on(&redis_opts, &cache_env.vc, &d.m), "manager") ||
	    !ASSERT_TRUE(drive(&d, feed_live, NULL, 3000), "the feed is live") ||
	    !client_open(&cc) || !cache_put(R, "k", "cached", 0) ||
	    !client_get(&cc, "k", "cached", true, "served while the feed is live"))
		goto out;
	epoch = glob_epoch();
	t0 = mono_ms();
	if (!ASSERT_TRUE(rcmd(killed, sizeof(killed), "CLIENT KILL TYPE pubsub"), "CLIENT KILL") ||
	    !ASSERT_STREQ(killed, "1", "subscriptions killed") ||
	    !ASSERT_TRUE(drive(&d, feed_lost, &one, 1000), "the loss seen"))
		goto out;
	printf("    feed loss seen in %llu ms\n", (unsigned long long)(mono_ms() - t0));
	ASSERT_EQ(glob_epoch(), epoch + 1, "the epoch, bumped at the loss");
	ASSERT_FALSE(cache_current(R, "k"), "the entry is stale");
	ASSERT_TRUE(glob_lease() && glob_lease() < mono_ns(), "the lease has run out");
	client_get(&cc, "k", "server", false, "the GET reaches the server");
	if (!ASSERT_TRUE(drive(&d, feed_live, NULL, 3000), "subscribed again"))
		goto out;
	ASSERT_TRUE(glob_lease() > mono_ns(), "the lease is renewed");
	ASSERT_EQ(glob_epoch(), epoch + 1, "no bump on subscribing again");
out:
	cache_conn_close(&cc);
	mgr_end(prev, d.m);
}

/*
 * The server restarts, with notifications off as a fresh server has them: the loss makes the
 * entries stale, the manager comes back, turns notifications on again before it subscribes,
 * and follows writes again.
 */
VEER_TEST(cache_mgr_server_restart)
{
	struct drive d = {};
	char flags[64] = "";
	__u64 one = 1;
	int prev;

	if (!mgr_begin(&prev, true) ||
	    !ASSERT_OK(veer_cache_mgr_new_on(&redis_opts, &cache_env.vc, &d.m), "manager") ||
	    !ASSERT_TRUE(drive(&d, feed_live, NULL, 3000), "the feed is live") ||
	    !cache_put(R, "k", "cached", 0))
		goto out;
	redis_stop();
	if (!ASSERT_TRUE(drive(&d, feed_lost, &one, 2000), "the loss seen"))
		goto out;
	ASSERT_FALSE(cache_current(R, "k"), "stale once the server is gone");
	/* Down for a while: the manager keeps trying, with nothing to report. */
	ASSERT_TRUE(drive(&d, NULL, NULL, 500), "the manager runs with the server down");
	if (!redis_start() ||
	    !ASSERT_TRUE(drive(&d, feed_live, NULL, 8000), "following the new server"))
		goto out;
	ASSERT_TRUE(rcmd(flags, sizeof(flags), "CONFIG GET notify-keyspace-events") &&
			    strchr(flags, 'K') && strchr(flags, 'A'),
		    "notifications turned on again on the new server");
	if (!cache_put(R, "k", "cached", 0) || !rcmd(NULL, 0, "SET k fresh"))
		goto out;
	ASSERT_TRUE(drive(&d, key_stale, "k", 2000), "a write invalidates again");
out:
	mgr_end(prev, d.m);
}

/*
 * A manager that stops running without a word (kill -9: nothing bumps) stops vouching for
 * its entries: once its lease runs out they are not served, and GETs reach the server.
 */
VEER_TEST(cache_mgr_lease_runs_out)
{
	struct cache_conn cc = {.client = -1, .server = -1};
	struct drive d = {};
	__u64 t0, lapsed;
	int prev;

	if (!mgr_begin(&prev, true) || !rcmd(NULL, 0, "SET k server") ||
	    !ASSERT_OK(veer_cache_mgr_new_on(&redis_opts, &cache_env.vc, &d.m), "manager") ||
	    !ASSERT_TRUE(drive(&d, feed_live, NULL, 3000), "the feed is live") ||
	    !client_open(&cc) || !cache_put(R, "k", "cached", 0) ||
	    !client_get(&cc, "k", "cached", true, "served while the manager runs"))
		goto out;
	/* Not run from here on, as if it had been killed. */
	t0 = mono_ms();
	while (cache_current(R, "k") && mono_ms() < t0 + 5000)
		usleep(20000);
	printf("    entries stale %llu ms after the manager stopped running\n",
	       (unsigned long long)(mono_ms() - t0));
	ASSERT_FALSE(cache_current(R, "k"), "stale once the lease ran out");
	/* The lease was renewed before t0, for 2 s; polled every 20 ms. */
	ASSERT_LE(mono_ms() - t0, 2300, "within the lease (2 s)");
	lapsed = stat_of(VEER_CACHE_LAPSED);
	client_get(&cc, "k", "server", false, "the GET reaches the server");
	ASSERT_EQ(stat_of(VEER_CACHE_LAPSED), lapsed + 1, "counted as lapsed");
out:
	cache_conn_close(&cc);
	mgr_end(prev, d.m);
}

/* A server of the other protocol: refused, with nothing asked of it but the probe. */
VEER_TEST(cache_mgr_wrong_protocol)
{
	struct veer_cache_manager_opts mc = redis_opts;
	struct fake f = {.lfd = -1, .fd = -1};
	struct drive d = {};
	int prev;

	if (!mgr_begin(&prev, true))
		goto out;
	mc.proto = VEER_CACHE_MEMCACHED;
	if (!ASSERT_OK(veer_cache_mgr_new_on(&mc, &cache_env.vc, &d.m), "memcached manager"))
		goto out;
	drive(&d, NULL, NULL, 2000);
	ASSERT_EQ(d.err, -EPROTO, "memcached manager against redis-server");
	veer_cache_mgr_free(d.m);
	d.m = NULL;

	/* What memcached answers to PING. */
	if (!fake_up(&f, "ERROR\r\n"))
		goto out;
	mc = redis_opts;
	mc.port = FAKE_PORT;
	d.fake = &f;
	if (!ASSERT_OK(veer_cache_mgr_new_on(&mc, &cache_env.vc, &d.m), "redis manager"))
		goto out;
	drive(&d, NULL, NULL, 2000);
	ASSERT_EQ(d.err, -EPROTO, "redis manager against a memcached answer");
	ASSERT_STREQ(f.in, "*1\r\n$4\r\nPING\r\n", "nothing asked but PING");
out:
	fake_down(&f);
	mgr_end(prev, d.m);
}

/* ---- notifications are not held up by rounds ---- */

struct writer {
	__u64 lat_us[8];
	int n; /* writes seen invalidated */
	volatile bool done;
};

/*
 * A thread of the test's own, in the namespace as the test is: writes a cached key from
 * outside while the manager is anywhere in its rounds, and times how long until the entry is
 * no longer current.
 */
static void *writer(void *arg)
{
	struct writer *w = arg;
	char key[32];

	for (int i = 0; i < 8; i++) {
		__u64 t0;

		snprintf(key, sizeof(key), "w%d", i);
		if (veer_cache_put(&cache_env.vc, R, key, strlen(key), "old", 3, 0, 60, NULL))
			break;
		usleep(30000 + 13000 * i); /* lands anywhere in a round */
		t0 = mono_ns();
		if (!rcmd(NULL, 0, "SET %s new", key))
			break;
		while (cache_current(R, key) && mono_ns() < t0 + 1000000000ULL)
			usleep(100);
		if (!cache_current(R, key))
			w->lat_us[w->n++] = (mono_ns() - t0) / 1000;
	}
	w->done = true;
	return NULL;
}

static bool writer_done(struct drive *d, void *arg)
{
	(void)d;
	return ((struct writer *)arg)->done;
}

static bool hot_fill(size_t n)
{
	struct veer_cache_hot h = {.misses = 5};
	char key[32];

	for (size_t i = 0; i < n; i++) {
		struct veer_cache_hkey hk = {.hash = VEER_CACHE_HASH_INIT, .proto = R};

		snprintf(key, sizeof(key), "cold%zu", i);
		hk.len = strlen(key);
		for (size_t j = 0; j < hk.len; j++)
			hk.hash = veer_cache_hash_byte(hk.hash, key[j]);
		veer_cache_key_make(&h.key, R, key, hk.len);
		if (bpf_map__update_elem(cache_env.skel->maps.veer_cache_hot, &hk, sizeof(hk), &h,
					 sizeof(h), BPF_ANY))
			return ASSERT_OK(-errno, "fill the hot-key table");
	}
	return true;
}

/*
 * Full tables make a round's scans take most of 100 ms; a write from outside during a round
 * is invalidated within a few milliseconds all the same: the manager reads its notifications
 * from inside the scans.
 */
VEER_TEST(cache_mgr_notifications_during_rounds)
{
	struct veer_cache_manager_opts o = redis_opts;
	struct writer w = {};
	struct drive d = {};
	__u64 worst = 0;
	char key[32];
	pthread_t t;
	int prev;

	o.interval_ms = 1; /* one round after another: the writes land inside them */
	if (!mgr_begin(&prev, true) ||
	    !ASSERT_OK(veer_cache_mgr_new_on(&o, &cache_env.vc, &d.m), "manager") ||
	    !ASSERT_TRUE(drive(&d, feed_live, NULL, 3000), "the feed is live"))
		goto out;
	for (unsigned i = 0; i < VEER_CACHE_ENTRIES - 16; i++) {
		snprintf(key, sizeof(key), "full%u", i);
		if (!ASSERT_OK(
			    veer_cache_put(&cache_env.vc, R, key, strlen(key), "v", 1, 0, 60, NULL),
			    "fill the table"))
			goto out;
	}
	if (!hot_fill(VEER_CACHE_HOT_MAX - 16) ||
	    !ASSERT_OK(-pthread_create(&t, NULL, writer, &w), "writer thread"))
		goto out;
	drive(&d, writer_done, &w, 20000);
	pthread_join(t, NULL);
	printf("    invalidated during rounds over full tables (us):");
	for (int i = 0; i < w.n; i++) {
		printf(" %llu", (unsigned long long)w.lat_us[i]);
		worst = w.lat_us[i] > worst ? w.lat_us[i] : worst;
	}
	printf("\n");
	ASSERT_EQ(w.n, 8, "every write invalidated within 1 s");
	ASSERT_LE(worst, 30000, "the slowest within 30 ms");
out:
	mgr_end(prev, d.m);
}

/* ---- no lock across network I/O ---- */

#define LOCK_VIP "198.18.100.40:80/tcp"
#define LOCK_BE	 "198.18.11.9"

static bool fetch_sent(struct drive *d, void *arg)
{
	(void)arg;
	return strstr(d->fake->in, "PTTL") != NULL;
}

/* Runs fn in a child; true if it exited 0 within ms, the manager driven meanwhile. */
static bool child_done(struct drive *d, int (*fn)(void), int ms, const char *what)
{
	__u64 t0 = mono_ms();
	pid_t pid = fork();
	int status = -1;

	if (pid < 0)
		return ASSERT_OK(-errno, "fork");
	if (!pid)
		_exit(fn() ? 1 : 0);
	while (waitpid(pid, &status, WNOHANG) == 0 && mono_ms() < t0 + ms)
		drive(d, NULL, NULL, 5);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return veer_test_fail(__FILE__, __LINE__, "%s: still waiting after %d ms", what,
				      ms);
	}
	printf("    %s: %llu ms\n", what, (unsigned long long)(mono_ms() - t0));
	return ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status), what);
}

/* `veer backend set --weight 0`, as libveer does it. */
static int lb_drain(void)
{
	struct veer_vip_key vip;
	struct veer_endpoint be;
	struct veer *v;
	int err;

	if (veer_parse_vip(LOCK_VIP, &vip) || veer_parse_endpoint(LOCK_BE, &be, false))
		return -EINVAL;
	err = veer_open(&v, true);
	if (err)
		return err;
	err = veer_backend_set_weight(v, &vip, &be, 0);
	veer_close(v);
	return err;
}

/* `veer cache put`, as libveer does it. */
static int cache_write(void)
{
	struct veer_cache *c;
	int err = veer_cache_open(&c, true);

	if (err)
		return err;
	err = veer_cache_put(c, R, "other", 5, "x", 1, 0, 60, NULL);
	veer_cache_close(c);
	return err;
}

static bool hot_insert(struct veer_cache *c, const char *key)
{
	struct veer_cache_hot h = {.misses = 5};
	struct veer_cache_hkey hk = {.hash = VEER_CACHE_HASH_INIT, .len = strlen(key), .proto = R};

	for (size_t i = 0; i < strlen(key); i++)
		hk.hash = veer_cache_hash_byte(hk.hash, key[i]);
	veer_cache_key_make(&h.key, R, key, strlen(key));
	return ASSERT_OK(bpf_map__update_elem(c->skel->maps.veer_cache_hot, &hk, sizeof(hk), &h,
					      sizeof(h), BPF_ANY),
			 "a hot key");
}

/*
 * The manager mid-fetch against a server that does not answer: a drain of a backend and a
 * `veer cache put` both complete (each in a process of its own, as the CLI would), and once
 * the server answers the value is installed as current.
 */
VEER_TEST(cache_mgr_no_lock_across_fetch)
{
	static const char answer[] = "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n$5\r\nvalue\r\n:-1\r\n";
	struct veer_cache_manager_opts o = redis_opts;
	struct fake f = {.lfd = -1, .fd = -1};
	struct veer_vip_opts vo = {.mode = VEER_MODE_NAT, .ring_size = 251};
	struct veer_cache_item it;
	struct veer_vip_key vip;
	struct veer_endpoint be;
	struct veer_cache *c = NULL;
	struct drive d = {.fake = &f};
	struct veer *v = NULL;
	struct pins p;
	__u64 one = 1;
	size_t vlen;
	void *val;
	int prev;

	if (!mgr_begin(&prev, false))
		return;
	if (!pins_up(&p, false)) {
		cache_ns_leave(prev);
		return;
	}
	/* A VIP with a backend, and the cache's maps with one hot key, in the pins. */
	if (!ASSERT_OK(veer_set_flows(SMALL_FLOWS), "flows") ||
	    !ASSERT_OK(veer_parse_vip(LOCK_VIP, &vip), LOCK_VIP) ||
	    !ASSERT_OK(veer_parse_endpoint(LOCK_BE, &be, false), LOCK_BE) ||
	    !ASSERT_OK(veer_open(&v, true), "veer_open") ||
	    !ASSERT_OK(veer_vip_add(v, &vip, &vo), "vip add") ||
	    !ASSERT_OK(veer_backend_add(v, &vip, &be, 100, NULL), "backend add"))
		goto out;
	veer_close(v);
	v = NULL;
	if (!ASSERT_OK(veer_cache_open(&c, true), "veer_cache_open") || !hot_insert(c, "hot"))
		goto out;
	veer_cache_close(c);
	c = NULL;

	if (!fake_up(&f, "+PONG\r\n"))
		goto out;
	o.port = FAKE_PORT;
	o.notify = false;
	if (!ASSERT_OK(veer_cache_mgr_new(&o, &d.m), "manager on the pinned maps") ||
	    !ASSERT_TRUE(drive(&d, fetch_sent, NULL, 3000), "the fetch sent, and not answered"))
		goto out;
	child_done(&d, lb_drain, 1000, "veer backend set --weight 0 during the fetch");
	child_done(&d, cache_write, 1000, "veer cache put during the fetch");
	ASSERT_FALSE(promoted(&d, &one), "still fetching");

	send(f.fd, answer, sizeof(answer) - 1, MSG_NOSIGNAL);
	if (!ASSERT_TRUE(drive(&d, promoted, &one, 2000), "installed once answered") ||
	    !ASSERT_OK(veer_cache_open(&c, false), "veer_cache_open to read"))
		goto out;
	if (ASSERT_OK(veer_cache_get(c, R, "hot", 3, &val, &vlen, &it), "the entry")) {
		ASSERT_MEMEQ(val, vlen, "value", 5, "its value");
		ASSERT_TRUE(it.current, "current");
		free(val);
	}
out:
	veer_cache_close(c);
	veer_close(v);
	veer_cache_mgr_free(d.m);
	d.m = NULL;
	fake_down(&f);
	pins_down(&p);
	cache_ns_leave(prev);
}
