#!/bin/sh
# overlay-layers on the 200k-file stack that bench/gen.sh makes (DIR/s1:
# 200000 metacopy files over their lower data, made by the kernel):
#
#   export -y FILE    against  tar -c of the upper dir (what an export
#                     without overlay knowledge would read: no lower data,
#                     no whiteout translation)
#   vacuum -n         the plan alone (every upper entry judged)
#
# The stack is only read (both commands check it first, as fsck.overlay
# -n, then read it); its outputs go to OUT. Warm cache: one untimed run
# of each first, then the median of RUNS.
#
#   bench/layers.sh [DIR [OUT]]     as root, from the build dir
#
# Environment: LAYERS (default ./overlay-layers), RUNS (3). Not run by
# make check; timing targets live here, never in the tests.
set -u

DIR=${1:-/var/tmp/overlay-fsck-bench}
OUT=${2:-/var/tmp/overlay-layers-bench}
LAYERS=${LAYERS:-./overlay-layers}
RUNS=${RUNS:-3}
S=$DIR/s1

[ "$(id -u)" -eq 0 ] || { echo "$0: needs root (trusted xattrs)" >&2; exit 1; }
[ -x "$LAYERS" ] || { echo "$0: $LAYERS not built (make overlay-layers)" >&2; exit 1; }
[ -d "$S/upper" ] || { echo "$0: no $S: make it with bench/gen.sh $DIR" >&2; exit 1; }
mkdir -p "$OUT" || exit 1
O="lowerdir=$S/lower,upperdir=$S/upper,workdir=$S/work"

now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# timed NAME CMD...: the median wall time of RUNS runs of CMD (after one
# untimed run), in seconds
timed() {
	"$@" > /dev/null 2>&1
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		t0=$(now)
		"$@" > /dev/null 2>&1 || { echo "$0: $* failed" >&2; exit 1; }
		awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f\n", b - a }'
		i=$((i + 1))
	done | median
}

export_run() { rm -f "$OUT/e.tar"; "$LAYERS" export -y "$OUT/e.tar" -o "$O"; }
tar_run() { rm -f "$OUT/t.tar"; tar -c -f "$OUT/t.tar" -C "$S/upper" .; }

t_export=$(timed export_run)
t_tar=$(timed tar_run)
t_vacuum=$(timed "$LAYERS" vacuum -n -o "$O")
n=$(find "$S/upper" | wc -l)
printf '%-34s %9s\n' "case ($n upper entries)" seconds
printf '%-34s %9s\n' "overlay-layers export -y" "$t_export"
printf '%-34s %9s\n' "tar -c of the upper" "$t_tar"
printf '%-34s %9s\n' "overlay-layers vacuum -n" "$t_vacuum"
awk -v e="$t_export" -v t="$t_tar" 'BEGIN { printf "export / tar -c: %.2fx (target <= 8x: it reads the lower data, checks first)\n", e / t }'
