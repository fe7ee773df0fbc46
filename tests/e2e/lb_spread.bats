#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0
# Maglev spreads new TCP connections evenly over equal backends; veer stats counts them.

load helpers

VIP=198.18.100.10:80/tcp
URL=http://198.18.100.10/

setup_file() {
	e2e_topo_up spread
	e2e_vip_new "$VIP" 198.18.11.2 198.18.12.2 198.18.13.2
}

teardown_file() {
	e2e_topo_down "$VIP"
}

@test "300 HTTP requests to the VIP all succeed, spread within 30% of even" {
	e2e_get 300 "$URL" >"$BATS_FILE_TMPDIR/answers"
	e2e_assert_spread "$BATS_FILE_TMPDIR/answers" 300 70 130
}

@test "veer stats counts the new flows, per VIP and per backend" {
	[ -s "$BATS_FILE_TMPDIR/answers" ] || fail "the spread test sent no traffic"
	"$VEER" stats
	run e2e_stats_vip "$VIP" "v['new_flows'] >= 300"
	assert_output True
	run e2e_stats_vip "$VIP" "v['new_flows'] == sum(b['new_flows'] for b in v['backend_stats'])"
	assert_output True
	run e2e_stats_vip "$VIP" "v['packets'] > v['new_flows'] and v['reply_packets'] > 0"
	assert_output True
	for i in 1 2 3; do
		answers=$(e2e_count "$BATS_FILE_TMPDIR/answers" "b$i")
		flows=$(e2e_backend_stat "$VIP" "198.18.1$i.2" new_flows)
		(( flows >= answers )) || fail "b$i: $flows new flows for $answers answers"
	done
}

@test "the connection table holds the VIP's connections, one entry each, with their backend" {
	flows=$("$VEER" -j flows)
	# curl closes its connections: their FINs leave them closing for 10 s.
	n=$(e2e_json "sum(1 for f in d if f['vip'] == '198.18.100.10:80' and f['state'] in ('established', 'closing') and f['backend'].startswith('198.18.1'))" <<<"$flows")
	(( n >= 1 )) || fail "no connection to the VIP in the connection table"
	# One entry per connection: no client -> VIP tuple twice (handshake and established).
	n=$(e2e_json "len(d) - len(set((f['client'], f['vip'], f['protocol']) for f in d))" <<<"$flows")
	assert_equal "$n" 0
	run "$VEER" flows
	assert_output --regexp "tcp 198\.18\.[0-9.]+:[0-9]+ -> 198\.18\.100\.10:80 to 198\.18\.1[123]\.2:80 (established|closing) idle [0-9]+ms"
}
