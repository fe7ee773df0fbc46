#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Path MTU discovery through veer, narrow link on the backends' side: every veer node <->
# backend link has MTU 1280, the rest 1500, the kernel's default offloads (veer at tc). The
# backends advertise a 1500-byte MSS (e2e_narrow): a client sends full-sized segments, which
# veer cannot fit into the link to the backend. veer must answer the client with
# fragmentation-needed / packet-too-big (counter frag_needed) so that it sends smaller ones;
# TCP is never fragmented (no mtu_stack, the backends reassemble nothing).
# Responses need no discovery here (a backend's own MTU is 1280); they must arrive whole.

load helpers

PORT=8080
VIP4=198.18.100.50:$PORT/tcp
URL4=http://198.18.100.50:$PORT
VIP6="[2001:2:0:100::50]:$PORT/tcp"
URL6="http://[2001:2:0:100::50]:$PORT"
# Only for flows created before the veer node knows the backends' link-layer addresses (no PMTU
# learnt by the client yet for these addresses).
NEW4=198.18.100.53:$PORT/tcp
NEW6="[2001:2:0:100::53]:$PORT/tcp"

setup_file() {
	e2e_topo_up pmtub
	e2e_narrow backends
	e2e_big_servers "$PORT"
	e2e_vip_new "$VIP4" 198.18.11.2 198.18.12.2 198.18.13.2
	e2e_vip_new "$VIP6" 2001:2:0:11::2 2001:2:0:12::2 2001:2:0:13::2
	e2e_vip_new "$NEW4" 198.18.11.2 198.18.12.2 198.18.13.2
	e2e_vip_new "$NEW6" 2001:2:0:11::2 2001:2:0:12::2 2001:2:0:13::2
	head -c 102400 /dev/urandom >"$BATS_FILE_TMPDIR/body"
}

teardown_file() {
	e2e_topo_down "$VIP4" "$VIP6" "$NEW4" "$NEW6"
}

# reasm: the IPv4 and IPv6 datagrams the three backends had to reassemble.
reasm() {
	local i n=0
	for i in 1 2 3; do
		n=$((n + $(e2e_snmp "b$i" IpReasmReqds) + $(e2e_snmp "b$i" Ip6ReasmReqds)))
	done
	echo "$n"
}

# neighbours: the veer node knows every backend's link-layer address (both families), so that
# a new flow's first packet has its next hop and veer forwards it itself (the last test covers
# flows that have none yet).
neighbours() {
	local i
	for i in 1 2 3; do
		in_ns lb ping -c 1 -W 1 "198.18.1$i.2" >/dev/null
		in_ns lb ping -6 -c 1 -W 1 "2001:2:0:1$i::2" >/dev/null
	done
}

# sends METHOD URL: three 100 KB bodies through the VIP, each read whole by a backend; veer
# sent frag_needed, made no fragments, and the client learnt the path MTU of 1280 to HOST.
sends() {
	local method=$1 url=$2 host=$3 fn0 st0 re0 i
	neighbours
	fn0=$(e2e_reason frag_needed) st0=$(e2e_reason mtu_stack) re0=$(reasm)
	for i in 1 2 3; do
		run e2e_big_send "$method" "$url/" "$BATS_FILE_TMPDIR/body"
		assert_output --regexp '^OK b[123]$'
	done
	echo "frag_needed $fn0 -> $(e2e_reason frag_needed), mtu $(e2e_reason mtu)"
	(($(e2e_reason frag_needed) > fn0)) || fail "veer sent no fragmentation-needed"
	assert_equal "$(e2e_reason mtu_stack)" "$st0"
	assert_equal "$(reasm)" "$re0"
	run in_ns client ip route get "$host"
	assert_output --partial "mtu 1280"
}

@test "pmtu (backends' side): the links to the backends have MTU 1280, the rest 1500" {
	for i in 1 2 3; do
		run in_ns lb cat "/sys/class/net/l$i/mtu"
		assert_output 1280
	done
	run in_ns lb cat /sys/class/net/l0/mtu
	assert_output 1500
	run in_ns lb ethtool -k l1
	assert_line "tx-checksumming: on"
}

@test "pmtu (backends' side): IPv4 100 KB responses arrive whole" {
	for i in 1 2 3; do
		run e2e_big_get "$URL4/102400" 102400
		assert_output OK
	done
}

@test "pmtu (backends' side): IPv6 100 KB responses arrive whole" {
	for i in 1 2 3; do
		run e2e_big_get "$URL6/102400" 102400
		assert_output OK
	done
}

@test "pmtu (backends' side): IPv4 100 KB POSTs succeed, veer sends fragmentation-needed" {
	sends POST "$URL4" 198.18.100.50
}

@test "pmtu (backends' side): IPv6 100 KB PUTs succeed, veer sends packet-too-big" {
	sends PUT "$URL6" 2001:2:0:100::50
}

# A new flow whose backend's link-layer address the veer node does not know yet has no cached
# next hop: its packets are rewritten and handed to the stack until the flow refreshes its hop.
# A too-big one must still be answered by veer (the stack's answer would quote the rewritten
# packet, client -> backend, which the client cannot match to its connection to the VIP).
@test "pmtu (backends' side): flows created before the backends' neighbours are known" {
	local fn0
	for i in 1 2 3; do
		in_ns lb ip neigh flush dev "l$i"
		in_ns lb ip -6 neigh flush dev "l$i"
	done
	fn0=$(e2e_reason frag_needed)
	run e2e_big_send POST "http://198.18.100.53:$PORT/" "$BATS_FILE_TMPDIR/body"
	assert_output --regexp '^OK b[123]$'
	run e2e_big_send PUT "http://[2001:2:0:100::53]:$PORT/" "$BATS_FILE_TMPDIR/body"
	assert_output --regexp '^OK b[123]$'
	(($(e2e_reason frag_needed) > fn0)) || fail "veer sent no fragmentation-needed"
}
