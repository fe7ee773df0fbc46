#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Installs what veer needs to build, test, demo and benchmark (Debian packages), only what is
# missing, and makes sure /sys/fs/bpf is a bpffs.
set -euo pipefail

PKGS=(
	clang llvm make gcc pkg-config libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev
	zlib1g-dev libcap-dev libjson-c-dev libyaml-dev libhiredis-dev libmicrohttpd-dev libsystemd-dev
	libcurl4-openssl-dev libssl-dev openssl etcd-server etcd-client python3-yaml
	python3-kubernetes
	bats bats-assert bats-support iproute2 iputils-ping ethtool util-linux nftables curl python3
	redis-server redis-tools memcached python3-redis python3-pymemcache prometheus
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: need root to install packages" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
fi

# kubectl, the real client the fake API server of the Kubernetes suites is checked against:
# Debian's own when the distribution has it, else whatever repository this host has set up.
if ! command -v kubectl >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kubectl >/dev/null 2>&1 ||
		echo "deps: kubectl is not installable from this host's package sources:" \
			"tests/e2e/k8s_fake_api.bats will fail until it is installed" >&2
fi

if [ "$(id -u)" -eq 0 ] && ! stat -f -c %T /sys/fs/bpf 2>/dev/null | grep -q bpf; then
	mount -t bpf bpf /sys/fs/bpf
fi

# The Node.js clients the cache suites drive (node-redis, ioredis), pinned by the lockfile, in
# a folder of the test suite: never installed globally.
NODE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/e2e/node
if ! command -v npm >/dev/null; then
	[ "$(id -u)" -eq 0 ] || { echo "deps: need root to install nodejs and npm" >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm >/dev/null
fi
if ! cmp -s "$NODE_DIR/package-lock.json" "$NODE_DIR/node_modules/.veer-installed" 2>/dev/null; then
	npm ci --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error >/dev/null
	cp "$NODE_DIR/package-lock.json" "$NODE_DIR/node_modules/.veer-installed"
fi

