/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VEER_BPF_STATS_H
#define VEER_BPF_STATS_H

#include "maps.h"

/* Per-CPU counters: plain adds, no atomics; userspace sums the CPUs. */
static __always_inline void count_reason(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&veer_reasons, &reason);

	if (n)
		*n += 1;
}

static __always_inline void count_flow(void *map, __u32 idx, __u32 bytes, bool reply, bool new_flow)
{
	struct veer_counters *c = bpf_map_lookup_elem(map, &idx);

	if (!c)
		return;
	if (reply) {
		c->reply_packets++;
		c->reply_bytes += bytes;
	} else {
		c->packets++;
		c->bytes += bytes;
		c->new_flows += new_flow;
	}
}

#endif
