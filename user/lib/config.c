// SPDX-License-Identifier: GPL-2.0
/*
 * The config file veerd and `veer apply` read: YAML, parsed by libyaml into a small tree of
 * its events, then walked into struct veer_config. Every error is one line "FILE:LINE:COL:
 * KEY: what is wrong", the first one in the file's order, and a config is checked whole before
 * anyone touches a map with it.
 *
 * The tree is built from events rather than with yaml_parser_load() because only the events
 * say where an anchor or an alias is: both are refused, so that a file of a few kilobytes
 * cannot expand into gigabytes ("billion laughs"), and every value is written where it is used.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <yaml.h>
#include "maglev.h"
#include "veer.h"

/*
 * Larger than any config a node needs (1,000 VIPs of 10 backends take about 540 KB) and small
 * enough that a wrong file (a log, an image) is refused before it is read.
 */
#define CONFIG_SIZE_MAX (4u << 20)
/* Values in the tree: bounds the memory a 4 MiB file of "[1,1,1,..." can take. */
#define CONFIG_NODES_MAX 500000
/* Nesting: the config needs 4 levels (vips, a VIP, backends, a backend). */
#define CONFIG_DEPTH_MAX 16

/* Health checks: bounds that keep a typo (0, 10000h) from becoming a flood or a no-op. */
#define HEALTH_INTERVAL_MIN_MS 100
#define HEALTH_INTERVAL_MAX_MS 3600000
#define HEALTH_TIMEOUT_MIN_MS  10
#define HEALTH_COUNT_MAX       100
#define AFFINITY_MAX_S	       86400 /* as `veer vip add --affinity` */
#define CACHE_TTL_MAX_S	       (86400 * 365)
#define CACHE_INTERVAL_MIN_MS  100
#define CACHE_INTERVAL_MAX_MS  3600000

#define PATH_LEN 160 /* "vips[511].backends[4095].address" and a key shown in full */

enum ytype { Y_SCALAR, Y_SEQ, Y_MAP };

/* One node of the document: a scalar, or a list, or a map whose kids are key, value, ... */
struct ynode {
	enum ytype type;
	bool plain; /* a plain scalar: may be a number or null, where a quoted one is a string */
	unsigned line, col;
	char *s; /* scalar, NUL-terminated */
	size_t len;
	struct ynode **kids;
	size_t n, cap;
};

struct ctx {
	const char *name;
	bool nopos; /* a value re-serialized from JSON: its positions are not the writer's */
	char *err;
	size_t errlen;
	size_t nodes;
	struct veer_config *cfg;
};

static void ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		ynode_free(n->kids[i]);
	free(n->kids);
	free(n->s);
	free(n);
}

/* Where an error is: "FILE:LINE:COL: " or "FILE: " */
static int vfail_at(struct ctx *x, unsigned line, unsigned col, const char *path, const char *fmt,
		    va_list ap)
{
	size_t off = 0;
	int w;

	if (line && !x->nopos)
		w = snprintf(x->err, x->errlen, "%s:%u:%u: ", x->name, line, col);
	else
		w = snprintf(x->err, x->errlen, "%s: ", x->name);
	if (w > 0)
		off = (size_t)w < x->errlen ? (size_t)w : x->errlen;
	if (path && *path && off < x->errlen) {
		w = snprintf(x->err + off, x->errlen - off, "%s: ", path);
		if (w > 0)
			off += (size_t)w < x->errlen - off ? (size_t)w : x->errlen - off;
	}
	if (off < x->errlen)
		vsnprintf(x->err + off, x->errlen - off, fmt, ap);
	return -EINVAL;
}

static int __attribute__((format(printf, 5, 6)))
fail_at(struct ctx *x, unsigned line, unsigned col, const char *path, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vfail_at(x, line, col, path, fmt, ap);
	va_end(ap);
	return err;
}

static int __attribute__((format(printf, 4, 5)))
fail(struct ctx *x, const struct ynode *n, const char *path, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vfail_at(x, n ? n->line : 0, n ? n->col : 0, path, fmt, ap);
	va_end(ap);
	return err;
}

static int oom(struct ctx *x)
{
	fail_at(x, 0, 0, NULL, "out of memory");
	return -ENOMEM;
}

/*
 * A value as an error shows it, on one line whatever it holds: as written when it is a plain
 * word, else quoted with control and non-ASCII bytes as \xNN; cut at 48 bytes.
 */
static const char *shown(const char *s, size_t len, bool plain, char *buf, size_t size)
{
	bool quote = !plain || !len;
	size_t j = 0;

	for (size_t i = 0; i < len && !quote; i++)
		quote = !(s[i] > ' ' && s[i] < 0x7f && s[i] != '"' && s[i] != '\\');
	if (quote)
		buf[j++] = '"';
	for (size_t i = 0; i < len && j + 8 < size; i++) {
		unsigned char c = s[i];

		if (i == 48) {
			j += snprintf(buf + j, size - j, "...");
			break;
		}
		if (c < ' ' || c >= 0x7f || c == '"' || c == '\\')
			j += snprintf(buf + j, size - j, c == '"' || c == '\\' ? "\\%c" : "\\x%02x",
				      c);
		else
			buf[j++] = c;
	}
	if (quote)
		buf[j++] = '"';
	buf[j] = '\0';
	return buf;
}

#define SHOWN_LEN 220
#define SHOW(n)	  shown((n)->s, (n)->len, (n)->plain, (char[SHOWN_LEN]){0}, SHOWN_LEN)

/* ---- the tree, from libyaml's events ---- */

/* Lines and columns of the byte at off, for libyaml's reader errors (which give an offset). */
static void offset_pos(const char *buf, size_t len, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/* The byte at a mark: marks count characters, not bytes, on their line. */
static char mark_byte(const char *buf, size_t len, const yaml_mark_t *m)
{
	size_t i = 0, line = 0, col = 0;

	while (i < len && line < m->line)
		line += buf[i++] == '\n';
	for (; i < len && buf[i] != '\n'; i++) {
		if (((unsigned char)buf[i] & 0xc0) == 0x80)
			continue;
		if (col++ == m->column)
			return buf[i];
	}
	return '\0';
}

static int syntax_error(struct ctx *x, const yaml_parser_t *p, const char *buf, size_t len)
{
	unsigned line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
	const char *problem = p->problem ? p->problem : "cannot parse";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return oom(x);
	case YAML_READER_ERROR:
		offset_pos(buf, len, p->problem_offset, &line, &col);
		if (strstr(problem, "UTF-8") || strstr(problem, "Unicode"))
			return fail_at(x, line, col, NULL, "byte 0x%02x is not UTF-8 (%s)",
				       p->problem_value & 0xff, problem);
		if (strstr(problem, "control"))
			return fail_at(x, line, col, NULL,
				       "control character 0x%02x is not allowed",
				       p->problem_value & 0xff);
		return fail_at(x, line, col, NULL, "%s", problem);
	default:
		break;
	}
	/* A tab where indentation must be spaces: the scanner's message does not say so. */
	if (mark_byte(buf, len, &p->problem_mark) == '\t')
		return fail_at(x, line, col, NULL, "a tab: YAML indents with spaces only (%s)",
			       problem);
	if (p->context)
		return fail_at(x, line, col, NULL, "%s (%s at line %zu)", problem, p->context,
			       p->context_mark.line + 1);
	return fail_at(x, line, col, NULL, "%s", problem);
}

static struct ynode *ynode_new(struct ctx *x, enum ytype type, const yaml_mark_t *m)
{
	struct ynode *n;

	if (++x->nodes > CONFIG_NODES_MAX) {
		fail_at(x, m->line + 1, m->column + 1, NULL,
			"more than %u values: not a config veer can hold", CONFIG_NODES_MAX);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		fail_at(x, 0, 0, NULL, "out of memory");
		return NULL;
	}
	n->type = type;
	n->line = m->line + 1;
	n->col = m->column + 1;
	return n;
}

static int ynode_add(struct ctx *x, struct ynode *parent, struct ynode *kid)
{
	if (parent->type == Y_MAP && !(parent->n % 2) && kid->type != Y_SCALAR)
		return fail(x, kid, NULL, "a key must be a name, not a %s",
			    kid->type == Y_SEQ ? "list" : "map");
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct ynode **k = realloc(parent->kids, cap * sizeof(*k));

		if (!k)
			return oom(x);
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->n++] = kid;
	return 0;
}

/* Anchors, aliases and tags: refused where they are written. */
static int event_extras(struct ctx *x, const yaml_event_t *e)
{
	const yaml_char_t *anchor = NULL, *tag = NULL;
	unsigned line = e->start_mark.line + 1, col = e->start_mark.column + 1;

	switch (e->type) {
	case YAML_ALIAS_EVENT:
		return fail_at(x, line, col, NULL,
			       "aliases (*%.40s) are not supported: write the value out",
			       (const char *)e->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		anchor = e->data.scalar.anchor;
		tag = e->data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = e->data.sequence_start.anchor;
		tag = e->data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = e->data.mapping_start.anchor;
		tag = e->data.mapping_start.tag;
		break;
	default:
		return 0;
	}
	if (anchor)
		return fail_at(x, line, col, NULL,
			       "anchors (&%.40s) are not supported: write each value out",
			       (const char *)anchor);
	/* libyaml gives "!!int" resolved: shown as written. */
	if (tag && !strncmp((const char *)tag, "tag:yaml.org,2002:", 18))
		return fail_at(x, line, col, NULL,
			       "tags (!!%.40s) are not supported: write plain values",
			       (const char *)tag + 18);
	if (tag)
		return fail_at(x, line, col, NULL,
			       "tags (%.40s) are not supported: write plain values",
			       (const char *)tag);
	return 0;
}

/*
 * What one event adds: a node in *n (a scalar, or a list or map to fill), or a list or map
 * ended (*depth drops), or the end of the stream (*done).
 */
static int event_node(struct ctx *x, const yaml_event_t *e, unsigned *depth, unsigned *docs,
		      struct ynode **n, bool *done)
{
	unsigned line = e->start_mark.line + 1, col = e->start_mark.column + 1;
	int err = event_extras(x, e);

	*n = NULL;
	if (err)
		return err;
	switch (e->type) {
	case YAML_STREAM_END_EVENT:
		*done = true;
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1)
			return fail_at(x, line, col, NULL,
				       "a second document: a config is one document");
		return 0;
	case YAML_SCALAR_EVENT:
		*n = ynode_new(x, Y_SCALAR, &e->start_mark);
		if (!*n)
			return x->nodes > CONFIG_NODES_MAX ? -EINVAL : -ENOMEM;
		(*n)->plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		(*n)->len = e->data.scalar.length;
		(*n)->s = malloc((*n)->len + 1);
		if (!(*n)->s) {
			ynode_free(*n);
			*n = NULL;
			return oom(x);
		}
		memcpy((*n)->s, e->data.scalar.value, (*n)->len);
		(*n)->s[(*n)->len] = '\0';
		return 0;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (*depth == CONFIG_DEPTH_MAX)
			return fail_at(x, line, col, NULL, "nested more than %d deep: not a config",
				       CONFIG_DEPTH_MAX);
		*n = ynode_new(x, e->type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP,
			       &e->start_mark);
		return *n ? 0 : x->nodes > CONFIG_NODES_MAX ? -EINVAL : -ENOMEM;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		(*depth)--;
		return 0;
	default:
		return 0;
	}
}

/*
 * The document as a tree: *root is NULL for a stream without a document (only comments or
 * blank lines).
 */
static int tree_build(struct ctx *x, const char *buf, size_t len, struct ynode **root)
{
	struct ynode *stack[CONFIG_DEPTH_MAX], *n;
	unsigned depth = 0, docs = 0;
	yaml_parser_t p;
	yaml_event_t e;
	bool done = false;
	int err = 0;

	*root = NULL;
	if (!yaml_parser_initialize(&p))
		return oom(x);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	/* A config is UTF-8: no guessing UTF-16 from a byte order mark. */
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	while (!done && !err) {
		if (!yaml_parser_parse(&p, &e)) {
			err = syntax_error(x, &p, buf, len);
			break;
		}
		err = event_node(x, &e, &depth, &docs, &n, &done);
		yaml_event_delete(&e);
		if (err || !n)
			continue;
		if (depth)
			err = ynode_add(x, stack[depth - 1], n);
		else
			*root = n;
		if (err)
			ynode_free(n);
		else if (n->type != Y_SCALAR)
			stack[depth++] = n;
	}
	yaml_parser_delete(&p);
	if (err) {
		ynode_free(*root);
		*root = NULL;
	}
	return err;
}

/* ---- values ---- */

static bool is_null(const struct ynode *n)
{
	return n->type == Y_SCALAR && n->plain &&
	       (!n->len || !strcmp(n->s, "~") || !strcmp(n->s, "null") || !strcmp(n->s, "Null") ||
		!strcmp(n->s, "NULL"));
}

/* What a value is, for "want X, got Y". */
static const char *kind(const struct ynode *n, char *buf, size_t size)
{
	if (n->type == Y_SEQ)
		return "a list";
	if (n->type == Y_MAP)
		return "a map";
	if (is_null(n))
		return "nothing";
	return shown(n->s, n->len, n->plain, buf, size);
}

/* A scalar that says what it is (want "a port"), or a list or map like example. */
static int want_type(struct ctx *x, const struct ynode *n, const char *path, enum ytype t,
		     const char *what)
{
	char got[SHOWN_LEN];

	if (n->type == t && !(t == Y_SCALAR && is_null(n)))
		return 0;
	if (t == Y_SCALAR)
		return fail(x, n, path, "want %s, got %s", what, kind(n, got, sizeof(got)));
	return fail(x, n, path, "want a %s like %s, got %s", t == Y_SEQ ? "list" : "map", what,
		    kind(n, got, sizeof(got)));
}

/* A text value: any scalar but null, with no NUL byte. */
static int want_text(struct ctx *x, const struct ynode *n, const char *path, const char *what)
{
	int err = want_type(x, n, path, Y_SCALAR, what);

	if (err)
		return err;
	if (strlen(n->s) != n->len)
		return fail(x, n, path, "%s holds a NUL byte", SHOW(n));
	return 0;
}

/*
 * A number is written plain: a quoted "80" is a string in YAML, and taking it as 80 would make
 * the file mean something other than what every YAML tool reads in it.
 */
static int want_u32(struct ctx *x, const struct ynode *n, const char *path, __u32 min, __u32 max,
		    const char *what, __u32 *out)
{
	int err = want_text(x, n, path, what);

	if (err)
		return err;
	if (!n->plain && !veer_parse_u32(n->s, min, max, out))
		return fail(x, n, path, "%s is a quoted string: write the number without quotes",
			    SHOW(n));
	if (veer_parse_u32(n->s, min, max, out))
		return fail(x, n, path, "%s is not %s (want %u..%u)", SHOW(n), what, min, max);
	return 0;
}

static int want_port(struct ctx *x, const struct ynode *n, const char *path, __u16 *port)
{
	__u32 v;
	int err = want_u32(x, n, path, 1, 65535, "a port", &v);

	if (!err)
		*port = v;
	return err;
}

/* A duration: 500ms, 2s, 1m, or a number of seconds. */
static int want_duration(struct ctx *x, const struct ynode *n, const char *path, __u32 min_ms,
			 __u32 max_ms, const char *range, __u32 *ms)
{
	int err = want_text(x, n, path, "a duration (500ms, 2s, 1m)");

	if (err)
		return err;
	if (veer_parse_duration(n->s, ms))
		return fail(x, n, path,
			    "%s is not a duration (want a number with ms, s, m, h "
			    "or d: 500ms, 2s; a bare number is seconds)",
			    SHOW(n));
	if (*ms < min_ms || *ms > max_ms)
		return fail(x, n, path, "%s is out of range (want %s)", SHOW(n), range);
	return 0;
}

/* One of names[]; *out is its index. */
static int want_choice(struct ctx *x, const struct ynode *n, const char *path,
		       const char *const *names, size_t count, size_t *out)
{
	char list[160];
	size_t off = 0;
	int err;

	list[0] = '\0';
	for (size_t i = 0; i < count; i++)
		off += snprintf(list + off, sizeof(list) - off, "%s%s",
				i == 0		 ? ""
				: i + 1 == count ? " or "
						 : ", ",
				names[i]);
	err = want_text(x, n, path, list);
	if (err)
		return err;
	for (size_t i = 0; i < count; i++) {
		if (!strcmp(n->s, names[i])) {
			*out = i;
			return 0;
		}
	}
	return fail(x, n, path, "%s is not one of %s", SHOW(n), list);
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* An IPv4 or IPv6 address, written plain (2001:2::10, no brackets), unicast. */
static int want_addr(struct ctx *x, const struct ynode *n, const char *path, union veer_addr *addr,
		     __u8 *family)
{
	struct veer_endpoint ep;
	int err = want_text(x, n, path, "an IPv4 or IPv6 address");

	if (err)
		return err;
	if (veer_parse_addr(n->s, addr, family))
		return fail(x, n, path, "%s is not an IPv4 or IPv6 address%s", SHOW(n),
			    n->s[0] == '[' ? " (write IPv6 without brackets: 2001:2::10)" : "");
	/* The endpoint parser knows which addresses can be no one's: the same rule as the CLI. */
	if (veer_parse_endpoint(n->s, &ep, false))
		return fail(x, n, path,
			    "%s is not a unicast address (unspecified, broadcast or multicast)",
			    SHOW(n));
	return 0;
}

/* HOST:PORT, [ADDR6]:PORT; host an address (or, if names, a DNS name); brackets dropped. */
static int want_hostport(struct ctx *x, const struct ynode *n, const char *path, bool names,
			 char *host, size_t hostlen, __u16 *port)
{
	const char *want = names ? "HOST:PORT (127.0.0.1:6379, [::1]:6379, cache.example:6379)"
				 : "ADDR:PORT (127.0.0.1:9464, [::1]:9464)";
	char buf[256], *colon, *h = buf;
	union veer_addr addr;
	__u32 p;
	__u8 family;
	int err = want_text(x, n, path, want);

	if (err)
		return err;
	if (n->len >= sizeof(buf) || n->len >= hostlen)
		return fail(x, n, path, "%s is too long (want %s)", SHOW(n), want);
	memcpy(buf, n->s, n->len + 1);
	colon = strrchr(buf, ':');
	if (!colon || colon == buf)
		goto bad;
	*colon = '\0';
	if (buf[0] == '[') {
		if (colon[-1] != ']')
			goto bad;
		colon[-1] = '\0';
		h = buf + 1;
		if (veer_parse_addr(h, &addr, &family) || family != VEER_AF_INET6)
			goto bad;
	} else if (!veer_parse_addr(h, &addr, &family)) {
		if (family == VEER_AF_INET6)
			goto bad;
	} else {
		/* A bare IPv6 address has colons of its own: brackets tell the port apart. */
		if (!names || strchr(h, ':') ||
		    strspn(h, "abcdefghijklmnopqrstuvwxyz"
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != strlen(h))
			goto bad;
	}
	if (veer_parse_u32(colon + 1, 1, 65535, &p))
		goto bad;
	snprintf(host, hostlen, "%s", h);
	*port = p;
	return 0;
bad:
	return fail(x, n, path, "%s is not %s", SHOW(n), want);
}

/* "vips[0]" and "port": "vips[0].port"; cut to PATH_LEN, a key to 48 bytes. */
static void subpath(char *out, const char *path, const char *key)
{
	size_t n = path ? strnlen(path, PATH_LEN - 1) : 0, k = strnlen(key, 48);

	if (n)
		memmove(out, path, n);
	if (n && n < PATH_LEN - 1)
		out[n++] = '.';
	if (k > PATH_LEN - 1 - n)
		k = PATH_LEN - 1 - n;
	memcpy(out + n, key, k);
	out[n + k] = '\0';
}

/* Keys: names, once per map. */
static int key_check(struct ctx *x, const struct ynode *map, size_t i, const char *path)
{
	const struct ynode *k = map->kids[i];
	char p[PATH_LEN];

	if (strlen(k->s) != k->len || !k->len || is_null(k))
		return fail(x, k, path, "%s is not a key name", SHOW(k));
	for (size_t j = 0; j < i; j += 2) {
		if (strcmp(map->kids[j]->s, k->s))
			continue;
		subpath(p, path, SHOW(k));
		return fail(x, k, p, "given twice (first at line %u)", map->kids[j]->line);
	}
	return 0;
}

/* "vips" and 2: "vips[2]". */
static void subindex(char *out, const char *path, size_t i)
{
	size_t n = strnlen(path, PATH_LEN - 1);
	char idx[24];
	int k = snprintf(idx, sizeof(idx), "[%zu]", i);

	memmove(out, path, n);
	if ((size_t)k > PATH_LEN - 1 - n)
		k = PATH_LEN - 1 - n;
	memcpy(out + n, idx, k);
	out[n + k] = '\0';
}

static int unknown_key(struct ctx *x, const struct ynode *k, const char *path, const char *known)
{
	char p[PATH_LEN];

	subpath(p, path, SHOW(k));
	return fail(x, k, p, "unknown key (want %s)", known);
}

/* ---- sections ---- */

static int iface_parse(struct ctx *x, const struct ynode *m, const char *path,
		       struct veer_iface_spec *s)
{
	static const char *const hooks[] = {"auto", "xdp", "tc"};
	static const char *const modes[] = {"native", "generic"};
	static const char keys[] = "name, mode, hook";
	const struct ynode *name = NULL, *mode = NULL, *hook = NULL;
	char p[PATH_LEN];
	size_t v;
	int err;

	err = want_type(x, m, path, Y_MAP, "{name: eth0, hook: auto}");
	if (err)
		return err;
	s->pos = (struct veer_config_pos){m->line, m->col};
	s->hook = VEER_HOOK_AUTO;
	s->mode = VEER_XDP_NATIVE;
	for (size_t i = 0; i < m->n; i += 2) {
		const struct ynode *k = m->kids[i], *val = m->kids[i + 1];

		err = key_check(x, m, i, path);
		if (err)
			return err;
		subpath(p, path, k->s);
		if (!strcmp(k->s, "name")) {
			name = val;
			err = want_text(x, val, p, "an interface name");
			if (!err && (!val->len || val->len >= IFNAMSIZ || !strcmp(val->s, ".") ||
				     !strcmp(val->s, "..") || strpbrk(val->s, "/: \t\n")))
				err = fail(x, val, p,
					   "%s is not an interface name (1 to %d characters, no "
					   "'/', ':' or space)",
					   SHOW(val), IFNAMSIZ - 1);
			if (!err)
				snprintf(s->name, sizeof(s->name), "%s", val->s);
		} else if (!strcmp(k->s, "hook")) {
			hook = val;
			err = want_choice(x, val, p, hooks, ARRAY_SIZE(hooks), &v);
			if (!err)
				s->hook = v == 1   ? VEER_HOOK_XDP
					  : v == 2 ? VEER_HOOK_TC
						   : VEER_HOOK_AUTO;
		} else if (!strcmp(k->s, "mode")) {
			mode = val;
			err = want_choice(x, val, p, modes, ARRAY_SIZE(modes), &v);
			if (!err)
				s->mode = v ? VEER_XDP_GENERIC : VEER_XDP_NATIVE;
		} else {
			err = unknown_key(x, k, path, keys);
		}
		if (err)
			return err;
	}
	if (!name)
		return fail(x, m, path, "name is required");
	/* As `veer attach --mode`: an XDP mode asks for XDP, and means nothing at tc. */
	if (mode && s->hook == VEER_HOOK_TC) {
		subpath(p, path, "mode");
		return fail(x, mode, p, "%s is an XDP mode: it cannot go with hook: tc (line %u)",
			    mode->s, hook->line);
	}
	if (mode)
		s->hook = VEER_HOOK_XDP;
	return 0;
}

/* 1500 ms as "1500ms", 2000 as "2s": as a config would write it. */
static const char *ms_text(__u32 ms, char *buf, size_t size)
{
	if (ms % 1000)
		snprintf(buf, size, "%ums", ms);
	else
		snprintf(buf, size, "%us", ms / 1000);
	return buf;
}

static int health_parse(struct ctx *x, const struct ynode *m, const char *path,
			struct veer_health_spec *h)
{
	static const char *const types[] = {"tcp", "http"};
	static const char *const on_down[] = {"keep", "reset"};
	static const char keys[] =
		"type, port, path, expect, interval, timeout, rise, fall, on_down";
	const struct ynode *interval = NULL, *timeout = NULL, *http_only = NULL;
	char p[PATH_LEN], range[64];
	size_t v;
	__u32 u;
	int err;

	err = want_type(x, m, path, Y_MAP, "{type: tcp, interval: 1s}");
	if (err)
		return err;
	*h = (struct veer_health_spec){
		.type = VEER_HEALTH_TCP,
		.path = "/",
		.expect = 200,
		.interval_ms = 1000,
		.timeout_ms = 500,
		.rise = 2,
		.fall = 3,
	};
	for (size_t i = 0; i < m->n; i += 2) {
		const struct ynode *k = m->kids[i], *val = m->kids[i + 1];

		err = key_check(x, m, i, path);
		if (err)
			return err;
		subpath(p, path, k->s);
		if (!strcmp(k->s, "type")) {
			err = want_choice(x, val, p, types, ARRAY_SIZE(types), &v);
			if (!err)
				h->type = v ? VEER_HEALTH_HTTP : VEER_HEALTH_TCP;
		} else if (!strcmp(k->s, "port")) {
			err = want_port(x, val, p, &h->port);
		} else if (!strcmp(k->s, "path")) {
			http_only = http_only ? http_only : k;
			err = want_text(x, val, p, "an HTTP path (/healthz)");
			if (!err && (val->s[0] != '/' || val->len >= sizeof(h->path) ||
				     strpbrk(val->s, " \t\r\n")))
				err = fail(
					x, val, p,
					"%s is not an HTTP path (want /..., no spaces, under %zu "
					"bytes)",
					SHOW(val), sizeof(h->path));
			if (!err)
				snprintf(h->path, sizeof(h->path), "%s", val->s);
		} else if (!strcmp(k->s, "expect")) {
			http_only = http_only ? http_only : k;
			err = want_u32(x, val, p, 100, 599, "an HTTP status", &u);
			h->expect = u;
		} else if (!strcmp(k->s, "interval")) {
			interval = val;
			snprintf(range, sizeof(range), "%ums..%uh", HEALTH_INTERVAL_MIN_MS,
				 HEALTH_INTERVAL_MAX_MS / 3600000);
			err = want_duration(x, val, p, HEALTH_INTERVAL_MIN_MS,
					    HEALTH_INTERVAL_MAX_MS, range, &h->interval_ms);
		} else if (!strcmp(k->s, "timeout")) {
			timeout = val;
			snprintf(range, sizeof(range), "%ums..%uh", HEALTH_TIMEOUT_MIN_MS,
				 HEALTH_INTERVAL_MAX_MS / 3600000);
			err = want_duration(x, val, p, HEALTH_TIMEOUT_MIN_MS,
					    HEALTH_INTERVAL_MAX_MS, range, &h->timeout_ms);
		} else if (!strcmp(k->s, "rise")) {
			err = want_u32(x, val, p, 1, HEALTH_COUNT_MAX, "a count of checks",
				       &h->rise);
		} else if (!strcmp(k->s, "fall")) {
			err = want_u32(x, val, p, 1, HEALTH_COUNT_MAX, "a count of checks",
				       &h->fall);
		} else if (!strcmp(k->s, "on_down")) {
			err = want_choice(x, val, p, on_down, ARRAY_SIZE(on_down), &v);
			if (!err)
				h->on_down_reset = v == 1;
		} else {
			err = unknown_key(x, k, path, keys);
		}
		if (err)
			return err;
	}
	if (http_only && h->type != VEER_HEALTH_HTTP) {
		subpath(p, path, http_only->s);
		return fail(x, http_only, p, "only for type: http (this check is tcp)");
	}
	/* A check still waiting when the next is due would run two at once for one backend. */
	if (h->timeout_ms > h->interval_ms) {
		const struct ynode *at = timeout ? timeout : interval;

		subpath(p, path, timeout ? "timeout" : "interval");
		return fail(x, at, p, "the timeout (%s) is longer than the interval (%s)",
			    ms_text(h->timeout_ms, (char[24]){0}, 24),
			    ms_text(h->interval_ms, (char[24]){0}, 24));
	}
	return 0;
}

static bool endpoint_same(const struct veer_endpoint *a, __be16 aport,
			  const struct veer_endpoint *b, __be16 bport)
{
	return a->family == b->family && aport == bport &&
	       !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

static int backend_parse(struct ctx *x, const struct ynode *m, const char *path,
			 struct veer_backend_spec *b)
{
	static const char keys[] = "address, port, weight, pool";
	const struct ynode *addr = NULL;
	char p[PATH_LEN];
	__u16 port;
	int err;

	err = want_type(x, m, path, Y_MAP, "{address: 198.18.11.2, weight: 100}");
	if (err)
		return err;
	b->pos = (struct veer_config_pos){m->line, m->col};
	b->weight = VEER_WEIGHT_DEFAULT;
	snprintf(b->pool, sizeof(b->pool), "default");
	for (size_t i = 0; i < m->n; i += 2) {
		const struct ynode *k = m->kids[i], *val = m->kids[i + 1];

		err = key_check(x, m, i, path);
		if (err)
			return err;
		subpath(p, path, k->s);
		if (!strcmp(k->s, "address")) {
			addr = val;
			err = want_addr(x, val, p, &b->ep.addr, &b->ep.family);
		} else if (!strcmp(k->s, "port")) {
			err = want_port(x, val, p, &port);
			b->ep.port = htons(port);
		} else if (!strcmp(k->s, "weight")) {
			err = want_u32(x, val, p, 0, VEER_WEIGHT_MAX, "a weight", &b->weight);
		} else if (!strcmp(k->s, "pool")) {
			err = want_text(x, val, p, "a pool name");
			/*
			 * As `veer backend add --pool`: a backend of another pool takes traffic
			 * only through client-prefix steering, which veer does not have yet.
			 */
			if (!err && strcmp(val->s, "default"))
				err = fail(x, val, p,
					   "%s: pools are not supported yet: every backend is in "
					   "the pool 'default'",
					   SHOW(val));
		} else {
			err = unknown_key(x, k, path, keys);
		}
		if (err)
			return err;
	}
	if (!addr)
		return fail(x, m, path, "address is required");
	return 0;
}

static int vip_parse(struct ctx *x, const struct ynode *m, const char *path,
		     struct veer_vip_spec *s)
{
	static const char *const protos[] = {"tcp", "udp"};
	static const char *const modes[] = {"nat", "dsr-ipip", "dsr-l2"};
	static const char keys[] =
		"address, port, protocol, mode, affinity, ring_size, backends, health";
	const struct ynode *addr = NULL, *port = NULL;
	char p[PATH_LEN], bp[PATH_LEN];
	__u16 port_h = 0;
	size_t v;
	__u32 ms;
	int err;

	err = want_type(x, m, path, Y_MAP, "{address: 198.18.100.10, port: 80, backends: [...]}");
	if (err)
		return err;
	s->pos = (struct veer_config_pos){m->line, m->col};
	s->key.proto = IPPROTO_TCP;
	s->opts.mode = VEER_MODE_NAT;
	s->opts.ring_size = VEER_RING_DEFAULT;
	for (size_t i = 0; i < m->n; i += 2) {
		const struct ynode *k = m->kids[i], *val = m->kids[i + 1];

		err = key_check(x, m, i, path);
		if (err)
			return err;
		subpath(p, path, k->s);
		if (!strcmp(k->s, "address")) {
			addr = val;
			err = want_addr(x, val, p, &s->key.addr, &s->key.family);
		} else if (!strcmp(k->s, "port")) {
			port = val;
			err = want_port(x, val, p, &port_h);
			s->key.port = htons(port_h);
		} else if (!strcmp(k->s, "protocol")) {
			err = want_choice(x, val, p, protos, ARRAY_SIZE(protos), &v);
			if (!err)
				s->key.proto = v ? IPPROTO_UDP : IPPROTO_TCP;
		} else if (!strcmp(k->s, "mode")) {
			err = want_choice(x, val, p, modes, ARRAY_SIZE(modes), &v);
			if (!err)
				veer_parse_mode(val->s, &s->opts.mode);
		} else if (!strcmp(k->s, "affinity")) {
			err = want_duration(x, val, p, 0, AFFINITY_MAX_S * 1000, "0..86400 seconds",
					    &ms);
			if (!err && ms % 1000)
				err = fail(x, val, p, "%s is not a whole number of seconds",
					   SHOW(val));
			s->opts.affinity = ms / 1000;
		} else if (!strcmp(k->s, "ring_size")) {
			err = want_u32(x, val, p, 2, VEER_RING_MAX, "a ring size",
				       &s->opts.ring_size);
			if (!err && !veer_is_prime(s->opts.ring_size))
				err = fail(x, val, p,
					   "%s is not a prime (want one of 2..%u: 65537, "
					   "131071, 1048573)",
					   SHOW(val), VEER_RING_MAX);
		} else if (!strcmp(k->s, "backends")) {
			if (is_null(val))
				continue;
			err = want_type(x, val, p, Y_SEQ, "[{address: 198.18.11.2}, ...]");
			if (!err && val->n > VEER_MAX_BACKENDS)
				err = fail(x, val, p, "%zu backends: more than a VIP can have (%u)",
					   val->n, VEER_MAX_BACKENDS);
			if (err)
				return err;
			s->backends = calloc(val->n ? val->n : 1, sizeof(*s->backends));
			if (!s->backends)
				return oom(x);
			for (size_t j = 0; j < val->n && !err; j++) {
				subindex(bp, p, j);
				err = backend_parse(x, val->kids[j], bp, &s->backends[j]);
				s->nbackends = j + 1;
			}
		} else if (!strcmp(k->s, "health")) {
			err = health_parse(x, val, p, &s->health);
		} else {
			err = unknown_key(x, k, path, keys);
		}
		if (err)
			return err;
	}
	if (!addr)
		return fail(x, m, path, "address is required");
	if (!port)
		return fail(x, m, path, "port is required");
	/* The same backend twice would be one slot with two weights. */
	for (size_t i = 0; i < s->nbackends; i++) {
		const struct veer_backend_spec *b = &s->backends[i];

		for (size_t j = 0; j < i; j++) {
			const struct veer_backend_spec *a = &s->backends[j];
			char name[VEER_ADDR_STRLEN];

			if (!endpoint_same(&a->ep, a->ep.port ?: s->key.port, &b->ep,
					   b->ep.port ?: s->key.port))
				continue;
			subpath(p, path, "backends");
			subindex(bp, p, i);
			return fail_at(x, b->pos.line, b->pos.col, bp,
				       "%s is listed twice (first as backends[%zu], line %u)",
				       veer_fmt_endpoint(&b->ep.addr, b->ep.port ?: s->key.port,
							 b->ep.family, name, sizeof(name)),
				       j, a->pos.line);
		}
	}
	return 0;
}

static int cache_parse(struct ctx *x, const struct ynode *m, const char *path,
		       struct veer_cache_spec *c)
{
	static const char keys[] = "cgroup, port, proto, server, hot_keys";
	static const char hot_keys[] = "top, ttl, interval";
	const struct ynode *cgroup = NULL, *port = NULL, *server = NULL;
	char p[PATH_LEN], hp[PATH_LEN], range[64];
	int err;

	err = want_type(x, m, path, Y_MAP, "{cgroup: /sys/fs/cgroup/app, port: 6379}");
	if (err)
		return err;
	*c = (struct veer_cache_spec){
		.enabled = true,
		.proto = VEER_CACHE_REDIS,
		.top = 100,
		.ttl_s = 30,
		.interval_ms = 1000,
		.pos = {m->line, m->col},
	};
	for (size_t i = 0; i < m->n; i += 2) {
		const struct ynode *k = m->kids[i], *val = m->kids[i + 1];

		err = key_check(x, m, i, path);
		if (err)
			return err;
		subpath(p, path, k->s);
		if (!strcmp(k->s, "cgroup")) {
			cgroup = val;
			err = want_text(x, val, p, "a cgroup v2 directory");
			if (!err && (val->s[0] != '/' || val->len >= sizeof(c->cgroup)))
				err = fail(x, val, p,
					   "%s is not a cgroup directory (want an absolute path "
					   "under %zu bytes: /sys/fs/cgroup/app)",
					   SHOW(val), sizeof(c->cgroup));
			if (!err)
				snprintf(c->cgroup, sizeof(c->cgroup), "%s", val->s);
		} else if (!strcmp(k->s, "port")) {
			port = val;
			err = want_port(x, val, p, &c->port);
		} else if (!strcmp(k->s, "proto")) {
			err = want_text(x, val, p, "redis or memcached");
			if (!err && veer_cache_parse_proto(val->s, &c->proto))
				err = fail(x, val, p, "%s is not one of redis or memcached",
					   SHOW(val));
		} else if (!strcmp(k->s, "server")) {
			server = val;
			err = want_hostport(x, val, p, true, c->server_host, sizeof(c->server_host),
					    &c->server_port);
		} else if (!strcmp(k->s, "hot_keys")) {
			err = want_type(x, val, p, Y_MAP, "{top: 100, ttl: 30s, interval: 1s}");
			for (size_t j = 0; !err && j < val->n; j += 2) {
				const struct ynode *hk = val->kids[j], *hv = val->kids[j + 1];
				__u32 ms;

				err = key_check(x, val, j, p);
				if (err)
					break;
				subpath(hp, p, hk->s);
				if (!strcmp(hk->s, "top")) {
					err = want_u32(x, hv, hp, 1, VEER_CACHE_ENTRIES,
						       "a number of keys", &c->top);
				} else if (!strcmp(hk->s, "ttl")) {
					err = want_duration(x, hv, hp, 1000,
							    CACHE_TTL_MAX_S * 1000u, "1s..365d",
							    &ms);
					if (!err && ms % 1000)
						err = fail(x, hv, hp,
							   "%s is not a whole number of seconds",
							   SHOW(hv));
					c->ttl_s = ms / 1000;
				} else if (!strcmp(hk->s, "interval")) {
					snprintf(range, sizeof(range), "%ums..%uh",
						 CACHE_INTERVAL_MIN_MS,
						 CACHE_INTERVAL_MAX_MS / 3600000);
					err = want_duration(x, hv, hp, CACHE_INTERVAL_MIN_MS,
							    CACHE_INTERVAL_MAX_MS, range,
							    &c->interval_ms);
				} else {
					err = unknown_key(x, hk, p, hot_keys);
				}
			}
		} else {
			err = unknown_key(x, k, path, keys);
		}
		if (err)
			return err;
	}
	if (!cgroup)
		return fail(x, m, path, "cgroup is required");
	if (!port)
		return fail(x, m, path, "port is required");
	/* The real server: by default on this host, on the port its clients connect to. */
	if (!server) {
		snprintf(c->server_host, sizeof(c->server_host), "127.0.0.1");
		c->server_port = c->port;
	}
	return 0;
}

static int metrics_parse(struct ctx *x, const struct ynode *m, const char *path,
			 struct veer_metrics_spec *ms)
{
	char p[PATH_LEN], host[VEER_ADDR_STRLEN];
	union veer_addr addr;
	__u16 port;
	__u8 family;
	int err;

	err = want_type(x, m, path, Y_MAP, "{listen: 127.0.0.1:9464} or {listen: off}");
	if (err)
		return err;
	for (size_t i = 0; i < m->n; i += 2) {
		const struct ynode *k = m->kids[i], *val = m->kids[i + 1];

		err = key_check(x, m, i, path);
		if (err)
			return err;
		subpath(p, path, k->s);
		if (strcmp(k->s, "listen"))
			return unknown_key(x, k, path, "listen");
		err = want_text(x, val, p, "ADDR:PORT or off");
		if (err)
			return err;
		if (!strcmp(val->s, "off")) {
			ms->enabled = false;
			ms->listen[0] = '\0';
			continue;
		}
		err = want_hostport(x, val, p, false, host, sizeof(host), &port);
		if (err)
			return err;
		veer_parse_addr(host, &addr, &family);
		ms->enabled = true;
		veer_fmt_endpoint(&addr, htons(port), family, ms->listen, sizeof(ms->listen));
	}
	return 0;
}

/* An http:// or https:// URL with a host, as libcurl reads it (what will be fetched). */
static int want_url(struct ctx *x, const struct ynode *n, const char *path, const char *example,
		    char *out, size_t size)
{
	char *scheme = NULL, *host = NULL;
	CURLU *u;
	int err = want_text(x, n, path, example);

	if (err)
		return err;
	if (n->len >= size)
		return fail(x, n, path, "%s is too long (want under %zu bytes)", SHOW(n), size);
	u = curl_url();
	if (!u)
		return oom(x);
	if (curl_url_set(u, CURLUPART_URL, n->s, CURLU_NON_SUPPORT_SCHEME) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0))
		err = fail(x, n, path, "%s is not a URL (want %s)", SHOW(n), example);
	else if (strcmp(scheme, "http") && strcmp(scheme, "https"))
		err = fail(x, n, path, "%s is not an http or https URL (want %s)", SHOW(n),
			   example);
	/* libcurl reads "http:///name" as the host "name": what is written names no host. */
	else if (strstr(n->s, ":///"))
		err = fail(x, n, path, "%s has no host (want %s)", SHOW(n), example);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	if (!err)
		snprintf(out, size, "%s", n->s);
	return err;
}

/*
 * An etcd endpoint: http(s)://HOST:PORT and nothing more. A path, a query or credentials
 * would be sent nowhere useful (the gateway's paths are veer's) or printed in every log line.
 */
static int want_endpoint(struct ctx *x, const struct ynode *n, const char *path, char *out,
			 size_t size)
{
	static const char example[] = "http://127.0.0.1:2379";
	char *port = NULL, *upath = NULL, *user = NULL, *query = NULL;
	int err = want_url(x, n, path, example, out, size);
	CURLU *u;

	if (err)
		return err;
	u = curl_url();
	if (!u)
		return oom(x);
	curl_url_set(u, CURLUPART_URL, out, CURLU_NON_SUPPORT_SCHEME);
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &upath, 0);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	if (user)
		err = fail(x, n, path, "%s carries credentials: etcd authentication is not supported "
				       "(want %s)", SHOW(n), example);
	else if (!port)
		err = fail(x, n, path, "%s has no port (etcd's is 2379: want %s)", SHOW(n), example);
	else if ((upath && strcmp(upath, "/")) || query)
		err = fail(x, n, path, "%s has a path or a query (want %s)", SHOW(n), example);
	curl_free(port);
	curl_free(upath);
	curl_free(user);
	curl_free(query);
	curl_url_cleanup(u);
	/* "http://h:2379/" and "http://h:2379" are one endpoint: veer adds the gateway's paths. */
	if (!err && out[strlen(out) - 1] == '/')
		out[strlen(out) - 1] = '\0';
	return err;
}

/* An absolute path of a file; relative ones would depend on where veerd was started. */
static int want_path(struct ctx *x, const struct ynode *n, const char *path, const char *example,
		     char *out, size_t size)
{
	int err = want_text(x, n, path, example);

	if (!err && (n->s[0] != '/' || n->len >= size))
		err = fail(x, n, path, "%s is not an absolute path under %zu bytes (want %s)",
			   SHOW(n), size, example);
	if (!err)
		snprintf(out, size, "%s", n->s);
	return err;
}

#define SOURCE_TIMEOUT_MIN_MS 100
#define SOURCE_TIMEOUT_MAX_MS 600000

static int etcd_parse(struct ctx *x, const struct ynode *m, const char *path,
		      struct veer_etcd_spec *e)
{
	static const char keys[] = "endpoints, prefix, timeout";
	const struct ynode *eps = NULL;
	char p[PATH_LEN], ep[PATH_LEN];
	int err;

	err = want_type(x, m, path, Y_MAP, "{endpoints: [http://127.0.0.1:2379], prefix: /veer/}");
	if (err)
		return err;
	*e = (struct veer_etcd_spec){
		.enabled = true,
		.timeout_ms = 2000,
		.pos = {m->line, m->col},
	};
	snprintf(e->prefix, sizeof(e->prefix), "/veer/");
	for (size_t i = 0; i < m->n; i += 2) {
		const struct ynode *k = m->kids[i], *val = m->kids[i + 1];

		err = key_check(x, m, i, path);
		if (err)
			return err;
		subpath(p, path, k->s);
		if (!strcmp(k->s, "endpoints")) {
			eps = val;
			err = want_type(x, val, p, Y_SEQ, "[http://127.0.0.1:2379]");
			if (!err && !val->n)
				err = fail(x, val, p, "no endpoint (want at least one URL)");
			if (!err && val->n > VEER_ETCD_ENDPOINTS_MAX)
				err = fail(x, val, p, "%zu endpoints: more than veer takes (%u)",
					   val->n, VEER_ETCD_ENDPOINTS_MAX);
			for (size_t j = 0; !err && j < val->n; j++) {
				subindex(ep, p, j);
				err = want_endpoint(x, val->kids[j], ep, e->endpoints[j],
						    sizeof(e->endpoints[j]));
				e->nendpoints = j + 1;
				for (size_t d = 0; !err && d < j; d++)
					if (!strcmp(e->endpoints[d], e->endpoints[j]))
						err = fail(x, val->kids[j], ep,
							   "%s is listed twice",
							   SHOW(val->kids[j]));
			}
		} else if (!strcmp(k->s, "prefix")) {
			err = want_text(x, val, p, "a key prefix (/veer/)");
			if (!err && (!val->len || val->len >= sizeof(e->prefix) - 8))
				err = fail(x, val, p, "%s is not a key prefix (want 1..%zu bytes)",
					   SHOW(val), sizeof(e->prefix) - 9);
			/* Else /veer and /veer/ name other keys: /veervips/ is no one's. */
			if (!err && val->s[val->len - 1] != '/')
				err = fail(x, val, p,
					   "%s does not end with / (keys are PREFIX + "
					   "\"vips/NAME\": want /veer/)",
					   SHOW(val));
			if (!err)
				snprintf(e->prefix, sizeof(e->prefix), "%s", val->s);
		} else if (!strcmp(k->s, "timeout")) {
			err = want_duration(x, val, p, SOURCE_TIMEOUT_MIN_MS, SOURCE_TIMEOUT_MAX_MS,
					    "100ms..10m", &e->timeout_ms);
		} else {
			err = unknown_key(x, k, path, keys);
		}
		if (err)
			return err;
	}
	if (!eps)
		return fail(x, m, path, "endpoints is required ([http://127.0.0.1:2379])");
	return 0;
}

static int k8s_parse(struct ctx *x, const struct ynode *m, const char *path,
		     struct veer_k8s_spec *k8s)
{
	static const char keys[] = "kubeconfig, timeout";
	char p[PATH_LEN];
	int err;

	*k8s = (struct veer_k8s_spec){
		.enabled = true,
		.timeout_ms = 5000,
		.pos = {m->line, m->col},
	};
	/*
	 * `kubernetes:` alone is refused: a block whose body was commented out must not turn
	 * into the in-cluster config. `{}` says it.
	 */
	err = want_type(x, m, path, Y_MAP, "{} (in a cluster) or {kubeconfig: /etc/veer/kubeconfig}");
	if (err)
		return err;
	for (size_t i = 0; i < m->n; i += 2) {
		const struct ynode *k = m->kids[i], *val = m->kids[i + 1];

		err = key_check(x, m, i, path);
		if (err)
			return err;
		subpath(p, path, k->s);
		if (!strcmp(k->s, "kubeconfig"))
			err = want_path(x, val, p, "/etc/veer/kubeconfig", k8s->kubeconfig,
					sizeof(k8s->kubeconfig));
		else if (!strcmp(k->s, "timeout"))
			err = want_duration(x, val, p, SOURCE_TIMEOUT_MIN_MS, SOURCE_TIMEOUT_MAX_MS,
					    "100ms..10m", &k8s->timeout_ms);
		else
			err = unknown_key(x, k, path, keys);
		if (err)
			return err;
	}
	return 0;
}

static int sources_parse(struct ctx *x, const struct ynode *m, const char *path)
{
	static const char keys[] = "etcd, kubernetes";
	struct veer_config *c = x->cfg;
	char p[PATH_LEN];
	int err;

	if (is_null(m))
		return 0;
	err = want_type(x, m, path, Y_MAP, "{etcd: {endpoints: [...]}, kubernetes: {}}");
	if (err)
		return err;
	for (size_t i = 0; i < m->n; i += 2) {
		const struct ynode *k = m->kids[i], *val = m->kids[i + 1];

		err = key_check(x, m, i, path);
		if (err)
			return err;
		subpath(p, path, k->s);
		if (!strcmp(k->s, "etcd"))
			err = etcd_parse(x, val, p, &c->sources.etcd);
		else if (!strcmp(k->s, "kubernetes"))
			err = k8s_parse(x, val, p, &c->sources.kubernetes);
		else
			err = unknown_key(x, k, path, keys);
		if (err)
			return err;
	}
	return 0;
}

/* A size in bytes: 65536, 512KiB, 64MiB, 1GiB. */
static int want_size(struct ctx *x, const struct ynode *n, const char *path, __u64 min, __u64 max,
		     __u64 *out)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {{"", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}};
	unsigned long long v;
	char *end;
	int err = want_text(x, n, path, "a size (65536, 512KiB, 64MiB)");

	if (err)
		return err;
	errno = 0;
	v = strtoull(n->s, &end, 10);
	if (n->s[0] < '0' || n->s[0] > '9' || errno || end == n->s)
		goto bad;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].suffix))
			continue;
		if (v > max >> units[i].shift || v << units[i].shift < min)
			return fail(x, n, path, "%s is out of range (want %llu..%llu bytes)",
				    SHOW(n), (unsigned long long)min, (unsigned long long)max);
		*out = v << units[i].shift;
		return 0;
	}
bad:
	return fail(x, n, path, "%s is not a size (want bytes, or KiB, MiB, GiB: 64MiB)", SHOW(n));
}

static int webhook_parse(struct ctx *x, const struct ynode *m, const char *path,
			 struct veer_webhook_spec *w)
{
	static const char keys[] = "url, events, secret_file, timeout, queue_dir, queue_max";
	const struct ynode *url = NULL, *secret = NULL;
	char p[PATH_LEN], ep[PATH_LEN];
	int err;

	err = want_type(x, m, path, Y_MAP,
			"{url: http://127.0.0.1:9000/hook, secret_file: /etc/veer/hook.key}");
	if (err)
		return err;
	*w = (struct veer_webhook_spec){
		.events = ~0u,
		.timeout_ms = 5000,
		.queue_max = 64ull << 20,
		.pos = {m->line, m->col},
	};
	snprintf(w->queue_dir, sizeof(w->queue_dir), "/var/lib/veer/webhooks");
	for (size_t i = 0; i < m->n; i += 2) {
		const struct ynode *k = m->kids[i], *val = m->kids[i + 1];

		err = key_check(x, m, i, path);
		if (err)
			return err;
		subpath(p, path, k->s);
		if (!strcmp(k->s, "url")) {
			url = val;
			err = want_url(x, val, p, "http://127.0.0.1:9000/hook", w->url,
				       sizeof(w->url));
		} else if (!strcmp(k->s, "events")) {
			err = want_type(x, val, p, Y_SEQ, "[backend_down, backend_up]");
			if (!err && !val->n)
				err = fail(x, val, p, "no event type (want some of %s)",
					   veer_event_type_list());
			w->events = 0;
			for (size_t j = 0; !err && j < val->n; j++) {
				const struct ynode *t = val->kids[j];
				enum veer_event_type type;

				subindex(ep, p, j);
				err = want_text(x, t, ep, "an event type");
				if (err)
					break;
				type = veer_event_type_parse(t->s);
				if (type == VEER_EVENT_NONE)
					err = fail(x, t, ep, "%s is not an event type (want one of %s)",
						   SHOW(t), veer_event_type_list());
				w->events |= 1u << type;
			}
		} else if (!strcmp(k->s, "secret_file")) {
			secret = val;
			err = want_path(x, val, p, "/etc/veer/hook.key", w->secret_file,
					sizeof(w->secret_file));
		} else if (!strcmp(k->s, "timeout")) {
			err = want_duration(x, val, p, SOURCE_TIMEOUT_MIN_MS, SOURCE_TIMEOUT_MAX_MS,
					    "100ms..10m", &w->timeout_ms);
		} else if (!strcmp(k->s, "queue_dir")) {
			err = want_path(x, val, p, "/var/lib/veer/webhooks", w->queue_dir,
					sizeof(w->queue_dir));
		} else if (!strcmp(k->s, "queue_max")) {
			err = want_size(x, val, p, 64 << 10, 64ull << 30, &w->queue_max);
		} else {
			err = unknown_key(x, k, path, keys);
		}
		if (err)
			return err;
	}
	if (!url)
		return fail(x, m, path, "url is required");
	if (!secret)
		return fail(x, m, path,
			    "secret_file is required (its bytes sign every delivery: "
			    "X-Veer-Signature)");
	return 0;
}

/* Lists that may be left empty: `vips:` alone declares none. */
static int list_get(struct ctx *x, const struct ynode *n, const char *path, size_t max,
		    const char *noun, const char *example)
{
	int err;

	if (is_null(n))
		return 0;
	err = want_type(x, n, path, Y_SEQ, example);
	if (!err && n->n > max)
		err = fail(x, n, path, "%zu %s: more than veer holds (%zu)", n->n, noun, max);
	return err;
}

static int root_parse(struct ctx *x, const struct ynode *root)
{
	static const char keys[] = "interfaces, vips, cache, metrics, sources, webhooks";
	struct veer_config *c = x->cfg;
	char p[PATH_LEN];
	size_t total = 0;
	int err;

	if (root->type != Y_MAP)
		return fail(x, root, NULL, "the config is a map of settings (%s), not %s", keys,
			    kind(root, (char[SHOWN_LEN]){0}, SHOWN_LEN));
	for (size_t i = 0; i < root->n; i += 2) {
		const struct ynode *k = root->kids[i], *val = root->kids[i + 1];

		err = key_check(x, root, i, NULL);
		if (err)
			return err;
		if (!strcmp(k->s, "interfaces")) {
			err = list_get(x, val, k->s, 4096, "interfaces", "[{name: eth0}]");
			if (err || is_null(val))
				goto next;
			c->ifaces = calloc(val->n ? val->n : 1, sizeof(*c->ifaces));
			if (!c->ifaces)
				return oom(x);
			for (size_t j = 0; j < val->n && !err; j++) {
				struct veer_iface_spec *s = &c->ifaces[j];

				subindex(p, "interfaces", j);
				err = iface_parse(x, val->kids[j], p, s);
				c->nifaces = j + 1;
				for (size_t d = 0; !err && d < j; d++)
					if (!strcmp(c->ifaces[d].name, s->name))
						err = fail_at(x, s->pos.line, s->pos.col, p,
							      "%s is listed twice (first as "
							      "interfaces[%zu], line %u)",
							      s->name, d, c->ifaces[d].pos.line);
			}
		} else if (!strcmp(k->s, "vips")) {
			err = list_get(x, val, k->s, VEER_MAX_VIPS, "VIPs",
				       "[{address: 198.18.100.10, port: 80}]");
			if (err || is_null(val))
				goto next;
			c->vips = calloc(val->n ? val->n : 1, sizeof(*c->vips));
			if (!c->vips)
				return oom(x);
			for (size_t j = 0; j < val->n && !err; j++) {
				struct veer_vip_spec *s = &c->vips[j];
				char why[VEER_CONFIG_ERR_LEN], name[VEER_ADDR_STRLEN];

				subindex(p, "vips", j);
				c->nvips = j + 1;
				err = vip_parse(x, val->kids[j], p, s);
				if (err)
					break;
				why[0] = '\0';
				if (veer_vip_spec_check(s, why, sizeof(why))) {
					err = fail_at(x, s->pos.line, s->pos.col, p, "%s",
						      why[0] ? why : "refused");
					break;
				}
				for (size_t d = 0; !err && d < j; d++)
					if (!memcmp(&c->vips[d].key, &s->key, sizeof(s->key)))
						err = fail_at(
							x, s->pos.line, s->pos.col, p,
							"%s is declared twice (first as "
							"vips[%zu], line %u)",
							veer_fmt_vip(&s->key, name, sizeof(name)),
							d, c->vips[d].pos.line);
				/*
				 * Every VIP's backends take slots of one table: a file that
				 * cannot fit is refused here, not found full half-way through.
				 */
				total += s->nbackends;
				if (!err && total > VEER_MAX_BACKENDS)
					err = fail_at(x, s->pos.line, s->pos.col, p,
						      "%zu backends up to here: more than veer "
						      "holds in all (%u)",
						      total, VEER_MAX_BACKENDS);
			}
		} else if (!strcmp(k->s, "cache")) {
			err = cache_parse(x, val, k->s, &c->cache);
		} else if (!strcmp(k->s, "metrics")) {
			err = metrics_parse(x, val, k->s, &c->metrics);
		} else if (!strcmp(k->s, "sources")) {
			err = sources_parse(x, val, k->s);
		} else if (!strcmp(k->s, "webhooks")) {
			err = list_get(x, val, k->s, 64, "webhooks",
				       "[{url: http://127.0.0.1:9000/hook, secret_file: ...}]");
			if (err || is_null(val))
				goto next;
			c->webhooks = calloc(val->n ? val->n : 1, sizeof(*c->webhooks));
			if (!c->webhooks)
				return oom(x);
			for (size_t j = 0; j < val->n && !err; j++) {
				subindex(p, "webhooks", j);
				err = webhook_parse(x, val->kids[j], p, &c->webhooks[j]);
				c->nwebhooks = j + 1;
			}
		} else if (!strcmp(k->s, "limits")) {
			/* DESIGN.md's keys of work to come: refused, not ignored as if applied. */
			err = fail(x, k, k->s, "not supported yet by this veer (it reads %s)",
				   keys);
		} else {
			err = unknown_key(x, k, NULL, keys);
		}
	next:
		if (err)
			return err;
	}
	return 0;
}

/* ---- entry points ---- */

int veer_config_parse(const char *buf, size_t len, const char *name, struct veer_config **out,
		      char *err, size_t errlen)
{
	struct veer_config *c;
	struct ynode *root = NULL;
	struct ctx x = {.name = name, .err = err, .errlen = errlen};
	int rc;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (len > CONFIG_SIZE_MAX) {
		fail_at(&x, 0, 0, NULL, "%zu bytes: larger than a config may be (%u MiB)", len,
			CONFIG_SIZE_MAX >> 20);
		return -EFBIG;
	}
	if (!len)
		return fail_at(&x, 0, 0, NULL,
			       "empty file (write {} for a config that declares "
			       "nothing)");
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(name))) {
		free(c);
		return oom(&x);
	}
	c->metrics.enabled = true;
	snprintf(c->metrics.listen, sizeof(c->metrics.listen), "127.0.0.1:9464");
	x.cfg = c;
	rc = tree_build(&x, buf, len, &root);
	if (!rc && (!root || is_null(root)))
		rc = fail_at(&x, root ? root->line : 0, root ? root->col : 0, NULL,
			     "no settings in the file, only comments or blank lines (write {} for "
			     "a config that declares nothing)");
	if (!rc)
		rc = root_parse(&x, root);
	ynode_free(root);
	if (rc) {
		veer_config_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int veer_config_load(const char *path, struct veer_config **out, char *err, size_t errlen)
{
	return veer_config_read(path, out, NULL, err, errlen);
}

int veer_config_read(const char *path, struct veer_config **out, __u64 *digest, char *err,
		     size_t errlen)
{
	struct ctx x = {.name = path, .err = err, .errlen = errlen};
	size_t len = 0;
	struct stat st;
	char *buf;
	ssize_t n;
	int fd, rc;

	*out = NULL;
	/* O_NONBLOCK: a FIFO given by mistake must not hang the daemon waiting for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		return fail_at(&x, 0, 0, NULL, "cannot open: %s", strerror(-rc)), rc;
	}
	if (fstat(fd, &st)) {
		rc = -errno;
		fail_at(&x, 0, 0, NULL, "cannot read: %s", strerror(-rc));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = fail_at(&x, 0, 0, NULL, "not a regular file");
		goto out;
	}
	/* Refused before reading: a wrong file given by mistake costs no time. */
	if (st.st_size > CONFIG_SIZE_MAX) {
		fail_at(&x, 0, 0, NULL, "%lld bytes: larger than a config may be (%u MiB)",
			(long long)st.st_size, CONFIG_SIZE_MAX >> 20);
		rc = -EFBIG;
		goto out;
	}
	/* One byte more than the limit: a file that grew since fstat is caught too. */
	buf = malloc(CONFIG_SIZE_MAX + 1);
	if (!buf) {
		rc = oom(&x);
		goto out;
	}
	while (len <= CONFIG_SIZE_MAX &&
	       (n = read(fd, buf + len, CONFIG_SIZE_MAX + 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			fail_at(&x, 0, 0, NULL, "cannot read: %s", strerror(-rc));
			free(buf);
			goto out;
		}
		len += n;
	}
	if (digest) {
		*digest = 0xcbf29ce484222325ull; /* FNV-1a */
		for (size_t i = 0; i < len; i++)
			*digest = (*digest ^ (unsigned char)buf[i]) * 0x100000001b3ull;
	}
	rc = veer_config_parse(buf, len, path, out, err, errlen);
	free(buf);
out:
	close(fd);
	return rc;
}

void veer_vip_specs_free(struct veer_vip_spec *specs, size_t n)
{
	for (size_t i = 0; specs && i < n; i++)
		free(specs[i].backends);
	free(specs);
}

int veer_vip_spec_copy(struct veer_vip_spec *dst, const struct veer_vip_spec *s)
{
	*dst = *s;
	dst->backends = calloc(s->nbackends ? s->nbackends : 1, sizeof(*s->backends));
	if (!dst->backends)
		return -ENOMEM;
	memcpy(dst->backends, s->backends, s->nbackends * sizeof(*s->backends));
	return 0;
}

/*
 * JSON is read by json-c (what is and is not JSON), then as YAML flow syntax, which JSON is:
 * the VIP goes through vip_parse, so a key in etcd is held to the file's rules, word for word.
 * Messages carry the key's path only: a value is most often one line.
 */
int veer_vip_spec_parse_json(const char *buf, size_t len, const char *name,
			     struct veer_vip_spec *out, char *err, size_t errlen)
{
	struct ctx x = {.name = name, .nopos = true, .err = err, .errlen = errlen};
	struct json_tokener *tok;
	struct json_object *o = NULL;
	struct ynode *root = NULL;
	const char *flat;
	int rc;

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	if (len > CONFIG_SIZE_MAX)
		return fail_at(&x, 0, 0, NULL, "%zu bytes: larger than a VIP may be", len);
	tok = json_tokener_new();
	if (!tok)
		return oom(&x);
	/* RFC 8259 as written: no leading zeros, no trailing commas, no single quotes. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		enum json_tokener_error je = json_tokener_get_error(tok);

		rc = fail_at(&x, 0, 0, NULL, "not JSON: %s",
			     je == json_tokener_success || je == json_tokener_continue
				     ? "unexpected end or trailing bytes"
				     : json_tokener_error_desc(je));
		goto out;
	}
	if (!json_object_is_type(o, json_type_object)) {
		rc = fail_at(&x, 0, 0, NULL, "want a JSON object like {\"address\": "
					     "\"198.18.100.10\", \"port\": 80}, got %s",
			     json_type_to_name(json_object_get_type(o)));
		goto out;
	}
	/*
	 * The text as written first: json-c keeps the last of a key given twice where the file's
	 * rules refuse it. JSON libyaml cannot read as it is (rare escapes) goes in json-c's
	 * compact form instead.
	 */
	rc = tree_build(&x, buf, len, &root);
	if (rc) {
		flat = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
		rc = tree_build(&x, flat, strlen(flat), &root);
	}
	if (!rc)
		rc = vip_parse(&x, root, NULL, out);
	if (!rc) {
		char why[VEER_CONFIG_ERR_LEN] = "";

		if (veer_vip_spec_check(out, why, sizeof(why)))
			rc = fail_at(&x, 0, 0, NULL, "%s", why[0] ? why : "refused");
	}
	if (rc) {
		free(out->backends);
		memset(out, 0, sizeof(*out));
	}
out:
	ynode_free(root);
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

void veer_config_free(struct veer_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nvips; i++)
		free(c->vips[i].backends);
	free(c->vips);
	free(c->webhooks);
	free(c->ifaces);
	free(c->path);
	free(c);
}
