// SPDX-License-Identifier: GPL-2.0
/*
 * veer: load, attach and inspect the data plane. Table-driven subcommands, any unique prefix
 * accepted (`veer b l VIP` is `veer backend list VIP`). Exit 0 ok, 1 operation failed, 2 bad
 * usage or input.
 */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include <arpa/inet.h>
#include "veer.h"
#include "maglev.h"

#define VEER_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

struct cmd {
	const char *name;
	int (*fn)(const struct cmd *c, int argc, char **argv);
	const char *args;
	const char *help;
	const struct cmd *sub;
};

static bool json_out;
static const char *cmd_path; /* "vip add", for messages */

static int usage_error(const struct cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "veer: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: veer %s %s\n", cmd_path, c->args);
	return EXIT_USAGE;
}

static int print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return EXIT_OK;
}

static const char *jstr(struct json_object *o, const char *key)
{
	return json_object_get_string(json_object_object_get(o, key));
}

static int exit_code(int err)
{
	return err ? EXIT_FAILED : EXIT_OK;
}

/*
 * Common option parsing: every command takes --help; opts lists the rest. Returns -1 when the
 * command line was handled (help shown or an error reported), with *rc set.
 */
static int next_opt(const struct cmd *c, int argc, char **argv, const struct option *opts, int *rc)
{
	struct option all[16];
	int n = 0, o;

	for (; opts && opts[n].name; n++)
		all[n] = opts[n];
	all[n++] = (struct option){"help", no_argument, NULL, 'h'};
	all[n] = (struct option){0};
	o = getopt_long(argc, argv, ":h", all, NULL);
	if (o == 'h') {
		printf("usage: veer %s %s\n  %s\n", cmd_path, c->args, c->help);
		*rc = EXIT_OK;
		return -2;
	}
	if (o == '?' || o == ':') {
		*rc = usage_error(c, "%s '%s' for %s",
				  o == ':' ? "missing argument to option" : "unknown option",
				  argv[optind - 1], cmd_path);
		return -2;
	}
	return o;
}

static int positional(const struct cmd *c, int argc, int want, int *rc)
{
	if (argc - optind != want) {
		*rc = usage_error(c, "%s takes %d argument%s, got %d", cmd_path, want,
				  want == 1 ? "" : "s", argc - optind);
		return -1;
	}
	return 0;
}

static int parse_vip_arg(const struct cmd *c, const char *s, struct veer_vip_key *key, int *rc)
{
	if (veer_parse_vip(s, key)) {
		*rc = usage_error(c, "invalid VIP '%s' (want ADDR:PORT/tcp|udp, [ADDR6]:PORT/...)",
				  s);
		return -1;
	}
	return 0;
}

static int parse_backend_arg(const struct cmd *c, const char *s, struct veer_endpoint *ep, int *rc)
{
	if (veer_parse_endpoint(s, ep, false)) {
		*rc = usage_error(
			c, "invalid backend address '%s' (want ADDR[:PORT], [ADDR6]:PORT)", s);
		return -1;
	}
	return 0;
}

static int parse_weight(const struct cmd *c, const char *s, __u32 *w, int *rc)
{
	if (veer_parse_u32(s, 0, VEER_WEIGHT_MAX, w)) {
		*rc = usage_error(c, "invalid weight '%s' (want 0..%d)", s, VEER_WEIGHT_MAX);
		return -1;
	}
	return 0;
}

static int open_state(struct veer **v, bool write)
{
	return veer_open(v, write) ? -1 : 0;
}

/* ---- attach, detach, status ---- */

static int cmd_attach(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {{"mode", required_argument, NULL, 'm'}, {0}};
	enum veer_xdp_mode mode = VEER_XDP_NATIVE;
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, opts, &rc)) != -1) {
		if (o == -2)
			return rc;
		if (!strcmp(optarg, "native"))
			mode = VEER_XDP_NATIVE;
		else if (!strcmp(optarg, "generic"))
			mode = VEER_XDP_GENERIC;
		else
			return usage_error(c, "invalid mode '%s' (want native or generic)", optarg);
	}
	if (positional(c, argc, 1, &rc))
		return rc;
	rc = veer_attach(argv[optind], mode);
	return rc == -ENODEV ? EXIT_USAGE : exit_code(rc);
}

static int cmd_detach(const struct cmd *c, int argc, char **argv)
{
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, NULL, &rc)) != -1)
		return rc;
	if (positional(c, argc, 1, &rc))
		return rc;
	rc = veer_detach(argv[optind]);
	return rc == -ENODEV ? EXIT_USAGE : exit_code(rc);
}

static int json_strcmp(const void *a, const void *b)
{
	return strcmp(json_object_get_string(*(struct json_object *const *)a),
		      json_object_get_string(*(struct json_object *const *)b));
}

static int cmd_status(const struct cmd *c, int argc, char **argv)
{
	struct json_object *o = NULL, *links_j, *maps_j;
	struct veer_vip_info *vips = NULL;
	struct veer_link *links = NULL;
	size_t nlinks = 0, nvips = 0;
	struct veer *v = NULL;
	struct dirent *de;
	DIR *dir;
	int opt, rc = 0;

	while ((opt = next_opt(c, argc, argv, NULL, &rc)) != -1)
		return rc;
	if (positional(c, argc, 0, &rc))
		return rc;
	if (veer_links(&links, &nlinks))
		return EXIT_FAILED;
	if (open_state(&v, false)) {
		free(links);
		return EXIT_FAILED;
	}
	veer_vip_list(v, &vips, &nvips);
	o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_string(VEER_VERSION));
	links_j = json_object_new_array();
	for (size_t i = 0; i < nlinks; i++) {
		struct json_object *l = json_object_new_object();

		json_object_object_add(l, "interface", json_object_new_string(links[i].ifname));
		json_object_object_add(l, "ifindex", json_object_new_int(links[i].ifindex));
		json_object_object_add(l, "mode", json_object_new_string(links[i].mode));
		json_object_object_add(l, "prog_id", json_object_new_int64(links[i].prog_id));
		json_object_array_add(links_j, l);
	}
	json_object_object_add(o, "interfaces", links_j);
	maps_j = json_object_new_array();
	dir = opendir(VEER_PIN_DIR);
	while (dir && (de = readdir(dir)))
		if (de->d_name[0] != '.')
			json_object_array_add(maps_j, json_object_new_string(de->d_name));
	if (dir)
		closedir(dir);
	json_object_array_sort(maps_j, json_strcmp);
	json_object_object_add(o, "pin_dir", json_object_new_string(VEER_PIN_DIR));
	json_object_object_add(o, "maps", maps_j);
	json_object_object_add(o, "vips", json_object_new_int(nvips));
	free(vips);
	free(links);
	veer_close(v);
	if (json_out)
		return print_json(o);
	printf("veer %s\n", VEER_VERSION);
	printf("interfaces:%s\n", nlinks ? "" : " none");
	for (size_t i = 0; i < json_object_array_length(links_j); i++) {
		struct json_object *l = json_object_array_get_idx(links_j, i);

		printf("  %-16s xdp %-8s prog id %s\n",
		       json_object_get_string(json_object_object_get(l, "interface")),
		       json_object_get_string(json_object_object_get(l, "mode")),
		       json_object_get_string(json_object_object_get(l, "prog_id")));
	}
	printf("maps in %s:", VEER_PIN_DIR);
	for (size_t i = 0; i < json_object_array_length(maps_j); i++)
		printf(" %s", json_object_get_string(json_object_array_get_idx(maps_j, i)));
	printf("\nvips: %zu\n", nvips);
	json_object_put(o);
	return EXIT_OK;
}

/* ---- vip ---- */

static int cmd_vip_add(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {{"mode", required_argument, NULL, 'm'},
					     {"affinity", required_argument, NULL, 'a'},
					     {"ring-size", required_argument, NULL, 'r'},
					     {0}};
	struct veer_vip_opts vo = {.mode = VEER_MODE_NAT, .ring_size = VEER_RING_DEFAULT};
	struct veer_vip_key key;
	struct veer *v;
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, opts, &rc)) != -1) {
		if (o == -2)
			return rc;
		if (o == 'm' && veer_parse_mode(optarg, &vo.mode))
			return usage_error(c, "invalid mode '%s' (want nat, dsr-ipip or dsr-l2)",
					   optarg);
		if (o == 'a' && veer_parse_u32(optarg, 0, 86400, &vo.affinity))
			return usage_error(c, "invalid affinity '%s' (want 0..86400 seconds)",
					   optarg);
		if (o == 'r' && (veer_parse_u32(optarg, 2, VEER_RING_MAX, &vo.ring_size) ||
				 !veer_is_prime(vo.ring_size)))
			return usage_error(c, "invalid ring size '%s' (want a prime up to %u)",
					   optarg, VEER_RING_MAX);
	}
	if (positional(c, argc, 1, &rc) || parse_vip_arg(c, argv[optind], &key, &rc))
		return rc;
	if (open_state(&v, true))
		return EXIT_FAILED;
	rc = veer_vip_add(v, &key, &vo);
	veer_close(v);
	return exit_code(rc);
}

static int cmd_vip_del(const struct cmd *c, int argc, char **argv)
{
	struct veer_vip_key key;
	struct veer *v;
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, NULL, &rc)) != -1)
		return rc;
	if (positional(c, argc, 1, &rc) || parse_vip_arg(c, argv[optind], &key, &rc))
		return rc;
	if (open_state(&v, true))
		return EXIT_FAILED;
	rc = veer_vip_del(v, &key);
	veer_close(v);
	return exit_code(rc);
}

static struct json_object *vip_json(const struct veer_vip_info *vi)
{
	struct json_object *o = json_object_new_object();
	char buf[VEER_ADDR_STRLEN];

	json_object_object_add(o, "vip",
			       json_object_new_string(veer_fmt_vip(&vi->key, buf, sizeof(buf))));
	json_object_object_add(o, "address",
			       json_object_new_string(veer_fmt_addr(&vi->key.addr, vi->key.family,
								    buf, sizeof(buf))));
	json_object_object_add(o, "port", json_object_new_int(ntohs(vi->key.port)));
	json_object_object_add(o, "protocol",
			       json_object_new_string(veer_proto_name(vi->key.proto)));
	json_object_object_add(o, "mode", json_object_new_string(veer_mode_name(vi->vip.mode)));
	json_object_object_add(o, "id", json_object_new_int(vi->vip.id));
	json_object_object_add(o, "ring_size", json_object_new_int64(vi->vip.ring_size));
	json_object_object_add(o, "affinity", json_object_new_int64(vi->vip.affinity));
	json_object_object_add(o, "backends", json_object_new_int64(vi->backends));
	return o;
}

static int cmd_vip_list(const struct cmd *c, int argc, char **argv)
{
	struct veer_vip_info *vips;
	struct veer *v;
	size_t n;
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, NULL, &rc)) != -1)
		return rc;
	if (positional(c, argc, 0, &rc))
		return rc;
	if (open_state(&v, false))
		return EXIT_FAILED;
	rc = veer_vip_list(v, &vips, &n);
	veer_close(v);
	if (rc)
		return EXIT_FAILED;
	if (json_out) {
		struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, vip_json(&vips[i]));
		free(vips);
		return print_json(a);
	}
	for (size_t i = 0; i < n; i++) {
		char buf[VEER_ADDR_STRLEN];

		printf("%-32s mode %-8s ring %-7u affinity %-5u backends %u\n",
		       veer_fmt_vip(&vips[i].key, buf, sizeof(buf)),
		       veer_mode_name(vips[i].vip.mode), vips[i].vip.ring_size,
		       vips[i].vip.affinity, vips[i].backends);
	}
	free(vips);
	return EXIT_OK;
}

/* ---- backend ---- */

static int cmd_backend_add(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {{"weight", required_argument, NULL, 'w'},
					     {"pool", required_argument, NULL, 'p'},
					     {0}};
	const char *pool = "default";
	__u32 weight = VEER_WEIGHT_DEFAULT;
	struct veer_vip_key key;
	struct veer_endpoint ep;
	struct veer *v;
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, opts, &rc)) != -1) {
		if (o == -2)
			return rc;
		if (o == 'w' && parse_weight(c, optarg, &weight, &rc))
			return rc;
		if (o == 'p') {
			pool = optarg;
			if (!*pool || strlen(pool) >= VEER_POOL_NAME_LEN)
				return usage_error(c, "invalid pool '%s' (1..%d characters)", pool,
						   VEER_POOL_NAME_LEN - 1);
		}
	}
	if (positional(c, argc, 2, &rc) || parse_vip_arg(c, argv[optind], &key, &rc) ||
	    parse_backend_arg(c, argv[optind + 1], &ep, &rc))
		return rc;
	if (ep.family != key.family)
		return usage_error(c, "backend %s and VIP %s are of different address families",
				   argv[optind + 1], argv[optind]);
	if (open_state(&v, true))
		return EXIT_FAILED;
	rc = veer_backend_add(v, &key, &ep, weight, pool);
	veer_close(v);
	return exit_code(rc);
}

static int cmd_backend_set(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {{"weight", required_argument, NULL, 'w'}, {0}};
	struct veer_vip_key key;
	struct veer_endpoint ep;
	bool have_weight = false;
	struct veer *v;
	__u32 weight = 0;
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, opts, &rc)) != -1) {
		if (o == -2)
			return rc;
		if (parse_weight(c, optarg, &weight, &rc))
			return rc;
		have_weight = true;
	}
	if (positional(c, argc, 2, &rc) || parse_vip_arg(c, argv[optind], &key, &rc) ||
	    parse_backend_arg(c, argv[optind + 1], &ep, &rc))
		return rc;
	if (!have_weight)
		return usage_error(c, "nothing to set: give --weight");
	if (open_state(&v, true))
		return EXIT_FAILED;
	rc = veer_backend_set_weight(v, &key, &ep, weight);
	veer_close(v);
	return exit_code(rc);
}

static int cmd_backend_del(const struct cmd *c, int argc, char **argv)
{
	struct veer_vip_key key;
	struct veer_endpoint ep;
	struct veer *v;
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, NULL, &rc)) != -1)
		return rc;
	if (positional(c, argc, 2, &rc) || parse_vip_arg(c, argv[optind], &key, &rc) ||
	    parse_backend_arg(c, argv[optind + 1], &ep, &rc))
		return rc;
	if (open_state(&v, true))
		return EXIT_FAILED;
	rc = veer_backend_del(v, &key, &ep);
	veer_close(v);
	return exit_code(rc);
}

static struct json_object *counters_json(struct json_object *o, const struct veer_counters *s)
{
	json_object_object_add(o, "packets", json_object_new_uint64(s->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(s->bytes));
	json_object_object_add(o, "new_flows", json_object_new_uint64(s->new_flows));
	json_object_object_add(o, "reply_packets", json_object_new_uint64(s->reply_packets));
	json_object_object_add(o, "reply_bytes", json_object_new_uint64(s->reply_bytes));
	return o;
}

static struct json_object *backend_json(struct veer *v, const struct veer_backend_info *bi)
{
	struct json_object *o = json_object_new_object();
	char buf[VEER_ADDR_STRLEN];
	struct veer_counters s = {};

	json_object_object_add(
		o, "backend",
		json_object_new_string(veer_fmt_endpoint(&bi->be.addr, bi->be.port, bi->be.family,
							 buf, sizeof(buf))));
	json_object_object_add(o, "address",
			       json_object_new_string(veer_fmt_addr(&bi->be.addr, bi->be.family,
								    buf, sizeof(buf))));
	json_object_object_add(o, "port", json_object_new_int(ntohs(bi->be.port)));
	json_object_object_add(o, "weight", json_object_new_int64(bi->be.weight));
	json_object_object_add(o, "pool", json_object_new_string(bi->be.pool));
	json_object_object_add(o, "id", json_object_new_int64(bi->id));
	veer_backend_counters(v, bi->id, &s);
	return counters_json(o, &s);
}

static int cmd_backend_list(const struct cmd *c, int argc, char **argv)
{
	struct json_object *a;
	struct veer_backend_info *bes;
	struct veer_vip_key key;
	struct veer *v;
	char name[VEER_ADDR_STRLEN];
	size_t n;
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, NULL, &rc)) != -1)
		return rc;
	if (positional(c, argc, 1, &rc) || parse_vip_arg(c, argv[optind], &key, &rc))
		return rc;
	if (open_state(&v, false))
		return EXIT_FAILED;
	if (veer_backend_list(v, &key, &bes, &n)) {
		pr_warn("cannot list backends of %s: no such VIP\n",
			veer_fmt_vip(&key, name, sizeof(name)));
		veer_close(v);
		return EXIT_FAILED;
	}
	a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, backend_json(v, &bes[i]));
	free(bes);
	veer_close(v);
	if (json_out)
		return print_json(a);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *b = json_object_array_get_idx(a, i);

		printf("%-44s weight %-5s pool %-10s packets %s\n",
		       json_object_get_string(json_object_object_get(b, "backend")),
		       json_object_get_string(json_object_object_get(b, "weight")),
		       json_object_get_string(json_object_object_get(b, "pool")),
		       json_object_get_string(json_object_object_get(b, "packets")));
	}
	json_object_put(a);
	return EXIT_OK;
}

/* ---- stats, flows ---- */

static int cmd_stats(const struct cmd *c, int argc, char **argv)
{
	struct json_object *root, *vips_j, *reasons_j;
	__u64 reasons[VEER_REASON_MAX];
	struct veer_vip_info *vips;
	struct veer *v;
	size_t n;
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, NULL, &rc)) != -1)
		return rc;
	if (positional(c, argc, 0, &rc))
		return rc;
	if (open_state(&v, false))
		return EXIT_FAILED;
	if (veer_vip_list(v, &vips, &n) || veer_reason_counters(v, reasons)) {
		veer_close(v);
		return EXIT_FAILED;
	}
	root = json_object_new_object();
	vips_j = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct json_object *vj = vip_json(&vips[i]), *bj = json_object_new_array();
		struct veer_backend_info *bes;
		struct veer_counters s = {};
		size_t nb;

		veer_vip_counters(v, vips[i].vip.id, &s);
		counters_json(vj, &s);
		if (!veer_backend_list(v, &vips[i].key, &bes, &nb)) {
			for (size_t b = 0; b < nb; b++)
				json_object_array_add(bj, backend_json(v, &bes[b]));
			free(bes);
		}
		json_object_object_add(vj, "backend_stats", bj);
		json_object_array_add(vips_j, vj);
	}
	reasons_j = json_object_new_object();
	for (int r = 1; r < VEER_REASON_MAX; r++)
		json_object_object_add(reasons_j, veer_reason_names[r],
				       json_object_new_uint64(reasons[r]));
	json_object_object_add(root, "vips", vips_j);
	json_object_object_add(root, "reasons", reasons_j);
	free(vips);
	veer_close(v);
	if (json_out)
		return print_json(root);
	for (size_t i = 0; i < json_object_array_length(vips_j); i++) {
		struct json_object *vj = json_object_array_get_idx(vips_j, i), *bj;

		printf("%s  packets %s bytes %s new_flows %s replies %s\n", jstr(vj, "vip"),
		       jstr(vj, "packets"), jstr(vj, "bytes"), jstr(vj, "new_flows"),
		       jstr(vj, "reply_packets"));
		bj = json_object_object_get(vj, "backend_stats");
		for (size_t b = 0; b < json_object_array_length(bj); b++) {
			struct json_object *be = json_object_array_get_idx(bj, b);

			printf("  %-40s weight %-5s packets %s bytes %s new_flows %s replies %s\n",
			       jstr(be, "backend"), jstr(be, "weight"), jstr(be, "packets"),
			       jstr(be, "bytes"), jstr(be, "new_flows"), jstr(be, "reply_packets"));
		}
	}
	printf("dropped:");
	for (int r = 1; r < VEER_PASS_NOT_IP; r++)
		printf(" %s %llu", veer_reason_names[r], (unsigned long long)reasons[r]);
	printf("\npassed:");
	for (int r = VEER_PASS_NOT_IP; r < VEER_REASON_MAX; r++)
		printf(" %s %llu", veer_reason_names[r], (unsigned long long)reasons[r]);
	printf("\n");
	json_object_put(root);
	return EXIT_OK;
}

struct flows_ctx {
	struct json_object *a;
	__u64 now;
};

static int flow_row(const struct veer_flow_key *k, const struct veer_flow *f, void *arg)
{
	struct flows_ctx *fc = arg;
	struct json_object *o = json_object_new_object();
	char src[VEER_ADDR_STRLEN], dst[VEER_ADDR_STRLEN], to[VEER_ADDR_STRLEN];
	bool reply = f->dir == VEER_FLOW_REPLY;

	veer_fmt_endpoint(&k->saddr, k->sport, k->family, src, sizeof(src));
	veer_fmt_endpoint(&k->daddr, k->dport, k->family, dst, sizeof(dst));
	veer_fmt_endpoint(&f->addr, f->port, k->family, to, sizeof(to));
	json_object_object_add(o, "protocol", json_object_new_string(veer_proto_name(k->proto)));
	json_object_object_add(o, "direction", json_object_new_string(reply ? "reply" : "forward"));
	json_object_object_add(o, "source", json_object_new_string(src));
	json_object_object_add(o, "destination", json_object_new_string(dst));
	json_object_object_add(o, reply ? "new_source" : "new_destination",
			       json_object_new_string(to));
	json_object_object_add(o, "backend_id", json_object_new_int64(f->backend_id));
	json_object_object_add(o, "ifindex", json_object_new_int64(f->ifindex));
	json_object_object_add(
		o, "idle_ms",
		f->last_seen ? json_object_new_uint64((fc->now - f->last_seen) / 1000000) : NULL);
	json_object_array_add(fc->a, o);
	return 0;
}

static int cmd_flows(const struct cmd *c, int argc, char **argv)
{
	struct flows_ctx fc;
	struct timespec ts;
	struct veer *v;
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, NULL, &rc)) != -1)
		return rc;
	if (positional(c, argc, 0, &rc))
		return rc;
	if (open_state(&v, false))
		return EXIT_FAILED;
	/* The data plane stamps flows with bpf_ktime_get_coarse_ns(). */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	fc.now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	fc.a = json_object_new_array();
	rc = veer_flow_foreach(v, flow_row, &fc);
	veer_close(v);
	if (json_out)
		return print_json(fc.a);
	for (size_t i = 0; i < json_object_array_length(fc.a); i++) {
		struct json_object *f = json_object_array_get_idx(fc.a, i);
		bool reply = !strcmp(jstr(f, "direction"), "reply");

		printf("%s %-7s %s -> %s %s %s idle %sms\n", jstr(f, "protocol"),
		       jstr(f, "direction"), jstr(f, "source"), jstr(f, "destination"),
		       reply ? "as from" : "to", jstr(f, reply ? "new_source" : "new_destination"),
		       json_object_object_get(f, "idle_ms") ? jstr(f, "idle_ms") : "-");
	}
	json_object_put(fc.a);
	return exit_code(rc);
}

/* ---- tables and dispatch ---- */

static int cmd_help(const struct cmd *c, int argc, char **argv);
static int dispatch(const struct cmd *table, const char *prefix, int argc, char **argv);

static const struct cmd vip_cmds[] = {
	{.name = "add",
	 .fn = cmd_vip_add,
	 .args = "ADDR:PORT/PROTO [--mode nat|dsr-ipip|dsr-l2] [--affinity SECONDS] "
		 "[--ring-size PRIME]",
	 .help = "create a VIP (default mode nat, ring size 65537)"},
	{.name = "del",
	 .fn = cmd_vip_del,
	 .args = "ADDR:PORT/PROTO",
	 .help = "delete a VIP, its backends and its flows"},
	{.name = "list", .fn = cmd_vip_list, .args = "", .help = "list VIPs"},
	{},
};

static const struct cmd backend_cmds[] = {
	{.name = "add",
	 .fn = cmd_backend_add,
	 .args = "VIP ADDR[:PORT] [--weight N] [--pool NAME]",
	 .help = "add a backend (weight 100, port of the VIP, pool default)"},
	{.name = "set",
	 .fn = cmd_backend_set,
	 .args = "VIP ADDR[:PORT] --weight N",
	 .help = "change a backend's weight; 0 drains: no new flows, established ones stay"},
	{.name = "del",
	 .fn = cmd_backend_del,
	 .args = "VIP ADDR[:PORT]",
	 .help = "remove a backend: no new flows, established ones finish"},
	{.name = "list", .fn = cmd_backend_list, .args = "VIP", .help = "list a VIP's backends"},
	{},
};

static const struct cmd top_cmds[] = {
	{.name = "attach",
	 .fn = cmd_attach,
	 .args = "IFACE [--mode native|generic]",
	 .help = "load and attach the XDP data plane (native unless generic is asked for)"},
	{.name = "detach",
	 .fn = cmd_detach,
	 .args = "IFACE",
	 .help = "detach veer's program from IFACE"},
	{.name = "status",
	 .fn = cmd_status,
	 .args = "",
	 .help = "interfaces, programs, pinned maps, version"},
	{.name = "vip", .args = "add|del|list ...", .help = "manage VIPs", .sub = vip_cmds},
	{.name = "backend",
	 .args = "add|set|del|list ...",
	 .help = "manage backends",
	 .sub = backend_cmds},
	{.name = "stats",
	 .fn = cmd_stats,
	 .args = "",
	 .help = "packets, bytes and new flows per VIP and backend; drops by reason"},
	{.name = "flows", .fn = cmd_flows, .args = "", .help = "connection table entries"},
	{.name = "help", .fn = cmd_help, .args = "[COMMAND]", .help = "show help"},
	{},
};

static void list_commands(const struct cmd *table, const char *prefix, FILE *out)
{
	for (const struct cmd *c = table; c->name; c++)
		fprintf(out, "  veer %s%s%s%s%s\n      %s\n", prefix, *prefix ? " " : "", c->name,
			*c->args ? " " : "", c->args, c->help);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: veer [-j|--json] [-v] [-V] COMMAND ...\ncommands (any unique prefix):\n");
	list_commands(top_cmds, "", out);
}

/* Exact name, else the one command the prefix names; *matches tells unknown from ambiguous. */
static const struct cmd *lookup(const struct cmd *table, const char *name, int *matches)
{
	const struct cmd *found = NULL;

	*matches = 0;
	for (const struct cmd *c = table; c->name; c++) {
		if (!strcmp(c->name, name)) {
			*matches = 1;
			return c;
		}
		if (!strncmp(c->name, name, strlen(name))) {
			found = c;
			(*matches)++;
		}
	}
	return *matches == 1 ? found : NULL;
}

static void print_candidates(const struct cmd *table, const char *name)
{
	const char *sep = "";

	fprintf(stderr, " (");
	for (const struct cmd *c = table; c->name; c++) {
		if (!strncmp(c->name, name, strlen(name))) {
			fprintf(stderr, "%s%s", sep, c->name);
			sep = ", ";
		}
	}
	fprintf(stderr, ")");
}

static int cmd_help(const struct cmd *c, int argc, char **argv)
{
	const struct cmd *t;
	int rc;

	(void)c;
	if (argc < 2) {
		usage(stdout);
		return EXIT_OK;
	}
	t = lookup(top_cmds, argv[1], &rc);
	if (!t) {
		fprintf(stderr, "veer: unknown command '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	if (t->sub)
		list_commands(t->sub, t->name, stdout);
	else
		printf("usage: veer %s %s\n  %s\n", t->name, t->args, t->help);
	return EXIT_OK;
}

static int dispatch(const struct cmd *table, const char *prefix, int argc, char **argv)
{
	static char path[64];
	const struct cmd *c;
	int rc = 0;

	if (argc < 1) {
		fprintf(stderr, "veer: %s needs a subcommand\n", prefix);
		list_commands(table, prefix, stderr);
		return EXIT_USAGE;
	}
	c = lookup(table, argv[0], &rc);
	if (!c) {
		fprintf(stderr, "veer: %s command '%s'%s%s", rc ? "ambiguous" : "unknown", argv[0],
			*prefix ? " for " : "", prefix);
		if (rc)
			print_candidates(table, argv[0]);
		fputc('\n', stderr);
		if (*prefix)
			list_commands(table, prefix, stderr);
		else
			usage(stderr);
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? " " : "", c->name);
	cmd_path = path;
	if (c->sub) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			list_commands(c->sub, path, stdout);
			return EXIT_OK;
		}
		return dispatch(c->sub, strdup(path), argc - 1, argv + 1);
	}
	optind = 0; /* reinitialise getopt for the subcommand's own argv */
	return c->fn(c, argc, argv);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"verbose", no_argument, NULL, 'v'},
					     {"version", no_argument, NULL, 'V'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	int o, verbose = 0;

	opterr = 0; /* veer reports bad options itself, in one line */
	while ((o = getopt_long(argc, argv, "+jvVh", opts, NULL)) != -1) {
		switch (o) {
		case 'j':
			json_out = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("veer %s\n", VEER_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "veer: unknown option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	veer_log_init(verbose);
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return dispatch(top_cmds, "", argc - optind, argv + optind);
}
