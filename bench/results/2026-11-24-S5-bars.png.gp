set terminal pngcairo size 1360,700 font "Sans,10"
set output "/work/main/bench/results/2026-11-24-S5-bars.png"
set multiplot layout 2,4 title "S5: request/response ping-pong over one connection  (2026-11-24, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 55.3 55.3 "55"
"kMPTCP" 58.3 58.3 "58"
"mpshim" 128.1 128.1 "128"
EOD
set title "loopback, 1B, RTT p50"
set ylabel "µs"
set yrange [0:153.72]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 72.8 72.8 "73"
"kMPTCP" 75.2 75.2 "75"
"mpshim" 172.1 172.1 "172"
EOD
set title "loopback, 1B, RTT p99"
set ylabel "µs"
set yrange [0:206.52]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 55 55 "55"
"kMPTCP" 44.1 44.1 "44"
"mpshim" 119.3 119.3 "119"
EOD
set title "loopback, 4KB, RTT p50"
set ylabel "µs"
set yrange [0:143.16]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 72.4 72.4 "72"
"kMPTCP" 77.7 77.7 "78"
"mpshim" 161.8 161.8 "162"
EOD
set title "loopback, 4KB, RTT p99"
set ylabel "µs"
set yrange [0:194.16]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 347.6 347.6 "348"
"kMPTCP" 243.1 243.1 "243"
"mpshim" 266.7 266.7 "267"
EOD
set title "S1 paths, 1B, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:417.12]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 520.7 520.7 "521"
"kMPTCP" 595.4 595.4 "595"
"mpshim" 1395.4 1395.4 "1395"
EOD
set title "S1 paths, 1B, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:1674.48]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 193 193 "193"
"kMPTCP" 301.3 301.3 "301"
"mpshim" 289.4 289.4 "289"
EOD
set title "S1 paths, 4KB, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:361.56]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 331.6 331.6 "332"
"kMPTCP" 1077.8 1077.8 "1078"
"mpshim" 514.1 514.1 "514"
EOD
set title "S1 paths, 4KB, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:1293.36]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
