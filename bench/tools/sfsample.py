#!/usr/bin/env python3
"""sfsample.py - per-subflow receive counters over time, from `ss -tin`.

Run inside the client namespace.  Every INTERVAL seconds it reads
`ss -tinH` for the TCP sockets whose peer port is PORT (plain TCP, the
subflows of kernel MPTCP and of mpshim all are kernel TCP sockets there),
takes each socket's bytes_received (TCP payload, so mpshim's frame headers
count too), and writes one line per local address that received bytes:

    WALL_TIME LOCAL_ADDR DELTA_BYTES

plus a line "# cc NAME" the first time a congestion control NAME is seen
on those sockets (the proof of which algorithm really ran).

DELTA_BYTES sums the growth of every socket bound to LOCAL_ADDR since the
previous sample (a socket seen for the first time counts from zero), so a
subflow re-created on the same address stays on the same line.  It stops
on SIGTERM/SIGINT.
"""
import argparse
import re
import signal
import subprocess
import sys
import time

RE_BYTES = re.compile(r"\bbytes_received:(\d+)")


def sample(port):
    out = subprocess.run(["ss", "-tinH", "state", "established",
                          "( dport = :%d )" % port],
                         capture_output=True, text=True).stdout
    socks = {}
    ccs = set()
    key = None
    for line in out.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            f = line.split()
            # with a state filter ss omits the State column:
            # Recv-Q Send-Q Local:Port Peer:Port
            if len(f) >= 4:
                local, peer = f[2], f[3]
                local = re.sub(r"%[^:]*", "", local)
                key = (local, peer)
            continue
        first = line.split()[0]
        if first in ("cubic", "bbr", "reno", "bbr2", "bbr3", "dctcp", "vegas",
                     "westwood", "htcp", "bic", "illinois", "hybla"):
            ccs.add(first)
        m = RE_BYTES.search(line)
        if key and m:
            socks[key] = int(m.group(1))
            key = None
    return socks, ccs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    last = {}
    seen_cc = set()
    with open(a.out, "w") as f:
        nxt = time.time()
        while not stop:
            t = time.time()
            cur, ccs = sample(a.port)
            for cc in sorted(ccs - seen_cc):
                f.write("# cc %s\n" % cc)
                seen_cc.add(cc)
            per_ip = {}
            for k, v in cur.items():
                d = v - last.get(k, 0)
                if d > 0:
                    ip = k[0].rsplit(":", 1)[0]
                    per_ip[ip] = per_ip.get(ip, 0) + d
            # keep counters of sockets that vanished out of `last` only
            # while they exist; a reused 4-tuple then starts from zero
            last = cur
            for ip, d in sorted(per_ip.items()):
                f.write("%.3f %s %d\n" % (t, ip, d))
            f.flush()
            nxt += a.interval
            delay = nxt - time.time()
            if delay > 0:
                time.sleep(delay)
            else:
                nxt = time.time()
    return 0


if __name__ == "__main__":
    sys.exit(main())
