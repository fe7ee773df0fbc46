// SPDX-License-Identifier: GPL-2.0
/*
 * The environment of the cache tests: private skeleton with its programs on the socket map,
 * the network namespace, connections, traffic checks and counters. See cache_harness.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cache_harness.h"

#define SERVER_WAIT_MS	200
#define NOTHING_WAIT_MS 100
#define IO_BUF		16384

struct cache_env cache_env = {
	.netns_fd = -1, .listen_fd = {-1, -1, -1}, .listen6_fd = {-1, -1, -1}};

static const char *const stat_names[VEER_CACHE_STAT_MAX] = VEER_CACHE_STAT_NAMES;

/* ---- environment ---- */

static bool why(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool why(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cache_env.why, sizeof(cache_env.why), fmt, ap);
	va_end(ap);
	return false;
}

/* The same for the IPv6 part of the environment, whose failure only IPv6 tests see. */
static bool why6(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool why6(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cache_env.why6, sizeof(cache_env.why6), fmt, ap);
	va_end(ap);
	return false;
}

static ino_t ns_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

int cache_ns_enter(void)
{
	int prev = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if (prev < 0)
		return -1;
	if (ns_ino(prev) == ns_ino(cache_env.netns_fd)) {
		close(prev);
		return -1; /* already there: nothing to go back to */
	}
	if (setns(cache_env.netns_fd, CLONE_NEWNET)) {
		close(prev);
		return -1;
	}
	return prev;
}

void cache_ns_leave(int prev)
{
	if (prev < 0)
		return;
	if (setns(prev, CLONE_NEWNET))
		fprintf(stderr, "    cache harness: cannot return to the namespace: %s\n",
			strerror(errno));
	close(prev);
}

/*
 * A namespace with 198.18.0.1/32 and 2001:2::1/128 on its loopback. The process enters it to
 * make it, then goes back: test sockets are made inside (a socket keeps the namespace it was
 * made in), while whatever else the runner does stays where it was. The IPv6 address is added
 * apart (nodad: usable at once, no tentative state to wait out); if that fails only the IPv6
 * tests fail, or skip when the kernel has no IPv6.
 */
static bool netns(void)
{
	int prev = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), rc;
	bool ok = true;

	if (prev < 0)
		return why("open /proc/self/ns/net: %s", strerror(errno));
	if (unshare(CLONE_NEWNET)) {
		if (errno == EPERM)
			cache_env.skipped = true;
		close(prev);
		return why("unshare(CLONE_NEWNET): %s", strerror(errno));
	}
	rc = system("ip link set lo up && ip addr add " CACHE_ADDR "/32 dev lo");
	if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc))
		ok = why("cannot set up lo in the test namespace (status %d)", rc);
	if (ok && access("/proc/sys/net/ipv6", F_OK)) {
		cache_env.v6_skipped = true;
		why6("no IPv6 in this kernel (/proc/sys/net/ipv6: %s)", strerror(errno));
	} else if (ok) {
		rc = system("ip -6 addr add " CACHE_ADDR6 "/128 dev lo nodad");
		cache_env.v6_ok = rc != -1 && WIFEXITED(rc) && !WEXITSTATUS(rc);
		if (!cache_env.v6_ok)
			why6("cannot add " CACHE_ADDR6 " to lo in the test namespace (status %d)",
			     rc);
	}
	cache_env.netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (cache_env.netns_fd < 0)
		ok = why("open the test namespace: %s", strerror(errno));
	if (setns(prev, CLONE_NEWNET))
		ok = why("return to the original namespace: %s", strerror(errno));
	close(prev);
	return ok;
}

static bool skeleton(void)
{
	struct bpf_map *map;
	int err;

	cache_env.vc.lock_fd = -1;
	cache_env.vc.ncpus = libbpf_num_possible_cpus();
	if (cache_env.vc.ncpus <= 0)
		return why("cannot count CPUs");
	cache_env.skel = cache__open();
	if (!cache_env.skel)
		return why("cache__open: %s", strerror(errno));
	/* The maps are declared LIBBPF_PIN_BY_NAME: without this they would adopt the pins. */
	bpf_object__for_each_map(map, cache_env.skel->obj)
	{
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			return why("unpin %s: %s", bpf_map__name(map), strerror(-err));
	}
	err = cache__load(cache_env.skel);
	if (err)
		return why("cache__load: %s", strerror(-err));
	bpf_object__for_each_map(map, cache_env.skel->obj)
	{
		if (bpf_map__is_pinned(map))
			return why("map %s got pinned", bpf_map__name(map));
	}
	cache_env.vc.skel = cache_env.skel;
	cache_env.socks_fd = bpf_map__fd(cache_env.skel->maps.veer_cache_socks);
	cache_env.conns_fd = bpf_map__fd(cache_env.skel->maps.veer_cache_conns);
	err = veer_cache_cmds_load(&cache_env.vc);
	if (err)
		return why("veer_cache_cmds_load: %s", strerror(-err));
	/* Before any socket is added: a socket takes the map's programs when it joins. */
	if (bpf_prog_attach(bpf_program__fd(cache_env.skel->progs.veer_cache_msg),
			    cache_env.socks_fd, BPF_SK_MSG_VERDICT, 0))
		return why("attach veer_cache_msg: %s", strerror(errno));
	if (bpf_prog_attach(bpf_program__fd(cache_env.skel->progs.veer_cache_verdict),
			    cache_env.socks_fd, BPF_SK_SKB_VERDICT, 0))
		return why("attach veer_cache_verdict: %s", strerror(errno));
	return true;
}

/* The address of the test server for proto over family (AF_INET or AF_INET6). */
static socklen_t server_addr(struct sockaddr_storage *ss, int family, __u16 port)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		inet_pton(AF_INET6, CACHE_ADDR6, &a6->sin6_addr);
		return sizeof(*a6);
	}
	a4->sin_family = AF_INET;
	a4->sin_port = htons(port);
	inet_pton(AF_INET, CACHE_ADDR, &a4->sin_addr);
	return sizeof(*a4);
}

static bool listener(__u8 proto, __u16 port, int family)
{
	bool v6 = family == AF_INET6;
	struct sockaddr_storage a;
	socklen_t alen = server_addr(&a, family, port);
	int prev = cache_ns_enter(), fd, one = 1, err;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cache_ns_leave(prev);
	if (fd < 0) {
		err = errno;
		return v6 ? why6("IPv6 socket: %s", strerror(err))
			  : why("socket: %s", strerror(err));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Only IPv6 on the IPv6 listener: IPv4-mapped peers are not what its tests are about. */
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, alen) || listen(fd, 16)) {
		err = errno;
		close(fd);
		return v6 ? why6("listen on [%s]:%u: %s", CACHE_ADDR6, port, strerror(err))
			  : why("listen on %s:%u: %s", CACHE_ADDR, port, strerror(err));
	}
	if (v6)
		cache_env.listen6_fd[proto] = fd;
	else
		cache_env.listen_fd[proto] = fd;
	return true;
}

static bool map_clear(struct bpf_map *map)
{
	__u8 key[512];
	size_t ksz = bpf_map__key_size(map);

	while (!bpf_map__get_next_key(map, NULL, key, ksz))
		if (bpf_map__delete_elem(map, key, ksz, 0))
			return false;
	return true;
}

static bool stats_zero(void)
{
	struct bpf_map *m = cache_env.skel->maps.veer_cache_stats;
	size_t sz = cache_env.vc.ncpus * sizeof(__u64);
	__u64 *zero = calloc(cache_env.vc.ncpus, sizeof(__u64));
	bool ok = zero;

	for (__u32 i = 0; ok && i < VEER_CACHE_STAT_MAX; i++)
		ok = !bpf_map__update_elem(m, &i, sizeof(i), zero, sz, BPF_ANY);
	free(zero);
	return ok;
}

static bool env_reset(void)
{
	struct cache *s = cache_env.skel;
	struct veer_cache_glob *g = veer_cache_glob_map(&cache_env.vc);
	bool ok;

	/* A sockhash entry goes with its socket; one left by a failed test goes here. */
	ok = map_clear(s->maps.veer_cache_socks) && map_clear(s->maps.veer_cache_conns) &&
	     map_clear(s->maps.veer_cache_data) && map_clear(s->maps.veer_cache_hot) &&
	     map_clear(s->maps.veer_cache_ports) && stats_zero() && g;
	/* No manager's lease: entries serve until their TTL, as no manager had ever run. */
	for (int i = 0; g && i < 4; i++)
		__atomic_store_n(&g->lease_ns[i], 0, __ATOMIC_SEQ_CST);
	return ASSERT_TRUE(ok, "reset the cache test maps");
}

bool cache_begin(void)
{
	if (!cache_env.tried) {
		cache_env.tried = true;
		cache_env.ok = netns() && skeleton() &&
			       listener(VEER_CACHE_REDIS, CACHE_PORT_REDIS, AF_INET) &&
			       listener(VEER_CACHE_MEMCACHED, CACHE_PORT_MC, AF_INET);
		cache_env.v6_ok = cache_env.ok && cache_env.v6_ok &&
				  listener(VEER_CACHE_REDIS, CACHE_PORT_REDIS, AF_INET6) &&
				  listener(VEER_CACHE_MEMCACHED, CACHE_PORT_MC, AF_INET6);
	}
	if (!cache_env.ok) {
		if (cache_env.skipped)
			veer_test_skip("%s", cache_env.why);
		else
			veer_test_fail(__FILE__, __LINE__, "cache test environment: %s",
				       cache_env.why);
		return false;
	}
	return env_reset();
}

/* ---- connections ---- */

/*
 * As SOCK_KEY in cache.bpf.c builds it: IPv4 in local[0]/remote[0]; IPv6 as the 16 address
 * bytes in local[0..3]/remote[0..3] (each __u32 in network order, as local_ip6[] has them).
 */
bool cache_sock_key(int fd, struct veer_cache_sock_key *key)
{
	struct sockaddr_storage l, r;
	socklen_t ll = sizeof(l), rl = sizeof(r);
	const struct sockaddr_in6 *l6 = (void *)&l, *r6 = (void *)&r;
	const struct sockaddr_in *l4 = (void *)&l, *r4 = (void *)&r;

	if (getsockname(fd, (struct sockaddr *)&l, &ll) ||
	    getpeername(fd, (struct sockaddr *)&r, &rl))
		return ASSERT_OK(-errno, "client socket's addresses");
	if (!ASSERT_EQ(r.ss_family, l.ss_family, "client socket: peer's address family"))
		return false;
	memset(key, 0, sizeof(*key));
	key->family = l.ss_family;
	switch (l.ss_family) {
	case AF_INET:
		key->local[0] = l4->sin_addr.s_addr;
		key->remote[0] = r4->sin_addr.s_addr;
		key->local_port = ntohs(l4->sin_port);
		key->remote_port = ntohs(r4->sin_port);
		return true;
	case AF_INET6:
		memcpy(key->local, &l6->sin6_addr, sizeof(key->local));
		memcpy(key->remote, &r6->sin6_addr, sizeof(key->remote));
		key->local_port = ntohs(l6->sin6_port);
		key->remote_port = ntohs(r6->sin6_port);
		return true;
	}
	return veer_test_fail(__FILE__, __LINE__, "client socket: address family %d", l.ss_family);
}

static __s64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static bool wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & events);
}

bool cache_conn_connect_af(struct cache_conn *cc, __u8 proto, int family)
{
	bool v6 = family == AF_INET6;
	__u16 port = proto == VEER_CACHE_REDIS ? CACHE_PORT_REDIS : CACHE_PORT_MC;
	int prev, one = 1, lfd;
	struct sockaddr_storage a;
	socklen_t alen;

	memset(cc, 0, sizeof(*cc));
	cc->client = cc->server = -1;
	cc->proto = proto;
	cc->family = family;
	if (v6 && !cache_env.v6_ok) {
		if (cache_env.v6_skipped)
			veer_test_skip_missing("IPv6", "%s", cache_env.why6);
		else
			veer_test_fail(__FILE__, __LINE__, "cache test environment, IPv6: %s",
				       cache_env.why6);
		return false;
	}
	alen = server_addr(&a, family, port);
	lfd = v6 ? cache_env.listen6_fd[proto] : cache_env.listen_fd[proto];
	prev = cache_ns_enter();
	cc->client = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cache_ns_leave(prev);
	if (!ASSERT_TRUE(cc->client >= 0, "client socket"))
		return false;
	/* Each send() one segment, as soon as it is sent: the tests reason per message. */
	setsockopt(cc->client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!ASSERT_OK(connect(cc->client, (struct sockaddr *)&a, alen) ? -errno : 0,
		       v6 ? "connect to " CACHE_ADDR6 : "connect to " CACHE_ADDR))
		goto fail;
	if (!ASSERT_TRUE(wait_fd(lfd, POLLIN, 1000), "connection to accept"))
		goto fail;
	cc->server = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!ASSERT_TRUE(cc->server >= 0, "accept"))
		goto fail;
	setsockopt(cc->server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!ASSERT_OK(fcntl(cc->client, F_SETFL, O_NONBLOCK) ? -errno : 0, "client non-blocking"))
		goto fail;
	if (!cache_sock_key(cc->client, &cc->key))
		goto fail;
	return true;
fail:
	cache_conn_close(cc);
	return false;
}

bool cache_conn_connect(struct cache_conn *cc, __u8 proto)
{
	return cache_conn_connect_af(cc, proto, AF_INET);
}

bool cache_conn_track(struct cache_conn *cc)
{
	struct veer_cache_conn *st = calloc(1, sizeof(*st));
	__u64 fd = cc->client;
	int err;

	if (!ASSERT_TRUE(st, "memory"))
		return false;
	st->proto = cc->proto;
	err = bpf_map_update_elem(cache_env.conns_fd, &cc->key, st, BPF_NOEXIST);
	free(st);
	if (!ASSERT_OK(err ? -errno : 0, "insert the connection's veer_cache_conns entry"))
		return false;
	cc->tracked = true;
	return ASSERT_OK(bpf_map_update_elem(cache_env.socks_fd, &cc->key, &fd, BPF_ANY) ? -errno
											 : 0,
			 "add the client socket to veer_cache_socks");
}

bool cache_conn_open_af(struct cache_conn *cc, __u8 proto, int family)
{
	if (!cache_conn_connect_af(cc, proto, family))
		return false;
	if (cache_conn_track(cc))
		return true;
	cache_conn_close(cc);
	return false;
}

bool cache_conn_open(struct cache_conn *cc, __u8 proto)
{
	return cache_conn_open_af(cc, proto, AF_INET);
}

void cache_conn_close(struct cache_conn *cc)
{
	if (cc->client >= 0)
		close(cc->client);
	if (cc->server >= 0)
		close(cc->server);
	if (cc->tracked)
		bpf_map_delete_elem(cache_env.conns_fd, &cc->key);
	cc->client = cc->server = -1;
	cc->tracked = false;
}

bool cache_conn_state(const struct cache_conn *cc, struct veer_cache_conn *st)
{
	return !bpf_map_lookup_elem(cache_env.conns_fd, &cc->key, st);
}

bool cache_conn_fields_eq(const struct cache_conn *cc, const char *what,
			  const struct cache_conn_field *f, size_t n)
{
	struct veer_cache_conn *st = malloc(sizeof(*st)); /* too big for a test's stack */
	char msg[160];
	bool ok = false;

	if (!ASSERT_TRUE(st, "memory"))
		return false;
	snprintf(msg, sizeof(msg), "%s: the connection's veer_cache_conns entry", what);
	if (ASSERT_TRUE(cache_conn_state(cc, st), msg)) {
		ok = true;
		for (size_t i = 0; i < n; i++) {
			__u64 v = 0;

			/* Little-endian: the low bytes of v hold a field of any width. */
			memcpy(&v, (const char *)st + f[i].off, f[i].size);
			snprintf(msg, sizeof(msg), "%s: %s", what, f[i].name);
			ok &= ASSERT_EQ(v, f[i].want, msg);
		}
	}
	free(st);
	return ok;
}

bool cache_owed_eq(const struct cache_conn *cc, __u64 sent, __u64 replies, const char *what)
{
	return CACHE_CONN_EQ(cc, what, CONN_FIELD(sent, sent), CONN_FIELD(replies, replies),
			     CONN_FIELD(off, 0));
}

bool cache_wait_replies(const struct cache_conn *cc, __u64 n)
{
	struct veer_cache_conn *st = malloc(sizeof(*st));
	__s64 deadline = now_ms() + SERVER_WAIT_MS;
	__u64 seen = 0;

	if (!ASSERT_TRUE(st, "memory"))
		return false;
	for (;;) {
		if (cache_conn_state(cc, st))
			seen = st->replies;
		if (seen >= n || now_ms() >= deadline)
			break;
		poll(NULL, 0, 2);
	}
	free(st);
	return seen >= n ? true
			 : veer_test_fail(__FILE__, __LINE__, "replies counted: %llu, want %llu",
					  (unsigned long long)seen, (unsigned long long)n);
}

/* ---- traffic ---- */

static bool send_all(int fd, const void *buf, size_t len, const char *who)
{
	const char *p = buf;
	char what[96];

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, 1000))
			continue;
		snprintf(what, sizeof(what), "%s: send of %zu bytes", who, len);
		if (!ASSERT_TRUE(n > 0, what)) {
			fprintf(stderr, "    send: %s\n", n < 0 ? strerror(errno) : "returned 0");
			return false;
		}
		p += n;
		len -= n;
	}
	return true;
}

bool client_send(struct cache_conn *cc, const void *buf, size_t len)
{
	return send_all(cc->client, buf, len, "client");
}

bool client_sendv(struct cache_conn *cc, const char *const *parts, int n)
{
	struct iovec iov[8];
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = n};
	size_t total = 0;
	ssize_t sent;

	if (!ASSERT_LE(n, 8, "pieces"))
		return false;
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = (void *)parts[i];
		iov[i].iov_len = strlen(parts[i]);
		total += iov[i].iov_len;
	}
	sent = sendmsg(cc->client, &m, MSG_NOSIGNAL);
	if (sent < 0)
		return ASSERT_OK(-errno, "client: sendmsg");
	return ASSERT_EQ(sent, total, "client: sendmsg, bytes sent");
}

bool server_send(struct cache_conn *cc, const void *buf, size_t len)
{
	return send_all(cc->server, buf, len, "server");
}

/*
 * Reads until want bytes came or timeout_ms passed, then takes whatever else is already
 * there: more than want shows too. Returns the bytes read.
 */
static size_t read_for(int fd, __u8 *buf, size_t cap, size_t want, int timeout_ms)
{
	__s64 deadline = now_ms() + timeout_ms;
	size_t got = 0;

	for (;;) {
		ssize_t n = recv(fd, buf + got, cap - got, MSG_DONTWAIT);
		__s64 left;

		if (n > 0) {
			got += n;
			if (got >= want || got == cap)
				break;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			break;
		left = deadline - now_ms();
		if (left <= 0 || !wait_fd(fd, POLLIN, left))
			break;
	}
	while (got < cap) {
		ssize_t n = recv(fd, buf + got, cap - got, MSG_DONTWAIT);

		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

static bool expect(int fd, const void *want, size_t len, int timeout_ms, const char *what)
{
	size_t cap = len + IO_BUF, got;
	__u8 *buf = malloc(cap);
	bool ok;

	if (!ASSERT_TRUE(buf, "memory"))
		return false;
	got = read_for(fd, buf, cap, len ? len : 1, timeout_ms);
	ok = ASSERT_MEMEQ(buf, got, want, len, what);
	free(buf);
	return ok;
}

bool server_expect(struct cache_conn *cc, const void *buf, size_t len)
{
	return expect(cc->server, buf, len, SERVER_WAIT_MS, "bytes the server received");
}

bool server_expect_nothing(struct cache_conn *cc)
{
	return expect(cc->server, "", 0, NOTHING_WAIT_MS, "the server must receive nothing");
}

bool client_expect(struct cache_conn *cc, const void *buf, size_t len)
{
	return expect(cc->client, buf, len, SERVER_WAIT_MS, "bytes the client received");
}

bool client_expect_nothing(struct cache_conn *cc)
{
	return expect(cc->client, "", 0, NOTHING_WAIT_MS, "the client must receive nothing");
}

bool server_wait_bytes(struct cache_conn *cc, size_t n)
{
	__s64 deadline = now_ms() + SERVER_WAIT_MS;
	int avail = 0;

	for (;;) {
		if (ioctl(cc->server, FIONREAD, &avail) == 0 && (size_t)avail >= n)
			return true;
		if (now_ms() >= deadline)
			break;
		wait_fd(cc->server, POLLIN, 5);
	}
	return veer_test_fail(__FILE__, __LINE__, "server received %d bytes, want %zu", avail, n);
}

bool exchange_passed(struct cache_conn *cc, const void *req, size_t req_len, const void *rep,
		     size_t rep_len)
{
	if (!client_send(cc, req, req_len))
		return false;
	if (!server_expect(cc, req, req_len)) {
		/* Answered from the cache instead? Show what the client got. */
		client_expect_nothing(cc);
		return false;
	}
	return server_send(cc, rep, rep_len) && client_expect(cc, rep, rep_len);
}

bool exchange_hit(struct cache_conn *cc, const void *req, size_t req_len, const void *rep,
		  size_t rep_len)
{
	return client_send(cc, req, req_len) && client_expect(cc, rep, rep_len) &&
	       server_expect_nothing(cc);
}

/* ---- entries ---- */

bool cache_put(__u8 proto, const char *key, const char *value, __u32 mc_flags)
{
	char what[320];

	snprintf(what, sizeof(what), "veer_cache_put %s '%s'", veer_cache_proto_name(proto), key);
	return ASSERT_OK(veer_cache_put(&cache_env.vc, proto, key, strlen(key), value,
					strlen(value), mc_flags, 60, NULL),
			 what);
}

bool cache_current(__u8 proto, const char *key)
{
	struct veer_cache_item it;
	size_t vlen;
	void *v;

	if (veer_cache_get(&cache_env.vc, proto, key, strlen(key), &v, &vlen, &it))
		return false;
	free(v);
	return it.current;
}

/* ---- counters ---- */

bool cache_stats_read(__u64 sum[VEER_CACHE_STAT_MAX])
{
	return ASSERT_OK(veer_cache_counters(&cache_env.vc, sum), "veer_cache_counters");
}

bool cache_stats_eq(const char *what, const struct cache_stat_want *want, size_t n)
{
	__u64 sum[VEER_CACHE_STAT_MAX], expect[VEER_CACHE_STAT_MAX] = {};
	char msg[160];
	bool ok = true;

	for (size_t i = 0; i < n; i++)
		expect[want[i].stat] = want[i].n;
	if (!cache_stats_read(sum))
		return false;
	for (int s = 0; s < VEER_CACHE_STAT_MAX; s++) {
		snprintf(msg, sizeof(msg), "%s: counter %s", what, stat_names[s]);
		ok &= ASSERT_EQ(sum[s], expect[s], msg);
	}
	return ok;
}
