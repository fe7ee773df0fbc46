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
#define VEER_MAX_VIPS	    1024
#define VEER_MAX_BACKENDS   16384
#define VEER_FLOWS4_MAX	    4194304 /* one entry per connection: 4M IPv4 flows, ~450 MiB */
#define VEER_FLOWS6_MAX	    1048576 /* 1M IPv6 flows, ~140 MiB */
#define VEER_SYNS4_MAX	    262144  /* TCP handshakes in progress, IPv4 */
#define VEER_SYNS6_MAX	    65536
#define VEER_AFFINITY_MAX   262144
#define VEER_FRAGS_MAX	    16384 /* fragmented datagrams in flight, see struct veer_frag_key */
#define VEER_RING_DEFAULT   65537
#define VEER_RING_MAX	    1048573 /* largest prime below 2^20 */
#define VEER_POOL_NAME_LEN  16
#define VEER_NO_BACKEND	    0xffffffffu
#define VEER_WEIGHT_MAX	    10000
#define VEER_WEIGHT_DEFAULT 100
/*
 * The flags of a VIP's Maglev table, an inner map of veer_rings, which every table must have:
 * a size of its own (BPF_F_INNER_MAP), and written by userspace through a memory mapping
 * (BPF_F_MMAPABLE), a memcpy where an update per slot costs about 200 ns. (Needs linux/bpf.h.)
 */
#define VEER_RING_MAP_FLAGS (BPF_F_INNER_MAP | BPF_F_MMAPABLE)
/* IPv6 extension headers the data plane walks before the upper layer; one more is dropped. */
#define VEER_IPV6_EXT_MAX 8

/*
 * Default idle timeouts: a flow idle this long is forgotten and its next packet is scheduled
 * again. Set at runtime in veer_settings (`veer set`).
 */
#define VEER_TCP_TIMEOUT_NS (300ULL * 1000000000ULL)
#define VEER_UDP_TIMEOUT_NS (120ULL * 1000000000ULL)
/* A TCP handshake idle this long is forgotten, and a closing connection (as Cilium's). */
#define VEER_TCP_SYN_TIMEOUT_NS	  (60ULL * 1000000000ULL)
#define VEER_TCP_CLOSE_TIMEOUT_NS (10ULL * 1000000000ULL)
/*
 * How often an active flow refreshes its idle clock and its cached next hop toward the client,
 * and a backend its next hop (per CPU). A refresh is a write to the entry, and a next hop a FIB
 * lookup: rare enough that a million flows do not pay them per packet, often enough that a
 * neighbour whose MAC changed is followed within seconds.
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
	__u8 owner;	 /* enum veer_vip_owner: who declared it, and so who may change it */
	__u8 pad[2];
};

/*
 * Who made a VIP. A VIP made by hand (veer vip add) is never changed by a reconcile; one made
 * from a config file (veerd, veer apply) is kept equal to the file and removed with it; one
 * from a source of veerd's (etcd, Kubernetes) is kept equal to that source alone, so a source
 * that has not answered yet after a restart leaves its VIPs as they were.
 */
enum veer_vip_owner {
	VEER_OWNER_CLI = 0,
	VEER_OWNER_CONFIG = 1,
	VEER_OWNER_ETCD = 2,
	VEER_OWNER_KUBERNETES = 3,
};

/*
 * veer_backends[id]: one backend of one VIP. Slots are reused only after every other free one.
 *
 * A flow names its backend by slot and gen: gen changes only when the slot is given to another
 * backend, so a flow of a removed backend keeps going to its address (REMOVED: out of the ring
 * and of every choice, kept for its flows) until the slot is reused, and never follows the slot
 * to a stranger.
 */
#define VEER_BACKEND_ACTIVE  (1u << 0)
#define VEER_BACKEND_REMOVED (1u << 1) /* deleted; established flows finish on it */
#define VEER_BACKEND_SHARED  (1u << 2) /* its address:port serves other VIPs too */
/*
 * Failed its health checks: out of the ring and of every new choice, as weight 0 is, while its
 * weight stays what the operator set. Established flows stay unless the VIP's health says
 * on_down: reset, which deletes them.
 */
#define VEER_BACKEND_DOWN (1u << 5)
/*
 * The mode of the backend's VIP (enum veer_vip_mode), in bits 3-4: how its packets reach it.
 * Written by libveer with the slot, so that every packet of a flow, which reads the slot
 * anyway, knows it without a look at the VIP. A DSR backend is never in veer_be_index (its
 * replies do not come back through veer) and never SHARED.
 */
#define VEER_BACKEND_MODE_SHIFT	 3
#define VEER_BACKEND_MODE_MASK	 (3u << VEER_BACKEND_MODE_SHIFT)
#define VEER_BACKEND_MODE(flags) (((flags) >> VEER_BACKEND_MODE_SHIFT) & 3u)
#define VEER_BACKEND_MODE_FLAGS(mode)                                                              \
	(((__u8)(mode) << VEER_BACKEND_MODE_SHIFT) & VEER_BACKEND_MODE_MASK)

struct veer_backend {
	union veer_addr addr;
	__be16 port;
	__u8 family;
	__u8 flags; /* VEER_BACKEND_* */
	__u32 vip_id;
	__u32 weight; /* 0 = draining: kept out of the ring, established flows stay */
	__u32 seq;    /* insertion order, for slot reuse */
	__u32 gen;    /* bumped each time the slot is given to a backend */
	char pool[VEER_POOL_NAME_LEN];
};

/*
 * veer_be_index: a backend's address:port -> the VIPs it serves, so that a reply (backend ->
 * client) finds its flow, which is keyed client -> VIP, without an entry of its own. Written by
 * libveer from veer_backends: active and removed (still serving flows) slots. A reply is tried
 * against each VIP in turn; at most VEER_BE_VIPS_MAX VIPs may share one backend address:port.
 */
#define VEER_BE_VIPS_MAX 8

struct veer_be_key {
	union veer_addr addr;
	__be16 port;
	__u8 proto;
	__u8 family;
};

struct veer_be_vip {
	union veer_addr vip_addr;
	__be16 vip_port;
	__u8 pad[2];
	__u32 backend_id; /* the slot serving this VIP from that address:port */
};

struct veer_be_vips {
	__u32 count;
	__u32 pad;
	struct veer_be_vip vips[VEER_BE_VIPS_MAX];
};

/* A cached next hop: egress interface and MACs from a FIB lookup, and the interface's MTU. */
struct veer_hop {
	__u32 ifindex; /* 0 = hand the rewritten packet to the stack */
	__u8 dmac[6];
	__u8 smac[6];
	__u16 mtu; /* larger packets are not redirected; 0 = unknown */
	__u8 pad[2];
};

/*
 * veer_be_hops[backend id], per CPU: the next hop toward the backend, shared by all its flows.
 * Per CPU so that no two CPUs write one entry; resolved again when stale or when gen says the
 * slot changed hands.
 */
struct veer_be_hop {
	struct veer_hop hop;
	__u32 gen;
	__u64 resolved; /* bpf_ktime_get_coarse_ns(); 0 = never */
};

/* veer_settings[0]: what the data plane reads at run time; written by `veer set`. */
struct veer_settings {
	__u64 tcp_timeout_ns;
	__u64 udp_timeout_ns;
	/*
	 * dsr-ipip: the prefixes the outer header's source is taken from (`veer set
	 * encap-source4|encap-source6`), host bits zero; the host bits of each packet's source
	 * come from a hash of its client's address and port. An all-zero address is "not set":
	 * VEER_ENCAP_SRC4_DEFAULT / VEER_ENCAP_SRC6_DEFAULT.
	 */
	union veer_addr encap_src4;
	union veer_addr encap_src6;
	__u8 encap_src4_len; /* 1..32 */
	__u8 encap_src6_len; /* 1..128 */
	__u8 pad[2];
	/*
	 * The event stream (bpf/lib/events.h): one new flow in event_sample is reported (`veer
	 * set event-sample 1/N`; 0, the default, reports none), and a drop reason counted
	 * event_drop_burst times within one second is reported once in that second (`veer set
	 * event-drop-burst N`; 0, the default, never).
	 */
	__u32 event_sample;
	__u32 event_drop_burst;
	__u32 pad2;
};

/* As Katran's: 172.16.0.0/16, and 100::/64, the discard-only prefix (RFC 6666). */
#define VEER_ENCAP_SRC4_DEFAULT	    0xac100000u /* host order */
#define VEER_ENCAP_SRC4_LEN_DEFAULT 16
#define VEER_ENCAP_SRC6_DEFAULT	    0x01000000u /* the first word, host order; the rest zero */
#define VEER_ENCAP_SRC6_LEN_DEFAULT 64

/*
 * veer_vip_addrs: (address, family) -> how many VIPs have that address. The data plane answers
 * ICMP echo requests to these addresses; libveer keeps the count with every VIP add and del.
 */
struct veer_vip_addr_key {
	union veer_addr addr;
	__u8 family; /* enum veer_family */
	__u8 pad[3];
};

/*
 * The connection table: one entry per connection, keyed by its 5-tuple as the client sends it
 * (client -> VIP). A forward packet finds it with its own tuple; a reply (backend -> client)
 * finds it through veer_be_index, which names the VIP, so both directions cost one lookup in
 * the big table and no state can hold one direction without the other.
 *
 * TCP connections are entered in veer_syns4/6 by their SYN and move to veer_flows4/6 with the
 * client's first packet past the handshake: a flood of spoofed SYNs churns the small handshake
 * table only, never the established connections. A handshake whose entry the flood evicted
 * still completes: its next packet is scheduled by the same Maglev table.
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

struct veer_flow {
	__u32 backend_id;
	__u32 backend_gen;	   /* veer_backends[backend_id].gen when the flow was made */
	__u64 last_seen;	   /* bpf_ktime_get_coarse_ns(), refreshed by either direction */
	__u64 hop_resolved;	   /* when reply_hop was resolved; 0 = never */
	struct veer_hop reply_hop; /* toward the client */
	__u32 flags;		   /* VEER_FLOW_* */
};

/*
 * A TCP connection that sent a FIN or a RST either way: it lives VEER_TCP_CLOSE_TIMEOUT_NS more
 * (the last ACKs, retransmitted FINs), and counts for no reply clash; a new SYN on its 5-tuple
 * starts a new connection.
 */
#define VEER_FLOW_CLOSING (1u << 0)

/*
 * veer_frags: the ports of a fragmented datagram, for its later fragments. Only the first
 * fragment (offset 0, more fragments) carries the TCP/UDP header; it is balanced like any
 * packet of its 5-tuple and records its ports here under the datagram's identity, the fields a
 * receiver reassembles by (RFC 791 section 3.2, RFC 8200 section 4.5): source, destination,
 * protocol and identification, as the first fragment arrives. A later fragment looks that up
 * and follows the flow of the 5-tuple it completes, in either direction.
 *
 * A record is needed only from a datagram's first fragment to its last, normally a few
 * microseconds apart (a sender emits a datagram's fragments back to back), and the map is an
 * LRU: 16384 entries hold every datagram of a burst of 16384 interleaved fragmented datagrams,
 * or of 1.6M fragmented datagrams a second whose fragments are spread over 10 ms, while costing
 * about 2 MiB. Even full, it evicts the oldest datagrams, whose fragments are long gone. (An
 * LRU keeps up to 128 free entries per CPU aside: 64 CPUs still leave half the table in use.)
 */
struct veer_frag_key {
	union veer_addr saddr;
	union veer_addr daddr;
	__be32 id;   /* IPv6: the fragment header's; IPv4: the 16-bit one, zero-extended */
	__u8 proto;  /* the upper-layer protocol: IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* enum veer_family */
	__u8 pad[2];
};

/*
 * A datagram's record is not trusted past the time a receiver keeps its fragments (RFC 8200's
 * 60 s; Linux waits 30 s for IPv4): after that the identification may name another datagram.
 */
#define VEER_FRAG_TIMEOUT_NS (60ULL * 1000000000ULL)

struct veer_frag {
	__be16 sport; /* of the first fragment's TCP/UDP header, as it arrived */
	__be16 dport;
	__u8 proto; /* TCP or UDP: the key names the fragments' protocol, maybe an IPv6 AH's */
	__u8 pad[3];
	__u64 created; /* bpf_ktime_get_coarse_ns() when the first fragment passed */
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

/*
 * veer_icmp_rl: the ICMP errors veer itself sends (fragmentation-needed, packet-too-big), rate
 * limited per destination, i.e. per source address of the packets that caused them. A token
 * bucket kept as one word, its theoretical arrival time (GCRA): the bucket is full when tat is
 * in the past, and each message moves tat one token interval later; a message is refused when
 * that would put tat more than a bucket's depth ahead of now. Rate and depth are load-time
 * settings of the data plane (icmp_rate, icmp_burst in bpf/lb.bpf.c).
 */
#define VEER_ICMP_RL_MAX 65536

struct veer_icmp_rl_key {
	union veer_addr addr;
	__u8 family; /* enum veer_family */
	__u8 pad[3];
};

struct veer_icmp_rl {
	__u64 tat; /* bpf_ktime_get_ns() */
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
 * What happened to a packet that was not load balanced as it came: dropped, handed to the stack,
 * or answered or forwarded by one of the data plane's special paths (ICMP, fragments, MTU).
 * veer_reasons[reason] counts them per CPU. Internally the data plane returns the negated
 * reason ("a negative drop reason for every drop").
 *
 * Numbers are stable and fall in two ranges: 1 to 63 say the packet went on (passed to the
 * stack, forwarded or answered by a special path), 64 to 127 that it was dropped. A new reason
 * takes the next free number of its range and no reason is ever renumbered, so pinned counters
 * keep their meaning; the verdict is read from the range, never from the order of this list.
 *
 * The rule for malformed packets: what a router would refuse is dropped under a named reason
 * (broken Ethernet or IP header, bad IPv4 header checksum, a TCP/UDP header that cannot be
 * read or contradicts the IP length, a martian source, an IPv6 extension header chain veer
 * cannot walk); IP traffic veer has no business with is passed untouched; an ICMP error about a
 * flow whose quote is inconsistent is dropped and never rewritten.
 */
enum veer_reason {
	VEER_REASON_NONE = 0,
	/* Went on. */
	VEER_PASS_NOT_IP = 1,	 /* not IPv4/IPv6 (ARP, LLDP, ...): passed untouched */
	VEER_PASS_NOT_VIP = 2,	 /* IP traffic of no VIP and no flow: passed untouched */
	VEER_PASS_FRAGMENT = 3,	 /* non-first fragment of no recorded datagram or no flow: passed */
	VEER_PASS_TTL = 4,	 /* TTL/hop limit expires here: passed for the stack's ICMP */
	VEER_PASS_STACK = 5,	 /* rewritten, then routed by the stack (no neighbour yet, VLAN) */
	VEER_TX_ICMP_ECHO = 6,	 /* echo request to a VIP address, answered by veer */
	VEER_TX_FRAG_NEEDED = 7, /* too big: fragmentation-needed / packet-too-big sent back */
	VEER_FWD_ICMP_ERROR = 8, /* ICMP error about a flow, rewritten and forwarded */
	VEER_FWD_FRAGMENT = 9,	 /* non-first fragment, forwarded with its datagram's flow */
	VEER_PASS_MTU_STACK = 10, /* IPv4 without DF, too big: rewritten, the stack fragments */
	VEER_FWD_DSR_IPIP = 11,	  /* dsr-ipip: encapsulated toward the backend */
	VEER_FWD_DSR_L2 = 12,	  /* dsr-l2: sent to the backend's MAC, nothing else changed */
	/* The forward proxy's (bpf/lib/proxy.h), forwarded or handed to the stack. */
	VEER_FWD_PROXY = 13,	   /* a client's packet steered to its proxy */
	VEER_FWD_PROXY_REPLY = 14, /* a proxy's packet rewritten to come from the server */
	/* Dropped. */
	VEER_DROP_BAD_L2 = 64,	    /* frame shorter than its Ethernet/802.1Q header */
	VEER_DROP_BAD_L3 = 65,	    /* IP header truncated, IHL < 5, bad version or bad length */
	VEER_DROP_BAD_L4 = 66,	    /* TCP/UDP header truncated: ports unknown */
	VEER_DROP_FRAGMENT = 67,    /* first fragment of a flow whose datagram cannot be recorded */
	VEER_DROP_NO_BACKEND = 68,  /* VIP with no backend of non-zero weight */
	VEER_DROP_FLOW_FULL = 69,   /* connection table insert failed */
	VEER_DROP_UNSUPPORTED = 70, /* VIP mode this data plane does not forward */
	VEER_DROP_BAD_IP_CSUM = 71, /* IPv4 header checksum wrong */
	VEER_DROP_BAD_L4_HDR = 72,  /* TCP data offset < 5, UDP length not the IP payload's */
	VEER_DROP_MARTIAN = 73,	    /* source no router forwards (loopback, multicast, ...) */
	VEER_DROP_EXT_HDRS = 74,    /* IPv6 extension headers past VEER_IPV6_EXT_MAX or broken */
	VEER_DROP_BAD_ICMP = 75,   /* ICMP error about a flow with a truncated/inconsistent quote */
	VEER_DROP_ICMP_LIMIT = 76, /* ICMP error veer would send, over the per-source rate */
	VEER_DROP_MTU = 77,	   /* too big for the egress MTU and no ICMP could be sent */
	VEER_DROP_REPLY_CLASH = 78,  /* new flow whose replies would be another flow's: see flows */
	VEER_DROP_DSR_NO_NEIGH = 79, /* dsr-l2 at XDP: no neighbour entry for the backend yet */
	VEER_DROP_ENCAP = 80,	     /* dsr-ipip: the kernel could not make room for the header */
	VEER_DROP_PROXY_CLASH = 81,  /* new proxied connection from a client port still proxied */
};

#define VEER_REASON_DROP_FIRST 64
/* The map's size: every number either range can take, so a new reason never resizes it. */
#define VEER_REASON_SLOTS      128
#define VEER_REASON_MAX	       VEER_REASON_SLOTS
#define VEER_REASON_IS_DROP(r) ((r) >= VEER_REASON_DROP_FIRST && (r) < VEER_REASON_SLOTS)

/* Names as `veer stats` prints them; numbers without a reason have none (NULL). */
#define VEER_REASON_NAMES                                                                          \
	{                                                                                          \
		[VEER_REASON_NONE] = "none", [VEER_PASS_NOT_IP] = "not_ip",                        \
		[VEER_PASS_NOT_VIP] = "not_vip", [VEER_PASS_FRAGMENT] = "fragment_tail",           \
		[VEER_PASS_TTL] = "ttl", [VEER_PASS_STACK] = "stack",                              \
		[VEER_TX_ICMP_ECHO] = "icmp_echo", [VEER_TX_FRAG_NEEDED] = "frag_needed",          \
		[VEER_FWD_ICMP_ERROR] = "icmp_error", [VEER_FWD_FRAGMENT] = "fragment_fwd",        \
		[VEER_PASS_MTU_STACK] = "mtu_stack", [VEER_DROP_BAD_L2] = "bad_l2",                \
		[VEER_FWD_DSR_IPIP] = "dsr_ipip", [VEER_FWD_DSR_L2] = "dsr_l2",                    \
		[VEER_DROP_BAD_L3] = "bad_l3", [VEER_DROP_BAD_L4] = "bad_l4",                      \
		[VEER_DROP_FRAGMENT] = "fragment", [VEER_DROP_NO_BACKEND] = "no_backend",          \
		[VEER_DROP_FLOW_FULL] = "flow_full", [VEER_DROP_UNSUPPORTED] = "unsupported",      \
		[VEER_DROP_BAD_IP_CSUM] = "bad_ip_csum", [VEER_DROP_BAD_L4_HDR] = "bad_l4_hdr",    \
		[VEER_DROP_MARTIAN] = "martian", [VEER_DROP_EXT_HDRS] = "ext_hdrs",                \
		[VEER_DROP_BAD_ICMP] = "bad_icmp", [VEER_DROP_ICMP_LIMIT] = "icmp_limit",          \
		[VEER_DROP_MTU] = "mtu", [VEER_DROP_REPLY_CLASH] = "reply_clash",                  \
		[VEER_DROP_DSR_NO_NEIGH] = "dsr_no_neigh", [VEER_DROP_ENCAP] = "encap_failed",     \
		[VEER_FWD_PROXY] = "proxy", [VEER_FWD_PROXY_REPLY] = "proxy_reply",                \
		[VEER_DROP_PROXY_CLASH] = "proxy_clash",                                           \
	}

/*
 * Backend decapsulation (bpf/decap.bpf.c), the backend half of direct server return: IPIP,
 * IP6IP6, IPv4-in-IPv6 and IPv6-in-IPv4 packets whose inner destination is in veer_decap_vips
 * lose their outer header and go to the stack as the inner packet. A program of its own with
 * maps of its own (veer_decap_*): a backend host has no connection tables.
 */
#define VEER_DECAP_VIPS_MAX 1024

/*
 * veer_decap_vips: the VIPs, looked up by the inner destination. Not a hash map, whose lookup
 * alone (~20 ns here) is most of the program's budget: an array of VEER_DECAP_SLOTS slots,
 * where a VIP sits in one of the VEER_DECAP_PROBES slots from its home slot,
 * veer_decap_slot(address, family) (include/veer/decap_hash.h); a packet reads those slots
 * (inlined array reads) and compares. A slot of family 0 is empty. libveer writes a slot in
 * two steps that differ in the family byte only (address first, family 0; then the family),
 * so that a packet never matches a half-written entry.
 */
struct veer_decap_vip {
	union veer_addr addr; /* IPv4 in the first 4 bytes, the rest zero */
	__u8 family;	      /* enum veer_family; 0 = empty slot */
	__u8 pad[3];
};

/*
 * What the decap program did with a packet, counted per CPU in veer_decap_stat[reason]. Every
 * packet goes on: decapsulated, or passed untouched for the stack to judge (docs/DATAPLANE.md
 * says why nothing is dropped). Numbers are stable: a new reason takes the next free one.
 */
enum veer_decap_reason {
	VEER_DECAP_NONE = 0,
	VEER_DECAP_DONE = 1,	     /* outer header stripped, the inner packet passed */
	VEER_DECAP_NOT_ENCAP = 2,    /* not IP, not IP-in-IP, or behind an in-band 802.1Q tag */
	VEER_DECAP_NOT_VIP = 3,	     /* encapsulated, the inner destination is no decap VIP */
	VEER_DECAP_BAD_OUTER = 4,    /* IP header cut short; IP-in-IP header malformed */
	VEER_DECAP_BAD_INNER = 5,    /* inner header cut short, of the wrong version, bad length */
	VEER_DECAP_FRAGMENT = 6,     /* IP-in-IP outer fragment; IPv6 fragment header first */
	VEER_DECAP_OUTER_EXT = 7,    /* IPv6 with extension headers: not walked */
	VEER_DECAP_STRIP_FAILED = 8, /* the kernel refused the strip (tc: a GSO type it cannot) */
};

/* The map's size: room for reasons to come without resizing pinned counters. */
#define VEER_DECAP_REASON_SLOTS 32

#define VEER_DECAP_REASON_NAMES                                                                    \
	{                                                                                          \
		[VEER_DECAP_NONE] = "none", [VEER_DECAP_DONE] = "decapsulated",                    \
		[VEER_DECAP_NOT_ENCAP] = "not_encap", [VEER_DECAP_NOT_VIP] = "not_vip",            \
		[VEER_DECAP_BAD_OUTER] = "bad_outer", [VEER_DECAP_BAD_INNER] = "bad_inner",        \
		[VEER_DECAP_FRAGMENT] = "fragment", [VEER_DECAP_OUTER_EXT] = "outer_ext",          \
		[VEER_DECAP_STRIP_FAILED] = "strip_failed",                                        \
	}

/*
 * The transparent forward proxy (bpf/lib/proxy.h): TCP connections from clients in a CIDR to
 * any address on a destination port are steered to a proxy, and the proxy's packets back are
 * rewritten to come from the server the client asked for.
 *
 * veer_proxy_rule, an LPM trie: (destination port, family, client prefix) -> the proxy. One
 * key holds the port and the family ahead of the address, so that a lookup is one longest-prefix
 * match and rules for different ports or families never shadow each other: prefixlen counts
 * VEER_PROXY_KEY_BITS bits of port, family and pad, then the CIDR's length.
 */
#define VEER_PROXY_RULES_MAX 1024
#define VEER_PROXY_CONNS_MAX 65536 /* proxied connections at once: ~13 MiB */
#define VEER_PROXY_KEY_BITS  32

struct veer_proxy_key {
	__u32 prefixlen; /* VEER_PROXY_KEY_BITS + the CIDR's length */
	__be16 port;	 /* the destination port steered */
	__u8 family;	 /* enum veer_family */
	__u8 pad;
	union veer_addr addr; /* the client prefix, host bits zero */
};

/* Connections to a VIP of veer's are load balanced, not steered. */
#define VEER_PROXY_VIP_EXEMPT (1u << 0)

struct veer_proxy_rule {
	union veer_addr addr; /* the proxy, of the rule's family */
	__be16 port;
	__u8 flags; /* VEER_PROXY_* */
	__u8 pad;
};

/*
 * veer_proxy_gate[0]: ports by host-order number, a bit each. Every TCP packet reads it before
 * anything else of the proxy's: only a packet whose destination port has rules, or whose source
 * port is some rule's proxy's, goes on to the tables. libveer rewrites it from the rules.
 */
#define VEER_PROXY_GATE_WORDS (65536 / 64)

struct veer_proxy_gate {
	__u64 dports[VEER_PROXY_GATE_WORDS];	  /* some rule steers this destination port */
	__u64 proxy_ports[VEER_PROXY_GATE_WORDS]; /* some rule's proxy listens on this port */
};

/*
 * veer_proxy_conn: the proxied connections, keyed by the client's address and port as the proxy
 * sees them: the proxy's packets back find their entry by their destination, and the proxy asks
 * for a connection's original destination by its peer's address (veer_proxy_origdst()). Two
 * live connections from one client port to two destinations would look the same to the proxy:
 * the second is refused (proxy_clash).
 */
struct veer_proxy_conn_key {
	union veer_addr client;
	__be16 port;
	__u8 proto;  /* IPPROTO_TCP */
	__u8 family; /* enum veer_family */
};

/*
 * A connection is established from the client's first packet past its SYN: until then a SYN
 * to another destination replaces it (a spoofed SYN must not hold a client's port).
 */
#define VEER_PROXY_ESTABLISHED (1u << 1)

struct veer_proxy_conn {
	/*
	 * What the load balancer keeps of a connection, kept here alike: the idle clock, the
	 * closing flag (VEER_FLOW_CLOSING, and VEER_PROXY_ESTABLISHED) and the next hop toward the
	 * client for a proxy's packets that veer forwards. backend_id and backend_gen are unused.
	 */
	struct veer_flow flow;
	union veer_addr orig;  /* the original destination */
	union veer_addr proxy; /* the proxy, from the rule when the connection began */
	__be16 orig_port;
	__be16 proxy_port;
	struct veer_hop proxy_hop; /* toward the proxy: ifindex 0 for a proxy on this host */
	__u64 proxy_hop_resolved;  /* when proxy_hop was resolved */
};

/*
 * The hot-key cache (bpf/cache.bpf.c). A sockops program collects the client sockets of a cgroup
 * that connect to a cache port into veer_cache_socks; an sk_msg program on that map answers
 * single GETs from veer_cache_data and an sk_skb verdict program counts the server's replies, so
 * that a cached reply never overtakes one the server still owes.
 */
#ifndef VEER_CACHE_VALUE_MAX
#define VEER_CACHE_VALUE_MAX 1024 /* bytes; a power of two from 256 to 4096 */
#endif
#if VEER_CACHE_VALUE_MAX < 256 || VEER_CACHE_VALUE_MAX > 4096 ||                                   \
	(VEER_CACHE_VALUE_MAX & (VEER_CACHE_VALUE_MAX - 1))
#error "VEER_CACHE_VALUE_MAX must be a power of two from 256 to 4096"
#endif
/* The stored reply: the value plus the protocol's framing (a memcached VALUE line < 300 B). */
#define VEER_CACHE_REPLY_MAX (2 * VEER_CACHE_VALUE_MAX)
#define VEER_CACHE_KEY_MAX   250 /* memcached's limit, also applied to Redis */
#define VEER_CACHE_ENTRIES   ((32u << 20) / VEER_CACHE_REPLY_MAX) /* 32 MiB of replies */
#define VEER_CACHE_GEN_SLOTS 65536				  /* power of two */
#define VEER_CACHE_CONNS     65536
#define VEER_CACHE_HOT_MAX   16384
#define VEER_CACHE_PORTS     16

enum veer_cache_proto {
	VEER_CACHE_REDIS = 1,
	VEER_CACHE_MEMCACHED = 2,
};

/* veer_cache_ports: server port (host order) -> protocol. */
struct veer_cache_port {
	__u8 proto; /* enum veer_cache_proto */
	__u8 pad[3];
};

/* A key as the client names it. */
struct veer_cache_key {
	__u8 proto; /* enum veer_cache_proto: the same name is two keys in two protocols */
	__u8 pad;
	__u16 len;
	__u8 bytes[256]; /* room past VEER_CACHE_KEY_MAX for chunked copies */
};

/*
 * How veer_cache_data and veer_cache_hot are keyed: the key's 64-bit hash, which the tokenizer
 * computes as it reads the request, instead of the key itself. A map hashes and compares its
 * whole key on every lookup; 16 bytes instead of 260 made a miss several times cheaper. The
 * entry holds the key, and a hit compares it with the request's.
 */
struct veer_cache_hkey {
	__u64 hash; /* veer_cache_hash() of the key's bytes */
	__u16 len;
	__u8 proto;
	__u8 pad[5];
};

/*
 * veer_cache_data: the whole reply the server would send, framing included, so that a hit
 * is a copy. An entry is served only while gen equals veer_cache_gens[slot of the key] and
 * epoch equals the flush epoch: a write bumps the slot before it is passed to the server, so a
 * value read from the server before the write can never be installed as current.
 */
struct veer_cache_entry {
	__u64 gen;
	__u64 epoch;
	__u64 expires_ns; /* CLOCK_MONOTONIC, as bpf_ktime_get_ns() */
	__u32 reply_len;
	__u32 value_len;
	struct veer_cache_key key;
	__u8 reply[VEER_CACHE_REPLY_MAX];
	/*
	 * Hits served from this entry, for the manager's write/read rule. Last, away from the
	 * fields every hit reads, so that counting does not make other CPUs reload those.
	 */
	__u64 hits;
};

/*
 * veer_cache_hot: misses of a key not in the cache, and the key, for the manager to fetch.
 * writes counts the key's writes the programs saw while the key was in this table; the manager
 * keeps write-heavy keys out of the cache.
 */
struct veer_cache_hot {
	__u64 misses;
	__u64 writes;
	struct veer_cache_key key;
};

/*
 * veer_cache_glob[0]: sequences shared by the programs and userspace. The map is mmapable so
 * that userspace changes one field with an atomic instruction: a map update would write the
 * whole value back and could undo a concurrent bump of seq by the programs.
 */
struct veer_cache_glob {
	__u64 seq;   /* source of fresh generation values (bumped atomically by BPF) */
	__u64 epoch; /* bumped by flushes and by the manager: every entry becomes stale */
	/*
	 * By enum veer_cache_proto: the manager's lease, CLOCK_MONOTONIC ns until which its
	 * invalidation feed is known to be live. A protocol's entries are served only before it;
	 * 0 = no manager holds one (entries put by hand are served until their TTL).
	 */
	__u64 lease_ns[4];
};

/* Userspace writes generations from the upper half so they never equal one the BPF side made. */
#define VEER_CACHE_GEN_USER (1ULL << 63)

/* veer_cache_socks and veer_cache_conns: a client socket by its own 4-tuple. */
struct veer_cache_sock_key {
	__u32 local[4]; /* IPv4 in local[0] (network order), the rest zero */
	__u32 remote[4];
	__u32 local_port;  /* host order */
	__u32 remote_port; /* host order */
	__u32 family;
};

/*
 * Working state of one run of the sk_msg (rq) or verdict (rp) program over one message or
 * segment. It sits in the connection's entry, not on the stack: the socket lock makes it
 * private to the run, and the verifier, which cannot know map contents, then sees a byte
 * loop's position as unknown and verifies its body once instead of once per position.
 */
struct veer_cache_rq_cur {
	__u32 pos;  /* in the window [msg->data, msg->data_end) */
	__u32 end;  /* window length */
	__u32 base; /* the window's offset in the message */
	__u32 size; /* the message's */
	__u32 done; /* complete requests the server will answer */
	__u32 cmds; /* complete commands */
	/* The first command completed in the message, for the hit path. */
	__u32 first_end;
	__u32 first_class;
	__u32 first_argc;
	__u32 key_off;
	__u32 key_len;
	__u64 key_hash;
	__u8 proto;
	__u8 off;   /* enum veer_cache_stat: framing lost, stop */
	__u8 nohit; /* enum veer_cache_stat: a command switched serving off */
	__u8 pad;
};

struct veer_cache_rp_cur {
	__u32 pos;
	__u32 len;
	__u32 buf_off;
	__u32 buf_len;
	__u8 off;
	__u8 pad[7];
	__u8 buf[64]; /* bytes of the skb, which is often paged, read 64 at a time */
};

/*
 * veer_cache_conns: what one client connection owes and where its streams stand. sent counts
 * the requests passed to the server that will be answered, replies the answers seen arriving;
 * a hit is served only when they are equal and the message starts on a request boundary. The
 * tokenizer fields (rq_*) survive across send() calls, the reply parser's (rp_*) across
 * segments. sk_msg runs under the socket lock and the verdict program under the same lock (or
 * from the backlog when the lock is released), so the two never race on one connection.
 *
 * A write bumps its key's generation twice: when it is passed to the server, and when its
 * reply is seen (pend[]), so that a fill that read the value while the write was still on its
 * way cannot stay current. Reply n of the connection acknowledges pend[] entries with idx n.
 */
#define VEER_CACHE_PEND	    16
#define VEER_CACHE_SLOT_ALL 0xffffffffu /* a write of several keys: bump the epoch */

struct veer_cache_pend {
	__u32 idx;  /* the reply that acknowledges the write */
	__u32 slot; /* generation slot to bump, or VEER_CACHE_SLOT_ALL */
};

struct veer_cache_conn {
	__u64 sent;
	__u64 replies;
	__u64 rq_hash; /* running hash of the current argument */
	__u8 proto;
	__u8 off;     /* enum veer_cache_stat that switched serving off, 0 = serving */
	__u8 blind;   /* requests can no longer be tokenized: every message bumps the epoch */
	__u8 rp_lost; /* replies can no longer be counted: writes are not acknowledged */
	__u8 rq_state;
	__u8 rp_state;
	__u8 multi;    /* inside MULTI: writes are acknowledged by EXEC's reply */
	__u8 ack_all;  /* blind or rp_lost and has written: every reply bumps the epoch */
	__u32 rq_num;  /* number being read (argument count, length, data block size) */
	__u32 rq_skip; /* bytes of the current argument or data block still to come */
	__u32 rq_args; /* arguments of the current command still to come (RESP) */
	__u32 rq_argi; /* index of the current argument or token */
	__u32 rq_arglen;
	__u32 rq_class; /* enum veer_cache_cmd */
	__u32 rq_flags;
	__u32 rq_wslot;	 /* slot of the command's written key(s), or VEER_CACHE_SLOT_ALL */
	__u32 rq_writes; /* keys the command writes */
	__u32 rp_num;
	__u32 rp_skip;
	__u32 rp_flags;
	__u32 rp_depth;	   /* arrays open, RESP */
	__u32 rp_elems[8]; /* elements still to come in each open array */
	__u32 multi_slot;
	__u32 multi_writes;
	__u32 pend_head;
	__u32 pend_n;
	__u32 overflow_idx; /* writes that found pend[] full: bump the epoch at this reply */
	/*
	 * Redis settings that take effect only if the server accepts the command: the reply
	 * that answers a pending HELLO or SELECT (0 = none) applies it unless it is an error.
	 * Only the last one passed is followed; one passed before it is pending, or inside
	 * MULTI, makes the setting unknown (resp3 any, db_other) until a later one is answered.
	 */
	__u32 hello_idx;
	__u32 select_idx;
	__u32 pushes_idx; /* the reply to a command that may turn on pushes (CLIENT MAINT_...) */
	__u8 resp3;	  /* enum veer_cache_resp: the protocol the server answers in */
	__u8 hello_resp;  /* what the pending HELLO asked for: enum veer_cache_resp, or KEEP */
	__u8 db_other;	  /* the database may not be 0: not served (entries are database 0's) */
	__u8 select_zero; /* the pending SELECT is of database 0 */
	struct veer_cache_pend pend[VEER_CACHE_PEND];
	__u8 rq_name[16]; /* the command, upper case, as read so far */
	struct veer_cache_rq_cur rq_cur;
	struct veer_cache_rp_cur rp_cur;
	struct veer_cache_hot
		hot; /* a missed key's first count, built here: too big for the stack */
};

/* veer_cache_cmds: (protocol, command name) -> what the command means for the cache. */
#define VEER_CACHE_CMD_LEN 16

struct veer_cache_cmd_key {
	__u8 proto;
	__u8 sub; /* 0: a command; VEER_CACHE_SUB_CLIENT: a sub-command of Redis's CLIENT */
	/*
	 * 1: a sub-command name longer than VEER_CACHE_CMD_LEN, matched by its first
	 * VEER_CACHE_CMD_LEN bytes (CLIENT MAINT_NOTIFICATIONS).
	 */
	__u8 truncated;
	__u8 pad;
	__u8 name[VEER_CACHE_CMD_LEN]; /* upper case, zero padded */
};

enum veer_cache_cmd {
	VEER_CMD_WRITE = 0, /* unknown commands too: every argument is invalidated as a key */
	VEER_CMD_GET,	    /* a read of one key: a hit candidate */
	VEER_CMD_READ,	    /* reads nothing cached or changes nothing */
	VEER_CMD_FLUSH,	    /* every entry becomes stale */
	VEER_CMD_OFF,	    /* changes the stream's framing or database: caching off */
	VEER_CMD_STORE,	    /* memcached storage command: the key, then a data block */
	VEER_CMD_KEYWRITE,  /* memcached write of its first argument only */
	VEER_CMD_MULTI,	    /* MULTI: writes queued until EXEC */
	VEER_CMD_EXEC,	    /* EXEC or DISCARD */
	VEER_CMD_CONTROL,   /* memcached verbosity: changes nothing cached, may be noreply */
	VEER_CMD_LOST,	 /* not one reply per request (SUBSCRIBE, MONITOR): replies not counted */
	VEER_CMD_SUB,	 /* means what its sub-command (argument 1) means: Redis CLIENT */
	VEER_CMD_HELLO,	 /* Redis HELLO: may switch the protocol if the server accepts */
	VEER_CMD_SELECT, /* Redis SELECT: serving only while the database is 0 */
	VEER_CMD_PUSHES, /* may turn on server pushes: replies not counted if the server accepts */
};

#define VEER_CACHE_SUB_CLIENT 1

/* struct veer_cache_conn's resp3. */
enum veer_cache_resp {
	VEER_CACHE_RESP2 = 0,
	VEER_CACHE_RESP3 = 1,
	VEER_CACHE_RESP_ANY = 2,  /* unknown: replies of either protocol are counted */
	VEER_CACHE_RESP_KEEP = 3, /* hello_resp: HELLO without a version changes nothing */
};

/* Per-CPU counters in veer_cache_stats[stat]. */
enum veer_cache_stat {
	VEER_CACHE_NONE = 0,
	VEER_CACHE_HIT,		 /* answered from the cache */
	VEER_CACHE_MISS,	 /* a single GET not in the cache (or stale): passed */
	VEER_CACHE_PASS_OWED,	 /* a cached GET passed: the server still owed a reply */
	VEER_CACHE_PASS_BATCH,	 /* a GET inside a batch or a split request: passed */
	VEER_CACHE_PASS_OTHER,	 /* any other command: passed */
	VEER_CACHE_PASS_OFF,	 /* a message on a connection with caching off: passed */
	VEER_CACHE_INVALIDATE,	 /* a write bumped a key's generation */
	VEER_CACHE_FLUSH,	 /* FLUSHALL/FLUSHDB/flush_all: every entry made stale */
	VEER_CACHE_REPLIES,	 /* server replies counted */
	VEER_CACHE_OFF_PROTOCOL, /* caching switched off: unparsed request or reply */
	VEER_CACHE_BLIND,	 /* a message of a connection whose requests cannot be read */
	VEER_CACHE_OFF_COMMAND,	 /* caching switched off: SELECT, SUBSCRIBE, CLIENT, HELLO, ... */
	VEER_CACHE_OFF_NO_STATE, /* connection not tracked (table full): never served */
	VEER_CACHE_OFF_TOO_BIG,	 /* a message too large to tokenize */
	VEER_CACHE_HOT_FULL,	 /* miss not counted: hot-key table insert failed */
	VEER_CACHE_EVICT,	 /* entries removed to stay within bounds (userspace) */
	VEER_CACHE_EXPIRED,	 /* entries found past their TTL */
	VEER_CACHE_DEMOTE, /* entries deleted by the manager: writes outpace reads (userspace) */
	VEER_CACHE_WRITE_HEAVY, /* promotions refused: writes outpace reads (userspace) */
	VEER_CACHE_LAPSED,	/* a current entry not served: its manager's lease ran out */
	VEER_CACHE_STAT_MAX,
};

#define VEER_CACHE_STAT_NAMES                                                                      \
	{                                                                                          \
		"none", "hit", "miss", "pass_owed", "pass_batch", "pass_other", "pass_off",        \
			"invalidate", "flush", "replies", "off_protocol", "blind", "off_command",  \
			"off_no_state", "off_too_big", "hot_full", "evict", "expired", "demote",   \
			"write_heavy", "lapsed",                                                   \
	}

/*
 * The event stream (`veer events`, webhooks). Numbers are stable: the data plane's records
 * carry them, and names (veer_event_type_name) are what configs and receivers see. The first
 * three come from the data plane's ring buffer, the rest from veerd.
 */
enum veer_event_type {
	VEER_EVENT_NONE = 0,
	VEER_EVENT_FLOW_NEW = 1,	 /* a sampled new flow and the backend it got */
	VEER_EVENT_DROP_BURST = 2,	 /* a drop reason crossed its threshold in one second */
	VEER_EVENT_TABLE_FULL = 3,	 /* the connection table refused a new flow */
	VEER_EVENT_BACKEND_DOWN = 4,	 /* a health check took a backend out */
	VEER_EVENT_BACKEND_UP = 5,	 /* and brought it back */
	VEER_EVENT_CONFIG_APPLIED = 6,	 /* a config or a source's change reached the data plane */
	VEER_EVENT_CONFIG_REFUSED = 7,	 /* a config, a key or an object refused, and why */
	VEER_EVENT_SOURCE_CONNECTED = 8, /* etcd or the Kubernetes API listed */
	VEER_EVENT_SOURCE_LOST = 9,	 /* and went away */
	VEER_EVENT_CACHE_FEED_LOST = 10, /* the cache's invalidation subscription went away */
	VEER_EVENT_MAX,
};

/*
 * The data plane's events (bpf/lib/events.h): records in veer_events, a BPF ring buffer that
 * veerd reads (or `veer events` when no veerd runs). Every record starts with a header whose
 * type says which struct follows and len how long the record is, so a reader skips a type it
 * does not know. A record that finds the ring full is not written and is counted in
 * veer_ev_stats[type].lost: the packet is never touched by it.
 */
#define VEER_EVENTS_RING_BYTES (1u << 20) /* a power of two of pages: ~11,000 flow records */
#define VEER_EVENT_SLOTS       16	  /* veer_ev_stats: room for types to come */
/*
 * New flows wake a reader once this much waits (~680 records); drop bursts and full tables at
 * once. A reader looks every VEER_EVENTS_POLL_MS too, so no record waits longer than that.
 */
#define VEER_EVENTS_WAKEUP_BYTES (64u << 10)
#define VEER_EVENTS_POLL_MS	 100

struct veer_event_hdr {
	__u64 time_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u16 type;    /* enum veer_event_type */
	__u16 len;     /* of the whole record, this header included */
	__u32 cpu;
};

/* VEER_EVENT_FLOW_NEW: a new flow (a TCP SYN, a UDP flow's first packet) and its backend. */
struct veer_event_flow {
	struct veer_event_hdr hdr;
	struct veer_flow_key key; /* client -> VIP, as the client sent it */
	union veer_addr backend;
	__be16 backend_port;
	__u8 backend_family; /* enum veer_family: a dsr-ipip backend's may differ from the VIP's */
	__u8 mode;	     /* enum veer_vip_mode */
	__u32 vip_id;
	__u32 backend_id;
	__u32 ifindex; /* the interface the packet arrived on */
};

/*
 * VEER_EVENT_DROP_BURST: drops of one reason reached event_drop_burst (veer_settings) within
 * one second. Counted per CPU and added to the shared count in batches of up to
 * VEER_EVENT_DROP_BATCH_MAX (1/64 of the threshold, at least 1), so that a flood spread over
 * every CPU does not write one shared word per packet: a CPU's last partial batch of a second
 * is not counted.
 */
#define VEER_EVENT_DROP_BATCH_MAX 64

struct veer_event_drop {
	struct veer_event_hdr hdr;
	struct veer_flow_key key; /* the packet that crossed, as far as it was parsed (else 0) */
	__u32 reason;		  /* enum veer_reason */
	__u32 threshold;	  /* event_drop_burst when it crossed */
	__u32 count;		  /* drops of the reason counted in the second so far */
	__u32 ifindex;
};

/* VEER_EVENT_TABLE_FULL: a table refused a new entry; once a second per table and family. */
enum veer_event_table {
	VEER_EVENT_TABLE_FLOWS = 0, /* veer_flows4/6: connections */
	VEER_EVENT_TABLE_SYNS = 1,  /* veer_syns4/6: TCP handshakes */
	VEER_EVENT_TABLE_PROXY = 2, /* veer_proxy_conn: proxied connections */
	VEER_EVENT_TABLES,
};

struct veer_event_table_full {
	struct veer_event_hdr hdr;
	struct veer_flow_key key; /* the flow refused */
	__u32 table;		  /* enum veer_event_table */
	__u32 vip_id;		  /* its VIP (VEER_NO_BACKEND: a proxied connection's, none) */
	__u32 ifindex;
	__u32 pad;
};

/* veer_ev_stats[type], per CPU: records written, and records lost to a full ring. */
struct veer_event_count {
	__u64 emitted;
	__u64 lost;
};

/*
 * veer_ev_dropcpu[reason], per CPU: the drops of the current second not yet added to
 * veer_ev_drops[reason], whose one word holds the second (high 32 bits) and its count (low).
 */
struct veer_ev_pending {
	__u32 sec;
	__u32 pending;
	__u64 end_ns; /* when sec ends (bpf_ktime_get_coarse_ns()) */
};

#endif /* VEER_ABI_H */
