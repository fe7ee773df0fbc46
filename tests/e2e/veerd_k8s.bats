#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# veerd's Kubernetes source against the fake API server (fake_apiserver.py, running in the veer
# node's namespace on 127.0.0.1, TLS with a test CA, bearer tokens): an annotated Service with
# three ready endpoints in two EndpointSlices becomes VIPs that serve traffic; an endpoint
# turning terminating drains (weight 0, its connection still served); a dropped watch and
# 410 Gone make veerd list again and converge touching only what changed; the token file
# rotates under a running veerd; a bad CA, a bad token, an unreachable server, malformed JSON
# and a bad annotation each give one clear line while veerd runs on; in a pod (the service
# account's files in veerd's own mount namespace) the projected token rotates. Last, the RBAC
# check: every request veerd made is allowed by deploy/rbac.yaml, every rule of it used.

load helpers
load k8s_helpers

HTTP=198.18.100.70:80/tcp
ECHO=198.18.100.70:7000/tcp
API=198.18.100.71:80/tcp

setup_file() {
	e2e_topo_up veerdk8s || return 1
	for i in 1 2 3; do
		topo_bg "b$i" python3 "$E2E_DIR/echo_server.py" "b$i" 7000
	done
	export K8S_NETNS
	K8S_NETNS=$(ns lb)
	k8s_fake_up "$BATS_FILE_TMPDIR/k8s" 19410 19411 || return 1
	export CFG=$BATS_FILE_TMPDIR/veer.yaml KCFG=$BATS_FILE_TMPDIR/kubeconfig
	export VEERD_LOG=$BATS_FILE_TMPDIR/veerd.log
	k8s_kubeconfig "$KCFG" "https://127.0.0.1:$K8S_PORT" "$K8S_DIR/ca.crt" "$K8S_DIR/token"
	cat <<EOF | e2e_write_config "$CFG"
# veerd e2e: Kubernetes
interfaces: [{name: l0}, {name: l1}, {name: l2}, {name: l3}]
metrics: {listen: off}
sources:
  kubernetes: {kubeconfig: $KCFG, timeout: 2s}
EOF
	# ns1/web: VIPs 198.18.100.70:80 and :7000, b1 and b2 in one slice, b3 in another.
	k8s_ctl "$(k8s_service ns1 web 198.18.100.70 http:80/TCP echo:7000/TCP)" \
		"$(k8s_slice ns1 web-a web http:80/TCP,echo:7000/TCP 198.18.11.2 198.18.12.2)" \
		"$(k8s_slice ns1 web-b web http:80/TCP,echo:7000/TCP 198.18.13.2)" \
		"$(k8s_service ns2 plain - http:80/TCP)" \
		"$(k8s_slice ns2 plain-a plain http:80/TCP 198.18.11.2)" >/dev/null
}

teardown_file() {
	e2e_veerd_stop
	k8s_fake_down
	e2e_topo_down "$HTTP" "$ECHO" "$API" 198.18.100.71:81/tcp "[2001:2::71]:80/tcp"
}

teardown() {
	e2e_veerd_stop
	# What a test may have left otherwise: the server takes the token of the file again, the
	# kubeconfig is the good one.
	k8s_ctl "{\"op\": \"token\", \"tokens\": [\"$(cat "$K8S_DIR/token")\"]}" '{"op": "gone", "mode": "event"}' >/dev/null
	k8s_kubeconfig "$KCFG" "https://127.0.0.1:$K8S_PORT" "$K8S_DIR/ca.crt" "$K8S_DIR/token"
	if [ -n "${LL_PID:-}" ]; then
		touch "$BATS_TEST_TMPDIR/stop"
		wait "$LL_PID" || true
		LL_PID=
	fi
}

# backends VIP: "ADDRESS:PORT=WEIGHT ..." sorted, on one line.
backends() {
	"$VEER" -j backend list "$1" 2>/dev/null |
		e2e_json "' '.join(sorted(f\"{b['backend']}={b['weight']}\" for b in d))"
}

# ids VIP: "ADDRESS=ID ..." sorted: a backend that is removed and added again gets a new id.
ids() {
	"$VEER" -j backend list "$1" | e2e_json "' '.join(sorted(f\"{b['address']}={b['id']}\" for b in d))"
}

vip_field() {
	"$VEER" -j vip list | e2e_json "next((v[sys.argv[2]] for v in d if v['vip'] == sys.argv[1]), None)" "$1" "$2"
}

# log_since MARK: veerd's log after line MARK, without the events it logs (which repeat what a
# message says, as JSON).
log_since() {
	tail -n +$(($1 + 1)) "$VEERD_LOG" | grep -v '^veerd: event {'
}

log_mark() {
	wc -l <"$VEERD_LOG" 2>/dev/null || echo 0
}

# started: veerd (-v: its retries are logged) on the suite's config, watching both resources.
started() {
	e2e_veerd_start "$CFG" -v || return 1
	topo_wait 10 eval '[ "$(k8s_watches services)" -ge 1 ] && [ "$(k8s_watches endpointslices)" -ge 1 ]'
}

THREE="198.18.11.2:80=100 198.18.12.2:80=100 198.18.13.2:80=100"

@test "a Service with three ready endpoints in two slices becomes VIPs that serve traffic" {
	started
	topo_wait 5 eval '[ "$(backends "$HTTP")" = "$THREE" ]'
	assert_equal "$(backends "$ECHO")" "198.18.11.2:7000=100 198.18.12.2:7000=100 198.18.13.2:7000=100"
	assert_equal "$(vip_field "$HTTP" owner)" kubernetes
	# The Service without the annotation is no VIP.
	run "$VEER" -j vip list
	assert_equal "$(e2e_json "sorted(v['vip'] for v in d)" <<<"$output")" "['198.18.100.70:7000/tcp', '198.18.100.70:80/tcp']"
	run e2e_get 30 http://198.18.100.70/
	assert_success
	refute_output --partial FAIL
	assert_output --partial b1
	assert_output --partial b2
	assert_output --partial b3
	grep -q 'source kubernetes connected to https://127.0.0.1:19410' "$VEERD_LOG"
}

@test "an endpoint turning terminating drains: weight 0, its connection still served; removed, it goes" {
	started
	topo_wait 5 eval '[ "$(backends "$HTTP")" = "$THREE" ]'
	TOPO_BG_LOG=$BATS_TEST_TMPDIR/ll.err topo_bg client python3 "$E2E_DIR/ll_client.py" \
		198.18.100.70 7000 1 "$BATS_TEST_TMPDIR/rounds" "$BATS_TEST_TMPDIR/stop" 60
	LL_PID=$TOPO_BG_PID
	topo_wait 10 test -s "$BATS_TEST_TMPDIR/rounds"
	local name n addr others
	name=$(head -1 "$BATS_TEST_TMPDIR/rounds" | cut -d' ' -f2)
	n=${name#b}
	addr=198.18.1$n.2
	# The connection's backend turns terminating in its slice.
	if [ "$n" = 3 ]; then
		k8s_ctl "$(k8s_slice ns1 web-b web http:80/TCP,echo:7000/TCP 198.18.13.2=terminating)" >/dev/null
	else
		local eps="198.18.11.2 198.18.12.2"
		k8s_ctl "$(k8s_slice ns1 web-a web http:80/TCP,echo:7000/TCP ${eps/$addr/$addr=terminating})" >/dev/null
	fi
	topo_wait 5 eval '[[ " $(backends "$ECHO") " == *" $addr:7000=0 "* ]]'
	[[ " $(backends "$HTTP") " == *" $addr:80=0 "* ]]
	# New connections go to the two others only...
	run e2e_get 30 http://198.18.100.70/
	refute_output --partial FAIL
	refute_output --partial "$name"
	# ...while the established one is still served by its backend.
	local rounds
	rounds=$(wc -l <"$BATS_TEST_TMPDIR/rounds")
	topo_wait 5 eval '(( $(wc -l <"$BATS_TEST_TMPDIR/rounds") > rounds + 5 ))'
	touch "$BATS_TEST_TMPDIR/stop"
	wait "$LL_PID"
	LL_PID=
	tail -1 "$BATS_TEST_TMPDIR/rounds" | grep -q " $name\$"

	# Removed from its slice: the backend goes.
	if [ "$n" = 3 ]; then
		k8s_ctl "$(k8s_slice ns1 web-b web http:80/TCP,echo:7000/TCP)" >/dev/null
	else
		others=$(echo 198.18.11.2 198.18.12.2 | tr ' ' '\n' | grep -vx "$addr")
		k8s_ctl "$(k8s_slice ns1 web-a web http:80/TCP,echo:7000/TCP $others)" >/dev/null
	fi
	topo_wait 5 eval '[[ " $(backends "$HTTP") " != *" $addr:80="* ]]'
	assert_equal "$(backends "$HTTP" | wc -w)" 2
	# Back as it was, for the tests after this one.
	k8s_ctl "$(k8s_slice ns1 web-a web http:80/TCP,echo:7000/TCP 198.18.11.2 198.18.12.2)" \
		"$(k8s_slice ns1 web-b web http:80/TCP,echo:7000/TCP 198.18.13.2)" >/dev/null
	topo_wait 5 eval '[ "$(backends "$HTTP")" = "$THREE" ]'
}

@test "the watch dropped and 410 Gone: veerd lists again and converges, touching only what changed" {
	started
	topo_wait 5 eval '[ "$(backends "$HTTP")" = "$THREE" ]'
	local before mark digest
	before=$(ids "$HTTP")
	mark=$(log_mark)
	# At once, so that veerd sees none of it on a watch: the watches end, b3 leaves, a second
	# annotated Service comes, and the history veerd's resourceVersions point into is gone.
	k8s_ctl '{"op": "drop"}' \
		"$(k8s_slice ns1 web-b web http:80/TCP,echo:7000/TCP)" \
		"$(k8s_service ns3 api 198.18.100.71 :80/TCP)" \
		"$(k8s_slice ns3 api-x api :80/TCP 198.18.12.2 198.18.13.2=notready)" \
		'{"op": "compact"}' >/dev/null
	topo_wait 10 eval '[ "$(backends "$HTTP")" = "198.18.11.2:80=100 198.18.12.2:80=100" ]'
	topo_wait 5 eval '[ "$(backends "$API")" = "198.18.12.2:80=100 198.18.13.2:80=0" ]'
	log_since "$mark" | grep -q 'of endpointslices is too old (410 Gone): listing again'
	log_since "$mark" | grep -q 'of services is too old (410 Gone): listing again'
	# The backends that stayed kept their slots: not removed and added again.
	assert_equal "$(ids "$HTTP")" "$(grep -v 198.18.13.2 <<<"${before// /$'\n'}" | tr '\n' ' ' | sed 's/ $//')"
	# Applied as a difference: b3 out of two VIPs, one VIP in with its two backends.
	run bash -c "tail -n +$((mark + 1)) '$VEERD_LOG' | grep 'applied kubernetes:'"
	echo "$output"
	local added=0 removed=0 changed=0 line
	while read -r line; do
		[[ $line =~ backends\ \+([0-9]+)\ ~([0-9]+)\ -([0-9]+) ]] || continue
		added=$((added + BASH_REMATCH[1]))
		changed=$((changed + BASH_REMATCH[2]))
		removed=$((removed + BASH_REMATCH[3]))
	done <<<"$output"
	assert_equal "$added $changed $removed" "2 0 2"
	# No connection was lost in between (a clean end of a watch is no loss).
	run log_since "$mark"
	refute_output --partial 'source kubernetes lost'

	# The same with the other form of 410 (a plain HTTP status) and a watch ended by a RST:
	# veerd reports the loss, then lists and converges again.
	mark=$(log_mark)
	digest=$(vip_field "$HTTP" ring_digest)
	k8s_ctl '{"op": "gone", "mode": "http"}' '{"op": "drop", "how": "reset"}' \
		"$(k8s_slice ns1 web-b web http:80/TCP,echo:7000/TCP 198.18.13.2)" '{"op": "compact"}' >/dev/null
	topo_wait 10 eval '[ "$(backends "$HTTP")" = "$THREE" ]'
	k8s_ctl '{"op": "gone", "mode": "event"}' >/dev/null
	topo_wait 5 eval 'log_since "$mark" | grep -q "source kubernetes connected"'
	log_since "$mark" | grep -q 'too old (410 Gone): listing again'
	log_since "$mark" | grep -q 'source kubernetes lost: '
	[ "$(vip_field "$HTTP" ring_digest)" != "$digest" ]
	k8s_ctl "$(k8s_delete Service ns3 api)" "$(k8s_delete EndpointSlice ns3 api-x)" >/dev/null
	topo_wait 5 eval '! e2e_vip_exists "$API"'
}

@test "the token file rotates: veerd watches on with the new token, the old one refused" {
	started
	topo_wait 5 eval '[ "$(backends "$HTTP")" = "$THREE" ]'
	local old new mark requests
	old=$(cat "$K8S_DIR/token")
	new=rotated-$RANDOM$RANDOM
	mark=$(log_mark)
	requests=$(wc -l <"$K8S_DIR/requests.log")
	# As a projected token is: a new file renamed over the old one.
	echo "$new" >"$K8S_DIR/token.new"
	mv "$K8S_DIR/token.new" "$K8S_DIR/token"
	# The server now refuses the old token, and ends the watches made with it.
	k8s_ctl "{\"op\": \"token\", \"tokens\": [\"$new\"]}" '{"op": "drop"}' >/dev/null
	k8s_ctl "$(k8s_slice ns1 web-b web http:80/TCP,echo:7000/TCP 198.18.13.2=terminating)" >/dev/null
	topo_wait 5 eval '[ "$(backends "$HTTP")" = "198.18.11.2:80=100 198.18.12.2:80=100 198.18.13.2:80=0" ]'
	topo_wait 5 eval '[ "$(k8s_watches services)" -ge 1 ] && [ "$(k8s_watches endpointslices)" -ge 1 ]'
	# Every request since carried the new token: none was refused.
	run bash -c "tail -n +$((requests + 1)) '$K8S_DIR/requests.log' | grep -c '\"status\": 401'"
	assert_output 0
	log_since "$mark" | grep -q "token file $K8S_DIR/token changed: using the new token"

	# The token expires before the file is renewed: veerd says so, once, and runs on...
	mark=$(log_mark)
	k8s_ctl '{"op": "token", "tokens": ["third"]}' '{"op": "drop"}' >/dev/null
	topo_wait 10 eval 'log_since "$mark" | grep -q "401 Unauthorized"'
	run log_since "$mark"
	echo "$output"
	assert_line --regexp "^veerd: source kubernetes lost: https://127\.0\.0\.1:19410 refused the token of $K8S_DIR/token: 401 Unauthorized \(expired or not valid\?\); its VIPs stay as they are pinned$"
	assert_equal "$(grep -c '401 Unauthorized' <<<"$output")" 1
	kill -0 "$VEERD_PID"
	assert_equal "$(backends "$HTTP")" "198.18.11.2:80=100 198.18.12.2:80=100 198.18.13.2:80=0"
	# ...and takes the renewed file at its next try.
	echo third >"$K8S_DIR/token"
	k8s_ctl "$(k8s_slice ns1 web-b web http:80/TCP,echo:7000/TCP 198.18.13.2)" >/dev/null
	topo_wait 20 eval '[ "$(backends "$HTTP")" = "$THREE" ]'
	topo_wait 5 eval 'log_since "$mark" | grep -q "source kubernetes connected"'
	[ "$old" != "$new" ]
}

# restart_with KUBECONFIG_ARGS...: veerd restarted on a kubeconfig made of these arguments.
restart_with() {
	e2e_veerd_stop
	k8s_kubeconfig "$KCFG" "$@"
	e2e_veerd_start "$CFG" -v
}

# one_line MARK REGEX: veerd's log since MARK has exactly one line matching REGEX (within 10 s).
one_line() {
	local m=$1 re=$2
	topo_wait 10 eval 'log_since "$m" | grep -Eq -- "$re"'
	run log_since "$m"
	echo "$output"
	assert_equal "$(grep -Ec -- "$re" <<<"$output")" 1
	kill -0 "$VEERD_PID"
}

@test "a bad CA, a bad token, an unreachable server: one clear line each, the VIPs stay, veerd runs on" {
	started
	topo_wait 5 eval '[ "$(backends "$HTTP")" = "$THREE" ]'
	local mark digest
	digest=$(vip_field "$HTTP" ring_digest)

	mark=$(log_mark)
	restart_with "https://127.0.0.1:$K8S_PORT" "$K8S_DIR/other.crt" "$K8S_DIR/token"
	one_line "$mark" "source kubernetes lost: cannot reach https://127\.0\.0\.1:19410: SSL certificate problem: unable to get local issuer certificate \(CA: $K8S_DIR/other\.crt\)"
	# Retried (veerd -v says when), the same problem is not told again.
	topo_wait 10 eval '(( $(log_since "$mark" | grep -c "again in") >= 6 ))'
	one_line "$mark" "SSL certificate problem"

	mark=$(log_mark)
	restart_with "https://127.0.0.1:$K8S_PORT" "$K8S_DIR/ca.crt" -token:nottheone
	one_line "$mark" "source kubernetes lost: https://127\.0\.0\.1:19410 refused the kubeconfig's token: 401 Unauthorized \(expired or not valid\?\)"

	mark=$(log_mark)
	restart_with "https://127.0.0.1:19412" "$K8S_DIR/ca.crt" "$K8S_DIR/token"
	one_line "$mark" "source kubernetes lost: cannot reach https://127\.0\.0\.1:19412: Failed to connect to 127\.0\.0\.1 port 19412"

	mark=$(log_mark)
	e2e_veerd_stop
	echo 'clusters: [' >"$KCFG"
	e2e_veerd_start "$CFG"
	one_line "$mark" "source kubernetes lost: kubeconfig $KCFG:2:1: did not find expected node content"

	# None of this touched the VIPs a good veerd made.
	assert_equal "$(backends "$HTTP")" "$THREE"
	assert_equal "$(vip_field "$HTTP" ring_digest)" "$digest"
	run e2e_get 10 http://198.18.100.70/
	refute_output --partial FAIL

	# Put right, the kubeconfig is read again at the next try.
	mark=$(log_mark)
	k8s_kubeconfig "$KCFG" "https://127.0.0.1:$K8S_PORT" "$K8S_DIR/ca.crt" "$K8S_DIR/token"
	topo_wait 20 eval 'log_since "$mark" | grep -q "source kubernetes connected"'
}

@test "malformed JSON on a watch: one line, veerd lists again and goes on" {
	started
	topo_wait 5 eval '[ "$(backends "$HTTP")" = "$THREE" ]'
	local mark
	mark=$(log_mark)
	k8s_ctl '{"op": "raw", "resource": "endpointslices", "data": "{\"type\": \"ADDED\", \"object\": {nope}}\n"}' >/dev/null
	one_line "$mark" "source kubernetes lost: watch of endpointslices from https://127\.0\.0\.1:19410: malformed JSON: quoted object property name expected; its VIPs stay as they are pinned"
	k8s_ctl "$(k8s_slice ns1 web-b web http:80/TCP,echo:7000/TCP 198.18.13.2=terminating)" >/dev/null
	topo_wait 10 eval '[ "$(backends "$HTTP")" = "198.18.11.2:80=100 198.18.12.2:80=100 198.18.13.2:80=0" ]'
	k8s_ctl "$(k8s_slice ns1 web-b web http:80/TCP,echo:7000/TCP 198.18.13.2)" >/dev/null
	topo_wait 5 eval '[ "$(backends "$HTTP")" = "$THREE" ]'
}

@test "a bad annotation is refused with one line and the rest applies; losing the annotation removes the VIP" {
	started
	topo_wait 5 eval '[ "$(backends "$HTTP")" = "$THREE" ]'
	local mark
	mark=$(log_mark)
	k8s_ctl "$(k8s_service ns3 api 300.1.1.1 :80/TCP)" "$(k8s_slice ns3 api-x api :80/TCP 198.18.12.2)" >/dev/null
	one_line "$mark" "kubernetes service ns3/api refused: annotation veer\.io/vip: '300\.1\.1\.1' is not an IP address"
	# Events after it apply, and the refusal is not told again at each.
	k8s_ctl "$(k8s_slice ns1 web-b web http:80/TCP,echo:7000/TCP 198.18.13.2=terminating)" >/dev/null
	topo_wait 5 eval '[ "$(backends "$HTTP")" = "198.18.11.2:80=100 198.18.12.2:80=100 198.18.13.2:80=0" ]'
	one_line "$mark" "refused: annotation"
	! e2e_vip_exists "$API"
	# Put right, the Service becomes its VIP.
	k8s_ctl "$(k8s_service ns3 api 198.18.100.71 :80/TCP)" >/dev/null
	topo_wait 5 eval '[ "$(backends "$API")" = "198.18.12.2:80=100" ]'
	# A VIP another Service has already is refused by name; the first keeps it.
	mark=$(log_mark)
	k8s_ctl "$(k8s_service ns4 copy 198.18.100.71 :80/TCP)" >/dev/null
	one_line "$mark" "kubernetes service ns4/copy refused: VIP 198\.18\.100\.71:80/tcp is kubernetes service ns3/api's already"
	# The annotation taken away: ns3/api's VIP goes, and ns4/copy (no endpoints) may have it.
	k8s_ctl "$(k8s_service ns3 api - :80/TCP)" >/dev/null
	topo_wait 5 eval '[ "$(vip_field "$API" backends)" = 0 ]'
	# Gone too, nothing declares the VIP: it is removed; the others stay.
	k8s_ctl "$(k8s_delete Service ns4 copy)" >/dev/null
	topo_wait 5 eval '! e2e_vip_exists "$API"'
	e2e_vip_exists "$HTTP"
	k8s_ctl "$(k8s_slice ns1 web-b web http:80/TCP,echo:7000/TCP 198.18.13.2)" \
		"$(k8s_delete Service ns3 api)" "$(k8s_delete EndpointSlice ns3 api-x)" >/dev/null
	topo_wait 5 eval '[ "$(backends "$HTTP")" = "$THREE" ]'
}

# aged OP TIME: the apply op OP with metadata.creationTimestamp TIME (a new object keeps it).
aged() {
	python3 -c '
import json, sys
op = json.loads(sys.argv[1])
op["object"]["metadata"]["creationTimestamp"] = sys.argv[2]
print(json.dumps(op))' "$1" "$2"
}

@test "first come: a Service created later cannot take a VIP, whatever its name; a refused one keeps its VIP across a restart" {
	k8s_ctl "$(aged "$(k8s_service ns5 hold 198.18.100.71 :80/TCP)" 2024-01-01T00:00:00Z)" \
		"$(k8s_slice ns5 hold-a hold :80/TCP 198.18.12.2)" >/dev/null
	started
	topo_wait 5 eval '[ "$(backends "$API")" = "198.18.12.2:80=100" ]'
	# ns0/early sorts before ns5/hold but is younger: refused, naming the holder.
	local mark id
	mark=$(log_mark)
	k8s_ctl "$(aged "$(k8s_service ns0 early 198.18.100.71 :80/TCP :81/TCP)" 2024-06-01T00:00:00Z)" \
		"$(k8s_slice ns0 early-a early :80/TCP 198.18.13.2)" >/dev/null
	one_line "$mark" "kubernetes service ns0/early refused: VIP 198\.18\.100\.71:80/tcp is kubernetes service ns5/hold's already"
	assert_equal "$(backends "$API")" "198.18.12.2:80=100"
	! e2e_vip_exists 198.18.100.71:81/tcp
	# Still so after a restart, when neither has the VIP in veerd's memory.
	e2e_veerd_stop
	mark=$(log_mark)
	started
	one_line "$mark" "kubernetes service ns0/early refused: VIP 198\.18\.100\.71:80/tcp is kubernetes service ns5/hold's already"
	assert_equal "$(backends "$API")" "198.18.12.2:80=100"
	k8s_ctl "$(k8s_delete Service ns0 early)" "$(k8s_delete EndpointSlice ns0 early-a)" >/dev/null

	# A bad endpoint address refuses ns5/hold: its last good VIP stays...
	id=$(vip_field "$API" id)
	mark=$(log_mark)
	k8s_ctl "$(k8s_slice ns5 hold-a hold :80/TCP not-an-ip)" >/dev/null
	one_line "$mark" "kubernetes service ns5/hold refused: .*'not-an-ip'"
	# ...and across a restart too, when veerd has no good value of it: the source holds.
	e2e_veerd_stop
	mark=$(log_mark)
	started
	one_line "$mark" "kubernetes service ns5/hold refused: .*'not-an-ip'"
	topo_wait 5 eval 'log_since "$mark" | grep -q "kubernetes: VIPs no longer declared are kept"'
	assert_equal "$(vip_field "$API" id)" "$id"
	assert_equal "$(backends "$API")" "198.18.12.2:80=100"
	assert_equal "$(vip_field "$API" owner)" kubernetes
	# Put right, it applies; deleted, its VIP goes (the hold is over).
	k8s_ctl "$(k8s_slice ns5 hold-a hold :80/TCP 198.18.13.2)" >/dev/null
	topo_wait 5 eval '[ "$(backends "$API")" = "198.18.13.2:80=100" ]'
	k8s_ctl "$(k8s_delete Service ns5 hold)" "$(k8s_delete EndpointSlice ns5 hold-a)" >/dev/null
	topo_wait 5 eval '! e2e_vip_exists "$API"'
	e2e_vip_exists "$HTTP"
}

@test "the annotation: more than one address of a family is refused; an IPv6 VIP with IPv4 slices only is told once" {
	started
	topo_wait 5 eval '[ "$(backends "$HTTP")" = "$THREE" ]'
	local mark
	mark=$(log_mark)
	k8s_ctl "$(k8s_service ns6 multi 198.18.100.71,198.18.100.72,198.18.100.73 :80/TCP)" >/dev/null
	one_line "$mark" "kubernetes service ns6/multi refused: annotation veer\.io/vip: more than one IPv4 address"
	! e2e_vip_exists "$API"
	k8s_ctl "$(k8s_service ns6 multi 2001:2::71 :80/TCP)" \
		"$(k8s_slice ns6 multi-a multi :80/TCP 198.18.12.2)" >/dev/null
	topo_wait 5 e2e_vip_exists "[2001:2::71]:80/tcp"
	one_line "$mark" "kubernetes service ns6/multi: annotation veer\.io/vip: 2001:2::71 has no backends: the Service has no IPv6 endpoint"
	# Told once: later events do not repeat it.
	k8s_ctl "$(k8s_slice ns6 multi-a multi :80/TCP 198.18.13.2)" >/dev/null
	k8s_ctl "$(k8s_slice ns1 web-b web http:80/TCP,echo:7000/TCP 198.18.13.2)" >/dev/null
	one_line "$mark" "has no backends: the Service has no IPv6 endpoint"
	k8s_ctl "$(k8s_delete Service ns6 multi)" "$(k8s_delete EndpointSlice ns6 multi-a)" >/dev/null
	topo_wait 5 eval '! e2e_vip_exists "[2001:2::71]:80/tcp"'
}

@test "a cluster of more than one page: veerd lists in pages of 500 and sees all of it" {
	local ops
	ops=$(python3 -c '
import json
print(",".join(json.dumps({"op": "apply", "object": {"kind": "Service",
    "metadata": {"namespace": "bulk", "name": f"s{i:04d}"},
    "spec": {"ports": [{"port": 80}]}}}) for i in range(700)))')
	k8s_ctl "$ops" >/dev/null
	# The last Service of the last page is an annotated one.
	k8s_ctl "$(k8s_service zz last 198.18.100.71 :80/TCP)" "$(k8s_slice zz last-a last :80/TCP 198.18.13.2)" >/dev/null
	local requests mark
	requests=$(wc -l <"$K8S_DIR/requests.log")
	mark=$(log_mark)
	started
	topo_wait 5 eval '[ "$(backends "$API")" = "198.18.13.2:80=100" ]'
	assert_equal "$(backends "$HTTP")" "$THREE"
	log_since "$mark" | grep -q 'listed 703 services at resourceVersion'
	# Two pages (the second with the first's continue token), then the watch.
	run bash -c "tail -n +$((requests + 1)) '$K8S_DIR/requests.log' | grep '\"path\": \"/api/v1/services\"' | grep -o '\"query\": \"[^\"]*' | sed 's/=[^&]*//g'"
	assert_output - <<'EOF'
"query": "limit
"query": "limit&continue
"query": "watch&resourceVersion&allowWatchBookmarks&timeoutSeconds
EOF
	ops=$(python3 -c '
import json
print(",".join(json.dumps({"op": "delete", "kind": "Service", "namespace": "bulk",
    "name": f"s{i:04d}"}) for i in range(700)))')
	k8s_ctl "$ops" "$(k8s_delete Service zz last)" "$(k8s_delete EndpointSlice zz last-a)" >/dev/null
	topo_wait 5 eval '! e2e_vip_exists "$API"'
}

@test "in a pod: KUBERNETES_SERVICE_HOST/PORT and the service account's token and CA; the token rotates" {
	# The service account's directory exists only in veerd's own mount namespace: a tmpfs on
	# /run (/var/run) there, holding the CA and the token as the kubelet's projected volume
	# does (a link to the token of the moment). Nothing of the host's /run changes.
	local sa=$BATS_TEST_TMPDIR/sa wrapper=$BATS_TEST_TMPDIR/veerd-in-pod cfg=$BATS_TEST_TMPDIR/pod.yaml
	mkdir -p "$sa"
	cp "$K8S_DIR/token" "$sa/token-1"
	printf '%s\n' '#!/bin/sh' \
		'exec unshare --mount --propagation private sh -c '"'"'
	mount -t tmpfs tmpfs /run &&
	mkdir -p /var/run/secrets/kubernetes.io/serviceaccount &&
	cp "$0/ca.crt" /var/run/secrets/kubernetes.io/serviceaccount/ca.crt &&
	ln -s "$1/token" /var/run/secrets/kubernetes.io/serviceaccount/token &&
	shift && exec "$@"'"'"' "$K8S_DIR" "$SA_DIR" "$REAL_VEERD" "$@"' >"$wrapper"
	chmod +x "$wrapper"
	ln -sfn token-1 "$sa/token"
	printf 'metrics: {listen: off}\nsources:\n  kubernetes: {}\n' | e2e_write_config "$cfg"
	local mark
	mark=$(log_mark)
	SA_DIR=$sa REAL_VEERD=$VEERD KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$K8S_PORT \
		VEERD=$wrapper e2e_veerd_start "$cfg"
	topo_wait 10 eval 'log_since "$mark" | grep -q "source kubernetes connected to https://127.0.0.1:19410"'
	topo_wait 5 eval '[ "$(backends "$HTTP")" = "$THREE" ]'
	log_since "$mark" | grep -q 'source kubernetes: in-cluster config'
	# A new token, the link moved to it as the kubelet does; the old one refused from now on.
	echo "pod-token-2" >"$sa/token-2"
	ln -sfn token-2 "$sa/token.new" && mv -T "$sa/token.new" "$sa/token"
	k8s_ctl '{"op": "token", "tokens": ["pod-token-2"]}' '{"op": "drop"}' \
		"$(k8s_slice ns1 web-b web http:80/TCP,echo:7000/TCP 198.18.13.2=terminating)" >/dev/null
	topo_wait 10 eval '[ "$(backends "$HTTP")" = "198.18.11.2:80=100 198.18.12.2:80=100 198.18.13.2:80=0" ]'
	run log_since "$mark"
	refute_output --partial '401 Unauthorized'
	assert_output --partial "token file /var/run/secrets/kubernetes.io/serviceaccount/token changed: using the new token"
	e2e_veerd_stop
	k8s_ctl "{\"op\": \"token\", \"tokens\": [\"$(cat "$K8S_DIR/token")\"]}" \
		"$(k8s_slice ns1 web-b web http:80/TCP,echo:7000/TCP 198.18.13.2)" >/dev/null
	# Outside a pod, without the variables: said so, once.
	mark=$(log_mark)
	e2e_veerd_start "$cfg"
	one_line "$mark" "source kubernetes lost: in-cluster config: KUBERNETES_SERVICE_HOST is not set \(not in a pod\? give sources\.kubernetes\.kubeconfig outside a cluster\)"
}

@test "RBAC: every request veerd made is allowed by deploy/rbac.yaml, every rule of it used" {
	[ -s "$K8S_DIR/requests.log" ]
	# The deployment's own check (tests/e2e/deploy_manifest.py, Debian's python3 for its
	# python3-kubernetes) on what the server logged.
	run /usr/bin/python3 "$E2E_DIR/deploy_manifest.py" rbac "$E2E_ROOT/deploy/rbac.yaml" "$K8S_DIR/requests.log"
	echo "$output"
	assert_success
	# And what veerd asked, all of it: list and watch of the two resources, cluster-wide; no
	# discovery, no other resource, no write. (Requests refused with 401 were never authorized.)
	run python3 -c '
import json, sys
seen = set()
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["status"] == 401:
        continue
    seen.add((e["method"], e["verb"] or "none", e["resource"] or e["path"], e["group"] or "core",
              e["namespace"] or "all namespaces"))
for s in sorted(seen):
    print(*s)' "$K8S_DIR/requests.log"
	assert_output - <<'EOF'
GET list endpointslices discovery.k8s.io all namespaces
GET list services core all namespaces
GET watch endpointslices discovery.k8s.io all namespaces
GET watch services core all namespaces
EOF
}
