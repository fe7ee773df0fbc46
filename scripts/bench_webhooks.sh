# SPDX-License-Identifier: GPL-2.0
# Part N of scripts/bench.sh (sourced by it): Webhook delivery.
part_webhooks() {
	:
}

report_n() {
	echo "## N. Webhook delivery"
	echo
	echo "Not measured yet."
	echo
}
