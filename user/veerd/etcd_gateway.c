// SPDX-License-Identifier: GPL-2.0
/*
 * etcd's v3 JSON gateway: what veerd sends and how it reads the answers (etcd_gateway.h).
 * base64 is OpenSSL's, JSON is json-c's; the incremental splitting of the watch stream is
 * json-c's tokener, fed as the bytes come.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include "etcd_gateway.h"

int etcd_b64_encode(const void *in, size_t len, char **out)
{
	size_t n = 4 * ((len + 2) / 3);
	char *s = malloc(n + 1);

	if (!s)
		return -ENOMEM;
	/* EVP_EncodeBlock takes an int: keys and values of etcd are far smaller (1.5 MiB). */
	if (len > INT32_MAX / 2) {
		free(s);
		return -E2BIG;
	}
	EVP_EncodeBlock((unsigned char *)s, in, (int)len);
	s[n] = '\0';
	*out = s;
	return 0;
}

int etcd_b64_decode(const char *in, size_t inlen, char **out, size_t *len)
{
	EVP_ENCODE_CTX *ctx;
	char *buf;
	int n = 0, m = 0, err = 0;

	if (inlen > ETCD_MSG_MAX)
		return -E2BIG;
	/* The context's decoder keeps padding and whitespace rules in one place: OpenSSL's. */
	buf = malloc(inlen / 4 * 3 + 4);
	ctx = EVP_ENCODE_CTX_new();
	if (!buf || !ctx) {
		err = -ENOMEM;
		goto cleanup;
	}
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, (unsigned char *)buf, &n, (const unsigned char *)in, (int)inlen) <
		    0 ||
	    /* Final decodes what Update left: a length that is not a multiple of 4 fails here. */
	    EVP_DecodeFinal(ctx, (unsigned char *)buf + n, &m) < 0) {
		err = -EINVAL;
		goto cleanup;
	}
	buf[n + m] = '\0';
	*out = buf;
	*len = n + m;
	buf = NULL;
cleanup:
	EVP_ENCODE_CTX_free(ctx);
	free(buf);
	return err;
}

int etcd_prefix_end(const char *prefix, size_t len, char **end)
{
	char *e = malloc(len + 1);

	if (!e)
		return -ENOMEM;
	memcpy(e, prefix, len);
	while (len && (unsigned char)e[len - 1] == 0xff)
		len--;
	if (!len) {
		/* etcd's range_end "\0": every key from the start. */
		e[0] = '\0';
		*end = e;
		return 1;
	}
	e[len - 1]++;
	e[len] = '\0';
	*end = e;
	return (int)len;
}

/* {"key": b64(prefix), "range_end": b64(end)} plus what extra adds. */
static struct json_object *prefix_request(const char *prefix)
{
	struct json_object *o = json_object_new_object();
	char *k = NULL, *e = NULL, *end = NULL;
	int n;

	if (!o)
		return NULL;
	n = etcd_prefix_end(prefix, strlen(prefix), &end);
	if (n < 0 || etcd_b64_encode(prefix, strlen(prefix), &k) || etcd_b64_encode(end, n, &e) ||
	    json_object_object_add(o, "key", json_object_new_string(k)) ||
	    json_object_object_add(o, "range_end", json_object_new_string(e))) {
		json_object_put(o);
		o = NULL;
	}
	free(end);
	free(k);
	free(e);
	return o;
}

static int body_of(struct json_object *o, char **body)
{
	const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;

	*body = s ? strdup(s) : NULL;
	json_object_put(o);
	return *body ? 0 : -ENOMEM;
}

int etcd_range_body(const char *prefix, char **body)
{
	return body_of(prefix_request(prefix), body);
}

int etcd_watch_body(const char *prefix, int64_t start, char **body)
{
	struct json_object *o = json_object_new_object(), *c = prefix_request(prefix);
	char rev[24];

	snprintf(rev, sizeof(rev), "%" PRId64, start);
	if (!o || !c || json_object_object_add(c, "start_revision", json_object_new_string(rev)) ||
	    json_object_object_add(c, "progress_notify", json_object_new_boolean(1)) ||
	    json_object_object_add(o, "create_request", c)) {
		json_object_put(c);
		json_object_put(o);
		return -ENOMEM;
	}
	return body_of(o, body);
}

struct curl_slist *etcd_headers(bool watch)
{
	const char *want[] = {"Content-Type: application/json", "Expect:",
			      ETCD_HEADER_REQUIRE_LEADER};
	struct curl_slist *h = NULL, *n;

	for (size_t i = 0; i < (watch ? 3 : 2); i++) {
		n = curl_slist_append(h, want[i]);
		if (!n) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = n;
	}
	return h;
}

int etcd_put_body(const char *key, const char *value, char **body)
{
	struct json_object *o = json_object_new_object();
	char *k = NULL, *v = NULL;
	int err = -ENOMEM;

	if (o && !etcd_b64_encode(key, strlen(key), &k) &&
	    !etcd_b64_encode(value, strlen(value), &v) &&
	    !json_object_object_add(o, "key", json_object_new_string(k)) &&
	    !json_object_object_add(o, "value", json_object_new_string(v))) {
		err = body_of(o, body);
		o = NULL;
	}
	json_object_put(o);
	free(k);
	free(v);
	return err;
}

void etcd_kvs_free(struct etcd_kv *kvs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kvs[i].key);
		free(kvs[i].value);
	}
	free(kvs);
}

/* ---- reading responses ---- */

#define BAD(...)                                                                                   \
	({                                                                                         \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		-EBADMSG;                                                                          \
	})

/*
 * A 64-bit number the gateway writes as a JSON string ("42"), or as a number; 0 when absent.
 * Revisions are signed (int64 in etcd's protos), cluster ids unsigned: one reader for both.
 */
static int get_num(struct json_object *o, const char *name, bool sign, uint64_t *v, char *err,
		   size_t errlen)
{
	struct json_object *f;
	const char *s;
	char *end;

	*v = 0;
	if (!json_object_object_get_ex(o, name, &f) || json_object_is_type(f, json_type_null))
		return 0;
	if (json_object_is_type(f, json_type_int)) {
		*v = sign ? (uint64_t)json_object_get_int64(f) : json_object_get_uint64(f);
		return 0;
	}
	if (!json_object_is_type(f, json_type_string))
		return BAD("%s: not a number", name);
	s = json_object_get_string(f);
	errno = 0;
	*v = sign ? (uint64_t)strtoll(s, &end, 10) : strtoull(s, &end, 10);
	if (!*s || *end || errno || (!sign && *s == '-'))
		return BAD("%s: \"%.40s\" is not a number", name, s);
	return 0;
}

static int get_i64(struct json_object *o, const char *name, int64_t *v, char *err, size_t errlen)
{
	uint64_t u;
	int rc = get_num(o, name, true, &u, err, errlen);

	*v = (int64_t)u;
	return rc;
}

static int get_u64(struct json_object *o, const char *name, uint64_t *v, char *err, size_t errlen)
{
	return get_num(o, name, false, v, err, errlen);
}

static bool get_bool(struct json_object *o, const char *name)
{
	struct json_object *f;

	return json_object_object_get_ex(o, name, &f) &&
	       json_object_is_type(f, json_type_boolean) && json_object_get_boolean(f);
}

/* A bytes field: absent is empty. */
static int get_bytes(struct json_object *o, const char *name, bool required, char **out,
		     size_t *len, char *err, size_t errlen)
{
	struct json_object *f;
	const char *s = "";
	int rc;

	if (json_object_object_get_ex(o, name, &f) && !json_object_is_type(f, json_type_null)) {
		if (!json_object_is_type(f, json_type_string))
			return BAD("%s: not a base64 string", name);
		s = json_object_get_string(f);
	} else if (required) {
		return BAD("%s: missing", name);
	}
	rc = etcd_b64_decode(s, strlen(s), out, len);
	if (rc == -EINVAL)
		return BAD("%s: not base64", name);
	return rc;
}

/*
 * {"error": "...", "message": "...", "code": N} (a unary call) or {"error": {"message": ...,
 * "http_code": N}} (a stream): the gateway's way of passing on an etcd error.
 */
static bool gateway_error(struct json_object *o, char *err, size_t errlen)
{
	struct json_object *e, *m = NULL;

	if (!json_object_object_get_ex(o, "error", &e))
		return false;
	if (json_object_is_type(e, json_type_object))
		json_object_object_get_ex(e, "message", &m);
	else if (!json_object_object_get_ex(o, "message", &m))
		m = e;
	snprintf(err, errlen, "etcd says: %s",
		 m && json_object_is_type(m, json_type_string) ? json_object_get_string(m)
							       : json_object_to_json_string(e));
	return true;
}

static int header_parse(struct json_object *o, uint64_t *cluster, int64_t *rev, char *err,
			size_t errlen)
{
	struct json_object *h;

	*cluster = 0;
	*rev = 0;
	if (!json_object_object_get_ex(o, "header", &h) ||
	    !json_object_is_type(h, json_type_object))
		return BAD("no header");
	if (get_u64(h, "cluster_id", cluster, err, errlen) ||
	    get_i64(h, "revision", rev, err, errlen))
		return -EBADMSG;
	return 0;
}

/* One mvccpb.KeyValue; value NULL when del (a delete event carries the key only). */
static int kv_parse(struct json_object *o, bool del, struct etcd_kv *kv, char *err, size_t errlen)
{
	size_t klen, vlen = 0;
	int rc;

	memset(kv, 0, sizeof(*kv));
	if (!json_object_is_type(o, json_type_object))
		return BAD("a key-value that is not an object");
	rc = get_bytes(o, "key", true, &kv->key, &klen, err, errlen);
	if (!rc && strlen(kv->key) != klen)
		rc = BAD("a key with a NUL byte");
	if (!rc && !del)
		rc = get_bytes(o, "value", false, &kv->value, &vlen, err, errlen);
	if (!rc)
		rc = get_i64(o, "create_revision", &kv->create_revision, err, errlen);
	if (!rc)
		rc = get_i64(o, "mod_revision", &kv->mod_revision, err, errlen);
	kv->value_len = vlen;
	if (rc) {
		free(kv->key);
		free(kv->value);
		memset(kv, 0, sizeof(*kv));
	}
	return rc;
}

void etcd_range_clear(struct etcd_range *r)
{
	etcd_kvs_free(r->kvs, r->n);
	memset(r, 0, sizeof(*r));
}

int etcd_range_parse(struct json_object *o, struct etcd_range *r, char *err, size_t errlen)
{
	struct json_object *kvs;
	size_t n;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!json_object_is_type(o, json_type_object))
		return BAD("the response is not a JSON object");
	if (gateway_error(o, err, errlen))
		return -EIO;
	rc = header_parse(o, &r->cluster_id, &r->revision, err, errlen);
	if (rc)
		return rc;
	r->more = get_bool(o, "more");
	if (!json_object_object_get_ex(o, "kvs", &kvs) || json_object_is_type(kvs, json_type_null))
		return 0;
	if (!json_object_is_type(kvs, json_type_array))
		return BAD("kvs: not a list");
	n = json_object_array_length(kvs);
	r->kvs = calloc(n ? n : 1, sizeof(*r->kvs));
	if (!r->kvs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char what[200];

		rc = kv_parse(json_object_array_get_idx(kvs, i), false, &r->kvs[i], what,
			      sizeof(what));
		if (rc) {
			snprintf(err, errlen, "kvs[%zu]: %s", i, what);
			etcd_range_clear(r);
			return rc;
		}
		r->n++;
	}
	return 0;
}

void etcd_watch_clear(struct etcd_watch_msg *m)
{
	etcd_kvs_free(m->events, m->n);
	memset(m, 0, sizeof(*m));
}

int etcd_watch_parse(struct json_object *o, struct etcd_watch_msg *m, char *err, size_t errlen)
{
	struct json_object *res = o, *evs, *f;
	int64_t rev;
	size_t n;
	int rc;

	memset(m, 0, sizeof(*m));
	if (!json_object_is_type(o, json_type_object))
		return BAD("a message that is not a JSON object");
	if (gateway_error(o, err, errlen))
		return -EIO;
	/* The gateway wraps each message of a stream in {"result": ...}. */
	if (json_object_object_get_ex(o, "result", &f)) {
		if (!json_object_is_type(f, json_type_object))
			return BAD("result: not an object");
		res = f;
	}
	rc = header_parse(res, &m->cluster_id, &rev, err, errlen);
	if (!rc)
		rc = get_i64(res, "compact_revision", &m->compact_revision, err, errlen);
	if (rc)
		return rc;
	if (get_bool(res, "canceled")) {
		m->kind = ETCD_WATCH_CANCELED;
		m->revision = rev;
		if (json_object_object_get_ex(res, "cancel_reason", &f) &&
		    json_object_is_type(f, json_type_string))
			snprintf(m->reason, sizeof(m->reason), "%s", json_object_get_string(f));
		return 0;
	}
	if (get_bool(res, "created")) {
		m->kind = ETCD_WATCH_CREATED;
		m->revision = rev;
		return 0;
	}
	if (!json_object_object_get_ex(res, "events", &evs) ||
	    json_object_is_type(evs, json_type_null) ||
	    (json_object_is_type(evs, json_type_array) && !json_object_array_length(evs))) {
		m->kind = ETCD_WATCH_PROGRESS;
		m->revision = rev;
		return 0;
	}
	if (!json_object_is_type(evs, json_type_array))
		return BAD("events: not a list");
	n = json_object_array_length(evs);
	m->kind = ETCD_WATCH_EVENTS;
	m->events = calloc(n, sizeof(*m->events));
	if (!m->events)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *ev = json_object_array_get_idx(evs, i), *kv, *t;
		bool del = false;
		char what[200];

		rc = 0;
		if (!json_object_is_type(ev, json_type_object) ||
		    !json_object_object_get_ex(ev, "kv", &kv)) {
			rc = -EBADMSG;
			snprintf(what, sizeof(what), "no kv");
		} else if (json_object_object_get_ex(ev, "type", &t)) {
			const char *ts = json_object_get_string(t);

			/* PUT is the enum's default, left out; some writers spell it. */
			if (ts && !strcmp(ts, "DELETE"))
				del = true;
			else if (!ts || strcmp(ts, "PUT")) {
				rc = -EBADMSG;
				snprintf(what, sizeof(what), "type: \"%.40s\" is not PUT or DELETE",
					 ts ? ts : "");
			}
		}
		if (!rc)
			rc = kv_parse(kv, del, &m->events[i], what, sizeof(what));
		if (rc) {
			snprintf(err, errlen, "events[%zu]: %s", i, what);
			etcd_watch_clear(m);
			return rc;
		}
		m->n++;
		if (m->events[i].mod_revision > m->revision)
			m->revision = m->events[i].mod_revision;
	}
	return 0;
}

/* ---- the stream ---- */

struct etcd_stream {
	struct json_tokener *tok;
	size_t pending; /* bytes of the object being read, whitespace before it included */
};

int etcd_stream_new(struct etcd_stream **s)
{
	struct etcd_stream *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->tok = json_tokener_new();
	if (!st->tok) {
		free(st);
		return -ENOMEM;
	}
	*s = st;
	return 0;
}

void etcd_stream_free(struct etcd_stream *s)
{
	if (!s)
		return;
	json_tokener_free(s->tok);
	free(s);
}

bool etcd_stream_partial(const struct etcd_stream *s)
{
	return s->pending;
}

/* Whitespace only: what lies between two objects (and after the last) is not an object. */
static size_t skip_ws(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t'))
		i++;
	return i;
}

int etcd_stream_feed(struct etcd_stream *s, const char *buf, size_t len, etcd_stream_cb cb,
		     void *arg, char *err, size_t errlen)
{
	while (len) {
		struct json_object *o;
		enum json_tokener_error jerr;
		size_t n, used;
		int rc;

		if (!s->pending) {
			/* The tokener would take whitespace too; skipping it keeps "pending"
			 * honest. */
			n = skip_ws(buf, len);
			buf += n;
			len -= n;
			if (!len)
				break;
			if (*buf != '{')
				return BAD("a message that is not a JSON object (starts with '%c')",
					   *buf);
		}
		n = len > INT32_MAX ? INT32_MAX : len;
		o = json_tokener_parse_ex(s->tok, buf, (int)n);
		jerr = json_tokener_get_error(s->tok);
		if (!o && jerr == json_tokener_continue) {
			s->pending += n;
			if (s->pending > ETCD_MSG_MAX)
				return BAD("a message over %u MiB", ETCD_MSG_MAX >> 20);
			buf += n;
			len -= n;
			continue;
		}
		if (!o) {
			return BAD("bad JSON after %zu bytes of a message: %s",
				   s->pending + json_tokener_get_parse_end(s->tok),
				   json_tokener_error_desc(jerr));
		}
		used = json_tokener_get_parse_end(s->tok);
		json_tokener_reset(s->tok);
		s->pending = 0;
		buf += used;
		len -= used;
		rc = cb(o, arg);
		json_object_put(o);
		if (rc)
			return rc;
	}
	return 0;
}
