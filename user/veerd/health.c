// SPDX-License-Identifier: GPL-2.0
/*
 * Backend health checks. Every (VIP, backend, health settings) triple is one check: a timer in
 * the loop's heap and, while a probe is in flight, one non-blocking socket in its epoll. Ten
 * thousand backends are ten thousand timers and a handful of sockets at any moment, on the
 * daemon's one thread.
 *
 * A check runs on a fixed-rate schedule (due, due + interval, ...), never "interval after the
 * last one ended", so that how late a probe starts against its schedule measures the loop
 * itself (health_timing). A VIP's new checks are spread evenly over one interval from a random
 * phase: ten thousand backends added at once do not probe in one burst.
 *
 * Sockets close with SO_LINGER 0: the checker sends a RST and keeps no TIME_WAIT, which at ten
 * thousand probes a second would otherwise hold hundreds of thousands of sockets and could
 * exhaust the ephemeral ports toward a backend probed on one port.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "veerd.h"

/* Open files kept for everything else veerd does (maps, the metrics server, the watch). */
#define FD_RESERVE 256
/* A resource problem of this host (no fd, no port) is logged at most this often. */
#define LOCAL_WARN_NS (10 * 1000000000ull)
/* Enough of an answer for "HTTP/1.1 200 ": the status line is all a check reads. */
#define STATUS_MIN 12
#define BUF_LEN	   64

/*
 * Lateness histogram: microseconds, 64 buckets per power of two (1.6% precision) above 64 us,
 * exact below; up to 2^38 us (three days), which is more than any loop can be late.
 */
#define LATE_SUB  64
#define LATE_BINS (33 * LATE_SUB)

struct check {
	struct health *h;
	struct veer_vip_key vip;
	struct veer_endpoint be;      /* port resolved: the VIP's when the backend gave none */
	struct veer_health_spec spec; /* as configured */
	uint32_t timeout_ms;	      /* as applied */
	struct sockaddr_storage sa;   /* where the probe goes: the backend at the check's port */
	socklen_t salen;
	char *req; /* http: the whole request */
	size_t req_len, sent;
	char buf[BUF_LEN]; /* http: the start of the answer */
	size_t got;
	struct loop_timer timer; /* the next probe or, while one is in flight, its deadline */
	int fd;			 /* the probe in flight, -1 for none */
	bool connected;
	bool kept; /* during a sync: found in the new config */
	bool up;
	uint32_t passes, fails; /* in a row */
	uint64_t due;		/* when the probe in flight or the next one is scheduled */
	uint64_t started;	/* when the probe in flight started */
	uint64_t checks, failures;
	double last_latency_s;
	char why[96]; /* the last failure, for the message when the backend goes down */
};

struct health {
	struct loop *l;
	health_change_cb changed;
	health_initial_cb initial;
	void *arg;
	struct check **checks; /* sorted by VIP and backend, for bsearch */
	size_t n;
	size_t inflight, fd_budget;
	uint64_t rng;
	uint64_t local_errors, local_warned;
	uint64_t started;
	uint64_t late[LATE_BINS];
	uint64_t late_max_ns;
};

/* ---- keys: a check is found by its VIP and backend ---- */

static size_t addr_len(__u8 family)
{
	return family == VEER_AF_INET6 ? 16 : 4;
}

static int key_cmp(const struct veer_vip_key *va, const struct veer_endpoint *ba,
		   const struct veer_vip_key *vb, const struct veer_endpoint *bb)
{
	int d;

	if (va->family != vb->family)
		return va->family < vb->family ? -1 : 1;
	d = memcmp(&va->addr, &vb->addr, addr_len(va->family));
	if (d)
		return d;
	if (va->port != vb->port)
		return ntohs(va->port) < ntohs(vb->port) ? -1 : 1;
	if (va->proto != vb->proto)
		return va->proto < vb->proto ? -1 : 1;
	if (ba->family != bb->family)
		return ba->family < bb->family ? -1 : 1;
	d = memcmp(&ba->addr, &bb->addr, addr_len(ba->family));
	if (d)
		return d;
	if (ba->port != bb->port)
		return ntohs(ba->port) < ntohs(bb->port) ? -1 : 1;
	return 0;
}

static int check_cmp(const void *a, const void *b)
{
	const struct check *x = *(struct check *const *)a, *y = *(struct check *const *)b;

	return key_cmp(&x->vip, &x->be, &y->vip, &y->be);
}

static struct check *find(struct health *h, const struct veer_vip_key *vip,
			  const struct veer_endpoint *be)
{
	size_t lo = 0, hi = h->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = key_cmp(vip, be, &h->checks[mid]->vip, &h->checks[mid]->be);

		if (!d)
			return h->checks[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The backend as the callbacks and health_state see it: port 0 is the VIP's. */
static struct veer_endpoint resolve(const struct veer_vip_key *vip, const struct veer_endpoint *be)
{
	struct veer_endpoint r;

	memset(&r, 0, sizeof(r));
	memcpy(&r.addr, &be->addr, addr_len(be->family));
	r.family = be->family;
	r.port = be->port ? be->port : vip->port;
	return r;
}

static struct veer_vip_key vip_key(const struct veer_vip_key *k)
{
	struct veer_vip_key r;

	memset(&r, 0, sizeof(r));
	memcpy(&r.addr, &k->addr, addr_len(k->family));
	r.port = k->port;
	r.proto = k->proto;
	r.family = k->family;
	return r;
}

static const char *check_name(const struct check *c, char *buf, size_t len)
{
	char vip[VEER_ADDR_STRLEN], be[VEER_ADDR_STRLEN];

	veer_fmt_vip(&c->vip, vip, sizeof(vip));
	veer_fmt_endpoint(&c->be.addr, c->be.port, c->be.family, be, sizeof(be));
	snprintf(buf, len, "backend %s of %s", be, vip);
	return buf;
}

/* Settings whose change restarts a check; on_down is read only when a backend goes down. */
static bool spec_same(const struct veer_health_spec *a, const struct veer_health_spec *b)
{
	return a->type == b->type && a->port == b->port && a->expect == b->expect &&
	       a->interval_ms == b->interval_ms && a->timeout_ms == b->timeout_ms &&
	       a->rise == b->rise && a->fall == b->fall &&
	       !strncmp(a->path, b->path, sizeof(a->path));
}

/* ---- timing ---- */

static unsigned late_bin(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned e;

	if (us < LATE_SUB)
		return (unsigned)us;
	e = 63 - (unsigned)__builtin_clzll(us); /* >= 6 */
	if (e > 37)
		return LATE_BINS - 1;
	return (e - 5) * LATE_SUB + (unsigned)((us >> (e - 6)) - LATE_SUB);
}

/* The lower bound of a bucket, in seconds. */
static double late_bin_s(unsigned i)
{
	unsigned e;

	if (i < LATE_SUB)
		return i / 1e6;
	e = i / LATE_SUB + 5;
	return (double)((uint64_t)(i % LATE_SUB + LATE_SUB) << (e - 6)) / 1e6;
}

static double late_quantile(const struct health *h, double q)
{
	uint64_t want = (uint64_t)(q * h->started), seen = 0;

	if (!h->started)
		return 0;
	if (want >= h->started)
		want = h->started - 1;
	for (unsigned i = 0; i < LATE_BINS; i++) {
		seen += h->late[i];
		if (seen > want)
			return late_bin_s(i);
	}
	return h->late_max_ns / 1e9;
}

void health_timing(struct health *h, struct health_timing *t, bool reset)
{
	memset(t, 0, sizeof(*t));
	t->started = h->started;
	t->late_p50_s = late_quantile(h, 0.5);
	t->late_p99_s = late_quantile(h, 0.99);
	t->late_max_s = h->late_max_ns / 1e9;
	t->local_errors = h->local_errors;
	if (reset) {
		h->started = 0;
		h->late_max_ns = 0;
		memset(h->late, 0, sizeof(h->late));
	}
}

static uint64_t rng_next(struct health *h)
{
	uint64_t z = (h->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- one probe ---- */

static void check_io(struct loop *l, int fd, uint32_t events, void *arg);

static void probe_close(struct check *c)
{
	if (c->fd < 0)
		return;
	loop_del(c->h->l, c->fd);
	close(c->fd);
	c->fd = -1;
	c->h->inflight--;
}

/* The next probe, on the schedule; a loop more than an interval behind starts afresh. */
static void schedule_next(struct check *c, uint64_t now)
{
	uint64_t interval = c->spec.interval_ms * 1000000ull;

	c->due += interval;
	if (c->due + interval < now)
		c->due = now;
	loop_timer_at(c->h->l, &c->timer, c->due);
}

static void transition(struct check *c, bool up)
{
	struct health *h = c->h;
	char name[2 * VEER_ADDR_STRLEN + 16];

	c->up = up;
	if (up)
		log_info("%s passed %u health checks in a row", check_name(c, name, sizeof(name)),
			 c->passes);
	else
		log_info("%s failed %u health checks in a row (%s)",
			 check_name(c, name, sizeof(name)), c->fails, c->why);
	h->changed(&c->vip, &c->be, up, !up && c->spec.on_down_reset, h->arg);
}

/*
 * The probe's verdict, and how long it took.
 */
static void probe_done(struct check *c, bool pass, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void probe_done(struct check *c, bool pass, const char *fmt, ...)
{
	uint64_t now = loop_now();
	va_list ap;

	probe_close(c);
	c->checks++;
	/*
	 * A timeout counts as the time waited, so that a backend that never answers shows the
	 * slowest figure, not a stale or zero one.
	 */
	c->last_latency_s = (now - c->started) / 1e9;
	if (pass) {
		c->fails = 0;
		c->passes++;
	} else {
		char name[2 * VEER_ADDR_STRLEN + 16];

		va_start(ap, fmt);
		vsnprintf(c->why, sizeof(c->why), fmt, ap);
		va_end(ap);
		c->failures++;
		c->passes = 0;
		c->fails++;
		log_debug("%s: health check failed (%s)", check_name(c, name, sizeof(name)),
			  c->why);
	}
	schedule_next(c, now);
	/* Last: the callback may take a while (a map update), and c is in order by then. */
	if (pass && !c->up && c->passes >= c->spec.rise)
		transition(c, true);
	else if (!pass && c->up && c->fails >= c->spec.fall)
		transition(c, false);
}

/* Not the backend's doing (no fd, no local port): no verdict, the next probe is on time. */
static void probe_local_error(struct check *c, const char *what, int err)
{
	struct health *h = c->h;
	uint64_t now = loop_now();
	char name[2 * VEER_ADDR_STRLEN + 16];

	probe_close(c);
	h->local_errors++;
	if (!h->local_warned || now - h->local_warned >= LOCAL_WARN_NS) {
		h->local_warned = now;
		log_warnx("cannot health-check %s: %s: %s (%llu probes skipped so far)",
			  check_name(c, name, sizeof(name)), what, strerror(err),
			  (unsigned long long)h->local_errors);
	}
	schedule_next(c, now);
}

static bool errno_local(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM ||
	       err == EADDRNOTAVAIL || err == EAGAIN;
}

/* "HTTP/1.1 200 ..." -> 200; -1 when the line is not a status line. */
static int status_code(const char *s, size_t n)
{
	if (n < STATUS_MIN || memcmp(s, "HTTP/", 5) || s[5] < '0' || s[5] > '9' || s[6] != '.' ||
	    s[7] < '0' || s[7] > '9' || s[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	if (n > 12 && s[12] != ' ' && s[12] != '\r')
		return -1;
	return (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
}

static void http_read(struct check *c)
{
	bool eof = false;
	int status;

	while (c->got < sizeof(c->buf) && !eof) {
		ssize_t n = recv(c->fd, c->buf + c->got, sizeof(c->buf) - c->got, 0);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			probe_done(c, false, "recv: %s", strerror(errno));
			return;
		}
		eof = n == 0;
		c->got += (size_t)n;
		/* A status line and the character after it: enough to judge. */
		if (c->got > STATUS_MIN)
			break;
	}
	if (c->got <= STATUS_MIN && !eof)
		return;
	status = status_code(c->buf, c->got);
	if (status < 0)
		probe_done(c, false, "no HTTP status line in the answer");
	else if (status != c->spec.expect)
		probe_done(c, false, "HTTP status %d, want %u", status, c->spec.expect);
	else
		probe_done(c, true, "ok");
}

static void http_write(struct check *c)
{
	while (c->sent < c->req_len) {
		ssize_t n = send(c->fd, c->req + c->sent, c->req_len - c->sent, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return; /* EPOLLOUT again */
			probe_done(c, false, "send: %s", strerror(errno));
			return;
		}
		c->sent += (size_t)n;
	}
	if (loop_mod(c->h->l, c->fd, EPOLLIN))
		probe_done(c, false, "epoll: %s", strerror(errno));
}

static void probe_connected(struct check *c)
{
	c->connected = true;
	if (c->spec.type == VEER_HEALTH_TCP) {
		probe_done(c, true, "ok");
		return;
	}
	http_write(c);
}

static void check_io(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct check *c = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	(void)l, (void)fd;
	if (!c->connected) {
		/* A connect that failed says so with EPOLLERR; writable alone is connected. */
		if ((events & (EPOLLERR | EPOLLHUP)) &&
		    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len))
			err = errno;
		if (!err && (events & (EPOLLERR | EPOLLHUP)))
			err = ECONNRESET;
		if (err) {
			probe_done(c, false, "connect: %s", strerror(err));
			return;
		}
		probe_connected(c);
		return;
	}
	if (c->sent < c->req_len)
		http_write(c);
	else
		http_read(c);
}

static void probe_start(struct check *c, uint64_t now)
{
	struct health *h = c->h;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	uint64_t late = now > c->due ? now - c->due : 0;
	int fd, err;

	h->started++;
	h->late[late_bin(late)]++;
	if (late > h->late_max_ns)
		h->late_max_ns = late;
	if (h->inflight >= h->fd_budget) {
		probe_local_error(c, "too many probes in flight", EMFILE);
		return;
	}
	c->started = now;
	c->connected = false;
	c->sent = c->got = 0;
	fd = socket(c->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0) {
		probe_local_error(c, "socket", errno);
		return;
	}
	c->fd = fd;
	h->inflight++;
	/* A RST on close: no TIME_WAIT left behind, whoever closes first. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (connect(fd, (struct sockaddr *)&c->sa, c->salen) && errno != EINPROGRESS) {
		err = errno;
		if (errno_local(err))
			probe_local_error(c, "connect", err);
		else
			probe_done(c, false, "connect: %s", strerror(err));
		return;
	}
	err = loop_add(h->l, fd, EPOLLOUT, check_io, c);
	if (err) {
		probe_local_error(c, "epoll", -err);
		return;
	}
	/* Whatever happens first: the answer, or this deadline (the same timer). */
	loop_timer_at(h->l, &c->timer, now + c->timeout_ms * 1000000ull);
}

static void check_timer(struct loop *l, struct loop_timer *t)
{
	struct check *c = t->arg;

	(void)l;
	if (c->fd >= 0)
		probe_done(c, false, "no answer within %u ms", c->timeout_ms);
	else
		probe_start(c, loop_now());
}

/* ---- checks ---- */

static void check_free(struct check *c)
{
	if (!c)
		return;
	probe_close(c);
	loop_timer_cancel(c->h->l, &c->timer);
	free(c->req);
	free(c);
}

/* "Host:" as RFC 9110 has it: the address, bracketed for IPv6, with the port unless 80. */
static int http_request(struct check *c, uint16_t port)
{
	char addr[INET6_ADDRSTRLEN], host[INET6_ADDRSTRLEN + 8];
	const char *path = c->spec.path[0] ? c->spec.path : "/";
	int n;

	veer_fmt_addr(&c->be.addr, c->be.family, addr, sizeof(addr));
	snprintf(host, sizeof(host), c->be.family == VEER_AF_INET6 ? "[%s]" : "%s", addr);
	if (port != 80)
		snprintf(host + strlen(host), sizeof(host) - strlen(host), ":%u", port);
	n = asprintf(
		&c->req,
		"GET %.*s HTTP/1.1\r\nHost: %s\r\nUser-Agent: veerd\r\nConnection: close\r\n\r\n",
		(int)strnlen(path, sizeof(c->spec.path)), path, host);
	if (n < 0) {
		c->req = NULL;
		return -ENOMEM;
	}
	c->req_len = (size_t)n;
	return 0;
}

/* A check of be (port resolved) for vip; NULL with *err set, -EINVAL for one never to run. */
static struct check *check_new(struct health *h, const struct veer_vip_spec *v,
			       const struct veer_endpoint *be, int *err)
{
	struct check *c = calloc(1, sizeof(*c));
	char name[2 * VEER_ADDR_STRLEN + 16];
	uint16_t port;

	if (!c) {
		*err = -ENOMEM;
		return NULL;
	}
	c->h = h;
	c->fd = -1;
	c->vip = vip_key(&v->key);
	c->be = *be;
	c->spec = v->health;
	c->timer.cb = check_timer;
	c->timer.arg = c;
	port = c->spec.port ? c->spec.port : ntohs(be->port);
	if (!port || !c->spec.interval_ms || !c->spec.rise || !c->spec.fall ||
	    strpbrk(c->spec.path, " \r\n")) {
		log_warnx("not health-checking %s: %s", check_name(c, name, sizeof(name)),
			  !port ? "no port to check" : "bad health settings");
		*err = -EINVAL;
		free(c);
		return NULL;
	}
	/* The parser keeps timeout within interval; a probe must end before the next is due. */
	c->timeout_ms = c->spec.timeout_ms;
	if (!c->timeout_ms || c->timeout_ms > c->spec.interval_ms)
		c->timeout_ms = c->spec.interval_ms;
	if (be->family == VEER_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->sa;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, &be->addr, 16);
		s6->sin6_port = htons(port);
		c->salen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&c->sa;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, &be->addr, 4);
		s4->sin_port = htons(port);
		c->salen = sizeof(*s4);
	}
	if (c->spec.type == VEER_HEALTH_HTTP && http_request(c, port)) {
		*err = -ENOMEM;
		free(c);
		return NULL;
	}
	return c;
}

/*
 * Room for a probe per check in flight at once (the worst case: every backend silent, timeout
 * equal to interval): the soft open-file limit is raised toward the hard one as needed.
 */
static void fd_budget(struct health *h, size_t checks)
{
	struct rlimit rl;
	rlim_t want = checks + FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		h->fd_budget = checks;
		return;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur =
			rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
		if (!setrlimit(RLIMIT_NOFILE, &rl))
			log_debug("open files: %llu allowed (was %llu) for %zu health checks",
				  (unsigned long long)rl.rlim_cur, (unsigned long long)old, checks);
		else
			rl.rlim_cur = old;
		if (rl.rlim_cur < want)
			log_warnx("%zu health checks may need %llu open files, %llu are allowed: "
				  "probes past that wait for the next interval",
				  checks, (unsigned long long)want,
				  (unsigned long long)rl.rlim_cur);
	}
	h->fd_budget = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > want
			       ? checks
			       : (rl.rlim_cur > FD_RESERVE ? rl.rlim_cur - FD_RESERVE : 1);
}

int health_new(struct health **out, struct loop *l, health_change_cb changed,
	       health_initial_cb initial, void *arg)
{
	struct health *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->l = l;
	h->changed = changed;
	h->initial = initial;
	h->arg = arg;
	h->rng = loop_now() ^ ((uint64_t)getpid() << 32);
	h->fd_budget = FD_RESERVE;
	*out = h;
	return 0;
}

void health_free(struct health *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		check_free(h->checks[i]);
	free(h->checks);
	free(h);
}

/* The first probes of a VIP's new checks, evenly over one interval from a random phase. */
static void schedule_first(struct health *h, struct check **fresh, size_t n, uint64_t now)
{
	uint64_t interval, phase;

	if (!n)
		return;
	interval = fresh[0]->spec.interval_ms * 1000000ull;
	phase = rng_next(h) % interval;
	for (size_t j = 0; j < n; j++) {
		struct check *c = fresh[j];
		char name[2 * VEER_ADDR_STRLEN + 16];

		c->due = now + (phase + j * interval / n) % interval;
		if (loop_timer_at(h->l, &c->timer, c->due))
			log_warnx("cannot schedule the health checks of %s: out of memory",
				  check_name(c, name, sizeof(name)));
	}
}

/* Whether c's backend stays in cfg under its VIP, with no health block there any more. */
static bool unchecked_in(const struct check *c, const struct veer_config *cfg)
{
	for (size_t i = 0; i < cfg->nvips; i++) {
		const struct veer_vip_spec *v = &cfg->vips[i];
		struct veer_vip_key key = vip_key(&v->key);

		if (v->health.type != VEER_HEALTH_NONE)
			continue;
		for (size_t j = 0; j < v->nbackends; j++) {
			struct veer_endpoint be = resolve(&key, &v->backends[j].ep);

			if (!key_cmp(&key, &be, &c->vip, &c->be))
				return true;
		}
	}
	return false;
}

int health_sync(struct health *h, const struct veer_config *cfg)
{
	struct check **next = NULL, **fresh = NULL;
	size_t total = 0, n = 0, nfresh = 0, kept = 0, stopped, w;
	uint64_t now = loop_now();
	int err = 0;

	for (size_t i = 0; i < cfg->nvips; i++)
		if (cfg->vips[i].health.type != VEER_HEALTH_NONE)
			total += cfg->vips[i].nbackends;
	/* fresh ends in a NULL. */
	next = calloc(total + 1, sizeof(*next));
	fresh = calloc(total + 1, sizeof(*fresh));
	if (!next || !fresh) {
		err = -ENOMEM;
		goto cleanup;
	}

	for (size_t i = 0; i < cfg->nvips; i++) {
		const struct veer_vip_spec *v = &cfg->vips[i];
		struct veer_vip_key key = vip_key(&v->key);

		if (v->health.type == VEER_HEALTH_NONE)
			continue;
		for (size_t j = 0; j < v->nbackends; j++) {
			struct veer_endpoint be = resolve(&key, &v->backends[j].ep);
			struct check *c = find(h, &key, &be);

			if (c && !c->kept && spec_same(&c->spec, &v->health)) {
				c->kept = true;
				c->spec.on_down_reset = v->health.on_down_reset;
				next[n++] = c;
				kept++;
				continue;
			}
			c = check_new(h, v, &be, &err);
			if (!c) {
				if (err == -EINVAL) {
					err = 0;
					continue;
				}
				goto cleanup;
			}
			next[n++] = c;
			fresh[nfresh++] = c;
		}
	}
	qsort(next, n, sizeof(*next), check_cmp);
	/* A backend listed twice in a VIP (validation refuses it): one check, the running one. */
	w = n ? 1 : 0;
	for (size_t i = 1; i < n; i++) {
		struct check *dup;

		if (check_cmp(&next[i], &next[w - 1])) {
			next[w++] = next[i];
			continue;
		}
		dup = next[i]->kept ? next[w - 1] : next[i];
		next[w - 1] = next[i]->kept ? next[i] : next[w - 1];
		for (size_t k = 0; k < nfresh; k++)
			if (fresh[k] == dup)
				fresh[k] = NULL;
		check_free(dup);
	}
	n = w;

	/*
	 * Committed: stop what the config no longer has, then start the new ones. A backend
	 * left down by checks its VIP no longer has would stay out for good: it comes back.
	 */
	stopped = h->n - kept;
	for (size_t i = 0; i < h->n; i++) {
		struct check *c = h->checks[i];
		char name[2 * VEER_ADDR_STRLEN + 16];

		if (c->kept)
			continue;
		if (!c->up && unchecked_in(c, cfg)) {
			log_info("%s is no longer health-checked: back in service",
				 check_name(c, name, sizeof(name)));
			h->changed(&c->vip, &c->be, true, false, h->arg);
		}
		check_free(c);
	}
	free(h->checks);
	h->checks = next;
	h->n = n;
	next = NULL;
	for (size_t i = 0; i < n; i++)
		h->checks[i]->kept = false;
	fd_budget(h, n);

	/* fresh is in config order: a VIP's new checks are consecutive. */
	for (size_t i = 0, m = 0; i <= nfresh; i++)
		if (i == nfresh || fresh[i])
			fresh[m++] = i == nfresh ? NULL : fresh[i];
	for (size_t i = 0, j; fresh[i]; i = j) {
		const struct veer_vip_key *vip = &fresh[i]->vip;

		/* A backend that starts down needs rise passes; one up, fall failures. */
		for (j = i; fresh[j] && !memcmp(&fresh[j]->vip, vip, sizeof(*vip)); j++)
			fresh[j]->up = h->initial(&fresh[j]->vip, &fresh[j]->be, h->arg);
		schedule_first(h, fresh + i, j - i, now);
	}
	if (nfresh || stopped)
		log_debug("health checks: %zu running, %zu started, %zu stopped", n, nfresh,
			  stopped);
	free(fresh);
	return 0;

cleanup:
	for (size_t k = 0; k < nfresh; k++)
		check_free(fresh[k]);
	for (size_t i = 0; i < h->n; i++)
		h->checks[i]->kept = false;
	free(next);
	free(fresh);
	return err;
}

void health_foreach(struct health *h, void (*fn)(const struct health_status *s, void *arg),
		    void *arg)
{
	for (size_t i = 0; i < h->n; i++) {
		const struct check *c = h->checks[i];
		struct health_status s = {
			.vip = c->vip,
			.be = c->be,
			.up = c->up,
			.checks = c->checks,
			.failures = c->failures,
			.last_latency_s = c->last_latency_s,
		};

		fn(&s, arg);
	}
}

int health_state(struct health *h, const struct veer_vip_key *vip, const struct veer_endpoint *be)
{
	struct veer_vip_key key = vip_key(vip);
	struct veer_endpoint ep = resolve(&key, be);
	const struct check *c = find(h, &key, &ep);

	return c ? c->up : -ENOENT;
}
