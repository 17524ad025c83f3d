#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host tests of ksmtuned --dry-run: it must write nothing, and print the
# very writes a normal run makes. Two fake roots made by "test-libksm
# --mkroot" go through the same memory states: A under normal --once
# rounds, B under one --dry-run daemon retuned by SIGUSR1. Before each
# normal round the knob files of A get an old mtime, so that every write,
# even of an unchanged value, shows. Run from tools/ksm; prints TAP.
cd "$(dirname "$0")/.." || exit 1

ksmtuned=${KSMTUNED:-./ksmtuned/ksmtuned}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ksmtuned-dry.XXXXXX") || exit 1
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
OLD=1000000000	# the mtime that marks a knob file as not written since

. ./tests/tap.sh
tap_plan 5

# mkroot DIR: a fresh fake root, every knob file marked old.
mkroot() {
	rm -rf "$1" && ./tests/test-libksm --mkroot "$1" && touch -d "@$OLD" "$1"/sys/kernel/mm/ksm/*
}

# state DIR: every knob file with its content and mtime.
state() {
	local f v
	for f in "$1"/sys/kernel/mm/ksm/*; do
		read -r v <"$f"
		printf '%s=%s\n' "${f##*/}" "$v"
	done
	stat -c '%n %Y' "$1"/sys/kernel/mm/ksm/*
}

# written DIR: "knob=value" of every knob file written since mkroot/mark.
written() {
	local t f v
	stat -c '%Y %n' "$1"/sys/kernel/mm/ksm/* | while read -r t f; do
		[ "$t" = $OLD ] && continue
		read -r v <"$f"
		printf '%s=%s\n' "${f##*/}" "$v"
	done | sort
}
mark() { touch -d "@$OLD" "$1"/sys/kernel/mm/ksm/*; }

# claimed OUTPUT [ROUND]: "knob=value" of the dry run's "would write" lines
# (of round ROUND, counted from 1, if given).
claimed() {
	printf '%s\n' "$1" | awk -v want="${2:-0}" '
		/^would write -?[0-9]+ to / && (want == 0 || round + 1 == want) {
			path = $5; sub(".*/", "", path); print path "=" $3
		}
		/^(start|run|stop|idle): / { round++ }' | sort
}

# summary OUTPUT [ROUND]: the decision lines (start:, run:, stop:, idle:).
summary() {
	printf '%s\n' "$1" | grep -E '^(start|run|stop|idle): ' |
		if [ -n "$2" ]; then sed -n "${2}p"; else cat; fi
}

conf() { printf '%s\n' "$@" >"$tmp/tuned.conf"; }
once() { "$ksmtuned" --root "$1" --config "$tmp/tuned.conf" --once "${@:2}"; }

meminfo() {
	printf 'MemTotal: 16777216 kB\nMemAvailable: %s kB\n' "$2" >"$1/proc/meminfo"
}

# guest DIR PID RSS_KB: a process with KSM enabled.
guest() {
	mkdir -p "$1/proc/$2" &&
	printf 'ksm_rmap_items 5\nksm_mergeable: yes\n' >"$1/proc/$2/ksm_stat" &&
	printf 'Name:\tqemu-kvm\nVmRSS:\t%s kB\n' "$3" >"$1/proc/$2/status"
}

# One decision, with and without --dry-run, from the same start.
t_once() {
	local a=$tmp/a b=$tmp/b out dry before
	mkroot "$a" && mkroot "$b" || return 1
	conf KSM_THRES_CONST=999999999 "LOGFILE=$tmp/once.log"
	before=$(state "$b")
	dry=$(once "$b" --dry-run) || { echo "dry run failed: $dry"; return 1; }
	expect "$before" "$(state "$b")" || return 1
	[ ! -e "$tmp/once.log" ] || { echo "the dry run wrote LOGFILE"; return 1; }
	out=$(once "$a") || return 1
	expect "$(summary "$out")" "$(summary "$dry")" &&
	expect "$(written "$a")" "$(claimed "$dry")" &&
	expect "pages_to_scan=300
run=1
sleep_millisecs=10" "$(claimed "$dry")" &&
	printf '%s\n' "$dry" | grep -qx "would write 1 to $b/sys/kernel/mm/ksm/run (was 0): start: committed + threshold >= total" ||
		{ echo "$dry"; return 1; }
}

# -n is --dry-run; nothing to do prints "would write nothing".
t_short_and_nothing() {
	local b=$tmp/b dry before
	mkroot "$b" || return 1
	conf
	before=$(state "$b")
	dry=$(once "$b" -n) || return 1
	expect "$before" "$(state "$b")" &&
	expect "idle: KSM stopped (committed + threshold < total and free > threshold)" \
		"$(summary "$dry")" &&
	printf '%s\n' "$dry" | grep -q '^would write nothing: committed + threshold < total' ||
		{ echo "$dry"; return 1; }
}

# With the kernel's advisor on, neither run writes pages_to_scan.
t_advisor() {
	local a=$tmp/a b=$tmp/b dry d
	mkroot "$a" && mkroot "$b" || return 1
	for d in "$a" "$b"; do
		echo 'none [scan-time]' >"$d/sys/kernel/mm/ksm/advisor_mode"
		mark "$d"
	done
	conf KSM_THRES_CONST=999999999
	dry=$(once "$b" --dry-run) && once "$a" >/dev/null || return 1
	expect "run=1
sleep_millisecs=10" "$(written "$a")" &&
	expect "$(written "$a")" "$(claimed "$dry")" &&
	expect "" "$(written "$b")" &&
	printf '%s\n' "$dry" | grep -q "^would leave pages_to_scan to the kernel's advisor" ||
		{ echo "$dry"; return 1; }
}

# wait_rounds FILE N: wait up to 10 s for N decisions in FILE.
wait_rounds() {
	local i
	for i in $(seq 100); do
		[ "$(summary "$(cat "$1")" | wc -l)" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "only $(summary "$(cat "$1")" | wc -l) of $2 rounds:"
	cat "$1"
	return 1
}

# Six memory states: the dry-run loop takes the steps normal rounds take.
t_loop() {
	local a=$tmp/a b=$tmp/b log=$tmp/loop.out pid i d before out rc=0
	mkroot "$a" && mkroot "$b" || return 1
	conf KSM_MONITOR_INTERVAL=3600 KSM_POLL_INTERVAL=0
	# The same settings, and a LOGFILE that the dry run must leave alone.
	{ cat "$tmp/tuned.conf"; echo "LOGFILE=$tmp/loop.log"; } >"$tmp/dry.conf"
	# setup ROUND: the memory state of that round, in both roots.
	setup() {
		for d in "$a" "$b"; do
			case $1 in
			1|2) meminfo "$d" 1000000 ;;			# short: boost
			3) meminfo "$d" 8000000 && guest "$d" 500 14000000 ;;	# decay
			4|5) rm -rf "$d/proc/500" ;;			# stop, then idle
			6) meminfo "$d" 1000000 &&			# advisor on
			   echo 'none [scan-time]' >"$d/sys/kernel/mm/ksm/advisor_mode" &&
			   touch -d "@$OLD" "$d/sys/kernel/mm/ksm/advisor_mode" ;;
			esac
		done
	}
	setup 1
	before=$(state "$b")
	"$ksmtuned" --root "$b" --config "$tmp/dry.conf" --dry-run >"$log" 2>"$tmp/loop.err" &
	pid=$!
	pids+=("$pid")
	for i in 1 2 3 4 5 6; do
		if [ "$i" -gt 1 ]; then
			setup "$i"
			before=$(state "$b")
			kill -USR1 "$pid"
		fi
		mark "$a"
		out=$(once "$a") && wait_rounds "$log" "$i" || { rc=1; break; }
		expect "$(summary "$out")" "$(summary "$(cat "$log")" "$i")" &&
		expect "$(written "$a")" "$(claimed "$(cat "$log")" "$i")" &&
		expect "$before" "$(state "$b")" || { echo "round $i"; rc=1; break; }
	done
	kill -TERM "$pid"
	wait "$pid" || { echo "ksmtuned exited $?"; rc=1; }
	expect "start: KSM running: pages_to_scan=300 sleep_millisecs=10 (free < threshold: boost)
run: KSM running: pages_to_scan=600 sleep_millisecs=10 (free < threshold: boost)
run: KSM running: pages_to_scan=550 sleep_millisecs=10 (committed + threshold >= total, free >= threshold: decay)
stop: KSM stopped (committed + threshold < total and free > threshold)
idle: KSM stopped (committed + threshold < total and free > threshold)
start: KSM running: pages_to_scan by the advisor sleep_millisecs=10 (free < threshold: boost)" \
		"$(summary "$(cat "$log")")" || rc=1
	[ ! -e "$tmp/loop.log" ] || { echo "the dry run wrote LOGFILE"; rc=1; }
	grep -q 'dry run: nothing is written' "$tmp/loop.err" ||
		{ echo "no dry-run note on stderr"; cat "$tmp/loop.err"; rc=1; }
	[ $rc = 0 ] || cat "$log"
	return $rc
}

t_help() {
	"$ksmtuned" --help | grep -q -- '-n, --dry-run'
}

check "ksmtuned --dry-run --once writes nothing, prints the writes --once makes" t_once
check "ksmtuned -n with nothing to do" t_short_and_nothing
check "ksmtuned --dry-run leaves pages_to_scan to the advisor as a run does" t_advisor
check "ksmtuned --dry-run loop: six rounds match normal rounds, nothing written" t_loop
check "ksmtuned --help lists --dry-run" t_help
tap_done
