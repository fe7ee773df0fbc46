// SPDX-License-Identifier: GPL-2.0
/* veer attach, detach, status: the data plane on interfaces and its pinned state. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

int cmd_attach(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {
		HOOK_OPTIONS, {"flows", required_argument, NULL, 'f'}, {0}};
	struct hook_opts h = HOOK_OPTS_INIT;
	__u32 flows = 0;
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, opts, &rc)) != -1) {
		if (o == -2)
			return rc;
		if (o == 'f') {
			if (veer_parse_u32(optarg, VEER_FLOWS_MIN, VEER_FLOWS_LIMIT, &flows))
				return usage_error(c,
						   "invalid connection table size '%s' (want "
						   "%u..%u connections)",
						   optarg, VEER_FLOWS_MIN, VEER_FLOWS_LIMIT);
			continue;
		}
		if (hook_opt(c, o, optarg, &h, &rc))
			return rc;
	}
	if (hook_opts_done(c, &h, &rc) || positional(c, argc, 1, &rc))
		return rc;
	if (veer_set_flows(flows))
		return EXIT_USAGE;
	rc = veer_attach(argv[optind], h.hook, h.mode);
	return rc == -ENODEV ? EXIT_USAGE : exit_code(rc);
}

int cmd_detach(const struct cmd *c, int argc, char **argv)
{
	int rc = 0;

	if (no_options(c, argc, argv, 1, &rc))
		return rc;
	rc = veer_detach(argv[optind]);
	return rc == -ENODEV ? EXIT_USAGE : exit_code(rc);
}

static int json_strcmp(const void *a, const void *b)
{
	return strcmp(json_object_get_string(*(struct json_object *const *)a),
		      json_object_get_string(*(struct json_object *const *)b));
}

/* What status shows of the cache: its ports, if the cache's maps are pinned at all. */
static struct json_object *cache_ports_json(void)
{
	struct json_object *ports_j = json_object_new_array();
	struct veer_cache_port_info ports[VEER_CACHE_PORTS];
	struct veer_cache *cache;
	char path[PATH_MAX];
	size_t nports = 0;

	/* Opening the cache creates its maps: look first, so that status creates nothing. */
	snprintf(path, sizeof(path), "%s/veer_cache_ports", veer_pin_dir());
	if (access(path, F_OK) || veer_cache_open(&cache, false))
		return ports_j;
	veer_cache_ports(cache, ports, &nports);
	for (size_t i = 0; i < nports; i++) {
		struct json_object *p = json_object_new_object();

		json_object_object_add(p, "port", json_object_new_int(ports[i].port));
		json_object_object_add(
			p, "proto", json_object_new_string(veer_cache_proto_name(ports[i].proto)));
		json_object_array_add(ports_j, p);
	}
	veer_cache_close(cache);
	return ports_j;
}

static struct json_object *tables_json(struct veer *v,
				       int (*get)(struct veer *, struct veer_table_info[2]))
{
	struct json_object *a = json_object_new_array();
	struct veer_table_info t[2];

	if (get(v, t))
		return a;
	for (int i = 0; i < 2; i++) {
		struct json_object *o = json_object_new_object();

		if (!t[i].pinned)
			continue;
		json_object_object_add(o, "map", json_object_new_string(t[i].name));
		json_object_object_add(
			o, "family",
			json_object_new_string(t[i].family == VEER_AF_INET6 ? "ipv6" : "ipv4"));
		json_object_object_add(o, "capacity", json_object_new_int64(t[i].capacity));
		json_object_object_add(o, "memory_bytes", json_object_new_uint64(t[i].memory));
		json_object_array_add(a, o);
	}
	return a;
}

static void tables_print(const char *title, const char *unit, struct json_object *tables)
{
	printf("%s:%s\n", title, json_object_array_length(tables) ? "" : " none");
	for (size_t i = 0; i < json_object_array_length(tables); i++) {
		struct json_object *t = json_object_array_get_idx(tables, i);

		printf("  %-12s %s: %s %s, %.1f MiB\n", jstr(t, "map"), jstr(t, "family"),
		       jstr(t, "capacity"), unit,
		       json_object_get_uint64(json_object_object_get(t, "memory_bytes")) /
			       1048576.0);
	}
}

int cmd_status(const struct cmd *c, int argc, char **argv)
{
	struct json_object *o = NULL, *links_j, *maps_j, *ports_j, *tables_j, *syns_j, *decap_j;
	struct json_object *vip_modes_j;
	struct veer_vip_info *vips = NULL;
	struct veer_link *links = NULL;
	size_t nlinks = 0, nvips = 0;
	struct veer *v = NULL;
	struct dirent *de;
	bool lb;
	DIR *dir;
	int rc = 0;

	if (no_options(c, argc, argv, 0, &rc))
		return rc;
	/* A backend's directory holds decap's maps only: nothing of the load balancer to show. */
	lb = veer_pinned("veer_vips") || !veer_pinned("veer_decap_vips");
	if (veer_links(&links, &nlinks))
		return EXIT_FAILED;
	if (lb && open_state(&v, OPEN_READ)) {
		free(links);
		return EXIT_FAILED;
	}
	if (v)
		veer_vip_list(v, &vips, &nvips);
	o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_string(VEER_VERSION));
	links_j = json_object_new_array();
	for (size_t i = 0; i < nlinks; i++) {
		struct json_object *l = json_object_new_object();

		json_object_object_add(l, "interface", json_object_new_string(links[i].ifname));
		json_object_object_add(l, "ifindex", json_object_new_int(links[i].ifindex));
		json_object_object_add(l, "hook", json_object_new_string(links[i].hook));
		json_object_object_add(l, "mode", json_object_new_string(links[i].mode));
		json_object_object_add(l, "prog_id", json_object_new_int64(links[i].prog_id));
		json_object_object_add(l, "egress_prog_id",
				       json_object_new_int64(links[i].egress_prog_id));
		json_object_array_add(links_j, l);
	}
	json_object_object_add(o, "interfaces", links_j);
	maps_j = json_object_new_array();
	dir = opendir(veer_pin_dir());
	while (dir && (de = readdir(dir)))
		if (de->d_name[0] != '.')
			json_object_array_add(maps_j, json_object_new_string(de->d_name));
	if (dir)
		closedir(dir);
	json_object_array_sort(maps_j, json_strcmp);
	json_object_object_add(o, "pin_dir", json_object_new_string(veer_pin_dir()));
	json_object_object_add(o, "maps", maps_j);
	tables_j = v ? tables_json(v, veer_flow_tables) : json_object_new_array();
	json_object_object_add(o, "connection_tables", tables_j);
	syns_j = v ? tables_json(v, veer_syn_tables) : json_object_new_array();
	json_object_object_add(o, "handshake_tables", syns_j);
	json_object_object_add(o, "vips", json_object_new_int(nvips));
	/* Each VIP with its mode: how its packets reach the backends. */
	vip_modes_j = json_object_new_array();
	for (size_t i = 0; i < nvips; i++) {
		struct json_object *m = json_object_new_object();
		char buf[VEER_ADDR_STRLEN];

		json_object_object_add(
			m, "vip",
			json_object_new_string(veer_fmt_vip(&vips[i].key, buf, sizeof(buf))));
		json_object_object_add(m, "mode",
				       json_object_new_string(veer_mode_name(vips[i].vip.mode)));
		json_object_array_add(vip_modes_j, m);
	}
	json_object_object_add(o, "vip_modes", vip_modes_j);
	ports_j = cache_ports_json();
	json_object_object_add(o, "cache_ports", ports_j);
	decap_j = decap_status_json();
	if (decap_j)
		json_object_object_add(o, "decap", decap_j);
	free(vips);
	free(links);
	veer_close(v);
	if (json_out)
		return print_json(o);
	printf("veer %s\n", VEER_VERSION);
	printf("interfaces:%s\n", nlinks ? "" : " none");
	for (size_t i = 0; i < json_object_array_length(links_j); i++) {
		struct json_object *l = json_object_array_get_idx(links_j, i);

		printf("  %-16s %-3s %-8s prog id %s, egress prog id %s\n", jstr(l, "interface"),
		       jstr(l, "hook"), jstr(l, "mode"), jstr(l, "prog_id"),
		       jstr(l, "egress_prog_id"));
	}
	printf("maps in %s:", veer_pin_dir());
	for (size_t i = 0; i < json_object_array_length(maps_j); i++)
		printf(" %s", json_object_get_string(json_object_array_get_idx(maps_j, i)));
	putchar('\n');
	tables_print("connection tables", "connections", tables_j);
	tables_print("handshake tables", "handshakes", syns_j);
	printf("vips: %zu\n", nvips);
	for (size_t i = 0; i < json_object_array_length(vip_modes_j); i++) {
		struct json_object *m = json_object_array_get_idx(vip_modes_j, i);

		printf("  %-44s %s\n", jstr(m, "vip"), jstr(m, "mode"));
	}
	printf("cache ports:%s", json_object_array_length(ports_j) ? "" : " none");
	for (size_t i = 0; i < json_object_array_length(ports_j); i++) {
		struct json_object *p = json_object_array_get_idx(ports_j, i);

		printf(" %s/%s", jstr(p, "port"), jstr(p, "proto"));
	}
	putchar('\n');
	if (decap_j)
		decap_status_print(decap_j);
	json_object_put(o);
	return EXIT_OK;
}
