// SPDX-License-Identifier: GPL-2.0
/*
 * The event loop: one epoll for every fd, and a binary heap of timers whose earliest deadline
 * is epoll_wait's timeout. Ten thousand health checks are ten thousand timers: a heap keeps
 * each arm and expiry at log n.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include "veerd.h"

struct loop_fd {
	loop_fd_cb cb;
	void *arg;
};

struct loop {
	int epfd;
	bool stop;
	struct loop_fd *fds; /* by fd */
	size_t nfds;
	struct loop_timer **heap; /* 1-based; heap[0] unused */
	size_t ntimers, cap;
};

uint64_t loop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int loop_new(struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return -errno;
	}
	*out = l;
	return 0;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l->fds);
	free(l->heap);
	free(l);
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};

	if (fd < 0)
		return -EBADF;
	if ((size_t)fd >= l->nfds) {
		size_t n = (size_t)fd + 1 > 2 * l->nfds ? (size_t)fd + 1 : 2 * l->nfds;
		struct loop_fd *fds = realloc(l->fds, n * sizeof(*fds));

		if (!fds)
			return -ENOMEM;
		memset(fds + l->nfds, 0, (n - l->nfds) * sizeof(*fds));
		l->fds = fds;
		l->nfds = n;
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	l->fds[fd].cb = cb;
	l->fds[fd].arg = arg;
	return 0;
}

int loop_mod(struct loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};

	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) ? -errno : 0;
}

void loop_del(struct loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nfds)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->fds[fd].cb = NULL;
	l->fds[fd].arg = NULL;
}

static void heap_swap(struct loop *l, size_t a, size_t b)
{
	struct loop_timer *t = l->heap[a];

	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->slot = a;
	l->heap[b]->slot = b;
}

static void heap_up(struct loop *l, size_t i)
{
	while (i > 1 && l->heap[i / 2]->when > l->heap[i]->when) {
		heap_swap(l, i, i / 2);
		i /= 2;
	}
}

static void heap_down(struct loop *l, size_t i)
{
	for (;;) {
		size_t c = 2 * i;

		if (c > l->ntimers)
			return;
		if (c + 1 <= l->ntimers && l->heap[c + 1]->when < l->heap[c]->when)
			c++;
		if (l->heap[i]->when <= l->heap[c]->when)
			return;
		heap_swap(l, i, c);
		i = c;
	}
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	size_t i = t->slot;

	if (!i)
		return;
	t->slot = 0;
	if (i != l->ntimers) {
		l->heap[i] = l->heap[l->ntimers];
		l->heap[i]->slot = i;
		l->ntimers--;
		heap_down(l, i);
		heap_up(l, i);
	} else {
		l->ntimers--;
	}
}

int loop_timer_at(struct loop *l, struct loop_timer *t, uint64_t when)
{
	loop_timer_cancel(l, t);
	if (l->ntimers + 1 >= l->cap) {
		size_t n = l->cap ? 2 * l->cap : 64;
		struct loop_timer **heap = realloc(l->heap, n * sizeof(*heap));

		if (!heap)
			return -ENOMEM;
		l->heap = heap;
		l->cap = n;
	}
	t->when = when;
	t->slot = ++l->ntimers;
	l->heap[t->slot] = t;
	heap_up(l, t->slot);
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

/* Fires every timer due by now; a callback may re-arm its own timer or any other. */
static void timers_run(struct loop *l)
{
	uint64_t now = loop_now();

	while (l->ntimers && l->heap[1]->when <= now) {
		struct loop_timer *t = l->heap[1];

		loop_timer_cancel(l, t);
		t->cb(l, t);
	}
}

static int timeout_ms(struct loop *l)
{
	uint64_t now, when;

	if (!l->ntimers)
		return -1;
	now = loop_now();
	when = l->heap[1]->when;
	if (when <= now)
		return 0;
	/* Rounded up: waking early would only spin until the deadline. */
	return (int)((when - now + 999999) / 1000000);
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[256];

	l->stop = false;
	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, 256, timeout_ms(l));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !l->stop; i++) {
			int fd = evs[i].data.fd;

			/* A callback may have removed a later fd of this batch. */
			if ((size_t)fd < l->nfds && l->fds[fd].cb)
				l->fds[fd].cb(l, fd, evs[i].events, l->fds[fd].arg);
		}
		if (!l->stop)
			timers_run(l);
	}
	return 0;
}
