#!/bin/sh
# tests/sanitizer-reports.sh - the last test of a sanitizer build's make
# check.  Every instrumented process of the suite writes its ASan, UBSan,
# LSan and TSan reports into $MPS_SAN_REPORTS (one file per process,
# Makefile.am), which was emptied before the first test: any file there is
# a finding, from a test program, proxyd, the mpshim tool or a helper under
# the TSan shim, whether or not the test that ran it noticed.  TAP, one
# test; the reports go into this test's log.
dir=${MPS_SAN_REPORTS:?MPS_SAN_REPORTS is set by make check}
echo "1..1"
set -- "$dir"/*.[0-9]*
if [ ! -e "$1" ]; then
	echo "ok 1 - no sanitizer reports in $dir"
	exit 0
fi
for f in "$@"; do
	echo "# ==== $f"
	sed 's/^/# /' "$f"
done
echo "not ok 1 - $# sanitizer report file(s) in $dir"
