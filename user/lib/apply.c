// SPDX-License-Identifier: GPL-2.0
/*
 * Declarative apply: makes the pinned VIPs and backends what a config declares, writing only
 * the difference. The rules on values live here too, so that the CLI, `veer apply` and veerd
 * refuse the same things with the same words.
 *
 * An apply is one pass over every VIP it declares, in phases, so that each VIP's Maglev table
 * is built once and a packet never meets a half-made state:
 *   1. everything is checked (values, duplicates, ownership) before any map is touched;
 *   2. the VIPs of the owner that the config no longer declares (and those whose mode changes)
 *      are deleted, freeing their ids and slots for what comes;
 *   3. backend slots are written: added (counters reset), re-weighted, removed ones drained
 *      (weight 0; they are marked removed in 6, once out of the table);
 *   4. the reply index of every address:port that changed is rewritten, once;
 *   5. each VIP's table is published if what it is built from changed, then the VIP: created,
 *      or its value changed in place (affinity, ring size) with its flows kept;
 *   6. removed backends become REMOVED: out of every choice, their flows finishing.
 * A second apply of the same state finds nothing to change and writes nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "internal.h"
#include "maglev.h"

/* ---- the rules on values ---- */

#define STR_(x) #x
#define STR(x)	STR_(x)

const char veer_weight_want[] = "0.." STR(VEER_WEIGHT_MAX);
const char veer_affinity_want[] = "0.." STR(VEER_AFFINITY_SECONDS_MAX) " seconds";
const char veer_ring_size_want[] = "a prime up to " STR(VEER_RING_MAX);

int veer_weight_check(__u32 weight)
{
	return weight <= VEER_WEIGHT_MAX ? 0 : -EINVAL;
}

int veer_affinity_check(__u32 seconds)
{
	return seconds <= VEER_AFFINITY_SECONDS_MAX ? 0 : -EINVAL;
}

int veer_ring_size_check(__u32 slots)
{
	return slots >= 2 && slots <= VEER_RING_MAX && veer_is_prime(slots) ? 0 : -EINVAL;
}

int veer_addr_check(const union veer_addr *a, __u8 family, const char **why)
{
	static const union veer_addr any;

	*why = NULL;
	if (family == VEER_AF_INET) {
		__u32 h = ntohl(a->v4);

		if (!h)
			*why = "the unspecified address";
		else if (h == 0xffffffffu)
			*why = "the broadcast address";
		else if ((h >> 24) == 127)
			*why = "a loopback address";
		else if ((h >> 16) == 0xa9fe)
			*why = "a link-local address";
		else if ((h >> 28) == 0xe)
			*why = "a multicast address";
	} else if (family == VEER_AF_INET6) {
		static const __u8 loop[16] = {[15] = 1};

		if (!memcmp(a, &any, sizeof(any)))
			*why = "the unspecified address";
		else if (!memcmp(a->bytes, loop, sizeof(loop)))
			*why = "a loopback address";
		else if (a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80)
			*why = "a link-local address";
		else if (a->bytes[0] == 0xff)
			*why = "a multicast address";
	} else {
		*why = "of no address family";
	}
	return *why ? -EINVAL : 0;
}

int veer_backend_family_fits(const struct veer_vip_key *vip, __u8 mode, __u8 family, char *why,
			     size_t len)
{
	/* dsr-ipip carries IPv4 in IPv6 too: an IPv4 VIP may have IPv6 backends. */
	if (family == vip->family ||
	    (mode == VEER_MODE_DSR_IPIP && vip->family == VEER_AF_INET && family == VEER_AF_INET6))
		return 0;
	snprintf(why, len, "address family differs from the VIP's%s",
		 mode == VEER_MODE_DSR_IPIP ? " (dsr-ipip carries IPv4 in IPv4 or IPv6, IPv6 in "
					      "IPv6 only)"
					    : "");
	return -EINVAL;
}

int veer_backend_fits(const struct veer_vip_key *vip, __u8 mode, const struct veer_endpoint *ep,
		      char *why, size_t len)
{
	int err = veer_backend_family_fits(vip, mode, ep->family, why, len);

	if (err)
		return err;
	/* A DSR VIP's backends, reached by the packet as the client sent it, listen on its port. */
	if (mode != VEER_MODE_NAT && ep->port && ep->port != vip->port) {
		snprintf(why, len, "a %s VIP cannot rewrite ports (the backend must listen on %u)",
			 veer_mode_name(mode), ntohs(vip->port));
		return -EINVAL;
	}
	return 0;
}

/* ---- checks of a whole VIP ---- */

static struct veer_endpoint spec_ep(const struct veer_vip_spec *s, size_t i)
{
	struct veer_endpoint ep = s->backends[i].ep;

	if (!ep.port)
		ep.port = s->key.port;
	return ep;
}

static int ep_cmp(const struct veer_endpoint *a, const struct veer_endpoint *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->port != b->port)
		return ntohs(a->port) < ntohs(b->port) ? -1 : 1;
	return memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

/* Backend indices of a spec sorted by endpoint, for duplicates and for the diff. */
static int spec_idx_cmp(const void *a, const void *b, void *spec)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	struct veer_endpoint x = spec_ep(spec, i), y = spec_ep(spec, j);
	int d = ep_cmp(&x, &y);

	return d ? d : (i > j) - (i < j);
}

static size_t *spec_sorted(const struct veer_vip_spec *s)
{
	size_t *idx = calloc(s->nbackends ? s->nbackends : 1, sizeof(*idx));

	if (!idx)
		return NULL;
	for (size_t i = 0; i < s->nbackends; i++)
		idx[i] = i;
	qsort_r(idx, s->nbackends, sizeof(*idx), spec_idx_cmp, (void *)s);
	return idx;
}

static const char *spec_pool(const struct veer_backend_spec *b)
{
	return b->pool[0] ? b->pool : "default";
}

static int backend_spec_check(const struct veer_vip_spec *s, size_t i, char *err, size_t len)
{
	const struct veer_backend_spec *b = &s->backends[i];
	struct veer_endpoint ep = spec_ep(s, i);
	char name[VEER_ADDR_STRLEN], why[160];
	const char *what;

	veer_fmt_addr(&ep.addr, ep.family, name, sizeof(name));
	if (veer_addr_check(&ep.addr, ep.family, &what)) {
		snprintf(err, len, "backends[%zu].address: %s is %s", i, name, what);
		return -EINVAL;
	}
	if (veer_backend_fits(&s->key, s->opts.mode, &b->ep, why, sizeof(why))) {
		snprintf(err, len, "backends[%zu]: %s: %s", i, name, why);
		return -EINVAL;
	}
	if (veer_weight_check(b->weight)) {
		snprintf(err, len, "backends[%zu].weight: %u is out of range (want %s)", i,
			 b->weight, veer_weight_want);
		return -EINVAL;
	}
	if (!memchr(b->pool, '\0', sizeof(b->pool))) {
		snprintf(err, len, "backends[%zu].pool: longer than %d characters", i,
			 VEER_POOL_NAME_LEN - 1);
		return -EINVAL;
	}
	/*
	 * A backend outside the default pool would take traffic only through client-prefix
	 * steering, which veer does not have yet: it would be added and never used.
	 */
	if (strcmp(spec_pool(b), "default")) {
		snprintf(err, len,
			 "backends[%zu].pool: pools are not supported yet: every backend "
			 "is in the pool 'default'",
			 i);
		return -EINVAL;
	}
	return 0;
}

int veer_vip_spec_check(const struct veer_vip_spec *s, char *err, size_t errlen)
{
	const struct veer_vip_key *k = &s->key;
	__u32 ring = s->opts.ring_size ? s->opts.ring_size : VEER_RING_DEFAULT;
	char name[VEER_ADDR_STRLEN];
	size_t *idx;
	const char *what;
	int rc = -EINVAL;

	if (k->family != VEER_AF_INET && k->family != VEER_AF_INET6) {
		snprintf(err, errlen, "address: of no address family");
		return -EINVAL;
	}
	veer_fmt_addr(&k->addr, k->family, name, sizeof(name));
	if (veer_addr_check(&k->addr, k->family, &what)) {
		snprintf(err, errlen, "address: %s is %s", name, what);
		return -EINVAL;
	}
	if (!k->port) {
		snprintf(err, errlen, "port: 0 is not a port (want 1..65535)");
		return -EINVAL;
	}
	if (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP) {
		snprintf(err, errlen, "protocol: %u is not tcp or udp", k->proto);
		return -EINVAL;
	}
	if (s->opts.mode > VEER_MODE_DSR_L2) {
		snprintf(err, errlen, "mode: %u is not a mode (want nat, dsr-ipip or dsr-l2)",
			 s->opts.mode);
		return -EINVAL;
	}
	if (veer_affinity_check(s->opts.affinity)) {
		snprintf(err, errlen, "affinity: %u is out of range (want %s)", s->opts.affinity,
			 veer_affinity_want);
		return -EINVAL;
	}
	if (s->opts.ring_size && veer_ring_size_check(s->opts.ring_size)) {
		snprintf(err, errlen, "ring_size: %u is not %s", s->opts.ring_size,
			 veer_ring_size_want);
		return -EINVAL;
	}
	if (s->nbackends && !s->backends) {
		snprintf(err, errlen, "backends: missing");
		return -EINVAL;
	}
	if (s->nbackends > ring || s->nbackends > VEER_MAX_BACKENDS) {
		snprintf(err, errlen, "backends: %zu backends, more than %s (%u)", s->nbackends,
			 s->nbackends > ring ? "ring slots" : "veer holds",
			 s->nbackends > ring ? ring : VEER_MAX_BACKENDS);
		return -EINVAL;
	}
	for (size_t i = 0; i < s->nbackends; i++)
		if (backend_spec_check(s, i, err, errlen))
			return -EINVAL;
	idx = spec_sorted(s);
	if (!idx) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (size_t i = 1; i < s->nbackends; i++) {
		struct veer_endpoint a = spec_ep(s, idx[i - 1]), b = spec_ep(s, idx[i]);

		if (!ep_cmp(&a, &b)) {
			veer_fmt_endpoint(&b.addr, b.port, b.family, name, sizeof(name));
			snprintf(err, errlen, "backends[%zu]: %s is listed twice (backends[%zu])",
				 idx[i], name, idx[i - 1]);
			goto cleanup;
		}
	}
	rc = 0;
cleanup:
	free(idx);
	return rc;
}

/* ---- the apply ---- */

/* One declared VIP on its way through the phases. */
struct plan {
	const struct veer_vip_spec *spec;
	char name[VEER_ADDR_STRLEN];
	struct veer_vip want; /* the value wanted, id included */
	struct veer_vip had;  /* the value found, if it existed */
	bool create;	      /* made in phase 5 */
	bool recreate;	      /* made again, in another mode */
	bool failed;	      /* an error was logged: left as it is from there */
	bool ring;	      /* its table must be published */
	__u32 *ids;	      /* its slots (serving) after phase 3: what its table is built from */
	size_t nids;
	__u32 *drained; /* slots to mark REMOVED once its table is out */
	size_t ndrained;
};

struct apply {
	struct veer *v;
	struct veer_slots s;
	__u8 owner;
	struct veer_apply_result r;
	struct plan *plans;
	size_t nplans;
	bool proxy_sync; /* a VIP was made or deleted: the proxy's filter bits follow */
	int err;	 /* the first error */
};

static const char *owner_says(__u8 owner)
{
	switch (owner) {
	case VEER_OWNER_CLI:
		return "it was made by hand (veer vip add); delete it or leave it out of the "
		       "config";
	case VEER_OWNER_CONFIG:
		return "it was made from a config file (veerd or veer apply)";
	case VEER_OWNER_ETCD:
		return "it comes from veerd's etcd source";
	case VEER_OWNER_KUBERNETES:
		return "it comes from veerd's Kubernetes source";
	}
	return "it has an owner this veer does not know";
}

static void fail(struct apply *a, struct plan *p, int err, const char *what)
{
	pr_warn("cannot apply VIP %s: %s%s%s\n", p->name, what ? what : "", what ? ": " : "",
		strerror(-err));
	p->failed = true;
	if (!a->err)
		a->err = err;
}

/* Whether the slot adds to its VIP's table: the table is built from these, by weight. */
static bool in_ring(const struct veer_backend *be)
{
	return (be->flags & (VEER_BACKEND_ACTIVE | VEER_BACKEND_DOWN)) == VEER_BACKEND_ACTIVE &&
	       be->weight && !strcmp(be->pool, "default");
}

/* Phase 3 for one VIP: the backend slots, diffed against the spec. */
static void plan_backends(struct apply *a, struct plan *p)
{
	const struct veer_vip_spec *sp = p->spec;
	struct veer_slots *s = &a->s;
	size_t *idx = NULL, n;
	bool *matched = NULL;
	__u32 *own = NULL;
	int err = -ENOMEM;

	/* What it has (veer_slots_of gives no more than its group), and what the spec adds. */
	n = p->create ? 0 : veer_slots_count(s, p->want.id);
	own = calloc(n + 1, sizeof(*own));
	p->ids = calloc(n + sp->nbackends + 1, sizeof(*p->ids));
	p->drained = calloc(n + 1, sizeof(*p->drained));
	matched = calloc(sp->nbackends ? sp->nbackends : 1, sizeof(*matched));
	idx = spec_sorted(sp);
	if (!own || !p->ids || !p->drained || !matched || !idx)
		goto fail;
	n = n ? veer_slots_of(s, p->want.id, own) : 0;
	/* What is there: kept (re-weighted if need be), or drained when the spec lacks it. */
	for (size_t i = 0; i < n; i++) {
		struct veer_backend be = s->table[own[i]], old = be;
		struct veer_endpoint ep = {.addr = be.addr, .port = be.port, .family = be.family};
		size_t lo = 0, hi = sp->nbackends;

		p->ids[p->nids++] = own[i];
		if (!(be.flags & VEER_BACKEND_ACTIVE))
			continue; /* removed before: its flows finish, the spec may revive it */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			struct veer_endpoint e = spec_ep(sp, idx[mid]);

			if (ep_cmp(&e, &ep) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < sp->nbackends) {
			struct veer_endpoint e = spec_ep(sp, idx[lo]);

			if (!ep_cmp(&e, &ep)) {
				const struct veer_backend_spec *b = &sp->backends[idx[lo]];

				matched[idx[lo]] = true;
				be.weight = b->weight;
				memset(be.pool, 0, sizeof(be.pool));
				strcpy(be.pool, spec_pool(b));
				if (!memcmp(&be, &old, sizeof(be)))
					continue;
				err = veer_slots_put(s, own[i], &be);
				if (err)
					goto fail;
				a->r.backends_changed++;
				p->ring |= in_ring(&be) != in_ring(&old) ||
					   (in_ring(&be) && be.weight != old.weight);
				continue;
			}
		}
		/* Drained first (weight 0 stops new flows at once), REMOVED after its table. */
		p->drained[p->ndrained++] = own[i];
		a->r.backends_removed++;
		p->ring |= in_ring(&be);
		if (be.weight) {
			be.weight = 0;
			err = veer_slots_put(s, own[i], &be);
			if (err)
				goto fail;
		}
	}
	/* What the spec adds. */
	for (size_t i = 0; i < sp->nbackends; i++) {
		const struct veer_backend_spec *b = &sp->backends[i];
		struct veer_endpoint ep = spec_ep(sp, i);
		struct veer_backend fresh = {}, old;
		bool revive;
		__u32 slot;

		if (matched[i])
			continue;
		err = veer_slots_pick(s, p->want.id, &ep, &slot, &revive);
		if (err) {
			char what[96];

			snprintf(what, sizeof(what), "backend table full (%d backends)",
				 VEER_MAX_BACKENDS);
			fail(a, p, err, what);
			goto cleanup;
		}
		old = s->table[slot];
		fresh.addr = ep.addr;
		fresh.port = ep.port;
		fresh.family = ep.family;
		fresh.flags = VEER_BACKEND_ACTIVE | VEER_BACKEND_MODE_FLAGS(p->want.mode);
		fresh.vip_id = p->want.id;
		fresh.weight = b->weight;
		fresh.seq = veer_slots_seq(s);
		/* A new gen sends flows of the slot's previous backend elsewhere. */
		fresh.gen = revive ? old.gen : old.gen + 1;
		strcpy(fresh.pool, spec_pool(b));
		err = revive ? 0 : veer_counters_reset(a->v, a->v->skel->maps.veer_be_stats, slot);
		if (!err)
			err = veer_slots_put(s, slot, &fresh);
		if (err)
			goto fail;
		if (!revive)
			p->ids[p->nids++] = slot;
		a->r.backends_added++;
		p->ring |= in_ring(&fresh);
	}
	goto cleanup;
fail:
	fail(a, p, err, NULL);
cleanup:
	free(idx);
	free(matched);
	free(own);
}

/* A new VIP that could not be made: its slots freed, as if never added. */
static void plan_unmake(struct apply *a, struct plan *p)
{
	for (size_t i = 0; i < p->nids; i++) {
		struct veer_backend be = a->s.table[p->ids[i]];

		be.flags &= ~(VEER_BACKEND_ACTIVE | VEER_BACKEND_REMOVED);
		veer_slots_put(&a->s, p->ids[i], &be);
	}
	p->ndrained = 0;
	memset(&a->v->vips[p->want.id], 0, sizeof(a->v->vips[p->want.id]));
}

static bool plan_value(const struct plan *p)
{
	return !p->create && memcmp(&p->want, &p->had, sizeof(p->want));
}

/*
 * Phase 5: every table that changed, in batches, then the VIPs. A VIP's value changes in place:
 * a larger table goes in before the VIP that hashes into it, a smaller one after it, so that a
 * packet's slot always exists in the table it reads.
 */
static void plans_publish(struct apply *a, const bool *placed)
{
	struct veer_ring_job *jobs = calloc(a->nplans ? a->nplans : 1, sizeof(*jobs));
	size_t *of = calloc(a->nplans ? a->nplans : 1, sizeof(*of));
	bool *in = calloc(a->nplans ? a->nplans : 1, sizeof(*in));
	struct veer *v = a->v;
	size_t n = 0, done = 0;
	int err;

	if (!jobs || !of || !in) {
		for (size_t i = 0; i < a->nplans; i++)
			if (placed[i])
				fail(a, &a->plans[i], -ENOMEM, NULL);
		goto cleanup;
	}
	for (size_t i = 0; i < a->nplans; i++) {
		struct plan *p = &a->plans[i];

		if (!placed[i] || !plan_value(p) || p->want.ring_size >= p->had.ring_size)
			continue;
		err = veer_vip_write(v, &p->spec->key, &p->want, BPF_EXIST);
		if (err)
			fail(a, p, err, NULL);
	}
	for (size_t i = 0; i < a->nplans; i++) {
		struct plan *p = &a->plans[i];

		if (!placed[i] || !(p->create || p->ring))
			continue;
		jobs[n].vip = &p->want;
		jobs[n].ids = p->ids;
		jobs[n].n = p->nids;
		of[n++] = i;
	}
	err = veer_rings_publish(v, jobs, n, &done);
	a->r.rings_published += done;
	for (size_t j = 0; j < n; j++) {
		in[of[j]] = j < done;
		if (j >= done)
			fail(a, &a->plans[of[j]], err, "cannot publish its table");
	}
	for (size_t i = 0; i < a->nplans; i++) {
		struct plan *p = &a->plans[i];

		if (!placed[i])
			continue;
		if (p->create) {
			err = in[i] ? veer_vip_create(v, &p->spec->key, &p->want, false) : -EIO;
			if (!err) {
				a->r.vips_added += !p->recreate;
				a->proxy_sync = true;
				continue;
			}
			if (in[i])
				fail(a, p, err, NULL);
			plan_unmake(a, p);
			continue;
		}
		if (plan_value(p) && p->want.ring_size >= p->had.ring_size &&
		    (!(p->create || p->ring) || in[i])) {
			err = veer_vip_write(v, &p->spec->key, &p->want, BPF_EXIST);
			if (err)
				fail(a, p, err, NULL);
		}
		if (plan_value(p) && !p->failed)
			a->r.vips_changed++;
	}
cleanup:
	free(in);
	free(of);
	free(jobs);
}

/* Phase 6: drained slots out of every choice, their flows finishing where they are. */
static void plan_remove_drained(struct apply *a, struct plan *p)
{
	for (size_t i = 0; i < p->ndrained; i++) {
		struct veer_backend be = a->s.table[p->drained[i]];
		int err;

		be.flags = (be.flags & ~VEER_BACKEND_ACTIVE) | VEER_BACKEND_REMOVED;
		be.seq = veer_slots_seq(&a->s);
		err = veer_slots_put(&a->s, p->drained[i], &be);
		if (err) {
			fail(a, p, err, NULL);
			return;
		}
	}
}

static int key_cmp(const struct veer_vip_key *a, const struct veer_vip_key *b)
{
	return memcmp(a, b, sizeof(*a));
}

static int plan_cmp(const void *a, const void *b)
{
	const struct plan *x = *(const struct plan *const *)a, *y = *(const struct plan *const *)b;

	return key_cmp(&x->spec->key, &y->spec->key);
}

/* The id of the VIP with this key, from the handle's table; -1 if none. */
static int vip_find(struct veer *v, const struct veer_vip_key *key)
{
	struct veer_vip vip;

	/* One lookup in the map: the key is the map's. */
	if (veer_vip_get(v, key, &vip) || vip.id >= VEER_MAX_VIPS)
		return -1;
	return vip.id;
}

/* Phase 1: every VIP checked, and none of another owner's touched; nothing is written. */
static int plans_check(struct apply *a)
{
	char err[VEER_CONFIG_ERR_LEN];
	struct plan **sorted;
	int rc = 0;

	for (size_t i = 0; i < a->nplans; i++) {
		struct plan *p = &a->plans[i];

		rc = veer_vip_spec_check(p->spec, err, sizeof(err));
		if (rc) {
			pr_warn("cannot apply VIP %s: %s\n", p->name, err);
			return rc;
		}
	}
	sorted = calloc(a->nplans ? a->nplans : 1, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < a->nplans; i++)
		sorted[i] = &a->plans[i];
	qsort(sorted, a->nplans, sizeof(*sorted), plan_cmp);
	for (size_t i = 1; !rc && i < a->nplans; i++) {
		if (key_cmp(&sorted[i]->spec->key, &sorted[i - 1]->spec->key))
			continue;
		pr_warn("cannot apply VIP %s: it is declared twice\n", sorted[i]->name);
		rc = -EINVAL;
	}
	free(sorted);
	for (size_t i = 0; !rc && i < a->nplans; i++) {
		struct plan *p = &a->plans[i];
		int id = vip_find(a->v, &p->spec->key);

		p->create = id < 0;
		if (p->create)
			continue;
		p->had = a->v->vips[id].vip;
		if (p->had.owner != a->owner) {
			pr_warn("cannot apply VIP %s: %s\n", p->name, owner_says(p->had.owner));
			rc = -EPERM;
		}
	}
	return rc;
}

/* The value a plan wants, from its spec; the id is the VIP's or given in phase 3. */
static void plan_want(struct apply *a, struct plan *p)
{
	const struct veer_vip_opts *o = &p->spec->opts;

	memset(&p->want, 0, sizeof(p->want));
	p->want.id = p->had.id;
	p->want.ring_size = o->ring_size ? o->ring_size : VEER_RING_DEFAULT;
	p->want.affinity = o->affinity;
	p->want.mode = o->mode;
	p->want.owner = a->owner;
}

/* Phase 2: the owner's VIPs no longer declared, and those whose mode changes, deleted. */
static int plans_delete(struct apply *a, bool undeclared)
{
	struct veer_vip_ent *ents = a->v->vips;
	__u32 ids[VEER_MAX_VIPS];
	size_t n = 0, dropped = 0;
	int err;

	for (size_t i = 0; i < a->nplans; i++) {
		struct plan *p = &a->plans[i];

		if (p->create || p->had.mode == p->spec->opts.mode)
			continue;
		/* A new mode re-creates the VIP: its slots carry the mode, its flows go with it. */
		ids[n++] = p->had.id;
		p->create = p->recreate = true;
		a->r.vips_changed++;
	}
	if (undeclared) {
		struct plan **sorted = calloc(a->nplans ? a->nplans : 1, sizeof(*sorted));

		if (!sorted)
			return -ENOMEM;
		for (size_t i = 0; i < a->nplans; i++)
			sorted[i] = &a->plans[i];
		qsort(sorted, a->nplans, sizeof(*sorted), plan_cmp);
		for (__u32 id = 0; id < VEER_MAX_VIPS; id++) {
			size_t lo = 0, hi = a->nplans;

			if (!ents[id].used || ents[id].vip.owner != a->owner)
				continue;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;

				if (key_cmp(&sorted[mid]->spec->key, &ents[id].key) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < a->nplans && !key_cmp(&sorted[lo]->spec->key, &ents[id].key))
				continue;
			ids[n++] = id;
			dropped++;
		}
		free(sorted);
	}
	if (!n)
		return 0;
	err = veer_vips_remove(a->v, &a->s, ids, n);
	if (err) {
		pr_warn("cannot apply: cannot delete VIPs no longer declared: %s\n",
			strerror(-err));
		return err;
	}
	a->r.vips_removed += dropped;
	a->proxy_sync = true;
	return 0;
}

static void apply_free(struct apply *a)
{
	for (size_t i = 0; i < a->nplans; i++) {
		free(a->plans[i].ids);
		free(a->plans[i].drained);
	}
	free(a->plans);
	veer_slots_end(&a->s);
}

static int apply_run(struct veer *v, const struct veer_vip_spec *specs, size_t n, __u8 owner,
		     bool undeclared, struct veer_apply_result *r)
{
	struct apply a = {.v = v, .owner = owner};
	__u64 writes0 = veer_map_writes();
	bool *placed = NULL;
	int err;

	if (!veer_vips_get(v) || !veer_backends_get(v))
		return -EIO;
	a.plans = calloc(n ? n : 1, sizeof(*a.plans));
	placed = calloc(n ? n : 1, sizeof(*placed));
	if (!a.plans || !placed) {
		free(placed);
		free(a.plans);
		return -ENOMEM;
	}
	a.nplans = n;
	for (size_t i = 0; i < n; i++) {
		a.plans[i].spec = &specs[i];
		veer_fmt_vip(&specs[i].key, a.plans[i].name, sizeof(a.plans[i].name));
	}
	err = plans_check(&a);
	if (err)
		goto out;
	err = veer_slots_begin(v, &a.s);
	if (err)
		goto out;
	err = plans_delete(&a, undeclared);
	if (err)
		goto out;
	/* Phase 3: ids for new VIPs, then every VIP's slots. */
	for (size_t i = 0; i < n; i++) {
		struct plan *p = &a.plans[i];

		plan_want(&a, p);
		if (p->create) {
			memset(&p->had, 0, sizeof(p->had));
			if (veer_vip_alloc_id(&a.s, &p->spec->key, &p->want.id)) {
				char what[64];

				snprintf(what, sizeof(what), "VIP table full (%d VIPs)",
					 VEER_MAX_VIPS);
				fail(&a, p, -ENOSPC, what);
				continue;
			}
			p->had.id = p->want.id;
			p->ring = true;
		}
		placed[i] = true;
		p->ring |= p->want.ring_size != p->had.ring_size ||
			   !veer_ring_fits(v, p->want.id, p->want.ring_size);
		plan_backends(&a, p);
	}
	/* Phase 4: the reply index before any table sends a flow to a new backend. */
	err = veer_slots_index(&a.s);
	if (err) {
		pr_warn("cannot apply: cannot rewrite the reply index: %s\n", strerror(-err));
		a.err = a.err ?: err;
	}
	/* Phases 5 and 6, VIP by VIP. */
	plans_publish(&a, placed);
	for (size_t i = 0; i < n; i++)
		if (placed[i])
			plan_remove_drained(&a, &a.plans[i]);
	/* Slots freed after a VIP could not be made. */
	veer_slots_index(&a.s);
	if (a.proxy_sync) {
		struct lb *skel = v->skel;

		err = veer_proxy_svc_sync(skel->maps.veer_vips, skel->maps.veer_proxy_rule,
					  skel->maps.veer_svc);
		if (err) {
			pr_warn("cannot apply: cannot set the forward proxy's filter: %s\n",
				strerror(-err));
			a.err = a.err ?: err;
		}
	}
	err = a.err;
out:
	if (r) {
		r->vips_added += a.r.vips_added;
		r->vips_changed += a.r.vips_changed;
		r->vips_removed += a.r.vips_removed;
		r->backends_added += a.r.backends_added;
		r->backends_changed += a.r.backends_changed;
		r->backends_removed += a.r.backends_removed;
		r->rings_published += a.r.rings_published;
		r->map_writes += veer_map_writes() - writes0;
	}
	free(placed);
	apply_free(&a);
	return err;
}

int veer_vip_apply(struct veer *v, const struct veer_vip_spec *s, __u8 owner,
		   struct veer_apply_result *r)
{
	return apply_run(v, s, 1, owner, false, r);
}

int veer_config_apply(struct veer *v, const struct veer_config *c, __u8 owner,
		      struct veer_apply_result *r)
{
	return apply_run(v, c->vips, c->nvips, owner, true, r);
}

int veer_vips_apply(struct veer *v, const struct veer_vip_spec *specs, size_t n, __u8 owner,
		    struct veer_apply_result *r)
{
	return apply_run(v, specs, n, owner, true, r);
}
