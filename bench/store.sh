#!/bin/sh
# A container store of many stacks sharing their lower layers, and the
# time fsck.overlay --store -n takes on it against
#   - the bare walk of every layer dir once (bench/barewalk): the target
#     is <= 1.5x, i.e. each shared layer is walked once, not once per stack;
#   - N x one container checked alone as a full stack (-n -o ...): what
#     checking each stack separately would cost;
#   - itself with -j 1, -j 2 and -j (all CPUs): the units side by side,
#     and -p -j (all) against -n -j (all) (nothing to fix: the leave to
#     write costs nothing). The outputs of every -j must be the same.
#
#   bench/store.sh [DIR [CONTAINERS [FILES]]]     (as root; from the build dir)
#
# DIR (default /var/tmp/overlay-fsck-store-bench) gets a containers-storage
# store: one image of 3 layers of FILES/3 files each (default FILES
# 60000), CONTAINERS (default 200) containers with a small rw layer each
# (10 files, a whiteout, an opaque dir). Made once; delete DIR to remake.
# Warm cache, median of RUNS (3) runs (the -j cases taken in turns).
# FSCK, BAREWALK as for bench/run.sh.
set -u

DIR=${1:-/var/tmp/overlay-fsck-store-bench}
N=${2:-200}
FILES=${3:-60000}
FSCK=${FSCK:-./fsck.overlay}
BAREWALK=${BAREWALK:-./bench/barewalk}
RUNS=${RUNS:-3}

for p in "$FSCK" "$BAREWALK"; do
	[ -x "$p" ] || { echo "$0: $p not built (make fsck.overlay bench/barewalk)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "$0: needs root (whiteouts, trusted.* xattrs)" >&2; exit 1; }

hex64() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }
short() { od -An -N16 -tu1 /dev/urandom | tr -s ' ' '\n' | sed '/^$/d' |
	  awk '{ printf "%c", substr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", $1 % 32 + 1, 1) }
	       END { }' | cut -c1-26; }

# layer ID PARENT-SHORTS: the dir, its link, l/ link and lower file
layer() {
	_d=$DIR/overlay/$1
	mkdir -p "$_d/diff" "$_d/work"
	_s=$(short)
	printf '%s' "$_s" > "$_d/link"
	ln -s "../$1/diff" "$DIR/overlay/l/$_s"
	[ -n "$2" ] && printf '%s' "$2" > "$_d/lower"
	echo "$_s"
}

make_store() {
	rm -rf "$DIR"
	mkdir -p "$DIR/overlay/l" "$DIR/overlay-layers" "$DIR/overlay-images" \
		"$DIR/overlay-containers"
	per=$((FILES / 3))
	lowers= lj= par=
	for k in 1 2 3; do
		id=$(hex64)
		s=$(layer "$id" "$lowers")
		# FILES/3 files in dirs of 100
		(cd "$DIR/overlay/$id/diff" &&
			seq 1 "$per" | awk -v k="$k" '{ d = int($1 / 100); print "d" k "_" d "/f" $1 }' |
			sed 's|/[^/]*$||' | sort -u | xargs mkdir -p &&
			seq 1 "$per" | awk -v k="$k" '{ d = int($1 / 100); print "d" k "_" d "/f" $1 }' |
			xargs touch)
		lj="${lj:+$lj,}{\"id\":\"$id\"${par:+,\"parent\":\"$par\"},\"created\":\"2026-01-01T00:00:00Z\"}"
		par=$id
		lowers="l/$s${lowers:+:$lowers}"
	done
	top=$par
	iid=$(hex64)
	printf '[{"id":"%s","names":["localhost/bench:1"],"layer":"%s"}]' "$iid" "$top" \
		> "$DIR/overlay-images/images.json"
	cj=
	i=0
	while [ $i -lt "$N" ]; do
		rw=$(hex64)
		cid=$(hex64)
		layer "$rw" "$lowers" > /dev/null
		u=$DIR/overlay/$rw/diff
		mkdir -p "$u/app" "$u/d1_0"
		for f in 1 2 3 4 5 6 7 8 9 10; do echo "$i" > "$u/app/f$f"; done
		mknod "$u/d1_0/f1" c 0 0			# a whiteout
		mkdir "$u/d2_1" && setfattr -n trusted.overlay.opaque -v y "$u/d2_1"
		setfattr -n trusted.overlay.impure -v y "$u"	# it holds merge dirs
		lj="$lj,{\"id\":\"$rw\",\"parent\":\"$top\"}"
		cj="${cj:+$cj,}{\"id\":\"$cid\",\"names\":[\"c$i\"],\"image\":\"$iid\",\"layer\":\"$rw\"}"
		i=$((i + 1))
	done
	printf '[%s]' "$lj" > "$DIR/overlay-layers/layers.json"
	printf '[%s]' "$cj" > "$DIR/overlay-containers/containers.json"
	echo "$lowers" > "$DIR.lowers"
}

if [ ! -f "$DIR/overlay-containers/containers.json" ]; then
	echo "making $DIR: $N containers over 3 layers of $((FILES / 3)) files"
	make_store || exit 1
fi

# median of RUNS timings of a command (its output dropped)
median() {
	_i=0
	: > "$DIR.times"
	"$@" > /dev/null 2>&1	# warm-up
	while [ $_i -lt "$RUNS" ]; do
		_s=$(date +%s.%N)
		"$@" > /dev/null 2>&1
		_e=$(date +%s.%N)
		echo "$_e - $_s" | bc >> "$DIR.times"
		_i=$((_i + 1))
	done
	sort -n "$DIR.times" | sed -n "$(((RUNS + 1) / 2))p"
}

ncpu=$(nproc)
store=$(median "$FSCK" --store "$DIR" -n)
# the -j cases in turns, RUNS rounds: load that drifts meanwhile (a
# shared machine) falls on all of them alike
: > "$DIR.jtimes"
"$FSCK" --store "$DIR" -n -j 1 > /dev/null 2>&1	# warm-up
_r=0
while [ $_r -lt "$RUNS" ]; do
	for c in "n1 -n -j 1" "n2 -n -j 2" "nN -n -j $ncpu" "pN -p -j $ncpu"; do
		set -- $c
		_k=$1
		shift
		_s=$(date +%s.%N)
		"$FSCK" --store "$DIR" "$@" > /dev/null 2>&1
		_e=$(date +%s.%N)
		echo "$_k $(echo "$_e - $_s" | bc)" >> "$DIR.jtimes"
	done
	_r=$((_r + 1))
done
jmedian() {
	awk -v k="$1" '$1 == k { print $2 }' "$DIR.jtimes" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}
store1=$(jmedian n1)
store2=$(jmedian n2)
storeN=$(jmedian nN)
preenN=$(jmedian pN)
same=yes
for j in 1 2 "$ncpu"; do
	"$FSCK" --store "$DIR" -n -j "$j" > "$DIR.out.$j" 2>&1
	cmp -s "$DIR.out.1" "$DIR.out.$j" || same=NO
done
bare=$(median "$BAREWALK" "$DIR"/overlay/*/diff "$DIR"/overlay/*/work)
# one container alone, as a full stack, as the engine mounts it
rw=$(sed -n 's/.*"layer":"\([0-9a-f]*\)".*/\1/p' "$DIR/overlay-containers/containers.json" |
     head -n 1)
lowerdirs=$(sed "s|l/|$DIR/overlay/l/|g" "$DIR.lowers")
one=$(median "$FSCK" -n -o "lowerdir=$lowerdirs,upperdir=$DIR/overlay/$rw/diff,workdir=$DIR/overlay/$rw/work")
naive=$(echo "$one * $N" | bc)
rc=0
"$FSCK" --store "$DIR" -n > "$DIR.out" 2>&1 || rc=$?
units=$(grep -c '^layer \|^container ' "$DIR.out")

# row CASE TIME BASE TARGET
row() {
	printf '%-46s %8.3f %8.3f %7.2f %s\n' "$1" "$2" "$3" "$(echo "$2 / $3" | bc -l)" "$4"
}

printf '%-46s %8s %8s %7s %s\n' case "time(s)" "base(s)" ratio target
row "--store -n / bare walk of every layer once" "$store" "$bare" "<=1.5"
row "--store -n / $N x one container's full check" "$store" "$naive" info
row "--store -n -j 1 / bare walk" "$store1" "$bare" info
row "--store -n -j 2 / -j 1" "$store2" "$store1" info
row "--store -n -j $ncpu (all CPUs) / -j 1" "$storeN" "$store1" info
row "--store -p -j $ncpu / -n -j $ncpu (nothing to fix)" "$preenN" "$storeN" info
echo "the output of -n -j 1, 2 and $ncpu the same: $same"
echo "exit $rc, $units units checked ($N containers + 3 layers), $(grep -c . "$DIR.out") lines"
