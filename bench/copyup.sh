#!/bin/sh
# Throughput of fsck.overlay --copy-up -y against cp --sparse=always of
# the same files on the same filesystem, and the cost per file of a
# FICLONE copy-up on a reflink-capable XFS image:
#
#   (a) 2,000 files of 4 KiB - 1 MiB        target: >= 0.9 x cp
#   (b) one 2 GiB sparse-ish file (1 MiB data, 1 MiB hole, ...)
#                                           target: >= 0.9 x cp
#   (c) XFS, reflink=1: 4 files of 1 MiB vs 4 files of 256 MiB: the time
#       per file should not grow with the size (ratio ~1)
#
# Each timed run gets a fresh stack: the kernel copies up the metadata of
# every lower file (chown -R through the merged dir, metacopy=on), then
# one run is timed; medians of RUNS (3).  Warm cache: the lower data is
# read from memory by both; both write and sync their data (fsck.overlay
# fdatasyncs each file itself, cp is followed by sync --data on each
# copy).  When FICLONE works on DIR (cp --reflink=always succeeds),
# (a) and (b) are run with OVL_COPYUP_FORCE=cfr and cp --reflink=never,
# so that neither side just clones.
#
#   bench/copyup.sh [DIR]       as root, from the build dir
#
# Environment: FSCK (default ./fsck.overlay), RUNS (3), BENCH_CLEAN=1
# (remove DIR at the end; else the lowers of (a) and (b) are kept for the
# next run).  Needs mkfs.xfs and a loop device for (c), else (c) is
# skipped.  Not run by make check.
set -u

DIR=${1:-/var/tmp/overlay-fsck-bench-copyup}
FSCK=${FSCK:-./fsck.overlay}
RUNS=${RUNS:-3}
MOPTS=metacopy=on,redirect_dir=on,index=on

[ "$(id -u)" -eq 0 ] || { echo "$0: needs root (mounts overlays)" >&2; exit 1; }
[ -x "$FSCK" ] || { echo "$0: $FSCK not built (make fsck.overlay)" >&2; exit 1; }
FSCK=$(cd "$(dirname "$FSCK")" && pwd)/$(basename "$FSCK")
mkdir -p "$DIR" || exit 1
DIR=$(cd "$DIR" && pwd)
LOOP=

cleanup() {
	for m in "$DIR/a/mnt" "$DIR/b/mnt" "$DIR/x/s1/mnt" "$DIR/x/s256/mnt" "$DIR/x"; do
		mountpoint -q "$m" 2>/dev/null && umount "$m"
	done
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	rm -f "$DIR/x.img"
	rm -rf "$DIR/a/upper" "$DIR/a/work" "$DIR/a/cp" "$DIR/b/upper" "$DIR/b/work" "$DIR/b/cp"
	[ -n "${BENCH_CLEAN:-}" ] && rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.6f\n", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# rebuild S: a fresh upper and work dir over S/lower; the kernel copies up
# the metadata of every file.
rebuild() {
	rm -rf "$1/upper" "$1/work"
	mkdir -p "$1/upper" "$1/work" "$1/mnt"
	mount -t overlay overlay -o "lowerdir=$1/lower,upperdir=$1/upper,workdir=$1/work,$MOPTS" \
		"$1/mnt" || exit 1
	chown -R 1:1 "$1/mnt"
	umount "$1/mnt"
	sync
}

# time_copyup S: one --copy-up -y on a fresh stack; prints the seconds.
time_copyup() {
	rebuild "$1"
	t0=$(now)
	rc=0
	"$FSCK" --copy-up -y -o "lowerdir=$1/lower,upperdir=$1/upper,workdir=$1/work,$MOPTS" \
		> "$1/fsck.out" 2>&1 || rc=$?
	t=$(since "$t0")
	if [ "$rc" -ne 1 ] || ! grep -q '^\([0-9]*\) of \1 files\? copied up' "$1/fsck.out"; then
		echo "$0: --copy-up -y exit $rc:" >&2
		tail -5 "$1/fsck.out" >&2
		exit 1
	fi
	echo "$t"
}

# time_cp S: cp --sparse=always of S/lower into S/cp, each copy synced.
time_cp() {
	rm -rf "$1/cp"
	mkdir -p "$1/cp"
	sync
	t0=$(now)
	cp -r --sparse=always --reflink=never "$1/lower/." "$1/cp/" &&
		find "$1/cp" -type f -print0 | xargs -0 sync --data
	since "$t0"
}

# bench_pair NAME S BYTES: medians of both, MB/s and the ratio.
bench_pair() {
	name=$1 s=$2 bytes=$3
	: > "$s/t.fsck"
	: > "$s/t.cp"
	i=0
	while [ $i -lt "$RUNS" ]; do
		time_copyup "$s" >> "$s/t.fsck" || exit 1
		time_cp "$s" >> "$s/t.cp"
		i=$((i + 1))
	done
	rm -rf "$s/cp"
	tf=$(median < "$s/t.fsck")
	tc=$(median < "$s/t.cp")
	awk -v n="$name" -v b="$bytes" -v f="$tf" -v c="$tc" -v rf="$(tr '\n' ' ' < "$s/t.fsck")" \
	    -v rc="$(tr '\n' ' ' < "$s/t.cp")" 'BEGIN {
		r = c / f
		printf "%-34s %8.3fs %8.1f MB/s   cp %8.3fs %8.1f MB/s   ratio %.2f (target >= 0.90) %s\n",
			n, f, b / f / 1e6, c, b / c / 1e6, r, (r >= 0.9) ? "ok" : "SLOW"
		printf "%-34s runs: fsck %s/ cp %s\n", "", rf, rc
	}'
}

# ---- the lowers of (a) and (b), made once ----

gen_a() {
	[ -f "$DIR/a/.done" ] && return
	rm -rf "$DIR/a"
	mkdir -p "$DIR/a/lower"
	echo "making (a): 2000 files of 4 KiB - 1 MiB ..."
	# random sizes (fixed seed) and random-looking data (a 1 MiB block of
	# /dev/urandom, rotated per file so no two files are alike)
	perl -e '
		my $dir = shift;
		open(my $r, "<", "/dev/urandom") or die;
		read($r, my $blk, 2 << 20) == 2 << 20 or die;
		srand(42);
		for my $i (0 .. 1999) {
			my $d = sprintf("%s/d%02d", $dir, $i / 100);
			mkdir $d;
			my $size = 4096 + int(rand(1048576 - 4096 + 1));
			my $off = int(rand(1 << 20));
			open(my $f, ">", sprintf("%s/f%04d", $d, $i)) or die;
			print $f substr($blk, $off, $size);
			close($f) or die;
		}
	' "$DIR/a/lower" || exit 1
	sync
	touch "$DIR/a/.done"
}

gen_b() {
	[ -f "$DIR/b/.done" ] && return
	rm -rf "$DIR/b"
	mkdir -p "$DIR/b/lower"
	echo "making (b): a 2 GiB file, 1 MiB data / 1 MiB hole ..."
	perl -e '
		my $p = shift;
		open(my $r, "<", "/dev/urandom") or die;
		read($r, my $blk, 2 << 20) == 2 << 20 or die;
		open(my $f, ">", $p) or die;
		for (my $i = 0; $i < 1024; $i++) {
			sysseek($f, $i * (2 << 20), 0) or die;
			my $o = ($i * 7919) % (1 << 20);
			syswrite($f, substr($blk, $o, 1 << 20)) == 1 << 20 or die;
		}
		truncate($f, 2 << 30) or die;
		close($f) or die;
	' "$DIR/b/lower/big" || exit 1
	sync
	touch "$DIR/b/.done"
}

gen_a
gen_b
bytes_a=$(find "$DIR/a/lower" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
bytes_b=$(stat -c %s "$DIR/b/lower/big")

# FICLONE on DIR: then neither side may just clone.
unset OVL_COPYUP_FORCE
echo x > "$DIR/.probe"
if cp --reflink=always "$DIR/.probe" "$DIR/.probe2" 2>/dev/null; then
	export OVL_COPYUP_FORCE=cfr
	echo "FICLONE works on $DIR: (a) and (b) with OVL_COPYUP_FORCE=cfr"
fi
rm -f "$DIR/.probe" "$DIR/.probe2"

echo
echo "fsck.overlay --copy-up -y vs cp --sparse=always (+ sync --data), $RUNS runs, medians, $DIR ($(df -T "$DIR" | awk 'NR == 2 { print $2 }'))"
bench_pair "(a) 2000 files, $((bytes_a / 1048576)) MiB" "$DIR/a" "$bytes_a"
bench_pair "(b) 2 GiB sparse file (1 GiB data)" "$DIR/b" "$bytes_b"
echo "    MB/s: apparent bytes (holes included) per second, the same for both"
unset OVL_COPYUP_FORCE

# ---- (c) FICLONE on XFS: time per file, 1 MiB vs 256 MiB ----

echo
if ! command -v mkfs.xfs > /dev/null; then
	echo "(c) skipped: no mkfs.xfs"
	exit 0
fi
truncate -s 3G "$DIR/x.img" && mkfs.xfs -q -f -m reflink=1 "$DIR/x.img" > /dev/null 2>&1 &&
	LOOP=$(losetup -f --show "$DIR/x.img" 2>/dev/null) && mkdir -p "$DIR/x" &&
	mount "$LOOP" "$DIR/x" || { echo "(c) skipped: no XFS loop image"; exit 0; }
echo "making (c): 4 x 1 MiB and 4 x 256 MiB on XFS (reflink=1) ..."
mkdir -p "$DIR/x/s1/lower" "$DIR/x/s256/lower"
head -c 256M /dev/urandom > "$DIR/x/chunk"
for i in 1 2 3 4; do
	head -c 1M "$DIR/x/chunk" > "$DIR/x/s1/lower/f$i"
	cp --reflink=never "$DIR/x/chunk" "$DIR/x/s256/lower/f$i"
done
rm "$DIR/x/chunk"
sync
for s in s1 s256; do
	: > "$DIR/x/t.$s"
	i=0
	while [ $i -lt "$RUNS" ]; do
		time_copyup "$DIR/x/$s" >> "$DIR/x/t.$s" || exit 1
		i=$((i + 1))
	done
done
shared=no
filefrag -v "$DIR/x/s256/upper/f1" 2>/dev/null | grep -q shared && shared=yes
t1=$(median < "$DIR/x/t.s1")
t256=$(median < "$DIR/x/t.s256")
awk -v a="$t1" -v b="$t256" -v sh="$shared" -v r1="$(tr '\n' ' ' < "$DIR/x/t.s1")" \
    -v r2="$(tr '\n' ' ' < "$DIR/x/t.s256")" 'BEGIN {
	printf "(c) XFS FICLONE, 4 files per run (run time incl. the check walk):\n"
	printf "    1 MiB files   %8.2f ms/file   runs %s\n", a / 4 * 1000, r1
	printf "    256 MiB files %8.2f ms/file   runs %s\n", b / 4 * 1000, r2
	printf "    ratio 256 MiB / 1 MiB: %.2f (target: ~1, not 256); upper f1 shares extents: %s\n", b / a, sh
}'
