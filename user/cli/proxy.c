// SPDX-License-Identifier: GPL-2.0
/* veer proxy: the transparent forward proxy's rules, and the original destination of a client. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "cli.h"

static int parse_cidr_arg(const struct cmd *c, const char *s, struct veer_cidr *cidr, int *rc)
{
	char net[VEER_ADDR_STRLEN];
	int err = veer_parse_cidr(s, cidr);

	if (err == -ERANGE)
		*rc = usage_error(c, "invalid CIDR '%s': host bits are set (the network is %s)", s,
				  veer_fmt_cidr(cidr, net, sizeof(net)));
	else if (err)
		*rc = usage_error(
			c, "invalid CIDR '%s' (want ADDR/LEN: 198.18.1.0/24, 2001:2::/48)", s);
	return err ? -1 : 0;
}

static int parse_port_arg(const struct cmd *c, const char *s, __be16 *port, int *rc)
{
	__u32 n;

	if (veer_parse_u32(s, 1, 65535, &n)) {
		*rc = usage_error(c, "invalid port '%s' (want 1..65535)", s);
		return -1;
	}
	*port = htons(n);
	return 0;
}

/* --from CIDR --dport N, and with to --to ADDR:PORT [--vip-exempt]: every option checked. */
static int rule_args(const struct cmd *c, int argc, char **argv, struct veer_proxy_info *r,
		     bool with_to, int *rc)
{
	static const struct option add_opts[] = {{"from", required_argument, NULL, 'f'},
						 {"dport", required_argument, NULL, 'd'},
						 {"to", required_argument, NULL, 't'},
						 {"vip-exempt", no_argument, NULL, 'e'},
						 {0}};
	static const struct option del_opts[] = {{"from", required_argument, NULL, 'f'},
						 {"dport", required_argument, NULL, 'd'},
						 {0}};
	bool from = false, dport = false, to = false;
	int o;

	memset(r, 0, sizeof(*r));
	while ((o = next_opt(c, argc, argv, with_to ? add_opts : del_opts, rc)) != -1) {
		if (o == -2)
			return -1;
		if (o == 'f' && parse_cidr_arg(c, optarg, &r->from, rc))
			return -1;
		if (o == 'd' && parse_port_arg(c, optarg, &r->dport, rc))
			return -1;
		if (o == 't' && veer_parse_endpoint(optarg, &r->to, true)) {
			*rc = usage_error(c,
					  "invalid proxy address '%s' (want ADDR:PORT, "
					  "[ADDR6]:PORT)",
					  optarg);
			return -1;
		}
		from |= o == 'f';
		dport |= o == 'd';
		to |= o == 't';
		r->vip_exempt |= o == 'e';
	}
	if (positional(c, argc, 0, rc))
		return -1;
	if (!from || !dport || (with_to && !to)) {
		*rc = usage_error(c, "%s needs --from, --dport%s", cmd_path,
				  with_to ? " and --to" : "");
		return -1;
	}
	return 0;
}

int cmd_proxy_add(const struct cmd *c, int argc, char **argv)
{
	struct veer_proxy_info r;
	struct veer *v;
	int rc = 0;

	if (rule_args(c, argc, argv, &r, true, &rc))
		return rc;
	/* Bad input, said before anything is opened. */
	if (veer_proxy_check(&r))
		return EXIT_USAGE;
	if (open_state(&v, OPEN_CREATE))
		return EXIT_FAILED;
	rc = veer_proxy_add(v, &r);
	veer_close(v);
	return exit_code(rc);
}

int cmd_proxy_del(const struct cmd *c, int argc, char **argv)
{
	struct veer_proxy_info r;
	struct veer *v;
	int rc = 0;

	if (rule_args(c, argc, argv, &r, false, &rc))
		return rc;
	if (open_state(&v, OPEN_CHANGE))
		return EXIT_FAILED;
	rc = veer_proxy_del(v, &r.from, r.dport);
	veer_close(v);
	return exit_code(rc);
}

static struct json_object *rule_json(const struct veer_proxy_info *r)
{
	struct json_object *o = json_object_new_object();
	char buf[VEER_ADDR_STRLEN];

	json_object_object_add(o, "from",
			       json_object_new_string(veer_fmt_cidr(&r->from, buf, sizeof(buf))));
	json_object_object_add(o, "dport", json_object_new_int(ntohs(r->dport)));
	json_object_object_add(o, "to",
			       json_object_new_string(veer_fmt_endpoint(
				       &r->to.addr, r->to.port, r->to.family, buf, sizeof(buf))));
	json_object_object_add(o, "vip_exempt", json_object_new_boolean(r->vip_exempt));
	return o;
}

int cmd_proxy_list(const struct cmd *c, int argc, char **argv)
{
	struct json_object *a;
	struct veer_proxy_info *rules;
	struct veer *v;
	size_t n;
	int rc = 0;

	if (no_options(c, argc, argv, 0, &rc))
		return rc;
	if (open_state(&v, OPEN_READ))
		return EXIT_FAILED;
	rc = veer_proxy_list(v, &rules, &n);
	veer_close(v);
	if (rc)
		return EXIT_FAILED;
	/* Text is printed from the same objects as JSON: the two cannot disagree. */
	a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, rule_json(&rules[i]));
	free(rules);
	if (json_out)
		return print_json(a);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *o = json_object_array_get_idx(a, i);

		printf("%-28s port %-5s -> %s%s\n", jstr(o, "from"), jstr(o, "dport"),
		       jstr(o, "to"),
		       json_object_get_boolean(json_object_object_get(o, "vip_exempt"))
			       ? "  vip-exempt"
			       : "");
	}
	json_object_put(a);
	return EXIT_OK;
}

int cmd_proxy_origdst(const struct cmd *c, int argc, char **argv)
{
	char buf[VEER_ADDR_STRLEN];
	struct veer_proxy_conn_info ci;
	struct veer_endpoint client;
	struct veer_origdst *h;
	struct json_object *o;
	int rc = 0;

	if (no_options(c, argc, argv, 1, &rc))
		return rc;
	if (veer_parse_endpoint(argv[optind], &client, true))
		return usage_error(c, "invalid client '%s' (want ADDR:PORT, [ADDR6]:PORT)",
				   argv[optind]);
	if (veer_origdst_open(&h))
		return EXIT_FAILED;
	rc = veer_proxy_conn_get(h, &client, &ci);
	veer_origdst_close(h);
	if (rc) {
		fprintf(stderr, "veer: no original destination for %s: %s\n", argv[optind],
			rc == -ENOENT ? "no proxied connection from it" : strerror(-rc));
		return EXIT_FAILED;
	}
	veer_fmt_endpoint(&ci.orig.addr, ci.orig.port, ci.orig.family, buf, sizeof(buf));
	if (!json_out) {
		puts(buf);
		return EXIT_OK;
	}
	o = json_object_new_object();
	json_object_object_add(o, "destination", json_object_new_string(buf));
	json_object_object_add(o, "address",
			       json_object_new_string(veer_fmt_addr(&ci.orig.addr, ci.orig.family,
								    buf, sizeof(buf))));
	json_object_object_add(o, "port", json_object_new_int(ntohs(ci.orig.port)));
	json_object_object_add(
		o, "client",
		json_object_new_string(veer_fmt_endpoint(&ci.client.addr, ci.client.port,
							 ci.client.family, buf, sizeof(buf))));
	json_object_object_add(
		o, "proxy",
		json_object_new_string(veer_fmt_endpoint(&ci.proxy.addr, ci.proxy.port,
							 ci.proxy.family, buf, sizeof(buf))));
	json_object_object_add(o, "state",
			       json_object_new_string(ci.closing       ? "closing"
						      : ci.established ? "established"
								       : "handshake"));
	return print_json(o);
}
