// SPDX-License-Identifier: GPL-2.0
/* veer vip and veer backend: add, change, delete and list VIPs and their backends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "maglev.h"

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
	rc = veer_vip_del(v, &key);
	veer_close(v);
	return exit_code(rc);
}

int cmd_vip_list(const struct cmd *c, int argc, char **argv)
{
	struct veer_vip_info *vips;
	struct veer *v;
	size_t n;
	int rc = 0;

	if (no_options(c, argc, argv, 0, &rc))
		return rc;
	if (open_state(&v, OPEN_READ))
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
	    parse_backend_arg(c, argv[optind + 1], &ep, &rc))
		return rc;
	/* Only a dsr-ipip VIP of IPv4 takes a backend of the other family, IPv6. */
	if (ep.family != key.family && key.family != VEER_AF_INET)
		return usage_error(c, "backend %s and VIP %s are of different address families",
				   argv[optind + 1], argv[optind]);
	if (open_state(&v, OPEN_CHANGE))
		return EXIT_FAILED;
	if (ep.family != key.family && !veer_vip_get(v, &key, &vip) &&
	    vip.mode != VEER_MODE_DSR_IPIP) {
		veer_close(v);
		return usage_error(c, "backend %s and VIP %s are of different address families",
				   argv[optind + 1], argv[optind]);
	}
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

		printf("%-44s weight %-5s pool %-10s packets %s\n",
		       json_object_get_string(json_object_object_get(b, "backend")),
		       json_object_get_string(json_object_object_get(b, "weight")),
		       json_object_get_string(json_object_object_get(b, "pool")),
		       json_object_get_string(json_object_object_get(b, "packets")));
	}
	json_object_put(a);
	return EXIT_OK;
}
