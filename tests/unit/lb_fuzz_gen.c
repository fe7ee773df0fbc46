// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzz test's packets: a byte-level builder for every shape the rules talk about (802.1Q,
 * IPv4 options, IPv6 extension header chains, fragments, ICMP echo and errors quoting flows,
 * frames larger than the MTU), the seed table, and the mutations. Checksums are computed from
 * scratch (RFC 1071); nothing here knows how the data plane computes anything.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "lb_fuzz.h"

#define DF 0x4000
#define MF 0x2000

struct fz_spec {
	const char *name;
	enum side from;
	__u16 vlan;	 /* 802.1Q TCI, 0 = untagged */
	__u16 ethertype; /* 0 = the family's; otherwise this, and no IP header */
	const char *src, *dst;
	__u8 proto;
	__u16 sport, dport;
	__u8 ttl;     /* 0 = 64 */
	__u16 frag;   /* IPv4 frag_off without DF; IPv6 fragment header field */
	bool nodf;    /* IPv4 without DF */
	__u8 opts;    /* IPv4 option bytes */
	__u8 ext[10]; /* IPv6 extension headers, in order */
	int next;
	__u32 frag_id;
	__u8 tcp_opts;	/* TCP option bytes */
	__u8 tcp_flags; /* 0 = ACK|PSH */
	__u16 payload;
	bool udp_nocsum;
	bool tail; /* a non-first fragment: no L4 header */
	__u8 icmp_type, icmp_code;
	__u32 icmp_word;	 /* bytes 4-7 of the ICMP header */
	const struct pkt *quote; /* ICMP error: the frame whose datagram it quotes */
	__u32 quote_len;	 /* bytes of that datagram quoted, 0 = all */
	__u16 pad;
	int pre;
};

static __u32 csum_add_pseudo(bool v6, const __u8 *s, const __u8 *d, __u8 proto, __u32 len)
{
	union veer_addr a = {}, b = {};

	memcpy(a.bytes, s, v6 ? 16 : 4);
	memcpy(b.bytes, d, v6 ? 16 : 4);
	return fz_pseudo_sum(v6 ? 6 : 4, &a, &b, proto, len);
}

/* An extension header of type nh at b, announcing next; its length. */
static __u32 put_ext(__u8 *b, __u8 nh, __u8 next, const struct fz_spec *s)
{
	b[0] = next;
	switch (nh) {
	case NH_FRAG:
		fz_put16(b + 2, s->frag);
		b[4] = s->frag_id >> 24;
		b[5] = s->frag_id >> 16;
		b[6] = s->frag_id >> 8;
		b[7] = s->frag_id;
		return 8;
	case NH_AH: /* (4 + 2) * 4 = 24: SPI, sequence, 12 bytes of ICV */
		b[1] = 4;
		b[4] = 0x12;
		b[7] = 0x34;
		b[11] = 1;
		return 24;
	case NH_ROUTING: /* 24 bytes: type 0-style header, one address, segments left 0 */
		b[1] = 2;
		b[2] = 0;
		b[3] = 0;
		memcpy(b + 8, "\x20\x01\x00\x02\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x10",
		       16);
		return 24;
	default: /* hop-by-hop, destination options: one PadN filling 8 bytes */
		b[1] = 0;
		b[2] = 1;
		b[3] = 4;
		return 8;
	}
}

static int build(struct pkt *p, const struct fz_spec *s)
{
	bool v6 = strchr(s->src, ':') != NULL;
	__u8 *b = p->data, *ip, *l4;
	__u32 off = 12, l4len = 0, hdrs;

	memset(p, 0, sizeof(*p));
	if (s->from == FROM_CLIENT) {
		memcpy(b, MAC_VC0, 6);
		memcpy(b + 6, MAC_CLIENT, 6);
	} else {
		memcpy(b, MAC_VB0, 6);
		memcpy(b + 6, MAC_BE_A, 6);
	}
	if (s->vlan) {
		fz_put16(b + off, 0x8100);
		fz_put16(b + off + 2, s->vlan);
		off += 4;
	}
	if (s->ethertype) {
		/* Not IP: an ARP-sized body of a fixed pattern. */
		fz_put16(b + off, s->ethertype);
		off += 2;
		for (int i = 0; i < 46; i++)
			b[off + i] = (__u8)(i * 3 + 1);
		p->len = off + 46;
		return 0;
	}
	fz_put16(b + off, v6 ? 0x86dd : 0x0800);
	off += 2;
	ip = b + off;
	if (!v6) {
		hdrs = 20 + s->opts;
		ip[0] = 0x40 | hdrs / 4;
		fz_put16(ip + 4, s->frag_id ? s->frag_id : 0x4d2e);
		fz_put16(ip + 6, s->frag | (s->nodf || s->frag ? 0 : DF));
		ip[8] = s->ttl ? s->ttl : 64;
		ip[9] = s->proto;
		if (inet_pton(AF_INET, s->src, ip + 12) != 1 ||
		    inet_pton(AF_INET, s->dst, ip + 16) != 1)
			return -1;
		if (s->opts) {
			ip[20] = 0x94; /* Router Alert */
			ip[21] = 4;
			memset(ip + 24, 1, s->opts - 4); /* NOP */
		}
	} else {
		__u8 nh = s->next ? s->ext[0] : s->proto;

		ip[0] = 0x60;
		ip[6] = nh;
		ip[7] = s->ttl ? s->ttl : 64;
		if (inet_pton(AF_INET6, s->src, ip + 8) != 1 ||
		    inet_pton(AF_INET6, s->dst, ip + 24) != 1)
			return -1;
		hdrs = 40;
		for (int i = 0; i < s->next; i++)
			hdrs += put_ext(ip + hdrs, s->ext[i],
					i + 1 < s->next ? s->ext[i + 1] : s->proto, s);
	}
	l4 = ip + hdrs;
	if (!s->tail) {
		if (s->proto == IPPROTO_TCP) {
			fz_put16(l4, s->sport);
			fz_put16(l4 + 2, s->dport);
			fz_put16(l4 + 4, 0x1122);
			fz_put16(l4 + 8, 0x5566);
			l4[12] = (20 + s->tcp_opts) / 4 << 4;
			l4[13] = s->tcp_flags ? s->tcp_flags : 0x18;
			fz_put16(l4 + 14, 65535);
			memset(l4 + 20, 1, s->tcp_opts);
			l4len = 20 + s->tcp_opts;
		} else if (s->proto == IPPROTO_UDP) {
			fz_put16(l4, s->sport);
			fz_put16(l4 + 2, s->dport);
			l4len = 8;
		} else if (s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6) {
			l4[0] = s->icmp_type;
			l4[1] = s->icmp_code;
			l4[4] = s->icmp_word >> 24;
			l4[5] = s->icmp_word >> 16;
			l4[6] = s->icmp_word >> 8;
			l4[7] = s->icmp_word;
			l4len = 8;
			if (s->quote) {
				struct fz_view qv;
				__u32 n;

				if (!fz_parse(s->quote->data, s->quote->len, &qv))
					return -1;
				n = qv.end - qv.l3;
				if (s->quote_len && s->quote_len < n)
					n = s->quote_len;
				memcpy(l4 + 8, s->quote->data + qv.l3, n);
				l4len += n;
			}
		}
	}
	for (__u32 i = 0; i < s->payload; i++)
		l4[l4len + i] = (__u8)(0x21 + i * 7);
	l4len += s->payload;
	if (off + hdrs + l4len + s->pad > PKT_MAX)
		return -1;
	if (!v6)
		fz_put16(ip + 2, hdrs + l4len);
	else
		fz_put16(ip + 4, hdrs - 40 + l4len);
	/* L4 checksum over what is present (a first fragment's is over part of its datagram). */
	if (!s->tail && l4len) {
		__u8 *saddr = v6 ? ip + 8 : ip + 12, *daddr = v6 ? ip + 24 : ip + 16;
		__u32 sum = 0;
		int at = -1;

		if (s->proto == IPPROTO_TCP)
			at = 16;
		else if (s->proto == IPPROTO_UDP && !(s->udp_nocsum && !v6))
			at = 6;
		else if (s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6)
			at = 2;
		if (s->proto == IPPROTO_UDP)
			fz_put16(l4 + 4, l4len);
		if (at >= 0) {
			if (s->proto != IPPROTO_ICMP)
				sum = csum_add_pseudo(v6, saddr, daddr, s->proto, l4len);
			sum = csum_partial_rfc1071(l4, l4len, sum);
			fz_put16(l4 + at, csum_finish_rfc1071(sum));
			if (s->proto == IPPROTO_UDP && !fz_get16(l4 + at))
				fz_put16(l4 + at, 0xffff);
		}
	}
	if (!v6)
		fz_ip4_fix(ip, hdrs);
	p->len = off + hdrs + l4len + s->pad;
	return 0;
}

/* ---- the seed table ---- */

struct fz_seed *fz_seeds;
int fz_nseeds;
struct fz_estab fz_estab[8];
int fz_nestab;

static int cap_seeds;
static bool seeds_ok;

static int add(struct fz_spec s)
{
	struct fz_seed *n;

	if (fz_nseeds == cap_seeds) {
		cap_seeds = cap_seeds ? 2 * cap_seeds : 128;
		fz_seeds = realloc(fz_seeds, cap_seeds * sizeof(*fz_seeds));
		if (!fz_seeds)
			abort();
	}
	n = &fz_seeds[fz_nseeds];
	n->name = s.name;
	n->from = s.from;
	n->pre = s.pre;
	if (build(&n->pkt, &s)) {
		seeds_ok = veer_test_fail(__FILE__, __LINE__, "seed %s does not build", s.name);
		return -1;
	}
	return fz_nseeds++;
}

/* Client -> VIP, and the backend's reply to the client. */
static struct fz_spec c2v(const char *name, const char *client, __u16 cport, const char *vip,
			  __u16 vport, __u8 proto)
{
	struct fz_spec s = {
		.name = name,
		.from = FROM_CLIENT,
		.src = client,
		.dst = vip,
		.proto = proto,
		.sport = cport,
		.dport = vport,
		.payload = 32,
		.pre = -1,
	};

	return s;
}

static struct fz_spec b2c(const char *name, const struct be_def *be, const char *client,
			  __u16 cport, __u8 proto)
{
	struct fz_spec s = c2v(name, be->addr, be->port, client, cport, proto);

	s.from = FROM_BACKEND;
	s.payload = 48;
	return s;
}

/* What veer sent the backend (the quote of an error toward the client), and the client. */
static struct pkt quoted_c2b[4], quoted_v2c[4], quoted_none[2];

static void ext_chain(struct fz_spec *s, const __u8 *types, int n)
{
	memcpy(s->ext, types, n);
	s->next = n;
}

#define EXT(s, ...)                                                                                \
	do {                                                                                       \
		static const __u8 t_[] = {__VA_ARGS__};                                            \
		ext_chain(&(s), t_, sizeof(t_));                                                   \
	} while (0)

/* The flows the runner establishes first, and seeds on each. */
struct est_def {
	const char *name;
	const char *client;
	__u16 cport;
	int vip; /* index into fz_vips */
};

static const struct est_def ESTS[] = {
	{"tcp4", CLIENT4, 41000, 0}, {"udp4", CLIENT4, 41001, 1}, {"tcp6", CLIENT6, 41000, 2},
	{"udp6", CLIENT6, 41001, 3}, {"nn4", CLIENT4, 41002, 4},
};

static void seeds_flows(void)
{
	char *name;

	for (size_t i = 0; i < ARRAY_LEN(ESTS); i++) {
		const struct est_def *d = &ESTS[i];
		const struct fz_vip *v = &fz_vips[d->vip];
		struct fz_spec s;

		s = c2v(d->name, d->client, d->cport, v->addr, v->port, v->proto);
		fz_estab[fz_nestab].fwd_seed = add(s);
		if (asprintf(&name, "%s reply", d->name) < 0)
			abort();
		s = b2c(name, v->be, d->client, d->cport, v->proto);
		fz_estab[fz_nestab].reply_seed = add(s);
		fz_estab[fz_nestab++].vip = v;
	}
}

static void seeds_shapes(void)
{
	struct fz_spec s;

	/* New flows (fresh client ports), IPv4 options, TCP options, no UDP checksum. */
	add(c2v("tcp4 new", CLIENT4, 42000, VIP4, 80, IPPROTO_TCP));
	s = c2v("tcp4 new SYN", CLIENT4_2, 42001, VIP4, 80, IPPROTO_TCP);
	s.tcp_flags = 0x02;
	s.tcp_opts = 12;
	s.payload = 0;
	add(s);
	add(c2v("udp4 new", CLIENT4_2, 42002, VIP4, 53, IPPROTO_UDP));
	s = c2v("udp4 new nocsum", CLIENT4, 42003, VIP4, 53, IPPROTO_UDP);
	s.udp_nocsum = true;
	add(s);
	s = c2v("udp4 est nocsum", CLIENT4, 41001, VIP4, 53, IPPROTO_UDP);
	s.udp_nocsum = true;
	add(s);
	add(c2v("tcp6 new", CLIENT6, 42000, VIP6, 80, IPPROTO_TCP));
	add(c2v("udp6 new", CLIENT6, 42001, VIP6, 53, IPPROTO_UDP));
	add(c2v("nn4 new", CLIENT4, 42004, VIP4_2, 80, IPPROTO_TCP));
	for (int o = 4; o <= 40; o += 12) {
		s = c2v("tcp4 est opts", CLIENT4, 41000, VIP4, 80, IPPROTO_TCP);
		s.opts = o;
		add(s);
	}
	s = c2v("udp4 new opts40", CLIENT4, 42005, VIP4, 53, IPPROTO_UDP);
	s.opts = 40;
	add(s);
	s = b2c("tcp4 reply opts", &BE_TCP4, CLIENT4, 41000, IPPROTO_TCP);
	s.opts = 8;
	add(s);
	s = c2v("tcp4 est tcpopts", CLIENT4, 41000, VIP4, 80, IPPROTO_TCP);
	s.tcp_opts = 20;
	add(s);
	s = c2v("udp6 est pad", CLIENT6, 41001, VIP6, 53, IPPROTO_UDP);
	s.pad = 9;
	add(s);
	s = c2v("tcp4 est min frame", CLIENT4, 41000, VIP4, 80, IPPROTO_TCP);
	s.payload = 0;
	s.pad = 6;
	add(s);

	/* 802.1Q: rewritten, tag kept, to the stack. */
	s = c2v("tcp4 est vlan", CLIENT4, 41000, VIP4, 80, IPPROTO_TCP);
	s.vlan = 100;
	add(s);
	s = c2v("udp6 new vlan", CLIENT6, 42002, VIP6, 53, IPPROTO_UDP);
	s.vlan = 7;
	add(s);
	s = b2c("tcp6 reply vlan", &BE_TCP6, CLIENT6, 41000, IPPROTO_TCP);
	s.vlan = 100;
	add(s);

	/* TTL. */
	s = c2v("tcp4 est ttl1", CLIENT4, 41000, VIP4, 80, IPPROTO_TCP);
	s.ttl = 1;
	add(s);
	s = c2v("tcp4 new ttl2", CLIENT4, 42006, VIP4, 80, IPPROTO_TCP);
	s.ttl = 2;
	add(s);
	s = b2c("udp6 reply hop1", &BE_UDP6, CLIENT6, 41001, IPPROTO_UDP);
	s.ttl = 1;
	add(s);
}

static void seeds_ext(void)
{
	struct fz_spec s;

	s = c2v("tcp6 est hbh", CLIENT6, 41000, VIP6, 80, IPPROTO_TCP);
	EXT(s, NH_HBH);
	add(s);
	s = c2v("tcp6 new dst", CLIENT6, 42003, VIP6, 80, IPPROTO_TCP);
	EXT(s, NH_DSTOPTS);
	add(s);
	s = c2v("udp6 est rt", CLIENT6, 41001, VIP6, 53, IPPROTO_UDP);
	EXT(s, NH_ROUTING);
	add(s);
	s = c2v("tcp6 est ah", CLIENT6, 41000, VIP6, 80, IPPROTO_TCP);
	EXT(s, NH_AH);
	add(s);
	s = c2v("tcp6 est atomic frag", CLIENT6, 41000, VIP6, 80, IPPROTO_TCP);
	EXT(s, NH_FRAG);
	add(s);
	s = c2v("udp6 new hbh dst", CLIENT6, 42004, VIP6, 53, IPPROTO_UDP);
	EXT(s, NH_HBH, NH_DSTOPTS);
	add(s);
	s = c2v("tcp6 est hbh rt dst", CLIENT6, 41000, VIP6, 80, IPPROTO_TCP);
	EXT(s, NH_HBH, NH_ROUTING, NH_DSTOPTS);
	add(s);
	s = c2v("tcp6 est dst rt frag ah", CLIENT6, 41000, VIP6, 80, IPPROTO_TCP);
	EXT(s, NH_DSTOPTS, NH_ROUTING, NH_FRAG, NH_AH);
	add(s);
	s = c2v("udp6 est 7 ext", CLIENT6, 41001, VIP6, 53, IPPROTO_UDP);
	EXT(s, NH_HBH, NH_DSTOPTS, NH_ROUTING, NH_AH, NH_DSTOPTS, NH_FRAG, NH_DSTOPTS);
	add(s);
	s = c2v("tcp6 est 8 ext", CLIENT6, 41000, VIP6, 80, IPPROTO_TCP);
	EXT(s, NH_HBH, NH_DSTOPTS, NH_DSTOPTS, NH_ROUTING, NH_AH, NH_DSTOPTS, NH_DSTOPTS,
	    NH_DSTOPTS);
	add(s);
	s = c2v("tcp6 est 9 ext", CLIENT6, 41000, VIP6, 80, IPPROTO_TCP);
	EXT(s, NH_HBH, NH_DSTOPTS, NH_DSTOPTS, NH_ROUTING, NH_AH, NH_DSTOPTS, NH_DSTOPTS,
	    NH_DSTOPTS, NH_DSTOPTS);
	add(s);
	s = c2v("tcp6 est hbh twice", CLIENT6, 41000, VIP6, 80, IPPROTO_TCP);
	EXT(s, NH_HBH, NH_HBH);
	add(s);
	s = c2v("tcp6 est dst hbh", CLIENT6, 41000, VIP6, 80, IPPROTO_TCP);
	EXT(s, NH_DSTOPTS, NH_HBH);
	add(s);
	s = b2c("tcp6 reply dst", &BE_TCP6, CLIENT6, 41000, IPPROTO_TCP);
	EXT(s, NH_DSTOPTS);
	add(s);
	s = c2v("esp6 to VIP", CLIENT6, 0, VIP6, 0, NH_ESP);
	add(s);
	s = c2v("dst + esp6 to VIP", CLIENT6, 0, VIP6, 0, NH_ESP);
	EXT(s, NH_DSTOPTS);
	add(s);
	s = c2v("hbh + no next header", CLIENT6, 0, VIP6, 0, NH_NONE);
	EXT(s, NH_HBH);
	add(s);
}

static void seeds_frags(void)
{
	struct fz_spec s, t;
	int pre;

	/* IPv4: first fragment (MF) and a tail, of a new flow, an established one, a reply. */
	s = c2v("tcp4 new first frag", CLIENT4, 42010, VIP4, 80, IPPROTO_TCP);
	s.frag = MF;
	s.frag_id = 0x1001;
	s.payload = 60;
	pre = add(s);
	t = s;
	t.name = "tcp4 new frag tail";
	t.tail = true;
	t.frag = 10; /* offset 80 bytes, last */
	t.payload = 40;
	t.pre = pre;
	add(t);
	t.name = "tcp4 frag tail alone";
	t.pre = -1;
	add(t);
	s = c2v("udp4 est first frag", CLIENT4, 41001, VIP4, 53, IPPROTO_UDP);
	s.frag = MF;
	s.frag_id = 0x1002;
	s.payload = 72;
	pre = add(s);
	t = s;
	t.name = "udp4 est frag tail";
	t.tail = true;
	t.frag = 10;
	t.payload = 20;
	t.pre = pre;
	add(t);
	s = b2c("tcp4 reply first frag", &BE_TCP4, CLIENT4, 41000, IPPROTO_TCP);
	s.frag = MF;
	s.frag_id = 0x1003;
	s.payload = 60;
	pre = add(s);
	t = s;
	t.name = "tcp4 reply frag tail";
	t.tail = true;
	t.frag = MF | 10; /* a middle fragment */
	t.payload = 80;
	t.pre = pre;
	add(t);
	s = c2v("tcp4 first frag no VIP", CLIENT4, 42011, OTHER4, 80, IPPROTO_TCP);
	s.frag = MF;
	s.payload = 60;
	add(s);

	/* IPv6: fragment header, M set / an offset. */
	s = c2v("tcp6 new first frag", CLIENT6, 42010, VIP6, 80, IPPROTO_TCP);
	EXT(s, NH_FRAG);
	s.frag = 1;
	s.frag_id = 0x76656572;
	s.payload = 60;
	pre = add(s);
	t = s;
	t.name = "tcp6 new frag tail";
	t.tail = true;
	t.frag = 10 << 3;
	t.payload = 40;
	t.pre = pre;
	add(t);
	t.name = "tcp6 frag tail alone";
	t.pre = -1;
	add(t);
	s = c2v("udp6 est first frag hbh", CLIENT6, 41001, VIP6, 53, IPPROTO_UDP);
	EXT(s, NH_HBH, NH_FRAG);
	s.frag = 1;
	s.frag_id = 0x11;
	s.payload = 64;
	pre = add(s);
	t = s;
	t.name = "udp6 est frag tail hbh";
	t.tail = true;
	t.frag = 9 << 3;
	t.payload = 30;
	t.pre = pre;
	add(t);
	s = b2c("tcp6 reply first frag", &BE_TCP6, CLIENT6, 41000, IPPROTO_TCP);
	EXT(s, NH_FRAG);
	s.frag = 1;
	s.frag_id = 0x12;
	s.payload = 60;
	pre = add(s);
	t = s;
	t.name = "tcp6 reply frag tail";
	t.tail = true;
	t.frag = 10 << 3;
	t.payload = 16;
	t.pre = pre;
	add(t);
}

static void seeds_big(void)
{
	struct fz_spec s;

	/* Larger than the 1500-byte MTU of both veths; and exactly 1500. */
	s = c2v("tcp4 est big DF", CLIENT4, 41000, VIP4, 80, IPPROTO_TCP);
	s.payload = 1500;
	add(s);
	s.name = "tcp4 est big no DF";
	s.nodf = true;
	add(s);
	s = c2v("tcp4 est 1500", CLIENT4, 41000, VIP4, 80, IPPROTO_TCP);
	s.payload = 1460;
	add(s);
	s = c2v("udp4 new big no DF", CLIENT4, 42020, VIP4, 53, IPPROTO_UDP);
	s.payload = 1600;
	s.nodf = true;
	add(s);
	s = c2v("udp4 new big DF", CLIENT4, 42021, VIP4, 53, IPPROTO_UDP);
	s.payload = 1480;
	add(s);
	s = b2c("tcp4 reply big DF", &BE_TCP4, CLIENT4, 41000, IPPROTO_TCP);
	s.payload = 1600;
	add(s);
	s = c2v("tcp6 est big", CLIENT6, 41000, VIP6, 80, IPPROTO_TCP);
	s.payload = 1600;
	add(s);
	s = c2v("udp6 est 1500", CLIENT6, 41001, VIP6, 53, IPPROTO_UDP);
	s.payload = 1452;
	add(s);
	s = b2c("udp6 reply big", &BE_UDP6, CLIENT6, 41001, IPPROTO_UDP);
	s.payload = 1700;
	add(s);
	s = c2v("tcp4 est big vlan", CLIENT4, 41000, VIP4, 80, IPPROTO_TCP);
	s.payload = 1600;
	s.vlan = 100;
	add(s);
}

static struct fz_spec echo(const char *name, enum side from, const char *src, const char *dst)
{
	struct fz_spec s =
		c2v(name, src, 0, dst, 0, strchr(src, ':') ? IPPROTO_ICMPV6 : IPPROTO_ICMP);

	s.from = from;
	s.icmp_type = s.proto == IPPROTO_ICMP ? 8 : 128;
	s.icmp_word = 0x12340001;
	s.payload = 56;
	return s;
}

static void seeds_icmp(void)
{
	struct fz_spec s;

	add(echo("echo VIP4", FROM_CLIENT, CLIENT4, VIP4));
	add(echo("echo VIP4_2", FROM_CLIENT, CLIENT4_2, VIP4_2));
	add(echo("echo VIP6", FROM_CLIENT, CLIENT6, VIP6));
	add(echo("echo VIP4 from backend side", FROM_BACKEND, BE_TCP4.addr, VIP4));
	add(echo("echo OTHER4", FROM_CLIENT, CLIENT4, OTHER4));
	add(echo("echo OTHER6", FROM_CLIENT, CLIENT6, OTHER6));
	s = echo("echo VIP4 no payload", FROM_CLIENT, CLIENT4, VIP4);
	s.payload = 0;
	add(s);
	s = echo("echo VIP4 all zero", FROM_CLIENT, CLIENT4, VIP4);
	s.icmp_word = 0;
	s.payload = 0;
	add(s);
	s = echo("echo reply to VIP4", FROM_CLIENT, CLIENT4, VIP4);
	s.icmp_type = 0;
	add(s);
	s = echo("echo reply to VIP6", FROM_CLIENT, CLIENT6, VIP6);
	s.icmp_type = 129;
	add(s);

	/* The datagrams errors quote: what veer sent a backend, and what it sent a client. */
	struct fz_spec q;

	q = c2v("q", CLIENT4, 41000, BE_TCP4.addr, BE_TCP4.port, IPPROTO_TCP);
	q.ttl = 63;
	build(&quoted_c2b[0], &q);
	q = c2v("q", CLIENT4, 41001, BE_UDP4.addr, BE_UDP4.port, IPPROTO_UDP);
	q.ttl = 63;
	build(&quoted_c2b[1], &q);
	q = c2v("q", CLIENT6, 41000, BE_TCP6.addr, BE_TCP6.port, IPPROTO_TCP);
	q.ttl = 63;
	build(&quoted_c2b[2], &q);
	q = c2v("q", CLIENT6, 41001, BE_UDP6.addr, BE_UDP6.port, IPPROTO_UDP);
	q.ttl = 63;
	build(&quoted_c2b[3], &q);
	q = c2v("q", VIP4, 80, CLIENT4, 41000, IPPROTO_TCP);
	build(&quoted_v2c[0], &q);
	q = c2v("q", VIP4, 53, CLIENT4, 41001, IPPROTO_UDP);
	q.udp_nocsum = true;
	build(&quoted_v2c[1], &q);
	q = c2v("q", VIP6, 80, CLIENT6, 41000, IPPROTO_TCP);
	build(&quoted_v2c[2], &q);
	q = c2v("q", VIP6, 53, CLIENT6, 41001, IPPROTO_UDP);
	build(&quoted_v2c[3], &q);
	/* Of no flow: another client port. */
	q = c2v("q", CLIENT4, 44000, BE_TCP4.addr, BE_TCP4.port, IPPROTO_TCP);
	build(&quoted_none[0], &q);
	q = c2v("q", VIP6, 80, CLIENT6, 44000, IPPROTO_TCP);
	build(&quoted_none[1], &q);

	static const struct {
		const char *name;
		enum side from;
		const char *src, *dst;
		__u8 type, code;
		__u32 word;
		const struct pkt *quote;
		__u32 qlen;
	} errs[] = {
		/* Toward the client, about what veer sent the backend. */
		{"frag-needed from backend, tcp4", FROM_BACKEND, "198.18.11.2", CLIENT4, 3, 4, 1400,
		 &quoted_c2b[0], 28},
		{"unreach from backend, tcp4 full", FROM_BACKEND, "198.18.11.2", CLIENT4, 3, 1, 0,
		 &quoted_c2b[0], 0},
		{"time exceeded from router, udp4", FROM_BACKEND, "198.18.11.1", CLIENT4, 11, 0, 0,
		 &quoted_c2b[1], 28},
		{"param problem from router, tcp4 40", FROM_BACKEND, "198.18.11.1", CLIENT4, 12, 0,
		 0x08000000, &quoted_c2b[0], 40},
		{"ptb from backend, tcp6", FROM_BACKEND, "2001:2:0:11::2", CLIENT6, 2, 0, 1400,
		 &quoted_c2b[2], 48},
		{"unreach from router, udp6 full", FROM_BACKEND, "2001:2:0:11::1", CLIENT6, 1, 4, 0,
		 &quoted_c2b[3], 0},
		/* Toward the VIP, about what veer sent the client. */
		{"port unreach from client, udp4", FROM_CLIENT, CLIENT4, VIP4, 3, 3, 0,
		 &quoted_v2c[1], 0},
		{"host unreach from router, tcp4", FROM_CLIENT, "198.18.1.1", VIP4, 3, 1, 0,
		 &quoted_v2c[0], 28},
		{"frag-needed from router, tcp4 full", FROM_CLIENT, "198.18.1.1", VIP4, 3, 4, 1280,
		 &quoted_v2c[0], 0},
		{"time exceeded from router, tcp6", FROM_CLIENT, "2001:2:0:1::1", VIP6, 3, 0, 0,
		 &quoted_v2c[2], 60},
		{"param problem from client, udp6", FROM_CLIENT, CLIENT6, VIP6, 4, 1, 40,
		 &quoted_v2c[3], 0},
		{"ptb from client, tcp6", FROM_CLIENT, CLIENT6, VIP6, 2, 0, 1280, &quoted_v2c[2],
		 0},
		/* About no flow. */
		{"unreach about no flow, v4", FROM_CLIENT, CLIENT4, OTHER4, 3, 3, 0,
		 &quoted_none[0], 28},
		{"unreach about no flow, v6", FROM_CLIENT, CLIENT6, VIP6, 1, 0, 0, &quoted_none[1],
		 48},
	};

	for (size_t i = 0; i < ARRAY_LEN(errs); i++) {
		bool v6 = strchr(errs[i].src, ':');

		s = c2v(errs[i].name, errs[i].src, 0, errs[i].dst, 0,
			v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
		s.from = errs[i].from;
		s.icmp_type = errs[i].type;
		s.icmp_code = errs[i].code;
		s.icmp_word = errs[i].word;
		s.quote = errs[i].quote;
		s.quote_len = errs[i].qlen;
		s.payload = 0;
		add(s);
	}
}

static void seeds_other(void)
{
	struct fz_spec s;

	add(c2v("tcp4 to OTHER4", CLIENT4, 43000, OTHER4, 80, IPPROTO_TCP));
	add(c2v("tcp4 to VIP:443", CLIENT4, 43001, VIP4, 443, IPPROTO_TCP));
	add(c2v("udp4 to VIP:80", CLIENT4, 43002, VIP4, 80, IPPROTO_UDP));
	add(c2v("udp6 to OTHER6", CLIENT6, 43000, OTHER6, 53, IPPROTO_UDP));
	add(c2v("gre4 to VIP", CLIENT4, 0, VIP4, 0, 47));
	add(b2c("tcp4 reply of no flow", &BE_TCP4, CLIENT4, 43003, IPPROTO_TCP));
	add(c2v("tcp4 martian 127/8", "127.0.0.1", 43004, VIP4, 80, IPPROTO_TCP));
	add(c2v("udp6 martian fe80::", "fe80::1", 43005, VIP6, 53, IPPROTO_UDP));
	s = c2v("arp", CLIENT4, 0, VIP4, 0, 0);
	s.ethertype = 0x0806;
	add(s);
	s.name = "qinq";
	s.ethertype = 0x88a8;
	add(s);
	s.name = "lldp in vlan";
	s.ethertype = 0x88cc;
	s.vlan = 5;
	add(s);
}

bool fz_seeds_init(void)
{
	if (fz_nseeds)
		return true;
	seeds_ok = true;
	seeds_flows();
	seeds_shapes();
	seeds_ext();
	seeds_frags();
	seeds_big();
	seeds_icmp();
	seeds_other();
	return seeds_ok;
}

/* ---- frames and their documented rewrites, for the checks' self-test ---- */

static void set_macs(struct pkt *p, const __u8 *dst, const __u8 *src)
{
	memcpy(p->data, dst, 6);
	memcpy(p->data + 6, src, 6);
}

int fz_pairs(struct fz_pair *p, int max)
{
	struct pkt qin, qout;
	struct fz_spec s, q;
	int n = 0;

	if (max < 7)
		return -1;
	memset(p, 0, max * sizeof(*p));

	/* Echo requests to VIP addresses, and their replies. */
	s = echo("echo4", FROM_CLIENT, CLIENT4, VIP4);
	p[n].name = "echo reply v4";
	build(&p[n].in, &s);
	s = echo("echo4", FROM_CLIENT, VIP4, CLIENT4);
	s.icmp_type = 0;
	build(&p[n].want, &s);
	set_macs(&p[n].want, MAC_CLIENT, MAC_VC0);
	n++;
	s = echo("echo6", FROM_CLIENT, CLIENT6, VIP6);
	p[n].name = "echo reply v6";
	build(&p[n].in, &s);
	s = echo("echo6", FROM_CLIENT, VIP6, CLIENT6);
	s.icmp_type = 129;
	build(&p[n].want, &s);
	set_macs(&p[n].want, MAC_CLIENT, MAC_VC0);
	n++;

	/*
	 * Errors toward the client about what veer sent a backend: the quote becomes the packet
	 * the client sent (to the VIP), the outer source the VIP when it was the backend.
	 */
	for (int full = 0; full < 2; full++) {
		q = c2v("q", CLIENT4, 41000, BE_TCP4.addr, BE_TCP4.port, IPPROTO_TCP);
		q.ttl = 63;
		build(&qin, &q);
		q.dst = VIP4;
		q.dport = 80;
		build(&qout, &q);
		s = c2v("err", BE_TCP4.addr, 0, CLIENT4, 0, IPPROTO_ICMP);
		s.from = FROM_BACKEND;
		s.icmp_type = 3;
		s.icmp_code = 4;
		s.icmp_word = 1400;
		s.payload = 0;
		s.quote = &qin;
		s.quote_len = full ? 0 : 28;
		p[n].name =
			full ? "ICMP error to the client, whole quote" : "ICMP error to the client";
		p[n].from = FROM_BACKEND;
		build(&p[n].in, &s);
		s.src = VIP4;
		s.quote = &qout;
		s.ttl = 63;
		build(&p[n].want, &s);
		set_macs(&p[n].want, MAC_CLIENT, MAC_VC0);
		n++;
	}
	/* Toward the backend about what veer sent the client: the quote becomes the backend's. */
	q = c2v("q", VIP6, 53, CLIENT6, 41001, IPPROTO_UDP);
	build(&qin, &q);
	q.src = BE_UDP6.addr;
	q.sport = BE_UDP6.port;
	build(&qout, &q);
	s = c2v("err", CLIENT6, 0, VIP6, 0, IPPROTO_ICMPV6);
	s.icmp_type = 1;
	s.icmp_code = 4;
	s.payload = 0;
	s.quote = &qin;
	p[n].name = "ICMPv6 error to the backend";
	build(&p[n].in, &s);
	s.dst = BE_UDP6.addr;
	s.quote = &qout;
	s.ttl = 63;
	build(&p[n].want, &s);
	set_macs(&p[n].want, MAC_BE_A, MAC_VB0);
	n++;
	/* The same over IPv4 and TCP, quote cut inside the TCP checksum's reach. */
	q = c2v("q", VIP4, 80, CLIENT4, 41000, IPPROTO_TCP);
	build(&qin, &q);
	q.src = BE_TCP4.addr;
	q.sport = BE_TCP4.port;
	build(&qout, &q);
	s = c2v("err", "198.18.1.1", 0, VIP4, 0, IPPROTO_ICMP);
	s.icmp_type = 11;
	s.payload = 0;
	s.quote = &qin;
	s.quote_len = 40;
	p[n].name = "ICMP error to the backend";
	build(&p[n].in, &s);
	s.dst = BE_TCP4.addr;
	s.quote = &qout;
	s.ttl = 63;
	build(&p[n].want, &s);
	set_macs(&p[n].want, MAC_BE_A, MAC_VB0);
	n++;

	/* A fragment tail of an established flow, forwarded with it. */
	s = c2v("tail", CLIENT4, 41000, VIP4, 80, IPPROTO_TCP);
	s.tail = true;
	s.frag = 10;
	s.frag_id = 0x2222;
	p[n].name = "fragment tail";
	build(&p[n].in, &s);
	s.dst = BE_TCP4.addr;
	s.ttl = 63;
	build(&p[n].want, &s);
	set_macs(&p[n].want, MAC_BE_A, MAC_VB0);
	p[n].has_frag = true;
	p[n].frag.family = 4;
	p[n].frag.proto = IPPROTO_TCP;
	lb_addr_parse(CLIENT4, &p[n].frag.saddr);
	lb_addr_parse(VIP4, &p[n].frag.daddr);
	p[n].frag.id = 0x2222;
	p[n].frag.sport = 41000;
	p[n].frag.dport = 80;
	n++;
	return n;
}

/* ---- mutations ---- */

static const __u8 NH_VALUES[] = {0, 1, 6, 17, 43, 44, 47, 50, 51, 58, 59, 60, 255};

static const char *const MARTIAN4[] = {"0.0.0.0",     "0.1.2.3",	"127.0.0.1",
				       "127.255.0.9", "224.0.0.1",	"239.255.255.250",
				       "240.0.0.1",   "255.255.255.255"};
static const char *const MARTIAN6[] = {
	"::", "::1", "::ffff:198.18.1.2", "fe80::1", "febf:ffff::1", "ff02::1", "ff0e::2"};
/* Not martian, but on the edge of the ranges. */
static const char *const EDGE4[] = {"1.0.0.0",	       "126.255.255.255", "128.0.0.1",
				    "223.255.255.255", "198.18.1.2",	  "198.18.11.2",
				    "198.18.100.10"};
static const char *const EDGE6[] = {
	"::2",		 "::fffe:198.18.1.2", "fec0::1",	 "fe7f::1",
	"2001:2:0:1::2", "2001:2:0:11::2",    "2001:2:0:100::10"};

static void desc_add(char *desc, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void desc_add(char *desc, size_t n, const char *fmt, ...)
{
	size_t l = strlen(desc);
	va_list ap;

	if (l + 2 >= n)
		return;
	if (l) {
		strcat(desc, ", ");
		l += 2;
	}
	va_start(ap, fmt);
	vsnprintf(desc + l, n - l, fmt, ap);
	va_end(ap);
}

/* An offset to damage: mostly in the headers. */
static __u32 pick_off(const struct pkt *p, const struct fz_view *v, __u64 *r)
{
	__u32 hot = v->family ? v->l4 + 48 : 64;

	if (hot > p->len)
		hot = p->len;
	if (fz_below(r, 10) < 8 && hot)
		return fz_below(r, hot);
	return fz_below(r, p->len);
}

static void set_len(struct pkt *p, __u32 len)
{
	if (len > PKT_MAX)
		len = PKT_MAX;
	if (len < p->len)
		memset(p->data + len, 0, p->len - len);
	p->len = len;
}

/* Cut the frame at a header boundary (or near one). */
static void m_trunc_boundary(struct pkt *p, const struct fz_view *v, __u64 *r, char *d, size_t n)
{
	__u32 b[48];
	int nb = 0;

	b[nb++] = 13;
	b[nb++] = 14;
	b[nb++] = 16;
	b[nb++] = 17;
	b[nb++] = 18;
	if (v->family) {
		static const __u8 l3d[] = {1, 9, 19, 20, 21, 39, 40};
		static const __u8 l4d[] = {0, 1, 2, 3, 4, 6, 7, 8, 12, 13, 16, 17, 19, 20, 27, 28};

		for (size_t i = 0; i < sizeof(l3d); i++)
			b[nb++] = v->l3 + l3d[i];
		for (int i = 0; i < v->next && nb < 40; i++) {
			b[nb++] = v->ext_off[i] + 1;
			b[nb++] = v->ext_off[i] + 7;
		}
		for (size_t i = 0; i < sizeof(l4d) && nb < 48; i++)
			b[nb++] = v->l4 + l4d[i];
	}
	__u32 at = b[fz_below(r, nb)];

	if (at >= p->len)
		at = p->len - 1;
	desc_add(d, n, "cut at %u (of %u)", at, p->len);
	set_len(p, at);
}

/* Cut the datagram inside its L4/extension headers and make the IP lengths agree. */
static void m_trunc_consistent(struct pkt *p, const struct fz_view *v, __u64 *r, char *d, size_t n)
{
	__u32 lo = v->family == 4 ? v->l3 + v->ihl : v->l3 + 40, at;

	if (!v->family || v->end <= lo)
		return;
	at = lo + fz_below(r, (v->end - lo) < 48 ? v->end - lo : 48);
	desc_add(d, n, "datagram cut to %u", at - v->l3);
	if (v->family == 4) {
		fz_put16(p->data + v->l3 + 2, at - v->l3);
		fz_ip4_fix(p->data + v->l3, v->ihl);
	} else {
		fz_put16(p->data + v->l3 + 4, at - v->l3 - 40);
	}
	set_len(p, at);
}

static __u16 new_len_value(__u16 old, __u64 *r)
{
	switch (fz_below(r, 6)) {
	case 0:
		return 0;
	case 1:
		return old + 1 + fz_below(r, 8);
	case 2:
		return old - 1 - fz_below(r, 8);
	case 3:
		return fz_below(r, 64);
	case 4:
		return (__u16)fz_rand(r);
	default:
		return old ^ (1u << fz_below(r, 16));
	}
}

static void m_len_field(struct pkt *p, const struct fz_view *v, __u64 *r, char *d, size_t n)
{
	__u8 *b = p->data;
	__u32 l4 = v->l4;

	if (!v->family)
		return;
	switch (fz_below(r, 8)) {
	case 0: /* IPv4 total length / IPv6 payload length */
		if (v->family == 4) {
			__u16 nv = new_len_value(fz_get16(b + v->l3 + 2), r);

			fz_put16(b + v->l3 + 2, nv);
			desc_add(d, n, "tot_len %u", nv);
		} else {
			__u16 nv = new_len_value(fz_get16(b + v->l3 + 4), r);

			fz_put16(b + v->l3 + 4, nv);
			desc_add(d, n, "payload_len %u", nv);
		}
		return;
	case 1: /* IHL */
		if (v->family == 4) {
			__u8 ihl = fz_below(r, 16);

			b[v->l3] = 0x40 | ihl;
			desc_add(d, n, "IHL %u", ihl);
			return;
		}
		/* fall through */
	case 2: /* an extension header's length */
		if (v->next) {
			int i = fz_below(r, v->next);
			__u8 nv = fz_below(r, 2) ? fz_below(r, 4) : (__u8)fz_rand(r);

			b[v->ext_off[i] + 1] = nv;
			desc_add(d, n, "ext[%d] len %u", i, nv);
			return;
		}
		/* fall through */
	case 3: /* UDP length */
		if (v->proto == IPPROTO_UDP && l4 + 6 <= p->len) {
			__u16 nv = new_len_value(fz_get16(b + l4 + 4), r);

			fz_put16(b + l4 + 4, nv);
			desc_add(d, n, "UDP length %u", nv);
			return;
		}
		/* fall through */
	case 4: /* TCP data offset */
		if (v->proto == IPPROTO_TCP && l4 + 13 <= p->len) {
			__u8 doff = fz_below(r, 16);

			b[l4 + 12] = (b[l4 + 12] & 15) | doff << 4;
			desc_add(d, n, "TCP doff %u", doff);
			return;
		}
		/* fall through */
	default: /* the quote of an ICMP error: inner lengths */
		if ((v->proto == IPPROTO_ICMP || v->proto == IPPROTO_ICMPV6) &&
		    l4 + 8 + 40 <= p->len) {
			__u8 *in = b + l4 + 8;

			if (v->family == 4 && fz_below(r, 2)) {
				in[0] = (in[0] & 0xf0) | fz_below(r, 16);
				desc_add(d, n, "inner IHL %u", in[0] & 15);
			} else {
				__u8 *f = v->family == 4 ? in + 2 : in + 4;
				__u16 nv = new_len_value(fz_get16(f), r);

				fz_put16(f, nv);
				desc_add(d, n, "inner length %u", nv);
			}
			if (v->family == 4 && fz_below(r, 2) && (in[0] & 15) >= 5 &&
			    l4 + 8 + (in[0] & 15) * 4u <= p->len)
				fz_ip4_fix(in, (in[0] & 15) * 4);
			return;
		}
		desc_add(d, n, "len edit: nothing to edit");
	}
}

static void put_addr(__u8 *at, __u8 family, const char *s)
{
	inet_pton(family == 4 ? AF_INET : AF_INET6, s, at);
}

static void m_addr(struct pkt *p, const struct fz_view *v, __u64 *r, char *d, size_t n)
{
	__u32 fam = v->family, alen = fam == 4 ? 4 : 16;
	__u8 *s = p->data + v->l3 + (fam == 4 ? 12 : 8), *t = s + alen;
	const char *a;

	if (!fam)
		return;
	switch (fz_below(r, 4)) {
	case 0:
	case 1: /* a martian source */
		a = fam == 4 ? MARTIAN4[fz_below(r, ARRAY_LEN(MARTIAN4))]
			     : MARTIAN6[fz_below(r, ARRAY_LEN(MARTIAN6))];
		put_addr(s, fam, a);
		desc_add(d, n, "saddr %s", a);
		return;
	case 2: /* an address at the edge of a range, as source or destination */
		a = fam == 4 ? EDGE4[fz_below(r, ARRAY_LEN(EDGE4))]
			     : EDGE6[fz_below(r, ARRAY_LEN(EDGE6))];
		if (fz_below(r, 2)) {
			put_addr(s, fam, a);
			desc_add(d, n, "saddr %s", a);
		} else {
			put_addr(t, fam, a);
			desc_add(d, n, "daddr %s", a);
		}
		return;
	default: { /* swap source and destination, and the ports */
		__u8 tmp[16];

		memcpy(tmp, s, alen);
		memcpy(s, t, alen);
		memcpy(t, tmp, alen);
		if ((v->proto == IPPROTO_TCP || v->proto == IPPROTO_UDP) && !v->tail &&
		    v->l4 + 4 <= p->len) {
			__u8 *l4 = p->data + v->l4;

			memcpy(tmp, l4, 2);
			memcpy(l4, l4 + 2, 2);
			memcpy(l4 + 2, tmp, 2);
		}
		desc_add(d, n, "swap addresses and ports");
	}
	}
}

static void m_ttl(struct pkt *p, const struct fz_view *v, __u64 *r, char *d, size_t n)
{
	static const __u8 vals[] = {0, 1, 1, 2, 63, 255};
	__u8 t = vals[fz_below(r, sizeof(vals))];

	if (!v->family)
		return;
	p->data[v->l3 + (v->family == 4 ? 8 : 7)] = t;
	desc_add(d, n, "ttl %u", t);
}

static void m_pad(struct pkt *p, __u64 *r, char *d, size_t n)
{
	__u32 add = fz_below(r, 5) ? 1 + fz_below(r, 64) : 1 + fz_below(r, 1600);
	bool zero = fz_below(r, 2);

	if (p->len + add > PKT_MAX)
		add = PKT_MAX - p->len;
	for (__u32 i = 0; i < add; i++)
		p->data[p->len + i] = zero ? 0 : (__u8)fz_rand(r);
	p->len += add;
	desc_add(d, n, "%u bytes of %s padding", add, zero ? "zero" : "random");
}

static void m_proto(struct pkt *p, const struct fz_view *v, __u64 *r, char *d, size_t n)
{
	__u8 nh = NH_VALUES[fz_below(r, sizeof(NH_VALUES))];

	if (!v->family)
		return;
	if (v->family == 6 && v->next && fz_below(r, 2)) {
		int i = fz_below(r, v->next);

		p->data[v->ext_off[i]] = nh;
		desc_add(d, n, "ext[%d] next header %u", i, nh);
		return;
	}
	p->data[v->l3 + (v->family == 4 ? 9 : 6)] = nh;
	desc_add(d, n, "protocol %u", nh);
}

static void m_frag(struct pkt *p, const struct fz_view *v, __u64 *r, char *d, size_t n)
{
	__u8 *f;
	__u16 nv;

	if (v->family == 4) {
		f = p->data + v->l3 + 6;
		switch (fz_below(r, 4)) {
		case 0:
			nv = fz_get16(f) ^ MF;
			break;
		case 1:
			nv = fz_get16(f) ^ DF;
			break;
		case 2:
			nv = (fz_get16(f) & 0xe000) | (1 + fz_below(r, 200));
			break;
		default:
			nv = (__u16)fz_rand(r);
		}
		fz_put16(f, nv);
		desc_add(d, n, "frag_off 0x%04x", nv);
		return;
	}
	for (int i = 0; i < v->next; i++) {
		if (p->data[i ? (__u32)v->ext_off[i - 1] : v->l3 + 6] != NH_FRAG)
			continue;
		f = p->data + v->ext_off[i] + 2;
		nv = fz_below(r, 2) ? (__u16)(fz_get16(f) ^ 1)
				    : (__u16)(fz_below(r, 2) ? fz_rand(r) : 8);
		fz_put16(f, nv);
		desc_add(d, n, "v6 frag field 0x%04x", nv);
		return;
	}
}

static void m_l2(struct pkt *p, __u64 *r, char *d, size_t n)
{
	static const __u16 types[] = {0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, 0x9100};
	bool tagged = p->len >= 18 && fz_get16(p->data + 12) == 0x8100;

	switch (fz_below(r, 3)) {
	case 0: { /* change the (inner) ethertype */
		__u16 t = types[fz_below(r, ARRAY_LEN(types))];
		__u32 at = tagged && fz_below(r, 2) ? 16 : 12;

		if (p->len >= at + 2)
			fz_put16(p->data + at, t);
		desc_add(d, n, "ethertype@%u 0x%04x", at, t);
		return;
	}
	case 1: /* add a tag */
		if (p->len + 4 <= PKT_MAX && p->len >= 14) {
			memmove(p->data + 16, p->data + 12, p->len - 12);
			fz_put16(p->data + 12, 0x8100);
			fz_put16(p->data + 14, 1 + fz_below(r, 4094));
			p->len += 4;
			desc_add(d, n, "802.1Q tag added");
		}
		return;
	default: /* remove the tag */
		if (tagged) {
			memmove(p->data + 12, p->data + 16, p->len - 16);
			set_len(p, p->len - 4);
			desc_add(d, n, "802.1Q tag removed");
		}
	}
}

static void m_icmp(struct pkt *p, const struct fz_view *v, __u64 *r, char *d, size_t n)
{
	static const __u8 t4[] = {0, 3, 4, 5, 8, 11, 12, 13}, t6[] = {1, 2, 3, 4, 128, 129, 135};
	__u8 *l4 = p->data + v->l4;

	if ((v->proto != IPPROTO_ICMP && v->proto != IPPROTO_ICMPV6) || v->l4 + 2 > p->len)
		return;
	if (fz_below(r, 2)) {
		l4[0] = v->family == 4 ? t4[fz_below(r, sizeof(t4))] : t6[fz_below(r, sizeof(t6))];
		desc_add(d, n, "ICMP type %u", l4[0]);
	} else {
		l4[1] = fz_below(r, 16);
		desc_add(d, n, "ICMP code %u", l4[1]);
	}
}

/* Makes the mutated frame self-consistent again, sometimes, so later rules are reached. */
static void fixups(struct pkt *p, __u64 *r, char *d, size_t n)
{
	struct fz_view v;
	__u8 *b = p->data;

	if (p->len < 34)
		return;
	/* The IPv4 header checksum (when IHL can be summed). */
	if (fz_below(r, 10) < 8) {
		__u32 l3 = fz_get16(b + 12) == 0x8100 ? 18 : 14;
		__u32 ihl = (b[l3] & 15) * 4;

		if (l3 + 20 <= p->len && b[l3] >> 4 == 4 && ihl >= 20 && l3 + ihl <= p->len &&
		    fz_get16(b + l3 - 2) == 0x0800)
			fz_ip4_fix(b + l3, ihl);
	} else {
		desc_add(d, n, "IPv4 checksum not fixed");
	}
	if (fz_below(r, 2) && fz_parse(b, p->len, &v) && !v.frag)
		fz_l4_fix(b, &v);
}

void fz_mutate(struct pkt *p, __u64 *rng, char *desc, size_t desc_len)
{
	int k, w = fz_below(rng, 100);
	struct fz_view v;

	desc[0] = 0;
	k = w < 5 ? 0 : w < 55 ? 1 : w < 85 ? 2 : 3;
	if (!k)
		desc_add(desc, desc_len, "unmutated");
	for (int i = 0; i < k; i++) {
		__u32 off;

		fz_parse(p->data, p->len, &v);
		switch (fz_below(rng, 15)) {
		case 0:
			off = pick_off(p, &v, rng);
			p->data[off] = (__u8)fz_rand(rng);
			desc_add(desc, desc_len, "byte %u = 0x%02x", off, p->data[off]);
			break;
		case 1:
			off = pick_off(p, &v, rng);
			p->data[off] ^= 1u << fz_below(rng, 8);
			desc_add(desc, desc_len, "bit flip at %u", off);
			break;
		case 2:
			m_trunc_boundary(p, &v, rng, desc, desc_len);
			break;
		case 3:
			off = 14 + fz_below(rng, p->len > 14 ? p->len - 14 : 1);
			if (off < p->len) {
				desc_add(desc, desc_len, "cut at %u (of %u)", off, p->len);
				set_len(p, off);
			}
			break;
		case 4:
			m_trunc_consistent(p, &v, rng, desc, desc_len);
			break;
		case 5:
		case 6:
		case 7:
			m_len_field(p, &v, rng, desc, desc_len);
			break;
		case 8:
		case 9:
			m_addr(p, &v, rng, desc, desc_len);
			break;
		case 10:
			m_ttl(p, &v, rng, desc, desc_len);
			break;
		case 11:
			m_pad(p, rng, desc, desc_len);
			break;
		case 12:
			if (fz_below(rng, 2))
				m_proto(p, &v, rng, desc, desc_len);
			else
				m_icmp(p, &v, rng, desc, desc_len);
			break;
		case 13:
			m_frag(p, &v, rng, desc, desc_len);
			break;
		default:
			m_l2(p, rng, desc, desc_len);
		}
	}
	if (k)
		fixups(p, rng, desc, desc_len);
}

/* ---- checksum fixing for the mutations ---- */

void fz_l4_fix(__u8 *b, const struct fz_view *v)
{
	__u32 len = v->end - v->l4, sum = 0;
	int at;

	if (v->proto == IPPROTO_TCP && len >= 20)
		at = 16;
	else if (v->proto == IPPROTO_UDP && len >= 8)
		at = 6;
	else if ((v->proto == IPPROTO_ICMP && v->family == 4) ||
		 (v->proto == IPPROTO_ICMPV6 && v->family == 6))
		at = len >= 4 ? 2 : -1;
	else
		at = -1;
	if (at < 0)
		return;
	if (v->proto == IPPROTO_UDP && v->family == 4 && !fz_get16(b + v->l4 + 6))
		return; /* sent without a checksum */
	b[v->l4 + at] = b[v->l4 + at + 1] = 0;
	if (v->proto != IPPROTO_ICMP)
		sum = fz_pseudo_sum(v->family, &v->saddr, &v->daddr, v->proto, len);
	sum = csum_partial_rfc1071(b + v->l4, len, sum);
	fz_put16(b + v->l4 + at, csum_finish_rfc1071(sum));
	if (v->proto == IPPROTO_UDP && !fz_get16(b + v->l4 + at))
		fz_put16(b + v->l4 + at, 0xffff);
}
