#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tree.sh stock|ours: prepare a kernel source tree under build/.
#
#   stock  the unmodified upstream tree, unpacked once from the Debian
#          linux-source-6.12 tarball (build/stock/linux).
#   ours   another copy of it with patches/upstream/*.patch applied and the
#          project's files laid over it (build/ours/linux).
#
# The overlay is staged in a scratch directory and copied in with
# rsync --checksum, so only files whose content changed get a new mtime and
# kbuild recompiles just those. Files the project dropped since the last run
# are put back to their upstream content (or removed when upstream has none).
. "$(dirname "$0")/lib.sh"

which=${1:?usage: tree.sh stock|ours}

# unpack DIR: fresh upstream tree in DIR unless it holds this tarball already.
unpack() {
	local dir=$1 stamp
	stamp="$(stat -c '%s %Y' "$TARBALL") $(dpkg-query -W -f '${Version}' "$SRCPKG")"
	if [ -f "$dir/.ksm-unpacked" ] && [ "$(cat "$dir/.ksm-unpacked")" = "$stamp" ]; then
		return 0
	fi
	say "unpacking $TARBALL into $dir"
	rm -rf "$dir"
	mkdir -p "$dir"
	tar -xJf "$TARBALL" -C "$dir" --strip-components=1
	echo "$stamp" >"$dir/.ksm-unpacked"
}

[ -f "$TARBALL" ] || die "$TARBALL missing (apt-get install $SRCPKG)"
stock=$BUILD/stock/linux
unpack "$stock"
if [ "$which" = stock ]; then
	echo "$stock"
	exit 0
fi
[ "$which" = ours ] || die "usage: tree.sh stock|ours"

tree=$BUILD/ours/linux
unpack "$tree"

stage=$(mktemp -d "$BUILD/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# 1. Upstream files the patches touch, in their upstream state, then patched.
shopt -s nullglob
patches=("$PATCH_DIR"/*.patch)
for p in "${patches[@]}"; do
	sed -n 's#^+++ b/##p' "$p" | while read -r f; do
		if [ -f "$stock/$f" ] && [ ! -f "$stage/$f" ]; then
			mkdir -p "$stage/$(dirname "$f")"
			cp -p "$stock/$f" "$stage/$f"
		fi
	done
done
for p in "${patches[@]}"; do
	patch -s -p1 -d "$stage" --no-backup-if-mismatch -i "$p" ||
		die "patch $(basename "$p") does not apply to upstream $(upstream_version "$stock")"
done

# 2. The project's own files, path for path.
for d in $OVERLAY_DIRS; do
	[ -d "$TOP/$d" ] || continue
	# Sources only: what git tracks (or would), not what was built in
	# place; outside a git checkout every file but objects.
	if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$TOP" && git ls-files -co --exclude-standard -z -- "$d")
	else
		(cd "$TOP" && find "$d" -type f ! -name '*.o' ! -name '.*' -print0)
	fi | (cd "$TOP" && cpio -0 -pdm --quiet "$stage")
done
# The project's Kconfig menu is sourced from mm/Kconfig (see patches/upstream).
mkdir -p "$stage/mm/ksm"
cp -p "$TOP/Kconfig" "$stage/mm/ksm/Kconfig"

# 3. Copy what changed; restore what the project no longer provides.
(cd "$stage" && find . -type f | sed 's#^\./##' | sort) >"$BUILD/ours/manifest.new"
rsync -r --checksum "$stage/" "$tree/"
if [ -f "$BUILD/ours/manifest" ]; then
	comm -23 "$BUILD/ours/manifest" "$BUILD/ours/manifest.new" | while read -r f; do
		if [ -f "$stock/$f" ]; then
			cp -p "$stock/$f" "$tree/$f"
		else
			rm -f "$tree/$f"
		fi
	done
fi
mv "$BUILD/ours/manifest.new" "$BUILD/ours/manifest"
echo "$tree"
