// SPDX-License-Identifier: GPL-2.0
/* Opening veer's pinned state: the maps are created on first use and adopted afterwards. */
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

int veer_set_pin_dir(const char *dir)
{
	size_t len = strlen(dir);

	if (dir[0] != '/' || len < 2 || len >= sizeof(pin_dir) - 32) {
		pr_warn("invalid pin directory '%s': want an absolute path on a bpffs\n", dir);
		return -EINVAL;
	}
	memcpy(pin_dir, dir, len + 1);
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
int veer_check_bpffs(void)
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
	if (st.f_type != BPF_FS_MAGIC) {
		pr_warn("%s is not a bpffs: mount one (mount -t bpf bpf %s); inside a network "
			"namespace use nsenter --net, not ip netns exec, which hides it\n",
			where, !strcmp(pin_dir, VEER_PIN_DIR) ? VEER_PIN_ROOT : where);
		return -ENOTSUP;
	}
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

struct lb *veer_lb_open(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct lb *skel;

	if (veer_check_bpffs())
		return NULL;
	skel = lb__open_opts(&opts);
	if (!skel)
		pr_warn("cannot open the load balancer object: %s\n", strerror(errno));
	return skel;
}

int veer_open(struct veer **out, bool write)
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
	v->skel = veer_lb_open();
	if (!v->skel) {
		err = -ENOTSUP;
		goto fail;
	}
	v->lock_fd = veer_lock_pins(write);
	if (v->lock_fd < 0) {
		err = v->lock_fd;
		goto fail;
	}
	/* Maps only: creating or adopting the pinned maps needs no verifier pass. */
	bpf_program__set_autoload(v->skel->progs.veer_lb, false);
	bpf_program__set_autoload(v->skel->progs.veer_lb_tc, false);
	err = lb__load(v->skel);
	if (err) {
		pr_warn("cannot create or adopt the maps in %s: %s%s\n", pin_dir,
			strerror(-err),
			err == -EINVAL ? " (maps pinned by another version of veer? detach it and "
					 "remove the directory)"
				       : "");
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
	int err = bpf_map__update_elem(v->skel->maps.veer_backends, &id, sizeof(id), be,
				       sizeof(*be), BPF_ANY);

	if (!err && v->backends && id < VEER_MAX_BACKENDS)
		v->backends[id] = *be;
	return err;
}

void veer_close(struct veer *v)
{
	if (!v)
		return;
	free(v->backends);
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
	err = bpf_map__update_elem(map, &idx, sizeof(idx), zero, v->ncpus * ((sz + 7) & ~7UL),
				   BPF_ANY);
	free(zero);
	return err;
}
