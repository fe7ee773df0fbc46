// SPDX-License-Identifier: GPL-2.0
/*
 * The event stream: the data plane's ring buffer (veer_events) read on the loop, and veerd's
 * own events (event_emit). Each becomes one JSON object, {"id", "type", "time", ...}: numbered
 * by veerd's start time and a sequence, so ids are unique across restarts; logged (one line);
 * handed to the sinks (the webhooks); kept among the last EVENTS_BACKLOG; and written to the
 * `veer events` clients of the unix socket next to veerd's lock, one object per line.
 *
 * Nothing here waits. A client's lines are queued and written as its socket takes them. A
 * client CLIENT_QUEUE_HIGH behind pauses the reading of the ring (the ring holds what comes
 * meanwhile, up to its size) until every client is back under CLIENT_QUEUE_LOW: a reader that
 * shares a CPU with veerd gets its turn. One still behind after PAUSE_MAX_NS, or with
 * CLIENT_QUEUE_MAX unread, is dropped: a reader stopped with ^Z costs memory up to that bound,
 * a second of the ring's reading, and never the loop. The data plane's events, which come
 * as fast as new flows when every flow is sampled, are logged up to LOG_PER_SECOND a second and
 * counted past that: the stream, the sinks and the clients get every one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <json-c/json.h>
#include "veerd.h"

#define EVENTS_BACKLOG	   1024	      /* events a client without --follow is shown */
#define CLIENTS_MAX	   64	      /* `veer events` readers at once */
#define CLIENT_QUEUE_MAX   (4u << 20) /* bytes queued for one reader before it is dropped */
#define CLIENT_QUEUE_HIGH  (1u << 20) /* a reader this far behind pauses the ring's reading */
#define CLIENT_QUEUE_LOW   (256u << 10)	 /* until every reader is back under this */
#define PAUSE_MAX_NS	   1000000000ull /* then the readers still behind are dropped */
#define CLIENT_REQUEST_MAX 256	      /* its one request line */
#define LOG_PER_SECOND	   100	      /* data plane events logged a second */
#define TICK_NS		   1000000000ull
/*
 * Records read in one turn of the loop: a ring a fast producer keeps filling must not hold the
 * loop (the readers' writes, the health checks); the rest is read at the next turn.
 */
#define RING_BATCH 1024

struct client {
	int fd;
	bool asked;  /* its request line is read */
	bool follow; /* it wants every event from now on; else the backlog, then the end */
	char req[CLIENT_REQUEST_MAX];
	size_t reqlen;
	char *out; /* queued bytes: out[off, len) are still to be written */
	size_t off, len, cap;
	struct client *next;
};

struct sink {
	event_sink_cb cb;
	void *arg;
};

struct events {
	struct veerd *d;
	struct veer_events *ring; /* NULL while the ring is not pinned (retried every tick) */
	__u32 ring_id;		  /* its map id: pins replaced are a new ring */
	int listen_fd;
	char path[VEER_EVENTS_SOCKET_MAX + 64];
	struct client *clients;
	size_t nclients;
	struct loop_timer tick;
	uint64_t second_at;		   /* when the once-a-second work is due */
	uint64_t paused_since; /* the ring's reading paused for a reader behind; 0: reading */
	__u64 lost_seen[VEER_EVENT_SLOTS]; /* the data plane's lost records, as last reported */
};

/*
 * What outlives a stream's restart and serves event_emit before events_new (the start's first
 * apply) and after events_free: the numbering, the sinks, the backlog, the counts.
 */
static struct {
	struct events *ev;
	struct sink *sinks;
	size_t nsinks;
	uint64_t start_ns, seq;
	char *backlog[EVENTS_BACKLOG]; /* lines, newline included */
	size_t bhead, bcount;
	uint64_t by_type[VEER_EVENT_MAX];
	uint64_t lost[VEER_EVENT_SLOTS]; /* the data plane's own count, since its maps were made */
	uint64_t clients_dropped;
	uint64_t drop_logged_at;  /* when a dropped reader was last logged */
	unsigned drops_unlogged;  /* readers dropped since, not logged */
	unsigned logged, unlogged; /* data plane events logged this second, and not */
} E;

static void numbering_start(void)
{
	struct timespec ts;

	if (E.start_ns)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	E.start_ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* "<veerd's start, ns since the epoch, hex>-<sequence>": unique across restarts. */
static void next_id(char *id, size_t len)
{
	numbering_start();
	snprintf(id, len, "%016llx-%llu", (unsigned long long)E.start_ns,
		 (unsigned long long)++E.seq);
}

/* ---- clients ---- */

static size_t client_behind(const struct client *c)
{
	return c->len - c->off;
}

/* The ring's fd watched (reading) or not (paused). */
static void ring_watch(struct events *ev, bool on)
{
	if (ev->ring)
		loop_mod(ev->d->loop, veer_events_fd(ev->ring), on ? EPOLLIN : 0);
}

static void ring_pause(struct events *ev)
{
	if (ev->paused_since)
		return;
	ev->paused_since = loop_now();
	ring_watch(ev, false);
}

/* Reading again once no follower is more than CLIENT_QUEUE_LOW behind. */
static void ring_resume_check(struct events *ev)
{
	if (!ev->paused_since)
		return;
	for (struct client *c = ev->clients; c; c = c->next)
		if (c->follow && client_behind(c) > CLIENT_QUEUE_LOW)
			return;
	ev->paused_since = 0;
	ring_watch(ev, true);
}

static void client_close(struct events *ev, struct client *c)
{
	struct client **p;

	for (p = &ev->clients; *p && *p != c; p = &(*p)->next)
		;
	if (*p)
		*p = c->next;
	ev->nclients--;
	loop_del(ev->d->loop, c->fd);
	close(c->fd);
	free(c->out);
	free(c);
	ring_resume_check(ev);
}

/*
 * Logged at most once a DROP_LOG_NS, with the count of those dropped meanwhile: a reader that
 * reconnects as fast as it is dropped must not fill the log.
 */
#define DROP_LOG_NS 10000000000ull

static void client_drop(struct events *ev, struct client *c, const char *why)
{
	uint64_t now = loop_now();

	E.clients_dropped++;
	if (!E.drop_logged_at || now - E.drop_logged_at >= DROP_LOG_NS) {
		if (E.drops_unlogged)
			log_warnx("events: dropped a veer events reader: %s (and %u more since the "
				  "last said)",
				  why, E.drops_unlogged);
		else
			log_warnx("events: dropped a veer events reader: %s", why);
		E.drop_logged_at = now;
		E.drops_unlogged = 0;
	} else {
		E.drops_unlogged++;
	}
	client_close(ev, c);
}

/* Writes what the socket takes; false when the client went (closed or dropped). */
static bool client_flush(struct events *ev, struct client *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->out + c->off, c->len - c->off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			client_close(ev, c);
			return false;
		}
		c->off += n;
	}
	if (c->off == c->len) {
		c->off = c->len = 0;
		/* Without --follow the backlog was all it asked for. */
		if (!c->follow) {
			client_close(ev, c);
			return false;
		}
	}
	if (loop_mod(ev->d->loop, c->fd, c->off < c->len ? EPOLLIN | EPOLLOUT : EPOLLIN)) {
		client_drop(ev, c, "cannot watch its socket");
		return false;
	}
	ring_resume_check(ev);
	return true;
}

/* Queues a line; written when the socket is writable. False when the client was dropped. */
static bool client_queue(struct events *ev, struct client *c, const char *line, size_t len)
{
	bool was_empty = c->off == c->len;

	if (c->len - c->off + len > CLIENT_QUEUE_MAX) {
		client_drop(ev, c, "it reads too slowly (4 MiB unread)");
		return false;
	}
	if (c->len + len > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		char *out;

		/* What was written is moved out first: the buffer holds the unread part only. */
		if (c->off) {
			memmove(c->out, c->out + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		while (cap < c->len + len)
			cap *= 2;
		out = cap > c->cap ? realloc(c->out, cap) : c->out;
		if (!out) {
			client_drop(ev, c, "out of memory");
			return false;
		}
		c->out = out;
		c->cap = cap > c->cap ? cap : c->cap;
	}
	memcpy(c->out + c->len, line, len);
	c->len += len;
	if (was_empty && loop_mod(ev->d->loop, c->fd, EPOLLIN | EPOLLOUT)) {
		client_drop(ev, c, "cannot watch its socket");
		return false;
	}
	if (c->follow && client_behind(c) > CLIENT_QUEUE_HIGH)
		ring_pause(ev);
	return true;
}

/* The request: {"follow": true|false}. Then the backlog, oldest first. */
static void client_request(struct events *ev, struct client *c)
{
	struct json_object *o = json_tokener_parse(c->req), *f;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    (json_object_object_get_ex(o, "follow", &f) &&
	     !json_object_is_type(f, json_type_boolean))) {
		json_object_put(o);
		client_drop(ev, c, "its request is no {\"follow\": true|false}");
		return;
	}
	c->follow = json_object_object_get_ex(o, "follow", &f) && json_object_get_boolean(f);
	c->asked = true;
	json_object_put(o);
	for (size_t i = 0; i < E.bcount; i++) {
		const char *line =
			E.backlog[(E.bhead + EVENTS_BACKLOG - E.bcount + i) % EVENTS_BACKLOG];

		if (!client_queue(ev, c, line, strlen(line)))
			return;
	}
	client_flush(ev, c);
}

static void on_client(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct events *ev = E.ev;
	struct client *c = arg;

	(void)l, (void)fd;
	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
		client_close(ev, c);
		return;
	}
	if (events & EPOLLIN) {
		char buf[512];
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			goto out;
		if (n <= 0) {
			/* The reader went (^C): nothing more to say to it. */
			client_close(ev, c);
			return;
		}
		if (c->asked)
			goto out; /* nothing more is asked of a client: ignored */
		for (ssize_t i = 0; i < n && !c->asked; i++) {
			if (buf[i] == '\n') {
				c->req[c->reqlen] = '\0';
				client_request(ev, c);
				return;
			}
			if (c->reqlen + 1 >= sizeof(c->req)) {
				client_drop(ev, c, "its request line is too long");
				return;
			}
			c->req[c->reqlen++] = buf[i];
		}
	}
out:
	if (events & EPOLLOUT)
		client_flush(ev, c);
}

static void on_accept(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct events *ev = arg;

	(void)events;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c;

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("events: cannot accept a reader");
			return;
		}
		if (ev->nclients >= CLIENTS_MAX) {
			log_warnx("events: a reader refused: %d read already", CLIENTS_MAX);
			close(cfd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c || loop_add(l, cfd, EPOLLIN, on_client, c)) {
			log_warnx("events: cannot take a reader");
			free(c);
			close(cfd);
			continue;
		}
		c->fd = cfd;
		c->next = ev->clients;
		ev->clients = c;
		ev->nclients++;
	}
}

/* The socket of a veerd before this one (killed) is in the way: veerd's lock says it is gone. */
static int listen_start(struct events *ev)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t mask;
	int fd, err;

	veer_events_socket_path(ev->path, sizeof(ev->path));
	if (strlen(ev->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, ev->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(ev->path);
	/* Flows' addresses are the users': the owner (root) alone reads them. */
	mask = umask(0177);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16) ? -errno : 0;
	umask(mask);
	if (!err)
		err = loop_add(ev->d->loop, fd, EPOLLIN, on_accept, ev);
	if (err) {
		close(fd);
		unlink(ev->path);
		return err;
	}
	ev->listen_fd = fd;
	return 0;
}

/* ---- publishing ---- */

static void backlog_add(const char *line, size_t len)
{
	char *copy = malloc(len + 1);

	if (!copy)
		return;
	memcpy(copy, line, len + 1);
	free(E.backlog[E.bhead]);
	E.backlog[E.bhead] = copy;
	E.bhead = (E.bhead + 1) % EVENTS_BACKLOG;
	if (E.bcount < EVENTS_BACKLOG)
		E.bcount++;
}

/* o holds id, type and time first: it is logged, handed on, and kept. */
static void publish(enum veer_event_type type, struct json_object *o, bool data_plane)
{
	const char *body = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	struct json_object *idv;
	size_t len = strlen(body);
	char *line;

	if (type < VEER_EVENT_MAX)
		E.by_type[type]++;
	if (!data_plane || E.logged < LOG_PER_SECOND) {
		log_info("event %s", body);
		E.logged += data_plane;
	} else {
		E.unlogged++;
	}
	json_object_object_get_ex(o, "id", &idv);
	for (size_t i = 0; i < E.nsinks; i++)
		E.sinks[i].cb(type, json_object_get_string(idv), body, len, E.sinks[i].arg);
	line = malloc(len + 2);
	if (!line)
		return;
	memcpy(line, body, len);
	line[len] = '\n';
	line[len + 1] = '\0';
	backlog_add(line, len + 1);
	if (E.ev) {
		for (struct client *c = E.ev->clients, *next; c; c = next) {
			next = c->next;
			if (c->asked && c->follow)
				client_queue(E.ev, c, line, len + 1);
		}
	}
	free(line);
}

void event_emit(enum veer_event_type type, struct json_object *fields)
{
	struct json_object *o = json_object_new_object();
	const char *name = veer_event_type_name(type);
	char id[48], when[40];
	struct timespec ts;

	if (!o) {
		json_object_put(fields);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	next_id(id, sizeof(id));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "type", json_object_new_string(name ? name : "?"));
	json_object_object_add(o, "time",
			       json_object_new_string(veer_fmt_time(&ts, when, sizeof(when))));
	if (fields) {
		json_object_object_foreach(fields, k, val)
			json_object_object_add(o, k, json_object_get(val));
		json_object_put(fields);
	}
	publish(type, o, false);
	json_object_put(o);
}

int event_sink_add(event_sink_cb cb, void *arg)
{
	struct sink *s = realloc(E.sinks, (E.nsinks + 1) * sizeof(*s));

	if (!s)
		return -ENOMEM;
	E.sinks = s;
	E.sinks[E.nsinks++] = (struct sink){cb, arg};
	return 0;
}

void event_sink_del(event_sink_cb cb, void *arg)
{
	for (size_t i = 0; i < E.nsinks; i++) {
		if (E.sinks[i].cb != cb || E.sinks[i].arg != arg)
			continue;
		E.sinks[i] = E.sinks[--E.nsinks];
		return;
	}
}

/* ---- the data plane's ring ---- */

static int on_record(const struct veer_event *e, void *arg)
{
	struct json_object *o;
	char id[48];

	(void)arg;
	next_id(id, sizeof(id));
	o = veer_event_json(e, id);
	if (!o)
		return 0; /* this one is lost; the rest are read on */
	publish(e->type, o, true);
	json_object_put(o);
	return 0;
}

static void on_ring(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct events *ev = arg;
	int n;

	(void)l, (void)fd, (void)events;
	if (ev->paused_since)
		return;
	n = veer_events_read(ev->ring, RING_BATCH);
	if (n < 0)
		log_warnx("events: cannot read the data plane's ring: %s", strerror(-n));
}

/* The map id of what is pinned as veer_events now; 0 when nothing is. */
static __u32 ring_pinned_id(void)
{
	char path[PATH_MAX];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd;

	snprintf(path, sizeof(path), "%s/veer_events", veer_pin_dir());
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

static void ring_close(struct events *ev)
{
	if (!ev->ring)
		return;
	loop_del(ev->d->loop, veer_events_fd(ev->ring));
	/* What it still holds is read first: the pins may be going, the events are not. */
	veer_events_consume(ev->ring);
	veer_events_close(ev->ring);
	ev->ring = NULL;
	ev->ring_id = 0;
}

/*
 * Opens the pinned ring if it is not open, or reopens it when the pins were replaced (veer
 * detached and attached again): quietly while none is pinned.
 */
static void ring_sync(struct events *ev)
{
	struct veer_event_count c[VEER_EVENT_SLOTS];
	__u32 id = ring_pinned_id();
	__u64 lost = 0;
	int err;

	if (ev->ring && id == ev->ring_id)
		return;
	ring_close(ev);
	if (!id)
		return;
	err = veer_events_open(&ev->ring, on_record, ev);
	if (!err) {
		err = loop_add(ev->d->loop, veer_events_fd(ev->ring), EPOLLIN, on_ring, ev);
		if (err) {
			veer_events_close(ev->ring);
			ev->ring = NULL;
		}
	}
	if (err) {
		log_warnx("events: cannot read the data plane's ring: %s", strerror(-err));
		return;
	}
	ev->ring_id = id;
	if (ev->paused_since)
		ring_watch(ev, false);
	/* Counted from here: what was lost before is said once. */
	memset(ev->lost_seen, 0, sizeof(ev->lost_seen));
	if (!veer_events_counts(ev->ring, c)) {
		for (int i = 0; i < VEER_EVENT_SLOTS; i++) {
			ev->lost_seen[i] = c[i].lost;
			E.lost[i] = c[i].lost;
			lost += c[i].lost;
		}
	}
	if (lost)
		log_info("events: the data plane has lost %llu event%s to a full ring since its "
			 "maps were made",
			 (unsigned long long)lost, lost == 1 ? "" : "s");
	veer_events_read(ev->ring, RING_BATCH);
}

/*
 * Every VEER_EVENTS_POLL_MS the ring is read (new flows wake veerd only once a batch waits);
 * once a second, records lost to a full ring, what the log left out, the ring's pins.
 */
static void on_tick(struct loop *l, struct loop_timer *t)
{
	struct events *ev = t->arg;
	struct veer_event_count c[VEER_EVENT_SLOTS];
	uint64_t now = loop_now();
	int n;

	loop_timer_at(l, t, now + VEER_EVENTS_POLL_MS * 1000000ull);
	/* Paused too long: the readers still behind go, and the ring is read again. */
	if (ev->paused_since && now - ev->paused_since > PAUSE_MAX_NS) {
		for (struct client *c = ev->clients, *next; c; c = next) {
			next = c->next;
			if (c->follow && client_behind(c) > CLIENT_QUEUE_LOW)
				client_drop(ev, c, "it reads too slowly (behind for a second)");
		}
		ring_resume_check(ev);
	}
	if (ev->ring && !ev->paused_since) {
		n = veer_events_read(ev->ring, RING_BATCH);
		if (n < 0)
			log_warnx("events: cannot read the data plane's ring: %s", strerror(-n));
	}
	if (now < ev->second_at)
		return;
	ev->second_at = now + TICK_NS;
	if (ev->ring && !veer_events_counts(ev->ring, c)) {
		__u64 lost = 0;

		for (int i = 0; i < VEER_EVENT_SLOTS; i++) {
			if (c[i].lost > ev->lost_seen[i])
				lost += c[i].lost - ev->lost_seen[i];
			ev->lost_seen[i] = c[i].lost;
			E.lost[i] = c[i].lost;
		}
		if (lost)
			log_warnx("events: %llu data plane event%s lost: the ring was full",
				  (unsigned long long)lost, lost == 1 ? "" : "s");
	}
	if (E.unlogged)
		log_info("events: %u more data plane event%s in the last second, not logged (the "
			 "stream and the webhooks have them)",
			 E.unlogged, E.unlogged == 1 ? "" : "s");
	E.logged = E.unlogged = 0;
	ring_sync(ev);
}

/* ---- metrics ---- */

static void metrics_part(struct metrics_out *o, void *arg)
{
	(void)arg;
	metrics_family(o, "veer_events_total", "counter",
		       "Events veerd published (logged, served, handed to the webhooks), by type.");
	for (unsigned t = 1; t < VEER_EVENT_MAX; t++) {
		char l[64] = "";

		metrics_label(l, sizeof(l), "type", veer_event_type_name(t));
		metrics_counter(o, "veer_events_total", l, E.by_type[t]);
	}
	metrics_family(o, "veer_events_lost_total", "counter",
		       "Data plane events not written: the ring buffer was full. The data plane's "
		       "count, from when its maps were made (losses while veerd was down too).");
	for (unsigned t = 1; t <= VEER_EVENT_TABLE_FULL; t++) {
		char l[64] = "";

		metrics_label(l, sizeof(l), "type", veer_event_type_name(t));
		metrics_counter(o, "veer_events_lost_total", l, E.lost[t]);
	}
	metrics_family(o, "veer_events_readers", "gauge", "veer events readers connected.");
	metrics_gauge(o, "veer_events_readers", "", E.ev ? E.ev->nclients : 0);
	metrics_family(o, "veer_events_readers_dropped_total", "counter",
		       "veer events readers dropped for reading too slowly.");
	metrics_counter(o, "veer_events_readers_dropped_total", "", E.clients_dropped);
}

/* ---- the stream ---- */

int events_new(struct events **out, struct veerd *d)
{
	struct events *ev = calloc(1, sizeof(*ev));
	int err;

	if (!ev)
		return -ENOMEM;
	ev->d = d;
	ev->listen_fd = -1;
	numbering_start();
	E.ev = ev;
	err = listen_start(ev);
	if (err) {
		log_warnx("events: cannot serve veer events on %s: %s", ev->path, strerror(-err));
		goto fail;
	}
	err = metrics_part_add(metrics_part, NULL);
	if (err)
		goto fail;
	ring_sync(ev);
	if (!ev->ring)
		log_info("events: no data plane ring in %s yet: looked for every second",
			 veer_pin_dir());
	ev->tick.cb = on_tick;
	ev->tick.arg = ev;
	ev->second_at = loop_now() + TICK_NS;
	err = loop_timer_at(d->loop, &ev->tick, loop_now() + VEER_EVENTS_POLL_MS * 1000000ull);
	if (err)
		goto fail;
	*out = ev;
	return 0;
fail:
	events_free(ev);
	return err;
}

void events_free(struct events *ev)
{
	if (!ev)
		return;
	metrics_part_del(metrics_part, NULL);
	loop_timer_cancel(ev->d->loop, &ev->tick);
	ring_close(ev);
	while (ev->clients)
		client_close(ev, ev->clients);
	if (ev->listen_fd >= 0) {
		loop_del(ev->d->loop, ev->listen_fd);
		close(ev->listen_fd);
		unlink(ev->path);
	}
	if (E.ev == ev)
		E.ev = NULL;
	free(ev);
}

void event_applied(struct json_object *o, const struct veer_apply_result *r)
{
	json_object_object_add(o, "vips_added", json_object_new_int(r->vips_added));
	json_object_object_add(o, "vips_changed", json_object_new_int(r->vips_changed));
	json_object_object_add(o, "vips_removed", json_object_new_int(r->vips_removed));
	json_object_object_add(o, "backends_added", json_object_new_int(r->backends_added));
	json_object_object_add(o, "backends_changed", json_object_new_int(r->backends_changed));
	json_object_object_add(o, "backends_removed", json_object_new_int(r->backends_removed));
	event_emit(VEER_EVENT_CONFIG_APPLIED, o);
}
