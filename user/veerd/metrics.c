// SPDX-License-Identifier: GPL-2.0
/*
 * /metrics: Prometheus text exposition (format 0.0.4) served by libmicrohttpd on veerd's own
 * event loop. MHD runs with MHD_USE_EPOLL and no thread of its own: its epoll fd is one fd of
 * the loop, and a loop timer follows MHD_get_timeout(). Each scrape opens the pinned state for
 * reading, takes one statistics snapshot and closes it again, so that the pin lock is never
 * held between scrapes, and a scrape never waits on anything but the kernel.
 *
 * The kernel's counters restart at zero when a backend's slot is given to another backend,
 * or a backend or VIP is deleted and added again; a Prometheus counter must never go down. Every
 * counter series (a metric and its label set) keeps the raw value it showed last and an offset:
 * when the raw value goes down, or what it counts changed (the backend's slot or gen, the
 * VIP's id), the last value joins the offset and the series goes on from there.
 */
#include <errno.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "veerd.h"

/* A series not seen for this long is forgotten: its next value starts from zero again. */
#define SERIES_KEEP_NS (3600ULL * 1000000000ULL)
#define CONTENT_TYPE   "text/plain; version=0.0.4; charset=utf-8"
#define LABELS_LEN     (4 * VEER_ADDR_STRLEN + 64)
#define SERIES_KEY_LEN (128 + LABELS_LEN) /* a metric's name and its labels */

struct series {
	uint64_t ident;	 /* what the raw value counts: a backend's slot and gen, a VIP's id */
	uint64_t last;	 /* the raw value last seen */
	uint64_t offset; /* the lives before this one */
	uint64_t seen;	 /* loop_now() of the last scrape that showed it */
	char key[];	 /* "name{labels}" */
};

struct metrics {
	struct veerd *d;
	struct MHD_Daemon *mhd;
	int epfd; /* MHD's, in d's loop */
	struct loop_timer timer;
	void *series; /* tsearch tree of struct series, by key */
	uint64_t now; /* of the scrape being rendered */
};

/* ---- counter series that never go backwards ---- */

static int series_cmp(const void *a, const void *b)
{
	return strcmp(((const struct series *)a)->key, ((const struct series *)b)->key);
}

/*
 * The value to show for a counter whose kernel value is raw. Should memory run out, the raw
 * value is shown: at worst a reset, which Prometheus copes with.
 */
static uint64_t series_value(struct metrics *m, const char *key, uint64_t ident, uint64_t raw)
{
	size_t klen = strlen(key) + 1;
	union {
		struct series s;
		char buf[sizeof(struct series) + SERIES_KEY_LEN];
	} probe;
	struct series *s, **found = NULL;

	if (klen <= SERIES_KEY_LEN) {
		memcpy(probe.s.key, key, klen);
		found = tfind(&probe.s, &m->series, series_cmp);
	}
	if (found) {
		s = *found;
		if (ident != s->ident || raw < s->last)
			s->offset += s->last;
	} else {
		s = malloc(sizeof(*s) + klen);
		if (!s)
			return raw;
		memcpy(s->key, key, klen);
		found = tsearch(s, &m->series, series_cmp);
		if (!found || *found != s) {
			free(s);
			return raw;
		}
		s->offset = 0;
	}
	s->ident = ident;
	s->last = raw;
	s->seen = m->now;
	return s->offset + s->last;
}

/* twalk has no argument: the sweep's state, for the one thread that renders. */
static struct {
	struct series **stale;
	size_t n, cap;
	uint64_t before;
} sweep;

static void series_stale(const void *node, VISIT which, int depth)
{
	struct series *s = *(struct series *const *)node;

	(void)depth;
	if ((which != postorder && which != leaf) || s->seen >= sweep.before)
		return;
	if (sweep.n == sweep.cap) {
		size_t cap = sweep.cap ? 2 * sweep.cap : 64;
		struct series **a = realloc(sweep.stale, cap * sizeof(*a));

		if (!a)
			return;
		sweep.stale = a;
		sweep.cap = cap;
	}
	sweep.stale[sweep.n++] = s;
}

/* Forgets the series gone for SERIES_KEEP_NS: backends come and go for good, too. */
static void series_sweep(struct metrics *m)
{
	if (m->now < SERIES_KEEP_NS)
		return;
	sweep.before = m->now - SERIES_KEEP_NS;
	sweep.n = 0;
	twalk(m->series, series_stale);
	for (size_t i = 0; i < sweep.n; i++) {
		tdelete(sweep.stale[i], &m->series, series_cmp);
		free(sweep.stale[i]);
	}
	free(sweep.stale);
	memset(&sweep, 0, sizeof(sweep));
}

/* ---- the text format ---- */

/* Appends name="value" to a label set, escaping as the format wants (\\, \", \n). */
static void label_add(char *buf, size_t len, const char *name, const char *value)
{
	size_t n = strlen(buf);

	n += snprintf(buf + n, n < len ? len - n : 0, "%s%s=\"", n ? "," : "", name);
	for (const char *p = value; *p && n + 3 < len; p++) {
		if (*p == '\\' || *p == '"' || *p == '\n') {
			buf[n++] = '\\';
			buf[n++] = *p == '\n' ? 'n' : *p;
		} else {
			buf[n++] = *p;
		}
	}
	if (n + 1 < len) {
		buf[n++] = '"';
		buf[n] = '\0';
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A series as the format writes it, and as the counters' offsets are keyed. */
static void series_name(char *buf, size_t len, const char *name, const char *labels)
{
	snprintf(buf, len, *labels ? "%s{%s}" : "%s", name, labels);
}

static void counter(struct metrics *m, FILE *f, const char *name, const char *labels,
		    uint64_t ident, uint64_t raw)
{
	char key[SERIES_KEY_LEN];

	series_name(key, sizeof(key), name, labels);
	fprintf(f, "%s %llu\n", key, (unsigned long long)series_value(m, key, ident, raw));
}

/* The shortest text that reads back as value: 0.0025, not 0.0025000000000000001. */
static void gauge(FILE *f, const char *name, const char *labels, double value)
{
	char key[SERIES_KEY_LEN], num[32];

	for (int prec = 6; prec <= 17; prec++) {
		snprintf(num, sizeof(num), "%.*g", prec, value);
		if (strtod(num, NULL) == value)
			break;
	}
	series_name(key, sizeof(key), name, labels);
	fprintf(f, "%s %s\n", key, num);
}

/* ---- what a scrape shows ---- */

struct counter_field {
	const char *name; /* after veer_vip_ / veer_backend_ */
	size_t off;	  /* in struct veer_counters */
	const char *help;
};

static const struct counter_field counter_fields[] = {
	{"packets_total", offsetof(struct veer_counters, packets), "packets from clients"},
	{"bytes_total", offsetof(struct veer_counters, bytes), "bytes from clients"},
	{"new_flows_total", offsetof(struct veer_counters, new_flows),
	 "connections scheduled (a new entry in the connection table)"},
	{"reply_packets_total", offsetof(struct veer_counters, reply_packets),
	 "packets from backends back to clients (NAT: through veer; DSR: none)"},
	{"reply_bytes_total", offsetof(struct veer_counters, reply_bytes),
	 "bytes from backends back to clients"},
};

static uint64_t field(const struct veer_counters *c, const struct counter_field *cf)
{
	return *(const __u64 *)((const char *)c + cf->off);
}

static void vip_labels(const struct veer_stats_vip *sv, char *buf, size_t len)
{
	char vip[VEER_ADDR_STRLEN];

	buf[0] = '\0';
	label_add(buf, len, "vip", veer_fmt_vip(&sv->key, vip, sizeof(vip)));
}

static void backend_labels(const struct veer_stats_vip *sv, const struct veer_stats_backend *sb,
			   char *buf, size_t len)
{
	char be[VEER_ADDR_STRLEN];

	vip_labels(sv, buf, len);
	label_add(buf, len, "backend",
		  veer_fmt_endpoint(&sb->be.addr, sb->be.port, sb->be.family, be, sizeof(be)));
}

/* Whether the backend takes new flows as far as health goes: the checker's view, else the flag. */
static bool backend_up(struct metrics *m, const struct veer_stats_vip *sv,
		       const struct veer_stats_backend *sb)
{
	struct veer_endpoint ep = {
		.addr = sb->be.addr, .port = sb->be.port, .family = sb->be.family};
	int st = m->d->health ? health_state(m->d->health, &sv->key, &ep) : -ENOENT;

	return st >= 0 ? st == 1 : !(sb->be.flags & VEER_BACKEND_DOWN);
}

/* The per-backend gauges, in the order render_lb computes them. */
static const struct {
	const char *name, *help;
} backend_gauges[] = {
	{"veer_backend_active_flows",
	 "Per backend of a VIP: connections in the connection table that are not idle past "
	 "their timeout, handshakes included."},
	{"veer_backend_up", "Per backend of a VIP: 1 when it passes its health checks (or "
			    "has none and is not marked down), else 0."},
	{"veer_backend_weight",
	 "Per backend of a VIP: its Maglev weight; 0 drains it (no new flows)."},
};

static void render_lb(struct metrics *m, FILE *f, const struct veer_stats_snapshot *s)
{
	char labels[LABELS_LEN], name[96], help[256];

	for (size_t i = 0; i < sizeof(counter_fields) / sizeof(counter_fields[0]); i++) {
		const struct counter_field *cf = &counter_fields[i];

		snprintf(name, sizeof(name), "veer_vip_%s", cf->name);
		snprintf(help, sizeof(help), "Per VIP: %s.", cf->help);
		family(f, name, "counter", help);
		for (size_t v = 0; v < s->nvips; v++) {
			vip_labels(&s->vips[v], labels, sizeof(labels));
			counter(m, f, name, labels, s->vips[v].vip.id, field(&s->vips[v].c, cf));
		}
	}
	family(f, "veer_vip_active_flows", "gauge",
	       "Per VIP: connections in the connection table that are not idle past their "
	       "timeout, handshakes included.");
	for (size_t v = 0; v < s->nvips; v++) {
		vip_labels(&s->vips[v], labels, sizeof(labels));
		gauge(f, "veer_vip_active_flows", labels, s->vips[v].active_flows);
	}
	family(f, "veer_vip_backends", "gauge", "Per VIP: backends configured.");
	for (size_t v = 0; v < s->nvips; v++) {
		vip_labels(&s->vips[v], labels, sizeof(labels));
		gauge(f, "veer_vip_backends", labels, s->vips[v].nbackends);
	}

	for (size_t i = 0; i < sizeof(counter_fields) / sizeof(counter_fields[0]); i++) {
		const struct counter_field *cf = &counter_fields[i];

		snprintf(name, sizeof(name), "veer_backend_%s", cf->name);
		snprintf(help, sizeof(help), "Per backend of a VIP: %s.", cf->help);
		family(f, name, "counter", help);
		for (size_t v = 0; v < s->nvips; v++) {
			const struct veer_stats_vip *sv = &s->vips[v];

			for (size_t b = sv->first_backend; b < sv->first_backend + sv->nbackends;
			     b++) {
				const struct veer_stats_backend *sb = &s->backends[b];

				backend_labels(sv, sb, labels, sizeof(labels));
				counter(m, f, name, labels, (uint64_t)sb->id << 32 | sb->gen,
					field(&sb->c, cf));
			}
		}
	}

	for (size_t g = 0; g < sizeof(backend_gauges) / sizeof(backend_gauges[0]); g++) {
		family(f, backend_gauges[g].name, "gauge", backend_gauges[g].help);
		for (size_t v = 0; v < s->nvips; v++) {
			const struct veer_stats_vip *sv = &s->vips[v];

			for (size_t b = sv->first_backend; b < sv->first_backend + sv->nbackends;
			     b++) {
				const struct veer_stats_backend *sb = &s->backends[b];
				double value = g == 0	? (double)sb->active_flows
					       : g == 1 ? backend_up(m, sv, sb)
							: (double)sb->be.weight;

				backend_labels(sv, sb, labels, sizeof(labels));
				gauge(f, backend_gauges[g].name, labels, value);
			}
		}
	}

	/* The reasons' two ranges (include/veer/abi.h): went on, or dropped. */
	for (int drop = 0; drop <= 1; drop++) {
		const char *n = drop ? "veer_drops_total" : "veer_passes_total";

		family(f, n, "counter",
		       drop ? "Packets the data plane dropped, by reason."
			    : "Packets the data plane did not load balance as they came but passed "
			      "to the stack, answered or forwarded by a special path, by reason.");
		for (int r = 1; r < VEER_REASON_MAX; r++) {
			if (!veer_reason_names[r] || VEER_REASON_IS_DROP(r) != drop)
				continue;
			labels[0] = '\0';
			label_add(labels, sizeof(labels), "reason", veer_reason_names[r]);
			counter(m, f, n, labels, 0, s->reasons[r]);
		}
	}
}

/* The cache's counters under a name of their own; the rest by event. */
static const struct {
	enum veer_cache_stat stat;
	const char *name, *help;
} cache_named[] = {
	{VEER_CACHE_HIT, "veer_cache_hits_total", "GETs answered from the hot-key cache."},
	{VEER_CACHE_MISS, "veer_cache_misses_total",
	 "Single GETs not in the cache (or stale), passed to the server."},
	{VEER_CACHE_INVALIDATE, "veer_cache_invalidations_total",
	 "Writes that made a key's cached entries stale."},
	{VEER_CACHE_FLUSH, "veer_cache_flushes_total",
	 "Every entry made stale at once: FLUSHALL, FLUSHDB or flush_all seen, or the manager "
	 "starting, stopping or losing its invalidation feed."},
	{VEER_CACHE_EVICT, "veer_cache_evictions_total",
	 "Entries removed to keep the cache within its bounds."},
};

static void render_cache(struct metrics *m, FILE *f, const __u64 sum[VEER_CACHE_STAT_MAX])
{
	bool named[VEER_CACHE_STAT_MAX] = {[VEER_CACHE_NONE] = true};
	char labels[LABELS_LEN];

	for (size_t i = 0; i < sizeof(cache_named) / sizeof(cache_named[0]); i++) {
		family(f, cache_named[i].name, "counter", cache_named[i].help);
		counter(m, f, cache_named[i].name, "", 0, sum[cache_named[i].stat]);
		named[cache_named[i].stat] = true;
	}
	family(f, "veer_cache_events_total", "counter",
	       "The hot-key cache's other counters, by event (as `veer cache stats` names them).");
	for (int i = 0; i < VEER_CACHE_STAT_MAX; i++) {
		if (named[i])
			continue;
		labels[0] = '\0';
		label_add(labels, sizeof(labels), "event", veer_cache_stat_names[i]);
		counter(m, f, "veer_cache_events_total", labels, 0, sum[i]);
	}
}

struct health_ctx {
	struct metrics *m;
	FILE *f;
	int pass; /* which family: 0 checks, 1 failures, 2 latency */
};

static void health_row(const struct health_status *st, void *arg)
{
	static const char *const names[] = {"veer_health_checks_total",
					    "veer_health_check_failures_total",
					    "veer_health_check_duration_seconds"};
	struct health_ctx *hc = arg;
	char labels[LABELS_LEN], vip[VEER_ADDR_STRLEN], be[VEER_ADDR_STRLEN];

	labels[0] = '\0';
	label_add(labels, sizeof(labels), "vip", veer_fmt_vip(&st->vip, vip, sizeof(vip)));
	label_add(labels, sizeof(labels), "backend",
		  veer_fmt_endpoint(&st->be.addr, st->be.port, st->be.family, be, sizeof(be)));
	if (hc->pass == 2)
		gauge(hc->f, names[2], labels, st->last_latency_s);
	else
		counter(hc->m, hc->f, names[hc->pass], labels, 0,
			hc->pass ? st->failures : st->checks);
}

static void render_health(struct metrics *m, FILE *f)
{
	static const char *const help[][3] = {
		{"veer_health_checks_total", "counter", "Health checks completed, per backend."},
		{"veer_health_check_failures_total", "counter",
		 "Health checks that failed (refused, timed out, wrong answer), per backend."},
		{"veer_health_check_duration_seconds", "gauge",
		 "How long the last health check of the backend took (a timeout: the time waited)."},
	};
	struct health_ctx hc = {.m = m, .f = f};

	for (hc.pass = 0; hc.pass < 3; hc.pass++) {
		family(f, help[hc.pass][0], help[hc.pass][1], help[hc.pass][2]);
		if (m->d->health)
			health_foreach(m->d->health, health_row, &hc);
	}
}

static void render_daemon(struct metrics *m, FILE *f)
{
	const struct veerd *d = m->d;

	family(f, "veer_reconcile_runs_total", "counter",
	       "Reconciles of the pinned state with the config (start and every reload).");
	counter(m, f, "veer_reconcile_runs_total", "", 0, d->reconcile_runs);
	family(f, "veer_reconcile_errors_total", "counter", "Reconciles that failed.");
	counter(m, f, "veer_reconcile_errors_total", "", 0, d->reconcile_errors);
	family(f, "veer_reconcile_last_success_timestamp_seconds", "gauge",
	       "When the last reconcile succeeded, in seconds since the epoch; 0 = never.");
	gauge(f, "veer_reconcile_last_success_timestamp_seconds", "", d->reconcile_last_success);
	family(f, "veer_config_reloads_total", "counter",
	       "Config reloads (file changed, SIGHUP), by result: accepted, or refused and the "
	       "running config kept.");
	counter(m, f, "veer_config_reloads_total", "result=\"accepted\"", 0, d->reloads_accepted);
	counter(m, f, "veer_config_reloads_total", "result=\"refused\"", 0, d->reloads_refused);
}

/* ---- series of the other modules (sources, events, webhooks) ---- */

struct metrics_out {
	struct metrics *m;
	FILE *f;
};

static struct {
	metrics_part_cb cb;
	void *arg;
} parts[16];
static size_t nparts;

int metrics_part_add(metrics_part_cb cb, void *arg)
{
	if (nparts == sizeof(parts) / sizeof(parts[0]))
		return -ENOSPC;
	parts[nparts].cb = cb;
	parts[nparts++].arg = arg;
	return 0;
}

void metrics_part_del(metrics_part_cb cb, void *arg)
{
	for (size_t i = 0; i < nparts; i++) {
		if (parts[i].cb != cb || parts[i].arg != arg)
			continue;
		memmove(&parts[i], &parts[i + 1], (nparts - i - 1) * sizeof(parts[0]));
		nparts--;
		return;
	}
}

void metrics_family(struct metrics_out *o, const char *name, const char *type, const char *help)
{
	family(o->f, name, type, help);
}

void metrics_counter(struct metrics_out *o, const char *name, const char *labels, uint64_t value)
{
	counter(o->m, o->f, name, labels, 0, value);
}

void metrics_gauge(struct metrics_out *o, const char *name, const char *labels, double value)
{
	gauge(o->f, name, labels, value);
}

void metrics_label(char *buf, size_t len, const char *name, const char *value)
{
	label_add(buf, len, name, value);
}

/*
 * One scrape. The pinned state is open only for the snapshot (and the cache's maps for their
 * counters): formatting and the network come after the lock is gone.
 */
static char *render(struct metrics *m, size_t *len)
{
	struct veer_stats_snapshot snap = {};
	__u64 cache[VEER_CACHE_STAT_MAX];
	bool lb_ok = false, cache_ok = false;
	uint64_t t0 = loop_now();
	struct veer_cache *c;
	struct veer *v;
	char *buf = NULL;
	FILE *f;

	/* A reader creates nothing; an absent state is no error, only nothing to show. */
	if (veer_pinned("veer_vips") && !veer_open(&v, false)) {
		lb_ok = !veer_stats_snapshot(v, true, &snap);
		veer_close(v);
	}
	/* Its open would pin the cache's maps if they were missing: only when they are there. */
	if (veer_pinned("veer_cache_stats") && !veer_cache_open(&c, false)) {
		cache_ok = !veer_cache_counters(c, cache);
		veer_cache_close(c);
	}

	f = open_memstream(&buf, len);
	if (!f)
		goto cleanup;
	m->now = loop_now();
	if (lb_ok)
		render_lb(m, f, &snap);
	if (cache_ok)
		render_cache(m, f, cache);
	render_health(m, f);
	render_daemon(m, f);
	for (size_t i = 0; i < nparts; i++)
		parts[i].cb(&(struct metrics_out){m, f}, parts[i].arg);
	family(f, "veer_state_readable", "gauge",
	       "1 when this scrape read the load balancer's pinned state, 0 when it is not there "
	       "or could not be read.");
	gauge(f, "veer_state_readable", "", lb_ok);
	family(f, "veer_scrape_duration_seconds", "gauge",
	       "How long this scrape took to read and format.");
	gauge(f, "veer_scrape_duration_seconds", "", (loop_now() - t0) / 1e9);
	if (fclose(f)) {
		free(buf);
		buf = NULL;
	}
	series_sweep(m);
cleanup:
	veer_stats_free(&snap);
	return buf;
}

/* ---- HTTP ---- */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     char *body, size_t len, bool must_free)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(
		len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (must_free)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	static char ok[] = "ok\n", not_found[] = "not found\n", not_allowed[] = "GET or HEAD\n";
	struct metrics *m = cls;
	bool metrics = !strcmp(url, "/metrics");
	char *body;
	size_t len;

	(void)version, (void)upload_data, (void)con_cls;
	/* A body is read and ignored: no request here takes one. */
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!metrics && strcmp(url, "/healthz") && strcmp(url, "/readyz"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
			     sizeof(not_found) - 1, false);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
			     sizeof(not_allowed) - 1, false);
	/*
	 * Ready: the config in effect is applied and every source has listed once since the
	 * start; a rollout waits for it. /healthz only says the loop turns (a liveness probe
	 * must not restart a veerd for a config it refused).
	 */
	if (!strcmp(url, "/readyz")) {
		const char *waiting = sources_waiting();
		char *why = NULL;
		int n;

		if (m->d->config_applied && !waiting)
			return reply(conn, MHD_HTTP_OK, "text/plain", ok, sizeof(ok) - 1, false);
		n = waiting && m->d->config_applied
			    ? asprintf(&why, "the %s source has not listed yet\n", waiting)
			    : asprintf(&why, "%s is not applied\n", m->d->config_path);
		if (n < 0)
			return MHD_NO;
		return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", why, n, true);
	}
	if (!metrics)
		return reply(conn, MHD_HTTP_OK, "text/plain", ok, sizeof(ok) - 1, false);
	body = render(m, &len);
	if (!body)
		return MHD_NO;
	return reply(conn, MHD_HTTP_OK, CONTENT_TYPE, body, len, true);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_warnx("metrics: %s", line);
}

/* MHD's work is done when its epoll fd is ready, or when its timeout (idle connections) is up. */
static void mhd_arm(struct metrics *m)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(m->mhd, &ms) == MHD_YES)
		loop_timer_at(m->d->loop, &m->timer, loop_now() + (uint64_t)ms * 1000000ull);
	else
		loop_timer_cancel(m->d->loop, &m->timer);
}

static void on_mhd_fd(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct metrics *m = arg;

	(void)l, (void)fd, (void)events;
	MHD_run(m->mhd);
	mhd_arm(m);
}

static void on_mhd_timer(struct loop *l, struct loop_timer *t)
{
	struct metrics *m = t->arg;

	(void)l;
	MHD_run(m->mhd);
	mhd_arm(m);
}

/* "127.0.0.1:9464", "[::1]:9464": an address and a port, nothing to resolve. */
static int listen_addr(const char *listen, struct sockaddr_storage *ss)
{
	struct veer_endpoint ep;

	memset(ss, 0, sizeof(*ss));
	if (veer_parse_endpoint(listen, &ep, true) || !ep.port)
		return -EINVAL;
	if (ep.family == VEER_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = ep.port;
		memcpy(&sin->sin_addr, &ep.addr.v4, sizeof(sin->sin_addr));
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = ep.port;
		memcpy(&sin6->sin6_addr, ep.addr.bytes, sizeof(sin6->sin6_addr));
	}
	return 0;
}

int metrics_new(struct metrics **out, struct veerd *d, const struct veer_metrics_spec *spec)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage ss;
	struct metrics *m;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int err;

	*out = NULL;
	if (listen_addr(spec->listen, &ss)) {
		log_warnx("metrics: listen %s: not an address and port (127.0.0.1:9464, "
			  "[::1]:9464)",
			  spec->listen);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->d = d;
	m->epfd = -1;
	m->timer.cb = on_mhd_timer;
	m->timer.arg = m;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	m->mhd = MHD_start_daemon(flags, ntohs(((struct sockaddr_in *)&ss)->sin_port), NULL, NULL,
				  on_request, m, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT,
				  10u, MHD_OPTION_END);
	if (!m->mhd) {
		err = errno ? -errno : -EIO;
		goto fail;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		err = -EIO;
		goto fail;
	}
	err = loop_add(d->loop, info->epoll_fd, EPOLLIN, on_mhd_fd, m);
	if (err)
		goto fail;
	m->epfd = info->epoll_fd;
	mhd_arm(m);
	log_info("serving metrics on http://%s/metrics", spec->listen);
	*out = m;
	return 0;
fail:
	metrics_free(m);
	return err;
}

static void series_free(void *s)
{
	free(s);
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	loop_timer_cancel(m->d->loop, &m->timer);
	if (m->epfd >= 0)
		loop_del(m->d->loop, m->epfd);
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	tdestroy(m->series, series_free);
	free(m);
}
