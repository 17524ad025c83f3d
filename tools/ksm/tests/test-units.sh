#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test-units.sh: the systemd units are sandboxed as a distribution ships
# them. Checks every hardening directive each unit must carry (with its
# value), that `systemd-analyze verify` accepts both units without a word
# (pointed at the binaries built here) and that the exposure score of
# `systemd-analyze security` stays below a ceiling. TAP on stdout.
#
# Run from tools/ksm (as make check and run-check.sh do). UNITDIR=DIR
# checks the units in DIR instead of systemd/ (for an installed copy).
cd "$(dirname "$0")/.." || exit 1
units=${UNITDIR:-systemd}

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $*"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $*"; }

# has UNIT KEY VALUE: UNIT sets KEY=VALUE (the last assignment wins, as
# systemd reads it; an empty VALUE means the key must be set to nothing).
has() {
	local unit=$1 key=$2 want=$3 got
	got=$(sed -n "s/^$key=//p" "$units/$unit" | tail -n 1)
	if ! grep -q "^$key=" "$units/$unit"; then
		not_ok "$unit: $key= missing"
	elif [ "$got" = "$want" ]; then
		ok "$unit: $key=$want"
	else
		not_ok "$unit: $key=$got, want $key=$want"
	fi
}

common=(
	"NoNewPrivileges yes" "ProtectSystem strict" "ReadWritePaths /sys/kernel/mm/ksm"
	"ProtectHome yes" "PrivateTmp yes" "PrivateDevices yes" "PrivateNetwork yes"
	"PrivateMounts yes" "IPAddressDeny any" "ProtectKernelTunables yes"
	"ProtectKernelModules yes" "ProtectKernelLogs yes" "ProtectControlGroups yes"
	"ProtectClock yes" "ProtectHostname yes" "RestrictNamespaces yes"
	"RestrictRealtime yes" "RestrictSUIDSGID yes" "LockPersonality yes"
	"MemoryDenyWriteExecute yes" "SystemCallArchitectures native"
	"AmbientCapabilities " "UMask 0077"
	"ConditionPathExists /sys/kernel/mm/ksm"
)
# Per unit: what differs, and the exposure ceiling (systemd-analyze's
# 0..100 scale, ten times the printed score).
ksm_only=("CapabilityBoundingSet " "RestrictAddressFamilies none" "PrivateUsers yes"
	"ProtectProc invisible" "ProcSubset pid" "Type oneshot")
ksmtuned_only=("CapabilityBoundingSet CAP_SYS_PTRACE CAP_DAC_READ_SEARCH"
	"RestrictAddressFamilies AF_UNIX" "ProtectProc ptraceable" "WatchdogSec 30s")
declare -A ceiling=([ksm.service]=10 [ksmtuned.service]=15)

echo "TAP version 13"
have_analyze=0
command -v systemd-analyze >/dev/null && have_analyze=1
nkeys=$(( ${#common[@]} * 2 + ${#ksm_only[@]} + ${#ksmtuned_only[@]} ))
echo "1..$((nkeys + 2 + 1 + 2 + 2))"

for u in ksm.service ksmtuned.service; do
	for kv in "${common[@]}"; do has "$u" "${kv%% *}" "${kv#* }"; done
done
for kv in "${ksm_only[@]}"; do has ksm.service "${kv%% *}" "${kv#* }"; done
for kv in "${ksmtuned_only[@]}"; do has ksmtuned.service "${kv%% *}" "${kv#* }"; done

# The system call filter: @system-service, minus @privileged and @resources.
for u in ksm.service ksmtuned.service; do
	filt=$(sed -n 's/^SystemCallFilter=//p' "$units/$u" | tr '\n' ' ')
	case "$filt" in
	"@system-service ~@privileged @resources ")
		ok "$u: SystemCallFilter=@system-service ~@privileged @resources" ;;
	*) not_ok "$u: SystemCallFilter is '$filt'" ;;
	esac
done

# ksmtuned's notification type follows the systemd it will run under:
# notify-reload exists from systemd 253 on.
sdver=$( (systemctl --version 2>/dev/null || systemd-analyze --version 2>/dev/null) |
	sed -n '1s/^systemd \([0-9]*\).*/\1/p')
type=$(sed -n 's/^Type=//p' "$units/ksmtuned.service")
if [ -z "$sdver" ]; then
	skip "ksmtuned.service: Type=$type (no systemd here to compare with)"
elif [ "$sdver" -ge 253 ] && [ "$type" = notify-reload ]; then
	ok "ksmtuned.service: Type=notify-reload (systemd $sdver)"
elif [ "$sdver" -lt 253 ] && [ "$type" = notify ] &&
	grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$units/ksmtuned.service"; then
	ok "ksmtuned.service: Type=notify, reload by SIGHUP (systemd $sdver < 253)"
else
	not_ok "ksmtuned.service: Type=$type does not suit systemd $sdver"
fi

# systemd-analyze verify on copies whose ExecStart= names the programs
# built here: any message (even "Unknown key ..., ignoring") fails.
if [ $have_analyze -eq 0 ]; then
	skip "systemd-analyze verify: systemd-analyze missing"
	skip "systemd-analyze verify: rejects a broken unit"
else
	scratch=$(mktemp -d)
	trap 'rm -rf "$scratch"' EXIT
	for u in ksm.service ksmtuned.service; do
		sed -e "s|/usr/sbin/ksmctl|$PWD/ksmctl/ksmctl|" \
			-e "s|/usr/sbin/ksmtuned|$PWD/ksmtuned/ksmtuned|" \
			"$units/$u" >"$scratch/$u"
	done
	out=$(systemd-analyze verify --man=no "$scratch/ksm.service" "$scratch/ksmtuned.service" 2>&1)
	if [ $? -eq 0 ] && [ -z "$out" ]; then
		ok "systemd-analyze verify: both units"
	else
		not_ok "systemd-analyze verify: $(printf '%s' "$out" | head -n 3 | tr '\n' ' ')"
	fi
	# The check itself must catch a mistake: a misspelt directive.
	echo "ProtectSystm=strict" >>"$scratch/ksm.service"
	out=$(systemd-analyze verify --man=no "$scratch/ksm.service" 2>&1)
	if [ -n "$out" ]; then
		ok "systemd-analyze verify: rejects a broken unit"
	else
		not_ok "systemd-analyze verify: a misspelt key went unnoticed"
	fi
fi

for u in ksm.service ksmtuned.service; do
	if [ $have_analyze -eq 0 ]; then
		skip "$u: exposure (systemd-analyze missing)"
		continue
	fi
	max=$((ceiling[$u] / 10)).$((ceiling[$u] % 10))
	score=$(systemd-analyze security --offline=yes --no-pager "$units/$u" 2>/dev/null |
		sed -n 's/^→ Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
	if systemd-analyze security --offline=yes --no-pager \
		--threshold="${ceiling[$u]}" "$units/$u" >/dev/null 2>&1; then
		ok "$u: exposure ${score:-?} (at most $max)"
	else
		not_ok "$u: exposure ${score:-?} above $max"
	fi
done
[ $failed -eq 0 ]
