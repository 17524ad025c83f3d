#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ksm-selftests.sh: build the project's own KSM selftests
# (tools/testing/selftests/ksm) through selftests' lib.mk, in the overlaid
# tree build/ours/linux, where ../lib.mk, ../kselftest.h and
# ../mm/vm_util.c are upstream's, against that tree's uapi headers, into
# build/ksm-selftests/. Prints that directory.
. "$(dirname "$0")/lib.sh"

tree=$("$TOP/scripts/overlay/tree.sh" ours)
hdr=$BUILD/ours-headers
out=$BUILD/ksm-selftests
mkdir -p "$out"

# vm_util.c needs the 6.12 uapi (PAGEMAP_SCAN); headers_install is
# incremental (selftests.sh runs it too).
make -C "$tree" O="$hdr" ARCH=$KARCH -s headers_install INSTALL_HDR_PATH="$hdr/usr"
make -C "$tree/tools/testing/selftests/ksm" -s OUTPUT="$out" \
	KHDR_INCLUDES="-isystem $hdr/usr/include" >&2
echo "$out"
