// SPDX-License-Identifier: GPL-2.0
/*
 * Where VIPs come from besides the file: etcd and Kubernetes. Each source's VIPs are pinned
 * under an owner of their own (VEER_OWNER_ETCD, VEER_OWNER_KUBERNETES) and applied as that
 * owner's whole set, so that:
 *   - a source that has not listed yet (veerd just restarted, etcd down) leaves its VIPs as
 *     they are pinned: traffic does not notice;
 *   - a re-list or a burst of watch events writes only the difference (veer_vips_apply);
 *   - one source can never remove another's VIPs.
 *
 * Precedence: the file, then etcd, then Kubernetes. A VIP a higher one declares is refused in
 * the lower one, with both origins named; the lower sources are applied first so that a VIP
 * passing to a higher one is free when that one claims it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "veerd.h"

struct source {
	char name[16];
	__u8 owner;
	bool synced; /* listed at least once since veerd started */
	struct veer_vip_spec *specs;
	char **origins;
	size_t n;
	/* Conflicts reported at the last apply: each is told once, not at every event. */
	char **told;
	size_t ntold;
	bool hold;	     /* keep VIPs no longer declared: a refused key may be one of them */
	bool up;	     /* connected now */
	uint64_t errors;     /* keys and objects refused */
	uint64_t losses;     /* connections lost */
	struct source *next; /* by precedence: owner ascending */
};

static struct {
	struct veerd *d;
	struct source *list;
	struct loop_timer timer;
	__u32 gone; /* owners of sources unconfigured since the last apply: their VIPs go */
	/* In the pass under way: VIPs refused for another source's, and VIPs removed. */
	unsigned held, removed;
} S;

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static const char *file_declares(const struct veer_config *file, const struct veer_vip_key *key)
{
	for (size_t i = 0; file && i < file->nvips; i++)
		if (!memcmp(&file->vips[i].key, key, sizeof(*key)))
			return file->path;
	return NULL;
}

/* Who above s declares key: a message's words, or NULL. */
static const char *declared_above(const struct source *s, const struct veer_config *file,
				  const struct veer_vip_key *key, char *buf, size_t len)
{
	const char *path = file_declares(file, key);

	if (path) {
		snprintf(buf, len, "file %s", path);
		return buf;
	}
	for (const struct source *o = S.list; o && o != s; o = o->next)
		for (size_t i = 0; o->synced && i < o->n; i++)
			if (!memcmp(&o->specs[i].key, key, sizeof(*key)))
				return o->origins[i];
	return NULL;
}

/* Where a source stands among the owners: the file first, then etcd, then Kubernetes. */
static int rank(__u8 owner)
{
	switch (owner) {
	case VEER_OWNER_CONFIG:
		return 0;
	case VEER_OWNER_ETCD:
		return 1;
	case VEER_OWNER_KUBERNETES:
		return 2;
	}
	return -1; /* by hand: never taken over */
}

/*
 * Whether owner may have key now: free, or already its own, or pinned by a source of lower
 * precedence (handed over as it is: its table and flows stay). A VIP made by hand, or held by
 * a higher source that has not listed since a restart, is refused: *why says by whom.
 */
static bool claim(struct veer *v, const struct veer_vip_key *key, __u8 owner, const char **why)
{
	struct veer_vip vip;

	if (veer_vip_get(v, key, &vip) || vip.owner == owner)
		return true;
	if (rank(vip.owner) > rank(owner) && rank(owner) >= 0 &&
	    !veer_vip_set_owner(v, key, owner)) {
		char name[VEER_ADDR_STRLEN];

		log_info("VIP %s passes from %s to %s", veer_fmt_vip(key, name, sizeof(name)),
			 veer_owner_name(vip.owner), veer_owner_name(owner));
		return true;
	}
	*why = vip.owner == VEER_OWNER_CLI	? "it was made by hand (veer vip add)"
	       : vip.owner == VEER_OWNER_CONFIG ? "the config file holds it"
	       : vip.owner == VEER_OWNER_ETCD	? "the etcd source holds it (and has not listed "
						  "since veerd started)"
						: "another source holds it";
	return false;
}

void sources_claim(struct veer *v, const struct veer_vip_spec *specs, size_t n, __u8 owner)
{
	const char *why;

	for (size_t i = 0; i < n; i++)
		claim(v, &specs[i].key, owner, &why);
}

static bool told_before(const struct source *s, const char *line)
{
	for (size_t i = 0; i < s->ntold; i++)
		if (!strcmp(s->told[i], line))
			return true;
	return false;
}

/* Each conflict of this apply, logged and sent once; those gone are forgotten. */
static void tell(struct source *s, char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct json_object *o;

		if (told_before(s, lines[i]))
			continue;
		log_warnx("%s", lines[i]);
		o = json_object_new_object();
		json_object_object_add(o, "source", json_object_new_string(s->name));
		json_object_object_add(o, "error", json_object_new_string(lines[i]));
		event_emit(VEER_EVENT_CONFIG_REFUSED, o);
	}
	strv_free(s->told, s->ntold);
	s->told = lines;
	s->ntold = n;
}

/*
 * s's VIPs minus those a higher source declares and those it may not take (a shallow copy:
 * backends shared). Every one left out is told by name; the rest are applied.
 */
static int source_filtered(struct veer *v, struct source *s, const struct veer_config *file,
			   struct veer_vip_spec **out, size_t *nout)
{
	struct veer_vip_spec *f = calloc(s->n ? s->n : 1, sizeof(*f));
	char **lines = calloc(s->n ? s->n : 1, sizeof(*lines));
	char above[256], name[VEER_ADDR_STRLEN];
	size_t n = 0, nl = 0;

	if (!f || !lines) {
		free(f);
		free(lines);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct veer_vip_key *key = &s->specs[i].key;
		const char *by = declared_above(s, file, key, above, sizeof(above)), *why;
		char *line = NULL;
		int rc = 0;

		veer_fmt_vip(key, name, sizeof(name));
		if (by)
			rc = asprintf(&line,
				      "VIP %s of %s is declared by %s too: %s's is refused "
				      "(precedence: the file, etcd, kubernetes)",
				      name, s->origins[i], by, s->name);
		else if (!claim(v, key, s->owner, &why) && ++S.held)
			rc = asprintf(&line, "VIP %s of %s is refused: %s", name, s->origins[i],
				      why);
		else
			f[n++] = s->specs[i];
		if (rc < 0)
			line = NULL;
		if (line)
			lines[nl++] = line;
	}
	tell(s, lines, nl);
	*out = f;
	*nout = n;
	return 0;
}

static int owner_apply(struct veer *v, const char *name, __u8 owner,
		       const struct veer_vip_spec *specs, size_t n, bool keep)
{
	struct veer_apply_result r = {};
	int err = keep ? veer_vips_apply_keep(v, specs, n, owner, &r)
		       : veer_vips_apply(v, specs, n, owner, &r);

	S.removed += r.vips_removed;

	if (err) {
		struct json_object *o = json_object_new_object();

		log_warnx("cannot apply the VIPs of %s: %s", name, strerror(-err));
		json_object_object_add(o, "source", json_object_new_string(name));
		json_object_object_add(o, "error", json_object_new_string(strerror(-err)));
		event_emit(VEER_EVENT_CONFIG_REFUSED, o);
		return err;
	}
	if (r.map_writes) {
		struct json_object *o = json_object_new_object();

		log_info("applied %s: VIPs +%u ~%u -%u, backends +%u ~%u -%u, %u tables, %llu map "
			 "writes",
			 name, r.vips_added, r.vips_changed, r.vips_removed, r.backends_added,
			 r.backends_changed, r.backends_removed, r.rings_published,
			 (unsigned long long)r.map_writes);
		json_object_object_add(o, "source", json_object_new_string(name));
		event_applied(o, &r);
	} else {
		log_debug("applied %s: nothing to change", name);
	}
	return 0;
}

/* Every synced source once, lowest precedence first: what passes up is released before. */
static int sources_pass(struct veer *v, const struct veer_config *file)
{
	struct source *order[8];
	size_t count = 0;
	int err, rc = 0;

	for (struct source *s = S.list; s && count < 8; s = s->next)
		order[count++] = s;
	while (count--) {
		struct source *s = order[count];
		struct veer_vip_spec *f;
		size_t n;

		if (!s->synced)
			continue;
		err = source_filtered(v, s, file, &f, &n);
		if (!err) {
			err = owner_apply(v, s->name, s->owner, f, n, s->hold);
			free(f);
		}
		rc = err ?: rc;
	}
	return rc;
}

int sources_apply(const struct veer_config *file)
{
	struct veer *v;
	int err, rc = 0;

	loop_timer_cancel(S.d->loop, &S.timer);
	if (!S.list && !S.gone)
		return 0;
	err = state_begin(&v);
	if (err) {
		log_warnx("cannot apply the sources' VIPs: %s", strerror(-err));
		return err;
	}
	for (unsigned owner = 0; owner < 32; owner++)
		if (S.gone & (1u << owner))
			rc = owner_apply(v, veer_owner_name(owner), owner, NULL, 0, false) ?: rc;
	S.gone = 0;
	S.held = S.removed = 0;
	rc = sources_pass(v, file) ?: rc;
	/*
	 * A VIP refused because a higher source held it, which that source let go later in the
	 * same pass: a second pass gives it to the lower one now, not at its next event.
	 */
	if (S.held && S.removed)
		rc = sources_pass(v, file) ?: rc;
	state_end();
	return rc;
}

static void on_timer(struct loop *l, struct loop_timer *t)
{
	(void)l;
	(void)t;
	sources_apply(S.d->cfg);
	veerd_health_resync();
}

static uint64_t m_up(const struct source *s)
{
	return s->up;
}
static uint64_t m_vips(const struct source *s)
{
	return s->n;
}
static uint64_t m_errors(const struct source *s)
{
	return s->errors;
}
static uint64_t m_losses(const struct source *s)
{
	return s->losses;
}

static const struct {
	const char *name, *type, *help;
	uint64_t (*value)(const struct source *s);
} source_series[] = {
	{"veer_source_up", "gauge",
	 "1 while the source (etcd, kubernetes) is connected and watching.", m_up},
	{"veer_source_vips", "gauge", "VIPs the source declares now (refused ones included).",
	 m_vips},
	{"veer_source_errors_total", "counter",
	 "Keys and objects of the source refused (bad JSON, bad values).", m_errors},
	{"veer_source_lost_total", "counter", "Times the source's connection was lost.", m_losses},
};

static void metrics_part(struct metrics_out *o, void *arg)
{
	/* The families even with no source: a scraper sees what veerd can export. */
	(void)arg;
	for (size_t i = 0; i < sizeof(source_series) / sizeof(source_series[0]); i++) {
		metrics_family(o, source_series[i].name, source_series[i].type,
			       source_series[i].help);
		for (struct source *s = S.list; s; s = s->next) {
			char l[64] = "";
			uint64_t v = source_series[i].value(s);

			metrics_label(l, sizeof(l), "source", s->name);
			if (source_series[i].type[0] == 'c')
				metrics_counter(o, source_series[i].name, l, v);
			else
				metrics_gauge(o, source_series[i].name, l, v);
		}
	}
}

int sources_init(struct veerd *d)
{
	S.d = d;
	S.timer.cb = on_timer;
	return metrics_part_add(metrics_part, NULL);
}

void sources_changed(void)
{
	/* Due now: the loop runs it after the fds already ready, so a burst is applied once. */
	if (S.d && !S.timer.slot)
		loop_timer_at(S.d->loop, &S.timer, loop_now());
}

const char *sources_waiting(void)
{
	for (struct source *s = S.list; s; s = s->next)
		if (!s->synced)
			return s->name;
	return NULL;
}

void sources_flush(void)
{
	if (S.timer.slot)
		on_timer(S.d->loop, &S.timer);
}

int source_new(struct source **out, const char *name, __u8 owner)
{
	struct source *s = calloc(1, sizeof(*s)), **p;

	if (!s)
		return -ENOMEM;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->owner = owner;
	S.gone &= ~(1u << owner);
	for (p = &S.list; *p && (*p)->owner < owner; p = &(*p)->next)
		;
	s->next = *p;
	*p = s;
	*out = s;
	return 0;
}

void source_set(struct source *s, struct veer_vip_spec *specs, char **origins, size_t n)
{
	veer_vip_specs_free(s->specs, s->n);
	strv_free(s->origins, s->n);
	s->specs = specs;
	s->origins = origins;
	s->n = n;
	s->synced = true;
	sources_changed();
}

void source_connected(struct source *s, const char *endpoint)
{
	struct json_object *o = json_object_new_object();

	if (s->up)
		return;
	s->up = true;
	log_info("source %s connected to %s", s->name, endpoint);
	json_object_object_add(o, "source", json_object_new_string(s->name));
	json_object_object_add(o, "endpoint", json_object_new_string(endpoint));
	event_emit(VEER_EVENT_SOURCE_CONNECTED, o);
}

void source_refused(struct source *s, const char *origin, const char *why)
{
	struct json_object *o = json_object_new_object();

	s->errors++;
	log_warnx("%s refused: %s", origin, why);
	json_object_object_add(o, "source", json_object_new_string(s->name));
	json_object_object_add(o, "origin", json_object_new_string(origin));
	json_object_object_add(o, "error", json_object_new_string(why));
	event_emit(VEER_EVENT_CONFIG_REFUSED, o);
}

void source_hold(struct source *s, bool hold)
{
	if (s->hold == hold)
		return;
	s->hold = hold;
	if (hold)
		log_info("%s: VIPs no longer declared are kept while a refused entry of it may be "
			 "one of them",
			 s->name);
	else
		log_info("%s: nothing of it is refused any more: VIPs no longer declared go",
			 s->name);
	sources_changed();
}

void source_lost(struct source *s, const char *why)
{
	struct json_object *o;

	/* A source retrying a connection that never came up is told once, not at every try. */
	if (!s->up && s->losses)
		return;
	s->up = false;
	s->losses++;
	o = json_object_new_object();

	log_warnx("source %s lost: %s; its VIPs stay as they are pinned", s->name, why);
	json_object_object_add(o, "source", json_object_new_string(s->name));
	json_object_object_add(o, "error", json_object_new_string(why));
	event_emit(VEER_EVENT_SOURCE_LOST, o);
}

void source_free(struct source *s)
{
	struct source **p;

	if (!s)
		return;
	for (p = &S.list; *p && *p != s; p = &(*p)->next)
		;
	if (*p)
		*p = s->next;
	S.gone |= 1u << s->owner;
	veer_vip_specs_free(s->specs, s->n);
	strv_free(s->origins, s->n);
	strv_free(s->told, s->ntold);
	free(s);
	sources_changed();
}

void sources_forget(__u8 owner)
{
	for (struct source *s = S.list; s; s = s->next)
		if (s->owner == owner)
			return;
	S.gone |= 1u << owner;
	sources_changed();
}

int sources_merged(const struct veer_config *file, struct veer_config **out)
{
	struct veer_config *c = calloc(1, sizeof(*c));
	char above[256];
	size_t total = file->nvips;

	if (!c)
		return -ENOMEM;
	*c = *file;
	c->path = NULL;
	c->ifaces = NULL;
	c->nifaces = 0;
	c->webhooks = NULL;
	c->nwebhooks = 0;
	for (struct source *s = S.list; s; s = s->next)
		total += s->synced ? s->n : 0;
	c->nvips = 0;
	c->vips = calloc(total ? total : 1, sizeof(*c->vips));
	if (!c->vips)
		goto oom;
	for (size_t i = 0; i < file->nvips; i++)
		if (veer_vip_spec_copy(&c->vips[c->nvips++], &file->vips[i]))
			goto oom;
	for (struct source *s = S.list; s; s = s->next)
		for (size_t i = 0; s->synced && i < s->n; i++)
			if (!declared_above(s, file, &s->specs[i].key, above, sizeof(above)) &&
			    veer_vip_spec_copy(&c->vips[c->nvips++], &s->specs[i]))
				goto oom;
	*out = c;
	return 0;
oom:
	veer_config_free(c);
	return -ENOMEM;
}
