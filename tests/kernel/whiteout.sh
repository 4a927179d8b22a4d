# Damage to whiteouts and opaque dirs.

# A lower layer that was the upper of an earlier overlay holds a whiteout
# for d/a; the base image was then updated and d/a removed from it: the
# whiteout hides nothing.
scenario wh_orphan
sc_wh_orphan() {
	stack_new wh_orphan
	OPTS="lowerdir=$L1:$L2,upperdir=$U,workdir=$W"
	setup '
		mkdir -p $L2/d $S/w0
		echo a > $L2/d/a; echo k > $L2/d/k
		mount -t overlay overlay -o "lowerdir=$L2,upperdir=$L1,workdir=$S/w0" $M
		rm $M/d/a
		umount $M
		rm -rf $S/w0
		test -c $L1/d/a
	' || return
	rm "$L2/d/a"
	expect_problem "$SC" WH_ORPHAN lower1:/d/a
	expect_kernel "$SC: kernel: tolerated, the name stays hidden" '
		test "$(ls $M/d)" = k
		test "$(errno_of lstat $M/d/a)" = ENOENT
	'
}

# An image tool put an xattr whiteout in the upper layer.
scenario wh_xattr_in_upper
sc_wh_xattr_in_upper() {
	stack_new wh_xattr_in_upper
	OPTS=$(std_opts index=on)
	setup '
		mkdir -p $L1/d; echo a > $L1/d/a
		ovl_mount "$OPTS"; mkdir $M/e; ovl_umount
	' || return
	touch "$U/e/w"
	setfattr -n trusted.overlay.whiteout "$U/e/w"
	expect_problem "$SC" WH_XATTR_IN_UPPER upper:/e/w
	expect_kernel "$SC: kernel: listed by readdir, lstat gives ENOENT" '
		test "$(ls $M/e)" = w
		test "$(errno_of lstat $M/e/w)" = ENOENT
	'
}

# An xattr whiteout in a lower layer whose parent lost opaque=x (a copy
# that dropped the dir's xattrs).
scenario wh_xattr_no_opaque_x
sc_wh_xattr_no_opaque_x() {
	stack_new wh_xattr_no_opaque_x
	OPTS="lowerdir=$L1:$L2,upperdir=$U,workdir=$W"
	setup '
		mkdir -p $L2/d $L1/d
		echo a > $L2/d/a; echo b > $L2/d/b
		touch $L1/d/a
		setfattr -n trusted.overlay.whiteout $L1/d/a
	' || return
	expect_problem "$SC" WH_XATTR_NO_OPAQUE_X lower1:/d/a
	expect_kernel "$SC: kernel: listed by readdir, lstat gives ENOENT" '
		test "$(ls $M/d | tr "\n" " ")" = "a b "
		test "$(errno_of lstat $M/d/a)" = ENOENT
	'
}

# The whiteout xattr sits on a file that has data: not a whiteout.
scenario wh_not_empty
sc_wh_not_empty() {
	stack_new wh_not_empty
	OPTS="lowerdir=$L1:$L2,upperdir=$U,workdir=$W"
	setup '
		mkdir -p $L2/d $L1/d
		echo a > $L2/d/a; echo b > $L2/d/b
		echo data > $L1/d/a
		setfattr -n trusted.overlay.whiteout $L1/d/a
		setfattr -n trusted.overlay.opaque -v x $L1/d
	' || return
	expect_problem "$SC" WH_NOT_EMPTY lower1:/d/a
	expect_kernel "$SC: kernel: the file is visible with its data" '
		test "$(cat $M/d/a)" = data
	'
}

# The opaque xattr of a dir re-created over a removed one was rewritten
# with a value the kernel does not know: the removed content comes back.
scenario op_bad_value
sc_op_bad_value() {
	stack_new op_bad_value
	OPTS=$(std_opts)
	setup '
		mkdir -p $L1/d; echo a > $L1/d/a
		ovl_mount "$OPTS"; rm -rf $M/d; mkdir $M/d; ovl_umount
		test "$(getfattr --only-values -n trusted.overlay.opaque $U/d)" = y
	' || return
	setfattr -n trusted.overlay.opaque -v z "$U/d"
	expect_problem "$SC" OP_BAD_VALUE upper:/d
	expect_kernel "$SC: kernel: not opaque, the removed lower file is back" '
		test "$(ls $M/d)" = a
	'
}

# The opaque xattr on a regular file.
scenario op_not_dir
sc_op_not_dir() {
	stack_new op_not_dir
	OPTS=$(std_opts)
	setup '
		mkdir -p $L1/d; echo a > $L1/d/a
		ovl_mount "$OPTS"; echo u > $M/f; ovl_umount
	' || return
	setfattr -n trusted.overlay.opaque -v y "$U/f"
	expect_problem "$SC" OP_NOT_DIR upper:/f
	expect_kernel "$SC: kernel: ignored, the file reads" '
		test "$(cat $M/f)" = u
	'
}
