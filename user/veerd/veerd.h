/* SPDX-License-Identifier: GPL-2.0 */
/*
 * veerd, the node daemon: one header for the daemon, one file per role. veerd.c runs the
 * event loop and the reconcile; loop.c is the loop; health.c checks backends; metrics.c serves
 * /metrics; cache.c runs the hot-key cache's manager; log.c is where messages go; http.c runs
 * libcurl's transfers on the loop; sources.c merges the VIPs of the file, etcd
 * (source_etcd.c) and Kubernetes (source_k8s.c); events.c is the event stream, webhook.c
 * delivers it.
 *
 * Everything runs on one thread, in one epoll loop: a module registers its fds and timers and
 * never blocks.
 */
#ifndef VEERD_H
#define VEERD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include "veer.h"

#define VEERD_CONFIG_DEFAULT "/etc/veer/veer.yaml"

/* ---- log.c: OpenBSD-style; syslog unless in the foreground (-d, -n) ---- */

void log_init(bool foreground, int verbose);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* ": strerror(errno)" */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* as it is */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- loop.c: one epoll, fds and timers ---- */

struct loop;
typedef void (*loop_fd_cb)(struct loop *l, int fd, uint32_t events, void *arg);

struct loop_timer {
	uint64_t when;				     /* CLOCK_MONOTONIC ns */
	void (*cb)(struct loop *l, struct loop_timer *t); /* t->arg for context */
	void *arg;
	size_t slot; /* in the loop's heap, 0 = not armed */
};

/* CLOCK_MONOTONIC in ns. */
uint64_t loop_now(void);
int loop_new(struct loop **l);
void loop_free(struct loop *l);
/* events as epoll's (EPOLLIN, EPOLLOUT...); one callback per fd. 0 or -errno. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_mod(struct loop *l, int fd, uint32_t events);
/* Before closing fd. */
void loop_del(struct loop *l, int fd);
/* Arms t (re-arms it if armed) to fire once at when; cb and arg set by the caller first. */
int loop_timer_at(struct loop *l, struct loop_timer *t, uint64_t when);
void loop_timer_cancel(struct loop *l, struct loop_timer *t);
/* Runs until loop_stop; 0, or -errno if epoll failed. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

/* ---- veerd.c: the daemon's state, read by the metrics ---- */

struct health;
struct metrics;
struct cachemgr;
struct etcd;
struct k8s;
struct webhooks;
struct events;

struct veerd {
	const char *config_path;
	struct veer_config *cfg; /* the config in effect: the last one accepted */
	struct loop *loop;
	struct health *health;
	struct metrics *metrics;
	struct cachemgr *cache;
	struct etcd *etcd;
	struct k8s *k8s;
	struct webhooks *webhooks;
	struct events *events;
	/* The pinned state, kept open and locked per transaction (state_begin/state_end). */
	struct veer *v;
	/* For /metrics. */
	uint64_t reconcile_runs, reconcile_errors;
	double reconcile_last_success; /* unix time, 0 = never */
	uint64_t reloads_accepted, reloads_refused;
	bool config_applied; /* the config in effect is in the data plane (/readyz) */
};

/*
 * The pinned state for one transaction: the kept handle, locked (a fresh one if the pins were
 * replaced). Every writer of veerd's goes through these, one at a time.
 */
int state_begin(struct veer **v);
void state_end(void);
/* The health checks follow the VIPs of the file and the sources now (after a source's apply). */
void veerd_health_resync(void);

/* ---- health.c: backend health checks ---- */

/* Called when a backend's state changes (after rise passes or fall failures in a row). */
typedef void (*health_change_cb)(const struct veer_vip_key *vip, const struct veer_endpoint *be,
				 bool up, bool reset, void *arg);
/* Whether a backend starts up (its pinned state: a restarted veerd keeps what it found). */
typedef bool (*health_initial_cb)(const struct veer_vip_key *vip, const struct veer_endpoint *be,
				  void *arg);

int health_new(struct health **h, struct loop *l, health_change_cb changed,
	       health_initial_cb initial, void *arg);
/*
 * Checks exactly the backends of c's VIPs that have a health block: keeps the state and
 * schedule of checks whose VIP, backend and settings did not change, starts new ones, stops
 * the rest.
 */
int health_sync(struct health *h, const struct veer_config *c);
void health_free(struct health *h);

struct health_status {
	struct veer_vip_key vip;
	struct veer_endpoint be; /* port resolved */
	bool up;
	uint64_t checks, failures;
	double last_latency_s; /* of the last check that completed */
};

void health_foreach(struct health *h, void (*fn)(const struct health_status *s, void *arg),
		    void *arg);
/* The state of one backend: 1 up, 0 down, -ENOENT when it is not checked. */
int health_state(struct health *h, const struct veer_vip_key *vip, const struct veer_endpoint *be);

/* How late probes start against their schedule: a loop falling behind shows here first. */
struct health_timing {
	uint64_t started; /* probes started */
	double late_p50_s, late_p99_s, late_max_s;
	uint64_t local_errors; /* probes skipped for want of an fd or a port, since the start */
};

/* Since the start or the last reset. */
void health_timing(struct health *h, struct health_timing *t, bool reset);

/* ---- metrics.c: Prometheus text at /metrics ---- */

int metrics_new(struct metrics **m, struct veerd *d, const struct veer_metrics_spec *spec);
void metrics_free(struct metrics *m);

/*
 * Series of other modules at every scrape (sources, events, webhooks): a part writes its
 * families with these. Counters keep metrics.c's rule: never backwards to a scraper.
 */
struct metrics_out;
typedef void (*metrics_part_cb)(struct metrics_out *o, void *arg);
int metrics_part_add(metrics_part_cb cb, void *arg);
void metrics_part_del(metrics_part_cb cb, void *arg);
void metrics_family(struct metrics_out *o, const char *name, const char *type, const char *help);
void metrics_counter(struct metrics_out *o, const char *name, const char *labels, uint64_t value);
void metrics_gauge(struct metrics_out *o, const char *name, const char *labels, double value);
/* Appends name="value" (escaped as the format wants, comma-separated) to the labels in buf. */
void metrics_label(char *buf, size_t len, const char *name, const char *value);

/* ---- cache.c: the hot-key cache's manager in the loop ---- */

/* Attaches the cache as spec says and runs its manager on d's loop. */
int cachemgr_new(struct cachemgr **cm, struct veerd *d, const struct veer_cache_spec *spec);
/* Stops the manager; every cached entry becomes stale first. */
void cachemgr_free(struct cachemgr *cm);

/* ---- http.c: libcurl's multi interface on the loop ---- */

#include <curl/curl.h>

struct json_object;

int http_init(struct loop *l);
void http_exit(void);
/*
 * Called once when easy's transfer ends, done or failed (rc; the HTTP status is
 * CURLINFO_RESPONSE_CODE). easy is the caller's again: reuse it or curl_easy_cleanup it, here
 * or later.
 */
typedef void (*http_done_cb)(CURL *easy, CURLcode rc, void *arg);
/*
 * Runs easy, set up by the caller (URL, headers, write callback, CA, timeouts), on the loop.
 * 0 or -errno. A transfer never blocks the loop: bodies arrive through the write callback as
 * they come (a watch's stream, chunk by chunk).
 */
int http_start(CURL *easy, http_done_cb done, void *arg);
/* Stops easy's transfer before its end; done is not called. A no-op for an idle handle. */
void http_cancel(CURL *easy);

/* ---- events.c: the event stream (the data plane's ring buffer and veerd's own events) ---- */

int events_new(struct events **ev, struct veerd *d);
void events_free(struct events *ev);
/*
 * One event of veerd's own: adds "id", "type" and "time" to fields (an object, or NULL for
 * none; taken over), logs it, and hands it to the `veer events` clients and the sinks.
 */
void event_emit(enum veer_event_type type, struct json_object *fields);
/*
 * In-daemon consumers (the webhooks): cb sees every event, data plane's and veerd's, as the
 * exact bytes of its JSON body. 0 or -ENOMEM; event_sink_del before arg goes away.
 */
typedef void (*event_sink_cb)(enum veer_event_type type, const char *id, const char *body,
			      size_t len, void *arg);
int event_sink_add(event_sink_cb cb, void *arg);
/* A config_applied event: o (who applied: the file, a source; taken over) and what changed. */
void event_applied(struct json_object *o, const struct veer_apply_result *r);
void event_sink_del(event_sink_cb cb, void *arg);

/* ---- sources.c: the VIPs of the file, etcd and Kubernetes, applied each by its owner ---- */

struct source;

/*
 * A source named name ("etcd", "kubernetes") whose VIPs are pinned with owner. Until its first
 * source_set (its first list), the VIPs of that owner in the data plane are left alone: a
 * restarted veerd does not take away what a source has not had the time to say again.
 */
int source_new(struct source **s, const char *name, __u8 owner);
/*
 * The source's whole view now: specs[0..n) and, for messages, where each came from
 * (origins[i]: "etcd key /veer/vips/web"). Both arrays and what they hold are taken over.
 * The difference is applied on the loop's next turn (changes arriving together are applied
 * once). Precedence: the file, then etcd, then Kubernetes: a VIP a higher one declares is
 * refused in the lower one, by name.
 */
void source_set(struct source *s, struct veer_vip_spec *specs, char **origins, size_t n);
/* The source's connection is up (endpoint: what it reached), reported once per connection. */
void source_connected(struct source *s, const char *endpoint);
/* The source's connection is gone: its VIPs stay as they are, the loss is reported. */
void source_lost(struct source *s, const char *why);
/*
 * One key or object of the source refused (origin: "etcd key /veer/vips/web"): logged,
 * counted (veer_source_errors_total) and reported as a config_refused event. The caller keeps
 * what it had for that origin.
 */
void source_refused(struct source *s, const char *origin, const char *why);
/*
 * While hold is set, VIPs of the source it no longer declares are kept instead of removed: the
 * source refused an entry (an etcd key, a Service) it has no good value of since veerd
 * started, and that entry may be one of them. Cleared when no such entry is left.
 */
void source_hold(struct source *s, bool hold);
/*
 * Before owner applies specs: each VIP pinned by a source of lower precedence passes to owner
 * as it is (the file taking a VIP over from etcd keeps its flows).
 */
void sources_claim(struct veer *v, const struct veer_vip_spec *specs, size_t n, __u8 owner);
/* The source is no longer configured: its VIPs are removed at the next reconcile. */
void source_free(struct source *s);
/*
 * The file's VIPs changed (reload): every source is applied again on the loop's next turn,
 * against the new precedence. sources_init before anything else of this section.
 */
int sources_init(struct veerd *d);
void sources_changed(void);
/*
 * The VIPs all sources declare now, for the health checks: a config like the file's with the
 * sources' VIPs appended (vips owned by the returned config; free with veer_config_free).
 */
int sources_merged(const struct veer_config *file, struct veer_config **out);
/*
 * The VIPs of a source no longer configured go at the next apply: a veerd started on a file
 * without its block removes what that source left pinned.
 */
void sources_forget(__u8 owner);
/* The name of a configured source that has not listed since veerd started, or NULL. */
const char *sources_waiting(void);
/* Runs the pending apply now (the loop's next turn does it otherwise). */
void sources_flush(void);
/*
 * Applies every source's VIPs now against file's precedence (the reload calls it before it
 * applies the file, so that what the file takes over is released first). 0 or the first error.
 */
int sources_apply(const struct veer_config *file);

/* ---- source_etcd.c, source_k8s.c, webhook.c: started and stopped by veerd.c ---- */

int etcd_new(struct etcd **e, struct veerd *d, const struct veer_etcd_spec *spec);
void etcd_free(struct etcd *e);
int k8s_new(struct k8s **k, struct veerd *d, const struct veer_k8s_spec *spec);
void k8s_free(struct k8s *k);
int webhooks_new(struct webhooks **w, struct veerd *d, const struct veer_webhook_spec *specs,
		 size_t n);
void webhooks_free(struct webhooks *w);

#endif
