// SPDX-License-Identifier: GPL-2.0
/*
 * veer's hot-key cache. Three programs share the maps in lib/cache_maps.h:
 *
 *   sockops  (cgroup)           a client socket of the cgroup connects to a cached port: give it
 *                               stream state and put it in veer_cache_socks;
 *   sk_msg   (veer_cache_socks) each message the client sends: tokenize it, invalidate the keys
 *                               that writes name, and answer a lone GET of a current key by
 *                               turning the message into the reply and redirecting it to the
 *                               socket's own receive queue;
 *   sk_skb   (veer_cache_socks) each segment the server sends back: count complete replies.
 *
 * A hit is served only when every request passed earlier has been answered, so a cached
 * reply never overtakes one the server still owes (see docs/CACHE.md).
 */
#include "lib/resp.h"
#include "lib/memcache.h"
#include "lib/cache_serve.h"

#define AF_INET	  2
#define AF_INET6  10
#define TCP_CLOSE 7
/* The largest message the tokenizer reads; a larger one stops caching on its connection. */
#define RQ_MAX_BYTES (1u << 20)

char LICENSE[] SEC("license") = "GPL";

/* The initial state of a connection: too large for the stack, so inserted from here. */
static const struct veer_cache_conn conn_init;

/*
 * Every context type gives the 4-tuple the same way: addresses in network order, the local
 * port in host order and the remote port in network order in the upper half of a u32.
 */
#define SOCK_KEY(k, ctx)                                                                           \
	do {                                                                                       \
		__builtin_memset(&(k), 0, sizeof(k));                                              \
		(k).family = (ctx)->family;                                                        \
		(k).local_port = (ctx)->local_port;                                                \
		(k).remote_port = bpf_ntohl((ctx)->remote_port);                                   \
		if ((ctx)->family == AF_INET) {                                                    \
			(k).local[0] = (ctx)->local_ip4;                                           \
			(k).remote[0] = (ctx)->remote_ip4;                                         \
		} else {                                                                           \
			(k).local[0] = (ctx)->local_ip6[0];                                        \
			(k).local[1] = (ctx)->local_ip6[1];                                        \
			(k).local[2] = (ctx)->local_ip6[2];                                        \
			(k).local[3] = (ctx)->local_ip6[3];                                        \
			(k).remote[0] = (ctx)->remote_ip6[0];                                      \
			(k).remote[1] = (ctx)->remote_ip6[1];                                      \
			(k).remote[2] = (ctx)->remote_ip6[2];                                      \
			(k).remote[3] = (ctx)->remote_ip6[3];                                      \
		}                                                                                  \
	} while (0)

SEC("sockops")
int veer_cache_sockops(struct bpf_sock_ops *skops)
{
	struct veer_cache_sock_key key;
	struct veer_cache_port *port;
	struct veer_cache_conn *conn;
	__u32 rport;

	if (skops->family != AF_INET && skops->family != AF_INET6)
		return 1;
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		rport = bpf_ntohl(skops->remote_port);
		port = bpf_map_lookup_elem(&veer_cache_ports, &rport);
		if (!port)
			return 1;
		SOCK_KEY(key, skops);
		if (bpf_map_update_elem(&veer_cache_conns, &key, &conn_init, BPF_ANY)) {
			cache_count(VEER_CACHE_OFF_NO_STATE);
			return 1;
		}
		conn = bpf_map_lookup_elem(&veer_cache_conns, &key);
		if (!conn)
			return 1;
		conn->proto = port->proto;
		if (bpf_sock_hash_update(skops, &veer_cache_socks, &key, BPF_ANY)) {
			bpf_map_delete_elem(&veer_cache_conns, &key);
			cache_count(VEER_CACHE_OFF_NO_STATE);
			return 1;
		}
		bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_STATE_CB_FLAG);
		return 1;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] == TCP_CLOSE) {
			SOCK_KEY(key, skops);
			bpf_map_delete_elem(&veer_cache_conns, &key);
		}
		return 1;
	}
	return 1;
}

static __always_inline int pass(__u32 stat)
{
	cache_count(stat);
	return SK_PASS;
}

/*
 * One callback per bpf_loop call site, dispatching on the protocol inside: the verifier
 * inlines bpf_loop only when a call site always has the same callback, and an inlined loop
 * makes a direct call per iteration instead of an indirect one through a retpoline.
 */
static long rq_step(__u32 i, void *arg)
{
	struct rq_ctx *x = arg;
	struct veer_cache_conn *s = x->s;
	struct veer_cache_rq_cur *c = &s->rq_cur;

	if (c->off || !rq_refill(x->msg, c))
		return 1;
	if (s->proto == VEER_CACHE_REDIS)
		return resp_rq_step(x->msg, s, c);
	return mc_rq_step(x->msg, s, c);
}

static long rp_step(__u32 i, void *arg)
{
	struct rp_ctx *x = arg;
	struct veer_cache_conn *s = x->s;
	struct veer_cache_rp_cur *c = &s->rp_cur;

	if (c->off)
		return 1;
	if (s->proto == VEER_CACHE_REDIS)
		return resp_rp_step(x->skb, s, c);
	return mc_rp_step(x->skb, s, c);
}

/* Tokenizes the whole message; false when caching had to be switched off. */
static __always_inline bool tokenize(struct sk_msg_md *msg, struct veer_cache_conn *s, __u32 size)
{
	struct veer_cache_rq_cur *c = &s->rq_cur;
	struct rq_ctx x = {.msg = msg, .s = s};
	__u32 len = msg->data_end - msg->data;

	__builtin_memset(c, 0, sizeof(*c));
	c->proto = s->proto;
	c->size = size;
	if (len > RQ_WINDOW)
		len = RQ_WINDOW;
	if (len > size)
		len = size;
	c->end = len;
	if (size > RQ_MAX_BYTES) {
		c->off = VEER_CACHE_OFF_TOO_BIG;
		return false;
	}
	/* One iteration per byte at most, plus one per window for the refill. */
	bpf_loop(size + size / RQ_WINDOW + 2, rq_step, &x, 0);
	if (!c->off && c->base + c->pos < size)
		c->off = VEER_CACHE_OFF_PROTOCOL; /* the loop ended early: should not happen */
	return !c->off;
}

SEC("sk_msg")
int veer_cache_msg(struct sk_msg_md *msg)
{
	struct veer_cache_sock_key key;
	struct veer_cache_hkey hk = {};
	struct veer_cache_entry *e = NULL;
	struct veer_cache_rq_cur *c;
	struct veer_cache_conn *s;
	__u32 size = msg->size;
	enum cache_lookup found;
	bool boundary, idle, whole;

	SOCK_KEY(key, msg);
	s = bpf_map_lookup_elem(&veer_cache_conns, &key);
	if (!s)
		return pass(VEER_CACHE_PASS_OFF);
	if (s->blind) {
		/* Any message may hold a write of any key. */
		cache_bump_epoch();
		return pass(VEER_CACHE_BLIND);
	}
	c = &s->rq_cur;
	boundary = s->rq_state == 0;
	idle = s->sent == s->replies;
	whole = msg->data_end - msg->data >= size && size <= RQ_WINDOW;
	if (!tokenize(msg, s, size)) {
		/*
		 * The keys of this message's writes, and of every later one, are unknown, and so
		 * are the replies that acknowledge them: every reply bumps the epoch from now on.
		 */
		s->blind = 1;
		s->ack_all = 1;
		if (!s->off)
			s->off = c->off;
		cache_bump_epoch();
		return pass(c->off);
	}
	s->sent += c->done;
	if (c->nohit && !s->off) {
		s->off = c->nohit;
		cache_count(c->nohit);
	}
	/* Entries are database 0's: another database is not served, but may be left again. */
	if (s->off || s->db_other)
		return pass(VEER_CACHE_PASS_OFF);
	/* Inside MULTI a GET is queued, not answered: the server must see it. */
	if (!(boundary && whole && !s->multi && c->cmds == 1 && c->first_end == size &&
	      c->first_class == VEER_CMD_GET && c->first_argc == 2))
		return pass(c->first_class == VEER_CMD_GET && c->cmds && !s->multi
				    ? VEER_CACHE_PASS_BATCH
				    : VEER_CACHE_PASS_OTHER);

	/* A lone GET. The tokenizer left the message's only window in place. */
	hk.hash = c->key_hash;
	hk.len = c->key_len;
	hk.proto = c->proto;
	if (c->key_len == 0 || c->key_len > VEER_CACHE_KEY_MAX)
		return pass(VEER_CACHE_PASS_OTHER);
	found = cache_find(&hk, msg, c->key_off, &e);
	if (found != CACHE_CURRENT || !e) {
		cache_count_miss(s, &hk, msg, c->key_off);
		return pass(VEER_CACHE_MISS);
	}
	if (!idle)
		return pass(VEER_CACHE_PASS_OWED);
	if (!cache_rewrite(msg, e, size)) {
		/* The message may be half rewritten: never let it reach the server. */
		s->off = VEER_CACHE_OFF_PROTOCOL;
		cache_count(VEER_CACHE_OFF_PROTOCOL);
		return SK_DROP;
	}
	s->sent -= 1; /* answered here: the server will not see it */
	cache_hot_hit(e);
	cache_count(VEER_CACHE_HIT);
	return bpf_msg_redirect_hash(msg, &veer_cache_socks, &key, BPF_F_INGRESS);
}

SEC("sk_skb")
int veer_cache_verdict(struct __sk_buff *skb)
{
	struct veer_cache_sock_key key;
	struct veer_cache_rp_cur *c;
	struct veer_cache_conn *s;
	struct rp_ctx x = {.skb = skb};

	SOCK_KEY(key, skb);
	s = bpf_map_lookup_elem(&veer_cache_conns, &key);
	if (!s)
		return SK_PASS;
	if (s->rp_lost || s->blind) {
		/*
		 * Its writes can no longer be matched to their replies: any reply may acknowledge
		 * one, so each makes every entry filled before it stale (a fill may have read the
		 * value while the write was on its way).
		 */
		if (s->ack_all)
			cache_bump_epoch();
		return SK_PASS;
	}
	x.s = s;
	c = &s->rp_cur;
	c->pos = 0;
	c->len = skb->len;
	c->buf_off = 0;
	c->buf_len = 0;
	c->off = 0;
	bpf_loop(skb->len + 1, rp_step, &x, 0);
	if (c->off) {
		/*
		 * Replies can no longer be told apart (or the server refused the stream): serve
		 * nothing more on this connection; its writes are acknowledged by epoch bumps.
		 */
		rp_count_lost(s);
		if (!s->off)
			s->off = c->off;
		cache_count(c->off);
	}
	return SK_PASS;
}
