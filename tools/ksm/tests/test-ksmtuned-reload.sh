#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host tests of ksmtuned's SIGHUP reload on a fake root made by
# "test-libksm --mkroot": a bad file is not applied at all and the reason
# is logged, -d outlives a reload, and systemd hears RELOADING=1 with
# MONOTONIC_USEC. Run from tools/ksm; prints TAP.
cd "$(dirname "$0")/.." || exit 1

ksmtuned=${KSMTUNED:-./ksmtuned/ksmtuned}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ksmtuned-hup.XXXXXX") || exit 1
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
unset JOURNAL_STREAM NOTIFY_SOCKET
root=$tmp/root
ksm=$root/sys/kernel/mm/ksm
./tests/test-libksm --mkroot "$root" || { echo "Bail out! cannot make the fake root"; exit 1; }

. ./tests/tap.sh
tap_plan 3

# wait_for FILE VALUE: poll up to 10 s for FILE to hold VALUE.
wait_for() {
	local i v
	for i in $(seq 100); do
		read -r v <"$1"
		[ "$v" = "$2" ] && return 0
		sleep 0.1
	done
	echo "${1##*/} is '$v', expected '$2'"
	return 1
}

# wait_grep FILE PATTERN [COUNT]: poll up to 10 s for COUNT matching lines.
wait_grep() {
	local i
	for i in $(seq 100); do
		[ "$(grep -c -- "$2" "$1")" -ge "${3:-1}" ] && return 0
		sleep 0.1
	done
	echo "no '$2' (x${3:-1}) in ${1##*/}:"
	cat "$1"
	return 1
}

conf() { printf "$@" >"$tmp/tuned.conf"; }
# Memory is always short here: every round boosts by KSM_NPAGES_BOOST.
BASE='KSM_MONITOR_INTERVAL=3600\nKSM_POLL_INTERVAL=0\nKSM_THRES_CONST=999999999\n'

start() {
	echo 0 >"$ksm/run"
	echo 100 >"$ksm/pages_to_scan"
	"$ksmtuned" --root "$root" --config "$tmp/tuned.conf" --foreground "$@" \
		>"$tmp/out" 2>"$tmp/err" &
	pid=$!
	pids+=("$pid")
}

stop() {
	kill -TERM "$pid"
	wait "$pid" || { echo "ksmtuned exited $?"; return 1; }
}

# A bad file on SIGHUP: nothing of it applies, not even its good lines.
t_bad_reload() {
	local rc=0
	conf "${BASE}KSM_NPAGES_BOOST=111\n"
	start
	{
		wait_for "$ksm/pages_to_scan" 111 &&
		# DOS line endings: the old boost goes on.
		conf "${BASE//\\n/\\r\\n}KSM_NPAGES_BOOST=222\r\n" && kill -HUP $pid &&
		wait_for "$ksm/pages_to_scan" 222 &&
		wait_grep "$tmp/err" \
			'tuned.conf:1: carriage return (\\r) at column 26: the file has DOS line endings; convert it with dos2unix; keeping the previous configuration$' &&
		# A good line, then a command substitution: still the old boost.
		conf "${BASE}KSM_NPAGES_BOOST=222\nLOGFILE=\$(mktemp)\n" && kill -HUP $pid &&
		wait_for "$ksm/pages_to_scan" 333 &&
		wait_grep "$tmp/err" \
			'tuned.conf:5: command substitution "\$(" at column 9: .*; keeping the previous configuration$' &&
		# A value out of range after a good line.
		conf "${BASE}KSM_NPAGES_BOOST=222\nKSM_THRES_COEF=250\n" && kill -HUP $pid &&
		wait_for "$ksm/pages_to_scan" 444 &&
		wait_grep "$tmp/err" "tuned.conf:5: KSM_THRES_COEF: invalid value '250'.*; keeping the previous configuration$" &&
		# A good file applies.
		conf "${BASE}KSM_NPAGES_BOOST=222\n" && kill -HUP $pid &&
		wait_for "$ksm/pages_to_scan" 666 &&
		wait_grep "$tmp/err" 'configuration reloaded'
	} || rc=1
	stop || rc=1
	return $rc
}

# -d on the command line stays on whatever the reloaded file says.
t_debug_survives() {
	local rc=0
	conf "${BASE}KSM_NPAGES_BOOST=100\n"
	start -d
	{
		wait_grep "$tmp/err" '^ksmtuned: total ' 1 &&
		conf "${BASE}KSM_NPAGES_BOOST=100\nDEBUG=0\n" && kill -HUP $pid &&
		wait_grep "$tmp/err" 'configuration reloaded' &&
		wait_grep "$tmp/err" '^ksmtuned: total ' 2 &&
		kill -USR1 $pid && wait_grep "$tmp/err" '^ksmtuned: total ' 3
	} || rc=1
	stop || rc=1
	return $rc
}

# RELOADING=1 carries MONOTONIC_USEC (for Type=notify-reload), then READY=1.
t_notify_reload() {
	local rc=0 sock=$tmp/notify listener
	conf "${BASE}KSM_NPAGES_BOOST=100\n"
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(5)
with open(sys.argv[1] + ".log", "w") as f:
    try:
        while True:
            msg = s.recv(4096).decode()
            f.write("%d %s\n" % (time.monotonic() * 1e6, msg.replace("\n", " ")))
            f.flush()
    except socket.timeout:
        pass' "$sock" </dev/null >/dev/null 2>&1 &
	listener=$!
	pids+=("$listener")
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	NOTIFY_SOCKET=$sock start
	{
		wait_grep "$sock.log" 'READY=1' &&
		kill -HUP $pid && wait_grep "$sock.log" 'RELOADING=1' &&
		wait_grep "$sock.log" 'READY=1' 2
	} || rc=1
	stop || rc=1
	kill "$listener" 2>/dev/null
	# Sent before it was received, and not long before; READY=1 follows.
	awk '
		/RELOADING=1/ {
			n++
			if (!match($0, /MONOTONIC_USEC=[0-9]+/)) { print "no MONOTONIC_USEC: " $0; bad = 1 }
			usec = substr($0, RSTART + 15, RLENGTH - 15)
			if ($1 - usec < 0 || $1 - usec >= 5000000) { print "MONOTONIC_USEC " usec " received at " $1; bad = 1 }
			next
		}
		n && /READY=1/ { ready = 1 }
		END { if (n != 1 || !ready || bad) { print n " RELOADING=1, READY=1 after: " ready; exit 1 } }
	' "$sock.log" || { cat "$sock.log"; rc=1; }
	return $rc
}

check "ksmtuned SIGHUP: a bad file is not applied and the reason is logged" t_bad_reload
check "ksmtuned -d outlives a SIGHUP reload" t_debug_survives
check "ksmtuned SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1" t_notify_reload
tap_done
