# The scoped check of overlay-browse --write (src/lib/walk/scope.c) on stacks
# the kernel made: tests/scope-check checks every path and W/index entry
# alone and compares with the full check's lines at the places it checks,
# before and after damage; then it applies every fix and copy-up as the
# browser does, comparing the kept problems list and links with a new
# full check after each; the kernel then mounts the result and reads it.

# scope_run WHAT [--edits N]: tests/scope-check on $OPTS; its report in
# $S/scope.out.
scope_run() {
	_what=$1
	shift
	_rc=0
	"$SCOPE_CHECK" "$@" -o "$OPTS" > "$S/scope.out" 2>&1 || _rc=$?
	if [ "$_rc" -eq 0 ] && grep -q '^same: ' "$S/scope.out"; then
		ok "$SC: $_what"
	else
		not_ok "$SC: $_what"
		diag "scope-check $* exit $_rc:"
		diag "$(head -n 40 "$S/scope.out")"
	fi
}

scope_need() {
	: "${SCOPE_CHECK:=$top_builddir/tests/scope-check}"
	[ -x "$SCOPE_CHECK" ] && return 0
	skip "$SC: tests/scope-check not built"
	return 1
}

# scope_mount_reads: the kernel mounts the stack, every dir lists and
# every file reads.
scope_mount_reads() {
	_bad=
	if ovl_mount "$OPTS" 2> "$S/mount.err"; then
		find "$M" -type f > "$S/files" 2> "$S/find.err" ||
			_bad=" $(cat "$S/find.err")"
		while IFS= read -r _f; do
			cat "$_f" > /dev/null 2>&1 || _bad="$_bad ${_f#"$M"}"
		done < "$S/files"
		ovl_umount
	else
		_bad="mount: $(cat "$S/mount.err")"
	fi
	if [ -z "$_bad" ]; then
		ok "$SC: the kernel mounts the stack after the edits and reads every file"
	else
		not_ok "$SC: the kernel mounts the stack after the edits and reads every file"
		diag "unreadable:$_bad"
	fi
}

# metacopy, redirects (dirs and files), index with hard links, whiteouts,
# an opaque dir, full copy-ups; then a renamed dir copied offline (the
# duplicate's fix changes its whole subtree), a metacopy file's lower
# data deleted, an orphan whiteout, a dir's impure mark removed, a link
# count written wrong (reported only).
scenario scope_metacopy_index
sc_scope_metacopy_index() {
	stack_new "$SC"
	scope_need || return
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/etc $L1/old $L1/h $L1/gone $L1/keep
		echo a > $L1/etc/a; echo b > $L1/etc/b; echo c > $L1/etc/c
		echo f1 > $L1/old/f1; echo f2 > $L1/old/f2; echo m > $L1/mv1
		echo x > $L1/h/x; ln $L1/h/x $L1/h/xl
		echo y > $L1/h/y; ln $L1/h/y $L1/h/yl
		echo g > $L1/gone/g; echo k > $L1/keep/k; echo k2 > $L1/keep/k2
		ovl_mount "$OPTS"
		chown 5 $M/etc/a; chmod 600 $M/etc/b; echo more >> $M/etc/c
		mv $M/old $M/renamed; chown 5 $M/renamed/f1
		chown 5 $M/h/x; echo z >> $M/h/y
		rm -r $M/gone; mkdir $M/gone; echo n > $M/gone/n
		mv $M/mv1 $M/etc/mv2; rm $M/keep/k
		ovl_umount
		test -n "$(ls $W/index)"
	' || return
	scope_run "each path alone: the full check's lines (clean, kernel-made)"
	setup '
		cp -a $U/renamed $U/renamed2
		rm $L1/etc/b
		mknod $U/etc/ghost c 0 0
		setfattr -x trusted.overlay.impure $U/h
		for _i in $W/index/*; do
			setfattr -n trusted.overlay.nlink -v "U+7" "$_i"; break
		done
	' || return
	run_fsck -n -o "$OPTS"
	# RD_DUPLICATE, MC_NO_DATA, WH_ORPHAN, IM_MISSING, IX_NLINK_*
	[ "$(grep -c '^[A-Z_]* [a-z0-9]*:/' "$S/fsck.out")" -ge 5 ] ||
		{ not_ok "$SC: the damage is reported"; kt_show_fsck; return; }
	scope_run "each path alone: the full check's lines (damaged)"
	scope_run "after each fix and copy-up: the kept list is a new full check's" --edits 40
	scope_mount_reads
}

# nfs_export: index entries of dirs pointing at their upper dirs, removed
# objects whited out in W/index; then one dir entry loses its upper handle
# and another upper dir's origin names nothing.
scenario scope_nfs_export
sc_scope_nfs_export() {
	stack_new "$SC"
	scope_need || return
	OPTS=$(std_opts "index=on,nfs_export=on,redirect_dir=on")
	setup '
		mkdir -p $L1/d/e $L1/h $L1/p
		echo f > $L1/d/e/f; echo g > $L1/g
		echo a > $L1/h/a; ln $L1/h/a $L1/h/b
		ovl_mount "$OPTS"
		touch $M/d/e/n $M/p/q; rm $M/g; mkdir $M/nd; mv $M/d $M/d2
		ln $M/h/a $M/h/c
		ovl_umount
	' || return
	scope_run "each path alone: the full check's lines (clean, kernel-made)"
	setup '
		for _i in $W/index/*; do
			test -d "$_i" || continue
			setfattr -x trusted.overlay.upper "$_i"; break
		done
		setfattr -n trusted.overlay.origin -v 0x00fb1d000100000000000000000000000000000000aaaaaaaabbbbbbbb $U/p
	' || return
	scope_run "each path alone: the full check's lines (damaged)"
	scope_run "after each fix: the kept list is a new full check's" --edits 40
	scope_mount_reads
}

# Two lowers, the top one an upper pushed down (its renamed dir carries a
# redirect); over them a new upper whose dir an offline edit makes lead
# to the same lower dir: the duplicate across layers.
scenario scope_two_lowers
sc_scope_two_lowers() {
	stack_new "$SC"
	scope_need || return
	setup '
		mkdir -p $L2/a $L2/b $L2/c
		echo 1 > $L2/a/f; echo 2 > $L2/b/g; echo 3 > $L2/c/h
		mkdir -p $S/w1
		mount -t overlay overlay -o "lowerdir=$L2,upperdir=$L1,workdir=$S/w1,$MC" $M
		mv $M/a $M/a2; chown 5 $M/b/g
		umount $M
		rm -rf $S/w1
		mount -t overlay overlay -o "lowerdir=$L1:$L2,upperdir=$U,workdir=$W,$MC" $M
		mv $M/c $M/c2; chown 6 $M/a2/f; rm $M/b/g
		umount $M
	' || return
	OPTS="lowerdir=$L1:$L2,upperdir=$U,workdir=$W,$MC"
	scope_run "each path alone: the full check's lines (clean, kernel-made)"
	# the whiteout the rename left in lower1 gone (a layout fstests
	# overlay/055 makes): /a leads through lower1 to lower2's dir
	setup '
		rm $L1/a
		setfattr -n trusted.overlay.redirect -v /a $U/c2
	' || return
	run_fsck -n -o "$OPTS"
	grep -q '^RD_DUPLICATE upper:/c2: ' "$S/fsck.out" ||
		{ not_ok "$SC: the duplicate across layers is reported"; kt_show_fsck; return; }
	scope_run "each path alone: the full check's lines (damaged)"
	scope_run "after each fix: the kept list is a new full check's" --edits 40
	scope_mount_reads
}

# A re-point of a bad redirect is judged against every redirect of the
# upper, which a scoped fix sees only through the links: the browser's
# fix must re-point b2 (nothing else shows /b) and drop a1's redirect
# (a2, which sorts after it, shows /a), as -y does.
scenario scope_repoint
sc_scope_repoint() {
	stack_new "$SC"
	scope_need || return
	OPTS=$(std_opts "$RDI")
	setup '
		mkdir -p $L1/a/sub $L1/b
		echo x > $L1/a/sub/x; echo bb > $L1/b/bb
		ovl_mount "$OPTS"
		mv $M/a $M/a2; echo new > $M/a2/new
		mv $M/b $M/b2; chmod 600 $M/b2/bb
		ovl_umount
	' || return
	cp -a "$U/a2" "$U/a1"
	setfattr -n trusted.overlay.redirect -v "x//y" "$U/a1"
	setfattr -n trusted.overlay.redirect -v "x//y" "$U/b2"
	scope_run "edits: each fix as the browser applies it" --edits 10
	_bad=
	[ "$(getfattr --only-values -h -n trusted.overlay.redirect "$U/b2" 2>/dev/null)" = /b ] ||
		_bad="$_bad b2 not re-pointed to /b;"
	getfattr -h -n trusted.overlay.redirect "$U/a1" > /dev/null 2>&1 &&
		_bad="$_bad a1 still has a redirect;"
	[ "$(getfattr --only-values -h -n trusted.overlay.redirect "$U/a2" 2>/dev/null)" = a ] ||
		_bad="$_bad a2 lost its redirect;"
	if [ -z "$_bad" ]; then
		ok "$SC: b2 re-pointed, a1's redirect dropped, a2's kept (as -y)"
	else
		not_ok "$SC: b2 re-pointed, a1's redirect dropped, a2's kept (as -y)"
		diag "$_bad"
	fi
	scope_mount_reads
}

# Two copies away from their origin's path (the container renamed k to
# d1/k2; k2 copied offline to d0/k3, which the walk reaches first, so it
# keeps the origin): the scoped check of either alone must bring in the
# other, to say which one the full check keeps.
scenario scope_copies
sc_scope_copies() {
	stack_new "$SC"
	scope_need || return
	OPTS=$(std_opts "index=off")
	setup '
		mkdir -p $L1/d0 $L1/d1; echo kk > $L1/k
		ovl_mount "$OPTS"; mv $M/k $M/d1/k2; touch $M/d0; ovl_umount
	' || return
	cp -a "$U/d1/k2" "$U/d0/k3" || return
	scope_run "every path alone says what the full check says"
	scope_run "edits: each fix as the browser applies it" --edits 10
	_bad=
	[ -n "$(xattr_hex origin "$U/d0/k3")" ] || _bad="$_bad d0/k3 lost its origin;"
	[ -z "$(xattr_hex origin "$U/d1/k2")" ] || _bad="$_bad d1/k2 still has its origin;"
	if [ -z "$_bad" ]; then
		ok "$SC: d1/k2's origin dropped, d0/k3's kept (as -y)"
	else
		not_ok "$SC: d1/k2's origin dropped, d0/k3's kept (as -y)"
		diag "$_bad"
	fi
	scope_mount_reads
}

# A metacopy file whose lower data an image update moved to where the
# view shows it (mv/sub/f2): the browser's fix copies the data up (a
# re-point would show one lower inode at two paths), as -y does.
scenario scope_mc_moved
sc_scope_mc_moved() {
	stack_new "$SC"
	scope_need || return
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/mv/sub; echo mvdata > $L1/mv/f
		ovl_mount "$OPTS"; chown 3:2 $M/mv/f; ovl_umount
	' || return
	mv "$L1/mv/f" "$L1/mv/sub/f2"
	scope_run "every path alone says what the full check says"
	scope_run "edits: each fix as the browser applies it" --edits 10
	_bad=
	[ -z "$(xattr_hex metacopy "$U/mv/f")" ] || _bad="$_bad mv/f still metacopy;"
	[ "$(cat "$U/mv/f" 2>&1)" = mvdata ] || _bad="$_bad mv/f holds no data;"
	if [ -z "$_bad" ]; then
		ok "$SC: mv/f's data copied up (as -y)"
	else
		not_ok "$SC: mv/f's data copied up (as -y)"
		diag "$_bad"
	fi
	scope_mount_reads
}
