/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Redis, both directions. Requests: multibulk (*N $len arg ...) and inline (words up to a
 * newline), read exactly as Redis 7.0's networking.c reads them, or the connection goes blind.
 * Replies, RESP2 and RESP3: simple strings, errors, integers, bulk strings, and aggregates
 * nested up to 8 deep; RESP3's null, boolean, double, big number, blob error, verbatim string,
 * map and set on a connection HELLO switched to RESP3. Anything else (pushes, attributes)
 * stops the count of replies for the connection, because a reply the parser cannot delimit
 * would make the count of owed replies wrong.
 */
#ifndef VEER_BPF_RESP_H
#define VEER_BPF_RESP_H

#include "cache_stream.h"

enum resp_rq_state {
	RESP_RQ_START = 0, /* between commands */
	RESP_RQ_NARGS,	   /* *N */
	RESP_RQ_NARGS_LF,
	RESP_RQ_DOLLAR,
	RESP_RQ_LEN, /* $len */
	RESP_RQ_LEN_LF,
	RESP_RQ_ARG, /* rq_skip bytes of argument to come */
	RESP_RQ_ARG_CR,
	RESP_RQ_ARG_LF,
	RESP_RQ_INLINE, /* an inline command */
};

#define RESP_RQ_IN_TOKEN 1u /* rq_flags, inline: inside a word */
#define RESP_RQ_DIGITS	 2u /* rq_flags, "*N" or "$LEN": a digit was read */
/* rq_flags bits 8-15, HELLO and SELECT: argument 1 when it is one byte, 1 otherwise */
#define RESP_RQ_ARG1_SHIFT 8

/*
 * Redis's limits (networking.c): an inline line longer than PROTO_INLINE_MAX_SIZE may be
 * refused, depending on how it arrives; a bulk length over proto-max-bulk-len (512 MiB by
 * default) always is. The cache goes blind past either rather than guess.
 */
#define RESP_INLINE_MAX	  (64u * 1024)
#define RESP_BULK_LEN_MAX (512u * 1024 * 1024)

/* CLIENT's sub-commands, in the command table under VEER_CACHE_SUB_CLIENT. */
static __always_inline __u32 resp_classify_sub(struct veer_cache_conn *s, __u32 len)
{
	struct veer_cache_cmd_key k = {.proto = VEER_CACHE_REDIS, .sub = VEER_CACHE_SUB_CLIENT};
	__u32 *class;

	if (len == 0 || len > 2 * VEER_CACHE_CMD_LEN)
		return VEER_CMD_OFF;
	k.truncated = len > VEER_CACHE_CMD_LEN;
	__builtin_memcpy(k.name, s->rq_name, sizeof(k.name));
	class = bpf_map_lookup_elem(&veer_cache_cmds, &k);
	/* Whatever CLIENT does that the table does not name: hands off. */
	return class ? *class : VEER_CMD_OFF;
}

/* The end of an argument of len bytes. */
static __always_inline void resp_arg_end(struct veer_cache_rq_cur *c, struct veer_cache_conn *s,
					 __u32 len)
{
	if (rq_reads_arg1(s)) {
		if (s->rq_class == VEER_CMD_SUB) {
			s->rq_class = resp_classify_sub(s, len);
			if (s->rq_class == VEER_CMD_OFF)
				c->nohit = VEER_CACHE_OFF_COMMAND;
		} else {
			s->rq_flags |= (len == 1 ? s->rq_name[0] : 1) << RESP_RQ_ARG1_SHIFT;
		}
	}
	rq_arg_end(c, s, len);
	/* Argument 1 is read where the name was. */
	if (rq_reads_arg1(s))
		__builtin_memset(s->rq_name, 0, sizeof(s->rq_name));
}

/*
 * The end of a command. One whose replies are not one per request makes the count of replies
 * untrusted for the rest of the connection: a hit could otherwise overtake a reply still owed.
 * HELLO and SELECT take effect when their reply is seen and is not an error (see
 * resp_rp_reply_done); queued inside MULTI they would take effect with EXEC, if at all, so
 * the setting is unknown from then on, as it is when another is still pending.
 */
static __always_inline void resp_command_end(struct veer_cache_rq_cur *c,
					     struct veer_cache_conn *s)
{
	__u32 idx = s->sent + c->done + 1, arg1 = (s->rq_flags >> RESP_RQ_ARG1_SHIFT) & 0xff;

	switch (s->rq_class) {
	case VEER_CMD_LOST:
		c->nohit = VEER_CACHE_OFF_COMMAND;
		rp_count_lost(s);
		break;
	case VEER_CMD_HELLO:
		if (s->multi || s->hello_idx)
			s->resp3 = VEER_CACHE_RESP_ANY;
		if (s->multi)
			break;
		s->hello_idx = idx;
		/* Redis accepts only "2" and "3" (string2ll: no sign, no leading zero). */
		s->hello_resp = arg1 == 0     ? VEER_CACHE_RESP_KEEP
				: arg1 == '2' ? VEER_CACHE_RESP2
				: arg1 == '3' ? VEER_CACHE_RESP3
					      : VEER_CACHE_RESP_ANY;
		break;
	case VEER_CMD_SELECT:
		if (s->multi || s->select_idx)
			s->db_other = 1;
		if (s->multi)
			break;
		s->select_idx = idx;
		s->select_zero = arg1 == '0'; /* the only spelling of 0 string2ll takes */
		break;
	case VEER_CMD_PUSHES:
		/* Two in flight, or one queued in MULTI: whichever the server accepts, pushes. */
		if (s->multi || s->pushes_idx) {
			c->nohit = VEER_CACHE_OFF_COMMAND;
			rp_count_lost(s);
			break;
		}
		s->pushes_idx = idx;
		break;
	}
	rq_command_end(c, s, true);
}

static __always_inline void resp_inline_token_end(struct veer_cache_rq_cur *c,
						  struct veer_cache_conn *s)
{
	if (s->rq_flags & RESP_RQ_IN_TOKEN) {
		s->rq_flags &= ~RESP_RQ_IN_TOKEN;
		resp_arg_end(c, s, s->rq_arglen);
	}
}

/*
 * A byte of an inline command, split as Redis's sdssplitargs() splits the line: words are
 * separated by isspace() bytes (space \t \n \v \f \r), but a word ends only at a space, \t,
 * \r or \n - a \v or \f inside a word is part of it. The line ends at \n (a \r before it is a
 * separator anyway). rq_num counts the line's bytes.
 */
static __always_inline void resp_rq_inline(struct veer_cache_rq_cur *c, struct veer_cache_conn *s,
					   __u8 b)
{
	bool blank;

	switch (b) {
	case '\n':
		resp_inline_token_end(c, s);
		/* A line of only whitespace is no command and gets no reply. */
		if (s->rq_argi)
			resp_command_end(c, s);
		else
			s->rq_state = RESP_RQ_START;
		return;
	case '"':
	case '\'':
		/* Quoted words are split by rules this tokenizer does not follow. */
	case 0:
		/* Redis looks for the \n with strchr(): it never sees a line holding a NUL. */
		c->off = VEER_CACHE_OFF_PROTOCOL;
		return;
	case ' ':
	case '\t':
	case '\r':
		blank = true;
		break;
	case '\v':
	case '\f':
		blank = !(s->rq_flags & RESP_RQ_IN_TOKEN);
		break;
	default:
		blank = false;
	}
	if (blank) {
		resp_inline_token_end(c, s);
	} else {
		if (!(s->rq_flags & RESP_RQ_IN_TOKEN)) {
			s->rq_flags |= RESP_RQ_IN_TOKEN;
			c->pos--; /* the key starts at this byte */
			rq_arg_begin(c, s);
			c->pos++;
		}
		rq_arg_byte(s, b);
	}
	if (++s->rq_num > RESP_INLINE_MAX)
		c->off = VEER_CACHE_OFF_PROTOCOL;
}

/* A digit of "*N" or "$LEN", as Redis's string2ll() takes it: no sign, no leading zero. */
static __always_inline bool resp_rq_digit(struct veer_cache_conn *s, __u8 b)
{
	if ((s->rq_flags & RESP_RQ_DIGITS) && !s->rq_num)
		return false; /* only "0" itself may begin with a 0 */
	s->rq_flags |= RESP_RQ_DIGITS;
	return add_digit(&s->rq_num, b);
}

/* The CR after "*N" or "$LEN": an empty number is a protocol error. */
static __always_inline void resp_rq_num_cr(struct veer_cache_rq_cur *c, struct veer_cache_conn *s)
{
	if (!(s->rq_flags & RESP_RQ_DIGITS))
		c->off = VEER_CACHE_OFF_PROTOCOL;
	else
		s->rq_state = s->rq_state == RESP_RQ_NARGS ? RESP_RQ_NARGS_LF : RESP_RQ_LEN_LF;
}

static __always_inline void resp_rq_len_begin(struct veer_cache_conn *s)
{
	s->rq_num = 0;
	s->rq_flags &= ~RESP_RQ_DIGITS;
	s->rq_state = RESP_RQ_LEN;
}

static __always_inline void resp_rq_nargs_done(struct veer_cache_conn *s)
{
	if (s->rq_num == 0) {
		s->rq_state = RESP_RQ_START; /* *0: the server ignores it */
	} else {
		s->rq_args = s->rq_num;
		s->rq_state = RESP_RQ_DOLLAR;
	}
}

static __always_inline void resp_rq_len_done(struct veer_cache_rq_cur *c, struct veer_cache_conn *s)
{
	if (s->rq_num > RESP_BULK_LEN_MAX) {
		c->off = VEER_CACHE_OFF_PROTOCOL;
		return;
	}
	rq_arg_begin(c, s);
	s->rq_skip = s->rq_num;
	s->rq_state = s->rq_skip ? RESP_RQ_ARG : RESP_RQ_ARG_CR;
}

static __always_inline void resp_rq_arg_done(struct veer_cache_rq_cur *c, struct veer_cache_conn *s)
{
	resp_arg_end(c, s, s->rq_num);
	if (--s->rq_args == 0)
		resp_command_end(c, s);
	else
		s->rq_state = RESP_RQ_DOLLAR;
}

static __always_inline void resp_rq_byte(struct veer_cache_rq_cur *c, struct veer_cache_conn *s,
					 __u8 b)
{
	switch (s->rq_state) {
	case RESP_RQ_START:
		/*
		 * Redis reads any request that does not begin with '*' as an inline line, one
		 * that begins with \r included. A lone \n is an empty line: no command.
		 */
		if (b == '*') {
			rq_command_begin(s);
			s->rq_state = RESP_RQ_NARGS;
		} else if (b != '\n') {
			rq_command_begin(s);
			s->rq_state = RESP_RQ_INLINE;
			resp_rq_inline(c, s, b);
		}
		return;
	case RESP_RQ_NARGS:
	case RESP_RQ_LEN:
		if (b == '\r')
			resp_rq_num_cr(c, s);
		else if (!resp_rq_digit(s, b))
			c->off = VEER_CACHE_OFF_PROTOCOL;
		return;
	case RESP_RQ_NARGS_LF:
		if (b != '\n')
			c->off = VEER_CACHE_OFF_PROTOCOL;
		else
			resp_rq_nargs_done(s);
		return;
	case RESP_RQ_DOLLAR:
		if (b == '$')
			resp_rq_len_begin(s);
		else
			c->off = VEER_CACHE_OFF_PROTOCOL;
		return;
	case RESP_RQ_LEN_LF:
		if (b != '\n')
			c->off = VEER_CACHE_OFF_PROTOCOL;
		else
			resp_rq_len_done(c, s);
		return;
	case RESP_RQ_ARG_CR:
		if (b == '\r')
			s->rq_state = RESP_RQ_ARG_LF;
		else
			c->off = VEER_CACHE_OFF_PROTOCOL;
		return;
	case RESP_RQ_ARG_LF:
		if (b != '\n')
			c->off = VEER_CACHE_OFF_PROTOCOL;
		else
			resp_rq_arg_done(c, s);
		return;
	case RESP_RQ_INLINE:
		resp_rq_inline(c, s, b);
		return;
	}
	c->off = VEER_CACHE_OFF_PROTOCOL;
}

/*
 * One iteration of the tokenizer. The common shapes - "*N\r\n", "$LEN\r\n", an argument's
 * bytes, its CRLF - are each read in one iteration rather than one per byte: the per-iteration
 * overhead is most of the cost of reading a pipelined batch. Anything else goes byte by byte
 * through resp_rq_byte(). A read that runs off the window returns 0: the next iteration
 * moves to the next window and resumes from the state saved in the connection.
 */
static __always_inline long resp_rq_step(struct sk_msg_md *msg, struct veer_cache_conn *s,
					 struct veer_cache_rq_cur *c)
{
	int b;

	switch (s->rq_state) {
	case RESP_RQ_ARG:
		if (!rq_arg_wanted(c, s, s->rq_num)) {
			if (rq_skip(c, &s->rq_skip))
				s->rq_state = RESP_RQ_ARG_CR;
			return 0;
		}
		for (int k = 0; k < 16; k++) {
			b = rq_next_byte(msg, c);
			if (b < 0)
				return 0;
			rq_arg_byte(s, b);
			if (--s->rq_skip == 0) {
				s->rq_state = RESP_RQ_ARG_CR;
				return 0;
			}
		}
		return 0;
	case RESP_RQ_ARG_CR:
		b = rq_next_byte(msg, c);
		if (b != '\r')
			goto generic;
		s->rq_state = RESP_RQ_ARG_LF;
		b = rq_next_byte(msg, c);
		if (b < 0)
			return 0;
		if (b != '\n')
			goto generic;
		resp_rq_arg_done(c, s);
		return 0;
	case RESP_RQ_START:
		b = rq_next_byte(msg, c);
		if (b != '*')
			goto generic;
		rq_command_begin(s);
		s->rq_state = RESP_RQ_NARGS;
		goto digits;
	case RESP_RQ_DOLLAR:
		b = rq_next_byte(msg, c);
		if (b != '$')
			goto generic;
		resp_rq_len_begin(s);
		goto digits;
	case RESP_RQ_NARGS:
	case RESP_RQ_LEN:
		goto digits;
	}
	b = rq_next_byte(msg, c);
generic:
	if (b < 0)
		return 0;
	resp_rq_byte(c, s, b);
	return 0;
digits:
	/* A number up to its CRLF (add_digit refuses an 11th digit). */
	for (int k = 0; k < 11; k++) {
		b = rq_next_byte(msg, c);
		if (b < 0)
			return 0;
		if (b == '\r')
			break;
		if (!resp_rq_digit(s, b)) {
			c->off = VEER_CACHE_OFF_PROTOCOL;
			return 1;
		}
	}
	if (b != '\r')
		return 0;
	resp_rq_num_cr(c, s);
	if (c->off)
		return 1;
	b = rq_next_byte(msg, c);
	if (b < 0)
		return 0;
	if (b != '\n') {
		c->off = VEER_CACHE_OFF_PROTOCOL;
		return 1;
	}
	if (s->rq_state == RESP_RQ_NARGS_LF)
		resp_rq_nargs_done(s);
	else
		resp_rq_len_done(c, s);
	return 0;
}

enum resp_rp_state {
	RESP_RP_START = 0,
	RESP_RP_LINE,  /* + - : and RESP3's _ # , ( up to the newline */
	RESP_RP_BULK,  /* $len, and RESP3's !len (blob error) and =len (verbatim string) */
	RESP_RP_DATA,  /* rp_skip bytes of bulk string and its CRLF */
	RESP_RP_ARRAY, /* *count, and RESP3's ~count (set) and %count (map: 2 x count) */
};

#define RESP_RP_NEG	  1u /* rp_flags: the length read is negative (a null) */
#define RESP_RP_MAP	  2u /* rp_flags: the aggregate being read is a map */
#define RESP_RP_ERR	  4u /* rp_flags: the reply being read is an error */
#define RESP_RP_MAX_DEPTH 8

/*
 * Redis answers a request it cannot parse with "-ERR Protocol error: ..." and closes the
 * connection. The tokenizer follows Redis's grammar, but not the limits it cannot know (a
 * client not yet authenticated may send at most 10 arguments of at most 16 KiB each): such an
 * error seen as a reply switches serving off for good. While a line reply is read, rp_num is
 * how much of the prefix it matches so far, or RESP_PERR_NO.
 */
#define RESP_PERR_LEN 19
#define RESP_PERR_NO  0xffu

/* Byte i of "-ERR Protocol error", from constants: a global array would need .rodata. */
static __always_inline __u8 resp_perr_byte(__u32 i)
{
	__u64 w = i < 8 ? 0x6f7250205252452dull : i < 16 ? 0x7265206c6f636f74ull : 0x726f72ull;

	return w >> ((i & 7) * 8);
}

/*
 * RESP3 types are counted where the server may send them: on a connection switched to RESP3
 * (or whose protocol is unknown), and in the reply to a HELLO, which is in the protocol it
 * asks for.
 */
static __always_inline bool resp_rp_resp3(const struct veer_cache_conn *s)
{
	return s->resp3 != VEER_CACHE_RESP2 || s->hello_idx;
}

/* A whole reply: the HELLO or SELECT it answers takes effect, unless it is an error. */
static __always_inline void resp_rp_reply_done(struct veer_cache_rp_cur *c,
					       struct veer_cache_conn *s)
{
	bool ok = !(s->rp_flags & RESP_RP_ERR);
	__u32 n;

	rp_reply_done(c, s);
	n = s->replies;
	if (s->hello_idx && s->hello_idx == n) {
		if (ok && s->hello_resp != VEER_CACHE_RESP_KEEP)
			s->resp3 = s->hello_resp;
		s->hello_idx = 0;
	}
	if (s->select_idx && s->select_idx == n) {
		if (ok)
			s->db_other = !s->select_zero;
		s->select_idx = 0;
	}
	/*
	 * Accepted, the server may push messages between replies from now on: the count of
	 * replies cannot be trusted. Refused (as by Redis 7.0), nothing changed.
	 */
	if (s->pushes_idx && s->pushes_idx == n) {
		s->pushes_idx = 0;
		if (ok && !c->off)
			c->off = VEER_CACHE_OFF_COMMAND;
	}
}

/* An element ended: it may end the arrays that hold it, and the last one ends the reply. */
static __always_inline void resp_rp_element_done(struct veer_cache_rp_cur *c,
						 struct veer_cache_conn *s)
{
	s->rp_state = RESP_RP_START;
#pragma unroll
	for (int i = 0; i < RESP_RP_MAX_DEPTH; i++) {
		__u32 d = s->rp_depth;

		if (!d)
			break;
		d = (d - 1) & (RESP_RP_MAX_DEPTH - 1);
		if (--s->rp_elems[d])
			return;
		s->rp_depth--;
	}
	resp_rp_reply_done(c, s);
}

static __always_inline void resp_rp_line_byte(struct veer_cache_rp_cur *c,
					      struct veer_cache_conn *s, __u8 b)
{
	__u32 i = s->rp_num;

	if (b == '\n') {
		resp_rp_element_done(c, s);
		if (i == RESP_PERR_LEN)
			c->off = VEER_CACHE_OFF_PROTOCOL;
	} else if (i < RESP_PERR_LEN) {
		s->rp_num = b == resp_perr_byte(i) ? i + 1 : RESP_PERR_NO;
	}
}

/* The LF that ends "$LEN" or "*COUNT". */
static __always_inline void resp_rp_len_done(struct veer_cache_rp_cur *c, struct veer_cache_conn *s)
{
	__u32 d;

	if ((s->rp_flags & RESP_RP_NEG) || (s->rp_state == RESP_RP_ARRAY && !s->rp_num)) {
		resp_rp_element_done(c, s);
	} else if (s->rp_state == RESP_RP_ARRAY) {
		d = s->rp_depth & (RESP_RP_MAX_DEPTH - 1);
		/* A map's count is of pairs (add_digit keeps it under 2^30: no overflow). */
		s->rp_elems[d] = s->rp_flags & RESP_RP_MAP ? 2 * s->rp_num : s->rp_num;
		s->rp_depth++;
		s->rp_state = RESP_RP_START;
	} else {
		s->rp_skip = s->rp_num + 2;
		s->rp_state = RESP_RP_DATA;
	}
}

/* The first byte of an element: its type. */
static __always_inline void resp_rp_type(struct veer_cache_rp_cur *c, struct veer_cache_conn *s,
					 __u8 b)
{
	bool resp3 = resp_rp_resp3(s);
	__u8 state = RESP_RP_START;

	switch (b) {
	case '+':
	case '-':
	case ':':
		state = RESP_RP_LINE;
		break;
	case '$':
		state = RESP_RP_BULK;
		break;
	case '*':
		state = RESP_RP_ARRAY;
		break;
	case '_': /* null */
	case '#': /* boolean */
	case ',': /* double */
	case '(': /* big number */
		if (resp3)
			state = RESP_RP_LINE;
		break;
	case '!': /* blob error */
	case '=': /* verbatim string */
		if (resp3)
			state = RESP_RP_BULK;
		break;
	case '~': /* set */
	case '%': /* map */
		if (resp3)
			state = RESP_RP_ARRAY;
		break;
		/* '>' (push) and '|' (attribute) are not replies: the count is lost. */
	}
	if (state == RESP_RP_START || (state == RESP_RP_ARRAY && s->rp_depth >= RESP_RP_MAX_DEPTH)) {
		c->off = VEER_CACHE_OFF_PROTOCOL;
		return;
	}
	s->rp_state = state;
	s->rp_num = 0;
	s->rp_flags &= ~(RESP_RP_NEG | RESP_RP_MAP);
	if (b == '%')
		s->rp_flags |= RESP_RP_MAP;
	if (!s->rp_depth) {
		s->rp_flags &= ~RESP_RP_ERR;
		if (b == '-' || b == '!')
			s->rp_flags |= RESP_RP_ERR;
	}
	/* Only a whole reply can be Redis's protocol error. */
	if (state == RESP_RP_LINE)
		s->rp_num = b == '-' && !s->rp_depth ? 1 : RESP_PERR_NO;
}

static __always_inline void resp_rp_byte(struct veer_cache_rp_cur *c, struct veer_cache_conn *s,
					 __u8 b)
{
	switch (s->rp_state) {
	case RESP_RP_START:
		resp_rp_type(c, s, b);
		return;
	case RESP_RP_LINE:
		resp_rp_line_byte(c, s, b);
		return;
	case RESP_RP_BULK:
	case RESP_RP_ARRAY:
		if (b == '-' && !s->rp_num)
			s->rp_flags |= RESP_RP_NEG;
		else if (b == '\n')
			resp_rp_len_done(c, s);
		else if (b != '\r' && !add_digit(&s->rp_num, b)) {
			c->off = VEER_CACHE_OFF_PROTOCOL;
		}
		return;
	}
	c->off = VEER_CACHE_OFF_PROTOCOL;
}

/* As on the request side, a line or a length is read in one iteration where it can be. */
static __always_inline long resp_rp_step(struct __sk_buff *skb, struct veer_cache_conn *s,
					 struct veer_cache_rp_cur *c)
{
	int b;

	switch (s->rp_state) {
	case RESP_RP_DATA:
		if (rp_skip(c, &s->rp_skip))
			resp_rp_element_done(c, s);
		return c->pos >= c->len;
	case RESP_RP_LINE:
		for (int k = 0; k < 32; k++) {
			b = rp_next_byte(skb, c);
			if (b < 0)
				return 1;
			resp_rp_line_byte(c, s, b);
			if (b == '\n')
				return c->off ? 1 : 0;
		}
		return 0;
	case RESP_RP_BULK:
	case RESP_RP_ARRAY:
		for (int k = 0; k < 12; k++) {
			b = rp_next_byte(skb, c);
			if (b < 0)
				return 1;
			if (b == '\n') {
				resp_rp_len_done(c, s);
				return 0;
			}
			if (b == '-' && !s->rp_num) {
				s->rp_flags |= RESP_RP_NEG;
			} else if (b != '\r' && !add_digit(&s->rp_num, b)) {
				c->off = VEER_CACHE_OFF_PROTOCOL;
				return 1;
			}
		}
		return 0;
	}
	b = rp_next_byte(skb, c);
	if (b < 0)
		return 1;
	resp_rp_byte(c, s, b);
	return 0;
}

#endif
