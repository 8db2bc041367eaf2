set terminal pngcairo size 1360,700 font "Sans,10"
set output "/work/main/bench/results/2026-11-23-S5-bars.png"
set multiplot layout 2,4 title "S5: request/response ping-pong over one connection  (2026-11-23, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 13.7 13.7 "14"
"kMPTCP" 16.3 16.3 "16"
"mpshim" 58.1 58.1 "58"
EOD
set title "loopback, 1B, RTT p50"
set ylabel "µs"
set yrange [0:69.72]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 32.1 32.1 "32"
"kMPTCP" 21.3 21.3 "21"
"mpshim" 118.1 118.1 "118"
EOD
set title "loopback, 1B, RTT p99"
set ylabel "µs"
set yrange [0:141.72]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 15.1 15.1 "15"
"kMPTCP" 17.5 17.5 "18"
"mpshim" 66.2 66.2 "66"
EOD
set title "loopback, 4KB, RTT p50"
set ylabel "µs"
set yrange [0:79.44]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 19 19 "19"
"kMPTCP" 45 45 "45"
"mpshim" 234.2 234.2 "234"
EOD
set title "loopback, 4KB, RTT p99"
set ylabel "µs"
set yrange [0:281.04]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 299 299 "299"
"kMPTCP" 319.2 319.2 "319"
"mpshim" 300.6 300.6 "301"
EOD
set title "S1 paths, 1B, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:383.04]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 1554.2 1554.2 "1554"
"kMPTCP" 524.3 524.3 "524"
"mpshim" 521.4 521.4 "521"
EOD
set title "S1 paths, 1B, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:1865.04]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 273.2 273.2 "273"
"kMPTCP" 415.3 415.3 "415"
"mpshim" 414.7 414.7 "415"
EOD
set title "S1 paths, 4KB, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:498.36]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 1330.6 1330.6 "1331"
"kMPTCP" 712.3 712.3 "712"
"mpshim" 551.8 551.8 "552"
EOD
set title "S1 paths, 4KB, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:1596.72]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
