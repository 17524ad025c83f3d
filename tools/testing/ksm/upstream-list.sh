#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# upstream-list.sh RUN_VMTESTS BINDIR: print, in the format of
# tools/testing/ksm/run-tests.sh, every KSM invocation that upstream's
# run_vmtests.sh makes (categories ksm and ksm_numa), read from the script
# itself so the list follows upstream, plus the variants this project also
# runs: -D and -C, and the prctl (-t 1) forms of -M, -U, -Z and -P.
set -euo pipefail

script=${1:?usage: upstream-list.sh RUN_VMTESTS BINDIR}
bin=${2:?usage: upstream-list.sh RUN_VMTESTS BINDIR}

emit() {	# emit KIND TIMEOUT ARGV...
	local kind=$1 timeout=$2
	shift 2
	# From the binary's directory, as run_vmtests.sh runs them: the
	# functional tests re-exec themselves as ./ksm_functional_tests.
	printf "%s|%s|%s|cd %s && ./%s\n" "upstream: $*" "$kind" "$timeout" "$bin" "$*"
}

n=0
while read -r prog args; do
	prog=${prog#./}
	kind=exit
	[ "$prog" = ksm_functional_tests ] && kind=tap
	emit "$kind" 600 "$prog${args:+ $args}"
	n=$((n + 1))
	case "$prog $args" in
	"ksm_tests -M "*|"ksm_tests -U"*|"ksm_tests -Z "*|"ksm_tests -P "*)
		emit exit 600 "$prog $args -t 1" ;;
	esac
done < <(sed -n 's/^CATEGORY="ksm\(_numa\)\?" run_test //p' "$script")
[ $n -ge 9 ] || { echo "error: found only $n KSM invocations in $script" >&2; exit 1; }
emit exit 600 "ksm_tests -D -s 100"
emit exit 600 "ksm_tests -C"
