#!/bin/sh
# Does overlay-browse open a dir of 100k entries in well under a second?
# A lower dir of N files, the upper re-owning every tenth one (metacopy
# with origin, as a container runtime's chown leaves it) and deleting
# every hundredth. Times `overlay-browse --ls /big` (the listing the
# screen draws from) with a warm cache, median of 3.
#
#   bench/browse.sh [DIR] [N]      from the build dir, as root
# Target: < 1 s for N = 100000 (see README.md).
set -eu
DIR=${1:-/var/tmp/overlay-browse-bench}
N=${2:-100000}
BROWSE=${BROWSE:-./overlay-browse}
OPTS="lowerdir=$DIR/l,upperdir=$DIR/u,workdir=$DIR/w,metacopy=on,index=on,redirect_dir=on"

if [ ! -f "$DIR/.done.$N" ]; then
	rm -rf "$DIR"
	mkdir -p "$DIR/l/big" "$DIR/u" "$DIR/w" "$DIR/m"
	( cd "$DIR/l/big" && seq -f 'f%06g' 1 "$N" | xargs touch )
	mount -t overlay overlay -o "$OPTS" "$DIR/m"
	( cd "$DIR/m/big" && seq -f 'f%06g' 1 10 "$N" | xargs chown 5 &&
	  seq -f 'f%06g' 3 100 "$N" | xargs rm -f )
	umount "$DIR/m"
	touch "$DIR/.done.$N"
fi
"$BROWSE" --ls /big -o "$OPTS" > /dev/null	# warm the cache
times=
for i in 1 2 3; do
	t0=$(date +%s.%N)
	"$BROWSE" --ls /big -o "$OPTS" > /dev/null
	t1=$(date +%s.%N)
	times="$times $(echo "$t1 - $t0" | bc)"
done
med=$(printf '%s\n' $times | sort -n | sed -n 2p)
echo "overlay-browse --ls of $N entries: median $med s (runs:$times)"
