# SPDX-License-Identifier: GPL-2.0
# Part M of scripts/bench.sh (sourced by it): Kubernetes source: a watch event to the data plane.
#
# One namespace as part J's (a veth whose neighbours are every backend address, veer attached
# at tc by veerd), the tests' fake API server in it on 127.0.0.1 (TLS, a token, a test CA:
# tests/e2e/k8s_helpers.bash), veerd on a kubeconfig pointing at it, and veer-bench k8s
# (tests/bench/k8s.c) changing the Service's EndpointSlice 100 times through the server's
# control port, each time with a new endpoint, and timing from the server sending the event to
# the first new flow veer's program rewrites to that endpoint.
#
# Environment: BENCH_K8S_CHANGES (default 100).

M_CHANGES=${BENCH_K8S_CHANGES:-100}
M_BASE=9
M_PORT=19450 M_CPORT=19451
NS_K8S=$P-k8s
PIN_K8S=/sys/fs/bpf/veer-bench$$-k8s
M_VEERD_PID=

# Everything part M made, whether it ended or failed; quiet, never fails.
k8s_bench_down() {
	if [ -n "$M_VEERD_PID" ]; then
		kill "$M_VEERD_PID" 2>/dev/null
		wait "$M_VEERD_PID" 2>/dev/null
		M_VEERD_PID=
	fi
	k8s_fake_down 2>/dev/null
	[ -e "/run/netns/$NS_K8S" ] && ip netns del "$NS_K8S"
	[ -d "$PIN_K8S" ] && rm -rf "$PIN_K8S"
	return 0
}

part_k8s() {
	local i dir=$TMP/k8s cfg=$TMP/k8s/veer.yaml
	say "M: Kubernetes: watch event -> first new flow on the new endpoint ($M_CHANGES changes)"
	command -v openssl >/dev/null || die "openssl is not installed (the test CA of part M)"
	# shellcheck source=../tests/e2e/k8s_helpers.bash
	source "$ROOT/tests/e2e/k8s_helpers.bash"
	K8S_NETNS=$NS_K8S
	# bench.sh's cleanup after this part's own, with the exit status it would have had.
	trap 'm_rc=$?; k8s_bench_down; (exit $m_rc); cleanup' EXIT
	new_ns "$NS_K8S"
	in_ns "$NS_K8S" ip link add d0 type veth peer name d1
	in_ns "$NS_K8S" ip link set d1 up
	in_ns "$NS_K8S" ip link set d0 up
	in_ns "$NS_K8S" ip addr add 198.18.30.254/24 dev d0
	in_ns "$NS_K8S" ip addr add 198.18.31.254/24 dev d0
	in_ns "$NS_K8S" ip route add 198.18.1.0/24 dev d0
	for i in $(seq 1 "$M_BASE"); do
		in_ns "$NS_K8S" ip neigh add "198.18.30.$i" lladdr 02:00:00:00:1e:01 dev d0 nud permanent
	done
	for i in $(seq 1 250); do
		in_ns "$NS_K8S" ip neigh add "198.18.31.$i" lladdr 02:00:00:00:1f:01 dev d0 nud permanent
	done
	in_ns "$NS_K8S" ip neigh add 198.18.1.2 lladdr 02:00:00:00:00:01 dev d0 nud permanent

	k8s_fake_up "$dir" "$M_PORT" "$M_CPORT" || die "the fake API server did not start"
	k8s_kubeconfig "$dir/kubeconfig" "https://127.0.0.1:$M_PORT" "$dir/ca.crt" "$dir/token"
	local eps=()
	for i in $(seq 1 "$M_BASE"); do eps+=("198.18.30.$i"); done
	k8s_ctl "$(k8s_service bench web "$VIP_ADDR" ":$VIP_PORT/UDP")" \
		"$(k8s_slice bench web-bench web ":$VIP_PORT/UDP" "${eps[@]}")" >/dev/null ||
		die "the fake API server refused the Service"
	printf 'interfaces: [{name: d0}]\nmetrics: {listen: off}\nsources:\n  kubernetes: {kubeconfig: %s}\n' \
		"$dir/kubeconfig" >"$cfg"
	nsenter --net="/run/netns/$NS_K8S" "$VEERD" -d -f "$cfg" --pin-dir "$PIN_K8S" \
		</dev/null >"$TMP/k8s-veerd.log" 2>&1 &
	M_VEERD_PID=$!
	for i in $(seq 100); do
		grep -q 'applied kubernetes: VIPs +1' "$TMP/k8s-veerd.log" && break
		kill -0 "$M_VEERD_PID" || die "veerd did not start: $(cat "$TMP/k8s-veerd.log")"
		sleep 0.1
	done
	grep -q 'applied kubernetes: VIPs +1' "$TMP/k8s-veerd.log" ||
		die "veerd did not apply the Service: $(cat "$TMP/k8s-veerd.log")"
	veer_in "$PIN_K8S" "$NS_K8S" "$VB" k8s --control "127.0.0.1:$M_CPORT" --iface d0 \
		--vip "$VIP_ADDR:$VIP_PORT" --namespace bench --service web --base "$M_BASE" \
		--changes "$M_CHANGES" >"$TMP/k8s-bench" || die "veer-bench k8s failed: $(tail -5 "$TMP/k8s-veerd.log")"
	kill "$M_VEERD_PID"
	wait "$M_VEERD_PID" || true
	M_VEERD_PID=
	nsenter --net="/run/netns/$NS_K8S" "$VEERD" --cleanup --pin-dir "$PIN_K8S" \
		>>"$TMP/k8s-veerd.log" 2>&1
	M_APPLIES=$(grep -c 'applied kubernetes:' "$TMP/k8s-veerd.log" || true)
	M_LOST=$(grep -c 'source kubernetes lost' "$TMP/k8s-veerd.log" || true)
	k8s_bench_down
	trap cleanup EXIT
	M_P50=$(field p50_ms "$(cat "$TMP/k8s-bench")")
	M_P99=$(field p99_ms "$(cat "$TMP/k8s-bench")")
	[ -n "$M_P99" ] || die "veer-bench k8s printed no figure"
	say "  p50 $M_P50 ms, p99 $M_P99 ms"
	M_STAMP=$(stamp)
}

report_m() {
	cat <<EOF

## M. Kubernetes source: a watch event to the data plane

$M_STAMP

veerd runs with \`sources: {kubernetes: {kubeconfig: ...}}\` in a namespace of its own, attached
at tc to a veth whose neighbours are the backends, against the tests' fake API server
(tests/e2e/fake_apiserver.py: HTTPS with a test CA, a bearer token, chunked watch streams) on
the namespace's loopback. An annotated Service (\`veer.io/vip: $VIP_ADDR\`, port $VIP_PORT/UDP) has
one EndpointSlice of $M_BASE ready endpoints. \`veer-bench k8s\` (tests/bench/k8s.c) changes the
slice $M_CHANGES times through the server's control port, each time with one endpoint never seen
before in place of the last one, and times from the server handing the MODIFIED event to veerd's
watch (CLOCK_MONOTONIC, given in the control's answer) to the first new flow veer's attached
program rewrites to the new endpoint, probed by BPF_PROG_RUN as part J does (a new flow every
50 us). The time therefore counts the event's way through TLS and the chunked stream, its
parse, the view made of every Service and slice, the reconcile (only the difference: one
backend in, one out), the Maglev table's build and swap, and the new endpoint's
1-in-$((M_BASE + 1)) chance per flow. The control port is Python (the server is a test tool): its
answer comes after the event is sent, so a change applied faster than that answer counts the
answer's time too.

| changes | p50 | p99 |
|---|---|---|
| $M_CHANGES | $M_P50 ms | $M_P99 ms |

- Target, p99 under 50 ms: $(verdict_le "$M_P99" 50).
- veerd applied $M_APPLIES times in all (the first list included) and lost its connection $M_LOST times.

The command: \`BENCH_PARTS=k8s scripts/bench.sh\`. Raw output of part M:

\`\`\`
$(cat "$TMP/k8s-bench")
\`\`\`
EOF
}
