set terminal pngcairo size 1360,700 font "Sans,10"
set output "/work/main/bench/results/2026-11-24-S5-bars.png"
set multiplot layout 2,4 title "S5: request/response ping-pong over one connection  (2026-11-24, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 53.6 53.6 "54"
"kMPTCP" 62.2 62.2 "62"
"mpshim" 139.1 139.1 "139"
EOD
set title "loopback, 1B, RTT p50"
set ylabel "µs"
set yrange [0:166.92]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 77.6 77.6 "78"
"kMPTCP" 87.9 87.9 "88"
"mpshim" 204.5 204.5 "204"
EOD
set title "loopback, 1B, RTT p99"
set ylabel "µs"
set yrange [0:245.4]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 52.5 52.5 "52"
"kMPTCP" 57.1 57.1 "57"
"mpshim" 128.5 128.5 "128"
EOD
set title "loopback, 4KB, RTT p50"
set ylabel "µs"
set yrange [0:154.2]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 71.2 71.2 "71"
"kMPTCP" 72.6 72.6 "73"
"mpshim" 181.6 181.6 "182"
EOD
set title "loopback, 4KB, RTT p99"
set ylabel "µs"
set yrange [0:217.92]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 206.6 206.6 "207"
"kMPTCP" 286.4 286.4 "286"
"mpshim" 287.2 287.2 "287"
EOD
set title "S1 paths, 1B, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:344.64]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 419.3 419.3 "419"
"kMPTCP" 712.7 712.7 "713"
"mpshim" 585.6 585.6 "586"
EOD
set title "S1 paths, 1B, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:855.24]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 198.6 198.6 "199"
"kMPTCP" 229.9 229.9 "230"
"mpshim" 243.9 243.9 "244"
EOD
set title "S1 paths, 4KB, RTT p50 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:292.68]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 402.5 402.5 "402"
"kMPTCP" 595.7 595.7 "596"
"mpshim" 519.8 519.8 "520"
EOD
set title "S1 paths, 4KB, RTT p99 minus 20 ms"
set ylabel "µs above the 20 ms path RTT"
set yrange [0:714.84]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
