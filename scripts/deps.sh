#!/bin/sh
# Install what building, testing and the demo need on Debian 12 (as root).
# Installs only what is missing; safe to run again.
set -eu

PKGS="build-essential autoconf automake libtool pkg-config \
liburing-dev libssl-dev libcriterion-dev \
curl python3 iproute2 iputils-ping iperf3 nftables jq valgrind \
groff mandoc gnuplot-nox mptcpd bc \
clang libclang-rt-14-dev \
nginx-light redis-server redis-tools openssh-server openssh-client socat wget \
haproxy"

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
	# tests/apps runs its own nginx, redis-server and sshd in network
	# namespaces; installing the packages must not start them as system
	# services (invoke-rc.d asks policy-rc.d; 101 = action forbidden)
	policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\n# deps.sh: no service starts while installing\nexit 101\n' >"$policy"
		chmod 0755 "$policy"
		trap 'rm -f "$policy"' EXIT
	fi
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
