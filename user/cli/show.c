// SPDX-License-Identifier: GPL-2.0
/* veer stats, flows: counters and connection table entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"

int cmd_stats(const struct cmd *c, int argc, char **argv)
{
	struct json_object *root, *vips_j, *reasons_j;
	struct veer_stats_snapshot snap;
	const __u64 *reasons;
	struct veer *v;
	int rc = 0;

	if (no_options(c, argc, argv, 0, &rc))
		return rc;
	if (open_state(&v, OPEN_READ))
		return EXIT_FAILED;
	/* One snapshot, as /metrics takes it: counters read in batches, not slot by slot. */
	rc = veer_stats_snapshot(v, false, &snap);
	veer_close(v);
	if (rc)
		return EXIT_FAILED;
	reasons = snap.reasons;
	root = json_object_new_object();
	vips_j = json_object_new_array();
	for (size_t i = 0; i < snap.nvips; i++) {
		const struct veer_stats_vip *sv = &snap.vips[i];
		struct veer_vip_info vi = {
			.key = sv->key, .vip = sv->vip, .backends = sv->nbackends};
		struct json_object *vj = vip_json(&vi), *bj = json_object_new_array();

		counters_json(vj, &sv->c);
		for (size_t b = sv->first_backend; b < sv->first_backend + sv->nbackends; b++) {
			const struct veer_stats_backend *sb = &snap.backends[b];
			struct veer_backend_info bi = {.id = sb->id, .be = sb->be};

			json_object_array_add(bj, backend_counters_json(&bi, &sb->c));
		}
		json_object_object_add(vj, "backend_stats", bj);
		json_object_array_add(vips_j, vj);
	}
	reasons_j = json_object_new_object();
	for (int r = 1; r < VEER_REASON_MAX; r++)
		if (veer_reason_names[r])
			json_object_object_add(reasons_j, veer_reason_names[r],
					       json_object_new_uint64(reasons[r]));
	json_object_object_add(root, "vips", vips_j);
	json_object_object_add(root, "reasons", reasons_j);
	/* dsr-ipip's packets put in a tunnel (also in reasons, as dsr_ipip). */
	json_object_object_add(root, "encapsulated_packets",
			       json_object_new_uint64(reasons[VEER_FWD_DSR_IPIP]));
	if (json_out) {
		veer_stats_free(&snap);
		return print_json(root);
	}
	for (size_t i = 0; i < json_object_array_length(vips_j); i++) {
		struct json_object *vj = json_object_array_get_idx(vips_j, i), *bj;

		printf("%s  mode %s packets %s bytes %s new_flows %s replies %s\n", jstr(vj, "vip"),
		       jstr(vj, "mode"), jstr(vj, "packets"), jstr(vj, "bytes"),
		       jstr(vj, "new_flows"), jstr(vj, "reply_packets"));
		bj = json_object_object_get(vj, "backend_stats");
		for (size_t b = 0; b < json_object_array_length(bj); b++) {
			struct json_object *be = json_object_array_get_idx(bj, b);

			printf("  %-40s weight %-5s packets %s bytes %s new_flows %s replies %s\n",
			       jstr(be, "backend"), jstr(be, "weight"), jstr(be, "packets"),
			       jstr(be, "bytes"), jstr(be, "new_flows"), jstr(be, "reply_packets"));
		}
	}
	printf("encapsulated (dsr-ipip): %llu packets\n",
	       (unsigned long long)reasons[VEER_FWD_DSR_IPIP]);
	for (int drop = 1; drop >= 0; drop--) {
		printf(drop ? "dropped:" : "passed, answered or forwarded specially:");
		for (int r = 1; r < VEER_REASON_MAX; r++)
			if (veer_reason_names[r] && VEER_REASON_IS_DROP(r) == drop)
				printf(" %s %llu", veer_reason_names[r],
				       (unsigned long long)reasons[r]);
		printf("\n");
	}
	veer_stats_free(&snap);
	json_object_put(root);
	return EXIT_OK;
}

struct flows_ctx {
	struct json_object *a;
	struct veer_settings settings;
	__u64 now;
};

/*
 * closed: its backend's slot went to another backend; expired: idle past its timeout (the
 * data plane no longer uses it; the LRU reclaims it when it needs room); closing: a FIN or RST
 * was seen; handshake: a SYN, not yet the client's next packet.
 */
static const char *flow_state(const struct flows_ctx *fc, const struct veer_flow_info *fi)
{
	if (!fi->backend)
		return "closed";
	if (veer_flow_expired(&fc->settings, fi, fc->now))
		return "expired";
	if (fi->flow.flags & VEER_FLOW_CLOSING)
		return "closing";
	return fi->handshake ? "handshake" : "established";
}

/* A connection: client -> VIP, the backend it is on, its state and idle time. */
static int flow_row(const struct veer_flow_info *fi, void *arg)
{
	const struct veer_flow_key *k = &fi->key;
	struct flows_ctx *fc = arg;
	struct json_object *o = json_object_new_object();
	char client[VEER_ADDR_STRLEN], vip[VEER_ADDR_STRLEN], be[VEER_ADDR_STRLEN];

	veer_fmt_endpoint(&k->saddr, k->sport, k->family, client, sizeof(client));
	veer_fmt_endpoint(&k->daddr, k->dport, k->family, vip, sizeof(vip));
	if (fi->backend)
		veer_fmt_endpoint(&fi->backend->addr, fi->backend->port, fi->backend->family, be,
				  sizeof(be));
	json_object_object_add(o, "protocol", json_object_new_string(veer_proto_name(k->proto)));
	json_object_object_add(o, "state", json_object_new_string(flow_state(fc, fi)));
	json_object_object_add(o, "client", json_object_new_string(client));
	json_object_object_add(o, "vip", json_object_new_string(vip));
	json_object_object_add(o, "backend", fi->backend ? json_object_new_string(be) : NULL);
	json_object_object_add(o, "backend_id", json_object_new_int64(fi->flow.backend_id));
	json_object_object_add(o, "reply_ifindex",
			       json_object_new_int64(fi->flow.reply_hop.ifindex));
	json_object_object_add(
		o, "idle_ms",
		fi->flow.last_seen
			? json_object_new_uint64((fc->now - fi->flow.last_seen) / 1000000)
			: NULL);
	json_object_array_add(fc->a, o);
	return 0;
}

int cmd_flows(const struct cmd *c, int argc, char **argv)
{
	struct flows_ctx fc = {};
	struct timespec ts;
	struct veer *v;
	int rc = 0;

	if (no_options(c, argc, argv, 0, &rc))
		return rc;
	if (open_state(&v, OPEN_READ))
		return EXIT_FAILED;
	/* Unreadable settings leave the defaults: only the expired state depends on them. */
	veer_settings_get(v, &fc.settings);
	/* The data plane stamps flows with bpf_ktime_get_coarse_ns(). */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	fc.now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	fc.a = json_object_new_array();
	rc = veer_flow_foreach(v, flow_row, &fc);
	veer_close(v);
	if (json_out)
		return print_json(fc.a);
	for (size_t i = 0; i < json_object_array_length(fc.a); i++) {
		struct json_object *f = json_object_array_get_idx(fc.a, i);

		printf("%s %s -> %s to %s %s idle %sms\n", jstr(f, "protocol"), jstr(f, "client"),
		       jstr(f, "vip"),
		       json_object_object_get(f, "backend") ? jstr(f, "backend") : "-",
		       jstr(f, "state"),
		       json_object_object_get(f, "idle_ms") ? jstr(f, "idle_ms") : "-");
	}
	json_object_put(fc.a);
	return exit_code(rc);
}
