// SPDX-License-Identifier: GPL-2.0
/*
 * libcurl's multi interface on veerd's loop: curl tells which sockets to watch and when to
 * wake it, the loop calls it back. Sources' lists and watches and webhook deliveries share
 * it; none of them ever waits on the network.
 *
 * libcurl refuses to add or remove a handle from inside its own callbacks (a write callback
 * that reacts to a watch's event by starting a request would): those calls are queued and
 * done when curl returns to the loop.
 */
#include <errno.h>
#include <stdlib.h>
#include "veerd.h"

struct xfer {
	http_done_cb done;
	void *arg;
};

enum op_kind { OP_START, OP_CANCEL };

struct op {
	enum op_kind kind;
	CURL *easy;
};

static struct {
	CURLM *multi;
	struct loop *loop;
	struct loop_timer timer;
	bool in_curl;
	struct op *ops;
	size_t nops, cap;
} h;

static void drain(void);

static void xfer_end(CURL *easy, bool call, CURLcode rc)
{
	struct xfer *x = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	curl_multi_remove_handle(h.multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	if (!x)
		return;
	if (call)
		x->done(easy, rc, x->arg);
	free(x);
}

static void finished(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(h.multi, &left)))
		if (m->msg == CURLMSG_DONE)
			xfer_end(m->easy_handle, true, m->data.result);
}

static void action(curl_socket_t fd, int flags)
{
	int running;

	h.in_curl = true;
	curl_multi_socket_action(h.multi, fd, flags, &running);
	h.in_curl = false;
	drain();
	finished();
}

static void on_fd(struct loop *l, int fd, uint32_t events, void *arg)
{
	int flags = 0;

	(void)l;
	(void)arg;
	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	action(fd, flags);
}

static void on_timer(struct loop *l, struct loop_timer *t)
{
	(void)l;
	(void)t;
	action(CURL_SOCKET_TIMEOUT, 0);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (socketp) {
			loop_del(h.loop, fd);
			curl_multi_assign(h.multi, fd, NULL);
		}
		return 0;
	}
	if (!socketp) {
		if (loop_add(h.loop, fd, ev, on_fd, NULL))
			return -1;
		curl_multi_assign(h.multi, fd, &h);
		return 0;
	}
	return loop_mod(h.loop, fd, ev) ? -1 : 0;
}

static int timer_cb(CURLM *multi, long ms, void *userp)
{
	(void)multi;
	(void)userp;
	if (ms < 0)
		loop_timer_cancel(h.loop, &h.timer);
	else
		loop_timer_at(h.loop, &h.timer, loop_now() + (uint64_t)ms * 1000000);
	return 0;
}

int http_init(struct loop *l)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return -ENOMEM;
	h.multi = curl_multi_init();
	if (!h.multi) {
		curl_global_cleanup();
		return -ENOMEM;
	}
	h.loop = l;
	h.timer.cb = on_timer;
	curl_multi_setopt(h.multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h.multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	return 0;
}

void http_exit(void)
{
	if (!h.multi)
		return;
	loop_timer_cancel(h.loop, &h.timer);
	curl_multi_cleanup(h.multi);
	free(h.ops);
	h = (typeof(h)){};
	curl_global_cleanup();
}

static int op_queue(enum op_kind kind, CURL *easy)
{
	if (h.nops == h.cap) {
		size_t cap = h.cap ? h.cap * 2 : 8;
		struct op *ops = realloc(h.ops, cap * sizeof(*ops));

		if (!ops)
			return -ENOMEM;
		h.ops = ops;
		h.cap = cap;
	}
	h.ops[h.nops++] = (struct op){kind, easy};
	return 0;
}

static int start_now(CURL *easy)
{
	CURLMcode mc = curl_multi_add_handle(h.multi, easy);

	return mc == CURLM_OK ? 0 : mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
}

static void drain(void)
{
	for (size_t i = 0; i < h.nops; i++) {
		struct op *o = &h.ops[i];

		if (o->kind == OP_CANCEL) {
			xfer_end(o->easy, false, CURLE_OK);
		} else if (start_now(o->easy)) {
			/* Reported as the transfer's own failure, as any other would be. */
			xfer_end(o->easy, true, CURLE_OUT_OF_MEMORY);
		}
	}
	h.nops = 0;
}

int http_start(CURL *easy, http_done_cb done, void *arg)
{
	struct xfer *x = malloc(sizeof(*x));
	int err;

	if (!x)
		return -ENOMEM;
	*x = (struct xfer){done, arg};
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
	err = h.in_curl ? op_queue(OP_START, easy) : start_now(easy);
	if (err) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(x);
	}
	return err;
}

void http_cancel(CURL *easy)
{
	struct xfer *x = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	if (!x)
		return;
	/* Queued: a start not made yet is simply dropped with it, in order. */
	if (h.in_curl && !op_queue(OP_CANCEL, easy))
		return;
	xfer_end(easy, false, CURLE_OK);
}
