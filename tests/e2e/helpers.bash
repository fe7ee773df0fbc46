# SPDX-License-Identifier: GPL-2.0
# Shared by the e2e suites: bats-support/bats-assert, the namespace testbed and a few helpers.
#
# Every suite builds its own topology once (setup_file), under a namespace prefix unique to
# the suite and the run, adds only its own VIPs and deletes them again in teardown_file, which
# BATS runs even when tests fail. Every suite also has a pin directory of its own
# (/sys/fs/bpf/veer-e2e-NAME, e2e_pins_up/e2e_pins_down): suites never share VIPs, counters or
# cache entries with each other or with a host's real veer in /sys/fs/bpf/veer, so `make test`
# can run while veer serves traffic, and pins an older veer left behind cannot get in the way.

bats_require_minimum_version 1.5.0

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_ROOT=$(cd "$E2E_DIR/../.." && pwd)

for _lib in bats-support bats-assert; do
	for _dir in /usr/lib/bats /usr/lib/bats-core /usr/local/lib/bats /usr/share/bats; do
		if [ -f "$_dir/$_lib/load.bash" ]; then
			load "$_dir/$_lib/load"
			break
		fi
	done
done
unset _lib _dir

# The veer under test: $VEER if set, else a copy of build/veer taken once per run, so that a
# rebuild during the run (others share this tree) cannot swap the binary under a suite.
if [ -z "${VEER:-}" ]; then
	VEER=$BATS_RUN_TMPDIR/veer
	for _try in $(seq 50); do
		[ -x "$VEER" ] && break
		if cp "$E2E_ROOT/build/veer" "$VEER.$$" 2>/dev/null && "$VEER.$$" -V >/dev/null 2>&1; then
			mv "$VEER.$$" "$VEER"
		else
			rm -f "$VEER.$$"
			sleep 0.1
		fi
	done
	unset _try
	[ -x "$VEER" ] || VEER=$E2E_ROOT/build/veer
fi

# shellcheck source=../../scripts/topology.sh
source "$E2E_ROOT/scripts/topology.sh"

# e2e_fails_with RC PATTERN CMD...: CMD (a veer command line, maybe behind a wrapper) exits RC,
# the first line of stderr matches the extended regex "^veer: PATTERN", nothing is printed on
# stdout, and the suite's state() prints the same before and after. Operation failures (RC 1)
# print exactly one line; usage errors may add a usage text.
e2e_fails_with() {
	local rc=$1 pattern=$2 before after
	shift 2
	before=$(state)
	run --separate-stderr "$@"
	after=$(state)
	echo "$*: exit $status; stderr:"
	printf '%s\n' "$stderr"
	assert_equal "$status" "$rc"
	assert_output ""
	assert_regex "${stderr_lines[0]}" "^veer: $pattern"
	if [ "$rc" -eq 1 ]; then
		assert_equal "${#stderr_lines[@]}" 1
	elif [ "${#stderr_lines[@]}" -gt 1 ]; then
		assert_regex "${stderr_lines[1]}" '^(usage: |commands|  veer )'
	fi
	assert_equal "$after" "$before"
}

# e2e_skip_missing FEATURE WHY: skips the test because its probe found the kernel without
# FEATURE. The only skip a run accepts: tests/e2e/run.sh (make test, make e2e) fails on others.
e2e_skip_missing() {
	skip "kernel feature missing: $1: $2"
}

# e2e_pins_up NAME: the suite's own pin directory, for every veer it runs (exported).
e2e_pins_up() {
	export VEER_PIN_DIR=/sys/fs/bpf/veer-e2e-$1
	topo_mount_bpffs || return 1
	rm -rf "$VEER_PIN_DIR" # left by a killed run of the same name
}

# e2e_pins_down: removes the suite's pin directory; its maps go once nothing holds them.
e2e_pins_down() {
	[[ ${VEER_PIN_DIR:-} == /sys/fs/bpf/veer-e2e-* ]] && rm -rf "$VEER_PIN_DIR"
	return 0
}

# e2e_topo_up SUITE [ATTACH_ARGS...]: topology "SUITE<pid>" with servers and veer attached
# everywhere, with ATTACH_ARGS (e.g. --hook xdp) or at the hook veer chooses.
e2e_topo_up() {
	[ -x "$VEER" ] || { echo "$VEER is missing: make build/veer" >&2; return 1; }
	export TOPO="$1$$"
	shift
	e2e_pins_up "$TOPO" && topo_up && topo_servers && topo_attach "$@"
}

# e2e_topo_down VIP...: deletes the suite's VIPs (if present), detaches, removes the topology
# and the suite's pin directory.
e2e_topo_down() {
	local vip
	for vip in "$@"; do
		e2e_vip_del "$vip"
	done
	topo_down
	e2e_pins_down
}

# e2e_vip_del VIP: deletes VIP if it exists; quiet.
e2e_vip_del() {
	if e2e_vip_exists "$1"; then
		"$VEER" vip del "$1" >/dev/null 2>&1 || true
	fi
}

e2e_vip_exists() {
	"$VEER" -j vip list 2>/dev/null | e2e_json "any(v['vip'] == sys.argv[1] for v in d)" "$1" 2>/dev/null |
		grep -qx True
}

# e2e_vip_new VIP BACKEND[=WEIGHT]...: (re)creates VIP with these backends. A VIP left over
# by a killed run of the same suite is removed first (VIPs are unique per suite).
e2e_vip_new() {
	local vip=$1 be
	shift
	e2e_vip_del "$vip"
	"$VEER" vip add "$vip" || return 1
	for be in "$@"; do
		if [[ $be == *=* ]]; then
			"$VEER" backend add "$vip" "${be%=*}" --weight "${be##*=}" || return 1
		else
			"$VEER" backend add "$vip" "$be" || return 1
		fi
	done
}

# e2e_json EXPR [ARGS...]: evaluates the python expression EXPR with d = JSON from stdin
# (sys.argv[1:] holds ARGS) and prints the result.
e2e_json() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.argv = sys.argv[1:]
print(eval(sys.argv[0]))
' "$@"
}

# e2e_get N URL: N HTTP GETs from the client, each on a new TCP connection (the backends'
# http.server speaks HTTP/1.0 and closes after every answer; curl runs once per request so
# that a failed request is seen as such). Prints one line per request: the answer or FAIL.
e2e_get() {
	in_ns client bash -c '
for ((i = 0; i < $1; i++)); do
	curl -s -f -g -m 2 "$2" || echo FAIL
done' - "$1" "$2"
}

# e2e_count FILE NAME: how many lines of FILE are exactly NAME.
e2e_count() {
	grep -cx -- "$2" "$1" || true
}

# e2e_assert_spread FILE TOTAL MIN MAX: FILE holds TOTAL answers, none failed, and each of
# b1, b2 and b3 answered between MIN and MAX of them.
e2e_assert_spread() {
	local file=$1 total=$2 min=$3 max=$4 b n
	sort "$file" | uniq -c
	assert_equal "$(e2e_count "$file" FAIL)" 0
	assert_equal "$(wc -l <"$file")" "$total"
	for b in b1 b2 b3; do
		n=$(e2e_count "$file" "$b")
		(( n >= min && n <= max )) || fail "$b answered $n of $total requests (want $min..$max)"
	done
}

# e2e_stats_vip VIP EXPR: evaluates EXPR with v = VIP's entry in `veer -j stats`.
e2e_stats_vip() {
	"$VEER" -j stats | e2e_json \
		'(lambda v: eval(sys.argv[2]))(next(v for v in d["vips"] if v["vip"] == sys.argv[1]))' \
		"$1" "$2"
}

# e2e_backend_stat VIP ADDR FIELD: FIELD of backend ADDR (address only) in `veer -j stats`.
e2e_backend_stat() {
	e2e_stats_vip "$1" "next(b for b in v['backend_stats'] if b['address'] == '$2')['$3']"
}

# e2e_reason NAME: the reason counter NAME (dropped/passed/sent...) in `veer -j stats`. The
# counters are shared by every user of the pinned state: compare before and after.
e2e_reason() {
	"$VEER" -j stats | e2e_json "d['reasons'][sys.argv[1]]" "$1"
}

# e2e_big_servers PORT: tests/e2e/big_server.py on every backend (HTTP GET of N bytes,
# POST/PUT of any size, UDP echo of any size, on PORT/tcp and PORT/udp), and waits for them.
e2e_big_servers() {
	local i
	for i in $(seq 1 "$TOPO_BACKENDS"); do
		topo_bg "b$i" python3 "$E2E_DIR/big_server.py" "b$i" "$1"
	done
	for i in $(seq 1 "$TOPO_BACKENDS"); do
		topo_wait 10 in_ns client curl -s -f -o /dev/null "http://198.18.1$i.2:$1/8" ||
			{ echo "big_server on b$i did not come up" >&2; return 1; }
	done
}

# e2e_snmp NODE COUNTER: a counter of NODE's /proc/net/snmp (IPv4, e.g. IpReasmReqds, as
# "Ip" + field) or /proc/net/snmp6 (IPv6, e.g. Ip6ReasmReqds).
e2e_snmp() {
	in_ns "$1" awk -v c="$2" '
		FILENAME ~ /snmp6$/ { if ($1 == c) print $2; next }
		$1 == "Ip:" && !n { n = split($0, h); next }
		$1 == "Ip:" { for (i = 2; i <= n; i++) if ("Ip" h[i] == c) print $i }
	' /proc/net/snmp /proc/net/snmp6
}

# e2e_narrow client|backends: MTU 1280 on the links of that side (c0 and l0, or every lN and
# bN0), while the hosts there advertise the MSS of a 1500-byte MTU (route advmss), as a host
# one hop behind a wider link would. The MSS exchange then hides the narrow link from the
# other end, and only veer sees that a packet will not fit its egress link: it must tell the
# sender (fragmentation needed / packet too big), or the connection stalls.
e2e_narrow() {
	local i
	if [ "$1" = client ]; then
		e2e_narrow_link l0 client c0 198.18.1.1 2001:2:0:1::1
		return
	fi
	for i in $(seq 1 "$TOPO_BACKENDS"); do
		e2e_narrow_link "l$i" "b$i" "b${i}0" "198.18.1$i.1" "2001:2:0:1$i::1" || return 1
	done
}

# e2e_narrow_link LB_IF NODE IF GW4 GW6
e2e_narrow_link() {
	in_ns lb ip link set "$1" mtu 1280 &&
		in_ns "$2" ip link set "$3" mtu 1280 &&
		in_ns "$2" ip route replace default via "$4" dev "$3" advmss 1460 &&
		in_ns "$2" ip -6 route replace default via "$5" dev "$3" advmss 1440
}

# e2e_big_get URL N: GET URL (a big_server's /N) from the client; prints OK when the N bytes
# came back exactly, else FAIL and what came.
e2e_big_get() {
	in_ns client curl -s -f -g -m 5 "$1" | python3 -c '
import sys
sys.path.insert(0, sys.argv[2])
from big_server import pattern
data = sys.stdin.buffer.read()
print("OK" if data == pattern(int(sys.argv[1])) else f"FAIL {len(data)} bytes")' "$2" "$E2E_DIR"
}

# e2e_big_send METHOD URL FILE: sends FILE as the body of a POST or PUT from the client; prints
# OK BACKEND when a big_server read it whole (length and SHA-256), else FAIL and the answer.
e2e_big_send() {
	local answer want
	want="$(stat -c %s "$3") $(sha256sum "$3" | cut -d' ' -f1)"
	answer=$(in_ns client curl -s -f -g -m 5 -X "$1" --data-binary "@$3" \
		-H 'Content-Type: application/octet-stream' "$2") || answer="curl failed: $answer"
	if [[ $answer =~ ^(b[0-9])\ (.*)$ && ${BASH_REMATCH[2]} == "$want" ]]; then
		echo "OK ${BASH_REMATCH[1]}"
	else
		echo "FAIL $answer"
	fi
}

# The veerd under test, copied once per run as $VEER is.
if [ -z "${VEERD:-}" ]; then
	VEERD=$BATS_RUN_TMPDIR/veerd
	if [ ! -x "$VEERD" ]; then
		cp "$E2E_ROOT/build/veerd" "$VEERD.$$" 2>/dev/null && mv "$VEERD.$$" "$VEERD"
	fi
	[ -x "$VEERD" ] || VEERD=$E2E_ROOT/build/veerd
fi

# e2e_veerd_start CONFIG [ARGS...]: veerd -d on CONFIG in the veer node's network namespace
# (nsenter: it must see the host's bpffs), on the suite's pin directory, logging to
# $VEERD_LOG (default $BATS_FILE_TMPDIR/veerd.log, appended). Waits until it says it runs;
# its pid is in VEERD_PID. Fails with the log when it exits first.
e2e_veerd_start() {
	local cfg=$1
	shift
	VEERD_LOG=${VEERD_LOG:-$BATS_FILE_TMPDIR/veerd.log}
	local mark
	mark=$(wc -l <"$VEERD_LOG" 2>/dev/null || echo 0)
	nsenter --net="/run/netns/$(ns lb)" "$VEERD" -d -f "$cfg" --pin-dir "$VEER_PIN_DIR" "$@" \
		</dev/null >>"$VEERD_LOG" 2>&1 3>&- &
	VEERD_PID=$!
	topo_wait 20 eval 'tail -n +$((mark + 1)) "$VEERD_LOG" | grep -q "veerd: running" || ! kill -0 $VEERD_PID 2>/dev/null'
	if ! kill -0 "$VEERD_PID" 2>/dev/null || ! tail -n +$((mark + 1)) "$VEERD_LOG" | grep -q "veerd: running"; then
		echo "veerd did not start:" >&2
		tail -n +$((mark + 1)) "$VEERD_LOG" >&2
		return 1
	fi
}

# e2e_veerd_stop [SIGNAL]: ends the veerd e2e_veerd_start started (TERM by default), by pid.
e2e_veerd_stop() {
	[ -n "${VEERD_PID:-}" ] || return 0
	kill -"${1:-TERM}" "$VEERD_PID" 2>/dev/null || true
	wait "$VEERD_PID" 2>/dev/null || true
	VEERD_PID=
}

# e2e_veerd_down: the end of a veerd suite: veerd stopped, the data plane it leaves attached
# and pinned on purpose taken down (--cleanup), the topology and the pin directory removed.
e2e_veerd_down() {
	e2e_veerd_stop
	if [ -e "/run/netns/$(ns lb)" ]; then
		nsenter --net="/run/netns/$(ns lb)" "$VEERD" -d --cleanup --pin-dir "$VEER_PIN_DIR" \
			>/dev/null 2>&1 || true
	fi
	topo_down
	e2e_pins_down
}

# python's http.server with a listen backlog of 1024, not socketserver's 5: health checks,
# request loops and held connections arrive together, and on a busy host a full backlog drops
# SYNs that curl would time out on.
E2E_HTTP_SERVER='
import functools, http.server, sys
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 1024
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
Server(("0.0.0.0", 80), handler).serve_forever()
'

# e2e_server_start N [DIR]: backend N's HTTP server on :80 serving DIR (default the file's
# tmpdir's wwwN, made on first use with "bN" at / and "ok" at /healthz), its pid in the file's
# tmpdir, once it answers /healthz.
e2e_server_start() {
	local dir=${2:-$BATS_FILE_TMPDIR/www$1}
	if [ ! -d "$dir" ]; then
		mkdir -p "$dir" && echo "b$1" >"$dir/index.html" && echo ok >"$dir/healthz" || return 1
	fi
	topo_bg "b$1" python3 -c "$E2E_HTTP_SERVER" "$dir"
	echo "$TOPO_BG_PID" >"$BATS_FILE_TMPDIR/b$1.pid"
	topo_wait 10 in_ns lb curl -s -f -o /dev/null "http://198.18.1$1.2/healthz"
}

e2e_gone() { ! kill -0 "$1" 2>/dev/null; }

# e2e_server_stop N: ends backend N's HTTP server, by its pid.
e2e_server_stop() {
	local pid
	pid=$(cat "$BATS_FILE_TMPDIR/b$1.pid")
	kill "$pid"
	topo_wait 5 e2e_gone "$pid"
}

# e2e_write_config FILE < YAML: replaces FILE as editors do (a new file renamed over it), mode
# 0644.
e2e_write_config() {
	local tmp
	tmp=$(mktemp "$(dirname "$1")/.cfg.XXXXXX") || return 1
	cat >"$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$1"
}

# e2e_stop_load: stops a suite's request loop (LOAD_PID, started with $D/stop as its stop
# file) and waits for it; nothing when none runs.
e2e_stop_load() {
	[ -n "${LOAD_PID:-}" ] || return 0
	touch "$D/stop"
	wait "$LOAD_PID" || true
	LOAD_PID=
}
