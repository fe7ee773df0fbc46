#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A load-balancer testbed in network namespaces, sourced by the demo and the e2e suites:
#
#   client (198.18.1.2, 2001:2:0:1::2)
#     | c0 -- l0
#   veer node (198.18.1.1; backend side 198.18.1N.1): veer attached to l0 and every lN
#     | lN -- bN
#   backend N = 1..3 (198.18.1N.2, 2001:2:0:1N::2), HTTP on :80 answering "bN\n", UDP on :53
#
# Everything lives in namespaces named "$TOPO-*"; topo_down removes them and ends only the
# processes started here (by pid). VIPs are routed to the veer node, which is the backends'
# gateway (NAT mode).

TOPO=${TOPO:-veer$$}
VEER=${VEER:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/veer}
TOPO_BACKENDS=${TOPO_BACKENDS:-3}
TOPO_PIDS=()

ns() { echo "$TOPO-$1"; }
in_ns() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }
# veer must see the host's bpffs: nsenter switches only the network namespace.
veer_lb() { nsenter --net="/run/netns/$(ns lb)" "$VEER" "$@"; }

topo_mount_bpffs() {
	if ! stat -f -c %T /sys/fs/bpf 2>/dev/null | grep -q bpf; then
		mount -t bpf bpf /sys/fs/bpf
	fi
}

# veth pair a (in ns A) -- b (in ns B); the receiving ends take redirected frames through
# GRO, and checksums are computed in full so that XDP's incremental updates stay valid.
topo_link() {
	local nsa=$1 a=$2 nsb=$3 b=$4
	ip link add "$a" netns "$(ns "$nsa")" type veth peer name "$b" netns "$(ns "$nsb")"
	for end in "$nsa:$a" "$nsb:$b"; do
		in_ns "${end%%:*}" ip link set "${end#*:}" up
		in_ns "${end%%:*}" ethtool -K "${end#*:}" tx off gro on >/dev/null 2>&1 || true
	done
}

topo_up() {
	topo_mount_bpffs
	for n in client lb $(seq -f 'b%g' 1 "$TOPO_BACKENDS"); do
		ip netns add "$(ns "$n")"
		in_ns "$n" ip link set lo up
		in_ns "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	in_ns lb sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

	topo_link client c0 lb l0
	in_ns client ip addr add 198.18.1.2/24 dev c0
	in_ns client ip -6 addr add 2001:2:0:1::2/64 dev c0 nodad
	in_ns client ip route add default via 198.18.1.1
	in_ns client ip -6 route add default via 2001:2:0:1::1
	in_ns lb ip addr add 198.18.1.1/24 dev l0
	in_ns lb ip -6 addr add 2001:2:0:1::1/64 dev l0 nodad

	for i in $(seq 1 "$TOPO_BACKENDS"); do
		topo_link lb "l$i" "b$i" "b${i}0"
		in_ns lb ip addr add "198.18.1$i.1/24" dev "l$i"
		in_ns lb ip -6 addr add "2001:2:0:1$i::1/64" dev "l$i" nodad
		in_ns "b$i" ip addr add "198.18.1$i.2/24" dev "b${i}0"
		in_ns "b$i" ip -6 addr add "2001:2:0:1$i::2/64" dev "b${i}0" nodad
		in_ns "b$i" ip route add default via "198.18.1$i.1"
		in_ns "b$i" ip -6 route add default via "2001:2:0:1$i::1"
	done
}

# HTTP (dual stack, port 80) answering with the backend's name, and a UDP responder on 53.
topo_servers() {
	local dir
	for i in $(seq 1 "$TOPO_BACKENDS"); do
		dir=$(mktemp -d)
		echo "b$i" >"$dir/index.html"
		in_ns "b$i" python3 -m http.server --bind :: --directory "$dir" 80 \
			>/dev/null 2>&1 &
		TOPO_PIDS+=($!)
		in_ns "b$i" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 53))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(sys.argv[1].encode() + b"\n", peer)
' "b$i" >/dev/null 2>&1 &
		TOPO_PIDS+=($!)
	done
	for i in $(seq 1 "$TOPO_BACKENDS"); do
		topo_wait 10 in_ns client curl -s -o /dev/null "http://198.18.1$i.2/" ||
			{ echo "backend b$i did not come up" >&2; return 1; }
	done
}

# topo_wait SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
topo_wait() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}

topo_attach() {
	local mode=${1:-native}
	veer_lb attach l0 --mode "$mode"
	for i in $(seq 1 "$TOPO_BACKENDS"); do veer_lb attach "l$i" --mode "$mode"; done
}

topo_down() {
	local pid n
	for pid in "${TOPO_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${TOPO_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	TOPO_PIDS=()
	for n in client lb $(seq -f 'b%g' 1 "$TOPO_BACKENDS"); do
		ip netns del "$(ns "$n")" 2>/dev/null || true
	done
}
