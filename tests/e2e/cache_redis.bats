#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The hot-key cache in front of a real redis-server: hits never reach the server, misses and
# writes do, replies keep their order, writes invalidate (local ones in the kernel, others
# through keyspace notifications), and hot keys get promoted.

load cache_helpers

KV="python3 $E2E_DIR/kv_client.py"

setup_file() {
	export CACHEBED="vcr$$"
	cachebed_up
}

teardown_file() {
	cachebed_down
}

# manager_start [ARGS]: the cache manager in the background (ended by manager_stop), once it
# follows the server: its start made every entry stale, and what is put now stays current.
manager_start() {
	CACHEBED_BG_LOG=$BATS_TEST_TMPDIR/manager.log cachebed_bg "$VEER" -v cache manage \
		--server "$CACHEBED_ADDR:$CACHEBED_REDIS_PORT" "$@"
	MANAGER=$CACHEBED_BG_PID
	cachebed_wait 10 cache_live redis ||
		{ manager_stop; fail "the manager did not start: $(cat "$BATS_TEST_TMPDIR/manager.log")"; }
}

manager_stop() {
	[ -n "${MANAGER:-}" ] || return 0
	kill "$MANAGER" 2>/dev/null
	wait "$MANAGER" 2>/dev/null || true
	MANAGER=
}

# A test that fails with its manager running must not leave it to the next ones.
teardown() {
	manager_stop
}

@test "a cached GET is answered in the kernel: the server never sees it" {
	rcli_out set "$CACHEBED:k1" hello
	"$VEER" cache put "$CACHEBED:k1" hello --ttl 60
	before=$(calls get)
	hits=$(cache_stat hit)
	run rcli_in get "$CACHEBED:k1"
	assert_output hello
	[ "$(calls get)" -eq "$before" ] || fail "the server counted the GET"
	[ "$(cache_stat hit)" -gt "$hits" ] || fail "no hit counted"
}

@test "IPv6 clients are served too" {
	rcli_out set "$CACHEBED:v6" fromserver
	"$VEER" cache put "$CACHEBED:v6" fromcache --ttl 60
	before=$(calls get)
	run cachebed_in redis-cli -h "$CACHEBED_ADDR6" -p "$CACHEBED_REDIS_PORT" get "$CACHEBED:v6"
	assert_output fromcache
	[ "$(calls get)" -eq "$before" ] || fail "the server counted the GET"
	run cachebed_in redis-cli -h "$CACHEBED_ADDR6" -p "$CACHEBED_REDIS_PORT" set "$CACHEBED:v6" new
	run cachebed_in redis-cli -h "$CACHEBED_ADDR6" -p "$CACHEBED_REDIS_PORT" get "$CACHEBED:v6"
	assert_output new
}

# node-redis and ioredis send HELLO 3 and CLIENT SETINFO at connect, python-redis CLIENT
# SETNAME with client_name: set-up commands the cache follows, so their GETs are served.
# node-redis over TCP also sends CLIENT MAINT_NOTIFICATIONS, which Redis 7.0 refuses: serving
# stays on.
@test "node-redis, ioredis and python-redis connections are served after their handshakes" {
	rcli_out set "$CACHEBED:cl" fromserver
	"$VEER" cache put "$CACHEBED:cl" fromcache --ttl 60
	before=$(calls get)
	hits=$(cache_stat hit)
	off=$(cache_stat off_command)
	run cachebed_in node -e "
		const {createClient} = require('$E2E_DIR/node/node_modules/redis');
		(async () => {
			const c = createClient({socket: {host: '$CACHEBED_ADDR',
				port: $CACHEBED_REDIS_PORT}});
			await c.connect();
			console.log(await c.get('$CACHEBED:cl'));
			c.destroy();
		})();"
	assert_output fromcache
	run cachebed_in node -e "
		const Redis = require('$E2E_DIR/node/node_modules/ioredis');
		const c = new Redis({host: '$CACHEBED_ADDR', port: $CACHEBED_REDIS_PORT});
		c.get('$CACHEBED:cl').then((v) => { console.log(v); c.disconnect(); });"
	assert_output fromcache
	run cachebed_in /usr/bin/python3 -c "
import redis
r = redis.Redis(host='$CACHEBED_ADDR', port=$CACHEBED_REDIS_PORT, client_name='app')
print(r.get('$CACHEBED:cl').decode())"
	assert_output fromcache
	[ "$(calls get)" -eq "$before" ] || fail "the server counted a GET"
	[ "$(cache_stat hit)" -eq $((hits + 3)) ] || fail "not three hits"
	[ "$(cache_stat off_command)" -eq "$off" ] || fail "a set-up command switched serving off"
}

@test "a miss reaches the server and is counted as a hot key" {
	before=$(calls get)
	run rcli_in get "$CACHEBED:absent"
	assert_output ""
	[ "$(calls get)" -eq $((before + 1)) ] || fail "the server did not see the GET"
	run "$VEER" -j cache hot --top 16384 # others may have hotter keys
	assert_output --partial "\"$CACHEBED:absent\""
}

@test "a write through the cache invalidates the key before it reaches the server" {
	rcli_out set "$CACHEBED:k2" v1
	"$VEER" cache put "$CACHEBED:k2" v1 --ttl 60
	run rcli_in set "$CACHEBED:k2" v2
	assert_output OK
	run rcli_in get "$CACHEBED:k2"
	assert_output v2
	run "$VEER" -j cache get "$CACHEBED:k2"
	assert_output --partial '"current":false'
}

@test "a write from outside the cgroup is caught by keyspace notifications within 1 s" {
	# Written before the manager follows: a notified write with no read yet would make the
	# key write-heavy, and the manager would demote it.
	rcli_out set "$CACHEBED:k3" old
	manager_start --interval 100ms
	"$VEER" cache put "$CACHEBED:k3" old --ttl 60
	hits=$(cache_stat hit)
	run rcli_in get "$CACHEBED:k3"
	assert_output old
	[ "$(cache_stat hit)" -gt "$hits" ] || fail "the entry was not served before the write"
	start=$(date +%s%N)
	rcli_out set "$CACHEBED:k3" new
	until [ "$(rcli_in get "$CACHEBED:k3")" = new ]; do
		stale_ms=$(( ($(date +%s%N) - start) / 1000000 ))
		[ "$stale_ms" -lt 5000 ] || { manager_stop; fail "the stale value outlived 5 s"; }
	done
	stale_ms=$(( ($(date +%s%N) - start) / 1000000 ))
	manager_stop
	echo "stale window: $stale_ms ms" >&3
	[ "$stale_ms" -lt 1000 ] || fail "stale for $stale_ms ms"
}

@test "hot keys are promoted by the manager and then served in the kernel, until it stops" {
	rcli_out set "$CACHEBED:hot" warm
	manager_start --interval 100ms --top 10
	cachebed_in $KV get "$CACHEBED_ADDR" "$CACHEBED_REDIS_PORT" "$CACHEBED:hot" 20 >/dev/null
	cachebed_wait 5 bash -c "'$VEER' -j cache get '$CACHEBED:hot' | grep -q '\"current\":true'" ||
		{ manager_stop; cat "$BATS_TEST_TMPDIR/manager.log"; fail "not promoted"; }
	# A current key draws no fill: the server's GET count is the client's alone.
	before=$(calls get)
	run rcli_in get "$CACHEBED:hot"
	assert_output warm
	[ "$(calls get)" -eq "$before" ] || fail "the promoted key still reached the server"
	# Without a manager, no feed of writes: what it promoted is never served.
	manager_stop
	"$VEER" -j cache get "$CACHEBED:hot" | grep -q '"current":false' ||
		fail "still current after the manager stopped"
	before=$(calls get)
	run rcli_in get "$CACHEBED:hot"
	assert_output warm
	[ "$(calls get)" -eq $((before + 1)) ] || fail "served after the manager stopped"
}

@test "hot-key promotion under a Zipf workload: most GETs are answered in the kernel" {
	VB=$E2E_ROOT/build/veer-bench
	[ -x "$VB" ] || fail "$VB is missing: make"
	bench() { "cachebed_$1" "$VB" kv --server "$CACHEBED_ADDR:$CACHEBED_REDIS_PORT" --keys 2000 "${@:2}"; }
	bench out --fill --requests 0
	manager_start --interval 200ms --top 200
	bench in --zipf 1.1 --seconds 2 >/dev/null # the manager learns the hot keys
	hits=$(cache_stat hit) misses=$(cache_stat miss)
	run bench in --zipf 1.1 --seconds 2 --check
	manager_stop
	assert_success
	assert_output --partial "errors=0"
	hits=$(( $(cache_stat hit) - hits )) misses=$(( $(cache_stat miss) - misses ))
	echo "hits $hits, misses $misses" >&3
	# 200 of 2000 keys cached cover about 75% of a Zipf(1.1) workload.
	(( hits * 100 > (hits + misses) * 60 )) || fail "hit ratio $hits/$((hits + misses))"
}

# Requests of the ordering test: hits, misses, writes, deletes, a transaction, each its own
# send(), replies read every 10 (mod 10 == 1 is the first request after a drain).
ordering_script() {
	local k=$CACHEBED
	for i in $(seq 0 9); do
		echo "GET $k:c$i"
		echo "BLPOP $k:empty 0.02" # a reply still owed when the next GET is sent
		echo "GET $k:c$i"
		echo "SET $k:w$i v$i"
		echo "INCR $k:n"
		echo "GET $k:w$i"
		echo "DEL $k:w$i"
		echo "MULTI"
		echo "SET $k:c$((i + 1)) changed$i"
		echo "EXEC"
	done
}

ordering_reset() {
	local i
	for i in $(seq 0 10); do
		rcli_out set "$CACHEBED:c$i" "cached$i" >/dev/null
		"$VEER" cache put "$CACHEBED:c$i" "cached$i" --ttl 60 >/dev/null
	done
	rcli_out del "$CACHEBED:n" >/dev/null
}

@test "100 pipelined mixed commands get byte-identical replies with and without the cache" {
	ordering_script >"$BATS_TEST_TMPDIR/script"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/script")" -eq 100 ]
	ordering_reset
	cachebed_out $KV pipe "$CACHEBED_ADDR" "$CACHEBED_REDIS_PORT" "$BATS_TEST_TMPDIR/script" \
		>"$BATS_TEST_TMPDIR/plain"
	ordering_reset
	hits=$(cache_stat hit)
	owed=$(cache_stat pass_owed)
	cachebed_in $KV pipe "$CACHEBED_ADDR" "$CACHEBED_REDIS_PORT" "$BATS_TEST_TMPDIR/script" \
		>"$BATS_TEST_TMPDIR/cached"
	cmp "$BATS_TEST_TMPDIR/plain" "$BATS_TEST_TMPDIR/cached" ||
		fail "replies differ: $(diff <(tr '\r' ' ' <"$BATS_TEST_TMPDIR/plain") <(tr '\r' ' ' <"$BATS_TEST_TMPDIR/cached") | head)"
	[ "$(cache_stat hit)" -gt "$hits" ] || fail "no request was served from the cache"
	[ "$(cache_stat pass_owed)" -gt "$owed" ] || fail "no cached GET had to wait for the server"
}

@test "the same mix sent all at once (a client that never reads until the end)" {
	ordering_script >"$BATS_TEST_TMPDIR/script"
	ordering_reset
	cachebed_out $KV pipe "$CACHEBED_ADDR" "$CACHEBED_REDIS_PORT" "$BATS_TEST_TMPDIR/script" \
		--drain 1000 >"$BATS_TEST_TMPDIR/plain"
	ordering_reset
	cachebed_in $KV pipe "$CACHEBED_ADDR" "$CACHEBED_REDIS_PORT" "$BATS_TEST_TMPDIR/script" \
		--drain 1000 >"$BATS_TEST_TMPDIR/cached"
	cmp "$BATS_TEST_TMPDIR/plain" "$BATS_TEST_TMPDIR/cached"
}

@test "redis-benchmark -P 16 through the cache: no errors, the reply count stays in step" {
	"$VEER" cache put "key:__rand_int__" xxx --ttl 60
	off=$(cache_stat off_protocol)
	run cachebed_in redis-benchmark -h "$CACHEBED_ADDR" -p "$CACHEBED_REDIS_PORT" -n 20000 \
		-c 4 -P 16 -t set,get,incr,lpush,lpop --csv
	assert_success
	refute_output --partial ERR
	[ "$(cache_stat off_protocol)" -eq "$off" ] || fail "a connection lost count of its replies"
	"$VEER" cache del "key:__rand_int__"
}

@test "a fill racing with writes for 10 s never leaves a stale value after an acknowledged write" {
	# The key is written once per 5 reads: write-heavy for the default rule, let in here so
	# that fills do race with the writes.
	manager_start --interval 20ms --top 10 --max-write-ratio 1000
	hits=$(cache_stat hit)
	run cachebed_in $KV race "$CACHEBED_ADDR" "$CACHEBED_REDIS_PORT" "$CACHEBED:race" 10
	manager_stop
	hits=$(( $(cache_stat hit) - hits ))
	echo "$output hits=$hits" >&3
	assert_output --partial "stale=0"
	# Promotions that landed between writes were served: the race was run, not avoided.
	[ "$hits" -gt 0 ] || fail "no read was served from the cache"
}

@test "FLUSHALL through the cache makes every entry stale" {
	"$VEER" cache put "$CACHEBED:f" x --ttl 60
	run rcli_in flushall
	assert_output OK
	run "$VEER" -j cache get "$CACHEBED:f"
	assert_output --partial '"current":false'
}

@test "bad input: one-line errors, exit codes, nothing changed" {
	run "$VEER" cache attach --cgroup /nonexistent --port 6379
	assert_failure 1
	assert_output --partial "cannot open cgroup /nonexistent"
	run "$VEER" cache attach --cgroup "$(cachebed_cg)" --port 0
	assert_failure 2
	run "$VEER" cache attach --cgroup "$(cachebed_cg)" --port "$CACHEBED_REDIS_PORT" --proto memcached
	assert_failure 1
	assert_output --partial "it is cached as redis"
	run "$VEER" cache attach --cgroup "$(cachebed_cg)" --port 6380 --proto gopher
	assert_failure 2
	run "$VEER" cache put "$(printf 'k%.0s' $(seq 251))" v
	assert_failure 2
	run "$VEER" cache put "$CACHEBED:big" "$(printf 'v%.0s' $(seq 1025))"
	assert_failure 2
	assert_output --partial "maximum is 1024"
	run "$VEER" cache get "$CACHEBED:never"
	assert_failure 1
	assert_output "veer: cannot get key '$CACHEBED:never': not cached"
	run "$VEER" cache detach --cgroup /sys/fs/cgroup/unified
	assert_failure 1
	run "$VEER" cache manage --server nowhere
	assert_failure 2
}
