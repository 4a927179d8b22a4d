#!/bin/sh
# How long does a key of overlay-browse --write take on the 200k stack?
# bench/editlat runs the browser's background check to its end, then times
# c (copy up one metacopy file) and f (fix one problem), each with the
# scoped check of what it touched and the problems list updated.
# Target: < 0.2 s per key (the max over the keys timed).
#
#   bench/edit.sh [DIR]      from the build dir, as root (make bench runs it)
#
# It writes, so it works on a stack of its own, EDIT_DIR/s1 (default
# DIR/edit/s1, DIR as bench/run.sh's), made once by bench/gen.sh: a copy of
# DIR/s1 would not do (cp -a gives the lower files new inodes, so every
# origin of the copy goes stale, and it fills the metacopy stubs' holes).
# Before each run it damages that stack afresh: five orphan whiteouts, a
# dir without its impure mark, a metacopy file of the wrong size.
#
# Environment: BENCH_DIR, BENCH_N (as run.sh), EDIT_DIR, EDITLAT (default
# ./bench/editlat), COPIES (5), FIXES (10), WHOLE=1 (also time one edit the
# way the browser did before: a whole check, then a new background check).
set -u

here=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-${BENCH_DIR:-/var/tmp/overlay-fsck-bench}}
EDIT_DIR=${EDIT_DIR:-$DIR/edit}
EDITLAT=${EDITLAT:-./bench/editlat}
S=$EDIT_DIR/s1

[ -x "$EDITLAT" ] || { echo "$0: $EDITLAT not built (make bench/editlat)" >&2; exit 1; }
if [ ! -d "$S/upper" ]; then
	echo "no stack to write in $EDIT_DIR: making one (bench/gen.sh $EDIT_DIR ${BENCH_N:-200000})"
	GEN6=0 "$here/gen.sh" "$EDIT_DIR" "${BENCH_N:-200000}" || exit 1
fi

for i in 1 2 3 4 5; do
	[ -e "$S/upper/d0005/ghost$i" ] || mknod "$S/upper/d0005/ghost$i" c 0 0
done
setfattr -x trusted.overlay.impure "$S/upper/d0010" 2>/dev/null
f=$S/upper/d0020/f20000
getfattr -n trusted.overlay.metacopy "$f" >/dev/null 2>&1 && truncate -s 7777 "$f"

out=$(mktemp "${TMPDIR:-/tmp}/bench-edit.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
echo "browser edit latency (overlay-browse --write keys) on $S:"
"$EDITLAT" -c "${COPIES:-5}" -f "${FIXES:-10}" ${WHOLE:+-w} \
	-o "lowerdir=$S/lower,upperdir=$S/upper,workdir=$S/work" >"$out" 2>&1 ||
	{ cat "$out"; exit 1; }
sed 's/^/  /' "$out"
awk '/: median/ { gsub(",", "", $0); for (i = 1; i <= NF; i++) if ($i == "max") m = $(i + 1)
		  if (m + 0 > worst) worst = m + 0 }
     END { printf "  %-26s %8.4f s  target < 0.2 s  %s\n", "slowest key", worst,
		   worst < 0.2 ? "ok" : "SLOW" }' "$out"
