#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# guest-tools.sh: test ksmctl and ksmtuned against the live
# /sys/kernel/mm/ksm of a KSM kernel. Run as root from the repository root
# after "make -C tools/ksm". Prints TAP; exit status 0 only if all passed.
# Every knob it changes is put back at the end, whatever happens.

tools=tools/ksm
ksmctl=$tools/ksmctl/ksmctl
ksmtuned=$tools/ksmtuned/ksmtuned
workload=$tools/tests/merge-workload
ksm=/sys/kernel/mm/ksm
TESTS=24

n=0 failed=0
echo "TAP version 13"
echo "1..$TESTS"

ok() { n=$((n + 1)); echo "ok $n $1"; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
fail() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n $1"
	[ -n "$2" ] && printf '%s\n' "$2" | sed 's/^/# /'
}
# check NAME COMMAND...: pass when COMMAND succeeds; its output explains a failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$name"; else fail "$name" "$out"; fi
}
expect() { [ "$1" = "$2" ] || { echo "expected '$1', got '$2'"; return 1; }; }
# poll SECONDS COMMAND...: retry COMMAND every half second.
poll() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.5
	done
}
knob() { cat "$ksm/$1"; }

if [ ! -d $ksm ] || [ ! -x $ksmctl ] || [ ! -x $ksmtuned ] || [ ! -x $workload ]; then
	for i in $(seq $TESTS); do skip "tools test $i" "no KSM or tools not built"; done
	exit 0
fi
python=$(command -v python3)

# Save what we touch; put it back on any exit.
saved=()
for f in run pages_to_scan sleep_millisecs merge_across_nodes merge_across_cgroups \
	 cgroup_domain_depth advisor_mode; do
	[ -f $ksm/$f ] || continue
	v=$(knob $f)
	[ $f = advisor_mode ] && v=$(sed 's/.*\[\(.*\)\].*/\1/' <<<"$v")
	saved+=("$f=$v")
done
wpid=
dpids=()
cgdom=/sys/fs/cgroup/ksmctl-dom
restored=0
tmp=$(mktemp -d)
restore() {
	local kv
	[ $restored = 1 ] && return
	restored=1
	[ -n "$wpid" ] && kill "$wpid" 2>/dev/null && wait "$wpid" 2>/dev/null
	wpid=
	dom_stop
	echo 2 >$ksm/run	# unmerge, so that merge_across_nodes can change
	for kv in "${saved[@]}"; do
		[ "${kv%%=*}" = run ] && continue
		echo "${kv#*=}" >"$ksm/${kv%%=*}" 2>/dev/null
	done
	for kv in "${saved[@]}"; do
		[ "${kv%%=*}" = run ] && echo "${kv#*=}" >$ksm/run
	done
}
# The merge-domain workloads and their cgroups, gone.
dom_stop() {
	local p
	for p in "${dpids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	dpids=()
	[ -d $cgdom ] && rmdir $cgdom/a $cgdom/b $cgdom 2>/dev/null
	return 0
}
trap 'restore; rm -rf "$tmp"' EXIT
[ -f $ksm/advisor_mode ] && echo none >$ksm/advisor_mode

t_get() {
	local out
	out=$($ksmctl get -n -r -o NAME,VALUE) || return 1
	expect "pages_to_scan $(knob pages_to_scan)" "$(grep '^pages_to_scan ' <<<"$out")" &&
	expect "run $(knob run)" "$(grep '^run ' <<<"$out")" &&
	expect "$(knob pages_sharing)" "$($ksmctl get --value shm_pages_sharing)"
}
check "ksmctl get matches sysfs" t_get

t_set() {
	$ksmctl set pages_to_scan=123 && expect 123 "$(knob pages_to_scan)" &&
	expect 123 "$($ksmctl get --value pages_to_scan)"
}
check "ksmctl set pages_to_scan=123 reads back" t_set

# rejected ARG...: exit status 1 and the knob unchanged.
rejected() {
	local before rc=0
	before=$(knob pages_to_scan)
	$ksmctl set "$@" 2>/dev/null || rc=$?
	expect 1 "$rc" && expect "$before" "$(knob pages_to_scan)"
}
t_invalid() {
	rejected pages_to_scan=abc && rejected pages_to_scan=-1 &&
	rejected pages_to_scan=4294967296 && rejected pages_to_scan=77 run=7
}
check "ksmctl rejects invalid values, sysfs unchanged" t_invalid
check "ksmctl rejects statistics and unknown names" \
	eval 'rejected pages_shared=1 && rejected no_such_knob=1'

if [ -n "$python" ]; then
	check "ksmctl --json parses" eval "$ksmctl get --json | $python -m json.tool >/dev/null &&
		$ksmctl status --json | $python -m json.tool >/dev/null &&
		$ksmctl params --json | $python -m json.tool >/dev/null"
else
	skip "ksmctl --json parses" "no python3"
fi

t_prom() {
	local out
	out=$($ksmctl status --prometheus) || return 1
	grep -q '^# TYPE node_ksmd_pages_sharing gauge$' <<<"$out" &&
	grep -q '^# HELP node_ksmd_pages_sharing ' <<<"$out" &&
	grep -Eq '^node_ksmd_pages_sharing [0-9]+$' <<<"$out" &&
	grep -Eq '^node_ksmd_full_scans_total [0-9]+$' <<<"$out" || { echo "$out"; return 1; }
}
check "ksmctl --prometheus" t_prom

check "ksmctl stop and start" eval '$ksmctl stop && expect 0 "$(knob run)" &&
	$ksmctl start && expect 1 "$(knob run)"'
check "ksmctl params has libvirt names" eval \
	'$ksmctl params -n -r | grep -q "^shm_pages_to_scan uint $(knob pages_to_scan) rw$"'

# A workload with 16 MiB of duplicate pages.
$workload -m 16 >"$tmp/workload.out" 2>&1 &
wpid=$!
if poll 30 grep -q '^ready' "$tmp/workload.out"; then
	ok "merge-workload is ready"
else
	fail "merge-workload is ready" "$(cat "$tmp/workload.out")"
fi

$ksmctl set pages_to_scan=1000 sleep_millisecs=0 && $ksmctl start
sharing() { [ "$(knob pages_sharing)" -gt 0 ]; }
if poll 60 sharing; then
	ok "pages_sharing > 0 with the workload (run=1, pages_to_scan=1000)"
else
	fail "pages_sharing > 0 with the workload (run=1, pages_to_scan=1000)" \
		"$($ksmctl get full_scans pages_scanned pages_sharing pages_unshared)"
fi
$ksmctl set sleep_millisecs=20

t_status() {
	local out
	out=$($ksmctl status -n -r -o PID,COMM,MERGING) || return 1
	# The process rows: PID COMM MERGING
	awk -v pid="$wpid" '$1 == pid && $2 == "merge-workload" && $3 > 0 {f = 1} END {exit !f}' \
		<<<"$out" || { echo "$out"; return 1; }
}
check "ksmctl status lists the workload with merged pages" t_status

# ps on the live process: madvise mode, merged pages, its cgroup and command line.
t_ps_live() {
	local out cg args
	out=$($ksmctl ps -n -r --pid "$wpid" -o PID,MODE,MERGING) || return 1
	awk -v pid="$wpid" '$1 == pid && $2 == "madvise" && $3 > 0 {f = 1} END {exit !f}' \
		<<<"$out" || { echo "$out"; return 1; }
	cg=$(sed -n 's/^0:://p' /proc/$wpid/cgroup)
	args=$(tr '\0' ' ' </proc/$wpid/cmdline)
	$ksmctl ps -J -b --pid "$wpid" -o PID,CGROUP,COMMAND,SAVED,MERGING | $python -c '
import json, sys
p = json.load(sys.stdin)["processes"]
assert len(p) == 1, p
p = p[0]
cg = sys.argv[1] or None
assert p["cgroup"] == cg, (p["cgroup"], cg)
assert p["command"] == sys.argv[2].rstrip(" "), (p["command"], sys.argv[2])
assert p["saved"] == p["merging"] * int(sys.argv[3]) and p["merging"] > 0, p' \
		"$cg" "$args" "$(getconf PAGESIZE)" &&
	$ksmctl ps -n -r -o PID | grep -qx "$wpid" || { $ksmctl ps; return 1; }
}
if [ -n "$python" ]; then
	check "ksmctl ps --pid on the live workload: mode, pages, cgroup, command" t_ps_live
else
	skip "ksmctl ps --pid on the live workload: mode, pages, cgroup, command" "no python3"
fi

t_prom_live() {
	local out
	out=$($ksmctl --prometheus --all-processes) || return 1
	grep -Eq "^node_ksmd_process_merging_pages\{pid=\"$wpid\",comm=\"merge-workload\"(,cgroup=\"[^\"]*\")?,domain=\"[^\"]*\"\} [1-9][0-9]*\$" <<<"$out" &&
	grep -Eq '^node_ksmd_processes [1-9][0-9]*$' <<<"$out" &&
	grep -Eq '^node_ksmd_saved_bytes [1-9][0-9]*$' <<<"$out" || { echo "$out"; return 1; }
}
check "ksmctl --prometheus --all-processes has the workload's series" t_prom_live

t_busy() {
	local rc=0 err
	err=$($ksmctl set merge_across_nodes=0 2>&1) || rc=$?
	expect 3 "$rc" && expect 1 "$(knob merge_across_nodes)" &&
	[[ $err == *EBUSY* || $err == *busy* ]] && [[ $err == *"ksmctl unmerge"* ]] ||
		{ echo "$err"; return 1; }
}
if [ -f $ksm/merge_across_nodes ] && [ "$(knob merge_across_nodes)" = 1 ]; then
	check "merge_across_nodes while merged: EBUSY explained" t_busy
else
	skip "merge_across_nodes while merged: EBUSY explained" "no NUMA merge_across_nodes=1"
fi

# prctl(PR_SET_MEMORY_MERGE): ps says "process", before ksmd has scanned it.
t_ps_prctl() {
	local p rc=0 out
	$workload -p -m 4 >"$tmp/prctl.out" 2>&1 &
	p=$!
	if poll 30 grep -q '^ready' "$tmp/prctl.out"; then
		out=$($ksmctl ps -n -r --pid "$p" -o PID,MODE)
		expect "$p process" "$out" || rc=1
	else
		cat "$tmp/prctl.out"
		rc=1
	fi
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return $rc
}
check "ksmctl ps shows prctl's whole-process mode" t_ps_prctl

check "ksmctl unmerge" eval '$ksmctl unmerge && expect 2 "$(knob run)" &&
	expect 0 "$(knob pages_sharing)"'

t_sequence() {
	$ksmctl set merge_across_nodes=0 && expect 0 "$(knob merge_across_nodes)" &&
	$ksmctl set merge_across_nodes=1 && expect 1 "$(knob merge_across_nodes)"
}
if [ -f $ksm/merge_across_nodes ]; then
	check "unmerge, then merge_across_nodes can change" t_sequence
else
	skip "unmerge, then merge_across_nodes can change" "no merge_across_nodes"
fi

# ksmtuned --once: a huge threshold makes memory short.
conf() { printf '%s\n' "$@" >"$tmp/ksmtuned.conf"; }
tuned() { $ksmtuned --config "$tmp/ksmtuned.conf" --once; }
conf KSM_THRES_CONST=1000000000
check "ksmtuned --once starts KSM when memory is short" eval \
	'out=$(tuned) && grep -q "^start: " <<<"$out" && expect 1 "$(knob run)" &&
	 expect 300 "$(knob pages_to_scan)" || { echo "$out"; false; }'
check "ksmtuned --once boosts while memory is short" eval \
	'tuned >/dev/null && expect 1 "$(knob run)" && expect 600 "$(knob pages_to_scan)"'
conf KSM_THRES_COEF=0 KSM_THRES_CONST=1 KSM_PSI_THRES=0
check "ksmtuned --once stops KSM with a tiny threshold" eval \
	'out=$(tuned) && grep -q "^stop: " <<<"$out" && expect 0 "$(knob run)" ||
	 { echo "$out"; false; }'

# Merge domains: two workloads in cgroup a, one in b, all with the same
# 256 distinct pages (1 MiB, 256 kinds), so that only a's two can merge.
dom_names=("ksmctl ps DOMAIN names the cgroups a and b"
	"ksmctl status: saving per domain only for a (merge_across_cgroups=0)"
	"merge_across_cgroups=1 again after run=2")
dom_ok() {
	[ -f $ksm/merge_across_cgroups ] && [ -f /sys/fs/cgroup/cgroup.subtree_control ] &&
	grep -qw memory /sys/fs/cgroup/cgroup.controllers && [ -n "$python" ]
}
# dom_start CGROUP: a workload in it, ready.
dom_start() {
	local out=$tmp/dom.${#dpids[@]}
	( echo "$BASHPID" >"$1/cgroup.procs" && exec $workload -m 1 -k 256 ) >"$out" 2>&1 &
	dpids+=($!)
	poll 30 grep -q '^ready' "$out" || { cat "$out"; return 1; }
}
dom_setup() {
	[ -n "$wpid" ] && kill "$wpid" 2>/dev/null && wait "$wpid" 2>/dev/null
	wpid=
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control &&
	mkdir -p $cgdom && echo +memory >$cgdom/cgroup.subtree_control &&
	mkdir -p $cgdom/a $cgdom/b || return 1
	$ksmctl set run=2 merge_across_cgroups=0 && expect 0 "$(knob merge_across_cgroups)" &&
	dom_start $cgdom/a && dom_start $cgdom/a && dom_start $cgdom/b &&
	$ksmctl set pages_to_scan=5000 sleep_millisecs=0 run=1 || return 1
	# The pairs of a merged (256 pages each), and two more full scans.
	local fs
	a_merging() {
		$ksmctl ps -n -r -o MERGING --pid "${dpids[0]},${dpids[1]}" |
			awk '{s += $1} END {exit s < 512}'
	}
	poll 120 a_merging || { $ksmctl status -o PID,DOMAIN,MERGING; return 1; }
	fs=$(knob full_scans)
	poll 120 eval '[ "$(knob full_scans)" -ge $((fs + 2)) ]'
}
t_dom_ps() {
	local out p
	out=$($ksmctl ps -n -r -o PID,DOMAIN --pid "${dpids[0]},${dpids[1]},${dpids[2]}") || return 1
	expect "${dpids[0]} /ksmctl-dom/a
${dpids[1]} /ksmctl-dom/a
${dpids[2]} /ksmctl-dom/b" "$out" || return 1
	# ksm_stat's id is the inode of the directory.
	for p in 0 2; do
		expect "ksm_merge_domain $(stat -c %i $cgdom/$([ $p = 0 ] && echo a || echo b))" \
			"$(grep '^ksm_merge_domain ' /proc/${dpids[$p]}/ksm_stat)" || return 1
	done
}
t_dom_status() {
	local out
	out=$($ksmctl status -J -b -A) || return 1
	$python -c '
import json, sys
d = json.load(sys.stdin)
dom = {x["domain"]: x for x in d["domains"]}
a, b = dom["/ksmctl-dom/a"], dom["/ksmctl-dom/b"]
assert a["processes"] == 2 and a["merging"] >= 512, a
assert a["saved"] == a["merging"] * int(sys.argv[1]), a
assert b["processes"] == 1 and b["merging"] == 0, b
assert all(x["merging"] == 0 for x in d["domains"] if x is not a), d["domains"]
assert d["ksm"][0]["merge_across_cgroups"] is False, d["ksm"][0]' "$(getconf PAGESIZE)" <<<"$out" ||
		{ $ksmctl status -o PID,DOMAIN,MERGING,COMMAND; return 1; }
	out=$($ksmctl -P -A) || return 1
	grep -Eq '^node_ksmd_domain_saved_bytes\{domain="/ksmctl-dom/a"\} [1-9][0-9]*$' <<<"$out" &&
	grep -q '^node_ksmd_domain_saved_bytes{domain="/ksmctl-dom/b"} 0$' <<<"$out" &&
	grep -Eq "^node_ksmd_process_merging_pages\\{pid=\"${dpids[2]}\",.*domain=\"/ksmctl-dom/b\"\\} 0\$" \
		<<<"$out" || { grep domain <<<"$out"; return 1; }
}
t_dom_restore() {
	$ksmctl set run=2 merge_across_cgroups=1 && expect 1 "$(knob merge_across_cgroups)" &&
	expect 2 "$(knob run)" && expect 0 "$(knob pages_sharing)" || return 1
	dom_stop
	[ ! -d $cgdom ] || { echo "$cgdom left behind"; return 1; }
}
if ! dom_ok; then
	for i in 0 1 2; do skip "${dom_names[$i]}" "no merge_across_cgroups, memory cgroup or python3"; done
elif ! dom_setup >"$tmp/dom.log" 2>&1; then
	fail "${dom_names[0]}" "$(cat "$tmp/dom.log")"
	fail "${dom_names[1]}" "setup failed"
	check "${dom_names[2]}" t_dom_restore
else
	check "${dom_names[0]}" t_dom_ps
	check "${dom_names[1]}" t_dom_status
	check "${dom_names[2]}" t_dom_restore
fi

restore
t_restored() {
	local kv
	for kv in "${saved[@]}"; do
		if [ "${kv%%=*}" = advisor_mode ]; then
			grep -q "\[${kv#*=}\]" $ksm/advisor_mode || return 1
		else
			expect "${kv#*=}" "$(knob "${kv%%=*}")" || return 1
		fi
	done
}
check "KSM knobs restored" t_restored

echo "# $((n - failed)) passed, $failed failed"
[ $n -eq $TESTS ] && [ $failed -eq 0 ]
