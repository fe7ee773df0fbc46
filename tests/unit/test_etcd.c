// SPDX-License-Identifier: GPL-2.0
/*
 * The etcd source's pure half (user/veerd/etcd_gateway.c): base64 both ways, the range end of
 * a prefix, request bodies, range and watch responses as etcd 3.4's gateway writes them
 * (captured from a real one), and the watch stream split into messages however its bytes
 * arrive.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "test.h"
#include "etcd_gateway.h"

VEER_TEST(etcd_base64)
{
	static const struct {
		const char *plain, *b64;
	} cases[] = {{"", ""},
		     {"a", "YQ=="},
		     {"ab", "YWI="},
		     {"abc", "YWJj"},
		     {"/veer/vips/web", "L3ZlZXIvdmlwcy93ZWI="},
		     {"{\"address\":\"198.18.100.10\"}", "eyJhZGRyZXNzIjoiMTk4LjE4LjEwMC4xMCJ9"}};
	static const char *bad[] = {"YQ", "YWJ", "@@@@", "YQ==YQ=!", "L3ZlZXIvdmlwcy93ZWI"};
	char *s;
	size_t n;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (ASSERT_OK(etcd_b64_encode(cases[i].plain, strlen(cases[i].plain), &s),
			      "encode")) {
			ASSERT_STREQ(s, cases[i].b64, cases[i].plain);
			free(s);
		}
		if (ASSERT_OK(etcd_b64_decode(cases[i].b64, strlen(cases[i].b64), &s, &n),
			      "decode")) {
			ASSERT_MEMEQ(s, n, cases[i].plain, strlen(cases[i].plain), cases[i].b64);
			ASSERT_EQ(s[n], 0, "NUL-terminated");
			free(s);
		}
	}
	/* Binary bytes, a NUL among them, survive the round trip. */
	{
		const char bin[] = {0, 1, (char)0xff, (char)0xfe, 'x', 0};
		char *e, *d;

		if (ASSERT_OK(etcd_b64_encode(bin, sizeof(bin), &e), "encode binary") &&
		    ASSERT_OK(etcd_b64_decode(e, strlen(e), &d, &n), "decode binary")) {
			ASSERT_MEMEQ(d, n, bin, sizeof(bin), "binary");
			free(d);
		}
		free(e);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = NULL;
		if (!ASSERT_EQ(etcd_b64_decode(bad[i], strlen(bad[i]), &s, &n), -EINVAL, bad[i]))
			free(s);
	}
}

VEER_TEST(etcd_prefix_end)
{
	char *e;
	int n;

	n = etcd_prefix_end("/veer/vips/", 11, &e);
	ASSERT_EQ(n, 11, "length");
	ASSERT_STREQ(e, "/veer/vips0", "the last byte plus one");
	free(e);
	n = etcd_prefix_end("a\xff\xff", 3, &e);
	ASSERT_EQ(n, 1, "trailing 0xff dropped");
	ASSERT_STREQ(e, "b", "then the last byte plus one");
	free(e);
	n = etcd_prefix_end("\xff", 1, &e);
	ASSERT_EQ(n, 1, "all 0xff: one NUL byte");
	ASSERT_EQ(e[0], 0, "every key from there on");
	free(e);
}

static struct json_object *parse(const char *s)
{
	struct json_object *o = json_tokener_parse(s);

	ASSERT_TRUE(o != NULL, s);
	return o;
}

static const char *str_at(struct json_object *o, const char *a, const char *b)
{
	struct json_object *x = NULL, *y = NULL;

	if (!json_object_object_get_ex(o, a, &x))
		return NULL;
	if (b && !json_object_object_get_ex(x, b, &y))
		return NULL;
	return json_object_get_string(b ? y : x);
}

VEER_TEST(etcd_request_bodies)
{
	struct json_object *o;
	char *body;

	if (ASSERT_OK(etcd_range_body("/veer/vips/", &body), "range body")) {
		o = parse(body);
		ASSERT_STREQ(str_at(o, "key", NULL), "L3ZlZXIvdmlwcy8=", "key");
		ASSERT_STREQ(str_at(o, "range_end", NULL), "L3ZlZXIvdmlwczA=", "range_end");
		json_object_put(o);
		free(body);
	}
	if (ASSERT_OK(etcd_watch_body("/veer/vips/", 12345678901LL, &body), "watch body")) {
		o = parse(body);
		ASSERT_STREQ(str_at(o, "create_request", "key"), "L3ZlZXIvdmlwcy8=", "key");
		ASSERT_STREQ(str_at(o, "create_request", "range_end"),
			     "L3ZlZXIvdmlwczA=", "range_end");
		/* 64-bit integers go as strings, as the gateway writes them itself. */
		ASSERT_STREQ(str_at(o, "create_request", "start_revision"), "12345678901",
			     "start_revision");
		ASSERT_STREQ(str_at(o, "create_request", "progress_notify"), "true",
			     "progress_notify");
		json_object_put(o);
		free(body);
	}
	if (ASSERT_OK(etcd_put_body("/veer/vips/web", "{}", &body), "put body")) {
		o = parse(body);
		ASSERT_STREQ(str_at(o, "key", NULL), "L3ZlZXIvdmlwcy93ZWI=", "key");
		ASSERT_STREQ(str_at(o, "value", NULL), "e30=", "value");
		json_object_put(o);
		free(body);
	}
}

/* The header list has line, exactly. */
static bool has_header(const struct curl_slist *h, const char *line)
{
	for (; h; h = h->next)
		if (!strcmp(h->data, line))
			return true;
	return false;
}

VEER_TEST(etcd_request_headers)
{
	struct curl_slist *range = etcd_headers(false), *watch = etcd_headers(true);

	/*
	 * A watch asks to be canceled when the member has no leader: grpc-gateway passes the
	 * Grpc-Metadata- prefixed header on as the gRPC metadata hasleader=true, what etcd's
	 * watch server checks (rpctypes.MetadataRequireLeaderKey, MetadataHasLeader).
	 */
	if (ASSERT_TRUE(watch != NULL, "watch headers")) {
		ASSERT_TRUE(has_header(watch, "Grpc-Metadata-hasleader: true"), "watch: hasleader");
		ASSERT_TRUE(has_header(watch, "Content-Type: application/json"), "watch: JSON");
	}
	if (ASSERT_TRUE(range != NULL, "range headers")) {
		ASSERT_TRUE(!has_header(range, "Grpc-Metadata-hasleader: true"),
			    "range: no hasleader (a list is served by any member)");
		ASSERT_TRUE(has_header(range, "Expect:"), "range: no 100-continue");
	}
	curl_slist_free_all(range);
	curl_slist_free_all(watch);
}

/* As etcd 3.4.23's gateway answered. */
static const char range_two[] =
	"{\"header\":{\"cluster_id\":\"9720933330769285045\",\"member_id\":\"6461966697536687345\","
	"\"revision\":\"7\",\"raft_term\":\"2\"},\"kvs\":[{\"key\":\"L3ZlZXIvdmlwcy93ZWI=\","
	"\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\",\"value\":"
	"\"eyJhZGRyZXNzIjoiMTk4LjE4LjEwMC4xMCJ9\"},{\"key\":\"L3ZlZXIvdmlwcy94MQ==\","
	"\"create_revision\":\"5\",\"mod_revision\":\"5\",\"version\":\"1\"}],\"count\":\"2\"}";

VEER_TEST(etcd_range_response)
{
	char err[256] = "";
	struct etcd_range r;
	struct json_object *o = parse(range_two);

	if (ASSERT_OK(etcd_range_parse(o, &r, err, sizeof(err)), err)) {
		ASSERT_EQ(r.revision, 7, "revision");
		ASSERT_TRUE(r.cluster_id == 9720933330769285045ULL, "cluster_id");
		ASSERT_EQ(r.n, 2, "kvs");
		ASSERT_STREQ(r.kvs[0].key, "/veer/vips/web", "key 0");
		ASSERT_STREQ(r.kvs[0].value, "{\"address\":\"198.18.100.10\"}", "value 0");
		ASSERT_EQ(r.kvs[0].mod_revision, 2, "mod_revision 0");
		ASSERT_EQ(r.kvs[1].create_revision, 5, "create_revision 1");
		/* An empty value is left out by the gateway: empty, not missing. */
		ASSERT_STREQ(r.kvs[1].key, "/veer/vips/x1", "key 1");
		ASSERT_STREQ(r.kvs[1].value, "", "value 1");
		ASSERT_FALSE(r.more, "more");
		etcd_range_clear(&r);
	}
	json_object_put(o);

	/* No key under the prefix: no kvs at all. */
	o = parse("{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"2\","
		  "\"raft_term\":\"2\"}}");
	if (ASSERT_OK(etcd_range_parse(o, &r, err, sizeof(err)), err)) {
		ASSERT_EQ(r.n, 0, "kvs");
		ASSERT_EQ(r.revision, 2, "revision");
	}
	json_object_put(o);

	/* What etcd answered to a range at a compacted revision. */
	o = parse("{\"error\":\"etcdserver: mvcc: required revision has been compacted\","
		  "\"message\":\"etcdserver: mvcc: required revision has been compacted\","
		  "\"code\":11}");
	ASSERT_EQ(etcd_range_parse(o, &r, err, sizeof(err)), -EIO, "an error answered");
	ASSERT_STREQ(err, "etcd says: etcdserver: mvcc: required revision has been compacted",
		     "its message");
	json_object_put(o);

	static const struct {
		const char *json, *err;
	} bad[] = {
		{"[]", "the response is not a JSON object"},
		{"{\"kvs\":[]}", "no header"},
		{"{\"header\":{\"revision\":\"x7\"}}", "revision: \"x7\" is not a number"},
		{"{\"header\":{\"revision\":[]}}", "revision: not a number"},
		{"{\"header\":{\"revision\":\"7\"},\"kvs\":{}}", "kvs: not a list"},
		{"{\"header\":{\"revision\":\"7\"},\"kvs\":[{\"value\":\"e30=\"}]}",
		 "kvs[0]: key: missing"},
		{"{\"header\":{\"revision\":\"7\"},\"kvs\":[{\"key\":\"%%%%\"}]}",
		 "kvs[0]: key: not base64"},
		{"{\"header\":{\"revision\":\"7\"},\"kvs\":[{\"key\":\"YQ==\",\"value\":\"e30\"}]}",
		 "kvs[0]: value: not base64"},
		{"{\"header\":{\"revision\":\"7\"},\"kvs\":[{\"key\":\"YQBi\"}]}",
		 "kvs[0]: a key with a NUL byte"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = parse(bad[i].json);
		err[0] = '\0';
		ASSERT_EQ(etcd_range_parse(o, &r, err, sizeof(err)), -EBADMSG, bad[i].json);
		ASSERT_STREQ(err, bad[i].err, bad[i].json);
		json_object_put(o);
	}
}

/* A watch from revision 2 over a put at 2 (replayed), a put at 3 and a delete at 4, as etcd
 * 3.4.23's gateway streamed it; then a progress notification and a compacted start. */
static const char watch_stream[] =
	"{\"result\":{\"header\":{\"cluster_id\":\"9720933330769285045\",\"member_id\":"
	"\"6461966697536687345\",\"revision\":\"2\",\"raft_term\":\"2\"},\"created\":true}}\n"
	"{\"result\":{\"header\":{\"cluster_id\":\"9720933330769285045\",\"member_id\":"
	"\"6461966697536687345\",\"revision\":\"2\",\"raft_term\":\"2\"},\"events\":[{\"kv\":{"
	"\"key\":\"L3ZlZXIvdmlwcy93ZWI=\",\"create_revision\":\"2\",\"mod_revision\":\"2\","
	"\"version\":\"1\",\"value\":\"eyJhZGRyZXNzIjoiMTk4LjE4LjEwMC4xMCJ9\"}}]}}\n"
	"{\"result\":{\"header\":{\"cluster_id\":\"9720933330769285045\",\"member_id\":"
	"\"6461966697536687345\",\"revision\":\"3\",\"raft_term\":\"2\"},\"events\":[{\"kv\":{"
	"\"key\":\"L3ZlZXIvdmlwcy9kYg==\",\"create_revision\":\"3\",\"mod_revision\":\"3\","
	"\"version\":\"1\",\"value\":\"eyJhZGRyZXNzIjoiMTk4LjE4LjEwMC4xMSJ9\"}}]}}\n"
	"{\"result\":{\"header\":{\"cluster_id\":\"9720933330769285045\",\"member_id\":"
	"\"6461966697536687345\",\"revision\":\"4\",\"raft_term\":\"2\"},\"events\":[{\"type\":"
	"\"DELETE\",\"kv\":{\"key\":\"L3ZlZXIvdmlwcy9kYg==\",\"mod_revision\":\"4\"}}]}}\n"
	"{\"result\":{\"header\":{\"cluster_id\":\"9720933330769285045\",\"member_id\":"
	"\"6461966697536687345\",\"revision\":\"9\",\"raft_term\":\"2\"}}}\n"
	"{\"result\":{\"header\":{\"cluster_id\":\"9720933330769285045\",\"member_id\":"
	"\"6461966697536687345\",\"raft_term\":\"2\"},\"canceled\":true,\"compact_revision\":"
	"\"6\"}}\n";

struct collected {
	struct etcd_watch_msg m[8];
	int n;
	char err[256];
	int rc;
};

static int collect(struct json_object *o, void *arg)
{
	struct collected *c = arg;

	if (c->n == 8)
		return -E2BIG;
	c->rc = etcd_watch_parse(o, &c->m[c->n], c->err, sizeof(c->err));
	if (c->rc)
		return c->rc;
	c->n++;
	return 0;
}

static void collected_clear(struct collected *c)
{
	for (int i = 0; i < c->n; i++)
		etcd_watch_clear(&c->m[i]);
	memset(c, 0, sizeof(*c));
}

static void check_watch(struct collected *c, const char *what)
{
	if (!ASSERT_EQ(c->n, 6, what))
		return;
	ASSERT_EQ(c->m[0].kind, ETCD_WATCH_CREATED, "created");
	ASSERT_EQ(c->m[1].kind, ETCD_WATCH_EVENTS, "events");
	ASSERT_EQ(c->m[1].n, 1, "one event");
	ASSERT_STREQ(c->m[1].events[0].key, "/veer/vips/web", "put key");
	ASSERT_STREQ(c->m[1].events[0].value, "{\"address\":\"198.18.100.10\"}", "put value");
	ASSERT_EQ(c->m[1].revision, 2, "revision of the events");
	ASSERT_EQ(c->m[2].revision, 3, "revision of the next");
	ASSERT_EQ(c->m[3].kind, ETCD_WATCH_EVENTS, "delete");
	ASSERT_STREQ(c->m[3].events[0].key, "/veer/vips/db", "delete key");
	ASSERT_TRUE(c->m[3].events[0].value == NULL, "a delete has no value");
	ASSERT_EQ(c->m[3].revision, 4, "revision of the delete");
	ASSERT_EQ(c->m[4].kind, ETCD_WATCH_PROGRESS, "progress");
	ASSERT_EQ(c->m[4].revision, 9, "progress revision");
	ASSERT_EQ(c->m[5].kind, ETCD_WATCH_CANCELED, "canceled");
	ASSERT_EQ(c->m[5].compact_revision, 6, "compact_revision");
	ASSERT_TRUE(c->m[5].cluster_id == 9720933330769285045ULL, "cluster_id");
}

static int count(struct json_object *o, void *arg)
{
	(void)o;
	++*(int *)arg;
	return 0;
}

VEER_TEST(etcd_watch_stream)
{
	struct etcd_stream *s;
	struct collected c = {};
	char err[256] = "";
	size_t len = strlen(watch_stream);
	uint64_t seed = 1;

	if (!ASSERT_OK(etcd_stream_new(&s), "stream"))
		return;
	/* All at once. */
	ASSERT_OK(etcd_stream_feed(s, watch_stream, len, collect, &c, err, sizeof(err)), err);
	ASSERT_FALSE(etcd_stream_partial(s), "nothing left half-way");
	check_watch(&c, "in one piece");
	collected_clear(&c);
	/* A byte at a time: every boundary a TCP read could cut. */
	for (size_t i = 0; i < len; i++) {
		if (!ASSERT_OK(
			    etcd_stream_feed(s, watch_stream + i, 1, collect, &c, err, sizeof(err)),
			    err))
			break;
		if (i + 1 < len && watch_stream[i] == '}' && watch_stream[i + 1] == '}')
			ASSERT_TRUE(etcd_stream_partial(s), "half-way inside a message");
	}
	check_watch(&c, "a byte at a time");
	collected_clear(&c);
	/* Pieces of random sizes, many times. */
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < len;) {
			size_t n;

			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			n = 1 + (seed >> 33) % 300;
			if (n > len - i)
				n = len - i;
			if (!ASSERT_OK(etcd_stream_feed(s, watch_stream + i, n, collect, &c, err,
							sizeof(err)),
				       err))
				break;
			i += n;
		}
		if (c.n != 6) {
			check_watch(&c, "random pieces");
			break;
		}
		collected_clear(&c);
	}
	collected_clear(&c);
	/* A stream cut inside a message is seen as such. */
	ASSERT_OK(etcd_stream_feed(s, watch_stream, 100, collect, &c, err, sizeof(err)), err);
	ASSERT_TRUE(etcd_stream_partial(s), "cut");
	etcd_stream_free(s);
	collected_clear(&c);

	/* What is not a stream of objects: refused with what was wrong, whatever comes next. */
	static const struct {
		const char *bytes, *err;
	} bad[] = {
		{"[1]", "a message that is not a JSON object (starts with '[')"},
		{"{\"a\":1}\n<html>", "a message that is not a JSON object (starts with '<')"},
		{"{\"a\":tru}", "bad JSON after 8 bytes of a message: boolean expected"},
		{"{\"a\" 1}", "bad JSON after 5 bytes of a message: object property name separator "
			      "':' expected"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = 0;

		ASSERT_OK(etcd_stream_new(&s), "stream");
		err[0] = '\0';
		ASSERT_EQ(etcd_stream_feed(s, bad[i].bytes, strlen(bad[i].bytes), count, &n, err,
					   sizeof(err)),
			  -EBADMSG, bad[i].bytes);
		ASSERT_STREQ(err, bad[i].err, bad[i].bytes);
		etcd_stream_free(s);
	}
}

VEER_TEST(etcd_watch_messages)
{
	struct etcd_watch_msg m;
	char err[256] = "";
	struct json_object *o;

	/* An error the gateway streams in place of a message. */
	o = parse("{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no "
		  "leader\",\"http_status\":\"Service Unavailable\"}}");
	ASSERT_EQ(etcd_watch_parse(o, &m, err, sizeof(err)), -EIO, "an error");
	ASSERT_STREQ(err, "etcd says: etcdserver: no leader", "its message");
	json_object_put(o);

	/* Several events in one message: the revision is the last one's. */
	o = parse("{\"result\":{\"header\":{\"revision\":\"12\"},\"events\":["
		  "{\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"11\",\"value\":\"e30=\"}},"
		  "{\"type\":\"PUT\",\"kv\":{\"key\":\"Yg==\",\"mod_revision\":\"12\"}}]}}");
	if (ASSERT_OK(etcd_watch_parse(o, &m, err, sizeof(err)), err)) {
		ASSERT_EQ(m.n, 2, "two events");
		ASSERT_EQ(m.revision, 12, "revision");
		ASSERT_STREQ(m.events[1].value, "", "a put of an empty value");
		etcd_watch_clear(&m);
	}
	json_object_put(o);

	static const struct {
		const char *json, *err;
	} bad[] = {
		{"{\"result\":[]}", "result: not an object"},
		{"{\"result\":{}}", "no header"},
		{"{\"result\":{\"header\":{},\"events\":{}}}", "events: not a list"},
		{"{\"result\":{\"header\":{},\"events\":[{}]}}", "events[0]: no kv"},
		{"{\"result\":{\"header\":{},\"events\":[{\"type\":\"FOO\",\"kv\":{}}]}}",
		 "events[0]: type: \"FOO\" is not PUT or DELETE"},
		{"{\"result\":{\"header\":{},\"events\":[{\"kv\":{\"key\":\"!\"}}]}}",
		 "events[0]: key: not base64"},
		{"{\"result\":{\"header\":{},\"compact_revision\":true}}",
		 "compact_revision: not a number"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = parse(bad[i].json);
		err[0] = '\0';
		ASSERT_EQ(etcd_watch_parse(o, &m, err, sizeof(err)), -EBADMSG, bad[i].json);
		ASSERT_STREQ(err, bad[i].err, bad[i].json);
		json_object_put(o);
	}
}
