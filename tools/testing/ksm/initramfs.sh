#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# initramfs.sh OUT: write the guest's initramfs (busybox-static and our
# /init) as an uncompressed cpio archive to OUT, when it is missing or older
# than its inputs.
set -euo pipefail

out=${1:?usage: initramfs.sh OUT}
here=$(cd "$(dirname "$0")" && pwd)
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "error: busybox-static is not installed" >&2; exit 1; }
if [ -f "$out" ] && [ "$out" -nt "$here/init" ] && [ "$out" -nt "$busybox" ]; then
	exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,host,tmp}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	# --list names busybox itself too; it must stay the real binary.
	[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
cp "$here/init" "$root/init"
chmod 755 "$root/init"
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | cpio -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
