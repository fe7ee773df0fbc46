# SPDX-License-Identifier: GPL-2.0
# Part L of scripts/bench.sh (sourced by it): etcd source: a write to the data plane.
part_etcd() {
	:
}

report_l() {
	echo "## L. etcd source: a write to the data plane"
	echo
	echo "Not measured yet."
	echo
}
