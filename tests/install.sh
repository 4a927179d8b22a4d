#!/bin/sh
# Where `make install` puts the systemd unit and generator: under the
# prefix by default (systemd.pc's layout with its prefix replaced), so a
# `./configure --prefix=$HOME/x && make install` neither fails for a user
# nor leaks into the system's /lib/systemd; --with-systemd*dir still win.
# A throwaway configure in a temp dir, then make prints the dirs (no build).

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/tap.sh"

# A tree configured in place cannot host another (VPATH) build.
[ -f "$top_srcdir/config.status" ] && skip_all "$top_srcdir is configured in place"
pkg-config --exists systemd 2>/dev/null || skip_all "no systemd.pc: the dirs default to no"

T=$(mktemp -d "${TMPDIR:-/tmp}/install-test.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
P=$T/prefix

# The throwaway build's make is not part of the make running this test:
# its flags (-w, the jobserver) would change what make prints.
unset MAKEFLAGS MFLAGS MAKELEVEL

# conf ARGS...: configure a fresh $T/b; its output is in $T/conf.log
conf() {
	rm -rf "$T/b" && mkdir "$T/b" &&
		(cd "$T/b" && CONFIG_SITE=/dev/null "$top_srcdir/configure" "$@") \
			>"$T/conf.log" 2>&1
}

# dir VAR [MAKEARGS...]: the value make installs to, expanded
dir() {
	var=$1
	shift
	make -s --no-print-directory -C "$T/b" "$@" \
		--eval 'ovl-print-%: ; @echo $($*)' "ovl-print-$var"
}

under() {
	case $2 in "$1"/*) return 0 ;; esac
	diag "$2 is not under $1"
	return 1
}

plan 7

if conf --prefix="$P"; then
	ok "configure --prefix=$P"
else
	not_ok "configure --prefix=$P"
	diag "$(tail -20 "$T/conf.log")"
fi
check "unit dir under the prefix" under "$P" "$(dir systemdsystemunitdir)"
check "generator dir under the prefix" under "$P" "$(dir systemdgeneratordir)"
check "make prefix=OTHER moves the unit dir too" \
	under "$T/other" "$(dir systemdsystemunitdir prefix="$T/other")"

# Into a DESTDIR, so that a wrong default cannot write into the system.
D=$T/dest
make -s -C "$T/b" DESTDIR="$D" install-systemdsystemunitDATA >"$T/install.log" 2>&1
unit=$(cd "$D" && find . -name 'overlay-fsck@.service')
assert "the unit is installed under the prefix" under "'.$P'" "'$unit'"

conf --prefix="$P" --with-systemdsystemunitdir="$T/u" \
	--with-systemdgeneratordir="$T/g"
assert "--with-systemdsystemunitdir wins" '[ "$(dir systemdsystemunitdir)" = "$T/u" ]'
assert "--with-systemdgeneratordir wins" '[ "$(dir systemdgeneratordir)" = "$T/g" ]'

tap_exit
