#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh ("make demo"): KSM doing its main job, merging the memory of
# virtual machines. Boots our kernel under QEMU as a small virtualization
# host (the outer guest, 2 GiB, 2 CPUs) where demo-guest.sh starts ksmtuned
# and two inner QEMU guests of 256 MiB (TCG, mem-merge=on, free page
# reporting) that boot the same kernel with a busybox initramfs whose /init
# is demo-inner-init. Then plots what it sampled. At the height of the
# merging, demo-frames reads which physical frames each inner guest's RAM
# maps, and the demo prints how many frames the two guests share.
#
# DEMO_DOMAINS=1 (or "make demo DOMAINS=1"): merge domains. Each inner
# guest runs in a memory cgroup of its own (/sys/fs/cgroup/tenant-a and
# tenant-b) with merge_across_cgroups=0, so pages merge only inside each
# guest, and the demo fails unless both merged pages and no frame but the
# zero page is shared across the guests. So that each guest has
# duplicates of its own, its workload is two processes of 24 MiB instead
# of one of 48 MiB (DEMO_PROCS=N sets that in either mode).
# DEMO_KERNEL=BZIMAGE: boot that kernel and do not build one (its upstream
# version for the plot is read from .ksm-upstream next to it, if there).
# DEMO_SLOW=N multiplies the time limits by N, for a slow or busy machine,
# where the nested guests take minutes to boot ("inner guests not loaded
# in time"; the demo then shows little more than their boot).
#
# Results in build/runs/demo/: samples.csv, events.csv, frames.txt,
# guests.csv and ksmctl-status.txt (see demo-guest.sh), ksm-demo.png, the
# consoles (console.log of the outer guest, inner*-console.log) and
# ksmtuned.log; build/demo/cross-guest-{normal,domains} keep the last
# figure of each mode for comparison. Takes 2-4 minutes.
# Exit status 0 only if KSM merged something and the outer guest's run was
# clean (see run-guest.sh), and in domains mode only if the domains held.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
build=${BUILD:-$top/build}
begin=$SECONDS
domains=${DEMO_DOMAINS:-${DOMAINS:-0}}
case $domains in
0|1) ;;
*) echo "demo: DEMO_DOMAINS (DOMAINS) is 0 or 1, not $domains" >&2; exit 2 ;;
esac
procs=${DEMO_PROCS:-$((domains + 1))}
slow=${DEMO_SLOW:-1}
[[ $slow =~ ^[1-9][0-9]?$ ]] || { echo "demo: DEMO_SLOW is 1 to 99, not $slow" >&2; exit 2; }
mode=$([ "$domains" -eq 1 ] && echo domains || echo normal)

if [ -n "${DEMO_KERNEL:-}" ]; then
	kernel=$DEMO_KERNEL
	[ -f "$kernel" ] || { echo "demo: no kernel image $kernel (DEMO_KERNEL)" >&2; exit 2; }
	version_file=$(dirname "$kernel")/.ksm-upstream
else
	"$top/scripts/overlay/kernel.sh" ours fast
	kernel=$build/ours-fast/arch/x86/boot/bzImage
	version_file=$build/ours-fast/.ksm-upstream
fi
make -s -C "$top/tools/ksm"

# The inner guests' initramfs: busybox, demo-inner-init, and the workload,
# static since there is no libc in there.
mkdir -p "$build/demo"
workload=$build/demo/dup-workload
if [ ! -x "$workload" ] || [ "$here/dup-workload.c" -nt "$workload" ]; then
	gcc -static -Wall -Wextra -Werror -O2 -o "$workload" "$here/dup-workload.c"
fi
initrd=$build/demo/inner-initramfs.cpio
"$here/initramfs.sh" "$initrd" "$here/demo-inner-init" "$workload"
# demo-frames runs in the outer guest, which sees this host's files.
frames=$build/demo/demo-frames
if [ ! -x "$frames" ] || [ "$here/demo-frames.c" -nt "$frames" ]; then
	gcc -static -Wall -Wextra -Werror -O2 -o "$frames" "$here/demo-frames.c"
fi
command -v gnuplot >/dev/null || "$top/scripts/overlay/deps.sh"

out=$build/runs/demo
rm -rf "$out"
mkdir -p "$out"
rc=0
guest_opts=(-p "$procs" -f "$frames" -s "$slow")
[ "$domains" -eq 0 ] || guest_opts+=(-D)
"$here/run-guest.sh" -o "$out" -m 2G -c 2 -t $((480 * slow)) "$kernel" \
	"$here/demo-guest.sh" "${guest_opts[@]}" "$kernel" "$initrd" || rc=$?

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
title="KSM merging two nested QEMU guests (256 MiB each, TCG) on kernel $(cat "$version_file" 2>/dev/null || echo 6.12) + our KSM"
guest_lines=
if [ "$domains" -eq 1 ]; then
	title+="\\nmerge domains: merge_across_cgroups=0, each guest in a memory cgroup of its own (the zero page is outside domains)"
	guest_lines=", \"$samples\" using 1:(\$8/256) skip 1 with lines lw 1 lc rgb \"#8c564b\" title \"inner1 (tenant-a): ksm_merging_pages of its QEMU\""
	guest_lines+=", \"$samples\" using 1:(\$9/256) skip 1 with lines lw 1 lc rgb \"#17becf\" title \"inner2 (tenant-b): ksm_merging_pages of its QEMU\""
fi
gnuplot <<EOF
set terminal pngcairo size 1200,860 font "sans,10" noenhanced
set output "$png"
set datafile separator ","
set key top left opaque box
set grid
set xlabel "seconds since the outer guest started the demo"
set multiplot layout 2,1 title "$title" font ",12"
$marks
set title "KSM in the outer guest (4 KiB pages shown in MiB)"
set ylabel "MiB"
plot "$samples" using 1:(\$2/256) skip 1 with lines lw 2 lc rgb "#1f77b4" title "pages_sharing (merged into a KSM page)", \
     "$samples" using 1:(\$4/256) skip 1 with lines lw 2 lc rgb "#2ca02c" title "ksm_zero_pages (merged into the zero page)", \
     "$samples" using 1:((\$2+\$4)/256) skip 1 with lines lw 1 dt 2 lc rgb "black" title "saved (pages_sharing + ksm_zero_pages)", \
     "$samples" using 1:(\$3/256) skip 1 with lines lw 1 lc rgb "#9467bd" title "pages_shared (the KSM pages themselves)"$guest_lines
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
# Frames the two guests share (from frames.txt) and, in domains mode, what
# each domain saved: its pages on KSM pages minus those KSM pages (each
# is in one domain only), from guests.csv; see demo-guest.sh.
cross=$(awk '$1 == "shared" { print $2 }' "$out/frames.txt" 2>/dev/null || true)
when=loaded
grep -q ',inner guests loaded$' "$out/events.csv" || when="still booting"
if [ -n "$cross" ]; then
	crossline="frames shared across the two guests (the zero page not counted): $cross ($((cross / 256)) MiB)"
	[ "$when" = loaded ] || crossline+=", read while the guests were $when"
	echo "$cross $(date '+%F %T') $when" >"$build/demo/cross-guest-$mode"
else
	crossline="frames shared across the two guests: not measured (see $out/frames.err)"
fi
other=$([ "$mode" = domains ] && echo normal || echo domains)
if [ -s "$build/demo/cross-guest-$other" ]; then
	read -r ocross odate otime owhen <"$build/demo/cross-guest-$other"
	crossline+="; $ocross in the last run $([ "$other" = domains ] && echo with || echo without)"
	crossline+=" merge domains ($odate $otime, guests $owhen)"
fi
if [ "$domains" -eq 1 ] && [ -s "$out/guests.csv" ]; then
	summary+=$'\n'$(awk -F, 'NR > 1 {
		sub(".*/", "", $3)
		printf "%s%s (%s) %.1f MiB", (NR > 2 ? ", " : "demo: saved per domain (its pages_sharing): "), $3, $1, ($9 - $10) / 256
		z += $7
	} END { printf "; and %.1f MiB on the shared zero page (ksm_zero_pages), outside domains\n", z / 256 }' "$out/guests.csv")
fi
summary+=$'\n'"demo: $crossline"

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
