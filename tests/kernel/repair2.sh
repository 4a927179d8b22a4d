# Repairs that keep data (-y) against the real kernel: re-based origins,
# re-pointed redirects, quarantined metacopy files and index entries,
# recomputed nlink, re-linked index entries.  Uses the helpers of
# repair.sh (rp_*), which run.sh sources first.
#
#   keep_*        one kind of damage each: the merged view listed before
#                 the damage, -y (exit 1), -n (exit 0), the stack mounted
#                 with its own options shows that view again (but for
#                 what the man page says is lost), and the layer state
#                 the man page promises
#   keep_crash    OVL_FAULT_WRITE kills -y at every change of a stack
#                 holding all of them; -y again must end in the layers of
#                 an uninterrupted run
#   keep_undo     --undo of such a run, and a second --undo refused

# k2_ix PATH: the W/index name of the upper file PATH (the hex of its
# origin).
k2_ix() {
	xattr_hex origin "$U/$1" | sed 's/^0x//'
}

# k2_repair NAME "CODE LAYER:PATH"...: -y exits 1 and answers yes on each
# line given, with nothing left; then -n exits 0.  Two TAP lines.
k2_repair() {
	_name=$1
	shift
	_bad=
	run_fsck -y -o "$OPTS"
	rp_rc 1
	for _cw in "$@"; do
		_line=$(grep -F "$_cw:" "$S/fsck.out" | head -1)
		case $_line in
		'')	rp_bad "no line \"$_cw: ...\"" ;;
		*\?\ yes) ;;
		*)	rp_bad "not answered yes: $_line" ;;
		esac
	done
	grep -q ' 0 left$' "$S/fsck.out" || rp_bad "not \"0 left\": $(grep left "$S/fsck.out")"
	rp_done "$_name: -y fixes $(echo "$@" | sed 's/ [a-z0-9]*:[^ ]*//g'), exit 1"
	_bad=
	run_fsck -n -o "$OPTS"
	rp_rc 0
	rp_done "$_name: then -n exits 0"
}

# k2_same_ino NAME PATH...: in the merged view every PATH is one inode
# and st_nlink is the number of names given (all names of that inode).
k2_same_ino() {
	_name=$1
	shift
	_n=$#
	_paths=$*
	expect_kernel "$_name: kernel: $_paths are one inode, st_nlink $_n" "
		cd \$M
		test \$(stat -c '%i %h' $_paths | sort -u | wc -l) -eq 1
		test \$(stat -c %h $1) -eq $_n
	"
}

# k2_quarantined PATH: the file the last run quarantined from upper PATH
# (W/overlay-fsck.quarantine/TIME/upper%a%b), else empty.
k2_quarantined() {
	find "$W/overlay-fsck.quarantine" -mindepth 2 -maxdepth 2 \
		-name "$1" 2>/dev/null | head -1
}

# k2_meta FILE: owner, mode, size, content and every xattr of FILE.
k2_meta() {
	stat -c '%u:%g %a %s' "$1"
	md5sum < "$1"
	( cd "$(dirname "$1")" && getfattr -d -m - -e hex -h "$(basename "$1")" 2>&1 ) |
		grep -v '^# file:'
}

# ---- 1. a lower layer copied with cp -a ----

# k2_copy_lower DIR: replace DIR by a copy of itself (new inodes, same
# names, content, owners, modes, times and xattrs), as a restore from a
# backup or a move to another disk does.
k2_copy_lower() {
	cp -a "$1" "$1.copy" && rm -rf "$1" && mv "$1.copy" "$1"
}

# The container renamed dir a, chowned f (metacopy), wrote o and chowned
# one name of the hard link h/a = h/b (index entry).  The lower layer
# then moved to new inodes: every origin is stale, the mount is refused.
scenario keep_lower_copied
sc_keep_lower_copied() {
	stack_new "$SC"
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/a/sub $L1/h
		echo x > $L1/a/sub/x; echo y > $L1/a/y
		echo f > $L1/f; echo o > $L1/o; chmod 604 $L1/f
		echo hd > $L1/h/a; ln $L1/h/a $L1/h/b
		ovl_mount "$OPTS"
		mv $M/a $M/a2; echo n > $M/a2/new
		chown 5:6 $M/f; echo uo > $M/o; chown 7:8 $M/h/a
		ovl_umount
	' || return
	rp_before || return
	_ix=$(k2_ix h/a)
	_root=$(xattr_hex origin "$U")
	[ -f "$W/index/$_ix" ] || { not_ok "$SC: the kernel made the index entry of h/a"; return; }
	k2_copy_lower "$L1"
	expect_mount_fails "$SC: before the fix" ESTALE
	k2_repair "$SC" "STK_UPPER_ORIGIN_STALE upper:/" "OR_STALE upper:/a2" \
		"OR_STALE_VERIFY upper:/f" "OR_STALE_VERIFY upper:/h/a" "OR_STALE upper:/o" \
		"IX_STALE index:/$_ix"
	_bad=
	_new=$(k2_ix h/a)
	[ "$(xattr_hex origin "$U")" != "$_root" ] || rp_bad "the upper root origin is unchanged"
	[ "$_new" != "$_ix" ] || rp_bad "the origin of h/a is unchanged"
	rp_absent "$W/index/$_ix"
	if [ -f "$W/index/$_new" ]; then
		[ "$(stat -c %i "$W/index/$_new")" = "$(stat -c %i "$U/h/a")" ] ||
			rp_bad "index/$_new is not the inode of upper h/a"
		[ "$(xattr_hex origin "$W/index/$_new")" = "0x$_new" ] ||
			rp_bad "the origin of index/$_new is not its name"
	else
		rp_bad "no index entry named after the re-based origin of h/a"
	fi
	rp_done "$SC: origins re-based, the index entry renamed after the new origin of h/a"
	rp_merged "$SC: mounts, merged view as before the damage" "$S/merged.before"
	k2_same_ino "$SC" h/a h/b
	expect_kernel "$SC: kernel: chown of h/b shows on h/a" '
		chown 9:9 $M/h/b
		test "$(stat -c %u:%g $M/h/a)" = 9:9
		test "$(cat $M/h/a)" = hd
	'
}

# ---- 2. upper and work dirs copied with cp -a ----

# One cp -a of both keeps the hard links between U and W/index; the
# W/index upper handle still names the old upper root.
scenario keep_index_upper_stale
sc_keep_index_upper_stale() {
	stack_new "$SC"
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/d; echo a > $L1/d/a; ln $L1/d/a $L1/d/b; echo f > $L1/f
		ovl_mount "$OPTS"
		chown 3 $M/d/a; chown 4 $M/f; echo n > $M/n; mv $M/d $M/d2
		ovl_umount
	' || return
	rp_before || return
	mkdir "$S/moved"
	cp -a "$U" "$W" "$S/moved/" || { not_ok "$SC: cp -a"; return; }
	U=$S/moved/u W=$S/moved/w
	OPTS=$(std_opts "$MCI")
	_old=$(xattr_hex upper "$W/index")
	expect_mount_fails "$SC: before the fix" ESTALE
	k2_repair "$SC" "STK_INDEX_UPPER_STALE index:/"
	_bad=
	[ "$(xattr_hex upper "$W/index")" != "$_old" ] || rp_bad "W/index upper unchanged"
	rp_done "$SC: the W/index upper handle was re-based"
	rp_merged "$SC: mounts, merged view as before the copy" "$S/merged.before"
	k2_same_ino "$SC" d2/a d2/b
}

# ---- 3. renamed dirs that lost their redirect ----

# a was renamed to a2 and b to b2 (redirect_dir=on); a copy tool dropped
# the redirect of a2 and garbled that of b2. The kernel reads a2 (its
# upper content alone): a note, left as it is (a redirect would change
# what a readable dir shows). b2 gives EINVAL: re-pointed by its origin,
# it shows its lower content again.
scenario keep_redirect_lost
sc_keep_redirect_lost() {
	stack_new "$SC"
	OPTS=$(std_opts "$RDI")
	setup '
		mkdir -p $L1/a/sub $L1/b
		echo x > $L1/a/sub/x; echo y > $L1/a/y; echo bb > $L1/b/bb
		ovl_mount "$OPTS"
		mv $M/a $M/a2; echo new > $M/a2/new
		mv $M/b $M/b2; chmod 600 $M/b2/bb
		ovl_umount
	' || return
	rp_before || return
	setfattr -x trusted.overlay.redirect "$U/a2"
	setfattr -n trusted.overlay.redirect -v "x//y" "$U/b2"
	expect_kernel "$SC: before the fix: kernel: a2 shows only new, b2 gives EINVAL" '
		test "$(ls $M/a2)" = new
		test "$(errno_of lstat $M/b2)" = EINVAL
	'
	k2_repair "$SC" "RD_INVALID upper:/b2"
	_bad=
	grep -q "^OR_DIR_MOVED upper:/a2: .*: /a$" "$S/fsck.out" || rp_bad "no OR_DIR_MOVED note for a2"
	rp_no_xattr redirect "$U/a2"
	rp_xattr redirect /b "$U/b2"
	rp_is_wh "$U/a" "$U/b"
	rp_done "$SC: a2 noted and left, b2 re-pointed to /b, the whiteouts over a and b kept"
	rp_merged "$SC: merged view as before the damage but for a2 (b2's lower content back)" \
		"$S/merged.before" '^a2(/|	)'
	expect_kernel "$SC: kernel: a2 still shows only new" 'test "$(ls $M/a2)" = new'
}

# The bug this guards against: a renamed dir copied offline (cp -a keeps
# its redirect and its subdir's origin). -y drops the copy's redirect
# (RD_DUPLICATE: the kernel fails one of the two with ESTALE); the copy's
# subdir then has an origin naming the lower dir the original merges. A
# re-point there made the two merge one lower dir again: ESTALE on the
# original's subdir under index=on. It is a note now, and both read.
scenario keep_copied_renamed_dir
sc_keep_copied_renamed_dir() {
	stack_new "$SC"
	OPTS=$(std_opts "$RDI")
	setup '
		mkdir -p $L1/a/sub; echo x > $L1/a/sub/x; echo y > $L1/a/y
		ovl_mount "$OPTS"
		mv $M/a $M/a2; touch $M/a2/sub/new
		ovl_umount
	' || return
	rp_before || return
	cp -a "$U/a2" "$U/a3"
	k2_repair "$SC" "RD_DUPLICATE upper:/a3"
	run_fsck -y -o "$OPTS"
	_bad=; rp_rc 0
	grep -q "^OR_DIR_MOVED upper:/a3/sub: .*: /a/sub$" "$S/fsck.out" || rp_bad "no OR_DIR_MOVED note"
	rp_no_xattr redirect "$U/a3/sub"
	rp_done "$SC: a second -y exits 0, the copy's subdir noted and left"
	rp_merged "$SC: merged view as before the copy but for a3" "$S/merged.before" '^a3(/|	)'
	for _order in "a2/sub a3/sub" "a3/sub a2/sub"; do
		expect_kernel "$SC: kernel: $_order read in this order" "
			for _p in $_order; do ls \$M/\$_p; done
			test \"\$(ls \$M/a2/sub)\" = \"$(printf 'new\nx')\"
			test \"\$(ls \$M/a3/sub)\" = new
		"
	done
}

# A copy a1 of the renamed dir a2, its redirect garbled (EINVAL): a
# re-point by its origin would lead to /a, which a2 merges (a2 sorts
# after a1, so only the whole upper walk knows it): the redirect is
# dropped instead, and a2 reads as before.
scenario keep_copied_renamed_dir_invalid
sc_keep_copied_renamed_dir_invalid() {
	stack_new "$SC"
	OPTS=$(std_opts "$RDI")
	setup '
		mkdir -p $L1/a/sub; echo x > $L1/a/sub/x; echo y > $L1/a/y
		ovl_mount "$OPTS"
		mv $M/a $M/a2; touch $M/a2/new
		ovl_umount
	' || return
	rp_before || return
	cp -a "$U/a2" "$U/a1"
	setfattr -n trusted.overlay.redirect -v "x//y" "$U/a1"
	k2_repair "$SC" "RD_INVALID upper:/a1"
	_bad=
	rp_no_xattr redirect "$U/a1"
	rp_xattr redirect a "$U/a2"
	rp_done "$SC: a1's redirect dropped, not re-pointed at /a; a2 keeps its own"
	rp_merged "$SC: merged view as before the copy" "$S/merged.before" '^a1(/|	)'
	for _order in "a1 a2 a2/sub" "a2/sub a2 a1"; do
		expect_kernel "$SC: kernel: $_order read in this order" "
			for _p in $_order; do ls \$M/\$_p; done
			test \"\$(ls \$M/a1)\" = new
		"
	done
}

# A copied-up file (chown: a full copy with metacopy off) copied offline
# with cp -a (g keeps f's origin), one whose lower file an image update
# renamed (h's lower now at h2), and a file the container renamed (k to
# k2, copied up: its origin is k, which a whiteout hides) copied offline
# to k3. The kernel keys each pair by one lower inode: ESTALE on whichever
# is looked up second. Dropping the origin of g, h and k3 leaves all six
# readable, as they were.
scenario keep_copied_file
sc_keep_copied_file() {
	for _ix in off on; do
		SC=keep_copied_file_index_$_ix
		stack_new "$SC"
		OPTS=$(std_opts "index=$_ix")
		setup '
			echo data > $L1/f; echo hh > $L1/h; echo kk > $L1/k
			ovl_mount "$OPTS"; chown 3:2 $M/f $M/h; mv $M/k $M/k2; ovl_umount
		' || continue
		rp_before || continue
		cp -a "$U/f" "$U/g"
		cp -a "$U/k2" "$U/k3"
		mv "$L1/h" "$L1/h2"
		expect_kernel "$SC: before the fix: kernel: g after f, h after h2, k3 after k2 give ESTALE" '
			exec 3< $M/f 4< $M/h2 5< $M/k2	# held: nothing evicts them
			test "$(errno_of lstat $M/g)" = ESTALE
			test "$(errno_of lstat $M/h)" = ESTALE
			test "$(errno_of lstat $M/k3)" = ESTALE
		'
		k2_repair "$SC" "OR_ALIASED upper:/g" "OR_ALIASED upper:/h" "OR_ALIASED upper:/k3"
		_bad=
		rp_no_xattr origin "$U/g"
		rp_no_xattr origin "$U/h"
		rp_no_xattr origin "$U/k3"
		[ -n "$(xattr_hex origin "$U/f")" ] || rp_bad "f lost its origin"
		[ -n "$(xattr_hex origin "$U/k2")" ] || rp_bad "k2 lost its origin"
		rp_done "$SC: the origins of g, h and k3 removed, f and k2 keep their own"
		for _order in "f g h h2 k2 k3" "k3 k2 h2 h g f"; do
			expect_kernel "$SC: kernel: $_order in this order, data and owners as before" "
				for _p in $_order; do stat \$M/\$_p; done
				test \"\$(cat \$M/f \$M/g \$M/h \$M/h2 \$M/k2 \$M/k3)\" = \"$(printf 'data\ndata\nhh\nhh\nkk\nkk')\"
				test \"\$(stat -c %u:%g \$M/f \$M/g \$M/h \$M/h2 | tr '\\n' ' ')\" = '3:2 3:2 3:2 0:0 '
			"
		done
	done
}

# The kernel names an inode opened by its handle only while a connected
# dentry of it is cached: cold, or once a decode has made a disconnected
# alias of it, /proc/self/fd reads "/". The lone copy h whose lower file
# was renamed offline (ESTALE after zz_h2) and the metacopy file m whose
# data moved to where the view does not show it (re-pointed there) must
# be found and fixed alike warm, cold, and after such a decode.
scenario keep_cold_cache
sc_keep_cold_cache() {
	stack_new "$SC"
	OPTS=$(std_opts "$MCI")
	setup '
		echo hh > $L1/h; echo data > $L1/f; mkdir -p $L1/mv/old; echo mm > $L1/mv/m
		ovl_mount "$OPTS"
		echo more >> $M/h; echo more >> $M/f; mv $M/f $M/g
		chown 3:2 $M/mv/m; rm -r $M/mv/old
		ovl_umount
		getfattr -n trusted.overlay.metacopy $U/mv/m
	' || return
	rp_before || return
	mv "$L1/h" "$L1/zz_h2"
	mv "$L1/mv/m" "$L1/mv/old/m2"
	cp -a "$U/g" "$U/g2"
	_bad=
	for _state in warm cold alias; do
		case $_state in
		cold)	sync; echo 2 > /proc/sys/vm/drop_caches ;;
		alias)	ls -lR "$L1" > /dev/null ;;	# the cold run's aliases stay
		esac
		run_fsck -n -o "$OPTS"
		rp_rc 4
		grep -E '^[A-Z]+_[A-Z_]+ ' "$S/fsck.out" > "$S/fsck.$_state"
		[ "$_state" = warm ] || cmp -s "$S/fsck.warm" "$S/fsck.$_state" ||
			rp_bad "$_state: $(diff "$S/fsck.warm" "$S/fsck.$_state" | tr '\n' ' ')"
	done
	for _l in "OR_ALIASED upper:/g2: " "OR_ALIASED upper:/h: " "MC_NO_DATA upper:/mv/m: "; do
		grep -qF "$_l" "$S/fsck.warm" || rp_bad "no \"$_l...\" line"
	done
	rp_done "$SC: -n says the same warm, cold and after a cold decode"
	expect_kernel "$SC: before the fix: kernel: g2 after g and h after zz_h2 give ESTALE" '
		exec 3< $M/g 4< $M/zz_h2	# held: nothing evicts them
		test "$(errno_of lstat $M/g2)" = ESTALE
		test "$(errno_of lstat $M/h)" = ESTALE
	'
	sync; echo 2 > /proc/sys/vm/drop_caches
	k2_repair "$SC" "OR_ALIASED upper:/g2" "OR_ALIASED upper:/h" "MC_NO_DATA upper:/mv/m"
	_bad=
	rp_no_xattr origin "$U/g2"
	rp_no_xattr origin "$U/h"
	rp_xattr redirect /mv/old/m2 "$U/mv/m"
	rp_done "$SC: fixed cold: the origins of g2 and h dropped, m re-pointed to /mv/old/m2"
	expect_kernel "$SC: kernel: every path reads as before, in either order" "
		for _p in g g2 h zz_h2 mv/m g2 g zz_h2 h; do stat \$M/\$_p; done
		test \"\$(cat \$M/g \$M/g2 \$M/h \$M/zz_h2 \$M/mv/m)\" = \"$(printf 'data\nmore\ndata\nmore\nhh\nmore\nhh\nmm')\"
		test \"\$(stat -c %u:%g \$M/mv/m)\" = 3:2
	"
}

# ---- 4. metacopy data moved inside the lower layer ----

scenario keep_mc_moved
sc_keep_mc_moved() {
	stack_new "$SC"
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/mv/sub $L1/mv/old
		echo mvdata > $L1/mv/f; chmod 640 $L1/mv/f; echo o > $L1/mv/old/o
		echo hid > $L1/mv/h; chmod 640 $L1/mv/h
		ovl_mount "$OPTS"; chown 3:2 $M/mv/f $M/mv/h; rm -r $M/mv/old; ovl_umount
		getfattr -n trusted.overlay.metacopy $U/mv/f
	' || return
	rp_before || return
	# an image update moved both files: f where the view shows it, h
	# below the dir the upper removed
	mv "$L1/mv/f" "$L1/mv/sub/f2"
	mv "$L1/mv/h" "$L1/mv/old/h2"
	expect_errno "$SC: before the fix" lstat mv/f EIO
	k2_repair "$SC" "MC_NO_DATA upper:/mv/f" "MC_NO_DATA upper:/mv/h"
	_bad=
	rp_xattr redirect /mv/old/h2 "$U/mv/h"
	[ -n "$(xattr_hex metacopy "$U/mv/f")" ] && rp_bad "mv/f still metacopy"
	[ -n "$(xattr_hex origin "$U/mv/f")" ] && rp_bad "mv/f still has its origin"
	[ "$(cat "$U/mv/f" 2>&1)" = mvdata ] || rp_bad "mv/f in the upper: $(cat "$U/mv/f" 2>&1)"
	rp_done "$SC: h re-pointed to /mv/old/h2; f's data copied up from mv/sub/f2 (which the view shows), its origin dropped"
	# a redirect of f to mv/sub/f2 would make the kernel key both by one
	# inode: ESTALE on the second looked up, or f2 showing f's owner
	rp_merged "$SC: merged view as before the damage (mv/f and mv/h read their data)" \
		"$S/merged.before" '^mv/sub/f2	'
	for _order in "mv/sub/f2 mv/h mv/f" "mv/f mv/h mv/sub/f2"; do
		expect_kernel "$SC: kernel: $_order in this order: h reads hid as 3:2, f mvdata as 3:2, f2 mvdata as 0:0" "
			for _p in $_order; do stat \$M/\$_p; done
			test \"\$(cat \$M/mv/h)\" = hid
			test \"\$(stat -c %u:%g:%a \$M/mv/h)\" = 3:2:640
			test \"\$(cat \$M/mv/f)\" = mvdata
			test \"\$(stat -c %u:%g:%a \$M/mv/f)\" = 3:2:640
			test \"\$(cat \$M/mv/sub/f2)\" = mvdata
			test \"\$(stat -c %u:%g \$M/mv/sub/f2)\" = 0:0
		"
	done
}

# ---- 5. metacopy data gone ----

# gone (chowned, chmod, a user xattr) lost its lower data; the lower data
# of gonedir became a dir, which would show through a plain removal: a
# whiteout takes its place.
scenario keep_mc_gone
sc_keep_mc_gone() {
	stack_new "$SC"
	OPTS=$(std_opts "$MCI")
	setup '
		echo gone > $L1/gone; echo gonedir > $L1/gonedir; echo k > $L1/k
		ovl_mount "$OPTS"
		chown 4:4 $M/gone; chmod 600 $M/gone; setfattr -n user.keep -v yes $M/gone
		chown 5 $M/gonedir
		ovl_umount
		getfattr -n trusted.overlay.metacopy $U/gone
	' || return
	rp_before || return
	k2_meta "$U/gone" > "$S/meta.gone"
	k2_meta "$U/gonedir" > "$S/meta.gonedir"
	rm "$L1/gone" "$L1/gonedir"
	mkdir "$L1/gonedir"; echo z > "$L1/gonedir/z"
	expect_errno "$SC: before the fix" lstat gonedir EIO
	k2_repair "$SC" "MC_NO_DATA upper:/gone" "MC_DATA_NOT_REG upper:/gonedir"
	_bad=
	_q=$(k2_quarantined 'upper%gone')
	_qd=$(k2_quarantined 'upper%gonedir')
	case $_q in
	*/overlay-fsck.quarantine/[0-9]*T[0-9]*Z/upper%gone) ;;
	*) rp_bad "upper gone not in W/overlay-fsck.quarantine/TIME/upper%gone: '$_q'" ;;
	esac
	[ -n "$_qd" ] || rp_bad "upper gonedir not quarantined"
	[ -n "$_q" ] && { k2_meta "$_q" | cmp -s "$S/meta.gone" - ||
		rp_bad "quarantined gone: $(k2_meta "$_q" | diff "$S/meta.gone" - | head -6)"; }
	[ -n "$_qd" ] && { k2_meta "$_qd" | cmp -s "$S/meta.gonedir" - ||
		rp_bad "quarantined gonedir: $(k2_meta "$_qd" | diff "$S/meta.gonedir" - | head -6)"; }
	rp_absent "$U/gone"
	rp_is_wh "$U/gonedir"
	rp_done "$SC: both quarantined with owner, mode, xattrs; a whiteout over gonedir"
	rp_merged "$SC: merged view as before the damage, without gone and gonedir" \
		"$S/merged.before" '^gone(dir)?	'
	expect_errno "$SC: after the fix" lstat gonedir ENOENT
	expect_errno "$SC: after the fix" lstat gone ENOENT
}

# ---- 6. index entries ----

# Lower hard links, copied up through the merged dir: k (a b c; a
# chowned, ln a d, rm b c: names a d, nlink U-1), n (a b e; ln a c:
# names a b c e, nlink U+1), x (a b), o (a b).
k2_ix_stack() {
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/k $L1/n $L1/x $L1/o
		echo k > $L1/k/a; ln $L1/k/a $L1/k/b; ln $L1/k/a $L1/k/c
		echo n > $L1/n/a; ln $L1/n/a $L1/n/b; ln $L1/n/a $L1/n/e
		echo x > $L1/x/a; ln $L1/x/a $L1/x/b
		echo o > $L1/o/a; ln $L1/o/a $L1/o/b
		ovl_mount "$OPTS"
		chown 6 $M/k/a; ln $M/k/a $M/k/d; rm $M/k/b $M/k/c
		chown 6 $M/n/a; ln $M/n/a $M/n/c
		chown 6 $M/x/a; chown 2 $M/o/a
		test $(stat -c %h $M/k/a) -eq 2; test $(stat -c %h $M/n/b) -eq 4
		ovl_umount
	'
}

scenario keep_index
sc_keep_index() {
	stack_new "$SC"
	k2_ix_stack || return
	rp_before || return
	_ik=$(k2_ix k/a) _in=$(k2_ix n/a) _ixx=$(k2_ix x/a) _io=$(k2_ix o/a)
	setfattr -x trusted.overlay.nlink "$W/index/$_ik"
	setfattr -n trusted.overlay.nlink -v U+7 "$W/index/$_in"
	rm "$W/index/$_ixx"
	rm "$U/o/a"			# every upper alias of o gone offline
	cp -a "$W/index/$_in" "$W/index/.$_in.Xq12ab"	# rsync's temp file
	snapshot "$S/nl.before" "$W/index/$_ik" "$W/index/$_in" "$U/x/a" "$W/index/$_io"
	expect_mount_fails "$SC: before the fix" EINVAL
	# Only the bad name is fixed. The nlink values and the missing
	# entry are notes: rewriting them would change st_nlink, linking x/a
	# would make x/b show x/a's copy. o keeps its entry: union nlink 1,
	# o/a and o/b still show the copy through it.
	k2_repair "$SC" "IX_BAD_NAME index:/.$_in.Xq12ab"
	_bad=
	for _cw in "IX_NLINK_BAD index:/$_ik" "IX_NLINK_WRONG index:/$_in" "IX_MISSING upper:/x/a"; do
		grep -qF "$_cw:" "$S/fsck.out" || rp_bad "no note $_cw"
	done
	grep -q "IX_ORPHAN" "$S/fsck.out" && rp_bad "o called an orphan"
	snapshot "$S/nl.after" "$W/index/$_ik" "$W/index/$_in" "$U/x/a" "$W/index/$_io"
	cmp -s "$S/nl.before" "$S/nl.after" || rp_bad "the noted entries were changed"
	rp_absent "$W/index/.$_in.Xq12ab"
	[ -n "$(k2_quarantined "W%index%.$_in.Xq12ab")" ] || rp_bad "the temp file is not quarantined"
	rp_done "$SC: notes left as they are, the temp file quarantined"
	# what the kernel shows of k, n, x changed with the damage, not with
	# the repair; o is back to what it showed before the damage
	rp_merged "$SC: mounts, merged view as before the damage but for k, n, x" \
		"$S/merged.before" '^(k|n|x)/'
	expect_kernel "$SC: kernel: o/a and o/b show the chowned copy" '
		test "$(stat -c %u $M/o/a $M/o/b | tr "\n" " ")" = "2 2 "
	'
}

# ---- 7. crash at every change of a stack with all of them ----

# k2_multi: two lower layers.  lower1 (h: a hard link, f: metacopy)
# moves to new inodes (origins re-based, IX_STALE renamed); in lower2
# metacopy data moves (redirect set) or goes (quarantine, and
# quarantine-wh over a dir); index entries lose nlink, get U+7, go
# (link), lose their alias (quarantine); rsync leaves a temp file.
k2_multi() {
	OPTS="lowerdir=$L1:$L2,upperdir=$U,workdir=$W,$MCI"
	setup '
		mkdir -p $L1/h $L2/mv/sub $L2/k $L2/n $L2/x $L2/o
		echo hd > $L1/h/a; ln $L1/h/a $L1/h/b; echo f > $L1/f
		echo mvdata > $L2/mv/f; echo gone > $L2/gone; echo gd > $L2/gonedir
		echo k > $L2/k/a; ln $L2/k/a $L2/k/b; ln $L2/k/a $L2/k/c
		echo n > $L2/n/a; ln $L2/n/a $L2/n/b
		echo x > $L2/x/a; ln $L2/x/a $L2/x/b
		echo o > $L2/o/a; ln $L2/o/a $L2/o/b
		ovl_mount "$OPTS"
		chown 7:8 $M/h/a; chown 1 $M/f
		chown 3 $M/mv/f; chown 4 $M/gone; chown 5 $M/gonedir
		chown 6 $M/k/a; ln $M/k/a $M/k/d; rm $M/k/b
		chown 6 $M/n/a; ln $M/n/a $M/n/c
		chown 6 $M/x/a; chown 2 $M/o/a
		ovl_umount
	' || return
	rp_before || return
	_ih=$(k2_ix h/a) _ik=$(k2_ix k/a) _in=$(k2_ix n/a) _ixx=$(k2_ix x/a) _io=$(k2_ix o/a)
	k2_copy_lower "$L1"
	mv "$L2/mv/f" "$L2/mv/sub/f2"
	rm "$L2/gone" "$L2/gonedir"; mkdir "$L2/gonedir"
	setfattr -x trusted.overlay.nlink "$W/index/$_ik"
	setfattr -n trusted.overlay.nlink -v U+7 "$W/index/$_in"
	rm "$W/index/$_ixx" "$U/o/a"
	cp -a "$W/index/$_ih" "$W/index/.$_ih.Xq12ab"
}

# k2_layers FILE: layer_state of the four dirs; the W/index upper handle
# names the upper root inode, new in every cp -a restore: masked (-n
# exiting 0 proves it matches).
k2_layers() {
	layer_state "$1" "$L1" "$L2" "$U" "$W"
	sed -i -E 's/^(w\/index	xattr trusted\.overlay\.upper=).*/\1HANDLE/' "$1"
}

# k2_restore: the damaged upper and work dirs again, in one cp -a (so
# the links between U and W/index stay; --sparse=always keeps metacopy
# files without data blocks, as the kernel made them).
k2_restore() {
	rm -rf "$U" "$W"
	cp -a --sparse=always "$S/pristine/u" "$S/pristine/w" "$S/"
}

scenario keep_crash
sc_keep_crash() {
	stack_new "$SC"
	k2_multi || return
	mkdir "$S/pristine"
	cp -a --sparse=always "$U" "$W" "$S/pristine/"
	k2_restore
	run_fsck -y -o "$OPTS"
	_bad=
	rp_rc 1
	_j=$(journal_of)
	_n=$(grep -c '^R ' "$_j" 2>/dev/null)
	for _op in setxattr rename quarantine quarantine-wh copyup rmxattr; do
		grep -q "^R [0-9]* $_op " "$_j" 2>/dev/null || rp_bad "no $_op in the journal"
	done
	grep -q ' 0 left$' "$S/fsck.out" || rp_bad "not \"0 left\""
	rp_done "$SC: reference -y: exit 1, $_n changes (setxattr, rename, quarantine, quarantine-wh, copyup, rmxattr)"
	[ -n "$_n" ] && [ "$_n" -gt 0 ] || return
	run_fsck -n -o "$OPTS"
	_bad=; rp_rc 0
	rp_done "$SC: reference -y: then -n exits 0"
	k2_layers "$S/state.ref"
	# gone and gonedir are quarantined; mv/f's data (moved, shown at
	# mv/sub/f2) is copied up; k, n, x show the link counts and the broken
	# link the damage left (notes, never rewritten)
	rp_merged "$SC: reference -y: mounts, merged view as before the damage but for gone, k, n, x" \
		"$S/merged.before" '^(gone|gonedir|[knx]/.*|mv/sub/f2)	'
	rp_crash_loop "$_n" k2_restore k2_layers
}

# ---- 8. undo of such a run ----

scenario keep_undo
sc_keep_undo() {
	stack_new "$SC"
	k2_multi || return
	rp_layers() { layer_state "$1" "$L1" "$L2" "$U" "$W"; }
	rp_undo_case "$SC"
	rp_layers() { layer_state "$1" "$L1" "$U" "$W"; }
	# the undone stack is the damaged one again: -n finds the damage
	run_fsck -n -o "$OPTS"
	_bad=; rp_rc 4
	rp_done "$SC: after --undo, -n finds the damage again (exit 4)"
}
