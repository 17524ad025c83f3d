#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deb.sh [tools|kernel|all]: Debian packages, built with Debian's tools,
# into build/deb/.
#
#   tools   ksm-tools_*.deb from tools/ksm with its debian/ directory
#           (dpkg-buildpackage), then lintian on it
#   kernel  linux-image-*-ksm_*.deb: the kernel's own `make bindeb-pkg` on
#           the overlay tree with the fast configuration, in its own kbuild
#           directory build/deb/kernel-obj (a full kernel build, at nice 19)
#   all     both (the default; what `make deb` runs)
#
# The tools' source package is staged as build/deb/src/ksm-tools-VERSION,
# a copy of what git tracks (or would) in tools/ksm, so the checkout stays
# free of build products. lintian's tags go to build/deb/lintian-*.txt; an
# error (E:) fails the run, warnings are listed. DEB_BUILD_OPTIONS passes
# through (nocheck skips the tools' unit tests in the package build).
. "$(dirname "$0")/lib.sh"

what=${1:-all}
out=$BUILD/deb
mkdir -p "$out"

# lint NAME FILE...: lintian on the packages; fail on an error.
lint() {
	local name=$1 log=$out/lintian-$1.txt
	shift
	lintian --allow-root --display-info --pedantic "$@" >"$log" 2>&1 || true
	say "lintian $name: $(grep -c '^E: ' "$log" || true) errors," \
		"$(grep -c '^W: ' "$log" || true) warnings (in $log)"
	grep "^[EWIP]: " "$log" >&2 || true
	! grep -q '^E: ' "$log" || die "lintian found errors in $name"
}

build_tools() {
	local ver src
	ver=$(dpkg-parsechangelog -l "$TOP/tools/ksm/debian/changelog" -S Version)
	src=$out/src/ksm-tools-$ver
	rm -rf "$out/src"
	mkdir -p "$src"
	if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$TOP/tools/ksm" && git ls-files -co --exclude-standard -z .)
	else
		(cd "$TOP/tools/ksm" && find . -type f ! -name '*.o' ! -name '*.a' -print0)
	fi | (cd "$TOP/tools/ksm" && cpio -0 -pdm --quiet "$src")
	# Programs built in place in the checkout are not sources.
	make -s -C "$src" clean >/dev/null
	rm -f "$out"/ksm-tools[_-]*
	say "building ksm-tools $ver"
	(cd "$src" && dpkg-buildpackage -b -us -uc >"$out/ksm-tools-build.log" 2>&1) ||
		{ tail -n 30 "$out/ksm-tools-build.log" >&2; die "ksm-tools build failed (see $out/ksm-tools-build.log)"; }
	for f in "$out"/src/ksm-tools*_"$ver"_*.*; do mv -f "$f" "$out/"; done
	rm -rf "$out/src"
	lint ksm-tools "$out/ksm-tools_${ver}_$(dpkg --print-architecture).deb"
	echo "$out/ksm-tools_${ver}_$(dpkg --print-architecture).deb"
}

build_kernel() {
	local tree obj=$out/kernel-obj frags want kver debs bad line
	frags=("$TOP/kernel/configs/ksm-fast.config" "$TOP/kernel/configs/ksm-ours.config")
	tree=$("$TOP/scripts/overlay/tree.sh" ours)
	mkdir -p "$obj"
	# The fast configuration, made as kernel.sh makes it.
	want=$(cat "${frags[@]}" "$TOP/Kconfig" "$PATCH_DIR"/*.patch 2>/dev/null | sha256sum | cut -d' ' -f1)
	if [ ! -f "$obj/.config" ] || [ "$(cat "$obj/.ksm-config" 2>/dev/null)" != "$want" ]; then
		say "configuring $obj"
		kmake "$tree" "$obj" tinyconfig >/dev/null
		(cd "$obj" && "$tree/scripts/kconfig/merge_config.sh" -m -O "$obj" \
			"$obj/.config" "${frags[@]}" >/dev/null)
		kmake "$tree" "$obj" olddefconfig >/dev/null
		# What olddefconfig dropped would be missing from the package.
		bad=0
		while read -r line; do
			case "$line" in
			CONFIG_*=*)
				grep -qxF "$line" "$obj/.config" || { say "config: $line did not survive"; bad=1; } ;;
			esac
		done < <(cat "${frags[@]}")
		[ $bad -eq 0 ] || die "the package's configuration lacks requested options"
		echo "$want" >"$obj/.ksm-config"
	fi
	kver=$(sed -n 's/^VERSION = //p; s/^PATCHLEVEL = //p; s/^SUBLEVEL = //p' "$tree/Makefile" | paste -sd.)
	say "building linux-image $kver-ksm with bindeb-pkg against upstream $(upstream_version "$tree")"
	rm -f "$out"/linux-*.deb "$out"/linux-*.buildinfo "$out"/linux-*.changes
	# The packages land in the kbuild directory's parent: build/deb/.
	DEBEMAIL="maintainers@users.noreply.h-seed-8798f748.example" \
	DEBFULLNAME="KSM project maintainers" \
	nice -n 19 make -C "$tree" O="$obj" ARCH=$KARCH -j"$JOBS" -s \
		CC="$(command -v ccache >/dev/null && echo "ccache gcc" || echo gcc)" \
		KBUILD_BUILD_USER=ksm KBUILD_BUILD_HOST=overlay \
		LOCALVERSION=-ksm KDEB_SOURCENAME=linux-ksm \
		KDEB_PKGVERSION="$kver-ksm1" KDEB_CHANGELOG_DIST=bookworm \
		bindeb-pkg >"$out/kernel-build.log" 2>&1 ||
		{ tail -n 30 "$out/kernel-build.log" >&2; die "bindeb-pkg failed (see $out/kernel-build.log)"; }
	debs=("$out"/linux-image-*.deb)
	[ -f "${debs[0]}" ] || die "bindeb-pkg made no linux-image package"
	lint linux-image "$out"/linux-*.deb
	printf '%s\n' "$out"/linux-*.deb
}

case "$what" in
tools) build_tools ;;
kernel) build_kernel ;;
all) build_tools; build_kernel ;;
*) die "usage: deb.sh [tools|kernel|all]" ;;
esac
