# TAP helpers for the shell test scripts (sourced, POSIX sh).
#
#   . "$top_srcdir/tests/tap.sh"
#   plan 3                  (or call done_testing at the end instead)
#   ok "name"               not_ok "name"          skip "name" "reason"
#   check "name" CMD...     ok when CMD succeeds, not ok otherwise
#   assert "name" COND...   ok when the shell condition COND (eval'ed) holds;
#                           else not ok, the condition and assert_diag's words
#   skip_all "reason"       whole script skipped: prints "1..0 # SKIP", exits 0
#   diag "text"             a "# text" comment line (multi-line allowed)
#   tap_exit                exit 1 if any test failed, else 0
#
# The automake tap-driver reads the "ok"/"not ok" lines; the exit status
# only matters when the script dies before its plan is complete.

tap_n=0
tap_failed=0

plan() {
	echo "1..$1"
}

ok() {
	tap_n=$((tap_n + 1))
	printf "ok %d - %s\n" "$tap_n" "$1"
}

not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	printf "not ok %d - %s\n" "$tap_n" "$1"
}

skip() {
	tap_n=$((tap_n + 1))
	printf "ok %d - %s # SKIP %s\n" "$tap_n" "$1" "${2:-}"
}

check() {
	_tap_name=$1
	shift
	if "$@"; then ok "$_tap_name"; else not_ok "$_tap_name"; fi
}

assert_diag() { :; }

assert() {
	_tap_name=$1
	shift
	if eval "$*"; then
		ok "$_tap_name"
	else
		not_ok "$_tap_name"
		diag "condition: $*"
		assert_diag
	fi
}

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

done_testing() {
	echo "1..$tap_n"
}

tap_exit() {
	[ "$tap_failed" -eq 0 ]
	exit $?
}
