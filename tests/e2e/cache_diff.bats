#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Differential fuzz of the hot-key cache: the same byte streams, split into the same send()
# calls, go through the cache to one server and directly to an identical second server; the
# replies must be byte-identical (build/veer-cache-diff, tests/fuzz/cache_diff.c). The fixed
# streams of tests/fuzz/cache_diff.streams run first, then generated ones from a fixed seed.
#
# VEER_CACHE_DIFF_STREAMS (default 500) and VEER_CACHE_DIFF_SEED (default fixed; "random"
# draws one, printed) change the generated run; `make fuzz` runs it long.

load cache_helpers

DIFF=$E2E_ROOT/build/veer-cache-diff
STREAMS_FILE=$E2E_ROOT/tests/fuzz/cache_diff.streams
# The second server of each protocol, on a port the cache does not serve.
REDIS_B_PORT=16390
MC_B_PORT=11322

setup_file() {
	export CACHEBED="vcd$$"
	[ -x "$DIFF" ] || { echo "$DIFF is missing: make" >&2; return 1; }
	cachebed_up || return 1
	cachebed_bg redis-server --bind "$CACHEBED_ADDR" --port "$REDIS_B_PORT" --save '' \
		--appendonly no --protected-mode no --daemonize no
	cachebed_bg memcached -u root -l "$CACHEBED_ADDR" -p "$MC_B_PORT" -U 0 -t 1
	cachebed_wait 10 cachebed_out redis-cli -h "$CACHEBED_ADDR" -p "$REDIS_B_PORT" ping &&
		cachebed_wait 10 cachebed_out bash -c "exec 3<>/dev/tcp/$CACHEBED_ADDR/$MC_B_PORT" ||
		{ cachebed_down; echo "the second servers did not start" >&2; return 1; }
	seed=${VEER_CACHE_DIFF_SEED:-0x5eed0001}
	[ "$seed" = random ] && seed=$(printf '0x%04x%04x%04x' $RANDOM $RANDOM $RANDOM)
	export DIFF_SEED=$seed DIFF_STREAMS=${VEER_CACHE_DIFF_STREAMS:-500}
}

teardown_file() {
	cachebed_down
}

# diff_run PROTO ARGS...: the driver, whose stream connections join the cache's cgroup (its
# control connections, made first, stay outside): A through the cache, B direct.
diff_run() {
	local a b
	if [ "$1" = redis ]; then
		a=$CACHEBED_REDIS_PORT b=$REDIS_B_PORT
	else
		a=$CACHEBED_MC_PORT b=$MC_B_PORT
	fi
	cachebed_out "$DIFF" --proto "$1" --cached "$CACHEBED_ADDR:$a" --direct "$CACHEBED_ADDR:$b" \
		--cgroup "$(cachebed_cg)" "${@:2}"
}

# The "hit N" of the driver's summary line.
hits_of() { sed -n 's/.*, hit \([0-9]*\),.*/\1/p' <<<"$1" | tail -1; }

fixed_streams() {
	run diff_run "$1" --fixed "$STREAMS_FILE" --streams 0 -v
	assert_success
}

generated_streams() {
	echo "seed $DIFF_SEED, $DIFF_STREAMS streams" >&3
	run diff_run "$1" --seed "$DIFF_SEED" --streams "$DIFF_STREAMS"
	tail -1 <<<"$output" >&3
	assert_success
	# Equal replies prove something only if the cache answered many of the GETs itself.
	hits=$(hits_of "$output")
	[ -n "$hits" ] && [ "$hits" -ge $((DIFF_STREAMS / 4)) ] ||
		fail "only ${hits:-no} hits in $DIFF_STREAMS streams"
}

@test "redis: the fixed reproducers get the server's replies through the cache" {
	fixed_streams redis
}

@test "redis: generated streams get the server's replies through the cache" {
	generated_streams redis
}

@test "memcached: the fixed reproducers get the server's replies through the cache" {
	fixed_streams memcached
}

@test "memcached: generated streams get the server's replies through the cache" {
	generated_streams memcached
}
