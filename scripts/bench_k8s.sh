# SPDX-License-Identifier: GPL-2.0
# Part M of scripts/bench.sh (sourced by it): Kubernetes source: a watch event to the data plane.
part_k8s() {
	:
}

report_m() {
	echo "## M. Kubernetes source: a watch event to the data plane"
	echo
	echo "Not measured yet."
	echo
}
