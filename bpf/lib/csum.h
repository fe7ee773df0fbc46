/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Incremental Internet checksum updates (RFC 1624, HC' = ~(~HC + ~m + m')). The one's
 * complement sum does not depend on byte order, so words are used as they lie in the packet.
 * A diff is accumulated in 64 bits over a handful of words and folded once.
 */
#ifndef VEER_BPF_CSUM_H
#define VEER_BPF_CSUM_H

#include "common.h"

static __always_inline __u16 csum_fold64(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

static __always_inline __u64 csum_diff32(__u64 diff, __u32 from, __u32 to)
{
	return diff + (__u32)~from + to;
}

static __always_inline __u64 csum_diff16(__u64 diff, __u16 from, __u16 to)
{
	return diff + (__u16)~from + to;
}

static __always_inline __u64 csum_diff_addr(__u64 diff, const union veer_addr *from,
					    const union veer_addr *to, bool v6)
{
	diff = csum_diff32(diff, from->v6[0], to->v6[0]);
	if (v6) {
		diff = csum_diff32(diff, from->v6[1], to->v6[1]);
		diff = csum_diff32(diff, from->v6[2], to->v6[2]);
		diff = csum_diff32(diff, from->v6[3], to->v6[3]);
	}
	return diff;
}

static __always_inline void csum_apply(__u16 *field, __u64 diff)
{
	*field = ~csum_fold64((__u16)~*field + diff);
}

/*
 * UDP over IPv4 may carry no checksum (0, RFC 768) and keeps none; over IPv6 a checksum is
 * mandatory (RFC 8200 8.1). Either way a computed 0 is sent as 0xffff.
 */
static __always_inline void csum_apply_udp(__u16 *field, __u64 diff, bool v6)
{
	if (!*field && !v6)
		return;
	csum_apply(field, diff);
	if (!*field)
		*field = 0xffff;
}

#endif
