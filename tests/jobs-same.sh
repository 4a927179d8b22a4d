#!/bin/sh
# The fsck.overlay the suites run (FSCK): $FSCK_BIN with -j $JOBS_N (4:
# more readers than the CI's cores). Every check-only run (-n) is made
# twice, with -j 1 and -j $JOBS_N: stdout, stderr and the exit code must be
# byte for byte the same, else the differences go to stderr and the exit
# code is 99, which no caller expects. The test that called it then fails.
#
# Not compared: runs with -C (the progress fd would get both runs' lines)
# and runs that may write (-y, -p, asking, --undo): their -n twins are.
: "${FSCK_BIN:?FSCK_BIN: the fsck.overlay binary}"
: "${JOBS_N:=4}"

compare=no
for a in "$@"; do
	case $a in
	-n) compare=yes ;;
	-C*) compare=no; break ;;
	esac
done
[ "$compare" = yes ] || exec "$FSCK_BIN" -j "$JOBS_N" "$@"

T=$(mktemp -d "${TMPDIR:-/tmp}/jobs-same.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
rc1=0
"$FSCK_BIN" -j 1 "$@" >"$T/out1" 2>"$T/err1" </dev/null || rc1=$?
rcn=0
"$FSCK_BIN" -j "$JOBS_N" "$@" >"$T/outn" 2>"$T/errn" || rcn=$?
cat "$T/outn"
cat "$T/errn" >&2
if [ "$rc1" -ne "$rcn" ] || ! cmp -s "$T/out1" "$T/outn" || ! cmp -s "$T/err1" "$T/errn"; then
	echo "jobs-same: -j 1 and -j $JOBS_N differ (exit $rc1 and $rcn): $FSCK_BIN $*" >&2
	diff "$T/out1" "$T/outn" >&2
	diff "$T/err1" "$T/errn" >&2
	exit 99
fi
exit "$rcn"
