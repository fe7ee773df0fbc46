#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# UDP datagrams larger than the 1500-byte path, both ways: the client's and the backend's
# stacks fragment them, veer balances a first fragment like any packet of its flow and sends
# the later fragments (no ports in them) after it, in both directions (counter fragment_fwd);
# the receivers reassemble. IPv4 and IPv6, 3,000 and 9,000 bytes, the kernel's offloads.

load helpers

PORT=8080
UDP4=198.18.100.60:$PORT/udp
UDP6="[2001:2:0:100::60]:$PORT/udp"

setup_file() {
	e2e_topo_up frags
	e2e_big_servers "$PORT"
	e2e_vip_new "$UDP4" 198.18.11.2 198.18.12.2 198.18.13.2
	e2e_vip_new "$UDP6" 2001:2:0:11::2 2001:2:0:12::2 2001:2:0:13::2
}

teardown_file() {
	e2e_topo_down "$UDP4" "$UDP6"
}

# echoes HOST SIZE: from 4 sockets (4 flows), 2 datagrams each of SIZE random bytes to
# HOST:PORT; one line per datagram: OK when the same bytes came back from HOST:PORT within
# a second.
echoes() {
	in_ns client python3 -c '
import os, socket, sys
host, size, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
for _ in range(4):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(1)
    for _ in range(2):
        data = os.urandom(size)
        s.sendto(data, (host, port))
        try:
            back, peer = s.recvfrom(65535)
        except socket.timeout:
            print("FAIL timeout")
            continue
        if peer[:2] != (host, port):
            print(f"FAIL answer from {peer[0]}:{peer[1]}")
        elif back != data:
            print(f"FAIL {len(back)} bytes came back, not the {size} sent")
        else:
            print("OK")
    s.close()
' "$1" "$2" "$PORT"
}

reasm() { echo $(($(e2e_snmp "$1" IpReasmOKs) + $(e2e_snmp "$1" Ip6ReasmOKs))); }
backends_reasm() { echo $(($(reasm b1) + $(reasm b2) + $(reasm b3))); }

# big HOST SIZE NONFIRST: 8 echoes of SIZE bytes, all whole; the client and the backends
# reassembled 8 datagrams each, and veer forwarded at least NONFIRST non-first fragments per
# echo (both ways).
big() {
	local f0 c0 b0
	f0=$(e2e_reason fragment_fwd) c0=$(reasm client) b0=$(backends_reasm)
	run echoes "$1" "$2"
	assert_success
	printf '%s\n' "${lines[@]}" | sort | uniq -c
	refute_output --partial FAIL
	assert_equal "${#lines[@]}" 8
	assert_equal $(($(reasm client) - c0)) 8
	assert_equal $(($(backends_reasm) - b0)) 8
	echo "fragment_fwd $f0 -> $(e2e_reason fragment_fwd), fragment_tail $(e2e_reason fragment_tail)"
	(($(e2e_reason fragment_fwd) - f0 >= 8 * $3)) || fail "fragment_fwd moved by less than $((8 * $3))"
}

@test "fragments: small datagrams to both UDP VIPs are echoed (the path works)" {
	run echoes 198.18.100.60 100
	refute_output --partial FAIL
	run echoes 2001:2:0:100::60 100
	refute_output --partial FAIL
}

@test "fragments: IPv4 UDP, 3,000-byte datagrams both ways (3 fragments each)" {
	big 198.18.100.60 3000 4
}

@test "fragments: IPv4 UDP, 9,000-byte datagrams both ways (7 fragments each)" {
	big 198.18.100.60 9000 12
}

@test "fragments: IPv6 UDP, 3,000-byte datagrams both ways (3 fragments each)" {
	big 2001:2:0:100::60 3000 4
}

@test "fragments: IPv6 UDP, 9,000-byte datagrams both ways (7 fragments each)" {
	big 2001:2:0:100::60 9000 12
}
