#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`, the cache part: GET rate and latency through veer's hot-key cache against the
# same server reached directly, same client (veer-bench kv), same keys, in the same run. Writes
# a table to stdout and the "Hot-key cache" section of docs/BENCHMARKS.md (replacing it).
# Runs in the cache testbed (scripts/cachebed.sh): one namespace, 198.18.70.1, clients in a
# cgroup; a trap removes everything.
#
# Environment: BENCH_CACHE_SECONDS (per run, default 1.5), BENCH_CACHE_REPS (interleaved
# rounds, default 3), BENCH_OUT (default docs/BENCHMARKS.md; "-" writes nothing), BUILD.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export VEER=$BUILD/veer
VB=$BUILD/veer-bench
OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
SECS=${BENCH_CACHE_SECONDS:-1.5}
REPS=${BENCH_CACHE_REPS:-3}
KEYS=100
# A key space much larger than the cache (veer_cache_data holds 16384 entries), so the hit
# ratio measures how well the manager picks keys, not how many fit.
ZIPF_KEYS=${BENCH_ZIPF_KEYS:-1000000} ZIPF_THETA=0.99 ZIPF_TOP=16384 ZIPF_SECONDS=8
NODE_CLIENTS=(node-redis ioredis)
MARKER="## C. Hot-key cache"

CACHEBED=vbcache$$
# Room for the Zipf run's million items: at memcached's default 64 MB it evicts half of them.
CACHEBED_MC_MB=512
source "$ROOT/scripts/cachebed.sh"
say() { printf '[bench cache %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf 'bench cache: %s\n' "$*" >&2; exit 1; }

MANAGER=
cleanup() {
	set +e
	trap - EXIT INT TERM
	[ -z "$MANAGER" ] || kill "$MANAGER" 2>/dev/null
	cachebed_down
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "needs root"
[ -x "$VEER" ] && [ -x "$VB" ] || die "build first: make"
say "testbed $CACHEBED"
cachebed_up || die "cannot build the cache testbed"

port_of() { [ "$1" = redis ] && echo "$CACHEBED_REDIS_PORT" || echo "$CACHEBED_MC_PORT"; }

# kv SIDE PROTO ARGS...: one run of the load client; prints its key=value line.
kv() {
	local side=$1 proto=$2
	shift 2
	"cachebed_$side" "$VB" kv --server "$CACHEBED_ADDR:$(port_of "$proto")" --proto "$proto" "$@"
}
field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
median() { tr ' ' '\n' <<<"$*" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
node_version() { node -p "require('$ROOT/tests/e2e/node/node_modules/$1/package.json').version"; }
stat() { "$VEER" -j cache stats | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# cache_keys PROTO SIZE WITH: the cache holds the server's values of k:0..KEYS-1 when WITH is
# 1, none of them otherwise.
# The value veer-bench kv --fill stores: the key, ':', then 'v' up to SIZE bytes.
cache_keys() {
	local proto=$1 size=$2 with=$3 i value pad
	pad=$(head -c "$size" /dev/zero | tr '\0' v)
	for ((i = 0; i < KEYS; i++)); do
		value="k:$i:$pad"
		value=${value:0:$size}
		if [ "$with" = 1 ]; then
			"$VEER" cache put --proto "$proto" --ttl 600 "k:$i" "$value" >/dev/null
		else
			"$VEER" cache del --proto "$proto" "k:$i" >/dev/null 2>&1 || true
		fi
	done
}

WORKLOADS=("seq:--conns 1 --pipeline 1" "c50:--conns 50 --pipeline 1" "p16:--conns 4 --pipeline 16")
declare -A RATE P50 P99
for proto in redis memcached; do
	for size in 32 1024; do
		say "$proto, $size-byte values"
		kv out "$proto" --keys "$KEYS" --value-size "$size" --fill --requests 0 --pipeline 256 >/dev/null
		for ((r = 0; r < REPS; r++)); do
			for w in "${WORKLOADS[@]}"; do
				name=${w%%:*} args=${w#*:}
				# plain, then misses through the cache, then hits through the cache
				for variant in plain miss hit; do
					case $variant in
					plain) side=out ;;
					miss) side=in; cache_keys "$proto" "$size" 0 ;;
					hit) side=in; cache_keys "$proto" "$size" 1 ;;
					esac
					# shellcheck disable=SC2086 # args is a word list
					line=$(kv "$side" "$proto" --keys "$KEYS" --value-size "$size" \
						--seconds "$SECS" --check $args)
					[ "$(field errors "$line")" = 0 ] || die "$proto $name $variant: $line"
					k=$proto/$size/$name/$variant
					RATE[$k]="${RATE[$k]:-} $(field rate "$line")"
					P50[$k]="${P50[$k]:-} $(field p50_us "$line")"
					P99[$k]="${P99[$k]:-} $(field p99_us "$line")"
				done
			done
		done
		cache_keys "$proto" "$size" 0
	done
done

# The Node.js clients most applications use, at their default options (RESP3 handshake
# included), sequential GETs: plain, misses and hits, interleaved like the rest.
declare -A NRATE NP50 NUSER NSYS
say "node-redis and ioredis at their defaults"
kv out redis --keys "$KEYS" --value-size 32 --fill --requests 0 --pipeline 256 >/dev/null
for ((r = 0; r < REPS; r++)); do
	for client in "${NODE_CLIENTS[@]}"; do
		for variant in plain miss hit; do
			case $variant in
			plain) side=out ;;
			miss) side=in; cache_keys redis 32 0 ;;
			hit) side=in; cache_keys redis 32 1 ;;
			esac
			h0=$(stat hit)
			line=$("cachebed_$side" node "$ROOT/tests/bench/node_get.js" "$client" \
				"$CACHEBED_ADDR" "$CACHEBED_REDIS_PORT" "$KEYS" "$SECS" 32)
			[ "$(field errors "$line")" = 0 ] || die "$client $variant: $line"
			# A hit run that the kernel did not answer would be a plain run in disguise.
			if [ "$variant" = hit ] && (($(stat hit) - h0 < $(field requests "$line") * 9 / 10)); then
				die "$client: the cache answered fewer than 90% of the hit run's GETs"
			fi
			k=$client/$variant
			NRATE[$k]="${NRATE[$k]:-} $(field rate "$line")"
			NP50[$k]="${NP50[$k]:-} $(field p50_us "$line")"
			NUSER[$k]="${NUSER[$k]:-} $(field user_us "$line")"
			NSYS[$k]="${NSYS[$k]:-} $(field sys_us "$line")"
		done
	done
done
cache_keys redis 32 0

# Hot-key promotion under a Zipf workload: the manager fills the cache from the misses.
declare -A ZIPF
for proto in redis memcached; do
	say "$proto, Zipf $ZIPF_THETA over $ZIPF_KEYS keys, manager promoting the top $ZIPF_TOP"
	kv out "$proto" --keys "$ZIPF_KEYS" --value-size 32 --fill --requests 0 --pipeline 256 >/dev/null
	plain=$(kv out "$proto" --keys "$ZIPF_KEYS" --zipf "$ZIPF_THETA" --seconds 3 --check)
	[ "$(field errors "$plain")" = 0 ] || die "zipf $proto, plain: $plain"
	CACHEBED_BG_LOG=/dev/null cachebed_bg "$VEER" cache manage --proto "$proto" \
		--server "$CACHEBED_ADDR:$(port_of "$proto")" --top "$ZIPF_TOP" --ttl 60 --interval 500ms
	MANAGER=$CACHEBED_BG_PID
	kv in "$proto" --keys "$ZIPF_KEYS" --zipf "$ZIPF_THETA" --seconds 3 >/dev/null # warm-up
	h0=$(stat hit) m0=$(stat miss)
	cached=$(kv in "$proto" --keys "$ZIPF_KEYS" --zipf "$ZIPF_THETA" --seconds "$ZIPF_SECONDS" --check)
	h1=$(stat hit) m1=$(stat miss)
	kill "$MANAGER"
	wait "$MANAGER" 2>/dev/null || true
	MANAGER=
	# The next protocol's run starts from an empty cache: a FLUSHALL through the cache makes
	# every entry stale (the epoch), and the next manager's first sweep removes them.
	cachebed_in redis-cli -h "$CACHEBED_ADDR" -p "$CACHEBED_REDIS_PORT" flushall >/dev/null
	[ "$(field errors "$cached")" = 0 ] || die "zipf $proto: $cached"
	ZIPF[$proto/plain]=$(field rate "$plain")
	ZIPF[$proto/cached]=$(field rate "$cached")
	ZIPF[$proto/hit]=$(awk -v h=$((h1 - h0)) -v m=$((m1 - m0)) 'BEGIN { printf "%.1f", 100 * h / (h + m) }')
done
# The best any selection could do: the share of requests that go to the ZIPF_TOP most
# popular keys of the distribution the client draws from.
ZIPF_IDEAL=$(awk -v n="$ZIPF_KEYS" -v top="$ZIPF_TOP" -v s="$ZIPF_THETA" 'BEGIN {
	for (i = 1; i <= n; i++) { w = i ^ -s; all += w; if (i <= top) best += w }
	printf "%.1f", 100 * best / all }')

row() { # row PROTO SIZE NAME LABEL
	local b=$1/$2/$3 pr ph pm
	pr=$(median ${RATE[$b/plain]}) ph=$(median ${RATE[$b/hit]}) pm=$(median ${RATE[$b/miss]})
	printf '| %s | %s B | %s | %.0f | %.0f (**%sx**) | %.0f (%sx) | %s / %s | %s / %s | %s / %s |\n' \
		"$1" "$2" "$4" "$pr" "$ph" "$(ratio "$ph" "$pr")" "$pm" "$(ratio "$pm" "$pr")" \
		"$(median ${P50[$b/plain]})" "$(median ${P99[$b/plain]})" \
		"$(median ${P50[$b/hit]})" "$(median ${P99[$b/hit]})" \
		"$(median ${P50[$b/miss]})" "$(median ${P99[$b/miss]})"
}

report() {
	cat <<EOF
$MARKER

Produced by \`make bench\` (scripts/bench_cache.sh, client \`veer-bench kv\` from
tests/bench/kv.c) on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown).
One network namespace holds redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') and memcached
$(memcached -V | cut -d' ' -f2) (one thread) on $CACHEBED_ADDR; the client is the same program with the same
$KEYS keys either outside the cgroup (**plain**: straight to the server) or inside the cgroup the
cache is attached to, with every key cached (**hit**) or none (**miss**: every request goes
through sk_msg, the server and the sk_skb reply count). Each run lasts ${SECS} s and checks every
reply byte for byte; plain/miss/hit interleave for $REPS rounds; medians. Rates in GET/s, latency
in microseconds (p50 / p99, per request; a pipelined request's latency is its batch's).
Workloads: seq = 1 connection, one request at a time; c50 = 50 connections, one request
each in flight; p16 = 4 connections, batches of 16 pipelined GETs (passed to the server
whole: see docs/CACHE.md).

| server | value | workload | plain GET/s | hit GET/s (x plain) | miss GET/s (x plain) | plain p50/p99 | hit p50/p99 | miss p50/p99 |
|---|---|---|---:|---:|---:|---|---|---|
EOF
	for proto in redis memcached; do
		for size in 32 1024; do
			row "$proto" "$size" seq "1 conn, sequential"
			row "$proto" "$size" c50 "50 conns"
			row "$proto" "$size" p16 "4 conns, -P 16"
		done
	done
	cat <<EOF

Real clients at their default options (node-redis $(node_version redis), ioredis $(node_version ioredis);
both open with \`HELLO 3\` and \`CLIENT SETINFO\`), 1 connection, sequential \`await
client.get()\` over the same $KEYS keys with 32-byte values (tests/bench/node_get.js), every value
checked; a hit run must have been answered by the kernel (the cache's \`hit\` counter). Medians
of $REPS interleaved rounds of ${SECS} s. The last column splits a hit's time: the client
process's own CPU per GET (user: the client library's JavaScript; system: syscalls and the
kernel's work, veer's sk_msg program included), from \`process.cpuUsage()\`.

| client | plain GET/s | hit GET/s (x plain) | miss GET/s (x plain) | plain p50 | hit p50 | miss p50 | hit CPU user / system |
|---|---:|---:|---:|---:|---:|---:|---:|
EOF
	local client pr ph pm
	for client in "${NODE_CLIENTS[@]}"; do
		pr=$(median ${NRATE[$client/plain]}) ph=$(median ${NRATE[$client/hit]})
		pm=$(median ${NRATE[$client/miss]})
		printf '| %s | %.0f | %.0f (**%sx**) | %.0f (%sx) | %s | %s | %s | %s / %s |\n' "$client" \
			"$pr" "$ph" "$(ratio "$ph" "$pr")" "$pm" "$(ratio "$pm" "$pr")" \
			"$(median ${NP50[$client/plain]})" "$(median ${NP50[$client/hit]})" \
			"$(median ${NP50[$client/miss]})" "$(median ${NUSER[$client/hit]})" \
			"$(median ${NSYS[$client/hit]})"
	done
	cat <<EOF

Hot keys under a skewed workload: $ZIPF_KEYS keys of 32 bytes, Zipf exponent $ZIPF_THETA, one
connection, sequential; the cache holds at most 16384 entries and \`veer cache manage\`
promotes up to $ZIPF_TOP of the highest-ranked missed keys every 500 ms (after a 3 s warm-up, an
${ZIPF_SECONDS} s measurement). **Ideal** is the share of requests that go to the $ZIPF_TOP most
popular keys of that distribution: the hit ratio of a cache of that size that always held
exactly the right keys.

| server | plain GET/s | through the cache GET/s (x plain) | hit ratio | ideal |
|---|---:|---:|---:|---:|
| redis | ${ZIPF[redis/plain]} | ${ZIPF[redis/cached]} ($(ratio "${ZIPF[redis/cached]}" "${ZIPF[redis/plain]}")x) | ${ZIPF[redis/hit]}% | $ZIPF_IDEAL% |
| memcached | ${ZIPF[memcached/plain]} | ${ZIPF[memcached/cached]} ($(ratio "${ZIPF[memcached/cached]}" "${ZIPF[memcached/plain]}")x) | ${ZIPF[memcached/hit]}% | $ZIPF_IDEAL% |
EOF
}

report | tee /dev/stderr >/dev/null
if [ "$OUT" != - ]; then
	if [ -f "$OUT" ] && grep -q "^$MARKER" "$OUT"; then
		sed -i "/^$MARKER/,\$d" "$OUT"
	fi
	{ [ -s "$OUT" ] && echo; report; } >>"$OUT"
	say "written to $OUT"
fi
