# Clean layouts: written by the kernel itself through the merged dir, so
# fsck.overlay -n must find nothing (exit 0) and write nothing.

# metacopy + redirect_dir + index: metacopy copy-ups (chown, chmod), a
# renamed lower dir (relative redirect + whiteout), a renamed metacopy file
# (absolute redirect), hard links (index entries, nlink), whiteouts, an
# opaque dir and impure parents.
scenario clean_metacopy_index
sc_clean_metacopy_index() {
	stack_new clean_metacopy_index
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/d/sub $L1/x $L1/gone $L1/hl
		head -c 100000 /dev/urandom > $L1/big
		echo y > $L1/d/y; echo s > $L1/d/sub/s; echo m > $L1/x/mvf
		echo g > $L1/gone/g; echo r > $L1/rmme
		echo h > $L1/hl/h1; ln $L1/hl/h1 $L1/hl/h2
		ovl_mount "$OPTS"
		chown 1000 $M/big; chmod 600 $M/d/y
		mv $M/d $M/d2
		mv $M/x/mvf $M/mvf2
		ln $M/hl/h1 $M/hl/h3
		rm $M/rmme
		rm -rf $M/gone; mkdir $M/gone; echo new > $M/gone/new
		ovl_umount
		test -n "$(ls $W/index)"
	' || return
	expect_clean "$SC"
	expect_kernel "$SC: kernel: remount shows the renamed and linked files" '
		cmp $L1/big $M/big
		test "$(cat $M/d2/sub/s $M/mvf2 $M/hl/h3)" = "$(printf "s\nm\nh")"
		test "$(stat -c %h $M/hl/h1)" = 3
		test ! -e $M/d; test ! -e $M/rmme; test ! -e $M/gone/g
	'
}

# userxattr: user.overlay.* xattrs; whiteouts, an opaque dir, copy-ups.
scenario clean_userxattr
sc_clean_userxattr() {
	stack_new clean_userxattr
	OPTS=$(std_opts userxattr)
	setup '
		mkdir -p $L1/d $L1/o
		echo f > $L1/d/f; echo x > $L1/o/x; echo g > $L1/g
		ovl_mount "$OPTS"
		rm $M/g; rm -rf $M/o; mkdir $M/o
		chown 3 $M/d/f; touch $M/d/new
		ovl_umount
		getfattr -n user.overlay.opaque $U/o
	' || return
	expect_clean "$SC"
}

# Two lowers, the upper one written by an earlier overlay (whiteouts,
# opaque dir, redirect, metacopy files inside a lower layer), then a new
# upper on top that renames, links and copies up again.  Checked in both
# command-line forms.
scenario clean_two_lowers
sc_clean_two_lowers() {
	stack_new clean_two_lowers
	OPTS="lowerdir=$L1:$L2,upperdir=$U,workdir=$W,$MCI"
	setup '
		mkdir -p $L2/a/sub $L2/b $L2/c $S/w0
		echo s > $L2/a/sub/s; echo b > $L2/b/b; echo c > $L2/c/c
		echo f > $L2/f; echo g > $L2/g
		echo h > $L2/h1; ln $L2/h1 $L2/h2
		mount -t overlay overlay -o "lowerdir=$L2,upperdir=$L1,workdir=$S/w0,$MC" $M
		mv $M/a $M/a1; rm $M/g; rm -rf $M/c; mkdir $M/c; chown 5 $M/f
		umount $M
		rm -rf $S/w0
		ovl_mount "$OPTS"
		mv $M/a1 $M/a2; chown 6 $M/f; rm $M/b/b; ln $M/h1 $M/h3
		ovl_umount
	' || return
	expect_clean "$SC"
	expect_clean "$SC (positional form)" -n -w "$W" "$U" "$L1" "$L2"
	expect_kernel "$SC: kernel: remount shows the doubly renamed dir" '
		test "$(cat $M/a2/sub/s)" = s
		test ! -e $M/a1; test ! -e $M/a; test ! -e $M/g
		test "$(stat -c %u $M/f)" = 6
	'
}

# Data-only lower (lowerdir=L1::D1): L1 is a composefs-style image whose
# metacopy stubs redirect into D1; the kernel copies one stub up.
scenario clean_data_only
sc_clean_data_only() {
	stack_new clean_data_only
	OPTS="lowerdir=$L1::$D1,upperdir=$U,workdir=$W,$MC"
	setup '
		mkdir -p $D1/ob $L1/img
		echo data-one > $D1/ob/1; echo data-two > $D1/ob/2
		for n in 1 2; do
			truncate -s 9 $L1/img/f$n
			setfattr -n trusted.overlay.metacopy $L1/img/f$n
			setfattr -n trusted.overlay.redirect -v /ob/$n $L1/img/f$n
		done
		ovl_mount "$OPTS"
		test "$(cat $M/img/f1)" = data-one
		chown 9 $M/img/f2
		ovl_umount
		getfattr -n trusted.overlay.metacopy $U/img/f2
	' || return
	expect_clean "$SC"
	expect_kernel "$SC: kernel: the data-only layer is not listed, stubs read" '
		test "$(ls $M)" = img
		test "$(cat $M/img/f2)" = data-two
	'
}

# nfs_export=on,index=on: dir copy-ups, removed objects leave whiteouts in
# W/index, hard links.
scenario clean_nfs_export
sc_clean_nfs_export() {
	stack_new clean_nfs_export
	OPTS=$(std_opts "index=on,nfs_export=on,redirect_dir=on")
	setup '
		mkdir -p $L1/d/e $L1/h
		echo f > $L1/d/e/f; echo g > $L1/g
		echo a > $L1/h/a; ln $L1/h/a $L1/h/b
		ovl_mount "$OPTS"
		touch $M/d/e/n; rm $M/g; mkdir $M/nd; mv $M/d $M/d2
		ln $M/h/a $M/h/c
		ovl_umount
		test -n "$(ls $W/index)"
	' || return
	expect_clean "$SC"
}

# Xattr whiteouts in a lower layer (opaque=x parent), as image builders
# write them for layers that cannot hold 0/0 devices.
scenario clean_xattr_whiteouts
sc_clean_xattr_whiteouts() {
	stack_new clean_xattr_whiteouts
	OPTS="lowerdir=$L1:$L2,upperdir=$U,workdir=$W,index=on"
	setup '
		mkdir -p $L2/d $L1/d
		echo a > $L2/d/a; echo b > $L2/d/b; echo c > $L2/d/c
		touch $L1/d/a
		setfattr -n trusted.overlay.whiteout $L1/d/a
		setfattr -n trusted.overlay.opaque -v x $L1/d
		ovl_mount "$OPTS"
		test "$(ls $M/d | tr "\n" " ")" = "b c "
		rm $M/d/b; touch $M/d/n
		ovl_umount
	' || return
	expect_clean "$SC"
	expect_kernel "$SC: kernel: the xattr whiteout hides the lower name" '
		test "$(ls $M/d | tr "\n" " ")" = "c n "
	'
}

# Layers on two filesystems (lower on tmpfs, upper on /work): origins
# carry the tmpfs uuid; index entries for hard links.
scenario clean_two_filesystems
sc_clean_two_filesystems() {
	stack_new clean_two_filesystems
	OPTS=$(std_opts "$RDI")
	setup '
		mount -t tmpfs -o size=8m tmpfs $L1
		mkdir -p $L1/d/sub $L1/h
		echo s > $L1/d/sub/s; echo f > $L1/f
		echo a > $L1/h/a; ln $L1/h/a $L1/h/b
		ovl_mount "$OPTS"
		chown 2 $M/f; mv $M/d $M/d2; echo w > $M/h/a; touch $M/d2/new
		ovl_umount
	' || return
	expect_clean "$SC"
	expect_kernel "$SC: kernel: hard link across the copy-up still shared" '
		test "$(cat $M/h/b)" = w
	'
	umount "$L1"
}
