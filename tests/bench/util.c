// SPDX-License-Identifier: GPL-2.0
/* veer-bench helpers: frames, addresses, namespaces, clocks. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* setns, CPU_SET, sched_setaffinity */
#endif
#include <arpa/inet.h>
#include <dirent.h>
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
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include "bench.h"
#include "veer.h"

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

int bench_hist_init(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->bins = calloc(BENCH_HIST_NS, sizeof(*h->bins));
	return h->bins ? 0 : -ENOMEM;
}

void bench_hist_free(struct bench_hist *h)
{
	free(h->bins);
	h->bins = NULL;
}

double bench_hist_quantile(const struct bench_hist *h, double q)
{
	__u64 rank, seen = 0;

	if (!h->n)
		return 0;
	rank = (__u64)(q * (double)h->n);
	if (rank >= h->n)
		rank = h->n - 1;
	for (__u32 ns = 0; ns < BENCH_HIST_NS; ns++) {
		seen += h->bins[ns];
		if (seen > rank)
			return ns;
	}
	return h->max;
}

int bench_run1(int prog_fd, bool tc, const void *data, __u32 len, int ifindex, void *out,
	       __u32 out_size, __u32 *out_len, __u32 *retval, __u32 *duration)
{
	struct xdp_md md = {.data_end = len, .ingress_ifindex = ifindex};
	struct __sk_buff skb = {.ifindex = ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = len, .repeat = 1);

	if (tc) {
		opts.ctx_in = &skb;
		opts.ctx_size_in = sizeof(skb);
	} else {
		opts.ctx_in = &md;
		opts.ctx_size_in = sizeof(md);
	}
	if (out) {
		opts.data_out = out;
		opts.data_size_out = out_size;
	}
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	if (out_len)
		*out_len = opts.data_size_out;
	*retval = opts.retval;
	*duration = opts.duration;
	return 0;
}

int bench_veer_prog_fd(const char *ifname, const char *hook)
{
	struct veer_link *links = NULL;
	size_t n = 0;
	__u32 id = 0;
	int fd, err;

	err = veer_links(&links, &n);
	if (err) {
		fprintf(stderr, "veer-bench: cannot list veer's interfaces: %s\n", strerror(-err));
		return err;
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(links[i].ifname, ifname) && !strcmp(links[i].hook, hook))
			id = links[i].prog_id;
	free(links);
	if (!id) {
		fprintf(stderr,
			"veer-bench: veer is not attached to %s at %s (veer attach %s "
			"--hook %s)\n",
			ifname, hook, ifname, hook);
		return -ENOENT;
	}
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "veer-bench: cannot open veer's program %u on %s: %s\n", id, ifname,
			strerror(errno));
		return err;
	}
	return fd;
}

__u64 bench_rand(__u64 *state)
{
	__u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void bench_shuffle(__u32 *order, __u32 n, __u64 *state)
{
	for (__u32 i = 0; i < n; i++)
		order[i] = i;
	for (__u32 i = n - 1; i > 0; i--) {
		__u32 j = bench_rand(state) % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

static int count_entry(const struct veer_flow_info *fi, void *ctx)
{
	(void)fi;
	(*(__u64 *)ctx)++;
	return 0;
}

int bench_print_table(const char *label)
{
	char path[512], line[256];
	struct veer *v = NULL;
	struct dirent *de;
	__u64 entries = 0;
	DIR *d;
	int err;

	err = veer_open(&v, false);
	if (!err)
		err = veer_flow_foreach(v, count_entry, &entries);
	veer_close(v);
	if (err) {
		fprintf(stderr, "veer-bench: cannot count the connection table: %s\n",
			strerror(-err));
		return err;
	}
	printf("%s table entries=%llu\n", label, (unsigned long long)entries);
	/* Every pinned map whose name says flow, whatever the table's maps are called. */
	d = opendir(veer_pin_dir());
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct bpf_map_info info = {};
		__u32 ilen = sizeof(info);
		unsigned long long memlock = 0;
		FILE *fi;
		int fd;

		if (!strstr(de->d_name, "flow") && !strstr(de->d_name, "syns"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", veer_pin_dir(), de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
			snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
			fi = fopen(path, "r");
			while (fi && fgets(line, sizeof(line), fi))
				sscanf(line, "memlock: %llu", &memlock);
			if (fi)
				fclose(fi);
			printf("%s map name=%s type=%u max_entries=%u key=%u value=%u "
			       "memlock=%llu\n",
			       label, info.name, info.type, info.max_entries, info.key_size,
			       info.value_size, memlock);
		}
		close(fd);
	}
	closedir(d);
	return 0;
}
