// SPDX-License-Identifier: GPL-2.0
/*
 * libveer's VIP and backend operations against real maps, in a pin directory of the test's own:
 * what they leave in the tables the data plane reads to find a reply's connection
 * (veer_be_index), in its filter (veer_svc), and in the backend slots (flags, gen).
 */
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include "ctl_pins.h"
#include "internal.h"
#include <veer/svc_hash.h>

#define VIP_A "198.18.100.30:80/tcp"
#define VIP_B "198.18.100.31:80/tcp"
#define BE_X  "198.18.11.7"

struct ctl {
	struct pins pins;
	struct veer *v;
	struct veer_vip_key a, b;
	struct veer_endpoint x;
};

static bool ctl_up(struct ctl *c)
{
	memset(c, 0, sizeof(*c));
	if (!pins_up(&c->pins, false) || !ASSERT_OK(veer_set_flows(SMALL_FLOWS), "flows") ||
	    !ASSERT_OK(veer_open(&c->v, true), "veer_open"))
		return false;
	return ASSERT_OK(veer_parse_vip(VIP_A, &c->a), VIP_A) &&
	       ASSERT_OK(veer_parse_vip(VIP_B, &c->b), VIP_B) &&
	       ASSERT_OK(veer_parse_endpoint(BE_X, &c->x, false), BE_X);
}

static void ctl_down(struct ctl *c)
{
	veer_close(c->v);
	pins_down(&c->pins);
}

static bool vip_add(struct ctl *c, const struct veer_vip_key *k)
{
	struct veer_vip_opts o = {.mode = VEER_MODE_NAT, .ring_size = 251};

	return ASSERT_OK(veer_vip_add(c->v, k, &o), "vip add");
}

/* veer_be_index for X on port 80/tcp: the number of VIPs (0 when there is no entry). */
static __u32 index_count(struct ctl *c, struct veer_be_vips *out)
{
	struct veer_be_key k = {
		.addr = c->x.addr, .port = htons(80), .proto = IPPROTO_TCP, .family = c->x.family};
	struct veer_be_vips v = {};

	if (bpf_map__lookup_elem(c->v->skel->maps.veer_be_index, &k, sizeof(k), &v, sizeof(v), 0))
		return 0;
	if (out)
		*out = v;
	return v.count;
}

static __u8 svc_bits(struct ctl *c, const union veer_addr *a, __be16 port)
{
	__u32 slot = veer_svc_slot(a, port, IPPROTO_TCP);
	__u8 bits = 0;

	bpf_map__lookup_elem(c->v->skel->maps.veer_svc, &slot, sizeof(slot), &bits, sizeof(bits),
			     0);
	return bits;
}

/* The slot holding X for the VIP with this key, as the backend list says. */
static bool x_slot(struct ctl *c, const struct veer_vip_key *k, __u32 *id, struct veer_backend *be)
{
	struct veer_backend_info *list;
	size_t n;
	bool found = false;

	if (veer_backend_list(c->v, k, &list, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!memcmp(&list[i].be.addr, &c->x.addr, sizeof(c->x.addr))) {
			*id = list[i].id;
			*be = list[i].be;
			found = true;
		}
	}
	free(list);
	return found;
}

static bool slot_get(struct ctl *c, __u32 id, struct veer_backend *be)
{
	return !bpf_map__lookup_elem(c->v->skel->maps.veer_backends, &id, sizeof(id), be,
				     sizeof(*be), 0);
}

/*
 * A backend's address:port in the index with every VIP it serves, SHARED while more than one,
 * in the filter while any; a removed backend stays (its connections finish) until its VIP goes.
 */
VEER_TEST(ctl_backend_index)
{
	struct veer_backend be, slot;
	struct veer_be_vips idx;
	struct ctl c;
	__u32 id_a, id_b;

	if (!ctl_up(&c))
		goto out;
	if (!vip_add(&c, &c.a) ||
	    !ASSERT_OK(veer_backend_add(c.v, &c.a, &c.x, 100, NULL), "add X to A") ||
	    !ASSERT_EQ(index_count(&c, &idx), 1, "X serves A") ||
	    !ASSERT_TRUE(x_slot(&c, &c.a, &id_a, &be), "X's slot in A"))
		goto out;
	ASSERT_EQ(idx.vips[0].backend_id, id_a, "index entry: the slot");
	ASSERT_TRUE(!memcmp(&idx.vips[0].vip_addr, &c.a.addr, 16) &&
			    idx.vips[0].vip_port == c.a.port,
		    "index entry: A's address and port");
	ASSERT_EQ(be.flags & VEER_BACKEND_SHARED, 0, "not shared");
	ASSERT_EQ(svc_bits(&c, &c.a.addr, c.a.port) & VEER_SVC_VIP, VEER_SVC_VIP, "filter: A");
	ASSERT_EQ(svc_bits(&c, &c.x.addr, htons(80)) & VEER_SVC_BACKEND, VEER_SVC_BACKEND,
		  "filter: X");

	if (!vip_add(&c, &c.b) ||
	    !ASSERT_OK(veer_backend_add(c.v, &c.b, &c.x, 100, NULL), "add X to B") ||
	    !ASSERT_TRUE(x_slot(&c, &c.b, &id_b, &be), "X's slot in B"))
		goto out;
	ASSERT_EQ(index_count(&c, NULL), 2, "X serves A and B");
	ASSERT_TRUE(slot_get(&c, id_a, &slot) && (slot.flags & VEER_BACKEND_SHARED),
		    "A's X shared");
	ASSERT_TRUE(slot_get(&c, id_b, &slot) && (slot.flags & VEER_BACKEND_SHARED),
		    "B's X shared");

	/* Removed from A: out of every choice, still in the index for its connections. */
	if (!ASSERT_OK(veer_backend_del(c.v, &c.a, &c.x), "del X from A"))
		goto out;
	ASSERT_TRUE(slot_get(&c, id_a, &slot) &&
			    slot.flags == (VEER_BACKEND_REMOVED | VEER_BACKEND_SHARED),
		    "A's X removed, address kept");
	ASSERT_EQ(index_count(&c, NULL), 2, "removed X still finds its connections");
	/* Added back: the same slot and gen, so those connections are its own again. */
	if (!ASSERT_OK(veer_backend_add(c.v, &c.a, &c.x, 100, NULL), "add X to A again") ||
	    !ASSERT_TRUE(x_slot(&c, &c.a, &id_b, &be), "X's slot in A again"))
		goto out;
	ASSERT_EQ(id_b, id_a, "the same slot");
	ASSERT_EQ(be.gen, slot.gen, "the same gen");

	/* B deleted: X serves A only, no longer shared; A deleted: X and A leave the filter. */
	if (!ASSERT_OK(veer_vip_del(c.v, &c.b), "del B"))
		goto out;
	ASSERT_EQ(index_count(&c, NULL), 1, "X serves A");
	ASSERT_TRUE(slot_get(&c, id_a, &slot) && !(slot.flags & VEER_BACKEND_SHARED), "not shared");
	if (!ASSERT_OK(veer_vip_del(c.v, &c.a), "del A"))
		goto out;
	ASSERT_EQ(index_count(&c, NULL), 0, "X serves nothing");
	ASSERT_EQ(svc_bits(&c, &c.a.addr, c.a.port) & VEER_SVC_VIP, 0, "filter: A gone");
	ASSERT_EQ(svc_bits(&c, &c.x.addr, htons(80)) & VEER_SVC_BACKEND, 0, "filter: X gone");
out:
	ctl_down(&c);
}

/*
 * A removed backend's slot is reused last: a new backend takes a slot never used, and the
 * removed one keeps its address and gen, so the removed backend's connections still finish.
 */
VEER_TEST(ctl_backend_slot_reused_last)
{
	struct veer_endpoint y;
	struct veer_backend be, slot;
	struct ctl c;
	__u32 id_x, id_y;

	if (!ctl_up(&c))
		goto out;
	if (!ASSERT_OK(veer_parse_endpoint("198.18.11.8", &y, false), "Y") || !vip_add(&c, &c.a) ||
	    !ASSERT_OK(veer_backend_add(c.v, &c.a, &c.x, 100, NULL), "add X") ||
	    !ASSERT_TRUE(x_slot(&c, &c.a, &id_x, &be), "X's slot") ||
	    !ASSERT_OK(veer_backend_del(c.v, &c.a, &c.x), "del X") ||
	    !ASSERT_OK(veer_backend_add(c.v, &c.a, &y, 100, NULL), "add Y"))
		goto out;
	c.x = y;
	if (!ASSERT_TRUE(x_slot(&c, &c.a, &id_y, &slot), "Y's slot"))
		goto out;
	ASSERT_NEQ(id_y, id_x, "Y takes another slot");
	ASSERT_TRUE(slot_get(&c, id_x, &slot) && (slot.flags & VEER_BACKEND_REMOVED) &&
			    slot.gen == be.gen && !memcmp(&slot.addr, &be.addr, 16),
		    "X's slot: removed, its address and gen kept");
out:
	ctl_down(&c);
}
