#!/bin/sh
# Time fsck.overlay -n against the bare walk (bench/barewalk) on the stacks
# bench/gen.sh makes, and print the ratios against the targets:
#
#   full check                 <= 1.5 x bare walk of all layers
#   --upper-only               <= 1.5 x bare walk of upper + work
#   --upper-only, lower 6x     <= 1.2 x --upper-only on the 1x lower
#   overlay-browse --write key < 0.2 s (bench/edit.sh, when bench/editlat is built)
#
# Warm cache, median of 3 runs after one warm-up (hyperfine when installed,
# else a date +%s.%N loop); max RSS from /usr/bin/time -v.
#
#   bench/run.sh [DIR]          (or: make bench, from the build dir)
#
# Environment: BENCH_DIR (default /var/tmp/overlay-fsck-bench), BENCH_N
# (files, default 200000; used when DIR has no stacks yet: gen.sh runs),
# FSCK, BAREWALK (default ./fsck.overlay, ./bench/barewalk), RUNS (3),
# NO_HYPERFINE=1 (time with the date loop even when hyperfine is there).
set -u

here=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-${BENCH_DIR:-/var/tmp/overlay-fsck-bench}}
FSCK=${FSCK:-./fsck.overlay}
BAREWALK=${BAREWALK:-./bench/barewalk}
RUNS=${RUNS:-3}

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
		i=0
		: >"$T/$key.all"
		while [ $i -lt "$RUNS" ]; do
			t0=$(date +%s.%N)
			"$@" >/dev/null 2>&1
			t1=$(date +%s.%N)
			awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >>"$T/$key.all"
			i=$((i + 1))
		done
		sort -g "$T/$key.all" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }' \
			>"$T/$key.time"
	fi
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -v "$@" 2>&1 >/dev/null |
			sed -n 's/.*Maximum resident set size (kbytes): *//p' >"$T/$key.rss"
	else
		echo "?" >"$T/$key.rss"
	fi
	printf '  %-9s %8.3fs  %s\n' "$key" "$(cat "$T/$key.time")" "$*"
}

echo "timing ($RUNS runs each, warm cache) in $DIR:"
median bare_all   "$BAREWALK" "$S1/upper" "$S1/work" "$S1/lower"
median full       "$FSCK" -n -o "$stack1"
median bare_uw    "$BAREWALK" "$S1/upper" "$S1/work"
median upper      "$FSCK" -n --upper-only -o "$stack1"
median bare_uw6   "$BAREWALK" "$S6/upper" "$S6/work"
median upper6     "$FSCK" -n --upper-only -o "$stack6"

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
row "full -n / bare walk of all layers" "$(t full)" "$(t bare_all)" 1.5 "$(rss full)"
row "--upper-only / bare walk upper+work" "$(t upper)" "$(t bare_uw)" 1.5 "$(rss upper)"
row "--upper-only 6x lower / 1x lower" "$(t upper6)" "$(t upper)" 1.2 "$(rss upper6)"
row "--upper-only 6x / bare upper+work 6x" "$(t upper6)" "$(t bare_uw6)" - "$(rss upper6)"

# overlay-browse --write: a key's latency (its own stack: it writes)
if [ -x "${EDITLAT:-./bench/editlat}" ]; then
	echo
	sh "$here/edit.sh" "$DIR"
fi
