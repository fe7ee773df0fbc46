// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzz test's model of the data plane, written from the documented rules 1-9 (never from
 * the BPF code). A frame goes through the stages below in the order the rules are stated; each
 * rule group is one small function that either lets the frame go on (FZ_GO) or decides what
 * becomes of it (FZ_STOP) and marks the expectation with its group. Where the rules leave a
 * choice open the model lists every admissible outcome (fz_expect.c[]), or, where it cannot
 * say at all, marks the expectation unspecified.
 *
 * Switching a group on: set `enabled` in fz_groups[] below once its implementation is on main
 * (or run with VEER_FUZZ_GROUPS=+name to try a branch). A disabled group is still modelled:
 * only the mismatches of expectations that relied on it are not counted as failures.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "lb_fuzz.h"

struct fz_group_def fz_groups[FZ_G_MAX] = {
	[FZ_G_L2] = {"l2", "1: frame/802.1Q cut short -> bad_l2; other ethertypes -> not_ip", true},
	[FZ_G_L3] = {"l3", "2,3: IP header truncated/version/IHL/lengths -> bad_l3", true},
	[FZ_G_IPCSUM] = {"ipcsum", "2: IPv4 header checksum wrong -> bad_ip_csum", true},
	[FZ_G_PLEN0] = {"plen0", "3: IPv6 payload length 0 -> bad_l3", true},
	[FZ_G_EXT] = {"ext", "4: IPv6 extension headers walked, broken -> ext_hdrs", true},
	[FZ_G_L4] = {"l4", "5: TCP/UDP header cut short -> bad_l4", true},
	[FZ_G_L4HDR] = {"l4hdr", "5: TCP doff, UDP length (flow/VIP) -> bad_l4_hdr", true},
	[FZ_G_MARTIAN] = {"martian", "5: martian source (flow/VIP) -> martian", true},
	[FZ_G_TTL] = {"ttl", "5: TTL/hop limit <= 1 -> pass ttl untouched", true},
	[FZ_G_TTL_STATE] = {"ttlstate", "5: ... creating no flow state", true},
	[FZ_G_ECHO] = {"echo", "6: echo request to a VIP address -> answered", true},
	[FZ_G_ECHO_SUM] = {"echosum", "6: ... an all-zero echo reply: checksum 0xffff, not 0",
			   true},
	[FZ_G_ICMPERR] = {"icmperr", "7: ICMP error about a flow -> rewritten", true},
	[FZ_G_ICMP_QLEN] = {"icmpqlen", "7: ... inner checksum in the quote, past the inner length",
			    true},
	[FZ_G_MTU_STACK] = {"mtustack", "8: too big, IPv4 without DF -> mtu_stack", true},
	[FZ_G_MTU_ICMP] = {"mtuicmp", "8: too big, DF/IPv6 -> frag_needed", true},
	[FZ_G_FRAG] = {"frag", "9: fragments balanced, tails forwarded", true},
};

bool fz_groups_from_env(void)
{
	const char *env = getenv("VEER_FUZZ_GROUPS");
	char buf[256], *tok, *save;

	if (!env || !*env)
		return true;
	snprintf(buf, sizeof(buf), "%s", env);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool on = *tok != '-', found = false;

		if (*tok == '+' || *tok == '-')
			tok++;
		for (int g = 0; g < FZ_G_MAX; g++) {
			if (!strcmp(tok, "all") || !strcmp(tok, fz_groups[g].name)) {
				fz_groups[g].enabled = on;
				found = true;
			}
		}
		if (!found) {
			fprintf(stderr, "    VEER_FUZZ_GROUPS: no rule group \"%s\"\n", tok);
			return false;
		}
	}
	return true;
}

__u32 fz_groups_enabled(void)
{
	__u32 m = 0;

	for (int g = 0; g < FZ_G_MAX; g++)
		if (fz_groups[g].enabled)
			m |= 1u << g;
	return m;
}

/* ---- the configuration the runner installs ---- */

const struct fz_vip fz_vips[] = {
	{VIP4, 80, IPPROTO_TCP, VIP_TCP4, &BE_TCP4},
	{VIP4, 53, IPPROTO_UDP, VIP_UDP4, &BE_UDP4},
	{VIP6, 80, IPPROTO_TCP, VIP_TCP6, &BE_TCP6},
	{VIP6, 53, IPPROTO_UDP, VIP_UDP6, &BE_UDP6},
	{VIP4_2, 80, IPPROTO_TCP, VIP_SPECIAL, &BE_NONEIGH}, /* FIB: no neighbour -> stack */
};
const int fz_nvips = ARRAY_LEN(fz_vips);

#define FZ_MTU	     1500 /* both veths of the topology */
#define FZ_EXT_MAX   8	  /* VEER_IPV6_EXT_MAX */
#define ETH_P_IP_    0x0800
#define ETH_P_IPV6_  0x86dd
#define ETH_P_8021Q_ 0x8100

/* ---- checksums and addresses ---- */

__u32 fz_pseudo_sum(__u8 family, const union veer_addr *s, const union veer_addr *d, __u8 proto,
		    __u32 len)
{
	__u8 tail[8] = {0, 0, 0, 0, 0, 0, 0, proto};
	__u32 sum = 0;
	bool v6 = family == 6;

	sum = csum_partial_rfc1071(s->bytes, v6 ? 16 : 4, sum);
	sum = csum_partial_rfc1071(d->bytes, v6 ? 16 : 4, sum);
	tail[0] = len >> 24;
	tail[1] = len >> 16;
	tail[2] = len >> 8;
	tail[3] = len;
	if (!v6) {
		__u8 t4[4] = {0, proto, (__u8)(len >> 8), (__u8)len};

		return csum_partial_rfc1071(t4, 4, sum);
	}
	return csum_partial_rfc1071(tail, 8, sum);
}

__u16 fz_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff ? 0 : (__u16)sum;
}

bool fz_ip4_csum_ok(const __u8 *iph, __u32 ihl)
{
	return fz_fold(csum_partial_rfc1071(iph, ihl, 0)) == 0;
}

void fz_ip4_fix(__u8 *iph, __u32 ihl)
{
	iph[10] = iph[11] = 0;
	fz_put16(iph + 10, csum_finish_rfc1071(csum_partial_rfc1071(iph, ihl, 0)));
}

bool fz_martian(__u8 family, const union veer_addr *a)
{
	const __u8 *b = a->bytes;
	static const __u8 zero[16], v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (family == 4)
		return b[0] == 0 || b[0] == 127 || b[0] >= 224; /* 0/8 127/8 224/4 240/4 */
	if (!memcmp(b, zero, 15) && (b[15] == 0 || b[15] == 1)) /* :: and ::1 */
		return true;
	if (!memcmp(b, v4mapped, 12))
		return true;
	return (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff; /* fe80::/10, ff00::/8 */
}

/* ---- the model's working state for one frame ---- */

struct fz_ctx {
	const __u8 *b;
	__u32 len;
	enum side from;
	const struct fz_state *st;
	struct fz_view v;
	struct fz_expect *e;
	bool first_frag;
	bool ports;
	__u16 sport, dport;
	/* What the frame matched (stage_match). */
	const struct fz_flow *flow;
	const struct fz_vip *vip;
};

#define FZ_GO	0
#define FZ_STOP 1

static bool has(const struct fz_ctx *c, __u32 off, __u32 n)
{
	return off + n <= c->len;
}

static void use(struct fz_ctx *c, enum fz_group g)
{
	c->e->uses |= 1u << g;
}

static void why(struct fz_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why(struct fz_ctx *c, const char *fmt, ...)
{
	size_t n = strlen(c->e->why);
	va_list ap;

	if (n && n + 3 < sizeof(c->e->why)) {
		strcat(c->e->why, "; ");
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(c->e->why + n, sizeof(c->e->why) - n, fmt, ap);
	va_end(ap);
}

static struct fz_outcome *outcome(struct fz_ctx *c, enum fz_cls cls, enum veer_reason r,
				  enum fz_out out)
{
	struct fz_outcome *o;

	if (c->e->n >= FZ_MAX_OUTCOMES)
		abort(); /* a model bug: every stage adds at most what fits */
	o = &c->e->c[c->e->n++];
	memset(o, 0, sizeof(*o));
	o->cls = cls;
	o->reason = r;
	o->out = out;
	return o;
}

/* A drop, or a pass of the frame untouched, decided by group g. */
static int decide(struct fz_ctx *c, enum fz_group g, enum fz_cls cls, enum veer_reason r,
		  const char *what)
{
	use(c, g);
	outcome(c, cls, r, cls == FZ_DROP ? FZ_OUT_ANY : FZ_OUT_SAME);
	why(c, "%s", what);
	return FZ_STOP;
}

/* The rules do not say (g < 0: nothing to do with a rule group). */
static int unspec(struct fz_ctx *c, int g, const char *what)
{
	if (g >= 0)
		use(c, g);
	c->e->unspec = true;
	why(c, "unspecified: %s", what);
	return FZ_STOP;
}

static int not_vip(struct fz_ctx *c, const char *what)
{
	outcome(c, FZ_PASS, VEER_PASS_NOT_VIP, FZ_OUT_SAME);
	why(c, "%s", what);
	return FZ_STOP;
}

/* ---- rule 1: Ethernet ---- */

static int g_l2(struct fz_ctx *c)
{
	__u16 et;

	if (c->len < 14)
		return decide(c, FZ_G_L2, FZ_DROP, VEER_DROP_BAD_L2, "frame < 14 bytes");
	et = fz_get16(c->b + 12);
	c->v.l3 = 14;
	if (et == ETH_P_8021Q_) {
		if (c->len < 18)
			return decide(c, FZ_G_L2, FZ_DROP, VEER_DROP_BAD_L2,
				      "802.1Q tag cut short");
		c->v.vlan = true;
		et = fz_get16(c->b + 16);
		c->v.l3 = 18;
	}
	c->v.ethertype = et;
	if (et != ETH_P_IP_ && et != ETH_P_IPV6_)
		return decide(c, FZ_G_L2, FZ_PASS, VEER_PASS_NOT_IP, "not IPv4/IPv6");
	return FZ_GO;
}

/* ---- rules 2, 3: the IP header ---- */

static int g_l3_v4(struct fz_ctx *c)
{
	const __u8 *ip = c->b + c->v.l3;
	__u32 ihl, tot;

	if (!has(c, c->v.l3, 20))
		return decide(c, FZ_G_L3, FZ_DROP, VEER_DROP_BAD_L3, "IPv4 header cut short");
	ihl = (ip[0] & 15) * 4;
	tot = fz_get16(ip + 2);
	if (ip[0] >> 4 != 4)
		return decide(c, FZ_G_L3, FZ_DROP, VEER_DROP_BAD_L3, "IPv4 version != 4");
	if (ihl < 20)
		return decide(c, FZ_G_L3, FZ_DROP, VEER_DROP_BAD_L3, "IPv4 IHL < 5");
	if (!has(c, c->v.l3, ihl))
		return decide(c, FZ_G_L3, FZ_DROP, VEER_DROP_BAD_L3, "IPv4 options cut short");
	if (tot < ihl || !has(c, c->v.l3, tot))
		return decide(c, FZ_G_L3, FZ_DROP, VEER_DROP_BAD_L3,
			      "IPv4 total length < IHL*4 or past the frame");
	c->v.family = 4;
	c->v.ihl = ihl;
	c->v.end = c->v.l3 + tot;
	c->v.l4 = c->v.l3 + ihl;
	c->v.proto = c->v.frag_proto = ip[9];
	c->v.ttl = ip[8];
	c->v.df = ip[6] & 0x40;
	c->v.frag = fz_get16(ip + 6) & 0x3fff; /* MF or an offset */
	c->v.tail = fz_get16(ip + 6) & 0x1fff; /* an offset */
	c->first_frag = c->v.frag && !c->v.tail;
	c->v.frag_id = fz_get16(ip + 4);
	memset(&c->v.saddr, 0, sizeof(c->v.saddr));
	memset(&c->v.daddr, 0, sizeof(c->v.daddr));
	memcpy(c->v.saddr.bytes, ip + 12, 4);
	memcpy(c->v.daddr.bytes, ip + 16, 4);
	return FZ_GO;
}

static int g_ipcsum(struct fz_ctx *c)
{
	if (c->v.family == 4 && !fz_ip4_csum_ok(c->b + c->v.l3, c->v.ihl))
		return decide(c, FZ_G_IPCSUM, FZ_DROP, VEER_DROP_BAD_IP_CSUM,
			      "IPv4 header checksum wrong");
	return FZ_GO;
}

static int g_l3_v6(struct fz_ctx *c)
{
	const __u8 *ip = c->b + c->v.l3;

	if (!has(c, c->v.l3, 40))
		return decide(c, FZ_G_L3, FZ_DROP, VEER_DROP_BAD_L3, "IPv6 header cut short");
	if (ip[0] >> 4 != 6)
		return decide(c, FZ_G_L3, FZ_DROP, VEER_DROP_BAD_L3, "IPv6 version != 6");
	if (!has(c, c->v.l3 + 40, fz_get16(ip + 4)))
		return decide(c, FZ_G_L3, FZ_DROP, VEER_DROP_BAD_L3,
			      "IPv6 payload length past the frame");
	c->v.family = 6;
	c->v.end = c->v.l3 + 40 + fz_get16(ip + 4);
	c->v.l4 = c->v.l3 + 40;
	c->v.proto = ip[6];
	c->v.ttl = ip[7];
	memcpy(c->v.saddr.bytes, ip + 8, 16);
	memcpy(c->v.daddr.bytes, ip + 24, 16);
	return FZ_GO;
}

static int g_plen0(struct fz_ctx *c)
{
	if (c->v.family == 6 && c->v.end == c->v.l3 + 40)
		return decide(c, FZ_G_PLEN0, FZ_DROP, VEER_DROP_BAD_L3, "IPv6 payload length 0");
	return FZ_GO;
}

/* ---- rule 4: IPv6 extension headers ---- */

static bool is_ext(__u8 nh)
{
	return nh == NH_HBH || nh == NH_ROUTING || nh == NH_DSTOPTS || nh == NH_FRAG || nh == NH_AH;
}

static int ext_bad(struct fz_ctx *c, const char *what)
{
	c->v.ext_bad = true;
	c->v.ext_why = what;
	return decide(c, FZ_G_EXT, FZ_DROP, VEER_DROP_EXT_HDRS, what);
}

static int g_ext(struct fz_ctx *c)
{
	__u32 off = c->v.l3 + 40;
	__u8 nh = c->v.proto;

	while (c->v.family == 6 && is_ext(nh)) {
		__u32 hlen;

		if (nh == NH_HBH && c->v.next)
			return ext_bad(c, "hop-by-hop not first");
		if (c->v.next == FZ_EXT_MAX)
			return ext_bad(c, "more than 8 extension headers");
		if (off + 2 > c->v.end)
			return ext_bad(c, "extension header past the datagram");
		hlen = nh == NH_FRAG ? 8
		       : nh == NH_AH ? (c->b[off + 1] + 2u) * 4
				     : (c->b[off + 1] + 1u) * 8;
		if (off + hlen > c->v.end)
			return ext_bad(c, "extension header past the datagram");
		c->v.ext_off[c->v.next++] = off;
		if (nh == NH_FRAG) {
			__u16 fo = fz_get16(c->b + off + 2);

			c->v.nfraghdr++;
			/* An atomic fragment (offset 0, M clear) is a whole datagram: RFC 6946. */
			c->v.frag = fo & 0xfff9;
			c->v.tail = fo & 0xfff8;
			c->first_frag = c->v.frag && !c->v.tail;
			c->v.frag_id = fz_get32(c->b + off + 4);
			c->v.frag_proto = c->b[off];
			if (c->v.tail) {
				/* What follows belongs to the middle of the datagram. */
				c->v.l4 = off + hlen;
				c->v.proto = c->b[off];
				break;
			}
		}
		nh = c->b[off];
		off += hlen;
		c->v.l4 = off;
		c->v.proto = nh;
	}
	/* A lone fragment header is the old rule's too; anything more is rule 4's walk. */
	if (c->v.next > 1 || (c->v.next == 1 && !c->v.nfraghdr))
		use(c, FZ_G_EXT);
	if (c->v.nfraghdr > 1)
		return unspec(c, FZ_G_EXT, "two fragment headers");
	return FZ_GO;
}

/* The parse stages shared with fz_parse. */
static int parse_l2_l3(struct fz_ctx *c)
{
	if (g_l2(c))
		return FZ_STOP;
	if (c->v.ethertype == ETH_P_IP_)
		return g_l3_v4(c) || g_ipcsum(c);
	return g_l3_v6(c) || g_plen0(c) || g_ext(c);
}

bool fz_parse(const __u8 *b, __u32 len, struct fz_view *v)
{
	struct fz_expect scratch = {};
	struct fz_ctx c = {.b = b, .len = len, .e = &scratch};

	parse_l2_l3(&c);
	*v = c.v;
	return c.v.family != 0;
}

/* ---- the model's view of the connection table ---- */

static bool addr_is(__u8 family, const union veer_addr *a, const char *s)
{
	union veer_addr b;

	return lb_addr_parse(s, &b) == family && !memcmp(a, &b, sizeof(b));
}

static const struct fz_flow *flow_find(const struct fz_state *st, const struct fz_key *k)
{
	for (int i = 0; i < st->nflows; i++) {
		const struct fz_key *f = &st->flows[i].key;

		if (f->family == k->family && f->proto == k->proto && f->sport == k->sport &&
		    f->dport == k->dport && !memcmp(&f->saddr, &k->saddr, sizeof(f->saddr)) &&
		    !memcmp(&f->daddr, &k->daddr, sizeof(f->daddr)))
			return &st->flows[i];
	}
	return NULL;
}

static const struct fz_vip *vip_find(__u8 family, const union veer_addr *a, __u16 port, __u8 proto)
{
	for (int i = 0; i < fz_nvips; i++)
		if (fz_vips[i].port == port && fz_vips[i].proto == proto &&
		    addr_is(family, a, fz_vips[i].addr))
			return &fz_vips[i];
	return NULL;
}

static bool vip_addr(__u8 family, const union veer_addr *a)
{
	for (int i = 0; i < fz_nvips; i++)
		if (addr_is(family, a, fz_vips[i].addr))
			return true;
	return false;
}

/* Where the FIB sends a packet to a backend, and a reply to a client (see lb_harness.h). */
static struct fz_hop hop_backend(const struct be_def *be)
{
	struct fz_hop h = {.kind = be->mac ? FZ_HOP_REDIRECT : FZ_HOP_STACK};

	if (be->mac) {
		memcpy(h.dmac, be->mac, 6);
		memcpy(h.smac, MAC_VB0, 6);
	}
	return h;
}

static struct fz_hop hop_client(__u8 family, const union veer_addr *a)
{
	struct fz_hop h = {.kind = FZ_HOP_UNKNOWN};

	if (addr_is(family, a, CLIENT4) || addr_is(family, a, CLIENT6)) {
		h.kind = FZ_HOP_REDIRECT;
		memcpy(h.dmac, MAC_CLIENT, 6);
		memcpy(h.smac, MAC_VC0, 6);
	}
	return h;
}

void fz_state_add_flow(struct fz_state *st, const struct fz_key *fwd, const struct fz_vip *v)
{
	struct fz_flow *f, *r;

	if (st->nflows + 2 > FZ_MAX_FLOWS || flow_find(st, fwd))
		return;
	f = &st->flows[st->nflows++];
	r = &st->flows[st->nflows++];
	memset(f, 0, sizeof(*f));
	memset(r, 0, sizeof(*r));
	f->key = *fwd;
	f->dir = FZ_DIR_FORWARD;
	lb_addr_parse(v->be->addr, &f->addr);
	f->port = v->be->port;
	f->hop = hop_backend(v->be);
	f->mtu = FZ_MTU;
	r->key.family = fwd->family;
	r->key.proto = fwd->proto;
	r->key.saddr = f->addr;
	r->key.sport = f->port;
	r->key.daddr = fwd->saddr;
	r->key.dport = fwd->sport;
	r->dir = FZ_DIR_REPLY;
	r->addr = fwd->daddr;
	r->port = fwd->dport;
	r->hop = hop_client(fwd->family, &fwd->saddr);
	r->mtu = FZ_MTU;
}

/* ---- outcomes of forwarding ---- */

/* The rewrite a flow entry makes: destination to the backend, or source back to the VIP. */
static void flow_rw(const struct fz_flow *f, bool ports, struct fz_rw *rw)
{
	memset(rw, 0, sizeof(*rw));
	if (f->dir == FZ_DIR_FORWARD) {
		rw->daddr = true;
		rw->new_daddr = f->addr;
		rw->dport = ports;
		rw->new_dport = f->port;
	} else {
		rw->saddr = true;
		rw->new_saddr = f->addr;
		rw->sport = ports;
		rw->new_sport = f->port;
	}
}

/*
 * The frame goes on rewritten (rw, and irw inside an ICMP quote): redirected by veer (hop known)
 * or handed to the stack (802.1Q, no neighbour). A special path's reason (fragment_fwd,
 * icmp_error) is counted on redirect; handed to the stack, the rules do not say whether it or
 * `stack` is counted: either.
 */
static void forward(struct fz_ctx *c, const struct fz_hop *hop, enum fz_out out,
		    enum veer_reason special, const struct fz_rw *rw, const struct fz_rw *irw,
		    int new_flows)
{
	int first = c->e->n;

	if (hop->kind == FZ_HOP_REDIRECT && !c->v.vlan) {
		struct fz_outcome *o = outcome(c, FZ_REDIRECT, special, out);

		o->hop = true;
		memcpy(o->dmac, hop->dmac, 6);
		memcpy(o->smac, hop->smac, 6);
	} else {
		outcome(c, FZ_PASS, VEER_PASS_STACK, out);
		if (special != VEER_REASON_NONE)
			outcome(c, FZ_PASS, special, out);
	}
	for (int i = first; i < c->e->n; i++) {
		c->e->c[i].rw = *rw;
		if (irw)
			c->e->c[i].irw = *irw;
		c->e->c[i].new_flows = new_flows;
	}
}

/* ---- rule 9: a non-first fragment ---- */

static const struct fz_frag *frag_find(const struct fz_state *st, const struct fz_view *v)
{
	for (int i = 0; i < st->nfrags; i++) {
		const struct fz_frag *f = &st->frags[i];

		if (f->family == v->family && f->proto == v->frag_proto && f->id == v->frag_id &&
		    !memcmp(&f->saddr, &v->saddr, sizeof(f->saddr)) &&
		    !memcmp(&f->daddr, &v->daddr, sizeof(f->daddr)))
			return f;
	}
	return NULL;
}

static int g_frag_tail(struct fz_ctx *c)
{
	const struct fz_frag *r;
	const struct fz_flow *f;
	struct fz_key k = {};
	struct fz_rw rw;

	if (!c->v.tail)
		return FZ_GO;
	r = frag_find(c->st, &c->v);
	if (!r) {
		outcome(c, FZ_PASS, VEER_PASS_FRAGMENT, FZ_OUT_SAME);
		why(c, "non-first fragment of no recorded datagram");
		return FZ_STOP;
	}
	use(c, FZ_G_FRAG);
	k.family = c->v.family;
	k.proto = c->v.frag_proto;
	k.saddr = c->v.saddr;
	k.daddr = c->v.daddr;
	k.sport = r->sport;
	k.dport = r->dport;
	f = flow_find(c->st, &k);
	if (!f) {
		outcome(c, FZ_PASS, VEER_PASS_FRAGMENT, FZ_OUT_SAME);
		why(c, "non-first fragment, recorded, its flow gone");
		return FZ_STOP;
	}
	if (c->v.ttl <= 1) {
		decide(c, FZ_G_TTL, FZ_PASS, VEER_PASS_TTL, "fragment tail, TTL <= 1");
		/* Handed to the stack, either reading of the TTL rule (see g_ttl). */
		if (!c->v.vlan && f->hop.kind == FZ_HOP_REDIRECT)
			return FZ_STOP;
	}
	if (f->hop.kind == FZ_HOP_UNKNOWN || c->v.end - c->v.l3 > f->mtu)
		return unspec(c, FZ_G_FRAG, "fragment tail: hop unknown or too big");
	flow_rw(f, false, &rw);
	forward(c, &f->hop, FZ_OUT_NAT, VEER_FWD_FRAGMENT, &rw, NULL, 0);
	why(c, "non-first fragment of a recorded datagram: forwarded with its flow");
	return FZ_STOP;
}

/* ---- rule 5: TCP/UDP header ---- */

static int g_l4(struct fz_ctx *c)
{
	__u32 need = c->v.proto == IPPROTO_TCP ? 20 : 8;

	if (c->v.l4 + need > c->v.end)
		return decide(c, FZ_G_L4, FZ_DROP, VEER_DROP_BAD_L4, "TCP/UDP header cut short");
	c->ports = true;
	c->sport = fz_get16(c->b + c->v.l4);
	c->dport = fz_get16(c->b + c->v.l4 + 2);
	return FZ_GO;
}

/* ---- rule 6: echo requests ---- */

static void echo_outcome(struct fz_ctx *c)
{
	outcome(c, FZ_TX, VEER_TX_ICMP_ECHO, FZ_OUT_ECHO);
}

static int g_echo(struct fz_ctx *c)
{
	__u32 ilen = c->v.end - c->v.l4;

	if (ilen < 1 || c->b[c->v.l4] != (c->v.family == 4 ? 8 : 128) ||
	    !vip_addr(c->v.family, &c->v.daddr))
		return FZ_GO;
	use(c, FZ_G_ECHO);
	if (ilen < 8)
		return unspec(c, FZ_G_ECHO, "echo request shorter than its header");
	if (c->v.frag)
		return unspec(c, FZ_G_ECHO, "echo request fragment");
	if (c->v.vlan || (c->v.family == 4 && c->v.ihl > 20) || c->v.next)
		return unspec(c, FZ_G_ECHO, "echo request with 802.1Q, IP options or ext headers");
	/*
	 * An all-zero reply (id 0, sequence 0, zero payload) sums to +0: from scratch its checksum
	 * is 0xffff, and a receiver refuses the other zero, 0x0000, that an update can give.
	 */
	if (c->v.family == 4 &&
	    fz_fold(csum_partial_rfc1071(c->b + c->v.l4 + 4, ilen - 4, c->b[c->v.l4 + 1])) == 0)
		use(c, FZ_G_ECHO_SUM);
	if (fz_martian(c->v.family, &c->v.saddr)) {
		/* Rule 5 speaks of packets veer would rewrite: an answer is one, arguably. */
		use(c, FZ_G_MARTIAN);
		outcome(c, FZ_DROP, VEER_DROP_MARTIAN, FZ_OUT_ANY);
		echo_outcome(c);
		why(c, "echo request to a VIP address from a martian source");
		return FZ_STOP;
	}
	echo_outcome(c);
	if (c->v.ttl <= 1) {
		/* Addressed to veer, not forwarded; the TTL rule may be read to cover it. */
		use(c, FZ_G_TTL);
		outcome(c, FZ_PASS, VEER_PASS_TTL, FZ_OUT_SAME);
	}
	why(c, "echo request to a VIP address: answered");
	return FZ_STOP;
}

/* ---- rule 7: ICMP errors ---- */

static bool icmp_error_type(__u8 family, __u8 type)
{
	if (family == 4)
		return type == 3 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

/* The quote's parse. */
struct quote {
	__u32 q, qlen; /* offset and bytes of the quote */
	__u32 ihl;     /* inner IP header bytes */
	__u8 proto;
	bool tuple; /* the 5-tuple could be read */
	struct fz_key key;
	bool bad; /* rule 7's bad_icmp conditions */
	const char *bad_why;
	bool odd;     /* a quote the rules do not cover (non-first fragment, inner ext hdrs) */
	bool csum_ok; /* inner IPv4 header checksum */
	__u32 ilen;   /* the inner datagram's length by its own header */
};

static void quote_parse(const struct fz_ctx *c, struct quote *q)
{
	const __u8 *in;
	__u32 l4;

	memset(q, 0, sizeof(*q));
	q->q = c->v.l4 + 8;
	q->qlen = c->v.end >= q->q ? c->v.end - q->q : 0;
	in = c->b + q->q;
	q->key.family = c->v.family;
	if (c->v.end < q->q || q->qlen < (c->v.family == 4 ? 20u : 40u)) {
		q->bad = true;
		q->bad_why = "quote shorter than an IP header";
		return;
	}
	if (c->v.family == 4) {
		q->ihl = (in[0] & 15) * 4;
		q->proto = in[9];
		memcpy(q->key.saddr.bytes, in + 12, 4);
		memcpy(q->key.daddr.bytes, in + 16, 4);
		if (in[0] >> 4 != 4 || q->ihl < 20) {
			q->bad = true;
			q->bad_why = "inner version or IHL wrong";
		} else if (q->qlen < q->ihl + 8) {
			q->bad = true;
			q->bad_why = "quote shorter than IP header + 8";
		} else if (fz_get16(in + 2) < q->ihl) {
			q->bad = true;
			q->bad_why = "inner total length below its header";
		}
		if (q->ihl >= 20 && q->ihl <= q->qlen)
			q->csum_ok = fz_ip4_csum_ok(in, q->ihl);
		q->ilen = fz_get16(in + 2);
		q->odd = fz_get16(in + 6) & 0x1fff;
	} else {
		q->ihl = 40;
		q->proto = in[6];
		memcpy(q->key.saddr.bytes, in + 8, 16);
		memcpy(q->key.daddr.bytes, in + 24, 16);
		if (in[0] >> 4 != 6) {
			q->bad = true;
			q->bad_why = "inner version wrong";
		} else if (q->qlen < 48) {
			q->bad = true;
			q->bad_why = "quote shorter than IP header + 8";
		}
		q->odd = is_ext(q->proto);
		q->csum_ok = true;
		q->ilen = 40 + fz_get16(in + 4);
	}
	l4 = q->q + q->ihl;
	q->key.proto = q->proto;
	if (q->ihl >= 20 && l4 + 4 <= c->v.end &&
	    (q->proto == IPPROTO_TCP || q->proto == IPPROTO_UDP)) {
		q->tuple = true;
		q->key.sport = fz_get16(c->b + l4);
		q->key.dport = fz_get16(c->b + l4 + 2);
	}
}

static int g_icmperr(struct fz_ctx *c)
{
	const struct fz_flow *f = NULL;
	struct fz_rw rw, irw;
	struct fz_key rk = {};
	struct quote q;
	__u32 csum_end;
	bool martian;

	if (c->v.end <= c->v.l4 || !icmp_error_type(c->v.family, c->b[c->v.l4]))
		return FZ_GO;
	quote_parse(c, &q);
	if (q.tuple) {
		/* The quote is a packet seen in the other direction: its tuple reversed. */
		rk.family = q.key.family;
		rk.proto = q.key.proto;
		rk.saddr = q.key.daddr;
		rk.sport = q.key.dport;
		rk.daddr = q.key.saddr;
		rk.dport = q.key.sport;
		f = flow_find(c->st, &rk);
	}
	if (q.bad) {
		use(c, FZ_G_ICMPERR);
		outcome(c, FZ_DROP, VEER_DROP_BAD_ICMP, FZ_OUT_ANY);
		/* About no known flow, the error is arguably not veer's business. */
		if (!f)
			outcome(c, FZ_PASS, VEER_PASS_NOT_VIP, FZ_OUT_SAME);
		why(c, "ICMP error: %s", q.bad_why);
		return FZ_STOP;
	}
	if (q.proto != IPPROTO_TCP && q.proto != IPPROTO_UDP && !q.odd)
		return not_vip(c, "ICMP error quoting no TCP/UDP packet");
	if (q.odd)
		return unspec(c, FZ_G_ICMPERR, "ICMP error quoting a fragment or ext headers");
	if (!f)
		return not_vip(c, "ICMP error quoting no flow");
	use(c, FZ_G_ICMPERR);
	if (c->v.frag)
		return unspec(c, FZ_G_ICMPERR, "fragmented ICMP error");
	if (!q.csum_ok)
		return decide(c, FZ_G_ICMPERR, FZ_DROP, VEER_DROP_BAD_ICMP,
			      "ICMP error about a flow, inner IPv4 checksum wrong");
	if (f->hop.kind == FZ_HOP_UNKNOWN || c->v.end - c->v.l3 > f->mtu)
		return unspec(c, FZ_G_ICMPERR, "ICMP error: hop unknown or too big");
	martian = fz_martian(c->v.family, &c->v.saddr);
	if (martian) {
		/* Rule 5 covers what veer would rewrite: this, arguably. Either is right. */
		use(c, FZ_G_MARTIAN);
		outcome(c, FZ_DROP, VEER_DROP_MARTIAN, FZ_OUT_ANY);
		why(c, "martian outer source: dropped, or as if it were not");
	}
	if (c->v.ttl <= 1) {
		decide(c, FZ_G_TTL, FZ_PASS, VEER_PASS_TTL, "ICMP error about a flow, TTL <= 1");
		/* Handed to the stack, either reading of the TTL rule (see g_ttl). */
		if (!c->v.vlan && f->hop.kind == FZ_HOP_REDIRECT)
			return FZ_STOP;
	}
	/*
	 * The inner checksum lies in the quote but past the end the inner header gives its own
	 * datagram: "inside the quote" says update it; main leaves it (and rewrites the ports).
	 */
	csum_end = q.ihl + (q.proto == IPPROTO_TCP ? 18 : 8);
	if (q.q + csum_end <= c->v.end && q.ilen < csum_end)
		use(c, FZ_G_ICMP_QLEN);
	memset(&rw, 0, sizeof(rw));
	memset(&irw, 0, sizeof(irw));
	if (f->dir == FZ_DIR_REPLY) {
		/* Quote client->backend: the error goes to the client, about the VIP. */
		irw.daddr = irw.dport = true;
		irw.new_daddr = f->addr;
		irw.new_dport = f->port;
		if (!memcmp(&c->v.saddr, &f->key.saddr, sizeof(c->v.saddr))) {
			rw.saddr = true;
			rw.new_saddr = f->addr;
		}
	} else {
		/* Quote VIP->client: the error goes to the backend, about itself. */
		irw.saddr = irw.sport = true;
		irw.new_saddr = f->addr;
		irw.new_sport = f->port;
		rw.daddr = true;
		rw.new_daddr = f->addr;
	}
	forward(c, &f->hop, FZ_OUT_ICMP_ERR, VEER_FWD_ICMP_ERROR, &rw, &irw, 0);
	why(c, "ICMP error about a flow (%s): rewritten and forwarded",
	    f->dir == FZ_DIR_REPLY ? "toward the client" : "toward the backend");
	return FZ_STOP;
}

static int stage_icmp(struct fz_ctx *c)
{
	if (c->v.frag && c->v.end > c->v.l4 &&
	    (icmp_error_type(c->v.family, c->b[c->v.l4]) ||
	     (c->b[c->v.l4] == (c->v.family == 4 ? 8 : 128) && vip_addr(c->v.family, &c->v.daddr))))
		return unspec(c, FZ_G_ICMPERR, "first fragment of an ICMP message");
	if (g_echo(c) || g_icmperr(c))
		return FZ_STOP;
	return not_vip(c, "ICMP, not an echo request to a VIP nor an error about a flow");
}

/* ---- flows and VIPs ---- */

static int stage_match(struct fz_ctx *c)
{
	struct fz_key k = {
		.family = c->v.family,
		.proto = c->v.proto,
		.saddr = c->v.saddr,
		.daddr = c->v.daddr,
		.sport = c->sport,
		.dport = c->dport,
	};

	c->flow = flow_find(c->st, &k);
	if (!c->flow)
		c->vip = vip_find(c->v.family, &c->v.daddr, c->dport, c->v.proto);
	if (!c->flow && !c->vip)
		return not_vip(c, "TCP/UDP of no flow and no VIP");
	return FZ_GO;
}

/* ---- rule 5: what applies to flow/VIP traffic only ---- */

static int g_l4hdr(struct fz_ctx *c)
{
	const __u8 *l4 = c->b + c->v.l4;
	__u32 avail = c->v.end - c->v.l4;

	if (c->v.proto == IPPROTO_TCP) {
		__u32 doff = l4[12] >> 4;

		if (doff < 5 || doff * 4 > avail)
			return decide(c, FZ_G_L4HDR, FZ_DROP, VEER_DROP_BAD_L4_HDR,
				      "TCP data offset < 5 or past the datagram");
		return FZ_GO;
	}
	if (!c->v.frag && fz_get16(l4 + 4) != avail)
		return decide(c, FZ_G_L4HDR, FZ_DROP, VEER_DROP_BAD_L4_HDR,
			      "UDP length != IP payload length");
	if (c->v.frag && (fz_get16(l4 + 4) < 8 || fz_get16(l4 + 4) < avail))
		return decide(c, FZ_G_L4HDR, FZ_DROP, VEER_DROP_BAD_L4_HDR,
			      "UDP length < 8 or < this first fragment's L4 bytes");
	return FZ_GO;
}

static int g_martian(struct fz_ctx *c)
{
	if (!fz_martian(c->v.family, &c->v.saddr))
		return FZ_GO;
	outcome(c, FZ_DROP, VEER_DROP_MARTIAN, FZ_OUT_ANY);
	use(c, FZ_G_MARTIAN);
	why(c, "martian source");
	return FZ_STOP;
}

static int g_frag_first(struct fz_ctx *c)
{
	/* The old rule dropped these (`fragment`); rule 9 balances them like any packet. */
	if (c->first_frag)
		use(c, FZ_G_FRAG);
	return FZ_GO;
}

static bool stack_path(const struct fz_ctx *c)
{
	const struct be_def *be = c->flow ? NULL : c->vip->be;

	return c->v.vlan || (c->flow ? c->flow->hop.kind == FZ_HOP_STACK : !be->mac);
}

static int stage_forward(struct fz_ctx *c);

static int g_ttl(struct fz_ctx *c)
{
	if (c->v.ttl > 1)
		return FZ_GO;
	/* The old rules created the flow before passing the packet. */
	if (!c->flow)
		use(c, FZ_G_TTL_STATE);
	decide(c, FZ_G_TTL, FZ_PASS, VEER_PASS_TTL, "TTL/hop limit <= 1");
	/*
	 * Handed to the stack (802.1Q, no neighbour) veer does not forward the packet itself: the
	 * rule may be read either way, the stack decrements the TTL and answers.
	 */
	if (stack_path(c))
		stage_forward(c);
	return FZ_STOP;
}

/* ---- forwarding, and rule 8 ---- */

static int g_mtu(struct fz_ctx *c, const struct fz_hop *hop, __u16 mtu, const struct fz_rw *rw,
		 bool new_flow)
{
	struct fz_outcome *o;

	/* Rule 8 holds on the stack's path too: the FIB names the interface without a neighbour. */
	if (hop->kind == FZ_HOP_UNKNOWN || c->v.vlan || c->v.end - c->v.l3 <= mtu)
		return FZ_GO;
	if (c->v.family == 4 && !c->v.df) {
		use(c, FZ_G_MTU_STACK);
		o = outcome(c, FZ_PASS, VEER_PASS_MTU_STACK, FZ_OUT_NAT);
		o->rw = *rw;
		o->new_flows = new_flow ? 1 : 0;
		why(c, "too big, IPv4 without DF: rewritten, to the stack");
		return FZ_STOP;
	}
	use(c, FZ_G_MTU_ICMP);
	o = outcome(c, FZ_TX, VEER_TX_FRAG_NEEDED, FZ_OUT_TOO_BIG);
	/* Whether the flow exists before the MTU is known is not said. */
	o->new_flows = new_flow ? -1 : 0;
	o->mtu = mtu;
	o->vip = c->flow && c->flow->dir == FZ_DIR_REPLY ? c->flow->addr : c->v.daddr;
	why(c, "too big with DF / IPv6: veer answers frag-needed / packet-too-big");
	return FZ_STOP;
}

static int stage_forward(struct fz_ctx *c)
{
	struct fz_flow tmp = {};
	const struct fz_flow *f = c->flow;
	struct fz_rw rw;

	if (!f) {
		tmp.dir = FZ_DIR_FORWARD;
		lb_addr_parse(c->vip->be->addr, &tmp.addr);
		tmp.port = c->vip->be->port;
		tmp.hop = hop_backend(c->vip->be);
		tmp.mtu = FZ_MTU;
		f = &tmp;
	}
	if (f->hop.kind == FZ_HOP_UNKNOWN && !c->v.vlan)
		return unspec(c, -1, "hop of this flow not known to the model");
	flow_rw(f, true, &rw);
	if (g_mtu(c, &f->hop, f->mtu, &rw, !c->flow))
		return FZ_STOP;
	forward(c, &f->hop, FZ_OUT_NAT, VEER_REASON_NONE, &rw, NULL, c->flow ? 0 : 1);
	why(c, "%s, %s",
	    c->flow ? (f->dir == FZ_DIR_FORWARD ? "established" : "reply") : "new flow",
	    c->e->c[0].hop ? "redirected" : "to the stack");
	return FZ_STOP;
}

/* ---- the whole model ---- */

static void model_run(struct fz_ctx *c)
{
	if (parse_l2_l3(c) || g_frag_tail(c))
		return;
	if (c->v.proto == IPPROTO_ICMP && c->v.family == 4) {
		stage_icmp(c);
		return;
	}
	if (c->v.proto == IPPROTO_ICMPV6 && c->v.family == 6) {
		stage_icmp(c);
		return;
	}
	if (c->v.proto != IPPROTO_TCP && c->v.proto != IPPROTO_UDP) {
		not_vip(c, "other protocol");
		return;
	}
	if (g_l4(c) || stage_match(c))
		return;
	/* Both hygiene faults at once: the rules give no order, either drop is right. */
	if ((g_l4hdr(c) | g_martian(c)) || g_frag_first(c))
		return;
	if (g_ttl(c)) {
		if (c->v.end - c->v.l3 > FZ_MTU)
			unspec(c, FZ_G_MTU_ICMP, "TTL <= 1 and too big: no order given");
		return;
	}
	stage_forward(c);
}

void fz_model(const struct fz_state *st, const struct pkt *p, enum side from, struct fz_expect *e)
{
	struct fz_ctx c = {.b = p->data, .len = p->len, .from = from, .st = st, .e = e};

	memset(e, 0, sizeof(*e));
	model_run(&c);
	for (int i = 0; i < e->n; i++)
		if (e->c[i].out != FZ_OUT_NAT && e->c[i].out != FZ_OUT_TOO_BIG)
			e->c[i].new_flows = 0;
}

void fz_model_apply(struct fz_state *st, const struct pkt *p, const struct fz_expect *e)
{
	struct fz_ctx c = {.b = p->data, .len = p->len, .st = st};
	struct fz_expect scratch = {};
	const struct fz_outcome *o = &e->c[0];
	struct fz_key k;

	if (e->unspec || !e->n || o->out != FZ_OUT_NAT)
		return;
	c.e = &scratch;
	if (parse_l2_l3(&c) || c.v.tail || g_l4(&c))
		return;
	memset(&k, 0, sizeof(k));
	k.family = c.v.family;
	k.proto = c.v.proto;
	k.saddr = c.v.saddr;
	k.daddr = c.v.daddr;
	k.sport = c.sport;
	k.dport = c.dport;
	if (o->new_flows == 1) {
		const struct fz_vip *v = vip_find(k.family, &k.daddr, k.dport, k.proto);

		if (v)
			fz_state_add_flow(st, &k, v);
	}
	if (c.first_frag && st->nfrags < FZ_MAX_FRAGS) {
		struct fz_frag *r = &st->frags[st->nfrags++];

		r->family = k.family;
		r->proto = c.v.frag_proto;
		r->saddr = k.saddr;
		r->daddr = k.daddr;
		r->id = c.v.frag_id;
		r->sport = k.sport;
		r->dport = k.dport;
	}
}
