set terminal pngcairo size 820,370 font "Sans,10"
set output "/work/main/bench/results/2026-11-23-S6-bars.png"
set multiplot layout 1,2 title "S6: CPU: unshaped veth paths, one bulk connection  (2026-11-23, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 68443.3 68443.3 "68443"
"kMPTCP" 42920.7 42920.7 "42921"
"mpshim" 14071.8 14071.8 "14072"
EOD
set title "goodput (unshaped veth)"
set ylabel "Mbit/s"
set yrange [0:82131.9]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 0.189 0.189 "0.19"
"kMPTCP" 0.262 0.262 "0.26"
"mpshim" 1.056 1.056 "1.06"
EOD
set title "CPU seconds per GB (client+server+proxyd)"
set ylabel "CPU s/GB"
set yrange [0:1.2672]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
