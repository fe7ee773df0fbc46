// SPDX-License-Identifier: GPL-2.0
/*
 * The etcd source: every key under PREFIX "vips/" holds one VIP as JSON with the fields of a
 * YAML `vips` entry. veerd lists them through etcd's v3 JSON gateway (POST /v3/kv/range), then
 * watches from the listed revision + 1 (POST /v3/watch, a stream of JSON messages), on its
 * loop through http.c: never a blocking call.
 *
 * What it keeps: a table of the keys (sorted), each with the bytes last seen and the VIP of
 * its last good value. A key whose value is refused keeps its last good VIP (or declares
 * none); the refusal is logged once with the key, counted and sent as a config_refused
 * event. The source's view (source_set) is handed over only when a good VIP changed.
 *
 * Connection: one transfer at a time, a range or a watch, on one of the endpoints. When it
 * ends or fails, the next endpoint is tried after a capped exponential backoff with jitter;
 * a watch resumes from the last revision seen + 1, so nothing is applied again. A start the
 * cluster compacted away (canceled, compact_revision) or another cluster (cluster_id) means
 * a new list, and only its difference reaches the data plane.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "veerd.h"
#include "etcd_gateway.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
/* A dead peer behind an idle watch: TCP keepalive finds it (idle 10 s, then every 5 s). */
#define KEEPALIVE_IDLE_S  10
#define KEEPALIVE_INTVL_S 5
#define ERRBODY_MAX	  512
/* A failure's story: what, the endpoint (up to VEER_URL_LEN), and what etcd said. */
#define WHY_LEN 2048

struct etcd_key {
	char *key;
	char *value; /* the bytes last seen, good or not */
	size_t value_len;
	bool good; /* spec is the last good value's VIP */
	struct veer_vip_spec spec;
	int64_t created; /* create_revision: of two keys of one VIP, the older holds it */
	bool dup;	 /* refused as another key's VIP: told once */
};

enum etcd_state { ETCD_IDLE, ETCD_RANGE, ETCD_WATCH };

struct etcd {
	struct veerd *d;
	struct veer_etcd_spec spec;
	char prefix[sizeof(((struct veer_etcd_spec *)0)->prefix) + 8]; /* PREFIX "vips/" */
	struct source *src;

	CURL *easy;
	struct curl_slist *hdrs, *watch_hdrs;
	enum etcd_state state;
	char *body; /* the request's, alive as long as its transfer */
	struct etcd_stream *stream;
	struct json_object *answer; /* a range's one object */
	char errbody[ERRBODY_MAX];  /* the start of an answer that is not 200 */
	char why[1600];		    /* what this transfer found wrong, for its end */
	bool relist;		    /* this watch ended for a new list */
	bool created;		    /* this watch is in place */

	size_t ep;	/* the endpoint in use */
	unsigned fails; /* failures since the last watch in place */
	bool connected; /* a watch was in place and nothing failed since */
	bool listed;	/* rev and the table come from a list */
	bool synced;	/* the view was handed over once */
	char last_warn[VEER_ETCD_ENDPOINTS_MAX][WHY_LEN]; /* each endpoint's last failure logged */
	int64_t rev; /* every change up to rev is in the table */
	uint64_t cluster_id;
	struct loop_timer retry;
	uint64_t seed;

	struct etcd_key *keys;
	size_t nkeys, cap;
};

static const char *endpoint(const struct etcd *e)
{
	return e->spec.endpoints[e->ep];
}

/* ---- the table of keys ---- */

static void key_clear(struct etcd_key *k)
{
	free(k->key);
	free(k->value);
	if (k->good)
		free(k->spec.backends);
	memset(k, 0, sizeof(*k));
}

static void keys_free(struct etcd_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		key_clear(&keys[i]);
	free(keys);
}

/* The index of key, or where it would go (*found false). */
static size_t key_find(const struct etcd *e, const char *key, bool *found)
{
	size_t lo = 0, hi = e->nkeys;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(e->keys[mid].key, key);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int key_insert(struct etcd *e, size_t at, const char *key)
{
	char *k = strdup(key);

	if (!k)
		return -ENOMEM;
	if (e->nkeys == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 16;
		struct etcd_key *keys = realloc(e->keys, cap * sizeof(*keys));

		if (!keys) {
			free(k);
			return -ENOMEM;
		}
		e->keys = keys;
		e->cap = cap;
	}
	memmove(&e->keys[at + 1], &e->keys[at], (e->nkeys - at) * sizeof(*e->keys));
	memset(&e->keys[at], 0, sizeof(*e->keys));
	e->keys[at].key = k;
	e->nkeys++;
	return 0;
}

/*
 * k takes value (len bytes): true when its VIP changed. A value refused is logged, counted and
 * reported once (source_refused); the last good VIP stays.
 */
static bool key_value(struct etcd *e, struct etcd_key *k, const char *value, size_t len)
{
	char name[sizeof(e->prefix) + 512], err[VEER_CONFIG_ERR_LEN], why[VEER_CONFIG_ERR_LEN + 64];
	struct veer_vip_spec spec;
	size_t nlen;
	char *copy;

	if (k->value && k->value_len == len && !memcmp(k->value, value, len))
		return false;
	copy = malloc(len + 1);
	if (!copy) {
		log_warnx("etcd key %s: out of memory: its last value stays", k->key);
		return false;
	}
	memcpy(copy, value, len);
	copy[len] = '\0';
	free(k->value);
	k->value = copy;
	k->value_len = len;
	snprintf(name, sizeof(name), "etcd key %s", k->key);
	if (veer_vip_spec_parse_json(value, len, name, &spec, err, sizeof(err))) {
		/* The message names the key first: source_refused puts the name in front. */
		nlen = strlen(name);
		snprintf(why, sizeof(why), "%s; %s",
			 !strncmp(err, name, nlen) && !strncmp(err + nlen, ": ", 2) ? err + nlen + 2
										    : err,
			 k->good ? "its last good VIP stays" : "it declares no VIP");
		source_refused(e->src, name, why);
		return false;
	}
	if (k->good)
		free(k->spec.backends);
	k->spec = spec;
	k->good = true;
	k->dup = false;
	return true;
}

/* A put of kv: true when the view changed. */
static bool key_put(struct etcd *e, const struct etcd_kv *kv)
{
	bool found;
	size_t at = key_find(e, kv->key, &found);

	if (!found && key_insert(e, at, kv->key)) {
		log_warnx("etcd key %s: out of memory: ignored", kv->key);
		return false;
	}
	e->keys[at].created = kv->create_revision;
	return key_value(e, &e->keys[at], kv->value, kv->value_len);
}

static bool key_delete(struct etcd *e, const char *key)
{
	bool found, good;
	size_t at = key_find(e, key, &found);

	if (!found)
		return false;
	log_info("etcd key %s deleted%s", key, e->keys[at].good ? "" : " (it declared no VIP)");
	good = e->keys[at].good;
	key_clear(&e->keys[at]);
	memmove(&e->keys[at], &e->keys[at + 1], (e->nkeys - at - 1) * sizeof(*e->keys));
	e->nkeys--;
	return good;
}

/*
 * A new list: the table becomes kvs (sorted by key, as etcd answers). A key whose bytes did
 * not change keeps its state (and is not reported again). True when the view changed.
 */
static bool keys_relist(struct etcd *e, struct etcd_kv *kvs, size_t n)
{
	struct etcd_key *old = e->keys;
	size_t nold = e->nkeys, j = 0;
	bool changed = false;

	e->keys = calloc(n ? n : 1, sizeof(*e->keys));
	if (!e->keys) {
		e->keys = old;
		log_warnx("etcd: out of memory for a list of %zu keys: the last one stays", n);
		return false;
	}
	e->cap = n ? n : 1;
	e->nkeys = 0;
	for (size_t i = 0; i < n; i++) {
		struct etcd_key *k = &e->keys[e->nkeys];
		int c = 1;

		if (strncmp(kvs[i].key, e->prefix, strlen(e->prefix)))
			continue;
		/* Old keys before this one are gone. */
		while (j < nold && (c = strcmp(old[j].key, kvs[i].key)) < 0) {
			changed |= old[j].good;
			key_clear(&old[j++]);
		}
		if (j < nold && c == 0) {
			*k = old[j];
			memset(&old[j++], 0, sizeof(*old));
		} else {
			k->key = kvs[i].key;
			kvs[i].key = NULL;
		}
		e->nkeys++;
		k->created = kvs[i].create_revision;
		changed |= key_value(e, k, kvs[i].value, kvs[i].value_len);
	}
	for (; j < nold; j++) {
		changed |= old[j].good;
		key_clear(&old[j]);
	}
	free(old);
	return changed;
}

/* By VIP, then the oldest key first (create_revision, then name): the one that holds it. */
static int holder_cmp(const void *a, const void *b)
{
	const struct etcd_key *x = *(struct etcd_key *const *)a, *y = *(struct etcd_key *const *)b;
	int c = memcmp(&x->spec.key, &y->spec.key, sizeof(x->spec.key));

	if (c)
		return c;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->key, y->key);
}

/*
 * Hands the view to sources.c: one VIP per good key. A VIP two keys declare is the older
 * key's (created first): a key written later cannot take a VIP from under the one that has it.
 */
static void publish(struct etcd *e)
{
	struct etcd_key **good = calloc(e->nkeys ? e->nkeys : 1, sizeof(*good));
	struct veer_vip_spec *specs = calloc(e->nkeys ? e->nkeys : 1, sizeof(*specs));
	char **origins = calloc(e->nkeys ? e->nkeys : 1, sizeof(*origins));
	size_t n = 0, ngood = 0;

	if (!good || !specs || !origins)
		goto oom;
	for (size_t i = 0; i < e->nkeys; i++)
		if (e->keys[i].good)
			good[ngood++] = &e->keys[i];
	qsort(good, ngood, sizeof(*good), holder_cmp);
	for (size_t i = 0; i < ngood; i++) {
		struct etcd_key *k = good[i];

		if (n && !memcmp(&specs[n - 1].key, &k->spec.key, sizeof(k->spec.key))) {
			char name[sizeof(e->prefix) + 512], msg[600], vip[VEER_ADDR_STRLEN];

			if (!k->dup) {
				snprintf(name, sizeof(name), "etcd key %s", k->key);
				snprintf(msg, sizeof(msg),
					 "VIP %s is declared by %s too, which holds it",
					 veer_fmt_vip(&k->spec.key, vip, sizeof(vip)),
					 origins[n - 1]);
				source_refused(e->src, name, msg);
				k->dup = true;
			}
			continue;
		}
		k->dup = false;
		if (veer_vip_spec_copy(&specs[n], &k->spec))
			goto oom;
		if (asprintf(&origins[n], "etcd key %s", k->key) < 0) {
			origins[n] = NULL;
			free(specs[n].backends);
			goto oom;
		}
		n++;
	}
	free(good);
	source_set(e->src, specs, origins, n);
	e->synced = true;
	return;
oom:
	log_warnx("etcd: out of memory: the data plane keeps the last view");
	free(good);
	if (specs)
		veer_vip_specs_free(specs, n);
	for (size_t i = 0; origins && i < n; i++)
		free(origins[i]);
	free(origins);
}

/*
 * A key refused with no good value since veerd started may be one that held a VIP before a
 * restart: while there is one, the source's VIPs no key declares now are kept, not removed.
 */
static void hold_update(struct etcd *e)
{
	bool hold = false;

	for (size_t i = 0; i < e->nkeys && !hold; i++)
		hold = !e->keys[i].good;
	source_hold(e->src, hold);
}

/* ---- the connection ---- */

static void transfer_start(struct etcd *e);

static uint64_t backoff_ms(struct etcd *e)
{
	/* Every endpoint is tried at the same step before the wait doubles. */
	unsigned step = (e->fails - 1) / e->spec.nendpoints;
	uint64_t ms = step >= 16 ? BACKOFF_MAX_MS : (uint64_t)BACKOFF_MIN_MS << step;

	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	/* Half of it, plus up to as much at random: nodes that lost etcd together spread out. */
	e->seed = e->seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return ms / 2 + (e->seed >> 33) % (ms / 2 + 1);
}

static void on_retry(struct loop *l, struct loop_timer *t)
{
	(void)l;
	transfer_start(t->arg);
}

static void transfer_reset(struct etcd *e)
{
	free(e->body);
	e->body = NULL;
	etcd_stream_free(e->stream);
	e->stream = NULL;
	json_object_put(e->answer);
	e->answer = NULL;
	e->errbody[0] = '\0';
	e->why[0] = '\0';
	e->relist = false;
	e->created = false;
	e->state = ETCD_IDLE;
}

/* The transfer failed: why is the whole story, the endpoint included. */
static void failed(struct etcd *e, const char *why)
{
	uint64_t ms;

	transfer_reset(e);
	e->fails++;
	ms = backoff_ms(e);
	if (e->connected) {
		e->connected = false;
		/* Logs it and sends source_lost. */
		source_lost(e->src, why);
		snprintf(e->last_warn[e->ep], sizeof(e->last_warn[e->ep]), "%s", why);
	} else if (strcmp(e->last_warn[e->ep], why)) {
		/* Once per endpoint and reason: a dead member is not a line per try. */
		log_warnx("etcd: %s; trying again (VIPs from etcd stay as they are)", why);
		snprintf(e->last_warn[e->ep], sizeof(e->last_warn[e->ep]), "%s", why);
	} else {
		log_debug("etcd: %s; next try in %" PRIu64 " ms", why, ms);
	}
	e->ep = (e->ep + 1) % e->spec.nendpoints;
	loop_timer_at(e->d->loop, &e->retry, loop_now() + ms * 1000000);
}

/* The start of a refused answer as a message: etcd's own words when it gave JSON. */
static void errbody_describe(struct etcd *e, long status, char *buf, size_t len)
{
	struct json_object *o = json_tokener_parse(e->errbody);
	struct json_object *m = NULL, *err = NULL;
	size_t n;

	if (o && json_object_is_type(o, json_type_object) &&
	    (json_object_object_get_ex(o, "message", &m) ||
	     (json_object_object_get_ex(o, "error", &err) &&
	      json_object_is_type(err, json_type_object) &&
	      json_object_object_get_ex(err, "message", &m))) &&
	    json_object_is_type(m, json_type_string)) {
		snprintf(buf, len, "HTTP %ld from %s: etcd says: %s", status, endpoint(e),
			 json_object_get_string(m));
	} else {
		/* Not etcd's JSON: the first line of what came, which names what answered. */
		n = strcspn(e->errbody, "\r\n");
		snprintf(buf, len, "HTTP %ld from %s%s%.*s", status, endpoint(e), n ? ": " : "",
			 (int)(n > 120 ? 120 : n), e->errbody);
	}
	json_object_put(o);
}

static bool status_ok(struct etcd *e, long *status)
{
	*status = 0;
	curl_easy_getinfo(e->easy, CURLINFO_RESPONSE_CODE, status);
	return *status == 200;
}

/* An answer not 200: its start is kept for the message. */
static size_t errbody_add(struct etcd *e, const char *p, size_t n)
{
	size_t have = strlen(e->errbody), take = n;

	if (take > sizeof(e->errbody) - 1 - have)
		take = sizeof(e->errbody) - 1 - have;
	memcpy(e->errbody + have, p, take);
	e->errbody[have + take] = '\0';
	return n;
}

/* ---- the list ---- */

static int range_object(struct json_object *o, void *arg)
{
	struct etcd *e = arg;

	if (e->answer) {
		snprintf(e->why, sizeof(e->why),
			 "malformed answer to a list from %s: more than one JSON object",
			 endpoint(e));
		return -EBADMSG;
	}
	e->answer = json_object_get(o);
	return 0;
}

static size_t range_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct etcd *e = arg;
	char err[256];
	long status;
	int rc;

	if (!status_ok(e, &status))
		return errbody_add(e, p, size * nmemb);
	rc = etcd_stream_feed(e->stream, p, size * nmemb, range_object, e, err, sizeof(err));
	if (rc == -EBADMSG && !e->why[0])
		snprintf(e->why, sizeof(e->why), "malformed answer to a list from %s: %s",
			 endpoint(e), err);
	return rc ? 0 : size * nmemb;
}

static void watch_start(struct etcd *e);

static void range_done(CURL *easy, CURLcode rc, void *arg)
{
	struct etcd *e = arg;
	struct etcd_range r;
	char err[1400], why[WHY_LEN];
	bool changed;
	long status;
	int perr;

	(void)easy;
	if (e->why[0]) {
		snprintf(why, sizeof(why), "%s", e->why);
		failed(e, why);
		return;
	}
	if (rc != CURLE_OK) {
		snprintf(why, sizeof(why), "cannot list %s from %s: %s", e->prefix, endpoint(e),
			 curl_easy_strerror(rc));
		failed(e, why);
		return;
	}
	if (!status_ok(e, &status)) {
		errbody_describe(e, status, err, sizeof(err));
		snprintf(why, sizeof(why), "cannot list %s: %s", e->prefix, err);
		failed(e, why);
		return;
	}
	if (!e->answer || etcd_stream_partial(e->stream)) {
		snprintf(why, sizeof(why), "malformed answer to a list from %s: %s", endpoint(e),
			 e->answer ? "cut short" : "empty");
		failed(e, why);
		return;
	}
	perr = etcd_range_parse(e->answer, &r, err, sizeof(err));
	if (perr) {
		if (perr == -EIO)
			snprintf(why, sizeof(why), "cannot list %s from %s: %s", e->prefix,
				 endpoint(e), err);
		else
			snprintf(why, sizeof(why), "malformed answer to a list from %s: %s",
				 endpoint(e), err);
		failed(e, why);
		return;
	}
	changed = keys_relist(e, r.kvs, r.n);
	e->rev = r.revision;
	e->cluster_id = r.cluster_id;
	e->listed = true;
	log_info("etcd: listed %zu key%s under %s at revision %" PRId64 " from %s%s", r.n,
		 r.n == 1 ? "" : "s", e->prefix, r.revision, endpoint(e),
		 !e->synced || changed ? "" : ": nothing changed");
	etcd_range_clear(&r);
	hold_update(e);
	if (!e->synced || changed)
		publish(e);
	transfer_reset(e);
	watch_start(e);
}

static int range_start(struct etcd *e)
{
	char url[VEER_URL_LEN + 32];
	int err;

	err = etcd_range_body(e->prefix, &e->body);
	if (!err)
		err = etcd_stream_new(&e->stream);
	if (err)
		return err;
	snprintf(url, sizeof(url), "%s/v3/kv/range", endpoint(e));
	curl_easy_setopt(e->easy, CURLOPT_URL, url);
	curl_easy_setopt(e->easy, CURLOPT_HTTPHEADER, e->hdrs);
	curl_easy_setopt(e->easy, CURLOPT_POSTFIELDS, e->body);
	curl_easy_setopt(e->easy, CURLOPT_WRITEFUNCTION, range_write);
	curl_easy_setopt(e->easy, CURLOPT_TIMEOUT_MS, (long)e->spec.timeout_ms);
	e->state = ETCD_RANGE;
	return http_start(e->easy, range_done, e);
}

/* ---- the watch ---- */

static void connected(struct etcd *e)
{
	e->fails = 0;
	for (size_t i = 0; i < VEER_ETCD_ENDPOINTS_MAX; i++)
		e->last_warn[i][0] = '\0';
	if (e->connected)
		return;
	e->connected = true;
	log_info("etcd: watching %s from revision %" PRId64 " on %s", e->prefix, e->rev + 1,
		 endpoint(e));
	source_connected(e->src, endpoint(e));
}

static int watch_message(struct json_object *o, void *arg)
{
	struct etcd *e = arg;
	struct etcd_watch_msg m;
	char err[256];
	bool changed = false;
	int rc;

	rc = etcd_watch_parse(o, &m, err, sizeof(err));
	if (rc) {
		if (rc == -EIO)
			snprintf(e->why, sizeof(e->why), "%s %s: %s",
				 e->created ? "lost the watch on" : "cannot watch", endpoint(e),
				 err);
		else
			snprintf(e->why, sizeof(e->why), "malformed watch message from %s: %s",
				 endpoint(e), err);
		if (rc != -EIO)
			return rc;
	}
	switch (m.kind) {
	case ETCD_WATCH_CREATED:
		/* Another cluster behind the same address: its revisions are not ours. */
		if (m.cluster_id && e->cluster_id && m.cluster_id != e->cluster_id) {
			log_warnx("etcd: %s is cluster %" PRIx64 ", not %" PRIx64
				  " as listed: listing again",
				  endpoint(e), m.cluster_id, e->cluster_id);
			e->relist = true;
			rc = -ESTALE;
			break;
		}
		e->created = true;
		connected(e);
		break;
	case ETCD_WATCH_EVENTS:
		for (size_t i = 0; i < m.n; i++) {
			struct etcd_kv *kv = &m.events[i];

			/* A resumed watch may send again what was seen. */
			if (kv->mod_revision && kv->mod_revision <= e->rev)
				continue;
			if (strncmp(kv->key, e->prefix, strlen(e->prefix)))
				continue;
			if (kv->value)
				changed |= key_put(e, kv);
			else
				changed |= key_delete(e, kv->key);
		}
		if (m.revision > e->rev)
			e->rev = m.revision;
		hold_update(e);
		if (changed)
			publish(e);
		break;
	case ETCD_WATCH_PROGRESS:
		if (m.revision > e->rev)
			e->rev = m.revision;
		break;
	case ETCD_WATCH_CANCELED:
		if (m.compact_revision) {
			log_info("etcd: revision %" PRId64 " is compacted (%s keeps %" PRId64
				 " on): listing %s again",
				 e->rev + 1, endpoint(e), m.compact_revision, e->prefix);
			e->relist = true;
			rc = -ESTALE;
		} else {
			snprintf(e->why, sizeof(e->why), "%s canceled the watch%s%s", endpoint(e),
				 m.reason[0] ? ": " : "", m.reason);
			rc = -ECANCELED;
		}
		break;
	}
	etcd_watch_clear(&m);
	return rc;
}

static size_t watch_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct etcd *e = arg;
	char err[256];
	long status;
	int rc;

	if (!status_ok(e, &status))
		return errbody_add(e, p, size * nmemb);
	rc = etcd_stream_feed(e->stream, p, size * nmemb, watch_message, e, err, sizeof(err));
	if (rc == -EBADMSG && !e->why[0]) {
		snprintf(e->why, sizeof(e->why), "malformed watch stream from %s: %s", endpoint(e),
			 err);
	}
	/* A short count ends the transfer: curl calls watch_done. */
	return rc ? 0 : size * nmemb;
}

static void watch_done(CURL *easy, CURLcode rc, void *arg)
{
	struct etcd *e = arg;
	char err[1400], why[WHY_LEN];
	long status;

	(void)easy;
	if (e->relist) {
		/* Right away: the cluster is there, only the revision moved on. */
		transfer_reset(e);
		e->listed = false;
		transfer_start(e);
		return;
	}
	if (e->why[0])
		snprintf(why, sizeof(why), "%s", e->why);
	else if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR)
		snprintf(why, sizeof(why), "%s %s: %s",
			 e->created ? "lost the watch on" : "cannot watch", endpoint(e),
			 curl_easy_strerror(rc));
	else if (!status_ok(e, &status)) {
		errbody_describe(e, status, err, sizeof(err));
		snprintf(why, sizeof(why), "cannot watch %s: %s", e->prefix, err);
	} else
		snprintf(why, sizeof(why), "%s ended the watch", endpoint(e));
	failed(e, why);
}

static void watch_start(struct etcd *e)
{
	char url[VEER_URL_LEN + 32];
	int err;

	err = etcd_watch_body(e->prefix, e->rev + 1, &e->body);
	if (!err)
		err = etcd_stream_new(&e->stream);
	if (!err) {
		snprintf(url, sizeof(url), "%s/v3/watch", endpoint(e));
		curl_easy_setopt(e->easy, CURLOPT_URL, url);
		/* Canceled by etcd when the member has no leader: see etcd_headers. */
		curl_easy_setopt(e->easy, CURLOPT_HTTPHEADER, e->watch_hdrs);
		curl_easy_setopt(e->easy, CURLOPT_POSTFIELDS, e->body);
		curl_easy_setopt(e->easy, CURLOPT_WRITEFUNCTION, watch_write);
		/* A watch lasts: only the connection has a time limit. */
		curl_easy_setopt(e->easy, CURLOPT_TIMEOUT_MS, 0L);
		e->state = ETCD_WATCH;
		err = http_start(e->easy, watch_done, e);
	}
	if (err) {
		char why[256];

		snprintf(why, sizeof(why), "cannot start a watch: %s", strerror(-err));
		failed(e, why);
	}
}

/* A list when the table is not a list's (start, compaction), else the watch resumes. */
static void transfer_start(struct etcd *e)
{
	int err;

	transfer_reset(e);
	if (e->listed) {
		log_debug("etcd: resuming the watch of %s at revision %" PRId64 " on %s", e->prefix,
			  e->rev + 1, endpoint(e));
		watch_start(e);
		return;
	}
	err = range_start(e);
	if (err) {
		char why[256];

		snprintf(why, sizeof(why), "cannot start a list: %s", strerror(-err));
		failed(e, why);
	}
}

int etcd_new(struct etcd **out, struct veerd *d, const struct veer_etcd_spec *spec)
{
	struct etcd *e = calloc(1, sizeof(*e));
	int err = -ENOMEM;

	if (!e)
		return -ENOMEM;
	e->d = d;
	e->spec = *spec;
	snprintf(e->prefix, sizeof(e->prefix), "%svips/", spec->prefix);
	e->retry.cb = on_retry;
	e->retry.arg = e;
	e->seed = loop_now() ^ ((uint64_t)getpid() << 32);
	e->easy = curl_easy_init();
	e->hdrs = etcd_headers(false);
	e->watch_hdrs = etcd_headers(true);
	if (!e->easy || !e->hdrs || !e->watch_hdrs || !spec->nendpoints)
		goto fail;
	curl_easy_setopt(e->easy, CURLOPT_WRITEDATA, e);
	curl_easy_setopt(e->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)spec->timeout_ms);
	curl_easy_setopt(e->easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e->easy, CURLOPT_TCP_KEEPIDLE, (long)KEEPALIVE_IDLE_S);
	curl_easy_setopt(e->easy, CURLOPT_TCP_KEEPINTVL, (long)KEEPALIVE_INTVL_S);
	err = source_new(&e->src, "etcd", VEER_OWNER_ETCD);
	if (err)
		goto fail;
	log_info("etcd: VIPs from the keys under %s on %s%s", e->prefix, spec->endpoints[0],
		 spec->nendpoints > 1 ? " and the other endpoints" : "");
	transfer_start(e);
	*out = e;
	return 0;
fail:
	curl_slist_free_all(e->hdrs);
	curl_slist_free_all(e->watch_hdrs);
	if (e->easy)
		curl_easy_cleanup(e->easy);
	free(e);
	return err;
}

void etcd_free(struct etcd *e)
{
	if (!e)
		return;
	if (e->state != ETCD_IDLE)
		http_cancel(e->easy);
	loop_timer_cancel(e->d->loop, &e->retry);
	transfer_reset(e);
	curl_easy_cleanup(e->easy);
	curl_slist_free_all(e->hdrs);
	curl_slist_free_all(e->watch_hdrs);
	source_free(e->src);
	keys_free(e->keys, e->nkeys);
	free(e);
}
