// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the veer commands: option and argument parsing, JSON output. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <stdint.h>
#include "cli.h"

int usage_error(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "veer: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: veer %s%s%s\n", cmd_path, *c->args ? " " : "", c->args);
	return EXIT_USAGE;
}

int hook_opt(const struct cmd *c, int o, const char *arg, struct hook_opts *h, int *rc)
{
	if (o == 'k') {
		if (!strcmp(arg, "auto"))
			h->hook = VEER_HOOK_AUTO;
		else if (!strcmp(arg, "xdp"))
			h->hook = VEER_HOOK_XDP;
		else if (!strcmp(arg, "tc"))
			h->hook = VEER_HOOK_TC;
		else
			goto bad_hook;
		return 0;
	}
	h->mode_given = true;
	if (!strcmp(arg, "native"))
		h->mode = VEER_XDP_NATIVE;
	else if (!strcmp(arg, "generic"))
		h->mode = VEER_XDP_GENERIC;
	else {
		*rc = usage_error(c, "invalid mode '%s' (want native or generic)", arg);
		return -1;
	}
	return 0;
bad_hook:
	*rc = usage_error(c, "invalid hook '%s' (want auto, xdp or tc)", arg);
	return -1;
}

int hook_opts_done(const struct cmd *c, struct hook_opts *h, int *rc)
{
	/* An XDP mode asks for XDP; at tc it would mean nothing. */
	if (h->mode_given && h->hook == VEER_HOOK_TC) {
		*rc = usage_error(c, "--mode is an XDP setting: it cannot go with --hook tc");
		return -1;
	}
	if (h->mode_given)
		h->hook = VEER_HOOK_XDP;
	return 0;
}

int exit_code(int err)
{
	return err ? EXIT_FAILED : EXIT_OK;
}

/*
 * Every command takes --help; opts lists the rest. The leading ':' in the optstring makes
 * getopt report a missing argument as ':' rather than '?', so the two get different messages.
 */
int next_opt(const struct cmd *c, int argc, char **argv, const struct option *opts, int *rc)
{
	struct option all[18];
	int n = 0, o;

	for (; opts && opts[n].name; n++)
		all[n] = opts[n];
	all[n++] = (struct option){"help", no_argument, NULL, 'h'};
	/* The global -j is also taken after the command: `veer cache stats -j`. */
	all[n++] = (struct option){"json", no_argument, NULL, 'j'};
	all[n] = (struct option){0};
	while ((o = getopt_long(argc, argv, ":hj", all, NULL)) == 'j')
		json_out = true;
	if (o == 'h') {
		printf("usage: veer %s%s%s\n  %s\n", cmd_path, *c->args ? " " : "", c->args,
		       c->help);
		*rc = EXIT_OK;
		return -2;
	}
	if (o == '?' || o == ':') {
		const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
		char letter[3] = {'-', (char)optopt, '\0'};

		/*
		 * Inside a group of letters (-dash) getopt has not moved optind on yet, so the
		 * argument before it is not the culprit: name the letter.
		 */
		if (strncmp(arg, "--", 2) && optopt > 0 && optopt < 128)
			arg = letter;
		*rc = usage_error(c, "%s '%s' for %s",
				  o == ':' ? "missing argument to option" : "unknown option", arg,
				  cmd_path);
		return -2;
	}
	return o;
}

int positional(const struct cmd *c, int argc, int want, int *rc)
{
	if (argc - optind != want) {
		*rc = usage_error(c, "%s takes %d argument%s, got %d", cmd_path, want,
				  want == 1 ? "" : "s", argc - optind);
		return -1;
	}
	return 0;
}

int no_options(const struct cmd *c, int argc, char **argv, int nargs, int *rc)
{
	if (next_opt(c, argc, argv, NULL, rc) != -1)
		return -1;
	return positional(c, argc, nargs, rc);
}

int parse_vip_arg(const struct cmd *c, const char *s, struct veer_vip_key *key, int *rc)
{
	if (veer_parse_vip(s, key)) {
		*rc = usage_error(c, "invalid VIP '%s' (want ADDR:PORT/tcp|udp, [ADDR6]:PORT/...)",
				  s);
		return -1;
	}
	return 0;
}

int parse_backend_arg(const struct cmd *c, const char *s, struct veer_endpoint *ep, int *rc)
{
	if (veer_parse_endpoint(s, ep, false)) {
		*rc = usage_error(
			c, "invalid backend address '%s' (want ADDR[:PORT], [ADDR6]:PORT)", s);
		return -1;
	}
	return 0;
}

int parse_weight(const struct cmd *c, const char *s, __u32 *w, int *rc)
{
	if (veer_parse_u32(s, 0, UINT32_MAX, w) || veer_weight_check(*w)) {
		*rc = usage_error(c, "invalid weight '%s' (want %s)", s, veer_weight_want);
		return -1;
	}
	return 0;
}

int check_addr_arg(const struct cmd *c, const char *what, const char *s,
		   const union veer_addr *addr, __u8 family, int *rc)
{
	char name[VEER_ADDR_STRLEN];
	const char *why;

	if (!veer_addr_check(addr, family, &why))
		return 0;
	*rc = usage_error(c, "invalid %s '%s': %s is %s", what, s,
			  veer_fmt_addr(addr, family, name, sizeof(name)), why);
	return -1;
}

void warn_if_declared(struct veer *v, const struct veer_vip_key *key)
{
	char name[VEER_ADDR_STRLEN];
	struct veer_vip vip;

	if (veer_vip_get(v, key, &vip) || vip.owner == VEER_OWNER_CLI)
		return;
	veer_fmt_vip(key, name, sizeof(name));
	if (vip.owner == VEER_OWNER_CONFIG)
		fprintf(stderr,
			"veer: warning: VIP %s is declared in a config file (veerd, veer apply): "
			"veerd puts it back as declared on its next reload or restart\n",
			name);
	else
		fprintf(stderr,
			"veer: warning: VIP %s comes from veerd's %s source: veerd puts it back as "
			"the source declares it at the source's next change or veerd's restart\n",
			name, veer_owner_name(vip.owner));
}

int open_state(struct veer **v, enum open_mode mode)
{
	if (mode == OPEN_CHANGE)
		return veer_open_existing(v) ? -1 : 0;
	return veer_open(v, mode == OPEN_CREATE) ? -1 : 0;
}

/* ---- JSON ---- */

int print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return EXIT_OK;
}

const char *jstr(struct json_object *o, const char *key)
{
	return json_object_get_string(json_object_object_get(o, key));
}

struct json_object *vip_json(const struct veer_vip_info *vi)
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
	json_object_object_add(o, "owner", json_object_new_string(veer_owner_name(vi->vip.owner)));
	return o;
}

struct json_object *counters_json(struct json_object *o, const struct veer_counters *s)
{
	json_object_object_add(o, "packets", json_object_new_uint64(s->packets));
	json_object_object_add(o, "bytes", json_object_new_uint64(s->bytes));
	json_object_object_add(o, "new_flows", json_object_new_uint64(s->new_flows));
	json_object_object_add(o, "reply_packets", json_object_new_uint64(s->reply_packets));
	json_object_object_add(o, "reply_bytes", json_object_new_uint64(s->reply_bytes));
	return o;
}

struct json_object *backend_json(struct veer *v, const struct veer_backend_info *bi)
{
	struct veer_counters s = {};

	veer_backend_counters(v, bi->id, &s);
	return backend_counters_json(bi, &s);
}

struct json_object *backend_counters_json(const struct veer_backend_info *bi,
					  const struct veer_counters *s)
{
	struct json_object *o = json_object_new_object();
	char buf[VEER_ADDR_STRLEN];

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
	json_object_object_add(
		o, "health",
		json_object_new_string(bi->be.flags & VEER_BACKEND_DOWN ? "down" : "up"));
	return counters_json(o, s);
}
