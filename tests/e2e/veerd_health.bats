#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# veerd's health checks against real HTTP servers (python's http.server on every backend),
# with requests flowing through the VIP from the client: a stopped server leaves the VIP within
# fall x interval + 1 interval and requests fail no longer than that; restarted, it returns after
# rise checks; a health path that answers 404 takes a backend out while its server still runs,
# and on_down decides whether its established connections stay (keep) or go (reset).
#
# veerd runs in the veer node's namespace with a config of this suite's own (two VIPs over the
# three backends, HTTP checks of /healthz every 200 ms, rise 2, fall 2), in the suite's pin
# directory.

load helpers

VIP=198.18.100.60:80/tcp
URL=http://198.18.100.60/
RESET_VIP=198.18.100.61:80/tcp
RESET_ADDR=198.18.100.61
INTERVAL_MS=200
RISE=2
FALL=2
TIMEOUT_MS=150
# What polling `veer backend list`, veerd's writes to the data plane and a loaded machine add to
# the contract's bounds.
SLACK_MS=600

setup_file() {
	export TOPO="vhealth$$"
	export VEERD_LOG=$BATS_FILE_TMPDIR/veerd.log
	# veer attached by hand first, as veerd.bats does: veerd adopts it at once, where loading
	# the data plane onto four interfaces can outlast e2e_veerd_start's wait on a busy host.
	e2e_pins_up "$TOPO" && topo_up && topo_attach || return 1
	for i in 1 2 3; do
		e2e_server_start "$i" || return 1
	done
	config | e2e_write_config "$BATS_FILE_TMPDIR/veer.yaml"
	# -v: every failed check in the log, which teardown shows when a test fails.
	e2e_veerd_start "$BATS_FILE_TMPDIR/veer.yaml" -v || return 1
	topo_wait 10 all_up "$VIP" || { cat "$VEERD_LOG" >&2; return 1; }
	topo_wait 10 all_up "$RESET_VIP" || { cat "$VEERD_LOG" >&2; return 1; }
}

teardown_file() {
	e2e_veerd_down
}

teardown() {
	e2e_stop_load
	# What veerd said, when a test failed.
	[ -n "${BATS_TEST_COMPLETED:-}" ] || tail -n 30 "$VEERD_LOG"
}

# bname ADDR: the backend's name, what its server answers (198.18.12.2 -> b2).
bname() { local n=${1#198.18.1}; echo "b${n%%.*}"; }
now_ms() { date +%s%3N; }

# The suite's config: both VIPs over the three backends, HTTP checks of /healthz; on_down keep
# (the default, said anyway) on the first, reset on the second.
config() {
	local vip
	echo "interfaces: [{name: l0}, {name: l1}, {name: l2}, {name: l3}]"
	echo "metrics: {listen: off}"
	echo "vips:"
	for vip in "198.18.100.60 keep" "198.18.100.61 reset"; do
		cat <<EOF
  - address: ${vip% *}
    port: 80
    protocol: tcp
    backends: [{address: 198.18.11.2}, {address: 198.18.12.2}, {address: 198.18.13.2}]
    health: {type: http, path: /healthz, interval: ${INTERVAL_MS}ms,
             timeout: ${TIMEOUT_MS}ms, rise: $RISE, fall: $FALL, on_down: ${vip#* }}
EOF
	done
}

# health VIP ADDR: the backend's health in `veer -j backend list` (empty if it is not listed).
health() {
	"$VEER" -j backend list "$1" 2>/dev/null |
		e2e_json "next((b['health'] for b in d if b['address'] == sys.argv[1]), '')" "$2" \
			2>/dev/null
}

all_up() {
	[ "$("$VEER" -j backend list "$1" 2>/dev/null |
		e2e_json "sorted(b['health'] for b in d)" 2>/dev/null)" = "['up', 'up', 'up']" ]
}

is() { [ "$(health "$1" "$2")" = "$3" ]; }

# The same from the text output, five times quicker than JSON through python: for polling.
is_text() {
	"$VEER" backend list "$1" 2>/dev/null |
		awk -v be="$2:80" -v want="$3" '$1 == be && $6 == "health" { found = $7 == want }
			END { exit !found }'
}

# wait_health VIP ADDR STATE SECONDS: polls until the backend is STATE; prints when (ms).
wait_health() {
	local deadline=$((SECONDS + $4)) t
	until is_text "$1" "$2" "$3"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.01
	done
	t=$(now_ms)
	is "$1" "$2" "$3" || return 1
	echo "$t"
}

# A request loop in the client namespace, each request logged as "START_MS ANSWER" (FAIL when
# curl fails: refused, reset, an HTTP error, no answer within 1 s).
LOOP='
out=$1 stop=$2 url=$3
while [ ! -e "$stop" ]; do
	t=$(date +%s%3N)
	if a=$(curl -s -f -m 1 "$url"); then echo "$t $a"; else echo "$t FAIL"; fi >>"$out"
done'

start_load() {
	D=$BATS_TEST_TMPDIR
	: >"$D/out"
	topo_bg client bash -c "$LOOP" - "$D/out" "$D/stop" "$1"
	LOAD_PID=$TOPO_BG_PID
}

logged() { (($(wc -l <"$D/out") >= $1)); }
lines_at_least() { (($(wc -l <"$1") >= $2)); }
# logged_since MS N: at least N requests started at or after MS.
logged_since() { (($(awk -v t="$1" '$1 >= t' "$D/out" | wc -l) >= $2)); }

@test "veerd checks every backend: all up, and requests reach all three" {
	all_up "$VIP"
	all_up "$RESET_VIP"
	e2e_get 60 "$URL" >"$BATS_TEST_TMPDIR/answers"
	e2e_assert_spread "$BATS_TEST_TMPDIR/answers" 60 5 40
}

@test "a stopped server leaves within fall x interval + 1 interval; requests fail no longer" {
	local window=$(((FALL + 1) * INTERVAL_MS)) t_stop t_down first last n
	start_load "$URL"
	topo_wait 30 logged 30 || fail "the request loop did not get going"
	t_stop=$(now_ms)
	e2e_server_stop 2
	t_down=$(wait_health "$VIP" 198.18.12.2 down 10) || fail "b2 never went down"
	echo "stopped at $t_stop, down after $((t_down - t_stop)) ms (window $window ms)"
	((t_down - t_stop <= window + SLACK_MS)) ||
		fail "down $((t_down - t_stop)) ms after the stop (want <= $window + $SLACK_MS)"
	topo_wait 30 logged_since "$t_down" 60 || fail "the request loop stalled"
	e2e_stop_load
	awk '{ print $2 }' "$D/out" | sort | uniq -c
	# Failures only between the stop and the removal, none after it.
	first=$(awk '$2 == "FAIL" { print $1; exit }' "$D/out")
	last=$(awk '$2 == "FAIL" { t = $1 } END { print t }' "$D/out")
	if [ -n "$first" ]; then
		echo "requests failed from $((first - t_stop)) to $((last - t_stop)) ms after the stop"
		((last - t_stop <= window + SLACK_MS)) ||
			fail "requests failed $((last - t_stop)) ms after the stop (want <= $window + $SLACK_MS)"
	fi
	n=$(awk -v t="$t_down" '$1 > t + 100 && $2 == "FAIL"' "$D/out" | wc -l)
	assert_equal "$n" 0
	n=$(awk -v t="$t_down" '$1 > t + 100 && $2 == "b2"' "$D/out" | wc -l)
	assert_equal "$n" 0
	# The other VIP checks the same server: down there too; the others stay up.
	is "$RESET_VIP" 198.18.12.2 down
	is "$VIP" 198.18.11.2 up
	is "$VIP" 198.18.13.2 up
}

@test "restarted, the server returns after rise checks and takes requests again" {
	local window=$(((RISE + 1) * INTERVAL_MS)) t_up t_ready
	is "$VIP" 198.18.12.2 down || fail "b2 is not down (the previous test did not run?)"
	e2e_server_start 2 || fail "b2's server did not come back"
	t_ready=$(now_ms)
	t_up=$(wait_health "$VIP" 198.18.12.2 up 10) || fail "b2 never came back"
	echo "answering at $t_ready, up $((t_up - t_ready)) ms later (window $window ms)"
	((t_up - t_ready <= window + SLACK_MS)) ||
		fail "up $((t_up - t_ready)) ms after its server answered (want <= $window + $SLACK_MS)"
	wait_health "$RESET_VIP" 198.18.12.2 up 5 >/dev/null || fail "b2 not back on $RESET_VIP"
	e2e_get 60 "$URL" >"$BATS_TEST_TMPDIR/answers"
	e2e_assert_spread "$BATS_TEST_TMPDIR/answers" 60 5 40
	e2e_get 60 "http://$RESET_ADDR/" >"$BATS_TEST_TMPDIR/answers"
	e2e_assert_spread "$BATS_TEST_TMPDIR/answers" 60 5 40
}

# A connection held open through a VIP (http.server waits for its request): prints its local
# port, then, once the file $2 exists, sends a request and prints the answer's body, or ERROR.
HOLD='
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], 80), timeout=5)
print(s.getsockname()[1], flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
try:
    s.settimeout(3)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
    print(data.split(b"\r\n\r\n", 1)[-1].decode().strip() or "EMPTY", flush=True)
except OSError as e:
    print("ERROR", type(e).__name__, flush=True)
'

# hold NAME ADDR: a held connection to ADDR:80, its output in $D/NAME; prints its backend.
hold() {
	local port be
	TOPO_BG_LOG=$D/$1 topo_bg client python3 -c "$HOLD" "$2" "$D/go"
	if ! topo_wait 5 test -s "$D/$1"; then
		echo "no connection to $2:80 within 5 s: $(cat "$D/$1")" >&2
		in_ns client ss -tn >&2
		return 1
	fi
	port=$(head -1 "$D/$1")
	be=$("$VEER" -j flows | e2e_json \
		"next(f['backend'] for f in d if f['client'] == '198.18.1.2:' + sys.argv[1])" "$port")
	echo "${be%:*}"
}

# flows_on VIP_ADDR BACKEND_ADDR: how many connections `veer flows` has of the VIP (port 80) on
# the backend.
flows_on() {
	"$VEER" -j flows | e2e_json "sum(1 for f in d if f['vip'] == sys.argv[1] + ':80' and
		(f['backend'] or '').startswith(sys.argv[2] + ':'))" "$1" "$2"
}

@test "health path 404: out while its server runs; on_down keep holds flows, reset drops them" {
	local be keep reset n dir name
	D=$BATS_TEST_TMPDIR
	keep=$(hold keep 198.18.100.60) || fail "no held connection through $VIP"
	# One connection through the reset VIP on the same backend (Maglev hashes the port).
	for n in $(seq 1 30); do
		be=$(hold "reset$n" "$RESET_ADDR") || fail "no held connection through $RESET_VIP"
		[ "$be" = "$keep" ] && break
	done
	[ "$be" = "$keep" ] || fail "no connection through $RESET_VIP reached $keep"
	reset=reset$n
	name=$(bname "$keep")
	echo "held connections on $keep ($name)"
	dir=$BATS_FILE_TMPDIR/www${name#b}
	mv "$dir/healthz" "$dir/healthz.off"
	wait_health "$VIP" "$keep" down 5 >/dev/null || fail "$keep did not go down on $VIP"
	wait_health "$RESET_VIP" "$keep" down 5 >/dev/null || fail "$keep did not go down on $RESET_VIP"
	# keep: the connection's entry is still there; reset: gone.
	(($(flows_on 198.18.100.60 "$keep") >= 1)) || fail "on_down keep: no flow of $VIP left on $keep"
	assert_equal "$(flows_on "$RESET_ADDR" "$keep")" 0
	# The held connections' requests: keep still reaches its server; reset's does not.
	touch "$D/go"
	topo_wait 10 lines_at_least "$D/keep" 2 || fail "the kept connection said nothing"
	topo_wait 10 lines_at_least "$D/$reset" 2 || fail "the reset connection said nothing"
	cat "$D/keep" "$D/$reset"
	assert_equal "$(sed -n 2p "$D/keep")" "$name"
	[ "$(sed -n 2p "$D/$reset")" != "$name" ] || fail "the reset connection still reached $keep"
	# New requests avoid it; its health path back, it returns on both VIPs.
	e2e_get 30 "$URL" >"$D/answers"
	sort "$D/answers" | uniq -c
	assert_equal "$(e2e_count "$D/answers" FAIL)" 0
	assert_equal "$(e2e_count "$D/answers" "$name")" 0
	mv "$dir/healthz.off" "$dir/healthz"
	wait_health "$VIP" "$keep" up 5 >/dev/null || fail "$keep did not come back on $VIP"
	wait_health "$RESET_VIP" "$keep" up 5 >/dev/null || fail "$keep did not come back on $RESET_VIP"
}
