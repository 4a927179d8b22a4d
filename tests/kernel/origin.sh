# Damage to origin handles and impure dirs.

# or_build FEATURES: lower f, o and dir d; f copied up by chown
# (metadata-only under metacopy=on), o fully copied up by a write.
or_build() {
	OPTS=$(std_opts "$1")
	setup '
		mkdir -p $L1/d; echo d1 > $L1/d/x
		echo lower-f > $L1/f; echo lower-o > $L1/o
		ovl_mount "$OPTS"
		chown 5 $M/f; echo upper-o > $M/o
		ovl_umount
		getfattr -n trusted.overlay.origin $U/f
	'
}

# The lower image was rebuilt: f was moved aside and a copy put in its
# place.  With index=on the kernel verifies the origin of a metacopy file
# against the lower found by path: ESTALE.
scenario or_stale_verify
sc_or_stale_verify() {
	stack_new or_stale_verify
	or_build "$MCI" || return
	mv "$L1/f" "$L1/f.old"
	cp -p "$L1/f.old" "$L1/f"
	expect_problem "$SC" OR_STALE_VERIFY upper:/f
	expect_errno "$SC" lstat f ESTALE
}

# Same rebuild without index: the origin resolves to the inode at its new
# name; the kernel reads the data found by path.
scenario or_moved
sc_or_moved() {
	stack_new or_moved
	or_build "$MC" || return
	mv "$L1/f" "$L1/f.old"
	echo lower-new > "$L1/f"
	# the kernel reads through the path: the origin is what is stale
	expect_problem "$SC" OR_STALE upper:/f
	expect_kernel "$SC: kernel: reads the data at the path, not the origin" '
		test "$(cat $M/f)" = lower-new
	'
}

# The lower image dropped o, which the container had copied up.
scenario or_gone
sc_or_gone() {
	stack_new or_gone
	or_build "$MC" || return
	rm "$L1/o"
	expect_problem "$SC" OR_GONE upper:/o
	expect_kernel "$SC: kernel: the upper file stands alone" '
		test "$(cat $M/o)" = upper-o
	'
}

# A copy tool truncated the origin xattr to 3 bytes.
scenario or_bad
sc_or_bad() {
	stack_new or_bad
	or_build "index=on" || return
	setfattr -n trusted.overlay.origin -v 0x00fb1d "$U/o"
	expect_problem "$SC" OR_BAD upper:/o
	expect_kernel "$SC: kernel: tolerated, the file reads" '
		test "$(cat $M/o)" = upper-o
	'
}

# The impure mark of a dir with copied-up children was lost: readdir
# then returns the upper inode numbers, stat the lower ones.
scenario im_missing
sc_im_missing() {
	stack_new im_missing
	OPTS=$(std_opts)
	setup '
		mkdir -p $L1/d; echo 1 > $L1/d/f; echo 2 > $L1/d/g
		ovl_mount "$OPTS"; chown 4 $M/d/f; ovl_umount
		getfattr -n trusted.overlay.impure $U/d
	' || return
	setfattr -x trusted.overlay.impure "$U/d"
	expect_problem "$SC" IM_MISSING upper:/d
	if ! command -v python3 >/dev/null; then
		skip "$SC: kernel: readdir d_ino differs from st_ino" "no python3"
		return
	fi
	expect_kernel "$SC: kernel: readdir d_ino differs from st_ino" '
		python3 -c "
import os, sys
e = [x for x in os.scandir(sys.argv[1]) if x.name == \"f\"][0]
sys.exit(e.inode() == os.lstat(e.path).st_ino)
" $M/d
	'
}

# A metacopy xattr on a directory.
scenario mc_not_reg
sc_mc_not_reg() {
	stack_new mc_not_reg
	or_build "$MCI" || return
	setfattr -n trusted.overlay.metacopy "$U/d" 2>/dev/null ||
		{ mkdir -p "$U/d"; setfattr -n trusted.overlay.metacopy "$U/d"; }
	expect_problem "$SC" MC_NOT_REG upper:/d
	expect_kernel "$SC: kernel: ignored, the dir lists" '
		test "$(ls $M/d)" = x
	'
}

# The impure xattr holds "n": the kernel only knows "y", so readdir of
# the dir returns upper inode numbers as for a missing mark.
scenario im_bad_value
sc_im_bad_value() {
	stack_new im_bad_value
	OPTS=$(std_opts)
	setup '
		mkdir -p $L1/d; echo 1 > $L1/d/f; echo 2 > $L1/d/g
		ovl_mount "$OPTS"; chown 4 $M/d/f; ovl_umount
		getfattr -n trusted.overlay.impure $U/d
	' || return
	setfattr -n trusted.overlay.impure -v n "$U/d"
	expect_problem "$SC" IM_BAD_VALUE upper:/d
	if ! command -v python3 >/dev/null; then
		skip "$SC: kernel: readdir d_ino differs from st_ino" "no python3"
		return
	fi
	expect_kernel "$SC: kernel: readdir d_ino differs from st_ino" '
		python3 -c "
import os, sys
e = [x for x in os.scandir(sys.argv[1]) if x.name == \"f\"][0]
sys.exit(e.inode() == os.lstat(e.path).st_ino)
" $M/d
	'
}
