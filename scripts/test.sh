#!/bin/sh
# Install what is missing, build, and run the whole test suite: in the
# source tree, a libFuzzer smoke run, then the whole suite again under
# AddressSanitizer + UBSan and under ThreadSanitizer, each in its own build
# directory (scripts/san-check.sh).  This is what CI runs (.ci/run).
#
# A failed test does not stop the suites after it (a failed build does);
# the last line has each suite's totals, and the exit status is 1 if any
# stage failed.  Each stage's wall time is printed as it ends.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc)
failed=""
t_start=$(date +%s)
t_last=$t_start

stage_done() {
	now=$(date +%s)
	echo "test.sh: stage $1: $((now - t_last)) s"
	t_last=$now
}

# The logs of the failed tests of a build directory, for the CI output
# (the sanitizer reports of a sanitizer build are in
# tests/sanitizer-reports.log).
show_failures() {
	for log in "$1"/tests/*/*.log "$1"/tests/*.log; do
		[ -f "$log" ] || continue
		if grep -q "^FAIL\|^ERROR\|^not ok" "$log"; then
			echo "== $log"
			tail -200 "$log"
		fi
	done
}

# "N passed, N failed, N skipped" from a test-suite.log (FAIL and ERROR
# both count as failed), or "did not run".
totals() {
	if [ ! -f "$1" ]; then
		echo "did not run"
		return
	fi
	awk '/^# PASS:/ {p=$3} /^# FAIL:/ {f=$3} /^# ERROR:/ {e=$3} /^# SKIP:/ {s=$3}
		END {printf "%d passed, %d failed, %d skipped", p, f + e, s}' "$1"
}

sh scripts/deps.sh
stage_done deps
rm -f test-suite.log build-asan/test-suite.log build-tsan/test-suite.log
sh scripts/build.sh
make -j"$jobs" check TESTS= --no-print-directory
stage_done build
if ! make -j"$jobs" check --no-print-directory; then
	show_failures .
	failed="$failed plain"
fi
stage_done check

# libFuzzer smoke run (make fuzz-smoke: 10 s per harness, side by side),
# where clang can link a fuzzer
fuzz_probe=$(mktemp)
if command -v clang >/dev/null 2>&1 &&
	printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' |
	clang -fsanitize=fuzzer,address,undefined -x c - -o "$fuzz_probe" 2>/dev/null; then
	rm -f "$fuzz_probe"
	make -j"$jobs" fuzz-smoke --no-print-directory || failed="$failed fuzz"
else
	rm -f "$fuzz_probe"
	echo "test.sh: SKIP fuzz smoke run: no clang with libFuzzer (apt-get install clang libclang-rt-14-dev)"
fi
stage_done fuzz-smoke

# the whole suite again, instrumented (build-asan/, build-tsan/)
for san in asan tsan; do
	if ! sh scripts/san-check.sh "$san"; then
		show_failures "build-$san"
		failed="$failed $san"
	fi
	stage_done "$san (build and check)"
done

echo "test.sh: total: $(( $(date +%s) - t_start )) s"
# One closing line with the totals of each suite's tests.
echo "tests: plain $(totals test-suite.log); asan $(totals build-asan/test-suite.log);" \
	"tsan $(totals build-tsan/test-suite.log)${failed:+; FAILED:$failed}"
[ -z "$failed" ]
