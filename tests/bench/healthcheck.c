// SPDX-License-Identifier: GPL-2.0
/*
 * veer-bench health: veerd's health checker (user/veerd/health.c on user/veerd/loop.c, linked
 * in as veerd runs them) probing BACKENDS backends over TCP at one interval against real
 * listeners, for SECONDS after a warm-up interval:
 *
 *   - a network namespace of its own (unshare), where only lo is up: every probe and listener is
 *     on 127.1.0.0/16 in it, nothing reaches another namespace;
 *   - a child process holding BACKENDS listening sockets (ADDRESSES addresses of 127.1.0.0/16,
 *     BACKENDS / ADDRESSES ports each), accepting and closing every connection;
 *   - the checker in this process, one VIP per address with its BACKENDS / ADDRESSES backends.
 *
 * Measured over the window: the checker's CPU time (getrusage, user + system) over the wall
 * time, i.e. its share of one core, the listener's likewise (from /proc), the probes made and
 * failed, and how late each probe started against its schedule (health_timing: p50, p99, max).
 *
 * On loopback both ends of every handshake are processed in softirq context on the sender's
 * CPU: the checker's share carries most of the listeners' TCP work too. So the same run then
 * measures a floor: the same connections at the same rate (socket, SO_LINGER 0, a blocking
 * connect, close; to the same listeners, in the same order) from a bare loop without any event
 * loop, timer or bookkeeping. The checker's share minus the floor's is what health.c and the
 * event loop add to the kernel's cost of the connections themselves.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
#include "veerd.h"

#define HB_PORT0 20000

struct hb {
	unsigned backends, addresses, per_addr;
	unsigned interval_ms, timeout_ms;
	double seconds;
	uint64_t changes;
};

static void hb_usage(void)
{
	fprintf(stderr,
		"usage: veer-bench health [--backends N] [--addresses A] [--interval MS]\n"
		"       [--timeout MS] [--seconds S]\n"
		"N backends (default 10000) on A addresses of 127.1.0.0/16 (default 100), "
		"TCP-checked\n"
		"every MS ms (default 1000, timeout 500) for S seconds (default 10) after one\n"
		"interval of warm-up, in a network namespace of its own. Prints 'health ...' "
		"lines.\n");
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static void hb_addr(unsigned a, struct in_addr *in)
{
	in->s_addr = htonl(0x7f010000u + 1 + a); /* 127.1.0.1 and up */
}

/* The namespace's loopback up: the only interface it has. */
static int lo_up(void)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr))
		err = -errno;
	close(fd);
	return err;
}

static void nofile_max(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The listeners' process: never returns. Writes one byte to ready once all listen. */
static void listeners(const struct hb *b, int ready)
{
	struct epoll_event evs[256];
	int ep, one = 1;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	nofile_max();
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("veer-bench health: epoll_create1");
		_exit(1);
	}
	for (unsigned a = 0; a < b->addresses; a++)
		for (unsigned p = 0; p < b->per_addr; p++) {
			struct sockaddr_in sa = {.sin_family = AF_INET,
						 .sin_port = htons(HB_PORT0 + p)};
			struct epoll_event ev = {.events = EPOLLIN};
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

			hb_addr(a, &sa.sin_addr);
			ev.data.fd = fd;
			if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
			    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128) ||
			    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
				fprintf(stderr, "veer-bench health: cannot listen on %s:%u: %s\n",
					inet_ntoa(sa.sin_addr), HB_PORT0 + p, strerror(errno));
				_exit(1);
			}
		}
	if (write(ready, "r", 1) != 1)
		_exit(1);
	close(ready);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			int c;

			while ((c = accept4(evs[i].data.fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
				close(c);
		}
	}
}

/* utime + stime of a process, in seconds, from /proc/PID/stat. */
static double proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command may hold spaces */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/*
 * The floor: per backend in turn, a blocking connect and a close with SO_LINGER 0, at rate
 * connections a second (a batch every millisecond), for seconds. Returns the connections made,
 * or 0 when one failed.
 */
static uint64_t floor_run(const struct hb *b, double rate, double seconds, double *cpu_s,
			  double *wall_s)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	uint64_t made = 0, ticks = (uint64_t)(seconds * 1000);
	double per_tick = rate / 1000, owed = 0, cpu0 = self_cpu_s(), t0 = bench_now();
	struct timespec next;
	unsigned i = 0;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (uint64_t t = 0; t < ticks; t++) {
		for (owed += per_tick; owed >= 1; owed--) {
			struct sockaddr_in sa = {.sin_family = AF_INET,
						 .sin_port = htons(HB_PORT0 + i % b->per_addr)};
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

			hb_addr(i / b->per_addr, &sa.sin_addr);
			i = (i + 1) % b->backends;
			if (fd < 0)
				return 0;
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
				fprintf(stderr, "veer-bench health: floor: connect to %s:%u: %s\n",
					inet_ntoa(sa.sin_addr), ntohs(sa.sin_port),
					strerror(errno));
				close(fd);
				return 0;
			}
			close(fd);
			made++;
		}
		next.tv_nsec += 1000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	*cpu_s = self_cpu_s() - cpu0;
	*wall_s = bench_now() - t0;
	return made;
}

static void on_change(const struct veer_vip_key *vip, const struct veer_endpoint *be, bool up,
		      bool reset, void *arg)
{
	(void)vip, (void)be, (void)up, (void)reset;
	((struct hb *)arg)->changes++;
}

static bool on_initial(const struct veer_vip_key *vip, const struct veer_endpoint *be, void *arg)
{
	(void)vip, (void)be, (void)arg;
	return true;
}

static void stop(struct loop *l, struct loop_timer *t)
{
	(void)t;
	loop_stop(l);
}

static void run_ms(struct loop *l, uint64_t ms)
{
	struct loop_timer t = {.cb = stop};

	loop_timer_at(l, &t, loop_now() + ms * 1000000ull);
	loop_run(l);
	loop_timer_cancel(l, &t);
}

struct totals {
	uint64_t checks, failures, down;
	double latency_sum;
};

static void add(const struct health_status *s, void *arg)
{
	struct totals *t = arg;

	t->checks += s->checks;
	t->failures += s->failures;
	t->down += !s->up;
	t->latency_sum += s->last_latency_s;
}

/* A config of addresses VIPs (198.18.200.0/24 on port 80, keys only) of per_addr backends. */
static int hb_config(const struct hb *b, struct veer_config *c)
{
	struct veer_health_spec spec = {
		.type = VEER_HEALTH_TCP,
		.path = "/",
		.expect = 200,
		.interval_ms = b->interval_ms,
		.timeout_ms = b->timeout_ms,
		.rise = 2,
		.fall = 3,
	};

	memset(c, 0, sizeof(*c));
	c->vips = calloc(b->addresses, sizeof(*c->vips));
	if (!c->vips)
		return -ENOMEM;
	c->nvips = b->addresses;
	for (unsigned a = 0; a < b->addresses; a++) {
		struct veer_vip_spec *v = &c->vips[a];
		struct in_addr in;

		v->key.family = VEER_AF_INET;
		v->key.proto = IPPROTO_TCP;
		v->key.port = htons(80);
		v->key.addr.v4 = htonl(0xc612c800u + a % 256 + (a / 256) * 65536);
		v->health = spec;
		v->backends = calloc(b->per_addr, sizeof(*v->backends));
		if (!v->backends)
			return -ENOMEM;
		v->nbackends = b->per_addr;
		hb_addr(a, &in);
		for (unsigned p = 0; p < b->per_addr; p++) {
			v->backends[p].ep.family = VEER_AF_INET;
			v->backends[p].ep.addr.v4 = in.s_addr;
			v->backends[p].ep.port = htons(HB_PORT0 + p);
			v->backends[p].weight = 100;
		}
	}
	return 0;
}

static void hb_config_free(struct veer_config *c)
{
	for (size_t i = 0; i < c->nvips; i++)
		free(c->vips[i].backends);
	free(c->vips);
}

int cmd_health(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"backends", required_argument, NULL, 'n'},
		{"addresses", required_argument, NULL, 'a'},
		{"interval", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, 'T'},
		{"seconds", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct hb b = {.backends = 10000,
		       .addresses = 100,
		       .interval_ms = 1000,
		       .timeout_ms = 500,
		       .seconds = 10};
	struct veer_config cfg = {};
	struct loop *l = NULL;
	struct health *h = NULL;
	struct health_timing tm;
	struct totals t0 = {}, t1 = {};
	double cpu0, cpu1, lcpu0, lcpu1, wall0, wall1, secs, expect, fcpu, fwall, rate;
	uint64_t made;
	unsigned v;
	int opt, li = 0, pipefd[2], rc = 1, status;
	pid_t child = -1;
	char c;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lopts, &li)) != -1) {
		switch (opt) {
		case 'n':
			if (parse_uint(optarg, 1, 60000, &b.backends))
				goto bad;
			break;
		case 'a':
			if (parse_uint(optarg, 1, 10000, &b.addresses))
				goto bad;
			break;
		case 'i':
			if (parse_uint(optarg, 10, 3600000, &b.interval_ms))
				goto bad;
			break;
		case 'T':
			if (parse_uint(optarg, 1, 3600000, &b.timeout_ms))
				goto bad;
			break;
		case 't':
			if (parse_uint(optarg, 1, 3600, &v))
				goto bad;
			b.seconds = v;
			break;
		default:
			hb_usage();
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc || b.backends % b.addresses || b.backends / b.addresses > 40000 ||
	    b.timeout_ms > b.interval_ms) {
		fprintf(stderr, "veer-bench health: backends must be a multiple of addresses, "
				"at most 40000 ports an address, timeout at most interval\n");
		return 2;
	}
	b.per_addr = b.backends / b.addresses;

	/* Everything below happens in a network namespace of this process's own. */
	if (unshare(CLONE_NEWNET)) {
		perror("veer-bench health: unshare(CLONE_NEWNET)");
		return 1;
	}
	if (lo_up()) {
		perror("veer-bench health: lo up");
		return 1;
	}
	if (pipe2(pipefd, O_CLOEXEC)) {
		perror("veer-bench health: pipe");
		return 1;
	}
	child = fork();
	if (child < 0) {
		perror("veer-bench health: fork");
		return 1;
	}
	if (!child) {
		close(pipefd[0]);
		listeners(&b, pipefd[1]);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1) {
		fprintf(stderr, "veer-bench health: the listeners did not come up\n");
		goto cleanup;
	}
	close(pipefd[0]);

	if (hb_config(&b, &cfg) || loop_new(&l) || health_new(&h, l, on_change, on_initial, &b) ||
	    health_sync(h, &cfg)) {
		fprintf(stderr, "veer-bench health: cannot start the checker\n");
		goto cleanup;
	}
	printf("health params backends=%u addresses=%u ports_per_address=%u interval_ms=%u "
	       "timeout_ms=%u seconds=%.0f rise=2 fall=3\n",
	       b.backends, b.addresses, b.per_addr, b.interval_ms, b.timeout_ms, b.seconds);
	/* Warm-up: every backend's first probe (spread over one interval) and a margin. */
	run_ms(l, b.interval_ms + b.interval_ms / 2);
	health_foreach(h, add, &t0);
	health_timing(h, &tm, true);
	printf("health warmup checks=%llu failures=%llu late_p99_ms=%.3f late_max_ms=%.3f\n",
	       (unsigned long long)t0.checks, (unsigned long long)t0.failures, tm.late_p99_s * 1e3,
	       tm.late_max_s * 1e3);

	cpu0 = self_cpu_s();
	lcpu0 = proc_cpu_s(child);
	wall0 = bench_now();
	run_ms(l, (uint64_t)(b.seconds * 1000));
	wall1 = bench_now();
	cpu1 = self_cpu_s();
	lcpu1 = proc_cpu_s(child);
	health_foreach(h, add, &t1);
	health_timing(h, &tm, false);
	secs = wall1 - wall0;
	expect = b.backends * secs * 1000 / b.interval_ms;
	printf("health result checks=%llu expected=%.0f rate=%.0f failures=%llu down=%llu "
	       "changes=%llu local_errors=%llu checker_cpu=%.1f%% listener_cpu=%.1f%% "
	       "late_p50_ms=%.3f late_p99_ms=%.3f late_max_ms=%.3f mean_latency_ms=%.3f "
	       "seconds=%.2f\n",
	       (unsigned long long)(t1.checks - t0.checks), expect, (t1.checks - t0.checks) / secs,
	       (unsigned long long)(t1.failures - t0.failures), (unsigned long long)t1.down,
	       (unsigned long long)b.changes, (unsigned long long)tm.local_errors,
	       100 * (cpu1 - cpu0) / secs, 100 * (lcpu1 - lcpu0) / secs, tm.late_p50_s * 1e3,
	       tm.late_p99_s * 1e3, tm.late_max_s * 1e3, 1e3 * t1.latency_sum / b.backends, secs);
	/* A figure means nothing if the probes did not all run and pass. */
	if (t1.failures || b.changes || (t1.checks - t0.checks) < 0.98 * expect) {
		fprintf(stderr, "veer-bench health: probes failed or fell short of the schedule\n");
		goto cleanup;
	}

	/* The floor: the checker stopped (nothing armed), the same connections from a bare loop. */
	rate = (t1.checks - t0.checks) / secs;
	health_free(h);
	h = NULL;
	lcpu0 = proc_cpu_s(child);
	made = floor_run(&b, rate, b.seconds, &fcpu, &fwall);
	lcpu1 = proc_cpu_s(child);
	if (!made)
		goto cleanup;
	printf("health floor connections=%llu rate=%.0f cpu=%.1f%% listener_cpu=%.1f%% "
	       "seconds=%.2f\n",
	       (unsigned long long)made, made / fwall, 100 * fcpu / fwall,
	       100 * (lcpu1 - lcpu0) / fwall, fwall);
	printf("health net checker_minus_floor=%.1f%% per_check_us=%.2f floor_per_conn_us=%.2f\n",
	       100 * ((cpu1 - cpu0) / secs - fcpu / fwall),
	       1e6 * (cpu1 - cpu0) / (t1.checks - t0.checks), 1e6 * fcpu / made);
	rc = 0;
cleanup:
	health_free(h);
	loop_free(l);
	hb_config_free(&cfg);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	return rc;
bad:
	fprintf(stderr, "veer-bench health: bad value for --%s: %s\n", lopts[li].name, optarg);
	hb_usage();
	return 2;
}
