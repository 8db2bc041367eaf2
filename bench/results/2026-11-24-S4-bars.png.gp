set terminal pngcairo size 1030,370 font "Sans,10"
set output "/work/main/bench/results/2026-11-24-S4-bars.png"
set multiplot layout 1,3 title "S4: link down: S1, client interface of path 1 down then up  (2026-11-24, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 10449.4 10449.4 "10449"
"kMPTCP" 493.2 493.2 "493"
"mpshim" 133.1 133.1 "133"
EOD
set title "longest stall (no bytes delivered)"
set ylabel "ms"
set yrange [0:12539.3]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 88.51 88.51 "88.5"
"kMPTCP" 226.76 226.76 "226.8"
"mpshim" 241.93 241.93 "241.9"
EOD
set title "bytes delivered (server sends 25 s)"
set ylabel "MB"
set yrange [0:361.988]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
set key top left
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle, 301.656 with lines dt 2 lw 2 lc "black" title "limit if no outage"
$D << EOD
"TCP" 0 0 "0.0"
"kMPTCP" 41.56 41.56 "41.6"
"mpshim" 48.67 48.67 "48.7"
EOD
set title "goodput during the outage"
set ylabel "Mbit/s"
set yrange [0:58.404]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
set key top left
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle, 48.27 with lines dt 2 lw 2 lc "black" title "path 2 limit"
unset multiplot
