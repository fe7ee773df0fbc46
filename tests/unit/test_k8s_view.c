// SPDX-License-Identifier: GPL-2.0
/*
 * The Kubernetes source without the network (user/veerd/k8s_view.c): Services and
 * EndpointSlices as the API server sends them made into VIPs (ports, slices merged, ready,
 * terminating and not-ready endpoints, dual stack), Services refused whole and keeping what they
 * had, and the connection settings read from a kubeconfig and from the in-cluster environment.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "test.h"
#include "k8s.h"

static bool put(struct k8s_store *s, enum k8s_kind kind, const char *json)
{
	struct json_object *o = json_tokener_parse(json);
	struct k8s_obj *obj = NULL;
	char err[K8S_ERR_LEN] = "";
	int rc;

	if (!ASSERT_TRUE(o != NULL, "fixture is JSON"))
		return false;
	rc = k8s_obj_parse(kind, o, &obj, err, sizeof(err));
	json_object_put(o);
	if (!ASSERT_OK(rc, err))
		return false;
	return ASSERT_OK(k8s_store_put(s, obj), "store put");
}

#define SVC(ns, name, vip, ports)                                                                  \
	"{\"metadata\": {\"namespace\": \"" ns "\", \"name\": \"" name "\", \"annotations\": "     \
	"{\"veer.io/vip\": \"" vip "\"}}, \"spec\": {\"ports\": [" ports "]}}"

#define SLICE(ns, name, svc, family, ports, eps)                                                   \
	"{\"metadata\": {\"namespace\": \"" ns "\", \"name\": \"" name "\", \"labels\": "          \
	"{\"kubernetes.io/service-name\": \"" svc "\"}}, \"addressType\": \"" family "\", "        \
	"\"ports\": [" ports "], \"endpoints\": [" eps "]}"

#define EP(addr, ready, term)                                                                      \
	"{\"addresses\": [\"" addr "\"], \"conditions\": {\"ready\": " ready                       \
	", \"terminating\": " term "}}"

/* The VIP of view v whose name (veer_fmt_vip) is name, or NULL. */
static const struct veer_vip_spec *vip_of(const struct k8s_view *v, const char *name)
{
	char buf[VEER_ADDR_STRLEN];

	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(veer_fmt_vip(&v->specs[i].key, buf, sizeof(buf)), name))
			return &v->specs[i];
	return NULL;
}

/* "ADDR:PORT=WEIGHT ..." of a VIP's backends, in their order. */
static const char *backends_of(const struct veer_vip_spec *s)
{
	static char out[1024];
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; s && i < s->nbackends; i++) {
		char ep[VEER_ADDR_STRLEN];

		veer_fmt_endpoint(&s->backends[i].ep.addr, s->backends[i].ep.port,
				  s->backends[i].ep.family, ep, sizeof(ep));
		len += snprintf(out + len, sizeof(out) - len, "%s%s=%u", len ? " " : "", ep,
				s->backends[i].weight);
	}
	return out;
}

VEER_TEST(k8s_view_ports_slices_and_conditions)
{
	struct k8s_store svcs = {}, slices = {};
	struct k8s_view v = {};

	/* Named ports, the backends' ports from the slices (the target ports). */
	if (!put(&svcs, K8S_SERVICE,
		 SVC("ns1", "web", "198.18.100.10",
		     "{\"name\": \"http\", \"port\": 80}, {\"name\": \"dns\", \"port\": 53, "
		     "\"protocol\": \"UDP\"}")) ||
	    !put(&slices, K8S_SLICE,
		 SLICE("ns1", "web-a", "web", "IPv4",
		       "{\"name\": \"http\", \"port\": 8080, \"protocol\": \"TCP\"}, {\"name\": "
		       "\"dns\", \"port\": 5353, \"protocol\": \"UDP\"}",
		       EP("198.18.11.2", "true",
			  "false") ", " EP("198.18.12.2", "false",
					   "true") ", " EP("198.18.13.2", "false", "false"))) ||
	    /* A second slice merges in; an address in both: the ready one wins. */
	    !put(&slices, K8S_SLICE,
		 SLICE("ns1", "web-b", "web", "IPv4",
		       "{\"name\": \"http\", \"port\": 8080}, {\"name\": \"dns\", \"port\": 5353, "
		       "\"protocol\": \"UDP\"}",
		       EP("198.18.14.2", "null", "null") ", " EP("198.18.12.2", "true",
								 "false"))) ||
	    /* Another family's slice, another Service's, a slice of no Service: none of these. */
	    !put(&slices, K8S_SLICE,
		 SLICE("ns1", "web-6", "web", "IPv6", "{\"name\": \"http\", \"port\": 8080}",
		       EP("2001:2:0:11::2", "true", "false"))) ||
	    !put(&slices, K8S_SLICE,
		 SLICE("ns2", "web-x", "web", "IPv4", "{\"name\": \"http\", \"port\": 8080}",
		       EP("198.18.15.2", "true", "false"))) ||
	    !put(&slices, K8S_SLICE,
		 "{\"metadata\": {\"namespace\": \"ns1\", \"name\": \"lone\"}, \"addressType\": "
		 "\"IPv4\", \"endpoints\": [" EP("198.18.16.2", "true", "false") "]}"))
		goto out;
	if (!ASSERT_OK(k8s_view_build(&svcs, &slices, NULL, &v), "build"))
		goto out;
	ASSERT_EQ(v.n, 2, "VIPs");
	ASSERT_EQ(v.nrefused, 0, "refused");
	ASSERT_STREQ(backends_of(vip_of(&v, "198.18.100.10:80/tcp")),
		     "198.18.11.2:8080=100 198.18.12.2:8080=100 198.18.13.2:8080=0 "
		     "198.18.14.2:8080=100",
		     "http backends");
	ASSERT_STREQ(backends_of(vip_of(&v, "198.18.100.10:53/udp")),
		     "198.18.11.2:5353=100 198.18.12.2:5353=100 198.18.13.2:5353=0 "
		     "198.18.14.2:5353=100",
		     "dns backends");
	ASSERT_STREQ(v.origins[0], "kubernetes service ns1/web", "origin");
	ASSERT_EQ(vip_of(&v, "198.18.100.10:80/tcp")->opts.mode, VEER_MODE_NAT, "mode");
	k8s_view_free(&v);

	/* The endpoint terminating: drained, not removed; removed from its slice: gone. */
	if (!put(&slices, K8S_SLICE,
		 SLICE("ns1", "web-b", "web", "IPv4", "{\"name\": \"http\", \"port\": 8080}",
		       EP("198.18.14.2", "false", "true"))) ||
	    !ASSERT_OK(k8s_view_build(&svcs, &slices, NULL, &v), "build"))
		goto out;
	ASSERT_STREQ(backends_of(vip_of(&v, "198.18.100.10:80/tcp")),
		     "198.18.11.2:8080=100 198.18.12.2:8080=0 198.18.13.2:8080=0 "
		     "198.18.14.2:8080=0",
		     "terminating");
	k8s_view_free(&v);
	ASSERT_OK(k8s_store_del(&slices, "ns1", "web-b"), "delete");
	ASSERT_EQ(k8s_store_del(&slices, "ns1", "web-b"), -ENOENT, "delete twice");
	if (!ASSERT_OK(k8s_view_build(&svcs, &slices, NULL, &v), "build"))
		goto out;
	ASSERT_STREQ(backends_of(vip_of(&v, "198.18.100.10:80/tcp")),
		     "198.18.11.2:8080=100 198.18.12.2:8080=0 198.18.13.2:8080=0", "removed");
	k8s_view_free(&v);

	/* The annotation gone: no VIP, nothing refused. */
	if (!put(&svcs, K8S_SERVICE,
		 "{\"metadata\": {\"namespace\": \"ns1\", \"name\": \"web\"}, \"spec\": "
		 "{\"ports\": [{\"port\": 80}]}}") ||
	    !ASSERT_OK(k8s_view_build(&svcs, &slices, NULL, &v), "build"))
		goto out;
	ASSERT_EQ(v.n, 0, "VIPs without the annotation");
	ASSERT_EQ(v.nrefused, 0, "refused");
out:
	k8s_view_free(&v);
	k8s_store_clear(&svcs);
	k8s_store_clear(&slices);
}

VEER_TEST(k8s_view_dual_stack_and_unnamed_port)
{
	struct k8s_store svcs = {}, slices = {};
	struct k8s_view v = {};

	if (!put(&svcs, K8S_SERVICE,
		 SVC("ns1", "api", "198.18.100.20, 2001:2::20", "{\"port\": 443}")) ||
	    !put(&slices, K8S_SLICE,
		 SLICE("ns1", "api-4", "api", "IPv4", "{\"port\": 8443}",
		       EP("198.18.11.2", "true", "false"))) ||
	    !put(&slices, K8S_SLICE,
		 SLICE("ns1", "api-6", "api", "IPv6", "{\"name\": \"\", \"port\": 8443}",
		       EP("2001:2:0:11::2", "true", "false"))) ||
	    !ASSERT_OK(k8s_view_build(&svcs, &slices, NULL, &v), "build"))
		goto out;
	ASSERT_EQ(v.n, 2, "VIPs");
	ASSERT_STREQ(backends_of(vip_of(&v, "198.18.100.20:443/tcp")), "198.18.11.2:8443=100",
		     "v4");
	ASSERT_STREQ(backends_of(vip_of(&v, "[2001:2::20]:443/tcp")), "[2001:2:0:11::2]:8443=100",
		     "v6");
out:
	k8s_view_free(&v);
	k8s_store_clear(&svcs);
	k8s_store_clear(&slices);
}

VEER_TEST(k8s_view_refused_services_keep_what_they_had)
{
	static const struct {
		const char *svc, *why;
	} bad[] = {
		{SVC("ns1", "web", "300.1.1.1", "{\"port\": 80}"),
		 "annotation veer.io/vip: '300.1.1.1' is not an IP address"},
		{SVC("ns1", "web", "127.0.0.1", "{\"port\": 80}"),
		 "annotation veer.io/vip: 127.0.0.1 is a loopback address"},
		{SVC("ns1", "web", "198.18.100.10",
		     "{\"name\": \"s\", \"port\": 80, \"protocol\": "
		     "\"SCTP\"}"),
		 "port s 80/SCTP: veer serves TCP and UDP only"},
		{SVC("ns1", "web", "198.18.100.10", ""), "the Service has no ports"},
		{SVC("ns1", "web", " , ", "{\"port\": 80}"), "annotation veer.io/vip: no address"},
	};
	struct k8s_store svcs = {}, slices = {};
	struct k8s_view good = {}, v = {};

	if (!put(&svcs, K8S_SERVICE, SVC("ns1", "web", "198.18.100.10", "{\"port\": 80}")) ||
	    !put(&svcs, K8S_SERVICE, SVC("ns2", "other", "198.18.100.11", "{\"port\": 80}")) ||
	    !put(&slices, K8S_SLICE,
		 SLICE("ns1", "web-a", "web", "IPv4", "{\"port\": 80}",
		       EP("198.18.11.2", "true", "false"))) ||
	    !ASSERT_OK(k8s_view_build(&svcs, &slices, NULL, &good), "build"))
		goto out;
	ASSERT_EQ(good.n, 2, "VIPs");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!put(&svcs, K8S_SERVICE, bad[i].svc) ||
		    !ASSERT_OK(k8s_view_build(&svcs, &slices, &good, &v), "build"))
			goto out;
		ASSERT_EQ(v.nrefused, 1, bad[i].why);
		if (v.nrefused) {
			ASSERT_STREQ(v.refused[0].origin, "kubernetes service ns1/web", "origin");
			ASSERT_STREQ(v.refused[0].why, bad[i].why, "why");
		}
		/* What it had, as it was; the other Service untouched. */
		ASSERT_STREQ(backends_of(vip_of(&v, "198.18.100.10:80/tcp")), "198.18.11.2:80=100",
			     "kept");
		ASSERT_TRUE(vip_of(&v, "198.18.100.11:80/tcp") != NULL, "other kept");
		ASSERT_EQ(v.n, 2, "VIPs");
		k8s_view_free(&v);
	}

	/* A bad endpoint address refuses the Service too. */
	if (!put(&svcs, K8S_SERVICE, SVC("ns1", "web", "198.18.100.10", "{\"port\": 80}")) ||
	    !put(&slices, K8S_SLICE,
		 SLICE("ns1", "web-a", "web", "IPv4", "{\"port\": 80}",
		       EP("198.18.11.2", "true", "false") ", " EP("198.18.11.x", "true",
								  "false"))) ||
	    !ASSERT_OK(k8s_view_build(&svcs, &slices, &good, &v), "build"))
		goto out;
	ASSERT_EQ(v.nrefused, 1, "bad endpoint");
	if (v.nrefused)
		ASSERT_STREQ(v.refused[0].why,
			     "EndpointSlice ns1/web-a: endpoint address '198.18.11.x' is not an "
			     "IPv4 address",
			     "why");
	k8s_view_free(&v);

	/* A VIP two Services claim: the one created first has it (with no creationTimestamp or
	 * uid, as here, namespace and name settle it). */
	if (!put(&slices, K8S_SLICE,
		 SLICE("ns1", "web-a", "web", "IPv4", "{\"port\": 80}",
		       EP("198.18.11.2", "true", "false"))) ||
	    !put(&svcs, K8S_SERVICE, SVC("ns3", "copy", "198.18.100.10", "{\"port\": 80}")) ||
	    !ASSERT_OK(k8s_view_build(&svcs, &slices, &good, &v), "build"))
		goto out;
	ASSERT_EQ(v.n, 2, "VIPs");
	ASSERT_EQ(v.nrefused, 1, "copy");
	if (v.nrefused)
		ASSERT_STREQ(v.refused[0].why,
			     "VIP 198.18.100.10:80/tcp is kubernetes service ns1/web's already",
			     "why");
	ASSERT_STREQ(backends_of(vip_of(&v, "198.18.100.10:80/tcp")), "198.18.11.2:80=100",
		     "first keeps it");
out:
	k8s_view_free(&v);
	k8s_view_free(&good);
	k8s_store_clear(&svcs);
	k8s_store_clear(&slices);
}

VEER_TEST(k8s_obj_parse_refuses_what_it_cannot_read)
{
	static const struct {
		const char *json, *why;
	} cases[] = {
		{"{\"metadata\": {\"namespace\": \"a\"}}", "metadata.name is missing"},
		{"{\"metadata\": {\"name\": \"a\"}}", "metadata.namespace is missing"},
		{"{\"metadata\": {\"namespace\": \"a\", \"name\": \"b\"}, \"spec\": {\"ports\": "
		 "3}}",
		 "ports: not a list"},
		{"{\"metadata\": {\"namespace\": \"a\", \"name\": \"b\"}, \"spec\": {\"ports\": "
		 "[{\"port\": 70000}]}}",
		 "ports[0].port: 70000 is not a port"},
		{"[]", "not an object"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *o = json_tokener_parse(cases[i].json);
		struct k8s_obj *obj = NULL;
		char err[K8S_ERR_LEN] = "";

		ASSERT_EQ(k8s_obj_parse(K8S_SERVICE, o, &obj, err, sizeof(err)), -EINVAL,
			  cases[i].json);
		ASSERT_STREQ(err, cases[i].why, cases[i].json);
		ASSERT_TRUE(obj == NULL, "no object");
		json_object_put(o);
	}
}

static char *write_tmp(const char *dir, const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

#define KUBECONFIG_HEAD                                                                            \
	"apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: other\n  context: "  \
	"{cluster: x, user: x}\n- name: c\n  context: {cluster: k, user: u}\n"

VEER_TEST(k8s_conn_from_kubeconfig)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{"clusters: [\n", ":2:1: did not find expected node content"},
		{"clusters: []\n", ": current-context is not set"},
		{"current-context: nope\ncontexts: []\n", ": context 'nope' is not in contexts"},
		{KUBECONFIG_HEAD "clusters: []\nusers: [{name: u, user: {token: t}}]\n",
		 ": cluster 'k' is not in clusters"},
		{KUBECONFIG_HEAD
		 "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:8080'}}]\n"
		 "users: [{name: u, user: {token: t}}]\n",
		 ": cluster 'k': server http://127.0.0.1:8080 is not https://"},
		{KUBECONFIG_HEAD
		 "clusters: [{name: k, cluster: {server: 'https://h', "
		 "insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\n",
		 ": cluster 'k': insecure-skip-tls-verify is refused: give certificate-authority "
		 "or "
		 "certificate-authority-data"},
		{KUBECONFIG_HEAD "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
				 "users: [{name: u, user: {exec: {command: aws}}}]\n",
		 ": user 'u': exec and auth-provider plugins are not supported: give token, "
		 "tokenFile or a client certificate"},
		{KUBECONFIG_HEAD "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
				 "users: [{name: u, user: {}}]\n",
		 ": user 'u' has no token, tokenFile or client certificate"},
		{KUBECONFIG_HEAD
		 "clusters: [{name: k, cluster: {server: 'https://h', "
		 "certificate-authority-data: 'a$b'}}]\nusers: [{name: u, user: {token: t}}]\n",
		 ": cluster 'k': certificate-authority-data is not base64"},
	};
	char dir[] = "/tmp/veer-unit-k8s-XXXXXX", err[K8S_ERR_LEN], *path, want[1024];
	struct k8s_conn c;

	if (!ASSERT_TRUE(mkdtemp(dir) != NULL, "mkdtemp"))
		return;
	/* Relative files are the kubeconfig's directory's; data is base64 (here of "PEM\n"). */
	path = write_tmp(dir, "config",
			 KUBECONFIG_HEAD
			 "clusters:\n- name: x\n  cluster: {server: 'https://wrong'}\n"
			 "- name: k\n  cluster:\n    server: https://127.0.0.1:6443/\n"
			 "    certificate-authority: ca.crt\n"
			 "users:\n- name: u\n  user:\n    tokenFile: tok\n"
			 "    client-certificate-data: UEVNCg==\n    client-key: /k/key.pem\n");
	if (!ASSERT_TRUE(path != NULL, "write") ||
	    !ASSERT_OK(k8s_conn_kubeconfig(path, &c, err, sizeof(err)), err))
		goto out;
	ASSERT_STREQ(c.server, "https://127.0.0.1:6443", "server");
	snprintf(want, sizeof(want), "%s/ca.crt", dir);
	ASSERT_STREQ(c.ca_file, want, "ca");
	snprintf(want, sizeof(want), "%s/tok", dir);
	ASSERT_STREQ(c.token_file, want, "tokenFile");
	ASSERT_MEMEQ(c.cert_data, c.cert_len, "PEM\n", 4, "client-certificate-data");
	ASSERT_STREQ(c.key_file, "/k/key.pem", "client-key");
	snprintf(want, sizeof(want), "kubeconfig %s", path);
	ASSERT_STREQ(c.where, want, "where");
	k8s_conn_free(&c);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = write_tmp(dir, "config", bad[i].text);
		ASSERT_ERR(k8s_conn_kubeconfig(path, &c, err, sizeof(err)), bad[i].err);
		snprintf(want, sizeof(want), "kubeconfig %s%s", path, bad[i].err);
		ASSERT_STREQ(err, want, "message");
	}
	snprintf(want, sizeof(want), "%s/none", dir);
	ASSERT_EQ(k8s_conn_kubeconfig(want, &c, err, sizeof(err)), -ENOENT, "missing");
	snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s", "");
	ASSERT_TRUE(strstr(err, ": cannot read: No such file or directory") != NULL, err);

	/* In a pod: the service's address (IPv6 in brackets), the account's files. */
	write_tmp(dir, "ca.crt", "PEM\n");
	setenv("KUBERNETES_SERVICE_HOST", "2001:2::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	if (ASSERT_OK(k8s_conn_incluster(dir, &c, err, sizeof(err)), err)) {
		ASSERT_STREQ(c.server, "https://[2001:2::1]:443", "in-cluster server");
		snprintf(want, sizeof(want), "%s/token", dir);
		ASSERT_STREQ(c.token_file, want, "in-cluster token");
		k8s_conn_free(&c);
	}
	unsetenv("KUBERNETES_SERVICE_HOST");
	ASSERT_EQ(k8s_conn_incluster(dir, &c, err, sizeof(err)), -ENOENT, "not in a pod");
	ASSERT_STREQ(err,
		     "in-cluster config: KUBERNETES_SERVICE_HOST is not set (not in a pod? give "
		     "sources.kubernetes.kubeconfig outside a cluster)",
		     "not in a pod");
	unsetenv("KUBERNETES_SERVICE_PORT");
out:
	snprintf(want, sizeof(want), "%s/config", dir);
	unlink(want);
	snprintf(want, sizeof(want), "%s/ca.crt", dir);
	unlink(want);
	rmdir(dir);
}

#define SVC_AT(ns, name, vip, ports, created, uid)                                                \
	"{\"metadata\": {\"namespace\": \"" ns "\", \"name\": \"" name "\", \"creationTimestamp\": " \
	"\"" created "\", \"uid\": \"" uid "\", \"annotations\": {\"veer.io/vip\": \"" vip "\"}},"  \
	" \"spec\": {\"ports\": [" ports "]}}"

VEER_TEST(k8s_view_first_created_holds_a_vip)
{
	struct k8s_store svcs = {}, slices = {};
	struct k8s_view prev = {}, v = {};

	/* ns9/zeta, created first, has the VIP; ns1/alpha comes later and sorts before it. */
	if (!put(&svcs, K8S_SERVICE,
		 SVC_AT("ns9", "zeta", "198.18.100.10", "{\"port\": 80}", "2024-01-01T00:00:00Z",
			"bbbb")) ||
	    !put(&slices, K8S_SLICE,
		 SLICE("ns9", "zeta-a", "zeta", "IPv4", "{\"port\": 80}",
		       EP("198.18.11.2", "true", "false"))) ||
	    !ASSERT_OK(k8s_view_build(&svcs, &slices, NULL, &prev), "build"))
		goto out;
	if (!put(&svcs, K8S_SERVICE,
		 SVC_AT("ns1", "alpha", "198.18.100.10", "{\"port\": 80}, {\"port\": 81}",
			"2024-01-02T00:00:00Z", "aaaa")) ||
	    !ASSERT_OK(k8s_view_build(&svcs, &slices, &prev, &v), "build"))
		goto out;
	ASSERT_EQ(v.n, 1, "VIPs: zeta's only, alpha refused whole");
	ASSERT_EQ(v.nrefused, 1, "alpha refused");
	if (v.nrefused) {
		ASSERT_STREQ(v.refused[0].origin, "kubernetes service ns1/alpha", "origin");
		ASSERT_STREQ(v.refused[0].why,
			     "VIP 198.18.100.10:80/tcp is kubernetes service ns9/zeta's already",
			     "the holder is named");
	}
	ASSERT_STREQ(backends_of(vip_of(&v, "198.18.100.10:80/tcp")), "198.18.11.2:80=100",
		     "zeta keeps it");
	ASSERT_TRUE(vip_of(&v, "198.18.100.10:81/tcp") == NULL, "nothing of alpha");
	ASSERT_EQ(v.n ? strcmp(v.origins[0], "kubernetes service ns9/zeta") : 1, 0, "holder");
	/* Known whole, only beaten to the VIP: no hold. */
	ASSERT_TRUE(!v.hold, "no hold for a VIP another holds");
	k8s_view_free(&v);

	/* Created in the same second (times have seconds only): the one that has it keeps it. */
	if (!put(&svcs, K8S_SERVICE,
		 SVC_AT("ns1", "alpha", "198.18.100.10", "{\"port\": 80}", "2024-01-01T00:00:00Z",
			"aaaa")) ||
	    !ASSERT_OK(k8s_view_build(&svcs, &slices, &prev, &v), "build"))
		goto out;
	ASSERT_EQ(v.nrefused, 1, "one refused");
	if (v.nrefused)
		ASSERT_STREQ(v.refused[0].origin, "kubernetes service ns1/alpha", "not the holder");
	k8s_view_free(&v);
	/* With none holding it (veerd started), the uid settles it, the same way every time. */
	if (!ASSERT_OK(k8s_view_build(&svcs, &slices, NULL, &v), "build"))
		goto out;
	ASSERT_EQ(v.nrefused, 1, "one refused");
	if (v.nrefused)
		ASSERT_STREQ(v.refused[0].origin, "kubernetes service ns9/zeta", "the later uid");
out:
	k8s_view_free(&v);
	k8s_view_free(&prev);
	k8s_store_clear(&svcs);
	k8s_store_clear(&slices);
}

VEER_TEST(k8s_view_refused_without_a_good_value_holds)
{
	struct k8s_store svcs = {}, slices = {};
	struct k8s_view good = {}, v = {};

	if (!put(&svcs, K8S_SERVICE, SVC("ns1", "web", "198.18.100.10", "{\"port\": 80}")) ||
	    !put(&slices, K8S_SLICE,
		 SLICE("ns1", "web-a", "web", "IPv4", "{\"port\": 80}",
		       EP("198.18.11.2", "true", "false"))) ||
	    !ASSERT_OK(k8s_view_build(&svcs, &slices, NULL, &good), "build"))
		goto out;
	ASSERT_TRUE(!good.hold, "nothing refused");
	if (!put(&slices, K8S_SLICE,
		 SLICE("ns1", "web-a", "web", "IPv4", "{\"port\": 80}",
		       EP("not-an-ip", "true", "false"))) ||
	    !ASSERT_OK(k8s_view_build(&svcs, &slices, &good, &v), "build"))
		goto out;
	ASSERT_EQ(v.nrefused, 1, "refused");
	ASSERT_TRUE(!v.hold, "it keeps its last good VIPs: no hold");
	k8s_view_free(&v);
	/* As after a restart: no last good value of it. */
	if (!ASSERT_OK(k8s_view_build(&svcs, &slices, NULL, &v), "build"))
		goto out;
	ASSERT_EQ(v.n, 0, "no VIP");
	ASSERT_TRUE(v.hold, "hold: it may have had VIPs before");
out:
	k8s_view_free(&v);
	k8s_view_free(&good);
	k8s_store_clear(&svcs);
	k8s_store_clear(&slices);
}

VEER_TEST(k8s_view_annotation_one_address_per_family)
{
	static const struct {
		const char *vip, *why;
	} bad[] = {
		{"198.18.100.10, 198.18.100.11",
		 "annotation veer.io/vip: more than one IPv4 address (give one address, or one IPv4 "
		 "and one IPv6)"},
		{"198.18.100.10,2001:2::10,2001:2::11",
		 "annotation veer.io/vip: more than one IPv6 address (give one address, or one IPv4 "
		 "and one IPv6)"},
	};
	struct k8s_store svcs = {}, slices = {};
	struct k8s_view v = {};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char json[512];

		snprintf(json, sizeof(json), SVC("ns1", "web", "%s", "{\"port\": 80}"), bad[i].vip);
		if (!put(&svcs, K8S_SERVICE, json) ||
		    !ASSERT_OK(k8s_view_build(&svcs, &slices, NULL, &v), "build"))
			goto out;
		ASSERT_EQ(v.n, 0, "no VIP");
		ASSERT_EQ(v.nrefused, 1, bad[i].vip);
		if (v.nrefused)
			ASSERT_STREQ(v.refused[0].why, bad[i].why, "why");
		k8s_view_free(&v);
	}

	/* An IPv6 VIP whose slices are all IPv4: made, without backends, and a note says why. */
	if (!put(&svcs, K8S_SERVICE, SVC("ns1", "web", "2001:2::10", "{\"port\": 80}")) ||
	    !ASSERT_OK(k8s_view_build(&svcs, &slices, NULL, &v), "build"))
		goto out;
	ASSERT_EQ(v.nnotes, 0, "no slice at all: no note (no pods is not a mistake)");
	k8s_view_free(&v);
	if (!put(&slices, K8S_SLICE,
		 SLICE("ns1", "web-a", "web", "IPv4", "{\"port\": 80}",
		       EP("198.18.11.2", "true", "false"))) ||
	    !ASSERT_OK(k8s_view_build(&svcs, &slices, NULL, &v), "build"))
		goto out;
	ASSERT_EQ(v.n, 1, "the VIP is made");
	ASSERT_EQ(v.n ? v.specs[0].nbackends : 1, 0, "without backends");
	ASSERT_EQ(v.nnotes, 1, "a note");
	if (v.nnotes) {
		ASSERT_STREQ(v.notes[0].origin, "kubernetes service ns1/web", "note origin");
		ASSERT_STREQ(v.notes[0].why,
			     "annotation veer.io/vip: 2001:2::10 has no backends: the Service has no "
			     "IPv6 endpoint (its EndpointSlices are of another family)",
			     "note");
	}
out:
	k8s_view_free(&v);
	k8s_store_clear(&svcs);
	k8s_store_clear(&slices);
}
