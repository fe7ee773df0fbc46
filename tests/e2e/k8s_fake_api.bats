#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# The fake Kubernetes API server the veerd suites use (fake_apiserver.py) checked against the
# real client: kubectl lists, gets and watches EndpointSlices and Services from it over TLS with
# a bearer token, sees ADDED/MODIFIED/DELETED as they happen, is refused with a wrong token or
# CA; a stale resourceVersion is answered 410 Gone; bookmarks go to watches that allow them;
# the request log names each request's verb and resource as RBAC sees them.

load helpers
load k8s_helpers

setup_file() {
	command -v kubectl >/dev/null ||
		{ echo "kubectl is missing: scripts/deps.sh installs it" >&2; return 1; }
	k8s_fake_up "$BATS_FILE_TMPDIR/k8s" 19400 19401 || return 1
	k8s_ctl "$(k8s_service ns1 web 198.18.100.60 http:80/TCP dns:53/UDP)" \
		"$(k8s_slice ns1 web-a web http:80/TCP,dns:53/UDP 198.18.11.2 198.18.12.2=terminating)" \
		"$(k8s_slice ns1 web-b web http:80/TCP,dns:53/UDP 198.18.13.2)" \
		"$(k8s_service ns2 api - grpc:9000/TCP)" \
		"$(k8s_slice ns2 api-a api grpc:9000/TCP 2001:2:0:11::2)" >/dev/null
}

teardown_file() {
	k8s_fake_down
}

teardown() {
	if [ -n "${KPID:-}" ]; then
		kill "$KPID" 2>/dev/null || true
		wait "$KPID" 2>/dev/null || true
		KPID=
	fi
}

# kc ARGS...: kubectl against the fake server with the suite's token and CA.
kc() {
	kubectl --server "https://127.0.0.1:$K8S_PORT" --token "$(cat "$K8S_DIR/token")" \
		--certificate-authority "$K8S_DIR/ca.crt" --request-timeout 10s "$@"
}

@test "kubectl lists EndpointSlices and Services, cluster-wide and per namespace" {
	run --separate-stderr kc get endpointslices -A -o json
	assert_success
	run e2e_json "sorted((i['metadata']['namespace'], i['metadata']['name'], i['kind'],
		[a for e in i['endpoints'] for a in e['addresses']],
		[e['conditions']['terminating'] for e in i['endpoints']]) for i in d['items'])" <<<"$output"
	assert_output "[('ns1', 'web-a', 'EndpointSlice', ['198.18.11.2', '198.18.12.2'], [False, True]), ('ns1', 'web-b', 'EndpointSlice', ['198.18.13.2'], [False]), ('ns2', 'api-a', 'EndpointSlice', ['2001:2:0:11::2'], [False])]"

	run --separate-stderr kc get services -A
	assert_success
	assert_line --regexp '^NAMESPACE +NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE$'
	assert_line --regexp '^ns1 +web +ClusterIP +10\.96\.0\.10 +<none> +80/TCP,53/UDP +[0-9]+s$'
	assert_line --regexp '^ns2 +api +ClusterIP'

	run --separate-stderr kc get services -n ns2 -o json
	assert_success
	run e2e_json "[(i['metadata']['name'], i['metadata'].get('annotations')) for i in d['items']]" <<<"$output"
	assert_output "[('api', None)]"

	run --separate-stderr kc get service -n ns1 web -o jsonpath='{.metadata.annotations.veer\.io/vip} {.spec.ports[1].protocol}'
	assert_success
	assert_output "198.18.100.60 UDP"

	run --separate-stderr kc get service -n ns1 nosuch
	assert_failure
	assert_equal "$stderr" 'Error from server (NotFound): services "nosuch" not found'
}

@test "kubectl lists in pages (limit, continue); a continue token older than a compaction gets 410" {
	run --separate-stderr kc get services,endpointslices -A --chunk-size 1 -o name
	assert_success
	assert_output - <<'EOF'
service/web
service/api
endpointslice.discovery.k8s.io/web-a
endpointslice.discovery.k8s.io/web-b
endpointslice.discovery.k8s.io/api-a
EOF
	grep -Eq '"query": "continue=[0-9a-f]+&limit=1&timeout=10s"' "$K8S_DIR/requests.log"
	local token
	token=$(kc get --raw '/apis/discovery.k8s.io/v1/endpointslices?limit=2' | e2e_json "d['metadata']['continue']")
	k8s_ctl '{"op": "compact"}' >/dev/null
	run --separate-stderr kc get --raw "/apis/discovery.k8s.io/v1/endpointslices?limit=2&continue=$token"
	assert_failure
	assert_equal "$stderr" "Error from server (Expired): The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."
}

@test "kubectl watches: ADDED, then MODIFIED and DELETED as the server emits them; a dropped watch ends it" {
	local out=$BATS_TEST_TMPDIR/watch.json
	kc get endpointslices -A --watch -o json --output-watch-events >"$out" 2>"$out.err" 3>&- &
	KPID=$!
	topo_wait 10 eval '[ "$(k8s_watches endpointslices)" -ge 1 ]'
	topo_wait 5 eval '[ "$(grep -Ec "\"type\": ?\"ADDED\"" "$out")" -eq 3 ]'
	k8s_ctl "$(k8s_slice ns1 web-b web http:80/TCP,dns:53/UDP 198.18.13.2=terminating)" >/dev/null
	k8s_ctl "$(k8s_delete EndpointSlice ns2 api-a)" >/dev/null
	topo_wait 5 grep -Eq '"type": ?"DELETED"' "$out"
	run e2e_json "[(e['type'], e['object']['metadata']['name'],
		[x['conditions']['terminating'] for x in e['object']['endpoints']])
		for e in d]" < <(python3 -c '
import json, sys
dec, s, out = json.JSONDecoder(), open(sys.argv[1]).read(), []
i = 0
while i < len(s):
    while i < len(s) and s[i].isspace(): i += 1
    if i == len(s): break
    o, i = dec.raw_decode(s, i)
    out.append(o)
print(json.dumps(out))' "$out")
	assert_output "[('ADDED', 'web-a', [False, True]), ('ADDED', 'web-b', [False]), ('ADDED', 'api-a', [False]), ('MODIFIED', 'web-b', [True]), ('DELETED', 'api-a', [False])]"

	# The server ends the watch: kubectl's get --watch does not retry, it exits.
	k8s_ctl '{"op": "drop"}' >/dev/null
	topo_wait 5 eval '! kill -0 $KPID 2>/dev/null'
	wait "$KPID"
	KPID=
	# Put back what the test changed, for the tests after it.
	k8s_ctl "$(k8s_slice ns1 web-b web http:80/TCP,dns:53/UDP 198.18.13.2)" \
		"$(k8s_slice ns2 api-a api grpc:9000/TCP 2001:2:0:11::2)" >/dev/null
}

@test "a watch from a compacted resourceVersion gets 410 Gone: an ERROR event, or a plain 410" {
	local old rv
	old=$(kc get --raw /apis/discovery.k8s.io/v1/endpointslices | e2e_json "d['metadata']['resourceVersion']")
	# Watches from the current resourceVersion are fine, however old it gets while nothing moves.
	run --separate-stderr kc get --raw "/apis/discovery.k8s.io/v1/endpointslices?watch=1&resourceVersion=$old&timeoutSeconds=1"
	assert_success
	assert_output ""
	k8s_ctl '{"op": "compact"}' >/dev/null
	rv=$(k8s_state "d['compacted']")
	(( rv > old ))

	# As the real server does it: a 200 stream whose one event is an ERROR with a 410 Status.
	run --separate-stderr kc get --raw "/apis/discovery.k8s.io/v1/endpointslices?watch=1&resourceVersion=$old"
	assert_success
	run e2e_json "(d['type'], d['object']['kind'], d['object']['code'], d['object']['reason'], d['object']['message'])" <<<"$output"
	assert_output "('ERROR', 'Status', 410, 'Expired', 'too old resource version: $old ($rv)')"

	# The other form: the HTTP status itself, which kubectl reports as such.
	k8s_ctl '{"op": "gone", "mode": "http"}' >/dev/null
	run --separate-stderr kc get --raw "/apis/discovery.k8s.io/v1/endpointslices?watch=1&resourceVersion=$old"
	k8s_ctl '{"op": "gone", "mode": "event"}' >/dev/null
	assert_failure
	assert_equal "$stderr" "Error from server (Expired): too old resource version: $old ($rv)"

	# A re-list gives a resourceVersion that can be watched from.
	rv=$(kc get --raw /apis/discovery.k8s.io/v1/endpointslices | e2e_json "d['metadata']['resourceVersion']")
	run --separate-stderr kc get --raw "/apis/discovery.k8s.io/v1/endpointslices?watch=1&resourceVersion=$rv&timeoutSeconds=1"
	assert_success
	assert_output ""
}

@test "bookmarks go to watches that allow them, with the current resourceVersion" {
	local with=$BATS_TEST_TMPDIR/with without=$BATS_TEST_TMPDIR/without rv
	rv=$(kc get --raw /api/v1/services | e2e_json "d['metadata']['resourceVersion']")
	kc get --raw "/api/v1/services?watch=1&resourceVersion=$rv&allowWatchBookmarks=true&timeoutSeconds=3" >"$with" 3>&- &
	KPID=$!
	kc get --raw "/api/v1/services?watch=1&resourceVersion=$rv&timeoutSeconds=3" >"$without" 3>&- &
	local other=$!
	topo_wait 5 eval '[ "$(k8s_watches services)" -eq 2 ]'
	k8s_ctl '{"op": "bookmark"}' >/dev/null
	wait "$KPID"
	KPID=
	wait "$other"
	run e2e_json "(d['type'], d['object']['kind'], d['object']['metadata']['resourceVersion'])" <"$with"
	assert_output "('BOOKMARK', 'Service', '$(k8s_state "d['rv']")')"
	assert_equal "$(wc -c <"$without")" 0
}

@test "a wrong token gets 401; a rotated token takes effect at once" {
	local old new
	run --separate-stderr kubectl --server "https://127.0.0.1:$K8S_PORT" --token nottheone \
		--certificate-authority "$K8S_DIR/ca.crt" get services -A
	assert_failure
	assert_equal "${stderr_lines[-1]}" "error: You must be logged in to the server (Unauthorized)"
	grep -q '"status": 401' "$K8S_DIR/requests.log"

	old=$(cat "$K8S_DIR/token")
	new=rotated-$RANDOM$RANDOM
	k8s_ctl "{\"op\": \"token\", \"tokens\": [\"$new\"]}" >/dev/null
	run --separate-stderr kc get services -A
	assert_failure
	assert_equal "${stderr_lines[-1]}" "error: You must be logged in to the server (Unauthorized)"
	echo "$new" >"$K8S_DIR/token"
	run --separate-stderr kc get services -A
	assert_success
	assert_line --regexp '^ns1 +web '
	[ "$old" != "$new" ]
}

@test "a client that does not trust the server's CA refuses it" {
	run --separate-stderr kubectl --server "https://127.0.0.1:$K8S_PORT" --token "$(cat "$K8S_DIR/token")" \
		--certificate-authority "$K8S_DIR/other.crt" get services -A
	assert_failure
	assert_regex "${stderr_lines[-1]}" 'tls: failed to verify certificate: x509: certificate signed by unknown authority'
}

@test "the request log names each API request's verb, resource and group" {
	run python3 -c '
import json, sys
seen = set()
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["resource"] and e["status"] == 200:
        seen.add((e["verb"], e["resource"], e["group"], e["namespace"] or "*"))
for s in sorted(seen):
    print(*s)' "$K8S_DIR/requests.log"
	assert_output - <<'EOF'
get namespaces  *
get services  ns1
list endpointslices discovery.k8s.io *
list services  *
list services  ns2
watch endpointslices discovery.k8s.io *
watch services  *
EOF
}
