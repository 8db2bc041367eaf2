set terminal pngcairo size 1360,370 font "Sans,10"
set output "/work/main/bench/results/2026-11-24-S7-bars.png"
set multiplot layout 1,4 title "S7: many connections through mpshim-proxyd  (2026-11-24, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 23563.5 23563.5 "23564"
"kMPTCP" 11366.7 11366.7 "11367"
"mpshim" 3003.4 3003.4 "3003"
EOD
set title "aggregate goodput, 1000 x 1 MB"
set ylabel "Mbit/s"
set yrange [0:28276.2]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 334.8 334.8 "335"
"kMPTCP" 690.9 690.9 "691"
"mpshim" 2700.6 2700.6 "2701"
EOD
set title "completion time p99"
set ylabel "ms"
set yrange [0:3240.72]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 1000 1000 "1000"
"kMPTCP" 1000 1000 "1000"
"mpshim" 1000 1000 "1000"
EOD
set title "connections completed"
set ylabel "count"
set yrange [0:1200]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
set key top left
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle, 1000 with lines dt 2 lw 2 lc "black" title "started"
$D << EOD
"TCP" 2.07812 2.07812 "2"
"kMPTCP" 1.96094 1.96094 "2"
"mpshim" 734.902 734.902 "735"
EOD
set title "peak RSS, server side"
set ylabel "MiB (mpshim: proxyd + server)"
set yrange [0:881.883]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
