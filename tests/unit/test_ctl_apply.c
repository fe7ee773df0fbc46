// SPDX-License-Identifier: GPL-2.0
/*
 * The declarative apply against real maps, each test in a pin directory of its own: what an
 * apply creates, that a second apply of the same state writes nothing, that settings change in
 * place with the VIP's flows kept, that a table is published once per VIP and only when it
 * changes, that another owner's VIP is left alone; and the ring digest and the health marks
 * veerd's health checks set.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ctl_pins.h"
#include "internal.h"

#define VIP_A "198.18.100.40:80/tcp"
#define VIP_B "198.18.100.41:443/tcp"
#define MAXB  8

/* A VIP as a config declares it: backends "198.18.11.2" or "198.18.11.2:8080", by weight. */
struct spec {
	struct veer_vip_spec s;
	struct veer_backend_spec b[MAXB];
};

static bool spec_make(struct spec *sp, const char *vip, __u32 ring_size, __u32 affinity,
		      const char *const *backends, const __u32 *weights, size_t n)
{
	memset(sp, 0, sizeof(*sp));
	sp->s.backends = sp->b;
	sp->s.nbackends = n;
	sp->s.opts.mode = VEER_MODE_NAT;
	sp->s.opts.ring_size = ring_size;
	sp->s.opts.affinity = affinity;
	if (!ASSERT_OK(veer_parse_vip(vip, &sp->s.key), vip))
		return false;
	for (size_t i = 0; i < n; i++) {
		sp->b[i].weight = weights ? weights[i] : VEER_WEIGHT_DEFAULT;
		if (!ASSERT_OK(veer_parse_endpoint(backends[i], &sp->b[i].ep, false), backends[i]))
			return false;
	}
	return true;
}

static const char *const three[] = {"198.18.11.2", "198.18.11.3", "198.18.11.4"};

/* The id of the table veer_rings holds for the VIP: a new table has a new id. */
static __u32 ring_id(struct veer *v, const struct veer_vip_key *key)
{
	struct veer_vip vip;
	__u32 id = 0;

	if (veer_vip_get(v, key, &vip))
		return 0;
	bpf_map__lookup_elem(v->skel->maps.veer_rings, &vip.id, sizeof(vip.id), &id, sizeof(id), 0);
	return id;
}

/* Slots of the VIP's table that hold each of its backends, in veer_backend_list order. */
static bool ring_shares(struct veer *v, const struct veer_vip_key *key, __u32 *shares, size_t *n)
{
	struct veer_backend_info *list = NULL;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), inner, slot;
	struct veer_vip vip;
	bool ok = false;
	int fd = -1;

	if (veer_vip_get(v, key, &vip) || veer_backend_list(v, key, &list, n))
		goto out;
	if (bpf_map__lookup_elem(v->skel->maps.veer_rings, &vip.id, sizeof(vip.id), &inner,
				 sizeof(inner), 0))
		goto out;
	fd = bpf_map_get_fd_by_id(inner);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) || info.max_entries != vip.ring_size)
		goto out;
	memset(shares, 0, *n * sizeof(*shares));
	for (__u32 i = 0; i < info.max_entries; i++) {
		if (bpf_map_lookup_elem(fd, &i, &slot))
			goto out;
		for (size_t b = 0; b < *n; b++)
			shares[b] += list[b].id == slot;
	}
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	free(list);
	return ok;
}

/* A connection of the VIP on its backend's slot, as the data plane would have made it. */
static bool flow_put(struct veer *v, const struct veer_vip_key *key, __u32 client, __u32 slot)
{
	struct veer_flow4_key k = {.saddr = htonl(client),
				   .daddr = key->addr.v4,
				   .sport = htons(40000),
				   .dport = key->port,
				   .proto = IPPROTO_TCP};
	struct veer_flow f = {.backend_id = slot, .backend_gen = v->backends[slot].gen};

	return ASSERT_OK(bpf_map__update_elem(v->skel->maps.veer_flows4, &k, sizeof(k), &f,
					      sizeof(f), BPF_NOEXIST),
			 "a flow");
}

static bool flow_there(struct veer *v, const struct veer_vip_key *key, __u32 client)
{
	struct veer_flow4_key k = {.saddr = htonl(client),
				   .daddr = key->addr.v4,
				   .sport = htons(40000),
				   .dport = key->port,
				   .proto = IPPROTO_TCP};
	struct veer_flow f;

	return !bpf_map__lookup_elem(v->skel->maps.veer_flows4, &k, sizeof(k), &f, sizeof(f), 0);
}

static int apply_one(struct veer *v, const struct spec *sp, __u8 owner, struct veer_apply_result *r)
{
	memset(r, 0, sizeof(*r));
	return veer_vip_apply(v, &sp->s, owner, r);
}

/* The slot of a backend of the VIP, by address. */
static bool slot_of(struct veer *v, const struct veer_vip_key *key, const char *addr, __u32 *id,
		    struct veer_backend *be)
{
	struct veer_backend_info *list;
	struct veer_endpoint ep;
	bool found = false;
	size_t n;

	if (veer_parse_endpoint(addr, &ep, false) || veer_backend_list(v, key, &list, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!memcmp(&list[i].be.addr, &ep.addr, sizeof(ep.addr))) {
			*id = list[i].id;
			if (be)
				*be = list[i].be;
			found = true;
		}
	}
	free(list);
	return found;
}

/* A first apply creates the VIP, owned by the config, with its backends and its table. */
VEER_TEST(ctl_apply_creates)
{
	struct veer_apply_result r;
	struct veer_vip vip;
	struct ctl_veer c;
	struct spec sp;
	__u32 shares[3];
	size_t n;

	if (!ctl_veer_up(&c) || !spec_make(&sp, VIP_A, 251, 0, three, NULL, 3))
		goto out;
	if (!ASSERT_OK(apply_one(c.v, &sp, VEER_OWNER_CONFIG, &r), "apply"))
		goto out;
	ASSERT_EQ(r.vips_added, 1, "one VIP added");
	ASSERT_EQ(r.backends_added, 3, "three backends added");
	ASSERT_EQ(r.rings_published, 1, "one table");
	ASSERT_TRUE(r.map_writes > 0, "writes counted");
	if (!ASSERT_OK(veer_vip_get(c.v, &sp.s.key, &vip), "the VIP is there"))
		goto out;
	ASSERT_EQ(vip.owner, VEER_OWNER_CONFIG, "owned by the config");
	ASSERT_EQ(vip.ring_size, 251, "its ring size");
	if (ASSERT_TRUE(ring_shares(c.v, &sp.s.key, shares, &n), "its table") &&
	    ASSERT_EQ(n, 3, "three backends"))
		for (size_t i = 0; i < n; i++)
			ASSERT_TRUE(shares[i] >= 83 && shares[i] <= 84, "an equal share each");
out:
	ctl_veer_down(&c);
}

/* The same state again: nothing written, the same table (its map id) in place. */
VEER_TEST(ctl_apply_again_writes_nothing)
{
	struct veer_apply_result r;
	struct veer_config cfg = {};
	struct spec sp[2];
	struct veer_vip_spec specs[2];
	struct ctl_veer c;
	__u32 ring_a, ring_b;
	__u64 w0;

	if (!ctl_veer_up(&c) || !spec_make(&sp[0], VIP_A, 251, 30, three, NULL, 3) ||
	    !spec_make(&sp[1], VIP_B, 13, 0, three, (const __u32[]){200, 100, 0}, 3))
		goto out;
	specs[0] = sp[0].s;
	specs[1] = sp[1].s;
	cfg.vips = specs;
	cfg.nvips = 2;
	if (!ASSERT_OK(veer_config_apply(c.v, &cfg, VEER_OWNER_CONFIG, &r), "first apply"))
		goto out;
	ring_a = ring_id(c.v, &sp[0].s.key);
	ring_b = ring_id(c.v, &sp[1].s.key);
	ASSERT_TRUE(ring_a && ring_b, "two tables");
	w0 = veer_map_writes();
	memset(&r, 0, sizeof(r));
	if (!ASSERT_OK(veer_config_apply(c.v, &cfg, VEER_OWNER_CONFIG, &r), "second apply"))
		goto out;
	ASSERT_EQ(veer_map_writes() - w0, 0, "no map written");
	ASSERT_EQ(r.map_writes, 0, "the result says so");
	ASSERT_EQ(r.vips_added + r.vips_changed + r.vips_removed + r.backends_added +
			  r.backends_changed + r.backends_removed + r.rings_published,
		  0, "nothing changed");
	ASSERT_EQ(ring_id(c.v, &sp[0].s.key), ring_a, "A's table is the same map");
	ASSERT_EQ(ring_id(c.v, &sp[1].s.key), ring_b, "B's table is the same map");
	/* From a new handle, as veerd's next reconcile opens one: nothing either. */
	veer_close(c.v);
	c.v = NULL;
	if (!ASSERT_OK(veer_open(&c.v, true), "reopen"))
		goto out;
	w0 = veer_map_writes();
	ASSERT_OK(veer_config_apply(c.v, &cfg, VEER_OWNER_CONFIG, NULL), "third apply");
	ASSERT_EQ(veer_map_writes() - w0, 0, "no map written from a new handle");
out:
	ctl_veer_down(&c);
}

/*
 * Affinity and ring size change in place: the VIP keeps its id and its flows (no sweep); a ring
 * size change publishes a table of the new size.
 */
VEER_TEST(ctl_apply_settings_in_place)
{
	struct veer_apply_result r;
	struct veer_vip before, after;
	struct ctl_veer c;
	struct spec sp;
	__u32 slot, ring0, shares[3];
	size_t n;

	if (!ctl_veer_up(&c) || !spec_make(&sp, VIP_A, 251, 0, three, NULL, 3) ||
	    !ASSERT_OK(apply_one(c.v, &sp, VEER_OWNER_CONFIG, &r), "apply") ||
	    !ASSERT_OK(veer_vip_get(c.v, &sp.s.key, &before), "the VIP") ||
	    !ASSERT_TRUE(slot_of(c.v, &sp.s.key, three[1], &slot, NULL), "a slot") ||
	    !flow_put(c.v, &sp.s.key, 0xc6120102, slot))
		goto out;
	ring0 = ring_id(c.v, &sp.s.key);

	sp.s.opts.affinity = 600;
	if (!ASSERT_OK(apply_one(c.v, &sp, VEER_OWNER_CONFIG, &r), "affinity 600") ||
	    !ASSERT_OK(veer_vip_get(c.v, &sp.s.key, &after), "the VIP"))
		goto out;
	ASSERT_EQ(after.affinity, 600, "affinity changed");
	ASSERT_EQ(after.id, before.id, "the same VIP id");
	ASSERT_EQ(r.vips_changed, 1, "one VIP changed");
	ASSERT_EQ(r.rings_published, 0, "no table: affinity is not in it");
	ASSERT_EQ(r.map_writes, 1, "one write: the VIP's value");
	ASSERT_EQ(ring_id(c.v, &sp.s.key), ring0, "the same table");
	ASSERT_TRUE(flow_there(c.v, &sp.s.key, 0xc6120102), "the flow is still there");

	sp.s.opts.ring_size = 1021;
	if (!ASSERT_OK(apply_one(c.v, &sp, VEER_OWNER_CONFIG, &r), "ring size 1021") ||
	    !ASSERT_OK(veer_vip_get(c.v, &sp.s.key, &after), "the VIP"))
		goto out;
	ASSERT_EQ(after.ring_size, 1021, "ring size changed");
	ASSERT_EQ(after.id, before.id, "the same VIP id");
	ASSERT_EQ(r.rings_published, 1, "a table of the new size");
	ASSERT_NEQ(ring_id(c.v, &sp.s.key), ring0, "a new table");
	ASSERT_TRUE(ring_shares(c.v, &sp.s.key, shares, &n), "it has 1021 slots");
	ASSERT_TRUE(flow_there(c.v, &sp.s.key, 0xc6120102), "the flow is still there");

	/* Smaller again: the VIP's value first, then the table; still in place. */
	sp.s.opts.ring_size = 13;
	ASSERT_OK(apply_one(c.v, &sp, VEER_OWNER_CONFIG, &r), "ring size 13");
	ASSERT_TRUE(ring_shares(c.v, &sp.s.key, shares, &n), "it has 13 slots");
	ASSERT_TRUE(flow_there(c.v, &sp.s.key, 0xc6120102), "the flow is still there");
out:
	ctl_veer_down(&c);
}

/*
 * Weights of two backends changed in one apply: one table, published once; a backend left out
 * is removed as veer backend del removes one (its slot REMOVED, its flows finishing).
 */
VEER_TEST(ctl_apply_weights_one_table)
{
	struct veer_apply_result r;
	struct veer_backend be;
	struct veer *other;
	struct ctl_veer c;
	struct spec sp;
	__u32 ring0, slot, again, gen, shares[3];
	size_t n;

	if (!ctl_veer_up(&c) || !spec_make(&sp, VIP_A, 251, 0, three, NULL, 3) ||
	    !ASSERT_OK(apply_one(c.v, &sp, VEER_OWNER_CONFIG, &r), "apply"))
		goto out;
	ring0 = ring_id(c.v, &sp.s.key);
	sp.b[0].weight = 200;
	sp.b[1].weight = 0;
	if (!ASSERT_OK(apply_one(c.v, &sp, VEER_OWNER_CONFIG, &r), "re-weight"))
		goto out;
	ASSERT_EQ(r.backends_changed, 2, "two backends changed");
	ASSERT_EQ(r.rings_published, 1, "one table published");
	/*
	 * Two slots, and the table: this handle swapped it in, so it holds it and rewrites it in
	 * place (no swap: no RCU grace period).
	 */
	ASSERT_EQ(r.map_writes, 2 + 1, "writes: the two slots and the table in place");
	ASSERT_EQ(ring_id(c.v, &sp.s.key), ring0, "the same table, rewritten");
	if (ASSERT_TRUE(ring_shares(c.v, &sp.s.key, shares, &n), "the table") &&
	    ASSERT_EQ(n, 3, "three backends")) {
		ASSERT_EQ(shares[1], 0, "weight 0: drained, out of the table");
		ASSERT_TRUE(shares[0] >= 166 && shares[0] <= 168, "weight 200: two thirds");
	}
	/* The third left out: removed, its slot kept for its flows. */
	if (!ASSERT_TRUE(slot_of(c.v, &sp.s.key, three[2], &slot, &be), "its slot") ||
	    !flow_put(c.v, &sp.s.key, 0xc6120105, slot))
		goto out;
	gen = be.gen;
	sp.s.nbackends = 2;
	if (!ASSERT_OK(apply_one(c.v, &sp, VEER_OWNER_CONFIG, &r), "one backend fewer"))
		goto out;
	ASSERT_EQ(r.backends_removed, 1, "one removed");
	ASSERT_EQ(r.rings_published, 1, "one table published");
	ASSERT_FALSE(slot_of(c.v, &sp.s.key, three[2], &slot, NULL), "no longer listed");
	ASSERT_TRUE(!bpf_map__lookup_elem(c.v->skel->maps.veer_backends, &slot, sizeof(slot), &be,
					  sizeof(be), 0) &&
			    be.flags == VEER_BACKEND_REMOVED && be.weight == 0,
		    "its slot REMOVED, weight 0");
	ASSERT_TRUE(flow_there(c.v, &sp.s.key, 0xc6120105), "its flow finishes on it");
	/* Declared again: the same slot taken back, with its flows. */
	sp.s.nbackends = 3;
	ASSERT_OK(apply_one(c.v, &sp, VEER_OWNER_CONFIG, &r), "the backend back");
	ASSERT_TRUE(slot_of(c.v, &sp.s.key, three[2], &again, &be) && again == slot &&
			    be.gen == gen,
		    "the same slot and gen");

	/*
	 * Another writer swaps a table of its own in (veer backend set from the CLI): the table
	 * this handle held is no longer the VIP's. Its next publish must reach the table packets
	 * read (the new one, adopted, or one of its own), never the one it held.
	 */
	veer_unlock(c.v);
	if (ASSERT_OK(veer_open(&other, true), "another writer")) {
		struct veer_endpoint ep;

		ASSERT_OK(veer_parse_endpoint(three[0], &ep, false), "ep");
		ASSERT_OK(veer_backend_set_weight(other, &sp.s.key, &ep, 50), "its weight change");
		veer_close(other);
	}
	if (!ASSERT_OK(veer_relock(c.v, true), "locked again"))
		goto out;
	sp.b[0].weight = 300;
	ASSERT_OK(apply_one(c.v, &sp, VEER_OWNER_CONFIG, &r), "re-weight after it");
	if (ASSERT_TRUE(ring_shares(c.v, &sp.s.key, shares, &n), "the table") &&
	    ASSERT_EQ(n, 3, "three backends"))
		ASSERT_TRUE(shares[0] > shares[2], "weight 300 outweighs 100");
out:
	ctl_veer_down(&c);
}

static int apply_quiet(void *arg)
{
	void **a = arg;

	return veer_vip_apply(a[0], a[1], VEER_OWNER_CONFIG, a[2]);
}

/* A VIP made by hand is refused by an apply (-EPERM, one line) and left as it was. */
VEER_TEST(ctl_apply_refuses_cli_vip)
{
	struct veer_vip_opts o = {.mode = VEER_MODE_NAT, .ring_size = 13};
	struct veer_backend_info *before = NULL, *after = NULL;
	struct veer_apply_result r = {};
	struct veer_vip vip;
	struct veer_endpoint ep;
	struct ctl_veer c;
	struct spec sp;
	char msg[512];
	size_t nb, na;
	__u64 w0;

	if (!ctl_veer_up(&c) || !spec_make(&sp, VIP_A, 251, 0, three, NULL, 3) ||
	    !ASSERT_OK(veer_vip_add(c.v, &sp.s.key, &o), "vip add") ||
	    !ASSERT_OK(veer_parse_endpoint("198.18.11.9", &ep, false), "ep") ||
	    !ASSERT_OK(veer_backend_add(c.v, &sp.s.key, &ep, 100, NULL), "backend add") ||
	    !ASSERT_OK(veer_backend_list(c.v, &sp.s.key, &before, &nb), "list"))
		goto out;
	w0 = veer_map_writes();
	ASSERT_EQ(stderr_of(apply_quiet, (void *[]){c.v, &sp.s, &r}, msg, sizeof(msg)), -EPERM,
		  "refused");
	ASSERT_STREQ(msg,
		     "veer: cannot apply VIP " VIP_A ": it was made by hand (veer vip add); "
		     "delete it or leave it out of the config\n",
		     "the one line said");
	ASSERT_EQ(veer_map_writes() - w0, 0, "nothing written");
	if (!ASSERT_OK(veer_vip_get(c.v, &sp.s.key, &vip), "still there") ||
	    !ASSERT_OK(veer_backend_list(c.v, &sp.s.key, &after, &na), "list"))
		goto out;
	ASSERT_EQ(vip.owner, VEER_OWNER_CLI, "still the CLI's");
	ASSERT_EQ(vip.ring_size, 13, "its ring size");
	ASSERT_MEMEQ(after, na * sizeof(*after), before, nb * sizeof(*before), "its backends");
out:
	free(before);
	free(after);
	ctl_veer_down(&c);
}

/*
 * A config applied whole: a VIP it no longer declares is removed with its flows; a VIP made by
 * hand is never removed; a new mode re-creates the VIP.
 */
VEER_TEST(ctl_apply_config_removes)
{
	struct veer_vip_opts o = {.mode = VEER_MODE_NAT, .ring_size = 13};
	struct veer_vip_key hand;
	struct veer_apply_result r;
	struct veer_vip_spec specs[2];
	struct veer_config cfg = {.vips = specs, .nvips = 2};
	struct veer_vip vip;
	struct ctl_veer c;
	struct spec sp[2];
	__u32 slot;

	if (!ctl_veer_up(&c) || !spec_make(&sp[0], VIP_A, 13, 0, three, NULL, 3) ||
	    !spec_make(&sp[1], VIP_B, 13, 0, three, NULL, 2) ||
	    !ASSERT_OK(veer_parse_vip("198.18.100.42:80/udp", &hand), "hand") ||
	    !ASSERT_OK(veer_vip_add(c.v, &hand, &o), "a VIP by hand"))
		goto out;
	specs[0] = sp[0].s;
	specs[1] = sp[1].s;
	if (!ASSERT_OK(veer_config_apply(c.v, &cfg, VEER_OWNER_CONFIG, &r), "two VIPs") ||
	    !ASSERT_TRUE(slot_of(c.v, &sp[1].s.key, three[0], &slot, NULL), "B's slot") ||
	    !flow_put(c.v, &sp[1].s.key, 0xc6120107, slot))
		goto out;
	cfg.nvips = 1;
	memset(&r, 0, sizeof(r));
	if (!ASSERT_OK(veer_config_apply(c.v, &cfg, VEER_OWNER_CONFIG, &r), "B left out"))
		goto out;
	ASSERT_EQ(r.vips_removed, 1, "one VIP removed");
	ASSERT_EQ(veer_vip_get(c.v, &sp[1].s.key, &vip), -ENOENT, "B is gone");
	ASSERT_FALSE(flow_there(c.v, &sp[1].s.key, 0xc6120107), "with its flows");
	ASSERT_OK(veer_vip_get(c.v, &sp[0].s.key, &vip), "A stays");
	ASSERT_OK(veer_vip_get(c.v, &hand, &vip), "the VIP made by hand stays");

	specs[0].opts.mode = VEER_MODE_DSR_L2;
	memset(&r, 0, sizeof(r));
	if (!ASSERT_OK(veer_config_apply(c.v, &cfg, VEER_OWNER_CONFIG, &r), "A in dsr-l2") ||
	    !ASSERT_OK(veer_vip_get(c.v, &sp[0].s.key, &vip), "A"))
		goto out;
	ASSERT_EQ(vip.mode, VEER_MODE_DSR_L2, "re-created in its new mode");
	ASSERT_EQ(r.vips_changed, 1, "counted as changed");
	ASSERT_TRUE(slot_of(c.v, &sp[0].s.key, three[0], &slot, NULL) &&
			    VEER_BACKEND_MODE(c.v->backends[slot].flags) == VEER_MODE_DSR_L2,
		    "its backends carry the mode");
	cfg.nvips = 0;
	ASSERT_OK(veer_config_apply(c.v, &cfg, VEER_OWNER_CONFIG, NULL), "an empty config");
	ASSERT_EQ(veer_vip_get(c.v, &sp[0].s.key, &vip), -ENOENT, "A is gone");
	ASSERT_OK(veer_vip_get(c.v, &hand, &vip), "the VIP made by hand stays");
out:
	ctl_veer_down(&c);
}

static int apply_as_k8s(void *arg)
{
	void **a = arg;

	return veer_vips_apply(a[0], a[1], 1, VEER_OWNER_KUBERNETES, NULL);
}

/*
 * Each owner its own set: the file's apply and Kubernetes' never remove etcd's VIPs, another
 * owner's VIP is refused by name, and an empty set for etcd (its block taken out of the file)
 * removes etcd's alone.
 */
VEER_TEST(ctl_apply_owners_apart)
{
	struct veer_apply_result r = {};
	struct veer_vip vip;
	struct ctl_veer c;
	struct spec e, f;
	char msg[512];

	if (!ctl_veer_up(&c) || !spec_make(&e, VIP_A, 13, 0, three, NULL, 3) ||
	    !spec_make(&f, VIP_B, 13, 0, three, NULL, 2) ||
	    !ASSERT_OK(veer_vips_apply(c.v, &e.s, 1, VEER_OWNER_ETCD, &r), "etcd's VIP") ||
	    !ASSERT_OK(veer_vips_apply(c.v, &f.s, 1, VEER_OWNER_CONFIG, &r), "the file's VIP"))
		goto out;
	ASSERT_OK(veer_vip_get(c.v, &e.s.key, &vip), "etcd's VIP stays after the file's apply");
	ASSERT_EQ(vip.owner, VEER_OWNER_ETCD, "owned by etcd");
	ASSERT_STREQ(veer_owner_name(vip.owner), "etcd", "its owner's name");
	ASSERT_OK(veer_vips_apply(c.v, NULL, 0, VEER_OWNER_KUBERNETES, NULL), "kubernetes: none");
	ASSERT_OK(veer_vip_get(c.v, &e.s.key, &vip), "etcd's VIP stays after kubernetes' apply");
	ASSERT_EQ(stderr_of(apply_as_k8s, (void *[]){c.v, &e.s}, msg, sizeof(msg)), -EPERM,
		  "kubernetes declaring etcd's VIP: refused");
	ASSERT_STREQ(msg,
		     "veer: cannot apply VIP " VIP_A ": it comes from veerd's etcd source\n",
		     "the one line said");
	ASSERT_OK(veer_vips_apply(c.v, NULL, 0, VEER_OWNER_ETCD, &r), "etcd: none");
	ASSERT_EQ(veer_vip_get(c.v, &e.s.key, &vip), -ENOENT, "etcd's VIP is gone");
	ASSERT_OK(veer_vip_get(c.v, &f.s.key, &vip), "the file's stays");
out:
	ctl_veer_down(&c);
}

/* A config is checked whole before anything is written: one bad VIP, nothing changes. */
VEER_TEST(ctl_apply_checks_first)
{
	struct veer_vip_spec specs[2];
	struct veer_config cfg = {.vips = specs, .nvips = 2};
	struct veer_vip vip;
	struct ctl_veer c;
	struct spec sp[2];
	char err[VEER_CONFIG_ERR_LEN];
	__u64 w0;

	if (!ctl_veer_up(&c) || !spec_make(&sp[0], VIP_A, 13, 0, three, NULL, 3) ||
	    !spec_make(&sp[1], VIP_B, 13, 0, three, (const __u32[]){100, 20000, 100}, 3))
		goto out;
	ASSERT_EQ(veer_vip_spec_check(&sp[1].s, err, sizeof(err)), -EINVAL, "weight 20000");
	ASSERT_STREQ(err, "backends[1].weight: 20000 is out of range (want 0..10000)", "said");
	specs[0] = sp[0].s;
	specs[1] = sp[1].s;
	w0 = veer_map_writes();
	ASSERT_EQ(veer_config_apply(c.v, &cfg, VEER_OWNER_CONFIG, NULL), -EINVAL, "refused");
	ASSERT_EQ(veer_map_writes() - w0, 0, "nothing written");
	ASSERT_EQ(veer_vip_get(c.v, &sp[0].s.key, &vip), -ENOENT, "not even the good VIP");
	/* The same VIP twice. */
	specs[1] = sp[0].s;
	ASSERT_EQ(veer_config_apply(c.v, &cfg, VEER_OWNER_CONFIG, NULL), -EINVAL, "twice");
	ASSERT_EQ(veer_map_writes() - w0, 0, "nothing written");
out:
	ctl_veer_down(&c);
}

/* Each rule of veer_vip_spec_check, in its words. */
VEER_TEST(ctl_apply_spec_check)
{
	static const char *const dup[] = {"198.18.11.2", "198.18.11.2:80"};
	static const char *const six[] = {"2001:2::11"};
	static const char *const port[] = {"198.18.11.2:8080"};
	char err[VEER_CONFIG_ERR_LEN];
	struct spec sp;

	if (!spec_make(&sp, VIP_A, 0, 0, three, NULL, 3))
		return;
	ASSERT_OK(veer_vip_spec_check(&sp.s, err, sizeof(err)), "a good VIP");
	sp.s.opts.affinity = 86401;
	ASSERT_EQ(veer_vip_spec_check(&sp.s, err, sizeof(err)), -EINVAL, "affinity");
	ASSERT_STREQ(err, "affinity: 86401 is out of range (want 0..86400 seconds)", "affinity");
	sp.s.opts.affinity = 0;
	sp.s.opts.ring_size = 100;
	ASSERT_EQ(veer_vip_spec_check(&sp.s, err, sizeof(err)), -EINVAL, "ring size");
	ASSERT_STREQ(err, "ring_size: 100 is not a prime up to 1048573", "ring size");
	sp.s.opts.ring_size = 2;
	ASSERT_EQ(veer_vip_spec_check(&sp.s, err, sizeof(err)), -EINVAL, "3 backends in 2");
	ASSERT_STREQ(err, "backends: 3 backends, more than ring slots (2)", "ring slots");
	sp.s.opts.ring_size = 0;
	sp.s.key.addr.v4 = htonl(0x7f000001);
	ASSERT_EQ(veer_vip_spec_check(&sp.s, err, sizeof(err)), -EINVAL, "loopback VIP");
	ASSERT_STREQ(err, "address: 127.0.0.1 is a loopback address", "loopback");
	sp.s.key.addr.v4 = htonl(0xa9fe0001);
	ASSERT_EQ(veer_vip_spec_check(&sp.s, err, sizeof(err)), -EINVAL, "link-local VIP");
	ASSERT_STREQ(err, "address: 169.254.0.1 is a link-local address", "link-local");
	spec_make(&sp, VIP_A, 0, 0, three, NULL, 3);
	sp.s.key.port = 0;
	ASSERT_EQ(veer_vip_spec_check(&sp.s, err, sizeof(err)), -EINVAL, "port 0");
	ASSERT_STREQ(err, "port: 0 is not a port (want 1..65535)", "port");
	spec_make(&sp, VIP_A, 0, 0, three, NULL, 3);
	sp.b[2].ep.addr.v4 = htonl(0xe0000001);
	ASSERT_EQ(veer_vip_spec_check(&sp.s, err, sizeof(err)), -EINVAL, "multicast backend");
	ASSERT_STREQ(err, "backends[2].address: 224.0.0.1 is a multicast address", "multicast");
	spec_make(&sp, VIP_A, 0, 0, dup, NULL, 2);
	ASSERT_EQ(veer_vip_spec_check(&sp.s, err, sizeof(err)), -EINVAL, "duplicate");
	ASSERT_STREQ(err, "backends[1]: 198.18.11.2:80 is listed twice (backends[0])", "twice");
	spec_make(&sp, VIP_A, 0, 0, six, NULL, 1);
	ASSERT_EQ(veer_vip_spec_check(&sp.s, err, sizeof(err)), -EINVAL, "IPv6 of an IPv4 VIP");
	ASSERT_STREQ(err, "backends[0]: 2001:2::11: address family differs from the VIP's",
		     "family");
	sp.s.opts.mode = VEER_MODE_DSR_IPIP;
	ASSERT_OK(veer_vip_spec_check(&sp.s, err, sizeof(err)), "dsr-ipip carries it");
	spec_make(&sp, VIP_A, 0, 0, port, NULL, 1);
	ASSERT_OK(veer_vip_spec_check(&sp.s, err, sizeof(err)), "NAT rewrites ports");
	sp.s.opts.mode = VEER_MODE_DSR_L2;
	ASSERT_EQ(veer_vip_spec_check(&sp.s, err, sizeof(err)), -EINVAL, "DSR cannot");
	ASSERT_STREQ(err,
		     "backends[0]: 198.18.11.2: a dsr-l2 VIP cannot rewrite ports (the backend "
		     "must listen on 80)",
		     "DSR port");
	spec_make(&sp, VIP_A, 0, 0, three, NULL, 1);
	strcpy(sp.b[0].pool, "edge");
	ASSERT_EQ(veer_vip_spec_check(&sp.s, err, sizeof(err)), -EINVAL, "a pool");
	ASSERT_STREQ(err,
		     "backends[0].pool: pools are not supported yet: every backend is in the "
		     "pool 'default'",
		     "pool");
}

/*
 * The digest names what each position sends to, never the slot: two pin directories given the
 * same backends in different orders (so in different slots) agree; a weight apart, they do not.
 */
VEER_TEST(ctl_apply_ring_digest)
{
	static const char *const fwd[] = {"198.18.11.2", "198.18.11.3", "198.18.11.4",
					  "198.18.11.5"};
	static const char *const rev[] = {"198.18.11.5", "198.18.11.4", "198.18.11.3",
					  "198.18.11.2"};
	__u64 d[3] = {};
	struct veer_vip vip;
	struct ctl_veer c;
	int run;

	for (run = 0; run < 3; run++) {
		struct veer_vip_opts o = {.mode = VEER_MODE_NAT, .ring_size = 1021};
		const char *const *order = run == 1 ? rev : fwd;
		struct veer_vip_key key;
		struct veer_endpoint ep;
		bool ok = true;

		if (!ctl_veer_up(&c) || !ASSERT_OK(veer_parse_vip(VIP_A, &key), "VIP") ||
		    !ASSERT_OK(veer_vip_add(c.v, &key, &o), "vip add")) {
			ctl_veer_down(&c);
			return;
		}
		/* A slot used and freed first, in one directory only: the slots differ more. */
		if (run == 1) {
			ok &= !veer_parse_endpoint("198.18.11.99", &ep, false) &&
			      !veer_backend_add(c.v, &key, &ep, 100, NULL) &&
			      !veer_backend_del(c.v, &key, &ep);
		}
		for (int i = 0; ok && i < 4; i++)
			ok = !veer_parse_endpoint(order[i], &ep, false) &&
			     !veer_backend_add(c.v, &key, &ep, run == 2 && i == 3 ? 101 : 100,
					       NULL);
		ok = ASSERT_TRUE(ok, "backends added") &&
		     ASSERT_OK(veer_vip_get(c.v, &key, &vip), "the VIP") &&
		     ASSERT_OK(veer_ring_digest(c.v, &vip, &d[run]), "digest");
		ctl_veer_down(&c);
		if (!ok)
			return;
	}
	ASSERT_EQ(d[0], d[1], "same backends, other order and slots: the same digest");
	ASSERT_NEQ(d[0], d[2], "one weight apart: another digest");
}

/*
 * A backend marked down leaves the table and comes back when marked up; its flows stay, unless
 * the mark says reset. The mark survives an apply that does not mention health.
 */
VEER_TEST(ctl_apply_health)
{
	struct veer_apply_result r;
	struct veer_endpoint ep;
	struct veer_backend be;
	struct ctl_veer c;
	struct spec sp;
	__u32 slot, ring0, shares[3];
	size_t n;
	__u64 w0;

	if (!ctl_veer_up(&c) || !spec_make(&sp, VIP_A, 251, 0, three, NULL, 3) ||
	    !ASSERT_OK(apply_one(c.v, &sp, VEER_OWNER_CONFIG, &r), "apply") ||
	    !ASSERT_TRUE(slot_of(c.v, &sp.s.key, three[1], &slot, NULL), "a slot") ||
	    !ASSERT_OK(veer_parse_endpoint(three[1], &ep, false), "ep") ||
	    !flow_put(c.v, &sp.s.key, 0xc6120110, slot))
		goto out;
	ring0 = ring_id(c.v, &sp.s.key);
	if (!ASSERT_OK(veer_backend_set_health(c.v, &sp.s.key, &ep, false, false), "down"))
		goto out;
	ASSERT_TRUE(slot_of(c.v, &sp.s.key, three[1], &slot, &be) &&
			    (be.flags & VEER_BACKEND_DOWN) && be.weight == 100,
		    "marked down, its weight kept");
	ASSERT_EQ(ring_id(c.v, &sp.s.key), ring0, "the handle's table, rewritten in place");
	if (ASSERT_TRUE(ring_shares(c.v, &sp.s.key, shares, &n), "the table"))
		ASSERT_EQ(shares[1], 0, "out of it");
	ASSERT_TRUE(flow_there(c.v, &sp.s.key, 0xc6120110), "its flow stays");
	w0 = veer_map_writes();
	ASSERT_OK(veer_backend_set_health(c.v, &sp.s.key, &ep, false, false), "down again");
	ASSERT_EQ(veer_map_writes() - w0, 0, "nothing to write");

	/* An apply of the same config keeps the mark and writes nothing. */
	ASSERT_OK(apply_one(c.v, &sp, VEER_OWNER_CONFIG, &r), "apply again");
	ASSERT_EQ(r.map_writes, 0, "nothing written");
	ASSERT_TRUE(slot_of(c.v, &sp.s.key, three[1], &slot, &be) && (be.flags & VEER_BACKEND_DOWN),
		    "still down");

	if (!ASSERT_OK(veer_backend_set_health(c.v, &sp.s.key, &ep, true, false), "up"))
		goto out;
	if (ASSERT_TRUE(ring_shares(c.v, &sp.s.key, shares, &n), "the table"))
		ASSERT_TRUE(shares[1] >= 83 && shares[1] <= 84, "back in it, its share");

	/* on_down: reset: its flows go, the others' stay. */
	if (!ASSERT_TRUE(slot_of(c.v, &sp.s.key, three[0], &slot, NULL), "another slot") ||
	    !flow_put(c.v, &sp.s.key, 0xc6120111, slot))
		goto out;
	ASSERT_OK(veer_backend_set_health(c.v, &sp.s.key, &ep, false, true), "down, reset");
	ASSERT_FALSE(flow_there(c.v, &sp.s.key, 0xc6120110), "its flow is gone");
	ASSERT_TRUE(flow_there(c.v, &sp.s.key, 0xc6120111), "another backend's flow stays");
	ASSERT_OK(veer_parse_endpoint("198.18.11.77", &ep, false), "ep");
	ASSERT_EQ(veer_backend_set_health(c.v, &sp.s.key, &ep, false, false), -ENOENT,
		  "no such backend");
out:
	ctl_veer_down(&c);
}

/* A VIP whose table is not there at its size (a change that died half-way) gets it back. */
VEER_TEST(ctl_apply_mends_table)
{
	struct veer_apply_result r;
	struct veer_vip vip;
	struct ctl_veer c;
	struct spec sp;
	__u32 shares[3];
	size_t n;

	if (!ctl_veer_up(&c) || !spec_make(&sp, VIP_A, 251, 0, three, NULL, 3) ||
	    !ASSERT_OK(apply_one(c.v, &sp, VEER_OWNER_CONFIG, &r), "apply") ||
	    !ASSERT_OK(veer_vip_get(c.v, &sp.s.key, &vip), "the VIP") ||
	    !ASSERT_OK(veer_rings_clear(c.v, &vip.id, 1), "its table lost"))
		goto out;
	ASSERT_FALSE(ring_shares(c.v, &sp.s.key, shares, &n), "no table of 251 slots");
	if (!ASSERT_OK(apply_one(c.v, &sp, VEER_OWNER_CONFIG, &r), "apply again"))
		goto out;
	ASSERT_EQ(r.rings_published, 1, "its table published again");
	ASSERT_TRUE(ring_shares(c.v, &sp.s.key, shares, &n) && n == 3 && shares[0] >= 83,
		    "the table back");
out:
	ctl_veer_down(&c);
}
