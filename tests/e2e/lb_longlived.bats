#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Established TCP connections keep their backend through the connection table while the
# backend set changes: others added, the connection's own backend drained or removed.

load helpers

VIP=198.18.100.14:7000/tcp
VIP2=198.18.100.15:7000/tcp

setup_file() {
	e2e_topo_up longlived
	for i in 1 2 3; do
		topo_bg "b$i" python3 "$E2E_DIR/echo_server.py" "b$i" 7000
	done
	for i in 1 2 3; do
		topo_wait 10 ask "198.18.1$i.2" >/dev/null || { echo "echo server b$i is not up" >&2; return 1; }
	done
}

teardown_file() {
	e2e_topo_down "$VIP" "$VIP2"
}

teardown() {
	if [ -n "${CLIENT_PID:-}" ]; then
		touch "$BATS_TEST_TMPDIR/stop"
		wait "$CLIENT_PID" || true
	fi
}

# ask HOST: one line on a new connection to HOST:7000 from the client; prints the answer.
ask() {
	in_ns client python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 7000), timeout=2)
s.sendall(b"who\n")
print(s.makefile().readline().strip())' "$1"
}

# start_client HOST CONNS: CONNS long-lived connections to HOST:7000 (tests/e2e/ll_client.py).
start_client() {
	LOG=$BATS_TEST_TMPDIR/rounds
	TOPO_BG_LOG=$BATS_TEST_TMPDIR/client.err topo_bg client python3 "$E2E_DIR/ll_client.py" \
		"$1" 7000 "$2" "$LOG" "$BATS_TEST_TMPDIR/stop" 60
	CLIENT_PID=$TOPO_BG_PID
}

rounds() { [ -e "$LOG" ] && wc -l <"$LOG" || echo 0; }

# more_rounds N: waits until the client has done N more rounds (it must still be running).
more_rounds() {
	local want=$(($(rounds) + $1))
	topo_wait 20 eval '(( $(rounds) >= want )) || ! kill -0 "$CLIENT_PID" 2>/dev/null'
	kill -0 "$CLIENT_PID" 2>/dev/null || fail "the client stopped: $(cat "$BATS_TEST_TMPDIR/client.err")"
	(( $(rounds) >= want )) || fail "the client stalled at $(rounds) rounds"
}

# stop_client BACKEND: stops the client; asserts it exited cleanly, always on BACKEND.
stop_client() {
	touch "$BATS_TEST_TMPDIR/stop"
	local rc=0
	wait "$CLIENT_PID" || rc=$?
	CLIENT_PID=
	cat "$BATS_TEST_TMPDIR/client.err"
	assert_equal "$rc" 0
	run awk -v b="$1" '{ for (i = 2; i <= NF; i++) if ($i != b) bad++ } END { print NR, bad + 0 }' "$LOG"
	echo "rounds, answers not from $1: $output"
	assert_equal "${output#* }" 0
}

@test "long-lived connections keep their backend while others come, go and it drains" {
	e2e_vip_new "$VIP" 198.18.11.2
	start_client 198.18.100.14 4
	more_rounds 5
	# Others join and b1 drains: the Maglev table no longer has b1, new connections go to
	# the others, the established ones stay on b1 through the connection table.
	"$VEER" backend add "$VIP" 198.18.12.2
	"$VEER" backend add "$VIP" 198.18.13.2
	"$VEER" backend set "$VIP" 198.18.11.2 --weight 0
	run ask 198.18.100.14
	assert_success
	assert_output --regexp '^b[23]$'
	more_rounds 5
	# The others leave again (no backend takes new flows at all), then come back.
	"$VEER" backend del "$VIP" 198.18.12.2
	"$VEER" backend del "$VIP" 198.18.13.2
	more_rounds 5
	"$VEER" backend add "$VIP" 198.18.13.2
	"$VEER" backend add "$VIP" 198.18.12.2 --weight 300
	"$VEER" backend set "$VIP" 198.18.11.2 --weight 100
	more_rounds 5
	stop_client b1
	(( ${output% *} >= 20 )) || fail "only ${output% *} rounds"
	"$VEER" vip del "$VIP"
}

@test "long-lived connections to a removed backend finish there; new ones go elsewhere" {
	e2e_vip_new "$VIP2" 198.18.12.2
	start_client 198.18.100.15 4
	more_rounds 5
	"$VEER" backend add "$VIP2" 198.18.11.2
	"$VEER" backend add "$VIP2" 198.18.13.2
	"$VEER" backend del "$VIP2" 198.18.12.2
	more_rounds 5
	for _ in 1 2 3 4 5 6; do
		run ask 198.18.100.15
		assert_success
		assert_output --regexp '^b[13]$'
	done
	more_rounds 5
	stop_client b2
	"$VEER" vip del "$VIP2"
}
