set terminal pngcairo size 1360,370 font "Sans,10"
set output "/work/main/bench/results/bbr/2026-11-23-S2-bars.png"
set multiplot layout 1,4 title "S2: 50 Mbit/s 10 ms RTT + 20 Mbit/s 60 ms RTT, 0.5% loss on path 2  (2026-11-23, cc bbr)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 47.74 47.74 "47.7"
"kMPTCP" 65.5 65.5 "65.5"
"mpshim" 66.7 66.7 "66.7"
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
"TCP" 77.8 77.8 "78"
"kMPTCP" 82.8 82.8 "83"
"mpshim" 88.3 88.3 "88"
EOD
set title "256KB download completion (median)"
set ylabel "ms"
set yrange [0:105.96]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 208.2 208.2 "208"
"kMPTCP" 211.8 211.8 "212"
"mpshim" 218.5 218.5 "218"
EOD
set title "1MB download completion (median)"
set ylabel "ms"
set yrange [0:262.2]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 1772.6 1772.6 "1773"
"kMPTCP" 1520 1520 "1520"
"mpshim" 1506.9 1506.9 "1507"
EOD
set title "10MB download completion (median)"
set ylabel "ms"
set yrange [0:2127.12]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
