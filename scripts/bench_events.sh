# SPDX-License-Identifier: GPL-2.0
# Part K of scripts/bench.sh (sourced by it): the event stream.
#
# veer set up by its CLI in part D's namespace ($NS_FL, fl_ns) and pin directory: attached at XDP
# to fl-in, the UDP VIP of part D with its backends, and a VIP without backends whose packets
# are dropped (no_backend). Then, all through veer's attached program by BPF_PROG_RUN, every
# run on flows of its own (veer-bench --first: 0, then 100M, 200M, 300M on):
#   1. veer-bench events --cost: the per-packet cost with events off and on, interleaved rounds
#      of one run: new flows (each one sampled when on), established flows, drops (counted toward
#      a drop burst when on), and the empty program they are net of; a libveer reader thread
#      takes the records meanwhile, on the other CPU
#   2. veer-bench events --rate: new flows as fast as BPF_PROG_RUN makes them, every one
#      sampled, for EV_SECONDS, read by (a) a libveer reader thread, (b) `veer events -j
#      --follow` reading the ring itself, (c) veerd, serving `veer events -j --follow` on its
#      socket, then (c) again with the flows paced at 200,000 and 100,000 a second: records
#      written, lost to a full ring, and read a second by each reader
#
# Environment: BENCH_EVENT_CALLS and BENCH_EVENT_ROUNDS (--cost: calls per case and round, rounds;
# default 20000 x 11), BENCH_EVENT_SECONDS (--rate, default 5).

EV_CALLS=${BENCH_EVENT_CALLS:-20000}
EV_ROUNDS=${BENCH_EVENT_ROUNDS:-11}
EV_SECONDS=${BENCH_EVENT_SECONDS:-5}
EV_DEAD=198.18.100.98:$VIP_PORT
EV_READER_PID=

# ev_lines FILE: its line count.
ev_lines() { wc -l <"$1"; }

# ev_follow OUT [ARGS...]: `veer events -j --follow` on the reader's CPU (0) into OUT, bounded
# by timeout should this script die before it stops it.
ev_follow() {
	local out=$1
	shift
	VEER_PIN_DIR=$PIN_FL timeout 600 nsenter --net="/run/netns/$NS_FL" taskset -c 0 \
		"$VEER" events -j --follow "$@" </dev/null >"$out" 2>"$out.err" &
	EV_READER_PID=$!
}

ev_follow_stop() {
	kill -INT "$EV_READER_PID" 2>/dev/null || true
	wait "$EV_READER_PID" 2>/dev/null || true
	EV_READER_PID=
}

# ev_drain OUT T0: waits until OUT stops growing for a second; prints "LINES SECONDS", SECONDS
# from T0 (date +%s.%N) to its last growth.
ev_drain() {
	local out=$1 t0=$2 n last=-1 t_last
	t_last=$(date +%s.%N)
	for _ in $(seq 600); do
		n=$(ev_lines "$out")
		if [ "$n" != "$last" ]; then
			last=$n
			t_last=$(date +%s.%N)
		elif awk -v a="$(date +%s.%N)" -v b="$t_last" 'BEGIN { exit !(a - b > 1) }'; then
			break
		fi
		sleep 0.1
	done
	echo "$last $(awk -v a="$t_last" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')"
}

# ev_rate_with_reader NAME FIRST PACE OUT: veer-bench --rate from flow FIRST on, PACE flows a
# second (0: as fast as it can), while a reader writes OUT; then the reader stopped. Its results
# in EV_<NAME>_READ (flow_new lines since the start), _SECONDS, _LINE (veer-bench's) and
# _DROPPED (yes when veerd dropped the reader).
ev_rate_with_reader() {
	local name=$1 first=$2 pace=$3 out=$4 t0 drained base
	# What veerd held, sent as the reader connected, is not this run's.
	base=$(grep -c '"type":"flow_new"' "$out" || true)
	t0=$(date +%s.%N)
	veer_in "$PIN_FL" "$NS_FL" "$VB" events --rate --in fl-in --vip "$FL_VIP" \
		--dead-vip "$EV_DEAD" --seconds "$EV_SECONDS" --pace "$pace" --reader none \
		--src "$FL_SRC" --first "$first" --cpu $(($(nproc) - 1)) >"$TMP/ev-rate-$name" ||
		die "veer-bench events --rate failed"
	drained=$(ev_drain "$out" "$t0")
	ev_follow_stop
	declare -g "EV_${name}_READ=$(($(grep -c '"type":"flow_new"' "$out" || true) - base))"
	declare -g "EV_${name}_SECONDS=${drained#* }"
	declare -g "EV_${name}_LINE=$(grep '^events rate' "$TMP/ev-rate-$name")"
	if grep -q 'veerd ended the stream' "$out.err"; then
		declare -g "EV_${name}_DROPPED=yes"
	else
		declare -g "EV_${name}_DROPPED=no"
	fi
}

# ev_veerd_reader NAME FIRST PACE: a veer events reader of veerd's for one run.
ev_veerd_reader() {
	local out=$TMP/ev-veerd-$1 i
	ev_follow "$out"
	# Connected once what veerd holds (its start's config_applied at least) has come.
	for i in $(seq 100); do
		[ -s "$out" ] && break
		sleep 0.1
	done
	[ -s "$out" ] || die "veer events got nothing from veerd: $(cat "$out.err")"
	sleep 0.5
	ev_rate_with_reader "$1" "$2" "$3" "$out"
	say "  veerd -> veer events, pace ${3/#0/max}: $(eval echo "\$EV_${1}_READ") read in" \
		"$(eval echo "\$EV_${1}_SECONDS") s, reader dropped: $(eval echo "\$EV_${1}_DROPPED")"
}

part_events() {
	local cpu=$(($(nproc) - 1)) i cfg=$TMP/ev-veerd.yaml line
	say "K: event stream: per-packet cost on and off ($EV_ROUNDS x $EV_CALLS calls), records a second (${EV_SECONDS}s runs)"
	[ -e "/run/netns/$NS_FL" ] || fl_ns
	rm -rf "$PIN_FL"
	fl_veer "$PIN_FL" "$NS_FL" "$FL_VIP/udp" fl-in:xdp
	veer_in "$PIN_FL" "$NS_FL" "$VEER" vip add "$EV_DEAD/udp" >/dev/null

	# 1. The cost, off and on.
	veer_in "$PIN_FL" "$NS_FL" "$VB" events --cost --in fl-in --vip "$FL_VIP" \
		--dead-vip "$EV_DEAD" --calls "$EV_CALLS" --rounds "$EV_ROUNDS" --src "$FL_SRC" \
		--cpu "$cpu" --reader-cpu 0 >"$TMP/ev-cost" || die "veer-bench events --cost failed"
	declare -gA EK EN ER
	while read -r _ name line; do
		EK[$name]=$(field kern_ns " $line")
		EN[$name]=$(field net_ns " $line")
		ER[$name]=$(field kern_range " $line")
	done < <(grep -E '^events [a-z]+_o(n|ff) kern_ns=' "$TMP/ev-cost")
	for c in new est drop; do
		[ -n "${EN[${c}_off]:-}" ] && [ -n "${EN[${c}_on]:-}" ] ||
			die "veer-bench events printed no figure for $c"
		say "  $c: off ${EN[${c}_off]} ns net, on ${EN[${c}_on]} ns net"
	done
	EV_RING=$(grep '^events ring' "$TMP/ev-cost")

	# 2a. A libveer reader thread.
	veer_in "$PIN_FL" "$NS_FL" "$VB" events --rate --in fl-in --vip "$FL_VIP" \
		--dead-vip "$EV_DEAD" --seconds "$EV_SECONDS" --reader libveer --src "$FL_SRC" \
		--first 100000000 --cpu "$cpu" --reader-cpu 0 >"$TMP/ev-rate-lib" ||
		die "veer-bench events --rate failed"
	EV_LIB_LINE=$(grep '^events rate' "$TMP/ev-rate-lib")
	EV_LIB_READER=$(grep '^events reader' "$TMP/ev-rate-lib")
	say "  libveer reader: $EV_LIB_READER"

	# 2b. veer events reading the ring itself (no veerd runs).
	ev_follow "$TMP/ev-cli"
	for i in $(seq 100); do
		grep -q 'reading the data plane' "$TMP/ev-cli.err" 2>/dev/null && break
		sleep 0.1
	done
	grep -q 'reading the data plane' "$TMP/ev-cli.err" ||
		die "veer events did not start: $(cat "$TMP/ev-cli.err")"
	ev_rate_with_reader CLI 200000000 0 "$TMP/ev-cli"
	say "  veer events: $EV_CLI_READ read in $EV_CLI_SECONDS s"

	# 2c. veerd reads the ring and serves veer events: as fast as the flows come, then paced.
	printf 'interfaces: [{name: fl-in}]\nmetrics: {listen: off}\nvips: []\n' >"$cfg"
	nsenter --net="/run/netns/$NS_FL" "$VEERD" -d -f "$cfg" --pin-dir "$PIN_FL" \
		</dev/null >"$TMP/ev-veerd.log" 2>&1 &
	VEERD_PID=$!
	for i in $(seq 100); do
		grep -q 'veerd: running' "$TMP/ev-veerd.log" && break
		kill -0 "$VEERD_PID" || die "veerd did not start: $(cat "$TMP/ev-veerd.log")"
		sleep 0.1
	done
	ev_veerd_reader VEERD 300000000 0
	ev_veerd_reader VEERD2 400000000 200000
	ev_veerd_reader VEERD1 500000000 100000
	EV_VEERD_UNLOGGED=$(grep -c "not logged" "$TMP/ev-veerd.log" || true)
	kill "$VEERD_PID"
	wait "$VEERD_PID" || true
	VEERD_PID=

	veer_in "$PIN_FL" "$NS_FL" "$VEER" set event-sample off event-drop-burst off >/dev/null
	fl_unveer
	rm -rf "$PIN_FL"
	K_STAMP=$(stamp)
}

# ev_per_s READ SECONDS
ev_per_s() { awk -v n="$1" -v s="$2" 'BEGIN { if (s + 0 == 0) print "n/a"; else printf "%.0f", n / s }'; }
ev_lost_pct() { pct "$(field lost "$1")" "$(field flows "$1")"; }
ev_dropped() { [ "$1" = yes ] && echo " (then dropped: too slow)"; true; }

report_k() {
	local lib_read lib_s
	lib_read=$(field read "$EV_LIB_READER")
	lib_s=$(field seconds "$EV_LIB_READER")
	cat <<EOF
## K. Event stream

$K_STAMP

veer attached at XDP in a namespace of its own (part D's), one UDP VIP of ${#FL_BACKENDS[@]} backends and one
VIP without backends, all set up by the CLI; every packet goes through veer's attached program by
\`BPF_PROG_RUN\` (\`repeat=1\`), driven by \`veer-bench events\` (tests/bench/events.c) on CPU
$(($(nproc) - 1)); readers on CPU 0.

**Per-packet cost, events off and on** (\`veer-bench events --cost\`): $EV_ROUNDS interleaved rounds of
$EV_CALLS calls per case (each case's calls in a block), off and on in alternating order; on =
\`event-sample 1/1\` (every new flow reported) and \`event-drop-burst $(field drop_burst "$(grep '^events params' "$TMP/ev-cost")")\`. Medians over rounds of the mean kernel-reported
time per call, net of the empty XDP program of the same rounds. A libveer reader thread takes the
records meanwhile, as veerd would.

| packet | off, ns net | on, ns net | on / off | range off (gross) | range on (gross) |
|---|---|---|---|---|---|
| new flow (a record each, when on) | ${EN[new_off]} | ${EN[new_on]} | $(ratio "${EN[new_on]}" "${EN[new_off]}") | ${ER[new_off]} | ${ER[new_on]} |
| established flow | ${EN[est_off]} | ${EN[est_on]} | $(ratio "${EN[est_on]}" "${EN[est_off]}") | ${ER[est_off]} | ${ER[est_on]} |
| dropped (no_backend; counted, when on) | ${EN[drop_off]} | ${EN[drop_on]} | $(ratio "${EN[drop_on]}" "${EN[drop_off]}") | ${ER[drop_off]} | ${ER[drop_on]} |
| empty program (gross) | ${EK[empty_off]} | ${EK[empty_on]} | | ${ER[empty_off]} | ${ER[empty_on]} |

- Records: $(field flow_new_written "$EV_RING") flow_new written, $(field flow_new_lost "$EV_RING") lost to a full ring; $(field drop_burst_written "$EV_RING") drop_burst written; $(field read "$EV_RING") read by the reader.
- An established flow's packet and a dropped one with events off pay one compare more than
  before events existed (the dropped one a settings read too); on, a drop pays its count
  (per CPU, a shared word every $(( $(field drop_burst "$(grep '^events params' "$TMP/ev-cost")") >> 6 )) drops), a new flow its record.

**Records a second** (\`veer-bench events --rate\`, ${EV_SECONDS} s of new flows as fast as one CPU makes
them, every one sampled; "read a second" counts from the first flow to the reader's last record):

| reader | flows made a second | records written | lost (ring full) | records read | read a second |
|---|---|---|---|---|---|
| libveer reader thread (decodes each record) | $(field flows_per_s "$EV_LIB_LINE") | $(field written "$EV_LIB_LINE") | $(field lost "$EV_LIB_LINE") ($(ev_lost_pct "$EV_LIB_LINE")) | $lib_read | $(ev_per_s "$lib_read" "$lib_s") |
| \`veer events -j --follow\`, reading the ring | $(field flows_per_s "$EV_CLI_LINE") | $(field written "$EV_CLI_LINE") | $(field lost "$EV_CLI_LINE") ($(ev_lost_pct "$EV_CLI_LINE")) | $EV_CLI_READ | $(ev_per_s "$EV_CLI_READ" "$EV_CLI_SECONDS") |
| veerd, serving \`veer events -j --follow\` | $(field flows_per_s "$EV_VEERD_LINE") | $(field written "$EV_VEERD_LINE") | $(field lost "$EV_VEERD_LINE") ($(ev_lost_pct "$EV_VEERD_LINE")) | $EV_VEERD_READ$(ev_dropped "$EV_VEERD_DROPPED") | $(ev_per_s "$EV_VEERD_READ" "$EV_VEERD_SECONDS") |
| the same, flows paced at 200,000 a second | $(field flows_per_s "$EV_VEERD2_LINE") | $(field written "$EV_VEERD2_LINE") | $(field lost "$EV_VEERD2_LINE") ($(ev_lost_pct "$EV_VEERD2_LINE")) | $EV_VEERD2_READ$(ev_dropped "$EV_VEERD2_DROPPED") | $(ev_per_s "$EV_VEERD2_READ" "$EV_VEERD2_SECONDS") |
| the same, flows paced at 100,000 a second | $(field flows_per_s "$EV_VEERD1_LINE") | $(field written "$EV_VEERD1_LINE") | $(field lost "$EV_VEERD1_LINE") ($(ev_lost_pct "$EV_VEERD1_LINE")) | $EV_VEERD1_READ$(ev_dropped "$EV_VEERD1_DROPPED") | $(ev_per_s "$EV_VEERD1_READ" "$EV_VEERD1_SECONDS") |

- A reader slower than the flows loses what the 1 MiB ring cannot hold (counted in
  veer_ev_stats, \`veer_events_lost_total\`); no packet is lost with it. veerd logged 100 events a
  second and counted the rest ($EV_VEERD_UNLOGGED "not logged" lines).
- With veerd, three processes share the two CPUs: the flows' CPU is the producer's, veerd and
  \`veer events\` share the other. A reader 1 MiB behind pauses veerd's reading of the ring until
  it catches up (the ring holds what comes meanwhile, or counts it lost); one still behind after
  a second is dropped ("then dropped"), and "records read" counts what it read until then.

Command lines:

\`\`\`
VEER_PIN_DIR=$PIN_FL nsenter --net=/run/netns/NS veer-bench events --cost --in fl-in --vip $FL_VIP --dead-vip $EV_DEAD --calls $EV_CALLS --rounds $EV_ROUNDS --src $FL_SRC --cpu $(($(nproc) - 1)) --reader-cpu 0
VEER_PIN_DIR=... veer-bench events --rate --in fl-in --vip $FL_VIP --dead-vip $EV_DEAD --seconds $EV_SECONDS [--pace N] --reader libveer|none --src $FL_SRC --first N --cpu $(($(nproc) - 1)) --reader-cpu 0
VEER_PIN_DIR=... taskset -c 0 veer events -j --follow > FILE     # with --reader none, without and with veerd
BENCH_PARTS=events scripts/bench.sh                               # the whole part
\`\`\`

Raw output of part K:

\`\`\`
$(cat "$TMP/ev-cost" "$TMP/ev-rate-lib" "$TMP/ev-rate-CLI" "$TMP/ev-rate-VEERD" "$TMP/ev-rate-VEERD2" \
	"$TMP/ev-rate-VEERD1")
\`\`\`

EOF
}
