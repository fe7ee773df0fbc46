// SPDX-License-Identifier: GPL-2.0
/*
 * Backend decapsulation (bpf/decap.bpf.c): its maps, veer_decap_vips and veer_decap_stat,
 * pinned in the pin directory beside the load balancer's, which it never creates (a backend
 * host has no connection tables); its programs, attached through attach.c; and the check of
 * the host settings direct server return needs (veer_decap_check).
 */
#include <errno.h>
#include <ifaddrs.h>
#include <stdarg.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "decap.skel.h"
#include <veer/decap_hash.h>

struct veer_decap {
	struct decap *skel; /* maps only: the programs are loaded by veer_decap_attach */
	int lock_fd;
	int ncpus;
};

const char *const veer_decap_reason_names[VEER_DECAP_REASON_SLOTS] = VEER_DECAP_REASON_NAMES;

/* A reader or a changing writer that finds none of decap's maps: nothing is created. */
static int nothing_loaded(void)
{
	pr_warn("no decap state in %s: run veer decap attach or veer decap vip add first\n",
		veer_pin_dir());
	return -ENOENT;
}

/*
 * Opens the skeleton with its maps matched with the pins, as the load balancer's are
 * (veer_pin_check): a pin of another layout is refused by name; a map not pinned is created
 * by the load (create), or left unpinned for a reader, which sees it empty. -ENOENT when
 * nothing is pinned and nothing may be created.
 */
static int decap_prepare(struct decap **out, bool create)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = veer_pin_dir());
	struct bpf_map *map;
	struct decap *skel;
	int found = 0, err = 0;

	skel = decap__open_opts(&opts);
	if (!skel) {
		err = -errno;
		pr_warn("cannot open the decap object: %s\n", strerror(errno));
		return err;
	}
	bpf_object__for_each_map(map, skel->obj)
	{
		struct bpf_map_info info;
		int pinned;

		if (!bpf_map__pin_path(map))
			continue; /* .rodata and the like: never pinned */
		pinned = veer_pin_check(map, false, &info);
		if (pinned < 0) {
			err = pinned;
			goto fail;
		}
		found += pinned;
		if (!pinned && !create) {
			err = bpf_map__set_pin_path(map, NULL);
			if (err)
				goto fail;
		}
	}
	if (!found && !create) {
		err = nothing_loaded();
		goto fail;
	}
	*out = skel;
	return 0;
fail:
	decap__destroy(skel);
	return err;
}

static int decap_attach_open(void **skel, struct bpf_object **obj)
{
	struct decap *s = NULL;
	int err = decap_prepare(&s, true);

	*skel = s;
	*obj = s ? s->obj : NULL;
	return err;
}

static void decap_destroy(void *skel)
{
	decap__destroy(skel);
}

/* veer's filter among others on the clsact ingress hook: its own handle, not the lb's. */
#define VEER_DECAP_TC_HANDLE 0x7664

const struct veer_prog_desc veer_decap_desc = {
	.name = "decap",
	.noun = " decap",
	.title = "veer decap",
	.xdp_prog = "veer_decap",
	.tc_prog = "veer_decap_tc",
	.tc_handle = VEER_DECAP_TC_HANDLE,
	.open = decap_attach_open,
	.destroy = decap_destroy,
	/* Measured on veths: ~37 times the packets for one TCP transfer at XDP than at tc. */
	.virtual_warning = "a veth's peer sends no GSO packets to an XDP program, so every "
			   "segment crosses on its own",
};

static int decap_open(struct veer_decap **out, bool write, bool create)
{
	struct veer_decap *d;
	int err;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->lock_fd = -1;
	d->ncpus = libbpf_num_possible_cpus();
	if (d->ncpus <= 0) {
		err = d->ncpus ? d->ncpus : -EINVAL;
		goto fail;
	}
	err = create ? veer_check_bpffs() : veer_bpffs_check();
	if (err)
		goto fail;
	if (!create && access(veer_pin_dir(), F_OK)) {
		err = errno == ENOENT ? nothing_loaded() : -errno;
		if (err != -ENOENT)
			pr_warn("cannot open %s: %s\n", veer_pin_dir(), strerror(-err));
		goto fail;
	}
	d->lock_fd = veer_lock_pins(write);
	if (d->lock_fd < 0) {
		err = d->lock_fd;
		goto fail;
	}
	/* Under the lock: what is pinned cannot change between the check and the load. */
	err = decap_prepare(&d->skel, create);
	if (err)
		goto fail;
	/* Maps only: creating or adopting them needs no verifier pass. */
	bpf_program__set_autoload(d->skel->progs.veer_decap, false);
	bpf_program__set_autoload(d->skel->progs.veer_decap_tc, false);
	err = decap__load(d->skel);
	if (err) {
		pr_warn("cannot %s decap's maps in %s: %s\n", create ? "create or adopt" : "adopt",
			veer_pin_dir(), strerror(-err));
		goto fail;
	}
	*out = d;
	return 0;
fail:
	veer_decap_close(d);
	return err;
}

int veer_decap_open(struct veer_decap **d, bool write)
{
	return decap_open(d, write, write);
}

int veer_decap_open_existing(struct veer_decap **d)
{
	return decap_open(d, true, false);
}

void veer_decap_close(struct veer_decap *d)
{
	if (!d)
		return;
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	decap__destroy(d->skel);
	free(d);
}

int veer_decap_parse_vip(const char *s, union veer_addr *addr, __u8 *family)
{
	struct veer_endpoint ep;

	/* The endpoint parser's address rules (unicast), and no port. */
	if (veer_parse_endpoint(s, &ep, false) || ep.port)
		return -EINVAL;
	*addr = ep.addr;
	*family = ep.family;
	return 0;
}

/* The whole table, in one batch where the kernel has it; slot i in all[i]. */
static int vips_read(struct bpf_map *vips, struct veer_decap_vip *all)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd = bpf_map__fd(vips);
	__u32 *keys, out = 0, count, done = 0;
	struct veer_decap_vip *vals;
	void *in = NULL;
	int err = 0;

	keys = calloc(VEER_DECAP_SLOTS, sizeof(*keys));
	vals = calloc(VEER_DECAP_SLOTS, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (done < VEER_DECAP_SLOTS) {
		count = VEER_DECAP_SLOTS - done;
		err = bpf_map_lookup_batch(fd, in, &out, keys + done, vals + done, &count, &opts);
		done += count;
		if (err)
			break;
		in = &out;
	}
	if (err && errno != ENOENT) {
		/* No batch support: one lookup per slot. */
		err = 0;
		for (__u32 i = 0; !err && i < VEER_DECAP_SLOTS; i++)
			err = bpf_map_lookup_elem(fd, &i, &all[i]) ? -errno : 0;
		goto out;
	}
	err = 0;
	memset(all, 0, VEER_DECAP_SLOTS * sizeof(*all));
	for (__u32 i = 0; i < done; i++)
		if (keys[i] < VEER_DECAP_SLOTS)
			all[keys[i]] = vals[i];
out:
	free(keys);
	free(vals);
	return err;
}

static bool vip_is(const struct veer_decap_vip *v, const struct veer_decap_vip *want)
{
	return v->family && v->family == want->family &&
	       !memcmp(&v->addr, &want->addr, sizeof(v->addr));
}

/*
 * One slot written so that a packet never matches a half-written entry: the two writes differ
 * in the family byte only, the one that decides a match (an entry of family 0 matches nothing).
 */
static int slot_write(struct bpf_map *vips, __u32 slot, const struct veer_decap_vip *from,
		      const struct veer_decap_vip *to)
{
	struct veer_decap_vip mid = to->family ? *to : *from;
	int err;

	mid.family = 0;
	err = bpf_map__update_elem(vips, &slot, sizeof(slot), &mid, sizeof(mid), BPF_ANY);
	if (!err)
		err = bpf_map__update_elem(vips, &slot, sizeof(slot), to, sizeof(*to), BPF_ANY);
	return err;
}

int veer_decap_vip_put(struct bpf_map *vips, const union veer_addr *addr, __u8 family, bool add)
{
	struct veer_decap_vip want = {.family = family}, v, zero = {};
	__u32 home, found = ~0u, free_slot = ~0u;
	int err;

	if (family == VEER_AF_INET)
		want.addr.v4 = addr->v4;
	else
		want.addr = *addr;
	home = veer_decap_slot(&want.addr, family);
	for (__u32 i = 0; i < VEER_DECAP_PROBES; i++) {
		__u32 slot = (home + i) & (VEER_DECAP_SLOTS - 1);

		err = bpf_map__lookup_elem(vips, &slot, sizeof(slot), &v, sizeof(v), 0);
		if (err)
			return err;
		if (vip_is(&v, &want))
			found = slot;
		else if (!v.family && free_slot == ~0u)
			free_slot = slot;
	}
	if (add && found != ~0u)
		return -EEXIST;
	if (add && free_slot == ~0u)
		return -ENOSPC;
	if (!add && found == ~0u)
		return -ENOENT;
	if (add)
		return slot_write(vips, free_slot, &zero, &want);
	return slot_write(vips, found, &want, &zero);
}

/* The VIPs in the table; *out (VEER_DECAP_SLOTS long) is malloc'd, unsorted. */
static int vips_list(struct veer_decap *d, struct veer_decap_vip_info **out, size_t *n)
{
	struct veer_decap_vip *all = calloc(VEER_DECAP_SLOTS, sizeof(*all));
	struct veer_decap_vip_info *list = calloc(VEER_DECAP_SLOTS, sizeof(*list));
	size_t cnt = 0;
	int err = all && list ? vips_read(d->skel->maps.veer_decap_vips, all) : -ENOMEM;

	for (__u32 i = 0; !err && i < VEER_DECAP_SLOTS; i++) {
		if (!all[i].family)
			continue;
		list[cnt].addr = all[i].addr;
		list[cnt++].family = all[i].family;
	}
	free(all);
	if (err) {
		pr_warn("cannot read the decap VIPs: %s\n", strerror(-err));
		free(list);
		return err;
	}
	*out = list;
	*n = cnt;
	return 0;
}

int veer_decap_vip_add(struct veer_decap *d, const union veer_addr *addr, __u8 family)
{
	struct veer_decap_vip_info *vips;
	char buf[VEER_ADDR_STRLEN];
	bool dup = false;
	size_t n;
	int err;

	veer_fmt_addr(addr, family, buf, sizeof(buf));
	err = vips_list(d, &vips, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		dup |= vips[i].family == family &&
		       !memcmp(&vips[i].addr, addr, family == VEER_AF_INET ? 4 : 16);
	free(vips);
	if (dup)
		err = -EEXIST;
	else if (n >= VEER_DECAP_VIPS_MAX)
		err = -E2BIG;
	else
		err = veer_decap_vip_put(d->skel->maps.veer_decap_vips, addr, family, true);
	if (err == -EEXIST)
		pr_warn("cannot add decap VIP %s: it exists\n", buf);
	else if (err == -E2BIG)
		pr_warn("cannot add decap VIP %s: the table is full (%u VIPs)\n", buf,
			VEER_DECAP_VIPS_MAX);
	else if (err == -ENOSPC)
		pr_warn("cannot add decap VIP %s: the %u slots it hashes to are taken by other "
			"VIPs (veer decap vip list)\n",
			buf, VEER_DECAP_PROBES);
	else if (err)
		pr_warn("cannot add decap VIP %s: %s\n", buf, strerror(-err));
	return err;
}

int veer_decap_vip_del(struct veer_decap *d, const union veer_addr *addr, __u8 family)
{
	char buf[VEER_ADDR_STRLEN];
	int err;

	err = veer_decap_vip_put(d->skel->maps.veer_decap_vips, addr, family, false);
	veer_fmt_addr(addr, family, buf, sizeof(buf));
	if (err == -ENOENT)
		pr_warn("cannot delete decap VIP %s: no such VIP\n", buf);
	else if (err)
		pr_warn("cannot delete decap VIP %s: %s\n", buf, strerror(-err));
	return err;
}

static int vip_cmp(const void *a, const void *b)
{
	const struct veer_decap_vip_info *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr.bytes, y->addr.bytes, x->family == VEER_AF_INET ? 4 : 16);
}

int veer_decap_vip_list(struct veer_decap *d, struct veer_decap_vip_info **out, size_t *n)
{
	int err = vips_list(d, out, n);

	if (!err)
		qsort(*out, *n, sizeof(**out), vip_cmp);
	return err;
}

int veer_decap_counters(struct veer_decap *d, __u64 sum[VEER_DECAP_REASON_SLOTS])
{
	__u64 *v = calloc(d->ncpus, sizeof(*v));
	int err = 0;

	if (!v)
		return -ENOMEM;
	for (__u32 r = 0; r < VEER_DECAP_REASON_SLOTS; r++) {
		sum[r] = 0;
		err = bpf_map__lookup_elem(d->skel->maps.veer_decap_stat, &r, sizeof(r), v,
					   d->ncpus * sizeof(*v), 0);
		if (err) {
			pr_warn("cannot read decap's counters: %s\n", strerror(-err));
			break;
		}
		for (int c = 0; c < d->ncpus; c++)
			sum[r] += v[c];
	}
	free(v);
	return err;
}

int veer_decap_attach(const char *ifname, enum veer_hook_choice hook, enum veer_xdp_mode mode)
{
	return veer_prog_attach(&veer_decap_desc, ifname, hook, mode);
}

int veer_decap_detach(const char *ifname)
{
	return veer_prog_detach(&veer_decap_desc, ifname);
}

int veer_decap_links(struct veer_link **out, size_t *n)
{
	return veer_prog_links(&veer_decap_desc, out, n);
}

/* ---- veer decap check ---- */

/*
 * A sysctl of the caller's network namespace: /proc/sys/net is the namespace of whoever reads
 * it (unlike /sys/class/net, the namespace sysfs was mounted in). -1 if unreadable.
 */
static int sysctl_conf(const char *dev, const char *name)
{
	char path[128];
	int v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/%s", dev, name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void problem(struct veer_decap_check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void problem(struct veer_decap_check *c, const char *fmt, ...)
{
	char(*p)[VEER_DECAP_PROBLEM_LEN];
	va_list ap;

	p = realloc(c->problems, (c->nproblems + 1) * sizeof(*p));
	if (!p)
		return;
	c->problems = p;
	va_start(ap, fmt);
	vsnprintf(p[c->nproblems++], sizeof(*p), fmt, ap);
	va_end(ap);
}

/* The interface an address entry of getifaddrs belongs to: its name without a ":label". */
static bool ifa_on(const struct ifaddrs *ifa, const char *dev)
{
	size_t n = strlen(dev);

	return !strncmp(ifa->ifa_name, dev, n) &&
	       (ifa->ifa_name[n] == '\0' || ifa->ifa_name[n] == ':');
}

static int prefix_len(const struct sockaddr *mask)
{
	const __u8 *b;
	size_t len;
	int bits = 0;

	if (!mask)
		return -1;
	if (mask->sa_family == AF_INET) {
		b = (const __u8 *)&((const struct sockaddr_in *)mask)->sin_addr;
		len = 4;
	} else {
		b = ((const struct sockaddr_in6 *)mask)->sin6_addr.s6_addr;
		len = 16;
	}
	for (size_t i = 0; i < len; i++)
		bits += __builtin_popcount(b[i]);
	return bits;
}

static bool ifa_is(const struct ifaddrs *ifa, const struct veer_decap_vip_info *v)
{
	const struct sockaddr *sa = ifa->ifa_addr;

	if (!sa)
		return false;
	if (v->family == VEER_AF_INET && sa->sa_family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)sa)->sin_addr, &v->addr.v4, 4);
	if (v->family == VEER_AF_INET6 && sa->sa_family == AF_INET6)
		return !memcmp(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, v->addr.bytes,
			       16);
	return false;
}

/* Each VIP on lo as a host route, and nowhere else. */
static void check_vips(struct veer_decap_check *c, const struct veer_decap_vip_info *vips, size_t n,
		       struct ifaddrs *ifas)
{
	for (size_t i = 0; i < n; i++) {
		const struct veer_decap_vip_info *v = &vips[i];
		int want = v->family == VEER_AF_INET ? 32 : 128;
		char a[VEER_ADDR_STRLEN];
		bool on_lo = false;

		veer_fmt_addr(&v->addr, v->family, a, sizeof(a));
		for (struct ifaddrs *ifa = ifas; ifa; ifa = ifa->ifa_next) {
			int plen;

			if (!ifa_is(ifa, v))
				continue;
			plen = prefix_len(ifa->ifa_netmask);
			if (!ifa_on(ifa, "lo")) {
				problem(c,
					"VIP %s is on %s too: the host answers for it there, past "
					"the "
					"load balancer: ip addr del %s/%d dev %s",
					a, ifa->ifa_name, a, plen, ifa->ifa_name);
				continue;
			}
			on_lo = true;
			if (plen != want)
				problem(c,
					"VIP %s is on lo as /%d, not /%d: the whole prefix is "
					"local to "
					"this host: ip addr del %s/%d dev lo; ip addr add %s/%d "
					"dev lo",
					a, plen, want, a, plen, a, want);
		}
		if (!on_lo)
			problem(c,
				"VIP %s is not on lo: the stack drops its decapsulated packets: "
				"ip addr add %s/%d dev lo",
				a, a, want);
	}
}

/* The larger of conf/all/NAME and conf/DEV/NAME, as the kernel applies them (IN_DEV_MAXCONF). */
static int conf_max(int all, int dev)
{
	return all < 0 || dev < 0 ? -1 : all > dev ? all : dev;
}

static void check_iface(struct veer_decap_check *c, struct veer_decap_iface *f)
{
	const char *n = f->name;
	int ign = sysctl_conf(n, "arp_ignore"), ann = sysctl_conf(n, "arp_announce"),
	    rp = sysctl_conf(n, "rp_filter");

	f->all_arp_ignore = sysctl_conf("all", "arp_ignore");
	f->all_arp_announce = sysctl_conf("all", "arp_announce");
	f->all_rp_filter = sysctl_conf("all", "rp_filter");
	f->arp_ignore = conf_max(f->all_arp_ignore, ign);
	f->arp_announce = conf_max(f->all_arp_announce, ann);
	f->rp_filter = conf_max(f->all_rp_filter, rp);
	if (f->arp_ignore < 0 || f->arp_announce < 0 || f->rp_filter < 0) {
		problem(c, "cannot read the IPv4 settings of %s in /proc/sys/net/ipv4/conf", n);
		return;
	}
	/*
	 * 1 and 2 answer only for addresses of the interface asked on; 3 does for lo's. 8 answers
	 * for none, not even the host's own address: the load balancer (and every other
	 * neighbour) can no longer resolve the backend once its entry ages out.
	 */
	if (f->arp_ignore == 8)
		problem(c,
			"arp_ignore is 8 on %s (all %d, %s %d), want 1: the host answers no ARP "
			"there, not even for its own address, and the load balancer cannot reach "
			"it: sysctl -w net.ipv4.conf.all.arp_ignore=1 "
			"net.ipv4.conf.%s.arp_ignore=1",
			n, f->all_arp_ignore, n, ign, n);
	else if (f->arp_ignore != 1 && f->arp_ignore != 2)
		problem(c,
			"arp_ignore is %d on %s (all %d, %s %d), want 1: the host answers ARP for "
			"its VIPs there: sysctl -w net.ipv4.conf.all.arp_ignore=1 "
			"net.ipv4.conf.%s.arp_ignore=1",
			f->arp_ignore, n, f->all_arp_ignore, n, ign, n);
	if (f->arp_announce != 2)
		problem(c,
			"arp_announce is %d on %s (all %d, %s %d), want 2: the host may announce "
			"its VIPs as ARP sources there: sysctl -w net.ipv4.conf.all.arp_announce=2 "
			"net.ipv4.conf.%s.arp_announce=2",
			f->arp_announce, n, f->all_arp_announce, n, ann, n);
	if (f->rp_filter == 1)
		problem(c,
			"rp_filter is %d (strict) on %s (all %d, %s %d): a decapsulated packet is "
			"dropped unless its client is routed back through %s: sysctl -w "
			"net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.%s.rp_filter=2",
			f->rp_filter, n, f->all_rp_filter, n, rp, n, n);
}

/*
 * The interfaces to look at: those decap is attached to, where the load balancer's packets
 * arrive; with none, every interface that is up but lo, since any may be the one.
 */
static int pick_ifaces(struct veer_decap_check *c, const struct veer_link *links, size_t nlinks,
		       struct ifaddrs *ifas)
{
	size_t cap = nlinks;

	for (struct ifaddrs *ifa = ifas; ifa; ifa = ifa->ifa_next)
		cap++;
	c->ifaces = calloc(cap + 1, sizeof(*c->ifaces));
	if (!c->ifaces)
		return -ENOMEM;
	for (size_t i = 0; i < nlinks; i++) {
		snprintf(c->ifaces[i].name, sizeof(c->ifaces[i].name), "%s", links[i].ifname);
		c->ifaces[i].attached = true;
	}
	c->nifaces = nlinks;
	if (nlinks)
		return 0;
	for (struct ifaddrs *ifa = ifas; ifa; ifa = ifa->ifa_next) {
		bool seen = false;

		/* One AF_PACKET entry per interface, addresses or not. */
		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_PACKET ||
		    !(ifa->ifa_flags & IFF_UP) || (ifa->ifa_flags & IFF_LOOPBACK))
			continue;
		for (size_t i = 0; i < c->nifaces; i++)
			seen |= !strcmp(c->ifaces[i].name, ifa->ifa_name);
		if (!seen)
			snprintf(c->ifaces[c->nifaces++].name, sizeof(c->ifaces[0].name), "%s",
				 ifa->ifa_name);
	}
	return 0;
}

int veer_decap_check(struct veer_decap_check *c)
{
	struct veer_decap_vip_info *vips = NULL;
	struct veer_link *links = NULL;
	struct ifaddrs *ifas = NULL;
	struct veer_decap *d = NULL;
	size_t nvips = 0, nlinks = 0;
	bool ipv4 = false;
	int err;

	memset(c, 0, sizeof(*c));
	/* The VIPs: none when decap's maps are not pinned, which is one of the problems. */
	if (veer_pinned("veer_decap_vips")) {
		err = veer_decap_open(&d, false);
		if (!err)
			err = veer_decap_vip_list(d, &vips, &nvips);
		veer_decap_close(d);
		if (err)
			goto cleanup;
	}
	err = veer_decap_links(&links, &nlinks);
	if (!err && getifaddrs(&ifas))
		err = -errno;
	if (!err)
		err = pick_ifaces(c, links, nlinks, ifas);
	if (err) {
		pr_warn("cannot read this host's interfaces: %s\n", strerror(-err));
		goto cleanup;
	}
	c->nvips = nvips;
	c->attached = nlinks > 0;
	if (!c->attached)
		problem(c, "decap is not attached to any interface: veer decap attach IFACE");
	if (!nvips)
		problem(c, "no decap VIPs: veer decap vip add ADDR");
	check_vips(c, vips, nvips, ifas);
	for (size_t i = 0; i < nvips; i++)
		ipv4 |= vips[i].family == VEER_AF_INET;
	/* ARP and rp_filter are IPv4's (IPv6 neighbour discovery answers per interface). */
	for (size_t i = 0; i < c->nifaces; i++) {
		if (ipv4 || !nvips)
			check_iface(c, &c->ifaces[i]);
		else
			c->ifaces[i].arp_ignore = c->ifaces[i].arp_announce =
				c->ifaces[i].rp_filter = -1;
	}
cleanup:
	if (ifas)
		freeifaddrs(ifas);
	free(links);
	free(vips);
	if (err)
		veer_decap_check_free(c);
	return err;
}

void veer_decap_check_free(struct veer_decap_check *c)
{
	free(c->ifaces);
	free(c->problems);
	memset(c, 0, sizeof(*c));
}
