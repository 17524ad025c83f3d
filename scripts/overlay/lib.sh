# SPDX-License-Identifier: GPL-2.0
#
# Shared settings of the overlay build scripts. Sourced, not run.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
TARBALL=${TARBALL:-/usr/src/linux-source-6.12.tar.xz}
SRCPKG=linux-source-6.12
JOBS=${JOBS:-$(nproc)}
KARCH=x86_64

# Paths of the project that are laid over the upstream tree, path for path.
OVERLAY_DIRS="mm include Documentation kernel/configs tools/ksm tools/testing/selftests/ksm tools/testing/ksm"

# Upstream edits, as patches against the upstream tree, applied in order.
PATCH_DIR=$TOP/patches/upstream

say() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# upstream_version TREE: "6.12.117 (Debian linux-source-6.12 6.12.117-1~deb12u1)"
upstream_version() {
	local mk=$1/Makefile v p s pkg
	v=$(sed -n 's/^VERSION = //p' "$mk")
	p=$(sed -n 's/^PATCHLEVEL = //p' "$mk")
	s=$(sed -n 's/^SUBLEVEL = //p' "$mk")
	pkg=$(dpkg-query -W -f '${Version}' "$SRCPKG" 2>/dev/null || echo unknown)
	printf '%s.%s.%s (Debian %s %s)\n' "$v" "$p" "$s" "$SRCPKG" "$pkg"
}

# kmake TREE OUT ARGS...: kbuild with our compiler and output settings.
kmake() {
	local tree=$1 out=$2
	shift 2
	local cc=gcc
	command -v ccache >/dev/null && cc="ccache gcc"
	make -C "$tree" O="$out" ARCH=$KARCH CC="$cc" HOSTCC="$cc" \
		KBUILD_BUILD_USER=ksm KBUILD_BUILD_HOST=overlay \
		-j"$JOBS" -s "$@"
}

# tree_of VARIANT: the source tree a kernel variant builds from.
tree_of() {
	case "$1" in
	stock) echo stock ;;
	*) echo ours ;;
	esac
}
