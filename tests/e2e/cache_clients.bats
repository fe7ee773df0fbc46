#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The hot-key cache with the client libraries applications use, each at its default options:
# node-redis and ioredis (HELLO 3 and CLIENT SETINFO at connect), python3-redis with and
# without client_name= (CLIENT SETNAME), pymemcache. Each runs in the cache's cgroup, GETs a
# cached key 200 times on one connection, and must get the right value every time while the
# server's own GET counter stays still; a new key missed through that client gets promoted by
# the manager and is then served.

load cache_helpers

NODE_DIR=$E2E_DIR/node
N=200

setup_file() {
	export CACHEBED="vcc$$"
	[ -d "$NODE_DIR/node_modules/redis" ] && [ -d "$NODE_DIR/node_modules/ioredis" ] ||
		{ echo "the Node.js clients are missing: bash scripts/deps.sh" >&2; return 1; }
	cachebed_up
}

teardown_file() {
	cachebed_down
}

# client LIB KEY COUNT VALUE: the client library in the cache's cgroup.
client() {
	local lib=$1 port=$CACHEBED_REDIS_PORT
	case $lib in
	node-redis | ioredis)
		cachebed_in node "$E2E_DIR/cache_client.js" "$lib" "$CACHEBED_ADDR" "$port" "${@:2}"
		;;
	pymemcache)
		cachebed_in /usr/bin/python3 "$E2E_DIR/cache_client.py" "$lib" "$CACHEBED_ADDR" \
			"$CACHEBED_MC_PORT" "${@:2}"
		;;
	*)
		cachebed_in /usr/bin/python3 "$E2E_DIR/cache_client.py" "$lib" "$CACHEBED_ADDR" "$port" \
			"${@:2}"
		;;
	esac
}

proto_of() { [ "$1" = pymemcache ] && echo memcached || echo redis; }

# The server's own count of GETs: Redis's commandstats, memcached's cmd_get.
server_gets() {
	if [ "$1" = memcached ]; then
		cachebed_out bash -c "exec 3<>/dev/tcp/$CACHEBED_ADDR/$CACHEBED_MC_PORT &&
			printf 'stats\r\nquit\r\n' >&3 && cat <&3" | tr -d '\r' | sed -n 's/^STAT cmd_get //p'
	else
		cachebed_out redis-cli -h "$CACHEBED_ADDR" -p "$CACHEBED_REDIS_PORT" info commandstats |
			tr -d '\r' | sed -n 's/^cmdstat_get:calls=\([0-9]*\),.*/\1/p' | grep . || echo 0
	fi
}

# server_set PROTO KEY VALUE: the value on the server, written from outside the cgroup.
server_set() {
	if [ "$1" = memcached ]; then
		cachebed_out bash -c "exec 3<>/dev/tcp/$CACHEBED_ADDR/$CACHEBED_MC_PORT &&
			printf 'set %s 0 0 %d\r\n%s\r\nquit\r\n' '$2' ${#3} '$3' >&3 && cat <&3" |
			grep -q STORED
	else
		cachebed_out redis-cli -h "$CACHEBED_ADDR" -p "$CACHEBED_REDIS_PORT" set "$2" "$3" |
			grep -q OK
	fi
}

# served LIB: a cached key, N GETs through the client: right values, no GET at the server.
served() {
	local lib=$1 proto key=$CACHEBED:$1:hit before hits
	proto=$(proto_of "$lib")
	server_set "$proto" "$key" "v-$lib"
	"$VEER" cache put "$key" "v-$lib" --proto "$proto" --ttl 120
	before=$(server_gets "$proto") hits=$(cache_stat hit)
	run client "$lib" "$key" "$N" "v-$lib"
	assert_output ok
	echo "server GETs $before -> $(server_gets "$proto"), hits $hits -> $(cache_stat hit)" >&3
	[ "$(server_gets "$proto")" -eq "$before" ] ||
		fail "the server saw $(($(server_gets "$proto") - before)) of $N GETs"
	[ "$(cache_stat hit)" -ge $((hits + N)) ] || fail "$((hits + N - $(cache_stat hit))) GETs not hits"
}

# promoted LIB: a new key, missed through the client, gets promoted by the manager and is
# then served to that client.
promoted() {
	local lib=$1 proto key=$CACHEBED:$1:hot manager before
	proto=$(proto_of "$lib")
	server_set "$proto" "$key" "hot-$lib"
	CACHEBED_BG_LOG=$BATS_TEST_TMPDIR/manager.log cachebed_bg "$VEER" -v cache manage \
		--proto "$proto" --interval 100ms --top 10 --server "$CACHEBED_ADDR:$(
			[ "$proto" = redis ] && echo "$CACHEBED_REDIS_PORT" || echo "$CACHEBED_MC_PORT")"
	manager=$CACHEBED_BG_PID
	cachebed_wait 10 cache_live "$proto" ||
		{ kill "$manager"; cat "$BATS_TEST_TMPDIR/manager.log"; fail "no manager"; }
	run client "$lib" "$key" 20 "hot-$lib"
	assert_output ok
	cachebed_wait 5 bash -c "'$VEER' -j cache get '$key' --proto $proto | grep -q '\"current\":true'" ||
		{ kill "$manager"; cat "$BATS_TEST_TMPDIR/manager.log"; fail "not promoted"; }
	before=$(server_gets "$proto")
	run client "$lib" "$key" "$N" "hot-$lib"
	kill "$manager"
	wait "$manager" 2>/dev/null || true
	assert_output ok
	[ "$(server_gets "$proto")" -eq "$before" ] ||
		fail "the server saw $(($(server_gets "$proto") - before)) of $N GETs of the promoted key"
}

@test "node-redis at its defaults (HELLO 3, CLIENT SETINFO) is served" {
	served node-redis
}

@test "node-redis: a key it misses is promoted, then served" {
	promoted node-redis
}

@test "ioredis at its defaults is served" {
	served ioredis
}

@test "ioredis: a key it misses is promoted, then served" {
	promoted ioredis
}

@test "python3-redis at its defaults is served" {
	served redis
}

@test "python3-redis: a key it misses is promoted, then served" {
	promoted redis
}

@test "python3-redis with client_name= (CLIENT SETNAME) is served" {
	served redis-named
}

@test "python3-redis with client_name=: a key it misses is promoted, then served" {
	promoted redis-named
}

@test "pymemcache at its defaults is served" {
	served pymemcache
}

@test "pymemcache: a key it misses is promoted, then served" {
	promoted pymemcache
}
