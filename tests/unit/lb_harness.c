// SPDX-License-Identifier: GPL-2.0
/*
 * The environment of the BPF_PROG_RUN fixtures: network namespace and topology, the private
 * skeleton, the reset between tests, and the fixture runner. See lb_harness.h.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <veer/svc_hash.h>
#include <linux/pkt_cls.h>
#include "lb_harness.h"

static const char *const reason_names[VEER_REASON_MAX] = VEER_REASON_NAMES;

/* Topology, see lb_harness.h. */
const __u8 MAC_VC0[6] = {0x02, 0, 0, 0, 0x01, 0x01};
static const __u8 MAC_VC0_PEER[6] = {0x02, 0, 0, 0, 0x01, 0xfe};
const __u8 MAC_CLIENT[6] = {0x02, 0, 0, 0, 0x01, 0x02};
const __u8 MAC_VB0[6] = {0x02, 0, 0, 0, 0x11, 0x01};
static const __u8 MAC_VB0_PEER[6] = {0x02, 0, 0, 0, 0x11, 0xfe};
const __u8 MAC_BE_A[6] = {0x02, 0, 0, 0, 0x11, 0x02};
const __u8 MAC_BE_B[6] = {0x02, 0, 0, 0, 0x12, 0x02};
const __u8 MAC_BE_C[6] = {0x02, 0, 0, 0, 0x13, 0x02};

const struct be_def BE_TCP4 = {10, "198.18.11.2", 8080, MAC_BE_A};
const struct be_def BE_UDP4 = {11, "198.18.11.2", 5353, MAC_BE_A};
const struct be_def BE_TCP6 = {12, "2001:2:0:11::2", 8080, MAC_BE_A};
const struct be_def BE_UDP6 = {13, "2001:2:0:11::2", 5353, MAC_BE_A};
const struct be_def BE_B = {14, "198.18.12.2", 8080, MAC_BE_B};
const struct be_def BE_NONEIGH = {15, "198.18.11.9", 8080, NULL};
const struct be_def BE_AFF[3] = {
	{20, "198.18.11.2", 8080, MAC_BE_A},
	{21, "198.18.12.2", 8080, MAC_BE_B},
	{22, "198.18.13.2", 8080, MAC_BE_C},
};
const struct be_def BE_AFF_OFF[3] = {
	{23, "198.18.11.2", 8080, MAC_BE_A},
	{24, "198.18.12.2", 8080, MAC_BE_B},
	{25, "198.18.13.2", 8080, MAC_BE_C},
};

struct lb_env lb_env;

/* ---- environment: namespace, topology, private skeleton ---- */

static bool sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc)) {
		snprintf(lb_env.why, sizeof(lb_env.why), "command failed (status %d): %s", rc, cmd);
		return false;
	}
	return true;
}

static const char *mac_str(const __u8 *m, char *buf)
{
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

static bool topology(void)
{
	static const struct {
		const char *addr, *dev;
		const __u8 *mac;
	} neigh[] = {
		{CLIENT4, "vc0", MAC_CLIENT},	  {CLIENT6, "vc0", MAC_CLIENT},
		{"198.18.11.2", "vb0", MAC_BE_A}, {"2001:2:0:11::2", "vb0", MAC_BE_A},
		{"198.18.12.2", "vb0", MAC_BE_B}, {"198.18.13.2", "vb0", MAC_BE_C},
	};
	char m1[18], m2[18];
	bool ok;

	if (unshare(CLONE_NEWNET)) {
		if (errno == EPERM) {
			lb_env.skipped = true;
			snprintf(lb_env.why, sizeof(lb_env.why),
				 "cannot create a network namespace (needs CAP_SYS_ADMIN)");
		} else {
			snprintf(lb_env.why, sizeof(lb_env.why), "unshare(CLONE_NEWNET): %s",
				 strerror(errno));
		}
		return false;
	}
	ok = sh("ip link set dev lo up") &&
	     sh("ip link add vc0 address %s type veth peer name vc0p address %s",
		mac_str(MAC_VC0, m1), mac_str(MAC_VC0_PEER, m2)) &&
	     sh("ip link add vb0 address %s type veth peer name vb0p address %s",
		mac_str(MAC_VB0, m1), mac_str(MAC_VB0_PEER, m2)) &&
	     sh("ip link set dev vc0 up && ip link set dev vc0p up") &&
	     sh("ip link set dev vb0 up && ip link set dev vb0p up") &&
	     sh("ip addr add 198.18.1.1/24 dev vc0") && sh("ip addr add 198.18.11.1/24 dev vb0") &&
	     sh("ip addr add 198.18.12.1/24 dev vb0") && sh("ip addr add 198.18.13.1/24 dev vb0") &&
	     sh("ip -6 addr add 2001:2:0:1::1/64 dev vc0 nodad") &&
	     sh("ip -6 addr add 2001:2:0:11::1/64 dev vb0 nodad") &&
	     /* After the links exist: "all" is copied to every device already there. */
	     sh("sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
	for (size_t i = 0; ok && i < ARRAY_LEN(neigh); i++)
		ok = sh("ip neigh replace %s lladdr %s dev %s nud permanent", neigh[i].addr,
			mac_str(neigh[i].mac, m1), neigh[i].dev);
	if (!ok)
		return false;
	lb_env.ifindex[FROM_CLIENT] = if_nametoindex("vc0");
	lb_env.ifindex[FROM_BACKEND] = if_nametoindex("vb0");
	if (!lb_env.ifindex[FROM_CLIENT] || !lb_env.ifindex[FROM_BACKEND]) {
		snprintf(lb_env.why, sizeof(lb_env.why), "veth interfaces missing");
		return false;
	}
	return true;
}

static bool skeleton(void)
{
	struct bpf_map *map;
	int err;

	lb_env.ncpus = libbpf_num_possible_cpus();
	if (lb_env.ncpus <= 0) {
		snprintf(lb_env.why, sizeof(lb_env.why), "cannot count CPUs");
		return false;
	}
	/* No pin_root_path; and libbpf's default pin path is cleared map by map below. */
	lb_env.skel = lb__open();
	if (!lb_env.skel) {
		snprintf(lb_env.why, sizeof(lb_env.why), "lb__open: %s", strerror(errno));
		return false;
	}
	bpf_object__for_each_map(map, lb_env.skel->obj)
	{
		err = bpf_map__set_pin_path(map, NULL);
		if (err) {
			snprintf(lb_env.why, sizeof(lb_env.why), "unpin %s: %s", bpf_map__name(map),
				 strerror(-err));
			return false;
		}
	}
	/* Smaller tables than production: they are created per run (same semantics). */
	bpf_map__set_max_entries(lb_env.skel->maps.veer_flows4, 4096);
	bpf_map__set_max_entries(lb_env.skel->maps.veer_flows6, 4096);
	bpf_map__set_max_entries(lb_env.skel->maps.veer_syns4, 4096);
	bpf_map__set_max_entries(lb_env.skel->maps.veer_syns6, 4096);
	bpf_map__set_max_entries(lb_env.skel->maps.veer_affinity, 4096);
	bpf_map__set_max_entries(lb_env.skel->maps.veer_proxy_conn, 4096);
	err = lb__load(lb_env.skel);
	if (err) {
		snprintf(lb_env.why, sizeof(lb_env.why), "lb__load: %s", strerror(-err));
		return false;
	}
	bpf_object__for_each_map(map, lb_env.skel->obj)
	{
		if (bpf_map__is_pinned(map)) {
			snprintf(lb_env.why, sizeof(lb_env.why), "map %s got pinned",
				 bpf_map__name(map));
			return false;
		}
	}
	lb_env.prog_fd[LB_XDP] = bpf_program__fd(lb_env.skel->progs.veer_lb);
	lb_env.prog_fd[LB_TC] = bpf_program__fd(lb_env.skel->progs.veer_lb_tc);
	return true;
}

static bool map_clear(struct bpf_map *map)
{
	__u8 key[64];
	size_t ksz = bpf_map__key_size(map);

	while (!bpf_map__get_next_key(map, NULL, key, ksz))
		if (bpf_map__delete_elem(map, key, ksz, 0))
			return false;
	return true;
}

static bool percpu_zero(struct bpf_map *map, __u32 idx)
{
	size_t sz = lb_env.ncpus * ((bpf_map__value_size(map) + 7) & ~7UL);
	void *zero = calloc(1, sz);
	int err;

	if (!zero)
		return false;
	err = bpf_map__update_elem(map, &idx, sizeof(idx), zero, sz, BPF_ANY);
	free(zero);
	return !err;
}

/* veer_svc all zero, in one batch: 65536 updates one by one would slow every test. */
static bool svc_clear(struct bpf_map *svc)
{
	static __u32 keys[VEER_SVC_SLOTS];
	static __u8 zeros[VEER_SVC_SLOTS];
	__u32 count = VEER_SVC_SLOTS;

	for (__u32 i = 0; i < count; i++)
		keys[i] = i;
	return !bpf_map_update_batch(bpf_map__fd(svc), keys, zeros, &count, NULL);
}

static bool env_reset(void)
{
	struct lb *s = lb_env.skel;
	struct veer_backend zero = {};
	bool ok;

	ok = map_clear(s->maps.veer_flows4) && map_clear(s->maps.veer_flows6) &&
	     map_clear(s->maps.veer_syns4) && map_clear(s->maps.veer_syns6) &&
	     map_clear(s->maps.veer_be_index) && map_clear(s->maps.veer_affinity) &&
	     map_clear(s->maps.veer_frags) && map_clear(s->maps.veer_vips) &&
	     map_clear(s->maps.veer_vip_addrs) && map_clear(s->maps.veer_icmp_rl) &&
	     map_clear(s->maps.veer_proxy_rule) && map_clear(s->maps.veer_proxy_conn);
	for (__u32 id = 0; ok && id < LB_NIDS; id++) {
		__u32 inner_id;

		/* Only where a ring is: every map-in-map delete waits for an RCU grace period. */
		if (!bpf_map__lookup_elem(s->maps.veer_rings, &id, sizeof(id), &inner_id,
					  sizeof(inner_id), 0))
			bpf_map__delete_elem(s->maps.veer_rings, &id, sizeof(id), 0);
		ok = !bpf_map__update_elem(s->maps.veer_backends, &id, sizeof(id), &zero,
					   sizeof(zero), BPF_ANY) &&
		     percpu_zero(s->maps.veer_vip_stats, id) &&
		     percpu_zero(s->maps.veer_be_stats, id) &&
		     percpu_zero(s->maps.veer_be_hops, id);
	}
	for (__u32 r = 0; ok && r < VEER_REASON_SLOTS; r++)
		ok = percpu_zero(s->maps.veer_reasons, r);
	if (ok)
		ok = svc_clear(s->maps.veer_svc);
	if (ok) {
		static const struct veer_proxy_gate closed;
		__u32 zero_key = 0;

		ok = !bpf_map__update_elem(s->maps.veer_proxy_gate, &zero_key, sizeof(zero_key),
					   &closed, sizeof(closed), BPF_ANY);
	}
	if (ok) {
		struct veer_settings defaults = {};
		__u32 zero_key = 0;

		ok = !bpf_map__update_elem(s->maps.veer_settings, &zero_key, sizeof(zero_key),
					   &defaults, sizeof(defaults), BPF_ANY);
	}
	return ASSERT_TRUE(ok, "reset the test maps");
}

bool lb_begin(void)
{
	if (!lb_env.tried) {
		lb_env.tried = true;
		lb_env.ok = topology() && skeleton() && lb_pkts_init();
	}
	if (!lb_env.ok) {
		if (lb_env.skipped)
			veer_test_skip("%s", lb_env.why);
		else
			veer_test_fail(__FILE__, __LINE__, "BPF test environment: %s", lb_env.why);
		return false;
	}
	return env_reset();
}

/* ---- running fixtures ---- */

static __u32 tc_as_xdp(__u32 v)
{
	switch (v) {
	case TC_ACT_OK:
		return XDP_PASS;
	case TC_ACT_SHOT:
		return XDP_DROP;
	case TC_ACT_REDIRECT:
		return XDP_REDIRECT;
	default:
		return 0x100 + v;
	}
}

int lb_prog_run(const struct pkt *in, enum side from, struct pkt *out, __u32 *retval)
{
	struct xdp_md md = {
		.data = 0,
		.data_end = in->len,
		.ingress_ifindex = lb_env.ifindex[from],
	};
	/* ifindex makes the device the skb arrives on, as at tc ingress. */
	struct __sk_buff skb = {
		.ifindex = lb_env.ifindex[from],
		.ingress_ifindex = lb_env.ifindex[from],
	};
	bool tc = lb_env.hook == LB_TC;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data, .data_size_in = in->len,
		    .data_out = out->data, .data_size_out = sizeof(out->data),
		    .ctx_in = tc ? (void *)&skb : (void *)&md,
		    .ctx_size_in = tc ? sizeof(skb) : sizeof(md), .repeat = 1);
	int err;

	memset(out, 0, sizeof(*out));
	err = bpf_prog_test_run_opts(lb_env.prog_fd[lb_env.hook], &opts);
	out->len = opts.data_size_out;
	*retval = tc ? tc_as_xdp(opts.retval) : opts.retval;
	return err;
}

static const char *verdict_name(__u32 v)
{
	static const char *const names[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					    "XDP_REDIRECT"};

	return v < 5 ? names[v] : "?";
}

bool lb_fixture_run(const struct lb_fixture *fx)
{
	return lb_fixture_run_also(fx, VEER_REASON_NONE);
}

bool lb_fixture_run_also(const struct lb_fixture *fx, enum veer_reason also)
{
	return lb_fixture_run_fn(fx, also, NULL, NULL);
}

bool lb_fixture_run_fn(const struct lb_fixture *fx, enum veer_reason also, lb_expect_fn expect,
		       void *arg)
{
	__u64 before[VEER_REASON_MAX], after[VEER_REASON_MAX];
	const struct pkt *want = fx->out ? fx->out : fx->in;
	char what[160], why[128];
	static struct pkt built;
	struct pkt got;
	__u32 retval;
	bool ok;
	int err;

	lb_reasons_read(before);
	snprintf(what, sizeof(what), "%s: BPF_PROG_RUN", fx->name);
	err = lb_prog_run(fx->in, fx->from, &got, &retval);
	/*
	 * The kernel builds no test skb from a frame whose network header is cut short (EINVAL);
	 * at XDP the same frame runs, so the rule is still checked once.
	 */
	if (err == -EINVAL && lb_env.hook == LB_TC && fx->in->len < ETH_HLEN + 40)
		return true;
	if (!ASSERT_OK(err, what))
		return false;
	lb_reasons_read(after);

	snprintf(what, sizeof(what), "%s: verdict %s (got %s)", fx->name, verdict_name(fx->verdict),
		 verdict_name(retval));
	ok = ASSERT_EQ(retval, fx->verdict, what);
	if (expect) {
		memset(&built, 0, sizeof(built));
		ok &= expect(&built, &got, arg);
		want = &built;
	}
	snprintf(what, sizeof(what), "%s: output bytes", fx->name);
	ok &= ASSERT_MEMEQ(got.data, got.len, want->data, want->len, what);
	if ((fx->out || expect) && !pkt_csums_ok(&got, why, sizeof(why)))
		ok = veer_test_fail(__FILE__, __LINE__, "%s: %s", fx->name, why);
	for (int r = 0; r < VEER_REASON_MAX; r++) {
		__u64 delta = after[r] - before[r];
		__u64 times = (r == (int)fx->reason && fx->reason != VEER_REASON_NONE) +
			      (r == (int)also && also != VEER_REASON_NONE);

		snprintf(what, sizeof(what), "%s: reason %s counted", fx->name,
			 reason_names[r] ? reason_names[r] : "(unnamed)");
		ok &= ASSERT_EQ(delta, times, what);
	}
	return ok;
}

bool lb_fixtures_run(const struct lb_fixture *fx, size_t n)
{
	bool ok = true;

	for (size_t i = 0; i < n; i++)
		ok &= lb_fixture_run(&fx[i]);
	return ok;
}

bool lb_shell(const char *cmd)
{
	int rc = system(cmd);

	if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc))
		return veer_test_fail(__FILE__, __LINE__, "command failed (status %d): %s", rc,
				      cmd);
	return true;
}

bool lb_shell_once(const char *const *cmds, size_t n, int *state, const char *what)
{
	if (!*state) {
		*state = 1;
		for (size_t i = 0; *state == 1 && i < n; i++)
			if (!lb_shell(cmds[i]))
				*state = -1;
	}
	return ASSERT_EQ(*state, 1, what);
}
