# Scenarios that need a filesystem property: XFS file handles (fid type
# 0x81, a real uuid) on a loop image.

# loop_done DIR: unmounts the image on DIR and detaches its loop device.
loop_done() {
	_dev=$(awk -v m="$1" '$2 == m { print $1 }' /proc/mounts)
	umount "$1" 2>/dev/null
	[ -n "$_dev" ] && losetup -d "$_dev" 2>/dev/null
	return 0
}

# Every layer on one XFS image, metacopy + redirect + index.
scenario clean_xfs
sc_clean_xfs() {
	stack_new clean_xfs
	if ! loop_fs xfs "$S/fs"; then
		skip "$SC: fsck -n exits 0 on the clean stack" "no mkfs.xfs or loop device"
		return
	fi
	L1=$S/fs/l1 U=$S/fs/u W=$S/fs/w
	mkdir -p "$L1" "$U" "$W"
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/d/sub $L1/h
		echo s > $L1/d/sub/s; echo f > $L1/f; echo r > $L1/r
		echo a > $L1/h/a; ln $L1/h/a $L1/h/b
		ovl_mount "$OPTS"
		chown 3 $M/f; mv $M/d $M/d2; ln $M/h/a $M/h/c; rm $M/r
		ovl_umount
		test -n "$(ls $W/index)"
	' || { loop_done "$S/fs"; return; }
	expect_clean "$SC"
	loop_done "$S/fs"
}

# The lower layer lived on an XFS image; it was copied (cp -a) to /work
# and the image dropped: every origin names a filesystem uuid that no
# layer has.  Without index the kernel mounts and ignores the origins.
scenario or_uuid_unknown
sc_or_uuid_unknown() {
	stack_new or_uuid_unknown
	if ! loop_fs xfs "$S/fs"; then
		skip "$SC: fsck -n reports OR_UUID_UNKNOWN" "no mkfs.xfs or loop device"
		return
	fi
	OPTS="lowerdir=$S/fs/l,upperdir=$U,workdir=$W,$MC"
	setup '
		mkdir -p $S/fs/l/d
		echo f > $S/fs/l/f; echo g > $S/fs/l/d/g
		ovl_mount "$OPTS"
		chown 4 $M/f; mv $M/d $M/d2
		ovl_umount
		rmdir $L1; cp -a $S/fs/l $L1
	' || { loop_done "$S/fs"; return; }
	loop_done "$S/fs"
	OPTS=$(std_opts "$MC")
	expect_problem "$SC" OR_UUID_UNKNOWN upper:/f
	expect_kernel "$SC: kernel: mounts, origins ignored, data found by path" '
		test "$(cat $M/f)" = f
		test "$(stat -c %u $M/f)" = 4
		test "$(ls $M/d2)" = g
	'
}
