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
#   BENCH_PROFILE=0       1: after the run, the profile of bench.sh --profile
#
# bench.sh --report redoes the tables and the plot from the last run.
#
# bench.sh --profile profiles ksmd instead: it builds the "profile" kernels
# (scripts/overlay/kernel.sh stock|ours profile: fast plus the function
# profiler), boots each once with workload 1's memory at 1000 pages/0 ms,
# and writes build/bench/profile-stock.txt, profile-ours.txt and
# profile-summary.txt: perf's cpu-clock samples of ksmd while it merges
# from nothing and while the memory stands still, ftrace's function
# profile of the KSM code standing still, and KSM's slab caches per
# tracked page (bench/profile.py). BENCH_PROFILE_SECS=10 sets the seconds
# of each standing-still phase; BENCH_PROFILE_STOCK=fast profiles stock's
# fast kernel instead (perf only, no kernel to build).
#
# Guest side (run by the guest, not by hand):
#   bench.sh --guest stock|ours|nodom SCALE(0|1) UPSTREAM(0|1) KSM_BENCH_OPTION...
#   bench.sh --guest-profile KSM_BENCH_OPTION...
#   bench.sh --prof-hook start|stop merge|still|ftrace   (ksm_bench -x)
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

if [ "${1:-}" = --guest-profile ]; then
	shift
	res=$KSMRUN_OUT
	exec "$here/bench/ksm_bench" -o "$res/results.txt" -d "$res" \
		-x "$here/bench.sh --prof-hook" -K "${BENCH_PROFILE_SECS:-10}" "$@" profile
fi

# The profile hook, in the guest: perf record on ksmd for the merge and
# still phases (started disabled, enabled and disabled through its control
# FIFOs, so that it records exactly the phase), the function profiler on
# the KSM functions for the ftrace phase.
if [ "${1:-}" = --prof-hook ]; then
	action=$2 phase=$3 res=$KSMRUN_OUT
	ctl=/tmp/perf-$phase.ctl ack=/tmp/perf-$phase.ack
	tr=/sys/kernel/tracing
	case $action:$phase in
	*:ftrace)
		# A kernel without the function profiler: nothing to record.
		[ -e $tr/function_profile_enabled ] || exit 0
		;;&
	start:ftrace)
		echo 0 >$tr/function_profile_enabled
		echo nop >$tr/current_tracer
		# The KSM functions and those they call (bench.sh --profile
		# lists them from the objects), where ftrace can trace them;
		# not the lock and RCU primitives, which interrupts run too:
		# under TCG a CPU may still run a call site's int3 after
		# ftrace has finished patching it, and oops.
		grep -Fxf "$res/ftrace-functions.txt" $tr/available_filter_functions |
			grep -vE '^(_raw_|queued_|__rcu_|rcu_|mutex_|__mutex_)' |
			sort -u >"$res/ftrace-filter.txt"
		cat "$res/ftrace-filter.txt" >$tr/set_ftrace_filter
		echo "$KSMD_PID" >$tr/set_ftrace_pid
		# Time in the function itself, not in what it calls or sleeps.
		echo 0 >$tr/options/graph-time
		echo 0 >$tr/options/sleep-time
		# ksmd waits while the call sites are patched.
		run=$(cat /sys/kernel/mm/ksm/run)
		echo 0 >/sys/kernel/mm/ksm/run
		echo 1 >$tr/function_profile_enabled
		echo "$run" >/sys/kernel/mm/ksm/run
		;;
	stop:ftrace)
		run=$(cat /sys/kernel/mm/ksm/run)
		echo 0 >/sys/kernel/mm/ksm/run
		echo 0 >$tr/function_profile_enabled
		echo "$run" >/sys/kernel/mm/ksm/run
		for f in $tr/trace_stat/function*; do
			cp "$f" "$res/ftrace-$(basename "$f").txt"
		done
		echo >$tr/set_ftrace_filter
		echo >$tr/set_ftrace_pid
		;;
	start:*)
		rm -f "$ctl" "$ack"
		mkfifo "$ctl" "$ack"
		perf record -e cpu-clock -F 1000 -g -t "$KSMD_PID" -B -N \
			-D -1 --control="fifo:$ctl,$ack" \
			-o "$res/perf-$phase.data" >"$res/perf-$phase.log" 2>&1 &
		echo $! >"/tmp/perf-$phase.pid"
		cp /proc/kallsyms "$res/kallsyms"
		echo enable >"$ctl"
		read -r _ <"$ack"
		;;
	stop:*)
		echo disable >"$ctl"
		read -r _ <"$ack"
		pid=$(cat "/tmp/perf-$phase.pid")
		kill -INT "$pid"
		for _ in $(seq 1 1200); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.5
		done
		! kill -0 "$pid" 2>/dev/null
		;;
	*) echo "bench.sh --prof-hook: unknown $action $phase" >&2; exit 2 ;;
	esac
	exit 0
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

# profile: bench.sh --profile, into $out/profile/<kernel>/ and
# $out/profile-*.txt.
profile() {
	local k kb dir objs pout=$out/profile stock_cfg=${BENCH_PROFILE_STOCK:-profile}
	if [ "${BENCH_BUILD:-1}" = 1 ]; then
		"$top/scripts/overlay/kernel.sh" stock "$stock_cfg"
		"$top/scripts/overlay/kernel.sh" ours profile
	fi
	make -s -C "$here/bench"
	rm -rf "$pout" "$out"/profile-*.txt
	for k in stock ours; do
		kb=$build/$k-profile
		[ $k = stock ] && kb=$build/stock-$stock_cfg
		dir=$pout/$k
		mkdir -p "$dir"
		echo "${kb##*/}" >"$dir/kernel"
		# What ftrace profiles: the functions of the KSM objects and
		# the functions they call.
		case $k in
		stock) objs=("$kb/mm/ksm.o") ;;
		ours) mapfile -t objs < <(find "$kb/mm/ksm" -maxdepth 1 -name '*.o' | sort) ;;
		esac
		nm "${objs[@]}" | awk '(NF == 3 && $2 ~ /^[tT]$/) { print $3 }
			(NF == 2 && $1 == "U") { print $2 }' | sort -u >"$dir/ftrace-functions.txt"
		echo "bench: profile, $k kernel" >&2
		local t0=$SECONDS
		if ! "$here/run-guest.sh" -q -o "$dir" -m 4G -a "slab_nomerge" -t 1500 \
			"$kb/arch/x86/boot/bzImage" \
			"$here/bench.sh" --guest-profile "${args[@]}"; then
			echo "bench: FAILED profile boot: $k: $(head -n 1 "$dir/verdict")" >&2
			return 1
		fi
		echo "bench:   $((SECONDS - t0)) s" >&2
	done
	python3 "$here/bench/profile.py" "$pout" "$build" "$out"
}

if [ "${1:-}" = --profile ]; then
	profile
	exit
fi

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

# Keep a profile of bench.sh --profile: only this run's files go.
rm -rf "$out/runs" "$out"/results.* "$out"/results-*.json "$out"/pages_sharing.*
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
if [ "${BENCH_PROFILE:-0}" = 1 ]; then
	profile || failed+=("profile")
	echo "bench: with the profile, $(($(date +%s) - start)) s" >&2
fi
[ ${#failed[@]} -eq 0 ]
