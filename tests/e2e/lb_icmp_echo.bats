#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# veer answers echo requests (ping, ping -6) to the address of any VIP itself, out the
# interface they came in on, hop limit 64, payload unchanged (counter icmp_echo); echo
# requests to other addresses are not its business and reach their host as before.

load helpers

VIP4=198.18.100.40:80/tcp
VIP6='[2001:2:0:100::40]:80/tcp'

setup_file() {
	e2e_topo_up icmpecho
	e2e_vip_new "$VIP4" 198.18.11.2 198.18.12.2 198.18.13.2
	e2e_vip_new "$VIP6" 2001:2:0:11::2 2001:2:0:12::2 2001:2:0:13::2
}

teardown_file() {
	e2e_topo_down "$VIP4" "$VIP6"
}

# pings ARGS...: ping from the client, 3 requests 0.2 s apart, 2 s for an answer; asserts that
# all three were answered by HOST (the last argument), with TTL 64 and their payload intact
# (ping checks it and prints "wrong data byte" otherwise), and that icmp_echo counted them.
pings() {
	local host=${*: -1} e0
	e0=$(e2e_reason icmp_echo)
	run in_ns client ping -n -c 3 -i 0.2 -W 2 "$@"
	assert_success
	assert_line --partial "3 packets transmitted, 3 received"
	refute_output --partial "wrong data"
	refute_output --partial DUP
	assert_equal "$(grep -c "bytes from $host: icmp_seq=[0-9]* ttl=64 " <<<"$output")" 3
	(($(e2e_reason icmp_echo) >= e0 + 3)) || fail "icmp_echo counted $(($(e2e_reason icmp_echo) - e0)) of 3"
}

@test "ping to an IPv4 VIP's address is answered by veer" {
	pings 198.18.100.40
}

@test "ping -6 to an IPv6 VIP's address is answered by veer" {
	pings -6 2001:2:0:100::40
}

@test "ping with 1400 bytes of patterned payload to both VIPs comes back unchanged" {
	pings -s 1400 -p 5a17c0de 198.18.100.40
	pings -6 -s 1400 -p 5a17c0de 2001:2:0:100::40
}

@test "ping to a backend through the veer node is left to the stack (not counted)" {
	e0=$(e2e_reason icmp_echo)
	run in_ns client ping -n -c 2 -i 0.2 -W 2 198.18.11.2
	assert_success
	run in_ns client ping -n -6 -c 2 -i 0.2 -W 2 2001:2:0:11::2
	assert_success
	assert_equal "$(e2e_reason icmp_echo)" "$e0"
}
