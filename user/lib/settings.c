// SPDX-License-Identifier: GPL-2.0
/*
 * Settings the data plane reads at run time (veer_settings): the idle timeouts per protocol. A
 * field left 0 means the data plane's default, so a map created by any veer works unset.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "internal.h"

/*
 * Flows refresh their idle clock every VEER_FLOW_REFRESH_NS (5 s), not per packet: a timeout
 * must be well above that, or a flow in steady use could look idle.
 */
#define TIMEOUT_MIN_MS 10000U
#define TIMEOUT_MAX_MS (7U * 24 * 3600 * 1000)

static const struct setting {
	const char *name;
	size_t off;
	__u64 def_ns;
} settings[] = {
	{"tcp-timeout", offsetof(struct veer_settings, tcp_timeout_ns), VEER_TCP_TIMEOUT_NS},
	{"udp-timeout", offsetof(struct veer_settings, udp_timeout_ns), VEER_UDP_TIMEOUT_NS},
};

int veer_settings_get(struct veer *v, struct veer_settings *s)
{
	__u32 zero = 0;

	return bpf_map__lookup_elem(v->skel->maps.veer_settings, &zero, sizeof(zero), s, sizeof(*s),
				    0);
}

int veer_settings_set(struct veer *v, const struct veer_settings *s)
{
	__u32 zero = 0;

	return bpf_map__update_elem(v->skel->maps.veer_settings, &zero, sizeof(zero), s, sizeof(*s),
				    BPF_ANY);
}

int veer_setting_parse(struct veer_settings *s, const char *name, const char *value)
{
	__u32 ms;

	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		if (strcmp(name, settings[i].name))
			continue;
		if (veer_parse_duration(value, &ms))
			return -EINVAL;
		if (ms < TIMEOUT_MIN_MS || ms > TIMEOUT_MAX_MS)
			return -ERANGE;
		*(__u64 *)((char *)s + settings[i].off) = ms * 1000000ULL;
		return 0;
	}
	return -ENOENT;
}

bool veer_flow_expired(const struct veer_settings *s, const struct veer_flow_info *fi, __u64 now)
{
	__u64 idle = now - fi->flow.last_seen, limit;

	/* The data plane's rule (bpf/lib/conntrack.h, flow_expired), slack included. */
	if (fi->flow.flags & VEER_FLOW_CLOSING)
		limit = VEER_TCP_CLOSE_TIMEOUT_NS;
	else if (fi->handshake)
		limit = VEER_TCP_SYN_TIMEOUT_NS;
	else if (fi->key.proto == IPPROTO_TCP)
		limit = s->tcp_timeout_ns ? s->tcp_timeout_ns : VEER_TCP_TIMEOUT_NS;
	else
		limit = s->udp_timeout_ns ? s->udp_timeout_ns : VEER_UDP_TIMEOUT_NS;
	return now > fi->flow.last_seen && idle > limit + VEER_FLOW_REFRESH_NS;
}

int veer_setting_at(const struct veer_settings *s, size_t i, const char **name, __u64 *ns)
{
	__u64 set;

	if (i >= sizeof(settings) / sizeof(settings[0]))
		return -ENOENT;
	set = *(const __u64 *)((const char *)s + settings[i].off);
	*name = settings[i].name;
	*ns = set ? set : settings[i].def_ns;
	return 0;
}
