set terminal pngcairo size 820,370 font "Sans,10"
set output "/work/main/bench/results/2026-11-24-S1-bars.png"
set multiplot layout 1,1 title "S1: two equal paths, 50 Mbit/s, 20 ms RTT: bulk goodput, one connection  (2026-11-24, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 48.26 48.26 "48.3"
"kMPTCP" 94.58 94.58 "94.6"
"mpshim" 97.03 97.03 "97.0"
EOD
set title "bulk goodput, one connection"
set ylabel "Mbit/s"
set yrange [0:116.436]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
set key top left
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle, 96.53 with lines dt 2 lw 2 lc "black" title "limit 96.5 Mbit/s"
unset multiplot
