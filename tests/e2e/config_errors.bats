#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The config file on bad input: `veer apply FILE` exits 2 with one line "veer: FILE:LINE:COL:
# KEY: what is wrong" and touches nothing (the pin directory stays absent, or as it was), and
# `veerd -n -f FILE` prints the same line and exits 1. A good file passes both checks.

load helpers

VEERD=${VEERD:-$E2E_ROOT/build/veerd}

setup_file() {
	[ -x "$VEER" ] || { echo "$VEER is missing: make build/veer" >&2; return 1; }
	[ -x "$VEERD" ] || { echo "$VEERD is missing: make build/veerd" >&2; return 1; }
	e2e_pins_up "config$$" || return 1
}

teardown_file() {
	e2e_pins_down
}

setup() {
	# Messages name the file as given: the tests give it relative, from a directory of their own.
	cd "$BATS_TEST_TMPDIR" || return 1
}

# The pinned state as `veer` shows it, or "absent".
state() {
	if [ -e "$VEER_PIN_DIR" ]; then
		ls "$VEER_PIN_DIR"
		"$VEER" -j vip list
	else
		echo absent
	fi
}

# refused FILE MESSAGE: `veer apply FILE` and `veer apply -n FILE` exit 2, print nothing on
# stdout and exactly "veer: MESSAGE" on stderr, and change no state; `veerd -n -f FILE` exits 1
# with "veerd: MESSAGE".
refused() {
	local file=$1 msg=$2 before after args
	before=$(state)
	for args in "" "-n"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$VEER" apply $args "$file"
		echo "veer apply $args $file: exit $status; stderr: $stderr"
		assert_equal "$status" 2
		assert_output ""
		assert_equal "$stderr" "veer: $msg"
	done
	run --separate-stderr "$VEERD" -n -f "$file"
	echo "veerd -n -f $file: exit $status; stderr: $stderr"
	assert_equal "$status" 1
	assert_output ""
	assert_equal "$stderr" "veerd: $msg"
	after=$(state)
	assert_equal "$after" "$before"
}

VIP80=$'vips:\n  - address: 198.18.100.30\n    port: 80\n'

@test "a good file passes veerd -n and veer apply -n, which open nothing" {
	cat >veer.yaml <<-'EOF'
		interfaces: [{name: lo, hook: tc}]
		vips:
		  - address: 198.18.100.30
		    port: 80
		    backends: [{address: 198.18.11.2}, {address: 198.18.12.2, weight: 50}]
		    health: {type: http, path: /healthz}
		  - {address: 2001:2::30, port: 53, protocol: udp}
		metrics: {listen: off}
	EOF
	run --separate-stderr "$VEERD" -n -f veer.yaml
	assert_success
	assert_output "veer.yaml: ok (1 interface, 2 VIPs)"
	assert_equal "$stderr" ""
	run --separate-stderr "$VEER" apply -n veer.yaml
	assert_success
	assert_output "veer.yaml: ok (1 interface, 2 VIPs)"
	run "$VEER" -j apply --check veer.yaml
	assert_success
	assert_equal "$(e2e_json 'd["vips"], d["interfaces"]' <<<"$output")" "(2, ['lo'])"
	assert_equal "$(state)" absent
}

@test "the example config passes veerd -n" {
	run --separate-stderr "$VEERD" -n -f "$E2E_ROOT/examples/veer.yaml"
	assert_success
	assert_output --regexp '/examples/veer.yaml: ok \([0-9]+ interfaces, [0-9]+ VIPs\)$'
}

@test "wrong values: a port out of range, a quoted number, an absurd weight, interval 0" {
	printf '%s' "$VIP80" '  - address: 198.18.100.31' $'\n' '    port: 70000' $'\n' >veer.yaml
	refused veer.yaml "veer.yaml:5:11: vips[1].port: 70000 is not a port (want 1..65535)"
	printf 'vips:\n  - address: 198.18.100.30\n    port: "80"\n' >veer.yaml
	refused veer.yaml 'veer.yaml:3:11: vips[0].port: "80" is a quoted string: write the number without quotes'
	printf '%s    backends: [{address: 198.18.11.2, weight: 1000000000}]\n' "$VIP80" >veer.yaml
	refused veer.yaml "veer.yaml:4:47: vips[0].backends[0].weight: 1000000000 is not a weight (want 0..10000)"
	printf '%s    health: {interval: 0}\n' "$VIP80" >veer.yaml
	refused veer.yaml "veer.yaml:4:24: vips[0].health.interval: 0 is out of range (want 100ms..1h)"
	printf '%s    health: {interval: 1s, timeout: 2s}\n' "$VIP80" >veer.yaml
	refused veer.yaml "veer.yaml:4:37: vips[0].health.timeout: the timeout (2s) is longer than the interval (1s)"
}

@test "wrong types, unknown keys, keys of later work, missing fields" {
	printf 'vips:\n  address: 198.18.100.30\n' >veer.yaml
	refused veer.yaml "veer.yaml:2:3: vips: want a list like [{address: 198.18.100.10, port: 80}], got a map"
	printf '%s    adress: 198.18.100.31\n' "$VIP80" >veer.yaml
	refused veer.yaml "veer.yaml:4:5: vips[0].adress: unknown key (want address, port, protocol, mode, affinity, ring_size, backends, health)"
	printf 'metrics: {}\nlimits: [{cidr: 0.0.0.0/0, pps: 10000}]\n' >veer.yaml
	refused veer.yaml "veer.yaml:2:1: limits: not supported yet by this veer (it reads interfaces, vips, cache, metrics, sources, webhooks)"
	printf 'webhooks: [{url: ftp://198.18.0.1/hook, secret_file: /etc/veer/hook.key}]\n' >veer.yaml
	refused veer.yaml "veer.yaml:1:18: webhooks[0].url: ftp://198.18.0.1/hook is not an http or https URL (want http://127.0.0.1:9000/hook)"
	printf 'vips:\n  - port: 80\n' >veer.yaml
	refused veer.yaml "veer.yaml:2:5: vips[0]: address is required"
}

@test "bad addresses and duplicate VIPs" {
	printf 'vips:\n  - address: 198.18.300.1\n    port: 80\n' >veer.yaml
	refused veer.yaml "veer.yaml:2:14: vips[0].address: 198.18.300.1 is not an IPv4 or IPv6 address"
	printf 'vips:\n  - {address: 2001:2::30, port: 443}\n  - {address: 2001:2:0::30, port: 443}\n' >veer.yaml
	refused veer.yaml "veer.yaml:3:5: vips[1]: [2001:2::30]:443/tcp is declared twice (first as vips[0], line 2)"
}

@test "what is not YAML veer takes: tabs, a non-UTF-8 byte, an alias bomb, an empty file" {
	printf 'vips:\n\t- address: 198.18.100.30\n' >veer.yaml
	refused veer.yaml "veer.yaml:2:1: a tab: YAML indents with spaces only (found character that cannot start any token)"
	printf 'vips:\n  - address: 198.18.100.\xff\n    port: 80\n' >veer.yaml
	refused veer.yaml "veer.yaml:2:25: byte 0xff is not UTF-8 (invalid leading UTF-8 octet)"
	{
		echo 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
		for x in b c d e f g h i; do
			p=$(printf '%s' "$x" | tr 'b-i' 'a-h')
			echo "$x: &$x [*$p,*$p,*$p,*$p,*$p,*$p,*$p,*$p,*$p]"
		done
	} >veer.yaml
	refused veer.yaml "veer.yaml:1:4: anchors (&a) are not supported: write each value out"
	: >veer.yaml
	refused veer.yaml "veer.yaml: empty file (write {} for a config that declares nothing)"
}

@test "a 10 MB file is refused at once, before it is read" {
	truncate -s 10M veer.yaml
	local t0 t1
	t0=$(date +%s%N)
	refused veer.yaml "veer.yaml: 10485760 bytes: larger than a config may be (4 MiB)"
	t1=$(date +%s%N)
	echo "three refusals in $(((t1 - t0) / 1000000)) ms"
	(((t1 - t0) / 1000000 < 1000))
}

@test "an interface that does not exist: refused before anything is attached" {
	printf 'interfaces:\n  - name: lo\n  - name: veercfg%s\n' "$$" >veer.yaml
	before=$(state)
	run --separate-stderr "$VEER" apply veer.yaml
	assert_equal "$status" 2
	assert_equal "$stderr" "veer: veer.yaml:3:5: interfaces[1].name: no such interface veercfg$$"
	assert_equal "$(state)" "$before"
}

@test "a bad file leaves existing state as it was" {
	"$VEER" vip add 198.18.100.39:80/tcp
	"$VEER" backend add 198.18.100.39:80/tcp 198.18.11.2
	[ "$(state)" != absent ]
	printf '%s    backends: [{address: 198.18.11.2}, {address: 198.18.11.2, port: 80}]\n' "$VIP80" >veer.yaml
	refused veer.yaml "veer.yaml:4:40: vips[0].backends[1]: 198.18.11.2:80 is listed twice (first as backends[0], line 4)"
	printf 'interfaces: [{name: lo, hook: tc, mode: generic}]\n' >veer.yaml
	refused veer.yaml "veer.yaml:1:41: interfaces[0].mode: generic is an XDP mode: it cannot go with hook: tc (line 1)"
	"$VEER" vip del 198.18.100.39:80/tcp
}

@test "veerd -n refuses a config every user may write" {
	printf '{}\n' >veer.yaml
	chmod 0666 veer.yaml
	run --separate-stderr "$VEERD" -n -f veer.yaml
	assert_equal "$status" 1
	assert_equal "$stderr" "veerd: veer.yaml: writable by every user (mode 0666): chmod go-w veer.yaml"
	chmod go-w veer.yaml
	run "$VEERD" -n -f veer.yaml
	assert_success
	assert_output "veer.yaml: ok (0 interfaces, 0 VIPs)"
}
