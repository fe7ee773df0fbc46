/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every map of the load balancer. All are pinned by name under /sys/fs/bpf/veer so that the CLI,
 * the daemon and every attached copy of the program share one state, and a restart adopts it.
 */
#ifndef VEER_BPF_MAPS_H
#define VEER_BPF_MAPS_H

#include "common.h"
#include <veer/svc_hash.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VEER_MAX_VIPS);
	__type(key, struct veer_vip_key);
	__type(value, struct veer_vip);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_vips SEC(".maps");

/* Addresses of VIPs, for ICMP echo (bpf/lib/icmp.h); written by libveer with veer_vips. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VEER_MAX_VIPS);
	__type(key, struct veer_vip_addr_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_vip_addrs SEC(".maps");

/*
 * One Maglev table per VIP, built off to the side by userspace and swapped in with a single
 * update of the outer map: a packet sees the old table or the new one, never a mix.
 * BPF_F_INNER_MAP lets each VIP have its own (prime) ring size (VEER_RING_MAP_FLAGS).
 */
struct veer_ring {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VEER_RING_DEFAULT);
	__uint(map_flags, VEER_RING_MAP_FLAGS);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, VEER_MAX_VIPS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct veer_ring);
} veer_rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VEER_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct veer_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_backends SEC(".maps");

/* The connection table and its handshake table: see struct veer_flow in abi.h. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VEER_FLOWS4_MAX);
	__type(key, struct veer_flow4_key);
	__type(value, struct veer_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_flows4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VEER_FLOWS6_MAX);
	__type(key, struct veer_flow_key);
	__type(value, struct veer_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_flows6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VEER_SYNS4_MAX);
	__type(key, struct veer_flow4_key);
	__type(value, struct veer_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_syns4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VEER_SYNS6_MAX);
	__type(key, struct veer_flow_key);
	__type(value, struct veer_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_syns6 SEC(".maps");

/* The filter in front of veer_vips and veer_be_index (include/veer/svc_hash.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VEER_SVC_SLOTS);
	__type(key, __u32);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_svc SEC(".maps");

/* Preallocated: every reply looks it up. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VEER_MAX_BACKENDS);
	__type(key, struct veer_be_key);
	__type(value, struct veer_be_vips);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_be_index SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VEER_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct veer_be_hop);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_be_hops SEC(".maps");

/*
 * Per-CPU scratch space for a packet's struct flow_view: kept off the stack, which a program
 * shares with its bpf_loop callbacks within 512 bytes. Not pinned: nothing outside reads it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_view);
} veer_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct veer_settings);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VEER_AFFINITY_MAX);
	__type(key, struct veer_affinity_key);
	__type(value, struct veer_affinity);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_affinity SEC(".maps");

/* Fragmented datagrams: (addresses, protocol, IP id) -> the first fragment's ports. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VEER_FRAGS_MAX);
	__type(key, struct veer_frag_key);
	__type(value, struct veer_frag);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VEER_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct veer_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VEER_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct veer_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_be_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VEER_REASON_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_reasons SEC(".maps");

/* The event stream and its rate limits (bpf/lib/events.h, abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, VEER_EVENTS_RING_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VEER_EVENT_SLOTS);
	__type(key, __u32);
	__type(value, struct veer_event_count);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_ev_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VEER_REASON_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_ev_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VEER_REASON_SLOTS);
	__type(key, __u32);
	__type(value, struct veer_ev_pending);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_ev_dropcpu SEC(".maps");

/* By table and family (enum veer_event_table * 2 + IPv6): the second last reported. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VEER_EVENT_TABLES * 2);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_ev_full SEC(".maps");

/* Per-source token buckets of the ICMP errors the data plane sends (icmp_send.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VEER_ICMP_RL_MAX);
	__type(key, struct veer_icmp_rl_key);
	__type(value, struct veer_icmp_rl);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_icmp_rl SEC(".maps");

/* The forward proxy's rules, its gate and its connections (bpf/lib/proxy.h, abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VEER_PROXY_RULES_MAX);
	__type(key, struct veer_proxy_key);
	__type(value, struct veer_proxy_rule);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_proxy_rule SEC(".maps");

/* One entry of two bitmaps (16 KiB): cache-friendly where a byte per port would take 512 KiB. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct veer_proxy_gate);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_proxy_gate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VEER_PROXY_CONNS_MAX);
	__type(key, struct veer_proxy_conn_key);
	__type(value, struct veer_proxy_conn);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_proxy_conn SEC(".maps");

/*
 * Per-CPU scratch space for the proxy's keys and a new connection's entry: the load balancer's
 * paths leave a program's stack (512 bytes, shared with bpf_loop callbacks) almost full. Not
 * pinned.
 */
struct proxy_scratch {
	struct veer_proxy_conn_key key;
	struct veer_proxy_key rule_key;
	struct veer_proxy_conn conn;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct proxy_scratch);
} veer_proxy_scratch SEC(".maps");

#endif
