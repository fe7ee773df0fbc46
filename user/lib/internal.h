/* SPDX-License-Identifier: GPL-2.0 */
/* What libveer's files share with each other and with no one else. */
#ifndef VEER_INTERNAL_H
#define VEER_INTERNAL_H

#include "veer.h"
#include "lb.skel.h"

struct veer {
	struct lb *skel; /* maps only: the program is loaded by veer_attach */
	int lock_fd;	 /* the pin directory, flock'ed by writers */
	int ncpus;
	/*
	 * veer_backends as read once per handle (the lock keeps it current): every backend
	 * operation scans the whole table, and 4096 lookups per scan made VIP and backend
	 * commands slow down with the number of VIPs.
	 */
	struct veer_backend *backends;
	/* veer_vips by id, read once per handle likewise (veer_vips_get); NULL until then. */
	struct veer_vip_ent *vips;
	/*
	 * veer_rings was pinned by a veer whose tables are not memory-mapped (VEER_RING_MAP_FLAGS):
	 * it takes only tables of its own flags, filled by updates.
	 */
	bool ring_plain;
	/*
	 * The tables this handle put in veer_rings, by VIP id (NULL until the first): a handle
	 * kept open (veerd) rewrites them in place (vip.c, ring_in_place).
	 */
	struct veer_ring_held *rings_held;
};

struct veer_ring_held {
	int fd; /* -1: none */
	__u32 map_id;
	__u32 slots;
};

/*
 * Counted writes: every update and delete libveer makes on the load balancer's maps goes
 * through these, so that veer_map_writes() can tell an apply that changed nothing. They return
 * what libbpf returns (0 or -errno). A batch call counts one write, as does a map created for a
 * table and its fill (veer_map_written).
 */
int veer_map_update(struct bpf_map *map, const void *key, size_t ksz, const void *val, size_t vsz,
		    __u64 flags);
int veer_map_delete(struct bpf_map *map, const void *key, size_t ksz);
int veer_map_update_batch(int fd, const void *keys, const void *vals, __u32 *count);
int veer_map_delete_batch(int fd, const void *keys, __u32 *count);
void veer_map_written(unsigned n);

/* One VIP as the handle knows it, by id. */
struct veer_vip_ent {
	struct veer_vip_key key;
	struct veer_vip vip;
	bool used; /* a VIP has the id, in veer_vips or about to be (an apply's new VIP) */
};

/*
 * veer_vips by id (VEER_MAX_VIPS entries), read in one pass on first use and kept equal to the
 * map by veer_vip_write and veer_vip_erase, which every writer of veer_vips goes through (the
 * writer's lock keeps anyone else out). NULL when the table cannot be read (logged).
 */
struct veer_vip_ent *veer_vips_get(struct veer *v);
int veer_vip_write(struct veer *v, const struct veer_vip_key *key, const struct veer_vip *vip,
		   __u64 flags);
int veer_vip_erase(struct veer *v, const struct veer_vip_key *key, __u32 id);
/*
 * Sets veer_vip_addrs[address] to the number of VIPs the handle knows at that address, writing
 * only what differs.
 */
int veer_vip_addr_set(struct veer *v, const union veer_addr *addr, __u8 family);

/*
 * Serialises writers of the pinned state (slot allocation and ring rebuilds read, then write):
 * an flock on the pin directory, shared for readers. Returns the fd to close, or -errno.
 */
int veer_lock_pins(bool write);

/*
 * 0 when the pin directory is on a bpffs, or would be if it were made (veer_check_bpffs, which
 * also makes it); else -ENOTSUP with a message.
 */
int veer_bpffs_check(void);

/*
 * Whether map's pin exists with this veer's layout (type, key and value sizes, flags, and the
 * size unless any_size): 1 with *info filled, 0 when it is not pinned, -errno with the reason
 * logged (-EINVAL: pinned by another version of veer).
 */
int veer_pin_check(const struct bpf_map *map, bool any_size, struct bpf_map_info *info);

/*
 * Opens the load balancer's skeleton with its maps matched to the pins of the pin directory
 * (see pins_match in state.c): create sizes what is missing for the load to create it, else
 * what is missing stays unpinned and a directory with none of the maps is -ENOENT. Nothing is
 * created until the skeleton is loaded. Take the pin lock first (veer_lock_pins).
 */
int veer_lb_prepare(struct lb **skel, bool create);

/*
 * A program pair veer attaches to interfaces (attach.c): its XDP and tc programs, by name, and
 * how to open its object with the maps matched to the pins, creating what is missing (called
 * with the pin lock held).
 */
struct veer_prog_desc {
	const char *name;  /* in "... NAME is not attached there": "veer", "decap" */
	const char *noun;  /* after the verb in messages: "" (attach to), " decap" */
	const char *title; /* "veer's load balancer", "veer decap" */
	const char *xdp_prog;
	const char *tc_prog;
	/* At tc egress too, whichever hook takes ingress; NULL: none. */
	const char *egress_prog;
	__u32 tc_handle; /* of its clsact ingress filter, prio 1 */
	int (*open)(void **skel, struct bpf_object **obj);
	void (*destroy)(void *skel);
	/* Printed after attaching at XDP to a virtual interface; NULL: nothing to say. */
	const char *virtual_warning;
};

extern const struct veer_prog_desc veer_lb_desc, veer_decap_desc;

int veer_prog_attach(const struct veer_prog_desc *d, const char *ifname, enum veer_hook_choice hook,
		     enum veer_xdp_mode mode);
int veer_prog_detach(const struct veer_prog_desc *d, const char *ifname);
int veer_prog_links(const struct veer_prog_desc *d, struct veer_link **out, size_t *n);

/*
 * Adds (add) or removes a VIP in veer_decap_vips: -EEXIST, -ENOENT, or -ENOSPC when every slot
 * of its window holds another VIP; logs nothing. Takes the map, not a handle, so that the
 * unit tests' private maps are kept by this same code.
 */
int veer_decap_vip_put(struct bpf_map *vips, const union veer_addr *addr, __u8 family, bool add);

/* The backend table (VEER_MAX_BACKENDS slots), read in one batch on first use; NULL on error. */
const struct veer_backend *veer_backends_get(struct veer *v);
/* Writes one backend slot to the map and to the handle's copy. */
int veer_backend_put(struct veer *v, __u32 id, const struct veer_backend *be);

/* Writes zeroes over every CPU's slot of a per-CPU counter array. */
int veer_counters_reset(struct veer *v, struct bpf_map *map, __u32 idx);

/*
 * Sets veer_vip_addrs[address] to the number of VIPs in veer_vips with that address, deleting
 * the entry at 0: the addresses whose echo requests the data plane answers. Takes the maps, not
 * a handle, so that the unit tests' private maps are kept by this same code.
 */
int veer_vip_addr_sync(struct bpf_map *vips, struct bpf_map *addrs, const union veer_addr *addr,
		       __u8 family);
/* Fills an empty veer_vip_addrs from veer_vips (maps pinned by a veer without the map). */
int veer_vip_addrs_adopt(struct veer *v);

/* Rebuilds the VIP's Maglev table off to the side and swaps it in with one update. */
int veer_ring_publish(struct veer *v, const struct veer_vip *vip);
/*
 * The same from the slots in ids (the VIP's, as veer_slots_of gives them; the others are
 * skipped): the active backends of the default pool that are not down, by weight.
 */
int veer_ring_publish_ids(struct veer *v, const struct veer_vip *vip, const __u32 *ids, size_t n);

/* One VIP's table to publish: built from the slots in ids, as veer_ring_publish_ids does. */
struct veer_ring_job {
	const struct veer_vip *vip;
	const __u32 *ids;
	size_t n;
};

/*
 * Publishes many tables, swapped in by batches: each swap of a map of maps costs an RCU grace
 * period, which a batch pays once. *done (if not NULL): how many, from the first, are in.
 */
int veer_rings_publish(struct veer *v, const struct veer_ring_job *jobs, size_t n, size_t *done);
/*
 * Points the tables of deleted VIPs at one empty table, in one batch: veer_rings is an array,
 * whose entries a batch cannot delete, and a delete each would cost a grace period each. The
 * data plane reads a table only through its VIP, which is gone.
 */
int veer_rings_clear(struct veer *v, const __u32 *vip_ids, size_t n);
/*
 * Whether veer_rings holds a table of that size for the VIP. One that is not there (a change
 * that died between a VIP's value and its table) is published again whatever else changes.
 */
bool veer_ring_fits(struct veer *v, __u32 id, __u32 slots);
/* Closes the tables the handle holds (veer_close). */
void veer_rings_held_free(struct veer *v);

/*
 * Changes to the backend table made in one pass (an apply, or one command), without a scan of
 * the whole table per backend: the free slots by age, the next stamp, each VIP's slots as they
 * were at the start, and the addresses:ports whose reply index must be rewritten. Read from the
 * handle's table and VIPs at veer_slots_begin and kept as slots are written through it.
 */
struct veer_slot_ep;
struct veer_slots {
	struct veer *v;
	struct veer_backend *table; /* v->backends */
	__u32 next_seq;
	__u64 *heap; /* free slots, seq << 32 | id, the least first (stale entries skipped) */
	size_t nheap, capheap;
	__u32 *by_vip;		      /* the slots serving each VIP at the start, grouped by VIP */
	__u32 *by_vip_start;	      /* VEER_MAX_VIPS + 1 offsets into by_vip */
	bool *named;		      /* VEER_MAX_VIPS: VIP ids some serving slot names */
	struct veer_slot_ep *touched; /* addresses:ports to re-index */
	size_t ntouched, captouched;
};

int veer_slots_begin(struct veer *v, struct veer_slots *s);
void veer_slots_end(struct veer_slots *s);
/*
 * The slots serving vip_id (active, or removed with flows finishing), as they were at
 * veer_slots_begin less those given to another since; out has room for VEER_MAX_BACKENDS.
 */
size_t veer_slots_of(struct veer_slots *s, __u32 vip_id, __u32 *out);
/* At most how many veer_slots_of gives: room enough for out. */
size_t veer_slots_count(const struct veer_slots *s, __u32 vip_id);
/* The slot serving ep in vip_id (active only); -ENOENT. */
int veer_slots_find(struct veer_slots *s, __u32 vip_id, const struct veer_endpoint *ep, __u32 *id);
/*
 * A slot for ep in vip_id: the one ep was removed from there, whose flows still finish on it
 * (revive: the same gen keeps them its own), else the free slot that changed longest ago.
 * -ENOSPC when every slot serves.
 */
int veer_slots_pick(struct veer_slots *s, __u32 vip_id, const struct veer_endpoint *ep, __u32 *id,
		    bool *revive);
/* Writes slot id (map and handle), noting what the reply index must be told. */
int veer_slots_put(struct veer_slots *s, __u32 id, const struct veer_backend *be);
/* The slot's next stamp, one past every other. */
__u32 veer_slots_seq(struct veer_slots *s);
/* Rewrites the reply index, filter and SHARED marks of every address:port noted since. */
int veer_slots_index(struct veer_slots *s);

/*
 * Creates a VIP as veer_vip_add does, with vip->id from veer_vip_alloc_id and its table
 * published already: counters, the VIP, its filter bit and its address; the proxy's filter
 * bits too when proxy_sync (an apply does them once at its end). Backs out on failure (the
 * table too); logs nothing.
 */
int veer_vip_create(struct veer *v, const struct veer_vip_key *key, const struct veer_vip *vip,
		    bool proxy_sync);
/*
 * The lowest VIP id free: no VIP has it, none is about to (veer_vip_ent.used), and no slot
 * serves it (a slot left by a change that died half-way keeps its id from a new VIP). Marks
 * it used with key; -ENOSPC when none is free.
 */
int veer_vip_alloc_id(struct veer_slots *s, const struct veer_vip_key *key, __u32 *id);

/* The slot serves flows: active, or removed with its established flows finishing on it. */
static inline bool veer_backend_serves(const struct veer_backend *be)
{
	return be->flags & (VEER_BACKEND_ACTIVE | VEER_BACKEND_REMOVED);
}

/*
 * Deletes the VIPs with these ids as veer_vip_del does, in one pass: their flows go in one
 * sweep of each table, however many VIPs. Logs nothing; the VIPs must exist.
 */
int veer_vips_remove(struct veer *v, struct veer_slots *s, const __u32 *ids, size_t n);
/* Deletes the connections (and handshakes) whose slot is set in slots, a bitmap by slot id. */
void veer_flows_sweep(struct veer *v, const __u8 *slots);

/* A kernel without the batch commands (before 5.6), or a map type without them. */
bool veer_batch_unsupported(int err);
/*
 * Calls fn on every entry of a hash map until it returns non-zero (returned), reading the map
 * in batches when the kernel can and one entry at a time when not. Entries may come and go
 * during the walk: each is seen at most once.
 */
int veer_map_walk(struct bpf_map *map, int (*fn)(const void *key, const void *val, void *arg),
		  void *arg);
/*
 * Deletes every entry of a hash map that match() selects (arg is passed through). Keys are
 * collected first, then deleted, so the walk never runs over its own deletions.
 */
void veer_map_sweep(struct bpf_map *map,
		    bool (*match)(const void *key, const void *value, const void *arg),
		    const void *arg);

/*
 * Rewrites veer_be_index for a backend address:port from table (all of veer_backends, kept
 * equal to the map as slot flags change). Takes maps, not a handle, so that the unit tests'
 * private maps are kept by this same code.
 */
int veer_be_index_sync(struct bpf_map *vips, struct bpf_map *backends, struct bpf_map *index,
		       struct bpf_map *svc, struct veer_backend *table, const union veer_addr *addr,
		       __be16 port, __u8 family);

/*
 * Sets veer_svc's slot of one address:port/proto to what veer_vips and veer_be_index hold:
 * called after every change to either, for each key changed.
 */
int veer_svc_sync(struct bpf_map *vips, struct bpf_map *index, struct bpf_map *svc,
		  const union veer_addr *addr, __be16 port, __u8 proto, __u8 family);

/*
 * Rewrites veer_proxy_gate from the rules in veer_proxy_rule: every rule's destination port and
 * its proxy's port. Takes maps, not a handle, so that the unit tests' private maps are kept by
 * this same code.
 */
int veer_proxy_gate_sync(struct bpf_map *rules, struct bpf_map *gate);
/*
 * Sets VEER_SVC_PROXY in veer_svc where some TCP VIP's address:port hashes and a rule without
 * --vip-exempt steers the VIP's port, and clears it everywhere else (svc_hash.h): after every
 * change of the rules or the VIPs.
 */
int veer_proxy_svc_sync(struct bpf_map *vips, struct bpf_map *rules, struct bpf_map *svc);

#endif
