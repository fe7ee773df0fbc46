// SPDX-License-Identifier: GPL-2.0
/*
 * The data plane's event stream: a reader of the pinned veer_events ring buffer (libbpf's
 * ring_buffer), its records decoded into struct veer_event and rendered as the JSON objects
 * veerd serves and `veer events` prints. veerd is the ring's one reader while it runs; a ring
 * has one consumer position, so a second reader would take records from the first. A look
 * (veer_events_peek) maps the ring read-only and takes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "internal.h"

struct veer_events {
	struct ring_buffer *rb;
	int ring_fd;
	int stats_fd; /* veer_ev_stats, or -1 when it is not pinned */
	veer_event_fn fn;
	void *arg;
	int err;	/* fn's, which stops the read */
	long budget;	/* records this read may take still; <= 0: no limit */
	bool exhausted; /* the read stopped at its budget */
};

/* Returned by on_record to stop a read at its budget (the record itself is taken). */
#define BUDGET_SPENT (-EDQUOT)

static int pinned(const char *name, __u32 type, __u32 value_size, int *out)
{
	char path[PATH_MAX];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", veer_pin_dir(), name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	if (!err && (info.type != type || info.value_size != value_size)) {
		pr_warn("cannot adopt %s: its layout is not this veer's (pinned by another version "
			"of veer?)\n",
			path);
		err = -EINVAL;
	}
	if (err) {
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

/* CLOCK_MONOTONIC ns on the wall clock, by the clocks' offset now. */
static void mono_to_real(__u64 mono_ns, struct timespec *out)
{
	struct timespec r, m;
	__s64 ns;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	ns = (__s64)r.tv_sec * 1000000000LL + r.tv_nsec -
	     ((__s64)m.tv_sec * 1000000000LL + m.tv_nsec) + (__s64)mono_ns;
	out->tv_sec = ns / 1000000000LL;
	out->tv_nsec = ns % 1000000000LL;
}

int veer_event_decode(const void *rec, size_t len, struct veer_event *e)
{
	const struct veer_event_hdr *h = rec;
	size_t want;

	memset(e, 0, sizeof(*e));
	if (len < sizeof(*h) || h->len > len)
		return -EINVAL;
	switch (h->type) {
	case VEER_EVENT_FLOW_NEW:
		want = sizeof(struct veer_event_flow);
		break;
	case VEER_EVENT_DROP_BURST:
		want = sizeof(struct veer_event_drop);
		break;
	case VEER_EVENT_TABLE_FULL:
		want = sizeof(struct veer_event_table_full);
		break;
	default:
		return -EINVAL;
	}
	/* A later data plane may make a record longer; never shorter. */
	if (h->len < want)
		return -EINVAL;
	e->type = h->type;
	e->cpu = h->cpu;
	e->mono_ns = h->time_ns;
	mono_to_real(h->time_ns, &e->time);
	if (h->type == VEER_EVENT_FLOW_NEW) {
		const struct veer_event_flow *f = rec;

		e->key = f->key;
		e->backend.addr = f->backend;
		e->backend.port = f->backend_port;
		e->backend.family = f->backend_family;
		e->mode = f->mode;
		e->vip_id = f->vip_id;
		e->backend_id = f->backend_id;
		e->ifindex = f->ifindex;
	} else if (h->type == VEER_EVENT_DROP_BURST) {
		const struct veer_event_drop *d = rec;

		e->key = d->key;
		e->reason = d->reason;
		e->threshold = d->threshold;
		e->count = d->count;
		e->ifindex = d->ifindex;
	} else {
		const struct veer_event_table_full *t = rec;

		e->key = t->key;
		e->table = t->table;
		e->vip_id = t->vip_id;
		e->ifindex = t->ifindex;
	}
	return 0;
}

char *veer_fmt_time(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	size_t n;

	gmtime_r(&ts->tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06ldZ", ts->tv_nsec / 1000);
	return buf;
}

const char *veer_event_table_name(__u32 table)
{
	static const char *const names[VEER_EVENT_TABLES] = {
		[VEER_EVENT_TABLE_FLOWS] = "connections",
		[VEER_EVENT_TABLE_SYNS] = "handshakes",
		[VEER_EVENT_TABLE_PROXY] = "proxy",
	};

	return table < VEER_EVENT_TABLES ? names[table] : NULL;
}

/* A field this veer cannot name is null, not a made-up name. */
static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

/*
 * The IP protocol of a tuple: tcp and udp as veer_proto_name names them, ICMP's by name, any
 * other by number; NULL (unknown) for 0, which the data plane leaves when it dropped the packet
 * before it read the transport header.
 */
static struct json_object *proto_json(__u8 family, __u8 proto)
{
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
		return json_object_new_string(veer_proto_name(proto));
	if (proto == IPPROTO_ICMP && family == VEER_AF_INET)
		return json_object_new_string("icmp");
	if (proto == IPPROTO_ICMPV6 && family == VEER_AF_INET6)
		return json_object_new_string("icmpv6");
	if (!proto)
		return NULL;
	return json_object_new_int(proto);
}

/* addr:port for TCP and UDP, the address alone for what has no ports. */
static void add_endpoint(struct json_object *o, const char *k, const union veer_addr *a,
			 __be16 port, const struct veer_flow_key *key)
{
	char buf[VEER_ADDR_STRLEN];

	if (key->proto == IPPROTO_TCP || key->proto == IPPROTO_UDP)
		veer_fmt_endpoint(a, port, key->family, buf, sizeof(buf));
	else
		veer_fmt_addr(a, key->family, buf, sizeof(buf));
	add_str(o, k, buf);
}

/* The packet's tuple as far as the data plane knew it: nothing before its IP header was read. */
static void add_tuple(struct json_object *o, const struct veer_flow_key *k, const char *src,
		      const char *dst)
{
	if (k->family != VEER_AF_INET && k->family != VEER_AF_INET6)
		return;
	json_object_object_add(o, "protocol", proto_json(k->family, k->proto));
	add_endpoint(o, src, &k->saddr, k->sport, k);
	add_endpoint(o, dst, &k->daddr, k->dport, k);
}

/*
 * An interface's name by index, remembered for IFNAME_TTL_S: if_indextoname is three system
 * calls, which at a hundred thousand events a second were most of a reader's time. A name
 * that changes (or an index given to a new interface) shows within the TTL.
 */
#define IFNAME_CACHE 16
#define IFNAME_TTL_S 5

static const char *ifname_of(__u32 ifindex)
{
	static struct {
		__u32 ifindex;
		time_t until;
		char name[IF_NAMESIZE];
	} cache[IFNAME_CACHE];
	static unsigned next;
	struct timespec now;
	unsigned i;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	for (i = 0; i < IFNAME_CACHE; i++)
		if (cache[i].ifindex == ifindex && cache[i].until > now.tv_sec)
			return cache[i].name[0] ? cache[i].name : NULL;
	i = next++ % IFNAME_CACHE;
	cache[i].ifindex = ifindex;
	cache[i].until = now.tv_sec + IFNAME_TTL_S;
	if (!if_indextoname(ifindex, cache[i].name))
		cache[i].name[0] = '\0';
	return cache[i].name[0] ? cache[i].name : NULL;
}

static void add_interface(struct json_object *o, __u32 ifindex)
{
	const char *name;

	if (!ifindex)
		return;
	name = ifname_of(ifindex);
	if (name)
		add_str(o, "interface", name);
	json_object_object_add(o, "ifindex", json_object_new_uint64(ifindex));
}

struct json_object *veer_event_json(const struct veer_event *e, const char *id)
{
	struct json_object *o = json_object_new_object();
	const char *name = veer_event_type_name(e->type);
	char buf[VEER_ADDR_STRLEN];

	if (!o)
		return NULL;
	add_str(o, "id", id);
	add_str(o, "type", name);
	add_str(o, "time", veer_fmt_time(&e->time, buf, sizeof(buf)));
	switch (e->type) {
	case VEER_EVENT_FLOW_NEW:
		add_tuple(o, &e->key, "client", "vip");
		add_str(o, "backend",
			veer_fmt_endpoint(&e->backend.addr, e->backend.port, e->backend.family, buf,
					  sizeof(buf)));
		add_str(o, "mode", veer_mode_name(e->mode));
		json_object_object_add(o, "vip_id", json_object_new_uint64(e->vip_id));
		json_object_object_add(o, "backend_id", json_object_new_uint64(e->backend_id));
		break;
	case VEER_EVENT_DROP_BURST:
		add_str(o, "reason",
			e->reason < VEER_REASON_MAX ? veer_reason_names[e->reason] : NULL);
		json_object_object_add(o, "threshold", json_object_new_uint64(e->threshold));
		json_object_object_add(o, "count", json_object_new_uint64(e->count));
		add_tuple(o, &e->key, "source", "destination");
		break;
	case VEER_EVENT_TABLE_FULL:
		add_str(o, "table", veer_event_table_name(e->table));
		add_str(o, "family", e->key.family == VEER_AF_INET6 ? "ipv6" : "ipv4");
		add_tuple(o, &e->key, "client", "destination");
		if (e->vip_id != VEER_NO_BACKEND)
			json_object_object_add(o, "vip_id", json_object_new_uint64(e->vip_id));
		break;
	}
	add_interface(o, e->ifindex);
	json_object_object_add(o, "cpu", json_object_new_uint64(e->cpu));
	return o;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct veer_events *r = ctx;
	struct veer_event e;

	/* A record of a type this veer does not know is skipped; the rest are read on. */
	if (!veer_event_decode(data, size, &e)) {
		r->err = r->fn(&e, r->arg);
		if (r->err)
			return r->err;
	}
	if (r->budget > 0 && !--r->budget) {
		r->exhausted = true;
		return BUDGET_SPENT;
	}
	return 0;
}

int veer_events_open(struct veer_events **out, veer_event_fn fn, void *arg)
{
	struct veer_events *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	r->fn = fn;
	r->arg = arg;
	r->ring_fd = r->stats_fd = -1;
	err = pinned("veer_events", BPF_MAP_TYPE_RINGBUF, 0, &r->ring_fd);
	if (err == -ENOENT)
		pr_warn("no event stream in %s: run veer attach (or veerd) first\n",
			veer_pin_dir());
	else if (err && err != -EINVAL)
		pr_warn("cannot open %s/veer_events: %s\n", veer_pin_dir(), strerror(-err));
	if (err)
		goto fail;
	/* The counts are a bonus: a reader goes on without them. */
	if (pinned("veer_ev_stats", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(struct veer_event_count),
		   &r->stats_fd))
		r->stats_fd = -1;
	r->rb = ring_buffer__new(r->ring_fd, on_record, r, NULL);
	if (!r->rb) {
		err = -errno;
		pr_warn("cannot map %s/veer_events: %s\n", veer_pin_dir(), strerror(errno));
		goto fail;
	}
	*out = r;
	return 0;
fail:
	veer_events_close(r);
	return err;
}

int veer_events_fd(const struct veer_events *r)
{
	return ring_buffer__epoll_fd(r->rb);
}

static int read_result(struct veer_events *r, int n, int max)
{
	if (r->err) {
		n = r->err;
		r->err = 0;
	} else if (r->exhausted) {
		n = max;
	}
	r->exhausted = false;
	r->budget = 0;
	return n;
}

int veer_events_consume(struct veer_events *r)
{
	return read_result(r, ring_buffer__consume(r->rb), 0);
}

int veer_events_read(struct veer_events *r, int max)
{
	r->budget = max;
	return read_result(r, ring_buffer__consume(r->rb), max);
}

int veer_events_poll(struct veer_events *r, int timeout_ms)
{
	int n = ring_buffer__poll(r->rb, timeout_ms);

	/* Woken or not: new flows wake a reader only once a batch waits (VEER_EVENTS_POLL_MS). */
	if (n == 0 && !r->err)
		n = ring_buffer__consume(r->rb);
	return read_result(r, n, 0);
}

/*
 * The ring's pages (consumer position, producer position, data mapped twice so that a record
 * that wraps reads as one), read-only: a look cannot move the consumer position.
 */
int veer_events_peek(struct veer_events *r)
{
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info);
	size_t page = sysconf(_SC_PAGESIZE), size;
	const unsigned long *cons, *prod;
	unsigned long pos, end, mask;
	const __u8 *data;
	void *m;
	int n = 0, err = 0;

	if (bpf_obj_get_info_by_fd(r->ring_fd, &info, &ilen))
		return -errno;
	size = 2 * page + 2 * (size_t)info.max_entries;
	m = mmap(NULL, size, PROT_READ, MAP_SHARED, r->ring_fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	cons = m;
	prod = (const void *)((const __u8 *)m + page);
	data = (const __u8 *)m + 2 * page;
	mask = info.max_entries - 1;
	pos = __atomic_load_n(cons, __ATOMIC_ACQUIRE);
	end = __atomic_load_n(prod, __ATOMIC_ACQUIRE);
	while (pos < end) {
		const __u32 *hdr = (const __u32 *)(data + (pos & mask));
		__u32 h = __atomic_load_n(hdr, __ATOMIC_ACQUIRE), len;

		/* Reserved, not yet submitted: what follows is not ready either. */
		if (h & BPF_RINGBUF_BUSY_BIT)
			break;
		len = h & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		if (!(h & BPF_RINGBUF_DISCARD_BIT)) {
			err = on_record(r, (void *)(hdr + BPF_RINGBUF_HDR_SZ / sizeof(*hdr)), len);
			if (err)
				break;
			n++;
		}
		pos += (len + BPF_RINGBUF_HDR_SZ + 7) & ~7ul;
	}
	munmap(m, size);
	return read_result(r, err ? err : n, 0);
}

int veer_events_counts(struct veer_events *r, struct veer_event_count out[VEER_EVENT_SLOTS])
{
	int ncpus = libbpf_num_possible_cpus();
	struct veer_event_count *per;
	int err = 0;

	memset(out, 0, VEER_EVENT_SLOTS * sizeof(*out));
	if (r->stats_fd < 0)
		return -ENOENT;
	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	per = calloc(ncpus, sizeof(*per));
	if (!per)
		return -ENOMEM;
	for (__u32 t = 0; t < VEER_EVENT_SLOTS && !err; t++) {
		if (bpf_map_lookup_elem(r->stats_fd, &t, per)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpus; c++) {
			out[t].emitted += per[c].emitted;
			out[t].lost += per[c].lost;
		}
	}
	free(per);
	return err;
}

void veer_events_close(struct veer_events *r)
{
	if (!r)
		return;
	ring_buffer__free(r->rb);
	if (r->ring_fd >= 0)
		close(r->ring_fd);
	if (r->stats_fd >= 0)
		close(r->stats_fd);
	free(r);
}

/*
 * Next to veerd's lock, named after the pin directory likewise. A unix socket's path holds at
 * most 107 bytes: a pin directory too long for that is named by a hash of it instead.
 */
char *veer_events_socket_path(char *buf, size_t len)
{
	char lock[PATH_MAX + 64];
	size_t n;

	veer_daemon_lock_path(lock, sizeof(lock));
	n = strlen(lock);
	if (n > 5 && !strcmp(lock + n - 5, ".lock"))
		lock[n - 5] = '\0';
	if (strlen(lock) + sizeof(".events") <= VEER_EVENTS_SOCKET_MAX) {
		snprintf(buf, len, "%s.events", lock);
	} else {
		/* FNV-1a, 64 bits: a name per directory, stable across runs. */
		unsigned long long h = 0xcbf29ce484222325ULL;

		for (const char *c = veer_pin_dir(); *c; c++)
			h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
		snprintf(buf, len, "%s/veerd-%016llx.events", VEER_DAEMON_RUN_DIR, h);
	}
	return buf;
}
