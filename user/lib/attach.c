// SPDX-License-Identifier: GPL-2.0
/*
 * Attaching a data plane: at XDP through libxdp, so veer shares an interface with other XDP
 * programs wherever the multi-program dispatcher loads, or at the tc ingress hook (a clsact
 * filter of veer's own handle), where the skb keeps its checksum state. A hook or mode that
 * cannot be had is an error: no silent fallback from one to the other.
 *
 * One implementation for each program pair veer attaches, the load balancer's (veer_lb,
 * veer_lb_tc) and decap's (veer_decap, veer_decap_tc), each described by a struct
 * veer_prog_desc. An interface takes one of them: they would not see each other's packets.
 *
 * The load balancer's pair has a third program, veer_lb_egress, on the interface's tc egress
 * hook whichever hook takes ingress (XDP has no egress): a forward proxy on this host answers
 * its clients through it (bpf/lib/proxy.h). It passes every other packet after a look at its
 * ports, and an interface has veer on both hooks or on none.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "internal.h"

/* veer's filter among others on the clsact ingress hook: its own handle, run first. */
#define VEER_TC_HANDLE 0x7665
#define VEER_TC_PRIO   1

static int lb_open(void **skel, struct bpf_object **obj)
{
	struct lb *s = NULL;
	int err = veer_lb_prepare(&s, true);

	*skel = s;
	*obj = s ? s->obj : NULL;
	return err;
}

static void lb_destroy(void *skel)
{
	lb__destroy(skel);
}

const struct veer_prog_desc veer_lb_desc = {
	.name = "veer",
	.noun = "",
	.title = "veer's load balancer",
	.xdp_prog = "veer_lb",
	.tc_prog = "veer_lb_tc",
	.egress_prog = "veer_lb_egress",
	.tc_handle = VEER_TC_HANDLE,
	.open = lb_open,
	.destroy = lb_destroy,
	.virtual_warning = "packets from local senders with checksum offload (every container) "
			   "leave XDP redirect with bad checksums, and a veth peer drops "
			   "redirected frames unless it runs XDP or GRO",
};

/* Every program pair veer attaches: an interface takes one. */
static const struct veer_prog_desc *const all_descs[] = {&veer_lb_desc, &veer_decap_desc};

static const char *mode_name(enum xdp_attach_mode mode)
{
	switch (mode) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "generic";
	case XDP_MODE_HW:
		return "offload";
	default:
		return "?";
	}
}

/* d's program on ifindex, if any; *mp must be closed by the caller. */
static struct xdp_program *find_xdp(const struct veer_prog_desc *d, int ifindex,
				    struct xdp_multiprog **mp)
{
	struct xdp_program *p;

	*mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!*mp || libxdp_get_error(*mp)) {
		*mp = NULL;
		return NULL;
	}
	if (xdp_multiprog__is_legacy(*mp)) {
		p = xdp_multiprog__main_prog(*mp);
		return p && !strcmp(xdp_program__name(p), d->xdp_prog) ? p : NULL;
	}
	for (p = xdp_multiprog__next_prog(NULL, *mp); p; p = xdp_multiprog__next_prog(p, *mp))
		if (!strcmp(xdp_program__name(p), d->xdp_prog))
			return p;
	return NULL;
}

static void tc_hook_opts(const struct veer_prog_desc *d, int ifindex, enum bpf_tc_attach_point where,
			 struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = where;
	memset(opts, 0, sizeof(*opts));
	opts->sz = sizeof(*opts);
	opts->handle = d->tc_handle;
	opts->priority = VEER_TC_PRIO;
}

/* The id of d's program named name at ifindex's tc hook where, or 0. */
static __u32 find_tc_at(const struct veer_prog_desc *d, int ifindex,
			enum bpf_tc_attach_point where, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	libbpf_print_fn_t old;
	int fd, err;

	tc_hook_opts(d, ifindex, where, &hook, &opts);
	/* No clsact qdisc or no such filter is the common answer: not worth libbpf's warning. */
	old = libbpf_set_print(NULL);
	err = bpf_tc_query(&hook, &opts);
	libbpf_set_print(old);
	if (err || !opts.prog_id)
		return 0;
	fd = bpf_prog_get_fd_by_id(opts.prog_id);
	if (fd < 0) {
		/* Else an attach to follow fails with a bare "File exists". */
		if (errno == EPERM)
			pr_warn("cannot tell whose program (id %u) is on ifindex %d at tc: reading "
				"an attached program by id needs CAP_SYS_ADMIN\n",
				opts.prog_id, ifindex);
		return 0;
	}
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	return !err && !strcmp(info.name, name) ? opts.prog_id : 0;
}

/* The id of d's tc ingress program on ifindex, or 0. */
static __u32 find_tc(const struct veer_prog_desc *d, int ifindex)
{
	return find_tc_at(d, ifindex, BPF_TC_INGRESS, d->tc_prog);
}

/* The id of d's egress program on ifindex, or 0 (none there, or d has none). */
static __u32 find_egress(const struct veer_prog_desc *d, int ifindex)
{
	return d->egress_prog ? find_tc_at(d, ifindex, BPF_TC_EGRESS, d->egress_prog) : 0;
}

static int detach_egress(const struct veer_prog_desc *d, const char *ifname, int ifindex)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int err;

	if (!find_egress(d, ifindex))
		return 0;
	tc_hook_opts(d, ifindex, BPF_TC_EGRESS, &hook, &opts);
	err = bpf_tc_detach(&hook, &opts);
	if (err)
		pr_warn("cannot detach%s from %s at tc egress: %s\n", d->noun, ifname,
			strerror(-err));
	return err;
}

/* d's egress program on ifindex's tc egress hook, from a loaded object. */
static int attach_egress(const struct veer_prog_desc *d, struct bpf_object *obj,
			 const char *ifname, int ifindex)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, d->egress_prog);
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int err;

	tc_hook_opts(d, ifindex, BPF_TC_EGRESS, &hook, &opts);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_warn("cannot attach%s to %s at tc egress: cannot add a clsact qdisc: %s\n",
			d->noun, ifname, strerror(-err));
		return err;
	}
	opts.prog_fd = bpf_program__fd(prog);
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		pr_warn("cannot attach%s to %s at tc egress: %s\n", d->noun, ifname, strerror(-err));
	return err;
}

/*
 * d's egress program on the interface, if d has one and it is not there yet: from obj if the
 * ingress attach loaded it there (loaded); else from an object of its own, loading the egress
 * program alone (an interface attached by a veer without the egress program, or whose egress
 * filter someone removed, or libxdp loaded obj its way without it).
 */
static int egress_up(const struct veer_prog_desc *d, struct bpf_object *obj, bool loaded,
		     const char *ifname, int ifindex)
{
	struct bpf_object *own_obj = NULL;
	void *own = NULL;
	int err;

	if (!d->egress_prog || find_egress(d, ifindex))
		return 0;
	if (loaded &&
	    bpf_program__fd(bpf_object__find_program_by_name(obj, d->egress_prog)) >= 0)
		return attach_egress(d, obj, ifname, ifindex);
	if (loaded) {
		err = d->open(&own, &own_obj);
		if (err)
			return err;
		obj = own_obj;
	}
	bpf_program__set_autoload(bpf_object__find_program_by_name(obj, d->xdp_prog), false);
	bpf_program__set_autoload(bpf_object__find_program_by_name(obj, d->tc_prog), false);
	err = bpf_object__load(obj);
	if (err)
		pr_warn("cannot attach%s to %s at tc egress: cannot load the program: %s\n",
			d->noun, ifname, strerror(-err));
	else
		err = attach_egress(d, obj, ifname, ifindex);
	if (own)
		d->destroy(own);
	return err;
}

/* Where d's program is attached on ifindex: "xdp", "tc", or NULL. */
static const char *find_any(const struct veer_prog_desc *d, int ifindex)
{
	struct xdp_multiprog *mp;
	bool xdp = find_xdp(d, ifindex, &mp);

	xdp_multiprog__close(mp);
	return xdp ? "xdp" : find_tc(d, ifindex) ? "tc" : NULL;
}

/*
 * A NIC has a bus address; veth, bridge, tun, vxlan and the like have none. Asked through
 * ethtool in the caller's network namespace, unlike /sys/class/net, which shows the namespace
 * sysfs was mounted in.
 */
static bool is_virtual(const char *ifname)
{
	struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr = {};
	bool virt = true;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		virt = !info.bus_info[0];
	close(fd);
	return virt;
}

static int attach_xdp(const struct veer_prog_desc *d, struct bpf_object *obj, const char *ifname,
		      int ifindex, enum xdp_attach_mode mode)
{
	struct xdp_program *prog;
	int err;

	bpf_program__set_autoload(bpf_object__find_program_by_name(obj, d->tc_prog), false);
	prog = xdp_program__from_bpf_obj(obj, "xdp");
	err = libxdp_get_error(prog);
	if (err) {
		pr_warn("cannot attach%s to %s: %s\n", d->noun, ifname, strerror(-err));
		return err;
	}
	err = xdp_program__attach(prog, ifindex, mode, 0);
	if (err)
		pr_warn("cannot attach%s to %s in %s mode: %s%s\n", d->noun, ifname,
			mode_name(mode), strerror(-err),
			err == -EOPNOTSUPP && mode == XDP_MODE_NATIVE
				? " (the driver has no native XDP; --hook tc or --mode generic)"
				: "");
	else
		pr_info("attached%s to %s at xdp in %s mode\n", d->noun, ifname, mode_name(mode));
	xdp_program__close(prog);
	return err;
}

static int attach_tc(const struct veer_prog_desc *d, struct bpf_object *obj, const char *ifname,
		     int ifindex, bool virt)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, d->tc_prog);
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int err;

	bpf_program__set_autoload(bpf_object__find_program_by_name(obj, d->xdp_prog), false);
	err = bpf_object__load(obj);
	if (err) {
		pr_warn("cannot attach%s to %s at tc: cannot load the data plane: %s\n", d->noun,
			ifname, strerror(-err));
		return err;
	}
	tc_hook_opts(d, ifindex, BPF_TC_INGRESS, &hook, &opts);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_warn("cannot attach%s to %s at tc: cannot add a clsact qdisc: %s\n", d->noun,
			ifname, strerror(-err));
		return err;
	}
	opts.prog_fd = bpf_program__fd(prog);
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		pr_warn("cannot attach%s to %s at tc: %s\n", d->noun, ifname, strerror(-err));
		return err;
	}
	pr_info("attached%s to %s at tc ingress%s\n", d->noun, ifname,
		virt ? " (a virtual interface: the skb keeps a local sender's checksum state)"
		     : "");
	return 0;
}

/*
 * Where d is attached already: 0 if nowhere (or already as asked: *done set), else -EBUSY
 * with the reason logged. Another veer program on the interface is refused too.
 */
static int attached_already(const struct veer_prog_desc *d, const char *ifname, int ifindex,
			    enum veer_hook_choice hook, enum xdp_attach_mode mode, bool *done)
{
	struct xdp_multiprog *mp;
	bool on_xdp;

	*done = false;
	for (size_t i = 0; i < sizeof(all_descs) / sizeof(all_descs[0]); i++) {
		const char *where = all_descs[i] != d ? find_any(all_descs[i], ifindex) : NULL;

		if (where) {
			pr_warn("cannot attach%s to %s: %s is attached there at %s (one veer "
				"program per interface)\n",
				d->noun, ifname, all_descs[i]->title, where);
			return -EBUSY;
		}
	}
	on_xdp = find_xdp(d, ifindex, &mp);
	if (on_xdp) {
		enum xdp_attach_mode cur = xdp_multiprog__attach_mode(mp);

		xdp_multiprog__close(mp);
		if (hook != VEER_HOOK_XDP) {
			pr_warn("cannot attach%s to %s at tc: attached at xdp (detach first)\n",
				d->noun, ifname);
			return -EBUSY;
		}
		if (cur != mode) {
			pr_warn("cannot attach%s to %s in %s mode: attached in %s mode (detach "
				"first)\n",
				d->noun, ifname, mode_name(mode), mode_name(cur));
			return -EBUSY;
		}
		pr_info("already attached%s to %s at xdp in %s mode\n", d->noun, ifname,
			mode_name(mode));
		*done = true;
		return 0;
	}
	xdp_multiprog__close(mp);
	if (find_tc(d, ifindex)) {
		if (hook != VEER_HOOK_TC) {
			pr_warn("cannot attach%s to %s at xdp: attached at tc (detach first)\n",
				d->noun, ifname);
			return -EBUSY;
		}
		pr_info("already attached%s to %s at tc ingress\n", d->noun, ifname);
		*done = true;
	}
	return 0;
}

int veer_prog_attach(const struct veer_prog_desc *d, const char *ifname, enum veer_hook_choice hook,
		     enum veer_xdp_mode vmode)
{
	enum xdp_attach_mode mode = vmode == VEER_XDP_GENERIC ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	struct bpf_object *obj = NULL;
	void *skel = NULL;
	int ifindex, lock_fd, err;
	bool done, virt;

	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		pr_warn("cannot attach%s to %s: no such interface\n", d->noun, ifname);
		return -ENODEV;
	}
	virt = is_virtual(ifname);
	if (hook == VEER_HOOK_AUTO)
		hook = virt ? VEER_HOOK_TC : VEER_HOOK_XDP;

	/*
	 * The maps are matched with the pins first, under the writers' lock, so that a map that
	 * cannot be had (a connection table size, another version's layout) is refused before
	 * any interface changes, and two attaches cannot both create the maps.
	 */
	err = veer_check_bpffs();
	if (err)
		return err;
	lock_fd = veer_lock_pins(true);
	if (lock_fd < 0)
		return lock_fd;
	err = d->open(&skel, &obj);
	if (err)
		goto cleanup;
	err = attached_already(d, ifname, ifindex, hook, mode, &done);
	if (!err && done)
		err = egress_up(d, obj, false, ifname, ifindex);
	if (err || done)
		goto cleanup;
	if (hook == VEER_HOOK_TC)
		err = attach_tc(d, obj, ifname, ifindex, virt);
	else
		err = attach_xdp(d, obj, ifname, ifindex, mode);
	/* Both hooks or neither: an ingress without its egress is taken off again. */
	if (!err) {
		err = egress_up(d, obj, true, ifname, ifindex);
		if (err)
			veer_prog_detach(d, ifname);
	}
	if (!err && hook == VEER_HOOK_XDP && virt && d->virtual_warning)
		pr_warn("warning: %s is a virtual interface: %s; --hook tc works with the "
			"kernel's defaults\n",
			ifname, d->virtual_warning);
cleanup:
	if (skel)
		d->destroy(skel);
	close(lock_fd);
	return err;
}

int veer_attach(const char *ifname, enum veer_hook_choice hook, enum veer_xdp_mode mode)
{
	return veer_prog_attach(&veer_lb_desc, ifname, hook, mode);
}

static int detach_tc(const struct veer_prog_desc *d, const char *ifname, int ifindex)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int err;

	tc_hook_opts(d, ifindex, BPF_TC_INGRESS, &hook, &opts);
	err = bpf_tc_detach(&hook, &opts);
	if (err)
		pr_warn("cannot detach%s from %s at tc: %s\n", d->noun, ifname, strerror(-err));
	return err;
}

int veer_prog_detach(const struct veer_prog_desc *d, const char *ifname)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int ifindex, err;

	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		pr_warn("cannot detach%s from %s: no such interface\n", d->noun, ifname);
		return -ENODEV;
	}
	p = find_xdp(d, ifindex, &mp);
	if (!p) {
		xdp_multiprog__close(mp);
		if (find_tc(d, ifindex)) {
			err = detach_tc(d, ifname, ifindex);
			return detach_egress(d, ifname, ifindex) ?: err;
		}
		/* An egress left alone (its ingress removed by hand) goes all the same. */
		if (find_egress(d, ifindex))
			return detach_egress(d, ifname, ifindex);
		pr_warn("cannot detach%s from %s: %s is not attached there\n", d->noun, ifname,
			d->name);
		return -ENOENT;
	}
	/* Only d's program goes; others sharing the dispatcher stay. */
	if (xdp_multiprog__is_legacy(mp))
		err = xdp_multiprog__detach(mp);
	else
		err = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
	if (err)
		pr_warn("cannot detach%s from %s: %s\n", d->noun, ifname, strerror(-err));
	xdp_multiprog__close(mp);
	return detach_egress(d, ifname, ifindex) ?: err;
}

int veer_detach(const char *ifname)
{
	return veer_prog_detach(&veer_lb_desc, ifname);
}

int veer_prog_links(const struct veer_prog_desc *d, struct veer_link **out, size_t *n)
{
	struct if_nameindex *ifs, *i;
	struct veer_link *list;
	size_t cnt = 0, cap = 0;

	ifs = if_nameindex();
	if (!ifs)
		return -errno;
	for (i = ifs; i->if_index; i++)
		cap++;
	list = calloc(cap + 1, sizeof(*list));
	if (!list) {
		if_freenameindex(ifs);
		return -ENOMEM;
	}
	for (i = ifs; i->if_index; i++) {
		struct veer_link *l = &list[cnt];
		struct xdp_multiprog *mp;
		struct xdp_program *p = find_xdp(d, i->if_index, &mp);
		__u32 tc_id = p ? 0 : find_tc(d, i->if_index);

		if (p || tc_id) {
			snprintf(l->ifname, sizeof(l->ifname), "%s", i->if_name);
			l->ifindex = i->if_index;
			l->prog_id = p ? xdp_program__id(p) : tc_id;
			l->hook = p ? "xdp" : "tc";
			l->mode = p ? mode_name(xdp_multiprog__attach_mode(mp)) : "ingress";
			l->egress_prog_id = find_egress(d, i->if_index);
			cnt++;
		}
		xdp_multiprog__close(mp);
	}
	if_freenameindex(ifs);
	*out = list;
	*n = cnt;
	return 0;
}

int veer_links(struct veer_link **out, size_t *n)
{
	return veer_prog_links(&veer_lb_desc, out, n);
}

int veer_link_ours(const struct veer_link *l)
{
	struct bpf_prog_info info = {};
	struct bpf_map_info vips = {};
	__u32 len = sizeof(info), map_ids[64], vlen = sizeof(vips);
	char path[PATH_MAX + 16];
	int pfd, vfd, ours = 0;

	snprintf(path, sizeof(path), "%s/veer_vips", veer_pin_dir());
	vfd = bpf_obj_get(path);
	if (vfd < 0)
		return errno == ENOENT ? 0 : -errno;
	pfd = bpf_prog_get_fd_by_id(l->prog_id);
	if (pfd < 0 || bpf_obj_get_info_by_fd(vfd, &vips, &vlen)) {
		ours = -errno;
		goto cleanup;
	}
	info.nr_map_ids = sizeof(map_ids) / sizeof(map_ids[0]);
	info.map_ids = (__u64)(unsigned long)map_ids;
	if (bpf_obj_get_info_by_fd(pfd, &info, &len)) {
		ours = -errno;
		goto cleanup;
	}
	for (__u32 i = 0; i < info.nr_map_ids && i < sizeof(map_ids) / sizeof(map_ids[0]); i++)
		ours |= map_ids[i] == vips.id;
cleanup:
	if (pfd >= 0)
		close(pfd);
	close(vfd);
	return ours;
}
