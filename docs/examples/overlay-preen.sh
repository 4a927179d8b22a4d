#!/bin/sh
# Check the overlays of the fstab before mounting them, as a boot script
# (sysvinit rc script or initramfs hook) would. fsck(8) exit codes:
#   0      clean                         -> mount
#   1      problems fixed by -p          -> mount, log what was fixed
#   4      problems -p may not fix alone -> do not mount; a person runs
#                                             fsck.overlay (asking, or -y)
#   8, 16  could not check (missing layer, bad options) -> do not mount
#   32     interrupted                   -> do not mount
# Bits may be or-ed (-A over several stacks), so test bits, not values.
#
#   overlay-preen.sh [MOUNTPOINT...]   default: every overlay of the fstab
#                                      with a pass number
# FSTAB (default /etc/fstab) and FSCK (default fsck.overlay) may be set.
FSTAB=${FSTAB:-/etc/fstab}
FSCK=${FSCK:-fsck.overlay}
status=0

check_and_mount() {
	mp=$1
	"$FSCK" -p --fstab "$FSTAB" "$mp"
	rc=$?
	if [ $((rc & ~1)) -ne 0 ]; then
		echo "overlay-preen: $mp: fsck.overlay exit $rc: not mounted;" \
		     "run fsck.overlay --fstab $FSTAB $mp by hand" >&2
		status=1
		return
	fi
	[ $((rc & 1)) -ne 0 ] && echo "overlay-preen: $mp: problems fixed" >&2
	mount --fstab "$FSTAB" "$mp" || status=1
}

if [ $# -gt 0 ]; then
	for mp; do
		check_and_mount "$mp"
	done
	exit $status
fi
# the overlays with a pass number, in pass order (as fsck -A); the fstab
# writes a space in a mount point as \040, which printf %b undoes
awk '$1 !~ /^#/ && $3 == "overlay" && $6 > 0 { print $6, $2 }' "$FSTAB" |
	sort -n -s -k1,1 | cut -d' ' -f2- > "${TMPDIR:-/tmp}/overlay-preen.$$"
while IFS= read -r mp; do
	check_and_mount "$(printf '%b' "$mp")" < /dev/null
done < "${TMPDIR:-/tmp}/overlay-preen.$$"
rm -f "${TMPDIR:-/tmp}/overlay-preen.$$"
exit $status
