// SPDX-License-Identifier: GPL-2.0
/*
 * The webhooks: every event of a webhook's types is appended to its durable queue
 * (webhook_queue.c) and POSTed from there, signed, one at a time, until the receiver answers
 * 2xx. At least once: a record leaves the queue only when its POST was acknowledged, and only
 * what was fsync'd is sent, so that a receiver never sees an event a crash could take back.
 *
 * Events arrive through the event stream's sink and are written at once; the fsync is one per
 * loop turn for all that arrived in it (a burst of a thousand events costs one), on a timer
 * armed at time 0, which the loop runs at the end of the turn. Deliveries run on libcurl's
 * multi interface (http.c): the loop never waits on a receiver.
 *
 * A failed POST (no connection, a timeout, any status but 2xx) is retried after a capped
 * exponential backoff with jitter, 100 ms doubling to 30 s: a receiver coming back is not met
 * by every veerd of a fleet in the same millisecond. One POST in flight per webhook keeps
 * each webhook's order; every body carries "seq", the webhook's delivery number, so that a
 * receiver sees a gap where events were dropped (a full queue), and "id" to de-duplicate the
 * re-deliveries at-least-once allows.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include "veerd.h"
#include "webhook_queue.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
/* A key, not a document: HMAC hashes a longer one down to 32 bytes anyway. */
#define SECRET_MAX (64u << 10)
/* metrics.c keeps a series' name and labels in a few hundred bytes. */
#define LABEL_URL_MAX 256
/* What ,"seq":N adds to a body at most. */
#define SEQ_FIELD_MAX (sizeof(",\"seq\":18446744073709551615") - 1)

/* Per url, kept across reloads that restart the webhooks: counters never go backwards. */
struct hook_counters {
	struct hook_counters *next;
	uint64_t delivered, failed, dropped;
	char url[];
};

static struct hook_counters *counters;

struct hook {
	struct webhooks *w;
	const struct veer_webhook_spec *spec; /* a copy in w->specs */
	size_t index;			      /* in the config's webhooks[] */
	char name[VEER_URL_LEN];	      /* the url without credentials, for logs */
	char label[LABEL_URL_MAX + 1];	      /* the same for /metrics, a long one shortened */
	struct hook_counters *c;
	struct whq *q; /* NULL: the webhook is off (logged) */
	CURL *easy;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	bool dup;  /* the url of an earlier webhook: off */
	bool busy; /* a POST in flight */
	struct loop_timer retry;
	uint32_t backoff_ms;   /* of the next retry; 0 after a success */
	uint64_t fails_in_row; /* since the last success */
	uint64_t outage_start; /* loop_now() of the first failure in a row */
	/* The key: re-read when the file changes (a rotated secret). */
	unsigned char *secret;
	size_t secretlen;
	struct stat secret_st;
	int secret_err; /* the last read's error, logged once */
	bool dropping;	/* the queue is full: logged once until it takes events again */
	uint64_t dropped_run;
};

struct webhooks {
	struct veerd *d;
	struct veer_webhook_spec *specs;
	struct hook *hooks;
	size_t n;
	struct loop_timer flush;
	bool sink, part;
};

static struct hook_counters *counters_get(const char *url)
{
	struct hook_counters *c;

	for (c = counters; c; c = c->next)
		if (!strcmp(c->url, url))
			return c;
	c = calloc(1, sizeof(*c) + strlen(url) + 1);
	if (!c)
		return NULL;
	strcpy(c->url, url);
	c->next = counters;
	counters = c;
	return c;
}

/* The url as logs and labels show it: a password in it stays in the config. */
static void url_redact(const char *url, char *out, size_t len)
{
	CURLU *u = curl_url();
	char *s = NULL;

	snprintf(out, len, "%s", url);
	if (!u)
		return;
	if (!curl_url_set(u, CURLUPART_URL, url, 0) && !curl_url_set(u, CURLUPART_USER, NULL, 0) &&
	    !curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) && !curl_url_get(u, CURLUPART_URL, &s, 0))
		snprintf(out, len, "%s", s);
	curl_free(s);
	curl_url_cleanup(u);
}

/* ---- the secret ---- */

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int secret_read(const char *path, unsigned char **out, size_t *outlen, struct stat *st)
{
	unsigned char *buf = NULL;
	size_t n = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st)) {
		err = -errno;
		goto cleanup;
	}
	if (!S_ISREG(st->st_mode)) {
		err = -EINVAL;
		goto cleanup;
	}
	if (st->st_size <= 0 || (uint64_t)st->st_size > SECRET_MAX) {
		err = st->st_size <= 0 ? -ENODATA : -EFBIG;
		goto cleanup;
	}
	buf = malloc((size_t)st->st_size);
	if (!buf) {
		err = -ENOMEM;
		goto cleanup;
	}
	while (n < (size_t)st->st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st->st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? -errno : -EIO;
			goto cleanup;
		}
		n += (size_t)r;
	}
	*out = buf;
	*outlen = n;
	buf = NULL;
cleanup:
	free(buf);
	close(fd);
	return err;
}

static const char *secret_strerror(int err)
{
	switch (err) {
	case -ENODATA:
		return "it is empty";
	case -EFBIG:
		return "it is larger than 64 KiB: not a key";
	case -EINVAL:
		return "not a regular file";
	default:
		return strerror(-err);
	}
}

/*
 * The key for the next POST: read again when the file changed since (a stat per POST), so a
 * rotated secret signs from the next delivery on. false while there is none (logged once).
 */
static bool secret_ready(struct hook *h)
{
	unsigned char *key = NULL;
	struct stat st;
	size_t len = 0;
	int err;

	if (h->secret && !stat(h->spec->secret_file, &st) && same_file(&st, &h->secret_st))
		return true;
	err = secret_read(h->spec->secret_file, &key, &len, &st);
	if (!err) {
		free(h->secret);
		h->secret = key;
		h->secretlen = len;
		h->secret_st = st;
		if (h->secret_err)
			log_info("webhook %s: secret_file %s read: delivering", h->name,
				 h->spec->secret_file);
		h->secret_err = 0;
		return true;
	}
	if (err != h->secret_err)
		log_warnx("webhook %s (%s:%u:%u, webhooks[%zu]): cannot read secret_file %s: %s%s",
			  h->name, h->w->d->cfg->path, h->spec->pos.line, h->spec->pos.col,
			  h->index, h->spec->secret_file, secret_strerror(err),
			  h->secret
				  ? "; signing with the secret read before"
				  : "; its events are queued, not delivered, until it can be read");
	h->secret_err = err;
	return h->secret != NULL;
}

/* ---- delivery ---- */

static void deliver(struct hook *h);

static void on_retry(struct loop *l, struct loop_timer *t)
{
	(void)l;
	deliver(t->arg);
}

/* Full jitter over the upper half: between backoff/2 and backoff. */
static void retry_later(struct hook *h)
{
	uint32_t ms;

	h->backoff_ms = h->backoff_ms ? h->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (h->backoff_ms > BACKOFF_MAX_MS)
		h->backoff_ms = BACKOFF_MAX_MS;
	ms = h->backoff_ms / 2 + (uint32_t)(random() % (h->backoff_ms / 2 + 1));
	loop_timer_at(h->w->d->loop, &h->retry, loop_now() + (uint64_t)ms * 1000000);
}

static void on_done(CURL *easy, CURLcode rc, void *arg)
{
	struct hook *h = arg;
	char what[CURL_ERROR_SIZE + 32];
	long status = 0;
	int err;

	h->busy = false;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OK && status >= 200 && status < 300) {
		err = whq_ack(h->q);
		if (err)
			log_warnx("webhook %s: cannot record a delivery in %s: %s (a restart may "
				  "deliver it again)",
				  h->name, whq_path(h->q), strerror(-err));
		if (h->c)
			h->c->delivered++;
		if (h->fails_in_row)
			log_info("webhook %s: delivering again, after %llu failed attempt%s in "
				 "%.1f s",
				 h->name, (unsigned long long)h->fails_in_row,
				 h->fails_in_row == 1 ? "" : "s",
				 (loop_now() - h->outage_start) / 1e9);
		h->fails_in_row = 0;
		h->backoff_ms = 0;
		deliver(h);
		return;
	}
	if (rc != CURLE_OK)
		snprintf(what, sizeof(what), "%s",
			 h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
	else
		snprintf(what, sizeof(what), "HTTP %ld", status);
	if (h->c)
		h->c->failed++;
	if (!h->fails_in_row++) {
		h->outage_start = loop_now();
		log_warnx("webhook %s: POST failed: %s; retrying with backoff up to every %u s, "
			  "events kept in %s",
			  h->name, what, BACKOFF_MAX_MS / 1000, whq_path(h->q));
	} else {
		log_debug("webhook %s: POST failed again (%llu in a row): %s", h->name,
			  (unsigned long long)h->fails_in_row, what);
	}
	retry_later(h);
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p, (void)arg;
	return size * n;
}

static int request_setup(struct hook *h, const void *body, size_t len)
{
	char sig[sizeof("X-Veer-Signature: ") + WEBHOOK_SIG_LEN];
	struct curl_slist *hd = NULL, *t;
	int err;

	memcpy(sig, "X-Veer-Signature: ", 18);
	err = webhook_sign(h->secret, h->secretlen, body, len, sig + 18);
	if (err)
		return err;
	/* "Expect:" off: a 100-continue round trip per event would halve the rate. */
	static const char *const fixed[] = {"Content-Type: application/json", "Expect:"};
	for (size_t i = 0; i < 2; i++) {
		t = curl_slist_append(hd, fixed[i]);
		if (!t)
			goto oom;
		hd = t;
	}
	t = curl_slist_append(hd, sig);
	if (!t)
		goto oom;
	hd = t;
	curl_slist_free_all(h->headers);
	h->headers = hd;
	h->errbuf[0] = '\0';
	curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, body);
	return 0;
oom:
	curl_slist_free_all(hd);
	return -ENOMEM;
}

/* The oldest durable record, POSTed unless one is in flight or a retry is due later. */
static void deliver(struct hook *h)
{
	const void *body;
	uint64_t seq, lost = 0;
	size_t len;
	int err;

	if (!h->q || h->busy || h->retry.slot)
		return;
	err = whq_peek(h->q, &body, &len, &seq, &lost);
	if (err == -ENOENT)
		return;
	if (err == -EIO) {
		log_warnx("webhook %s: %s cannot be read back at its oldest record: %llu bytes of "
			  "events dropped",
			  h->name, whq_path(h->q), (unsigned long long)lost);
		return;
	}
	if (err || !secret_ready(h)) {
		if (err)
			log_warnx("webhook %s: cannot read %s: %s", h->name, whq_path(h->q),
				  strerror(-err));
		retry_later(h);
		return;
	}
	err = request_setup(h, body, len);
	if (!err)
		err = http_start(h->easy, on_done, h);
	if (err) {
		log_warnx("webhook %s: cannot start a POST: %s", h->name, strerror(-err));
		retry_later(h);
		return;
	}
	h->busy = true;
}

/* ---- events in ---- */

/* The event's body with the webhook's "seq" added, as events.c writes JSON. */
static char *body_with_seq(const char *body, size_t len, uint64_t seq, size_t *outlen)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = NULL;
	char *out = NULL;

	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (o && json_object_is_type(o, json_type_object)) {
		const char *s;

		json_object_object_add(o, "seq", json_object_new_int64((int64_t)seq));
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
		out = strdup(s);
		if (out)
			*outlen = strlen(out);
	}
	json_object_put(o);
	json_tokener_free(tok);
	return out;
}

static void drop(struct hook *h, const char *id, const char *why)
{
	if (h->c)
		h->c->dropped++;
	h->dropped_run++;
	if (!h->dropping)
		log_warnx("webhook %s: event %s dropped: %s; dropping until there is room "
			  "(veer_webhook_dropped_total counts them)",
			  h->name, id, why);
	h->dropping = true;
}

static void on_event(enum veer_event_type type, const char *id, const char *body, size_t len,
		     void *arg)
{
	struct webhooks *w = arg;
	bool queued = false;

	for (size_t i = 0; i < w->n; i++) {
		struct hook *h = &w->hooks[i];
		char why[160], *b;
		size_t blen = 0;
		int err;

		if (h->dup || type >= 32 || !(h->spec->events & (1u << type)))
			continue;
		if (!h->q) {
			drop(h, id, "the webhook has no queue (see above)");
			continue;
		}
		/* A full queue drops before the body is built: a flood of events costs little. */
		if (!whq_fits(h->q, len + SEQ_FIELD_MAX)) {
			whq_skip(h->q);
			snprintf(why, sizeof(why),
				 "the queue holds %llu bytes undelivered (queue_max)",
				 (unsigned long long)h->spec->queue_max);
			drop(h, id, why);
			continue;
		}
		b = body_with_seq(body, len, whq_next_seq(h->q), &blen);
		if (!b) {
			log_warnx("webhook %s: event %s is not a JSON object: not queued", h->name,
				  id);
			continue;
		}
		err = whq_append(h->q, b, blen);
		free(b);
		if (err) {
			if (err == -ENOSPC)
				snprintf(why, sizeof(why),
					 "the queue holds %llu bytes undelivered (queue_max)",
					 (unsigned long long)h->spec->queue_max);
			else
				snprintf(why, sizeof(why), "cannot write %s: %s", whq_path(h->q),
					 strerror(-err));
			drop(h, id, why);
			continue;
		}
		if (h->dropping)
			log_info("webhook %s: queueing events again, after %llu dropped", h->name,
				 (unsigned long long)h->dropped_run);
		h->dropping = false;
		h->dropped_run = 0;
		queued = true;
	}
	/* Time 0: the loop fires it at the end of this turn, after whatever else comes in it. */
	if (queued && !w->flush.slot)
		loop_timer_at(w->d->loop, &w->flush, 0);
}

/* The end of a loop turn: one fsync per queue for every event of the turn, then delivery. */
static void on_flush(struct loop *l, struct loop_timer *t)
{
	struct webhooks *w = t->arg;
	bool again = false;

	for (size_t i = 0; i < w->n; i++) {
		struct hook *h = &w->hooks[i];
		int err;

		if (!h->q || !whq_dirty(h->q))
			continue;
		err = whq_sync(h->q);
		if (err) {
			/* Not durable, not delivered: tried again in a second. */
			log_warnx("webhook %s: cannot sync %s: %s", h->name, whq_path(h->q),
				  strerror(-err));
			again = true;
			continue;
		}
		deliver(h);
	}
	if (again)
		loop_timer_at(l, t, loop_now() + 1000000000ull);
}

/* ---- start and stop ---- */

/*
 * The url label: the url as logged, a long one shortened, and the hash that names its queue
 * added where two would read the same (shortened, or alike but for a password): one series
 * per url.
 */
static void label_make(struct webhooks *w, struct hook *h)
{
	char hash[WHQ_HASH_LEN + 1];
	bool clash = strlen(h->name) > LABEL_URL_MAX;

	for (size_t j = 0; j < h->index && !clash; j++)
		clash = !w->hooks[j].dup && !strcmp(w->hooks[j].name, h->name) &&
			strcmp(w->specs[j].url, h->spec->url);
	if (!clash) {
		snprintf(h->label, sizeof(h->label), "%.*s", LABEL_URL_MAX, h->name);
		return;
	}
	whq_hash(h->spec->url, hash);
	snprintf(h->label, sizeof(h->label), "%.*s%s#%s", LABEL_URL_MAX - WHQ_HASH_LEN - 4, h->name,
		 strlen(h->name) > LABEL_URL_MAX - WHQ_HASH_LEN - 4 ? "..." : "", hash);
}

static int hook_start(struct webhooks *w, struct hook *h)
{
	const struct veer_webhook_spec *s = h->spec;
	const char *cfg = w->d->cfg ? w->d->cfg->path : "config";
	struct whq_open_info info;
	char err[PATH_MAX + 256];
	int rc;

	h->w = w;
	h->retry.cb = on_retry;
	h->retry.arg = h;
	url_redact(s->url, h->name, sizeof(h->name));
	label_make(w, h);
	h->c = counters_get(s->url);
	for (size_t j = 0; j < h->index; j++) {
		if (strcmp(w->specs[j].url, s->url))
			continue;
		log_warnx("webhook %s (%s:%u:%u, webhooks[%zu]): the same url as webhooks[%zu]: "
			  "one queue per url, this one is off",
			  h->name, cfg, s->pos.line, s->pos.col, h->index, j);
		h->dup = true;
		return 0;
	}
	h->easy = curl_easy_init();
	if (!h->easy)
		return -ENOMEM;
	curl_easy_setopt(h->easy, CURLOPT_URL, s->url);
	curl_easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
	curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(h->easy, CURLOPT_USERAGENT, "veerd/" VEER_VERSION);
	/* The answer's body is not kept: the status says it all. */
	curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, discard);
	rc = whq_open(&h->q, s->queue_dir, s->url, s->queue_max, &info, err, sizeof(err));
	if (rc) {
		log_warnx("webhook %s (%s:%u:%u, webhooks[%zu]): %s: this webhook is off", h->name,
			  cfg, s->pos.line, s->pos.col, h->index, err);
		h->q = NULL;
		return rc == -ENOMEM ? rc : 0;
	}
	if (info.torn_bytes)
		log_warnx("webhook %s: %s ended in a torn record at byte %llu (a crash before its "
			  "fsync): %llu bytes cut off",
			  h->name, whq_path(h->q), (unsigned long long)info.torn_offset,
			  (unsigned long long)info.torn_bytes);
	{
		struct whq_stats st;

		whq_stats(h->q, &st);
		if (st.pending_events)
			log_info("webhook %s: %llu undelivered event%s in %s, from seq %llu",
				 h->name, (unsigned long long)st.pending_events,
				 st.pending_events == 1 ? "" : "s", whq_path(h->q),
				 (unsigned long long)st.acked_seq + 1);
	}
	secret_ready(h);
	return 0;
}

static void hook_stop(struct hook *h)
{
	if (h->easy) {
		if (h->busy)
			http_cancel(h->easy);
		curl_easy_cleanup(h->easy);
	}
	if (h->w)
		loop_timer_cancel(h->w->d->loop, &h->retry);
	curl_slist_free_all(h->headers);
	whq_close(h->q);
	free(h->secret);
}

static void metrics_part(struct metrics_out *o, void *arg);

int webhooks_new(struct webhooks **out, struct veerd *d, const struct veer_webhook_spec *specs,
		 size_t n)
{
	struct webhooks *w = calloc(1, sizeof(*w));
	int err = -ENOMEM;

	if (!w)
		return -ENOMEM;
	w->d = d;
	w->flush.cb = on_flush;
	w->flush.arg = w;
	srandom((unsigned)(loop_now() ^ (uint64_t)getpid()));
	w->specs = calloc(n ? n : 1, sizeof(*w->specs));
	w->hooks = calloc(n ? n : 1, sizeof(*w->hooks));
	if (!w->specs || !w->hooks)
		goto cleanup;
	if (n)
		memcpy(w->specs, specs, n * sizeof(*specs));
	for (size_t i = 0; i < n; i++) {
		w->hooks[i].spec = &w->specs[i];
		w->hooks[i].index = i;
		w->n = i + 1;
		err = hook_start(w, &w->hooks[i]);
		if (err)
			goto cleanup;
	}
	err = event_sink_add(on_event, w);
	if (err)
		goto cleanup;
	w->sink = true;
	err = metrics_part_add(metrics_part, w);
	if (err)
		goto cleanup;
	w->part = true;
	/* What an earlier veerd left undelivered goes out now. */
	for (size_t i = 0; i < w->n; i++)
		deliver(&w->hooks[i]);
	*out = w;
	return 0;
cleanup:
	webhooks_free(w);
	return err;
}

void webhooks_free(struct webhooks *w)
{
	if (!w)
		return;
	if (w->sink)
		event_sink_del(on_event, w);
	if (w->part)
		metrics_part_del(metrics_part, w);
	/* What this turn queued is made durable before the queues close. */
	if (w->flush.slot) {
		loop_timer_cancel(w->d->loop, &w->flush);
		for (size_t i = 0; i < w->n; i++)
			if (w->hooks[i].q)
				whq_sync(w->hooks[i].q);
	}
	for (size_t i = 0; i < w->n; i++)
		hook_stop(&w->hooks[i]);
	free(w->hooks);
	free(w->specs);
	free(w);
}

/* ---- metrics ---- */

static void metrics_part(struct metrics_out *o, void *arg)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{"veer_webhook_delivered_total", "counter",
		 "Events a webhook's receiver acknowledged (2xx), per webhook url."},
		{"veer_webhook_failed_total", "counter",
		 "POSTs that failed (no connection, a timeout, a status other than 2xx), "
		 "each retry counted."},
		{"veer_webhook_dropped_total", "counter",
		 "Events of a webhook's types not queued: its queue was full (queue_max), "
		 "could not be written, or could not be opened."},
		{"veer_webhook_queue_bytes", "gauge",
		 "Bytes of undelivered events in a webhook's queue."},
		{"veer_webhook_queue_events", "gauge", "Undelivered events in a webhook's queue."},
	};
	struct webhooks *w = arg;

	/* The families even with no webhook: a scraper sees what veerd can export. */
	for (size_t k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		metrics_family(o, fam[k].name, fam[k].type, fam[k].help);
		for (size_t i = 0; i < w->n; i++) {
			const struct hook *h = &w->hooks[i];
			struct whq_stats st = {};
			char labels[2 * LABEL_URL_MAX + 16] = "";

			/* The second of two webhooks of one url is off: one series per url. */
			if (!h->c || h->dup)
				continue;
			if (h->q)
				whq_stats(h->q, &st);
			metrics_label(labels, sizeof(labels), "url", h->label);
			if (k == 0)
				metrics_counter(o, fam[k].name, labels, h->c->delivered);
			else if (k == 1)
				metrics_counter(o, fam[k].name, labels, h->c->failed);
			else if (k == 2)
				metrics_counter(o, fam[k].name, labels, h->c->dropped);
			else
				metrics_gauge(
					o, fam[k].name, labels,
					(double)(k == 3 ? st.pending_bytes : st.pending_events));
		}
	}
}
