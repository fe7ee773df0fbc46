/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The harness of the BPF_PROG_RUN fixtures for bpf/lb.bpf.c (the test_lb_*.c files), in the
 * manner of the kernel's BPF selftests: packets built once and reused, each run checked for its
 * verdict, its EXACT output bytes and exactly which counters moved.
 *
 *   lb_harness.c  namespace topology, private skeleton, reset, lb_begin, fixture runner
 *   lb_maps.c     map helpers: VIPs, backends, rings, counters, flow entries
 *   lb_packets.c  packet specs and the prebuilt packet set P
 *
 * Isolation: the skeleton is loaded with pinning switched off, so its maps are private to this
 * process and the live state under /sys/fs/bpf/veer is never touched. The runner moves itself
 * into a fresh network namespace (unshare) holding two veth pairs with fixed MACs, addresses,
 * routes and permanent neighbours, so the program's bpf_fib_lookup() answers deterministically:
 *
 *   client side  vc0 02:00:00:00:01:01  198.18.1.1/24   2001:2:0:1::1/64
 *                neighbours: 198.18.1.2, 2001:2:0:1::2 -> 02:00:00:00:01:02
 *   backend side vb0 02:00:00:00:11:01  198.18.11.1/24  198.18.12.1/24  198.18.13.1/24
 *                                       2001:2:0:11::1/64
 *                neighbours: 198.18.11.2, 2001:2:0:11::2 -> 02:00:00:00:11:02
 *                            198.18.12.2 -> 02:00:00:00:12:02, 198.18.13.2 -> 02:00:00:00:13:02
 *                198.18.11.9 has no neighbour entry: the FIB lookup fails for it.
 *
 * Every test starts from empty maps (flows, affinity, fragment records, VIPs and their
 * addresses, rings, backends, counters, forward-proxy rules, gate and connections).
 */
#ifndef VEER_TEST_LB_HARNESS_H
#define VEER_TEST_LB_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <veer/abi.h>
#include "test.h"
#include "packet.h"
#include "lb.skel.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define LB_NIDS	     32 /* VIP and backend ids the tests use: reset between tests */
#define LB_RING_SIZE 13 /* small prime: rings are filled by hand or by veer_maglev_build */

/* ---- topology, see the top of the file ---- */

extern const __u8 MAC_VC0[6], MAC_CLIENT[6];			 /* vc0 and the client behind it */
extern const __u8 MAC_VB0[6], MAC_BE_A[6], MAC_BE_B[6], MAC_BE_C[6]; /* vb0, 198.18.1[123].2 */

#define CLIENT4	  "198.18.1.2"
#define CLIENT4_2 "198.18.1.3" /* second client: no neighbour needed, only forward traffic */
#define CLIENT6	  "2001:2:0:1::2"
#define VIP4	  "198.18.100.10"
#define VIP4_2	  "198.18.100.11" /* no-backend, unsupported-mode and no-neighbour VIPs */
#define VIP4_AFF  "198.18.100.12"
#define VIP6	  "2001:2:0:100::10"
#define OTHER4	  "198.18.100.99"
#define OTHER6	  "2001:2:0:100::99"

/* VIP ids (index of veer_rings and veer_vip_stats). */
enum {
	VIP_TCP4 = 1,	 /* 198.18.100.10:80/tcp */
	VIP_UDP4 = 2,	 /* 198.18.100.10:53/udp */
	VIP_TCP6 = 3,	 /* [2001:2:0:100::10]:80/tcp */
	VIP_UDP6 = 4,	 /* [2001:2:0:100::10]:53/udp */
	VIP_SPECIAL = 5, /* 198.18.100.11:80/tcp, set up by the test that needs it */
	VIP_AFF = 6,	 /* 198.18.100.12:80/tcp, affinity 60 s */
	VIP_AFF_OFF = 7, /* 198.18.100.12:81/tcp, same backends, no affinity */
};

/* Backends: ids unlike VIP ids, so that a mix-up of the two shows. */
struct be_def {
	__u32 id;
	const char *addr;
	__u16 port;
	const __u8 *mac; /* NULL: no neighbour entry */
};

extern const struct be_def BE_TCP4, BE_UDP4, BE_TCP6, BE_UDP6, BE_B, BE_NONEIGH;
/* Three backends of the affinity VIP, and the same three of its affinity-less twin. */
extern const struct be_def BE_AFF[3], BE_AFF_OFF[3];

/* Which interface a frame arrives on (its ingress_ifindex). */
enum side { FROM_CLIENT, FROM_BACKEND };

/* The hook a fixture runs on: the same data plane built for XDP (veer_lb) and tc (veer_lb_tc). */
enum lb_hook { LB_XDP, LB_TC };

struct lb_env {
	bool tried, ok, skipped;
	char why[640];
	struct lb *skel; /* private, unpinned maps */
	int prog_fd[2];	 /* enum lb_hook */
	enum lb_hook hook;
	int ncpus;
	int ifindex[2]; /* enum side */
};

extern struct lb_env lb_env;

/*
 * A data-plane test, registered twice: name_xdp and name_tc run the same body on each hook.
 * Verdicts are written as XDP verdicts; lb_prog_run gives tc's in those terms.
 */
#define LB_TEST(name)                                                                      \
	static void lb_body_##name(void);                                                  \
	VEER_TEST(name##_xdp)                                                              \
	{                                                                                  \
		lb_env.hook = LB_XDP;                                                      \
		lb_body_##name();                                                          \
	}                                                                                  \
	VEER_TEST(name##_tc)                                                               \
	{                                                                                  \
		lb_env.hook = LB_TC;                                                       \
		lb_body_##name();                                                          \
	}                                                                                  \
	static void lb_body_##name(void)

/* Every test begins here: the environment is made on first use, then reset to empty maps. */
bool lb_begin(void);

/* ---- packets (lb_packets.c) ---- */

/* Every fixture's input and expected output, built once by lb_begin. */
struct lb_pkts {
	/* New flow, established flow, reply: TCP/IPv4. */
	struct pkt tcp4, tcp4_out, tcp4_reply, tcp4_reply_out;
	/* UDP/IPv4 with a checksum and without one (0 stays 0), and a reply. */
	struct pkt udp4, udp4_out, udp4_reply, udp4_reply_out, udp4_nocsum, udp4_nocsum_out;
	/* IPv6. */
	struct pkt tcp6, tcp6_out, tcp6_reply, tcp6_reply_out, udp6, udp6_out;
	/* 802.1Q: rewritten, tag kept, left to the stack. */
	struct pkt vlan4, vlan4_out, vlan6, vlan6_out;
	/* IPv4 options; a frame padded to the Ethernet minimum. */
	struct pkt opts4, opts4_out, pad4, pad4_out;
	/* TTL / hop limit. */
	struct pkt ttl1_4, ttl1_6, ttl2_4, ttl2_4_out;
	/* A VIP whose backend has no neighbour entry; the same VIP address for other tests. */
	struct pkt special4, special4_out;
	/* Checksum edges: an output TCP checksum of 0, an input one of 0, a UDP sum of 0 (sent as
	 * 0xffff) in the output and in the input, over IPv4 and IPv6. */
	struct pkt tcp4_c0_out_in, tcp4_c0_out, tcp4_c0_in, tcp4_c0_in_out, udp4_cf_out_in,
		udp4_cf_out, udp4_cf_in, udp4_cf_in_out, udp6_cf_out_in, udp6_cf_out,
		tcp6_c0_out_in, tcp6_c0_out;
	/* Not for a VIP. */
	struct pkt other4, port443, udp_port80, icmp4, other6, icmp6, arp;
	/* Malformed. */
	struct pkt runt, vlan_short14, vlan_short17, ip4_short, ip4_ihl4, ip4_ver6, ip4_long,
		ip4_tot_lt_ihl, tcp4_short, tcp4_outside, udp4_short, frag4_first,
		frag4_first_other, frag4_first_est, frag4_tail, ip6_short, ip6_long, ip6_ver4,
		tcp6_short, frag6_first, frag6_tail;
	/* IPv6 atomic fragments (offset 0, M clear: RFC 6946), TCP and UDP, and a real first
	 * fragment (M set) of the atomic TCP flow's 5-tuple. */
	struct pkt frag6_atomic, frag6_atomic_out, frag6_atomic_udp, frag6_atomic_udp_out,
		frag6_first_est;
};

extern struct lb_pkts P;

/* Builds P; false (and a failed assertion) if a spec does not build. Called by lb_begin. */
bool lb_pkts_init(void);

/* A client's packet to a VIP: 32 bytes of payload, TTL 64, client MAC -> vc0. */
struct pkt_spec lb_spec_c2v(const char *client, __u16 sport, const char *vip, __u16 vport,
			    __u8 proto);
/* What veer makes of client packet s for backend be: forwarded (redirect) or left to the stack
 * (no FIB answer or 802.1Q: MACs and TTL as they came). */
struct pkt_spec lb_spec_fwd(struct pkt_spec s, const struct be_def *be, bool redirect);
/* A backend's reply to the client: 48 bytes of payload. */
struct pkt_spec lb_spec_b2c(const struct be_def *be, const char *client, __u16 cport, __u8 proto);
/* What veer makes of reply s: source back to the VIP, out of vc0 to the client. */
struct pkt_spec lb_spec_rev(struct pkt_spec s, const char *vip, __u16 vport);
/* pkt_build as an assertion. */
bool lb_pkt_build(struct pkt *p, struct pkt_spec s, const char *what);
/*
 * veer's answer to frame in, too big for the egress MTU: back to whoever sent it (MACs
 * swapped), from `from` (the VIP) to `to`, TTL 64, fragmentation-needed or packet-too-big with
 * mtu, quoting as much of the datagram as fits 576 bytes (IPv4, RFC 1812 4.3.2.3) or 1280
 * (IPv6, RFC 4443 2.4 (c)).
 */
bool lb_pkt_too_big(struct pkt *out, struct pkt *in, const char *from, const char *to, __u32 mtu,
		    const char *what);

/* ---- maps (lb_maps.c) ---- */

/* A VEER_AF_* family, or 0 if s is no address. */
__u8 lb_addr_parse(const char *s, union veer_addr *a);
bool lb_addr_eq(const union veer_addr *a, const char *s);

/* Both keep veer_vip_addrs as libveer does (with libveer's own code). */
bool lb_add_vip(__u32 id, const char *addr, __u16 port, __u8 proto, __u32 affinity, __u8 mode);
bool lb_del_vip(const char *addr, __u16 port, __u8 proto);
/* An active backend of vip_id in slot be->id (replacing whatever the slot held). */
bool lb_add_backend(const struct be_def *be, __u32 vip_id, __u32 weight);
/* Builds a ring off to the side and swaps it in with one update, as libveer does. */
bool lb_set_ring(__u32 vip_id, const __u32 slots[LB_RING_SIZE]);
bool lb_set_ring_all(__u32 vip_id, __u32 backend_id);
/* A ring from the control plane's own Maglev builder over backends with these weights. */
bool lb_set_ring_maglev(__u32 vip_id, const struct be_def *const *be, const __u32 *weights,
			size_t n);
/* One VIP with one backend that every slot of its ring points at. */
bool lb_vip_single(__u32 vip_id, const char *addr, __u16 port, __u8 proto,
		   const struct be_def *be);
/* The four VIPs most tests use: VIP_TCP4/UDP4/TCP6/UDP6 on BE_TCP4/UDP4/TCP6/UDP6. */
bool lb_vips_basic(void);

/* The per-CPU counters of veer_vip_stats or veer_be_stats at id, summed over CPUs. */
struct veer_counters lb_counters(struct bpf_map *map, __u32 id);
bool lb_counters_eq(struct bpf_map *map, __u32 id, __u64 packets, __u64 bytes, __u64 new_flows,
		    __u64 reply_packets, __u64 reply_bytes, const char *what);
/* The veer_reasons counters, summed over CPUs. */
void lb_reasons_read(__u64 sum[VEER_REASON_MAX]);

/* The veer_flows entry keyed by this 5-tuple (as a packet arrives with it). */
bool lb_flow_get(const char *saddr, __u16 sport, const char *daddr, __u16 dport, __u8 proto,
		 struct veer_flow *f);
/* Writes f over the existing connection entry client:cport -> vip:vport. */
bool lb_flow_put(const char *client, __u16 cport, const char *vip, __u16 vport, __u8 proto,
		 const struct veer_flow *f);
int lb_map_count(struct bpf_map *map);
/* Entries in both connection tables, IPv4 and IPv6. */
int lb_flow_count(void);

/* The forward entry of a flow to be, with the next hop cached (or none: ifindex 0). */
bool lb_check_forward_entry(const struct veer_flow *f, __u32 vip_id, const struct be_def *be,
			    bool hop_cached, const char *what);
bool lb_check_reply_entry(const struct veer_flow *f, __u32 vip_id, const char *vip, __u16 vport,
			  __u32 backend_id, const char *what);
/* The next hop toward a backend as some CPU resolved it for its backend now; false if none did. */
bool lb_backend_hop(__u32 id, struct veer_hop *hop);
/* Every CPU's entry of a backend's next-hop cache (lb_env.ncpus of them, to free), or NULL. */
struct veer_be_hop *lb_backend_hops(__u32 id);
/* Makes every CPU's cached next hop toward a backend ns older: the time a refresh waits for. */
bool lb_backend_hop_age(__u32 id, __u64 ns);
/*
 * Copies the next hop toward a backend that this process's CPU resolved to every CPU, as if each
 * had carried the backend's packets: whichever CPU runs the next packet then holds it, the state
 * a process that moved between CPUs leaves behind.
 */
bool lb_backend_hop_everywhere(__u32 id);
/* lb_backend_hop_everywhere, with the hop's cached egress MTU set to mtu. */
bool lb_backend_hop_set_mtu(__u32 id, __u16 mtu);

/* ---- running fixtures (lb_harness.c) ---- */

/*
 * One BPF_PROG_RUN of the current hook's program on in, arriving from `from`; the kernel's error
 * or 0. A tc verdict comes back as the XDP verdict of the same meaning (TC_ACT_OK as XDP_PASS,
 * TC_ACT_SHOT as XDP_DROP, TC_ACT_REDIRECT as XDP_REDIRECT; others as 0x100 + the tc value).
 */
int lb_prog_run(const struct pkt *in, enum side from, struct pkt *out, __u32 *retval);

struct lb_fixture {
	const char *name;
	const struct pkt *in;
	enum side from;
	__u32 verdict;
	const struct pkt *out;	 /* NULL: the frame must come out exactly as it went in */
	enum veer_reason reason; /* the one reason counter that moves, or VEER_REASON_NONE */
};

/*
 * Runs one fixture. Checks the verdict, the exact output bytes, the checksums of a rewritten
 * frame (from scratch) and that the reason counters moved by exactly the one expected.
 */
bool lb_fixture_run(const struct lb_fixture *fx);
/*
 * The same, with a second reason counter that moves too: a DSR flow's fragment or ICMP error
 * counts fragment_fwd or icmp_error, and dsr_ipip or dsr_l2.
 */
bool lb_fixture_run_also(const struct lb_fixture *fx, enum veer_reason also);
/*
 * The same, where part of the output is the data plane's to choose (dsr-ipip's outer source, a
 * hash): expect checks that part of got and builds the whole frame wanted from it (fx->out is
 * not read); false if it fails.
 */
typedef bool (*lb_expect_fn)(struct pkt *want, const struct pkt *got, void *arg);
bool lb_fixture_run_fn(const struct lb_fixture *fx, enum veer_reason also, lb_expect_fn expect,
		       void *arg);
/*
 * Runs a shell command in the harness's namespace (extra links and neighbours a test needs);
 * false, with the command and its status reported, if it fails.
 */
bool lb_shell(const char *cmd);
/*
 * The n commands, in order, the first time only (*state 0: not tried; then 1 made, -1 failed);
 * true if they were all made, else a failure naming what.
 */
bool lb_shell_once(const char *const *cmds, size_t n, int *state, const char *what);
/* All of them, in order, even past a failure; true if all passed. */
bool lb_fixtures_run(const struct lb_fixture *fx, size_t n);

#endif /* VEER_TEST_LB_HARNESS_H */
