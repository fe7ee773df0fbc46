// SPDX-License-Identifier: GPL-2.0
/*
 * veer decap: the backend half of direct server return. Attach the decap program, keep its
 * VIPs, read its counters, and check the host settings DSR needs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int cmd_decap_attach(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {HOOK_OPTIONS, {0}};
	struct hook_opts h = HOOK_OPTS_INIT;
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, opts, &rc)) != -1) {
		if (o == -2)
			return rc;
		if (hook_opt(c, o, optarg, &h, &rc))
			return rc;
	}
	if (hook_opts_done(c, &h, &rc) || positional(c, argc, 1, &rc))
		return rc;
	rc = veer_decap_attach(argv[optind], h.hook, h.mode);
	return rc == -ENODEV ? EXIT_USAGE : exit_code(rc);
}

int cmd_decap_detach(const struct cmd *c, int argc, char **argv)
{
	int rc = 0;

	if (no_options(c, argc, argv, 1, &rc))
		return rc;
	rc = veer_decap_detach(argv[optind]);
	return rc == -ENODEV ? EXIT_USAGE : exit_code(rc);
}

static int parse_decap_vip(const struct cmd *c, const char *s, union veer_addr *addr, __u8 *family,
			   int *rc)
{
	if (veer_decap_parse_vip(s, addr, family)) {
		*rc = usage_error(c,
				  "invalid address '%s' (want a unicast IPv4 or IPv6 address, "
				  "no port)",
				  s);
		return -1;
	}
	return 0;
}

/* An add creates decap's maps if needed; a delete creates nothing (nothing to delete). */
static int decap_vip_change(const struct cmd *c, int argc, char **argv, bool add)
{
	struct veer_decap *d;
	union veer_addr addr;
	__u8 family;
	int rc = 0;

	if (no_options(c, argc, argv, 1, &rc) ||
	    parse_decap_vip(c, argv[optind], &addr, &family, &rc))
		return rc;
	if (add ? veer_decap_open(&d, true) : veer_decap_open_existing(&d))
		return EXIT_FAILED;
	rc = add ? veer_decap_vip_add(d, &addr, family) : veer_decap_vip_del(d, &addr, family);
	veer_decap_close(d);
	return exit_code(rc);
}

int cmd_decap_vip_add(const struct cmd *c, int argc, char **argv)
{
	return decap_vip_change(c, argc, argv, true);
}

int cmd_decap_vip_del(const struct cmd *c, int argc, char **argv)
{
	return decap_vip_change(c, argc, argv, false);
}

int cmd_decap_vip_list(const struct cmd *c, int argc, char **argv)
{
	struct veer_decap_vip_info *vips;
	struct json_object *a;
	struct veer_decap *d;
	size_t n;
	int rc = 0;

	if (no_options(c, argc, argv, 0, &rc))
		return rc;
	if (veer_decap_open(&d, false))
		return EXIT_FAILED;
	rc = veer_decap_vip_list(d, &vips, &n);
	veer_decap_close(d);
	if (rc)
		return EXIT_FAILED;
	a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		char buf[VEER_ADDR_STRLEN];

		veer_fmt_addr(&vips[i].addr, vips[i].family, buf, sizeof(buf));
		json_object_object_add(o, "address", json_object_new_string(buf));
		json_object_object_add(
			o, "family",
			json_object_new_string(vips[i].family == VEER_AF_INET6 ? "ipv6" : "ipv4"));
		json_object_array_add(a, o);
	}
	free(vips);
	if (json_out)
		return print_json(a);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", jstr(json_object_array_get_idx(a, i), "address"));
	json_object_put(a);
	return EXIT_OK;
}

int cmd_decap_stats(const struct cmd *c, int argc, char **argv)
{
	__u64 sum[VEER_DECAP_REASON_SLOTS];
	struct json_object *root, *reasons;
	struct veer_decap *d;
	int rc = 0;

	if (no_options(c, argc, argv, 0, &rc))
		return rc;
	if (veer_decap_open(&d, false))
		return EXIT_FAILED;
	rc = veer_decap_counters(d, sum);
	veer_decap_close(d);
	if (rc)
		return EXIT_FAILED;
	root = json_object_new_object();
	reasons = json_object_new_object();
	for (int r = 1; r < VEER_DECAP_REASON_SLOTS; r++)
		if (veer_decap_reason_names[r])
			json_object_object_add(reasons, veer_decap_reason_names[r],
					       json_object_new_uint64(sum[r]));
	json_object_object_add(root, "reasons", reasons);
	if (json_out)
		return print_json(root);
	for (int r = 1; r < VEER_DECAP_REASON_SLOTS; r++)
		if (veer_decap_reason_names[r])
			printf("%-14s %llu\n", veer_decap_reason_names[r],
			       (unsigned long long)sum[r]);
	json_object_put(root);
	return EXIT_OK;
}

static struct json_object *setting_json(int v)
{
	return v < 0 ? NULL : json_object_new_int(v);
}

int cmd_decap_check(const struct cmd *c, int argc, char **argv)
{
	struct json_object *root, *ifaces, *problems;
	struct veer_decap_check r;
	int rc = 0;

	if (no_options(c, argc, argv, 0, &rc))
		return rc;
	if (veer_decap_check(&r))
		return EXIT_FAILED;
	rc = r.nproblems ? EXIT_FAILED : EXIT_OK;
	if (!json_out) {
		for (size_t i = 0; i < r.nproblems; i++)
			printf("%s\n", r.problems[i]);
		if (!r.nproblems) {
			printf("ok: %zu VIP%s on lo; decap attached to", r.nvips,
			       r.nvips == 1 ? "" : "s");
			for (size_t i = 0; i < r.nifaces; i++) {
				const struct veer_decap_iface *f = &r.ifaces[i];

				printf("%s %s", i ? ";" : "", f->name);
				if (f->arp_ignore >= 0)
					printf(" (arp_ignore %d, arp_announce %d, rp_filter %d)",
					       f->arp_ignore, f->arp_announce, f->rp_filter);
			}
			putchar('\n');
		}
		veer_decap_check_free(&r);
		return rc;
	}
	root = json_object_new_object();
	ifaces = json_object_new_array();
	for (size_t i = 0; i < r.nifaces; i++) {
		const struct veer_decap_iface *f = &r.ifaces[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "interface", json_object_new_string(f->name));
		json_object_object_add(o, "decap_attached", json_object_new_boolean(f->attached));
		json_object_object_add(o, "arp_ignore", setting_json(f->arp_ignore));
		json_object_object_add(o, "arp_announce", setting_json(f->arp_announce));
		json_object_object_add(o, "rp_filter", setting_json(f->rp_filter));
		json_object_array_add(ifaces, o);
	}
	problems = json_object_new_array();
	for (size_t i = 0; i < r.nproblems; i++)
		json_object_array_add(problems, json_object_new_string(r.problems[i]));
	json_object_object_add(root, "ok", json_object_new_boolean(!r.nproblems));
	json_object_object_add(root, "vips", json_object_new_int64(r.nvips));
	json_object_object_add(root, "attached", json_object_new_boolean(r.attached));
	json_object_object_add(root, "interfaces", ifaces);
	json_object_object_add(root, "problems", problems);
	veer_decap_check_free(&r);
	print_json(root);
	return rc;
}

struct json_object *decap_status_json(void)
{
	struct json_object *o, *links_j;
	struct veer_decap_vip_info *vips = NULL;
	struct veer_link *links = NULL;
	struct veer_decap *d;
	size_t nvips = 0, nlinks = 0;

	/* Opening creates nothing, but a reader of nothing warns: look first. */
	if (!veer_pinned("veer_decap_vips") || veer_decap_open(&d, false))
		return NULL;
	veer_decap_vip_list(d, &vips, &nvips);
	veer_decap_close(d);
	free(vips);
	o = json_object_new_object();
	links_j = json_object_new_array();
	if (!veer_decap_links(&links, &nlinks)) {
		for (size_t i = 0; i < nlinks; i++) {
			struct json_object *l = json_object_new_object();

			json_object_object_add(l, "interface",
					       json_object_new_string(links[i].ifname));
			json_object_object_add(l, "ifindex", json_object_new_int(links[i].ifindex));
			json_object_object_add(l, "hook", json_object_new_string(links[i].hook));
			json_object_object_add(l, "mode", json_object_new_string(links[i].mode));
			json_object_object_add(l, "prog_id",
					       json_object_new_int64(links[i].prog_id));
			json_object_array_add(links_j, l);
		}
		free(links);
	}
	json_object_object_add(o, "interfaces", links_j);
	json_object_object_add(o, "vips", json_object_new_int64(nvips));
	return o;
}

void decap_status_print(struct json_object *decap)
{
	struct json_object *links = json_object_object_get(decap, "interfaces");

	printf("decap interfaces:%s\n", json_object_array_length(links) ? "" : " none");
	for (size_t i = 0; i < json_object_array_length(links); i++) {
		struct json_object *l = json_object_array_get_idx(links, i);

		printf("  %-16s %-3s %-8s prog id %s\n", jstr(l, "interface"), jstr(l, "hook"),
		       jstr(l, "mode"), jstr(l, "prog_id"));
	}
	printf("decap vips: %s\n", jstr(decap, "vips"));
}
