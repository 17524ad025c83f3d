#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh: build our kernel, boot it, and watch KSM merge a workload.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
build=${BUILD:-$top/build}

"$top/scripts/overlay/kernel.sh" ours fast
mkdir -p "$build/tools"
gcc -Wall -Wextra -Werror -O2 -o "$build/tools/dup-workload" "$here/dup-workload.c"
exec "$here/run-guest.sh" -o "$build/runs/demo" "$build/ours-fast/arch/x86/boot/bzImage" \
	"$here/demo-guest.sh" "$build/tools/dup-workload"
