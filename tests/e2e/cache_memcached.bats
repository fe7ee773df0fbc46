#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The hot-key cache in front of a real memcached: "get KEY" answered in the kernel with the
# server's own framing, misses and storage commands reach the server, writes invalidate,
# "noreply" is followed, and the manager promotes hot keys.

load cache_helpers

setup_file() {
	export CACHEBED="vcm$$"
	cachebed_up
}

teardown_file() {
	cachebed_down
}

@test "a cached get is answered in the kernel with memcached's framing" {
	mc out "set $CACHEBED:k1 5 0 5\r\nhello"
	"$VEER" cache put "$CACHEBED:k1" hello --proto memcached --flags 5 --ttl 60
	before=$(mc_stat cmd_get)
	run mc in "get $CACHEBED:k1"
	assert_output "$(printf 'VALUE %s 5 5\r\nhello\r\nEND\r' "$CACHEBED:k1")"
	[ "$(mc_stat cmd_get)" -eq "$before" ] || fail "memcached counted the get"
	run mc out "get $CACHEBED:k1"
	assert_output "$(printf 'VALUE %s 5 5\r\nhello\r\nEND\r' "$CACHEBED:k1")"
}

@test "a miss and a multi-key get reach the server" {
	before=$(mc_stat cmd_get)
	run mc in "get $CACHEBED:absent" "get $CACHEBED:k1 $CACHEBED:absent"
	assert_output "$(printf 'END\r\nVALUE %s 5 5\r\nhello\r\nEND\r' "$CACHEBED:k1")"
	[ "$(mc_stat cmd_get)" -eq $((before + 3)) ] || fail "memcached did not see both gets"
}

@test "set, delete and incr invalidate the key before the server sees them" {
	"$VEER" cache put "$CACHEBED:k2" one --proto memcached --ttl 60
	run mc in "set $CACHEBED:k2 0 0 3\r\ntwo" "get $CACHEBED:k2"
	assert_output "$(printf 'STORED\r\nVALUE %s 0 3\r\ntwo\r\nEND\r' "$CACHEBED:k2")"
	"$VEER" cache put "$CACHEBED:k2" two --proto memcached --ttl 60
	run mc in "delete $CACHEBED:k2" "get $CACHEBED:k2"
	assert_output "$(printf 'DELETED\r\nEND\r')"
	mc out "set $CACHEBED:n 0 0 1\r\n1" >/dev/null
	"$VEER" cache put "$CACHEBED:n" 1 --proto memcached --ttl 60
	run mc in "incr $CACHEBED:n 41" "get $CACHEBED:n"
	assert_output "$(printf '42\r\nVALUE %s 0 2\r\n42\r\nEND\r' "$CACHEBED:n")"
}

@test "noreply writes invalidate and owe no reply: the next cached get is served at once" {
	"$VEER" cache put "$CACHEBED:k3" old --proto memcached --ttl 60
	"$VEER" cache put "$CACHEBED:other" cached --proto memcached --ttl 60
	hits=$(cache_stat hit)
	run mc in "set $CACHEBED:k3 0 0 3 noreply\r\nnew" "get $CACHEBED:other" "get $CACHEBED:k3"
	assert_output "$(printf 'VALUE %s 0 6\r\ncached\r\nEND\r\nVALUE %s 0 3\r\nnew\r\nEND\r' \
		"$CACHEBED:other" "$CACHEBED:k3")"
	[ "$(cache_stat hit)" -eq $((hits + 1)) ] || fail "the get after a noreply write was not served"
}

@test "hot keys are promoted from memcached and then served in the kernel, until the manager stops" {
	mc out "set $CACHEBED:hot 0 0 4\r\nwarm" >/dev/null
	CACHEBED_BG_LOG=$BATS_TEST_TMPDIR/manager.log cachebed_bg "$VEER" -v cache manage \
		--server "$CACHEBED_ADDR:$CACHEBED_MC_PORT" --proto memcached --interval 100ms
	manager=$CACHEBED_BG_PID
	cachebed_wait 10 cache_live memcached ||
		{ kill "$manager"; cat "$BATS_TEST_TMPDIR/manager.log"; fail "no manager"; }
	for i in $(seq 10); do mc in "get $CACHEBED:hot" >/dev/null; done
	cachebed_wait 5 bash -c "'$VEER' -j cache get --proto memcached '$CACHEBED:hot' | grep -q '\"current\":true'" ||
		{ kill "$manager"; cat "$BATS_TEST_TMPDIR/manager.log"; fail "not promoted"; }
	# A current key draws no fill: memcached's get count is the client's alone.
	before=$(mc_stat cmd_get)
	run mc in "get $CACHEBED:hot"
	assert_output "$(printf 'VALUE %s 0 4\r\nwarm\r\nEND\r' "$CACHEBED:hot")"
	[ "$(mc_stat cmd_get)" -eq "$before" ] || fail "the promoted key still reached memcached"
	kill "$manager"
	wait "$manager" || true
	before=$(mc_stat cmd_get)
	run mc in "get $CACHEBED:hot"
	assert_output "$(printf 'VALUE %s 0 4\r\nwarm\r\nEND\r' "$CACHEBED:hot")"
	[ "$(mc_stat cmd_get)" -eq $((before + 1)) ] || fail "served after the manager stopped"
}

@test "unknown framing (stats) switches serving off for that connection only" {
	"$VEER" cache put "$CACHEBED:k4" v --proto memcached --ttl 60
	hits=$(cache_stat hit)
	run mc in "stats" "get $CACHEBED:k4"
	assert_success
	[ "$(cache_stat hit)" -eq "$hits" ] || fail "served after stats"
	run mc in "get $CACHEBED:k4" # memcached has no k4: only the cache can answer
	assert_output "$(printf 'VALUE %s 0 1\r\nv\r\nEND\r' "$CACHEBED:k4")"
	[ "$(cache_stat hit)" -eq $((hits + 1)) ] || fail "a fresh connection was not served"
}
