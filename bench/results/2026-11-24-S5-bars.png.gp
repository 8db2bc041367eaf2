set terminal pngcairo size 1360,700 font "Sans,10"
set output "/work/main/bench/results/2026-11-24-S5-bars.png"
set multiplot layout 2,4 title "S5: request/response ping-pong over one connection  (2026-11-24, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 58.1 58.1 "58"
"kMPTCP" 61.5 61.5 "62"
"mpshim" 135.5 135.5 "136"
EOD
set title "loopback, 1B, RTT p50"
set ylabel "µs"
set yrange [0:162.6]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 74.4 74.4 "74"
"kMPTCP" 80.6 80.6 "81"
"mpshim" 196.2 196.2 "196"
EOD
set title "loopback, 1B, RTT p99"
set ylabel "µs"
set yrange [0:235.44]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 60 60 "60"
"kMPTCP" 62 62 "62"
"mpshim" 134.2 134.2 "134"
EOD
set title "loopback, 4KB, RTT p50"
set ylabel "µs"
set yrange [0:161.04]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 74.8 74.8 "75"
"kMPTCP" 80.5 80.5 "80"
"mpshim" 186.6 186.6 "187"
EOD
set title "loopback, 4KB, RTT p99"
set ylabel "µs"
set yrange [0:223.92]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 388 388 "388"
"kMPTCP" 434.2 434.2 "434"
"mpshim" 380.8 380.8 "381"
EOD
set title "S1 paths, 1B, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:521.04]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 598.3 598.3 "598"
"kMPTCP" 692.5 692.5 "692"
"mpshim" 628.6 628.6 "629"
EOD
set title "S1 paths, 1B, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:831]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 453.8 453.8 "454"
"kMPTCP" 381 381 "381"
"mpshim" 355.1 355.1 "355"
EOD
set title "S1 paths, 4KB, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:544.56]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 685.3 685.3 "685"
"kMPTCP" 2505.4 2505.4 "2505"
"mpshim" 511.4 511.4 "511"
EOD
set title "S1 paths, 4KB, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:3006.48]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
