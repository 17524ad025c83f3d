#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh ("make demo"): KSM doing its main job, merging the memory of
# virtual machines. Boots our kernel under QEMU as a small virtualization
# host (the outer guest, 2 GiB, 2 CPUs) where demo-guest.sh starts ksmtuned
# and two inner QEMU guests of 256 MiB (TCG, mem-merge=on, free page
# reporting) that boot the same kernel with a busybox initramfs whose /init
# is demo-inner-init. Then plots what it sampled.
#
# Results in build/runs/demo/: samples.csv and events.csv (see
# demo-guest.sh), ksm-demo.png, the consoles (console.log of the outer
# guest, inner*-console.log) and ksmtuned.log. Takes 2-4 minutes.
# Exit status 0 only if KSM merged something and the outer guest's run was
# clean (see run-guest.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
build=${BUILD:-$top/build}
begin=$SECONDS

"$top/scripts/overlay/kernel.sh" ours fast
make -s -C "$top/tools/ksm"
kernel=$build/ours-fast/arch/x86/boot/bzImage

# The inner guests' initramfs: busybox, demo-inner-init, and the workload,
# static since there is no libc in there.
mkdir -p "$build/demo"
workload=$build/demo/dup-workload
if [ ! -x "$workload" ] || [ "$here/dup-workload.c" -nt "$workload" ]; then
	gcc -static -Wall -Wextra -Werror -O2 -o "$workload" "$here/dup-workload.c"
fi
initrd=$build/demo/inner-initramfs.cpio
"$here/initramfs.sh" "$initrd" "$here/demo-inner-init" "$workload"
command -v gnuplot >/dev/null || "$top/scripts/overlay/deps.sh"

out=$build/runs/demo
rm -rf "$out"
mkdir -p "$out"
rc=0
"$here/run-guest.sh" -o "$out" -m 2G -c 2 -t 480 "$kernel" \
	"$here/demo-guest.sh" "$kernel" "$initrd" || rc=$?

samples=$out/samples.csv
if [ ! -s "$samples" ] || [ "$(wc -l <"$samples")" -lt 3 ]; then
	echo "demo: FAIL: the outer guest recorded no samples (see $out/console.log)"
	exit 1
fi

# Mark the phases on the plot: a dotted line and a short label each.
marks=$(awk -F, 'NR > 1 {
	e = $2
	if (e ~ /started/) l = "inner guests start"
	else if (e ~ /up$/) l = "up"
	else if (e ~ /loaded$/) l = "loaded"
	else if (e ~ /^release/) l = "release"
	else if (e ~ /released$/) l = "freed"
	else if (e ~ /^stop/) l = "stop"
	else if (e ~ /powered off/) l = "off"
	else l = e
	printf "set arrow from %s, graph 0 to %s, graph 1 nohead dt 3 lc rgb \"gray50\"\n", $1, $1
	printf "set label \"%s\" at %s, graph 0.98 rotate by 90 right offset -0.6, 0 font \",9\" tc rgb \"gray30\"\n", l, $1
}' "$out/events.csv")
png=$out/ksm-demo.png
gnuplot <<EOF
set terminal pngcairo size 1200,860 font "sans,10" noenhanced
set output "$png"
set datafile separator ","
set key top left opaque box
set grid
set xlabel "seconds since the outer guest started the demo"
set multiplot layout 2,1 title "KSM merging two nested QEMU guests (256 MiB each, TCG) on kernel $(cat "$build/ours-fast/.ksm-upstream" 2>/dev/null || echo 6.12) + our KSM" font ",12"
$marks
set title "KSM in the outer guest (4 KiB pages shown in MiB)"
set ylabel "MiB"
plot "$samples" using 1:(\$2/256) skip 1 with lines lw 2 lc rgb "#1f77b4" title "pages_sharing (merged into a KSM page)", \
     "$samples" using 1:(\$4/256) skip 1 with lines lw 2 lc rgb "#2ca02c" title "ksm_zero_pages (merged into the zero page)", \
     "$samples" using 1:((\$2+\$4)/256) skip 1 with lines lw 1 dt 2 lc rgb "black" title "saved (pages_sharing + ksm_zero_pages)", \
     "$samples" using 1:(\$3/256) skip 1 with lines lw 1 lc rgb "#9467bd" title "pages_shared (the KSM pages themselves)"
unset label
set title "Memory: free page reporting returns what the inner guests free"
set ylabel "inner guests' RAM resident, MiB"
set y2label "outer guest MemFree, MiB"
set y2tics
set ytics nomirror
plot "$samples" using 1:(\$6/1024) skip 1 with lines lw 2 lc rgb "#d62728" axes x1y1 title "inner guests' RAM resident in the outer guest (Rss of their MADV_MERGEABLE mappings)", \
     "$samples" using 1:(\$7/1024) skip 1 with lines lw 2 lc rgb "#ff7f0e" axes x1y2 title "outer guest MemFree (right axis)"
unset multiplot
EOF

# The summary, from the samples themselves (the resident RAM only until
# the inner guests were told to power off).
stop_t=$(awk -F, '$2 ~ /^stop/ { print $1 }' "$out/events.csv")
summary=$(awk -F, -v stop="${stop_t:-1e9}" '
	NR == 1 { next }
	$2 + $4 > best { best = $2 + $4; t = $1; s = $2; z = $4 }
	$2 > maxsg { maxsg = $2 }
	$1 <= stop && $6 > hi { hi = $6; lo = $6 }
	$1 <= stop && $6 < lo { lo = $6 }
	END {
		printf "demo: inner guests\047 resident RAM peaked at %d MiB, then fell to %d MiB\n", hi / 1024, lo / 1024
		printf "demo: peak saving %.1f MiB at %ss: pages_sharing %d (%.1f MiB) + ksm_zero_pages %d (%.1f MiB); highest pages_sharing %d (%.1f MiB)\n",
			best / 256, t, s, s / 256, z, z / 256, maxsg, maxsg / 256
	}' "$samples")
echo
echo "demo: plot: $png"
echo "demo: samples: $samples; consoles and logs in $out/"
echo "$summary"
echo "demo: wall time $((SECONDS - begin)) s, $([ $rc -eq 0 ] && echo ok || echo FAILED)"
if [ $rc -ne 0 ]; then
	echo "demo: FAIL: $(grep -a '^demo: FAIL' "$out/console.log" | tail -n 1 | tr -d '\r' || true)" \
		"$(grep -a FAIL "$out/verdict" | head -n 1 || true)"
fi
exit $rc
