// SPDX-License-Identifier: GPL-2.0
/*
 * veer's load balancer: parse -> VIP or backend -> connection table -> Maglev -> NAT or DSR ->
 * forward.
 * Established flows (either direction) cost one connection-table lookup; traffic for no VIP
 * and from no backend costs two lookups in small tables and passes untouched. A later fragment (no
 * ports) finds its flow through its datagram's first fragment (bpf/lib/frag.h). ICMP takes its own
 * path (bpf/lib/icmp.h): echo to VIP addresses, errors about flows.
 *
 * One body, two entry points (bpf/lib/ctx.h): veer_lb at XDP, for NICs whose frames carry full
 * checksums, and veer_lb_tc at the tc ingress hook, for veths and every interface where a
 * packet may carry a checksum only its skb knows. Both share every map.
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/hygiene.h"
#include "lib/stats.h"
#include "lib/events.h"
#include "lib/conntrack.h"
#include "lib/nat.h"
#include "lib/encap.h"
#include "lib/frag.h"
#include "lib/icmp.h"
#include "lib/proxy.h"

/*
 * Fragmentation-needed / packet-too-big messages veer sends, per destination (the source of
 * the packets that were too big): icmp_rate a second, in bursts of up to icmp_burst; 0 sends
 * none. Set by the loader. A host's TCP needs one message per path, after which it sends
 * smaller segments: the burst covers the first flights of a client's parallel connections
 * (or of many hosts behind one NAT address), ~10 segments each, before the first answer has
 * lowered their MSS. The rate bounds what a spoofed source can draw towards its victim to
 * ~100 x 1280 bytes a second; an answer is at most 576 / 1280 bytes, and at most its own 28 /
 * 48 bytes of headers longer than the packet that caused it (usually shorter): no amplifier.
 */
const volatile __u32 icmp_rate = 100;
const volatile __u32 icmp_burst = 100;

static __always_inline int verdict(void *ctx, const enum veer_hook hook, const struct packet *p,
				   int rc)
{
	__u32 reason = -rc;

	count_reason(reason);
	if (!VEER_REASON_IS_DROP(reason))
		return ctx_pass(hook);
	event_drop(ctx, hook, &p->key, reason);
	return ctx_drop(hook);
}

/*
 * A bare SYN opens a new connection even when its 5-tuple is still in the table (clients
 * reuse ports): if the old one is closing, or its backend no longer takes new flows (drained,
 * removed), the connection is scheduled again instead of being sent to it.
 */
static __always_inline bool flow_is_stale_syn(const struct packet *p, const struct veer_flow *f,
					      const struct veer_backend *be)
{
	return tcp_is_syn(p) &&
	       ((f->flags & VEER_FLOW_CLOSING) || !backend_takes_new_flows(be, be->vip_id));
}

/* The last steps of every packet of a flow: a fragment's record, the counters, the rewrite. */
static __always_inline int flow_send(void *ctx, const enum veer_hook hook, struct packet *p,
				     const struct flow_view *v, __u64 now, bool new_flow, bool fwd)
{
	int rc;

	/* A first fragment shows its datagram's later fragments the way (bpf/lib/frag.h). */
	if (p->fragment) {
		rc = frag_record(p, now);
		if (rc)
			return rc;
	}
	count_flow(&veer_vip_stats, v->vip_id, p->len, v->reply, new_flow);
	count_flow(&veer_be_stats, v->backend_id, p->len, v->reply, new_flow);
	if (unlikely(new_flow))
		event_flow_new(ctx, hook, p, v);
	/* Direct server return (bpf/lib/encap.h): forward packets of DSR VIPs only. */
	if (fwd && v->mode != VEER_MODE_NAT)
		return dsr_forward(ctx, hook, p, v, &p->key, true);
	return nat_forward(ctx, hook, p, v);
}

/* A backend's packet to a client: the flow it replies to, if any, rewritten to the VIP. */
static __always_inline int process_reply(void *ctx, const enum veer_hook hook, struct packet *p,
					 struct flow_view *v, __u64 *now)
{
	struct veer_flow *f;
	int rc;

	f = reply_find(&p->key, v);
	if (!f)
		return -VEER_PASS_NOT_VIP;
	/* Checked before anything is refreshed: bpf/lib/hygiene.h. */
	rc = hygiene_check(p);
	if (rc)
		return rc;
	*now = bpf_ktime_get_coarse_ns();
	reply_refresh(ctx, hook, p, f, v, *now);
	return 0;
}

/*
 * A TCP packet past the SYN with no connection yet: the handshake's end. Its entry moves from
 * the handshake table to the connection table; without one (a flood evicted it), the packet is
 * scheduled afresh, by the same Maglev table the SYN was. A RST goes to the handshake's backend
 * and marks it closing, confirming nothing. A connection whose replies would be another's
 * (reply_clash) is refused here, in *rc.
 */
static __always_inline struct veer_flow *flow_confirm(const struct packet *p, __u64 now,
						      struct veer_flow *newf,
						      struct veer_backend **be, int *rc)
{
	struct veer_flow *s = syn_lookup(&p->key);
	const struct tcphdr *th = p->l4;

	if (!s || flow_expired(s, IPPROTO_TCP, true, now))
		return NULL;
	*be = flow_backend(s);
	if (!*be)
		return NULL;
	/* A RST ends the handshake instead (a client answering a SYN-ACK it never asked for). */
	if (th->rst)
		return s;
	/* Handshakes do not clash (a SYN may be spoofed): connections do, from here on. */
	if (((*be)->flags & VEER_BACKEND_SHARED) && reply_clash(p, *be, s->backend_id)) {
		*rc = -VEER_DROP_REPLY_CLASH;
		return NULL;
	}
	*newf = *s;
	newf->last_seen = now;
	if (flow_insert(&p->key, newf, BPF_ANY))
		return NULL;
	/* Moved, not copied: one entry per connection, and room for the next handshake. */
	syn_delete(&p->key);
	return newf;
}

/*
 * A packet whose destination may be a VIP (veer_svc): its connection, found by its own tuple
 * with no look at the VIP table, or a new one. -VEER_PASS_NOT_VIP if it is no VIP's after all.
 */
static __always_inline int process_forward(void *ctx, const enum veer_hook hook, struct packet *p,
					   struct flow_view *v, __u64 *nowp, bool *new_flow)
{
	struct veer_backend *be = NULL;
	struct veer_flow newf = {}, *f;
	struct veer_vip *vip = NULL;
	__u64 now;
	int rc;

	now = bpf_ktime_get_coarse_ns();
	f = flow_lookup(&p->key);
	if (f) {
		be = flow_backend(f);
		if (!be || flow_expired(f, p->key.proto, false, now))
			f = NULL;
	}
	if (!f) {
		vip = vip_lookup(&p->key);
		if (!vip)
			return -VEER_PASS_NOT_VIP;
	}
	/* VIP traffic: checked before any state is made or refreshed (bpf/lib/hygiene.h). */
	rc = hygiene_check(p);
	if (rc)
		return rc;
	if (f && flow_is_stale_syn(p, f, be)) {
		/* The old backend's late packets (FIN, RST) must not reach the new one. */
		flow_delete(&p->key);
		f = NULL;
		vip = vip_lookup(&p->key);
		if (!vip)
			return -VEER_PASS_NOT_VIP;
	}
	if (!f && p->key.proto == IPPROTO_TCP && !tcp_is_syn(p))
		f = flow_confirm(p, now, &newf, &be, &rc);
	if (rc)
		return rc;
	if (!f) {
		if (!vip)
			return -VEER_PASS_NOT_VIP;
		/*
		 * A mode of a later veer, or a tagged frame to a DSR VIP (bpf/lib/encap.h):
		 * nothing is made for it.
		 */
		if (vip->mode > VEER_MODE_DSR_L2 || (vip->mode != VEER_MODE_NAT && p->vlan))
			return -VEER_DROP_UNSUPPORTED;
		rc = flow_create(p, vip, now, &newf, &be);
		if (rc == -VEER_DROP_FLOW_FULL)
			event_table_full(ctx, hook, &p->key,
					 tcp_is_syn(p) ? VEER_EVENT_TABLE_SYNS
						       : VEER_EVENT_TABLE_FLOWS,
					 vip->id);
		if (rc < 0)
			return rc;
		f = &newf;
		*new_flow = rc;
	} else {
		/* The only writes on the established path: once per refresh interval, at close. */
		if (now - f->last_seen > VEER_FLOW_REFRESH_NS)
			f->last_seen = now;
		flow_mark_closing(p, f, now);
	}
	*nowp = now;
	return view_forward(ctx, hook, p, f, be, now, v);
}

/*
 * The destination may name a VIP, or the source a backend (veer_svc, an array: a couple of
 * nanoseconds): only then are the exact tables and the connection table read, so traffic of
 * neither costs no hash lookup, and an established forward packet no VIP lookup.
 */
static __always_inline int process(void *ctx, const enum veer_hook hook, struct packet *p)
{
	struct flow_view *v = flow_view_scratch();
	bool new_flow = false, fwd;
	__u64 now = 0;
	int rc = -VEER_PASS_NOT_VIP;

	if (!v)
		return rc;
	/* Forward-proxy rules first (bpf/lib/proxy.h): on a VIP's port, one wins over the VIP. */
	if (proxy_process(ctx, hook, p, v, &rc))
		return rc;
	if (svc_flags(&p->key.daddr, p->key.dport, p->key.proto) & VEER_SVC_VIP)
		rc = process_forward(ctx, hook, p, v, &now, &new_flow);
	fwd = !rc;
	if (rc == -VEER_PASS_NOT_VIP &&
	    (svc_flags(&p->key.saddr, p->key.sport, p->key.proto) & VEER_SVC_BACKEND))
		rc = process_reply(ctx, hook, p, v, &now);
	/* One rewrite for both directions: the verifier walks it once. */
	return rc ? rc : flow_send(ctx, hook, p, v, now, new_flow, fwd);
}

static __always_inline int lb_main(void *ctx, const enum veer_hook hook)
{
	struct packet p = {};
	int rc;

	rc = parse_packet(ctx, hook, &p);
	if (!rc && unlikely(p.key.proto == IPPROTO_ICMP || p.key.proto == IPPROTO_ICMPV6))
		rc = icmp_process(ctx, hook, &p);
	else if (!rc)
		rc = process(ctx, hook, &p);
	else if (rc == -VEER_PASS_FRAGMENT)
		rc = frag_forward(ctx, hook, &p);
	return rc < 0 ? verdict(ctx, hook, &p, rc) : rc;
}

SEC("xdp")
int veer_lb(struct xdp_md *ctx)
{
	return lb_main(ctx, HOOK_XDP);
}

SEC("tc")
int veer_lb_tc(struct __sk_buff *skb)
{
	return lb_main(skb, HOOK_TC);
}

/* tc egress: a forward proxy on this host's packets to its clients (bpf/lib/proxy.h). */
SEC("tc")
int veer_lb_egress(struct __sk_buff *skb)
{
	return proxy_egress(skb);
}

char LICENSE[] SEC("license") = "GPL";
