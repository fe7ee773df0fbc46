// SPDX-License-Identifier: GPL-2.0
/*
 * Attaching the data plane: at XDP through libxdp, so veer shares an interface with other XDP
 * programs wherever the multi-program dispatcher loads, or at the tc ingress hook (a clsact
 * filter of veer's own handle), where the skb keeps its checksum state. A hook or mode that
 * cannot be had is an error: no silent fallback from one to the other.
 *
 * Either way veer_lb_egress goes on the interface's tc egress hook too (XDP has no egress): a
 * forward proxy on this host answers its clients through it (bpf/lib/proxy.h). It passes every
 * other packet after a look at its ports, and an interface has veer on both hooks or on none.
 */
#include <errno.h>
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

#define VEER_PROG_NAME	      "veer_lb"
#define VEER_TC_PROG_NAME     "veer_lb_tc"
#define VEER_EGRESS_PROG_NAME "veer_lb_egress"
/* veer's filter among others on the clsact ingress hook: its own handle, run first. */
#define VEER_TC_HANDLE 0x7665
#define VEER_TC_PRIO   1

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

/* veer's program on ifindex, if any; *mp must be closed by the caller. */
static struct xdp_program *find_veer(int ifindex, struct xdp_multiprog **mp)
{
	struct xdp_program *p;

	*mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!*mp || libxdp_get_error(*mp)) {
		*mp = NULL;
		return NULL;
	}
	if (xdp_multiprog__is_legacy(*mp)) {
		p = xdp_multiprog__main_prog(*mp);
		return p && !strcmp(xdp_program__name(p), VEER_PROG_NAME) ? p : NULL;
	}
	for (p = xdp_multiprog__next_prog(NULL, *mp); p; p = xdp_multiprog__next_prog(p, *mp))
		if (!strcmp(xdp_program__name(p), VEER_PROG_NAME))
			return p;
	return NULL;
}

static void tc_hook_opts(int ifindex, enum bpf_tc_attach_point where, struct bpf_tc_hook *hook,
			 struct bpf_tc_opts *opts)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = where;
	memset(opts, 0, sizeof(*opts));
	opts->sz = sizeof(*opts);
	opts->handle = VEER_TC_HANDLE;
	opts->priority = VEER_TC_PRIO;
}

/* The id of veer's program named name at ifindex's tc hook where, or 0. */
static __u32 find_veer_tc_at(int ifindex, enum bpf_tc_attach_point where, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	libbpf_print_fn_t old;
	int fd, err;

	tc_hook_opts(ifindex, where, &hook, &opts);
	/* No clsact qdisc or no such filter is the common answer: not worth libbpf's warning. */
	old = libbpf_set_print(NULL);
	err = bpf_tc_query(&hook, &opts);
	libbpf_set_print(old);
	if (err || !opts.prog_id)
		return 0;
	fd = bpf_prog_get_fd_by_id(opts.prog_id);
	if (fd < 0)
		return 0;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	return !err && !strcmp(info.name, name) ? opts.prog_id : 0;
}

/* The id of veer's tc ingress program on ifindex, or 0. */
static __u32 find_veer_tc(int ifindex)
{
	return find_veer_tc_at(ifindex, BPF_TC_INGRESS, VEER_TC_PROG_NAME);
}

static int detach_egress(const char *ifname, int ifindex)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int err;

	if (!find_veer_tc_at(ifindex, BPF_TC_EGRESS, VEER_EGRESS_PROG_NAME))
		return 0;
	tc_hook_opts(ifindex, BPF_TC_EGRESS, &hook, &opts);
	err = bpf_tc_detach(&hook, &opts);
	if (err)
		pr_warn("cannot detach from %s at tc egress: %s\n", ifname, strerror(-err));
	return err;
}

/* veer_lb_egress on ifindex's tc egress hook, from a loaded skeleton; there already is fine. */
static int attach_egress(struct lb *skel, const char *ifname, int ifindex)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int err;

	if (find_veer_tc_at(ifindex, BPF_TC_EGRESS, VEER_EGRESS_PROG_NAME))
		return 0;
	tc_hook_opts(ifindex, BPF_TC_EGRESS, &hook, &opts);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_warn("cannot attach to %s at tc egress: cannot add a clsact qdisc: %s\n", ifname,
			strerror(-err));
		return err;
	}
	opts.prog_fd = bpf_program__fd(skel->progs.veer_lb_egress);
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		pr_warn("cannot attach to %s at tc egress: %s\n", ifname, strerror(-err));
	return err;
}

/*
 * veer_lb_egress on the interface: from skel if the ingress attach loaded it there; else, from
 * skel if it is not loaded yet (an interface attached by a veer without the egress program, or
 * whose egress filter someone removed), or from a skeleton of its own (libxdp loaded skel its
 * way), loading the egress program alone.
 */
static int egress_up(struct lb *skel, bool loaded, const char *ifname, int ifindex)
{
	struct lb *own = NULL;
	int err;

	if (find_veer_tc_at(ifindex, BPF_TC_EGRESS, VEER_EGRESS_PROG_NAME))
		return 0;
	if (loaded && bpf_program__fd(skel->progs.veer_lb_egress) >= 0)
		return attach_egress(skel, ifname, ifindex);
	if (loaded) {
		err = veer_lb_prepare(&own, true);
		if (err)
			return err;
		skel = own;
	}
	bpf_program__set_autoload(skel->progs.veer_lb, false);
	bpf_program__set_autoload(skel->progs.veer_lb_tc, false);
	err = lb__load(skel);
	if (err)
		pr_warn("cannot attach to %s at tc egress: cannot load the program: %s\n", ifname,
			strerror(-err));
	else
		err = attach_egress(skel, ifname, ifindex);
	lb__destroy(own);
	return err;
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

static int attach_xdp(struct lb *skel, const char *ifname, int ifindex, enum xdp_attach_mode mode)
{
	struct xdp_program *prog;
	int err;

	bpf_program__set_autoload(skel->progs.veer_lb_tc, false);
	prog = xdp_program__from_bpf_obj(skel->obj, "xdp");
	err = libxdp_get_error(prog);
	if (err) {
		pr_warn("cannot attach to %s: %s\n", ifname, strerror(-err));
		return err;
	}
	err = xdp_program__attach(prog, ifindex, mode, 0);
	if (err)
		pr_warn("cannot attach to %s in %s mode: %s%s\n", ifname, mode_name(mode),
			strerror(-err),
			err == -EOPNOTSUPP && mode == XDP_MODE_NATIVE
				? " (the driver has no native XDP; --hook tc or --mode generic)"
				: "");
	else
		pr_info("attached to %s at xdp in %s mode\n", ifname, mode_name(mode));
	xdp_program__close(prog);
	return err;
}

static int attach_tc(struct lb *skel, const char *ifname, int ifindex, bool virt)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int err;

	bpf_program__set_autoload(skel->progs.veer_lb, false);
	err = lb__load(skel);
	if (err) {
		pr_warn("cannot attach to %s at tc: cannot load the data plane: %s\n", ifname,
			strerror(-err));
		return err;
	}
	tc_hook_opts(ifindex, BPF_TC_INGRESS, &hook, &opts);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_warn("cannot attach to %s at tc: cannot add a clsact qdisc: %s\n", ifname,
			strerror(-err));
		return err;
	}
	opts.prog_fd = bpf_program__fd(skel->progs.veer_lb_tc);
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		pr_warn("cannot attach to %s at tc: %s\n", ifname, strerror(-err));
		return err;
	}
	pr_info("attached to %s at tc ingress%s\n", ifname,
		virt ? " (a virtual interface: the skb keeps a local sender's checksum state)" : "");
	return 0;
}

int veer_attach(const char *ifname, enum veer_hook_choice hook, enum veer_xdp_mode vmode)
{
	enum xdp_attach_mode mode = vmode == VEER_XDP_GENERIC ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	struct xdp_multiprog *mp;
	struct lb *skel = NULL;
	int ifindex, lock_fd, err;
	bool on_xdp, virt;

	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		pr_warn("cannot attach to %s: no such interface\n", ifname);
		return -ENODEV;
	}
	virt = is_virtual(ifname);
	if (hook == VEER_HOOK_AUTO)
		hook = virt ? VEER_HOOK_TC : VEER_HOOK_XDP;

	/*
	 * The maps are matched with the pins first, under the writers' lock, so that a connection
	 * table size that cannot be had is refused before any interface changes, and two attaches
	 * cannot both create the maps.
	 */
	err = veer_check_bpffs();
	if (err)
		return err;
	lock_fd = veer_lock_pins(true);
	if (lock_fd < 0)
		return lock_fd;
	err = veer_lb_prepare(&skel, true);
	if (err)
		goto cleanup;

	on_xdp = find_veer(ifindex, &mp);
	if (on_xdp) {
		enum xdp_attach_mode cur = xdp_multiprog__attach_mode(mp);

		xdp_multiprog__close(mp);
		err = -EBUSY;
		if (hook != VEER_HOOK_XDP) {
			pr_warn("cannot attach to %s at tc: attached at xdp (detach first)\n",
				ifname);
		} else if (cur != mode) {
			pr_warn("cannot attach to %s in %s mode: attached in %s mode (detach "
				"first)\n",
				ifname, mode_name(mode), mode_name(cur));
		} else {
			pr_info("already attached to %s at xdp in %s mode\n", ifname,
				mode_name(mode));
			err = egress_up(skel, false, ifname, ifindex);
		}
		goto cleanup;
	}
	xdp_multiprog__close(mp);
	if (find_veer_tc(ifindex)) {
		err = 0;
		if (hook != VEER_HOOK_TC) {
			pr_warn("cannot attach to %s at xdp: attached at tc (detach first)\n",
				ifname);
			err = -EBUSY;
		} else {
			pr_info("already attached to %s at tc ingress\n", ifname);
			err = egress_up(skel, false, ifname, ifindex);
		}
		goto cleanup;
	}

	if (hook == VEER_HOOK_TC)
		err = attach_tc(skel, ifname, ifindex, virt);
	else
		err = attach_xdp(skel, ifname, ifindex, mode);
	/* Both hooks or neither: an ingress without its egress is taken off again. */
	if (!err) {
		err = egress_up(skel, true, ifname, ifindex);
		if (err)
			veer_detach(ifname);
	}
	if (!err && hook == VEER_HOOK_XDP && virt)
		pr_warn("warning: %s is a virtual interface: packets from local senders with "
			"checksum offload (every container) leave XDP redirect with bad checksums, "
			"and a veth peer drops redirected frames unless it runs XDP or GRO; --hook "
			"tc works with the kernel's defaults\n",
			ifname);
cleanup:
	lb__destroy(skel);
	close(lock_fd);
	return err;
}

static int detach_tc(const char *ifname, int ifindex)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int err;

	tc_hook_opts(ifindex, BPF_TC_INGRESS, &hook, &opts);
	err = bpf_tc_detach(&hook, &opts);
	if (err)
		pr_warn("cannot detach from %s at tc: %s\n", ifname, strerror(-err));
	return err;
}

int veer_detach(const char *ifname)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int ifindex, err;

	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		pr_warn("cannot detach from %s: no such interface\n", ifname);
		return -ENODEV;
	}
	p = find_veer(ifindex, &mp);
	if (!p) {
		xdp_multiprog__close(mp);
		if (find_veer_tc(ifindex)) {
			err = detach_tc(ifname, ifindex);
			return detach_egress(ifname, ifindex) ?: err;
		}
		/* An egress left alone (its ingress removed by hand) goes all the same. */
		if (find_veer_tc_at(ifindex, BPF_TC_EGRESS, VEER_EGRESS_PROG_NAME))
			return detach_egress(ifname, ifindex);
		pr_warn("cannot detach from %s: veer is not attached there\n", ifname);
		return -ENOENT;
	}
	/* Only veer's program goes; others sharing the dispatcher stay. */
	if (xdp_multiprog__is_legacy(mp))
		err = xdp_multiprog__detach(mp);
	else
		err = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
	if (err)
		pr_warn("cannot detach from %s: %s\n", ifname, strerror(-err));
	xdp_multiprog__close(mp);
	return detach_egress(ifname, ifindex) ?: err;
}

int veer_links(struct veer_link **out, size_t *n)
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
		struct xdp_program *p = find_veer(i->if_index, &mp);
		__u32 tc_id = p ? 0 : find_veer_tc(i->if_index);

		if (p || tc_id) {
			snprintf(l->ifname, sizeof(l->ifname), "%s", i->if_name);
			l->ifindex = i->if_index;
			l->prog_id = p ? xdp_program__id(p) : tc_id;
			l->hook = p ? "xdp" : "tc";
			l->mode = p ? mode_name(xdp_multiprog__attach_mode(mp)) : "ingress";
			l->egress_prog_id =
				find_veer_tc_at(i->if_index, BPF_TC_EGRESS, VEER_EGRESS_PROG_NAME);
			cnt++;
		}
		xdp_multiprog__close(mp);
	}
	if_freenameindex(ifs);
	*out = list;
	*n = cnt;
	return 0;
}
