// SPDX-License-Identifier: GPL-2.0
/*
 * libveer's VIP and backend commands against real maps, in a pin directory of the test's own
 * (vip.c, backend.c, sweep.c, state.c): add and delete, weights and drain, full tables, the
 * sweep of a deleted VIP's connections, adoption of what another handle pinned (tables of an
 * earlier veer too), and refusal of pins of another layout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ctl_pins.h"
#include "internal.h"
#include <veer/svc_hash.h>

#define VIP_A "198.18.100.50:80/tcp"
#define VIP_B "198.18.100.51:80/tcp"

static bool has(const char *msg, const char *part, const char *what)
{
	if (strstr(msg, part))
		return true;
	return veer_test_fail(__FILE__, __LINE__, "%s: \"%s\" not in \"%s\"", what, part, msg);
}

/* The table in veer_rings at id: its map id and number of slots, 0 when there is none. */
static __u32 table_slots(struct veer *v, __u32 id, __u32 *map_id)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), inner = 0;
	int fd;

	if (bpf_map__lookup_elem(v->skel->maps.veer_rings, &id, sizeof(id), &inner, sizeof(inner),
				 0))
		return 0;
	if (map_id)
		*map_id = inner;
	fd = bpf_map_get_fd_by_id(inner);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

/* Slots of the VIP's table per backend slot id (counts[id]), VEER_NO_BACKEND in *none. */
static bool table_count(struct veer *v, const struct veer_vip *vip, __u32 *counts, __u32 *none)
{
	__u32 inner, slot;
	int fd;

	if (bpf_map__lookup_elem(v->skel->maps.veer_rings, &vip->id, sizeof(vip->id), &inner,
				 sizeof(inner), 0))
		return false;
	fd = bpf_map_get_fd_by_id(inner);
	if (fd < 0)
		return false;
	memset(counts, 0, VEER_MAX_BACKENDS * sizeof(*counts));
	*none = 0;
	for (__u32 i = 0; i < vip->ring_size; i++) {
		if (bpf_map_lookup_elem(fd, &i, &slot))
			break;
		if (slot < VEER_MAX_BACKENDS)
			counts[slot]++;
		else
			(*none)++;
	}
	close(fd);
	return true;
}

static __u32 addr_count(struct veer *v, const struct veer_vip_key *k)
{
	struct veer_vip_addr_key ak = {.addr = k->addr, .family = k->family};
	__u32 n = 0;

	bpf_map__lookup_elem(v->skel->maps.veer_vip_addrs, &ak, sizeof(ak), &n, sizeof(n), 0);
	return n;
}

static __u8 svc_bits(struct veer *v, const struct veer_vip_key *k)
{
	__u32 slot = veer_svc_slot(&k->addr, k->port, k->proto);
	__u8 bits = 0;

	bpf_map__lookup_elem(v->skel->maps.veer_svc, &slot, sizeof(slot), &bits, sizeof(bits), 0);
	return bits;
}

static int del_quiet(void *arg)
{
	void **a = arg;

	return veer_vip_del(a[0], a[1]);
}

/* A VIP added: in the tables the data plane reads; deleted: out of them, its table emptied. */
VEER_TEST(ctl_vip_add_del)
{
	struct veer_vip_opts o = {.mode = VEER_MODE_NAT, .affinity = 60, .ring_size = 251};
	struct veer_vip_info *list = NULL;
	struct veer_vip_key a, b;
	struct veer_vip vip;
	struct ctl_veer c;
	char msg[256];
	size_t n;

	if (!ctl_veer_up(&c) || !ASSERT_OK(veer_parse_vip(VIP_A, &a), "A") ||
	    !ASSERT_OK(veer_parse_vip(VIP_B, &b), "B"))
		goto out;
	if (!ASSERT_OK(veer_vip_add(c.v, &a, &o), "add A") ||
	    !ASSERT_OK(veer_vip_get(c.v, &a, &vip), "get A"))
		goto out;
	ASSERT_EQ(vip.ring_size, 251, "ring size");
	ASSERT_EQ(vip.affinity, 60, "affinity");
	ASSERT_EQ(vip.owner, VEER_OWNER_CLI, "made by hand");
	ASSERT_EQ(table_slots(c.v, vip.id, NULL), 251, "an empty table of 251 slots");
	ASSERT_EQ(addr_count(c.v, &a), 1, "its address answers pings");
	ASSERT_EQ(svc_bits(c.v, &a) & VEER_SVC_VIP, VEER_SVC_VIP, "in the filter");
	ASSERT_EQ(veer_vip_add(c.v, &a, &o), -EEXIST, "add A again");
	o.ring_size = 0;
	if (!ASSERT_OK(veer_vip_add(c.v, &b, &o), "add B, default ring size") ||
	    !ASSERT_OK(veer_vip_list(c.v, &list, &n), "list"))
		goto out;
	ASSERT_EQ(n, 2, "two VIPs");
	ASSERT_TRUE(n == 2 && list[1].vip.ring_size == VEER_RING_DEFAULT, "B's default size");
	ASSERT_NEQ(list[0].vip.id, list[1].vip.id, "ids of their own");

	if (!ASSERT_OK(veer_vip_del(c.v, &a), "del A"))
		goto out;
	ASSERT_EQ(veer_vip_get(c.v, &a, &vip), -ENOENT, "A is gone");
	ASSERT_EQ(addr_count(c.v, &a), 0, "its address no longer answers");
	ASSERT_EQ(svc_bits(c.v, &a) & VEER_SVC_VIP, 0, "out of the filter");
	ASSERT_EQ(table_slots(c.v, list[0].vip.id, NULL), 1, "its table emptied");
	ASSERT_EQ(stderr_of(del_quiet, (void *[]){c.v, &a}, msg, sizeof(msg)), -ENOENT,
		  "del A again");
	ASSERT_STREQ(msg, "veer: cannot delete VIP " VIP_A ": no such VIP\n", "said");
	ASSERT_OK(veer_vip_get(c.v, &b, &vip), "B stays");
out:
	free(list);
	ctl_veer_down(&c);
}

/*
 * Weights: the table follows them; weight 0 drains (out of the table, still listed, connections
 * kept); a weight back brings the backend back; a deleted backend's slot is REMOVED.
 */
VEER_TEST(ctl_backend_weights_drain)
{
	struct veer_vip_opts o = {.mode = VEER_MODE_NAT, .ring_size = 1021};
	static const char *const names[] = {"198.18.11.20", "198.18.11.21", "198.18.11.22"};
	struct veer_backend_info *list = NULL;
	struct veer_endpoint ep[3];
	__u32 *counts = calloc(VEER_MAX_BACKENDS, sizeof(*counts)), none, id[3];
	struct veer_vip_key a;
	struct veer_vip vip;
	struct ctl_veer c;
	size_t n;

	if (!ASSERT_TRUE(counts, "calloc") || !ctl_veer_up(&c) ||
	    !ASSERT_OK(veer_parse_vip(VIP_A, &a), "A") ||
	    !ASSERT_OK(veer_vip_add(c.v, &a, &o), "A"))
		goto out;
	for (int i = 0; i < 3; i++)
		if (!ASSERT_OK(veer_parse_endpoint(names[i], &ep[i], false), names[i]) ||
		    !ASSERT_OK(veer_backend_add(c.v, &a, &ep[i], i ? 100 : 200, NULL), "add"))
			goto out;
	if (!ASSERT_OK(veer_backend_list(c.v, &a, &list, &n), "list") || !ASSERT_EQ(n, 3, "3") ||
	    !ASSERT_OK(veer_vip_get(c.v, &a, &vip), "A"))
		goto out;
	for (int i = 0; i < 3; i++)
		id[i] = list[i].id;
	ASSERT_EQ(veer_backend_add(c.v, &a, &ep[0], 100, NULL), -EEXIST, "added twice");
	if (!ASSERT_TRUE(table_count(c.v, &vip, counts, &none), "the table"))
		goto out;
	ASSERT_EQ(none, 0, "every slot has a backend");
	ASSERT_TRUE(counts[id[0]] >= 510 && counts[id[0]] <= 511, "weight 200: half");
	ASSERT_TRUE(counts[id[1]] >= 255 && counts[id[1]] <= 256, "weight 100: a quarter");

	if (!ASSERT_OK(veer_backend_set_weight(c.v, &a, &ep[1], 0), "drain the second") ||
	    !ASSERT_TRUE(table_count(c.v, &vip, counts, &none), "the table"))
		goto out;
	ASSERT_EQ(counts[id[1]], 0, "drained: out of the table");
	free(list);
	list = NULL;
	ASSERT_TRUE(!veer_backend_list(c.v, &a, &list, &n) && n == 3 && list[1].be.weight == 0,
		    "drained: still listed, weight 0");
	if (!ASSERT_OK(veer_backend_set_weight(c.v, &a, &ep[1], 100), "back to 100") ||
	    !ASSERT_TRUE(table_count(c.v, &vip, counts, &none), "the table"))
		goto out;
	ASSERT_TRUE(counts[id[1]] >= 255 && counts[id[1]] <= 256, "back in the table");
	ASSERT_EQ(veer_backend_set_weight(c.v, &a, &ep[1], VEER_WEIGHT_MAX + 1), -EINVAL,
		  "a weight past the maximum");

	if (!ASSERT_OK(veer_backend_del(c.v, &a, &ep[2]), "del the third") ||
	    !ASSERT_TRUE(table_count(c.v, &vip, counts, &none), "the table"))
		goto out;
	ASSERT_EQ(counts[id[2]], 0, "out of the table");
	ASSERT_EQ(c.v->backends[id[2]].flags & (VEER_BACKEND_ACTIVE | VEER_BACKEND_REMOVED),
		  VEER_BACKEND_REMOVED, "its slot REMOVED");
	ASSERT_EQ(veer_backend_del(c.v, &a, &ep[2]), -ENOENT, "deleted twice");
	ASSERT_EQ(veer_backend_set_weight(c.v, &a, &ep[2], 5), -ENOENT, "set a deleted one");
out:
	free(list);
	free(counts);
	ctl_veer_down(&c);
}

static void flow4_key(struct veer_flow4_key *k, const struct veer_vip_key *vip, __u32 client)
{
	memset(k, 0, sizeof(*k));
	k->saddr = htonl(client);
	k->daddr = vip->addr.v4;
	k->sport = htons(40000);
	k->dport = vip->port;
	k->proto = IPPROTO_TCP;
}

/* One connection, one handshake and one affinity entry of the VIP, on backend slot id. */
static bool vip_state_put(struct veer *v, const struct veer_vip_key *key, __u32 vip_id, __u32 id,
			  __u32 client)
{
	struct veer_flow f = {.backend_id = id, .backend_gen = v->backends[id].gen};
	struct veer_affinity_key ak = {.vip_id = vip_id};
	struct veer_affinity av = {.backend_id = id};
	struct veer_flow4_key k;

	flow4_key(&k, key, client);
	ak.client.v4 = htonl(client);
	return ASSERT_OK(bpf_map__update_elem(v->skel->maps.veer_flows4, &k, sizeof(k), &f,
					      sizeof(f), BPF_ANY),
			 "flow") &&
	       (k.sport = htons(40001),
		ASSERT_OK(bpf_map__update_elem(v->skel->maps.veer_syns4, &k, sizeof(k), &f,
					       sizeof(f), BPF_ANY),
			  "handshake")) &&
	       ASSERT_OK(bpf_map__update_elem(v->skel->maps.veer_affinity, &ak, sizeof(ak), &av,
					      sizeof(av), BPF_ANY),
			 "affinity");
}

/* How many of the three entries vip_state_put made are still there. */
static int vip_state_left(struct veer *v, const struct veer_vip_key *key, __u32 vip_id,
			  __u32 client)
{
	struct veer_affinity_key ak = {.vip_id = vip_id};
	struct veer_affinity av;
	struct veer_flow4_key k;
	struct veer_flow f;
	int n = 0;

	flow4_key(&k, key, client);
	ak.client.v4 = htonl(client);
	n += !bpf_map__lookup_elem(v->skel->maps.veer_flows4, &k, sizeof(k), &f, sizeof(f), 0);
	k.sport = htons(40001);
	n += !bpf_map__lookup_elem(v->skel->maps.veer_syns4, &k, sizeof(k), &f, sizeof(f), 0);
	n += !bpf_map__lookup_elem(v->skel->maps.veer_affinity, &ak, sizeof(ak), &av, sizeof(av),
				   0);
	return n;
}

/*
 * A deleted VIP takes its connections, handshakes and affinity with it (a deleted backend's
 * stay); another VIP's stay. Many connections, so that the sweep's batches are exercised.
 */
VEER_TEST(ctl_vip_del_sweeps)
{
	struct veer_vip_opts o = {.mode = VEER_MODE_NAT, .affinity = 60, .ring_size = 13};
	struct veer_vip_key a, b;
	struct veer_vip va, vb;
	struct veer_endpoint ep;
	struct ctl_veer c;
	__u32 sa, sb;
	int i;

	if (!ctl_veer_up(&c) || !ASSERT_OK(veer_parse_vip(VIP_A, &a), "A") ||
	    !ASSERT_OK(veer_parse_vip(VIP_B, &b), "B") ||
	    !ASSERT_OK(veer_parse_endpoint("198.18.11.30", &ep, false), "ep") ||
	    !ASSERT_OK(veer_vip_add(c.v, &a, &o), "A") ||
	    !ASSERT_OK(veer_vip_add(c.v, &b, &o), "B") ||
	    !ASSERT_OK(veer_backend_add(c.v, &a, &ep, 100, NULL), "X to A") ||
	    !ASSERT_OK(veer_backend_add(c.v, &b, &ep, 100, NULL), "X to B") ||
	    !ASSERT_OK(veer_vip_get(c.v, &a, &va), "A") ||
	    !ASSERT_OK(veer_vip_get(c.v, &b, &vb), "B"))
		goto out;
	for (sa = sb = 0; sa < VEER_MAX_BACKENDS; sa++)
		if ((c.v->backends[sa].flags & VEER_BACKEND_ACTIVE) &&
		    c.v->backends[sa].vip_id == va.id)
			break;
	for (; sb < VEER_MAX_BACKENDS; sb++)
		if ((c.v->backends[sb].flags & VEER_BACKEND_ACTIVE) &&
		    c.v->backends[sb].vip_id == vb.id)
			break;
	if (!ASSERT_TRUE(sa < VEER_MAX_BACKENDS && sb < VEER_MAX_BACKENDS, "the slots"))
		goto out;
	for (i = 0; i < 1000; i++)
		if (!vip_state_put(c.v, &a, va.id, sa, 0xc6130000 + i) ||
		    !vip_state_put(c.v, &b, vb.id, sb, 0xc6130000 + i))
			goto out;
	/* A deleted backend's connections finish where they are. */
	if (!ASSERT_OK(veer_backend_del(c.v, &a, &ep), "del X from A"))
		goto out;
	ASSERT_EQ(vip_state_left(c.v, &a, va.id, 0xc6130000), 3, "a deleted backend's stay");
	if (!ASSERT_OK(veer_vip_del(c.v, &a), "del A"))
		goto out;
	for (i = 0; i < 1000; i++) {
		if (!ASSERT_EQ(vip_state_left(c.v, &a, va.id, 0xc6130000 + i), 0, "A's are gone") ||
		    !ASSERT_EQ(vip_state_left(c.v, &b, vb.id, 0xc6130000 + i), 3, "B's stay"))
			break;
	}
	ASSERT_EQ(c.v->backends[sa].flags & (VEER_BACKEND_ACTIVE | VEER_BACKEND_REMOVED), 0,
		  "A's slot freed");
out:
	ctl_veer_down(&c);
}

static int add_vip_quiet(void *arg)
{
	void **a = arg;

	return veer_vip_add(a[0], a[1], a[2]);
}

static int add_backend_quiet(void *arg)
{
	void **a = arg;

	return veer_backend_add(a[0], a[1], a[2], 100, NULL);
}

/*
 * Full tables: VEER_MAX_VIPS VIPs of 16 backends fill both (made by one apply: a thousand
 * commands would wait a thousand RCU grace periods). One VIP or backend more is refused by
 * name, and the apply that would add one says which VIP it could not make.
 */
VEER_TEST(ctl_tables_full)
{
	struct veer_vip_opts o = {.mode = VEER_MODE_NAT, .ring_size = 17};
	struct veer_config cfg = {};
	struct veer_apply_result r = {};
	struct veer_vip_key extra;
	struct veer_endpoint ep;
	struct ctl_veer c;
	char msg[256], want[128];
	__u32 n = VEER_MAX_VIPS, per = VEER_MAX_BACKENDS / VEER_MAX_VIPS;

	if (!ctl_veer_up(&c))
		goto out;
	cfg.vips = calloc(n, sizeof(*cfg.vips));
	if (!ASSERT_TRUE(cfg.vips, "calloc"))
		goto out;
	cfg.nvips = n;
	for (__u32 i = 0; i < n; i++) {
		struct veer_vip_spec *s = &cfg.vips[i];

		s->key.addr.v4 = htonl(0xc6130000u | (i / 250) << 8 | (1 + i % 250));
		s->key.port = htons(80);
		s->key.proto = IPPROTO_TCP;
		s->key.family = VEER_AF_INET;
		s->opts.ring_size = 17;
		s->backends = calloc(per, sizeof(*s->backends));
		if (!ASSERT_TRUE(s->backends, "calloc"))
			goto out;
		s->nbackends = per;
		for (__u32 j = 0; j < per; j++) {
			__u32 k = i * per + j;

			s->backends[j].ep.addr.v4 =
				htonl(0xc6120000u | (k / 250) << 8 | (1 + k % 250));
			s->backends[j].ep.family = VEER_AF_INET;
			s->backends[j].weight = 100;
		}
	}
	if (!ASSERT_OK(veer_config_apply(c.v, &cfg, VEER_OWNER_CLI, &r), "fill both tables"))
		goto out;
	ASSERT_EQ(r.vips_added, VEER_MAX_VIPS, "every VIP");
	ASSERT_EQ(r.backends_added, VEER_MAX_BACKENDS, "every backend");
	ASSERT_OK(veer_parse_vip("198.18.200.1:80/tcp", &extra), "one more VIP");
	snprintf(want, sizeof(want),
		 "veer: cannot add VIP 198.18.200.1:80/tcp: table full (%d VIPs)\n", VEER_MAX_VIPS);
	ASSERT_EQ(stderr_of(add_vip_quiet, (void *[]){c.v, &extra, &o}, msg, sizeof(msg)), -ENOSPC,
		  "VIP table full");
	ASSERT_STREQ(msg, want, "said");
	/* A VIP's backends fill its ring of 17 at 16; the table is full first. */
	ASSERT_OK(veer_parse_endpoint("198.18.201.1", &ep, false), "one more backend");
	snprintf(want, sizeof(want),
		 "veer: cannot add backend 198.18.201.1:80 to 198.19.0.1:80/tcp: table full "
		 "(%d backends)\n",
		 VEER_MAX_BACKENDS);
	ASSERT_EQ(stderr_of(add_backend_quiet, (void *[]){c.v, &cfg.vips[0].key, &ep}, msg,
			    sizeof(msg)),
		  -ENOSPC, "backend table full");
	ASSERT_STREQ(msg, want, "said");
	/* A VIP dropped from the config frees its id and slots for one added in the same apply. */
	cfg.vips[0].key = extra;
	memset(&r, 0, sizeof(r));
	ASSERT_OK(veer_config_apply(c.v, &cfg, VEER_OWNER_CLI, &r), "one VIP swapped for another");
	ASSERT_TRUE(r.vips_added == 1 && r.vips_removed == 1 && r.backends_added == per,
		    "one VIP out, one in, its backends in the slots freed");
out:
	for (size_t i = 0; cfg.vips && i < cfg.nvips; i++)
		free(cfg.vips[i].backends);
	free(cfg.vips);
	ctl_veer_down(&c);
}

/*
 * What one handle pinned, another adopts: a reader sees the VIPs, backends and the same table
 * digest; a writer goes on from there (a new backend takes a slot never used, not one in use).
 */
VEER_TEST(ctl_adopt_state)
{
	struct veer_vip_opts o = {.mode = VEER_MODE_NAT, .ring_size = 251};
	struct veer_backend_info *list = NULL;
	struct veer_endpoint x, y;
	struct veer_vip_key a;
	struct veer_vip vip;
	struct ctl_veer c;
	__u64 d0, d1;
	size_t n;

	if (!ctl_veer_up(&c) || !ASSERT_OK(veer_parse_vip(VIP_A, &a), "A") ||
	    !ASSERT_OK(veer_parse_endpoint("198.18.11.40", &x, false), "X") ||
	    !ASSERT_OK(veer_parse_endpoint("198.18.11.41", &y, false), "Y") ||
	    !ASSERT_OK(veer_vip_add(c.v, &a, &o), "A") ||
	    !ASSERT_OK(veer_backend_add(c.v, &a, &x, 100, NULL), "X") ||
	    !ASSERT_OK(veer_vip_get(c.v, &a, &vip), "A") ||
	    !ASSERT_OK(veer_ring_digest(c.v, &vip, &d0), "digest"))
		goto out;
	veer_close(c.v);
	c.v = NULL;
	if (!ASSERT_OK(veer_open(&c.v, false), "a reader") ||
	    !ASSERT_OK(veer_backend_list(c.v, &a, &list, &n), "its list") ||
	    !ASSERT_EQ(n, 1, "X") || !ASSERT_OK(veer_vip_get(c.v, &a, &vip), "A") ||
	    !ASSERT_OK(veer_ring_digest(c.v, &vip, &d1), "digest"))
		goto out;
	ASSERT_EQ(d1, d0, "the same table");
	veer_close(c.v);
	c.v = NULL;
	free(list);
	list = NULL;
	if (!ASSERT_OK(veer_open(&c.v, true), "a writer") ||
	    !ASSERT_OK(veer_backend_add(c.v, &a, &y, 100, NULL), "Y") ||
	    !ASSERT_OK(veer_backend_list(c.v, &a, &list, &n), "the list") ||
	    !ASSERT_EQ(n, 2, "X, Y"))
		goto out;
	ASSERT_NEQ(list[0].id, list[1].id, "slots of their own");
	ASSERT_TRUE(list[1].be.seq > list[0].be.seq, "stamps go on from the adopted ones");
	ASSERT_OK(veer_ring_digest(c.v, &vip, &d1), "digest");
	ASSERT_NEQ(d1, d0, "a new table");
out:
	free(list);
	ctl_veer_down(&c);
}

/*
 * veer_rings pinned by an earlier veer, whose tables are not memory-mapped: adopted, and fed
 * tables of its kind (filled by updates), read back by the digest; an apply of the same state
 * again writes nothing there either.
 */
VEER_TEST(ctl_adopt_plain_rings)
{
	LIBBPF_OPTS(bpf_map_create_opts, in, .map_flags = BPF_F_INNER_MAP);
	struct veer_vip_opts o = {.mode = VEER_MODE_NAT, .ring_size = 251};
	struct bpf_map_info info = {};
	struct veer_endpoint x;
	struct veer_vip_key a;
	struct veer_vip vip;
	struct ctl_veer c = {};
	char path[PATH_MAX + 32];
	__u32 len = sizeof(info), inner, *counts = calloc(VEER_MAX_BACKENDS, sizeof(*counts)), none;
	int tmpl = -1, outer = -1, fd;
	__u64 d;

	if (!ASSERT_TRUE(counts, "calloc") || !pins_up(&c.pins, true))
		goto out;
	tmpl = bpf_map_create(BPF_MAP_TYPE_ARRAY, "veer_ring", 4, 4, VEER_RING_DEFAULT, &in);
	{
		LIBBPF_OPTS(bpf_map_create_opts, oo, .inner_map_fd = tmpl);

		outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "veer_rings", 4, 4,
				       VEER_MAX_VIPS, &oo);
	}
	snprintf(path, sizeof(path), "%s/veer_rings", c.pins.dir);
	if (!ASSERT_TRUE(tmpl >= 0 && outer >= 0, "an earlier veer's veer_rings") ||
	    !ASSERT_OK(bpf_obj_pin(outer, path) ? -errno : 0, "pinned") ||
	    !ASSERT_OK(veer_set_flows(SMALL_FLOWS), "flows") ||
	    !ASSERT_OK(veer_open(&c.v, true), "adopted") ||
	    !ASSERT_OK(veer_parse_vip(VIP_A, &a), "A") ||
	    !ASSERT_OK(veer_parse_endpoint("198.18.11.50", &x, false), "X") ||
	    !ASSERT_OK(veer_vip_add(c.v, &a, &o), "A") ||
	    !ASSERT_OK(veer_backend_add(c.v, &a, &x, 100, NULL), "X") ||
	    !ASSERT_OK(veer_vip_get(c.v, &a, &vip), "A"))
		goto out;
	bpf_map__lookup_elem(c.v->skel->maps.veer_rings, &vip.id, 4, &inner, 4, 0);
	fd = bpf_map_get_fd_by_id(inner);
	ASSERT_TRUE(fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
			    info.map_flags == BPF_F_INNER_MAP,
		    "a table of the earlier kind");
	if (fd >= 0)
		close(fd);
	if (ASSERT_TRUE(table_count(c.v, &vip, counts, &none), "its table"))
		ASSERT_EQ(none, 0, "filled: every slot X's");
	ASSERT_OK(veer_ring_digest(c.v, &vip, &d), "its digest, read without a mapping");
out:
	if (tmpl >= 0)
		close(tmpl);
	if (outer >= 0)
		close(outer);
	free(counts);
	ctl_veer_down(&c);
}

static int open_write(void *arg)
{
	struct veer *v = NULL;
	int err = veer_open(&v, true);

	(void)arg;
	veer_close(err ? NULL : v);
	return err;
}

/*
 * Pins of an earlier layout that veer cannot adopt are refused by name: a backend table of
 * 4096 slots (veer before 16384) is one.
 */
VEER_TEST(ctl_refuse_other_abi)
{
	char path[PATH_MAX + 32], msg[1024], *names = NULL;
	struct pins p;
	int fd;

	if (!pins_up(&p, true))
		return;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "veer_backends", 4, sizeof(struct veer_backend),
			    4096, NULL);
	snprintf(path, sizeof(path), "%s/veer_backends", p.dir);
	if (!ASSERT_TRUE(fd >= 0, "an earlier veer_backends") ||
	    !ASSERT_OK(bpf_obj_pin(fd, path) ? -errno : 0, "pinned"))
		goto out;
	ASSERT_EQ(stderr_of(open_write, NULL, msg, sizeof(msg)), -EINVAL, "refused");
	has(msg, "/veer_backends: it has 4096 entries, this veer's has 16384", "which and why");
	has(msg, "pinned by another version of veer", "what to do");
	names = pins_listing(&p);
	ASSERT_STREQ(names, "veer_backends", "nothing created");
out:
	free(names);
	if (fd >= 0)
		close(fd);
	pins_down(&p);
}
