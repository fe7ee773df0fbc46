#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# veer decap, the backend half of direct server return, from the command line: attach and
# detach on a veth of a namespace made here (veer run through nsenter --net, as a backend's
# setup would run it), the VIP list, the counters, `veer decap check`, and the contract on bad
# input (exit 2 bad input, 1 failed operation, a one-line "veer: ..." reason, nothing changed).
#
#   lb side  (vdcN-l)  l10 198.18.10.1/24       -- veth --
#   backend  (vdcN-b)  b10 198.18.10.2/24, the VIP 198.18.100.10 on lo (when a test puts it)
#
# A test sends an IPIP datagram from the lb side with a raw socket (this kernel has no ipip
# module to make a tunnel with): the backend's server on the VIP answers the client, whose
# address is the lb side's, straight back.

load helpers

VIP=198.18.100.10
VIP6=2001:2:0:100::10

setup_file() {
	[ -x "$VEER" ] || { echo "$VEER is missing: make build/veer" >&2; return 1; }
	e2e_pins_up "decap$$" || return 1
	export DC_B="vdc$$-b" DC_L="vdc$$-l" DC_EMPTY=/sys/fs/bpf/veer-decap-empty$$
	ip netns add "$DC_B" && ip netns add "$DC_L" || return 1
	ip -n "$DC_L" link add l10 type veth peer name b10 netns "$DC_B" &&
		ip -n "$DC_L" link set lo up && ip -n "$DC_B" link set lo up &&
		ip -n "$DC_L" link set l10 up && ip -n "$DC_B" link set b10 up &&
		ip -n "$DC_L" addr add 198.18.10.1/24 dev l10 &&
		ip -n "$DC_B" addr add 198.18.10.2/24 dev b10 || return 1
	# The namespace's ARP and reverse-path settings as it was made: the tests change them (as
	# the README's backend setup does, for `veer decap check` to judge) and each teardown puts
	# these back, never values of its own.
	export DC_SYSCTLS
	DC_SYSCTLS=$(ip netns exec "$DC_B" sysctl net.ipv4.conf.{all,b10}.{arp_ignore,arp_announce,rp_filter} |
		tr -d ' ' | tr '\n' ' ')
}

teardown_file() {
	ip netns del "$DC_B" 2>/dev/null || true
	ip netns del "$DC_L" 2>/dev/null || true
	rm -rf "$DC_EMPTY"
	e2e_pins_down
}

teardown() {
	# Every test starts from a clean backend: no decap attached, no VIPs, no lo address.
	nsenter --net="/run/netns/$DC_B" "$VEER" decap detach b10 >/dev/null 2>&1 || true
	nsenter --net="/run/netns/$DC_B" "$VEER" detach b10 >/dev/null 2>&1 || true
	for v in $("$VEER" decap vip list 2>/dev/null); do "$VEER" decap vip del "$v" >/dev/null; done
	ip -n "$DC_B" addr flush dev lo scope global 2>/dev/null || true
	# shellcheck disable=SC2086 # one assignment per word
	ip netns exec "$DC_B" sysctl -qw $DC_SYSCTLS
}

# on_b ARGS...: runs ARGS in the backend's network namespace, with the host's bpffs.
on_b() {
	nsenter --net="/run/netns/$DC_B" "$@"
}

vips() {
	"$VEER" -j decap vip list 2>/dev/null
}

# What a refused command must leave as it was: the VIPs, the pins, b10's programs.
state() {
	vips
	ls "$VEER_PIN_DIR" 2>/dev/null
	on_b tc filter show dev b10 ingress 2>/dev/null
	on_b ip link show b10 | grep -o 'xdp[a-z]*' || true
}

# fails_with RC PATTERN ARGS...: veer ARGS (in the backend's namespace) exits RC, the first
# line of stderr matches "^veer: PATTERN", stdout is empty, and the VIP list, the pins and the
# interfaces' programs are as they were. Operation failures print exactly one line.
fails_with() {
	e2e_fails_with "$1" "$2" on_b "$VEER" "${@:3}"
}

# decap_links: the interfaces of the backend's namespace with decap attached, "IF:HOOK ...".
decap_links() {
	on_b "$VEER" -j status | e2e_json \
		'" ".join(l["interface"] + ":" + l["hook"] for l in d.get("decap", {}).get("interfaces", []))'
}

# reason NAME: decap's counter NAME.
reason() {
	"$VEER" -j decap stats | e2e_json "d['reasons'][sys.argv[1]]" "$1"
}

# ipip_udp PAYLOAD: from the lb side, a UDP datagram from 198.18.10.1:40000 to the VIP:5300
# inside an outer IPv4 header to the backend (a raw IPIP socket: the kernel adds the outer
# header); prints the answer that comes back to 198.18.10.1:40000 directly, or TIMEOUT.
ipip_udp() {
	ip netns exec "$DC_L" python3 -c '
import socket, struct, sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

src, dst, payload = socket.inet_aton("198.18.10.1"), socket.inet_aton(sys.argv[1]), sys.argv[2].encode()
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("198.18.10.1", 40000))
rx.settimeout(3)
udp = struct.pack("!HHHH", 40000, 5300, 8 + len(payload), 0) + payload
pseudo = src + dst + struct.pack("!BBH", 0, 17, len(udp))
udp = udp[:6] + struct.pack("!H", csum(pseudo + udp) or 0xffff) + udp[8:]
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x1234, 0x4000, 64, 17, 0, src, dst)
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IPIP)
tx.sendto(ip + udp, ("198.18.10.2", 0))
try:
    data, peer = rx.recvfrom(2048)
    print(data.decode(), peer[0])
except socket.timeout:
    print("TIMEOUT")
' "$VIP" "$1"
}

@test "decap attach and detach on a veth in a namespace: tc by default, xdp when asked" {
	run on_b "$VEER" decap attach b10
	assert_success
	assert_equal "$(decap_links)" "b10:tc"
	run on_b tc filter show dev b10 ingress
	assert_output --partial "veer_decap_tc"
	# Only decap's maps: a backend host has no connection tables.
	assert_equal "$(ls "$VEER_PIN_DIR" | tr '\n' ' ')" "veer_decap_stat veer_decap_vips "
	# Again at the same hook: a no-op; at the other hook: refused.
	run on_b "$VEER" decap attach b10 --hook tc
	assert_success
	fails_with 1 "cannot attach decap to b10 at xdp: attached at tc \(detach first\)" \
		decap attach b10 --hook xdp
	run on_b "$VEER" decap detach b10
	assert_success
	assert_equal "$(decap_links)" ""
	run on_b tc filter show dev b10 ingress
	refute_output --partial "veer_decap"

	run --separate-stderr on_b "$VEER" decap attach b10 --hook xdp
	assert_success
	# A virtual interface at XDP: it works, and veer says what it costs.
	assert_regex "${stderr_lines[0]}" "^veer: warning: b10 is a virtual interface: "
	assert_equal "$(decap_links)" "b10:xdp"
	run on_b ip link show b10
	assert_output --partial "xdp"
	run on_b "$VEER" decap detach b10
	assert_success
	run on_b ip link show b10
	refute_output --partial "xdp"
	assert_equal "$(decap_links)" ""
}

@test "decap and the load balancer: one veer program per interface" {
	run on_b "$VEER" decap attach b10
	assert_success
	fails_with 1 "cannot attach to b10: veer decap is attached there at tc \(one veer program per interface\)" \
		attach b10 --flows 4096
	run on_b "$VEER" decap detach b10
	assert_success
	run on_b "$VEER" attach b10 --flows 4096
	assert_success
	fails_with 1 "cannot attach decap to b10: veer's load balancer is attached there at tc" \
		decap attach b10
	fails_with 1 "cannot detach decap from b10: decap is not attached there" decap detach b10
	run on_b "$VEER" detach b10
	assert_success
	# The load balancer's maps came with its attach; decap's status section still shows.
	run on_b "$VEER" status
	assert_success
	assert_line "decap interfaces: none"
	for m in $(ls "$VEER_PIN_DIR"); do
		[[ $m == veer_decap_* ]] || rm "$VEER_PIN_DIR/$m"
	done
}

@test "decap vip add, del and list, in text and JSON" {
	run "$VEER" decap vip add "$VIP"
	assert_success
	run "$VEER" decap vip add "[$VIP6]"
	assert_success
	run "$VEER" decap vip add 198.18.100.9
	assert_success
	run "$VEER" decap vip list
	assert_success
	assert_output "$(printf '198.18.100.9\n198.18.100.10\n2001:2:0:100::10')"
	run e2e_json "[(v['address'], v['family']) for v in d]" <<<"$(vips)"
	assert_output "[('198.18.100.9', 'ipv4'), ('198.18.100.10', 'ipv4'), ('2001:2:0:100::10', 'ipv6')]"
	run "$VEER" decap vip del 198.18.100.9
	assert_success
	run "$VEER" decap vip list
	assert_output "$(printf '198.18.100.10\n2001:2:0:100::10')"
	run on_b "$VEER" -j status
	assert_success
	assert_equal "$(e2e_json 'd["decap"]["vips"]' <<<"$output")" 2
}

@test "decap: bad input is exit 2, impossible changes exit 1, in one line, nothing changed" {
	"$VEER" decap vip add "$VIP"
	fails_with 2 "cannot attach decap to veer-nosuch0: no such interface" decap attach veer-nosuch0
	fails_with 2 "cannot detach decap from veer-nosuch0: no such interface" decap detach veer-nosuch0
	fails_with 2 "decap attach takes 1 argument, got 0" decap attach
	fails_with 2 "invalid hook 'ebpf' \(want auto, xdp or tc\)" decap attach b10 --hook ebpf
	fails_with 2 "invalid mode 'turbo' \(want native or generic\)" decap attach b10 --mode turbo
	fails_with 2 "--mode is an XDP setting: it cannot go with --hook tc" \
		decap attach b10 --hook tc --mode native
	for a in 198.18.100.300 198.18.100.10:80 "[2001:2::10]:80" 224.0.0.1 0.0.0.0 ff02::1 \
		example.com 198.18.100.0/24 ''; do
		fails_with 2 "invalid address '$(sed 's/[][]/\\&/g' <<<"$a")' \(want a unicast IPv4 or IPv6 address, no port\)" \
			decap vip add "$a"
		fails_with 2 "invalid address" decap vip del "$a"
	done
	fails_with 2 "decap vip add takes 1 argument, got 2" decap vip add "$VIP" 198.18.100.11
	fails_with 1 "cannot add decap VIP $VIP: it exists" decap vip add "$VIP"
	fails_with 1 "cannot delete decap VIP 198.18.100.77: no such VIP" decap vip del 198.18.100.77
	fails_with 1 "cannot detach decap from b10: decap is not attached there" decap detach b10
	fails_with 2 ".*command 'frob' for decap" decap frob
}

@test "decap on a pin directory with nothing in it: readers and changes create nothing" {
	local dir=$DC_EMPTY
	for c in "decap vip list" "decap stats" "decap vip del $VIP"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$VEER" --pin-dir "$dir" $c
		assert_equal "$status" 1
		assert_equal "${stderr_lines[0]}" "veer: no decap state in $dir: run veer decap attach or veer decap vip add first"
		assert_equal "${#stderr_lines[@]}" 1
		[ ! -e "$dir" ] || fail "veer $c created $dir"
	done
	# status on a directory of decap's maps only works; on an empty one it says so in a line.
	run "$VEER" --pin-dir "$dir" decap vip add "$VIP"
	assert_success
	run on_b "$VEER" --pin-dir "$dir" status
	assert_success
	assert_line "vips: 0"
	assert_line "decap vips: 1"
	rm -rf "$dir" && mkdir "$dir"
	run --separate-stderr "$VEER" --pin-dir "$dir" status
	assert_equal "$status" 1
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "${stderr_lines[0]}" "^veer: nothing is loaded in $dir"
}

@test "decap check: a missing lo address, wrong ARP settings, strict rp_filter, nothing attached" {
	run --separate-stderr on_b "$VEER" decap check
	assert_equal "$status" 1
	assert_line "decap is not attached to any interface: veer decap attach IFACE"
	assert_line "no decap VIPs: veer decap vip add ADDR"
	# Not attached: every interface that is up but lo is looked at.
	assert_line --partial "arp_ignore is 0 on b10 (all 0, b10 0), want 1"

	on_b "$VEER" decap attach b10
	"$VEER" decap vip add "$VIP"
	"$VEER" decap vip add "$VIP6"
	ip netns exec "$DC_B" sysctl -qw net.ipv4.conf.all.rp_filter=1
	ip -n "$DC_B" addr add "$VIP/24" dev lo
	run --separate-stderr on_b "$VEER" decap check
	assert_equal "$status" 1
	assert_equal "$stderr" ""
	assert_line "VIP $VIP is on lo as /24, not /32: the whole prefix is local to this host: ip addr del $VIP/24 dev lo; ip addr add $VIP/32 dev lo"
	assert_line "VIP $VIP6 is not on lo: the stack drops its decapsulated packets: ip addr add $VIP6/128 dev lo"
	assert_line "arp_ignore is 0 on b10 (all 0, b10 0), want 1: the host answers ARP for its VIPs there: sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.b10.arp_ignore=1"
	assert_line "arp_announce is 0 on b10 (all 0, b10 0), want 2: the host may announce its VIPs as ARP sources there: sysctl -w net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.b10.arp_announce=2"
	assert_line --partial "rp_filter is 1 (strict) on b10 (all 1, b10 0): a decapsulated packet is dropped unless its client is routed back through b10"
	assert_equal "${#lines[@]}" 5
	run on_b "$VEER" -j decap check
	assert_equal "$status" 1
	assert_equal "$(e2e_json '(d["ok"], d["vips"], d["attached"], len(d["problems"]), [(i["interface"], i["decap_attached"], i["arp_ignore"], i["rp_filter"]) for i in d["interfaces"]])' <<<"$output")" \
		"(False, 2, True, 5, [('b10', True, 0, 1)])"

	# Each setting made right: one problem fewer each time, then none.
	ip -n "$DC_B" addr del "$VIP/24" dev lo
	ip -n "$DC_B" addr add "$VIP/32" dev lo
	ip -n "$DC_B" addr add "$VIP6/128" dev lo
	ip netns exec "$DC_B" sysctl -qw net.ipv4.conf.b10.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
	run on_b "$VEER" decap check
	assert_equal "$status" 1
	assert_output --partial "rp_filter is 1 (strict) on b10"
	assert_equal "${#lines[@]}" 1
	ip netns exec "$DC_B" sysctl -qw net.ipv4.conf.all.rp_filter=2
	# arp_ignore 8 keeps the VIPs quiet, and the host's own address with them.
	ip netns exec "$DC_B" sysctl -qw net.ipv4.conf.all.arp_ignore=8
	run --separate-stderr on_b "$VEER" decap check
	assert_equal "$status" 1
	assert_output "arp_ignore is 8 on b10 (all 8, b10 1), want 1: the host answers no ARP there, not even for its own address, and the load balancer cannot reach it: sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.b10.arp_ignore=1"
	ip netns exec "$DC_B" sysctl -qw net.ipv4.conf.all.arp_ignore=0
	run --separate-stderr on_b "$VEER" decap check
	assert_success
	assert_output "ok: 2 VIPs on lo; decap attached to b10 (arp_ignore 1, arp_announce 2, rp_filter 2)"
	assert_equal "$stderr" ""
	# A VIP on another interface too answers for itself there.
	ip -n "$DC_B" addr add "$VIP/32" dev b10
	run on_b "$VEER" decap check
	assert_equal "$status" 1
	assert_output "VIP $VIP is on b10 too: the host answers for it there, past the load balancer: ip addr del $VIP/32 dev b10"
	ip -n "$DC_B" addr del "$VIP/32" dev b10
}

# One IPIP datagram to the VIP at the hook given: decapsulated, answered straight back, counted.
ipip_roundtrip() {
	local before
	on_b "$VEER" decap attach b10 "$@"
	"$VEER" decap vip add "$VIP"
	ip -n "$DC_B" addr add "$VIP/32" dev lo
	ip netns exec "$DC_B" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.100.10", 5300))
print("ready", flush=True)
data, peer = s.recvfrom(2048)
s.sendto(b"echo " + data, peer)
' >"$BATS_TEST_TMPDIR/server" 3>&- &
	SERVER=$!
	topo_wait 5 grep -q ready "$BATS_TEST_TMPDIR/server"
	before=$(reason decapsulated)
	run ipip_udp hello
	kill "$SERVER" 2>/dev/null || true
	wait "$SERVER" 2>/dev/null || true
	assert_output "echo hello $VIP"
	assert_equal "$(reason decapsulated)" "$((before + 1))"
	# Without the VIP in the list the datagram is passed as it came: no ipip module takes it.
	"$VEER" decap vip del "$VIP"
	before=$(reason not_vip)
	run ipip_udp again
	assert_output "TIMEOUT"
	assert_equal "$(reason not_vip)" "$((before + 1))"
}

@test "an IPIP datagram to a VIP is decapsulated at tc and answered straight back" {
	ipip_roundtrip
}

@test "an IPIP datagram to a VIP is decapsulated at xdp and answered straight back" {
	ipip_roundtrip --hook xdp
}

@test "decap stats: every reason, by name, in text and JSON" {
	run "$VEER" decap stats
	assert_success
	for r in decapsulated not_encap not_vip bad_outer bad_inner fragment outer_ext strip_failed; do
		assert_line --regexp "^$r +[0-9]+$"
	done
	run e2e_json 'sorted(d["reasons"])' <<<"$("$VEER" -j decap stats)"
	assert_output "['bad_inner', 'bad_outer', 'decapsulated', 'fragment', 'not_encap', 'not_vip', 'outer_ext', 'strip_failed']"
}
