set terminal pngcairo size 1360,370 font "Sans,10"
set output "/work/main/bench/results/minrtt/2026-11-23-S2-bars.png"
set multiplot layout 1,4 title "S2: 50 Mbit/s 10 ms RTT + 20 Mbit/s 60 ms RTT, 0.5% loss on path 2  (2026-11-23, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 48.25 48.25 "48.2"
"kMPTCP" 50.41 50.41 "50.4"
"mpshim" 50.83 50.83 "50.8"
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
"TCP" 76.6 76.6 "77"
"kMPTCP" 82.1 82.1 "82"
"mpshim" 90.7 90.7 "91"
EOD
set title "256KB download completion (median)"
set ylabel "ms"
set yrange [0:108.84]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 206.9 206.9 "207"
"kMPTCP" 302.8 302.8 "303"
"mpshim" 333.3 333.3 "333"
EOD
set title "1MB download completion (median)"
set ylabel "ms"
set yrange [0:399.96]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 1771.2 1771.2 "1771"
"kMPTCP" 1790.3 1790.3 "1790"
"mpshim" 1665.9 1665.9 "1666"
EOD
set title "10MB download completion (median)"
set ylabel "ms"
set yrange [0:2148.36]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
