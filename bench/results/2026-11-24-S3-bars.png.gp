set terminal pngcairo size 1030,370 font "Sans,10"
set output "/work/main/bench/results/2026-11-24-S3-bars.png"
set multiplot layout 1,3 title "S3: failover: S1, path 1 blackholed (link up) then restored  (2026-11-24, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 10591 10591 "10591"
"kMPTCP" 898.2 898.2 "898"
"mpshim" 201.1 201.1 "201"
EOD
set title "longest stall (no bytes delivered)"
set ylabel "ms"
set yrange [0:12709.2]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 89.49 89.49 "89.5"
"kMPTCP" 225.65 225.65 "225.7"
"mpshim" 249.28 249.28 "249.3"
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
"TCP" 0.09 0.09 "0.1"
"kMPTCP" 39.52 39.52 "39.5"
"mpshim" 48.26 48.26 "48.3"
EOD
set title "goodput during the outage"
set ylabel "Mbit/s"
set yrange [0:57.924]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
set key top left
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle, 48.27 with lines dt 2 lw 2 lc "black" title "path 2 limit"
unset multiplot
