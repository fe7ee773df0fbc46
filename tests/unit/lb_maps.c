// SPDX-License-Identifier: GPL-2.0
/* Map helpers of the BPF_PROG_RUN fixtures: state in, counters and flow entries out. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lb_harness.h"
#include "internal.h"
#include "maglev.h"

__u8 lb_addr_parse(const char *s, union veer_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (strchr(s, ':'))
		return inet_pton(AF_INET6, s, a->bytes) == 1 ? VEER_AF_INET6 : 0;
	return inet_pton(AF_INET, s, a->bytes) == 1 ? VEER_AF_INET : 0;
}

bool lb_addr_eq(const union veer_addr *a, const char *s)
{
	union veer_addr b;

	lb_addr_parse(s, &b);
	return !memcmp(a, &b, sizeof(b));
}

/* veer_svc for a VIP key, as libveer keeps it (its own code). */
static bool svc_sync(const struct veer_vip_key *k)
{
	struct lb *s = lb_env.skel;

	return ASSERT_OK(veer_svc_sync(s->maps.veer_vips, s->maps.veer_be_index, s->maps.veer_svc,
				       &k->addr, k->port, k->proto, k->family),
			 "VIP filter");
}

bool lb_add_vip(__u32 id, const char *addr, __u16 port, __u8 proto, __u32 affinity, __u8 mode)
{
	struct veer_vip_key k = {};
	struct veer_vip v = {
		.id = id,
		.ring_size = LB_RING_SIZE,
		.affinity = affinity,
		.mode = mode,
	};

	k.family = lb_addr_parse(addr, &k.addr);
	k.port = htons(port);
	k.proto = proto;
	return ASSERT_TRUE(k.family, addr) &&
	       ASSERT_OK(bpf_map__update_elem(lb_env.skel->maps.veer_vips, &k, sizeof(k), &v,
					      sizeof(v), BPF_ANY),
			 "add VIP") &&
	       svc_sync(&k) &&
	       ASSERT_OK(veer_vip_addr_sync(lb_env.skel->maps.veer_vips,
					    lb_env.skel->maps.veer_vip_addrs, &k.addr, k.family),
			 "VIP address");
}

/* The whole backend table, for libveer's index sync; NULL on error. */
static struct veer_backend *backends_read(void)
{
	static struct veer_backend table[VEER_MAX_BACKENDS];
	int fd = bpf_map__fd(lb_env.skel->maps.veer_backends);

	for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++)
		if (bpf_map_lookup_elem(fd, &id, &table[id]))
			return NULL;
	return table;
}

/* veer_be_index for the address:port of backend b, as libveer keeps it (its own code). */
static bool index_sync(const struct veer_backend *b)
{
	struct veer_backend *table = backends_read();

	return ASSERT_TRUE(table, "read the backend table") &&
	       ASSERT_OK(veer_be_index_sync(
				 lb_env.skel->maps.veer_vips, lb_env.skel->maps.veer_backends,
				 lb_env.skel->maps.veer_be_index, lb_env.skel->maps.veer_svc, table,
				 &b->addr, b->port, b->family),
			 "backend index");
}

bool lb_del_vip(const char *addr, __u16 port, __u8 proto)
{
	struct veer_vip_key k = {};
	struct veer_backend *table;
	struct veer_vip v;
	bool ok;

	k.family = lb_addr_parse(addr, &k.addr);
	k.port = htons(port);
	k.proto = proto;
	ok = ASSERT_TRUE(k.family, addr) &&
	     ASSERT_OK(bpf_map__lookup_elem(lb_env.skel->maps.veer_vips, &k, sizeof(k), &v,
					    sizeof(v), 0),
		       "find VIP") &&
	     ASSERT_OK(bpf_map__delete_elem(lb_env.skel->maps.veer_vips, &k, sizeof(k), 0),
		       "delete VIP") &&
	     svc_sync(&k) &&
	     ASSERT_OK(veer_vip_addr_sync(lb_env.skel->maps.veer_vips,
					  lb_env.skel->maps.veer_vip_addrs, &k.addr, k.family),
		       "VIP address");
	/* Its backends leave the reply index with it. */
	table = ok ? backends_read() : NULL;
	for (__u32 id = 0; table && id < VEER_MAX_BACKENDS; id++)
		if (table[id].vip_id == v.id && (table[id].flags & VEER_BACKEND_ACTIVE))
			ok &= index_sync(&table[id]);
	return ok;
}

/* The mode of the VIP with this id (NAT if there is none), which libveer gives its backends. */
static __u8 vip_mode(__u32 vip_id)
{
	struct bpf_map *vips = lb_env.skel->maps.veer_vips;
	struct veer_vip_key k, cur, *prev = NULL;
	struct veer_vip v;

	while (!bpf_map__get_next_key(vips, prev, &k, sizeof(k))) {
		if (!bpf_map__lookup_elem(vips, &k, sizeof(k), &v, sizeof(v), 0) && v.id == vip_id)
			return v.mode;
		cur = k;
		prev = &cur;
	}
	return VEER_MODE_NAT;
}

bool lb_add_backend(const struct be_def *be, __u32 vip_id, __u32 weight)
{
	struct veer_backend old = {}, b = {
					      .port = htons(be->port),
					      .flags = VEER_BACKEND_ACTIVE,
					      .vip_id = vip_id,
					      .weight = weight,
					      .seq = be->id,
				      };
	bool ok;

	b.family = lb_addr_parse(be->addr, &b.addr);
	b.flags |= VEER_BACKEND_MODE_FLAGS(vip_mode(vip_id));
	strcpy(b.pool, "default");
	bpf_map__lookup_elem(lb_env.skel->maps.veer_backends, &be->id, sizeof(be->id), &old,
			     sizeof(old), 0);
	/* As libveer: the same backend keeps its flows, another one starts a new gen. */
	b.gen = old.gen;
	if (old.vip_id != vip_id || old.port != b.port || memcmp(&old.addr, &b.addr, 16))
		b.gen++;
	ok = ASSERT_TRUE(b.family, be->addr) &&
	     ASSERT_OK(bpf_map__update_elem(lb_env.skel->maps.veer_backends, &be->id,
					    sizeof(be->id), &b, sizeof(b), BPF_ANY),
		       "add backend") &&
	     index_sync(&b);
	if (ok && (old.flags & VEER_BACKEND_ACTIVE) && b.gen != old.gen)
		ok = index_sync(&old);
	return ok;
}

bool lb_set_ring(__u32 vip_id, const __u32 slots[LB_RING_SIZE])
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = VEER_RING_MAP_FLAGS);
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "veer_ring_test", 4, 4, LB_RING_SIZE, &opts);
	if (!ASSERT_TRUE(fd >= 0, "create ring"))
		return false;
	for (__u32 i = 0; !err && i < LB_RING_SIZE; i++)
		err = bpf_map_update_elem(fd, &i, &slots[i], BPF_ANY);
	if (!err)
		err = bpf_map__update_elem(lb_env.skel->maps.veer_rings, &vip_id, sizeof(vip_id),
					   &fd, sizeof(fd), BPF_ANY);
	close(fd);
	return ASSERT_OK(err, "publish ring");
}

bool lb_set_ring_all(__u32 vip_id, __u32 backend_id)
{
	__u32 slots[LB_RING_SIZE];

	for (int i = 0; i < LB_RING_SIZE; i++)
		slots[i] = backend_id;
	return lb_set_ring(vip_id, slots);
}

bool lb_set_ring_maglev(__u32 vip_id, const struct be_def *const *be, const __u32 *weights,
			size_t n)
{
	struct veer_maglev_backend mb[8] = {};
	__u32 slots[LB_RING_SIZE];

	for (size_t i = 0; i < n; i++) {
		mb[i].id = be[i]->id;
		mb[i].weight = weights[i];
		mb[i].family = lb_addr_parse(be[i]->addr, &mb[i].addr);
		mb[i].port = htons(be[i]->port);
	}
	return ASSERT_OK(veer_maglev_build(mb, n, LB_RING_SIZE, slots), "maglev build") &&
	       lb_set_ring(vip_id, slots);
}

bool lb_vip_single(__u32 vip_id, const char *addr, __u16 port, __u8 proto, const struct be_def *be)
{
	return lb_add_vip(vip_id, addr, port, proto, 0, VEER_MODE_NAT) &&
	       lb_add_backend(be, vip_id, VEER_WEIGHT_DEFAULT) && lb_set_ring_all(vip_id, be->id);
}

bool lb_vips_basic(void)
{
	return lb_vip_single(VIP_TCP4, VIP4, 80, IPPROTO_TCP, &BE_TCP4) &&
	       lb_vip_single(VIP_UDP4, VIP4, 53, IPPROTO_UDP, &BE_UDP4) &&
	       lb_vip_single(VIP_TCP6, VIP6, 80, IPPROTO_TCP, &BE_TCP6) &&
	       lb_vip_single(VIP_UDP6, VIP6, 53, IPPROTO_UDP, &BE_UDP6);
}

/* ---- counters ---- */

struct veer_counters lb_counters(struct bpf_map *map, __u32 id)
{
	struct veer_counters sum = {}, *v = calloc(lb_env.ncpus, sizeof(*v));

	if (!v || bpf_map__lookup_elem(map, &id, sizeof(id), v, lb_env.ncpus * sizeof(*v), 0)) {
		veer_test_fail(__FILE__, __LINE__, "read counters %u", id);
	} else {
		for (int c = 0; c < lb_env.ncpus; c++) {
			sum.packets += v[c].packets;
			sum.bytes += v[c].bytes;
			sum.new_flows += v[c].new_flows;
			sum.reply_packets += v[c].reply_packets;
			sum.reply_bytes += v[c].reply_bytes;
		}
	}
	free(v);
	return sum;
}

bool lb_counters_eq(struct bpf_map *map, __u32 id, __u64 packets, __u64 bytes, __u64 new_flows,
		    __u64 reply_packets, __u64 reply_bytes, const char *what)
{
	struct veer_counters c = lb_counters(map, id);
	char w[128];
	bool ok;

	snprintf(w, sizeof(w), "%s: packets", what);
	ok = ASSERT_EQ(c.packets, packets, w);
	snprintf(w, sizeof(w), "%s: bytes", what);
	ok &= ASSERT_EQ(c.bytes, bytes, w);
	snprintf(w, sizeof(w), "%s: new_flows", what);
	ok &= ASSERT_EQ(c.new_flows, new_flows, w);
	snprintf(w, sizeof(w), "%s: reply_packets", what);
	ok &= ASSERT_EQ(c.reply_packets, reply_packets, w);
	snprintf(w, sizeof(w), "%s: reply_bytes", what);
	ok &= ASSERT_EQ(c.reply_bytes, reply_bytes, w);
	return ok;
}

void lb_reasons_read(__u64 sum[VEER_REASON_MAX])
{
	__u64 *v = calloc(lb_env.ncpus, sizeof(*v));

	for (__u32 r = 0; r < VEER_REASON_MAX; r++) {
		sum[r] = 0;
		if (!v || bpf_map__lookup_elem(lb_env.skel->maps.veer_reasons, &r, sizeof(r), v,
					       lb_env.ncpus * sizeof(*v), 0)) {
			veer_test_fail(__FILE__, __LINE__, "read reason %u", r);
			continue;
		}
		for (int c = 0; c < lb_env.ncpus; c++)
			sum[r] += v[c];
	}
	free(v);
}

/* ---- flow entries ---- */

/* The connection keyed k (client -> VIP): connection table, else handshake table. */
static bool flow_entry(const struct veer_flow_key *k, struct veer_flow *f)
{
	struct lb *s = lb_env.skel;

	if (k->family == VEER_AF_INET) {
		struct veer_flow4_key k4 = {k->saddr.v4, k->daddr.v4, k->sport,
					    k->dport,	 k->proto,    {0}};

		return !bpf_map__lookup_elem(s->maps.veer_flows4, &k4, sizeof(k4), f, sizeof(*f),
					     0) ||
		       !bpf_map__lookup_elem(s->maps.veer_syns4, &k4, sizeof(k4), f, sizeof(*f), 0);
	}
	return !bpf_map__lookup_elem(s->maps.veer_flows6, k, sizeof(*k), f, sizeof(*f), 0) ||
	       !bpf_map__lookup_elem(s->maps.veer_syns6, k, sizeof(*k), f, sizeof(*f), 0);
}

/*
 * A client -> VIP tuple names its connection directly; a backend -> client tuple names the
 * connection it replies to, found as the data plane finds it: through veer_be_index, an entry
 * of that very backend slot.
 */
bool lb_flow_get(const char *saddr, __u16 sport, const char *daddr, __u16 dport, __u8 proto,
		 struct veer_flow *f)
{
	struct veer_flow_key k = {};
	struct veer_be_key bk = {};
	struct veer_be_vips idx;

	k.family = lb_addr_parse(saddr, &k.saddr);
	lb_addr_parse(daddr, &k.daddr);
	k.sport = htons(sport);
	k.dport = htons(dport);
	k.proto = proto;
	if (flow_entry(&k, f))
		return true;
	bk.addr = k.saddr;
	bk.port = k.sport;
	bk.proto = proto;
	bk.family = k.family;
	if (bpf_map__lookup_elem(lb_env.skel->maps.veer_be_index, &bk, sizeof(bk), &idx,
				 sizeof(idx), 0))
		return false;
	for (__u32 i = 0; i < idx.count && i < VEER_BE_VIPS_MAX; i++) {
		struct veer_flow_key fk = k;

		fk.saddr = k.daddr;
		fk.sport = k.dport;
		fk.daddr = idx.vips[i].vip_addr;
		fk.dport = idx.vips[i].vip_port;
		if (flow_entry(&fk, f) && f->backend_id == idx.vips[i].backend_id)
			return true;
	}
	return false;
}

bool lb_flow_put(const char *client, __u16 cport, const char *vip, __u16 vport, __u8 proto,
		 const struct veer_flow *f)
{
	struct veer_flow_key k = {};
	struct lb *s = lb_env.skel;
	int err;

	k.family = lb_addr_parse(client, &k.saddr);
	lb_addr_parse(vip, &k.daddr);
	k.sport = htons(cport);
	k.dport = htons(vport);
	k.proto = proto;
	if (k.family == VEER_AF_INET) {
		struct veer_flow4_key k4 = {k.saddr.v4, k.daddr.v4, k.sport, k.dport, proto, {0}};

		err = bpf_map__update_elem(s->maps.veer_flows4, &k4, sizeof(k4), f, sizeof(*f),
					   BPF_EXIST);
	} else {
		err = bpf_map__update_elem(s->maps.veer_flows6, &k, sizeof(k), f, sizeof(*f),
					   BPF_EXIST);
	}
	return ASSERT_OK(err, "write the connection's entry");
}

int lb_flow_count(void)
{
	struct lb *s = lb_env.skel;

	return lb_map_count(s->maps.veer_flows4) + lb_map_count(s->maps.veer_flows6) +
	       lb_map_count(s->maps.veer_syns4) + lb_map_count(s->maps.veer_syns6);
}

int lb_map_count(struct bpf_map *map)
{
	__u8 key[64], next[64];
	size_t ksz = bpf_map__key_size(map);
	int n = 0;

	for (void *prev = NULL; !bpf_map__get_next_key(map, prev, next, ksz); prev = key) {
		memcpy(key, next, ksz);
		n++;
	}
	return n;
}

static bool flow_names(const struct veer_flow *f, __u32 vip_id, __u32 backend_id, const char *w)
{
	struct veer_backend b = {};

	bpf_map__lookup_elem(lb_env.skel->maps.veer_backends, &backend_id, sizeof(backend_id), &b,
			     sizeof(b), 0);
	return ASSERT_EQ(f->backend_id, backend_id, w) && ASSERT_EQ(f->backend_gen, b.gen, w) &&
	       ASSERT_EQ(b.vip_id, vip_id, w) && ASSERT_NEQ(f->last_seen, 0, w);
}

/*
 * Every CPU's cached next hop toward backend id (calloc'ed, ncpus entries) and the slot's gen now,
 * or NULL. An entry of another gen is stale: the data plane resolves it again before its CPU uses
 * it (backend_hop), so it says nothing about where packets go. It stays behind on every CPU that
 * carried the slot's earlier backend, wherever the process has run since.
 */
static struct veer_be_hop *be_hops_read(__u32 id, __u32 *gen)
{
	struct veer_be_hop *hops = calloc(lb_env.ncpus, sizeof(*hops));
	struct veer_backend b = {};

	if (hops && bpf_map__lookup_elem(lb_env.skel->maps.veer_be_hops, &id, sizeof(id), hops,
					 lb_env.ncpus * sizeof(*hops), 0)) {
		free(hops);
		return NULL;
	}
	bpf_map__lookup_elem(lb_env.skel->maps.veer_backends, &id, sizeof(id), &b, sizeof(b), 0);
	*gen = b.gen;
	return hops;
}

bool lb_check_forward_entry(const struct veer_flow *f, __u32 vip_id, const struct be_def *be,
			    bool hop_cached, const char *what)
{
	struct veer_be_hop *hops;
	bool ok, any = false;
	__u32 gen;
	char w[128];

	snprintf(w, sizeof(w), "%s: forward entry", what);
	ok = flow_names(f, vip_id, be->id, w);
	/* The next hop toward the backend is the backend's, kept per CPU. */
	snprintf(w, sizeof(w), "%s: backend's next hop", what);
	hops = be_hops_read(be->id, &gen);
	if (!hops)
		return veer_test_fail(__FILE__, __LINE__, "%s: cannot read", w);
	for (int c = 0; c < lb_env.ncpus; c++) {
		const struct veer_hop *h = &hops[c].hop;

		if (!hops[c].resolved || hops[c].gen != gen)
			continue;
		any = true;
		if (hop_cached)
			ok = ok && ASSERT_EQ(h->ifindex, lb_env.ifindex[FROM_BACKEND], w) &&
			     ASSERT_MEMEQ(h->dmac, 6, be->mac, 6, w) &&
			     ASSERT_MEMEQ(h->smac, 6, MAC_VB0, 6, w);
		else
			ok = ok && ASSERT_EQ(h->ifindex, 0, w);
	}
	free(hops);
	return ok && ASSERT_TRUE(any, w);
}

bool lb_check_reply_entry(const struct veer_flow *f, __u32 vip_id, const char *vip, __u16 vport,
			  __u32 backend_id, const char *what)
{
	char w[128];

	(void)vip;
	(void)vport;
	snprintf(w, sizeof(w), "%s: the connection a reply finds", what);
	return flow_names(f, vip_id, backend_id, w);
}

bool lb_backend_hop(__u32 id, struct veer_hop *hop)
{
	struct veer_be_hop *hops;
	bool found = false;
	__u32 gen;

	hops = be_hops_read(id, &gen);
	for (int c = 0; hops && !found && c < lb_env.ncpus; c++)
		if (hops[c].resolved && hops[c].gen == gen) {
			*hop = hops[c].hop;
			found = true;
		}
	free(hops);
	return found;
}

struct veer_be_hop *lb_backend_hops(__u32 id)
{
	__u32 gen;

	return be_hops_read(id, &gen);
}

bool lb_backend_hop_age(__u32 id, __u64 ns)
{
	struct veer_be_hop *hops;
	int err = -ENOMEM;
	__u32 gen;

	hops = be_hops_read(id, &gen);
	for (int c = 0; hops && c < lb_env.ncpus; c++)
		if (hops[c].resolved)
			hops[c].resolved = hops[c].resolved > ns ? hops[c].resolved - ns : 1;
	if (hops)
		err = bpf_map__update_elem(lb_env.skel->maps.veer_be_hops, &id, sizeof(id), hops,
					   lb_env.ncpus * sizeof(*hops), BPF_ANY);
	free(hops);
	return ASSERT_OK(err, "age the backend's next hop");
}

/*
 * Every CPU given the backend's current hop as some CPU resolved it, its MTU set to mtu (-1: kept).
 * A CPU left without one would resolve its own when the test process moves to it.
 */
static bool hop_everywhere(__u32 id, int mtu, const char *what)
{
	struct veer_be_hop *hops;
	int err = -ENOENT;
	__u32 gen;

	hops = be_hops_read(id, &gen);
	for (int c = 0; hops && err && c < lb_env.ncpus; c++)
		if (hops[c].resolved && hops[c].gen == gen) {
			if (mtu >= 0)
				hops[c].hop.mtu = mtu;
			for (int o = 0; o < lb_env.ncpus; o++)
				hops[o] = hops[c];
			err = bpf_map__update_elem(lb_env.skel->maps.veer_be_hops, &id, sizeof(id),
						   hops, lb_env.ncpus * sizeof(*hops), BPF_ANY);
		}
	free(hops);
	return ASSERT_OK(err, what);
}

bool lb_backend_hop_everywhere(__u32 id)
{
	return hop_everywhere(id, -1, "backend's next hop on every CPU");
}

bool lb_backend_hop_set_mtu(__u32 id, __u16 mtu)
{
	return hop_everywhere(id, mtu, "backend's next hop with its MTU on every CPU");
}
