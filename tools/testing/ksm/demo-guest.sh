#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo-guest.sh [-D] [-p PROCS] [-f DEMO_FRAMES] [-s SLOW] KERNEL INITRD:
# the outer half of "make demo", run as root in the guest that demo.sh
# boots. It plays a small virtualization host:
#
#  - ksmtuned (tools/ksm) runs KSM, with a configuration that makes it act
#    within seconds (see below); use_zero_pages is on, set with ksmctl;
#  - GUESTS inner QEMU guests (TCG, 256 MiB each, -machine mem-merge=on so
#    that their RAM is MADV_MERGEABLE, virtio-balloon with free page
#    reporting) boot KERNEL with INITRD, whose /init is demo-inner-init;
#  - once they are up, each loads zeros and a half-common workload (PROCS
#    processes, 1 by default, sharing 48 MiB); when merging levels off they
#    free it all (free page reporting then returns that memory to us), and
#    at last they power off.
#
# With -D (merge domains), each inner QEMU runs in a memory cgroup of its
# own, /sys/fs/cgroup/tenant-a, tenant-b, ..., and merge_across_cgroups is
# set to 0 before KSM starts: pages merge inside each guest only.
#
# Just before the release, DEMO_FRAMES (demo-frames.c) reads which frames
# each QEMU's guest RAM maps: $KSMRUN_OUT/frames.txt, with the number of
# frames mapped by both guests (the zero page not counted), and
# $KSMRUN_OUT/guests.csv, a line per inner guest: its pid, cgroup, merge
# domain (ksm_merge_domain in /proc/PID/ksm_stat) and that cgroup's inode,
# ksm_merging_pages, ksm_zero_pages, and from the frames: present pages,
# pages on KSM pages, distinct KSM pages, pages on the zero page.
# $KSMRUN_OUT/ksmctl-status.txt is what "ksmctl status" says then, with
# the DOMAIN column.
#
# -s SLOW multiplies the time limits below by SLOW (default 1), for a
# slow or busy machine, where the nested guests take minutes to boot.
#
# Every second it samples, into $KSMRUN_OUT/samples.csv:
#   t_s               seconds since this script started
#   pages_sharing     /sys/kernel/mm/ksm/pages_sharing
#   pages_shared      /sys/kernel/mm/ksm/pages_shared
#   ksm_zero_pages    /sys/kernel/mm/ksm/ksm_zero_pages
#   pages_to_scan     as ksmtuned set it
#   guest_ram_rss_kib resident memory of the inner guests' RAM: the summed
#                     Rss of the MADV_MERGEABLE mappings of the inner QEMUs
#                     (/proc/PID/smaps). Free page reporting lowers it (QEMU
#                     discards the reported pages), and so does KSM's
#                     use_zero_pages (a zero page is not counted); pages
#                     merged into a KSM page still count in every mapping.
#   memfree_kib       MemFree of this (outer) guest, /proc/meminfo
#   merging_innerN    ksm_merging_pages of inner guest N's QEMU, one column
#                     per guest (/proc/PID/ksm_stat)
# and $KSMRUN_OUT/events.csv (t_s,event) marks the phases. The inner
# guests' consoles are in $KSMRUN_OUT/inner*-console.log, ksmtuned's log in
# $KSMRUN_OUT/ksmtuned.log.
#
# Exit status 0 only if KSM merged something (pages_sharing > 0 at some
# sample) and no inner workload found its memory changed; with -D also only
# if each guest's QEMU was in its own merge domain and had merged pages, and
# no frame other than the zero page was mapped by two guests.
set -euo pipefail
shopt -s extglob

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
usage="usage: demo-guest.sh [-D] [-p PROCS] [-f DEMO_FRAMES] [-s SLOW] KERNEL INITRD"
domains=0 procs=1 slow=1 frames=
while getopts "Dp:f:s:" opt; do
	case $opt in
	D) domains=1 ;;
	p) procs=$OPTARG ;;
	f) frames=$OPTARG ;;
	s) slow=$OPTARG ;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
kernel=${1:?$usage}
initrd=${2:?$usage}
out=${KSMRUN_OUT:?not run by run-guest.sh}
ksm=/sys/kernel/mm/ksm
ksmctl=$top/tools/ksm/ksmctl/ksmctl
ksmtuned=$top/tools/ksm/ksmtuned/ksmtuned

GUESTS=2		# inner guests
GUEST_MEM=256		# MiB of RAM each
LOAD_MIB=48		# dup-workload in each, over PROCS processes (half common to all)
ZERO_MIB=32		# tmpfs file of zeros in each
BOOT_LIMIT=150		# s for the inner guests to boot and load
HOLD_MIN=15		# s the load is held at least...
HOLD_MAX=60		# ...and at most; in between, until merging levels off
RELEASE_LIMIT=60	# s for the inner guests to check and free their load
SETTLE=15		# s to watch free page reporting after the release
STOP_LIMIT=40		# s for the inner guests to power off
PRINT_EVERY=2		# s between status lines (samples: every second)

say() { echo "demo: $*"; }
die() { say "FAIL: $*"; exit 1; }

[ -d $ksm ] || die "this kernel has no $ksm"
[ -x "$ksmctl" ] && [ -x "$ksmtuned" ] || die "tools/ksm is not built (make -C tools/ksm)"
command -v qemu-system-x86_64 >/dev/null || die "no qemu-system-x86_64"
[ -f "$kernel" ] && [ -f "$initrd" ] || die "no inner kernel $kernel or initramfs $initrd"
[[ $procs =~ ^[1-8]$ ]] || die "PROCS is 1 to 8, not $procs"
[[ $slow =~ ^[1-9][0-9]?$ ]] || die "SLOW is 1 to 99, not $slow"
BOOT_LIMIT=$((BOOT_LIMIT * slow)) HOLD_MAX=$((HOLD_MAX * slow))
RELEASE_LIMIT=$((RELEASE_LIMIT * slow)) STOP_LIMIT=$((STOP_LIMIT * slow))
[ -z "$frames" ] || [ -x "$frames" ] || die "no $frames"
[ $domains -eq 0 ] || [ -n "$frames" ] || die "-D needs -f DEMO_FRAMES"

ctl=$(mktemp -d /tmp/demo-ctl.XXXXXX)
qpids=() cgs=() tuned=
cleanup() {
	local p
	touch "$ctl/release" "$ctl/stop" 2>/dev/null || true
	[ -n "$tuned" ] && kill "$tuned" 2>/dev/null
	for p in "${qpids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for p in "${cgs[@]}"; do rmdir "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# Merge domains: a memory cgroup per inner guest, and merge_across_cgroups
# set to 0 while no KSM page exists (KSM has not run yet in this boot; if
# it has, run=2 unmerges everything first, as the kernel requires).
cgroot=/sys/fs/cgroup
if [ $domains -eq 1 ]; then
	[ -f $ksm/merge_across_cgroups ] || die "this kernel has no $ksm/merge_across_cgroups"
	if [ ! -f $cgroot/cgroup.controllers ]; then
		mount -t cgroup2 cgroup2 $cgroot || die "cannot mount cgroup2 at $cgroot"
	fi
	grep -qw memory $cgroot/cgroup.controllers ||
		die "no memory controller in $cgroot/cgroup.controllers"
	echo +memory >$cgroot/cgroup.subtree_control ||
		die "cannot enable the memory controller in $cgroot/cgroup.subtree_control"
	names=(a b c d e f g h)
	for i in $(seq 1 $GUESTS); do
		cg=$cgroot/tenant-${names[i - 1]}
		mkdir -p "$cg" || die "cannot create $cg"
		cgs+=("$cg")
	done
	if ! "$ksmctl" set merge_across_cgroups=0 2>/dev/null; then
		"$ksmctl" unmerge || die "cannot unmerge (run=2)"
		"$ksmctl" set merge_across_cgroups=0 || die "cannot set merge_across_cgroups=0"
	fi
	say "merge domains: merge_across_cgroups=$(<$ksm/merge_across_cgroups)," \
		"cgroup_domain_depth=$(cat $ksm/cgroup_domain_depth 2>/dev/null || echo -);" \
		"inner guests in ${cgs[*]}"
	say "note: use_zero_pages=1, and the zero page is outside domains: zero-filled pages" \
		"of every domain still go to the one shared zero page (it holds no one's data)"
fi

# KSM: zero pages go to the shared zero page (ksm_zero_pages); ksmtuned
# does the rest. Its stock settings wait 60 s between decisions and keep
# KSM off while MemAvailable is above 20% of MemTotal, which a 2 GiB guest
# with two small guests never gets below. Here it decides every 2 s (and at
# once when a mergeable process starts), and memory counts as short once
# the inner guests hold more than 64 MiB (a threshold of what is available
# now minus 64 MiB), so it starts KSM and raises pages_to_scan step by step.
"$ksmctl" set use_zero_pages=1 >/dev/null
if [ -f $ksm/advisor_mode ]; then "$ksmctl" set advisor_mode=none >/dev/null; fi
avail_kib=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
conf=$out/ksmtuned.conf
cat >"$conf" <<EOF
# Written by demo-guest.sh for a demo that lasts minutes, not hours.
KSM_MONITOR_INTERVAL=2
KSM_POLL_INTERVAL=1
KSM_THRES_COEF=0
KSM_THRES_CONST=$((avail_kib - 65536))
KSM_SLEEP_MSEC=2
KSM_NPAGES_BOOST=500
KSM_NPAGES_MIN=100
KSM_NPAGES_MAX=3000
LOGFILE=$out/ksmtuned.log
DEBUG=1
EOF
: >"$out/ksmtuned.log"
"$ksmtuned" -f -c "$conf" &
tuned=$!

t0=$EPOCHREALTIME
now() {		# seconds since t0, to the tenth
	local t=$(( (${EPOCHREALTIME/./} - ${t0/./}) / 100000 ))
	echo "$((t / 10)).$((t % 10))"
}
echo "t_s,event" >"$out/events.csv"
event() {
	echo "$(now),$*" >>"$out/events.csv"
	say "[$(now)s] $*"
}

say "kernel $(uname -r), $(nproc) CPUs, $((avail_kib / 1024)) MiB available;" \
	"booting $GUESTS inner guests of $GUEST_MEM MiB (TCG, mem-merge=on, free page reporting)"
for i in $(seq 1 $GUESTS); do
	(
		# Into the guest's cgroup before exec: all of QEMU starts there.
		if [ $domains -eq 1 ]; then
			echo "$BASHPID" >"${cgs[i - 1]}/cgroup.procs"
		fi
		exec qemu-system-x86_64 -accel tcg,tb-size=64 -machine pc,mem-merge=on \
			-m ${GUEST_MEM}M -smp 1 -nodefaults -display none -no-reboot \
			-serial "file:$out/inner$i-console.log" \
			-kernel "$kernel" -initrd "$initrd" \
			-append "console=ttyS0 quiet panic=-1 kunit.enable=0 demo.name=inner$i demo.index=$i demo.procs=$procs demo.mib=$((LOAD_MIB / procs)) demo.zero_mib=$ZERO_MIB" \
			-device virtio-balloon-pci,free-page-reporting=on \
			-virtfs "local,path=$ctl,mount_tag=ctl,security_model=none"
	) &
	qpids+=($!)
done
event "inner guests started"

# The state line of inner guest $1.
state() { cat "$ctl/inner$1.state" 2>/dev/null || echo booting; }
# all_states PATTERN: whether every inner guest's state matches PATTERN.
all_states() {
	local i
	for i in $(seq 1 $GUESTS); do
		# shellcheck disable=SC2053
		[[ $(state "$i") == $1 ]] || return 1
	done
	return 0
}
running() {
	local p
	for p in "${qpids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done
	return 1
}
# Rss (kB) of the MADV_MERGEABLE mappings of the inner QEMUs still running.
guest_rss() {
	local p files=()
	for p in "${qpids[@]}"; do
		[ -r "/proc/$p/smaps" ] && files+=("/proc/$p/smaps")
	done
	[ ${#files[@]} -gt 0 ] || { echo 0; return; }
	awk '/^[0-9a-f]+-[0-9a-f]+ / { rss = 0 }
	     /^Rss:/ { rss = $2 }
	     /^VmFlags:/ && / mg/ { sum += rss }
	     END { print sum + 0 }' "${files[@]}" 2>/dev/null || echo 0
}
mib() { echo "$(($1 / 256)).$(($1 % 256 * 10 / 256))"; }	# pages -> MiB
# ksm_stat_of PID FIELD: that line's value in /proc/PID/ksm_stat, or 0,
# into $val (no subshell: forks are slow in here).
ksm_stat_of() {
	local k v
	val=0
	{ while read -r k v; do [ "$k" = "$2" ] && val=$v; done </proc/"$1"/ksm_stat; } 2>/dev/null || true
}
# ,ksm_merging_pages of each inner QEMU (0 once it has gone), into $merged.
merging() {
	local p
	merged=
	for p in "${qpids[@]}"; do
		ksm_stat_of "$p" ksm_merging_pages
		merged+=,$val
	done
}

# Which frames the inner guests' RAM maps, and who they are, at the height
# of the hold phase (see the head of this file). In domains mode, print
# what ksmctl says per domain.
snapped=0
snapshot() {
	local i p cg ino dom mp zp
	"$ksmctl" status -o PID,COMM,MODE,MERGING,SAVED,PROFIT,DOMAIN >"$out/ksmctl-status.txt" 2>&1 || true
	if [ $domains -eq 1 ]; then
		say "ksmctl status -o PID,COMM,MODE,MERGING,SAVED,PROFIT,DOMAIN:"
		sed 's/^/demo:   /' "$out/ksmctl-status.txt"
	fi
	[ -n "$frames" ] || return 0
	if ! "$frames" "${qpids[@]}" >"$out/frames.txt" 2>"$out/frames.err"; then
		say "demo-frames failed: $(head -n 3 "$out/frames.err")"
		return 0
	fi
	echo "guest,pid,cgroup,domain,cgroup_ino,ksm_merging_pages,ksm_zero_pages,present,on_ksm,ksm_frames,on_zero" \
		>"$out/guests.csv"
	for i in $(seq 1 $GUESTS); do
		p=${qpids[i - 1]}
		cg=$(sed -n 's/^0:://p' "/proc/$p/cgroup" 2>/dev/null || echo "?")
		ino=$(stat -c %i "$cgroot$cg" 2>/dev/null || echo 0)
		ksm_stat_of "$p" ksm_merge_domain
		dom=$val
		ksm_stat_of "$p" ksm_merging_pages
		mp=$val
		ksm_stat_of "$p" ksm_zero_pages
		zp=$val
		echo "inner$i,$p,$cg,$dom,$ino,$mp,$zp,$(
			awk -v p="$p" '$1 == "pid" && $2 == p { print $6 "," $8 "," $10 "," $12 }' "$out/frames.txt")" \
			>>"$out/guests.csv"
	done
	snapped=1
	awk -F, 'NR > 1 {
		printf "demo: %s (pid %s, cgroup %s, merge domain %s): %d pages present, %d on %d KSM pages, %d on the zero page\n",
			$1, $2, $3, $4, $8, $9, $10, $11 }' "$out/guests.csv"
	say "frames mapped by both guests (zero page not counted):" \
		"$(awk '$1 == "shared" { print $2 " (" $4 " of them KSM pages; zero-page frames left out: " $6 ")" }' "$out/frames.txt")"
}

echo "t_s,pages_sharing,pages_shared,ksm_zero_pages,pages_to_scan,guest_ram_rss_kib,memfree_kib$(
	for i in $(seq 1 $GUESTS); do printf ',merging_inner%d' "$i"; done)" >"$out/samples.csv"
phase=boot phase_t=$SECONDS
peak=0 peak_zero=0 peak_saved=0 peak_t=0 up=0
hist=()		# saved pages at each sample of the hold phase
n=0
while :; do
	sg=$(<$ksm/pages_sharing) sh=$(<$ksm/pages_shared) zp=$(<$ksm/ksm_zero_pages)
	scan=$(<$ksm/pages_to_scan) run=$(<$ksm/run)
	rss=$(guest_rss)
	free=$(awk '/^MemFree:/ { print $2 }' /proc/meminfo)
	t=$(now)
	merging
	echo "$t,$sg,$sh,$zp,$scan,$rss,$free$merged" >>"$out/samples.csv"
	saved=$((sg + zp))
	[ "$sg" -gt "$peak" ] && peak=$sg
	[ "$zp" -gt "$peak_zero" ] && peak_zero=$zp
	[ $saved -gt $peak_saved ] && peak_saved=$saved peak_t=$t
	if [ $((n % PRINT_EVERY)) -eq 0 ]; then
		states=
		for i in $(seq 1 $GUESTS); do states+=" inner$i=$(state "$i" | cut -d' ' -f1 | tr -d ,)"; done
		printf 'demo: %6ss run=%s scan=%-4s sharing %6s (%s MiB)  zero %6s (%s MiB)  saved %s MiB | guest RAM %d MiB  MemFree %d MiB |%s\n' \
			"$t" "$run" "$scan" "$sg" "$(mib "$sg")" "$zp" "$(mib "$zp")" "$(mib $saved)" \
			$((rss / 1024)) $((free / 1024)) "$states"
	fi
	n=$((n + 1))
	elapsed=$((SECONDS - phase_t))

	case $phase in
	boot)
		if [ $up -eq 0 ] && all_states '!(booting)'; then
			up=1
			event "inner guests up"
		fi
		if all_states 'loaded*'; then
			event "inner guests loaded"
			phase=hold phase_t=$SECONDS
		elif [ $elapsed -ge $BOOT_LIMIT ] || ! running; then
			event "inner guests not loaded in time"
			running && snapshot
			phase=release phase_t=$SECONDS
			touch "$ctl/release"
		fi ;;
	hold)
		# Level: saved pages grew by less than 1% (and 64 pages) in 10 s.
		hist+=("$saved")
		old=${hist[$(( ${#hist[@]} > 10 ? ${#hist[@]} - 11 : 0 ))]}
		if [ $elapsed -ge $HOLD_MAX ] || { [ $elapsed -ge $HOLD_MIN ] &&
		   [ ${#hist[@]} -gt 10 ] && [ $((saved - old)) -lt $((64 + old / 100)) ]; }; then
			snapshot
			event "release: the inner guests free their load"
			touch "$ctl/release"
			phase=release phase_t=$SECONDS
		fi ;;
	release)
		if all_states 'released*' || ! running; then
			event "inner guests released"
			phase=settle phase_t=$SECONDS
		elif [ $elapsed -ge $RELEASE_LIMIT ]; then
			event "inner guests did not release in time"
			phase=settle phase_t=$SECONDS
		fi ;;
	settle)
		if [ $elapsed -ge $SETTLE ]; then
			event "stop: the inner guests power off"
			touch "$ctl/stop"
			phase=stop phase_t=$SECONDS
		fi ;;
	stop)
		if ! running; then
			event "inner guests powered off"
			break
		elif [ $elapsed -ge $STOP_LIMIT ]; then
			event "inner guests did not power off, killing them"
			break
		fi ;;
	esac
	# Sample on the second, whatever the sampling itself took.
	us=$((1000000 - 10#${EPOCHREALTIME#*.}))
	printf -v pause '%d.%06d' $((us / 1000000)) $((us % 1000000))
	sleep "$pause"
done

kill "$tuned" 2>/dev/null || true
wait "$tuned" 2>/dev/null || true
tuned=
for p in "${qpids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
qpids=()

bad=0
for i in $(seq 1 $GUESTS); do
	st=$(grep -a '^demo-inner' "$out/inner$i-console.log" | tail -n 1 || true)
	say "inner$i: ${st:-no output}"
	case $(grep -a 'workload' "$out/inner$i-console.log" | tail -n 1 || true) in
	*FAILED*) bad=1 ;;
	esac
done
say "ksmtuned's last decision: $(grep -a 'KSM running\|KSM stopped' "$out/ksmtuned.log" | tail -n 1 | sed 's/.*: KSM/KSM/' || true)"
say "peak: pages_sharing $peak ($(mib $peak) MiB), ksm_zero_pages $peak_zero ($(mib $peak_zero) MiB);" \
	"most saved at once $(mib $peak_saved) MiB at ${peak_t}s"
[ $bad -eq 0 ] || die "a workload found its memory changed after merging (see inner*-console.log)"
[ "$peak" -gt 0 ] || die "KSM merged nothing: pages_sharing stayed 0 in $n samples (ksmtuned log: $out/ksmtuned.log)"
if [ $domains -eq 1 ]; then
	[ $snapped -eq 1 ] || die "no reading of the inner guests' frames was taken (see $out/frames.err)"
	# Each guest: its own domain, the inode of its own cgroup; pages merged.
	awk -F, 'NR > 1 {
		if ($4 == 0 || $4 != $5)
			printf "%s: merge domain %s, not its cgroup %s (inode %s)\n", $1, $4, $3, $5
		else if (seen[$4]++)
			printf "%s: merge domain %s is another guest\047s too\n", $1, $4
		if ($6 == 0 || $9 == 0)
			printf "%s: nothing merged inside its domain (ksm_merging_pages %s, pages on KSM pages %s)\n", $1, $6, $9
	}' "$out/guests.csv" >"$out/domains.err"
	[ ! -s "$out/domains.err" ] || die "$(paste -sd';' "$out/domains.err")"
	shared=$(awk '$1 == "shared" { print $2 }' "$out/frames.txt")
	[ "$shared" = 0 ] || die "$shared frames (not the zero page) were mapped by two guests in different domains"
	say "ok: KSM merged inside each guest's domain, and no frame but the zero page was shared across them"
else
	say "ok: KSM merged the inner guests' memory"
fi
