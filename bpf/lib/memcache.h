/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memcached's text protocol, both directions. A request is a line of tokens; storage commands
 * (set, add, replace, append, prepend, cas) are followed by a data block whose length is their
 * fifth token; "noreply" as the last token means no answer will come. A reply is every line up
 * to and including the first that is not a VALUE header, VALUE headers being followed by their
 * data block. Commands whose framing this does not follow (meta commands, stats) are marked
 * VEER_CMD_OFF by userspace and switch caching off for the connection.
 */
#ifndef VEER_BPF_MEMCACHE_H
#define VEER_BPF_MEMCACHE_H

#include "cache_stream.h"

enum mc_rq_state {
	MC_RQ_START = 0, /* between commands */
	MC_RQ_LINE,
	MC_RQ_DATA, /* rq_skip bytes of data block and its CRLF */
};

#define MC_RQ_IN_TOKEN 1u /* rq_flags */
#define MC_RQ_NOREPLY  2u /* the last token ended was "noreply" */
#define MC_RQ_MATCH    4u /* the current token is a prefix of "noreply" */

#define MC_NOREPLY     0x796c7065726f6eull /* "noreply", little-endian */
#define MC_NOREPLY_LEN 7
#define MC_BYTES_TOKEN 4 /* set KEY FLAGS EXPTIME BYTES */

static __always_inline void mc_rq_token_end(struct veer_cache_rq_cur *c, struct veer_cache_conn *s)
{
	if (!(s->rq_flags & MC_RQ_IN_TOKEN))
		return;
	s->rq_flags &= ~(MC_RQ_IN_TOKEN | MC_RQ_NOREPLY);
	if (s->rq_argi && (s->rq_flags & MC_RQ_MATCH) && s->rq_arglen == MC_NOREPLY_LEN)
		s->rq_flags |= MC_RQ_NOREPLY;
	rq_arg_end(c, s, s->rq_arglen);
}

/*
 * memcached honours "noreply" on storage commands, delete, incr/decr, touch, flush_all and
 * verbosity only: "get noreply" reads the key "noreply".
 */
static __always_inline bool mc_rq_answered(const struct veer_cache_conn *s)
{
	if (!(s->rq_flags & MC_RQ_NOREPLY))
		return true;
	return s->rq_class != VEER_CMD_STORE && s->rq_class != VEER_CMD_KEYWRITE &&
	       s->rq_class != VEER_CMD_FLUSH && s->rq_class != VEER_CMD_CONTROL;
}

static __always_inline void mc_rq_line_end(struct veer_cache_rq_cur *c, struct veer_cache_conn *s)
{
	mc_rq_token_end(c, s);
	if (c->off)
		return;
	if (s->rq_argi == 0) {
		/* An empty line draws an ERROR: simpler to stop than to count it. */
		c->off = VEER_CACHE_OFF_PROTOCOL;
		return;
	}
	if (s->rq_class == VEER_CMD_STORE) {
		if (s->rq_argi <= MC_BYTES_TOKEN) {
			c->off = VEER_CACHE_OFF_PROTOCOL;
			return;
		}
		s->rq_skip = s->rq_num + 2;
		s->rq_state = MC_RQ_DATA;
		return;
	}
	rq_command_end(c, s, mc_rq_answered(s));
}

static __always_inline void mc_rq_byte(struct veer_cache_rq_cur *c, struct veer_cache_conn *s,
				       __u8 b)
{
	__u32 n;

	if (s->rq_state == MC_RQ_START) {
		rq_command_begin(s);
		s->rq_state = MC_RQ_LINE;
	}
	switch (b) {
	case '\n':
		mc_rq_line_end(c, s);
		return;
	case '\r':
	case ' ':
		mc_rq_token_end(c, s);
		return;
	}
	if (!(s->rq_flags & MC_RQ_IN_TOKEN)) {
		s->rq_flags |= MC_RQ_IN_TOKEN | MC_RQ_MATCH;
		c->pos--; /* the key starts at this byte */
		rq_arg_begin(c, s);
		c->pos++;
	}
	n = s->rq_arglen;
	if (n >= MC_NOREPLY_LEN || b != (__u8)(MC_NOREPLY >> (8 * (n & 7))))
		s->rq_flags &= ~MC_RQ_MATCH;
	if (s->rq_argi == MC_BYTES_TOKEN && s->rq_class == VEER_CMD_STORE &&
	    !add_digit(&s->rq_num, b))
		c->off = VEER_CACHE_OFF_PROTOCOL;
	rq_arg_byte(s, b);
}

static __always_inline long mc_rq_step(struct sk_msg_md *msg, struct veer_cache_conn *s,
				       struct veer_cache_rq_cur *c)
{
	int b;

	if (s->rq_state == MC_RQ_DATA) {
		if (rq_skip(c, &s->rq_skip))
			rq_command_end(c, s, mc_rq_answered(s));
		return 0;
	}
	b = rq_next_byte(msg, c);
	if (b < 0)
		return 1;
	mc_rq_byte(c, s, b);
	return 0;
}

enum mc_rp_state {
	MC_RP_START = 0,
	MC_RP_LINE,
	MC_RP_DATA,
};

#define MC_RP_VALUE	     1u		     /* rp_flags: the line so far can be a VALUE header */
#define MC_VALUE	     0x45554c4156ull /* "VALUE", little-endian */
#define MC_VALUE_LEN	     5
#define MC_VALUE_BYTES_TOKEN 3 /* VALUE KEY FLAGS BYTES [CAS] */

/* In MC_RP_LINE, rp_depth is the token index and rp_skip the offset in the token. */
static __always_inline void mc_rp_byte(struct veer_cache_rp_cur *c, struct veer_cache_conn *s,
				       __u8 b)
{
	__u32 n;

	if (s->rp_state == MC_RP_START) {
		s->rp_state = MC_RP_LINE;
		s->rp_depth = 0;
		s->rp_skip = 0;
		s->rp_num = 0;
		s->rp_flags = MC_RP_VALUE;
	}
	switch (b) {
	case '\n':
		if ((s->rp_flags & MC_RP_VALUE) && s->rp_depth >= MC_VALUE_BYTES_TOKEN) {
			s->rp_skip = s->rp_num + 2;
			s->rp_state = MC_RP_DATA;
		} else {
			s->rp_state = MC_RP_START;
			rp_reply_done(c, s);
		}
		return;
	case '\r':
		return;
	case ' ':
		if (s->rp_depth == 0 && s->rp_skip != MC_VALUE_LEN)
			s->rp_flags &= ~MC_RP_VALUE;
		s->rp_depth++;
		s->rp_skip = 0;
		return;
	}
	n = s->rp_skip++;
	if (s->rp_depth == 0 && (n >= MC_VALUE_LEN || b != (__u8)(MC_VALUE >> (8 * (n & 7)))))
		s->rp_flags &= ~MC_RP_VALUE;
	if (s->rp_depth == MC_VALUE_BYTES_TOKEN && (s->rp_flags & MC_RP_VALUE) &&
	    !add_digit(&s->rp_num, b))
		c->off = VEER_CACHE_OFF_PROTOCOL;
}

static __always_inline long mc_rp_step(struct __sk_buff *skb, struct veer_cache_conn *s,
				       struct veer_cache_rp_cur *c)
{
	int b;

	if (s->rp_state == MC_RP_DATA) {
		if (rp_skip(c, &s->rp_skip))
			s->rp_state = MC_RP_START;
		return c->pos >= c->len;
	}
	b = rp_next_byte(skb, c);
	if (b < 0)
		return 1;
	mc_rp_byte(c, s, b);
	return 0;
}

#endif
