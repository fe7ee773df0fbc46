// SPDX-License-Identifier: GPL-2.0
/*
 * The hot-key cache in veerd: the `cache:` block attaches the cache to its cgroup and runs
 * libveer's cache manager in the daemon's loop. The manager is one fd and one deadline (see
 * veer_cache_mgr_new): its fd is watched for reading and its deadline is a loop timer, and both
 * call veer_cache_mgr_run, which never blocks. Its connections come and go behind that fd.
 *
 * The attachment stays when the manager stops (veerd stopping or restarting must not touch
 * the data plane); what the manager promoted goes stale as it stops, and while no manager runs
 * nothing it promoted is served (see docs/CACHE.md, "A feed or nothing").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "veerd.h"
#include "cache_policy.h"

struct cachemgr {
	struct veerd *d;
	struct veer_cache_mgr *m;
	struct loop_timer timer;
	int fd;
	char where[300]; /* "redis at HOST:PORT", for messages */
	__u64 feed_losses; /* as the manager counted them when last run */
};

/* A cache_feed_lost event: {"server": "redis at HOST:PORT", "error": why}. */
static void feed_lost_event(struct cachemgr *cm, const char *why)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "server", json_object_new_string(cm->where));
	json_object_object_add(o, "error", json_object_new_string(why));
	event_emit(VEER_EVENT_CACHE_FEED_LOST, o);
}

static void cm_stop(struct cachemgr *cm)
{
	if (!cm->m)
		return;
	loop_timer_cancel(cm->d->loop, &cm->timer);
	loop_del(cm->d->loop, cm->fd);
	veer_cache_mgr_free(cm->m);
	cm->m = NULL;
}

/* Runs what is ready or due, then waits for the next deadline. */
static void cm_run(struct cachemgr *cm)
{
	struct veer_cache_mgr_status st;
	int err = veer_cache_mgr_run(cm->m);

	if (err) {
		/* Named by libveer: a server of another protocol, or settings it refuses. */
		log_warnx("the cache manager of %s stopped: %s; cached entries are not served",
			  cm->where, strerror(-err));
		feed_lost_event(cm, "the cache manager stopped");
		cm_stop(cm);
		return;
	}
	/* libveer logged why; the event says that every cached entry went stale. */
	veer_cache_mgr_status(cm->m, &st);
	if (st.feed_losses > cm->feed_losses)
		feed_lost_event(cm, "keyspace notifications lost: every cached entry is stale");
	cm->feed_losses = st.feed_losses;
	err = loop_timer_at(cm->d->loop, &cm->timer, veer_cache_mgr_next_deadline(cm->m));
	if (err)
		log_warnx("cannot schedule the cache manager: %s", strerror(-err));
}

static void cm_on_fd(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l, (void)fd, (void)events;
	cm_run(arg);
}

static void cm_on_timer(struct loop *l, struct loop_timer *t)
{
	(void)l;
	cm_run(t->arg);
}

int cachemgr_new(struct cachemgr **out, struct veerd *d, const struct veer_cache_spec *spec)
{
	struct veer_cache_manager_opts o = {
		.proto = spec->proto,
		.host = spec->server_host,
		.port = spec->server_port,
		.top = spec->top,
		.ttl_s = spec->ttl_s,
		.interval_ms = spec->interval_ms,
		.notify = spec->proto == VEER_CACHE_REDIS,
		.max_write_ratio = VEER_CACHE_MAX_WRITE_RATIO,
	};
	struct cachemgr *cm;
	struct veer_cache *c;
	int err;

	*out = NULL;
	cm = calloc(1, sizeof(*cm));
	if (!cm)
		return -ENOMEM;
	cm->d = d;
	cm->fd = -1;
	snprintf(cm->where, sizeof(cm->where), "%s at %s:%u", veer_cache_proto_name(spec->proto),
		 spec->server_host, spec->server_port);
	/* Attached by a handle of its own, closed before the manager takes the writers' lock. */
	err = veer_cache_open(&c, true);
	if (!err) {
		err = veer_cache_attach(c, spec->cgroup, spec->port, spec->proto);
		veer_cache_close(c);
	}
	if (err) {
		log_warnx("cannot attach the cache to %s for port %u", spec->cgroup, spec->port);
		goto fail;
	}
	err = veer_cache_mgr_new(&o, &cm->m);
	if (err)
		goto fail;
	cm->fd = veer_cache_mgr_fd(cm->m);
	cm->timer.cb = cm_on_timer;
	cm->timer.arg = cm;
	err = loop_add(d->loop, cm->fd, EPOLLIN, cm_on_fd, cm);
	if (err) {
		veer_cache_mgr_free(cm->m);
		goto fail;
	}
	log_info("cache on %s for port %u (%s): managing %s", spec->cgroup, spec->port,
		 veer_cache_proto_name(spec->proto), cm->where);
	cm_run(cm);
	*out = cm;
	return 0;
fail:
	free(cm);
	return err;
}

void cachemgr_free(struct cachemgr *cm)
{
	if (!cm)
		return;
	cm_stop(cm);
	free(cm);
}
