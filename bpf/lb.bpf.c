// SPDX-License-Identifier: GPL-2.0
/*
 * veer's load balancer: parse -> connection table -> VIP -> Maglev -> NAT -> forward.
 * Established flows (either direction) cost one flow lookup; traffic for no VIP and no flow
 * costs a flow lookup and a VIP lookup and passes untouched. A later fragment (no ports) finds
 * its flow through its datagram's first fragment (bpf/lib/frag.h). ICMP takes its own path
 * (bpf/lib/icmp.h): echo to VIP addresses, errors about flows.
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
#include "lib/conntrack.h"
#include "lib/nat.h"
#include "lib/frag.h"
#include "lib/icmp.h"

/* Idle time after which a forward flow is scheduled again; set by the loader. */
const volatile __u64 flow_timeout_ns = VEER_FLOW_TIMEOUT_NS;

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

static __always_inline int verdict(const enum veer_hook hook, int rc)
{
	__u32 reason = -rc;

	count_reason(reason);
	return VEER_REASON_IS_DROP(reason) ? ctx_drop(hook) : ctx_pass(hook);
}

/*
 * A bare SYN opens a new connection even when its 5-tuple is still in the table (clients
 * reuse ports): if the flow's backend no longer takes new flows (drained, removed), the
 * connection is scheduled again instead of being sent to it.
 */
static __always_inline bool flow_is_stale_syn(const struct packet *p, const struct veer_flow *f)
{
	struct tcphdr *th = p->l4;
	struct veer_backend *be;
	__u32 id = f->backend_id;

	if (p->key.proto != IPPROTO_TCP || f->dir != VEER_FLOW_FORWARD || !th->syn || th->ack)
		return false;
	be = bpf_map_lookup_elem(&veer_backends, &id);
	return !backend_takes_new_flows(be, f->vip_id) || be->port != f->port ||
	       !addr_equal(&be->addr, &f->addr);
}

static __always_inline int process(void *ctx, const enum veer_hook hook, struct packet *p)
{
	struct veer_flow newf = {}, *f;
	bool new_flow = false;
	__u64 now;
	int rc;

	f = flow_lookup(&p->key);
	/* Read the clock only for VIP traffic: the pass path stays as short as it can. */
	if (f) {
		/* Checked before the flow is refreshed or forgotten: bpf/lib/hygiene.h. */
		rc = hygiene_check(p);
		if (rc)
			return rc;
		now = bpf_ktime_get_coarse_ns();
	}
	if (f && f->dir == VEER_FLOW_FORWARD &&
	    (now - f->last_seen > flow_timeout_ns || flow_is_stale_syn(p, f))) {
		/* The old backend's late packets (FIN, RST) must not reach the new connection. */
		flow_forget_reply(p, f);
		f = NULL;
	}
	if (!f) {
		struct veer_vip_key vk = {};
		struct veer_vip *vip;

		vk.addr = p->key.daddr;
		vk.port = p->key.dport;
		vk.proto = p->key.proto;
		vk.family = p->key.family;
		vip = bpf_map_lookup_elem(&veer_vips, &vk);
		if (!vip)
			return -VEER_PASS_NOT_VIP;
		/* Before any state is created (a stale flow's packet is checked twice, alike). */
		rc = hygiene_check(p);
		if (rc)
			return rc;
		now = bpf_ktime_get_coarse_ns();
		if (vip->mode != VEER_MODE_NAT)
			return -VEER_DROP_UNSUPPORTED;
		rc = flow_create(ctx, hook, p, vip, now, &newf);
		if (rc)
			return rc;
		f = &newf;
		new_flow = true;
	} else if (now - f->last_seen > VEER_FLOW_REFRESH_NS) {
		flow_refresh(ctx, hook, p, f, now);
	}
	/* A first fragment shows its datagram's later fragments the way (bpf/lib/frag.h). */
	if (p->fragment) {
		rc = frag_record(p, now);
		if (rc)
			return rc;
	}
	count_flow(&veer_vip_stats, f->vip_id, p->len, f->dir == VEER_FLOW_REPLY, new_flow);
	count_flow(&veer_be_stats, f->backend_id, p->len, f->dir == VEER_FLOW_REPLY, new_flow);
	return nat_forward(ctx, hook, p, f);
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
	return rc < 0 ? verdict(hook, rc) : rc;
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

char LICENSE[] SEC("license") = "GPL";
