#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# veerd on a config file in the testbed: the file's VIPs in the data plane, edits (by rename,
# in place, SIGHUP) in within a second, broken edits refused with the running state kept, VIPs
# made by hand left alone, one veerd per pin directory, and restarts (kill -9, ten times under
# load) that no request and no long-lived connection notices.

load helpers

VIP=198.18.100.40:80/tcp
ECHO=198.18.100.41:7000/tcp
HAND=198.18.100.42:80/tcp

setup_file() {
	e2e_topo_up veerd
	for i in 1 2 3; do
		topo_bg "b$i" python3 "$E2E_DIR/echo_server.py" "b$i" 7000
	done
	export CFG=$BATS_FILE_TMPDIR/veer.yaml
	export VEERD_LOG=$BATS_FILE_TMPDIR/veerd.log
}

teardown_file() {
	e2e_veerd_stop
	e2e_topo_down "$HAND" "$VIP" "$ECHO"
}

teardown() {
	if [ -n "${LOAD_PIDS:-}" ]; then
		touch "$BATS_TEST_TMPDIR/stop"
		for pid in $LOAD_PIDS; do wait "$pid" || true; done
		LOAD_PIDS=
	fi
	e2e_veerd_stop
}

# config BACKENDS...: the suite's config with $VIP served by these backend addresses (and the
# echo VIP by all three).
config() {
	local be
	{
		cat <<EOF
# veerd e2e
interfaces: [{name: l0}, {name: l1}, {name: l2}, {name: l3}]
metrics: {listen: off}
vips:
  - address: 198.18.100.40
    port: 80
    protocol: tcp
    backends:
EOF
		for be in "$@"; do
			echo "      - {address: $be}"
		done
		cat <<EOF
  - address: 198.18.100.41
    port: 7000
    protocol: tcp
    backends: [{address: 198.18.11.2}, {address: 198.18.12.2}, {address: 198.18.13.2}]
EOF
	} | e2e_write_config "$CFG"
}

# backends VIP: the VIP's backend addresses, sorted, on one line.
backends() {
	"$VEER" -j backend list "$1" 2>/dev/null | e2e_json "' '.join(sorted(b['address'] for b in d))"
}

vip_field() {
	"$VEER" -j vip list | e2e_json "next((v[sys.argv[2]] for v in d if v['vip'] == sys.argv[1]), None)" "$1" "$2"
}

@test "veerd puts the file's VIPs in the data plane and they serve traffic" {
	config 198.18.11.2 198.18.12.2
	e2e_veerd_start "$CFG"
	assert_equal "$(backends "$VIP")" "198.18.11.2 198.18.12.2"
	assert_equal "$(vip_field "$VIP" owner)" config
	run e2e_get 20 http://198.18.100.40/
	assert_success
	refute_output --partial FAIL
	assert_output --regexp 'b1'
	assert_output --regexp 'b2'
	refute_output --partial b3
}

@test "an edit saved by rename is in the data plane within a second" {
	config 198.18.11.2 198.18.12.2
	e2e_veerd_start "$CFG"
	local t0 t1
	t0=$(date +%s%N)
	config 198.18.11.2 198.18.12.2 198.18.13.2
	topo_wait 2 eval '[ "$(backends "$VIP")" = "198.18.11.2 198.18.12.2 198.18.13.2" ]'
	t1=$(date +%s%N)
	echo "in the data plane after $(((t1 - t0) / 1000000)) ms"
	(((t1 - t0) < 1000000000)) || fail "took $(((t1 - t0) / 1000000)) ms"
	run e2e_get 30 http://198.18.100.40/
	refute_output --partial FAIL
	assert_output --partial b3
}

@test "an edit written in place and SIGHUP are both picked up" {
	config 198.18.11.2
	e2e_veerd_start "$CFG"
	# Truncate and rewrite the same inode, as `cat > file` does.
	sed 's/- {address: 198.18.11.2}$/- {address: 198.18.12.2}/' "$CFG" >"$BATS_TEST_TMPDIR/new"
	cat "$BATS_TEST_TMPDIR/new" >"$CFG"
	topo_wait 2 eval '[ "$(backends "$VIP")" = "198.18.12.2" ]'
	# An edit veerd cannot see (the watch is on the file's directory; here the file is
	# changed behind a second name) waits for SIGHUP.
	ln "$CFG" "$BATS_TEST_TMPDIR/alias"
	sed 's/- {address: 198.18.12.2}$/- {address: 198.18.13.2}/' "$CFG" >"$BATS_TEST_TMPDIR/new"
	cat "$BATS_TEST_TMPDIR/new" >"$BATS_TEST_TMPDIR/alias"
	kill -HUP "$VEERD_PID"
	topo_wait 2 eval '[ "$(backends "$VIP")" = "198.18.13.2" ]'
	grep -q 'reloaded .*(SIGHUP)' "$VEERD_LOG"
}

@test "a broken edit is refused with its error, counted, and the running state stays" {
	config 198.18.11.2 198.18.12.2
	e2e_veerd_start "$CFG"
	local before digest
	before=$("$VEER" -j vip list)
	digest=$(vip_field "$VIP" ring_digest)
	printf 'vips:\n  - address: 198.18.100.40\n    port: 70000\n    protocol: tcp\n' |
		e2e_write_config "$CFG"
	topo_wait 2 grep -q 'config refused' "$VEERD_LOG"
	run grep 'config refused' "$VEERD_LOG"
	assert_output --regexp 'veer.yaml:3:11: vips\[0\]\.port: 70000 is not a port'
	kill -0 "$VEERD_PID"
	assert_equal "$("$VEER" -j vip list)" "$before"
	assert_equal "$(vip_field "$VIP" ring_digest)" "$digest"
	run e2e_get 10 http://198.18.100.40/
	refute_output --partial FAIL
	# The next good edit goes in.
	config 198.18.13.2
	topo_wait 2 eval '[ "$(backends "$VIP")" = "198.18.13.2" ]'
}

@test "a VIP made by hand survives reconciles; a VIP taken out of the file goes" {
	e2e_vip_new "$HAND" 198.18.13.2
	config 198.18.11.2
	e2e_veerd_start "$CFG"
	assert_equal "$(vip_field "$HAND" owner)" cli
	assert_equal "$(backends "$HAND")" "198.18.13.2"
	# The file without the echo VIP: veerd removes its own VIP and keeps the hand-made one.
	sed '/198.18.100.41/,$d' "$CFG" | sed '$d' >"$BATS_TEST_TMPDIR/new"
	grep -q 198.18.100.40 "$BATS_TEST_TMPDIR/new"
	e2e_write_config "$CFG" <"$BATS_TEST_TMPDIR/new"
	topo_wait 2 eval '! e2e_vip_exists "$ECHO"'
	e2e_vip_exists "$HAND"
	assert_equal "$(backends "$HAND")" "198.18.13.2"
	run e2e_get 5 http://198.18.100.42/
	refute_output --partial FAIL
	"$VEER" vip del "$HAND"
}

@test "a second veerd on the same pin directory is refused; bad pin directories too" {
	config 198.18.11.2
	e2e_veerd_start "$CFG"
	run nsenter --net="/run/netns/$(ns lb)" "$VEERD" -d -f "$CFG" --pin-dir "$VEER_PIN_DIR"
	assert_equal "$status" 1
	assert_output --regexp "^veerd: another veerd runs on $VEER_PIN_DIR"
	kill -0 "$VEERD_PID"
	run "$VEERD" -d -f "$CFG" --pin-dir "$BATS_TEST_TMPDIR/pins"
	assert_equal "$status" 1
	assert_output --regexp 'not a bpffs|bpf filesystem|bpffs'
	run "$VEERD" -d -f "$CFG" --pin-dir relative/dir
	assert_equal "$status" 2
}

@test "veer apply is refused while veerd serves the pin directory, and changes nothing" {
	config 198.18.11.2
	e2e_veerd_start "$CFG"
	local before
	before=$("$VEER" -j vip list)
	sed 's/198.18.11.2}$/198.18.12.2}/' "$CFG" >"$BATS_TEST_TMPDIR/other.yaml"
	run --separate-stderr veer_lb apply "$BATS_TEST_TMPDIR/other.yaml"
	assert_equal "$status" 1
	assert_equal "$stderr" "veer: cannot apply $BATS_TEST_TMPDIR/other.yaml: veerd (pid $VEERD_PID) serves $VEER_PIN_DIR: edit its config file, which it applies as it is saved"
	assert_equal "$("$VEER" -j vip list)" "$before"
}

@test "kill -9 and restart, ten times under load: no request fails, no connection moves" {
	config 198.18.11.2 198.18.12.2 198.18.13.2
	e2e_veerd_start "$CFG"
	local vips backends_before i mark
	mark=$(wc -l <"$VEERD_LOG")
	vips=$("$VEER" -j vip list)
	backends_before=$("$VEER" -j backend list "$VIP" | e2e_json "[(b['id'], b['backend']) for b in d]")
	TOPO_BG_LOG=$BATS_TEST_TMPDIR/http.err topo_bg client python3 "$E2E_DIR/http_loop.py" \
		http://198.18.100.40/ "$BATS_TEST_TMPDIR/http" "$BATS_TEST_TMPDIR/stop" 120
	LOAD_PIDS=$TOPO_BG_PID
	TOPO_BG_LOG=$BATS_TEST_TMPDIR/ll.err topo_bg client python3 "$E2E_DIR/ll_client.py" \
		198.18.100.41 7000 6 "$BATS_TEST_TMPDIR/rounds" "$BATS_TEST_TMPDIR/stop" 120
	LOAD_PIDS="$LOAD_PIDS $TOPO_BG_PID"
	topo_wait 10 eval '[ -s "$BATS_TEST_TMPDIR/rounds" ] && [ -s "$BATS_TEST_TMPDIR/http" ]'
	for i in $(seq 10); do
		e2e_veerd_stop KILL
		# Traffic keeps flowing with no veerd at all.
		local n
		n=$(wc -l <"$BATS_TEST_TMPDIR/http")
		topo_wait 5 eval '(( $(wc -l <"$BATS_TEST_TMPDIR/http") > n + 3 ))'
		e2e_veerd_start "$CFG"
	done
	n=$(wc -l <"$BATS_TEST_TMPDIR/rounds")
	topo_wait 10 eval '(( $(wc -l <"$BATS_TEST_TMPDIR/rounds") > n + 3 ))'
	touch "$BATS_TEST_TMPDIR/stop"
	local rc_http=0 rc_ll=0 pids=($LOAD_PIDS)
	wait "${pids[0]}" || rc_http=$?
	wait "${pids[1]}" || rc_ll=$?
	LOAD_PIDS=
	echo "requests: $(wc -l <"$BATS_TEST_TMPDIR/http"), failed: $(grep -c FAIL "$BATS_TEST_TMPDIR/http")"
	grep FAIL "$BATS_TEST_TMPDIR/http" | head -5
	cat "$BATS_TEST_TMPDIR/ll.err"
	assert_equal "$(grep -c FAIL "$BATS_TEST_TMPDIR/http")" 0
	assert_equal "$rc_http" 0
	assert_equal "$rc_ll" 0
	(( $(wc -l <"$BATS_TEST_TMPDIR/http") > 50 ))
	# No duplicate or changed state: the same VIPs, slots and tables as before.
	assert_equal "$("$VEER" -j vip list)" "$vips"
	assert_equal "$("$VEER" -j backend list "$VIP" | e2e_json "[(b['id'], b['backend']) for b in d]")" "$backends_before"
	# Every restart adopted the state without a single map write.
	run bash -c "tail -n +$((mark + 1)) '$VEERD_LOG' | grep 'map writes'"
	assert_output ""
}

@test "a VIP made by hand declared in the file: veerd says so and runs on; the next edit applies" {
	e2e_vip_new "$HAND" 198.18.13.2
	config 198.18.11.2
	sed 's/198.18.100.41/198.18.100.42/; s/port: 7000/port: 80/' "$CFG" >"$BATS_TEST_TMPDIR/new"
	e2e_write_config "$CFG" <"$BATS_TEST_TMPDIR/new"
	e2e_veerd_start "$CFG"
	grep -q "cannot apply VIP 198.18.100.42:80/tcp" "$VEERD_LOG"
	grep -q "not applied: running on the pinned state" "$VEERD_LOG"
	assert_equal "$(vip_field "$HAND" owner)" cli
	assert_equal "$(backends "$HAND")" "198.18.13.2"
	config 198.18.12.2
	topo_wait 2 eval '[ "$(backends "$VIP")" = "198.18.12.2" ]'
	"$VEER" vip del "$HAND"
}

@test "--cleanup of another pin directory leaves this one's interfaces and traffic alone" {
	config 198.18.11.2
	e2e_veerd_start "$CFG"
	run nsenter --net="/run/netns/$(ns lb)" "$VEERD" --cleanup --pin-dir "$VEER_PIN_DIR-other"
	assert_success
	assert_output --partial "detached from 0 interfaces"
	run e2e_get 5 http://198.18.100.40/
	refute_output --partial FAIL
}

@test "veerd --cleanup detaches and removes everything" {
	config 198.18.11.2
	e2e_veerd_start "$CFG"
	e2e_veerd_stop
	# Stopped: everything stays.
	"$VEER" -j vip list | grep -q 198.18.100.40
	run nsenter --net="/run/netns/$(ns lb)" "$VEERD" --cleanup --pin-dir "$VEER_PIN_DIR"
	assert_success
	[ ! -e "$VEER_PIN_DIR" ]
	run veer_lb status
	refute_output --regexp 'l[0-3] .*(xdp|tc)'
	run in_ns client curl -s -m 1 http://198.18.100.40/
	assert_failure
	# Back for the suite's teardown.
	topo_attach
}
