#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The manager against real servers: an entry never outlives the key's own expiry (Redis PTTL,
# memcached's remaining TTL), empty values are served, a Redis and a memcached manager running
# at once both promote, and the small things of the CLI: -j after the command, keys with control
# bytes in the tables, and bad input refused before the server is contacted.

load cache_helpers

KV="python3 $E2E_DIR/kv_client.py"

setup_file() {
	export CACHEBED="vce$$"
	cachebed_up
}

teardown_file() {
	cachebed_down
}

# cget KEY [--proto P]: the entry as JSON (empty when not cached).
cget() { "$VEER" -j cache get "$@" 2>/dev/null; }
jfield() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
current() { cget "$@" | grep -q '"current":true'; }

# manager_start PROTO PORT [ARGS]: a manager in the background; pid appended to MANAGERS.
# Returns once it runs: a manager's start makes every entry stale, of either protocol, so a
# second manager started later would make the first one's promotions stale.
MANAGERS=()
manager_start() {
	CACHEBED_BG_LOG=$BATS_TEST_TMPDIR/manager-$1.log cachebed_bg "$VEER" -v cache manage \
		--server "$CACHEBED_ADDR:$2" --proto "$1" --interval 100ms "${@:3}"
	MANAGERS+=("$CACHEBED_BG_PID")
	cachebed_wait 10 cache_live "$1" ||
		fail "the $1 manager did not start: $(cat "$BATS_TEST_TMPDIR/manager-$1.log")"
}

managers_stop() {
	local pid
	for pid in "${MANAGERS[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || true
	done
	MANAGERS=()
}

teardown() {
	managers_stop
}

@test "redis: a key with a PTTL of 1.5 s is served until then and never after" {
	k=$CACHEBED:px
	rcli_out set "$k" soon px 1500 >/dev/null
	# Notifications off: the entry's own expiry must do it, not the server's "expired" event.
	manager_start redis "$CACHEBED_REDIS_PORT" --no-notify
	cachebed_in $KV get "$CACHEBED_ADDR" "$CACHEBED_REDIS_PORT" "$k" 20 >/dev/null
	cachebed_wait 5 current "$k" || fail "not promoted: $(cat "$BATS_TEST_TMPDIR/manager-redis.log")"
	ttl=$(cget "$k" | jfield ttl_ms)
	[ "$ttl" -le 1500 ] || fail "the entry lives $ttl ms, the key 1500 at most"
	before=$(calls get)
	run rcli_in get "$k"
	assert_output soon
	[ "$(calls get)" -eq "$before" ] || fail "the promoted key was not served"
	# Once the server has expired the key, a GET must reach it.
	gone() { [ "$(rcli_out pttl "$k")" = -2 ]; }
	cachebed_wait 5 gone || fail "the key did not expire"
	managers_stop # its own GETs count in the server's counter too
	before=$(calls get)
	run rcli_in get "$k"
	assert_output ""
	[ "$(calls get)" -eq $((before + 1)) ] || fail "served after the key expired"
}

@test "memcached: an item set to expire after 6 s is not served after 6 s" {
	k=$CACHEBED:ex
	mc out "set $k 3 6 4\r\nsoon" >/dev/null
	start=$(date +%s%N)
	manager_start memcached "$CACHEBED_MC_PORT"
	for i in $(seq 10); do mc in "get $k" >/dev/null; done
	cachebed_wait 5 current "$k" --proto memcached ||
		fail "not promoted: $(cat "$BATS_TEST_TMPDIR/manager-memcached.log")"
	ttl=$(cget "$k" --proto memcached | jfield ttl_ms)
	left=$(( 6000 - ($(date +%s%N) - start) / 1000000 ))
	[ "$ttl" -le "$left" ] || fail "the entry lives $ttl ms, the item $left ms at most"
	before=$(mc_stat cmd_get)
	run mc in "get $k"
	assert_output "$(printf 'VALUE %s 3 4\r\nsoon\r\nEND\r' "$k")"
	[ "$(mc_stat cmd_get)" -eq "$before" ] || fail "the promoted item was not served"
	# 6 s after the set, a get must reach memcached (and find nothing).
	until (( $(date +%s%N) - start >= 6000000000 )); do sleep 0.05; done
	# The manager's own mg reads count in cmd_get too: only this client's get may move it.
	managers_stop
	before=$(mc_stat cmd_get)
	run mc in "get $k"
	assert_output "$(printf 'END\r')"
	[ "$(mc_stat cmd_get)" -eq $((before + 1)) ] || fail "served after the item expired"
}

@test "empty values are promoted and served, in both protocols" {
	managers_stop
	mc out "set $CACHEBED:ez 0 0 0\r\n" >/dev/null
	rcli_out set "$CACHEBED:ez" "" >/dev/null
	manager_start memcached "$CACHEBED_MC_PORT"
	manager_start redis "$CACHEBED_REDIS_PORT"
	for i in $(seq 10); do mc in "get $CACHEBED:ez" >/dev/null; done
	cachebed_in $KV get "$CACHEBED_ADDR" "$CACHEBED_REDIS_PORT" "$CACHEBED:ez" 10 >/dev/null
	cachebed_wait 5 current "$CACHEBED:ez" --proto memcached ||
		fail "memcached: not promoted: $(cat "$BATS_TEST_TMPDIR/manager-memcached.log")"
	cachebed_wait 5 current "$CACHEBED:ez" ||
		fail "redis: not promoted: $(cat "$BATS_TEST_TMPDIR/manager-redis.log")"
	kill -0 "${MANAGERS[0]}" || fail "the memcached manager exited"
	before=$(mc_stat cmd_get)
	run mc in "get $CACHEBED:ez"
	assert_output "$(printf 'VALUE %s 0 0\r\n\r\nEND\r' "$CACHEBED:ez")"
	[ "$(mc_stat cmd_get)" -eq "$before" ] || fail "memcached: not served"
	before=$(calls get)
	run cachebed_in $KV get "$CACHEBED_ADDR" "$CACHEBED_REDIS_PORT" "$CACHEBED:ez" 1
	assert_output "$(printf '$0\r\n\r')"
	[ "$(calls get)" -eq "$before" ] || fail "redis: not served"
}

@test "a Redis and a memcached manager at once: each promotes its own keys" {
	rcli_out set "$CACHEBED:two" r >/dev/null
	mc out "set $CACHEBED:two 0 0 1\r\nm" >/dev/null
	# The Redis manager's rounds are many times as frequent: it used to reset every count.
	manager_start redis "$CACHEBED_REDIS_PORT" --interval 20ms
	manager_start memcached "$CACHEBED_MC_PORT" --interval 1s
	for i in $(seq 10); do mc in "get $CACHEBED:two" >/dev/null; done
	cachebed_in $KV get "$CACHEBED_ADDR" "$CACHEBED_REDIS_PORT" "$CACHEBED:two" 10 >/dev/null
	cachebed_wait 5 current "$CACHEBED:two" --proto memcached || fail "memcached: not promoted"
	cachebed_wait 5 current "$CACHEBED:two" || fail "redis: not promoted"
	[ "$(cget "$CACHEBED:two" --proto memcached | jfield value)" = m ]
	[ "$(cget "$CACHEBED:two" | jfield value)" = r ]
}

@test "-j after the command, as before it" {
	run "$VEER" cache stats -j
	assert_success
	[ "$(jfield hit <<<"$output")" -ge 0 ]
	run "$VEER" cache hot --top 1 -j
	assert_success
	assert_output --regexp '^\['
	"$VEER" cache put "$CACHEBED:j" v --ttl 60
	run "$VEER" cache get "$CACHEBED:j" -j
	assert_output --partial '"value":"v"'
}

@test "cache list: control bytes in a key are escaped in the table, exact in JSON" {
	k=$(printf '%s:a\r\nb\\c' "$CACHEBED")
	"$VEER" cache put "$k" v --ttl 60
	run "$VEER" cache list
	assert_success
	assert_output --partial "$CACHEBED:a\\x0d\\x0ab\\\\c"
	# One row per entry: the key did not split its row.
	[ "$(grep -c "^redis *$CACHEBED:a" <<<"$output")" -eq 1 ]
	"$VEER" -j cache list | python3 -c '
import json, sys
keys = [e["key"] for e in json.load(sys.stdin)]
sys.exit(sys.argv[1] not in keys)' "$k" || fail "the JSON key is not exact"
	"$VEER" cache del "$k"
}

@test "bad input: one-line errors, and the server is not contacted" {
	rcli_out config set notify-keyspace-events "" >/dev/null
	conns=$(rinfo total_connections_received)
	run "$VEER" cache manage --server "$CACHEBED_ADDR:$CACHEBED_REDIS_PORT" --max-write-ratio -1
	assert_failure 2
	assert_line --index 0 "veer: invalid ratio '-1' (want a number from 0 to 1000000)"
	run "$VEER" cache manage --server "$CACHEBED_ADDR:$CACHEBED_REDIS_PORT" --max-write-ratio 0.1x
	assert_failure 2
	run "$VEER" cache manage --server "$CACHEBED_ADDR:$CACHEBED_REDIS_PORT" --interval 0
	assert_failure 2
	# A pin directory that is not on a bpffs (as under `ip netns exec`): refused first.
	run cachebed_out "$VEER" --pin-dir "$BATS_TEST_TMPDIR/nobpffs/veer" cache manage \
		--server "$CACHEBED_ADDR:$CACHEBED_REDIS_PORT"
	assert_failure 1
	[ "${#lines[@]}" -eq 1 ] || fail "more than one line: $output"
	[ "$(rinfo total_connections_received)" -eq $((conns + 1)) ] ||
		fail "veer connected to the server" # +1: rinfo's own connection
	[ -z "$(rcli_out config get notify-keyspace-events | sed -n 2p)" ] ||
		fail "notify-keyspace-events was changed"
}

@test "a --proto that does not match the server: one line, and nothing asked of it but a probe" {
	rcli_out config set notify-keyspace-events "" >/dev/null
	run cachebed_out "$VEER" cache manage --server "$CACHEBED_ADDR:$CACHEBED_REDIS_PORT" \
		--proto memcached
	assert_failure 1
	assert_output "veer: $CACHEBED_ADDR:$CACHEBED_REDIS_PORT does not answer 'version' as memcached does (is it Redis? then --proto redis)"
	[ -z "$(rcli_out config get notify-keyspace-events | sed -n 2p)" ] ||
		fail "notify-keyspace-events was changed"
	before=$(mc_stat cmd_get)
	run cachebed_out "$VEER" cache manage --server "$CACHEBED_ADDR:$CACHEBED_MC_PORT"
	assert_failure 1
	assert_output "veer: $CACHEBED_ADDR:$CACHEBED_MC_PORT does not answer PING as Redis does (is it memcached? then --proto memcached)"
	[ "$(mc_stat cmd_get)" -eq "$before" ] || fail "the manager read from memcached"
}
