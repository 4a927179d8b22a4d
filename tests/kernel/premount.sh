# Will it mount? Stacks the kernel refuses, or mounts degraded, for how
# their layers lie (not for what is in them). Each scenario asserts the
# STK_ code fsck.overlay -n prints before any walk AND the kernel's real
# reaction: the mount refused with that errno, or the fallback seen
# through the mount (its options in /proc/self/mountinfo, readdir, an
# errno). Every mount made here lies below $KT_ROOT: kt_cleanup unmounts
# it and detaches the loop devices on any way out.

# pm_superopts MOUNTPOINT: the super options mountinfo shows for it.
pm_superopts() {
	awk -v m="$1" '$5 == m { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 3); exit } }' \
		/proc/self/mountinfo
}

# pm_expect_line NAME WHAT: fsck's last output holds a line matching the
# extended regex WHAT.
pm_expect_line() {
	if grep -Eq -- "$2" "$S/fsck.out"; then
		ok "$1: fsck.overlay says $2"
	else
		not_ok "$1: fsck.overlay says $2"
		kt_show_fsck
	fi
}

# Upper and work on two mounts: another filesystem, and a bind mount of
# the upper's own filesystem (same st_dev, another mount).
scenario pm_work_other_mount
sc_pm_work_other_mount() {
	stack_new pm_work_other_mount
	setup '
		echo f > $L1/f
		mkdir -p $S/t $S/b
		mount -t tmpfs pm-tmpfs $S/t; mkdir $S/t/w
		mount --bind $S $S/b
	' || return
	OPTS="lowerdir=$L1,upperdir=$U,workdir=$S/t/w"
	expect_problem "$SC: tmpfs" STK_WORK_OTHER_MOUNT work:/
	expect_mount_fails "$SC: tmpfs" EINVAL
	OPTS="lowerdir=$L1,upperdir=$U,workdir=$S/b/w"
	expect_problem "$SC: bind mount" STK_WORK_OTHER_MOUNT work:/
	expect_mount_fails "$SC: bind mount" EINVAL
	umount $S/b
	umount $S/t
}

# The work dir inside the upper dir.
scenario pm_work_nested
sc_pm_work_nested() {
	stack_new pm_work_nested
	setup 'echo f > $L1/f; mkdir $U/w' || return
	OPTS="lowerdir=$L1,upperdir=$U,workdir=$U/w"
	expect_problem "$SC" STK_WORK_NESTED work:/
	expect_mount_fails "$SC" EINVAL
}

# One lower dir given twice, and a lower dir that is the work dir.
scenario pm_layer_twice
sc_pm_layer_twice() {
	stack_new pm_layer_twice
	setup 'echo f > $L1/f' || return
	OPTS="lowerdir=$L1:$L1,upperdir=$U,workdir=$W"
	expect_problem "$SC" STK_LAYER_TWICE lower2:/
	expect_mount_fails "$SC" ELOOP
	OPTS="lowerdir=$W,upperdir=$U,workdir=$W"
	expect_problem "$SC: lower is W" STK_LAYER_TWICE lower1:/
	expect_mount_fails "$SC: lower is W" ELOOP
}

# A lower dir inside the upper dir, and one inside another lower.
scenario pm_layer_nested
sc_pm_layer_nested() {
	stack_new pm_layer_nested
	setup 'mkdir $U/sub $L1/sub; echo f > $L1/sub/f' || return
	OPTS="lowerdir=$U/sub,upperdir=$U,workdir=$W"
	expect_problem "$SC: in upper" STK_LAYER_NESTED lower1:/
	expect_mount_fails "$SC: in upper" ELOOP
	OPTS="lowerdir=$L1:$L1/sub,upperdir=$U,workdir=$W"
	expect_problem "$SC: in lower" STK_LAYER_NESTED lower2:/
	expect_mount_fails "$SC: in lower" ELOOP
}

# The upper dir inside the lower dir: the kernel mounts it, but the
# merged path that leads to the upper dir gives ELOOP.
scenario pm_upper_in_lower
sc_pm_upper_in_lower() {
	stack_new pm_upper_in_lower
	setup 'echo f > $L1/f; mkdir $L1/up' || return
	U=$L1/up
	OPTS="lowerdir=$L1,upperdir=$U,workdir=$W"
	expect_problem "$SC" STK_UPPER_IN_LOWER upper:/
	expect_errno "$SC" lstat up ELOOP
}

# The upper dir of a mounted overlay used again: EBUSY with index=on,
# a warning (and two writers) without. A lower inside that upper dir too.
scenario pm_in_use
sc_pm_in_use() {
	stack_new pm_in_use
	setup '
		echo f > $L1/f; mkdir $U/in $S/w2 $S/m2
		ovl_mount "$(std_opts)"
	' || return
	_m1=$M
	M=$S/m2
	OPTS="lowerdir=$L2,upperdir=$U,workdir=$S/w2,index=on"
	expect_problem "$SC: index=on" STK_IN_USE_BUSY upper:/
	pm_expect_line "$SC: index=on" "^STK_IN_USE_BUSY upper:/: .* the overlay mounted on $_m1\$"
	expect_mount_fails "$SC: index=on" EBUSY
	OPTS="lowerdir=$L2,upperdir=$U,workdir=$S/w2,index=off"
	expect_problem "$SC: index=off" STK_IN_USE upper:/
	expect_kernel "$SC: index=off: the kernel mounts it, writes reach the other mount" '
		echo x > $M/shared
		test "$(cat $_m1/shared)" = x
	'
	OPTS="lowerdir=$U/in,upperdir=$L2,workdir=$S/w2,index=on"
	expect_problem "$SC: lower inside it" STK_IN_USE_BUSY lower1:/
	expect_mount_fails "$SC: lower inside it" EBUSY
	M=$_m1
	ovl_umount
}

# Overlay on overlay on overlay: past FILESYSTEM_MAX_STACK_DEPTH (2).
# And an upper dir on an overlay, which the kernel never takes.
scenario pm_too_deep
sc_pm_too_deep() {
	stack_new pm_too_deep
	setup '
		mkdir -p $S/a/l $S/a/u $S/a/w $S/ma $S/b/u $S/b/w $S/mb
		mount -t overlay overlay -o lowerdir=$S/a/l,upperdir=$S/a/u,workdir=$S/a/w $S/ma
		mkdir $S/ma/x $S/ma/u2 $S/ma/w2
		mount -t overlay overlay -o lowerdir=$S/ma/x,upperdir=$S/b/u,workdir=$S/b/w $S/mb
		mkdir $S/mb/z
	' || return
	OPTS="lowerdir=$S/ma/x,upperdir=$U,workdir=$W"
	expect_clean "$SC: two deep is fine" -n -o "$OPTS"
	expect_kernel "$SC: two deep mounts" 'true'
	OPTS="lowerdir=$S/mb/z,upperdir=$U,workdir=$W"
	expect_problem "$SC" STK_TOO_DEEP lower1:/
	expect_mount_fails "$SC" EINVAL
	OPTS="lowerdir=$L1,upperdir=$S/ma/u2,workdir=$S/ma/w2"
	expect_problem "$SC: upper on overlay" STK_UPPER_ON_OVERLAY upper:/
	expect_mount_fails "$SC: upper on overlay" EINVAL
	umount $S/mb
	umount $S/ma
}

# pm_loop_ext4 DIR MKFS-OPTIONS...: a small ext4 made with those options
# on a loop device, mounted on DIR (detached at exit by kt_cleanup).
pm_loop_ext4() {
	_dir=$1
	shift
	command -v mkfs.ext4 >/dev/null || return 1
	truncate -s 32M "$S/ext4.img" &&
	mkfs.ext4 -q -F "$@" "$S/ext4.img" >/dev/null 2>&1 || return 1
	_loop=$(losetup -f --show "$S/ext4.img" 2>/dev/null) || return 1
	KT_LOOPS="$_loop $KT_LOOPS"
	mkdir -p "$_dir" && mount "$_loop" "$_dir"
}

# An upper filesystem without d_type (xfs ftype=0 needs the V4 format,
# which current kernels no longer mount: ext4 without filetype says the
# same). The kernel mounts it with a warning; the whiteout of a deleted
# file is then listed by readdir, and stat of that name gives ENOENT.
scenario pm_no_dtype
sc_pm_no_dtype() {
	stack_new pm_no_dtype
	if ! pm_loop_ext4 $S/e -O ^filetype; then
		skip "$SC" "no mkfs.ext4 or loop device"
		return
	fi
	setup '
		mkdir $S/e/u $S/e/w
		echo f > $L1/f; echo g > $L1/g
		ovl_mount "lowerdir=$L1,upperdir=$S/e/u,workdir=$S/e/w"
		rm $M/f
		ovl_umount
	' || return
	U=$S/e/u W=$S/e/w
	OPTS="lowerdir=$L1,upperdir=$U,workdir=$W"
	expect_problem "$SC" STK_NO_DTYPE upper:/
	expect_kernel "$SC: kernel: the deleted f is still listed, gives ENOENT" '
		ls $M | grep -qx f
		test "$(errno_of lstat $M/f)" = ENOENT
	'
	umount $S/e
}

# An upper filesystem that stores no xattrs (ramfs): the kernel mounts
# with index, metacopy and redirects turned off, which the options ask
# for (an error), and with nothing asked for still degrades (a warning).
scenario pm_no_xattr
sc_pm_no_xattr() {
	stack_new pm_no_xattr
	setup '
		echo f > $L1/f
		mkdir $S/r; mount -t ramfs pm-ramfs $S/r; mkdir $S/r/u $S/r/w
	' || return
	U=$S/r/u W=$S/r/w
	OPTS="lowerdir=$L1,upperdir=$U,workdir=$W,index=on,metacopy=on,redirect_dir=on"
	expect_problem "$SC" STK_NO_XATTR upper:/
	expect_kernel "$SC: kernel: mounted without index, metacopy, redirects" '
		o=$(pm_superopts $M)
		case ,$o, in *,index=on,*|*,metacopy=on,*) false ;; esac
		case ,$o, in *,redirect_dir=nofollow,*) ;; *) false ;; esac
	'
	OPTS="lowerdir=$L1,upperdir=$U,workdir=$W"
	expect_problem "$SC: nothing asked" STK_XATTR_FALLBACK upper:/
	umount $S/r
}

# pm_ffree DIR: free inodes of the filesystem of DIR.
pm_ffree() {
	stat -f -c %d "$1"
}

# An upper filesystem (tmpfs, nr_inodes) with 2 free inodes: the kernel
# needs 3 at mount (W/work made again, a temp file and a whiteout to
# probe RENAME_WHITEOUT) and fails with ENOSPC; with 3 it mounts.
scenario pm_no_inodes
sc_pm_no_inodes() {
	stack_new pm_no_inodes
	setup '
		echo f > $L1/f
		mkdir $S/t; mount -t tmpfs -o nr_inodes=64 pm-tmpfs $S/t
		mkdir $S/t/u $S/t/w $S/t/fill
		ovl_mount "lowerdir=$L1,upperdir=$S/t/u,workdir=$S/t/w"; ovl_umount
		i=0; while touch $S/t/fill/$i 2>/dev/null; do i=$((i + 1)); done
		rm $S/t/fill/0 $S/t/fill/1
		test "$(pm_ffree $S/t)" -eq 2
	' || return
	U=$S/t/u W=$S/t/w
	OPTS="lowerdir=$L1,upperdir=$U,workdir=$W"
	expect_problem "$SC" STK_NO_INODES upper:/
	expect_mount_fails "$SC" ENOSPC
	rm $S/t/fill/2
	expect_clean "$SC: 3 free inodes" -n -o "$OPTS"
	expect_kernel "$SC: 3 free inodes: the kernel mounts it" 'true'
	umount $S/t
}

# An upper filesystem with no free block (tmpfs, size): it mounts, but
# the copy-up of a lower file fails with ENOSPC.
scenario pm_no_space
sc_pm_no_space() {
	stack_new pm_no_space
	setup '
		echo f > $L1/f
		mkdir $S/t; mount -t tmpfs -o size=256k pm-tmpfs $S/t
		mkdir $S/t/u $S/t/w
		dd if=/dev/zero of=$S/t/fill bs=4k 2>/dev/null || true
		test "$(stat -f -c %f $S/t)" -eq 0
	' || return
	U=$S/t/u W=$S/t/w
	OPTS="lowerdir=$L1,upperdir=$U,workdir=$W"
	expect_problem "$SC" STK_NO_SPACE upper:/
	expect_kernel "$SC: kernel: mounts, the copy-up fails with ENOSPC" '
		( echo more >> $M/f ) 2> $S/append.err && false
		grep -q "No space left" $S/append.err
	'
	umount $S/t
}

# --copy-up of a 2 MiB metacopy file onto a 1 MiB upper: the planned
# copy-ups do not fit (known after the walk), and the kernel's own
# copy-up of that file fails with ENOSPC too.
scenario pm_copyup_no_space
sc_pm_copyup_no_space() {
	stack_new pm_copyup_no_space
	setup '
		dd if=/dev/urandom of=$L1/big bs=64k count=32 2>/dev/null
		mkdir $S/t; mount -t tmpfs -o size=1m pm-tmpfs $S/t
		mkdir $S/t/u $S/t/w
		ovl_mount "lowerdir=$L1,upperdir=$S/t/u,workdir=$S/t/w,$MC"
		chown 5 $M/big
		ovl_umount
	' || return
	U=$S/t/u W=$S/t/w
	OPTS="lowerdir=$L1,upperdir=$U,workdir=$W,$MC"
	expect_problem "$SC" STK_NO_SPACE upper:/ --copy-up -n -o "$OPTS"
	expect_kernel "$SC: kernel: the copy-up of big fails with ENOSPC" '
		( echo more >> $M/big ) 2> $S/append.err && false
		grep -q "No space left" $S/append.err
	'
	umount $S/t
}
