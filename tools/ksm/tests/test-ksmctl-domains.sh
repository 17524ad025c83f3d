#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host tests of merge domains in ksmctl: the ksm_merge_domain line of
# /proc/PID/ksm_stat, the DOMAIN column of ps (the cgroup directory with
# that inode), the per-domain saving of status (table and JSON), the
# Prometheus domain label and node_ksmd_domain_* series, the man page and
# the completion. The fake root is "test-libksm --mkroot" plus cgroup
# directories under sys/fs/cgroup, whose inode numbers are read back to
# write the fake ksm_merge_domain lines. Run from tools/ksm; prints TAP.
cd "$(dirname "$0")/.." || exit 1

ksmctl=./ksmctl/ksmctl
root=$(mktemp -d "${TMPDIR:-/tmp}/ksmctl-dom.XXXXXX") || exit 1
trap 'rm -rf "$root"' EXIT
ksm=$root/sys/kernel/mm/ksm
cg=$root/sys/fs/cgroup
./tests/test-libksm --mkroot "$root" || { echo "Bail out! cannot make the fake root"; exit 1; }
mkdir -p "$cg/tenant-a/vm1" "$cg/tenant-a/vm2" "$cg/tenant b" "$cg/other" ||
	{ echo "Bail out! cannot make the cgroup directories"; exit 1; }
ino() { stat -c %i "$cg/$1"; }
# Only the processes of these tests: the unknown-domain row is theirs.
rm -rf "$root"/proc/[1-4]00
a=$(ino tenant-a) b=$(ino "tenant b") top=$(ino .)

# proc PID COMM MERGING [DOMAIN_LINE]: a madvise process; no line: an older kernel.
proc() {
	local d=$root/proc/$1
	mkdir -p "$d"
	printf 'ksm_rmap_items %d\nksm_zero_pages 0\nksm_merging_pages %d\nksm_process_profit %d\n' \
		$(($3 + 10)) "$3" $(($3 * 4096 - 640)) >"$d/ksm_stat"
	printf 'ksm_merge_any: no\nksm_mergeable: yes\n' >>"$d/ksm_stat"
	[ -n "$4" ] && printf '%s\n' "$4" >>"$d/ksm_stat"
	printf 'Name:\t%s\nVmRSS:\t  2048 kB\n' "$2" >"$d/status"
	return 0
}
# mode on|off: the kernel's state, and the ksm_merge_domain of every process.
mode() {
	if [ "$1" = on ]; then
		echo 0 >"$ksm/merge_across_cgroups"
		proc 500 vm-a1 3000 "ksm_merge_domain $a"
		proc 501 vm-a2 2000 "ksm_merge_domain $a"
		proc 502 vm-b 0 "ksm_merge_domain $b"
		proc 503 host 40 "ksm_merge_domain $top"
		proc 504 gone 5 "ksm_merge_domain 987654321"
		proc 505 legacy 7
	else
		echo 1 >"$ksm/merge_across_cgroups"
		for p in 500 501 502 503 504; do proc $p x 1 "ksm_merge_domain 0"; done
		proc 505 legacy 7
	fi
}

. ./tests/tap.sh
tap_plan 12

ctl() { "$ksmctl" --root "$root" "$@"; }
# The DOMAIN of PIDs, one word each (raw escapes the space of "tenant b").
domains() { ctl ps -n -r -o DOMAIN --pid "$1"; }

t_ps_domain() {
	mode on
	expect "500 /tenant-a
501 /tenant-a
502 /tenant\\x20b
503 /
504 #987654321
505 -" "$(ctl ps -n -r -o PID,DOMAIN --pid 500,501,502,503,504,505)"
}

t_ps_off() {
	mode off
	expect "- - -" "$(ctl ps -n -r -o DOMAIN --pid 500,503,505 | xargs)" || return 1
	ctl ps -J -o PID,DOMAIN | python3 -c '
import json, sys
p = json.load(sys.stdin)["processes"]
assert p and all(x["domain"] is None for x in p), p'
}

t_ps_json() {
	mode on
	ctl ps -J -o PID,DOMAIN,CGROUP | python3 -c '
import json, sys
p = {x["pid"]: x["domain"] for x in json.load(sys.stdin)["processes"]}
want = {500: "/tenant-a", 501: "/tenant-a", 502: "/tenant b", 503: "/", 504: "#987654321",
        505: None}
for pid, dom in want.items():
    assert p[pid] == dom, (pid, p[pid], dom)'
}

t_bad_line() {
	# Not a u64: unknown, not 0 and not a wrong domain.
	mode on
	proc 506 junk 1 "ksm_merge_domain 12abc"
	proc 507 neg 1 "ksm_merge_domain -5"
	proc 508 big 1 "ksm_merge_domain 18446744073709551616"
	expect "- - -" "$(ctl ps -n -r -o DOMAIN --pid 506,507,508 | xargs)"
	local rc=$?
	rm -rf "$root/proc/506" "$root/proc/507" "$root/proc/508"
	return $rc
}

t_moved() {
	# A cgroup directory made after the walk would be #ID; one made before is found.
	mode on
	mkdir "$cg/tenant-a/vm1/late"
	proc 500 vm-a1 3000 "ksm_merge_domain $(ino tenant-a/vm1/late)"
	expect "/tenant-a/vm1/late" "$(domains 500)"
	local rc=$?
	rmdir "$cg/tenant-a/vm1/late"
	mode on
	return $rc
}

# The per-domain rows of status: DOMAIN ID PROCESSES MERGING SAVED PROFIT.
t_status_table() {
	local out rows
	mode on
	out=$(ctl status -r -b -o PID) || return 1
	expect "merge_across_cgroups 0" "$(grep '^merge_across_cgroups ' <<<"$out")" &&
	expect "cgroup_domain_depth 0" "$(grep '^cgroup_domain_depth ' <<<"$out")" || return 1
	rows=$(awk '$1 == "DOMAIN" {on = 1; next} on && NF == 0 {exit} on' <<<"$out")
	expect "/tenant-a $a 2 5000 $((5000 * 4096)) $((5000 * 4096 - 1280))
/ $top 1 40 $((40 * 4096)) $((40 * 4096 - 640))
- - 1 7 $((7 * 4096)) $((7 * 4096 - 640))
#987654321 987654321 1 5 $((5 * 4096)) $((5 * 4096 - 640))
/tenant\\x20b $b 1 0 0 -640" "$rows" || { echo "$out"; return 1; }
	# The sums take every process, not the top ones only.
	expect "$rows" "$(ctl status -r -b -o PID --top 1 |
		awk '$1 == "DOMAIN" {on = 1; next} on && NF == 0 {exit} on')" &&
	expect 1 "$(ctl status -n -r -o PID --top 1 | grep -cE '^[0-9]+$')"
}

t_status_off() {
	local out
	mode off
	out=$(ctl status -r -o PID) || return 1
	expect "merge_across_cgroups 1" "$(grep '^merge_across_cgroups ' <<<"$out")" &&
	! grep -q '^DOMAIN ' <<<"$out" || { echo "$out"; return 1; }
	ctl status -J | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert list(d) == ["ksm"], list(d)
assert d["ksm"][0]["merge_across_cgroups"] is True, d["ksm"][0]'
}

t_status_json() {
	mode on
	ctl status -J -b | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert list(d) == ["ksm", "domains"], list(d)
k = d["ksm"][0]
assert k["merge_across_cgroups"] is False and k["cgroup_domain_depth"] == 0, k
dom = {x["domain"]: x for x in d["domains"]}
a = dom["/tenant-a"]
assert a == {"domain": "/tenant-a", "id": int(sys.argv[1]), "processes": 2, "merging": 5000,
             "saved": 5000 * 4096, "profit": 5000 * 4096 - 1280}, a
assert dom["/tenant b"]["id"] == int(sys.argv[2]) and dom["/tenant b"]["merging"] == 0, dom
assert dom[None]["id"] is None and dom[None]["processes"] == 1, dom
assert [x["domain"] for x in d["domains"]][:2] == ["/tenant-a", "/"], d["domains"]
assert len(k["children"]) == 6, k["children"]' "$a" "$b" || return 1
	# Sizes are strings without -b.
	expect "19.5M" "$(ctl status -J | python3 -c '
import json, sys
print([x["saved"] for x in json.load(sys.stdin)["domains"] if x["domain"] == "/tenant-a"][0])')"
}

# The Prometheus lines of a metric, without HELP/TYPE.
series() { grep "^$1[{ ]" <<<"$2"; }

t_prom_on() {
	local out
	mode on
	out=$(ctl -P --top 1) || return 1
	expect "node_ksmd_domain_saved_bytes{domain=\"/tenant-a\"} $((5000 * 4096))
node_ksmd_domain_saved_bytes{domain=\"/\"} $((40 * 4096))
node_ksmd_domain_saved_bytes{domain=\"\"} $((7 * 4096))
node_ksmd_domain_saved_bytes{domain=\"#987654321\"} $((5 * 4096))
node_ksmd_domain_saved_bytes{domain=\"/tenant b\"} 0" \
		"$(series node_ksmd_domain_saved_bytes "$out")" &&
	expect "node_ksmd_domain_processes{domain=\"/tenant-a\"} 2" \
		"$(series node_ksmd_domain_processes "$out" | head -n 1)" &&
	expect "node_ksmd_domain_merging_pages{domain=\"/tenant-a\"} 5000" \
		"$(series node_ksmd_domain_merging_pages "$out" | head -n 1)" &&
	expect "node_ksmd_domain_profit_bytes{domain=\"/tenant-a\"} $((5000 * 4096 - 1280))" \
		"$(series node_ksmd_domain_profit_bytes "$out" | head -n 1)" &&
	expect "# TYPE node_ksmd_domain_saved_bytes gauge" \
		"$(grep '^# TYPE node_ksmd_domain_saved_bytes ' <<<"$out")" &&
	expect 'node_ksmd_process_merging_pages{pid="500",comm="vm-a1",domain="/tenant-a"} 3000' \
		"$(series node_ksmd_process_merging_pages "$out")" &&
	expect 'node_ksmd_merge_across_cgroups 0' "$(series node_ksmd_merge_across_cgroups "$out")" ||
		{ grep -v '^#' <<<"$out"; return 1; }
	# Every sample well formed: NAME{LABELS} VALUE.
	grep -v '^#' <<<"$out" | grep -vE '^node_ksmd_[a-z_]+(\{[a-z_]+="([^"\\]|\\.)*"(,[a-z_]+="([^"\\]|\\.)*")*\})? -?[0-9.]+$' &&
		return 1
	# ps -P: the label, not the per-domain series.
	out=$(ctl ps -P)
	expect 'node_ksmd_process_merging_pages{pid="504",comm="gone",domain="#987654321"} 5' \
		"$(series node_ksmd_process_merging_pages "$out" | grep 'pid="504"')" &&
	! grep -q '^node_ksmd_domain_' <<<"$out"
}

t_prom_off() {
	local out
	mode off
	out=$(ctl -P -A) || return 1
	! grep -q '^node_ksmd_domain_' <<<"$out" &&
	expect 6 "$(series node_ksmd_process_saved_bytes "$out" | grep -c ',domain=""}')" ||
		{ grep -v '^#' <<<"$out"; return 1; }
}

t_docs() {
	local help
	help=$(ctl --list-columns -n ps | awk '$1 == "DOMAIN"')
	[[ $help == *"merge domain"* ]] || { echo "no DOMAIN in --list-columns: $help"; return 1; }
	grep -q '^\.B DOMAIN$' man/ksmctl.8 &&
	grep -q 'node_ksmd_domain_saved_bytes' man/ksmctl.8 &&
	grep -q '"domains"' man/ksmctl.8 || { echo "ksmctl.8 lacks domains"; return 1; }
	local got
	got=$(bash -c '
		source completion/ksmctl || exit 1
		COMP_WORDS=(ksmctl ps -o PID,DOM); COMP_CWORD=3; COMPREPLY=()
		_ksmctl ./ksmctl/ksmctl
		printf "%s\n" "${COMPREPLY[@]}"')
	expect "PID,DOMAIN" "$got"
}

t_walk_once() {
	# The cgroup tree is read once per run, however many processes.
	local p dirs
	mode on
	for p in $(seq 600 639); do proc "$p" many 1 "ksm_merge_domain $a"; done
	if command -v strace >/dev/null; then
		dirs=$(strace -f -e trace=openat -o "$root/trace" "$ksmctl" --root "$root" ps -o DOMAIN \
			>/dev/null && grep -c "openat(.*/sys/fs/cgroup\", .*O_DIRECTORY" "$root/trace")
		expect 1 "$dirs" || return 1
	fi
	expect 40 "$(ctl ps -n -r -o PID,DOMAIN | grep -c '^6[0-3][0-9] /tenant-a$')"
	local rc=$?
	rm -rf "$root"/proc/6[0-3][0-9] "$root/trace"
	return $rc
}

check "ps DOMAIN: cgroup path by inode, / for the root, #ID, - when unknown" t_ps_domain
check "ps DOMAIN with domains off (ksm_merge_domain 0): -, null in JSON" t_ps_off
check "ps -J: domain strings, null without a ksm_merge_domain line" t_ps_json
check "a bad ksm_merge_domain value is unknown" t_bad_line
check "ps DOMAIN below the first level" t_moved
check "status: knob state and the saving per domain, all processes" t_status_table
check "status with domains off: no domain table, no domains in JSON" t_status_off
check "status -J: typed domains array next to ksm" t_status_json
check "prometheus: domain label and node_ksmd_domain_* series" t_prom_on
check "prometheus with domains off: domain=\"\" and no domain series" t_prom_off
check "--list-columns, ksmctl.8 and completion know DOMAIN" t_docs
check "the cgroup tree is walked once" t_walk_once

tap_done
