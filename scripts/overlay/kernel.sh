#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel.sh stock|ours fast|debug|nodomains|profile: configure and build a bzImage.
#
#   stock  the unmodified upstream tree (upstream's mm/ksm.c)
#   ours   the overlay tree (the KSM core in mm/ksm/)
#
#   fast       the small configuration of make check
#   debug      fast plus KASAN, lockdep and the other debug options
#   nodomains  fast without CONFIG_KSM_MERGE_DOMAINS (ours only; make bench)
#   profile    fast plus the function tracer and profiler (bench.sh --profile)
#
# Output goes to build/<tree>-<config>/ (an out-of-tree kbuild directory);
# the image is build/<tree>-<config>/arch/x86/boot/bzImage. The .config is
# made from tinyconfig plus the fragments in kernel/configs/ and is only
# regenerated when a fragment changes, so rebuilds stay incremental.
. "$(dirname "$0")/lib.sh"

which=${1:?usage: kernel.sh stock|ours fast|debug|nodomains|profile}
cfg=${2:?usage: kernel.sh stock|ours fast|debug|nodomains|profile}
case "$cfg" in
fast) frags=("$TOP/kernel/configs/ksm-fast.config") ;;
debug) frags=("$TOP/kernel/configs/ksm-fast.config" "$TOP/kernel/configs/ksm-debug.config") ;;
nodomains)
	[ "$which" = ours ] || die "nodomains is a configuration of our tree only"
	frags=("$TOP/kernel/configs/ksm-fast.config") ;;
profile) frags=("$TOP/kernel/configs/ksm-fast.config" "$TOP/kernel/configs/ksm-profile.config") ;;
*) die "unknown configuration '$cfg' (fast, debug, nodomains or profile)" ;;
esac
# Extra fragments for this run only, e.g. a deliberately broken test build.
for f in ${KSM_EXTRA_CONFIG:-}; do frags+=("$f"); done
case "$which" in
stock) ;;
ours)
	frags+=("$TOP/kernel/configs/ksm-ours.config")
	[ "$cfg" != nodomains ] || frags+=("$TOP/kernel/configs/ksm-nodomains.config") ;;
*) die "unknown tree '$which' (stock or ours)" ;;
esac

tree=$("$TOP/scripts/overlay/tree.sh" "$(tree_of "$which")")
out=$BUILD/$which-$cfg
mkdir -p "$out"

want=$(cat "${frags[@]}" "$TOP/Kconfig" "$PATCH_DIR"/*.patch 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -f "$out/.config" ] || [ "$(cat "$out/.ksm-config" 2>/dev/null)" != "$want" ]; then
	say "configuring $which-$cfg"
	kmake "$tree" "$out" tinyconfig >/dev/null
	(cd "$out" && "$tree/scripts/kconfig/merge_config.sh" -m -O "$out" \
		"$out/.config" "${frags[@]}" >/dev/null)
	kmake "$tree" "$out" olddefconfig >/dev/null
	# olddefconfig silently drops what a dependency forbids: check. A
	# later fragment's line for an option wins, as in merge_config.sh.
	bad=0
	declare -A seen=()
	while read -r line; do
		case "$line" in
		CONFIG_*=*) sym=${line%%=*} ;;
		"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *} ;;
		*) continue ;;
		esac
		[ -z "${seen[$sym]:-}" ] || continue
		seen[$sym]=1
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$out/.config" || { say "config: $line did not survive"; bad=1; } ;;
		*)
			! grep -q "^$sym=" "$out/.config" || { say "config: $sym is still set"; bad=1; } ;;
		esac
	done < <(cat "${frags[@]}" | tac)
	[ $bad -eq 0 ] || die "configuration $which-$cfg lacks requested options"
	echo "$want" >"$out/.ksm-config"
fi

say "building $which-$cfg against upstream $(upstream_version "$tree")"
start=$(date +%s)
kmake "$tree" "$out" bzImage
say "built $out/arch/x86/boot/bzImage in $(($(date +%s) - start)) s"
echo "$(upstream_version "$tree")" >"$out/.ksm-upstream"
