#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Path MTU discovery through veer, narrow link on the client's side: the client <-> veer node
# link has MTU 1280, the links to the backends 1500, the kernel's default offloads (veer at
# tc). The client advertises a 1500-byte MSS (e2e_narrow): a backend sends full-sized
# segments, which veer cannot fit into the link to the client. veer must answer the backend
# with fragmentation-needed / packet-too-big (counter frag_needed), from the VIP's address,
# so that it sends smaller ones; TCP is never fragmented (no mtu_stack, the client reassembles
# nothing). Requests need no discovery here (the client's own MTU is 1280).

load helpers

PORT=8080
VIP4=198.18.100.51:$PORT/tcp
URL4=http://198.18.100.51:$PORT
VIP6="[2001:2:0:100::51]:$PORT/tcp"
URL6="http://[2001:2:0:100::51]:$PORT"

setup_file() {
	e2e_topo_up pmtuc
	e2e_narrow client
	e2e_big_servers "$PORT"
	e2e_vip_new "$VIP4" 198.18.11.2 198.18.12.2 198.18.13.2
	e2e_vip_new "$VIP6" 2001:2:0:11::2 2001:2:0:12::2 2001:2:0:13::2
	head -c 102400 /dev/urandom >"$BATS_FILE_TMPDIR/body"
}

teardown_file() {
	e2e_topo_down "$VIP4" "$VIP6"
}

# gets URL CLIENT: nine 100 KB responses through the VIP, each whole; veer sent frag_needed,
# made no fragments, and the backends learnt the path MTU of 1280 to the client's address.
gets() {
	local url=$1 client=$2 fn0 st0 re0 i learnt=0
	# The veer node knows the client's link-layer address, so that the replies' flows have
	# their next hop and veer forwards them itself (lb_pmtu_backends.bats covers flows with
	# none yet).
	in_ns lb ping -n -c 1 -W 1 "$client" >/dev/null
	fn0=$(e2e_reason frag_needed) st0=$(e2e_reason mtu_stack)
	re0=$(($(e2e_snmp client IpReasmReqds) + $(e2e_snmp client Ip6ReasmReqds)))
	for i in $(seq 9); do
		run e2e_big_get "$url/102400" 102400
		assert_output OK
	done
	echo "frag_needed $fn0 -> $(e2e_reason frag_needed), mtu $(e2e_reason mtu)"
	(($(e2e_reason frag_needed) > fn0)) || fail "veer sent no fragmentation-needed"
	assert_equal "$(e2e_reason mtu_stack)" "$st0"
	assert_equal $(($(e2e_snmp client IpReasmReqds) + $(e2e_snmp client Ip6ReasmReqds))) "$re0"
	for i in 1 2 3; do
		in_ns "b$i" ip route get "$client" | grep -q "mtu 1280" && learnt=$((learnt + 1))
	done
	((learnt > 0)) || fail "no backend learnt the path MTU to $client"
}

@test "pmtu (client's side): the link to the client has MTU 1280, the rest 1500" {
	run in_ns lb cat /sys/class/net/l0/mtu
	assert_output 1280
	for i in 1 2 3; do
		run in_ns lb cat "/sys/class/net/l$i/mtu"
		assert_output 1500
	done
	run in_ns lb ethtool -k l0
	assert_line "tx-checksumming: on"
}

@test "pmtu (client's side): IPv4 100 KB POST and PUT bodies arrive whole" {
	for m in POST PUT; do
		run e2e_big_send "$m" "$URL4/" "$BATS_FILE_TMPDIR/body"
		assert_output --regexp '^OK b[123]$'
	done
}

@test "pmtu (client's side): IPv6 100 KB POST and PUT bodies arrive whole" {
	for m in POST PUT; do
		run e2e_big_send "$m" "$URL6/" "$BATS_FILE_TMPDIR/body"
		assert_output --regexp '^OK b[123]$'
	done
}

@test "pmtu (client's side): IPv4 100 KB responses succeed, veer sends fragmentation-needed" {
	gets "$URL4" 198.18.1.2
}

@test "pmtu (client's side): IPv6 100 KB responses succeed, veer sends packet-too-big" {
	gets "$URL6" 2001:2:0:1::2
}
