// SPDX-License-Identifier: GPL-2.0
/* VIPs and their Maglev tables. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "maglev.h"

int veer_vip_get(struct veer *v, const struct veer_vip_key *key, struct veer_vip *vip)
{
	return bpf_map__lookup_elem(v->skel->maps.veer_vips, key, sizeof(*key), vip, sizeof(*vip),
				    0)
		       ? -ENOENT
		       : 0;
}

/*
 * Recounted from veer_vips rather than incremented and decremented: the count cannot drift, and
 * a command that died between its two updates is repaired by the next add or del at the
 * address. Writers hold the pin lock, so the walk sees a table no one else changes.
 */
int veer_vip_addr_sync(struct bpf_map *vips, struct bpf_map *addrs, const union veer_addr *addr,
		       __u8 family)
{
	struct veer_vip_key key, cur, *prev = NULL;
	struct veer_vip_addr_key ak = {};
	__u32 n = 0;
	int err;

	while (!bpf_map__get_next_key(vips, prev, &key, sizeof(key))) {
		if (key.family == family && !memcmp(&key.addr, addr, sizeof(*addr)))
			n++;
		cur = key;
		prev = &cur;
	}
	ak.addr = *addr;
	ak.family = family;
	if (n)
		return veer_map_update(addrs, &ak, sizeof(ak), &n, sizeof(n), BPF_ANY);
	err = veer_map_delete(addrs, &ak, sizeof(ak));
	return err == -ENOENT ? 0 : err;
}

int veer_vip_addrs_adopt(struct veer *v)
{
	struct bpf_map *vips = v->skel->maps.veer_vips, *addrs = v->skel->maps.veer_vip_addrs;
	struct veer_vip_addr_key ak;
	struct veer_vip_key vk;
	struct veer_vip_info *list;
	size_t n;
	int err;

	if (!bpf_map__get_next_key(addrs, NULL, &ak, sizeof(ak)) ||
	    bpf_map__get_next_key(vips, NULL, &vk, sizeof(vk)))
		return 0;
	err = veer_vip_list(v, &list, &n);
	if (err)
		goto out;
	/* Sorted by family and address: one sync per address. */
	for (size_t i = 0; !err && i < n; i++)
		if (!i || list[i].key.family != list[i - 1].key.family ||
		    memcmp(&list[i].key.addr, &list[i - 1].key.addr, sizeof(list[i].key.addr)))
			err = veer_vip_addr_sync(vips, addrs, &list[i].key.addr,
						 list[i].key.family);
	free(list);
out:
	if (err)
		pr_warn("cannot fill the VIP address table: %s\n", strerror(-err));
	return err;
}

static int vip_cmp(const void *a, const void *b)
{
	const struct veer_vip_info *x = a, *y = b;

	if (x->key.family != y->key.family)
		return x->key.family - y->key.family;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

int veer_vip_list(struct veer *v, struct veer_vip_info **out, size_t *n)
{
	struct bpf_map *map = v->skel->maps.veer_vips;
	struct veer_vip_key key, cur, *prev = NULL;
	struct veer_vip_info *list;
	size_t cnt = 0;

	list = calloc(VEER_MAX_VIPS, sizeof(*list));
	if (!list)
		return -ENOMEM;
	while (cnt < VEER_MAX_VIPS && !bpf_map__get_next_key(map, prev, &key, sizeof(key))) {
		if (!bpf_map__lookup_elem(map, &key, sizeof(key), &list[cnt].vip,
					  sizeof(list[cnt].vip), 0)) {
			list[cnt].key = key;
			cnt++;
		}
		cur = key;
		prev = &cur;
	}
	qsort(list, cnt, sizeof(*list), vip_cmp);
	/* One pass over the backend table counts every VIP's backends. */
	if (veer_backends_get(v)) {
		__u32 per_vip[VEER_MAX_VIPS] = {};

		for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++)
			if ((v->backends[id].flags & VEER_BACKEND_ACTIVE) &&
			    v->backends[id].vip_id < VEER_MAX_VIPS)
				per_vip[v->backends[id].vip_id]++;
		for (size_t i = 0; i < cnt; i++)
			list[i].backends =
				list[i].vip.id < VEER_MAX_VIPS ? per_vip[list[i].vip.id] : 0;
	}
	*out = list;
	*n = cnt;
	return 0;
}

int veer_vip_alloc_id(struct veer_slots *s, const struct veer_vip_key *key, __u32 *id)
{
	struct veer_vip_ent *ents = s->v->vips;

	for (__u32 i = 0; i < VEER_MAX_VIPS; i++) {
		if (ents[i].used || s->named[i])
			continue;
		memset(&ents[i], 0, sizeof(ents[i]));
		ents[i].key = *key;
		ents[i].vip.id = i;
		ents[i].used = true;
		*id = i;
		return 0;
	}
	return -ENOSPC;
}

/* An array map's values sit 8 bytes apart, in its memory mapping as in the kernel. */
#define RING_STRIDE 8

static size_t ring_mapping_len(__u32 slots)
{
	size_t page = sysconf(_SC_PAGESIZE);

	return ((size_t)slots * RING_STRIDE + page - 1) / page * page;
}

/* A new table holding ring, in *fd: written through its mapping, or by updates if it has none. */
static int ring_table(struct veer *v, const __u32 *ring, __u32 slots, int *fd)
{
	LIBBPF_OPTS(bpf_map_create_opts, copts);
	size_t len = ring_mapping_len(slots);
	__u32 *keys, count = slots;
	char *mem;
	int err;

	copts.map_flags = v->ring_plain ? BPF_F_INNER_MAP : VEER_RING_MAP_FLAGS;
	veer_map_written(1);
	*fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "veer_ring", sizeof(__u32), sizeof(__u32), slots,
			     &copts);
	if (*fd < 0)
		return -errno;
	if (!v->ring_plain) {
		mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
		if (mem == MAP_FAILED)
			return -errno;
		for (__u32 i = 0; i < slots; i++)
			memcpy(mem + (size_t)i * RING_STRIDE, &ring[i], sizeof(ring[i]));
		munmap(mem, len);
		veer_map_written(1);
		return 0;
	}
	keys = malloc((size_t)slots * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (__u32 i = 0; i < slots; i++)
		keys[i] = i;
	err = veer_map_update_batch(*fd, keys, ring, &count);
	free(keys);
	return err;
}

/*
 * Puts the tables fds at keys in veer_rings, in one batch: the kernel waits for an RCU grace
 * period after every update of a map of maps (about 12 ms here), once per call, so that a
 * thousand tables published one by one would take twelve seconds. veer_rings pinned by a veer
 * whose tables have no mapping refuses ours (-EINVAL): the handle then makes tables of that
 * kind (ring_plain) and the caller builds them again.
 */
static int rings_swap(struct veer *v, const __u32 *keys, const int *fds, size_t n)
{
	__u32 count = n;
	int err;

	if (!n)
		return 0;
	err = veer_map_update_batch(bpf_map__fd(v->skel->maps.veer_rings), keys, fds, &count);
	if (err == -EINVAL && !v->ring_plain)
		v->ring_plain = true;
	return err;
}

/*
 * A table this handle swapped in, kept by VIP id: the next publish of the same VIP and size
 * rewrites it in place through its mapping instead of swapping a new one in, which costs an
 * RCU grace period (about 12 ms here, up to 40 on a busy host) per swap. A packet reading a
 * slot mid-write gets its old or its new backend, both valid then (backends are written
 * before the table, and marked removed only after it), as with Katran's in-place updates.
 */
static void ring_held_drop(struct veer *v, __u32 vip_id)
{
	if (!v->rings_held || vip_id >= VEER_MAX_VIPS || v->rings_held[vip_id].fd < 0)
		return;
	close(v->rings_held[vip_id].fd);
	v->rings_held[vip_id].fd = -1;
}

static void ring_held_put(struct veer *v, __u32 vip_id, int fd, __u32 slots)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int kept;

	if (vip_id >= VEER_MAX_VIPS || v->ring_plain)
		return;
	if (!v->rings_held) {
		v->rings_held = malloc(VEER_MAX_VIPS * sizeof(*v->rings_held));
		if (!v->rings_held)
			return;
		for (__u32 i = 0; i < VEER_MAX_VIPS; i++)
			v->rings_held[i].fd = -1;
	}
	ring_held_drop(v, vip_id);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return;
	kept = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (kept < 0)
		return;
	v->rings_held[vip_id] = (struct veer_ring_held){.fd = kept, .map_id = info.id,
							.slots = slots};
}

void veer_rings_held_free(struct veer *v)
{
	for (__u32 i = 0; v->rings_held && i < VEER_MAX_VIPS; i++)
		ring_held_drop(v, i);
	free(v->rings_held);
	v->rings_held = NULL;
}

bool veer_ring_fits(struct veer *v, __u32 id, __u32 slots)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), inner;
	int fd;

	if (bpf_map__lookup_elem(v->skel->maps.veer_rings, &id, sizeof(id), &inner, sizeof(inner),
				 0))
		return false;
	/* The table this handle holds: no need to open it by id (which takes CAP_SYS_ADMIN). */
	if (v->rings_held && id < VEER_MAX_VIPS && v->rings_held[id].fd >= 0 &&
	    v->rings_held[id].map_id == inner)
		return v->rings_held[id].slots == slots;
	fd = bpf_map_get_fd_by_id(inner);
	if (fd < 0)
		return false;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	/* Held from now on: a daemon that drops its privileges still knows its tables. */
	if (info.max_entries == slots && (info.map_flags & BPF_F_MMAPABLE))
		ring_held_put(v, id, fd, slots);
	close(fd);
	return info.max_entries == slots;
}

/*
 * Writes ring over the VIP's table in place: 0, or -EAGAIN when this handle holds no table of
 * that size for it or veer_rings no longer names the one it holds (another writer swapped its
 * own in): the caller swaps a new one in.
 */
static int ring_in_place(struct veer *v, const struct veer_vip *vip, const __u32 *ring)
{
	const struct veer_ring_held *h;
	__u32 inner_id = 0;
	bool changed = false;
	size_t len;
	char *mem;

	if (!v->rings_held || vip->id >= VEER_MAX_VIPS)
		return -EAGAIN;
	h = &v->rings_held[vip->id];
	if (h->fd < 0 || h->slots != vip->ring_size ||
	    bpf_map__lookup_elem(v->skel->maps.veer_rings, &vip->id, sizeof(vip->id), &inner_id,
				 sizeof(inner_id), 0) ||
	    inner_id != h->map_id)
		return -EAGAIN;
	len = ring_mapping_len(h->slots);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, h->fd, 0);
	if (mem == MAP_FAILED)
		return -EAGAIN;
	for (__u32 i = 0; i < h->slots; i++) {
		__u32 *slot = (__u32 *)(mem + (size_t)i * RING_STRIDE);

		if (*slot != ring[i]) {
			__atomic_store_n(slot, ring[i], __ATOMIC_RELAXED);
			changed = true;
		}
	}
	munmap(mem, len);
	if (changed)
		veer_map_written(1);
	return 0;
}

/*
 * A VIP's table built from the slots in ids, as a map of its own in *fd, or written over the
 * table this handle holds for it (*fd -1). mb and ring are the
 * caller's, reused from table to table: a fresh 256 KiB buffer each time costs its page faults.
 */
static int ring_build(struct veer *v, const struct veer_vip *vip, const __u32 *ids, size_t n,
		      struct veer_maglev_backend *mb, __u32 *ring, int *fd)
{
	const struct veer_backend *table = v->backends;
	__u32 nb = 0;
	int err;

	*fd = -1;
	for (size_t i = 0; i < n; i++) {
		const struct veer_backend *be = &table[ids[i]];

		if ((be->flags & (VEER_BACKEND_ACTIVE | VEER_BACKEND_DOWN)) !=
			    VEER_BACKEND_ACTIVE ||
		    be->vip_id != vip->id)
			continue;
		/* Pools other than the default serve only client-prefix steering. */
		if (strcmp(be->pool, "default"))
			continue;
		mb[nb].id = ids[i];
		mb[nb].weight = be->weight;
		mb[nb].addr = be->addr;
		mb[nb].port = be->port;
		mb[nb].family = be->family;
		nb++;
	}
	err = veer_maglev_build(mb, nb, vip->ring_size, ring);
	if (!err && ring_in_place(v, vip, ring))
		err = ring_table(v, ring, vip->ring_size, fd);
	return err;
}

/* Tables per batch: 256 of 65537 slots are 128 MiB, held until the swap. */
#define RING_BATCH 256

/*
 * The tables of a batch, built by up to RING_WORKERS threads, one per CPU: the Maglev walk of a
 * 65537-slot table takes most of a millisecond of CPU, so a thousand of them take most of a
 * second on one core. The threads build and fill maps only; the swap is the caller's, after.
 */
#define RING_WORKERS 8

struct ring_builder {
	struct veer *v;
	const struct veer_ring_job *jobs;
	int *fds;
	size_t n, most_ids, most_slots;
	size_t next; /* the next job to take */
	int err;     /* the first error */
};

static void *ring_worker(void *arg)
{
	struct ring_builder *b = arg;
	struct veer_maglev_backend *mb = calloc(b->most_ids, sizeof(*mb));
	__u32 *ring = calloc(b->most_slots, sizeof(*ring));
	int err = mb && ring ? 0 : -ENOMEM, none = 0;

	while (!err && !__atomic_load_n(&b->err, __ATOMIC_RELAXED)) {
		size_t i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);

		if (i >= b->n)
			break;
		err = ring_build(b->v, b->jobs[i].vip, b->jobs[i].ids, b->jobs[i].n, mb, ring,
				 &b->fds[i]);
	}
	if (err)
		__atomic_compare_exchange_n(&b->err, &none, err, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
	free(ring);
	free(mb);
	return NULL;
}

static int rings_build(struct ring_builder *b)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = cpus > 1 ? (size_t)cpus : 1, started = 0;
	pthread_t workers[RING_WORKERS - 1];

	/* Threads only for batches worth them: a command's one table is built where it is. */
	want = want < RING_WORKERS ? want : RING_WORKERS;
	want = want < b->n / 8 + 1 ? want : b->n / 8 + 1;
	for (size_t i = 0; i < b->n; i++)
		b->fds[i] = -1;
	for (; started + 1 < want; started++)
		if (pthread_create(&workers[started], NULL, ring_worker, b))
			break; /* fewer threads: the work is shared all the same */
	ring_worker(b);
	for (size_t i = 0; i < started; i++)
		pthread_join(workers[i], NULL);
	return b->err;
}

int veer_rings_publish(struct veer *v, const struct veer_ring_job *jobs, size_t n, size_t *done)
{
	struct ring_builder b = {.v = v, .most_ids = 1, .most_slots = 1};
	__u32 keys[RING_BATCH];
	int fds[RING_BATCH], err = 0;

	if (done)
		*done = 0;
	if (!veer_backends_get(v))
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		b.most_ids = jobs[i].n > b.most_ids ? jobs[i].n : b.most_ids;
		b.most_slots = jobs[i].vip->ring_size > b.most_slots ? jobs[i].vip->ring_size
								     : b.most_slots;
	}
	for (size_t at = 0; !err && at < n; at += RING_BATCH) {
		size_t m = n - at < RING_BATCH ? n - at : RING_BATCH, swapped = 0;
		__u32 slots[RING_BATCH];
		int sfds[RING_BATCH];
		bool plain = v->ring_plain;

		b.jobs = jobs + at;
		b.fds = fds;
		b.n = m;
		b.next = 0;
		b.err = 0;
		err = rings_build(&b);
		/* The new tables only: the others were written in place. */
		for (size_t i = 0; i < m; i++)
			if (fds[i] >= 0) {
				keys[swapped] = jobs[at + i].vip->id;
				slots[swapped] = jobs[at + i].vip->ring_size;
				sfds[swapped++] = fds[i];
			}
		if (!err)
			err = rings_swap(v, keys, sfds, swapped);
		for (size_t i = 0; i < swapped; i++) {
			if (!err)
				ring_held_put(v, keys[i], sfds[i], slots[i]);
			close(sfds[i]);
		}
		/* Pins of an earlier veer: the same tables again, of their kind. */
		if (err == -EINVAL && !plain && v->ring_plain) {
			err = 0;
			at -= RING_BATCH;
		} else if (!err && done) {
			*done += m;
		}
	}
	return err;
}

int veer_rings_clear(struct veer *v, const __u32 *vip_ids, size_t n)
{
	__u32 none = VEER_NO_BACKEND;
	int *fds = NULL, fd = -1, err;
	bool plain = v->ring_plain;

	for (size_t i = 0; i < n; i++)
		ring_held_drop(v, vip_ids[i]);
	if (!n)
		return 0;
	fds = calloc(n, sizeof(*fds));
	if (!fds)
		return -ENOMEM;
again:
	err = ring_table(v, &none, 1, &fd);
	for (size_t i = 0; !err && i < n; i++)
		fds[i] = fd;
	if (!err)
		err = rings_swap(v, vip_ids, fds, n);
	if (fd >= 0)
		close(fd);
	if (err == -EINVAL && !plain && v->ring_plain) {
		plain = true;
		goto again;
	}
	free(fds);
	return err;
}

int veer_ring_publish_ids(struct veer *v, const struct veer_vip *vip, const __u32 *ids, size_t n)
{
	struct veer_ring_job job = {.vip = vip, .ids = ids, .n = n};

	return veer_rings_publish(v, &job, 1, NULL);
}

int veer_ring_publish(struct veer *v, const struct veer_vip *vip)
{
	const struct veer_backend *table = veer_backends_get(v);
	__u32 *ids;
	size_t n = 0;
	int err;

	if (!table)
		return -EIO;
	ids = calloc(VEER_MAX_BACKENDS, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (__u32 id = 0; id < VEER_MAX_BACKENDS; id++)
		if (table[id].vip_id == vip->id && (table[id].flags & VEER_BACKEND_ACTIVE))
			ids[n++] = id;
	err = veer_ring_publish_ids(v, vip, ids, n);
	free(ids);
	return err;
}

#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME  0x00000100000001b3ULL

static __u64 fnv1a(__u64 h, const void *p, size_t len)
{
	const __u8 *b = p;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= FNV64_PRIME;
	}
	return h;
}

/* The table's slots, read through its mapping or, for a table without one, in a batch. */
static int ring_read(int fd, const struct bpf_map_info *info, __u32 *ring)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys, out = 0, count, done = 0;
	void *in = NULL;
	int err = 0;

	if (info->map_flags & BPF_F_MMAPABLE) {
		size_t len = ring_mapping_len(info->max_entries);
		char *mem = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);

		if (mem == MAP_FAILED)
			return -errno;
		for (__u32 i = 0; i < info->max_entries; i++)
			memcpy(&ring[i], mem + (size_t)i * RING_STRIDE, sizeof(ring[i]));
		munmap(mem, len);
		return 0;
	}
	keys = calloc(info->max_entries, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	while (!err && done < info->max_entries) {
		count = info->max_entries - done;
		err = bpf_map_lookup_batch(fd, in, &out, keys + done, ring + done, &count, &opts);
		done += count;
		in = &out;
	}
	free(keys);
	return err == -ENOENT || done == info->max_entries ? 0 : err;
}

int veer_ring_digest(struct veer *v, const struct veer_vip *vip, __u64 *digest)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), inner_id, *ring = NULL;
	const struct veer_backend *table;
	__u64 h = FNV64_OFFSET, *who = NULL;
	bool *known = NULL;
	int fd = -1, err;

	if (bpf_map__lookup_elem(v->skel->maps.veer_rings, &vip->id, sizeof(vip->id), &inner_id,
				 sizeof(inner_id), 0))
		return -ENOENT;
	table = veer_backends_get(v);
	if (!table)
		return -EIO;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		goto cleanup;
	}
	ring = calloc(info.max_entries ? info.max_entries : 1, sizeof(*ring));
	who = calloc(VEER_MAX_BACKENDS + 1, sizeof(*who));
	known = calloc(VEER_MAX_BACKENDS + 1, sizeof(*known));
	if (!ring || !who || !known) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = ring_read(fd, &info, ring);
	if (err)
		goto cleanup;
	/*
	 * What each position sends a flow to, never the slot: slot ids differ from node to node.
	 * Each backend's identity is hashed once (a table of 65537 positions names a handful of
	 * backends), then the positions are chained in order, FNV-1a a word at a time.
	 */
	for (__u32 i = 0; i < info.max_entries; i++) {
		__u32 id = ring[i] < VEER_MAX_BACKENDS ? ring[i] : VEER_MAX_BACKENDS;

		if (!known[id]) {
			__u8 key[1 + sizeof(union veer_addr) + sizeof(__be16)] = {};

			if (id < VEER_MAX_BACKENDS) {
				key[0] = table[id].family;
				memcpy(&key[1], &table[id].addr, sizeof(table[id].addr));
				memcpy(&key[1 + sizeof(table[id].addr)], &table[id].port,
				       sizeof(table[id].port));
			}
			who[id] = fnv1a(FNV64_OFFSET, key, sizeof(key));
			known[id] = true;
		}
		h = (h ^ who[id]) * FNV64_PRIME;
	}
	*digest = h;
cleanup:
	free(known);
	free(who);
	free(ring);
	close(fd);
	return err;
}

int veer_vip_check(const struct veer_vip_key *key, const struct veer_vip_opts *opts)
{
	char name[VEER_ADDR_STRLEN];
	const char *why;

	veer_fmt_vip(key, name, sizeof(name));
	if (veer_addr_check(&key->addr, key->family, &why)) {
		pr_warn("cannot add VIP %s: it is %s\n", name, why);
		return -EINVAL;
	}
	if (opts->mode > VEER_MODE_DSR_L2) {
		pr_warn("cannot add VIP %s: unknown mode %u (want nat, dsr-ipip or dsr-l2)\n", name,
			opts->mode);
		return -EINVAL;
	}
	if (veer_affinity_check(opts->affinity)) {
		pr_warn("cannot add VIP %s: affinity %u is out of range (want %s)\n", name,
			opts->affinity, veer_affinity_want);
		return -EINVAL;
	}
	if (opts->ring_size && veer_ring_size_check(opts->ring_size)) {
		pr_warn("cannot add VIP %s: ring size %u is not %s\n", name, opts->ring_size,
			veer_ring_size_want);
		return -EINVAL;
	}
	return 0;
}

int veer_vip_addr_set(struct veer *v, const union veer_addr *addr, __u8 family)
{
	struct bpf_map *addrs = v->skel->maps.veer_vip_addrs;
	struct veer_vip_addr_key ak = {.addr = *addr, .family = family};
	__u32 n = 0, cur = 0;
	bool have;
	int err;

	for (__u32 i = 0; i < VEER_MAX_VIPS; i++)
		n += v->vips[i].used && v->vips[i].key.family == family &&
		     !memcmp(&v->vips[i].key.addr, addr, sizeof(*addr));
	have = !bpf_map__lookup_elem(addrs, &ak, sizeof(ak), &cur, sizeof(cur), 0);
	if (n && (!have || cur != n))
		return veer_map_update(addrs, &ak, sizeof(ak), &n, sizeof(n), BPF_ANY);
	if (!n && have) {
		err = veer_map_delete(addrs, &ak, sizeof(ak));
		return err == -ENOENT ? 0 : err;
	}
	return 0;
}

int veer_vip_create(struct veer *v, const struct veer_vip_key *key, const struct veer_vip *vip,
		    bool proxy_sync)
{
	struct lb *skel = v->skel;
	int err;

	/* Table and counters first, then the VIP itself: the first packet finds all in place. */
	err = veer_counters_reset(v, skel->maps.veer_vip_stats, vip->id);
	if (!err)
		err = veer_vip_write(v, key, vip, BPF_NOEXIST);
	/* The data plane's filter lets the VIP's packets through to the table. */
	if (!err)
		err = veer_svc_sync(skel->maps.veer_vips, skel->maps.veer_be_index,
				    skel->maps.veer_svc, &key->addr, key->port, key->proto,
				    key->family);
	/* Its address answers pings from now on. */
	if (!err)
		err = veer_vip_addr_set(v, &key->addr, key->family);
	/* Forward-proxy rules of its port see its packets (svc_hash.h, VEER_SVC_PROXY). */
	if (!err && proxy_sync)
		err = veer_proxy_svc_sync(skel->maps.veer_vips, skel->maps.veer_proxy_rule,
					  skel->maps.veer_svc);
	if (err) {
		/* Back out in reverse; each sync recounts, so it mends what it finds. */
		veer_vip_erase(v, key, vip->id);
		veer_svc_sync(skel->maps.veer_vips, skel->maps.veer_be_index, skel->maps.veer_svc,
			      &key->addr, key->port, key->proto, key->family);
		veer_vip_addr_set(v, &key->addr, key->family);
		veer_rings_clear(v, &vip->id, 1);
	}
	return err;
}

int veer_vip_add(struct veer *v, const struct veer_vip_key *key, const struct veer_vip_opts *opts)
{
	char name[VEER_ADDR_STRLEN];
	struct veer_vip vip = {};
	struct veer_slots s;
	int err;

	veer_fmt_vip(key, name, sizeof(name));
	if (!veer_vip_get(v, key, &vip)) {
		pr_warn("cannot add VIP %s: it exists\n", name);
		return -EEXIST;
	}
	err = veer_vip_check(key, opts);
	if (err)
		return err;
	err = veer_slots_begin(v, &s);
	if (err)
		return err;
	memset(&vip, 0, sizeof(vip));
	vip.ring_size = opts->ring_size ? opts->ring_size : VEER_RING_DEFAULT;
	vip.affinity = opts->affinity;
	vip.mode = opts->mode;
	vip.owner = VEER_OWNER_CLI;
	err = veer_vip_alloc_id(&s, key, &vip.id);
	if (err) {
		pr_warn("cannot add VIP %s: table full (%d VIPs)\n", name, VEER_MAX_VIPS);
		goto cleanup;
	}
	err = veer_ring_publish_ids(v, &vip, NULL, 0) ?: veer_vip_create(v, key, &vip, true);
	if (err)
		pr_warn("cannot add VIP %s: %s\n", name, strerror(-err));
cleanup:
	veer_slots_end(&s);
	return err;
}

static bool affinity_of_vips(const void *key, const void *value, const void *vips)
{
	__u32 id = ((const struct veer_affinity_key *)key)->vip_id;

	(void)value;
	return id < VEER_MAX_VIPS && (((const __u8 *)vips)[id / 8] >> (id % 8) & 1);
}

int veer_vips_remove(struct veer *v, struct veer_slots *s, const __u32 *ids, size_t n)
{
	__u8 slots[VEER_MAX_BACKENDS / 8] = {}, gone[VEER_MAX_VIPS / 8] = {};
	struct veer_vip_ent *ents = veer_vips_get(v);
	__u32 cleared[VEER_MAX_VIPS];
	size_t ncleared = 0;
	struct lb *skel = v->skel;
	char name[VEER_ADDR_STRLEN];
	__u32 *own = NULL;
	size_t ngone = 0;
	int err = 0, e;

	own = calloc(VEER_MAX_BACKENDS, sizeof(*own));
	if (!ents || !own) {
		free(own);
		return -ENOMEM;
	}
	/* Stop new flows first; then nothing can pick the table or backends torn down next. */
	for (size_t i = 0; i < n; i++) {
		struct veer_vip_ent ent = ents[ids[i]];

		if (!ent.used)
			continue;
		e = veer_vip_erase(v, &ent.key, ids[i]);
		if (e) {
			err = err ?: e;
			continue;
		}
		gone[ids[i] / 8] |= 1 << (ids[i] % 8);
		ngone++;
		/* The address stops answering pings when its last VIP goes. */
		e = veer_vip_addr_set(v, &ent.key.addr, ent.key.family);
		if (e)
			pr_warn("VIP %s deleted, but its address still answers pings: %s\n",
				veer_fmt_vip(&ent.key, name, sizeof(name)), strerror(-e));
		veer_svc_sync(skel->maps.veer_vips, skel->maps.veer_be_index, skel->maps.veer_svc,
			      &ent.key.addr, ent.key.port, ent.key.proto, ent.key.family);
	}
	if (!ngone)
		goto cleanup;
	veer_proxy_svc_sync(skel->maps.veer_vips, skel->maps.veer_proxy_rule, skel->maps.veer_svc);
	for (size_t i = 0; i < n; i++)
		if (gone[ids[i] / 8] >> (ids[i] % 8) & 1)
			cleared[ncleared++] = ids[i];
	veer_rings_clear(v, cleared, ncleared);
	for (size_t i = 0; i < ncleared; i++) {
		__u32 id = cleared[i];
		size_t m;
		bool clear = true;

		m = veer_slots_of(s, id, own);
		for (size_t j = 0; j < m; j++) {
			struct veer_backend be = s->table[own[j]];

			slots[own[j] / 8] |= 1 << (own[j] % 8);
			be.flags &= ~(VEER_BACKEND_ACTIVE | VEER_BACKEND_REMOVED);
			clear &= !veer_slots_put(s, own[j], &be);
		}
		/* No slot names the id any more: a VIP made next may have it. */
		if (clear)
			s->named[id] = false;
	}
	/* The VIPs are gone from veer_vips: the index leaves them out. */
	veer_slots_index(s);
	/* A deleted VIP takes its established flows with it, unlike a deleted backend. */
	veer_flows_sweep(v, slots);
	veer_map_sweep(skel->maps.veer_affinity, affinity_of_vips, gone);
cleanup:
	free(own);
	return err;
}

int veer_vip_del(struct veer *v, const struct veer_vip_key *key)
{
	char name[VEER_ADDR_STRLEN];
	struct veer_slots s;
	struct veer_vip vip;
	int err;

	veer_fmt_vip(key, name, sizeof(name));
	if (veer_vip_get(v, key, &vip)) {
		pr_warn("cannot delete VIP %s: no such VIP\n", name);
		return -ENOENT;
	}
	err = veer_slots_begin(v, &s);
	if (!err) {
		/* The handle's copy as the map has it, should another writer have changed it. */
		v->vips[vip.id].key = *key;
		v->vips[vip.id].vip = vip;
		v->vips[vip.id].used = true;
		err = veer_vips_remove(v, &s, &vip.id, 1);
		veer_slots_end(&s);
	}
	if (err)
		pr_warn("cannot delete VIP %s: %s\n", name, strerror(-err));
	return err;
}

int veer_vip_set_owner(struct veer *v, const struct veer_vip_key *key, __u8 owner)
{
	struct veer_vip vip;
	int err = veer_vip_get(v, key, &vip);

	if (err || vip.owner == owner)
		return err;
	vip.owner = owner;
	/* Its id, table and flows are the same VIP's: only who may change it moves. */
	return veer_vip_write(v, key, &vip, BPF_EXIST);
}

int veer_rings_hold(struct veer *v)
{
	struct veer_vip_ent *ents = veer_vips_get(v);

	if (!ents)
		return -EIO;
	for (__u32 id = 0; id < VEER_MAX_VIPS; id++)
		if (ents[id].used)
			veer_ring_fits(v, id, ents[id].vip.ring_size);
	return 0;
}
