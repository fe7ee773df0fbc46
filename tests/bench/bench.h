/* SPDX-License-Identifier: GPL-2.0 */
/* veer-bench: what the benchmark's files share. */
#ifndef VEER_BENCH_H
#define VEER_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>

#define BENCH_FRAME_LEN 60 /* a minimum Ethernet frame without its FCS */

struct bench_frame {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	__u8 payload[BENCH_FRAME_LEN - sizeof(struct ethhdr) - sizeof(struct iphdr) -
		     sizeof(struct udphdr)];
} __attribute__((packed));

/* Addresses and ports in host order; checksums (IPv4 header, UDP) are computed in full. */
void bench_frame_build(struct bench_frame *f, const __u8 *smac, const __u8 *dmac, __u32 saddr,
		       __u32 daddr, __u16 sport, __u16 dport);
/* Sets the source address and port and recomputes both checksums. */
void bench_frame_set_src(struct bench_frame *f, __u32 saddr, __u16 sport);
/* f's packet made len bytes long (zero payload), DF set or not, checksums recomputed. */
void bench_frame_grow(__u8 *buf, size_t len, const struct bench_frame *f, bool df);

int bench_parse_ipv4(const char *s, __u32 *addr); /* host order */
int bench_parse_ipv4_port(const char *s, __u32 *addr, __u16 *port);

/* Enters the network namespace /run/netns/NAME (this thread only). */
int bench_setns(const char *name);
int bench_ifindex(const char *ifname);
int bench_ifmac(const char *ifname, __u8 mac[ETH_ALEN]);

double bench_now(void); /* CLOCK_MONOTONIC seconds */
int bench_pin_cpu(int cpu);
int bench_cmp_double(const void *a, const void *b);
double bench_median(double *v, size_t n); /* sorts v */

/*
 * Per-call durations (BPF_PROG_RUN's duration field with repeat=1, in ns) for percentiles: one
 * bin per nanosecond up to BENCH_HIST_NS, above that counted and kept as the largest.
 */
#define BENCH_HIST_NS 65536

struct bench_hist {
	__u64 n, sum, over;
	__u32 max;
	__u32 *bins; /* BENCH_HIST_NS */
};

int bench_hist_init(struct bench_hist *h);
void bench_hist_free(struct bench_hist *h);
static inline void bench_hist_add(struct bench_hist *h, __u32 ns)
{
	h->n++;
	h->sum += ns;
	if (ns > h->max)
		h->max = ns;
	if (ns < BENCH_HIST_NS)
		h->bins[ns]++;
	else
		h->over++;
}
/* The q-quantile (0 < q < 1) in ns; the largest value when it falls above the bins. */
double bench_hist_quantile(const struct bench_hist *h, double q);

/*
 * One BPF_PROG_RUN call, repeat=1: an XDP program with ingress_ifindex, or (tc) a tc program
 * on an skb the runner builds on ifindex's device. out (out_size bytes, or NULL) receives the
 * packet as the program left it, *out_len its length.
 */
int bench_run1(int prog_fd, bool tc, const void *data, __u32 len, int ifindex, void *out,
	       __u32 out_size, __u32 *out_len, __u32 *retval, __u32 *duration);

/*
 * An fd of veer's program attached to ifname at the hook asked for (xdp, tc), found through
 * libveer's list of veer's interfaces in this network namespace; -errno with a message.
 */
int bench_veer_prog_fd(const char *ifname, const char *hook);

/*
 * Prints "LABEL table entries=N", the connection table's entries counted through libveer, and
 * "LABEL map name=.. memlock=.." for every map pinned in veer's pin directory whose name says
 * flow.
 */
int bench_print_table(const char *label);

/* Fills the order with a random permutation of 0..n-1 (Fisher-Yates; state is the PRNG's). */
void bench_shuffle(__u32 *order, __u32 n, __u64 *state);
__u64 bench_rand(__u64 *state); /* splitmix64 */

/*
 * When a backend change reaches the data plane (tests/bench/edit.c): new flows (a new source
 * port each, from src) to the VIP run through veer's program attached at tc on ifname, by
 * BPF_PROG_RUN, until one leaves rewritten to backend. Used by `edit` (a config file saved)
 * and `etcd` (a key written to etcd).
 */
struct bench_probe {
	int fd, ifindex;
	struct bench_frame fr;
	__u16 sport;
};

int bench_probe_init(struct bench_probe *p, const char *ifname, __u32 vip, __u16 port);
/*
 * Probes from now until timeout_s after t0 (bench_now), a probe every 50 us; 0 with *hit_at
 * the time of the probe that went to backend, -ETIMEDOUT, or -EIO.
 */
int bench_probe_wait(struct bench_probe *p, __u32 backend, __u32 src, double t0, double timeout_s,
		     double *hit_at);
/* Prints "LABEL EXTRAp50_ms=.. p99_ms=.. max_ms=.." of n latencies (sorted in place). */
void bench_latency_print(const char *label, double *lat_ms, int n, const char *extra);

int cmd_prog_run(int argc, char **argv);
int cmd_live(int argc, char **argv);
int cmd_kv(int argc, char **argv);
int cmd_flows(int argc, char **argv);
int cmd_synflood(int argc, char **argv);
int cmd_decap(int argc, char **argv);
int cmd_ab(int argc, char **argv);
int cmd_edit(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_health(int argc, char **argv);
int cmd_etcd(int argc, char **argv);
int cmd_k8s(int argc, char **argv);
int cmd_events(int argc, char **argv);

#endif
