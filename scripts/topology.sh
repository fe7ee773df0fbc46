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
# processes started here (by pid, and whatever still runs inside the namespaces made here).
# VIPs are routed to the veer node, which is the backends' gateway (NAT mode).
#
# Functions return non-zero on failure (with a message on stderr); none calls exit, so they
# can be used from scripts with or without `set -e` and from BATS setup_file/teardown_file.

TOPO=${TOPO:-veer$$}
VEER=${VEER:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/veer}
TOPO_BACKENDS=${TOPO_BACKENDS:-3}
TOPO_PIDS=()
TOPO_TMPDIRS=()

ns() { echo "$TOPO-$1"; }
topo_nodes() { echo client lb $(seq -f 'b%g' 1 "$TOPO_BACKENDS"); }
in_ns() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }
# veer must see the host's bpffs: nsenter switches only the network namespace.
veer_lb() { nsenter --net="/run/netns/$(ns lb)" "$VEER" "$@"; }

# topo_bg NODE CMD...: starts CMD in NODE's namespace in the background, output to
# $TOPO_BG_LOG (default /dev/null), BATS's fd 3 closed (or BATS would wait for it).
# The pid (of CMD itself: `ip netns exec` execs it) is in TOPO_BG_PID and in TOPO_PIDS, so
# topo_down ends it; callers running in a subshell (a BATS test) end it themselves.
topo_bg() {
	local n=$1; shift
	ip netns exec "$(ns "$n")" "$@" </dev/null >"${TOPO_BG_LOG:-/dev/null}" 2>&1 3>&- &
	TOPO_BG_PID=$!
	TOPO_PIDS+=("$TOPO_BG_PID")
}

topo_fail() { echo "topology $TOPO: $*" >&2; return 1; }

topo_mount_bpffs() {
	if ! stat -f -c %T /sys/fs/bpf 2>/dev/null | grep -q bpf; then
		mount -t bpf bpf /sys/fs/bpf || topo_fail "cannot mount a bpffs on /sys/fs/bpf"
	fi
}

# veth pair a (in ns A) -- b (in ns B), with the kernel's defaults (TX checksum offload on,
# GRO off), as every container has them. TOPO_OFFLOADS=off turns checksum offload off and GRO
# on at every end: what XDP redirect between veths needs (see veer(8), HOOKS); only the suite
# named for it uses that.
# topo_offloads_off NODE IF: what `--hook xdp` on a veth needs, as the README says and `veer
# attach` warns: no TX checksum offload on the sender, GRO on the receiver.
topo_offloads_off() {
	in_ns "$1" ethtool -K "$2" tx off gro on >/dev/null
}

topo_link() {
	local nsa=$1 a=$2 nsb=$3 b=$4 end
	ip link add "$a" netns "$(ns "$nsa")" type veth peer name "$b" netns "$(ns "$nsb")" ||
		return 1
	for end in "$nsa:$a" "$nsb:$b"; do
		in_ns "${end%%:*}" ip link set "${end#*:}" up || return 1
		if [ "${TOPO_OFFLOADS:-}" = off ]; then
			topo_offloads_off "${end%%:*}" "${end#*:}" || return 1
		fi
	done
}

topo_up() {
	local n i
	topo_mount_bpffs || return 1
	for n in $(topo_nodes); do
		[ ! -e "/run/netns/$(ns "$n")" ] ||
			topo_fail "namespace $(ns "$n") exists (stale run? topo_down with TOPO=$TOPO)" ||
			return 1
	done
	for n in $(topo_nodes); do
		if ! ip netns add "$(ns "$n")" || ! in_ns "$n" ip link set lo up ||
			! in_ns "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
				net.ipv6.conf.default.accept_dad=0; then
			topo_down
			topo_fail "cannot set up namespace $(ns "$n")"
			return 1
		fi
	done
	{
		in_ns lb sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 &&
			topo_link client c0 lb l0 &&
			in_ns client ip addr add 198.18.1.2/24 dev c0 &&
			in_ns client ip -6 addr add 2001:2:0:1::2/64 dev c0 nodad &&
			in_ns client ip route add default via 198.18.1.1 &&
			in_ns client ip -6 route add default via 2001:2:0:1::1 &&
			in_ns lb ip addr add 198.18.1.1/24 dev l0 &&
			in_ns lb ip -6 addr add 2001:2:0:1::1/64 dev l0 nodad
	} || { topo_down; topo_fail "cannot set up the client link"; return 1; }

	for i in $(seq 1 "$TOPO_BACKENDS"); do
		{
			topo_link lb "l$i" "b$i" "b${i}0" &&
				in_ns lb ip addr add "198.18.1$i.1/24" dev "l$i" &&
				in_ns lb ip -6 addr add "2001:2:0:1$i::1/64" dev "l$i" nodad &&
				in_ns "b$i" ip addr add "198.18.1$i.2/24" dev "b${i}0" &&
				in_ns "b$i" ip -6 addr add "2001:2:0:1$i::2/64" dev "b${i}0" nodad &&
				in_ns "b$i" ip route add default via "198.18.1$i.1" &&
				in_ns "b$i" ip -6 route add default via "2001:2:0:1$i::1"
		} || { topo_down; topo_fail "cannot set up backend b$i"; return 1; }
	done
}

# HTTP (dual stack, port 80) answering with the backend's name, and a UDP responder on 53
# answering every datagram with the backend's name.
topo_servers() {
	local dir i
	for i in $(seq 1 "$TOPO_BACKENDS"); do
		dir=$(mktemp -d) || return 1
		TOPO_TMPDIRS+=("$dir")
		echo "b$i" >"$dir/index.html"
		topo_bg "b$i" python3 -m http.server --bind :: --directory "$dir" 80
		topo_bg "b$i" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 53))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(sys.argv[1].encode() + b"\n", peer)
' "b$i"
	done
	for i in $(seq 1 "$TOPO_BACKENDS"); do
		topo_wait 10 in_ns client curl -s -o /dev/null "http://198.18.1$i.2/" ||
			topo_fail "backend b$i did not come up (HTTP)" || return 1
		topo_wait 10 topo_udp_up "$i" ||
			topo_fail "backend b$i did not come up (UDP)" || return 1
	done
}

topo_udp_up() {
	in_ns client python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
s.sendto(b"ping", (sys.argv[1], 53)); sys.exit(s.recv(64).strip() != sys.argv[2].encode())
' "198.18.1$1.2" "b$1" 2>/dev/null
}

# topo_wait SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
topo_wait() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}

# topo_attach [ARGS...]: veer attach on every interface of the veer node, with ARGS (e.g.
# --hook xdp); with none, veer chooses the hook (tc on these veths).
topo_attach() {
	local i
	veer_lb attach l0 "$@" || return 1
	for i in $(seq 1 "$TOPO_BACKENDS"); do
		veer_lb attach "l$i" "$@" || return 1
	done
}

# Detaches veer from every interface of the veer node that has it; quiet, never fails.
topo_detach() {
	local i
	[ -e "/run/netns/$(ns lb)" ] || return 0
	for i in l0 $(seq -f 'l%g' 1 "$TOPO_BACKENDS"); do
		veer_lb detach "$i" >/dev/null 2>&1 || true
	done
}

# Idempotent: safe to call twice, after a partial topo_up, or with nothing set up.
topo_down() {
	local pid n
	topo_detach
	for pid in "${TOPO_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	# Anything else still running in our namespaces (started through in_ns by a caller).
	for n in $(topo_nodes); do
		[ -e "/run/netns/$(ns "$n")" ] || continue
		for pid in $(ip netns pids "$(ns "$n")" 2>/dev/null); do
			kill "$pid" 2>/dev/null || true
		done
	done
	for pid in "${TOPO_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	TOPO_PIDS=()
	for n in $(topo_nodes); do
		ip netns del "$(ns "$n")" 2>/dev/null || true
	done
	for n in "${TOPO_TMPDIRS[@]}"; do rm -rf "$n"; done
	TOPO_TMPDIRS=()
}
