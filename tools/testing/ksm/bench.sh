#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh: `make bench`. Build the stock and our fast kernels (nothing to
# do when they are up to date), boot them in turn, stock, ours, stock,
# ours, ..., each boot running the workloads of tools/testing/ksm/bench
# and upstream's ksm_tests timings, then write
#
#   build/bench/results.json  every figure of every boot, the medians and
#                             ours/stock ratios, the targets
#   build/bench/results.csv   the summary table, one figure a line
#   build/bench/results.md    the same as a markdown table (also printed)
#   build/bench/pages_sharing.png  pages_sharing over time, workload 1
#
# Settings (environment):
#   BENCH_ROUNDS=3        boots of each kernel
#   BENCH_SCALE_ROUNDS=1  of those, how many also run the scale workload
#   BENCH_PROCS=4 BENCH_MIB=64 BENCH_SHARE=50   workload 1
#   BENCH_SCALE=256,1024,2048,4096,8192   workload 7 sizes, MiB in total
#   BENCH_MEM=            guest memory (default: 4G, or the largest scale
#                         point plus 4 GiB when that is more: 12G)
#   BENCH_UPSTREAM_ROUNDS=1  of those, how many also run upstream's
#                         ksm_tests -P/-H/-D/-C (0: none)
#   BENCH_ARGS=           more options for ksm_bench
#   BENCH_BUILD=1         build the kernels first (0: use what is there)
#   BENCH_NODOM=1         also boot "nodom", our kernel built without
#                         CONFIG_KSM_MERGE_DOMAINS, after each ours boot,
#                         with workloads 1 and 2 only: the cost of merge
#                         domains while they are off (0: skip it)
#
# bench.sh --report redoes the tables and the plot from the last run.
#
# Guest side (run by the guest, not by hand):
#   bench.sh --guest stock|ours|nodom SCALE(0|1) UPSTREAM(0|1) KSM_BENCH_OPTION...
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
build=${BUILD:-$top/build}

if [ "${1:-}" = --guest ]; then
	which=$2 scale=$3 upstream=$4
	shift 4
	res=$KSMRUN_OUT
	work=(merge-default merge-fast volatile cow)
	[ "$which" = nodom ] && work=(merge-default merge-fast)
	[ "$scale" = 1 ] && work+=(scale)
	rc=0
	"$here/bench/ksm_bench" -o "$res/results.txt" -d "$res" "$@" "${work[@]}" || rc=1
	up=$build/$which-selftests/ksm_tests
	if [ "$upstream" = 1 ]; then
		for t in P H D C; do
			log=$res/ksm_tests-$t.txt
			# -l: ksm_tests gives up after 120 s of scanning; under a
			# loaded host its merges at 10 pages a batch take longer.
			case $t in C) args=(-C -l 900) ;; *) args=("-$t" -s 100 -l 900) ;; esac
			if ! "$up" "${args[@]}" >"$log" 2>&1; then
				echo "ksm_tests ${args[*]} failed" >&2
				echo "up.$t.failed=1" >>"$res/results.txt"
				rc=1
				continue
			fi
			# -C prints the unmerged time first, then the merged one.
			secs=$(sed -n 's/^# Total time: *\([0-9.]*\) s$/\1/p' "$log" | tail -n 1)
			echo "up.$t.seconds=${secs:--1}" >>"$res/results.txt"
		done
	fi
	exit $rc
fi

rounds=${BENCH_ROUNDS:-3}
scale_rounds=${BENCH_SCALE_ROUNDS:-1}
scale_list=${BENCH_SCALE:-256,1024,2048,4096,8192}
largest=$(tr , '\n' <<<"$scale_list" | sort -n | tail -n 1)
# Room for the largest scale point: 4 GiB more than it, 4 GiB at least.
if [ -n "${BENCH_MEM:-}" ]; then
	mem=$BENCH_MEM
elif [ "$largest" -gt 2048 ]; then
	mem=$(((largest + 1023) / 1024 + 4))G
else
	mem=4G
fi
upstream_rounds=${BENCH_UPSTREAM_ROUNDS:-1}
nodom=${BENCH_NODOM:-1}
kernels=(stock ours)
[ "$nodom" = 1 ] && kernels+=(nodom)
out=$build/bench
start=$(date +%s)

# A boot's time limit: 1500 s, plus for the scale workload 0.3 s per MiB of
# its points (stock's 8 GiB point alone took 25 minutes under TCG on a
# loaded host), plus 1200 s for upstream's ksm_tests.
scale_mib=$(($(tr , + <<<"$scale_list")))
scale_limit=$((1500 + scale_mib * 3 / 10))

# The same file content for both kernels: this image does not change
# during the run.
files=$build/stock-fast/arch/x86/boot/bzImage,/lib/x86_64-linux-gnu/libc.so.6
files+=,$build/initramfs.cpio,/usr/bin/perl,/usr/bin/python3.11
args=(-n "${BENCH_PROCS:-4}" -m "${BENCH_MIB:-64}" -s "${BENCH_SHARE:-50}"
      -S "$scale_list" -f "$files")
# shellcheck disable=SC2206
args+=(${BENCH_ARGS:-})

# report BUILD_SECONDS GUEST_SECONDS: the tables and the plot from $out/runs.
report() {
	python3 "$here/bench/report.py" "$out" "$rounds" \
		"$(cat "$build/stock-fast/.ksm-upstream" 2>/dev/null || echo unknown)" \
		"$1" "$2"

	if command -v gnuplot >/dev/null; then
		plot=()
		for k in stock ours; do
			for w in default fast; do
				f=$out/runs/$k-1/trace-w1_$w.dat
				[ -s "$f" ] && plot+=("$k:$w:$f")
			done
		done
		{
			echo "set terminal pngcairo noenhanced size 1100,450 font ',10'"
			echo "set output '$out/pages_sharing.png'"
			echo "set multiplot layout 1,2 title 'KSM workload 1 (round 1): pages_sharing over time, stock vs ours; dashed: ideal'"
			for w in default fast; do
				case $w in
				default) echo "set title 'pages_to_scan=100 sleep_millisecs=20'" ;;
				fast) echo "set title 'pages_to_scan=1000 sleep_millisecs=0'" ;;
				esac
				ideal=$(sed -n "s/^w1_$w.ideal_sharing=//p" "$out/runs/stock-1/results.txt" 2>/dev/null || true)
				echo "set xlabel 'seconds since ksmd started'"
				echo "set ylabel 'pages_sharing'"
				echo "set key right bottom"
				echo "set grid"
				line="plot"
				sep=
				for p in "${plot[@]}"; do
					IFS=: read -r k pw f <<<"$p"
					[ "$pw" = "$w" ] || continue
					line+="$sep '$f' using 1:2 with lines lw 2 title '$k'"
					sep=,
				done
				[ -n "$ideal" ] && line+="$sep $ideal with lines dt 2 lc 'gray' notitle"
				[ -n "$sep" ] && echo "$line"
			done
			echo "unset multiplot"
		} >"$out/pages_sharing.gp"
		gnuplot "$out/pages_sharing.gp" && echo "bench: plot in $out/pages_sharing.png" >&2
	else
		echo "bench: gnuplot is not installed, no plot" >&2
	fi
}

# bench.sh --report: redo the tables and the plot of the last run.
if [ "${1:-}" = --report ]; then
	rounds=$(find "$out/runs" -maxdepth 1 -name 'stock-*' | wc -l)
	report 0 0
	exit 0
fi

if [ "${BENCH_BUILD:-1}" = 1 ]; then
	"$top/scripts/overlay/kernel.sh" stock fast
	"$top/scripts/overlay/kernel.sh" ours fast
	[ "$nodom" = 1 ] && "$top/scripts/overlay/kernel.sh" ours nodomains
fi
if [ "$upstream_rounds" -gt 0 ]; then
	"$top/scripts/overlay/selftests.sh" stock
	"$top/scripts/overlay/selftests.sh" ours
fi
make -s -C "$here/bench"
built=$(date +%s)

rm -rf "$out"
mkdir -p "$out/runs"
failed=()
for r in $(seq 1 "$rounds"); do
	for k in "${kernels[@]}"; do
		dir=$out/runs/$k-$r
		scale=0 upstream=0 image=$build/$k-fast/arch/x86/boot/bzImage
		limit=1500
		[ "$r" -le "$scale_rounds" ] && scale=1 limit=$scale_limit
		[ "$r" -le "$upstream_rounds" ] && upstream=1 limit=$((limit + 1200))
		[ $k = nodom ] && scale=0 upstream=0 limit=1500 image=$build/ours-nodomains/arch/x86/boot/bzImage
		echo "bench: round $r/$rounds, $k kernel$([ $scale = 1 ] && echo ", scale")$([ $upstream = 1 ] && echo ", ksm_tests")" >&2
		t0=$(date +%s)
		if ! "$here/run-guest.sh" -q -o "$dir" \
			-m "$mem" -a "slab_nomerge" -t "$limit" \
			"$image" \
			"$here/bench.sh" --guest "$k" "$scale" "$upstream" "${args[@]}"; then
			failed+=("$k round $r: $(head -n 1 "$dir/verdict")")
		fi
		echo "$(($(date +%s) - t0))" >"$dir/wall_s"
		echo "bench:   $(cat "$dir/wall_s") s" >&2
	done
done
guest=$(date +%s)

report "$((built - start))" "$((guest - built))"

for f in "${failed[@]}"; do echo "bench: FAILED boot: $f" >&2; done
echo "bench: total $(($(date +%s) - start)) s (builds $((built - start)) s, guests $((guest - built)) s)" >&2
[ ${#failed[@]} -eq 0 ]
