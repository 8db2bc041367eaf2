set terminal pngcairo size 1360,700 font "Sans,10"
set output "/work/main/bench/results/2026-11-24-S5-bars.png"
set multiplot layout 2,4 title "S5: request/response ping-pong over one connection  (2026-11-24, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 54.4 54.4 "54"
"kMPTCP" 56 56 "56"
"mpshim" 102.1 102.1 "102"
EOD
set title "loopback, 1B, RTT p50"
set ylabel "µs"
set yrange [0:122.52]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 69.9 69.9 "70"
"kMPTCP" 71.5 71.5 "72"
"mpshim" 170.4 170.4 "170"
EOD
set title "loopback, 1B, RTT p99"
set ylabel "µs"
set yrange [0:204.48]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 54.5 54.5 "54"
"kMPTCP" 57.9 57.9 "58"
"mpshim" 136.7 136.7 "137"
EOD
set title "loopback, 4KB, RTT p50"
set ylabel "µs"
set yrange [0:164.04]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 69.4 69.4 "69"
"kMPTCP" 74 74 "74"
"mpshim" 211.8 211.8 "212"
EOD
set title "loopback, 4KB, RTT p99"
set ylabel "µs"
set yrange [0:254.16]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 271.6 271.6 "272"
"kMPTCP" 224.1 224.1 "224"
"mpshim" 257.2 257.2 "257"
EOD
set title "S1 paths, 1B, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:325.92]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 427.4 427.4 "427"
"kMPTCP" 326.7 326.7 "327"
"mpshim" 362.3 362.3 "362"
EOD
set title "S1 paths, 1B, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:512.88]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 266.8 266.8 "267"
"kMPTCP" 187.4 187.4 "187"
"mpshim" 246.2 246.2 "246"
EOD
set title "S1 paths, 4KB, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:320.16]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 2083.4 2083.4 "2083"
"kMPTCP" 326.4 326.4 "326"
"mpshim" 363.7 363.7 "364"
EOD
set title "S1 paths, 4KB, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:2500.08]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
