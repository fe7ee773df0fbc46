/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libveer: the one implementation of every operation on veer's pinned state, shared by the
 * veer CLI and the daemon. Functions return 0 or -errno; on failure they have already logged
 * one line of the form "cannot add backend 198.18.11.2 to 198.18.100.10:80/tcp: no such VIP".
 */
#ifndef VEER_H
#define VEER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <veer/abi.h>
#include "log.h"

/* The release, for veer -V and veerd --version. */
#define VEER_VERSION "0.1.0"

/* Text forms: "198.18.0.1", "2001:2::1"; endpoints "198.18.0.1:80", "[2001:2::1]:80". */
#define VEER_ADDR_STRLEN 64

struct veer_endpoint {
	union veer_addr addr;
	__be16 port; /* 0 = unspecified */
	__u8 family;
};

/* Parsers return 0 or -EINVAL and log nothing: the caller names the argument. */
int veer_parse_addr(const char *s, union veer_addr *addr, __u8 *family);
int veer_parse_endpoint(const char *s, struct veer_endpoint *ep, bool port_required);
int veer_parse_vip(const char *s, struct veer_vip_key *key);
int veer_parse_u32(const char *s, __u32 min, __u32 max, __u32 *out);
int veer_parse_duration(const char *s, __u32 *ms);
struct veer_cidr {
	union veer_addr addr; /* host bits zero */
	__u8 len;
	__u8 family;
};

/*
 * "198.18.1.0/24", "2001:2::/48": 0, -EINVAL for no CIDR, or -ERANGE when host bits are set
 * (c then holds the network: 198.18.1.5/24 gives 198.18.1.0/24). Logs nothing.
 */
int veer_parse_cidr(const char *s, struct veer_cidr *c);
char *veer_fmt_cidr(const struct veer_cidr *c, char *buf, size_t len);
/* Clears a's bits past len; whether any was set. */
bool veer_cidr_mask(union veer_addr *a, __u8 len, __u8 family);
const char *veer_proto_name(__u8 proto);
char *veer_fmt_addr(const union veer_addr *addr, __u8 family, char *buf, size_t len);
char *veer_fmt_endpoint(const union veer_addr *addr, __be16 port, __u8 family, char *buf,
			size_t len);
char *veer_fmt_vip(const struct veer_vip_key *key, char *buf, size_t len);
const char *veer_mode_name(__u8 mode);
int veer_parse_mode(const char *s, __u8 *mode);

/*
 * Handle on the pinned maps, opened for reading or for writing (which serialises writers). A
 * writer creates the maps that are not pinned yet; a reader creates nothing and fails with
 * -ENOENT ("nothing is loaded in DIR") when none is pinned. Maps pinned with another layout
 * (another version of veer) are refused with -EINVAL, naming the map and the difference.
 */
struct veer;

int veer_open(struct veer **v, bool write);
/*
 * A writer that changes what exists and creates nothing (vip del, backend add/set/del, set):
 * -ENOENT ("nothing is loaded in DIR") when no map is pinned, so that a command that fails
 * leaves an empty host empty.
 */
int veer_open_existing(struct veer **v);
void veer_close(struct veer *v);
/*
 * For a process that keeps its handle (veerd): veer_unlock lets go of the pin lock between
 * transactions and forgets what the handle read under it; veer_relock takes the lock again.
 * Opening costs a parse of the kernel's BTF (milliseconds, every time); a transaction on a
 * kept handle costs only its own work. -ESTALE when the pins were replaced meanwhile (the
 * handle's maps are no longer the pinned ones): close it and open another.
 */
void veer_unlock(struct veer *v);
int veer_relock(struct veer *v, bool write);

/*
 * The connection tables, veer_flows4 and veer_flows6, hold one entry per connection: their
 * size N is the number of connections of each address family. It is set when they are created
 * (by the first veer_attach or writer veer_open) and kept for as long as they stay pinned.
 */
#define VEER_FLOWS_MIN	 1024
#define VEER_FLOWS_LIMIT (1U << 27)
/*
 * The default, sized for the host: N such that the two tables take at most 1/32 of its
 * physical memory (by the kernel's cost of an entry: 64 bytes plus key and value, each rounded
 * up to 8), rounded down to a power of two, within 65536..16777216.
 */
#define VEER_FLOWS_MEM_SHARE   32
#define VEER_FLOWS_DEFAULT_MIN 65536
#define VEER_FLOWS_DEFAULT_MAX 16777216

/*
 * The size of connection tables created from now on by this process; 0 (the start) = the
 * host's default. While set, adopting tables of another size fails with -EEXIST and says how
 * to resize. -EINVAL outside VEER_FLOWS_MIN..VEER_FLOWS_LIMIT.
 */
int veer_set_flows(__u32 n);
/* The host's default size, VEER_FLOWS_DEFAULT_MIN..VEER_FLOWS_DEFAULT_MAX. */
__u32 veer_flows_default(void);

struct veer_table_info {
	const char *name; /* the map: "veer_flows4" */
	__u8 family;	  /* VEER_AF_INET or VEER_AF_INET6 */
	bool pinned;	  /* false only for a reader's empty stand-in of a table not pinned */
	__u32 capacity;	  /* max_entries: connections */
	__u64 memory;	  /* bytes the kernel charges for the map (memlock), 0 if unknown */
};

/* The connection tables, IPv4 then IPv6. */
int veer_flow_tables(struct veer *v, struct veer_table_info out[2]);
/* The handshake tables (TCP connections before their first packet past the SYN), likewise. */
int veer_syn_tables(struct veer *v, struct veer_table_info out[2]);

struct veer_vip_opts {
	__u8 mode;
	__u32 affinity;	 /* seconds */
	__u32 ring_size; /* 0 = VEER_RING_DEFAULT */
};

struct veer_vip_info {
	struct veer_vip_key key;
	struct veer_vip vip;
	__u32 backends;
};

struct veer_backend_info {
	__u32 id;
	struct veer_backend be;
};

/* The checks of veer_vip_add that need no state: made before anything is opened. */
int veer_vip_check(const struct veer_vip_key *key, const struct veer_vip_opts *opts);
int veer_vip_add(struct veer *v, const struct veer_vip_key *key, const struct veer_vip_opts *opts);
int veer_vip_del(struct veer *v, const struct veer_vip_key *key);
int veer_vip_get(struct veer *v, const struct veer_vip_key *key, struct veer_vip *vip);
/* Sorted by address, port, protocol; *out is malloc'd. */
int veer_vip_list(struct veer *v, struct veer_vip_info **out, size_t *n);

int veer_backend_add(struct veer *v, const struct veer_vip_key *vip, const struct veer_endpoint *ep,
		     __u32 weight, const char *pool);
int veer_backend_set_weight(struct veer *v, const struct veer_vip_key *vip,
			    const struct veer_endpoint *ep, __u32 weight);
int veer_backend_del(struct veer *v, const struct veer_vip_key *vip,
		     const struct veer_endpoint *ep);
/* The VIP's active backends, sorted by address and port; *out is malloc'd. */
int veer_backend_list(struct veer *v, const struct veer_vip_key *vip,
		      struct veer_backend_info **out, size_t *n);

int veer_vip_counters(struct veer *v, __u32 vip_id, struct veer_counters *sum);
int veer_backend_counters(struct veer *v, __u32 backend_id, struct veer_counters *sum);
int veer_reason_counters(struct veer *v, __u64 sum[VEER_REASON_MAX]);
extern const char *const veer_reason_names[VEER_REASON_MAX];

/* A connection as `veer flows` shows it. */
struct veer_flow_info {
	struct veer_flow_key key; /* client -> VIP */
	struct veer_flow flow;
	bool handshake; /* a TCP SYN seen, the handshake not complete yet */
	/* The backend's slot, NULL when it went to another backend (the flow is dead). */
	const struct veer_backend *backend;
};

/* Calls fn for every connection (handshakes included) until it returns non-zero. */
int veer_flow_foreach(struct veer *v, int (*fn)(const struct veer_flow_info *, void *), void *ctx);

/* What the data plane reads at run time (veer_settings); 0 in a field means its default. */
int veer_settings_get(struct veer *v, struct veer_settings *s);
/* Writes s whole: the caller reads, changes what it sets, writes. */
int veer_settings_set(struct veer *v, const struct veer_settings *s);
/*
 * Sets one setting of s by name from its text: "tcp-timeout", "udp-timeout" ("300s", "2m"),
 * "encap-source4", "encap-source6" (dsr-ipip's outer source prefixes: "172.16.0.0/16"),
 * "event-sample" ("off", "1/100"), "event-drop-burst" ("off", "1000").
 * -ENOENT for an unknown name, -EINVAL for a value of the wrong form, -ERANGE for one out of
 * range (a timeout outside 10 s .. 7 days, a prefix too short or of addresses no host sends
 * from). Logs nothing: the caller names the argument, and veer_setting_want() says what it
 * must be.
 */
int veer_setting_parse(struct veer_settings *s, const char *name, const char *value);
/* What a value of setting name must be, for messages; NULL for an unknown name. */
const char *veer_setting_want(const char *name);
/* Every setting's name, for messages: "tcp-timeout, udp-timeout, ...". */
const char *veer_setting_names(void);
/*
 * Whether the data plane takes the connection for gone: idle past its timeout (closing,
 * handshake, or its protocol's under s) and the refresh interval's slack. now is
 * CLOCK_MONOTONIC_COARSE in ns, the data plane's clock.
 */
bool veer_flow_expired(const struct veer_settings *s, const struct veer_flow_info *fi, __u64 now);
struct veer_setting_value {
	const char *name;
	bool duration; /* a timeout, in ns */
	__u64 ns;
	bool number; /* a count (event-drop-burst), in value; 0 = off */
	__u64 value;
	char text[VEER_ADDR_STRLEN]; /* as veer set takes it: "300s", "172.16.0.0/16" */
};

/* The i-th setting and its value in effect (its default when unset); -ENOENT past the end. */
int veer_setting_at(const struct veer_settings *s, size_t i, struct veer_setting_value *out);

enum veer_xdp_mode {
	VEER_XDP_NATIVE,
	VEER_XDP_GENERIC,
};

/*
 * Where the data plane runs on an interface. AUTO takes XDP on an interface with a bus device
 * (a NIC, whose frames carry full checksums) and tc on a virtual one (veth, bridge, tun...),
 * where a local sender's packet carries a checksum only its skb knows and XDP redirect would
 * deliver it corrupt.
 */
enum veer_hook_choice {
	VEER_HOOK_AUTO,
	VEER_HOOK_XDP,
	VEER_HOOK_TC,
};

struct veer_link {
	char ifname[32];
	int ifindex;
	__u32 prog_id;
	const char *hook; /* "xdp" or "tc" */
	const char *mode; /* xdp: "native", "generic", "offload"; tc: "ingress" */
	/* veer_lb_egress at the tc egress hook (a local forward proxy's), 0 if missing. */
	__u32 egress_prog_id;
};

int veer_attach(const char *ifname, enum veer_hook_choice hook, enum veer_xdp_mode mode);
int veer_detach(const char *ifname);
/*
 * Whether the program attached there is this pin directory's (its maps are the pinned ones):
 * 1, 0 for another instance's (or nothing pinned here), -errno when it cannot be read (reading
 * a program by id takes CAP_SYS_ADMIN).
 */
struct veer_link;
int veer_link_ours(const struct veer_link *l);
/* Interfaces with veer's program attached; *out is malloc'd. */
int veer_links(struct veer_link **out, size_t *n);
/*
 * The directory of veer's pinned state, for the whole process: VEER_PIN_DIR unless set (the
 * CLI's --pin-dir and $VEER_PIN_DIR). Two pin directories are two independent instances.
 */
int veer_set_pin_dir(const char *dir);
const char *veer_pin_dir(void);
/*
 * veerd's lock for the pin directory: one file per directory under VEER_DAEMON_RUN_DIR, held
 * (flock) by the veerd that serves it. veer_daemon_pid: that veerd's pid, 0 when none runs.
 */
#define VEER_DAEMON_RUN_DIR "/run/veer"
char *veer_daemon_lock_path(char *buf, size_t len);
int veer_daemon_pid(void);
/*
 * Unpins every veer_* and cache_* object of the pin directory and removes it when that leaves
 * it empty: maps go when their last program does, the cache's cgroup links are detached. Interfaces are not touched
 * (veer_detach). 0 when nothing was there.
 */
int veer_pins_remove(void);
/* 0 when the pin directory is (or can be created) on a bpffs, else -ENOTSUP with a message. */
int veer_check_bpffs(void);

/*
 * Whether the pin directory holds a map of that name: the load balancer's maps are there when
 * "veer_vips" is, decap's when "veer_decap_vips" is.
 */
bool veer_pinned(const char *map);

/* ---- backend decapsulation, the backend half of direct server return (decap.c) ---- */

/*
 * Handle on decap's pinned maps (veer_decap_vips, veer_decap_stat), in the same pin directory
 * as the load balancer's, whose maps it never creates. As veer_open: a writer creates what is
 * missing, veer_decap_open_existing and a reader create nothing and fail with -ENOENT when
 * none is pinned, and pins of another layout are refused with -EINVAL.
 */
struct veer_decap;

int veer_decap_open(struct veer_decap **d, bool write);
int veer_decap_open_existing(struct veer_decap **d);
void veer_decap_close(struct veer_decap *d);

/*
 * A decap VIP's address from text ("198.18.100.10", "2001:2::10" or "[2001:2::10]"): unicast,
 * no port. 0 or -EINVAL; logs nothing.
 */
int veer_decap_parse_vip(const char *s, union veer_addr *addr, __u8 *family);
/*
 * -EEXIST, -ENOENT ("no such VIP"), -E2BIG (VEER_DECAP_VIPS_MAX VIPs), -ENOSPC (the slots the
 * address hashes to are taken: include/veer/decap_hash.h): each logged in one line.
 */
int veer_decap_vip_add(struct veer_decap *d, const union veer_addr *addr, __u8 family);
int veer_decap_vip_del(struct veer_decap *d, const union veer_addr *addr, __u8 family);

struct veer_decap_vip_info {
	union veer_addr addr;
	__u8 family;
};

/* IPv4 first, then by address; *out is malloc'd. */
int veer_decap_vip_list(struct veer_decap *d, struct veer_decap_vip_info **out, size_t *n);
/* veer_decap_stat summed over CPUs, by enum veer_decap_reason. */
int veer_decap_counters(struct veer_decap *d, __u64 sum[VEER_DECAP_REASON_SLOTS]);
extern const char *const veer_decap_reason_names[VEER_DECAP_REASON_SLOTS];

/*
 * Loads (creating decap's maps if needed) and attaches the decap program, with the hook and
 * mode rules of veer_attach. An interface where veer's load balancer is attached is refused
 * (-EBUSY), and veer_attach refuses one where decap is.
 */
int veer_decap_attach(const char *ifname, enum veer_hook_choice hook, enum veer_xdp_mode mode);
int veer_decap_detach(const char *ifname);
/* Interfaces of the caller's network namespace with decap attached; *out is malloc'd. */
int veer_decap_links(struct veer_link **out, size_t *n);

/* An interface `veer decap check` looked at, with the settings in effect there. */
struct veer_decap_iface {
	char name[32];
	bool attached; /* decap is attached there */
	/*
	 * As the kernel applies them: the larger of net.ipv4.conf.all.X and conf.IFACE.X; -1 if
	 * unreadable. all_* are the "all" values alone.
	 */
	int arp_ignore, arp_announce, rp_filter;
	int all_arp_ignore, all_arp_announce, all_rp_filter;
};

#define VEER_DECAP_PROBLEM_LEN 320

/*
 * What `veer decap check` finds: the host settings direct server return needs, in the
 * caller's network namespace. Each problem is one line saying what is wrong and how to set it
 * right.
 */
struct veer_decap_check {
	size_t nvips;			 /* decap VIPs (0 when decap's maps are not pinned) */
	struct veer_decap_iface *ifaces; /* where decap is attached; else every up one but lo */
	size_t nifaces;
	bool attached; /* decap is attached to some interface */
	char (*problems)[VEER_DECAP_PROBLEM_LEN];
	size_t nproblems;
};

/*
 * Checks: each decap VIP on lo as a /32 or /128 and on no other interface; for IPv4,
 * arp_ignore 1 (or 2, 8) and arp_announce 2 on the interfaces looked at, rp_filter not strict
 * (1) there; decap attached to some interface; at least one decap VIP. 0 with *c filled (free
 * it with veer_decap_check_free), or -errno when the host could not be read.
 */
int veer_decap_check(struct veer_decap_check *c);
void veer_decap_check_free(struct veer_decap_check *c);
/* ---- the transparent forward proxy (proxy.c) ---- */

/* A rule: TCP from clients in from to any address on port dport goes to the proxy at to. */
struct veer_proxy_info {
	struct veer_cidr from;
	__be16 dport;
	struct veer_endpoint to;
	bool vip_exempt; /* connections to a VIP are load balanced instead */
};

/* The checks of veer_proxy_add that need no state (families, a loopback proxy): -EINVAL. */
int veer_proxy_check(const struct veer_proxy_info *r);
/* -EEXIST for a rule of the same CIDR and port (no change), -ENOSPC when the table is full. */
int veer_proxy_add(struct veer *v, const struct veer_proxy_info *r);
/* Deletes the rule and the connections it steered; -ENOENT when there is no such rule. */
int veer_proxy_del(struct veer *v, const struct veer_cidr *from, __be16 dport);
/* Sorted by family, port and prefix; *out is malloc'd. */
int veer_proxy_list(struct veer *v, struct veer_proxy_info **out, size_t *n);

/*
 * The proxy's side: a handle on the proxied connections (veer_proxy_conn in the pin directory),
 * opened without the state's lock and kept for as long as the proxy runs. -ENOENT (logged) when
 * nothing is pinned there.
 */
struct veer_origdst;

int veer_origdst_open(struct veer_origdst **h);
void veer_origdst_close(struct veer_origdst *h);

struct veer_proxy_conn_info {
	struct veer_endpoint client;
	struct veer_endpoint orig;  /* the destination the client asked for */
	struct veer_endpoint proxy; /* where veer sent the connection */
	bool established;	    /* past its handshake */
	bool closing;		    /* a FIN or RST was seen */
};

/* The live proxied connection from client (address and port); -ENOENT, unlogged, if none. */
int veer_proxy_conn_get(struct veer_origdst *h, const struct veer_endpoint *client,
			struct veer_proxy_conn_info *out);
/*
 * SO_ORIGINAL_DST's equivalent: the original destination of the connection a proxy accepted
 * from peer (getpeername()'s, or accept()'s address; an IPv4-mapped IPv6 peer of a dual-stack
 * socket is taken as IPv4), as a sockaddr_in or sockaddr_in6 to connect() to. 0, -ENOENT
 * (unlogged) when veer steered no live connection from peer, -EAFNOSUPPORT for another family.
 */
struct sockaddr;
struct sockaddr_storage;
int veer_proxy_origdst(struct veer_origdst *h, const struct sockaddr *peer,
		       struct sockaddr_storage *orig);

/* ---- the hot-key cache (cache.c, cache_entry.c, cache_manager.c) ---- */

struct veer_cache;

/* Opens (creating on first use) the cache's pinned maps; write serialises writers. */
int veer_cache_open(struct veer_cache **c, bool write);
void veer_cache_close(struct veer_cache *c);

int veer_cache_parse_proto(const char *s, __u8 *proto);
const char *veer_cache_proto_name(__u8 proto);

/*
 * Loads the cache programs if needed and attaches them: sockops on the cgroup (a pinned link
 * per cgroup), sk_msg and sk_skb on the socket map. Client sockets of the cgroup that connect
 * to port from then on are served in proto.
 */
int veer_cache_attach(struct veer_cache *c, const char *cgroup, __u16 port, __u8 proto);
/* Stops collecting the cgroup's new connections; connections already collected keep going. */
int veer_cache_detach(struct veer_cache *c, const char *cgroup);
/* Stops collecting new connections to port, in every attached cgroup. */
int veer_cache_port_del(struct veer_cache *c, __u16 port);

struct veer_cache_port_info {
	__u16 port;
	__u8 proto;
};

/* The cached ports, sorted; out has room for VEER_CACHE_PORTS. */
int veer_cache_ports(struct veer_cache *c, struct veer_cache_port_info *out, size_t *n);

/*
 * A key as text for tables and messages: bytes that are not printable ASCII, and the
 * backslash, as \xNN and \\, so that a CR or LF in a key cannot break a row or a line. buf
 * needs VEER_CACHE_KEY_TEXT_MAX bytes for any key.
 */
#define VEER_CACHE_KEY_TEXT_MAX (4 * VEER_CACHE_KEY_MAX + 1)
const char *veer_cache_key_text(const void *key, size_t len, char *buf, size_t size);

struct veer_cache_item {
	struct veer_cache_key key;
	__u32 value_len;
	__u32 reply_len;
	__s64 ttl_ms;	  /* time left; <= 0 = expired */
	__u64 expires_ns; /* CLOCK_MONOTONIC */
	__u64 hits;	  /* served from this entry */
	bool current;	  /* its generation and epoch still hold */
};

/*
 * What an entry must still match to be served: its key's generation and the flush epoch, read
 * before the value was fetched from the server.
 */
struct veer_cache_stamp {
	__u64 gen;
	__u64 epoch;
};

/*
 * Installs key = value as the reply proto's server would send it, current as of *stamp (NULL:
 * now). mc_flags are memcached's client flags.
 */
int veer_cache_put(struct veer_cache *c, __u8 proto, const void *key, size_t klen,
		   const void *value, size_t vlen, __u32 mc_flags, __u32 ttl_s,
		   const struct veer_cache_stamp *stamp);
/* The value (malloc'd, *vlen bytes) and the entry's state; -ENOENT when absent. */
int veer_cache_get(struct veer_cache *c, __u8 proto, const void *key, size_t klen, void **value,
		   size_t *vlen, struct veer_cache_item *item);
int veer_cache_del(struct veer_cache *c, __u8 proto, const void *key, size_t klen);
/* Sorted by protocol and key; *out is malloc'd. */
int veer_cache_list(struct veer_cache *c, struct veer_cache_item **out, size_t *n);
/*
 * Deletes the entries that can no longer be served (expired or stale), counting the expired,
 * and the state of connections whose socket has closed.
 */
int veer_cache_sweep(struct veer_cache *c, size_t *removed);
/* The key's stamp now: read it before fetching a value to install. */
int veer_cache_stamp(struct veer_cache *c, const void *key, size_t klen,
		     struct veer_cache_stamp *stamp);
/* Makes every entry of the key stale (a write seen outside the programs) and deletes it. */
int veer_cache_invalidate(struct veer_cache *c, const void *key, size_t klen);
/*
 * Makes every entry stale at once, as a FLUSHALL through the cache does: the flush epoch is
 * bumped (atomically, beside the programs' own bumps). Counted under flush.
 */
int veer_cache_epoch_bump(struct veer_cache *c);
/*
 * The lease of proto's manager: 1 with *ms the time it has left (<= 0: run out, nothing of
 * proto served), 0 when no manager holds one, or -errno.
 */
int veer_cache_lease_left(struct veer_cache *c, __u8 proto, __s64 *ms);

int veer_cache_counters(struct veer_cache *c, __u64 sum[VEER_CACHE_STAT_MAX]);
extern const char *const veer_cache_stat_names[VEER_CACHE_STAT_MAX];

struct veer_cache_hot_key {
	struct veer_cache_key key;
	__u64 misses;
	__u64 writes; /* writes the programs saw while the key was in the table */
};

/*
 * The top most-missed keys, most first; reset clears the counts. *out is malloc'd. Counts run
 * from the key's first miss until the table's LRU drops it or a reset.
 */
int veer_cache_hot(struct veer_cache *c, size_t top, bool reset, struct veer_cache_hot_key **out,
		   size_t *n);

struct veer_cache_manager_opts {
	__u8 proto;
	const char *host; /* the real server, reached over its own connection */
	__u16 port;
	__u32 top;		/* keys promoted per round */
	__u32 ttl_s;		/* of promoted entries */
	__u32 interval_ms;	/* between rounds */
	bool notify;		/* Redis: follow keyspace notifications (turned on if off) */
	double max_write_ratio; /* writes per read above which a key is not served */
};

/*
 * The cache manager: every interval, promotes the most-missed keys with values read from the
 * server; for Redis, invalidates keys written by clients veer does not see, from keyspace
 * notifications. Nothing cached is served without that feed: starting, stopping or losing it
 * makes every entry stale (veer_cache_epoch_bump), and the protocol's entries are served only
 * while the manager renews its lease. A lost connection is made again with capped backoff.
 *
 * For an event loop: nothing blocks, and there is no thread. Watch veer_cache_mgr_fd for
 * reading (one fd for the manager's life, whatever its connections), and call
 * veer_cache_mgr_run when it is readable or veer_cache_mgr_next_deadline (CLOCK_MONOTONIC ns)
 * has passed; ask for the deadline again after each run. veer_cache_mgr_run returns 0, or
 * -errno once the manager cannot go on (a server that does not speak proto, settings the
 * server refuses): free it then.
 */
struct veer_cache_mgr;

struct veer_cache_mgr_status {
	bool server_up;	      /* its connection for values is connected and checked */
	bool feed_live;	      /* Redis: subscribed to keyspace notifications */
	__u64 rounds;	      /* completed */
	__u64 promoted;	      /* keys installed */
	__u64 feed_losses;    /* subscriptions lost, each an epoch bump */
	__u64 notifications;  /* keyspace notifications read */
};

/* Opens the cache's maps (before contacting the server) and starts; the entries go stale. */
int veer_cache_mgr_new(const struct veer_cache_manager_opts *o, struct veer_cache_mgr **m);
int veer_cache_mgr_fd(const struct veer_cache_mgr *m);
__u64 veer_cache_mgr_next_deadline(const struct veer_cache_mgr *m);
int veer_cache_mgr_run(struct veer_cache_mgr *m);
void veer_cache_mgr_status(const struct veer_cache_mgr *m, struct veer_cache_mgr_status *s);
/* Stops: every entry goes stale, and the lease is lifted (entries put by hand serve again). */
void veer_cache_mgr_free(struct veer_cache_mgr *m);

/* The manager in a loop of its own (`veer cache manage`), until *stop is set; 0 or -errno. */
int veer_cache_manage(const struct veer_cache_manager_opts *o, volatile int *stop);

/* ---- declarative state: the config file veerd and `veer apply` read (config.c, apply.c) ---- */

/* Where a value came from in its file, for "FILE:LINE:COL: KEY: what is wrong". */
struct veer_config_pos {
	unsigned line, col; /* 1-based; 0 = not from a file */
};

enum veer_health_type {
	VEER_HEALTH_NONE = 0,
	VEER_HEALTH_TCP,
	VEER_HEALTH_HTTP,
};

#define VEER_HEALTH_PATH_MAX 256

/* A VIP's `health:` block; defaults filled in by the parser. */
struct veer_health_spec {
	enum veer_health_type type;
	__u16 port;			  /* host order; 0 = each backend's own port */
	char path[VEER_HEALTH_PATH_MAX]; /* http: the request's path, "/" by default */
	__u16 expect;			  /* http: the status wanted, 200 by default */
	__u32 interval_ms;		  /* 1000 */
	__u32 timeout_ms;		  /* 500, at most interval_ms */
	__u32 rise;			  /* 2: passes in a row that bring a down backend back */
	__u32 fall;			  /* 3: failures in a row that take a backend out */
	bool on_down_reset;		  /* on_down: reset (default keep): drop its flows */
};

struct veer_backend_spec {
	struct veer_endpoint ep; /* port 0 = the VIP's */
	__u32 weight;		 /* 100 by default */
	char pool[VEER_POOL_NAME_LEN];
	struct veer_config_pos pos;
};

struct veer_vip_spec {
	struct veer_vip_key key;
	struct veer_vip_opts opts;
	struct veer_backend_spec *backends;
	size_t nbackends;
	struct veer_health_spec health;
	struct veer_config_pos pos;
};

struct veer_iface_spec {
	char name[32];
	enum veer_hook_choice hook; /* hook: auto (default), xdp, tc */
	enum veer_xdp_mode mode;    /* mode: native (default), generic */
	struct veer_config_pos pos;
};

/* The `cache:` block: attach the hot-key cache and run its manager. */
struct veer_cache_spec {
	bool enabled;
	char cgroup[256];
	__u16 port; /* the clients' server port, host order */
	__u8 proto; /* VEER_CACHE_PROTO_* */
	char server_host[256];
	__u16 server_port;
	__u32 top;	   /* hot_keys.top: 100 */
	__u32 ttl_s;	   /* hot_keys.ttl: 30 s */
	__u32 interval_ms; /* hot_keys.interval: 1 s */
	struct veer_config_pos pos;
};

/* The `metrics:` block. */
struct veer_metrics_spec {
	bool enabled;	  /* false with metrics: {listen: off} */
	char listen[128]; /* "127.0.0.1:9464" by default, "[::1]:9464" */
};

/* `sources: {etcd: ...}`: VIPs under PREFIX/vips/, one JSON object per key. */
#define VEER_ETCD_ENDPOINTS_MAX 16
#define VEER_URL_LEN		1024
struct veer_etcd_spec {
	bool enabled;
	char endpoints[VEER_ETCD_ENDPOINTS_MAX][VEER_URL_LEN]; /* http(s)://HOST:PORT */
	size_t nendpoints;
	char prefix[256]; /* "/veer/" by default; VIPs are under PREFIX "vips/" */
	__u32 timeout_ms; /* connecting and each request but the watch: 2 s */
	struct veer_config_pos pos;
};

/* `sources: {kubernetes: {}}`: Services annotated veer.io/vip and their EndpointSlices. */
struct veer_k8s_spec {
	bool enabled;
	char kubeconfig[256]; /* empty: in-cluster (service account, KUBERNETES_SERVICE_HOST) */
	__u32 timeout_ms;     /* connecting and each list: 5 s */
	struct veer_config_pos pos;
};

/* One of `webhooks:`. */
struct veer_webhook_spec {
	char url[VEER_URL_LEN]; /* http:// or https:// */
	__u32 events;		/* 1u << enum veer_event_type for each wanted; all by default */
	char secret_file[256];	/* its bytes are the HMAC-SHA256 key */
	__u32 timeout_ms;	/* of one POST: 5 s */
	char queue_dir[256];	/* the durable queue: /var/lib/veer/webhooks by default */
	__u64 queue_max;	/* bytes of undelivered events kept: 64 MiB by default */
	struct veer_config_pos pos;
};

struct veer_config {
	char *path; /* as given, for messages */
	struct veer_iface_spec *ifaces;
	size_t nifaces;
	struct veer_vip_spec *vips;
	size_t nvips;
	struct veer_cache_spec cache;
	struct veer_metrics_spec metrics;
	struct {
		struct veer_etcd_spec etcd;
		struct veer_k8s_spec kubernetes;
	} sources;
	struct veer_webhook_spec *webhooks;
	size_t nwebhooks;
};

/*
 * Reads and validates a whole config: 0 with *out set (free it with veer_config_free), or
 * -errno with err holding one line "FILE:LINE:COL: KEY: what is wrong" (KEY as
 * "vips[2].port") and nothing logged. Nothing is touched but the file.
 */
#define VEER_CONFIG_ERR_LEN 512
int veer_config_load(const char *path, struct veer_config **out, char *err, size_t errlen);
/*
 * The same, with a hash of the bytes read (FNV-1a) in *digest whenever the file could be
 * read, its config refused or not: a daemon tells the same file read again from an edit.
 */
int veer_config_read(const char *path, struct veer_config **out, __u64 *digest, char *err,
		     size_t errlen);
/* The same from a buffer; name stands for the file in messages. */
int veer_config_parse(const char *buf, size_t len, const char *name, struct veer_config **out,
		      char *err, size_t errlen);
void veer_config_free(struct veer_config *c);

/*
 * One VIP from a source (an etcd key's value): a JSON object with the fields of a `vips` entry,
 * under the same rules and with the same messages as the file's, checked as
 * veer_vip_spec_check does. 0 with *out filled (free with veer_vip_specs_free(out, 1)), or
 * -EINVAL with err holding "NAME: KEY: what is wrong" (NAME as "etcd key /veer/vips/web").
 */
int veer_vip_spec_parse_json(const char *buf, size_t len, const char *name,
			     struct veer_vip_spec *out, char *err, size_t errlen);
/* Frees each spec's backends, then specs itself. */
void veer_vip_specs_free(struct veer_vip_spec *specs, size_t n);
/* A copy of s with backends of its own: 0 or -ENOMEM. */
int veer_vip_spec_copy(struct veer_vip_spec *dst, const struct veer_vip_spec *s);

/*
 * The event stream's type names ("flow_new", "backend_down"...): NULL for a number that is no
 * type; parse gives VEER_EVENT_NONE for a name that is none.
 */
const char *veer_event_type_name(unsigned type);
enum veer_event_type veer_event_type_parse(const char *name);
/* Every name, ", "-separated, for messages. */
const char *veer_event_type_list(void);
/* "cli", "config", "etcd", "kubernetes"; "?" for another number. */
const char *veer_owner_name(__u8 owner);

/*
 * The rules on single values, one copy for veer_vip_spec_check, veer_vip_add,
 * veer_backend_add and the CLI, so that each refuses the same values with the same words.
 * Each returns 0 or -EINVAL; the _want strings say what a value must be, for messages:
 * "invalid weight '20000' (want 0..10000)".
 */
#define VEER_AFFINITY_SECONDS_MAX 86400
extern const char veer_weight_want[], veer_affinity_want[], veer_ring_size_want[];
int veer_weight_check(__u32 weight);
int veer_affinity_check(__u32 seconds);
/* A prime, 2..VEER_RING_MAX; 0 (the default size) is for the caller to allow. */
int veer_ring_size_check(__u32 slots);
/*
 * An address a VIP or a backend can have: not unspecified, loopback, link-local, multicast or
 * broadcast. -EINVAL with *why set ("a loopback address").
 */
int veer_addr_check(const union veer_addr *addr, __u8 family, const char **why);
/*
 * Whether a VIP of this key and mode takes the backend: the same address family (dsr-ipip
 * also carries IPv4 in IPv6), and for the DSR modes the VIP's port (ep->port 0 is the VIP's).
 * -EINVAL with why (len bytes) set: "address family differs from the VIP's".
 */
int veer_backend_fits(const struct veer_vip_key *vip, __u8 mode, const struct veer_endpoint *ep,
		      char *why, size_t len);
/* The same on the address family alone (commands that name an existing backend). */
int veer_backend_family_fits(const struct veer_vip_key *vip, __u8 mode, __u8 family, char *why,
			     size_t len);

/*
 * Checks one VIP and its backends as veer_vip_add and veer_backend_add would, before any map
 * is touched: ports, weights, ring size (a prime), affinity range, address classes (no
 * loopback, multicast, unspecified, link-local or broadcast VIP or backend), backend families
 * and ports for the mode, pools, duplicate backends, more backends than ring slots. -EINVAL
 * with one line in err, "KEY: what is wrong" with KEY relative to the VIP's entry ("affinity:
 * 90000 is out of range (want 0..86400 seconds)", "backends[2]: 198.18.11.2:80 is listed
 * twice") and no position: the caller adds it. Logs nothing.
 */
int veer_vip_spec_check(const struct veer_vip_spec *s, char *err, size_t errlen);

/* What an apply changed; all zero after a second apply of the same state. */
struct veer_apply_result {
	unsigned vips_added, vips_changed, vips_removed;
	unsigned backends_added, backends_changed, backends_removed;
	unsigned rings_published;
	__u64 map_writes; /* every map update and delete the apply made */
};

/*
 * Makes one VIP what s declares: creates it (marked owner) or changes its settings in place
 * (affinity, ring size: its flows stay; a new mode re-creates it), adds, re-weights and
 * removes backends, and publishes its Maglev table once, only if it changed. A VIP that exists
 * with another owner is refused (-EPERM) and left alone. Health state (VEER_BACKEND_DOWN) is
 * kept. r accumulates (may be NULL).
 */
int veer_vip_apply(struct veer *v, const struct veer_vip_spec *s, __u8 owner,
		   struct veer_apply_result *r);
/*
 * Makes the VIPs of owner exactly c's: veer_vip_apply for each, then deletes the VIPs of that
 * owner that c no longer declares. VIPs of other owners are never changed. Validates c whole
 * first; on a failure half-way, what was applied stays and the error says which VIP failed.
 */
int veer_config_apply(struct veer *v, const struct veer_config *c, __u8 owner,
		      struct veer_apply_result *r);
/*
 * Hands a VIP to another owner as it is (id, table, backends and flows kept): a VIP passing
 * from a source to the file, or between sources, by their precedence. 0 or -ENOENT.
 */
int veer_vip_set_owner(struct veer *v, const struct veer_vip_key *key, __u8 owner);
/*
 * Opens and keeps every VIP's Maglev table in this handle, while the process may still open
 * maps by id (CAP_SYS_ADMIN): a daemon that drops it later still tells an unchanged table
 * from a changed one, and rewrites a changed one in place. 0 or -EIO.
 */
int veer_rings_hold(struct veer *v);
/* The same for a list of VIPs: makes the VIPs of owner exactly specs[0..n). */
int veer_vips_apply(struct veer *v, const struct veer_vip_spec *specs, size_t n, __u8 owner,
		    struct veer_apply_result *r);
/* The same without removing the owner's VIPs specs leaves out. */
int veer_vips_apply_keep(struct veer *v, const struct veer_vip_spec *specs, size_t n,
			 __u8 owner, struct veer_apply_result *r);

/*
 * Writes libveer has made to the load balancer's maps in this process: what "writes nothing"
 * counts. One per update or delete and per batch call (a sweep's); a Maglev table counts two,
 * the map created and its slots filled, and its swap into veer_rings one per batch of up to
 * 256 tables.
 */
__u64 veer_map_writes(void);

/*
 * A digest of the VIP's Maglev table: a hash of the backend at every position, by its address,
 * port and family (never the slot id), so that two nodes given the same backends in any order
 * report the same digest. FNV-1a, 64 bits: each backend's family, address and port bytes
 * hashed, and those hashes chained position by position, a word at a time. 0 with *digest
 * set, -ENOENT without a table. Logs nothing.
 */
int veer_ring_digest(struct veer *v, const struct veer_vip *vip, __u64 *digest);

/*
 * Marks a backend up or down (VEER_BACKEND_DOWN) and republishes its VIP's table when that
 * changed; reset also deletes the flows on it when it goes down (on_down: reset). -ENOENT, as
 * veer_backend_set_weight.
 */
int veer_backend_set_health(struct veer *v, const struct veer_vip_key *vip,
			    const struct veer_endpoint *ep, bool up, bool reset);

/* ---- statistics in one snapshot: `veer stats` and veerd's /metrics (stats.c) ---- */

/*
 * Active flows: connections in the tables that the data plane would still use (handshakes
 * included; neither those idle past their timeout nor those of a slot given to another
 * backend since).
 */
struct veer_stats_backend {
	__u32 id;
	__u32 gen; /* the slot's generation: a new gen is a new series */
	struct veer_backend be;
	struct veer_counters c;
	__u64 active_flows;
};

struct veer_stats_vip {
	struct veer_vip_key key;
	struct veer_vip vip;
	struct veer_counters c;
	__u64 active_flows;
	size_t first_backend, nbackends; /* its backends in snap->backends */
};

struct veer_stats_snapshot {
	struct veer_stats_vip *vips;
	size_t nvips;
	struct veer_stats_backend *backends; /* grouped by VIP, in vips' order */
	size_t nbackends;
	__u64 reasons[VEER_REASON_MAX];
};

/*
 * Every VIP (as veer_vip_list orders them) with its active backends (as veer_backend_list
 * does), their counters and the reasons, read with batched lookups (one per slot when the
 * kernel has none); active_flows only when count_flows (a walk of the connection tables).
 * Free with veer_stats_free.
 */
int veer_stats_snapshot(struct veer *v, bool count_flows, struct veer_stats_snapshot *s);
void veer_stats_free(struct veer_stats_snapshot *s);

/* ---- the event stream: the data plane's ring buffer (events.c) ---- */

struct json_object;

/*
 * One record of the data plane's ring buffer (veer_events), decoded. key is the new flow's
 * (flow_new), the refused one's (table_full), or the tuple of the packet that crossed a drop
 * threshold (drop_burst; family 0 when it was dropped before its IP header was read).
 */
struct veer_event {
	__u16 type; /* enum veer_event_type: flow_new, drop_burst, table_full */
	__u32 cpu;
	__u64 mono_ns;	      /* CLOCK_MONOTONIC, as the data plane stamped it */
	struct timespec time; /* the same instant on the wall clock */
	__u32 ifindex;	      /* the interface the packet arrived on */
	struct veer_flow_key key;
	/* flow_new */
	struct veer_endpoint backend;
	__u8 mode; /* enum veer_vip_mode */
	__u32 vip_id, backend_id;
	/* drop_burst */
	__u32 reason, threshold, count;
	/* table_full (and vip_id; VEER_NO_BACKEND for the proxy's table) */
	__u32 table; /* enum veer_event_table */
};

/*
 * 0, or -EINVAL for a record too short for its type or of a type this veer does not know
 * (a reader skips it).
 */
int veer_event_decode(const void *rec, size_t len, struct veer_event *e);
/*
 * The JSON object veerd serves and `veer events -j` prints: "id" (given), "type", "time"
 * (RFC 3339, UTC, microseconds), then the type's fields ("client", "vip", "backend", ...).
 * A field this veer cannot name (a reason, a table, a protocol the data plane did not read) is
 * null; "protocol" is "tcp", "udp", "icmp", "icmpv6" or the IP protocol's number.
 */
struct json_object *veer_event_json(const struct veer_event *e, const char *id);
/* "2025-01-02T03:04:05.123456Z" */
char *veer_fmt_time(const struct timespec *ts, char *buf, size_t len);
/* "connections", "handshakes", "proxy": enum veer_event_table as events name it; else NULL. */
const char *veer_event_table_name(__u32 table);

/*
 * A reader of the pinned ring: fn is called for every record in order; a non-zero return
 * stops the read and is returned by it. -ENOENT ("no event stream in DIR") when the ring is
 * not pinned. The ring has one consumer position: while veerd reads it, ask veerd
 * (veer_events_socket_path).
 */
struct veer_events;
typedef int (*veer_event_fn)(const struct veer_event *e, void *arg);
int veer_events_open(struct veer_events **r, veer_event_fn fn, void *arg);
/* Readable when records wait (epoll), for an event loop. */
int veer_events_fd(const struct veer_events *r);
/* Reads every record waiting, without waiting: how many, or -errno. */
int veer_events_consume(struct veer_events *r);
/*
 * The same, leaving them in the ring (a look: the ring's pages mapped read-only, its consumer
 * position untouched), for veerd or a later reader still to read.
 */
int veer_events_peek(struct veer_events *r);
/*
 * At most max of them (max > 0): for an event loop, which must not spend itself on a ring that
 * a fast producer keeps filling. max means more may wait: the ring's fd stays readable.
 */
int veer_events_read(struct veer_events *r, int max);
/*
 * The same, after waiting up to timeout_ms (-1: forever) to be woken; -EINTR on a signal. The
 * data plane wakes a reader only once VEER_EVENTS_WAKEUP_BYTES of new flows wait (or at once
 * for a drop burst or a full table): a reader polls every VEER_EVENTS_POLL_MS.
 */
int veer_events_poll(struct veer_events *r, int timeout_ms);
/* The data plane's records by type, written and lost to a full ring, over every CPU. */
int veer_events_counts(struct veer_events *r, struct veer_event_count out[VEER_EVENT_SLOTS]);
void veer_events_close(struct veer_events *r);

/*
 * Where veerd serves the stream to `veer events`: a unix stream socket next to its lock
 * (VEER_DAEMON_RUN_DIR), named after the pin directory. A client writes one line, {"follow":
 * false} for the events veerd holds or true for those and every one after, and reads one JSON
 * object per line.
 */
#define VEER_EVENTS_SOCKET_MAX 108 /* sizeof(sun_path) */
char *veer_events_socket_path(char *buf, size_t len);

#endif
