set terminal pngcairo size 1360,700 font "Sans,10"
set output "/work/main/bench/results/2026-11-23-S5-bars.png"
set multiplot layout 2,4 title "S5: request/response ping-pong over one connection  (2026-11-23, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 72.4 72.4 "72"
"kMPTCP" 77.9 77.9 "78"
"mpshim" 160.1 160.1 "160"
EOD
set title "loopback, 1B, RTT p50"
set ylabel "µs"
set yrange [0:192.12]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 104.9 104.9 "105"
"kMPTCP" 128.2 128.2 "128"
"mpshim" 243.6 243.6 "244"
EOD
set title "loopback, 1B, RTT p99"
set ylabel "µs"
set yrange [0:292.32]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 78 78 "78"
"kMPTCP" 73.1 73.1 "73"
"mpshim" 203.9 203.9 "204"
EOD
set title "loopback, 4KB, RTT p50"
set ylabel "µs"
set yrange [0:244.68]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 136.4 136.4 "136"
"kMPTCP" 129.5 129.5 "130"
"mpshim" 322.7 322.7 "323"
EOD
set title "loopback, 4KB, RTT p99"
set ylabel "µs"
set yrange [0:387.24]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 641 641 "641"
"kMPTCP" 738.5 738.5 "738"
"mpshim" 512.2 512.2 "512"
EOD
set title "S1 paths, 1B, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:886.2]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 1603.6 1603.6 "1604"
"kMPTCP" 991.8 991.8 "992"
"mpshim" 978.4 978.4 "978"
EOD
set title "S1 paths, 1B, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:1924.32]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 582.3 582.3 "582"
"kMPTCP" 635.4 635.4 "635"
"mpshim" 611.8 611.8 "612"
EOD
set title "S1 paths, 4KB, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:762.48]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 829.4 829.4 "829"
"kMPTCP" 796.2 796.2 "796"
"mpshim" 818.3 818.3 "818"
EOD
set title "S1 paths, 4KB, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:995.28]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
