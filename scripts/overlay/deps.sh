#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages the build, the guest runner and the tools need,
# when any is missing. Does nothing (quickly) when all are present.
. "$(dirname "$0")/lib.sh"

pkgs=(
	linux-source-6.12 build-essential bc bison flex libelf-dev libssl-dev
	cpio xz-utils rsync kmod ccache python3 perl sparse
	qemu-system-x86 qemu-utils busybox-static libnuma-dev
	libsmartcols-dev libsystemd-dev pkg-config gnuplot-nox
	systemd dpkg-dev debhelper fakeroot lintian systemd-container
)

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

[ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}); run as root or install them"
say "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
