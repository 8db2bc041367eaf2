#!/bin/sh
# Build mpshim with a sanitizer and run the whole test suite under it:
#
#   scripts/san-check.sh asan     # AddressSanitizer + UBSan, in build-asan/
#   scripts/san-check.sh tsan     # ThreadSanitizer, in build-tsan/
#
# The build directory is made from scratch each time, out of the source
# tree (VPATH).  automake refuses a VPATH build of a tree that is itself
# configured in place, which is what scripts/build.sh (and so CI's plain
# build) leaves: then the sanitizer build is made from a snapshot of the
# tree, what `make dist` would ship (`make distdir` into build-src/).
# Tests need root, as for make check in the tree.  Prints the time each
# step took; exits with make check's status (its summary and test-suite.log
# are in the build directory).
set -eu
cd "$(dirname "$0")/.."
top=$PWD
case "${1:-}" in
asan|tsan) san=$1 ;;
*)
	echo "usage: scripts/san-check.sh asan|tsan" >&2
	exit 2
	;;
esac
jobs=$(nproc)

t0=$(date +%s)
if [ -f config.status ]; then
	make --no-print-directory distdir distdir=build-src >/dev/null
	src=$top/build-src
else
	[ -x configure ] || ./bootstrap
	src=$top
fi
rm -rf "build-$san"
mkdir "build-$san"
cd "build-$san"
"$src/configure" --quiet "--enable-$san"
make -j"$jobs" --no-print-directory
# the test programs too, so that the check's time is the tests' own
make -j"$jobs" --no-print-directory check TESTS=
t1=$(date +%s)
rc=0
make -j"$jobs" --no-print-directory check || rc=$?
t2=$(date +%s)
echo "san-check.sh: $san: build $((t1 - t0)) s, make check $((t2 - t1)) s (source: $src)"
exit "$rc"
