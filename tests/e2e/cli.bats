#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The CLI's contract on bad input: exit 2 for bad usage or input, 1 for a failed operation,
# a one-line "veer: ..." reason first on stderr, and no change to the state.

load helpers

VIP=198.18.100.20:80/tcp
OTHER=198.18.100.21:80/tcp

setup_file() {
	[ -x "$VEER" ] || { echo "$VEER is missing: make build/veer" >&2; return 1; }
	e2e_pins_up "cli$$" || return 1
	e2e_vip_del "$OTHER"
	e2e_vip_new "$VIP" 198.18.11.2 198.18.12.2=50
	"$VEER" proxy add --from 198.18.1.0/24 --dport 80 --to 198.18.1.1:3128 || return 1
	export CLI_NS="veercli$$"
	ip netns add "$CLI_NS"
}

teardown_file() {
	e2e_vip_del "$VIP"
	e2e_vip_del "$OTHER"
	ip netns del "$CLI_NS" 2>/dev/null || true
	rm -rf "/sys/fs/bpf/veer-cli$$" "/sys/fs/bpf/veer-cli-empty$$" "/sys/fs/bpf/veer-cli-flows$$"
	e2e_pins_down
}

# in_cli_ns ARGS...: runs ARGS in the suite's own network namespace (with the host's bpffs).
in_cli_ns() {
	nsenter --net="/run/netns/$CLI_NS" "$@"
}

# capacities [DIR]: the connection tables' capacities in `veer -j status`, "IPV4 IPV6".
capacities() {
	"$VEER" ${1:+--pin-dir "$1"} -j status | e2e_json \
		'" ".join(str(t["capacity"]) for t in d["connection_tables"])'
}

state() {
	"$VEER" -j vip list
	"$VEER" -j backend list "$VIP"
	"$VEER" -j proxy list
}

# fails_with RC PATTERN ARGS...: e2e_fails_with for veer ARGS.
fails_with() {
	e2e_fails_with "$1" "$2" "$VEER" "${@:3}"
}

@test "vip add: invalid address, port or protocol is exit 2" {
	fails_with 2 "invalid VIP '198.18.300.1:80/tcp'" vip add 198.18.300.1:80/tcp
	fails_with 2 "invalid VIP '198.18.100.22:0/tcp'" vip add 198.18.100.22:0/tcp
	fails_with 2 "invalid VIP '198.18.100.22:70000/tcp'" vip add 198.18.100.22:70000/tcp
	fails_with 2 "invalid VIP '198.18.100.22:80/icmp'" vip add 198.18.100.22:80/icmp
	fails_with 2 "invalid VIP '198.18.100.22:80'" vip add 198.18.100.22:80
	fails_with 2 "invalid VIP '198.18.100.22/tcp'" vip add 198.18.100.22/tcp
	fails_with 2 "invalid VIP '2001:2::10:80/tcp'" vip add 2001:2::10:80/tcp
	fails_with 2 "invalid VIP '0.0.0.0:80/tcp'" vip add 0.0.0.0:80/tcp
	fails_with 2 "invalid VIP '255.255.255.255:80/tcp'" vip add 255.255.255.255:80/tcp
	fails_with 2 "invalid VIP '224.0.0.1:80/udp'" vip add 224.0.0.1:80/udp
	fails_with 2 "invalid VIP '\[ff02::1\]:80/udp'" vip add '[ff02::1]:80/udp'
	fails_with 2 "invalid VIP '\[2001:2::10\]:80/sctp'" vip add '[2001:2::10]:80/sctp'
	fails_with 2 "invalid VIP ''" vip add ''
}

@test "vip add: ring size must be a prime no larger than the maximum" {
	fails_with 2 "invalid ring size '65536'" vip add 198.18.100.22:80/tcp --ring-size 65536
	fails_with 2 "invalid ring size '1'" vip add 198.18.100.22:80/tcp --ring-size 1
	fails_with 2 "invalid ring size '1048583'" vip add 198.18.100.22:80/tcp --ring-size 1048583
	fails_with 2 "invalid ring size 'abc'" vip add 198.18.100.22:80/tcp --ring-size abc
}

@test "vip add: bad mode, affinity, options and argument counts are exit 2" {
	fails_with 2 "invalid mode 'bogus'" vip add 198.18.100.22:80/tcp --mode bogus
	fails_with 2 "invalid affinity '-5'" vip add 198.18.100.22:80/tcp --affinity -5
	fails_with 2 "vip add takes 1 argument, got 0" vip add
	fails_with 2 "vip add takes 1 argument, got 2" vip add 198.18.100.22:80/tcp 198.18.100.23:80/tcp
}

@test "vip add: a VIP that exists is exit 1 and names the reason" {
	fails_with 1 "cannot add VIP $VIP: it exists" vip add "$VIP"
}

@test "vip del: an unknown VIP is exit 1" {
	fails_with 1 "cannot delete VIP $OTHER: no such VIP" vip del "$OTHER"
}

@test "backend: invalid weights are exit 2" {
	for w in -1 abc 100001 10001 '' 1.5; do
		fails_with 2 "invalid weight '$w'" backend add "$VIP" 198.18.13.2 --weight "$w"
		fails_with 2 "invalid weight '$w'" backend set "$VIP" 198.18.11.2 --weight "$w"
	done
}

@test "backend: invalid addresses and family mismatches are exit 2" {
	fails_with 2 "invalid backend address '198.18.13.256'" backend add "$VIP" 198.18.13.256
	fails_with 2 "invalid backend address '198.18.13.2:0'" backend add "$VIP" 198.18.13.2:0
	fails_with 2 "invalid backend address 'example.com'" backend add "$VIP" example.com
	fails_with 2 "backend 2001:2:0:13::2 and VIP $VIP are of different address families" \
		backend add "$VIP" 2001:2:0:13::2
	fails_with 2 "nothing to set: give --weight" backend set "$VIP" 198.18.11.2
}

@test "backend: unknown VIP is exit 1, 'no such VIP'" {
	fails_with 1 "cannot add backend 198.18.13.2:80 to $OTHER: no such VIP" backend add "$OTHER" 198.18.13.2
	fails_with 1 ".*no such VIP" backend set "$OTHER" 198.18.11.2 --weight 5
	fails_with 1 ".*no such VIP" backend del "$OTHER" 198.18.11.2
	fails_with 1 ".*no such VIP" backend list "$OTHER"
}

@test "backend: unknown backend for set and del is exit 1, 'no such backend'" {
	fails_with 1 "cannot set backend 198.18.13.2:80 of $VIP: no such backend" \
		backend set "$VIP" 198.18.13.2 --weight 5
	fails_with 1 "cannot delete backend 198.18.13.2:80 of $VIP: no such backend" \
		backend del "$VIP" 198.18.13.2
	# Same address, other port: another backend.
	fails_with 1 "cannot delete backend 198.18.11.2:8080 of $VIP: no such backend" \
		backend del "$VIP" 198.18.11.2:8080
}

@test "backend add: a backend that exists is exit 1" {
	fails_with 1 "cannot add backend 198.18.11.2:80 to $VIP: it exists" backend add "$VIP" 198.18.11.2
}

@test "attach/detach: an unknown interface is exit 2, 'no such interface'" {
	fails_with 2 "cannot attach to veer-nosuch0: no such interface" attach veer-nosuch0
	fails_with 2 "cannot detach from veer-nosuch0: no such interface" detach veer-nosuch0
	fails_with 2 "invalid mode 'turbo'" attach lo --mode turbo
	fails_with 2 "invalid hook 'ebpf' \\(want auto, xdp or tc\\)" attach lo --hook ebpf
	fails_with 2 "--mode is an XDP setting: it cannot go with --hook tc" attach lo --hook tc --mode native
}

@test "attach: a mode the driver cannot take is exit 1, with no fallback and nothing attached" {
	# Loopback has no native XDP; veer must not fall back to generic on its own.
	run --separate-stderr nsenter --net="/run/netns/$CLI_NS" "$VEER" attach lo --hook xdp
	assert_equal "$status" 1
	assert_regex "${stderr_lines[0]}" "^veer: cannot attach to lo in native mode: "
	assert_equal "${#stderr_lines[@]}" 1
	run nsenter --net="/run/netns/$CLI_NS" ip link show lo
	refute_output --partial "xdp"
	run bash -c "nsenter --net=/run/netns/$CLI_NS $VEER -j status |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin)[\"interfaces\"]))'"
	assert_success
	assert_output "0"
}

@test "vip add: a full VIP table is exit 1, 'table full', and changes nothing" {
	local max n i added=()
	max=$(awk '$2 == "VEER_MAX_VIPS" { print $3 }' "$BATS_TEST_DIRNAME/../../include/veer/abi.h")
	n=$("$VEER" -j vip list | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
	# Fill the table with small-ring VIPs in 198.18.128.0/17, then one more.
	for ((i = n; i < max; i++)); do
		vip="198.18.$((128 + i / 250)).$((1 + i % 250)):80/udp"
		"$VEER" vip add "$vip" --ring-size 13 || break
		added+=("$vip")
	done
	run "$VEER" -j vip list
	full=$output
	fails_with 1 "cannot add VIP 198.18.255.254:80/udp: table full" vip add 198.18.255.254:80/udp
	assert_equal "$("$VEER" -j vip list)" "$full"
	for vip in "${added[@]}"; do "$VEER" vip del "$vip"; done
	assert_equal "${#added[@]}" "$((max - n))"
}

@test "proxy add: bad CIDRs, ports and proxy addresses are exit 2" {
	local to=198.18.1.1:3128
	for cidr in 198.18.300.0/24 198.18.1.0/33 2001:2::/129 198.18.1.0 198.18.1.0/ /24 abc ''; do
		fails_with 2 "invalid CIDR '$cidr' \\(want ADDR/LEN" \
			proxy add --from "$cidr" --dport 80 --to "$to"
	done
	fails_with 2 "invalid CIDR '198.18.1.5/24': host bits are set \\(the network is 198.18.1.0/24\\)" \
		proxy add --from 198.18.1.5/24 --dport 80 --to "$to"
	fails_with 2 "invalid CIDR '2001:2::1/64': host bits are set \\(the network is 2001:2::/64\\)" \
		proxy add --from 2001:2::1/64 --dport 80 --to "[2001:2::1]:3128"
	for port in 0 70000 65536 -1 http 080 ''; do
		fails_with 2 "invalid port '$port' \\(want 1..65535\\)" \
			proxy add --from 198.18.2.0/24 --dport "$port" --to "$to"
	done
	for bad in 198.18.1.1 198.18.1.1:0 198.18.1.1:70000 example.com:3128 0.0.0.0:3128; do
		fails_with 2 "invalid proxy address '$bad'" \
			proxy add --from 198.18.2.0/24 --dport 80 --to "$bad"
	done
	fails_with 2 "invalid proxy address '\\[2001:2::1\\]'" \
		proxy add --from 2001:2::/64 --dport 80 --to '[2001:2::1]'
	fails_with 2 "cannot add proxy rule 198.18.2.0/24 port 80: the proxy \\[2001:2::1\\]:3128 is IPv6 and the clients IPv4" \
		proxy add --from 198.18.2.0/24 --dport 80 --to '[2001:2::1]:3128'
	fails_with 2 "cannot add proxy rule 198.18.2.0/24 port 80: 127.0.0.1:3128 is a loopback address" \
		proxy add --from 198.18.2.0/24 --dport 80 --to 127.0.0.1:3128
	fails_with 2 "proxy add needs --from, --dport and --to" proxy add --from 198.18.2.0/24 --dport 80
	fails_with 2 "proxy add takes 0 arguments, got 1" \
		proxy add --from 198.18.2.0/24 --dport 80 --to "$to" extra
}

@test "proxy add: a rule of the same CIDR and port is exit 1; del of a missing rule too" {
	fails_with 1 "cannot add proxy rule 198.18.1.0/24 port 80: it exists" \
		proxy add --from 198.18.1.0/24 --dport 80 --to 198.18.1.1:3129
	fails_with 1 "cannot delete proxy rule 198.18.1.0/24 port 81: no such rule" \
		proxy del --from 198.18.1.0/24 --dport 81
	fails_with 1 "cannot delete proxy rule 198.18.1.0/25 port 80: no such rule" \
		proxy del --from 198.18.1.0/25 --dport 80
	fails_with 2 "invalid CIDR '198.18.1.1/24'" proxy del --from 198.18.1.1/24 --dport 80
	fails_with 2 "proxy del needs --from, --dport" proxy del --from 198.18.1.0/24
	fails_with 2 "unknown option '--to'" proxy del --from 198.18.1.0/24 --dport 80 --to 198.18.1.1:3128
}

@test "proxy origdst: a bad client is exit 2, a client with no connection exit 1" {
	fails_with 2 "invalid client '198.18.1.2' \\(want ADDR:PORT" proxy origdst 198.18.1.2
	fails_with 2 "proxy origdst takes 1 argument, got 0" proxy origdst
	fails_with 1 "no original destination for 198.18.1.2:40000: no proxied connection from it" \
		proxy origdst 198.18.1.2:40000
	fails_with 1 "no original destination for \\[2001:2::2\\]:40000: no proxied connection from it" \
		proxy origdst '[2001:2::2]:40000'
}

@test "unknown and ambiguous commands are exit 2" {
	fails_with 2 ".*command 'frobnicate'" frobnicate
	fails_with 2 ".*command 'frob' for vip" vip frob
	# "s" could be status or stats.
	fails_with 2 ".*ambiguous command 's'" s
	fails_with 2 "vip needs a subcommand" vip
}

@test "unknown options are exit 2 with a one-line veer: reason first" {
	for args in "vip add 198.18.100.22:80/tcp --no-such-option" "backend list $VIP -x" \
		"--no-such-global-option vip list"; do
		before=$(state)
		# shellcheck disable=SC2086
		run --separate-stderr "$VEER" $args
		assert_equal "$status" 2
		assert_equal "$(state)" "$before"
	done
	for args in "vip add 198.18.100.22:80/tcp --no-such-option" "--no-such-global-option vip list"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$VEER" $args
		assert_regex "${stderr_lines[0]}" "^veer: unknown option"
	done
}

@test "a unique prefix runs the command: 'b l' is 'backend list'" {
	run "$VEER" -j backend list "$VIP"
	assert_success
	full=$output
	run "$VEER" -j b l "$VIP"
	assert_success
	assert_equal "$output" "$full"
	run "$VEER" -j v l
	assert_success
	assert_output "$("$VEER" -j vip list)"
	run "$VEER" statu
	assert_success
	assert_line --partial "interfaces:"
	run "$VEER" -j fl
	assert_success
}

@test "help and --help exit 0 and print usage on stdout" {
	run --separate-stderr "$VEER" help
	assert_success
	assert_output --partial "usage: veer"
	assert_equal "$stderr" ""
	run "$VEER" --help
	assert_success
	assert_output --partial "commands"
	for c in "vip" "vip add" "vip del" "backend" "backend set" "attach" "stats" "flows"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$VEER" $c --help
		assert_success
		assert_output --partial "veer $c"
		assert_equal "$stderr" ""
	done
	run "$VEER" help backend
	assert_success
	assert_output --partial "veer backend add"
	run "$VEER" help nosuchcommand
	assert_failure 2
}

@test "-j vip list, backend list, stats, flows and status are valid JSON" {
	for c in "vip list" "backend list $VIP" "stats" "flows" "status"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$VEER" -j $c
		assert_success
		python3 -m json.tool <<<"$output" >/dev/null || fail "veer -j $c: not JSON: $output"
	done
	run e2e_json "[(b['address'], b['port'], b['weight'], b['pool']) for b in d]" <<<"$("$VEER" -j backend list "$VIP")"
	assert_output "[('198.18.11.2', 80, 100, 'default'), ('198.18.12.2', 80, 50, 'default')]"
	run e2e_json "[(v['protocol'], v['port'], v['mode'], v['backends']) for v in d if v['vip'] == '$VIP']" <<<"$("$VEER" -j vip list)"
	assert_output "[('tcp', 80, 'nat', 2)]"
}

@test "vip list shows the owner and the table digest, backend list the health" {
	local digest
	run e2e_json "[(v['owner'], len(v['ring_digest'])) for v in d if v['vip'] == '$VIP']" <<<"$("$VEER" -j vip list)"
	assert_output "[('cli', 16)]"
	digest=$("$VEER" -j vip list | e2e_json "[v['ring_digest'] for v in d if v['vip'] == '$VIP'][0]")
	run "$VEER" vip list
	assert_line --regexp "^$VIP +mode nat +ring 65537 +affinity 0 +backends 2 +owner cli +digest $digest$"
	run e2e_json "[b['health'] for b in d]" <<<"$("$VEER" -j backend list "$VIP")"
	assert_output "['up', 'up']"
	run "$VEER" backend list "$VIP"
	assert_line --regexp "^198.18.11.2:80 +weight 100 +pool default +health up +packets [0-9]+$"
	# The table follows the backends: another weight, another digest; back, the same again.
	"$VEER" backend set "$VIP" 198.18.12.2 --weight 60
	run e2e_json "[v['ring_digest'] for v in d if v['vip'] == '$VIP'][0]" <<<"$("$VEER" -j vip list)"
	refute_output "$digest"
	"$VEER" backend set "$VIP" 198.18.12.2 --weight 50
	run e2e_json "[v['ring_digest'] for v in d if v['vip'] == '$VIP'][0]" <<<"$("$VEER" -j vip list)"
	assert_output "$digest"
}

@test "vip add, backend add: loopback and link-local addresses, an affinity past a day are exit 2" {
	fails_with 2 "invalid VIP '127.0.0.1:80/tcp': 127.0.0.1 is a loopback address" \
		vip add 127.0.0.1:80/tcp
	fails_with 2 "invalid VIP '\[fe80::1\]:80/tcp': fe80::1 is a link-local address" \
		vip add '[fe80::1]:80/tcp'
	fails_with 2 "invalid affinity '86401' \(want 0..86400 seconds\)" \
		vip add 198.18.100.22:80/tcp --affinity 86401
	fails_with 2 "invalid backend address '169.254.1.1': 169.254.1.1 is a link-local address" \
		backend add "$VIP" 169.254.1.1
	fails_with 2 "invalid backend address '\[::1\]:80': ::1 is a loopback address" \
		backend add "$VIP" '[::1]:80'
}

@test "--pin-dir: an instance of its own; a directory off a bpffs or a relative one is refused" {
	local dir=/sys/fs/bpf/veer-cli$$
	run "$VEER" --pin-dir "$dir" vip add 198.18.100.23:80/tcp
	assert_success
	run "$VEER" -j --pin-dir "$dir" vip list
	assert_output --partial 198.18.100.23
	run e2e_vip_exists 198.18.100.23:80/tcp
	assert_failure
	run env VEER_PIN_DIR="$dir" "$VEER" -j status
	assert_output --partial "\"pin_dir\":\"$dir\""
	rm -rf "$dir"
	run --separate-stderr "$VEER" --pin-dir "$BATS_TEST_TMPDIR/pins" vip list
	assert_failure 1
	assert_regex "${stderr_lines[0]}" "^veer: $BATS_TEST_TMPDIR is not a bpffs"
	[ ! -e "$BATS_TEST_TMPDIR/pins" ]
	run --separate-stderr "$VEER" --pin-dir pins vip list
	assert_failure 2
	assert_regex "${stderr_lines[0]}" "^veer: invalid pin directory 'pins'"
	run --separate-stderr "$VEER" vip list --pin-dir
	assert_failure 2
}

@test "without the bpffs (ip netns exec remounts /sys), veer says so and fails" {
	for c in "vip list" "status" "stats" "vip add 198.18.100.22:80/tcp"; do
		# shellcheck disable=SC2086
		run --separate-stderr ip netns exec "$CLI_NS" "$VEER" $c
		assert_failure 1
		assert_output ""
		assert_regex "${stderr_lines[0]}" '^veer: /sys/fs/bpf is not a bpffs'
	done
	# Nothing was created meanwhile in the real one.
	run e2e_vip_exists 198.18.100.22:80/tcp
	assert_failure
}

@test "read-only commands on a directory with nothing pinned: exit 1, one line, nothing created" {
	local dir=/sys/fs/bpf/veer-cli-empty$$ c
	local want="veer: nothing is loaded in $dir: run veer attach or veer vip add first"
	rm -rf "$dir"
	for round in absent empty; do
		[ "$round" = empty ] && mkdir "$dir"
		for c in "vip list" "-j vip list" "stats" "status" "-j status" "flows" \
			"backend list $VIP"; do
			# shellcheck disable=SC2086
			run --separate-stderr "$VEER" --pin-dir "$dir" $c
			echo "$round: veer $c: exit $status: $stderr"
			assert_equal "$status" 1
			assert_output ""
			assert_equal "$stderr" "$want"
			if [ "$round" = absent ]; then
				[ ! -e "$dir" ] || fail "veer $c created $dir"
			else
				assert_equal "$(ls -A "$dir")" ""
			fi
		done
	done
	rmdir "$dir"
}

@test "vip add before any attach creates the connection tables at the documented default" {
	local mem_kb per n want=65536 dir=$VEER_PIN_DIR
	# docs/veer.8: both tables within 1/32 of physical memory, an entry costing 64 bytes plus
	# key and value rounded up to 8; a power of two within 65536..16777216.
	mem_kb=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
	per=0
	for m in veer_flows4 veer_flows6; do
		per=$((per + $(bpftool -j map show pinned "$dir/$m" | e2e_json \
			'64 + (d["bytes_key"] + 7) // 8 * 8 + (d["bytes_value"] + 7) // 8 * 8')))
	done
	n=$((mem_kb * 1024 / 32 / per))
	while ((want < 16777216 && want * 2 <= n)); do want=$((want * 2)); done
	run capacities
	assert_success
	assert_output "$want $want"
	run "$VEER" status
	assert_line --regexp "^  veer_flows4  ipv4: $want connections, [0-9.]+ MiB$"
	assert_line --regexp "^  veer_flows6  ipv6: $want connections, [0-9.]+ MiB$"
}

@test "attach --flows sizes the connection tables it creates; another size later is exit 1" {
	local dir=/sys/fs/bpf/veer-cli-flows$$ before
	rm -rf "$dir"
	run in_cli_ns "$VEER" --pin-dir "$dir" attach lo --hook tc --flows 4096
	assert_success
	run capacities "$dir"
	assert_output "4096 4096"
	run e2e_json 'all(t["memory_bytes"] >= 64 * 4096 for t in d["connection_tables"])' \
		<<<"$("$VEER" --pin-dir "$dir" -j status)"
	assert_output True
	before=$(ls "$dir")
	run --separate-stderr in_cli_ns "$VEER" --pin-dir "$dir" attach lo --hook tc --flows 8192
	assert_equal "$status" 1
	assert_output ""
	assert_equal "$stderr" "veer: cannot size the connection tables for 8192 connections: \
$dir/veer_flows4 holds 4096 (to resize, detach veer from every interface and remove $dir)"
	assert_equal "$(ls "$dir")" "$before"
	run capacities "$dir"
	assert_output "4096 4096"
	# The size they have, or none given: adopted.
	run in_cli_ns "$VEER" --pin-dir "$dir" attach lo --hook tc --flows 4096
	assert_success
	run "$VEER" --pin-dir "$dir" vip add 198.18.100.24:80/tcp
	assert_success
	run capacities "$dir"
	assert_output "4096 4096"
	run in_cli_ns "$VEER" --pin-dir "$dir" detach lo
	assert_success
	rm -rf "$dir"
}

@test "attach --flows: a size out of range or not a number is exit 2" {
	fails_with 2 "invalid connection table size '100' \(want 1024\.\.134217728 connections\)" \
		attach lo --flows 100
	fails_with 2 "invalid connection table size '134217729'" attach lo --flows 134217729
	fails_with 2 "invalid connection table size '1M'" attach lo --flows 1M
	fails_with 2 "invalid connection table size ''" attach lo --flows ''
}

@test "backend add --pool is exit 2: pools are not supported yet" {
	fails_with 2 "pools are not supported yet" backend add "$VIP" 198.18.13.2 --pool east
	fails_with 2 "pools are not supported yet" backend add "$VIP" 198.18.13.2 --pool default
}

settings() {
	"$VEER" -j set
}

@test "set: unknown names, bad durations and out-of-range timeouts are exit 2, nothing written" {
	local before
	before=$(settings)
	fails_with 2 "unknown setting 'tcp-timout'" set tcp-timout 60
	fails_with 2 "'udp-timeout' wants a value" set udp-timeout
	for d in 0 9s 9999ms 8d 169h abc 1w 1.5s ''; do
		fails_with 2 "invalid tcp-timeout '$d'" set tcp-timeout "$d"
	done
	fails_with 2 "unknown setting 's'" set tcp-timeout 60 s
	fails_with 2 "unknown setting 'tcp-timeout=60s'" set tcp-timeout=60s
	fails_with 2 "unknown option '-5'" set tcp-timeout -5
	# A bad pair after a good one: nothing is written.
	fails_with 2 "invalid udp-timeout 'x'" set tcp-timeout 60s udp-timeout x
	assert_equal "$(settings)" "$before"
}

@test "set: timeouts are written, shown, and kept per protocol" {
	run "$VEER" set
	assert_success
	assert_line "tcp-timeout 300s"
	assert_line "udp-timeout 120s"
	"$VEER" set tcp-timeout 60s
	"$VEER" set udp-timeout 2m
	"$VEER" set tcp-timeout 1h
	run "$VEER" set
	assert_line "tcp-timeout 3600s"
	"$VEER" set tcp-timeout 60s
	run "$VEER" -j set
	assert_success
	assert_equal "$(e2e_json 'd["tcp-timeout"], d["udp-timeout"]' <<<"$output")" "(60, 120)"
	"$VEER" set tcp-timeout 300 udp-timeout 120s
	run "$VEER" set
	assert_line "tcp-timeout 300s"
}

@test "DSR VIPs: backends on the VIP's port, IPv6 backends of IPv4 dsr-ipip VIPs, mode shown" {
	local ipip=198.18.100.50:80/tcp l2=198.18.100.51:53/udp
	"$VEER" vip add "$ipip" --mode dsr-ipip
	"$VEER" vip add "$l2" --mode dsr-l2
	fails_with 1 "cannot add backend 198.18.11.2:8080 to $ipip: a dsr-ipip VIP cannot rewrite ports \(the backend must listen on 80\)$" \
		backend add "$ipip" 198.18.11.2:8080
	fails_with 1 "cannot add backend 198.18.11.2:5353 to $l2: a dsr-l2 VIP cannot rewrite ports \(the backend must listen on 53\)$" \
		backend add "$l2" 198.18.11.2:5353
	fails_with 2 "backend 2001:2:0:11::2 and VIP $l2 are of different address families" \
		backend add "$l2" 2001:2:0:11::2
	"$VEER" backend add "$ipip" 198.18.11.2
	"$VEER" backend add "$ipip" '[2001:2:0:11::2]:80'
	"$VEER" backend add "$l2" 198.18.11.2
	run e2e_json "[(b['backend'], b['port']) for b in d]" <<<"$("$VEER" -j backend list "$ipip")"
	assert_output "[('[2001:2:0:11::2]:80', 80), ('198.18.11.2:80', 80)]"
	run e2e_json "[(v['vip'], v['mode'], v['backends']) for v in d if v['vip'] in ('$ipip', '$l2')]" <<<"$("$VEER" -j vip list)"
	assert_output "[('$ipip', 'dsr-ipip', 2), ('$l2', 'dsr-l2', 1)]"
	run "$VEER" vip list
	assert_line --regexp "^$ipip +mode dsr-ipip "
	run e2e_json "[(m['vip'], m['mode']) for m in d['vip_modes'] if m['vip'] in ('$VIP', '$ipip')]" <<<"$("$VEER" -j status)"
	assert_output "[('$VIP', 'nat'), ('$ipip', 'dsr-ipip')]"
	run "$VEER" status
	assert_line --regexp "^  $l2 +dsr-l2$"
	run "$VEER" stats
	assert_line --regexp "^$ipip  mode dsr-ipip packets 0 "
	assert_line --regexp "^encapsulated \(dsr-ipip\): [0-9]+ packets$"
	run e2e_json 'd["encapsulated_packets"] == d["reasons"]["dsr_ipip"]' <<<"$("$VEER" -j stats)"
	assert_output True
	"$VEER" vip del "$ipip"
	"$VEER" vip del "$l2"
}

@test "set encap-source4|6: prefixes shown, bad ones exit 2, nothing written" {
	local before
	run "$VEER" set
	assert_line "encap-source4 172.16.0.0/16"
	assert_line "encap-source6 100::/64"
	before=$(settings)
	fails_with 2 "invalid encap-source4 '198.19.0.1/16': want an IPv4 prefix with its host bits zero" \
		set encap-source4 198.19.0.1/16
	fails_with 2 "invalid encap-source4 '127.0.0.0/8'" set encap-source4 127.0.0.0/8
	fails_with 2 "invalid encap-source4 '169.254.0.0/16'" set encap-source4 169.254.0.0/16
	fails_with 2 "invalid encap-source6 '::1/128'" set encap-source6 ::1/128
	fails_with 2 "invalid encap-source6 '198.19.0.0/16'" set encap-source6 198.19.0.0/16
	fails_with 2 "'encap-source6' wants a value" set encap-source6
	fails_with 2 "invalid encap-source6 'x'" set encap-source4 198.19.0.0/16 encap-source6 x
	assert_equal "$(settings)" "$before"
	"$VEER" set encap-source4 198.19.0.0/16 encap-source6 2001:2:0:200::/64
	run e2e_json 'd["encap-source4"], d["encap-source6"]' <<<"$(settings)"
	assert_output "('198.19.0.0/16', '2001:2:0:200::/64')"
	"$VEER" set encap-source4 172.16.0.0/16 encap-source6 100::/64
}

@test "backend add: a backend address:port serving 8 VIPs already is exit 1" {
	local i
	for i in 1 2 3 4 5 6 7 8; do
		"$VEER" vip add "198.18.100.$((40 + i)):80/tcp"
		"$VEER" backend add "198.18.100.$((40 + i)):80/tcp" 198.18.11.9
	done
	"$VEER" vip add 198.18.100.49:80/tcp
	run --separate-stderr "$VEER" backend add 198.18.100.49:80/tcp 198.18.11.9
	assert_equal "$status" 1
	assert_equal "$stderr" "veer: cannot add backend 198.18.11.9:80 to 198.18.100.49:80/tcp: it serves 8 VIPs already"
	run "$VEER" -j backend list 198.18.100.49:80/tcp
	assert_equal "$(e2e_json 'len(d)' <<<"$output")" 0
	# Another port of the same address is another backend.
	"$VEER" backend add 198.18.100.49:80/tcp 198.18.11.9:8080
	for i in 1 2 3 4 5 6 7 8 9; do
		"$VEER" vip del "198.18.100.$((40 + i)):80/tcp"
	done
}

@test "changes that fail on a directory with nothing pinned create nothing either" {
	local dir=/sys/fs/bpf/veer-cli-empty$$
	rm -rf "$dir"
	for args in "vip del $VIP" "backend add $VIP 198.18.11.2" \
		"backend set $VIP 198.18.11.2 --weight 0" "backend del $VIP 198.18.11.2" \
		"set tcp-timeout 60" "set encap-source4 198.19.0.0/16"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$VEER" --pin-dir "$dir" $args
		echo "veer $args: exit $status: $stderr"
		assert_equal "$status" 1
		assert_equal "${#stderr_lines[@]}" 1
		[ ! -e "$dir" ] || fail "veer $args created $dir: $(ls "$dir")"
	done
	run --separate-stderr "$VEER" --pin-dir "$dir" vip del "$VIP"
	assert_regex "$stderr" "^veer: nothing is loaded in $dir: run veer attach or veer vip add first$"
}

# The largest size, 2^27 connections, needs about 35 GiB: past half the memory of any host up to
# 70 GiB, as the test machines are (DESIGN.md: 24 GiB).
@test "attach --flows: tables past half of the host's memory are refused before any allocation" {
	local dir=/sys/fs/bpf/veer-cli-big$$
	rm -rf "$dir"
	in_cli_ns ip link set lo up
	run --separate-stderr in_cli_ns "$VEER" --pin-dir "$dir" attach lo --flows 134217728
	rm -rf "$dir"
	assert_equal "$status" 1
	assert_regex "$stderr" "^veer: cannot size the connection tables for 134217728 connections: they need [0-9]+ MiB, more than half of this host's [0-9]+ MiB$"
}
