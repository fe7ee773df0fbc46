#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# veer at the XDP hook between veths, which works only with the offloads off: TX checksum
# offload off at every end (an XDP frame loses a local sender's partial checksum) and GRO on
# (a veth peer takes XDP-redirected frames only with XDP or GRO on). TOPO_OFFLOADS=off sets
# both; `--hook xdp` overrides veer's choice of tc on virtual interfaces. The last test shows
# why that is not the default: on a veth with the kernel's offloads, --hook xdp warns.

load helpers

VIP4=198.18.100.30:80/tcp
URL4=http://198.18.100.30/
VIP6='[2001:2:0:100::30]:80/tcp'
URL6='http://[2001:2:0:100::30]/'
UDP4=198.18.100.30:53/udp

setup_file() {
	export TOPO_OFFLOADS=off
	e2e_topo_up xdpoff --hook xdp
	e2e_vip_new "$VIP4" 198.18.11.2 198.18.12.2 198.18.13.2
	e2e_vip_new "$VIP6" 2001:2:0:11::2 2001:2:0:12::2 2001:2:0:13::2
	e2e_vip_new "$UDP4" 198.18.11.2 198.18.12.2 198.18.13.2
}

teardown_file() {
	if [ -e "/run/netns/$(ns warn)" ]; then
		for i in w0 w1; do
			nsenter --net="/run/netns/$(ns warn)" "$VEER" detach "$i" >/dev/null 2>&1 || true
		done
		ip netns del "$(ns warn)"
	fi
	e2e_topo_down "$VIP4" "$VIP6" "$UDP4"
}

@test "offloads off, --hook xdp: veer runs at xdp on all four interfaces" {
	run veer_lb -j status
	assert_success
	run e2e_json "sorted((i['interface'], i['hook']) for i in d['interfaces'])" <<<"$output"
	assert_output "[('l0', 'xdp'), ('l1', 'xdp'), ('l2', 'xdp'), ('l3', 'xdp')]"
	for end in "client c0" "lb l0" "b1 b10"; do
		read -r n dev <<<"$end"
		run in_ns "$n" ethtool -k "$dev"
		assert_line "tx-checksumming: off"
		assert_line "generic-receive-offload: on"
	done
}

@test "XDP hook: 60 HTTP requests over an IPv4 VIP all succeed, spread over the backends" {
	e2e_get 60 "$URL4" >"$BATS_TEST_TMPDIR/answers"
	e2e_assert_spread "$BATS_TEST_TMPDIR/answers" 60 5 40
}

@test "XDP hook: 60 HTTP requests over an IPv6 VIP all succeed, spread over the backends" {
	e2e_get 60 "$URL6" >"$BATS_TEST_TMPDIR/answers"
	e2e_assert_spread "$BATS_TEST_TMPDIR/answers" 60 5 40
}

@test "XDP hook: UDP datagrams to the VIP are answered from the VIP" {
	run in_ns client python3 -c '
import socket
for i in range(20):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    # A port of its own each: an ephemeral port may come back, and be the same flow again.
    s.bind(("198.18.1.2", 41000 + i))
    s.sendto(b"hello", ("198.18.100.30", 53))
    try:
        data, peer = s.recvfrom(64)
    except socket.timeout:
        print("FAIL timeout"); continue
    print(data.decode().strip() if peer == ("198.18.100.30", 53) else f"FAIL from {peer}")
'
	assert_success
	refute_output --partial FAIL
	assert_equal "${#lines[@]}" 20
	"$VEER" stats
	run e2e_stats_vip "$UDP4" "v['new_flows'] >= 20 and v['reply_packets'] >= 20"
	assert_output True
}

@test "why not by default: --hook xdp on a veth with the kernel's offloads warns, auto takes tc" {
	ip netns add "$(ns warn)"
	in_ns warn ip link add w0 type veth peer name w1
	in_ns warn ip link set w0 up
	in_ns warn ip link set w1 up
	run in_ns warn ethtool -k w0
	assert_line "tx-checksumming: on"
	run --separate-stderr nsenter --net="/run/netns/$(ns warn)" "$VEER" attach w0 --hook xdp
	assert_success
	echo "$stderr"
	[[ $stderr == *"warning: w0 is a virtual interface"* ]] || fail "no warning about virtual interfaces"
	[[ $stderr == *"--hook tc works with the kernel's defaults"* ]] || fail "the warning names no way out"
	nsenter --net="/run/netns/$(ns warn)" "$VEER" detach w0
	run --separate-stderr nsenter --net="/run/netns/$(ns warn)" "$VEER" attach w1
	assert_success
	[[ $stderr != *warning* ]] || fail "auto warned: $stderr"
	run nsenter --net="/run/netns/$(ns warn)" "$VEER" -j status
	run e2e_json "[(i['interface'], i['hook']) for i in d['interfaces']]" <<<"$output"
	assert_output "[('w1', 'tc')]"
	nsenter --net="/run/netns/$(ns warn)" "$VEER" detach w1
}
