set terminal pngcairo size 1100,840 font "Sans,10"
set output "/work/main/bench/results/2026-11-24-S1-throughput.png"
set multiplot layout 3,1 title "S1: two equal paths, 50 Mbit/s, 20 ms RTT: bulk goodput, one connection  (2026-11-24, cc cubic)"
set grid
set ylabel "Mbit/s"
set yrange [0:120.662]
set key outside right top vertical
set xlabel "seconds since connect"
unset arrow; unset label
set title "TCP (best path)"
plot "/work/main/bench/results/raw/2026-11-24/S1-tcp-ts.dat" using 1:2 with lines lw 2 lc "black" title "app goodput", "/work/main/bench/results/raw/2026-11-24/S1-tcp-ts.dat" using 1:3 with lines lw 1.5 lc "#1f77b4" title "path 1 subflow(s)", "/work/main/bench/results/raw/2026-11-24/S1-tcp-ts.dat" using 1:4 with lines lw 1.5 lc "#d62728" title "path 2 subflow(s)"
unset arrow; unset label
set title "kernel MPTCP"
plot "/work/main/bench/results/raw/2026-11-24/S1-kernel_mptcp-ts.dat" using 1:2 with lines lw 2 lc "black" title "app goodput", "/work/main/bench/results/raw/2026-11-24/S1-kernel_mptcp-ts.dat" using 1:3 with lines lw 1.5 lc "#1f77b4" title "path 1 subflow(s)", "/work/main/bench/results/raw/2026-11-24/S1-kernel_mptcp-ts.dat" using 1:4 with lines lw 1.5 lc "#d62728" title "path 2 subflow(s)"
unset arrow; unset label
set title "mpshim"
plot "/work/main/bench/results/raw/2026-11-24/S1-mpshim-ts.dat" using 1:2 with lines lw 2 lc "black" title "app goodput", "/work/main/bench/results/raw/2026-11-24/S1-mpshim-ts.dat" using 1:3 with lines lw 1.5 lc "#1f77b4" title "path 1 subflow(s)", "/work/main/bench/results/raw/2026-11-24/S1-mpshim-ts.dat" using 1:4 with lines lw 1.5 lc "#d62728" title "path 2 subflow(s)"
unset multiplot
