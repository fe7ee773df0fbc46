/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data-plane fuzz test (test_lb_fuzz.c): valid seed packets of every shape, mutated, run
 * through BPF_PROG_RUN on both hooks and checked against a model of the DOCUMENTED rules
 * (docs: the rules 1-9 of the data plane's parsing, hygiene, ICMP, MTU and fragments).
 *
 *   lb_fuzz_model.c  the model: one small function per rule group, a table to switch them on
 *   lb_fuzz_gen.c    seeds (a byte-level builder, checksums from scratch) and mutations
 *   test_lb_fuzz.c   the runner: state, runs on XDP and tc, checks, reports
 *
 * The model is written from the rules' text, never from the BPF code, so that it is an
 * independent check. It always computes what the documented rules say; a rule group that is
 * not enabled yet (its implementation has not landed) only decides whether a difference from
 * the model counts: an expectation that relied on a disabled group is checked for the
 * rule-independent invariants only (one reason counter, a pass untouched, checksums right).
 */
#ifndef VEER_TEST_LB_FUZZ_H
#define VEER_TEST_LB_FUZZ_H

#include <stdbool.h>
#include <linux/types.h>
#include <veer/abi.h>
#include "lb_harness.h"

/* ---- rule groups ---- */

enum fz_group {
	FZ_G_L2,	/* 1: Ethernet / 802.1Q */
	FZ_G_L3,	/* 2, 3: IPv4/IPv6 header structure and lengths */
	FZ_G_IPCSUM,	/* 2: IPv4 header checksum */
	FZ_G_PLEN0,	/* 3: IPv6 payload length 0 */
	FZ_G_EXT,	/* 4: IPv6 extension header walk */
	FZ_G_L4,	/* 5: TCP/UDP header cut short */
	FZ_G_L4HDR,	/* 5: TCP data offset, UDP length */
	FZ_G_MARTIAN,	/* 5: martian sources */
	FZ_G_TTL,	/* 5: TTL / hop limit: passed untouched */
	FZ_G_TTL_STATE, /* 5: ... and no flow state for it */
	FZ_G_ECHO,	/* 6: echo requests to VIP addresses */
	FZ_G_ECHO_SUM,	/* 6: ... whose reply sums to zero (its checksum must be 0xffff) */
	FZ_G_ICMPERR,	/* 7: ICMP errors about flows */
	FZ_G_ICMP_QLEN, /* 7: ... whose inner length ends before the inner L4 checksum */
	FZ_G_MTU_STACK, /* 8: too big, IPv4 without DF: to the stack */
	FZ_G_MTU_ICMP,	/* 8: too big otherwise: frag-needed / packet-too-big */
	FZ_G_FRAG,	/* 9: fragments */
	FZ_G_MAX,
};

struct fz_group_def {
	const char *name;
	const char *rule;
	bool enabled; /* its implementation is on main: mismatches fail the test */
};

/* Indexed by enum fz_group; VEER_FUZZ_GROUPS (e.g. "all", "+ext,-frag") overrides `enabled`. */
extern struct fz_group_def fz_groups[FZ_G_MAX];
/* Applies VEER_FUZZ_GROUPS; false on a name it does not know. */
bool fz_groups_from_env(void);
__u32 fz_groups_enabled(void);

/* ---- what the model expects ---- */

enum fz_cls { FZ_DROP, FZ_PASS, FZ_REDIRECT, FZ_TX };

/* What the output frame must be. */
enum fz_out {
	FZ_OUT_ANY,	 /* dropped: not looked at */
	FZ_OUT_SAME,	 /* byte-identical to the input */
	FZ_OUT_NAT,	 /* addresses/ports rewritten (rw), MACs and TTL if hop */
	FZ_OUT_ECHO,	 /* echo reply made of the request (rule 6) */
	FZ_OUT_ICMP_ERR, /* ICMP error rewritten: outer rw, inner irw (rule 7) */
	FZ_OUT_TOO_BIG,	 /* frag-needed / packet-too-big made by veer (rule 8) */
};

/* An address/port rewrite; ports only where the L4 header is present. */
struct fz_rw {
	bool saddr, daddr, sport, dport;
	union veer_addr new_saddr, new_daddr;
	__u16 new_sport, new_dport; /* host order */
};

struct fz_outcome {
	enum fz_cls cls;
	enum veer_reason reason;
	enum fz_out out;
	int new_flows; /* connection table entries the packet creates; -1: 0 or 1 */
	struct fz_rw rw, irw;
	bool hop; /* redirected by veer: MACs set, TTL/hop limit decremented */
	__u8 dmac[6], smac[6];
	union veer_addr vip; /* FZ_OUT_TOO_BIG: the sender of the ICMP */
	__u16 mtu;
};

#define FZ_MAX_OUTCOMES 4

struct fz_expect {
	struct fz_outcome c[FZ_MAX_OUTCOMES]; /* any one of them is right */
	int n;
	__u32 uses;  /* 1 << enum fz_group: the groups whose rules the expectation relies on */
	bool unspec; /* the documented rules do not say: invariants only */
	char why[160];
};

/* ---- the model's view of veer's state ---- */

enum fz_hop_kind { FZ_HOP_UNKNOWN, FZ_HOP_REDIRECT, FZ_HOP_STACK };

struct fz_hop {
	enum fz_hop_kind kind;
	__u8 dmac[6], smac[6];
};

struct fz_key {
	__u8 family, proto;
	union veer_addr saddr, daddr;
	__u16 sport, dport; /* host order */
};

/*
 * The model keeps a flow as two entries, one per direction, each saying how it rewrites; the
 * data plane keeps one entry per connection (struct veer_flow) and finds it from either side.
 */
enum fz_dir {
	FZ_DIR_FORWARD,
	FZ_DIR_REPLY,
};

struct fz_flow {
	struct fz_key key;
	__u8 dir; /* enum fz_dir: which way the model's entry rewrites */
	union veer_addr addr;
	__u16 port;
	struct fz_hop hop;
	__u16 mtu;
};

struct fz_frag {
	__u8 family, proto;
	union veer_addr saddr, daddr;
	__u32 id;
	__u16 sport, dport;
};

#define FZ_MAX_FLOWS 64
#define FZ_MAX_FRAGS 8

struct fz_state {
	struct fz_flow flows[FZ_MAX_FLOWS];
	int nflows;
	struct fz_frag frags[FZ_MAX_FRAGS];
	int nfrags;
};

/* A VIP of the fuzz configuration and its one backend. */
struct fz_vip {
	const char *addr;
	__u16 port;
	__u8 proto;
	__u32 id;
	const struct be_def *be;
};

extern const struct fz_vip fz_vips[];
extern const int fz_nvips;

/*
 * The model: what the documented rules make of frame p arriving from `from`, given state st.
 * Then fz_model_apply adds to st what the packet leaves behind (flows, fragment records) when
 * it got outcome c[0].
 */
void fz_model(const struct fz_state *st, const struct pkt *p, enum side from, struct fz_expect *e);
void fz_model_apply(struct fz_state *st, const struct pkt *p, const struct fz_expect *e);
/* Adds the two entries of a flow client:cport -> vip (as the data plane does on a new flow). */
void fz_state_add_flow(struct fz_state *st, const struct fz_key *fwd, const struct fz_vip *v);

/* ---- a parse of a frame, shared by the model, the generator and the checks ---- */

struct fz_view {
	__u32 len;
	bool vlan;
	__u16 ethertype;
	__u32 l3;    /* offset of the IP header */
	__u8 family; /* 4, 6, or 0: the L3 header did not parse */
	__u32 ihl;   /* IPv4 header bytes */
	__u32 end;   /* end of the datagram: l3 + tot_len or l3 + 40 + payload length */
	__u32 l4;    /* offset of the upper-layer header (behind extension headers) */
	__u8 proto;  /* upper-layer protocol */
	__u8 ttl;
	bool df;
	bool frag; /* a fragment (not an atomic one) */
	bool tail; /* non-first fragment */
	__u32 frag_id;
	__u8 frag_proto; /* IPv4 protocol or the fragment header's next header */
	int next;	 /* IPv6 extension headers walked */
	int nfraghdr;	 /* of which fragment headers */
	int ext_off[12]; /* their offsets, for the mutations */
	bool ext_bad;	 /* the walk broke off: the reason is in ext_why */
	const char *ext_why;
	union veer_addr saddr, daddr;
};

/* Parses L2 and L3 and walks IPv6 extension headers as the rules describe; false if L3 is bad. */
bool fz_parse(const __u8 *b, __u32 len, struct fz_view *v);

/* ---- seeds and mutations (lb_fuzz_gen.c) ---- */

struct fz_seed {
	const char *name;
	enum side from;
	struct pkt pkt;
	int pre; /* index of a seed to run first in the same case (a first fragment), or -1 */
};

/* Builds the seed table; false (and an assertion) when one does not build. */
bool fz_seeds_init(void);
extern struct fz_seed *fz_seeds;
extern int fz_nseeds;

/* The established flows the runner creates once (by running these packets through veer). */
struct fz_estab {
	int fwd_seed, reply_seed; /* indexes into fz_seeds */
	const struct fz_vip *vip;
};
extern struct fz_estab fz_estab[];
extern int fz_nestab;

/*
 * Frames and what the rules make of them, both built from scratch, for the checks' self-test:
 * an echo request and its reply, ICMP errors about flows and their rewrites, a fragment tail
 * and its rewrite (the record of its first fragment in frag).
 */
struct fz_pair {
	const char *name;
	enum side from;
	struct pkt in, want;
	bool has_frag;
	struct fz_frag frag;
};

int fz_pairs(struct fz_pair *p, int max);

/* splitmix64 */
static inline __u64 fz_rand(__u64 *s)
{
	__u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline __u32 fz_below(__u64 *s, __u32 n)
{
	return n ? (__u32)(fz_rand(s) % n) : 0;
}

/* Mutates p in place (0 to a few mutations); writes what it did into desc. */
void fz_mutate(struct pkt *p, __u64 *rng, char *desc, size_t desc_len);

/* ---- checksum helpers (from scratch, RFC 1071) ---- */

__u32 fz_pseudo_sum(__u8 family, const union veer_addr *s, const union veer_addr *d, __u8 proto,
		    __u32 len);
/* The ones' complement sum of a region folded to 16 bits, 0xffff normalised to 0. */
__u16 fz_fold(__u32 sum);
bool fz_ip4_csum_ok(const __u8 *iph, __u32 ihl);
void fz_ip4_fix(__u8 *iph, __u32 ihl);
/* Recomputes the L4 (TCP/UDP/ICMP) checksum of an unfragmented datagram as parsed in v. */
void fz_l4_fix(__u8 *b, const struct fz_view *v);

/* Martian sources (rule 5). */
bool fz_martian(__u8 family, const union veer_addr *a);

static inline __u16 fz_get16(const __u8 *b)
{
	return (__u16)(b[0] << 8 | b[1]);
}

static inline void fz_put16(__u8 *b, __u16 v)
{
	b[0] = v >> 8;
	b[1] = v;
}

static inline __u32 fz_get32(const __u8 *b)
{
	return (__u32)b[0] << 24 | (__u32)b[1] << 16 | (__u32)b[2] << 8 | b[3];
}

/* IPv6 next-header values the generator builds and the model walks. */
enum {
	NH_HBH = 0,
	NH_ROUTING = 43,
	NH_FRAG = 44,
	NH_ESP = 50,
	NH_AH = 51,
	NH_NONE = 59,
	NH_DSTOPTS = 60
};

#endif /* VEER_TEST_LB_FUZZ_H */
