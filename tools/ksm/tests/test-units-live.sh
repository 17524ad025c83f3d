#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test-units-live.sh: the sandboxed units really work. Boots systemd in a
# throw-away container (systemd-nspawn --volatile=yes: the host's /usr, an
# empty /etc) with the units of systemd/ pointing at the programs built
# here and the host's /sys/kernel/mm/ksm bound in, then:
#
#   - ksm.service writes run=1 and run=0 through ProtectKernelTunables=
#     (ReadWritePaths= opens /sys/kernel/mm/ksm again), and the same unit
#     without ReadWritePaths= cannot (so the sandbox is really there);
#   - ksmtuned.service reports ready, keeps exactly CAP_SYS_PTRACE and
#     CAP_DAC_READ_SEARCH, counts a mergeable process of another user
#     (through smaps and ksm_stat), and reloads on systemctl reload.
#
# Needs root, systemd-nspawn (systemd-container) and KSM in the host
# kernel; it changes the host's KSM state for a few seconds and puts run,
# pages_to_scan and sleep_millisecs back. Not part of make check (run it
# by hand: ./tests/test-units-live.sh). TAP on stdout.
cd "$(dirname "$0")/.." || exit 1

plan=9
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

echo "TAP version 13"
[ "$(id -u)" -eq 0 ] || skip_all "needs root"
command -v systemd-nspawn >/dev/null || skip_all "systemd-nspawn missing (systemd-container)"
ksm=/sys/kernel/mm/ksm
[ -w $ksm/run ] || skip_all "no writable $ksm in this kernel"
echo "1..$plan"

make -s >/dev/null || { echo "Bail out! build failed"; exit 1; }
tmp=$(mktemp -d)
pid=
saved=$(cd $ksm && echo "$(cat run) $(cat pages_to_scan) $(cat sleep_millisecs)")
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		[ -n "${leader:-}" ] && nsenter -t "$leader" -m -p systemctl poweroff >/dev/null 2>&1
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
		kill "$pid" 2>/dev/null
	fi
	set -- $saved
	echo 0 >$ksm/run
	echo "$2" >$ksm/pages_to_scan
	echo "$3" >$ksm/sleep_millisecs
	echo "$1" >$ksm/run
	rm -rf "$tmp"
}
trap cleanup EXIT

# The programs under /opt/ksm in the container, the units as installed.
make -s install DESTDIR="$tmp/root" PREFIX=/opt/ksm SYSCONFDIR=/etc >/dev/null
install -m 755 tests/merge-workload "$tmp/root/opt/ksm/sbin/"
mkdir -p "$tmp/units"
cp "$tmp/root/opt/ksm/lib/systemd/system/"*.service "$tmp/units/"
# The same ksm.service, but /sys/kernel/mm/ksm left read-only.
sed -e '/^ReadWritePaths=/d' -e 's/^Description=.*/Description=KSM without ReadWritePaths/' \
	"$tmp/units/ksm.service" >"$tmp/units/ksm-ro.service"

setsid systemd-nspawn -D / --volatile=yes --register=no --keep-unit -q \
	--console=read-only -b --bind-ro="$tmp/root/opt/ksm:/opt/ksm" \
	--bind-ro="$tmp/units:/etc/systemd/system" --bind=$ksm \
	systemd.firstboot=off >"$tmp/console.log" 2>&1 &
pid=$!
leader=
for _ in $(seq 60); do
	leader=$(pgrep -P "$pid" -x systemd || true)
	[ -n "$leader" ] && break
	sleep 1
done
if [ -z "$leader" ]; then
	echo "Bail out! the container did not boot"
	sed 's/^/# /' "$tmp/console.log" | tail -n 20
	exit 1
fi
ct() { nsenter -t "$leader" -m -p -u -i -n -C "$@"; }
state=
for _ in $(seq 90); do
	state=$(ct systemctl is-system-running 2>/dev/null)
	case "$state" in running|degraded) break ;; esac
	sleep 1
done
case "$state" in
running|degraded) ;;
*) echo "Bail out! systemd in the container is '$state'"; exit 1 ;;
esac
prop() { ct systemctl show -p "$2" --value "$1"; }

echo 0 >$ksm/run
ct systemctl start ksm.service
check "ksm.service starts ksmd through its sandbox (run=$(cat $ksm/run))" test "$(cat $ksm/run)" = 1
ct systemctl stop ksm.service
check "ksm.service stops ksmd (run=$(cat $ksm/run))" test "$(cat $ksm/run)" = 0
ct systemctl start ksm-ro.service 2>/dev/null
result=$(prop ksm-ro.service Result)
check "without ReadWritePaths= the same unit cannot write (run=$(cat $ksm/run), result $result)" \
	test "$(cat $ksm/run)" = 0 -a -n "$result" -a "$result" != success

ct sh -c 'printf "DEBUG=1\nKSM_POLL_INTERVAL=1\n" >/etc/ksmtuned.conf'
ct systemctl start ksmtuned.service
check "ksmtuned.service is ready: $(prop ksmtuned.service StatusText)" \
	test "$(prop ksmtuned.service ActiveState)" = active -a -n "$(prop ksmtuned.service StatusText)"
check "ksm.service came up with it (Requires=)" test "$(prop ksm.service ActiveState)" = active
main=$(prop ksmtuned.service MainPID)
caps=$(ct sed -n 's/^CapBnd:\t//p' "/proc/$main/status")
# CAP_DAC_READ_SEARCH (2) and CAP_SYS_PTRACE (19)
check "ksmtuned keeps CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH only ($caps)" \
	test "$caps" = 0000000000080004

ct systemd-run -q -p User=nobody --unit=ksm-workload /opt/ksm/sbin/merge-workload -m 32
procs=0
for _ in $(seq 15); do
	procs=$(ct journalctl -q -u ksmtuned.service -o cat |
		sed -n 's/.* (\([0-9]*\) procs, 0 by name).*/\1/p' | tail -n 1)
	[ "${procs:-0}" -ge 1 ] && break
	sleep 1
done
check "ksmtuned counts another user's mergeable process (${procs:-0})" test "${procs:-0}" -ge 1
ct systemctl stop ksm-workload.service

ct systemctl reload ksmtuned.service
check "systemctl reload ksmtuned succeeds and it stays active" \
	test $? -eq 0 -a "$(prop ksmtuned.service ActiveState)" = active
check "ksmtuned says it reloaded" \
	sh -c "nsenter -t $leader -m -p journalctl -q -u ksmtuned.service -o cat | grep -q 'configuration reloaded'"
[ $failed -eq 0 ]
