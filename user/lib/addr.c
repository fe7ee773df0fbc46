// SPDX-License-Identifier: GPL-2.0
/* Text forms of addresses, endpoints and VIPs, parsed strictly: no trailing junk, no guessing. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "veer.h"

int veer_parse_addr(const char *s, union veer_addr *addr, __u8 *family)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, s, &addr->v4) == 1) {
		*family = VEER_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr->bytes) == 1) {
		*family = VEER_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

int veer_parse_u32(const char *s, __u32 min, __u32 max, __u32 *out)
{
	unsigned long long v;
	char *end;

	/* Digits only: no sign or space strtoull would skip, no leading zero to read as octal. */
	if (!s || *s < '0' || *s > '9' || (s[0] == '0' && s[1]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "1500ms", "2s", "1m", or a bare number of seconds. */
int veer_parse_duration(const char *s, __u32 *ms)
{
	unsigned long long v, scale = 1000;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (!strcmp(end, "ms"))
		scale = 1;
	else if (!strcmp(end, "s") || !*end)
		scale = 1000;
	else if (!strcmp(end, "m"))
		scale = 60000;
	else if (!strcmp(end, "h"))
		scale = 3600000;
	else if (!strcmp(end, "d"))
		scale = 86400000;
	else
		return -EINVAL;
	if (v > UINT_MAX / scale)
		return -EINVAL;
	*ms = v * scale;
	return 0;
}

static __u32 family_bits(__u8 family)
{
	return family == VEER_AF_INET ? 32 : 128;
}

bool veer_cidr_mask(union veer_addr *a, __u8 len, __u8 family)
{
	bool host = false;

	for (__u32 bit = len; bit < family_bits(family); bit++) {
		__u8 m = 0x80 >> (bit % 8);

		host |= a->bytes[bit / 8] & m;
		a->bytes[bit / 8] &= ~m;
	}
	return host;
}

int veer_parse_cidr(const char *s, struct veer_cidr *c)
{
	char buf[VEER_ADDR_STRLEN];
	char *slash;
	__u32 len;

	memset(c, 0, sizeof(*c));
	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash++ = '\0';
	if (veer_parse_addr(buf, &c->addr, &c->family) ||
	    veer_parse_u32(slash, 0, family_bits(c->family), &len))
		return -EINVAL;
	c->len = len;
	/* Host bits set: the prefix is not what it says (ip route refuses it likewise). */
	return veer_cidr_mask(&c->addr, c->len, c->family) ? -ERANGE : 0;
}

char *veer_fmt_cidr(const struct veer_cidr *c, char *buf, size_t len)
{
	char a[VEER_ADDR_STRLEN];

	snprintf(buf, len, "%s/%u", veer_fmt_addr(&c->addr, c->family, a, sizeof(a)), c->len);
	return buf;
}

static int parse_port(const char *s, __be16 *port)
{
	__u32 v;

	if (veer_parse_u32(s, 1, 65535, &v))
		return -EINVAL;
	*port = htons(v);
	return 0;
}

/* Unspecified, broadcast and multicast addresses can be no one's VIP or backend. */
static bool addr_is_unicast(const union veer_addr *a, __u8 family)
{
	static const union veer_addr any;

	if (family == VEER_AF_INET) {
		__u32 h = ntohl(a->v4);

		return h && h != 0xffffffffu && (h >> 28) != 0xe;
	}
	return memcmp(a, &any, sizeof(any)) && a->bytes[0] != 0xff;
}

int veer_parse_endpoint(const char *s, struct veer_endpoint *ep, bool port_required)
{
	char buf[VEER_ADDR_STRLEN];
	const char *host = buf, *port = NULL;
	char *p;

	memset(ep, 0, sizeof(*ep));
	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	if (buf[0] == '[') {
		p = strchr(buf, ']');
		if (!p || (p[1] && p[1] != ':'))
			return -EINVAL;
		*p = '\0';
		host = buf + 1;
		if (p[1] == ':')
			port = p + 2;
		if (veer_parse_addr(host, &ep->addr, &ep->family) || ep->family != VEER_AF_INET6)
			return -EINVAL;
	} else {
		/* A bare IPv6 address has several colons; IPv4 with a port has exactly one. */
		p = strchr(buf, ':');
		if (p && !strchr(p + 1, ':')) {
			*p = '\0';
			port = p + 1;
		}
		if (veer_parse_addr(host, &ep->addr, &ep->family))
			return -EINVAL;
	}
	if (port && parse_port(port, &ep->port))
		return -EINVAL;
	if (!addr_is_unicast(&ep->addr, ep->family))
		return -EINVAL;
	if (port_required && !port)
		return -EINVAL;
	return 0;
}

int veer_parse_vip(const char *s, struct veer_vip_key *key)
{
	char buf[VEER_ADDR_STRLEN];
	struct veer_endpoint ep;
	char *slash;

	memset(key, 0, sizeof(*key));
	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strrchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash++ = '\0';
	if (!strcmp(slash, "tcp"))
		key->proto = IPPROTO_TCP;
	else if (!strcmp(slash, "udp"))
		key->proto = IPPROTO_UDP;
	else
		return -EINVAL;
	if (veer_parse_endpoint(buf, &ep, true) || !addr_is_unicast(&ep.addr, ep.family))
		return -EINVAL;
	key->addr = ep.addr;
	key->port = ep.port;
	key->family = ep.family;
	return 0;
}

const char *veer_proto_name(__u8 proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "?";
}

char *veer_fmt_addr(const union veer_addr *addr, __u8 family, char *buf, size_t len)
{
	if (!inet_ntop(family == VEER_AF_INET6 ? AF_INET6 : AF_INET, addr->bytes, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

char *veer_fmt_endpoint(const union veer_addr *addr, __be16 port, __u8 family, char *buf,
			size_t len)
{
	char a[INET6_ADDRSTRLEN];

	veer_fmt_addr(addr, family, a, sizeof(a));
	if (family == VEER_AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, ntohs(port));
	else
		snprintf(buf, len, "%s:%u", a, ntohs(port));
	return buf;
}

char *veer_fmt_vip(const struct veer_vip_key *key, char *buf, size_t len)
{
	char ep[VEER_ADDR_STRLEN];

	snprintf(buf, len, "%s/%s", veer_fmt_endpoint(&key->addr, key->port, key->family, ep,
						      sizeof(ep)),
		 veer_proto_name(key->proto));
	return buf;
}

static const char *const mode_names[] = {
	[VEER_MODE_NAT] = "nat",
	[VEER_MODE_DSR_IPIP] = "dsr-ipip",
	[VEER_MODE_DSR_L2] = "dsr-l2",
};

const char *veer_mode_name(__u8 mode)
{
	return mode < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[mode] : "?";
}

int veer_parse_mode(const char *s, __u8 *mode)
{
	for (__u8 i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (!strcmp(s, mode_names[i])) {
			*mode = i;
			return 0;
		}
	}
	return -EINVAL;
}
