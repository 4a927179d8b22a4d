#!/bin/sh
# Questions (fsck.overlay(8), REPAIR): without -n/-y/-p and with a terminal
# on standard input fsck.overlay asks before each fix, "  Fix<y>? ", and
# reads y, n, a (yes to all), q (quit: exit 32) or an empty line (yes).
# Each case builds a stack with three orphan whiteouts (/w1 /w2 /w3, three
# "Remove" questions in that order), answers through a real
# pseudo-terminal (util-linux script(1): no python needed), checks the
# exit status and the questions, then checks with -n that the layers hold
# exactly what the answers asked for. Without a terminal nothing changes.
#
# The answers are written only once the first question is on the screen,
# to a terminal whose echo was turned off before fsck.overlay started: the
# output then holds the questions and fsck.overlay's own answer words only.

LC_ALL=C
export LC_ALL
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-.}
FSCK=${FSCK:-$top_builddir/fsck.overlay}
OVL_TESTTOOL=${OVL_TESTTOOL:-$top_builddir/tests/ovl-testtool}
. "$top_srcdir/tests/tap.sh"

[ "$(id -u)" = 0 ] || skip_all "need root (trusted.* xattrs and whiteout devices)"
for prog in "$FSCK" "$OVL_TESTTOOL"; do
	[ -x "$prog" ] || skip_all "$prog not built"
done
command -v script >/dev/null 2>&1 || skip_all "no script(1) (util-linux)"
command -v stty >/dev/null 2>&1 || skip_all "no stty"

# The layers need trusted.* xattrs and mknod: the build dir's filesystem,
# as for the fixtures (not /tmp, often a tmpfs without file handles).
T=$(mktemp -d "${FIXTURE_TMPDIR:-$top_builddir}/prompt-test.XXXXXX") || exit 99
T=$(cd "$T" && pwd -P)
trap 'rm -rf "$T"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# script(1) itself works on a pty here?
if ! printf 'x\n' | SHELL=/bin/sh script -q -e -c 'test -t 0 && read a && test "$a" = x' \
	/dev/null >/dev/null 2>&1; then
	skip_all "script(1) cannot run a command on a pseudo-terminal here"
fi

cat >"$T/stack" <<'EOF'
layers upper lower1 work
dir lower1 /d
file lower1 /f
whiteout upper /w1
whiteout upper /w2
whiteout upper /w3
EOF

# Build a fresh stack in $T/s; $opts: its -o argument.
build() {
	rm -rf "$T/s"
	mkdir "$T/s" || return 1
	"$OVL_TESTTOOL" build "$T/stack" "$T/s" >"$T/args" 2>"$T/build.err" ||
		return 1
	opts=$(sed -n '2p' "$T/args")
}

# ask ANSWERS: run fsck.overlay (no mode) on a terminal, feeding ANSWERS
# (printf %b) once the first question shows. Exit status in $rc, the
# output, without carriage returns, in $T/out.
ask() {
	rm -f "$T/fifo" "$T/raw"
	mkfifo "$T/fifo" || return 1
	: >"$T/raw"
	(
		i=0
		while ! grep -q '<y>? ' "$T/raw" && [ "$i" -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		printf '%b' "$1"
	) >"$T/fifo" &
	writer=$!
	SHELL=/bin/sh script -q -e -c "stty -echo && exec '$FSCK' -o '$opts'" \
		/dev/null <"$T/fifo" >"$T/raw" 2>&1
	rc=$?
	wait "$writer"
	tr -d '\r' <"$T/raw" >"$T/out"
}

# left: the orphan whiteouts a check-only run still finds, e.g. "w2 w3".
left() {
	"$FSCK" -n -o "$opts" </dev/null 2>&1 |
		sed -n 's|^WH_ORPHAN upper:/\(w[0-9]\): .*|\1|p' | tr '\n' ' ' |
		sed 's/ $//'
}

# Does the output hold line $1 exactly?
line() { grep -Fxq -- "$1" "$T/out"; }
q() { printf 'WH_ORPHAN upper:/%s: orphan whiteout: hides nothing in the layers below  %s' "$1" "$2"; }
prompts() { grep -o 'Remove<y>? ' "$T/out" | wc -l | tr -d ' '; }

# what a failed assert NAME CONDITION (tests/tap.sh) shows besides the condition
assert_diag() {
	diag "exit status: $rc, left: $(left)"
	diag "$(cat "$T/out")"
}

plan 27

# y to every question
build || skip_all "cannot build the stack: $(head -n 1 "$T/build.err")"
ask 'y\ny\ny\n'
assert "y y y: exit 1" '[ "$rc" = 1 ]'
assert "y y y: three questions, each answered yes" \
	'line "$(q w1 "Remove<y>? yes")" && line "$(q w2 "Remove<y>? yes")" &&
	 line "$(q w3 "Remove<y>? yes")" && line "3 fixed, 0 left"'
assert "y y y: nothing left" '[ -z "$(left)" ]'

# n to every question: nothing changes
build
"$OVL_TESTTOOL" snapshot "$T/s" >"$T/snap.before"
ask 'n\nn\nn\n'
"$OVL_TESTTOOL" snapshot "$T/s" >"$T/snap.after"
assert "n n n: exit 4" '[ "$rc" = 4 ]'
assert "n n n: three questions, each answered no" \
	'line "$(q w1 "Remove<y>? no")" && line "$(q w2 "Remove<y>? no")" &&
	 line "$(q w3 "Remove<y>? no")" && line "0 fixed, 3 left"'
assert "n n n: the layers are unchanged (no journal either)" \
	'cmp -s "$T/snap.before" "$T/snap.after"'

# y n y: the second run finds exactly the refused one
build
ask 'y\nn\ny\n'
assert "y n y: exit 5 (fixed and left)" '[ "$rc" = 5 ]'
assert "y n y: only w2 is left" '[ "$(left)" = w2 ]'

# n a: the first refused, yes to all from the second on, without asking
build
ask 'n\na\n'
assert "n a: exit 5" '[ "$rc" = 5 ]'
assert "n a: no, yes to all, then yes unasked" \
	'line "$(q w1 "Remove<y>? no")" && line "$(q w2 "Remove<y>? yes to all")" &&
	 line "$(q w3 "Remove? yes")" && [ "$(prompts)" = 2 ]'
assert "n a: only w1 is left" '[ "$(left)" = w1 ]'

# y q: quit at the second question; the first fix is still made, the
# later problems are reported without a question and not fixed
build
ask 'y\nq\n'
assert "y q: exit 37 (32 cancelled | 1 fixed | 4 left)" '[ "$rc" = 37 ]'
assert "y q: yes, cancelled, then no more questions" \
	'line "$(q w1 "Remove<y>? yes")" && line "$(q w2 "Remove<y>? cancelled")" &&
	 line "WH_ORPHAN upper:/w3: orphan whiteout: hides nothing in the layers below" &&
	 [ "$(prompts)" = 2 ]'
assert "y q: w2 and w3 are left" '[ "$(left)" = "w2 w3" ]'

# empty lines: the default answer is yes
build
ask '\n\n\n'
assert "empty lines: exit 1" '[ "$rc" = 1 ]'
assert "empty lines: each question answered yes, nothing left" \
	'line "$(q w2 "Remove<y>? yes")" && [ "$(prompts)" = 3 ] && [ -z "$(left)" ]'

# garbage, then y: the question is asked again
build
ask 'maybe\ny\nn\ny\n'
assert "garbage then y: exit 5" '[ "$rc" = 5 ]'
assert "garbage then y: w1 asked twice, then yes" \
	'line "$(q w1 "Remove<y>?   Remove<y>? yes")" && [ "$(prompts)" = 4 ]'
assert "garbage then y: only w2 is left" '[ "$(left)" = w2 ]'

# no terminal, no mode: check only
build
"$OVL_TESTTOOL" snapshot "$T/s" >"$T/snap.before"
"$FSCK" -o "$opts" </dev/null >"$T/out" 2>&1
rc=$?
"$OVL_TESTTOOL" snapshot "$T/s" >"$T/snap.after"
assert "no terminal: exit 4" '[ "$rc" = 4 ]'
assert "no terminal: no questions, nothing fixed, problems listed" \
	'! grep -q "?" "$T/out" && ! grep -q "fixed" "$T/out" &&
	 line "WH_ORPHAN upper:/w1: orphan whiteout: hides nothing in the layers below" &&
	 line "3 problems (whiteout 3)"'
assert "no terminal: the layers are unchanged" 'cmp -s "$T/snap.before" "$T/snap.after"'

# -C 0: a progress bar on the terminal, taken off before each problem line
build
SHELL=/bin/sh script -q -e -c "exec '$FSCK' -n -C 0 -o '$opts'" /dev/null \
	</dev/null >"$T/raw" 2>&1
rc=$?
tr '\r' '\n' <"$T/raw" | sed 's/ *$//' >"$T/out"
assert "-C 0 on a terminal: exit 4" '[ "$rc" = 4 ]'
assert "-C 0 on a terminal: a bar for each pass, problem lines whole" \
	'grep -q "^Pass 1: the stack \[ *\] *0\.0%" "$T/out" &&
	 grep -q "^Pass 2: upper \[" "$T/out" && grep -q "^Pass 3: lower1 \[" "$T/out" &&
	 line "WH_ORPHAN upper:/w2: orphan whiteout: hides nothing in the layers below" &&
	 line "3 problems (whiteout 3)"'
"$FSCK" -n -C 0 -o "$opts" </dev/null >"$T/out" 2>&1
assert "-C 0 without a terminal: no bar" '! grep -q "Pass\|\[" "$T/out"'

# As e2fsck: SIGUSR1 starts the progress (a bar on stdout, even without
# -C), SIGUSR2 stops it. The signals are made pending before fsck.overlay
# starts (blocked, sent, inherited through exec): it must take them as
# soon as it can, deterministically. One process takes them: the binary
# itself, not the -j comparing wrapper of the suites.
usr() {
	_sigs=$1
	shift
	perl -e 'use POSIX; sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGUSR1, SIGUSR2)) or die;
		 kill $_, $$ for split /,/, shift; exec @ARGV or die "exec: $!"' \
		"$_sigs" "${FSCK_BIN:-$FSCK}" "$@"
}
build
usr USR1 -n -o "$opts" </dev/null >"$T/raw" 2>&1
rc=$?
tr '\r' '\n' <"$T/raw" | sed 's/ *$//' >"$T/out"
assert "SIGUSR1: a bar on stdout without -C; problem lines whole; exit 4" \
	'[ "$rc" = 4 ] && grep -q "^Pass 2: upper \[" "$T/out" &&
	 line "WH_ORPHAN upper:/w2: orphan whiteout: hides nothing in the layers below"'
usr USR2 -n -C 3 -o "$opts" </dev/null >"$T/out" 2>&1 3>"$T/lines"
rc=$?
assert "SIGUSR2: no -C 3 lines, no bar" \
	'[ "$rc" = 4 ] && ! grep -q "Pass" "$T/out" && [ ! -s "$T/lines" ]'

tap_exit
