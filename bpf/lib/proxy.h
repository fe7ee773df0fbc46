/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The transparent forward proxy: TCP connections from clients in a rule's CIDR to any address on
 * the rule's destination port are steered to a proxy, which learns each one's original
 * destination from veer_proxy_conn (libveer's veer_proxy_origdst(), SO_ORIGINAL_DST's
 * equivalent), and the proxy's packets back are rewritten to come from the server the client
 * asked for. Rules, gate and connections: abi.h.
 *
 * The client's packets: destination := the proxy (address and port), by nat.h's rewrite, over
 * the next hop toward the proxy. A proxy on this host (the usual deployment, as an iptables
 * REDIRECT) has no next hop: the packet goes to the stack, which delivers it to the proxy's
 * socket. A proxy on another host behind a veer interface gets it redirected, TTL decremented.
 *
 * The proxy's packets: source := the original destination. A proxy on this host sends them
 * from its own socket and they never cross an ingress hook: veer_lb_egress, at tc egress,
 * rewrites them on their way out (proxy_egress). A proxy on another host sends them through
 * veer, whose ingress rewrites them (proxy_reply) and forwards them over the connection's next
 * hop toward the client, as the load balancer does a backend's reply.
 *
 * Cost for other traffic: a UDP packet pays one test, a TCP packet one array read (the gate,
 * two bitmaps by port) and two bit tests; only a packet whose destination port has rules, or
 * whose source port is a proxy's, looks at the connection table, and only a SYN that finds no
 * connection of its own looks at the rules (one longest-prefix match).
 */
#ifndef VEER_BPF_PROXY_H
#define VEER_BPF_PROXY_H

#include "conntrack.h"
#include "nat.h"
#include "stats.h"
#include "hygiene.h"
#include "events.h"

static __always_inline bool proxy_gate_bit(const __u64 *bits, __be16 port)
{
	__u16 n = bpf_ntohs(port);

	return (bits[n >> 6] >> (n & 63)) & 1;
}

/* The gate (veer_proxy_gate[0]); NULL only if the map were missing. */
static __always_inline const struct veer_proxy_gate *proxy_gate(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&veer_proxy_gate, &zero);
}

/* This CPU's scratch space (maps.h); NULL only if the map were missing. */
static __always_inline struct proxy_scratch *proxy_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&veer_proxy_scratch, &zero);
}

/* A connection's entry, keyed (in *k) by its client's address and port. */
static __always_inline struct veer_proxy_conn *proxy_conn_lookup(struct veer_proxy_conn_key *k,
								 const struct packet *p,
								 const union veer_addr *client,
								 __be16 port)
{
	k->client = *client;
	k->port = port;
	k->proto = p->key.proto;
	k->family = p->key.family;
	return bpf_map_lookup_elem(&veer_proxy_conn, k);
}

/* Gone, as a load-balanced connection would be: idle past its timeout (conntrack.h). */
static __always_inline bool proxy_conn_expired(const struct veer_proxy_conn *c, __u64 now)
{
	return flow_expired(&c->flow, IPPROTO_TCP, !(c->flow.flags & VEER_PROXY_ESTABLISHED), now);
}

/* The rule for the packet's client and destination port: one longest-prefix match. */
static __always_inline struct veer_proxy_rule *proxy_rule_find(struct veer_proxy_key *k,
							       const struct packet *p)
{
	k->prefixlen = VEER_PROXY_KEY_BITS + (p->v6 ? 128 : 32);
	k->port = p->key.dport;
	k->family = p->key.family;
	k->pad = 0;
	k->addr = p->key.saddr;
	return bpf_map_lookup_elem(&veer_proxy_rule, k);
}

/*
 * A packet to a VIP may be steered only where a rule without --vip-exempt covers the VIP's port
 * (VEER_SVC_PROXY, kept by libveer): the VIP's other connections pay an array read here, not a
 * table lookup. The slot is always in the array; its absence ends the path short for the
 * verifier.
 */
static __always_inline bool proxy_may_steer(const struct packet *p)
{
	__u32 slot = veer_svc_slot(&p->key.daddr, p->key.dport, p->key.proto);
	__u8 *f = bpf_map_lookup_elem(&veer_svc, &slot);

	return f && (*f & (VEER_SVC_VIP | VEER_SVC_PROXY)) != VEER_SVC_VIP;
}

/* The client's packet's view: to the proxy, over the next hop toward it. */
static __always_inline void proxy_view_forward(const struct veer_proxy_conn *c, struct flow_view *v)
{
	v->addr = c->proxy;
	v->port = c->proxy_port;
	v->hop = c->proxy_hop;
	v->reply = false;
	v->vip_id = VEER_NO_BACKEND;
	v->backend_id = VEER_NO_BACKEND;
}

/*
 * A new connection from a SYN that rule r takes, keyed by s->key and built in s->conn: its
 * entry in the table, where every packet of the connection finds it, the first one included.
 */
static __always_inline struct veer_proxy_conn *proxy_conn_create(const struct packet *p,
								 const struct veer_proxy_rule *r,
								 __u64 now, struct proxy_scratch *s)
{
	struct veer_proxy_conn *c = &s->conn;

	__builtin_memset(c, 0, sizeof(*c));
	c->flow.backend_id = VEER_NO_BACKEND;
	c->flow.last_seen = now;
	c->orig = p->key.daddr;
	c->orig_port = p->key.dport;
	c->proxy = r->addr;
	c->proxy_port = r->port;
	if (bpf_map_update_elem(&veer_proxy_conn, &s->key, c, BPF_ANY))
		return NULL;
	/* Looked up again, not used from the copy: one path on from here, for the verifier too. */
	return bpf_map_lookup_elem(&veer_proxy_conn, &s->key);
}

/*
 * A client's packet to a steered port. Its own connection's packets go to that connection's
 * proxy; a SYN with no connection of its own goes where its rule says. Anything else (a
 * connection that began before the rule, a client outside every rule, a VIP's connection under
 * --vip-exempt) is not the proxy's: -VEER_PASS_NOT_VIP. Fills v.
 */
static __always_inline int proxy_forward(void *ctx, const enum veer_hook hook, struct packet *p,
					 struct proxy_scratch *s, struct flow_view *v, __u64 now)
{
	bool syn = tcp_is_syn(p), same = false;
	struct veer_proxy_rule *r;
	struct veer_proxy_conn *c;
	int rc;

	if (!proxy_may_steer(p))
		return -VEER_PASS_NOT_VIP;
	c = proxy_conn_lookup(&s->key, p, &p->key.saddr, p->key.sport);
	if (c && proxy_conn_expired(c, now))
		c = NULL;
	if (c)
		same = c->orig_port == p->key.dport && addr_equal(&c->orig, &p->key.daddr);
	/* A SYN on a closing connection starts a new one, a SYN sent again keeps its own. */
	if (same && !(syn && (c->flow.flags & VEER_FLOW_CLOSING))) {
		/* Checked before anything is refreshed: bpf/lib/hygiene.h. */
		rc = hygiene_check(p);
		if (rc)
			return rc;
		/* The writes: once per refresh interval, at the handshake's end, at close. */
		if (now - c->flow.last_seen > VEER_FLOW_REFRESH_NS)
			c->flow.last_seen = now;
		if (!syn && !(c->flow.flags & VEER_PROXY_ESTABLISHED))
			c->flow.flags |= VEER_PROXY_ESTABLISHED;
	} else {
		if (!syn)
			return -VEER_PASS_NOT_VIP;
		r = proxy_rule_find(&s->rule_key, p);
		/* The proxy's own connections (a proxy inside the CIDR) are never steered to it. */
		if (!r || addr_equal(&r->addr, &p->key.saddr))
			return -VEER_PASS_NOT_VIP;
		if ((r->flags & VEER_PROXY_VIP_EXEMPT) && vip_lookup(&p->key))
			return -VEER_PASS_NOT_VIP;
		rc = hygiene_check(p);
		if (rc)
			return rc;
		/*
		 * The proxy tells connections apart by their client's address and port only: a
		 * second destination from a port whose connection is established and not closing
		 * is refused, and the first keeps its state. A handshake is replaced (it may be a
		 * spoofed SYN).
		 */
		if (c && (c->flow.flags & (VEER_PROXY_ESTABLISHED | VEER_FLOW_CLOSING)) ==
				 VEER_PROXY_ESTABLISHED)
			return -VEER_DROP_PROXY_CLASH;
		c = proxy_conn_create(p, r, now, s);
		if (!c) {
			event_table_full(ctx, hook, &p->key, VEER_EVENT_TABLE_PROXY,
					 VEER_NO_BACKEND);
			return -VEER_DROP_FLOW_FULL;
		}
	}
	flow_mark_closing(p, &c->flow, now);
	/* The next hop toward the proxy: the connection's own, resolved by its first packet. */
	if (!c->proxy_hop_resolved || now - c->proxy_hop_resolved > VEER_FLOW_REFRESH_NS) {
		hop_resolve(ctx, hook, p, &c->proxy_hop, &p->key.saddr, &c->proxy, p->v6);
		c->proxy_hop_resolved = now;
	}
	proxy_view_forward(c, v);
	return 0;
}

/*
 * A packet from a proxy to a client (destination) of one of its connections: the connection's
 * entry, or NULL. Only the connection's own proxy's packets count.
 */
static __always_inline struct veer_proxy_conn *proxy_reply_find(struct veer_proxy_conn_key *k,
								const struct packet *p, __u64 now)
{
	struct veer_proxy_conn *c = proxy_conn_lookup(k, p, &p->key.daddr, p->key.dport);

	if (!c || c->proxy_port != p->key.sport || !addr_equal(&c->proxy, &p->key.saddr) ||
	    proxy_conn_expired(c, now))
		return NULL;
	return c;
}

/* The proxy's packet's view: from the original destination. */
static __always_inline void proxy_view_reply(const struct veer_proxy_conn *c, struct flow_view *v)
{
	v->addr = c->orig;
	v->port = c->orig_port;
	v->reply = true;
	v->vip_id = VEER_NO_BACKEND;
	v->backend_id = VEER_NO_BACKEND;
}

/*
 * A packet from a proxy on another host, arriving at veer's ingress: rewritten like a backend's
 * reply, over the connection's own next hop toward the client (refreshed as the load balancer
 * refreshes its connections': conntrack.h reply_refresh). Fills v.
 */
static __always_inline int proxy_reply(void *ctx, const enum veer_hook hook, struct packet *p,
				       struct proxy_scratch *s, struct flow_view *v, __u64 now)
{
	struct veer_proxy_conn *c = proxy_reply_find(&s->key, p, now);
	int rc;

	if (!c)
		return -VEER_PASS_NOT_VIP;
	rc = hygiene_check(p);
	if (rc)
		return rc;
	proxy_view_reply(c, v);
	v->hop = c->flow.reply_hop;
	reply_refresh(ctx, hook, p, &c->flow, v, now);
	return 0;
}

/*
 * Whether nat_forward answered the packet (fragmentation-needed, packet-too-big: counted
 * frag_needed) rather than sent it on rewritten, from its verdict r >= 0: at XDP the answer is
 * the only XDP_TX, at tc both are redirects, but only the answer is an ICMP message.
 */
static __always_inline bool proxy_answered(void *ctx, const enum veer_hook hook, int r, bool v6)
{
	void *data = ctx_data(ctx, hook), *end = ctx_data_end(ctx, hook);

	if (hook != HOOK_TC)
		return r == XDP_TX;
	if (v6) {
		struct ipv6hdr *ip6h = data + ETH_HLEN;

		return (void *)(ip6h + 1) <= end && ip6h->nexthdr == IPPROTO_ICMPV6;
	} else {
		struct iphdr *iph = data + ETH_HLEN;

		return (void *)(iph + 1) <= end && iph->protocol == IPPROTO_ICMP;
	}
}

/*
 * Every TCP/UDP packet at ingress comes here first (process() in lb.bpf.c). True when the packet
 * was the proxy's, with its verdict or negated reason in *rc: a client's packet steered to its
 * proxy or a remote proxy's packet back, rewritten and sent on (counted proxy and proxy_reply,
 * whether veer forwards it or hands it to the stack), or refused. False leaves the packet to the
 * load balancer. A flag and not a value of *rc: a redirect's verdict is unknown to the verifier,
 * which would otherwise walk the load balancer's paths after it with the packet rewritten.
 */
static __always_inline bool proxy_process(void *ctx, const enum veer_hook hook, struct packet *p,
					  struct flow_view *v, int *rc)
{
	const struct veer_proxy_gate *g;
	struct proxy_scratch *s;
	__u32 reason;
	bool fwd, back;
	int r = -VEER_PASS_NOT_VIP;
	__u64 now;

	if (p->key.proto != IPPROTO_TCP)
		return false;
	g = proxy_gate();
	if (!g)
		return false;
	fwd = proxy_gate_bit(g->dports, p->key.dport);
	back = proxy_gate_bit(g->proxy_ports, p->key.sport);
	if (likely(!fwd && !back))
		return false;
	s = proxy_scratch();
	if (!s)
		return false;
	now = bpf_ktime_get_coarse_ns();
	/*
	 * To a VIP, only where a rule may take it (VEER_SVC_PROXY: a rule without --vip-exempt
	 * on the VIP's port): the VIP's own connections pay an array read, not a table lookup.
	 */
	if (fwd)
		r = proxy_forward(ctx, hook, p, s, v, now);
	if (r == -VEER_PASS_NOT_VIP && back)
		r = proxy_reply(ctx, hook, p, s, v, now);
	if (r == -VEER_PASS_NOT_VIP)
		return false;
	if (r) {
		*rc = r;
		return true;
	}
	/*
	 * One rewrite for both directions, as the load balancer's; the reason is read after it
	 * from the view, so that the verifier walks the rewrite once for both.
	 */
	r = nat_forward(ctx, hook, p, v);
	reason = v->reply ? VEER_FWD_PROXY_REPLY : VEER_FWD_PROXY;
	if (r == -VEER_PASS_STACK)
		r = -(int)reason;
	else if (r >= 0 && !proxy_answered(ctx, hook, r, p->v6))
		count_reason(reason);
	*rc = r;
	return true;
}

/*
 * tc egress: a proxy on this host answers its clients from its own socket. Its packets are
 * found by their source port in the gate before anything is parsed, so the host's other
 * traffic (and what veer's ingress redirects out of this interface) pays a few loads and one
 * array read. Headers a local sender wrote lie in the skb's linear part; a packet whose do not
 * is not looked at further.
 */
static __always_inline bool proxy_egress_gated(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	const struct veer_proxy_gate *g;
	struct ethhdr *eth = data;
	__be16 *ports;

	if ((void *)(eth + 1) > end)
		return false;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > end || iph->protocol != IPPROTO_TCP)
			return false;
		ports = (void *)iph + iph->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = (void *)(eth + 1);

		if ((void *)(ip6h + 1) > end || ip6h->nexthdr != IPPROTO_TCP)
			return false;
		ports = (void *)(ip6h + 1);
	} else {
		return false;
	}
	if ((void *)(ports + 1) > end)
		return false;
	g = proxy_gate();
	return g && unlikely(proxy_gate_bit(g->proxy_ports, ports[0]));
}

/*
 * A packet of a proxy on this host to a client of one of its connections: source := the
 * original destination, by nat.h's rewrite with no next hop (the stack has routed it already:
 * MACs, TTL and MTU are as the stack made them). Everything else leaves untouched, and nothing
 * here drops a packet. Counted proxy_reply.
 */
static __always_inline int proxy_egress(struct __sk_buff *skb)
{
	struct veer_proxy_conn_key k = {};
	struct flow_view v = {};
	struct packet p = {};
	struct veer_proxy_conn *c;
	__u64 now;

	if (!proxy_egress_gated(skb))
		return TC_ACT_OK;
	if (parse_packet(skb, HOOK_TC, &p) || p.key.proto != IPPROTO_TCP)
		return TC_ACT_OK;
	now = bpf_ktime_get_coarse_ns();
	c = proxy_reply_find(&k, &p, now);
	if (!c)
		return TC_ACT_OK;
	if (now - c->flow.last_seen > VEER_FLOW_REFRESH_NS)
		c->flow.last_seen = now;
	flow_mark_closing(&p, &c->flow, now);
	proxy_view_reply(c, &v);
	if (nat_forward(skb, HOOK_TC, &p, &v) == -VEER_PASS_STACK)
		count_reason(VEER_FWD_PROXY_REPLY);
	return TC_ACT_OK;
}

#endif
