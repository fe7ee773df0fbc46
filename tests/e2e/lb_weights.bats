#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Backend weights shape the Maglev table: shares follow the weights, also when changed live.

load helpers

VIP=198.18.100.11:80/tcp
URL=http://198.18.100.11/

setup_file() {
	e2e_topo_up weights
	e2e_vip_new "$VIP" 198.18.11.2=200 198.18.12.2 198.18.13.2
}

teardown_file() {
	e2e_topo_down "$VIP"
}

# shares N: sends N requests, sets b1 b2 b3 to the answer counts.
shares() {
	e2e_get "$1" "$URL" >"$BATS_TEST_TMPDIR/answers"
	sort "$BATS_TEST_TMPDIR/answers" | uniq -c
	assert_equal "$(e2e_count "$BATS_TEST_TMPDIR/answers" FAIL)" 0
	b1=$(e2e_count "$BATS_TEST_TMPDIR/answers" b1)
	b2=$(e2e_count "$BATS_TEST_TMPDIR/answers" b2)
	b3=$(e2e_count "$BATS_TEST_TMPDIR/answers" b3)
	assert_equal $((b1 + b2 + b3)) "$1"
}

@test "backend list shows the weights 200:100:100" {
	run "$VEER" -j backend list "$VIP"
	assert_success
	run e2e_json "[b['weight'] for b in sorted(d, key=lambda b: b['address'])]" <<<"$output"
	assert_output "[200, 100, 100]"
}

@test "weights 2:1:1: the first backend takes about half of 300 requests" {
	shares 300
	(( b1 >= 120 && b1 <= 180 )) || fail "b1 answered $b1 of 300 (want 40%..60%)"
	(( b1 > b2 && b1 > b3 )) || fail "b1 ($b1) is not ahead of b2 ($b2) and b3 ($b3)"
	(( b2 > 0 && b3 > 0 )) || fail "a backend of weight 100 got nothing"
}

@test "backend set changes the shares live: 1:1:3 moves the majority to the third" {
	"$VEER" backend set "$VIP" 198.18.11.2 --weight 100
	"$VEER" backend set "$VIP" 198.18.13.2 --weight 300
	run "$VEER" -j backend list "$VIP"
	run e2e_json "[b['weight'] for b in sorted(d, key=lambda b: b['address'])]" <<<"$output"
	assert_output "[100, 100, 300]"
	shares 300
	(( b3 >= 144 && b3 <= 216 )) || fail "b3 answered $b3 of 300 (want 48%..72%)"
	(( b3 > b1 && b3 > b2 )) || fail "b3 ($b3) is not ahead of b1 ($b1) and b2 ($b2)"
}
