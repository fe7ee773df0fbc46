/* SPDX-License-Identifier: GPL-2.0 */
/* Every map of the hot-key cache, pinned by name under /sys/fs/bpf/veer like the balancer's. */
#ifndef VEER_BPF_CACHE_MAPS_H
#define VEER_BPF_CACHE_MAPS_H

#include "common.h"

/* Which server ports are cached, and in which protocol. Filled by `veer cache attach`. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VEER_CACHE_PORTS);
	__type(key, __u32);
	__type(value, struct veer_cache_port);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_cache_ports SEC(".maps");

/* The client sockets whose messages the sk_msg and sk_skb programs see. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, VEER_CACHE_CONNS);
	__type(key, struct veer_cache_sock_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_cache_socks SEC(".maps");

/*
 * Per-connection stream state. A plain hash (no LRU): state that vanished under a live
 * connection could not be rebuilt, so a connection that finds no room is never served.
 * bpf_sk_storage would be the natural home, but the verdict program cannot reach it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VEER_CACHE_CONNS);
	__type(key, struct veer_cache_sock_key);
	__type(value, struct veer_cache_conn);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_cache_conns SEC(".maps");

/*
 * The cached replies. Only userspace inserts, and it keeps the table within bounds. Not
 * preallocated: a replaced element is freed after RCU, so a hit that is copying it never sees
 * its memory reused for another key.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VEER_CACHE_ENTRIES);
	__type(key, struct veer_cache_hkey);
	__type(value, struct veer_cache_entry);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_cache_data SEC(".maps");

/* A generation per hash slot of the key: bumped by every write, before it reaches the server. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VEER_CACHE_GEN_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_cache_gens SEC(".maps");

/* Mmapable: userspace bumps the epoch with an atomic add, never a whole-value update. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct veer_cache_glob);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_cache_glob SEC(".maps");

/* Misses per key: the cache manager promotes the most missed. LRU: cold keys fall out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VEER_CACHE_HOT_MAX);
	__type(key, struct veer_cache_hkey);
	__type(value, struct veer_cache_hot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_cache_hot SEC(".maps");

/* What each command means to the cache; a command not found here is treated as a write. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, struct veer_cache_cmd_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_cache_cmds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VEER_CACHE_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_cache_stats SEC(".maps");

static __always_inline void cache_count(__u32 stat)
{
	__u64 *n = bpf_map_lookup_elem(&veer_cache_stats, &stat);

	if (n)
		*n += 1;
}

#endif
