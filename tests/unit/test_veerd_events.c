// SPDX-License-Identifier: GPL-2.0
/*
 * veerd's event stream (user/veerd/events.c) on its loop, as veerd runs it, over a pin directory
 * of the test's own: veerd's events and the data plane's (a drop burst made by BPF_PROG_RUN of
 * the load balancer on the pinned maps) reach the sinks and the `veer events` readers as the
 * same JSON lines; a reader without follow gets what veerd holds and the end; a reader that
 * does not read is dropped while the others get every event and the loop never waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "ctl_pins.h"
#include "internal.h"
#include "veerd.h"

static void stop_cb(struct loop *l, struct loop_timer *t)
{
	(void)t;
	loop_stop(l);
}

/* Runs the loop for ms: what is ready is handled, then it returns. */
static void turn(struct loop *l, unsigned ms)
{
	struct loop_timer t = {.cb = stop_cb};

	loop_timer_at(l, &t, loop_now() + ms * 1000000ull);
	loop_run(l);
	loop_timer_cancel(l, &t);
}

struct reader {
	int fd;
	char buf[1 << 16];
	size_t len;
	size_t lines;
	bool eof;
	char first[1 << 16], last[1 << 16]; /* the first and the latest line */
};

static bool reader_open(struct reader *r, bool follow)
{
	const char *req = follow ? "{\"follow\":true}\n" : "{\"follow\":false}\n";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(r, 0, sizeof(*r));
	veer_events_socket_path(sa.sun_path, sizeof(sa.sun_path));
	r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return ASSERT_TRUE(r->fd >= 0, "socket") &&
	       ASSERT_OK(connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0,
			 "connect to the event stream") &&
	       ASSERT_EQ(write(r->fd, req, strlen(req)), strlen(req), "request") &&
	       ASSERT_OK(fcntl(r->fd, F_SETFL, O_NONBLOCK), "non-blocking");
}

/* Reads what is there, counting whole lines. */
static void reader_read(struct reader *r)
{
	for (;;) {
		ssize_t n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len, 0);
		char *line, *nl;

		if (n <= 0) {
			r->eof |= n == 0 || (errno != EAGAIN && errno != EINTR);
			return;
		}
		r->len += n;
		r->buf[r->len] = '\0';
		for (line = r->buf; (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = '\0';
			if (!r->lines++)
				snprintf(r->first, sizeof(r->first), "%s", line);
			snprintf(r->last, sizeof(r->last), "%s", line);
		}
		r->len -= line - r->buf;
		memmove(r->buf, line, r->len);
	}
}

static const char *jfield(const char *line, const char *k, char *out, size_t len)
{
	struct json_object *o = json_tokener_parse(line), *v;

	out[0] = '\0';
	if (o && json_object_object_get_ex(o, k, &v))
		snprintf(out, len, "%s", json_object_get_string(v));
	json_object_put(o);
	return out;
}

static struct {
	size_t n;
	char last_body[1024], last_id[64];
	enum veer_event_type last_type;
} sunk;

static void sink(enum veer_event_type type, const char *id, const char *body, size_t len, void *arg)
{
	(void)arg;
	sunk.n++;
	sunk.last_type = type;
	snprintf(sunk.last_id, sizeof(sunk.last_id), "%s", id);
	snprintf(sunk.last_body, sizeof(sunk.last_body), "%.*s", (int)len, body);
}

static void emit(enum veer_event_type type, const char *k, const char *v)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, k, json_object_new_string(v));
	event_emit(type, o);
}

/* An IPv4 frame that ends with its Ethernet header, through the load balancer: bad_l3. */
static bool dp_drop(struct lb *skel)
{
	__u8 runt[14] = {[12] = 0x08};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = runt, .data_size_in = sizeof(runt),
		    .repeat = 1);

	return ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.veer_lb), &opts),
			 "BPF_PROG_RUN") &&
	       ASSERT_EQ(opts.retval, XDP_DROP, "a runt is dropped");
}

/* The load balancer's programs loaded against the pin directory's maps (whose lock cv holds). */
static struct lb *dp_load(void)
{
	struct lb *skel = NULL;

	if (ASSERT_OK(veer_lb_prepare(&skel, false), "match the pins") &&
	    !ASSERT_OK(lb__load(skel), "load the data plane")) {
		lb__destroy(skel);
		skel = NULL;
	}
	return skel;
}

static void stream_body(struct ctl_veer *cv, struct loop *l)
{
	struct veerd d = {.loop = l};
	struct veer_settings s = {.event_drop_burst = 1};
	struct reader once, follow, slow;
	struct events *ev = NULL;
	struct lb *skel;
	char a[128], b[128];
	uint64_t t0, worst = 0;

	/* Before the stream starts (veerd's first apply): kept for the first readers. */
	emit(VEER_EVENT_CONFIG_APPLIED, "source", "file");
	if (!ASSERT_OK(events_new(&ev, &d), "events_new") ||
	    !ASSERT_OK(event_sink_add(sink, NULL), "sink"))
		goto out;
	emit(VEER_EVENT_BACKEND_DOWN, "backend", "198.18.11.2:80");
	if (!ASSERT_EQ(sunk.n, 1, "the sink saw the event") ||
	    !ASSERT_EQ(sunk.last_type, VEER_EVENT_BACKEND_DOWN, "its type"))
		goto out;

	/* Without follow: what veerd holds, oldest first, then the end. */
	if (!reader_open(&once, false))
		goto out;
	for (int i = 0; i < 100 && !once.eof; i++) {
		turn(l, 2);
		reader_read(&once);
	}
	close(once.fd);
	ASSERT_TRUE(once.eof, "the stream ends without follow");
	ASSERT_EQ(once.lines, 2, "the events veerd holds");
	ASSERT_STREQ(jfield(once.first, "type", a, sizeof(a)), "config_applied", "oldest first");
	ASSERT_STREQ(once.last, sunk.last_body, "a reader and a sink see the same bytes");
	ASSERT_STREQ(jfield(once.last, "id", a, sizeof(a)), sunk.last_id, "the same id");

	/* Following: the two held, then veerd's and the data plane's as they come. */
	if (!reader_open(&follow, true) || !reader_open(&slow, true))
		goto out;
	/* The slow reader never reads: a small buffer fills at once. */
	setsockopt(slow.fd, SOL_SOCKET, SO_RCVBUF, &(int){4096}, sizeof(int));
	turn(l, 5);
	emit(VEER_EVENT_BACKEND_UP, "backend", "198.18.11.2:80");
	skel = dp_load();
	if (!skel || !ASSERT_OK(veer_settings_set(cv->v, &s), "drop burst of 1") ||
	    !dp_drop(skel)) {
		lb__destroy(skel);
		goto out;
	}
	lb__destroy(skel);
	for (int i = 0; i < 100 && follow.lines < 4; i++) {
		turn(l, 2);
		reader_read(&follow);
	}
	ASSERT_EQ(follow.lines, 4, "held, then veerd's and the data plane's");
	ASSERT_STREQ(jfield(follow.last, "type", a, sizeof(a)), "drop_burst", "the data plane's");
	ASSERT_STREQ(jfield(follow.last, "reason", a, sizeof(a)), "bad_l3", "its reason");
	ASSERT_STREQ(follow.last, sunk.last_body, "the sink saw it too");

	/* 20,000 events of ~300 bytes, more than a reader may leave unread. */
	for (int i = 0; i < 20000; i++) {
		char big[200];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		emit(VEER_EVENT_CONFIG_REFUSED, "error", big);
		if (i % 500 == 499) {
			t0 = loop_now();
			turn(l, 0);
			worst = loop_now() - t0 > worst ? loop_now() - t0 : worst;
			reader_read(&follow);
		}
	}
	for (int i = 0; i < 200 && follow.lines < 20004; i++) {
		turn(l, 1);
		reader_read(&follow);
	}
	ASSERT_EQ(follow.lines, 20004, "a reader that reads gets every event");
	ASSERT_TRUE(worst < 500000000ull, "no turn of the loop waits on a reader");
	/* The one that did not read was dropped: what it holds, then the end. */
	for (int i = 0; i < 1000 && !slow.eof; i++)
		reader_read(&slow);
	ASSERT_TRUE(slow.eof, "the slow reader is dropped");
	ASSERT_TRUE(slow.lines < 20004, "before the end of the events");
	/* Ids: veerd's start, then a sequence one more each time. */
	jfield(follow.first, "id", a, sizeof(a));
	jfield(follow.last, "id", b, sizeof(b));
	ASSERT_TRUE(strlen(a) > 17 && !strncmp(a, b, 17), "one start in every id");
	ASSERT_EQ(strtoull(b + 17, NULL, 10) - strtoull(a + 17, NULL, 10), 20003, "a sequence");
	close(follow.fd);
	close(slow.fd);
out:
	event_sink_del(sink, NULL);
	events_free(ev);
}

VEER_TEST(veerd_events_stream)
{
	struct ctl_veer cv;
	struct loop *l;

	if (!ctl_veer_up(&cv))
		return;
	mkdir(VEER_DAEMON_RUN_DIR, 0700);
	if (ASSERT_OK(loop_new(&l), "loop")) {
		stream_body(&cv, l);
		loop_free(l);
	}
	ctl_veer_down(&cv);
}
