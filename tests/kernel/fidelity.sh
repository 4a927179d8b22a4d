# Kernel fidelity (issue 11): layouts the kernel makes through its own
# operations are not damage. For each, -n exits 0, -y changes nothing in
# the layers, and the kernel shows the same merged view before and after.
# Each scenario here is a layout an earlier fsck.overlay called damaged
# (and, for some, "repaired" into another view).

# fid_kept NAME: the three rules on the layout the kernel just left.
# The view is taken before any fsck run, through a fresh mount.
fid_kept() {
	_name=$1
	merged_snapshot "$S/view.before" || {
		not_ok "$_name: the kernel mounts the layout"
		diag "$(tail -3 "$S/view.before")"
		return 1
	}
	expect_clean "$_name"
	snapshot "$S/snap.y0" $(kt_layers)
	run_fsck -y -o "$OPTS"
	snapshot "$S/snap.y1" $(kt_layers)
	if [ "$FSCK_RC" -eq 0 ] && cmp -s "$S/snap.y0" "$S/snap.y1"; then
		ok "$_name: fsck -y exits 0 and writes nothing"
	else
		not_ok "$_name: fsck -y exits 0 and writes nothing"
		diag "exit $FSCK_RC"
		kt_show_fsck
	fi
	merged_snapshot "$S/view.after"
	if cmp -s "$S/view.before" "$S/view.after"; then
		ok "$_name: the kernel shows the same view after -y"
	else
		not_ok "$_name: the kernel shows the same view after -y"
		diag "$(diff "$S/view.before" "$S/view.after" | head -10)"
	fi
}

# The lower hard link b keeps the data appended through a, after a was
# removed: the index entry has no upper alias but a union nlink of 1.
# Quarantining it lost "changed" from b.
scenario fid_index_kept_for_lower_alias
sc_fid_index_kept_for_lower_alias() {
	stack_new "$SC"
	OPTS=$(std_opts index=on)
	setup '
		echo orig > $L1/a; ln $L1/a $L1/b
		ovl_mount "$OPTS"
		echo changed >> $M/a; rm $M/a
		ovl_umount
	' || return
	fid_kept "$SC"
	expect_kernel "$SC: kernel: b shows orig and changed" '
		test "$(cat $M/b)" = "$(printf "orig\nchanged")"
		test ! -e $M/a
	'
}

# The same with metacopy: the alias removed after a chown.
scenario fid_index_kept_metacopy
sc_fid_index_kept_metacopy() {
	stack_new "$SC"
	OPTS=$(std_opts metacopy=on,index=on)
	setup '
		echo orig > $L1/a; ln $L1/a $L1/b; ln $L1/a $L1/c
		ovl_mount "$OPTS"
		chown 5:6 $M/a; rm $M/a; ln $M/b $M/d
		ovl_umount
	' || return
	fid_kept "$SC"
}

# A lower file with one link is not indexed when an upper hard link is
# made to its copy: the kernel indexes lower hard links only.
scenario fid_upper_link_of_single
sc_fid_upper_link_of_single() {
	stack_new "$SC"
	OPTS=$(std_opts index=on)
	setup '
		echo a > $L1/a
		ovl_mount "$OPTS"
		ln $M/a $M/b
		ovl_umount
	' || return
	fid_kept "$SC"
	expect_kernel "$SC: kernel: a and b show st_nlink 2" '
		test "$(stat -c %h $M/a $M/b | tr "\n" " ")" = "2 2 "
	'
}

# Symlinks that point at themselves are user data.
scenario fid_symlink_self
sc_fid_symlink_self() {
	stack_new "$SC"
	OPTS=$(std_opts)
	setup '
		ln -s self $L1/self
		ovl_mount "$OPTS"
		ln -s loop $M/loop; mkdir $M/d; ln -s ./x $M/d/x
		ovl_umount
	' || return
	fid_kept "$SC"
}

# fstests overlay/055: a middle lower layer with a redirected dir and no
# whiteout at its old name: the kernel shows the lower dir at both.
scenario fid_lower_redirect_uncovered
sc_fid_lower_redirect_uncovered() {
	stack_new "$SC"
	mkdir -p "$L2/origin/sub"
	echo x > "$L2/origin/sub/f"
	mkdir "$L1/merged"
	setfattr -n trusted.overlay.redirect -v origin "$L1/merged"
	OPTS="lowerdir=$L1:$L2,upperdir=$U,workdir=$W,redirect_dir=on,index=on,nfs_export=on"
	fid_kept "$SC"
	expect_kernel "$SC: kernel: origin/sub/f at both names" '
		test "$(cat $M/merged/sub/f)" = x
		test "$(cat $M/origin/sub/f)" = x
	'
}

# An old upper (with its index's hard links and redirects) pushed down
# into the lower stack under a fresh upper, as fstests overlay/068-069
# and image builders do; then used with index and nfs_export.
scenario fid_upper_pushed_down
sc_fid_upper_pushed_down() {
	stack_new "$SC"
	mkdir "$S/u2" "$S/w2"
	OPTS=$(std_opts redirect_dir=on,index=on,nfs_export=on)
	setup '
		mkdir -p $L1/d/s $L1/h
		echo x > $L1/h/a; ln $L1/h/a $L1/h/b; echo y > $L1/d/s/f
		ovl_mount "$OPTS"
		echo more >> $M/h/a; mv $M/d $M/e; rm $M/h/b; touch $M/e/s/g
		ln $M/e/s/g $M/e/s/g2
		ovl_umount
	' || return
	OPTS="lowerdir=$U:$L1,upperdir=$S/u2,workdir=$S/w2,redirect_dir=on,index=on,nfs_export=on"
	U=$S/u2 W=$S/w2
	setup '
		ovl_mount "$OPTS"
		chmod 600 $M/h/a; mv $M/e $M/f; ln $M/f/s/g $M/f/s/g3; rm $M/f/s/g2
		ovl_umount
	' || return
	fid_kept "$SC"
}

# Rule 6: layers the kernel refuses as one stack get the reasons only,
# no problems found by walking them as if they were one.
scenario fid_refused_reasons_only
sc_fid_refused_reasons_only() {
	stack_new "$SC"
	mkdir "$L1/d"; echo a > "$L1/d/f"
	setfattr -n trusted.overlay.origin -v 0x00fb01 "$L1/d"
	run_fsck -n -o "lowerdir=$L1,upperdir=$L1,workdir=$W"
	if [ "$FSCK_RC" -eq 4 ] && [ "$(grep -c '^[A-Z][A-Z]*_[A-Z_]* ' "$S/fsck.out")" -eq 1 ] &&
	   grep -q '^STK_LAYER_TWICE ' "$S/fsck.out"; then
		ok "$SC: lowerdir=X,upperdir=X: STK_LAYER_TWICE alone, exit 4"
	else
		not_ok "$SC: lowerdir=X,upperdir=X: STK_LAYER_TWICE alone, exit 4"
		kt_show_fsck
	fi
}

# Rule 5: --copy-up PATH... changes nothing outside those paths and their
# parents, never quarantines; a named path with a problem is skipped with
# its problem (exit 4), the others are still copied.
scenario fid_copyup_paths_only
sc_fid_copyup_paths_only() {
	stack_new "$SC"
	OPTS=$(std_opts metacopy=on)
	setup '
		echo data > $L1/a; echo b > $L1/b; echo c > $L1/c
		ovl_mount "$OPTS"
		chown 5 $M/a $M/b $M/c
		ovl_umount
	' || return
	mknod "$U/ghost" c 0 0
	setfattr -n trusted.overlay.metacopy -v 0x01 "$U/b"
	snapshot "$S/snap.bc" "$U/b" "$U/c" "$U/ghost"
	run_fsck --copy-up -y -o "$OPTS" /a /b
	snapshot "$S/snap.ac" "$U/b" "$U/c" "$U/ghost"
	_bad=
	rp_rc 5
	grep -q '^copy up upper:/a:' "$S/fsck.out" || rp_bad "a not copied"
	grep -q '^MC_TOO_SHORT upper:/b:' "$S/fsck.out" || rp_bad "b's problem not reported"
	grep -q '^not copying up upper:/b: its problem' "$S/fsck.out" || rp_bad "b not said skipped"
	grep -q 'ghost' "$S/fsck.out" && rp_bad "a problem outside the paths reported"
	cmp -s "$S/snap.bc" "$S/snap.ac" || rp_bad "b, c or ghost changed"
	[ -d "$W/overlay-fsck.quarantine" ] && rp_bad "something was quarantined"
	getfattr -h -n trusted.overlay.metacopy "$U/a" > /dev/null 2>&1 && rp_bad "a is still metacopy"
	rp_done "$SC: --copy-up -y /a /b: a copied, b skipped with its problem, nothing else touched, exit 5"
}

# nfs_export indexes every copied-up non-dir, fifos and devices too.
scenario fid_nfs_export_fifo
sc_fid_nfs_export_fifo() {
	stack_new "$SC"
	OPTS=$(std_opts index=on,nfs_export=on)
	setup '
		mkfifo $L1/fifo; mknod $L1/null c 1 3
		ovl_mount "$OPTS"
		chown 3 $M/fifo $M/null; ln $M/fifo $M/fifo2
		ovl_umount
	' || return
	fid_kept "$SC"
}

# A hard link of a metacopy file gets a redirect and no origin, and its
# new parent no impure mark; nor does an entry copied up from a lower
# without file handles (an overlay), which gets an empty origin.
scenario fid_impure_not_needed
sc_fid_impure_not_needed() {
	stack_new "$SC"
	OPTS=$(std_opts metacopy=on)
	setup '
		mkdir $L1/d $L1/e; echo x > $L1/d/a; ln $L1/d/a $L1/d/b
		ovl_mount "$OPTS"
		chown 3 $M/d/a; ln $M/d/a $M/e/c
		ovl_umount
	' || return
	fid_kept "$SC"
}

# A dir moved into a subdir of its sibling, then the sibling renamed to
# the moved dir's old name: the redirect's text names an ancestor, but in
# the layers below it is another dir; no loop.
scenario fid_redirect_names_ancestor
sc_fid_redirect_names_ancestor() {
	stack_new "$SC"
	OPTS=$(std_opts redirect_dir=on)
	setup '
		mkdir -p $L1/x/h/h/in $L1/x/e; echo 1 > $L1/x/h/h/in/f
		ovl_mount "$OPTS"
		mv $M/x/h/h $M/x/e/fd; mv $M/x/e $M/x/h/h
		ovl_umount
	' || return
	fid_kept "$SC"
}

# Redirects are paths in the layers below their own: in three rotated
# uppers, "/gd" (lower2) and "gd" (the upper) name two different dirs.
scenario fid_redirect_same_text_two_dirs
sc_fid_redirect_same_text_two_dirs() {
	stack_new "$SC"
	mkdir "$S/u1" "$S/w1" "$S/u2" "$S/w2"
	_l=$L1
	setup '
		mkdir -p $L1/gd/x $L1/cd/y $L1/hh0
		ovl_mount "lowerdir=$L1,upperdir=$S/u1,workdir=$S/w1,redirect_dir=on"
		mv $M/gd $M/hh0/d
		ovl_umount
		ovl_mount "lowerdir=$S/u1:$L1,upperdir=$S/u2,workdir=$S/w2,redirect_dir=on"
		mv $M/cd $M/gd
		ovl_umount
		ovl_mount "lowerdir=$S/u2:$S/u1:$L1,upperdir=$U,workdir=$W,redirect_dir=on"
		mv $M/gd $M/g
		ovl_umount
	' || return
	OPTS="lowerdir=$S/u2:$S/u1:$L1,upperdir=$U,workdir=$W,redirect_dir=on"
	fid_kept "$SC"
	expect_kernel "$SC: kernel: g shows cd/y, hh0/d shows gd/x" '
		test -d $M/g/y; test -d $M/hh0/d/x
	'
}

# nfs_export: a link, a remount, a rename over the new link: the kernel
# writes the nlink of h from the inode it shows, more than h's names.
# A note at most: a rewrite would change st_nlink.
scenario fid_nfs_export_nlink_over_rename
sc_fid_nfs_export_nlink_over_rename() {
	stack_new "$SC"
	OPTS=$(std_opts index=on,nfs_export=on)
	setup '
		echo h > $L1/h; echo d > $L1/d
		ovl_mount "$OPTS"; ln $M/h $M/bl; ovl_umount
		ovl_mount "$OPTS"; mv $M/d $M/bl; ovl_umount
	' || return
	fid_kept "$SC"
}
