// SPDX-License-Identifier: GPL-2.0
/*
 * The hot-key cache on IPv6 connections (CACHE_ADDR6, 2001:2::1, inside the test namespace):
 * the programs key a connection by its IPv6 4-tuple (local_ip6[]/remote_ip6[], family
 * AF_INET6), so a hit, a miss, the order of replies, and sockops tracking are each checked
 * over IPv6 with the exact bytes each side received and every counter. The key the harness
 * builds is itself checked against the address as written, so that a harness and a program
 * that agreed on a wrong key would still be caught. Harness: cache_harness.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/magic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cache_harness.h"

#define R VEER_CACHE_REDIS

#define GET_K "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
#define GET_X "*2\r\n$3\r\nGET\r\n$1\r\nx\r\n"
#define HELLO "$5\r\nhello\r\n"
#define NIL   "$-1\r\n"

#define CGROUP2_ROOT "/sys/fs/cgroup/unified"

/*
 * The client's key as the ABI defines it for IPv6: family 10, both ends 2001:2::1 as its 16
 * bytes in local[0..3]/remote[0..3], the server's port, and some ephemeral local port.
 */
static bool key_is_v6(const struct veer_cache_sock_key *key, __u16 server_port)
{
	__u8 addr[16];
	bool ok;

	inet_pton(AF_INET6, CACHE_ADDR6, addr);
	ok = ASSERT_EQ(key->family, 10, "key: family (AF_INET6)");
	ok &= ASSERT_MEMEQ(key->local, sizeof(key->local), addr, sizeof(addr), "key: local");
	ok &= ASSERT_MEMEQ(key->remote, sizeof(key->remote), addr, sizeof(addr), "key: remote");
	ok &= ASSERT_EQ(key->remote_port, server_port, "key: remote port (host order)");
	ok &= ASSERT_NEQ(key->local_port, 0, "key: local port");
	return ok;
}

/* An IPv6 connection, its key checked before it is tracked the way sockops would. */
static bool open6(struct cache_conn *cc, __u8 proto)
{
	if (!cache_conn_connect_af(cc, proto, AF_INET6))
		return false;
	if (key_is_v6(&cc->key, proto == R ? CACHE_PORT_REDIS : CACHE_PORT_MC) &&
	    cache_conn_track(cc))
		return true;
	cache_conn_close(cc);
	return false;
}

VEER_TEST(cache_ipv6_redis_hit)
{
	struct cache_conn cc;

	if (!cache_begin() || !cache_put(R, "k", "hello", 0) || !open6(&cc, R))
		return;
	/* Twice: a hit leaves the connection as it found it, ready to serve again. */
	if (exchange_hit(&cc, LIT(GET_K), LIT(HELLO)) && exchange_hit(&cc, LIT(GET_K), LIT(HELLO)))
		CACHE_STATS_EQ("two hits over IPv6", {VEER_CACHE_HIT, 2});
	cache_owed_eq(&cc, 0, 0, "after hits over IPv6");
	cache_conn_close(&cc);
}
