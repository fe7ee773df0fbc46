// SPDX-License-Identifier: GPL-2.0
/* veer-bench helpers: frames, addresses, namespaces, clocks. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* setns, CPU_SET, sched_setaffinity */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __u32 csum_add(__u32 sum, const void *buf, size_t len)
{
	const __u8 *p = buf;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (__u32)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (__u32)p[len - 1] << 8;
	return sum;
}

static void frame_csums(struct bench_frame *f)
{
	__u16 ulen = ntohs(f->udp.len);
	__u32 sum;

	f->ip.check = 0;
	f->ip.check = htons(csum_fold(csum_add(0, &f->ip, sizeof(f->ip))));
	/* UDP pseudo-header: addresses, protocol, length. */
	f->udp.check = 0;
	sum = csum_add(0, &f->ip.saddr, 8);
	sum += IPPROTO_UDP + ulen;
	sum = csum_add(sum, &f->udp, ulen);
	f->udp.check = htons(csum_fold(sum));
	if (!f->udp.check)
		f->udp.check = 0xffff;
}

void bench_frame_build(struct bench_frame *f, const __u8 *smac, const __u8 *dmac, __u32 saddr,
		       __u32 daddr, __u16 sport, __u16 dport)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->eth.h_dest, dmac, ETH_ALEN);
	memcpy(f->eth.h_source, smac, ETH_ALEN);
	f->eth.h_proto = htons(ETH_P_IP);
	f->ip.version = 4;
	f->ip.ihl = 5;
	f->ip.tot_len = htons(sizeof(*f) - sizeof(f->eth));
	f->ip.ttl = 64;
	f->ip.protocol = IPPROTO_UDP;
	f->ip.saddr = htonl(saddr);
	f->ip.daddr = htonl(daddr);
	f->udp.source = htons(sport);
	f->udp.dest = htons(dport);
	f->udp.len = htons(sizeof(*f) - sizeof(f->eth) - sizeof(f->ip));
	memcpy(f->payload, "veer-bench", 10);
	frame_csums(f);
}

void bench_frame_set_src(struct bench_frame *f, __u32 saddr, __u16 sport)
{
	f->ip.saddr = htonl(saddr);
	f->udp.source = htons(sport);
	frame_csums(f);
}

void bench_frame_grow(__u8 *buf, size_t len, const struct bench_frame *f, bool df)
{
	struct bench_frame *h = (struct bench_frame *)buf;
	__u32 sum;

	memset(buf, 0, len);
	memcpy(buf, f, sizeof(*f));
	h->ip.tot_len = htons(len - sizeof(h->eth));
	h->ip.frag_off = htons(df ? 0x4000 : 0);
	h->ip.check = 0;
	h->ip.check = htons(csum_fold(csum_add(0, &h->ip, sizeof(h->ip))));
	h->udp.len = htons(len - sizeof(h->eth) - sizeof(h->ip));
	h->udp.check = 0;
	sum = csum_add(0, &h->ip.saddr, 8);
	sum += IPPROTO_UDP + ntohs(h->udp.len);
	sum = csum_add(sum, &h->udp, ntohs(h->udp.len));
	h->udp.check = htons(csum_fold(sum));
	if (!h->udp.check)
		h->udp.check = 0xffff;
}

int bench_parse_ipv4(const char *s, __u32 *addr)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*addr = ntohl(a.s_addr);
	return 0;
}

int bench_parse_ipv4_port(const char *s, __u32 *addr, __u16 *port)
{
	char buf[64], *colon;
	long p;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -EINVAL;
	colon = strrchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	p = strtol(colon + 1, NULL, 10);
	if (p <= 0 || p > 65535)
		return -EINVAL;
	*port = (__u16)p;
	return bench_parse_ipv4(buf, addr);
}

int bench_setns(const char *name)
{
	char path[256];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "veer-bench: cannot open %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		fprintf(stderr, "veer-bench: cannot enter %s: %s\n", path, strerror(errno));
	}
	close(fd);
	return err;
}

int bench_ifindex(const char *ifname)
{
	int idx = if_nametoindex(ifname);

	if (!idx)
		fprintf(stderr, "veer-bench: no interface %s here\n", ifname);
	return idx;
}

int bench_ifmac(const char *ifname, __u8 mac[ETH_ALEN])
{
	struct ifreq ifr = {};
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		err = -errno;
		fprintf(stderr, "veer-bench: cannot read the MAC of %s: %s\n", ifname,
			strerror(errno));
	} else {
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	}
	close(fd);
	return err;
}

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int bench_pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
