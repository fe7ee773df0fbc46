// SPDX-License-Identifier: GPL-2.0
/* Declarative apply: stand-ins until the reconcile lands. */
#include <errno.h>
#include "internal.h"

int veer_vip_spec_check(const struct veer_vip_spec *s, char *err, size_t errlen)
{
	(void)s, (void)err, (void)errlen;
	return 0;
}

int veer_vip_apply(struct veer *v, const struct veer_vip_spec *s, __u8 owner,
		   struct veer_apply_result *r)
{
	(void)v, (void)s, (void)owner, (void)r;
	return -ENOSYS;
}

int veer_config_apply(struct veer *v, const struct veer_config *c, __u8 owner,
		      struct veer_apply_result *r)
{
	(void)v, (void)c, (void)owner, (void)r;
	return -ENOSYS;
}

__u64 veer_map_writes(void)
{
	return 0;
}

int veer_ring_digest(struct veer *v, const struct veer_vip *vip, __u64 *digest)
{
	(void)v, (void)vip, (void)digest;
	return -ENOSYS;
}

int veer_backend_set_health(struct veer *v, const struct veer_vip_key *vip,
			    const struct veer_endpoint *ep, bool up, bool reset)
{
	(void)v, (void)vip, (void)ep, (void)up, (void)reset;
	return -ENOSYS;
}
