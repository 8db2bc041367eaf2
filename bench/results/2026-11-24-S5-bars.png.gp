set terminal pngcairo size 1360,700 font "Sans,10"
set output "/work/main/bench/results/2026-11-24-S5-bars.png"
set multiplot layout 2,4 title "S5: request/response ping-pong over one connection  (2026-11-24, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 53.6 53.6 "54"
"kMPTCP" 56.3 56.3 "56"
"mpshim" 83.3 83.3 "83"
EOD
set title "loopback, 1B, RTT p50"
set ylabel "µs"
set yrange [0:99.96]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 65.8 65.8 "66"
"kMPTCP" 74.2 74.2 "74"
"mpshim" 158.1 158.1 "158"
EOD
set title "loopback, 1B, RTT p99"
set ylabel "µs"
set yrange [0:189.72]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 53.8 53.8 "54"
"kMPTCP" 57 57 "57"
"mpshim" 107.8 107.8 "108"
EOD
set title "loopback, 4KB, RTT p50"
set ylabel "µs"
set yrange [0:129.36]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 67.6 67.6 "68"
"kMPTCP" 69.8 69.8 "70"
"mpshim" 273.4 273.4 "273"
EOD
set title "loopback, 4KB, RTT p99"
set ylabel "µs"
set yrange [0:328.08]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 192.9 192.9 "193"
"kMPTCP" 210.9 210.9 "211"
"mpshim" 244.5 244.5 "244"
EOD
set title "S1 paths, 1B, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:293.4]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 236.9 236.9 "237"
"kMPTCP" 371.7 371.7 "372"
"mpshim" 338.1 338.1 "338"
EOD
set title "S1 paths, 1B, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:446.04]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 179.7 179.7 "180"
"kMPTCP" 181.3 181.3 "181"
"mpshim" 244.5 244.5 "244"
EOD
set title "S1 paths, 4KB, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:293.4]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 255.5 255.5 "256"
"kMPTCP" 259.6 259.6 "260"
"mpshim" 329.2 329.2 "329"
EOD
set title "S1 paths, 4KB, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:395.04]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
