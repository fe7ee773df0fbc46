#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs the e2e suites (every one, or the .bats files given) and counts their skips. A skip
# passes only when it names a kernel feature its test probed missing (e2e_skip_missing in
# helpers.bash); any other skip fails the run, since the test it stands for did not run.
set -o pipefail
dir=$(cd "$(dirname "$0")" && pwd)
tap=$(mktemp)
trap 'rm -f "$tap"' EXIT

bats --tap "${@:-$dir}" | tee "$tap"
rc=$?
skipped=$(grep -c ' # skip' "$tap")
unexpected=$(grep ' # skip' "$tap" | grep -vc ' # skip kernel feature missing: ')
echo "e2e: $skipped skipped, $unexpected of them without a missing kernel feature"
grep ' # skip' "$tap" | grep -v ' # skip kernel feature missing: ' | sed 's/^/e2e: unexpected skip: /'
((rc == 0 && unexpected == 0))
