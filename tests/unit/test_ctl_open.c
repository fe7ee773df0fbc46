// SPDX-License-Identifier: GPL-2.0
/*
 * Opening the pinned state against real maps, each test in a pin directory of its own under
 * /sys/fs/bpf (removed at its end): a reader creates nothing, the first writer creates the
 * maps with the connection tables at the host's default size or at the size asked for, later
 * opens adopt them, and pins of another layout are refused by name.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include "ctl_pins.h"

static int open_try(void *arg)
{
	struct veer *v = NULL;
	int err = veer_open(&v, *(bool *)arg);

	/* A handle got all the same is closed, so that its lock cannot hang the opens after. */
	veer_close(err ? NULL : v);
	return err;
}

/* Runs a veer_open that should fail, with stderr captured in msg: what libveer said. */
static int open_fails(bool write, char *msg, size_t len)
{
	return stderr_of(open_try, &write, msg, len);
}

static bool has(const char *msg, const char *part, const char *what)
{
	if (strstr(msg, part))
		return true;
	return veer_test_fail(__FILE__, __LINE__, "%s: \"%s\" not in \"%s\"", what, part, msg);
}

static bool tables_are(struct veer *v, __u32 capacity, const char *what)
{
	struct veer_table_info t[2];
	bool ok;

	if (!ASSERT_OK(veer_flow_tables(v, t), what))
		return false;
	ok = ASSERT_STREQ(t[0].name, "veer_flows4", what) &&
	     ASSERT_STREQ(t[1].name, "veer_flows6", what);
	for (int i = 0; ok && i < 2; i++)
		ok = ASSERT_TRUE(t[i].pinned, what) && ASSERT_EQ(t[i].capacity, capacity, what) &&
		     /* The kernel charges at least a 48-byte element header and a bucket. */
		     ASSERT_TRUE(t[i].memory >= 64ULL * capacity, "memory reported");
	return ok;
}

VEER_TEST(ctl_open_reader_creates_nothing)
{
	char msg[1024], want[2 * PATH_MAX], *after;
	struct veer *v = NULL;
	struct pins p;

	if (!pins_up(&p, false))
		return;
	snprintf(want, sizeof(want),
		 "veer: nothing is loaded in %s: run veer attach or veer vip add first\n", p.dir);
	ASSERT_EQ(open_fails(false, msg, sizeof(msg)), -ENOENT, "read, no directory");
	ASSERT_STREQ(msg, want, "the one line said");
	ASSERT_TRUE(access(p.dir, F_OK) && errno == ENOENT, "the directory is still absent");

	ASSERT_OK(mkdir(p.dir, 0700) ? -errno : 0, "mkdir");
	ASSERT_EQ(open_fails(false, msg, sizeof(msg)), -ENOENT, "read, empty directory");
	ASSERT_STREQ(msg, want, "the one line said");
	after = pins_listing(&p);
	ASSERT_STREQ(after, "", "the directory is still empty");
	free(after);
	veer_close(v);
	pins_down(&p);
}

/* The first writer creates every map, the connection tables at the host's default size. */
VEER_TEST(ctl_open_writer_default_size)
{
	__u32 dflt = veer_flows_default();
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	__u64 budget = (__u64)pages * page / VEER_FLOWS_MEM_SHARE, mem;
	struct veer_table_info t[2];
	struct veer *v = NULL;
	struct pins p;
	char *names;

	ASSERT_TRUE(dflt >= VEER_FLOWS_DEFAULT_MIN && dflt <= VEER_FLOWS_DEFAULT_MAX,
		    "default within its bounds");
	ASSERT_EQ(dflt & (dflt - 1), 0, "default a power of two");
	if (!pins_up(&p, false))
		return;
	if (!ASSERT_OK(veer_open(&v, true), "write open, nothing pinned"))
		goto out;
	names = pins_listing(&p);
	ASSERT_TRUE(names && strstr(names, "veer_flows4") && strstr(names, "veer_flows6") &&
			    strstr(names, "veer_vips") && strstr(names, "veer_backends"),
		    "the maps are pinned");
	free(names);
	if (!tables_are(v, dflt, "default size") || !ASSERT_OK(veer_flow_tables(v, t), "tables"))
		goto out;
	/* The rule: the largest power of two whose two tables fit in 1/32 of the memory. */
	mem = t[0].memory + t[1].memory;
	if (dflt > VEER_FLOWS_DEFAULT_MIN)
		ASSERT_LE(mem, budget, "both tables within 1/32 of physical memory");
	if (dflt < VEER_FLOWS_DEFAULT_MAX)
		ASSERT_TRUE(2 * mem > budget, "twice the size would not fit");
out:
	veer_close(v);
	pins_down(&p);
}

/* The size asked for, adopted afterwards whatever is asked; another size is refused. */
VEER_TEST(ctl_open_flows_sized)
{
	struct veer_vip_key key;
	struct veer_vip_opts vo = {.mode = VEER_MODE_NAT};
	struct veer_vip_info *vips = NULL;
	struct veer *v = NULL;
	char msg[1024], want[3 * PATH_MAX], *before = NULL, *after = NULL;
	size_t n = 0;
	struct pins p;

	ASSERT_EQ(veer_set_flows(VEER_FLOWS_MIN - 1), -EINVAL, "below the minimum");
	ASSERT_EQ(veer_set_flows(VEER_FLOWS_LIMIT + 1), -EINVAL, "above the limit");
	if (!pins_up(&p, true))
		return;
	if (!ASSERT_OK(veer_set_flows(SMALL_FLOWS), "veer_set_flows") ||
	    !ASSERT_OK(veer_open(&v, true), "write open creates") ||
	    !tables_are(v, SMALL_FLOWS, "created at the size asked for") ||
	    !ASSERT_OK(veer_parse_vip("198.18.100.30:80/tcp", &key), "parse") ||
	    !ASSERT_OK(veer_vip_add(v, &key, &vo), "vip add"))
		goto out;
	veer_close(v);
	v = NULL;

	/* Nothing asked: adopted at their size, by a reader and by a writer. */
	veer_set_flows(0);
	if (!ASSERT_OK(veer_open(&v, false), "read open adopts") ||
	    !tables_are(v, SMALL_FLOWS, "adopted by a reader") ||
	    !ASSERT_OK(veer_vip_list(v, &vips, &n), "vip list") ||
	    !ASSERT_EQ(n, 1, "the VIP is there"))
		goto out;
	veer_close(v);
	v = NULL;
	if (!ASSERT_OK(veer_open(&v, true), "write open adopts") ||
	    !tables_are(v, SMALL_FLOWS, "adopted by a writer"))
		goto out;
	veer_close(v);
	v = NULL;

	/* Another size: refused in one line that says how to resize, and nothing changes. */
	before = pins_listing(&p);
	veer_set_flows(2 * SMALL_FLOWS);
	snprintf(want, sizeof(want),
		 "veer: cannot size the connection tables for %u connections: %s/veer_flows4 "
		 "holds %u (to resize, detach veer from every interface and remove %s)\n",
		 2 * SMALL_FLOWS, p.dir, SMALL_FLOWS, p.dir);
	ASSERT_EQ(open_fails(true, msg, sizeof(msg)), -EEXIST, "another size");
	ASSERT_STREQ(msg, want, "the one line said");
	after = pins_listing(&p);
	ASSERT_STREQ(after, before, "the same pins");
	veer_set_flows(SMALL_FLOWS);
	if (ASSERT_OK(veer_open(&v, false), "the size they have is fine"))
		tables_are(v, SMALL_FLOWS, "unchanged");
out:
	free(before);
	free(after);
	free(vips);
	veer_close(v);
	pins_down(&p);
}

/*
 * A reader of a directory with only some of the maps (pinned by a veer that had fewer) works
 * and sees the missing ones empty, without pinning them.
 */
VEER_TEST(ctl_open_reader_partial)
{
	static const char *const keep[] = {"veer_vips", "veer_backends", "veer_rings"};
	struct veer_vip_info *vips = NULL;
	struct veer_table_info t[2];
	struct veer *v = NULL;
	struct dirent *de;
	char path[PATH_MAX + 256], *before = NULL, *after = NULL;
	size_t n = 1;
	struct pins p;
	DIR *d;

	if (!pins_up(&p, true))
		return;
	veer_set_flows(SMALL_FLOWS);
	if (!ASSERT_OK(veer_open(&v, true), "write open creates"))
		goto out;
	veer_close(v);
	v = NULL;
	d = opendir(p.dir);
	while (d && (de = readdir(d))) {
		bool kept = de->d_name[0] == '.';

		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			kept |= !strcmp(de->d_name, keep[i]);
		snprintf(path, sizeof(path), "%s/%s", p.dir, de->d_name);
		if (!kept)
			unlink(path);
	}
	if (d)
		closedir(d);
	before = pins_listing(&p);
	ASSERT_STREQ(before, "veer_backends veer_rings veer_vips", "what is left");
	veer_set_flows(0);
	if (!ASSERT_OK(veer_open(&v, false), "read open of some maps") ||
	    !ASSERT_OK(veer_vip_list(v, &vips, &n), "vip list") || !ASSERT_EQ(n, 0, "no VIPs") ||
	    !ASSERT_OK(veer_flow_tables(v, t), "tables"))
		goto out;
	ASSERT_FALSE(t[0].pinned || t[1].pinned, "the connection tables are not pinned");
	after = pins_listing(&p);
	ASSERT_STREQ(after, before, "nothing pinned by the reader");
out:
	free(vips);
	free(before);
	free(after);
	veer_close(v);
	pins_down(&p);
}

/* A pinned map of another layout is refused by name and field, and nothing is created. */
VEER_TEST(ctl_open_foreign_layout)
{
	char path[PATH_MAX + 32], msg[1024], *names;
	struct veer *v = NULL;
	struct pins p;
	int fd;

	if (!pins_up(&p, true))
		return;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "veer_vips", sizeof(struct veer_vip_key),
			    sizeof(struct veer_vip) + 8, 16, NULL);
	snprintf(path, sizeof(path), "%s/veer_vips", p.dir);
	if (!ASSERT_TRUE(fd >= 0, "create a foreign veer_vips") ||
	    !ASSERT_OK(bpf_obj_pin(fd, path) ? -errno : 0, "pin it"))
		goto out;
	for (int write = 0; write < 2; write++) {
		const char *what = write ? "write open" : "read open";

		ASSERT_EQ(open_fails(write, msg, sizeof(msg)), -EINVAL, what);
		has(msg, "cannot adopt ", what);
		has(msg, "/veer_vips: its values are", what);
		has(msg, "pinned by another version of veer", what);
		ASSERT_TRUE(!strchr(msg, '\n') || strchr(msg, '\n') == msg + strlen(msg) - 1,
			    "one line");
		names = pins_listing(&p);
		ASSERT_STREQ(names, "veer_vips", "nothing else created");
		free(names);
	}
out:
	if (fd >= 0)
		close(fd);
	veer_close(v);
	pins_down(&p);
}
