// SPDX-License-Identifier: GPL-2.0
/*
 * Settings the data plane reads at run time (veer_settings): the idle timeouts per protocol, the
 * prefixes dsr-ipip takes its outer sources from, and what the event stream reports. A field left 0
 * means the data plane's default, so a map created by any veer works unset.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "internal.h"

/*
 * Flows refresh their idle clock every VEER_FLOW_REFRESH_NS (5 s), not per packet: a timeout
 * must be well above that, or a flow in steady use could look idle.
 */
#define TIMEOUT_MIN_MS 10000U
#define TIMEOUT_MAX_MS (7U * 24 * 3600 * 1000)

enum setting_kind {
	SETTING_DURATION,
	SETTING_PREFIX, /* an encapsulation source prefix of family */
	SETTING_SAMPLE, /* a __u32 N of "1/N", 0 = off */
	SETTING_COUNT,	/* a __u32, 0 = off */
};

/* Sampling one flow in a billion is as good as none; a larger N would only hide a typo. */
#define SAMPLE_MAX 1000000000U
#define COUNT_MAX  1000000000U

static const struct setting {
	const char *name;
	enum setting_kind kind;
	size_t off;	/* the __u64 of a duration, the union veer_addr of a prefix */
	size_t len_off; /* the prefix's length byte */
	__u8 family;
	__u64 def_ns;
	const char *want; /* what a value must be, for messages */
} settings[] = {
	{"tcp-timeout", SETTING_DURATION, offsetof(struct veer_settings, tcp_timeout_ns), 0, 0,
	 VEER_TCP_TIMEOUT_NS, "a duration from 10s to 7 days (300, 300s, 5m, 2h, 7d)"},
	{"udp-timeout", SETTING_DURATION, offsetof(struct veer_settings, udp_timeout_ns), 0, 0,
	 VEER_UDP_TIMEOUT_NS, "a duration from 10s to 7 days (300, 300s, 5m, 2h, 7d)"},
	{"encap-source4", SETTING_PREFIX, offsetof(struct veer_settings, encap_src4),
	 offsetof(struct veer_settings, encap_src4_len), VEER_AF_INET, 0,
	 "an IPv4 prefix with its host bits zero, /8 to /32, not loopback, multicast or "
	 "link-local, that no host sends from (172.16.0.0/16)"},
	{"encap-source6", SETTING_PREFIX, offsetof(struct veer_settings, encap_src6),
	 offsetof(struct veer_settings, encap_src6_len), VEER_AF_INET6, 0,
	 "an IPv6 prefix with its host bits zero, /16 to /128, not loopback, multicast or "
	 "link-local, that no host sends from (100::/64)"},
	{"event-sample", SETTING_SAMPLE, offsetof(struct veer_settings, event_sample), 0, 0, 0,
	 "off, or 1/N to report one new flow in N (1/1 every one, 1/100 one in a hundred; N up "
	 "to 1000000000)"},
	{"event-drop-burst", SETTING_COUNT, offsetof(struct veer_settings, event_drop_burst), 0, 0,
	 0, "off, or N from 1 to 1000000000: report a drop reason counted N times within a second"},
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static const struct setting *setting_find(const char *name)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (!strcmp(name, settings[i].name))
			return &settings[i];
	return NULL;
}

const char *veer_setting_names(void)
{
	return "tcp-timeout, udp-timeout, encap-source4, encap-source6, event-sample, "
	       "event-drop-burst";
}

const char *veer_setting_want(const char *name)
{
	const struct setting *st = setting_find(name);

	return st ? st->want : NULL;
}

int veer_settings_get(struct veer *v, struct veer_settings *s)
{
	__u32 zero = 0;

	return bpf_map__lookup_elem(v->skel->maps.veer_settings, &zero, sizeof(zero), s, sizeof(*s),
				    0);
}

int veer_settings_set(struct veer *v, const struct veer_settings *s)
{
	__u32 zero = 0;

	return veer_map_update(v->skel->maps.veer_settings, &zero, sizeof(zero), s, sizeof(*s),
			       BPF_ANY);
}

/*
 * Sources no router forwards: the data plane's martians (bpf/lib/hygiene.h: this network,
 * loopback, multicast and reserved, IPv4-mapped) and link-local. A packet from one is dropped
 * by the backend's stack (or a router on the way) before any tunnel sees it.
 */
static const char *const unroutable[] = {
	"0.0.0.0/8", "127.0.0.0/8",   "169.254.0.0/16", "224.0.0.0/3",
	"::1/128",   "::ffff:0:0/96", "fe80::/10",	"ff00::/8",
};

/*
 * Every address of the prefix may be a flow's source (its host bits come from a hash), so the
 * prefix must not overlap an unroutable one anywhere: two prefixes overlap when they agree on
 * the bits of the shorter.
 */
static bool prefix_unroutable(const struct veer_cidr *c)
{
	for (size_t i = 0; i < sizeof(unroutable) / sizeof(unroutable[0]); i++) {
		union veer_addr a = c->addr;
		struct veer_cidr u;
		__u8 len;

		if (veer_parse_cidr(unroutable[i], &u) || u.family != c->family)
			continue;
		len = u.len < c->len ? u.len : c->len;
		veer_cidr_mask(&a, len, c->family);
		veer_cidr_mask(&u.addr, len, u.family);
		if (!memcmp(&a, &u.addr, sizeof(a)))
			return true;
	}
	return false;
}

/*
 * An outer source prefix: not all zero (which means "unset"), and no address of it a source
 * no router forwards, so that the backends take the packets. At least /8 (/16) leaves the
 * hash's 32 host bits a prefix to sit in.
 */
static int prefix_parse(const struct setting *st, const char *value, union veer_addr *addr,
			__u8 *len)
{
	static const union veer_addr zero;
	struct veer_cidr c;

	if (veer_parse_cidr(value, &c) || c.family != st->family ||
	    !memcmp(&c.addr, &zero, sizeof(zero)))
		return -EINVAL;
	if (c.len < (c.family == VEER_AF_INET ? 8 : 16) || prefix_unroutable(&c))
		return -ERANGE;
	*addr = c.addr;
	*len = c.len;
	return 0;
}

/* "off" (or 0), else "1/N" for a sample and N for a count. */
static int number_parse(const struct setting *st, const char *value, __u32 *out)
{
	if (!strcmp(value, "off") || !strcmp(value, "0")) {
		*out = 0;
		return 0;
	}
	if (st->kind == SETTING_SAMPLE) {
		if (strncmp(value, "1/", 2))
			return -EINVAL;
		value += 2;
	}
	if (veer_parse_u32(value, 0, UINT32_MAX, out))
		return -EINVAL;
	return *out >= 1 && *out <= (st->kind == SETTING_SAMPLE ? SAMPLE_MAX : COUNT_MAX) ? 0
											  : -ERANGE;
}

int veer_setting_parse(struct veer_settings *s, const char *name, const char *value)
{
	const struct setting *st = setting_find(name);
	union veer_addr addr;
	__u32 ms, n;
	__u8 len;
	int err;

	if (!st)
		return -ENOENT;
	if (st->kind == SETTING_SAMPLE || st->kind == SETTING_COUNT) {
		err = number_parse(st, value, &n);
		if (!err)
			*(__u32 *)((char *)s + st->off) = n;
		return err;
	}
	if (st->kind == SETTING_PREFIX) {
		err = prefix_parse(st, value, &addr, &len);
		if (err)
			return err;
		memcpy((char *)s + st->off, &addr, sizeof(addr));
		*((__u8 *)s + st->len_off) = len;
		return 0;
	}
	if (veer_parse_duration(value, &ms))
		return -EINVAL;
	if (ms < TIMEOUT_MIN_MS || ms > TIMEOUT_MAX_MS)
		return -ERANGE;
	*(__u64 *)((char *)s + st->off) = ms * 1000000ULL;
	return 0;
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

int veer_setting_at(const struct veer_settings *s, size_t i, struct veer_setting_value *out)
{
	static const union veer_addr zero;
	const struct setting *st;
	union veer_addr addr = {};
	char buf[VEER_ADDR_STRLEN];
	__u8 len;

	if (i >= NSETTINGS)
		return -ENOENT;
	st = &settings[i];
	memset(out, 0, sizeof(*out));
	out->name = st->name;
	if (st->kind == SETTING_SAMPLE || st->kind == SETTING_COUNT) {
		__u32 n = *(const __u32 *)((const char *)s + st->off);

		out->number = st->kind == SETTING_COUNT;
		out->value = n;
		if (!n)
			snprintf(out->text, sizeof(out->text), "off");
		else
			snprintf(out->text, sizeof(out->text), "%s%u",
				 st->kind == SETTING_SAMPLE ? "1/" : "", n);
		return 0;
	}
	if (st->kind == SETTING_DURATION) {
		out->ns = *(const __u64 *)((const char *)s + st->off);
		if (!out->ns)
			out->ns = st->def_ns;
		out->duration = true;
		snprintf(out->text, sizeof(out->text), "%llus",
			 (unsigned long long)(out->ns / 1000000000ULL));
		return 0;
	}
	/* The data plane's defaults (bpf/lib/encap.h) when the prefix is unset. */
	memcpy(&addr, (const char *)s + st->off, sizeof(addr));
	len = *((const __u8 *)s + st->len_off);
	if (!memcmp(&addr, &zero, sizeof(zero))) {
		if (st->family == VEER_AF_INET) {
			addr.v4 = htonl(VEER_ENCAP_SRC4_DEFAULT);
			len = VEER_ENCAP_SRC4_LEN_DEFAULT;
		} else {
			addr.v6[0] = htonl(VEER_ENCAP_SRC6_DEFAULT);
			len = VEER_ENCAP_SRC6_LEN_DEFAULT;
		}
	}
	snprintf(out->text, sizeof(out->text), "%s/%u",
		 veer_fmt_addr(&addr, st->family, buf, sizeof(buf)), len);
	return 0;
}
