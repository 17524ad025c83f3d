#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-check.sh TEST...: run the host tests (each prints TAP) from
# tools/ksm, nest their output as kselftest does, and end with one line
# "check: N passed, N failed". Exit status 0 only if every test passed.
cd "$(dirname "$0")/.." || exit 1

echo "TAP version 13"
echo "1..$#"
pass=0 fail=0 n=0 rc=0
for t in "$@"; do
	n=$((n + 1))
	out=$("./$t" 2>&1)
	status=$?
	printf '%s\n' "$out" | sed 's/^/    /'
	p=$(printf '%s\n' "$out" | grep -c '^ok ')
	f=$(printf '%s\n' "$out" | grep -c '^not ok ')
	pass=$((pass + p))
	fail=$((fail + f))
	# A crash or a wrong plan fails the program even if its lines said ok.
	planned=$(printf '%s\n' "$out" | sed -n 's/^1\.\.\([0-9]*\)$/\1/p' | head -n 1)
	if [ $status -ne 0 ] || [ -z "$planned" ] || [ $((p + f)) -ne "$planned" ]; then
		echo "not ok $n $t"
		rc=1
		[ $f -eq 0 ] && fail=$((fail + 1))
	else
		echo "ok $n $t"
	fi
done
echo "check: $pass passed, $fail failed"
exit $rc
