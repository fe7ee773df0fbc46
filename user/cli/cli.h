/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the veer CLI's command files share: the command table entry, exit codes, the global
 * output flag, option and argument helpers, and JSON helpers. The tables and dispatch are in
 * user/veer.c; each command lives in the file of its concern (link.c, vip.c, show.c, cache.c).
 */
#ifndef VEER_CLI_H
#define VEER_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <json-c/json.h>
#include "veer.h"

/* The documented exit status: usage covers bad input too (an invalid VIP, an unknown device). */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* A command is either a leaf (fn) or a group with a sub table (sub); tables end with {}. */
struct cmd {
	const char *name;
	int (*fn)(const struct cmd *c, int argc, char **argv);
	const char *args;
	const char *help;
	const struct cmd *sub;
};

/* Set by main (-j) and dispatch; defined in user/veer.c. */
extern bool json_out;
extern const char *cmd_path; /* the full command name, "vip add", for messages */

/* ---- options and arguments (common.c) ---- */

/* Print "veer: MSG" and the command's usage line on stderr; returns EXIT_USAGE. */
int usage_error(const struct cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * getopt_long over argv with --help and -j/--json added to opts (at most 15 entries); -j sets
 * json_out, as the global option does. Returns the option
 * character, -1 when the options are done, or -2 when the command line was handled (help shown
 * or an error reported) and the command should return *rc.
 */
int next_opt(const struct cmd *c, int argc, char **argv, const struct option *opts, int *rc);

/*
 * The parsers below return 0, or -1 with the usage error reported and *rc set, so that a
 * command can chain them: if (positional(...) || parse_vip_arg(...)) return rc;
 */
int positional(const struct cmd *c, int argc, int want, int *rc);
/* For commands without options of their own: --help, then exactly nargs arguments. */
int no_options(const struct cmd *c, int argc, char **argv, int nargs, int *rc);
int parse_vip_arg(const struct cmd *c, const char *s, struct veer_vip_key *key, int *rc);
int parse_backend_arg(const struct cmd *c, const char *s, struct veer_endpoint *ep, int *rc);
int parse_weight(const struct cmd *c, const char *s, __u32 *w, int *rc);
/* The address of a VIP or backend argument s, by libveer's rule (veer_addr_check). */
int check_addr_arg(const struct cmd *c, const char *what, const char *s,
		   const union veer_addr *addr, __u8 family, int *rc);
/*
 * A command changing a VIP that a config declares goes on (the operator's override), with a
 * warning on stderr that veerd will put the VIP back as declared.
 */
void warn_if_declared(struct veer *v, const struct veer_vip_key *key);

/* --hook and --mode of the attach commands (veer attach, veer decap attach). */
struct hook_opts {
	enum veer_hook_choice hook;
	enum veer_xdp_mode mode;
	bool mode_given;
};

#define HOOK_OPTS_INIT                                                                             \
	{                                                                                          \
		.hook = VEER_HOOK_AUTO, .mode = VEER_XDP_NATIVE                                    \
	}
#define HOOK_OPTIONS                                                                               \
	{"mode", required_argument, NULL, 'm'},                                                    \
	{                                                                                          \
		"hook", required_argument, NULL, 'k'                                               \
	}

/* Option 'k' (--hook) or 'm' (--mode) of HOOK_OPTIONS: 0, or -1 with the usage error reported. */
int hook_opt(const struct cmd *c, int o, const char *arg, struct hook_opts *h, int *rc);
/* Once the options are read: an XDP mode asks for XDP, and cannot go with --hook tc. */
int hook_opts_done(const struct cmd *c, struct hook_opts *h, int *rc);

int exit_code(int err);
/*
 * How a command opens the pinned state: to read, to change what exists (a failed command then
 * leaves an empty host empty), or to create it (vip add, which may come before any attach).
 */
enum open_mode { OPEN_READ, OPEN_CHANGE, OPEN_CREATE };
int open_state(struct veer **v, enum open_mode mode);

/* ---- JSON (common.c) ---- */

/* Print o pretty and free it; returns EXIT_OK. */
int print_json(struct json_object *o);
const char *jstr(struct json_object *o, const char *key);

/*
 * The objects of `vip list`, `backend list` and `stats`. Text output is printed from the same
 * objects, so the two formats cannot disagree.
 */
struct json_object *vip_json(const struct veer_vip_info *vi);
/* "cli" or "config": who made a VIP (enum veer_vip_owner). */
struct json_object *counters_json(struct json_object *o, const struct veer_counters *s);
struct json_object *backend_json(struct veer *v, const struct veer_backend_info *bi);
/* The same with counters already read (a statistics snapshot's). */
struct json_object *backend_counters_json(const struct veer_backend_info *bi,
					  const struct veer_counters *s);

/* ---- commands ---- */

/* link.c */
int cmd_attach(const struct cmd *c, int argc, char **argv);
int cmd_detach(const struct cmd *c, int argc, char **argv);
int cmd_status(const struct cmd *c, int argc, char **argv);

/* decap.c */
int cmd_decap_attach(const struct cmd *c, int argc, char **argv);
int cmd_decap_detach(const struct cmd *c, int argc, char **argv);
int cmd_decap_vip_add(const struct cmd *c, int argc, char **argv);
int cmd_decap_vip_del(const struct cmd *c, int argc, char **argv);
int cmd_decap_vip_list(const struct cmd *c, int argc, char **argv);
int cmd_decap_stats(const struct cmd *c, int argc, char **argv);
int cmd_decap_check(const struct cmd *c, int argc, char **argv);
/* What `veer status` shows of decap (interfaces, VIP count); NULL when none of it is pinned. */
struct json_object *decap_status_json(void);
void decap_status_print(struct json_object *decap);

/* vip.c */
int cmd_vip_add(const struct cmd *c, int argc, char **argv);
int cmd_vip_del(const struct cmd *c, int argc, char **argv);
int cmd_vip_list(const struct cmd *c, int argc, char **argv);
int cmd_backend_add(const struct cmd *c, int argc, char **argv);
int cmd_backend_set(const struct cmd *c, int argc, char **argv);
int cmd_backend_del(const struct cmd *c, int argc, char **argv);
int cmd_backend_list(const struct cmd *c, int argc, char **argv);

/* show.c */
int cmd_stats(const struct cmd *c, int argc, char **argv);
int cmd_flows(const struct cmd *c, int argc, char **argv);

/* events.c */
int cmd_events(const struct cmd *c, int argc, char **argv);

/* apply.c */
int cmd_apply(const struct cmd *c, int argc, char **argv);

/* settings.c */
int cmd_set(const struct cmd *c, int argc, char **argv);

/* proxy.c */
int cmd_proxy_add(const struct cmd *c, int argc, char **argv);
int cmd_proxy_del(const struct cmd *c, int argc, char **argv);
int cmd_proxy_list(const struct cmd *c, int argc, char **argv);
int cmd_proxy_origdst(const struct cmd *c, int argc, char **argv);

/* cache.c */
int cmd_cache_attach(const struct cmd *c, int argc, char **argv);
int cmd_cache_detach(const struct cmd *c, int argc, char **argv);
int cmd_cache_put(const struct cmd *c, int argc, char **argv);
int cmd_cache_get(const struct cmd *c, int argc, char **argv);
int cmd_cache_del(const struct cmd *c, int argc, char **argv);
int cmd_cache_list(const struct cmd *c, int argc, char **argv);
int cmd_cache_stats(const struct cmd *c, int argc, char **argv);
int cmd_cache_hot(const struct cmd *c, int argc, char **argv);
int cmd_cache_manage(const struct cmd *c, int argc, char **argv);

#endif /* VEER_CLI_H */
