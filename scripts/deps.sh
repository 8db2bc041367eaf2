#!/bin/sh
# Install what building, testing and the demo need on Debian 12 (as root).
# Installs only what is missing; safe to run again.
set -eu

PKGS="build-essential autoconf automake libtool pkg-config \
liburing-dev libssl-dev libcriterion-dev \
curl python3 iproute2 iputils-ping iperf3 nftables jq valgrind \
groff mandoc gnuplot-nox mptcpd bc \
clang libclang-rt-14-dev"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps.sh: missing packages:$missing (run as root to install)" >&2
		exit 1
	fi
	echo "deps.sh: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
