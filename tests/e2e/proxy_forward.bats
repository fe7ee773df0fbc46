#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The transparent forward proxy with the kernel's default offloads: curl in the client namespace
# asks a server on b1 directly; veer (tc, on the veer node) steers the connection to fwproxy on
# the veer node, which asks veer for the original destination and relays. The server sees the
# proxy's address, the client its server's; clients outside the rule's CIDR, and everyone once
# the rule is deleted, go direct. Then a proxy on another host (b2, behind veer), and veer's
# ingress at XDP.

load helpers

SERVER4=198.18.11.2
SERVER6=2001:2:0:11::2
PROXY4=198.18.1.1   # the veer node's address on the client link
PROXY6=2001:2:0:1::1
OUTSIDE=198.18.1.100 # a second client address, outside 198.18.1.0/28

setup_file() {
	export TOPO_BACKENDS=2
	export TOPO="pxfwd$$"
	export SRV_LOG="$BATS_FILE_TMPDIR/server.log" FWP_LOG="$BATS_FILE_TMPDIR/fwproxy.log"
	export FWPROXY="$BATS_FILE_TMPDIR/fwproxy"
	cp "$E2E_ROOT/build/fwproxy" "$FWPROXY" || return 1
	: >"$SRV_LOG"
	e2e_pins_up "$TOPO" && topo_up && topo_attach || return 1
	in_ns client ip addr add "$OUTSIDE/24" dev c0 || return 1
	# b1's HTTP server: answers "b1", logs each client's address (IPv4 ones unmapped).
	# GET /big: 8 MiB of a pattern; POST: the body's length and SHA-256.
	TOPO_BG_LOG="$BATS_FILE_TMPDIR/server.err" topo_bg b1 python3 -c '
import hashlib, http.server, socket, sys
BIG = bytes(range(256)) * (8 << 12)
class H(http.server.BaseHTTPRequestHandler):
    def answer(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self.answer(BIG if self.path == "/big" else b"b1\n")
    def do_POST(self):
        n = int(self.headers["Content-Length"])
        data = self.rfile.read(n)
        self.answer(f"{len(data)} {hashlib.sha256(data).hexdigest()}\n".encode())
    def log_message(self, fmt, *args):
        with open(sys.argv[1], "a") as f:
            f.write(self.client_address[0].removeprefix("::ffff:") + "\n")
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
S(("::", 80), H).serve_forever()
' "$SRV_LOG"
	export SRV_PID=$TOPO_BG_PID
	topo_wait 10 in_ns lb curl -s -o /dev/null "http://$SERVER4/" ||
		{ echo "the server on b1 did not come up" >&2; return 1; }
	# fwproxy on the veer node, dual stack; nsenter keeps the bpffs it reads veer's pins on.
	nsenter --net="/run/netns/$(ns lb)" "$FWPROXY" --listen '[::]:3128' \
		</dev/null 2>"$FWP_LOG" 3>&- &
	export FWP_PID=$!
	topo_wait 10 grep -q "listening" "$FWP_LOG" ||
		{ cat "$FWP_LOG" >&2; echo "fwproxy did not come up" >&2; return 1; }
	veer_lb proxy add --from 198.18.1.0/28 --dport 80 --to "$PROXY4:3128" &&
		veer_lb proxy add --from 2001:2:0:1::/64 --dport 80 --to "[$PROXY6]:3128"
}

teardown_file() {
	local pid
	for pid in "${FWP_PID:-}" "${FWP2_PID:-}" "${SRV_PID:-}" "${HOLD_PID:-}"; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null
	done
	topo_down
	e2e_pins_down
}

# get [CURL_ARGS...] URL: the answer and, on the next line, the address curl's connection was
# to (remote_ip:remote_port), from the client namespace.
get() {
	in_ns client curl -s -f -g -m 5 -w '%{remote_ip}:%{remote_port}\n' "$@"
}

# last_client: the address the server logged for its last request.
last_client() {
	tail -n 1 "$SRV_LOG"
}

@test "a client in the CIDR: steered to fwproxy; the server sees the proxy, the client its server" {
	local proxied replies nlog
	proxied=$(e2e_reason proxy)
	replies=$(e2e_reason proxy_reply)
	nlog=$(grep -c ' -> ' "$FWP_LOG" || true)
	run get "http://$SERVER4/"
	assert_success
	assert_output "b1
$SERVER4:80"
	# fwproxy's connection to b1 leaves from the veer node's address on that link.
	assert_equal "$(last_client)" 198.18.11.1
	topo_wait 5 test "$(grep -c ' -> ' "$FWP_LOG")" -gt "$nlog" || fail "fwproxy logged nothing"
	run tail -n 1 "$FWP_LOG"
	assert_output --regexp "^fwproxy: 198\.18\.1\.2:[0-9]+ -> $SERVER4:80: [1-9][0-9]* bytes up, [1-9][0-9]* bytes down$"
	(($(e2e_reason proxy) > proxied)) || fail "no packet counted proxy"
	(($(e2e_reason proxy_reply) > replies)) || fail "no packet counted proxy_reply"
}

@test "8 MiB each way through the proxy arrive intact (GSO, checksum offload)" {
	local want
	want=$(python3 -c 'import hashlib; print(hashlib.sha256(bytes(range(256)) * (8 << 12)).hexdigest())')
	run bash -c "$(declare -f in_ns ns); in_ns client curl -s -f -m 20 http://$SERVER4/big | sha256sum"
	assert_output "$want  -"
	python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * (8 << 12))' \
		>"$BATS_TEST_TMPDIR/big"
	run in_ns client curl -s -f -m 20 --data-binary "@$BATS_TEST_TMPDIR/big" \
		-H 'Content-Type: application/octet-stream' "http://$SERVER4/up"
	assert_output "8388608 $want"
	assert_equal "$(last_client)" 198.18.11.1
}

@test "IPv6: steered alike" {
	run get "http://[$SERVER6]/"
	assert_success
	assert_output "b1
$SERVER6:80"
	assert_equal "$(last_client)" 2001:2:0:11::1
}

@test "veer proxy origdst names the server while the connection is open" {
	local port fifo="$BATS_TEST_TMPDIR/hold"
	mkfifo "$fifo"
	# A connection held open until the fifo is closed; its local port on stdout.
	in_ns client python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=5)
print(s.getsockname()[1], flush=True)
sys.stdin.read()
' "$SERVER4" <"$fifo" >"$BATS_TEST_TMPDIR/port" 3>&- &
	HOLD_PID=$!
	exec 4>"$fifo"
	topo_wait 5 test -s "$BATS_TEST_TMPDIR/port" || fail "the client did not connect"
	port=$(cat "$BATS_TEST_TMPDIR/port")
	run veer_lb proxy origdst "198.18.1.2:$port"
	assert_success
	assert_output "$SERVER4:80"
	run veer_lb -j proxy origdst "198.18.1.2:$port"
	assert_success
	assert_equal "$(e2e_json "d['destination'], d['proxy'], d['state']" <<<"$output")" \
		"('$SERVER4:80', '$PROXY4:3128', 'established')"
	exec 4>&-
	wait "$HOLD_PID"
	HOLD_PID=
	# A port no connection came from: one line, exit 1.
	run --separate-stderr veer_lb proxy origdst 198.18.1.2:1
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" "veer: no original destination for 198.18.1.2:1: no proxied connection from it"
}

@test "a client outside the CIDR goes direct" {
	local nlog
	nlog=$(grep -c ' -> ' "$FWP_LOG" || true)
	run get --interface "$OUTSIDE" "http://$SERVER4/"
	assert_success
	assert_output "b1
$SERVER4:80"
	assert_equal "$(last_client)" "$OUTSIDE"
	assert_equal "$(grep -c ' -> ' "$FWP_LOG")" "$nlog"
}

@test "a proxy on another host behind veer: its packets are rewritten at veer's ingress" {
	local log="$BATS_FILE_TMPDIR/fwproxy2.log" replies
	# fwproxy on b2 reads veer's pins here because the namespaces share a host; a proxy on
	# another machine would have to learn the destination from the request (Host, SNI).
	nsenter --net="/run/netns/$(ns b2)" "$FWPROXY" --listen 198.18.12.2:3128 \
		</dev/null 2>"$log" 3>&- &
	FWP2_PID=$!
	topo_wait 10 grep -q "listening" "$log" || fail "fwproxy on b2 did not come up"
	veer_lb proxy del --from 198.18.1.0/28 --dport 80
	veer_lb proxy add --from 198.18.1.0/28 --dport 80 --to 198.18.12.2:3128
	replies=$(e2e_reason proxy_reply)
	run get "http://$SERVER4/"
	assert_success
	assert_output "b1
$SERVER4:80"
	assert_equal "$(last_client)" 198.18.12.2
	(($(e2e_reason proxy_reply) > replies)) || fail "no packet counted proxy_reply"
	topo_wait 5 grep -q " -> $SERVER4:80: " "$log" || fail "fwproxy on b2 logged nothing"
	veer_lb proxy del --from 198.18.1.0/28 --dport 80
	veer_lb proxy add --from 198.18.1.0/28 --dport 80 --to "$PROXY4:3128"
}

@test "after proxy del, traffic goes direct" {
	veer_lb proxy del --from 198.18.1.0/28 --dport 80
	run veer_lb -j proxy list
	assert_equal "$(e2e_json "[r['from'] for r in d]" <<<"$output")" "['2001:2:0:1::/64']"
	run get "http://$SERVER4/"
	assert_success
	assert_output "b1
$SERVER4:80"
	assert_equal "$(last_client)" 198.18.1.2
}

@test "ingress at XDP: steered alike, the proxy's packets rewritten at tc egress" {
	# XDP on a veth needs checksum offload off on the sender and GRO on the receiver (veer(8)).
	veer_lb detach l0
	topo_offloads_off client c0
	topo_offloads_off lb l0
	veer_lb attach l0 --hook xdp 2>/dev/null
	run veer_lb -j status
	assert_equal "$(e2e_json "[(i['hook'], i['egress_prog_id'] > 0) for i in d['interfaces'] if i['interface'] == 'l0']" <<<"$output")" \
		"[('xdp', True)]"
	veer_lb proxy add --from 198.18.1.0/28 --dport 80 --to "$PROXY4:3128"
	run get "http://$SERVER4/"
	assert_success
	assert_output "b1
$SERVER4:80"
	assert_equal "$(last_client)" 198.18.11.1
}
