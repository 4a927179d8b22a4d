#!/bin/sh
# overlay-layers merge in place on a 200k-file stack, against what a
# script without overlay knowledge would do with the same data:
#
#   merge -y           the upper folded into the lower (check, plan, one
#                      journalled change per metacopy file: its owner,
#                      mode and times onto the lower data inode)
#   cp -a + rm -rf     the upper copied over a copy of the lower, then
#                      removed (and the result wrong: cp -a takes the
#                      metacopy files' empty stubs, not their data)
#
# The stack is made by bench/gen.sh (GEN6=0) in DIR/s1: a merge rewrites
# its lower, so it cannot run on a shared stack, and a cp -a copy of one
# would not do either (its upper's origin handles name the inodes of the
# original lower: fsck.overlay -n, which merge runs first, reports them).
# The copies for cp -a are made untimed on the same filesystem. One run
# (RUNS more each make the stack again); warm cache; the load printed.
#
#   bench/merge.sh [DIR [N]]     as root, from the build dir
#
# LOWERS=2: the stack has an empty top lower above that lower
# (lowerdir=top:lower; bench/gen.sh GEN_TOP=1), and merge folds the upper
# into it: the metacopy files move into it still metacopy, their data
# staying in the lower below (cp -a as before, into a copy of the lower).
#
# Environment: LAYERS (default ./overlay-layers), RUNS (1), LOWERS (1). DIR defaults
# to /var/tmp/overlay-layers-merge-bench and is removed at the end
# unless KEEP=1. Not run by make check; timing targets live here.
set -u

DIR=${1:-/var/tmp/overlay-layers-merge-bench}
N=${2:-200000}
LAYERS=${LAYERS:-./overlay-layers}
RUNS=${RUNS:-1}
HERE=$(cd "$(dirname "$0")" && pwd)

[ "$(id -u)" -eq 0 ] || { echo "$0: needs root (mount, chown)" >&2; exit 1; }
[ -x "$LAYERS" ] || { echo "$0: $LAYERS not built (make overlay-layers)" >&2; exit 1; }

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

mkdir -p "$DIR" || exit 1
i=0
while [ "$i" -lt "$RUNS" ]; do
	top=0
	[ "${LOWERS:-1}" = 2 ] && top=1
	GEN6=0 GEN_TOP=$top sh "$HERE/gen.sh" "$DIR" "$N" > /dev/null || exit 1
	S=$DIR/s1 B=$DIR/copy
	rm -rf "$B" && mkdir -p "$B" && cp -a "$S/lower" "$S/upper" "$B/" || exit 1
	sync
	O="lowerdir=$S/lower,upperdir=$S/upper,workdir=$S/work"
	[ "$top" = 1 ] && O="lowerdir=$S/top:$S/lower,upperdir=$S/upper,workdir=$S/work"
	load=$(cut -d' ' -f1 /proc/loadavg)
	t0=$(now)
	"$LAYERS" merge -y -o "$O" > "$DIR/merge.out" 2>&1 ||
		{ echo "$0: merge failed: $(tail -2 "$DIR/merge.out")" >&2; exit 1; }
	tm=$(since "$t0")
	t0=$(now)
	cp -a "$B/upper/." "$B/lower/" && rm -rf "$B/upper" || exit 1
	tc=$(since "$t0")
	echo "$tm $tc $load $(sed -n 's/^made \([0-9]*\);.*/\1/p' "$DIR/merge.out")"
	i=$((i + 1))
done > "$DIR/times"
tm=$(cut -d' ' -f1 "$DIR/times" | median)
tc=$(cut -d' ' -f2 "$DIR/times" | median)
printf '%-40s %9s\n' "case ($N metacopy files, $(cut -d' ' -f4 "$DIR/times" | head -1) changes)" seconds
printf '%-40s %9s\n' "overlay-layers merge -y" "$tm"
printf '%-40s %9s\n' "cp -a upper/. lower/ + rm -rf upper" "$tc"
echo "load average at the start of each run: $(cut -d' ' -f3 "$DIR/times" | tr '\n' ' ')"
awk -v m="$tm" -v c="$tc" 'BEGIN { printf "merge / (cp -a + rm -rf): %.2fx (target <= 3x: it checks the stack first and journals every change)\n", m / c }'
[ -n "${KEEP:-}" ] || rm -rf "$DIR"
