# Damage to W/index (index=on): a copied-up lower hard link lives in
# W/index/<hex of its origin> and is linked to its upper path(s).

# ix_build [LINKS]: lower h/a with LINKS-1 more names (default 2 in all);
# the container writes h/a (copy-up of the link: index entry).  Sets IX
# to the entry's name.
ix_build() {
	OPTS=$(std_opts index=on)
	_links=${1:-2}
	setup '
		mkdir -p $L1/h
		echo lowerdata > $L1/h/a
		ln $L1/h/a $L1/h/b
		[ '"$_links"' -lt 3 ] || ln $L1/h/a $L1/h/c
		echo o > $L1/o
		ovl_mount "$OPTS"
		echo upperdata > $M/h/a
		ovl_umount
	' || return
	IX=$(ls "$W/index" | grep -v '^#')
	[ -n "$IX" ] && [ -f "$W/index/$IX" ] && return 0
	not_ok "$SC: the kernel made an index entry"
	return 1
}

# rsync into W left its temp file in W/index.
scenario ix_bad_name
sc_ix_bad_name() {
	stack_new ix_bad_name
	ix_build || return
	cp -a "$W/index/$IX" "$W/index/.$IX.Xq12ab"
	expect_problem "$SC" IX_BAD_NAME "index:/.$IX.Xq12ab"
	expect_mount_fails "$SC" EINVAL
}

# A named pipe with a hex name in W/index (a tool's leftover) and no
# origin: nfs_export indexes fifos too, so it is an entry without its
# origin.  A non-hex dir ("backup") is IX_BAD_NAME.
scenario ix_fifo_no_origin
sc_ix_fifo_no_origin() {
	stack_new ix_fifo_no_origin
	ix_build || return
	_fifo=$(echo "$IX" | sed 's/.$/0/')
	[ "$_fifo" = "$IX" ] && _fifo=$(echo "$IX" | sed 's/.$/1/')
	mkfifo "$W/index/$_fifo"
	expect_problem "$SC" IX_NO_ORIGIN "index:/$_fifo"
	expect_mount_fails "$SC" ENODATA
}

# A copy of W without xattrs: the index entry lost its origin.
scenario ix_no_origin
sc_ix_no_origin() {
	stack_new ix_no_origin
	ix_build || return
	setfattr -x trusted.overlay.origin "$W/index/$IX"
	expect_problem "$SC" IX_NO_ORIGIN "index:/$IX"
	expect_mount_fails "$SC" ENODATA
}

# The nlink xattr of an entry with three lower names was lost.
scenario ix_nlink_bad
sc_ix_nlink_bad() {
	stack_new ix_nlink_bad
	ix_build 3 || return
	setfattr -x trusted.overlay.nlink "$W/index/$IX"
	# a note: any count written now would change what st_nlink shows
	expect_note "$SC" IX_NLINK_BAD "index:/$IX"
	expect_kernel "$SC: kernel: st_nlink falls back to the upper count (2 for 3 names)" '
		test "$(stat -c %h $M/h/a $M/h/b $M/h/c | tr "\n" " ")" = "2 2 2 "
	'
}

# A stale nlink xattr (restored from an older backup).
scenario ix_nlink_wrong
sc_ix_nlink_wrong() {
	stack_new ix_nlink_wrong
	ix_build || return
	setfattr -n trusted.overlay.nlink -v "U+5" "$W/index/$IX"
	expect_note "$SC" IX_NLINK_WRONG "index:/$IX"
	expect_kernel "$SC: kernel: st_nlink is 7 for 2 names" '
		test "$(stat -c %h $M/h/a)" = 7
	'
}

# The container removed h/b (nlink U-1); then the upper alias h/a was
# deleted offline: the entry has no alias left.
scenario ix_orphan
sc_ix_orphan() {
	stack_new ix_orphan
	ix_build || return
	setup 'ovl_mount "$OPTS"; rm $M/h/b; ovl_umount' || return
	rm "$U/h/a"
	# union nlink U-1 on the entry's one link: 0, the kernel's orphan,
	# deleted at mount with nothing visible lost: a note
	expect_note "$SC" IX_ORPHAN "index:/$IX"
	expect_kernel "$SC: kernel: h/a shows the old lower data" '
		test "$(cat $M/h/a)" = lowerdata
	'
	if [ -e "$W/index/$IX" ]; then
		not_ok "$SC: kernel: the entry was deleted at mount"
	else
		ok "$SC: kernel: the entry was deleted at mount"
	fi
}

# The lower image was updated and both lower names of the link removed.
scenario ix_stale
sc_ix_stale() {
	stack_new ix_stale
	ix_build || return
	rm "$L1/h/a" "$L1/h/b"
	expect_problem "$SC" IX_STALE "index:/$IX"
	expect_kernel "$SC: kernel: tolerated while the upper alias lives" '
		test "$(cat $M/h/a)" = upperdata
		test ! -e $M/h/b
	'
}

# The index entry was deleted (someone "cleaned" W): the link is broken.
scenario ix_missing
sc_ix_missing() {
	stack_new ix_missing
	ix_build || return
	rm "$W/index/$IX"
	# what an index=off copy-up leaves too: a note, never linked back
	# (h/b would then show h/a's data)
	expect_note "$SC" IX_MISSING upper:/h/a
	expect_kernel "$SC: kernel: h/b shows the old lower data, not h/a" '
		test "$(cat $M/h/a)" = upperdata
		test "$(cat $M/h/b)" = lowerdata
	'
}

# The origin of the entry (and so of its upper alias: one inode) was
# overwritten with the handle of another file (xattrs restored onto the
# wrong inode).  The kernel fails to verify the entry and deletes it at
# mount: the hard link is broken, and the alias now claims the other
# file's lower inode, so that file gives ESTALE.
scenario ix_origin_mismatch
sc_ix_origin_mismatch() {
	stack_new ix_origin_mismatch
	ix_build || return
	setup 'ovl_mount "$OPTS"; chown 7 $M/o; ovl_umount' || return
	setfattr -n trusted.overlay.origin \
		-v "$(xattr_hex origin "$U/o")" \
		"$W/index/$IX"
	expect_problem "$SC" IX_ORIGIN_MISMATCH "index:/$IX"
	# which of h/a and o then gives ESTALE depends on which the kernel
	# looks up first in its inode cache (seen both ways): not asserted
	expect_kernel "$SC: kernel: link broken, h/b shows the lower data" '
		test "$(cat $M/h/b)" = lowerdata
	'
	if [ -e "$W/index/$IX" ]; then
		not_ok "$SC: kernel: the entry was deleted at mount"
	else
		ok "$SC: kernel: the entry was deleted at mount"
	fi
}

# nfs_export=on: copied-up dirs get index entries (dirs named by the
# origin, with an "upper" handle).  nx_build: lower d/e/f, the container
# creates d/e/n (copy-up of d and d/e).  Sets IXE to the entry of d/e.
nx_build() {
	OPTS=$(std_opts "index=on,nfs_export=on")
	setup '
		mkdir -p $L1/d/e; echo f > $L1/d/e/f
		ovl_mount "$OPTS"; touch $M/d/e/n; ovl_umount
	' || return
	IXE=$(xattr_hex origin "$U/d/e" | sed 's/^0x//')
	[ -n "$IXE" ] && [ -d "$W/index/$IXE" ] && return 0
	not_ok "$SC: the kernel made a directory index entry"
	return 1
}

# The upper dir d/e was restored from a backup (cp -a: a new inode, same
# xattrs): its index entry's upper handle points to nothing.  The kernel
# turns the entry into a whiteout at mount and d/e then gives EIO.
scenario ix_dir_upper_stale
sc_ix_dir_upper_stale() {
	stack_new ix_dir_upper_stale
	nx_build || return
	cp -a "$U/d/e" "$U/d/e.bak"
	rm -rf "$U/d/e"
	mv "$U/d/e.bak" "$U/d/e"
	expect_problem "$SC" IX_DIR_UPPER_STALE "index:/$IXE"
	expect_errno "$SC" lstat d/e EIO
}

# The dir index entry lost its "upper" xattr (W copied without the xattrs
# of dirs).  An empty dir in W/index is only a NOTE: the kernel fails to
# verify it, deletes it at mount, and the dir itself is fine.
scenario ix_dir_no_upper_note
sc_ix_dir_no_upper_note() {
	stack_new ix_dir_no_upper_note
	nx_build || return
	setfattr -x trusted.overlay.upper "$W/index/$IXE"
	expect_note "$SC" IX_EMPTY_DIR "index:/$IXE"
	expect_errno "$SC" lstat d/e OK
	if [ -e "$W/index/$IXE" ]; then
		not_ok "$SC: kernel: the entry was deleted at mount"
	else
		ok "$SC: kernel: the entry was deleted at mount"
	fi
}
