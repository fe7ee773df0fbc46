// SPDX-License-Identifier: GPL-2.0
/*
 * The declarative apply at scale: a config of N VIPs x M backends built in memory (VIPs in
 * 198.19.0.0/16, backends in 198.18.0.0/16), applied by libveer to a pin directory of its own,
 * empty at the start:
 *   cold    the first apply, from no VIP until every Maglev table is published
 *   again   the same config once more: what it writes (nothing) and how long the diff takes
 *   reopen  the same from a new handle (open, apply, close), as a reload of veerd does
 *   edit    one backend's weight changed: one table published
 * Each apply is timed from the call to its return; the maps themselves (the connection tables
 * first of all) are created before, by the open, whose time is printed apart.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <arpa/inet.h>
#include "bench.h"
#include "veer.h"

struct ap_opts {
	__u32 vips, backends, ring_size, flows;
	const char *pin_dir;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: veer-bench apply [--vips N] [--backends N] [--ring-size PRIME] [--flows "
		"N]\n"
		"                        [--pin-dir DIR]\n"
		"  N VIPs (default 1000) of M backends (default 10) applied to DIR (default\n"
		"  /sys/fs/bpf/veer-bench-apply-PID, made and removed here), tables of PRIME "
		"slots\n"
		"  (default %u), connection tables of N entries (default the host's)\n",
		VEER_RING_DEFAULT);
}

static int config_build(struct veer_config *c, const struct ap_opts *o)
{
	c->vips = calloc(o->vips, sizeof(*c->vips));
	if (!c->vips)
		return -ENOMEM;
	c->nvips = o->vips;
	for (__u32 i = 0; i < o->vips; i++) {
		struct veer_vip_spec *s = &c->vips[i];

		/* 198.19.0.1 up: 250 a /24, so no address ends in .0 or .255. */
		s->key.addr.v4 = htonl(0xc6130000u | (i / 250) << 8 | (1 + i % 250));
		s->key.port = htons(80);
		s->key.proto = IPPROTO_TCP;
		s->key.family = VEER_AF_INET;
		s->opts.mode = VEER_MODE_NAT;
		s->opts.ring_size = o->ring_size;
		s->backends = calloc(o->backends, sizeof(*s->backends));
		if (!s->backends)
			return -ENOMEM;
		s->nbackends = o->backends;
		for (__u32 j = 0; j < o->backends; j++) {
			struct veer_backend_spec *b = &s->backends[j];
			__u32 n = i * o->backends + j;

			b->ep.addr.v4 = htonl(0xc6120000u | (n / 250) << 8 | (1 + n % 250));
			b->ep.family = VEER_AF_INET;
			b->weight = VEER_WEIGHT_DEFAULT;
		}
	}
	return 0;
}

static void config_drop(struct veer_config *c)
{
	for (size_t i = 0; i < c->nvips; i++)
		free(c->vips[i].backends);
	free(c->vips);
}

/* One apply, timed; prints "apply LABEL seconds=.. writes=.. ..." from its result. */
/* CPU seconds this process has used, user and system: the wall clock counts others' too. */
static double cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static int timed_apply(struct veer *v, const struct veer_config *c, const char *label)
{
	struct veer_apply_result r = {};
	double t0 = bench_now(), c0 = cpu_now(), t, cpu;
	int err;

	err = veer_config_apply(v, c, VEER_OWNER_CONFIG, &r);
	t = bench_now() - t0;
	cpu = cpu_now() - c0;
	if (err) {
		fprintf(stderr, "veer-bench apply: %s apply failed: %s\n", label, strerror(-err));
		return err;
	}
	printf("apply %s seconds=%.6f cpu_seconds=%.6f writes=%llu vips_added=%u vips_changed=%u "
	       "backends_added=%u backends_changed=%u rings=%u\n",
	       label, t, cpu, (unsigned long long)r.map_writes, r.vips_added, r.vips_changed,
	       r.backends_added, r.backends_changed, r.rings_published);
	return 0;
}

static int run(const struct ap_opts *o)
{
	struct veer_config c = {.path = "(veer-bench apply)"};
	struct veer *v = NULL;
	double t0;
	int err;

	err = config_build(&c, o);
	if (err)
		goto out;
	if (o->flows)
		veer_set_flows(o->flows);
	t0 = bench_now();
	err = veer_open(&v, true);
	if (err)
		goto out;
	printf("apply params vips=%u backends=%u ring_size=%u pin_dir=%s\n", o->vips, o->backends,
	       o->ring_size, o->pin_dir);
	printf("apply open seconds=%.6f\n", bench_now() - t0);
	err = timed_apply(v, &c, "cold") ?: timed_apply(v, &c, "again");
	veer_close(v);
	v = NULL;
	if (err)
		goto out;
	t0 = bench_now();
	err = veer_open(&v, true);
	if (!err) {
		__u64 w0 = veer_map_writes();

		err = veer_config_apply(v, &c, VEER_OWNER_CONFIG, NULL);
		veer_close(v);
		v = NULL;
		printf("apply reopen seconds=%.6f writes=%llu\n", bench_now() - t0,
		       (unsigned long long)(veer_map_writes() - w0));
	}
	if (err)
		goto out;
	/* An edit: one backend of the middle VIP re-weighted. */
	c.vips[c.nvips / 2].backends[0].weight = 2 * VEER_WEIGHT_DEFAULT;
	err = veer_open(&v, true);
	if (!err)
		err = timed_apply(v, &c, "edit");
out:
	veer_close(v);
	config_drop(&c);
	return err ? 1 : 0;
}

int cmd_apply(int argc, char **argv)
{
	static const struct option lopts[] = {{"vips", required_argument, NULL, 'v'},
					      {"backends", required_argument, NULL, 'b'},
					      {"ring-size", required_argument, NULL, 'r'},
					      {"flows", required_argument, NULL, 'f'},
					      {"pin-dir", required_argument, NULL, 'p'},
					      {"help", no_argument, NULL, 'h'},
					      {0}};
	struct ap_opts o = {.vips = 1000, .backends = 10, .ring_size = VEER_RING_DEFAULT};
	char dir[128];
	bool own_dir = false;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		__u32 *dst = opt == 'v'	  ? &o.vips
			     : opt == 'b' ? &o.backends
			     : opt == 'r' ? &o.ring_size
			     : opt == 'f' ? &o.flows
					  : NULL;

		if (opt == 'p') {
			o.pin_dir = optarg;
		} else if (dst) {
			if (veer_parse_u32(optarg, 1, 1u << 30, dst)) {
				fprintf(stderr, "veer-bench apply: invalid --%s '%s'\n",
					lopts[opt == 'v'   ? 0
					      : opt == 'b' ? 1
					      : opt == 'r' ? 2
							   : 3]
						.name,
					optarg);
				return 2;
			}
		} else {
			usage();
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind != argc) {
		usage();
		return 2;
	}
	if (!o.pin_dir) {
		snprintf(dir, sizeof(dir), "%s/veer-bench-apply-%d", VEER_PIN_ROOT, (int)getpid());
		o.pin_dir = dir;
		own_dir = true;
	}
	if (veer_set_pin_dir(o.pin_dir))
		return 2;
	rc = run(&o);
	/* A directory of its own goes, maps and all; one given stays as the apply left it. */
	if (own_dir && veer_pins_remove())
		rc = 1;
	return rc;
}
