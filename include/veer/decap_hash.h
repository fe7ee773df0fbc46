/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * veer_decap_vips' slots (see struct veer_decap_vip in abi.h): a VIP's home slot comes from
 * the load balancer's service hash (svc_hash.h), its top VEER_DECAP_BITS bits, and the VIP
 * sits in one of the VEER_DECAP_PROBES slots from there on (wrapping). With at most
 * VEER_DECAP_VIPS_MAX VIPs in the table (1/16 of it), a window with no free slot is rare
 * enough that libveer refuses such a VIP rather than move others. libveer writes the slots;
 * BPF reads them; both hash alike.
 */
#ifndef VEER_DECAP_HASH_H
#define VEER_DECAP_HASH_H

#include <veer/svc_hash.h>

#define VEER_DECAP_BITS	  14
#define VEER_DECAP_SLOTS  (1u << VEER_DECAP_BITS)
#define VEER_DECAP_PROBES 4

static inline __u32 veer_decap_slot(const union veer_addr *a, __u8 family)
{
	return veer_svc_slot(a, 0, family) >> (VEER_SVC_BITS - VEER_DECAP_BITS);
}

#endif
