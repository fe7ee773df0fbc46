#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Detaching veer everywhere leaves plain IP forwarding; attaching again adopts the pinned
# state and the VIP answers again.

load helpers

VIP=198.18.100.16:80/tcp
URL=http://198.18.100.16/

setup_file() {
	e2e_topo_up detach
	e2e_vip_new "$VIP" 198.18.11.2 198.18.12.2 198.18.13.2
}

teardown_file() {
	e2e_topo_down "$VIP"
}

interfaces() { veer_lb -j status | e2e_json "' '.join(sorted(i['interface'] for i in d['interfaces']))"; }

@test "attached: status lists the four interfaces and the VIP answers" {
	run interfaces
	assert_output "l0 l1 l2 l3"
	run e2e_get 10 "$URL"
	refute_output --partial FAIL
	assert_equal "${#lines[@]}" 10
}

@test "detach on every interface: status lists none, the VIP is gone, routing still works" {
	for i in l0 l1 l2 l3; do
		veer_lb detach "$i"
	done
	run interfaces
	assert_success
	assert_output ""
	run veer_lb status
	assert_line "interfaces: none"
	# Plain forwarding through the veer node, both families.
	for i in 1 2 3; do
		run in_ns client curl -s -f -m 2 "http://198.18.1$i.2/"
		assert_success
		assert_output "b$i"
		run in_ns client curl -s -f -g -m 2 "http://[2001:2:0:1$i::2]/"
		assert_success
		assert_output "b$i"
	done
	# Nothing owns the VIP's address any more.
	run in_ns client curl -s -f -m 1 "$URL"
	assert_failure
	# Detaching again is an error that names the reason.
	run --separate-stderr veer_lb detach l0
	assert_failure 1
	assert_equal "$stderr" "veer: cannot detach from l0: veer is not attached there"
}

@test "attach again: the pinned VIP answers again over all backends" {
	topo_attach
	run interfaces
	assert_output "l0 l1 l2 l3"
	e2e_get 60 "$URL" >"$BATS_TEST_TMPDIR/answers"
	sort "$BATS_TEST_TMPDIR/answers" | uniq -c
	assert_equal "$(e2e_count "$BATS_TEST_TMPDIR/answers" FAIL)" 0
	for b in b1 b2 b3; do
		(( $(e2e_count "$BATS_TEST_TMPDIR/answers" "$b") > 0 )) || fail "$b did not answer"
	done
}

@test "attach twice at the same hook is a no-op; at the other hook it is refused" {
	run veer_lb attach l0
	assert_success
	run veer_lb attach l0 --hook tc
	assert_success
	run --separate-stderr veer_lb attach l0 --hook xdp
	assert_failure 1
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" '^veer: cannot attach to l0 at xdp: attached at tc \(detach first\)'
	run --separate-stderr veer_lb attach l0 --mode generic
	assert_failure 1
	run interfaces
	assert_output "l0 l1 l2 l3"
	run bash -c "nsenter --net=/run/netns/$(ns lb) ip link show l0"
	refute_output --partial "xdp"
}
