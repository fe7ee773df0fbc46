// SPDX-License-Identifier: GPL-2.0
/*
 * BPF_PROG_RUN fixtures of backend scheduling: session affinity, draining, and a bare SYN on a
 * flow whose backend no longer takes new flows. Harness and topology: lb_harness.h.
 */
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include "lb_harness.h"

/* ---- 11: session affinity ---- */

static __u32 fwd_backend(const char *client, __u16 sport, const char *vip, __u16 vport)
{
	struct veer_flow f;

	if (!lb_flow_get(client, sport, vip, vport, IPPROTO_TCP, &f))
		return VEER_NO_BACKEND;
	return f.backend_id;
}

static const struct be_def *be_by_id(const struct be_def *set, size_t n, __u32 id)
{
	for (size_t i = 0; i < n; i++)
		if (set[i].id == id)
			return &set[i];
	return NULL;
}

/*
 * Sends one packet from client:sport to vip:vport (new or established flow) and checks that it
 * left for a backend of set, with the exact bytes that backend should get. Returns the backend,
 * or NULL.
 */
static const struct be_def *send_flow(const char *client, __u16 sport, const char *vip, __u16 vport,
				      const struct be_def *set, size_t n)
{
	struct pkt_spec s = lb_spec_c2v(client, sport, vip, vport, IPPROTO_TCP);
	const struct be_def *be;
	struct pkt in, want, got;
	char what[96];
	__u32 retval;

	snprintf(what, sizeof(what), "flow %s:%u -> %s:%u", client, sport, vip, vport);
	if (!lb_pkt_build(&in, s, what) ||
	    !ASSERT_OK(lb_prog_run(&in, FROM_CLIENT, &got, &retval), what) ||
	    !ASSERT_EQ(retval, XDP_REDIRECT, what))
		return NULL;
	be = be_by_id(set, n, fwd_backend(client, sport, vip, vport));
	if (!ASSERT_TRUE(be, what) || !lb_pkt_build(&want, lb_spec_fwd(s, be, true), what) ||
	    !ASSERT_MEMEQ(got.data, got.len, want.data, want.len, what))
		return NULL;
	return be;
}

LB_TEST(lb_affinity)
{
	const struct be_def *const aff[3] = {&BE_AFF[0], &BE_AFF[1], &BE_AFF[2]};
	const struct be_def *const off[3] = {&BE_AFF_OFF[0], &BE_AFF_OFF[1], &BE_AFF_OFF[2]};
	static const __u32 weights[3] = {100, 100, 100};
	const struct be_def *be, *first = NULL, *other;
	struct veer_affinity_key ak = {};
	struct veer_affinity a;
	bool spread = false;

	if (!lb_begin() || !lb_add_vip(VIP_AFF, VIP4_AFF, 80, IPPROTO_TCP, 60, VEER_MODE_NAT) ||
	    !lb_add_vip(VIP_AFF_OFF, VIP4_AFF, 81, IPPROTO_TCP, 0, VEER_MODE_NAT))
		return;
	for (int i = 0; i < 3; i++)
		if (!lb_add_backend(aff[i], VIP_AFF, 100) ||
		    !lb_add_backend(off[i], VIP_AFF_OFF, 100))
			return;
	if (!lb_set_ring_maglev(VIP_AFF, aff, weights, 3) ||
	    !lb_set_ring_maglev(VIP_AFF_OFF, off, weights, 3))
		return;

	/* Without affinity, the same client's ports spread over the backends... */
	for (__u16 port = 41000; port < 41008; port++) {
		be = send_flow(CLIENT4, port, VIP4_AFF, 81, BE_AFF_OFF, 3);
		if (!be)
			return;
		if (!first)
			first = be;
		spread |= be != first;
	}
	if (!ASSERT_TRUE(spread, "ports of one client spread without affinity"))
		return;

	/* ...with affinity, every port of the client lands on one backend. */
	first = NULL;
	/*
	 * Other ports than above: the two VIPs share backend addresses, and one client port to
	 * both would give one backend two connections with the same addresses and ports.
	 */
	for (__u16 port = 41010; port < 41018; port++) {
		be = send_flow(CLIENT4, port, VIP4_AFF, 80, BE_AFF, 3);
		if (!be)
			return;
		if (!first)
			first = be;
		if (!ASSERT_EQ(be->id, first->id, "same backend for every port"))
			return;
	}
	lb_addr_parse(CLIENT4, &ak.client);
	ak.vip_id = VIP_AFF;
	if (!ASSERT_OK(bpf_map__lookup_elem(lb_env.skel->maps.veer_affinity, &ak, sizeof(ak), &a,
					    sizeof(a), 0),
		       "affinity entry") ||
	    !ASSERT_EQ(a.backend_id, first->id, "affinity entry: backend"))
		return;
	lb_counters_eq(lb_env.skel->maps.veer_be_stats, first->id, 8, 8 * P.tcp4.len, 8, 0, 0,
		       "affinity backend");

	/* The ring changes: the client stays, a new client follows the new ring. */
	other = &BE_AFF[(first - BE_AFF + 1) % 3];
	if (!lb_set_ring_all(VIP_AFF, other->id))
		return;
	be = send_flow(CLIENT4, 41100, VIP4_AFF, 80, BE_AFF, 3);
	if (!be || !ASSERT_EQ(be->id, first->id, "client kept across a ring change"))
		return;
	be = send_flow(CLIENT4_2, 41100, VIP4_AFF, 80, BE_AFF, 3);
	if (!be || !ASSERT_EQ(be->id, other->id, "new client follows the new ring"))
		return;

	/* Its backend drained (weight 0): the client's next new flow moves, established stay. */
	if (!lb_add_backend(first, VIP_AFF, 0))
		return;
	be = send_flow(CLIENT4, 41200, VIP4_AFF, 80, BE_AFF, 3);
	if (!be || !ASSERT_EQ(be->id, other->id, "new flow leaves a drained backend"))
		return;
	ASSERT_OK(bpf_map__lookup_elem(lb_env.skel->maps.veer_affinity, &ak, sizeof(ak), &a,
				       sizeof(a), 0),
		  "affinity entry");
	ASSERT_EQ(a.backend_id, other->id, "affinity entry follows");
	be = send_flow(CLIENT4, 41010, VIP4_AFF, 80, BE_AFF, 3);
	ASSERT_TRUE(be && be->id == first->id, "established flow stays on the drained backend");
}

/* ---- 12: drain at the map level ---- */

LB_TEST(lb_drain)
{
	const struct be_def pair[2] = {BE_TCP4, BE_B};
	const struct be_def *const set[2] = {&pair[0], &pair[1]};
	static const __u32 both[2] = {100, 100}, drained[2] = {0, 100};
	struct veer_counters a_before, a_after;
	const struct be_def *be;
	__u16 port, kept = 0;

	if (!lb_begin() || !lb_add_vip(VIP_TCP4, VIP4, 80, IPPROTO_TCP, 0, VEER_MODE_NAT) ||
	    !lb_add_backend(&BE_TCP4, VIP_TCP4, 100) || !lb_add_backend(&BE_B, VIP_TCP4, 100) ||
	    !lb_set_ring_maglev(VIP_TCP4, set, both, 2))
		return;
	/* New flows until one lands on backend A (the hash is fixed: the same port every run). */
	for (port = 42000; port < 42032 && !kept; port++) {
		be = send_flow(CLIENT4, port, VIP4, 80, pair, 2);
		if (!be)
			return;
		if (be->id == BE_TCP4.id)
			kept = port;
	}
	if (!ASSERT_NEQ(kept, 0, "a flow on backend A"))
		return;

	/* Drain A: weight 0, and the ring the control plane builds for that swapped in. */
	if (!lb_add_backend(&BE_TCP4, VIP_TCP4, 0) ||
	    !lb_set_ring_maglev(VIP_TCP4, set, drained, 2))
		return;
	a_before = lb_counters(lb_env.skel->maps.veer_be_stats, BE_TCP4.id);
	be = send_flow(CLIENT4, kept, VIP4, 80, pair, 2);
	if (!ASSERT_TRUE(be && be->id == BE_TCP4.id,
			 "established flow stays on the drained backend"))
		return;
	for (port = 42100; port < 42108; port++) {
		be = send_flow(CLIENT4, port, VIP4, 80, pair, 2);
		if (!ASSERT_TRUE(be && be->id == BE_B.id, "new flow goes to the remaining backend"))
			return;
	}
	a_after = lb_counters(lb_env.skel->maps.veer_be_stats, BE_TCP4.id);
	ASSERT_EQ(a_after.packets - a_before.packets, 1, "drained backend: one more packet");
	ASSERT_EQ(a_after.new_flows - a_before.new_flows, 0, "drained backend: no new flow");
}

/* ---- a bare SYN on a flow whose backend no longer takes new flows ---- */

#define TH_SYN	   0x02
#define TH_ACK_PSH 0x18 /* what pkt_build sends by default */
#define TH_SYN_ACK 0x12

/*
 * Runs one TCP packet client:sport -> vip:80 with these flags and checks that it leaves for be
 * (redirected, be has a neighbour), with the exact bytes be should get and no reason counted.
 */
static bool tcp_to(const char *client, __u16 sport, const char *vip, __u8 flags,
		   const struct be_def *be, const char *what)
{
	struct pkt_spec s = lb_spec_c2v(client, sport, vip, 80, IPPROTO_TCP);
	struct pkt in, out;
	struct lb_fixture fx = {what, &in, FROM_CLIENT, XDP_REDIRECT, &out, VEER_REASON_NONE};

	s.tcp_flags = flags;
	return lb_pkt_build(&in, s, what) && lb_pkt_build(&out, lb_spec_fwd(s, be, true), what) &&
	       lb_fixture_run(&fx);
}

static bool counted(__u32 be_id, __u64 packets, __u64 new_flows, const char *what)
{
	struct veer_counters c = lb_counters(lb_env.skel->maps.veer_be_stats, be_id);
	char w[128];
	bool ok;

	snprintf(w, sizeof(w), "%s: packets", what);
	ok = ASSERT_EQ(c.packets, packets, w);
	snprintf(w, sizeof(w), "%s: new_flows", what);
	return ASSERT_EQ(c.new_flows, new_flows, w) && ok;
}

static __u32 backend_gen(__u32 id)
{
	struct veer_backend b = {};

	bpf_map__lookup_elem(lb_env.skel->maps.veer_backends, &id, sizeof(id), &b, sizeof(b), 0);
	return b.gen;
}

/* Backend slots as the control plane leaves them: deleted, reused, moved. */
static bool slot_put(__u32 id, const char *addr, __u16 port, __u8 flags, __u32 vip_id, __u32 weight)
{
	struct veer_backend b = {
		.port = htons(port),
		.flags = flags,
		.vip_id = vip_id,
		.weight = weight,
		.seq = id,
	};

	b.family = lb_addr_parse(addr, &b.addr);
	/* The same backend's slot: its flows name it by gen. */
	b.gen = backend_gen(id);
	return ASSERT_TRUE(b.family, addr) &&
	       ASSERT_OK(bpf_map__update_elem(lb_env.skel->maps.veer_backends, &id, sizeof(id), &b,
					      sizeof(b), BPF_ANY),
			 "backend slot");
}

/* Slot 10 (BE_TCP4) moved to 198.18.12.2; slot 12 (BE_TCP6) moved to port 9090. */
static const struct be_def MOVED_ADDR = {10, "198.18.12.2", 8080, MAC_BE_B};
static const struct be_def MOVED_PORT = {12, "2001:2:0:11::2", 9090, MAC_BE_A};

static bool drained(void)
{
	return lb_add_backend(&BE_TCP4, VIP_TCP4, 0);
}

static bool removed(void)
{
	/* As veer_backend_del leaves it: weight 0, removed; address and gen kept. */
	return slot_put(BE_TCP4.id, BE_TCP4.addr, BE_TCP4.port, VEER_BACKEND_REMOVED, VIP_TCP4, 0);
}

static bool other_vip(void)
{
	return lb_add_backend(&BE_TCP4, VIP_SPECIAL, VEER_WEIGHT_DEFAULT);
}

static bool moved_addr(void)
{
	return lb_add_backend(&MOVED_ADDR, VIP_TCP4, VEER_WEIGHT_DEFAULT);
}

static bool moved_port(void)
{
	return lb_add_backend(&MOVED_PORT, VIP_TCP6, VEER_WEIGHT_DEFAULT);
}

struct stale_case {
	const char *name;
	bool v6;
	const struct be_def *old; /* the flow's backend, in slot old->id */
	const struct be_def *now; /* what the ring names after the change, as its slot then is */
	bool (*change)(void);	  /* what becomes of old's slot */
};

/*
 * The VIP with c->old (and c->now), a connection on c->old, then c->change and a ring of now.
 * Before the change every CPU is given old's next hop, as if each had carried the connection
 * (the test process may move between CPUs): where the change gives the slot a new gen, the next
 * packet must resolve it again on whichever CPU it runs, and the CPUs it does not run on keep
 * the old one, which the checks must tell from the current.
 */
static bool established_then_changed(const struct stale_case *c, __u32 vip_id, const char *vip,
				     const char *client, __u16 sport)
{
	bool same_slot = c->old->id == c->now->id;

	return lb_begin() && lb_add_vip(vip_id, vip, 80, IPPROTO_TCP, 0, VEER_MODE_NAT) &&
	       lb_add_backend(c->old, vip_id, VEER_WEIGHT_DEFAULT) &&
	       (same_slot || lb_add_backend(c->now, vip_id, VEER_WEIGHT_DEFAULT)) &&
	       lb_set_ring_all(vip_id, c->old->id) &&
	       tcp_to(client, sport, vip, TH_SYN, c->old, "SYN of the first connection") &&
	       tcp_to(client, sport, vip, TH_ACK_PSH, c->old, "established") &&
	       lb_backend_hop_everywhere(c->old->id) && ASSERT_TRUE(c->change(), c->name) &&
	       lb_set_ring_all(vip_id, c->now->id);
}

/*
 * A flow established on c->old; then old's slot changes and the ring names c->now in every
 * slot. An ACK still goes to old (established flows finish where they started); a bare SYN on
 * the same 5-tuple is a new connection: scheduled again, to now, as a new flow. The connection
 * then follows it, and a retransmitted SYN stays (now takes new flows).
 */
static void stale_syn(const struct stale_case *c)
{
	__u32 vip_id = c->v6 ? VIP_TCP6 : VIP_TCP4;
	const char *vip = c->v6 ? VIP6 : VIP4, *client = c->v6 ? CLIENT6 : CLIENT4;
	const __u16 sport = 43000;
	bool same_slot = c->old->id == c->now->id;
	struct veer_counters v;
	struct veer_flow f;
	char w[128];

	if (!established_then_changed(c, vip_id, vip, client, sport))
		return;

	snprintf(w, sizeof(w), "%s: ACK stays on the old backend", c->name);
	if (!tcp_to(client, sport, vip, TH_ACK_PSH, c->old, w))
		return;
	snprintf(w, sizeof(w), "%s: SYN-ACK stays on the old backend", c->name);
	if (!tcp_to(client, sport, vip, TH_SYN_ACK, c->old, w))
		return;
	snprintf(w, sizeof(w), "%s: old backend before the SYN", c->name);
	if (!counted(c->old->id, 4, 1, w))
		return;

	snprintf(w, sizeof(w), "%s: bare SYN scheduled again", c->name);
	if (!tcp_to(client, sport, vip, TH_SYN, c->now, w))
		return;
	v = lb_counters(lb_env.skel->maps.veer_vip_stats, vip_id);
	snprintf(w, sizeof(w), "%s: VIP new_flows after the SYN", c->name);
	ASSERT_EQ(v.new_flows, 2, w);
	snprintf(w, sizeof(w), "%s: new backend after the SYN", c->name);
	if (same_slot) {
		counted(c->now->id, 5, 2, w);
	} else {
		counted(c->now->id, 1, 1, w);
		counted(c->old->id, 4, 1, w);
	}
	if (ASSERT_TRUE(lb_flow_get(client, sport, vip, 80, IPPROTO_TCP, &f), "forward entry"))
		lb_check_forward_entry(&f, vip_id, c->now, true, c->name);
	if (ASSERT_TRUE(lb_flow_get(c->now->addr, c->now->port, client, sport, IPPROTO_TCP, &f),
			"reply entry of the new connection"))
		lb_check_reply_entry(&f, vip_id, vip, 80, c->now->id, c->name);
	/* The old connection's late packets must not be rewritten into the new one. */
	snprintf(w, sizeof(w), "%s: old connection's reply entry removed", c->name);
	if (strcmp(c->old->addr, c->now->addr) || c->old->port != c->now->port)
		ASSERT_FALSE(
			lb_flow_get(c->old->addr, c->old->port, client, sport, IPPROTO_TCP, &f), w);
	ASSERT_EQ(lb_flow_count(), 1, "flow entries after the new connection");

	snprintf(w, sizeof(w), "%s: ACK follows the new connection", c->name);
	if (!tcp_to(client, sport, vip, TH_ACK_PSH, c->now, w))
		return;
	snprintf(w, sizeof(w), "%s: SYN retransmitted to a live backend stays", c->name);
	if (!tcp_to(client, sport, vip, TH_SYN, c->now, w))
		return;
	v = lb_counters(lb_env.skel->maps.veer_vip_stats, vip_id);
	snprintf(w, sizeof(w), "%s: VIP", c->name);
	ASSERT_EQ(v.packets, 7, w);
	ASSERT_EQ(v.new_flows, 2, w);
}

LB_TEST(lb_stale_syn_drained)
{
	stale_syn(&(struct stale_case){"drained", false, &BE_TCP4, &BE_B, drained});
}

LB_TEST(lb_stale_syn_removed)
{
	stale_syn(&(struct stale_case){"removed", false, &BE_TCP4, &BE_B, removed});
}

/*
 * A flow established on c->old; then old's slot is given to another backend (the control plane
 * does so only after every other free slot) and the ring names c->now. The flow ended with its
 * backend: its next packet is scheduled again, as a new flow, and the old backend's late
 * replies are no longer rewritten to the VIP (no flow of theirs is left).
 */
static void slot_reused(const struct stale_case *c)
{
	__u32 vip_id = c->v6 ? VIP_TCP6 : VIP_TCP4;
	const char *vip = c->v6 ? VIP6 : VIP4, *client = c->v6 ? CLIENT6 : CLIENT4;
	const __u16 sport = 43000;
	struct veer_counters v;
	struct veer_flow f;
	char w[128];

	if (!established_then_changed(c, vip_id, vip, client, sport))
		return;
	snprintf(w, sizeof(w), "%s: next packet scheduled again", c->name);
	if (!tcp_to(client, sport, vip, TH_ACK_PSH, c->now, w))
		return;
	v = lb_counters(lb_env.skel->maps.veer_vip_stats, vip_id);
	snprintf(w, sizeof(w), "%s: VIP new_flows", c->name);
	ASSERT_EQ(v.new_flows, 2, w);
	if (ASSERT_TRUE(lb_flow_get(client, sport, vip, 80, IPPROTO_TCP, &f), "the connection"))
		lb_check_forward_entry(&f, vip_id, c->now, true, c->name);
	snprintf(w, sizeof(w), "%s: no flow for the old backend's replies", c->name);
	if (strcmp(c->old->addr, c->now->addr) || c->old->port != c->now->port)
		ASSERT_FALSE(
			lb_flow_get(c->old->addr, c->old->port, client, sport, IPPROTO_TCP, &f), w);
	ASSERT_EQ(lb_flow_count(), 1, "one connection");
}

LB_TEST(lb_slot_reused_other_vip)
{
	slot_reused(&(struct stale_case){"slot given to another VIP", false, &BE_TCP4, &BE_B,
					 other_vip});
}

LB_TEST(lb_slot_reused_moved_addr)
{
	slot_reused(&(struct stale_case){"slot moved to another address", false, &BE_TCP4,
					 &MOVED_ADDR, moved_addr});
}

LB_TEST(lb_slot_reused_moved_port)
{
	slot_reused(&(struct stale_case){"IPv6 slot moved to another port", true, &BE_TCP6,
					 &MOVED_PORT, moved_port});
}

/*
 * Only a bare SYN to a backend that no longer takes new flows moves. A SYN whose backend is
 * fine stays even when the ring now names another; a UDP flow on a drained backend stays.
 */
LB_TEST(lb_syn_live_backend_stays)
{
	struct pkt_spec s = lb_spec_c2v(CLIENT4, 43100, VIP4, 53, IPPROTO_UDP);
	struct pkt udp, udp_out;
	struct lb_fixture fx = {"UDP on a drained backend stays",
				&udp,
				FROM_CLIENT,
				XDP_REDIRECT,
				&udp_out,
				VEER_REASON_NONE};

	if (!lb_begin() || !lb_vips_basic() ||
	    !lb_add_backend(&BE_B, VIP_TCP4, VEER_WEIGHT_DEFAULT) ||
	    !tcp_to(CLIENT4, 43100, VIP4, TH_SYN, &BE_TCP4, "SYN of the first connection") ||
	    !lb_set_ring_all(VIP_TCP4, BE_B.id) ||
	    !tcp_to(CLIENT4, 43100, VIP4, TH_SYN, &BE_TCP4, "SYN to a live backend stays") ||
	    !counted(BE_TCP4.id, 2, 1, "live backend") || !counted(BE_B.id, 0, 0, "ring's backend"))
		return;

	if (!lb_pkt_build(&udp, s, "udp") ||
	    !lb_pkt_build(&udp_out, lb_spec_fwd(s, &BE_UDP4, true), "udp_out") ||
	    !lb_fixture_run(&fx) || !lb_add_backend(&BE_UDP4, VIP_UDP4, 0) ||
	    !lb_set_ring_all(VIP_UDP4, VEER_NO_BACKEND))
		return;
	if (lb_fixture_run(&fx))
		counted(BE_UDP4.id, 2, 1, "drained UDP backend");
}
