/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memcached's text protocol, both directions, read exactly as memcached 1.6.18 reads it
 * (proto_text.c: try_read_command_ascii, tokenize_command, process_command_ascii,
 * process_update_command; util.c: safe_strtoul, safe_strtol). Where the cache cannot tell what
 * memcached will do with a request, the connection goes blind (see cache.bpf.c).
 *
 * A request line ends at its first '\n'; a '\r' right before it is dropped unless it is the
 * line's only byte. The line is a C string to memcached: a NUL byte ends it, the bytes after it
 * up to the '\n' are ignored. Tokens are separated by ' ' only: '\r', '\t' and every other
 * byte belong to a token. Storage commands (set, add, replace, append, prepend, cas) are
 * followed by a data block of their length token plus 2 bytes, but only when memcached accepts
 * their arguments; "noreply" as the last token silences the commands that look for it, error
 * replies included. A reply is every line up to and including the first that is not a VALUE
 * header, VALUE headers being followed by their data block.
 */
#ifndef VEER_BPF_MEMCACHE_H
#define VEER_BPF_MEMCACHE_H

#include "cache_stream.h"

enum mc_rq_state {
	MC_RQ_START = 0, /* between commands */
	MC_RQ_LINE,
	MC_RQ_DATA, /* rq_skip bytes of data block and its CRLF */
};

/*
 * rq_flags while a line is read (rq_skip counts the line's bytes, rq_num holds the length
 * token's value). In MC_RQ_DATA only MC_RQ_NOREPLY is kept: no reply will follow the block.
 */
#define MC_RQ_IN_TOKEN	 (1u << 0)
#define MC_RQ_NOREPLY	 (1u << 1) /* the last token ended was "noreply", not the first */
#define MC_RQ_MATCH	 (1u << 2) /* the current token is a prefix of "noreply" */
#define MC_RQ_MATCH_HTTP (1u << 3) /* the current token is a prefix of "HTTP/" */
#define MC_RQ_HTTP	 (1u << 4) /* a token began with "HTTP/" */
#define MC_RQ_CR	 (1u << 5) /* a '\r' ended the window: dropped or not by the next byte */
#define MC_RQ_NUL	 (1u << 6) /* a NUL byte ended the line for memcached */
#define MC_RQ_BAD	 (1u << 7) /* a storage command's arguments are refused: no data block */
#define MC_RQ_LONG_OK	 (1u << 8) /* get/gets: memcached reads the line however long */
#define MC_RQ_KIND_SHIFT 9	   /* 3 bits: enum mc_kind, set when the command's name ends */
#define MC_RQ_NUM_SHIFT	 12	   /* 3 bits: enum mc_num, the number token being read */
#define MC_RQ_NEG	 (1u << 15) /* the number has a '-' sign */
#define MC_RQ_SIG_SHIFT	 16	   /* 5 bits: the number's digits after its leading zeros */

/* What memcached's parser does with the command, as far as framing and "noreply" go. */
enum mc_kind {
	MC_K_OTHER = 0,
	MC_K_STORE,	/* set add replace append prepend: KEY FLAGS EXPTIME BYTES [noreply] */
	MC_K_CAS,	/* cas KEY FLAGS EXPTIME BYTES CAS [noreply] */
	MC_K_DELETE,	/* delete KEY [0] [noreply] */
	MC_K_KEYWRITE,	/* incr decr KEY DELTA [noreply], touch KEY EXPTIME [noreply] */
	MC_K_FLUSH,	/* flush_all [DELAY] [noreply] */
	MC_K_VERBOSITY, /* verbosity LEVEL [noreply] */
};

/* The state of a number token, after strtol/strtoul: [\t\v\f\r]* [+-]? digits ([\t\v\f\r].*)? */
enum mc_num {
	MC_NUM_LEAD = 0, /* white space strtol skips */
	MC_NUM_SIGN,
	MC_NUM_DIGITS,
	MC_NUM_DONE, /* digits ended by white space: strtol stops there, the rest is ignored */
	MC_NUM_BAD,
};

#define MC_NOREPLY     0x796c7065726f6eull /* "noreply", little-endian */
#define MC_NOREPLY_LEN 7
#define MC_HTTP	       0x2f50545448ull /* "HTTP/", little-endian */
#define MC_HTTP_LEN    5
#define MC_KEY_TOKEN   1
#define MC_BYTES_TOKEN 4 /* set KEY FLAGS EXPTIME BYTES */
#define MC_CAS_TOKEN   5
#define MC_LINE_MAX    2048 /* a longer line without '\n' may make memcached close (get/gets aside) */
#define MC_LEAD_MAX    100  /* ... as may more leading spaces than this before that get/gets */
#define MC_SIG_MAX     18   /* longer numbers could overflow strtol: not followed */
#define MC_VLEN_MAX    0x7ffffffdu /* INT_MAX - 2 */

static __always_inline __u32 mc_kind(const struct veer_cache_conn *s)
{
	return (s->rq_flags >> MC_RQ_KIND_SHIFT) & 7;
}

/* Whether token i of the command is a number memcached parses, and so may refuse. */
static __always_inline bool mc_num_token(__u32 kind, __u32 i)
{
	if (kind == MC_K_STORE)
		return i >= 2 && i <= MC_BYTES_TOKEN;
	return kind == MC_K_CAS && i >= 2 && i <= MC_CAS_TOKEN;
}

/* isspace() in the C locale, less ' ' and '\n', which never are inside a token. */
static __always_inline bool mc_is_space(__u8 b)
{
	return b == '\t' || b == '\v' || b == '\f' || b == '\r';
}

/*
 * The replies of this command cannot be counted (stats, watch, ...): as when the verdict
 * program loses the count, serve nothing more and let every later reply stand for the writes
 * still owed one.
 */
static __always_inline void mc_rq_uncountable(struct veer_cache_conn *s)
{
	if (s->pend_n || s->overflow_idx || s->multi_writes)
		s->ack_all = 1;
	s->pend_n = 0;
	s->overflow_idx = 0;
	s->rp_lost = 1;
}

/* One digit of a number token; the value is kept (mod 2^32) for the length token only. */
static __always_inline void mc_num_digit(struct veer_cache_rq_cur *c, struct veer_cache_conn *s,
					 __u32 *f, __u8 b)
{
	__u32 sig = (*f >> MC_RQ_SIG_SHIFT) & 31;

	if (sig || b != '0') {
		if (sig >= MC_SIG_MAX) {
			c->off = VEER_CACHE_OFF_PROTOCOL;
			return;
		}
		*f += 1u << MC_RQ_SIG_SHIFT;
	}
	if (s->rq_argi == MC_BYTES_TOKEN)
		s->rq_num = s->rq_num * 10 + (b - '0');
}

static __always_inline void mc_num_byte(struct veer_cache_rq_cur *c, struct veer_cache_conn *s,
					__u32 *f, __u8 b)
{
	__u32 st = (*f >> MC_RQ_NUM_SHIFT) & 7, next = st;

	switch (st) {
	case MC_NUM_LEAD:
		if (mc_is_space(b))
			break;
		if (b == '+' || b == '-') {
			next = MC_NUM_SIGN;
			if (b == '-')
				*f |= MC_RQ_NEG;
			break;
		}
		/* fall through */
	case MC_NUM_SIGN:
		next = MC_NUM_BAD;
		if (is_digit(b)) {
			next = MC_NUM_DIGITS;
			mc_num_digit(c, s, f, b);
		}
		break;
	case MC_NUM_DIGITS:
		if (is_digit(b))
			mc_num_digit(c, s, f, b);
		else
			next = mc_is_space(b) ? MC_NUM_DONE : MC_NUM_BAD;
		break;
	}
	*f = (*f & ~(7u << MC_RQ_NUM_SHIFT)) | next << MC_RQ_NUM_SHIFT;
}

/*
 * Whether memcached accepts number token i: safe_strtoul (flags, cas unique) refuses a
 * negative number other than -0, safe_strtol (exptime, length) takes any; the length is
 * stored in an int32_t (truncated) and must be 0 to INT_MAX - 2.
 */
static __always_inline bool mc_num_ok(struct veer_cache_conn *s, __u32 f, __u32 i)
{
	__u32 st = (f >> MC_RQ_NUM_SHIFT) & 7, v;

	if (st != MC_NUM_DIGITS && st != MC_NUM_DONE)
		return false;
	if ((i == 2 || i == MC_CAS_TOKEN) && (f & MC_RQ_NEG) && ((f >> MC_RQ_SIG_SHIFT) & 31))
		return false;
	if (i != MC_BYTES_TOKEN)
		return true;
	v = f & MC_RQ_NEG ? -s->rq_num : s->rq_num;
	s->rq_num = v;
	return v <= MC_VLEN_MAX;
}

static __always_inline bool mc_name_is(const struct veer_cache_conn *s, __u32 len, const char *w,
				       __u32 wlen)
{
	if (len != wlen)
		return false;
	for (__u32 k = 0; k < wlen; k++)
		if (s->rq_name[k] != (__u8)w[k])
			return false;
	return true;
}

/* The command's name has ended: what memcached's parser will do with it. */
static __always_inline void mc_rq_named(struct veer_cache_rq_cur *c, struct veer_cache_conn *s,
					__u32 len, __u8 sep)
{
	__u32 kind = MC_K_OTHER;

	switch (s->rq_class) {
	case VEER_CMD_STORE:
		kind = mc_name_is(s, len, "cas", 3) ? MC_K_CAS : MC_K_STORE;
		break;
	case VEER_CMD_KEYWRITE:
		kind = mc_name_is(s, len, "delete", 6) ? MC_K_DELETE : MC_K_KEYWRITE;
		break;
	case VEER_CMD_FLUSH:
		kind = MC_K_FLUSH;
		break;
	case VEER_CMD_CONTROL:
		kind = MC_K_VERBOSITY;
		break;
	case VEER_CMD_OFF:
		/*
		 * Meta commands (mg ms md ma me) have flags that silence replies, base64 keys and
		 * ms a data block: their effects cannot be followed at all.
		 */
		if (len == 2 && s->rq_name[0] == 'm')
			c->off = VEER_CACHE_OFF_COMMAND;
		else
			mc_rq_uncountable(s);
		break;
	}
	s->rq_flags |= kind << MC_RQ_KIND_SHIFT;
	/* Only "get " and "gets " lines may be longer than MC_LINE_MAX (a space, not a NUL). */
	if (sep != ' ' ||
	    !(s->rq_class == VEER_CMD_GET || mc_name_is(s, len, "gets", 4)))
		s->rq_flags &= ~MC_RQ_LONG_OK;
}

/* A token ends at sep: ' ', '\n' (the line's end) or a NUL byte. */
static __always_inline void mc_rq_token_end(struct veer_cache_rq_cur *c, struct veer_cache_conn *s,
					    __u8 sep)
{
	__u32 f = s->rq_flags, i = s->rq_argi, len = s->rq_arglen, kind = mc_kind(s);

	if (!(f & MC_RQ_IN_TOKEN))
		return;
	f &= ~(MC_RQ_IN_TOKEN | MC_RQ_NOREPLY);
	if (i && (f & MC_RQ_MATCH) && len == MC_NOREPLY_LEN)
		f |= MC_RQ_NOREPLY;
	if (mc_num_token(kind, i) && !mc_num_ok(s, f, i))
		f |= MC_RQ_BAD;
	if (i == MC_KEY_TOKEN && (kind == MC_K_STORE || kind == MC_K_CAS) &&
	    len > VEER_CACHE_KEY_MAX)
		f |= MC_RQ_BAD;
	s->rq_flags = f;
	rq_arg_end(c, s, len);
	if (i == 0)
		mc_rq_named(c, s, len, sep);
}

/*
 * Whether memcached will answer the command whose line just ended, and whether a data block
 * follows. Outside a command's token counts, memcached answers ERROR before it looks for
 * "noreply"; inside, a last token "noreply" silences every answer, errors included.
 */
static __always_inline void mc_rq_line_end(struct veer_cache_rq_cur *c, struct veer_cache_conn *s)
{
	__u32 n, kind, lo = 0, hi = 0, f;
	bool answered = true;

	mc_rq_token_end(c, s, '\n');
	if (c->off)
		return;
	f = s->rq_flags;
	n = s->rq_argi;
	kind = mc_kind(s);
	/* memcached closes the connection on an unknown command ending in "HTTP/..." */
	if ((f & MC_RQ_HTTP) && s->rq_class == VEER_CMD_WRITE) {
		c->off = VEER_CACHE_OFF_PROTOCOL;
		return;
	}
	switch (kind) {
	case MC_K_STORE:
		lo = 5;
		break;
	case MC_K_CAS:
		lo = 6;
		break;
	case MC_K_DELETE:
		lo = 3; /* "delete noreply" deletes the key "noreply" */
		break;
	case MC_K_KEYWRITE:
		lo = 3;
		break;
	case MC_K_FLUSH:
		lo = 2;
		break;
	case MC_K_VERBOSITY:
		lo = 2;
		break;
	}
	hi = kind == MC_K_FLUSH ? 3 : lo + 1;
	if (lo && n >= lo && n <= hi) {
		answered = !(f & MC_RQ_NOREPLY);
		if ((kind == MC_K_STORE || kind == MC_K_CAS) && !(f & MC_RQ_BAD)) {
			s->rq_flags = answered ? 0 : MC_RQ_NOREPLY;
			s->rq_skip = s->rq_num + 2;
			s->rq_state = MC_RQ_DATA;
			return;
		}
	}
	rq_command_end(c, s, answered);
}

/* A byte that belongs to a token (anything but ' ', '\n' and NUL, '\r' included). */
static __always_inline void mc_rq_token_byte(struct veer_cache_rq_cur *c,
					     struct veer_cache_conn *s, __u8 b)
{
	__u32 f = s->rq_flags, n;

	if (!(f & MC_RQ_IN_TOKEN)) {
		f |= MC_RQ_IN_TOKEN | MC_RQ_MATCH | MC_RQ_MATCH_HTTP;
		if (s->rq_argi == 0 && s->rq_skip <= MC_LEAD_MAX + 1)
			f |= MC_RQ_LONG_OK;
		if (mc_num_token(mc_kind(s), s->rq_argi)) {
			f &= ~((7u << MC_RQ_NUM_SHIFT) | MC_RQ_NEG | (31u << MC_RQ_SIG_SHIFT));
			if (s->rq_argi == MC_BYTES_TOKEN)
				s->rq_num = 0;
		}
		c->pos--; /* the key starts at this byte */
		rq_arg_begin(c, s);
		c->pos++;
	}
	n = s->rq_arglen;
	if (n >= MC_NOREPLY_LEN || b != (__u8)(MC_NOREPLY >> (8 * (n & 7))))
		f &= ~MC_RQ_MATCH;
	if (f & MC_RQ_MATCH_HTTP) {
		if (n >= MC_HTTP_LEN || b != (__u8)(MC_HTTP >> (8 * (n & 7))))
			f &= ~MC_RQ_MATCH_HTTP;
		else if (n == MC_HTTP_LEN - 1)
			f |= MC_RQ_HTTP;
	}
	if (mc_num_token(mc_kind(s), s->rq_argi))
		mc_num_byte(c, s, &f, b);
	s->rq_flags = f;
	rq_arg_byte(s, b);
}

static __always_inline void mc_rq_byte(struct sk_msg_md *msg, struct veer_cache_rq_cur *c,
				       struct veer_cache_conn *s, __u8 b)
{
	__u32 len;
	int next;

	if (s->rq_state == MC_RQ_START) {
		rq_command_begin(s);
		s->rq_state = MC_RQ_LINE;
		s->rq_skip = 0;
		/* A first byte 0x80 switches memcached to its binary protocol. */
		if (b == 0x80) {
			c->off = VEER_CACHE_OFF_PROTOCOL;
			return;
		}
	}
	if (s->rq_flags & MC_RQ_CR) {
		/* A '\r' that ended the last window: dropped only before '\n', if not alone. */
		s->rq_flags &= ~MC_RQ_CR;
		if (b != '\n' || s->rq_skip <= 1) {
			c->pos--; /* b is read again next */
			mc_rq_token_byte(c, s, '\r');
			return;
		}
	}
	if (b == '\n') {
		mc_rq_line_end(c, s);
		return;
	}
	len = s->rq_skip;
	if (len <= MC_LINE_MAX)
		s->rq_skip = ++len;
	if (len > MC_LINE_MAX && !((s->rq_flags & MC_RQ_LONG_OK) && s->rq_argi)) {
		c->off = VEER_CACHE_OFF_PROTOCOL;
		return;
	}
	if (s->rq_flags & MC_RQ_NUL)
		return;
	switch (b) {
	case ' ':
		mc_rq_token_end(c, s, ' ');
		return;
	case 0:
		mc_rq_token_end(c, s, 0);
		s->rq_flags |= MC_RQ_NUL;
		return;
	case '\r':
		next = rq_peek_byte(msg, c);
		if (next < 0) {
			s->rq_flags |= MC_RQ_CR;
			return;
		}
		if (next == '\n' && len > 1)
			return;
		break;
	}
	mc_rq_token_byte(c, s, b);
}

static __always_inline long mc_rq_step(struct sk_msg_md *msg, struct veer_cache_conn *s,
				       struct veer_cache_rq_cur *c)
{
	int b;

	if (s->rq_state == MC_RQ_DATA) {
		if (rq_skip(c, &s->rq_skip))
			rq_command_end(c, s, !(s->rq_flags & MC_RQ_NOREPLY));
		return 0;
	}
	b = rq_next_byte(msg, c);
	if (b < 0)
		return 1;
	mc_rq_byte(msg, c, s, b);
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
