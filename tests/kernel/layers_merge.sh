# overlay-layers merge in place (no --into), the kernel as judge: the
# stack's only lower layer, read alone, must show the merged view of
# before (view.py: path, type, mode, owner, size, data, target, rdev,
# mtime, nlink and hard-link group, xattrs), and so must the stack
# mounted again over the emptied upper; killed at every change, the next
# run finishes the merge, and --undo after a kill gives back the stack of
# before (a sanitizer build kills at every fifth change: LM_STRIDE).
# The layers live on one small ext4 image, so that a byte copy
# of it restores them with the same inodes (origin handles stay true).
# Needs layers.sh's helpers (run_layers, ly_rc, ly_view).

# lm_stack: the stack on $S/fs (ext4 through a loop device), made by the
# kernel, and the image's pristine copy in $S/pristine.img.
lm_stack() {
	lm_image || return 2
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/etc $L1/old/sub $L1/old/deep $L1/gone/in $L1/keep $L1/bin $L1/acl
		echo conf > $L1/etc/conf; echo pw > $L1/etc/passwd
		echo x > $L1/old/sub/x; echo y > $L1/old/y; echo z > $L1/old/deep/z
		echo in > $L1/gone/in/f; echo k > $L1/keep/k; echo mv > $L1/mvf
		head -c 70000 /dev/urandom > $L1/big
		printf "#!/bin/sh\n" > $L1/bin/tool; echo a > $L1/acl/f
		mkdir -p $L1/hl $L1/ml; echo a > $L1/hl/a; ln $L1/hl/a $L1/hl/b
		echo x > $L1/ml/x; ln $L1/ml/x $L1/ml/y; ln $L1/ml/x $L1/y3
		setfattr -n user.low -v l $L1/etc/conf
		setfattr -n user.gone -v g $L1/acl/f
		find $L1 -exec touch -h -d @1700000000 {} +
		ovl_mount "$OPTS"
		echo changed >> $M/etc/conf; rm $M/etc/passwd
		mv $M/old/deep $M/deep2
		mv $M/old $M/new; echo n > $M/new/added
		mkdir $M/fresh; mv $M/new/sub $M/fresh/sub; echo s > $M/fresh/sub/s2
		rm -rf $M/gone; mkdir $M/gone; echo again > $M/gone/again
		chown 7:8 $M/big; chmod 4755 $M/big; ln $M/big $M/big2
		mv $M/mvf $M/keep/mvf2
		echo h > $M/h; ln $M/h $M/h2; setfattr -n user.mine -v m $M/h
		ln -s ../etc/conf $M/keep/link; mkfifo $M/keep/fifo; mknod $M/keep/null c 1 3
		setcap cap_net_raw+ep $M/bin/tool
		setfacl -m u:1234:rw $M/acl/f; setfattr -x user.gone $M/acl/f
		echo more >> $M/hl/a; chown 3:3 $M/ml/x
		touch -d @1600000000 $M/keep
		ovl_umount
		test -n "$(getfattr -n trusted.overlay.redirect $U/new 2>/dev/null)"
		test -n "$(getfattr -n trusted.overlay.metacopy $U/big 2>/dev/null)"
		test -n "$(getfattr -n trusted.overlay.redirect $U/fresh/sub 2>/dev/null)"
	' || return 1
	lm_keep
}

# lm_image: a small ext4 image mounted on $S/fs (non-zero without loop
# devices), the layers in it: $L1 $L2 $L3 (lowers) $U $W.
lm_image() {
	truncate -s 16M "$S/fs.img" && mkfs.ext4 -q -F "$S/fs.img" > /dev/null 2>&1 &&
		mkdir -p "$S/fs" && mount -o loop "$S/fs.img" "$S/fs" || return 1
	L1=$S/fs/l1 L2=$S/fs/l2 L3=$S/fs/l3 U=$S/fs/u W=$S/fs/w LM_ALONE=
	mkdir -p "$L1" "$U" "$W"
}

# lm_keep: the image as it is now is the one lm_restore gives back.
lm_keep() {
	umount "$S/fs" && cp --sparse=always "$S/fs.img" "$S/pristine.img" &&
		mount -o loop "$S/fs.img" "$S/fs"
}

# lm_restore: the layers as lm_stack made them, from a copy of the image
# under a new name: mount -o loop would take up again a loop device still
# bound to the old name (autoclear lets go of it later), with its cache.
lm_restore() {
	LM_N=$((${LM_N:-0} + 1))
	umount "$S/fs" && rm -f "$S"/fs*.img &&
		cp --sparse=always "$S/pristine.img" "$S/fs$LM_N.img" &&
		mount -o loop "$S/fs$LM_N.img" "$S/fs"
}

# lm_merged NAME [remount]: the lower alone (and with `remount` the stack
# mounted again) shows the view of before; upper empty, W only the
# journals; no overlay xattr left. With layers below ($LM_ALONE: the
# mount options of the lowers without an upper), the top lower over them
# shows that view, and keeps the marks it needs.
lm_merged() {
	lm_lower_same "$1"
	if [ -n "${2:-}" ]; then
		ly_view "$S/view.after"
		cmp -s "$S/view.before" "$S/view.after" ||
			rp_bad "$1: the remounted stack differs: $(diff "$S/view.before" "$S/view.after" | head -6)"
	fi
	[ -z "$(ls -A "$U")" ] || rp_bad "$1: the upper is not empty: $(ls -A "$U" | head -3)"
	_left=$(ls -A "$W" | grep -v '^overlay-fsck-undo\.' | grep -v '^work$' | grep -v '^index$')
	[ -z "$_left" ] || rp_bad "$1: W holds $_left"
	[ -z "$LM_ALONE" ] && getfattr -R -h -d -m 'trusted\.overlay\.' "$L1" 2>/dev/null | grep -q . &&
		rp_bad "$1: overlay xattrs in the lower"
	return 0
}

# lm_lower_same NAME: the lower alone (over the layers below it, mounted
# with $LM_ALONE, when set) shows the view of before.
lm_lower_same() {
	if [ -n "$LM_ALONE" ]; then
		mount_list "$S/view.lower" "$LM_ALONE" python3 "$top_srcdir/tests/kernel/view.py"
	else
		python3 "$top_srcdir/tests/kernel/view.py" "$L1" > "$S/view.lower"
	fi
	cmp -s "$S/view.before" "$S/view.lower" ||
		rp_bad "$1: the lower alone differs: $(diff "$S/view.before" "$S/view.lower" | head -6)"
}

# lm_fold_judged: the view of the stack $OPTS kept, merge -y, and the
# lower alone shows it (non-zero when the view cannot be listed).
lm_fold_judged() {
	ly_view "$S/view.before" || { not_ok "$SC: merged view before"; return 1; }
	_bad=
	run_layers merge -y -o "$OPTS"
	ly_rc 0
	lm_lower_same "-y"
}

# lm_kill_each SC N: the merge of N changes killed before each change (the
# next run finishes it) and after it (--undo gives back the view of
# before); a sanitizer build, run for memory and thread errors, kills at
# every fifth change only (LM_STRIDE); the commit, last, always.
lm_kill_each() {
	_stride=${LM_STRIDE:-1}
	[ -n "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ] && _stride=${LM_STRIDE:-5}
	_k=1
	while [ "$_k" -le "${2:-0}" ]; do
		_bad=
		lm_restore || rp_bad "cannot restore the image"
		_rc=0
		OVL_FAULT_WRITE=$_k timeout 60 "$LAYERS" merge -y -o "$OPTS" > /dev/null 2>&1 || _rc=$?
		[ "$_rc" -eq 137 ] || rp_bad "the run killed before change $_k exited $_rc"
		run_layers merge -y -o "$OPTS"
		ly_rc 0
		lm_merged "killed before $_k, run again"
		lm_restore || rp_bad "cannot restore the image"
		_rc=0
		OVL_FAULT_WRITE=$_k OVL_FAULT_AFTER=1 timeout 60 "$LAYERS" merge -y -o "$OPTS" \
			> /dev/null 2>&1 || _rc=$?
		[ "$_rc" -eq 137 ] || rp_bad "the run killed after change $_k exited $_rc"
		run_layers --undo "$(ls "$W"/overlay-fsck-undo.* | head -1)" -o "$OPTS"
		if [ "$_k" -lt "$2" ]; then
			ly_rc 0
			ly_view "$S/view.undone"
			cmp -s "$S/view.before" "$S/view.undone" ||
				rp_bad "undone after $_k: $(diff "$S/view.before" "$S/view.undone" | head -6)"
			[ -e "$W/overlay-layers-merge" ] && rp_bad "undone after $_k: the attic is left"
		else
			ly_rc 4	# the commit is made: nothing to undo, the merge is whole
			lm_merged "killed after the commit"
		fi
		rp_done "$1: killed before change $_k of $2: the next run finishes; killed after it: --undo restores the view"
		[ "$_k" -lt "$2" ] && [ $((_k + _stride)) -gt "$2" ] && _k=$(($2 - _stride))
		_k=$((_k + _stride))
	done
}

# The whole stack is the kernel's view: dir renamed (nested, and into a
# new dir), opaque dir, whiteouts, metacopy files (chown, set-id, a file
# capability, an ACL, a removed xattr, two names), a renamed metacopy
# file, upper hard links, lower hard links the index shows copied up
# (data written through one name; chown of a metacopy file of three
# names), a symlink, a fifo, a device, dir times.
scenario layers_merge_inplace
sc_layers_merge_inplace() {
	stack_new "$SC"
	_rc=0
	lm_stack || _rc=$?
	[ "$_rc" -eq 2 ] && skip "$SC: merge in place" "no ext4 loop image"
	[ "$_rc" -eq 0 ] || return
	ly_view "$S/view.before" || { not_ok "$SC: merged view before"; return; }
	_bad=
	snapshot "$S/snap.before" $(kt_layers)
	run_layers merge -n -o "$OPTS"
	ly_rc 0
	snapshot "$S/snap.after" $(kt_layers)
	cmp -s "$S/snap.before" "$S/snap.after" || rp_bad "-n changed the layers"
	grep -q '^would move lower1:/old -> work:/overlay-layers-merge/s' "$S/layers.out" ||
		rp_bad "no staging of the renamed dir: $(head -3 "$S/layers.out")"
	rp_done "$SC: -n prints the plan and writes nothing"
	_bad=
	run_layers merge -y -o "$OPTS"
	ly_rc 0
	_n=$(sed -n 's/^made \([0-9]*\);.*/\1/p' "$S/layers.out")
	lm_merged "-y" remount
	[ "$(stat -c %i "$L1/h")" = "$(stat -c %i "$L1/h2")" ] || rp_bad "h and h2 are two inodes"
	[ "$(stat -c %i "$L1/big")" = "$(stat -c %i "$L1/big2")" ] || rp_bad "big and big2 are two inodes"
	[ "$(stat -c %i "$L1/hl/a")" = "$(stat -c %i "$L1/hl/b")" ] || rp_bad "hl/a and hl/b are two inodes"
	[ "$(stat -c %i%U "$L1/ml/x")" = "$(stat -c %i%U "$L1/y3")" ] || rp_bad "ml/x and y3 differ"
	getcap "$L1/bin/tool" | grep -q cap_net_raw || rp_bad "the file capability is gone"
	[ "$(stat -c %a "$L1/big")" = 4755 ] || rp_bad "big lost its set-id bit"
	run_fsck -n -o "$OPTS"
	[ "$FSCK_RC" -eq 0 ] || rp_bad "fsck.overlay -n after the merge exits $FSCK_RC"
	rp_done "$SC: -y: the lower alone and the remounted stack show the view of before, hard links one inode, capability and set-id kept, upper and work emptied ($_n changes)"
	_bad=
	run_layers --undo "$(ls "$W"/overlay-fsck-undo.* | head -1)" -o "$OPTS"
	ly_rc 4
	grep -q "was committed" "$S/layers.err" || rp_bad "no word of the commit: $(cat "$S/layers.err")"
	rp_done "$SC: --undo of a committed merge is refused, exit 4"

	_bad=
	lm_restore || rp_bad "cannot restore the image"
	_rc=0
	OVL_FAULT_WRITE=5 OVL_FAULT_SIGNAL=INT timeout 60 "$LAYERS" merge -y -o "$OPTS" \
		> /dev/null 2> "$S/int.err" || _rc=$?
	[ "$_rc" -eq 32 ] || rp_bad "^C at change 5: exit $_rc, not 32"
	grep -q "stopped before its commit: merge -y again" "$S/int.err" ||
		rp_bad "no word of what to do: $(cat "$S/int.err")"
	run_layers merge -n -o "$OPTS"
	grep -q "left W/overlay-layers-merge: merge -y rolls it back" "$S/layers.err" ||
		rp_bad "-n does not say a merge stopped: $(head -2 "$S/layers.err")"
	run_layers merge -y -o "$OPTS"
	ly_rc 0
	lm_merged "interrupted, run again"
	rp_done "$SC: ^C between changes: exit 32, what to do said (by -n too); the next run finishes"

	lm_kill_each "$SC" "$_n"
	umount "$S/fs"
}

# Who else uses the lower: refused without --force, one line naming it.
scenario layers_merge_users
sc_layers_merge_users() {
	stack_new "$SC"
	OPTS=$(std_opts "$MC")
	setup '
		echo a > $L1/a
		ovl_mount "$OPTS"
		echo b > $M/b
		ovl_umount
	' || return
	_bad=
	mkdir -p "$S/o/u" "$S/o/w" "$S/o/m"
	printf 'overlay %s overlay lowerdir=%s,upperdir=%s,workdir=%s 0 0\n' \
		"$S/o/m" "$L1" "$S/o/u" "$S/o/w" > "$S/fstab"
	export LIBMOUNT_FSTAB="$S/fstab"
	run_layers merge -n -o "$OPTS"
	ly_rc 4
	grep -q "used by the fstab entry for $S/o/m too" "$S/layers.err" ||
		rp_bad "fstab: $(cat "$S/layers.err")"
	run_layers merge -n --force -o "$OPTS"
	ly_rc 0
	unset LIBMOUNT_FSTAB
	rp_done "$SC: a lower an fstab entry uses is refused (exit 4, the entry named); --force plans"
	_bad=
	mount -t overlay overlay -o "lowerdir=$L1,upperdir=$S/o/u,workdir=$S/o/w" "$S/o/m"
	run_layers merge -n -o "$OPTS"
	umount "$S/o/m"
	ly_rc 4
	grep -q "used by the overlay mounted on $S/o/m (its lowerdir) too" "$S/layers.err" ||
		rp_bad "mounted: $(cat "$S/layers.err")"
	rp_done "$SC: a lower a mounted overlay uses is refused, the mount named"
	_bad=
	# a containers-storage/Docker overlay driver dir: layer A's diff is the
	# lower, layer B lists A's short link in its lower file
	_drv=$S/store/overlay
	mkdir -p "$_drv/l" "$_drv/A/diff" "$_drv/B/diff" "$S/su" "$S/sw"
	echo SHORTA > "$_drv/A/link"
	echo l/SHORTA > "$_drv/B/lower"
	ln -s ../A/diff "$_drv/l/SHORTA"
	run_layers merge -n -w "$S/sw" "$S/su" "$_drv/A/diff"
	ly_rc 4
	grep -q "container store layer $_drv/A/diff (layer B lists it as a lower)" "$S/layers.err" ||
		rp_bad "store: $(cat "$S/layers.err")"
	rp_done "$SC: a container store's layer another layer lists is refused, that layer named"
	_bad=
	mkdir -p "$S/t" && mount -t tmpfs tmpfs "$S/t" && mkdir -p "$S/t/u" "$S/t/w"
	run_layers merge -n -w "$S/t/w" "$S/t/u" "$L1"
	umount "$S/t"
	ly_rc 4
	grep -q "different filesystems" "$S/layers.err" || rp_bad "other fs: $(cat "$S/layers.err")"
	run_layers merge -n -o "lowerdir=$L1::$D1,upperdir=$S/su,workdir=$S/sw,metacopy=on"
	ly_rc 4
	grep -q "not with data-only layers" "$S/layers.err" ||
		rp_bad "a data-only layer: $(cat "$S/layers.err")"
	rp_done "$SC: an upper on another filesystem and a data-only layer are refused, exit 4"
}

# The user.overlay. namespace (userxattr: no redirects, no metacopy):
# whiteouts, an opaque dir, copies with xattrs; no user.overlay. name is
# left in the lower. A lower hard link the index shows copied up under
# another name becomes a link of the copy.
scenario layers_merge_userxattr_index
sc_layers_merge_userxattr_index() {
	stack_new "$SC"
	OPTS=$(std_opts "userxattr")
	setup '
		mkdir -p $L1/d/in $L1/keep; echo a > $L1/d/in/a; echo k > $L1/keep/k; echo g > $L1/gone
		echo c > $L1/keep/c
		ovl_mount "$OPTS"
		rm $M/gone; rm -rf $M/d; mkdir $M/d; echo new > $M/d/new
		echo more >> $M/keep/c; setfattr -n user.mine -v m $M/keep/c; echo n > $M/keep/n
		ovl_umount
		test -n "$(getfattr -n user.overlay.opaque $U/d 2>/dev/null)"
	' || return
	LM_ALONE=
	lm_fold_judged || return
	getfattr -R -h -d -m 'user\.overlay\.' "$L1" 2>/dev/null | grep -q . &&
		rp_bad "user.overlay. xattrs in the lower"
	[ -z "$(ls -A "$U")" ] || rp_bad "the upper is not empty"
	rp_done "$SC: userxattr: the lower alone shows the view of before, no user.overlay. name left"

	stack_new "$SC"
	OPTS=$(std_opts "$MCI")
	setup '
		echo h > $L1/a; ln $L1/a $L1/b
		ovl_mount "$OPTS"
		echo more >> $M/a
		ovl_umount
	' || return
	ly_view "$S/view.before" || { not_ok "$SC: merged view before"; return; }
	_bad=
	run_layers merge -n --json -o "$OPTS"
	ly_rc 0
	jq -e '.exit == 0 and .command == "merge" and .dry_run and
	       ([.changes[] | select(.change == "link" and .path == "/b")] | length) == 1' \
		"$S/layers.out" > /dev/null || rp_bad "JSON: $(head -c 300 "$S/layers.out")"
	run_layers merge -y -o "$OPTS"
	ly_rc 0
	lm_lower_same "-y"
	[ "$(stat -c %i "$L1/a")" = "$(stat -c %i "$L1/b")" ] || rp_bad "a and b are two inodes"
	rp_done "$SC: a lower hard link the index shows copied up: linked to the copy (-n --json plans it), one inode"
}

# Into the top lower of three, the kernel as judge: L1 over the same
# lowers, mounted without an upper, and the stack again over its emptied
# upper, show the view of before. L1 was itself an upper over L2:L3 (a
# metacopy file, a full copy, dirs renamed, a whiteout, an opaque dir of
# its own); the upper deletes names of L1, L2 and L3, removes a dir,
# renames dirs of L1 (one to a new parent: its relative redirect made
# absolute), of L2 and of L2+L3 (one holding whiteouts), changes
# owners (metacopy data in L2, one renamed), sets a capability and an
# xattr, writes through one of two hard links of L2, links names of its
# own, makes a dir opaque over L2, writes in L1's opaque dir, and renames
# a dir L1 and L2 both hold (L1's metacopy file in it finds its data in
# L2 through the dir's new redirect).
scenario layers_merge_lowers
sc_layers_merge_lowers() {
	stack_new "$SC"
	lm_image || skip "$SC: merge in place" "no ext4 loop image"
	[ -d "$L1" ] || return
	mkdir -p "$L2" "$L3" "$S/fs/w1"
	OPTS="lowerdir=$L1:$L2:$L3,upperdir=$U,workdir=$W,$MCI"
	LM_ALONE="lowerdir=$L1:$L2:$L3,$MC"
	setup '
		mkdir -p $L2/a $L2/emptyd $L2/bdir/sub $L2/c $L2/h $L2/o2/sub $L2/d2 $L2/op $L2/s1 $L2/xa
		echo 1 > $L2/a/f1; echo 2 > $L2/a/f2; echo x > $L2/bdir/x; echo y > $L2/bdir/sub/y
		echo 2 > $L2/c/file2; head -c 70000 /dev/urandom > $L2/c/file3; echo t > $L2/c/tool
		echo a > $L2/h/a; ln $L2/h/a $L2/h/b; echo o > $L2/o2/old1; echo o > $L2/o2/sub/old2
		echo z > $L2/d2/z; echo p > $L2/op/p; echo m > $L2/s1/meta; echo f > $L2/s1/full
		echo g > $L2/l2gone; echo f > $L2/xa/f
		mkdir -p $L3/a $L3/deep3 $L3/bdir; echo 3 > $L3/a/f3; echo q > $L3/deep3/q
		echo 3 > $L3/bdir/from3
		find $L2 $L3 -exec touch -h -d @1700000000 {} +
		mount -t overlay overlay -o "lowerdir=$L2:$L3,upperdir=$L1,workdir=$S/fs/w1,$MC" $M
		chown 5:5 $M/s1/meta; echo more >> $M/s1/full; mv $M/d2 $M/d1moved; rm $M/l2gone
		rm -rf $M/op; mkdir $M/op; echo new > $M/op/new; echo l1 > $M/l1only
		mkdir $M/l1dir; echo q > $M/l1dir/q; mv $M/deep3 $M/deep3moved
		ovl_umount
		rm -rf $S/fs/w1
		ovl_mount "$OPTS"
		rm $M/a/f2 $M/a/f3; rmdir $M/emptyd; mv $M/bdir $M/bdir2; echo n > $M/bdir2/new
		mv $M/d1moved $M/d1again; chown 7:7 $M/c/file2; chown 8:8 $M/c/file3
		mv $M/c/file3 $M/file3moved; chown 9:9 $M/s1/meta; rm $M/s1/full
		echo more >> $M/h/a; echo n > $M/newfile; ln $M/newfile $M/newfile2
		rm -rf $M/o2; mkdir $M/o2; echo x > $M/o2/x; echo more > $M/op/new2
		setfattr -n user.x -v 1 $M/xa/f; setcap cap_net_raw+ep $M/c/tool
		rm $M/l1only; rm -rf $M/l1dir
		mkdir $M/fresh; mv $M/a $M/fresh/a; mv $M/deep3moved $M/fresh/deep3back
		mv $M/s1 $M/s1new; mv $M/op $M/opnew
		ovl_umount
		test -n "$(getfattr -n trusted.overlay.redirect $U/bdir2 2>/dev/null)"
		test -n "$(getfattr -n trusted.overlay.metacopy $U/file3moved 2>/dev/null)"
		test -n "$(getfattr -n trusted.overlay.redirect $L1/d1moved 2>/dev/null)"
		test -n "$(getfattr -n trusted.overlay.metacopy $L1/s1/meta 2>/dev/null)"
	' || return
	lm_keep || return
	ly_view "$S/view.before" || { not_ok "$SC: merged view before"; return; }
	_bad=
	snapshot "$S/snap.before" "$L2" "$L3"
	run_layers merge -y -o "$OPTS"
	ly_rc 0
	_n=$(sed -n 's/^made \([0-9]*\);.*/\1/p' "$S/layers.out")
	lm_merged "-y" remount
	snapshot "$S/snap.after" "$L2" "$L3"
	cmp -s "$S/snap.before" "$S/snap.after" || rp_bad "the layers below L1 changed"
	[ "$(stat -c %i "$L1/h/a")" = "$(stat -c %i "$L1/h/b")" ] || rp_bad "h/a and h/b are two inodes"
	[ "$(stat -c %i "$L1/newfile")" = "$(stat -c %i "$L1/newfile2")" ] ||
		rp_bad "newfile and newfile2 are two inodes"
	[ -c "$L1/a" ] || [ -c "$L1/fresh/a/f2" ] || true
	[ "$(stat -c %t:%T "$L1/s1new/full" 2>/dev/null)" = 0:0 ] || rp_bad "no whiteout over L2's s1/full"
	[ "$(stat -c %t:%T "$L1/s1" 2>/dev/null)" = 0:0 ] || rp_bad "no whiteout over L2's s1"
	[ -e "$L1/l1only" ] && rp_bad "L1's own deleted file is there (or a whiteout for it)"
	[ "$(getfattr --only-values -n trusted.overlay.redirect "$L1/bdir2" 2>/dev/null)" = /bdir ] ||
		rp_bad "bdir2 has no redirect to /bdir"
	[ "$(getfattr --only-values -n trusted.overlay.opaque "$L1/o2" 2>/dev/null)" = y ] ||
		rp_bad "o2 is not opaque"
	run_fsck -n -o "$OPTS"
	[ "$FSCK_RC" -eq 0 ] || rp_bad "fsck.overlay -n after the merge exits $FSCK_RC: $(head -3 "$S/fsck.out")"
	rp_done "$SC: -y: L1 over L2:L3 without an upper, and the stack again, show the view of before; L2 and L3 untouched; whiteouts, redirect and opaque marks where the lowers below need them; fsck -n clean ($_n changes)"
	lm_kill_each "$SC" "$_n"
	umount "$S/fs"
}

# Into the top lower of two with userxattr (no redirects, no metacopy):
# L1 keeps a whiteout (char 0/0) over L2's name and a user.overlay.opaque
# dir over L2's dir, not over its own; then a stack whose copied-up file
# has a hard link in a dir only L2 holds (the index shows it copied up):
# L1 has no place for that name, the merge is refused before any change.
scenario layers_merge_lowers_userxattr
sc_layers_merge_lowers_userxattr() {
	stack_new "$SC"
	OPTS="lowerdir=$L1:$L2,upperdir=$U,workdir=$W,userxattr"
	setup '
		mkdir -p $L2/d/in $L2/keep $L1/keep $L1/own; echo a > $L2/d/in/a; echo g > $L2/gone
		echo k > $L2/keep/k; echo o > $L1/own/o; echo m > $L1/mine
		ovl_mount "$OPTS"
		rm $M/gone $M/mine; rm -rf $M/d $M/own; mkdir $M/d $M/own; echo new > $M/d/new
		echo more >> $M/keep/k; rm $M/keep/k; echo n > $M/keep/n
		ovl_umount
		test -n "$(getfattr -n user.overlay.opaque $U/d 2>/dev/null)"
	' || return
	LM_ALONE="lowerdir=$L1:$L2,userxattr"
	lm_fold_judged || return
	[ "$(stat -c %F:%t:%T "$L1/gone" 2>/dev/null)" = "character special file:0:0" ] ||
		rp_bad "no whiteout over L2's gone"
	[ -e "$L1/mine" ] && rp_bad "a whiteout over L1's own file"
	[ "$(getfattr --only-values -n user.overlay.opaque "$L1/d" 2>/dev/null)" = y ] ||
		rp_bad "d is not opaque"
	getfattr -n user.overlay.opaque "$L1/own" > /dev/null 2>&1 && rp_bad "own is opaque over nothing"
	run_fsck -n -o "$OPTS"
	[ "$FSCK_RC" -eq 0 ] || rp_bad "fsck.overlay -n after the merge exits $FSCK_RC"
	rp_done "$SC: userxattr: L1 over L2 shows the view of before, a whiteout and an opaque mark where L2 needs them, none over L1's own; fsck -n clean"

	stack_new "$SC"
	OPTS="lowerdir=$L1:$L2,upperdir=$U,workdir=$W,$MCI"
	setup '
		mkdir -p $L2/h $L2/g; echo a > $L2/h/a; ln $L2/h/a $L2/g/b
		ovl_mount "$OPTS"
		echo more >> $M/h/a
		ovl_umount
	' || return
	_bad=
	snapshot "$S/snap.before" $(kt_layers)
	run_layers merge -y -o "$OPTS"
	ly_rc 4
	grep -q "/g/b: a lower hard link of a copied-up file in a dir only a layer below holds" \
		"$S/layers.err" || rp_bad "no word of /g/b: $(cat "$S/layers.err")"
	snapshot "$S/snap.after" $(kt_layers)
	cmp -s "$S/snap.before" "$S/snap.after" || rp_bad "the refused merge changed the layers"
	rp_done "$SC: a hard link L1 has no dir for is refused (exit 4, named), nothing changed"
}
