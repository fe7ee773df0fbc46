/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The messages of etcd's v3 JSON gateway (grpc-gateway over HTTP/1.1): request bodies, range
 * and watch responses, and the watch's stream of JSON objects split as bytes arrive. Pure
 * functions, no I/O: source_etcd.c runs them on veerd's loop, tests/unit/test_etcd.c on fixed
 * bytes.
 *
 * The gateway writes bytes fields (keys, values, range ends) in base64 and 64-bit integers
 * (revisions) as JSON strings; a field at its default (0, false, a PUT event's type) is left out.
 */
#ifndef VEERD_ETCD_GATEWAY_H
#define VEERD_ETCD_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

struct curl_slist;

/* The most a single response (a range, one watch message) may take. */
#define ETCD_MSG_MAX (64u << 20)

/* base64 without line breaks, NUL-terminated. 0 or -ENOMEM. */
int etcd_b64_encode(const void *in, size_t len, char **out);
/* base64 -> bytes, NUL-terminated (len excludes it). 0, -EINVAL (not base64) or -ENOMEM. */
int etcd_b64_decode(const char *in, size_t inlen, char **out, size_t *len);

/*
 * The end of the range of every key under prefix: the prefix with its last byte plus one (a
 * trailing 0xff is dropped first); "\0" (every key) for a prefix of 0xff bytes only. Returns
 * its length; *end is NUL-terminated. -ENOMEM.
 */
int etcd_prefix_end(const char *prefix, size_t len, char **end);

/* The body of a /v3/kv/range request for every key under prefix. */
int etcd_range_body(const char *prefix, char **body);
/*
 * The body of a /v3/watch request for every key under prefix from revision start, with
 * progress notifications (so that the revision resumed from moves on while nothing changes).
 */
int etcd_watch_body(const char *prefix, int64_t start, char **body);
/*
 * The headers of a request: JSON, no "Expect: 100-continue"; a watch also asks etcd to cancel
 * it when the member loses its leader (the gateway passes Grpc-Metadata-hasleader on as the
 * gRPC metadata hasleader=true, as clientv3.WithRequireLeader does): a member cut off from the
 * quorum would otherwise keep an idle watch open forever, and its keys go stale. The watch
 * then ends and the next endpoint is tried. NULL when out of memory.
 */
#define ETCD_HEADER_REQUIRE_LEADER "Grpc-Metadata-hasleader: true"
struct curl_slist *etcd_headers(bool watch);
/* The body of a /v3/kv/put request. */
int etcd_put_body(const char *key, const char *value, char **body);

struct etcd_kv {
	char *key;
	char *value; /* NULL for a delete */
	size_t value_len;
	int64_t create_revision, mod_revision;
};

void etcd_kvs_free(struct etcd_kv *kvs, size_t n);

struct etcd_range {
	uint64_t cluster_id;
	int64_t revision; /* the store's, at which the range was read */
	struct etcd_kv *kvs;
	size_t n;
	bool more; /* the response was cut by a limit */
};

/*
 * A /v3/kv/range response. -EBADMSG with err saying what was wrong; an error the gateway
 * answered ({"error": ..., "code": N}) is -EIO with its message in err.
 */
int etcd_range_parse(struct json_object *o, struct etcd_range *r, char *err, size_t errlen);
void etcd_range_clear(struct etcd_range *r);

enum etcd_watch_kind {
	ETCD_WATCH_CREATED,  /* the watch is in place (no events yet) */
	ETCD_WATCH_EVENTS,   /* events; revision is the last event's mod_revision */
	ETCD_WATCH_PROGRESS, /* no events: every change up to revision has been sent */
	ETCD_WATCH_CANCELED, /* canceled; compact_revision set when the start was compacted */
};

struct etcd_watch_msg {
	enum etcd_watch_kind kind;
	uint64_t cluster_id;
	int64_t revision;
	int64_t compact_revision;
	char reason[256]; /* a cancel's reason, when the server gives one */
	struct etcd_kv *events;
	size_t n;
};

/* One message of the /v3/watch stream. -EBADMSG or -EIO (an error message) with err set. */
int etcd_watch_parse(struct json_object *o, struct etcd_watch_msg *m, char *err, size_t errlen);
void etcd_watch_clear(struct etcd_watch_msg *m);

/*
 * A stream of JSON objects, one after another with any whitespace between (the watch's body;
 * a range's body is a stream of one). Bytes are fed as they arrive; each whole object goes to
 * cb, which gets a reference of its own only if it takes one (json_object_get).
 */
struct etcd_stream;
typedef int (*etcd_stream_cb)(struct json_object *o, void *arg);

int etcd_stream_new(struct etcd_stream **s);
void etcd_stream_free(struct etcd_stream *s);
/*
 * 0 when every byte was taken (an object may be left half-way, waiting for more), cb's
 * non-zero return as soon as it returns one, or -EBADMSG with err saying what was wrong (the
 * stream is then unusable: the caller drops the connection).
 */
int etcd_stream_feed(struct etcd_stream *s, const char *buf, size_t len, etcd_stream_cb cb,
		     void *arg, char *err, size_t errlen);
/* Whether an object is half-way: a body that ends so was cut. */
bool etcd_stream_partial(const struct etcd_stream *s);

#endif
