// SPDX-License-Identifier: GPL-2.0
/*
 * From a Kubernetes watch event to the data plane: how long after the API server sends an
 * EndpointSlice change on veerd's watch the new endpoint receives its first new flow.
 *
 * The API server is the tests' fake one (tests/e2e/fake_apiserver.py), driven through its
 * control port: each change replaces the slice's extra endpoint with a fresh address, and the
 * server answers with the CLOCK_MONOTONIC time at which it handed the event to the watches.
 * From then on, new flows run through veer's attached program (as `veer-bench edit` does, with
 * the same probe, bench_probe_wait) until one is rewritten to the new endpoint: the time counts the
 * event's way to veerd (TLS, the chunked stream), its parse, the view, the reconcile and the Maglev
 * table's build and swap, and the new backend's 1-in-(BASE + 1) chance per flow.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include "bench.h"

#define CHANGE_TIMEOUT_S 5.0

struct k8s_opts {
	const char *control, *ifname, *ns, *service;
	__u32 vip;
	__u16 port;
	int base, changes;
};

struct answer {
	char buf[4096];
	size_t len;
};

static size_t answer_write(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;

	if (a->len + len >= sizeof(a->buf))
		return 0;
	memcpy(a->buf + a->len, p, len);
	a->len += len;
	a->buf[a->len] = '\0';
	return len;
}

/* The slice with BASE endpoints 198.18.30.(1..BASE) and extra; *t_sent: the event's sending. */
static int slice_put(CURL *c, const struct k8s_opts *o, __u32 extra, double *t_sent)
{
	struct json_object *ans = NULL, *t;
	struct answer a = {};
	char body[16384], ip[INET_ADDRSTRLEN];
	struct in_addr in = {.s_addr = htonl(extra)};
	size_t len = 0;
	long status = 0;
	CURLcode rc;

	len += snprintf(body + len, sizeof(body) - len,
			"{\"ops\": [{\"op\": \"apply\", \"object\": {\"kind\": \"EndpointSlice\", "
			"\"metadata\": {\"namespace\": \"%s\", \"name\": \"%s-bench\", \"labels\": "
			"{\"kubernetes.io/service-name\": \"%s\"}}, \"addressType\": \"IPv4\", "
			"\"ports\": [{\"name\": \"\", \"port\": %u, \"protocol\": \"UDP\"}], "
			"\"endpoints\": [",
			o->ns, o->service, o->service, o->port);
	for (int i = 1; i <= o->base; i++)
		len += snprintf(body + len, sizeof(body) - len,
				"{\"addresses\": [\"198.18.30.%d\"], \"conditions\": {\"ready\": "
				"true}}, ",
				i);
	len += snprintf(body + len, sizeof(body) - len,
			"{\"addresses\": [\"%s\"], \"conditions\": {\"ready\": true}}]}}]}",
			inet_ntop(AF_INET, &in, ip, sizeof(ip)));
	if (len >= sizeof(body))
		return -1;
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, answer_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK || status != 200) {
		fprintf(stderr, "veer-bench: the fake API server's control at %s: %s\n", o->control,
			rc != CURLE_OK ? curl_easy_strerror(rc) : a.buf);
		return -1;
	}
	ans = json_tokener_parse(a.buf);
	if (!ans || !json_object_object_get_ex(ans, "t_ns", &t)) {
		fprintf(stderr, "veer-bench: the control's answer has no t_ns: %s\n", a.buf);
		json_object_put(ans);
		return -1;
	}
	*t_sent = json_object_get_int64(t) / 1e9;
	json_object_put(ans);
	return 0;
}

int cmd_k8s(int argc, char **argv)
{
	static const struct option lopts[] = {{"control", required_argument, NULL, 'c'},
					      {"iface", required_argument, NULL, 'i'},
					      {"vip", required_argument, NULL, 'V'},
					      {"namespace", required_argument, NULL, 'N'},
					      {"service", required_argument, NULL, 's'},
					      {"base", required_argument, NULL, 'b'},
					      {"changes", required_argument, NULL, 'n'},
					      {0}};
	struct k8s_opts o = {.base = 9, .changes = 100, .ns = "bench", .service = "web"};
	struct curl_slist *hdrs = NULL;
	struct bench_probe probe;
	char url[256], extra_opts[64];
	double *lat;
	int c, done = 0, rc = 1;
	CURL *curl;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		if (c == 'c')
			o.control = optarg;
		else if (c == 'i')
			o.ifname = optarg;
		else if (c == 'V' && bench_parse_ipv4_port(optarg, &o.vip, &o.port))
			return 2;
		else if (c == 'N')
			o.ns = optarg;
		else if (c == 's')
			o.service = optarg;
		else if (c == 'b')
			o.base = atoi(optarg);
		else if (c == 'n')
			o.changes = atoi(optarg);
		else if (c != 'V')
			goto usage;
	}
	if (!o.control || !o.ifname || !o.vip || o.base < 1 || o.base > 200 || o.changes < 1 ||
	    o.changes > 1000)
		goto usage;
	if (bench_probe_init(&probe, o.ifname, o.vip, o.port))
		return 1;
	lat = calloc(o.changes, sizeof(*lat));
	curl = curl_easy_init();
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (!lat || !curl || !hdrs)
		goto out;
	snprintf(url, sizeof(url), "http://%s/ops", o.control);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
	for (int e = 0; e < o.changes; e++) {
		__u32 extra = 0xc6121f00 + 1 + e % 250; /* 198.18.31.x */
		double sent, hit;
		int got;

		if (slice_put(curl, &o, extra, &sent))
			goto out;
		got = bench_probe_wait(&probe, extra, 0xc6120102 + (e & 0xff), sent,
				       CHANGE_TIMEOUT_S, &hit);
		if (got == -ETIMEDOUT)
			fprintf(stderr, "veer-bench: change %d: endpoint not used after %.0f s\n",
				e, CHANGE_TIMEOUT_S);
		if (got)
			goto out;
		lat[done++] = (hit - sent) * 1e3;
	}
	snprintf(extra_opts, sizeof(extra_opts), "changes=%d base=%d ", done, o.base);
	bench_latency_print("k8s", lat, done, extra_opts);
	rc = 0;
out:
	curl_slist_free_all(hdrs);
	if (curl)
		curl_easy_cleanup(curl);
	free(lat);
	return rc;
usage:
	fprintf(stderr, "usage: veer-bench k8s --control HOST:PORT --iface IFACE --vip ADDR:PORT "
			"[--namespace NS] [--service NAME] [--base N] [--changes N]\n");
	return 2;
}
