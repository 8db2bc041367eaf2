#!/bin/sh
# run.sh BUILD_DIR FUZZ_SRCDIR SECONDS NAME... - run the libFuzzer harnesses
# BUILD_DIR/fuzz_NAME side by side, each for SECONDS on a fresh copy of
# FUZZ_SRCDIR/corpus/NAME, and print one line per harness:
#   fuzz_NAME: N executions, 0 crashes
# A crash prints where the input and the log are, and the run fails.
# Called by `make fuzz` / `make fuzz-smoke` (Makefile.am, "fuzzing").
set -u
build=$1 src=$2 secs=$3
shift 3

# halt on the first UB report, with a stack like ASan's
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export UBSAN_OPTIONS

for name; do
	corpus=$build/corpus-$name
	rm -rf "$corpus" "$build/$name-"* "$build/fuzz_$name.log"
	mkdir -p "$corpus"
	cp "$src/corpus/$name/"* "$corpus/"
	chmod -R u+w "$corpus"	# a VPATH (distcheck) source tree is read-only
	case $name in
	frame)	extra="-dict=$src/frame.dict -max_len=8192" ;;
	config)	extra="-dict=$src/config.dict -max_len=10000" ;;
	json)	extra="-dict=$src/json.dict -max_len=16384" ;;
	*)	extra="" ;;
	esac
	# shellcheck disable=SC2086
	"$build/fuzz_$name" -max_total_time="$secs" -timeout=25 \
		-print_final_stats=1 -artifact_prefix="$build/$name-" \
		$extra "$corpus" >"$build/fuzz_$name.log" 2>&1 &
	eval "pid_$name=\$!"
done

status=0
for name; do
	eval "wait \$pid_$name"
	rc=$?
	log=$build/fuzz_$name.log
	runs=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
		echo "fuzz_$name: $runs executions, 0 crashes"
		continue
	fi
	status=1
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	crash=$(find "$build" -maxdepth 1 -name "$name-*" | head -n 1)
	echo "fuzz_$name: ${runs:-?} executions, 1 crash (exit $rc): input ${crash:-none}, log $log"
	# the harness's own message, or the sanitizer's, and the first frames
	grep -m 1 -A 3 'invariant broken\|ERROR: AddressSanitizer\|runtime error\|ERROR: libFuzzer' "$log" | sed 's/^/  /'
	grep -m 8 '^ *#[0-9]* 0x[0-9a-f]* in [^ ]* [^ ]*\(src/core\|tests/fuzz\)/[^ /]*\.c' "$log" |
		sed 's/^ *\(#[0-9]*\) 0x[0-9a-f]* in /  \1 /'
done
exit $status
