# SPDX-License-Identifier: GPL-2.0
# Part N of scripts/bench.sh (sourced by it): webhook delivery through outages.
#
#   N. (webhooks) WH_EVENTS events (default 10,000) delivered by veerd to a local receiver
#      (tests/e2e/webhook_receiver.py, signatures verified) while the receiver is restarted
#      twice and veerd is killed (-9) and restarted once, in the middle, with a backlog in
#      flight: delivered (target: all), duplicates, order, backlog drain rates, and the time to
#      drain after the last event.
#
# The events are the data plane's sampled new flows: veer attached at XDP in part D's namespace
# ($NS_FL, fl_ns) with its UDP VIP, on a pin directory of this part's own, and new flows run
# through veer's attached program by BPF_PROG_RUN (`veer-bench events --rate`, every flow
# sampled) at WH_PACE flows a second; veerd reads the ring and hands every record to its
# webhook. A veer-bench without `events` falls back to veerd's own config_applied events, one
# per SIGHUP. veerd and the receiver run in that namespace on loopback (receiver
# 127.0.0.1:19220, /metrics 127.0.0.1:19221).
# Environment: BENCH_WEBHOOK_EVENTS, BENCH_WEBHOOK_PACE (flows a second, default 5000).

WH_EVENTS=${BENCH_WEBHOOK_EVENTS:-10000}
WH_PACE=${BENCH_WEBHOOK_PACE:-5000}
WH_PIN=/sys/fs/bpf/veer-bench$$-webhooks
WH_PORT=19220
WH_METRICS=127.0.0.1:19221
WH_URL=http://127.0.0.1:$WH_PORT/hook
WH_DEAD=198.18.100.97:$VIP_PORT
WH_VEERD= WH_RECV= WH_FIRST=600000000 WH_WRITTEN=0 WH_LOST=0 WH_MODE=

wh_cleanup() {
	if [ -n "$WH_RECV" ]; then
		kill "$WH_RECV" 2>/dev/null || true
		wait "$WH_RECV" 2>/dev/null || true
	fi
	if [ -n "$WH_VEERD" ]; then
		kill "$WH_VEERD" 2>/dev/null || true
		wait "$WH_VEERD" 2>/dev/null || true
	fi
	WH_RECV= WH_VEERD=
	if [ -d "$WH_PIN" ]; then
		nsenter --net="/run/netns/$NS_FL" "$VEERD" --cleanup --pin-dir "$WH_PIN" \
			>>"$TMP/wh-veerd.log" 2>&1 || true
		rm -rf "$WH_PIN"
	fi
	return 0
}

# The EXIT trap while this part runs: its own processes and pins, then bench.sh's cleanup (with
# the exit status it would have seen).
wh_exit() {
	local rc=$?
	set +e
	wh_cleanup
	(exit "$rc")
	cleanup
}

wh_now() { date +%s.%N; }
wh_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

wh_metric() {
	in_ns "$NS_FL" curl -sf "http://$WH_METRICS/metrics" |
		awk -v s="$1{url=\"$WH_URL\"}" '$1 == s { print $2 }'
}

wh_veerd_start() {
	local i mark
	mark=$(wc -l <"$TMP/wh-veerd.log")
	nsenter --net="/run/netns/$NS_FL" "$VEERD" -d -f "$TMP/wh.yaml" --pin-dir "$WH_PIN" \
		</dev/null >>"$TMP/wh-veerd.log" 2>&1 &
	WH_VEERD=$!
	for i in $(seq 200); do
		tail -n +$((mark + 1)) "$TMP/wh-veerd.log" | grep -q 'veerd: running' && return 0
		kill -0 "$WH_VEERD" 2>/dev/null || break
		sleep 0.05
	done
	die "N: veerd did not start: $(tail -n 20 "$TMP/wh-veerd.log")"
}

wh_receiver_start() {
	ip netns exec "$NS_FL" python3 "$ROOT/tests/e2e/webhook_receiver.py" serve "$WH_PORT" \
		"$TMP/wh.key" "$TMP/wh-rec.jsonl" </dev/null >>"$TMP/wh-recv.log" 2>&1 &
	WH_RECV=$!
	for _ in $(seq 100); do
		in_ns "$NS_FL" curl -sf -o /dev/null "http://127.0.0.1:$WH_PORT/" && return 0
		sleep 0.05
	done
	die "N: the receiver did not start: $(cat "$TMP/wh-recv.log")"
}

wh_receiver_stop() {
	kill "$WH_RECV"
	wait "$WH_RECV" 2>/dev/null || true
	WH_RECV=
}

# wh_produce N: about N events. New flows: N / WH_PACE seconds of them at WH_PACE a second
# (whole batches of 256), each a flow_new record; their count is what the ring took. Without
# veer-bench events: refused (veerd reports a config once, so SIGHUPs make no events).
wh_produce() {
	local out
	if [ "$WH_MODE" = flows ]; then
		out=$(veer_in "$WH_PIN" "$NS_FL" "$VB" events --rate --in fl-in --vip "$FL_VIP" \
			--dead-vip "$WH_DEAD" --seconds "$(awk -v n="$1" -v p="$WH_PACE" \
			'BEGIN { printf "%.3f", n / p }')" --pace "$WH_PACE" --reader none \
			--src "$FL_SRC" --first "$WH_FIRST" --cpu $(($(nproc) - 1))) ||
			die "N: veer-bench events --rate failed"
		out=$(grep '^events rate' <<<"$out")
		WH_FIRST=$((WH_FIRST + 10000000))
		WH_WRITTEN=$((WH_WRITTEN + $(field written "$out")))
		WH_LOST=$((WH_LOST + $(field lost "$out")))
		return
	fi
	die "N: no way to produce events (veer-bench events is missing)"
}

# wh_report: the receiver's summary. Expected: in the SIGHUP mode every id veerd logged; with
# flows, veerd's own events (logged, all of them) and the flow_new records the ring took
# (veerd logs only some of those), counted.
wh_report() {
	if [ "$WH_MODE" = flows ]; then
		python3 "$ROOT/tests/e2e/webhook_receiver.py" report "$TMP/wh-rec.jsonl"
		return
	fi
	grep -o '^veerd: event {.*' "$TMP/wh-veerd.log" | sed 's/^veerd: event //' |
		python3 -c 'import json, sys
for l in sys.stdin:
    print(json.loads(l)["id"])' >"$TMP/wh-produced"
	python3 "$ROOT/tests/e2e/webhook_receiver.py" report "$TMP/wh-rec.jsonl" --ids "$TMP/wh-produced"
}

# wh_drain LABEL: waits until the webhook's queue is empty; records how long and how many.
WH_DRAINS=()
wh_drain() {
	local t0 t1 backlog
	t0=$(wh_now)
	backlog=$(wh_metric veer_webhook_queue_events)
	while [ "$(wh_metric veer_webhook_queue_events)" != 0 ]; do
		sleep 0.02
		[ "$(wh_secs "$t0" "$(wh_now)" | cut -d. -f1)" -lt 300 ] || die "N: $1: not drained in 300 s"
	done
	t1=$(wh_now)
	WH_DRAINS+=("$1|$backlog|$(wh_secs "$t0" "$t1")")
	say "  $1: backlog $backlog events drained in $(wh_secs "$t0" "$t1") s"
}

part_webhooks() {
	local a=$((WH_EVENTS * 3 / 10)) c=$((WH_EVENTS / 4)) e t_last t_done n t
	WH_B=$((WH_EVENTS * 15 / 100)) WH_D=$((WH_EVENTS / 10))
	e=$((WH_EVENTS - a - WH_B - c - WH_D))
	if grep -q 'usage: veer-bench events' <<<"$("$VB" events 2>&1 || true)"; then
		WH_MODE=flows
	else
		die "N: build/veer-bench has no events subcommand: run make"
	fi
	say "N: webhook delivery: $WH_EVENTS events ($WH_MODE), two receiver restarts and a veerd kill -9"
	trap wh_exit EXIT
	[ -e "/run/netns/$NS_FL" ] || fl_ns
	rm -rf "$WH_PIN"
	fl_veer "$WH_PIN" "$NS_FL" "$FL_VIP/udp" fl-in:xdp
	veer_in "$WH_PIN" "$NS_FL" "$VEER" vip add "$WH_DEAD/udp" >/dev/null
	: >"$TMP/wh-veerd.log" && : >"$TMP/wh-rec.jsonl"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/wh.key"
	chmod 0600 "$TMP/wh.key"
	cat >"$TMP/wh.yaml" <<EOF
interfaces: [{name: fl-in}]
metrics: {listen: $WH_METRICS}
webhooks:
  - {url: $WH_URL, secret_file: $TMP/wh.key, queue_dir: $TMP/wh-queue, timeout: 2s}
EOF
	chmod 0644 "$TMP/wh.yaml"
	wh_receiver_start
	wh_veerd_start
	WH_T0=$(wh_now)
	say "  $a events, receiver up"
	wh_produce "$a"
	wh_receiver_stop
	say "  $WH_B events, receiver down"
	wh_produce "$WH_B"
	n=$(wc -l <"$TMP/wh-rec.jsonl")
	wh_receiver_start
	# Mid-delivery of the backlog: veerd killed once its next retry has found the receiver back
	# and delivered a hundred events, with a POST in flight and most still queued.
	t=$SECONDS
	while [ "$(wc -l <"$TMP/wh-rec.jsonl")" -lt $((n + 100)) ]; do
		[ $((SECONDS - t)) -lt 60 ] || die "N: no delivery within 60 s of the receiver's restart"
		sleep 0.005
	done
	n=$(wh_metric veer_webhook_queue_events)
	WH_KILL_BACKLOG=$n
	kill -9 "$WH_VEERD"
	wait "$WH_VEERD" 2>/dev/null || true
	say "  veerd killed (-9) with $n events queued; restarted"
	wh_veerd_start
	wh_drain "after the veerd restart (receiver restart 1)"
	say "  $c events, receiver up"
	wh_produce "$c"
	wh_receiver_stop
	say "  $WH_D events, receiver down"
	wh_produce "$WH_D"
	wh_receiver_start
	wh_drain "after receiver restart 2"
	say "  $e events, receiver up"
	wh_produce "$e"
	t_last=$(wh_now)
	wh_drain "after the last event"
	t_done=$(wh_now)
	WH_DRAIN_LAST=$(wh_secs "$t_last" "$t_done")
	WH_TOTAL=$(wh_secs "$WH_T0" "$t_done")
	WH_RESULT=$(wh_report)
	WH_OWN=$(grep '^veerd: event {' "$TMP/wh-veerd.log" | grep -vc '"type":"flow_new"' || true)
	WH_FAILED=$(wh_metric veer_webhook_failed_total)
	WH_DROPPED=$(wh_metric veer_webhook_dropped_total)
	WH_DELIVERED_RUN=$(wh_metric veer_webhook_delivered_total)
	WH_QUEUE_FILE=$(stat -c %s "$TMP"/wh-queue/*.queue)
	say "  $WH_RESULT"
	wh_receiver_stop
	kill "$WH_VEERD"
	wait "$WH_VEERD" 2>/dev/null || true
	WH_VEERD=
	fl_unveer
	rm -rf "$WH_PIN"
	trap cleanup EXIT
	WH_STAMP=$(stamp)
}

report_n() {
	local r=$WH_RESULT expected missing unique dups bad in_order what
	jf() { wh_json "$1" <<<"$r"; }
	unique=$(jf unique) dups=$(jf duplicates) bad=$(jf bad_signatures)
	if [ "$WH_MODE" = flows ]; then
		expected=$((WH_WRITTEN + WH_OWN))
		missing=$((expected - unique))
		in_order=$(jf in_order)
		what="the data plane's sampled new flows: \`veer-bench events --rate\` (tests/bench/events.c)
runs new UDP flows through veer's attached XDP program by \`BPF_PROG_RUN\` at $WH_PACE a second
with \`event-sample 1/1\`, in part D's namespace on a pin directory of this part's own; veerd
reads the ring and queues every record for its one webhook. Produced: the $WH_WRITTEN flow_new
records the ring took ($WH_LOST lost to a full ring) and veerd's own $WH_OWN (its starts'
config_applied); the receiver's unique ids are counted against them, and its \`seq\` shows no gap
when nothing was dropped"
	else
		expected=$(jf expected) missing=$(jf missing) in_order=$(jf expected_in_order)
		what="veerd's own config_applied events, one per SIGHUP (\`veer-bench\` here has no
\`events\` to make data plane events), and one per start of veerd; every id veerd logged is
looked for in the receiver's records"
	fi
	cat <<EOF

## N. Webhook delivery

$WH_STAMP

$WH_EVENTS events (about: whole batches) to one webhook, a receiver on loopback
(\`tests/e2e/webhook_receiver.py\`: python's http.server, every signature verified with
\`hmac.compare_digest\`, every POST recorded before it is answered).

The events are $what.

In the middle: the receiver stopped while $WH_B events are produced and started again, and once
a hundred of that backlog were delivered, veerd killed (-9) and restarted ($WH_KILL_BACKLOG
events queued at the kill); later the receiver stopped again for $WH_D events. A drain after a
receiver's restart includes the wait for veerd's next retry, whose backoff doubles to 30 s
while the receiver is down. Command: \`BENCH_PARTS=webhooks scripts/bench.sh\`
(\`BENCH_WEBHOOK_EVENTS\`, \`BENCH_WEBHOOK_PACE\`).

| events produced | delivered (unique) | missing | duplicates | bad signatures | in order | time to drain after the last event | whole run |
|---|---|---|---|---|---|---|---|
| $expected | $unique | $missing | $dups | $bad | $in_order | $WH_DRAIN_LAST s | $WH_TOTAL s |

- Target, every event delivered: $(if [ "$missing" = 0 ] && [ "$(jf seq_gaps)" = 0 ]; then echo met; else echo "NOT met"; fi).
- Duplicates are the events in flight when veerd was killed or a receiver stopped, delivered
  again (at least once; receivers de-duplicate by \`id\`).
- veerd's counters after its restart: $WH_DELIVERED_RUN delivered, $WH_FAILED failed POSTs
  (retries while the receiver was down), $WH_DROPPED dropped; queue file $WH_QUEUE_FILE bytes at
  the end.

Backlogs and how fast they drained (one POST in flight, each acknowledged delivery fsync'd):

| when | backlog (events) | drained in |
|---|---|---|
$(for x in "${WH_DRAINS[@]}"; do IFS='|' read -r w n s <<<"$x"; echo "| $w | $n | $s s |"; done)

Receiver's summary: \`$r\`
EOF
}

# wh_json KEY: the value of KEY in the JSON object on stdin.
wh_json() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
