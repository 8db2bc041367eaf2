set terminal pngcairo size 1360,370 font "Sans,10"
set output "/work/main/bench/results/fastopen/2026-11-24-S2-bars.png"
set multiplot layout 1,4 title "S2: 50 Mbit/s 10 ms RTT + 20 Mbit/s 60 ms RTT, 0.5% loss on path 2  (2026-11-24, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 48.25 48.25 "48.2"
"kMPTCP" 50.29 50.29 "50.3"
"mpshim" 60.53 60.53 "60.5"
EOD
set title "bulk goodput, one connection"
set ylabel "Mbit/s"
set yrange [0:81.084]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
set key top left
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle, 67.57 with lines dt 2 lw 2 lc "black" title "limit 67.6 Mbit/s"
$D << EOD
"TCP" 76.4 76.4 "76"
"kMPTCP" 83 83 "83"
"mpshim" 67.6 67.6 "68"
EOD
set title "256KB download completion (median)"
set ylabel "ms"
set yrange [0:99.6]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 206.7 206.7 "207"
"kMPTCP" 210.1 210.1 "210"
"mpshim" 198.1 198.1 "198"
EOD
set title "1MB download completion (median)"
set ylabel "ms"
set yrange [0:252.12]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 1770.9 1770.9 "1771"
"kMPTCP" 1704.8 1704.8 "1705"
"mpshim" 1797.9 1797.9 "1798"
EOD
set title "10MB download completion (median)"
set ylabel "ms"
set yrange [0:2157.48]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
