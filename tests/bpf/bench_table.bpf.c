// SPDX-License-Identifier: GPL-2.0
/*
 * The floors of the million-flow benchmark (veer-bench flows): programs that do nothing but one
 * table access per packet, keyed by the packet's 5-tuple, over tables shaped like veer's IPv4
 * connection table (16-byte key, 56-byte value, 4M entries). What veer's connection table
 * cannot cost less than, measured on the same packets in the same run.
 *
 * Each hash program looks the 5-tuple up; a hit writes the value (lookup-and-update, the
 * established case) and returns XDP_PASS, a miss inserts it (the creation case) and returns
 * XDP_TX; a failed insert or a short packet returns XDP_ABORTED. The caller checks the verdict
 * of every call: the first round must insert every flow and the later ones must find them.
 * The array program hashes the 5-tuple to one of 4M slots and writes it (XDP_PASS).
 *
 * The packets are the benchmark's own Ethernet/IPv4 (no options)/UDP frames: the key is read
 * at fixed offsets, and a packet of another shape is no business of a floor.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <veer/abi.h>

#define TABLE_ENTRIES (4u << 20)

struct table_val {
	__u8 data[48];
	__u64 packets;
};

/* Keyed as veer's IPv4 connection table is; the value is the floor's as the issue set it. */
_Static_assert(sizeof(struct table_val) == 56, "the floor's value is 56 bytes");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TABLE_ENTRIES);
	__type(key, struct veer_flow4_key);
	__type(value, struct table_val);
} table_lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TABLE_ENTRIES);
	__type(key, struct veer_flow4_key);
	__type(value, struct table_val);
} table_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TABLE_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct veer_flow4_key);
	__type(value, struct table_val);
} table_hash_np SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TABLE_ENTRIES);
	__type(key, __u32);
	__type(value, struct table_val);
} table_array SEC(".maps");

static __always_inline int packet_key(struct xdp_md *ctx, struct veer_flow4_key *k)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	struct udphdr *uh = (void *)(iph + 1);

	if ((void *)(uh + 1) > end)
		return -1;
	k->saddr = iph->saddr;
	k->daddr = iph->daddr;
	k->sport = uh->source;
	k->dport = uh->dest;
	k->proto = iph->protocol;
	return 0;
}

static __always_inline int lookup_or_insert(struct xdp_md *ctx, void *map)
{
	struct veer_flow4_key k = {};
	struct table_val *v, nv = {};

	if (packet_key(ctx, &k))
		return XDP_ABORTED;
	v = bpf_map_lookup_elem(map, &k);
	if (v) {
		v->packets++;
		return XDP_PASS;
	}
	nv.packets = 1;
	if (bpf_map_update_elem(map, &k, &nv, BPF_NOEXIST))
		return XDP_ABORTED;
	return XDP_TX;
}

SEC("xdp")
int bench_table_lru(struct xdp_md *ctx)
{
	return lookup_or_insert(ctx, &table_lru);
}

SEC("xdp")
int bench_table_hash(struct xdp_md *ctx)
{
	return lookup_or_insert(ctx, &table_hash);
}

SEC("xdp")
int bench_table_hash_np(struct xdp_md *ctx)
{
	return lookup_or_insert(ctx, &table_hash_np);
}

SEC("xdp")
int bench_table_array(struct xdp_md *ctx)
{
	struct veer_flow4_key k = {};
	struct table_val *v;
	__u32 idx, h;

	if (packet_key(ctx, &k))
		return XDP_ABORTED;
	/* A multiplicative hash of the 5-tuple: flows land on slots spread over the array. */
	h = k.saddr * 0x9e3779b1u;
	h ^= k.daddr * 0x85ebca6bu;
	h ^= ((__u32)k.sport << 16 | k.dport) * 0xc2b2ae35u;
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	idx = h & (TABLE_ENTRIES - 1);
	v = bpf_map_lookup_elem(&table_array, &idx);
	if (!v)
		return XDP_ABORTED;
	v->packets++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
