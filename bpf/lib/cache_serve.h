/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hit path: find the requested key, check the entry is current, turn the request message
 * into the reply and hand it to the client socket's own receive queue.
 */
#ifndef VEER_BPF_CACHE_SERVE_H
#define VEER_BPF_CACHE_SERVE_H

#include "cache_stream.h"

/*
 * Copies a bit of len's worth of bytes: the chunk for bit k sits at len with bits k and below
 * cleared. Offsets come from len alone, not from a running sum, so the verifier sees one path
 * per chunk instead of one per combination of chunks, and bounds every offset by masking.
 */
#define COPY_CHUNK(dst, src, pkt, pkt_end, len, size)                                      \
	do {                                                                               \
		if ((len) & (size)) {                                                      \
			__u32 __off = (len) & ~(2 * (size) - 1);                           \
			if ((void *)((__u8 *)(pkt) + __off + (size)) > (void *)(pkt_end))  \
				return false;                                              \
			copy_bytes((__u8 *)(dst) + __off, (const __u8 *)(src) + __off, size); \
		}                                                                          \
	} while (0)

static __always_inline void copy_bytes(__u8 *d, const __u8 *s, const __u32 size)
{
	if (size >= 8) {
#pragma unroll
		for (__u32 i = 0; i < size / 8; i++)
			((__u64 *)d)[i] = ((const __u64 *)s)[i];
	} else {
#pragma unroll
		for (__u32 i = 0; i < size; i++)
			d[i] = s[i];
	}
}

/* XORs of len bytes, a bit of len's worth at a time (see COPY_CHUNK). */
#define DIFF_CHUNK(a, b, pkt, pkt_end, len, size, diff)                                    \
	do {                                                                               \
		if ((len) & (size)) {                                                      \
			__u32 __off = (len) & ~(2 * (size) - 1);                           \
			if ((void *)((__u8 *)(pkt) + __off + (size)) > (void *)(pkt_end))  \
				return false;                                              \
			diff |= diff_bytes((const __u8 *)(a) + __off,                      \
					   (const __u8 *)(b) + __off, size);               \
		}                                                                          \
	} while (0)

static __always_inline __u64 diff_bytes(const __u8 *a, const __u8 *b, const __u32 size)
{
	__u64 diff = 0;

	if (size >= 8) {
#pragma unroll
		for (__u32 i = 0; i < size / 8; i++)
			diff |= ((const __u64 *)a)[i] ^ ((const __u64 *)b)[i];
	} else {
#pragma unroll
		for (__u32 i = 0; i < size; i++)
			diff |= a[i] ^ b[i];
	}
	return diff;
}

/* Whether the request's key, at off in the message, is the one the entry was stored under. */
static __always_inline bool cache_key_matches(const struct veer_cache_key *k, void *data,
					      void *data_end, __u32 off, __u32 len)
{
	__u64 diff = 0;
	__u8 *src;

	if (off > RQ_WINDOW || len > VEER_CACHE_KEY_MAX || len != k->len)
		return false;
	src = (__u8 *)data + off;
	DIFF_CHUNK(k->bytes, src, src, data_end, len, 128, diff);
	DIFF_CHUNK(k->bytes, src, src, data_end, len, 64, diff);
	DIFF_CHUNK(k->bytes, src, src, data_end, len, 32, diff);
	DIFF_CHUNK(k->bytes, src, src, data_end, len, 16, diff);
	DIFF_CHUNK(k->bytes, src, src, data_end, len, 8, diff);
	DIFF_CHUNK(k->bytes, src, src, data_end, len, 4, diff);
	DIFF_CHUNK(k->bytes, src, src, data_end, len, 2, diff);
	DIFF_CHUNK(k->bytes, src, src, data_end, len, 1, diff);
	return diff == 0;
}

/* The key of the message's single GET, copied into a zero-padded key. */
static __always_inline bool cache_key_from_msg(struct veer_cache_key *k, void *data,
					       void *data_end, __u32 off, __u32 len)
{
	__u8 *src;

	if (off > RQ_WINDOW || len > VEER_CACHE_KEY_MAX || len == 0)
		return false;
	src = (__u8 *)data + off;
	__builtin_memset(k->bytes, 0, sizeof(k->bytes));
	k->len = len;
	COPY_CHUNK(k->bytes, src, src, data_end, len, 128);
	COPY_CHUNK(k->bytes, src, src, data_end, len, 64);
	COPY_CHUNK(k->bytes, src, src, data_end, len, 32);
	COPY_CHUNK(k->bytes, src, src, data_end, len, 16);
	COPY_CHUNK(k->bytes, src, src, data_end, len, 8);
	COPY_CHUNK(k->bytes, src, src, data_end, len, 4);
	COPY_CHUNK(k->bytes, src, src, data_end, len, 2);
	COPY_CHUNK(k->bytes, src, src, data_end, len, 1);
	return true;
}

enum cache_lookup {
	CACHE_ABSENT,
	CACHE_STALE,
	CACHE_CURRENT,
};

/* The entry stored under the message's key, if it may still be served. */
static __always_inline enum cache_lookup cache_find(const struct veer_cache_hkey *hk,
						    struct sk_msg_md *msg, __u32 off,
						    struct veer_cache_entry **out)
{
	__u32 zero = 0, slot = veer_cache_gen_slot(hk->hash);
	struct veer_cache_entry *e = bpf_map_lookup_elem(&veer_cache_data, hk);
	struct veer_cache_glob *g;
	__u64 *gen, now, lease;

	if (!e)
		return CACHE_ABSENT;
	if (!cache_key_matches(&e->key, (void *)(long)msg->data, (void *)(long)msg->data_end,
			       off, hk->len))
		return CACHE_ABSENT; /* another key with the same hash */
	g = bpf_map_lookup_elem(&veer_cache_glob, &zero);
	gen = bpf_map_lookup_elem(&veer_cache_gens, &slot);
	if (!g || !gen || e->gen != *gen || e->epoch != g->epoch)
		return CACHE_STALE;
	now = bpf_ktime_get_ns();
	if (now >= e->expires_ns) {
		cache_count(VEER_CACHE_EXPIRED);
		bpf_map_delete_elem(&veer_cache_data, hk);
		return CACHE_STALE;
	}
	/*
	 * A manager that died (kill -9) bumps nothing: its lease, renewed only while its feed of
	 * writes is live, runs out instead. Kept, not deleted: a live manager that was late to
	 * renew serves it again.
	 */
	lease = g->lease_ns[hk->proto & 3];
	if (lease && now >= lease) {
		cache_count(VEER_CACHE_LAPSED);
		return CACHE_STALE;
	}
	if (e->reply_len == 0 || e->reply_len >= VEER_CACHE_REPLY_MAX)
		return CACHE_STALE;
	*out = e;
	return CACHE_CURRENT;
}

/*
 * Counts a miss of the key for the manager. Only a key's first miss copies the key (into the
 * connection's scratch value); later ones are one lookup and an add.
 */
static __always_inline void cache_count_miss(struct veer_cache_conn *s,
					     const struct veer_cache_hkey *hk,
					     struct sk_msg_md *msg, __u32 off)
{
	struct veer_cache_hot *h = bpf_map_lookup_elem(&veer_cache_hot, hk);
	long err;

	if (h) {
		__sync_fetch_and_add(&h->misses, 1);
		return;
	}
	s->hot.misses = 1;
	s->hot.writes = 0;
	s->hot.key.proto = hk->proto;
	if (!cache_key_from_msg(&s->hot.key, (void *)(long)msg->data, (void *)(long)msg->data_end,
				off, hk->len))
		return;
	/* An LRU makes room; -EEXIST is another CPU inserting the same key first. */
	err = bpf_map_update_elem(&veer_cache_hot, hk, &s->hot, BPF_NOEXIST);
	if (err && err != -17)
		cache_count(VEER_CACHE_HOT_FULL);
}

static __always_inline bool cache_copy_reply(void *data, void *data_end,
					     const struct veer_cache_entry *e, __u32 len)
{
	len &= VEER_CACHE_REPLY_MAX - 1;
#if VEER_CACHE_REPLY_MAX > 4096
	COPY_CHUNK(data, e->reply, data, data_end, len, 4096);
#endif
#if VEER_CACHE_REPLY_MAX > 2048
	COPY_CHUNK(data, e->reply, data, data_end, len, 2048);
#endif
#if VEER_CACHE_REPLY_MAX > 1024
	COPY_CHUNK(data, e->reply, data, data_end, len, 1024);
#endif
	COPY_CHUNK(data, e->reply, data, data_end, len, 512);
	COPY_CHUNK(data, e->reply, data, data_end, len, 256);
	COPY_CHUNK(data, e->reply, data, data_end, len, 128);
	COPY_CHUNK(data, e->reply, data, data_end, len, 64);
	COPY_CHUNK(data, e->reply, data, data_end, len, 32);
	COPY_CHUNK(data, e->reply, data, data_end, len, 16);
	COPY_CHUNK(data, e->reply, data, data_end, len, 8);
	COPY_CHUNK(data, e->reply, data, data_end, len, 4);
	COPY_CHUNK(data, e->reply, data, data_end, len, 2);
	COPY_CHUNK(data, e->reply, data, data_end, len, 1);
	return true;
}

/*
 * Rewrites the whole message (one request of size bytes) into the entry's reply. Grows or
 * shrinks at offset 0, then makes the result one linear span to write into.
 */
static __always_inline bool cache_rewrite(struct sk_msg_md *msg, const struct veer_cache_entry *e,
					  __u32 size)
{
	__u32 len = e->reply_len;
	void *data, *data_end;

	if (len > size) {
		if (bpf_msg_push_data(msg, 0, len - size, 0))
			return false;
	} else if (len < size) {
		if (bpf_msg_pop_data(msg, 0, size - len, 0))
			return false;
	}
	if (bpf_msg_pull_data(msg, 0, len, 0))
		return false;
	data = (void *)(long)msg->data;
	data_end = (void *)(long)msg->data_end;
	if (data + len > data_end)
		return false;
	return cache_copy_reply(data, data_end, e, len);
}

#endif
