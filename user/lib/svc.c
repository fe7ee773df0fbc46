// SPDX-License-Identifier: GPL-2.0
/*
 * veer_svc, the data plane's filter in front of veer_vips and veer_be_index
 * (include/veer/svc_hash.h): kept by every change to either table, here and only here.
 */
#include <errno.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include <veer/svc_hash.h>

/* Whether any key of map (VIP or backend keys: address, then port and protocol) hashes to slot. */
static bool slot_used(struct bpf_map *map, __u32 slot, bool vip_keys)
{
	union {
		struct veer_vip_key vip;
		struct veer_be_key be;
	} key, cur;
	size_t ksz = bpf_map__key_size(map);
	void *prev = NULL;

	while (!bpf_map__get_next_key(map, prev, &key, ksz)) {
		if (vip_keys ? veer_svc_slot(&key.vip.addr, key.vip.port, key.vip.proto) == slot
			     : veer_svc_slot(&key.be.addr, key.be.port, key.be.proto) == slot)
			return true;
		cur = key;
		prev = &cur;
	}
	return false;
}

int veer_svc_sync(struct bpf_map *vips, struct bpf_map *index, struct bpf_map *svc,
		  const union veer_addr *addr, __be16 port, __u8 proto, __u8 family)
{
	struct veer_vip_key vk = {.addr = *addr, .port = port, .proto = proto, .family = family};
	struct veer_be_key bk = {.addr = *addr, .port = port, .proto = proto, .family = family};
	struct veer_vip vip;
	struct veer_be_vips bv;
	__u32 slot = veer_svc_slot(addr, port, proto);
	__u8 cur = 0, want = 0, stale;

	if (!bpf_map__lookup_elem(vips, &vk, sizeof(vk), &vip, sizeof(vip), 0))
		want |= VEER_SVC_VIP;
	if (!bpf_map__lookup_elem(index, &bk, sizeof(bk), &bv, sizeof(bv), 0))
		want |= VEER_SVC_BACKEND;
	bpf_map__lookup_elem(svc, &slot, sizeof(slot), &cur, sizeof(cur), 0);
	/* A bit this key no longer justifies may still be another key's of the same slot. */
	stale = cur & ~want;
	if ((stale & VEER_SVC_VIP) && slot_used(vips, slot, true))
		want |= VEER_SVC_VIP;
	if ((stale & VEER_SVC_BACKEND) && slot_used(index, slot, false))
		want |= VEER_SVC_BACKEND;
	want |= cur & ~(VEER_SVC_VIP | VEER_SVC_BACKEND);
	if (want == cur)
		return 0;
	return veer_map_update(svc, &slot, sizeof(slot), &want, sizeof(want), BPF_ANY);
}
