// SPDX-License-Identifier: GPL-2.0
/*
 * A closed-loop key-value load client: GET rate and latency through veer's cache against plain
 * redis-server or memcached, with the same client and the same keys on both sides.
 *
 * One thread drives every connection through epoll. Each connection keeps a batch of P GETs in
 * flight: the batch goes out in one send(), and the next one only once all P replies are in,
 * so the load follows the server (closed loop) and every request of a batch is charged the
 * batch's latency, from the send to its last reply. Keys are "k:<i>", drawn uniformly or from
 * a Zipf distribution with a fixed seed, so two runs ask for the same keys in the same order.
 *
 * Values written by --fill are the key, ':', then 'v' up to the value size: --check can then
 * tell a reply for the wrong key from a right one without keeping the values around.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mempcpy */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>
#include "bench.h"

#define KV_MAX_CONNS	10000
#define KV_MAX_PIPELINE 4096
#define KV_MAX_KEYS	100000000u
#define KV_MAX_VALUE	(1u << 20)
#define KV_KEY_MAX	16	      /* "k:" and up to 10 digits */
#define KV_STALL_NS	5000000000ull /* no reply for this long: give up */
#define KV_FILL_BYTES	(256u << 10)  /* bound on one fill batch's requests */
#define KV_RBUF		(16u << 10)
#define MC_LINE_MAX	1024 /* "VALUE <key> <flags> <bytes> <cas>" with a 250-byte key fits */

/*
 * Latencies in nanoseconds, log-linear: exact below 256 ns, then 128 buckets per power of two,
 * so a percentile is off by at most 1/256 of its value whatever the spread of the run.
 */
#define HIST_SUB_BITS 7
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_BUCKETS  (64 * HIST_SUB)

enum kv_proto { KV_REDIS, KV_MEMCACHED };
enum kv_phase { KV_FILL, KV_GET };

struct kv_conn {
	int fd;
	bool busy;     /* a batch is in flight */
	bool want_out; /* EPOLLOUT is on: the batch is not all sent */
	char *wbuf;
	size_t wlen, woff;
	__u32 *keys; /* of the batch in flight, in the order of their replies */
	unsigned int nbatch, ndone;
	__u64 t_send;
	bool bad; /* the reply being read is wrong: counted once it is complete */
	redisReader *reader;
	/* memcached: unparsed bytes, and where we are in a reply */
	char *rbuf;
	size_t rpos, rlen;
	bool in_data, got_value;
	__u64 data_len, data_off;
};

struct kv {
	/* options */
	const char *server;
	struct sockaddr_in addr;
	enum kv_proto proto;
	unsigned int nconns, pipeline, fill_pipeline;
	__u32 nkeys, value_size;
	__u64 limit; /* requests to make; UINT64_MAX with --seconds */
	double seconds, zipf;
	bool fill, check;
	const char *cgroup;

	struct kv_conn *conns;
	int ep;
	enum kv_phase phase;
	unsigned int active; /* connections that still have work */
	__u64 next_fill, issued, completed, errors;
	__u64 deadline, last_progress, t_last;
	double *cdf; /* Zipf only */
	__u64 rng;
	char *vs; /* value_size 'v's: the tail of every value */
	__u64 hist[HIST_BUCKETS];
};

static char kv_rbuf[64 << 10]; /* redis: bytes go straight into the conn's reader */

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("veer-bench kv: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* xorshift64*: fast, and the same sequence on every run. */
static __u64 rng_next(struct kv *kv)
{
	kv->rng ^= kv->rng >> 12;
	kv->rng ^= kv->rng << 25;
	kv->rng ^= kv->rng >> 27;
	return kv->rng * 0x2545f4914f6cdd1dull;
}

static __u32 key_next(struct kv *kv)
{
	__u64 r = rng_next(kv);
	__u32 lo = 0, hi = kv->nkeys - 1;
	double u;

	if (!kv->cdf)
		return (__u32)(((r >> 32) * kv->nkeys) >> 32);
	u = (r >> 11) * 0x1.0p-53; /* [0, 1) */
	while (lo < hi) {
		__u32 mid = lo + (hi - lo) / 2;

		if (kv->cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* P(rank i) is proportional to 1 / (i + 1)^theta; "k:0" is the most popular key. */
static int zipf_init(struct kv *kv)
{
	double sum = 0;

	kv->cdf = malloc(sizeof(*kv->cdf) * kv->nkeys);
	if (!kv->cdf)
		return fail("no memory for the Zipf table of %u keys", kv->nkeys);
	for (__u32 i = 0; i < kv->nkeys; i++) {
		sum += pow(i + 1.0, -kv->zipf);
		kv->cdf[i] = sum;
	}
	for (__u32 i = 0; i < kv->nkeys; i++)
		kv->cdf[i] /= sum;
	kv->cdf[kv->nkeys - 1] = 1.0; /* above every u, whatever the rounding */
	return 0;
}

static char *put_u64(char *p, __u64 v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static size_t key_fmt(__u32 i, char *buf)
{
	buf[0] = 'k';
	buf[1] = ':';
	return put_u64(buf + 2, i) - buf;
}

static char *value_put(char *p, const struct kv *kv, const char *key, size_t klen)
{
	size_t b = kv->value_size, n = klen < b ? klen : b;

	p = mempcpy(p, key, n);
	if (b > klen) {
		*p++ = ':';
		p = mempcpy(p, kv->vs, b - klen - 1);
	}
	return p;
}

/* Do bytes [off, off + n) of a reply's value match what --fill stored under key? */
static bool value_match(const struct kv *kv, const char *key, size_t klen, __u64 off, const char *p,
			size_t n)
{
	for (; n && off <= klen; off++, p++, n--)
		if (*p != (off < klen ? key[off] : ':'))
			return false;
	return !n || !memcmp(p, kv->vs, n);
}

static void hist_add(struct kv *kv, __u64 ns, unsigned int count)
{
	unsigned int idx;

	if (ns < 2 * HIST_SUB) {
		idx = ns;
	} else {
		int shift = 63 - __builtin_clzll(ns) - HIST_SUB_BITS;

		idx = (shift + 1) * HIST_SUB + (unsigned int)(ns >> shift) - HIST_SUB;
	}
	kv->hist[idx] += count;
}

/* The q-quantile in microseconds: the middle of the bucket it falls in. */
static double hist_quantile(const struct kv *kv, double q)
{
	__u64 total = 0, rank, cum = 0;

	for (unsigned int i = 0; i < HIST_BUCKETS; i++)
		total += kv->hist[i];
	if (!total)
		return 0;
	rank = (__u64)ceil(q * total);
	if (!rank)
		rank = 1;
	for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
		cum += kv->hist[i];
		if (cum >= rank) {
			unsigned int shift;

			if (i < 2 * HIST_SUB)
				return i / 1e3;
			shift = i / HIST_SUB - 1;
			return ((double)((__u64)(i % HIST_SUB + HIST_SUB) << shift) +
				((1ull << shift) - 1) / 2.0) /
			       1e3;
		}
	}
	return 0;
}

static int conn_flush(struct kv *kv, struct kv_conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return fail("send to %s: %s", kv->server, strerror(errno));
			if (!c->want_out) {
				struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT,
							 .data.ptr = c};

				if (epoll_ctl(kv->ep, EPOLL_CTL_MOD, c->fd, &ev))
					return fail("epoll_ctl: %s", strerror(errno));
				c->want_out = true;
			}
			return 0;
		}
		c->woff += n;
	}
	if (c->want_out) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

		if (epoll_ctl(kv->ep, EPOLL_CTL_MOD, c->fd, &ev))
			return fail("epoll_ctl: %s", strerror(errno));
		c->want_out = false;
	}
	return 0;
}

static char *request_put(char *p, const struct kv *kv, __u32 key)
{
	char k[KV_KEY_MAX];
	size_t klen = key_fmt(key, k);

	if (kv->proto == KV_REDIS) {
		if (kv->phase == KV_GET) {
			p = mempcpy(p, "*2\r\n$3\r\nGET\r\n$", 14);
		} else {
			p = mempcpy(p, "*3\r\n$3\r\nSET\r\n$", 14);
		}
		p = put_u64(p, klen);
		p = mempcpy(p, "\r\n", 2);
		p = mempcpy(p, k, klen);
		p = mempcpy(p, "\r\n", 2);
		if (kv->phase == KV_FILL) {
			*p++ = '$';
			p = put_u64(p, kv->value_size);
			p = mempcpy(p, "\r\n", 2);
			p = value_put(p, kv, k, klen);
			p = mempcpy(p, "\r\n", 2);
		}
		return p;
	}
	p = mempcpy(p, kv->phase == KV_GET ? "get " : "set ", 4);
	p = mempcpy(p, k, klen);
	if (kv->phase == KV_FILL) {
		p = mempcpy(p, " 0 0 ", 5);
		p = put_u64(p, kv->value_size);
		p = mempcpy(p, "\r\n", 2);
		p = value_put(p, kv, k, klen);
	}
	return mempcpy(p, "\r\n", 2);
}

/* Sends c its next batch, or retires it when the phase has nothing left for it. */
static int batch_start(struct kv *kv, struct kv_conn *c, __u64 now)
{
	unsigned int n;
	char *p;

	if (kv->phase == KV_FILL) {
		__u64 left = kv->nkeys - kv->next_fill;

		n = left < kv->fill_pipeline ? left : kv->fill_pipeline;
	} else if (now >= kv->deadline || kv->issued >= kv->limit) {
		n = 0;
	} else {
		__u64 left = kv->limit - kv->issued;

		n = left < kv->pipeline ? left : kv->pipeline;
	}
	if (!n) {
		kv->active--;
		return 0;
	}
	p = c->wbuf;
	for (unsigned int i = 0; i < n; i++) {
		c->keys[i] = kv->phase == KV_FILL ? kv->next_fill++ : key_next(kv);
		p = request_put(p, kv, c->keys[i]);
	}
	kv->issued += kv->phase == KV_GET ? n : 0;
	c->wlen = p - c->wbuf;
	c->woff = 0;
	c->nbatch = n;
	c->ndone = 0;
	c->busy = true;
	c->t_send = now_ns();
	return conn_flush(kv, c);
}

/* One reply of c's batch is complete; the last one closes the batch and starts the next. */
static int reply_done(struct kv *kv, struct kv_conn *c)
{
	__u64 now;

	if (!c->busy)
		return fail("%s sent a reply to no request", kv->server);
	kv->errors += c->bad;
	c->bad = false;
	c->got_value = false;
	if (++c->ndone < c->nbatch)
		return 0;
	now = now_ns();
	c->busy = false;
	if (kv->phase == KV_GET) {
		hist_add(kv, now - c->t_send, c->nbatch);
		kv->completed += c->nbatch;
		kv->t_last = now;
	}
	if (c->rpos < c->rlen)
		return fail("%s sent more replies than requests", kv->server);
	return batch_start(kv, c, now);
}

/* 1 if the reply is wrong, 0 if right, -1 (said) if the fill cannot go on. */
static int redis_judge(struct kv *kv, struct kv_conn *c, const redisReply *r)
{
	char k[KV_KEY_MAX];
	size_t klen;

	if (kv->phase == KV_FILL) {
		if (r->type == REDIS_REPLY_STATUS && r->len == 2 && !memcmp(r->str, "OK", 2))
			return 0;
		klen = key_fmt(c->keys[c->ndone], k);
		return fail("SET %.*s: %s%.*s", (int)klen, k,
			    r->type == REDIS_REPLY_ERROR ? "" : "unexpected reply type ",
			    r->type == REDIS_REPLY_ERROR ? (int)r->len : 0,
			    r->type == REDIS_REPLY_ERROR ? r->str : "");
	}
	if (r->type == REDIS_REPLY_NIL)
		return kv->check; /* a miss: only wrong when every key should be there */
	if (r->type != REDIS_REPLY_STRING)
		return 1;
	if (!kv->check)
		return 0;
	klen = key_fmt(c->keys[c->ndone], k);
	return r->len != kv->value_size || !value_match(kv, k, klen, 0, r->str, r->len);
}

static int redis_input(struct kv *kv, struct kv_conn *c, const char *buf, size_t len)
{
	void *reply;
	int bad;

	if (redisReaderFeed(c->reader, buf, len) != REDIS_OK)
		return fail("reading from %s: %s", kv->server, c->reader->errstr);
	for (;;) {
		if (redisReaderGetReply(c->reader, &reply) != REDIS_OK)
			return fail("bad reply from %s: %s", kv->server, c->reader->errstr);
		if (!reply)
			return 0;
		bad = c->busy ? redis_judge(kv, c, reply) : 0;
		freeReplyObject(reply);
		if (bad < 0)
			return -1;
		c->bad = bad;
		if (reply_done(kv, c))
			return -1;
	}
}

/* "VALUE <key> <flags> <bytes>[ <cas>]" */
static int mc_value_header(const char *p, const char *end, const char **key, size_t *klen,
			   __u64 *bytes)
{
	const char *sp;
	__u64 v = 0;

	p += 6;
	sp = memchr(p, ' ', end - p);
	if (!sp || sp == p)
		return -1;
	*key = p;
	*klen = sp - p;
	p = sp + 1;
	if (p == end || *p < '0' || *p > '9')
		return -1;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == end || *p++ != ' ' || p == end || *p < '0' || *p > '9')
		return -1;
	while (p < end && *p >= '0' && *p <= '9') {
		v = v * 10 + (*p++ - '0');
		if (v > (1ull << 40))
			return -1;
	}
	if (p != end && *p != ' ')
		return -1;
	*bytes = v;
	return 0;
}

/* A line of a memcached reply, without its CRLF: 1 ends the reply, 0 does not, -1 fails. */
static int mc_line(struct kv *kv, struct kv_conn *c, const char *p, size_t len)
{
	char k[KV_KEY_MAX];
	const char *key;
	size_t klen;
	__u64 bytes;

#define IS(s)	  (len == sizeof(s) - 1 && !memcmp(p, s, sizeof(s) - 1))
#define STARTS(s) (len >= sizeof(s) - 1 && !memcmp(p, s, sizeof(s) - 1))
	if (kv->phase == KV_FILL) {
		if (IS("STORED"))
			return 1;
		klen = key_fmt(c->keys[c->ndone], k);
		return fail("set %.*s: %.*s", (int)klen, k, (int)(len > 200 ? 200 : len), p);
	}
	if (IS("END")) {
		if (kv->check && !c->got_value)
			c->bad = true;
		return 1;
	}
	if (STARTS("VALUE ")) {
		if (mc_value_header(p, p + len, &key, &klen, &bytes))
			return fail("bad VALUE line from %s: %.*s", kv->server,
				    (int)(len > 200 ? 200 : len), p);
		if (c->got_value)
			c->bad = true; /* one key asked, two values */
		c->got_value = true;
		c->in_data = true;
		c->data_len = bytes;
		c->data_off = 0;
		if (kv->check && (bytes != kv->value_size ||
				  klen != key_fmt(c->keys[c->ndone], k) || memcmp(key, k, klen)))
			c->bad = true;
		return 0;
	}
	/* These end a reply on their own: no END follows them. */
	if (IS("ERROR") || STARTS("CLIENT_ERROR") || STARTS("SERVER_ERROR")) {
		c->bad = true;
		return 1;
	}
	return fail("unexpected line from %s: %.*s", kv->server, (int)(len > 200 ? 200 : len), p);
#undef IS
#undef STARTS
}

static int mc_input(struct kv *kv, struct kv_conn *c)
{
	while (c->rpos < c->rlen) {
		const char *p = c->rbuf + c->rpos, *nl;
		size_t avail = c->rlen - c->rpos;
		int ret;

		if (c->in_data) {
			/* The value by its length, never searched, then its CRLF. */
			__u64 left = c->data_len + 2 - c->data_off;
			size_t n = avail < left ? avail : left, dn = 0;

			if (c->data_off < c->data_len)
				dn = n < c->data_len - c->data_off ? n : c->data_len - c->data_off;
			if (kv->check && !c->bad && dn) {
				char k[KV_KEY_MAX];
				size_t klen = key_fmt(c->keys[c->ndone], k);

				if (!value_match(kv, k, klen, c->data_off, p, dn))
					c->bad = true;
			}
			for (size_t i = dn; i < n; i++)
				if (p[i] != "\r\n"[c->data_off + i - c->data_len])
					return fail("%s: a value overruns its length", kv->server);
			c->data_off += n;
			c->rpos += n;
			if (c->data_off == c->data_len + 2)
				c->in_data = false;
			continue;
		}
		nl = memchr(p, '\n', avail);
		if (!nl) {
			if (avail > MC_LINE_MAX)
				return fail("%s sent a line of more than %d bytes", kv->server,
					    MC_LINE_MAX);
			break;
		}
		if (nl == p || nl[-1] != '\r')
			return fail("%s sent a line without CRLF", kv->server);
		c->rpos += nl - p + 1;
		if (!c->busy)
			return fail("%s sent a reply to no request", kv->server);
		ret = mc_line(kv, c, p, nl - p - 1);
		if (ret < 0)
			return -1;
		if (ret && reply_done(kv, c))
			return -1;
	}
	if (c->rpos == c->rlen) {
		c->rpos = c->rlen = 0;
	} else if (c->rpos) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	return 0;
}

static int conn_read(struct kv *kv, struct kv_conn *c, __u64 now)
{
	for (;;) {
		char *buf = kv->proto == KV_REDIS ? kv_rbuf : c->rbuf + c->rlen;
		size_t room = kv->proto == KV_REDIS ? sizeof(kv_rbuf) : KV_RBUF - c->rlen;
		ssize_t n = recv(c->fd, buf, room, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return fail("recv from %s: %s", kv->server, strerror(errno));
		}
		if (!n)
			return fail("%s closed a connection", kv->server);
		kv->last_progress = now;
		if (kv->proto == KV_REDIS) {
			if (redis_input(kv, c, buf, n))
				return -1;
		} else {
			c->rlen += n;
			if (mc_input(kv, c))
				return -1;
		}
		/* A short read drained the socket; level-triggered epoll says if more comes. */
		if ((size_t)n < room)
			return 0;
	}
}

/* Runs a phase to its end: every key stored, or the time or the requests used up. */
static int kv_run(struct kv *kv, enum kv_phase phase)
{
	struct epoll_event evs[256];
	__u64 now = now_ns();

	kv->phase = phase;
	kv->active = kv->nconns;
	kv->last_progress = now;
	for (unsigned int i = 0; i < kv->nconns; i++)
		if (batch_start(kv, &kv->conns[i], now))
			return -1;
	while (kv->active) {
		int n, timeout;

		now = now_ns();
		if (now - kv->last_progress >= KV_STALL_NS)
			return fail("no reply from %s for 5 s", kv->server);
		timeout = (kv->last_progress + KV_STALL_NS - now) / 1000000 + 1;
		n = epoll_wait(kv->ep, evs, sizeof(evs) / sizeof(evs[0]), timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail("epoll_wait: %s", strerror(errno));
		}
		now = now_ns();
		for (int i = 0; i < n; i++) {
			struct kv_conn *c = evs[i].data.ptr;

			if ((evs[i].events & EPOLLOUT) && conn_flush(kv, c))
				return -1;
			if ((evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) &&
			    conn_read(kv, c, now))
				return -1;
		}
	}
	return 0;
}

/* Before any socket exists: a socket is charged to the cgroup of its creator. */
static int join_cgroup(const char *dir)
{
	char path[PATH_MAX], pid[32];
	int fd, len;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return fail("cgroup path too long: %s", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("cannot open %s: %s", path, strerror(errno));
	len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (write(fd, pid, len) != len) {
		fail("cannot move pid %d into %s: %s", (int)getpid(), dir, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int conns_open(struct kv *kv)
{
	size_t req_max = kv->proto == KV_REDIS ? 32 : 20; /* a GET of k:4294967295 */
	size_t fill_max = 64 + KV_KEY_MAX + kv->value_size;
	size_t wcap = kv->pipeline * req_max;
	struct timeval tv = {.tv_sec = KV_STALL_NS / 1000000000ull};
	struct rlimit rl;
	int one = 1;

	if (kv->fill && kv->fill_pipeline * fill_max > wcap)
		wcap = kv->fill_pipeline * fill_max;
	/* One descriptor per connection: lift the soft limit as far as the hard one allows. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < kv->nconns + 64u) {
		rl.rlim_cur = rl.rlim_max < kv->nconns + 64u ? rl.rlim_max : kv->nconns + 64u;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	kv->conns = calloc(kv->nconns, sizeof(*kv->conns));
	if (!kv->conns)
		return fail("no memory for %u connections", kv->nconns);
	for (unsigned int i = 0; i < kv->nconns; i++)
		kv->conns[i].fd = -1;
	for (unsigned int i = 0; i < kv->nconns; i++) {
		struct kv_conn *c = &kv->conns[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

		c->wbuf = malloc(wcap);
		c->keys = calloc(kv->pipeline, sizeof(*c->keys)); /* fill batches are no longer */
		if (kv->proto == KV_REDIS)
			c->reader = redisReaderCreate();
		else
			c->rbuf = malloc(KV_RBUF);
		if (!c->wbuf || !c->keys || (kv->proto == KV_REDIS ? !c->reader : !c->rbuf))
			return fail("no memory for %u connections", kv->nconns);
		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			return fail("socket: %s", strerror(errno));
		/* A blocking connect bounded by the send timeout, then nonblocking for epoll. */
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(c->fd, (struct sockaddr *)&kv->addr, sizeof(kv->addr)))
			return fail("cannot connect to %s: %s", kv->server,
				    errno == EINPROGRESS ? "timed out" : strerror(errno));
		if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
			return fail("TCP_NODELAY: %s", strerror(errno));
		if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK))
			return fail("O_NONBLOCK: %s", strerror(errno));
		if (epoll_ctl(kv->ep, EPOLL_CTL_ADD, c->fd, &ev))
			return fail("epoll_ctl: %s", strerror(errno));
	}
	return 0;
}

static void conns_close(struct kv *kv)
{
	if (!kv->conns)
		return;
	for (unsigned int i = 0; i < kv->nconns; i++) {
		struct kv_conn *c = &kv->conns[i];

		if (c->fd >= 0)
			close(c->fd);
		if (c->reader)
			redisReaderFree(c->reader);
		free(c->rbuf);
		free(c->keys);
		free(c->wbuf);
	}
	free(kv->conns);
}

static int parse_u64(const char *s, __u64 min, __u64 max, __u64 *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: veer-bench kv --server ADDR:PORT [--proto redis|memcached] [--conns N]\n"
		"       [--pipeline P] [--seconds S | --requests N] [--keys K] [--zipf THETA]\n"
		"       [--value-size B] [--fill] [--check] [--cgroup PATH]\n"
		"Prints 'requests=N seconds=S rate=R p50_us=X p99_us=Y errors=E "
		"hits_unknown=0'.\n");
}

int cmd_kv(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"server", required_argument, NULL, 's'},
		{"proto", required_argument, NULL, 'P'},
		{"conns", required_argument, NULL, 'c'},
		{"pipeline", required_argument, NULL, 'p'},
		{"seconds", required_argument, NULL, 't'},
		{"requests", required_argument, NULL, 'n'},
		{"keys", required_argument, NULL, 'k'},
		{"zipf", required_argument, NULL, 'z'},
		{"value-size", required_argument, NULL, 'v'},
		{"fill", no_argument, NULL, 'f'},
		{"cgroup", required_argument, NULL, 'g'},
		{"check", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	static struct kv kv; /* the histogram is large for the stack */
	bool have_seconds = false, have_requests = false;
	__u32 addr;
	__u16 port;
	__u64 v, t_start;
	double secs;
	int opt, li = 0, err = 1;

	memset(&kv, 0, sizeof(kv));
	kv.ep = -1;
	kv.nconns = 1;
	kv.pipeline = 1;
	kv.nkeys = 1;
	kv.value_size = 32;
	kv.seconds = 3;
	kv.limit = UINT64_MAX;
	kv.rng = 0x9e3779b97f4a7c15ull;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lopts, &li)) != -1) {
		switch (opt) {
		case 's':
			if (bench_parse_ipv4_port(optarg, &addr, &port))
				goto bad_value;
			kv.server = optarg;
			kv.addr.sin_family = AF_INET;
			kv.addr.sin_addr.s_addr = htonl(addr);
			kv.addr.sin_port = htons(port);
			break;
		case 'P':
			if (!strcmp(optarg, "redis"))
				kv.proto = KV_REDIS;
			else if (!strcmp(optarg, "memcached"))
				kv.proto = KV_MEMCACHED;
			else
				goto bad_value;
			break;
		case 'c':
			if (parse_u64(optarg, 1, KV_MAX_CONNS, &v))
				goto bad_value;
			kv.nconns = v;
			break;
		case 'p':
			if (parse_u64(optarg, 1, KV_MAX_PIPELINE, &v))
				goto bad_value;
			kv.pipeline = v;
			break;
		case 't':
			if (parse_double(optarg, &kv.seconds) || kv.seconds <= 0 ||
			    kv.seconds > 1e6)
				goto bad_value;
			have_seconds = true;
			break;
		case 'n':
			if (parse_u64(optarg, 0, UINT64_MAX - 1, &kv.limit))
				goto bad_value;
			have_requests = true;
			break;
		case 'k':
			if (parse_u64(optarg, 1, KV_MAX_KEYS, &v))
				goto bad_value;
			kv.nkeys = v;
			break;
		case 'z':
			if (parse_double(optarg, &kv.zipf) || kv.zipf < 0)
				goto bad_value;
			break;
		case 'v':
			if (parse_u64(optarg, 0, KV_MAX_VALUE, &v))
				goto bad_value;
			kv.value_size = v;
			break;
		case 'f':
			kv.fill = true;
			break;
		case 'g':
			kv.cgroup = optarg;
			break;
		case 'C':
			kv.check = true;
			break;
		default:
			goto bad;
		}
	}
	if (optind < argc) {
		fail("unexpected argument '%s'", argv[optind]);
		goto bad;
	}
	if (!kv.server) {
		fail("--server ADDR:PORT is required");
		goto bad;
	}
	if (have_seconds && have_requests) {
		fail("--seconds and --requests exclude each other");
		goto bad;
	}

	if (kv.cgroup && join_cgroup(kv.cgroup))
		return 1;
	kv.vs = malloc(kv.value_size + 1);
	if (!kv.vs) {
		fail("no memory for a value of %u bytes", kv.value_size);
		goto out;
	}
	memset(kv.vs, 'v', kv.value_size);
	if (kv.zipf > 0 && zipf_init(&kv))
		goto out;
	kv.fill_pipeline = KV_FILL_BYTES / (64 + KV_KEY_MAX + kv.value_size);
	if (kv.fill_pipeline > kv.pipeline)
		kv.fill_pipeline = kv.pipeline;
	if (!kv.fill_pipeline)
		kv.fill_pipeline = 1;
	kv.ep = epoll_create1(EPOLL_CLOEXEC);
	if (kv.ep < 0) {
		fail("epoll_create1: %s", strerror(errno));
		goto out;
	}
	if (conns_open(&kv))
		goto out;
	if (kv.fill && kv_run(&kv, KV_FILL))
		goto out;

	t_start = now_ns();
	kv.t_last = t_start;
	kv.deadline = have_requests ? UINT64_MAX : t_start + (__u64)(kv.seconds * 1e9);
	if (kv_run(&kv, KV_GET))
		goto out;
	/* Over the batches that completed, the last of which may end a little after the time. */
	secs = (kv.t_last - t_start) / 1e9;
	printf("requests=%llu seconds=%.3f rate=%.0f p50_us=%.1f p99_us=%.1f errors=%llu "
	       "hits_unknown=0\n",
	       (unsigned long long)kv.completed, secs, secs > 0 ? kv.completed / secs : 0.0,
	       hist_quantile(&kv, 0.50), hist_quantile(&kv, 0.99), (unsigned long long)kv.errors);
	err = 0;
out:
	conns_close(&kv);
	if (kv.ep >= 0)
		close(kv.ep);
	free(kv.cdf);
	free(kv.vs);
	return err;
bad_value:
	fail("bad value for --%s: '%s'", lopts[li].name, optarg);
	goto bad;
bad:
	usage();
	return 2;
}
