# SPDX-License-Identifier: GPL-2.0
# Shared by the Kubernetes suites and the Kubernetes benchmark: a test CA made with the openssl
# CLI, the fake API server (tests/e2e/fake_apiserver.py) started and stopped by pid, its control
# channel, and Service/EndpointSlice objects as the fake server takes them.
#
# K8S_DIR holds the CA, certificates, token files and the server's request log; K8S_PORT is the
# HTTPS port, K8S_CPORT the control port; K8S_NETNS, when set, is the network namespace
# (a /run/netns name) the server runs in and is controlled from.

K8S_HELPERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# k8s_exec CMD...: CMD in the fake server's network namespace (only the network namespace).
k8s_exec() {
	if [ -n "${K8S_NETNS:-}" ]; then
		nsenter --net="/run/netns/$K8S_NETNS" "$@"
	else
		"$@"
	fi
}

# k8s_ca DIR NAME: a CA (DIR/NAME.crt, DIR/NAME.key); with NAME=ca also the API server's
# certificate signed by it (DIR/server.crt, DIR/server.key) for 127.0.0.1 and localhost.
k8s_ca() {
	local dir=$1 name=$2
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$dir/$name.key" -out "$dir/$name.crt" -days 2 -subj "/CN=veer-test-$name" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || return 1
	[ "$name" = ca ] || return 0
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$dir/server.key" -out "$dir/server.csr" -subj /CN=kube-apiserver \
		2>/dev/null || return 1
	printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'extendedKeyUsage=serverAuth' \
		'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
		>"$dir/server.ext"
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
		-CAcreateserial -out "$dir/server.crt" -days 2 -extfile "$dir/server.ext" 2>/dev/null
}

# k8s_fake_up DIR PORT CPORT [ARGS...]: a CA (and a second, unrelated one: DIR/other.crt), a
# token (DIR/token, also the server's only accepted token) and the fake API server on
# 127.0.0.1:PORT (control 127.0.0.1:CPORT), logging requests to DIR/requests.log. Waits until
# it answers; its pid is in K8S_PID.
k8s_fake_up() {
	export K8S_DIR=$1 K8S_PORT=$2 K8S_CPORT=$3
	shift 3
	mkdir -p "$K8S_DIR" && k8s_ca "$K8S_DIR" ca && k8s_ca "$K8S_DIR" other || return 1
	head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$K8S_DIR/token"
	cp "$K8S_DIR/token" "$K8S_DIR/accepted"
	local pre=()
	[ -z "${K8S_NETNS:-}" ] || pre=(nsenter --net="/run/netns/$K8S_NETNS")
	# nsenter execs python: the pid is the server's own.
	"${pre[@]}" python3 "$K8S_HELPERS_DIR/fake_apiserver.py" --port "$K8S_PORT" \
		--control-port "$K8S_CPORT" --cert "$K8S_DIR/server.crt" --key "$K8S_DIR/server.key" \
		--token-file "$K8S_DIR/accepted" --log "$K8S_DIR/requests.log" "$@" \
		</dev/null >>"$K8S_DIR/server.out" 2>&1 3>&- &
	K8S_PID=$!
	local i
	for i in $(seq 100); do
		k8s_exec curl -s -f -o /dev/null "http://127.0.0.1:$K8S_CPORT/healthz" && return 0
		kill -0 "$K8S_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "the fake API server did not start:" >&2
	cat "$K8S_DIR/server.out" >&2
	return 1
}

# k8s_fake_down: ends the fake server k8s_fake_up started, by pid.
k8s_fake_down() {
	[ -n "${K8S_PID:-}" ] || return 0
	kill "$K8S_PID" 2>/dev/null || true
	wait "$K8S_PID" 2>/dev/null || true
	K8S_PID=
}

# k8s_ctl OP...: the ops (JSON objects, see fake_apiserver.py) applied at once; prints the
# server's answer ({"rv": N, "t_ns": T}). Fails on a refused op.
k8s_ctl() {
	local IFS=,
	k8s_exec curl -s -f -S -H 'Content-Type: application/json' --data-binary "{\"ops\": [$*]}" \
		"http://127.0.0.1:$K8S_CPORT/ops"
}

# k8s_state EXPR: EXPR (python, d = the server's /state) evaluated and printed.
k8s_state() {
	k8s_exec curl -s -f "http://127.0.0.1:$K8S_CPORT/state" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

# k8s_watches RESOURCE: how many watches of RESOURCE the server holds open.
k8s_watches() {
	k8s_state "sum(w['resource'] == '$1' for w in d['watches'])"
}

# k8s_service NS NAME VIP PORT...: an "apply" op for a Service; VIP "-" for none (no
# annotation), anything else is the veer.io/vip annotation's value as it is. PORT is
# NAME:PORT/PROTOCOL (NAME may be empty).
k8s_service() {
	python3 - "$@" <<'EOF'
import json, sys
ns, name, vip, *ports = sys.argv[1:]
spec_ports = []
for p in ports:
    pname, rest = p.split(":", 1)
    port, proto = rest.split("/")
    sp = {"port": int(port), "protocol": proto, "targetPort": int(port)}
    if pname:
        sp["name"] = pname
    spec_ports.append(sp)
md = {"name": name, "namespace": ns, "labels": {"app": name}}
if vip != "-":
    md["annotations"] = {"veer.io/vip": vip}
print(json.dumps({"op": "apply", "object": {
    "kind": "Service", "metadata": md,
    "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "selector": {"app": name},
             "ports": spec_ports}}}))
EOF
}

# k8s_slice NS NAME SERVICE PORT ENDPOINT...: an "apply" op for an EndpointSlice of SERVICE
# (label kubernetes.io/service-name). PORT is NAME:PORT/PROTOCOL (NAME may be empty), or a
# comma-separated list of them. ENDPOINT is ADDRESS[=ready|terminating|notready] (default ready).
k8s_slice() {
	python3 - "$@" <<'EOF'
import json, sys
ns, name, svc, ports, *eps = sys.argv[1:]
slice_ports = []
for p in filter(None, ports.split(",")):
    pname, rest = p.split(":", 1)
    port, proto = rest.split("/")
    sp = {"port": int(port), "protocol": proto}
    sp["name"] = pname
    slice_ports.append(sp)
endpoints = []
for e in eps:
    addr, _, state = e.partition("=")
    state = state or "ready"
    cond = {"ready": {"ready": True, "serving": True, "terminating": False},
            "terminating": {"ready": False, "serving": True, "terminating": True},
            "notready": {"ready": False, "serving": False, "terminating": False}}[state]
    endpoints.append({"addresses": [addr], "conditions": cond, "nodeName": "node1"})
family = "IPv6" if eps and ":" in eps[0].partition("=")[0] else "IPv4"
print(json.dumps({"op": "apply", "object": {
    "kind": "EndpointSlice",
    "metadata": {"name": name, "namespace": ns,
                 "labels": {"kubernetes.io/service-name": svc,
                            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
    "addressType": family, "endpoints": endpoints, "ports": slice_ports}}))
EOF
}

# k8s_delete KIND NS NAME: a "delete" op.
k8s_delete() {
	printf '{"op": "delete", "kind": "%s", "namespace": "%s", "name": "%s"}\n' "$1" "$2" "$3"
}

# k8s_kubeconfig FILE SERVER CA TOKENFILE|-token:TOKEN: a kubeconfig with one cluster, user and
# context (the current one). CA is a file path (certificate-authority).
k8s_kubeconfig() {
	local user
	if [[ $4 == -token:* ]]; then
		user="token: ${4#-token:}"
	else
		user="tokenFile: $4"
	fi
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: $2
    certificate-authority: $3
users:
- name: veerd
  user:
    $user
contexts:
- name: fake
  context:
    cluster: fake
    user: veerd
    namespace: default
current-context: fake
EOF
}
