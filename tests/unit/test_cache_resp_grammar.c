// SPDX-License-Identifier: GPL-2.0
/*
 * The hot-key cache follows Redis's own request grammar (networking.c of Redis 7.0:
 * processInlineBuffer, processMultibulkBuffer, string2ll) or goes blind: every byte sequence is
 * either tokenized the way the server tokenizes it, or the connection is never served again.
 * Commands whose number of replies is not one per request make the count of replies
 * untrusted. Each test checks the exact bytes both sides receive and every counter.
 * Harness: cache_harness.h.
 */
#include <stdlib.h>
#include "cache_harness.h"

#define R VEER_CACHE_REDIS

#define GET_K0	"*2\r\n$3\r\nGET\r\n$2\r\nk0\r\n"
#define HELLO	"$5\r\nhello\r\n"
#define NIL	"$-1\r\n"
#define OK	"+OK\r\n"
#define WAIT	"*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$4\r\n1000\r\n"
#define PERR_MB "-ERR Protocol error: invalid multibulk length\r\n"
#define PERR_BL "-ERR Protocol error: invalid bulk length\r\n"

/* The connection's state: blind (requests unreadable) or with its count of replies lost. */
static void expect_state(const struct cache_conn *cc, bool blind, bool rp_lost, __u8 off,
			 const char *what)
{
	CACHE_CONN_EQ(cc, what, CONN_FIELD(blind, blind), CONN_FIELD(rp_lost, rp_lost),
		      CONN_FIELD(off, off));
}

/*
 * A request Redis refuses with a protocol error (and then closes the connection), never
 * answers, or splits by rules the cache does not follow: the cache passes it, goes blind, and
 * a cached GET after it is passed too, never served. rep is the server's answer, if any.
 */
static void blind_after(const char *req, size_t len, const char *rep, size_t rep_len,
			const char *what)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!client_send(&cc, req, len) || !server_expect(&cc, req, len))
		goto out;
	if (rep_len && (!server_send(&cc, rep, rep_len) || !client_expect(&cc, rep, rep_len)))
		goto out;
	expect_state(&cc, true, false, VEER_CACHE_OFF_PROTOCOL, what);
	/* Blind: its writes name unknown keys, so every entry went stale; fill k0 again. */
	if (!cache_put(R, "k0", "hello", 0) || !client_send(&cc, LIT(GET_K0)) ||
	    !server_expect(&cc, LIT(GET_K0)) || !client_expect_nothing(&cc))
		goto out;
	/* Bumps: going blind, the reply's arrival (if any), the GET's message. */
	CACHE_STATS_EQ(what, {VEER_CACHE_OFF_PROTOCOL, 1}, {VEER_CACHE_BLIND, 1},
		       {VEER_CACHE_FLUSH, rep_len ? 3 : 2});
out:
	cache_conn_close(&cc);
}

/* ---- numbers as string2ll() reads them ---- */

/* The fuzz finding: Redis refuses "$03"; the cache served k0. */
VEER_TEST(cache_resp_leading_zero_bulk)
{
	blind_after(LIT("*2\r\n$03\r\nGET\r\n$2\r\nk0\r\n"), LIT(PERR_BL), "$03");
}

VEER_TEST(cache_resp_leading_zero_count)
{
	blind_after(LIT("*02\r\n$3\r\nGET\r\n$2\r\nk0\r\n"), LIT(PERR_MB), "*02");
}

VEER_TEST(cache_resp_zero_zero_count)
{
	blind_after(LIT("*00\r\n"), LIT(PERR_MB), "*00");
}

/* No digits at all: string2ll() refuses an empty number. */
VEER_TEST(cache_resp_empty_count)
{
	blind_after(LIT("*\r\n"), LIT(PERR_MB), "*");
}

VEER_TEST(cache_resp_empty_bulk_len)
{
	blind_after(LIT("*2\r\n$\r\nGET\r\n$2\r\nk0\r\n"), LIT(PERR_BL), "$");
}

/* A sign: "*-1" is ignored by Redis; the cache goes blind rather than follow it. */
VEER_TEST(cache_resp_negative_count)
{
	blind_after(LIT("*-1\r\n"), "", 0, "*-1");
}

/* proto-max-bulk-len, 512 MiB by default: one byte more is refused. */
VEER_TEST(cache_resp_bulk_len_limit)
{
	static const char at[] = "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$536870912\r\n";
	struct cache_conn cc;

	blind_after(LIT("*3\r\n$3\r\nSET\r\n$536870913\r\n"), LIT(PERR_BL), "$536870913");
	/* The limit itself is a length Redis reads: the cache waits for the argument. */
	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	if (client_send(&cc, LIT(at)) && server_expect(&cc, LIT(at)))
		expect_state(&cc, false, false, 0, "$536870912");
	CACHE_STATS_EQ("$536870912", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_INVALIDATE, 1});
	cache_conn_close(&cc);
}

/* "*0" is a number Redis reads (and ignores): a GET behind it in the message is served. */
VEER_TEST(cache_resp_zero_count)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (exchange_hit(&cc, LIT("*0\r\n" GET_K0), LIT(HELLO)))
		CACHE_STATS_EQ("*0, then GET", {VEER_CACHE_HIT, 1});
	cache_owed_eq(&cc, 0, 0, "nothing owed");
	cache_conn_close(&cc);
}

/* ---- inline lines as processInlineBuffer() and sdssplitargs() read them ---- */

/*
 * The fuzz finding: a line that starts with \r is an inline command to Redis ("*0", unknown,
 * answered with an error), not a blank to skip. The cache must count its reply, or the
 * cached k0 overtakes WAIT's.
 */
VEER_TEST(cache_resp_cr_led_line)
{
#define UNKNOWN "-ERR unknown command '*0', with args beginning with: \r\n"
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!client_send(&cc, LIT("\r*0\r\n")) || !server_expect(&cc, LIT("\r*0\r\n")) ||
	    !client_send(&cc, LIT(WAIT)) || !server_expect(&cc, LIT(WAIT)) ||
	    !client_send(&cc, LIT(GET_K0)) || !server_expect(&cc, LIT(GET_K0)) ||
	    !client_expect_nothing(&cc))
		goto out;
	cache_owed_eq(&cc, 3, 0, "three requests owed");
	if (!server_send(&cc, LIT(UNKNOWN ":0\r\n" HELLO)) ||
	    !client_expect(&cc, LIT(UNKNOWN ":0\r\n" HELLO)) || !cache_wait_replies(&cc, 3))
		goto out;
	if (exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		CACHE_STATS_EQ("\\r-led line, WAIT, GET", {VEER_CACHE_PASS_OTHER, 2},
			       {VEER_CACHE_PASS_OWED, 1}, {VEER_CACHE_REPLIES, 3},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
#undef UNKNOWN
}

/*
 * The fuzz finding: "\r*1\r\n$6\r\nDEL k0\r\n" is three inline lines to Redis, the last one
 * deleting k0. The cache must read the same three commands and invalidate k0.
 */
VEER_TEST(cache_resp_cr_led_lines_delete)
{
	static const char req[] = "\r*1\r\n$6\r\nDEL k0\r\n";
	static const char rep[] = "-ERR unknown command '*1', with args beginning with: \r\n"
				  "-ERR unknown command '$6', with args beginning with: \r\n"
				  ":1\r\n";
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!client_send(&cc, LIT(req)) || !server_expect(&cc, LIT(req)))
		goto out;
	ASSERT_FALSE(cache_current(R, "k0"), "k0 current after an inline DEL k0");
	cache_owed_eq(&cc, 3, 0, "three inline commands");
	if (!server_send(&cc, LIT(rep)) || !client_expect(&cc, LIT(rep)) ||
	    !cache_wait_replies(&cc, 3))
		goto out;
	CACHE_STATS_EQ("three inline lines", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_INVALIDATE, 2},
		       {VEER_CACHE_REPLIES, 3});
out:
	cache_conn_close(&cc);
}

/* The fuzz finding: Redis skips a \v before a word (isspace), and returns k0. */
VEER_TEST(cache_resp_inline_vt_before_word)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (exchange_hit(&cc, LIT("GET \vk0\r\n"), LIT(HELLO)) &&
	    exchange_hit(&cc, LIT("GET\t\f\v k0 \v\r\n"), LIT(HELLO)))
		CACHE_STATS_EQ("\\v and \\f between words", {VEER_CACHE_HIT, 2});
	cache_conn_close(&cc);
}

/*
 * Inside a word only space, \t, \r and \n end it: "k0\v" is a key of three bytes to Redis, a
 * miss here, and "GET\vk0" is an unknown command.
 */
VEER_TEST(cache_resp_inline_vt_in_word)
{
	struct veer_cache_hot_key *hot = NULL;
	struct cache_conn cc;
	size_t n = 0;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT("GET k0\v\r\n"), LIT(NIL)) ||
	    !exchange_passed(&cc, LIT("GET\vk0\r\n"),
			     LIT("-ERR unknown command 'GET\vk0', with args beginning with: \r\n")))
		goto out;
	CACHE_STATS_EQ("\\v inside words", {VEER_CACHE_MISS, 1}, {VEER_CACHE_PASS_OTHER, 1},
		       {VEER_CACHE_REPLIES, 2});
	if (ASSERT_OK(veer_cache_hot(&cache_env.vc, 10, false, &hot, &n), "veer_cache_hot") &&
	    ASSERT_EQ(n, 1, "hot keys"))
		ASSERT_MEMEQ(hot[0].key.bytes, hot[0].key.len, "k0\v", 3, "the missed key");
	free(hot);
	/* Still served: both were read as Redis reads them. */
	exchange_hit(&cc, LIT(GET_K0), LIT(HELLO));
out:
	cache_conn_close(&cc);
}

/* A line with a \r inside: a separator, as is the one before the \n. */
VEER_TEST(cache_resp_inline_cr_inside)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (exchange_hit(&cc, LIT("GET\rk0\r\r\n"), LIT(HELLO)) &&
	    exchange_hit(&cc, LIT("GET k0\n"), LIT(HELLO)))
		CACHE_STATS_EQ("\\r inside, bare \\n", {VEER_CACHE_HIT, 2});
	cache_conn_close(&cc);
}

/* Blank lines (whitespace only, \v included) get no reply from Redis: nothing is owed. */
VEER_TEST(cache_resp_inline_blank_lines)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!client_send(&cc, LIT("\r\n \v\f\t\r\n\n")) ||
	    !server_expect(&cc, LIT("\r\n \v\f\t\r\n\n")) || !client_expect_nothing(&cc))
		goto out;
	cache_owed_eq(&cc, 0, 0, "blank lines");
	if (exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		CACHE_STATS_EQ("blank lines, then a hit", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* Redis finds the end of an inline line with strchr(): past a NUL it never answers. */
VEER_TEST(cache_resp_inline_nul)
{
	blind_after(LIT("GET k0\0\r\n"), "", 0, "NUL in an inline line");
}

/* Quotes are split by rules the cache does not follow. */
VEER_TEST(cache_resp_inline_quotes)
{
	blind_after(LIT("GET \"k0\"\r\n"), LIT(HELLO), "quoted inline word");
}

/*
 * PROTO_INLINE_MAX_SIZE: a line over 64 KiB may be refused by Redis, depending on how it
 * arrives. 65536 bytes before the \n are read; one more and the cache goes blind.
 */
static void inline_line(size_t len, bool blind)
{
	static char line[70000];
	struct cache_conn cc;

	memcpy(line, "ECHO ", 5);
	memset(line + 5, 'a', len - 6);
	line[len - 1] = '\r';
	line[len] = '\n';
	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	if (client_send(&cc, line, len + 1) && server_wait_bytes(&cc, len + 1))
		expect_state(&cc, blind, false, blind ? VEER_CACHE_OFF_PROTOCOL : 0, "long line");
	cache_conn_close(&cc);
}

VEER_TEST(cache_resp_inline_max)
{
	inline_line(64 * 1024, false);
	inline_line(64 * 1024 + 1, true);
}

/* ---- the protocol error as a safety net ---- */

/*
 * Limits the cache cannot know: with requirepass, an unauthenticated client may send at most
 * 10 arguments. Redis refuses "*11" with a protocol error and closes; seen as a reply, the
 * error switches serving off for good.
 */
VEER_TEST(cache_resp_protocol_error_reply)
{
	static const char mget[] =
		"*11\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"
		"$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n$1\r\nh\r\n$1\r\ni\r\n$1\r\nj\r\n";
	static const char err[] = "-ERR Protocol error: unauthenticated multibulk length\r\n";
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(mget), LIT(err)))
		goto out;
	expect_state(&cc, false, true, VEER_CACHE_OFF_PROTOCOL, "protocol error");
	if (!client_send(&cc, LIT(GET_K0)) || !server_expect(&cc, LIT(GET_K0)) ||
	    !client_expect_nothing(&cc))
		goto out;
	CACHE_STATS_EQ("protocol error, GET", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_REPLIES, 1},
		       {VEER_CACHE_OFF_PROTOCOL, 1}, {VEER_CACHE_PASS_OFF, 1});
	ASSERT_TRUE(cache_current(R, "k0"), "k0 current: nothing was written");
out:
	cache_conn_close(&cc);
}

/* The same words inside an array, or another error, are replies like any other. */
VEER_TEST(cache_resp_protocol_error_nested)
{
	static const char rep[] = "*1\r\n-ERR Protocol error\r\n-ERR Protocol erro\r\n";
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT("EXEC\r\nPING\r\n"), LIT(rep)))
		goto out;
	cache_owed_eq(&cc, 2, 2, "two replies");
	if (exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		CACHE_STATS_EQ("nested and partial", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_REPLIES, 2}, {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* ---- commands whose replies are not one per request ---- */

/*
 * The fuzz finding: UNSUBSCRIBE of two channels draws two replies. With the count trusted,
 * the cached k0 would have overtaken WAIT's reply. The count is untrusted from UNSUBSCRIBE
 * on: WAIT and GET go to the server, and the client reads every reply in the server's order.
 */
VEER_TEST(cache_resp_unsubscribe_wait_get)
{
	static const char unsub[] = "*3\r\n$11\r\nUNSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n";
	static const char rep[] = "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n"
				  "*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n"
				  ":0\r\n" HELLO;
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!client_send(&cc, LIT(unsub)) || !server_expect(&cc, LIT(unsub)) ||
	    !client_send(&cc, LIT(WAIT)) || !server_expect(&cc, LIT(WAIT)) ||
	    !client_send(&cc, LIT(GET_K0)) || !server_expect(&cc, LIT(GET_K0)) ||
	    !client_expect_nothing(&cc))
		goto out;
	if (!server_send(&cc, LIT(rep)) || !client_expect(&cc, LIT(rep)))
		goto out;
	expect_state(&cc, false, true, VEER_CACHE_OFF_COMMAND, "after UNSUBSCRIBE");
	if (!client_send(&cc, LIT(GET_K0)) || !server_expect(&cc, LIT(GET_K0)) ||
	    !client_expect_nothing(&cc))
		goto out;
	CACHE_STATS_EQ("UNSUBSCRIBE a b, WAIT, GET, GET", {VEER_CACHE_OFF_COMMAND, 1},
		       {VEER_CACHE_PASS_OFF, 4});
	ASSERT_TRUE(cache_current(R, "k0"), "k0 current: nothing was written");
out:
	cache_conn_close(&cc);
}

/* Every command whose replies are not one per request, inline and multibulk. */
VEER_TEST(cache_resp_reply_count_lost)
{
	static const char *const cmds[] = {
		"SUBSCRIBE c\r\n", "PSUBSCRIBE c*\r\n",	 "SSUBSCRIBE c\r\n",
		"UNSUBSCRIBE\r\n", "punsubscribe\r\n",	 "SUNSUBSCRIBE c\r\n",
		"MONITOR\r\n",	   "RESET\r\n",		 "SYNC\r\n",
		"PSYNC ? -1\r\n",  "REPLCONF ACK 0\r\n", "*1\r\n$7\r\nMONITOR\r\n",
	};
	struct cache_conn cc;
	char what[64];

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		size_t len = strlen(cmds[i]);

		snprintf(what, sizeof(what), "%.*s", (int)len - 2, cmds[i]);
		if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
			return;
		if (client_send(&cc, cmds[i], len) && server_expect(&cc, cmds[i], len) &&
		    client_send(&cc, LIT(GET_K0)) && server_expect(&cc, LIT(GET_K0)) &&
		    client_expect_nothing(&cc)) {
			expect_state(&cc, false, true, VEER_CACHE_OFF_COMMAND, what);
			CACHE_STATS_EQ(what, {VEER_CACHE_OFF_COMMAND, 1}, {VEER_CACHE_PASS_OFF, 2});
		}
		cache_conn_close(&cc);
	}
}

/*
 * A write still owed its reply when the count is lost: its acknowledgement can no longer be
 * found. Every entry is made stale at once, and again at every later arrival of reply bytes,
 * so that a fill while the write was in flight does not stay current.
 */
VEER_TEST(cache_resp_reply_count_lost_write_owed)
{
	static const char req[] = "*3\r\n$3\r\nSET\r\n$2\r\nk0\r\n$1\r\nv\r\nSUBSCRIBE c\r\n";
	static const char rep[] = OK "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n";
	struct veer_cache_stamp gen;
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "j", "other", 0) || !cache_conn_open(&cc, R))
		return;
	if (!client_send(&cc, LIT(req)) || !server_expect(&cc, LIT(req)))
		goto out;
	ASSERT_FALSE(cache_current(R, "j"), "j current once the count was lost");
	/* A fill that read k0 before the server applied the SET. */
	if (!ASSERT_OK(veer_cache_stamp(&cache_env.vc, "k0", 2, &gen), "veer_cache_stamp") ||
	    !ASSERT_OK(veer_cache_put(&cache_env.vc, R, "k0", 2, "old", 3, 0, 60, &gen),
		       "put while the SET is in flight"))
		goto out;
	if (!server_send(&cc, LIT(rep)) || !client_expect(&cc, LIT(rep)))
		goto out;
	ASSERT_FALSE(cache_current(R, "k0"), "k0 filled while the SET was in flight is current");
	CACHE_STATS_EQ("SET, SUBSCRIBE", {VEER_CACHE_PASS_OFF, 1}, {VEER_CACHE_INVALIDATE, 1},
		       {VEER_CACHE_OFF_COMMAND, 1}, {VEER_CACHE_FLUSH, 2});
out:
	cache_conn_close(&cc);
}

/* QUIT: the server answers +OK and closes. Serving is off, the count is kept. */
VEER_TEST(cache_resp_quit)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT("QUIT\r\n"), LIT(OK)))
		goto out;
	expect_state(&cc, false, false, VEER_CACHE_OFF_COMMAND, "QUIT");
	CACHE_STATS_EQ("QUIT", {VEER_CACHE_OFF_COMMAND, 1}, {VEER_CACHE_PASS_OFF, 1},
		       {VEER_CACHE_REPLIES, 1});
out:
	cache_conn_close(&cc);
}

/*
 * Blocking commands draw exactly one reply each, whenever it comes (a null array on timeout):
 * the GET behind one waits for it. BLPOP writes its key (and, read as a command veer does not
 * classify, its timeout): its reply bumps the epoch.
 */
VEER_TEST(cache_resp_blocking)
{
	static const char *const cmds[] = {
		"BLPOP q 1\r\n",
		"BRPOP q 1\r\n",
		"BLMOVE q r LEFT RIGHT 1\r\n",
		"BZPOPMIN z 1\r\n",
		"BZPOPMAX z 1\r\n",
		"BLMPOP 1 1 q LEFT\r\n",
		"XREAD BLOCK 1 STREAMS s $\r\n",
		"XREADGROUP GROUP g c BLOCK 1 STREAMS s >\r\n",
		"WAIT 1 1\r\n",
		"WAITAOF 1 0 1\r\n",
	};
	struct cache_conn cc;
	int served = 0;

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		size_t len = strlen(cmds[i]);

		if (!cache_put(R, "k0", "hello", 0) || !client_send(&cc, cmds[i], len) ||
		    !server_expect(&cc, cmds[i], len) || !client_send(&cc, LIT(GET_K0)) ||
		    !server_expect(&cc, LIT(GET_K0)) || !server_send(&cc, LIT("*-1\r\n" HELLO)) ||
		    !client_expect(&cc, LIT("*-1\r\n" HELLO)) ||
		    !cache_wait_replies(&cc, 2 * (i + 1)) || !cache_put(R, "k0", "hello", 0) ||
		    !ASSERT_TRUE(exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)), cmds[i]))
			break;
		served++;
	}
	ASSERT_EQ(served, 10, "blocking commands followed");
	cache_owed_eq(&cc, 20, 20, "one reply each");
	cache_conn_close(&cc);
}
