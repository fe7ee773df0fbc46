// SPDX-License-Identifier: GPL-2.0
/*
 * The Kubernetes source: Services annotated veer.io/vip and their EndpointSlices, listed and
 * watched over HTTPS (libcurl on veerd's loop, http.c), parsed with json-c, made into VIPs by
 * k8s_view.c and handed to sources.c whole after every change.
 *
 * Each of the two resources runs the API's list-then-watch cycle on its own, as client-go's
 * reflector does:
 *   - list (pages of 500), keep metadata.resourceVersion, then watch from it with
 *     allowWatchBookmarks; every event and bookmark moves the resourceVersion on;
 *   - a watch the server ends (its timeout, a restart) is opened again at once from the last
 *     resourceVersion: nothing is missed and nothing re-listed;
 *   - 410 Gone (as an HTTP status or as an ERROR event in the stream: the server has compacted
 *     past what veerd holds) lists again; the new list replaces the store whole and the view
 *     built from it differs from the last one only where the cluster changed, which is all
 *     source_set applies;
 *   - a failure (unreachable, TLS, 401, 403, malformed JSON) is reported and retried after a
 *     capped exponential backoff with jitter; the VIPs stay as they were meanwhile.
 * The view is made only once both resources have listed: a Service listed before its slices
 * would otherwise be applied without backends.
 *
 * The connection settings (kubeconfig or in-cluster) are read again before every list, and the
 * token file is read again whenever it changes (projected service-account tokens rotate): a
 * request always carries the token the file holds now.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include "veerd.h"
#include "k8s.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000
#define LIST_PAGE      500
#define LIST_MAX_BYTES (512u << 20)
#define ERR_BODY_MAX   4096
#define JSON_DEPTH     64
/* A watch's timeoutSeconds: random in [5, 10) minutes, so that nodes do not re-watch in step. */
#define WATCH_TIMEOUT_MIN_S 300
#define TOKEN_MAX	    (64u << 10)
/* A watch that ends cleanly this soon, with nothing in it, is retried after the backoff. */
#define WATCH_SHORT_NS (1000ull * 1000000)

enum phase { P_IDLE, P_LIST, P_WATCH };

enum abort_kind { AB_NONE, AB_GONE, AB_FAIL };

struct kres {
	struct k8s *k;
	enum k8s_kind kind;
	const char *name; /* "services" */
	const char *path; /* "/api/v1/services" */
	CURL *easy;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	enum phase phase;
	bool listed;	/* store holds a whole list */
	bool ok;	/* the server answered 200 since the last problem */
	bool need_list; /* the next attempt lists (the stream could not be trusted) */
	char *rv;	/* the resourceVersion the store is at */
	char *cont;	/* the next page's continue token */
	struct k8s_store store, pending;
	char *body; /* a list's body, or the start of an error's */
	size_t len, cap;
	struct json_tokener *tok;
	bool status_known;
	long status;
	enum abort_kind abort;
	char why[K8S_ERR_LEN];
	uint64_t started; /* of the watch */
	unsigned events, gone_streak;
	unsigned backoff_ms;
	struct loop_timer retry;
};

struct k8s {
	struct veerd *d;
	struct veer_k8s_spec spec;
	struct source *src;
	struct k8s_conn conn;
	bool have_conn;
	char *token;
	struct stat token_st;
	bool token_stale;
	struct kres res[2];
	struct k8s_view view;
	bool view_set; /* source_set called at least once */
	struct loop_timer rebuild;
	/* What the source's log says: source_lost tells a loss once, a new problem is told here. */
	bool up, lost_once;
	char *last_why;
};

static void res_list(struct kres *r);
static void res_watch(struct kres *r);
static size_t header_seen(char *p, size_t size, size_t n, void *arg);

/* ---- reporting ---- */

/* Connected: both resources listed and answered since the last problem. */
static void connected(struct k8s *k)
{
	if (k->up || !k->res[0].listed || !k->res[1].listed || !k->res[0].ok || !k->res[1].ok)
		return;
	k->up = true;
	free(k->last_why);
	k->last_why = NULL;
	source_connected(k->src, k->conn.server);
}

/* One problem: the source is lost (once), and each new problem gets its line. */
static void problem(struct k8s *k, const char *why)
{
	bool told = k->up || !k->lost_once;

	source_lost(k->src, why);
	if (!told && (!k->last_why || strcmp(k->last_why, why)))
		log_warnx("source kubernetes: %s", why);
	k->up = false;
	k->lost_once = true;
	free(k->last_why);
	k->last_why = strdup(why);
}

static unsigned jitter(unsigned ms)
{
	/* Between half and all of it: nodes that lost the server together do not come back so. */
	return ms / 2 + (unsigned)(drand48() * (ms / 2 + 1));
}

static void retry_later(struct kres *r)
{
	unsigned ms = jitter(r->backoff_ms);

	r->phase = P_IDLE;
	r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
	log_debug("source kubernetes: %s again in %u ms", r->name, ms);
	loop_timer_at(r->k->d->loop, &r->retry, loop_now() + (uint64_t)ms * 1000000);
}

static void res_fail(struct kres *r, const char *why)
{
	r->ok = false;
	problem(r->k, why);
	retry_later(r);
}

static void on_retry(struct loop *l, struct loop_timer *t)
{
	struct kres *r = t->arg;

	(void)l;
	if (r->need_list || !r->listed)
		res_list(r);
	else
		res_watch(r);
}

/* ---- the view ---- */

static bool spec_same(const struct veer_vip_spec *a, const struct veer_vip_spec *b)
{
	if (memcmp(&a->key, &b->key, sizeof(a->key)) || a->opts.mode != b->opts.mode ||
	    a->opts.affinity != b->opts.affinity || a->opts.ring_size != b->opts.ring_size ||
	    a->nbackends != b->nbackends)
		return false;
	for (size_t i = 0; i < a->nbackends; i++)
		if (memcmp(&a->backends[i].ep, &b->backends[i].ep, sizeof(a->backends[i].ep)) ||
		    a->backends[i].weight != b->backends[i].weight ||
		    strcmp(a->backends[i].pool, b->backends[i].pool))
			return false;
	return true;
}

static bool view_same(const struct k8s_view *a, const struct k8s_view *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->origins[i], b->origins[i]) || !spec_same(&a->specs[i], &b->specs[i]))
			return false;
	return true;
}

/* r was told already: the last view has it (a refusal or a note) word for word. */
static bool refused_before(const struct k8s_refusal *old, size_t n, const struct k8s_refusal *r)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(old[i].origin, r->origin) && !strcmp(old[i].why, r->why))
			return true;
	return false;
}

static void on_rebuild(struct loop *l, struct loop_timer *t)
{
	struct k8s *k = t->arg;
	struct k8s_view nv;
	struct veer_vip_spec *specs;
	char **origins;
	int err;

	(void)l;
	if (!k->res[0].listed || !k->res[1].listed)
		return;
	err = k8s_view_build(&k->res[0].store, &k->res[1].store, &k->view, &nv);
	if (err) {
		log_warnx("source kubernetes: cannot make the VIPs: %s", strerror(-err));
		return;
	}
	for (size_t i = 0; i < nv.nrefused; i++)
		if (!refused_before(k->view.refused, k->view.nrefused, &nv.refused[i]))
			source_refused(k->src, nv.refused[i].origin, nv.refused[i].why);
	for (size_t i = 0; i < nv.nnotes; i++)
		if (!refused_before(k->view.notes, k->view.nnotes, &nv.notes[i]))
			log_warnx("%s: %s", nv.notes[i].origin, nv.notes[i].why);
	/* A refused Service with nothing of it since start: the source's VIPs are kept. */
	source_hold(k->src, nv.hold);
	if (k->view_set && view_same(&k->view, &nv)) {
		k8s_view_free(&k->view);
		k->view = nv;
		return;
	}
	err = k8s_view_specs_copy(&nv, &specs, &origins);
	if (err) {
		log_warnx("source kubernetes: cannot make the VIPs: %s", strerror(-err));
		k8s_view_free(&nv);
		return;
	}
	log_debug("source kubernetes: %zu VIPs from %zu Services and %zu EndpointSlices", nv.n,
		  k->res[0].store.n, k->res[1].store.n);
	source_set(k->src, specs, origins, nv.n);
	k->view_set = true;
	k8s_view_free(&k->view);
	k->view = nv;
}

static void changed(struct k8s *k)
{
	/* Due now, after what else is ready: the events of one read are made into one view. */
	if (!k->rebuild.slot)
		loop_timer_at(k->d->loop, &k->rebuild, loop_now());
}

/* ---- the connection ---- */

static int conn_load(struct k8s *k, char *why, size_t len)
{
	struct k8s_conn c;
	int err;

	if (k->spec.kubeconfig[0])
		err = k8s_conn_kubeconfig(k->spec.kubeconfig, &c, why, len);
	else
		err = k8s_conn_incluster(K8S_SA_DIR, &c, why, len);
	if (err)
		return err;
	/* Another token file, or none: read it afresh. */
	if (!k->have_conn || !c.token_file || !k->conn.token_file ||
	    strcmp(c.token_file, k->conn.token_file))
		k->token_stale = true;
	k8s_conn_free(&k->conn);
	k->conn = c;
	k->have_conn = true;
	return 0;
}

/* The token to send now: NULL for none (a client certificate); -errno with why. */
static int token_get(struct k8s *k, const char **tok, char *why, size_t len)
{
	struct stat st;
	char *buf;
	size_t n;
	int err;

	*tok = NULL;
	if (k->conn.token) {
		*tok = k->conn.token;
		return 0;
	}
	if (!k->conn.token_file)
		return 0;
	if (stat(k->conn.token_file, &st)) {
		err = -errno;
		snprintf(why, len, "token file %s: %s", k->conn.token_file, strerror(errno));
		return err;
	}
	/* Rotation replaces the file (a new inode) or rewrites it (a new mtime or size). */
	if (!k->token_stale && k->token && st.st_ino == k->token_st.st_ino &&
	    st.st_dev == k->token_st.st_dev && st.st_size == k->token_st.st_size &&
	    st.st_mtim.tv_sec == k->token_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == k->token_st.st_mtim.tv_nsec) {
		*tok = k->token;
		return 0;
	}
	err = 0;
	{
		FILE *f = fopen(k->conn.token_file, "re");

		buf = malloc(TOKEN_MAX + 1);
		if (!f || !buf) {
			err = f ? -ENOMEM : -errno;
			snprintf(why, len, "token file %s: cannot read: %s", k->conn.token_file,
				 strerror(-err));
			if (f)
				fclose(f);
			free(buf);
			return err;
		}
		n = fread(buf, 1, TOKEN_MAX, f);
		fclose(f);
	}
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (!n || strpbrk(buf, "\r\n")) {
		snprintf(why, len, "token file %s: %s", k->conn.token_file,
			 n ? "more than one line" : "empty");
		free(buf);
		return -EINVAL;
	}
	if (k->token && strcmp(k->token, buf))
		log_info("source kubernetes: token file %s changed: using the new token",
			 k->conn.token_file);
	free(k->token);
	k->token = buf;
	k->token_st = st;
	k->token_stale = false;
	*tok = k->token;
	return 0;
}

/* Sets up r's handle for path (query included): TLS, token, timeouts. 0 or -errno with why. */
static int easy_setup(struct kres *r, const char *query, long timeout_ms, bool watch,
		      curl_write_callback write, char *why, size_t wlen)
{
	struct k8s *k = r->k;
	const char *tok;
	char *url = NULL, *auth = NULL;
	int err;

	err = token_get(k, &tok, why, wlen);
	if (err)
		return err;
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	if (asprintf(&url, "%s%s?%s", k->conn.server, r->path, query) < 0 ||
	    (tok && asprintf(&auth, "Authorization: Bearer %s", tok) < 0)) {
		free(url);
		snprintf(why, wlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	r->hdrs = curl_slist_append(r->hdrs, "Accept: application/json");
	if (auth) {
		struct curl_slist *h = curl_slist_append(r->hdrs, auth);

		/* The token stays out of memory once the request is made. */
		explicit_bzero(auth, strlen(auth));
		free(auth);
		if (!h) {
			free(url);
			snprintf(why, wlen, "%s", strerror(ENOMEM));
			return -ENOMEM;
		}
		r->hdrs = h;
	}
	curl_easy_reset(r->easy);
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "veerd/" VEER_VERSION);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (k->conn.ca_file || k->conn.ca_data) {
		/* The cluster's CA alone: not the host's bundle too. */
		curl_easy_setopt(r->easy, CURLOPT_CAPATH, NULL);
		if (k->conn.ca_file) {
			curl_easy_setopt(r->easy, CURLOPT_CAINFO, k->conn.ca_file);
		} else {
			struct curl_blob b = {k->conn.ca_data, k->conn.ca_len, CURL_BLOB_COPY};

			curl_easy_setopt(r->easy, CURLOPT_CAINFO, NULL);
			curl_easy_setopt(r->easy, CURLOPT_CAINFO_BLOB, &b);
		}
	}
	if (k->conn.cert_file) {
		curl_easy_setopt(r->easy, CURLOPT_SSLCERT, k->conn.cert_file);
		curl_easy_setopt(r->easy, CURLOPT_SSLKEY, k->conn.key_file);
	} else if (k->conn.cert_data) {
		struct curl_blob c = {k->conn.cert_data, k->conn.cert_len, CURL_BLOB_COPY};
		struct curl_blob kb = {k->conn.key_data, k->conn.key_len, CURL_BLOB_COPY};

		curl_easy_setopt(r->easy, CURLOPT_SSLCERT_BLOB, &c);
		curl_easy_setopt(r->easy, CURLOPT_SSLKEY_BLOB, &kb);
	}
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)k->spec.timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (watch) {
		/* A peer gone without a word is noticed in about a minute. */
		curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPIDLE, 30L);
		curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPINTVL, 10L);
	}
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, header_seen);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	r->errbuf[0] = '\0';
	r->len = 0;
	r->status_known = false;
	r->status = 0;
	r->abort = AB_NONE;
	r->why[0] = '\0';
	return 0;
}

/* Appends to r->body, up to max bytes (then the rest is dropped: -EFBIG). */
static int body_add(struct kres *r, const char *p, size_t n, size_t max)
{
	if (r->len + n > max)
		return -EFBIG;
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 16384;
		char *b;

		while (cap < r->len + n + 1)
			cap *= 2;
		b = realloc(r->body, cap);
		if (!b)
			return -ENOMEM;
		r->body = b;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, n);
	r->len += n;
	r->body[r->len] = '\0';
	return 0;
}

static void status_take(struct kres *r)
{
	if (!r->status_known) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
		r->status_known = true;
	}
}

/* The end of a watch's headers: a 200 there is the connection up, before any event comes. */
static size_t header_seen(char *p, size_t size, size_t n, void *arg)
{
	struct kres *r = arg;
	long status = 0;

	if (size * n <= 2 && (p[0] == '\r' || p[0] == '\n')) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status == 200 && r->phase == P_WATCH && !r->ok) {
			r->ok = true;
			connected(r->k);
		}
	}
	return size * n;
}

static const char *origin_name(const struct kres *r, struct json_object *o, char *buf, size_t len)
{
	struct json_object *md = NULL, *v;
	const char *ns = "?", *name = "?";

	if (json_object_object_get_ex(o, "metadata", &md)) {
		if (json_object_object_get_ex(md, "namespace", &v) &&
		    json_object_is_type(v, json_type_string))
			ns = json_object_get_string(v);
		if (json_object_object_get_ex(md, "name", &v) &&
		    json_object_is_type(v, json_type_string))
			name = json_object_get_string(v);
	}
	snprintf(buf, len, "kubernetes %s %s/%s",
		 r->kind == K8S_SERVICE ? "service" : "EndpointSlice", ns, name);
	return buf;
}

/* The API's Status in an error's body: its message, or the body's start. */
static void error_text(struct kres *r, char *buf, size_t len)
{
	struct json_object *o = r->len ? json_tokener_parse(r->body) : NULL, *m;

	if (o && json_object_object_get_ex(o, "message", &m) &&
	    json_object_is_type(m, json_type_string))
		snprintf(buf, len, "%s", json_object_get_string(m));
	else
		snprintf(buf, len, "%.*s", r->len > 120 ? 120 : (int)r->len, r->len ? r->body : "");
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	json_object_put(o);
}

/*
 * Why a transfer failed, in one line. What does not depend on the resource (the server cannot
 * be reached, refuses the token) is worded the same for both, so that it is told once.
 */
static void fail_text(struct kres *r, const char *verb, CURLcode rc, char *why, size_t len)
{
	struct k8s *k = r->k;
	char msg[300];

	if (rc != CURLE_OK) {
		char ca[300] = "";

		if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
			snprintf(ca, sizeof(ca), " (CA: %s)",
				 k->conn.ca_file   ? k->conn.ca_file
				 : k->conn.ca_data ? "certificate-authority-data"
						   : "the host's");
		snprintf(why, len, "cannot reach %s: %s%s", k->conn.server,
			 r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc), ca);
		return;
	}
	error_text(r, msg, sizeof(msg));
	if (r->status == 401 && (k->conn.token_file || k->conn.token))
		snprintf(why, len, "%s refused the %s%s: 401 Unauthorized (expired or not valid?)",
			 k->conn.server, k->conn.token_file ? "token of " : "kubeconfig's token",
			 k->conn.token_file ? k->conn.token_file : "");
	else if (r->status == 401)
		snprintf(why, len, "%s refused the client certificate: 401 Unauthorized",
			 k->conn.server);
	else if (r->status == 403)
		snprintf(why, len,
			 "%s of %s from %s: 403 Forbidden: %s (veerd needs get, list and "
			 "watch on services and endpointslices.discovery.k8s.io)",
			 verb, r->name, k->conn.server, msg);
	else
		snprintf(why, len, "%s of %s from %s: HTTP %ld%s%s", verb, r->name, k->conn.server,
			 r->status, msg[0] ? ": " : "", msg);
}

/* ---- list ---- */

static size_t list_write(char *p, size_t size, size_t n, void *arg)
{
	struct kres *r = arg;
	int err;

	status_take(r);
	err = body_add(r, p, size * n, r->status == 200 ? LIST_MAX_BYTES : ERR_BODY_MAX);
	if (err == -EFBIG && r->status != 200)
		return size * n;
	if (err) {
		r->abort = AB_FAIL;
		snprintf(r->why, sizeof(r->why), "list of %s from %s: %s", r->name,
			 r->k->conn.server, err == -EFBIG ? "larger than 512 MiB" : strerror(-err));
		return 0;
	}
	return size * n;
}

/* The list's body into r->pending: 0, or -errno with r->why set. */
static int list_parse(struct kres *r)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_DEPTH);
	struct json_object *o = NULL, *md, *items, *v;
	int err = -EINVAL;

	if (!tok) {
		snprintf(r->why, sizeof(r->why), "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	o = json_tokener_parse_ex(tok, r->body ? r->body : "", (int)r->len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		enum json_tokener_error je = json_tokener_get_error(tok);

		snprintf(r->why, sizeof(r->why), "list of %s from %s: malformed JSON: %s", r->name,
			 r->k->conn.server,
			 je == json_tokener_continue ? "it ends early"
						     : json_tokener_error_desc(je));
		goto out;
	}
	if (!json_object_object_get_ex(o, "metadata", &md) ||
	    !json_object_object_get_ex(md, "resourceVersion", &v) ||
	    !json_object_is_type(v, json_type_string) || !*json_object_get_string(v) ||
	    !json_object_object_get_ex(o, "items", &items) ||
	    !json_object_is_type(items, json_type_array)) {
		snprintf(r->why, sizeof(r->why),
			 "list of %s from %s: not a list (no metadata.resourceVersion or items)",
			 r->name, r->k->conn.server);
		goto out;
	}
	free(r->rv);
	r->rv = strdup(json_object_get_string(v));
	free(r->cont);
	r->cont = NULL;
	if (json_object_object_get_ex(md, "continue", &v) &&
	    json_object_is_type(v, json_type_string) && *json_object_get_string(v))
		r->cont = strdup(json_object_get_string(v));
	if (!r->rv) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		struct k8s_obj *obj;
		char why[K8S_ERR_LEN], origin[600];

		err = k8s_obj_parse(r->kind, it, &obj, why, sizeof(why));
		if (err == -EINVAL) {
			source_refused(r->k->src, origin_name(r, it, origin, sizeof(origin)), why);
			continue;
		}
		if (!err)
			err = k8s_store_put(&r->pending, obj);
		if (err) {
			if (err == -ENOMEM)
				k8s_obj_free(obj);
			snprintf(r->why, sizeof(r->why), "%s", strerror(-err));
			goto out;
		}
	}
	err = 0;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return err;
}

/* A list given up: its pages so far go, the next list starts from the first. */
static void list_drop(struct kres *r)
{
	k8s_store_clear(&r->pending);
	free(r->cont);
	r->cont = NULL;
}

static void list_done(CURL *easy, CURLcode rc, void *arg)
{
	struct kres *r = arg;
	struct k8s_store old;

	(void)easy;
	status_take(r);
	if (r->abort == AB_FAIL) {
		list_drop(r);
		res_fail(r, r->why);
		return;
	}
	if (rc != CURLE_OK || r->status != 200) {
		/* A page's continue token expired: the list starts over, as the API asks. */
		if (rc == CURLE_OK && r->status == 410 && r->cont) {
			list_drop(r);
			res_list(r);
			return;
		}
		if (r->status == 401)
			r->k->token_stale = true;
		fail_text(r, "list", rc, r->why, sizeof(r->why));
		list_drop(r);
		res_fail(r, r->why);
		return;
	}
	if (list_parse(r)) {
		list_drop(r);
		res_fail(r, r->why);
		return;
	}
	if (r->cont) {
		res_list(r);
		return;
	}
	/* The whole list replaces the store at once: no view is made from half of one. */
	old = r->store;
	r->store = r->pending;
	r->pending = (struct k8s_store){};
	k8s_store_clear(&old);
	r->listed = true;
	r->ok = true;
	r->need_list = false;
	r->backoff_ms = BACKOFF_MIN_MS;
	log_debug("source kubernetes: listed %zu %s at resourceVersion %s", r->store.n, r->name,
		  r->rv);
	free(r->body);
	r->body = NULL;
	r->len = r->cap = 0;
	changed(r->k);
	connected(r->k);
	res_watch(r);
}

static void res_list(struct kres *r)
{
	struct k8s *k = r->k;
	char q[2048], why[K8S_ERR_LEN];
	int err;

	/* The settings as they are now, at the start of every list (not between pages). */
	if (!r->cont) {
		err = conn_load(k, why, sizeof(why));
		if (err) {
			res_fail(r, why);
			return;
		}
		k8s_store_clear(&r->pending);
	}
	if (r->cont) {
		char *esc = curl_easy_escape(r->easy, r->cont, 0);

		snprintf(q, sizeof(q), "limit=%d&continue=%s", LIST_PAGE, esc ? esc : "");
		curl_free(esc);
	} else {
		snprintf(q, sizeof(q), "limit=%d", LIST_PAGE);
	}
	err = easy_setup(r, q, (long)k->spec.timeout_ms, false, list_write, why, sizeof(why));
	if (err) {
		res_fail(r, why);
		return;
	}
	r->phase = P_LIST;
	err = http_start(r->easy, list_done, r);
	if (err) {
		snprintf(why, sizeof(why), "list of %s: %s", r->name, strerror(-err));
		res_fail(r, why);
	}
}

/* ---- watch ---- */

static int rv_take(struct kres *r, struct json_object *obj)
{
	struct json_object *md, *v;

	if (json_object_object_get_ex(obj, "metadata", &md) &&
	    json_object_object_get_ex(md, "resourceVersion", &v) &&
	    json_object_is_type(v, json_type_string) && *json_object_get_string(v)) {
		char *rv = strdup(json_object_get_string(v));

		if (!rv)
			return -ENOMEM;
		free(r->rv);
		r->rv = rv;
	}
	return 0;
}

/* One event of the stream. 0, or -1 with r->abort and r->why set. */
static int watch_event(struct kres *r, struct json_object *ev)
{
	struct json_object *t = NULL, *obj = NULL, *v;
	const char *type;
	char why[K8S_ERR_LEN], origin[600];
	struct k8s_obj *o;
	int err;

	if (!json_object_is_type(ev, json_type_object) ||
	    !json_object_object_get_ex(ev, "type", &t) ||
	    !json_object_is_type(t, json_type_string) ||
	    !json_object_object_get_ex(ev, "object", &obj) ||
	    !json_object_is_type(obj, json_type_object)) {
		snprintf(r->why, sizeof(r->why),
			 "watch of %s from %s: malformed event (want {\"type\", \"object\"})",
			 r->name, r->k->conn.server);
		r->abort = AB_FAIL;
		return -1;
	}
	type = json_object_get_string(t);
	if (!strcmp(type, "ERROR")) {
		long code = json_object_object_get_ex(obj, "code", &v) ? json_object_get_int(v) : 0;
		const char *msg = json_object_object_get_ex(obj, "message", &v) &&
						  json_object_is_type(v, json_type_string)
					  ? json_object_get_string(v)
					  : "";

		if (code == 410) {
			r->abort = AB_GONE;
			snprintf(r->why, sizeof(r->why), "%s", msg);
			return -1;
		}
		snprintf(r->why, sizeof(r->why), "watch of %s from %s: the server says %ld: %s",
			 r->name, r->k->conn.server, code, msg);
		r->abort = AB_FAIL;
		return -1;
	}
	if (!strcmp(type, "BOOKMARK"))
		goto rv;
	if (strcmp(type, "ADDED") && strcmp(type, "MODIFIED") && strcmp(type, "DELETED")) {
		snprintf(r->why, sizeof(r->why), "watch of %s from %s: unknown event type '%.40s'",
			 r->name, r->k->conn.server, type);
		r->abort = AB_FAIL;
		return -1;
	}
	err = k8s_obj_parse(r->kind, obj, &o, why, sizeof(why));
	if (err == -EINVAL) {
		/* The object is refused; the store keeps what it had of it. */
		source_refused(r->k->src, origin_name(r, obj, origin, sizeof(origin)), why);
		goto rv;
	}
	if (!err) {
		if (!strcmp(type, "DELETED")) {
			k8s_store_del(&r->store, o->ns, o->name);
			k8s_obj_free(o);
		} else {
			err = k8s_store_put(&r->store, o);
			if (err)
				k8s_obj_free(o);
		}
	}
	if (err) {
		snprintf(r->why, sizeof(r->why), "watch of %s: %s", r->name, strerror(-err));
		r->abort = AB_FAIL;
		/* What the store holds may now miss an event: list again. */
		r->need_list = true;
		return -1;
	}
	changed(r->k);
rv:
	r->events++;
	if (rv_take(r, obj)) {
		snprintf(r->why, sizeof(r->why), "watch of %s: %s", r->name, strerror(ENOMEM));
		r->abort = AB_FAIL;
		r->need_list = true;
		return -1;
	}
	return 0;
}

static size_t watch_write(char *p, size_t size, size_t n, void *arg)
{
	struct kres *r = arg;
	size_t len = size * n, off = 0;

	status_take(r);
	if (r->status != 200) {
		body_add(r, p, len, ERR_BODY_MAX);
		return len;
	}
	/* Events as they come: json_tokener keeps a half-received one across calls. */
	while (off < len) {
		struct json_object *ev;
		enum json_tokener_error je;
		int rc;

		while (off < len &&
		       (p[off] == '\n' || p[off] == '\r' || p[off] == ' ' || p[off] == '\t'))
			off++;
		if (off == len)
			break;
		ev = json_tokener_parse_ex(r->tok, p + off, (int)(len - off));
		je = json_tokener_get_error(r->tok);
		if (je == json_tokener_continue)
			break;
		if (je != json_tokener_success || !ev) {
			snprintf(r->why, sizeof(r->why), "watch of %s from %s: malformed JSON: %s",
				 r->name, r->k->conn.server, json_tokener_error_desc(je));
			r->abort = AB_FAIL;
			r->need_list = true;
			json_object_put(ev);
			return 0;
		}
		off += json_tokener_get_parse_end(r->tok);
		json_tokener_reset(r->tok);
		rc = watch_event(r, ev);
		json_object_put(ev);
		if (rc)
			return 0;
	}
	return len;
}

static void watch_done(CURL *easy, CURLcode rc, void *arg)
{
	struct kres *r = arg;
	struct k8s *k = r->k;

	(void)easy;
	status_take(r);
	if (r->abort == AB_GONE || (rc == CURLE_OK && r->status == 410)) {
		/* Compacted past what veerd holds: list again, at once the first times. */
		log_info("source kubernetes: resourceVersion %s of %s is too old (410 Gone): "
			 "listing "
			 "again",
			 r->rv ? r->rv : "?", r->name);
		r->need_list = true;
		/* Again and again with nothing in between: the server is not well; slow down. */
		if (r->events)
			r->gone_streak = 0;
		if (++r->gone_streak > 2) {
			r->phase = P_IDLE;
			retry_later(r);
			return;
		}
		res_list(r);
		return;
	}
	r->gone_streak = 0;
	if (r->abort == AB_FAIL) {
		/* A stream that could not be read may have lost an event: list again. */
		r->need_list = true;
		res_fail(r, r->why);
		return;
	}
	if (rc != CURLE_OK || r->status != 200) {
		if (r->status == 401)
			k->token_stale = true;
		fail_text(r, "watch", rc, r->why, sizeof(r->why));
		res_fail(r, r->why);
		return;
	}
	/* The server ended the watch (its timeout, a restart): on from the last resourceVersion. */
	if (!r->events && loop_now() - r->started < WATCH_SHORT_NS) {
		log_debug("source kubernetes: the watch of %s ended at once", r->name);
		retry_later(r);
		return;
	}
	r->backoff_ms = BACKOFF_MIN_MS;
	res_watch(r);
}

static void res_watch(struct kres *r)
{
	char q[512], why[K8S_ERR_LEN], *esc;
	unsigned timeout = WATCH_TIMEOUT_MIN_S + (unsigned)(drand48() * WATCH_TIMEOUT_MIN_S);
	int err;

	esc = curl_easy_escape(r->easy, r->rv, 0);
	snprintf(q, sizeof(q),
		 "watch=1&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=%u",
		 esc ? esc : "", timeout);
	curl_free(esc);
	err = easy_setup(r, q, (long)(timeout + 60) * 1000, true, watch_write, why, sizeof(why));
	if (err) {
		res_fail(r, why);
		return;
	}
	json_tokener_reset(r->tok);
	r->events = 0;
	r->started = loop_now();
	r->phase = P_WATCH;
	err = http_start(r->easy, watch_done, r);
	if (err) {
		snprintf(why, sizeof(why), "watch of %s: %s", r->name, strerror(-err));
		res_fail(r, why);
	}
}

/* ---- start and stop ---- */

int k8s_new(struct k8s **out, struct veerd *d, const struct veer_k8s_spec *spec)
{
	static const struct {
		enum k8s_kind kind;
		const char *name, *path;
	} kinds[2] = {
		{K8S_SERVICE, "services", "/api/v1/services"},
		{K8S_SLICE, "endpointslices", "/apis/discovery.k8s.io/v1/endpointslices"},
	};
	struct k8s *k = calloc(1, sizeof(*k));
	int err;

	*out = NULL;
	if (!k)
		return -ENOMEM;
	k->d = d;
	k->spec = *spec;
	k->rebuild.cb = on_rebuild;
	k->rebuild.arg = k;
	srand48((long)loop_now() ^ getpid());
	for (int i = 0; i < 2; i++) {
		struct kres *r = &k->res[i];

		r->k = k;
		r->kind = kinds[i].kind;
		r->name = kinds[i].name;
		r->path = kinds[i].path;
		r->backoff_ms = BACKOFF_MIN_MS;
		r->retry.cb = on_retry;
		r->retry.arg = r;
		r->easy = curl_easy_init();
		r->tok = json_tokener_new_ex(JSON_DEPTH);
		if (!r->easy || !r->tok) {
			err = -ENOMEM;
			goto fail;
		}
	}
	err = source_new(&k->src, "kubernetes", VEER_OWNER_KUBERNETES);
	if (err)
		goto fail;
	log_info("source kubernetes: %s%s",
		 k->spec.kubeconfig[0] ? "kubeconfig " : "in-cluster config", k->spec.kubeconfig);
	for (int i = 0; i < 2; i++)
		res_list(&k->res[i]);
	*out = k;
	return 0;
fail:
	k8s_free(k);
	return err;
}

void k8s_free(struct k8s *k)
{
	if (!k)
		return;
	for (int i = 0; i < 2; i++) {
		struct kres *r = &k->res[i];

		if (k->d)
			loop_timer_cancel(k->d->loop, &r->retry);
		if (r->easy) {
			http_cancel(r->easy);
			curl_easy_cleanup(r->easy);
		}
		curl_slist_free_all(r->hdrs);
		if (r->tok)
			json_tokener_free(r->tok);
		k8s_store_clear(&r->store);
		k8s_store_clear(&r->pending);
		free(r->body);
		free(r->rv);
		free(r->cont);
	}
	if (k->d)
		loop_timer_cancel(k->d->loop, &k->rebuild);
	k8s_view_free(&k->view);
	k8s_conn_free(&k->conn);
	if (k->token) {
		explicit_bzero(k->token, strlen(k->token));
		free(k->token);
	}
	free(k->last_why);
	source_free(k->src);
	free(k);
}
