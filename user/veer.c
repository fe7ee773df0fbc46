// SPDX-License-Identifier: GPL-2.0
/*
 * veer: load, attach and inspect the data plane. Table-driven subcommands, any unique prefix
 * accepted (`veer b l VIP` is `veer backend list VIP`). Exit 0 ok, 1 operation failed, 2 bad
 * usage or input.
 *
 * This file holds main, the global options, the command tables and dispatch; the commands are
 * under cli/, grouped by concern, with what they share in cli/cli.h.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"

bool json_out;
const char *cmd_path;

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
	 .args = "VIP ADDR[:PORT] [--weight N]",
	 .help = "add a backend (weight 100, port of the VIP)"},
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

static const struct cmd cache_cmds[] = {
	{.name = "attach",
	 .fn = cmd_cache_attach,
	 .args = "--cgroup PATH --port N [--proto redis|memcached]",
	 .help = "serve GETs of the cgroup's clients of port N from the cache (default redis)"},
	{.name = "detach",
	 .fn = cmd_cache_detach,
	 .args = "[--cgroup PATH] [--port N]",
	 .help = "stop collecting the cgroup's new connections, or new connections to port N"},
	{.name = "put",
	 .fn = cmd_cache_put,
	 .args = "KEY VALUE [--ttl SECONDS] [--proto redis|memcached] [--flags N]",
	 .help = "install an entry (TTL 30 s; flags are memcached's client flags)"},
	{.name = "get",
	 .fn = cmd_cache_get,
	 .args = "KEY [--proto redis|memcached]",
	 .help = "print a cached value"},
	{.name = "del",
	 .fn = cmd_cache_del,
	 .args = "KEY [--proto redis|memcached]",
	 .help = "delete an entry"},
	{.name = "list", .fn = cmd_cache_list, .args = "", .help = "list entries"},
	{.name = "stats",
	 .fn = cmd_cache_stats,
	 .args = "",
	 .help = "entries, bytes, hits, misses, invalidations, evictions, passes by reason"},
	{.name = "hot",
	 .fn = cmd_cache_hot,
	 .args = "[--top N]",
	 .help = "the most-missed keys, candidates for promotion"},
	{.name = "manage",
	 .fn = cmd_cache_manage,
	 .args = "--server ADDR:PORT [--proto redis|memcached] [--top N] [--ttl SECONDS] "
		 "[--interval DURATION] [--no-notify] [--max-write-ratio R]",
	 .help = "promote hot keys from the server, keep write-heavy keys out (R 0.01 writes per "
		 "read), follow keyspace notifications"},
	{},
};

static const struct cmd decap_vip_cmds[] = {
	{.name = "add", .fn = cmd_decap_vip_add, .args = "ADDR", .help = "decapsulate for ADDR"},
	{.name = "del",
	 .fn = cmd_decap_vip_del,
	 .args = "ADDR",
	 .help = "stop decapsulating for ADDR"},
	{.name = "list", .fn = cmd_decap_vip_list, .args = "", .help = "list decap VIPs"},
	{},
};

static const struct cmd decap_cmds[] = {
	{.name = "attach",
	 .fn = cmd_decap_attach,
	 .args = "IFACE [--hook auto|xdp|tc] [--mode native|generic]",
	 .help = "load and attach the decap program (auto: XDP on a NIC, tc on a virtual "
		 "interface)"},
	{.name = "detach",
	 .fn = cmd_decap_detach,
	 .args = "IFACE",
	 .help = "detach decap from IFACE"},
	{.name = "vip",
	 .args = "add|del|list ...",
	 .help = "the VIPs this host serves",
	 .sub = decap_vip_cmds},
	{.name = "stats",
	 .fn = cmd_decap_stats,
	 .args = "",
	 .help = "packets by what decap did with them"},
	{.name = "check",
	 .fn = cmd_decap_check,
	 .args = "",
	 .help = "report the host settings direct server return needs that are wrong here"},
	{},
};

static const struct cmd proxy_cmds[] = {
	{.name = "add",
	 .fn = cmd_proxy_add,
	 .args = "--from CIDR --dport N --to ADDR:PORT [--vip-exempt]",
	 .help = "steer TCP from clients in CIDR to any address on port N to the proxy at "
		 "ADDR:PORT (longest prefix wins; --vip-exempt: connections to a VIP are load "
		 "balanced instead)"},
	{.name = "del",
	 .fn = cmd_proxy_del,
	 .args = "--from CIDR --dport N",
	 .help = "delete a rule and the connections it steered"},
	{.name = "list", .fn = cmd_proxy_list, .args = "", .help = "list the rules"},
	{.name = "origdst",
	 .fn = cmd_proxy_origdst,
	 .args = "CLIENT:PORT",
	 .help = "the original destination of the proxied connection from CLIENT:PORT"},
	{},
};

static const struct cmd top_cmds[] = {
	{.name = "attach",
	 .fn = cmd_attach,
	 .args = "IFACE [--hook auto|xdp|tc] [--mode native|generic] [--flows N]",
	 .help = "load and attach the data plane (auto: XDP on a NIC, tc on a virtual "
		 "interface); N connections per address family when it creates the connection "
		 "tables (default sized for the host)"},
	{.name = "detach",
	 .fn = cmd_detach,
	 .args = "IFACE",
	 .help = "detach veer's program from IFACE"},
	{.name = "status",
	 .fn = cmd_status,
	 .args = "",
	 .help = "interfaces, programs, pinned maps, connection table sizes, version"},
	{.name = "vip", .args = "add|del|list ...", .help = "manage VIPs", .sub = vip_cmds},
	{.name = "backend",
	 .args = "add|set|del|list ...",
	 .help = "manage backends",
	 .sub = backend_cmds},
	{.name = "stats",
	 .fn = cmd_stats,
	 .args = "",
	 .help = "packets, bytes and new flows per VIP and backend; drops by reason"},
	{.name = "flows",
	 .fn = cmd_flows,
	 .args = "",
	 .help = "connections: client, VIP, backend, state (handshake, established, closing, "
		 "expired, closed), idle time"},
	{.name = "set",
	 .fn = cmd_set,
	 .args = "[tcp-timeout DURATION] [udp-timeout DURATION] [encap-source4 CIDR] "
		 "[encap-source6 CIDR] [event-sample off|1/N] [event-drop-burst off|N]",
	 .help = "idle timeouts after which a flow is scheduled again (300s, 120s); dsr-ipip's "
		 "outer source prefixes (172.16.0.0/16, 100::/64); events: one new flow in N, a "
		 "drop reason counted N times in a second (off, off); none: show"},
	{.name = "events",
	 .fn = cmd_events,
	 .args = "[-j] [--follow] [--type T]...",
	 .help = "the event stream, one line per event: new flows (as veer set event-sample "
		 "samples them), drop bursts, full tables, and veerd's own (backends down and up, "
		 "configs applied and refused, sources); from veerd when one runs, else from the "
		 "data plane; --follow: until interrupted"},
	{.name = "apply",
	 .fn = cmd_apply,
	 .args = "[-n] FILE",
	 .help = "make the VIPs of the config file FILE (veerd's YAML) what it declares, "
		 "attaching its interfaces; -n: check the file only"},
	{.name = "proxy",
	 .args = "add|del|list|origdst ...",
	 .help = "transparent forward proxy: steer clients' connections to a proxy",
	 .sub = proxy_cmds},
	{.name = "cache",
	 .args = "attach|detach|put|get|del|list|stats|hot|manage ...",
	 .help = "the in-kernel hot-key cache for Redis and memcached",
	 .sub = cache_cmds},
	{.name = "decap",
	 .args = "attach|detach|vip|stats|check ...",
	 .help = "the backend half of direct server return: strip IPIP/IP6IP6 for this host's VIPs",
	 .sub = decap_cmds},
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
		"usage: veer [-j|--json] [-v] [-V] [--pin-dir DIR] COMMAND ...\n"
		"commands (any unique prefix):\n");
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
		printf("usage: veer %s%s%s\n  %s\n", t->name, *t->args ? " " : "", t->args,
		       t->help);
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
					     {"pin-dir", required_argument, NULL, 'P'},
					     {0}};
	const char *pin_dir = getenv("VEER_PIN_DIR");
	int o, verbose = 0;

	opterr = 0; /* veer reports bad options itself, in one line */
	while ((o = getopt_long(argc, argv, "+:jvVh", opts, NULL)) != -1) {
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
		case 'P':
			pin_dir = optarg;
			break;
		case ':':
			fprintf(stderr, "veer: option '%s' needs a value\n", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "veer: unknown option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	veer_log_init(verbose);
	if (pin_dir && *pin_dir && veer_set_pin_dir(pin_dir))
		return EXIT_USAGE;
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return dispatch(top_cmds, "", argc - optind, argv + optind);
}
