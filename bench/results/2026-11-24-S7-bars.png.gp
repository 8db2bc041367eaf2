set terminal pngcairo size 1360,370 font "Sans,10"
set output "/work/main/bench/results/2026-11-24-S7-bars.png"
set multiplot layout 1,4 title "S7: many connections through mpshim-proxyd  (2026-11-24, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 29433.7 29433.7 "29434"
"kMPTCP" 13189.6 13189.6 "13190"
"mpshim" 2641.2 2641.2 "2641"
EOD
set title "aggregate goodput, 1000 x 1 MB"
set ylabel "Mbit/s"
set yrange [0:35320.4]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 257.6 257.6 "258"
"kMPTCP" 595.5 595.5 "596"
"mpshim" 3107.1 3107.1 "3107"
EOD
set title "completion time p99"
set ylabel "ms"
set yrange [0:3728.52]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 1000 1000 "1000"
"kMPTCP" 1000 1000 "1000"
"mpshim" 1000 1000 "1000"
EOD
set title "connections completed"
set ylabel "count"
set yrange [0:1200]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
set key top left
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle, 1000 with lines dt 2 lw 2 lc "black" title "started"
$D << EOD
"TCP" 1.9375 1.9375 "2"
"kMPTCP" 2.03906 2.03906 "2"
"mpshim" 655.883 655.883 "656"
EOD
set title "peak RSS, server side"
set ylabel "MiB (mpshim: proxyd + server)"
set yrange [0:787.059]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
