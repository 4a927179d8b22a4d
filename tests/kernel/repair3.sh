# Repairs of metacopy headers, sizes and digests, origins that lead
# nowhere or to the wrong kind of inode or filesystem, stale directory
# index entries and upper xattr whiteouts, against the real kernel.
# Uses the helpers of repair.sh (rp_*) and repair2.sh (k2_*), which
# run.sh sources first.
#
#   r3_mc_*, r3_or_*, r3_ix_*, r3_wh_*
#                 one kind of damage each: the merged view listed before
#                 the damage, -y (exit 1, the line answered yes), -n
#                 (exit 0), the stack mounted with its own options shows
#                 that view again, or what the man page promises where
#                 the damage destroyed something (never EIO)
#   r3_crash      OVL_FAULT_WRITE kills -y before and after every change
#                 (setxattr, truncate, rmxattr, quarantine-wh,
#                 quarantine); -y again ends in an uninterrupted run's
#                 layers
#   r3_undo       --undo of such a run restores the layers, sizes too

# r3_xa NAME PATH: trusted.overlay.NAME as hex ("0x" when empty), or
# "none" when it is not set.
r3_xa() {
	_v=$(xattr_hex "$1" "$2")
	echo "${_v:-none}"
}

# r3_mc_stack FEATURES: lower f, g, s (data) and o; the container chowns
# and chmods f, g and s (metadata-only copy-ups under metacopy=on) and
# rewrites o (a full copy-up with an origin).
r3_mc_stack() {
	OPTS=$(std_opts "$1")
	setup '
		mkdir -p $L1/d
		echo lower-data-f > $L1/f; echo lower-data-g > $L1/g
		echo lower-data-s > $L1/s; echo lower-o > $L1/o; echo x > $L1/d/x
		ovl_mount "$OPTS"
		chown 5:6 $M/f $M/g $M/s; chmod 640 $M/f
		setfattr -n user.keep -v yes $M/f
		echo upper-o > $M/o
		ovl_umount
		test "$(xattr_hex metacopy $U/f)" = 0x
		test "$(xattr_hex metacopy $U/s)" = 0x
	'
}

# r3_mc_stack_one FEATURES: the same with f the only metacopy file (so
# that verity=require finds no other file without a digest).
r3_mc_stack_one() {
	OPTS=$(std_opts "$1")
	setup '
		mkdir -p $L1/d
		echo lower-data-f > $L1/f; echo lower-o > $L1/o; echo x > $L1/d/x
		ovl_mount "$OPTS"
		chown 5:6 $M/f; chmod 640 $M/f; setfattr -n user.keep -v yes $M/f
		echo upper-o > $M/o
		ovl_umount
		test "$(xattr_hex metacopy $U/f)" = 0x
	'
}

# r3_save_meta PATH: k2_meta of upper PATH, for r3_gone.
r3_save_meta() {
	k2_meta "$U/$1" > "$S/meta.$(echo "$1" | tr / %)"
}

# r3_gone NAME PATH WHITEOUT: upper PATH went into the quarantine with the
# owner, mode, content and xattrs it had (r3_save_meta before the fix);
# in its place a whiteout (WHITEOUT=wh) or nothing.  One TAP line.
r3_gone() {
	_name=$1 _gp=$2 _wh=$3
	_bad=
	_gpct=$(echo "$_gp" | tr / %)
	_q=$(k2_quarantined "upper%$_gpct")
	case $_q in
	*/overlay-fsck.quarantine/[0-9]*T[0-9]*Z/upper%*)
		k2_meta "$_q" | cmp -s "$S/meta.$_gpct" - ||
			rp_bad "quarantined $_gp: $(k2_meta "$_q" | diff "$S/meta.$_gpct" - | head -6)"
		;;
	*)	rp_bad "upper $_gp is not in W/overlay-fsck.quarantine/TIME: '$_q'" ;;
	esac
	if [ "$_wh" = wh ]; then
		rp_is_wh "$U/$_gp"
		rp_done "$_name: $_gp quarantined with owner, mode, xattrs; a whiteout in its place"
	else
		rp_absent "$U/$_gp"
		rp_done "$_name: $_gp quarantined with owner, mode, xattrs; nothing in its place"
	fi
}

# r3_hidden NAME PATH: in the merged view PATH gives ENOENT and its dir
# does not list it.
r3_hidden() {
	_dir=$(dirname "$2")
	expect_kernel "$1: kernel: $2 gives ENOENT and is not listed" "
		test \"\$(errno_of lstat \$M/$2)\" = ENOENT
		! ls -A \$M/$_dir | grep -qx '$(basename "$2")'
	"
}

# ---- 1. MC_BAD_HEADER ----

# A header with a digest but version 1: the kernel reads the file while
# verity is off; the header is rewritten empty.
scenario r3_mc_bad_header
sc_r3_mc_bad_header() {
	stack_new "$SC"
	r3_mc_stack "$MCI" || return
	rp_before || return
	setfattr -n trusted.overlay.metacopy -v "0x01240001$(printf '%064d' 7)" "$U/f"
	rp_repair "$SC" MC_BAD_HEADER upper:/f
	_bad=
	[ "$(r3_xa metacopy "$U/f")" = 0x ] || rp_bad "metacopy is $(r3_xa metacopy "$U/f")"
	rp_done "$SC: the metacopy xattr is empty"
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

# ---- 2. MC_BAD_HEADER_VERITY ----

# A header with a digest whose length byte is wrong (48 for 36 bytes):
# EIO under verity=on; rewritten empty, the file reads with verity=on.
scenario r3_mc_bad_header_verity
sc_r3_mc_bad_header_verity() {
	stack_new "$SC"
	r3_mc_stack "$MCI" || return
	OPTS="$OPTS,verity=on"
	rp_before || return
	setfattr -n trusted.overlay.metacopy -v "0x00300001$(printf '%064d' 7)" "$U/f"
	expect_errno "$SC: before the fix" read f EIO
	rp_repair "$SC" MC_BAD_HEADER_VERITY upper:/f
	_bad=
	[ "$(r3_xa metacopy "$U/f")" = 0x ] || rp_bad "metacopy is $(r3_xa metacopy "$U/f")"
	rp_done "$SC: the metacopy xattr is empty"
	rp_merged "$SC: verity=on: merged view as before the damage" "$S/merged.before"
}

# The same header under verity=require: no form of it can be read (this
# kernel's lower has no fs-verity), so the file goes into the quarantine
# and a whiteout hides the lower f.
scenario r3_mc_bad_header_require
sc_r3_mc_bad_header_require() {
	stack_new "$SC"
	r3_mc_stack_one "$MCI" || return
	rp_before || return
	OPTS="$OPTS,verity=require"
	setfattr -n trusted.overlay.metacopy -v "0x00300001$(printf '%064d' 7)" "$U/f"
	r3_save_meta f
	expect_errno "$SC: before the fix" read f EIO
	rp_repair "$SC" MC_BAD_HEADER_VERITY upper:/f
	r3_gone "$SC" f wh
	rp_merged "$SC: verity=require: merged view as before the damage but for f" \
		"$S/merged.before" '^f	'
	r3_hidden "$SC" f
}

# ---- 3. MC_SIZE_MISMATCH ----

# The lower data of f was cut and that of g grown offline after the
# chown: the upper sizes follow the data, stat agrees with read.
scenario r3_mc_size
sc_r3_mc_size() {
	stack_new "$SC"
	r3_mc_stack "$MCI" || return
	rp_before || return
	truncate -s 5 "$L1/f"
	echo more-data-for-g >> "$L1/g"
	touch -h -d @1600000000 "$U/f" "$U/g"
	k2_repair "$SC" "MC_SIZE_MISMATCH upper:/f" "MC_SIZE_MISMATCH upper:/g"
	_bad=
	for _p in f g; do
		[ "$(stat -c %s "$U/$_p")" = "$(stat -c %s "$L1/$_p")" ] ||
			rp_bad "upper $_p: $(stat -c %s "$U/$_p") bytes, lower $(stat -c %s "$L1/$_p")"
		[ "$(r3_xa metacopy "$U/$_p")" = 0x ] || rp_bad "upper $_p lost metacopy"
	done
	rp_done "$SC: upper f and g have the sizes of their data, still metacopy"
	# the merged mtime is the upper one: a size fix must not touch it
	_bad=
	for _p in f g; do
		[ "$(stat -c %Y "$U/$_p")" = 1600000000 ] ||
			rp_bad "upper $_p: mtime $(stat -c %Y "$U/$_p"), not 1600000000"
	done
	rp_done "$SC: the upper (merged) mtimes of f and g are kept"
	rp_merged "$SC: merged view as before the damage but for f, g" \
		"$S/merged.before" '^[fg]	'
	expect_kernel "$SC: kernel: stat size of f and g equals the bytes read (the lower data)" '
		for p in f g; do
			test "$(stat -c %s $M/$p)" = "$(wc -c < $M/$p)"
			cmp $M/$p $L1/$p
		done
		test "$(stat -c %s $M/f)" = 5
		test "$(stat -c %Y $M/g)" = "$(stat -c %Y $U/g)"
		test "$(stat -c %u:%g $M/g)" = 5:6
	'
}

# ---- 4. MC_VERITY_MISSING, MC_DIGEST_MISMATCH ----

# r3_set_digest PATH DIGEST: a sha256 metacopy header (version 0, length
# 4 + 32, no flags, algorithm 1) with DIGEST (64 hex digits) on upper PATH.
r3_set_digest() {
	setfattr -n trusted.overlay.metacopy -v "0x00240001$2" "$U/$1"
}

# verity=on; f carries the right sha256 digest of its lower data, but the
# lower has no fs-verity (the kernel gives EIO): the digest is dropped
# (the data was just shown to match it), f reads again.
scenario r3_mc_verity_missing
sc_r3_mc_verity_missing() {
	stack_new "$SC"
	if ! command -v fsverity > /dev/null; then
		skip "$SC: fsverity digest" "no fsverity(1)"
		return
	fi
	r3_mc_stack "$MCI" || return
	OPTS="$OPTS,verity=on"
	rp_before || return
	_d=$(fsverity digest --hash-alg=sha256 "$L1/f" | sed -n 's/^sha256:\([0-9a-f]*\) .*/\1/p')
	[ ${#_d} -eq 64 ] || { not_ok "$SC: fsverity digest of lower f: '$_d'"; return; }
	r3_set_digest f "$_d"
	expect_errno "$SC: before the fix" read f EIO
	rp_repair "$SC" MC_VERITY_MISSING upper:/f
	_bad=
	[ "$(r3_xa metacopy "$U/f")" = 0x ] || rp_bad "metacopy of f is $(r3_xa metacopy "$U/f")"
	rp_done "$SC: the digest of f was dropped"
	rp_merged "$SC: verity=on: merged view as before the damage" "$S/merged.before"
}

# The same with a digest the data does not match: the file goes into the
# quarantine and a whiteout hides the lower g.  MC_VERITY_MISSING may be
# printed too (it is true), but nothing is left once g is quarantined.
scenario r3_mc_digest_mismatch
sc_r3_mc_digest_mismatch() {
	stack_new "$SC"
	r3_mc_stack "$MCI" || return
	OPTS="$OPTS,verity=on"
	rp_before || return
	r3_set_digest g "$(printf '%064d' 0)"
	r3_save_meta g
	expect_errno "$SC: before the fix" read g EIO
	rp_repair "$SC" MC_DIGEST_MISMATCH upper:/g
	r3_gone "$SC" g wh
	rp_merged "$SC: verity=on: merged view as before the damage but for g" \
		"$S/merged.before" '^g	'
	r3_hidden "$SC" g
}

# ---- 5. MC_DIGEST_MISSING ----

# verity=require on a stack whose metacopy file has no digest (copied up
# before): no fs-verity to measure here, so the file is quarantined.
scenario r3_mc_digest_missing
sc_r3_mc_digest_missing() {
	stack_new "$SC"
	r3_mc_stack_one "$MCI" || return
	rp_before || return
	OPTS="$OPTS,verity=require"
	r3_save_meta f
	expect_errno "$SC: before the fix" read f EIO
	rp_repair "$SC" MC_DIGEST_MISSING upper:/f
	r3_gone "$SC" f wh
	rp_merged "$SC: verity=require: merged view as before the damage but for f" \
		"$S/merged.before" '^f	'
	r3_hidden "$SC" f
}

# ---- 6. MC_TOO_SHORT, data gone ----

# A metacopy xattr cut to 2 bytes, and the lower data removed (the case
# with data is fix_mc_too_short in repair.sh): quarantined, nothing left
# in its place (nothing below to hide).
scenario r3_mc_too_short_gone
sc_r3_mc_too_short_gone() {
	stack_new "$SC"
	r3_mc_stack "$MCI" || return
	rp_before || return
	setfattr -n trusted.overlay.metacopy -v 0x0001 "$U/f"
	rm "$L1/f"
	r3_save_meta f
	rp_repair "$SC" MC_TOO_SHORT upper:/f
	r3_gone "$SC" f none
	rp_merged "$SC: merged view as before the damage but for f" "$S/merged.before" '^f	'
	r3_hidden "$SC" f
}

# ---- 7. OR_GONE ----

# o was rewritten by the container (full copy-up); the lower o was then
# removed: its origin leads nowhere and goes.
scenario r3_or_gone
sc_r3_or_gone() {
	stack_new "$SC"
	OPTS=$(std_opts "$RDI")
	setup '
		mkdir -p $L1/d; echo lower-o > $L1/o; echo x > $L1/d/x
		ovl_mount "$OPTS"; echo upper-o > $M/o; chmod 600 $M/o; ovl_umount
		getfattr -n trusted.overlay.origin $U/o
	' || return
	rp_before || return
	rm "$L1/o"
	rp_repair "$SC" OR_GONE upper:/o
	_bad=; rp_no_xattr origin "$U/o"
	rp_done "$SC: the origin of o was removed"
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

# An indexed hard link (lower h/a = h/b, h/a chowned under index=on)
# whose lower inode was removed: its origin keys the index entry, so it
# is reported and left (exit 4), -y changes nothing.
scenario r3_or_gone_indexed
sc_r3_or_gone_indexed() {
	stack_new "$SC"
	OPTS=$(std_opts "$RDI")
	setup '
		mkdir -p $L1/h; echo hd > $L1/h/a; ln $L1/h/a $L1/h/b
		ovl_mount "$OPTS"; chown 7 $M/h/a; ovl_umount
		test -n "$(ls $W/index)"
	' || return
	_ix=$(k2_ix h/a)
	_org=$(xattr_hex origin "$U/h/a")
	rm "$L1/h/a" "$L1/h/b"
	rp_layers "$S/state.before"
	_bad=
	run_fsck -y -o "$OPTS"
	rp_rc 4
	rp_layers "$S/state.after"
	cmp -s "$S/state.before" "$S/state.after" ||
		rp_bad "-y changed the layers: $(diff "$S/state.before" "$S/state.after" | head -6)"
	_line=$(grep -F "OR_GONE upper:/h/a:" "$S/fsck.out" | head -1)
	case $_line in
	'')		rp_bad "no line \"OR_GONE upper:/h/a: ...\"" ;;
	*\?\ yes)	rp_bad "answered yes: $_line" ;;
	esac
	[ "$(xattr_hex origin "$U/h/a")" = "$_org" ] || rp_bad "the origin of h/a changed"
	[ -f "$W/index/$_ix" ] || rp_bad "the index entry of h/a is gone"
	rp_done "$SC: -y reports OR_GONE upper:/h/a and leaves it (layers untouched), exit 4"
	_bad=
	run_fsck -n -o "$OPTS"
	rp_rc 4
	grep -qF "OR_GONE upper:/h/a:" "$S/fsck.out" || rp_bad "-n no longer reports it"
	rp_done "$SC: then -n still reports it, exit 4"
	expect_kernel "$SC: kernel: h/a reads (no EIO)" '
		test "$(cat $M/h/a)" = hd
		test "$(stat -c %u $M/h/a)" = 7
	'
}

# ---- 8. OR_TYPE ----

# The origin of the upper dir d was overwritten with the handle of the
# lower file f (the origin of the copied-up f): re-based onto the lower
# dir d, the origin the kernel wrote.
scenario r3_or_type
sc_r3_or_type() {
	stack_new "$SC"
	OPTS=$(std_opts "$RDI")
	setup '
		mkdir -p $L1/d; echo x > $L1/d/x; echo f > $L1/f
		ovl_mount "$OPTS"; echo n > $M/d/new; chown 3 $M/f; ovl_umount
		getfattr -n trusted.overlay.origin $U/d
		getfattr -n trusted.overlay.origin $U/f
	' || return
	rp_before || return
	_org=$(xattr_hex origin "$U/d")
	setfattr -n trusted.overlay.origin -v "$(xattr_hex origin "$U/f")" "$U/d"
	rp_repair "$SC" OR_TYPE upper:/d
	_bad=
	[ "$(xattr_hex origin "$U/d")" = "$_org" ] ||
		rp_bad "origin of d is $(xattr_hex origin "$U/d"), the kernel wrote $_org"
	rp_done "$SC: the origin of d is the handle of the lower dir d again"
	rp_merged "$SC: merged view as before the damage" "$S/merged.before"
}

# ---- 9. OR_UUID_UNKNOWN with index=on ----

# The lower layer lived on an XFS image; it was copied (cp -a) to the
# filesystem of the upper layer and the stack re-pointed at the copy.
# Every origin, the upper root's and the index entry's names name the
# XFS uuid: re-based with the uuid of the new filesystem, the kernel
# mounts with index=on and reads everything.
scenario r3_or_uuid
sc_r3_or_uuid() {
	stack_new "$SC"
	if ! loop_fs xfs "$S/fs"; then
		skip "$SC: origins re-based to a new filesystem" "no mkfs.xfs or loop device"
		return
	fi
	OPTS="lowerdir=$S/fs/l,upperdir=$U,workdir=$W,$MCI"
	setup '
		mkdir -p $S/fs/l/d $S/fs/l/m $S/fs/l/h
		echo f > $S/fs/l/f; echo o > $S/fs/l/o; echo g > $S/fs/l/d/g
		echo mm > $S/fs/l/m/mm; echo hd > $S/fs/l/h/a; ln $S/fs/l/h/a $S/fs/l/h/b
		ovl_mount "$OPTS"
		chown 4 $M/f; echo uo > $M/o; mv $M/d $M/d2; echo n > $M/m/new
		chown 7 $M/h/a
		ovl_umount
		test -n "$(ls $W/index)"
	' || { loop_done "$S/fs"; return; }
	rp_before || { loop_done "$S/fs"; return; }
	rmdir "$L1"
	cp -a "$S/fs/l" "$L1" || { not_ok "$SC: cp -a of the lower"; loop_done "$S/fs"; return; }
	loop_done "$S/fs"
	OPTS=$(std_opts "$MCI")
	expect_mount_fails "$SC: before the fix" ESTALE
	run_fsck -y -o "$OPTS"
	_bad=
	rp_rc 1
	grep -q '^OR_UUID_UNKNOWN upper:/f: .*? yes$' "$S/fsck.out" ||
		rp_bad "no OR_UUID_UNKNOWN upper:/f answered yes"
	grep -q ' 0 left$' "$S/fsck.out" || rp_bad "not \"0 left\": $(grep left "$S/fsck.out")"
	rp_done "$SC: -y re-bases OR_UUID_UNKNOWN, exit 1, nothing left"
	_bad=
	run_fsck -n -o "$OPTS"
	rp_rc 0
	rp_done "$SC: then -n exits 0"
	# bytes 5..20 of a handle are the uuid: the upper handle of W/index
	# names the filesystem the lower now lives on
	_bad=
	_want=$(xattr_hex upper "$W/index" | cut -c13-44)
	for _p in / f o d2 m h/a; do
		_got=$(xattr_hex origin "$U/$_p" | cut -c13-44)
		[ -n "$_want" ] && [ "$_got" = "$_want" ] ||
			rp_bad "uuid of the origin of $_p: $_got, not $_want"
	done
	rp_done "$SC: the origins carry the uuid of the new filesystem"
	rp_merged "$SC: index=on: mounts, merged view as before the move" "$S/merged.before"
	k2_same_ino "$SC" h/a h/b
}

# ---- 10. nfs_export=on: directory index entries ----

# The upper dir d/e was restored from a backup (cp -a: a new inode, the
# same xattrs; the origin is set again should cp leave it out): the
# upper handle of its index entry is set to the copy, the kernel mounts
# and d/e reads (index.sh ix_dir_upper_stale: EIO before the fix, and the
# mount turns the entry into a whiteout, so it is not mounted here).
scenario r3_ix_dir_upper_stale
sc_r3_ix_dir_upper_stale() {
	stack_new "$SC"
	nx_build || return
	rp_before || return
	_org=$(xattr_hex origin "$U/d/e")
	_old=$(xattr_hex upper "$W/index/$IXE")
	cp -a "$U/d/e" "$U/d/e.bak"
	rm -rf "$U/d/e"
	mv "$U/d/e.bak" "$U/d/e"
	[ "$(xattr_hex origin "$U/d/e")" = "$_org" ] ||
		setfattr -n trusted.overlay.origin -v "$_org" "$U/d/e"
	rp_repair "$SC" IX_DIR_UPPER_STALE "index:/$IXE"
	_bad=
	_new=$(xattr_hex upper "$W/index/$IXE")
	[ -n "$_new" ] && [ "$_new" != "$_old" ] || rp_bad "the upper handle is unchanged: $_new"
	rp_done "$SC: the upper handle of index/$IXE was rewritten"
	rp_merged "$SC: mounts, merged view as before the damage" "$S/merged.before"
	_bad=
	[ -d "$W/index/$IXE" ] && [ "$(xattr_hex upper "$W/index/$IXE")" = "$_new" ] ||
		rp_bad "after the mount index/$IXE is $(stat -c %F "$W/index/$IXE" 2>&1)"
	rp_done "$SC: the kernel kept the entry (verified it)"
}

# A directory index entry that lost its upper handle but holds a file:
# not empty, so the kernel cannot just delete it; quarantined with its
# content, the kernel mounts and d/e reads.
scenario r3_ix_dir_no_upper
sc_r3_ix_dir_no_upper() {
	stack_new "$SC"
	nx_build || return
	rp_before || return
	setfattr -x trusted.overlay.upper "$W/index/$IXE"
	echo junk > "$W/index/$IXE/junk"
	rp_repair "$SC" IX_DIR_NO_UPPER "index:/$IXE"
	_bad=
	rp_absent "$W/index/$IXE"
	_q=$(k2_quarantined "W%index%$IXE")
	[ -n "$_q" ] && [ "$(cat "$_q/junk" 2>/dev/null)" = junk ] ||
		rp_bad "the entry is not in the quarantine with its content: '$_q'"
	rp_done "$SC: index/$IXE quarantined with its content"
	rp_merged "$SC: mounts, merged view as before the damage" "$S/merged.before"
}

# ---- 11. WH_XATTR_IN_UPPER ----

# Empty upper files with trusted.overlay.whiteout: a over the lower d/a
# becomes a real whiteout, w over nothing is moved aside.
scenario r3_wh_xattr_upper
sc_r3_wh_xattr_upper() {
	stack_new "$SC"
	OPTS=$(std_opts "$RDI")
	setup '
		mkdir -p $L1/d; echo a > $L1/d/a; echo b > $L1/d/b
		ovl_mount "$OPTS"; echo n > $M/d/new; ovl_umount
	' || return
	rp_before || return
	touch "$U/d/a" "$U/d/w"
	setfattr -n trusted.overlay.whiteout "$U/d/a"
	setfattr -n trusted.overlay.whiteout "$U/d/w"
	r3_save_meta d/w
	k2_repair "$SC" "WH_XATTR_IN_UPPER upper:/d/a" "WH_XATTR_IN_UPPER upper:/d/w"
	_bad=
	rp_is_wh "$U/d/a"
	rp_done "$SC: upper d/a is a whiteout"
	r3_gone "$SC" d/w none
	rp_merged "$SC: merged view as before the damage but for d/a" \
		"$S/merged.before" '^d/a	'
	r3_hidden "$SC" d/a
	r3_hidden "$SC" d/w
}

# ---- 12. kills at every change, and --undo ----

# r3_multi: one stack with the damage of 1, 3, 7 and 11 (metacopy=on,
# redirect_dir=on, no index: the upper and work dirs are restored with
# cp -a between runs, which a W/index upper handle would not survive).
r3_multi() {
	OPTS=$(std_opts "$MC")
	setup '
		mkdir -p $L1/d
		echo lower-data-f > $L1/f; echo lower-data-s > $L1/s
		echo lower-o > $L1/o; echo a > $L1/d/a
		ovl_mount "$OPTS"
		chown 5 $M/f $M/s; echo upper-o > $M/o; echo n > $M/d/new
		ovl_umount
	' || return
	rp_before || return
	setfattr -n trusted.overlay.metacopy -v "0x01240001$(printf '%064d' 7)" "$U/f"
	echo more-data-for-s >> "$L1/s"
	touch -h -d @1600000000 "$U/s"
	rm "$L1/o"
	touch "$U/d/a" "$U/d/w"
	setfattr -n trusted.overlay.whiteout "$U/d/a"
	setfattr -n trusted.overlay.whiteout "$U/d/w"
}

# r3_layers FILE: layer_state of the three dirs, the mtime of upper s
# masked: the size fix is made at a different second in every run (that
# it keeps the mtime is asserted by r3_mc_size and r3_undo).
r3_layers() {
	layer_state "$1" "$L1" "$U" "$W"
	sed -i -E 's#^(u/s	.*	)mtime=[0-9]+$#\1mtime=MTIME#' "$1"
}

r3_restore() {
	rm -rf "$U" "$W"
	cp -a --sparse=always "$S/pristine/u" "$S/pristine/w" "$S/"
}

scenario r3_crash
sc_r3_crash() {
	stack_new "$SC"
	r3_multi || return
	mkdir "$S/pristine"
	cp -a --sparse=always "$U" "$W" "$S/pristine/"
	r3_restore
	run_fsck -y -o "$OPTS"
	_bad=
	rp_rc 1
	_j=$(journal_of)
	_n=$(grep -c '^R ' "$_j" 2>/dev/null)
	for _op in setxattr truncate rmxattr quarantine-wh quarantine; do
		grep -q "^R [0-9]* $_op " "$_j" 2>/dev/null || rp_bad "no $_op in the journal"
	done
	grep -q ' 0 left$' "$S/fsck.out" || rp_bad "not \"0 left\""
	rp_done "$SC: reference -y: exit 1, $_n changes (setxattr, truncate, rmxattr, quarantine-wh, quarantine)"
	[ -n "$_n" ] && [ "$_n" -gt 0 ] || return
	run_fsck -n -o "$OPTS"
	_bad=; rp_rc 0
	rp_done "$SC: reference -y: then -n exits 0"
	r3_layers "$S/state.ref"
	rp_merged "$SC: reference -y: merged view as before the damage but for s, d/a" \
		"$S/merged.before" '^(s|d/a)	'
	rp_crash_loop "$_n" r3_restore r3_layers
}

# --undo of the run restores every layer (the empty quarantine dirs the
# run made are all that is left of it), upper s with its old size and
# mtime; a second --undo is refused.
scenario r3_undo
sc_r3_undo() {
	stack_new "$SC"
	r3_multi || return
	_size=$(stat -c %s "$U/s")
	r3_layers "$S/state.before"
	run_fsck -y -o "$OPTS"
	_bad=; rp_rc 1
	_j=$(journal_of)
	[ "$(stat -c %s "$U/s")" != "$_size" ] || rp_bad "upper s still has $_size bytes"
	rp_done "$SC: -y exit 1"
	run_fsck --undo "$_j" -o "$OPTS"
	_bad=; rp_rc 0
	r3_layers "$S/state.undone"
	grep -v -E '^w/overlay-fsck\.quarantine(/TIME)?	d' "$S/state.undone" > "$S/state.undone.f"
	cmp -s "$S/state.before" "$S/state.undone.f" ||
		rp_bad "layers differ: $(diff "$S/state.before" "$S/state.undone.f" | head -8)"
	rp_done "$SC: --undo exits 0 and restores the layers"
	_bad=
	[ "$(stat -c %s "$U/s")" = "$_size" ] || rp_bad "upper s: $(stat -c %s "$U/s") bytes, not $_size"
	[ "$(r3_xa whiteout "$U/d/a")" = 0x ] || rp_bad "upper d/a lost its xattr whiteout"
	rp_done "$SC: after --undo upper s has its old size, d/a its xattr whiteout"
	_bad=
	[ "$(stat -c %Y "$U/s")" = 1600000000 ] ||
		rp_bad "upper s: mtime $(stat -c %Y "$U/s"), not 1600000000"
	rp_done "$SC: after --undo upper s has its old mtime"
	run_fsck --undo "$_j" -o "$OPTS"
	_bad=; rp_rc 4
	r3_layers "$S/state.again"
	cmp -s "$S/state.undone" "$S/state.again" || rp_bad "the refused undo changed the layers"
	rp_done "$SC: a second --undo is refused (exit 4), layers untouched"
	run_fsck -n -o "$OPTS"
	_bad=; rp_rc 4
	rp_done "$SC: after --undo, -n finds the damage again (exit 4)"
}
