#!/bin/sh
# Install what is missing, build, and run the whole test suite.
# This is what CI runs (.ci/run).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
sh scripts/build.sh
make -j"$(nproc)" check --no-print-directory || {
	for log in tests/*/*.log; do
		grep -q "^FAIL\|^ERROR\|not ok" "$log" 2>/dev/null && { echo "== $log"; tail -60 "$log"; }
	done
	exit 1
}
