#!/bin/sh
# Install what building, testing and the demo need on Debian 12 (as root).
# Installs only what is missing; safe to run again.
set -eu

PKGS="build-essential autoconf automake libtool pkg-config \
liburing-dev libssl-dev libcriterion-dev \
curl python3 iproute2 iputils-ping iperf3 nftables jq valgrind \
groff mandoc gnuplot-nox mptcpd bc \
clang libclang-rt-14-dev \
nginx-light redis-server redis-tools openssh-server openssh-client \
socat wget haproxy"

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
	# the server packages (nginx, redis, sshd, haproxy) are for tests/apps,
	# which start their own instances in namespaces: keep the packages'
	# init scripts from starting system-wide services on port 80, 22 ...
	norc=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		norc=1
	fi
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
		{ [ -z "$norc" ] || rm -f /usr/sbin/policy-rc.d; exit 1; }
	[ -z "$norc" ] || rm -f /usr/sbin/policy-rc.d
fi
