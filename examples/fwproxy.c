// SPDX-License-Identifier: GPL-2.0
/*
 * fwproxy: a small transparent forward proxy for veer's proxy rules, and a starting point for
 * your own. veer steers a client's connection to it (veer proxy add --from CIDR --dport N --to
 * ADDR:PORT); fwproxy accepts it, asks veer where the client was going (veer_proxy_origdst(),
 * SO_ORIGINAL_DST's equivalent), connects there and relays both ways. One process per
 * connection, one log line per connection on stderr: client, original destination, bytes each
 * way.
 *
 *   fwproxy --listen ADDR:PORT [--pin-dir DIR]
 *
 * ADDR is an address of this host the steered packets are sent to (the rule's --to), or the
 * unspecified address (0.0.0.0, [::]). The pin directory is veer's ($VEER_PIN_DIR, default
 * /sys/fs/bpf/veer).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netdb.h>
#include <sys/socket.h>
#include "veer.h"

#define RELAY_BUF 16384

/* One direction of a connection: what was read from `from` and not yet written to `to`. */
struct relay_dir {
	int from, to;
	char buf[RELAY_BUF];
	size_t len, off;
	bool eof;  /* `from` has no more to send */
	bool shut; /* and `to` was told so (shutdown SHUT_WR) */
	unsigned long long bytes;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: fwproxy --listen ADDR:PORT [--pin-dir DIR]\n");
}

static const char *sa_text(const struct sockaddr *sa, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		/* A dual-stack socket's IPv4 peer is shown as the IPv4 client it is. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, in6->sin6_addr.s6_addr + 12, a, sizeof(a));
			snprintf(buf, len, "%s:%u", a, ntohs(in6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
			snprintf(buf, len, "[%s]:%u", a, ntohs(in6->sin6_port));
		}
	}
	return buf;
}

/* Reads what it can into an empty buffer: 0, or -errno; EOF sets d->eof. */
static int dir_read(struct relay_dir *d)
{
	ssize_t n = read(d->from, d->buf, sizeof(d->buf));

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		d->eof = true;
	d->len = n;
	d->off = 0;
	return 0;
}

/* Writes what it can of the buffer; at its end after EOF, half-closes `to`. */
static int dir_write(struct relay_dir *d)
{
	if (d->off < d->len) {
		ssize_t n = write(d->to, d->buf + d->off, d->len - d->off);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		d->off += n;
		d->bytes += n;
		if (d->off == d->len)
			d->len = d->off = 0;
	}
	if (d->eof && !d->len && !d->shut) {
		/* The other side reads our EOF and may still answer: a half-close, not a close. */
		shutdown(d->to, SHUT_WR);
		d->shut = true;
	}
	return 0;
}

/*
 * Relays client <-> server on non-blocking sockets until both directions have ended: a
 * blocking write to one side could wait forever on a peer that is itself blocked writing to us.
 * Returns 0 or the first -errno; d[0] is client -> server, d[1] server -> client.
 */
static int relay(struct relay_dir d[2])
{
	int err = 0;

	while (!err && !(d[0].shut && d[1].shut)) {
		struct pollfd pfd[2] = {{.fd = d[0].from}, {.fd = d[1].from}};

		for (int i = 0; i < 2; i++) {
			/* pfd[0] is the client's socket: d[0] reads it, d[1] writes it. */
			if (!d[i].eof && !d[i].len)
				pfd[i].events |= POLLIN;
			if (d[i].len)
				pfd[!i].events |= POLLOUT;
		}
		/* A socket we wait for nothing on would report its hang-up at once, every time. */
		for (int i = 0; i < 2; i++)
			if (!pfd[i].events)
				pfd[i].fd = -1;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; !err && i < 2; i++) {
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR) && !d[i].eof && !d[i].len)
				err = dir_read(&d[i]);
			if (!err &&
			    (pfd[!i].revents & (POLLOUT | POLLERR) || (d[i].eof && !d[i].len)))
				err = dir_write(&d[i]);
		}
	}
	return err;
}

static int nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) ? -errno : 0;
}

/* One connection, in its own process: origdst, connect, relay, one log line. */
static void serve(struct veer_origdst *h, int client)
{
	struct sockaddr_storage peer, orig;
	socklen_t plen = sizeof(peer);
	char ctext[80], otext[80] = "?";
	struct relay_dir *d = NULL;
	struct timeval tv = {.tv_sec = 10};
	int up = -1, err;

	if (getpeername(client, (struct sockaddr *)&peer, &plen)) {
		fprintf(stderr, "fwproxy: getpeername: %s\n", strerror(errno));
		return;
	}
	sa_text((struct sockaddr *)&peer, ctext, sizeof(ctext));
	err = veer_proxy_origdst(h, (struct sockaddr *)&peer, &orig);
	if (err) {
		fprintf(stderr, "fwproxy: %s: no original destination (%s): not steered by veer?\n",
			ctext, strerror(-err));
		return;
	}
	sa_text((struct sockaddr *)&orig, otext, sizeof(otext));
	up = socket(orig.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (up < 0 || setsockopt(up, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(up, (struct sockaddr *)&orig,
		    orig.ss_family == AF_INET ? sizeof(struct sockaddr_in)
					      : sizeof(struct sockaddr_in6))) {
		fprintf(stderr, "fwproxy: %s -> %s: cannot connect: %s\n", ctext, otext,
			strerror(errno));
		goto out;
	}
	d = calloc(2, sizeof(*d));
	if (!d || nonblock(client) || nonblock(up)) {
		fprintf(stderr, "fwproxy: %s -> %s: %s\n", ctext, otext, strerror(ENOMEM));
		goto out;
	}
	d[0].from = d[1].to = client;
	d[0].to = d[1].from = up;
	err = relay(d);
	fprintf(stderr, "fwproxy: %s -> %s: %llu bytes up, %llu bytes down%s%s\n", ctext, otext,
		d[0].bytes, d[1].bytes, err ? ", ended by an error: " : "",
		err ? strerror(-err) : "");
out:
	free(d);
	if (up >= 0)
		close(up);
}

/* ADDR:PORT or [ADDR6]:PORT, numeric, the unspecified address included: a listening socket. */
static int listen_on(const char *s)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = strrchr(s, ':');
	size_t hlen = port ? (size_t)(port - s) : 0;
	int fd = -1, one = 1, err;

	if (s[0] == '[' && hlen >= 2 && s[hlen - 1] == ']') {
		s++;
		hlen -= 2;
	}
	if (!port || !hlen || hlen >= sizeof(host) || !port[1])
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (getaddrinfo(host, port + 1, &hints, &ai))
		return -EINVAL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 128)) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		fd = err;
	}
	freeaddrinfo(ai);
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
					     {"pin-dir", required_argument, NULL, 'p'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	const char *listen_arg = NULL, *pin_dir = getenv("VEER_PIN_DIR");
	struct veer_origdst *h;
	int o, fd;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'l':
			listen_arg = optarg;
			break;
		case 'p':
			pin_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!listen_arg || optind != argc) {
		usage(stderr);
		return 2;
	}
	veer_log_init(VEER_LOG_WARN);
	if (pin_dir && *pin_dir && veer_set_pin_dir(pin_dir))
		return 2;
	fd = listen_on(listen_arg);
	if (fd == -EINVAL) {
		fprintf(stderr,
			"fwproxy: invalid listen address '%s' (want ADDR:PORT, "
			"[ADDR6]:PORT)\n",
			listen_arg);
		return 2;
	}
	if (fd < 0) {
		fprintf(stderr, "fwproxy: cannot listen on %s: %s\n", listen_arg, strerror(-fd));
		return 1;
	}
	if (veer_origdst_open(&h))
		return 1;
	/* Children are reaped by the kernel; a client gone mid-write is an error, not a signal. */
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stderr, NULL, _IOLBF, 0);
	fprintf(stderr, "fwproxy: listening on %s\n", listen_arg);
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		pid_t pid;

		if (c < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				fprintf(stderr, "fwproxy: accept: %s\n", strerror(errno));
			continue;
		}
		pid = fork();
		if (pid == 0) {
			close(fd);
			serve(h, c);
			close(c);
			_exit(0);
		}
		if (pid < 0)
			fprintf(stderr, "fwproxy: fork: %s\n", strerror(errno));
		close(c);
	}
}
