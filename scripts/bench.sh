#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: measures veer's data plane against baselines in one run and writes the table to
# stdout and docs/BENCHMARKS.md. Needs root, the built tree (build/veer, build/veer-bench),
# iproute2, nftables and ethtool. Everything runs in network namespaces made here
# ("vbench<pid>-*"), addresses 198.18.0.0/15 and 2001:2::/48 only; a trap removes them and veer's
# benchmark VIP.
#
#   A. per-packet cost of the data plane at both hooks, veer_lb (XDP) and veer_lb_tc (tc),
#      through BPF_PROG_RUN (repeat=1), each net of an empty program of its hook
#   B. forwarded packets per second, generator -> forwarder -> sink, for the floor (XDP MAC
#      rewrite + redirect), veer at the hook it chooses itself (tc on these veths), veer with
#      --hook xdp for comparison, and nftables DNAT (kube-proxy style)
#
# Environment: BENCH_SECONDS (measuring window per throughput run, default 3), BENCH_REPS
# (interleaved rounds of throughput runs, default 3), BENCH_ROUNDS and BENCH_CALLS (per-packet
# part, default 11 x 20000), BENCH_THREADS (generator threads, default 1), BENCH_OUT (default
# docs/BENCHMARKS.md; "-" writes nothing), BUILD (default build). About 3 minutes in all.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
VEER=$BUILD/veer
VB=$BUILD/veer-bench
OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
RUN_SECONDS=${BENCH_SECONDS:-3}
REPS=${BENCH_REPS:-3}
ROUNDS=${BENCH_ROUNDS:-11}
CALLS=${BENCH_CALLS:-20000}
THREADS=${BENCH_THREADS:-1}

# Reference figure, NOT measured by this script: a Katran build measured earlier on this VM
# (established flow, BPF_PROG_RUN repeat=1, net of an empty program).
KATRAN_EST_NS=110

P=vbench$$
NS_PR=$P-pr NS_GEN=$P-gen NS_SINK=$P-sink NS_VEER=$P-veer
VIP_ADDR=198.18.100.99 VIP_PORT=9
VIP=$VIP_ADDR:$VIP_PORT/udp
BACKENDS=(198.18.11.2 198.18.11.3 198.18.11.4)
# Part A only: an IPv6 VIP (same port and protocol) for the extension-header cases.
VIP6_ADDR=2001:2:0:100::99 CLIENT6=2001:2:0:1::2
BACKENDS6=(2001:2:0:11::2 2001:2:0:11::3 2001:2:0:11::4)
ONE_FLOW_SRC=198.18.1.2:40000
MANY_FLOW_SRC=198.19.0.0:1024 # flow i: 198.19.0.0 + (i & 0xffff), port 1024 + (i >> 16)
MANY_FLOWS=1000000

say() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
in_ns() { local n=$1; shift; ip netns exec "$n" "$@"; }
# veer must see the host's bpffs: nsenter switches only the network namespace.
veer_fwd() { nsenter --net="/run/netns/$NS_VEER" "$VEER" "$@"; }

VEER_ATTACHED=() VEER_VIP_ADDED=0
cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	if [ "$VEER_VIP_ADDED" = 1 ]; then
		veer_fwd vip del "$VIP" >/dev/null 2>&1
	fi
	for i in "${VEER_ATTACHED[@]}"; do
		veer_fwd detach "$i" >/dev/null 2>&1
	done
	for n in "$NS_PR" "$NS_GEN" "$P-floor" "$NS_VEER" "$P-nft" "$NS_SINK"; do
		[ -e "/run/netns/$n" ] && ip netns del "$n"
	done
	[ -n "${TMP:-}" ] && rm -rf "$TMP"
	[ "$rc" = 0 ] || say "failed (exit $rc); namespaces removed"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- preflight -------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "needs root (BPF_PROG_RUN, XDP, namespaces)"
for b in "$VEER" "$VB"; do [ -x "$b" ] || die "$b is missing: run make all first"; done
for t in ip nft nsenter ethtool awk; do
	command -v "$t" >/dev/null || die "$t is not installed (scripts/deps.sh installs it)"
done
if ! stat -f -c %T /sys/fs/bpf 2>/dev/null | grep -q bpf; then
	say "mounting a bpffs at /sys/fs/bpf"
	mount -t bpf bpf /sys/fs/bpf
fi
TMP=$(mktemp -d)
# Other work on this host shows up in every figure: the report gives the load around the run.
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
# A VIP left over from an interrupted run would make `vip add` fail.
if [ -e /sys/fs/bpf/veer/veer_vips ]; then
	"$VEER" vip del "$VIP" >/dev/null 2>&1 || true
fi
abi() { awk -v n="$1" '$1 == "#define" && $2 == n { print $3 }' "$ROOT/include/veer/abi.h"; }
RING_SIZE=$(abi VEER_RING_DEFAULT)
FLOWS_MAX=$(abi VEER_FLOWS4_MAX)

new_ns() {
	ip netns add "$1"
	in_ns "$1" ip link set lo up
}

# ---- A: per-packet cost through BPF_PROG_RUN ---------------------------------------------
say "A: per-packet cost, BPF_PROG_RUN repeat=1 ($ROUNDS rounds x $CALLS calls per case)"
new_ns "$NS_PR"
in_ns "$NS_PR" sysctl -qw net.ipv4.ip_forward=1
in_ns "$NS_PR" ip link add pr-in type veth peer name pr-inp
in_ns "$NS_PR" ip link add pr-out type veth peer name pr-outp
for d in pr-in pr-inp pr-out pr-outp; do in_ns "$NS_PR" ip link set "$d" up; done
# After the devices exist: all.forwarding sets every device's (the FIB lookup checks IN's).
in_ns "$NS_PR" sysctl -qw net.ipv6.conf.all.forwarding=1
in_ns "$NS_PR" ip addr add 198.18.1.1/24 dev pr-in
in_ns "$NS_PR" ip addr add 198.18.11.1/24 dev pr-out
in_ns "$NS_PR" ip -6 addr add 2001:2:0:1::1/64 dev pr-in nodad
in_ns "$NS_PR" ip -6 addr add 2001:2:0:11::1/64 dev pr-out nodad
in_ns "$NS_PR" ip neigh replace 198.18.1.2 lladdr 02:00:00:00:01:02 dev pr-in nud permanent
in_ns "$NS_PR" ip -6 neigh replace "$CLIENT6" lladdr 02:00:00:00:01:02 dev pr-in nud permanent
for i in "${!BACKENDS[@]}"; do
	in_ns "$NS_PR" ip neigh replace "${BACKENDS[$i]}" lladdr "02:00:00:00:11:0$((i + 2))" \
		dev pr-out nud permanent
done
for i in "${!BACKENDS6[@]}"; do
	in_ns "$NS_PR" ip -6 neigh replace "${BACKENDS6[$i]}" lladdr "02:00:00:00:11:1$((i + 2))" \
		dev pr-out nud permanent
done
PR_BACKENDS=()
for b in "${BACKENDS[@]}"; do PR_BACKENDS+=(--backend "$b"); done
for b in "${BACKENDS6[@]}"; do PR_BACKENDS+=(--backend6 "$b"); done
in_ns "$NS_PR" "$VB" prog-run --in pr-in --out pr-out --rounds "$ROUNDS" --calls "$CALLS" \
	--cpu $(($(nproc) - 1)) --vip "$VIP_ADDR:$VIP_PORT" --client "$ONE_FLOW_SRC" \
	--vip6 "$VIP6_ADDR" --client6 "$CLIENT6" "${PR_BACKENDS[@]}" >"$TMP/prog-run"
ip netns del "$NS_PR"

# The cases tests/bench/prog_run.c measures (its table `cases`), by hook; the report's table
# below has one row per path.
PR_CASES=(empty nonvip new est reply tc_empty tc_nonvip tc_est tc_reply
	icmp_echo icmp_error frag_tail tc_icmp_echo tc_icmp_error tc_frag_tail
	est_ipopt est6 est6_hbh tc_est_ipopt tc_est6 tc_est6_hbh
	empty_big frag_needed icmp_limit tc_empty_big tc_frag_needed tc_icmp_limit empty2 new_full)
declare -A KERN NET RANGE
while read -r _ name kern _ net _ range _; do
	[ "$name" = params ] && continue
	KERN[$name]=${kern#kern_ns=}
	NET[$name]=${net#net_ns=}
	RANGE[$name]=${range#kern_range=}
done <"$TMP/prog-run"
for c in "${PR_CASES[@]}"; do
	[ -n "${KERN[$c]:-}" ] || die "prog-run printed no figure for $c"
	say "  $c: ${KERN[$c]} ns/call, ${NET[$c]} ns net of the empty program"
done

# ---- B: forwarded packets per second -----------------------------------------------------
# One forwarder namespace per forwarder, all set up at once, so the runs can interleave:
#   $P-gen: g-NAME --- in0 [$P-NAME] out0 --- s-NAME :$P-sink      NAME = floor, veer, nft
# veer's two runs (its own choice of hook, and --hook xdp) share $P-veer, re-attached between
# them: the connection table is shared by every copy of veer and caches each flow's egress
# interface and MACs, which must be those of the namespace that forwards it.
say "B: throughput topology: generator -> {floor, veer, nftables} -> sink"
NSFWDS=(floor veer nft)
FWDS=(floor veer veerxdp nft)
fwd_ns() { if [ "$1" = veerxdp ]; then echo veer; else echo "$1"; fi; }
new_ns "$NS_GEN"
new_ns "$NS_SINK"
for f in "${NSFWDS[@]}"; do
	ns=$P-$f
	new_ns "$ns"
	ip link add "g-$f" netns "$NS_GEN" type veth peer name in0 netns "$ns"
	ip link add out0 netns "$ns" type veth peer name "s-$f" netns "$NS_SINK"
	in_ns "$NS_GEN" ip link set "g-$f" up
	in_ns "$NS_SINK" ip link set "s-$f" up
	in_ns "$ns" ip link set in0 up
	in_ns "$ns" ip link set out0 up
	in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1
	in_ns "$ns" ip addr add 198.18.1.1/24 dev in0
	in_ns "$ns" ip addr add 198.18.11.1/24 dev out0
	gen_mac=$(in_ns "$NS_GEN" cat "/sys/class/net/g-$f/address")
	sink_mac=$(in_ns "$NS_SINK" cat "/sys/class/net/s-$f/address")
	# The backends all live behind the sink, which drops everything: no ARP is ever answered.
	for b in "${BACKENDS[@]}"; do
		in_ns "$ns" ip neigh replace "$b" lladdr "$sink_mac" dev out0 nud permanent
	done
	in_ns "$ns" ip neigh replace 198.18.1.2 lladdr "$gen_mac" dev in0 nud permanent
	in_ns "$ns" ip route add 198.19.0.0/16 via 198.18.1.2 dev in0
done

# veer_use auto|xdp: veer on in0 and out0 at the hook it chooses, or at XDP (re-attached only
# when the hook changes). The XDP attach's warning about virtual interfaces is kept for the
# report.
VEER_HOOK_NOW=
veer_use() {
	local i
	[ "$VEER_HOOK_NOW" = "$1" ] && return 0
	for i in "${VEER_ATTACHED[@]}"; do veer_fwd detach "$i" >/dev/null; done
	VEER_ATTACHED=()
	for i in in0 out0; do
		veer_fwd attach "$i" --hook "$1" >/dev/null 2>>"$TMP/attach-$1.err" ||
			die "veer attach $i --hook $1: $(cat "$TMP/attach-$1.err")"
		VEER_ATTACHED+=("$i")
	done
	VEER_HOOK_NOW=$1
}
veer_hooks() { # the hooks veer is attached at on in0 and out0, from veer -j status
	veer_fwd -j status | python3 -c 'import json, sys
print(" ".join(sorted({i["hook"] for i in json.load(sys.stdin)["interfaces"]})))'
}

say "  veer: attach in0 out0 (veer chooses the hook), vip add $VIP, ${#BACKENDS[@]} backends"
veer_use auto
VEER_AUTO_HOOK=$(veer_hooks)
say "  veer chose: $VEER_AUTO_HOOK"
veer_fwd vip add "$VIP" >/dev/null
VEER_VIP_ADDED=1
for b in "${BACKENDS[@]}"; do veer_fwd backend add "$VIP" "$b" >/dev/null; done

say "  nftables: DNAT, numgen random mod ${#BACKENDS[@]} (kube-proxy nftables style)"
{
	echo "table ip vbench {"
	echo "	map service-ips {"
	echo "		type ipv4_addr . inet_proto . inet_service : verdict"
	echo "		elements = { $VIP_ADDR . udp . $VIP_PORT : goto svc }"
	echo "	}"
	echo "	chain pre {"
	echo "		type nat hook prerouting priority dstnat; policy accept;"
	echo "		ip daddr . meta l4proto . th dport vmap @service-ips"
	echo "	}"
	echo "	chain svc {"
	echo -n "		numgen random mod ${#BACKENDS[@]} vmap {"
	for i in "${!BACKENDS[@]}"; do
		[ "$i" = 0 ] || echo -n ","
		echo -n " $i : goto ep$i"
	done
	echo " }"
	echo "	}"
	for i in "${!BACKENDS[@]}"; do
		echo "	chain ep$i {"
		echo "		meta l4proto udp dnat to ${BACKENDS[$i]}:$VIP_PORT"
		echo "	}"
	done
	echo "}"
} >"$TMP/nft"
in_ns "$P-nft" nft -f "$TMP/nft"

declare -A PPS SENT
# live FORWARDER FLOWS: one run; appends to PPS[FORWARDER/FLOWS] and SENT[...]
live() {
	local f=$1 flows=$2 src=$ONE_FLOW_SRC line pps sent extra=() n
	n=$(fwd_ns "$f")
	[ "$flows" = 1 ] || src=$MANY_FLOW_SRC
	[ "$f" = floor ] && extra=(--floor)
	[ "$f" = veer ] && veer_use auto
	[ "$f" = veerxdp ] && veer_use xdp
	line=$("$VB" live --gen "$NS_GEN:g-$n" --fwd "$P-$n:in0:out0" --sink "$NS_SINK:s-$n" \
		--flows "$flows" --seconds "$RUN_SECONDS" --threads "$THREADS" --src "$src" \
		--dst "$VIP_ADDR:$VIP_PORT" "${extra[@]}")
	echo "$f $line" >>"$TMP/live"
	pps=$(sed -n 's/.* pps=\([0-9.]*\).*/\1/p' <<<"$line")
	sent=$(sed -n 's/.* sent_pps=\([0-9.]*\).*/\1/p' <<<"$line")
	[ -n "$pps" ] && [ -n "$sent" ] || die "no figure from: $line"
	[ "${sent%.*}" -gt 0 ] || die "the generator sent nothing ($f, $flows flows)"
	[ "${pps%.*}" -gt 0 ] || die "the sink received nothing through $f ($flows flows): $line"
	PPS[$f/$flows]+="$pps "
	SENT[$f/$flows]+="$sent "
	say "  $(printf '%-8s %7s flow(s): %6s Mpps forwarded, %6s Mpps sent' "$f" "$flows" \
		"$(mpps "$pps")" "$(mpps "$sent")")"
}
mpps() { awk -v p="$1" 'BEGIN { printf "%.2f", p / 1e6 }'; }
nsper() { awk -v p="$1" 'BEGIN { printf "%.0f", 1e9 / p }'; }
nsdiff() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", 1e9 / a - 1e9 / b }'; }
median() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '{ v[NR] = $1 }
	END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '{ v[NR] = $1 }
	END { printf "%.2f-%.2f", v[1] / 1e6, v[NR] / 1e6 }'; }

for rep in $(seq 1 "$REPS"); do
	say "B$rep: round $rep of $REPS, ${RUN_SECONDS}s per run after a 0.5s warm-up"
	for f in "${FWDS[@]}"; do
		for flows in 1 "$MANY_FLOWS"; do live "$f" "$flows"; done
	done
done

# The benchmark VIP's block of `veer stats`, and the drop/pass reasons (shared by every copy of
# the program on this host).
veer_fwd stats 2>&1 | awk -v vip="$VIP" '$1 == vip { p = 1; print; next } /^[^ ]/ { p = 0 }
	p || /^(dropped|passed)[:,]/' >"$TMP/veer-stats" || true
CT_COUNT=$(in_ns "$P-nft" cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo "?")
CT_MAX=$(cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null || echo "?")
say "removing the benchmark VIP (this sweeps its flows from the connection table)"
veer_fwd vip del "$VIP" >/dev/null
VEER_VIP_ADDED=0
for i in "${VEER_ATTACHED[@]}"; do veer_fwd detach "$i" >/dev/null; done
VEER_ATTACHED=()

# ---- report ----------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
verdict_le() { if le "$1" "$2"; then echo met; else echo "NOT met"; fi; }
verdict_ge() { if le "$2" "$1"; then echo met; else echo "NOT met"; fi; }

declare -A MED MEDSENT
for f in "${FWDS[@]}"; do
	for flows in 1 "$MANY_FLOWS"; do
		MED[$f/$flows]=$(median "${PPS[$f/$flows]}")
		MEDSENT[$f/$flows]=$(median "${SENT[$f/$flows]}")
	done
done
F1=${MED[floor/1]} FM=${MED[floor/$MANY_FLOWS]}
V1=${MED[veer/1]} VM=${MED[veer/$MANY_FLOWS]}
X1=${MED[veerxdp/1]} XM=${MED[veerxdp/$MANY_FLOWS]}
N1=${MED[nft/1]} NM=${MED[nft/$MANY_FLOWS]}
EST=${NET[est]}
if le 0.8 "$(ratio "$X1" "$F1")"; then
	FLOOR_NOTE="and veer at XDP stayed within that with one flow in this run."
else
	FLOOR_NOTE="which veer at XDP did not stay within with one flow in this run."
fi
XDP_WARNING=$(grep -m1 warning "$TMP/attach-xdp.err" 2>/dev/null || echo "(none printed)")

row() { # row LABEL NAME
	local f=$2 a=${MED[$2/1]} b=${MED[$2/$MANY_FLOWS]}
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" \
		"$(mpps "$a") ($(range "${PPS[$f/1]}"))" "$(ratio "$a" "$F1")" \
		"$(mpps "$b") ($(range "${PPS[$f/$MANY_FLOWS]}"))" "$(ratio "$b" "$FM")" \
		"$(mpps "${MEDSENT[$f/1]}") / $(mpps "${MEDSENT[$f/$MANY_FLOWS]}")" \
		"$(ratio "$a" "${MEDSENT[$f/1]}") / $(ratio "$b" "${MEDSENT[$f/$MANY_FLOWS]}")"
}

minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a - b }'; }
minus1() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a - b }'; }
# delta A B: "D ns" for case A minus case B (same base), and whether the difference exceeds the
# spread of both cases over the rounds (max - min of their kernel-reported means).
delta() {
	awk -v a="${KERN[$1]}" -v b="${KERN[$2]}" -v ra="${RANGE[$1]}" -v rb="${RANGE[$2]}" 'BEGIN {
		split(ra, x, "-"); split(rb, y, "-")
		d = a - b; w = x[2] - x[1]; if (y[2] - y[1] > w) w = y[2] - y[1]
		printf "%.1f ns", d
		if ((d < 0 ? -d : d) <= w) printf " (within the spread of the rounds, %.1f ns: not resolved)", w
	}'
}

prrow() { # prrow LABEL XDP_CASE [TC_CASE]: one path at both hooks (or XDP only)
	local x=$2 t=${3:-}
	if [ -n "$t" ]; then
		printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "${KERN[$x]}" "${NET[$x]}" \
			"${KERN[$t]}" "${NET[$t]}" "$(ratio "${NET[$t]}" "${NET[$x]}")"
	else
		printf '| %s | %s | %s | - | - | - |\n' "$1" "${KERN[$x]}" "${NET[$x]}"
	fi
}

report() {
	cat <<EOF
# veer benchmarks

Produced by \`make bench\` (scripts/bench.sh with build/veer-bench from tests/bench/*.c and the
test programs tests/bpf/bench_*.bpf.c) on $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r),
$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)),
commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown).
This is a small shared VM: absolute figures move from run to run, more when other work runs
(load average $LOAD_START at the start of this run, $LOAD_END at the end), so every figure is
compared with a baseline measured **in the same run**: read the ratios.

## A. Per-packet cost (BPF_PROG_RUN), both hooks

veer's data plane is one body built for two hooks: \`veer_lb\` at XDP (what \`veer attach\`
takes on a NIC) and \`veer_lb_tc\` at the tc ingress hook (what it takes on a veth or any
other virtual interface). Both are loaded from the skeleton with private maps (pinning turned
off on every map: the live state in /sys/fs/bpf/veer is not touched), sharing them as they do
when attached, holding one UDP VIP on IPv4 and one on IPv6 (the same port), ${#BACKENDS[@]} backends
each and $RING_SIZE-slot Maglev tables, and run
by \`bpf_prog_test_run_opts\` with \`repeat=1\`: one call per packet, because the program
rewrites the packet and \`repeat=N\` would run it over its own output. XDP calls pass a
\`struct xdp_md\` with \`ingress_ifindex\`; tc calls a \`struct __sk_buff\` with \`ifindex\`, on
whose device the runner builds the skb. Per case: $ROUNDS rounds of $CALLS calls after a warm-up
round, cases interleaved within a round; the figure is the median over rounds of the mean
kernel-reported duration per call. "Net" subtracts the empty program of the same hook
(\`return XDP_PASS\` / \`return TC_ACT_OK\`) measured the same way in the same run. The calls run
in a private network namespace with veth interfaces, IPv4 and IPv6 forwarding on and permanent
neighbour entries, so the FIB lookup of a new flow succeeds; every call's verdict is checked
(XDP_REDIRECT / TC_ACT_REDIRECT when forwarded, XDP_TX / TC_ACT_REDIRECT to IN when answered,
XDP_DROP / TC_ACT_SHOT when refused, XDP_PASS / TC_ACT_OK for the others).
The established flows (IPv4 and IPv6) are created once and then used by both hooks. A new-flow
call has a source address and port of its own. The last case runs after the connection table
($FLOWS_MAX entries) has been filled, against an empty program measured in that phase.
\`BPF_PROG_RUN\` copies the input into a fresh buffer on every call (the runner asks for no
output back): every call starts from the original bytes, also where the program rewrites the
packet in place (NAT, the echo request turned into its reply).

| case | XDP ns per call | XDP net ns | tc ns per call | tc net ns | tc / XDP (net) |
|---|---:|---:|---:|---:|---:|
| empty program (baseline) | ${KERN[empty]} | 0 | ${KERN[tc_empty]} | 0 | |
$(prrow "non-VIP packet, passed to the stack" nonvip tc_nonvip)
$(prrow "**established flow, forward NAT + redirect**" est tc_est)
$(prrow "reply, reverse NAT + redirect" reply tc_reply)
$(prrow "ICMP echo request to the VIP's address, answered" icmp_echo tc_icmp_echo)
$(prrow "ICMP error (frag-needed) quoting a forwarded packet: rewritten, forwarded" icmp_error tc_icmp_error)
$(prrow "non-first fragment of a balanced datagram, forwarded (\`fragment_fwd\`)" frag_tail tc_frag_tail)
$(prrow "established flow, 4 bytes of IPv4 options" est_ipopt tc_est_ipopt)
$(prrow "established IPv6 flow, forward NAT + redirect" est6 tc_est6)
$(prrow "established IPv6 flow behind one hop-by-hop header" est6_hbh tc_est6_hbh)
$(prrow "new flow (Maglev pick, FIB lookup, 2 flow entries)" new)
$(prrow "new flow, connection table full (every insert evicts)" new_full)
| empty program, 1600-byte frame (baseline of the next two) | ${KERN[empty_big]} | 0 | ${KERN[tc_empty_big]} | 0 | |
$(prrow "too big (1586 bytes, DF): fragmentation-needed sent back" frag_needed tc_frag_needed)
$(prrow "too big, over the source's ICMP rate: dropped" icmp_limit tc_icmp_limit)

- Target, established-flow NAT forwarding at most 60 ns net (XDP, the NIC path):
  **$(verdict_le "$EST" 60)** (${EST} ns).
- At tc the same established packet costs ${NET[tc_est]} ns net, $(ratio "${NET[tc_est]}" "$EST")x XDP. The two programs
  share their logic and differ where the hook does: at tc the context is an skb. The runner
  builds it without checksum state (CHECKSUM_NONE), so the L4 checksum is written in place as
  at XDP; an skb whose checksum is complete (CHECKSUM_COMPLETE, from a NIC) is updated through
  \`bpf_l4_csum_replace\` instead, a path this run does not measure. The new-flow path is
  measured at XDP only: its work (Maglev pick, FIB lookup, two inserts) is the same code at
  either hook.
- Reference, **not measured in this run**: a Katran build measured earlier on this VM costs
  about ${KATRAN_EST_NS} ns net for its established-flow path. veer's established XDP path in this
  run is $(ratio "$EST" "$KATRAN_EST_NS")x that reference figure.
- The too-big cases send the established flow's packet grown to 1600 bytes with DF (OUT's MTU
  is 1500): veer answers it with fragmentation-needed out of the interface it came in on
  (XDP_TX / redirect to IN). The refused case comes from a second client whose rate-limit
  bucket is kept empty. Both are net of an empty program over a frame of the same size.
- ICMP and fragments (data-plane rules 6, 7, 9), each net of the 60-byte empty program:
  - echo: an ICMP echo request (60-byte frame) from the client to the VIP's address, found in
    \`veer_vip_addrs\` and turned into its reply in place (XDP_TX / redirect to IN);
  - error: a fragmentation-needed (3/4, next-hop MTU 1400; 88-byte frame) from a router
    between veer and the backend (198.18.11.254) to the client, arriving on OUT, quoting the
    whole 46-byte client->backend datagram as veer forwarded it: the flow's reply entry is
    found from the quote, the inner destination and port become the VIP's, the inner IPv4 and
    UDP checksums, the outer TTL and header checksum and the ICMP checksum are updated, and it
    is redirected to IN with the reply entry's MACs. The flow's first reply is sent once
    before the rounds, so that the reply entry has its next hop;
  - fragment: the second and last 24-byte fragment (60-byte frame) of a 48-byte UDP datagram
    of the established flow: its datagram's record in \`veer_frags\` gives the ports, the
    flow its backend, and its destination is rewritten and it is redirected. The first
    fragment is sent once before each round's calls, not timed, so that the record exists
    (and stays younger than its 60 s timeout).
- Header checks. Every IPv4 packet's 20-byte header checksum, the IPv6 next-header test and
  rule 5's checks on packets of a flow (martian source, TCP/UDP header lengths, TTL) are part
  of every figure above: this run does not separate them (that needs a build without them).
  What it does separate is what options and extension headers add, next to the same flow's
  plain packet (differences of medians; each case's range over the rounds, \`kern_range\`,
  is in the raw output below):
  - IPv4 options (a 4-byte Router Alert, copied out with the load-bytes helper and summed),
    net ${NET[est_ipopt]} vs ${NET[est]} ns at XDP: $(delta est_ipopt est);
    ${NET[tc_est_ipopt]} vs ${NET[tc_est]} ns at tc: $(delta tc_est_ipopt tc_est);
  - one hop-by-hop header (8 bytes, PadN) in front of UDP, walked by the extension-header loop,
    net ${NET[est6_hbh]} vs ${NET[est6]} ns at XDP: $(delta est6_hbh est6);
    ${NET[tc_est6_hbh]} vs ${NET[tc_est6]} ns at tc: $(delta tc_est6_hbh tc_est6).
  The IPv6 frames are 72 and 80 bytes, the ICMP error 88, the rest 60, all net of the 60-byte
  empty program. For what a frame's size does to the baseline: the empty program costs
  ${KERN[empty]} ns at 60 bytes and ${KERN[empty_big]} ns at 1600 at XDP, ${KERN[tc_empty]} and ${KERN[tc_empty_big]} ns at tc.

## B. Forwarded packets per second (veth topology)

\`\`\`
generator ns  g-NAME ---- in0  forwarder ns NAME  out0 ---- s-NAME  sink ns
\`\`\`

- The generator is an XDP program run by \`BPF_PROG_RUN\` with \`BPF_F_TEST_XDP_LIVE_FRAMES\`,
  ingress \`g-NAME\`: every run writes a whole Ethernet/IPv4/UDP header template (60-byte
  frames, full checksums) and returns XDP_TX, which sends the frame out of \`g-NAME\`. For the
  1M-flow runs the source address and port come from a counter (65536 addresses x 16 ports,
  in turn).
- **What the generator needs at the forwarder**: its frames are XDP frames, and a veth hands an
  XDP frame only to a peer that runs XDP; otherwise \`in0\` drops it before tc or netfilter
  could see it. So where the forwarder is not an XDP program (veer at tc, nftables), \`veer-bench
  live\` attaches an empty XDP program (XDP_PASS) to \`in0\` for the run: the stand-in for a
  wire, turning each frame into an skb as a NIC's driver would. No kernel setting of any
  forwarder is changed: offloads, GRO and sysctls other than forwarding keep their defaults, and
  \`veer attach\` chooses the hook.
- The sink's XDP program counts and drops. pps = frames the sink counted in a ${RUN_SECONDS} s
  window (after a 0.5 s warm-up) / the window; "sent" is what the generator transmitted in the
  same window ("delivered" = forwarded / sent).
- $THREADS generator thread(s), pinned from the last CPU down. The forwarder's and the sink's
  veth NAPI run on the CPU that sends, so with one thread each figure is one CPU's worth of
  generator + forwarder + sink: the forwarders differ only in their own part of that budget.
- Every forwarder has its own namespace (veer's two runs share one, re-attached between
  them), all set up at once; the runs interleave (floor, veer, veer --hook xdp, nftables; 1
  flow, then 1M flows) for $REPS rounds. Table: median over the rounds (min-max in brackets).

Forwarders:
- **floor**: a bare XDP program on \`in0\` that rewrites both MACs and \`bpf_redirect\`s to \`out0\`.
- **veer**: \`veer attach in0\`, \`veer attach out0\` with no \`--hook\` (through the CLI with
  nsenter): veer chose **${VEER_AUTO_HOOK}** (a veth has no bus device: a virtual interface).
  \`veer vip add $VIP\`, \`veer backend add\` ${BACKENDS[*]}; NAT mode; the backends' neighbour
  entries are permanent and point at the sink. At tc, every frame becomes an skb on \`in0\`
  and veer's redirect sends that skb out of \`out0\`, as nftables' path does.
- **veer --hook xdp**, for comparison: the same, attached with \`--hook xdp\`. It works here only
  because the generator writes full checksums and the sink runs XDP; \`veer attach\` warned:
  "${XDP_WARNING#veer: }"
- **nftables**: the kernel forwarding path with a kube-proxy-style nftables DNAT
  (\`ip daddr . meta l4proto . th dport vmap\` -> \`numgen random mod ${#BACKENDS[@]} vmap\` ->
  \`dnat to\`); conntrack limit $CT_MAX (the host's default).

| forwarder | 1 flow, Mpps | vs floor | 1M flows, Mpps | vs floor | sent Mpps (1 / 1M) | delivered (1 / 1M) |
|---|---:|---:|---:|---:|---:|---:|
$(row "floor (XDP MAC rewrite + redirect)" floor)
$(row "**veer** (NAT, its own choice: ${VEER_AUTO_HOOK})" veer)
$(row "veer --hook xdp (NAT)" veerxdp)
$(row "nftables DNAT (numgen)" nft)

- veer (${VEER_AUTO_HOOK}) vs nftables: **$(ratio "$V1" "$N1")x** with 1 flow, **$(ratio "$VM" "$NM")x** with 1M flows.
- veer at tc vs at XDP: $(ratio "$V1" "$X1")x with 1 flow, $(ratio "$VM" "$XM")x with 1M flows.
- Target veer >= 0.8x floor, for veer at XDP (the NIC path; the floor is an XDP program):
  1 flow **$(verdict_ge "$(ratio "$X1" "$F1")" 0.8)** ($(ratio "$X1" "$F1")x),
  1M flows **$(verdict_ge "$(ratio "$XM" "$FM")" 0.8)** ($(ratio "$XM" "$FM")x).
  veer at its own choice of hook here: $(ratio "$V1" "$F1")x and $(ratio "$VM" "$FM")x.
- Earlier measurements on this VM with a different harness, for orientation only: floor
  about 8 Mpps; nftables about 1.7 Mpps (1 flow) and 0.3 Mpps (1M flows).

## What the figures say

- Established flows cost one connection-table lookup, the NAT rewrite and the redirect:
  ${NET[est]} ns net at XDP, ${NET[tc_est]} ns at tc (A). In B one CPU spends $(nsper "$F1") ns per
  packet on generator + floor + sink and $(nsper "$X1") ns on generator + veer at XDP + sink: veer
  costs $(nsdiff "$X1" "$F1") ns more than the floor per packet (A's XDP figure: ${NET[est]} ns). Reaching
  0.8x the floor leaves veer $(awk -v f="$F1" 'BEGIN { printf "%.0f", 1e9 / f * 0.25 }') ns more than the floor's MAC rewrite,
  $FLOOR_NOTE
- With veer at tc (its choice on veths) one CPU spends $(nsper "$V1") ns per packet: $(nsdiff "$V1" "$X1") ns more
  than at XDP. A accounts for $(minus "${NET[tc_est]}" "$EST") ns of that (the tc program's own extra cost); the rest
  is the skb the tc path builds for every frame on \`in0\`, runs through the receive path and
  sends out of \`out0\`, which the XDP path never allocates. nftables pays that skb too, plus
  routing, netfilter and conntrack: $(nsper "$N1") ns.
- New flows cost ${NET[new]} ns net with room in the connection table and ${NET[new_full]} ns
  when it is full: the two inserts into the LRU connection table (forward and reply entry)
  dominate, the FIB lookup does not (a profile taken while writing this benchmark:
  \`bpf_lru_pop_free\`, \`htab_lru_map_update_elem\` and the bucket walk
  \`lookup_nulls_elem_raw\` take most of the program's time; \`fib_table_lookup\` under 1%).
- With 1M flows every packet is an established flow (\`veer stats\` below: new flows are the
  million of the first round, not the packets) but its lookup goes to memory: the IPv4 table
  holds $FLOWS_MAX entries, its bucket array and elements are spread over hundreds of MiB of
  4 KiB pages, and in this VM each cache and TLB miss is a nested page walk. A profile taken
  while writing this benchmark put about half of the CPU in \`lookup_nulls_elem_raw\`, the
  first touch of the bucket and the element. The floor keeps no state and pays none of it; nftables pays it and more.
- nftables: conntrack entries after the runs: $CT_COUNT (limit $CT_MAX).
- The veer runs use the host's pinned state in /sys/fs/bpf/veer through the CLI; the
  benchmark VIP is removed at the end, which also sweeps its flows from the connection table.

\`veer stats\` after the veer runs, for the benchmark VIP (the reason counters are the host's,
shared with any other user of /sys/fs/bpf/veer):

\`\`\`
$(cat "$TMP/veer-stats")
\`\`\`

Raw output of this run:

\`\`\`
$(cat "$TMP/prog-run" "$TMP/live")
\`\`\`
EOF
}

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
report >"$TMP/report.md"
echo
cat "$TMP/report.md"
if [ "$OUT" != - ]; then
	mkdir -p "$(dirname "$OUT")"
	cp "$TMP/report.md" "$OUT"
	say "wrote $OUT"
fi
