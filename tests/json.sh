#!/bin/sh
# fsck.overlay --json on stacks built by tests/ovl-testtool, the report
# read back with jq: one document on stdout and nothing else, the schema's
# members, problems with code/layer/path/fixed, escaped bytes, the exit
# code the same in the document and the process, MOUNTPOINT and -A from a
# temporary fstab, and the usage errors. See fsck.overlay(8) JSON OUTPUT.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-.}
FSCK=${FSCK:-$top_builddir/fsck.overlay}
OVL_TESTTOOL=${OVL_TESTTOOL:-$top_builddir/tests/ovl-testtool}
. "$top_srcdir/tests/tap.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (trusted.* xattrs, whiteouts)"
command -v jq >/dev/null 2>&1 || skip_all "jq not installed (deps.txt)"

# On the build dir's filesystem, as tests/fixtures/run.sh: /tmp may be a
# tmpfs without file handles.
T=$(mktemp -d "$top_builddir/json-test.XXXXXX") || exit 99
T=$(cd "$T" && pwd -P)
cleanup() {
	mountpoint -q "$T/m" 2>/dev/null && umount "$T/m"
	rm -rf "$T"
}
trap cleanup EXIT

# stack NAME: build the stack language on stdin into $T/NAME
stack() {
	cat >"$T/$1.stack"
	mkdir "$T/$1" &&
	"$OVL_TESTTOOL" build "$T/$1.stack" "$T/$1" >/dev/null 2>"$T/$1.err"
}
opts() {
	echo "lowerdir=$T/$1/lower1,upperdir=$T/$1/upper,workdir=$T/$1/work"
}

# run ARGS...: exit code in $rc, stdout in $T/out, stderr in $T/err
run() {
	"$FSCK" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}
# The whole of stdout is one JSON document on one line.
one_doc() {
	[ "$(wc -l <"$T/out")" -eq 1 ] && jq -e 'type == "object"' "$T/out" >/dev/null
}
# jqt EXPR: EXPR is true of the document
jqt() { jq -e "$1" "$T/out" >/dev/null; }

# what a failed assert (tests/tap.sh) shows besides its condition
assert_diag() {
	diag "exit: $rc" "stdout: $(head -c 3000 "$T/out")" "stderr: $(head -n 5 "$T/err")"
}

plan 22

stack clean <<'EOF' || { diag "$(cat "$T/clean.err")"; exit 99; }
layers upper lower1 work
dir lower1 /a
file lower1 /a/f data="x"
xattr upper / impure y
dir upper /a
file upper /a/new data="y"
EOF
# an orphan whiteout (WH_ORPHAN, preen), and one whose name holds a
# non-UTF-8 byte and a control byte
stack bad <<'EOF' || { diag "$(cat "$T/bad.err")"; exit 99; }
layers upper lower1 work
dir lower1 /a
file lower1 /a/f
xattr upper / impure y
dir upper /a
whiteout upper /a/g
whiteout upper "/a/n\xffm\x01"
EOF

# a clean stack
run -n --json -o "$(opts clean)"
assert "clean -n: exit 0, one document, nothing on stderr" \
	'[ $rc -eq 0 ] && one_doc && [ ! -s "$T/err" ]'
assert "clean -n: the document's members and types" \
	'jqt ".schema_version == 1 and .program == \"fsck.overlay\" and
	      (.version | type) == \"string\" and .mode == \"check\" and
	      .exit_code == 0 and (.stacks | length) == 1 and
	      (.stacks[0] | .mountpoint == null and .mounted == null and
	       .error == null and .exit_code == 0 and .problems == [] and
	       ([.layers[] | [.role, .name]] ==
	        [[\"upper\", \"upper\"], [\"lower\", \"lower1\"], [\"work\", \"work\"]]) and
	       .layers[0].path == \"$T/clean/upper\" and
	       (.features | (.metacopy | type) == \"string\" and
	        (.index | type) == \"string\" and (.userxattr | type) == \"boolean\") and
	       (.summary | .problems == 0 and .errors == 0 and .warnings == 0 and
	        .notes == 0 and .fixed == 0 and .left == 0 and
	        .entries.upper == 2 and .entries.lower1 == 2 and
	        (.by_class | type) == \"object\"))"'

# the damaged stack with -n, the same exit code as the text output
run -n --json -o "$(opts bad)"
assert "damaged -n: exit 4 in the process and the document, one document" \
	'[ $rc -eq 4 ] && one_doc && jqt ".exit_code == 4 and .stacks[0].exit_code == 4"'
assert "damaged -n: WH_ORPHAN upper:/a/g, fixable, not fixed" \
	'jqt "[.stacks[0].problems[] | select(.path == \"/a/g\")] | length == 1 and
	      (.[0] | .code == \"WH_ORPHAN\" and .class == \"whiteout\" and
	       .severity == \"warning\" and .layer == \"upper\" and
	       .id == 1 and (.message | length) > 0 and
	       .detail == null and .fixable == true and .fixed == false)" &&
	 jqt ".stacks[0].summary | .problems == 3 and .warnings == 2 and .notes == 1 and
	      .left == 2 and .by_class.whiteout == 2"'
# jq -r prints the string's text: the escapes of the text output
assert "damaged -n: a non-UTF-8 and a control byte escaped as \\xHH" \
	'[ "$(jq -r ".stacks[0].problems[] | select(.code == \"WH_ORPHAN\") | .path" "$T/out" |
	      grep -c "^/a/n\\\\xffm\\\\x01\$")" -eq 1 ] &&
	 jqt "[.stacks[0].problems[] | select(.code == \"LY_NAME_CONTROL\") |
	      .severity == \"note\" and .fixable == false] == [true]"'
"$FSCK" -n -o "$(opts bad)" >/dev/null 2>&1 </dev/null
text_rc=$?
assert "damaged -n: the text run exits the same" '[ $text_rc -eq $rc ]'

# -y fixes: fixed true, exit 1; the layers are clean afterwards
run -y --json -o "$(opts bad)"
assert "damaged -y: exit 1 in the process and the document, one document" \
	'[ $rc -eq 1 ] && one_doc && jqt ".mode == \"yes\" and .exit_code == 1 and
	 .stacks[0].exit_code == 1" && grep -q "undo journal" "$T/err"'
assert "damaged -y: the document names the undo journal" \
	'j=$(jq -r ".stacks[0].journal" "$T/out") && [ -f "$j" ] &&
	 head -n 1 "$j" | grep -qx "overlay-fsck-journal 1" &&
	 grep -qF "undo journal: $j" "$T/err"'
assert "damaged -y: every problem fixed, the summary says so" \
	'jqt "[.stacks[0].problems[] | [.code, .fixed]] ==
	      [[\"WH_ORPHAN\", true], [\"LY_NAME_CONTROL\", false], [\"WH_ORPHAN\", true]] and
	      (.stacks[0].summary | .fixed == 2 and .left == 0)" &&
	 run -n --json -o "$(opts bad)" && [ $rc -eq 0 ] && jqt ".stacks[0].problems == []" &&
	 jqt ".stacks[0].journal == null"'

# a fix that fails (its dir immutable) is not fixed: exit 4|8, the other
# problem's fix applies
stack failing <<'EOF' || { diag "$(cat "$T/failing.err")"; exit 99; }
layers upper lower1 work
dir lower1 /a
dir lower1 /b
xattr upper / impure y
dir upper /a
whiteout upper /a/g
dir upper /b
whiteout upper /b/h
EOF
if chattr +i "$T/failing/upper/a" 2>/dev/null; then
	run -y --json -o "$(opts failing)"
	chattr -i "$T/failing/upper/a"
	assert "-y: a fix that failed stays fixed=false, the other is fixed" \
		'[ $rc -eq 13 ] && one_doc && jqt ".exit_code == 13 and
		 ([.stacks[0].problems[] | [.path, .fixable, .fixed]] ==
		  [[\"/a/g\", true, false], [\"/b/h\", true, true]]) and
		 (.stacks[0].summary | .fixed == 1 and .left == 1)" &&
		 grep -q "cannot" "$T/err"'
else
	skip "-y: a fix that failed stays fixed=false" "chattr +i does not work here"
fi

# -p fixes the orphan whiteout, not the redirect loop (not preen): exit 4
stack mixed <<'EOF' || { diag "$(cat "$T/mixed.err")"; exit 99; }
layers upper lower1 work
dir lower1 /a
xattr upper / impure y
whiteout upper /gone
dir upper /a
xattr upper /a impure y
dir upper /a/b
xattr upper /a/b redirect "/a"
EOF
run -p --json -o "$(opts mixed),redirect_dir=on"
assert "-p: the preen fix applied, the other left fixed=false, exit 4" \
	'[ $rc -eq 4 ] && one_doc && jqt ".mode == \"preen\" and .exit_code == 4 and
	 ([.stacks[0].problems[] | [.code, .fixable, .fixed]] ==
	  [[\"RD_LOOP\", true, false], [\"WH_ORPHAN\", true, true]]) and
	 (.stacks[0].summary | .fixed == 1 and .left == 1) and
	 .stacks[0].features.redirect_dir == \"on\""'

# by mount point and -A from a temporary fstab: two stacks, one
# document, in pass order, the exit codes or-ed
stack bad2 <<'EOF' || { diag "$(cat "$T/bad2.err")"; exit 99; }
layers upper lower1 work
dir lower1 /a
dir upper /a
whiteout upper /a/ghost
EOF
cat >"$T/fstab" <<EOF
overlay $T/mnt_bad overlay $(opts bad2) 0 1
overlay $T/mnt_clean overlay $(opts clean),noauto 0 2
overlay $T/mnt_never overlay $(opts bad2) 0 0
EOF
run -n --json --fstab "$T/fstab" "$T/mnt_bad"
assert "MOUNTPOINT: its stack, with its mountpoint, exit 4" \
	'[ $rc -eq 4 ] && one_doc && jqt "(.stacks | length) == 1 and
	 .stacks[0].mountpoint == \"$T/mnt_bad\" and .stacks[0].exit_code == 4 and
	 .stacks[0].problems[0].path == \"/a/ghost\""'
run -A -n --json --fstab "$T/fstab"
assert "-A: two stacks in one document, pass order, exit codes or-ed" \
	'[ $rc -eq 4 ] && one_doc && jqt "[.stacks[] | [.mountpoint, .exit_code]] ==
	 [[\"$T/mnt_bad\", 4], [\"$T/mnt_clean\", 0]] and .exit_code == 4"'
cat >"$T/fstab2" <<EOF
overlay $T/mnt_clean overlay $(opts clean) 0 1
overlay $T/mnt_gone overlay lowerdir=$T/none/l,upperdir=$T/none/u,workdir=$T/none/w 0 1
EOF
run -A -n --json --fstab "$T/fstab2"
assert "-A: a stack that cannot be checked has its error, exit 8 or-ed" \
	'[ $rc -eq 8 ] && one_doc && [ "$(wc -l <"$T/err")" -eq 1 ] &&
	 jqt ".exit_code == 8 and (.stacks | length) == 2 and
	 .stacks[0].error == null and .stacks[1].exit_code == 8 and
	 (.stacks[1].error | test(\"No such file\")) and .stacks[1].summary == null and
	 .stacks[1].features == null and .stacks[1].problems == []"'

# a mounted stack: -n records where, a repair mode is that stack's error
mkdir "$T/m"
if mount -t overlay overlay -o "$(opts clean)" "$T/m" 2>"$T/mount.err"; then
	run -n --json -o "$(opts clean)"
	_rc_n=$rc
	cp "$T/out" "$T/out.n"
	run -y --json -o "$(opts clean)"
	umount "$T/m"
	assert "a mounted stack: -n says where (exit 0), -y is its error (exit 8)" \
		'[ $_rc_n -eq 0 ] && jq -e ".stacks[0].mounted == \"$T/m\" and
		  .stacks[0].summary.problems == 0" "$T/out.n" >/dev/null &&
		 [ $rc -eq 8 ] && one_doc && jqt ".exit_code == 8 and
		  .stacks[0].mounted == \"$T/m\" and .stacks[0].summary == null and
		  (.stacks[0].error | test(\"mounted on .*refusing\")) and
		  .stacks[0].features != null"'
else
	skip "a mounted stack" "cannot mount an overlay: $(cat "$T/mount.err")"
fi

# usage errors, -C: one line on stderr, nothing on stdout
usage_err() {
	[ $rc -eq 16 ] && [ ! -s "$T/out" ] && [ "$(wc -l <"$T/err")" -eq 1 ] &&
		grep -q "^fsck.overlay: " "$T/err"
}
run --json -o "$(opts clean)"
assert "no mode: usage error (it cannot ask)" 'usage_err && grep -q -- "--json" "$T/err"'
run -A --json --fstab "$T/fstab"
assert "-A without a mode: usage error" 'usage_err'
run -n --json --undo "$T/clean/work/none" -o "$(opts clean)"
assert "--undo: usage error" 'usage_err'
run -n --json --copy-up -o "$(opts clean)"
assert "--copy-up: usage error" 'usage_err'
run -n --json -C 1 -o "$(opts clean)"
assert "-C 1 (standard output): usage error" 'usage_err'
run -n --json -C 3 -o "$(opts bad2)" 3>"$T/progress"
assert "-C 3: progress lines on fd 3, the document alone on stdout" \
	'[ $rc -eq 4 ] && one_doc && [ -s "$T/progress" ] &&
	 ! grep -Evq "^[0-9]+ [0-9]+ [0-9]+ " "$T/progress"'
run -A -n --json --fstab "$T/no-such-fstab"
assert "-A with an unreadable fstab: exit 8, no document" \
	'[ $rc -eq 8 ] && [ ! -s "$T/out" ] && [ "$(wc -l <"$T/err")" -eq 1 ]'

tap_exit
