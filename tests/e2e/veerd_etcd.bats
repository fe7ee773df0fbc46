#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# veerd with an etcd source, against a real etcd (Debian's etcd-server) that each test starts
# in the veer node's namespace on 127.0.0.1 with a data directory of its own: VIPs written,
# re-weighted and deleted in etcd reach the data plane and serve traffic; a VIP in the file and
# in etcd is the file's; a bad key is refused alone; etcd killed and restarted: the watch
# resumes and nothing is applied again; a compaction past veerd's revision: a new list, and
# only its difference applied; an etcd that is not there or not etcd: one line, veerd runs on.

load helpers

WEB=198.18.100.60:80/tcp
API=198.18.100.61:80/tcp
OTHER=198.18.100.62:80/tcp
STILL=198.18.100.63:80/tcp
# Ports of the etcd source's range (19300-19399), on the veer node's own loopback.
ETCD_PORT=19301 ETCD_PEER=19302 ETCD_ALT=19303 FAKE_PORT=19305 DEAD_PORT=19309
METRICS=127.0.0.1:19310

setup_file() {
	command -v etcd >/dev/null && command -v etcdctl >/dev/null ||
		fail "etcd and etcdctl are missing: scripts/deps.sh installs etcd-server and etcd-client"
	e2e_topo_up etcd
	export CFG=$BATS_FILE_TMPDIR/veer.yaml
}

teardown_file() {
	e2e_veerd_stop
	e2e_topo_down "$WEB" "$API" "$OTHER" "$STILL"
}

setup() {
	VEERD_LOG=$BATS_TEST_TMPDIR/veerd.log
	: >"$VEERD_LOG"
	ETCD_PID= ETCD_RUNS=0
	etcd_start "$ETCD_PORT"
}

teardown() {
	e2e_veerd_stop
	etcd_stop
	local vip
	for vip in "$WEB" "$API" "$OTHER" "$STILL"; do
		e2e_vip_del "$vip"
	done
}

# etcd_start PORT: etcd on 127.0.0.1:PORT in the veer node, on this test's data directory
# (kept across restarts), and waits until it answers.
etcd_start() {
	ETCD_RUNS=$((ETCD_RUNS + 1))
	TOPO_BG_LOG=$BATS_TEST_TMPDIR/etcd.$ETCD_RUNS.log topo_bg lb etcd --name veer-e2e \
		--data-dir "$BATS_TEST_TMPDIR/etcd" \
		--listen-client-urls "http://127.0.0.1:$1" --advertise-client-urls "http://127.0.0.1:$1" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER" \
		--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
		--initial-cluster "veer-e2e=http://127.0.0.1:$ETCD_PEER"
	ETCD_PID=$TOPO_BG_PID
	if ! topo_wait 30 ectl_at "$1" endpoint health; then
		echo "etcd did not come up on port $1:" >&2
		tail -20 "$BATS_TEST_TMPDIR/etcd.$ETCD_RUNS.log" >&2
		return 1
	fi
}

# etcd_stop [SIGNAL]: ends the etcd etcd_start started, by pid.
etcd_stop() {
	[ -n "${ETCD_PID:-}" ] || return 0
	kill -"${1:-TERM}" "$ETCD_PID" 2>/dev/null || true
	wait "$ETCD_PID" 2>/dev/null || true
	ETCD_PID=
}

ectl_at() {
	local port=$1
	shift
	in_ns lb env ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$port" "$@" >/dev/null 2>&1
}

ectl() {
	in_ns lb env ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$ETCD_PORT" "$@"
}

# vip_json VIP BACKEND[=WEIGHT]...: the VIP as a YAML vips entry in JSON.
vip_json() {
	python3 -c '
import json, sys
addr, port = sys.argv[1].split("/")[0].rsplit(":", 1)
bes = []
for b in sys.argv[2:]:
    a, _, w = b.partition("=")
    bes.append({"address": a, **({"weight": int(w)} if w else {})})
print(json.dumps({"address": addr, "port": int(port), "protocol": "tcp", "backends": bes}))
' "$@"
}

# put NAME VIP BACKEND[=WEIGHT]...: /veer/vips/NAME holds the VIP.
put() {
	local name=$1
	shift
	ectl put "/veer/vips/$name" "$(vip_json "$@")" >/dev/null
}

# config [ENDPOINT...] < VIPS: the suite's config, the etcd source on these endpoints (default
# the test's etcd), the VIPs' YAML from stdin (none when stdin is empty).
config() {
	local eps=("$@") vips
	[ ${#eps[@]} -gt 0 ] || eps=("http://127.0.0.1:$ETCD_PORT")
	vips=$(cat)
	{
		echo "interfaces: [{name: l0}, {name: l1}, {name: l2}, {name: l3}]"
		echo "metrics: {listen: '$METRICS'}"
		echo "sources:"
		echo "  etcd: {endpoints: [$(IFS=,; echo "${eps[*]}")], prefix: /veer/}"
		if [ -n "$vips" ]; then
			echo "vips:"
			echo "$vips"
		else
			echo "vips: []"
		fi
	} | e2e_write_config "$CFG"
}

backends() {
	"$VEER" -j backend list "$1" 2>/dev/null | e2e_json "' '.join(sorted(b['address'] for b in d))"
}

weights() {
	"$VEER" -j backend list "$1" 2>/dev/null |
		e2e_json "' '.join(f\"{b['address']}={b['weight']}\" for b in sorted(d, key=lambda b: b['address']))"
}

vip_field() {
	"$VEER" -j vip list | e2e_json "next((v[sys.argv[2]] for v in d if v['vip'] == sys.argv[1]), None)" "$1" "$2"
}

# log_since MARK: veerd's log after its first MARK lines.
log_since() {
	tail -n +$(($1 + 1)) "$VEERD_LOG"
}

log_mark() {
	wc -l <"$VEERD_LOG"
}

metric() {
	in_ns lb curl -s "http://$METRICS/metrics" | awk -v s="$1" '$1 == s { print $2 }'
}

# start_listed: veerd on the config, waiting until the etcd source watches.
start_watching() {
	e2e_veerd_start "$CFG"
	topo_wait 10 grep -q 'etcd: watching /veer/vips/ from revision' "$VEERD_LOG"
}

@test "VIPs added, re-weighted and deleted in etcd are in the data plane and serve traffic" {
	config </dev/null
	put web "$WEB" 198.18.11.2 198.18.12.2
	start_watching
	assert_equal "$(backends "$WEB")" "198.18.11.2 198.18.12.2"
	assert_equal "$(vip_field "$WEB" owner)" etcd
	run e2e_get 20 http://198.18.100.60/
	refute_output --partial FAIL
	assert_output --partial b1
	assert_output --partial b2
	refute_output --partial b3

	# A new VIP, a backend added, one drained by weight 0: each in the data plane.
	put api "$API" 198.18.13.2
	put web "$WEB" 198.18.11.2=0 198.18.12.2 198.18.13.2=50
	topo_wait 5 eval '[ "$(weights "$WEB")" = "198.18.11.2=0 198.18.12.2=100 198.18.13.2=50" ]'
	topo_wait 5 eval '[ "$(backends "$API")" = "198.18.13.2" ]'
	run e2e_get 30 http://198.18.100.60/
	refute_output --partial FAIL
	refute_output --partial b1
	assert_output --partial b2
	assert_output --partial b3
	run e2e_get 5 http://198.18.100.61/
	refute_output --partial FAIL
	assert_output --regexp '^(b3.?)+$'

	# A key deleted takes its VIP away; the other stays as it was.
	local digest
	digest=$(vip_field "$WEB" ring_digest)
	ectl del /veer/vips/api >/dev/null
	topo_wait 5 eval '! e2e_vip_exists "$API"'
	assert_equal "$(vip_field "$WEB" ring_digest)" "$digest"
	run in_ns client curl -s -m 1 http://198.18.100.61/
	assert_failure
	grep -q 'etcd key /veer/vips/api deleted' "$VEERD_LOG"
	assert_equal "$(metric 'veer_source_up{source="etcd"}')" 1
}

@test "a VIP in the file and in etcd: the file's wins and the etcd key is named" {
	config <<'EOF'
  - address: 198.18.100.60
    port: 80
    backends: [{address: 198.18.11.2}]
EOF
	put web "$WEB" 198.18.12.2
	put api "$API" 198.18.13.2
	start_watching
	topo_wait 5 eval '[ "$(backends "$API")" = "198.18.13.2" ]'
	topo_wait 5 grep -q "VIP $WEB of etcd key /veer/vips/web is declared by file $CFG too: etcd's is refused" "$VEERD_LOG"
	assert_equal "$(vip_field "$WEB" owner)" config
	assert_equal "$(backends "$WEB")" "198.18.11.2"
	run e2e_get 10 http://198.18.100.60/
	refute_output --partial FAIL
	refute_output --partial b2
	# Told once, not at every event of the source.
	put api "$API" 198.18.13.2 198.18.12.2
	topo_wait 5 eval '[ "$(backends "$API")" = "198.18.12.2 198.18.13.2" ]'
	assert_equal "$(grep -c "^veerd: VIP $WEB of etcd key /veer/vips/web is declared by file" "$VEERD_LOG")" 1
	assert_equal "$(vip_field "$WEB" owner)" config
	# The file lets the VIP go: etcd's declaration of it takes over.
	config </dev/null
	topo_wait 5 eval '[ "$(vip_field "$WEB" owner)" = etcd ]'
	assert_equal "$(backends "$WEB")" "198.18.12.2"
	# Handed over, not fought over: no apply failed on the way.
	run grep -E 'cannot apply|reconcile of .* failed' "$VEERD_LOG"
	assert_output ""
	run e2e_get 10 http://198.18.100.60/
	refute_output --partial FAIL
	assert_output --regexp '^(b2.?)+$'
}

@test "bad JSON in one key is refused with the key's name and counted; the other VIPs stay" {
	config </dev/null
	put web "$WEB" 198.18.11.2
	ectl put /veer/vips/bad '{"address": "198.18.100.61", "port": 70000}' >/dev/null
	start_watching
	assert_equal "$(backends "$WEB")" "198.18.11.2"
	grep -q 'etcd key /veer/vips/bad refused: port: 70000 is not a port (want 1..65535); it declares no VIP' "$VEERD_LOG"
	! e2e_vip_exists "$API"
	assert_equal "$(metric 'veer_source_errors_total{source="etcd"}')" 1

	# A good key turned bad keeps its last good VIP, untouched.
	local digest mark
	digest=$(vip_field "$WEB" ring_digest)
	mark=$(log_mark)
	ectl put /veer/vips/web '{"address": "198.18.100.60", "port": 80, "backends": [' >/dev/null
	topo_wait 5 eval 'log_since $mark | grep -q "etcd key /veer/vips/web refused: not JSON"'
	log_since "$mark" | grep 'etcd key /veer/vips/web refused' | grep -q 'its last good VIP stays'
	assert_equal "$(metric 'veer_source_errors_total{source="etcd"}')" 2
	assert_equal "$(vip_field "$WEB" ring_digest)" "$digest"
	run e2e_get 5 http://198.18.100.60/
	refute_output --partial FAIL
	# The other keys go on: a new one is applied, and the bad one once fixed.
	put api "$API" 198.18.13.2
	ectl put /veer/vips/bad "$(vip_json "$OTHER" 198.18.12.2)" >/dev/null
	topo_wait 5 eval '[ "$(backends "$API")" = "198.18.13.2" ] && [ "$(backends "$OTHER")" = "198.18.12.2" ]'
	assert_equal "$(backends "$WEB")" "198.18.11.2"
	# Two keys that declare one VIP: the older key holds it, the newer is refused by name.
	put dup "$WEB" 198.18.13.2
	topo_wait 5 grep -q "etcd key /veer/vips/dup refused: VIP $WEB is declared by etcd key /veer/vips/web too" "$VEERD_LOG"
	assert_equal "$(backends "$WEB")" "198.18.11.2"
}

@test "etcd killed and restarted mid-watch: veerd resumes from its revision, nothing applied again" {
	config </dev/null
	put web "$WEB" 198.18.11.2 198.18.12.2
	put still "$STILL" 198.18.13.2
	start_watching
	topo_wait 5 eval '[ "$(backends "$STILL")" = "198.18.13.2" ]'
	local vips digest rev mark
	vips=$("$VEER" -j vip list)
	digest=$(vip_field "$WEB" ring_digest)
	rev=$(ectl get /veer/vips/still -w json | e2e_json "d['header']['revision']")
	mark=$(log_mark)

	etcd_stop KILL
	topo_wait 10 eval 'log_since $mark | grep -q "source etcd lost: lost the watch on http://127.0.0.1:$ETCD_PORT"'
	# No etcd: traffic goes on.
	run e2e_get 5 http://198.18.100.60/
	refute_output --partial FAIL
	assert_equal "$(metric 'veer_source_up{source="etcd"}')" 0
	etcd_start "$ETCD_PORT"
	topo_wait 20 eval 'log_since $mark | grep -q "etcd: watching /veer/vips/ from revision $((rev + 1)) on"'
	log_since "$mark"
	# Resumed, not listed again, and nothing applied: the same VIPs, tables and digests.
	run bash -c "tail -n +$((mark + 1)) '$VEERD_LOG' | grep -E 'etcd: listed|applied etcd|map writes'"
	assert_output ""
	assert_equal "$("$VEER" -j vip list)" "$vips"
	assert_equal "$(metric 'veer_source_up{source="etcd"}')" 1
	assert_equal "$(metric 'veer_source_lost_total{source="etcd"}')" 1

	# The watch is live again: the next change arrives, and only it.
	put web "$WEB" 198.18.11.2 198.18.12.2 198.18.13.2
	topo_wait 5 eval '[ "$(backends "$WEB")" = "198.18.11.2 198.18.12.2 198.18.13.2" ]'
	[ "$(vip_field "$WEB" ring_digest)" != "$digest" ]
	assert_equal "$(log_since "$mark" | grep -c 'applied etcd')" 1
	log_since "$mark" | grep 'applied etcd' | grep -q 'VIPs +0 ~0 -0, backends +1 ~0 -0'
}

@test "a compaction past veerd's revision while it is away: veerd lists again and applies the difference" {
	config </dev/null
	put web "$WEB" 198.18.11.2 198.18.12.2
	put api "$API" 198.18.13.2
	put still "$STILL" 198.18.13.2
	start_watching
	topo_wait 5 eval '[ "$(backends "$STILL")" = "198.18.13.2" ]'
	local digest mark rev
	digest=$(vip_field "$STILL" ring_digest)
	rev=$(ectl get /veer/vips/still -w json | e2e_json "d['header']['revision']")
	mark=$(log_mark)

	# etcd where veerd does not look, for a while: changes, then a compaction past them.
	etcd_stop
	etcd_start "$ETCD_ALT"
	ectl_at "$ETCD_ALT" put /veer/vips/web "$(vip_json "$WEB" 198.18.11.2=30 198.18.12.2)"
	ectl_at "$ETCD_ALT" del /veer/vips/api
	ectl_at "$ETCD_ALT" put /veer/vips/other "$(vip_json "$OTHER" 198.18.12.2)"
	ectl_at "$ETCD_ALT" put /unrelated/key x
	local now
	now=$(in_ns lb env ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$ETCD_ALT" get /unrelated/key -w json |
		e2e_json "d['header']['revision']")
	ectl_at "$ETCD_ALT" compact "$now"
	etcd_stop
	etcd_start "$ETCD_PORT"

	topo_wait 30 eval 'log_since $mark | grep -q "etcd: listed 3 keys under /veer/vips/ at revision $now"'
	log_since "$mark"
	log_since "$mark" | grep -q "etcd: revision $((rev + 1)) is compacted (http://127.0.0.1:$ETCD_PORT keeps $now on): listing /veer/vips/ again"
	topo_wait 5 eval '[ "$(weights "$WEB")" = "198.18.11.2=30 198.18.12.2=100" ]'
	topo_wait 5 eval '! e2e_vip_exists "$API"'
	assert_equal "$(backends "$OTHER")" "198.18.12.2"
	# Only the difference: the VIP that did not change kept its table, one apply did it all.
	assert_equal "$(vip_field "$STILL" ring_digest)" "$digest"
	assert_equal "$(log_since "$mark" | grep -c 'applied etcd')" 1
	log_since "$mark" | grep 'applied etcd' | grep -q 'VIPs +1 ~0 -1, backends +1 ~1 -0'
	run e2e_get 10 http://198.18.100.62/
	refute_output --partial FAIL
	assert_output --regexp '^(b2.?)+$'
	# And it watches again from the new list.
	put api "$API" 198.18.11.2
	topo_wait 5 eval '[ "$(backends "$API")" = "198.18.11.2" ]'
}

@test "an etcd that does not answer: one line naming it, the file's VIPs applied, the next endpoint tried" {
	config "http://127.0.0.1:$DEAD_PORT" <<'EOF'
  - address: 198.18.100.62
    port: 80
    backends: [{address: 198.18.12.2}]
EOF
	e2e_veerd_start "$CFG"
	topo_wait 5 grep -q "etcd: cannot list /veer/vips/ from http://127.0.0.1:$DEAD_PORT" "$VEERD_LOG"
	# Several tries (100 ms, 200 ms, ... apart), one line.
	sleep 1.5
	assert_equal "$(grep -c 'etcd: cannot' "$VEERD_LOG")" 1
	grep 'etcd: cannot' "$VEERD_LOG" | grep -q "Couldn't connect to server; trying again"
	kill -0 "$VEERD_PID"
	assert_equal "$(backends "$OTHER")" "198.18.12.2"
	run e2e_get 5 http://198.18.100.62/
	refute_output --partial FAIL
	e2e_veerd_stop

	# Two endpoints, the first dead: the second serves.
	put web "$WEB" 198.18.11.2
	config "http://127.0.0.1:$DEAD_PORT" "http://127.0.0.1:$ETCD_PORT" </dev/null
	e2e_veerd_start "$CFG"
	topo_wait 10 grep -q "etcd: listed 1 key under /veer/vips/ at revision [0-9]* from http://127.0.0.1:$ETCD_PORT" "$VEERD_LOG"
	topo_wait 5 eval '[ "$(backends "$WEB")" = "198.18.11.2" ]'
	# The file's VIP went with the file; the source's stay.
	topo_wait 5 eval '! e2e_vip_exists "$OTHER"'
}

@test "an endpoint that is not etcd: one line naming it and what came, veerd runs on" {
	TOPO_BG_LOG=$BATS_TEST_TMPDIR/fake.log topo_bg lb python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"<html>not etcd</html>\n" if self.path == "/v3/kv/range" else b"{}"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$FAKE_PORT"
	local fake=$TOPO_BG_PID
	topo_wait 10 in_ns lb curl -s -o /dev/null -X POST "http://127.0.0.1:$FAKE_PORT/"
	config "http://127.0.0.1:$FAKE_PORT" </dev/null
	e2e_veerd_start "$CFG"
	topo_wait 5 grep -q "etcd: malformed answer to a list from http://127.0.0.1:$FAKE_PORT: a message that is not a JSON object (starts with '<'); trying again" "$VEERD_LOG"
	sleep 1
	assert_equal "$(grep -c 'etcd: malformed' "$VEERD_LOG")" 1
	kill -0 "$VEERD_PID"
	kill "$fake"
	wait "$fake" || true
	# A 404 of a server that is not etcd names the status and what it said.
	e2e_veerd_stop
	TOPO_BG_LOG=$BATS_TEST_TMPDIR/http.log topo_bg lb python3 -m http.server --bind 127.0.0.1 "$FAKE_PORT"
	fake=$TOPO_BG_PID
	topo_wait 10 in_ns lb curl -s -o /dev/null "http://127.0.0.1:$FAKE_PORT/"
	: >"$VEERD_LOG"
	e2e_veerd_start "$CFG"
	topo_wait 5 grep -q "etcd: cannot list /veer/vips/: HTTP 501 from http://127.0.0.1:$FAKE_PORT" "$VEERD_LOG"
	kill -0 "$VEERD_PID"
	kill "$fake"
	wait "$fake" || true
}

@test "a VIP made by hand and declared in etcd is refused by name; etcd's other VIPs still apply" {
	config </dev/null
	"$VEER" vip add "$OTHER" >/dev/null
	put hand "$OTHER" 198.18.11.2
	put web "$WEB" 198.18.12.2
	start_watching
	topo_wait 5 eval '[ "$(vip_field "$WEB" owner)" = etcd ]'
	grep -q "VIP $OTHER of etcd key /veer/vips/hand is refused: it was made by hand" "$VEERD_LOG"
	assert_equal "$(vip_field "$OTHER" owner)" cli
	# The source is not frozen by it: a later key applies, and the refusal is told once.
	put api "$API" 198.18.13.2
	topo_wait 5 eval '[ "$(backends "$API")" = "198.18.13.2" ]'
	assert_equal "$(grep -c "^veerd: VIP $OTHER of etcd key /veer/vips/hand is refused" "$VEERD_LOG")" 1
	run grep -q 'cannot apply the VIPs of etcd' "$VEERD_LOG"
	assert_failure
}

@test "at start the file takes a VIP over from etcd as it is: same id and table, no failed reconcile" {
	config </dev/null
	put web "$WEB" 198.18.11.2 198.18.12.2
	start_watching
	topo_wait 5 eval '[ "$(vip_field "$WEB" owner)" = etcd ]'
	local id digest mark
	id=$(vip_field "$WEB" id)
	digest=$(vip_field "$WEB" ring_digest)
	e2e_veerd_stop
	config <<'EOF'
  - address: 198.18.100.60
    port: 80
    backends: [{address: 198.18.11.2}, {address: 198.18.12.2}]
  - address: 198.18.100.62
    port: 80
    backends: [{address: 198.18.13.2}]
EOF
	mark=$(log_mark)
	start_watching
	assert_equal "$(vip_field "$WEB" owner)" config
	assert_equal "$(vip_field "$WEB" id)" "$id"
	assert_equal "$(vip_field "$WEB" ring_digest)" "$digest"
	assert_equal "$(backends "$OTHER")" "198.18.13.2"
	log_since "$mark" | grep -q "VIP $WEB passes from etcd to config"
	run eval 'log_since "$mark" | grep "reconcile of .* failed"'
	assert_failure
}

@test "a veerd restart with etcd unchanged writes nothing: every table is known after the capabilities go" {
	config </dev/null
	put web "$WEB" 198.18.11.2 198.18.12.2
	put api "$API" 198.18.13.2
	start_watching
	topo_wait 5 eval '[ "$(backends "$API")" = "198.18.13.2" ]'
	e2e_veerd_stop
	local mark
	mark=$(log_mark)
	start_watching
	# The list's apply runs in the loop turn after the list: a later write to etcd shows it done.
	put marker "$STILL" 198.18.11.2
	topo_wait 5 eval '[ "$(backends "$STILL")" = "198.18.11.2" ]'
	run eval 'log_since "$mark" | grep "applied etcd"'
	assert_output --regexp '^veerd: applied etcd: VIPs \+1 ~0 -0, backends \+1 ~0 -0, 1 tables'
	assert_equal "${#lines[@]}" 1
}

@test "a key made bad keeps its VIP across a veerd restart; fixed, it applies and the hold ends" {
	config </dev/null
	put web "$WEB" 198.18.11.2
	put api "$API" 198.18.13.2
	start_watching
	topo_wait 5 eval '[ "$(backends "$WEB")" = "198.18.11.2" ] && [ "$(backends "$API")" = "198.18.13.2" ]'
	local id mark
	id=$(vip_field "$WEB" id)
	ectl put /veer/vips/web '{"address": "198.18.100.60", "port": 80, "backends": [' >/dev/null
	topo_wait 5 grep -q 'etcd key /veer/vips/web refused: not JSON' "$VEERD_LOG"
	e2e_veerd_stop
	# After the restart the key has no good value: its VIP is kept, not removed.
	mark=$(log_mark)
	start_watching
	topo_wait 5 eval 'log_since $mark | grep -q "etcd key /veer/vips/web refused: not JSON.*it declares no VIP"'
	topo_wait 5 eval 'log_since $mark | grep -q "etcd: VIPs no longer declared are kept"'
	assert_equal "$(vip_field "$WEB" owner)" etcd
	assert_equal "$(vip_field "$WEB" id)" "$id"
	assert_equal "$(backends "$WEB")" "198.18.11.2"
	run e2e_get 5 http://198.18.100.60/
	refute_output --partial FAIL
	# While held, a VIP whose key goes is kept too (the bad key may have declared it).
	ectl del /veer/vips/api >/dev/null
	topo_wait 5 eval 'log_since $mark | grep -q "etcd key /veer/vips/api deleted"'
	e2e_vip_exists "$API"
	# The key fixed: its new value applies, the hold ends and what no key declares goes.
	put web "$WEB" 198.18.12.2
	topo_wait 5 eval '[ "$(backends "$WEB")" = "198.18.12.2" ]'
	topo_wait 5 eval '! e2e_vip_exists "$API"'
}
