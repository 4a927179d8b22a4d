#!/bin/sh
# overlay-fsck-generator on the fixture fstabs of tests/generator/ (see
# its README): the whole tree it writes compared with the expectation,
# the kernel command line cases, the mount unit names against the ones
# systemd-fstab-generator makes from the same fstab, and
# `systemd-analyze verify` of overlay-fsck@.service and of the mount units
# with the drop-ins (offline: SYSTEMD_UNIT_PATH, no running systemd).
#
#   BLESS=1 tests/generator.sh   rewrite the .expect files (review the diff)

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-.}
GENERATOR=${GENERATOR:-$top_builddir/overlay-fsck-generator}
UNIT_FSCK=${UNIT_FSCK:-$top_builddir/units/overlay-fsck@.service}
FSCK=${FSCK:-$top_builddir/fsck.overlay}
sbindir=${sbindir:-/usr/local/sbin}
. "$top_srcdir/tests/tap.sh"

FIX=$top_srcdir/tests/generator
[ -x "$GENERATOR" ] || skip_all "no $GENERATOR"
[ -r "$UNIT_FSCK" ] || skip_all "no $UNIT_FSCK"
LC_ALL=C
export LC_ALL
unset SYSTEMD_IN_INITRD
T=$(mktemp -d "${TMPDIR:-/tmp}/generator-test.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT

# tree DIR: every file under DIR, sorted, as "== NAME" and its text
tree() {
	(cd "$1" && find . -type f | sort | while IFS= read -r f; do
		printf '== %s\n' "${f#./}"
		cat "$f"
	done)
}

# gen FSTAB CMDLINE [VAR=VALUE...]: run the generator into a fresh
# $T/out with the fstab copied to $T/fstab; $T/got is the tree, its
# stderr and its exit code, with the varying paths replaced.
gen() {
	fstab=$1 cmdline=$2
	shift 2
	rm -rf "$T/out" "$T/fstab"
	mkdir "$T/out"
	[ -f "$fstab" ] && cp "$fstab" "$T/fstab"
	env SYSTEMD_FSTAB="$T/fstab" SYSTEMD_PROC_CMDLINE="$cmdline" "$@" \
		"$GENERATOR" "$T/out" "$T/out" "$T/out" >"$T/stdout" 2>"$T/err"
	rc=$?
	{
		tree "$T/out"
		echo "-- stderr"
		cat "$T/stdout" "$T/err"
		echo "-- exit $rc"
	} | sed -e "s|$T/fstab|@FSTAB@|g" -e "s|$sbindir/fsck.overlay|@SBINDIR@/fsck.overlay|g" >"$T/got"
}

# expect NAME DESCRIPTION: $T/got against tests/generator/NAME.expect
expect() {
	if [ -n "${BLESS:-}" ]; then
		cp "$T/got" "$FIX/$1.expect"
	fi
	if diff -u "$FIX/$1.expect" "$T/got" >"$T/diff"; then
		ok "$2"
	else
		diag "$(cat "$T/diff")"
		not_ok "$2"
	fi
}

# expect_text TEXT DESCRIPTION: $T/got is exactly TEXT
expect_text() {
	printf '%s\n' "$1" >"$T/want"
	if diff -u "$T/want" "$T/got" >"$T/diff"; then
		ok "$2"
	else
		diag "$(cat "$T/diff")"
		not_ok "$2"
	fi
}

plan 16

# 1. every kind of line
gen "$FIX/basic.fstab" "BOOT_IMAGE=/vmlinuz root=UUID=1234 ro quiet"
expect basic "basic.fstab: drop-ins of each checked overlay, the others left out with a reason"

# 2-5. the kernel command line, as systemd-fsck reads it
gen "$FIX/small.fstab" "ro fsck.repair=yes"
expect small-yes "fsck.repair=yes: the check runs with -y"
gen "$FIX/small.fstab" "fsck.mode=force fsck.repair=no fsck.mode=sometimes"
expect small-force-no "fsck.mode=force fsck.repair=no: -n -f; an unknown value is ignored with a warning"
gen "$FIX/small.fstab" "quiet fsck.mode=skip"
expect_text "-- stderr
-- exit 0" "fsck.mode=skip: nothing generated"
gen "$FIX/small.fstab" "rd.fsck.mode=skip rd.fsck.repair=no"
expect small-rd "rd.fsck.*: for the initrd, ignored"

# 6. the initrd's fstab is not the system's
gen "$FIX/small.fstab" "" SYSTEMD_IN_INITRD=1
expect_text "-- stderr
-- exit 0" "in the initrd: nothing generated"

# 7. no fstab at all: nothing to do, no error
gen "$T/no-such-fstab" ""
expect_text "-- stderr
-- exit 0" "a missing fstab: nothing generated, exit 0"

# 8. /etc/fstab itself: the template's ExecStart= is kept (no --fstab).
# /etc/fstab is replaced in a private mount namespace only.
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1 &&
	unshare -m true 2>/dev/null; then
	rm -rf "$T/out"
	mkdir "$T/out"
	env -u SYSTEMD_FSTAB SYSTEMD_PROC_CMDLINE= unshare -m sh -c \
		'mount --bind "$1" /etc/fstab && exec "$2" "$3"' sh \
		"$FIX/small.fstab" "$GENERATOR" "$T/out" >"$T/stdout" 2>"$T/err"
	rc=$?
	{ tree "$T/out"; echo "-- stderr"; cat "$T/stdout" "$T/err"; echo "-- exit $rc"; } >"$T/got"
	expect small-etc "/etc/fstab: the template's own ExecStart= (-p, no --fstab)"
else
	skip "/etc/fstab: the template's own ExecStart=" "needs root and unshare -m"
fi

# 9-10. called wrongly, or no dir to write to: exit 1, one line
"$GENERATOR" >"$T/out1" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && [ "$(wc -l <"$T/out1")" -eq 1 ] && grep -q '^Usage: ' "$T/out1"; then
	ok "no dir argument: a usage line, exit 1"
else
	diag "exit $rc: $(cat "$T/out1")"
	not_ok "no dir argument: a usage line, exit 1"
fi
cp "$FIX/small.fstab" "$T/fstab"
SYSTEMD_FSTAB="$T/fstab" SYSTEMD_PROC_CMDLINE= "$GENERATOR" "$T/nodir" >"$T/out1" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q "^overlay-fsck-generator: $T/nodir: No such file or directory\$" "$T/out1"; then
	ok "no dir to write to: one line, exit 1"
else
	diag "exit $rc: $(cat "$T/out1")"
	not_ok "no dir to write to: one line, exit 1"
fi

# 11-12. our drop-ins are for the mount units systemd-fstab-generator
# makes from the same fstab: one name wrong and the check silently applies
# to nothing. A mount point through a symlink is named by its target.
SDGEN=
for d in /lib/systemd/system-generators /usr/lib/systemd/system-generators; do
	[ -x "$d/systemd-fstab-generator" ] && SDGEN=$d/systemd-fstab-generator && break
done
# mount units of DIR's drop-ins that DIR lacks ("" when none is missing)
unmatched() {
	for d in "$1"/*.mount.d; do
		[ -f "${d%.d}" ] || printf '%s ' "${d##*/}"
	done
}
mkdir -p "$T/real" && ln -s real "$T/link"
printf 'overlay %s/link/m\\040n overlay lowerdir=/srv/l 0 1\n' "$T" >"$T/link.fstab"
if [ -n "$SDGEN" ]; then
	rm -rf "$T/sd" && mkdir "$T/sd"
	SYSTEMD_FSTAB="$FIX/basic.fstab" SYSTEMD_PROC_CMDLINE= "$SDGEN" "$T/sd" "$T/sd" "$T/sd" 2>/dev/null
	SYSTEMD_FSTAB="$FIX/basic.fstab" SYSTEMD_PROC_CMDLINE= "$GENERATOR" "$T/sd" 2>/dev/null
	n=$(ls -d "$T/sd"/*.mount.d | wc -l)
	bad=$(unmatched "$T/sd")
	if [ "$n" -eq 7 ] && [ -z "$bad" ]; then
		ok "basic.fstab: each of the 7 mount drop-ins is for a unit systemd-fstab-generator made"
	else
		diag "$n drop-in dirs; no such mount unit: $bad"
		not_ok "basic.fstab: each mount drop-in is for a unit systemd-fstab-generator made"
	fi
	rm -rf "$T/sd2" && mkdir "$T/sd2"
	SYSTEMD_FSTAB="$T/link.fstab" SYSTEMD_PROC_CMDLINE= "$SDGEN" "$T/sd2" "$T/sd2" "$T/sd2" 2>/dev/null
	SYSTEMD_FSTAB="$T/link.fstab" SYSTEMD_PROC_CMDLINE= "$GENERATOR" "$T/sd2" 2>/dev/null
	want=$(systemd-escape --path --suffix=mount "$(cd "$T/real" && pwd -P)/m n" 2>/dev/null)
	bad=$(unmatched "$T/sd2")
	if [ -f "$T/sd2/$want.d/50-overlay-fsck.conf" ] && [ -z "$bad" ]; then
		ok "a mount point through a symlink: the drop-in is for the unit of its target"
	else
		diag "want $want.d; have: $(ls "$T/sd2")"
		not_ok "a mount point through a symlink: the drop-in is for the unit of its target"
	fi
else
	skip "mount drop-ins match systemd-fstab-generator's units" "no systemd-fstab-generator"
	skip "a mount point through a symlink" "no systemd-fstab-generator"
fi

# 13-16. systemd-analyze verify, offline: the units from $T/sd (the
# fstab generator's and ours), the template from $T/units, ExecStart= at
# the built fsck.overlay (verify wants an executable there).
if ! command -v systemd-analyze >/dev/null 2>&1; then
	skip "systemd-analyze verify overlay-fsck@.service" "no systemd-analyze"
	skip "systemd-analyze verify of the mount units and drop-ins" "no systemd-analyze"
	skip "verify reads our drop-ins" "no systemd-analyze"
	skip "verify of an instance with --fstab, -y, -f" "no systemd-analyze"
	tap_exit
fi
FSCK_ABS=$(cd "$(dirname "$FSCK")" && pwd)/$(basename "$FSCK")
mkdir -p "$T/units"
sed "s|^ExecStart=.*/fsck.overlay |ExecStart=$FSCK_ABS |" "$UNIT_FSCK" >"$T/units/overlay-fsck@.service"
# verify UNIT...: rc 0 and not a word about our units or drop-ins
verify() {
	(cd "$T" && SYSTEMD_UNIT_PATH="$T/sd:$T/units:" systemd-analyze verify --man=no "$@") \
		>"$T/verify" 2>&1
	vrc=$?
	grep -e overlay-fsck -e '50-overlay' -e "$T/units" "$T/verify" >"$T/verify.ours"
	[ "$vrc" -eq 0 ] && [ ! -s "$T/verify.ours" ]
}
rm -rf "$T/sd" && mkdir "$T/sd"
if verify 'overlay-fsck@srv-ovl-a\x2db.service'; then
	ok "systemd-analyze verify overlay-fsck@.service (an instance)"
else
	diag "exit $vrc:" "$(cat "$T/verify")"
	not_ok "systemd-analyze verify overlay-fsck@.service (an instance)"
fi
# small.fstab and a mount point with escapes, no fstab generator needed:
# the mount unit is written here as systemd-fstab-generator writes it
cat "$FIX/small.fstab" >"$T/fstab"
printf 'overlay /srv/ovl/a\\040b-c overlay lowerdir=/srv/%%l$,upperdir=/srv/u,workdir=/srv/w 0 1\n' >>"$T/fstab"
SYSTEMD_FSTAB="$T/fstab" SYSTEMD_PROC_CMDLINE="fsck.repair=yes fsck.mode=force" \
	"$GENERATOR" "$T/sd" 2>"$T/err"
for m in /srv/ovl/one '/srv/ovl/a b-c'; do
	printf '[Mount]\nWhat=overlay\nWhere=%s\nType=overlay\nOptions=lowerdir=/srv/l\n' "$m" \
		>"$T/sd/$(systemd-escape --path --suffix=mount "$m")"
done
find "$T/sd" -name '*.conf' -exec sed -i "s|$sbindir/fsck.overlay|$FSCK_ABS|" {} +
if verify srv-ovl-one.mount 'srv-ovl-a\x20b\x2dc.mount' 'overlay-fsck@srv-ovl-a\x20b\x2dc.service' &&
	[ "$(ls -d "$T/sd"/*.d | wc -l)" -eq 4 ]; then
	ok "systemd-analyze verify of the mount units with their drop-ins"
else
	diag "exit $vrc:" "$(cat "$T/verify")" "$(ls "$T/sd")"
	not_ok "systemd-analyze verify of the mount units with their drop-ins"
fi
# without the template the mount cannot start: proof our drop-in was read
mv "$T/units/overlay-fsck@.service" "$T/template"
(cd "$T" && SYSTEMD_UNIT_PATH="$T/sd:$T/units:" systemd-analyze verify --man=no \
	srv-ovl-one.mount) >"$T/verify" 2>&1
vrc=$?
mv "$T/template" "$T/units/overlay-fsck@.service"
if [ "$vrc" -ne 0 ] && grep -q 'overlay-fsck@srv-ovl-one.service not found' "$T/verify"; then
	ok "verify reads our drop-ins: the mount requires overlay-fsck@srv-ovl-one.service"
else
	diag "exit $vrc:" "$(cat "$T/verify")"
	not_ok "verify reads our drop-ins: the mount requires overlay-fsck@srv-ovl-one.service"
fi
# the ExecStart= override of the instance: unquoted by systemd to the
# words we meant (systemd-analyze dump needs a manager; the escape of the
# fstab path is checked by the unit tests), and verified
conf=$T/sd/'overlay-fsck@srv-ovl-a\x20b\x2dc.service.d'/50-overlay-fsck.conf
if grep -qx "ExecStart=\"$FSCK_ABS\" -y -f --fstab \"$T/fstab\" %f" "$conf" &&
	grep -qx 'RequiresMountsFor="/srv/%%l\$" "/srv/u" "/srv/w"' "$conf" &&
	verify 'overlay-fsck@srv-ovl-a\x20b\x2dc.service'; then
	ok "verify of an instance with -y -f --fstab and a '%' in a layer"
else
	diag "exit $vrc:" "$(cat "$T/verify")" "$(cat "$conf")"
	not_ok "verify of an instance with -y -f --fstab and a '%' in a layer"
fi

tap_exit
