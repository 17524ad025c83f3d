#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# demo-guest.sh WORKLOAD: run in the guest by demo.sh. Starts KSM and a
# mergeable workload, and prints KSM's statistics as they grow.
set -u
ksm=/sys/kernel/mm/ksm
workload=${1:?usage: demo-guest.sh WORKLOAD}
[ -d $ksm ] || { echo "demo: this kernel has no /sys/kernel/mm/ksm"; exit 1; }

procs=4 mib=32 secs=50
echo "demo: $procs processes x $mib MiB, half of it the same in each; kernel $(uname -r)"
echo 1000 >$ksm/pages_to_scan
echo 20 >$ksm/sleep_millisecs
echo 1 >$ksm/run
"$workload" -p $procs -m $mib -d 50 -t $secs &
pid=$!
# Ideal: every process but one maps each shared page from one KSM page.
ideal=$(((procs - 1) * mib * 256 / 2))
printf '%6s %12s %13s %10s %10s\n' time pages_shared pages_sharing saved_MiB full_scans
t=0
while kill -0 $pid 2>/dev/null; do
	sh_=$(cat $ksm/pages_shared) sg=$(cat $ksm/pages_sharing) fs=$(cat $ksm/full_scans)
	printf '%5ss %12s %13s %10s %10s\n' $t "$sh_" "$sg" $((sg / 256)) "$fs"
	sleep 5
	t=$((t + 5))
done
wait $pid
rc=$?
echo "demo: pages_sharing reached $sg of an ideal $ideal ($((sg * 100 / ideal))%)"
echo "demo: workload verified its memory: $([ $rc -eq 0 ] && echo intact || echo CORRUPTED)"
echo 2 >$ksm/run
[ $rc -eq 0 ] && [ "$sg" -gt 0 ]
