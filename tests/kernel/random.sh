#!/bin/sh
# The randomized differential tester (issue 11, "the kernel is the
# judge"): seeded random operations on mounted overlays in every feature
# configuration; fsck.overlay -n must exit 0 on what the kernel made, and
# -y/-p must not change what the merged view shows.  The driver is
# tests/kernel/random.py (python3, stdlib only); see tests/kernel/README.
#
#   SEEDS=N   sequences per configuration (default 10)
#   SEED=S    first seed (default 1)      OPS=N  ops per sequence (40)
#   CONFIG=a,b  only these configurations (names: random.py's CONFIGS)
#   KEEP=1    keep every sequence dir (failed ones are always kept)
#   RT_RESULTS=FILE  one JSON line per failure, for sorting into classes
# Needs root, overlayfs, python3, perl (the reproducers' rename); else
# the suite is skipped.

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
export LC_ALL=C

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip_all "needs root to mount overlays"
grep -qw overlay /proc/filesystems 2>/dev/null || modprobe overlay 2>/dev/null
grep -qw overlay /proc/filesystems 2>/dev/null ||
	skip_all "no overlay filesystem in this kernel"
if [ -z "${FSCK:-}" ] || [ ! -x "$FSCK" ]; then
	skip_all "FSCK not set to an executable fsck.overlay"
fi
command -v python3 >/dev/null || skip_all "python3 missing"

# The layer paths must be free of blanks and ',' ':' (mount options).
RT_DIR=${RT_DIR:-${top_builddir:-.}}
case $(cd "$RT_DIR" && pwd) in
*[[:space:],:]*)	RT_DIR=/var/tmp ;;
esac
export RT_DIR FSCK
# Its mounts in a mount namespace of its own: a container that another
# suite starts meanwhile (make check -j) clones the namespace it starts
# in, and a copy of a stage's overlay there would keep its upper dir in
# use after our umount (EBUSY when the next stage mounts it as a lower
# with index=on).
if [ -z "${RT_UNSHARED:-}" ] && command -v unshare >/dev/null &&
   unshare -m --propagation private true 2>/dev/null; then
	export RT_UNSHARED=1
	exec unshare -m --propagation private python3 "$top_srcdir/tests/kernel/random.py"
fi
exec python3 "$top_srcdir/tests/kernel/random.py"
