// SPDX-License-Identifier: GPL-2.0
/*
 * decap's pinned state against real maps, each test in a pin directory of its own: decap
 * creates its two maps and never the load balancer's, a reader creates nothing, pins of
 * another layout are refused by name, the two share a directory, and the VIP commands refuse
 * bad input and impossible changes in one line without changing anything.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <veer/decap_hash.h>
#include "ctl_pins.h"

static bool has(const char *msg, const char *part, const char *what)
{
	if (strstr(msg, part))
		return true;
	return veer_test_fail(__FILE__, __LINE__, "%s: \"%s\" not in \"%s\"", what, part, msg);
}

static bool one_line(const char *msg, const char *what)
{
	const char *nl = strchr(msg, '\n');

	return ASSERT_TRUE(*msg && nl && !nl[1], what);
}

static bool listing_is(const struct pins *p, const char *want, const char *what)
{
	char *names = pins_listing(p);
	bool ok = ASSERT_STREQ(names, want, what);

	free(names);
	return ok;
}

struct try_open {
	bool write, existing;
};

static int decap_open_try(void *arg)
{
	const struct try_open *t = arg;
	struct veer_decap *d = NULL;
	int err = t->existing ? veer_decap_open_existing(&d) : veer_decap_open(&d, t->write);

	veer_decap_close(err ? NULL : d);
	return err;
}

struct try_vip {
	struct veer_decap *d;
	const char *addr;
	bool add;
};

static int vip_try(void *arg)
{
	const struct try_vip *t = arg;
	union veer_addr a;
	__u8 family;

	if (veer_decap_parse_vip(t->addr, &a, &family))
		return -EINVAL;
	return t->add ? veer_decap_vip_add(t->d, &a, family) : veer_decap_vip_del(t->d, &a, family);
}

/* The first writer creates decap's two maps, and nothing of the load balancer's. */
VEER_TEST(ctl_decap_creates_its_own)
{
	struct veer_decap *d = NULL;
	struct veer_decap_vip_info *vips = NULL;
	__u64 sum[VEER_DECAP_REASON_SLOTS];
	size_t n = 1;
	struct pins p;

	if (!pins_up(&p, false))
		return;
	if (!ASSERT_OK(veer_decap_open(&d, true), "write open, nothing pinned"))
		goto out;
	listing_is(&p, "veer_decap_stat veer_decap_vips", "decap's maps only");
	ASSERT_TRUE(veer_pinned("veer_decap_vips") && !veer_pinned("veer_vips"), "veer_pinned");
	if (ASSERT_OK(veer_decap_vip_list(d, &vips, &n), "list"))
		ASSERT_EQ(n, 0, "no VIPs");
	if (ASSERT_OK(veer_decap_counters(d, sum), "counters"))
		ASSERT_EQ(sum[VEER_DECAP_DONE] + sum[VEER_DECAP_NOT_ENCAP], 0, "zero");
out:
	free(vips);
	veer_decap_close(d);
	pins_down(&p);
}

/* A reader, or a writer that changes what exists, creates nothing and says so in one line. */
VEER_TEST(ctl_decap_reader_creates_nothing)
{
	struct try_open rd = {.write = false}, chg = {.existing = true};
	char msg[1024], want[2 * PATH_MAX];
	struct pins p;

	if (!pins_up(&p, false))
		return;
	snprintf(want, sizeof(want),
		 "veer: no decap state in %s: run veer decap attach or veer decap vip add first\n",
		 p.dir);
	ASSERT_EQ(stderr_of(decap_open_try, &rd, msg, sizeof(msg)), -ENOENT, "read, no directory");
	ASSERT_STREQ(msg, want, "the one line said");
	ASSERT_TRUE(access(p.dir, F_OK) && errno == ENOENT, "the directory is still absent");
	ASSERT_OK(mkdir(p.dir, 0700) ? -errno : 0, "mkdir");
	ASSERT_EQ(stderr_of(decap_open_try, &rd, msg, sizeof(msg)), -ENOENT, "read, empty");
	ASSERT_STREQ(msg, want, "the one line said");
	ASSERT_EQ(stderr_of(decap_open_try, &chg, msg, sizeof(msg)), -ENOENT, "change, empty");
	ASSERT_STREQ(msg, want, "the one line said");
	listing_is(&p, "", "the directory is still empty");
	pins_down(&p);
}

/*
 * The two share a directory: each creates its own maps beside the other's, and a directory
 * of the load balancer's alone holds no decap state for a reader.
 */
VEER_TEST(ctl_decap_beside_the_load_balancer)
{
	struct try_open rd = {.write = false};
	struct veer_decap *d = NULL;
	struct veer *v = NULL;
	char msg[1024];
	struct pins p;

	if (!pins_up(&p, true))
		return;
	veer_set_flows(SMALL_FLOWS);
	if (!ASSERT_OK(veer_open(&v, true), "the load balancer's maps"))
		goto out;
	veer_close(v);
	v = NULL;
	ASSERT_EQ(stderr_of(decap_open_try, &rd, msg, sizeof(msg)), -ENOENT,
		  "no decap state beside the load balancer's");
	has(msg, "no decap state in", "said");
	ASSERT_FALSE(veer_pinned("veer_decap_vips"), "nothing created");
	if (!ASSERT_OK(veer_decap_open(&d, true), "decap's beside them"))
		goto out;
	veer_decap_close(d);
	d = NULL;
	ASSERT_TRUE(veer_pinned("veer_decap_vips") && veer_pinned("veer_decap_stat") &&
			    veer_pinned("veer_vips") && veer_pinned("veer_flows4"),
		    "both sets pinned");
	ASSERT_OK(veer_open(&v, false), "the load balancer's reader adopts its maps");
	ASSERT_OK(veer_decap_open(&d, false), "decap's reader adopts its maps");
out:
	veer_decap_close(d);
	veer_close(v);
	pins_down(&p);
}

/* A pinned decap map of another layout is refused by name, and nothing else is created. */
VEER_TEST(ctl_decap_foreign_layout)
{
	struct try_open t[2] = {{.write = false}, {.write = true}};
	char path[PATH_MAX + 32], msg[1024];
	struct pins p;
	int fd;

	if (!pins_up(&p, true))
		return;
	/* A hash map of the VIPs, as an earlier layout might have had it. */
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "veer_decap_vips", sizeof(struct veer_decap_vip),
			    sizeof(__u32), 16, NULL);
	snprintf(path, sizeof(path), "%s/veer_decap_vips", p.dir);
	if (!ASSERT_TRUE(fd >= 0, "create a foreign veer_decap_vips") ||
	    !ASSERT_OK(bpf_obj_pin(fd, path) ? -errno : 0, "pin it"))
		goto out;
	for (int i = 0; i < 2; i++) {
		const char *what = i ? "write open" : "read open";

		ASSERT_EQ(stderr_of(decap_open_try, &t[i], msg, sizeof(msg)), -EINVAL, what);
		has(msg, "cannot adopt ", what);
		has(msg, "/veer_decap_vips: its type is hash, this veer's is array", what);
		has(msg, "pinned by another version of veer", what);
		one_line(msg, what);
		listing_is(&p, "veer_decap_vips", "nothing else created");
	}
out:
	if (fd >= 0)
		close(fd);
	pins_down(&p);
}

/* Addresses: unicast IPv4 or IPv6, with or without brackets, and nothing else. */
VEER_TEST(ctl_decap_parse_vip)
{
	static const char *const good[] = {"198.18.100.10", "2001:2::10", "[2001:2::10]"};
	static const char *const bad[] = {
		"",	   "198.18.100.10:80", "[2001:2::10]:80", "198.18.100.256",
		"0.0.0.0", "255.255.255.255",  "224.0.0.1",	  "ff02::1",
		"::",	   "198.18.100.0/24",  "example.com",	  " 198.18.100.10"};
	union veer_addr a;
	__u8 family;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ASSERT_OK(veer_decap_parse_vip(good[i], &a, &family), good[i]);
	ASSERT_TRUE(!veer_decap_parse_vip("198.18.100.10", &a, &family) && family == VEER_AF_INET &&
			    a.v4 == htonl(0xc612640a) && !a.v6[1],
		    "IPv4 in the first 4 bytes, the rest zero");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(veer_decap_parse_vip(bad[i], &a, &family), -EINVAL, bad[i]);
}

/* add, del, list; a duplicate and an unknown VIP are refused in one line, nothing changes. */
VEER_TEST(ctl_decap_vips)
{
	static const char *const want[] = {"198.18.100.9", "198.18.100.10", "2001:2::10"};
	struct veer_decap_vip_info *vips = NULL;
	struct veer_decap *d = NULL;
	char msg[1024], buf[VEER_ADDR_STRLEN];
	struct try_vip t;
	size_t n = 0;
	struct pins p;

	if (!pins_up(&p, false) || !ASSERT_OK(veer_decap_open(&d, true), "write open"))
		goto out;
	t = (struct try_vip){d, "2001:2::10", true};
	ASSERT_OK(stderr_of(vip_try, &t, msg, sizeof(msg)), "add IPv6");
	t.addr = "198.18.100.10";
	ASSERT_OK(stderr_of(vip_try, &t, msg, sizeof(msg)), "add IPv4");
	t.addr = "198.18.100.9";
	ASSERT_OK(stderr_of(vip_try, &t, msg, sizeof(msg)), "add another");
	ASSERT_STREQ(msg, "", "nothing said");

	t.addr = "198.18.100.10";
	ASSERT_EQ(stderr_of(vip_try, &t, msg, sizeof(msg)), -EEXIST, "add twice");
	ASSERT_STREQ(msg, "veer: cannot add decap VIP 198.18.100.10: it exists\n", "said");
	t = (struct try_vip){d, "198.18.100.77", false};
	ASSERT_EQ(stderr_of(vip_try, &t, msg, sizeof(msg)), -ENOENT, "delete unknown");
	ASSERT_STREQ(msg, "veer: cannot delete decap VIP 198.18.100.77: no such VIP\n", "said");
	/* The same bytes in the other family are another key. */
	t.addr = "::c612:640a";
	ASSERT_EQ(stderr_of(vip_try, &t, msg, sizeof(msg)), -ENOENT, "the family is in the key");

	if (!ASSERT_OK(veer_decap_vip_list(d, &vips, &n), "list") || !ASSERT_EQ(n, 3, "three"))
		goto out;
	for (size_t i = 0; i < n; i++)
		ASSERT_STREQ(veer_fmt_addr(&vips[i].addr, vips[i].family, buf, sizeof(buf)),
			     want[i], "IPv4 first, then by address");
	free(vips);
	vips = NULL;
	t = (struct try_vip){d, "198.18.100.9", false};
	ASSERT_OK(stderr_of(vip_try, &t, msg, sizeof(msg)), "delete");
	if (ASSERT_OK(veer_decap_vip_list(d, &vips, &n), "list"))
		ASSERT_EQ(n, 2, "two left");
out:
	free(vips);
	veer_decap_close(d);
	pins_down(&p);
}

/* The table holds VEER_DECAP_VIPS_MAX VIPs; one more is refused by name. */
VEER_TEST(ctl_decap_vips_full)
{
	struct veer_decap *d = NULL;
	char msg[1024], want[128];
	struct try_vip t;
	union veer_addr a = {};
	struct pins p;
	int err = 0;

	if (!pins_up(&p, false) || !ASSERT_OK(veer_decap_open(&d, true), "write open"))
		goto out;
	for (__u32 i = 0; !err && i < VEER_DECAP_VIPS_MAX; i++) {
		a.v4 = htonl(0xc6130000 + i); /* 198.19.0.0 + i */
		err = veer_decap_vip_add(d, &a, VEER_AF_INET);
	}
	if (!ASSERT_OK(err, "fill the table"))
		goto out;
	t = (struct try_vip){d, "198.18.100.10", true};
	ASSERT_EQ(stderr_of(vip_try, &t, msg, sizeof(msg)), -E2BIG, "one more");
	snprintf(want, sizeof(want),
		 "veer: cannot add decap VIP 198.18.100.10: the table is full (%u VIPs)\n",
		 VEER_DECAP_VIPS_MAX);
	ASSERT_STREQ(msg, want, "said");
out:
	veer_decap_close(d);
	pins_down(&p);
}

/*
 * VIPs that hash to one slot fill its window; one more is refused by name, and a VIP deleted
 * from the window frees its slot for the next.
 */
VEER_TEST(ctl_decap_vips_window)
{
	union veer_addr a[VEER_DECAP_PROBES + 1] = {};
	char msg[1024], want[256], text[VEER_ADDR_STRLEN];
	struct veer_decap *d = NULL;
	struct try_vip t;
	__u32 home = 0, n = 0;
	struct pins p;

	/* Addresses in 198.18.0.0/15 with the home slot of the first. */
	for (__u32 i = 0; i < 131072 && n < VEER_DECAP_PROBES + 1; i++) {
		union veer_addr x = {.v4 = htonl(0xc6120000 + i)};

		if (!n)
			home = veer_decap_slot(&x, VEER_AF_INET);
		if (veer_decap_slot(&x, VEER_AF_INET) == home)
			a[n++] = x;
	}
	if (!ASSERT_EQ(n, VEER_DECAP_PROBES + 1, "addresses of one home slot") ||
	    !pins_up(&p, false) || !ASSERT_OK(veer_decap_open(&d, true), "write open"))
		goto out;
	for (__u32 i = 0; i < VEER_DECAP_PROBES; i++)
		ASSERT_OK(veer_decap_vip_add(d, &a[i], VEER_AF_INET), "fill the window");
	veer_fmt_addr(&a[VEER_DECAP_PROBES], VEER_AF_INET, text, sizeof(text));
	t = (struct try_vip){d, text, true};
	ASSERT_EQ(stderr_of(vip_try, &t, msg, sizeof(msg)), -ENOSPC, "one more");
	snprintf(want, sizeof(want),
		 "veer: cannot add decap VIP %s: the %u slots it hashes to are taken by other VIPs "
		 "(veer decap vip list)\n",
		 text, VEER_DECAP_PROBES);
	ASSERT_STREQ(msg, want, "said");
	ASSERT_OK(veer_decap_vip_del(d, &a[1], VEER_AF_INET), "free a slot");
	ASSERT_OK(veer_decap_vip_add(d, &a[VEER_DECAP_PROBES], VEER_AF_INET), "now it fits");
	for (__u32 i = 2; i < VEER_DECAP_PROBES; i++) {
		veer_fmt_addr(&a[i], VEER_AF_INET, text, sizeof(text));
		t = (struct try_vip){d, text, true};
		ASSERT_EQ(stderr_of(vip_try, &t, msg, sizeof(msg)), -EEXIST, "the others stay");
	}
out:
	veer_decap_close(d);
	pins_down(&p);
}
