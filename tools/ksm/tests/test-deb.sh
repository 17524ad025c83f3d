#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test-deb.sh: the ksm-tools Debian package. Builds it with
# scripts/overlay/deb.sh tools (dpkg-buildpackage, then lintian, which
# must find no error), installs it into a scratch root with its own dpkg
# database (dpkg --root, maintainer scripts run chrootless with
# DPKG_ROOT), checks what landed, that /etc/ksmtuned.conf is a registered
# conffile and the units got enabled in that root, then removes and purges
# it and checks that nothing of it is left. TAP on stdout.
#
# Nothing outside the scratch directories is touched: the build goes to a
# temporary BUILD, and systemctl and deb-systemd-invoke (which the
# postinst would run against the live system) are stand-ins that only
# log their arguments.
cd "$(dirname "$0")/.." || exit 1
top=$(cd ../.. && pwd)

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $*"; }
check() {	# check DESCRIPTION COMMAND...: ok if COMMAND succeeds
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

plan=22
echo "TAP version 13"
echo "1..$plan"
for tool in dpkg-buildpackage dh lintian dpkg deb-systemd-helper; do
	if ! command -v "$tool" >/dev/null; then
		for _ in $(seq $plan); do n=$((n + 1)); echo "ok $n # SKIP $tool missing (scripts/overlay/deps.sh installs it)"; done
		exit 0
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export BUILD=$tmp/build

# 1. Build (the unit tests already ran in make check: nocheck).
if deb=$(DEB_BUILD_OPTIONS=nocheck "$top/scripts/overlay/deb.sh" tools 2>"$tmp/deb.log") &&
	[ -f "$deb" ]; then
	ok "ksm-tools builds: $(basename "$deb")"
else
	not_ok "ksm-tools builds"
	sed 's/^/# /' "$tmp/deb.log"
	for _ in $(seq $((plan - 1))); do not_ok "no package to test"; done
	exit 1
fi
lint=$BUILD/deb/lintian-ksm-tools.txt
if [ -f "$lint" ] && ! grep -q '^E: ' "$lint"; then
	ok "lintian: no errors ($(grep -c '^W: ' "$lint") warnings)"
else
	not_ok "lintian: errors"
	sed 's/^/# /' "$lint" 2>/dev/null
fi
field() { dpkg-deb -f "$deb" "$1"; }
check "Conflicts, Replaces and Provides Debian's ksmtuned" \
	test "$(field Conflicts)|$(field Replaces)|$(field Provides)" = "ksmtuned|ksmtuned|ksmtuned"
no_libksm() { ! dpkg-deb -c "$deb" | grep -Eq 'libksm|include/ksm\.h|/man3/'; }
check "no libksm in the package (a private static library)" no_libksm

# 2. A scratch root with an empty dpkg database.
root=$tmp/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" \
	"$root/var/lib/dpkg/triggers" "$root/var/log"
: >"$root/var/lib/dpkg/status"
: >"$root/var/lib/dpkg/available"
(cd "$root" && find . | sort) >"$tmp/before"

mkdir -p "$tmp/bin"
for stub in systemctl deb-systemd-invoke; do
	printf '#!/bin/sh\necho "%s $*" >>"%s/stub.log"\n' "$stub" "$tmp" >"$tmp/bin/$stub"
	chmod +x "$tmp/bin/$stub"
done
# The libraries it depends on are the host's, not in this root.
dpkg_root() {
	PATH=$tmp/bin:$PATH dpkg --root="$root" --log="$root/var/log/dpkg.log" \
		--force-script-chrootless --force-depends --force-not-root "$@"
}

# run_dpkg LOG ARGS...: dpkg_root ARGS, its output in $tmp/LOG.log
run_dpkg() { local log=$tmp/$1.log; shift; dpkg_root "$@" >"$log" 2>&1; }

check "dpkg --install into the scratch root" run_dpkg install --install "$deb"
sed 's/^/# /' "$tmp/install.log"
status=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Status}' ksm-tools 2>/dev/null)
check "installed: status '$status'" test "$status" = "install ok installed"
for f in usr/sbin/ksmctl usr/sbin/ksmtuned lib/systemd/system/ksm.service \
	lib/systemd/system/ksmtuned.service usr/share/man/man8/ksmctl.8.gz \
	usr/share/man/man8/ksmtuned.8.gz usr/share/man/man5/ksmtuned.conf.5.gz \
	etc/ksmtuned.conf; do
	[ -e "$root/$f" ] || missing+=" $f"
done
check "files landed${missing:+ (missing:$missing)}" test -z "${missing:-}"
if [ -f completion/ksmctl ]; then
	check "bash completion landed" test -f "$root/usr/share/bash-completion/completions/ksmctl"
else
	ok "bash completion # SKIP completion/ksmctl not in this tree"
fi
version=$(dpkg-deb -f "$deb" Version)
check "the installed ksmctl runs and is version $version" \
	grep -qx "ksmctl (KSM tools) $version" <<<"$("$root/usr/sbin/ksmctl" --version 2>&1)"
check "the installed ksmtuned reads /etc/ksmtuned.conf by default" \
	grep -q '(default /etc/ksmtuned\.conf)' <<<"$("$root/usr/sbin/ksmtuned" --help 2>&1)"
check "the installed units run the installed programs" \
	grep -q '^ExecStart=/usr/sbin/ksmtuned ' "$root/lib/systemd/system/ksmtuned.service"
conf=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Conffiles}' ksm-tools)
check "/etc/ksmtuned.conf is a registered conffile" \
	grep -Eq '^ /etc/ksmtuned\.conf [0-9a-f]{32}$' <<<"$conf"
check "dpkg --verify finds nothing changed" dpkg --root="$root" --verify ksm-tools
wants=$root/etc/systemd/system/multi-user.target.wants
check "postinst enabled both units in the root" \
	test -L "$wants/ksm.service" -a -L "$wants/ksmtuned.service"

# 3. Remove keeps the admin's changed configuration; purge takes all.
echo "KSM_MONITOR_INTERVAL=30" >>"$root/etc/ksmtuned.conf"
check "dpkg --remove" run_dpkg remove --remove ksm-tools
status=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Status}' ksm-tools 2>/dev/null)
check "removed: status '$status'" test "$status" = "deinstall ok config-files"
check "remove keeps the changed /etc/ksmtuned.conf" grep -q '^KSM_MONITOR_INTERVAL=30$' "$root/etc/ksmtuned.conf"
check "remove takes the programs" test ! -e "$root/usr/sbin/ksmctl" -a ! -e "$root/usr/sbin/ksmtuned"
check "dpkg --purge" run_dpkg purge --purge ksm-tools
sed 's/^/# /' "$tmp/remove.log" "$tmp/purge.log"
unknown() { ! dpkg-query --admindir="$root/var/lib/dpkg" -W ksm-tools >/dev/null 2>&1; }
check "purged: the package is unknown to dpkg" unknown
# What is left, besides dpkg's own database and log: no file or link at
# all; only the empty directories deb-systemd-helper made in this bare
# root (/etc/systemd/system, its state directory), as it does everywhere.
(cd "$root" && find . ! -type d | sort) >"$tmp/after"
left=$(comm -13 "$tmp/before" "$tmp/after" | grep -Ev '^\./var/lib/dpkg/|^\./var/log/dpkg\.log$')
check "no file is left after purge${left:+: $(echo $left)}" test -z "$left"
dirs=$(cd "$root" && find . -mindepth 1 -type d ! -empty | sort | comm -13 "$tmp/before" - |
	grep -Ev '^\./(etc|etc/systemd|var/lib|var/lib/systemd|var/lib/systemd/deb-systemd-helper-enabled)$')
check "only empty directories of deb-systemd-helper left${dirs:+: $(echo $dirs)}" test -z "$dirs"
[ $failed -eq 0 ]
