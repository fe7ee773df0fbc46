#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# veerd's /metrics: veerd runs on a config file in the veer node's namespace and serves the
# Prometheus text format on its loopback; promtool accepts it, and a real Prometheus server
# scraping it every second reports the same per-VIP packet count as `veer -j stats`. Counters
# never go backwards when a VIP is deleted and added again.

load helpers

VIP=198.18.100.40:80/tcp
CLI_VIP=198.18.100.41:80/tcp
METRICS=127.0.0.1:9464
PROM=127.0.0.1:9490

# The veerd under test: a copy taken once, as helpers.bash does for veer.
veerd_bin() {
	if [ ! -x "$BATS_RUN_TMPDIR/veerd" ]; then
		cp "$E2E_ROOT/build/veerd" "$BATS_RUN_TMPDIR/veerd.$$" &&
			mv "$BATS_RUN_TMPDIR/veerd.$$" "$BATS_RUN_TMPDIR/veerd"
	fi
	echo "$BATS_RUN_TMPDIR/veerd"
}

# config BACKEND...: the config veerd reads, with the VIP's backends (addresses).
config() {
	local be
	{
		echo "interfaces:"
		for i in l0 l1 l2 l3; do
			echo "  - name: $i"
		done
		echo "vips:"
		echo "  - address: ${VIP%%:*}"
		echo "    port: 80"
		echo "    protocol: tcp"
		echo "    backends:"
		for be in "$@"; do
			echo "      - address: $be"
		done
		echo "metrics:"
		echo "  listen: $METRICS"
	} >"$CONFIG.tmp"
	chmod 0644 "$CONFIG.tmp"
	mv "$CONFIG.tmp" "$CONFIG"
}

setup_file() {
	export TOPO=metrics$$
	export CONFIG=$BATS_FILE_TMPDIR/veer.yaml
	e2e_pins_up "$TOPO" && topo_up && topo_servers || return 1
	config 198.18.11.2 198.18.12.2

	nsenter --net="/run/netns/$(ns lb)" "$(veerd_bin)" -d -f "$CONFIG" \
		</dev/null >"$BATS_FILE_TMPDIR/veerd.log" 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/veerd.pid"
	if ! topo_wait 20 in_ns lb curl -sf -o /dev/null "http://$METRICS/healthz"; then
		echo "veerd did not serve /healthz; its log:" >&2
		cat "$BATS_FILE_TMPDIR/veerd.log" >&2
		return 1
	fi

	mkdir -p "$BATS_FILE_TMPDIR/tsdb"
	cat >"$BATS_FILE_TMPDIR/prometheus.yml" <<-EOF
		global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
		scrape_configs:
		  - job_name: veerd
		    static_configs: [{targets: ['$METRICS']}]
	EOF
	TOPO_BG_LOG=$BATS_FILE_TMPDIR/prometheus.log topo_bg lb /usr/bin/prometheus \
		--config.file="$BATS_FILE_TMPDIR/prometheus.yml" \
		--storage.tsdb.path="$BATS_FILE_TMPDIR/tsdb" --web.listen-address="$PROM"
	echo "$TOPO_BG_PID" >"$BATS_FILE_TMPDIR/prometheus.pid"
	if ! topo_wait 60 in_ns lb curl -sf -o /dev/null "http://$PROM/-/ready"; then
		echo "prometheus is not ready; its log:" >&2
		tail -20 "$BATS_FILE_TMPDIR/prometheus.log" >&2
		return 1
	fi
}

teardown_file() {
	local f pid
	for f in prometheus veerd; do
		pid=$(cat "$BATS_FILE_TMPDIR/$f.pid" 2>/dev/null) || continue
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	e2e_vip_del "$CLI_VIP"
	e2e_vip_del "$VIP"
	topo_down
	e2e_pins_down
	rm -f "/run/veer/veerd${VEER_PIN_DIR//\//_}.lock"
}

teardown() {
	if [ -n "${HOLD_PID:-}" ]; then
		kill "$HOLD_PID" 2>/dev/null || true
		wait "$HOLD_PID" 2>/dev/null || true
	fi
}

scrape() {
	in_ns lb curl -sf "http://$METRICS/metrics"
}

# sample SERIES: the value of one series (name and labels as the exposition writes them).
sample() {
	scrape | awk -v s="$1" '$1 == s { print $2; found = 1 } END { exit !found }'
}

# prom_query EXPR: the value of an instant query's first result, or nothing.
prom_query() {
	in_ns lb curl -sf -G "http://$PROM/api/v1/query" --data-urlencode "query=$1" |
		e2e_json "d['data']['result'][0]['value'][1] if d['data']['result'] else ''"
}

# prom_has EXPR WANT: Prometheus answers EXPR with WANT (compared as numbers).
prom_has() {
	local got
	got=$(prom_query "$1") && [ -n "$got" ] && python3 -c \
		'import sys; sys.exit(float(sys.argv[1]) != float(sys.argv[2]))' "$got" "$2"
}

@test "veerd serves /metrics in the Prometheus text format: promtool check metrics passes" {
	run bash -c 'set -o pipefail; ip netns exec "$1" curl -sf "http://$2/metrics" |
		promtool check metrics' - "$(ns lb)" "$METRICS"
	echo "$output"
	assert_success
	run scrape
	assert_line --regexp '^# TYPE veer_vip_packets_total counter$'
	assert_line --regexp "^veer_vip_packets_total\{vip=\"$VIP\"\} [0-9]+$"
	assert_line "veer_state_readable 1"
}

@test "/healthz answers ok; other paths are not found and other methods not allowed" {
	run in_ns lb curl -s "http://$METRICS/healthz"
	assert_output "ok"
	run in_ns lb curl -s -o /dev/null -w '%{http_code}' "http://$METRICS/"
	assert_output 404
	run in_ns lb curl -s -o /dev/null -w '%{http_code}' -X POST "http://$METRICS/metrics"
	assert_output 405
}

@test "every metric family of docs/METRICS.md but the cache's is served" {
	local text name missing=()
	text=$(scrape)
	for name in $(sed -n 's/^| `\(veer_[a-z_]*\)`.*/\1/p' "$E2E_ROOT/docs/METRICS.md"); do
		[[ $name == veer_cache_* ]] && continue
		grep -q "^# TYPE $name " <<<"$text" || missing+=("$name")
	done
	[ "$(sed -n 's/^| `\(veer_[a-z_]*\)`.*/\1/p' "$E2E_ROOT/docs/METRICS.md" | wc -l)" -ge 20 ] ||
		fail "docs/METRICS.md lists too few metrics"
	[ ${#missing[@]} -eq 0 ] || fail "not served: ${missing[*]}"
}

@test "the config's VIP and backends are there, up and weighted" {
	assert_equal "$(sample "veer_vip_backends{vip=\"$VIP\"}")" 2
	for be in 198.18.11.2 198.18.12.2; do
		assert_equal "$(sample "veer_backend_up{vip=\"$VIP\",backend=\"$be:80\"}")" 1
		assert_equal "$(sample "veer_backend_weight{vip=\"$VIP\",backend=\"$be:80\"}")" 100
	done
	(($(sample veer_reconcile_runs_total) >= 1)) || fail "no reconcile counted"
	assert_equal "$(sample veer_reconcile_errors_total)" 0
	run python3 -c 'import sys, time; sys.exit(abs(time.time() - float(sys.argv[1])) > 600)' \
		"$(sample veer_reconcile_last_success_timestamp_seconds)"
	assert_success
}

@test "a real Prometheus scraping veerd reports the per-VIP packet count of veer -j stats" {
	e2e_get 40 "http://${VIP%%:*}/" >"$BATS_TEST_TMPDIR/answers"
	assert_equal "$(e2e_count "$BATS_TEST_TMPDIR/answers" FAIL)" 0
	packets=$(e2e_stats_vip "$VIP" "v['packets']")
	((packets >= 40 * 5)) || fail "only $packets packets counted for 40 requests"
	query="veer_vip_packets_total{vip=\"$VIP\"}"
	topo_wait 30 prom_has "$query" "$packets" ||
		fail "Prometheus says $(prom_query "$query"), veer -j stats $packets"
	# The traffic had stopped: the count it matched is the final one.
	assert_equal "$(e2e_stats_vip "$VIP" "v['packets']")" "$packets"
	# Per backend likewise, summed.
	sum=$(e2e_stats_vip "$VIP" "sum(b['packets'] for b in v['backend_stats'])")
	topo_wait 10 prom_has "sum(veer_backend_packets_total{vip=\"$VIP\"})" "$sum" ||
		fail "Prometheus's backend sum $(prom_query "sum(veer_backend_packets_total{vip=\"$VIP\"})"), veer's $sum"
}

@test "a connection held open counts as an active flow of its VIP and of its backend" {
	in_ns client bash -c "exec 3<>/dev/tcp/${VIP%%:*}/80 && exec sleep 60" </dev/null &
	HOLD_PID=$!
	topo_wait 10 eval '(( $(sample "veer_vip_active_flows{vip=\"$VIP\"}") >= 1 ))' ||
		fail "no active flow for $VIP"
	total=0
	for be in 198.18.11.2 198.18.12.2; do
		n=$(sample "veer_backend_active_flows{vip=\"$VIP\",backend=\"$be:80\"}")
		total=$((total + n))
	done
	assert_equal "$total" "$(sample "veer_vip_active_flows{vip=\"$VIP\"}")"
}

@test "counters never go backwards when a VIP is deleted and added again" {
	e2e_vip_new "$CLI_VIP" 198.18.11.2
	e2e_get 10 "http://${CLI_VIP%%:*}/" >/dev/null
	vip_series="veer_vip_packets_total{vip=\"$CLI_VIP\"}"
	be_series="veer_backend_packets_total{vip=\"$CLI_VIP\",backend=\"198.18.11.2:80\"}"
	before=$(e2e_stats_vip "$CLI_VIP" "v['packets']")
	topo_wait 30 prom_has "$vip_series" "$before" || fail "Prometheus never saw $before"
	be_before=$(sample "$be_series")

	e2e_vip_new "$CLI_VIP" 198.18.11.2 # deleted and made again: the kernel's counters restart
	assert_equal "$(e2e_stats_vip "$CLI_VIP" "v['packets']")" 0
	assert_equal "$(sample "$vip_series")" "$before"
	assert_equal "$(sample "$be_series")" "$be_before"

	e2e_get 5 "http://${CLI_VIP%%:*}/" >/dev/null
	after=$(e2e_stats_vip "$CLI_VIP" "v['packets']")
	((after > 0)) || fail "no packets after the re-add"
	assert_equal "$(sample "$vip_series")" $((before + after))
	topo_wait 30 prom_has "$vip_series" $((before + after)) ||
		fail "Prometheus says $(prom_query "$vip_series"), want $((before + after))"
	# Prometheus saw no counter reset in the series.
	assert_equal "$(prom_query "resets(${vip_series}[5m])")" 0
	assert_equal "$(prom_query "resets(${be_series}[5m])")" 0
}

@test "a good config edit and a broken one are counted as accepted and refused reloads" {
	accepted=$(sample 'veer_config_reloads_total{result="accepted"}')
	refused=$(sample 'veer_config_reloads_total{result="refused"}')
	config 198.18.11.2 198.18.12.2 198.18.13.2
	topo_wait 10 eval "(( \$(sample 'veer_config_reloads_total{result=\"accepted\"}') > $accepted ))" ||
		fail "the good edit was not counted; veerd said: $(tail -5 "$BATS_FILE_TMPDIR/veerd.log")"
	topo_wait 10 eval "[ \"\$(sample 'veer_vip_backends{vip=\"$VIP\"}')\" = 3 ]" ||
		fail "the new backend is not in /metrics"

	sed -i 's/port: 80/port: 70000/' "$CONFIG"
	topo_wait 10 eval "(( \$(sample 'veer_config_reloads_total{result=\"refused\"}') > $refused ))" ||
		fail "the broken edit was not counted; veerd said: $(tail -5 "$BATS_FILE_TMPDIR/veerd.log")"
	# The running config stays.
	assert_equal "$(sample "veer_vip_backends{vip=\"$VIP\"}")" 3
	config 198.18.11.2 198.18.12.2 198.18.13.2
}
