set terminal pngcairo size 1100,840 font "Sans,10"
set output "/work/main/bench/results/2026-11-24-S4-throughput.png"
set multiplot layout 3,1 title "S4: link down: S1, client interface of path 1 down then up  (2026-11-24, cc cubic)"
set grid
set ylabel "Mbit/s"
set yrange [0:120.662]
set key outside right top vertical
set xlabel "seconds since connect"
unset arrow; unset label
set title "TCP (best path)"
set arrow from 5.02, graph 0 to 5.02, graph 1 nohead dt 2 lc "black"
set label "path 1 down" at 5.02, graph 0.95 offset 0.5,0 font ",9" front
set arrow from 15.02, graph 0 to 15.02, graph 1 nohead dt 2 lc "black"
set label "path 1 up" at 15.02, graph 0.95 offset 0.5,0 font ",9" front
plot "/work/main/bench/results/raw/2026-11-24/S4-tcp-ts.dat" using 1:2 with lines lw 2 lc "black" title "app goodput", "/work/main/bench/results/raw/2026-11-24/S4-tcp-ts.dat" using 1:3 with lines lw 1.5 lc "#1f77b4" title "path 1 subflow(s)", "/work/main/bench/results/raw/2026-11-24/S4-tcp-ts.dat" using 1:4 with lines lw 1.5 lc "#d62728" title "path 2 subflow(s)"
unset arrow; unset label
set title "kernel MPTCP"
set arrow from 5.01, graph 0 to 5.01, graph 1 nohead dt 2 lc "black"
set label "path 1 down" at 5.01, graph 0.95 offset 0.5,0 font ",9" front
set arrow from 15.01, graph 0 to 15.01, graph 1 nohead dt 2 lc "black"
set label "path 1 up" at 15.01, graph 0.95 offset 0.5,0 font ",9" front
plot "/work/main/bench/results/raw/2026-11-24/S4-kernel_mptcp-ts.dat" using 1:2 with lines lw 2 lc "black" title "app goodput", "/work/main/bench/results/raw/2026-11-24/S4-kernel_mptcp-ts.dat" using 1:3 with lines lw 1.5 lc "#1f77b4" title "path 1 subflow(s)", "/work/main/bench/results/raw/2026-11-24/S4-kernel_mptcp-ts.dat" using 1:4 with lines lw 1.5 lc "#d62728" title "path 2 subflow(s)"
unset arrow; unset label
set title "mpshim"
set arrow from 5.01, graph 0 to 5.01, graph 1 nohead dt 2 lc "black"
set label "path 1 down" at 5.01, graph 0.95 offset 0.5,0 font ",9" front
set arrow from 15.01, graph 0 to 15.01, graph 1 nohead dt 2 lc "black"
set label "path 1 up" at 15.01, graph 0.95 offset 0.5,0 font ",9" front
plot "/work/main/bench/results/raw/2026-11-24/S4-mpshim-ts.dat" using 1:2 with lines lw 2 lc "black" title "app goodput", "/work/main/bench/results/raw/2026-11-24/S4-mpshim-ts.dat" using 1:3 with lines lw 1.5 lc "#1f77b4" title "path 1 subflow(s)", "/work/main/bench/results/raw/2026-11-24/S4-mpshim-ts.dat" using 1:4 with lines lw 1.5 lc "#d62728" title "path 2 subflow(s)"
unset multiplot
