// SPDX-License-Identifier: GPL-2.0
/*
 * The cache tests that let veer_cache_sockops track the connection itself (IPv4 and IPv6), as
 * in production: the program on a cgroup of our own, the test process in that cgroup only while it
 * makes and connects its client socket (a socket belongs to the cgroup it was made in).
 * Harness: cache_harness.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cache_harness.h"

#define CGROUP2_ROOT "/sys/fs/cgroup/unified"

/* The cgroup v2 directory this process is in, from /proc/self/cgroup's "0::" line. */
static bool cgroup_current(char *buf, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = 0;
		found = snprintf(buf, len, "%s%s", CGROUP2_ROOT, line + 3) < (int)len;
	}
	fclose(f);
	return found;
}

static bool cgroup_enter(const char *dir)
{
	char path[4200];
	int fd, n;
	bool ok;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return ASSERT_OK(-errno, path);
	n = dprintf(fd, "%d\n", getpid());
	ok = ASSERT_TRUE(n > 0, path);
	close(fd);
	return ok;
}

/* Polls for the conns entry to appear (want) or to go (!want), up to timeout_ms. */
static bool conn_entry_wait(const struct veer_cache_sock_key *key, bool want, int timeout_ms)
{
	struct veer_cache_conn *st = malloc(sizeof(*st));
	bool present = false;

	if (!st)
		return false;
	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		present = !bpf_map_lookup_elem(cache_env.conns_fd, key, st);
		if (present == want)
			break;
		poll(NULL, 0, 5);
	}
	free(st);
	return present == want;
}

static void sockops_tracks_and_serves(int family)
{
	int prog = -1, cg = -1, err;
	char orig[4096], dir[256];
	struct veer_cache_port port = {.proto = VEER_CACHE_REDIS};
	__u32 port_key = CACHE_PORT_REDIS;
	struct veer_cache_conn st;
	struct cache_conn cc = {.client = -1, .server = -1};
	bool attached = false, made = false, connected;
	__u64 cookie = 0, want_cookie = 0;
	socklen_t cl = sizeof(want_cookie);
	struct statfs sfs;

	if (statfs(CGROUP2_ROOT, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		if (!veer_test_kernel_has_fs("cgroup2"))
			veer_test_skip_missing("cgroup2", "not in /proc/filesystems");
		else
			veer_test_skip("cgroup v2 is not mounted at %s", CGROUP2_ROOT);
		return;
	}
	if (!cache_begin() || !cache_put(VEER_CACHE_REDIS, "k", "hello", 0))
		return;
	if (!ASSERT_TRUE(cgroup_current(orig, sizeof(orig)), "this process's cgroup v2"))
		return;
	snprintf(dir, sizeof(dir), "%s/veer-unit-cache%d-%d", CGROUP2_ROOT,
		 family == AF_INET6 ? 6 : 4, getpid());
	if (!ASSERT_OK(mkdir(dir, 0755) ? -errno : 0, "mkdir the test cgroup"))
		return;
	made = true;
	cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!ASSERT_TRUE(cg >= 0, "open the test cgroup"))
		goto out;
	prog = bpf_program__fd(cache_env.skel->progs.veer_cache_sockops);
	err = bpf_prog_attach(prog, cg, BPF_CGROUP_SOCK_OPS, 0);
	if (!ASSERT_OK(err ? -errno : 0, "attach veer_cache_sockops to the test cgroup"))
		goto out;
	attached = true;
	err = bpf_map__update_elem(cache_env.skel->maps.veer_cache_ports, &port_key,
				   sizeof(port_key), &port, sizeof(port), BPF_ANY);
	if (!ASSERT_OK(err, "cache the Redis port"))
		goto out;

	if (!cgroup_enter(dir))
		goto out;
	connected = cache_conn_connect_af(&cc, VEER_CACHE_REDIS, family);
	/* Back at once, whatever happened: nothing else of the runner's belongs in there. */
	if (!cgroup_enter(orig) || !connected)
		goto out;

	if (!ASSERT_TRUE(conn_entry_wait(&cc.key, true, 200),
			 "sockops made a veer_cache_conns entry under the client's 4-tuple"))
		goto out;
	if (ASSERT_TRUE(cache_conn_state(&cc, &st), "the connection's entry")) {
		ASSERT_EQ(st.proto, VEER_CACHE_REDIS, "entry: protocol");
		ASSERT_EQ(st.sent, 0, "entry: requests passed");
		ASSERT_EQ(st.off, 0, "entry: serving");
	}
	/* The socket map gives a member's cookie back: this very socket is in it. */
	if (ASSERT_OK(bpf_map_lookup_elem(cache_env.socks_fd, &cc.key, &cookie) ? -errno : 0,
		      "the client in veer_cache_socks") &&
	    ASSERT_OK(getsockopt(cc.client, SOL_SOCKET, SO_COOKIE, &want_cookie, &cl) ? -errno : 0,
		      "SO_COOKIE"))
		ASSERT_EQ(cookie, want_cookie, "socket map member is the client socket");

	if (exchange_hit(&cc, LIT("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), LIT("$5\r\nhello\r\n")))
		CACHE_STATS_EQ("hit on a connection sockops tracked", {VEER_CACHE_HIT, 1});

	/* Closed, the connection's state goes with it (sockops sees TCP_CLOSE). */
	close(cc.client);
	close(cc.server);
	cc.client = cc.server = -1;
	ASSERT_TRUE(conn_entry_wait(&cc.key, false, 1000),
		    "veer_cache_conns entry removed when the connection closed");
out:
	cache_conn_close(&cc);
	if (attached)
		ASSERT_OK(bpf_prog_detach2(prog, cg, BPF_CGROUP_SOCK_OPS) ? -errno : 0,
			  "detach veer_cache_sockops");
	bpf_map__delete_elem(cache_env.skel->maps.veer_cache_ports, &port_key, sizeof(port_key), 0);
	if (cg >= 0)
		close(cg);
	if (made)
		ASSERT_OK(rmdir(dir) ? -errno : 0, "rmdir the test cgroup");
}

VEER_TEST(cache_sockops_tracks_and_serves)
{
	sockops_tracks_and_serves(AF_INET);
}

VEER_TEST(cache_ipv6_sockops_tracks_and_serves)
{
	sockops_tracks_and_serves(AF_INET6);
}
