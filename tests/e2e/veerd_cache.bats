#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The hot-key cache under veerd, in front of a real redis-server (the cache testbed,
# scripts/cachebed.sh): the `cache:` block attaches the cache to the clients' cgroup and runs
# the manager in veerd's loop. Hot keys get promoted and are served in the kernel; cached data
# is never served without a live invalidation feed:
#   - veerd killed with SIGKILL bumps nothing, but its lease runs out within 2 s and GETs
#     reach the server again; the next veerd makes every entry stale as it starts;
#   - the subscription killed on the server (CLIENT KILL TYPE pubsub): stale at once, and
#     veerd subscribes again;
#   - veerd stopped: every entry stale, the cache still attached.

load cache_helpers

KV="python3 $E2E_DIR/kv_client.py"
# What polling and a loaded machine add to the 2 s lease.
LEASE_SLACK_MS=700

setup_file() {
	[ -x "$E2E_ROOT/build/veerd" ] || { echo "build/veerd is missing: make" >&2; return 1; }
	# A copy, as for veer: a rebuild during the run cannot swap the binary under the suite.
	cp "$E2E_ROOT/build/veerd" "$BATS_FILE_TMPDIR/veerd"
	export CACHEBED="vcd$$"
	cachebed_up || return 1
	# The testbed attached the cache by hand: undone, so that veerd's own attach is tested.
	"$VEER" cache detach --cgroup "$(cachebed_cg)" &&
		"$VEER" cache detach --port "$CACHEBED_REDIS_PORT" &&
		"$VEER" cache detach --port "$CACHEBED_MC_PORT"
}

teardown_file() {
	veerd_stop
	cachebed_down
}

teardown() {
	veerd_stop
}

gone() { ! kill -0 "$1" 2>/dev/null; }
now_ms() { date +%s%3N; }

VEERD_PID=

# veerd_start: veerd in the testbed's namespace (where the server is), on this suite's pins.
veerd_start() {
	local conf=$BATS_FILE_TMPDIR/veer.yaml
	cat >"$conf" <<EOF
cache:
  cgroup: $(cachebed_cg)
  port: $CACHEBED_REDIS_PORT
  proto: redis
  server: $CACHEBED_ADDR:$CACHEBED_REDIS_PORT
  hot_keys: {top: 100, ttl: 30s, interval: 100ms}
metrics: {listen: off}
EOF
	chmod 0600 "$conf"
	nsenter --net="/run/netns/$(cachebed_ns)" "$BATS_FILE_TMPDIR/veerd" -d -v -f "$conf" \
		--pin-dir "$VEER_PIN_DIR" </dev/null >>"$BATS_FILE_TMPDIR/veerd.log" 2>&1 3>&- &
	VEERD_PID=$!
	cachebed_wait 10 cache_live redis ||
		{ cat "$BATS_FILE_TMPDIR/veerd.log" >&3; fail "veerd's manager did not go live"; }
}

veerd_stop() {
	[ -n "$VEERD_PID" ] || return 0
	kill "$VEERD_PID" 2>/dev/null || true
	cachebed_wait 5 gone "$VEERD_PID" || kill -9 "$VEERD_PID" 2>/dev/null || true
	wait "$VEERD_PID" 2>/dev/null || true
	VEERD_PID=
}

current() { "$VEER" -j cache get "$1" 2>/dev/null | grep -q '"current":true'; }
stale() { ! current "$1"; }

# promote KEY: misses through the cache until veerd's manager has promoted it.
promote() {
	cachebed_in $KV get "$CACHEBED_ADDR" "$CACHEBED_REDIS_PORT" "$1" 20 >/dev/null
	cachebed_wait 5 current "$1" ||
		{ cat "$BATS_FILE_TMPDIR/veerd.log" >&3; fail "$1 was not promoted"; }
}

# served KEY VALUE: a GET through the cache gets VALUE from the kernel: a hit, and the server
# never sees it.
served() {
	local before hits
	before=$(calls get) hits=$(cache_stat hit)
	run rcli_in get "$1"
	assert_output "$2"
	[ "$(cache_stat hit)" -eq $((hits + 1)) ] || fail "the GET of $1 was not a hit"
	[ "$(calls get)" -eq "$before" ] || fail "the GET of $1 reached the server"
}

# passed KEY VALUE: a GET through the cache is not served from it: the server answers VALUE.
# (Not counted by the server's own counter: the manager's fills count there too.)
passed() {
	local hits
	hits=$(cache_stat hit)
	run rcli_in get "$1"
	assert_output "$2"
	[ "$(cache_stat hit)" -eq "$hits" ] || fail "the GET of $1 was served from the cache"
}

@test "veerd attaches the cache from its cache block; hot keys are promoted and served in the kernel" {
	rcli_out set "$CACHEBED:hot" warm
	flush=$(cache_stat flush)
	veerd_start
	[ "$(cache_stat flush)" -gt "$flush" ] || fail "the epoch was not bumped at start"
	ls "$VEER_PIN_DIR"/cache_cg_* >/dev/null || fail "no sockops link pinned for the cgroup"
	promote "$CACHEBED:hot"
	served "$CACHEBED:hot" warm
}

@test "veerd killed by SIGKILL: its lease runs out, GETs reach the server; the next veerd makes entries stale" {
	rcli_out set "$CACHEBED:k9" before
	veerd_start
	promote "$CACHEBED:k9"
	served "$CACHEBED:k9" before
	# A write from outside the cgroup that no one follows any more.
	kill -9 "$VEERD_PID"
	wait "$VEERD_PID" 2>/dev/null || true
	VEERD_PID=
	t0=$(now_ms)
	rcli_out set "$CACHEBED:k9" after
	cachebed_wait 5 stale "$CACHEBED:k9" || fail "still current 5 s after veerd was killed"
	ms=$(($(now_ms) - t0))
	echo "entries stale ${ms} ms after SIGKILL" >&3
	[ "$ms" -le $((2000 + LEASE_SLACK_MS)) ] || fail "served for $ms ms without a feed"
	lapsed=$(cache_stat lapsed)
	passed "$CACHEBED:k9" after
	[ "$(cache_stat lapsed)" -gt "$lapsed" ] || fail "the GET was not counted as lapsed"
	# A new veerd: what the killed one promoted is stale for good. The key may be promoted
	# again (it was missed), with the server's value.
	flush=$(cache_stat flush)
	veerd_start
	[ "$(cache_stat flush)" -gt "$flush" ] || fail "the epoch was not bumped at start"
	run rcli_in get "$CACHEBED:k9"
	assert_output after
	# Current, if at all, only with the value the server has now.
	e=$("$VEER" -j cache get "$CACHEBED:k9" 2>/dev/null) || e='{"current": false}'
	python3 -c '
import json, sys
e = json.load(sys.stdin)
sys.exit(e["current"] and e["value"] != "after")' <<<"$e" || fail "the killed veerd's entry is current"
}

@test "the subscription killed on the server: every entry stale at once, veerd subscribes again" {
	rcli_out set "$CACHEBED:sub" one
	veerd_start
	promote "$CACHEBED:sub"
	served "$CACHEBED:sub" one
	t0=$(now_ms)
	run rcli_out client kill type pubsub
	assert_output 1
	cachebed_wait 2 stale "$CACHEBED:sub" || fail "still current after the subscription was killed"
	echo "stale $(($(now_ms) - t0)) ms after CLIENT KILL" >&3
	passed "$CACHEBED:sub" one
	grep -q "keyspace notifications of .* lost" "$BATS_FILE_TMPDIR/veerd.log" ||
		fail "the loss was not logged"
	cachebed_wait 5 cache_live redis || fail "not subscribed again"
	promote "$CACHEBED:sub"
	served "$CACHEBED:sub" one
}

@test "veerd stopped: every entry stale, no lease held, the cache still attached" {
	rcli_out set "$CACHEBED:stop" v
	veerd_start
	promote "$CACHEBED:stop"
	veerd_stop
	stale "$CACHEBED:stop" || fail "current after veerd stopped"
	[ "$(cache_lease redis)" = None ] || fail "a lease is still held: $(cache_lease redis)"
	ls "$VEER_PIN_DIR"/cache_cg_* >/dev/null || fail "the cgroup was detached"
	passed "$CACHEBED:stop" v
	# Entries put by hand serve without a manager, as before any manager ran.
	"$VEER" cache put "$CACHEBED:stop" byhand --ttl 60
	served "$CACHEBED:stop" byhand
}
