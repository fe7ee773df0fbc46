// SPDX-License-Identifier: GPL-2.0
/*
 * veerd's http.c: libcurl's transfers on veerd's loop, against a libmicrohttpd server of the
 * test's own on loopback. A body arrives as it is sent (a watch's stream is read before it
 * ends), a transfer started from inside another's write callback runs (libcurl refuses that
 * call there: http.c queues it), a cancelled transfer never calls back, and a refused
 * connection ends with curl's error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <microhttpd.h>
#include "test.h"
#include "veerd.h"

#define HTTP_TEST_PORT 19590

static atomic_int release_stream; /* the server sends the stream's second part */

struct stream_state {
	int part;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream_state *st = cls;

	(void)pos;
	(void)max;
	if (st->part == 0) {
		st->part = 1;
		memcpy(buf, "first\n", 6);
		return 6;
	}
	if (st->part == 1) {
		/* Thread per connection: waiting here holds this response only. */
		for (int i = 0; i < 5000 && !atomic_load(&release_stream); i++)
			usleep(1000);
		st->part = 2;
		memcpy(buf, "second\n", 7);
		return 7;
	}
	return MHD_CONTENT_READER_END_OF_STREAM;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **state)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)method;
	(void)version;
	(void)data;
	(void)size;
	if (!*state) {
		*state = conn;
		return MHD_YES;
	}
	if (!strcmp(url, "/stream"))
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64, stream_read,
						      calloc(1, sizeof(struct stream_state)), free);
	else
		r = MHD_create_response_from_buffer(5, "hello", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, strcmp(url, "/missing") ? MHD_HTTP_OK : MHD_HTTP_NOT_FOUND,
				 r);
	MHD_destroy_response(r);
	return ret;
}

struct xfer {
	const char *name;
	CURL *easy;
	char body[128];
	size_t len;
	int done_calls;
	CURLcode rc;
	long status;
	bool chain; /* on its first bytes, starts `next` from inside its write callback */
	struct xfer *next;
	bool saw_first_before_end;
};

static struct loop *lp;
static int pending;

static void on_done(CURL *easy, CURLcode rc, void *arg);

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (x->len + len < sizeof(x->body)) {
		memcpy(x->body + x->len, data, len);
		x->len += len;
		x->body[x->len] = '\0';
	}
	if (x->chain && strstr(x->body, "first\n") && !strstr(x->body, "second")) {
		x->chain = false;
		x->saw_first_before_end = true;
		pending++;
		if (http_start(x->next->easy, on_done, x->next))
			pending--;
	}
	return len;
}

static CURL *xfer_easy(struct xfer *x, const char *path)
{
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", HTTP_TEST_PORT, path);
	x->easy = curl_easy_init();
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	return x->easy;
}

static void on_done(CURL *easy, CURLcode rc, void *arg)
{
	struct xfer *x = arg;

	x->done_calls++;
	x->rc = rc;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &x->status);
	/* The chained one's release: the stream's end comes after the other's start. */
	if (!strcmp(x->name, "chained"))
		atomic_store(&release_stream, 1);
	if (--pending == 0)
		loop_stop(lp);
}

static void on_deadline(struct loop *l, struct loop_timer *t)
{
	(void)t;
	loop_stop(l);
}

static int start(struct xfer *x)
{
	pending++;
	return http_start(x->easy, on_done, x);
}

VEER_TEST(veerd_http_transfers_on_the_loop)
{
	struct xfer hello = {.name = "hello"}, missing = {.name = "missing"},
		    stream = {.name = "stream"}, chained = {.name = "chained"},
		    cancelled = {.name = "cancelled"}, refused = {.name = "refused"};
	struct loop_timer deadline = {.cb = on_deadline};
	struct MHD_Daemon *mhd;

	mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
			       HTTP_TEST_PORT, NULL, NULL, on_request, NULL, MHD_OPTION_END);
	if (!ASSERT_TRUE(mhd != NULL, "a server on loopback"))
		return;
	if (!ASSERT_OK(loop_new(&lp), "loop") || !ASSERT_OK(http_init(lp), "http_init"))
		goto out;
	xfer_easy(&hello, "/hello");
	xfer_easy(&missing, "/missing");
	xfer_easy(&stream, "/stream");
	xfer_easy(&chained, "/hello");
	xfer_easy(&cancelled, "/hello");
	refused.easy = curl_easy_init();
	curl_easy_setopt(refused.easy, CURLOPT_URL, "http://127.0.0.1:19591/");
	curl_easy_setopt(refused.easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(refused.easy, CURLOPT_WRITEDATA, &refused);
	/* The chained transfer is started by the stream's write callback, not here. */
	stream.chain = true;
	stream.next = &chained;

	ASSERT_OK(start(&hello), "start hello");
	ASSERT_OK(start(&missing), "start missing");
	ASSERT_OK(start(&stream), "start stream");
	ASSERT_OK(start(&refused), "start refused");
	ASSERT_OK(start(&cancelled), "start cancelled");
	http_cancel(cancelled.easy);
	pending--;
	loop_timer_at(lp, &deadline, loop_now() + 10000000000ull);
	loop_run(lp);
	loop_timer_cancel(lp, &deadline);

	ASSERT_EQ(pending, 0, "every transfer ended within 10 s");
	ASSERT_EQ(hello.done_calls, 1, "hello: done once");
	ASSERT_EQ(hello.rc, CURLE_OK, "hello: ok");
	ASSERT_EQ(hello.status, 200, "hello: 200");
	ASSERT_STREQ(hello.body, "hello", "hello: the body");
	ASSERT_EQ(missing.status, 404, "missing: 404, as a status and not a failure");
	ASSERT_TRUE(stream.saw_first_before_end, "stream: its first part read before its end");
	ASSERT_STREQ(stream.body, "first\nsecond\n", "stream: the whole body");
	ASSERT_EQ(stream.done_calls, 1, "stream: done once");
	ASSERT_STREQ(chained.body, "hello", "chained: started inside a write callback, ran");
	ASSERT_EQ(cancelled.done_calls, 0, "cancelled: never called back");
	ASSERT_EQ(refused.done_calls, 1, "refused: done once");
	ASSERT_EQ(refused.rc, CURLE_COULDNT_CONNECT, "refused: curl's error");
out:
	curl_easy_cleanup(hello.easy);
	curl_easy_cleanup(missing.easy);
	curl_easy_cleanup(stream.easy);
	curl_easy_cleanup(chained.easy);
	curl_easy_cleanup(cancelled.easy);
	curl_easy_cleanup(refused.easy);
	http_exit();
	loop_free(lp);
	MHD_stop_daemon(mhd);
}
