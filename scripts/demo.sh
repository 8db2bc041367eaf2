#!/bin/bash
# The mpshim demo: install what is missing, build, then download a file
# with an unmodified curl under the shim, through mpshim-proxyd, over two
# emulated paths (network namespaces + the test bed's delay line), and
# show per-subflow byte counts and the SHA-256 of what arrived.
#
#   sudo scripts/demo.sh            # two emulated paths (needs root)
#   scripts/demo.sh --loopback      # no root: two subflows over loopback
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
MODE=testbed
[ "${1:-}" = "--loopback" ] && MODE=loopback
[ "$(id -u)" = 0 ] || MODE=loopback

sh scripts/deps.sh
sh scripts/build.sh >/dev/null

WORK=$(mktemp -d /tmp/mpshim-demo.XXXXXX)
NAME=mpsdemo$$
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	[ "$MODE" = testbed ] && "$TOP/testbed/mps-testbed" down --name "$NAME" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

SIZE_MB=${DEMO_SIZE_MB:-40}
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$WORK/file.bin"
SHIM="$TOP/src/shim/.libs/libmpshim.so"
PROXYD="$TOP/src/proxyd/mpshim-proxyd"

if [ "$MODE" = testbed ]; then
	echo "== topology: 2 paths, 50 Mbit/s 10 ms and 30 Mbit/s 20 ms one-way (cubic)"
	eval "$("$TOP/testbed/mps-testbed" up --name "$NAME" --paths 2 \
		--path 1 rate=50mbit,delay=10ms --path 2 rate=30mbit,delay=20ms)"
	CLI="ip netns exec $CLIENT_NS"
	SRV="ip netns exec $SERVER_NS"
	SERVER=$SERVER_ADDR_1
	LOCALS="$CLIENT_ADDR_1,$CLIENT_ADDR_2"
	# pin congestion control in both hosts: the machine default may differ;
	# a namespace may only choose an algorithm the host allows
	allowed=$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control)
	case " $allowed " in *" cubic "*) ;; *)
		sysctl -qw net.ipv4.tcp_allowed_congestion_control="$allowed cubic" ;;
	esac
	$CLI sysctl -qw net.ipv4.tcp_congestion_control=cubic
	$SRV sysctl -qw net.ipv4.tcp_congestion_control=cubic
else
	echo "== loopback: two subflows to one address (ndiffports)"
	CLI=""
	SRV=""
	SERVER=127.0.0.1
	LOCALS=""
fi

$SRV python3 "$TOP/tests/helpers/httpd.py" --bind 127.0.0.1 --port 18080 \
	--dir "$WORK" 2>/dev/null &
PIDS+=($!)
$SRV "$PROXYD" --listen "$SERVER:18443" --backend 127.0.0.1:18080 \
	--stats-file "$WORK/proxyd.json" --log-level warn &
PIDS+=($!)
sleep 1

echo "== plain TCP (no shim), path 1 only"
t0=$(date +%s.%N)
$CLI curl -sS -o "$WORK/plain.bin" "http://$SERVER:18443/file.bin"
t1=$(date +%s.%N)
plain=$(echo "$SIZE_MB * 8 * 1.048576 / ($t1 - $t0)" | bc -l)
printf "   %d MB in %.2f s = %.1f Mbit/s\n" "$SIZE_MB" "$(echo "$t1 - $t0" | bc -l)" "$plain"

echo "== curl under mpshim"
t0=$(date +%s.%N)
$CLI env LD_PRELOAD="$SHIM" MPSHIM_UPGRADE="$SERVER:18443" MPSHIM_SUBFLOWS=2 \
	MPSHIM_LOCAL="$LOCALS" MPSHIM_STATS_FILE="$WORK/client.json" \
	curl -sS -o "$WORK/got.bin" "http://$SERVER:18443/file.bin"
t1=$(date +%s.%N)
mp=$(echo "$SIZE_MB * 8 * 1.048576 / ($t1 - $t0)" | bc -l)
printf "   %d MB in %.2f s = %.1f Mbit/s (%.2fx plain TCP)\n" "$SIZE_MB" \
	"$(echo "$t1 - $t0" | bc -l)" "$mp" "$(echo "$mp / $plain" | bc -l)"

echo "== subflows (client side, bytes received)"
jq -r '.subflows[] | "   \(.local) -> \(.remote): \(.bytes_recv) bytes"' "$WORK/client.json"
echo "== integrity"
want=$(sha256sum < "$WORK/file.bin" | cut -d' ' -f1)
got=$(sha256sum < "$WORK/got.bin" | cut -d' ' -f1)
echo "   original: $want"
echo "   arrived:  $got"
if [ "$want" = "$got" ]; then echo "   OK: byte-exact"; else echo "   MISMATCH"; exit 1; fi
