#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The event stream, end to end: veerd in the veer node's namespace serves a VIP of three HTTP
# backends with health checks, every new flow sampled (veer set event-sample 1/1). `veer events
# --follow` sees every new connection from the client exactly once, with its 5-tuple and the
# backend that answered it; veerd's own events (a backend taken down and brought back by its
# health checks, a config refused, then applied) are in `veer events` and in veerd's log;
# --type filters; an unknown type is refused; with veerd stopped, `veer events` reads the data
# plane's ring buffer itself, drop bursts included.

load helpers

VIP=198.18.100.70:80/tcp
VIP_ADDR=198.18.100.70
DEAD_VIP=198.18.100.71:80/tcp # no backend: its packets are dropped (no_backend)
BASE_PORT=19100		      # the client's source ports: this suite's range
METRICS=127.0.0.1:19190	      # veerd's /metrics, in the veer node's namespace
CONNS=20

setup_file() {
	export TOPO="vevents$$"
	export VEERD_LOG=$BATS_FILE_TMPDIR/veerd.log
	export CFG=$BATS_FILE_TMPDIR/veer.yaml
	# veer attached by hand first, as veerd.bats does: veerd adopts it at once.
	e2e_pins_up "$TOPO" && topo_up && topo_attach || return 1
	for i in 1 2 3; do
		e2e_server_start "$i" || return 1
	done
	config | e2e_write_config "$CFG"
	"$VEER" set event-sample 1/1 || return 1
	e2e_veerd_start "$CFG" || return 1
	export VEERD_PID
	topo_wait 10 all_up || { cat "$VEERD_LOG" >&2; return 1; }
}

teardown_file() {
	# A veerd a test started again (its pid is not this shell's variable).
	[ ! -s "$BATS_FILE_TMPDIR/veerd.pid" ] || VEERD_PID=$(cat "$BATS_FILE_TMPDIR/veerd.pid")
	e2e_veerd_down
}

# veerd_again: veerd started by a test; its pid kept for teardown_file.
veerd_again() {
	e2e_veerd_start "$CFG" || return 1
	echo "$VEERD_PID" >"$BATS_FILE_TMPDIR/veerd.pid"
}

setup() {
	D=$BATS_TEST_TMPDIR
	FOLLOW_PID=
}

teardown() {
	[ -z "$FOLLOW_PID" ] || kill "$FOLLOW_PID" 2>/dev/null || true
	[ -n "${BATS_TEST_COMPLETED:-}" ] || tail -n 30 "$VEERD_LOG"
}

config() {
	cat <<EOF
interfaces: [{name: l0}, {name: l1}, {name: l2}, {name: l3}]
metrics: {listen: $METRICS}
vips:
  - address: $VIP_ADDR
    port: 80
    protocol: tcp
    backends: [{address: 198.18.11.2}, {address: 198.18.12.2}, {address: 198.18.13.2}]
    health: {type: http, path: /healthz, interval: 200ms, timeout: 150ms, rise: 2, fall: 2}
EOF
}

all_up() {
	[ "$("$VEER" -j backend list "$VIP" 2>/dev/null |
		e2e_json "sorted(b['health'] for b in d)" 2>/dev/null)" = "['up', 'up', 'up']" ]
}

# follow FILE [ARGS...]: `veer events -j --follow ARGS` in the veer node's namespace (interface
# names are its), its lines in FILE, its stderr in FILE.err; its pid in FOLLOW_PID.
follow() {
	local out=$1
	shift
	nsenter --net="/run/netns/$(ns lb)" "$VEER" events -j --follow "$@" \
		</dev/null >"$out" 2>"$out.err" 3>&- &
	FOLLOW_PID=$!
}

# follow_stop: SIGINT, as ^C; the follower exits 0.
follow_stop() {
	kill -INT "$FOLLOW_PID"
	wait "$FOLLOW_PID"
	local rc=$?
	FOLLOW_PID=
	return $rc
}

lines_at_least() { (($(wc -l <"$1") >= $2)); }
# has FILE TYPE [EXPR]: FILE holds an event of TYPE for which the python EXPR of e holds.
has() {
	python3 - "$@" <<'EOF'
import json, sys
path, typ = sys.argv[1], sys.argv[2]
expr = sys.argv[3] if len(sys.argv) > 3 else "True"
for line in open(path):
    e = json.loads(line)
    if e["type"] == typ and eval(expr):
        sys.exit(0)
sys.exit(1)
EOF
}

# CONNS connections from the client to the VIP, from source ports BASE.., one request each:
# prints "PORT BACKEND" per connection (the backend's answer names it).
CONNECT='
import socket, sys
vip, base, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for port in range(base, base + n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("198.18.1.2", port))
    s.settimeout(3)
    s.connect((vip, 80))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
    s.close()
    print(port, data.split(b"\r\n\r\n", 1)[-1].decode().strip(), flush=True)
'

@test "veer events --follow: every new connection once, with its 5-tuple and its backend" {
	follow "$D/ev"
	# The events veerd holds come first (its start's config_applied): the reader is in.
	topo_wait 10 lines_at_least "$D/ev" 1 || fail "no event reached the reader: $(cat "$D/ev.err")"
	in_ns client python3 -c "$CONNECT" "$VIP_ADDR" "$BASE_PORT" "$CONNS" >"$D/answers"
	cat "$D/answers"
	assert_equal "$(wc -l <"$D/answers")" "$CONNS"
	flows() { (($(grep -c '"type":"flow_new"' "$D/ev") >= CONNS)); }
	topo_wait 10 flows || fail "$(grep -c flow_new "$D/ev") flow_new events of $CONNS"
	follow_stop
	run python3 - "$D/ev" "$D/answers" "$VIP_ADDR" <<'EOF'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
answers = dict(l.split() for l in open(sys.argv[2]))
vip = sys.argv[3]
seen = {}
for e in events:
    for k in ("id", "type", "time"):
        assert k in e, f"{k} missing in {e}"
    if e["type"] != "flow_new":
        continue
    port = e["client"].rsplit(":", 1)[1]
    assert e["client"] == "198.18.1.2:" + port and e["vip"] == vip + ":80", e
    assert e["protocol"] == "tcp" and e["mode"] == "nat" and e["interface"] == "l0", e
    seen[port] = seen.get(port, []) + [e]
for port, backend in answers.items():
    got = seen.get(port, [])
    assert len(got) == 1, f"port {port}: {len(got)} flow_new events"
    want = "198.18.1%s.2:80" % backend[1:]
    assert got[0]["backend"] == want, f"port {port}: {got[0]['backend']}, answered by {backend}"
extra = set(seen) - set(answers)
assert not extra, f"flows of no connection of ours: {extra}"
ids = [e["id"] for e in events]
assert len(set(ids)) == len(ids), "ids repeat"
print("ok", len(answers), "connections")
EOF
	echo "$output"
	assert_success
	# Logged by veerd too, one line each.
	grep -c 'veerd: event {.*"type":"flow_new"' "$VEERD_LOG"
	(($(grep -c 'veerd: event {.*"type":"flow_new".*"client":"198.18.1.2:'"$BASE_PORT"'"' "$VEERD_LOG") == 1))
}

@test "a backend's health: backend_down and backend_up in veer events and in veerd's log" {
	follow "$D/ev" --type backend_down,backend_up
	e2e_server_stop 2
	down() { has "$D/ev" backend_down 'e["backend"] == "198.18.12.2:80" and e["vip"] == "'"$VIP"'"'; }
	topo_wait 10 down || fail "no backend_down: $(cat "$D/ev")"
	grep -q 'veerd: event {.*"type":"backend_down".*"backend":"198.18.12.2:80"' "$VEERD_LOG"
	e2e_server_start 2
	up() { has "$D/ev" backend_up 'e["backend"] == "198.18.12.2:80"'; }
	topo_wait 10 up || fail "no backend_up: $(cat "$D/ev")"
	grep -q 'veerd: event {.*"type":"backend_up".*"backend":"198.18.12.2:80"' "$VEERD_LOG"
	follow_stop
	# Only the types asked for.
	run python3 -c 'import json, sys; print(sorted({json.loads(l)["type"] for l in open(sys.argv[1])}))' "$D/ev"
	assert_output "['backend_down', 'backend_up']"
	topo_wait 10 all_up
}

@test "a config refused, then applied: config_refused and config_applied, in the stream and the log" {
	local mark
	follow "$D/ev" --type config_refused,config_applied
	mark=$(wc -l <"$VEERD_LOG")
	printf 'vips:\n  - address: %s\n    port: 99999\n    protocol: tcp\n' "$VIP_ADDR" |
		e2e_write_config "$CFG"
	refused() { has "$D/ev" config_refused '"port" in e["error"] and e["source"] == "file"'; }
	topo_wait 10 refused || fail "no config_refused: $(cat "$D/ev")"
	tail -n +$((mark + 1)) "$VEERD_LOG" | grep -q 'veerd: event {.*"type":"config_refused"'
	config | sed 's/interval: 200ms/interval: 250ms/' | e2e_write_config "$CFG"
	applied() { has "$D/ev" config_applied 'e["source"] == "file" and e["config"] == "'"$CFG"'"'; }
	topo_wait 10 applied || fail "no config_applied: $(cat "$D/ev")"
	tail -n +$((mark + 1)) "$VEERD_LOG" | grep -q 'veerd: event {.*"type":"config_applied"'
	follow_stop
}

@test "/metrics counts the events by type, passes promtool, and shows the readers" {
	local text
	follow "$D/ev"
	topo_wait 10 lines_at_least "$D/ev" 1
	text=$(in_ns lb curl -sf "http://$METRICS/metrics")
	promtool check metrics <<<"$text"
	follow_stop
	grep '^veer_events' <<<"$text"
	run awk '$1 == "veer_events_total{type=\"flow_new\"}" { print $2 }' <<<"$text"
	((output >= CONNS)) || fail "veer_events_total{type=\"flow_new\"} is $output"
	grep -qx 'veer_events_total{type="backend_down"} [1-9][0-9]*' <<<"$text"
	grep -qx 'veer_events_lost_total{type="flow_new"} 0' <<<"$text"
	grep -qx 'veer_events_readers 1' <<<"$text"
}

@test "--type filters what veerd holds; the text form is one line per event" {
	run --separate-stderr veer_lb events -j --type backend_down
	assert_success
	[ -n "$output" ] || fail "no backend_down held (the health test did not run?)"
	run python3 -c 'import json, sys; print({json.loads(l)["type"] for l in sys.stdin})' <<<"$output"
	assert_output "{'backend_down'}"
	run --separate-stderr veer_lb events --type flow_new
	assert_success
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" "$CONNS"
	for l in "${lines[@]}"; do
		assert_regex "$l" '^[0-9T:.-]+Z flow_new tcp 198\.18\.1\.2:[0-9]+ -> 198\.18\.100\.70:80 backend 198\.18\.1[123]\.2:80 nat on l0$'
	done
	run --separate-stderr veer_lb events --type backend_up
	assert_regex "${lines[0]}" '^[0-9T:.-]+Z backend_up vip=198\.18\.100\.70:80/tcp backend=198\.18\.12\.2:80$'
}

@test "an event type that does not exist: exit 2, one line naming it and the valid ones" {
	run --separate-stderr "$VEER" events --type flow_old
	assert_equal "$status" 2
	assert_output ""
	assert_equal "${#stderr_lines[@]}" 1
	assert_equal "$stderr" "veer: unknown event type 'flow_old' (want flow_new, drop_burst, table_full, backend_down, backend_up, config_applied, config_refused, source_connected, source_lost, cache_feed_lost)"
	run --separate-stderr "$VEER" events --follow --type flow_new,nope
	assert_equal "$status" 2
	assert_regex "$stderr" "^veer: unknown event type 'nope'"
	run --separate-stderr "$VEER" events --type
	assert_equal "$status" 2
	# An empty name in a list is refused as an empty --type is.
	run --separate-stderr "$VEER" events --type ''
	assert_equal "$status" 2
	assert_regex "$stderr" "^veer: empty event type \(want flow_new, "
	run --separate-stderr "$VEER" events --type flow_new,,backend_up
	assert_equal "$status" 2
	assert_regex "$stderr" "^veer: empty event type \(want flow_new, "
	run --separate-stderr "$VEER" events --type flow_new,
	assert_equal "$status" 2
	run --separate-stderr "$VEER" events extra
	assert_equal "$status" 2
}

@test "veer set event-sample and event-drop-burst: shown, refused when wrong" {
	run "$VEER" set
	assert_line "event-sample 1/1"
	assert_line "event-drop-burst off"
	run --separate-stderr "$VEER" set event-sample 100%
	assert_equal "$status" 2
	assert_regex "$stderr" "^veer: invalid event-sample '100%': want off, or 1/N"
	run --separate-stderr "$VEER" set event-drop-burst -3
	assert_equal "$status" 2
	run "$VEER" -j set
	assert_equal "$(e2e_json 'd["event-sample"], d["event-drop-burst"]' <<<"$output")" "('1/1', 0)"
}

@test "no veerd: veer events looks at the ring itself, new flows and drop bursts, says so once, and leaves them to veerd" {
	local mark
	kill "$VEERD_PID"
	topo_wait 10 e2e_gone "$VEERD_PID" || fail "veerd did not stop"
	"$VEER" vip add "$DEAD_VIP"
	"$VEER" set event-drop-burst 3
	in_ns client python3 -c "$CONNECT" "$VIP_ADDR" $((BASE_PORT + 50)) 2 >"$D/answers"
	# Five SYNs at once to a VIP without backends: dropped (no_backend), a burst of 3 or more.
	in_ns client python3 -c '
import socket, time
socks = [socket.socket() for _ in range(5)]
for s in socks:
    s.setblocking(False)
    s.connect_ex(("198.18.100.71", 80))
time.sleep(0.2)
'

	run --separate-stderr veer_lb events -j
	assert_success
	echo "$output"
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" "^veer: no veerd serves $VEER_PIN_DIR: reading the data plane's ring buffer"
	echo "$output" >"$D/ev"
	has "$D/ev" flow_new 'e["client"] == "198.18.1.2:'$((BASE_PORT + 50))'"'
	has "$D/ev" flow_new 'e["client"] == "198.18.1.2:'$((BASE_PORT + 51))'"'
	has "$D/ev" drop_burst 'e["reason"] == "no_backend" and e["threshold"] == 3 and e["destination"] == "198.18.100.71:80"'
	# Only looked at: shown again, the same records.
	run --separate-stderr veer_lb events -j
	assert_success
	echo "$output" >"$D/ev2"
	same='
import json, sys
a, b = ([(e["type"], e["time"]) for e in map(json.loads, open(p))] for p in sys.argv[1:])
assert a == b and a, (a, b)
'
	python3 -c "$same" "$D/ev" "$D/ev2"
	# And veerd, started now, reads them: they reach its log (and its webhooks).
	mark=$(wc -l <"$VEERD_LOG")
	veerd_again
	logged() {
		tail -n +$((mark + 1)) "$VEERD_LOG" |
			grep -q 'veerd: event {.*"type":"flow_new".*"client":"198.18.1.2:'$((BASE_PORT + 50))'"'
	}
	topo_wait 10 logged || fail "the records looked at did not reach veerd"
	tail -n +$((mark + 1)) "$VEERD_LOG" | grep -q 'veerd: event {.*"type":"drop_burst".*"destination":"198.18.100.71:80"'
	"$VEER" vip del "$DEAD_VIP"
	"$VEER" set event-drop-burst off
}

@test "veer events --follow without veerd: the ring until veerd starts, then veerd's stream, and veerd misses nothing" {
	local mark
	VEERD_PID=$(cat "$BATS_FILE_TMPDIR/veerd.pid")
	kill "$VEERD_PID"
	topo_wait 10 e2e_gone "$VEERD_PID" || fail "veerd did not stop"
	: >"$BATS_FILE_TMPDIR/veerd.pid"
	follow "$D/ev"
	ringing() { grep -q "^veer: no veerd serves" "$D/ev.err"; }
	topo_wait 10 ringing || fail "the follower did not read the ring: $(cat "$D/ev.err")"
	in_ns client python3 -c "$CONNECT" "$VIP_ADDR" $((BASE_PORT + 60)) 1 >/dev/null
	seen() { has "$D/ev" flow_new 'e["client"] == "198.18.1.2:'"$1"'"'; }
	topo_wait 10 seen $((BASE_PORT + 60)) || fail "the ring's follower did not see a new flow"
	mark=$(wc -l <"$VEERD_LOG")
	veerd_again
	handed() { grep -q "^veer: veerd started: following its stream$" "$D/ev.err"; }
	topo_wait 10 handed || fail "the follower did not hand over: $(cat "$D/ev.err")"
	in_ns client python3 -c "$CONNECT" "$VIP_ADDR" $((BASE_PORT + 61)) 1 >/dev/null
	topo_wait 10 seen $((BASE_PORT + 61)) || fail "the follower did not see veerd's stream"
	# veerd read the ring (the follower did not take it from it): its log has the flow.
	logged() {
		tail -n +$((mark + 1)) "$VEERD_LOG" |
			grep -q 'veerd: event {.*"type":"flow_new".*"client":"198.18.1.2:'$((BASE_PORT + 61))'"'
	}
	topo_wait 10 logged || fail "veerd did not log the new flow"
	# veerd's own events come too now: its start's config_applied.
	has "$D/ev" config_applied
	follow_stop
	assert_equal "$(grep -c "veerd started" "$D/ev.err")" 1
	# Each flow once.
	assert_equal "$(grep -c '"client":"198.18.1.2:'$((BASE_PORT + 61))'"' "$D/ev")" 1
	"$VEER" set event-sample off
}
