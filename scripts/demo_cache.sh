#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# veer's hot-key cache in action: a redis-server in a network namespace, clients in a cgroup.
# Misses reach the server and are counted; the cache manager promotes the hot key; the next
# GETs are answered in the client's own kernel, which the server's command counters show; a
# write invalidates. Needs root and a built tree (`make demo` does both). Leaves nothing behind.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
CACHEBED=${CACHEBED:-veerdemo$$}
source scripts/cachebed.sh

if [ -t 1 ]; then B=$'\e[1m' D=$'\e[2m' R=$'\e[0m'; else B='' D='' R=''; fi
step() { printf '\n%s== %s ==%s\n' "$B" "$*" "$R"; }
show() { printf '%s$ veer %s%s\n' "$D" "$*" "$R"; "$VEER" "$@"; }
die() { echo "demo: $*" >&2; exit 1; }
redis() { cachebed_in redis-cli -h "$CACHEBED_ADDR" -p "$CACHEBED_REDIS_PORT" "$@"; }
gets() { cachebed_out redis-cli -h "$CACHEBED_ADDR" -p "$CACHEBED_REDIS_PORT" info commandstats | tr -d '\r' |
	sed -n 's/^cmdstat_get:calls=\([0-9]*\),.*/\1/p'; }

manager=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	echo
	echo "cleaning up"
	[ -z "$manager" ] || kill "$manager" 2>/dev/null
	"$VEER" cache del user:42 >/dev/null 2>&1
	cachebed_down
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "needs root (BPF, network namespaces, cgroups)"
[ -x "$VEER" ] || die "$VEER is missing: run make build/veer (or make demo)"

step "testbed: redis-server and memcached on $CACHEBED_ADDR, clients in cgroup $(cachebed_cg)"
cachebed_up || die "cannot build the testbed"
echo "cachebed_up ran: veer cache attach --cgroup $(cachebed_cg) --port $CACHEBED_REDIS_PORT --proto redis"
redis set user:42 '{"name":"Ada","plan":"pro"}' >/dev/null

step "10 GETs of user:42 from the cgroup: misses, each reaches redis and is counted"
before=$(gets)
for i in $(seq 10); do redis get user:42 >/dev/null; done
echo "redis counted $(($(gets) - before)) GETs"
show cache hot --top 3

step "the cache manager promotes the hot key from redis"
CACHEBED_BG_LOG=/dev/null cachebed_bg "$VEER" cache manage \
	--server "$CACHEBED_ADDR:$CACHEBED_REDIS_PORT" --interval 200ms --ttl 60
manager=$CACHEBED_BG_PID
cachebed_wait 5 bash -c "'$VEER' -j cache get user:42 | grep -q '\"current\":true'" ||
	die "the key was not promoted"
show cache list

step "10 more GETs: answered by sk_msg in the client's kernel, redis sees none"
before=$(gets)
for i in $(seq 10); do redis get user:42 >/dev/null; done
printf '%s$ redis-cli get user:42%s\n%s\n' "$D" "$R" "$(redis get user:42)"
echo "redis counted $(($(gets) - before)) GETs"

step "a write through the cache invalidates the key before redis sees it"
redis set user:42 '{"name":"Ada","plan":"team"}' >/dev/null
printf '%s$ redis-cli get user:42%s\n%s\n' "$D" "$R" "$(redis get user:42)"

step "sequential GETs, 1 connection: plain redis vs through the cache (redis-benchmark)"
"$VEER" cache put key:__rand_int__ xxx --ttl 60 >/dev/null
plain=$(cachebed_out redis-benchmark -h "$CACHEBED_ADDR" -p "$CACHEBED_REDIS_PORT" -n 20000 -c 1 -t get --csv | tail -1 | cut -d'"' -f4)
cached=$(cachebed_in redis-benchmark -h "$CACHEBED_ADDR" -p "$CACHEBED_REDIS_PORT" -n 20000 -c 1 -t get --csv | tail -1 | cut -d'"' -f4)
"$VEER" cache del key:__rand_int__ >/dev/null
printf '  plain redis   %10.0f GET/s\n  veer cache    %10.0f GET/s  (%.1fx)\n' "$plain" "$cached" \
	"$(echo "$cached / $plain" | bc -l)"
show cache stats
