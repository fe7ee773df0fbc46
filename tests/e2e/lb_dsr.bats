#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Direct server return with real servers and the kernel's default offloads (veer at tc).
#
# The veer node sees the client -> VIP direction only. Each backend holds the VIPs on its `lo`,
# runs veer's decapsulation (veer decap) on its link to the veer node, and has a link of its own
# to the client, which its routes send the replies over: a reply that crossed the veer node
# anyway would show in veer's reply counters and on the node's interfaces, and both must stay
# at zero. dsr-ipip: IPv4 in IPv4, IPv6 in IPv6 and an IPv4 VIP over IPv6 backends; dsr-l2:
# the frame is sent to the backend's MAC unchanged. Last, a 1,400-byte MTU on the path to the
# backends: large requests must get through by path MTU discovery, veer answering with the MTU
# less the encapsulation's overhead.

load helpers

V4=198.18.100.20
V6=2001:2:0:100::20
V46=198.18.100.21
L4=198.18.100.22
L6=2001:2:0:100::22
IPIP4=$V4:80/tcp
IPIP6="[$V6]:80/tcp"
IPIP46=$V46:80/tcp
DSRL2_4=$L4:80/tcp
DSRL2_6="[$L6]:80/tcp"
UDP4=$V4:5353/udp
BIG4=$V4:8080/tcp
BIG6="[$V6]:8080/tcp"
ALL_VIPS=("$IPIP4" "$IPIP6" "$IPIP46" "$DSRL2_4" "$DSRL2_6" "$UDP4" "$BIG4" "$BIG6")

# veer on backend bI, with a pin directory of its own: a backend host has no load balancer.
veer_b() {
	local i=$1
	shift
	nsenter --net="/run/netns/$(ns "b$i")" env VEER_PIN_DIR="$VEER_PIN_DIR-b$i" "$VEER" "$@"
}

# The return path: a link client dI <-> bI bdI, which bI's routes to the client take.
return_link() {
	local i=$1
	topo_link client "d$i" "b$i" "bd$i" &&
		in_ns client ip addr add "198.18.2$i.1/24" dev "d$i" &&
		in_ns client ip -6 addr add "2001:2:0:2$i::1/64" dev "d$i" nodad &&
		in_ns "b$i" ip addr add "198.18.2$i.2/24" dev "bd$i" &&
		in_ns "b$i" ip -6 addr add "2001:2:0:2$i::2/64" dev "bd$i" nodad &&
		in_ns "b$i" ip route add 198.18.1.0/24 via "198.18.2$i.1" &&
		in_ns "b$i" ip -6 route add 2001:2:0:1::/64 via "2001:2:0:2$i::1"
}

# A backend's DSR setup as the README gives it: the VIPs on lo, ARP for them neither answered
# nor used as a source on the link to the veer node (the README's sysctls, which `veer decap
# check` verifies), veer's decapsulation on that link, and a UDP responder bound to the VIP (a
# socket bound to the wildcard would answer from the backend's own address, which the client
# never talked to; the topology's own responder holds the wildcard's port 53, hence 5353).
backend_up() {
	local i=$1 a
	for a in $V4 $V46 $L4; do
		in_ns "b$i" ip addr add "$a/32" dev lo || return 1
	done
	for a in $V6 $L6; do
		in_ns "b$i" ip -6 addr add "$a/128" dev lo nodad || return 1
	done
	in_ns "b$i" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 ||
		return 1
	mkdir -p "$VEER_PIN_DIR-b$i"
	veer_b "$i" decap attach "b${i}0" || return 1
	for a in $V4 $V6 $V46; do
		veer_b "$i" decap vip add "$a" || return 1
	done
	topo_bg "b$i" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[2], 5353))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(sys.argv[1].encode() + b"\n", peer)
' "b$i" "$V4"
}

setup_file() {
	local i
	e2e_topo_up dsr
	for i in 1 2 3; do
		return_link "$i" && backend_up "$i" || return 1
	done
	e2e_big_servers 8080
	"$VEER" set encap-source4 198.18.200.0/24
	"$VEER" set encap-source6 2001:2:0:200::/64
	for v in "$IPIP4" "$IPIP6" "$IPIP46" "$UDP4" "$BIG4" "$BIG6"; do
		"$VEER" vip add "$v" --mode dsr-ipip || return 1
	done
	for v in "$DSRL2_4" "$DSRL2_6"; do
		"$VEER" vip add "$v" --mode dsr-l2 || return 1
	done
	for i in 1 2 3; do
		for v in "$IPIP4" "$DSRL2_4" "$UDP4" "$BIG4"; do
			"$VEER" backend add "$v" "198.18.1$i.2" || return 1
		done
		for v in "$IPIP6" "$IPIP46" "$DSRL2_6" "$BIG6"; do
			"$VEER" backend add "$v" "2001:2:0:1$i::2" || return 1
		done
	done
}

teardown_file() {
	local i
	for i in 1 2 3; do
		[ -e "/run/netns/$(ns "b$i")" ] && veer_b "$i" decap detach "b${i}0" >/dev/null 2>&1
		[[ $VEER_PIN_DIR == /sys/fs/bpf/veer-e2e-* ]] && rm -rf "$VEER_PIN_DIR-b$i"
	done
	e2e_topo_down "${ALL_VIPS[@]}"
}

# rx_packets: packets the veer node received from the backends (its links to them).
rx_packets() {
	local i n=0
	for i in 1 2 3; do
		n=$((n + $(in_ns lb cat "/sys/class/net/l$i/statistics/rx_packets")))
	done
	echo "$n"
}

# decapsulated: packets veer's decapsulation handed to the backends' stacks.
decapsulated() {
	local i n=0
	for i in 1 2 3; do
		n=$((n + $(veer_b "$i" -j decap stats | e2e_json "d['reasons']['decapsulated']")))
	done
	echo "$n"
}

# dsr_serves VIP URL REASON: 150 HTTP requests through VIP all succeed, spread over the three
# backends; veer counted them under REASON and saw no reply, and no reply crossed the node.
dsr_serves() {
	local vip=$1 url=$2 reason=$3 r0 rx0
	r0=$(e2e_reason "$reason") rx0=$(rx_packets)
	e2e_get 150 "$url" >"$BATS_TEST_TMPDIR/answers"
	e2e_assert_spread "$BATS_TEST_TMPDIR/answers" 150 25 75
	run e2e_stats_vip "$vip" "v['new_flows'] >= 150 and v['packets'] > v['new_flows']"
	assert_output True
	run e2e_stats_vip "$vip" "v['reply_packets']"
	assert_output 0
	(($(e2e_reason "$reason") - r0 >= 450)) || fail "$reason: $r0 -> $(e2e_reason "$reason")"
	# ARP and neighbour discovery only: 150 exchanges would bring hundreds of replies.
	(($(rx_packets) - rx0 < 30)) || fail "the veer node received $(($(rx_packets) - rx0)) packets from the backends"
}

@test "dsr setup: veer decap check finds each backend ready, the VIPs show their modes" {
	for i in 1 2 3; do
		run veer_b "$i" decap check
		assert_success
	done
	run "$VEER" -j vip list
	assert_success
	run e2e_json "[v['mode'] for v in d if v['vip'] == sys.argv[1]]" "$IPIP4" <<<"$output"
	assert_output "['dsr-ipip']"
	run "$VEER" vip list
	assert_output --partial dsr-l2
}

@test "dsr-ipip, IPv4 in IPv4: requests succeed, replies bypass the veer node" {
	local d0
	d0=$(decapsulated)
	dsr_serves "$IPIP4" "http://$V4/" dsr_ipip
	(($(decapsulated) - d0 >= 450)) || fail "the backends decapsulated $(($(decapsulated) - d0))"
}

@test "dsr-ipip, IPv6 in IPv6: requests succeed, replies bypass the veer node" {
	dsr_serves "$IPIP6" "http://[$V6]/" dsr_ipip
}

@test "dsr-ipip, an IPv4 VIP over IPv6 backends: requests succeed" {
	dsr_serves "$IPIP46" "http://$V46/" dsr_ipip
}

@test "dsr-ipip, UDP: every datagram answered from the VIP by a backend" {
	run in_ns client python3 -c '
import socket, sys
seen = {}
for i in range(60):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.connect((sys.argv[1], 5353))
    s.send(b"q")
    name = s.recv(64).strip().decode()
    seen[name] = seen.get(name, 0) + 1
print(sorted(seen.items()))
' "$V4"
	assert_success
	assert_output --regexp "^\[\('b1', [0-9]+\), \('b2', [0-9]+\), \('b3', [0-9]+\)\]$"
	run e2e_stats_vip "$UDP4" "v['reply_packets']"
	assert_output 0
}

@test "dsr-l2, IPv4: requests succeed, replies bypass the veer node" {
	dsr_serves "$DSRL2_4" "http://$L4/" dsr_l2
}

@test "dsr-l2, IPv6: requests succeed, replies bypass the veer node" {
	dsr_serves "$DSRL2_6" "http://[$L6]/" dsr_l2
}

@test "dsr: a backend on another port than the VIP's is refused, nothing changes" {
	local before
	before=$("$VEER" -j vip list)
	run "$VEER" backend add "$IPIP4" 198.18.11.2:8081
	assert_failure
	assert_output --partial "198.18.11.2:8081"
	assert_equal "$(echo "$output" | wc -l)" 1
	assert_equal "$("$VEER" -j vip list)" "$before"
	run veer_b 1 decap attach nosuchif0
	assert_failure
	assert_output --partial nosuchif0
}

# Last: narrows the links to the backends for good.
@test "dsr-ipip with a 1,400-byte MTU to the backends: 100 KB POSTs succeed by PMTU discovery" {
	local fn0 i
	for i in 1 2 3; do
		in_ns lb ip link set "l$i" mtu 1400
		in_ns "b$i" ip link set "b${i}0" mtu 1400
	done
	head -c 102400 /dev/urandom >"$BATS_TEST_TMPDIR/body"
	fn0=$(e2e_reason frag_needed)
	for i in 1 2 3; do
		run e2e_big_send POST "http://$V4:8080/" "$BATS_TEST_TMPDIR/body"
		assert_output --regexp '^OK b[123]$'
		run e2e_big_send PUT "http://[$V6]:8080/" "$BATS_TEST_TMPDIR/body"
		assert_output --regexp '^OK b[123]$'
	done
	(($(e2e_reason frag_needed) > fn0)) || fail "veer sent no fragmentation-needed"
	# The MTU veer announced leaves room for the outer header: 1400 - 20, 1400 - 40.
	run in_ns client ip route get "$V4"
	assert_output --partial "mtu 1380"
	run in_ns client ip -6 route get "$V6"
	assert_output --partial "mtu 1360"
	run e2e_stats_vip "$BIG4" "v['reply_packets']"
	assert_output 0
}
