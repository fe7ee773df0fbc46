// SPDX-License-Identifier: GPL-2.0
/*
 * The transparent forward proxy (bpf/lib/proxy.h): its rules (veer_proxy_rule, an LPM trie),
 * the gate the data plane reads before them (veer_proxy_gate, rewritten from the rules by every
 * change), and the proxy's side of it: the original destination of a connection it accepted
 * (veer_proxy_conn), the equivalent of SO_ORIGINAL_DST.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include <veer/svc_hash.h>

/* ---- CIDRs ---- */

static __u8 family_bits(__u8 family)
{
	return family == VEER_AF_INET6 ? 128 : 32;
}

/* Clears the bits of a past its first len; true if any was set. */
/* Whether a (of the CIDR's family) lies in c. */
static bool cidr_has(const struct veer_cidr *c, const union veer_addr *a)
{
	union veer_addr m = *a;

	veer_cidr_mask(&m, c->len, c->family);
	return !memcmp(&m, &c->addr, sizeof(m));
}

/* ---- rules ---- */

/* "198.18.1.0/24 port 80", for messages. */
static const char *rule_name(const struct veer_cidr *from, __be16 dport, char *buf, size_t len)
{
	char cidr[VEER_ADDR_STRLEN];

	snprintf(buf, len, "%s port %u", veer_fmt_cidr(from, cidr, sizeof(cidr)), ntohs(dport));
	return buf;
}

static void rule_key(struct veer_proxy_key *k, const struct veer_cidr *from, __be16 dport)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = VEER_PROXY_KEY_BITS + from->len;
	k->port = dport;
	k->family = from->family;
	k->addr = from->addr;
}

static void rule_info(const struct veer_proxy_key *k, const struct veer_proxy_rule *r,
		      struct veer_proxy_info *out)
{
	memset(out, 0, sizeof(*out));
	out->from.addr = k->addr;
	out->from.family = k->family;
	out->from.len = k->prefixlen - VEER_PROXY_KEY_BITS;
	out->dport = k->port;
	out->to.addr = r->addr;
	out->to.port = r->port;
	out->to.family = k->family;
	out->vip_exempt = r->flags & VEER_PROXY_VIP_EXEMPT;
}

static bool is_loopback(const union veer_addr *a, __u8 family)
{
	static const union veer_addr lo6 = {.bytes = {[15] = 1}};

	if (family == VEER_AF_INET)
		return a->bytes[0] == 127;
	return !memcmp(a, &lo6, sizeof(lo6));
}

int veer_proxy_check(const struct veer_proxy_info *r)
{
	char name[VEER_ADDR_STRLEN + 16], to[VEER_ADDR_STRLEN];

	rule_name(&r->from, r->dport, name, sizeof(name));
	veer_fmt_endpoint(&r->to.addr, r->to.port, r->to.family, to, sizeof(to));
	if (r->to.family != r->from.family) {
		/* The rewrite changes addresses; it cannot turn an IPv4 packet into IPv6. */
		pr_warn("cannot add proxy rule %s: the proxy %s is %s and the clients %s\n", name,
			to, r->to.family == VEER_AF_INET6 ? "IPv6" : "IPv4",
			r->from.family == VEER_AF_INET6 ? "IPv6" : "IPv4");
		return -EINVAL;
	}
	if (is_loopback(&r->to.addr, r->to.family)) {
		/* The stack drops a routed packet addressed to loopback (a martian destination). */
		pr_warn("cannot add proxy rule %s: %s is a loopback address, which packets from "
			"other hosts cannot reach: use an address of the proxy's host\n",
			name, to);
		return -EINVAL;
	}
	if (!r->dport || !r->to.port) {
		pr_warn("cannot add proxy rule %s: a port is 0\n", name);
		return -EINVAL;
	}
	return 0;
}

/*
 * Calls fn for every rule until it returns non-zero (which is returned). The key is exact, so a
 * lookup with it returns the rule itself: a longer prefix cannot match past the key's length.
 */
static int rules_foreach(struct bpf_map *map,
			 int (*fn)(const struct veer_proxy_key *, const struct veer_proxy_rule *,
				   void *),
			 void *arg)
{
	struct veer_proxy_key key, cur, *prev = NULL;
	struct veer_proxy_rule r;
	int rc;

	while (!bpf_map__get_next_key(map, prev, &key, sizeof(key))) {
		if (!bpf_map__lookup_elem(map, &key, sizeof(key), &r, sizeof(r), 0)) {
			rc = fn(&key, &r, arg);
			if (rc)
				return rc;
		}
		cur = key;
		prev = &cur;
	}
	return 0;
}

static void gate_set(__u64 *bits, __be16 port)
{
	__u16 n = ntohs(port);

	bits[n / 64] |= 1ULL << (n % 64);
}

static int gate_add(const struct veer_proxy_key *k, const struct veer_proxy_rule *r, void *arg)
{
	struct veer_proxy_gate *g = arg;

	gate_set(g->dports, k->port);
	gate_set(g->proxy_ports, r->port);
	return 0;
}

/*
 * One update, so a packet sees the old bits or the new. A bit without a rule only sends a packet
 * on to the tables (which find nothing), so the gate may lag the rules either way for the moment
 * of a change.
 */
int veer_proxy_gate_sync(struct bpf_map *rules, struct bpf_map *gate)
{
	struct veer_proxy_gate *g = calloc(1, sizeof(*g));
	__u32 zero = 0;
	int err;

	if (!g)
		return -ENOMEM;
	rules_foreach(rules, gate_add, g);
	err = veer_map_update(gate, &zero, sizeof(zero), g, sizeof(*g), BPF_ANY);
	free(g);
	return err;
}

static int steered_port(const struct veer_proxy_key *k, const struct veer_proxy_rule *r,
			void *arg)
{
	if (!(r->flags & VEER_PROXY_VIP_EXEMPT))
		gate_set(arg, k->port);
	return 0;
}

#define SVC_BATCH 4096

/* veer_svc, all its slots, 4096 a syscall (one each would take 65536). */
static int svc_read(struct bpf_map *svc, __u8 *slots)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 keys[SVC_BATCH], out = 0, done = 0, count;
	__u8 vals[SVC_BATCH];
	void *in = NULL;
	int err = 0;

	while (done < VEER_SVC_SLOTS && !err) {
		count = SVC_BATCH;
		err = bpf_map_lookup_batch(bpf_map__fd(svc), in, &out, keys, vals, &count, &opts);
		if (err && errno != ENOENT)
			return -errno;
		for (__u32 i = 0; i < count; i++)
			if (keys[i] < VEER_SVC_SLOTS)
				slots[keys[i]] = vals[i];
		done += count;
		in = &out;
	}
	return 0;
}

int veer_proxy_svc_sync(struct bpf_map *vips, struct bpf_map *rules, struct bpf_map *svc)
{
	static __u8 cur[VEER_SVC_SLOTS], want[VEER_SVC_SLOTS];
	__u64 ports[VEER_PROXY_GATE_WORDS] = {};
	struct veer_vip_key key, prev, *pk = NULL;
	int err = svc_read(svc, cur);

	if (err)
		return err;
	rules_foreach(rules, steered_port, ports);
	for (__u32 i = 0; i < VEER_SVC_SLOTS; i++)
		want[i] = cur[i] & ~VEER_SVC_PROXY;
	while (!bpf_map__get_next_key(vips, pk, &key, sizeof(key))) {
		__u16 n = ntohs(key.port);

		if (key.proto == IPPROTO_TCP && (ports[n / 64] >> (n % 64) & 1))
			want[veer_svc_slot(&key.addr, key.port, key.proto)] |= VEER_SVC_PROXY;
		prev = key;
		pk = &prev;
	}
	for (__u32 i = 0; i < VEER_SVC_SLOTS && !err; i++)
		if (want[i] != cur[i])
			err = veer_map_update(svc, &i, sizeof(i), &want[i], 1, BPF_ANY);
	return err;
}

/* The gate, then the VIPs' slots: a packet sees a rule's port open before its VIP slots. */
static int gate_sync(struct veer *v)
{
	struct lb *s = v->skel;

	return veer_proxy_gate_sync(s->maps.veer_proxy_rule, s->maps.veer_proxy_gate) ?:
	       veer_proxy_svc_sync(s->maps.veer_vips, s->maps.veer_proxy_rule, s->maps.veer_svc);
}

int veer_proxy_add(struct veer *v, const struct veer_proxy_info *r)
{
	struct bpf_map *map = v->skel->maps.veer_proxy_rule;
	char name[VEER_ADDR_STRLEN + 16];
	struct veer_proxy_rule val = {};
	struct veer_proxy_key key;
	int err;

	err = veer_proxy_check(r);
	if (err)
		return err;
	rule_name(&r->from, r->dport, name, sizeof(name));
	rule_key(&key, &r->from, r->dport);
	val.addr = r->to.addr;
	val.port = r->to.port;
	val.flags = r->vip_exempt ? VEER_PROXY_VIP_EXEMPT : 0;
	/* BPF_NOEXIST: an LPM trie refuses the exact prefix only, not a longer or shorter one. */
	err = veer_map_update(map, &key, sizeof(key), &val, sizeof(val), BPF_NOEXIST);
	if (err == -EEXIST) {
		pr_warn("cannot add proxy rule %s: it exists (proxy del it first)\n", name);
		return err;
	}
	if (err == -ENOSPC) {
		pr_warn("cannot add proxy rule %s: table full (%d rules)\n", name,
			VEER_PROXY_RULES_MAX);
		return err;
	}
	/* The rule first, then the gate that lets packets reach it. */
	if (!err)
		err = gate_sync(v);
	if (err) {
		pr_warn("cannot add proxy rule %s: %s\n", name, strerror(-err));
		veer_map_delete(map, &key, sizeof(key));
		gate_sync(v);
	}
	return err;
}

struct rule_find {
	const struct veer_proxy_key *key;
	struct veer_proxy_rule rule;
};

static int rule_match(const struct veer_proxy_key *k, const struct veer_proxy_rule *r, void *arg)
{
	struct rule_find *f = arg;

	if (memcmp(k, f->key, sizeof(*k)))
		return 0;
	f->rule = *r;
	return 1;
}

/* What a deleted rule leaves behind: its connections, unless another rule sends them alike. */
struct conn_sweep {
	struct veer_cidr from;
	__be16 dport;
	struct veer_proxy_rule rule;
	int trie_fd;
};

static bool conn_of_rule(const void *key, const void *value, const void *arg)
{
	const struct veer_proxy_conn_key *k = key;
	const struct veer_proxy_conn *c = value;
	const struct conn_sweep *s = arg;
	struct veer_proxy_rule now;
	struct veer_proxy_key lk;

	if (k->family != s->from.family || c->orig_port != s->dport ||
	    !cidr_has(&s->from, &k->client) || c->proxy_port != s->rule.port ||
	    memcmp(&c->proxy, &s->rule.addr, sizeof(c->proxy)))
		return false;
	/* The rule that takes the client now (a shorter prefix, say): kept if it sends it alike. */
	memset(&lk, 0, sizeof(lk));
	lk.prefixlen = VEER_PROXY_KEY_BITS + family_bits(k->family);
	lk.port = s->dport;
	lk.family = k->family;
	lk.addr = k->client;
	return bpf_map_lookup_elem(s->trie_fd, &lk, &now) || now.port != s->rule.port ||
	       memcmp(&now.addr, &s->rule.addr, sizeof(now.addr));
}

int veer_proxy_del(struct veer *v, const struct veer_cidr *from, __be16 dport)
{
	struct bpf_map *map = v->skel->maps.veer_proxy_rule;
	char name[VEER_ADDR_STRLEN + 16];
	struct veer_proxy_key key;
	struct rule_find f = {.key = &key};
	struct conn_sweep s = {.from = *from, .dport = dport};
	int err;

	rule_name(from, dport, name, sizeof(name));
	rule_key(&key, from, dport);
	if (rules_foreach(map, rule_match, &f) != 1) {
		pr_warn("cannot delete proxy rule %s: no such rule\n", name);
		return -ENOENT;
	}
	err = veer_map_delete(map, &key, sizeof(key));
	if (err) {
		pr_warn("cannot delete proxy rule %s: %s\n", name, strerror(-err));
		return err;
	}
	err = gate_sync(v);
	if (err)
		pr_warn("proxy rule %s deleted, but the gate was not rewritten: %s\n", name,
			strerror(-err));
	/*
	 * A deleted rule takes its connections with it, as a deleted VIP does: their next packets
	 * go where the remaining rules say (straight to their server, most often).
	 */
	s.rule = f.rule;
	s.trie_fd = bpf_map__fd(map);
	veer_map_sweep(v->skel->maps.veer_proxy_conn, conn_of_rule, &s);
	return err;
}

struct rule_list {
	struct veer_proxy_info *list;
	size_t n;
};

static int rule_collect(const struct veer_proxy_key *k, const struct veer_proxy_rule *r, void *arg)
{
	struct rule_list *l = arg;

	if (l->n >= VEER_PROXY_RULES_MAX)
		return 1;
	rule_info(k, r, &l->list[l->n++]);
	return 0;
}

static int rule_cmp(const void *a, const void *b)
{
	const struct veer_proxy_info *x = a, *y = b;

	if (x->from.family != y->from.family)
		return x->from.family - y->from.family;
	if (x->dport != y->dport)
		return ntohs(x->dport) - ntohs(y->dport);
	if (memcmp(&x->from.addr, &y->from.addr, sizeof(x->from.addr)))
		return memcmp(&x->from.addr, &y->from.addr, sizeof(x->from.addr));
	return x->from.len - y->from.len;
}

int veer_proxy_list(struct veer *v, struct veer_proxy_info **out, size_t *n)
{
	struct rule_list l = {.list = calloc(VEER_PROXY_RULES_MAX, sizeof(*l.list))};

	if (!l.list)
		return -ENOMEM;
	rules_foreach(v->skel->maps.veer_proxy_rule, rule_collect, &l);
	qsort(l.list, l.n, sizeof(*l.list), rule_cmp);
	*out = l.list;
	*n = l.n;
	return 0;
}

/* ---- the proxy's side: original destinations ---- */

struct veer_origdst {
	int conns_fd;	 /* veer_proxy_conn */
	int settings_fd; /* veer_settings, or -1: the default timeouts */
};

/* A pinned map of the pin directory, checked for this veer's layout. */
static int pinned_map(const char *name, __u32 type, __u32 key_size, __u32 value_size)
{
	char path[PATH_MAX];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", veer_pin_dir(), name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	if (!err &&
	    (info.type != type || info.key_size != key_size || info.value_size != value_size)) {
		pr_warn("cannot adopt %s: its layout is not this veer's (pinned by another "
			"version of veer?)\n",
			path);
		err = -EINVAL;
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int veer_origdst_open(struct veer_origdst **out)
{
	struct veer_origdst *h = calloc(1, sizeof(*h));
	int fd;

	if (!h)
		return -ENOMEM;
	fd = pinned_map("veer_proxy_conn", BPF_MAP_TYPE_LRU_HASH,
			sizeof(struct veer_proxy_conn_key), sizeof(struct veer_proxy_conn));
	if (fd < 0) {
		if (fd == -ENOENT)
			pr_warn("no forward proxy state in %s: run veer attach or veer proxy add "
				"first\n",
				veer_pin_dir());
		else if (fd != -EINVAL)
			pr_warn("cannot open %s/veer_proxy_conn: %s\n", veer_pin_dir(),
				strerror(-fd));
		free(h);
		return fd;
	}
	h->conns_fd = fd;
	/* Without it (maps pinned by a veer before settings) the defaults are in effect. */
	h->settings_fd = pinned_map("veer_settings", BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				    sizeof(struct veer_settings));
	if (h->settings_fd == -EINVAL) {
		veer_origdst_close(h);
		return -EINVAL;
	}
	*out = h;
	return 0;
}

void veer_origdst_close(struct veer_origdst *h)
{
	if (!h)
		return;
	close(h->conns_fd);
	if (h->settings_fd >= 0)
		close(h->settings_fd);
	free(h);
}

int veer_proxy_conn_get(struct veer_origdst *h, const struct veer_endpoint *client,
			struct veer_proxy_conn_info *out)
{
	struct veer_proxy_conn_key k = {};
	struct veer_settings s = {};
	struct veer_flow_info fi = {};
	struct veer_proxy_conn c;
	struct timespec ts;
	__u32 zero = 0;

	k.client = client->addr;
	k.port = client->port;
	k.proto = IPPROTO_TCP;
	k.family = client->family;
	if (bpf_map_lookup_elem(h->conns_fd, &k, &c))
		return -ENOENT;
	/* Gone for the data plane is gone here too: the same rule, the same clock. */
	if (h->settings_fd >= 0)
		bpf_map_lookup_elem(h->settings_fd, &zero, &s);
	fi.key.proto = IPPROTO_TCP;
	fi.flow = c.flow;
	fi.handshake = !(c.flow.flags & VEER_PROXY_ESTABLISHED);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if (veer_flow_expired(&s, &fi, (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec))
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->client = *client;
	out->orig.addr = c.orig;
	out->orig.port = c.orig_port;
	out->orig.family = client->family;
	out->proxy.addr = c.proxy;
	out->proxy.port = c.proxy_port;
	out->proxy.family = client->family;
	out->established = c.flow.flags & VEER_PROXY_ESTABLISHED;
	out->closing = c.flow.flags & VEER_FLOW_CLOSING;
	return 0;
}

int veer_proxy_origdst(struct veer_origdst *h, const struct sockaddr *peer,
		       struct sockaddr_storage *orig)
{
	static const __u8 v4mapped[12] = {[10] = 0xff, [11] = 0xff};
	struct veer_proxy_conn_info ci;
	struct veer_endpoint client = {};
	int err;

	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)peer;

		client.addr.v4 = in->sin_addr.s_addr;
		client.port = in->sin_port;
		client.family = VEER_AF_INET;
	} else if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)peer;

		/* A dual-stack socket's IPv4 peer: the connection is IPv4 on the wire. */
		if (!memcmp(in6->sin6_addr.s6_addr, v4mapped, sizeof(v4mapped))) {
			memcpy(&client.addr.v4, in6->sin6_addr.s6_addr + 12, 4);
			client.family = VEER_AF_INET;
		} else {
			memcpy(client.addr.bytes, in6->sin6_addr.s6_addr, 16);
			client.family = VEER_AF_INET6;
		}
		client.port = in6->sin6_port;
	} else {
		return -EAFNOSUPPORT;
	}
	err = veer_proxy_conn_get(h, &client, &ci);
	if (err)
		return err;
	memset(orig, 0, sizeof(*orig));
	if (ci.orig.family == VEER_AF_INET) {
		struct sockaddr_in *in = (void *)orig;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = ci.orig.addr.v4;
		in->sin_port = ci.orig.port;
	} else {
		struct sockaddr_in6 *in6 = (void *)orig;

		in6->sin6_family = AF_INET6;
		memcpy(in6->sin6_addr.s6_addr, ci.orig.addr.bytes, 16);
		in6->sin6_port = ci.orig.port;
	}
	return 0;
}
