// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's sink: counts every frame per CPU and drops it, so the stack costs nothing.
 * It also counts the frames that carry IP in IP (an IPv4 header of protocol 4 or 41, an IPv6
 * header of next header 4 or 41) and the others, each in a counter of its own, so that a run
 * through a dsr-ipip forwarder can tell that everything that arrived was encapsulated, and a
 * run through any other that nothing was.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sink_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sink_encap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sink_plain SEC(".maps");

SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	const __u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&sink_count, &zero);
	__u8 proto = 0;

	if (n)
		*n += 1;
	/* The IPv4 protocol (byte 9) or the IPv6 next header (byte 6) after the MACs. */
	if (data + ETH_HLEN + 10 <= end) {
		__u16 type = *(const __u16 *)(data + 12);

		if (type == bpf_htons(ETH_P_IP))
			proto = data[ETH_HLEN + 9];
		else if (type == bpf_htons(ETH_P_IPV6))
			proto = data[ETH_HLEN + 6];
	}
	if (proto == 4 || proto == 41)
		n = bpf_map_lookup_elem(&sink_encap, &zero);
	else
		n = bpf_map_lookup_elem(&sink_plain, &zero);
	if (n)
		*n += 1;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
