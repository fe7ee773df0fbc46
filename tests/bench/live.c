// SPDX-License-Identifier: GPL-2.0
/*
 * Forwarded packets per second through a veth topology of three namespaces:
 *
 *   generator GEN_IF --- FWD_IN [forwarder] FWD_OUT --- SINK_IF sink
 *
 * The generator is bench_gen run by BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES and ingress
 * GEN_IF: its XDP_TX sends every frame out of GEN_IF into the forwarder. The sink counts and
 * drops in XDP. The forwarder is whatever the caller set up (veer, nftables), or with --floor
 * bench_floor, which only rewrites the MACs and redirects to FWD_OUT. The sink and floor
 * programs are attached through BPF links, so they go away with this process.
 *
 * pps = frames the sink counted in a window of the run / the window's length; the generator's
 * own count over the same window says what was sent. With --warm N, every generator first sends
 * N frames (each of N flows once) and waits until the sink's count stops moving before the
 * window's traffic starts: a stateful forwarder then meets only flows it has seen, and what it
 * lost of the warm-up is reported apart. encap= and plain= count the frames the sink received
 * over the whole run, warm-up included, that carried IP in IP (what a dsr-ipip forwarder sends)
 * and that did not.
 *
 * With --syn the generator is bench_gen_syn (TCP SYNs, every frame from a source of its own), and
 * with --count N it sends exactly N frames as fast as the path takes them and reports that pass
 * alone, with no window: the SYN flood of `make bench` part E.
 *
 * The generator's frames are XDP frames, and a veth hands an XDP frame only to a peer that runs
 * XDP (or has GRO on): a forwarder that works on skbs (veer at tc, the kernel's forwarding path)
 * would never see them. So where FWD_IN runs no XDP program, this attaches an empty one (XDP_PASS,
 * through a link that goes with this process) as the stand-in for a wire: the frames become skbs
 * as a NIC's would, and no kernel setting of the forwarder changes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* setns, CPU_SET, sched_setaffinity */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include "bench.h"
#include "packet.h" /* tests/unit/packet.c: the SYN template */
#include "bench_gen.skel.h"
#include "bench_sink.skel.h"
#include "bench_floor.skel.h"
#include "bench_empty.skel.h"

#define MAX_THREADS 64

struct gen_thread {
	pthread_t tid;
	int cpu, prog_fd, ifindex;
	__u32 batch, repeat, warm;
	const void *data;
	__u32 len;
	int err;
	volatile int warmed, done;
};

/* Set before the generators are signalled: a live run ends early (EINTR) on a signal. */
static volatile sig_atomic_t gen_stop;
/* Set once the warm-up has been counted: the generators go on with the measured traffic. */
static volatile int gen_go;

static void on_sigusr1(int sig)
{
	(void)sig;
}

static int split(char *s, char **parts, int n)
{
	int i = 0;

	for (char *tok = strtok(s, ":"); tok && i < n; tok = strtok(NULL, ":"))
		parts[i++] = tok;
	return i;
}

static __u64 percpu_sum(int map_fd)
{
	int ncpus = libbpf_num_possible_cpus();
	__u64 *vals, sum = 0;
	__u32 zero = 0;

	if (ncpus <= 0)
		return 0;
	vals = calloc(ncpus, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map_lookup_elem(map_fd, &zero, vals))
		for (int i = 0; i < ncpus; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

static void *gen_main(void *arg)
{
	struct gen_thread *t = arg;
	struct xdp_md md = {.data_end = t->len, .ingress_ifindex = t->ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = t->data, .data_size_in = t->len,
		    .ctx_in = &md, .ctx_size_in = sizeof(md), .repeat = t->repeat,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = t->batch);

	if (bench_pin_cpu(t->cpu))
		fprintf(stderr, "veer-bench: cannot pin a generator to CPU %d\n", t->cpu);
	if (t->warm) {
		LIBBPF_OPTS(bpf_test_run_opts, wopts, .data_in = t->data, .data_size_in = t->len,
			    .ctx_in = &md, .ctx_size_in = sizeof(md), .repeat = t->warm,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = t->batch);

		if (bpf_prog_test_run_opts(t->prog_fd, &wopts) && errno != EINTR)
			t->err = -errno;
	}
	t->warmed = 1;
	/* The main thread counts what the warm-up delivered before more traffic follows. */
	while (!gen_go && !gen_stop && !t->err)
		usleep(1000);
	while (!gen_stop && !t->err) {
		if (bpf_prog_test_run_opts(t->prog_fd, &opts) && errno != EINTR) {
			t->err = -errno;
			break;
		}
	}
	t->done = 1;
	return NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: veer-bench live --gen NS:IFACE --fwd NS:IN:OUT --sink NS:IFACE\n"
		"       [--floor] [--flows N] [--seconds S] [--threads N] [--batch N] "
		"[--repeat N]\n"
		"       [--src ADDR:PORT] [--dst ADDR:PORT] [--warm N] [--syn] [--count N]\n"
		"Prints 'live sent=N received=N seconds=S pps=P sent_pps=P ... warm_sent=N "
		"warm_received=N encap=N plain=N',\n"
		"with --count 'live count=N sent=N received=N ...'.\n");
}

int cmd_live(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"gen", required_argument, NULL, 'g'},
		{"fwd", required_argument, NULL, 'f'},
		{"sink", required_argument, NULL, 's'},
		{"floor", no_argument, NULL, 'F'},
		{"flows", required_argument, NULL, 'n'},
		{"seconds", required_argument, NULL, 't'},
		{"threads", required_argument, NULL, 'T'},
		{"batch", required_argument, NULL, 'B'},
		{"src", required_argument, NULL, 'S'},
		{"dst", required_argument, NULL, 'D'},
		{"repeat", required_argument, NULL, 'R'},
		{"warm", required_argument, NULL, 'W'},
		{"syn", no_argument, NULL, 'Y'},
		{"count", required_argument, NULL, 'N'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	char *gen_arg = NULL, *fwd_arg = NULL, *sink_arg = NULL, *gen[2], *fwd[3], *sink[2];
	__u32 src = 0, dst = 0, flows = 1, batch = 0, repeat = 1u << 30, warm = 0, count = 0;
	__u16 sport = 0, dport = 0;
	int opt, threads = 1, ncpus = libbpf_num_possible_cpus(), err = 1;
	bool floor = false, syn = false;
	double seconds = 4;
	struct bench_sink *sk = NULL;
	struct bench_floor *fl = NULL;
	struct bench_gen *gk = NULL;
	struct bpf_link *sink_link = NULL, *floor_link = NULL, *wire_link = NULL;
	struct bench_empty *wire = NULL;
	__u32 in_prog = 0;
	static struct gen_thread th[MAX_THREADS];
	static struct bench_frame frame;
	static struct pkt synpkt;
	__u8 sink_mac[ETH_ALEN], in_mac[ETH_ALEN], out_mac[ETH_ALEN], gen_mac[ETH_ALEN];
	int sink_idx, in_idx, out_idx, gen_idx;
	struct sigaction sa = {.sa_handler = on_sigusr1}; /* no SA_RESTART */
	__u64 rx0 = 0, rx1 = 0, tx0 = 0, tx1 = 0, warm_tx = 0, warm_rx = 0;
	double warmup = 0.5, t0 = 0, t1 = 0, give_up, tw0 = 0, tw1 = 0;
	int sink_fd, gen_fd;

	bench_parse_ipv4_port("198.18.1.2:40000", &src, &sport);
	bench_parse_ipv4_port("198.18.100.10:80", &dst, &dport);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'g':
			gen_arg = optarg;
			break;
		case 'f':
			fwd_arg = optarg;
			break;
		case 's':
			sink_arg = optarg;
			break;
		case 'F':
			floor = true;
			break;
		case 'n':
			flows = strtoul(optarg, NULL, 10);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'T':
			threads = atoi(optarg);
			break;
		case 'B':
			batch = strtoul(optarg, NULL, 10);
			break;
		case 'R':
			repeat = strtoul(optarg, NULL, 10);
			break;
		case 'W':
			warm = strtoul(optarg, NULL, 10);
			break;
		case 'Y':
			syn = true;
			break;
		case 'N':
			count = strtoul(optarg, NULL, 10);
			break;
		case 'S':
			if (bench_parse_ipv4_port(optarg, &src, &sport))
				goto bad;
			break;
		case 'D':
			if (bench_parse_ipv4_port(optarg, &dst, &dport))
				goto bad;
			break;
		default:
			goto bad;
		}
	}
	if (!gen_arg || !fwd_arg || !sink_arg || split(gen_arg, gen, 2) != 2 ||
	    split(fwd_arg, fwd, 3) != 3 || split(sink_arg, sink, 2) != 2 || !flows ||
	    flows > (1u << 20) || seconds <= 0 || !repeat || threads < 1 || threads > MAX_THREADS)
		goto bad;

	/* The sink: count and drop. */
	if (bench_setns(sink[0]))
		return 1;
	sink_idx = bench_ifindex(sink[1]);
	if (!sink_idx || bench_ifmac(sink[1], sink_mac))
		return 1;
	sk = bench_sink__open_and_load();
	if (!sk) {
		fprintf(stderr, "veer-bench: cannot load bench_sink: %s\n", strerror(errno));
		goto out;
	}
	sink_link = bpf_program__attach_xdp(sk->progs.bench_sink, sink_idx);
	if (!sink_link) {
		fprintf(stderr, "veer-bench: cannot attach the sink to %s:%s: %s\n", sink[0],
			sink[1], strerror(errno));
		goto out;
	}

	/* The forwarder: set up by the caller, or the floor. */
	if (bench_setns(fwd[0]))
		goto out;
	in_idx = bench_ifindex(fwd[1]);
	out_idx = bench_ifindex(fwd[2]);
	if (!in_idx || !out_idx || bench_ifmac(fwd[1], in_mac) || bench_ifmac(fwd[2], out_mac))
		goto out;
	if (floor) {
		fl = bench_floor__open();
		if (!fl) {
			fprintf(stderr, "veer-bench: cannot open bench_floor: %s\n",
				strerror(errno));
			goto out;
		}
		fl->bss->out_ifindex = out_idx;
		memcpy(fl->bss->dmac, sink_mac, ETH_ALEN);
		memcpy(fl->bss->smac, out_mac, ETH_ALEN);
		if (bench_floor__load(fl)) {
			fprintf(stderr, "veer-bench: cannot load bench_floor: %s\n",
				strerror(errno));
			goto out;
		}
		floor_link = bpf_program__attach_xdp(fl->progs.bench_floor, in_idx);
		if (!floor_link) {
			fprintf(stderr, "veer-bench: cannot attach the floor to %s:%s: %s\n",
				fwd[0], fwd[1], strerror(errno));
			goto out;
		}
	}

	/* The wire's stand-in, where the forwarder is not an XDP program itself. */
	if (!floor && (bpf_xdp_query_id(in_idx, 0, &in_prog) || !in_prog)) {
		wire = bench_empty__open_and_load();
		wire_link = wire ? bpf_program__attach_xdp(wire->progs.bench_empty, in_idx) : NULL;
		if (!wire_link) {
			fprintf(stderr, "veer-bench: cannot attach XDP_PASS to %s:%s: %s\n", fwd[0],
				fwd[1], strerror(errno));
			goto out;
		}
	}

	/* The generator. */
	if (bench_setns(gen[0]))
		goto out;
	gen_idx = bench_ifindex(gen[1]);
	if (!gen_idx || bench_ifmac(gen[1], gen_mac))
		goto out;
	bench_frame_build(&frame, gen_mac, in_mac, src, dst, sport, dport);
	if (flows > 1) /* let the template's UDP checksum be 0 (none): the source changes */
		frame.udp.check = 0;
	if (syn) {
		struct pkt_spec sp = {.proto = IPPROTO_TCP, .tcp_flags = 0x02, .pad = 6};
		char sa[INET_ADDRSTRLEN], da[INET_ADDRSTRLEN];
		struct in_addr a;

		memcpy(sp.dmac, in_mac, ETH_ALEN);
		memcpy(sp.smac, gen_mac, ETH_ALEN);
		a.s_addr = htonl(src);
		sp.saddr = inet_ntop(AF_INET, &a, sa, sizeof(sa));
		a.s_addr = htonl(dst);
		sp.daddr = inet_ntop(AF_INET, &a, da, sizeof(da));
		sp.sport = sport;
		sp.dport = dport;
		if (pkt_build(&synpkt, &sp) || synpkt.len != BENCH_FRAME_LEN) {
			fprintf(stderr, "veer-bench: cannot build the SYN template\n");
			goto out;
		}
	}
	gk = bench_gen__open();
	if (!gk) {
		fprintf(stderr, "veer-bench: cannot open bench_gen: %s\n", strerror(errno));
		goto out;
	}
	memcpy(gk->bss->tmpl, &frame,
	       sizeof(gk->bss->tmpl) < sizeof(frame) ? sizeof(gk->bss->tmpl) : sizeof(frame));
	memcpy(gk->bss->syn_tmpl, synpkt.data, sizeof(gk->bss->syn_tmpl));
	gk->data->nflows = flows;
	gk->data->ncpus = threads;
	gk->bss->base_saddr = src;
	gk->bss->base_sport = sport;
	if (bench_gen__load(gk)) {
		fprintf(stderr, "veer-bench: cannot load bench_gen: %s\n", strerror(errno));
		goto out;
	}

	/*
	 * Each live run costs tens of milliseconds to set up (page pool) and tear down, so the
	 * generators run one very long call each, ended by a signal; the rate is taken over a
	 * window that starts after a warm-up, with both counters read while traffic flows.
	 */
	err = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	gen_stop = 0;
	gen_go = 0;
	sink_fd = bpf_map__fd(sk->maps.sink_count);
	gen_fd = bpf_map__fd(gk->maps.gen_count);
	if (count)
		warm = count;
	tw0 = bench_now();
	for (int i = 0; i < threads; i++) {
		/* From the last CPU down: CPU 0 tends to take the host's interrupts. */
		th[i].cpu = ncpus > 0 ? (ncpus - 1 - i % ncpus) : 0;
		th[i].prog_fd =
			bpf_program__fd(syn ? gk->progs.bench_gen_syn : gk->progs.bench_gen);
		th[i].ifindex = gen_idx;
		th[i].batch = batch;
		th[i].repeat = repeat;
		/* Each thread its share: thread i sends flows i, i + threads, ... (bench_gen). */
		th[i].warm = warm ? (warm + threads - 1) / threads : 0;
		th[i].data = syn ? (const void *)synpkt.data : (const void *)&frame;
		th[i].len = syn ? synpkt.len : sizeof(frame);
		if (pthread_create(&th[i].tid, NULL, gen_main, &th[i])) {
			fprintf(stderr, "veer-bench: cannot start a generator thread\n");
			threads = i;
			err = 1;
			break;
		}
	}
	if (threads && !err && warm) {
		/*
		 * The warm-up is counted once every generator has sent its share and the sink's
		 * count has stopped moving (unchanged over 50 ms).
		 */
		double limit = bench_now() + 300, still = 0;
		__u64 last = ~0ULL;

		for (int i = 0; i < threads; i++) {
			while (!th[i].warmed && bench_now() < limit)
				usleep(1000);
			if (!th[i].warmed) {
				fprintf(stderr,
					"veer-bench: a generator did not finish its warm-up "
					"in 300 s\n");
				err = 1;
			}
		}
		tw1 = bench_now();
		while (!err && bench_now() < limit) {
			__u64 now_rx = percpu_sum(sink_fd);

			if (now_rx != last) {
				last = now_rx;
				still = bench_now();
			} else if (bench_now() - still >= 0.05) {
				break;
			}
			usleep(5000);
		}
		warm_rx = percpu_sum(sink_fd);
		warm_tx = percpu_sum(gen_fd);
	}
	gen_go = 1;
	if (threads && !err && !count) {
		usleep(warmup * 1e6);
		rx0 = percpu_sum(sink_fd);
		tx0 = percpu_sum(gen_fd);
		t0 = bench_now();
		usleep(seconds * 1e6);
		rx1 = percpu_sum(sink_fd);
		tx1 = percpu_sum(gen_fd);
		t1 = bench_now();
	}
	gen_stop = 1;
	give_up = bench_now() + 10;
	for (int i = 0; i < threads; i++) {
		while (!th[i].done && bench_now() < give_up) {
			pthread_kill(th[i].tid, SIGUSR1);
			usleep(10000);
		}
		if (!th[i].done) {
			fprintf(stderr, "veer-bench: a generator does not stop\n");
			exit(1); /* the links go with the process */
		}
		pthread_join(th[i].tid, NULL);
	}
	if (err || !threads) {
		err = 1;
		goto out;
	}
	err = 1;
	for (int i = 0; i < threads; i++) {
		if (th[i].err) {
			fprintf(stderr, "veer-bench: live-frames BPF_PROG_RUN failed: %s\n",
				strerror(-th[i].err));
			goto out;
		}
	}
	if (count) {
		if (!warm_tx) {
			fprintf(stderr, "veer-bench: the generator sent nothing\n");
			goto out;
		}
		printf("live count=%u sent=%llu received=%llu seconds=%.3f sent_pps=%.0f pps=%.0f "
		       "threads=%d syn=%d\n",
		       count, (unsigned long long)warm_tx, (unsigned long long)warm_rx, tw1 - tw0,
		       warm_tx / (tw1 - tw0), warm_rx / (tw1 - tw0), threads, syn);
		err = 0;
		goto out;
	}
	if (tx1 == tx0) {
		fprintf(stderr, "veer-bench: the generator sent nothing\n");
		goto out;
	}
	printf("live sent=%llu received=%llu seconds=%.3f pps=%.0f sent_pps=%.0f flows=%u "
	       "threads=%d floor=%d warm_sent=%llu warm_received=%llu encap=%llu "
	       "plain=%llu\n",
	       (unsigned long long)(tx1 - tx0), (unsigned long long)(rx1 - rx0), t1 - t0,
	       (rx1 - rx0) / (t1 - t0), (tx1 - tx0) / (t1 - t0), flows, threads, floor,
	       (unsigned long long)warm_tx, (unsigned long long)warm_rx,
	       (unsigned long long)percpu_sum(bpf_map__fd(sk->maps.sink_encap)),
	       (unsigned long long)percpu_sum(bpf_map__fd(sk->maps.sink_plain)));
	err = 0;
out:
	bpf_link__destroy(wire_link);
	bpf_link__destroy(floor_link);
	bpf_link__destroy(sink_link);
	bench_empty__destroy(wire);
	bench_gen__destroy(gk);
	bench_floor__destroy(fl);
	bench_sink__destroy(sk);
	return err;
bad:
	usage();
	return 2;
}
