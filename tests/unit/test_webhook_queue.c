// SPDX-License-Identifier: GPL-2.0
/*
 * The webhooks' signature and durable queue (user/veerd/webhook_queue.c): HMAC-SHA256 against
 * RFC 4231's vectors, and the queue's promises on a real file in a private directory: nothing
 * delivered before it is fsync'd, in order, resumed after a restart where it was, a torn last
 * record ignored, a full queue refusing (and numbering) what it drops, compaction that loses
 * nothing even when the position written after it is lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test.h"
#include "webhook_queue.h"

#define URL "http://127.0.0.1:19299/hook"

struct qdir {
	char dir[64];
	char qpath[128], apath[128];
};

static bool qdir_up(struct qdir *d)
{
	char h[WHQ_HASH_LEN + 1];

	snprintf(d->dir, sizeof(d->dir), "/tmp/veer-whq-XXXXXX");
	if (!ASSERT_TRUE(mkdtemp(d->dir), "mkdtemp"))
		return false;
	whq_hash(URL, h);
	/* A subdirectory: whq_open makes the directories it needs. */
	snprintf(d->qpath, sizeof(d->qpath), "%s/q/%s.queue", d->dir, h);
	snprintf(d->apath, sizeof(d->apath), "%s/q/%s.acked", d->dir, h);
	return true;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static void qdir_down(struct qdir *d)
{
	nftw(d->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static struct whq *qopen(struct qdir *d, uint64_t max, struct whq_open_info *info)
{
	char path[96], err[512] = "";
	struct whq *q = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/q", d->dir);
	rc = whq_open(&q, path, URL, max, info, err, sizeof(err));
	if (!ASSERT_OK(rc, "whq_open"))
		fprintf(stderr, "  %s\n", err);
	return rc ? NULL : q;
}

static bool append(struct whq *q, uint64_t seq)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "{\"id\":\"e%llu\",\"seq\":%llu}",
			 (unsigned long long)seq, (unsigned long long)seq);

	return ASSERT_EQ(whq_next_seq(q), seq, "next seq") &&
	       ASSERT_OK(whq_append(q, body, (size_t)n), "whq_append");
}

/* The next record is seq, with the body append() gave it. */
static bool peek_is(struct whq *q, uint64_t seq)
{
	char want[64];
	const void *body;
	uint64_t got;
	size_t len;
	int n = snprintf(want, sizeof(want), "{\"id\":\"e%llu\",\"seq\":%llu}",
			 (unsigned long long)seq, (unsigned long long)seq);

	return ASSERT_OK(whq_peek(q, &body, &len, &got, NULL), "whq_peek") &&
	       ASSERT_EQ(got, seq, "peeked seq") &&
	       ASSERT_MEMEQ(body, len, want, (size_t)n, "peeked body");
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

/* ---- the signature ---- */

static void hexkey(unsigned char *out, const char *hex)
{
	for (size_t i = 0; hex[2 * i]; i++)
		sscanf(hex + 2 * i, "%2hhx", &out[i]);
}

VEER_TEST(webhook_sign_rfc4231)
{
	unsigned char k1[20], k6[131];
	char sig[WEBHOOK_SIG_LEN];
	static const char data6[] = "Test Using Larger Than Block-Size Key - Hash Key First";

	memset(k1, 0x0b, sizeof(k1));
	memset(k6, 0xaa, sizeof(k6));
	/* Test case 1. */
	ASSERT_OK(webhook_sign(k1, sizeof(k1), "Hi There", 8, sig), "sign case 1");
	ASSERT_STREQ(sig, "sha256=b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
		     "case 1");
	/* Test case 2: a key shorter than the hash. */
	ASSERT_OK(webhook_sign("Jefe", 4, "what do ya want for nothing?", 28, sig), "sign case 2");
	ASSERT_STREQ(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		     "case 2");
	/* Test case 3: 0xaa x 20 over 0xdd x 50. */
	{
		unsigned char k3[20], d3[50];

		memset(k3, 0xaa, sizeof(k3));
		memset(d3, 0xdd, sizeof(d3));
		ASSERT_OK(webhook_sign(k3, sizeof(k3), d3, sizeof(d3), sig), "sign case 3");
		ASSERT_STREQ(
			sig,
			"sha256=773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
			"case 3");
	}
	/* Test case 4: a key that is not text. */
	{
		unsigned char k4[25], d4[50];

		hexkey(k4, "0102030405060708090a0b0c0d0e0f10111213141516171819");
		memset(d4, 0xcd, sizeof(d4));
		ASSERT_OK(webhook_sign(k4, sizeof(k4), d4, sizeof(d4), sig), "sign case 4");
		ASSERT_STREQ(
			sig,
			"sha256=82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
			"case 4");
	}
	/* Test case 6: a key longer than the block, hashed first. */
	ASSERT_OK(webhook_sign(k6, sizeof(k6), data6, strlen(data6), sig), "sign case 6");
	ASSERT_STREQ(sig, "sha256=60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
		     "case 6");
}

/* ---- the queue ---- */

VEER_TEST(webhook_queue_append_ack)
{
	struct whq_open_info info;
	struct whq_stats st;
	struct qdir d;
	struct whq *q;
	const void *b;
	uint64_t seq;
	size_t len;

	if (!qdir_up(&d))
		return;
	q = qopen(&d, 1 << 20, &info);
	if (!q)
		goto cleanup;
	ASSERT_TRUE(info.created, "a new queue");
	ASSERT_EQ(whq_peek(q, &b, &len, &seq, NULL), -ENOENT, "empty queue");
	for (uint64_t i = 1; i <= 3; i++)
		append(q, i);
	/* Appended is not durable: nothing goes out before the fsync. */
	ASSERT_TRUE(whq_dirty(q), "dirty after appends");
	ASSERT_EQ(whq_peek(q, &b, &len, &seq, NULL), -ENOENT, "nothing before whq_sync");
	ASSERT_OK(whq_sync(q), "whq_sync");
	ASSERT_FALSE(whq_dirty(q), "dirty after sync");
	peek_is(q, 1);
	/* The same record until it is acked. */
	peek_is(q, 1);
	ASSERT_OK(whq_ack(q), "ack 1");
	ASSERT_EQ(whq_ack(q), -EINVAL, "ack without a peek");
	peek_is(q, 2);
	ASSERT_OK(whq_ack(q), "ack 2");
	whq_stats(q, &st);
	ASSERT_EQ(st.pending_events, 1, "pending events");
	ASSERT_EQ(st.acked_seq, 2, "acked seq");
	ASSERT_EQ(st.next_seq, 4, "next seq");
	peek_is(q, 3);
	ASSERT_OK(whq_ack(q), "ack 3");
	ASSERT_EQ(whq_peek(q, &b, &len, &seq, NULL), -ENOENT, "all delivered");
	whq_stats(q, &st);
	ASSERT_EQ(st.pending_bytes, 0, "pending bytes");
	whq_close(q);
cleanup:
	qdir_down(&d);
}

VEER_TEST(webhook_queue_restart)
{
	struct whq_open_info info;
	struct whq_stats st;
	struct qdir d;
	struct whq *q, *q2;
	char err[512];

	if (!qdir_up(&d))
		return;
	q = qopen(&d, 1 << 20, NULL);
	if (!q)
		goto cleanup;
	for (uint64_t i = 1; i <= 5; i++)
		append(q, i);
	whq_sync(q);
	peek_is(q, 1);
	whq_ack(q);
	peek_is(q, 2);
	whq_ack(q);
	/* In flight when the process dies: not acked, so delivered again. */
	peek_is(q, 3);
	/* A second veerd on the same queue is refused while this one holds it. */
	snprintf(err, sizeof(err), "%s/q", d.dir);
	ASSERT_EQ(whq_open(&q2, err, URL, 1 << 20, NULL, err, sizeof(err)), -EWOULDBLOCK,
		  "second open");
	ASSERT_TRUE(strstr(err, "in use by another process") != NULL, "second open's message");
	whq_close(q);

	q = qopen(&d, 1 << 20, &info);
	if (!q)
		goto cleanup;
	ASSERT_FALSE(info.created, "found again");
	ASSERT_EQ(info.torn_bytes, 0, "nothing torn");
	whq_stats(q, &st);
	ASSERT_EQ(st.pending_events, 3, "pending after restart");
	ASSERT_EQ(st.acked_seq, 2, "acked after restart");
	ASSERT_EQ(st.next_seq, 6, "next seq after restart");
	peek_is(q, 3);
	whq_ack(q);
	append(q, 6);
	whq_sync(q);
	whq_close(q);

	/* Once more, with the position's newer slot torn: the older slot holds. */
	{
		int fd = open(d.apath, O_RDWR);
		struct stat s;

		if (ASSERT_TRUE(fd >= 0, "open .acked")) {
			/* 3 acks so far: serial 3 is in slot 1 (bytes 40..80). */
			fstat(fd, &s);
			ASSERT_EQ(s.st_size, 80, ".acked size");
			ASSERT_EQ(pwrite(fd, "xxxx", 4, 40 + 8), 4, "tear slot 1");
			close(fd);
		}
	}
	q = qopen(&d, 1 << 20, NULL);
	if (!q)
		goto cleanup;
	whq_stats(q, &st);
	ASSERT_EQ(st.acked_seq, 2, "acked from the older slot");
	peek_is(q, 3);
	whq_close(q);
cleanup:
	qdir_down(&d);
}

VEER_TEST(webhook_queue_torn_record)
{
	struct whq_open_info info;
	struct whq_stats st;
	struct qdir d;
	struct whq *q;
	off_t size;
	int fd;

	if (!qdir_up(&d))
		return;
	q = qopen(&d, 1 << 20, NULL);
	if (!q)
		goto cleanup;
	for (uint64_t i = 1; i <= 3; i++)
		append(q, i);
	whq_sync(q);
	whq_close(q);

	/* The last record cut short, as a kill -9 between its write and its fsync leaves it. */
	size = file_size(d.qpath);
	if (!ASSERT_OK(truncate(d.qpath, size - 5), "truncate"))
		goto cleanup;
	q = qopen(&d, 1 << 20, &info);
	if (!q)
		goto cleanup;
	ASSERT_NEQ(info.torn_offset, 0, "torn record found");
	ASSERT_EQ(info.torn_offset + info.torn_bytes, size - 5, "torn bytes to the end");
	whq_stats(q, &st);
	ASSERT_EQ(st.pending_events, 2, "whole records kept");
	ASSERT_EQ(file_size(d.qpath), (off_t)info.torn_offset, "torn tail cut off");
	/* Its number is given again: it was never delivered, never acked. */
	append(q, 3);
	append(q, 4);
	whq_sync(q);
	whq_close(q);

	/* A whole-length record whose bytes changed: the checksum tells. */
	size = file_size(d.qpath);
	fd = open(d.qpath, O_RDWR);
	if (!ASSERT_TRUE(fd >= 0, "open queue"))
		goto cleanup;
	ASSERT_EQ(pwrite(fd, "X", 1, size - 3), 1, "flip a byte of the last body");
	close(fd);
	q = qopen(&d, 1 << 20, &info);
	if (!q)
		goto cleanup;
	ASSERT_NEQ(info.torn_offset, 0, "changed record found");
	for (uint64_t i = 1; i <= 3; i++) {
		peek_is(q, i);
		whq_ack(q);
	}
	whq_stats(q, &st);
	ASSERT_EQ(st.pending_events, 0, "nothing after the torn record");
	whq_close(q);
cleanup:
	qdir_down(&d);
}

VEER_TEST(webhook_queue_full)
{
	struct whq_stats st;
	struct qdir d;
	struct whq *q;
	/* Each test record up to seq 9: 16 bytes of header and 19 of body. */
	const uint64_t rec = 16 + 19, max = 3 * rec;

	if (!qdir_up(&d))
		return;
	q = qopen(&d, max, NULL);
	if (!q)
		goto cleanup;
	for (uint64_t i = 1; i <= 3; i++)
		append(q, i);
	ASSERT_EQ(whq_next_seq(q), 4, "next seq when full");
	ASSERT_FALSE(whq_fits(q, 1), "a byte more fits");
	ASSERT_FALSE(whq_fits(q, 0), "not even an empty body fits");
	ASSERT_EQ(whq_append(q, "{\"id\":\"e4\",\"seq\":4}", 19), -ENOSPC, "fourth refused");
	/* The dropped event used its number: the receiver sees 3 then 5. */
	ASSERT_EQ(whq_next_seq(q), 5, "next seq after a drop");
	whq_stats(q, &st);
	ASSERT_EQ(st.pending_bytes, max, "pending bytes at the bound");
	ASSERT_EQ(whq_append(q, "x", WHQ_RECORD_MAX + 1), -EMSGSIZE, "oversized body");
	whq_sync(q);
	peek_is(q, 1);
	whq_ack(q);
	/* Room for one again; a drop decided before building the body still takes a number. */
	ASSERT_TRUE(whq_fits(q, 19), "one record fits after an ack");
	ASSERT_FALSE(whq_fits(q, 20), "a larger one does not");
	whq_skip(q);
	ASSERT_EQ(whq_next_seq(q), 7, "next seq after a skip");
	append(q, 7);
	whq_sync(q);
	for (uint64_t i = 2; i <= 3; i++) {
		peek_is(q, i);
		whq_ack(q);
	}
	peek_is(q, 7);
	whq_close(q);
cleanup:
	qdir_down(&d);
}

VEER_TEST(webhook_queue_compaction)
{
	struct whq_stats st;
	struct qdir d;
	struct whq *q;
	char saved[80];
	off_t before;
	int fd;

	if (!qdir_up(&d))
		return;
	q = qopen(&d, 1 << 20, NULL);
	if (!q)
		goto cleanup;
	whq_set_compact_min(q, 10 * 36);
	for (uint64_t i = 1; i <= 30; i++)
		append(q, i);
	whq_sync(q);
	before = file_size(d.qpath);
	/*
	 * Records 1-9 take 35 bytes, 10-30 37: after 16 acks the delivered part (574 bytes)
	 * passes the rest (518) for the first time, and the minimum.
	 */
	for (uint64_t i = 1; i <= 15; i++) {
		peek_is(q, i);
		whq_ack(q);
	}
	whq_stats(q, &st);
	ASSERT_EQ(st.compactions, 0, "no compaction while the delivered part is smaller");
	/* The position just before the compacting ack, as a crash after the rename leaves it. */
	fd = open(d.apath, O_RDONLY);
	ASSERT_EQ(pread(fd, saved, sizeof(saved), 0), (ssize_t)sizeof(saved), "save .acked");
	close(fd);
	peek_is(q, 16);
	whq_ack(q);
	whq_stats(q, &st);
	ASSERT_EQ(st.compactions, 1, "compacted");
	ASSERT_EQ(st.pending_events, 14, "pending kept");
	ASSERT_LE(file_size(d.qpath), before / 2 + 24, "file shrank");
	peek_is(q, 17);
	whq_close(q);

	q = qopen(&d, 1 << 20, NULL);
	if (!q)
		goto cleanup;
	peek_is(q, 17);
	whq_close(q);

	/* The new file in place, the position of the old one: found again by sequence number. */
	fd = open(d.apath, O_WRONLY);
	ASSERT_EQ(pwrite(fd, saved, sizeof(saved), 0), (ssize_t)sizeof(saved), "restore .acked");
	close(fd);
	q = qopen(&d, 1 << 20, NULL);
	if (!q)
		goto cleanup;
	whq_stats(q, &st);
	ASSERT_EQ(st.acked_seq, 15, "the older position");
	ASSERT_EQ(st.pending_events, 14, "nothing lost, nothing delivered twice");
	peek_is(q, 17);
	/* Everything delivered: the next compaction leaves an empty file. */
	for (uint64_t i = 17; i <= 30; i++) {
		peek_is(q, i);
		whq_ack(q);
	}
	whq_stats(q, &st);
	ASSERT_EQ(st.pending_bytes, 0, "all delivered");
	ASSERT_EQ(st.next_seq, 31, "next seq");
	whq_close(q);
	q = qopen(&d, 1 << 20, NULL);
	if (!q)
		goto cleanup;
	ASSERT_EQ(whq_next_seq(q), 31, "next seq survives an empty queue");
	whq_close(q);
cleanup:
	qdir_down(&d);
}

VEER_TEST(webhook_queue_bad_header)
{
	char dir[96], err[512] = "";
	struct qdir d;
	struct whq *q;
	int fd;

	if (!qdir_up(&d))
		return;
	snprintf(dir, sizeof(dir), "%s/q", d.dir);
	mkdir(dir, 0700);
	fd = open(d.qpath, O_WRONLY | O_CREAT, 0600);
	if (ASSERT_TRUE(fd >= 0, "create queue file")) {
		ASSERT_EQ(write(fd, "this is not a queue file at all", 31), 31, "write junk");
		close(fd);
	}
	ASSERT_EQ(whq_open(&q, dir, URL, 1 << 20, NULL, err, sizeof(err)), -EINVAL, "refused");
	ASSERT_TRUE(strstr(err, d.qpath) && strstr(err, "not a veer webhook queue"), err);
	qdir_down(&d);
}
