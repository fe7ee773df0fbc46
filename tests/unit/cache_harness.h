/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The harness of the hot-key cache tests (the test_cache_*.c files): real TCP connections over
 * loopback whose client side is in veer_cache_socks, so that every byte the client sends goes
 * through veer_cache_msg and every byte the server sends back through veer_cache_verdict. A
 * test sends requests, checks the EXACT bytes that reach the server and the client, and checks
 * every counter of veer_cache_stats against what must have moved.
 *
 * Isolation: the skeleton is loaded with pinning switched off, so its maps are private to this
 * process and the live cache under /sys/fs/bpf/veer is never touched; a struct veer_cache is
 * built around it so that libveer's cache functions work on those private maps. Sockets are
 * made in a network namespace of their own (198.18.0.1/32 and 2001:2::1/128 on its loopback,
 * listeners on both), created on first use; the process is left in whichever namespace it was
 * in, so the balancer's tests keep theirs. Connections are IPv4 unless a test asks for IPv6.
 *
 * Connections are tracked the way veer_cache_sockops would track them (conns entry, then the
 * socket map), except in the one test that runs the sockops program itself.
 */
#ifndef VEER_TEST_CACHE_HARNESS_H
#define VEER_TEST_CACHE_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <veer/abi.h>
#include "test.h"
#include "cache_internal.h"

/* A string literal as (bytes, length) without its NUL, for the I/O helpers. */
#define LIT(s) (s), (sizeof(s) - 1)

#define CACHE_ADDR	 "198.18.0.1"
#define CACHE_ADDR6	 "2001:2::1" /* 2001:2::/48, benchmarking, inside the namespace only */
#define CACHE_PORT_REDIS 6379
#define CACHE_PORT_MC	 11211

struct cache_env {
	bool tried, ok, skipped;
	char why[640];
	struct cache *skel;   /* private, unpinned maps; programs loaded */
	struct veer_cache vc; /* libveer's handle on those maps */
	int socks_fd, conns_fd;
	int netns_fd;	  /* the namespace the test sockets live in */
	int listen_fd[3]; /* by enum veer_cache_proto */
	/* IPv6: the address and listeners are set up apart, so that IPv4 tests run without. */
	bool v6_ok, v6_skipped;
	char why6[320];
	int listen6_fd[3];
};

extern struct cache_env cache_env;

/*
 * Every test begins here: the environment is made on first use, then reset: no entries, no
 * hot keys, no tracked connections, no cached ports, counters zero. Generations and the epoch
 * are not reset: they only grow, and tests read them where they matter.
 */
bool cache_begin(void);

/* The namespace of the test sockets: enter it (returns the fd to go back with), leave it. */
int cache_ns_enter(void);
void cache_ns_leave(int prev);

/* ---- connections ---- */

struct cache_conn {
	int client, server; /* both non-blocking */
	__u8 proto;
	int family;			/* AF_INET or AF_INET6 */
	bool tracked;			/* a conns entry of ours to delete on close */
	struct veer_cache_sock_key key; /* the client socket's, as the programs build it */
};

/* The key of a connected client socket: local = its own end, ports in host order. */
bool cache_sock_key(int fd, struct veer_cache_sock_key *key);
/*
 * Connects a client to the proto's listener of that family (CACHE_ADDR or CACHE_ADDR6) and
 * accepts the server side; not tracked. IPv6 missing from the kernel skips the test.
 */
bool cache_conn_connect_af(struct cache_conn *cc, __u8 proto, int family);
/* The same over IPv4. */
bool cache_conn_connect(struct cache_conn *cc, __u8 proto);
/* Tracks the client as sockops would: a zeroed conns entry with .proto, then the socket map. */
bool cache_conn_track(struct cache_conn *cc);
/* Both of the above. */
bool cache_conn_open_af(struct cache_conn *cc, __u8 proto, int family);
bool cache_conn_open(struct cache_conn *cc, __u8 proto);
void cache_conn_close(struct cache_conn *cc);
/* The connection's veer_cache_conns entry; false if it has none. */
bool cache_conn_state(const struct cache_conn *cc, struct veer_cache_conn *st);

/* One field of the connection's veer_cache_conns entry and the value it must hold. */
struct cache_conn_field {
	const char *name;
	size_t off, size;
	__u64 want;
};
#define CONN_FIELD(field, value)                                                                   \
	{#field, offsetof(struct veer_cache_conn, field),                                          \
	 sizeof(((struct veer_cache_conn *)0)->field), (value)}
bool cache_conn_fields_eq(const struct cache_conn *cc, const char *what,
			  const struct cache_conn_field *f, size_t n);
/* CACHE_CONN_EQ(cc, what, CONN_FIELD(blind, 1), ...): every field named holds its value. */
#define CACHE_CONN_EQ(cc, what, ...)                                                               \
	cache_conn_fields_eq(cc, what, (const struct cache_conn_field[]){__VA_ARGS__},            \
			     sizeof((const struct cache_conn_field[]){__VA_ARGS__}) /                \
				     sizeof(struct cache_conn_field))

/* The connection's counts of requests passed and replies seen, and that it still serves. */
bool cache_owed_eq(const struct cache_conn *cc, __u64 sent, __u64 replies, const char *what);
/* Polls the connection's entry until the verdict program has counted n replies. */
bool cache_wait_replies(const struct cache_conn *cc, __u64 n);

/* ---- traffic: every check reads what arrived and compares it byte for byte ---- */

bool client_send(struct cache_conn *cc, const void *buf, size_t len);
/* One sendmsg() of n pieces, as clients that gather a request from parts do. */
bool client_sendv(struct cache_conn *cc, const char *const *parts, int n);
bool server_send(struct cache_conn *cc, const void *buf, size_t len);
/* Waits up to ~200 ms for len bytes on the server side; exactly those must have arrived. */
bool server_expect(struct cache_conn *cc, const void *buf, size_t len);
/* Waits ~100 ms: nothing may arrive on the server side. */
bool server_expect_nothing(struct cache_conn *cc);
/* The same on the client side. */
bool client_expect(struct cache_conn *cc, const void *buf, size_t len);
bool client_expect_nothing(struct cache_conn *cc);
/* Waits until the server side has received at least n bytes (without reading them). */
bool server_wait_bytes(struct cache_conn *cc, size_t n);

/*
 * One request/reply exchange that the server must see: the client sends req, the server must
 * receive exactly req, answers rep, and the client must read exactly rep.
 */
bool exchange_passed(struct cache_conn *cc, const void *req, size_t req_len, const void *rep,
		     size_t rep_len);
/* A request answered from the cache: the client reads rep, the server sees nothing. */
bool exchange_hit(struct cache_conn *cc, const void *req, size_t req_len, const void *rep,
		  size_t rep_len);

/* ---- entries ---- */

/* veer_cache_put of a string key and value, TTL 60 s, current now; as an assertion. */
bool cache_put(__u8 proto, const char *key, const char *value, __u32 mc_flags);
/* Whether veer_cache_get finds the entry current; false (and no failure) when absent. */
bool cache_current(__u8 proto, const char *key);

/* ---- counters ---- */

struct cache_stat_want {
	enum veer_cache_stat stat;
	__u64 n;
};

/* The counters of veer_cache_stats, summed over CPUs by libveer. */
bool cache_stats_read(__u64 sum[VEER_CACHE_STAT_MAX]);
/*
 * Every counter since cache_begin(): those listed must hold exactly their value, every other
 * one zero. Strict on purpose: a counter that moves when it should not is a path taken that
 * should not have been.
 */
bool cache_stats_eq(const char *what, const struct cache_stat_want *want, size_t n);
#define CACHE_STATS_EQ(what, ...)                                                                  \
	cache_stats_eq(what, (const struct cache_stat_want[]){__VA_ARGS__},                        \
		       sizeof((const struct cache_stat_want[]){__VA_ARGS__}) /                     \
			       sizeof(struct cache_stat_want))

#endif /* VEER_TEST_CACHE_HARNESS_H */
