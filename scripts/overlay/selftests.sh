#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# selftests.sh stock|ours: build upstream's KSM selftests, unmodified and
# statically linked, from that tree into build/<tree>-selftests/, and write
# the list of invocations to run (tests.list, see tools/testing/ksm/run-tests.sh).
. "$(dirname "$0")/lib.sh"

which=$(tree_of "${1:?usage: selftests.sh stock|ours}")
tree=$("$TOP/scripts/overlay/tree.sh" "$which")
out=$BUILD/$which-selftests
hdr=$BUILD/$which-headers
src=$tree/tools/testing/selftests/mm
mkdir -p "$out"

stamp=$out/.stamp
# The stamp records the compiler flags too, so changing them rebuilds.
flags="-static -O0 -w"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$flags" ] ||
   [ -n "$(find "$src" "$tree/include/uapi" -newer "$stamp" -print -quit)" ]; then
	say "building upstream KSM selftests from $which tree"
	make -C "$tree" O="$hdr" ARCH=$KARCH -s headers_install INSTALL_HDR_PATH="$hdr/usr"
	# -O0, not -O2: test_prctl_fork_exec() in ksm_functional_tests.c
	# passes execv() an argv array without the closing NULL.  Built with
	# -O2 the word after it on the stack is not NULL, execv() fails with
	# EFAULT and the child falls through into the remaining tests, so the
	# TAP plan (1..9) no longer matches (seen with strace here); -O0 leaves
	# a NULL there and execv() succeeds.  The source stays unmodified.
	for prog in ksm_tests ksm_functional_tests; do
		(cd "$src" && gcc $flags -isystem "$hdr/usr/include" \
			-I"$tree" -I"$tree/tools/testing/selftests" \
			-o "$out/$prog" "$prog.c" vm_util.c thp_settings.c -lnuma -lpthread)
	done
	echo "$flags" >"$stamp"
fi
"$TOP/tools/testing/ksm/upstream-list.sh" "$src/run_vmtests.sh" "$out" >"$out/tests.list"
