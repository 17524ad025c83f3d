#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-guest.sh [options] BZIMAGE COMMAND [ARG...]
#
# Boot BZIMAGE under QEMU (TCG) with the busybox initramfs, run COMMAND as
# root in the guest (chrooted into a read-only 9p view of the host's root,
# current directory the same as here), and capture the serial console.
#
# Options:
#   -o DIR     result directory, shared writable with the guest at the same
#              path (default: a new one under build/runs/)
#   -m SIZE    guest memory (default 2G)
#   -c N       virtual CPUs (default 2)
#   -a ARGS    extra kernel command line
#   -t SECS    time limit for the whole run (default 1800)
#   -q         do not echo the console here (it is still in DIR/console.log)
#
# Exit status 0 only when COMMAND exited 0, the guest shut down by itself,
# and the console shows no kernel splat (BUG:, WARNING:, KASAN, lockdep,
# Oops, general protection, hung task, panic), whatever COMMAND printed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
out= mem=2G cpus=2 extra= limit=1800 quiet=0
while getopts "o:m:c:a:t:q" opt; do
	case $opt in
	o) out=$OPTARG ;;
	m) mem=$OPTARG ;;
	c) cpus=$OPTARG ;;
	a) extra=$OPTARG ;;
	t) limit=$OPTARG ;;
	q) quiet=1 ;;
	*) echo "usage: run-guest.sh [-o DIR] [-m SIZE] [-c N] [-a ARGS] [-t SECS] [-q] BZIMAGE COMMAND..." >&2
	   exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { echo "error: need a kernel image and a command" >&2; exit 2; }
kernel=$1
shift
[ -f "$kernel" ] || { echo "error: no kernel image at $kernel" >&2; exit 2; }
# The guest mounts its own file systems over these (tools/testing/ksm/init),
# so a tree or working directory below one of them is invisible to it.
for dir in "$top" "$PWD"; do
	case $dir/ in
	/tmp/*|/run/*|/root/*|/dev/*|/proc/*|/sys/*)
		echo "error: $dir is under /$(echo "$dir" | cut -d/ -f2), which the guest mounts afresh: use a tree elsewhere" >&2
		exit 2 ;;
	esac
done

if [ -z "$out" ]; then
	mkdir -p "$top/build/runs"
	out=$(mktemp -d "$top/build/runs/run.XXXXXX")
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
initrd=$top/build/initramfs.cpio
"$here/initramfs.sh" "$initrd"

# The job the guest's /init runs, chrooted into the host root.
{
	echo "#!/bin/sh"
	echo "export HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	printf 'cd %q || exit 1\n' "$PWD"
	printf 'export KSMRUN_OUT=%q\n' "$out"
	printf '%q ' "$@"
	echo
} >"$out/job.sh"

console=$out/console.log
: >"$console"
rc=0
set +e
timeout -k 10 "$limit" qemu-system-x86_64 \
	-machine pc -cpu ${KSMRUN_CPU:-max} -smp "$cpus" -m "$mem" \
	-display none -vga none -monitor none -no-reboot \
	-serial "file:$console" \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 numa=fake=2 slab_nomerge ksmrun.out=$out $extra" \
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
	-virtfs "local,path=$out,mount_tag=ksmout,security_model=none" &
qemu=$!
# If this script is killed, the guest goes with it.
trap 'kill $qemu 2>/dev/null || true' EXIT
trap 'exit 143' TERM INT HUP
if [ $quiet -eq 0 ]; then
	tail -F -n +1 --pid=$qemu "$console" 2>/dev/null &
	tailer=$!
fi
wait $qemu
qrc=$?
[ $quiet -eq 0 ] && { sleep 0.5; kill $tailer 2>/dev/null; wait $tailer 2>/dev/null; }
set -e

verdict() { echo "run-guest: $*" | tee -a "$out/verdict" >&2; }
: >"$out/verdict"
if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
	verdict "FAIL: time limit of $limit s reached"
	rc=1
fi
# Boot banners that name a debug feature without reporting anything, and
# backtrace frames of a function whose name does (lockdep_hardirqs_on+0x..
# in the stack of an OOM report); a real report has its own header line.
frame='\] +(\? )?[A-Za-z0-9_.]+\+0x[0-9a-f]+/0x[0-9a-f]+( \[[A-Za-z0-9_]+\])?[[:space:]]*$'
benign="KSMRUN|RCU lockdep checking is enabled|$frame"
splats=$(grep -aE 'BUG:|WARNING:|KASAN|lockdep|Oops|general protection|hung task|Kernel panic|UBSAN:|INFO: task .* blocked' "$console" | grep -avE "$benign" | head -n 20 || true)
if [ -n "$splats" ]; then
	verdict "FAIL: kernel splat on the console:"
	printf '%s\n' "$splats" | sed 's/^/    /' | tee -a "$out/verdict" >&2
	rc=1
fi
done_line=$(tr -d "\r" <"$console" | grep -a "^KSMRUN: done " | tail -n 1 || true)
if [ -z "$done_line" ]; then
	verdict "FAIL: the guest did not finish its job ($(grep -a '^KSMRUN: error' "$console" | head -n 1 || echo 'crash or hang'))"
	rc=1
elif [ "${done_line#KSMRUN: done }" != 0 ]; then
	verdict "FAIL: the job exited with status ${done_line#KSMRUN: done }"
	rc=1
fi
[ $rc -eq 0 ] && verdict "ok: job passed, console clean ($console)"
exit $rc
