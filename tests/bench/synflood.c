// SPDX-License-Identifier: GPL-2.0
/*
 * A SYN flood against established connections, through BPF_PROG_RUN (repeat=1) on veer's
 * attached XDP program with the CLI's TCP VIP in the caller's pin directory:
 *
 *   1. ESTABLISHED connections, each a client SYN, the backend's SYN-ACK, the client's ACK, a
 *      client data segment and the backend's data segment, every one through the program and
 *      checked (forward: to one backend, the same for the whole connection; reply: the VIP's
 *      address and port as source);
 *   2. the empty program over the flood's first packets (the baseline), then SYNS SYNs to the
 *      VIP from distinct random sources in 198.18.0.0/15: per-call duration (mean, percentiles,
 *      the mean of each third of the flood);
 *   3. every established connection again, in both directions: first the backend's segment
 *      (kept: it leaves with the VIP as source), then the client's (kept: it goes to its
 *      backend and port, and the VIP's new-flow counter did not move, which it does when the
 *      forward entry was gone and the packet made the connection anew);
 *   4. the connection table's entries (through libveer) and its maps' memlock.
 *
 * Nothing here writes veer's maps; the survivors are counted from the packets' bytes and
 * veer's own counters.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* CPU_SET, sched_setaffinity */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/tcp.h>
#include "bench.h"
#include "packet.h"
#include "veer.h"
#include "bench_empty.skel.h"

#define SF_MAX_BACKENDS 16
#define SF_OUT_MAX	256
#define SF_FRAME_PAD	6 /* a 54-byte SYN padded to the 60-byte minimum frame */

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* What a run does: all three, or the first (then the flood comes from elsewhere) or the last. */
enum sf_phase {
	SF_ESTABLISH = 1,
	SF_FLOOD = 2,
	SF_CHECK = 4,
};

struct sf {
	__u32 vip, backends[SF_MAX_BACKENDS], clients;
	__u16 vip_port, client_port;
	int nbackends, in_idx, out_idx, fd;
	__u8 in_mac[ETH_ALEN], out_mac[ETH_ALEN];
	__u8 *be_of; /* each connection's backend (index) */
};

static const __u8 client_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0x01, 0x02};
static const __u8 be_mac[ETH_ALEN] = {0x02, 0, 0, 0, 0x11, 0x02};

static char *ip4(__u32 host, char *buf)
{
	struct in_addr a = {.s_addr = htonl(host)};

	return (char *)inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* A 60-byte TCP frame of connection i: from its client (reply: from its backend). */
static int conn_frame(const struct sf *s, __u32 i, bool reply, __u8 flags, struct pkt *p)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct pkt_spec sp = {};

	sp.proto = IPPROTO_TCP;
	sp.tcp_flags = flags;
	if (flags & (TCP_PSH | TCP_FIN))
		sp.payload = SF_FRAME_PAD;
	else
		sp.pad = SF_FRAME_PAD;
	if (!reply) {
		memcpy(sp.dmac, s->in_mac, ETH_ALEN);
		memcpy(sp.smac, client_mac, ETH_ALEN);
		sp.saddr = ip4(s->clients + i, a);
		sp.daddr = ip4(s->vip, b);
		sp.sport = s->client_port;
		sp.dport = s->vip_port;
	} else {
		memcpy(sp.dmac, s->out_mac, ETH_ALEN);
		memcpy(sp.smac, be_mac, ETH_ALEN);
		sp.saddr = ip4(s->backends[s->be_of[i]], a);
		sp.daddr = ip4(s->clients + i, b);
		sp.sport = s->vip_port;
		sp.dport = s->client_port;
	}
	return pkt_build(p, &sp);
}

struct sf_tuple {
	__u32 saddr, daddr;
	__u16 sport, dport;
};

static int out_tuple(const __u8 *out, __u32 len, struct sf_tuple *t)
{
	const struct iphdr *iph = (const void *)(out + sizeof(struct ethhdr));
	const struct tcphdr *th = (const void *)(iph + 1);

	if (len < sizeof(struct ethhdr) + sizeof(*iph) + sizeof(*th) || iph->ihl != 5)
		return -EINVAL;
	t->saddr = ntohl(iph->saddr);
	t->daddr = ntohl(iph->daddr);
	t->sport = ntohs(th->source);
	t->dport = ntohs(th->dest);
	return 0;
}

/*
 * Runs connection i's packet through veer. Forward: 1 if it went to a backend (recorded in
 * be_of when record, else it must be the recorded one), reply: 1 if it left with the VIP as
 * its source; 0 if not; -errno if the call failed.
 */
static int conn_send(struct sf *s, __u32 i, bool reply, __u8 flags, bool record)
{
	__u8 out[SF_OUT_MAX];
	struct sf_tuple t;
	__u32 ret, dur, olen = 0;
	struct pkt p;
	int err;

	err = conn_frame(s, i, reply, flags, &p);
	if (!err)
		err = bench_run1(s->fd, false, p.data, p.len, reply ? s->out_idx : s->in_idx, out,
				 sizeof(out), &olen, &ret, &dur);
	if (err)
		return err;
	if (ret != XDP_REDIRECT || out_tuple(out, olen, &t))
		return 0;
	if (reply)
		return t.saddr == s->vip && t.sport == s->vip_port && t.daddr == s->clients + i &&
		       t.dport == s->client_port;
	if (t.saddr != s->clients + i || t.sport != s->client_port || t.dport != s->vip_port)
		return 0;
	if (record) {
		for (int b = 0; b < s->nbackends; b++) {
			if (t.daddr == s->backends[b]) {
				s->be_of[i] = b;
				return 1;
			}
		}
		return 0;
	}
	return t.daddr == s->backends[s->be_of[i]];
}

/* Flood source k: a bijection of 33 bits, so that every source is distinct. */
static __u64 flood_mix(__u64 x)
{
	const __u64 m = (1ULL << 33) - 1;

	x = (x * 0x5deece66dULL + 0xb) & m;
	x ^= x >> 17;
	x = (x * 0x2545f4914f6cdd1dULL) & m;
	x ^= x >> 15;
	return x;
}

/* The next flood source (198.18.0.0/15, ports 1024 and up), none an established client's. */
static void flood_next(const struct sf *s, __u32 n_est, __u64 *k, __u64 seed, __u32 *addr,
		       __u16 *port)
{
	for (;;) {
		__u64 x = flood_mix((*k)++ + seed);

		*addr = 0xc6120000 + (__u32)(x >> 16);
		*port = x & 0xffff;
		if (*port >= 1024 && (*addr < s->clients || *addr >= s->clients + n_est))
			return;
	}
}

static void flood_frame(struct pkt *p, __u32 addr, __u16 port)
{
	struct iphdr *iph = pkt_ip4(p);
	struct tcphdr *th = (struct tcphdr *)(iph + 1);

	iph->saddr = htonl(addr);
	th->source = htons(port);
	pkt_ip4_fix_csum(p);
	pkt_l4_fix_csum(p);
}

static int vip_new_flows(struct veer *v, __u32 vip_id, __u64 *n)
{
	struct veer_counters c;
	int err = veer_vip_counters(v, vip_id, &c);

	*n = c.new_flows;
	return err;
}

/* 1. The established connections, both directions, every packet checked. */
static int sf_establish(struct sf *s, __u32 n_est)
{
	__u64 bad_setup = 0;

	for (__u32 i = 0; i < n_est; i++) {
		static const struct {
			bool reply;
			__u8 flags;
		} seq[] = {
			{false, TCP_SYN},	    {true, TCP_SYN | TCP_ACK}, {false, TCP_ACK},
			{false, TCP_PSH | TCP_ACK}, {true, TCP_PSH | TCP_ACK},
		};

		for (size_t j = 0; j < sizeof(seq) / sizeof(seq[0]); j++) {
			int ok = conn_send(s, i, seq[j].reply, seq[j].flags, j == 0);

			if (ok < 0) {
				fprintf(stderr, "veer-bench: BPF_PROG_RUN: %s\n", strerror(-ok));
				return -1;
			}
			if (!ok && bad_setup++ < 5)
				fprintf(stderr,
					"veer-bench: connection %u, packet %zu (%s, flags 0x%02x) "
					"was not rewritten as its connection says\n",
					i, j + 1, seq[j].reply ? "reply" : "forward", seq[j].flags);
		}
	}
	if (bad_setup) {
		fprintf(stderr,
			"veer-bench: %llu packets of the established connections went "
			"wrong: no flood measured\n",
			(unsigned long long)bad_setup);
		return -1;
	}
	printf("synflood established connections=%u packets=%u\n", n_est, n_est * 5);
	return 0;
}

/* 2. The baseline over the flood's own first frames, then the flood. */
static int sf_flood(struct sf *s, int empty_fd, __u32 n_est, __u32 n_syn, __u32 n_empty, __u64 seed)
{
	__u64 k, flood_other = 0, seg_sum[3] = {};
	struct bench_hist h_empty = {}, h_flood = {};
	char a[INET_ADDRSTRLEN];
	__u32 seg_n[3] = {};
	int err = -1;
	struct pkt syn;
	double t0, t1;

	if (bench_hist_init(&h_empty) || bench_hist_init(&h_flood)) {
		fprintf(stderr, "veer-bench: out of memory\n");
		goto out;
	}
	{
		struct pkt_spec sp = {};

		memcpy(sp.dmac, s->in_mac, ETH_ALEN);
		memcpy(sp.smac, client_mac, ETH_ALEN);
		sp.saddr = "198.18.0.1";
		sp.daddr = ip4(s->vip, a);
		sp.proto = IPPROTO_TCP;
		sp.sport = 1024;
		sp.dport = s->vip_port;
		sp.tcp_flags = TCP_SYN;
		sp.pad = SF_FRAME_PAD;
		if (pkt_build(&syn, &sp)) {
			fprintf(stderr, "veer-bench: cannot build the SYN\n");
			goto out;
		}
	}
	k = 0;
	for (__u32 i = 0; i < n_empty; i++) {
		__u32 addr, ret, dur;
		__u16 port;

		flood_next(s, n_est, &k, seed, &addr, &port);
		flood_frame(&syn, addr, port);
		err = bench_run1(empty_fd, false, syn.data, syn.len, s->in_idx, NULL, 0, NULL, &ret,
				 &dur);
		if (err) {
			fprintf(stderr, "veer-bench: BPF_PROG_RUN: %s\n", strerror(-err));
			goto out;
		}
		bench_hist_add(&h_empty, dur);
	}
	k = 0;
	t0 = bench_now();
	for (__u32 i = 0; i < n_syn; i++) {
		__u32 addr, ret, dur;
		__u16 port;
		int third = (int)((__u64)i * 3 / n_syn);

		flood_next(s, n_est, &k, seed, &addr, &port);
		flood_frame(&syn, addr, port);
		err = bench_run1(s->fd, false, syn.data, syn.len, s->in_idx, NULL, 0, NULL, &ret,
				 &dur);
		if (err) {
			fprintf(stderr, "veer-bench: BPF_PROG_RUN: %s\n", strerror(-err));
			goto out;
		}
		bench_hist_add(&h_flood, dur);
		seg_sum[third] += dur;
		seg_n[third]++;
		if (ret != XDP_REDIRECT)
			flood_other++;
	}
	t1 = bench_now();
	{
		double em = (double)h_empty.sum / h_empty.n, fm = (double)h_flood.sum / h_flood.n;

		printf("synflood empty calls=%llu mean_ns=%.1f p50_ns=%.0f p99_ns=%.0f\n",
		       (unsigned long long)h_empty.n, em, bench_hist_quantile(&h_empty, 0.5),
		       bench_hist_quantile(&h_empty, 0.99));
		printf("synflood flood syns=%llu mean_ns=%.1f net_ns=%.1f p50_ns=%.0f p90_ns=%.0f "
		       "p99_ns=%.0f max_ns=%u thirds_ns=%.1f,%.1f,%.1f not_redirected=%llu "
		       "wall_s=%.1f\n",
		       (unsigned long long)h_flood.n, fm, fm - em,
		       bench_hist_quantile(&h_flood, 0.5), bench_hist_quantile(&h_flood, 0.9),
		       bench_hist_quantile(&h_flood, 0.99), h_flood.max,
		       (double)seg_sum[0] / seg_n[0], (double)seg_sum[1] / seg_n[1],
		       (double)seg_sum[2] / seg_n[2], (unsigned long long)flood_other, t1 - t0);
	}
	err = 0;
out:
	bench_hist_free(&h_empty);
	bench_hist_free(&h_flood);
	return err;
}

/*
 * 3. The established connections after the flood: the reply first (a forward packet that
 * finds no entry would make the connection anew, reply entry included).
 */
static int sf_check(struct sf *s, struct veer *v, __u32 vip_id, __u32 n_est)
{
	__u32 reply_ok = 0, fwd_ok = 0, fwd_kept = 0, both = 0;

	for (__u32 i = 0; i < n_est; i++) {
		__u64 nf0, nf1;
		int r, fw;

		r = conn_send(s, i, true, TCP_PSH | TCP_ACK, false);
		if (r >= 0 && vip_new_flows(v, vip_id, &nf0))
			r = -EIO;
		fw = r < 0 ? r : conn_send(s, i, false, TCP_PSH | TCP_ACK, false);
		if (fw >= 0 && vip_new_flows(v, vip_id, &nf1))
			fw = -EIO;
		if (r < 0 || fw < 0) {
			fprintf(stderr, "veer-bench: the check after the flood failed: %s\n",
				strerror(-(r < 0 ? r : fw)));
			return -1;
		}
		reply_ok += r;
		fwd_ok += fw;
		fwd_kept += fw && nf1 == nf0;
		both += r && fw && nf1 == nf0;
	}
	printf("synflood survivors connections=%u both=%u reply_kept=%u fwd_kept=%u "
	       "fwd_to_backend=%u\n",
	       n_est, both, reply_ok, fwd_kept, fwd_ok);
	return 0;
}

/*
 * The connections' backends between an establish run and a check run (the flood comes from the
 * live generator in between): one line per connection, the backend's index.
 */
static int sf_state(const char *path, struct sf *s, __u32 n_est, bool write)
{
	FILE *f = fopen(path, write ? "w" : "r");
	int err = 0;

	if (!f) {
		fprintf(stderr, "veer-bench: cannot open %s: %s\n", path, strerror(errno));
		return -errno;
	}
	for (__u32 i = 0; i < n_est && !err; i++) {
		unsigned int b;

		if (write)
			err = fprintf(f, "%u\n", s->be_of[i]) < 0 ? -EIO : 0;
		else if (fscanf(f, "%u", &b) != 1 || b >= (unsigned int)s->nbackends)
			err = -EINVAL;
		else
			s->be_of[i] = b;
	}
	if (fclose(f) && !err)
		err = -EIO;
	if (err)
		fprintf(stderr, "veer-bench: cannot %s the connections' state in %s\n",
			write ? "write" : "read", path);
	return err;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: veer-bench synflood --in IFACE --out IFACE --vip ADDR:PORT --backend "
		"ADDR...\n"
		"       [--xdp IFACE] [--established N] [--syns N] [--empty N]\n"
		"       [--clients ADDR:PORT] [--cpu N] [--seed N]\n"
		"       [--phase all|establish|check --state FILE]\n"
		"veer must be attached to --xdp (default --in) at XDP, with the TCP VIP and its\n"
		"backends, in VEER_PIN_DIR. Prints 'synflood ...' lines. --phase establish makes "
		"the\n"
		"connections and writes their backends to FILE; --phase check reads FILE and "
		"checks\n"
		"them, after a flood sent some other way (veer-bench live --syn --count N).\n");
}

int cmd_synflood(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"in", required_argument, NULL, 'i'},
		{"out", required_argument, NULL, 'o'},
		{"xdp", required_argument, NULL, 'x'},
		{"vip", required_argument, NULL, 'v'},
		{"backend", required_argument, NULL, 'b'},
		{"established", required_argument, NULL, 'e'},
		{"syns", required_argument, NULL, 'n'},
		{"empty", required_argument, NULL, 'E'},
		{"clients", required_argument, NULL, 'c'},
		{"cpu", required_argument, NULL, 'C'},
		{"seed", required_argument, NULL, 'S'},
		{"phase", required_argument, NULL, 'P'},
		{"state", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *in = NULL, *out = NULL, *xdp_if = NULL, *pin;
	struct sf s = {.fd = -1};
	__u32 n_est = 1000, n_syn = 3000000, n_empty = 1000000, vip_id;
	__u64 seed = 0x73796e;
	struct bench_empty *empty = NULL;
	struct veer_vip_key vk;
	struct veer_vip vip;
	struct veer *v = NULL;
	char vip_s[64], a[INET_ADDRSTRLEN];
	int opt, err = 1, cpu = -1, phase = SF_ESTABLISH | SF_FLOOD | SF_CHECK;
	const char *state = NULL, *phase_name = "all";

	bench_parse_ipv4_port("198.19.200.0:40000", &s.clients, &s.client_port);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			in = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'x':
			xdp_if = optarg;
			break;
		case 'v':
			if (bench_parse_ipv4_port(optarg, &s.vip, &s.vip_port))
				goto bad;
			break;
		case 'b':
			if (s.nbackends == SF_MAX_BACKENDS ||
			    bench_parse_ipv4(optarg, &s.backends[s.nbackends++]))
				goto bad;
			break;
		case 'e':
			n_est = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			n_syn = strtoul(optarg, NULL, 10);
			break;
		case 'E':
			n_empty = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			if (bench_parse_ipv4_port(optarg, &s.clients, &s.client_port))
				goto bad;
			break;
		case 'C':
			cpu = atoi(optarg);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'P':
			if (!strcmp(optarg, "all"))
				phase = SF_ESTABLISH | SF_FLOOD | SF_CHECK;
			else if (!strcmp(optarg, "establish"))
				phase = SF_ESTABLISH;
			else if (!strcmp(optarg, "check"))
				phase = SF_CHECK;
			else
				goto bad;
			break;
		case 's':
			state = optarg;
			break;
		default:
			goto bad;
		}
	}
	if (!in || !out || !s.vip || !s.nbackends || !n_est || n_est > 65536 || n_syn < 3 ||
	    !n_empty || (!(phase & SF_FLOOD) && !state))
		goto bad;
	if (!xdp_if)
		xdp_if = in;
	if (n_empty > n_syn)
		n_empty = n_syn;
	pin = getenv("VEER_PIN_DIR");
	if (pin && *pin && veer_set_pin_dir(pin))
		return 1;
	if (cpu >= 0 && bench_pin_cpu(cpu))
		fprintf(stderr, "veer-bench: cannot pin to CPU %d, running unpinned\n", cpu);
	s.in_idx = bench_ifindex(in);
	s.out_idx = bench_ifindex(out);
	if (!s.in_idx || !s.out_idx || bench_ifmac(in, s.in_mac) || bench_ifmac(out, s.out_mac))
		return 1;
	s.be_of = calloc(n_est, sizeof(*s.be_of));
	if (!s.be_of) {
		fprintf(stderr, "veer-bench: out of memory\n");
		goto out;
	}
	snprintf(vip_s, sizeof(vip_s), "%s:%u/tcp", ip4(s.vip, a), s.vip_port);
	if (veer_parse_vip(vip_s, &vk))
		goto bad;
	err = veer_open(&v, false);
	if (!err)
		err = veer_vip_get(v, &vk, &vip);
	if (err) {
		fprintf(stderr, "veer-bench: cannot read the VIP %s: %s\n", vip_s, strerror(-err));
		err = 1;
		goto out;
	}
	vip_id = vip.id;
	err = 1;
	s.fd = bench_veer_prog_fd(xdp_if, "xdp");
	if (s.fd < 0)
		goto out;
	empty = bench_empty__open_and_load();
	if (!empty) {
		fprintf(stderr, "veer-bench: cannot load bench_empty: %s\n", strerror(errno));
		goto out;
	}

	if ((phase & SF_ESTABLISH) && sf_establish(&s, n_est))
		goto out;
	if ((phase & SF_ESTABLISH) && !(phase & SF_FLOOD) && sf_state(state, &s, n_est, true))
		goto out;
	if (!(phase & SF_ESTABLISH) && sf_state(state, &s, n_est, false))
		goto out;
	if ((phase & SF_FLOOD) &&
	    sf_flood(&s, bpf_program__fd(empty->progs.bench_empty), n_est, n_syn, n_empty, seed))
		goto out;
	if (phase & SF_CHECK) {
		if (sf_check(&s, v, vip_id, n_est))
			goto out;
		/* 4. The table after it all. */
		veer_close(v);
		v = NULL;
		if (bench_print_table("synflood"))
			goto out;
	}
	if (phase == SF_ESTABLISH)
		phase_name = "establish";
	else if (phase == SF_CHECK)
		phase_name = "check";
	printf("synflood params phase=%s established=%u syns=%u empty=%u backends=%d seed=0x%llx\n",
	       phase_name, n_est, phase & SF_FLOOD ? n_syn : 0, phase & SF_FLOOD ? n_empty : 0,
	       s.nbackends, (unsigned long long)seed);
	err = 0;
out:
	veer_close(v);
	bench_empty__destroy(empty);
	if (s.fd >= 0)
		close(s.fd);
	free(s.be_of);
	return err;
bad:
	usage();
	return 2;
}
