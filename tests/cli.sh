#!/bin/sh
# The command line contract of fsck.overlay (see fsck.overlay(8)):
# options, exit codes, error lines, the summary, verbose passes, escapes,
# a mounted stack. Every assertion checks the exit code and the output.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-.}
FSCK=${FSCK:-$top_builddir/fsck.overlay}
. "$top_srcdir/tests/tap.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/cli-test.XXXXXX") || exit 99
T=$(cd "$T" && pwd -P)
cleanup() {
	for m in "$T/m" "$T/tmpfs"; do
		mountpoint -q "$m" 2>/dev/null && umount "$m"
	done
	rm -rf "$T"
}
trap cleanup EXIT

is_root=false
[ "$(id -u)" -eq 0 ] && is_root=true


# ---- helpers -------------------------------------------------------------

# run ARGS...: run fsck.overlay, keep exit code in $rc, output in files.
run() {
	"$FSCK" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}
rc_is() { [ "$rc" -eq "$1" ]; }
out_empty() { [ ! -s "$T/out" ]; }
err_empty() { [ ! -s "$T/err" ]; }
out_has() { grep -Eq -- "$1" "$T/out"; }
err_has() { grep -Eq -- "$1" "$T/err"; }
out_line() { grep -Fxq -- "$1" "$T/out"; }
err_line() { grep -Fxq -- "$1" "$T/err"; }
lines() { wc -l <"$1" | tr -d ' '; }
# An error before checking: exactly one "fsck.overlay: reason" line.
err_one_line() {
	[ "$(lines "$T/err")" -eq 1 ] && grep -Eq '^fsck\.overlay: .+' "$T/err"
}
# No problem lines (CODE layer:/path: ...) on stdout.
no_problem_lines() { ! grep -Eq '^[A-Z]+_[A-Z0-9_]+ [a-z]+[0-9]*:/' "$T/out"; }
clean_run() {
	rc_is 0 && out_line "no problems found" && no_problem_lines && err_empty
}

# what a failed assert NAME CONDITION (tests/tap.sh) shows besides the condition
assert_diag() {
	diag "exit: $rc"
	diag "stdout:"
	diag "$(head -n 20 "$T/out")"
	diag "stderr:"
	diag "$(head -n 20 "$T/err")"
}

# mkstack DIR [NLOWER]: empty upper u, lowers l1..lN, work w.
mkstack() {
	mkdir -p "$1/u" "$1/w"
	_i=1
	while [ "$_i" -le "${2:-1}" ]; do
		mkdir -p "$1/l$_i"
		_i=$((_i + 1))
	done
}

# a snapshot of a tree with its xattrs, to prove -n changed nothing
snapshot() {
	(cd "$1" && find . -printf '%p %y %m %s %T@ %n\n' | sort &&
		getfattr -R -h -d -m - -e hex . 2>/dev/null)
}

# ---- help, version, usage errors ------------------------------------------

run --help
assert "--help: exit 0, usage on stdout, stderr empty" \
	'rc_is 0 && out_has "[Uu]sage" && out_has "fsck\.overlay" && err_empty'
run -h
assert "-h: exit 0, usage on stdout, stderr empty" \
	'rc_is 0 && out_has "[Uu]sage" && err_empty'
run -V
assert "-V: exit 0, version line" \
	'rc_is 0 && out_line "fsck.overlay (overlay-fsck) 0.1.0" && [ "$(lines "$T/out")" -eq 1 ] && err_empty'
run --version
assert "--version: exit 0, version line" \
	'rc_is 0 && out_line "fsck.overlay (overlay-fsck) 0.1.0" && err_empty'

S=$T/s
mkstack "$S"
OPTS="lowerdir=$S/l1,upperdir=$S/u,workdir=$S/w"

run --bogus -o "$OPTS"
assert "unknown long option: exit 16, usage on stderr, stdout empty" \
	'rc_is 16 && err_has "[Uu]sage" && out_empty'
run -Z -o "$OPTS"
assert "unknown short option: exit 16, usage on stderr, stdout empty" \
	'rc_is 16 && err_has "[Uu]sage" && out_empty'
run
assert "no arguments: exit 16, message on stderr, stdout empty" \
	'rc_is 16 && ! err_empty && out_empty'
run -o "$OPTS,index=maybe"
assert "-o index=maybe: exit 16, one line on stderr" \
	'rc_is 16 && err_one_line && out_empty'
run -o "$OPTS,verity=sometimes"
assert "-o verity=sometimes: exit 16, one line on stderr" \
	'rc_is 16 && err_one_line && out_empty'
run --verify-content -n -o "$OPTS"
assert "--verify-content without --store: exit 16, one line on stderr" \
	'rc_is 16 && err_one_line && err_has "goes with --store" && out_empty'
run -o "$OPTS" -o "frobnicate=1"
assert "-o unknown option: exit 16, one line on stderr" \
	'rc_is 16 && err_one_line && out_empty'
run -o "upperdir=$S/u,workdir=$S/w"
assert "no lower: exit 16, one line on stderr" \
	'rc_is 16 && err_one_line && out_empty'

for m in -y -p -a; do
	run $m -o "$OPTS"
	assert "$m on a clean stack: exit 0, no problems, no journal written" \
		'rc_is 0 && err_empty && out_has "^no problems found" &&
		 [ -z "$(ls "$S/w" | grep overlay-fsck)" ]'
done
run -n -y -o "$OPTS"
assert "-n with -y: exit 16, one line on stderr" \
	'rc_is 16 && err_one_line && out_empty'
run -p -y -o "$OPTS"
assert "-p with -y: exit 16, one line on stderr" \
	'rc_is 16 && err_one_line && out_empty'
run -y "$S/u" "$S/l1"
assert "-y without a work dir or -z: exit 16, one line on stderr" \
	'rc_is 16 && err_one_line && out_empty'
run -y -z "$T/journal" "$S/u" "$S/l1"
assert "-y without a work dir but with -z: checked, exit 0" \
	'rc_is 0 && out_has "^no problems found"'
run --undo "$T/no-such-journal" -o "$OPTS"
assert "--undo of a missing journal: exit 8, one line on stderr" \
	'rc_is 8 && err_one_line && out_empty'

# ---- operational errors (exit 8) -------------------------------------------

run -o "lowerdir=$S/l1,upperdir=$S/nope,workdir=$S/w"
assert "missing upper dir: exit 8, one line on stderr" \
	'rc_is 8 && err_one_line && out_empty'
run -o "lowerdir=$S/nope,upperdir=$S/u,workdir=$S/w"
assert "missing lower dir: exit 8, one line on stderr" \
	'rc_is 8 && err_one_line && out_empty'
run -o "lowerdir=$S/l1,upperdir=$S/u,workdir=$S/nope"
assert "missing work dir: exit 8, one line on stderr" \
	'rc_is 8 && err_one_line && out_empty'
run -w "$S/w" "$S/u" "$S/nope"
assert "missing lower dir, positional: exit 8, one line on stderr" \
	'rc_is 8 && err_one_line && out_empty'

# Layers the kernel would refuse are problems of the stack (exit 4), not
# operational errors: the layers are still checked.
mkdir -p "$T/nest/w/u" "$T/nest/l"
run -n -o "lowerdir=$T/nest/l,upperdir=$T/nest/w/u,workdir=$T/nest/w"
assert "upper inside work: STK_WORK_NESTED, exit 4" \
	'rc_is 4 && err_empty && out_has "^STK_WORK_NESTED work:/: " && out_has "^upper: "'
mkdir -p "$T/nest2/u/w" "$T/nest2/l"
run -n -o "lowerdir=$T/nest2/l,upperdir=$T/nest2/u,workdir=$T/nest2/u/w"
assert "work inside upper: STK_WORK_NESTED, exit 4" \
	'rc_is 4 && err_empty && out_has "^STK_WORK_NESTED work:/: "'
# repair modes do not repair such layers as one stack
run -y -o "lowerdir=$T/nest2/l,upperdir=$T/nest2/u,workdir=$T/nest2/u/w"
assert "work inside upper with -y: not repaired, exit 4" \
	'rc_is 4 && out_line "not repairing: the kernel would refuse these layers as one stack"'

if $is_root && mkdir -p "$T/tmpfs" && mount -t tmpfs cli-test "$T/tmpfs" 2>/dev/null; then
	mkdir "$T/tmpfs/w"
	run -n -o "lowerdir=$S/l1,upperdir=$S/u,workdir=$T/tmpfs/w"
	assert "work dir on another filesystem than upper: STK_WORK_OTHER_MOUNT, exit 4" \
		'rc_is 4 && out_has "^STK_WORK_OTHER_MOUNT work:/: "'
	umount "$T/tmpfs"
else
	skip "work dir on another filesystem than upper: STK_WORK_OTHER_MOUNT, exit 4" \
		"needs root to mount a tmpfs"
fi

# ---- clean stacks (exit 0) --------------------------------------------------

run -n -o "$OPTS"
assert "clean empty stack: exit 0, no problems found" \
	'clean_run && out_has "^upper: [0-9]+ entries, lower1: [0-9]+ entries"'
run -o "$OPTS"
assert "no mode given: same as -n" 'clean_run'
run -n -f -o "$OPTS"
assert "-f accepted" 'clean_run'
run -n -o "lowerdir=$S/l1" -o "upperdir=$S/u" -o "workdir=$S/w"
assert "repeated -o accepted" 'clean_run'
run -n "-olowerdir=$S/l1,upperdir=$S/u,workdir=$S/w" -oindex=on
assert "glued -oOPTS and -oindex=on accepted" 'clean_run'
run -n -o "$OPTS" -o metacopy=on,redirect_dir=on,index=on,xino=auto,uuid=on,verity=off
assert "feature options accepted on a clean stack" 'clean_run'
run -n -w "$S/w" "$S/u" "$S/l1"
assert "positional form with -w: exit 0" 'clean_run'
run -n --upper-only -o "$OPTS"
assert "--upper-only on a clean stack: exit 0" 'clean_run'

run -n "$S/u" "$S/l1"
assert "positional form without -w: exit 0 and the STK_NO_WORKDIR note" \
	'rc_is 0 && out_has "^STK_NO_WORKDIR stack:/[^:]*: no work dir given: checks of W/work and W/index skipped$" && err_empty'

# -v: one line per pass, numbered from 1 without gaps
V=$T/v
mkstack "$V" 2
mkdir "$V/w/work" "$V/w/index"
echo x >"$V/l2/f"
run -n -v -o "lowerdir=$V/l1:$V/l2,upperdir=$V/u,workdir=$V/w"
passes_consecutive() {
	grep -E '^Pass [0-9]+: ' "$T/out" | sed 's/^Pass \([0-9]*\):.*/\1/' |
		awk '$1 != NR { bad = 1 } END { exit bad || NR == 0 }'
}
assert "-v prints the passes" \
	'rc_is 0 && out_line "Pass 1: checking the stack" && out_line "Pass 2: checking upper" &&
	 out_line "Pass 3: checking lower1" && out_line "Pass 4: checking lower2" &&
	 out_has "^Pass [0-9]+: checking W/index$" && out_has "^Pass [0-9]+: checking W/work$" &&
	 passes_consecutive && out_line "no problems found"'
run -n -v --upper-only -o "lowerdir=$V/l1:$V/l2,upperdir=$V/u,workdir=$V/w"
assert "-v --upper-only walks no lower layer" \
	'rc_is 0 && out_line "Pass 2: checking upper" && ! out_has "^Pass [0-9]+: checking lower" &&
	 out_has "^Pass [0-9]+: checking W/index$" && passes_consecutive && out_line "no problems found"'

# escapes: a lower whose name holds ':' and ','; the summary must match the
# one of an identical lower with a plain name.
E=$T/e
mkstack "$E"
mkdir -p "$E/a:b,c/d" "$E/plain/d"
echo x >"$E/a:b,c/d/f"
echo x >"$E/plain/d/f"
run -n -o "lowerdir=$E/plain,upperdir=$E/u,workdir=$E/w"
cp "$T/out" "$T/out.plain"
run -n -o "lowerdir=$E/a\\:b\\,c,upperdir=$E/u,workdir=$E/w"
assert "lowerdir with '\\:' and '\\,' escapes: exit 0, same summary as a plain name" \
	'clean_run && cmp -s "$T/out" "$T/out.plain" && out_has "lower1: [1-9][0-9]* entries"'
run -n -w "$E/w" "$E/u" "$E/a:b,c"
assert "positional lower with ':' and ',' in its name (no escapes): exit 0" \
	'clean_run && cmp -s "$T/out" "$T/out.plain"'
run -n -o "lowerdir=$E/a:b,c,upperdir=$E/u,workdir=$E/w"
assert "the same name unescaped is not that dir: exit 8 or 16, one line" \
	'{ rc_is 8 || rc_is 16; } && err_one_line && out_empty'

# a read-only stack: lowers only
R=$T/r
mkdir -p "$R/A/d" "$R/B/d"
echo a >"$R/A/d/f"
echo b >"$R/B/g"
run -n -o "lowerdir=$R/A:$R/B"
assert "lower-only read-only stack (-o lowerdir=A:B): exit 0" \
	'clean_run && out_has "lower1: [0-9]+ entries" && out_has "lower2: [0-9]+ entries"'

# ---- problems (exit 4) ------------------------------------------------------

if $is_root; then
	P=$T/p
	mkstack "$P"
	mknod "$P/u/wh" c 0 0
	snapshot "$P" >"$T/snap.before"
	run -n -o "lowerdir=$P/l1,upperdir=$P/u,workdir=$P/w"
	assert "orphan whiteout: exit 4, the problem line and the summary" \
		'rc_is 4 && out_line "WH_ORPHAN upper:/wh: orphan whiteout: hides nothing in the layers below" &&
		 out_has "^1 problems? \(whiteout 1\)$" && ! out_line "no problems found" && err_empty'
	snapshot "$P" >"$T/snap.after"
	check "-n changed nothing in the layers" cmp -s "$T/snap.before" "$T/snap.after"

	rm "$P/u/wh"
	nl='
'
	mknod "$P/u/a${nl}b" c 0 0
	mknod "$P/u/c\\d" c 0 0
	run -n -o "lowerdir=$P/l1,upperdir=$P/u,workdir=$P/w"
	assert "paths are escaped: \\n for a newline, \\\\ for a backslash" \
		'rc_is 4 && out_line "WH_ORPHAN upper:/a\\nb: orphan whiteout: hides nothing in the layers below" &&
		 out_line "WH_ORPHAN upper:/c\\\\d: orphan whiteout: hides nothing in the layers below" &&
		 out_has "^LY_NAME_CONTROL upper:/a\\\\nb: " && [ "$(lines "$T/out")" -ge 4 ]'
else
	skip "orphan whiteout: exit 4, the problem line and the summary" "needs root (mknod)"
	skip "-n changed nothing in the layers" "needs root (mknod)"
	skip "paths are escaped" "needs root (mknod)"
fi

# ---- a mounted stack ----------------------------------------------------------

M=$T/m
MS=$T/ms
mkstack "$MS"
echo x >"$MS/l1/f"
mkdir -p "$M"
if $is_root && mount -t overlay overlay \
	-o "lowerdir=$MS/l1,upperdir=$MS/u,workdir=$MS/w" "$M" 2>/dev/null; then
	run -n -o "lowerdir=$MS/l1,upperdir=$MS/u,workdir=$MS/w"
	# cli.md: -n checks anyway, with one warning line on stderr; the exit
	# code is the check's (0 or 4), never 8.
	assert "-n on a mounted stack: the warning on stderr, checked anyway" \
		'{ rc_is 0 || rc_is 4; } &&
		 err_line "fsck.overlay: warning: the stack is mounted on $M: results may be inconsistent" &&
		 out_has "^upper: [0-9]+ entries" && out_has "^(no problems found|[0-9]+ problems? \()"'
	run -y -o "lowerdir=$MS/l1,upperdir=$MS/u,workdir=$MS/w"
	assert "-y on a mounted stack: refused with exit 8, nothing checked" \
		'rc_is 8 && err_has "mounted" && err_one_line && out_empty'
	umount "$M"
else
	skip "-n on a mounted stack: the warning on stderr, checked anyway" \
		"needs root and overlayfs"
	skip "-y on a mounted stack: refused" "needs root and overlayfs"
fi

# What the man page's CAVEATS and the README say of util-linux fsck: it
# never runs fsck.overlay for an overlay fstab entry (the device field
# "overlay" is no device), whether asked for the mount point or with -A.
# A stub fsck.overlay first on its search path records any call.
if command -v fsck >/dev/null 2>&1 && fsck --version 2>/dev/null | grep -q util-linux; then
	mkdir -p "$T/ul/bin" "$T/ul/m"
	printf '#!/bin/sh\necho "$*" >> "%s/ul/ran"\nexit 4\n' "$T" > "$T/ul/bin/fsck.overlay"
	chmod +x "$T/ul/bin/fsck.overlay"
	printf 'overlay %s overlay lowerdir=%s,upperdir=%s,workdir=%s 0 2\n' \
		"$T/ul/m" "$T/ul/l" "$T/ul/u" "$T/ul/w" > "$T/ul/fstab"
	ulrc=0
	for a in "$T/ul/m" -A; do
		PATH="$T/ul/bin:$PATH" FSTAB_FILE="$T/ul/fstab" fsck $a >/dev/null 2>&1 || ulrc=$?
	done
	PATH="$T/ul/bin:$PATH" FSTAB_FILE="$T/ul/fstab" fsck -A -V > "$T/ul/verbose" 2>&1
	assert "util-linux fsck never runs fsck.overlay: exit 0, no call, 'nonexistent device'" \
		'[ "$ulrc" -eq 0 ] && [ ! -e "$T/ul/ran" ] &&
		 grep -q "^overlay: nonexistent device" "$T/ul/verbose"'
	assert "the man page says so (CAVEATS)" \
		'grep -q "^\.Sh CAVEATS" "$top_srcdir/man/fsck.overlay.8" &&
		 grep -q "nonexistent device" "$top_srcdir/man/fsck.overlay.8"'
else
	skip "util-linux fsck never runs fsck.overlay" "no util-linux fsck"
	skip "the man page says so (CAVEATS)" "no util-linux fsck"
fi

done_testing
tap_exit
