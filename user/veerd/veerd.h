/* SPDX-License-Identifier: GPL-2.0 */
/*
 * veerd, the node daemon: one header for the daemon, one file per role. veerd.c runs the
 * event loop and the reconcile; loop.c is the loop; health.c checks backends; metrics.c serves
 * /metrics; cache.c runs the hot-key cache's manager; log.c is where messages go.
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

struct veerd {
	const char *config_path;
	struct veer_config *cfg; /* the config in effect: the last one accepted */
	struct loop *loop;
	struct health *health;
	struct metrics *metrics;
	struct cachemgr *cache;
	/* The pinned state, kept open and locked per transaction (state_begin/state_end). */
	struct veer *v;
	/* For /metrics. */
	uint64_t reconcile_runs, reconcile_errors;
	double reconcile_last_success; /* unix time, 0 = never */
	uint64_t reloads_accepted, reloads_refused;
};

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

/* ---- cache.c: the hot-key cache's manager in the loop ---- */

/* Attaches the cache as spec says and runs its manager on d's loop. */
int cachemgr_new(struct cachemgr **cm, struct veerd *d, const struct veer_cache_spec *spec);
/* Stops the manager; every cached entry becomes stale first. */
void cachemgr_free(struct cachemgr *cm);

#endif
