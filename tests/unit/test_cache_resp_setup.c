// SPDX-License-Identifier: GPL-2.0
/*
 * Real Redis clients set their connections up before the first GET: HELLO 3 and CLIENT
 * SETINFO (node-redis, ioredis), CLIENT SETNAME (python-redis with client_name), SELECT. The
 * cache understands what each does, counts its reply, and keeps serving where the semantics
 * allow: RESP3 connections are served (a bulk string is the same bytes in both protocols),
 * other databases are not. Requests and replies are the bytes the clients and Redis 7.0.15
 * exchanged. Each test checks the exact bytes both sides receive and every counter.
 * Harness: cache_harness.h.
 */
#include <stdlib.h>
#include "cache_harness.h"

#define R VEER_CACHE_REDIS

#define GET_K0 "*2\r\n$3\r\nGET\r\n$2\r\nk0\r\n"
#define GET_X  "*2\r\n$3\r\nGET\r\n$1\r\nx\r\n"
#define HELLO  "$5\r\nhello\r\n"
#define OK     "+OK\r\n"
#define PING   "*1\r\n$4\r\nPING\r\n"

/* node-redis 6.3.1 at connect, in one message. */
#define NODE_REDIS_HANDSHAKE                                                                       \
	"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"                                                         \
	"*4\r\n$6\r\nCLIENT\r\n$7\r\nSETINFO\r\n$7\r\nLIB-VER\r\n$5\r\n6.3.1\r\n"                  \
	"*4\r\n$6\r\nCLIENT\r\n$7\r\nSETINFO\r\n$8\r\nLIB-NAME\r\n$10\r\nnode-redis\r\n"
/* Redis 7.0.15's reply to HELLO 3: a RESP3 map. */
#define HELLO3_REPLY                                                                               \
	"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n"    \
	":3\r\n$2\r\nid\r\n:3\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$"               \
	"6\r\nmaster\r\n"                                                                          \
	"$7\r\nmodules\r\n*0\r\n"
/* Redis 7.0 has no CLIENT SETINFO (7.2 answers +OK): an error, one reply all the same. */
#define SETINFO_REPLY "-ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.\r\n"
#define HELLO3	      "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"
#define HELLO2	      "*2\r\n$5\r\nHELLO\r\n$1\r\n2\r\n"

/* The connection's protocol and database as the cache follows them. */
static void expect_setup(const struct cache_conn *cc, __u8 resp3, __u8 db_other, __u8 off,
			 const char *what)
{
	CACHE_CONN_EQ(cc, what, CONN_FIELD(resp3, resp3), CONN_FIELD(db_other, db_other),
		      CONN_FIELD(off, off));
}

/* HELLO 3 and CLIENT SETINFO x 2, answered; then k0 is served in RESP3 form. */
static bool node_redis_connect(struct cache_conn *cc)
{
	return exchange_passed(cc, LIT(NODE_REDIS_HANDSHAKE),
			       LIT(HELLO3_REPLY SETINFO_REPLY SETINFO_REPLY)) &&
	       cache_wait_replies(cc, 3);
}

/* ---- clients' handshakes ---- */

VEER_TEST(cache_resp_node_redis_handshake)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!node_redis_connect(&cc))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP3, 0, 0, "after HELLO 3");
	/* A bulk string is the same bytes in RESP3: the server never sees the GET. */
	if (exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		CACHE_STATS_EQ("node-redis handshake, GET", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_REPLIES, 3}, {VEER_CACHE_HIT, 1});
	cache_owed_eq(&cc, 3, 3, "handshake answered, GET served");
out:
	cache_conn_close(&cc);
}

/* ioredis 6.0.0: lower-case names, one message per command, INFO before the first GET. */
VEER_TEST(cache_resp_ioredis_handshake)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT("*2\r\n$5\r\nhello\r\n$1\r\n3\r\n"), LIT(HELLO3_REPLY)) ||
	    !exchange_passed(&cc,
			     LIT("*4\r\n$6\r\nclient\r\n$7\r\nSETINFO\r\n$7\r\nLIB-VER\r\n$5\r\n"
				 "6.0.0\r\n"),
			     LIT(SETINFO_REPLY)) ||
	    !exchange_passed(&cc,
			     LIT("*4\r\n$6\r\nclient\r\n$7\r\nSETINFO\r\n$8\r\nLIB-NAME\r\n$7\r\n"
				 "ioredis\r\n"),
			     LIT(SETINFO_REPLY)) ||
	    !exchange_passed(&cc, LIT("*1\r\n$4\r\ninfo\r\n"), LIT("=13\r\ntxt:# Server\n\r\n")))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP3, 0, 0, "ioredis");
	if (exchange_hit(&cc, LIT("*2\r\n$3\r\nget\r\n$2\r\nk0\r\n"), LIT(HELLO)))
		CACHE_STATS_EQ("ioredis handshake, get", {VEER_CACHE_PASS_OTHER, 4},
			       {VEER_CACHE_REPLIES, 4}, {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* python3-redis 4.3.4 with client_name=. */
VEER_TEST(cache_resp_python_redis_setname)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT("*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$3\r\napp\r\n"),
			     LIT(OK)))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP2, 0, 0, "CLIENT SETNAME");
	if (exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		CACHE_STATS_EQ("CLIENT SETNAME, GET", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_REPLIES, 1}, {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* node-redis 6.3.1 over TCP, after its handshake: refused by Redis 7.0, so nothing changes. */
#define MAINT_ON                                                                                   \
	"*5\r\n$6\r\nCLIENT\r\n$19\r\nMAINT_NOTIFICATIONS\r\n$2\r\nON\r\n"                         \
	"$20\r\nmoving-endpoint-type\r\n$11\r\ninternal-ip\r\n"
#define MAINT_REFUSED "-ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.\r\n"

VEER_TEST(cache_resp_maint_notifications_refused)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!node_redis_connect(&cc) || !exchange_passed(&cc, LIT(MAINT_ON), LIT(MAINT_REFUSED)))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP3, 0, 0, "MAINT_NOTIFICATIONS refused");
	if (exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		CACHE_STATS_EQ("MAINT_NOTIFICATIONS refused, GET", {VEER_CACHE_PASS_OTHER, 2},
			       {VEER_CACHE_REPLIES, 4}, {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* A server that accepts it may push notices between replies: the count is not trusted. */
VEER_TEST(cache_resp_maint_notifications_accepted)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!node_redis_connect(&cc) || !exchange_passed(&cc, LIT(MAINT_ON), LIT(OK)))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP3, 0, VEER_CACHE_OFF_COMMAND,
		     "MAINT_NOTIFICATIONS accepted");
	if (exchange_passed(&cc, LIT(GET_K0), LIT(HELLO)))
		CACHE_STATS_EQ("MAINT_NOTIFICATIONS accepted, GET", {VEER_CACHE_PASS_OTHER, 2},
			       {VEER_CACHE_REPLIES, 4}, {VEER_CACHE_OFF_COMMAND, 1},
			       {VEER_CACHE_PASS_OFF, 1});
out:
	cache_conn_close(&cc);
}

/* The other set-up commands that keep serving on, inline and multibulk, any case. */
VEER_TEST(cache_resp_setup_commands_serve)
{
	static const struct {
		const char *req, *rep;
	} cmds[] = {
		{"AUTH default secret\r\n", OK},
		{"PING\r\n", "+PONG\r\n"},
		{"ECHO hi\r\n", "$2\r\nhi\r\n"},
		{"READONLY\r\n", "-ERR This instance has cluster support disabled\r\n"},
		{"client id\r\n", ":7\r\n"},
		{"CLIENT GETNAME\r\n", "$-1\r\n"},
		{"CLIENT NO-EVICT on\r\n", OK},
		{"CLIENT NO-TOUCH on\r\n",
		 "-ERR unknown subcommand 'NO-TOUCH'. Try CLIENT HELP.\r\n"},
		{"CLIENT INFO\r\n", "=9\r\ntxt:id=7\n\r\n"},
		{"CLIENT SETINFO LIB-NAME x\r\n", OK},
		{"*1\r\n$6\r\nCLIENT\r\n",
		 "-ERR wrong number of arguments for 'client' command\r\n"},
		{"SELECT 0\r\n", OK},
		{"HELLO\r\n", "%1\r\n$5\r\nproto\r\n:3\r\n"},
	};
	enum { N = sizeof(cmds) / sizeof(cmds[0]) };
	struct cache_conn cc;
	int served = 0;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	/* In RESP3, which the replies above are in where they differ. */
	if (!exchange_passed(&cc, LIT(HELLO3), LIT(HELLO3_REPLY)))
		goto out;
	for (int i = 0; i < N; i++) {
		if (!exchange_passed(&cc, cmds[i].req, strlen(cmds[i].req), cmds[i].rep,
				     strlen(cmds[i].rep)) ||
		    !cache_wait_replies(&cc, i + 2) ||
		    !ASSERT_TRUE(exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)), cmds[i].req))
			break;
		served++;
	}
	if (ASSERT_EQ(served, N, "set-up commands followed by a hit"))
		CACHE_STATS_EQ("set-up commands", {VEER_CACHE_PASS_OTHER, N + 1},
			       {VEER_CACHE_REPLIES, N + 1}, {VEER_CACHE_HIT, N});
	expect_setup(&cc, VEER_CACHE_RESP3, 0, 0, "after the set-up commands");
out:
	cache_conn_close(&cc);
}

/* CLIENT sub-commands the cache does not follow: serving off, replies still counted. */
VEER_TEST(cache_resp_client_off)
{
	static const char *const cmds[] = {
		"CLIENT TRACKING on\r\n",
		"CLIENT KILL ID 9\r\n",
		"CLIENT CACHING yes\r\n",
		"CLIENT PAUSE 10\r\n",
		"CLIENT FOO\r\n",
		"CLIENT TRACKINGINFO\r\n",
		"*2\r\n$6\r\nCLIENT\r\n$17\r\nAVERYLONGSUBCOMMA\r\n",
	};
	struct cache_conn cc;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
			return;
		if (exchange_passed(&cc, cmds[i], strlen(cmds[i]), LIT(OK)) &&
		    exchange_passed(&cc, LIT(GET_K0), LIT(HELLO))) {
			expect_setup(&cc, VEER_CACHE_RESP2, 0, VEER_CACHE_OFF_COMMAND, cmds[i]);
			CACHE_STATS_EQ(cmds[i], {VEER_CACHE_OFF_COMMAND, 1},
				       {VEER_CACHE_PASS_OFF, 2}, {VEER_CACHE_REPLIES, 2});
		}
		cache_conn_close(&cc);
	}
}

/* CLIENT REPLY OFF or SKIP suppresses replies: the count is untrusted, whatever the word. */
VEER_TEST(cache_resp_client_reply)
{
	static const char *const cmds[] = {"CLIENT REPLY OFF\r\n", "CLIENT REPLY SKIP\r\n",
					   "client reply on\r\n"};
	struct veer_cache_conn st;
	struct cache_conn cc;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
			return;
		if (client_send(&cc, cmds[i], strlen(cmds[i])) &&
		    server_expect(&cc, cmds[i], strlen(cmds[i])) &&
		    exchange_passed(&cc, LIT(GET_K0), LIT(HELLO)) &&
		    ASSERT_TRUE(cache_conn_state(&cc, &st), "the connection's entry")) {
			ASSERT_TRUE(st.rp_lost, cmds[i]);
			ASSERT_EQ(st.off, VEER_CACHE_OFF_COMMAND, cmds[i]);
			CACHE_STATS_EQ(cmds[i], {VEER_CACHE_OFF_COMMAND, 1},
				       {VEER_CACHE_PASS_OFF, 2});
		}
		cache_conn_close(&cc);
	}
}

/* ---- HELLO: the protocol switches only if the server accepts ---- */

/* Refused (a wrong password): the connection stays RESP2, and is still served. */
VEER_TEST(cache_resp_hello_refused)
{
	static const char req[] = "*5\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n"
				  "$5\r\nwrong\r\n";
	static const char err[] = "-WRONGPASS invalid username-password pair or user is "
				  "disabled.\r\n";
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(req), LIT(err)) || !cache_wait_replies(&cc, 1))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP2, 0, 0, "HELLO 3 refused");
	if (!exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		goto out;
	/* RESP2 it is: a RESP3 null now is a reply the server could not have sent. */
	if (!exchange_passed(&cc, LIT(GET_X), LIT("_\r\n")))
		goto out;
	CACHE_STATS_EQ("HELLO 3 refused", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_REPLIES, 1},
		       {VEER_CACHE_HIT, 1}, {VEER_CACHE_MISS, 1}, {VEER_CACHE_OFF_PROTOCOL, 1});
out:
	cache_conn_close(&cc);
}

/* Versions Redis refuses: HELLO 4, HELLO 03. */
VEER_TEST(cache_resp_hello_bad_version)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT("HELLO 4\r\n"),
			     LIT("-NOPROTO unsupported protocol version\r\n")) ||
	    !exchange_passed(&cc, LIT("HELLO 03\r\n"),
			     LIT("-ERR Protocol version is not an integer or out of range\r\n")) ||
	    !cache_wait_replies(&cc, 2))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP2, 0, 0, "HELLO 4, HELLO 03");
	if (exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		CACHE_STATS_EQ("bad versions", {VEER_CACHE_PASS_OTHER, 2}, {VEER_CACHE_REPLIES, 2},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* HELLO 2 switches back; HELLO alone changes nothing. */
VEER_TEST(cache_resp_hello_back_to_2)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(HELLO3), LIT(HELLO3_REPLY)) ||
	    !exchange_passed(&cc, LIT("HELLO\r\n"), LIT("%1\r\n$5\r\nproto\r\n:3\r\n")) ||
	    !cache_wait_replies(&cc, 2))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP3, 0, 0, "HELLO 3, HELLO");
	if (!exchange_passed(&cc, LIT(HELLO2), LIT("*2\r\n$5\r\nproto\r\n:2\r\n")) ||
	    !cache_wait_replies(&cc, 3))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP2, 0, 0, "then HELLO 2");
	if (exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		CACHE_STATS_EQ("HELLO 3, HELLO, HELLO 2", {VEER_CACHE_PASS_OTHER, 3},
			       {VEER_CACHE_REPLIES, 3}, {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/*
 * Two HELLOs in flight: only the last one's outcome is followed, so the protocol is unknown
 * (both counted) unless that one is accepted. Inside MULTI, HELLO is queued: unknown too.
 */
VEER_TEST(cache_resp_hello_unknown)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(HELLO3 "HELLO 4\r\n"),
			     LIT(HELLO3_REPLY "-NOPROTO unsupported protocol version\r\n")) ||
	    !cache_wait_replies(&cc, 2))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP_ANY, 0, 0, "HELLO 3, HELLO 4");
	/* Either protocol's replies are counted; served all the same. */
	if (!exchange_passed(&cc, LIT(PING PING), LIT("+PONG\r\n#t\r\n")) ||
	    !cache_wait_replies(&cc, 4) || !exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		goto out;
	if (!exchange_passed(&cc, LIT(HELLO2), LIT("*2\r\n$5\r\nproto\r\n:2\r\n")) ||
	    !cache_wait_replies(&cc, 5))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP2, 0, 0, "then HELLO 2");
	if (!exchange_passed(&cc, LIT("MULTI\r\n" HELLO3 "EXEC\r\n"),
			     LIT(OK "+QUEUED\r\n*1\r\n" HELLO3_REPLY)) ||
	    !cache_wait_replies(&cc, 8))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP_ANY, 0, 0, "HELLO 3 inside MULTI");
	if (exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		CACHE_STATS_EQ("unknown protocol", {VEER_CACHE_PASS_OTHER, 4},
			       {VEER_CACHE_REPLIES, 8}, {VEER_CACHE_HIT, 2});
out:
	cache_conn_close(&cc);
}

/* ---- RESP3 replies ---- */

/* Every RESP3 type Redis 7.0 sends as a reply (DEBUG PROTOCOL's bytes), counted exactly. */
VEER_TEST(cache_resp3_reply_types)
{
	static const char rep[] = "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n" /* map */
				  "~3\r\n:0\r\n:1\r\n:2\r\n"		       /* set */
				  ",3.141\r\n"				       /* double */
				  "(1234567999999999999999999999999999999\r\n" /* big number */
				  "#t\r\n"				       /* boolean */
				  "_\r\n"				       /* null */
				  "=29\r\ntxt:This is a verbatim\nstring\r\n"  /* verbatim */
				  "!21\r\nSYNTAX invalid syntax\r\n"	       /* blob error */
				  "~2\r\n%1\r\n+a\r\n*2\r\n_\r\n,-inf\r\n%0\r\n" /* nested */;
	static char req[9 * sizeof(PING)];
	struct cache_conn cc;

	for (int i = 0; i < 9; i++)
		memcpy(req + i * (sizeof(PING) - 1), PING, sizeof(PING) - 1);
	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!node_redis_connect(&cc) ||
	    !exchange_passed(&cc, req, 9 * (sizeof(PING) - 1), LIT(rep)))
		goto out;
	cache_owed_eq(&cc, 12, 12, "nine RESP3 replies");
	if (exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		CACHE_STATS_EQ("RESP3 types", {VEER_CACHE_PASS_OTHER, 2}, {VEER_CACHE_REPLIES, 12},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* Split anywhere, a RESP3 reply still counts once, when whole. */
VEER_TEST(cache_resp3_split_reply)
{
	static const char rep[] = "%2\r\n$1\r\na\r\n=5\r\ntxt:x\r\n$1\r\nb\r\n~1\r\n(12\r\n";
	struct cache_conn cc;
	size_t half = 17;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!node_redis_connect(&cc) || !client_send(&cc, LIT(PING)) ||
	    !server_expect(&cc, LIT(PING)) || !server_send(&cc, rep, half) ||
	    !client_expect(&cc, rep, half))
		goto out;
	cache_owed_eq(&cc, 4, 3, "half a map");
	if (!server_send(&cc, rep + half, sizeof(rep) - 1 - half) ||
	    !client_expect(&cc, rep + half, sizeof(rep) - 1 - half) || !cache_wait_replies(&cc, 4))
		goto out;
	if (exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		CACHE_STATS_EQ("split map", {VEER_CACHE_PASS_OTHER, 2}, {VEER_CACHE_REPLIES, 4},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* A miss on a RESP3 connection counts as hot, and its null (_) as its reply. */
VEER_TEST(cache_resp3_miss_hot)
{
	struct veer_cache_hot_key *hot = NULL;
	struct cache_conn cc;
	size_t n = 0;

	if (!cache_begin() || !cache_conn_open(&cc, R))
		return;
	if (!node_redis_connect(&cc) || !exchange_passed(&cc, LIT(GET_X), LIT("_\r\n")) ||
	    !cache_wait_replies(&cc, 4))
		goto out;
	cache_owed_eq(&cc, 4, 4, "miss answered");
	CACHE_STATS_EQ("RESP3 miss", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_REPLIES, 4},
		       {VEER_CACHE_MISS, 1});
	if (ASSERT_OK(veer_cache_hot(&cache_env.vc, 10, false, &hot, &n), "veer_cache_hot") &&
	    ASSERT_EQ(n, 1, "hot keys"))
		ASSERT_MEMEQ(hot[0].key.bytes, hot[0].key.len, "x", 1, "the missed key");
	free(hot);
out:
	cache_conn_close(&cc);
}

/* Pushes and attributes are not replies: the count of replies is lost. */
VEER_TEST(cache_resp3_push_attribute)
{
	static const char *const reps[] = {
		">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n$40\r\nSome real reply following the push "
		"reply\r\n",
		"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$39\r\nSome real "
		"reply following the attribute\r\n",
	};
	struct veer_cache_conn st;
	struct cache_conn cc;

	for (int i = 0; i < 2; i++) {
		if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
			return;
		if (node_redis_connect(&cc) &&
		    exchange_passed(&cc, LIT(PING), reps[i], strlen(reps[i])) &&
		    exchange_passed(&cc, LIT(GET_K0), LIT(HELLO)) &&
		    ASSERT_TRUE(cache_conn_state(&cc, &st), "the connection's entry")) {
			ASSERT_TRUE(st.rp_lost, reps[i]);
			CACHE_STATS_EQ(reps[i], {VEER_CACHE_PASS_OTHER, 2}, {VEER_CACHE_REPLIES, 3},
				       {VEER_CACHE_OFF_PROTOCOL, 1}, {VEER_CACHE_PASS_OFF, 1});
		}
		cache_conn_close(&cc);
	}
}

/* ---- SELECT: served only in database 0 ---- */

#define SELECT1 "*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n"
#define SELECT0 "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"

/* SELECT 1 stops serving (entries are database 0's), SELECT 0 resumes it. */
VEER_TEST(cache_resp_select)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(SELECT1), LIT(OK)) || !cache_wait_replies(&cc, 1))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP2, 1, 0, "SELECT 1");
	/* Database 1's k0 is another key: to the server, and not counted as a miss. */
	if (!exchange_passed(&cc, LIT(GET_K0), LIT("$3\r\none\r\n")))
		goto out;
	CACHE_STATS_EQ("SELECT 1, GET", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_PASS_OFF, 1},
		       {VEER_CACHE_REPLIES, 2});
	if (!exchange_passed(&cc, LIT(SELECT0), LIT(OK)) || !cache_wait_replies(&cc, 3))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP2, 0, 0, "SELECT 0");
	if (exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		CACHE_STATS_EQ("SELECT 1, GET, SELECT 0, GET", {VEER_CACHE_PASS_OTHER, 1},
			       {VEER_CACHE_PASS_OFF, 2}, {VEER_CACHE_REPLIES, 3},
			       {VEER_CACHE_HIT, 1});
out:
	cache_conn_close(&cc);
}

/* Refused SELECTs change nothing: out of range, a leading zero (string2ll refuses "00"). */
VEER_TEST(cache_resp_select_refused)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT("SELECT 16\r\n"), LIT("-ERR DB index is out of range\r\n")) ||
	    !cache_wait_replies(&cc, 1))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP2, 0, 0, "SELECT 16 refused");
	if (!exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		goto out;
	/* In database 1, "SELECT 00" does not go back to 0. */
	if (!exchange_passed(&cc, LIT("SELECT 1\r\n"), LIT(OK)) ||
	    !exchange_passed(&cc, LIT("SELECT 00\r\n"),
			     LIT("-ERR value is not an integer or out of range\r\n")) ||
	    !cache_wait_replies(&cc, 3))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP2, 1, 0, "SELECT 1, SELECT 00 refused");
	if (exchange_passed(&cc, LIT(GET_K0), LIT(HELLO)))
		CACHE_STATS_EQ("refused SELECTs", {VEER_CACHE_PASS_OTHER, 2},
			       {VEER_CACHE_REPLIES, 4}, {VEER_CACHE_HIT, 1},
			       {VEER_CACHE_PASS_OFF, 2});
out:
	cache_conn_close(&cc);
}

/*
 * SELECT 0 when SELECT 1 was still in flight, and SELECT inside MULTI (applied by EXEC, if
 * at all): the database is unknown, so not served, until a SELECT 0 of its own is answered.
 */
VEER_TEST(cache_resp_select_unknown)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	/* The last one refused: the first one's outcome was not followed. */
	if (!exchange_passed(&cc, LIT(SELECT1 "SELECT x\r\n"),
			     LIT(OK "-ERR value is not an integer or out of range\r\n")) ||
	    !cache_wait_replies(&cc, 2))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP2, 1, 0, "SELECT 1, SELECT x");
	if (!exchange_passed(&cc, LIT(SELECT1 SELECT0), LIT(OK OK)) || !cache_wait_replies(&cc, 4))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP2, 0, 0, "SELECT 1, SELECT 0");
	if (!exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		goto out;
	if (!exchange_passed(&cc, LIT("MULTI\r\n" SELECT0 "EXEC\r\n"),
			     LIT(OK "+QUEUED\r\n*1\r\n" OK)) ||
	    !cache_wait_replies(&cc, 7))
		goto out;
	expect_setup(&cc, VEER_CACHE_RESP2, 1, 0, "SELECT 0 inside MULTI");
	if (!exchange_passed(&cc, LIT(GET_K0), LIT(HELLO)) ||
	    !exchange_passed(&cc, LIT(SELECT0), LIT(OK)) || !cache_wait_replies(&cc, 9))
		goto out;
	if (exchange_hit(&cc, LIT(GET_K0), LIT(HELLO)))
		/* Each message is passed as one of another database once read. */
		CACHE_STATS_EQ("unknown database", {VEER_CACHE_PASS_OFF, 5},
			       {VEER_CACHE_REPLIES, 9}, {VEER_CACHE_HIT, 2});
out:
	cache_conn_close(&cc);
}

/* Writes in another database still invalidate: the key may well be database 0's too. */
VEER_TEST(cache_resp_select_write)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k0", "hello", 0) || !cache_conn_open(&cc, R))
		return;
	if (!exchange_passed(&cc, LIT(SELECT1), LIT(OK)) ||
	    !exchange_passed(&cc, LIT("SET k0 v\r\n"), LIT(OK)))
		goto out;
	ASSERT_FALSE(cache_current(R, "k0"), "k0 current after SET k0 in database 1");
	CACHE_STATS_EQ("SELECT 1, SET", {VEER_CACHE_PASS_OTHER, 1}, {VEER_CACHE_PASS_OFF, 1},
		       {VEER_CACHE_INVALIDATE, 2}, {VEER_CACHE_REPLIES, 2});
out:
	cache_conn_close(&cc);
}
