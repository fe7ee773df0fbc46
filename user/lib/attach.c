// SPDX-License-Identifier: GPL-2.0
/*
 * Attaching the data plane through libxdp, so veer shares an interface with other XDP programs
 * wherever the multi-program dispatcher loads. A mode that cannot be had is an error: no
 * silent fallback from native to generic.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "internal.h"

#define VEER_PROG_NAME "veer_lb"

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

int veer_attach(const char *ifname, enum veer_xdp_mode vmode)
{
	enum xdp_attach_mode mode = vmode == VEER_XDP_GENERIC ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	struct xdp_program *prog = NULL;
	struct xdp_multiprog *mp;
	struct lb *skel = NULL;
	int ifindex, err;

	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		pr_warn("cannot attach to %s: no such interface\n", ifname);
		return -ENODEV;
	}
	if (find_veer(ifindex, &mp)) {
		enum xdp_attach_mode cur = xdp_multiprog__attach_mode(mp);

		xdp_multiprog__close(mp);
		if (cur != mode) {
			pr_warn("cannot attach to %s in %s mode: attached in %s mode (detach first)\n",
				ifname, mode_name(mode), mode_name(cur));
			return -EBUSY;
		}
		pr_info("already attached to %s in %s mode\n", ifname, mode_name(mode));
		return 0;
	}
	xdp_multiprog__close(mp);

	skel = veer_lb_open();
	if (!skel)
		return -ENOTSUP;
	prog = xdp_program__from_bpf_obj(skel->obj, "xdp");
	err = libxdp_get_error(prog);
	if (err) {
		prog = NULL;
		pr_warn("cannot attach to %s: %s\n", ifname, strerror(-err));
		goto cleanup;
	}
	err = xdp_program__attach(prog, ifindex, mode, 0);
	if (err) {
		pr_warn("cannot attach to %s in %s mode: %s%s\n", ifname, mode_name(mode),
			strerror(-err),
			err == -EOPNOTSUPP && mode == XDP_MODE_NATIVE
				? " (the driver has no native XDP; --mode generic asks for the "
				  "slow path)"
				: "");
		goto cleanup;
	}
	pr_info("attached to %s in %s mode\n", ifname, mode_name(mode));
cleanup:
	xdp_program__close(prog);
	lb__destroy(skel);
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
		pr_warn("cannot detach from %s: veer is not attached there\n", ifname);
		err = -ENOENT;
		goto cleanup;
	}
	/* Only veer's program goes; others sharing the dispatcher stay. */
	if (xdp_multiprog__is_legacy(mp))
		err = xdp_multiprog__detach(mp);
	else
		err = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
	if (err)
		pr_warn("cannot detach from %s: %s\n", ifname, strerror(-err));
cleanup:
	xdp_multiprog__close(mp);
	return err;
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
		struct xdp_multiprog *mp;
		struct xdp_program *p = find_veer(i->if_index, &mp);

		if (p) {
			snprintf(list[cnt].ifname, sizeof(list[cnt].ifname), "%s", i->if_name);
			list[cnt].ifindex = i->if_index;
			list[cnt].prog_id = xdp_program__id(p);
			list[cnt].mode = mode_name(xdp_multiprog__attach_mode(mp));
			cnt++;
		}
		xdp_multiprog__close(mp);
	}
	if_freenameindex(ifs);
	*out = list;
	*n = cnt;
	return 0;
}
