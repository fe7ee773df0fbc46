/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A webhook's durable queue (webhook_queue.c) and its signature: the parts of the webhooks
 * that touch no socket, so that the unit tests run them as veerd does.
 *
 * One queue per webhook URL under a directory: DIR/HASH.queue holds the events, appended as
 * records [u32 length][u32 crc32][u64 seq][body], and DIR/HASH.acked the last delivered
 * sequence number and where the next record starts, in two alternating checksummed slots so
 * that a torn write of one leaves the other. HASH is the first 16 hex digits of the URL's
 * SHA-256. Numbers are in the host's byte order: the files never leave the node.
 *
 * A record is delivered only once fsync'd (whq_sync); an acknowledged delivery is recorded
 * and fsync'd before the next one starts (whq_ack). A crash re-delivers at most the records
 * in flight, never loses one that whq_sync made durable.
 */
#ifndef VEERD_WEBHOOK_QUEUE_H
#define VEERD_WEBHOOK_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One event's body is never this large; a record that claims more is torn. */
#define WHQ_RECORD_MAX (1u << 20)
#define WHQ_HASH_LEN   16

struct whq;

struct whq_stats {
	uint64_t pending_bytes;	 /* records not yet delivered, headers included */
	uint64_t pending_events; /* how many */
	uint64_t file_bytes;	 /* the queue file, the delivered part not yet compacted included */
	uint64_t next_seq;	 /* the sequence number the next append gets */
	uint64_t acked_seq;	 /* the last one delivered */
	uint64_t compactions;
};

/* What whq_open found: a torn tail is cut off and reported here for the caller's log. */
struct whq_open_info {
	uint64_t torn_offset; /* where the torn record started; 0 = none */
	uint64_t torn_bytes;  /* bytes cut off from there */
	bool created;	      /* no queue was there */
};

/*
 * Opens (creating DIR and the files as needed, mode 0700/0600) the queue of url, bounded to
 * max bytes of undelivered records, and locks it against another process. 0, or -errno with
 * err saying what failed and which file.
 */
int whq_open(struct whq **q, const char *dir, const char *url, uint64_t max,
	     struct whq_open_info *info, char *err, size_t errlen);
void whq_close(struct whq *q);
/* The queue file's path, for messages. */
const char *whq_path(const struct whq *q);
/* The file name's stem for url: 16 hex digits and a NUL. */
void whq_hash(const char *url, char out[WHQ_HASH_LEN + 1]);

/*
 * The sequence number the next whq_append takes: the caller writes it into the body first.
 * A dropped event uses its number too, so that a receiver sees the gap.
 */
uint64_t whq_next_seq(const struct whq *q);
/*
 * Appends body under whq_next_seq(q), not yet durable. -ENOSPC when the undelivered records
 * would exceed max (the event is dropped, its number used), -EMSGSIZE for a body over
 * WHQ_RECORD_MAX, another -errno when the write failed (the file is as it was).
 */
int whq_append(struct whq *q, const void *body, size_t len);
/*
 * Whether a body of len bytes would fit under max now: a full queue refuses an event before
 * its body is built (whq_next_seq's number is then used by whq_skip).
 */
bool whq_fits(const struct whq *q, size_t len);
/* Uses whq_next_seq's number for an event dropped without whq_append. */
void whq_skip(struct whq *q);
/* fdatasync of what was appended since the last call; nothing to do is free. */
int whq_sync(struct whq *q);
/* Whether whq_append wrote something whq_sync has not made durable yet. */
bool whq_dirty(const struct whq *q);
/*
 * The oldest durable record not delivered: 0 with *body (valid until the next whq_ack or
 * whq_close), *len and *seq; -ENOENT when there is none; -EIO when it cannot be read (the
 * rest of the file is then cut off and counted in *lost when lost is given).
 */
int whq_peek(struct whq *q, const void **body, size_t *len, uint64_t *seq, uint64_t *lost);
/*
 * The record whq_peek gave is delivered: records it (fsync'd) and compacts the file when its
 * delivered part is both large and at least as large as the rest.
 */
int whq_ack(struct whq *q);
void whq_stats(const struct whq *q, struct whq_stats *s);
/* Compaction threshold in bytes (default: 1 MiB or max, whichever is smaller), for tests. */
void whq_set_compact_min(struct whq *q, uint64_t bytes);

/*
 * X-Veer-Signature's value for body: "sha256=" and the lowercase hex of HMAC-SHA256(key,
 * body). out holds WEBHOOK_SIG_LEN bytes. 0 or -EINVAL (OpenSSL refused).
 */
#define WEBHOOK_SIG_LEN (7 + 64 + 1)
int webhook_sign(const void *key, size_t keylen, const void *body, size_t len,
		 char out[WEBHOOK_SIG_LEN]);

#endif
