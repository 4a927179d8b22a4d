#!/bin/sh
# Build the Debian package from the release tarball, as Debian would, and
# check what it installs and what lintian says. Prints TAP.
#
#   tests/deb.sh [BUILDDIR | TARBALL]     (default: build/normal)
#
# BUILDDIR is a configured build dir: `make dist` there makes the tarball.
# The tarball is unpacked in a temp dir (dpkg-buildpackage writes the .deb
# next to the source dir, so never in or beside the tree), built with
# `dpkg-buildpackage -us -uc` (source and binary: lintian checks
# debian/control and debian/copyright only in the source package; honours
# DEB_BUILD_OPTIONS, e.g. nocheck), and the .deb is checked with dpkg-deb
# and lintian (any E: fails).
# Needs dpkg-dev, debhelper, lintian and the Build-Depends of
# debian/control. Not part of `make check`: it builds the whole tree, and
# distcheck would run it inside itself. tests/run-all.sh runs it after
# distcheck (SKIP_DEB=1 leaves it out).

set -u
top=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-$top/build/normal}
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
finish() { echo "1..$n"; exit $fail; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ovl-deb.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# ---- the tarball ----
if [ -d "$src" ]; then
	if make -C "$src" dist >"$tmp/dist.log" 2>&1; then
		ok "make dist in $src"
	else
		not_ok "make dist in $src"
		tail -n 20 "$tmp/dist.log" | sed 's/^/# /'
		finish
	fi
	# the newest tarball, if an older version's is still there
	tarball=$(ls -t "$src"/overlay-fsck-*.tar.gz | head -n 1)
else
	tarball=$src
fi
if ! tar -xzf "$tarball" -C "$tmp"; then
	not_ok "unpack $tarball"
	finish
fi
srcdir=$(ls -d "$tmp"/overlay-fsck-*/)
check "the tarball has debian/" '[ -x "$srcdir/debian/rules" ]'

# ---- build ----
start=$(date +%s)
if (cd "$srcdir" && dpkg-buildpackage -us -uc -j"${JOBS:-auto}") \
	>"$tmp/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc ($(($(date +%s) - start)) s)"
else
	not_ok "dpkg-buildpackage -us -uc"
	tail -n 60 "$tmp/build.log" | sed 's/^/# /'
	finish
fi
grep '^# \(PASS\|FAIL\|ERROR\|SKIP\|TOTAL\):' "$tmp/build.log" |
	sed 's/^/# dh_auto_test: /'

deb=$(ls "$tmp"/overlay-fsck_*.deb)
changes=$(ls "$tmp"/overlay-fsck_*.changes)
# one path per line, "./" and any " -> target" dropped
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/files"
has() { grep -qx "$1" "$tmp/files"; }
for f in /sbin/fsck.overlay /usr/bin/overlay-browse /usr/bin/overlay-layers \
	/usr/share/man/man8/fsck.overlay.8.gz \
	/usr/share/man/man1/overlay-browse.1.gz \
	/usr/share/man/man1/overlay-layers.1.gz \
	/usr/share/bash-completion/completions/fsck.overlay \
	/usr/share/bash-completion/completions/overlay-browse \
	/usr/share/bash-completion/completions/overlay-layers \
	/usr/share/doc/overlay-fsck/copyright \
	/usr/share/doc/overlay-fsck/examples/overlay-preen.sh; do
	check "the .deb has $f" 'has "$f"'
done
check "no program in /usr/sbin (fsck helpers are in /sbin, as e2fsprogs)" \
	'! grep -q "^/usr/sbin/." "$tmp/files"'
check "overlay-browse's completion is a link to fsck.overlay's" \
	'dpkg-deb -c "$deb" | grep -q "completions/overlay-browse -> fsck.overlay\$"'
check "overlay-layers' completion is a link to fsck.overlay's" \
	'dpkg-deb -c "$deb" | grep -q "completions/overlay-layers -> fsck.overlay\$"'
# the boot check: the unit template, the generator and their man page
for f in /lib/systemd/system/overlay-fsck@.service \
	/lib/systemd/system-generators/overlay-fsck-generator \
	/usr/share/man/man8/overlay-fsck@.service.8.gz \
	/usr/share/man/man8/overlay-fsck-generator.8.gz; do
	check "the .deb has $f" 'has "$f"'
done
check "the unit runs /sbin/fsck.overlay -p" \
	'dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./lib/systemd/system/overlay-fsck@.service |
	 grep -qx "ExecStart=/sbin/fsck.overlay -p %f"'
depends=$(dpkg-deb -f "$deb" Depends)
echo "# Depends: $depends"
check "Depends has libmount1 and libblkid1 (from shlibs)" \
	'case $depends in *libmount1*libblkid1*|*libblkid1*libmount1*) true;; *) false;; esac'

# ---- lintian ----
# exit 0: no errors, 1: errors, anything else: lintian itself failed
lintian "$changes" >"$tmp/lintian.log" 2>&1
rc=$?
sed 's/^/# lintian: /' "$tmp/lintian.log"
check "lintian ran (exit $rc)" '[ $rc -le 1 ]'
check "lintian: no errors" '[ $rc -le 1 ] && ! grep -q "^E: " "$tmp/lintian.log"'
finish
