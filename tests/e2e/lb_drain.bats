#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Draining (weight 0) and removing a backend under load: no request fails, and requests that
# start after the change never reach that backend.

load helpers

DRAIN_VIP=198.18.100.12:80/tcp
DRAIN_URL=http://198.18.100.12/
DEL_VIP=198.18.100.13:80/tcp
DEL_URL=http://198.18.100.13/

setup_file() {
	e2e_topo_up drain
}

teardown_file() {
	e2e_topo_down "$DRAIN_VIP" "$DEL_VIP"
}

teardown() {
	e2e_stop_load
}

# A request loop in the client namespace. Each request is logged as "PHASE ANSWER" (ANSWER is
# FAIL when curl fails: refused, reset, timed out after 2 s, HTTP error), PHASE being the
# content of the phase file when the request started: the test flips it from "before" to
# "after" once the change has been made, so an "after" request began after the change.
LOOP='
phase=$1 out=$2 stop=$3 url=$4
for ((n = 0; n < 3000; n++)); do
	[ -e "$stop" ] && break
	p=$(<"$phase")
	if a=$(curl -s -f -m 2 "$url"); then echo "$p $a"; else echo "$p FAIL"; fi >>"$out"
done'

start_load() {
	D=$BATS_TEST_TMPDIR
	echo before >"$D/phase"
	: >"$D/out"
	topo_bg client bash -c "$LOOP" - "$D/phase" "$D/out" "$D/stop" "$1"
	LOAD_PID=$TOPO_BG_PID
}

set_phase_after() {
	echo after >"$D/phase.new"
	mv "$D/phase.new" "$D/phase"
}

logged() { (( $(grep -c "^$1 " "$D/out") >= $2 )); }

# check_log DROPPED: prints the log's summary; asserts no failure, that DROPPED answered
# before the change and nobody but the others after it.
check_log() {
	sort "$D/out" | uniq -c
	assert_equal "$(grep -c 'FAIL$' "$D/out")" 0
	(( $(grep -c "^before $1\$" "$D/out") > 0 )) || fail "$1 took no requests before the change"
	assert_equal "$(grep -c "^after $1\$" "$D/out")" 0
	for b in b1 b2 b3; do
		[ "$b" = "$1" ] && continue
		(( $(grep -c "^after $b\$" "$D/out") > 0 )) || fail "$b took no requests after the change"
	done
}

@test "drain (weight 0) under load: no failed request, no new request to the drained backend" {
	e2e_vip_new "$DRAIN_VIP" 198.18.11.2 198.18.12.2 198.18.13.2
	start_load "$DRAIN_URL"
	topo_wait 30 logged before 60 || fail "the request loop did not get going"
	"$VEER" backend set "$DRAIN_VIP" 198.18.11.2 --weight 0
	flows=$(e2e_backend_stat "$DRAIN_VIP" 198.18.11.2 new_flows)
	set_phase_after
	topo_wait 30 logged after 150 || fail "the request loop stalled after the drain"
	e2e_stop_load
	check_log b1
	# The drained backend stays listed, with weight 0, and took no new flow since the change.
	assert_equal "$(e2e_backend_stat "$DRAIN_VIP" 198.18.11.2 weight)" 0
	assert_equal "$(e2e_backend_stat "$DRAIN_VIP" 198.18.11.2 new_flows)" "$flows"
}

@test "undrain: weight back to 100 and the backend takes new requests again" {
	e2e_vip_exists "$DRAIN_VIP" || fail "the drain test did not set up its VIP"
	"$VEER" backend set "$DRAIN_VIP" 198.18.11.2 --weight 100
	e2e_get 60 "$DRAIN_URL" >"$BATS_TEST_TMPDIR/answers"
	sort "$BATS_TEST_TMPDIR/answers" | uniq -c
	assert_equal "$(e2e_count "$BATS_TEST_TMPDIR/answers" FAIL)" 0
	(( $(e2e_count "$BATS_TEST_TMPDIR/answers" b1) > 0 )) || fail "b1 took nothing after undrain"
	"$VEER" vip del "$DRAIN_VIP"
}

@test "backend del under load: no failed request, no request to the removed backend" {
	e2e_vip_new "$DEL_VIP" 198.18.11.2 198.18.12.2 198.18.13.2
	start_load "$DEL_URL"
	topo_wait 30 logged before 60 || fail "the request loop did not get going"
	"$VEER" backend del "$DEL_VIP" 198.18.12.2
	set_phase_after
	topo_wait 30 logged after 150 || fail "the request loop stalled after the removal"
	e2e_stop_load
	check_log b2
	run "$VEER" -j backend list "$DEL_VIP"
	assert_success
	refute_output --partial 198.18.12.2
	assert_output --partial 198.18.11.2
	"$VEER" vip del "$DEL_VIP"
}
