/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One data plane, two hooks. The load balancer's logic is written once over a `void *ctx` and a
 * `const enum veer_hook hook`; each entry point passes its hook as a literal, and since every
 * function is always inlined, clang folds the hook tests away: the XDP program never contains
 * an __sk_buff access and the tc program never an xdp_md one.
 *
 * Why two hooks: an XDP frame has lost the skb's checksum state. A packet sent by a local
 * socket over a veth (every container) carries a partial checksum that only its skb knows, and
 * redirected as an XDP frame it reaches its receiver with a bad checksum. At the tc hook the
 * skb keeps that state; the checksum helpers below update it correctly.
 */
#ifndef VEER_BPF_CTX_H
#define VEER_BPF_CTX_H

#include "common.h"
#include <linux/pkt_cls.h>
#include <bpf/bpf_core_read.h>

enum veer_hook {
	HOOK_XDP,
	HOOK_TC,
};

#define CTX_XDP(ctx) ((struct xdp_md *)(ctx))
#define CTX_SKB(ctx) ((struct __sk_buff *)(ctx))

static __always_inline void *ctx_data(void *ctx, const enum veer_hook hook)
{
	return hook == HOOK_TC ? (void *)(long)CTX_SKB(ctx)->data
			       : (void *)(long)CTX_XDP(ctx)->data;
}

static __always_inline void *ctx_data_end(void *ctx, const enum veer_hook hook)
{
	return hook == HOOK_TC ? (void *)(long)CTX_SKB(ctx)->data_end
			       : (void *)(long)CTX_XDP(ctx)->data_end;
}

/* The whole packet: an skb's data may run past its linear part (data_end). */
static __always_inline __u32 ctx_len(void *ctx, const enum veer_hook hook)
{
	return hook == HOOK_TC ? CTX_SKB(ctx)->len
			       : (__u32)(CTX_XDP(ctx)->data_end - CTX_XDP(ctx)->data);
}

/* The interface the packet arrived on; at tc ingress that is the skb's device. */
static __always_inline __u32 ctx_ifindex(void *ctx, const enum veer_hook hook)
{
	return hook == HOOK_TC ? CTX_SKB(ctx)->ifindex : CTX_XDP(ctx)->ingress_ifindex;
}

/*
 * Makes the first len bytes directly readable (the skb's headers may sit in fragments).
 * Invalidates every packet pointer: call before parsing.
 */
static __always_inline void ctx_pull(void *ctx, const enum veer_hook hook, __u32 len)
{
	void *data, *end;

	if (hook != HOOK_TC)
		return;
	if (len > CTX_SKB(ctx)->len)
		len = CTX_SKB(ctx)->len;
	data = ctx_data(ctx, hook);
	end = ctx_data_end(ctx, hook);
	if (end - data < len)
		bpf_skb_pull_data(ctx, len);
}

/* A VLAN tag the driver or the stack already took off the frame into the skb. */
static __always_inline bool ctx_vlan_accel(void *ctx, const enum veer_hook hook)
{
	return hook == HOOK_TC && CTX_SKB(ctx)->vlan_present;
}

/*
 * The skb's checksum state (include/linux/skbuff.h). Not in struct __sk_buff: read from the
 * kernel's sk_buff, whose layout CO-RE relocates, through bpf_cast_to_kern_ctx (a kfunc the
 * verifier turns into a plain move, Linux 6.3 and later).
 */
enum veer_csum_state {
	VEER_CHECKSUM_NONE = 0,
	VEER_CHECKSUM_UNNECESSARY = 1,
	VEER_CHECKSUM_COMPLETE = 2,
	VEER_CHECKSUM_PARTIAL = 3,
};

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

struct sk_buff___veer {
	__u8 ip_summed : 2;
} __attribute__((preserve_access_index));

static __always_inline enum veer_csum_state ctx_csum_state(void *ctx, const enum veer_hook hook)
{
	struct sk_buff___veer *skb;

	if (hook != HOOK_TC)
		return VEER_CHECKSUM_NONE;
	skb = bpf_cast_to_kern_ctx(ctx);
	return BPF_CORE_READ_BITFIELD(skb, ip_summed);
}

static __always_inline int ctx_pass(const enum veer_hook hook)
{
	return hook == HOOK_TC ? TC_ACT_OK : XDP_PASS;
}

static __always_inline int ctx_drop(const enum veer_hook hook)
{
	return hook == HOOK_TC ? TC_ACT_SHOT : XDP_DROP;
}

#endif
