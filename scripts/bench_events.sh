# SPDX-License-Identifier: GPL-2.0
# Part K of scripts/bench.sh (sourced by it): Event stream.
part_events() {
	:
}

report_k() {
	echo "## K. Event stream"
	echo
	echo "Not measured yet."
	echo
}
