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
# libFuzzer smoke run (make fuzz-smoke: 10 s per harness, side by side),
# where clang can link a fuzzer
fuzz_probe=$(mktemp)
if command -v clang >/dev/null 2>&1 &&
	printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' |
	clang -fsanitize=fuzzer,address,undefined -x c - -o "$fuzz_probe" 2>/dev/null; then
	rm -f "$fuzz_probe"
	make -j"$(nproc)" fuzz-smoke --no-print-directory
else
	rm -f "$fuzz_probe"
	echo "test.sh: SKIP fuzz smoke run: no clang with libFuzzer (apt-get install clang libclang-rt-14-dev)"
fi
# One closing line with the totals of the Criterion tests that ran.
awk '/^# PASS:/ {p=$3} /^# FAIL:/ {f=$3} /^# ERROR:/ {e=$3} /^# SKIP:/ {s=$3}
	END {printf "tests: %d passed, %d failed, %d skipped\n", p, f + e, s}' test-suite.log
