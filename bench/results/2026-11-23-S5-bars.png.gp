set terminal pngcairo size 1360,700 font "Sans,10"
set output "/work/main/bench/results/2026-11-23-S5-bars.png"
set multiplot layout 2,4 title "S5: request/response ping-pong over one connection  (2026-11-23, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 56.5 56.5 "56"
"kMPTCP" 58.8 58.8 "59"
"mpshim" 125.6 125.6 "126"
EOD
set title "loopback, 1B, RTT p50"
set ylabel "µs"
set yrange [0:150.72]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 78.5 78.5 "78"
"kMPTCP" 80.9 80.9 "81"
"mpshim" 184.5 184.5 "184"
EOD
set title "loopback, 1B, RTT p99"
set ylabel "µs"
set yrange [0:221.4]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 56 56 "56"
"kMPTCP" 55.7 55.7 "56"
"mpshim" 119.6 119.6 "120"
EOD
set title "loopback, 4KB, RTT p50"
set ylabel "µs"
set yrange [0:143.52]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 74.5 74.5 "74"
"kMPTCP" 98.8 98.8 "99"
"mpshim" 242.4 242.4 "242"
EOD
set title "loopback, 4KB, RTT p99"
set ylabel "µs"
set yrange [0:290.88]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 489.9 489.9 "490"
"kMPTCP" 521.8 521.8 "522"
"mpshim" 342.3 342.3 "342"
EOD
set title "S1 paths, 1B, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:626.16]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 688.5 688.5 "688"
"kMPTCP" 745.2 745.2 "745"
"mpshim" 526.2 526.2 "526"
EOD
set title "S1 paths, 1B, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:894.24]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 403.4 403.4 "403"
"kMPTCP" 394.8 394.8 "395"
"mpshim" 374.7 374.7 "375"
EOD
set title "S1 paths, 4KB, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:484.08]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 679.9 679.9 "680"
"kMPTCP" 628.2 628.2 "628"
"mpshim" 603.1 603.1 "603"
EOD
set title "S1 paths, 4KB, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:815.88]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
