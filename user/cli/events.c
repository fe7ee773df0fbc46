// SPDX-License-Identifier: GPL-2.0
/*
 * veer events: the event stream, one line per event as `cilium monitor` prints, or one JSON
 * object per line (-j). From veerd when a veerd serves the pin directory (its own events and
 * the data plane's, which it reads); else from the data plane's ring buffer directly, which
 * holds the data plane's events only. A ring has one reader position: reading it while veerd
 * does would take events from veerd, so the ring is read only when no veerd runs. Without
 * --follow it is only looked at (the records stay for veerd); a follower of the ring hands over
 * to veerd's stream as soon as a veerd answers, leaving the rest of the ring to it.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

static volatile sig_atomic_t stopping;

static void on_sigint(int sig)
{
	(void)sig;
	stopping = 1;
}

struct ev_filter {
	__u32 types; /* 1u << enum veer_event_type for each wanted; 0 = every type */
};

/* --type T, or a comma-separated list; an unknown name is named with the valid ones. */
static int types_parse(const char *arg, __u32 *types)
{
	char *copy = strdup(arg), *rest, *t;
	int rc = 0;

	if (!copy)
		return EXIT_FAILED;
	/* strsep, not strtok: "a,,b" has an empty name, refused as "" is. */
	for (rest = copy; (t = strsep(&rest, ","));) {
		enum veer_event_type type = veer_event_type_parse(t);

		if (!*t) {
			fprintf(stderr, "veer: empty event type (want %s)\n",
				veer_event_type_list());
			rc = EXIT_USAGE;
			break;
		}
		if (type == VEER_EVENT_NONE) {
			fprintf(stderr, "veer: unknown event type '%s' (want %s)\n", t,
				veer_event_type_list());
			rc = EXIT_USAGE;
			break;
		}
		*types |= 1u << type;
	}
	free(copy);
	return rc;
}

static bool wanted(const struct ev_filter *f, struct json_object *o)
{
	const char *type = jstr(o, "type");

	if (!f->types)
		return true;
	return type && (f->types & (1u << veer_event_type_parse(type)));
}

/* A value as text: strings as they are, the rest as JSON. */
static const char *val_text(struct json_object *v)
{
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void print_where(struct json_object *o)
{
	const char *ifname = jstr(o, "interface");
	struct json_object *v;

	if (ifname)
		printf(" on %s", ifname);
	else if (json_object_object_get_ex(o, "ifindex", &v))
		printf(" on ifindex %s", val_text(v));
}

/* "tcp 198.18.1.2:40000 -> 198.18.100.10:80", when the event carries a tuple. */
static void print_tuple(struct json_object *o, const char *src, const char *dst)
{
	const char *s = jstr(o, src), *d = jstr(o, dst);
	struct json_object *p;

	if (!s || !d)
		return;
	/* A protocol the data plane did not read (null) is "ip"; one by number, "ip/N". */
	if (!json_object_object_get_ex(o, "protocol", &p) || !p)
		printf(" ip %s -> %s", s, d);
	else if (json_object_is_type(p, json_type_int))
		printf(" ip/%d %s -> %s", json_object_get_int(p), s, d);
	else
		printf(" %s %s -> %s", json_object_get_string(p), s, d);
}

static bool is_key(const char *k, const char *const *keys)
{
	for (; *keys; keys++)
		if (!strcmp(k, *keys))
			return true;
	return false;
}

/* One line per event: time, type, then what the type says, as `cilium monitor` does. */
static void print_text(struct json_object *o)
{
	static const char *const common[] = {"id", "type", "time", NULL};
	const char *type = jstr(o, "type") ?: "?", *time = jstr(o, "time") ?: "-";
	struct json_object *v;

	printf("%s %s", time, type);
	/* Fields veer could not name are null in JSON, "?" here. */
	if (!strcmp(type, "flow_new")) {
		print_tuple(o, "client", "vip");
		printf(" backend %s %s", jstr(o, "backend") ?: "?", jstr(o, "mode") ?: "?");
		print_where(o);
	} else if (!strcmp(type, "drop_burst")) {
		printf(" %s", jstr(o, "reason") ?: "?");
		if (json_object_object_get_ex(o, "threshold", &v))
			printf(" reached %s drops in a second", val_text(v));
		print_where(o);
		if (jstr(o, "source")) {
			printf(", last");
			print_tuple(o, "source", "destination");
		}
	} else if (!strcmp(type, "table_full")) {
		printf(" %s %s table refused", jstr(o, "table") ?: "?", jstr(o, "family") ?: "");
		print_tuple(o, "client", "destination");
		print_where(o);
	} else {
		/* veerd's events: their fields as key=value, in the order veerd wrote them. */
		json_object_object_foreach(o, k, val)
		{
			const char *text;

			if (is_key(k, common))
				continue;
			text = val_text(val);
			printf(strpbrk(text, " \t") ? " %s=\"%s\"" : " %s=%s", k, text);
		}
	}
	putchar('\n');
}

/* Written out by the caller once it has printed what there was (flush_out): one write a batch. */
static void print_event(const struct ev_filter *f, struct json_object *o)
{
	if (!wanted(f, o))
		return;
	if (json_out)
		printf("%s\n", json_object_to_json_string_ext(
				       o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_text(o);
}

/* -EPIPE (or another -errno) once nobody reads the output any more. */
static int flush_out(void)
{
	return fflush(stdout) || ferror(stdout) ? -(errno ?: EIO) : 0;
}

/* ---- from veerd ---- */

static int daemon_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* fd: connected to veerd's event stream. */
static int from_daemon_fd(int fd, const struct ev_filter *f, bool follow)
{
	const char *req = follow ? "{\"follow\":true}\n" : "{\"follow\":false}\n";
	char buf[65536];
	size_t have = 0;
	int rc = EXIT_OK;

	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		fprintf(stderr, "veer: cannot ask veerd for its events: %s\n", strerror(errno));
		close(fd);
		return EXIT_FAILED;
	}
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		char *line, *nl;

		if (n < 0 && errno == EINTR && !stopping)
			continue;
		if (n < 0 && stopping)
			break;
		if (n < 0) {
			fprintf(stderr, "veer: cannot read veerd's events: %s\n", strerror(errno));
			rc = EXIT_FAILED;
			break;
		}
		if (n == 0) {
			/* Without --follow veerd ends the stream once it has sent what it holds. */
			if (follow && !stopping) {
				fprintf(stderr,
					"veer: veerd ended the stream (it stopped, or dropped "
					"this reader as too slow)\n");
				rc = EXIT_FAILED;
			}
			break;
		}
		have += n;
		buf[have] = '\0';
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
			struct json_object *o;

			/* Every event as JSON: veerd's line is the output, as it is. */
			if (json_out && !f->types) {
				fwrite(line, 1, nl + 1 - line, stdout);
				continue;
			}
			*nl = '\0';
			o = json_tokener_parse(line);
			if (!o || !json_object_is_type(o, json_type_object)) {
				fprintf(stderr,
					"veer: veerd sent a line that is no JSON object: %.80s\n",
					line);
				json_object_put(o);
				continue;
			}
			print_event(f, o);
			json_object_put(o);
		}
		if (flush_out())
			stopping = 1; /* stdout is gone: nobody reads on */
		have -= line - buf;
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1) {
			fprintf(stderr, "veer: veerd sent a line longer than %zu bytes\n", have);
			rc = EXIT_FAILED;
			break;
		}
		if (stopping)
			break;
	}
	close(fd);
	return rc;
}

static int from_daemon(int pid, const struct ev_filter *f, bool follow)
{
	char path[VEER_EVENTS_SOCKET_MAX + 64];
	int fd;

	veer_events_socket_path(path, sizeof(path));
	fd = daemon_connect(path);
	if (fd < 0) {
		fprintf(stderr,
			"veer: veerd (pid %d) serves %s but its event stream %s cannot be "
			"reached: %s\n",
			pid, veer_pin_dir(), path, strerror(-fd));
		return EXIT_FAILED;
	}
	return from_daemon_fd(fd, f, follow);
}

/* ---- from the ring buffer ---- */

/* How often a follower of the ring asks whether a veerd has started. */
#define DAEMON_CHECK_MS 150

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct ring_ctx {
	const struct ev_filter *f;
	unsigned long long start, seq;
};

static int on_ring_event(const struct veer_event *e, void *arg)
{
	struct ring_ctx *rc = arg;
	struct json_object *o;
	char id[48];

	/* Numbered as veerd numbers its own: the reader's start, then a sequence. */
	snprintf(id, sizeof(id), "%016llx-%llu", rc->start, ++rc->seq);
	o = veer_event_json(e, id);
	if (!o)
		return -ENOMEM;
	print_event(rc->f, o);
	json_object_put(o);
	return 0;
}

static int from_ring(const struct ev_filter *f, bool follow)
{
	char path[VEER_EVENTS_SOCKET_MAX + 64];
	struct ring_ctx ctx = {.f = f};
	uint64_t check_at = 0;
	struct veer_events *r;
	struct timespec ts;
	int n, dfd = -1;

	clock_gettime(CLOCK_REALTIME, &ts);
	ctx.start = (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	if (veer_events_open(&r, on_ring_event, &ctx))
		return EXIT_FAILED;
	fprintf(stderr,
		"veer: no veerd serves %s: reading the data plane's ring buffer (veerd's "
		"own events come only through veerd)\n",
		veer_pin_dir());
	veer_events_socket_path(path, sizeof(path));
	do {
		/*
		 * A veerd started: the ring is its to read (the records not read yet stay there
		 * for it, its log and its webhooks), and its stream is followed from here.
		 */
		if (follow && mono_ms() >= check_at) {
			check_at = mono_ms() + DAEMON_CHECK_MS;
			dfd = daemon_connect(path);
			if (dfd >= 0)
				break;
		}
		n = follow ? veer_events_poll(r, VEER_EVENTS_POLL_MS) : veer_events_peek(r);
		if (n >= 0 && flush_out())
			n = -EPIPE;
	} while (follow && !stopping && (n >= 0 || n == -EINTR));
	veer_events_close(r);
	if (dfd >= 0) {
		fprintf(stderr, "veer: veerd started: following its stream\n");
		return from_daemon_fd(dfd, f, true);
	}
	if (n < 0 && n != -EINTR && n != -EPIPE) {
		fprintf(stderr, "veer: cannot read the event stream: %s\n", strerror(-n));
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/*
 * veer events [-j] [--follow] [--type T]...: without --follow what is there now (what veerd
 * holds, or what waits in the ring), with it every event until SIGINT.
 */
int cmd_events(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"follow", no_argument, NULL, 'f'}, {"type", required_argument, NULL, 't'}, {}};
	struct sigaction sa = {.sa_handler = on_sigint};
	struct ev_filter f = {};
	bool follow = false;
	int rc = 0, opt, pid;

	while ((opt = next_opt(c, argc, argv, opts, &rc)) != -1) {
		if (opt == -2)
			return rc;
		if (opt == 'f')
			follow = true;
		else if (opt == 't' && (rc = types_parse(optarg, &f.types)))
			return rc;
	}
	if (positional(c, argc, 0, &rc))
		return rc;
	/* No SA_RESTART: a read or poll waiting for events returns on SIGINT. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	pid = veer_daemon_pid();
	return pid > 0 ? from_daemon(pid, &f, follow) : from_ring(&f, follow);
}
