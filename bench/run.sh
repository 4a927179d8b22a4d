#!/bin/sh
# Time fsck.overlay -n against the bare walk (bench/barewalk, one thread:
# the least any checker must read) on the stacks bench/gen.sh makes, and
# print the ratios against the targets:
#
#   warm cache, -j default (the online CPUs):
#     full check                  <= 0.8 x bare walk of all layers
#     --upper-only                <= 0.8 x bare walk of upper + work
#                                    (info: barewalk -l, the lower lookups
#                                    --upper-only must add, one thread)
#     --upper-only, lower 6x      <= 1.2 x --upper-only on the 1x lower
#     full check                  <  1.0 x the peer (PEER=path to
#                                    overlayfs-progs' fsck.overlay)
#   cold cache (caches dropped before each run, as a boot finds them):
#     full check                  <= 1.0 x cold bare walk of all layers
#     --upper-only                <= 1.0 x cold bare walk of upper + work
#   -j 1, 2 and all CPUs, warm and cold: for information
#   BENCH_2M=1: a stack of 10x the files (made once in DIR-2m):
#     full check, 10x             <= 11 x the 1x time, max RSS <= 64 MiB
#   overlay-browse --write key < 0.2 s (bench/edit.sh, when bench/editlat is built)
#
# Warm: median of 3 runs after one warm-up (hyperfine when installed,
# else a date +%s.%N loop). Cold: median of RUNS_COLD (2) runs, each after
# sync and echo 3 >/proc/sys/vm/drop_caches. Max RSS from /usr/bin/time -v.
#
#   bench/run.sh [DIR]          (or: make bench, from the build dir)
#
# Environment: BENCH_DIR (default /var/tmp/overlay-fsck-bench), BENCH_N
# (files, default 200000; used when DIR has no stacks yet: gen.sh runs),
# FSCK, BAREWALK (default ./fsck.overlay, ./bench/barewalk), RUNS (3),
# RUNS_COLD (2; 0 leaves the cold runs out), PEER, BENCH_2M,
# NO_HYPERFINE=1 (time with the date loop even when hyperfine is there).
set -u

here=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-${BENCH_DIR:-/var/tmp/overlay-fsck-bench}}
FSCK=${FSCK:-./fsck.overlay}
BAREWALK=${BAREWALK:-./bench/barewalk}
RUNS=${RUNS:-3}
RUNS_COLD=${RUNS_COLD:-2}
PEER=${PEER:-}
NCPU=$(nproc 2>/dev/null || echo 1)

for p in "$FSCK" "$BAREWALK"; do
	[ -x "$p" ] || { echo "$0: $p not built (make fsck.overlay bench/barewalk)" >&2; exit 1; }
done
if [ ! -d "$DIR/s1/upper" ] || [ ! -d "$DIR/s6/upper" ]; then
	echo "no stacks in $DIR: making them (bench/gen.sh $DIR ${BENCH_N:-200000})"
	"$here/gen.sh" "$DIR" "${BENCH_N:-200000}" || exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

S1=$DIR/s1
S6=$DIR/s6
stack1="lowerdir=$S1/lower,upperdir=$S1/upper,workdir=$S1/work"
stack6="lowerdir=$S6/lower,upperdir=$S6/upper,workdir=$S6/work"

# loop KEY N BEFORE CMD...: the median wall time of N runs of CMD, each
# after BEFORE, into $T/KEY.time.
loop() {
	_key=$1 _n=$2 _before=$3
	shift 3
	: >"$T/$_key.all"
	_i=0
	while [ $_i -lt "$_n" ]; do
		$_before
		t0=$(date +%s.%N)
		"$@" >/dev/null 2>&1
		t1=$(date +%s.%N)
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$T/$_key.all"
		_i=$((_i + 1))
	done
	sort -g "$T/$_key.all" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }' \
		>"$T/$_key.time"
}

# median KEY CMD...: median wall time of RUNS runs into $T/KEY.time,
# max RSS (KiB) into $T/KEY.rss, the last output into $T/KEY.out.
median() {
	key=$1
	shift
	"$@" >"$T/$key.out" 2>&1	# warm-up, and the output to show
	if [ -z "${NO_HYPERFINE:-}" ] && command -v hyperfine >/dev/null 2>&1; then
		hyperfine -N -i -w 0 -r "$RUNS" --export-json "$T/$key.json" \
			--style none -- "$*" >/dev/null 2>&1
		grep -o '"median": *[0-9.e+-]*' "$T/$key.json" | head -n 1 |
			sed 's/.*: *//' >"$T/$key.time"
	else
		loop "$key" "$RUNS" : "$@"
	fi
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -v "$@" 2>&1 >/dev/null |
			sed -n 's/.*Maximum resident set size (kbytes): *//p' >"$T/$key.rss"
	else
		echo "?" >"$T/$key.rss"
	fi
	printf '  %-9s %8.3fs  %s\n' "$key" "$(cat "$T/$key.time")" "$*"
}

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# cold KEY CMD...: median of RUNS_COLD runs, each on a dropped cache.
cold() {
	key=$1
	shift
	loop "$key" "$RUNS_COLD" drop_caches "$@"
	echo "?" >"$T/$key.rss"
	printf '  %-9s %8.3fs  %s (cold)\n' "$key" "$(cat "$T/$key.time")" "$*"
}

jobs_list="1 2"
[ "$NCPU" -gt 2 ] && jobs_list="$jobs_list $NCPU"

echo "timing ($RUNS runs each, warm cache, $NCPU CPUs) in $DIR:"
median bare_all   "$BAREWALK" "$S1/upper" "$S1/work" "$S1/lower"
median full       "$FSCK" -n -o "$stack1"
for j in $jobs_list; do
	median "full_j$j" "$FSCK" -n -j "$j" -o "$stack1"
done
[ -n "$PEER" ] && median peer "$PEER" -n -o "$stack1"
median bare_uw    "$BAREWALK" "$S1/upper" "$S1/work"
median floor_uw   "$BAREWALK" -l "$S1/lower" "$S1/upper" "$S1/work"
median upper      "$FSCK" -n --upper-only -o "$stack1"
for j in $jobs_list; do
	median "upper_j$j" "$FSCK" -n --upper-only -j "$j" -o "$stack1"
done
median bare_uw6   "$BAREWALK" "$S6/upper" "$S6/work"
median upper6     "$FSCK" -n --upper-only -o "$stack6"

if [ "$RUNS_COLD" -gt 0 ]; then
	if [ -w /proc/sys/vm/drop_caches ]; then
		echo "timing ($RUNS_COLD runs each, cold cache):"
		cold c_bare_all "$BAREWALK" "$S1/upper" "$S1/work" "$S1/lower"
		cold c_full     "$FSCK" -n -o "$stack1"
		cold c_full_j1  "$FSCK" -n -j 1 -o "$stack1"
		[ -n "$PEER" ] && cold c_peer "$PEER" -n -o "$stack1"
		cold c_bare_uw  "$BAREWALK" "$S1/upper" "$S1/work"
		cold c_floor_uw "$BAREWALK" -l "$S1/lower" "$S1/upper" "$S1/work"
		cold c_upper    "$FSCK" -n --upper-only -o "$stack1"
		cold c_upper_j1 "$FSCK" -n --upper-only -j 1 -o "$stack1"
	else
		echo "cold runs left out: /proc/sys/vm/drop_caches is not writable"
		RUNS_COLD=0
	fi
fi

if [ -n "${BENCH_2M:-}" ]; then
	D2=${DIR}-2m
	N2=$(( ${BENCH_N:-200000} * 10 ))
	if [ ! -d "$D2/s1/upper" ]; then
		echo "making the 10x stack ($N2 files) in $D2"
		GEN6=0 "$here/gen.sh" "$D2" "$N2" || exit 1
	fi
	stack2="lowerdir=$D2/s1/lower,upperdir=$D2/s1/upper,workdir=$D2/s1/work"
	median bare_2m "$BAREWALK" "$D2/s1/upper" "$D2/s1/work" "$D2/s1/lower"
	median full_2m "$FSCK" -n -o "$stack2"
fi

for k in full upper upper6; do
	tail -n 2 "$T/$k.out" | sed "s/^/  $k: /"
done

t() { cat "$T/$1.time"; }
rss() { awk -v k="$(cat "$T/$1.rss")" 'BEGIN { if (k == "?" || k == "") print "?"; else printf "%.1f", k / 1024 }'; }
row() {
	# name time base target rss; target "-": shown for information only
	awk -v n="$1" -v a="$2" -v b="$3" -v tg="$4" -v r="$5" 'BEGIN {
		ratio = (b > 0) ? a / b : 0
		verdict = (tg == "-") ? "" : (ratio <= tg) ? "ok" : "SLOW"
		printf "%-40s %9.3f %9.3f %7.2f %6s  %-4s %8s\n", n, a, b, ratio,
			(tg == "-") ? "info" : "<=" tg, verdict, r
	}'
}

echo
printf "%-40s %9s %9s %7s %6s  %-4s %8s\n" case "time(s)" "base(s)" ratio target "" "RSS(MiB)"
row "full -n / bare walk of all layers" "$(t full)" "$(t bare_all)" 0.8 "$(rss full)"
for j in $jobs_list; do
	row "  -j $j" "$(t "full_j$j")" "$(t bare_all)" - "$(rss "full_j$j")"
done
[ -n "$PEER" ] && row "full -n / the peer's -n" "$(t full)" "$(t peer)" 0.99 "$(rss peer)"
row "--upper-only / bare walk upper+work" "$(t upper)" "$(t bare_uw)" 0.8 "$(rss upper)"
for j in $jobs_list; do
	row "  -j $j" "$(t "upper_j$j")" "$(t bare_uw)" - "$(rss "upper_j$j")"
done
row "  --upper-only's own floor / bare walk" "$(t floor_uw)" "$(t bare_uw)" - "$(rss floor_uw)"
row "--upper-only 6x lower / 1x lower" "$(t upper6)" "$(t upper)" 1.2 "$(rss upper6)"
row "--upper-only 6x / bare upper+work 6x" "$(t upper6)" "$(t bare_uw6)" - "$(rss upper6)"
if [ "$RUNS_COLD" -gt 0 ]; then
	row "cold: full -n / bare walk of all layers" "$(t c_full)" "$(t c_bare_all)" 1.0 "?"
	row "  -j 1" "$(t c_full_j1)" "$(t c_bare_all)" - "?"
	[ -n "$PEER" ] && row "cold: the peer / bare walk of all layers" "$(t c_peer)" "$(t c_bare_all)" - "?"
	row "cold: --upper-only / bare upper+work" "$(t c_upper)" "$(t c_bare_uw)" 1.0 "?"
	row "  -j 1" "$(t c_upper_j1)" "$(t c_bare_uw)" - "?"
	row "  --upper-only's own floor / bare walk" "$(t c_floor_uw)" "$(t c_bare_uw)" - "?"
fi
if [ -n "${BENCH_2M:-}" ]; then
	row "10x files: full -n / 1x full -n" "$(t full_2m)" "$(t full)" 11 "$(rss full_2m)"
	row "10x files: full -n / bare walk 10x" "$(t full_2m)" "$(t bare_2m)" 0.8 "$(rss full_2m)"
	awk -v r="$(rss full_2m)" 'BEGIN { if (r != "?" && r > 64) print "max RSS at 10x: " r " MiB: over 64 MiB" }'
fi

# overlay-browse --write: a key's latency (its own stack: it writes)
if [ -x "${EDITLAT:-./bench/editlat}" ]; then
	echo
	sh "$here/edit.sh" "$DIR"
fi
