#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# IPv6 TCP VIPs and UDP VIPs (IPv4 and IPv6): answers come back from the VIP's address,
# spread over the backends, and a UDP flow (one source port) sticks to one backend.

load helpers

VIP6='[2001:2:0:100::10]:80/tcp'
URL6='http://[2001:2:0:100::10]/'
UDP4=198.18.100.10:53/udp
UDP6='[2001:2:0:100::10]:53/udp'

setup_file() {
	e2e_topo_up v6udp
	e2e_vip_new "$VIP6" 2001:2:0:11::2 2001:2:0:12::2 2001:2:0:13::2
	e2e_vip_new "$UDP4" 198.18.11.2 198.18.12.2 198.18.13.2
	e2e_vip_new "$UDP6" 2001:2:0:11::2 2001:2:0:12::2 2001:2:0:13::2
}

teardown_file() {
	e2e_topo_down "$VIP6" "$UDP4" "$UDP6"
}

# udp_probe HOST SOCKETS DATAGRAMS: from SOCKETS sockets (one source port each), sends
# DATAGRAMS datagrams each to HOST:53. Prints one line per socket: its answers, or "FAIL ..."
# when a datagram went unanswered for 2 s or an answer came from another address than HOST.
udp_probe() {
	in_ns client python3 -c '
import socket, sys
host, nsock, ndgram = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
for _ in range(nsock):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(2)
    names = []
    for _ in range(ndgram):
        s.sendto(b"hello", (host, 53))
        try:
            data, peer = s.recvfrom(64)
        except socket.timeout:
            names.append("FAIL timeout")
            break
        if peer[0] != host or peer[1] != 53:
            names.append(f"FAIL answer from {peer[0]}:{peer[1]}")
            break
        names.append(data.decode().strip())
    print(" ".join(names))
    s.close()
' "$@"
}

# udp_spread HOST SOCKETS DATAGRAMS: every socket's datagrams are answered from the VIP and
# each backend answers at least 5 of the sockets.
udp_spread() {
	run udp_probe "$@"
	assert_success
	printf '%s\n' "${lines[@]}" | sort | uniq -c
	refute_output --partial FAIL
	assert_equal "${#lines[@]}" "$2"
	for b in b1 b2 b3; do
		(( $(printf '%s\n' "${lines[@]}" | grep -c "^$b") >= 5 )) || fail "$b answered fewer than 5 of $2 sources"
	done
}

@test "IPv6 TCP VIP: 150 HTTP requests succeed, spread over the three backends" {
	e2e_get 150 "$URL6" >"$BATS_TEST_TMPDIR/answers"
	e2e_assert_spread "$BATS_TEST_TMPDIR/answers" 150 25 75
	run e2e_stats_vip "$VIP6" "v['new_flows'] >= 150 and v['new_flows'] == sum(b['new_flows'] for b in v['backend_stats'])"
	assert_output True
}

@test "IPv4 UDP VIP: every datagram answered from the VIP, by several backends" {
	udp_spread 198.18.100.10 60 3
}

@test "UDP flows stick: the datagrams of one source port all reach the same backend" {
	run udp_probe 198.18.100.10 20 5
	assert_success
	refute_output --partial FAIL
	for l in "${lines[@]}"; do
		read -r -a names <<<"$l"
		assert_equal "${#names[@]}" 5
		for n in "${names[@]}"; do assert_equal "$n" "${names[0]}"; done
	done
}

@test "IPv6 UDP VIP: every datagram answered from the VIP, by several backends" {
	udp_spread 2001:2:0:100::10 60 2
}

@test "veer stats counts the UDP VIP's flows and replies" {
	# 80 sockets sent 280 datagrams, all answered (two sockets may share a port by chance).
	"$VEER" stats
	run e2e_stats_vip "$UDP4" "(v['new_flows'], v['packets'], v['reply_packets'])"
	[[ $output =~ ^\(([0-9]+),\ ([0-9]+),\ ([0-9]+)\)$ ]] || fail "unexpected stats: $output"
	(( BASH_REMATCH[1] >= 70 && BASH_REMATCH[1] <= 80 )) || fail "new_flows ${BASH_REMATCH[1]}, want 70..80"
	(( BASH_REMATCH[2] >= 280 )) || fail "packets ${BASH_REMATCH[2]}, want >= 280"
	(( BASH_REMATCH[3] >= 280 )) || fail "reply_packets ${BASH_REMATCH[3]}, want >= 280"
	run e2e_stats_vip "$UDP4" "v['new_flows'] == sum(b['new_flows'] for b in v['backend_stats'])"
	assert_output True
}
