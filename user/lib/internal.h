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
};

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
