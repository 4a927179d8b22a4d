#!/bin/sh
# fsck.overlay --store --verify-content on a store podman made, against
#   - sha256sum of the same bytes (the layers' tars), one core each: the
#     target is >= 0.9x sha256sum's throughput with -j 1;
#   - the whole store with the default -j, against the sum of its layer
#     sizes (the tars as recorded): what it reads per second.
#
#   bench/content.sh [DIR [MIB [LAYERS]]]     (as root; from the build dir)
#
# DIR (default /var/tmp/overlay-fsck-content-bench) gets a private podman
# root with LAYERS (default 4) images imported offline, each one layer of
# MIB (default 256) MiB: a few large random files and 2000 small ones.
# Made once; delete DIR to remake. Warm cache, median of RUNS (3) runs.
# FSCK as for bench/run.sh; podman is run as tests/kernel/engine.sh runs
# it (private root, run root and storage.conf).
set -u

DIR=${1:-/var/tmp/overlay-fsck-content-bench}
MIB=${2:-256}
LAYERS=${3:-4}
FSCK=${FSCK:-./fsck.overlay}
RUNS=${RUNS:-3}

[ -x "$FSCK" ] || { echo "$0: $FSCK not built" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "$0: needs root (podman's private store)" >&2; exit 1; }
command -v podman >/dev/null || { echo "$0: needs podman" >&2; exit 1; }

ROOT=$DIR/store
RUN=$(mktemp -d /tmp/ovl-bench.XXXXXX)
mkdir -p "$RUN/tmp" "$RUN/run"
printf '[storage]\ndriver = "overlay"\nrunroot = "%s"\ngraphroot = "%s"\n' \
	"$RUN/run" "$ROOT" > "$RUN/storage.conf"
PODMAN="env CONTAINERS_STORAGE_CONF=$RUN/storage.conf podman --root $ROOT
	--runroot $RUN/run --tmpdir $RUN/tmp --storage-driver overlay
	--cgroup-manager cgroupfs --events-backend file"
cleanup() {
	mountpoint -q "$ROOT/overlay" && umount "$ROOT/overlay"
	rm -rf "$RUN"
}
trap cleanup EXIT

if [ ! -d "$DIR/tars" ]; then
	mkdir -p "$DIR/tars"
	for i in $(seq 1 "$LAYERS"); do
		r=$DIR/rootfs$i
		mkdir -p "$r/big" "$r/small"
		for f in 1 2 3 4; do
			head -c $((MIB * 1024 * 1024 / 5)) /dev/urandom > "$r/big/f$f"
		done
		# the fifth part in 2000 small files (headers, opens, short reads)
		for f in $(seq 1 2000); do
			head -c $((MIB * 1024 * 1024 / 5 / 2000)) /dev/urandom > "$r/small/s$f"
		done
		tar -C "$r" -cf "$DIR/tars/layer$i.tar" .
		rm -rf "$r"
		$PODMAN import "$DIR/tars/layer$i.tar" "bench$i:1" > /dev/null ||
			{ echo "$0: podman import failed" >&2; exit 1; }
	done
fi
mountpoint -q "$ROOT/overlay" && umount "$ROOT/overlay"

# median TIMES...
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
# timed CMD...: seconds of the median of RUNS runs (after one warm-up)
timed() {
	"$@" > /dev/null 2>&1
	_t=
	for _r in $(seq 1 "$RUNS"); do
		_s=$(date +%s.%N)
		"$@" > /dev/null 2>&1
		_e=$(date +%s.%N)
		_t="$_t $(echo "$_e - $_s" | bc -l)"
	done
	median $_t
}

bytes=$(cat "$DIR"/tars/*.tar | wc -c)
t_sha=$(timed sh -c "sha256sum $DIR/tars/*.tar")
t_one=$(timed "$FSCK" -n --verify-content -j 1 --store "$ROOT")
t_all=$(timed "$FSCK" -n --verify-content --store "$ROOT")
t_meta=$(timed "$FSCK" -n --store "$ROOT")
"$FSCK" -n --verify-content --store "$ROOT" > "$RUN/out" 2>&1
rc=$?
mbs() { echo "$bytes / 1048576 / $1" | bc -l | xargs printf '%.0f'; }

echo "store: $LAYERS layers, $(echo "$bytes / 1048576" | bc) MiB of tar; $(nproc) CPUs; exit $rc"
printf 'sha256sum of the tars:           %6.2f s  %5s MiB/s\n' "$t_sha" "$(mbs "$t_sha")"
printf 'without --verify-content:        %6.2f s  (the store and its units alone)\n' "$t_meta"
printf -- '--verify-content -j 1:           %6.2f s  %5s MiB/s\n' "$t_one" "$(mbs "$t_one")"
printf -- '--verify-content -j %s:           %6.2f s  %5s MiB/s\n' "$(nproc)" "$t_all" "$(mbs "$t_all")"
printf 'ratio -j 1 / sha256sum (target >= 0.9): %.2f\n' "$(echo "$t_sha / $t_one" | bc -l)"
printf 'ratio -j %s / sha256sum:                 %.2f\n' "$(nproc)" "$(echo "$t_sha / $t_all" | bc -l)"
