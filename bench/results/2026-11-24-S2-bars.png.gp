set terminal pngcairo size 1360,370 font "Sans,10"
set output "/work/main/bench/results/2026-11-24-S2-bars.png"
set multiplot layout 1,4 title "S2: 50 Mbit/s 10 ms RTT + 20 Mbit/s 60 ms RTT, 0.5% loss on path 2  (2026-11-24, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 48.26 48.26 "48.3"
"kMPTCP" 50.06 50.06 "50.1"
"mpshim" 60.57 60.57 "60.6"
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
"TCP" 76.3 76.3 "76"
"kMPTCP" 81.5 81.5 "82"
"mpshim" 77 77 "77"
EOD
set title "256KB download completion (median)"
set ylabel "ms"
set yrange [0:97.8]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 206.6 206.6 "207"
"kMPTCP" 207.8 207.8 "208"
"mpshim" 207.2 207.2 "207"
EOD
set title "1MB download completion (median)"
set ylabel "ms"
set yrange [0:249.36]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 1770.9 1770.9 "1771"
"kMPTCP" 1670.5 1670.5 "1670"
"mpshim" 1502.3 1502.3 "1502"
EOD
set title "10MB download completion (median)"
set ylabel "ms"
set yrange [0:2125.08]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
