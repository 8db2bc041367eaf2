#!/bin/sh
# Configure and build in the source tree (idempotent).  Extra arguments
# go to ./configure, e.g. scripts/build.sh --enable-asan
set -eu
cd "$(dirname "$0")/.."
[ -x configure ] || ./bootstrap
if [ ! -f Makefile ] || [ "$#" -gt 0 ]; then
	./configure --quiet "$@"
fi
make -j"$(nproc)" --no-print-directory
