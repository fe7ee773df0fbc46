// SPDX-License-Identifier: GPL-2.0
/*
 * The config file (user/lib/config.c): a full config read field by field, defaults filled,
 * and bad configs each refused with one exact line "FILE:LINE:COL: KEY: what is wrong".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "test.h"
#include "veer.h"

static const char good_yaml[] =
	"# a node of two interfaces, two VIPs, the cache and metrics\n"
	"interfaces:\n"
	"  - name: veth-c\n"
	"  - {name: eth1, hook: xdp, mode: generic}\n"
	"  - {name: veth-b, hook: tc}\n"
	"vips:\n"
	"  - address: 198.18.100.10\n"
	"    port: 80\n"
	"    protocol: tcp\n"
	"    mode: nat\n"
	"    affinity: 30s\n"
	"    ring_size: 131071\n"
	"    backends:\n"
	"      - {address: 198.18.11.2, weight: 100}\n"
	"      - address: 198.18.12.2\n"
	"        port: 8080\n"
	"        weight: 0\n"
	"        pool: default\n"
	"    health: {type: http, port: 8081, path: /healthz, expect: 204, interval: 2s,\n"
	"             timeout: 300ms, rise: 1, fall: 5, on_down: reset}\n"
	"  - address: 2001:2::10\n"
	"    port: 53\n"
	"    protocol: udp\n"
	"    mode: dsr-ipip\n"
	"    affinity: 60\n"
	"    backends: [{address: '2001:2::11'}]\n"
	"    health: {}\n"
	"  - address: 198.18.100.11\n"
	"    port: 443\n"
	"cache:\n"
	"  cgroup: /sys/fs/cgroup/app\n"
	"  port: 11211\n"
	"  proto: memcached\n"
	"  server: '[2001:2::20]:11211'\n"
	"  hot_keys: {top: 500, ttl: 2m, interval: 250ms}\n"
	"metrics: {listen: '[::1]:9500'}\n";

static struct veer_config *parse_ok(const char *yaml, const char *what)
{
	char err[VEER_CONFIG_ERR_LEN] = "";
	struct veer_config *c = NULL;
	int rc = veer_config_parse(yaml, strlen(yaml), "veer.yaml", &c, err, sizeof(err));

	if (!ASSERT_OK(rc, what)) {
		fprintf(stderr, "    %s\n", err);
		return NULL;
	}
	return c;
}

static bool addr_is(const union veer_addr *a, __u8 family, const char *text)
{
	char buf[VEER_ADDR_STRLEN];

	return !strcmp(veer_fmt_addr(a, family, buf, sizeof(buf)), text);
}

VEER_TEST(config_good_full)
{
	struct veer_config *c = parse_ok(good_yaml, "good config");
	const struct veer_vip_spec *v;
	const struct veer_health_spec *h;

	if (!c)
		return;
	ASSERT_STREQ(c->path, "veer.yaml", "path");

	if (ASSERT_EQ(c->nifaces, 3, "interfaces")) {
		ASSERT_STREQ(c->ifaces[0].name, "veth-c", "if0 name");
		ASSERT_EQ(c->ifaces[0].hook, VEER_HOOK_AUTO, "if0 hook default auto");
		ASSERT_EQ(c->ifaces[0].mode, VEER_XDP_NATIVE, "if0 mode default native");
		ASSERT_EQ(c->ifaces[0].pos.line, 3, "if0 line");
		ASSERT_EQ(c->ifaces[0].pos.col, 5, "if0 col");
		ASSERT_STREQ(c->ifaces[1].name, "eth1", "if1 name");
		ASSERT_EQ(c->ifaces[1].hook, VEER_HOOK_XDP, "if1 hook");
		ASSERT_EQ(c->ifaces[1].mode, VEER_XDP_GENERIC, "if1 mode");
		ASSERT_EQ(c->ifaces[1].pos.line, 4, "if1 line");
		ASSERT_EQ(c->ifaces[2].hook, VEER_HOOK_TC, "if2 hook");
	}

	if (!ASSERT_EQ(c->nvips, 3, "vips"))
		goto out;
	v = &c->vips[0];
	ASSERT_EQ(v->pos.line, 7, "vip0 line");
	ASSERT_EQ(v->pos.col, 5, "vip0 col");
	ASSERT_EQ(v->key.family, VEER_AF_INET, "vip0 family");
	ASSERT_TRUE(addr_is(&v->key.addr, v->key.family, "198.18.100.10"), "vip0 address");
	ASSERT_EQ(ntohs(v->key.port), 80, "vip0 port");
	ASSERT_EQ(v->key.proto, IPPROTO_TCP, "vip0 protocol");
	ASSERT_EQ(v->opts.mode, VEER_MODE_NAT, "vip0 mode");
	ASSERT_EQ(v->opts.affinity, 30, "vip0 affinity (seconds)");
	ASSERT_EQ(v->opts.ring_size, 131071, "vip0 ring size");
	if (ASSERT_EQ(v->nbackends, 2, "vip0 backends")) {
		ASSERT_TRUE(
			addr_is(&v->backends[0].ep.addr, v->backends[0].ep.family, "198.18.11.2"),
			"be0 address");
		ASSERT_EQ(v->backends[0].ep.port, 0, "be0 port: the VIP's");
		ASSERT_EQ(v->backends[0].weight, 100, "be0 weight");
		ASSERT_STREQ(v->backends[0].pool, "default", "be0 pool default");
		ASSERT_EQ(v->backends[0].pos.line, 14, "be0 line");
		ASSERT_EQ(v->backends[0].pos.col, 9, "be0 col");
		ASSERT_EQ(ntohs(v->backends[1].ep.port), 8080, "be1 port");
		ASSERT_EQ(v->backends[1].weight, 0, "be1 weight 0 (drained)");
		ASSERT_EQ(v->backends[1].pos.line, 15, "be1 line");
	}
	h = &v->health;
	ASSERT_EQ(h->type, VEER_HEALTH_HTTP, "health type");
	ASSERT_EQ(h->port, 8081, "health port");
	ASSERT_STREQ(h->path, "/healthz", "health path");
	ASSERT_EQ(h->expect, 204, "health expect");
	ASSERT_EQ(h->interval_ms, 2000, "health interval");
	ASSERT_EQ(h->timeout_ms, 300, "health timeout");
	ASSERT_EQ(h->rise, 1, "health rise");
	ASSERT_EQ(h->fall, 5, "health fall");
	ASSERT_TRUE(h->on_down_reset, "health on_down reset");

	v = &c->vips[1];
	ASSERT_EQ(v->key.family, VEER_AF_INET6, "vip1 family");
	ASSERT_TRUE(addr_is(&v->key.addr, v->key.family, "2001:2::10"), "vip1 address");
	ASSERT_EQ(ntohs(v->key.port), 53, "vip1 port");
	ASSERT_EQ(v->key.proto, IPPROTO_UDP, "vip1 protocol");
	ASSERT_EQ(v->opts.mode, VEER_MODE_DSR_IPIP, "vip1 mode");
	ASSERT_EQ(v->opts.affinity, 60, "vip1 affinity: a bare number is seconds");
	ASSERT_EQ(v->opts.ring_size, VEER_RING_DEFAULT, "vip1 ring size default");
	if (ASSERT_EQ(v->nbackends, 1, "vip1 backends")) {
		ASSERT_EQ(v->backends[0].ep.family, VEER_AF_INET6, "v6 backend family");
		ASSERT_TRUE(addr_is(&v->backends[0].ep.addr, VEER_AF_INET6, "2001:2::11"),
			    "v6 backend address");
		ASSERT_EQ(v->backends[0].weight, VEER_WEIGHT_DEFAULT, "weight default");
	}
	/* health: {} is a TCP check with every default. */
	h = &v->health;
	ASSERT_EQ(h->type, VEER_HEALTH_TCP, "default health type");
	ASSERT_EQ(h->port, 0, "default health port: the backend's");
	ASSERT_STREQ(h->path, "/", "default path");
	ASSERT_EQ(h->expect, 200, "default expect");
	ASSERT_EQ(h->interval_ms, 1000, "default interval");
	ASSERT_EQ(h->timeout_ms, 500, "default timeout");
	ASSERT_EQ(h->rise, 2, "default rise");
	ASSERT_EQ(h->fall, 3, "default fall");
	ASSERT_FALSE(h->on_down_reset, "default on_down keep");

	/* The smallest VIP: protocol tcp, mode nat, no affinity, no backends, no health. */
	v = &c->vips[2];
	ASSERT_EQ(v->key.proto, IPPROTO_TCP, "protocol default tcp");
	ASSERT_EQ(v->opts.mode, VEER_MODE_NAT, "mode default nat");
	ASSERT_EQ(v->opts.affinity, 0, "affinity default 0");
	ASSERT_EQ(v->nbackends, 0, "no backends");
	ASSERT_EQ(v->health.type, VEER_HEALTH_NONE, "no health block, no checks");

	ASSERT_TRUE(c->cache.enabled, "cache enabled");
	ASSERT_STREQ(c->cache.cgroup, "/sys/fs/cgroup/app", "cache cgroup");
	ASSERT_EQ(c->cache.port, 11211, "cache port");
	ASSERT_EQ(c->cache.proto, VEER_CACHE_MEMCACHED, "cache proto");
	ASSERT_STREQ(c->cache.server_host, "2001:2::20", "cache server host, no brackets");
	ASSERT_EQ(c->cache.server_port, 11211, "cache server port");
	ASSERT_EQ(c->cache.top, 500, "hot_keys top");
	ASSERT_EQ(c->cache.ttl_s, 120, "hot_keys ttl");
	ASSERT_EQ(c->cache.interval_ms, 250, "hot_keys interval");
	ASSERT_EQ(c->cache.pos.line, 31, "cache line");

	ASSERT_TRUE(c->metrics.enabled, "metrics enabled");
	ASSERT_STREQ(c->metrics.listen, "[::1]:9500", "metrics listen");
out:
	veer_config_free(c);
}

VEER_TEST(config_good_defaults)
{
	struct veer_config *c = parse_ok("{}\n", "empty map");

	if (c) {
		ASSERT_EQ(c->nifaces, 0, "no interfaces");
		ASSERT_EQ(c->nvips, 0, "no VIPs");
		ASSERT_FALSE(c->cache.enabled, "no cache");
		ASSERT_TRUE(c->metrics.enabled, "metrics on by default");
		ASSERT_STREQ(c->metrics.listen, "127.0.0.1:9464", "metrics default listen");
		veer_config_free(c);
	}
	/* Lists left empty declare nothing; metrics off; the cache's server defaults to local. */
	c = parse_ok("interfaces:\nvips: []\nmetrics: {listen: off}\n"
		     "cache: {cgroup: /sys/fs/cgroup/app, port: 6379}\n",
		     "empty lists");
	if (c) {
		ASSERT_EQ(c->nvips, 0, "no VIPs");
		ASSERT_FALSE(c->metrics.enabled, "metrics off");
		ASSERT_EQ(c->cache.proto, VEER_CACHE_REDIS, "cache proto default redis");
		ASSERT_STREQ(c->cache.server_host, "127.0.0.1", "cache server default host");
		ASSERT_EQ(c->cache.server_port, 6379, "cache server default port");
		ASSERT_EQ(c->cache.top, 100, "hot_keys top default");
		ASSERT_EQ(c->cache.ttl_s, 30, "hot_keys ttl default");
		ASSERT_EQ(c->cache.interval_ms, 1000, "hot_keys interval default");
		veer_config_free(c);
	}
	/* An XDP mode alone asks for XDP, as `veer attach --mode` does. */
	c = parse_ok("interfaces: [{name: eth0, mode: generic}]\n", "mode alone");
	if (c) {
		ASSERT_EQ(c->ifaces[0].hook, VEER_HOOK_XDP, "mode implies xdp");
		veer_config_free(c);
	}
	veer_config_free(NULL);
}

struct bad_case {
	const char *what;
	const char *yaml;
	const char *err;
};

#define VIP80 "vips:\n  - address: 198.18.100.10\n    port: 80\n"

static const struct bad_case bad_cases[] = {
	{"port out of range", VIP80 "  - address: 198.18.100.11\n    port: 70000\n",
	 "veer.yaml:5:11: vips[1].port: 70000 is not a port (want 1..65535)"},
	{"port quoted", "vips:\n  - address: 198.18.100.10\n    port: \"80\"\n",
	 "veer.yaml:3:11: vips[0].port: \"80\" is a quoted string: write the number without "
	 "quotes"},
	{"port a word", "vips:\n  - address: 198.18.100.10\n    port: http\n",
	 "veer.yaml:3:11: vips[0].port: http is not a port (want 1..65535)"},
	{"port a list", "vips:\n  - address: 198.18.100.10\n    port: [80]\n",
	 "veer.yaml:3:11: vips[0].port: want a port, got a list"},
	{"duplicate VIP", VIP80 "  - address: 198.18.100.10\n    port: 80\n    protocol: tcp\n",
	 "veer.yaml:4:5: vips[1]: 198.18.100.10:80/tcp is declared twice (first as vips[0], line "
	 "2)"},
	{"duplicate IPv6 VIP",
	 "vips:\n  - {address: 2001:2::10, port: 443}\n  - {address: '2001:2:0::10', port: 443}\n",
	 "veer.yaml:3:5: vips[1]: [2001:2::10]:443/tcp is declared twice (first as vips[0], line "
	 "2)"},
	{"unknown VIP key", VIP80 "    adress: 198.18.100.11\n",
	 "veer.yaml:4:5: vips[0].adress: unknown key (want address, port, protocol, mode, "
	 "affinity, ring_size, backends, health)"},
	{"unknown top-level key", "vip:\n  - address: 198.18.100.10\n",
	 "veer.yaml:1:1: vip: unknown key (want interfaces, vips, cache, metrics, sources, "
	 "webhooks)"},
	{"limits not yet", "limits: [{cidr: 0.0.0.0/0, pps: 10000}]\n",
	 "veer.yaml:1:1: limits: not supported yet by this veer (it reads interfaces, vips, "
	 "cache, metrics, sources, webhooks)"},
	{"unknown source", "sources:\n  consul: {}\n",
	 "veer.yaml:2:3: sources.consul: unknown key (want etcd, kubernetes)"},
	{"etcd without endpoints", "sources:\n  etcd: {prefix: /veer/}\n",
	 "veer.yaml:2:9: sources.etcd: endpoints is required ([http://127.0.0.1:2379])"},
	{"etcd endpoint not a URL", "sources:\n  etcd: {endpoints: ['127.0.0.1 2379']}\n",
	 "veer.yaml:2:22: sources.etcd.endpoints[0]: \"127.0.0.1 2379\" is not a URL (want "
	 "http://127.0.0.1:2379)"},
	{"etcd endpoint not http", "sources:\n  etcd: {endpoints: [unix:///run/etcd.sock]}\n",
	 "veer.yaml:2:22: sources.etcd.endpoints[0]: unix:///run/etcd.sock is not an http or "
	 "https URL (want http://127.0.0.1:2379)"},
	{"etcd no endpoint", "sources:\n  etcd: {endpoints: []}\n",
	 "veer.yaml:2:21: sources.etcd.endpoints: no endpoint (want at least one URL)"},
	{"etcd prefix without a slash", "sources:\n  etcd: {endpoints: [http://127.0.0.1:2379], "
	 "prefix: /veer}\n",
	 "veer.yaml:2:54: sources.etcd.prefix: /veer does not end with / (keys are PREFIX + "
	 "\"vips/NAME\": want /veer/)"},
	{"etcd endpoint with a path", "sources:\n  etcd: {endpoints: [http://127.0.0.1:2379/v3]}\n",
	 "veer.yaml:2:22: sources.etcd.endpoints[0]: http://127.0.0.1:2379/v3 has a path or a "
	 "query (want http://127.0.0.1:2379)"},
	{"etcd endpoint without a port", "sources:\n  etcd: {endpoints: [http://127.0.0.1]}\n",
	 "veer.yaml:2:22: sources.etcd.endpoints[0]: http://127.0.0.1 has no port (etcd's is "
	 "2379: want http://127.0.0.1:2379)"},
	{"etcd endpoint with credentials",
	 "sources:\n  etcd: {endpoints: ['http://u:pw@127.0.0.1:2379']}\n",
	 "veer.yaml:2:22: sources.etcd.endpoints[0]: \"http://u:pw@127.0.0.1:2379\" carries "
	 "credentials: etcd authentication is not supported (want http://127.0.0.1:2379)"},
	{"etcd endpoint twice",
	 "sources:\n  etcd: {endpoints: [http://127.0.0.1:2379, 'http://127.0.0.1:2379/']}\n",
	 "veer.yaml:2:45: sources.etcd.endpoints[1]: \"http://127.0.0.1:2379/\" is listed twice"},
	{"kubernetes empty", "sources:\n  kubernetes:\n",
	 "veer.yaml:2:14: sources.kubernetes: want a map like {} (in a cluster) or {kubeconfig: "
	 "/etc/veer/kubeconfig}, got nothing"},
	{"kubeconfig relative", "sources:\n  kubernetes: {kubeconfig: kube.conf}\n",
	 "veer.yaml:2:28: sources.kubernetes.kubeconfig: kube.conf is not an absolute path under "
	 "256 bytes (want /etc/veer/kubeconfig)"},
	{"webhook url ftp",
	 "webhooks: [{url: ftp://198.18.0.1/hook, secret_file: /etc/veer/hook.key}]\n",
	 "veer.yaml:1:18: webhooks[0].url: ftp://198.18.0.1/hook is not an http or https URL "
	 "(want http://127.0.0.1:9000/hook)"},
	{"webhook url without a host",
	 "webhooks: [{url: 'http:///nohost', secret_file: /etc/veer/hook.key}]\n",
	 "veer.yaml:1:18: webhooks[0].url: \"http:///nohost\" has no host (want "
	 "http://127.0.0.1:9000/hook)"},
	{"webhook without secret", "metrics: {}\nwebhooks: [{url: http://127.0.0.1:9000/hook}]\n",
	 "veer.yaml:2:12: webhooks[0]: secret_file is required (its bytes sign every delivery: "
	 "X-Veer-Signature)"},
	{"webhook event type unknown",
	 "webhooks:\n  - url: http://127.0.0.1:9000/hook\n    secret_file: /k\n    events: "
	 "[backend_down, backend_sideways]\n",
	 "veer.yaml:4:28: webhooks[0].events[1]: backend_sideways is not an event type (want one "
	 "of flow_new, drop_burst, table_full, backend_down, backend_up, config_applied, "
	 "config_refused, source_connected, source_lost, cache_feed_lost)"},
	{"webhook queue_max", "webhooks: [{url: 'https://198.18.0.1/', secret_file: /k, queue_max: "
	 "12 bytes}]\n",
	 "veer.yaml:1:69: webhooks[0].queue_max: \"12 bytes\" is not a size (want bytes, or KiB, MiB, "
	 "GiB: 64MiB)"},
	{"tab indentation", "vips:\n\t- address: 198.18.100.10\n",
	 "veer.yaml:2:1: a tab: YAML indents with spaces only (found character that cannot start "
	 "any token)"},
	{"non-UTF-8 byte", "vips:\n  - address: 198.18.100.\xff\n    port: 80\n",
	 "veer.yaml:2:25: byte 0xff is not UTF-8 (invalid leading UTF-8 octet)"},
	{"NUL byte", "vips: []\x00\n", "veer.yaml:1:9: control character 0x00 is not allowed"},
	{"NUL in a quoted value", "vips:\n  - address: \"198.18.100.10\\0\"\n    port: 80\n",
	 "veer.yaml:2:14: vips[0].address: \"198.18.100.10\\x00\" holds a NUL byte"},
	{"comments only", "# nothing yet\n\n",
	 "veer.yaml: no settings in the file, only comments or blank lines (write {} for a "
	 "config that declares nothing)"},
	{"billion laughs",
	 "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	 "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	 "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	 "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	 "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
	 "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
	 "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
	 "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
	 "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n",
	 "veer.yaml:1:4: anchors (&a) are not supported: write each value out"},
	{"merge key alias", VIP80 "    <<: *base\n",
	 "veer.yaml:4:9: aliases (*base) are not supported: write the value out"},
	{"tag", "vips:\n  - address: 198.18.100.10\n    port: !!int 80\n",
	 "veer.yaml:3:11: tags (!!int) are not supported: write plain values"},
	{"vips a map", "vips:\n  address: 198.18.100.10\n",
	 "veer.yaml:2:3: vips: want a list like [{address: 198.18.100.10, port: 80}], got a map"},
	{"VIP a scalar", "vips: [198.18.100.10:80]\n",
	 "veer.yaml:1:8: vips[0]: want a map like {address: 198.18.100.10, port: 80, backends: "
	 "[...]}, got 198.18.100.10:80"},
	{"health a list", VIP80 "    health: [tcp]\n",
	 "veer.yaml:4:13: vips[0].health: want a map like {type: tcp, interval: 1s}, got a list"},
	{"health empty", VIP80 "    health:\n",
	 "veer.yaml:4:12: vips[0].health: want a map like {type: tcp, interval: 1s}, got nothing"},
	{"top level a list", "- address: 198.18.100.10\n",
	 "veer.yaml:1:1: the config is a map of settings (interfaces, vips, cache, metrics, "
	 "sources, webhooks), not "
	 "a list"},
	{"missing address", "vips:\n  - port: 80\n", "veer.yaml:2:5: vips[0]: address is required"},
	{"missing port", "vips:\n  - address: 198.18.100.10\n    protocol: udp\n",
	 "veer.yaml:2:5: vips[0]: port is required"},
	{"missing backend address", VIP80 "    backends: [{weight: 5}]\n",
	 "veer.yaml:4:16: vips[0].backends[0]: address is required"},
	{"bad address", "vips:\n  - address: 198.18.300.1\n    port: 80\n",
	 "veer.yaml:2:14: vips[0].address: 198.18.300.1 is not an IPv4 or IPv6 address"},
	{"IPv6 in brackets", "vips:\n  - address: '[2001:2::10]'\n    port: 80\n",
	 "veer.yaml:2:14: vips[0].address: \"[2001:2::10]\" is not an IPv4 or IPv6 address (write "
	 "IPv6 without brackets: 2001:2::10)"},
	{"address with a port", "vips:\n  - address: 198.18.100.10:80\n    port: 80\n",
	 "veer.yaml:2:14: vips[0].address: 198.18.100.10:80 is not an IPv4 or IPv6 address"},
	{"multicast VIP", "vips:\n  - address: 224.0.0.1\n    port: 80\n",
	 "veer.yaml:2:14: vips[0].address: 224.0.0.1 is not a unicast address (unspecified, "
	 "broadcast or multicast)"},
	{"unspecified backend", VIP80 "    backends: [{address: '::'}]\n",
	 "veer.yaml:4:26: vips[0].backends[0].address: \"::\" is not a unicast address "
	 "(unspecified, broadcast or multicast)"},
	{"bad protocol", VIP80 "    protocol: sctp\n",
	 "veer.yaml:4:15: vips[0].protocol: sctp is not one of tcp or udp"},
	{"bad mode", VIP80 "    mode: dsr\n",
	 "veer.yaml:4:11: vips[0].mode: dsr is not one of nat, dsr-ipip or dsr-l2"},
	{"ring size not prime", VIP80 "    ring_size: 65536\n",
	 "veer.yaml:4:16: vips[0].ring_size: 65536 is not a prime (want one of 2..1048573: 65537, "
	 "131071, 1048573)"},
	{"ring size too large", VIP80 "    ring_size: 1048583\n",
	 "veer.yaml:4:16: vips[0].ring_size: 1048583 is not a ring size (want 2..1048573)"},
	{"affinity not whole seconds", VIP80 "    affinity: 1500ms\n",
	 "veer.yaml:4:15: vips[0].affinity: 1500ms is not a whole number of seconds"},
	{"affinity too long", VIP80 "    affinity: 2d\n",
	 "veer.yaml:4:15: vips[0].affinity: 2d is out of range (want 0..86400 seconds)"},
	{"affinity negative", VIP80 "    affinity: -5\n",
	 "veer.yaml:4:15: vips[0].affinity: -5 is not a duration (want a number with ms, s, m, h "
	 "or d: 500ms, 2s; a bare number is seconds)"},
	{"weight absurd",
	 VIP80 "    backends:\n      - address: 198.18.11.2\n        weight: "
	       "1000000000\n",
	 "veer.yaml:6:17: vips[0].backends[0].weight: 1000000000 is not a weight (want "
	 "0..10000)"},
	{"pool not default", VIP80 "    backends: [{address: 198.18.11.2, pool: edge}]\n",
	 "veer.yaml:4:45: vips[0].backends[0].pool: edge: pools are not supported yet: every "
	 "backend is in the pool 'default'"},
	{"duplicate backend",
	 VIP80 "    backends:\n      - {address: 198.18.11.2}\n"
	       "      - {address: 198.18.11.2, port: 80}\n",
	 "veer.yaml:6:9: vips[0].backends[1]: 198.18.11.2:80 is listed twice (first as "
	 "backends[0], line 5)"},
	{"health interval 0", VIP80 "    health: {interval: 0}\n",
	 "veer.yaml:4:24: vips[0].health.interval: 0 is out of range (want 100ms..1h)"},
	{"health rise 0", VIP80 "    health:\n      rise: 0\n",
	 "veer.yaml:5:13: vips[0].health.rise: 0 is not a count of checks (want 1..100)"},
	{"health fall absurd", VIP80 "    health:\n      fall: 100000\n",
	 "veer.yaml:5:13: vips[0].health.fall: 100000 is not a count of checks (want 1..100)"},
	{"health timeout over interval", VIP80 "    health: {interval: 1s, timeout: 2s}\n",
	 "veer.yaml:4:37: vips[0].health.timeout: the timeout (2s) is longer than the interval "
	 "(1s)"},
	{"health interval under default timeout", VIP80 "    health: {interval: 200ms}\n",
	 "veer.yaml:4:24: vips[0].health.interval: the timeout (500ms) is longer than the "
	 "interval (200ms)"},
	{"health http key on tcp", VIP80 "    health: {type: tcp, path: /healthz}\n",
	 "veer.yaml:4:25: vips[0].health.path: only for type: http (this check is tcp)"},
	{"health bad type", VIP80 "    health: {type: icmp}\n",
	 "veer.yaml:4:20: vips[0].health.type: icmp is not one of tcp or http"},
	{"health bad expect", VIP80 "    health: {type: http, expect: 700}\n",
	 "veer.yaml:4:34: vips[0].health.expect: 700 is not an HTTP status (want 100..599)"},
	{"health bad path", VIP80 "    health: {type: http, path: healthz}\n",
	 "veer.yaml:4:32: vips[0].health.path: healthz is not an HTTP path (want /..., no spaces, "
	 "under 256 bytes)"},
	{"health bad on_down", VIP80 "    health: {on_down: drop}\n",
	 "veer.yaml:4:23: vips[0].health.on_down: drop is not one of keep or reset"},
	{"duplicate key", VIP80 "    port: 81\n",
	 "veer.yaml:4:5: vips[0].port: given twice (first at line 3)"},
	{"duplicate interface", "interfaces:\n  - name: eth0\n  - name: eth1\n  - name: eth0\n",
	 "veer.yaml:4:5: interfaces[2]: eth0 is listed twice (first as interfaces[0], line 2)"},
	{"interface name too long", "interfaces: [{name: an-interface-name}]\n",
	 "veer.yaml:1:21: interfaces[0].name: an-interface-name is not an interface name (1 to 15 "
	 "characters, no '/', ':' or space)"},
	{"interface hook tc with an XDP mode",
	 "interfaces:\n  - {name: eth0, hook: tc, mode: "
	 "native}\n",
	 "veer.yaml:2:34: interfaces[0].mode: native is an XDP mode: it cannot go with hook: tc "
	 "(line 2)"},
	{"interface bad hook", "interfaces: [{name: eth0, hook: skb}]\n",
	 "veer.yaml:1:33: interfaces[0].hook: skb is not one of auto, xdp or tc"},
	{"interface missing name", "interfaces: [{hook: tc}]\n",
	 "veer.yaml:1:14: interfaces[0]: name is required"},
	{"cache missing cgroup", "cache: {port: 6379}\n",
	 "veer.yaml:1:8: cache: cgroup is required"},
	{"cache bad proto", "cache: {cgroup: /sys/fs/cgroup/app, port: 6379, proto: http}\n",
	 "veer.yaml:1:56: cache.proto: http is not one of redis or memcached"},
	{"cache relative cgroup", "cache: {cgroup: app, port: 6379}\n",
	 "veer.yaml:1:17: cache.cgroup: app is not a cgroup directory (want an absolute path under "
	 "256 bytes: /sys/fs/cgroup/app)"},
	{"cache bad server", "cache: {cgroup: /sys/fs/cgroup/app, port: 6379, server: redis}\n",
	 "veer.yaml:1:57: cache.server: redis is not HOST:PORT (127.0.0.1:6379, [::1]:6379, "
	 "cache.example:6379)"},
	{"cache unknown hot_keys key",
	 "cache:\n  cgroup: /sys/fs/cgroup/app\n  port: 6379\n"
	 "  hot_keys: {top: 10, size: 5}\n",
	 "veer.yaml:4:23: cache.hot_keys.size: unknown key (want top, ttl, interval)"},
	{"cache ttl 0",
	 "cache:\n  cgroup: /sys/fs/cgroup/app\n  port: 6379\n"
	 "  hot_keys: {ttl: 0}\n",
	 "veer.yaml:4:19: cache.hot_keys.ttl: 0 is out of range (want 1s..365d)"},
	{"metrics bare IPv6", "metrics: {listen: '::1:9464'}\n",
	 "veer.yaml:1:19: metrics.listen: \"::1:9464\" is not ADDR:PORT (127.0.0.1:9464, "
	 "[::1]:9464)"},
	{"metrics a name", "metrics: {listen: 'localhost:9464'}\n",
	 "veer.yaml:1:19: metrics.listen: \"localhost:9464\" is not ADDR:PORT (127.0.0.1:9464, "
	 "[::1]:9464)"},
	{"metrics unknown key", "metrics: {port: 9464}\n",
	 "veer.yaml:1:11: metrics.port: unknown key (want listen)"},
	{"second document", "vips: []\n---\nvips: []\n",
	 "veer.yaml:2:1: a second document: a config is one document"},
	{"unclosed flow list", "vips: [{address: 198.18.100.10, port: 80}\n",
	 "veer.yaml:2:1: did not find expected ',' or ']' (while parsing a flow sequence at line "
	 "1)"},
	{"mapping in a scalar", "vips: 1\n  port: 2\n",
	 "veer.yaml:2:7: mapping values are not allowed in this context"},
	{"key a list", "? [a, b]\n: 1\n", "veer.yaml:1:3: a key must be a name, not a list"},
	{"too deep", "vips: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	 "veer.yaml:1:22: nested more than 16 deep: not a config"},
};

static void expect_refused(const char *yaml, size_t len, const char *what, const char *want)
{
	char err[VEER_CONFIG_ERR_LEN] = "";
	struct veer_config *c = (struct veer_config *)1;
	int rc = veer_config_parse(yaml, len, "veer.yaml", &c, err, sizeof(err));

	ASSERT_ERR(rc, what);
	ASSERT_TRUE(c == NULL, what);
	if (!ASSERT_STREQ(err, want, what))
		fprintf(stderr, "    (%s)\n", what);
	ASSERT_TRUE(!strchr(err, '\n'), "one line");
	if (!rc)
		veer_config_free(c);
}

VEER_TEST(config_bad_each_one_line)
{
	ASSERT_LE(40, sizeof(bad_cases) / sizeof(bad_cases[0]), "cases");
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];
		/* The NUL case holds its NUL: its length is the array's, not strlen's. */
		size_t len = !strcmp(b->what, "NUL byte") ? sizeof("vips: []\x00\n") - 1
							  : strlen(b->yaml);

		expect_refused(b->yaml, len, b->what, b->err);
	}
}

VEER_TEST(config_bad_empty)
{
	expect_refused("", 0, "empty file",
		       "veer.yaml: empty file (write {} for a config that declares nothing)");
}

/* A list of n copies of item, for the configs too large to write out. */
static char *repeat(const char *head, const char *item, size_t n, const char *tail)
{
	size_t hl = strlen(head), il = strlen(item), tl = strlen(tail);
	char *s = malloc(hl + il * n + tl + 1), *p = s;

	if (!s)
		return NULL;
	memcpy(p, head, hl);
	p += hl;
	for (size_t i = 0; i < n; i++, p += il)
		memcpy(p, item, il);
	memcpy(p, tail, tl + 1);
	return s;
}

VEER_TEST(config_bad_too_many)
{
	char *s;

	s = repeat(VIP80 "    backends: [", "{address: 198.18.11.2},", 100000, "]\n");
	if (ASSERT_TRUE(s != NULL, "alloc")) {
		char want[128];

		snprintf(want, sizeof(want),
			 "veer.yaml:4:15: vips[0].backends: 100000 backends: more than a VIP can "
			 "have (%d)",
			 VEER_MAX_BACKENDS);
		expect_refused(s, strlen(s), "100000 backends", want);
		free(s);
	}
	s = repeat("vips: [", "{address: 198.18.100.10, port: 80},", VEER_MAX_VIPS + 1, "]\n");
	if (ASSERT_TRUE(s != NULL, "alloc")) {
		char want[128];

		snprintf(want, sizeof(want),
			 "veer.yaml:1:7: vips: %d VIPs: more than veer holds (%d)",
			 VEER_MAX_VIPS + 1, VEER_MAX_VIPS);
		expect_refused(s, strlen(s), "too many VIPs", want);
		free(s);
	}
	/* Five VIPs of 4000 backends: each fits, together they are more than the table holds. */
	s = malloc(5 * (48 + 4000 * 40));
	if (ASSERT_TRUE(s != NULL, "alloc")) {
		size_t at = 0;

		at += sprintf(s + at, "vips:\n");
		for (int v = 0; v < 5; v++) {
			at += sprintf(s + at, "  - address: 198.18.100.%d\n    port: 80\n    "
					      "backends:\n",
				      v + 1);
			for (int b = 0; b < 4000; b++)
				at += sprintf(s + at, "      - {address: 198.19.%d.%d}\n", b / 250,
					      b % 250 + 1);
		}
		expect_refused(s, at, "20000 backends in all",
			       "veer.yaml:16014:5: vips[4]: 20000 backends up to here: more than "
			       "veer holds in all (16384)");
		free(s);
	}
	/* A file of nothing but values: refused before it takes more memory than a config. */
	s = repeat("vips: [", "1,", 600000, "]\n");
	if (ASSERT_TRUE(s != NULL, "alloc")) {
		expect_refused(s, strlen(s), "too many values",
			       "veer.yaml:1:1000002: more than 500000 values: not a config veer "
			       "can hold");
		free(s);
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

VEER_TEST(config_bad_10mb)
{
	size_t len = 10u << 20;
	char *s = malloc(len), path[] = "/tmp/veer-config-XXXXXX";
	char err[VEER_CONFIG_ERR_LEN], want[VEER_CONFIG_ERR_LEN];
	struct veer_config *c;
	double t0;
	int fd;

	if (!ASSERT_TRUE(s != NULL, "alloc"))
		return;
	/* A valid-looking start, so that only the size can be what is refused. */
	memset(s, ' ', len);
	memcpy(s, "vips: []\n#", 10);
	t0 = now_ms();
	expect_refused(s, len, "10 MB buffer",
		       "veer.yaml: 10485760 bytes: larger than a config may be (4 MiB)");
	ASSERT_LE(now_ms() - t0, 50, "refused before parsing (ms)");

	fd = mkstemp(path);
	if (!ASSERT_TRUE(fd >= 0, "mkstemp"))
		goto out;
	ASSERT_EQ(write(fd, s, len), (long long)len, "write 10 MB");
	close(fd);
	t0 = now_ms();
	ASSERT_ERR(veer_config_load(path, &c, err, sizeof(err)), "10 MB file");
	ASSERT_LE(now_ms() - t0, 50, "refused before reading (ms)");
	snprintf(want, sizeof(want), "%s: 10485760 bytes: larger than a config may be (4 MiB)",
		 path);
	ASSERT_STREQ(err, want, "10 MB file message");
	unlink(path);
out:
	free(s);
}

VEER_TEST(config_load_files)
{
	char path[] = "/tmp/veer-config-XXXXXX", err[VEER_CONFIG_ERR_LEN], want[512];
	struct veer_config *c = NULL;
	int fd = mkstemp(path);

	if (!ASSERT_TRUE(fd >= 0, "mkstemp"))
		return;
	ASSERT_EQ(write(fd, good_yaml, strlen(good_yaml)), (long long)strlen(good_yaml), "write");
	close(fd);
	if (ASSERT_OK(veer_config_load(path, &c, err, sizeof(err)), "load the good config")) {
		ASSERT_STREQ(c->path, path, "path as given");
		ASSERT_EQ(c->nvips, 3, "VIPs");
		veer_config_free(c);
	}
	/* An empty file on disk: said so. */
	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	ASSERT_ERR(veer_config_load(path, &c, err, sizeof(err)), "empty file");
	snprintf(want, sizeof(want), "%s: empty file (write {} for a config that declares nothing)",
		 path);
	ASSERT_STREQ(err, want, "empty file message");
	unlink(path);

	ASSERT_EQ(veer_config_load(path, &c, err, sizeof(err)), -ENOENT, "missing file");
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	ASSERT_STREQ(err, want, "missing file message");
	ASSERT_ERR(veer_config_load("/tmp", &c, err, sizeof(err)), "a directory");
	ASSERT_STREQ(err, "/tmp: not a regular file", "directory message");
}

/* The order of errors is the file's: the first wrong line is the one reported. */
VEER_TEST(config_bad_first_in_file_order)
{
	static const char yaml[] = VIP80 "    protocol: icmp\n    port: 80\n  - port: 0\n";

	expect_refused(yaml, strlen(yaml), "three errors",
		       "veer.yaml:4:15: vips[0].protocol: icmp is not one of tcp or udp");
}

/* An etcd key's value: JSON, held to the file's rules and words, without file positions. */
VEER_TEST(config_vip_json)
{
	static const char good[] =
		"{\"address\": \"198.18.100.10\", \"port\": 80, \"protocol\": \"tcp\", "
		"\"backends\": [{\"address\": \"198.18.11.2\", \"weight\": 50}, "
		"{\"address\": \"198.18.12.2\"}], \"health\": {\"type\": \"http\", \"path\": "
		"\"/a/b\"}}";
	static const struct {
		const char *json, *want;
	} bad[] = {
		{"{\"address\": \"198.18.100.10\", \"port\": 70000}",
		 "etcd key /veer/vips/web: port: 70000 is not a port (want 1..65535)"},
		{"{\"address\": \"198.18.100.10\", \"port\": \"80\"}",
		 "etcd key /veer/vips/web: port: \"80\" is a quoted string: write the number without "
		 "quotes"},
		{"{\"address\": \"198.18.100.10\", \"port\": 80,", "etcd key /veer/vips/web: not "
								  "JSON: unexpected end or "
								  "trailing bytes"},
		{"{\"address\": \"198.18.100.10\", \"port\": 80} x",
		 "etcd key /veer/vips/web: not JSON: unexpected character"},
		{"{\"address\": \"198.18.100.10\", \"port\": 080}",
		 "etcd key /veer/vips/web: not JSON: number expected"},
		{"[1, 2]", "etcd key /veer/vips/web: want a JSON object like {\"address\": "
			   "\"198.18.100.10\", \"port\": 80}, got array"},
		{"{\"address\": \"127.0.0.1\", \"port\": 80}",
		 "etcd key /veer/vips/web: address: 127.0.0.1 is a loopback address"},
		{"{\"port\": 80}", "etcd key /veer/vips/web: address is required"},
		{"{\"address\": \"198.18.100.10\", \"port\": 80, \"port\": 81}",
		 "etcd key /veer/vips/web: \"port\": given twice (first at line 1)"},
		{"{\"address\": \"198.18.100.10\",\n\t\"port\": 80,\n\t\"backends\": [{\"address\": "
		 "\"198.18.11.2\", \"weight\": 20000}]}",
		 "etcd key /veer/vips/web: backends[0].weight: 20000 is not a weight (want 0..10000)"},
	};
	char err[VEER_CONFIG_ERR_LEN];
	struct veer_vip_spec s;

	if (ASSERT_OK(veer_vip_spec_parse_json(good, strlen(good), "etcd key /veer/vips/web", &s,
					       err, sizeof(err)),
		      "good JSON")) {
		ASSERT_TRUE(addr_is(&s.key.addr, s.key.family, "198.18.100.10"), "address");
		ASSERT_EQ(ntohs(s.key.port), 80, "port");
		ASSERT_EQ(s.nbackends, 2, "backends");
		ASSERT_EQ(s.backends[0].weight, 50, "weight");
		ASSERT_EQ(s.backends[1].weight, 100, "default weight");
		ASSERT_STREQ(s.health.path, "/a/b", "a slash kept as written");
		free(s.backends);
	} else {
		fprintf(stderr, "    %s\n", err);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_ERR(veer_vip_spec_parse_json(bad[i].json, strlen(bad[i].json),
						    "etcd key /veer/vips/web", &s, err, sizeof(err)),
			   bad[i].json);
		ASSERT_STREQ(err, bad[i].want, bad[i].json);
		ASSERT_TRUE(s.backends == NULL, "nothing left allocated");
	}
}
