#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh stock|ours fast|debug: build the kernel and the tests, boot the
# kernel once to run them all, and print one line "N passed, N failed,
# N skipped". Exit status 0 only when nothing failed.
#
# Counted as tests: every result line of the guest run (upstream's KSM
# selftests and ours, tools/testing/ksm/*.list), every top-level KUnit
# suite the kernel ran at boot, the kernel console of that run (no splat),
# and one more boot that provokes a WARNING on purpose and must be failed
# by the runner (so a broken kernel cannot pass unnoticed).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
which=${1:?usage: check.sh stock|ours fast|debug}
cfg=${2:?usage: check.sh stock|ours fast|debug}
build=${BUILD:-$top/build}

"$top/scripts/overlay/kernel.sh" "$which" "$cfg"
"$top/scripts/overlay/selftests.sh" "$which"
# The project's selftests build through lib.mk in the overlaid tree, into
# build/ksm-selftests/ (with warnings as errors); the operator tools build
# in place, with warnings as errors, as their own make check does.
"$top/scripts/overlay/ksm-selftests.sh" >/dev/null
if [ -f "$top/tools/ksm/Makefile" ]; then make -s -C "$top/tools/ksm" WERROR=1; fi
kernel=$build/$which-$cfg/arch/x86/boot/bzImage

# A quarter of the guest's memory movable, so that ksm_hotremove can
# offline a block holding KSM pages.
append="movablecore=512M"
[ "$cfg" = debug ] && append+=" panic_on_warn=1 softlockup_panic=1 hung_task_panic=1"

case "$which" in stock) tree=stock ;; *) tree=ours ;; esac
lists=("$build/$tree-selftests/tests.list")
host_lists=()
for l in "$here"/*.list; do
	case "$l" in
	*/host-*.list) host_lists+=("$l") ;;
	*) lists+=("$l") ;;
	esac
done

out=$build/runs/check-$which-$cfg
rm -rf "$out"
mkdir -p "$out"
: >"$out/results.tap"
if [ ${#host_lists[@]} -gt 0 ]; then
	(cd "$top" && "$here/run-tests.sh" "$out/results.tap" "${host_lists[@]}")
fi
guest_rc=0
"$here/run-guest.sh" -o "$out" -a "$append" "$kernel" \
	"$here/run-tests.sh" "$out/results.tap" "${lists[@]}" || guest_rc=$?

pass=0 fail=0 skip=0
failed=()
count() {	# count STATUS DESCRIPTION: tally one result
	case "$1" in
	ok) pass=$((pass + 1)) ;;
	skip) skip=$((skip + 1)) ;;
	*) fail=$((fail + 1)); failed+=("$2") ;;
	esac
}

while IFS= read -r l; do
	case "$l" in
	"ok "*"# SKIP"*) count skip "$l" ;;
	"ok "*) count ok "$l" ;;
	"not ok "*) count fail "$l" ;;
	esac
done <"$out/results.tap"

# KUnit suites print their top-level results at boot, before /init.
while IFS= read -r l; do
	case "$l" in
	*"# SKIP"*) count skip "kunit: $l" ;;
	"ok "*) count ok "kunit: $l" ;;
	*) count fail "kunit: $l" ;;
	esac
done < <(sed -n '/KSMRUN: start/q; s/^\[ *[0-9.]*\] \(\(not \)\?ok [0-9]\+ .*\)$/\1/p' "$out/console.log")

if [ $guest_rc -eq 0 ]; then
	count ok "guest run: clean console, job finished"
else
	count fail "guest run: $(grep -m1 FAIL "$out/verdict" || echo "failed")"
fi

# The runner must fail a run whose kernel warns: provoke one with LKDTM.
neg=$build/runs/check-$which-$cfg-warn
rm -rf "$neg"
if "$here/run-guest.sh" -q -o "$neg" -t 300 -a "$append" "$kernel" \
	sh -c 'echo WARNING >/sys/kernel/debug/provoke-crash/DIRECT' 2>/dev/null; then
	count fail "runner: a kernel WARNING did not fail the run"
elif grep -q 'kernel splat' "$neg/verdict"; then
	count ok "runner: a kernel WARNING fails the run"
else
	count fail "runner: the WARNING run failed for another reason: $(head -n 1 "$neg/verdict")"
fi

echo
echo "upstream $(cat "$build/$which-$cfg/.ksm-upstream"), kernel $which-$cfg"
for f in "${failed[@]}"; do echo "FAILED: $f"; done
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
