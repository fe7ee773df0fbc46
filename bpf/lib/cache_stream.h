/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the request tokenizers (resp.h, memcache.h) share: the state of one pass over a
 * message, the handling of a command's arguments, invalidation, and the end of a command.
 *
 * A message is read in windows (bpf_msg_pull_data) and each window byte by byte in a bpf_loop
 * callback, except argument bodies and data blocks that need no look, which are skipped by
 * length. The state that must outlive a send() call lives in struct veer_cache_conn.
 */
#ifndef VEER_BPF_CACHE_STREAM_H
#define VEER_BPF_CACHE_STREAM_H

#include <veer/cache_hash.h>
#include "cache_maps.h"
#include "cache_hot.h"

/* Largest offset into a window: keeps packet-pointer arithmetic provably bounded. */
#define RQ_WINDOW 4096

/* bpf_loop's context: the cursor itself is in the connection's entry (see abi.h). */
struct rq_ctx {
	struct sk_msg_md *msg;
	struct veer_cache_conn *s;
};

static __always_inline bool is_digit(__u8 b)
{
	return b >= '0' && b <= '9';
}

/* Appends a decimal digit; false when b is not one or the number grows past 2^30. */
static __always_inline bool add_digit(__u32 *num, __u8 b)
{
	if (!is_digit(b) || *num > (1u << 30) / 10)
		return false;
	*num = *num * 10 + (b - '0');
	return true;
}

static __always_inline void cache_bump_epoch(void)
{
	__u32 zero = 0;
	struct veer_cache_glob *g = bpf_map_lookup_elem(&veer_cache_glob, &zero);

	if (g)
		__sync_fetch_and_add(&g->epoch, 1);
	cache_count(VEER_CACHE_FLUSH);
}

/* Gives the slot a generation no entry can hold yet: entries filled before it go stale. */
static __always_inline void cache_bump_slot(__u32 slot)
{
	__u32 zero = 0;
	struct veer_cache_glob *g;
	__u64 *gen;

	if (slot == VEER_CACHE_SLOT_ALL) {
		cache_bump_epoch();
		return;
	}
	g = bpf_map_lookup_elem(&veer_cache_glob, &zero);
	slot &= VEER_CACHE_GEN_SLOTS - 1;
	gen = bpf_map_lookup_elem(&veer_cache_gens, &slot);
	if (!g || !gen)
		return;
	*gen = __sync_fetch_and_add(&g->seq, 1) + 1;
	cache_count(VEER_CACHE_INVALIDATE);
}

static __always_inline void rq_command_begin(struct veer_cache_conn *s)
{
	s->rq_argi = 0;
	s->rq_class = VEER_CMD_WRITE;
	s->rq_flags = 0;
	s->rq_num = 0;
	s->rq_writes = 0;
	__builtin_memset(s->rq_name, 0, sizeof(s->rq_name));
}

static __always_inline void rq_arg_begin(struct veer_cache_rq_cur *c, struct veer_cache_conn *s)
{
	s->rq_arglen = 0;
	s->rq_hash = VEER_CACHE_HASH_INIT;
	if (s->rq_argi == 1 && c->cmds == 0)
		c->key_off = c->base + c->pos;
}

/*
 * Commands whose argument 1 is read into rq_name like a name: a sub-command, a protocol
 * version, a database number (resp.h).
 */
static __always_inline bool rq_reads_arg1(const struct veer_cache_conn *s)
{
	return s->rq_argi == 1 && (s->rq_class == VEER_CMD_SUB || s->rq_class == VEER_CMD_HELLO ||
				   s->rq_class == VEER_CMD_SELECT);
}

/* Whether the current argument's bytes must be looked at, or may be skipped by length. */
static __always_inline bool rq_arg_wanted(const struct veer_cache_rq_cur *c,
					  const struct veer_cache_conn *s, __u32 len)
{
	if (s->rq_argi == 0)
		return len <= VEER_CACHE_CMD_LEN;
	/* A longer sub-command is matched by its first VEER_CACHE_CMD_LEN bytes. */
	if (rq_reads_arg1(s))
		return len <= 2 * VEER_CACHE_CMD_LEN;
	if (len > VEER_CACHE_KEY_MAX)
		return false;
	switch (s->rq_class) {
	case VEER_CMD_WRITE:
		return true;
	case VEER_CMD_GET:
		/* Only a message's first command can be served: later GETs are only counted. */
		return s->rq_argi == 1 && c->cmds == 0;
	case VEER_CMD_STORE:
	case VEER_CMD_KEYWRITE:
		return s->rq_argi == 1;
	default:
		return false;
	}
}

static __always_inline void rq_arg_byte(struct veer_cache_conn *s, __u8 b)
{
	__u32 n = s->rq_arglen;

	if (s->rq_argi == 0 || rq_reads_arg1(s)) {
		/* Redis matches command names in any case, memcached exactly. */
		if (s->proto == VEER_CACHE_REDIS && b >= 'a' && b <= 'z')
			b -= 32;
		if (n < VEER_CACHE_CMD_LEN)
			s->rq_name[n & (VEER_CACHE_CMD_LEN - 1)] = b;
	} else if (n < VEER_CACHE_KEY_MAX) {
		s->rq_hash = veer_cache_hash_byte(s->rq_hash, b);
	}
	s->rq_arglen = n + 1;
}

static __always_inline __u32 rq_classify(struct veer_cache_conn *s, __u8 proto, __u32 len)
{
	struct veer_cache_cmd_key k = { .proto = proto };
	__u32 *class;

	if (len == 0 || len > VEER_CACHE_CMD_LEN)
		return VEER_CMD_WRITE;
	/* The commands of nearly every request, without a map lookup. */
	if (len == 3) {
		__u32 w = s->rq_name[0] | s->rq_name[1] << 8 | s->rq_name[2] << 16;

		if (w == ('G' | 'E' << 8 | 'T' << 16) && proto == VEER_CACHE_REDIS)
			return VEER_CMD_GET;
		if (w == ('g' | 'e' << 8 | 't' << 16) && proto == VEER_CACHE_MEMCACHED)
			return VEER_CMD_GET;
		if (w == ('S' | 'E' << 8 | 'T' << 16) && proto == VEER_CACHE_REDIS)
			return VEER_CMD_KEYWRITE;
		if (w == ('s' | 'e' << 8 | 't' << 16) && proto == VEER_CACHE_MEMCACHED)
			return VEER_CMD_STORE;
	}
	__builtin_memcpy(k.name, s->rq_name, sizeof(k.name));
	class = bpf_map_lookup_elem(&veer_cache_cmds, &k);
	return class ? *class : VEER_CMD_WRITE;
}

/* The end of an argument (RESP) or token (inline, memcached) of len bytes. */
static __always_inline void rq_arg_end(struct veer_cache_rq_cur *c, struct veer_cache_conn *s, __u32 len)
{
	__u32 i = s->rq_argi;

	if (i == 0) {
		s->rq_class = rq_classify(s, c->proto, len);
		if (s->rq_class == VEER_CMD_OFF)
			c->nohit = VEER_CACHE_OFF_COMMAND;
		else if (s->rq_class == VEER_CMD_FLUSH)
			cache_bump_epoch();
	} else if (len && len <= VEER_CACHE_KEY_MAX) {
		if (s->rq_class == VEER_CMD_WRITE ||
		    (i == 1 && (s->rq_class == VEER_CMD_STORE || s->rq_class == VEER_CMD_KEYWRITE))) {
			__u32 slot = veer_cache_gen_slot(s->rq_hash);

			cache_bump_slot(slot);
			cache_hot_write(s->rq_hash, len, c->proto);
			s->rq_wslot = s->rq_writes++ ? VEER_CACHE_SLOT_ALL : slot;
		}
	}
	if (i == 1 && c->cmds == 0) {
		c->key_len = len;
		c->key_hash = s->rq_hash;
	}
	s->rq_argi = i + 1;
}

/* Remembers a write until its reply: see struct veer_cache_conn. */
static __always_inline void rq_pend(struct veer_cache_conn *s, __u32 idx, __u32 slot)
{
	struct veer_cache_pend *p;

	if (s->rp_lost) {
		s->ack_all = 1; /* its reply cannot be found: every reply stands for it */
		return;
	}
	if (s->pend_n >= VEER_CACHE_PEND) {
		s->overflow_idx = idx;
		return;
	}
	p = &s->pend[(s->pend_head + s->pend_n) & (VEER_CACHE_PEND - 1)];
	p->idx = idx;
	p->slot = slot;
	s->pend_n++;
}

static __always_inline void rq_command_end(struct veer_cache_rq_cur *c, struct veer_cache_conn *s,
					   bool answered)
{
	/* The number of the reply that will answer this command. */
	__u32 idx = s->sent + c->done + 1;

	if (answered) {
		if (s->rq_class == VEER_CMD_MULTI) {
			s->multi = 1;
		} else if (s->rq_class == VEER_CMD_EXEC) {
			if (s->multi_writes)
				rq_pend(s, idx, s->multi_writes > 1 ? VEER_CACHE_SLOT_ALL
								    : s->multi_slot);
			s->multi = 0;
			s->multi_writes = 0;
		} else if (s->rq_class == VEER_CMD_FLUSH && s->multi) {
			s->multi_writes += 2; /* makes EXEC's acknowledgement an epoch bump */
		} else if (s->rq_class == VEER_CMD_FLUSH) {
			rq_pend(s, idx, VEER_CACHE_SLOT_ALL);
		} else if (s->rq_writes && s->multi) {
			s->multi_slot = s->rq_wslot;
			s->multi_writes += s->rq_writes;
		} else if (s->rq_writes) {
			rq_pend(s, idx, s->rq_wslot);
		}
	}
	if (c->cmds == 0) {
		c->first_end = c->base + c->pos;
		c->first_class = s->rq_class;
		c->first_argc = s->rq_argi;
	}
	c->cmds++;
	c->done += answered;
	s->rq_state = 0;
}

/*
 * Moves to the next window once this one is read; false at the end of the message. Pulling
 * copies only when the window spans two of the message's pages.
 */
static __always_inline bool rq_refill(struct sk_msg_md *msg, struct veer_cache_rq_cur *c)
{
	__u32 next, len;

	if (c->pos < c->end)
		return true;
	next = c->base + c->end;
	if (next >= c->size)
		return false;
	len = c->size - next;
	if (len > RQ_WINDOW)
		len = RQ_WINDOW;
	if (bpf_msg_pull_data(msg, next, next + len, 0)) {
		c->off = VEER_CACHE_OFF_TOO_BIG;
		return false;
	}
	if (len > msg->data_end - msg->data)
		len = msg->data_end - msg->data;
	c->base = next;
	c->pos = 0;
	c->end = len;
	return len > 0;
}

/* The next byte of the window, not consumed; -1 at the window's end. */
static __always_inline int rq_peek_byte(struct sk_msg_md *msg, const struct veer_cache_rq_cur *c)
{
	__u32 pos = c->pos;
	__u8 *p;

	if (pos >= c->end || pos >= RQ_WINDOW)
		return -1;
	p = (__u8 *)(long)msg->data + pos;
	if ((void *)(p + 1) > (void *)(long)msg->data_end)
		return -1;
	return *p;
}

/* The next byte of the window, or -1 at its end. Advances the position. */
static __always_inline int rq_next_byte(struct sk_msg_md *msg, struct veer_cache_rq_cur *c)
{
	int b = rq_peek_byte(msg, c);

	if (b >= 0)
		c->pos++;
	return b;
}

/* Skips up to *left bytes of the window; true when nothing is left to skip. */
static __always_inline bool rq_skip(struct veer_cache_rq_cur *c, __u32 *left)
{
	__u32 n = c->end - c->pos;

	if (n > *left)
		n = *left;
	c->pos += n;
	*left -= n;
	return *left == 0;
}

/*
 * The reply side: the verdict program reads the server's bytes as they arrive on the client
 * socket, 64 bytes at a time into buf (the skb is often paged), and counts complete replies.
 */
#define RP_CHUNK 64

struct rp_ctx {
	struct __sk_buff *skb;
	struct veer_cache_conn *s;
};

static __always_inline int rp_next_byte(struct __sk_buff *skb, struct veer_cache_rp_cur *c)
{
	__u32 pos = c->pos, rel = pos - c->buf_off, n;

	if (pos >= c->len)
		return -1;
	if (pos < c->buf_off || rel >= c->buf_len) {
		n = c->len - pos;
		if (n > RP_CHUNK)
			n = RP_CHUNK;
		if (n < 1 || bpf_skb_load_bytes(skb, pos, c->buf, n))
			return -1;
		c->buf_off = pos;
		c->buf_len = n;
		rel = 0;
	}
	c->pos = pos + 1;
	return c->buf[rel & (RP_CHUNK - 1)];
}

static __always_inline bool rp_skip(struct veer_cache_rp_cur *c, __u32 *left)
{
	__u32 n = c->len - c->pos;

	if (n > *left)
		n = *left;
	c->pos += n;
	*left -= n;
	return *left == 0;
}

/*
 * The connection's replies can no longer be counted: nothing is served on it again, and its
 * writes can no longer be matched to their acknowledgements. Those still owed one are
 * acknowledged now and, since the server may apply them later still, by every later arrival
 * of reply bytes (ack_all), as the writes it sends from now on will be.
 */
static __always_inline void rp_count_lost(struct veer_cache_conn *s)
{
	s->rp_lost = 1;
	if (s->pend_n || s->overflow_idx || s->multi_writes) {
		cache_bump_epoch();
		s->ack_all = 1;
	}
	s->pend_n = 0;
	s->overflow_idx = 0;
}

/* A whole reply arrived. More replies than requests means the count is wrong: stop caching. */
static __always_inline void rp_reply_done(struct veer_cache_rp_cur *c, struct veer_cache_conn *s)
{
	struct veer_cache_pend *p;
	__u32 n = ++s->replies;

	cache_count(VEER_CACHE_REPLIES);
	if (s->replies > s->sent) {
		c->off = VEER_CACHE_OFF_PROTOCOL;
		return;
	}
	/* The write this reply acknowledges, if any, has now been applied: bump again. */
	if (s->overflow_idx && n >= s->overflow_idx) {
		cache_bump_epoch();
		s->overflow_idx = 0;
	}
	if (!s->pend_n)
		return;
	p = &s->pend[s->pend_head & (VEER_CACHE_PEND - 1)];
	if (p->idx > n)
		return;
	cache_bump_slot(p->slot);
	s->pend_head++;
	s->pend_n--;
}

#endif
