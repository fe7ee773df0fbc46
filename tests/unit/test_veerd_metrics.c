// SPDX-License-Identifier: GPL-2.0
/*
 * The statistics snapshot against real maps, and veerd's exporter (user/veerd/metrics.c) as it
 * runs in veerd: libmicrohttpd on veerd's event loop, scraped over a socket of a network
 * namespace of the test's own, its text checked by promtool and its counters checked never to
 * go backwards when the kernel's restart at zero.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "ctl_pins.h"
#include "internal.h"
#include "cache_internal.h"
#include "veerd.h"

#define VIP_A  "198.18.100.30:80/tcp"
#define VIP_B  "[2001:2::30]:53/udp"
#define BE_X   "198.18.11.7"
#define BE_Y   "198.18.11.8"
#define BE_Y2  "198.18.11.9"
#define BE_V6  "[2001:2:0:11::7]:53"
#define PORT   9464
#define LBL_A  "vip=\"" VIP_A "\""
#define LBL_X  LBL_A ",backend=\"198.18.11.7:80\""
#define LBL_Y  LBL_A ",backend=\"198.18.11.8:80\""
#define LBL_Y2 LBL_A ",backend=\"198.18.11.9:80\""

/* ---- sources.c's side: one source that has not listed, while the test says so ---- */

static const char *waiting_source;

const char *sources_waiting(void)
{
	return waiting_source;
}

/* ---- health.c's side, as the test wants it (health.c is not linked here) ---- */

struct health {
	struct health_status st[4];
	size_t n;
};

void health_foreach(struct health *h, void (*fn)(const struct health_status *s, void *arg),
		    void *arg)
{
	for (size_t i = 0; i < h->n; i++)
		fn(&h->st[i], arg);
}

int health_state(struct health *h, const struct veer_vip_key *vip, const struct veer_endpoint *be)
{
	for (size_t i = 0; i < h->n; i++)
		if (!memcmp(&h->st[i].vip, vip, sizeof(*vip)) && h->st[i].be.family == be->family &&
		    h->st[i].be.port == be->port &&
		    !memcmp(&h->st[i].be.addr, &be->addr, sizeof(be->addr)))
			return h->st[i].up;
	return -ENOENT;
}

/* ---- the pinned state: a writer only for each change, as the exporter reads under the lock ----
 */

static struct veer *writer(void)
{
	struct veer *v = NULL;

	ASSERT_OK(veer_open(&v, true), "veer_open for writing");
	return v;
}

static struct veer_vip_key vip_key(const char *s)
{
	struct veer_vip_key k = {};

	ASSERT_OK(veer_parse_vip(s, &k), s);
	return k;
}

static struct veer_endpoint endpoint(const char *s)
{
	struct veer_endpoint ep = {};

	ASSERT_OK(veer_parse_endpoint(s, &ep, false), s);
	return ep;
}

static bool vip_add(const char *vip, const char *const *bes)
{
	struct veer_vip_opts o = {.mode = VEER_MODE_NAT, .ring_size = 251};
	struct veer_vip_key k = vip_key(vip);
	struct veer *v = writer();
	bool ok = v && ASSERT_OK(veer_vip_add(v, &k, &o), vip);

	for (; ok && *bes; bes++) {
		struct veer_endpoint ep = endpoint(*bes);

		ok = ASSERT_OK(veer_backend_add(v, &k, &ep, 100, NULL), *bes);
	}
	veer_close(v);
	return ok;
}

static bool vip_del(const char *vip)
{
	struct veer_vip_key k = vip_key(vip);
	struct veer *v = writer();
	bool ok = v && ASSERT_OK(veer_vip_del(v, &k), vip);

	veer_close(v);
	return ok;
}

/* Where the VIP or backend counts (a backend by address, of VIP_A or VIP_B). */
static bool slot_of(struct veer *v, const char *vip, const char *be, __u32 *id, __u32 *gen)
{
	struct veer_vip_key k = vip_key(vip);
	struct veer_backend_info *list;
	struct veer_endpoint ep;
	struct veer_vip info;
	size_t n;
	bool found = false;

	if (!be) {
		if (!ASSERT_OK(veer_vip_get(v, &k, &info), vip))
			return false;
		*id = info.id;
		return true;
	}
	ep = endpoint(be);
	if (!ASSERT_OK(veer_backend_list(v, &k, &list, &n), "backend list"))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!memcmp(&list[i].be.addr, &ep.addr, sizeof(ep.addr))) {
			*id = list[i].id;
			if (gen)
				*gen = list[i].be.gen;
			found = true;
		}
	}
	free(list);
	return ASSERT_TRUE(found, be);
}

/*
 * Sets a VIP's (be NULL) or backend's packets and bytes as the data plane would count them on
 * two CPUs: packets split 2/3 on the first, 1/3 on the last.
 */
static bool set_counters(const char *vip, const char *be, __u64 packets)
{
	struct veer *v = writer();
	struct veer_counters *vals;
	struct bpf_map *map;
	int ncpus = libbpf_num_possible_cpus();
	__u32 id;
	bool ok = false;

	vals = calloc(ncpus, sizeof(*vals));
	if (!v || !vals || !slot_of(v, vip, be, &id, NULL))
		goto cleanup;
	map = be ? v->skel->maps.veer_be_stats : v->skel->maps.veer_vip_stats;
	vals[0].packets = packets - packets / 3;
	vals[ncpus - 1].packets += packets / 3;
	vals[0].bytes = 100 * packets;
	vals[0].new_flows = packets / 10;
	ok = ASSERT_OK(bpf_map__update_elem(map, &id, sizeof(id), vals, ncpus * sizeof(*vals), 0),
		       "write counters");
cleanup:
	free(vals);
	veer_close(v);
	return ok;
}

static bool set_reason(__u32 reason, __u64 n)
{
	int ncpus = libbpf_num_possible_cpus();
	__u64 *vals = calloc(ncpus, sizeof(*vals));
	struct veer *v = writer();
	bool ok = false;

	if (v && vals) {
		vals[ncpus - 1] = n;
		ok = ASSERT_OK(bpf_map__update_elem(v->skel->maps.veer_reasons, &reason,
						    sizeof(reason), vals, ncpus * sizeof(*vals), 0),
			       "write a reason");
	}
	free(vals);
	veer_close(v);
	return ok;
}

static __u64 coarse_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* A connection client:cport -> VIP_A on backend be, in the handshake table or the flows'. */
static bool flow_add(struct veer *v, const char *be, __u16 cport, bool syn, bool stale_gen,
		     __u64 last_seen)
{
	struct veer_vip_key a = vip_key(VIP_A);
	struct veer_flow4_key k = {.saddr = htonl(0xc6120102), /* 198.18.1.2 */
				   .daddr = a.addr.v4,
				   .sport = htons(cport),
				   .dport = a.port,
				   .proto = IPPROTO_TCP};
	struct veer_flow f = {.last_seen = last_seen};
	struct bpf_map *map = syn ? v->skel->maps.veer_syns4 : v->skel->maps.veer_flows4;

	if (!slot_of(v, VIP_A, be, &f.backend_id, &f.backend_gen))
		return false;
	f.backend_gen += stale_gen;
	return ASSERT_OK(bpf_map__update_elem(map, &k, sizeof(k), &f, sizeof(f), BPF_ANY),
			 "add a flow");
}

VEER_TEST(stats_snapshot)
{
	static const char *const bes_a[] = {BE_Y ":80", BE_X, NULL}, *const bes_b[] = {BE_V6, NULL};
	struct veer_stats_snapshot s;
	struct veer_counters c;
	struct pins pins;
	struct veer *v;
	__u64 now;

	if (!pins_up(&pins, false))
		return;
	if (!ASSERT_OK(veer_set_flows(SMALL_FLOWS), "flows") || !vip_add(VIP_B, bes_b) ||
	    !vip_add(VIP_A, bes_a) || !set_counters(VIP_A, NULL, 30) ||
	    !set_counters(VIP_A, BE_X, 21) || !set_counters(VIP_A, BE_Y, 9) ||
	    !set_counters(VIP_B, NULL, 7) || !set_reason(VEER_DROP_NO_BACKEND, 4) ||
	    !set_reason(VEER_PASS_NOT_VIP, 11))
		goto out;

	v = writer();
	now = coarse_now();
	/* Two live on X, one live handshake on Y, one of Y's slot's former owner, one expired. */
	if (!v || !flow_add(v, BE_X, 1000, false, false, now) ||
	    !flow_add(v, BE_X, 1001, false, false, now) ||
	    !flow_add(v, BE_Y, 1002, true, false, now) ||
	    !flow_add(v, BE_Y, 1003, false, true, now) ||
	    !flow_add(v, BE_X, 1004, false, false, now - 3600ULL * 1000000000ULL)) {
		veer_close(v);
		goto out;
	}
	veer_close(v);

	if (!ASSERT_OK(veer_open(&v, false), "veer_open to read"))
		goto out;
	if (!ASSERT_OK(veer_stats_snapshot(v, true, &s), "snapshot")) {
		veer_close(v);
		goto out;
	}
	/* IPv4 first, then IPv6, as veer_vip_list; backends by address. */
	if (ASSERT_EQ(s.nvips, 2, "VIPs") && ASSERT_EQ(s.nbackends, 3, "backends")) {
		struct veer_vip_key a = vip_key(VIP_A), b = vip_key(VIP_B);

		ASSERT_TRUE(!memcmp(&s.vips[0].key, &a, sizeof(a)), "VIP_A first");
		ASSERT_TRUE(!memcmp(&s.vips[1].key, &b, sizeof(b)), "VIP_B second");
		ASSERT_EQ(s.vips[0].nbackends, 2, "VIP_A's backends");
		ASSERT_EQ(s.vips[0].first_backend, 0, "VIP_A's first backend");
		ASSERT_EQ(s.vips[1].first_backend, 2, "VIP_B's first backend");
		ASSERT_EQ(s.backends[0].be.addr.v4, endpoint(BE_X).addr.v4, "X before Y");
		ASSERT_EQ(s.vips[0].c.packets, 30, "VIP_A packets, summed over CPUs");
		ASSERT_EQ(s.vips[0].c.bytes, 3000, "VIP_A bytes");
		ASSERT_EQ(s.vips[0].c.new_flows, 3, "VIP_A new flows");
		ASSERT_EQ(s.vips[1].c.packets, 7, "VIP_B packets");
		ASSERT_EQ(s.backends[0].c.packets, 21, "X packets");
		ASSERT_EQ(s.backends[1].c.packets, 9, "Y packets");
		ASSERT_EQ(s.backends[2].c.packets, 0, "VIP_B's backend packets");
		/* The same as the slot-by-slot readers say. */
		for (size_t i = 0; i < s.nbackends; i++) {
			ASSERT_OK(veer_backend_counters(v, s.backends[i].id, &c), "counters");
			ASSERT_TRUE(!memcmp(&c, &s.backends[i].c, sizeof(c)), "backend counters");
			ASSERT_EQ(s.backends[i].gen, s.backends[i].be.gen, "gen");
		}
		ASSERT_EQ(s.reasons[VEER_DROP_NO_BACKEND], 4, "no_backend");
		ASSERT_EQ(s.reasons[VEER_PASS_NOT_VIP], 11, "not_vip");
		ASSERT_EQ(s.vips[0].active_flows, 3, "VIP_A's live connections");
		ASSERT_EQ(s.backends[0].active_flows, 2, "X's");
		ASSERT_EQ(s.backends[1].active_flows, 1, "Y's handshake");
		ASSERT_EQ(s.vips[1].active_flows, 0, "VIP_B's");
	}
	veer_stats_free(&s);
	ASSERT_OK(veer_stats_snapshot(v, false, &s), "snapshot without flows");
	ASSERT_EQ(s.nvips ? s.vips[0].active_flows : 99, 0, "no count without count_flows");
	veer_stats_free(&s);
	veer_close(v);
out:
	pins_down(&pins);
}

/* ---- an HTTP client on the loop the exporter runs on ---- */

struct http {
	struct loop *l;
	struct loop_timer timeout;
	char *buf;
	size_t len, cap;
	bool done, timed_out;
	int status;
	char *headers, *body; /* into buf */
};

static void http_read(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct http *h = arg;
	ssize_t n;

	(void)events;
	for (;;) {
		if (h->len + 4096 > h->cap) {
			h->cap = 2 * h->cap + 8192;
			h->buf = realloc(h->buf, h->cap);
		}
		n = read(fd, h->buf + h->len, h->cap - h->len - 1);
		if (n > 0) {
			h->len += n;
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			return;
		h->done = true;
		loop_stop(l);
		return;
	}
}

static void http_timeout(struct loop *l, struct loop_timer *t)
{
	((struct http *)t->arg)->timed_out = true;
	loop_stop(l);
}

/* One HTTP/1.0 request to the exporter, the loop run until the answer is whole. */
static bool http_do(struct loop *l, bool v6, const char *method, const char *path, struct http *h)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(PORT)};
	char req[256];
	int fd, n;
	char *sep;

	memset(h, 0, sizeof(*h));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin6.sin6_addr = in6addr_loopback;
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!ASSERT_TRUE(fd >= 0, "socket"))
		return false;
	/* Loopback: the kernel completes the handshake before the exporter accepts. */
	if (!ASSERT_OK(connect(fd, v6 ? (struct sockaddr *)&sin6 : (struct sockaddr *)&sin,
			       v6 ? sizeof(sin6) : sizeof(sin))
			       ? -errno
			       : 0,
		       "connect to the exporter")) {
		close(fd);
		return false;
	}
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: test\r\n\r\n", method, path);
	if (!ASSERT_EQ(write(fd, req, n), n, "request written")) {
		close(fd);
		return false;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	h->timeout.cb = http_timeout;
	h->timeout.arg = h;
	loop_add(l, fd, EPOLLIN, http_read, h);
	loop_timer_at(l, &h->timeout, loop_now() + 5000000000ULL);
	loop_run(l);
	loop_timer_cancel(l, &h->timeout);
	loop_del(l, fd);
	close(fd);
	if (!ASSERT_FALSE(h->timed_out, "an answer within 5 s") || !h->buf)
		return false;
	h->buf[h->len] = '\0';
	sep = strstr(h->buf, "\r\n\r\n");
	if (!ASSERT_TRUE(sep && sscanf(h->buf, "HTTP/1.%*d %d", &h->status) == 1, "an HTTP answer"))
		return false;
	*sep = '\0';
	h->headers = h->buf;
	h->body = sep + 4;
	return true;
}

static void http_free(struct http *h)
{
	free(h->buf);
	memset(h, 0, sizeof(*h));
}

/* The value of the sample "name{labels}" in an exposition, or -1 when it is missing. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

/* promtool check metrics on text: its exit status, with what it said when it failed. */
static int promtool(const char *text)
{
	char path[] = "/tmp/veer-unit-metrics-XXXXXX", cmd[128], out[4096];
	int fd = mkstemp(path), rc;
	size_t n;
	FILE *p;

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check metrics <%s 2>&1", path);
	p = popen(cmd, "r");
	n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
	out[n] = '\0';
	rc = p ? pclose(p) : -1;
	unlink(path);
	if (rc)
		fprintf(stderr, "    promtool (status %d): %s\n", rc, out);
	return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static bool scrape(struct loop *l, struct http *h)
{
	return http_do(l, false, "GET", "/metrics", h) && ASSERT_EQ(h->status, 200, "GET /metrics");
}

static int fds_open(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* A network namespace of the test's own with lo up: the exporter listens there only. */
static int netns_enter(void)
{
	int prev = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), rc;

	if (prev < 0)
		return -1;
	if (unshare(CLONE_NEWNET)) {
		close(prev);
		return -1;
	}
	rc = system("ip link set lo up");
	if (rc) {
		setns(prev, CLONE_NEWNET);
		close(prev);
		return -1;
	}
	return prev;
}

static void netns_leave(int prev)
{
	if (prev < 0)
		return;
	setns(prev, CLONE_NEWNET);
	close(prev);
}

VEER_TEST(veerd_metrics)
{
	static const char *const bes_a[] = {BE_X, BE_Y, BE_Y2, NULL};
	struct veer_metrics_spec spec = {.enabled = true, .listen = "127.0.0.1:9464"};
	struct health health = {};
	struct veerd d = {.health = &health,
			  .reconcile_runs = 3,
			  .reconcile_errors = 1,
			  .reconcile_last_success = 1700000000.5,
			  .reloads_accepted = 2,
			  .reloads_refused = 1};
	struct metrics *m = NULL, *m6 = NULL;
	struct veer_cache *cache;
	struct http h = {};
	struct pins pins;
	int prev = -1;

	if (!pins_up(&pins, false))
		return;
	if (!ASSERT_OK(veer_set_flows(SMALL_FLOWS), "flows") || !vip_add(VIP_A, bes_a) ||
	    !set_counters(VIP_A, NULL, 15) || !set_counters(VIP_A, BE_X, 100) ||
	    !set_reason(VEER_DROP_BAD_L3, 5))
		goto out;
	/* Y fails its checks; Y2 has none and is marked down in its slot. */
	health.st[0] = (struct health_status){.vip = vip_key(VIP_A),
					      .be = endpoint(BE_Y ":80"),
					      .up = false,
					      .checks = 12,
					      .failures = 4,
					      .last_latency_s = 0.0025};
	health.n = 1;
	{
		struct veer *v = writer();
		__u32 id;

		if (!v || !slot_of(v, VIP_A, BE_Y2, &id, NULL)) {
			veer_close(v);
			goto out;
		}
		v->backends[id].flags |= VEER_BACKEND_DOWN;
		ASSERT_OK(veer_backend_put(v, id, &v->backends[id]), "mark Y2 down");
		veer_close(v);
	}

	prev = netns_enter();
	if (!ASSERT_TRUE(prev >= 0, "a network namespace with lo up"))
		goto out;
	if (!ASSERT_OK(loop_new(&d.loop), "loop_new") ||
	    !ASSERT_OK(metrics_new(&m, &d, &spec), "metrics_new on 127.0.0.1:9464"))
		goto out;

	if (!scrape(d.loop, &h))
		goto out;
	ASSERT_TRUE(strstr(h.headers, "text/plain; version=0.0.4") != NULL, "Content-Type");
	ASSERT_EQ(promtool(h.body), 0, "promtool check metrics");
	ASSERT_TRUE(strstr(h.body, "# TYPE veer_vip_packets_total counter\n") != NULL, "TYPE");
	ASSERT_TRUE(strstr(h.body, "# HELP veer_vip_packets_total ") != NULL, "HELP");
	ASSERT_EQ(sample(h.body, "veer_vip_packets_total{" LBL_A "}"), 15, "VIP packets");
	ASSERT_EQ(sample(h.body, "veer_vip_bytes_total{" LBL_A "}"), 1500, "VIP bytes");
	ASSERT_EQ(sample(h.body, "veer_vip_backends{" LBL_A "}"), 3, "VIP backends");
	ASSERT_EQ(sample(h.body, "veer_backend_packets_total{" LBL_X "}"), 100, "X packets");
	ASSERT_EQ(sample(h.body, "veer_backend_weight{" LBL_X "}"), 100, "X weight");
	ASSERT_EQ(sample(h.body, "veer_backend_up{" LBL_X "}"), 1, "X up: no checks, not down");
	ASSERT_EQ(sample(h.body, "veer_backend_up{" LBL_Y "}"), 0, "Y down by its checks");
	ASSERT_EQ(sample(h.body, "veer_backend_up{" LBL_Y2 "}"), 0, "Y2 down by its flag");
	ASSERT_EQ(sample(h.body, "veer_vip_active_flows{" LBL_A "}"), 0, "no connections");
	ASSERT_EQ(sample(h.body, "veer_drops_total{reason=\"bad_l3\"}"), 5, "drops by reason");
	ASSERT_EQ(sample(h.body, "veer_passes_total{reason=\"not_vip\"}"), 0, "passes by reason");
	ASSERT_EQ(sample(h.body, "veer_drops_total{reason=\"not_vip\"}"), -1, "a pass is no drop");
	ASSERT_EQ(sample(h.body, "veer_health_checks_total{" LBL_Y "}"), 12, "checks");
	ASSERT_EQ(sample(h.body, "veer_health_check_failures_total{" LBL_Y "}"), 4, "failures");
	ASSERT_TRUE(strstr(h.body, "veer_health_check_duration_seconds{" LBL_Y "} 0.0025\n") !=
			    NULL,
		    "last check's latency, shortest form");
	ASSERT_TRUE(strstr(h.body, "\nveer_scrape_duration_seconds ") != NULL, "no empty braces");
	ASSERT_EQ(sample(h.body, "veer_reconcile_runs_total"), 3, "reconciles");
	ASSERT_EQ(sample(h.body, "veer_reconcile_errors_total"), 1, "reconcile errors");
	ASSERT_TRUE(
		strstr(h.body, "\nveer_reconcile_last_success_timestamp_seconds 1700000000.5\n"),
		"last success");
	ASSERT_EQ(sample(h.body, "veer_config_reloads_total{result=\"accepted\"}"), 2, "accepted");
	ASSERT_EQ(sample(h.body, "veer_config_reloads_total{result=\"refused\"}"), 1, "refused");
	ASSERT_EQ(sample(h.body, "veer_state_readable"), 1, "state read");
	ASSERT_EQ(sample(h.body, "veer_cache_hits_total"), -1, "no cache maps, no cache lines");
	http_free(&h);

	/* The VIP deleted and made again: the kernel's counters restart, the series do not. */
	if (!vip_del(VIP_A) || !vip_add(VIP_A, bes_a) || !set_counters(VIP_A, BE_X, 0))
		goto out;
	if (!scrape(d.loop, &h))
		goto out;
	ASSERT_EQ(sample(h.body, "veer_vip_packets_total{" LBL_A "}"), 15, "VIP after re-add");
	ASSERT_EQ(sample(h.body, "veer_vip_bytes_total{" LBL_A "}"), 1500, "bytes after re-add");
	ASSERT_EQ(sample(h.body, "veer_backend_packets_total{" LBL_X "}"), 100, "X after re-add");
	ASSERT_EQ(sample(h.body, "veer_backend_up{" LBL_Y2 "}"), 1, "Y2 is a new backend, up");
	http_free(&h);
	if (!set_counters(VIP_A, NULL, 4) || !set_counters(VIP_A, BE_X, 7) || !scrape(d.loop, &h))
		goto out;
	ASSERT_EQ(sample(h.body, "veer_vip_packets_total{" LBL_A "}"), 19, "VIP goes on from 15");
	ASSERT_EQ(sample(h.body, "veer_backend_packets_total{" LBL_X "}"), 107, "X from 100");
	http_free(&h);

	/*
	 * X's slot given to another backend and X added again elsewhere: its raw count is
	 * larger than before, yet a new life (another slot or gen), so the last value is kept.
	 */
	{
		struct veer_vip_key a = vip_key(VIP_A);
		struct veer_endpoint x = endpoint(BE_X);
		struct veer *v = writer();
		__u32 before, after, gen_before, gen_after;

		if (!v || !slot_of(v, VIP_A, BE_X, &before, &gen_before) ||
		    !ASSERT_OK(veer_vip_del(v, &a), "VIP del") ||
		    !ASSERT_OK(veer_vip_add(v, &a, &(struct veer_vip_opts){.ring_size = 251}),
			       "VIP add") ||
		    !ASSERT_OK(veer_backend_add(v, &a, &x, 100, NULL), "X add") ||
		    !slot_of(v, VIP_A, BE_X, &after, &gen_after)) {
			veer_close(v);
			goto out;
		}
		veer_close(v);
		ASSERT_TRUE(before != after || gen_before != gen_after, "X in a new slot or gen");
	}
	if (!set_counters(VIP_A, BE_X, 500) || !scrape(d.loop, &h))
		goto out;
	ASSERT_EQ(sample(h.body, "veer_backend_packets_total{" LBL_X "}"), 607, "X: 107 + 500");
	ASSERT_EQ(sample(h.body, "veer_backend_packets_total{" LBL_Y "}"), -1, "Y is gone");
	ASSERT_EQ(promtool(h.body), 0, "promtool check metrics after the changes");
	http_free(&h);

	/* The cache's counters once its maps are pinned. */
	if (ASSERT_OK(veer_cache_open(&cache, true), "create the cache's maps")) {
		int ncpus = libbpf_num_possible_cpus();
		__u64 *vals = calloc(ncpus, sizeof(*vals));
		__u32 stat = VEER_CACHE_HIT;

		vals[0] = 42;
		ASSERT_OK(bpf_map__update_elem(cache->skel->maps.veer_cache_stats, &stat,
					       sizeof(stat), vals, ncpus * sizeof(*vals), 0),
			  "hits");
		free(vals);
		veer_cache_close(cache);
		if (scrape(d.loop, &h)) {
			ASSERT_EQ(sample(h.body, "veer_cache_hits_total"), 42, "cache hits");
			ASSERT_EQ(sample(h.body, "veer_cache_misses_total"), 0, "cache misses");
			ASSERT_EQ(sample(h.body, "veer_cache_events_total{event=\"expired\"}"), 0,
				  "other cache events");
			ASSERT_EQ(promtool(h.body), 0, "promtool check metrics with the cache");
		}
		http_free(&h);
	}

	/* Scrapes leave nothing open behind them: no map, no lock, no connection. */
	{
		int before = fds_open();

		for (int i = 0; i < 20 && scrape(d.loop, &h); i++)
			http_free(&h);
		ASSERT_EQ(fds_open(), before, "open fds after 20 scrapes");
	}

	/* Liveness, and what is not served. */
	if (http_do(d.loop, false, "GET", "/healthz", &h)) {
		ASSERT_EQ(h.status, 200, "GET /healthz");
		ASSERT_STREQ(h.body, "ok\n", "/healthz body");
	}
	http_free(&h);
	/* Readiness: the config applied and every source listed once. */
	d.config_path = "/etc/veer/veer.yaml";
	if (http_do(d.loop, false, "GET", "/readyz", &h)) {
		ASSERT_EQ(h.status, 503, "/readyz before the config is applied");
		ASSERT_STREQ(h.body, "/etc/veer/veer.yaml is not applied\n", "/readyz says why");
	}
	http_free(&h);
	d.config_applied = true;
	waiting_source = "etcd";
	if (http_do(d.loop, false, "GET", "/readyz", &h)) {
		ASSERT_EQ(h.status, 503, "/readyz while a source has not listed");
		ASSERT_STREQ(h.body, "the etcd source has not listed yet\n", "/readyz names it");
	}
	http_free(&h);
	waiting_source = NULL;
	if (http_do(d.loop, false, "GET", "/readyz", &h))
		ASSERT_EQ(h.status, 200, "/readyz once applied and listed");
	http_free(&h);
	if (http_do(d.loop, false, "GET", "/", &h))
		ASSERT_EQ(h.status, 404, "GET /");
	http_free(&h);
	if (http_do(d.loop, false, "POST", "/metrics", &h))
		ASSERT_EQ(h.status, 405, "POST /metrics");
	http_free(&h);

	/* Nothing pinned: the daemon's own series still, and the state marked unreadable. */
	if (!vip_del(VIP_A))
		goto out;
	pins_empty(&pins);
	ASSERT_STREQ(veer_pin_dir(), pins.dir, "still the test's pin directory");
	if (scrape(d.loop, &h)) {
		ASSERT_EQ(sample(h.body, "veer_state_readable"), 0, "no state");
		ASSERT_EQ(sample(h.body, "veer_reconcile_runs_total"), 3, "daemon series");
		ASSERT_EQ(promtool(h.body), 0, "promtool check metrics without state");
	}
	http_free(&h);

	/* An IPv6 listener, and a second exporter on a port already taken fails cleanly. */
	strcpy(spec.listen, "[::1]:9464");
	if (access("/proc/sys/net/ipv6", F_OK)) {
		veer_test_skip_missing("IPv6", "/proc/sys/net/ipv6: %s", strerror(errno));
	} else if (ASSERT_OK(metrics_new(&m6, &d, &spec), "metrics_new on [::1]:9464")) {
		if (http_do(d.loop, true, "GET", "/healthz", &h))
			ASSERT_EQ(h.status, 200, "GET /healthz over IPv6");
		http_free(&h);
	}
	strcpy(spec.listen, "127.0.0.1:9464");
	{
		struct metrics *again = NULL;

		ASSERT_ERR(metrics_new(&again, &d, &spec), "a second exporter on the same port");
		ASSERT_TRUE(again == NULL, "nothing made");
	}
	strcpy(spec.listen, "localhost:9464");
	{
		struct metrics *bad = NULL;

		ASSERT_EQ(metrics_new(&bad, &d, &spec), -EINVAL, "a name, not an address");
	}
out:
	http_free(&h);
	metrics_free(m6);
	metrics_free(m);
	loop_free(d.loop);
	netns_leave(prev);
	pins_down(&pins);
}
