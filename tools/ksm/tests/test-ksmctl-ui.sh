#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host tests of ksmctl's command line in util-linux's manner (columns,
# sizes, raw, headings, exclusive and bad options), of "ksmctl ps", of the
# Prometheus names and --textfile, and of the bash completion, against a
# fake root made by "test-libksm --mkroot" plus a few processes of our own.
# Run from tools/ksm; prints TAP.
cd "$(dirname "$0")/.." || exit 1

ksmctl=./ksmctl/ksmctl
root=$(mktemp -d "${TMPDIR:-/tmp}/ksmctl-ui.XXXXXX") || exit 1
trap 'chmod -R u+w "$root" 2>/dev/null; rm -rf "$root"' EXIT
ksm=$root/sys/kernel/mm/ksm
./tests/test-libksm --mkroot "$root" || { echo "Bail out! cannot make the fake root"; exit 1; }

# proc PID COMM MERGING MODE ARGV...: a process; MODE is process, madvise or -.
proc() {
	local pid=$1 comm=$2 merging=$3 mode=$4 d=$root/proc/$1
	shift 4
	mkdir -p "$d"
	printf 'ksm_rmap_items %d\nksm_zero_pages 3\nksm_merging_pages %d\nksm_process_profit %d\n' \
		$((merging + 10)) "$merging" $((merging * 4096 - 640)) >"$d/ksm_stat"
	case $mode in
	process) printf 'ksm_merge_any: yes\nksm_mergeable: yes\n' >>"$d/ksm_stat" ;;
	madvise) printf 'ksm_merge_any: no\nksm_mergeable: yes\n' >>"$d/ksm_stat" ;;
	esac
	printf 'Name:\t%s\nVmRSS:\t  2048 kB\n' "$comm" >"$d/status"
	[ $# -gt 0 ] && printf '%s\0' "$@" >"$d/cmdline"
	return 0
}
# The VMs: qemu's -name in its two forms, with a comma inside the name.
proc 1001 qemu-system-x86 9000 madvise /usr/bin/qemu-system-x86_64 -m 4096 \
	-name guest=web,,1,debug-threads=on -enable-kvm
proc 1002 qemu-kvm 8000 madvise /usr/libexec/qemu-kvm -name db,process=qemu:db -m 2048
# Not a VM: find's -name is not a VM name.
proc 1003 find 100 process find / -name 'x y'
printf '12:pids:/user.slice\n0::/machine.slice/machine-qemu\\x2d1\\x2dweb.scope/libvirt/emulator\n' \
	>"$root/proc/1001/cgroup"
printf '0::/system.slice/"odd".service\n' >"$root/proc/1003/cgroup"

. ./tests/tap.sh
tap_plan 25

ctl() { "$ksmctl" --root "$root" "$@"; }

# usage_error WANT_LINE1_GLOB ARGS...: exit 1, "ksmctl: ..." then the Try line.
usage_error() {
	local want=$1 err rc=0 before after
	shift
	before=$(cat "$ksm"/*)
	err=$(ctl "$@" 2>&1 >/dev/null) || rc=$?
	after=$(cat "$ksm"/*)
	expect 1 "$rc" && expect "$before" "$after" &&
	expect 2 "$(printf '%s\n' "$err" | wc -l)" &&
	expect "Try 'ksmctl --help' for more information." "$(printf '%s\n' "$err" | sed -n 2p)" &&
	[[ $(printf '%s\n' "$err" | head -n 1) == $want ]] || { echo "stderr: $err"; return 1; }
}

# one_line_error RC GLOB ARGS...: exit RC, exactly one line on stderr, nothing written.
one_line_error() {
	local want_rc=$1 want=$2 err rc=0 before after
	shift 2
	before=$(cat "$ksm"/*)
	err=$(ctl "$@" 2>&1 >/dev/null) || rc=$?
	after=$(cat "$ksm"/*)
	expect "$want_rc" "$rc" && expect "$before" "$after" &&
	expect 1 "$(printf '%s\n' "$err" | wc -l)" &&
	[[ $err == $want ]] || { echo "stderr: $err"; return 1; }
}

t_list_columns() {
	local listed helped
	listed=$(ctl --list-columns -n -r | cut -d' ' -f1 | sort)
	# --help's "Available columns" come from the same table.
	helped=$(ctl --help | awk '/^Available columns/ {on = 1; next} /^$/ {on = 0}
		on {print $1}' | sort)
	expect "$listed" "$helped" || return 1
	expect 22 "$(printf '%s\n' "$listed" | sort -u | wc -l)" &&
	expect "NAME FIELD VALUE SIZE TYPE ACCESS ALIAS DESCRIPTION" \
		"$(ctl --list-columns -n -r get | cut -d' ' -f1 | xargs)" &&
	ctl --list-columns -n -r ps | cut -d' ' -f1 | grep -qx CGROUP &&
	! ctl --list-columns -n -r ps | cut -d' ' -f1 | grep -qx VALUE &&
	ctl --list-columns -J | python3 -c '
import json, sys
c = json.load(sys.stdin)["columns"]
assert all(x["description"] for x in c) and len(c) == 22, c'
}

t_output() {
	# Order as given, names in any case; headings are the columns.
	expect "MERGING PID" "$(ctl ps -r -o merging,PID | head -n 1)" &&
	expect "9000 1001" "$(ctl ps -n -r -o MERGING,PID | head -n 1)" &&
	expect "NAME VALUE DESCRIPTION SIZE" "$(ctl get -r -o +SIZE | head -n 1)" &&
	expect "PID MODE MERGING SAVED PROFIT CGROUP COMMAND" "$(ctl ps -r | head -n 1)"
}

t_output_all() {
	expect "$(ctl --list-columns -n -r get | cut -d' ' -f1 | xargs)" \
		"$(ctl get -r --output-all | head -n 1)" &&
	expect "$(ctl --list-columns -n -r ps | cut -d' ' -f1 | xargs)" \
		"$(ctl ps -r --output-all | head -n 1)"
}

t_bad_column() {
	one_line_error 1 "ksmctl: unknown column: BOGUS*" ps -o PID,BOGUS &&
	one_line_error 1 "ksmctl: column PID is not shown by get*" get -o PID &&
	one_line_error 1 "ksmctl: empty column name in ','" ps -o , &&
	one_line_error 1 "ksmctl: empty column name*" ps -o PID,,MODE
}

t_sizes() {
	local out rc=0
	# Human by default, bytes with -b; one decimal, dropped when zero.
	expect "1001 35.2M 36864000" "$(ctl ps -n -r -o PID,SAVED --pid 1001) $(ctl ps -b -n -r -o SAVED --pid 1001)" || return 1
	echo 4096 >"$ksm/pages_sharing" && echo 1 >"$ksm/pages_shared" &&
	echo -1572864 >"$ksm/general_profit" && echo 300 >"$ksm/pages_unshared" || return 1
	out=$(ctl get -n -r -o NAME,SIZE pages_sharing pages_shared general_profit pages_unshared pages_to_scan)
	expect "pages_sharing 16M
pages_shared 4K
general_profit -1.5M
pages_unshared 1.2M
pages_to_scan " "$out" || rc=1
	expect "16777216 4096 -1572864" "$(ctl get -b -n -r -o SIZE pages_sharing pages_shared general_profit | xargs)" || rc=1
	# JSON: sizes are strings unless -b, then numbers.
	expect "16M 16777216" "$(ctl get -J -o NAME,SIZE pages_sharing | python3 -c 'import json,sys; print(json.load(sys.stdin)["ksm"][0]["size"])') $(ctl get -b -J -o NAME,SIZE pages_sharing | python3 -c 'import json,sys; v=json.load(sys.stdin)["ksm"][0]["size"]; assert type(v) is int; print(v)')" || rc=1
	expect "saved 16M" "$(ctl status -n -r -o PID | grep '^saved ')" || rc=1
	expect "saved 16777216" "$(ctl status -b -n -r -o PID | grep '^saved ')" || rc=1
	echo 0 >"$ksm/pages_sharing"; echo 0 >"$ksm/pages_shared"; echo 0 >"$ksm/general_profit"
	echo 0 >"$ksm/pages_unshared"
	return $rc
}

t_raw() {
	# Raw: one space between cells, spaces in cells escaped; else aligned.
	expect 'find\x20/\x20-name\x20x\x20y' "$(ctl ps -n -r -o COMMAND --pid 1003)" &&
	expect "pages_to_scan 100" "$(ctl get -n -r -o NAME,VALUE pages_to_scan)" &&
	[[ $(ctl get -n -o NAME,VALUE pages_to_scan run | head -n 1) == "pages_to_scan  "*" 100" ]]
}

t_noheadings() {
	expect "NAME VALUE" "$(ctl get -r -o NAME,VALUE run | head -n 1)" &&
	expect "run 0" "$(ctl get -n -r -o NAME,VALUE run)" &&
	expect 26 "$(ctl get -n | wc -l)" && expect 27 "$(ctl get | wc -l)"
}

t_description() {
	expect "pages merged into a KSM page (memory saved)" \
		"$(ctl get -n -o DESCRIPTION pages_sharing)" &&
	[ "$(ctl get -n -o DESCRIPTION | grep -c .)" -eq 26 ] &&
	! ctl get -n -r -o DESCRIPTION | grep -qx '' &&
	expect "shm_pages_to_scan" "$(ctl get -n -r -o ALIAS pages_to_scan)"
}

t_exclusive() {
	one_line_error 1 "ksmctl: --json and --prometheus are mutually exclusive" -J -P status &&
	one_line_error 1 "ksmctl: --raw and --json are mutually exclusive" --raw --json get &&
	one_line_error 1 "*--output*--output-all*mutually exclusive" -o NAME --output-all get &&
	one_line_error 1 "*--value*--output*mutually exclusive" --value -o NAME get &&
	one_line_error 1 "*--json*--textfile*mutually exclusive" -J --textfile "$root/x.prom" &&
	one_line_error 1 "*--all-processes*--top*mutually exclusive" -A -t 3 status &&
	one_line_error 1 "*mutually exclusive" -J -P set pages_to_scan=7 &&
	expect 100 "$(cat "$ksm/pages_to_scan")" && [ ! -e "$root/x.prom" ]
}

t_bad_option() {
	usage_error "ksmctl: unrecognized option '--bogus'" --bogus &&
	usage_error "ksmctl: invalid option -- 'x'" -x status &&
	usage_error "ksmctl: option requires an argument -- 'o'" get -o &&
	usage_error "ksmctl: option '--pid' requires an argument" ps --pid &&
	usage_error "ksmctl: unknown command 'frobnicate'" frobnicate &&
	usage_error "ksmctl: ps: unexpected argument 'x'" ps x &&
	usage_error "ksmctl: unrecognized option '--bogus'" set pages_to_scan=9 --bogus &&
	one_line_error 1 "ksmctl: invalid --top 'many'*" -t many
}

# The ps table as "PID MODE COMMAND" lines, raw.
t_ps() {
	local out
	out=$(ctl ps -n -r -o PID,MODE,MERGING,VM,COMM)
	# Sorted by merged pages; only processes with KSM enabled (not 200).
	expect "1001 madvise 9000 web,1 qemu-system-x86
1002 madvise 8000 db qemu-kvm
300 process 7000  java\\x20app
100 madvise 5000  qemu-kvm
1003 process 100  find
400 - 10  old" "$out" || return 1
	# COMMAND: the VM's name, else the command line, else [comm].
	expect "web,1|db|find / -name x y|[old]" "$(ctl ps -J -o PID,COMMAND | python3 -c '
import json, sys
p = {x["pid"]: x["command"] for x in json.load(sys.stdin)["processes"]}
print("|".join(p[i] for i in (1001, 1002, 1003, 400)))')" || return 1
	expect "/usr/bin/qemu-system-x86_64 -m 4096 -name guest=web,,1,debug-threads=on -enable-kvm" \
		"$(ctl ps -J -o PID,ARGS | python3 -c '
import json, sys
print({x["pid"]: x["args"] for x in json.load(sys.stdin)["processes"]}[1001])')"
}

t_ps_cgroup_json() {
	ctl ps -J -b --output-all | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert list(d) == ["processes"], d
p = {x["pid"]: x for x in d["processes"]}
web = p[1001]
assert web["cgroup"] == "/machine.slice/machine-qemu\\x2d1\\x2dweb.scope/libvirt/emulator", web
assert p[1003]["cgroup"] == "/system.slice/\"odd\".service", p[1003]
assert p[300]["cgroup"] is None and p[300]["vm"] is None and p[300]["args"] is None, p[300]
assert p[400]["mode"] is None and p[300]["mode"] == "process", p[400]
for f in ("pid", "merging", "rmap_items", "zero_pages", "saved", "profit", "rss"):
    assert type(web[f]) is int, (f, web[f])
assert web["saved"] == 9000 * 4096 and web["profit"] == 9000 * 4096 - 640, web
assert web["rmap_items"] == 9010 and web["zero_pages"] == 3 and web["rss"] == 2048 * 1024, web'
}

t_ps_pid() {
	local err rc=0
	expect "1002" "$(ctl ps -n -r -o PID --pid 1002)" &&
	expect "300 1001" "$(ctl ps -n -r -o PID -p 300,1001 | xargs)" &&
	# A process without KSM is shown when asked for by pid.
	expect "200 - bash" "$(ctl ps -n -r -o PID,MODE,COMM --pid 200)" &&
	one_line_error 1 "ksmctl: process 77777: no such process" ps --pid 77777 &&
	one_line_error 1 "ksmctl: process 2: no KSM state*" ps --pid 2 &&
	one_line_error 1 "ksmctl: invalid --pid 'abc'*" ps --pid abc &&
	one_line_error 1 "ksmctl: invalid --pid '0'*" ps --pid 0 &&
	expect "1002" "$(ctl status -n -r -o PID --pid 1002 | grep -E '^[0-9]+$')"
}

# Every sample NAME[{LABELS}] VALUE, HELP and TYPE before each metric.
prom_ok() {
	awk '
	/^# HELP / { help[$3] = 1; next }
	/^# TYPE / { if ($4 != "gauge" && $4 != "counter") { print "bad type: " $0; bad = 1 }
		     type[$3] = $4; next }
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

t_prom_names() {
	local out names
	out=$(ctl -P -A) || return 1
	printf '%s\n' "$out" | prom_ok || return 1
	names=$(printf '%s\n' "$out" | awk '$2 == "TYPE" {print $3, $4}')
	# All under node_ksmd_; counters and only counters end in _total.
	printf '%s\n' "$names" | awk '
		$1 !~ /^node_ksmd_[a-z_]+$/ { print "bad name " $1; bad = 1 }
		($2 == "counter") != ($1 ~ /_total$/) { print "counter/_total mismatch: " $0; bad = 1 }
		$1 ~ /millisecs|_mib|_kb/ { print "not a base unit: " $1; bad = 1 }
		END { exit bad }' || return 1
	# node_exporter's ksmd collector's nine names are all there.
	for m in full_scans_total merge_across_nodes pages_shared pages_sharing pages_to_scan \
		 pages_unshared pages_volatile run sleep_seconds; do
		printf '%s\n' "$names" | grep -q "^node_ksmd_$m " || { echo "no node_ksmd_$m"; return 1; }
	done
	expect "counter" "$(printf '%s\n' "$names" | awk '$1 == "node_ksmd_full_scans_total" {print $2}')" &&
	expect "counter" "$(printf '%s\n' "$names" | awk '$1 == "node_ksmd_pages_scanned_total" {print $2}')" || return 1
	# Units: seconds, bytes, ratios.
	echo 1500 >"$ksm/sleep_millisecs"
	out=$(ctl -P)
	echo 20 >"$ksm/sleep_millisecs"
	printf '%s\n' "$out" | grep -qx 'node_ksmd_sleep_seconds 1.5' &&
	printf '%s\n' "$out" | grep -qx 'node_ksmd_stable_node_chains_prune_seconds 2' &&
	printf '%s\n' "$out" | grep -qx 'node_ksmd_advisor_target_scan_time_seconds 200' &&
	printf '%s\n' "$out" | grep -qx 'node_ksmd_advisor_max_cpu_ratio 0.7' &&
	printf '%s\n' "$out" | grep -qx 'node_ksmd_general_profit_bytes 0' &&
	printf '%s\n' "$out" | grep -qx 'node_ksmd_page_size_bytes 4096' &&
	printf '%s\n' "$out" | grep -qx 'node_ksmd_advisor_mode{mode="scan-time"} 0' &&
	printf '%s\n' "$out" | grep -qx 'node_ksmd_advisor_mode{mode="none"} 1' &&
	printf '%s\n' "$out" | grep -qx 'node_ksmd_process_saved_bytes{pid="1001",comm="qemu-system-x86",vm="web,1",cgroup="/machine.slice/machine-qemu\\\\x2d1\\\\x2dweb.scope/libvirt/emulator",domain=""} 36864000' &&
	printf '%s\n' "$out" | grep -qF 'cgroup="/system.slice/\"odd\".service"' ||
		{ printf '%s\n' "$out" | grep -v '^#'; return 1; }
}

t_prom_all_processes() {
	local series
	series() { "$@" | grep -c '^node_ksmd_process_merging_pages{'; }
	expect 2 "$(series ctl -P --top 2)" && expect 6 "$(series ctl -P -A)" &&
	expect 6 "$(series ctl ps -P)" &&
	# The count of processes does not depend on the top list.
	expect "node_ksmd_processes 6" "$(ctl -P --top 2 | grep '^node_ksmd_processes ')" &&
	expect 6 "$(ctl get -P pages_to_scan run | grep -c .)"
}

t_textfile() {
	local dir=$root/textfile f ino
	mkdir -p "$dir"
	f=$dir/ksm.prom
	echo stale >"$f"
	ino=$(stat -c %i "$f")
	ctl --textfile "$f" -A || return 1
	# The same text as on stdout, in a new file renamed over the old one.
	expect "$(ctl -P -A)" "$(cat "$f")" &&
	[ "$(stat -c %i "$f")" != "$ino" ] || { echo "not replaced by rename"; return 1; }
	expect 644 "$(stat -c %a "$f")" &&
	expect "ksm.prom" "$(ls -A "$dir")" &&
	[ -z "$(ctl --textfile "$f")" ] || { echo "printed to stdout"; return 1; }
	# get and ps take it too.
	ctl get --textfile "$f" run && expect "node_ksmd_run 0" "$(grep -v '^#' "$f")"
}

t_textfile_errors() {
	local dir=$root/textfile f=$root/textfile/ksm.prom err rc
	ctl --textfile "$f" || return 1
	# A missing directory and a file where a directory should be.
	one_line_error 3 "ksmctl: cannot write $root/missing/ksm.prom: *No such file or directory" \
		--textfile "$root/missing/ksm.prom" &&
	one_line_error 3 "ksmctl: cannot write $f/x.prom: *Not a directory" --textfile "$f/x.prom" ||
		return 1
	[ ! -e "$root/missing" ] || return 1
	# A write that fails half-way (file size limit): exit 3, the old file intact.
	rc=0
	err=$(trap '' XFSZ; ulimit -f 0; "$ksmctl" --root "$root" --textfile "$f" -A 2>&1) || rc=$?
	expect 3 "$rc" && expect 1 "$(printf '%s\n' "$err" | wc -l)" &&
	[[ $err == "ksmctl: cannot write $f: File too large" ]] || { echo "stderr: $err"; return 1; }
	expect "$(ctl -P)" "$(cat "$f")" && expect "ksm.prom" "$(ls -A "$dir")"
}

t_stdout_error() {
	local rc=0 err
	err=$(ctl -P 2>&1 >/dev/full) || rc=$?
	expect 3 "$rc" && [[ $err == "ksmctl: write error on standard output: No space left on device" ]] ||
		{ echo "stderr: $err"; return 1; }
	rc=0
	ctl get >/dev/full 2>/dev/null || rc=$?
	expect 3 "$rc"
}

# complete WORD...: what the completion offers for the last word.
complete_words() {
	bash -c '
		source completion/ksmctl || exit 1
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
		_ksmctl ./ksmctl/ksmctl
		printf "%s\n" "${COMPREPLY[@]}" | sort | xargs' complete "$@"
}

t_completion() {
	bash -n completion/ksmctl || return 1
	expect "complete -F _ksmctl ksmctl" "$(bash -c 'source completion/ksmctl && complete -p ksmctl')" &&
	expect "get params ps set start status stop unmerge" "$(complete_words ksmctl '')" &&
	expect "start status stop" "$(complete_words ksmctl -J st)" &&
	expect "--all-processes" "$(complete_words ksmctl --all)" &&
	expect "PID" "$(complete_words ksmctl ps -o PI)" &&
	expect "+SIZE" "$(complete_words ksmctl get -o +SI)" &&
	expect "PID,MERGING PID,MODE" "$(complete_words ksmctl ps -o PID,M)" &&
	expect "pages_to_scan=" "$(complete_words ksmctl --root "$root" set pages_to)" &&
	expect "use_zero_pages" "$(complete_words ksmctl --root "$root" get use)" &&
	# Statistics cannot be set: not offered.
	expect "" "$(complete_words ksmctl --root "$root" set pages_shar)" &&
	expect "100 1001 1002 1003" "$(complete_words ksmctl --root "$root" ps --pid 100)"
}

t_get_json_rows() {
	# With -o, get -J is rows of the columns; VALUE keeps each type.
	ctl get -J -o NAME,VALUE,ACCESS | python3 -c '
import json, sys
r = {x["name"]: x for x in json.load(sys.stdin)["ksm"]}
assert r["use_zero_pages"]["value"] is False and r["pages_to_scan"]["value"] == 100, r
assert r["advisor_mode"]["value"] == "none" and r["pages_sharing"]["access"] == "ro", r'
}

t_examples() {
	local have used m
	have=$(ctl -P -A | awk '$2 == "TYPE" {print $3}')
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["panels"] and all(p["targets"] for p in d["panels"]), d
for p in d["panels"]:
    for t in p["targets"]:
        print(t["expr"])' examples/ksm-dashboard.json >"$root/exprs" || return 1
	grep -E '^ +expr:' examples/ksm-alerts.yml >>"$root/exprs"
	used=$(grep -o 'node_ksmd_[a-z_]*' "$root/exprs" | sort -u)
	[ "$(printf '%s\n' "$used" | wc -l)" -ge 8 ] || { echo "too few metrics: $used"; return 1; }
	for m in $used; do
		printf '%s\n' "$have" | grep -qx "$m" || { echo "$m is not written by ksmctl"; return 1; }
	done
	grep -q '^groups:' examples/ksm-alerts.yml &&
	[ "$(grep -c -- '- alert: ' examples/ksm-alerts.yml)" -eq "$(grep -c '^ *expr: ' examples/ksm-alerts.yml)" ] ||
		return 1
	if command -v promtool >/dev/null; then
		promtool check rules examples/ksm-alerts.yml >/dev/null || return 1
	fi
}

t_man_options() {
	local o
	# Every long option of --help is in the man page.
	for o in $(ctl --help | grep -o -- '--[a-z-]*' | sort -u); do
		grep -q -- "${o//-/\\\\-}" man/ksmctl.8 || { echo "$o not in ksmctl.8"; return 1; }
	done
	for o in $(ctl --list-columns -n -r | cut -d' ' -f1); do
		grep -q "^\.B $o\$" man/ksmctl.8 || { echo "column $o not in ksmctl.8"; return 1; }
	done
}

check "--list-columns and --help list the same columns" t_list_columns
check "-o picks and orders columns, +LIST adds" t_output
check "--output-all prints every column of the view" t_output_all
check "-o with an unknown or foreign column: one line, exit 1" t_bad_column
check "sizes human-readable, -b in bytes (tables and JSON)" t_sizes
check "--raw escapes and separates by one space" t_raw
check "-n drops the headings" t_noheadings
check "DESCRIPTION and ALIAS columns" t_description
check "mutually exclusive options: one line, exit 1, nothing written" t_exclusive
check "bad option or command: one line and the Try line" t_bad_option
check "ps: mode, VM name, command line, sort order" t_ps
check "ps -J: cgroup v2 path, typed numbers, null" t_ps_cgroup_json
check "ps --pid" t_ps_pid
check "prometheus: node_ksmd_ names, _total counters, base units" t_prom_names
check "prometheus: --top, --all-processes, node_ksmd_processes" t_prom_all_processes
check "--textfile replaces the file atomically" t_textfile
check "--textfile errors: exit 3, one line, old file kept" t_textfile_errors
check "write error on standard output: exit 3" t_stdout_error
check "bash completion: commands, options, columns, parameters" t_completion
check "get -J -o: typed rows" t_get_json_rows
check "ksmctl.8 documents every option and column" t_man_options
check "examples use only metrics ksmctl writes" t_examples
check "ps table" ctl ps
check "ps --output-all table" ctl ps --output-all
check "status table" ctl status

tap_done
