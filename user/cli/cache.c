// SPDX-License-Identifier: GPL-2.0
/* veer cache: attach the hot-key cache to a cgroup, manage its entries, run its manager. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "cli.h"
#include "cache_policy.h"

#define CACHE_TTL_DEFAULT 30

static int parse_proto_arg(const struct cmd *c, const char *s, __u8 *proto, int *rc)
{
	if (veer_cache_parse_proto(s, proto)) {
		*rc = usage_error(c, "invalid protocol '%s' (want redis or memcached)", s);
		return -1;
	}
	return 0;
}

static int parse_key_arg(const struct cmd *c, const char *s, int *rc)
{
	size_t n = strlen(s);

	if (!n || n > VEER_CACHE_KEY_MAX) {
		*rc = usage_error(c, "invalid key of %zu bytes (want 1 to %d)", n,
				  VEER_CACHE_KEY_MAX);
		return -1;
	}
	return 0;
}


static int open_cache(struct veer_cache **cache, bool write)
{
	return veer_cache_open(cache, write) ? -1 : 0;
}

/* The options attach and detach share: --cgroup, --port, and for attach --proto. */
struct target_opts {
	const char *cgroup;
	__u32 port;
	__u8 proto;
};

static int target_command(const struct cmd *c, int argc, char **argv, bool with_proto,
			  struct target_opts *to, int *rc)
{
	static const struct option opts[] = {{"cgroup", required_argument, NULL, 'c'},
					     {"port", required_argument, NULL, 'p'},
					     {"proto", required_argument, NULL, 'P'},
					     {0}};
	static const struct option no_proto[] = {{"cgroup", required_argument, NULL, 'c'},
						 {"port", required_argument, NULL, 'p'},
						 {0}};
	int o;

	*to = (struct target_opts){.proto = VEER_CACHE_REDIS};
	while ((o = next_opt(c, argc, argv, with_proto ? opts : no_proto, rc)) != -1) {
		if (o == -2)
			return -1;
		if (o == 'c')
			to->cgroup = optarg;
		if (o == 'p' && veer_parse_u32(optarg, 1, 65535, &to->port)) {
			*rc = usage_error(c, "invalid port '%s' (want 1..65535)", optarg);
			return -1;
		}
		if (o == 'P' && parse_proto_arg(c, optarg, &to->proto, rc))
			return -1;
	}
	return positional(c, argc, 0, rc);
}

int cmd_cache_attach(const struct cmd *c, int argc, char **argv)
{
	struct veer_cache *cache;
	struct target_opts to;
	int rc = 0;

	if (target_command(c, argc, argv, true, &to, &rc))
		return rc;
	if (!to.cgroup || !to.port)
		return usage_error(c, "%s needs --cgroup and --port", cmd_path);
	if (open_cache(&cache, true))
		return EXIT_FAILED;
	rc = veer_cache_attach(cache, to.cgroup, to.port, to.proto);
	veer_cache_close(cache);
	return exit_code(rc);
}

int cmd_cache_detach(const struct cmd *c, int argc, char **argv)
{
	struct veer_cache *cache;
	struct target_opts to;
	int rc = 0;

	if (target_command(c, argc, argv, false, &to, &rc))
		return rc;
	if (!to.cgroup && !to.port)
		return usage_error(c, "%s needs --cgroup, --port or both", cmd_path);
	if (open_cache(&cache, true))
		return EXIT_FAILED;
	if (to.cgroup)
		rc = veer_cache_detach(cache, to.cgroup);
	if (!rc && to.port)
		rc = veer_cache_port_del(cache, to.port);
	veer_cache_close(cache);
	return exit_code(rc);
}

/* The options put, get and del share: --proto, and for put --ttl and --flags. */
struct key_opts {
	__u8 proto;
	__u32 ttl;
	__u32 flags;
};

static int key_command(const struct cmd *c, int argc, char **argv, int nargs, bool put,
		       struct key_opts *ko, int *rc)
{
	static const struct option put_opts[] = {{"proto", required_argument, NULL, 'P'},
						 {"ttl", required_argument, NULL, 't'},
						 {"flags", required_argument, NULL, 'f'},
						 {0}};
	bool flags = false;
	int o;

	*ko = (struct key_opts){.proto = VEER_CACHE_REDIS, .ttl = CACHE_TTL_DEFAULT};
	/* put_opts without its last two entries is get's and del's table. */
	static const struct option key_opts_[] = {{"proto", required_argument, NULL, 'P'}, {0}};

	while ((o = next_opt(c, argc, argv, put ? put_opts : key_opts_, rc)) != -1) {
		if (o == -2)
			return -1;
		if (o == 'P' && parse_proto_arg(c, optarg, &ko->proto, rc))
			return -1;
		if (o == 't' && veer_parse_u32(optarg, 1, 86400 * 365, &ko->ttl)) {
			*rc = usage_error(c, "invalid TTL '%s' (want 1.. seconds)", optarg);
			return -1;
		}
		if (o == 'f' && veer_parse_u32(optarg, 0, 0xffffffffu, &ko->flags)) {
			*rc = usage_error(c, "invalid flags '%s' (want 0..4294967295)", optarg);
			return -1;
		}
		flags |= o == 'f';
	}
	if (flags && ko->proto != VEER_CACHE_MEMCACHED) {
		*rc = usage_error(c, "--flags is memcached's client flags: only with --proto memcached");
		return -1;
	}
	if (positional(c, argc, nargs, rc) || parse_key_arg(c, argv[optind], rc))
		return -1;
	return 0;
}

int cmd_cache_put(const struct cmd *c, int argc, char **argv)
{
	struct veer_cache *cache;
	struct key_opts ko;
	const char *key, *value;
	int rc = 0;

	if (key_command(c, argc, argv, 2, true, &ko, &rc))
		return rc;
	key = argv[optind];
	value = argv[optind + 1];
	if (strlen(value) > VEER_CACHE_VALUE_MAX)
		return usage_error(c, "invalid value of %zu bytes (the maximum is %d)",
				   strlen(value), VEER_CACHE_VALUE_MAX);
	if (open_cache(&cache, true))
		return EXIT_FAILED;
	rc = veer_cache_put(cache, ko.proto, key, strlen(key), value, strlen(value), ko.flags,
			    ko.ttl, NULL);
	veer_cache_close(cache);
	return rc == -EINVAL ? EXIT_USAGE : exit_code(rc);
}

static struct json_object *item_json(const struct veer_cache_item *it)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(
		o, "key", json_object_new_string_len((const char *)it->key.bytes, it->key.len));
	json_object_object_add(o, "proto",
			       json_object_new_string(veer_cache_proto_name(it->key.proto)));
	json_object_object_add(o, "value_bytes", json_object_new_int64(it->value_len));
	json_object_object_add(o, "reply_bytes", json_object_new_int64(it->reply_len));
	json_object_object_add(o, "ttl_ms", json_object_new_int64(it->ttl_ms > 0 ? it->ttl_ms : 0));
	json_object_object_add(o, "hits", json_object_new_uint64(it->hits));
	json_object_object_add(o, "current", json_object_new_boolean(it->current));
	return o;
}

int cmd_cache_get(const struct cmd *c, int argc, char **argv)
{
	struct veer_cache_item it;
	struct veer_cache *cache;
	struct key_opts ko;
	const char *key;
	void *value;
	size_t vlen;
	int rc = 0;

	if (key_command(c, argc, argv, 1, false, &ko, &rc))
		return rc;
	key = argv[optind];
	if (open_cache(&cache, false))
		return EXIT_FAILED;
	rc = veer_cache_get(cache, ko.proto, key, strlen(key), &value, &vlen, &it);
	veer_cache_close(cache);
	if (rc) {
		char text[VEER_CACHE_KEY_TEXT_MAX];

		fprintf(stderr, "veer: cannot get key '%s': %s\n",
			veer_cache_key_text(key, strlen(key), text, sizeof(text)),
			rc == -ENOENT ? "not cached" : strerror(-rc));
		return EXIT_FAILED;
	}
	if (json_out) {
		struct json_object *o = item_json(&it);

		json_object_object_add(o, "value", json_object_new_string_len(value, vlen));
		free(value);
		return print_json(o);
	}
	fwrite(value, 1, vlen, stdout);
	putchar('\n');
	free(value);
	return EXIT_OK;
}

int cmd_cache_del(const struct cmd *c, int argc, char **argv)
{
	struct veer_cache *cache;
	struct key_opts ko;
	const char *key;
	int rc = 0;

	if (key_command(c, argc, argv, 1, false, &ko, &rc))
		return rc;
	key = argv[optind];
	if (open_cache(&cache, true))
		return EXIT_FAILED;
	rc = veer_cache_del(cache, ko.proto, key, strlen(key));
	veer_cache_close(cache);
	if (rc) {
		char text[VEER_CACHE_KEY_TEXT_MAX];

		fprintf(stderr, "veer: cannot delete key '%s': %s\n",
			veer_cache_key_text(key, strlen(key), text, sizeof(text)),
			rc == -ENOENT ? "not cached" : strerror(-rc));
	}
	return exit_code(rc);
}

int cmd_cache_list(const struct cmd *c, int argc, char **argv)
{
	char text[VEER_CACHE_KEY_TEXT_MAX];
	struct veer_cache_item *items;
	struct veer_cache *cache;
	size_t n;
	int rc = 0;

	if (no_options(c, argc, argv, 0, &rc))
		return rc;
	if (open_cache(&cache, false))
		return EXIT_FAILED;
	rc = veer_cache_list(cache, &items, &n);
	veer_cache_close(cache);
	if (rc)
		return EXIT_FAILED;
	if (json_out) {
		struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, item_json(&items[i]));
		free(items);
		return print_json(a);
	}
	printf("%-10s %-32s %8s %10s %10s %s\n", "PROTO", "KEY", "BYTES", "TTL", "HITS", "STATE");
	for (size_t i = 0; i < n; i++)
		printf("%-10s %-32s %8u %9llds %10llu %s\n",
		       veer_cache_proto_name(items[i].key.proto),
		       veer_cache_key_text(items[i].key.bytes, items[i].key.len, text, sizeof(text)), items[i].value_len,
		       items[i].ttl_ms > 0 ? (long long)(items[i].ttl_ms + 999) / 1000 : 0,
		       (unsigned long long)items[i].hits, items[i].current ? "current" : "stale");
	free(items);
	return EXIT_OK;
}

int cmd_cache_stats(const struct cmd *c, int argc, char **argv)
{
	static const __u8 protos[] = {VEER_CACHE_REDIS, VEER_CACHE_MEMCACHED};
	__u64 sum[VEER_CACHE_STAT_MAX];
	struct veer_cache_item *items;
	struct veer_cache *cache;
	__s64 lease_ms[2] = {};
	int leased[2] = {};
	__u64 bytes = 0;
	size_t n;
	int rc = 0;

	if (no_options(c, argc, argv, 0, &rc))
		return rc;
	if (open_cache(&cache, false))
		return EXIT_FAILED;
	rc = veer_cache_counters(cache, sum);
	if (!rc)
		rc = veer_cache_list(cache, &items, &n);
	for (int i = 0; !rc && i < 2; i++) {
		leased[i] = veer_cache_lease_left(cache, protos[i], &lease_ms[i]);
		rc = leased[i] < 0 ? leased[i] : 0;
	}
	veer_cache_close(cache);
	if (rc)
		return EXIT_FAILED;
	for (size_t i = 0; i < n; i++)
		bytes += items[i].reply_len;
	free(items);
	if (json_out) {
		struct json_object *o = json_object_new_object(), *l = json_object_new_object();

		json_object_object_add(o, "entries", json_object_new_uint64(n));
		json_object_object_add(o, "bytes", json_object_new_uint64(bytes));
		for (__u32 i = 1; i < VEER_CACHE_STAT_MAX; i++)
			json_object_object_add(o, veer_cache_stat_names[i],
					       json_object_new_uint64(sum[i]));
		/* Per protocol: ms its manager's lease has left (<= 0: run out), null: none. */
		for (int i = 0; i < 2; i++)
			json_object_object_add(l, veer_cache_proto_name(protos[i]),
					       leased[i] ? json_object_new_int64(lease_ms[i]) : NULL);
		json_object_object_add(o, "lease_ms", l);
		return print_json(o);
	}
	printf("%-14s %llu\n%-14s %llu\n", "entries", (unsigned long long)n, "bytes",
	       (unsigned long long)bytes);
	for (__u32 i = 1; i < VEER_CACHE_STAT_MAX; i++)
		printf("%-14s %llu\n", veer_cache_stat_names[i], (unsigned long long)sum[i]);
	for (int i = 0; i < 2; i++) {
		char what[32];

		snprintf(what, sizeof(what), "lease %s", veer_cache_proto_name(protos[i]));
		if (!leased[i])
			printf("%-14s none\n", what);
		else if (lease_ms[i] <= 0)
			printf("%-14s run out: nothing served\n", what);
		else
			printf("%-14s %lld ms\n", what, (long long)lease_ms[i]);
	}
	return EXIT_OK;
}

int cmd_cache_hot(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {{"top", required_argument, NULL, 't'}, {0}};
	char text[VEER_CACHE_KEY_TEXT_MAX];
	struct veer_cache_hot_key *hot;
	struct veer_cache *cache;
	__u32 top = 20;
	size_t n;
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, opts, &rc)) != -1) {
		if (o == -2)
			return rc;
		if (veer_parse_u32(optarg, 1, VEER_CACHE_HOT_MAX, &top))
			return usage_error(c, "invalid count '%s' (want 1..%d)", optarg,
					   VEER_CACHE_HOT_MAX);
	}
	if (positional(c, argc, 0, &rc))
		return rc;
	if (open_cache(&cache, false))
		return EXIT_FAILED;
	rc = veer_cache_hot(cache, top, false, &hot, &n);
	veer_cache_close(cache);
	if (rc)
		return EXIT_FAILED;
	if (json_out) {
		struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < n; i++) {
			struct json_object *k = json_object_new_object();

			json_object_object_add(
				k, "key",
				json_object_new_string_len((const char *)hot[i].key.bytes,
							   hot[i].key.len));
			json_object_object_add(
				k, "proto",
				json_object_new_string(veer_cache_proto_name(hot[i].key.proto)));
			json_object_object_add(k, "misses", json_object_new_uint64(hot[i].misses));
			json_object_object_add(k, "writes", json_object_new_uint64(hot[i].writes));
			json_object_array_add(a, k);
		}
		free(hot);
		return print_json(a);
	}
	printf("%-10s %-32s %10s %s\n", "PROTO", "KEY", "MISSES", "WRITES");
	for (size_t i = 0; i < n; i++)
		printf("%-10s %-32s %10llu %llu\n", veer_cache_proto_name(hot[i].key.proto),
		       veer_cache_key_text(hot[i].key.bytes, hot[i].key.len, text, sizeof(text)), (unsigned long long)hot[i].misses,
		       (unsigned long long)hot[i].writes);
	free(hot);
	return EXIT_OK;
}

/* A non-negative decimal number, as "0.01" or "1e-3": 0, or -1 when it is not one. */
static int parse_ratio(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 1e6))
		return -1;
	*out = v;
	return 0;
}

static volatile int manage_stop;

static void on_signal(int sig)
{
	(void)sig;
	manage_stop = 1;
}

int cmd_cache_manage(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {{"server", required_argument, NULL, 's'},
					     {"proto", required_argument, NULL, 'P'},
					     {"top", required_argument, NULL, 't'},
					     {"ttl", required_argument, NULL, 'T'},
					     {"interval", required_argument, NULL, 'i'},
					     {"no-notify", no_argument, NULL, 'n'},
					     {"max-write-ratio", required_argument, NULL, 'w'},
					     {0}};
	struct veer_cache_manager_opts mo = {.proto = VEER_CACHE_REDIS,
					     .top = 1000,
					     .ttl_s = CACHE_TTL_DEFAULT,
					     .interval_ms = 1000,
					     .notify = true,
					     .max_write_ratio = VEER_CACHE_MAX_WRITE_RATIO};
	struct veer_endpoint ep = {};
	char host[VEER_ADDR_STRLEN];
	struct sigaction sa = {.sa_handler = on_signal};
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, opts, &rc)) != -1) {
		if (o == -2)
			return rc;
		if (o == 's' && (veer_parse_endpoint(optarg, &ep, true)))
			return usage_error(c, "invalid server '%s' (want ADDR:PORT)", optarg);
		if (o == 'P' && parse_proto_arg(c, optarg, &mo.proto, &rc))
			return rc;
		if (o == 't' && veer_parse_u32(optarg, 1, VEER_CACHE_ENTRIES, &mo.top))
			return usage_error(c, "invalid count '%s' (want 1..%d)", optarg,
					   VEER_CACHE_ENTRIES);
		if (o == 'T' && veer_parse_u32(optarg, 1, 86400 * 365, &mo.ttl_s))
			return usage_error(c, "invalid TTL '%s' (want 1.. seconds)", optarg);
		if (o == 'i' && (veer_parse_duration(optarg, &mo.interval_ms) || !mo.interval_ms))
			return usage_error(c, "invalid interval '%s' (want a duration: 500ms, 2s)",
					   optarg);
		if (o == 'n')
			mo.notify = false;
		if (o == 'w' && parse_ratio(optarg, &mo.max_write_ratio))
			return usage_error(
				c, "invalid ratio '%s' (want a number from 0 to 1000000)", optarg);
	}
	if (positional(c, argc, 0, &rc))
		return rc;
	if (!ep.family)
		return usage_error(c, "%s needs --server ADDR:PORT", cmd_path);
	veer_fmt_addr(&ep.addr, ep.family, host, sizeof(host));
	mo.host = host;
	mo.port = ntohs(ep.port);
	if (mo.proto == VEER_CACHE_MEMCACHED)
		mo.notify = false;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return exit_code(veer_cache_manage(&mo, &manage_stop));
}
