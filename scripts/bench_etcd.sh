# SPDX-License-Identifier: GPL-2.0
# Part L of scripts/bench.sh (sourced by it): etcd source: a write to the data plane.
#
# One namespace as part J's (a veth whose neighbours are every backend address, so that a
# forwarded packet leaves rewritten to its backend), a real etcd (Debian's etcd-server) on that
# namespace's loopback with a data directory under the run's temporary directory, and veerd
# with `sources: {etcd: ...}` there. `veer-bench etcd` (tests/bench/etcd.c) writes one key
# 100 times through etcd's JSON gateway, each time one VIP of L_BASE backends plus a backend
# never seen before, and times from just before each put to the first new flow that veer's
# attached program sends to the new backend (the probe of `veer-bench edit`).

L_CHANGES=${BENCH_ETCD_CHANGES:-100} L_BASE=9
L_PORT=19381 L_PEER=19382
NS_L=$P-etcd PIN_L=/sys/fs/bpf/veer-bench$$-etcd
L_ETCD_PID='' L_VEERD_PID=''

# What part L started, gone however the run ends (then bench.sh's own cleanup).
etcd_part_cleanup() {
	local pid
	for pid in $L_VEERD_PID $L_ETCD_PID; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	L_VEERD_PID='' L_ETCD_PID=''
	if [ -e "/run/netns/$NS_L" ]; then
		nsenter --net="/run/netns/$NS_L" "$VEERD" --cleanup --pin-dir "$PIN_L" \
			>>"$TMP/etcd-veerd.log" 2>&1
		ip netns del "$NS_L"
	fi
	[ -d "$PIN_L" ] && rm -rf "$PIN_L"
	return 0
}

# wait_log SECONDS FILE PATTERN PID: until FILE has PATTERN; fails when PID is gone first.
etcd_wait_log() {
	local i
	for i in $(seq $(($1 * 10))); do
		grep -q "$3" "$2" && return 0
		kill -0 "$4" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

part_etcd() {
	local i t cfg=$TMP/etcd-veerd.yaml ep=http://127.0.0.1:$L_PORT
	for t in etcd etcdctl; do
		command -v $t >/dev/null || die "$t is not installed (scripts/deps.sh installs etcd-server" \
			"and etcd-client)"
	done
	say "L: veerd's etcd source: a key written -> first new flow on the new backend" \
		"($L_CHANGES changes)"
	trap 'rc=$?; etcd_part_cleanup; (exit $rc); cleanup' EXIT
	new_ns "$NS_L"
	in_ns "$NS_L" ip link add d0 type veth peer name d1
	in_ns "$NS_L" ip link set d1 up
	in_ns "$NS_L" ip link set d0 up
	in_ns "$NS_L" ip addr add 198.18.30.254/24 dev d0
	in_ns "$NS_L" ip addr add 198.18.31.254/24 dev d0
	in_ns "$NS_L" ip route add 198.18.1.0/24 dev d0
	for i in $(seq 1 "$L_BASE"); do
		in_ns "$NS_L" ip neigh add "198.18.30.$i" lladdr 02:00:00:00:1e:01 dev d0 nud permanent
	done
	for i in $(seq 1 250); do
		in_ns "$NS_L" ip neigh add "198.18.31.$i" lladdr 02:00:00:00:1f:01 dev d0 nud permanent
	done
	in_ns "$NS_L" ip neigh add 198.18.1.2 lladdr 02:00:00:00:00:01 dev d0 nud permanent

	# ip netns exec becomes etcd: $! is etcd's pid (a shell function in between would not be).
	ip netns exec "$NS_L" etcd --name veer-bench --data-dir "$TMP/etcd" \
		--listen-client-urls "$ep" --advertise-client-urls "$ep" \
		--listen-peer-urls "http://127.0.0.1:$L_PEER" \
		--initial-advertise-peer-urls "http://127.0.0.1:$L_PEER" \
		--initial-cluster "veer-bench=http://127.0.0.1:$L_PEER" \
		</dev/null >"$TMP/etcd.log" 2>&1 &
	L_ETCD_PID=$!
	for i in $(seq 200); do
		in_ns "$NS_L" env ETCDCTL_API=3 etcdctl --endpoints "$ep" endpoint health \
			>/dev/null 2>&1 && break
		kill -0 "$L_ETCD_PID" 2>/dev/null || die "etcd did not start: $(tail -5 "$TMP/etcd.log")"
		sleep 0.1
	done

	cat >"$cfg" <<EOF
interfaces: [{name: d0}]
metrics: {listen: off}
sources:
  etcd: {endpoints: [$ep], prefix: /veer/}
vips: []
EOF
	nsenter --net="/run/netns/$NS_L" "$VEERD" -d -f "$cfg" --pin-dir "$PIN_L" \
		</dev/null >"$TMP/etcd-veerd.log" 2>&1 &
	L_VEERD_PID=$!
	etcd_wait_log 20 "$TMP/etcd-veerd.log" 'etcd: watching /veer/vips/' "$L_VEERD_PID" ||
		die "veerd did not watch etcd: $(cat "$TMP/etcd-veerd.log")"
	veer_in "$PIN_L" "$NS_L" "$VB" etcd --endpoint "$ep" --key /veer/vips/bench --iface d0 \
		--vip "$VIP_ADDR:$VIP_PORT" --base "$L_BASE" --changes "$L_CHANGES" >"$TMP/etcd-bench" ||
		die "veer-bench etcd failed: $(tail -5 "$TMP/etcd-veerd.log")"
	L_APPLIED=$(grep -c 'applied etcd' "$TMP/etcd-veerd.log")
	L_LISTS=$(grep -c 'etcd: listed' "$TMP/etcd-veerd.log")
	etcd_part_cleanup
	trap cleanup EXIT
	L_RESULT=$(grep '^etcd changes=' "$TMP/etcd-bench")
	L_PUT=$(grep '^etcd put ' "$TMP/etcd-bench")
	L_P50=$(field p50_ms "$L_RESULT")
	L_P99=$(field p99_ms "$L_RESULT")
	[ -n "$L_P99" ] || die "veer-bench etcd printed no figure"
	say "  p50 $L_P50 ms, p99 $L_P99 ms (the put alone: p50 $(field p50_ms "$L_PUT") ms," \
		"p99 $(field p99_ms "$L_PUT") ms)"
	L_STAMP=$(stamp)
}

report_l() {
	cat <<EOF

## L. etcd source: a write to the data plane

$L_STAMP

veerd runs with an etcd source (\`sources: {etcd: {endpoints: [http://127.0.0.1:$L_PORT],
prefix: /veer/}}\`) in a namespace of its own, attached at tc to a veth whose neighbours are the
backends, as in part J. etcd is Debian's etcd-server ($(etcd --version 2>/dev/null | awk '/etcd Version/ { print $3 }')), one member on that
namespace's loopback, its data directory on the run's temporary directory ($(df -T "$TMP" | awk 'NR == 2 { print $2 }'), so every
write waits for etcd's WAL fsync). \`veer-bench etcd\` (tests/bench/etcd.c) writes the key
\`/veer/vips/bench\` $L_CHANGES times through etcd's JSON gateway (\`POST /v3/kv/put\` from
libcurl on one kept-alive connection: no process forked per write), each time one VIP of $L_BASE
backends plus a backend never seen before, and from **just before each put** runs new flows (a
new source port each) through veer's attached program by BPF_PROG_RUN until one leaves rewritten
to the new backend (the probe of \`veer-bench edit\`, a probe every 50 us). The time therefore
counts etcd's commit and the put's answer, the watch event on veerd's stream, the JSON parse, the
reconcile, the Maglev table's build and swap, and the new backend's 1-in-$((L_BASE + 1)) chance per
flow. The put's own round trip (answer received) is given apart: etcd's share. This part alone:
\`BENCH_PARTS=etcd scripts/bench.sh\`; the measurement itself, with etcd and veerd running as
above: \`build/veer-bench etcd --endpoint http://127.0.0.1:$L_PORT --key /veer/vips/bench --iface
d0 --vip $VIP_ADDR:$VIP_PORT --base $L_BASE --changes $L_CHANGES\`.

| changes | p50 | p99 | max | the put alone, p50 / p99 |
|---|---|---|---|---|
| $L_CHANGES | $L_P50 ms | **$L_P99 ms** | $(field max_ms "$L_RESULT") ms | $(field p50_ms "$L_PUT") / $(field p99_ms "$L_PUT") ms |

- Target, p99 under 50 ms: **$(verdict_le "$L_P99" 50)**.
- veerd's log over the run: $L_LISTS list of etcd (at its start), then $L_APPLIED applies for
  $L_CHANGES writes: every write came through the watch.

Raw output of part L:

\`\`\`
$(cat "$TMP/etcd-bench")
\`\`\`
EOF
}
