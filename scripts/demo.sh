#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# veer in action: a client, a veer node and three HTTP backends in network namespaces. Real
# HTTP requests go to a VIP; we show how veer spreads them, how weights shift the shares, how
# a drained backend stops taking new connections, what `veer stats` counted, and direct server
# return: backends that take their requests encapsulated and answer the clients themselves.
# Needs root and a built build/veer (`make demo` does both). Leaves nothing behind.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
TOPO=${TOPO:-veerdemo$$}
# A pin directory of the demo's own, removed at the end: a veer already serving on this host
# is never touched, and nothing stays pinned. VEER_PIN_DIR, when set, is used (and kept).
DEMO_PINS=
if [ -z "${VEER_PIN_DIR:-}" ]; then
	DEMO_PINS=/sys/fs/bpf/veer-demo$$
	export VEER_PIN_DIR=$DEMO_PINS
fi
source scripts/topology.sh

VIP=${VIP:-198.18.100.10:80/tcp}
HOST=${VIP%:*}
URL="http://$HOST/"
N=${N:-300}
BACKENDS=(198.18.11.2 198.18.12.2 198.18.13.2)
DSR_VIP=${DSR_VIP:-198.18.100.11:80/tcp}
DSR_HOST=${DSR_VIP%:*}

if [ -t 1 ]; then B=$'\e[1m' D=$'\e[2m' R=$'\e[0m'; else B='' D='' R=''; fi
step() { printf '\n%s== %s ==%s\n' "$B" "$*" "$R"; }
show() { printf '%s$ veer %s%s\n' "$D" "$*" "$R"; veer_lb "$@"; }
die() { echo "demo: $*" >&2; exit 1; }

added_vip=
added_dsr=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	echo
	echo "cleaning up"
	[ -z "$added_vip" ] || veer_lb vip del "$VIP" 2>/dev/null
	[ -z "$added_dsr" ] || veer_lb vip del "$DSR_VIP" 2>/dev/null
	topo_down
	[ -z "$DEMO_PINS" ] || rm -rf "$DEMO_PINS" "$DEMO_PINS"-b[123]
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "needs root (BPF, network namespaces)"
[ -x "$VEER" ] || die "$VEER is missing: run make build/veer (or make demo)"

# requests N: N HTTP GETs from the client, one TCP connection each; one answer per line.
requests() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	in_ns client bash -c 'for ((i = 0; i < $1; i++)); do curl -s -f -m 2 "$2" || echo failed; done' \
		- "$1" "$URL"
}

# table TITLE: reads answers on stdin, prints backend / answers / share with a bar.
table() {
	awk -v title="$1" '
		{ n[$1]++; total++ }
		END {
			printf "%s (%d requests)\n", title, total
			printf "  %-8s %8s %7s\n", "backend", "answers", "share"
			for (b = 1; b <= 3; b++) {
				k = "b" b; c = n[k] + 0
				bar = ""; for (i = 0; i < int(c * 40 / total + 0.5); i++) bar = bar "#"
				printf "  %-8s %8d %6.1f%%  %s\n", k, c, 100 * c / total, bar
			}
			if (n["failed"]) printf "  %-8s %8d\n", "failed", n["failed"]
		}'
}

# explain_hooks: which hook veer took on each interface (from `veer -j status`) and why.
explain_hooks() {
	local iface hook bus driver csum kind
	echo
	while read -r iface hook; do
		driver=$(in_ns lb ethtool -i "$iface" | awk '$1 == "driver:" { print $2 }')
		bus=$(in_ns lb ethtool -i "$iface" | awk '$1 == "bus-info:" { print $2 }')
		csum=$(in_ns lb ethtool -k "$iface" | awk '$1 == "tx-checksumming:" { print $2 }')
		kind="no bus device (a virtual interface)"
		[ -z "$bus" ] || kind="bus device $bus (a NIC)"
		printf '%s: %s, driver %s, %s, TX checksum offload %s\n' "$iface" "$hook" "$driver" \
			"$kind" "$csum"
	done < <(veer_lb -j status | python3 -c '
import json, sys
for i in json.load(sys.stdin)["interfaces"]:
    print(i["interface"], i["hook"])')
	cat <<-EOF
	why: veer attach takes XDP on an interface with a bus device (a NIC: its frames carry
	full checksums) and the tc ingress hook on a virtual one. A local sender's packet on a veth
	(every container, checksum offload on by default) carries a partial checksum that only its
	skb knows: an XDP frame loses it and a redirected packet would arrive with a bad checksum,
	and a veth drops XDP-redirected frames unless its peer runs XDP or GRO. At tc the skb keeps
	that state. --hook xdp overrides the choice (veer(8), HOOKS).
	EOF
}

start=$SECONDS
step "testbed: client -> veer node -> backends b1 b2 b3 (namespaces $TOPO-*)"
topo_up || die "cannot build the testbed"
topo_servers || die "the backends' servers did not start"
echo "client 198.18.1.2; backends ${BACKENDS[*]} each run an HTTP server answering its name"

step "attach veer to the veer node's interfaces; veer chooses the hook"
topo_attach || die "cannot attach veer"
show status
explain_hooks

step "VIP $VIP over three backends of equal weight"
if veer_lb vip list | grep -q "^$VIP "; then
	die "VIP $VIP exists already (another demo running?); try VIP=198.18.100.98:80/tcp"
fi
show vip add "$VIP" || die "cannot add the VIP"
added_vip=1
for be in "${BACKENDS[@]}"; do
	show backend add "$VIP" "$be" || die "cannot add backend $be"
done
requests "$N" | table "GET $URL, each request a new TCP connection"

step "weights 2:1:1: b1 gets weight 200"
show backend set "$VIP" 198.18.11.2 --weight 200
show backend list "$VIP"
requests "$N" | table "with weights 200:100:100"

step "drain b3 (weight 0): new connections avoid it, established ones would stay"
show backend set "$VIP" 198.18.13.2 --weight 0
requests "$N" | table "with b3 drained"

step "what veer counted"
show stats
echo
printf '%sconnection table (first 4 of %s entries):%s\n' "$D" "$(veer_lb -j flows | grep -c '"state"')" "$R"
veer_lb flows | head -4

# veer_b I ARGS...: veer on backend bI, with a pin directory of the backend's own (a backend
# host has decap's two maps, no load balancer).
veer_b() {
	local i=$1
	shift
	nsenter --net="/run/netns/$(ns "b$i")" env VEER_PIN_DIR="$VEER_PIN_DIR-b$i" "$VEER" "$@"
}

step "direct server return: $DSR_VIP in dsr-ipip mode"
echo "each backend: the VIP on lo, ARP for it neither answered nor announced, veer decap on its link"
for i in 1 2 3; do
	in_ns "b$i" ip addr add "$DSR_HOST/32" dev lo &&
		in_ns "b$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 &&
		mkdir -p "$VEER_PIN_DIR-b$i" && veer_b "$i" decap attach "b${i}0" &&
		veer_b "$i" decap vip add "$DSR_HOST" >/dev/null || die "cannot set up backend b$i for DSR"
done
printf '%s$ veer decap check  (on b1)%s\n' "$D" "$R"
veer_b 1 decap check
show vip add "$DSR_VIP" --mode dsr-ipip || die "cannot add the DSR VIP"
added_dsr=1
for be in "${BACKENDS[@]}"; do
	veer_lb backend add "$DSR_VIP" "$be" || die "cannot add backend $be"
done
URL="http://$DSR_HOST/" requests "$N" | table "GET http://$DSR_HOST/: requests encapsulated to the backends"
veer_lb -j stats | python3 -c '
import json, sys
d = json.load(sys.stdin)
v = next(v for v in d["vips"] if v["vip"] == sys.argv[1])
print("veer saw %d packets to the VIP (dsr_ipip %d) and %d replies: the backends answer the"
      " client from the VIP by their own routes" % (v["packets"], d["reasons"]["dsr_ipip"],
                                                   v["reply_packets"]))' "$DSR_VIP"
printf '%s$ veer decap stats  (on b1)%s\n' "$D" "$R"
veer_b 1 decap stats

step "remove the VIPs and detach"
show vip del "$VIP" && added_vip=
show vip del "$DSR_VIP" && added_dsr=
topo_detach
echo "done in $((SECONDS - start)) s"
