#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# deploy/: the Kubernetes manifests, the image and what they say about veerd, checked without a
# cluster. The manifests parse and fit the API's types (python3-kubernetes' models, and
# kubectl's own decoding of the DaemonSets); what they grant and mount is what veerd uses, read
# from veerd's sources so that a change on either side fails here. veerd runs as the pod would:
# with exactly the DaemonSet's capabilities (setpriv) in a network namespace of the suite's
# whose interface is the ConfigMap's eth0, on the ConfigMap's own file laid out as the kubelet
# lays out a ConfigMap volume, probed as the kubelet probes.

load helpers

# Debian's python3 (python3-yaml, python3-kubernetes), whatever python3 comes first in PATH.
PY=/usr/bin/python3
MANIFEST=$E2E_DIR/deploy_manifest.py
DEPLOY=$E2E_ROOT/deploy

# m EXPR FILE...: EXPR over the files' documents (deploy_manifest.py eval).
m() {
	"$PY" "$MANIFEST" eval "$@"
}

# caps_kept in user/veerd/veerd.c, as the DaemonSet spells them (BPF, NET_ADMIN, ...), sorted.
caps_kept() {
	"$PY" - "$E2E_ROOT/user/veerd/veerd.c" <<'EOF'
import re, sys
src = open(sys.argv[1]).read()
body = re.search(r"caps_kept\[\]\s*=\s*\{([^}]*)\}", src).group(1)
print(" ".join(sorted(c[len("CAP_"):] for c in re.findall(r"CAP_\w+", body))))
EOF
}

# cap_names HEX: the capabilities of a /proc status mask (CapEff), named as above, sorted.
cap_names() {
	"$PY" - "$1" <<'EOF'
import re, sys
mask = int(sys.argv[1], 16)
defs = re.findall(r"#define CAP_(\w+)\s+(\d+)\s*$", open("/usr/include/linux/capability.h").read(), re.M)
print(" ".join(sorted(n for n, b in defs if mask >> int(b) & 1)))
EOF
}

# c_define FILE NAME: a string #define's value.
c_define() {
	sed -n "s/^#define $2[[:space:]]*\(.*\)$/\1/p" "$1" | tr -d '"' | sed 's/[[:space:]]*$//'
}

# metrics_listen: the metrics listen of the ConfigMap's veer.yaml.
metrics_listen() {
	m 'one("ConfigMap")["data"]["veer.yaml"]' "$DEPLOY/configmap.yaml" |
		"$PY" -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)["metrics"]["listen"])'
}

# in_ns CMD...: CMD in the suite's network namespace (nsenter keeps the host's bpffs).
in_ns() {
	nsenter --net="/run/netns/$NS" "$@"
}

# start_veerd CAPS CONFIG: veerd -d on CONFIG in the suite's namespace, with only the
# capabilities CAPS (DaemonSet names, space-separated) in every set, as a container has them.
# Waits until it runs; its pid in VEERD_PID. Fails with the log when it stops first.
start_veerd() {
	local caps mark
	caps=$(echo "$1" | tr 'A-Z' 'a-z' | sed 's/\([a-z_]\+\)/+\1/g; s/ /,/g')
	mark=$(wc -l <"$LOG")
	env -u KUBERNETES_SERVICE_HOST -u KUBERNETES_SERVICE_PORT \
		nsenter --net="/run/netns/$NS" setpriv --bounding-set="-all,$caps" --inh-caps=-all -- \
		"$VEERD" -d -f "$2" --pin-dir "$VEER_PIN_DIR" </dev/null >>"$LOG" 2>&1 3>&- &
	VEERD_PID=$!
	topo_wait 30 eval 'tail -n +$((mark + 1)) "$LOG" | grep -q "veerd: running" || ! kill -0 $VEERD_PID 2>/dev/null'
	if ! kill -0 "$VEERD_PID" 2>/dev/null || ! tail -n +$((mark + 1)) "$LOG" | grep -q "veerd: running"; then
		echo "veerd did not start:" >&2
		tail -n +$((mark + 1)) "$LOG" >&2
		return 1
	fi
}

stop_veerd() {
	[ -n "${VEERD_PID:-}" ] || return 0
	kill "$VEERD_PID" 2>/dev/null || true
	wait "$VEERD_PID" 2>/dev/null || true
	VEERD_PID=
}

# configmap_volume DIR VERSION FILE: DIR as the kubelet keeps a ConfigMap volume, with FILE as
# veer.yaml: the data in a directory of its own, the ..data link to it, veer.yaml a link
# through ..data. An update writes a new directory, renames a new link over ..data and removes
# the old directory.
configmap_volume() {
	local dir=$1 ts="..2025_01_01_00_00_0$2.00000000$2" old
	mkdir -p "$dir/$ts"
	cp "$3" "$dir/$ts/veer.yaml"
	chmod 0644 "$dir/$ts/veer.yaml"
	old=$(readlink "$dir/..data" || true)
	ln -sfn "$ts" "$dir/..data_tmp"
	mv -T "$dir/..data_tmp" "$dir/..data"
	[ -L "$dir/veer.yaml" ] || ln -s ..data/veer.yaml "$dir/veer.yaml"
	if [ -n "$old" ]; then
		rm -rf "${dir:?}/$old"
	fi
}

setup_file() {
	export NS=vdeploy$$
	export LOG=$BATS_FILE_TMPDIR/veerd.log
	: >"$LOG"
	e2e_pins_up "deploy$$" || return 1
	# The node's interface as the ConfigMap names it; a veth whose peer stays in the namespace.
	ip netns add "$NS" &&
		ip -n "$NS" link set lo up &&
		ip -n "$NS" link add eth0 type veth peer name peer0 &&
		ip -n "$NS" link set eth0 up && ip -n "$NS" link set peer0 up &&
		ip -n "$NS" addr add 198.18.53.1/24 dev eth0
}

teardown_file() {
	stop_veerd
	if [ -n "${VEER_PIN_DIR:-}" ] && [ -e "$VEER_PIN_DIR" ]; then
		in_ns "$VEERD" --cleanup --pin-dir "$VEER_PIN_DIR" >/dev/null 2>&1 || true
	fi
	ip netns del "$NS" 2>/dev/null || true
	e2e_pins_down
}

teardown() {
	stop_veerd
}

@test "every manifest parses, without a key given twice, and fits the Kubernetes API's types" {
	run "$PY" "$MANIFEST" check "$DEPLOY"/*.yaml
	echo "$output"
	assert_success
	# The checker itself refuses what it must: an unknown field, a wrong type, a key twice.
	sed 's/mountPropagation:/mountpropagation:/' "$DEPLOY/daemonset.yaml" >"$BATS_TEST_TMPDIR/a.yaml"
	sed 's/periodSeconds: 10$/periodSeconds: "10"/' "$DEPLOY/daemonset.yaml" >"$BATS_TEST_TMPDIR/b.yaml"
	sed 's/^  name: veer-config$/  name: veer-config\n  name: again/' "$DEPLOY/configmap.yaml" >"$BATS_TEST_TMPDIR/c.yaml"
	for f in a b c; do
		run "$PY" "$MANIFEST" check "$BATS_TEST_TMPDIR/$f.yaml"
		echo "$f: $output"
		assert_failure
	done
	assert_output --partial "given twice"
}

@test "kubectl decodes the DaemonSets into Kubernetes' own types and keeps every field" {
	command -v kubectl >/dev/null ||
		{ echo "kubectl is missing: scripts/deps.sh installs it" >&2; return 1; }
	local f
	for f in daemonset cleanup; do
		# --local: no server. A field the types do not have would be dropped, a value of the
		# wrong type refused; every field of the file must come back as it was (the image
		# aside, changed so that kubectl prints the object).
		kubectl set image --local -f "$DEPLOY/$f.yaml" '*=veer:decoded' -o json \
			>"$BATS_TEST_TMPDIR/$f.json"
		run "$PY" - "$DEPLOY/$f.yaml" "$BATS_TEST_TMPDIR/$f.json" <<'EOF'
import json, sys, yaml
def leaves(v, p=""):
    if isinstance(v, dict):
        for k, x in v.items():
            yield from leaves(x, f"{p}.{k}")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from leaves(x, f"{p}[{i}]")
    else:
        yield p, v
a = dict(leaves(yaml.safe_load(open(sys.argv[1]))))
b = dict(leaves(json.load(open(sys.argv[2]))))
lost = [f"{p}: {v!r} -> {b.get(p, 'missing')!r}" for p, v in a.items()
        if b.get(p, object()) != v and not p.endswith("].image")]
print("\n".join(lost) or f"{len(a)} fields kept")
sys.exit(1 if lost else 0)
EOF
		echo "$f: $output"
		assert_success
	done
}

@test "the DaemonSet: host network with the cluster's DNS, veerd's ServiceAccount, every node, one node at a time" {
	local ds="$DEPLOY/daemonset.yaml" rbac="$DEPLOY/rbac.yaml"
	assert_equal "$(m 'one("DaemonSet")["metadata"]["namespace"]' "$ds")" veer-system
	assert_equal "$(m 'pod()["hostNetwork"]' "$ds")" True
	assert_equal "$(m 'pod()["dnsPolicy"]' "$ds")" ClusterFirstWithHostNet
	assert_equal "$(m 'pod()["serviceAccountName"]' "$ds")" \
		"$(m 'one("ServiceAccount")["metadata"]["name"]' "$rbac")"
	assert_equal "$(m 'one("ServiceAccount")["metadata"]["namespace"]' "$rbac")" veer-system
	# Every taint tolerated: operator Exists, with no key and no effect.
	assert_equal "$(m 'pod()["tolerations"]' "$ds")" "[{'operator': 'Exists'}]"
	assert_equal "$(m 'one("DaemonSet")["spec"]["updateStrategy"]' "$ds")" \
		"{'type': 'RollingUpdate', 'rollingUpdate': {'maxUnavailable': 1}}"
	assert_regex "$(m 'pod()["terminationGracePeriodSeconds"]' "$ds")" '^[1-9][0-9]*$'
	# Requests for scheduling; a memory limit above the first start's tables (about 4.6 GiB
	# on the largest nodes, deploy/daemonset.yaml).
	assert_equal "$(m 'sorted(ctr("veerd")["resources"]["requests"])' "$ds")" "['cpu', 'memory']"
	assert_equal "$(m 'ctr("veerd")["resources"]["limits"]' "$ds")" "{'memory': '5Gi'}"
}

@test "the DaemonSet mounts the node's bpffs over the pin directory's parent, its cgroups, /run/veer, /var/lib/veer and the ConfigMap" {
	local ds="$DEPLOY/daemonset.yaml" pin_root run_dir config queue
	pin_root=$(c_define "$E2E_ROOT/include/veer/abi.h" VEER_PIN_ROOT)
	run_dir=$(c_define "$E2E_ROOT/user/lib/veer.h" VEER_DAEMON_RUN_DIR)
	config=$(c_define "$E2E_ROOT/user/veerd/veerd.h" VEERD_CONFIG_DEFAULT)
	assert_equal "$pin_root" /sys/fs/bpf
	assert_equal "$run_dir" /run/veer
	# "hostPath type mountPath propagation readOnly", one line per host path.
	run m '"\n".join(" ".join(str(x) for x in (v["path"], v["type"], mt["mountPath"],
		mt.get("mountPropagation"), mt.get("readOnly", False)))
		for v, mt in mounts(ctr("veerd"), "hostPath"))' "$ds"
	echo "$output"
	assert_line "$pin_root Directory $pin_root HostToContainer False"
	assert_line "/sys/fs/cgroup Directory /sys/fs/cgroup HostToContainer True"
	assert_line "$run_dir DirectoryOrCreate $run_dir None False"
	assert_line "/var/lib/veer DirectoryOrCreate /var/lib/veer None False"
	assert_equal "${#lines[@]}" 4
	# The ConfigMap, whole (no subPath: updates reach it), where veerd reads by default.
	run m '[(v["name"], mt["mountPath"], "subPath" in mt) for v, mt in mounts(ctr("veerd"), "configMap")]' "$ds"
	assert_output "[('$(m 'one("ConfigMap")["metadata"]["name"]' "$DEPLOY/configmap.yaml")', '$(dirname "$config")', False)]"
	assert_equal "$(m 'list(one("ConfigMap")["data"])' "$DEPLOY/configmap.yaml")" "['$(basename "$config")']"
	# The webhook queue's default directory is on the node, under the /var/lib/veer mount.
	queue=$(sed -n 's/.*(w->queue_dir, sizeof(w->queue_dir), "\(.*\)");$/\1/p' \
		"$E2E_ROOT/user/lib/config.c")
	echo "webhook queue: $queue"
	assert_regex "$queue" '^/var/lib/veer/'
	# The webhook example's secret_file is in the Secret's mount.
	assert_equal "$(m '[(v["secretName"], v["optional"], mt["mountPath"]) for v, mt in mounts(ctr("veerd"), "secret")]' "$ds")" \
		"[('veer-webhook', True, '/etc/veer-secrets')]"
	grep -q '^    #     secret_file: /etc/veer-secrets/hook.key$' "$DEPLOY/configmap.yaml"
}

@test "the DaemonSet's capabilities are veerd's caps_kept and SYS_ADMIN for start-up, not privileged" {
	local ds="$DEPLOY/daemonset.yaml" kept
	kept=$(caps_kept)
	echo "caps_kept: $kept"
	[ -n "$kept" ]
	assert_equal "$(m 'ctr("veerd")["securityContext"]["privileged"]' "$ds")" False
	assert_equal "$(m 'ctr("veerd")["securityContext"]["capabilities"]["drop"]' "$ds")" "['ALL']"
	assert_equal "$(m '" ".join(sorted(set(caps(ctr("veerd")).split()) - {"SYS_ADMIN"}))' "$ds")" \
		"$kept"
	assert_equal "$(m 'caps(ctr("veerd")).split().count("SYS_ADMIN")' "$ds")" 1
	# No container of either DaemonSet is privileged.
	assert_equal "$(m '[ctr(n)["securityContext"].get("privileged") for n in ("cleanup", "done")]' \
		"$DEPLOY/cleanup.yaml")" "[False, False]"
}

@test "veerd with exactly the DaemonSet's capabilities starts, restarts onto its pinned data plane, keeps caps_kept; cleanup.yaml's take it down" {
	local caps cleanup_caps pid_caps host_caps want
	caps=$(m 'caps(ctr("veerd"))' "$DEPLOY/daemonset.yaml")
	cleanup_caps=$(m 'caps(ctr("cleanup"))' "$DEPLOY/cleanup.yaml")
	cat >"$BATS_TEST_TMPDIR/veer.yaml" <<-EOF
		interfaces: [{name: eth0}]
		vips: [{address: 198.18.153.10, port: 80, backends: [{address: 198.18.53.2}]}]
		metrics: {listen: off}
	EOF
	chmod 0644 "$BATS_TEST_TMPDIR/veer.yaml"

	# What veerd keeps: caps_kept, less any this host itself does not grant (veerd keeps only
	# what it was given; a sandbox may lack SYS_RESOURCE).
	host_caps=$(cap_names "$(awk '/^CapBnd:/ {print $2}' /proc/self/status)")
	want=$(comm -12 <(caps_kept | tr ' ' '\n' | sort) <(echo "$host_caps" | tr ' ' '\n' | sort) |
		xargs)
	echo "veerd should keep: $want (caps_kept: $(caps_kept))"

	start_veerd "$caps" "$BATS_TEST_TMPDIR/veer.yaml"
	pid_caps=$(cap_names "$(awk '/^CapEff:/ {print $2}' "/proc/$VEERD_PID/status")")
	assert_equal "$pid_caps" "$want"
	assert_equal "$(cap_names "$(awk '/^CapPrm:/ {print $2}' "/proc/$VEERD_PID/status")")" "$want"
	run in_ns "$VEER" status
	assert_output --regexp 'eth0 +(tc|xdp)'
	stop_veerd

	# A pod restart: the programs are attached and pinned; veerd adopts them.
	start_veerd "$caps" "$BATS_TEST_TMPDIR/veer.yaml"
	run "$VEER" -j vip list
	assert_output --partial 198.18.153.10
	stop_veerd

	run in_ns setpriv --bounding-set="-all,$(echo "$cleanup_caps" | tr 'A-Z ' 'a-z,' | sed 's/\([a-z_]\+\)/+\1/g')" \
		--inh-caps=-all -- "$VEERD" --cleanup --pin-dir "$VEER_PIN_DIR"
	echo "$output"
	assert_success
	assert_output --partial "detached from 1 interface"
	run in_ns "$VEER" status
	refute_output --regexp 'eth0 +(tc|xdp)'
	[ ! -e "$VEER_PIN_DIR" ]
}

@test "the probes ask /healthz and /readyz at the ConfigMap's metrics listen, from the node (host network)" {
	local listen host port
	listen=$(metrics_listen)
	host=${listen%:*}
	port=${listen##*:}
	echo "metrics listen: $listen"
	run m '[(p, ctr("veerd")[p]["httpGet"]) for p in ("startupProbe", "livenessProbe", "readinessProbe")]' \
		"$DEPLOY/daemonset.yaml"
	echo "$output"
	local want="{'host': '$host', 'path': '/healthz', 'port': $port}"
	local ready="{'host': '$host', 'path': '/readyz', 'port': $port}"
	assert_output "[('startupProbe', $want), ('livenessProbe', $want), ('readinessProbe', $ready)]"
	assert_equal "$(m '[(p["name"], p["containerPort"]) for p in ctr("veerd")["ports"]]' "$DEPLOY/daemonset.yaml")" \
		"[('metrics', $port)]"
}

@test "rbac.yaml grants exactly get, list and watch on EndpointSlices and Services, to veerd's ServiceAccount" {
	local rbac="$DEPLOY/rbac.yaml"
	assert_equal "$(m '[d["kind"] for d in docs]' "$rbac")" \
		"['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding']"
	run m '"\n".join(str(r) for r in one("ClusterRole")["rules"])' "$rbac"
	echo "$output"
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 \
		"{'apiGroups': ['discovery.k8s.io'], 'resources': ['endpointslices'], 'verbs': ['get', 'list', 'watch']}"
	assert_line --index 1 "{'apiGroups': [''], 'resources': ['services'], 'verbs': ['get', 'list', 'watch']}"
	assert_equal "$(m 'one("ClusterRoleBinding")["roleRef"]' "$rbac")" \
		"{'apiGroup': 'rbac.authorization.k8s.io', 'kind': 'ClusterRole', 'name': '$(m 'one("ClusterRole")["metadata"]["name"]' "$rbac")'}"
	assert_equal "$(m 'one("ClusterRoleBinding")["subjects"]' "$rbac")" \
		"[{'kind': 'ServiceAccount', 'name': 'veerd', 'namespace': 'veer-system'}]"
	# Every namespaced object is in the one namespace the file makes.
	assert_equal "$(m 'sorted({d["metadata"].get("namespace") for d in docs if d["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding")})' \
		"$rbac" "$DEPLOY/configmap.yaml" "$DEPLOY/daemonset.yaml" "$DEPLOY/cleanup.yaml")" \
		"['$(m 'one("Namespace")["metadata"]["name"]' "$rbac")']"
}

@test "the ConfigMap's veer.yaml passes veer apply -n and veerd -n" {
	m 'one("ConfigMap")["data"]["veer.yaml"]' "$DEPLOY/configmap.yaml" >"$BATS_TEST_TMPDIR/veer.yaml"
	chmod 0644 "$BATS_TEST_TMPDIR/veer.yaml"
	run "$VEER" apply -n "$BATS_TEST_TMPDIR/veer.yaml"
	echo "$output"
	assert_success
	run "$VEERD" -n -f "$BATS_TEST_TMPDIR/veer.yaml"
	echo "$output"
	assert_success
	# The webhook the file shows in comments, taken in: its keys are veer's too.
	sed '/^# webhooks:$/,$ s/^# //' "$BATS_TEST_TMPDIR/veer.yaml" >"$BATS_TEST_TMPDIR/hook.yaml"
	grep -qx 'webhooks:' "$BATS_TEST_TMPDIR/hook.yaml"
	grep -qx '    secret_file: /etc/veer-secrets/hook.key' "$BATS_TEST_TMPDIR/hook.yaml"
	run "$VEER" apply -n "$BATS_TEST_TMPDIR/hook.yaml"
	echo "$output"
	assert_success
}

@test "veerd on the ConfigMap's file in a ConfigMap volume: the kubelet's probes answer, an update applies" {
	local listen vol="$BATS_TEST_TMPDIR/etc-veer"
	listen=$(metrics_listen)
	m 'one("ConfigMap")["data"]["veer.yaml"]' "$DEPLOY/configmap.yaml" >"$BATS_TEST_TMPDIR/v1.yaml"
	# The same file with one VIP more, as `kubectl apply` of an edited ConfigMap gives it.
	sed 's/^vips: \[\]$/vips: [{address: 198.18.154.10, port: 80, backends: [{address: 198.18.53.2}]}]/' \
		"$BATS_TEST_TMPDIR/v1.yaml" >"$BATS_TEST_TMPDIR/v2.yaml"
	run diff "$BATS_TEST_TMPDIR/v1.yaml" "$BATS_TEST_TMPDIR/v2.yaml"
	assert_failure
	configmap_volume "$vol" 1 "$BATS_TEST_TMPDIR/v1.yaml"

	# The namespace is the node: its loopback holds the ConfigMap's listen address and port
	# for this veerd alone, so the port cannot meet another test's.
	start_veerd "$(m 'caps(ctr("veerd"))' "$DEPLOY/daemonset.yaml")" "$vol/veer.yaml"
	topo_wait 10 in_ns curl -sf -o /dev/null "http://$listen/healthz"
	run in_ns curl -sf "http://$listen/healthz"
	assert_output ok
	run "$VEER" -j vip list
	refute_output --partial 198.18.154.10

	configmap_volume "$vol" 2 "$BATS_TEST_TMPDIR/v2.yaml"
	topo_wait 10 eval '"$VEER" -j vip list | grep -q 198.18.154.10'
	run "$VEER" -j vip list
	assert_output --partial 198.18.154.10
	grep -qF "reloaded $vol/veer.yaml (file changed)" "$LOG"
	# A SIGHUP re-reads the same path: the link, now through the new directory.
	kill -HUP "$VEERD_PID"
	topo_wait 10 grep -qF "reloaded $vol/veer.yaml (SIGHUP)" "$LOG"
	run in_ns curl -sf "http://$listen/healthz"
	assert_output ok
}

@test "the Dockerfile: veerd -d on the ConfigMap's file; the runtime stage installs what veer and veerd link, the build stage what they build with" {
	local df="$DEPLOY/Dockerfile" bin lib path pkg
	# stage N: the packages apt-get installs in the Dockerfile's Nth stage (1, 2).
	stage() {
		"$PY" - "$df" "$1" <<-'EOF'
			import sys
			text = open(sys.argv[1]).read().replace("\\\n", " ")
			stage = text.split("\nFROM ")[int(sys.argv[2])]
			for line in stage.splitlines():
			    if "apt-get install" in line:
			        words = line.split("apt-get install", 1)[1].split("&&")[0].split()
			        print("\n".join(w for w in words if not w.startswith("-")))
		EOF
	}
	assert_equal "$(grep -c '^FROM ' "$df")" 2
	run "$PY" -c '
import json, sys
lines = [l for l in open(sys.argv[1]).read().split("\nFROM ")[-1].splitlines() if l.startswith("ENTRYPOINT ")]
print(json.loads(lines[-1][len("ENTRYPOINT "):]))' "$df"
	assert_output "['/usr/local/sbin/veerd', '-d', '-f', '$(c_define "$E2E_ROOT/user/veerd/veerd.h" VEERD_CONFIG_DEFAULT)']"
	grep -q '^COPY --from=build /out/usr/local/sbin/veer /out/usr/local/sbin/veerd /usr/local/sbin/$' "$df"
	grep -q '^COPY --from=build /out/usr/local/share/man/man8/ ' "$df"
	grep -q 'make BUILD=/build install DESTDIR=/out PREFIX=/usr/local' "$df"
	stage 2 >"$BATS_TEST_TMPDIR/runtime"
	stage 1 >"$BATS_TEST_TMPDIR/build"
	[ -s "$BATS_TEST_TMPDIR/runtime" ] && [ -s "$BATS_TEST_TMPDIR/build" ]

	# Every library the binaries link by name (not what those libraries pull in, which their
	# packages depend on), by its Debian package; libc6 is in every Debian image.
	for bin in "$E2E_ROOT/build/veer" "$E2E_ROOT/build/veerd"; do
		for lib in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			path=$(ldd "$bin" | awk -v l="$lib" '$1 == l {print $3}')
			pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null ||
				dpkg -S "/usr$path")
			pkg=${pkg%%:*}
			echo "$(basename "$bin"): $lib -> $pkg"
			[ "$pkg" = libc6 ] || grep -qx "$pkg" "$BATS_TEST_TMPDIR/runtime" ||
				{ echo "the runtime stage lacks $pkg ($lib)" >&2; return 1; }
		done
	done

	# Every library the Makefile links (-lNAME), by the package of its libNAME.so.
	for lib in $(make -s --no-print-directory -C "$E2E_ROOT" \
		--eval 'print-libs: ; @echo $(LDLIBS) $(VEERD_LDLIBS)' print-libs); do
		path=$(realpath -s "$(gcc -print-file-name="lib${lib#-l}.so")")
		pkg=$(dpkg -S "$path")
		pkg=${pkg%%:*}
		echo "build: $lib -> $pkg"
		grep -qx "$pkg" "$BATS_TEST_TMPDIR/build" ||
			{ echo "the build stage lacks $pkg ($lib)" >&2; return 1; }
	done
	# And what builds the BPF objects and skeletons.
	for pkg in clang llvm bpftool make gcc; do
		grep -qx "$pkg" "$BATS_TEST_TMPDIR/build"
	done
}

@test "deploy_manifest.py rbac: requests the ClusterRole grants pass, any other fails, and so does a rule nothing used" {
	local log="$BATS_TEST_TMPDIR/requests.log"
	# Lines as tests/e2e/fake_apiserver.py logs them: what veerd's Kubernetes source asks.
	cat >"$log" <<-'EOF2'
		{"method": "GET", "path": "/api", "verb": null, "resource": null, "group": null}
		{"method": "GET", "path": "/apis/discovery.k8s.io/v1/endpointslices", "verb": "list", "resource": "endpointslices", "group": "discovery.k8s.io"}
		{"method": "GET", "path": "/apis/discovery.k8s.io/v1/endpointslices", "verb": "watch", "resource": "endpointslices", "group": "discovery.k8s.io"}
		{"method": "GET", "path": "/api/v1/services", "verb": "list", "resource": "services", "group": ""}
		{"method": "GET", "path": "/api/v1/namespaces/web/services/front", "verb": "get", "resource": "services", "group": ""}
	EOF2
	run "$PY" "$MANIFEST" rbac "$DEPLOY/rbac.yaml" "$log"
	echo "$output"
	assert_success
	cp "$log" "$log.more"
	echo '{"method": "PATCH", "path": "/api/v1/namespaces/web/services/front", "verb": "patch", "resource": "services", "group": ""}' >>"$log.more"
	run "$PY" "$MANIFEST" rbac "$DEPLOY/rbac.yaml" "$log.more"
	assert_failure
	assert_output --partial "patch services (core) is not granted"
	grep -v endpointslices "$log" >"$log.less"
	run "$PY" "$MANIFEST" rbac "$DEPLOY/rbac.yaml" "$log.less"
	assert_failure
	assert_output --partial "rule 0 (endpointslices) grants what no request used"
}
