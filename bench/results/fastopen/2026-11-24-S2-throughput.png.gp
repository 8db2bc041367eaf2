set terminal pngcairo size 1100,840 font "Sans,10"
set output "/work/main/bench/results/fastopen/2026-11-24-S2-throughput.png"
set multiplot layout 3,1 title "S2: 50 Mbit/s 10 ms RTT + 20 Mbit/s 60 ms RTT, 0.5% loss on path 2  (2026-11-24, cc cubic)"
set grid
set ylabel "Mbit/s"
set yrange [0:100]
set key outside right top vertical
set xlabel "seconds since connect"
unset arrow; unset label
set title "TCP (best path)"
plot "/work/main/bench/results/fastopen/raw/2026-11-24/S2-tcp-ts.dat" using 1:2 with lines lw 2 lc "black" title "app goodput", "/work/main/bench/results/fastopen/raw/2026-11-24/S2-tcp-ts.dat" using 1:3 with lines lw 1.5 lc "#1f77b4" title "path 1 subflow(s)", "/work/main/bench/results/fastopen/raw/2026-11-24/S2-tcp-ts.dat" using 1:4 with lines lw 1.5 lc "#d62728" title "path 2 subflow(s)"
unset arrow; unset label
set title "kernel MPTCP"
plot "/work/main/bench/results/fastopen/raw/2026-11-24/S2-kernel_mptcp-ts.dat" using 1:2 with lines lw 2 lc "black" title "app goodput", "/work/main/bench/results/fastopen/raw/2026-11-24/S2-kernel_mptcp-ts.dat" using 1:3 with lines lw 1.5 lc "#1f77b4" title "path 1 subflow(s)", "/work/main/bench/results/fastopen/raw/2026-11-24/S2-kernel_mptcp-ts.dat" using 1:4 with lines lw 1.5 lc "#d62728" title "path 2 subflow(s)"
unset arrow; unset label
set title "mpshim"
plot "/work/main/bench/results/fastopen/raw/2026-11-24/S2-mpshim-ts.dat" using 1:2 with lines lw 2 lc "black" title "app goodput", "/work/main/bench/results/fastopen/raw/2026-11-24/S2-mpshim-ts.dat" using 1:3 with lines lw 1.5 lc "#1f77b4" title "path 1 subflow(s)", "/work/main/bench/results/fastopen/raw/2026-11-24/S2-mpshim-ts.dat" using 1:4 with lines lw 1.5 lc "#d62728" title "path 2 subflow(s)"
unset multiplot
