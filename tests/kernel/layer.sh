# Layer-level problems that need a particular filesystem or an unprivileged
# reader: a filesystem without a uuid, an xattr value no real overlay
# xattr can have, and entries the checker is not allowed to read.

# Run a command as an unprivileged user (setpriv from util-linux).
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

# ramfs has no uuid (and no file handles): the kernel mounts a lower there
# all the same, and origins of it could only carry a null uuid.
scenario ly_uuid_none
sc_ly_uuid_none() {
	stack_new ly_uuid_none
	mount -t ramfs ramfs "$L1" || { skip "$SC: cannot mount ramfs"; return; }
	setup 'mkdir $L1/d; echo data > $L1/d/f' || return
	OPTS=$(std_opts)
	expect_note "$SC" STK_UUID_NONE lower1:/
	expect_kernel "$SC: kernel: the stack mounts and reads" '
		test "$(cat $M/d/f)" = data
	'
}

# A redirect longer than any path: the kernel cannot read it and shows the
# dir as a plain upper dir; a tmpfs upper stores such a value.
scenario ly_xattr_huge
sc_ly_xattr_huge() {
	stack_new ly_xattr_huge
	mkdir "$S/t"
	mount -t tmpfs tmpfs "$S/t" || { skip "$SC: cannot mount tmpfs"; return; }
	U=$S/t/u W=$S/t/w
	mkdir "$U" "$W"
	setup 'mkdir $L1/d $U/d; echo lower > $L1/d/f
	       setfattr -n trusted.overlay.redirect -v "/$(head -c 4999 /dev/zero | tr "\0" a)" $U/d' ||
		return
	OPTS=$(std_opts "$MC")
	expect_problem "$SC" LY_XATTR_HUGE upper:/d
	if grep -q "^RD_" "$S/fsck.out"; then
		not_ok "$SC: no redirect check runs on a value that was not read"
	else
		ok "$SC: no redirect check runs on a value that was not read"
	fi
	expect_errno "$SC" lstat d OK
}

# An unprivileged run (a rootless container engine checking its own
# userxattr stack): a dir it may not read makes exit 8 with the problem,
# an xattr it may list but not read is reported, never skipped silently.
scenario ly_unreadable
sc_ly_unreadable() {
	stack_new ly_unreadable
	command -v setpriv >/dev/null || { skip "$SC: setpriv missing"; return; }
	setup 'mkdir $L1/d $U/sub; echo hi > $U/f
	       setfattr -n user.overlay.impure -v y $U
	       setfattr -n user.overlay.origin -v 0x00fb15 $U/f
	       chmod 000 $U/f $U/sub
	       chmod 755 $KT_ROOT $S $L1 $L2 $D1 $U $W' || return
	OPTS=$(std_opts userxattr)
	snapshot "$S/snap.before" $(kt_layers)
	FSCK_RC=0
	as_nobody "$FSCK" -n -o "$OPTS" > "$S/fsck.out" 2> "$S/fsck.err" || FSCK_RC=$?
	snapshot "$S/snap.after" $(kt_layers)
	if [ "$FSCK_RC" -eq 12 ] &&
	   grep -qF "LY_UNREADABLE upper:/sub: cannot read: Permission denied" "$S/fsck.out" &&
	   cmp -s "$S/snap.before" "$S/snap.after"; then
		ok "$SC: unreadable dir: LY_UNREADABLE upper:/sub, exit 8|4"
	else
		not_ok "$SC: unreadable dir: LY_UNREADABLE upper:/sub, exit 8|4"
		kt_show_fsck
	fi
	if grep -qF "LY_XATTR_UNREADABLE upper:/f: overlay xattr cannot be read: origin" "$S/fsck.out"; then
		ok "$SC: unreadable xattr: LY_XATTR_UNREADABLE upper:/f"
	else
		not_ok "$SC: unreadable xattr: LY_XATTR_UNREADABLE upper:/f"
		kt_show_fsck
	fi
}
