// SPDX-License-Identifier: GPL-2.0
/*
 * The traffic generator, run by BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: every run writes
 * the whole Ethernet/IPv4/UDP header template into the frame (live-frame pages are recycled
 * with whatever the stack or a forwarder left in them), picks the flow from a per-CPU counter
 * and returns XDP_TX, which in live mode transmits out of the test run's ingress device.
 *
 * Flow i (0 <= i < nflows) has source address base_saddr + (i & 0xffff) and source port
 * base_sport + (i >> 16), so 1M flows use 65536 addresses x 16 ports.
 *
 * bench_gen_syn is the SYN flood's generator: an Ethernet/IPv4/TCP SYN template, and frame i's
 * source is a bijection of i over 32 bits, so every frame up to 2^32 comes from a source of its
 * own spread at random: address base_saddr + (x >> 16), port x & 0xffff. Its IPv4 and TCP
 * checksums are updated for the new source.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define HDR_LEN (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr))

/* Set by userspace before load. Mutable globals: a const volatile array would read as zeros. */
__u64 tmpl[(HDR_LEN + 7) / 8];
__u32 nflows = 1;
__u32 ncpus = 1;
__u32 base_saddr; /* host order */
__u16 base_sport; /* host order */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} gen_count SEC(".maps");

static __always_inline __u16 ip_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	struct udphdr *uh = (void *)(iph + 1);
	__u32 zero = 0, idx;
	__u64 *n;

	if (data + HDR_LEN > end)
		return XDP_ABORTED;
	n = bpf_map_lookup_elem(&gen_count, &zero);
	if (!n)
		return XDP_ABORTED;
	/* 42 bytes as five 8-byte words and one 2-byte word, not 42 byte copies. */
	{
		__u64 *d = data;

		d[0] = tmpl[0];
		d[1] = tmpl[1];
		d[2] = tmpl[2];
		d[3] = tmpl[3];
		d[4] = tmpl[4];
		*(__u16 *)&d[5] = (__u16)tmpl[5];
	}
	if (nflows > 1) {
		idx = (__u32)((*n * ncpus + bpf_get_smp_processor_id()) % nflows);
		iph->saddr = bpf_htonl(base_saddr + (idx & 0xffff));
		uh->source = bpf_htons(base_sport + (idx >> 16));
		iph->check = 0;
		iph->check = ip_csum(iph);
	}
	*n += 1;
	return XDP_TX;
}

#define SYN_LEN (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct tcphdr))

/* The SYN template: 54 bytes of headers and 2 of the frame's padding. */
__u64 syn_tmpl[(SYN_LEN + 7) / 8];

static __always_inline __u32 syn_mix(__u32 x)
{
	/* Each step is a bijection of 32 bits: odd multipliers, xor with a right shift. */
	x = x * 0x9e3779b1u + 0x7f4a7c15u;
	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	x *= 0xc2b2ae35u;
	x ^= x >> 16;
	return x;
}

static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

SEC("xdp")
int bench_gen_syn(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	struct tcphdr *th = (void *)(iph + 1);
	__u32 zero = 0, x, saddr, sum;
	__u16 old_sport, sport;
	__be32 old_saddr;
	__u64 *n, *d = data;

	if (data + sizeof(syn_tmpl) > end)
		return XDP_ABORTED;
	n = bpf_map_lookup_elem(&gen_count, &zero);
	if (!n)
		return XDP_ABORTED;
	d[0] = syn_tmpl[0];
	d[1] = syn_tmpl[1];
	d[2] = syn_tmpl[2];
	d[3] = syn_tmpl[3];
	d[4] = syn_tmpl[4];
	d[5] = syn_tmpl[5];
	d[6] = syn_tmpl[6];
	x = syn_mix((__u32)(*n * ncpus + bpf_get_smp_processor_id()));
	saddr = base_saddr + (x >> 16);
	sport = x & 0xffff;
	old_saddr = iph->saddr;
	old_sport = th->source;
	iph->saddr = bpf_htonl(saddr);
	th->source = bpf_htons(sport);
	iph->check = 0;
	iph->check = ip_csum(iph);
	/* RFC 1624: HC' = ~(~HC + ~m + m'), over the source address's two words and the port. */
	sum = (__u16)~th->check;
	sum += (__u16) ~(old_saddr & 0xffff) + (__u16) ~(old_saddr >> 16);
	sum += (__u16)~old_sport;
	sum += (iph->saddr & 0xffff) + (iph->saddr >> 16) + th->source;
	th->check = ~csum_fold32(sum);
	*n += 1;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
