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

int cmd_prog_run(int argc, char **argv);
int cmd_live(int argc, char **argv);
int cmd_kv(int argc, char **argv);

#endif
