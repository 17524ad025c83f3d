#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# patches.sh: emit the whole project as a `git format-patch` series against
# the upstream tree, into patches/out/, and check that the series applies
# to a pristine upstream tree.
#
# The series is built in a scratch git repository that holds only the
# upstream files the project touches: first the edits of patches/upstream/
# (applied with git am, so they keep their own messages), then one commit
# per overlay directory.
. "$(dirname "$0")/lib.sh"

stock=$("$TOP/scripts/overlay/tree.sh" stock)
ours=$("$TOP/scripts/overlay/tree.sh" ours)
dest=$TOP/patches/out
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
manifest=$BUILD/ours/manifest

git -C "$work" init -q
git -C "$work" config user.name "KSM overlay"
git -C "$work" config user.email "ksm@localhost"
# Upstream state of every file the project touches that upstream has.
while read -r f; do
	if [ -f "$stock/$f" ]; then
		mkdir -p "$work/$(dirname "$f")"
		cp "$stock/$f" "$work/$f"
	fi
done <"$manifest"
git -C "$work" add -A
git -C "$work" commit -q --allow-empty -m "upstream $(upstream_version "$stock")"
base=$(git -C "$work" rev-parse HEAD)

for p in "$PATCH_DIR"/*.patch; do
	[ -f "$p" ] || continue
	git -C "$work" am -q "$p" || die "git am $(basename "$p") failed"
done

# One commit per area of the overlay, in the order a reviewer reads them.
commit_area() {	# commit_area SUBJECT PATH...
	local subject=$1
	shift
	local f
	while read -r f; do
		for a in "$@"; do
			case "$f" in "$a"*)
				mkdir -p "$work/$(dirname "$f")"
				cp "$ours/$f" "$work/$f" ;;
			esac
		done
	done <"$manifest"
	git -C "$work" add -A
	git -C "$work" diff --cached --quiet ||
		git -C "$work" commit -q -m "$subject" -m "Part of the KSM project; see README.md of the project."
}
commit_area "mm/ksm: the new KSM core" mm/ksm/ mm/
commit_area "include: KSM interfaces" include/
commit_area "Documentation/mm: KSM design and administration" Documentation/
commit_area "kernel/configs: KSM test configurations" kernel/configs/
commit_area "tools/ksm: ksmctl, ksmtuned and libksm" tools/ksm/
commit_area "selftests/ksm: the project's own KSM tests and guest runner" tools/testing/

rm -rf "$dest"
git -C "$work" format-patch -q -o "$dest" "$base..HEAD"
(cd "$stock" && git apply --check "$dest"/*.patch) ||
	die "the series does not apply to upstream"
say "wrote $(ls "$dest" | wc -l) patches to patches/out/ (they apply to upstream $(upstream_version "$stock"))"
