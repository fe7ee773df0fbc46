// SPDX-License-Identifier: GPL-2.0
/*
 * veer apply: the config file veerd reads, applied once through the same library calls. The
 * file is read and checked whole before anything is opened, so a bad file changes nothing.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

/*
 * The interfaces must exist before the first one is attached: an attach that fails half-way
 * through the list would leave the host neither as it was nor as declared.
 */
static int ifaces_check(const struct veer_config *cfg)
{
	for (size_t i = 0; i < cfg->nifaces; i++) {
		const struct veer_iface_spec *s = &cfg->ifaces[i];

		if (!if_nametoindex(s->name)) {
			fprintf(stderr,
				"veer: %s:%u:%u: interfaces[%zu].name: no such interface %s\n",
				cfg->path, s->pos.line, s->pos.col, i, s->name);
			return -ENODEV;
		}
	}
	return 0;
}

static struct json_object *result_json(const struct veer_config *cfg,
				       const struct veer_apply_result *r)
{
	struct json_object *o = json_object_new_object(), *ifs = json_object_new_array();

	for (size_t i = 0; i < cfg->nifaces; i++)
		json_object_array_add(ifs, json_object_new_string(cfg->ifaces[i].name));
	json_object_object_add(o, "file", json_object_new_string(cfg->path));
	json_object_object_add(o, "interfaces", ifs);
	json_object_object_add(o, "vips", json_object_new_int64(cfg->nvips));
	if (!r)
		return o;
	json_object_object_add(o, "vips_added", json_object_new_int64(r->vips_added));
	json_object_object_add(o, "vips_changed", json_object_new_int64(r->vips_changed));
	json_object_object_add(o, "vips_removed", json_object_new_int64(r->vips_removed));
	json_object_object_add(o, "backends_added", json_object_new_int64(r->backends_added));
	json_object_object_add(o, "backends_changed", json_object_new_int64(r->backends_changed));
	json_object_object_add(o, "backends_removed", json_object_new_int64(r->backends_removed));
	json_object_object_add(o, "rings_published", json_object_new_int64(r->rings_published));
	json_object_object_add(o, "map_writes", json_object_new_uint64(r->map_writes));
	return o;
}

static void result_print(const struct veer_config *cfg, const struct veer_apply_result *r)
{
	if (!r->map_writes) {
		printf("%s: nothing to change (%zu VIPs as declared)\n", cfg->path, cfg->nvips);
		return;
	}
	printf("%s: VIPs %u added, %u changed, %u removed; backends %u added, %u changed, %u "
	       "removed; %u tables published, %llu map writes\n",
	       cfg->path, r->vips_added, r->vips_changed, r->vips_removed, r->backends_added,
	       r->backends_changed, r->backends_removed, r->rings_published,
	       (unsigned long long)r->map_writes);
}

int cmd_apply(const struct cmd *c, int argc, char **argv)
{
	/* -n as veerd -n: next_opt takes long options only, so the few letters are read here. */
	static const struct option opts[] = {{"check", no_argument, NULL, 'n'},
					     {"help", no_argument, NULL, 'h'},
					     {"json", no_argument, NULL, 'j'},
					     {0}};
	char err[VEER_CONFIG_ERR_LEN];
	struct veer_apply_result r = {};
	struct veer_config *cfg = NULL;
	struct veer *v = NULL;
	bool check = false;
	int o, rc = 0, pid;

	while ((o = getopt_long(argc, argv, ":hjn", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			check = true;
			break;
		case 'j':
			json_out = true;
			break;
		case 'h':
			printf("usage: veer %s %s\n  %s\n", cmd_path, c->args, c->help);
			return EXIT_OK;
		default: {
			const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
			char letter[3] = {'-', (char)optopt, '\0'};

			/* In a group of letters (-nx), name the letter, as next_opt does. */
			if (strncmp(arg, "--", 2) && optopt > 0 && optopt < 128)
				arg = letter;
			return usage_error(c, "%s '%s' for %s",
					   o == ':' ? "missing argument to option"
						    : "unknown option",
					   arg, cmd_path);
		}
		}
	}
	if (positional(c, argc, 1, &rc))
		return rc;

	if (veer_config_load(argv[optind], &cfg, err, sizeof(err))) {
		fprintf(stderr, "veer: %s\n", err);
		return EXIT_USAGE;
	}
	if (ifaces_check(cfg)) {
		rc = EXIT_USAGE;
		goto cleanup;
	}
	if (check) {
		if (json_out)
			print_json(result_json(cfg, NULL));
		else
			printf("%s: ok (%zu interface%s, %zu VIP%s)\n", cfg->path, cfg->nifaces,
			       cfg->nifaces == 1 ? "" : "s", cfg->nvips, cfg->nvips == 1 ? "" : "s");
		goto cleanup;
	}

	/*
	 * A veerd serving the pin directory owns its config VIPs: an apply of another file would
	 * undo its reconcile, and veerd would undo this one at its next reload.
	 */
	pid = veer_daemon_pid();
	if (pid) {
		pr_warn("cannot apply %s: veerd (pid %d) serves %s: edit its config file, which it "
			"applies as it is saved\n",
			cfg->path, pid, veer_pin_dir());
		rc = EXIT_FAILED;
		goto cleanup;
	}
	/* Attaching is idempotent: an interface already served at its hook is left as it is. */
	for (size_t i = 0; i < cfg->nifaces; i++) {
		const struct veer_iface_spec *s = &cfg->ifaces[i];
		int e = veer_attach(s->name, s->hook, s->mode);

		if (e) {
			rc = e == -ENODEV ? EXIT_USAGE : EXIT_FAILED;
			goto cleanup;
		}
	}
	if (open_state(&v, OPEN_CREATE)) {
		rc = EXIT_FAILED;
		goto cleanup;
	}
	rc = veer_config_apply(v, cfg, VEER_OWNER_CONFIG, &r);
	if (rc) {
		/* libveer has said what failed; a build without declarative apply says nothing. */
		if (rc == -ENOSYS)
			fprintf(stderr, "veer: cannot apply %s: this veer cannot apply configs\n",
				cfg->path);
		rc = rc == -EINVAL ? EXIT_USAGE : EXIT_FAILED;
		goto cleanup;
	}
	if (json_out)
		print_json(result_json(cfg, &r));
	else
		result_print(cfg, &r);
cleanup:
	if (v)
		veer_close(v);
	veer_config_free(cfg);
	return rc;
}
