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
	truncate -s 16M "$S/fs.img" && mkfs.ext4 -q -F "$S/fs.img" > /dev/null 2>&1 &&
		mkdir -p "$S/fs" && mount -o loop "$S/fs.img" "$S/fs" || return 2
	L1=$S/fs/l1 U=$S/fs/u W=$S/fs/w
	mkdir -p "$L1" "$U" "$W"
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
# journals; no overlay xattr left.
lm_merged() {
	python3 "$top_srcdir/tests/kernel/view.py" "$L1" > "$S/view.lower"
	cmp -s "$S/view.before" "$S/view.lower" ||
		rp_bad "$1: the lower alone differs: $(diff "$S/view.before" "$S/view.lower" | head -6)"
	if [ -n "${2:-}" ]; then
		ly_view "$S/view.after"
		cmp -s "$S/view.before" "$S/view.after" ||
			rp_bad "$1: the remounted stack differs: $(diff "$S/view.before" "$S/view.after" | head -6)"
	fi
	[ -z "$(ls -A "$U")" ] || rp_bad "$1: the upper is not empty: $(ls -A "$U" | head -3)"
	_left=$(ls -A "$W" | grep -v '^overlay-fsck-undo\.' | grep -v '^work$' | grep -v '^index$')
	[ -z "$_left" ] || rp_bad "$1: W holds $_left"
	getfattr -R -h -d -m 'trusted\.overlay\.' "$L1" 2>/dev/null | grep -q . &&
		rp_bad "$1: overlay xattrs in the lower"
	return 0
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

	# every change killed: before it, the next run finishes the merge;
	# just after it, --undo gives back the stack of before
	# (a sanitizer build, run for memory and thread errors, kills at
	# every fifth change only: LM_STRIDE)
	_stride=${LM_STRIDE:-1}
	[ -n "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ] && _stride=${LM_STRIDE:-5}
	_k=1
	while [ "$_k" -le "${_n:-0}" ]; do
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
		if [ "$_k" -lt "$_n" ]; then
			ly_rc 0
			ly_view "$S/view.undone"
			cmp -s "$S/view.before" "$S/view.undone" ||
				rp_bad "undone after $_k: $(diff "$S/view.before" "$S/view.undone" | head -6)"
			[ -e "$W/overlay-layers-merge" ] && rp_bad "undone after $_k: the attic is left"
		else
			ly_rc 4	# the commit is made: nothing to undo, the merge is whole
			lm_merged "killed after the commit"
		fi
		rp_done "$SC: killed before change $_k of $_n: the next run finishes; killed after it: --undo restores the view"
		# the commit, last, is always among them
		[ "$_k" -lt "$_n" ] && [ $((_k + _stride)) -gt "$_n" ] && _k=$((_n - _stride))
		_k=$((_k + _stride))
	done
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
	run_layers merge -n -w "$S/sw" "$S/su" "$L1" "$L2"
	ly_rc 4
	grep -q "only lower layer" "$S/layers.err" || rp_bad "two lowers: $(cat "$S/layers.err")"
	rp_done "$SC: an upper on another filesystem and two lowers are refused, exit 4"
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
	ly_view "$S/view.before" || { not_ok "$SC: merged view before"; return; }
	_bad=
	run_layers merge -y -o "$OPTS"
	ly_rc 0
	python3 "$top_srcdir/tests/kernel/view.py" "$L1" > "$S/view.lower"
	cmp -s "$S/view.before" "$S/view.lower" ||
		rp_bad "the lower alone differs: $(diff "$S/view.before" "$S/view.lower" | head -6)"
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
	python3 "$top_srcdir/tests/kernel/view.py" "$L1" > "$S/view.lower"
	cmp -s "$S/view.before" "$S/view.lower" ||
		rp_bad "the lower alone differs: $(diff "$S/view.before" "$S/view.lower" | head -6)"
	[ "$(stat -c %i "$L1/a")" = "$(stat -c %i "$L1/b")" ] || rp_bad "a and b are two inodes"
	rp_done "$SC: a lower hard link the index shows copied up: linked to the copy (-n --json plans it), one inode"
}
