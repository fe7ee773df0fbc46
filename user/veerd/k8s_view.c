// SPDX-License-Identifier: GPL-2.0
/*
 * The Kubernetes source without its I/O: objects from the API server's JSON (json-c), the
 * store of each resource, the VIPs they make, and the connection settings from a kubeconfig
 * (libyaml) or the in-cluster service account.
 *
 * The view is rebuilt whole from the two stores after every change; source_set then applies
 * only its difference to the data plane, so a re-list that finds what was there touches
 * nothing.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <yaml.h>
#include "k8s.h"

#define KUBECONFIG_MAX (4u << 20)

/* ---- objects ---- */

static struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

void k8s_obj_free(struct k8s_obj *o)
{
	if (!o)
		return;
	free(o->ns);
	free(o->name);
	for (size_t i = 0; i < o->nports; i++)
		free(o->ports[i].name);
	free(o->ports);
	free(o->vip);
	free(o->created);
	free(o->uid);
	free(o->svc);
	for (size_t i = 0; i < o->neps; i++)
		free(o->eps[i].addr);
	free(o->eps);
	free(o);
}

static int ports_parse(enum k8s_kind kind, struct json_object *arr, struct k8s_obj *o, char *err,
		       size_t errlen)
{
	size_t n;

	if (!arr)
		return 0;
	if (!json_object_is_type(arr, json_type_array)) {
		snprintf(err, errlen, "ports: not a list");
		return -EINVAL;
	}
	n = json_object_array_length(arr);
	o->ports = calloc(n ? n : 1, sizeof(*o->ports));
	if (!o->ports)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(arr, i), *num = jget(p, "port");
		struct k8s_port *kp = &o->ports[o->nports];
		const char *name = jstr(p, "name"), *proto = jstr(p, "protocol");
		int64_t v = 0;

		if (!json_object_is_type(p, json_type_object)) {
			snprintf(err, errlen, "ports[%zu]: not an object", i);
			return -EINVAL;
		}
		if (num && !json_object_is_type(num, json_type_int)) {
			snprintf(err, errlen, "ports[%zu].port: not a number", i);
			return -EINVAL;
		}
		v = num ? json_object_get_int64(num) : 0;
		if (v < 0 || v > 65535 || (kind == K8S_SERVICE && v == 0)) {
			snprintf(err, errlen, "ports[%zu].port: %lld is not a port", i,
				 (long long)v);
			return -EINVAL;
		}
		kp->name = strdup(name ? name : "");
		if (!kp->name)
			return -ENOMEM;
		o->nports++;
		kp->port = v;
		/* The API's default: a port without a protocol is TCP. */
		snprintf(kp->proto_name, sizeof(kp->proto_name), "%s", proto ? proto : "TCP");
		kp->proto = !strcmp(kp->proto_name, "TCP")   ? IPPROTO_TCP
			    : !strcmp(kp->proto_name, "UDP") ? IPPROTO_UDP
							     : 0;
	}
	return 0;
}

static int eps_parse(struct json_object *arr, struct k8s_obj *o, char *err, size_t errlen)
{
	size_t n;

	if (!arr)
		return 0;
	if (!json_object_is_type(arr, json_type_array)) {
		snprintf(err, errlen, "endpoints: not a list");
		return -EINVAL;
	}
	n = json_object_array_length(arr);
	o->eps = calloc(n ? n : 1, sizeof(*o->eps));
	if (!o->eps)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		struct json_object *addrs = jget(e, "addresses"), *cond = jget(e, "conditions");
		struct json_object *ready = jget(cond, "ready"), *term = jget(cond, "terminating");
		struct json_object *a0;
		struct k8s_ep *ep = &o->eps[o->neps];

		if (!addrs || !json_object_is_type(addrs, json_type_array) ||
		    !json_object_array_length(addrs)) {
			snprintf(err, errlen, "endpoints[%zu].addresses: missing", i);
			return -EINVAL;
		}
		/* Several addresses are one endpoint's: the API lets consumers use the first. */
		a0 = json_object_array_get_idx(addrs, 0);
		if (!json_object_is_type(a0, json_type_string)) {
			snprintf(err, errlen, "endpoints[%zu].addresses[0]: not a string", i);
			return -EINVAL;
		}
		ep->addr = strdup(json_object_get_string(a0));
		if (!ep->addr)
			return -ENOMEM;
		o->neps++;
		/* The API's rules: an unknown readiness counts as ready, not as terminating. */
		ep->ready = !ready || !json_object_is_type(ready, json_type_boolean) ||
			    json_object_get_boolean(ready);
		ep->terminating = term && json_object_is_type(term, json_type_boolean) &&
				  json_object_get_boolean(term);
	}
	return 0;
}

int k8s_obj_parse(enum k8s_kind kind, struct json_object *o, struct k8s_obj **out, char *err,
		  size_t errlen)
{
	struct json_object *md = jget(o, "metadata");
	const char *ns = jstr(md, "namespace"), *name = jstr(md, "name"), *s;
	struct k8s_obj *k;
	int rc;

	*out = NULL;
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "not an object");
		return -EINVAL;
	}
	if (!name || !*name || !ns || !*ns) {
		snprintf(err, errlen, "metadata.%s is missing",
			 !name || !*name ? "name" : "namespace");
		return -EINVAL;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->ns = strdup(ns);
	k->name = strdup(name);
	rc = -ENOMEM;
	if (!k->ns || !k->name)
		goto fail;
	if (kind == K8S_SERVICE) {
		rc = ports_parse(kind, jget(jget(o, "spec"), "ports"), k, err, errlen);
		if (rc)
			goto fail;
		s = jstr(jget(md, "annotations"), K8S_ANNOTATION);
		rc = -ENOMEM;
		if (s && !(k->vip = strdup(s)))
			goto fail;
		s = jstr(md, "creationTimestamp");
		if (s && *s && !(k->created = strdup(s)))
			goto fail;
		s = jstr(md, "uid");
		if (s && *s && !(k->uid = strdup(s)))
			goto fail;
	} else {
		s = jstr(jget(md, "labels"), K8S_SERVICE_NAME_LABEL);
		rc = -ENOMEM;
		if (s && !(k->svc = strdup(s)))
			goto fail;
		s = jstr(o, "addressType");
		k->family = !s			 ? 0
			    : !strcmp(s, "IPv4") ? VEER_AF_INET
			    : !strcmp(s, "IPv6") ? VEER_AF_INET6
						 : 0;
		rc = ports_parse(kind, jget(o, "ports"), k, err, errlen);
		if (!rc)
			rc = eps_parse(jget(o, "endpoints"), k, err, errlen);
		if (rc)
			goto fail;
	}
	*out = k;
	return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s", strerror(ENOMEM));
	k8s_obj_free(k);
	return rc;
}

/* ---- stores ---- */

static int obj_cmp(const char *ns, const char *name, const struct k8s_obj *o)
{
	int c = strcmp(ns, o->ns);

	return c ? c : strcmp(name, o->name);
}

/* The index of ns/name, or where it would go (*found false). */
static size_t store_find(const struct k8s_store *s, const char *ns, const char *name, bool *found)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = obj_cmp(ns, name, s->v[mid]);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*found = false;
	return lo;
}

int k8s_store_put(struct k8s_store *s, struct k8s_obj *o)
{
	bool found;
	size_t i = store_find(s, o->ns, o->name, &found);

	if (found) {
		k8s_obj_free(s->v[i]);
		s->v[i] = o;
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct k8s_obj **v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
	s->v[i] = o;
	s->n++;
	return 0;
}

int k8s_store_del(struct k8s_store *s, const char *ns, const char *name)
{
	bool found;
	size_t i = store_find(s, ns, name, &found);

	if (!found)
		return -ENOENT;
	k8s_obj_free(s->v[i]);
	memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
	s->n--;
	return 0;
}

void k8s_store_clear(struct k8s_store *s)
{
	for (size_t i = 0; i < s->n; i++)
		k8s_obj_free(s->v[i]);
	free(s->v);
	*s = (struct k8s_store){};
}

/* ---- the view ---- */

void k8s_view_free(struct k8s_view *v)
{
	veer_vip_specs_free(v->specs, v->n);
	for (size_t i = 0; i < v->n; i++)
		free(v->origins[i]);
	free(v->origins);
	for (size_t i = 0; i < v->nrefused; i++) {
		free(v->refused[i].origin);
		free(v->refused[i].why);
	}
	free(v->refused);
	for (size_t i = 0; i < v->nnotes; i++) {
		free(v->notes[i].origin);
		free(v->notes[i].why);
	}
	free(v->notes);
	*v = (struct k8s_view){};
}

struct build {
	struct k8s_view *out;
	size_t cap, rcap, ncap;
	/* The Service being made: its VIPs go into out only if all of them can be made. */
	struct veer_vip_spec *specs;
	size_t n, cap_svc;
	char why[K8S_ERR_LEN];
	char note[K8S_ERR_LEN]; /* the Service's VIPs are made, but likely not as meant */
};

static int view_add(struct build *b, struct veer_vip_spec *spec, const char *origin)
{
	struct k8s_view *v = b->out;

	if (v->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct veer_vip_spec *s = realloc(v->specs, cap * sizeof(*s));
		char **o;

		if (!s)
			return -ENOMEM;
		v->specs = s;
		o = realloc(v->origins, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		v->origins = o;
		b->cap = cap;
	}
	v->origins[v->n] = strdup(origin);
	if (!v->origins[v->n])
		return -ENOMEM;
	v->specs[v->n++] = *spec;
	return 0;
}

static int pair_add(struct k8s_refusal **v, size_t *n, size_t *cap, const char *origin,
		    const char *why)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 4;
		struct k8s_refusal *r = realloc(*v, c * sizeof(*r));

		if (!r)
			return -ENOMEM;
		*v = r;
		*cap = c;
	}
	(*v)[*n].origin = strdup(origin);
	(*v)[*n].why = strdup(why);
	if (!(*v)[*n].origin || !(*v)[*n].why) {
		free((*v)[*n].origin);
		free((*v)[*n].why);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

static int refusal_add(struct build *b, const char *origin, const char *why)
{
	return pair_add(&b->out->refused, &b->out->nrefused, &b->rcap, origin, why);
}

/* Who in the view has key already, or NULL. */
static const char *view_has(const struct k8s_view *v, const struct veer_vip_key *key)
{
	for (size_t i = 0; i < v->n; i++)
		if (!memcmp(&v->specs[i].key, key, sizeof(*key)))
			return v->origins[i];
	return NULL;
}

static int be_cmp(const void *a, const void *b)
{
	const struct veer_backend_spec *x = a, *y = b;
	int c = x->ep.family - y->ep.family;

	if (!c)
		c = memcmp(&x->ep.addr, &y->ep.addr, sizeof(x->ep.addr));
	return c ? c : (int)ntohs(x->ep.port) - (int)ntohs(y->ep.port);
}

/* The slices of one Service (ns, svc): a run of the sorted index. */
struct slice_run {
	const struct k8s_obj **v;
	size_t n;
};

static int slice_idx_cmp(const void *a, const void *b)
{
	const struct k8s_obj *x = *(const struct k8s_obj *const *)a;
	const struct k8s_obj *y = *(const struct k8s_obj *const *)b;
	int c = strcmp(x->ns, y->ns);

	if (!c)
		c = strcmp(x->svc, y->svc);
	return c ? c : strcmp(x->name, y->name);
}

static struct slice_run slices_of(const struct k8s_obj **idx, size_t n, const struct k8s_obj *svc)
{
	size_t lo = 0, hi = n, i;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(idx[mid]->ns, svc->ns);

		if (!c)
			c = strcmp(idx[mid]->svc, svc->name);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < n && !strcmp(idx[i]->ns, svc->ns) && !strcmp(idx[i]->svc, svc->name); i++)
		;
	return (struct slice_run){idx + lo, i - lo};
}

/* One VIP: address × the Service's port p; 0, -EINVAL (b->why says why) or -ENOMEM. */
static int vip_make(struct build *b, struct slice_run run, const union veer_addr *addr, __u8 family,
		    const struct k8s_port *p)
{
	struct veer_vip_spec spec = {
		.key = {.addr = *addr, .port = htons(p->port), .proto = p->proto, .family = family},
		.opts = {.mode = VEER_MODE_NAT, .ring_size = VEER_RING_DEFAULT},
	};
	size_t cap = 0, n = 0;
	char name[VEER_ADDR_STRLEN], why[K8S_ERR_LEN];
	int rc;

	for (size_t s = 0; s < run.n; s++) {
		const struct k8s_obj *sl = run.v[s];
		const struct k8s_port *sp = NULL;

		if (sl->family != family)
			continue;
		for (size_t i = 0; i < sl->nports && !sp; i++)
			if (sl->ports[i].port && sl->ports[i].proto == p->proto &&
			    !strcmp(sl->ports[i].name, p->name))
				sp = &sl->ports[i];
		if (!sp)
			continue;
		for (size_t e = 0; e < sl->neps; e++) {
			const struct k8s_ep *ep = &sl->eps[e];
			struct veer_backend_spec *be;
			const char *what;

			if (n == cap) {
				struct veer_backend_spec *nb;

				cap = cap ? cap * 2 : 8;
				nb = realloc(spec.backends, cap * sizeof(*nb));
				if (!nb) {
					free(spec.backends);
					return -ENOMEM;
				}
				spec.backends = nb;
			}
			be = &spec.backends[n];
			memset(be, 0, sizeof(*be));
			if (veer_parse_addr(ep->addr, &be->ep.addr, &be->ep.family) ||
			    be->ep.family != family) {
				snprintf(b->why, sizeof(b->why),
					 "EndpointSlice %s/%s: endpoint address '%s' is not an "
					 "IPv%u address",
					 sl->ns, sl->name, ep->addr, family);
				free(spec.backends);
				return -EINVAL;
			}
			if (veer_addr_check(&be->ep.addr, family, &what)) {
				snprintf(b->why, sizeof(b->why),
					 "EndpointSlice %s/%s: endpoint address %s is %s", sl->ns,
					 sl->name, ep->addr, what);
				free(spec.backends);
				return -EINVAL;
			}
			be->ep.port = htons(sp->port);
			/* Ready: new flows; terminating or not ready: drained, flows finish. */
			be->weight = ep->ready && !ep->terminating ? VEER_WEIGHT_DEFAULT : 0;
			snprintf(be->pool, sizeof(be->pool), "default");
			n++;
		}
	}
	/* One address in several slices (a slice being replaced): the readiest wins. */
	if (n)
		qsort(spec.backends, n, sizeof(*spec.backends), be_cmp);
	spec.nbackends = 0;
	for (size_t i = 0; i < n; i++) {
		struct veer_backend_spec *last =
			spec.nbackends ? &spec.backends[spec.nbackends - 1] : NULL;

		if (last && !be_cmp(last, &spec.backends[i])) {
			if (spec.backends[i].weight > last->weight)
				last->weight = spec.backends[i].weight;
			continue;
		}
		spec.backends[spec.nbackends++] = spec.backends[i];
	}
	rc = veer_vip_spec_check(&spec, why, sizeof(why));
	if (rc) {
		snprintf(b->why, sizeof(b->why), "VIP %s: %.400s",
			 veer_fmt_vip(&spec.key, name, sizeof(name)), why);
		free(spec.backends);
		return rc;
	}
	if (b->n == b->cap_svc) {
		size_t c = b->cap_svc ? b->cap_svc * 2 : 4;
		struct veer_vip_spec *ns = realloc(b->specs, c * sizeof(*ns));

		if (!ns) {
			free(spec.backends);
			return -ENOMEM;
		}
		b->specs = ns;
		b->cap_svc = c;
	}
	b->specs[b->n++] = spec;
	return 0;
}

/* The VIPs of one annotated Service into b->specs: 0, -EINVAL (b->why) or -ENOMEM. */
static int service_make(struct build *b, const struct k8s_obj *svc, struct slice_run run)
{
	char *list = strdup(svc->vip), *save = NULL, name[VEER_ADDR_STRLEN];
	bool seen4 = false, seen6 = false;
	int rc = 0;

	if (!list)
		return -ENOMEM;
	if (!svc->nports) {
		snprintf(b->why, sizeof(b->why), "the Service has no ports");
		rc = -EINVAL;
	}
	for (size_t i = 0; !rc && i < svc->nports; i++)
		if (!svc->ports[i].proto) {
			snprintf(b->why, sizeof(b->why),
				 "port %s%s%u/%s: veer serves TCP and UDP only",
				 svc->ports[i].name[0] ? svc->ports[i].name : "",
				 svc->ports[i].name[0] ? " " : "", svc->ports[i].port,
				 svc->ports[i].proto_name);
			rc = -EINVAL;
		}
	/* One address, or an IPv4 and an IPv6 one separated by a comma (dual stack). */
	for (char *a = strtok_r(list, ",", &save); !rc && a; a = strtok_r(NULL, ",", &save)) {
		union veer_addr addr;
		__u8 family;
		const char *what;
		bool sliced = false, same = false;

		while (*a == ' ' || *a == '\t')
			a++;
		for (char *e = a + strlen(a); e > a && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		if (!*a)
			continue;
		if (veer_parse_addr(a, &addr, &family)) {
			snprintf(b->why, sizeof(b->why), "annotation %s: '%s' is not an IP address",
				 K8S_ANNOTATION, a);
			rc = -EINVAL;
			break;
		}
		if (veer_addr_check(&addr, family, &what)) {
			snprintf(b->why, sizeof(b->why), "annotation %s: %s is %s", K8S_ANNOTATION,
				 veer_fmt_addr(&addr, family, name, sizeof(name)), what);
			rc = -EINVAL;
			break;
		}
		if (family == VEER_AF_INET ? seen4 : seen6) {
			snprintf(b->why, sizeof(b->why),
				 "annotation %s: more than one %s address (give one address, or one "
				 "IPv4 and one IPv6)",
				 K8S_ANNOTATION, family == VEER_AF_INET ? "IPv4" : "IPv6");
			rc = -EINVAL;
			break;
		}
		if (family == VEER_AF_INET)
			seen4 = true;
		else
			seen6 = true;
		/* Slices of the other family only: the VIP is made, without backends. Told. */
		for (size_t i = 0; i < run.n; i++) {
			sliced = true;
			same |= run.v[i]->family == family;
		}
		if (sliced && !same && !b->note[0])
			snprintf(b->note, sizeof(b->note),
				 "annotation %s: %s has no backends: the Service has no %s endpoint "
				 "(its EndpointSlices are of another family)",
				 K8S_ANNOTATION, veer_fmt_addr(&addr, family, name, sizeof(name)),
				 family == VEER_AF_INET ? "IPv4" : "IPv6");
		for (size_t i = 0; !rc && i < svc->nports; i++)
			rc = vip_make(b, run, &addr, family, &svc->ports[i]);
	}
	if (!rc && !b->n) {
		snprintf(b->why, sizeof(b->why), "annotation %s: no address", K8S_ANNOTATION);
		rc = -EINVAL;
	}
	free(list);
	return rc;
}

static void svc_specs_drop(struct build *b)
{
	veer_vip_specs_free(b->specs, b->n);
	b->specs = NULL;
	b->n = b->cap_svc = 0;
}

/* A field that may be absent: present ones first, in order. */
static int opt_cmp(const char *x, const char *y)
{
	if (!x || !y)
		return !x - !y;
	return strcmp(x, y);
}

struct svc_rank {
	const struct k8s_obj *svc;
	char origin[600];
	bool had; /* it has VIPs in prev */
};

/*
 * The Service created first, first: it holds a VIP another declares too, whatever their names
 * (a Service added later cannot take a VIP from under the one that has it). RFC 3339 times in
 * UTC, as the API writes them, sort as strings. They have seconds only: in a tie the one that
 * has VIPs already goes first, then the uid, then the name.
 */
static int svc_rank_cmp(const void *a, const void *b)
{
	const struct svc_rank *x = a, *y = b;
	int c = opt_cmp(x->svc->created, y->svc->created);

	if (!c)
		c = (int)y->had - (int)x->had;
	if (!c)
		c = opt_cmp(x->svc->uid, y->svc->uid);
	if (!c)
		c = strcmp(x->svc->ns, y->svc->ns);
	return c ? c : strcmp(x->svc->name, y->svc->name);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The annotated Services of svcs in the order they hold VIPs: *out (free it), *n of them. 0 or
 * -ENOMEM.
 */
static int svcs_ranked(const struct k8s_store *svcs, const struct k8s_view *prev,
		       struct svc_rank **out, size_t *n)
{
	size_t np = prev ? prev->n : 0;
	struct svc_rank *r = calloc(svcs->n ? svcs->n : 1, sizeof(*r));
	char **had = calloc(np ? np : 1, sizeof(*had));

	if (!r || !had) {
		free(r);
		free(had);
		return -ENOMEM;
	}
	memcpy(had, np ? prev->origins : had, np * sizeof(*had));
	qsort(had, np, sizeof(*had), str_cmp);
	*n = 0;
	for (size_t i = 0; i < svcs->n; i++) {
		struct svc_rank *x = &r[*n];
		const char *o = x->origin;

		if (!svcs->v[i]->vip)
			continue;
		x->svc = svcs->v[i];
		snprintf(x->origin, sizeof(x->origin), "kubernetes service %s/%s", x->svc->ns,
			 x->svc->name);
		x->had = np && bsearch(&o, had, np, sizeof(*had), str_cmp);
		(*n)++;
	}
	free(had);
	qsort(r, *n, sizeof(*r), svc_rank_cmp);
	*out = r;
	return 0;
}

int k8s_view_build(const struct k8s_store *svcs, const struct k8s_store *slices,
		   const struct k8s_view *prev, struct k8s_view *out)
{
	const struct k8s_obj **idx = calloc(slices->n ? slices->n : 1, sizeof(*idx));
	struct svc_rank *order = NULL;
	struct build b = {.out = out};
	size_t nidx = 0, nsvc = 0;
	int rc = 0;

	*out = (struct k8s_view){};
	if (!idx || svcs_ranked(svcs, prev, &order, &nsvc)) {
		free(idx);
		return -ENOMEM;
	}
	for (size_t i = 0; i < slices->n; i++)
		if (slices->v[i]->svc)
			idx[nidx++] = slices->v[i];
	qsort(idx, nidx, sizeof(*idx), slice_idx_cmp);

	for (size_t i = 0; !rc && i < nsvc; i++) {
		const struct k8s_obj *svc = order[i].svc;
		const char *origin = order[i].origin;
		const char *other = NULL;
		size_t kept = 0;

		b.why[0] = '\0';
		b.note[0] = '\0';
		rc = service_make(&b, svc, slices_of(idx, nidx, svc));
		for (size_t j = 0; !rc && j < b.n && !other; j++)
			other = view_has(out, &b.specs[j].key);
		if (other) {
			char name[VEER_ADDR_STRLEN];

			for (size_t j = 0; j < b.n; j++)
				if (view_has(out, &b.specs[j].key) == other) {
					veer_fmt_vip(&b.specs[j].key, name, sizeof(name));
					break;
				}
			snprintf(b.why, sizeof(b.why), "VIP %s is %.300s's already", name, other);
			rc = -EINVAL;
		}
		if (!rc) {
			for (size_t j = 0; !rc && j < b.n; j++) {
				rc = view_add(&b, &b.specs[j], origin);
				if (!rc)
					b.specs[j].backends = NULL;
			}
			svc_specs_drop(&b);
			if (!rc && b.note[0])
				rc = pair_add(&out->notes, &out->nnotes, &b.ncap, origin, b.note);
			continue;
		}
		svc_specs_drop(&b);
		if (rc != -EINVAL)
			break;
		/* Refused: the Service keeps what it had, nothing of the new state is applied. */
		rc = refusal_add(&b, origin, b.why);
		for (size_t j = 0; !rc && prev && j < prev->n; j++) {
			struct veer_vip_spec copy;

			if (strcmp(prev->origins[j], origin) || view_has(out, &prev->specs[j].key))
				continue;
			rc = veer_vip_spec_copy(&copy, &prev->specs[j]);
			if (!rc) {
				rc = view_add(&b, &copy, origin);
				if (rc)
					free(copy.backends);
				else
					kept++;
			}
		}
		/*
		 * Nothing of it since veerd started: what it had before may be in the data plane.
		 * A Service refused for a VIP an older one holds is known whole (as an etcd key
		 * declaring another's VIP): it could not have held that VIP before either.
		 */
		if (!kept && !other)
			out->hold = true;
	}
	free(idx);
	free(order);
	if (rc)
		k8s_view_free(out);
	return rc;
}

int k8s_view_specs_copy(const struct k8s_view *v, struct veer_vip_spec **specs, char ***origins)
{
	struct veer_vip_spec *s = calloc(v->n ? v->n : 1, sizeof(*s));
	char **o = calloc(v->n ? v->n : 1, sizeof(*o));
	size_t i;

	if (!s || !o)
		goto oom;
	for (i = 0; i < v->n; i++) {
		o[i] = strdup(v->origins[i]);
		if (!o[i] || veer_vip_spec_copy(&s[i], &v->specs[i])) {
			free(o[i]);
			goto oom_partial;
		}
	}
	*specs = s;
	*origins = o;
	return 0;
oom_partial:
	veer_vip_specs_free(s, i);
	for (size_t j = 0; j < i; j++)
		free(o[j]);
	free(o);
	return -ENOMEM;
oom:
	free(s);
	free(o);
	return -ENOMEM;
}

/* ---- the connection ---- */

void k8s_conn_free(struct k8s_conn *c)
{
	free(c->where);
	free(c->server);
	free(c->ca_file);
	free(c->ca_data);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_data);
	free(c->key_data);
	free(c->token);
	free(c->token_file);
	*c = (struct k8s_conn){};
}

static yaml_node_t *ymap(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);

		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

/* A scalar's text; NULL for none, an empty one, or YAML's null. */
static const char *ystr(yaml_node_t *n)
{
	const char *s;

	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	s = (const char *)n->data.scalar.value;
	if (!*s || (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    (!strcmp(s, "null") || !strcmp(s, "~"))))
		return NULL;
	return s;
}

/* list's entry named name: its field (cluster, user, context), or NULL. */
static yaml_node_t *ynamed(yaml_document_t *d, yaml_node_t *root, const char *list,
			   const char *name, const char *field)
{
	yaml_node_t *seq = ymap(d, root, list);

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(d, *it);
		const char *n = ystr(ymap(d, e, "name"));

		if (n && !strcmp(n, name))
			return ymap(d, e, field);
	}
	return NULL;
}

/* A file path of the kubeconfig: relative ones are relative to its directory. */
static char *kpath(const char *kubeconfig, const char *p)
{
	const char *slash = strrchr(kubeconfig, '/');
	char *out;

	if (p[0] == '/' || !slash)
		return strdup(p);
	if (asprintf(&out, "%.*s/%s", (int)(slash - kubeconfig), kubeconfig, p) < 0)
		return NULL;
	return out;
}

/* base64 (whitespace allowed) to bytes, with OpenSSL's decoder. 0 or -EINVAL/-ENOMEM. */
static int b64_decode(const char *in, void **out, size_t *len)
{
	size_t n = strlen(in), m = 0, pad = 0;
	char *clean = malloc(n + 1);
	unsigned char *buf;
	int got;

	if (!clean)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (in[i] != ' ' && in[i] != '\n' && in[i] != '\r' && in[i] != '\t')
			clean[m++] = in[i];
	clean[m] = '\0';
	if (!m || m % 4) {
		free(clean);
		return -EINVAL;
	}
	buf = malloc(m / 4 * 3 + 1);
	if (!buf) {
		free(clean);
		return -ENOMEM;
	}
	got = EVP_DecodeBlock(buf, (unsigned char *)clean, (int)m);
	pad = (clean[m - 1] == '=') + (clean[m - 2] == '=');
	free(clean);
	if (got < 0) {
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	*len = (size_t)got - pad;
	return 0;
}

/* A kubeconfig's FIELD / FIELD-data pair: a path or the decoded bytes. */
static int file_or_data(const char *kubeconfig, yaml_document_t *d, yaml_node_t *m,
			const char *field, char **file, void **data, size_t *len, char *err,
			size_t errlen, const char *what)
{
	char key[64];
	const char *f = ystr(ymap(d, m, field)), *b64;
	int rc;

	snprintf(key, sizeof(key), "%s-data", field);
	b64 = ystr(ymap(d, m, key));
	if (b64) {
		rc = b64_decode(b64, data, len);
		if (rc == -EINVAL)
			snprintf(err, errlen, "kubeconfig %s: %s: %s is not base64", kubeconfig,
				 what, key);
		return rc;
	}
	if (f) {
		*file = kpath(kubeconfig, f);
		return *file ? 0 : -ENOMEM;
	}
	return 0;
}

static int read_file(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return -errno;
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		int e = errno ? errno : EIO;

		fclose(f);
		free(buf);
		return -e;
	}
	fclose(f);
	if (n > max) {
		free(buf);
		return -EFBIG;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int k8s_conn_kubeconfig(const char *path, struct k8s_conn *c, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root, *cluster, *user, *ctx;
	const char *cur, *cname, *uname, *server, *s;
	char *buf = NULL, cl[300], us[300];
	size_t len = 0;
	int rc;

	*c = (struct k8s_conn){};
	rc = read_file(path, KUBECONFIG_MAX, &buf, &len);
	if (rc) {
		snprintf(err, errlen, "kubeconfig %s: cannot read: %s", path,
			 rc == -EFBIG ? "larger than 4 MiB" : strerror(-rc));
		return rc;
	}
	if (!yaml_parser_initialize(&parser)) {
		free(buf);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "kubeconfig %s:%zu:%zu: %s", path,
			 parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "not YAML");
		yaml_parser_delete(&parser);
		free(buf);
		return -EINVAL;
	}
	rc = -EINVAL;
	root = yaml_document_get_root_node(&doc);
	cur = ystr(ymap(&doc, root, "current-context"));
	if (!root || root->type != YAML_MAPPING_NODE) {
		snprintf(err, errlen,
			 "kubeconfig %s: not a kubeconfig (want a mapping with "
			 "clusters, users, contexts, current-context)",
			 path);
		goto out;
	}
	if (!cur) {
		snprintf(err, errlen, "kubeconfig %s: current-context is not set", path);
		goto out;
	}
	ctx = ynamed(&doc, root, "contexts", cur, "context");
	if (!ctx) {
		snprintf(err, errlen, "kubeconfig %s: context '%s' is not in contexts", path, cur);
		goto out;
	}
	cname = ystr(ymap(&doc, ctx, "cluster"));
	uname = ystr(ymap(&doc, ctx, "user"));
	if (!cname || !uname) {
		snprintf(err, errlen, "kubeconfig %s: context '%s' names no %s", path, cur,
			 !cname ? "cluster" : "user");
		goto out;
	}
	snprintf(cl, sizeof(cl), "cluster '%s'", cname);
	snprintf(us, sizeof(us), "user '%s'", uname);
	cluster = ynamed(&doc, root, "clusters", cname, "cluster");
	user = ynamed(&doc, root, "users", uname, "user");
	if (!cluster || !user) {
		snprintf(err, errlen, "kubeconfig %s: %s is not in %s", path, !cluster ? cl : us,
			 !cluster ? "clusters" : "users");
		goto out;
	}
	server = ystr(ymap(&doc, cluster, "server"));
	if (!server) {
		snprintf(err, errlen, "kubeconfig %s: %s has no server", path, cl);
		goto out;
	}
	if (strncmp(server, "https://", 8)) {
		snprintf(err, errlen, "kubeconfig %s: %s: server %s is not https://", path, cl,
			 server);
		goto out;
	}
	s = ystr(ymap(&doc, cluster, "insecure-skip-tls-verify"));
	if (s && !strcmp(s, "true")) {
		snprintf(err, errlen,
			 "kubeconfig %s: %s: insecure-skip-tls-verify is refused: give "
			 "certificate-authority or certificate-authority-data",
			 path, cl);
		goto out;
	}
	if (ymap(&doc, user, "exec") || ymap(&doc, user, "auth-provider")) {
		snprintf(err, errlen,
			 "kubeconfig %s: %s: exec and auth-provider plugins are not "
			 "supported: give token, tokenFile or a client certificate",
			 path, us);
		goto out;
	}
	rc = -ENOMEM;
	c->server = strdup(server);
	if (!c->server || asprintf(&c->where, "kubeconfig %s", path) < 0) {
		c->where = NULL;
		goto out;
	}
	/* No trailing slash: paths are appended. */
	for (size_t n = strlen(c->server); n > 8 && c->server[n - 1] == '/'; n--)
		c->server[n - 1] = '\0';
	rc = file_or_data(path, &doc, cluster, "certificate-authority", &c->ca_file, &c->ca_data,
			  &c->ca_len, err, errlen, cl);
	if (!rc)
		rc = file_or_data(path, &doc, user, "client-certificate", &c->cert_file,
				  &c->cert_data, &c->cert_len, err, errlen, us);
	if (!rc)
		rc = file_or_data(path, &doc, user, "client-key", &c->key_file, &c->key_data,
				  &c->key_len, err, errlen, us);
	if (rc)
		goto out;
	rc = -ENOMEM;
	s = ystr(ymap(&doc, user, "token"));
	if (s && !(c->token = strdup(s)))
		goto out;
	s = ystr(ymap(&doc, user, "tokenFile"));
	if (s && !c->token && !(c->token_file = kpath(path, s)))
		goto out;
	rc = -EINVAL;
	if (!!(c->cert_file || c->cert_data) != !!(c->key_file || c->key_data)) {
		snprintf(err, errlen,
			 "kubeconfig %s: %s: a client certificate needs its key and a "
			 "key its certificate",
			 path, us);
		goto out;
	}
	if (!c->token && !c->token_file && !c->cert_file && !c->cert_data) {
		snprintf(err, errlen,
			 "kubeconfig %s: %s has no token, tokenFile or client "
			 "certificate",
			 path, us);
		goto out;
	}
	rc = 0;
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s", strerror(ENOMEM));
	if (rc)
		k8s_conn_free(c);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(buf);
	return rc;
}

int k8s_conn_incluster(const char *sa_dir, struct k8s_conn *c, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	int rc = -ENOMEM;

	*c = (struct k8s_conn){};
	if (!host || !*host || !port || !*port) {
		snprintf(err, errlen,
			 "in-cluster config: %s is not set (not in a pod? give "
			 "sources.kubernetes.kubeconfig outside a cluster)",
			 !host || !*host ? "KUBERNETES_SERVICE_HOST" : "KUBERNETES_SERVICE_PORT");
		return -ENOENT;
	}
	c->where = strdup("in-cluster config");
	if (!c->where)
		goto fail;
	/* An IPv6 service address goes in brackets. */
	if (asprintf(&c->server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		     port) < 0) {
		c->server = NULL;
		goto fail;
	}
	if (asprintf(&c->ca_file, "%s/ca.crt", sa_dir) < 0) {
		c->ca_file = NULL;
		goto fail;
	}
	if (asprintf(&c->token_file, "%s/token", sa_dir) < 0) {
		c->token_file = NULL;
		goto fail;
	}
	if (access(c->ca_file, R_OK)) {
		rc = -errno;
		snprintf(err, errlen, "in-cluster config: CA %s: %s", c->ca_file, strerror(errno));
		k8s_conn_free(c);
		return rc;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s", strerror(ENOMEM));
	k8s_conn_free(c);
	return rc;
}
