// SPDX-License-Identifier: GPL-2.0
/*
 * From an etcd write to the data plane: how long after a VIP's key is written to etcd a new
 * backend receives its first new flow.
 *
 * veerd runs with an etcd source (sources: {etcd: ...}) on veer's program attached at tc to
 * IFACE in this network namespace, as for `veer-bench edit`. Each change writes KEY with one
 * VIP of BASE backends plus a backend never seen before, through etcd's JSON gateway (POST
 * /v3/kv/put with libcurl, one connection kept alive: no process forked per write), then
 * probes new flows through the attached program (bench_probe_wait, edit.c) until one leaves
 * rewritten to the new backend. The time runs from just before the put: etcd's commit (its
 * WAL fsync) and the put's answer, the watch event, veerd's parse and reconcile, the Maglev
 * table's swap, and the new backend's 1-in-BASE+1 chance per flow. The put's own round trip is
 * printed apart, as etcd's share.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "bench.h"
#include "etcd_gateway.h"

#define ETCD_TIMEOUT_S 5.0

struct etcd_opts {
	const char *endpoint, *key, *ifname;
	__u32 vip;
	__u16 port;
	int base, changes;
};

/* The gateway's answer, kept for a message when it is not a success. */
static size_t answer_cb(char *p, size_t size, size_t n, void *arg)
{
	char *buf = arg;
	size_t have = strlen(buf), len = size * n;

	if (have + len >= 512)
		len = 511 - have;
	memcpy(buf + have, p, len);
	buf[have + len] = '\0';
	return size * n;
}

/* The VIP as a YAML vips entry in JSON: BASE backends 198.18.30.(1..BASE) and extra. */
static int vip_json(const struct etcd_opts *o, __u32 extra, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];
	struct in_addr in = {.s_addr = htonl(o->vip)};
	size_t n;

	n = snprintf(buf, len,
		     "{\"address\":\"%s\",\"port\":%u,\"protocol\":\"udp\",\"backends\":[",
		     inet_ntop(AF_INET, &in, a, sizeof(a)), o->port);
	for (int i = 1; i <= o->base && n < len; i++)
		n += snprintf(buf + n, len - n, "{\"address\":\"198.18.30.%d\"},", i);
	in.s_addr = htonl(extra);
	if (n < len)
		n += snprintf(buf + n, len - n, "{\"address\":\"%s\"}]}",
			      inet_ntop(AF_INET, &in, a, sizeof(a)));
	return n < len ? 0 : -E2BIG;
}

static int put(CURL *c, const char *key, const char *value)
{
	char *body = NULL, answer[512] = "";
	long status = 0;
	CURLcode rc;

	if (etcd_put_body(key, value, &body))
		return -ENOMEM;
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)answer);
	rc = curl_easy_perform(c);
	free(body);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK || status != 200) {
		fprintf(stderr, "veer-bench: cannot put %s: %s%s\n", key,
			rc != CURLE_OK ? curl_easy_strerror(rc) : "etcd answered ",
			rc != CURLE_OK ? "" : answer);
		return -EIO;
	}
	return 0;
}

int cmd_etcd(int argc, char **argv)
{
	static const struct option lopts[] = {{"endpoint", required_argument, NULL, 'e'},
					      {"key", required_argument, NULL, 'k'},
					      {"iface", required_argument, NULL, 'i'},
					      {"vip", required_argument, NULL, 'V'},
					      {"base", required_argument, NULL, 'b'},
					      {"changes", required_argument, NULL, 'n'},
					      {0}};
	struct etcd_opts o = {.key = "/veer/vips/bench", .base = 9, .changes = 100};
	struct curl_slist *hdrs = NULL;
	struct bench_probe probe;
	double *lat = NULL, *rtt = NULL;
	char url[512], value[16384], extra_opts[64];
	int c, done = 0, rc = 1;
	CURL *curl = NULL;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		if (c == 'e')
			o.endpoint = optarg;
		else if (c == 'k')
			o.key = optarg;
		else if (c == 'i')
			o.ifname = optarg;
		else if (c == 'V' && bench_parse_ipv4_port(optarg, &o.vip, &o.port))
			return 2;
		else if (c == 'b')
			o.base = atoi(optarg);
		else if (c == 'n')
			o.changes = atoi(optarg);
		else if (c != 'V')
			goto usage;
	}
	if (!o.endpoint || !o.ifname || !o.vip || o.base < 1 || o.base > 200 || o.changes < 1 ||
	    o.changes > 1000)
		goto usage;
	if (bench_probe_init(&probe, o.ifname, o.vip, o.port))
		return 1;
	snprintf(url, sizeof(url), "%s/v3/kv/put", o.endpoint);
	curl = curl_easy_init();
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	lat = calloc(o.changes, sizeof(*lat));
	rtt = calloc(o.changes, sizeof(*rtt));
	if (!curl || !hdrs || !lat || !rtt)
		goto cleanup;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, answer_cb);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	for (int e = 0; e < o.changes; e++) {
		__u32 extra = 0xc6121f00 + 1 + e % 250; /* 198.18.31.x */
		double t0, t1, hit;

		if (vip_json(&o, extra, value, sizeof(value)))
			goto cleanup;
		t0 = bench_now();
		if (put(curl, o.key, value))
			goto cleanup;
		t1 = bench_now();
		c = bench_probe_wait(&probe, extra, 0xc6120102 + (e & 0xff), t0, ETCD_TIMEOUT_S,
				     &hit);
		if (c == -ETIMEDOUT)
			fprintf(stderr, "veer-bench: change %d: backend not used after %.0f s\n", e,
				ETCD_TIMEOUT_S);
		if (c)
			goto cleanup;
		rtt[done] = (t1 - t0) * 1e3;
		lat[done++] = (hit - t0) * 1e3;
	}
	snprintf(extra_opts, sizeof(extra_opts), "changes=%d base=%d ", done, o.base);
	bench_latency_print("etcd", lat, done, extra_opts);
	bench_latency_print("etcd put", rtt, done, "");
	rc = 0;
cleanup:
	free(lat);
	free(rtt);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	return rc;
usage:
	fprintf(stderr, "usage: veer-bench etcd --endpoint URL --iface IFACE --vip ADDR:PORT "
			"[--key KEY] [--base N] [--changes N]\n");
	return 2;
}
