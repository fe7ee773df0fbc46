// SPDX-License-Identifier: GPL-2.0
/*
 * memcached's request grammar as memcached 1.6.18 reads it (proto_text.c), byte for byte: what
 * ends a line and a token, when a storage command's data block follows, where "noreply" counts,
 * and the requests after which the cache cannot know what memcached does (the connection goes
 * blind). The server replies below are the ones memcached 1.6.18 sends for these bytes. Each
 * test checks the exact bytes both sides receive, the connection's counts and every counter.
 */
#include <string.h>
#include "cache_harness.h"

#define M VEER_CACHE_MEMCACHED

#define GET_K	"get k\r\n"
#define VALUE_K "VALUE k 7 5\r\nhello\r\nEND\r\n"
#define END	"END\r\n"
#define BADLINE "CLIENT_ERROR bad command line format\r\n"

/* k cached and one connection, the start of most tests here. */
static bool mc_begin(struct cache_conn *cc)
{
	return cache_begin() && cache_put(M, "k", "hello", 7) && cache_conn_open(cc, M);
}

/* Requests whose replies are all in, and nothing owed: the next get k is served. */
static bool mc_then_hit(struct cache_conn *cc, __u64 sent, __u64 replies, const char *what)
{
	return cache_owed_eq(cc, sent, replies, what) && exchange_hit(cc, LIT(GET_K), LIT(VALUE_K));
}

/* req reaches the server as it is; the connection must then be blind, switched off by stat. */
static bool mc_blind(struct cache_conn *cc, const void *req, size_t len, __u8 stat)
{
	struct veer_cache_conn st;

	if (!client_send(cc, req, len) || !server_expect(cc, req, len) ||
	    !client_expect_nothing(cc) || !ASSERT_TRUE(cache_conn_state(cc, &st), "entry"))
		return false;
	ASSERT_TRUE(st.blind, "connection blind");
	ASSERT_EQ(st.off, stat, "what switched the connection off");
	return ASSERT_FALSE(cache_current(M, "k"), "k current after a request memcached may "
						   "read otherwise");
}

/* ---- lines and tokens ---- */

/*
 * memcached drops only the '\r' right before '\n' and splits on ' ' alone: "get k\r\r\n" reads
 * the key "k\r", a miss, never k's value.
 */
VEER_TEST(cache_mc_cr_inside_line)
{
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (!exchange_passed(&cc, LIT("get k\r\r\n"), LIT(END)))
		goto out;
	ASSERT_TRUE(cache_current(M, "k"), "k current");
	if (mc_then_hit(&cc, 1, 1, "get k\\r"))
		CACHE_STATS_EQ("get k\\r, get k", {VEER_CACHE_MISS, 1}, {VEER_CACHE_REPLIES, 1},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* A '\r' that ends a message means nothing until the next byte: before '\n' it is dropped. */
VEER_TEST(cache_mc_cr_across_messages)
{
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (!cache_put(M, "j", "other", 0))
		goto out;
	/* "delete j\r" "\r\n": the key is "j\r", j stays current. */
	if (!client_send(&cc, LIT("delete j\r")) || !server_expect(&cc, LIT("delete j\r")) ||
	    !exchange_passed(&cc, LIT("\r\n"), LIT("NOT_FOUND\r\n")))
		goto out;
	ASSERT_TRUE(cache_current(M, "j"), "j current after delete j\\r");
	/* "delete k\r" "\n": the key is k. */
	if (!client_send(&cc, LIT("delete k\r")) || !server_expect(&cc, LIT("delete k\r")) ||
	    !exchange_passed(&cc, LIT("\n"), LIT("DELETED\r\n")))
		goto out;
	ASSERT_FALSE(cache_current(M, "k"), "k current after delete k");
	if (cache_owed_eq(&cc, 2, 2, "two deletes") &&
	    exchange_hit(&cc, LIT("get j\r\n"), LIT("VALUE j 0 5\r\nother\r\nEND\r\n")))
		CACHE_STATS_EQ("split deletes, get j", {VEER_CACHE_PASS_OTHER, 4},
			       {VEER_CACHE_INVALIDATE, 4}, {VEER_CACHE_REPLIES, 2},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* A tab is a byte of its token: "get\tk" is an unknown command, "get k\t" reads "k\t". */
VEER_TEST(cache_mc_tab_in_token)
{
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (exchange_passed(&cc, LIT("get\tk\r\nget k\t\r\n"), LIT("ERROR\r\nEND\r\n")) &&
	    mc_then_hit(&cc, 2, 2, "get\\tk, get k\\t"))
		CACHE_STATS_EQ("tabs, then get k", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_REPLIES, 2}, {VEER_CACHE_HIT, 1});
	cache_conn_close(&cc);
}

/* Empty lines, blank lines and a lone "\r" (not dropped: the line's only byte) draw ERROR. */
VEER_TEST(cache_mc_empty_lines)
{
	static const char req[] = "\r\n\n  \r\nx\r\n";
	static const char rep[] = "ERROR\r\nERROR\r\nERROR\r\nERROR\r\n";
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (exchange_passed(&cc, LIT(req), LIT(rep)) && mc_then_hit(&cc, 4, 4, "empty lines"))
		CACHE_STATS_EQ("empty lines, get k", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_REPLIES, 4}, {VEER_CACHE_HIT, 1});
	cache_conn_close(&cc);
}

/* memcached reads the line as a C string: a NUL ends it. "get k\0zz" is get k, served. */
VEER_TEST(cache_mc_nul_ends_line)
{
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (!exchange_hit(&cc, LIT("get k\0zz\r\n"), LIT(VALUE_K)))
		goto out;
	if (!exchange_passed(&cc, LIT("delete k\0zz\r\n"), LIT("DELETED\r\n")))
		goto out;
	ASSERT_FALSE(cache_current(M, "k"), "k current after delete k\\0zz");
	CACHE_STATS_EQ("get k\\0, delete k\\0", {VEER_CACHE_HIT, 1}, {VEER_CACHE_PASS_OTHER, 1},
		       {VEER_CACHE_INVALIDATE, 2}, {VEER_CACHE_REPLIES, 1});
out:
	cache_conn_close(&cc);
}

/* ---- storage commands: when the data block follows ---- */

/*
 * Arguments memcached refuses draw CLIENT_ERROR and no data block is read: the next line is a
 * command. Here it deletes k.
 */
VEER_TEST(cache_mc_bad_number_no_block)
{
	static const char req[] = "set x abc 0 9\r\ndelete k\r\n";
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (!exchange_passed(&cc, LIT(req), LIT(BADLINE "DELETED\r\n")))
		goto out;
	ASSERT_FALSE(cache_current(M, "k"), "k current after delete k");
	if (cache_owed_eq(&cc, 2, 2, "set x abc, delete k") &&
	    exchange_passed(&cc, LIT(GET_K), LIT(END)))
		CACHE_STATS_EQ("set x abc, delete k, get k", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_INVALIDATE, 4}, {VEER_CACHE_REPLIES, 3},
			       {VEER_CACHE_MISS, 1});
out:
	cache_conn_close(&cc);
}

/* A negative length: refused, no data block. */
VEER_TEST(cache_mc_negative_length_no_block)
{
	static const char req[] = "set x 0 0 -1\r\ndelete k\r\n";
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (!exchange_passed(&cc, LIT(req), LIT(BADLINE "DELETED\r\n")))
		goto out;
	ASSERT_FALSE(cache_current(M, "k"), "k current after delete k");
	if (cache_owed_eq(&cc, 2, 2, "set x -1, delete k"))
		CACHE_STATS_EQ("set x -1, delete k", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_INVALIDATE, 4}, {VEER_CACHE_REPLIES, 2});
out:
	cache_conn_close(&cc);
}

/*
 * Numbers as strtol reads them: leading white space, a sign, leading zeros, anything after
 * white space ignored; the length truncated to 32 bits (4294967298 is 2); flags -0 taken, -1
 * refused (then "ab" is a command of its own).
 */
VEER_TEST(cache_mc_number_forms)
{
	static const char req[] = "set x 0 0 \t+02\tzz\r\nab\r\nset y -0 0 2\r\nab\r\n"
				  "set z 0 0 4294967298\r\nab\r\n";
	static const char req2[] = "set x -1 0 2\r\nab\r\n";
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (!exchange_passed(&cc, LIT(req), LIT("STORED\r\nSTORED\r\nSTORED\r\n")) ||
	    !exchange_passed(&cc, LIT(req2), LIT(BADLINE "ERROR\r\n")))
		goto out;
	if (mc_then_hit(&cc, 5, 5, "numbers"))
		CACHE_STATS_EQ("numbers, get k", {VEER_CACHE_PASS_OTHER, 2},
			       {VEER_CACHE_INVALIDATE, 8}, {VEER_CACHE_REPLIES, 5},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* A data block that does not end in \r\n: CLIENT_ERROR, and what follows it is a line. */
VEER_TEST(cache_mc_bad_data_chunk)
{
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (exchange_passed(&cc, LIT("set x 0 0 2\r\nabcd\r\n"),
			    LIT("CLIENT_ERROR bad data chunk\r\nERROR\r\n")) &&
	    mc_then_hit(&cc, 2, 2, "bad data chunk"))
		CACHE_STATS_EQ("bad chunk, get k", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_INVALIDATE, 2}, {VEER_CACHE_REPLIES, 2},
			       {VEER_CACHE_HIT, 1});
	cache_conn_close(&cc);
}

/* A key over 250 bytes: refused, no data block, and no key written. */
VEER_TEST(cache_mc_store_key_too_long)
{
	char req[300];
	struct cache_conn cc;
	int n;

	memset(req, 'a', sizeof(req));
	memcpy(req, "set ", 4);
	n = 4 + 251;
	n += snprintf(req + n, sizeof(req) - n, " 0 0 1\r\nv\r\n");
	if (!mc_begin(&cc))
		return;
	if (exchange_passed(&cc, req, n, LIT(BADLINE "ERROR\r\n")) &&
	    mc_then_hit(&cc, 2, 2, "long key"))
		CACHE_STATS_EQ("long key, get k", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_REPLIES, 2}, {VEER_CACHE_HIT, 1});
	cache_conn_close(&cc);
}

/* ---- noreply ---- */

/*
 * Where memcached's set_noreply_maybe looks: the last token, once the token count is right for
 * the command. It silences errors too (set x 0 0 noreply, delete x y noreply); "delete noreply"
 * deletes the key "noreply"; "incr noreply" has too few tokens: ERROR.
 */
VEER_TEST(cache_mc_noreply_forms)
{
	static const char req[] = "set x 0 0 noreply\r\ndelete noreply\r\ndelete x 0 noreply\r\n"
				  "delete x y noreply\r\ntouch x noreply\r\nincr noreply\r\n"
				  "verbosity noreply\r\n";
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (exchange_passed(&cc, LIT(req), LIT("NOT_FOUND\r\nERROR\r\n")) &&
	    mc_then_hit(&cc, 2, 2, "noreply forms"))
		CACHE_STATS_EQ("noreply forms, get k", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_INVALIDATE, 8}, {VEER_CACHE_REPLIES, 2},
			       {VEER_CACHE_HIT, 1});
	cache_conn_close(&cc);
}

/*
 * A token too many is ERROR before "noreply" is looked at, and no data block: "v" is then a
 * command. cas with "noreply" in its unique's place is silenced and reads no block either.
 */
VEER_TEST(cache_mc_noreply_token_counts)
{
	static const char req[] = "set x 0 0 1 noreply extra\r\nv\r\ncas x 0 0 1 noreply\r\nv\r\n"
				  "cas x 0 0 1 5 noreply\r\nv\r\n";
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (exchange_passed(&cc, LIT(req), LIT("ERROR\r\nERROR\r\nERROR\r\n")) &&
	    mc_then_hit(&cc, 3, 3, "noreply and token counts"))
		CACHE_STATS_EQ("token counts, get k", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_INVALIDATE, 4}, {VEER_CACHE_REPLIES, 3},
			       {VEER_CACHE_HIT, 1});
	cache_conn_close(&cc);
}

/* ---- lines the cache cannot follow: blind ---- */

/* Over 2048 bytes without '\n', memcached may close the connection (unless get/gets). */
VEER_TEST(cache_mc_long_line_blind)
{
	static char req[2100];
	struct cache_conn cc;

	memset(req, 'k', sizeof(req));
	memcpy(req, "set ", 4);
	memcpy(req + sizeof(req) - 2, "\r\n", 2);
	if (!mc_begin(&cc))
		return;
	if (mc_blind(&cc, req, sizeof(req), VEER_CACHE_OFF_PROTOCOL))
		CACHE_STATS_EQ("long line", {VEER_CACHE_OFF_PROTOCOL, 1}, {VEER_CACHE_FLUSH, 1});
	cache_conn_close(&cc);
}

/* A long get is read whole by memcached, and followed; after 101 leading spaces it is not. */
VEER_TEST(cache_mc_long_get)
{
	static char req[2600], req2[2700];
	struct cache_conn cc;
	int n = 0;

	n += snprintf(req + n, sizeof(req) - n, "get");
	for (int i = 0; i < 500; i++)
		n += snprintf(req + n, sizeof(req) - n, " k%03d", i);
	n += snprintf(req + n, sizeof(req) - n, "\r\n");
	memset(req2, ' ', 101);
	memcpy(req2 + 101, req, n);
	if (!mc_begin(&cc))
		return;
	if (!exchange_passed(&cc, req, n, LIT(END)) || !mc_then_hit(&cc, 1, 1, "long get"))
		goto out;
	if (mc_blind(&cc, req2, n + 101, VEER_CACHE_OFF_PROTOCOL))
		CACHE_STATS_EQ("long get, hit, spaced long get", {VEER_CACHE_PASS_BATCH, 1},
			       {VEER_CACHE_REPLIES, 1}, {VEER_CACHE_HIT, 1},
			       {VEER_CACHE_OFF_PROTOCOL, 1}, {VEER_CACHE_FLUSH, 1});
out:
	cache_conn_close(&cc);
}

/* memcached closes the connection on an unknown command whose last token starts "HTTP/". */
VEER_TEST(cache_mc_http_blind)
{
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (mc_blind(&cc, LIT("GET / HTTP/1.1\r\n"), VEER_CACHE_OFF_PROTOCOL))
		/* An unknown command is a write of its arguments: "/" and "HTTP/1.1". */
		CACHE_STATS_EQ("HTTP", {VEER_CACHE_OFF_PROTOCOL, 1}, {VEER_CACHE_FLUSH, 1},
			       {VEER_CACHE_INVALIDATE, 2});
	cache_conn_close(&cc);
}

/* A first byte 0x80 is memcached's binary protocol. */
VEER_TEST(cache_mc_binary_blind)
{
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (mc_blind(&cc, LIT("\x80\x00\x00\x01\r\n"), VEER_CACHE_OFF_PROTOCOL))
		CACHE_STATS_EQ("binary", {VEER_CACHE_OFF_PROTOCOL, 1}, {VEER_CACHE_FLUSH, 1});
	cache_conn_close(&cc);
}

/* A length of 19 significant digits: past what the cache follows of strtol. */
VEER_TEST(cache_mc_huge_number_blind)
{
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (mc_blind(&cc, LIT("set x 0 0 1234567890123456789\r\n"), VEER_CACHE_OFF_PROTOCOL))
		CACHE_STATS_EQ("huge length", {VEER_CACHE_OFF_PROTOCOL, 1}, {VEER_CACHE_FLUSH, 1},
			       {VEER_CACHE_INVALIDATE, 1});
	cache_conn_close(&cc);
}

/* Meta commands: quiet flags, base64 keys, data blocks: blind. */
VEER_TEST(cache_mc_meta_blind)
{
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (mc_blind(&cc, LIT("mg k v\r\n"), VEER_CACHE_OFF_COMMAND))
		CACHE_STATS_EQ("mg", {VEER_CACHE_OFF_COMMAND, 1}, {VEER_CACHE_FLUSH, 1});
	cache_conn_close(&cc);
}

/* ---- replies that cannot be counted ---- */

/*
 * stats answers with many lines: its connection's reply count stops at once, and a write made
 * after it is acknowledged by any reply (an epoch bump), so a fill while it is in flight is
 * stale once the reply is in.
 */
VEER_TEST(cache_mc_stats_stops_count)
{
	static const char stats[] = "STAT pid 1\r\nSTAT uptime 2\r\nEND\r\n";
	struct veer_cache_conn st;
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (!exchange_passed(&cc, LIT("stats\r\n"), LIT(stats)) ||
	    !ASSERT_TRUE(cache_conn_state(&cc, &st), "entry"))
		goto out;
	ASSERT_TRUE(st.rp_lost, "reply count lost");
	ASSERT_EQ(st.off, VEER_CACHE_OFF_COMMAND, "what switched the connection off");
	if (!client_send(&cc, LIT("delete j\r\n")) || !server_expect(&cc, LIT("delete j\r\n")) ||
	    !cache_put(M, "k", "hello", 7) || !server_send(&cc, LIT("NOT_FOUND\r\n")) ||
	    !client_expect(&cc, LIT("NOT_FOUND\r\n")))
		goto out;
	ASSERT_FALSE(cache_current(M, "k"), "k filled while delete j was in flight is current");
	CACHE_STATS_EQ("stats, delete j", {VEER_CACHE_OFF_COMMAND, 1}, {VEER_CACHE_PASS_OFF, 2},
		       {VEER_CACHE_INVALIDATE, 1}, {VEER_CACHE_FLUSH, 1});
out:
	cache_conn_close(&cc);
}

/* gat changes its keys' expiry: a write of them. */
VEER_TEST(cache_mc_gat_writes)
{
	struct cache_conn cc;

	if (!mc_begin(&cc))
		return;
	if (!exchange_passed(&cc, LIT("gat 0 k\r\n"), LIT(VALUE_K)))
		goto out;
	ASSERT_FALSE(cache_current(M, "k"), "k current after gat 0 k");
	if (cache_owed_eq(&cc, 1, 1, "gat"))
		CACHE_STATS_EQ("gat", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_INVALIDATE, 2},
			       {VEER_CACHE_FLUSH, 1}, {VEER_CACHE_REPLIES, 1});
out:
	cache_conn_close(&cc);
}
