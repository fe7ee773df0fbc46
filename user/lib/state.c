// SPDX-License-Identifier: GPL-2.0
/*
 * Opening veer's pinned state. A writer (and veer_attach) creates the maps that are not pinned
 * yet and adopts the rest; a reader only adopts, so that looking at an instance never brings
 * one into being. Either way every pin is checked against this veer's own definition first.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"

static char pin_dir[PATH_MAX] = VEER_PIN_DIR;
/* The connection tables' size asked for (veer_set_flows); 0 = the host's default. */
static __u32 flows_want;

int veer_set_pin_dir(const char *dir)
{
	size_t len = strlen(dir);

	if (dir[0] != '/' || len < 2 || len >= sizeof(pin_dir) - 32) {
		pr_warn("invalid pin directory '%s': want an absolute path on a bpffs\n", dir);
		return -EINVAL;
	}
	/* One spelling per directory ("//" and a trailing "/" dropped): veerd locks by name. */
	len = 0;
	for (const char *c = dir; *c; c++)
		if (*c != '/' || c[1] != '/')
			pin_dir[len++] = *c;
	pin_dir[len] = '\0';
	while (len > 1 && pin_dir[len - 1] == '/')
		pin_dir[--len] = '\0';
	return 0;
}

const char *veer_pin_dir(void)
{
	return pin_dir;
}

/*
 * The check is made on the filesystem that holds the pin directory (or would hold it: its
 * parent), so a private directory on another bpffs mount works and a directory on tmpfs is
 * refused before anything is created there.
 */
int veer_bpffs_check(void)
{
	char parent[PATH_MAX];
	struct statfs st;
	const char *where = pin_dir;
	char *slash;

	if (statfs(pin_dir, &st)) {
		snprintf(parent, sizeof(parent), "%s", pin_dir);
		slash = strrchr(parent, '/');
		if (slash == parent)
			slash[1] = '\0';
		else if (slash)
			*slash = '\0';
		where = parent;
		if (statfs(parent, &st))
			st.f_type = 0;
	}
	if (st.f_type != BPF_FS_MAGIC && !strncmp(pin_dir, VEER_PIN_ROOT "/", sizeof(VEER_PIN_ROOT))) {
		/* The usual place, unmounted: mounting a bpffs there is the remedy. */
		pr_warn("%s is not a bpffs: mount one (mount -t bpf bpf %s); inside a network "
			"namespace use nsenter --net, not ip netns exec, which hides it\n",
			where, VEER_PIN_ROOT);
		return -ENOTSUP;
	}
	if (st.f_type != BPF_FS_MAGIC) {
		/* Anywhere else, a mount would hide what is there: another directory is. */
		pr_warn("%s is not a bpffs: choose a pin directory on one, such as %s/NAME\n", where,
			VEER_PIN_ROOT);
		return -ENOTSUP;
	}
	return 0;
}

int veer_check_bpffs(void)
{
	int err = veer_bpffs_check();

	if (err)
		return err;
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		pr_warn("cannot create %s: %s\n", pin_dir, strerror(errno));
		return -errno;
	}
	return 0;
}

int veer_lock_pins(bool write)
{
	int fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || flock(fd, write ? LOCK_EX : LOCK_SH)) {
		int err = -errno;

		pr_warn("cannot lock %s: %s\n", pin_dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

int veer_set_flows(__u32 n)
{
	if (n && (n < VEER_FLOWS_MIN || n > VEER_FLOWS_LIMIT)) {
		pr_warn("invalid connection table size %u (want %u..%u connections)\n", n,
			VEER_FLOWS_MIN, VEER_FLOWS_LIMIT);
		return -EINVAL;
	}
	flows_want = n;
	return 0;
}

/*
 * What the kernel charges for one entry of a preallocated hash map: the element (a 48-byte
 * header, then key and value each rounded up to 8 bytes) and its share of the buckets (16
 * bytes each, one per entry at a power-of-two size). Measured against the memlock of the map's
 * fdinfo; taken from the map's own key and value sizes, so it follows any change of layout.
 */
static __u64 entry_cost(const struct bpf_map *map)
{
	return 64 + ((bpf_map__key_size(map) + 7) & ~7U) + ((bpf_map__value_size(map) + 7) & ~7U);
}

static __u64 host_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);

	return pages > 0 && page > 0 ? (__u64)pages * page : 0;
}

static __u32 flows_default(const struct lb *skel)
{
	__u64 mem = host_memory();
	__u64 n, per = entry_cost(skel->maps.veer_flows4) + entry_cost(skel->maps.veer_flows6);
	__u32 pow = VEER_FLOWS_DEFAULT_MIN;

	/* 1/32 of the host's memory for both tables together, N entries each. */
	n = mem / VEER_FLOWS_MEM_SHARE / per;
	while (pow < VEER_FLOWS_DEFAULT_MAX && (__u64)pow * 2 <= n)
		pow *= 2;
	return pow;
}

__u32 veer_flows_default(void)
{
	struct lb *skel = lb__open();
	__u32 n;

	if (!skel)
		return VEER_FLOWS_DEFAULT_MIN;
	n = flows_default(skel);
	lb__destroy(skel);
	return n;
}

static bool is_flow_table(const struct lb *skel, const struct bpf_map *map)
{
	return map == skel->maps.veer_flows4 || map == skel->maps.veer_flows6;
}

/* The first field in which the pinned map differs from this veer's, as a message. */
static bool pin_differs(const struct bpf_map *map, const struct bpf_map_info *info, bool any_size,
			char *why, size_t len)
{
	const char *type = libbpf_bpf_map_type_str(info->type);

	if (info->type != bpf_map__type(map))
		snprintf(why, len, "its type is %s, this veer's is %s", type ? type : "?",
			 libbpf_bpf_map_type_str(bpf_map__type(map)));
	else if (info->key_size != bpf_map__key_size(map))
		snprintf(why, len, "its keys are %u bytes, this veer's are %u", info->key_size,
			 bpf_map__key_size(map));
	else if (info->value_size != bpf_map__value_size(map))
		snprintf(why, len, "its values are %u bytes, this veer's are %u", info->value_size,
			 bpf_map__value_size(map));
	else if (info->map_flags != bpf_map__map_flags(map))
		snprintf(why, len, "its flags are %#x, this veer's are %#x", info->map_flags,
			 bpf_map__map_flags(map));
	else if (!any_size && info->max_entries != bpf_map__max_entries(map))
		snprintf(why, len, "it has %u entries, this veer's has %u", info->max_entries,
			 bpf_map__max_entries(map));
	else
		return false;
	return true;
}

/*
 * Tables asked for that would take more than half of the host's memory: preallocated at once,
 * they would push the host into reclaim or the OOM killer before the load could fail.
 */
static bool too_big(const struct lb *skel, __u32 n)
{
	__u64 per = entry_cost(skel->maps.veer_flows4) + entry_cost(skel->maps.veer_flows6);
	__u64 need = (__u64)n * per, mem = host_memory();

	if (!mem || need <= mem / 2)
		return false;
	pr_warn("cannot size the connection tables for %u connections: they need %llu MiB, more "
		"than half of this host's %llu MiB\n",
		n, (unsigned long long)(need >> 20), (unsigned long long)(mem >> 20));
	return true;
}

/* A map not pinned: sized for the load to create it, or left out of the directory. */
static int pin_missing(const struct lb *skel, struct bpf_map *map, bool create)
{
	int err = 0;

	if (create && is_flow_table(skel, map) && flows_want && too_big(skel, flows_want))
		return -ENOMEM; /* said by too_big() */
	if (create && is_flow_table(skel, map))
		err = bpf_map__set_max_entries(map, flows_want ?: flows_default(skel));
	else if (!create)
		err = bpf_map__set_pin_path(map, NULL);
	/* A reader's empty stand-in need not preallocate a full table. */
	if (!err && !create && bpf_map__type(map) == BPF_MAP_TYPE_LRU_HASH)
		err = bpf_map__set_max_entries(map, 1);
	if (err)
		pr_warn("cannot prepare %s: %s\n", bpf_map__name(map), strerror(-err));
	return err;
}

int veer_pin_check(const struct bpf_map *map, bool any_size, struct bpf_map_info *info)
{
	const char *path = bpf_map__pin_path(map);
	__u32 len = sizeof(*info);
	char why[128];
	int fd, err;

	memset(info, 0, sizeof(*info));
	fd = bpf_obj_get(path);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		err = -errno;
		pr_warn("cannot open %s: %s\n", path, strerror(errno));
		return err;
	}
	err = bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
	close(fd);
	if (err) {
		pr_warn("cannot adopt %s: not a map (%s)\n", path, strerror(-err));
		return -EINVAL;
	}
	if (pin_differs(map, info, any_size, why, sizeof(why))) {
		pr_warn("cannot adopt %s: %s (pinned by another version of veer? detach veer from "
			"every interface and remove %s)\n",
			path, why, pin_dir);
		return -EINVAL;
	}
	return 1;
}

/*
 * Matches the skeleton's maps with the pins before anything is loaded. A pinned map must have
 * this veer's layout, or it is refused by name (libbpf alone would only say EINVAL); the
 * connection tables are adopted at whatever size they were created with, unless a size was
 * asked for and they have another. A map not pinned yet is sized (the connection tables: as
 * asked, or the host's default) and created by the load, or, for a reader, left unpinned: the
 * reader sees it empty, as it is, and the directory stays as it was. Returns the number of
 * maps found pinned, or -errno with the reason logged.
 */
static int pins_match(struct lb *skel, bool create)
{
	struct bpf_map *map;
	int found = 0, err = 0;

	bpf_object__for_each_map(map, skel->obj)
	{
		const char *path = bpf_map__pin_path(map);
		bool flows = is_flow_table(skel, map);
		struct bpf_map_info info;

		if (!path)
			continue; /* .rodata and the like: never pinned */
		err = veer_pin_check(map, flows, &info);
		if (err < 0)
			return err;
		if (!err) {
			err = pin_missing(skel, map, create);
			if (err)
				return err;
			continue;
		}
		if (flows && flows_want && info.max_entries != flows_want) {
			pr_warn("cannot size the connection tables for %u connections: %s holds %u "
				"(to resize, detach veer from every interface and remove %s)\n",
				flows_want, path, info.max_entries, pin_dir);
			return -EEXIST;
		}
		if (flows)
			bpf_map__set_max_entries(map, info.max_entries);
		found++;
	}
	return found;
}

/*
 * A reader that finds nothing to adopt: the directory is absent or holds none of the load
 * balancer's maps. Nothing has been created on the way.
 */
static int nothing_loaded(void)
{
	pr_warn("nothing is loaded in %s: run veer attach or veer vip add first\n", pin_dir);
	return -ENOENT;
}

int veer_lb_prepare(struct lb **out, bool create)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct lb *skel;
	int err;

	skel = lb__open_opts(&opts);
	if (!skel) {
		err = -errno;
		pr_warn("cannot open the load balancer object: %s\n", strerror(errno));
		return err;
	}
	err = pins_match(skel, create);
	if (!err && !create)
		err = nothing_loaded();
	if (err < 0) {
		lb__destroy(skel);
		return err;
	}
	*out = skel;
	return 0;
}

bool veer_pinned(const char *map)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", pin_dir, map);
	return !access(path, F_OK);
}

/* The directory holds the load balancer's maps: its VIP table is pinned. */
static bool lb_pinned(void)
{
	return veer_pinned("veer_vips");
}

static int open_state(struct veer **out, bool write, bool create)
{
	struct veer *v;
	int err;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->lock_fd = -1;
	v->ncpus = libbpf_num_possible_cpus();
	if (v->ncpus <= 0) {
		err = v->ncpus ? v->ncpus : -EINVAL;
		goto fail;
	}
	/* Only a creating writer makes the directory. */
	err = create ? veer_check_bpffs() : veer_bpffs_check();
	if (err)
		goto fail;
	if ((!write || !create) && access(pin_dir, F_OK)) {
		err = errno == ENOENT ? nothing_loaded() : -errno;
		if (err != -ENOENT)
			pr_warn("cannot open %s: %s\n", pin_dir, strerror(-err));
		goto fail;
	}
	v->lock_fd = veer_lock_pins(write);
	if (v->lock_fd < 0) {
		err = v->lock_fd;
		goto fail;
	}
	/* Under the lock: what is pinned cannot change between the check and the load. */
	if (write && !create && !lb_pinned()) {
		err = nothing_loaded();
		goto fail;
	}
	err = veer_lb_prepare(&v->skel, write);
	if (err)
		goto fail;
	/* Maps only: creating or adopting the pinned maps needs no verifier pass. */
	bpf_program__set_autoload(v->skel->progs.veer_lb, false);
	bpf_program__set_autoload(v->skel->progs.veer_lb_tc, false);
	bpf_program__set_autoload(v->skel->progs.veer_lb_egress, false);
	err = lb__load(v->skel);
	if (err) {
		pr_warn("cannot %s the maps in %s: %s\n", write ? "create or adopt" : "adopt",
			pin_dir, strerror(-err));
		goto fail;
	}
	/* A writer fills the VIP address table once when maps from before it are adopted. */
	if (write) {
		err = veer_vip_addrs_adopt(v);
		if (err)
			goto fail;
	}
	*out = v;
	return 0;
fail:
	veer_close(v);
	return err;
}

int veer_open(struct veer **out, bool write)
{
	return open_state(out, write, write);
}

int veer_open_existing(struct veer **out)
{
	return open_state(out, true, false);
}

/* memlock of the map's fdinfo: what the kernel charges for it. */
static __u64 map_memory(int fd)
{
	char path[64], line[128];
	unsigned long long bytes = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &bytes) == 1)
			break;
	fclose(f);
	return bytes;
}

static int tables_info(struct bpf_map *maps[2], struct veer_table_info out[2])
{
	for (int i = 0; i < 2; i++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_map__fd(maps[i]);

		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			int err = -errno;

			pr_warn("cannot read %s: %s\n", bpf_map__name(maps[i]), strerror(errno));
			return err;
		}
		out[i].name = bpf_map__name(maps[i]);
		out[i].family = i ? VEER_AF_INET6 : VEER_AF_INET;
		out[i].capacity = info.max_entries;
		out[i].memory = map_memory(fd);
		out[i].pinned = bpf_map__is_pinned(maps[i]);
	}
	return 0;
}

int veer_flow_tables(struct veer *v, struct veer_table_info out[2])
{
	struct bpf_map *maps[2] = {v->skel->maps.veer_flows4, v->skel->maps.veer_flows6};

	return tables_info(maps, out);
}

int veer_syn_tables(struct veer *v, struct veer_table_info out[2])
{
	struct bpf_map *maps[2] = {v->skel->maps.veer_syns4, v->skel->maps.veer_syns6};

	return tables_info(maps, out);
}

const struct veer_backend *veer_backends_get(struct veer *v)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd = bpf_map__fd(v->skel->maps.veer_backends);
	__u32 *keys, out = 0, count, done = 0;
	void *in = NULL;
	int err = 0;

	if (v->backends)
		return v->backends;
	v->backends = calloc(VEER_MAX_BACKENDS, sizeof(*v->backends));
	keys = calloc(VEER_MAX_BACKENDS, sizeof(*keys));
	if (!v->backends || !keys)
		goto fail;
	while (done < VEER_MAX_BACKENDS) {
		count = VEER_MAX_BACKENDS - done;
		err = bpf_map_lookup_batch(fd, in, &out, keys + done, v->backends + done, &count,
					   &opts);
		done += count;
		if (err)
			break;
		in = &out;
	}
	if (err && errno != ENOENT) {
		/* No batch support: one lookup per slot. */
		for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++)
			if (bpf_map_lookup_elem(fd, &id, &v->backends[id]))
				goto fail;
	} else {
		/* An array returns its slots in order, so keys[i] == i; be safe anyway. */
		struct veer_backend *sorted = calloc(VEER_MAX_BACKENDS, sizeof(*sorted));

		if (!sorted)
			goto fail;
		for (__u32 i = 0; i < done; i++)
			if (keys[i] < VEER_MAX_BACKENDS)
				sorted[keys[i]] = v->backends[i];
		free(v->backends);
		v->backends = sorted;
	}
	free(keys);
	return v->backends;
fail:
	pr_warn("cannot read the backend table: %s\n", strerror(errno ? errno : ENOMEM));
	free(keys);
	free(v->backends);
	v->backends = NULL;
	return NULL;
}

int veer_backend_put(struct veer *v, __u32 id, const struct veer_backend *be)
{
	int err = veer_map_update(v->skel->maps.veer_backends, &id, sizeof(id), be, sizeof(*be),
				  BPF_ANY);

	if (!err && v->backends && id < VEER_MAX_BACKENDS)
		v->backends[id] = *be;
	return err;
}

/* Process-wide, as veerd's reconcile and `veer apply` see it; atomic for a threaded caller. */
static __u64 map_writes;

void veer_map_written(unsigned n)
{
	__atomic_fetch_add(&map_writes, n, __ATOMIC_RELAXED);
}

__u64 veer_map_writes(void)
{
	return __atomic_load_n(&map_writes, __ATOMIC_RELAXED);
}

int veer_map_update(struct bpf_map *map, const void *key, size_t ksz, const void *val, size_t vsz,
		    __u64 flags)
{
	veer_map_written(1);
	return bpf_map__update_elem(map, key, ksz, val, vsz, flags);
}

int veer_map_delete(struct bpf_map *map, const void *key, size_t ksz)
{
	veer_map_written(1);
	return bpf_map__delete_elem(map, key, ksz, 0);
}

int veer_map_update_batch(int fd, const void *keys, const void *vals, __u32 *count)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	veer_map_written(1);
	return bpf_map_update_batch(fd, keys, vals, count, &opts);
}

int veer_map_delete_batch(int fd, const void *keys, __u32 *count)
{
	veer_map_written(1);
	return bpf_map_delete_batch(fd, keys, count, NULL);
}

struct veer_vip_ent *veer_vips_get(struct veer *v)
{
	struct bpf_map *map = v->skel->maps.veer_vips;
	struct veer_vip_key key, cur, *prev = NULL;
	struct veer_vip vip;

	if (v->vips)
		return v->vips;
	v->vips = calloc(VEER_MAX_VIPS, sizeof(*v->vips));
	if (!v->vips) {
		pr_warn("cannot read the VIP table: %s\n", strerror(ENOMEM));
		return NULL;
	}
	while (!bpf_map__get_next_key(map, prev, &key, sizeof(key))) {
		if (!bpf_map__lookup_elem(map, &key, sizeof(key), &vip, sizeof(vip), 0) &&
		    vip.id < VEER_MAX_VIPS) {
			v->vips[vip.id].key = key;
			v->vips[vip.id].vip = vip;
			v->vips[vip.id].used = true;
		}
		cur = key;
		prev = &cur;
	}
	return v->vips;
}

int veer_vip_write(struct veer *v, const struct veer_vip_key *key, const struct veer_vip *vip,
		   __u64 flags)
{
	int err = veer_map_update(v->skel->maps.veer_vips, key, sizeof(*key), vip, sizeof(*vip),
				  flags);

	if (!err && v->vips && vip->id < VEER_MAX_VIPS) {
		v->vips[vip->id].key = *key;
		v->vips[vip->id].vip = *vip;
		v->vips[vip->id].used = true;
	}
	return err;
}

int veer_vip_erase(struct veer *v, const struct veer_vip_key *key, __u32 id)
{
	int err = veer_map_delete(v->skel->maps.veer_vips, key, sizeof(*key));

	if ((!err || err == -ENOENT) && v->vips && id < VEER_MAX_VIPS)
		memset(&v->vips[id], 0, sizeof(v->vips[id]));
	return err;
}

/* The pinned veer_vips is still the one the handle holds: nothing replaced the pins. */
static bool handle_current(struct veer *v)
{
	struct bpf_map_info held = {}, pinned = {};
	__u32 len = sizeof(held);
	char path[PATH_MAX + 16];
	bool same;
	int fd;

	snprintf(path, sizeof(path), "%s/veer_vips", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	same = !bpf_obj_get_info_by_fd(bpf_map__fd(v->skel->maps.veer_vips), &held, &len) &&
	       (len = sizeof(pinned), !bpf_obj_get_info_by_fd(fd, &pinned, &len)) &&
	       held.id == pinned.id;
	close(fd);
	return same;
}

void veer_unlock(struct veer *v)
{
	if (v->lock_fd >= 0)
		close(v->lock_fd);
	v->lock_fd = -1;
	/* Read under the lock: another writer may change them before the next transaction. */
	free(v->backends);
	free(v->vips);
	v->backends = NULL;
	v->vips = NULL;
}

int veer_relock(struct veer *v, bool write)
{
	if (v->lock_fd >= 0)
		return 0;
	v->lock_fd = veer_lock_pins(write);
	if (v->lock_fd < 0)
		return v->lock_fd;
	if (!handle_current(v)) {
		veer_unlock(v);
		return -ESTALE;
	}
	return 0;
}

void veer_close(struct veer *v)
{
	if (!v)
		return;
	free(v->vips);
	free(v->backends);
	veer_rings_held_free(v);
	if (v->lock_fd >= 0)
		close(v->lock_fd);
	lb__destroy(v->skel);
	free(v);
}

int veer_counters_reset(struct veer *v, struct bpf_map *map, __u32 idx)
{
	size_t sz = bpf_map__value_size(map);
	void *zero;
	int err;

	zero = calloc(v->ncpus, (sz + 7) & ~7UL);
	if (!zero)
		return -ENOMEM;
	err = veer_map_update(map, &idx, sizeof(idx), zero, v->ncpus * ((sz + 7) & ~7UL), BPF_ANY);
	free(zero);
	return err;
}

int veer_pins_remove(void)
{
	char path[PATH_MAX + 256];
	struct dirent *de;
	int lock, err = 0;
	DIR *dir;

	if (access(pin_dir, F_OK) && errno == ENOENT)
		return 0;
	lock = veer_lock_pins(true);
	if (lock < 0)
		return lock;
	dir = opendir(pin_dir);
	if (!dir) {
		err = errno == ENOENT ? 0 : -errno;
		goto out;
	}
	/*
	 * Only veer's names (its maps, and the cache's programs and cgroup links): a pin
	 * directory shared with something else keeps what is not ours.
	 */
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "veer_", 5) && strncmp(de->d_name, "cache_", 6))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
		if (unlink(path) && errno != ENOENT) {
			err = -errno;
			pr_warn("cannot remove %s: %s\n", path, strerror(errno));
		}
	}
	closedir(dir);
	if (!err && rmdir(pin_dir) && errno != ENOENT && errno != ENOTEMPTY) {
		err = -errno;
		pr_warn("cannot remove %s: %s\n", pin_dir, strerror(errno));
	}
out:
	close(lock);
	return err;
}

char *veer_daemon_lock_path(char *buf, size_t len)
{
	size_t j = 0;
	char name[PATH_MAX];

	for (size_t i = 0; pin_dir[i] && j + 2 < sizeof(name); i++)
		name[j++] = pin_dir[i] == '/' ? '_' : pin_dir[i];
	name[j] = '\0';
	snprintf(buf, len, "%s/veerd%s.lock", VEER_DAEMON_RUN_DIR, name);
	return buf;
}

int veer_daemon_pid(void)
{
	char path[PATH_MAX + 64], text[32] = "";
	int fd, pid = 0;
	ssize_t n;

	fd = open(veer_daemon_lock_path(path, sizeof(path)), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* Free: no veerd holds it (a file a dead one left). */
	if (!flock(fd, LOCK_SH | LOCK_NB)) {
		close(fd);
		return 0;
	}
	n = read(fd, text, sizeof(text) - 1);
	if (n > 0)
		pid = atoi(text);
	close(fd);
	return pid > 0 ? pid : 1;
}
