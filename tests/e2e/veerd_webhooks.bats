#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# veerd's webhooks against a receiver as a user would write one (webhook_receiver.py:
# python's http.server verifying every X-Veer-Signature with hmac.compare_digest, recording
# each POST): events from edits of veerd's file (config_applied, config_refused) and from a
# health check (backend_down, backend_up) arrive signed and in order; nothing is lost while
# the receiver is down, when veerd is killed (-9) mid-delivery, or both; a wrong secret is seen
# by the receiver; a url that is not http(s) and an unreadable secret file are one clear line
# each, and veerd runs on.
#
# veerd runs in the veer node's namespace, the receiver on 127.0.0.1:19210 there; one backend
# whose health check (HTTP, every 200 ms) is what goes down and up. "Produced" is what veerd
# logged ("event {...}"); every test checks that each produced id reached the receiver.

TOPO_BACKENDS=1
load helpers

PORT=19210
METRICS=127.0.0.1:19201
HOOK=http://127.0.0.1:$PORT/hook
VIP=198.18.100.90:80/tcp

setup_file() {
	export TOPO="vwh$$"
	e2e_pins_up "$TOPO" && topo_up || return 1
	mkdir -p "$BATS_FILE_TMPDIR/www"
	echo ok >"$BATS_FILE_TMPDIR/www/healthz"
	backend_start
}

teardown_file() {
	e2e_veerd_down
}

setup() {
	D=$BATS_TEST_TMPDIR
	export VEERD_LOG=$D/veerd.log
	: >"$VEERD_LOG"
	printf 'k3y-%s' "$RANDOM$RANDOM" >"$D/hook.key"
	chmod 0600 "$D/hook.key"
	backend_running || backend_start
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] || {
		tail -n 40 "$VEERD_LOG"
		tail -n 5 "$D/rec.jsonl" 2>/dev/null
	}
	e2e_veerd_stop
	receiver_stop
}

backend_start() { e2e_server_start 1 "$BATS_FILE_TMPDIR/www"; }

backend_running() { in_ns lb curl -s -f -m 1 -o /dev/null "http://198.18.11.2/healthz"; }

backend_stop() {
	kill "$(cat "$BATS_FILE_TMPDIR/b1.pid")"
	topo_wait 5 eval '! backend_running'
}


# receiver_start [ARGS...]: the receiver on $PORT with $D/hook.key, recording to $D/rec.jsonl.
receiver_start() {
	topo_bg lb python3 "$E2E_DIR/webhook_receiver.py" serve "$PORT" "$D/hook.key" "$D/rec.jsonl" "$@"
	echo "$TOPO_BG_PID" >"$D/receiver.pid"
	topo_wait 10 in_ns lb curl -s -f -o /dev/null "http://127.0.0.1:$PORT/"
}

receiver_stop() {
	local pid
	[ -f "$D/receiver.pid" ] || return 0
	pid=$(cat "$D/receiver.pid")
	rm -f "$D/receiver.pid"
	kill "$pid" 2>/dev/null || true
	topo_wait 5 e2e_gone "$pid"
}

# config [WEBHOOKS...]: the suite's config, with the webhook to $HOOK first and then each
# WEBHOOKS line (a YAML flow map) as one more.
config() {
	local w
	cat <<EOF
metrics: {listen: $METRICS}
vips:
  - address: 198.18.100.90
    port: 80
    protocol: tcp
    backends: [{address: 198.18.11.2}]
    health: {type: http, path: /healthz, interval: 200ms, timeout: 150ms, rise: 1, fall: 1}
webhooks:
  - {url: $HOOK, secret_file: $D/hook.key, queue_dir: $D/queue, timeout: 2s}
EOF
	for w in "$@"; do
		echo "  - $w"
	done
}

veerd_start() {
	config "$@" | e2e_write_config "$D/veer.yaml"
	e2e_veerd_start "$D/veer.yaml"
}

# produced: the ids veerd logged, one a line, in order.
produced() {
	grep -o 'veerd: event {.*' "$VEERD_LOG" | sed 's/^veerd: event //' |
		python3 -c '
import json, sys
for line in sys.stdin:
    try:
        print(json.loads(line)["id"])
    except ValueError:
        pass'
}

nproduced() { grep -c '^veerd: event {' "$VEERD_LOG" || true; }

# edit [N]: N config edits veerd accepts (a comment added), each waited for: N config_applied.
edit() {
	local i n
	for ((i = 0; i < ${1:-1}; i++)); do
		n=$(nproduced)
		{ cat "$D/veer.yaml"; echo "# edit $RANDOM"; } | e2e_write_config "$D/veer.yaml"
		topo_wait 10 eval '[ "$(nproduced)" -gt '"$n"' ]' || return 1
	done
}

# report [ARGS...]: the receiver's summary of $D/rec.jsonl against what veerd produced.
report() {
	produced >"$D/produced"
	python3 "$E2E_DIR/webhook_receiver.py" report "$D/rec.jsonl" --ids "$D/produced" "$@"
}

# field JSON KEY
field() { e2e_json "d[sys.argv[1]]" "$2" <<<"$1"; }

# all_delivered [ARGS...]: every produced id accepted by the receiver.
all_delivered() {
	local r
	r=$(report "$@") || return 1
	[ "$(field "$r" missing)" = 0 ] && [ "$(field "$r" expected)" -gt 0 ]
}

# metric NAME URL: the value of NAME{url="URL"} on veerd's /metrics.
metric() {
	in_ns lb curl -sf "http://$METRICS/metrics" | awk -v s="$1{url=\"$2\"}" '$1 == s { print $2 }'
}

# assert_delivered_in_order [ARGS...]: everything produced arrived, signed, in order.
assert_delivered_in_order() {
	local r
	topo_wait 20 all_delivered "$@" || true
	r=$(report "$@")
	echo "receiver: $r"
	assert_equal "$(field "$r" missing)" 0
	assert_equal "$(field "$r" bad_signatures)" 0
	assert_equal "$(field "$r" in_order)" True
	assert_equal "$(field "$r" expected_in_order)" True
	assert_equal "$(field "$r" seq_gaps)" 0
}

@test "events from config edits and a health check arrive signed, in order, with a seq" {
	receiver_start
	veerd_start
	topo_wait 10 eval '"$VEER" -j vip list 2>/dev/null | grep -q 198.18.100.90'
	edit 2
	# A config veerd refuses: config_refused, the running config kept.
	n=$(nproduced)
	{ config; echo "bogus: 1"; } | e2e_write_config "$D/veer.yaml"
	topo_wait 10 eval '[ "$(nproduced)" -gt '"$n"' ]'
	grep -q '"type":"config_refused"' "$VEERD_LOG"
	# The backend's health check fails and passes again.
	backend_stop
	topo_wait 10 eval 'grep -q "\"type\":\"backend_down\"" "$VEERD_LOG"'
	backend_start
	topo_wait 10 eval 'grep -q "\"type\":\"backend_up\"" "$VEERD_LOG"'
	assert_delivered_in_order
	r=$(report)
	for t in config_applied config_refused backend_down backend_up; do
		[[ $(field "$r" types) == *"'$t'"* ]] || fail "no $t event delivered: $r"
	done
	assert_equal "$(field "$r" duplicates)" 0
	assert_equal "$(field "$r" seq_first)" 1
	# Each body is the event as veerd logged it, plus the webhook's seq.
	python3 - "$D/rec.jsonl" "$VEERD_LOG" <<'EOF'
import json, sys
logged = {}
for line in open(sys.argv[2]):
    if "veerd: event {" in line:
        ev = json.loads(line.split("veerd: event ", 1)[1])
        logged[ev["id"]] = ev
for line in open(sys.argv[1]):
    rec = json.loads(line)
    body = json.loads(rec["body"])
    seq = body.pop("seq")
    assert isinstance(seq, int) and seq > 0, rec
    assert body == logged[body["id"]], (body, logged[body["id"]])
EOF
	assert_equal "$(metric veer_webhook_delivered_total "$HOOK")" "$(field "$r" accepted)"
	assert_equal "$(metric veer_webhook_queue_events "$HOOK")" 0
}

@test "receiver down for a while, then back: nothing is lost, retries counted" {
	receiver_start
	veerd_start
	edit 2
	topo_wait 10 all_delivered
	receiver_stop
	edit 5
	# Queued and retried while the receiver is gone.
	topo_wait 10 eval '[ "$(metric veer_webhook_failed_total "$HOOK")" -ge 2 ]'
	assert_equal "$(metric veer_webhook_queue_events "$HOOK")" 5
	[ "$(metric veer_webhook_queue_bytes "$HOOK")" -gt 0 ]
	grep -q "webhook $HOOK: POST failed: .*retrying with backoff" "$VEERD_LOG"
	# Down for a while: a few rounds of backoff (0.1, 0.2, 0.4, 0.8 s...).
	topo_wait 20 eval '[ "$(metric veer_webhook_failed_total "$HOOK")" -ge 5 ]'
	receiver_start
	assert_delivered_in_order
	grep -q "webhook $HOOK: delivering again, after [0-9]* failed attempts" "$VEERD_LOG"
	assert_equal "$(metric veer_webhook_queue_events "$HOOK")" 0
	assert_equal "$(metric veer_webhook_dropped_total "$HOOK")" 0
}

# A receiver answering slowly, so that veerd is killed with deliveries in flight and queued.
@test "veerd killed (-9) mid-delivery and restarted: every event arrives, in order" {
	receiver_start --delay 0.5
	veerd_start
	edit 20
	# Mid-delivery: some delivered, some not.
	topo_wait 20 eval '[ "$(grep -c "\"status\": 200" "$D/rec.jsonl" 2>/dev/null)" -ge 5 ]'
	accepted=$(grep -c '"status": 200' "$D/rec.jsonl")
	[ "$accepted" -lt 20 ] || fail "all 20 delivered before the kill: the receiver is too fast"
	e2e_veerd_stop KILL
	e2e_veerd_start "$D/veer.yaml"
	grep -q "webhook $HOOK: [0-9]* undelivered events in $D/queue/" "$VEERD_LOG"
	edit 3
	assert_delivered_in_order
	r=$(report)
	echo "duplicates after kill -9: $(field "$r" duplicates)"
	[ "$(field "$r" duplicates)" -le 1 ] || fail "more than the one in flight delivered twice"
}

@test "receiver down and veerd killed (-9) at once: every event arrives after both return" {
	receiver_start
	veerd_start
	edit 2
	topo_wait 10 all_delivered
	receiver_stop
	edit 4
	topo_wait 10 eval '[ "$(metric veer_webhook_queue_events "$HOOK")" = 4 ]'
	e2e_veerd_stop KILL
	e2e_veerd_start "$D/veer.yaml"
	edit 2
	receiver_start
	assert_delivered_in_order
	r=$(report)
	assert_equal "$(field "$r" unique)" "$(nproduced)"
}

# hup N: N events fast, each a config_applied of an edit (a comment added) signalled at once:
# veerd reports a file once, whether the save or the SIGHUP reaches it first.
hup() {
	local i n
	for ((i = 0; i < $1; i++)); do
		n=$(nproduced)
		{ cat "$D/veer.yaml"; echo "# hup $i $RANDOM"; } >"$D/veer.yaml.new"
		chmod 0644 "$D/veer.yaml.new" && mv -f "$D/veer.yaml.new" "$D/veer.yaml"
		kill -HUP "$VEERD_PID"
		until [ "$(nproduced)" -gt "$n" ]; do sleep 0.002; done
	done
}

@test "a full queue drops new events, counted, logged once, seen by the receiver as a gap in seq" {
	receiver_start
	# The smallest queue_max: 64 KiB, some 300 of these events.
	config | sed 's|timeout: 2s}|timeout: 2s, queue_max: 64KiB}|' | e2e_write_config "$D/veer.yaml"
	e2e_veerd_start "$D/veer.yaml"
	hup 2
	topo_wait 10 all_delivered
	receiver_stop
	hup 450
	dropped=$(metric veer_webhook_dropped_total "$HOOK")
	echo "dropped: $dropped of $(nproduced)"
	[ "$dropped" -gt 0 ] || fail "nothing dropped: the queue did not fill"
	[ "$(metric veer_webhook_queue_bytes "$HOOK")" -le 65536 ]
	run grep -c "webhook $HOOK: event .* dropped: the queue holds 65536 bytes undelivered (queue_max); dropping until there is room" "$VEERD_LOG"
	assert_output 1
	receiver_start
	topo_wait 30 eval '[ "$(metric veer_webhook_queue_events "$HOOK")" = 0 ]'
	hup 1
	topo_wait 10 eval '[ "$(metric veer_webhook_queue_events "$HOOK")" = 0 ]'
	grep -q "webhook $HOOK: queueing events again, after $dropped dropped" "$VEERD_LOG"
	r=$(report)
	echo "receiver: $r"
	# Everything but the dropped events arrived, in order; the gap in seq says how many.
	assert_equal "$(field "$r" missing)" "$dropped"
	assert_equal "$(field "$r" seq_gaps)" "$dropped"
	assert_equal "$(field "$r" expected_in_order)" True
	assert_equal "$(field "$r" bad_signatures)" 0
}

@test "a wrong secret is detected by the receiver; the fixed secret file is read again" {
	receiver_start
	printf 'not-the-key' >"$D/wrong.key"
	chmod 0600 "$D/wrong.key"
	veerd_start "{url: http://127.0.0.1:$PORT/wrong, secret_file: $D/wrong.key, queue_dir: $D/queue}"
	edit
	topo_wait 10 eval 'grep -q "\"path\": \"/wrong\".*\"status\": 401" "$D/rec.jsonl"'
	r=$(report --path /wrong)
	echo "/wrong: $r"
	[ "$(field "$r" bad_signatures)" -ge 1 ]
	assert_equal "$(field "$r" accepted)" 0
	grep '"path": "/wrong"' "$D/rec.jsonl" | grep -q '"sig_ok": false'
	[ "$(metric veer_webhook_failed_total "http://127.0.0.1:$PORT/wrong")" -ge 1 ]
	assert_equal "$(metric veer_webhook_delivered_total "http://127.0.0.1:$PORT/wrong")" 0
	# The right webhook is not held up by the wrong one.
	assert_delivered_in_order --path /hook
	# The secret rotated to the receiver's: the queued event goes out signed with it.
	cp "$D/hook.key" "$D/wrong.key.new" && mv "$D/wrong.key.new" "$D/wrong.key"
	topo_wait 40 all_delivered --path /wrong
	r=$(report --path /wrong)
	echo "/wrong after the rotation: $r"
	assert_equal "$(field "$r" missing)" 0
	assert_equal "$(grep '"path": "/wrong"' "$D/rec.jsonl" | grep '"status": 200' | grep -c '"sig_ok": true')" \
		"$(field "$r" accepted)"
	assert_equal "$(metric veer_webhook_delivered_total "http://127.0.0.1:$PORT/wrong")" \
		"$(field "$r" accepted)"
}

@test "a url that is not http(s): one line, the running config and its webhooks go on" {
	receiver_start
	veerd_start
	edit
	topo_wait 10 all_delivered
	mark=$(wc -l <"$VEERD_LOG")
	n=$(nproduced)
	config | sed "s|url: $HOOK|url: ftp://127.0.0.1:$PORT/hook|" | e2e_write_config "$D/veer.yaml"
	topo_wait 10 eval '[ "$(nproduced)" -gt '"$n"' ]'
	# What veerd said, its event records aside.
	tail -n +$((mark + 1)) "$VEERD_LOG" | grep -v '^veerd: event {' >"$D/said"
	cat "$D/said"
	assert_equal "$(wc -l <"$D/said")" 1
	grep -q "^veerd: config refused (file changed), keeping the running one: .*veer.yaml:9:11: webhooks\[0\].url: ftp://127.0.0.1:$PORT/hook is not an http or https URL" "$D/said"
	kill -0 "$VEERD_PID"
	# The refusal itself is delivered by the webhook the running config has.
	assert_delivered_in_order
	[[ $(field "$(report)" types) == *"'config_refused'"* ]]
}

@test "an unreadable secret file: one line naming the webhook; the others deliver; read once it is there" {
	receiver_start
	veerd_start "{url: http://127.0.0.1:$PORT/late, secret_file: $D/late.key, queue_dir: $D/queue}"
	run grep "webhook http://127.0.0.1:$PORT/late" "$VEERD_LOG"
	echo "$output"
	assert_equal "${#lines[@]}" 1
	assert_regex "${lines[0]}" "veerd: webhook http://127.0.0.1:$PORT/late \(.*veer.yaml:10:5, webhooks\[1\]\): cannot read secret_file $D/late.key: No such file or directory; its events are queued, not delivered, until it can be read"
	kill -0 "$VEERD_PID"
	edit 2
	assert_delivered_in_order --path /hook
	assert_equal "$(field "$(report --path /late)" posts)" 0
	# Every event so far is queued for it (the start's too, when veerd makes one).
	assert_equal "$(metric veer_webhook_queue_events "http://127.0.0.1:$PORT/late")" "$(nproduced)"
	# The file appears: the queued events go out.
	cp "$D/hook.key" "$D/late.key"
	assert_delivered_in_order --path /late
	grep -q "webhook http://127.0.0.1:$PORT/late: secret_file $D/late.key read: delivering" "$VEERD_LOG"
}
