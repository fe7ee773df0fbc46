// SPDX-License-Identifier: GPL-2.0
/*
 * The event stream under load (part K of scripts/bench.sh), through veer's attached program
 * and the pinned maps of VEER_PIN_DIR, set up by the CLI: a UDP VIP with backends and a VIP
 * without any (whose packets are dropped, no_backend).
 *
 *   veer-bench events --cost ...   the data plane's per-packet cost with events off and on, by
 *                                  BPF_PROG_RUN (repeat=1), interleaved rounds in one run: new
 *                                  flows (every one sampled when on), established flows, drops
 *                                  (counted toward a drop burst when on), and the empty program;
 *                                  a thread reads the ring meanwhile, as veerd would
 *   veer-bench events --rate ...   new flows as fast as BPF_PROG_RUN makes them (or --pace a
 *                                  second) for --seconds, every one sampled: records written and
 * lost, and with
 *                                  --reader libveer how many a libveer reader thread took a
 *                                  second; with --reader none another process reads (veer
 *                                  events, veerd)
 *
 * Flow i comes from --src + (i & 0xffff), port sport + (i >> 16): a new flow each call, from
 * --first on (runs on one connection table start where the last one stopped).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "bench.h"
#include "veer.h"
#include "bench_empty.skel.h"

#define EV_MAX_ROUNDS 64
#define EV_DROP_BURST 1000 /* drops a second: a burst is reported about once a second */

struct ev {
	int fd, empty_fd, in_idx;
	__u32 vip, dead, src;
	__u16 vip_port, dead_port, sport;
	__u8 in_mac[ETH_ALEN];
	__u64 next; /* the next new flow's number */
	__u64 bad;
};

static const __u8 client_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0x01, 0x02};

static void flow_frame(struct ev *e, __u64 i, struct bench_frame *f)
{
	bench_frame_build(f, client_mac, e->in_mac, e->src + (i & 0xffff), e->vip,
			  e->sport + (i >> 16), e->vip_port);
}

/* One call; its duration in ns, or -1 (counted bad) when the verdict is not the one wanted. */
static long run(struct ev *e, int fd, const struct bench_frame *f, __u32 want)
{
	__u32 ret, dur;
	int err = bench_run1(fd, false, f, sizeof(*f), e->in_idx, NULL, 0, NULL, &ret, &dur);

	if (err || ret != want) {
		if (e->bad++ < 5)
			fprintf(stderr, "veer-bench: events: %s\n",
				err ? strerror(-err) : "unexpected verdict");
		return -1;
	}
	return dur;
}

/* Writes the event settings through libveer, as `veer set` does. */
static int settings(__u32 sample, __u32 burst)
{
	struct veer_settings s;
	struct veer *v;
	int err = veer_open_existing(&v);

	if (err)
		return err;
	err = veer_settings_get(v, &s);
	if (!err) {
		s.event_sample = sample;
		s.event_drop_burst = burst;
		err = veer_settings_set(v, &s);
	}
	veer_close(v);
	return err;
}

/* ---- a reader thread: libveer's, decoding every record ---- */

struct reader {
	struct veer_events *r;
	int cpu;
	volatile int stop; /* 1: the producer is done; read what is left, then end */
	__u64 n;
	double t_last; /* when the last record was read */
};

static int count_one(const struct veer_event *e, void *arg)
{
	struct reader *rd = arg;

	(void)e;
	rd->n++;
	return 0;
}

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	int n;

	if (rd->cpu >= 0)
		bench_pin_cpu(rd->cpu);
	for (;;) {
		n = veer_events_poll(rd->r, 50);
		if (n > 0)
			rd->t_last = bench_now();
		if (n == 0 && rd->stop)
			break;
		if (n < 0 && n != -EINTR)
			break;
	}
	return NULL;
}

static int reader_start(struct reader *rd, pthread_t *tid)
{
	int err = veer_events_open(&rd->r, count_one, rd);

	if (err)
		return err;
	if (pthread_create(tid, NULL, reader_main, rd)) {
		veer_events_close(rd->r);
		return -EAGAIN;
	}
	return 0;
}

static void reader_stop(struct reader *rd, pthread_t tid)
{
	rd->stop = 1;
	pthread_join(tid, NULL);
	veer_events_close(rd->r);
}

/* The data plane's counts by type, summed: written and lost. */
static void counts(struct veer_events *r, __u32 type, __u64 *emitted, __u64 *lost)
{
	struct veer_event_count c[VEER_EVENT_SLOTS];

	*emitted = *lost = 0;
	if (!veer_events_counts(r, c)) {
		*emitted = c[type].emitted;
		*lost = c[type].lost;
	}
}

/* ---- --cost ---- */

enum { C_NEW, C_EST, C_DROP, C_EMPTY, C_N };
static const char *const case_names[C_N] = {"new", "est", "drop", "empty"};

static int cost(struct ev *e, __u32 calls, int rounds, int reader_cpu)
{
	double mean[2][C_N][EV_MAX_ROUNDS] = {};
	struct bench_frame *est = calloc(calls, sizeof(*est)), f, dead;
	struct reader rd = {.cpu = reader_cpu};
	__u64 em0, lost0, em1, lost1, dem0, dlost0, dem1, dlost1;
	pthread_t tid;
	int err;

	if (!est)
		return -ENOMEM;
	err = reader_start(&rd, &tid);
	if (err) {
		free(est);
		return err;
	}
	counts(rd.r, VEER_EVENT_FLOW_NEW, &em0, &lost0);
	counts(rd.r, VEER_EVENT_DROP_BURST, &dem0, &dlost0);
	bench_frame_build(&dead, client_mac, e->in_mac, e->src, e->dead, e->sport, e->dead_port);
	/* The established flows: made once, before the rounds, events off. */
	err = settings(0, 0);
	for (__u32 k = 0; !err && k < calls; k++) {
		flow_frame(e, e->next++, &est[k]);
		run(e, e->fd, &est[k], XDP_REDIRECT);
	}
	for (int r = 0; !err && r < rounds; r++) {
		for (int o = 0; !err && o < 2; o++) {
			/* Off then on in even rounds, on then off in odd ones. */
			int on = (r & 1) ^ o;
			__u64 sum[C_N] = {};

			err = settings(on, on ? EV_DROP_BURST : 0);
			/* A case's calls in a block, as the other parts run theirs. */
			for (int c = 0; !err && c < C_N; c++) {
				for (__u32 k = 0; k < calls; k++) {
					long d;

					switch (c) {
					case C_NEW:
						flow_frame(e, e->next++, &f);
						d = run(e, e->fd, &f, XDP_REDIRECT);
						break;
					case C_EST:
						d = run(e, e->fd, &est[k], XDP_REDIRECT);
						break;
					case C_DROP:
						d = run(e, e->fd, &dead, XDP_DROP);
						break;
					default:
						d = run(e, e->empty_fd, &dead, XDP_PASS);
						break;
					}
					sum[c] += d > 0 ? d : 0;
				}
			}
			for (int c = 0; c < C_N; c++)
				mean[on][c][r] = (double)sum[c] / calls;
		}
	}
	settings(0, 0);
	counts(rd.r, VEER_EVENT_FLOW_NEW, &em1, &lost1);
	counts(rd.r, VEER_EVENT_DROP_BURST, &dem1, &dlost1);
	reader_stop(&rd, tid);
	free(est);
	if (err)
		return err;
	printf("events params calls=%u rounds=%d drop_burst=%d\n", calls, rounds, EV_DROP_BURST);
	for (int on = 0; on < 2; on++) {
		double empty = bench_median(mean[on][C_EMPTY], rounds);

		for (int c = 0; c < C_N; c++) {
			double v[EV_MAX_ROUNDS], lo, hi;

			memcpy(v, mean[on][c], sizeof(v));
			lo = hi = v[0];
			for (int r = 1; r < rounds; r++) {
				lo = v[r] < lo ? v[r] : lo;
				hi = v[r] > hi ? v[r] : hi;
			}
			printf("events %s_%s kern_ns=%.1f net_ns=%.1f kern_range=%.0f-%.0f\n",
			       case_names[c], on ? "on" : "off", bench_median(v, rounds),
			       c == C_EMPTY ? 0 : bench_median(mean[on][c], rounds) - empty, lo,
			       hi);
		}
	}
	printf("events ring flow_new_written=%llu flow_new_lost=%llu drop_burst_written=%llu "
	       "drop_burst_lost=%llu read=%llu bad=%llu\n",
	       (unsigned long long)(em1 - em0), (unsigned long long)(lost1 - lost0),
	       (unsigned long long)(dem1 - dem0), (unsigned long long)(dlost1 - dlost0),
	       (unsigned long long)rd.n, (unsigned long long)e->bad);
	return e->bad ? -EIO : 0;
}

/* ---- --rate ---- */

/* Sleeps until t (bench_now's clock): a paced producer leaves the CPU to the readers. */
static void sleep_until(double t)
{
	struct timespec ts = {.tv_sec = (time_t)t, .tv_nsec = (long)((t - (time_t)t) * 1e9)};

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static int rate(struct ev *e, double seconds, double pace, bool libveer, int reader_cpu)
{
	struct reader rd = {.cpu = reader_cpu};
	struct veer_events *cnt = NULL;
	__u64 em0, lost0, em1, lost1, n = 0;
	struct bench_frame f;
	double t0, t1;
	pthread_t tid;
	int err;

	/* A handle for the counts only (its ring position is never moved). */
	err = veer_events_open(&cnt, count_one, &rd);
	if (err)
		return err;
	err = settings(1, 0);
	if (!err && libveer)
		err = reader_start(&rd, &tid);
	if (err) {
		veer_events_close(cnt);
		return err;
	}
	counts(cnt, VEER_EVENT_FLOW_NEW, &em0, &lost0);
	t0 = bench_now();
	do {
		for (int k = 0; k < 256; k++, n++) {
			flow_frame(e, e->next++, &f);
			run(e, e->fd, &f, XDP_REDIRECT);
		}
		/* Paced: the next batch waits for its time. */
		if (pace > 0 && t0 + n / pace > bench_now())
			sleep_until(t0 + n / pace);
		t1 = bench_now();
	} while (t1 - t0 < seconds);
	counts(cnt, VEER_EVENT_FLOW_NEW, &em1, &lost1);
	settings(0, 0);
	if (libveer)
		reader_stop(&rd, tid);
	veer_events_close(cnt);
	printf("events rate flows=%llu seconds=%.3f flows_per_s=%.0f written=%llu lost=%llu "
	       "bad=%llu\n",
	       (unsigned long long)n, t1 - t0, n / (t1 - t0), (unsigned long long)(em1 - em0),
	       (unsigned long long)(lost1 - lost0), (unsigned long long)e->bad);
	if (libveer)
		printf("events reader read=%llu seconds=%.3f read_per_s=%.0f\n",
		       (unsigned long long)rd.n, rd.t_last - t0,
		       rd.t_last > t0 ? rd.n / (rd.t_last - t0) : 0);
	return e->bad ? -EIO : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: veer-bench events --in IFACE --vip ADDR:PORT --dead-vip ADDR:PORT\n"
		"       (--cost [--calls N] [--rounds N] | --rate [--seconds S] [--pace FLOWS/S] "
		"[--reader libveer|none])\n"
		"       [--src ADDR:PORT] [--first N] [--cpu N] [--reader-cpu N]\n"
		"veer attached at XDP to --in, with the UDP VIP --vip (backends "
		"resolvable) and the\n"
		"VIP --dead-vip without backends, in VEER_PIN_DIR. Prints 'events CASE "
		"kern_ns=..'\n"
		"lines (--cost) or 'events rate ..' (--rate).\n");
}

int cmd_events(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"in", required_argument, NULL, 'i'},
		{"vip", required_argument, NULL, 'v'},
		{"dead-vip", required_argument, NULL, 'd'},
		{"cost", no_argument, NULL, 'c'},
		{"rate", no_argument, NULL, 'r'},
		{"calls", required_argument, NULL, 'n'},
		{"rounds", required_argument, NULL, 'R'},
		{"seconds", required_argument, NULL, 's'},
		{"reader", required_argument, NULL, 'm'},
		{"src", required_argument, NULL, 'S'},
		{"cpu", required_argument, NULL, 'C'},
		{"reader-cpu", required_argument, NULL, 'Q'},
		{"first", required_argument, NULL, 'F'},
		{"pace", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct ev e = {.fd = -1};
	struct bench_empty *empty = NULL;
	const char *in = NULL, *pin;
	int opt, mode = 0, rounds = 11, cpu = -1, reader_cpu = -1, err;
	__u32 calls = 20000;
	double seconds = 5, pace = 0;
	bool libveer = true;

	bench_parse_ipv4_port("198.19.0.0:1024", &e.src, &e.sport);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			in = optarg;
			break;
		case 'v':
			if (bench_parse_ipv4_port(optarg, &e.vip, &e.vip_port))
				goto bad;
			break;
		case 'd':
			if (bench_parse_ipv4_port(optarg, &e.dead, &e.dead_port))
				goto bad;
			break;
		case 'c':
		case 'r':
			mode = opt;
			break;
		case 'n':
			calls = strtoul(optarg, NULL, 10);
			break;
		case 'R':
			rounds = atoi(optarg);
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 'm':
			if (strcmp(optarg, "libveer") && strcmp(optarg, "none"))
				goto bad;
			libveer = !strcmp(optarg, "libveer");
			break;
		case 'S':
			if (bench_parse_ipv4_port(optarg, &e.src, &e.sport))
				goto bad;
			break;
		case 'C':
			cpu = atoi(optarg);
			break;
		case 'Q':
			reader_cpu = atoi(optarg);
			break;
		case 'F':
			e.next = strtoull(optarg, NULL, 10);
			break;
		case 'P':
			pace = atof(optarg);
			break;
		default:
			goto bad;
		}
	}
	if (!in || !e.vip || !e.dead || !mode || !calls || rounds < 1 || rounds > EV_MAX_ROUNDS ||
	    seconds <= 0)
		goto bad;
	/* The clients stay in 198.18.0.0/15, where the caller routes the replies. */
	if ((e.src & 0xfffe0000) != 0xc6120000 || ((e.src + 0xffff) & 0xfffe0000) != 0xc6120000) {
		fprintf(stderr, "veer-bench: the clients of --src must stay in 198.18.0.0/15\n");
		return 2;
	}
	pin = getenv("VEER_PIN_DIR");
	if (pin && *pin && veer_set_pin_dir(pin))
		return 1;
	if (cpu >= 0 && bench_pin_cpu(cpu))
		fprintf(stderr, "veer-bench: cannot pin to CPU %d, running unpinned\n", cpu);
	e.in_idx = bench_ifindex(in);
	if (!e.in_idx || bench_ifmac(in, e.in_mac))
		return 1;
	e.fd = bench_veer_prog_fd(in, "xdp");
	if (e.fd < 0)
		return 1;
	empty = bench_empty__open_and_load();
	if (!empty) {
		fprintf(stderr, "veer-bench: cannot load bench_empty: %s\n", strerror(errno));
		close(e.fd);
		return 1;
	}
	e.empty_fd = bpf_program__fd(empty->progs.bench_empty);
	err = mode == 'c' ? cost(&e, calls, rounds, reader_cpu)
			  : rate(&e, seconds, pace, libveer, reader_cpu);
	if (err)
		fprintf(stderr, "veer-bench: events: %s\n", strerror(-err));
	bench_empty__destroy(empty);
	close(e.fd);
	return err ? 1 : 0;
bad:
	usage();
	return 2;
}
