# SPDX-License-Identifier: GPL-2.0
# The cache testbed, sourced by the e2e suites, `make demo` and `make bench`: one network
# namespace holding a redis-server (198.18.70.1 and 2001:2::70:1) and a memcached
# (198.18.70.1), a cgroup v2 whose
# processes are the cache's clients, and veer's cache attached to that cgroup for both ports.
#
#   cachebed_up           build it (CACHEBED names the namespace and cgroup, default veer$$;
#                         CACHEBED_MC_MB sets memcached's memory, default its own 64 MB)
#   cachebed_in CMD...    run CMD as a cached client: in the cgroup and the namespace
#   cachebed_out CMD...   run CMD in the namespace only: a client veer does not see
#   cachebed_down         detach, end the servers started here (by pid), remove it all
#
# Functions return non-zero with a message on failure and never call exit.

CACHEBED=${CACHEBED:-veer$$}
CACHEBED_ADDR=198.18.70.1
CACHEBED_ADDR6=2001:2::70:1
# Ports of their own: the cache's port table is global, and a host may run the real services.
CACHEBED_REDIS_PORT=${CACHEBED_REDIS_PORT:-16379}
CACHEBED_MC_PORT=${CACHEBED_MC_PORT:-11311}
CACHEBED_CGROOT=/sys/fs/cgroup/unified
VEER=${VEER:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/veer}
CACHEBED_PIDS=()

cachebed_ns() { echo "$CACHEBED-cache"; }
cachebed_cg() { echo "$CACHEBED_CGROOT/$CACHEBED-cache"; }
cachebed_fail() { echo "cache testbed $CACHEBED: $*" >&2; return 1; }

cachebed_in() {
	bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec nsenter --net="/run/netns/$1" "${@:2}"' \
		_ "$(cachebed_cg)" "$(cachebed_ns)" "$@"
}

cachebed_out() { nsenter --net="/run/netns/$(cachebed_ns)" "$@"; }

# cachebed_wait SECONDS CMD...: polls CMD until it succeeds.
cachebed_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

# cachebed_bg CMD...: starts CMD in the namespace in the background; its pid in CACHEBED_BG_PID.
cachebed_bg() {
	# nsenter itself, not a function: $! must be the command's pid (nsenter execs it).
	nsenter --net="/run/netns/$(cachebed_ns)" "$@" </dev/null >"${CACHEBED_BG_LOG:-/dev/null}" \
		2>&1 3>&- &
	CACHEBED_BG_PID=$!
	CACHEBED_PIDS+=("$CACHEBED_BG_PID")
}

cachebed_up() {
	local ns cg
	ns=$(cachebed_ns)
	cg=$(cachebed_cg)
	[ -d "$CACHEBED_CGROOT" ] || { cachebed_fail "no cgroup v2 at $CACHEBED_CGROOT"; return 1; }
	[ -e "/run/netns/$ns" ] && { cachebed_fail "namespace $ns exists (stale run?)"; return 1; }
	# A pin directory of its own: testbeds never share counters or entries with each other or
	# with a host's real veer (whatever VEER_PIN_DIR the caller's environment holds).
	export VEER_PIN_DIR=/sys/fs/bpf/veer-$CACHEBED CACHEBED_OWN_PINS=/sys/fs/bpf/veer-$CACHEBED
	rm -rf "$VEER_PIN_DIR" # left by a killed run of the same name
	ip netns add "$ns" && ip -n "$ns" link set lo up &&
		ip -n "$ns" addr add "$CACHEBED_ADDR/32" dev lo &&
		ip -n "$ns" addr add "$CACHEBED_ADDR6/128" dev lo nodad && mkdir -p "$cg" ||
		{ cachebed_down; cachebed_fail "cannot create namespace $ns or cgroup $cg"; return 1; }
	cachebed_bg redis-server --bind "$CACHEBED_ADDR $CACHEBED_ADDR6" --port "$CACHEBED_REDIS_PORT" --save '' \
		--appendonly no --protected-mode no --daemonize no
	cachebed_bg memcached -u root -l "$CACHEBED_ADDR" -p "$CACHEBED_MC_PORT" -U 0 -t 1 \
		-m "${CACHEBED_MC_MB:-64}"
	cachebed_wait 10 cachebed_out redis-cli -h "$CACHEBED_ADDR" -p "$CACHEBED_REDIS_PORT" ping &&
		cachebed_wait 10 cachebed_out bash -c "exec 3<>/dev/tcp/$CACHEBED_ADDR/$CACHEBED_MC_PORT" ||
		{ cachebed_down; cachebed_fail "redis-server or memcached did not start"; return 1; }
	"$VEER" cache attach --cgroup "$cg" --port "$CACHEBED_REDIS_PORT" --proto redis &&
		"$VEER" cache attach --cgroup "$cg" --port "$CACHEBED_MC_PORT" --proto memcached ||
		{ cachebed_down; cachebed_fail "cannot attach the cache"; return 1; }
}

cachebed_down() {
	local cg pid key
	cg=$(cachebed_cg)
	[ -d "$cg" ] && "$VEER" cache detach --cgroup "$cg" >/dev/null 2>&1
	"$VEER" cache detach --port "$CACHEBED_REDIS_PORT" >/dev/null 2>&1
	"$VEER" cache detach --port "$CACHEBED_MC_PORT" >/dev/null 2>&1
	# The entries of keys named after this testbed: the cache maps outlive it.
	"$VEER" -j cache list 2>/dev/null | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["key"].startswith(sys.argv[1] + ":"):
        print(e["proto"], e["key"])' "$CACHEBED" | while read -r proto key; do
		"$VEER" cache del --proto "$proto" "$key" >/dev/null 2>&1
	done
	for pid in "${CACHEBED_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${CACHEBED_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	CACHEBED_PIDS=()
	# Whatever still runs in the cgroup was started by a test through cachebed_in.
	if [ -d "$cg" ]; then
		for pid in $(cat "$cg/cgroup.procs" 2>/dev/null); do
			kill "$pid" 2>/dev/null
		done
		cachebed_wait 5 rmdir "$cg"
	fi
	ip netns del "$(cachebed_ns)" 2>/dev/null
	[ -n "${CACHEBED_OWN_PINS:-}" ] && rm -rf "$CACHEBED_OWN_PINS"
	return 0
}
