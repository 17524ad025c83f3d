#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# initramfs.sh OUT [INIT [PROGRAM...]]: write a guest initramfs (busybox-static,
# INIT as /init, by default our init next to this script, and each PROGRAM
# in /bin) as an uncompressed cpio archive to OUT, when it is missing or
# older than its inputs. PROGRAMs must be static: there is no libc in it.
set -euo pipefail

usage="usage: initramfs.sh OUT [INIT [PROGRAM...]]"
out=${1:?$usage}
here=$(cd "$(dirname "$0")" && pwd)
init=${2:-$here/init}
progs=("${@:3}")
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "error: busybox-static is not installed" >&2; exit 1; }
fresh=1
for f in "$init" "$busybox" "${progs[@]}"; do
	[ -f "$f" ] || { echo "error: initramfs.sh: no $f" >&2; exit 1; }
	[ -f "$out" ] && [ "$out" -nt "$f" ] || fresh=0
done
[ $fresh -eq 1 ] && exit 0

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,host,tmp}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	# --list names busybox itself too; it must stay the real binary.
	[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
cp "$init" "$root/init"
chmod 755 "$root/init"
for f in "${progs[@]}"; do
	install -m 755 "$f" "$root/bin/$(basename "$f")"
done
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | cpio -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
