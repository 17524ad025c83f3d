#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host tests of the ksmctl and ksmtuned programs against a fake root made
# by "test-libksm --mkroot". Run from tools/ksm; prints TAP.
cd "$(dirname "$0")/.." || exit 1

ksmctl=./ksmctl/ksmctl
ksmtuned=./ksmtuned/ksmtuned
root=$(mktemp -d "${TMPDIR:-/tmp}/ksmctl-test.XXXXXX") || exit 1
trap 'rm -rf "$root"' EXIT
ksm=$root/sys/kernel/mm/ksm
./tests/test-libksm --mkroot "$root" || { echo "Bail out! cannot make the fake root"; exit 1; }

. ./tests/tap.sh
tap_plan 28

ctl() { "$ksmctl" --root "$root" "$@"; }

t_get_one() { expect 100 "$(ctl get --value pages_to_scan)"; }

t_get_all() {
	local out
	out=$(ctl get -n -r -o NAME,VALUE) || return 1
	expect 26 "$(printf '%s\n' "$out" | wc -l)" &&
	expect "advisor_mode none" "$(printf '%s\n' "$out" | grep '^advisor_mode ')"
}

t_set() {
	ctl set pages_to_scan=500 sleep_millisecs=30 || return 1
	expect 500 "$(cat "$ksm/pages_to_scan")" && expect 30 "$(cat "$ksm/sleep_millisecs")"
}

# rejected ARGS...: exit status 1, one line on stderr, files unchanged.
# refused RC ARGS...: ksmctl set ARGS exits RC with one line, writes nothing.
refused() {
	local want=$1 before after err rc=0
	shift
	before=$(cat "$ksm"/*)
	err=$(ctl set "$@" 2>&1 >/dev/null) || rc=$?
	after=$(cat "$ksm"/*)
	expect "$want" "$rc" && expect "$before" "$after" && expect 1 "$(printf '%s\n' "$err" | wc -l)" &&
		[[ $err == ksmctl:* ]] || { echo "stderr: $err"; return 1; }
}
# Bad input: exit 1. Refused for the kernel's state: exit 3, as the kernel would.
rejected() { refused 1 "$@"; }
refused_by_state() { refused 3 "$@"; }

t_bad_value() { rejected pages_to_scan=abc && rejected pages_to_scan=-1 &&
		rejected run=3 && rejected advisor_mode=fast && rejected use_zero_pages=2; }
t_all_or_nothing() { rejected pages_to_scan=900 max_page_sharing=1; }
t_readonly() { rejected pages_sharing=5 && rejected nosuch=1 && rejected pages_to_scan; }
t_alias() { ctl set shm_sleep_millisecs=55 && expect 55 "$(cat "$ksm/sleep_millisecs")"; }

t_run_modes() {
	ctl start && expect 1 "$(cat "$ksm/run")" &&
	ctl stop && expect 0 "$(cat "$ksm/run")" &&
	ctl unmerge && expect 2 "$(cat "$ksm/run")"
}

t_json_get() {
	ctl get --json | python3 -m json.tool >/dev/null || return 1
	expect "500 True none" "$(ctl get --json pages_to_scan smart_scan advisor_mode |
		python3 -c 'import json,sys; d=json.load(sys.stdin)["ksm"][0]
print(d["pages_to_scan"], d["smart_scan"], d["advisor_mode"])')"
}

t_json_status() {
	echo 4096 >"$ksm/pages_sharing"
	ctl status --json | python3 -m json.tool >/dev/null || return 1
	expect "4096 16777216 16M 300,100,400" "$(ctl status --json -b | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["ksm"][0]["pages_sharing"], d["ksm"][0]["saved"], sys.argv[1],
      ",".join(str(p["pid"]) for p in d["ksm"][0]["children"]))' \
		"$(ctl status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["ksm"][0]["saved"])')")"
}

t_json_params() {
	ctl params --json | python3 -c '
import json, sys
p = {x["field"]: x for x in json.load(sys.stdin)["parameters"]}
assert p["shm_pages_to_scan"]["type"] == "uint", p["shm_pages_to_scan"]
assert p["shm_pages_sharing"]["value"] == 4096, p["shm_pages_sharing"]
assert p["shm_full_scans"]["access"] == "ro"
assert len([f for f in p if f.startswith("shm_")]) == 8, sorted(p)'
}

t_status_table() {
	local out
	out=$(ctl status -o PID,MERGING,COMM) || return 1
	# The top list is sorted by merging pages: "java app" (7000) first.
	expect "300 7000 java app" "$(printf '%s\n' "$out" |
		awk '$1 ~ /^[0-9]+$/ && NF > 2 {print $1, $2, $3, $4; exit}')" &&
	expect "1" "$(ctl status --top 1 -o PID,MERGING,COMM | awk '$1 ~ /^[0-9]+$/ && NF > 2' | wc -l)"
}

# Every sample line is NAME[{LABELS}] VALUE, every metric has HELP and TYPE
# before its first sample, and names are valid.
prom_ok() {
	awk '
	/^# HELP / { help[$3] = 1; next }
	/^# TYPE / { if ($4 != "gauge" && $4 != "counter") { print "bad type: " $0; bad = 1 }
		     type[$3] = 1; next }
	/^#/ { print "stray comment: " $0; bad = 1; next }
	{
		label = "[a-z_]+=\"([^\"\\\\]|\\\\.)*\""
		if ($0 !~ "^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{" label "(," label ")*\\})? -?[0-9]+(\\.[0-9]+)?$") {
			print "bad sample: " $0; bad = 1
		}
		name = $0; sub(/[{ ].*/, "", name)
		if (!help[name] || !type[name]) { print "no HELP/TYPE before " name; bad = 1 }
	}
	END { exit bad }'
}

t_prometheus() {
	local out
	out=$(ctl status --prometheus) || return 1
	printf '%s\n' "$out" | prom_ok || return 1
	expect "node_ksmd_pages_sharing 4096" "$(printf '%s\n' "$out" | grep '^node_ksmd_pages_sharing ')" &&
	expect "counter" "$(printf '%s\n' "$out" |
		awk '$3 == "node_ksmd_full_scans_total" && $2 == "TYPE" {print $4}')" &&
	expect 'node_ksmd_process_merging_pages{pid="300",comm="java app",domain=""} 7000' \
		"$(printf '%s\n' "$out" | grep '^node_ksmd_process_merging_pages{pid="300"')" &&
	ctl get --prometheus | prom_ok
}

t_prom_escape() {
	local st=$root/proc/500
	mkdir -p "$st"
	printf 'ksm_rmap_items 1\nksm_merging_pages 1\nksm_mergeable: yes\n' >"$st/ksm_stat"
	printf 'Name:\tev"il\\\\x\nVmRSS:\t10 kB\n' >"$st/status"
	ctl status --prometheus | prom_ok || return 1
	ctl status --prometheus | grep -qF 'comm="ev\"il\\\\x"' || { echo "comm not escaped"; return 1; }
	rm -rf "$st"
}

t_missing_file() {
	local rc=0
	mv "$ksm/use_zero_pages" "$root/uzp"
	expect 25 "$(ctl get -n | wc -l)" || return 1
	ctl get use_zero_pages 2>/dev/null || rc=$?
	mv "$root/uzp" "$ksm/use_zero_pages"
	expect 2 "$rc"
}

t_no_ksm() {
	local rc=0 err
	err=$("$ksmctl" --root "$root/nothing" status 2>&1) || rc=$?
	expect 2 "$rc" && [[ $err == *"KSM is not available"* ]]
}

t_env_root() { expect 500 "$(KSM_ROOT=$root "$ksmctl" get --value pages_to_scan)"; }

t_usage() {
	local rc=0
	ctl frobnicate 2>/dev/null || rc=$?
	expect 1 "$rc" && ctl --help | grep -q 'set NAME=VALUE'
}

conf() { printf '%s\n' "$@" >"$root/tuned.conf"; }
tuned() { "$ksmtuned" --root "$root" --config "$root/tuned.conf" --once; }

t_tuned_start() {
	local out
	ctl stop && echo 100 >"$ksm/pages_to_scan" || return 1
	conf KSM_THRES_CONST=999999999
	out=$(tuned) || return 1
	printf '%s\n' "$out" | grep -q '^start: ' || { echo "$out"; return 1; }
	expect 1 "$(cat "$ksm/run")" && expect 300 "$(cat "$ksm/pages_to_scan")" &&
	expect 10 "$(cat "$ksm/sleep_millisecs")" &&
	tuned >/dev/null && expect 600 "$(cat "$ksm/pages_to_scan")"
}

t_tuned_stop() {
	local out
	# The fake machine's mergeable RSS is ~500 MB of 16 GiB: plenty.
	conf KSM_THRES_COEF=0 KSM_THRES_CONST=1
	out=$(tuned) || return 1
	printf '%s\n' "$out" | grep -q '^stop: ' || { echo "$out"; return 1; }
	expect 0 "$(cat "$ksm/run")" && expect 600 "$(cat "$ksm/pages_to_scan")"
}

t_tuned_bad_conf() {
	local rc=0 err
	conf "# x" "KSM_NPAGES_MAX=lots"
	err=$(tuned 2>&1) || rc=$?
	expect 1 "$rc" && [[ $err == *"tuned.conf:2: KSM_NPAGES_MAX: invalid value 'lots'"* ]] &&
		expect 1 "$(printf '%s\n' "$err" | wc -l)"
}

t_tuned_no_ksm() {
	local out
	out=$("$ksmtuned" --root "$root/nothing" --config /dev/null --once 2>&1 ||
	      echo "exit $?")
	printf '%s\n' "$out" | grep -q '^idle: KSM is not available' || { echo "$out"; return 1; }
	out=$(mktemp -d "$root/empty.XXXX")
	timeout 5 "$ksmtuned" --root "$out" --foreground --config /dev/null 2>&1
}

# wait_for FILE VALUE: poll up to 10 s for FILE to hold VALUE.
wait_for() {
	local i
	for i in $(seq 100); do
		[ "$(cat "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	echo "$1 is '$(cat "$1")', expected '$2'"
	return 1
}

t_tuned_daemon() {
	local pid rc=0 log=$root/tuned.log sock=$root/notify
	# Plenty of memory and nothing mergeable: the daemon keeps KSM off.
	rm -rf "$root"/proc/[0-9]*
	ctl stop
	./tests/test-libksm --mkroot "$root/tmp" && mv "$root/tmp/proc/meminfo" "$root/proc/"
	printf 'MemTotal: 16777216 kB\nMemAvailable: 15000000 kB\n' >"$root/proc/meminfo"
	conf KSM_MONITOR_INTERVAL=3600 KSM_POLL_INTERVAL=1 DEBUG=1 "LOGFILE=$log"
	# Listen for sd_notify() datagrams as systemd would.
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(8)
with open(sys.argv[1] + ".log", "w") as f:
    try:
        while True:
            f.write(s.recv(4096).decode() + "\n"); f.flush()
    except socket.timeout:
        pass' "$sock" &
	sleep 0.5
	NOTIFY_SOCKET=$sock WATCHDOG_USEC=400000 "$ksmtuned" --root "$root" \
		--config "$root/tuned.conf" --foreground &
	pid=$!
	{
		wait_for "$ksm/run" 0 &&
		# A mergeable guest starts, memory gets short: retuned within a poll.
		printf 'MemTotal: 16777216 kB\nMemAvailable: 100000 kB\n' >"$root/proc/meminfo" &&
		mkdir -p "$root/proc/4242" &&
		printf 'ksm_rmap_items 5\nksm_mergeable: yes\n' >"$root/proc/4242/ksm_stat" &&
		wait_for "$ksm/run" 1 &&
		# Memory comes back with the same processes: only SIGUSR1 retunes.
		printf 'MemTotal: 16777216 kB\nMemAvailable: 15000000 kB\n' >"$root/proc/meminfo" &&
		sleep 1.5 && expect 1 "$(cat "$ksm/run")" &&
		kill -USR1 $pid && wait_for "$ksm/run" 0 &&
		# SIGHUP rereads the config: now memory counts as short.
		conf KSM_MONITOR_INTERVAL=3600 KSM_POLL_INTERVAL=1 KSM_THRES_CONST=999999999 "LOGFILE=$log" &&
		kill -HUP $pid && wait_for "$ksm/run" 1
	} || rc=1
	kill -TERM $pid
	wait $pid || { echo "ksmtuned exited $?"; rc=1; }
	grep -q 'configuration reloaded' "$log" || { echo "no reload in log"; cat "$log"; rc=1; }
	sleep 0.5
	kill %1 2>/dev/null
	wait 2>/dev/null
	for m in READY=1 WATCHDOG=1 STATUS=KSM STOPPING=1; do
		grep -q "$m" "$sock.log" || { echo "no $m notification"; cat "$sock.log"; rc=1; }
	done
	return $rc
}

# guest PID RSS_KB: a mergeable process (rmap items, as ksmd has seen it).
guest() {
	mkdir -p "$root/proc/$1" &&
	printf 'ksm_rmap_items 5\nksm_zero_pages 0\nksm_merging_pages 0\nksm_process_profit 0\n' \
		>"$root/proc/$1/ksm_stat" &&
	printf 'Name:\tqemu-kvm\nVmRSS:\t%s kB\n' "$2" >"$root/proc/$1/status"
}

t_tuned_rescan() {
	local pid rc=0 log=$root/rescan.log
	# Plenty of free memory throughout: only the process list decides.
	rm -rf "$root"/proc/[0-9]*
	ctl stop
	printf 'MemTotal: 16777216 kB\nMemAvailable: 15000000 kB\n' >"$root/proc/meminfo"
	conf KSM_MONITOR_INTERVAL=3600 KSM_POLL_INTERVAL=0 DEBUG=1 "LOGFILE=$log"
	"$ksmtuned" --root "$root" --config "$root/tuned.conf" --foreground &
	pid=$!
	{
		wait_for "$ksm/run" 0 &&
		# A 14 GiB guest starts, no poll: SIGUSR1 must see it.
		guest 4343 14000000 && kill -USR1 $pid && wait_for "$ksm/run" 1 &&
		# It exits: SIGHUP must notice that too.
		rm -rf "$root/proc/4343" && kill -HUP $pid && wait_for "$ksm/run" 0 &&
		# Rounds every second, still no poll: the next round sees a new guest.
		conf KSM_MONITOR_INTERVAL=1 KSM_POLL_INTERVAL=0 DEBUG=1 "LOGFILE=$log" &&
		kill -HUP $pid && sleep 0.5 &&
		guest 4344 14000000 && wait_for "$ksm/run" 1
	} || { rc=1; cat "$log"; }
	kill -TERM $pid
	wait $pid || { echo "ksmtuned exited $?"; rc=1; }
	rm -rf "$root/proc/4344"
	return $rc
}

# Booleans, numbers and nulls keep their JSON types, in one document each.
t_json_types() {
	echo 0 >"$ksm/use_zero_pages"
	ctl get -J | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert list(d) == ["ksm"] and len(d["ksm"]) == 1, d
v = d["ksm"][0]
assert v["use_zero_pages"] is False, v["use_zero_pages"]
assert v["smart_scan"] is True, v["smart_scan"]
for f in ("run", "pages_to_scan", "max_page_sharing", "advisor_max_cpu", "general_profit"):
    assert type(v[f]) is int, (f, v[f])
assert v["advisor_mode"] == "none", v["advisor_mode"]' || return 1
	echo 1 >"$ksm/use_zero_pages"
	expect True "$(ctl get -J use_zero_pages |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["ksm"][0]["use_zero_pages"])')" ||
		return 1
	# A file this kernel lacks is null, not left out or "-".
	mv "$ksm/use_zero_pages" "$root/uzp"
	expect None "$(ctl get -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["ksm"][0]["use_zero_pages"])')"
	local rc=$?
	mv "$root/uzp" "$ksm/use_zero_pages"
	[ $rc -eq 0 ] || return 1
	ctl params -J | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert list(d) == ["parameters"], d
p = {x["field"]: x["value"] for x in d["parameters"]}
assert type(p["pages_to_scan"]) is int and type(p["shm_pages_to_scan"]) is int, p
assert type(p["general_profit"]) is int and type(p["max_page_sharing"]) is int, p
assert p["use_zero_pages"] is True and p["smart_scan"] is True, p
assert p["advisor_mode"] == "none", p' || return 1
	# status: one libsmartcols document; the processes are its children.
	ctl status -J | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert list(d) == ["ksm"] and len(d["ksm"]) == 1, list(d)
k = d["ksm"][0]
assert type(k["pages_sharing"]) is int and type(k["run"]) is int, k
procs = {p["pid"]: p for p in k["children"]}
assert sorted(procs) == [100, 300, 400], sorted(procs)
assert procs[300]["mode"] == "process" and procs[100]["mode"] == "madvise", procs
assert procs[400]["mode"] is None, procs[400]
assert type(procs[300]["merging"]) is int, procs[300]'
}

# What the kernel refuses by its state is refused before anything is written.
t_set_state() {
	local rc=0
	{
		echo "none [scan-time]" >"$ksm/advisor_mode" &&
		refused_by_state sleep_millisecs=50 pages_to_scan=500 &&
		ctl set advisor_mode=none pages_to_scan=500 &&
		expect 500 "$(cat "$ksm/pages_to_scan")" &&
		echo 5 >"$ksm/pages_shared" &&
		refused_by_state max_page_sharing=300 && refused_by_state merge_across_nodes=0 &&
		ctl set max_page_sharing=256 && ctl set run=2 max_page_sharing=300 &&
		expect 300 "$(cat "$ksm/max_page_sharing")"
	} || rc=1
	# Back to the state the other tests expect.
	echo "[none] scan-time" >"$ksm/advisor_mode"
	echo 500 >"$ksm/pages_to_scan"
	echo 0 >"$ksm/pages_shared"
	echo 256 >"$ksm/max_page_sharing"
	echo 0 >"$ksm/run"
	return $rc
}

check "ksmctl get one parameter" t_get_one
check "ksmctl get all parameters" t_get_all
check "ksmctl set writes the files" t_set
check "ksmctl set rejects bad values, files unchanged" t_bad_value
check "ksmctl set checks all before writing any" t_all_or_nothing
check "ksmctl set rejects statistics and unknown names" t_readonly
check "ksmctl set accepts libvirt shm_* names" t_alias
check "ksmctl set refuses what the kernel's state refuses" t_set_state
check "ksmctl start/stop/unmerge" t_run_modes
check "ksmctl get --json" t_json_get
check "ksmctl status --json and top list" t_json_status
check "ksmctl params --json typed shm_* parameters" t_json_params
check "ksmctl status table" t_status_table
check "ksmctl -J: booleans, numbers, null, one document" t_json_types
check "ksmctl --prometheus format" t_prometheus
check "ksmctl --prometheus escapes labels" t_prom_escape
check "ksmctl tolerates a missing file" t_missing_file
check "ksmctl without KSM exits 2" t_no_ksm
check "ksmctl KSM_ROOT" t_env_root
check "ksmctl usage errors" t_usage
check "ksmtuned --once starts and boosts on short memory" t_tuned_start
check "ksmtuned --once stops with plenty of memory" t_tuned_stop
check "ksmtuned rejects a malformed config with file:line" t_tuned_bad_conf
check "ksmtuned without KSM idles and exits 0" t_tuned_no_ksm
check "ksmtuned daemon: process start, SIGUSR1, SIGHUP, sd_notify" t_tuned_daemon
check "ksmtuned rescans processes on signals and every round" t_tuned_rescan
check "ksmctl status raw table" ctl status -r
check "ksmctl params table" ctl params

tap_done
