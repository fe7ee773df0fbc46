/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one contract between veer's BPF programs and userspace: every map key and value, every
 * enum and limit. Fixed-width types and explicit padding only, so that the layout is the same
 * for clang -target bpf and for the host compiler, and so that `bpftool map dump` shows named
 * fields through BTF.
 */
#ifndef VEER_ABI_H
#define VEER_ABI_H

#include <linux/types.h>

#define VEER_PIN_ROOT "/sys/fs/bpf"
#define VEER_PIN_DIR  VEER_PIN_ROOT "/veer"

/* Limits. Map sizes are fixed when the pinned maps are first created. */
#define VEER_MAX_VIPS	    512
#define VEER_MAX_BACKENDS   4096
#define VEER_FLOWS4_MAX	    4194304 /* two entries per NAT flow: 2M IPv4 flows, ~480 MiB */
#define VEER_FLOWS6_MAX	    1048576 /* 512k IPv6 flows, ~150 MiB */
#define VEER_AFFINITY_MAX   262144
#define VEER_RING_DEFAULT   65537
#define VEER_RING_MAX	    1048573 /* largest prime below 2^20 */
#define VEER_POOL_NAME_LEN  16
#define VEER_NO_BACKEND	    0xffffffffu
#define VEER_WEIGHT_MAX	    10000
#define VEER_WEIGHT_DEFAULT 100

/* A flow idle this long is forgotten and its next packet is scheduled again. */
#define VEER_FLOW_TIMEOUT_NS (300ULL * 1000000000ULL)
/*
 * How often an active flow refreshes its idle clock, its cached next hop and its reply entry.
 * Each refresh costs a FIB lookup and a second table lookup, cache misses both when the
 * table is large: rare enough that a million flows do not pay it per packet, often enough
 * that a neighbour whose MAC changed is followed within seconds.
 */
#define VEER_FLOW_REFRESH_NS (5ULL * 1000000000ULL)

enum veer_family {
	VEER_AF_INET = 4,
	VEER_AF_INET6 = 6,
};

enum veer_vip_mode {
	VEER_MODE_NAT = 0,
	VEER_MODE_DSR_IPIP = 1,
	VEER_MODE_DSR_L2 = 2,
};

/* IPv4 addresses sit in the first 4 bytes, the rest zero, so keys compare bytewise. */
union veer_addr {
	__u32 v4;
	__u32 v6[4];
	__u8 bytes[16];
};

/* veer_vips: (address, port, protocol) -> struct veer_vip. Ports in network order. */
struct veer_vip_key {
	union veer_addr addr;
	__be16 port;
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* enum veer_family */
};

struct veer_vip {
	__u32 id;	 /* index into veer_rings and veer_vip_stats */
	__u32 ring_size; /* prime; the Maglev table in veer_rings[id] has this many slots */
	__u32 affinity;	 /* session affinity timeout in seconds, 0 = off */
	__u8 mode;	 /* enum veer_vip_mode */
	__u8 pad[3];
};

/* veer_backends[id]: one backend of one VIP. Slots are reused only after every other free one. */
#define VEER_BACKEND_ACTIVE (1u << 0)

struct veer_backend {
	union veer_addr addr;
	__be16 port;
	__u8 family;
	__u8 flags; /* VEER_BACKEND_* */
	__u32 vip_id;
	__u32 weight; /* 0 = draining: kept out of the ring, established flows stay */
	__u32 seq;    /* insertion order, for slot reuse */
	char pool[VEER_POOL_NAME_LEN];
};

/*
 * The connection table, keyed by the packet's own 5-tuple as it arrives. A NAT flow has two
 * entries: client->VIP (forward, rewrites the destination to the backend) and backend->client
 * (reply, rewrites the source back to the VIP). One lookup serves both directions.
 *
 * veer_flows4 (IPv4) has a 16-byte key and veer_flows6 (IPv6) a 40-byte one: the key is hashed
 * and compared on every packet, and most traffic is IPv4. struct veer_flow_key is the form
 * both take in the data plane's parser and in userspace; veer_flows6 uses it as it is.
 */
struct veer_flow4_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct veer_flow_key {
	union veer_addr saddr;
	union veer_addr daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};

enum veer_flow_dir {
	VEER_FLOW_FORWARD = 0,
	VEER_FLOW_REPLY = 1,
};

struct veer_flow {
	union veer_addr addr; /* new destination (forward) or new source (reply) */
	__be16 port;
	__u8 dir; /* enum veer_flow_dir */
	__u8 pad0;
	__u32 vip_id;
	__u32 backend_id;
	__u32 ifindex; /* cached next hop, 0 = hand the rewritten packet to the stack */
	__u8 dmac[6];
	__u8 smac[6];
	__u64 last_seen; /* bpf_ktime_get_coarse_ns() */
};

/* veer_affinity: (VIP, client address) -> backend, for VIPs with session affinity. */
struct veer_affinity_key {
	union veer_addr client;
	__u32 vip_id;
	__u32 pad;
};

struct veer_affinity {
	__u32 backend_id;
	__u32 pad;
	__u64 last_seen;
};

/* veer_vip_stats[vip id], veer_be_stats[backend id]: per-CPU, summed by userspace. */
struct veer_counters {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
	__u64 reply_packets;
	__u64 reply_bytes;
};

/*
 * What happened to a packet that was not load balanced: dropped, or handed to the stack as it
 * came. veer_reasons[reason] counts them per CPU. Internally the data plane returns the negated
 * reason ("a negative drop reason for every drop").
 *
 * The rule for malformed packets: a frame whose Ethernet or IP header is broken is dropped (the
 * stack would drop it too); a TCP/UDP packet whose ports cannot be read is dropped; a first
 * fragment bound for a VIP is dropped, because later fragments carry no ports and would be
 * scheduled apart from it; later fragments carry no ports and are passed untouched.
 */
enum veer_reason {
	VEER_REASON_NONE = 0,
	VEER_DROP_BAD_L2,     /* frame shorter than its Ethernet/802.1Q header */
	VEER_DROP_BAD_L3,     /* IP header truncated, IHL < 5, bad version or bad length */
	VEER_DROP_BAD_L4,     /* TCP/UDP header truncated: ports unknown */
	VEER_DROP_FRAGMENT,   /* first fragment of a VIP-bound packet */
	VEER_DROP_NO_BACKEND, /* VIP with no backend of non-zero weight */
	VEER_DROP_FLOW_FULL,  /* connection table insert failed */
	VEER_DROP_UNSUPPORTED, /* VIP mode this data plane does not forward */
	VEER_PASS_NOT_IP,     /* not IPv4/IPv6 (ARP, LLDP, ...): passed untouched */
	VEER_PASS_NOT_VIP,    /* IP traffic of no VIP and no flow: passed untouched */
	VEER_PASS_FRAGMENT,   /* non-first fragment: no ports, passed untouched */
	VEER_PASS_TTL,	      /* TTL/hop limit expires here: passed for the stack's ICMP */
	VEER_PASS_STACK,      /* rewritten, then routed by the stack (no neighbour yet, VLAN) */
	VEER_REASON_MAX,
};

#define VEER_REASON_NAMES                                                                  \
	{                                                                                  \
		"none", "bad_l2", "bad_l3", "bad_l4", "fragment", "no_backend", "flow_full",     \
			"unsupported", "not_ip", "not_vip", "fragment_tail", "ttl", "stack", \
	}

#endif /* VEER_ABI_H */
