#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# veerd in action, in the demo's testbed (client -> veer node -> backends b1 b2 b3): veerd runs
# on a YAML file; an edit adds a backend and drains one; veerd is killed with SIGKILL and
# restarted while requests flow, and none fails; a backend's server stops and its health check
# takes it out, then brings it back; a second VIP comes from etcd, written with etcdctl;
# /metrics shows what veer counted.
# Needs root and a built tree (`make demo` does both). Leaves nothing behind.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
TOPO=${TOPO:-veerddemo$$}
export VEER_PIN_DIR=/sys/fs/bpf/veer-demo-veerd$$
source scripts/topology.sh
VEERD=${VEERD:-build/veerd}

VIP=198.18.100.12:80/tcp
URL=http://198.18.100.12/
DIR=$(mktemp -d)
CFG=$DIR/veer.yaml
LOG=$DIR/veerd.log
: >"$LOG"
VEERD_PID=
LOAD_PID=
ETCD_PID=
ETCD=127.0.0.1:19700
SOURCES=

if [ -t 1 ]; then B=$'\e[1m' D=$'\e[2m' R=$'\e[0m'; else B='' D='' R=''; fi
step() { printf '\n%s== %s ==%s\n' "$B" "$*" "$R"; }
show() { printf '%s$ veer %s%s\n' "$D" "$*" "$R"; veer_lb "$@"; }
die() { echo "demo: $*" >&2; [ -s "$LOG" ] && tail -5 "$LOG" >&2; exit 1; }

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	echo
	echo "cleaning up"
	[ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null && wait "$LOAD_PID" 2>/dev/null
	[ -n "$VEERD_PID" ] && kill "$VEERD_PID" 2>/dev/null && wait "$VEERD_PID" 2>/dev/null
	[ -n "$ETCD_PID" ] && kill "$ETCD_PID" 2>/dev/null && wait "$ETCD_PID" 2>/dev/null
	[ -e "/run/netns/$(ns lb)" ] &&
		nsenter --net="/run/netns/$(ns lb)" "$VEERD" --cleanup --pin-dir "$VEER_PIN_DIR" >/dev/null 2>&1
	topo_down
	rm -rf "$VEER_PIN_DIR" "$DIR"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "needs root (BPF, network namespaces)"
[ -x "$VEERD" ] || die "$VEERD is missing: run make (or make demo)"

# config BACKEND... : the demo's file, one VIP over these backends ("ADDR" or "ADDR WEIGHT").
config() {
	local be
	{
		cat <<EOF
interfaces: [{name: l0}, {name: l1}, {name: l2}, {name: l3}]
metrics: {listen: 127.0.0.1:9464}
$SOURCES
vips:
  - address: 198.18.100.12
    port: 80
    protocol: tcp
    health: {type: http, path: /, interval: 300ms, timeout: 200ms, rise: 2, fall: 2}
    backends:
EOF
		for be in "$@"; do
			set -- $be
			echo "      - {address: $1${2:+, weight: $2}}"
		done
	} >"$CFG.new"
	mv "$CFG.new" "$CFG"
}

start_veerd() {
	local mark
	mark=$(wc -l <"$LOG")
	nsenter --net="/run/netns/$(ns lb)" "$VEERD" -d -f "$CFG" --pin-dir "$VEER_PIN_DIR" \
		</dev/null >>"$LOG" 2>&1 &
	VEERD_PID=$!
	topo_wait 20 eval 'tail -n +$((mark + 1)) "$LOG" | grep -q "veerd: running"' ||
		die "veerd did not start"
}

# spread N: N requests, one connection each, counted by backend.
spread() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	in_ns client bash -c 'for ((i = 0; i < $1; i++)); do curl -s -f -m 2 "$2" || echo failed; done' \
		- "$1" "$URL" | sort | uniq -c | sed 's/^/    /'
}

health() {
	veer_lb -j backend list "$VIP" | python3 -c '
import json, sys
for b in json.load(sys.stdin):
    print("    %-20s weight %-4s %s" % (b["backend"], b["weight"], b["health"]))'
}

step "testbed: client -> veer node -> backends b1 b2 b3 (namespaces $TOPO-*)"
topo_up && topo_servers || die "cannot build the testbed"

step "veerd on $CFG: one VIP over b1 and b2, HTTP health checks"
config 198.18.11.2 198.18.12.2
sed 's/^/    /' "$CFG"
start_veerd
show vip list
spread 100

step "edit the file: b3 joins, b1 drains (weight 0); veerd sees the save by itself"
config "198.18.11.2 0" 198.18.12.2 198.18.13.2
topo_wait 5 eval 'veer_lb -j backend list "$VIP" | grep -q 198.18.13.2' || die "the edit did not apply"
grep 'reloaded' "$LOG" | tail -1 | sed 's/^/    /'
spread 100

step "kill -9 veerd three times while requests flow: the data plane does not notice"
in_ns client bash -c 'ok=0 bad=0; while [ ! -e "$2" ]; do
	if curl -s -f -m 2 -o /dev/null "$1"; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
done; echo "    $ok requests answered, $bad failed" >"$3"' - "$URL" "$DIR/stop" "$DIR/load" &
LOAD_PID=$!
for i in 1 2 3; do
	kill -KILL "$VEERD_PID"
	wait "$VEERD_PID" 2>/dev/null
	echo "    veerd killed ($i); restarting"
	start_veerd
done
touch "$DIR/stop"
wait "$LOAD_PID"
LOAD_PID=
cat "$DIR/load"

step "b2's HTTP server stops: its health check fails twice and it leaves the table"
# topo_servers started, per backend, its HTTP server then its UDP responder: b2's HTTP server
# is the third process it started.
kill "${TOPO_PIDS[2]}"
topo_wait 5 eval 'veer_lb -j backend list "$VIP" | grep -q "\"down\""' || die "b2 was not taken out"
health
spread 60
step "b2's server is back: two passed checks and it returns"
dir2=$(mktemp -d)
echo b2 >"$dir2/index.html"
topo_bg b2 python3 -m http.server --bind :: --directory "$dir2" 80
TOPO_TMPDIRS+=("$dir2")
topo_wait 10 eval '! veer_lb -j backend list "$VIP" | grep -q "\"down\""' || die "b2 did not return"
health

step "a second VIP from etcd: the file names etcd, etcdctl writes the VIP"
# etcd on the veer node's loopback, with a data directory of the demo's own.
in_ns lb etcd --name demo --data-dir "$DIR/etcd" --listen-client-urls "http://$ETCD" \
	--advertise-client-urls "http://$ETCD" --listen-peer-urls http://127.0.0.1:19701 \
	--initial-advertise-peer-urls http://127.0.0.1:19701 \
	--initial-cluster demo=http://127.0.0.1:19701 >"$DIR/etcd.log" 2>&1 &
ETCD_PID=$!
etcdctl() { in_ns lb env ETCDCTL_API=3 etcdctl --endpoints "http://$ETCD" "$@"; }
topo_wait 20 eval 'etcdctl endpoint health >/dev/null 2>&1' || die "etcd did not start"
SOURCES="sources: {etcd: {endpoints: [http://$ETCD], prefix: /veer/}}"
config 198.18.12.2 198.18.13.2
VALUE='{"address": "198.18.100.13", "port": 80, "backends": [{"address": "198.18.11.2"}, {"address": "198.18.13.2"}]}'
printf "%s\$ etcdctl put /veer/vips/web '%s'%s\n" "$D" "$VALUE" "$R"
etcdctl put /veer/vips/web "$VALUE" >/dev/null
topo_wait 10 eval 'veer_lb vip list | grep -q "198.18.100.13:80/tcp .*owner etcd"' ||
	die "the VIP from etcd did not apply"
show vip list
URL=http://198.18.100.13/ spread 60

step "what veerd exports: curl 127.0.0.1:9464/metrics | grep -E 'veer_vip_new|veer_source'"
in_ns lb curl -s 127.0.0.1:9464/metrics | grep -E '^veer_(vip_new_flows|source_)' |
	sed 's/^/    /'
