// SPDX-License-Identifier: GPL-2.0
/* veer set: the data plane's run-time settings, read and written whole. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

static int settings_show(const struct veer_settings *s)
{
	struct json_object *o = json_object_new_object();
	struct veer_setting_value sv;

	for (size_t i = 0; !veer_setting_at(s, i, &sv); i++) {
		if (!json_out)
			printf("%s %s\n", sv.name, sv.text);
		else if (sv.duration)
			json_object_object_add(o, sv.name,
					       json_object_new_uint64(sv.ns / 1000000000ULL));
		else if (sv.number)
			json_object_object_add(o, sv.name, json_object_new_uint64(sv.value));
		else
			json_object_object_add(o, sv.name, json_object_new_string(sv.text));
	}
	if (json_out)
		return print_json(o);
	json_object_put(o);
	return EXIT_OK;
}

/*
 * veer set [NAME VALUE]...: every pair is checked before anything is written, then the whole
 * settings are written at once; with no pair, the settings in effect are shown.
 */
int cmd_set(const struct cmd *c, int argc, char **argv)
{
	static const struct option opts[] = {{}};
	struct veer_settings s = {};
	struct veer *v;
	int rc = 0, err, opt;

	while ((opt = next_opt(c, argc, argv, opts, &rc)) != -1)
		if (opt == -2)
			return rc;
	argc -= optind;
	argv += optind;
	/* A word left over names a setting without its value, or is no setting at all. */
	if (argc % 2 && veer_setting_want(argv[argc - 1]))
		return usage_error(c, "'%s' wants a value", argv[argc - 1]);
	if (argc % 2)
		return usage_error(c, "unknown setting '%s' (%s)", argv[argc - 1],
				   veer_setting_names());
	if (open_state(&v, argc > 0 ? OPEN_CHANGE : OPEN_READ))
		return EXIT_FAILED;
	err = veer_settings_get(v, &s);
	for (int i = 0; !err && i < argc; i += 2) {
		err = veer_setting_parse(&s, argv[i], argv[i + 1]);
		if (err == -ENOENT)
			rc = usage_error(c, "unknown setting '%s' (%s)", argv[i],
					 veer_setting_names());
		else if (err)
			rc = usage_error(c, "invalid %s '%s': want %s", argv[i], argv[i + 1],
					 veer_setting_want(argv[i]));
	}
	if (rc) {
		veer_close(v);
		return rc;
	}
	if (!err && argc)
		err = veer_settings_set(v, &s);
	if (err) {
		fprintf(stderr, "veer: cannot %s the settings: %s\n", argc ? "write" : "read",
			strerror(-err));
		veer_close(v);
		return EXIT_FAILED;
	}
	veer_close(v);
	return argc ? EXIT_OK : settings_show(&s);
}
