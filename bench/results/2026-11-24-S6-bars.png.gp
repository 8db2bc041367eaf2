set terminal pngcairo size 820,370 font "Sans,10"
set output "/work/main/bench/results/2026-11-24-S6-bars.png"
set multiplot layout 1,2 title "S6: CPU: unshaped veth paths, one bulk connection  (2026-11-24, cc cubic)"
set grid ytics
set linetype 1 lc rgb "#4c72b0"
set linetype 2 lc rgb "#dd8452"
set linetype 3 lc rgb "#55a868"
$D << EOD
"TCP" 73153.8 73153.8 "73154"
"kMPTCP" 54011.2 54011.2 "54011"
"mpshim" 15721.8 15721.8 "15722"
EOD
set title "goodput (unshaped veth)"
set ylabel "Mbit/s"
set yrange [0:87784.5]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
$D << EOD
"TCP" 0.181 0.181 "0.18"
"kMPTCP" 0.236 0.236 "0.24"
"mpshim" 0.942 0.942 "0.94"
EOD
set title "CPU seconds per GB (client+server+proxyd)"
set ylabel "CPU s/GB"
set yrange [0:1.1304]
set xrange [-0.6:2.6]
set style fill solid 0.8
set xzeroaxis lt -1
set boxwidth 0.6
unset key
plot $D using 0:2:($0+1):xtic(1) with boxes lc variable notitle, $D using 0:3:4 with labels offset 0,0.8 notitle
unset multiplot
