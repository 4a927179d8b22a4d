# Damage to the stack as a whole: W/work, the upper root, W/index itself.

# A volatile mount was unmounted: its dirty marker stays for good.
scenario stk_volatile_dirty
sc_stk_volatile_dirty() {
	stack_new stk_volatile_dirty
	OPTS=$(std_opts)
	setup '
		echo f > $L1/f
		ovl_mount "$OPTS,volatile"; echo x > $M/x; ovl_umount
		test -f $W/work/incompat/volatile/dirty
	' || return
	expect_problem "$SC" STK_VOLATILE_DIRTY \
		"work:/incompat/volatile/dirty|work:/incompat/volatile"
	expect_mount_fails "$SC" EINVAL
}

# A crash left a tree two levels deep in W/work/work that the kernel
# cannot empty: the overlay comes up read-only and without index, and a
# copied-up hard link shows lower metadata on its other name.
scenario stk_work_leftover
sc_stk_work_leftover() {
	stack_new stk_work_leftover
	OPTS=$(std_opts index=on)
	setup '
		mkdir -p $L1/h; echo a > $L1/h/a; ln $L1/h/a $L1/h/b
		ovl_mount "$OPTS"; chown 1 $M/h/a; ovl_umount
		mkdir -p $W/work/work/x/y; echo junk > $W/work/work/x/y/z
	' || return
	expect_problem "$SC" STK_WORK_LEFTOVER \
		"work:/work|work:/work/x"
	expect_kernel "$SC: kernel: mounted read-only, h/b shows lower owner" '
		awk -v m="$M" "\$2 == m { print \$4 }" /proc/mounts | grep -q "^ro,"
		test "$(stat -c %u $M/h/a):$(stat -c %u $M/h/b)" = 1:0
	'
}

# W/index replaced by a file (a tool that "flattened" W).
scenario stk_work_not_dir
sc_stk_work_not_dir() {
	stack_new stk_work_not_dir
	OPTS=$(std_opts index=on)
	setup '
		echo f > $L1/f
		ovl_mount "$OPTS"; chown 3 $M/f; ovl_umount
		rm -rf $W/index; echo junk > $W/index
	' || return
	expect_problem "$SC" STK_WORK_NOT_DIR index:/
	expect_mount_fails "$SC" ENOTDIR
}

# The lower layer was moved with cp -a: new inodes, the upper root origin
# points at the old lower root.
scenario stk_upper_origin_stale
sc_stk_upper_origin_stale() {
	stack_new stk_upper_origin_stale
	OPTS=$(std_opts index=on)
	setup '
		mkdir -p $L1/d; echo f > $L1/d/f
		ovl_mount "$OPTS"; touch $M/d/new; ovl_umount
		cp -a $L1 $S/l1.copy; rm -rf $L1; mv $S/l1.copy $L1
	' || return
	expect_problem "$SC" STK_UPPER_ORIGIN_STALE upper:/
	expect_mount_fails "$SC" ESTALE
}

# Upper and work dir moved with cp -a: W/index's upper handle points at
# the old upper root.
scenario stk_index_upper_stale
sc_stk_index_upper_stale() {
	stack_new stk_index_upper_stale
	OPTS=$(std_opts index=on)
	setup '
		mkdir -p $L1/d; echo f > $L1/d/f
		ovl_mount "$OPTS"; touch $M/d/new; ovl_umount
		cp -a $U $S/u.copy; cp -a $W $S/w.copy
		rm -rf $U $W; mv $S/u.copy $U; mv $S/w.copy $W
	' || return
	expect_problem "$SC" STK_INDEX_UPPER_STALE index:/
	expect_mount_fails "$SC" ESTALE
}

# A userxattr stack where a tool (running as root) wrote a trusted.
# opaque: the kernel ignores it and the lower content shows through.
scenario ly_xattr_other_ns
sc_ly_xattr_other_ns() {
	stack_new ly_xattr_other_ns
	OPTS=$(std_opts userxattr)
	setup '
		mkdir -p $L1/d; echo f > $L1/d/f
		ovl_mount "$OPTS"; touch $M/d/new; ovl_umount
	' || return
	setfattr -n trusted.overlay.opaque -v y "$U/d"
	expect_problem "$SC" LY_XATTR_OTHER_NS upper:/d
	expect_kernel "$SC: kernel: the trusted. opaque is ignored" '
		test "$(ls $M/d | tr "\n" " ")" = "f new "
	'
}

# The overlay uuid xattr of the upper root was truncated.
scenario stk_uuid_xattr_bad
sc_stk_uuid_xattr_bad() {
	stack_new stk_uuid_xattr_bad
	OPTS=$(std_opts index=on)
	setup '
		echo f > $L1/f
		ovl_mount "$OPTS"; touch $M/a; ovl_umount
		getfattr -n trusted.overlay.uuid $U
	' || return
	setfattr -n trusted.overlay.uuid -v 0x0102 "$U"
	expect_problem "$SC" STK_UUID_XATTR_BAD upper:/
	expect_kernel "$SC: kernel: tolerated" '
		test "$(cat $M/f)" = f
	'
}

# fsck -n on a stack that is mounted right now: a warning on stderr naming
# the mount point, the check still runs.
scenario stk_mounted
sc_stk_mounted() {
	stack_new stk_mounted
	OPTS=$(std_opts "$MCI")
	setup '
		echo f > $L1/f
		ovl_mount "$OPTS"; chown 2 $M/f; ovl_umount
	' || return
	if ! mount -t overlay overlay -o "$OPTS" "$M" 2> "$S/mount.err"; then
		not_ok "$SC: fsck -n warns that the stack is mounted"
		diag "mount failed: $(cat "$S/mount.err")"
		return
	fi
	run_fsck -n -o "$OPTS"
	umount "$M"
	if grep -qF "fsck.overlay: warning: the stack is mounted on $M" "$S/fsck.err" &&
	   [ "$FSCK_RC" -eq 0 ]; then
		ok "$SC: fsck -n warns that the stack is mounted, exit 0"
	else
		not_ok "$SC: fsck -n warns that the stack is mounted, exit 0"
		kt_show_fsck
	fi
}

# ro_build: a plain index=on stack with a copied-up file in d.
ro_build() {
	OPTS=$(std_opts index=on)
	setup '
		mkdir -p $L1/d; echo f > $L1/d/f
		ovl_mount "$OPTS"; chown 3 $M/d/f; ovl_umount
		getfattr -n trusted.overlay.origin $U
		getfattr -n trusted.overlay.upper $W/index
	'
}

# kt_is_handle HEX: a stored handle (0x00fb...) of at least 21 bytes.
kt_is_handle() {
	case $1 in
	0x00fb*) [ ${#1} -ge 44 ] ;;
	*) return 1 ;;
	esac
}

# The upper root origin was truncated by a copy tool: the kernel mounts
# and writes a good one again.
scenario stk_upper_origin_bad
sc_stk_upper_origin_bad() {
	stack_new stk_upper_origin_bad
	ro_build || return
	setfattr -n trusted.overlay.origin -v 0x00fb1d "$U"
	expect_problem "$SC" STK_UPPER_ORIGIN_BAD upper:/
	expect_kernel "$SC: kernel: mounts and rewrites the root origin" '
		test "$(cat $M/d/f)" = f
	'
	if kt_is_handle "$(xattr_hex origin "$U")"; then
		ok "$SC: kernel: the root origin is a handle again"
	else
		not_ok "$SC: kernel: the root origin is a handle again"
	fi
}

# W/index's upper handle was truncated: the kernel mounts and rewrites it.
scenario stk_index_upper_bad
sc_stk_index_upper_bad() {
	stack_new stk_index_upper_bad
	ro_build || return
	setfattr -n trusted.overlay.upper -v 0x00fb1d "$W/index"
	expect_problem "$SC" STK_INDEX_UPPER_BAD index:/
	expect_kernel "$SC: kernel: mounts and rewrites W/index upper" '
		test "$(cat $M/d/f)" = f
	'
	if kt_is_handle "$(xattr_hex upper "$W/index")"; then
		ok "$SC: kernel: W/index upper is a handle again"
	else
		not_ok "$SC: kernel: W/index upper is a handle again"
	fi
}
