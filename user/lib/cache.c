// SPDX-License-Identifier: GPL-2.0
/*
 * The hot-key cache's programs and their attachment. The programs are pinned once
 * (cache_sockops, cache_msg, cache_verdict under /sys/fs/bpf/veer) and shared by every
 * cgroup: sk_msg and sk_skb hang off the socket map, and each cgroup gets its own sockops
 * link, pinned as cache_cg_<cgroup id>, so that attachments outlive the command that made them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cache_internal.h"

#define PIN_SOCKOPS "cache_sockops"
#define PIN_MSG	    "cache_msg"
#define PIN_VERDICT "cache_verdict"

const char *const veer_cache_stat_names[VEER_CACHE_STAT_MAX] = VEER_CACHE_STAT_NAMES;

int veer_cache_parse_proto(const char *s, __u8 *proto)
{
	if (!strcmp(s, "redis"))
		*proto = VEER_CACHE_REDIS;
	else if (!strcmp(s, "memcached"))
		*proto = VEER_CACHE_MEMCACHED;
	else
		return -EINVAL;
	return 0;
}

const char *veer_cache_proto_name(__u8 proto)
{
	switch (proto) {
	case VEER_CACHE_REDIS:
		return "redis";
	case VEER_CACHE_MEMCACHED:
		return "memcached";
	default:
		return "?";
	}
}

/* Opens the skeleton with its maps pinned under veer_pin_dir(); programs load only if asked. */
static int cache_skel_load(struct veer_cache *c, bool progs)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = veer_pin_dir());
	struct bpf_program *p;
	int err;

	c->skel = cache__open_opts(&opts);
	if (!c->skel) {
		err = -errno;
		pr_warn("cannot open the cache object: %s\n", strerror(errno));
		return err;
	}
	bpf_object__for_each_program(p, c->skel->obj)
		bpf_program__set_autoload(p, progs);
	err = cache__load(c->skel);
	if (err)
		pr_warn("cannot %s the cache's maps in %s: %s%s\n",
			progs ? "load the cache programs or adopt" : "create or adopt", veer_pin_dir(),
			strerror(-err),
			err == -EINVAL ? " (maps pinned by another version of veer? remove them)"
				       : "");
	return err;
}

int veer_cache_open(struct veer_cache **out, bool write)
{
	struct veer_cache *c;
	int pins, err;

	if (veer_check_bpffs())
		return -ENOTSUP;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->lock_fd = -1;
	c->ncpus = libbpf_num_possible_cpus();
	/*
	 * The pin directory's lock only while the maps are created or adopted: the balancer's
	 * writers wait for that, never for what the cache does next.
	 */
	pins = veer_lock_pins(write);
	if (pins < 0) {
		err = pins;
		goto fail;
	}
	err = cache_skel_load(c, false);
	close(pins);
	if (err)
		goto fail;
	snprintf(c->lock_path, sizeof(c->lock_path), "%s/veer_cache_glob", veer_pin_dir());
	if (write) {
		err = veer_cache_lock(c, true);
		if (err)
			goto fail;
	}
	*out = c;
	return 0;
fail:
	veer_cache_close(c);
	return err;
}

int veer_cache_lock(struct veer_cache *c, bool held)
{
	int fd, err;

	if (!held) {
		if (c->lock_fd >= 0)
			close(c->lock_fd);
		c->lock_fd = -1;
		return 0;
	}
	if (c->lock_fd >= 0 || !c->lock_path[0])
		return 0;
	/* bpffs holds no plain files: a pinned map with BTF opens as a file to flock. */
	fd = open(c->lock_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX)) {
		err = -errno;
		pr_warn("cannot lock %s: %s\n", c->lock_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	c->lock_fd = fd;
	return 0;
}

void veer_cache_close(struct veer_cache *c)
{
	if (!c)
		return;
	if (c->glob)
		munmap(c->glob, sizeof(*c->glob));
	cache__destroy(c->skel);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c);
}

struct veer_cache_glob *veer_cache_glob_map(struct veer_cache *c)
{
	void *p;

	if (c->glob)
		return c->glob;
	p = mmap(NULL, sizeof(*c->glob), PROT_READ | PROT_WRITE, MAP_SHARED,
		 bpf_map__fd(c->skel->maps.veer_cache_glob), 0);
	if (p == MAP_FAILED) {
		pr_warn("cannot map veer_cache_glob: %s\n", strerror(errno));
		return NULL;
	}
	c->glob = p;
	return c->glob;
}

int veer_cache_epoch_bump(struct veer_cache *c)
{
	struct veer_cache_glob *g = veer_cache_glob_map(c);

	if (!g)
		return -EIO;
	/* The programs add to the same word atomically: so does this. */
	__atomic_add_fetch(&g->epoch, 1, __ATOMIC_SEQ_CST);
	veer_cache_count(c, VEER_CACHE_FLUSH, 1);
	return 0;
}

int veer_cache_lease_set(struct veer_cache *c, __u8 proto, __u64 until_ns)
{
	struct veer_cache_glob *g;

	if (proto != VEER_CACHE_REDIS && proto != VEER_CACHE_MEMCACHED)
		return -EINVAL;
	g = veer_cache_glob_map(c);
	if (!g)
		return -EIO;
	__atomic_store_n(&g->lease_ns[proto], until_ns, __ATOMIC_SEQ_CST);
	return 0;
}

/* The cgroup v2 directory's id (its inode number) and an fd on it, or -errno with a message. */
static int cgroup_open(const char *path, __u64 *id)
{
	struct statfs sfs;
	struct stat st;
	int fd, err;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_warn("cannot open cgroup %s: %s\n", path, strerror(errno));
		return err;
	}
	if (fstatfs(fd, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC || fstat(fd, &st)) {
		pr_warn("cannot use %s: not a cgroup v2 directory\n", path);
		close(fd);
		return -ENOTDIR;
	}
	*id = st.st_ino;
	return fd;
}

static void cgroup_pin(char *buf, size_t len, __u64 id)
{
	snprintf(buf, len, "%s/cache_cg_%llu", veer_pin_dir(), (unsigned long long)id);
}

/*
 * The programs, loaded and pinned on first attach. sk_msg and sk_skb are attached to the socket
 * map before any cgroup can fill it: a socket takes the map's programs when it is added.
 */
static int cache_progs(struct veer_cache *c, int *sockops_fd)
{
	int socks = bpf_map__fd(c->skel->maps.veer_cache_socks), err;
	struct veer_cache loaded = {.lock_fd = -1};
	char msg[PATH_MAX], verdict[PATH_MAX], sockops[PATH_MAX];

	snprintf(msg, sizeof(msg), "%s/%s", veer_pin_dir(), PIN_MSG);
	snprintf(verdict, sizeof(verdict), "%s/%s", veer_pin_dir(), PIN_VERDICT);
	snprintf(sockops, sizeof(sockops), "%s/%s", veer_pin_dir(), PIN_SOCKOPS);
	*sockops_fd = bpf_obj_get(sockops);
	if (*sockops_fd >= 0)
		return 0;
	err = cache_skel_load(&loaded, true);
	if (err)
		goto out;
	err = bpf_prog_attach(bpf_program__fd(loaded.skel->progs.veer_cache_msg), socks,
			      BPF_SK_MSG_VERDICT, 0);
	if (!err)
		err = bpf_prog_attach(bpf_program__fd(loaded.skel->progs.veer_cache_verdict), socks,
				      BPF_SK_SKB_VERDICT, 0);
	if (err) {
		err = -errno;
		pr_warn("cannot attach the cache programs to veer_cache_socks: %s\n",
			strerror(errno));
		goto out;
	}
	if (bpf_program__pin(loaded.skel->progs.veer_cache_msg, msg) ||
	    bpf_program__pin(loaded.skel->progs.veer_cache_verdict, verdict) ||
	    bpf_program__pin(loaded.skel->progs.veer_cache_sockops, sockops)) {
		err = -errno;
		pr_warn("cannot pin the cache programs in %s: %s\n", veer_pin_dir(), strerror(errno));
		unlink(msg);
		unlink(verdict);
		goto out;
	}
	*sockops_fd = dup(bpf_program__fd(loaded.skel->progs.veer_cache_sockops));
out:
	cache__destroy(loaded.skel);
	return err;
}

int veer_cache_attach(struct veer_cache *c, const char *cgroup, __u16 port, __u8 proto)
{
	struct veer_cache_port want = {.proto = proto}, have;
	__u32 key = port;
	char pin[PATH_MAX];
	int cg, prog = -1, link = -1, err;
	bool new_port;
	__u64 id;

	cg = cgroup_open(cgroup, &id);
	if (cg < 0)
		return cg;
	new_port = bpf_map__lookup_elem(c->skel->maps.veer_cache_ports, &key, sizeof(key), &have,
					sizeof(have), 0) != 0;
	if (!new_port && have.proto != proto) {
		pr_warn("cannot cache port %u as %s: it is cached as %s\n", port,
			veer_cache_proto_name(proto), veer_cache_proto_name(have.proto));
		err = -EEXIST;
		goto out;
	}
	err = veer_cache_cmds_load(c);
	if (err)
		goto out;
	err = cache_progs(c, &prog);
	if (err)
		goto out;
	if (new_port) {
		err = bpf_map__update_elem(c->skel->maps.veer_cache_ports, &key, sizeof(key), &want,
					   sizeof(want), BPF_NOEXIST);
		if (err) {
			pr_warn("cannot cache port %u: %s (at most %d ports)\n", port,
				strerror(-err), VEER_CACHE_PORTS);
			goto out;
		}
	}
	cgroup_pin(pin, sizeof(pin), id);
	if (!access(pin, F_OK))
		goto out; /* this cgroup is attached already; the port is added */
	link = bpf_link_create(prog, cg, BPF_CGROUP_SOCK_OPS, NULL);
	if (link < 0 || bpf_obj_pin(link, pin)) {
		err = -errno;
		pr_warn("cannot attach the cache to cgroup %s: %s\n", cgroup, strerror(errno));
		if (new_port)
			bpf_map__delete_elem(c->skel->maps.veer_cache_ports, &key, sizeof(key), 0);
		goto out;
	}
	pr_info("cache attached to %s for port %u (%s)\n", cgroup, port,
		veer_cache_proto_name(proto));
out:
	if (link >= 0)
		close(link);
	if (prog >= 0)
		close(prog);
	close(cg);
	return err;
}

int veer_cache_detach(struct veer_cache *c, const char *cgroup)
{
	char pin[PATH_MAX];
	__u64 id;
	int cg;

	(void)c;
	cg = cgroup_open(cgroup, &id);
	if (cg < 0)
		return cg;
	close(cg);
	cgroup_pin(pin, sizeof(pin), id);
	if (unlink(pin)) {
		int err = -errno;

		pr_warn("cannot detach the cache from %s: %s\n", cgroup,
			errno == ENOENT ? "not attached" : strerror(errno));
		return err;
	}
	return 0;
}

int veer_cache_port_del(struct veer_cache *c, __u16 port)
{
	__u32 key = port;
	int err = bpf_map__delete_elem(c->skel->maps.veer_cache_ports, &key, sizeof(key), 0);

	if (err)
		pr_warn("cannot stop caching port %u: %s\n", port,
			err == -ENOENT ? "not cached" : strerror(-err));
	return err;
}

static int port_cmp(const void *a, const void *b)
{
	return ((const struct veer_cache_port_info *)a)->port -
	       ((const struct veer_cache_port_info *)b)->port;
}

int veer_cache_ports(struct veer_cache *c, struct veer_cache_port_info *out, size_t *n)
{
	struct bpf_map *m = c->skel->maps.veer_cache_ports;
	struct veer_cache_port p;
	__u32 k, next, *prev = NULL;

	*n = 0;
	while (*n < VEER_CACHE_PORTS && !bpf_map__get_next_key(m, prev, &next, sizeof(next))) {
		k = next;
		prev = &k;
		if (bpf_map__lookup_elem(m, &k, sizeof(k), &p, sizeof(p), 0))
			continue;
		out[*n].port = k;
		out[(*n)++].proto = p.proto;
	}
	qsort(out, *n, sizeof(*out), port_cmp);
	return 0;
}

int veer_cache_counters(struct veer_cache *c, __u64 sum[VEER_CACHE_STAT_MAX])
{
	__u64 *vals = calloc(c->ncpus, sizeof(*vals));

	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; i < VEER_CACHE_STAT_MAX; i++) {
		int err = bpf_map__lookup_elem(c->skel->maps.veer_cache_stats, &i, sizeof(i), vals,
					       c->ncpus * sizeof(*vals), 0);

		if (err) {
			free(vals);
			return err;
		}
		sum[i] = 0;
		for (int cpu = 0; cpu < c->ncpus; cpu++)
			sum[i] += vals[cpu];
	}
	free(vals);
	return 0;
}

void veer_cache_count(struct veer_cache *c, __u32 stat, __u64 n)
{
	/* A read-modify-write of the whole value: one at a time in this process. */
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	__u64 *vals = calloc(c->ncpus, sizeof(*vals));
	struct bpf_map *m = c->skel->maps.veer_cache_stats;

	if (!vals)
		return;
	pthread_mutex_lock(&lock);
	if (!bpf_map__lookup_elem(m, &stat, sizeof(stat), vals, c->ncpus * sizeof(*vals), 0)) {
		vals[0] += n;
		bpf_map__update_elem(m, &stat, sizeof(stat), vals, c->ncpus * sizeof(*vals), 0);
	}
	pthread_mutex_unlock(&lock);
	free(vals);
}
