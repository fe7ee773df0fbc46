// SPDX-License-Identifier: GPL-2.0
/*
 * veerd's health checks (user/veerd/health.c) on the daemon's event loop, against real
 * listeners on 127.0.0.1 in this process: TCP listeners served by the same loop, an HTTP
 * server (libmicrohttpd, its own thread) whose status the test sets, and a silent listener
 * that completes handshakes and never answers. Short intervals (50 ms) keep the tests quick;
 * the bounds on when a backend leaves and returns are the contract's: within fall (rise)
 * intervals plus one, and not before fall - 1 (rise - 1).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>
#include "test.h"
#include "health_real.h"

#define MS	 1000000ull
#define INTERVAL 50
#define TIMEOUT	 40
/* Time the loop may be late by on a busy shared machine, on top of the contract's bounds. */
#define SLACK_MS 60

/* ---- what the checker reported ---- */

struct change {
	struct veer_endpoint be;
	bool up, reset;
	uint64_t at;
};

struct harness {
	struct loop *l;
	struct health *h;
	struct change ev[64];
	int nev;
	bool initial_up;
	int initial_calls;
	struct veer_config cfg;
	struct veer_vip_spec vips[3];
	struct veer_backend_spec bes[3][24];
};

static void on_change(const struct veer_vip_key *vip, const struct veer_endpoint *be, bool up,
		      bool reset, void *arg)
{
	struct harness *t = arg;

	(void)vip;
	if (t->nev < (int)(sizeof(t->ev) / sizeof(t->ev[0])))
		t->ev[t->nev++] =
			(struct change){.be = *be, .up = up, .reset = reset, .at = loop_now()};
}

static bool on_initial(const struct veer_vip_key *vip, const struct veer_endpoint *be, void *arg)
{
	struct harness *t = arg;

	(void)vip, (void)be;
	t->initial_calls++;
	return t->initial_up;
}

static bool harness_up(struct harness *t)
{
	memset(t, 0, sizeof(*t));
	t->initial_up = true;
	t->cfg.vips = t->vips;
	return ASSERT_OK(loop_new(&t->l), "loop_new") &&
	       ASSERT_OK(health_new(&t->h, t->l, on_change, on_initial, t), "health_new");
}

static void harness_down(struct harness *t)
{
	health_free(t->h);
	loop_free(t->l);
}

static struct veer_health_spec spec_tcp(void)
{
	return (struct veer_health_spec){.type = VEER_HEALTH_TCP,
					 .path = "/",
					 .expect = 200,
					 .interval_ms = INTERVAL,
					 .timeout_ms = TIMEOUT,
					 .rise = 2,
					 .fall = 3};
}

static struct veer_health_spec spec_http(const char *path, unsigned expect)
{
	struct veer_health_spec s = spec_tcp();

	s.type = VEER_HEALTH_HTTP;
	snprintf(s.path, sizeof(s.path), "%s", path);
	s.expect = expect;
	return s;
}

/* VIP i of the config: vip ("198.18.100.40:80/tcp") with backends ("127.0.0.1:PORT"). */
static bool vip_set(struct harness *t, size_t i, const char *vip, struct veer_health_spec spec,
		    const char *const *bes, size_t n)
{
	struct veer_vip_spec *v = &t->vips[i];

	memset(v, 0, sizeof(*v));
	if (!ASSERT_OK(veer_parse_vip(vip, &v->key), vip))
		return false;
	v->health = spec;
	v->backends = t->bes[i];
	v->nbackends = n;
	for (size_t j = 0; j < n; j++) {
		memset(&t->bes[i][j], 0, sizeof(t->bes[i][j]));
		t->bes[i][j].weight = 100;
		if (!ASSERT_OK(veer_parse_endpoint(bes[j], &t->bes[i][j].ep, false), bes[j]))
			return false;
	}
	if (t->cfg.nvips < i + 1)
		t->cfg.nvips = i + 1;
	return true;
}

static const char *ep(char *buf, const char *addr, int port)
{
	sprintf(buf, "%s:%d", addr, port);
	return buf;
}

/* ---- running the loop ---- */

struct until {
	struct harness *t;
	bool (*cond)(struct harness *t, void *arg);
	void *arg;
	uint64_t deadline;
	bool met;
	struct loop_timer tick;
};

static void until_tick(struct loop *l, struct loop_timer *tm)
{
	struct until *u = tm->arg;

	u->met = u->cond(u->t, u->arg);
	if (u->met || loop_now() >= u->deadline) {
		loop_stop(l);
		return;
	}
	loop_timer_at(l, tm, loop_now() + 2 * MS);
}

/* Runs the loop until cond holds (checked every 2 ms) or ms pass; whether it held. */
static bool run_until(struct harness *t, bool (*cond)(struct harness *t, void *arg), void *arg,
		      unsigned ms)
{
	struct until u = {.t = t, .cond = cond, .arg = arg, .deadline = loop_now() + ms * MS};

	u.tick.cb = until_tick;
	u.tick.arg = &u;
	loop_timer_at(t->l, &u.tick, loop_now());
	loop_run(t->l);
	loop_timer_cancel(t->l, &u.tick);
	return u.met;
}

static bool never(struct harness *t, void *arg)
{
	(void)t, (void)arg;
	return false;
}

static void run_for(struct harness *t, unsigned ms)
{
	run_until(t, never, NULL, ms);
}

static bool nev_at_least(struct harness *t, void *arg)
{
	return t->nev >= *(int *)arg;
}

struct sum {
	uint64_t checks, failures, checked; /* checked: backends with a check done */
	double max_latency;
};

static void sum_one(const struct health_status *s, void *arg)
{
	struct sum *m = arg;

	m->checks += s->checks;
	m->failures += s->failures;
	m->checked += s->checks > 0;
	if (s->last_latency_s > m->max_latency)
		m->max_latency = s->last_latency_s;
}

static struct sum sum(struct harness *t)
{
	struct sum m = {};

	health_foreach(t->h, sum_one, &m);
	return m;
}

static bool checks_at_least(struct harness *t, void *arg)
{
	return sum(t).checks >= *(uint64_t *)arg;
}

static bool all_checked(struct harness *t, void *arg)
{
	return sum(t).checked >= *(uint64_t *)arg;
}

/* The state of backend "ADDR:PORT" of VIP i. */
static int state(struct harness *t, size_t i, const char *be)
{
	struct veer_endpoint e;

	if (veer_parse_endpoint(be, &e, false))
		return -EINVAL;
	return health_state(t->h, &t->vips[i].key, &e);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---- listeners ---- */

struct listener {
	int fd;
	int port;
	uint64_t first_accept, accepts;
};

static void listener_accept(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct listener *s = arg;
	int c;

	(void)l, (void)events;
	while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (!s->accepts++)
			s->first_accept = loop_now();
		close(c);
	}
}

/*
 * A listener on addr:port (0: any free port). served: the loop accepts and closes; silent:
 * nobody accepts, the kernel completes handshakes and the connections wait in the backlog.
 */
static bool listen_on(struct listener *s, struct loop *l, const char *addr, int port, bool served)
{
	struct sockaddr_storage ss = {};
	socklen_t len;
	int one = 1;
	bool v6 = strchr(addr, ':');

	memset(s, 0, sizeof(*s));
	s->fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!ASSERT_TRUE(s->fd >= 0, "socket"))
		return false;
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, addr, &a->sin_addr);
		len = sizeof(*a);
	}
	if (!ASSERT_OK(bind(s->fd, (struct sockaddr *)&ss, len) ? -errno : 0, "bind") ||
	    !ASSERT_OK(listen(s->fd, 1024) ? -errno : 0, "listen") ||
	    !ASSERT_OK(getsockname(s->fd, (struct sockaddr *)&ss, &len) ? -errno : 0,
		       "getsockname"))
		return false;
	s->port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
			   : ((struct sockaddr_in *)&ss)->sin_port);
	if (served)
		return ASSERT_OK(loop_add(l, s->fd, EPOLLIN, listener_accept, s), "loop_add");
	return true;
}

static void listener_close(struct listener *s, struct loop *l)
{
	if (s->fd < 0)
		return;
	loop_del(l, s->fd);
	close(s->fd);
	s->fd = -1;
}

/* Whether this host has ::1 (IPv6 may be off): asked quietly, the test then leaves it out. */
static bool have_ipv6_loopback(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a));

	if (fd >= 0)
		close(fd);
	return ok;
}

/* ---- an HTTP server: libmicrohttpd in its own thread, answering with a status we set ---- */

struct http {
	struct MHD_Daemon *d;
	int port;
	atomic_int status;
	atomic_int requests;
	pthread_mutex_t lock;
	char method[16], url[64], host[64], agent[64], conn[64], version[16];
};

static enum MHD_Result http_answer(void *cls, struct MHD_Connection *c, const char *url,
				   const char *method, const char *version, const char *upload,
				   size_t *upload_size, void **state)
{
	struct http *s = cls;
	static const char body[] = "health\n";
	struct MHD_Response *r;
	enum MHD_Result ret;
	const char *v;

	(void)upload, (void)upload_size, (void)state;
	pthread_mutex_lock(&s->lock);
	snprintf(s->method, sizeof(s->method), "%s", method);
	snprintf(s->url, sizeof(s->url), "%s", url);
	snprintf(s->version, sizeof(s->version), "%s", version);
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	snprintf(s->host, sizeof(s->host), "%s", v ? v : "");
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent");
	snprintf(s->agent, sizeof(s->agent), "%s", v ? v : "");
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Connection");
	snprintf(s->conn, sizeof(s->conn), "%s", v ? v : "");
	pthread_mutex_unlock(&s->lock);
	s->requests++;
	r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, s->status, r);
	MHD_destroy_response(r);
	return ret;
}

static bool http_up(struct http *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	const union MHD_DaemonInfo *info;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->status = 200;
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL,
				http_answer, s, MHD_OPTION_SOCK_ADDR, &a, MHD_OPTION_END);
	if (!ASSERT_TRUE(s->d, "MHD_start_daemon on 127.0.0.1"))
		return false;
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	return ASSERT_TRUE(s->port > 0, "the HTTP server's port");
}

static void http_down(struct http *s)
{
	if (s->d)
		MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->lock);
}

/* ---- tests ---- */

/*
 * TCP: a served listener passes; closed (connect refused), the backend goes down after exactly
 * fall failures, with on_down's reset; listening again, it comes back after rise passes.
 */
VEER_TEST(health_tcp_fall_rise)
{
	struct harness t;
	struct listener s;
	struct veer_health_spec spec = spec_tcp();
	char be[32];
	const char *bes[1];
	uint64_t want = 3, t0;
	int fds0 = open_fds(), port, two = 2, one = 1;
	struct sum m;

	s.fd = -1;
	if (!harness_up(&t) || !listen_on(&s, t.l, "127.0.0.1", 0, true))
		goto cleanup;
	port = s.port;
	bes[0] = ep(be, "127.0.0.1", port);
	spec.on_down_reset = true;
	if (!vip_set(&t, 0, "198.18.100.40:80/tcp", spec, bes, 1) ||
	    !ASSERT_OK(health_sync(t.h, &t.cfg), "health_sync"))
		goto cleanup;
	ASSERT_EQ(t.initial_calls, 1, "initial state asked once");
	ASSERT_EQ(state(&t, 0, be), 1, "up from the start (initial)");
	ASSERT_TRUE(run_until(&t, checks_at_least, &want, 10 * INTERVAL), "3 checks done");
	m = sum(&t);
	ASSERT_EQ(m.failures, 0, "failures against a listener");
	ASSERT_EQ(t.nev, 0, "no change while it passes");
	ASSERT_TRUE(m.max_latency > 0 && m.max_latency < TIMEOUT / 1e3, "latency recorded");
	ASSERT_TRUE(s.accepts >= 3, "the listener saw the checks");

	/* Refused: down after fall failures, not fewer. */
	listener_close(&s, t.l);
	t0 = loop_now();
	if (!ASSERT_TRUE(run_until(&t, nev_at_least, &one, 10 * INTERVAL), "goes down"))
		goto cleanup;
	ASSERT_FALSE(t.ev[0].up, "the change is down");
	ASSERT_TRUE(t.ev[0].reset, "on_down: reset passed on");
	ASSERT_EQ(ntohs(t.ev[0].be.port), port, "the backend with its port");
	ASSERT_EQ(state(&t, 0, be), 0, "health_state down");
	ASSERT_LE((t.ev[0].at - t0) / MS, (spec.fall + 1) * INTERVAL + SLACK_MS,
		  "down within fall + 1 intervals (ms)");
	ASSERT_LE((spec.fall - 1) * INTERVAL - 5, (t.ev[0].at - t0) / MS,
		  "not before fall - 1 intervals (ms)");
	ASSERT_EQ(sum(&t).failures, spec.fall, "down at the fall-th failure in a row");
	run_for(&t, 3 * INTERVAL);
	ASSERT_EQ(t.nev, 1, "no second down");

	/* Back: up after rise passes. */
	if (!listen_on(&s, t.l, "127.0.0.1", port, true))
		goto cleanup;
	t0 = loop_now();
	if (!ASSERT_TRUE(run_until(&t, nev_at_least, &two, 10 * INTERVAL), "comes back"))
		goto cleanup;
	ASSERT_TRUE(t.ev[1].up, "the change is up");
	ASSERT_FALSE(t.ev[1].reset, "no reset going up");
	ASSERT_EQ(state(&t, 0, be), 1, "health_state up");
	ASSERT_LE((t.ev[1].at - t0) / MS, (spec.rise + 1) * INTERVAL + SLACK_MS,
		  "up within rise + 1 intervals (ms)");
	ASSERT_LE((spec.rise - 1) * INTERVAL - 5, (t.ev[1].at - t0) / MS,
		  "not before rise - 1 intervals (ms)");
cleanup:
	listener_close(&s, t.l);
	harness_down(&t);
	ASSERT_EQ(open_fds(), fds0, "every socket closed");
}

/*
 * HTTP: the request is a real one (libmicrohttpd parsed it: GET, the path, Host with the port,
 * User-Agent, Connection: close); a status other than expect fails, on one VIP expecting 200
 * and one expecting 204 against the same server.
 */
VEER_TEST(health_http_status)
{
	struct harness t;
	struct http s = {};
	char be[32], host[32];
	const char *bes[1];
	uint64_t want = 2;
	int one = 1, two = 2, three = 3;

	if (!harness_up(&t) || !http_up(&s))
		goto cleanup;
	bes[0] = ep(be, "127.0.0.1", s.port);
	if (!vip_set(&t, 0, "198.18.100.41:80/tcp", spec_http("/healthz", 200), bes, 1) ||
	    !vip_set(&t, 1, "198.18.100.42:80/tcp", spec_http("/ready?x=1", 204), bes, 1) ||
	    !ASSERT_OK(health_sync(t.h, &t.cfg), "health_sync"))
		goto cleanup;

	/* 204 wanted, 200 answered: that VIP's backend goes down, the other stays up. */
	if (!ASSERT_TRUE(run_until(&t, nev_at_least, &one, 10 * INTERVAL), "expect mismatch"))
		goto cleanup;
	ASSERT_FALSE(t.ev[0].up, "down on a status mismatch");
	ASSERT_EQ(state(&t, 1, be), 0, "the VIP expecting 204: down");
	ASSERT_EQ(state(&t, 0, be), 1, "the VIP expecting 200: up");
	ASSERT_TRUE(run_until(&t, checks_at_least, &want, 10 * INTERVAL), "checks done");
	ASSERT_TRUE(s.requests >= 2, "the server answered");
	pthread_mutex_lock(&s.lock);
	snprintf(host, sizeof(host), "127.0.0.1:%d", s.port);
	ASSERT_STREQ(s.method, "GET", "method");
	ASSERT_STREQ(s.version, "HTTP/1.1", "version");
	ASSERT_STREQ(s.host, host, "Host");
	ASSERT_STREQ(s.agent, "veerd", "User-Agent");
	ASSERT_STREQ(s.conn, "close", "Connection");
	pthread_mutex_unlock(&s.lock);

	/* 503: the 200 VIP's backend goes down after fall; 200 again: back after rise. */
	s.status = 503;
	if (!ASSERT_TRUE(run_until(&t, nev_at_least, &two, 10 * INTERVAL), "503 fails"))
		goto cleanup;
	ASSERT_FALSE(t.ev[1].up, "down on 503");
	ASSERT_FALSE(t.ev[1].reset, "on_down keep by default");
	ASSERT_EQ(state(&t, 0, be), 0, "the VIP expecting 200: down");
	s.status = 200;
	if (!ASSERT_TRUE(run_until(&t, nev_at_least, &three, 10 * INTERVAL), "200 again"))
		goto cleanup;
	ASSERT_TRUE(t.ev[2].up, "back up");
	ASSERT_EQ(state(&t, 0, be), 1, "the VIP expecting 200: up");
	run_for(&t, 3 * INTERVAL);
	ASSERT_EQ(state(&t, 1, be), 0, "the VIP expecting 204: still down");
	ASSERT_EQ(t.nev, 3, "no other change");
cleanup:
	harness_down(&t);
	http_down(&s);
}

/*
 * A listener that never answers: the TCP check passes (the handshake is the kernel's), the
 * HTTP check times out, fails, and records no latency; a backend that starts down (initial)
 * stays down without a change.
 */
VEER_TEST(health_http_timeout)
{
	struct harness t;
	struct listener s;
	char be[32];
	const char *bes[1];
	int one = 1, fds0 = open_fds();
	uint64_t t0;

	s.fd = -1;
	if (!harness_up(&t) || !listen_on(&s, t.l, "127.0.0.1", 0, false))
		goto cleanup;
	bes[0] = ep(be, "127.0.0.1", s.port);
	if (!vip_set(&t, 0, "198.18.100.43:80/tcp", spec_http("/", 200), bes, 1) ||
	    !vip_set(&t, 1, "198.18.100.44:80/tcp", spec_tcp(), bes, 1) ||
	    !ASSERT_OK(health_sync(t.h, &t.cfg), "health_sync"))
		goto cleanup;
	t0 = loop_now();
	if (!ASSERT_TRUE(run_until(&t, nev_at_least, &one, 10 * INTERVAL), "goes down"))
		goto cleanup;
	ASSERT_FALSE(t.ev[0].up, "down");
	ASSERT_EQ(state(&t, 0, be), 0, "HTTP without an answer: down");
	ASSERT_EQ(state(&t, 1, be), 1, "TCP to the same listener: up");
	/* Three probes of TIMEOUT each, the first within an interval. */
	ASSERT_LE(2 * INTERVAL + TIMEOUT - 5, (t.ev[0].at - t0) / MS, "after fall timeouts (ms)");
	ASSERT_LE((t.ev[0].at - t0) / MS, 3 * INTERVAL + TIMEOUT + SLACK_MS,
		  "within fall intervals and a timeout (ms)");
	run_for(&t, 2 * INTERVAL);
	ASSERT_EQ(t.nev, 1, "the TCP check stays up");

	/* Starting down: stays down without a change, as a restarted veerd found it. */
	health_sync(t.h, &(struct veer_config){});
	t.initial_up = false;
	t.nev = 0;
	if (!ASSERT_OK(health_sync(t.h, &t.cfg), "health_sync"))
		goto cleanup;
	ASSERT_EQ(state(&t, 0, be), 0, "starts down");
	run_for(&t, 4 * INTERVAL);
	ASSERT_EQ(state(&t, 0, be), 0, "HTTP: still down");
	ASSERT_EQ(state(&t, 1, be), 1, "TCP: up after rise");
	ASSERT_EQ(t.nev, 1, "one change: the TCP check's up");
	ASSERT_TRUE(t.nev == 1 && t.ev[0].up, "up");
	{
		struct sum m = {};

		health_foreach(t.h, sum_one, &m);
		ASSERT_TRUE(m.failures >= 2, "timeouts count as failures");
	}
cleanup:
	listener_close(&s, t.l);
	harness_down(&t);
	ASSERT_EQ(open_fds(), fds0, "every socket closed");
}

struct one_status {
	struct veer_vip_key vip;
	struct veer_endpoint be;
	struct health_status s;
	bool found;
};

static void find_one(const struct health_status *s, void *arg)
{
	struct one_status *o = arg;

	if (!memcmp(&s->vip.addr, &o->vip.addr, 4) && s->vip.port == o->vip.port &&
	    !memcmp(&s->be.addr, &o->be.addr, 4) && s->be.port == o->be.port) {
		o->s = *s;
		o->found = true;
	}
}

static uint64_t checks_of(struct harness *t, size_t i, const char *be)
{
	struct one_status o = {.vip = t->vips[i].key};

	veer_parse_endpoint(be, &o.be, false);
	health_foreach(t->h, find_one, &o);
	return o.found ? o.s.checks : 0;
}

/*
 * health_sync keeps the state and schedule of unchanged (VIP, backend, settings) triples, starts
 * new ones (asking their initial state), restarts those whose settings changed, and stops the
 * rest: their sockets close at once, even with a probe in flight.
 */
VEER_TEST(health_sync_keeps_state)
{
	struct harness t;
	struct listener a, b, quiet;
	char ea[32], eb[32], ed[32], eq[32];
	const char *v1[3], *v2[1], *v3[1];
	struct veer_health_spec spec = spec_tcp();
	uint64_t before;
	int one = 1, base, fds1;

	a.fd = b.fd = quiet.fd = -1;
	if (!harness_up(&t) || !listen_on(&a, t.l, "127.0.0.1", 0, true) ||
	    !listen_on(&b, t.l, "127.0.0.1", 0, true) ||
	    !listen_on(&quiet, t.l, "127.0.0.1", 0, false))
		goto cleanup;
	/* A dead port: bind one and close it. */
	{
		struct listener d;

		if (!listen_on(&d, t.l, "127.0.0.1", 0, false))
			goto cleanup;
		ep(ed, "127.0.0.1", d.port);
		listener_close(&d, t.l);
	}
	base = open_fds();
	spec.fall = 2;
	v1[0] = ep(ea, "127.0.0.1", a.port);
	v1[1] = ed;
	if (!vip_set(&t, 0, "198.18.100.45:80/tcp", spec, v1, 2) ||
	    !ASSERT_OK(health_sync(t.h, &t.cfg), "health_sync"))
		goto cleanup;
	if (!ASSERT_TRUE(run_until(&t, nev_at_least, &one, 10 * INTERVAL),
			 "the dead one goes down"))
		goto cleanup;
	ASSERT_EQ(state(&t, 0, ed), 0, "dead port: down");
	ASSERT_EQ(t.initial_calls, 2, "initial asked for both");

	/* Same VIP plus a backend, and a second VIP: only the new ones start. */
	before = checks_of(&t, 0, ea);
	v1[2] = ep(eb, "127.0.0.1", b.port);
	v2[0] = ea;
	if (!vip_set(&t, 0, "198.18.100.45:80/tcp", spec, v1, 3) ||
	    !vip_set(&t, 1, "198.18.100.46:80/tcp", spec, v2, 1) ||
	    !ASSERT_OK(health_sync(t.h, &t.cfg), "health_sync"))
		goto cleanup;
	ASSERT_EQ(t.initial_calls, 4, "initial asked for the two new ones only");
	ASSERT_EQ(state(&t, 0, ed), 0, "kept: still down");
	ASSERT_EQ(checks_of(&t, 0, ea), before, "kept: its counters");
	ASSERT_EQ(state(&t, 1, ea), 1, "new on the second VIP: up");
	run_for(&t, 4 * INTERVAL);
	ASSERT_EQ(t.nev, 1, "no change: nothing restarted the dead one");
	ASSERT_TRUE(checks_of(&t, 0, eb) > 0 && checks_of(&t, 1, ea) > 0, "the new ones run");
	ASSERT_TRUE(checks_of(&t, 0, ea) >= before + 3, "the kept one runs on");

	/* on_down alone changes in place; another interval restarts that VIP's checks. */
	spec.on_down_reset = true;
	vip_set(&t, 0, "198.18.100.45:80/tcp", spec, v1, 3);
	ASSERT_OK(health_sync(t.h, &t.cfg), "health_sync");
	ASSERT_EQ(t.initial_calls, 4, "on_down: nothing restarted");
	spec.interval_ms = INTERVAL + 10;
	vip_set(&t, 0, "198.18.100.45:80/tcp", spec, v1, 3);
	ASSERT_OK(health_sync(t.h, &t.cfg), "health_sync");
	ASSERT_EQ(t.initial_calls, 7, "interval: the VIP's three restarted");
	ASSERT_EQ(state(&t, 0, ed), 1, "restarted: the initial state again");
	ASSERT_EQ(checks_of(&t, 0, ea), 0, "restarted: counters from zero");
	if (ASSERT_TRUE(run_until(&t, nev_at_least, &(int){2}, 10 * INTERVAL), "down again")) {
		ASSERT_FALSE(t.ev[1].up, "down");
		ASSERT_TRUE(t.ev[1].reset, "with the new on_down");
	}

	/* Removed: gone from health_state, its sockets closed at once, even mid-probe. */
	v3[0] = ep(eq, "127.0.0.1", quiet.port);
	spec = spec_http("/", 200);
	spec.timeout_ms = spec.interval_ms; /* always a probe in flight */
	vip_set(&t, 2, "198.18.100.47:80/tcp", spec, v3, 1);
	ASSERT_OK(health_sync(t.h, &t.cfg), "health_sync");
	run_for(&t, 2 * INTERVAL);
	fds1 = open_fds();
	ASSERT_TRUE(fds1 > base, "a probe in flight to the silent listener");
	t.cfg.nvips = 1;
	vip_set(&t, 0, "198.18.100.45:80/tcp", spec, v1, 1);
	ASSERT_OK(health_sync(t.h, &t.cfg), "health_sync");
	ASSERT_EQ(state(&t, 1, ea), -ENOENT, "second VIP: not checked");
	ASSERT_EQ(state(&t, 0, ed), -ENOENT, "removed backend: not checked");
	ASSERT_EQ(state(&t, 0, ea), 1, "the rest still checked");
	ASSERT_OK(health_sync(t.h, &(struct veer_config){}), "health_sync, nothing");
	ASSERT_EQ(open_fds(), base, "no probe socket left");
	ASSERT_EQ(state(&t, 0, ea), -ENOENT, "nothing checked");
cleanup:
	listener_close(&a, t.l);
	listener_close(&b, t.l);
	listener_close(&quiet, t.l);
	harness_down(&t);
}

/*
 * A VIP's first checks are spread over the interval, not sent in one burst; a backend without
 * a port is checked at the VIP's, and health: {port} wins over both; IPv6 too.
 */
VEER_TEST(health_spread_and_ports)
{
	enum { N = 20, SPREAD_INTERVAL = 300 };
	struct harness t;
	struct listener s[N], vipport, six;
	char eps[N][32], vipaddr[40], e6[48];
	const char *bes[N];
	struct veer_health_spec spec = spec_tcp();
	uint64_t t0, lo = UINT64_MAX, hi = 0, want = N;
	bool have6;
	int close_pairs = 0;

	for (int i = 0; i < N; i++)
		s[i].fd = -1;
	vipport.fd = six.fd = -1;
	if (!harness_up(&t))
		goto cleanup;
	for (int i = 0; i < N; i++) {
		if (!listen_on(&s[i], t.l, "127.0.0.1", 0, true))
			goto cleanup;
		bes[i] = ep(eps[i], "127.0.0.1", s[i].port);
	}
	spec.interval_ms = SPREAD_INTERVAL;
	if (!vip_set(&t, 0, "198.18.100.48:80/tcp", spec, bes, N) ||
	    !ASSERT_OK(health_sync(t.h, &t.cfg), "health_sync"))
		goto cleanup;
	t0 = loop_now();
	ASSERT_TRUE(run_until(&t, all_checked, &want, 2 * SPREAD_INTERVAL), "all checked");
	for (int i = 0; i < N; i++) {
		if (!s[i].accepts)
			continue;
		lo = s[i].first_accept < lo ? s[i].first_accept : lo;
		hi = s[i].first_accept > hi ? s[i].first_accept : hi;
		for (int j = 0; j < i; j++) {
			uint64_t a = s[i].first_accept, b = s[j].first_accept;

			close_pairs += (a > b ? a - b : b - a) < MS;
		}
	}
	printf("    first checks of %d backends over %.0f ms (interval %d ms), %d pairs "
	       "within 1 ms\n",
	       N, (hi - lo) / 1e6, SPREAD_INTERVAL, close_pairs);
	ASSERT_LE(SPREAD_INTERVAL / 2, (hi - lo) / MS, "first checks spread over the interval");
	ASSERT_LE((hi - t0) / MS, SPREAD_INTERVAL + SLACK_MS, "all within the first interval");
	ASSERT_LE(close_pairs, N / 2, "pairs of first checks within 1 ms of each other");

	/* Ports: the VIP's for a backend without one; health's port above both. */
	if (!listen_on(&vipport, t.l, "127.0.0.1", 0, true))
		goto cleanup;
	snprintf(vipaddr, sizeof(vipaddr), "198.18.100.49:%d/tcp", vipport.port);
	bes[0] = "127.0.0.1";
	if (!vip_set(&t, 0, vipaddr, spec_tcp(), bes, 1))
		goto cleanup;
	spec = spec_tcp();
	spec.port = (uint16_t)vipport.port;
	bes[0] = "127.0.0.1:1"; /* nothing listens on 1 */
	if (!vip_set(&t, 1, "198.18.100.50:80/tcp", spec, bes, 1))
		goto cleanup;
	/* IPv6 on ::1, when this host has it. */
	have6 = have_ipv6_loopback();
	if (!have6)
		printf("    no ::1 on this host: IPv6 left out\n");
	if (have6 && !listen_on(&six, t.l, "::1", 0, true))
		goto cleanup;
	if (have6) {
		snprintf(e6, sizeof(e6), "[::1]:%d", six.port);
		bes[0] = e6;
		if (!vip_set(&t, 2, "[2001:2::50]:80/tcp", spec_http("/", 200), bes, 1))
			goto cleanup;
		t.vips[2].health.type = VEER_HEALTH_TCP;
	}
	t.initial_up = false;
	t.nev = 0;
	if (!ASSERT_OK(health_sync(t.h, &t.cfg), "health_sync"))
		goto cleanup;
	{
		struct veer_endpoint ep0;
		char name[32];

		veer_parse_endpoint("127.0.0.1", &ep0, false);
		ASSERT_EQ(health_state(t.h, &t.vips[0].key, &ep0), 0,
			  "found without a port (the VIP's), starting down");
		snprintf(name, sizeof(name), "127.0.0.1:%d", vipport.port);
		ASSERT_EQ(state(&t, 0, name), 0, "found with the VIP's port");
	}
	if (ASSERT_TRUE(run_until(&t, nev_at_least, &(int){have6 ? 3 : 2}, 10 * INTERVAL),
			"all come up")) {
		ASSERT_EQ(state(&t, 1, "127.0.0.1:1"), 1, "health port: checked there, up");
		bool named = false;

		for (int i = 0; i < t.nev; i++) {
			ASSERT_TRUE(t.ev[i].up, "up");
			named |= ntohs(t.ev[i].be.port) == vipport.port;
		}
		ASSERT_TRUE(named, "the change names the resolved port");
	}
	if (have6)
		ASSERT_EQ(state(&t, 2, e6), 1, "IPv6: up");
cleanup:
	for (int i = 0; i < N; i++)
		listener_close(&s[i], t.l);
	listener_close(&vipport, t.l);
	listener_close(&six, t.l);
	harness_down(&t);
}

/*
 * A VIP that loses its health block gets its down backends back (nobody would check them up
 * again); a backend that leaves the config is not announced (it is gone from the VIP).
 */
VEER_TEST(health_unchecked_back_in_service)
{
	struct harness t;
	struct listener d;
	struct veer_health_spec spec = spec_tcp();
	char ed[32];
	const char *bes[1];
	int one = 1;

	d.fd = -1;
	if (!harness_up(&t) || !listen_on(&d, t.l, "127.0.0.1", 0, false))
		goto cleanup;
	bes[0] = ep(ed, "127.0.0.1", d.port);
	listener_close(&d, t.l); /* a dead port */
	spec.fall = 2;
	if (!vip_set(&t, 0, "198.18.100.51:80/tcp", spec, bes, 1) ||
	    !ASSERT_OK(health_sync(t.h, &t.cfg), "health_sync"))
		goto cleanup;
	if (!ASSERT_TRUE(run_until(&t, nev_at_least, &one, 10 * INTERVAL), "goes down"))
		goto cleanup;
	ASSERT_FALSE(t.ev[0].up, "down");

	/* The health block goes, the backend stays: up again, at once. */
	t.vips[0].health.type = VEER_HEALTH_NONE;
	ASSERT_OK(health_sync(t.h, &t.cfg), "health_sync without health");
	ASSERT_EQ(t.nev, 2, "one change at the sync");
	ASSERT_TRUE(t.nev == 2 && t.ev[1].up && !t.ev[1].reset, "back up, no reset");
	ASSERT_EQ(ntohs(t.ev[1].be.port), d.port, "that backend");
	ASSERT_EQ(state(&t, 0, ed), -ENOENT, "not checked any more");
	run_for(&t, 3 * INTERVAL);
	ASSERT_EQ(t.nev, 2, "and nothing after");

	/* Checked again, starting down; then the VIP goes: no change announced. */
	t.vips[0].health = spec;
	t.initial_up = false;
	ASSERT_OK(health_sync(t.h, &t.cfg), "health_sync");
	ASSERT_EQ(state(&t, 0, ed), 0, "starts down");
	ASSERT_OK(health_sync(t.h, &(struct veer_config){}), "health_sync, nothing");
	ASSERT_EQ(t.nev, 2, "a removed backend is not announced");
cleanup:
	harness_down(&t);
}
