// SPDX-License-Identifier: GPL-2.0
/* veer vip and veer backend: add, change, delete and list VIPs and their backends. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int cmd_vip_add(const struct cmd *c, int argc, char **argv)
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
		if (o == 'a' && (veer_parse_u32(optarg, 0, UINT32_MAX, &vo.affinity) ||
				 veer_affinity_check(vo.affinity)))
			return usage_error(c, "invalid affinity '%s' (want %s)", optarg,
					   veer_affinity_want);
		if (o == 'r' && (veer_parse_u32(optarg, 0, UINT32_MAX, &vo.ring_size) ||
				 veer_ring_size_check(vo.ring_size)))
			return usage_error(c, "invalid ring size '%s' (want %s)", optarg,
					   veer_ring_size_want);
	}
	if (positional(c, argc, 1, &rc) || parse_vip_arg(c, argv[optind], &key, &rc) ||
	    check_addr_arg(c, "VIP", argv[optind], &key.addr, key.family, &rc))
		return rc;
	if (veer_vip_check(&key, &vo) || open_state(&v, OPEN_CREATE))
		return EXIT_FAILED;
	rc = veer_vip_add(v, &key, &vo);
	veer_close(v);
	return exit_code(rc);
}

int cmd_vip_del(const struct cmd *c, int argc, char **argv)
{
	struct veer_vip_key key;
	struct veer *v;
	int rc = 0;

	if (no_options(c, argc, argv, 1, &rc) || parse_vip_arg(c, argv[optind], &key, &rc))
		return rc;
	if (open_state(&v, OPEN_CHANGE))
		return EXIT_FAILED;
	warn_if_declared(v, &key);
	rc = veer_vip_del(v, &key);
	veer_close(v);
	return exit_code(rc);
}

/* The text form of a VIP's table digest: 16 hex digits, "-" when it has no table. */
static void digest_text(struct veer *v, const struct veer_vip *vip, char *buf, size_t len)
{
	__u64 d;

	if (veer_ring_digest(v, vip, &d))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%016llx", (unsigned long long)d);
}

int cmd_vip_list(const struct cmd *c, int argc, char **argv)
{
	struct json_object *a;
	struct veer_vip_info *vips;
	struct veer *v;
	size_t n;
	int rc = 0;

	if (no_options(c, argc, argv, 0, &rc))
		return rc;
	if (open_state(&v, OPEN_READ))
		return EXIT_FAILED;
	rc = veer_vip_list(v, &vips, &n);
	if (rc) {
		veer_close(v);
		return EXIT_FAILED;
	}
	a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = vip_json(&vips[i]);
		char digest[20];

		digest_text(v, &vips[i].vip, digest, sizeof(digest));
		json_object_object_add(o, "ring_digest", json_object_new_string(digest));
		json_object_array_add(a, o);
	}
	veer_close(v);
	free(vips);
	if (json_out)
		return print_json(a);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *o = json_object_array_get_idx(a, i);

		printf("%-32s mode %-8s ring %-7s affinity %-5s backends %-4s owner %-10s digest "
		       "%s\n",
		       jstr(o, "vip"), jstr(o, "mode"), jstr(o, "ring_size"), jstr(o, "affinity"),
		       jstr(o, "backends"), jstr(o, "owner"), jstr(o, "ring_digest"));
	}
	json_object_put(a);
	return EXIT_OK;
}

/* ---- backend ---- */

int cmd_backend_add(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {{"weight", required_argument, NULL, 'w'},
					     {"pool", required_argument, NULL, 'p'},
					     {0}};
	__u32 weight = VEER_WEIGHT_DEFAULT;
	struct veer_vip_key key;
	struct veer_endpoint ep;
	struct veer_vip vip;
	struct veer *v;
	char why[160];
	int o, rc = 0;

	while ((o = next_opt(c, argc, argv, opts, &rc)) != -1) {
		if (o == -2)
			return rc;
		if (o == 'w' && parse_weight(c, optarg, &weight, &rc))
			return rc;
		/*
		 * A backend outside the default pool would take traffic only through client-prefix
		 * steering, which veer does not have yet: it would be added and never used.
		 */
		if (o == 'p')
			return usage_error(c, "pools are not supported yet: every backend is in "
					      "the pool 'default'");
	}
	if (positional(c, argc, 2, &rc) || parse_vip_arg(c, argv[optind], &key, &rc) ||
	    parse_backend_arg(c, argv[optind + 1], &ep, &rc) ||
	    check_addr_arg(c, "backend address", argv[optind + 1], &ep.addr, ep.family, &rc))
		return rc;
	/* Families that no mode of the VIP could take (the most lenient is dsr-ipip's)... */
	if (veer_backend_family_fits(&key, VEER_MODE_DSR_IPIP, ep.family, why, sizeof(why)))
		return usage_error(c, "backend %s and VIP %s are of different address families",
				   argv[optind + 1], argv[optind]);
	if (open_state(&v, OPEN_CHANGE))
		return EXIT_FAILED;
	/* ...and those its own mode does not take. */
	if (!veer_vip_get(v, &key, &vip) &&
	    veer_backend_family_fits(&key, vip.mode, ep.family, why, sizeof(why))) {
		veer_close(v);
		return usage_error(c, "backend %s and VIP %s are of different address families",
				   argv[optind + 1], argv[optind]);
	}
	warn_if_declared(v, &key);
	rc = veer_backend_add(v, &key, &ep, weight, "default");
	veer_close(v);
	return exit_code(rc);
}

int cmd_backend_set(const struct cmd *c, int argc, char **argv)
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
	if (open_state(&v, OPEN_CHANGE))
		return EXIT_FAILED;
	warn_if_declared(v, &key);
	rc = veer_backend_set_weight(v, &key, &ep, weight);
	veer_close(v);
	return exit_code(rc);
}

int cmd_backend_del(const struct cmd *c, int argc, char **argv)
{
	struct veer_vip_key key;
	struct veer_endpoint ep;
	struct veer *v;
	int rc = 0;

	if (no_options(c, argc, argv, 2, &rc) || parse_vip_arg(c, argv[optind], &key, &rc) ||
	    parse_backend_arg(c, argv[optind + 1], &ep, &rc))
		return rc;
	if (open_state(&v, OPEN_CHANGE))
		return EXIT_FAILED;
	warn_if_declared(v, &key);
	rc = veer_backend_del(v, &key, &ep);
	veer_close(v);
	return exit_code(rc);
}

int cmd_backend_list(const struct cmd *c, int argc, char **argv)
{
	struct json_object *a;
	struct veer_backend_info *bes;
	struct veer_vip_key key;
	struct veer *v;
	char name[VEER_ADDR_STRLEN];
	size_t n;
	int rc = 0;

	if (no_options(c, argc, argv, 1, &rc) || parse_vip_arg(c, argv[optind], &key, &rc))
		return rc;
	if (open_state(&v, OPEN_READ))
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

		printf("%-44s weight %-5s pool %-10s health %-4s packets %s\n", jstr(b, "backend"),
		       jstr(b, "weight"), jstr(b, "pool"), jstr(b, "health"), jstr(b, "packets"));
	}
	json_object_put(a);
	return EXIT_OK;
}
