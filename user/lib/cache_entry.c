// SPDX-License-Identifier: GPL-2.0
/*
 * Entries of the hot-key cache: the reply a server would send, stored whole, and the
 * generations that decide whether it is still current (see struct veer_cache_entry).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <veer/cache_hash.h>
#include "cache_internal.h"

const char *veer_cache_key_text(const void *key, size_t len, char *buf, size_t size)
{
	const unsigned char *k = key;
	size_t n = 0;

	for (size_t i = 0; i < len && n + 5 <= size; i++) {
		if (k[i] == '\\')
			n += snprintf(buf + n, size - n, "\\\\");
		else if (k[i] < ' ' || k[i] >= 0x7f)
			n += snprintf(buf + n, size - n, "\\x%02x", k[i]);
		else
			buf[n++] = k[i];
	}
	buf[n] = 0;
	return buf;
}

/* "\r\nEND\r\n" after a memcached value, "\r\n" after a Redis bulk string. */
#define MC_TRAILER    "\r\nEND\r\n"
#define REDIS_TRAILER "\r\n"

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int veer_cache_key_make(struct veer_cache_key *k, __u8 proto, const void *key, size_t klen)
{
	if (!klen || klen > VEER_CACHE_KEY_MAX)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->proto = proto;
	k->len = klen;
	memcpy(k->bytes, key, klen);
	return 0;
}

static __u64 key_hash(const void *key, size_t klen)
{
	const __u8 *p = key;
	__u64 h = VEER_CACHE_HASH_INIT;

	for (size_t i = 0; i < klen; i++)
		h = veer_cache_hash_byte(h, p[i]);
	return h;
}

static __u32 key_slot(const void *key, size_t klen)
{
	return veer_cache_gen_slot(key_hash(key, klen));
}

static void hkey_of(const struct veer_cache_key *k, struct veer_cache_hkey *hk)
{
	memset(hk, 0, sizeof(*hk));
	hk->hash = key_hash(k->bytes, k->len);
	hk->len = k->len;
	hk->proto = k->proto;
}

static bool key_equal(const struct veer_cache_key *a, const struct veer_cache_key *b)
{
	return a->proto == b->proto && a->len == b->len && !memcmp(a->bytes, b->bytes, a->len);
}

/* The entry of key k (into *e), or -ENOENT; another key with the same hash is not k's. */
static int entry_get(struct veer_cache *c, const struct veer_cache_key *k,
		     struct veer_cache_hkey *hk, struct veer_cache_entry *e)
{
	int err;

	hkey_of(k, hk);
	err = bpf_map__lookup_elem(c->skel->maps.veer_cache_data, hk, sizeof(*hk), e, sizeof(*e),
				   0);
	if (!err && !key_equal(&e->key, k))
		err = -ENOENT;
	return err;
}

static int glob_get(struct veer_cache *c, struct veer_cache_glob *g)
{
	__u32 zero = 0;

	return bpf_map__lookup_elem(c->skel->maps.veer_cache_glob, &zero, sizeof(zero), g,
				    sizeof(*g), 0);
}

static int key_gen(struct veer_cache *c, const void *key, size_t klen, __u64 *gen)
{
	__u32 slot = key_slot(key, klen);

	return bpf_map__lookup_elem(c->skel->maps.veer_cache_gens, &slot, sizeof(slot), gen,
				    sizeof(*gen), 0);
}

int veer_cache_stamp(struct veer_cache *c, const void *key, size_t klen,
		     struct veer_cache_stamp *stamp)
{
	struct veer_cache_glob g;
	int err = glob_get(c, &g);

	if (!err)
		err = key_gen(c, key, klen, &stamp->gen);
	stamp->epoch = g.epoch;
	return err;
}

int veer_cache_lease_left(struct veer_cache *c, __u8 proto, __s64 *ms)
{
	struct veer_cache_glob g;
	int err = glob_get(c, &g);

	if (err)
		return err;
	if (!g.lease_ns[proto & 3])
		return 0;
	*ms = ((__s64)g.lease_ns[proto & 3] - (__s64)now_ns()) / 1000000;
	return 1;
}

static bool key_printable(const void *key, size_t klen)
{
	const unsigned char *p = key;

	for (size_t i = 0; i < klen; i++)
		if (p[i] <= ' ' || p[i] == 0x7f)
			return false;
	return true;
}

/* The reply the server would send for a GET of key; its length, or -errno. */
static int reply_format(__u8 proto, const void *key, size_t klen, const void *value, size_t vlen,
			__u32 mc_flags, __u8 *out)
{
	int n;

	if (proto == VEER_CACHE_REDIS)
		n = snprintf((char *)out, VEER_CACHE_REPLY_MAX, "$%zu\r\n", vlen);
	else
		n = snprintf((char *)out, VEER_CACHE_REPLY_MAX, "VALUE %.*s %u %zu\r\n", (int)klen,
			     (const char *)key, mc_flags, vlen);
	if (n < 0 || n + vlen + strlen(MC_TRAILER) >= VEER_CACHE_REPLY_MAX)
		return -E2BIG;
	memcpy(out + n, value, vlen);
	n += vlen;
	if (proto == VEER_CACHE_REDIS) {
		memcpy(out + n, REDIS_TRAILER, strlen(REDIS_TRAILER));
		n += strlen(REDIS_TRAILER);
	} else {
		memcpy(out + n, MC_TRAILER, strlen(MC_TRAILER));
		n += strlen(MC_TRAILER);
	}
	return n;
}

struct victim {
	__u64 expires_ns;
	struct veer_cache_hkey key;
};

static int victim_cmp(const void *a, const void *b)
{
	__u64 x = ((const struct victim *)a)->expires_ns, y = ((const struct victim *)b)->expires_ns;

	return x < y ? -1 : x > y;
}

/*
 * Makes room when the table is full: the sixteenth of the entries closest to expiring goes.
 * One scan frees room for many puts - a manager round installing hundreds of keys into a full
 * table would otherwise scan the whole table once per key.
 */
#define EVICT_FRACTION 16

static int evict(struct veer_cache *c)
{
	struct bpf_map *m = c->skel->maps.veer_cache_data;
	struct veer_cache_entry *e = malloc(sizeof(*e));
	struct victim *v = calloc(VEER_CACHE_ENTRIES, sizeof(*v));
	struct veer_cache_hkey k, next;
	size_t n = 0, evicted = 0;
	void *prev = NULL;

	if (!e || !v) {
		free(e);
		free(v);
		return -ENOMEM;
	}
	while (n < VEER_CACHE_ENTRIES && !bpf_map__get_next_key(m, prev, &next, sizeof(next))) {
		veer_cache_yield(c, n);
		k = next;
		prev = &k;
		if (bpf_map__lookup_elem(m, &k, sizeof(k), e, sizeof(*e), 0))
			continue;
		v[n].expires_ns = e->expires_ns;
		v[n++].key = k;
	}
	qsort(v, n, sizeof(*v), victim_cmp);
	for (size_t i = 0; i < (n + EVICT_FRACTION - 1) / EVICT_FRACTION; i++)
		evicted += !bpf_map__delete_elem(m, &v[i].key, sizeof(v[i].key), 0);
	free(e);
	free(v);
	if (!evicted)
		return -ENOSPC;
	veer_cache_count(c, VEER_CACHE_EVICT, evicted);
	return 0;
}

int veer_cache_put(struct veer_cache *c, __u8 proto, const void *key, size_t klen,
		   const void *value, size_t vlen, __u32 mc_flags, __u32 ttl_s,
		   const struct veer_cache_stamp *stamp)
{
	return veer_cache_put_until(c, proto, key, klen, value, vlen, mc_flags,
				    now_ns() + ttl_s * 1000000000ULL, stamp);
}

int veer_cache_put_until(struct veer_cache *c, __u8 proto, const void *key, size_t klen,
			 const void *value, size_t vlen, __u32 mc_flags, __u64 expires_ns,
			 const struct veer_cache_stamp *stamp)
{
	struct bpf_map *m = c->skel->maps.veer_cache_data;
	struct veer_cache_stamp now;
	struct veer_cache_entry *e;
	struct veer_cache_hkey hk;
	struct veer_cache_key k;
	char text[VEER_CACHE_KEY_TEXT_MAX];
	int n, err;

	if (veer_cache_key_make(&k, proto, key, klen)) {
		pr_warn("cannot cache a key of %zu bytes: keys are 1 to %d bytes\n", klen,
			VEER_CACHE_KEY_MAX);
		return -EINVAL;
	}
	if (proto == VEER_CACHE_MEMCACHED && !key_printable(key, klen)) {
		pr_warn("cannot cache key '%s': memcached keys have no spaces or control "
			"characters\n",
			veer_cache_key_text(key, klen, text, sizeof(text)));
		return -EINVAL;
	}
	if (vlen > VEER_CACHE_VALUE_MAX) {
		pr_warn("cannot cache key '%s': its value of %zu bytes is over the maximum of %d\n",
			veer_cache_key_text(key, klen, text, sizeof(text)), vlen,
			VEER_CACHE_VALUE_MAX);
		return -E2BIG;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	n = reply_format(proto, key, klen, value, vlen, mc_flags, e->reply);
	if (n < 0) {
		pr_warn("cannot cache key '%s': its reply does not fit in %d bytes\n",
			veer_cache_key_text(key, klen, text, sizeof(text)), VEER_CACHE_REPLY_MAX);
		err = n;
		goto out;
	}
	e->reply_len = n;
	e->value_len = vlen;
	if (!stamp) {
		err = veer_cache_stamp(c, key, klen, &now);
		if (err)
			goto out;
		stamp = &now;
	}
	e->gen = stamp->gen;
	e->epoch = stamp->epoch;
	e->expires_ns = expires_ns;
	e->key = k;
	hkey_of(&k, &hk);
	err = bpf_map__update_elem(m, &hk, sizeof(hk), e, sizeof(*e), 0);
	if (err == -E2BIG && !evict(c))
		err = bpf_map__update_elem(m, &hk, sizeof(hk), e, sizeof(*e), 0);
	if (err)
		pr_warn("cannot cache key '%s': %s\n",
			veer_cache_key_text(key, klen, text, sizeof(text)), strerror(-err));
out:
	free(e);
	return err;
}

static void item_fill(struct veer_cache_item *it, const struct veer_cache_entry *e,
		      const struct veer_cache_glob *g, __u64 gen, __u64 now)
{
	it->key = e->key;
	it->value_len = e->value_len;
	it->reply_len = e->reply_len;
	it->ttl_ms = ((__s64)e->expires_ns - (__s64)now) / 1000000;
	it->expires_ns = e->expires_ns;
	it->hits = e->hits;
	/* As the programs decide (cache_find in bpf/lib/cache_serve.h). */
	it->current = e->gen == gen && e->epoch == g->epoch && it->ttl_ms > 0 &&
		      (!g->lease_ns[e->key.proto & 3] || now < g->lease_ns[e->key.proto & 3]);
}

int veer_cache_get(struct veer_cache *c, __u8 proto, const void *key, size_t klen,
		   void **value, size_t *vlen, struct veer_cache_item *item)
{
	struct veer_cache_entry *e;
	struct veer_cache_hkey hk;
	struct veer_cache_glob g;
	struct veer_cache_key k;
	size_t trailer;
	__u64 gen;
	int err;

	if (veer_cache_key_make(&k, proto, key, klen))
		return -EINVAL;
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	err = entry_get(c, &k, &hk, e);
	if (!err)
		err = glob_get(c, &g);
	if (!err)
		err = key_gen(c, key, klen, &gen);
	if (err)
		goto out;
	trailer = proto == VEER_CACHE_REDIS ? strlen(REDIS_TRAILER) : strlen(MC_TRAILER);
	if (e->reply_len < e->value_len + trailer || e->reply_len >= VEER_CACHE_REPLY_MAX) {
		err = -EINVAL;
		goto out;
	}
	*vlen = e->value_len;
	*value = malloc(e->value_len + 1);
	if (!*value) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(*value, e->reply + e->reply_len - trailer - e->value_len, e->value_len);
	((char *)*value)[e->value_len] = 0;
	item_fill(item, e, &g, gen, now_ns());
out:
	free(e);
	return err;
}

int veer_cache_del(struct veer_cache *c, __u8 proto, const void *key, size_t klen)
{
	struct veer_cache_entry *e = malloc(sizeof(*e));
	struct veer_cache_hkey hk;
	struct veer_cache_key k;
	int err;

	if (!e)
		return -ENOMEM;
	err = veer_cache_key_make(&k, proto, key, klen);
	if (!err)
		err = entry_get(c, &k, &hk, e);
	if (!err)
		err = bpf_map__delete_elem(c->skel->maps.veer_cache_data, &hk, sizeof(hk), 0);
	free(e);
	return err;
}

int veer_cache_invalidate(struct veer_cache *c, const void *key, size_t klen)
{
	/* Unique to this call, never equal to a generation the programs made (upper half). */
	static __u64 seq;
	__u64 gen = VEER_CACHE_GEN_USER | (now_ns() << 8) |
		    (__atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED) & 0xff);
	__u32 slot = key_slot(key, klen);
	int err;

	err = bpf_map__update_elem(c->skel->maps.veer_cache_gens, &slot, sizeof(slot), &gen,
				   sizeof(gen), 0);
	if (err)
		return err;
	veer_cache_del(c, VEER_CACHE_REDIS, key, klen);
	veer_cache_del(c, VEER_CACHE_MEMCACHED, key, klen);
	veer_cache_count(c, VEER_CACHE_INVALIDATE, 1);
	return 0;
}

static int item_cmp(const void *a, const void *b)
{
	const struct veer_cache_key *x = &((const struct veer_cache_item *)a)->key;
	const struct veer_cache_key *y = &((const struct veer_cache_item *)b)->key;

	if (x->proto != y->proto)
		return x->proto - y->proto;
	return memcmp(x->bytes, y->bytes, sizeof(x->bytes));
}

int veer_cache_list(struct veer_cache *c, struct veer_cache_item **out, size_t *n)
{
	struct bpf_map *m = c->skel->maps.veer_cache_data;
	struct veer_cache_item *items = NULL, *grown;
	struct veer_cache_hkey k, next;
	struct veer_cache_entry *e;
	struct veer_cache_glob g;
	size_t cap = 0, len = 0;
	void *prev = NULL;
	__u64 now = now_ns(), gen;
	int err;

	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	err = glob_get(c, &g);
	while (!err && !bpf_map__get_next_key(m, prev, &next, sizeof(next))) {
		veer_cache_yield(c, len);
		k = next;
		prev = &k;
		if (bpf_map__lookup_elem(m, &k, sizeof(k), e, sizeof(*e), 0) ||
		    key_gen(c, e->key.bytes, e->key.len, &gen))
			continue;
		if (len == cap) {
			cap = cap ? 2 * cap : 64;
			grown = realloc(items, cap * sizeof(*items));
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			items = grown;
		}
		item_fill(&items[len++], e, &g, gen, now);
	}
	free(e);
	if (err) {
		free(items);
		return err;
	}
	qsort(items, len, sizeof(*items), item_cmp);
	*out = items;
	*n = len;
	return 0;
}

/*
 * Connection state whose socket is gone: the sockops program deletes it on close, but not for
 * sockets of a cgroup detached since. A socket map lookup fails once the socket has closed.
 */
static void sweep_conns(struct veer_cache *c)
{
	struct bpf_map *conns = c->skel->maps.veer_cache_conns;
	int socks = bpf_map__fd(c->skel->maps.veer_cache_socks);
	struct veer_cache_sock_key k, next, *dead;
	size_t n = 0;
	void *prev = NULL;
	__u64 cookie;

	dead = calloc(VEER_CACHE_CONNS, sizeof(*dead));
	if (!dead)
		return;
	for (size_t i = 0;
	     n < VEER_CACHE_CONNS && !bpf_map__get_next_key(conns, prev, &next, sizeof(next));
	     i++) {
		veer_cache_yield(c, i);
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(socks, &k, &cookie) && errno == ENOENT)
			dead[n++] = k;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map__delete_elem(conns, &dead[i], sizeof(dead[i]), 0);
	free(dead);
}

int veer_cache_sweep_list(struct veer_cache *c, struct veer_cache_item **out, size_t *n,
			  size_t *removed)
{
	struct veer_cache_item *items;
	size_t all, kept = 0, expired = 0;
	int err;

	sweep_conns(c);
	*removed = 0;
	err = veer_cache_list(c, &items, &all);
	if (err)
		return err;
	for (size_t i = 0; i < all; i++) {
		struct veer_cache_hkey hk;

		if (items[i].current) {
			items[kept++] = items[i];
			continue;
		}
		hkey_of(&items[i].key, &hk);
		if (bpf_map__delete_elem(c->skel->maps.veer_cache_data, &hk, sizeof(hk), 0))
			continue;
		(*removed)++;
		expired += items[i].ttl_ms <= 0;
	}
	if (expired)
		veer_cache_count(c, VEER_CACHE_EXPIRED, expired);
	*out = items;
	*n = kept;
	return 0;
}

int veer_cache_sweep(struct veer_cache *c, size_t *removed)
{
	struct veer_cache_item *items;
	size_t n;
	int err = veer_cache_sweep_list(c, &items, &n, removed);

	if (!err)
		free(items);
	return err;
}

static int hot_cmp(const void *a, const void *b)
{
	__u64 x = ((const struct veer_cache_hot_key *)a)->misses;
	__u64 y = ((const struct veer_cache_hot_key *)b)->misses;

	return x < y ? 1 : x > y ? -1 : 0;
}

int veer_cache_hot(struct veer_cache *c, size_t top, bool reset, struct veer_cache_hot_key **out,
		   size_t *n)
{
	struct bpf_map *m = c->skel->maps.veer_cache_hot;
	struct veer_cache_hot_key *keys;
	struct veer_cache_hkey k, next;
	struct veer_cache_hot h;
	void *prev = NULL;
	size_t len = 0;

	keys = calloc(VEER_CACHE_HOT_MAX, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	while (len < VEER_CACHE_HOT_MAX && !bpf_map__get_next_key(m, prev, &next, sizeof(next))) {
		veer_cache_yield(c, len);
		k = next;
		prev = &k;
		if (bpf_map__lookup_elem(m, &k, sizeof(k), &h, sizeof(h), 0))
			continue;
		keys[len].misses = h.misses;
		keys[len].writes = h.writes;
		keys[len++].key = h.key;
	}
	if (reset)
		for (size_t i = 0; i < len; i++) {
			struct veer_cache_hkey hk;

			hkey_of(&keys[i].key, &hk);
			bpf_map__delete_elem(m, &hk, sizeof(hk), 0);
		}
	qsort(keys, len, sizeof(*keys), hot_cmp);
	*out = keys;
	*n = len < top ? len : top;
	return 0;
}
