# fsck.overlay --copy-up against the real kernel: the kernel makes
# metacopy files (chown, chmod, setfattr through the merged dir under
# metacopy=on), then --copy-up finishes their data copy-ups offline.
# Uses the helpers of repair.sh (rp_*), repair2.sh (k2_same_ino,
# k2_quarantined) and fs.sh (loop_done), which run.sh sources first.
#
#   copyup_all      every metacopy file of a stack holding renamed dirs
#                   (redirect), a moved file (absolute redirect), a hard
#                   link (index), a 64 MiB sparse file, a 0-byte file, a
#                   setuid file, a user xattr and a file capability:
#                   -n lists them and writes nothing, -y copies (exit 1),
#                   the data is in the upper inodes with holes kept and
#                   metadata unchanged, the merged view is unchanged;
#                   --undo sets the metacopy xattrs back
#   copyup_paths    only the merged-view PATHs given (file, dir/, dir)
#   copyup_lower_only  PATHs only the lowers have, copied up whole
#   copyup_lower2   data in the second lower layer
#   copyup_dataonly data in a data-only layer (lowerdir=L1::D1)
#   copyup_verity   verity=on: a wrong digest is quarantined, not copied
#   copyup_mounted  a mounted stack is refused (exit 8)
#   copyup_xfs      FICLONE, read/write and copy_file_range on XFS give
#                   the same layers
#   copyup_crash    OVL_FAULT_WRITE at every change, before and after it
#                   (in-place copies and a lower-only path)
#   copyup_evicted  lower-only non-dirs whose dentries the kernel
#                   dropped between the check and the copy (decoded from
#                   their handles without a path): data and xattrs come up
#   copyup_kill     kill -9 in the middle of a 512 MiB copy
#   copyup_cut      garbage in the first blocks of a metacopy file (a cut
#                   copy-up) is copied over

# Every lower file gets this mtime: the copy must keep it, to the ns.
CU_TIME='2020-01-02 03:04:05.123456789'

cu_age() {
	find "$@" -exec touch -h -d "$CU_TIME" {} +
}

# cu_segs FILE: the data segments of FILE (SEEK_DATA / SEEK_HOLE), and
# its size, on one line.
cu_segs() {
	perl -e '
		open(my $f, "<", $ARGV[0]) or die "$ARGV[0]: $!\n";
		my $size = -s $f;
		my ($off, @s) = (0);
		while ($off < $size) {
			my $d = sysseek($f, $off, 3);		# SEEK_DATA
			last unless defined $d;
			my $h = sysseek($f, $d, 4);		# SEEK_HOLE
			push @s, ($d + 0) . "-" . ($h + 0);
			$off = $h;
		}
		print "size $size data @s\n";
	' "$1"
}

# cu_meta DIR: every regular file below DIR with owner, mode, size,
# mtime (ns), link count and xattrs but the metacopy one; without the
# file capability (checked on its own: cu_caps).
cu_meta() {
	( cd "$1" && find . -type f ! -name 'overlay-fsck*' | LC_ALL=C sort |
		while read -r _p; do
			printf '%s\t%s\n' "$_p" "$(stat -c '%u:%g %a %s %y %h' "$_p")"
			getfattr -d -m - -e hex -h "$_p" 2>/dev/null |
				grep -v -e '^# file:' -e '^trusted\.overlay\.metacopy=' \
					-e '^security\.capability=' -e '^$' | sed "s#^#$_p	#"
		done )
}

cu_caps() {
	( cd "$1" && getfattr -R -d -m '^security\.capability$' -e hex -h . 2>/dev/null )
}

# cu_merged FILE [OPTS]: merged_snapshot with mtimes (tree_list full).
cu_merged() {
	_f=$1
	_o=${2:-$OPTS}
	if ! LC_ALL=C mount -t overlay overlay -o "$_o" "$M" > "$_f" 2>&1; then
		echo "MOUNT FAILED" >> "$_f"
		return 1
	fi
	tree_list "$M" full > "$_f" 2>&1
	umount "$M"
}

# cu_same_merged NAME: the stack mounts, the merged view (content md5,
# owner, mode, size, mtime) equals $S/merged.before.  One TAP line.
cu_same_merged() {
	_bad=
	cu_merged "$S/merged.after" || rp_bad "mount failed: $(tail -2 "$S/merged.after")"
	cmp -s "$S/merged.before" "$S/merged.after" ||
		rp_bad "merged view differs: $(diff "$S/merged.before" "$S/merged.after" | head -10)"
	rp_done "$1"
}

# cu_want PREFIX LAYER LOWERDIR UPATH:LPATH...: the lines --copy-up
# prints for those files, sorted ("PREFIX upper:/UPATH: N bytes from
# LAYER", N the size of LOWERDIR/LPATH).
cu_want() {
	_pre=$1 _lay=$2 _lo=$3
	shift 3
	for _pp in "$@"; do
		echo "$_pre upper:/${_pp%%:*}: $(stat -c %s "$_lo/${_pp#*:}") bytes from $_lay"
	done | LC_ALL=C sort
}

# cu_lines PREFIX: the lines of the last run starting with PREFIX, sorted.
cu_lines() {
	grep "^$1 upper:" "$S/fsck.out" | LC_ALL=C sort
}

# cu_check_lines PREFIX WANT-FILE: adds to $_bad when they differ.
cu_check_lines() {
	cu_lines "$1" > "$S/lines.got"
	cmp -s "$2" "$S/lines.got" ||
		rp_bad "lines differ: $(diff "$2" "$S/lines.got" | head -8)"
}

# cu_copied LOWERDIR UPATH:LPATH...: each upper file lost its metacopy
# xattr and holds the bytes of the lower file; a non-empty one has data
# blocks at offset 0 (or, sparse in the lower, the same data segments).
cu_copied() {
	_lo=$1
	shift
	for _pp in "$@"; do
		_u=$U/${_pp%%:*} _l=$_lo/${_pp#*:}
		rp_no_xattr metacopy "$_u"
		cmp -s "$_u" "$_l" || rp_bad "${_pp%%:*}: upper data differs from the lower"
		[ "$(cu_segs "$_u")" = "$(cu_segs "$_l")" ] ||
			rp_bad "${_pp%%:*}: data segments $(cu_segs "$_u"), lower $(cu_segs "$_l")"
	done
}

# cu_still_mc UPATH...: each still has its metacopy xattr and no data.
cu_still_mc() {
	for _p in "$@"; do
		getfattr -h -n trusted.overlay.metacopy "$U/$_p" > /dev/null 2>&1 ||
			rp_bad "$_p lost its metacopy xattr"
		case $(cu_segs "$U/$_p") in
		*data\ [0-9]*) rp_bad "$_p holds data" ;;
		esac
	done
}

# cu_nmode NAME WANT-FILE [PATH...]: --copy-up -n lists exactly the
# lines of WANT-FILE, exits 0 and writes nothing.  One TAP line.
cu_nmode() {
	_name=$1 _want=$2
	shift 2
	_bad=
	snapshot "$S/snap.before" $(kt_layers)
	run_fsck --copy-up -n -o "$OPTS" "$@"
	snapshot "$S/snap.after" $(kt_layers)
	rp_rc 0
	cu_check_lines "would copy up" "$_want"
	cmp -s "$S/snap.before" "$S/snap.after" ||
		rp_bad "-n changed the layers: $(diff "$S/snap.before" "$S/snap.after" | head -6)"
	rp_done "$_name: --copy-up -n lists the $(wc -l < "$_want") files exactly, exit 0, layers untouched"
}

# cu_ymode NAME WANT-FILE [PATH...]: --copy-up -y prints the lines of
# WANT-FILE ("copy up ..."), exits 1.  One TAP line.
cu_ymode() {
	_name=$1 _want=$2
	shift 2
	_bad=
	run_fsck --copy-up -y -o "$OPTS" "$@"
	rp_rc 1
	sed 's/^would copy up/copy up/' "$_want" > "$S/want.y"
	cu_check_lines "copy up" "$S/want.y"
	_nw=$(wc -l < "$_want")
	grep -q "^$_nw of $_nw files\? copied up" "$S/fsck.out" ||
		rp_bad "no \"$_nw of $_nw files copied up\""
	rp_done "$_name: --copy-up -y ${*:+$* }copies the $_nw files, exit 1"
}

cu_recheck() {
	_bad=
	run_fsck -n -o "$OPTS"
	rp_rc 0
	rp_done "$1: then fsck -n exits 0"
}

# ---- the main stack ----

# Upper path : lower path of every metacopy file cu_stack makes.
CU_ALL='f:f big:big d2/sub/x:d/sub/x d2/y:d/y e/p:e/p e/q:e/q e/ren2:ren ef:ef
	h1:h1 sp:sp empty:empty s:s cap:cap'

# cu_stack: the kernel (metacopy, redirect_dir, index) copies up the
# metadata of: f (chown, chmod, a user xattr), big (300 KB), everything
# in d (then renamed d2: a relative redirect), e/p e/q, ren (moved to
# e/ren2: an absolute redirect), ef, h1 (a hard link h1 = h2: an index
# entry), sp (64 MiB, three data extents), empty (0 bytes), s (chmod
# 4755), cap (a file capability set).  o stays lower, up is new.
cu_stack() {
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/d/sub $L1/e
		echo "lower f data" > $L1/f; head -c 300000 /dev/urandom > $L1/big
		echo x > $L1/d/sub/x; echo yy > $L1/d/y
		echo p > $L1/e/p; echo qq > $L1/e/q; echo ren > $L1/ren; echo ef > $L1/ef
		echo hl > $L1/h1; ln $L1/h1 $L1/h2
		truncate -s 64M $L1/sp
		for _o in 3 700 1000; do
			head -c 65536 /dev/urandom |
				dd of=$L1/sp bs=65536 seek=$_o conv=notrunc status=none
		done
		: > $L1/empty; echo suid > $L1/s; echo cap > $L1/cap; echo o > $L1/o
		cu_age $L1
		ovl_mount "$OPTS"
		chown 5:6 $M/f; chmod 640 $M/f; setfattr -n user.k -v kept $M/f
		chown 7 $M/big $M/d/sub/x $M/d/y; mv $M/d $M/d2
		chown 1 $M/e/p $M/e/q $M/ren $M/ef; mv $M/ren $M/e/ren2
		chown 8 $M/h1; chown 9 $M/sp $M/empty; chmod 4755 $M/s
		setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 $M/cap
		echo up > $M/up
		ovl_umount
		test "$(getfattr --only-values -n trusted.overlay.redirect $U/e/ren2)" = /ren
		test "$(ls $W/index | wc -l)" -eq 1
		for _f in f big d2/sub/x e/ren2 h1 sp empty s cap; do
			getfattr -n trusted.overlay.metacopy $U/$_f
		done
	'
}

# cu_hardlink NAME: the upper h1 is still the W/index entry (one inode,
# two links), and the kernel shows h1 and h2 as one inode.  Two lines.
cu_hardlink() {
	_bad=
	_ix=$(ls "$W/index")
	[ "$(stat -c %i "$U/h1")" = "$(stat -c %i "$W/index/$_ix" 2>/dev/null)" ] ||
		rp_bad "upper h1 is not the index entry $_ix"
	[ "$(stat -c %h "$U/h1")" -eq 2 ] || rp_bad "upper h1 has $(stat -c %h "$U/h1") links"
	rp_done "$1: the hard link: upper h1 is still the inode of W/index/$_ix"
	expect_kernel "$1: kernel: h1 and h2 are one inode, st_nlink 2, data hl" '
		test $(stat -c "%i %h" $M/h1 $M/h2 | sort -u | wc -l) -eq 1
		test $(stat -c %h $M/h1) -eq 2
		test "$(cat $M/h2)" = hl
	'
}

scenario copyup_all
sc_copyup_all() {
	stack_new "$SC"
	cu_stack || return
	cu_merged "$S/merged.before" || { not_ok "$SC: merged view before"; return; }
	cu_meta "$U" > "$S/meta.before"
	cu_caps "$U" > "$S/caps.before"
	ls -i "$U" | LC_ALL=C sort > "$S/ino.before"
	_lbl=$(stat -c %b "$L1/sp")
	cu_want "would copy up" lower1 "$L1" $CU_ALL > "$S/want"
	cu_nmode "$SC" "$S/want"
	cu_ymode "$SC" "$S/want"
	_j=$(journal_of)

	_bad=
	cu_copied "$L1" $CU_ALL
	_ubl=$(stat -c %b "$U/sp")
	# an ext4 xattr block (8 sectors) may be counted too
	[ "$_ubl" -ge "$_lbl" ] && [ "$_ubl" -le $((_lbl + 16)) ] ||
		rp_bad "sp: $_ubl sectors allocated, the lower $_lbl"
	[ "$(stat -c %s "$U/empty")" -eq 0 ] || rp_bad "empty is not empty"
	rp_done "$SC: no metacopy xattr left; each upper file holds the lower bytes, same data segments (sp: holes kept, $_ubl sectors for 64 MiB)"

	_bad=
	cu_meta "$U" > "$S/meta.after"
	cmp -s "$S/meta.before" "$S/meta.after" ||
		rp_bad "$(diff "$S/meta.before" "$S/meta.after" | head -10)"
	rp_done "$SC: owner, mode (setuid too), size, mtime (ns), link count, user and overlay xattrs unchanged"
	_bad=
	cu_caps "$U" > "$S/caps.after"
	cmp -s "$S/caps.before" "$S/caps.after" ||
		rp_bad "security.capability: $(diff "$S/caps.before" "$S/caps.after" | tr '\n' ' ')"
	rp_done "$SC: the file capability (security.capability) of cap is kept"

	_bad=
	ls -i "$U" | LC_ALL=C sort > "$S/ino.after"
	cmp -s "$S/ino.before" "$S/ino.after" || rp_bad "$(diff "$S/ino.before" "$S/ino.after" | head -4)"
	rp_done "$SC: copied in place: every upper file keeps its inode number"
	cu_hardlink "$SC"
	cu_recheck "$SC"
	cu_same_merged "$SC: mounts, merged view (md5, owner, mode, size, mtime) as before"

	# --undo: the metacopy xattrs are back; the copied data punched out
	_bad=
	run_fsck --undo "$_j" -o "$OPTS"
	rp_rc 0
	for _pp in $CU_ALL; do
		getfattr -h -n trusted.overlay.metacopy "$U/${_pp%%:*}" > /dev/null 2>&1 ||
			rp_bad "${_pp%%:*}: no metacopy xattr after --undo"
	done
	rp_done "$SC: --undo $(basename "$_j") exits 0, every metacopy xattr is back"
	cu_recheck "$SC: after --undo"
	cu_same_merged "$SC: after --undo: merged view as before"
}

# ---- chosen paths ----

scenario copyup_paths
sc_copyup_paths() {
	stack_new "$SC"
	cu_stack || return
	cu_merged "$S/merged.before" || { not_ok "$SC: merged view before"; return; }
	_sel='f:f d2/sub/x:d/sub/x d2/y:d/y'
	cu_want "would copy up" lower1 "$L1" $_sel > "$S/want"
	cu_nmode "$SC: /f /d2/" "$S/want" /f /d2/
	cu_ymode "$SC" "$S/want" /f /d2/
	_bad=
	cu_copied "$L1" $_sel
	cu_still_mc big e/p e/q e/ren2 ef h1 sp empty s cap
	rp_done "$SC: f and all below d2 copied, the others keep metacopy and no data"

	_sel='e/p:e/p e/q:e/q e/ren2:ren'
	cu_want "would copy up" lower1 "$L1" $_sel > "$S/want"
	cu_ymode "$SC" "$S/want" /e
	_bad=
	cu_copied "$L1" $_sel
	cu_still_mc big ef h1 sp empty s cap
	rp_done "$SC: /e (no slash) copies e/p e/q e/ren2, not ef"

	# a path with nothing to copy: an upper file without metacopy is
	# reported (exit 0)
	_bad=
	run_fsck --copy-up -y -o "$OPTS" /up
	rp_rc 0
	grep -qF "nothing to copy up at /up: no metacopy file there" "$S/fsck.out" ||
		rp_bad "no \"nothing to copy up at /up\" line"
	rp_done "$SC: /up (upper, no metacopy): reported, exit 0"
	run_fsck --copy-up -y -o "$OPTS" /nowhere
	rp_rc 4
	grep -qF "nothing to copy up at /nowhere: no such path in the layers" \
		"$S/fsck.out" || rp_bad "no \"nothing to copy up at /nowhere\" line"
	rp_done "$SC: /nowhere (no layer has it): reported, exit 4"
	cu_recheck "$SC"
	cu_same_merged "$SC: merged view as before"
}

# ---- lower-only paths ----

# The man page: a PATH only the lowers have is copied up whole, as the
# kernel would: the dirs on its way (owner, mode, times, xattrs, origin),
# the entry (data, metadata, xattrs, origin), its parent impure; a lower
# hard link gets its index entry under index=on.  o: a lower file; lo/sub/g
# below lower-only dirs (owner, mode, a user xattr); k1 of the lower hard
# link k1 = k2 (no index entry yet); h2 of h1 = h2 whose h1 the kernel
# copied up (index entry made): h2 must become that inode, as the
# kernel's lookup of h2 shows it.
scenario copyup_lower_only
sc_copyup_lower_only() {
	stack_new "$SC"
	OPTS=$(std_opts "$MCI")
	setup '
		mkdir -p $L1/lo/sub
		echo o > $L1/o; head -c 30000 /dev/urandom > $L1/lo/sub/g
		chown 4:5 $L1/lo $L1/lo/sub/g; chmod 751 $L1/lo; chmod 604 $L1/lo/sub/g
		setfattr -n user.z -v zz $L1/lo/sub/g
		echo k > $L1/k1; ln $L1/k1 $L1/k2; echo hl > $L1/h1; ln $L1/h1 $L1/h2
		cu_age $L1
		ovl_mount "$OPTS"; chown 3 $M/h1; ovl_umount
	' || return
	cu_merged "$S/merged.before" || { not_ok "$SC: merged view before"; return; }
	_bad=
	snapshot "$S/snap.before" $(kt_layers)
	run_fsck --copy-up -n -o "$OPTS" /o /lo/sub/g /k1 /h2
	snapshot "$S/snap.after" $(kt_layers)
	rp_rc 0
	for _p in o lo/sub/g k1 h2; do
		grep -q "^would copy up upper:/$_p: " "$S/fsck.out" || rp_bad "no \"would copy up upper:/$_p\""
	done
	cmp -s "$S/snap.before" "$S/snap.after" || rp_bad "-n changed the layers"
	rp_done "$SC: -n lists /o /lo/sub/g /k1 /h2, exit 0, layers untouched"
	_bad=
	run_fsck --copy-up -y -o "$OPTS" /o /lo/sub/g /k1 /h2
	rp_rc 1
	for _p in o lo/sub/g k1 h2; do
		[ -f "$U/$_p" ] || { rp_bad "no upper $_p"; continue; }
		cmp -s "$U/$_p" "$L1/$_p" || rp_bad "upper $_p: not the lower data"
		rp_no_xattr metacopy "$U/$_p"
		[ -n "$(xattr_hex origin "$U/$_p")" ] || rp_bad "upper $_p has no origin"
	done
	[ "$(stat -c '%u:%g %a' "$U/lo" 2>/dev/null)" = "4:5 751" ] || rp_bad "upper lo: $(stat -c '%u:%g %a' "$U/lo" 2>&1)"
	[ "$(stat -c '%u:%g %a %y' "$U/lo/sub/g" 2>/dev/null)" = "$(stat -c '%u:%g %a %y' "$L1/lo/sub/g")" ] ||
		rp_bad "upper lo/sub/g: $(stat -c '%u:%g %a %y' "$U/lo/sub/g" 2>&1)"
	[ "$(getfattr --only-values -n user.z "$U/lo/sub/g" 2>/dev/null)" = zz ] || rp_bad "upper lo/sub/g lost user.z"
	rp_done "$SC: -y copies them up whole (data, origin; lo and lo/sub/g with owner, mode, mtime, user xattr), exit 1"
	_bad=
	_ixh=$(ls "$W/index" | while read -r _e; do
		[ "$(stat -c %i "$W/index/$_e")" = "$(stat -c %i "$U/h1")" ] && echo "$_e"; done)
	[ -n "$_ixh" ] || rp_bad "upper h1 is no longer the index entry"
	[ "$(stat -c %i "$U/h2" 2>/dev/null)" = "$(stat -c %i "$U/h1")" ] ||
		rp_bad "upper h2 is not the inode of h1 / its index entry (ino $(stat -c %i "$U/h2" 2>&1), h1 $(stat -c %i "$U/h1"))"
	_ixk=$(ls "$W/index" | while read -r _e; do
		[ "$(stat -c %i "$W/index/$_e")" = "$(stat -c %i "$U/k1")" ] && echo "$_e"; done)
	[ -n "$_ixk" ] || rp_bad "upper k1 has no index entry"
	rp_done "$SC: the lower hard links: h2 linked to the index entry of h1, k1 got its index entry"
	cu_recheck "$SC"
	cu_same_merged "$SC: merged view as before"
	k2_same_ino "$SC" h1 h2
	k2_same_ino "$SC" k1 k2
}

# An xattr the upper cannot take is never dropped in silence: the lower
# on tmpfs holds a 8000-byte user xattr, the upper's ext4 (4 KiB blocks,
# no ea_inode) refuses it. --copy-up of that file fails naming the xattr,
# leaves no upper copy and the merged view as it was; its dir, whose
# xattrs fit, is copied up.
scenario copyup_xattr_refused
sc_copyup_xattr_refused() {
	stack_new "$SC"
	if ! loop_fs ext4 "$S/fs"; then
		skip "$SC: an xattr the upper refuses is named" "no mkfs.ext4 or loop device"
		return
	fi
	mkdir -p "$S/t"
	mount -t tmpfs tmpfs "$S/t" || { not_ok "$SC: mount a tmpfs"; return; }
	L1=$S/t/l1 U=$S/fs/u W=$S/fs/w
	mkdir -p "$L1/lo" "$U" "$W"
	OPTS=$(std_opts "$MC")
	echo data > "$L1/lo/f"
	setfattr -n user.small -v s "$L1/lo"
	setfattr -n user.big -v "$(head -c 8000 /dev/zero | tr '\0' b)" "$L1/lo/f"
	cu_merged "$S/merged.before" || { not_ok "$SC: merged view before"; return; }
	_bad=
	run_fsck --copy-up -y -o "$OPTS" /lo/f
	[ "$FSCK_RC" -ne 0 ] && [ "$FSCK_RC" -ne 1 ] || rp_bad "exit $FSCK_RC"
	grep -q "^upper:/lo/f: cannot copyup-new: xattr user.big not copied (" "$S/fsck.out" ||
		rp_bad "no line naming user.big"
	[ -e "$U/lo/f" ] && rp_bad "a copy of lo/f is in the upper"
	ls -A "$W/work" 2>/dev/null | grep -q . && rp_bad "W/work holds $(ls -A "$W/work")"
	[ "$(getfattr --only-values -n user.small "$U/lo" 2>/dev/null)" = s ] ||
		rp_bad "the dir lo was not copied up with its xattr"
	rp_done "$SC: --copy-up -y /lo/f names user.big, copies nothing of lo/f, exit $FSCK_RC"
	cu_same_merged "$SC: merged view as before"
	umount "$S/t"
	loop_done "$S/fs"
}

# ---- the data in the second lower layer ----

scenario copyup_lower2
sc_copyup_lower2() {
	stack_new "$SC"
	OPTS="lowerdir=$L1:$L2,upperdir=$U,workdir=$W,$MCI"
	setup '
		mkdir -p $L1/d $L2/d
		echo one > $L1/d/a; head -c 70000 /dev/urandom > $L2/d/b; echo two > $L2/c
		cu_age $L1 $L2
		ovl_mount "$OPTS"; chown 3 $M/d/a $M/d/b $M/c; chmod 600 $M/c; ovl_umount
	' || return
	cu_merged "$S/merged.before" || { not_ok "$SC: merged view before"; return; }
	cu_meta "$U" > "$S/meta.before"
	{ cu_want "would copy up" lower1 "$L1" d/a:d/a
	  cu_want "would copy up" lower2 "$L2" d/b:d/b c:c; } | LC_ALL=C sort > "$S/want"
	cu_nmode "$SC" "$S/want"
	cu_ymode "$SC" "$S/want"
	_bad=
	cu_copied "$L1" d/a:d/a
	cu_copied "$L2" d/b:d/b c:c
	cu_meta "$U" > "$S/meta.after"
	cmp -s "$S/meta.before" "$S/meta.after" || rp_bad "$(diff "$S/meta.before" "$S/meta.after" | head -6)"
	rp_done "$SC: data of lower1 and lower2 copied, metadata unchanged"
	cu_recheck "$SC"
	cu_same_merged "$SC: merged view as before"
}

# ---- a data-only layer ----

# The kernel makes the metacopy file itself: chown of a lower1 stub
# (metacopy, redirect into the data-only layer) copies up its metadata;
# the upper file has no redirect, its data is found through the stub.
scenario copyup_dataonly
sc_copyup_dataonly() {
	stack_new "$SC"
	OPTS="lowerdir=$L1::$D1,upperdir=$U,workdir=$W,$MCI"
	setup '
		mkdir -p $D1/ob $L1/img
		echo data-one-xx > $D1/ob/1; head -c 50000 /dev/urandom > $D1/ob/2
		for n in 1 2; do
			truncate -s $(stat -c %s $D1/ob/$n) $L1/img/f$n
			setfattr -n trusted.overlay.metacopy $L1/img/f$n
			setfattr -n trusted.overlay.redirect -v /ob/$n $L1/img/f$n
		done
		cu_age $L1 $D1
		ovl_mount "$OPTS"; chown 9 $M/img/f1 $M/img/f2; ovl_umount
		getfattr -n trusted.overlay.metacopy $U/img/f1
		! getfattr -n trusted.overlay.redirect $U/img/f1
	' || return
	cu_merged "$S/merged.before" || { not_ok "$SC: merged view before"; return; }
	cu_want "would copy up" data1 "$D1" img/f1:ob/1 img/f2:ob/2 > "$S/want"
	cu_nmode "$SC" "$S/want"
	cu_ymode "$SC" "$S/want"
	_bad=
	cu_copied "$D1" img/f1:ob/1 img/f2:ob/2
	rp_done "$SC: the data-only objects copied into the upper files"
	cu_recheck "$SC"
	cu_same_merged "$SC: merged view as before"
}

# ---- fs-verity digests ----

# This kernel may lack CONFIG_FS_VERITY: the lower files carry no
# fs-verity, fsverity(1) computes the digest.  good's metacopy xattr
# holds the right digest (00 24 00 01 + 32 bytes), bad's a wrong one.
# Under verity=on the kernel reads neither (EIO without fs-verity on the
# lower); the man page: bad is MC_DIGEST_MISMATCH, never copied, and
# quarantined by fsck -y (never by --copy-up); good is MC_VERITY_MISSING
# "the data matches", skipped by --copy-up, its digest dropped by fsck -y,
# then it checks clean and is copied.  Under verity=off
# good is copied at once, digest and all.
cu_verity_stack() {
	OPTS=$(std_opts "$MCI,$1")
	setup '
		head -c 200000 /dev/urandom > $L1/good; head -c 5000 /dev/urandom > $L1/bad
		echo plain > $L1/plain
		cu_age $L1
		ovl_mount "$OPTS"; chown 3 $M/good $M/bad $M/plain; ovl_umount
		_d=$(fsverity digest --hash-alg=sha256 --compact $L1/good)
		test ${#_d} -eq 64
		setfattr -n trusted.overlay.metacopy -v 0x00240001$_d $U/good
		setfattr -n trusted.overlay.metacopy -v 0x00240001$(printf "%064d" 7) $U/bad
	'
}

scenario copyup_verity
sc_copyup_verity() {
	stack_new "$SC"
	if ! command -v fsverity > /dev/null; then
		skip "$SC: digests" "no fsverity(1)"
		return
	fi
	cu_verity_stack verity=on || return
	expect_errno "$SC: before: kernel" read bad EIO
	_bad=
	snapshot "$S/snap.before" $(kt_layers)
	run_fsck --copy-up -n -o "$OPTS"
	snapshot "$S/snap.after" $(kt_layers)
	rp_rc 4
	grep -qF "MC_DIGEST_MISMATCH upper:/bad:" "$S/fsck.out" || rp_bad "no MC_DIGEST_MISMATCH upper:/bad"
	grep -qF "MC_VERITY_MISSING upper:/good:" "$S/fsck.out" || rp_bad "no MC_VERITY_MISSING upper:/good"
	cu_want "would copy up" lower1 "$L1" plain:plain > "$S/want"
	cu_check_lines "would copy up" "$S/want"
	cmp -s "$S/snap.before" "$S/snap.after" || rp_bad "-n changed the layers"
	rp_done "$SC: -n: bad MC_DIGEST_MISMATCH, good MC_VERITY_MISSING, only plain listed, exit 4"

	# --copy-up repairs nothing it would have to quarantine or rewrite:
	# bad and good are skipped with their problems, plain is copied
	_bad=
	snapshot "$S/snap.bg" "$U/bad" "$U/good"
	run_fsck --copy-up -y -o "$OPTS"
	grep -q "^copy up upper:/bad" "$S/fsck.out" && rp_bad "bad was copied"
	grep -q "^copy up upper:/good" "$S/fsck.out" && rp_bad "good was copied"
	grep -qF "not copying up upper:/bad: its problem" "$S/fsck.out" || rp_bad "bad not said skipped"
	grep -qF "not copying up upper:/good: its problem" "$S/fsck.out" || rp_bad "good not said skipped"
	[ -z "$(k2_quarantined 'upper%bad')" ] || rp_bad "bad was quarantined"
	snapshot "$S/snap.ag" "$U/bad" "$U/good"
	cmp -s "$S/snap.bg" "$S/snap.ag" || rp_bad "bad or good changed"
	cu_copied "$L1" plain:plain
	rp_rc 5
	rp_done "$SC: --copy-up -y: bad and good skipped with their problems, untouched; plain copied; exit 5"

	# fsck.overlay -y repairs: bad quarantined, good's digest dropped;
	# then --copy-up copies good
	_bad=
	run_fsck -y -o "$OPTS"
	rp_is_wh "$U/bad"	# the lower bad would show through
	_q=$(k2_quarantined 'upper%bad')
	if [ -n "$_q" ]; then
		getfattr -h -n trusted.overlay.metacopy "$_q" > /dev/null 2>&1 ||
			rp_bad "the quarantined bad lost its metacopy xattr"
		cmp -s "$_q" "$L1/bad" && rp_bad "the quarantined bad holds the lower data"
	else
		rp_bad "bad is not in W/overlay-fsck.quarantine/TIME/upper%bad"
	fi
	[ "$(xattr_hex metacopy "$U/good")" = 0x ] ||
		rp_bad "good: metacopy $(xattr_hex metacopy "$U/good"), not the empty form"
	rp_rc 1
	rp_done "$SC: -y: bad quarantined as it was (a whiteout in its place), good's digest dropped, exit 1"

	_bad=
	run_fsck --copy-up -y -o "$OPTS"
	rp_rc 1
	cu_copied "$L1" good:good
	rp_done "$SC: --copy-up -y again: good (right digest, now checked clean) copied"
	cu_recheck "$SC"
	expect_kernel "$SC: kernel: good and plain read their data, bad is gone" '
		cmp $M/good $L1/good; cmp $M/plain $L1/plain
		test "$(errno_of lstat $M/bad)" = ENOENT
	'

	# verity=off: the right digest is no problem, good is copied at once
	stack_new "${SC}_off"
	cu_verity_stack verity=off || return
	setfattr -x trusted.overlay.metacopy "$U/bad"
	rm "$L1/bad" "$U/bad"
	cu_merged "$S/merged.before" || { not_ok "$SC: verity=off: merged view before"; return; }
	cu_want "would copy up" lower1 "$L1" good:good plain:plain > "$S/want"
	cu_nmode "$SC: verity=off" "$S/want"
	cu_ymode "$SC: verity=off" "$S/want"
	_bad=
	cu_copied "$L1" good:good plain:plain
	rp_done "$SC: verity=off: good (right digest) and plain copied"
	cu_same_merged "$SC: verity=off: merged view as before"
}

# ---- a mounted stack ----

scenario copyup_mounted
sc_copyup_mounted() {
	stack_new "$SC"
	OPTS=$(std_opts "$MCI")
	setup 'echo f > $L1/f; ovl_mount "$OPTS"; chown 3 $M/f; ovl_umount' || return
	ovl_mount "$OPTS" || { not_ok "$SC: mount"; return; }
	layer_state "$S/state.before" "$L1" "$U" "$W"
	_bad=
	run_fsck --copy-up -y -o "$OPTS"
	rp_rc 8
	grep -q "mounted on $M" "$S/fsck.err" || rp_bad "no message naming the mount"
	layer_state "$S/state.after" "$L1" "$U" "$W"
	cmp -s "$S/state.before" "$S/state.after" || rp_bad "the layers changed"
	cu_still_mc f
	rp_done "$SC: --copy-up -y on the mounted stack is refused, exit 8, nothing copied"
	ovl_umount
}

# ---- XFS: FICLONE, read/write, copy_file_range ----

# cu_xfs_build: fresh U and W on the XFS image; the kernel makes the
# metacopy files again from the same lower.
cu_xfs_build() {
	rm -rf "$U" "$W"
	mkdir -p "$U" "$W"
	setup '
		ovl_mount "$OPTS"
		chown 3 $M/a $M/sp $M/t $M/z; chmod 600 $M/a; setfattr -n user.x -v 1 $M/t
		ovl_umount
	'
}

# cu_shared FILE: fiemap shows a shared extent.
cu_shared() {
	if command -v filefrag > /dev/null; then
		filefrag -v "$1" 2>/dev/null | grep -q shared
	else
		xfs_io -r -c "fiemap -v" "$1" 2>/dev/null | awk 'NR > 1 && strtonum($NF) >= 8192 { f = 1 } END { exit !f }'
	fi
}

scenario copyup_xfs
sc_copyup_xfs() {
	stack_new "$SC"
	_img=$S/xfs.img
	_dev=
	if ! command -v mkfs.xfs > /dev/null || ! truncate -s 320M "$_img" ||
	   ! mkfs.xfs -q -f -m reflink=1 "$_img" > /dev/null 2>&1 ||
	   ! _dev=$(losetup -f --show "$_img" 2>/dev/null); then
		skip "$SC: FICLONE, rw and cfr give the same layers" "no mkfs.xfs with reflink or no loop device"
		return
	fi
	KT_LOOPS="$_dev $KT_LOOPS"
	mkdir -p "$S/fs"
	mount "$_dev" "$S/fs" || { not_ok "$SC: mount the XFS image"; return; }
	L1=$S/fs/l1 U=$S/fs/u W=$S/fs/w
	mkdir -p "$L1"
	OPTS=$(std_opts "$MCI")
	head -c 1048576 /dev/urandom > "$L1/a"
	truncate -s 8M "$L1/sp"
	head -c 131072 /dev/urandom | dd of="$L1/sp" bs=65536 seek=20 conv=notrunc status=none
	echo text > "$L1/t"; : > "$L1/z"
	cu_age "$L1"
	_files='a:a sp:sp t:t z:z'
	for _mode in ficlone rw cfr; do
		cu_xfs_build || break
		[ "$_mode" = ficlone ] && cu_merged "$S/merged.before"
		_bad=
		if [ "$_mode" = ficlone ]; then
			run_fsck --copy-up -y -o "$OPTS"
		else
			export OVL_COPYUP_FORCE=$_mode
			run_fsck --copy-up -y -o "$OPTS"
			unset OVL_COPYUP_FORCE
		fi
		rp_rc 1
		cu_copied "$L1" $_files
		case $_mode in
		ficlone) cu_shared "$U/a" || rp_bad "upper a shares no extent with the lower" ;;
		rw)	 cu_shared "$U/a" && rp_bad "upper a shares extents (read/write was forced)" ;;
		esac
		# the upper root's uuid xattr is new with each rebuilt upper
		layer_state "$S/state.$_mode" "$U"
		sed -i '/^u\/	xattr trusted\.overlay\.uuid=/d' "$S/state.$_mode"
		{ for _pp in $_files; do
			echo "${_pp%%:*} $(cu_segs "$U/${_pp%%:*}") $(stat -c %b "$U/${_pp%%:*}")"
		  done; } >> "$S/state.$_mode"
		rp_done "$SC: $_mode: exit 1, data copied$([ $_mode = ficlone ] && echo ', a shares its extents with the lower')$([ $_mode = rw ] && echo ', no shared extent')"
	done
	_bad=
	for _mode in rw cfr; do
		cmp -s "$S/state.ficlone" "$S/state.$_mode" ||
			rp_bad "$_mode differs from ficlone: $(diff "$S/state.ficlone" "$S/state.$_mode" | head -6)"
	done
	rp_done "$SC: FICLONE, read/write and copy_file_range leave identical upper layers (data, holes, st_blocks, metadata, xattrs)"
	cu_same_merged "$SC: merged view as before"
	loop_done "$S/fs"
}

# ---- crash safety ----

# A stack without index: the pristine upper and work dirs are copied
# back (cp -a keeps the metacopy files without data blocks).
cu_crash_stack() {
	OPTS=$(std_opts "$MC")
	setup '
		mkdir -p $L1/d $L1/lo/sub
		echo f > $L1/f; head -c 200000 /dev/urandom > $L1/big; echo p > $L1/d/p
		head -c 20000 /dev/urandom > $L1/lo/sub/g
		truncate -s 4M $L1/sp
		head -c 65536 /dev/urandom | dd of=$L1/sp bs=65536 seek=9 conv=notrunc status=none
		: > $L1/z
		cu_age $L1
		ovl_mount "$OPTS"
		chown 3 $M/f $M/big $M/sp $M/z; chmod 700 $M/d/p; mv $M/d $M/d2
		ovl_umount
	'
}

cu_restore() {
	rm -rf "$U" "$W"
	cp -a --sparse=always "$S/pristine/u" "$S/pristine/w" "$S/"
}

cu_layers() {
	layer_state "$1" "$L1" "$U" "$W"
	for _f in f big d2/p sp z lo/sub/g; do
		echo "$_f $(cu_segs "$U/$_f")"
	done >> "$1"
}

scenario copyup_crash
sc_copyup_crash() {
	stack_new "$SC"
	cu_crash_stack || return
	cu_merged "$S/merged.before" || { not_ok "$SC: merged view before"; return; }
	mkdir "$S/pristine"
	cp -a --sparse=always "$U" "$W" "$S/pristine/"
	run_fsck --copy-up -y -o "$OPTS" / /lo/sub/g
	_bad=
	rp_rc 1
	_j=$(journal_of)
	_n=$(grep -c '^R ' "$_j" 2>/dev/null)
	_c=$(grep -c '^R [0-9]* copyup ' "$_j" 2>/dev/null)
	[ "$_c" = 5 ] || rp_bad "$_c copyup records in the journal, not 5"
	grep -q '^R [0-9]* copyup-new ' "$_j" || rp_bad "no copyup-new record in the journal"
	rp_done "$SC: reference --copy-up -y / /lo/sub/g: exit 1, $_n changes ($_c in-place copies, lower-only lo/sub/g)"
	[ -n "$_n" ] && [ "$_n" -gt 0 ] || return
	cu_layers "$S/state.ref"
	_k=1
	while [ "$_k" -le "$_n" ]; do
		for _after in "" 1; do
			cu_restore
			_bad=
			_rc=0
			if [ -n "$_after" ]; then
				OVL_FAULT_WRITE=$_k OVL_FAULT_AFTER=1 timeout 60 "$FSCK" --copy-up -y \
					-o "$OPTS" / /lo/sub/g > "$S/fsck.out" 2> "$S/fsck.err" || _rc=$?
				_when="just after"
			else
				OVL_FAULT_WRITE=$_k timeout 60 "$FSCK" --copy-up -y -o "$OPTS" \
					/ /lo/sub/g > "$S/fsck.out" 2> "$S/fsck.err" || _rc=$?
				_when="before"
			fi
			[ "$_rc" -eq 137 ] || rp_bad "the faulted run exited $_rc, not killed"
			cu_merged "$S/merged.cut"
			cmp -s "$S/merged.before" "$S/merged.cut" ||
				rp_bad "merged view after the kill: $(diff "$S/merged.before" "$S/merged.cut" | head -4)"
			run_fsck --copy-up -y -o "$OPTS" / /lo/sub/g
			case $FSCK_RC in
			0|1) ;;		# 0: the kill came after the last copy
			*) rp_bad "the next --copy-up -y exits $FSCK_RC" ;;
			esac
			run_fsck -n -o "$OPTS"
			[ "$FSCK_RC" -eq 0 ] || rp_bad "then -n exits $FSCK_RC"
			cu_layers "$S/state.got"
			cmp -s "$S/state.ref" "$S/state.got" ||
				rp_bad "layers differ from the reference: $(diff "$S/state.ref" "$S/state.got" | head -8)"
			rp_done "$SC: killed $_when change $_k of $_n: merged view intact, --copy-up -y again: same layers"
		done
		_k=$((_k + 1))
	done
	cu_same_merged "$SC: merged view as before"
}

# A lower-only non-dir's handle decodes to a disconnected dentry when
# the kernel has none cached (the handle names no parent): the copy must
# not need the path the kernel gives its fd. The run pauses at its first
# change (OVL_FAULT_SIGNAL=STOP, the copy-up of dir lo), after the check
# looked the entries up and before their copies decode them, while the
# dentry cache is dropped once; under load the same eviction came by
# chance (exit 13, "cannot copyup-new: Stale file handle"). A file (its
# data and a user xattr), a symlink (a trusted xattr) and a symlink in a
# renamed dir (its lower dir found through the redirect).
scenario copyup_evicted
sc_copyup_evicted() {
	stack_new "$SC"
	OPTS=$(std_opts "$MC")
	setup '
		mkdir -p $L1/lo/sub $L1/x
		head -c 20000 /dev/urandom > $L1/lo/sub/g
		setfattr -n user.kept -v g $L1/lo/sub/g
		ln -s g $L1/lo/sub/s
		setfattr -h -n trusted.kept -v s $L1/lo/sub/s
		ln -s t $L1/x/s
		setfattr -h -n trusted.kept -v xs $L1/x/s
		cu_age $L1
		ovl_mount "$OPTS"; mv $M/x $M/y; ovl_umount
	' || return
	cu_merged "$S/merged.before" || { not_ok "$SC: merged view before"; return; }
	_bad=
	OVL_FAULT_WRITE=1 OVL_FAULT_SIGNAL=STOP "$FSCK" --copy-up -y -o "$OPTS" \
		/lo/sub/g /lo/sub/s /y/s > "$S/fsck.out" 2> "$S/fsck.err" &
	_pid=$!
	_i=0
	while [ "$_i" -lt 600 ] && kill -0 "$_pid" 2>/dev/null &&
		[ "$(sed 's/.*) //' "/proc/$_pid/stat" 2>/dev/null | cut -d' ' -f1)" != T ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	if [ "$(sed 's/.*) //' "/proc/$_pid/stat" 2>/dev/null | cut -d' ' -f1)" = T ]; then
		echo 2 > /proc/sys/vm/drop_caches
	else
		rp_bad "the run did not pause at its first change"
	fi
	kill -CONT "$_pid" 2>/dev/null
	FSCK_RC=0
	wait "$_pid" || FSCK_RC=$?
	rp_rc 1
	grep -q 'cannot' "$S/fsck.out" "$S/fsck.err" &&
		rp_bad "a copy failed: $(grep -h cannot "$S/fsck.out" "$S/fsck.err" | head -3)"
	cu_copied "$L1" lo/sub/g:lo/sub/g
	for _x in lo/sub/g:user.kept:g lo/sub/s:trusted.kept:s y/s:trusted.kept:xs; do
		_p=${_x%%:*} _v=${_x##*:} _n=${_x#*:}
		_n=${_n%:*}
		[ "$(getfattr -h --only-values -n "$_n" "$U/$_p" 2>/dev/null)" = "$_v" ] ||
			rp_bad "$_p: no $_n=$_v"
		getfattr -h -n trusted.overlay.origin "$U/$_p" > /dev/null 2>&1 ||
			rp_bad "$_p has no origin"
	done
	[ "$(readlink "$U/y/s")" = t ] || rp_bad "y/s: not the symlink to t"
	run_fsck -n -o "$OPTS"
	[ "$FSCK_RC" -eq 0 ] || rp_bad "then -n exits $FSCK_RC"
	rp_done "$SC: --copy-up -y with the dentry cache dropped before the copies: exit 1, data and xattrs up"
	cu_same_merged "$SC: merged view as before"
}

# kill -9 while a 512 MiB file is being copied (its upper blocks grow).
# The kernel must still read the file as before: metacopy set, the same
# bytes, size and mtime; one more --copy-up -y finishes it as an
# uninterrupted run would.
scenario copyup_kill
sc_copyup_kill() {
	stack_new "$SC"
	OPTS=$(std_opts "$MCI")
	setup '
		head -c 64M /dev/urandom > $S/chunk
		for _i in 1 2 3 4 5 6 7 8; do cat $S/chunk; done > $L1/big
		rm $S/chunk; echo small > $L1/small
		cu_age $L1
		ovl_mount "$OPTS"; chown 3 $M/big $M/small; chmod 640 $M/big; ovl_umount
	' || return
	cu_merged "$S/merged.before" || { not_ok "$SC: merged view before"; return; }
	cu_meta "$U" > "$S/meta.before"
	_blk0=$(stat -c %b "$U/big")
	# perl runs it (no job-control message from the shell), polls the
	# upper blocks and kills once 8 MiB are written; prints the exit
	# status and what it saw
	_got=$(perl -e '
		my ($f, $b0, $out, $err, @cmd) = @ARGV;
		my $pid = fork();
		die "fork: $!\n" unless defined $pid;
		if (!$pid) {
			open(STDOUT, ">", $out); open(STDERR, ">", $err);
			exec(@cmd) or exit 127;
		}
		my $seen = "";
		for (1 .. 100000) {
			my @s = stat($f);
			if (@s && $s[12] > $b0 + 16384) {	# 8 MiB written
				kill 9, $pid;
				$seen = "killed at " . $s[12] * 512 . " bytes allocated";
				last;
			}
			last if waitpid($pid, 1) > 0;	# WNOHANG: it ended first
			select(undef, undef, undef, 0.0002);
		}
		waitpid($pid, 0) if kill 0, $pid;
		my $st = $?;
		print(($st & 127 ? 128 + ($st & 127) : $st >> 8), " $seen\n");
	' "$U/big" "$_blk0" "$S/fsck.out" "$S/fsck.err" "$FSCK" --copy-up -y -o "$OPTS")
	_rc=${_got%% *} _got=${_got#* }
	_bad=
	[ -n "$_got" ] && [ "$_rc" = 137 ] || rp_bad "not killed in the copy (exit $_rc)"
	rp_done "$SC: --copy-up -y killed -9 in the middle of big ($_got)"
	[ -n "$_bad" ] && return
	_bad=
	getfattr -h -n trusted.overlay.metacopy "$U/big" > /dev/null 2>&1 ||
		rp_bad "big lost its metacopy xattr"
	_want=$(md5sum < "$L1/big")
	ovl_mount "$OPTS"
	_m=$(md5sum < "$M/big")
	ovl_umount
	[ "$_m" = "$_want" ] || rp_bad "md5 through the kernel $_m, the lower $_want"
	rp_done "$SC: after the kill: metacopy still set, the kernel reads the original bytes"
	# the man page: the size never moves; the mtime may show the
	# copy's until the next --copy-up run puts the original back
	_bad=
	cu_merged "$S/merged.cut" || rp_bad "mount failed: $(tail -2 "$S/merged.cut")"
	sed 's/	mtime=[0-9]*$//' "$S/merged.before" > "$S/m.exp"
	sed 's/	mtime=[0-9]*$//' "$S/merged.cut" > "$S/m.got"
	cmp -s "$S/m.exp" "$S/m.got" || rp_bad "merged view differs: $(diff "$S/m.exp" "$S/m.got" | head -6)"
	rp_done "$SC: after the kill: merged view (md5, owner, mode, size; not mtime) as before"

	run_fsck --copy-up -y -o "$OPTS"
	_bad=
	rp_rc 1
	rp_no_xattr metacopy "$U/big"
	rp_done "$SC: one --copy-up -y after the kill finishes big"
	# whatever that run left, two more must end the job
	for _i in 1 2; do
		getfattr -h -n trusted.overlay.metacopy "$U/big" > /dev/null 2>&1 || break
		diag "big still metacopy: another --copy-up -y"
		run_fsck --copy-up -y -o "$OPTS"
	done
	_bad=
	cu_copied "$L1" big:big small:small
	cu_meta "$U" > "$S/meta.after"
	cmp -s "$S/meta.before" "$S/meta.after" ||
		rp_bad "$(diff "$S/meta.before" "$S/meta.after" | head -6)"
	rp_done "$SC: in the end as uninterrupted: data copied, owner, mode, size, mtime unchanged"
	cu_recheck "$SC"
	cu_same_merged "$SC: merged view as before"
	rm -f "$L1/big" "$U/big"	# 1 GiB the other scenarios need not keep
}

# A copy-up cut short leaves data in the first blocks of the upper file,
# the metacopy xattr still set: the kernel reads the lower data; the
# next --copy-up -y copies over it.
scenario copyup_cut
sc_copyup_cut() {
	stack_new "$SC"
	OPTS=$(std_opts "$MCI")
	setup '
		head -c 1048576 /dev/urandom > $L1/f; echo g > $L1/g
		cu_age $L1
		ovl_mount "$OPTS"; chown 3 $M/f $M/g; ovl_umount
	' || return
	cu_merged "$S/merged.before" || { not_ok "$SC: merged view before"; return; }
	touch -r "$U/f" "$S/ref"
	head -c 131072 /dev/urandom | dd of="$U/f" conv=notrunc status=none
	touch -h -r "$S/ref" "$U/f"
	cu_same_merged "$SC: garbage in the first 128 KiB of upper f: the kernel still reads the lower data"
	cu_want "would copy up" lower1 "$L1" f:f g:g > "$S/want"
	cu_nmode "$SC" "$S/want"
	_bad=
	grep -qF "MC_PARTIAL_DATA upper:/f:" "$S/fsck.out" || rp_bad "no MC_PARTIAL_DATA upper:/f line"
	grep -q "^MC_PARTIAL_DATA upper:/g:" "$S/fsck.out" && rp_bad "MC_PARTIAL_DATA on g, which holds no data"
	rp_done "$SC: -n notes MC_PARTIAL_DATA upper:/f (a note: exit 0)"
	cu_ymode "$SC" "$S/want"
	_bad=
	cu_copied "$L1" f:f g:g
	rp_done "$SC: f copied over the garbage, the same bytes as the lower"
	cu_recheck "$SC"
	cu_same_merged "$SC: merged view as before"
}

# --verify-data reads every copy back before committing it: a copy
# spoiled on the way (the OVL_FAULT_CORRUPT test hook flips its first
# byte) is not committed, its metacopy xattr stays, the kernel still
# reads the lower data, and exit 4 says a copy did not happen; without
# --verify-data the same spoiled copy would be committed.
scenario copyup_verify_data
sc_copyup_verify_data() {
	stack_new "$SC"
	OPTS=$(std_opts "$MCI")
	setup '
		head -c 65536 /dev/urandom > $L1/f
		ovl_mount "$OPTS"; chown 3 $M/f; ovl_umount
	' || return
	cu_merged "$S/merged.before" || { not_ok "$SC: merged view before"; return; }
	FSCK_RC=0
	OVL_FAULT_CORRUPT=1 "$FSCK" --copy-up -y --verify-data -o "$OPTS" \
		> "$S/fsck.out" 2> "$S/fsck.err" || FSCK_RC=$?
	_bad=
	[ "$FSCK_RC" -eq 12 ] || [ "$FSCK_RC" -eq 4 ] || rp_bad "exit $FSCK_RC, not 4 (|8)"
	grep -q "^0 of 1 file copied up" "$S/fsck.out" || rp_bad "the copy was counted"
	[ -n "$(xattr_hex metacopy "$U/f")" ] || getfattr -n trusted.overlay.metacopy "$U/f" \
		>/dev/null 2>&1 || rp_bad "the metacopy xattr was removed"
	rp_done "$SC: a spoiled copy is not committed with --verify-data"
	cu_same_merged "$SC: the kernel still reads the lower data"
	run_fsck --copy-up -y --verify-data -o "$OPTS"
	_bad=
	[ "$FSCK_RC" -eq 1 ] || rp_bad "a clean --copy-up -y --verify-data exits $FSCK_RC, not 1"
	cmp -s "$L1/f" "$U/f" || rp_bad "upper f differs from the lower data"
	rp_done "$SC: the next run copies and verifies it"
	cu_same_merged "$SC: merged view as before"
}

# -C fd: e2fsck's progress lines "PASS DONE TOTAL DEVICE". The copy is
# in the last pass (the one applying the fixes), in KiB: the done count
# never goes back and ends at the total.
scenario copyup_progress
sc_copyup_progress() {
	stack_new "$SC"
	OPTS=$(std_opts "$MCI")
	setup '
		head -c 3000000 /dev/urandom > $L1/a; head -c 2000000 /dev/urandom > $L1/b
		ovl_mount "$OPTS"; chown 3 $M/a $M/b; ovl_umount
	' || return
	FSCK_RC=0
	"$FSCK" --copy-up -y -C 3 -o "$OPTS" 3> "$S/progress" > "$S/fsck.out" 2>&1 ||
		FSCK_RC=$?
	_bad=
	[ "$FSCK_RC" -eq 1 ] || rp_bad "exit $FSCK_RC, not 1"
	_last=$(tail -n 1 "$S/progress" | cut -d' ' -f1)
	awk -v dev="$U" -v pass="$_last" '
		NF != 4 || $4 != dev { bad = "malformed: " $0; exit }
		$1 != pass || $3 == 1000 { next }
		$2 < last { bad = "went back: " $0; exit }
		{ last = $2; total = $3 }
		END {
			if (bad) { print bad; exit 1 }
			if (NR < 2 || last != total || total != int((3000000 + 2000000) / 1024)) {
				print "ended at " last " of " total " after " NR " lines"; exit 1
			}
		}' "$S/progress" > "$S/progress.err" || rp_bad "$(cat "$S/progress.err")"
	rp_done "$SC: -C 3 gives e2fsck progress lines up to the total"
}
